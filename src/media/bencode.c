/* bencode (BEP 3): a writer into a buf and a bounded zero-copy reader. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "media/bencode.h"

#include <errno.h>
#include <string.h>

/*
 * The reader's position in the text. Every index is checked against len
 * before the byte is read; nesting is bounded by BEN_DEPTH_MAX, so the
 * recursion is too.
 */
struct reader {
	const char *p;	    /* the text, not NUL-terminated */
	size_t len;	    /* bytes */
	size_t pos;	    /* next byte to read */
	struct arena *a;    /* nodes */
	uint32_t nodes;	    /* values made so far */
	uint32_t max_nodes; /* 0: no limit */
};

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/*
 * A string's length prefix and its colon. BEP 3 gives lengths in base
 * ten; like integers, a length has no leading zeros ("0:" is the empty
 * string). The length must fit in what is left of the text, which also
 * keeps the accumulator far from overflowing.
 */
static int read_len(struct reader *r, size_t *out)
{
	size_t len = 0;
	size_t start = r->pos;

	while (r->pos < r->len && is_digit(r->p[r->pos])) {
		len = len * 10 + (size_t)(r->p[r->pos] - '0');
		r->pos++;
		if (len > r->len - r->pos)
			return -EBADMSG;
	}
	if (r->pos == start || r->pos >= r->len || r->p[r->pos] != ':')
		return -EBADMSG;
	if (r->p[start] == '0' && r->pos - start > 1)
		return -EBADMSG;
	r->pos++;
	if (len > r->len - r->pos)
		return -EBADMSG;
	*out = len;
	return 0;
}

static int read_str(struct reader *r, struct slice *out)
{
	size_t len;
	int err = read_len(r, &len);

	if (err)
		return err;
	*out = slice_make(r->p + r->pos, len);
	r->pos += len;
	return 0;
}

/* BEP 3: "i<digits>e", no leading zeros, and "i-0e" is invalid. The value
 * must fit in int64_t: the magnitude is checked before each digit. */
static int read_int(struct reader *r, int64_t *out)
{
	uint64_t limit = INT64_MAX, mag = 0;
	bool is_neg = false;
	size_t start;

	r->pos++; /* 'i' */
	if (r->pos < r->len && r->p[r->pos] == '-') {
		is_neg = true;
		limit = (uint64_t)INT64_MAX + 1;
		r->pos++;
	}
	start = r->pos;
	while (r->pos < r->len && is_digit(r->p[r->pos])) {
		unsigned d = (unsigned)(r->p[r->pos] - '0');

		if (mag > (limit - d) / 10)
			return -EBADMSG;
		mag = mag * 10 + d;
		r->pos++;
	}
	if (r->pos == start || r->pos >= r->len || r->p[r->pos] != 'e')
		return -EBADMSG;
	if (r->p[start] == '0' && (r->pos - start > 1 || is_neg))
		return -EBADMSG;
	r->pos++;
	if (!is_neg)
		*out = (int64_t)mag;
	else if (mag == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)mag;
	return 0;
}

static int read_value(struct reader *r, unsigned depth, struct ben **out);

/* The items of a list or dictionary up to its 'e', chained on c. */
static int read_items(struct reader *r, unsigned depth, struct ben *c)
{
	struct ben **tail = &c->child;

	r->pos++; /* 'l' or 'd' */
	for (;;) {
		struct slice key = {0};
		struct ben *item;
		int err;

		if (r->pos >= r->len)
			return -EBADMSG;
		if (r->p[r->pos] == 'e') {
			r->pos++;
			return 0;
		}
		if (c->type == BEN_DICT) {
			/* BEP 3: keys are strings (read_str refuses others) */
			err = read_str(r, &key);
			if (err)
				return err;
		}
		err = read_value(r, depth, &item);
		if (err)
			return err;
		if (c->n == UINT32_MAX)
			return -E2BIG;
		item->key = key;
		*tail = item;
		tail = &item->next;
		c->n++;
	}
}

/* One value at r->pos; depth is the number of lists and dictionaries it
 * is inside. */
static int read_value(struct reader *r, unsigned depth, struct ben **out)
{
	struct ben *v;
	int err;

	if (r->pos >= r->len)
		return -EBADMSG;
	if (r->max_nodes && r->nodes >= r->max_nodes)
		return -E2BIG;
	v = arena_zalloc(r->a, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->nodes++;
	switch (r->p[r->pos]) {
	case 'i':
		v->type = BEN_INT;
		err = read_int(r, &v->num);
		break;
	case 'l':
	case 'd':
		if (depth >= BEN_DEPTH_MAX)
			return -E2BIG;
		v->type = r->p[r->pos] == 'l' ? BEN_LIST : BEN_DICT;
		err = read_items(r, depth + 1, v);
		break;
	default:
		if (!is_digit(r->p[r->pos]))
			return -EBADMSG;
		v->type = BEN_STR;
		err = read_str(r, &v->str);
		break;
	}
	if (err)
		return err;
	*out = v;
	return 0;
}

int ben_parse(struct slice text, struct arena *a, uint32_t max_nodes,
	      const struct ben **out)
{
	struct reader r = {.p = text.p,
			   .len = text.p ? text.len : 0,
			   .a = a,
			   .max_nodes = max_nodes};
	struct ben *v;
	int err = read_value(&r, 0, &v);

	if (err)
		return err;
	if (r.pos != r.len)
		return -EBADMSG;
	*out = v;
	return 0;
}

const struct ben *ben_get(const struct ben *d, const char *key)
{
	struct slice k = slice_cstr(key);

	if (!d || d->type != BEN_DICT)
		return NULL;
	for (const struct ben *i = d->child; i; i = i->next)
		if (slice_eq(i->key, k))
			return i;
	return NULL;
}

struct slice ben_get_str(const struct ben *d, const char *key)
{
	const struct ben *v = ben_get(d, key);

	if (!v || v->type != BEN_STR)
		return (struct slice){0};
	return v->str;
}

int ben_get_int(const struct ben *d, const char *key, int64_t *v)
{
	const struct ben *i = ben_get(d, key);

	if (!i || i->type != BEN_INT)
		return -ENOENT;
	*v = i->num;
	return 0;
}

void ben_str(struct buf *b, struct slice s)
{
	buf_append_uint(b, s.len, 0);
	buf_append(b, ":", 1);
	buf_append(b, s.p, s.len);
}

void ben_cstr(struct buf *b, const char *s)
{
	ben_str(b, slice_cstr(s));
}

void ben_int(struct buf *b, int64_t v)
{
	/* The magnitude in unsigned arithmetic: INT64_MIN has no positive. */
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	buf_append(b, v < 0 ? "i-" : "i", v < 0 ? 2 : 1);
	buf_append_uint(b, mag, 0);
	buf_append(b, "e", 1);
}

void ben_dict(struct buf *b)
{
	buf_append(b, "d", 1);
}

void ben_list(struct buf *b)
{
	buf_append(b, "l", 1);
}

void ben_end(struct buf *b)
{
	buf_append(b, "e", 1);
}

void ben_pair(struct buf *b, const char *key, struct slice val)
{
	ben_cstr(b, key);
	ben_str(b, val);
}

void ben_pair_cstr(struct buf *b, const char *key, const char *val)
{
	ben_pair(b, key, slice_cstr(val));
}
