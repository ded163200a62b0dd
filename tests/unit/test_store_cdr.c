/* Unit tests for call detail records in the store: write-behind, reads, CSV. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <float.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/mem.h"
#include "store/store.h"

enum {
	WAIT_MS = 5000, /* longest wait for the store thread */
	POSTS_MAX = 16,
	ROWS_MAX = 8,
	CDR_COLS = 32,	    /* columns of a CDR (struct store_cdr flattened) */
	CDR_COLS_V2 = 21,   /* the columns before media (schema v2) */
	CSV_MAX = 8192,	    /* more than the longest line */
	CSV_OLD_MAX = 4096, /* the line buffer before media */
	FIELD_MAX = 1100,   /* a parsed CSV field */
	FILE_MAX = 16384    /* a CSV file read back */
};

/* The CSV header before media: still its start, for existing readers. */
static const char header_v2[] =
    "call_id,b_call_id,caller,callee,b_target,route,source,start_ms,ring_ms,"
    "answer_ms,end_ms,duration_s,billsec,disposition,cause,a_status,b_status,"
    "a_reason,b_reason,hangup_by,transfers";

/* One completion posted to the test thread. */
struct post {
	void (*fn)(void *arg);
	void *arg;
};

struct fx {
	int64_t live_alloc;
	char dir[64];  /* mkdtemp */
	char data[96]; /* dir/data: the data directory, made by the store */
	char db[128];  /* data/switchboard.db */
	char csv[96];  /* dir/cdrs.csv */
	struct store *s;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct post posts[POSTS_MAX]; /* lock */
	size_t nposts;		      /* lock */
	/* Results of the last read, filled on the test thread. */
	int calls;
	int err;
	size_t n;
	struct store_cdr cdrs[ROWS_MAX];
	/* Callbacks on the store thread (no opts.post). */
	sem_t started, release;
	int accepted; /* CDRs queued from the store thread */
	int put_rc;   /* the last store_cdr_put there */
	int load_rc;  /* store_cdrs_load there, after the refusal */
};

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	snprintf(f.dir, sizeof(f.dir), "/tmp/sb-cdr-XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.data, sizeof(f.data), "%s/data", f.dir);
	snprintf(f.db, sizeof(f.db), "%s/switchboard.db", f.data);
	snprintf(f.csv, sizeof(f.csv), "%s/cdrs.csv", f.dir);
	assert_int_equal(pthread_mutex_init(&f.lock, NULL), 0);
	assert_int_equal(pthread_cond_init(&f.cond, NULL), 0);
	assert_int_equal(sem_init(&f.started, 0, 0), 0);
	assert_int_equal(sem_init(&f.release, 0, 0), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->s = store_close(f->s);
	assert_int_equal(f->nposts, 0);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	sem_destroy(&f->started);
	sem_destroy(&f->release);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

/* The post hook: queue the completion for the test thread. */
static void post_to_test(void *target, void (*fn)(void *arg), void *arg)
{
	struct fx *f = target;

	pthread_mutex_lock(&f->lock);
	assert_true(f->nposts < POSTS_MAX);
	f->posts[f->nposts++] = (struct post){fn, arg};
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void sem_wait_ms(sem_t *sem, int ms)
{
	struct timespec ts;

	deadline(&ts, ms);
	assert_int_equal(sem_timedwait(sem, &ts), 0);
}

/* Run posted completions on this thread until calls reaches want. */
static void run_posts(struct fx *f, int want)
{
	struct timespec ts;
	struct post p;

	deadline(&ts, WAIT_MS);
	while (f->calls < want) {
		pthread_mutex_lock(&f->lock);
		while (f->nposts == 0)
			assert_int_equal(
			    pthread_cond_timedwait(&f->cond, &f->lock, &ts), 0);
		p = f->posts[0];
		memmove(f->posts, f->posts + 1,
			--f->nposts * sizeof(f->posts[0]));
		pthread_mutex_unlock(&f->lock);
		p.fn(p.arg);
	}
}

static void on_cdrs(void *arg, int err, const struct store_cdr *c, size_t n)
{
	struct fx *f = arg;

	f->calls++;
	f->err = err;
	f->n = n;
	if (n > 0)
		memcpy(f->cdrs, c, (n < ROWS_MAX ? n : ROWS_MAX) * sizeof(*c));
	else
		assert_null(c);
}

static void open_store(struct fx *f, uint32_t flush_ms, uint32_t batch_max)
{
	struct store_opts o = {
	    .data_dir = f->data,
	    .flush_ms = flush_ms,
	    .batch_max = batch_max,
	    .post = post_to_test,
	};

	assert_int_equal(store_open(&o, &f->s), 0);
}

/* Load up to limit CDRs and wait for them on this thread. */
static void load(struct fx *f, uint32_t limit)
{
	int want = f->calls + 1;

	assert_int_equal(store_cdrs_load(f->s, limit, f, on_cdrs, f), 0);
	run_posts(f, want);
	assert_int_equal(f->err, 0);
}

/* One integer from the database through a connection of its own. */
static int64_t sql_int(const struct fx *f, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t v = -1;

	assert_int_equal(
	    sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, WAIT_MS);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_exec(const struct fx *f, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, WAIT_MS);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Wait until sql counts want, as seen from another connection. */
static void wait_count(const struct fx *f, const char *sql, int64_t want)
{
	for (int i = 0; i < WAIT_MS / 5; i++) {
		if (sql_int(f, sql) == want)
			return;
		usleep(5000);
	}
	assert_int_equal(sql_int(f, sql), want);
}

/* A CDR of an answered call; memset so whole structs compare equal. */
static void cdr_make(struct store_cdr *c, int i, int64_t start_ms)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->call_id, sizeof(c->call_id), "a-%d@192.0.2.7", i);
	snprintf(c->b_call_id, sizeof(c->b_call_id), "b-%d@192.0.2.1", i);
	snprintf(c->caller, sizeof(c->caller), "sip:alice@example.com");
	snprintf(c->callee, sizeof(c->callee), "sip:%d@example.com", 100 + i);
	snprintf(c->b_target, sizeof(c->b_target), "sip:%d@198.51.100.9",
		 100 + i);
	snprintf(c->source, sizeof(c->source), "192.0.2.7:5062");
	c->start_ms = start_ms;
	c->ring_ms = start_ms + 1000;
	c->answer_ms = start_ms + 3000;
	c->end_ms = start_ms + 63500;
	c->duration_s = 63;
	c->billsec = 61;
	snprintf(c->disposition, sizeof(c->disposition), "answered");
	snprintf(c->cause, sizeof(c->cause), "normal");
	c->a_status = 200;
	c->b_status = 200;
	snprintf(c->b_reason, sizeof(c->b_reason), "Q.850;cause=16");
	snprintf(c->hangup_by, sizeof(c->hangup_by), "caller");
	c->transfers = (uint32_t)i;
	snprintf(c->media, sizeof(c->media), "anchor");
	snprintf(c->codec, sizeof(c->codec), "PCMU");
	snprintf(c->recording, sizeof(c->recording),
		 "/var/lib/switchboard/rec/a-%d.wav", i);
	c->rtp_a = (struct store_cdr_rtp){3000 + i, 0.25, 4.5, 4.38};
	c->rtp_b = (struct store_cdr_rtp){2990, 1.0 / 3, 12.5, 3.999};
}

/* Every text field full, awkward bytes, extreme numbers. */
static void cdr_make_extreme(struct store_cdr *c, int64_t start_ms)
{
	cdr_make(c, 9, start_ms);
	memset(c->call_id, 'x', sizeof(c->call_id) - 1);
	memset(c->b_target, '"', sizeof(c->b_target) - 1);
	memset(c->source, ',', sizeof(c->source) - 1);
	memset(c->disposition, 'd', sizeof(c->disposition) - 1);
	memset(c->cause, 'c', sizeof(c->cause) - 1);
	memset(c->hangup_by, 'h', sizeof(c->hangup_by) - 1);
	snprintf(c->a_reason, sizeof(c->a_reason), "line 1\r\nline \"2\", end");
	snprintf(c->route, sizeof(c->route), "\xc3\xa9t\xc3\xa9");
	c->ring_ms = INT64_MAX;
	c->answer_ms = INT64_MIN;
	c->end_ms = -1;
	c->duration_s = UINT32_MAX;
	c->billsec = UINT32_MAX;
	c->a_status = UINT16_MAX;
	c->b_status = 0;
	c->transfers = UINT32_MAX;
	memset(c->media, 'm', sizeof(c->media) - 1);
	memset(c->codec, ',', sizeof(c->codec) - 1);
	memset(c->recording, '"', sizeof(c->recording) - 1);
	c->rtp_a =
	    (struct store_cdr_rtp){INT64_MAX, -DBL_MAX, DBL_MAX, DBL_MIN};
	c->rtp_b = (struct store_cdr_rtp){0, 100, 1e-300, 0};
}

/* The longest CSV line: every text field a run of quotes. */
static void cdr_make_longest(struct store_cdr *c)
{
	cdr_make_extreme(c, INT64_MIN);
	memset(c->call_id, '"', sizeof(c->call_id) - 1);
	memset(c->b_call_id, '"', sizeof(c->b_call_id) - 1);
	memset(c->caller, '"', sizeof(c->caller) - 1);
	memset(c->callee, '"', sizeof(c->callee) - 1);
	memset(c->route, '"', sizeof(c->route) - 1);
	memset(c->source, '"', sizeof(c->source) - 1);
	memset(c->disposition, '"', sizeof(c->disposition) - 1);
	memset(c->cause, '"', sizeof(c->cause) - 1);
	memset(c->a_reason, '"', sizeof(c->a_reason) - 1);
	memset(c->b_reason, '"', sizeof(c->b_reason) - 1);
	memset(c->hangup_by, '"', sizeof(c->hangup_by) - 1);
	memset(c->media, '"', sizeof(c->media) - 1);
	memset(c->codec, '"', sizeof(c->codec) - 1);
	c->ring_ms = c->answer_ms = c->end_ms = INT64_MIN;
	c->rtp_a.packets = c->rtp_b.packets = INT64_MAX;
	c->rtp_a.loss_pct = c->rtp_a.jitter_ms = c->rtp_a.mos = -DBL_MAX;
	c->rtp_b = c->rtp_a;
}

static void stats(struct fx *f, struct store_stats *st)
{
	memset(st, 0, sizeof(*st));
	store_stats_get(f->s, st);
}

static void test_store_cdr_schema_migrated(void **state)
{
	struct fx *f = *state;

	open_store(f, 0, 0);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 3);
	assert_int_equal(
	    sql_int(f, "SELECT count(*) FROM pragma_table_info('cdrs')"),
	    CDR_COLS + 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_master WHERE "
				    "type = 'index' AND tbl_name = 'cdrs' AND "
				    "sql LIKE '%(start_ms)%'"),
			 1);

	/* A v1 database (users kept) gains the table. */
	sql_exec(f, "DROP TABLE cdrs; PRAGMA user_version = 1; INSERT INTO "
		    "users VALUES ('alice', 'example.com', 'a', 'b', '', '', "
		    "0, 0, 0)");
	open_store(f, 0, 0);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 3);
	assert_int_equal(
	    sql_int(f, "SELECT count(*) FROM pragma_table_info('cdrs')"),
	    CDR_COLS + 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs"), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users"), 1);
}

