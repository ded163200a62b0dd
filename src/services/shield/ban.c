/* Ban list: sharded fixed-size tables of failure counters with LRU eviction. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "services/shield/ban.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/mem.h"

enum {
	SHARDS = 16,	  /* per table; a power of two */
	SHARD_SHIFT = 60, /* top 4 bits of the hash pick the shard */
	LIST_COUNTING = 0,
	LIST_BANNED = 1,
	LIST__COUNT = 2,
	NIL = 0 /* no entry: links are index + 1 */
};

struct key {
	uint64_t w[2];
};

struct ent {
	struct key key;
	uint64_t hash;
	uint32_t hnext;	     /* bucket chain or free list */
	uint32_t prev, next; /* LRU list: prev is more recent */
	uint32_t cur, last;  /* failures in this and the previous window */
	int64_t window;	     /* number of the current window (now / window_s) */
	int64_t banned_until; /* 0: not banned */
	uint8_t list;	      /* LIST_* */
};

struct lru {
	uint32_t head, tail; /* most and least recently touched */
};

struct shard {
	pthread_mutex_t lock;
	struct ent *ents;  /* cap entries; lock */
	uint32_t *buckets; /* chain heads; lock */
	uint32_t cap, bucket_mask;
	uint32_t used;	/* entries in lists; lock */
	uint32_t free;	/* free list head; lock */
	uint32_t fresh; /* entries never used yet start here; lock */
	struct lru lists[LIST__COUNT]; /* lock */
	_Atomic uint32_t banned;       /* entries on LIST_BANNED; written under
					  lock, read without */
};

struct table {
	_Alignas(64) struct shard shards[SHARDS];
};

struct ban {
	struct ban_opts o;
	uint64_t seed[2]; /* hash key, random per process */
	struct table src, users;
	_Atomic uint64_t failures, bans, dropped, evictions;
};

/* splitmix64 finaliser: every input bit reaches every output bit. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t key_hash(const struct ban *b, const struct key *k)
{
	return mix(mix(k->w[0] ^ b->seed[0]) ^ k->w[1] ^ b->seed[1]);
}

/* Sources as 16 bytes: IPv4 as ::ffff:a.b.c.d, IPv6 cut to the prefix. */
static bool src_key(const struct ban *b, const struct sockaddr *sa,
		    struct key *k)
{
	uint8_t a[16] = {0};

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;
		unsigned bits = b->o.ipv6_prefix;
		memcpy(a, &in6->sin6_addr, 16);
		if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			for (unsigned i = 0; i < 16; i++) {
				unsigned keep = bits > 8 * i ? bits - 8 * i : 0;
				if (keep < 8)
					a[i] &= (uint8_t)(0xff00u >> keep);
			}
		}
	} else {
		return false;
	}
	memcpy(k->w, a, sizeof(a));
	return true;
}

/* Users by a keyed 64-bit hash: a collision only merges two counters. */
static bool user_key(const struct ban *b, struct slice user, struct key *k)
{
	uint64_t h = 14695981039346656037ull ^ b->seed[1];

	if (!user.p || user.len == 0)
		return false;
	for (size_t i = 0; i < user.len; i++)
		h = (h ^ (unsigned char)user.p[i]) * 1099511628211ull;
	k->w[0] = mix(h);
	k->w[1] = user.len;
	return true;
}

static struct shard *shard_of(struct table *t, uint64_t hash)
{
	return &t->shards[hash >> SHARD_SHIFT];
}

static struct ent *at(struct shard *s, uint32_t link)
{
	return &s->ents[link - 1];
}

static uint32_t link_of(struct shard *s, struct ent *e)
{
	return (uint32_t)(e - s->ents) + 1;
}

static void lru_unlink(struct shard *s, struct ent *e)
{
	struct lru *l = &s->lists[e->list];

	if (e->prev)
		at(s, e->prev)->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		at(s, e->next)->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NIL;
}

static void lru_push(struct shard *s, struct ent *e, uint8_t list)
{
	struct lru *l = &s->lists[list];
	uint32_t self = link_of(s, e);

	e->list = list;
	e->prev = NIL;
	e->next = l->head;
	if (l->head)
		at(s, l->head)->prev = self;
	else
		l->tail = self;
	l->head = self;
}

static struct ent *find(struct shard *s, const struct key *k, uint64_t hash)
{
	for (uint32_t i = s->buckets[hash & s->bucket_mask]; i;) {
		struct ent *e = at(s, i);
		if (e->hash == hash && e->key.w[0] == k->w[0] &&
		    e->key.w[1] == k->w[1])
			return e;
		i = e->hnext;
	}
	return NULL;
}

/* Unlink from its bucket and list and put on the free list. */
static void drop(struct shard *s, struct ent *e)
{
	uint32_t *p = &s->buckets[e->hash & s->bucket_mask];
	uint32_t self = link_of(s, e);

	while (*p != self)
		p = &at(s, *p)->hnext;
	*p = e->hnext;
	if (e->list == LIST_BANNED)
		atomic_fetch_sub_explicit(&s->banned, 1, memory_order_relaxed);
	lru_unlink(s, e);
	e->hnext = s->free;
	s->free = self;
	s->used--;
}

