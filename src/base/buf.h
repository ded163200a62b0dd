/* Growable output buffer with printf-style appends. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_BUF_H
#define SB_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

/*
 * The struct stays where the caller put it; p may move as it grows. Appends
 * return 0 or -ENOMEM (or -E2BIG past max_len); after a failure the buffer
 * keeps what it had and later appends keep failing, so a builder can check
 * once at the end with buf_error().
 */
struct buf {
	char *p;	/* contents, NUL-terminated when len < cap */
	size_t len;	/* bytes used */
	size_t cap;	/* bytes allocated */
	size_t max_len; /* cap on len, 0 = none */
	int err;	/* first append error, sticky */
};

void buf_init(struct buf *b, size_t max_len);
void buf_close(struct buf *b);
void buf_reset(struct buf *b);
int buf_reserve(struct buf *b, size_t more);
int buf_append(struct buf *b, const void *p, size_t len);
int buf_append_slice(struct buf *b, struct slice s);
int buf_append_str(struct buf *b, const char *s);
/* Decimal v, at least width digits (zero-padded); no printf on hot paths. */
int buf_append_uint(struct buf *b, uint64_t v, unsigned width);
/* Decimal v into out (no NUL); the digit count. out holds BUF_UINT_MAX. */
#define BUF_UINT_MAX 20
size_t buf_fmt_uint(char out[BUF_UINT_MAX], uint64_t v);
/* An IPv4 address (4 bytes, network order) as inet_ntop() writes it, NUL
 * included, into out; the length without the NUL. */
size_t buf_fmt_ip4(char out[16], const unsigned char ip[4]);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
static inline int buf_error(const struct buf *b)
{
	return b->err;
}
static inline struct slice buf_slice(const struct buf *b)
{
	return slice_make(b->p, b->len);
}

#endif
