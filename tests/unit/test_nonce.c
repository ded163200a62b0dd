/* Unit tests for stateless nonces and nonce-count replay (sip/auth/nonce.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "sip/auth/nonce.h"

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";

struct fx {
	int64_t live_alloc, live_auth;
	struct nonce_ctx *n;
};

static int setup(void **state)
{
	static struct fx f;
	struct nonce_opts o = {.lifetime_s = 300, .slots = 1024};

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_auth = sb_live_get(SB_LIVE_AUTH);
	assert_int_equal(nonce_ctx_new(&o, &f.n), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->n = nonce_ctx_free(f->n);
	assert_null(f->n);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	assert_int_equal(sb_live_get(SB_LIVE_AUTH), f->live_auth);
	return 0;
}

static struct slice S(const char *s) {
	return slice_cstr(s);
}

static void
test_nonce_valid(void **state)
{
	struct fx *f = *state;
	char text[NONCE_TEXT_LEN + 1];
	uint32_t idx = 99, idx2 = 99;

	assert_int_equal(nonce_issue(f->n, SL("example.com"), 1000, text), 0);
	assert_int_equal(strlen(text), NONCE_TEXT_LEN);
	for (size_t i = 0; i < NONCE_TEXT_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789-_",
				       text[i]));
	assert_int_equal(
	    nonce_check(f->n, S(text), SL("example.com"), 1000, &idx),
	    NONCE_OK);
	assert_int_equal(
	    nonce_check(f->n, S(text), SL("example.com"), 1300, &idx2),
	    NONCE_OK);
	assert_int_equal(idx, idx2);
	assert_int_equal(nonce_nc_accept(f->n, idx, 1), NONCE_OK);
	assert_int_equal(nonce_lifetime_s(f->n), 300);

	/* Consecutive nonces differ and have their own index. */
	{
		char other[NONCE_TEXT_LEN + 1];
		uint32_t oidx;
		assert_int_equal(
		    nonce_issue(f->n, SL("example.com"), 1000, other), 0);
		assert_string_not_equal(text, other);
		assert_int_equal(
		    nonce_check(f->n, S(other), SL("example.com"), 1000, &oidx),
		    NONCE_OK);
		assert_int_not_equal(oidx, idx);
	}
}

static void test_nonce_tampered_byte_is_bad(void **state)
{
	struct fx *f = *state;
	char text[NONCE_TEXT_LEN + 1];
	uint32_t idx;

	assert_int_equal(nonce_issue(f->n, SL("example.com"), 5000, text), 0);
	for (size_t i = 0; i < NONCE_TEXT_LEN; i++) {
		char save = text[i];
		/* Every other alphabet character in every position. */
		for (const char *c = "Aa0-_zZ9Q"; *c; c++) {
			if (*c == save)
				continue;
			text[i] = *c;
			assert_int_equal(nonce_check(f->n, S(text),
						     SL("example.com"), 5000,
						     &idx),
					 NONCE_BAD);
		}
		text[i] = save;
	}
	assert_int_equal(
	    nonce_check(f->n, S(text), SL("example.com"), 5000, &idx),
	    NONCE_OK);
}

static void test_nonce_garbled_is_bad(void **state)
{
	struct fx *f = *state;
	char text[NONCE_TEXT_LEN + 2];
	uint32_t idx;

	assert_int_equal(nonce_issue(f->n, SL("r"), 1, text), 0);
	/* Shorter, longer, a character outside base64url, empty, absent. */
	assert_int_equal(nonce_check(f->n, slice_make(text, NONCE_TEXT_LEN - 1),
				     SL("r"), 1, &idx),
			 NONCE_BAD);
	text[NONCE_TEXT_LEN] = 'A';
	text[NONCE_TEXT_LEN + 1] = '\0';
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 1, &idx),
			 NONCE_BAD);
	text[NONCE_TEXT_LEN] = '\0';
	text[3] = '+';
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 1, &idx),
			 NONCE_BAD);
	assert_int_equal(nonce_check(f->n, SL(""), SL("r"), 1, &idx),
			 NONCE_BAD);
	assert_int_equal(nonce_check(f->n, (struct slice){0}, SL("r"), 1, &idx),
			 NONCE_BAD);
	assert_int_equal(nonce_check(f->n,
				     SL("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
				     SL("r"), 1, &idx),
			 NONCE_BAD);
}

