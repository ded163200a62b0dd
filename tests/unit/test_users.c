/* Unit tests for the in-memory credential snapshots (services/users). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "services/users/users.h"

#define HA1_MD5 "b1726872c344b6dc8365b774f8fd6412"
#define HA1_SHA256                                                             \
	"ed8925b20f9a77b8f8f8d5f8e4467fe32b866f7208ab9e4b20595e9821a0fdee"

static int64_t live_alloc, live_users;

static int setup(void **state)
{
	live_alloc = sb_live_get(SB_LIVE_ALLOC);
	live_users = sb_live_get(SB_LIVE_USERS);
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(sb_live_get(SB_LIVE_USERS), live_users);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live_alloc);
	return 0;
}

static struct store_user row(const char *user, const char *domain,
			     const char *display, uint32_t max_bindings)
{
	struct store_user u;

	memset(&u, 0, sizeof(u));
	snprintf(u.user, sizeof(u.user), "%s", user);
	snprintf(u.domain, sizeof(u.domain), "%s", domain);
	snprintf(u.display, sizeof(u.display), "%s", display);
	snprintf(u.ha1_md5, sizeof(u.ha1_md5), "%s", HA1_MD5);
	snprintf(u.ha1_sha256, sizeof(u.ha1_sha256), "%s", HA1_SHA256);
	u.max_bindings = max_bindings;
	return u;
}

static void test_users_lookup(void **state)
{
	struct store_user rows[3];
	const struct users_entry *e;
	struct users *s;

	rows[0] = row("alice", "Example.COM", "Alice A", 3);
	rows[1] = row("bob", "example.com", "", 0);
	rows[2] = row("alice", "other.org", "Other Alice", 1);
	snprintf(rows[2].caller_id, sizeof(rows[2].caller_id), "+15551234");
	assert_int_equal(users_new(rows, 3, &s), 0);
	assert_int_equal(sb_live_get(SB_LIVE_USERS), live_users + 1);
	assert_int_equal(users_count(s), 3);

	e = users_lookup(s, SL("alice"), SL("example.com"));
	assert_non_null(e);
	assert_true(slice_eq(e->user, SL("alice")));
	assert_true(slice_eq(e->domain, SL("example.com"))); /* lowered */
	assert_true(slice_eq(e->display, SL("Alice A")));
	assert_int_equal(e->max_bindings, 3);
	assert_string_equal(e->cred.ha1_md5, HA1_MD5);
	assert_string_equal(e->cred.ha1_sha256, HA1_SHA256);
	assert_true(slice_eq(e->cred.user, SL("alice")));

	/* Domain case-insensitive, user case-sensitive. */
	assert_ptr_equal(users_lookup(s, SL("alice"), SL("EXAMPLE.com")), e);
	assert_null(users_lookup(s, SL("Alice"), SL("example.com")));
	assert_null(users_lookup(s, SL("alic"), SL("example.com")));
	assert_null(users_lookup(s, SL("alice"), SL("example.co")));
	assert_null(users_lookup(s, SL("carol"), SL("example.com")));
	assert_null(users_lookup(s, (struct slice){0}, SL("example.com")));

	e = users_lookup(s, SL("alice"), SL("other.org"));
	assert_non_null(e);
	assert_true(slice_eq(e->caller_id, SL("+15551234")));
	e = users_lookup(s, SL("bob"), SL("example.com"));
	assert_non_null(e);
	assert_int_equal(e->display.len, 0);
	assert_int_equal(e->max_bindings, 0);

	/* As an auth lookup: the cred leads back to its entry. */
	assert_ptr_equal(
	    users_entry_of(users_auth_lookup(s, SL("bob"), SL("EXAMPLE.COM"))),
	    e);
	assert_null(users_auth_lookup(s, SL("nobody"), SL("example.com")));
	assert_null(users_auth_lookup(NULL, SL("bob"), SL("example.com")));
	assert_null(users_unref(s));
}

static void test_users_bad_rows(void **state)
{
	struct store_user rows[5];
	const struct users_entry *e;
	struct users *s;

	rows[0] = row("alice", "example.com", "first", 0);
	rows[1] = row("alice", "EXAMPLE.COM", "duplicate", 0);
	rows[2] = row("", "example.com", "no user", 0);
	rows[3] = row("carol", "", "no domain", 0);
	rows[4] = row("dave", "example.com", "bad HA1s", 0);
	snprintf(rows[4].ha1_md5, sizeof(rows[4].ha1_md5), "%s", "xyz");
	memcpy(rows[4].ha1_sha256, HA1_SHA256, sizeof(rows[4].ha1_sha256));
	rows[4].ha1_sha256[10] = 'g';
	/* Upper-case hex is accepted and stored lower-case. */
	snprintf(rows[0].ha1_md5, sizeof(rows[0].ha1_md5), "%s",
		 "B1726872C344B6DC8365B774F8FD6412");
	assert_int_equal(users_new(rows, 5, &s), 0);
	assert_int_equal(users_count(s), 2);
	e = users_lookup(s, SL("alice"), SL("example.com"));
	assert_non_null(e);
	assert_true(slice_eq(e->display, SL("first")));
	assert_string_equal(e->cred.ha1_md5, HA1_MD5);
	e = users_lookup(s, SL("dave"), SL("example.com"));
	assert_non_null(e);
	assert_string_equal(e->cred.ha1_md5, "");
	assert_string_equal(e->cred.ha1_sha256, "");
	assert_null(users_lookup(s, SL(""), SL("example.com")));
	users_unref(s);
}

