/* Slice helpers: comparison, trimming and checked number conversions. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/slice.h"

#include <errno.h>

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

struct slice slice_trim(struct slice s)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t' || s.p[0] == '\r' ||
			 s.p[0] == '\n')) {
		s.p++;
		s.len--;
	}
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' ||
			 s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

int slice_to_u64(struct slice s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s.p || s.len == 0)
		return -EINVAL;
	for (size_t i = 0; i < s.len; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int slice_to_u32(struct slice s, uint32_t *out)
{
	uint64_t v;
	int err = slice_to_u64(s, &v);

	if (err)
		return err;
	if (v > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

struct slice slice_lower(struct slice s, char *dst)
{
	for (size_t i = 0; i < s.len; i++)
		dst[i] = lower(s.p[i]);
	return slice_make(dst, s.len);
}

uint32_t slice_hash(struct slice s)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.p[i];
		h *= 16777619u;
	}
	return h;
}