static void test_nonce_other_realm_or_secret_is_bad(void **state)
{
	struct fx *f = *state;
	struct nonce_opts a = {.secret = secret, .secret_len = sizeof(secret)};
	struct nonce_opts b = a;
	struct nonce_ctx *na, *nb, *nc;
	char text[NONCE_TEXT_LEN + 1];
	uint32_t idx;

	assert_int_equal(nonce_issue(f->n, SL("example.com"), 10, text), 0);
	assert_int_equal(
	    nonce_check(f->n, S(text), SL("example.org"), 10, &idx), NONCE_BAD);
	assert_int_equal(nonce_check(f->n, S(text), SL(""), 10, &idx),
			 NONCE_BAD);

	/* Nodes sharing a secret accept each other's nonces; others do not. */
	assert_int_equal(nonce_ctx_new(&a, &na), 0);
	assert_int_equal(nonce_ctx_new(&b, &nb), 0);
	assert_int_equal(nonce_ctx_new(NULL, &nc), 0);
	assert_int_equal(nonce_issue(na, SL("example.com"), 10, text), 0);
	assert_int_equal(nonce_check(nb, S(text), SL("example.com"), 10, &idx),
			 NONCE_OK);
	assert_int_equal(nonce_check(nc, S(text), SL("example.com"), 10, &idx),
			 NONCE_BAD);
	assert_int_equal(
	    nonce_check(f->n, S(text), SL("example.com"), 10, &idx), NONCE_BAD);
	nonce_ctx_free(na);
	nonce_ctx_free(nb);
	nonce_ctx_free(nc);
}

/* A reused (re-initialised) HMAC context still signs with the secret: a
 * fresh node sharing it accepts every nonce, one with another rejects. */
static void test_nonce_reused_mac_keeps_key(void **state)
{
	struct nonce_opts a = {.secret = secret, .secret_len = sizeof(secret)};
	struct nonce_ctx *na, *nb, *nc;
	char text[4][NONCE_TEXT_LEN + 1];
	uint32_t idx;

	(void)state;
	assert_int_equal(nonce_ctx_new(&a, &na), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(nonce_issue(na, SL("r"), 10, text[i]), 0);
	assert_int_equal(nonce_ctx_new(&a, &nb), 0);
	assert_int_equal(nonce_ctx_new(NULL, &nc), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(nonce_check(nb, S(text[i]), SL("r"), 10, &idx),
				 NONCE_OK);
		assert_int_equal(idx, (uint32_t)i);
		assert_int_equal(nonce_check(na, S(text[i]), SL("r"), 10, &idx),
				 NONCE_OK);
		assert_int_equal(nonce_check(nc, S(text[i]), SL("r"), 10, &idx),
				 NONCE_BAD);
	}
	nonce_ctx_free(na);
	nonce_ctx_free(nb);
	nonce_ctx_free(nc);
}

static void test_nonce_expired_is_stale(void **state)
{
	struct fx *f = *state;
	char text[NONCE_TEXT_LEN + 1];
	uint32_t idx = 0;

	assert_int_equal(nonce_issue(f->n, SL("r"), 100000, text), 0);
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 100300, &idx),
			 NONCE_OK);
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 100301, &idx),
			 NONCE_STALE);
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 999999, &idx),
			 NONCE_STALE);
	/* A clock that stepped back: a lifetime of slack, then stale. */
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 99700, &idx),
			 NONCE_OK);
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 99699, &idx),
			 NONCE_STALE);
}

