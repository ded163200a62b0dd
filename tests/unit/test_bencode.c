/* Unit tests for bencode (BEP 3): the writer and the bounded reader. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "media/bencode.h"

enum { NODES = 1024, TEXT_MAX = 100000 };

struct fx {
	int64_t live_alloc, live_arena;
	struct arena a;
	char *copy; /* the text under test, exactly its length: ASan sees
		       any read past it */
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_arena = sb_live_get(SB_LIVE_ARENA);
	arena_init(&f.a, NULL, 0, 1 << 24);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	arena_close(&f->a);
	free(f->copy);
	sb_mem_fail_after(-1);
	assert_int_equal(sb_live_get(SB_LIVE_ARENA), f->live_arena);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

/* Parse len bytes of text from a heap copy of exactly that size, into
 * the fixture's arena, emptied first. */
static int parse_n(struct fx *f, const char *text, size_t len, uint32_t max,
		   const struct ben **out)
{
	arena_reset(&f->a);
	free(f->copy);
	f->copy = malloc(len ? len : 1);
	assert_non_null(f->copy);
	memcpy(f->copy, text, len);
	return ben_parse(slice_make(f->copy, len), &f->a, max, out);
}

static int parse(struct fx *f, const char *text, const struct ben **out)
{
	return parse_n(f, text, strlen(text), NODES, out);
}

static void assert_bad(struct fx *f, const char *text, int want)
{
	const struct ben *v = (const void *)0x1;
	int err = parse(f, text, &v);

	if (err != want)
		fail_msg("\"%s\": %d, want %d", text, err, want);
	/* Nothing is written on failure. */
	assert_ptr_equal(v, (const void *)0x1);
}

static void assert_slice(struct slice s, const char *want)
{
	if (!slice_is_set(s) || !slice_eq(s, slice_cstr(want)))
		fail_msg("\"%.*s\", want \"%s\"", s.p ? (int)s.len : 6,
			 s.p ? s.p : "(null)", want);
}

static void test_bencode_write(void **state)
{
	static const char want[] = "d3:cmd5:offer5:emptyi0e3:negi-42e"
				   "4:list"
				   "l0:3:a\0bi9223372036854775807e"
				   "i-9223372036854775808ee"
				   "3:subd1:xleee";
	struct buf b;

	buf_init(&b, 0);
	ben_dict(&b);
	ben_pair_cstr(&b, "cmd", "offer");
	ben_cstr(&b, "empty");
	ben_int(&b, 0);
	ben_cstr(&b, "neg");
	ben_int(&b, -42);
	ben_cstr(&b, "list");
	ben_list(&b);
	ben_str(&b, SL(""));
	ben_str(&b, slice_make("a\0b", 3));
	ben_int(&b, INT64_MAX);
	ben_int(&b, INT64_MIN);
	ben_end(&b);
	ben_cstr(&b, "sub");
	ben_dict(&b);
	ben_cstr(&b, "x");
	ben_list(&b);
	ben_end(&b);
	ben_end(&b);
	ben_end(&b);
	assert_int_equal(buf_error(&b), 0);
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.p, want, sizeof(want) - 1);
	buf_close(&b);
}

static void test_bencode_write_error_sticks(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	ben_dict(&b);
	ben_pair_cstr(&b, "command", "ping");
	ben_end(&b);
	assert_int_equal(buf_error(&b), -E2BIG);
	assert_true(b.len <= 8);
	buf_close(&b);
}

