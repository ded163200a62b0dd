/* Unit tests for digest authentication of parsed requests (sip/auth/auth.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/mem.h"
#include "sip/auth/auth.h"
#include "sip/auth/digest.h"
#include "sip/auth/nonce.h"
#include "sip/msg/msg.h"

static const uint8_t secret[32] = "switchboard-test-secret-32-bytes";

enum { NOW = 1000000 };

/* Subscribers the lookup knows: HA1s computed at setup from passwords. */
struct user {
	const char *name, *domain, *password;
	bool has_sha256;
	struct auth_cred cred;
};

struct fx {
	int64_t live_alloc, live_arena, live_auth;
	struct auth_ctx *ctx;
	struct sb_limits lim;
	struct arena arena;
	bool has_arena;
	struct sip_msg m;
	struct sip_perr perr;
	char *raw; /* exact-size copy, so ASan sees overreads */
	struct buf out;
	char nonce[NONCE_TEXT_LEN + 1];
	unsigned lookups;
	struct user users[3];
};

static const struct auth_cred *lookup(void *arg, struct slice user,
				      struct slice domain)
{
	struct fx *f = arg;

	f->lookups++;
	for (size_t i = 0; i < sizeof(f->users) / sizeof(f->users[0]); i++) {
		struct user *u = &f->users[i];
		if (slice_eq(user, slice_cstr(u->name)) &&
		    slice_caseeq(domain, slice_cstr(u->domain)))
			return &u->cred;
	}
	return NULL;
}

static void user_init(struct user *u, const char *name, const char *domain,
		      const char *password, bool has_sha256)
{
	u->name = name;
	u->domain = domain;
	u->password = password;
	u->cred.user = slice_cstr(name);
	u->cred.domain = slice_cstr(domain);
	assert_int_equal(digest_ha1(DIGEST_ALG_MD5, slice_cstr(name),
				    slice_cstr(domain), slice_cstr(password),
				    u->cred.ha1_md5),
			 0);
	if (has_sha256)
		assert_int_equal(digest_ha1(DIGEST_ALG_SHA256, slice_cstr(name),
					    slice_cstr(domain),
					    slice_cstr(password),
					    u->cred.ha1_sha256),
				 0);
}