static void test_nonce_replayed_nc(void **state)
{
	struct fx *f = *state;
	char text[NONCE_TEXT_LEN + 1];
	uint32_t idx;

	assert_int_equal(nonce_issue(f->n, SL("r"), 1, text), 0);
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 1, &idx),
			 NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 1), NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 1), NONCE_REPLAY);
	assert_int_equal(nonce_nc_accept(f->n, idx, 2), NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 2), NONCE_REPLAY);
	assert_int_equal(nonce_nc_accept(f->n, idx, 1), NONCE_REPLAY);
	/* Gaps are fine (requests lost or sent to other servers). */
	assert_int_equal(nonce_nc_accept(f->n, idx, 10), NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 5), NONCE_REPLAY);
	assert_int_equal(nonce_nc_accept(f->n, idx, 11), NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 0xffffffffu), NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 0xffffffffu), NONCE_REPLAY);
}

static void test_nonce_increasing_nc_ok(void **state)
{
	struct fx *f = *state;
	char text[NONCE_TEXT_LEN + 1];
	uint32_t idx;

	assert_int_equal(nonce_issue(f->n, SL("r"), 1, text), 0);
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 1, &idx),
			 NONCE_OK);
	for (uint32_t nc = 1; nc <= 1000; nc++)
		assert_int_equal(nonce_nc_accept(f->n, idx, nc), NONCE_OK);
}

static void test_nonce_without_qop_once(void **state)
{
	struct fx *f = *state;
	char text[NONCE_TEXT_LEN + 1];
	uint32_t idx;

	assert_int_equal(nonce_issue(f->n, SL("r"), 1, text), 0);
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 1, &idx),
			 NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 0), NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 0), NONCE_REPLAY);
	assert_int_equal(nonce_nc_accept(f->n, idx, 1), NONCE_REPLAY);

	/* And once counted with qop, no more use without. */
	assert_int_equal(nonce_issue(f->n, SL("r"), 1, text), 0);
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 1, &idx),
			 NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 1), NONCE_OK);
	assert_int_equal(nonce_nc_accept(f->n, idx, 0), NONCE_REPLAY);
}

/* A slot taken over by a newer nonce: the old one is authentic but stale. */
static void test_nonce_slot_reused_is_stale(void **state)
{
	struct nonce_opts o = {.slots = 2};
	struct nonce_ctx *n;
	char a[NONCE_TEXT_LEN + 1], b[NONCE_TEXT_LEN + 1],
	    c[NONCE_TEXT_LEN + 1];
	uint32_t ia, ib, ic;

	assert_int_equal(nonce_ctx_new(&o, &n), 0);
	assert_int_equal(nonce_issue(n, SL("r"), 1, a), 0);
	assert_int_equal(nonce_issue(n, SL("r"), 1, b), 0);
	assert_int_equal(nonce_check(n, S(a), SL("r"), 1, &ia), NONCE_OK);
	assert_int_equal(nonce_nc_accept(n, ia, 1), NONCE_OK);
	assert_int_equal(nonce_issue(n, SL("r"), 1, c), 0); /* a's slot */
	assert_int_equal(nonce_check(n, S(a), SL("r"), 1, &ia), NONCE_OK);
	assert_int_equal(nonce_nc_accept(n, ia, 2), NONCE_STALE);
	assert_int_equal(nonce_nc_accept(n, ia, 0), NONCE_STALE);
	assert_int_equal(nonce_check(n, S(b), SL("r"), 1, &ib), NONCE_OK);
	assert_int_equal(nonce_nc_accept(n, ib, 1), NONCE_OK);
	assert_int_equal(nonce_check(n, S(c), SL("r"), 1, &ic), NONCE_OK);
	assert_int_equal(nonce_nc_accept(n, ic, 1), NONCE_OK);
	nonce_ctx_free(n);
}

