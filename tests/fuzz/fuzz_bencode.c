/* libFuzzer target for the bencode reader (rtpengine's ng replies). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "media/bencode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NODES = 16384 };

static void in_text(struct slice text, struct slice s)
{
	if (s.p && (s.p < text.p || s.len > text.len ||
		    s.p + s.len > text.p + text.len))
		abort();
}

/* ben_get() finds the first item with i's key (keys with a NUL cannot
 * be asked for). */
static void key_check(const struct ben *d, const struct ben *i)
{
	const struct ben *first = d->child;
	char k[64];

	if (i->key.len >= sizeof(k) || memchr(i->key.p, '\0', i->key.len))
		return;
	while (!slice_eq(first->key, i->key))
		first = first->next;
	memcpy(k, i->key.p, i->key.len);
	k[i->key.len] = '\0';
	if (ben_get(d, k) != first)
		abort();
}

/*
 * Check v (depth lists and dictionaries deep) and write it again into
 * out. The reader takes canonical text only (no leading zeros, no "-0")
 * and keeps the order of items, so writing gives the text back.
 */
static void walk(struct slice text, const struct ben *v, unsigned depth,
		 uint32_t *nodes, struct buf *out)
{
	uint32_t n = 0;
	int64_t x;

	if (depth > BEN_DEPTH_MAX || ++*nodes > NODES)
		abort();
	switch (v->type) {
	case BEN_INT:
		ben_int(out, v->num);
		return;
	case BEN_STR:
		in_text(text, v->str);
		if (!v->str.p)
			abort();
		ben_str(out, v->str);
		return;
	case BEN_LIST:
	case BEN_DICT:
		if (depth >= BEN_DEPTH_MAX)
			abort();
		buf_append(out, v->type == BEN_LIST ? "l" : "d", 1);
		for (const struct ben *i = v->child; i; i = i->next, n++) {
			in_text(text, i->key);
			if ((v->type == BEN_DICT) != (i->key.p != NULL))
				abort();
			if (v->type == BEN_DICT) {
				ben_str(out, i->key);
				key_check(v, i);
			}
			walk(text, i, depth + 1, nodes, out);
		}
		if (n != v->n)
			abort();
		ben_end(out);
		(void)ben_get_str(v, "result");
		(void)ben_get_str(v, "sdp");
		(void)ben_get_str(v, "error-reason");
		(void)ben_get_int(v, "created", &x);
		return;
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct slice text = slice_make(copy, size);
	const struct ben *v;
	uint32_t nodes = 0;
	struct arena a;
	struct buf out;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	arena_init(&a, NULL, 0, 4 << 20);
	buf_init(&out, 0);
	if (ben_parse(text, &a, NODES, &v) == 0) {
		walk(text, v, 0, &nodes, &out);
		if (buf_error(&out) || !slice_eq(buf_slice(&out), text))
			abort();
	}
	buf_close(&out);
	arena_close(&a);
	free(copy);
	return 0;
}