/*
 * The entry for k, made when missing: from the free list, from never-used
 * entries, or by evicting the least recently touched counter (a ban only
 * when the shard holds nothing else).
 */
static struct ent *get(struct ban *b, struct shard *s, const struct key *k,
		       uint64_t hash)
{
	struct ent *e = find(s, k, hash);
	uint32_t *bucket;

	if (e)
		return e;
	if (!s->free && s->fresh == s->cap) {
		uint32_t victim = s->lists[LIST_COUNTING].tail;
		if (!victim)
			victim = s->lists[LIST_BANNED].tail;
		drop(s, at(s, victim));
		atomic_fetch_add_explicit(&b->evictions, 1,
					  memory_order_relaxed);
	}
	if (s->free) {
		e = at(s, s->free);
		s->free = e->hnext;
	} else {
		e = &s->ents[s->fresh++];
	}
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->hash = hash;
	bucket = &s->buckets[hash & s->bucket_mask];
	e->hnext = *bucket;
	*bucket = link_of(s, e);
	lru_push(s, e, LIST_COUNTING);
	s->used++;
	return e;
}

/* Move the counts into the window of now. */
static void roll(const struct ban *b, struct ent *e, int64_t now_s)
{
	int64_t w = now_s / (int64_t)b->o.window_s;

	if (w == e->window)
		return;
	e->last = w == e->window + 1 ? e->cur : 0;
	e->cur = 0;
	e->window = w;
}

/* Sliding-window estimate of failures, scaled by window_s. */
static bool over(const struct ban *b, const struct ent *e, int64_t now_s,
		 uint32_t threshold)
{
	uint64_t win = b->o.window_s;
	uint64_t into = (uint64_t)(now_s - e->window * (int64_t)win);
	uint64_t scaled =
	    (uint64_t)e->cur * win + (uint64_t)e->last * (win - into);

	return scaled >= (uint64_t)threshold * win;
}

static bool is_banned(const struct ent *e, int64_t now_s)
{
	return e->list == LIST_BANNED && e->banned_until > now_s;
}

static void ban_ent(struct ban *b, struct shard *s, struct ent *e,
		    int64_t now_s)
{
	lru_unlink(s, e);
	lru_push(s, e, LIST_BANNED);
	e->banned_until = now_s + b->o.ban_s;
	atomic_fetch_add_explicit(&s->banned, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->bans, 1, memory_order_relaxed);
}

static uint32_t or_default(uint32_t v, uint32_t d)
{
	return v ? v : d;
}

static void table_close(struct table *t)
{
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &t->shards[i];
		if (!s->ents)
			continue;
		pthread_mutex_destroy(&s->lock);
		sb_free(s->ents);
		sb_free(s->buckets);
		s->ents = NULL;
	}
}

static int table_init(struct table *t, uint32_t max)
{
	uint32_t cap = (max + SHARDS - 1) / SHARDS, buckets = 1;

	while (buckets < cap)
		buckets *= 2;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &t->shards[i];
		s->ents = sb_calloc(cap, sizeof(*s->ents));
		s->buckets = sb_calloc(buckets, sizeof(*s->buckets));
		if (!s->ents || !s->buckets) {
			sb_free(s->ents);
			sb_free(s->buckets);
			s->ents = NULL;
			return -ENOMEM;
		}
		pthread_mutex_init(&s->lock, NULL);
		s->cap = cap;
		s->bucket_mask = buckets - 1;
		atomic_init(&s->banned, 0);
	}
	return 0;
}

struct ban *ban_free(struct ban *b)
{
	if (!b)
		return NULL;
	table_close(&b->src);
	table_close(&b->users);
	sb_free(b);
	sb_live_dec(SB_LIVE_BAN);
	return NULL;
}

int ban_new(const struct ban_opts *o, struct ban **out)
{
	static const struct ban_opts defaults;
	struct ban *b;
	int err;

	if (!o)
		o = &defaults;
	if (o->ipv6_prefix > 128)
		return -EINVAL;
	b = sb_calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	sb_live_inc(SB_LIVE_BAN);
	b->o = *o;
	b->o.src_threshold =
	    or_default(o->src_threshold, BAN_SRC_THRESHOLD_DEFAULT);
	b->o.user_threshold =
	    or_default(o->user_threshold, BAN_USER_THRESHOLD_DEFAULT);
	b->o.window_s = or_default(o->window_s, BAN_WINDOW_DEFAULT_S);
	b->o.ban_s = or_default(o->ban_s, BAN_DURATION_DEFAULT_S);
	b->o.max_sources = or_default(o->max_sources, BAN_ENTRIES_DEFAULT);
	b->o.max_users = or_default(o->max_users, BAN_ENTRIES_DEFAULT);
	b->o.ipv6_prefix =
	    (uint8_t)or_default(o->ipv6_prefix, BAN_IPV6_PREFIX_DEFAULT);
	err = RAND_bytes((unsigned char *)b->seed, sizeof(b->seed)) == 1 ? 0
									 : -EIO;
	if (!err)
		err = table_init(&b->src, b->o.max_sources);
	if (!err)
		err = table_init(&b->users, b->o.max_users);
	if (err) {
		ban_free(b);
		return err;
	}
	*out = b;
	return 0;
}