static void test_bencode_roundtrip(void **state)
{
	struct fx *f = *state;
	static const int64_t nums[] = {0,
				       1,
				       -1,
				       9,
				       10,
				       -10,
				       4096,
				       -4096,
				       INT32_MAX,
				       INT32_MIN,
				       INT64_MAX,
				       INT64_MIN,
				       INT64_MAX - 1,
				       INT64_MIN + 1};
	const struct ben *d, *l, *i;
	struct buf b;
	int64_t v;
	unsigned k = 0;

	buf_init(&b, 0);
	ben_dict(&b);
	ben_pair(&b, "sdp", SL("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"));
	ben_pair_cstr(&b, "call-id", "abc@host");
	ben_cstr(&b, "nums");
	ben_list(&b);
	for (size_t j = 0; j < sizeof(nums) / sizeof(nums[0]); j++)
		ben_int(&b, nums[j]);
	ben_end(&b);
	ben_cstr(&b, "ttl");
	ben_int(&b, 30);
	ben_pair(&b, "bin", slice_make("\0\xff e", 4));
	ben_end(&b);
	assert_int_equal(buf_error(&b), 0);

	assert_int_equal(parse_n(f, b.p, b.len, NODES, &d), 0);
	assert_int_equal(d->type, BEN_DICT);
	assert_int_equal(d->n, 5);
	assert_slice(ben_get_str(d, "sdp"),
		     "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
	assert_slice(ben_get_str(d, "call-id"), "abc@host");
	assert_true(slice_eq(ben_get_str(d, "bin"), slice_make("\0\xff e", 4)));
	/* Zero-copy: strings point into the parsed text. */
	assert_true(ben_get_str(d, "sdp").p > f->copy &&
		    ben_get_str(d, "sdp").p < f->copy + b.len);
	assert_int_equal(ben_get_int(d, "ttl", &v), 0);
	assert_int_equal(v, 30);
	l = ben_get(d, "nums");
	assert_non_null(l);
	assert_int_equal(l->type, BEN_LIST);
	assert_int_equal(l->n, sizeof(nums) / sizeof(nums[0]));
	for (i = l->child; i; i = i->next, k++) {
		assert_int_equal(i->type, BEN_INT);
		assert_false(slice_is_set(i->key));
		if (i->num != nums[k])
			fail_msg("item %u: %lld, want %lld", k,
				 (long long)i->num, (long long)nums[k]);
	}
	assert_int_equal(k, l->n);
	buf_close(&b);
}

/* Random integers survive writing and reading. */
static void test_bencode_int_roundtrip_random(void **state)
{
	struct fx *f = *state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	const struct ben *v;
	struct buf b;

	buf_init(&b, 0);
	for (int j = 0; j < 2000; j++) {
		int64_t n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = (int64_t)(x >> (j % 64));
		if (j & 1)
			n = -n;
		buf_reset(&b);
		ben_int(&b, n);
		assert_int_equal(parse_n(f, b.p, b.len, 1, &v), 0);
		assert_int_equal(v->type, BEN_INT);
		assert_true(v->num == n);
	}
	buf_close(&b);
}

static void test_bencode_nested_lookup(void **state)
{
	struct fx *f = *state;
	const struct ben *d, *tags, *sub, *x;
	int64_t v = 7;

	assert_int_equal(
	    parse(f,
		  "d6:result2:ok4:tagsd4:fromd5:medialld4:typei1eeeeee"
		  "2:id3:abc1:ni-3e3:dup1:11:lli0ei1ee3:dup1:2e",
		  &d),
	    0);
	assert_int_equal(d->n, 7);
	assert_slice(ben_get_str(d, "result"), "ok");
	tags = ben_get(d, "tags");
	assert_non_null(tags);
	sub = ben_get(ben_get(tags, "from"), "medias");
	assert_null(sub);
	sub = ben_get(ben_get(tags, "from"), "media");
	assert_non_null(sub);
	assert_int_equal(sub->type, BEN_LIST);
	assert_int_equal(sub->n, 1);
	assert_int_equal(sub->child->type, BEN_LIST);
	x = sub->child->child;
	assert_int_equal(x->type, BEN_DICT);
	assert_int_equal(ben_get_int(x, "type", &v), 0);
	assert_int_equal(v, 1);
	/* Keys are exact: no prefix or case folding. */
	assert_null(ben_get(d, "i"));
	assert_null(ben_get(d, "ID"));
	assert_null(ben_get(d, "idx"));
	assert_slice(ben_get_str(d, "id"), "abc");
	/* The first of a repeated key. */
	assert_slice(ben_get_str(d, "dup"), "1");
	/* Wrong types and non-dictionaries. */
	v = 7;
	assert_int_equal(ben_get_int(d, "id", &v), -ENOENT);
	assert_int_equal(ben_get_int(d, "none", &v), -ENOENT);
	assert_int_equal(v, 7);
	assert_int_equal(ben_get_int(d, "n", &v), 0);
	assert_int_equal(v, -3);
	assert_false(slice_is_set(ben_get_str(d, "n")));
	assert_false(slice_is_set(ben_get_str(d, "none")));
	assert_null(ben_get(ben_get(d, "l"), "a"));
	assert_null(ben_get(NULL, "a"));
	assert_false(slice_is_set(ben_get_str(NULL, "a")));
	/* An empty string is present, not absent. */
	assert_int_equal(parse(f, "d1:a0:e", &d), 0);
	assert_true(slice_is_set(ben_get_str(d, "a")));
	assert_int_equal(ben_get_str(d, "a").len, 0);
	/* Empty containers. */
	assert_int_equal(parse(f, "le", &d), 0);
	assert_int_equal(d->type, BEN_LIST);
	assert_int_equal(d->n, 0);
	assert_null(d->child);
	assert_int_equal(parse(f, "de", &d), 0);
	assert_int_equal(d->type, BEN_DICT);
	assert_null(ben_get(d, ""));
	assert_int_equal(parse(f, "d0:i5ee", &d), 0);
	assert_int_equal(ben_get_int(d, "", &v), 0);
	assert_int_equal(v, 5);
}

static void test_bencode_ints(void **state)
{
	struct fx *f = *state;
	const struct ben *v;

	assert_int_equal(parse(f, "i0e", &v), 0);
	assert_int_equal(v->num, 0);
	assert_int_equal(parse(f, "i-1e", &v), 0);
	assert_int_equal(v->num, -1);
	assert_int_equal(parse(f, "i10e", &v), 0);
	assert_int_equal(v->num, 10);
	assert_int_equal(parse(f, "i9223372036854775807e", &v), 0);
	assert_true(v->num == INT64_MAX);
	assert_int_equal(parse(f, "i-9223372036854775808e", &v), 0);
	assert_true(v->num == INT64_MIN);

	/* BEP 3: no leading zeros, no negative zero. */
	assert_bad(f, "i-0e", -EBADMSG);
	assert_bad(f, "i00e", -EBADMSG);
	assert_bad(f, "i01e", -EBADMSG);
	assert_bad(f, "i-01e", -EBADMSG);
	assert_bad(f, "i-00e", -EBADMSG);
	/* Overflow of int64_t, by one and by far. */
	assert_bad(f, "i9223372036854775808e", -EBADMSG);
	assert_bad(f, "i-9223372036854775809e", -EBADMSG);
	assert_bad(f, "i18446744073709551616e", -EBADMSG);
	assert_bad(f, "i99999999999999999999999999999999999999e", -EBADMSG);
	/* Not integers. */
	assert_bad(f, "ie", -EBADMSG);
	assert_bad(f, "i-e", -EBADMSG);
	assert_bad(f, "i--1e", -EBADMSG);
	assert_bad(f, "i+1e", -EBADMSG);
	assert_bad(f, "i 1e", -EBADMSG);
	assert_bad(f, "i1 e", -EBADMSG);
	assert_bad(f, "i1.5e", -EBADMSG);
	assert_bad(f, "i0x1e", -EBADMSG);
	assert_bad(f, "i1", -EBADMSG);
	assert_bad(f, "i", -EBADMSG);
	assert_bad(f, "i-", -EBADMSG);
}

static void test_bencode_strings(void **state)
{
	struct fx *f = *state;
	const struct ben *v;

	assert_int_equal(parse(f, "0:", &v), 0);
	assert_int_equal(v->type, BEN_STR);
	assert_int_equal(v->str.len, 0);
	assert_non_null(v->str.p);
	assert_int_equal(parse(f, "3:e:i", &v), 0);
	assert_slice(v->str, "e:i");
	assert_int_equal(parse(f, "10:0123456789", &v), 0);
	assert_int_equal(v->str.len, 10);

	/* The length must fit in what is left of the text. */
	assert_bad(f, "5:abcd", -EBADMSG);
	assert_bad(f, "1:", -EBADMSG);
	assert_bad(f, "18446744073709551615:x", -EBADMSG);
	assert_bad(f, "18446744073709551616:x", -EBADMSG);
	assert_bad(f, "99999999999999999999999999999999999999:x", -EBADMSG);
	assert_bad(f, "d3:key4294967296:xe", -EBADMSG);
	/* Malformed lengths. */
	assert_bad(f, "01:a", -EBADMSG);
	assert_bad(f, "00:", -EBADMSG);
	assert_bad(f, "-1:a", -EBADMSG);
	assert_bad(f, ":abc", -EBADMSG);
	assert_bad(f, "3abc", -EBADMSG);
	assert_bad(f, "3", -EBADMSG);
	assert_bad(f, "3 :abc", -EBADMSG);
}

static void test_bencode_structure_bad(void **state)
{
	struct fx *f = *state;
	const struct ben *v = NULL;

	assert_bad(f, "", -EBADMSG);
	assert_int_equal(ben_parse((struct slice){0}, &f->a, 0, &v), -EBADMSG);
	assert_null(v);
	assert_bad(f, "e", -EBADMSG);
	assert_bad(f, "x", -EBADMSG);
	assert_bad(f, " i1e", -EBADMSG);
	assert_bad(f, "l", -EBADMSG);
	assert_bad(f, "d", -EBADMSG);
	assert_bad(f, "li1e", -EBADMSG);
	assert_bad(f, "d1:a", -EBADMSG);
	assert_bad(f, "d1:ae", -EBADMSG);
	assert_bad(f, "lxe", -EBADMSG);
	/* Keys must be strings. */
	assert_bad(f, "di1ei2ee", -EBADMSG);
	assert_bad(f, "dlei2ee", -EBADMSG);
	assert_bad(f, "ddei2ee", -EBADMSG);
	assert_bad(f, "d1:ai1ei2ei3ee", -EBADMSG);
	/* Exactly one value, nothing after it. */
	assert_bad(f, "i1ei2e", -EBADMSG);
	assert_bad(f, "dee", -EBADMSG);
	assert_bad(f, "lee", -EBADMSG);
	assert_bad(f, "0:0:", -EBADMSG);
	assert_bad(f, "de ", -EBADMSG);
	assert_bad(f, "de\n", -EBADMSG);
	assert_int_equal(parse_n(f, "de\0", 3, NODES, &v), -EBADMSG);
}

/* Every proper prefix of a valid reply is refused, within its bytes. */
static void test_bencode_truncated(void **state)
{
	struct fx *f = *state;
	static const char reply[] =
	    "d6:result2:ok3:sdp10:v=0\r\no=- 14:listli-12e0:d1:xi0eee"
	    "3:numi123456789e"
	    "e";
	const struct ben *v;

	assert_int_equal(parse(f, reply, &v), 0);
	assert_int_equal(v->n, 4);
	for (size_t n = 0; n < sizeof(reply) - 1; n++) {
		int err = parse_n(f, reply, n, NODES, &v);

		if (err != -EBADMSG)
			fail_msg("prefix of %zu bytes: %d", n, err);
	}
}

/* a n times, then b m times, then c k times: a new string. */
static char *rep3(const char *a, size_t n, const char *b, size_t m,
		  const char *c, size_t k)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(n * la + m * lb + k * lc + 1);
	char *p = s;

	assert_non_null(s);
	for (size_t i = 0; i < n; i++, p += la)
		memcpy(p, a, la);
	for (size_t i = 0; i < m; i++, p += lb)
		memcpy(p, b, lb);
	for (size_t i = 0; i < k; i++, p += lc)
		memcpy(p, c, lc);
	*p = '\0';
	return s;
}

