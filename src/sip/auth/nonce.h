/* Stateless digest nonces with a shared nonce-count replay table. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_AUTH_NONCE_H
#define SB_SIP_AUTH_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

/*
 * A nonce is base64url (no padding) of timestamp_s (8 bytes), an index
 * (4 bytes) and HMAC-SHA256(secret, timestamp || index || realm) cut to
 * 16 bytes: 38 characters. Checking one needs no per-nonce state, only the
 * secret, which is random per process start unless the caller gives one
 * (several nodes sharing a secret accept each other's nonces).
 *
 * Replay protection (RFC 7616 3.3, nonce-count): a table of `slots` 64-bit
 * words, slot = index mod slots, each holding (index << 32 | highest nc
 * accepted). Issuing a nonce resets its slot; accepting a count is a
 * compare-exchange, so any number of threads may race on one nonce (phones
 * reuse a nonce across Call-IDs, hence across workers) and each count is
 * accepted at most once. A nonce whose slot was taken over by a newer index
 * can no longer be tracked and counts as stale.
 *
 * Threads: nonce_issue(), nonce_check() and nonce_nc_accept() may be called
 * from any thread at the same time, lock-free. nonce_ctx_new() and
 * nonce_ctx_free() are for start-up and exit, when no other call runs.
 */
struct nonce_ctx;

enum {
	NONCE_TEXT_LEN = 38,		/* characters of a nonce */
	NONCE_LIFETIME_DEFAULT_S = 300, /* seconds until a nonce is stale */
	NONCE_SLOTS_DEFAULT = 1 << 20,	/* replay table entries (8 MiB) */
	NONCE_SECRET_MIN = 16,		/* bytes of a caller-given secret */
	NONCE_SECRET_MAX = 64
};

enum nonce_status {
	NONCE_OK,
	NONCE_STALE,  /* authentic but expired, or its slot was reused */
	NONCE_BAD,    /* not ours: forged, garbled, other realm or secret */
	NONCE_REPLAY, /* nonce-count not above the highest accepted */
};

struct nonce_opts {
	uint32_t lifetime_s;   /* 0: NONCE_LIFETIME_DEFAULT_S */
	uint32_t slots;	       /* power of two; 0: NONCE_SLOTS_DEFAULT */
	const uint8_t *secret; /* NULL: NONCE_SECRET_MAX random bytes */
	size_t secret_len;     /* NONCE_SECRET_MIN..NONCE_SECRET_MAX */
};

/*
 * Create a context (secret, HMAC key schedule, replay table). o may be
 * NULL for defaults. Returns 0 and sets *out, -EINVAL (slots not a power
 * of two, secret length out of range), -ENOMEM, or -EIO (OpenSSL could
 * not provide HMAC-SHA256 or random bytes).
 */
int nonce_ctx_new(const struct nonce_opts *o, struct nonce_ctx **out);
/* Free the context; returns NULL. Accepts NULL. */
struct nonce_ctx *nonce_ctx_free(struct nonce_ctx *n);

/*
 * Mint a nonce for realm at now_s into out (NONCE_TEXT_LEN + 1 bytes,
 * NUL-terminated) and reset its replay slot. now_s is any clock in seconds
 * that nonce_check() is later given too (monotonic is best: the secret does
 * not survive a restart anyway). Returns 0, -ENOMEM or -EIO.
 */
int nonce_issue(struct nonce_ctx *n, struct slice realm, int64_t now_s,
		char *out);

/*
 * Check that nonce was issued by this context for realm and is younger
 * than the lifetime at now_s (one lifetime of clock skew backwards is
 * tolerated). Returns NONCE_OK or NONCE_STALE (authentic; *index set) or
 * NONCE_BAD. Reads no shared state but the key: no replay check here, so
 * callers check the response before spending a count.
 */
enum nonce_status nonce_check(struct nonce_ctx *n, struct slice nonce,
			      struct slice realm, int64_t now_s,
			      uint32_t *index);

/*
 * Spend nonce-count nc (>= 1) of the nonce with index, which nonce_check()
 * found authentic. nc 0 means a request without qop (RFC 2069 form): it may
 * use a nonce only once, and no count after it. Returns NONCE_OK (nc is now
 * the highest), NONCE_REPLAY (nc not above the highest accepted, or the
 * nonce was already used once without qop) or NONCE_STALE (the slot belongs
 * to a newer nonce).
 */
enum nonce_status nonce_nc_accept(struct nonce_ctx *n, uint32_t index,
				  uint32_t nc);

/* Lifetime in seconds the context was made with. */
uint32_t nonce_lifetime_s(const struct nonce_ctx *n);

#endif
