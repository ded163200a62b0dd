/* The store thread: a bounded queue, write-behind, reads, change polling. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/store_int.h"

#define LOG_MODULE "store"

enum {
	STORE_FLUSH_DEFAULT_MS = 100,
	STORE_BATCH_DEFAULT = 1000,
	STORE_POLL_DEFAULT_MS = 1000,
	STORE_QUEUE_DEFAULT = 65536,
	STORE_BUCKETS_MIN = 256, /* pending map buckets, a power of two */
	STORE_ROWS_MIN = 64,	 /* first allocation of a read's array */
	STORE_LOG_VALUE = 512	 /* bytes of an escaped path in a log line */
};

enum job_kind { JOB_PUT, JOB_DEL, JOB_CDR, JOB_USERS, JOB_BINDINGS, JOB_CDRS };

/* Statements prepared at open and reused by the thread. */
enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PUT,
	ST_DEL,
	ST_CDR_PUT,
	ST_USERS,
	ST_BINDINGS,
	ST_EXPIRED,
	ST_CDRS,
	ST_DATA_VERSION,
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_PUT] = "INSERT OR REPLACE INTO bindings (" STORE_BINDING_COLS
	       ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
	       "?13)",
    [ST_DEL] = "DELETE FROM bindings WHERE aor = ?1 AND contact = ?2",
    [ST_CDR_PUT] =
	"INSERT INTO cdrs (" STORE_CDR_COLS
	") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	"?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, "
	"?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)",
    [ST_USERS] = "SELECT " STORE_USER_COLS " FROM users ORDER BY domain, user",
    [ST_BINDINGS] = "SELECT " STORE_BINDING_COLS " FROM bindings WHERE "
		    "expires_at > ?1 ORDER BY aor, contact",
    [ST_EXPIRED] = "DELETE FROM bindings WHERE expires_at <= ?1",
    [ST_CDRS] = "SELECT " STORE_CDR_COLS " FROM cdrs "
		"ORDER BY start_ms DESC, id DESC LIMIT ?1",
    [ST_DATA_VERSION] = "PRAGMA data_version",
};

/*
 * One request from a caller. Writes of bindings wait in the pending map
 * after the thread took them, keyed by (aor, contact): a later write of
 * the same key replaces the earlier one, so only the final state is
 * committed. CDRs are never merged: they wait in a list, in arrival order.
 */
struct job {
	struct job *next; /* queue order, then its bucket chain or CDR list */
	enum job_kind kind;
	uint32_t hash; /* of (aor, contact): JOB_PUT and JOB_DEL */
	union {
		struct store_binding b; /* JOB_PUT; JOB_DEL uses aor, contact */
		struct store_cdr c;	/* JOB_CDR */
		struct {
			void *target;		    /* passed to opts.post */
			store_users_cb users;	    /* JOB_USERS */
			store_bindings_cb bindings; /* JOB_BINDINGS */
			store_cdrs_cb cdrs;	    /* JOB_CDRS */
			void *arg;
			int64_t now;	/* unix seconds: JOB_BINDINGS */
			uint32_t limit; /* rows: JOB_CDRS */
			int err;
			void *rows; /* sb_malloc'd array, n elements */
			size_t n;
		} rd;
	};
};