static void test_nonce_opts_rejected(void **state)
{
	struct nonce_opts o = {.slots = 1000};
	struct nonce_ctx *n = NULL;

	assert_int_equal(nonce_ctx_new(&o, &n), -EINVAL);
	o = (struct nonce_opts){.secret = secret, .secret_len = 8};
	assert_int_equal(nonce_ctx_new(&o, &n), -EINVAL);
	o.secret_len = NONCE_SECRET_MAX + 1;
	assert_int_equal(nonce_ctx_new(&o, &n), -EINVAL);
	assert_null(n);
}

static void test_nonce_oom(void **state)
{
	struct nonce_opts o = {.slots = 64};
	struct nonce_ctx *n = NULL;
	int64_t live = sb_live_get(SB_LIVE_ALLOC);
	int err = -ENOMEM;

	for (int64_t i = 0; err == -ENOMEM; i++) {
		sb_mem_fail_after(i);
		err = nonce_ctx_new(&o, &n);
		sb_mem_fail_after(-1);
		if (err == -ENOMEM)
			assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live);
	}
	assert_int_equal(err, 0);
	nonce_ctx_free(n);
}

enum { HAMMER_THREADS = 4, HAMMER_NC = 20000 };

struct hammer {
	struct nonce_ctx *n;
	uint32_t index;
	_Atomic uint32_t *accepted; /* per nc: times accepted */
	unsigned seed;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;

	/* Mostly increasing with jitter, so threads overtake each other. */
	for (uint32_t i = 1; i <= HAMMER_NC; i++) {
		uint32_t nc = i;
		h->seed = h->seed * 1103515245u + 12345u;
		if ((h->seed >> 16) % 4 == 0 && nc > 3)
			nc -= (h->seed >> 20) % 3;
		if (nonce_nc_accept(h->n, h->index, nc) == NONCE_OK)
			atomic_fetch_add(&h->accepted[nc], 1);
	}
	if (nonce_nc_accept(h->n, h->index, HAMMER_NC) == NONCE_OK)
		atomic_fetch_add(&h->accepted[HAMMER_NC], 1);
	return NULL;
}

/* Phones reuse a nonce across workers: no count is ever accepted twice. */
static void test_nonce_concurrent_never_accepts_twice(void **state)
{
	struct fx *f = *state;
	static _Atomic uint32_t accepted[HAMMER_NC + 1];
	struct hammer h[HAMMER_THREADS];
	pthread_t t[HAMMER_THREADS];
	char text[NONCE_TEXT_LEN + 1];
	uint32_t idx, total = 0;

	for (size_t i = 0; i <= HAMMER_NC; i++)
		atomic_init(&accepted[i], 0);
	assert_int_equal(nonce_issue(f->n, SL("r"), 1, text), 0);
	assert_int_equal(nonce_check(f->n, S(text), SL("r"), 1, &idx),
			 NONCE_OK);
	for (int i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){f->n, idx, accepted, (unsigned)i + 1};
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]),
				 0);
	}
	for (int i = 0; i < HAMMER_THREADS; i++)
		pthread_join(t[i], NULL);
	for (size_t i = 0; i <= HAMMER_NC; i++) {
		assert_true(atomic_load(&accepted[i]) <= 1);
		total += atomic_load(&accepted[i]);
	}
	assert_true(total >= HAMMER_NC / 2);
	assert_int_equal(atomic_load(&accepted[HAMMER_NC]), 1);
	assert_int_equal(nonce_nc_accept(f->n, idx, HAMMER_NC), NONCE_REPLAY);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_nonce_valid),
	    T(test_nonce_tampered_byte_is_bad),
	    T(test_nonce_garbled_is_bad),
	    T(test_nonce_other_realm_or_secret_is_bad),
	    T(test_nonce_reused_mac_keeps_key),
	    T(test_nonce_expired_is_stale),
	    T(test_nonce_replayed_nc),
	    T(test_nonce_increasing_nc_ok),
	    T(test_nonce_without_qop_once),
	    T(test_nonce_slot_reused_is_stale),
	    T(test_nonce_opts_rejected),
	    T(test_nonce_oom),
	    T(test_nonce_concurrent_never_accepts_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