static void test_users_empty_and_many(void **state)
{
	enum { N = 10000 };
	struct store_user *rows = calloc(N, sizeof(*rows));
	struct users *s;
	char name[32];

	assert_int_equal(users_new(NULL, 0, &s), 0);
	assert_int_equal(users_count(s), 0);
	assert_null(users_lookup(s, SL("a"), SL("b")));
	users_unref(s);

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		rows[i] = row(name, i % 2 ? "a.example" : "b.example", "", 0);
	}
	assert_int_equal(users_new(rows, N, &s), 0);
	free(rows);
	assert_int_equal(users_count(s), N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_non_null(users_lookup(
		    s, slice_cstr(name),
		    slice_cstr(i % 2 ? "A.example" : "b.EXAMPLE")));
		assert_null(users_lookup(
		    s, slice_cstr(name),
		    slice_cstr(i % 2 ? "b.example" : "a.example")));
	}
	users_unref(s);
}

static void test_users_refs(void **state)
{
	struct store_user r = row("alice", "example.com", "", 0);
	struct users *s, *t;

	assert_int_equal(users_new(&r, 1, &s), 0);
	t = users_ref(s);
	assert_ptr_equal(t, s);
	assert_null(users_unref(s));
	assert_int_equal(sb_live_get(SB_LIVE_USERS), live_users + 1);
	assert_non_null(users_lookup(t, SL("alice"), SL("example.com")));
	assert_null(users_unref(t));
	assert_int_equal(sb_live_get(SB_LIVE_USERS), live_users);
	assert_null(users_ref(NULL));
	assert_null(users_unref(NULL));
}

static void test_users_publish(void **state)
{
	struct store_user a = row("alice", "example.com", "one", 0);
	struct store_user b = row("alice", "example.com", "two", 0);
	struct users *s1, *s2, *held, *cur;

	assert_null(users_current());
	assert_int_equal(users_new(&a, 1, &s1), 0);
	assert_int_equal(users_new(&b, 1, &s2), 0);
	users_publish(s1);
	held = users_current();
	assert_ptr_equal(held, s1);
	users_publish(s2);
	/* The swapped-out snapshot lives while a reader holds it. */
	assert_int_equal(sb_live_get(SB_LIVE_USERS), live_users + 2);
	assert_true(slice_eq(
	    users_lookup(held, SL("alice"), SL("example.com"))->display,
	    SL("one")));
	cur = users_current();
	assert_true(
	    slice_eq(users_lookup(cur, SL("alice"), SL("example.com"))->display,
		     SL("two")));
	users_unref(held);
	assert_int_equal(sb_live_get(SB_LIVE_USERS), live_users + 1);
	users_unref(cur);
	users_publish(NULL);
	assert_null(users_current());
}

static void test_users_oom(void **state)
{
	struct store_user r = row("alice", "example.com", "", 0);
	struct users *s = NULL;
	int err = -ENOMEM;

	for (int64_t i = 0; err == -ENOMEM; i++) {
		sb_mem_fail_after(i);
		err = users_new(&r, 1, &s);
		sb_mem_fail_after(-1);
		if (err == -ENOMEM)
			assert_int_equal(sb_live_get(SB_LIVE_USERS),
					 live_users);
	}
	assert_int_equal(err, 0);
	users_unref(s);
}

enum { READERS = 4, SWAPS = 300, USERS_PER = 64 };

static _Atomic int stop_readers;
static _Atomic uint64_t reads;

/* Every snapshot names its generation in all its display names. */
static struct users *generation(int g)
{
	struct store_user rows[USERS_PER];
	struct users *s;
	char name[16], disp[16];

	for (int i = 0; i < USERS_PER; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		snprintf(disp, sizeof(disp), "g%d", g);
		rows[i] = row(name, "example.com", disp, (uint32_t)g);
	}
	assert_int_equal(users_new(rows, USERS_PER, &s), 0);
	return s;
}

static void *reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	char name[16];

	while (!atomic_load(&stop_readers)) {
		struct users *s = users_current();
		uint32_t g = 0;
		if (!s)
			continue;
		/* One snapshot is one consistent generation. */
		for (int i = 0; i < 8; i++) {
			const struct users_entry *e;
			seed = seed * 1103515245u + 12345u;
			snprintf(name, sizeof(name), "u%u",
				 (seed >> 16) % USERS_PER);
			e = users_lookup(s, slice_cstr(name),
					 SL("example.com"));
			if (!e)
				abort();
			if (i == 0)
				g = e->max_bindings;
			else if (e->max_bindings != g)
				abort();
		}
		users_unref(s);
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

static void test_users_swap_while_readers_run(void **state)
{
	pthread_t t[READERS];

	atomic_store(&stop_readers, 0);
	atomic_store(&reads, 0);
	users_publish(generation(0));
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader,
						(void *)(uintptr_t)(i + 1)),
				 0);
	for (int g = 1; g <= SWAPS; g++) {
		users_publish(generation(g));
		/* At most the current one plus those readers still hold. */
		assert_true(sb_live_get(SB_LIVE_USERS) <=
			    live_users + 1 + READERS);
	}
	while (atomic_load(&reads) < 1000)
		sched_yield();
	atomic_store(&stop_readers, 1);
	for (int i = 0; i < READERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(sb_live_get(SB_LIVE_USERS), live_users + 1);
	users_publish(NULL);
	assert_int_equal(sb_live_get(SB_LIVE_USERS), live_users);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_users_lookup),
	    T(test_users_bad_rows),
	    T(test_users_empty_and_many),
	    T(test_users_refs),
	    T(test_users_publish),
	    T(test_users_oom),
	    T(test_users_swap_while_readers_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