static void test_store_cdr_put_load_round_trip(void **state)
{
	struct fx *f = *state;
	const int64_t t = 1700000000000;
	struct store_cdr c[5];
	struct store_stats st;

	/* Newest first: by start, then the later insert of an equal start. */
	cdr_make(&c[0], 0, t + 1000);
	cdr_make_extreme(&c[1], t + 5000);
	cdr_make(&c[2], 2, t + 3000);
	cdr_make(&c[3], 3, t + 3000);
	cdr_make(&c[4], 4, t + 2000);
	snprintf(c[4].disposition, sizeof(c[4].disposition), "no-answer");
	c[4].answer_ms = c[4].billsec = 0;
	open_store(f, 60000, 0); /* only a read or close flushes */
	for (int i = 0; i < 5; i++)
		assert_int_equal(store_cdr_put(f->s, &c[i]), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs"), 0);

	load(f, 3);
	assert_int_equal(f->n, 3);
	assert_memory_equal(&f->cdrs[0], &c[1], sizeof(c[1]));
	assert_memory_equal(&f->cdrs[1], &c[3], sizeof(c[3]));
	assert_memory_equal(&f->cdrs[2], &c[2], sizeof(c[2]));

	load(f, 100);
	assert_int_equal(f->n, 5);
	assert_memory_equal(&f->cdrs[3], &c[4], sizeof(c[4]));
	assert_memory_equal(&f->cdrs[4], &c[0], sizeof(c[0]));

	load(f, 0);
	assert_int_equal(f->n, 0);

	stats(f, &st);
	assert_int_equal(st.cdrs, 5);
	assert_int_equal(st.writes, 0);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.reads, 3);
	assert_int_equal(st.queued, 0);
}

