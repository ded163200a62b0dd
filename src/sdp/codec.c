/* SDP codec policy: which formats of an audio m= section survive, in order. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "sdp/anchor.h"

/* A payload type assigned statically, with its encoding name and clock. */
struct static_pt {
	uint8_t pt;
	const char *name;
	uint32_t clock_hz;
};

/* RFC 3551 6, tables 4 and 5 (audio, then video). */
static const struct static_pt static_pts[] = {
    {0, "PCMU", 8000},	 {3, "GSM", 8000},    {4, "G723", 8000},
    {5, "DVI4", 8000},	 {6, "DVI4", 16000},  {7, "LPC", 8000},
    {8, "PCMA", 8000},	 {9, "G722", 8000},   {10, "L16", 44100},
    {11, "L16", 44100},	 {12, "QCELP", 8000}, {13, "CN", 8000},
    {14, "MPA", 90000},	 {15, "G728", 8000},  {16, "DVI4", 11025},
    {17, "DVI4", 22050}, {18, "G729", 8000},  {25, "CelB", 90000},
    {26, "JPEG", 90000}, {28, "nv", 90000},   {31, "H261", 90000},
    {32, "MPV", 90000},	 {33, "MP2T", 90000}, {34, "H263", 90000},
};

/* The payload type number of f, or -1 when it is not one (RFC 3550 5.1). */
static int pt_number(const struct sdp_fmt *f)
{
	uint32_t pt;

	if (slice_to_u32(f->pt, &pt) || pt > 127)
		return -1;
	return (int)pt;
}

static const struct static_pt *static_of(const struct sdp_fmt *f)
{
	int pt = pt_number(f);

	for (size_t i = 0; i < sizeof(static_pts) / sizeof(static_pts[0]); i++)
		if (static_pts[i].pt == pt)
			return &static_pts[i];
	return NULL;
}

/* The encoding name: the rtpmap's up to its "/", else the static one. */
static struct slice fmt_name(const struct sdp_fmt *f)
{
	const struct static_pt *st;
	const char *slash;

	if (slice_is_set(f->rtpmap)) {
		slash = memchr(f->rtpmap.p, '/', f->rtpmap.len);
		return slice_make(f->rtpmap.p,
				  slash ? (size_t)(slash - f->rtpmap.p)
					: f->rtpmap.len);
	}
	st = static_of(f);
	return st ? slice_cstr(st->name) : slice_make(NULL, 0);
}

/* RFC 4566 6: a=rtpmap:<pt> <encoding name>/<clock rate>[/<params>] */
static bool rtpmap_rate(struct slice rtpmap, uint32_t *hz)
{
	const char *slash = memchr(rtpmap.p, '/', rtpmap.len), *end;
	struct slice rate;

	if (!slash)
		return false;
	rate =
	    slice_make(slash + 1, rtpmap.len - (size_t)(slash + 1 - rtpmap.p));
	end = memchr(rate.p, '/', rate.len);
	if (end)
		rate.len = (size_t)(end - rate.p);
	return slice_to_u32(rate, hz) == 0 && *hz > 0;
}

/* RFC 4733 7.1.1: the named telephone events. */
static bool is_dtmf(const struct sdp_fmt *f)
{
	return slice_caseeq_lit(fmt_name(f), "telephone-event");
}

static bool name_listed(struct slice name, const char *const *list, uint8_t n)
{
	if (n > SDP_CODECS_MAX)
		n = SDP_CODECS_MAX;
	for (uint8_t i = 0; i < n; i++)
		if (list[i] && slice_caseeq_lit(name, list[i]))
			return true;
	return false;
}

static bool is_kept(const struct sdp_fmt_sel *sel, uint8_t j)
{
	for (uint8_t k = 0; k < sel->nkeep; k++)
		if (sel->keep[k] == j)
			return true;
	return false;
}

