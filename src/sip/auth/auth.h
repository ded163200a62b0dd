/* Digest authentication of SIP requests: verify credentials, build challenges.
 */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_AUTH_AUTH_H
#define SB_SIP_AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "sip/auth/digest.h"
#include "sip/msg/msg.h"

/*
 * Mechanism, no policy (RFC 3261 22, RFC 7616, RFC 8760): which requests
 * need credentials, which realm a domain has, what to answer and whether a
 * failure counts toward a ban are the caller's decisions. A typical caller
 * (registrar: AUTH_WWW, 401; proxy: AUTH_PROXY, 407), once ban_check()
 * let the source in:
 *
 *	struct users *snap = users_current();
 *	struct auth_verify_opts vo = {
 *	    .kind = AUTH_WWW, .realm = realm, .now_s = now,
 *	    .lookup = users_auth_lookup, .lookup_arg = snap};
 *	err = auth_verify(ctx, msg, &vo, &r);     (err: answer 500)
 *	switch (r.verdict) {
 *	case AUTH_OK:        ban_success(src, r.username); go on as
 *	                     users_entry_of(r.cred), valid while snap is held
 *	case AUTH_CHALLENGE: 401, extra = auth_challenge(ctx, AUTH_WWW, realm,
 *	                     false, now, &extra)
 *	case AUTH_STALE:     401, extra = auth_challenge(..., true, ...)
 *	case AUTH_FAIL:      401, extra = auth_challenge(..., false, ...), and
 *	                     if auth_result_is_guess(&r) and
 *	                     ban_fail(ban, src, r.username, now): 403 or drop
 *	case AUTH_MALFORMED: 400
 *	}
 *	users_unref(snap);
 *
 * The realm given to auth_verify() must be the one the nonce was issued
 * for by auth_challenge() (it is under the nonce's MAC), byte for byte.
 *
 * An unknown user and a wrong password give the same verdict and reason
 * (AUTH_FAIL, AUTH_REASON_RESPONSE) after the same work, so answering by
 * verdict and reason never tells them apart (no user enumeration).
 *
 * Threads: one context serves all workers. auth_verify(), auth_challenge()
 * and auth_stats_get() may run on any thread at the same time (lock-free:
 * the nonce-count table is atomic). auth_ctx_new() and auth_ctx_free() run
 * at start-up and exit, when no other call runs.
 */
struct auth_ctx;

/* Which pair of headers: origin server (401) or proxy (407). */
enum auth_kind {
	AUTH_WWW,  /* Authorization / WWW-Authenticate, 401 */
	AUTH_PROXY /* Proxy-Authorization / Proxy-Authenticate, 407 */
};

enum auth_verdict {
	AUTH_OK,	/* credentials valid: r.cred is the user */
	AUTH_CHALLENGE, /* no credentials for this realm: challenge */
	AUTH_STALE,	/* valid but the nonce is old or spent: stale=true */
	AUTH_FAIL,	/* wrong response, unknown user, bad nonce, ... */
	AUTH_MALFORMED, /* credentials for this realm that do not parse: 400 */
	AUTH_VERDICT__COUNT
};

/* Why: for logs and metrics, and for deciding what counts as a guess. */
enum auth_reason {
	AUTH_REASON_NONE,	    /* AUTH_OK */
	AUTH_REASON_NO_CREDENTIALS, /* CHALLENGE: none (for our realm) */
	AUTH_REASON_SYNTAX,	    /* MALFORMED: missing or bad parameter */
	AUTH_REASON_UNSUPPORTED,    /* FAIL: algorithm or qop not offered */
	AUTH_REASON_NONCE,	    /* FAIL: nonce (or opaque) not ours */
	AUTH_REASON_URI,	    /* FAIL: uri is not the Request-URI */
	AUTH_REASON_RESPONSE,	    /* FAIL: wrong password or unknown user */
	AUTH_REASON_EXPIRED,	    /* STALE: nonce too old or slot reused */
	AUTH_REASON_REPLAY,	    /* STALE: nonce-count already used */
	AUTH_REASON__COUNT
};

/* Algorithms offered in challenges (and accepted, with their -sess). */
enum {
	AUTH_OFFER_MD5 = 1 << 0,
	AUTH_OFFER_SHA256 = 1 << 1,
	AUTH_USER_MAX = 256, /* bytes of a username after unquoting */
	AUTH_REALM_MAX = 256 /* bytes of a realm */
};

/*
 * A subscriber's credentials as the lookup returns them: HA1 per base
 * algorithm, over (user, realm); an empty string means "no HA1 for this
 * algorithm", which verifies like an unknown user. The owner (the users
 * snapshot) embeds it and keeps it alive at least for the verification.
 */
struct auth_cred {
	struct slice user;			/* as stored */
	struct slice domain;			/* as stored */
	char ha1_md5[DIGEST_MD5_HEX + 1];	/* hex, or "" */
	char ha1_sha256[DIGEST_SHA256_HEX + 1]; /* hex, or "" */
};

/*
 * Find a user's credentials; NULL for an unknown user. user is the
 * username after unquoting, domain as given in auth_verify_opts. Called at
 * most once per auth_verify(), on the caller's thread, before it returns.
 */
typedef const struct auth_cred *(*auth_lookup_cb)(void *arg, struct slice user,
						  struct slice domain);