static void test_bencode_depth(void **state)
{
	struct fx *f = *state;
	const struct ben *v;
	char *s;

	/* BEN_DEPTH_MAX lists deep is fine, one more is not. */
	s = rep3("l", BEN_DEPTH_MAX, "", 0, "e", BEN_DEPTH_MAX);
	assert_int_equal(parse(f, s, &v), 0);
	for (int i = 1; i < BEN_DEPTH_MAX; i++) {
		assert_int_equal(v->type, BEN_LIST);
		assert_int_equal(v->n, 1);
		v = v->child;
	}
	assert_int_equal(v->n, 0);
	free(s);
	s = rep3("l", BEN_DEPTH_MAX + 1, "", 0, "e", BEN_DEPTH_MAX + 1);
	assert_bad(f, s, -E2BIG);
	free(s);
	/* The same with dictionaries. */
	s = rep3("d1:k", BEN_DEPTH_MAX - 1, "de", 1, "e", BEN_DEPTH_MAX - 1);
	assert_int_equal(parse(f, s, &v), 0);
	free(s);
	s = rep3("d1:k", BEN_DEPTH_MAX, "de", 1, "e", BEN_DEPTH_MAX);
	assert_bad(f, s, -E2BIG);
	free(s);
	/* Depth bombs: far too deep, never closed. */
	s = rep3("l", TEXT_MAX, "", 0, "", 0);
	assert_bad(f, s, -E2BIG);
	free(s);
	s = rep3("ld1:a", TEXT_MAX / 5, "", 0, "", 0);
	assert_bad(f, s, -E2BIG);
	free(s);
	/* Deep but within the limit, many times over: no stack growth. */
	s = rep3("l", 1,
		 "lllllllllllllllllllllllllllllleeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
		 TEXT_MAX / 60, "e", 1);
	assert_int_equal(parse_n(f, s, strlen(s), 0, &v), 0);
	assert_int_equal(v->n, TEXT_MAX / 60);
	free(s);
}

