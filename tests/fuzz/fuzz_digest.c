/* libFuzzer target for digest credentials (sip_auth_parse + auth_verify). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/limits.h"
#include "sip/auth/auth.h"
#include "sip/auth/digest.h"
#include "sip/auth/nonce.h"
#include "sip/msg/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input is an Authorization header value. So that the fuzzer can get
 * past the nonce and response checks, "@N" is replaced by a nonce this
 * process issued and "@R" by the right response for alice (password
 * "secret") over the parameters the value ends up with.
 */
enum { NOW = 1000000, MAX_VALUE = 8192 };

static const uint8_t secret[32] = "fuzz-digest-secret-32-bytes-long";
static struct auth_ctx *ctx;
static struct auth_cred alice;
static struct sb_limits lim;

static const struct auth_cred *lookup(void *arg, struct slice user,
				      struct slice domain)
{
	(void)arg;
	if (slice_eq(user, SL("alice")) &&
	    slice_caseeq(domain, SL("example.com")))
		return &alice;
	return NULL;
}

static void init(void)
{
	struct auth_opts o = {.secret = secret, .secret_len = sizeof(secret)};

	if (ctx)
		return;
	lim = sb_limits_default();
	if (auth_ctx_new(&o, &ctx))
		abort();
	alice.user = SL("alice");
	alice.domain = SL("example.com");
	if (digest_ha1(DIGEST_ALG_MD5, SL("alice"), SL("example.com"),
		       SL("secret"), alice.ha1_md5) ||
	    digest_ha1(DIGEST_ALG_SHA256, SL("alice"), SL("example.com"),
		       SL("secret"), alice.ha1_sha256))
		abort();
}

/* Append in to out, replacing each "@<tag>" with with. */
static void substitute(struct buf *out, struct slice in, char tag,
		       struct slice with)
{
	for (size_t i = 0; i < in.len; i++) {
		if (in.p[i] == '@' && i + 1 < in.len && in.p[i + 1] == tag) {
			buf_append_slice(out, with);
			i++;
		} else {
			buf_append(out, &in.p[i], 1);
		}
	}
}

/* The right response for alice over the parameters in value, if any. */
static void right_response(struct slice value, char *out)
{
	struct digest_params p = {.method = SL("REGISTER")};
	struct sip_auth au;
	const char *ha1;

	strcpy(out, "0");
	if (!value.p)
		return;
	if (sip_auth_parse(value, &lim, &au) ||
	    digest_alg_from(au.algorithm, &p.alg))
		return;
	ha1 = digest_alg_base(p.alg) == DIGEST_ALG_MD5 ? alice.ha1_md5
						       : alice.ha1_sha256;
	p.ha1 = slice_cstr(ha1);
	p.nonce = au.nonce;
	p.cnonce = au.cnonce;
	p.nc = au.nc;
	p.qop = au.qop;
	p.uri = au.uri;
	if (digest_response(&p, out))
		strcpy(out, "0");
}

/* Every slice the parser hands out lies inside the value. */
static void check_parse(struct slice v)
{
	struct sip_auth au;
	const struct slice *fields[] = {
	    &au.scheme, &au.params,   &au.username,  &au.realm,	 &au.nonce,
	    &au.uri,	&au.response, &au.algorithm, &au.cnonce, &au.opaque,
	    &au.qop,	&au.nc,	      &au.stale,     &au.domain,
	};

	if (sip_auth_parse(v, &lim, &au))
		return;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct slice *s = fields[i];
		if (s->p && (s->p < v.p || s->p + s->len > v.p + v.len))
			abort();
	}
}

static void verify(struct sip_msg *m, enum auth_kind kind, int64_t now)
{
	struct auth_verify_opts o = {
	    .kind = kind,
	    .realm = SL("example.com"),
	    .lookup = lookup,
	    .now_s = now,
	};
	struct auth_result r;
	int err = auth_verify(ctx, m, &o, &r);

	if (err) {
		if (err != -ENOMEM)
			abort();
		return;
	}
	if ((unsigned)r.verdict >= AUTH_VERDICT__COUNT ||
	    (unsigned)r.reason >= AUTH_REASON__COUNT)
		abort();
	if ((r.verdict == AUTH_OK) != (r.cred != NULL))
		abort();
	if (r.verdict == AUTH_OK && r.cred != &alice)
		abort();
	if (r.username.p && (r.username.p < m->buf ||
			     r.username.p + r.username.len > m->buf + m->len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] =
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKf\r\n"
	    "From: <sip:alice@example.com>;tag=1\r\n"
	    "To: <sip:alice@example.com>\r\n"
	    "Call-ID: fuzz\r\n"
	    "CSeq: 1 REGISTER\r\n"
	    "Authorization: ";
	static const char tail[] = "\r\nContent-Length: 0\r\n\r\n";
	char nonce[NONCE_TEXT_LEN + 1], resp[DIGEST_HEX_BUF];
	struct buf withnonce, value, msg;
	struct sip_perr perr;
	struct sip_msg m;
	struct arena a;
	char *copy;

	if (size > MAX_VALUE)
		return 0;
	init();
	buf_init(&withnonce, 0);
	buf_init(&value, 0);
	buf_init(&msg, 0);
	if (auth_challenge(ctx, AUTH_WWW, SL("example.com"), false, NOW,
			   &msg) == 0) {
		const char *p = strstr(msg.p, "nonce=\"");
		memcpy(nonce, p + 7, NONCE_TEXT_LEN);
		nonce[NONCE_TEXT_LEN] = '\0';
	} else {
		strcpy(nonce, "x");
	}
	buf_reset(&msg);
	substitute(&withnonce, slice_make((const char *)data, size), 'N',
		   slice_cstr(nonce));
	if (buf_error(&withnonce))
		goto out;
	right_response(buf_slice(&withnonce), resp);
	substitute(&value, buf_slice(&withnonce), 'R', slice_cstr(resp));
	if (buf_error(&value))
		goto out;

	/* The value alone, in an exact-size copy. */
	copy = malloc(value.len ? value.len : 1);
	if (!copy)
		goto out;
	if (value.len)
		memcpy(copy, value.p, value.len);
	check_parse(slice_make(copy, value.len));
	free(copy);

	/* Inside a request, through the whole mechanism. */
	buf_append(&msg, head, sizeof(head) - 1);
	buf_append_slice(&msg, buf_slice(&value));
	buf_append(&msg, tail, sizeof(tail) - 1);
	if (buf_error(&msg))
		goto out;
	copy = malloc(msg.len);
	if (!copy)
		goto out;
	memcpy(copy, msg.p, msg.len);
	arena_init(&a, NULL, 0, lim.max_arena_bytes);
	if (sip_msg_parse(&m, &a, copy, msg.len, SIP_FRAMING_DATAGRAM, &lim,
			  &perr) == 0 &&
	    m.is_request) {
		verify(&m, AUTH_WWW, NOW);
		verify(&m, AUTH_WWW, NOW);	    /* replay */
		verify(&m, AUTH_WWW, NOW + 100000); /* stale */
		verify(&m, AUTH_PROXY, NOW);
	}
	arena_close(&a);
	free(copy);
out:
	buf_close(&withnonce);
	buf_close(&value);
	buf_close(&msg);
	return 0;
}
