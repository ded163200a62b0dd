/* bencode (BEP 3), the encoding of rtpengine's ng protocol: a writer into
 * a buf and a zero-copy reader with limits. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_MEDIA_BENCODE_H
#define SB_MEDIA_BENCODE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/slice.h"

enum ben_type { BEN_INT, BEN_STR, BEN_LIST, BEN_DICT };

enum {
	BEN_DEPTH_MAX = 32, /* nesting of lists and dictionaries */
};

/*
 * A parsed value. Strings point into the parsed text (which must outlive
 * the nodes). A list's or dictionary's items are a chain from child
 * through next; a dictionary item has its key in key.
 */
struct ben {
	enum ben_type type;
	struct slice str; /* BEN_STR */
	int64_t num;	  /* BEN_INT */
	struct ben *child;
	struct ben *next;
	struct slice key; /* an item of a dictionary: its key */
	uint32_t n;	  /* BEN_LIST, BEN_DICT: number of items */
};

/*
 * Parse text, which must hold exactly one value and nothing after it,
 * into nodes from a. At most max_nodes values (0: no limit other than the
 * arena's), nested at most BEN_DEPTH_MAX deep. Integers must fit in
 * int64_t and have no leading zeros or "-0" (BEP 3); string lengths must
 * fit in the text. Dictionary keys must be strings (order is not
 * checked). Returns 0 and *out, -EBADMSG, -E2BIG (too deep or too many
 * nodes), -ENOMEM.
 */
int ben_parse(struct slice text, struct arena *a, uint32_t max_nodes,
	      const struct ben **out);

/* The value at key in dictionary d (NULL when d is not a dictionary or
 * lacks it); the first when a key repeats. */
const struct ben *ben_get(const struct ben *d, const char *key);
/* The string at key in d, or an empty slice (p NULL) when absent or not
 * a string. */
struct slice ben_get_str(const struct ben *d, const char *key);
/* The integer at key in d into *v: 0, or -ENOENT (absent or no integer). */
int ben_get_int(const struct ben *d, const char *key, int64_t *v);

/* The writer: appends to b (errors stick in b, see buf_error()). A
 * dictionary's keys must be written in sorted order by the caller when
 * the peer cares (rtpengine does not). */
void ben_str(struct buf *b, struct slice s);
void ben_cstr(struct buf *b, const char *s);
void ben_int(struct buf *b, int64_t v);
void ben_dict(struct buf *b); /* 'd' ... ben_end() */
void ben_list(struct buf *b); /* 'l' ... ben_end() */
void ben_end(struct buf *b);
/* key and a string value, inside a dictionary */
void ben_pair(struct buf *b, const char *key, struct slice val);
void ben_pair_cstr(struct buf *b, const char *key, const char *val);

#endif