struct store {
	char path[STORE_PATH_MAX]; /* the database file, for logs */
	int csv_fd;		   /* opts.cdr_csv, or -1 */
	struct store_opts o;	   /* defaults applied; data_dir not kept */
	sqlite3 *db;		   /* the thread's after open */
	sqlite3_stmt *st[ST__COUNT];
	pthread_t thread;
	bool is_sync_init;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *head, *tail; /* lock: requests not yet taken */
	uint32_t queued;	 /* lock: length of head..tail */
	bool is_stopping;	 /* lock: store_close was called */
	bool is_flush_armed;	 /* lock: the thread wakes within flush_ms */
	struct job **buckets;	 /* thread: pending writes */
	size_t nbuckets;	 /* thread: a power of two */
	struct job *cdrs_head;	 /* thread: pending CDRs, oldest first */
	struct job **cdrs_tail;	 /* thread: &last->next, or &cdrs_head */
	size_t npending;	 /* thread: keys in buckets, plus CDRs */
	uint64_t flush_due_ms;	 /* thread: monotonic, when npending > 0 */
	uint64_t poll_due_ms;	 /* thread: next data_version check */
	int64_t data_version;	 /* thread: last seen */
	/* Counters, relaxed atomics (store_stats_get) */
	_Atomic uint64_t writes, cdrs, commits, commit_errors, reads, refused,
	    outside_changes;
};

static void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Free every pending write. */
static void pending_free(struct store *s)
{
	struct job *j;

	for (size_t i = 0; i < s->nbuckets; i++) {
		while ((j = s->buckets[i])) {
			s->buckets[i] = j->next;
			sb_free(j);
		}
	}
	while ((j = s->cdrs_head)) {
		s->cdrs_head = j->next;
		sb_free(j);
	}
	s->cdrs_tail = &s->cdrs_head;
	s->npending = 0;
}

static void destroy(struct store *s)
{
	if (s->csv_fd >= 0)
		close(s->csv_fd);
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db)
		store_db_close(s->db);
	if (s->is_sync_init) {
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
	}
	pending_free(s);
	sb_free(s->buckets);
	sb_free(s);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *esc_path(const struct store *s, char *tmp, size_t cap)
{
	return log_esc(slice_cstr(s->path), tmp, cap);
}

static uint32_t key_hash(const char *aor, const char *contact)
{
	return slice_hash(slice_cstr(aor)) * 16777619u ^
	       slice_hash(slice_cstr(contact));
}

static bool is_same_key(const struct job *a, const struct job *b)
{
	return a->hash == b->hash && strcmp(a->b.aor, b->b.aor) == 0 &&
	       strcmp(a->b.contact, b->b.contact) == 0;
}

/* Double the bucket array when the map is full; keep it when out of memory. */
static void pending_grow(struct store *s)
{
	size_t n = s->nbuckets * 2;
	struct job **nb = sb_calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		while (s->buckets[i]) {
			struct job *j = s->buckets[i];
			s->buckets[i] = j->next;
			j->next = nb[j->hash & (n - 1)];
			nb[j->hash & (n - 1)] = j;
		}
	}
	sb_free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

/*
 * Add a write to the pending writes: a CDR to the end of the list, a
 * binding to the map, replacing (and freeing) one of its key.
 */
static void pending_add(struct store *s, struct job *j)
{
	struct job **pp;

	j->next = NULL;
	if (j->kind == JOB_CDR) {
		*s->cdrs_tail = j;
		s->cdrs_tail = &j->next;
	} else {
		pp = &s->buckets[j->hash & (s->nbuckets - 1)];
		for (; *pp; pp = &(*pp)->next) {
			if (is_same_key(*pp, j)) {
				j->next = (*pp)->next;
				sb_free(*pp);
				*pp = j;
				return;
			}
		}
		*pp = j;
	}
	if (s->npending++ == 0)
		s->flush_due_ms = now_ms() + s->o.flush_ms;
	if (s->npending > s->nbuckets)
		pending_grow(s);
}

