/* Unit tests for the password-guessing throttle (services/shield/ban.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "base/mem.h"
#include "services/shield/ban.h"

enum { T0 = 6000 }; /* a window boundary with the default 60 s */

struct fx {
	int64_t live_alloc, live_ban;
	struct ban *b;
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_ban = sb_live_get(SB_LIVE_BAN);
	assert_int_equal(ban_new(NULL, &f.b), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->b = ban_free(f->b);
	assert_int_equal(sb_live_get(SB_LIVE_BAN), f->live_ban);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

/* An address; the returned storage is one of a few rotating buffers. */
static const struct sockaddr *addr(const char *text)
{
	static struct sockaddr_storage ss[4];
	static unsigned next;
	struct sockaddr_storage *s = &ss[next++ % 4];

	memset(s, 0, sizeof(*s));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)s;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(5060);
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)s;
		in->sin_family = AF_INET;
		in->sin_port = htons(5060);
		assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
	}
	return (const struct sockaddr *)s;
}

static struct sockaddr_in v4(uint32_t host_order)
{
	struct sockaddr_in in;

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(host_order);
	return in;
}

static void test_ban_source_threshold(void **state)
{
	struct fx *f = *state;
	struct ban_stats st;

	for (int i = 0; i < 9; i++)
		assert_false(
		    ban_fail(f->b, addr("192.0.2.1"), SL("alice"), T0 + i));
	assert_false(ban_check(f->b, addr("192.0.2.1"), T0 + 9));
	assert_true(ban_fail(f->b, addr("192.0.2.1"), SL("alice"), T0 + 9));
	assert_true(ban_check(f->b, addr("192.0.2.1"), T0 + 10));
	assert_true(ban_check(f->b, addr("192.0.2.1"), T0 + 11));
	assert_false(ban_check(f->b, addr("192.0.2.2"), T0 + 11));
	/* Further failures of a banned source keep it banned. */
	assert_true(ban_fail(f->b, addr("192.0.2.1"), SL("alice"), T0 + 12));
	ban_stats_get(f->b, &st);
	assert_int_equal(st.bans, 1);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.failures, 11);
	assert_int_equal(st.banned, 1);
	assert_int_equal(st.sources, 1);
	assert_int_equal(st.users, 1);
}

static void test_ban_window(void **state)
{
	struct fx *f = *state;

	/* Failures two windows ago are forgotten. */
	for (int i = 0; i < 9; i++)
		assert_false(ban_fail(f->b, addr("192.0.2.1"), SL(""), T0));
	assert_false(ban_fail(f->b, addr("192.0.2.1"), SL(""), T0 + 120));
	for (int i = 0; i < 8; i++)
		assert_false(
		    ban_fail(f->b, addr("192.0.2.1"), SL(""), T0 + 121));
	assert_true(ban_fail(f->b, addr("192.0.2.1"), SL(""), T0 + 121));
}

/* The window slides: the edge of a fixed window is no escape. */
static void test_ban_window_slides(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 9; i++)
		assert_false(
		    ban_fail(f->b, addr("192.0.2.1"), SL(""), T0 + 59));
	/* Next window starts: 1 + 9 * (60 - 0) / 60 = 10. */
	assert_true(ban_fail(f->b, addr("192.0.2.1"), SL(""), T0 + 60));

	/* Half way into the next window, the last one weighs half. */
	for (int i = 0; i < 9; i++)
		assert_false(
		    ban_fail(f->b, addr("192.0.2.2"), SL(""), T0 + 59));
	for (int i = 0; i < 5; i++)
		assert_false(
		    ban_fail(f->b, addr("192.0.2.2"), SL(""), T0 + 90));
	assert_true(ban_fail(f->b, addr("192.0.2.2"), SL(""), T0 + 90));
}

static void test_ban_expires(void **state)
{
	struct fx *f = *state;
	struct ban_stats st;

	for (int i = 0; i < 10; i++)
		ban_fail(f->b, addr("192.0.2.1"), SL(""), T0);
	assert_true(ban_check(f->b, addr("192.0.2.1"), T0 + 599));
	assert_false(ban_check(f->b, addr("192.0.2.1"), T0 + 600));
	ban_stats_get(f->b, &st);
	assert_int_equal(st.banned, 0);
	assert_int_equal(st.sources, 0);
	/* It starts again from zero. */
	assert_false(ban_fail(f->b, addr("192.0.2.1"), SL(""), T0 + 600));
	assert_false(ban_check(f->b, addr("192.0.2.1"), T0 + 600));

	/* An expired ban found by ban_fail rather than ban_check. */
	for (int i = 0; i < 10; i++)
		ban_fail(f->b, addr("192.0.2.3"), SL(""), T0);
	assert_false(ban_fail(f->b, addr("192.0.2.3"), SL(""), T0 + 700));
	assert_false(ban_check(f->b, addr("192.0.2.3"), T0 + 700));
}

