/* Unit tests for call detail records in the store: write-behind, reads, CSV. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <ftw.h>
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
	CDR_COLS = 21,	/* fields of struct store_cdr */
	CSV_MAX = 4096, /* more than the longest line */
	FIELD_MAX = 320 /* a parsed CSV field */
};

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
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 2);
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
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 2);
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
	    "cancelled,cancelled,487,487,\"say \"\"hi\"\"\",\" \",system,0\n";

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
	assert_int_equal(strncmp(h, "call_id,b_call_id,caller,", 25), 0);
	assert_int_equal(csv_split(h, fields, CDR_COLS + 1), CDR_COLS);
	assert_string_equal(fields[CDR_COLS - 1], "transfers");

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
	    cmocka_unit_test(test_store_cdr_csv_quoting),
	    cmocka_unit_test(test_store_cdr_csv_columns_match_header),
	    cmocka_unit_test(test_store_cdr_csv_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
