/* Stateless nonces: HMAC over timestamp, index and realm; nc replay table. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/auth/nonce.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/mem.h"

enum {
	RAW_TS = 8,				/* timestamp, big-endian */
	RAW_INDEX = 4,				/* index, big-endian */
	RAW_MAC = 16,				/* truncated HMAC-SHA256 */
	RAW_LEN = RAW_TS + RAW_INDEX + RAW_MAC, /* 28 bytes */
	MAC_FULL = 32,				/* HMAC-SHA256 output */
	NC_ONCE = 0xffffffffu			/* used once without qop */
};

/* A keyed HMAC context to reuse: a dup of the template costs a dozen
 * mallocs, a re-init with the kept key only a digest state copy. */
struct mac_slot {
	struct mac_slot *next;
	EVP_MAC_CTX *c;
};

struct nonce_ctx {
	EVP_MAC *mac;		 /* HMAC, fetched once */
	EVP_MAC_CTX *key;	 /* keyed template, duplicated per use */
	pthread_mutex_t lock;	 /* guards idle */
	struct mac_slot *idle;	 /* reusable: one per concurrent signer */
	_Atomic uint32_t next;	 /* next index to issue */
	_Atomic uint64_t *slots; /* index << 32 | highest nc; lock-free */
	uint32_t mask;		 /* slots - 1 */
	uint32_t lifetime_s;
};

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	if (len - i == 1) {
		out[o++] = b64url[in[i] >> 2];
		out[o++] = b64url[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = b64url[v >> 10];
		out[o++] = b64url[(v >> 4) & 63];
		out[o++] = b64url[(v & 15) << 2];
	}
	out[o] = '\0';
}

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decode exactly NONCE_TEXT_LEN characters into RAW_LEN bytes. The spare
 * bits of the last character must be zero, so that every nonce has one
 * spelling and a changed character always changes the bytes.
 */
