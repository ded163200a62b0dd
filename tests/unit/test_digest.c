/* Unit tests for digest computations (sip/auth/digest.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "sip/auth/digest.h"

static int64_t live_alloc;

static int setup(void **state)
{
	live_alloc = sb_live_get(SB_LIVE_ALLOC);
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live_alloc);
	return 0;
}

static struct slice S(const char *s) {
	return slice_cstr(s);
}

/* RFC 2617 3.5 */
#define R2617_NONCE "dcd98b7102dd2f0e8b11d0f600bfb0c093"
#define R2617_HA1 "939e7578ed9e3c518a452acee763bce9"
/* RFC 7616 3.9.1 */
#define R7616_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define R7616_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define R7616_HA1_MD5 "3d78807defe7de2157e2b0b6573a855f"
#define R7616_HA1_SHA256                                                       \
	"7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"

static void
test_digest_rfc2617_example(void **state)
{
	char ha1[DIGEST_HEX_BUF], out[DIGEST_HEX_BUF];
	struct digest_params p = {
	    .alg = DIGEST_ALG_MD5,
	    .nonce = SL(R2617_NONCE),
	    .cnonce = SL("0a4f113b"),
	    .nc = SL("00000001"),
	    .qop = SL("auth"),
	    .method = SL("GET"),
	    .uri = SL("/dir/index.html"),
	};

	assert_int_equal(digest_ha1(DIGEST_ALG_MD5, SL("Mufasa"),
				    SL("testrealm@host.com"),
				    SL("Circle Of Life"), ha1),
			 0);
	assert_string_equal(ha1, R2617_HA1);
	p.ha1 = S(ha1);
	assert_int_equal(digest_response(&p, out), 0);
	assert_string_equal(out, "6629fae49393a05397450978507c4ef1");
}

static void test_digest_rfc2069_without_qop(void **state)
{
	char out[DIGEST_HEX_BUF];
	struct digest_params p = {
	    .alg = DIGEST_ALG_MD5,
	    .ha1 = SL(R2617_HA1),
	    .nonce = SL(R2617_NONCE),
	    .method = SL("GET"),
	    .uri = SL("/dir/index.html"),
	};

	/* H(HA1:nonce:HA2); cnonce and nc are not needed */
	assert_int_equal(digest_response(&p, out), 0);
	assert_string_equal(out, "670fd8c2df070c60b045671b8b24ff02");
}

static void test_digest_ha2(void **state)
{
	char out[DIGEST_HEX_BUF];

	assert_int_equal(
	    digest_ha2(DIGEST_ALG_MD5, SL("GET"), SL("/dir/index.html"), out),
	    0);
	assert_string_equal(out, "39aff3a2bab6126f332b942af96d3366");
}

static void test_digest_rfc7616_md5(void **state)
{
	char ha1[DIGEST_HEX_BUF], out[DIGEST_HEX_BUF];
	struct digest_params p = {
	    .alg = DIGEST_ALG_MD5,
	    .nonce = SL(R7616_NONCE),
	    .cnonce = SL(R7616_CNONCE),
	    .nc = SL("00000001"),
	    .qop = SL("auth"),
	    .method = SL("GET"),
	    .uri = SL("/dir/index.html"),
	};

	assert_int_equal(digest_ha1(DIGEST_ALG_MD5, SL("Mufasa"),
				    SL("http-auth@example.org"),
				    SL("Circle of Life"), ha1),
			 0);
	assert_string_equal(ha1, R7616_HA1_MD5);
	p.ha1 = S(ha1);
	assert_int_equal(digest_response(&p, out), 0);
	assert_string_equal(out, "8ca523f5e9506fed4657c9700eebdbec");
}

