/* SDP for one leg of an anchored or codec-filtered call. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SDP_ANCHOR_H
#define SB_SDP_ANCHOR_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "sdp/oa.h"
#include "sdp/sdp.h"

/*
 * Codec policy (per route): which audio formats a description may carry
 * and in which order. Names compare case-insensitively with the encoding
 * name of a format's rtpmap ("PCMU" of "PCMU/8000"), or, for a static
 * payload type without rtpmap, its RFC 3551 name (0 PCMU, 3 GSM, 4 G723,
 * 8 PCMA, 9 G722, 18 G729). telephone-event formats are kept whatever the
 * lists say when keep_dtmf is set. Only audio m= sections are filtered.
 */
enum { SDP_CODECS_MAX = 16 };

struct sdp_codec_policy {
	const char *allow[SDP_CODECS_MAX]; /* none: every codec; else only
					      these, in this order */
	uint8_t nallow;
	const char *strip[SDP_CODECS_MAX]; /* removed (after allow) */
	uint8_t nstrip;
	bool keep_dtmf; /* telephone-event survives both lists */
};

/* The formats of each m= section to print, by index into its fmts, in
 * order. nkeep 0 on a section that had formats: the section is rejected
 * (port 0, RFC 3264 6) and printed with its original format list. */
struct sdp_fmt_sel {
	uint8_t keep[SDP_FMTS_MAX];
	uint8_t nkeep;
	bool is_filtered; /* false: print the section's formats as they are */
};

/*
 * Apply policy p to s into sel[0..s->nmedia-1]. Non-audio sections and
 * sections with port 0 are left unfiltered; an audio section left with
 * telephone-event only is rejected (nkeep 0). Returns 0, or -ENOENT when
 * s offered at least one audio section with a port and none of them keeps
 * a codec other than telephone-event (no common codec: 488, RFC 3261
 * 21.4.26). p NULL: nothing filtered, 0.
 */
int sdp_codecs_apply(const struct sdp *s, const struct sdp_codec_policy *p,
		     struct sdp_fmt_sel sel[SDP_MEDIA_MAX]);

/* The clock rate of format f (its rtpmap's "/rate", else the static
 * payload type's, else 8000). */
uint32_t sdp_fmt_clock(const struct sdp_fmt *f);
/* The payload type number of the first telephone-event format of m at
 * clock rate 8000 (any rate when none is), or -1. */
int sdp_media_dtmf_pt(const struct sdp_media *m);

/* What changes in each m= section when printed for one leg. */
struct sdp_stream_rw {
	uint16_t port;	    /* new m= port (no "/n"); 0: keep the section's
			       (a section with port 0 keeps it) */
	uint16_t rtcp_port; /* a=rtcp to print in place of the section's
			       (RFC 3605, with our address); 0, or a section
			       printed with port 0: drop any */
};

struct sdp_rewrite {
	/* Our address for every c= line (session and media level) when set:
	 * "IN IP4 a" or "IN IP6 a" (no brackets; a section's further c=
	 * lines are dropped). Unset: c= lines kept. */
	struct slice addr;
	bool is_ip6;
	struct sdp_stream_rw streams[SDP_MEDIA_MAX]; /* used when addr set */
	/* ICE attributes dropped (candidate, remote-candidates,
	 * end-of-candidates, ice-ufrag, ice-pwd, ice-options, ice-lite, ice-
	 * mismatch): the relay is the only address the other side learns. */
	bool is_ice_dropped;
	const struct sdp_fmt_sel *sel; /* NULL: formats as they are */
};

/*
 * Print s as sdp_print() does (o= replaced by origin when given), changed
 * by rw (NULL: no change): c= lines, m= ports and format lists, a=rtcp,
 * ICE attributes, and the a=rtpmap, a=fmtp and a=rtcp-fb lines of formats
 * that were filtered out (rtcp-fb "*" stays). What it prints parses again
 * with sdp_parse() to as many m= sections. 0 or a buf error.
 */
int sdp_print_rw(const struct sdp *s, const struct sdp_origin *origin,
		 const struct sdp_rewrite *rw, struct buf *out);

/* sdp_leg_print() with a rewrite: the leg's o= (version bumped when the
 * printed result differs from the last one sent). */
int sdp_leg_print_rw(struct sdp_leg *l, const struct sdp *s,
		     const struct sdp_rewrite *rw, struct buf *out);

#endif