/* Run one write of a batch; the parameters are cleared after it. */
static int write_one(struct store *s, struct job *j)
{
	sqlite3_stmt *st;
	int rc;

	switch (j->kind) {
	case JOB_PUT:
		st = s->st[ST_PUT];
		rc = store_binding_bind(st, &j->b);
		break;
	case JOB_CDR:
		if (s->o.is_cdr_db_off)
			return 0;
		st = s->st[ST_CDR_PUT];
		rc = store_cdr_bind(st, &j->c);
		break;
	default:
		st = s->st[ST_DEL];
		rc = sqlite3_bind_text(st, 1, j->b.aor, -1, SQLITE_STATIC) |
		     sqlite3_bind_text(st, 2, j->b.contact, -1, SQLITE_STATIC);
		rc = rc ? -ENOMEM : 0;
		break;
	}
	if (rc == 0)
		rc = store_db_step_done(s->db, st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Run one batch of writes inside BEGIN ... COMMIT. */
static int commit(struct store *s, struct job *batch)
{
	int rc = store_db_step_done(s->db, s->st[ST_BEGIN]);

	for (struct job *j = batch; j && rc == 0; j = j->next)
		rc = write_one(s, j);
	if (rc == 0)
		rc = store_db_step_done(s->db, s->st[ST_COMMIT]);
	if (rc != 0 && !sqlite3_get_autocommit(s->db))
		store_db_step_done(s->db, s->st[ST_ROLLBACK]);
	return rc;
}

/*
 * A failed batch goes back: its bindings into the map, its CDRs (the
 * tail of the batch, from cdrs on) before the pending ones, in order.
 */
static void batch_return(struct store *s, struct job *batch, struct job *cdrs,
			 struct job **tail, size_t ncdrs)
{
	struct job *next;

	for (struct job *j = batch; j != cdrs; j = next) {
		next = j->next;
		pending_add(s, j);
	}
	if (!cdrs)
		return;
	*tail = s->cdrs_head;
	if (!s->cdrs_head)
		s->cdrs_tail = tail;
	s->cdrs_head = cdrs;
	s->npending += ncdrs;
}

/*
 * Take up to batch_max writes out of the pending map, then the CDR list,
 * and commit them in one transaction. On failure they go back, to be
 * tried again. Returns 0 or the error.
 */
static int flush_batch(struct store *s)
{
	struct job *batch = NULL, **tail = &batch, *cdrs = NULL, *j, *next;
	char tmp[STORE_LOG_VALUE];
	uint64_t start = now_ms();
	size_t n = 0, ncdrs = 0;
	int rc;

	for (size_t i = 0; i < s->nbuckets && n < s->o.batch_max; i++) {
		while ((j = s->buckets[i]) && n < s->o.batch_max) {
			s->buckets[i] = j->next;
			*tail = j;
			tail = &j->next;
			n++;
		}
	}
	while ((j = s->cdrs_head) && n < s->o.batch_max) {
		s->cdrs_head = j->next;
		if (!cdrs)
			cdrs = j;
		*tail = j;
		tail = &j->next;
		n++;
		ncdrs++;
	}
	*tail = NULL;
	if (!s->cdrs_head)
		s->cdrs_tail = &s->cdrs_head;
	s->npending -= n;
	rc = commit(s, batch);
	if (rc != 0) {
		count(&s->commit_errors, 1);
		log_error("flush_failed",
			  "path=%s writes=%zu cdrs=%zu error=\"%s\"",
			  esc_path(s, tmp, sizeof(tmp)), n - ncdrs, ncdrs,
			  sqlite3_errmsg(s->db));
		batch_return(s, batch, cdrs, tail, ncdrs);
		return rc;
	}
	count(&s->commits, 1);
	count(&s->writes, n - ncdrs);
	count(&s->cdrs, ncdrs);
	for (j = cdrs; j && s->csv_fd >= 0; j = j->next)
		store_cdr_csv_append(s->csv_fd, &j->c);
	log_debug("flushed", "path=%s writes=%zu cdrs=%zu ms=%llu",
		  esc_path(s, tmp, sizeof(tmp)), n - ncdrs, ncdrs,
		  (unsigned long long)(now_ms() - start));
	for (j = batch; j; j = next) {
		next = j->next;
		sb_free(j);
	}
	return 0;
}

/*
 * Commit every pending write. After a failure the rest waits flush_ms for
 * another try; when closing (is_final) it is dropped, logged as lost.
 */
static void flush_all(struct store *s, bool is_final)
{
	char tmp[STORE_LOG_VALUE];

	while (s->npending > 0) {
		if (flush_batch(s) == 0)
			continue;
		if (!is_final) {
			s->flush_due_ms = now_ms() + s->o.flush_ms;
			return;
		}
		log_error("writes_lost", "path=%s writes=%zu",
			  esc_path(s, tmp, sizeof(tmp)), s->npending);
		pending_free(s);
	}
}

static int user_row(sqlite3_stmt *st, void *out)
{
	return store_user_from_row(st, out);
}

static int binding_row(sqlite3_stmt *st, void *out)
{
	return store_binding_from_row(st, out);
}

static int cdr_row(sqlite3_stmt *st, void *out)
{
	return store_cdr_from_row(st, out);
}

/* Step st to the end, collecting rows of size bytes into j->rd.rows. */
static void read_rows(struct store *s, sqlite3_stmt *st, size_t size,
		      int (*from_row)(sqlite3_stmt *st, void *out),
		      struct job *j)
{
	char tmp[STORE_LOG_VALUE];
	size_t cap = 0, n = 0;
	char *rows = NULL;
	int rc, err = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : STORE_ROWS_MIN;
			char *r = sb_realloc(rows, c * size);
			if (!r) {
				err = -ENOMEM;
				break;
			}
			rows = r;
			cap = c;
		}
		memset(rows + n * size, 0, size);
		if (from_row(st, rows + n * size) != 0) {
			log_warn("row_skipped", "path=%s reason=too_long",
				 esc_path(s, tmp, sizeof(tmp)));
			continue;
		}
		n++;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_db_errno(s->db, rc);
	if (err) {
		log_error("read_failed", "path=%s error=\"%s\"",
			  esc_path(s, tmp, sizeof(tmp)),
			  err == -ENOMEM ? sb_strerror(err)
					 : sqlite3_errmsg(s->db));
		sb_free(rows);
		rows = NULL;
		n = 0;
	}
	sqlite3_reset(st);
	j->rd.err = err;
	j->rd.rows = rows;
	j->rd.n = n;
}

/* Runs on the asker's thread (or the store thread without opts.post). */
static void deliver(void *arg)
{
	struct job *j = arg;

	switch (j->kind) {
	case JOB_USERS:
		j->rd.users(j->rd.arg, j->rd.err, j->rd.rows, j->rd.n);
		break;
	case JOB_BINDINGS:
		j->rd.bindings(j->rd.arg, j->rd.err, j->rd.rows, j->rd.n);
		break;
	default:
		j->rd.cdrs(j->rd.arg, j->rd.err, j->rd.rows, j->rd.n);
		break;
	}
	sb_free(j->rd.rows);
	sb_free(j);
}

static void read_bindings(struct store *s, struct job *j)
{
	char tmp[STORE_LOG_VALUE];
	sqlite3_stmt *st;
	int rc;

	/* Bindings that expired while no server ran go now. */
	st = s->st[ST_EXPIRED];
	rc = sqlite3_bind_int64(st, 1, j->rd.now);
	if (rc == SQLITE_OK)
		rc = store_db_step_done(s->db, st);
	if (rc != 0)
		log_warn("expire_failed", "path=%s error=\"%s\"",
			 esc_path(s, tmp, sizeof(tmp)), sqlite3_errmsg(s->db));
	st = s->st[ST_BINDINGS];
	sqlite3_bind_int64(st, 1, j->rd.now);
	read_rows(s, st, sizeof(struct store_binding), binding_row, j);
}

static void run_read(struct store *s, struct job *j)
{
	count(&s->reads, 1);
	switch (j->kind) {
	case JOB_USERS:
		read_rows(s, s->st[ST_USERS], sizeof(struct store_user),
			  user_row, j);
		break;
	case JOB_BINDINGS:
		read_bindings(s, j);
		break;
	default:
		sqlite3_bind_int64(s->st[ST_CDRS], 1, j->rd.limit);
		read_rows(s, s->st[ST_CDRS], sizeof(struct store_cdr), cdr_row,
			  j);
		break;
	}
	if (s->o.post)
		s->o.post(j->rd.target, deliver, j);
	else
		deliver(j);
}

/* Merge writes into the pending map and run reads, in arrival order. */
static void take(struct store *s, struct job *list)
{
	struct job *next;

	for (struct job *j = list; j; j = next) {
		next = j->next;
		if (j->kind == JOB_PUT || j->kind == JOB_DEL ||
		    j->kind == JOB_CDR) {
			pending_add(s, j);
			if (s->npending >= s->o.batch_max)
				flush_all(s, false);
			continue;
		}
		flush_all(s, false); /* a read sees the writes before it */
		run_read(s, j);
	}
}

/* Outside commits (the command line) change data_version. */
static void poll_changes(struct store *s)
{
	sqlite3_stmt *st = s->st[ST_DATA_VERSION];
	char tmp[STORE_LOG_VALUE];
	int64_t v = 0;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		log_warn("poll_failed", "path=%s error=\"%s\"",
			 esc_path(s, tmp, sizeof(tmp)), sqlite3_errmsg(s->db));
		return;
	}
	if (v == s->data_version)
		return;
	s->data_version = v;
	count(&s->outside_changes, 1);
	log_info("changed_outside", "path=%s", esc_path(s, tmp, sizeof(tmp)));
	if (s->o.on_users_changed)
		s->o.on_users_changed(s->o.ctx);
}

