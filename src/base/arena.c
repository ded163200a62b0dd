/* Arena allocator: a caller-given first block, then malloc'd chunks. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/arena.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/mem.h"

enum { ARENA_ALIGN = 8, ARENA_CHUNK_MIN = 8192 };

struct arena_chunk {
	struct arena_chunk *next;
	size_t cap;  /* bytes in data */
	size_t used; /* bytes */
	_Alignas(ARENA_ALIGN) char data[];
};

struct arena_cleanup {
	struct arena_cleanup *next;
	void (*fn)(void *);
	void *arg;
};

static size_t align_up(size_t n)
{
	return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void arena_init(struct arena *a, void *first, size_t first_cap,
		size_t max_bytes)
{
	uintptr_t p = (uintptr_t)first;
	size_t skip = first ? (align_up(p) - p) : 0;

	memset(a, 0, sizeof(*a));
	if (first && first_cap > skip) {
		a->first = (char *)first + skip;
		a->first_cap = first_cap - skip;
	}
	a->max_bytes = max_bytes;
	sb_live_inc(SB_LIVE_ARENA);
}

static void release(struct arena *a)
{
	while (a->clean) {
		struct arena_cleanup *c = a->clean;
		a->clean = c->next;
		c->fn(c->arg);
	}
	while (a->chunks) {
		struct arena_chunk *c = a->chunks;
		a->chunks = c->next;
		sb_free(c);
	}
	a->first_used = 0;
	a->total = 0;
}

void arena_reset(struct arena *a)
{
	release(a);
}

void arena_close(struct arena *a)
{
	release(a);
	sb_live_dec(SB_LIVE_ARENA);
}

void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *c;
	size_t need = align_up(size ? size : 1);
	void *p;

	if (need < size)
		return NULL;
	if (a->max_bytes && (need > a->max_bytes || a->total > a->max_bytes - need))
		return NULL;
	if (a->first && a->first_cap - a->first_used >= need) {
		p = a->first + a->first_used;
		a->first_used += need;
		a->total += need;
		return p;
	}
	c = a->chunks;
	if (!c || c->cap - c->used < need) {
		size_t cap = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
		c = sb_malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->used = 0;
		c->next = a->chunks;
		a->chunks = c;
	}
	p = c->data + c->used;
	c->used += need;
	a->total += need;
	return p;
}

void *arena_zalloc(struct arena *a, size_t size)
{
	void *p = arena_alloc(a, size);

	if (p)
		memset(p, 0, size);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *d = arena_alloc(a, len + 1);

	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

int arena_cleanup_add(struct arena *a, void (*fn)(void *), void *arg)
{
	struct arena_cleanup *c = arena_alloc(a, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->next = a->clean;
	a->clean = c;
	return 0;
}
