/* Digest authentication: verify credentials against HA1s, build challenges. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/auth/auth.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/arena.h"
#include "base/mem.h"
#include "sip/auth/nonce.h"

enum { OPAQUE_BYTES = 16 };

struct auth_ctx {
	struct nonce_ctx *nonces;
	unsigned offer; /* AUTH_OFFER_* */
	bool has_opaque;
	char opaque[2 * OPAQUE_BYTES + 1];  /* hex */
	char dummy_md5[DIGEST_MD5_HEX + 1]; /* HA1 for unknown users */
	char dummy_sha256[DIGEST_SHA256_HEX + 1];
	/* Counters: atomics, relaxed; any thread. */
	_Atomic uint64_t verdicts[AUTH_VERDICT__COUNT];
	_Atomic uint64_t reasons[AUTH_REASON__COUNT];
	_Atomic uint64_t digests;
	_Atomic uint64_t challenges;
};

static const char *const verdict_names[AUTH_VERDICT__COUNT] = {
    [AUTH_OK] = "ok",
    [AUTH_CHALLENGE] = "challenge",
    [AUTH_STALE] = "stale",
    [AUTH_FAIL] = "fail",
    [AUTH_MALFORMED] = "malformed",
};

static const char *const reason_names[AUTH_REASON__COUNT] = {
    [AUTH_REASON_NONE] = "none",
    [AUTH_REASON_NO_CREDENTIALS] = "no_credentials",
    [AUTH_REASON_SYNTAX] = "syntax",
    [AUTH_REASON_UNSUPPORTED] = "unsupported",
    [AUTH_REASON_NONCE] = "nonce",
    [AUTH_REASON_URI] = "uri",
    [AUTH_REASON_RESPONSE] = "response",
    [AUTH_REASON_EXPIRED] = "expired",
    [AUTH_REASON_REPLAY] = "replay",
};

static int random_hex(char *out, size_t bytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];

	if (bytes > sizeof(raw) || RAND_bytes(raw, (int)bytes) != 1)
		return -EIO;
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * bytes] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

