/* Unit tests for the store: SQLite files, migrations, admin, the thread. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
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
	ROWS_MAX = 8
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
	pthread_t test_thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct post posts[POSTS_MAX]; /* lock */
	size_t nposts;		      /* lock */
	/* Results of the last read, filled on the test thread. */
	int calls;
	int err;
	size_t n;
	bool is_on_test_thread;
	struct store_user users[ROWS_MAX];
	struct store_binding bindings[ROWS_MAX];
	_Atomic int changed; /* on_users_changed calls */
	sem_t changed_sem;
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
	snprintf(f.dir, sizeof(f.dir), "/tmp/sb-store-XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.data, sizeof(f.data), "%s/data", f.dir);
	snprintf(f.db, sizeof(f.db), "%s/switchboard.db", f.data);
	f.test_thread = pthread_self();
	assert_int_equal(pthread_mutex_init(&f.lock, NULL), 0);
	assert_int_equal(pthread_cond_init(&f.cond, NULL), 0);
	assert_int_equal(sem_init(&f.changed_sem, 0, 0), 0);
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
	sem_destroy(&f->changed_sem);
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

static void on_users(void *arg, int err, const struct store_user *u, size_t n)
{
	struct fx *f = arg;

	f->calls++;
	f->err = err;
	f->n = n;
	f->is_on_test_thread = pthread_equal(pthread_self(), f->test_thread);
	memcpy(f->users, u, (n < ROWS_MAX ? n : ROWS_MAX) * sizeof(*u));
}

static void on_bindings(void *arg, int err, const struct store_binding *b,
			size_t n)
{
	struct fx *f = arg;

	f->calls++;
	f->err = err;
	f->n = n;
	f->is_on_test_thread = pthread_equal(pthread_self(), f->test_thread);
	memcpy(f->bindings, b, (n < ROWS_MAX ? n : ROWS_MAX) * sizeof(*b));
}

static void on_changed(void *ctx)
{
	struct fx *f = ctx;

	atomic_fetch_add(&f->changed, 1);
	sem_post(&f->changed_sem);
}

static void open_store(struct fx *f, uint32_t flush_ms, uint32_t batch_max,
		       uint32_t poll_ms)
{
	struct store_opts o = {
	    .data_dir = f->data,
	    .flush_ms = flush_ms,
	    .batch_max = batch_max,
	    .poll_ms = poll_ms,
	    .post = post_to_test,
	    .on_users_changed = on_changed,
	    .ctx = f,
	};

	assert_int_equal(store_open(&o, &f->s), 0);
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

static struct store_user user_make(const char *user, const char *domain)
{
	struct store_user u = {0};

	snprintf(u.user, sizeof(u.user), "%s", user);
	snprintf(u.domain, sizeof(u.domain), "%s", domain);
	memset(u.ha1_md5, 'a', STORE_HA1_MD5_HEX);
	memset(u.ha1_sha256, 'b', STORE_HA1_SHA256_HEX);
	return u;
}

static struct store_binding binding_make(const char *aor, const char *contact,
					 uint32_t cseq, int64_t expires_at)
{
	struct store_binding b = {0};

	snprintf(b.aor, sizeof(b.aor), "%s", aor);
	snprintf(b.contact, sizeof(b.contact), "%s", contact);
	snprintf(b.path, sizeof(b.path), "<sip:edge.example.com;lr>");
	snprintf(b.call_id, sizeof(b.call_id), "call-%u", cseq);
	b.cseq = cseq;
	b.q_milli = 500;
	b.expires_at = expires_at;
	snprintf(b.transport, sizeof(b.transport), "udp");
	snprintf(b.source, sizeof(b.source), "192.0.2.7:5062");
	snprintf(b.local, sizeof(b.local), "127.0.0.1:5060");
	snprintf(b.user_agent, sizeof(b.user_agent), "baresip");
	snprintf(b.instance, sizeof(b.instance),
		 "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>");
	b.reg_id = 1;
	return b;
}

static void test_store_open_creates_and_migrates(void **state)
{
	struct fx *f = *state;
	struct stat st;

	open_store(f, 0, 0, 0);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 3);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_master "
				    "WHERE name IN ('users', 'bindings')"),
			 2);
	assert_int_equal(sql_int(f, "SELECT journal_mode = 'wal' FROM "
				    "pragma_journal_mode"),
			 1);
	f->s = store_close(f->s);
}

static void test_store_reopen_is_idempotent(void **state)
{
	struct fx *f = *state;
	struct store_user u = user_make("alice", "example.com");

	open_store(f, 0, 0, 0);
	f->s = store_close(f->s);
	assert_int_equal(store_admin_user_add(f->data, &u, NULL, 0), 0);
	open_store(f, 0, 0, 0);
	f->s = store_close(f->s);
	open_store(f, 0, 0, 0);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 3);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users"), 1);
}