static void test_store_cdr_batched_with_bindings(void **state)
{
	struct fx *f = *state;
	struct store_binding b = {0};
	struct store_cdr c;
	struct store_stats st;

	snprintf(b.aor, sizeof(b.aor), "alice@example.com");
	b.expires_at = INT32_MAX;
	open_store(f, 60000, 0);
	for (int i = 0; i < 3; i++) {
		cdr_make(&c, i, 1000 * i);
		assert_int_equal(store_cdr_put(f->s, &c), 0);
		snprintf(b.contact, sizeof(b.contact), "sip:a@192.0.2.%d", i);
		assert_int_equal(store_binding_put(f->s, &b), 0);
	}
	load(f, 10);
	assert_int_equal(f->n, 3);
	stats(f, &st);
	assert_int_equal(st.commits, 1); /* one transaction for both */
	assert_int_equal(st.writes, 3);
	assert_int_equal(st.cdrs, 3);
	/* CDRs are never merged, even when identical. */
	assert_int_equal(store_cdr_put(f->s, &c), 0);
	assert_int_equal(store_cdr_put(f->s, &c), 0);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs"), 5);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM bindings"), 3);
}

static void test_store_cdr_flush_at_batch_max_and_close(void **state)
{
	struct fx *f = *state;
	struct store_cdr c;

	open_store(f, 60000, 4);
	for (int i = 0; i < 6; i++) {
		cdr_make(&c, i, 1000 * i);
		assert_int_equal(store_cdr_put(f->s, &c), 0);
	}
	wait_count(f, "SELECT count(*) FROM cdrs", 4);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs"), 6);
	/* Inserted in the order they were put. */
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs a JOIN cdrs b "
				    "ON a.id < b.id AND a.start_ms > "
				    "b.start_ms"),
			 0);
}