static bool is_hex(struct slice s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (!((c >= '0' && c <= '9') ||
		      ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')))
			return false;
	}
	return true;
}

/* nc-value = 8LHEX (RFC 2617 3.2.2); 1..8 hex digits tolerated, not 0. */
static int parse_nc(struct slice s, uint32_t *out)
{
	uint32_t v = 0;

	if (s.len == 0 || s.len > DIGEST_NC_HEX || !is_hex(s))
		return -EBADMSG;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		v = v << 4 |
		    (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	if (v == 0)
		return -EBADMSG;
	*out = v;
	return 0;
}

/*
 * The parser strips the quotes but keeps quoted-pairs (RFC 3261 25.1);
 * digests are over the unquoted text, so drop the backslashes (into the
 * message arena, only when there are any). Returns 0, -E2BIG (longer than
 * max) or -ENOMEM.
 */
static int unq(struct arena *a, struct slice in, size_t max, struct slice *out)
{
	char *d;
	size_t n = 0;

	if (in.len > max)
		return -E2BIG;
	if (!in.p || !memchr(in.p, '\\', in.len)) {
		*out = in;
		return 0;
	}
	d = arena_alloc(a, in.len ? in.len : 1);
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < in.len; i++) {
		if (in.p[i] == '\\' && i + 1 < in.len)
			i++;
		d[n++] = in.p[i];
	}
	*out = slice_make(d, n);
	return 0;
}

static uint16_t effective_port(const struct sip_uri *u)
{
	if (u->has_port)
		return u->port;
	return u->scheme == SIP_URI_SIPS ? 5061 : 5060;
}

/*
 * RFC 3261 22.4: the digest-uri is the Request-URI. Equal as text, equal
 * as URIs (19.1.4), or, tolerating clients and proxies that add or drop a
 * parameter, the same scheme, user, host and port.
 */
static bool uri_matches(const struct sip_msg *m, struct slice uri)
{
	struct sip_uri u;
	const struct sip_uri *r = &m->ruri;

	if (slice_eq(uri, m->ruri_raw))
		return true;
	if (sip_uri_parse(uri, &u, m->limits))
		return false;
	if (sip_uri_eq(&u, r))
		return true;
	if (u.scheme != r->scheme || u.scheme == SIP_URI_TEL ||
	    u.scheme == SIP_URI_OTHER)
		return false;
	return slice_eq(u.user, r->user) && slice_caseeq(u.host, r->host) &&
	       effective_port(&u) == effective_port(r);
}

static bool is_offered(const struct auth_ctx *c, enum digest_alg alg)
{
	unsigned bit = digest_alg_base(alg) == DIGEST_ALG_MD5
			   ? AUTH_OFFER_MD5
			   : AUTH_OFFER_SHA256;

	return (c->offer & bit) != 0;
}

/* The credentials for our realm, or NULL. */
static const struct sip_auth *find_realm(struct sip_msg *m,
					 const struct sip_auth *first,
					 struct slice realm, int *err)
{
	for (const struct sip_auth *au = first; au; au = au->next) {
		struct slice r;

		if (!slice_caseeq_lit(au->scheme, "Digest") || !au->realm.p)
			continue;
		*err = unq(m->arena, au->realm, AUTH_REALM_MAX, &r);
		if (*err == -E2BIG) {
			*err = 0;
			continue;
		}
		if (*err)
			return NULL;
		if (slice_caseeq(r, realm))
			return au;
	}
	return NULL;
}

/* Record and return the verdict. */
static int verdict(struct auth_ctx *c, struct auth_result *r,
		   enum auth_verdict v, enum auth_reason why)
{
	r->verdict = v;
	r->reason = why;
	atomic_fetch_add_explicit(&c->verdicts[v], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->reasons[why], 1, memory_order_relaxed);
	return 0;
}

/* The HA1 to compute with: the user's, or the dummy (unknown user). */
static struct slice pick_ha1(const struct auth_ctx *c,
			     const struct auth_cred *cred, enum digest_alg alg,
			     bool *is_known)
{
	bool is_md5 = digest_alg_base(alg) == DIGEST_ALG_MD5;
	size_t len = digest_alg_hex_len(alg);
	const char *ha1 = NULL;

	if (cred)
		ha1 = is_md5 ? cred->ha1_md5 : cred->ha1_sha256;
	*is_known = ha1 && strnlen(ha1, len + 1) == len;
	if (!*is_known)
		ha1 = is_md5 ? c->dummy_md5 : c->dummy_sha256;
	return slice_make(ha1, len);
}

/* Parameters of credentials for our realm, unquoted. */
struct creds {
	struct slice user, nonce, uri, response, cnonce, qop, nc_text;
	uint32_t nc; /* 0 without qop */
	enum digest_alg alg;
};

/*
 * Check and unquote what the computation needs. Returns 0, or the reason
 * to refuse (AUTH_REASON_SYNTAX, _UNSUPPORTED), or a negative errno.
 */
static int read_creds(struct auth_ctx *c, struct sip_msg *m,
		      const struct sip_auth *au, struct creds *k)
{
	struct arena *a = m->arena;
	int err;

	if (!au->username.p || !au->nonce.p || !au->uri.p || !au->response.p)
		return AUTH_REASON_SYNTAX;
	err = unq(a, au->username, AUTH_USER_MAX, &k->user);
	if (!err)
		err = unq(a, au->nonce, SIZE_MAX, &k->nonce);
	if (!err)
		err = unq(a, au->uri, SIZE_MAX, &k->uri);
	if (!err)
		err = unq(a, au->cnonce, SIZE_MAX, &k->cnonce);
	if (err == -E2BIG)
		return AUTH_REASON_SYNTAX;
	if (err)
		return err;
	if (digest_alg_from(au->algorithm, &k->alg) || !is_offered(c, k->alg))
		return AUTH_REASON_UNSUPPORTED;
	k->qop = au->qop;
	k->nc = 0;
	if (k->qop.p) {
		/* RFC 7616 3.4: qop is a single token here, like nc */
		if (!slice_caseeq_lit(k->qop, "auth"))
			return AUTH_REASON_UNSUPPORTED;
		if (!k->cnonce.p || parse_nc(au->nc, &k->nc))
			return AUTH_REASON_SYNTAX;
		k->nc_text = au->nc;
	} else if (digest_alg_is_sess(k->alg) && !k->cnonce.p) {
		return AUTH_REASON_SYNTAX;
	}
	k->response = au->response;
	if (k->response.len != digest_alg_hex_len(k->alg) ||
	    !is_hex(k->response))
		return AUTH_REASON_SYNTAX;
	return 0;
}

static bool is_printable(struct slice s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		if (ch < 0x20 || ch > 0x7e)
			return false;
	}
	return true;
}