struct auth_opts {
	uint32_t nonce_lifetime_s; /* 0: NONCE_LIFETIME_DEFAULT_S (300) */
	uint32_t nonce_slots;	   /* power of two; 0: NONCE_SLOTS_DEFAULT */
	unsigned offer;		   /* AUTH_OFFER_* bits; 0: MD5 and SHA-256 */
	bool has_opaque;	   /* send an opaque and require it back */
	const uint8_t *secret;	   /* nonce key shared by nodes; NULL: random */
	size_t secret_len;	   /* NONCE_SECRET_MIN..NONCE_SECRET_MAX */
};

struct auth_verify_opts {
	enum auth_kind kind;
	struct slice realm;    /* ours; credentials for other realms ignored */
	struct slice domain;   /* passed to lookup; unset (.p NULL): realm */
	auth_lookup_cb lookup; /* required */
	void *lookup_arg;
	int64_t now_s;	     /* the clock given to auth_challenge() */
	bool skip_uri_check; /* behind a proxy that rewrites the R-URI */
};

struct auth_result {
	enum auth_verdict verdict;
	enum auth_reason reason;
	const struct auth_cred *cred; /* AUTH_OK only: lookup's result */
	struct slice username; /* as sent, unquoted (escapes kept), into m;
				  set once credentials for our realm parse */
	enum digest_alg alg;   /* algorithm of the credentials used */
};

/* Counters since the context was made; read with relaxed loads. */
struct auth_stats {
	uint64_t verdicts[AUTH_VERDICT__COUNT];
	uint64_t reasons[AUTH_REASON__COUNT];
	uint64_t digests;    /* request-digests computed */
	uint64_t challenges; /* nonces issued */
};

/*
 * Create a context: nonce key and replay table, dummy HA1s for unknown
 * users, the opaque. o may be NULL for defaults. Returns 0 and sets *out,
 * -EINVAL (bad option), -ENOMEM or -EIO (OpenSSL: no HMAC, MD5/SHA-256 or
 * random bytes).
 */
int auth_ctx_new(const struct auth_opts *o, struct auth_ctx **out);
/* Free the context; returns NULL. Accepts NULL. */
struct auth_ctx *auth_ctx_free(struct auth_ctx *c);

/*
 * Verify the request's credentials (Authorization for AUTH_WWW,
 * Proxy-Authorization for AUTH_PROXY) for o->realm. Picks the first Digest
 * credentials whose realm is ours (case-insensitive); others are ignored
 * (RFC 3261 22.3: credentials for other proxies). Then, in this order:
 * parameters present and well-formed (else MALFORMED), algorithm and qop
 * offered (else FAIL/UNSUPPORTED), opaque and nonce ours (else FAIL/NONCE),
 * uri equal to the Request-URI as a URI or as text (RFC 3261 22.4; else
 * FAIL/URI), then the response computed against the user's HA1, or against
 * a dummy HA1 when the user is unknown (FAIL/RESPONSE either way). A right
 * response with an expired nonce is STALE/EXPIRED; a nonce-count is spent
 * only after the response proved right (so forged requests cannot burn a
 * phone's counts), and a replayed one is STALE/REPLAY.
 *
 * m is the caller's parsed request (its Authorization headers are parsed
 * and cached in m's arena; single-threaded per message). Slices in *r point
 * into m; r->cred into the lookup's storage. Returns 0 with *r filled, or
 * -EINVAL (no lookup or realm, m not a request), -ENOMEM or -EIO (OpenSSL):
 * then *r is untouched and the caller answers 500.
 */
int auth_verify(struct auth_ctx *c, struct sip_msg *m,
		const struct auth_verify_opts *o, struct auth_result *r);

/* The verdicts where a password was tried and was wrong (or unknown). */
static inline bool auth_result_is_guess(const struct auth_result *r)
{
	return r->verdict == AUTH_FAIL && r->reason == AUTH_REASON_RESPONSE;
}

/*
 * Append challenge header lines for realm to out, each ending in CRLF, for
 * sip_reply_opts.extra: WWW-Authenticate (AUTH_WWW, for a 401) or
 * Proxy-Authenticate (AUTH_PROXY, for a 407), one per offered algorithm,
 * MD5 first then SHA-256 (RFC 8760 3: MD5 first for the clients that stop
 * at the first; RFC 7616 3.7: in order of preference), all with one fresh
 * nonce, qop="auth", the opaque when enabled and stale=true when asked:
 *
 *	WWW-Authenticate: Digest realm="example.com", nonce="...",
 *	 qop="auth", algorithm=MD5\r\n          (one line on the wire)
 *
 * Returns 0, -EINVAL (realm longer than AUTH_REALM_MAX or not printable),
 * a buf error (-ENOMEM, -E2BIG) or -EIO; on error out keeps its old length.
 */
int auth_challenge(struct auth_ctx *c, enum auth_kind kind, struct slice realm,
		   bool is_stale, int64_t now_s, struct buf *out);

/* 401 for AUTH_WWW, 407 for AUTH_PROXY. */
static inline uint16_t auth_kind_status(enum auth_kind kind)
{
	return kind == AUTH_PROXY ? 407 : 401;
}

void auth_stats_get(const struct auth_ctx *c, struct auth_stats *out);

/* Names for logs: "ok", "challenge" ...; "response", "replay" ... */
const char *auth_verdict_name(enum auth_verdict v);
const char *auth_reason_name(enum auth_reason r);

#endif