static void test_store_cdr_flush_after_flush_ms(void **state)
{
	struct fx *f = *state;
	struct store_cdr c;

	cdr_make(&c, 1, 1000);
	open_store(f, 20, 0);
	assert_int_equal(store_cdr_put(f->s, &c), 0);
	wait_count(f, "SELECT count(*) FROM cdrs", 1);
}

static void test_store_cdr_failed_commit_retried_in_order(void **state)
{
	struct fx *f = *state;
	struct store_binding b = {0};
	struct store_stats st;
	struct store_cdr c;

	snprintf(b.aor, sizeof(b.aor), "alice@example.com");
	snprintf(b.contact, sizeof(b.contact), "sip:a@192.0.2.1");
	open_store(f, 20, 2);
	sql_exec(f, "ALTER TABLE cdrs RENAME TO cdrs_away");
	assert_int_equal(store_binding_put(f->s, &b), 0);
	for (int i = 0; i < 3; i++) {
		cdr_make(&c, i, 1000 * i);
		assert_int_equal(store_cdr_put(f->s, &c), 0);
	}
	stats(f, &st);
	for (int i = 0; i < WAIT_MS / 5 && st.commit_errors < 2; i++) {
		usleep(5000);
		stats(f, &st);
	}
	assert_true(st.commit_errors >= 2);
	assert_int_equal(st.cdrs, 0);
	sql_exec(f, "ALTER TABLE cdrs_away RENAME TO cdrs");
	wait_count(f, "SELECT count(*) FROM cdrs", 3);
	wait_count(f, "SELECT count(*) FROM bindings", 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs a JOIN cdrs b "
				    "ON a.id < b.id AND a.start_ms > "
				    "b.start_ms"),
			 0);
	f->s = store_close(f->s);
}

/* A read's callback on the store thread: hold the thread until released. */
static void on_cdrs_hold(void *arg, int err, const struct store_cdr *c,
			 size_t n)
{
	struct fx *f = arg;

	sem_post(&f->started);
	sem_wait_ms(&f->release, WAIT_MS);
}

static void test_store_cdr_queue_full_refused(void **state)
{
	struct fx *f = *state;
	struct store_opts o = {
	    .data_dir = f->data, .flush_ms = 60000, .queue_max = 2};
	struct store_stats st;
	struct store_cdr c;

	cdr_make(&c, 1, 1000);
	assert_int_equal(store_open(&o, &f->s), 0);
	assert_int_equal(store_cdrs_load(f->s, 1, NULL, on_cdrs_hold, f), 0);
	sem_wait_ms(&f->started, WAIT_MS);
	assert_int_equal(store_cdr_put(f->s, &c), 0);
	assert_int_equal(store_cdr_put(f->s, &c), 0);
	assert_int_equal(store_cdr_put(f->s, &c), -ENOBUFS);
	assert_int_equal(store_cdrs_load(f->s, 1, NULL, on_cdrs_hold, f),
			 -ENOBUFS);
	stats(f, &st);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.refused, 2);
	sem_post(&f->release);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs"), 2);
}

/* On the store thread while store_close runs: put until refused. */
static void on_cdrs_put_until_refused(void *arg, int err,
				      const struct store_cdr *rows, size_t n)
{
	struct fx *f = arg;
	struct store_cdr c;

	cdr_make(&c, 1, 1000);
	sem_post(&f->started);
	for (int i = 0; i < WAIT_MS; i++) {
		f->put_rc = store_cdr_put(f->s, &c);
		if (f->put_rc != 0)
			break;
		f->accepted++;
		usleep(1000);
	}
	f->load_rc = store_cdrs_load(f->s, 1, NULL, on_cdrs_hold, f);
}

static void test_store_cdr_closing_store_refuses(void **state)
{
	struct fx *f = *state;
	struct store_opts o = {.data_dir = f->data, .flush_ms = 60000};
	struct store_cdr c;

	cdr_make(&c, 1, 1000);
	assert_int_equal(store_cdr_put(NULL, &c), -EINVAL);
	assert_int_equal(store_cdrs_load(NULL, 1, f, on_cdrs, f), -EINVAL);
	assert_int_equal(store_open(&o, &f->s), 0);
	assert_int_equal(store_cdr_put(f->s, NULL), -EINVAL);
	assert_int_equal(store_cdrs_load(f->s, 1, f, NULL, f), -EINVAL);
	sb_mem_fail_after(0);
	assert_int_equal(store_cdr_put(f->s, &c), -ENOMEM);
	assert_int_equal(store_cdrs_load(f->s, 1, f, on_cdrs, f), -ENOMEM);
	sb_mem_fail_after(-1);

	assert_int_equal(
	    store_cdrs_load(f->s, 1, NULL, on_cdrs_put_until_refused, f), 0);
	sem_wait_ms(&f->started, WAIT_MS);
	f->s = store_close(f->s);
	assert_int_equal(f->put_rc, -ESHUTDOWN);
	assert_int_equal(f->load_rc, -ESHUTDOWN);
	/* What was accepted before the close is committed by it. */
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs"), f->accepted);
}

