/* libFuzzer target for the SDP parser, printer and helpers (sdp/). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "sdp/anchor.h"
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

/* A codec-filtered selection is a subset of the section's formats. */
static void sel_check(const struct sdp *s, const struct sdp_fmt_sel *sel)
{
	for (uint16_t i = 0; i < s->nmedia; i++) {
		const struct sdp_media *m = &s->media[i];
		int pt = sdp_media_dtmf_pt(m);

		if (pt < -1 || pt > 127 || sel[i].nkeep > m->nfmts)
			abort();
		for (uint8_t k = 0; k < sel[i].nkeep; k++)
			if (sel[i].keep[k] >= m->nfmts)
				abort();
		for (uint16_t j = 0; j < m->nfmts; j++)
			if (sdp_fmt_clock(&m->fmts[j]) == 0)
				abort();
	}
}

/*
 * Anchor s as a B2BUA would (codec policy, IPv6 relay address, ports, no
 * ICE): the result parses again to as many sections, with ours.
 */
static void anchor_check(const struct sdp *s, struct arena *a, struct buf *out)
{
	static const struct sdp_codec_policy policy = {
	    .allow = {"opus", "G722", "PCMA", "PCMU", "G729"},
	    .nallow = 5,
	    .strip = {"G729"},
	    .nstrip = 1,
	    .keep_dtmf = true,
	};
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	struct sdp_rewrite rw = {.addr = SL("2001:db8::1"),
				 .is_ip6 = true,
				 .is_ice_dropped = true,
				 .sel = sel};
	struct sdp again;
	int err;

	err = sdp_codecs_apply(s, &policy, sel);
	if (err && err != -ENOENT)
		abort();
	sel_check(s, sel);
	for (uint16_t i = 0; i < SDP_MEDIA_MAX; i++)
		rw.streams[i] = (struct sdp_stream_rw){
		    .port = (uint16_t)(40000 + 2 * i),
		    .rtcp_port = i % 2 ? 0 : (uint16_t)(40001 + 2 * i)};
	if (sdp_print_rw(s, NULL, &rw, out))
		abort();
	err = sdp_parse(buf_slice(out), a, &again);
	if (err == -E2BIG)
		return;
	if (err || again.nmedia != s->nmedia)
		abort();
	for (uint16_t i = 0; i < again.nmedia; i++) {
		const struct sdp_conn *c =
		    sdp_media_conn(&again, &again.media[i]);

		if (!c || !slice_eq(c->addr, rw.addr))
			abort();
		if (sel[i].is_filtered && sel[i].nkeep &&
		    again.media[i].nfmts != sel[i].nkeep)
			abort();
		if (sel[i].is_filtered && !sel[i].nkeep &&
		    again.media[i].port != 0)
			abort();
	}
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
	buf_reset(&out);
	anchor_check(s, a, &out);
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