/* Wait on the condition until the monotonic deadline; false on timeout. */
static bool wait_until(struct store *s, uint64_t due_ms)
{
	struct timespec ts = {.tv_sec = (time_t)(due_ms / 1000),
			      .tv_nsec = (long)(due_ms % 1000) * 1000000};

	return pthread_cond_timedwait(&s->wake, &s->lock, &ts) != ETIMEDOUT;
}

static void *thread_main(void *arg)
{
	struct store *s = arg;
	bool is_stopping;
	struct job *list;
	uint64_t now, due;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->head && !s->is_stopping) {
			due = s->poll_due_ms;
			if (s->npending > 0 && s->flush_due_ms < due)
				due = s->flush_due_ms;
			s->is_flush_armed = s->npending > 0;
			if (now_ms() >= due || !wait_until(s, due))
				break;
		}
		list = s->head;
		s->head = s->tail = NULL;
		s->queued = 0;
		is_stopping = s->is_stopping;
		pthread_mutex_unlock(&s->lock);

		take(s, list);
		now = now_ms();
		if (s->npending > 0 && (is_stopping || now >= s->flush_due_ms))
			flush_all(s, is_stopping);
		if (is_stopping)
			break;
		if (now >= s->poll_due_ms) {
			poll_changes(s);
			s->poll_due_ms = now_ms() + s->o.poll_ms;
		}
	}
	return NULL;
}

