/* A worker's dialogs by (Call-ID, local tag): an intrusive chained hash. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>

#include "base/mem.h"
#include "sip/dialog/dialog.h"

enum {
	TABLE_BUCKETS_MIN = 16,	     /* a power of two */
	TABLE_BUCKETS_MAX = 1u << 24 /* stop doubling here */
};

static uint32_t key_hash(struct slice call_id, struct slice local_tag)
{
	return slice_hash(call_id) ^ (slice_hash(local_tag) * 0x9e3779b1u);
}

static uint32_t bucket_of(uint32_t nbuckets, const struct dialog *d)
{
	return key_hash(d->call_id, d->local_tag) & (nbuckets - 1);
}

/* Doubles the bucket array (or makes the first); -ENOMEM keeps the old. */
static int grow(struct dialog_table *t)
{
	uint32_t n = t->nbuckets ? t->nbuckets * 2 : TABLE_BUCKETS_MIN;
	struct dialog **b;

	if (n > TABLE_BUCKETS_MAX)
		return 0;
	b = sb_calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		struct dialog *d = t->buckets[i], *next;

		for (; d; d = next) {
			uint32_t j = bucket_of(n, d);

			next = d->hnext;
			d->hnext = b[j];
			b[j] = d;
		}
	}
	sb_free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

int dialog_table_init(struct dialog_table *t)
{
	t->buckets = NULL;
	t->nbuckets = 0;
	t->count = 0;
	return grow(t);
}

void dialog_table_fini(struct dialog_table *t)
{
	sb_free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
	t->count = 0;
}

int dialog_table_add(struct dialog_table *t, struct dialog *d)
{
	uint32_t i;

	if (!t->buckets) {
		int err = grow(t);

		if (err)
			return err;
	}
	i = bucket_of(t->nbuckets, d);
	d->hnext = t->buckets[i];
	t->buckets[i] = d;
	t->count++;
	if (t->count > t->nbuckets)
		return grow(t);
	return 0;
}

void dialog_table_del(struct dialog_table *t, struct dialog *d)
{
	struct dialog **pp;

	if (!t->buckets)
		return;
	for (pp = &t->buckets[bucket_of(t->nbuckets, d)]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == d) {
			*pp = d->hnext;
			d->hnext = NULL;
			t->count--;
			return;
		}
	}
}

struct dialog *dialog_table_find(const struct dialog_table *t,
				 struct slice call_id, struct slice local_tag)
{
	struct dialog *d;

	if (!t->buckets)
		return NULL;
	d = t->buckets[key_hash(call_id, local_tag) & (t->nbuckets - 1)];
	/* RFC 3261 20.8: Call-IDs compare byte by byte; tags likewise. */
	for (; d; d = d->hnext)
		if (slice_eq(d->call_id, call_id) &&
		    slice_eq(d->local_tag, local_tag))
			return d;
	return NULL;
}