static void test_ban_success_resets(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 9; i++)
		ban_fail(f->b, addr("192.0.2.1"), SL("alice"), T0);
	ban_success(f->b, addr("192.0.2.1"), SL("alice"));
	for (int i = 0; i < 9; i++)
		assert_false(
		    ban_fail(f->b, addr("192.0.2.1"), SL("alice"), T0));
	assert_true(ban_fail(f->b, addr("192.0.2.1"), SL("alice"), T0));
	/* A success does not lift a ban. */
	ban_success(f->b, addr("192.0.2.1"), SL("alice"));
	assert_true(ban_check(f->b, addr("192.0.2.1"), T0));
}

/* Guessing one user's password from many addresses. */
static void test_ban_per_user(void **state)
{
	struct fx *f = *state;
	char ip[32];

	for (int i = 1; i < 20; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		assert_false(ban_fail(f->b, addr(ip), SL("alice"), T0));
	}
	/* The 20th failure on alice bans the source that made it... */
	assert_true(ban_fail(f->b, addr("198.51.100.20"), SL("alice"), T0));
	/* ...and any further source failing on alice, at once. */
	assert_true(ban_fail(f->b, addr("203.0.113.7"), SL("alice"), T0 + 1));
	/* Earlier sources are not banned retroactively; alice is not locked
	 * out; other users are not affected. */
	assert_false(ban_check(f->b, addr("198.51.100.1"), T0 + 1));
	assert_false(ban_fail(f->b, addr("203.0.113.8"), SL("bob"), T0 + 1));
	assert_false(ban_fail(f->b, addr("203.0.113.9"), SL("Alice"), T0 + 1));
	/* A success for alice forgets her count. */
	ban_success(f->b, addr("198.51.100.1"), SL("alice"));
	assert_false(ban_fail(f->b, addr("203.0.113.10"), SL("alice"), T0 + 2));
}

static void test_ban_ipv6_prefix(void **state)
{
	struct fx *f = *state;
	struct ban_opts o = {.ipv6_prefix = 128};
	struct ban *b;
	char ip[64];

	/* Default: a /64 is one source. */
	for (int i = 1; i <= 10; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:1:2::%x", i);
		assert_int_equal(ban_fail(f->b, addr(ip), SL(""), T0), i == 10);
	}
	assert_true(ban_check(f->b, addr("2001:db8:1:2:ffff::1"), T0));
	assert_false(ban_check(f->b, addr("2001:db8:1:3::1"), T0));

	/* IPv4-mapped IPv6 is the IPv4 address. */
	for (int i = 0; i < 10; i++)
		ban_fail(f->b, addr("::ffff:192.0.2.44"), SL(""), T0);
	assert_true(ban_check(f->b, addr("192.0.2.44"), T0));

	/* /128: every address on its own. */
	assert_int_equal(ban_new(&o, &b), 0);
	for (int i = 1; i <= 10; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:1:2::%x", i);
		assert_false(ban_fail(b, addr(ip), SL(""), T0));
	}
	ban_free(b);
	o.ipv6_prefix = 129;
	assert_int_equal(ban_new(&o, &b), -EINVAL);

	/* An odd prefix length masks inside a byte. */
	o.ipv6_prefix = 60;
	assert_int_equal(ban_new(&o, &b), 0);
	for (int i = 0; i < 10; i++)
		ban_fail(b, addr("2001:db8:1:2::1"), SL(""), T0);
	assert_true(ban_check(b, addr("2001:db8:1:f::1"), T0));
	assert_false(ban_check(b, addr("2001:db8:1:10::1"), T0));
	ban_free(b);
}

static void test_ban_other_families_and_lift(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un un = {.sun_family = AF_UNIX};

	for (int i = 0; i < 20; i++)
		assert_false(
		    ban_fail(f->b, (struct sockaddr *)&un, SL("x"), T0));
	assert_false(ban_check(f->b, (struct sockaddr *)&un, T0));
	assert_false(ban_check(f->b, NULL, T0));
	assert_false(ban_fail(f->b, NULL, SL("x"), T0));
	ban_success(f->b, NULL, (struct slice){0});

	for (int i = 0; i < 10; i++)
		ban_fail(f->b, addr("192.0.2.1"), SL(""), T0);
	assert_true(ban_check(f->b, addr("192.0.2.1"), T0));
	assert_int_equal(ban_lift(f->b, addr("192.0.2.1")), 0);
	assert_false(ban_check(f->b, addr("192.0.2.1"), T0));
	assert_int_equal(ban_lift(f->b, addr("192.0.2.1")), -ENOENT);
	assert_int_equal(ban_lift(f->b, NULL), -ENOENT);
}

/*
 * An attacker spraying 1,000,000 source addresses (and as many user names)
 * recycles a fixed set of entries: no allocation after ban_new(), the
 * tables never grow, and the bans already made survive the spray.
 */