/*
 * Hand a job to the thread. Writes wake it only when it would otherwise
 * sleep past flush_ms or the queue holds a batch; reads always wake it.
 */
static int enqueue(struct store *s, struct job *j, bool is_urgent)
{
	int rc = 0;

	j->next = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->is_stopping) {
		rc = -ESHUTDOWN;
	} else if (s->queued >= s->o.queue_max) {
		rc = -ENOBUFS;
		count(&s->refused, 1);
	} else {
		if (s->tail)
			s->tail->next = j;
		else
			s->head = j;
		s->tail = j;
		s->queued++;
		if (is_urgent || !s->is_flush_armed ||
		    s->queued >= s->o.batch_max) {
			s->is_flush_armed = true;
			pthread_cond_signal(&s->wake);
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		sb_free(j);
	return rc;
}

static int sync_init(struct store *s)
{
	pthread_condattr_t ca;
	int rc;

	rc = pthread_condattr_init(&ca);
	if (rc != 0)
		return -rc;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return -rc;
	rc = pthread_mutex_init(&s->lock, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&s->wake);
		return -rc;
	}
	s->is_sync_init = true;
	return 0;
}

static int prepare_all(struct store *s)
{
	sqlite3_stmt *st;
	int rc;

	for (int i = 0; i < ST__COUNT; i++) {
		rc = store_db_prepare(s->db, stmt_sql[i], &s->st[i]);
		if (rc != 0)
			return rc;
	}
	st = s->st[ST_DATA_VERSION];
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s->data_version = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : store_db_errno(s->db, rc);
}

