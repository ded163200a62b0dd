/* HTTP digest computations: HA1, HA2, request-digest, constant-time compare. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/auth/digest.h"

#include <errno.h>
#include <pthread.h>

#include <openssl/evp.h>

enum { HASH_MD5, HASH_SHA256, HASH__COUNT };

/* Fetched once: an implicit fetch per EVP_DigestInit_ex costs a lookup. */
static EVP_MD *hashes[HASH__COUNT];
static pthread_once_t hashes_once = PTHREAD_ONCE_INIT;

static const struct {
	struct slice name;
	unsigned hash;
} algs[DIGEST_ALG__COUNT] = {
    [DIGEST_ALG_MD5] = {SL("MD5"), HASH_MD5},
    [DIGEST_ALG_MD5_SESS] = {SL("MD5-sess"), HASH_MD5},
    [DIGEST_ALG_SHA256] = {SL("SHA-256"), HASH_SHA256},
    [DIGEST_ALG_SHA256_SESS] = {SL("SHA-256-sess"), HASH_SHA256},
};

static void hashes_fetch(void)
{
	hashes[HASH_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
	hashes[HASH_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* One hash computation over pieces, joined by ':'; hex into out. */
struct hasher {
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
	int err;
};

static int hasher_open(struct hasher *h, enum digest_alg alg)
{
	pthread_once(&hashes_once, hashes_fetch);
	h->md = hashes[algs[alg].hash];
	h->err = 0;
	if (!h->md)
		return -ENOTSUP;
	h->ctx = EVP_MD_CTX_new();
	return h->ctx ? 0 : -ENOMEM;
}

static void hasher_close(struct hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

static void hasher_begin(struct hasher *h)
{
	if (!h->err && !EVP_DigestInit_ex(h->ctx, h->md, NULL))
		h->err = -ENOMEM;
}

/* Feed a piece; every piece after the first is preceded by ':'. */
static void hasher_add(struct hasher *h, struct slice s, bool is_first)
{
	if (h->err)
		return;
	if (!is_first && !EVP_DigestUpdate(h->ctx, ":", 1))
		h->err = -ENOMEM;
	else if (s.len && !EVP_DigestUpdate(h->ctx, s.p, s.len))
		h->err = -ENOMEM;
}

static int hasher_end(struct hasher *h, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!h->err && !EVP_DigestFinal_ex(h->ctx, md, &n))
		h->err = -ENOMEM;
	if (h->err)
		return h->err;
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

int digest_alg_from(struct slice name, enum digest_alg *out)
{
	if (!name.p) {
		*out = DIGEST_ALG_MD5;
		return 0;
	}
	for (int i = 0; i < DIGEST_ALG__COUNT; i++) {
		if (slice_caseeq(name, algs[i].name)) {
			*out = (enum digest_alg)i;
			return 0;
		}
	}
	return -ENOTSUP;
}

struct slice digest_alg_name(enum digest_alg alg)
{
	return algs[alg].name;
}

size_t digest_alg_hex_len(enum digest_alg alg)
{
	return algs[alg].hash == HASH_MD5 ? DIGEST_MD5_HEX : DIGEST_SHA256_HEX;
}

enum digest_alg digest_alg_base(enum digest_alg alg)
{
	return algs[alg].hash == HASH_MD5 ? DIGEST_ALG_MD5 : DIGEST_ALG_SHA256;
}

int digest_ha1(enum digest_alg alg, struct slice user, struct slice realm,
	       struct slice password, char *out)
{
	struct hasher h;
	int err = hasher_open(&h, alg);

	if (err)
		return err;
	hasher_begin(&h);
	hasher_add(&h, user, true);
	hasher_add(&h, realm, false);
	hasher_add(&h, password, false);
	err = hasher_end(&h, out);
	hasher_close(&h);
	return err;
}

int digest_ha2(enum digest_alg alg, struct slice method, struct slice uri,
	       char *out)
{
	struct hasher h;
	int err = hasher_open(&h, alg);

	if (err)
		return err;
	hasher_begin(&h);
	hasher_add(&h, method, true);
	hasher_add(&h, uri, false);
	err = hasher_end(&h, out);
	hasher_close(&h);
	return err;
}

int digest_response(const struct digest_params *p, char *out)
{
	char ha1[DIGEST_HEX_BUF], ha2[DIGEST_HEX_BUF];
	struct slice key = p->ha1;
	size_t hex_len = digest_alg_hex_len(p->alg);
	struct hasher h;
	int err;

	if (p->ha1.len != hex_len || !p->ha1.p)
		return -EINVAL;
	if ((p->qop.p || digest_alg_is_sess(p->alg)) && !p->cnonce.p)
		return -EINVAL;
	err = hasher_open(&h, p->alg);
	if (err)
		return err;
	if (digest_alg_is_sess(p->alg)) {
		/* RFC 7616 3.4.2: session key from the stored HA1, in hex */
		hasher_begin(&h);
		hasher_add(&h, p->ha1, true);
		hasher_add(&h, p->nonce, false);
		hasher_add(&h, p->cnonce, false);
		err = hasher_end(&h, ha1);
		key = slice_make(ha1, hex_len);
	}
	if (!err) {
		hasher_begin(&h);
		hasher_add(&h, p->method, true);
		hasher_add(&h, p->uri, false);
		err = hasher_end(&h, ha2);
	}
	if (!err) {
		hasher_begin(&h);
		hasher_add(&h, key, true);
		hasher_add(&h, p->nonce, false);
		if (p->qop.p) {
			hasher_add(&h, p->nc, false);
			hasher_add(&h, p->cnonce, false);
			hasher_add(&h, p->qop, false);
		}
		hasher_add(&h, slice_make(ha2, hex_len), false);
		err = hasher_end(&h, out);
	}
	hasher_close(&h);
	return err;
}

/* 'A'..'F' to lower case without a data-dependent branch. */
static unsigned char hex_fold(unsigned char c)
{
	unsigned is_upper_hex = (unsigned)(c - 'A') <= 'F' - 'A';

	return (unsigned char)(c | (is_upper_hex << 5));
}

bool digest_hex_eq(struct slice got, struct slice want)
{
	unsigned char diff = 0;

	if (got.len != want.len || !got.p || !want.p)
		return false;
	for (size_t i = 0; i < want.len; i++)
		diff |= hex_fold((unsigned char)got.p[i]) ^
			hex_fold((unsigned char)want.p[i]);
	return diff == 0;
}