static int b64url_decode(struct slice s, uint8_t *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	if (s.len != NONCE_TEXT_LEN)
		return -EINVAL;
	for (size_t i = 0; i < s.len; i++) {
		int v = b64url_value((unsigned char)s.p[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return o == RAW_LEN && acc == 0 ? 0 : -EINVAL;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static struct mac_slot *slot_free(struct mac_slot *m)
{
	if (m) {
		EVP_MAC_CTX_free(m->c);
		sb_free(m);
	}
	return NULL;
}

/* An idle context re-initialised with the key, else a new dup. */
static struct mac_slot *slot_get(struct nonce_ctx *n)
{
	struct mac_slot *m;

	pthread_mutex_lock(&n->lock);
	m = n->idle;
	if (m)
		n->idle = m->next;
	pthread_mutex_unlock(&n->lock);
	if (m) /* a NULL key keeps the key (HMAC) */
		return EVP_MAC_init(m->c, NULL, 0, NULL) ? m : slot_free(m);
	if (!(m = sb_malloc(sizeof(*m))))
		return NULL;
	if (!(m->c = EVP_MAC_CTX_dup(n->key))) {
		sb_free(m);
		return NULL;
	}
	return m;
}

static void slot_put(struct nonce_ctx *n, struct mac_slot *m)
{
	pthread_mutex_lock(&n->lock);
	m->next = n->idle;
	n->idle = m;
	pthread_mutex_unlock(&n->lock);
}

/* HMAC-SHA256(secret, ts || index || realm) into mac (MAC_FULL bytes). */
static int sign(struct nonce_ctx *n, const uint8_t *head, struct slice realm,
		uint8_t *mac)
{
	struct mac_slot *m = slot_get(n);
	size_t len = 0;
	int ok;

	if (!m)
		return -ENOMEM;
	ok = EVP_MAC_update(m->c, head, RAW_TS + RAW_INDEX) &&
	     (!realm.len || EVP_MAC_update(m->c, (const unsigned char *)realm.p,
					   realm.len)) &&
	     EVP_MAC_final(m->c, mac, &len, MAC_FULL) && len == MAC_FULL;
	if (ok)
		slot_put(n, m);
	else
		slot_free(m);
	return ok ? 0 : -EIO;
}

static uint64_t slot_word(uint32_t index, uint32_t nc)
{
	return (uint64_t)index << 32 | nc;
}

struct nonce_ctx *nonce_ctx_free(struct nonce_ctx *n)
{
	if (!n)
		return NULL;
	while (n->idle) {
		struct mac_slot *m = n->idle;

		n->idle = m->next;
		slot_free(m);
	}
	pthread_mutex_destroy(&n->lock);
	EVP_MAC_CTX_free(n->key);
	EVP_MAC_free(n->mac);
	sb_free((void *)n->slots);
	sb_free(n);
	sb_live_dec(SB_LIVE_AUTH);
	return NULL;
}

int nonce_ctx_new(const struct nonce_opts *o, struct nonce_ctx **out)
{
	static const struct nonce_opts defaults;
	uint8_t rnd[NONCE_SECRET_MAX];
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	const uint8_t *secret;
	size_t secret_len;
	uint32_t slots;
	struct nonce_ctx *n;
	int err = 0;

	if (!o)
		o = &defaults;
	slots = o->slots ? o->slots : NONCE_SLOTS_DEFAULT;
	if (slots & (slots - 1))
		return -EINVAL;
	if (o->secret && (o->secret_len < NONCE_SECRET_MIN ||
			  o->secret_len > NONCE_SECRET_MAX))
		return -EINVAL;
	secret = o->secret;
	secret_len = o->secret_len;
	if (!secret) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -EIO;
		secret = rnd;
		secret_len = sizeof(rnd);
	}
	n = sb_calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	sb_live_inc(SB_LIVE_AUTH);
	pthread_mutex_init(&n->lock, NULL);
	n->mask = slots - 1;
	n->lifetime_s =
	    o->lifetime_s ? o->lifetime_s : NONCE_LIFETIME_DEFAULT_S;
	atomic_init(&n->next, 0);
	n->slots = sb_calloc(slots, sizeof(*n->slots));
	if (!n->slots) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < slots; i++)
		atomic_init(&n->slots[i], 0);
	n->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	n->key = n->mac ? EVP_MAC_CTX_new(n->mac) : NULL;
	if (!n->key || !EVP_MAC_init(n->key, secret, secret_len, params))
		err = -EIO;
out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (err) {
		nonce_ctx_free(n);
		return err;
	}
	*out = n;
	return 0;
}

int nonce_issue(struct nonce_ctx *n, struct slice realm, int64_t now_s,
		char *out)
{
	uint8_t raw[RAW_LEN], mac[MAC_FULL];
	uint32_t index =
	    atomic_fetch_add_explicit(&n->next, 1, memory_order_relaxed);
	int err;

	put_be(raw, (uint64_t)now_s, RAW_TS);
	put_be(raw + RAW_TS, index, RAW_INDEX);
	err = sign(n, raw, realm, mac);
	if (err)
		return err;
	memcpy(raw + RAW_TS + RAW_INDEX, mac, RAW_MAC);
	atomic_store_explicit(&n->slots[index & n->mask], slot_word(index, 0),
			      memory_order_release);
	b64url_encode(raw, RAW_LEN, out);
	return 0;
}

enum nonce_status nonce_check(struct nonce_ctx *n, struct slice nonce,
			      struct slice realm, int64_t now_s,
			      uint32_t *index)
{
	uint8_t raw[RAW_LEN], mac[MAC_FULL];
	unsigned char diff = 0;
	int64_t age;

	if (!nonce.p || b64url_decode(nonce, raw))
		return NONCE_BAD;
	if (sign(n, raw, realm, mac))
		return NONCE_BAD;
	for (size_t i = 0; i < RAW_MAC; i++)
		diff |= mac[i] ^ raw[RAW_TS + RAW_INDEX + i];
	if (diff)
		return NONCE_BAD;
	*index = (uint32_t)get_be(raw + RAW_TS, RAW_INDEX);
	age = now_s - (int64_t)get_be(raw, RAW_TS);
	if (age > (int64_t)n->lifetime_s || age < -(int64_t)n->lifetime_s)
		return NONCE_STALE;
	return NONCE_OK;
}

enum nonce_status nonce_nc_accept(struct nonce_ctx *n, uint32_t index,
				  uint32_t nc)
{
	_Atomic uint64_t *slot = &n->slots[index & n->mask];
	uint64_t cur = atomic_load_explicit(slot, memory_order_acquire);
	uint32_t want = nc ? nc : NC_ONCE;

	for (;;) {
		uint32_t seen = (uint32_t)cur;

		if ((uint32_t)(cur >> 32) != index)
			return NONCE_STALE;
		/* Without qop a nonce is good once: only from a fresh slot. */
		if (nc == 0 ? seen != 0 : nc <= seen)
			return NONCE_REPLAY;
		if (atomic_compare_exchange_weak_explicit(
			slot, &cur, slot_word(index, want),
			memory_order_acq_rel, memory_order_acquire))
			return NONCE_OK;
	}
}

uint32_t nonce_lifetime_s(const struct nonce_ctx *n)
{
	return n->lifetime_s;
}
