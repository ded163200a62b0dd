/* Slices: a const pointer and a length into a buffer someone else owns. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_SLICE_H
#define SB_BASE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Text from the wire is never NUL-terminated: always carry the length. */
struct slice {
	const char *p; /* NULL for "absent", distinct from empty */
	size_t len;    /* bytes */
};

/* Slice of a string literal: SL("INVITE"). */
#define SL(lit) ((struct slice){(lit), sizeof(lit) - 1})
/* printf helpers: printf("%.*s", SL_ARG(s)). */
#define SL_FMT "%.*s"
#define SL_ARG(s) (int)(s).len, (s).p

static inline struct slice slice_make(const char *p, size_t len)
{
	return (struct slice){p, len};
}

static inline struct slice slice_cstr(const char *s)
{
	return (struct slice){s, s ? strlen(s) : 0};
}

static inline bool slice_is_set(struct slice s)
{
	return s.p != NULL;
}

static inline bool slice_eq(struct slice a, struct slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ASCII case-insensitive equality; inline so literal lengths fold. */
static inline bool slice_caseeq(struct slice a, struct slice b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++) {
		unsigned char x = (unsigned char)a.p[i];
		unsigned char y = (unsigned char)b.p[i];
		if (x != y && ((x | 0x20) != (y | 0x20) ||
			       (unsigned char)((x | 0x20) - 'a') > 'z' - 'a'))
			return false;
	}
	return true;
}

static inline bool slice_caseeq_lit(struct slice a, const char *lit)
{
	return slice_caseeq(a, slice_cstr(lit));
}
struct slice slice_trim(struct slice s);

/*
 * Decimal conversions: the whole slice must be digits (no sign, no space)
 * and the value must fit. Return 0 and set *out, or -EINVAL (not a number)
 * or -ERANGE (too large). *out is untouched on error.
 */
int slice_to_u32(struct slice s, uint32_t *out);
int slice_to_u64(struct slice s, uint64_t *out);

/* Lower-case ASCII copy into dst (dst_len >= s.len); returns the slice. */
struct slice slice_lower(struct slice s, char *dst);

/* FNV-1a hash, case-sensitive. */
uint32_t slice_hash(struct slice s);

#endif
