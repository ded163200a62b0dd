/* libFuzzer target for the SDP parser, printer and helpers (sdp/). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "sdp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void in_text(const struct sdp *s, struct slice v)
{
	if (v.p && (v.p < s->raw.p || v.p + v.len > s->raw.p + s->raw.len))
		abort();
}

/* What sdp_print() writes parses again, to the same sections. */
static void reprint_check(const struct sdp *s, const struct sdp_origin *o,
			  struct arena *a, struct buf *out)
{
	struct sdp again;
	int err;

	if (sdp_print(s, o, out))
		abort();
	err = sdp_parse(buf_slice(out), a, &again);
	if (err == -E2BIG)
		return;
	if (err || again.nmedia != s->nmedia || again.nattrs != s->nattrs)
		abort();
	if (!o && !slice_eq(again.o_sess_id, s->o_sess_id))
		abort();
}

/* Every slice lies in the text; helpers agree; printing reparses. */
static void exercise(const struct sdp *s, struct arena *a)
{
	struct sdp_origin o = {.user = SL("-"),
			       .sess_id = 42,
			       .sess_version = UINT64_MAX,
			       .addrtype = SL("IP4"),
			       .addr = SL("192.0.2.1")};
	struct buf out;

	in_text(s, s->o_addr);
	in_text(s, s->session_name);
	for (uint16_t i = 0; i < s->nattrs; i++)
		in_text(s, s->attrs[i].value);
	for (uint16_t i = 0; i < s->nmedia; i++) {
		const struct sdp_media *m = &s->media[i];
		const struct sdp_conn *c = sdp_media_conn(s, m);
		enum sdp_dir d = sdp_media_dir(s, m);

		if (!c || m->nfmts == 0 || m->off + m->len > s->raw.len)
			abort();
		in_text(s, c->addr);
		for (uint16_t j = 0; j < m->nfmts; j++) {
			in_text(s, m->fmts[j].rtpmap);
			in_text(s, m->fmts[j].fmtp);
		}
		for (uint16_t j = 0; j < m->nattrs; j++)
			in_text(s, m->attrs[j].value);
		if (sdp_dir_answer(sdp_dir_answer(d)) != d)
			abort();
		if (!sdp_dir_name(d) || strcmp(sdp_dir_name(d), "?") == 0)
			abort();
		(void)sdp_media_is_hold(s, m);
	}

	buf_init(&out, 0);
	reprint_check(s, NULL, a, &out);
	buf_reset(&out);
	reprint_check(s, &o, a, &out);
	buf_close(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct sdp s;
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	arena_init(&a, NULL, 0, 1 << 20);
	if (sdp_parse(slice_make(copy, size), &a, &s) == 0)
		exercise(&s, &a);
	arena_close(&a);
	free(copy);
	return 0;
}