static void test_store_v0_empty_file_migrates(void **state)
{
	struct fx *f = *state;
	struct store_user u = user_make("alice", "example.com");
	int fd;

	assert_int_equal(mkdir(f->data, 0700), 0);
	fd = open(f->db, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 0);
	assert_int_equal(store_admin_user_add(f->data, &u, NULL, 0), 0);
	assert_int_equal(sql_int(f, "PRAGMA user_version"), 3);
	open_store(f, 0, 0, 0);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users"), 1);
}

static void test_store_newer_schema_is_refused(void **state)
{
	struct fx *f = *state;
	struct store_opts o = {.data_dir = f->data};
	struct store_user u = user_make("alice", "example.com");
	char err[512];

	open_store(f, 0, 0, 0);
	f->s = store_close(f->s);
	sql_exec(f, "PRAGMA user_version = 99");
	assert_int_equal(store_open(&o, &f->s), -ENOTSUP);
	assert_null(f->s);
	assert_int_equal(store_admin_user_add(f->data, &u, err, sizeof(err)),
			 -ENOTSUP);
	assert_non_null(strstr(err, f->db));
	assert_non_null(strstr(err, "schema version 99"));
}

static void test_store_open_fails_cleanly(void **state)
{
	struct fx *f = *state;
	struct store_opts o = {.data_dir = f->data};
	char err[512];
	int fd;

	assert_int_equal(store_open(NULL, &f->s), -EINVAL);
	fd = open(f->data, O_CREAT | O_WRONLY, 0600); /* a file, not a dir */
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(store_open(&o, &f->s), -ENOTDIR);
	assert_null(f->s);
	assert_int_equal(
	    store_admin_user_list(f->data, NULL, NULL, err, sizeof(err)),
	    -ENOTDIR);
	assert_non_null(strstr(err, f->data));
}

static void test_store_open_oom(void **state)
{
	struct fx *f = *state;
	struct store_opts o = {.data_dir = f->data};
	int rc = -ENOMEM;

	for (int64_t n = 0; rc != 0; n++) {
		sb_mem_fail_after(n);
		rc = store_open(&o, &f->s);
		sb_mem_fail_after(-1);
		if (rc != 0) {
			assert_int_equal(rc, -ENOMEM);
			assert_null(f->s);
			assert_int_equal(sb_live_get(SB_LIVE_ALLOC),
					 f->live_alloc);
		}
	}
	f->s = store_close(f->s);
}

static void on_listed(void *arg, const struct store_user *u)
{
	struct fx *f = arg;

	if (f->n < ROWS_MAX)
		f->users[f->n] = *u;
	f->n++;
}

static void test_store_admin_add_update_del_list(void **state)
{
	struct fx *f = *state;
	struct store_user a = user_make("alice", "b.example.com");
	struct store_user b = user_make("bob", "a.example.com");
	struct store_user c = user_make("carol", "b.example.com"), got;
	char err[512];

	snprintf(a.display, sizeof(a.display), "Alice");
	snprintf(a.caller_id, sizeof(a.caller_id), "+15551001");
	a.max_bindings = 3;
	assert_int_equal(store_admin_user_add(f->data, &a, NULL, 0), 0);
	assert_int_equal(store_admin_user_add(f->data, &b, NULL, 0), 0);
	assert_int_equal(store_admin_user_add(f->data, &c, NULL, 0), 0);
	assert_int_equal(store_admin_user_add(f->data, &a, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "alice@b.example.com"));

	memset(a.ha1_md5, 'c', STORE_HA1_MD5_HEX);
	snprintf(a.display, sizeof(a.display), "Alice Liddell");
	assert_int_equal(store_admin_user_update(f->data, &a, NULL, 0), 0);
	assert_int_equal(store_admin_user_get(f->data, "alice", "b.example.com",
					      &got, NULL, 0),
			 0);
	assert_memory_equal(&got, &a, sizeof(got));

	assert_int_equal(
	    store_admin_user_del(f->data, "carol", "b.example.com", NULL, 0),
	    0);
	assert_int_equal(store_admin_user_del(f->data, "carol", "b.example.com",
					      err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "carol@b.example.com"));
	assert_int_equal(store_admin_user_update(f->data, &c, NULL, 0),
			 -ENOENT);
	assert_int_equal(store_admin_user_get(f->data, "carol", "b.example.com",
					      &got, NULL, 0),
			 -ENOENT);

	f->n = 0;
	assert_int_equal(store_admin_user_list(f->data, on_listed, f, NULL, 0),
			 0);
	assert_int_equal(f->n, 2); /* by domain, then user */
	assert_string_equal(f->users[0].user, "bob");
	assert_string_equal(f->users[1].user, "alice");
	assert_string_equal(f->users[1].caller_id, "+15551001");
	assert_int_equal(f->users[1].max_bindings, 3);
}

