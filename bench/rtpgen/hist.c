/* rtpgen: log-linear histogram of nanosecond values (latency, lateness). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "rtpgen.h"

/*
 * Values below 2 * RG_HIST_SUB have a bucket each. Above, a value whose
 * highest bit is b lands in one of RG_HIST_SUB buckets of width 2^(b - 6),
 * so a bucket is within 1/64 (1.6 %) of its values. Values are clamped to
 * 2^40 ns (18 minutes), which keeps the table at RG_HIST_BUCKETS.
 */
enum { SUB_BITS = 6, CLAMP_BITS = 40 };

static unsigned bucket_of(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * RG_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - SUB_BITS;
	return RG_HIST_SUB * shift + (unsigned)(v >> shift);
}

/* The middle of bucket i. */
static uint64_t value_of(unsigned i)
{
	unsigned shift;

	if (i < 2 * RG_HIST_SUB)
		return i;
	shift = i / RG_HIST_SUB - 1;
	return ((uint64_t)(i - RG_HIST_SUB * shift) << shift) +
	       ((1ull << shift) >> 1);
}

void rg_hist_add(struct rg_hist *h, int64_t v)
{
	uint64_t u = v < 0 ? 0 : (uint64_t)v;

	if (u >= 1ull << CLAMP_BITS)
		u = (1ull << CLAMP_BITS) - 1;
	h->counts[bucket_of(u)]++;
	h->n++;
	if (u > h->max)
		h->max = u;
}

/* The value at quantile q (0..1): the bucket holding rank ceil(q * n). */
uint64_t rg_hist_quantile(const struct rg_hist *h, double q)
{
	uint64_t rank, seen = 0;
	unsigned i;

	if (!h->n)
		return 0;
	rank = (uint64_t)(q * (double)h->n + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < RG_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = value_of(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

void rg_hist_merge(struct rg_hist *into, const struct rg_hist *from)
{
	unsigned i;

	for (i = 0; i < RG_HIST_BUCKETS; i++)
		into->counts[i] += from->counts[i];
	into->n += from->n;
	if (from->max > into->max)
		into->max = from->max;
}