static void test_digest_rfc7616_sha256(void **state)
{
	char ha1[DIGEST_HEX_BUF], out[DIGEST_HEX_BUF];
	struct digest_params p = {
	    .alg = DIGEST_ALG_SHA256,
	    .nonce = SL(R7616_NONCE),
	    .cnonce = SL(R7616_CNONCE),
	    .nc = SL("00000001"),
	    .qop = SL("auth"),
	    .method = SL("GET"),
	    .uri = SL("/dir/index.html"),
	};

	assert_int_equal(digest_ha1(DIGEST_ALG_SHA256, SL("Mufasa"),
				    SL("http-auth@example.org"),
				    SL("Circle of Life"), ha1),
			 0);
	assert_string_equal(ha1, R7616_HA1_SHA256);
	p.ha1 = S(ha1);
	assert_int_equal(digest_response(&p, out), 0);
	assert_string_equal(out, "753927fa0e85d155564e2e272a28d180"
				 "2ca10daf4496794697cf8db5856cb6c1");
}

/* -sess: the session key H(HA1:nonce:cnonce) replaces HA1 (RFC 7616 3.4.2).
 * Expected values computed independently with openssl dgst. */
static void test_digest_sess_variants(void **state)
{
	char out[DIGEST_HEX_BUF];
	struct digest_params p = {
	    .alg = DIGEST_ALG_MD5_SESS,
	    .ha1 = SL(R7616_HA1_MD5),
	    .nonce = SL(R7616_NONCE),
	    .cnonce = SL(R7616_CNONCE),
	    .nc = SL("00000001"),
	    .qop = SL("auth"),
	    .method = SL("GET"),
	    .uri = SL("/dir/index.html"),
	};

	assert_int_equal(digest_response(&p, out), 0);
	assert_string_equal(out, "e783283f46242139c486a698fec7211d");
	p.alg = DIGEST_ALG_SHA256_SESS;
	p.ha1 = SL(R7616_HA1_SHA256);
	assert_int_equal(digest_response(&p, out), 0);
	assert_string_equal(out, "2fd51b3a77ad75bad6afad6003e818d7"
				 "67133c46d9e2749e7f5232ae1ea3efd7");
}

/* The shape a SIP phone sends for REGISTER (RFC 3261 22.4). */
static void test_digest_sip_register_shape(void **state)
{
	char ha1[DIGEST_HEX_BUF], out[DIGEST_HEX_BUF];
	struct digest_params p = {
	    .nonce = SL("abc123"),
	    .cnonce = SL("xyz"),
	    .nc = SL("00000001"),
	    .qop = SL("auth"),
	    .method = SL("REGISTER"),
	    .uri = SL("sip:example.com"),
	};

	assert_int_equal(digest_ha1(DIGEST_ALG_MD5, SL("alice"),
				    SL("example.com"), SL("secret"), ha1),
			 0);
	assert_string_equal(ha1, "b1726872c344b6dc8365b774f8fd6412");
	p.alg = DIGEST_ALG_MD5;
	p.ha1 = S(ha1);
	assert_int_equal(digest_response(&p, out), 0);
	assert_string_equal(out, "ea0239468dbdc13bdd588e0c24c103cd");

	assert_int_equal(digest_ha1(DIGEST_ALG_SHA256, SL("alice"),
				    SL("example.com"), SL("secret"), ha1),
			 0);
	assert_string_equal(ha1, "ed8925b20f9a77b8f8f8d5f8e4467fe3"
				 "2b866f7208ab9e4b20595e9821a0fdee");
	p.alg = DIGEST_ALG_SHA256;
	p.ha1 = S(ha1);
	assert_int_equal(digest_response(&p, out), 0);
	assert_string_equal(out, "54a4de5491fbee92078575d5df963962"
				 "0c58c74b62088c3cba51d61c0d30644f");
}