static void test_store_admin_rejects_bad_records(void **state)
{
	struct fx *f = *state;
	struct store_user u = user_make("", "example.com");

	assert_int_equal(store_admin_user_add(f->data, &u, NULL, 0), -EINVAL);
	u = user_make("alice", "example.com");
	u.ha1_md5[3] = 'X';
	assert_int_equal(store_admin_user_add(f->data, &u, NULL, 0), -EINVAL);
	u = user_make("alice", "example.com");
	u.ha1_sha256[10] = '\0';
	assert_int_equal(store_admin_user_add(f->data, &u, NULL, 0), -EINVAL);
	assert_int_equal(store_admin_user_del(f->data, "", "x", NULL, 0),
			 -EINVAL);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM users"), 0);
}

static void test_store_admin_del_drops_bindings(void **state)
{
	struct fx *f = *state;
	struct store_user u = user_make("alice", "example.com");
	struct store_binding b =
	    binding_make("alice@example.com", "sip:a@192.0.2.7", 1, INT32_MAX);

	assert_int_equal(store_admin_user_add(f->data, &u, NULL, 0), 0);
	open_store(f, 0, 0, 0);
	assert_int_equal(store_binding_put(f->s, &b), 0);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM bindings"), 1);
	assert_int_equal(
	    store_admin_user_del(f->data, "alice", "example.com", NULL, 0), 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM bindings"), 0);
}

static void test_store_users_load_posts_to_target(void **state)
{
	struct fx *f = *state;
	struct store_user a = user_make("alice", "example.com");
	struct store_user b = user_make("bob", "example.com");

	snprintf(b.display, sizeof(b.display), "Bob");
	assert_int_equal(store_admin_user_add(f->data, &b, NULL, 0), 0);
	assert_int_equal(store_admin_user_add(f->data, &a, NULL, 0), 0);
	open_store(f, 0, 0, 0);
	assert_int_equal(store_users_load(f->s, f, on_users, f), 0);
	run_posts(f, 1);
	assert_int_equal(f->err, 0);
	assert_true(f->is_on_test_thread);
	assert_int_equal(f->n, 2);
	assert_memory_equal(&f->users[0], &a, sizeof(a));
	assert_memory_equal(&f->users[1], &b, sizeof(b));
}

static void on_users_here(void *arg, int err, const struct store_user *u,
			  size_t n)
{
	struct fx *f = arg;

	f->n = n;
	f->is_on_test_thread = pthread_equal(pthread_self(), f->test_thread);
	sem_post(&f->changed_sem);
}

static void test_store_users_load_without_post(void **state)
{
	struct fx *f = *state;
	struct store_opts o = {.data_dir = f->data};
	struct timespec ts;

	assert_int_equal(store_open(&o, &f->s), 0);
	f->is_on_test_thread = true;
	assert_int_equal(store_users_load(f->s, NULL, on_users_here, f), 0);
	deadline(&ts, WAIT_MS);
	assert_int_equal(sem_timedwait(&f->changed_sem, &ts), 0);
	assert_false(f->is_on_test_thread); /* the store thread */
	assert_int_equal(f->n, 0);
}

static void test_store_bindings_write_behind_merged(void **state)
{
	struct fx *f = *state;
	int64_t far = (int64_t)time(NULL) + 3600;
	struct store_binding a1 = binding_make(
	    "alice@example.com", "sip:alice@192.0.2.7:5062", 1, far);
	struct store_binding a2 = a1, b;

	a2.cseq = 2;
	a2.q_milli = 1000;
	b = binding_make("alice@example.com", "sip:alice@198.51.100.9", 7, far);
	open_store(f, 60000, 0, 0); /* only a read or close flushes */
	assert_int_equal(store_binding_put(f->s, &a1), 0);
	assert_int_equal(store_binding_put(f->s, &b), 0);
	assert_int_equal(store_binding_put(f->s, &a2), 0);
	assert_int_equal(store_binding_del(f->s, "alice@example.com",
					   "sip:alice@198.51.100.9"),
			 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM bindings"), 0);

	assert_int_equal(
	    store_bindings_load(f->s, far - 3600, f, on_bindings, f), 0);
	run_posts(f, 1);
	assert_int_equal(f->err, 0);
	assert_true(f->is_on_test_thread);
	assert_int_equal(f->n, 1);
	assert_memory_equal(&f->bindings[0], &a2, sizeof(a2));

	/* A binding deleted and put again is there once more. */
	assert_int_equal(store_binding_del(f->s, "alice@example.com",
					   "sip:alice@192.0.2.7:5062"),
			 0);
	assert_int_equal(store_binding_put(f->s, &a1), 0);
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM bindings"), 1);
	assert_int_equal(sql_int(f, "SELECT cseq FROM bindings"), 1);
}

static void test_store_bindings_load_skips_expired(void **state)
{
	struct fx *f = *state;
	int64_t now = (int64_t)time(NULL);
	struct store_binding old =
	    binding_make("alice@example.com", "sip:a@192.0.2.1", 1, now - 10);
	struct store_binding live =
	    binding_make("alice@example.com", "sip:a@192.0.2.2", 1, now + 60);
	struct store_binding edge =
	    binding_make("bob@example.com", "sip:b@192.0.2.3", 1, now);

	open_store(f, 0, 0, 0);
	assert_int_equal(store_binding_put(f->s, &old), 0);
	assert_int_equal(store_binding_put(f->s, &live), 0);
	assert_int_equal(store_binding_put(f->s, &edge), 0);
	assert_int_equal(store_bindings_load(f->s, now, f, on_bindings, f), 0);
	run_posts(f, 1);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->bindings[0].contact, "sip:a@192.0.2.2");
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM bindings"), 1);
}

static void test_store_close_flushes(void **state)
{
	struct fx *f = *state;
	char contact[64];

	open_store(f, 60000, 0, 0);
	for (int i = 0; i < 50; i++) {
		struct store_binding b;
		snprintf(contact, sizeof(contact), "sip:a@192.0.2.%d", i);
		b = binding_make("alice@example.com", contact, (uint32_t)i,
				 INT32_MAX);
		assert_int_equal(store_binding_put(f->s, &b), 0);
	}
	f->s = store_close(f->s);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM bindings"), 50);
	assert_int_equal(store_binding_put(NULL, NULL), -EINVAL);
}

static void test_store_flush_after_flush_ms(void **state)
{
	struct fx *f = *state;
	struct store_binding b =
	    binding_make("alice@example.com", "sip:a@192.0.2.1", 1, INT32_MAX);

	open_store(f, 20, 0, 0);
	assert_int_equal(store_binding_put(f->s, &b), 0);
	wait_count(f, "SELECT count(*) FROM bindings", 1);
	assert_int_equal(store_binding_del(f->s, b.aor, b.contact), 0);
	wait_count(f, "SELECT count(*) FROM bindings", 0);
}

static void test_store_flush_at_batch_max(void **state)
{
	struct fx *f = *state;
	char contact[64];

	open_store(f, 60000, 4, 0);
	for (int i = 0; i < 4; i++) {
		struct store_binding b;
		snprintf(contact, sizeof(contact), "sip:a@192.0.2.%d", i);
		b = binding_make("alice@example.com", contact, (uint32_t)i,
				 INT32_MAX);
		assert_int_equal(store_binding_put(f->s, &b), 0);
	}
	wait_count(f, "SELECT count(*) FROM bindings", 4);
}

static void test_store_put_rejects_bad_key(void **state)
{
	struct fx *f = *state;
	struct store_binding b = binding_make("", "sip:a@192.0.2.1", 1, 0);
	char big[STORE_URI_MAX + 2];

	open_store(f, 0, 0, 0);
	assert_int_equal(store_binding_put(f->s, &b), -EINVAL);
	b = binding_make("alice@example.com", "", 1, 0);
	assert_int_equal(store_binding_put(f->s, &b), -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(store_binding_del(f->s, "alice@example.com", big),
			 -EINVAL);
	assert_int_equal(store_users_load(f->s, f, NULL, f), -EINVAL);
}

static void test_store_poll_sees_outside_change(void **state)
{
	struct fx *f = *state;
	struct store_user u = user_make("alice", "example.com");
	struct store_binding b =
	    binding_make("alice@example.com", "sip:a@192.0.2.1", 1, INT32_MAX);
	struct timespec ts;

	open_store(f, 5, 0, 20);
	/* Our own commits are not outside changes. */
	assert_int_equal(store_binding_put(f->s, &b), 0);
	wait_count(f, "SELECT count(*) FROM bindings", 1);
	usleep(100 * 1000);
	assert_int_equal(atomic_load(&f->changed), 0);

	assert_int_equal(store_admin_user_add(f->data, &u, NULL, 0), 0);
	deadline(&ts, WAIT_MS);
	assert_int_equal(sem_timedwait(&f->changed_sem, &ts), 0);
	assert_int_equal(atomic_load(&f->changed), 1);
	f->s = store_close(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_store_open_creates_and_migrates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_reopen_is_idempotent,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_v0_empty_file_migrates,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_newer_schema_is_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_open_fails_cleanly,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_open_oom, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_admin_add_update_del_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_admin_rejects_bad_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_admin_del_drops_bindings,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_users_load_posts_to_target, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_users_load_without_post,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_bindings_write_behind_merged, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_bindings_load_skips_expired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_close_flushes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_store_flush_after_flush_ms,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_flush_at_batch_max,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_put_rejects_bad_key,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_poll_sees_outside_change,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
