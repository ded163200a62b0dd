/* Growable output buffer. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/buf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"

void buf_init(struct buf *b, size_t max_len)
{
	memset(b, 0, sizeof(*b));
	b->max_len = max_len;
}

void buf_close(struct buf *b)
{
	sb_free(b->p);
	memset(b, 0, sizeof(*b));
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p)
		b->p[0] = '\0';
}

int buf_reserve(struct buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (b->err)
		return b->err;
	if (more > SIZE_MAX / 2 - b->len - 1 ||
	    (b->max_len && b->len + more > b->max_len)) {
		b->err = -E2BIG;
		return b->err;
	}
	need = b->len + more + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = sb_realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t len)
{
	int err = buf_reserve(b, len);

	if (err)
		return err;
	if (len)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

int buf_append_slice(struct buf *b, struct slice s)
{
	return buf_append(b, s.p, s.len);
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

size_t buf_fmt_uint(char out[BUF_UINT_MAX], uint64_t v)
{
	char tmp[BUF_UINT_MAX];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(out, tmp + sizeof(tmp) - n, n);
	return n;
}

size_t buf_fmt_ip4(char out[16], const unsigned char ip[4])
{
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = ip[i];

		if (i)
			out[n++] = '.';
		if (v >= 100)
			out[n++] = (char)('0' + v / 100);
		if (v >= 10)
			out[n++] = (char)('0' + v / 10 % 10);
		out[n++] = (char)('0' + v % 10);
	}
	out[n] = '\0';
	return n;
}

int buf_append_uint(struct buf *b, uint64_t v, unsigned width)
{
	static const char zeros[BUF_UINT_MAX] = "0000000000000000000";
	char d[BUF_UINT_MAX];
	size_t n = buf_fmt_uint(d, v);

	if (width > BUF_UINT_MAX)
		width = BUF_UINT_MAX;
	if (width > n && buf_append(b, zeros, width - n))
		return b->err;
	return buf_append(b, d, n);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	int err;

	if (b->err)
		return b->err;
	va_copy(ap2, ap);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
		      fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->err = -EINVAL;
		return b->err;
	}
	if (b->p && (size_t)n < b->cap - b->len) {
		if (b->max_len && b->len + (size_t)n > b->max_len) {
			b->p[b->len] = '\0';
			b->err = -E2BIG;
			return b->err;
		}
		b->len += (size_t)n;
		return 0;
	}
	err = buf_reserve(b, (size_t)n);
	if (err)
		return err;
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}