static int ctx_new(struct fx *f, const struct auth_opts *o)
{
	struct auth_opts d = {.secret = secret, .secret_len = sizeof(secret)};

	auth_ctx_free(f->ctx);
	return auth_ctx_new(o ? o : &d, &f->ctx);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f->live_arena = sb_live_get(SB_LIVE_ARENA);
	f->live_auth = sb_live_get(SB_LIVE_AUTH);
	f->lim = sb_limits_default();
	buf_init(&f->out, 0);
	user_init(&f->users[0], "alice", "example.com", "secret", true);
	user_init(&f->users[1], "bob", "example.com", "hunter2", false);
	user_init(&f->users[2], "a\"b", "example.com", "quoted", true);
	assert_int_equal(ctx_new(f, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->has_arena)
		arena_close(&f->arena);
	free(f->raw);
	buf_close(&f->out);
	f->ctx = auth_ctx_free(f->ctx);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	assert_int_equal(sb_live_get(SB_LIVE_ARENA), f->live_arena);
	assert_int_equal(sb_live_get(SB_LIVE_AUTH), f->live_auth);
	free(f);
	return 0;
}

/* Challenge at now and keep the nonce it carries. */
static void challenge(struct fx *f, int64_t now)
{
	const char *p;

	buf_reset(&f->out);
	assert_int_equal(auth_challenge(f->ctx, AUTH_WWW, SL("example.com"),
					false, now, &f->out),
			 0);
	p = strstr(f->out.p, "nonce=\"");
	assert_non_null(p);
	memcpy(f->nonce, p + 7, NONCE_TEXT_LEN);
	f->nonce[NONCE_TEXT_LEN] = '\0';
	assert_int_equal(p[7 + NONCE_TEXT_LEN], '"');
}

/* Credentials to send; NULL fields take the defaults noted. */
struct cr {
	const char *hdr;       /* "Authorization" */
	const char *method;    /* "REGISTER" (request and digest) */
	const char *ruri;      /* "sip:example.com" */
	const char *user;      /* "alice" as sent (quoted-pairs kept) */
	const char *hash_user; /* user for HA1: .user */
	const char *realm;     /* "example.com" */
	const char *password;  /* "secret" */
	const char *uri;       /* .ruri */
	const char *alg;       /* "MD5"; "-" leaves the parameter out */
	const char *qop;       /* "auth"; "-" leaves qop, nc, cnonce out */
	const char *nc;	       /* "00000001" */
	const char *cnonce;    /* "0a4f113b" */
	const char *nonce;     /* the last challenge's */
	const char *response;  /* computed */
	const char *extra;     /* more params, e.g. ", opaque=\"x\"" */
	const char *more;      /* more header lines before it */
};

static const char *dflt(const char *v, const char *d)
{
	return v ? v : d;
}

/* Build the request with c's credentials, parse it; returns the error. */
static int request(struct fx *f, const struct cr *c)
{
	const char *alg = dflt(c->alg, "MD5"), *qop = dflt(c->qop, "auth");
	const char *method = dflt(c->method, "REGISTER");
	const char *ruri = dflt(c->ruri, "sip:example.com");
	const char *user = dflt(c->user, "alice");
	const char *uri = dflt(c->uri, ruri);
	const char *nc = dflt(c->nc, "00000001"),
		   *cnonce = dflt(c->cnonce, "0a4f113b");
	const char *nonce = dflt(c->nonce, f->nonce);
	char ha1[DIGEST_HEX_BUF], resp[DIGEST_HEX_BUF], params[256];
	enum digest_alg a = DIGEST_ALG_MD5;
	struct buf b;
	size_t len;
	int err;

	if (strcmp(alg, "-") != 0 && digest_alg_from(slice_cstr(alg), &a))
		a = DIGEST_ALG_MD5; /* unknown: compute something */
	assert_int_equal(
	    digest_ha1(digest_alg_base(a), slice_cstr(dflt(c->hash_user, user)),
		       slice_cstr(dflt(c->realm, "example.com")),
		       slice_cstr(dflt(c->password, "secret")), ha1),
	    0);
	assert_int_equal(digest_response(
			     &(struct digest_params){
				 .alg = a,
				 .ha1 = slice_cstr(ha1),
				 .nonce = slice_cstr(nonce),
				 .cnonce = slice_cstr(cnonce),
				 .nc = slice_cstr(nc),
				 .qop = strcmp(qop, "-") ? slice_cstr(qop)
							 : (struct slice){0},
				 .method = slice_cstr(method),
				 .uri = slice_cstr(uri),
			     },
			     resp),
			 0);
	params[0] = '\0';
	if (strcmp(qop, "-") != 0)
		snprintf(params, sizeof(params),
			 ", qop=%s, nc=%s, cnonce=\"%s\"", qop, nc, cnonce);
	buf_init(&b, 0);
	buf_printf(&b,
		   "%s %s SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@example.com>;tag=f1\r\n"
		   "To: <sip:alice@example.com>\r\n"
		   "Call-ID: c1@192.0.2.10\r\n"
		   "CSeq: 2 %s\r\n"
		   "Contact: <sip:alice@192.0.2.10>\r\n"
		   "%s",
		   method, ruri, method, dflt(c->more, ""));
	buf_printf(&b,
		   "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
		   "uri=\"%s\", response=\"%s\"",
		   dflt(c->hdr, "Authorization"), user,
		   dflt(c->realm, "example.com"), nonce, uri,
		   dflt(c->response, resp));
	if (strcmp(alg, "-") != 0)
		buf_printf(&b, ", algorithm=%s", alg);
	buf_printf(&b, "%s%s\r\nContent-Length: 0\r\n\r\n", params,
		   dflt(c->extra, ""));
	assert_int_equal(buf_error(&b), 0);

	if (f->has_arena)
		arena_close(&f->arena);
	free(f->raw);
	len = b.len;
	f->raw = malloc(len);
	memcpy(f->raw, b.p, len);
	buf_close(&b);
	arena_init(&f->arena, NULL, 0, f->lim.max_arena_bytes);
	f->has_arena = true;
	err = sip_msg_parse(&f->m, &f->arena, f->raw, len, SIP_FRAMING_DATAGRAM,
			    &f->lim, &f->perr);
	return err;
}

/* Parse a request given as text (no credentials computed). */
static void request_text(struct fx *f, const char *text)
{
	size_t len = strlen(text);

	if (f->has_arena)
		arena_close(&f->arena);
	free(f->raw);
	f->raw = malloc(len);
	memcpy(f->raw, text, len);
	arena_init(&f->arena, NULL, 0, f->lim.max_arena_bytes);
	f->has_arena = true;
	assert_int_equal(sip_msg_parse(&f->m, &f->arena, f->raw, len,
				       SIP_FRAMING_DATAGRAM, &f->lim, &f->perr),
			 0);
}

static struct auth_result verify_kind(struct fx *f, enum auth_kind kind,
				      int64_t now)
{
	struct auth_verify_opts o = {
	    .kind = kind,
	    .realm = SL("example.com"),
	    .lookup = lookup,
	    .lookup_arg = f,
	    .now_s = now,
	};
	struct auth_result r;

	memset(&r, 0xa5, sizeof(r));
	assert_int_equal(auth_verify(f->ctx, &f->m, &o, &r), 0);
	return r;
}

static struct auth_result verify(struct fx *f)
{
	return verify_kind(f, AUTH_WWW, NOW);
}

#define assert_verdict(r, v, why)                                              \
	do {                                                                   \
		struct auth_result r_ = (r);                                   \
		if (r_.verdict != (v) || r_.reason != (why))                   \
			fail_msg("verdict %s/%s, want %s/%s",                  \
				 auth_verdict_name(r_.verdict),                \
				 auth_reason_name(r_.reason),                  \
				 auth_verdict_name(v), auth_reason_name(why)); \
	} while (0)

static void test_auth_ok_md5(void **state)
{
	struct fx *f = *state;
	struct auth_result r;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){0}), 0);
	r = verify(f);
	assert_verdict(r, AUTH_OK, AUTH_REASON_NONE);
	assert_ptr_equal(r.cred, &f->users[0].cred);
	assert_true(slice_eq(r.username, SL("alice")));
	assert_int_equal(r.alg, DIGEST_ALG_MD5);
	assert_false(auth_result_is_guess(&r));
}