/* A realm goes out as a quoted-string, '"' and '\' escaped. */
static void append_quoted(struct buf *out, struct slice s)
{
	size_t from = 0;

	buf_append(out, "\"", 1);
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '"' || s.p[i] == '\\') {
			buf_append(out, s.p + from, i - from);
			buf_append(out, "\\", 1);
			from = i;
		}
	}
	buf_append(out, s.p + from, s.len - from);
	buf_append(out, "\"", 1);
}

struct auth_ctx *auth_ctx_free(struct auth_ctx *c)
{
	if (!c)
		return NULL;
	nonce_ctx_free(c->nonces);
	OPENSSL_cleanse(c, sizeof(*c));
	sb_free(c);
	sb_live_dec(SB_LIVE_AUTH);
	return NULL;
}

int auth_ctx_new(const struct auth_opts *o, struct auth_ctx **out)
{
	static const struct auth_opts defaults;
	struct nonce_opts no;
	struct auth_ctx *c;
	int err;

	if (!o)
		o = &defaults;
	if (o->offer & ~(unsigned)(AUTH_OFFER_MD5 | AUTH_OFFER_SHA256))
		return -EINVAL;
	no = (struct nonce_opts){
	    .lifetime_s = o->nonce_lifetime_s,
	    .slots = o->nonce_slots,
	    .secret = o->secret,
	    .secret_len = o->secret_len,
	};
	c = sb_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	sb_live_inc(SB_LIVE_AUTH);
	c->offer = o->offer ? o->offer : AUTH_OFFER_MD5 | AUTH_OFFER_SHA256;
	c->has_opaque = o->has_opaque;
	err = nonce_ctx_new(&no, &c->nonces);
	if (!err)
		err = random_hex(c->opaque, OPAQUE_BYTES);
	if (!err)
		err = random_hex(c->dummy_md5, DIGEST_MD5_HEX / 2);
	if (!err)
		err = random_hex(c->dummy_sha256, DIGEST_SHA256_HEX / 2);
	if (err) {
		auth_ctx_free(c);
		return err;
	}
	*out = c;
	return 0;
}

int auth_verify(struct auth_ctx *c, struct sip_msg *m,
		const struct auth_verify_opts *o, struct auth_result *r)
{
	enum sip_hdr_id id = o->kind == AUTH_PROXY ? SIP_HDR_PROXY_AUTHORIZATION
						   : SIP_HDR_AUTHORIZATION;
	const struct sip_auth *first = NULL, *au;
	const struct auth_cred *cred;
	char want[DIGEST_HEX_BUF];
	struct auth_result res = {0};
	struct digest_params dp;
	enum nonce_status ns;
	struct creds k = {0};
	uint32_t index = 0;
	bool is_stale, is_known, is_right;
	int err;

	if (!o->lookup || !o->realm.p || !m->is_request)
		return -EINVAL;
	err = sip_msg_auth(m, id, &first);
	if (err == -ENOENT) {
		verdict(c, &res, AUTH_CHALLENGE, AUTH_REASON_NO_CREDENTIALS);
		goto out;
	}
	if (err == -ENOMEM)
		return err;
	if (err) {
		verdict(c, &res, AUTH_MALFORMED, AUTH_REASON_SYNTAX);
		goto out;
	}
	au = find_realm(m, first, o->realm, &err);
	if (err)
		return err;
	if (!au) {
		verdict(c, &res, AUTH_CHALLENGE, AUTH_REASON_NO_CREDENTIALS);
		goto out;
	}
	err = read_creds(c, m, au, &k);
	if (err < 0)
		return err;
	res.username = au->username;
	res.alg = k.alg;
	if (err == AUTH_REASON_SYNTAX) {
		verdict(c, &res, AUTH_MALFORMED, AUTH_REASON_SYNTAX);
		goto out;
	}
	if (err) {
		verdict(c, &res, AUTH_FAIL, (enum auth_reason)err);
		goto out;
	}
	if (c->has_opaque && !slice_eq(au->opaque, slice_cstr(c->opaque))) {
		verdict(c, &res, AUTH_FAIL, AUTH_REASON_NONCE);
		goto out;
	}
	ns = nonce_check(c->nonces, k.nonce, o->realm, o->now_s, &index);
	if (ns == NONCE_BAD) {
		verdict(c, &res, AUTH_FAIL, AUTH_REASON_NONCE);
		goto out;
	}
	is_stale = ns == NONCE_STALE;
	if (!o->skip_uri_check && !uri_matches(m, k.uri)) {
		verdict(c, &res, AUTH_FAIL, AUTH_REASON_URI);
		goto out;
	}
	/* From here known and unknown users do the same work. */
	cred = o->lookup(o->lookup_arg, k.user,
			 o->domain.p ? o->domain : o->realm);
	dp = (struct digest_params){
	    .alg = k.alg,
	    .ha1 = pick_ha1(c, cred, k.alg, &is_known),
	    .nonce = k.nonce,
	    .cnonce = k.cnonce,
	    .nc = k.nc_text,
	    .qop = k.qop,
	    .method = m->method_name,
	    .uri = k.uri,
	};
	err = digest_response(&dp, want);
	atomic_fetch_add_explicit(&c->digests, 1, memory_order_relaxed);
	if (err)
		return err == -ENOMEM ? err : -EIO;
	is_right = digest_hex_eq(k.response, slice_make(want, dp.ha1.len));
	OPENSSL_cleanse(want, sizeof(want));
	if (!(is_right & is_known)) {
		verdict(c, &res, AUTH_FAIL, AUTH_REASON_RESPONSE);
		goto out;
	}
	if (is_stale) {
		verdict(c, &res, AUTH_STALE, AUTH_REASON_EXPIRED);
		goto out;
	}
	/* RFC 7616 3.3: a count is spent only by a proven request. */
	ns = nonce_nc_accept(c->nonces, index, k.nc);
	if (ns == NONCE_REPLAY) {
		verdict(c, &res, AUTH_STALE, AUTH_REASON_REPLAY);
		goto out;
	}
	if (ns != NONCE_OK) {
		verdict(c, &res, AUTH_STALE, AUTH_REASON_EXPIRED);
		goto out;
	}
	res.cred = cred;
	verdict(c, &res, AUTH_OK, AUTH_REASON_NONE);
out:
	*r = res;
	return 0;
}