static void opts_defaults(struct store_opts *o)
{
	if (o->flush_ms == 0)
		o->flush_ms = STORE_FLUSH_DEFAULT_MS;
	if (o->batch_max == 0)
		o->batch_max = STORE_BATCH_DEFAULT;
	if (o->poll_ms == 0)
		o->poll_ms = STORE_POLL_DEFAULT_MS;
	if (o->queue_max == 0)
		o->queue_max = STORE_QUEUE_DEFAULT;
	o->data_dir = NULL;
}

int store_open(const struct store_opts *o, struct store **out)
{
	char err[STORE_ERR_MAX], why[STORE_LOG_VALUE], tmp[STORE_LOG_VALUE];
	struct store *s;
	int rc;

	if (!o || !o->data_dir || !o->data_dir[0])
		return -EINVAL;
	s = sb_calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->csv_fd = -1;
	s->o = *o;
	opts_defaults(&s->o);
	rc = store_db_path(o->data_dir, s->path, sizeof(s->path));
	if (rc != 0) {
		log_error("open_failed", "data_dir=%s error=\"%s\"",
			  log_esc(slice_cstr(o->data_dir), tmp, sizeof(tmp)),
			  sb_strerror(rc));
		goto out;
	}
	s->buckets = sb_calloc(STORE_BUCKETS_MIN, sizeof(*s->buckets));
	if (!s->buckets) {
		rc = -ENOMEM;
		goto out;
	}
	s->nbuckets = STORE_BUCKETS_MIN;
	s->cdrs_tail = &s->cdrs_head;
	if (s->o.cdr_csv && s->o.cdr_csv[0])
		rc = store_cdr_csv_open(s->o.cdr_csv, &s->csv_fd);
	if (rc != 0) {
		log_error("open_failed", "cdr_csv=%s error=\"%s\"",
			  log_esc(slice_cstr(s->o.cdr_csv), tmp, sizeof(tmp)),
			  sb_strerror(rc));
		goto out;
	}
	rc = store_db_open(o->data_dir, s->path, &s->db, err, sizeof(err));
	if (rc != 0) {
		log_error("open_failed", "path=%s error=%s",
			  esc_path(s, tmp, sizeof(tmp)),
			  log_esc(slice_cstr(err), why, sizeof(why)));
		goto out;
	}
	rc = prepare_all(s);
	if (rc != 0) {
		log_error("open_failed", "path=%s error=\"%s\"",
			  esc_path(s, tmp, sizeof(tmp)), sqlite3_errmsg(s->db));
		goto out;
	}
	rc = sync_init(s);
	if (rc != 0)
		goto out;
	s->poll_due_ms = now_ms() + s->o.poll_ms;
	rc = -pthread_create(&s->thread, NULL, thread_main, s);
	if (rc != 0) {
		log_error("open_failed", "path=%s error=\"%s\"",
			  esc_path(s, tmp, sizeof(tmp)), sb_strerror(rc));
		goto out;
	}
	pthread_setname_np(s->thread, "sb-store");
	log_info("opened", "path=%s schema=%d flush_ms=%u batch_max=%u",
		 esc_path(s, tmp, sizeof(tmp)), STORE_SCHEMA_VERSION,
		 s->o.flush_ms, s->o.batch_max);
	*out = s;
	return 0;
out:
	destroy(s);
	return rc;
}