bool ban_check(struct ban *b, const struct sockaddr *src, int64_t now_s)
{
	struct key k;
	uint64_t hash;
	struct shard *s;
	struct ent *e;
	bool is_hit = false;

	if (!src_key(b, src, &k))
		return false;
	hash = key_hash(b, &k);
	s = shard_of(&b->src, hash);
	if (atomic_load_explicit(&s->banned, memory_order_relaxed) == 0)
		return false;
	pthread_mutex_lock(&s->lock);
	e = find(s, &k, hash);
	if (e && is_banned(e, now_s))
		is_hit = true;
	else if (e && e->list == LIST_BANNED)
		drop(s, e); /* expired: start again from zero */
	pthread_mutex_unlock(&s->lock);
	if (is_hit)
		atomic_fetch_add_explicit(&b->dropped, 1, memory_order_relaxed);
	return is_hit;
}

bool ban_fail(struct ban *b, const struct sockaddr *src, struct slice user,
	      int64_t now_s)
{
	bool is_user_hot = false, is_banned_now = false;
	struct key k;
	uint64_t hash;
	struct shard *s;
	struct ent *e;

	atomic_fetch_add_explicit(&b->failures, 1, memory_order_relaxed);
	if (user_key(b, user, &k)) {
		hash = key_hash(b, &k);
		s = shard_of(&b->users, hash);
		pthread_mutex_lock(&s->lock);
		e = get(b, s, &k, hash);
		roll(b, e, now_s);
		e->cur++;
		is_user_hot = over(b, e, now_s, b->o.user_threshold);
		lru_unlink(s, e);
		lru_push(s, e, LIST_COUNTING);
		pthread_mutex_unlock(&s->lock);
	}
	if (!src_key(b, src, &k))
		return false;
	hash = key_hash(b, &k);
	s = shard_of(&b->src, hash);
	pthread_mutex_lock(&s->lock);
	e = get(b, s, &k, hash);
	if (e->list == LIST_BANNED && !is_banned(e, now_s)) {
		drop(s, e); /* expired: start again from zero */
		e = get(b, s, &k, hash);
	}
	if (e->list == LIST_BANNED) {
		is_banned_now = true;
	} else {
		roll(b, e, now_s);
		e->cur++;
		lru_unlink(s, e);
		lru_push(s, e, LIST_COUNTING);
		if (is_user_hot || over(b, e, now_s, b->o.src_threshold)) {
			ban_ent(b, s, e, now_s);
			is_banned_now = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return is_banned_now;
}

/* Forget the counts of k in t, unless it is a ban. */
static void forget(struct ban *b, struct table *t, const struct key *k)
{
	uint64_t hash = key_hash(b, k);
	struct shard *s = shard_of(t, hash);
	struct ent *e;

	pthread_mutex_lock(&s->lock);
	e = find(s, k, hash);
	if (e && e->list == LIST_COUNTING)
		drop(s, e);
	pthread_mutex_unlock(&s->lock);
}

void ban_success(struct ban *b, const struct sockaddr *src, struct slice user)
{
	struct key k;

	if (user_key(b, user, &k))
		forget(b, &b->users, &k);
	if (src_key(b, src, &k))
		forget(b, &b->src, &k);
}

int ban_lift(struct ban *b, const struct sockaddr *src)
{
	struct key k;
	uint64_t hash;
	struct shard *s;
	struct ent *e;

	if (!src_key(b, src, &k))
		return -ENOENT;
	hash = key_hash(b, &k);
	s = shard_of(&b->src, hash);
	pthread_mutex_lock(&s->lock);
	e = find(s, &k, hash);
	if (e)
		drop(s, e);
	pthread_mutex_unlock(&s->lock);
	return e ? 0 : -ENOENT;
}

static void table_gauges(struct table *t, uint64_t *used, uint64_t *banned)
{
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &t->shards[i];
		pthread_mutex_lock(&s->lock);
		*used += s->used;
		if (banned)
			*banned += atomic_load_explicit(&s->banned,
							memory_order_relaxed);
		pthread_mutex_unlock(&s->lock);
	}
}

void ban_stats_get(struct ban *b, struct ban_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->failures =
	    atomic_load_explicit(&b->failures, memory_order_relaxed);
	out->bans = atomic_load_explicit(&b->bans, memory_order_relaxed);
	out->dropped = atomic_load_explicit(&b->dropped, memory_order_relaxed);
	out->evictions =
	    atomic_load_explicit(&b->evictions, memory_order_relaxed);
	table_gauges(&b->src, &out->sources, &out->banned);
	table_gauges(&b->users, &out->users, NULL);
}