static void test_bencode_max_nodes(void **state)
{
	struct fx *f = *state;
	const struct ben *v;
	char *s;

	/* Four values: the list and its three items (keys do not count). */
	assert_int_equal(parse_n(f, "li1ei2ei3ee", 11, 4, &v), 0);
	assert_int_equal(parse_n(f, "li1ei2ei3ee", 11, 3, &v), -E2BIG);
	assert_int_equal(parse_n(f, "d1:ai1e1:bi2ee", 14, 3, &v), 0);
	assert_int_equal(parse_n(f, "d1:ai1e1:bi2ee", 14, 2, &v), -E2BIG);
	assert_int_equal(parse_n(f, "i1e", 3, 1, &v), 0);
	/* 0: no limit but the arena's. */
	s = rep3("l", 1, "0:", TEXT_MAX / 2, "e", 1);
	assert_int_equal(parse_n(f, s, strlen(s), 0, &v), 0);
	assert_int_equal(v->n, TEXT_MAX / 2);
	assert_int_equal(parse_n(f, s, strlen(s), TEXT_MAX / 2 + 1, &v), 0);
	assert_int_equal(parse_n(f, s, strlen(s), TEXT_MAX / 2, &v), -E2BIG);
	free(s);
}

static void test_bencode_arena_limit(void **state)
{
	const struct ben *v;
	struct arena small;
	char first[256];

	arena_init(&small, first, sizeof(first), sizeof(first));
	assert_int_equal(
	    ben_parse(SL("li1ei2ei3ei4ei5ei6ei7ei8ei9ee"), &small, 0, &v),
	    -ENOMEM);
	arena_close(&small);

	/* OOM: the arena's first chunk cannot be had. */
	arena_init(&small, NULL, 0, 0);
	sb_mem_fail_after(0);
	assert_int_equal(ben_parse(SL("i1e"), &small, 0, &v), -ENOMEM);
	sb_mem_fail_after(-1);
	assert_int_equal(ben_parse(SL("i1e"), &small, 0, &v), 0);
	assert_int_equal(v->num, 1);
	arena_close(&small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bencode_write, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_write_error_sticks,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_roundtrip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_int_roundtrip_random,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_nested_lookup, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_ints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_strings, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_structure_bad, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_truncated, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_depth, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_max_nodes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bencode_arena_limit, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