static void test_ban_memory_bounded(void **state)
{
	struct ban_opts o = {.max_sources = 4096, .max_users = 4096};
	struct ban *b;
	struct ban_stats st;
	struct sockaddr_in in;
	int64_t allocs;
	char user[16];

	assert_int_equal(ban_new(&o, &b), 0);
	for (int i = 0; i < 10; i++)
		ban_fail(b, addr("192.0.2.1"), SL(""), T0);
	allocs = sb_live_get(SB_LIVE_ALLOC);
	for (uint32_t i = 0; i < 1000000; i++) {
		in = v4(0x0a000000u + i);
		snprintf(user, sizeof(user), "u%u", i);
		ban_fail(b, (struct sockaddr *)&in, slice_cstr(user),
			 T0 + (int64_t)(i / 100000));
	}
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), allocs);
	ban_stats_get(b, &st);
	assert_true(st.sources <= 4096);
	assert_true(st.users <= 4096);
	assert_true(st.evictions >= 2 * (1000000 - 4096));
	assert_int_equal(st.failures, 1000010);
	assert_true(ban_check(b, addr("192.0.2.1"), T0 + 10));
	/* The last ones sprayed are still counted. */
	in = v4(0x0a000000u + 999999);
	for (int i = 0; i < 9; i++)
		ban_fail(b, (struct sockaddr *)&in, SL(""), T0 + 10);
	assert_true(ban_check(b, (struct sockaddr *)&in, T0 + 10));
	ban_free(b);
}

/* When a shard holds only bans, the oldest ban makes room. */
static void test_ban_full_of_bans(void **state)
{
	struct ban_opts o = {.max_sources = 16, .src_threshold = 1};
	struct ban *b;
	struct ban_stats st;
	struct sockaddr_in in;

	assert_int_equal(ban_new(&o, &b), 0);
	for (uint32_t i = 0; i < 1000; i++) {
		in = v4(0x0a000000u + i);
		assert_true(ban_fail(b, (struct sockaddr *)&in, SL(""), T0));
	}
	ban_stats_get(b, &st);
	assert_true(st.sources <= 16);
	assert_int_equal(st.banned, st.sources);
	assert_int_equal(st.bans, 1000);
	in = v4(0x0a000000u + 999);
	assert_true(ban_check(b, (struct sockaddr *)&in, T0));
	ban_free(b);
}

enum { THREADS = 4, ROUNDS = 20000 };

struct worker {
	struct ban *b;
	int id;
	int banned_own;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct sockaddr_in own = v4(0xc0000200u + (uint32_t)w->id);
	struct sockaddr_in in;

	for (int i = 0; i < ROUNDS; i++) {
		/* Shared addresses, checked and failed by every thread. */
		in = v4(0x0a000000u + (uint32_t)(i % 512));
		ban_check(w->b, (struct sockaddr *)&in, T0);
		ban_fail(w->b, (struct sockaddr *)&in, SL("shared"), T0);
		if (i % 1000 == 0)
			ban_success(w->b, (struct sockaddr *)&in, SL("other"));
		if (i < 10)
			w->banned_own += ban_fail(w->b, (struct sockaddr *)&own,
						  SL("self"), T0);
	}
	return NULL;
}

static void test_ban_threads(void **state)
{
	struct ban_opts o = {.user_threshold = 1000000};
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct ban *b;
	struct ban_stats st;

	assert_int_equal(ban_new(&o, &b), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){b, i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
				 0);
	}
	for (int i = 0; i < THREADS; i++) {
		struct sockaddr_in own = v4(0xc0000200u + (uint32_t)i);
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].banned_own, 1);
		assert_true(ban_check(b, (struct sockaddr *)&own, T0));
	}
	ban_stats_get(b, &st);
	assert_int_equal(st.failures, THREADS * (ROUNDS + 10));
	assert_true(st.sources <= 512 + THREADS);
	ban_free(b);
}

static void test_ban_oom(void **state)
{
	struct ban_opts o = {.max_sources = 64, .max_users = 64};
	int64_t live = sb_live_get(SB_LIVE_ALLOC);
	struct ban *b = NULL;
	int err = -ENOMEM;

	for (int64_t i = 0; err == -ENOMEM; i++) {
		sb_mem_fail_after(i);
		err = ban_new(&o, &b);
		sb_mem_fail_after(-1);
		if (err == -ENOMEM)
			assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live);
	}
	assert_int_equal(err, 0);
	ban_free(b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_ban_source_threshold), T(test_ban_window),
	    T(test_ban_window_slides),	  T(test_ban_expires),
	    T(test_ban_success_resets),	  T(test_ban_per_user),
	    T(test_ban_ipv6_prefix),	  T(test_ban_other_families_and_lift),
	    T(test_ban_memory_bounded),	  T(test_ban_full_of_bans),
	    T(test_ban_threads),	  T(test_ban_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