static void test_auth_ok_sha256(void **state)
{
	struct fx *f = *state;
	struct auth_result r;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.alg = "SHA-256"}), 0);
	r = verify(f);
	assert_verdict(r, AUTH_OK, AUTH_REASON_NONE);
	assert_int_equal(r.alg, DIGEST_ALG_SHA256);
	assert_ptr_equal(r.cred, &f->users[0].cred);
}

static void test_auth_ok_sess_and_no_algorithm(void **state)
{
	struct fx *f = *state;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.alg = "MD5-sess"}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.alg = "SHA-256-sess"}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	/* No algorithm parameter means MD5 (RFC 2617 3.2.2). */
	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.alg = "-"}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
}

static void test_auth_no_credentials_challenge(void **state)
{
	struct fx *f = *state;

	request_text(f, "REGISTER sip:example.com SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa1\r\n"
			"From: <sip:alice@example.com>;tag=f1\r\n"
			"To: <sip:alice@example.com>\r\n"
			"Call-ID: c1\r\n"
			"CSeq: 1 REGISTER\r\n"
			"Content-Length: 0\r\n\r\n");
	assert_verdict(verify(f), AUTH_CHALLENGE, AUTH_REASON_NO_CREDENTIALS);
	assert_int_equal(f->lookups, 0);
}

static void test_auth_wrong_password_fails(void **state)
{
	struct fx *f = *state;
	struct auth_result r;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.password = "guess"}), 0);
	r = verify(f);
	assert_verdict(r, AUTH_FAIL, AUTH_REASON_RESPONSE);
	assert_true(auth_result_is_guess(&r));
	assert_null(r.cred);
	assert_true(slice_eq(r.username, SL("alice")));
}

/*
 * No user enumeration: an unknown user gets the verdict of a wrong
 * password after the same work (one lookup, one response computed).
 */
