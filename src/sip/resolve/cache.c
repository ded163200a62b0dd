/* DNS record sets and the per-resolver cache: bounded, LRU, TTL-aware. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdalign.h>
#include <string.h>

#include "base/mem.h"
#include "base/rand.h"
#include "sip/resolve/resolve_int.h"

enum {
	BUCKETS_MIN = 16,
	BUCKETS_MAX = 65536 /* longer chains beyond: the LRU still bounds */
};

static size_t record_size(uint16_t type)
{
	switch (type) {
	case DNS_TYPE_A:
		return sizeof(struct in_addr);
	case DNS_TYPE_AAAA:
		return sizeof(struct in6_addr);
	case DNS_TYPE_SRV:
		return sizeof(struct rr_srv);
	case DNS_TYPE_NAPTR:
		return sizeof(struct rr_naptr);
	default:
		return 0;
	}
}

struct rrset *resolve_rrset_new(const char *name, uint16_t type, int status,
				size_t n, size_t pool_len, char **pool)
{
	const size_t align = alignof(max_align_t);
	size_t name_len = strlen(name);
	size_t rr_off = offsetof(struct rrset, name) + name_len + 1;
	size_t pool_off;
	struct rrset *s;

	rr_off = (rr_off + align - 1) / align * align;
	pool_off = rr_off + n * record_size(type);
	s = sb_malloc(pool_off + pool_len);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->refs = 1;
	s->type = type;
	s->status = status;
	s->n = n;
	s->rr.a = n ? (void *)((char *)s + rr_off) : NULL;
	memcpy(s->name, name, name_len + 1);
	if (pool)
		*pool = (char *)s + pool_off;
	return s;
}

struct rrset *resolve_rrset_ref(struct rrset *s)
{
	s->refs++;
	return s;
}

struct rrset *resolve_rrset_unref(struct rrset *s)
{
	if (s && --s->refs == 0)
		sb_free(s);
	return NULL;
}

/* FNV-1a keyed by a per-cache seed: names come from outside. */
uint32_t resolve_cache_hash(const struct resolve_cache *c, const char *name,
			    uint16_t type)
{
	uint64_t h = 14695981039346656037ull ^ c->seed;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	h = (h ^ type) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

static void lru_unlink(struct resolve_cache *c, struct rrset *s)
{
	if (s->newer)
		s->newer->older = s->older;
	else
		c->newest = s->older;
	if (s->older)
		s->older->newer = s->newer;
	else
		c->oldest = s->newer;
	s->newer = s->older = NULL;
}

static void lru_push(struct resolve_cache *c, struct rrset *s)
{
	s->newer = NULL;
	s->older = c->newest;
	if (c->newest)
		c->newest->newer = s;
	else
		c->oldest = s;
	c->newest = s;
}

static void drop(struct resolve_cache *c, struct rrset *s)
{
	struct rrset **pp = &c->buckets[s->hash & c->mask];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	s->hnext = NULL;
	lru_unlink(c, s);
	s->is_cached = false;
	c->count--;
	resolve_rrset_unref(s);
}

static struct rrset *find(struct resolve_cache *c, const char *name,
			  uint16_t type, uint32_t hash)
{
	for (struct rrset *s = c->buckets[hash & c->mask]; s; s = s->hnext)
		if (s->hash == hash && s->type == type &&
		    strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

int resolve_cache_init(struct resolve_cache *c, uint32_t max)
{
	uint32_t nb = BUCKETS_MIN;

	while (nb < max && nb < BUCKETS_MAX)
		nb <<= 1;
	memset(c, 0, sizeof(*c));
	c->buckets = sb_calloc(nb, sizeof(*c->buckets));
	if (!c->buckets)
		return -ENOMEM;
	c->mask = nb - 1;
	c->max = max;
	c->seed = sb_rand64();
	return 0;
}

void resolve_cache_close(struct resolve_cache *c)
{
	if (!c->buckets)
		return;
	while (c->oldest)
		drop(c, c->oldest);
	sb_free(c->buckets);
	c->buckets = NULL;
}

struct rrset *resolve_cache_get(struct resolve_cache *c, const char *name,
				uint16_t type, uint64_t now_ms)
{
	uint32_t hash = resolve_cache_hash(c, name, type);
	struct rrset *s = find(c, name, type, hash);

	if (!s)
		return NULL;
	if (now_ms >= s->expires_ms) {
		drop(c, s);
		return NULL;
	}
	lru_unlink(c, s);
	lru_push(c, s);
	return resolve_rrset_ref(s);
}

void resolve_cache_put(struct resolve_cache *c, struct rrset *s)
{
	struct rrset *old;

	if (s->is_cached || c->max == 0)
		return;
	s->hash = resolve_cache_hash(c, s->name, s->type);
	old = find(c, s->name, s->type, s->hash);
	if (old)
		drop(c, old);
	while (c->count >= c->max)
		drop(c, c->oldest);
	s->hnext = c->buckets[s->hash & c->mask];
	c->buckets[s->hash & c->mask] = s;
	lru_push(c, s);
	s->is_cached = true;
	c->count++;
	resolve_rrset_ref(s);
}