struct store *store_close(struct store *s)
{
	char tmp[STORE_LOG_VALUE];

	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	s->is_stopping = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	log_info("closed", "path=%s", esc_path(s, tmp, sizeof(tmp)));
	destroy(s);
	return NULL;
}

static int read_start(struct store *s, struct job *j, void *target, void *arg)
{
	j->rd.target = target;
	j->rd.arg = arg;
	return enqueue(s, j, true);
}

int store_users_load(struct store *s, void *target, store_users_cb cb,
		     void *arg)
{
	struct job *j;

	if (!s || !cb)
		return -EINVAL;
	j = sb_calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_USERS;
	j->rd.users = cb;
	return read_start(s, j, target, arg);
}

int store_bindings_load(struct store *s, int64_t now, void *target,
			store_bindings_cb cb, void *arg)
{
	struct job *j;

	if (!s || !cb)
		return -EINVAL;
	j = sb_calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_BINDINGS;
	j->rd.bindings = cb;
	j->rd.now = now;
	return read_start(s, j, target, arg);
}

static bool is_key_ok(const char *aor, const char *contact)
{
	size_t a = strnlen(aor, STORE_USER_MAX + STORE_DOMAIN_MAX + 2);
	size_t c = strnlen(contact, STORE_URI_MAX + 1);

	return a > 0 && a <= STORE_USER_MAX + STORE_DOMAIN_MAX + 1 && c > 0 &&
	       c <= STORE_URI_MAX;
}

int store_binding_put(struct store *s, const struct store_binding *b)
{
	struct job *j;

	if (!s || !b || !is_key_ok(b->aor, b->contact))
		return -EINVAL;
	j = sb_malloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_PUT;
	j->b = *b;
	j->hash = key_hash(j->b.aor, j->b.contact);
	return enqueue(s, j, false);
}

int store_cdr_put(struct store *s, const struct store_cdr *c)
{
	struct job *j;

	if (!s || !c)
		return -EINVAL;
	j = sb_malloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_CDR;
	j->c = *c;
	return enqueue(s, j, false);
}

int store_cdrs_load(struct store *s, uint32_t limit, void *target,
		    store_cdrs_cb cb, void *arg)
{
	struct job *j;

	if (!s || !cb)
		return -EINVAL;
	j = sb_calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_CDRS;
	j->rd.cdrs = cb;
	j->rd.limit = limit;
	return read_start(s, j, target, arg);
}

int store_binding_del(struct store *s, const char *aor, const char *contact)
{
	struct job *j;

	if (!s || !aor || !contact || !is_key_ok(aor, contact))
		return -EINVAL;
	j = sb_malloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_DEL;
	memcpy(j->b.aor, aor, strlen(aor) + 1);
	memcpy(j->b.contact, contact, strlen(contact) + 1);
	j->hash = key_hash(j->b.aor, j->b.contact);
	return enqueue(s, j, false);
}

void store_stats_get(struct store *s, struct store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	out->queued = s->queued;
	pthread_mutex_unlock(&s->lock);
	out->writes = atomic_load_explicit(&s->writes, memory_order_relaxed);
	out->cdrs = atomic_load_explicit(&s->cdrs, memory_order_relaxed);
	out->commits = atomic_load_explicit(&s->commits, memory_order_relaxed);
	out->commit_errors =
	    atomic_load_explicit(&s->commit_errors, memory_order_relaxed);
	out->reads = atomic_load_explicit(&s->reads, memory_order_relaxed);
	out->refused = atomic_load_explicit(&s->refused, memory_order_relaxed);
	out->outside_changes =
	    atomic_load_explicit(&s->outside_changes, memory_order_relaxed);
}