/* The schema of a v2 database, as that release created it. */
static const char schema_v2[] =
    "CREATE TABLE users (user TEXT NOT NULL, domain TEXT NOT NULL, "
    "ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL, display TEXT NOT NULL "
    "DEFAULT '', caller_id TEXT NOT NULL DEFAULT '', max_bindings INTEGER "
    "NOT NULL DEFAULT 0, created INTEGER NOT NULL, updated INTEGER NOT NULL, "
    "PRIMARY KEY (domain, user)) WITHOUT ROWID;"
    "CREATE TABLE bindings (aor TEXT NOT NULL, contact TEXT NOT NULL, path "
    "TEXT NOT NULL DEFAULT '', call_id TEXT NOT NULL, cseq INTEGER NOT NULL, "
    "q_milli INTEGER NOT NULL, expires_at INTEGER NOT NULL, transport TEXT "
    "NOT NULL, source TEXT NOT NULL, local TEXT NOT NULL, user_agent TEXT "
    "NOT NULL, instance TEXT NOT NULL, reg_id INTEGER NOT NULL, PRIMARY KEY "
    "(aor, contact)) WITHOUT ROWID;"
    "CREATE INDEX bindings_expires ON bindings (expires_at);"
    "CREATE TABLE cdrs (id INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT "
    "NOT NULL, b_call_id TEXT NOT NULL, caller TEXT NOT NULL, callee TEXT "
    "NOT NULL, b_target TEXT NOT NULL, route TEXT NOT NULL, source TEXT NOT "
    "NULL, start_ms INTEGER NOT NULL, ring_ms INTEGER NOT NULL, answer_ms "
    "INTEGER NOT NULL, end_ms INTEGER NOT NULL, duration_s INTEGER NOT "
    "NULL, billsec INTEGER NOT NULL, disposition TEXT NOT NULL, cause TEXT "
    "NOT NULL, a_status INTEGER NOT NULL, b_status INTEGER NOT NULL, "
    "a_reason TEXT NOT NULL, b_reason TEXT NOT NULL, hangup_by TEXT NOT "
    "NULL, transfers INTEGER NOT NULL);"
    "CREATE INDEX cdrs_start ON cdrs (start_ms);"
    "PRAGMA user_version = 2;";

/* Two CDRs as a v2 server wrote them, and a user. */
static const char rows_v2[] =
    "INSERT INTO users VALUES ('alice', 'example.com', 'a', 'b', '', '', 0, "
    "0, 0);"
    "INSERT INTO cdrs (call_id, b_call_id, caller, callee, b_target, route, "
    "source, start_ms, ring_ms, answer_ms, end_ms, duration_s, billsec, "
    "disposition, cause, a_status, b_status, a_reason, b_reason, hangup_by, "
    "transfers) VALUES "
    "('old-1@192.0.2.7', '', 'sip:alice@example.com', 'sip:100@example.com',"
    " '', 'pstn', '192.0.2.7:5062', 1000, 0, 0, 2000, 1, 0, 'cancelled', "
    "'cancelled', 487, 487, 'Request Terminated', '', 'caller', 0),"
    "('old-2@192.0.2.7', 'b-2@192.0.2.1', 'sip:alice@example.com', "
    "'sip:101@example.com', 'sip:101@198.51.100.9', '', '192.0.2.7:5062', "
    "3000, 4000, 5000, 65000, 62, 60, 'answered', 'normal', 200, 200, 'OK', "
    "'', 'callee', 1);";

static void assert_no_media(const struct store_cdr *c)
{
	const struct store_cdr_rtp zero = {0};

	assert_string_equal(c->media, "");
	assert_string_equal(c->codec, "");
	assert_string_equal(c->recording, "");
	assert_memory_equal(&c->rtp_a, &zero, sizeof(zero));
	assert_memory_equal(&c->rtp_b, &zero, sizeof(zero));
}