int auth_challenge(struct auth_ctx *c, enum auth_kind kind, struct slice realm,
		   bool is_stale, int64_t now_s, struct buf *out)
{
	static const enum digest_alg order[] = {DIGEST_ALG_MD5,
						DIGEST_ALG_SHA256};
	const char *name =
	    kind == AUTH_PROXY ? "Proxy-Authenticate" : "WWW-Authenticate";
	char nonce[NONCE_TEXT_LEN + 1];
	size_t start = out->len;
	int err;

	if (!realm.p || realm.len > AUTH_REALM_MAX || !is_printable(realm))
		return -EINVAL;
	if (buf_error(out))
		return buf_error(out);
	err = nonce_issue(c->nonces, realm, now_s, nonce);
	if (err)
		return err;
	atomic_fetch_add_explicit(&c->challenges, 1, memory_order_relaxed);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!is_offered(c, order[i]))
			continue;
		buf_append_str(out, name);
		buf_append_str(out, ": Digest realm=");
		append_quoted(out, realm);
		buf_append_str(out, ", nonce=\"");
		buf_append(out, nonce, NONCE_TEXT_LEN);
		if (c->has_opaque) {
			buf_append_str(out, "\", opaque=\"");
			buf_append_str(out, c->opaque);
		}
		buf_append_str(out, "\", qop=\"auth\", algorithm=");
		buf_append_slice(out, digest_alg_name(order[i]));
		if (is_stale)
			buf_append_str(out, ", stale=true");
		buf_append(out, "\r\n", 2);
	}
	err = buf_error(out);
	if (err && out->len > start) {
		out->len = start;
		out->p[start] = '\0';
	}
	return err;
}

void auth_stats_get(const struct auth_ctx *c, struct auth_stats *out)
{
	struct auth_ctx *w = (struct auth_ctx *)c;

	for (int i = 0; i < AUTH_VERDICT__COUNT; i++)
		out->verdicts[i] =
		    atomic_load_explicit(&w->verdicts[i], memory_order_relaxed);
	for (int i = 0; i < AUTH_REASON__COUNT; i++)
		out->reasons[i] =
		    atomic_load_explicit(&w->reasons[i], memory_order_relaxed);
	out->digests = atomic_load_explicit(&w->digests, memory_order_relaxed);
	out->challenges =
	    atomic_load_explicit(&w->challenges, memory_order_relaxed);
}

const char *auth_verdict_name(enum auth_verdict v)
{
	return (unsigned)v < AUTH_VERDICT__COUNT ? verdict_names[v] : "?";
}

const char *auth_reason_name(enum auth_reason r)
{
	return (unsigned)r < AUTH_REASON__COUNT ? reason_names[r] : "?";
}
