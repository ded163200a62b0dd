/* Shared cmocka fixture for tests that parse one message at a time. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_TESTS_UNIT_MSG_FX_H
#define SB_TESTS_UNIT_MSG_FX_H

/* Include after <cmocka.h> (and its prerequisites). */
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/limits.h"
#include "base/mem.h"
#include "sip/msg/msg.h"

/* One parsed message, an output buffer, and the live counts at setup. */
struct fx {
	int64_t live_alloc, live_arena;
	struct arena arena;
	struct sb_limits lim;
	struct sip_msg msg;
	struct sip_perr perr;
	struct buf out;
	char raw[4096];
};

static inline int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_arena = sb_live_get(SB_LIVE_ARENA);
	f.lim = sb_limits_default();
	arena_init(&f.arena, NULL, 0, 0);
	buf_init(&f.out, 0);
	*state = &f;
	return 0;
}

/* Frees everything and checks the live counts are back at setup's. */
static inline int teardown(void **state)
{
	struct fx *f = *state;

	buf_close(&f->out);
	arena_close(&f->arena);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	assert_int_equal(sb_live_get(SB_LIVE_ARENA), f->live_arena);
	return 0;
}

/* Parse a copy of text (parsing unfolds in place); returns the error. */
static inline int fx_parse(struct fx *f, const char *text)
{
	size_t len = strlen(text);

	assert_true(len < sizeof(f->raw));
	memcpy(f->raw, text, len);
	return sip_msg_parse(&f->msg, &f->arena, f->raw, len,
			     SIP_FRAMING_DATAGRAM, &f->lim, &f->perr);
}

/* The buffer holds exactly want; prints both on a mismatch. */
static inline void assert_out(const struct buf *b, const char *want)
{
	if (b->len != strlen(want) || memcmp(b->p, want, b->len) != 0) {
		print_error("got:\n%.*s\nwant:\n%s\n", (int)b->len,
			    b->p ? b->p : "", want);
		fail();
	}
}

#endif