static void test_store_cdr_v2_migrates_keeping_rows(void **state)
{
	struct fx *f = *state;
	struct store_cdr c;
	char line[CSV_MAX];

	assert_int_equal(mkdir(f->data, 0700), 0);
	sql_exec(f, schema_v2);
	sql_exec(f, rows_v2);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 2);

	open_store(f, 60000, 0);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 3);
	assert_int_equal(
	    sql_int(f, "SELECT count(*) FROM pragma_table_info('cdrs')"),
	    CDR_COLS + 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users"), 1);
	assert_int_equal(sql_int(f,
				 "SELECT count(*) FROM cdrs WHERE media = '' "
				 "AND codec = '' AND recording = '' AND "
				 "a_rtp_packets = 0 AND a_loss_pct = 0 AND "
				 "a_jitter_ms = 0 AND a_mos = 0 AND "
				 "b_rtp_packets = 0 AND b_loss_pct = 0 AND "
				 "b_jitter_ms = 0 AND b_mos = 0"),
			 2);

	/* The old rows read back whole, no media; a new one beside them. */
	cdr_make(&c, 5, 9000);
	assert_int_equal(store_cdr_put(f->s, &c), 0);
	load(f, 10);
	assert_int_equal(f->n, 3);
	assert_memory_equal(&f->cdrs[0], &c, sizeof(c));
	assert_string_equal(f->cdrs[1].call_id, "old-2@192.0.2.7");
	assert_string_equal(f->cdrs[1].b_target, "sip:101@198.51.100.9");
	assert_int_equal(f->cdrs[1].ring_ms, 4000);
	assert_int_equal(f->cdrs[1].billsec, 60);
	assert_string_equal(f->cdrs[1].disposition, "answered");
	assert_string_equal(f->cdrs[1].hangup_by, "callee");
	assert_int_equal(f->cdrs[1].transfers, 1);
	assert_no_media(&f->cdrs[1]);
	assert_string_equal(f->cdrs[2].call_id, "old-1@192.0.2.7");
	assert_string_equal(f->cdrs[2].route, "pstn");
	assert_int_equal(f->cdrs[2].a_status, 487);
	assert_string_equal(f->cdrs[2].a_reason, "Request Terminated");
	assert_no_media(&f->cdrs[2]);
	assert_int_equal(store_cdr_csv(&f->cdrs[2], line, sizeof(line)),
			 strlen(line));
	assert_string_equal(line,
			    "old-1@192.0.2.7,,sip:alice@example.com,"
			    "sip:100@example.com,,pstn,192.0.2.7:5062,1000,0,0,"
			    "2000,1,0,cancelled,cancelled,487,487,Request "
			    "Terminated,,caller,0,,,,0,0.00,0.00,0.00,0,0.00,"
			    "0.00,0.00\n");
	f->s = store_close(f->s);

	/* Migrated once: opening again changes nothing. */
	open_store(f, 0, 0);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 3);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs"), 3);
}

/* The file at path into buf (NUL-terminated); returns its length. */
static size_t file_read(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, cap - 1, fp);
	assert_true(feof(fp));
	fclose(fp);
	buf[n] = '\0';
	return n;
}

static void test_store_cdr_media_round_trip(void **state)
{
	struct fx *f = *state;
	struct store_opts o = {.data_dir = f->data,
			       .flush_ms = 60000,
			       .post = post_to_test,
			       .cdr_csv = f->csv};
	static char got[FILE_MAX], want[FILE_MAX];
	struct store_cdr c[3], odd;
	size_t len;
	int n;

	cdr_make(&c[0], 1, 1000);
	cdr_make_extreme(&c[1], 2000);
	cdr_make_longest(&c[2]);
	c[2].start_ms = 3000;
	/* What SQLite cannot hold: NaN would be NULL, packets beyond int64. */
	cdr_make(&odd, 4, 4000);
	odd.rtp_a = (struct store_cdr_rtp){UINT64_MAX, NAN, INFINITY, -NAN};
	odd.rtp_b.jitter_ms = -INFINITY;

	assert_int_equal(store_open(&o, &f->s), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_cdr_put(f->s, &c[i]), 0);
	assert_int_equal(store_cdr_put(f->s, &odd), 0);
	load(f, 10);
	assert_int_equal(f->n, 4);
	assert_memory_equal(&f->cdrs[1], &c[2], sizeof(c[2]));
	assert_memory_equal(&f->cdrs[2], &c[1], sizeof(c[1]));
	assert_memory_equal(&f->cdrs[3], &c[0], sizeof(c[0]));
	assert_true(f->cdrs[0].rtp_a.packets == (uint64_t)INT64_MAX);
	assert_true(f->cdrs[0].rtp_a.loss_pct == 0);
	assert_true(f->cdrs[0].rtp_a.jitter_ms == 0);
	assert_true(f->cdrs[0].rtp_a.mos == 0);
	assert_true(f->cdrs[0].rtp_b.jitter_ms == 0);
	assert_true(f->cdrs[0].rtp_b.mos == odd.rtp_b.mos);
	assert_string_equal(f->cdrs[0].recording, odd.recording);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM cdrs WHERE "
				    "typeof(a_loss_pct) = 'real' AND "
				    "typeof(b_mos) = 'real' AND "
				    "typeof(a_rtp_packets) = 'integer'"),
			 4);
	assert_int_equal(sql_int(f, "SELECT a_rtp_packets FROM cdrs WHERE "
				    "start_ms = 1000"),
			 3001);
	assert_int_equal(sql_int(f, "SELECT length(recording) FROM cdrs WHERE "
				    "start_ms = 2000"),
			 sizeof(c[1].recording) - 1);

	/* The CSV file: the header, then each line as SQLite reads it back. */
	len = strlen(store_cdr_csv_header());
	memcpy(want, store_cdr_csv_header(), len);
	for (int i = 3; i >= 0; i--) {
		n = store_cdr_csv(&f->cdrs[i], want + len, sizeof(want) - len);
		assert_true(n > 0);
		if (i == 1)
			assert_true(n > CSV_OLD_MAX); /* the longest fits */
		len += (size_t)n;
	}
	assert_int_equal(file_read(f->csv, got, sizeof(got)), len);
	assert_string_equal(got, want);
	assert_non_null(strstr(got, ",anchor,PCMU,/var/lib/switchboard/rec/"
				    "a-4.wav,9223372036854775807,0.00,0.00,"
				    "0.00,2990,0.33,0.00,4.00\n"));
}