static void test_auth_unknown_user_same_as_wrong_password(void **state)
{
	struct fx *f = *state;
	struct auth_result wrong, unknown;
	struct auth_stats s0, s1, s2;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.password = "guess"}), 0);
	auth_stats_get(f->ctx, &s0);
	f->lookups = 0;
	wrong = verify(f);
	auth_stats_get(f->ctx, &s1);
	assert_int_equal(f->lookups, 1);

	assert_int_equal(
	    request(f, &(struct cr){.user = "mallory", .password = "guess"}),
	    0);
	f->lookups = 0;
	unknown = verify(f);
	auth_stats_get(f->ctx, &s2);
	assert_int_equal(f->lookups, 1);

	assert_int_equal(wrong.verdict, unknown.verdict);
	assert_int_equal(wrong.reason, unknown.reason);
	assert_verdict(unknown, AUTH_FAIL, AUTH_REASON_RESPONSE);
	assert_int_equal(s1.digests - s0.digests, 1);
	assert_int_equal(s2.digests - s1.digests, 1);
	assert_null(unknown.cred);

	/* Also with SHA-256, and for a user without a SHA-256 HA1. */
	assert_int_equal(
	    request(f, &(struct cr){.user = "mallory", .alg = "SHA-256"}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_RESPONSE);
	assert_int_equal(request(f, &(struct cr){.user = "bob",
						 .password = "hunter2",
						 .alg = "SHA-256"}),
			 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_RESPONSE);
	assert_int_equal(
	    request(f, &(struct cr){.user = "bob", .password = "hunter2"}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	auth_stats_get(f->ctx, &s0);
	assert_int_equal(s0.digests - s2.digests, 3);
}

static void test_auth_stale_nonce(void **state)
{
	struct fx *f = *state;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){0}), 0);
	assert_verdict(verify_kind(f, AUTH_WWW, NOW + 301), AUTH_STALE,
		       AUTH_REASON_EXPIRED);
	/* Only a right response earns stale=true. */
	assert_int_equal(request(f, &(struct cr){.password = "guess"}), 0);
	assert_verdict(verify_kind(f, AUTH_WWW, NOW + 301), AUTH_FAIL,
		       AUTH_REASON_RESPONSE);
	assert_int_equal(request(f, &(struct cr){.user = "mallory"}), 0);
	assert_verdict(verify_kind(f, AUTH_WWW, NOW + 301), AUTH_FAIL,
		       AUTH_REASON_RESPONSE);
	/* Within the lifetime it is still good. */
	assert_int_equal(request(f, &(struct cr){0}), 0);
	assert_verdict(verify_kind(f, AUTH_WWW, NOW + 300), AUTH_OK,
		       AUTH_REASON_NONE);
}

static void test_auth_replayed_nc(void **state)
{
	struct fx *f = *state;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){0}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	assert_verdict(verify(f), AUTH_STALE, AUTH_REASON_REPLAY);
	/* The phone's next request on the same nonce counts up. */
	assert_int_equal(request(f, &(struct cr){.nc = "00000002"}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	/* A wrong response with a high count does not burn the counts. */
	assert_int_equal(
	    request(f, &(struct cr){.nc = "ffffffff", .password = "guess"}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_RESPONSE);
	assert_int_equal(request(f, &(struct cr){.nc = "00000003"}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
}

/* RFC 2069 form (no qop): a nonce is good for one request. */
static void test_auth_without_qop_once(void **state)
{
	struct fx *f = *state;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.qop = "-"}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	assert_verdict(verify(f), AUTH_STALE, AUTH_REASON_REPLAY);
}

static void test_auth_wrong_realm(void **state)
{
	struct fx *f = *state;
	char more[512];

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.realm = "other.com"}), 0);
	assert_verdict(verify(f), AUTH_CHALLENGE, AUTH_REASON_NO_CREDENTIALS);
	assert_int_equal(f->lookups, 0);

	/* Credentials for another proxy ride along: ours are found. */
	snprintf(more, sizeof(more),
		 "Authorization: Digest username=\"alice\", "
		 "realm=\"other.com\", nonce=\"x\", uri=\"sip:example.com\", "
		 "response=\"00000000000000000000000000000000\"\r\n"
		 "Authorization: Other realm=\"example.com\", x=y\r\n");
	assert_int_equal(request(f, &(struct cr){.more = more}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);

	/* Realm compares case-insensitively (it is a domain). */
	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.realm = "EXAMPLE.com",
						 .password = "secret"}),
			 0);
	/* The HA1 was over "EXAMPLE.com": the response is wrong, not the
	 * realm. */
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_RESPONSE);
}

