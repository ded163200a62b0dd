/* HTTP digest computations for SIP (RFC 2617, RFC 7616, RFC 3261 22). */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_AUTH_DIGEST_H
#define SB_SIP_AUTH_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"

/*
 * Pure functions over slices: no state, no allocation that outlives a call,
 * safe from any thread. Hashes come from OpenSSL 3 (EVP); the algorithm
 * implementations are fetched once per process, on first use. Every hex
 * string produced here is lower case and NUL-terminated.
 */

enum digest_alg {
	DIGEST_ALG_MD5,		/* RFC 2617; the default when absent */
	DIGEST_ALG_MD5_SESS,	/* RFC 2617 3.2.2.2 */
	DIGEST_ALG_SHA256,	/* RFC 7616 */
	DIGEST_ALG_SHA256_SESS, /* RFC 7616 3.4.2 */
	DIGEST_ALG__COUNT
};

enum {
	DIGEST_MD5_HEX = 32,	/* hex chars of an MD5 value */
	DIGEST_SHA256_HEX = 64, /* hex chars of a SHA-256 value */
	DIGEST_HEX_MAX = 64,	/* the longest of them */
	DIGEST_HEX_BUF = 65,	/* a hex value with its NUL */
	DIGEST_NC_HEX = 8	/* nonce-count: 8LHEX (RFC 2617 3.2.2) */
};

/* What the response is computed from (RFC 7616 3.4.1). */
struct digest_params {
	enum digest_alg alg;
	struct slice ha1;    /* H(user:realm:password) in hex, as stored;
				for -sess the session key is derived here */
	struct slice nonce;  /* server nonce, unquoted */
	struct slice cnonce; /* client nonce; needed with qop and -sess */
	struct slice nc;     /* nonce-count as sent (8 hex); with qop */
	struct slice qop;    /* "auth", or unset (.p NULL): RFC 2069 form */
	struct slice method; /* request method, e.g. "REGISTER" */
	struct slice uri;    /* digest-uri as sent in the credentials */
};

/*
 * Algorithm by name, case-insensitive ("MD5", "MD5-sess", "SHA-256",
 * "SHA-256-sess"). An absent name (.p NULL) means MD5 (RFC 2617 3.2.1).
 * Returns 0 and sets *out, or -ENOTSUP for any other name (SHA-512-256
 * and unknown tokens). *out is untouched on error.
 */
int digest_alg_from(struct slice name, enum digest_alg *out);

/* Canonical name for the algorithm= parameter ("SHA-256-sess"). */
struct slice digest_alg_name(enum digest_alg alg);

/* Hex length of the algorithm's values: 32 (MD5) or 64 (SHA-256). */
size_t digest_alg_hex_len(enum digest_alg alg);

/* The algorithm without -sess: the one the stored HA1 is computed with. */
enum digest_alg digest_alg_base(enum digest_alg alg);

static inline bool digest_alg_is_sess(enum digest_alg alg)
{
	return alg == DIGEST_ALG_MD5_SESS || alg == DIGEST_ALG_SHA256_SESS;
}

/*
 * HA1 = H(user ":" realm ":" password) in hex into out (DIGEST_HEX_BUF
 * bytes), with the base hash of alg (-sess is applied per request, by
 * digest_response). This is what the store keeps instead of passwords.
 * Returns 0, or -ENOTSUP when OpenSSL does not provide the hash (MD5 in a
 * FIPS-only configuration), or -ENOMEM.
 */
int digest_ha1(enum digest_alg alg, struct slice user, struct slice realm,
	       struct slice password, char *out);

/*
 * HA2 = H(method ":" uri) in hex into out (DIGEST_HEX_BUF bytes): the
 * value for qop=auth and for the RFC 2069 form without qop. Returns as
 * digest_ha1().
 */
int digest_ha2(enum digest_alg alg, struct slice method, struct slice uri,
	       char *out);

/*
 * The expected request-digest in hex into out (DIGEST_HEX_BUF bytes):
 *   with qop:    H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
 *   without qop: H(HA1 ":" nonce ":" HA2)                    (RFC 2069)
 * where for -sess HA1 is H(stored HA1 ":" nonce ":" cnonce). Returns 0,
 * -EINVAL (p->ha1 is not of the algorithm's hex length, or qop/-sess
 * without cnonce), or as digest_ha1().
 */
int digest_response(const struct digest_params *p, char *out);

/*
 * Compare a received hex value with the expected one in time that depends
 * only on the lengths (which are public: fixed per algorithm). Hex letters
 * compare case-insensitively; anything else must match exactly.
 */
bool digest_hex_eq(struct slice got, struct slice want);

#endif