/* A file begun by an older build keeps its header; rows are appended. */
static void test_store_cdr_csv_old_file_appended(void **state)
{
	struct fx *f = *state;
	struct store_opts o = {.data_dir = f->data, .cdr_csv = f->csv};
	static char got[FILE_MAX], want[FILE_MAX];
	const char *old = "a-0@192.0.2.7,,x,y,,,z,0,0,0,0,0,0,failed,error,500,"
			  "0,,,system,0\n";
	struct store_cdr c;
	FILE *fp;
	int n;

	fp = fopen(f->csv, "w");
	assert_non_null(fp);
	fprintf(fp, "%s\n%s", header_v2, old);
	fclose(fp);
	cdr_make(&c, 1, 1000);
	assert_int_equal(store_open(&o, &f->s), 0);
	assert_int_equal(store_cdr_put(f->s, &c), 0);
	f->s = store_close(f->s);
	n = snprintf(want, sizeof(want), "%s\n%s", header_v2, old);
	assert_true(store_cdr_csv(&c, want + n, sizeof(want) - (size_t)n) > 0);
	file_read(f->csv, got, sizeof(got));
	assert_string_equal(got, want);
}

/* Split a CSV line into fields (RFC 4180); returns the count. */
static int csv_split(const char *line, char fields[][FIELD_MAX], int max)
{
	const char *p = line;
	int n = 0;

	for (;;) {
		size_t len = 0;
		assert_true(n < max);
		if (*p == '"') {
			for (p++; !(p[0] == '"' && p[1] != '"'); p++) {
				assert_true(*p != '\0');
				if (*p == '"')
					p++;
				fields[n][len++] = *p;
			}
			p++;
		} else {
			for (; *p != ',' && *p != '\n' && *p; p++)
				fields[n][len++] = *p;
		}
		assert_true(len < FIELD_MAX);
		fields[n++][len] = '\0';
		if (*p != ',')
			break;
		p++;
	}
	assert_string_equal(p, "\n"); /* one line, nothing after */
	return n;
}

static void test_store_cdr_csv_quoting(void **state)
{
	struct store_cdr c;
	char out[CSV_MAX];
	const char *want =
	    "a-1@192.0.2.7,,\"\"\"Alice, A.\"\" <sip:alice@example.com>\","
	    "sip:101@example.com,sip:101@198.51.100.9,\"two  lines\","
	    "192.0.2.7:5062,1700000000000,1700000001000,0,1700000063500,63,0,"
	    "cancelled,cancelled,487,487,\"say \"\"hi\"\"\",\" \",system,0,"
	    "bypass,,\"/rec/a \"\"1\"\", b.wav\",0,0.00,0.00,0.00,2990,0.33,"
	    "12.50,4.00\n";

	cdr_make(&c, 1, 1700000000000);
	c.b_call_id[0] = '\0';
	snprintf(c.caller, sizeof(c.caller),
		 "\"Alice, A.\" <sip:alice@example.com>");
	snprintf(c.route, sizeof(c.route), "two\r\nlines");
	c.answer_ms = 0;
	c.billsec = 0;
	snprintf(c.disposition, sizeof(c.disposition), "cancelled");
	snprintf(c.cause, sizeof(c.cause), "cancelled");
	c.a_status = c.b_status = 487;
	snprintf(c.a_reason, sizeof(c.a_reason), "say \"hi\"");
	snprintf(c.b_reason, sizeof(c.b_reason), "\n");
	snprintf(c.hangup_by, sizeof(c.hangup_by), "system");
	c.transfers = 0;
	snprintf(c.media, sizeof(c.media), "bypass");
	c.codec[0] = '\0';
	snprintf(c.recording, sizeof(c.recording), "/rec/a \"1\", b.wav");
	c.rtp_a = (struct store_cdr_rtp){0};
	assert_int_equal(store_cdr_csv(&c, out, sizeof(out)), strlen(want));
	assert_string_equal(out, want);
}