static void test_auth_uri_mismatch(void **state)
{
	struct fx *f = *state;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.uri = "sip:evil.example"}),
			 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_URI);
	assert_int_equal(f->lookups, 0);
	assert_int_equal(request(f, &(struct cr){.uri = "sip:bob@example.com"}),
			 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_URI);
	assert_int_equal(request(f, &(struct cr){.uri = "not a uri"}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_URI);

	/* Tolerated: the same URI spelled differently. */
	assert_int_equal(request(f, &(struct cr){.uri = "sip:EXAMPLE.COM"}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	assert_int_equal(request(f, &(struct cr){.uri = "sip:example.com:5060;"
							"transport=udp",
						 .nc = "00000002"}),
			 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	assert_int_equal(request(f, &(struct cr){.ruri = "sip:example.com;"
							 "transport=tcp",
						 .uri = "sip:example.com",
						 .nc = "00000003"}),
			 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);

	/* A caller behind a rewriting proxy may skip the check. */
	{
		struct auth_verify_opts o = {
		    .kind = AUTH_WWW,
		    .realm = SL("example.com"),
		    .lookup = lookup,
		    .lookup_arg = f,
		    .now_s = NOW,
		    .skip_uri_check = true,
		};
		struct auth_result r;
		assert_int_equal(
		    request(f, &(struct cr){.uri = "sip:elsewhere.example",
					    .nc = "00000004"}),
		    0);
		assert_int_equal(auth_verify(f->ctx, &f->m, &o, &r), 0);
		assert_verdict(r, AUTH_OK, AUTH_REASON_NONE);
	}
}

static void test_auth_bad_nonce(void **state)
{
	struct fx *f = *state;
	struct auth_stats s0, s1;
	struct auth_result r;

	challenge(f, NOW);
	auth_stats_get(f->ctx, &s0);
	assert_int_equal(request(f, &(struct cr){.nonce = "forged"}), 0);
	r = verify(f);
	assert_verdict(r, AUTH_FAIL, AUTH_REASON_NONCE);
	assert_false(auth_result_is_guess(&r));
	f->nonce[5] = f->nonce[5] == 'A' ? 'B' : 'A';
	assert_int_equal(request(f, &(struct cr){0}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_NONCE);
	auth_stats_get(f->ctx, &s1);
	assert_int_equal(s1.digests, s0.digests);
	assert_int_equal(f->lookups, 0);

	/* A nonce from another process (a restart) is not ours either. */
	challenge(f, NOW);
	assert_int_equal(ctx_new(f, &(struct auth_opts){0}), 0);
	assert_int_equal(request(f, &(struct cr){0}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_NONCE);
}

static void test_auth_malformed(void **state)
{
	struct fx *f = *state;

	challenge(f, NOW);
	/* Missing response. */
	request_text(f, "REGISTER sip:example.com SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa1\r\n"
			"From: <sip:alice@example.com>;tag=f1\r\n"
			"To: <sip:alice@example.com>\r\n"
			"Call-ID: c1\r\n"
			"CSeq: 1 REGISTER\r\n"
			"Authorization: Digest username=\"alice\", "
			"realm=\"example.com\", nonce=\"n\", "
			"uri=\"sip:example.com\"\r\n"
			"Content-Length: 0\r\n\r\n");
	assert_verdict(verify(f), AUTH_MALFORMED, AUTH_REASON_SYNTAX);
	/* Not auth-param syntax at all. */
	request_text(f, "REGISTER sip:example.com SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa1\r\n"
			"From: <sip:alice@example.com>;tag=f1\r\n"
			"To: <sip:alice@example.com>\r\n"
			"Call-ID: c1\r\n"
			"CSeq: 1 REGISTER\r\n"
			"Authorization: Digest ,,, =\"\r\n"
			"Content-Length: 0\r\n\r\n");
	assert_verdict(verify(f), AUTH_MALFORMED, AUTH_REASON_SYNTAX);
	/* Bad nc, nc of zero, qop without cnonce, short response. */
	assert_int_equal(request(f, &(struct cr){.nc = "zz"}), 0);
	assert_verdict(verify(f), AUTH_MALFORMED, AUTH_REASON_SYNTAX);
	assert_int_equal(request(f, &(struct cr){.nc = "00000000"}), 0);
	assert_verdict(verify(f), AUTH_MALFORMED, AUTH_REASON_SYNTAX);
	assert_int_equal(request(f, &(struct cr){.nc = "123456789"}), 0);
	assert_verdict(verify(f), AUTH_MALFORMED, AUTH_REASON_SYNTAX);
	assert_int_equal(request(f, &(struct cr){.response = "6629fae4"}), 0);
	assert_verdict(verify(f), AUTH_MALFORMED, AUTH_REASON_SYNTAX);
	assert_int_equal(
	    request(f, &(struct cr){.response =
					"6629fae49393a05397450978507c4efz"}),
	    0);
	assert_verdict(verify(f), AUTH_MALFORMED, AUTH_REASON_SYNTAX);
	request_text(f, "REGISTER sip:example.com SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa1\r\n"
			"From: <sip:alice@example.com>;tag=f1\r\n"
			"To: <sip:alice@example.com>\r\n"
			"Call-ID: c1\r\n"
			"CSeq: 1 REGISTER\r\n"
			"Authorization: Digest username=\"alice\", "
			"realm=\"example.com\", nonce=\"n\", qop=auth, "
			"nc=00000001, uri=\"sip:example.com\", "
			"response=\"6629fae49393a05397450978507c4ef1\"\r\n"
			"Content-Length: 0\r\n\r\n");
	assert_verdict(verify(f), AUTH_MALFORMED, AUTH_REASON_SYNTAX);
	assert_int_equal(f->lookups, 0);
}

static void test_auth_unsupported(void **state)
{
	struct fx *f = *state;
	struct auth_opts md5_only = {
	    .offer = AUTH_OFFER_MD5,
	    .secret = secret,
	    .secret_len = sizeof(secret),
	};

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.alg = "SHA-512-256"}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_UNSUPPORTED);
	assert_int_equal(request(f, &(struct cr){.qop = "auth-int"}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_UNSUPPORTED);
	assert_int_equal(ctx_new(f, &md5_only), 0);
	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.alg = "SHA-256"}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_UNSUPPORTED);
	assert_int_equal(request(f, &(struct cr){0}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	assert_int_equal(f->lookups, 1);
}

static void test_auth_proxy_kind(void **state)
{
	struct fx *f = *state;

	challenge(f, NOW);
	assert_int_equal(
	    request(f, &(struct cr){.hdr = "Proxy-Authorization",
				    .method = "INVITE",
				    .ruri = "sip:bob@example.com"}),
	    0);
	assert_verdict(verify_kind(f, AUTH_PROXY, NOW), AUTH_OK,
		       AUTH_REASON_NONE);
	/* Authorization is not looked at for a proxy challenge, and back. */
	assert_verdict(verify_kind(f, AUTH_WWW, NOW), AUTH_CHALLENGE,
		       AUTH_REASON_NO_CREDENTIALS);
	assert_int_equal(request(f, &(struct cr){.method = "INVITE",
						 .ruri = "sip:bob@example.com",
						 .nc = "00000002"}),
			 0);
	assert_verdict(verify_kind(f, AUTH_PROXY, NOW), AUTH_CHALLENGE,
		       AUTH_REASON_NO_CREDENTIALS);
	/* The method is part of the digest. */
	assert_int_equal(request(f, &(struct cr){.hdr = "Proxy-Authorization",
						 .method = "INVITE",
						 .ruri = "sip:bob@example.com",
						 .nc = "00000003"}),
			 0);
	assert_verdict(verify_kind(f, AUTH_PROXY, NOW), AUTH_OK,
		       AUTH_REASON_NONE);
	assert_int_equal(auth_kind_status(AUTH_WWW), 401);
	assert_int_equal(auth_kind_status(AUTH_PROXY), 407);
}

static void test_auth_method_is_hashed(void **state)
{
	struct fx *f = *state;
	char resp[DIGEST_HEX_BUF], ha1[DIGEST_HEX_BUF];

	/* A response computed for REGISTER does not authorise a MESSAGE. */
	challenge(f, NOW);
	assert_int_equal(digest_ha1(DIGEST_ALG_MD5, SL("alice"),
				    SL("example.com"), SL("secret"), ha1),
			 0);
	assert_int_equal(digest_response(
			     &(struct digest_params){
				 .alg = DIGEST_ALG_MD5,
				 .ha1 = slice_cstr(ha1),
				 .nonce = slice_cstr(f->nonce),
				 .cnonce = SL("0a4f113b"),
				 .nc = SL("00000001"),
				 .qop = SL("auth"),
				 .method = SL("REGISTER"),
				 .uri = SL("sip:example.com"),
			     },
			     resp),
			 0);
	assert_int_equal(
	    request(f, &(struct cr){.method = "MESSAGE", .response = resp}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_RESPONSE);
}

static void test_auth_escaped_username(void **state)
{
	struct fx *f = *state;
	struct auth_result r;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){.user = "a\\\"b",
						 .hash_user = "a\"b",
						 .password = "quoted"}),
			 0);
	r = verify(f);
	assert_verdict(r, AUTH_OK, AUTH_REASON_NONE);
	assert_ptr_equal(r.cred, &f->users[2].cred);
	assert_true(slice_eq(r.username, SL("a\\\"b")));
}

static void test_auth_opaque(void **state)
{
	struct fx *f = *state;
	struct auth_opts o = {
	    .has_opaque = true,
	    .secret = secret,
	    .secret_len = sizeof(secret),
	};
	char extra[128];
	const char *p;

	assert_int_equal(ctx_new(f, &o), 0);
	challenge(f, NOW);
	p = strstr(f->out.p, "opaque=\"");
	assert_non_null(p);
	snprintf(extra, sizeof(extra), ", opaque=\"%.32s\"", p + 8);
	assert_int_equal(request(f, &(struct cr){0}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_NONCE);
	assert_int_equal(request(f, &(struct cr){.extra = ", opaque=\"x\""}),
			 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_NONCE);
	assert_int_equal(request(f, &(struct cr){.extra = extra}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
}

/* Replace the nonce value in text by "N" so the lines compare exactly. */
static void blank_nonces(char *text)
{
	char *p = text;

	while ((p = strstr(p, "nonce=\"")) != NULL) {
		p += 7;
		assert_true(strlen(p) > NONCE_TEXT_LEN);
		memmove(p + 1, p + NONCE_TEXT_LEN,
			strlen(p + NONCE_TEXT_LEN) + 1);
		*p = 'N';
	}
}

static void test_auth_challenge_text(void **state)
{
	struct fx *f = *state;
	struct auth_opts sha_only = {
	    .offer = AUTH_OFFER_SHA256,
	    .secret = secret,
	    .secret_len = sizeof(secret),
	};
	struct sip_auth au;
	const char *line2;

	challenge(f, NOW);
	blank_nonces(f->out.p);
	assert_string_equal(f->out.p,
			    "WWW-Authenticate: Digest realm=\"example.com\", "
			    "nonce=\"N\", qop=\"auth\", algorithm=MD5\r\n"
			    "WWW-Authenticate: Digest realm=\"example.com\", "
			    "nonce=\"N\", qop=\"auth\", algorithm=SHA-256\r\n");

	buf_reset(&f->out);
	assert_int_equal(auth_challenge(f->ctx, AUTH_PROXY, SL("example.com"),
					true, NOW, &f->out),
			 0);
	blank_nonces(f->out.p);
	assert_string_equal(f->out.p,
			    "Proxy-Authenticate: Digest realm=\"example.com\", "
			    "nonce=\"N\", qop=\"auth\", algorithm=MD5, "
			    "stale=true\r\n"
			    "Proxy-Authenticate: Digest realm=\"example.com\", "
			    "nonce=\"N\", qop=\"auth\", algorithm=SHA-256, "
			    "stale=true\r\n");

	/* Both lines carry one nonce; each parses back as a challenge. */
	buf_reset(&f->out);
	assert_int_equal(auth_challenge(f->ctx, AUTH_WWW, SL("a\"b\\c"), false,
					NOW, &f->out),
			 0);
	line2 = strstr(f->out.p, "\r\n") + 2;
	assert_int_equal(
	    sip_auth_parse(
		slice_make(f->out.p + 18, (size_t)(line2 - 2 - f->out.p - 18)),
		&f->lim, &au),
	    0);
	assert_true(slice_eq(au.realm, SL("a\\\"b\\\\c")));
	assert_true(slice_eq(au.qop, SL("auth")));
	assert_true(slice_eq(au.algorithm, SL("MD5")));
	assert_int_equal(au.nonce.len, NONCE_TEXT_LEN);
	assert_int_equal(
	    strncmp(strstr(line2, "nonce=\"") + 7, au.nonce.p, NONCE_TEXT_LEN),
	    0);

	/* Errors leave the buffer as it was. */
	buf_reset(&f->out);
	buf_append_str(&f->out, "X: y\r\n");
	assert_int_equal(auth_challenge(f->ctx, AUTH_WWW, SL("bad\r\nrealm"),
					false, NOW, &f->out),
			 -EINVAL);
	assert_string_equal(f->out.p, "X: y\r\n");

	assert_int_equal(ctx_new(f, &sha_only), 0);
	buf_reset(&f->out);
	assert_int_equal(auth_challenge(f->ctx, AUTH_WWW, SL("example.com"),
					false, NOW, &f->out),
			 0);
	blank_nonces(f->out.p);
	assert_string_equal(f->out.p,
			    "WWW-Authenticate: Digest realm=\"example.com\", "
			    "nonce=\"N\", qop=\"auth\", algorithm=SHA-256\r\n");
}

static void test_auth_stats_and_names(void **state)
{
	struct fx *f = *state;
	struct auth_stats s;

	challenge(f, NOW);
	assert_int_equal(request(f, &(struct cr){0}), 0);
	assert_verdict(verify(f), AUTH_OK, AUTH_REASON_NONE);
	assert_int_equal(
	    request(f, &(struct cr){.password = "x", .nc = "00000002"}), 0);
	assert_verdict(verify(f), AUTH_FAIL, AUTH_REASON_RESPONSE);
	auth_stats_get(f->ctx, &s);
	assert_int_equal(s.challenges, 1);
	assert_int_equal(s.verdicts[AUTH_OK], 1);
	assert_int_equal(s.verdicts[AUTH_FAIL], 1);
	assert_int_equal(s.reasons[AUTH_REASON_RESPONSE], 1);
	assert_int_equal(s.digests, 2);
	assert_string_equal(auth_verdict_name(AUTH_STALE), "stale");
	assert_string_equal(auth_reason_name(AUTH_REASON_REPLAY), "replay");
	assert_string_equal(auth_verdict_name((enum auth_verdict)99), "?");
}

static void test_auth_ctx_oom(void **state)
{
	struct auth_ctx *c = NULL;
	struct auth_opts o = {.nonce_slots = 64};
	int64_t live = sb_live_get(SB_LIVE_ALLOC);
	int err = -ENOMEM;

	for (int64_t i = 0; err == -ENOMEM; i++) {
		sb_mem_fail_after(i);
		err = auth_ctx_new(&o, &c);
		sb_mem_fail_after(-1);
		if (err == -ENOMEM)
			assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live);
	}
	assert_int_equal(err, 0);
	auth_ctx_free(c);
	o.offer = 8;
	assert_int_equal(auth_ctx_new(&o, &c), -EINVAL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_auth_ok_md5),
	    T(test_auth_ok_sha256),
	    T(test_auth_ok_sess_and_no_algorithm),
	    T(test_auth_no_credentials_challenge),
	    T(test_auth_wrong_password_fails),
	    T(test_auth_unknown_user_same_as_wrong_password),
	    T(test_auth_stale_nonce),
	    T(test_auth_replayed_nc),
	    T(test_auth_without_qop_once),
	    T(test_auth_wrong_realm),
	    T(test_auth_uri_mismatch),
	    T(test_auth_bad_nonce),
	    T(test_auth_malformed),
	    T(test_auth_unsupported),
	    T(test_auth_proxy_kind),
	    T(test_auth_method_is_hashed),
	    T(test_auth_escaped_username),
	    T(test_auth_opaque),
	    T(test_auth_challenge_text),
	    T(test_auth_stats_and_names),
	    T(test_auth_ctx_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