static void test_digest_alg_names(void **state)
{
	enum digest_alg a = DIGEST_ALG_SHA256;

	assert_int_equal(digest_alg_from((struct slice){0}, &a), 0);
	assert_int_equal(a, DIGEST_ALG_MD5);
	assert_int_equal(digest_alg_from(SL("md5-SESS"), &a), 0);
	assert_int_equal(a, DIGEST_ALG_MD5_SESS);
	assert_int_equal(digest_alg_from(SL("sha-256"), &a), 0);
	assert_int_equal(a, DIGEST_ALG_SHA256);
	assert_int_equal(digest_alg_from(SL("SHA-256-sess"), &a), 0);
	assert_int_equal(a, DIGEST_ALG_SHA256_SESS);
	assert_int_equal(digest_alg_from(SL("SHA-512-256"), &a), -ENOTSUP);
	assert_int_equal(digest_alg_from(SL(""), &a), -ENOTSUP);
	assert_int_equal(digest_alg_from(SL("MD5x"), &a), -ENOTSUP);
	assert_int_equal(a, DIGEST_ALG_SHA256_SESS); /* untouched */

	assert_true(
	    slice_eq(digest_alg_name(DIGEST_ALG_SHA256), SL("SHA-256")));
	assert_true(
	    slice_eq(digest_alg_name(DIGEST_ALG_MD5_SESS), SL("MD5-sess")));
	assert_int_equal(digest_alg_hex_len(DIGEST_ALG_MD5_SESS), 32);
	assert_int_equal(digest_alg_hex_len(DIGEST_ALG_SHA256), 64);
	assert_int_equal(digest_alg_base(DIGEST_ALG_SHA256_SESS),
			 DIGEST_ALG_SHA256);
	assert_int_equal(digest_alg_base(DIGEST_ALG_MD5_SESS), DIGEST_ALG_MD5);
	assert_true(digest_alg_is_sess(DIGEST_ALG_SHA256_SESS));
	assert_false(digest_alg_is_sess(DIGEST_ALG_SHA256));
}

static void test_digest_response_rejects_bad_input(void **state)
{
	char out[DIGEST_HEX_BUF];
	struct digest_params p = {
	    .alg = DIGEST_ALG_SHA256,
	    .ha1 = SL(R7616_HA1_MD5), /* 32 hex for a 64-hex algorithm */
	    .nonce = SL("n"),
	    .method = SL("REGISTER"),
	    .uri = SL("sip:x"),
	};

	assert_int_equal(digest_response(&p, out), -EINVAL);
	p.alg = DIGEST_ALG_MD5;
	p.qop = SL("auth"); /* qop without cnonce */
	assert_int_equal(digest_response(&p, out), -EINVAL);
	p.qop = (struct slice){0};
	p.alg = DIGEST_ALG_MD5_SESS; /* -sess without cnonce */
	assert_int_equal(digest_response(&p, out), -EINVAL);
}

static void test_digest_hex_eq(void **state)
{
	assert_true(digest_hex_eq(SL("0a4f113b"), SL("0a4f113b")));
	assert_true(digest_hex_eq(SL("0A4F113B"), SL("0a4f113b")));
	assert_false(digest_hex_eq(SL("0a4f113c"), SL("0a4f113b")));
	assert_false(digest_hex_eq(SL("0a4f113"), SL("0a4f113b")));
	assert_false(digest_hex_eq(SL("0a4f113bb"), SL("0a4f113b")));
	assert_false(digest_hex_eq(SL(""), SL("0a4f113b")));
	assert_false(digest_hex_eq((struct slice){0}, SL("")));
	/* Only A-F fold: '@' | 0x20 is '`', and 0x10 | 0x20 is '0'. */
	assert_false(digest_hex_eq(SL("@"), SL("`")));
	assert_false(digest_hex_eq(SL("G"), SL("g")));
	assert_false(digest_hex_eq(SL("\x10"), SL("0")));
	assert_true(digest_hex_eq(SL("A"), SL("a")));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_digest_rfc2617_example),
	    T(test_digest_rfc2069_without_qop),
	    T(test_digest_ha2),
	    T(test_digest_rfc7616_md5),
	    T(test_digest_rfc7616_sha256),
	    T(test_digest_sess_variants),
	    T(test_digest_sip_register_shape),
	    T(test_digest_alg_names),
	    T(test_digest_response_rejects_bad_input),
	    T(test_digest_hex_eq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