static void test_store_cdr_csv_columns_match_header(void **state)
{
	static char fields[CDR_COLS + 1][FIELD_MAX];
	const char *h = store_cdr_csv_header();
	struct store_cdr c;
	char out[CSV_MAX], want[FIELD_MAX];

	assert_non_null(h);
	/* The v2 columns first, in their order: old readers keep working. */
	assert_int_equal(strncmp(h, header_v2, strlen(header_v2)), 0);
	assert_string_equal(h + strlen(header_v2),
			    ",media,codec,recording,a_rtp_packets,a_loss_pct,"
			    "a_jitter_ms,a_mos,b_rtp_packets,b_loss_pct,"
			    "b_jitter_ms,b_mos\n");
	assert_int_equal(csv_split(h, fields, CDR_COLS + 1), CDR_COLS);
	assert_string_equal(fields[CDR_COLS_V2 - 1], "transfers");
	assert_string_equal(fields[CDR_COLS - 1], "b_mos");

	cdr_make(&c, 3, 1700000000000);
	assert_true(store_cdr_csv(&c, out, sizeof(out)) > 0);
	assert_int_equal(csv_split(out, fields, CDR_COLS + 1), CDR_COLS);

	/* The worst case parses back, CR/LF as spaces, one line. */
	cdr_make_extreme(&c, -5);
	assert_true(store_cdr_csv(&c, out, sizeof(out)) > 0);
	assert_null(strchr(out, '\r'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_int_equal(csv_split(out, fields, CDR_COLS + 1), CDR_COLS);
	assert_string_equal(fields[0], c.call_id);
	assert_string_equal(fields[4], c.b_target);
	assert_string_equal(fields[5], c.route);
	assert_string_equal(fields[6], c.source);
	assert_string_equal(fields[7], "-5");
	assert_string_equal(fields[8], "9223372036854775807");
	assert_string_equal(fields[9], "-9223372036854775808");
	assert_string_equal(fields[11], "4294967295");
	assert_string_equal(fields[15], "65535");
	assert_string_equal(fields[16], "0");
	snprintf(want, sizeof(want), "line 1  line \"2\", end");
	assert_string_equal(fields[17], want);
	assert_string_equal(fields[19], c.hangup_by);
	assert_string_equal(fields[20], "4294967295");
	assert_string_equal(fields[21], c.media);
	assert_string_equal(fields[22], c.codec);
	assert_string_equal(fields[23], c.recording);
	assert_string_equal(fields[24], "9223372036854775807");
	assert_int_equal(strlen(fields[25]), 313); /* -DBL_MAX, 2 decimals */
	assert_int_equal(strncmp(fields[25], "-17976931348623157", 18), 0);
	assert_string_equal(fields[25] + 310, ".00");
	assert_string_equal(fields[26], fields[25] + 1);
	assert_string_equal(fields[27], "0.00");
	assert_string_equal(fields[28], "0");
	assert_string_equal(fields[29], "100.00");
	assert_string_equal(fields[30], "0.00");
	assert_string_equal(fields[31], "0.00");
}

static void test_store_cdr_csv_too_small(void **state)
{
	struct store_cdr c;
	char out[CSV_MAX];
	int len;

	cdr_make_extreme(&c, 0);
	memset(c.callee, ',', sizeof(c.callee) - 1);
	len = store_cdr_csv(&c, out, sizeof(out));
	assert_true(len > 0);
	assert_int_equal(store_cdr_csv(&c, out, (size_t)len + 1), len);
	assert_int_equal(strlen(out), len);
	assert_int_equal(store_cdr_csv(&c, out, (size_t)len), -E2BIG);
	assert_string_equal(out, "");
	assert_int_equal(store_cdr_csv(&c, NULL, 0), -E2BIG);
	assert_int_equal(store_cdr_csv(NULL, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_cdr_schema_migrated,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_cdr_put_load_round_trip,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_cdr_batched_with_bindings, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_cdr_flush_at_batch_max_and_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_cdr_flush_after_flush_ms,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_cdr_failed_commit_retried_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_cdr_queue_full_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_cdr_closing_store_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_cdr_v2_migrates_keeping_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_cdr_media_round_trip,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_cdr_csv_old_file_appended, setup, teardown),
	    cmocka_unit_test(test_store_cdr_csv_quoting),
	    cmocka_unit_test(test_store_cdr_csv_columns_match_header),
	    cmocka_unit_test(test_store_cdr_csv_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