static void keep_add(struct sdp_fmt_sel *sel, uint8_t j)
{
	if (!is_kept(sel, j))
		sel->keep[sel->nkeep++] = j;
}

/* The allowed formats in the allow list's order, or all in their own. */
static void allow_apply(const struct sdp_media *m,
			const struct sdp_codec_policy *p,
			struct sdp_fmt_sel *sel)
{
	uint8_t nallow =
	    p->nallow > SDP_CODECS_MAX ? SDP_CODECS_MAX : p->nallow;

	if (nallow == 0)
		for (uint8_t j = 0; j < m->nfmts; j++)
			keep_add(sel, j);
	for (uint8_t k = 0; k < nallow; k++) {
		if (!p->allow[k])
			continue;
		for (uint8_t j = 0; j < m->nfmts; j++)
			if (slice_caseeq_lit(fmt_name(&m->fmts[j]),
					     p->allow[k]))
				keep_add(sel, j);
	}
	/* Whatever the lists say, DTMF follows the allowed codecs. */
	if (p->keep_dtmf)
		for (uint8_t j = 0; j < m->nfmts; j++)
			if (is_dtmf(&m->fmts[j]))
				keep_add(sel, j);
}

static void strip_apply(const struct sdp_media *m,
			const struct sdp_codec_policy *p,
			struct sdp_fmt_sel *sel)
{
	uint8_t n = 0;

	for (uint8_t k = 0; k < sel->nkeep; k++) {
		const struct sdp_fmt *f = &m->fmts[sel->keep[k]];

		if (!(p->keep_dtmf && is_dtmf(f)) &&
		    name_listed(fmt_name(f), p->strip, p->nstrip))
			continue;
		sel->keep[n++] = sel->keep[k];
	}
	sel->nkeep = n;
}

/* Filter one audio section; false when it keeps no real codec. */
static bool media_filter(const struct sdp_media *m,
			 const struct sdp_codec_policy *p,
			 struct sdp_fmt_sel *sel)
{
	sel->is_filtered = true;
	allow_apply(m, p, sel);
	strip_apply(m, p, sel);
	for (uint8_t k = 0; k < sel->nkeep; k++)
		if (!is_dtmf(&m->fmts[sel->keep[k]]))
			return true;
	/* RFC 3264 6: a stream without a usable codec is rejected. */
	sel->nkeep = 0;
	return false;
}

int sdp_codecs_apply(const struct sdp *s, const struct sdp_codec_policy *p,
		     struct sdp_fmt_sel sel[SDP_MEDIA_MAX])
{
	bool has_audio = false, has_codec = false;

	memset(sel, 0, SDP_MEDIA_MAX * sizeof(*sel));
	if (!p)
		return 0;
	for (uint16_t i = 0; i < s->nmedia && i < SDP_MEDIA_MAX; i++) {
		const struct sdp_media *m = &s->media[i];

		if (m->port == 0 || !slice_caseeq_lit(m->type, "audio"))
			continue;
		has_audio = true;
		if (media_filter(m, p, &sel[i]))
			has_codec = true;
	}
	return has_audio && !has_codec ? -ENOENT : 0;
}

uint32_t sdp_fmt_clock(const struct sdp_fmt *f)
{
	const struct static_pt *st = static_of(f);
	uint32_t hz;

	if (slice_is_set(f->rtpmap) && rtpmap_rate(f->rtpmap, &hz))
		return hz;
	return st ? st->clock_hz : 8000;
}

int sdp_media_dtmf_pt(const struct sdp_media *m)
{
	int any = -1;

	for (uint16_t j = 0; j < m->nfmts; j++) {
		const struct sdp_fmt *f = &m->fmts[j];
		int pt = pt_number(f);

		if (pt < 0 || !is_dtmf(f))
			continue;
		if (sdp_fmt_clock(f) == 8000)
			return pt;
		if (any < 0)
			any = pt;
	}
	return any;
}
