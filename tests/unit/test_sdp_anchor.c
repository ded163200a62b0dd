/* Unit tests for codec policy and per-leg SDP rewriting (sdp/anchor). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/mem.h"
#include "sdp/anchor.h"

enum { MAX_COPIES = 32 };

/* Exact-size heap copies of the inputs, so ASan sees any overread. */
struct fx {
	int64_t live_alloc, live_arena;
	struct arena arena;
	struct buf out;
	char *copies[MAX_COPIES];
	size_t ncopies;
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_arena = sb_live_get(SB_LIVE_ARENA);
	arena_init(&f.arena, NULL, 0, 0);
	buf_init(&f.out, 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < f->ncopies; i++)
		free(f->copies[i]);
	buf_close(&f->out);
	arena_close(&f->arena);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	assert_int_equal(sb_live_get(SB_LIVE_ARENA), f->live_arena);
	return 0;
}

/* Parse a heap copy of text into *s; the text must be valid SDP. */
static void parse(struct fx *f, const char *text, struct sdp *s)
{
	size_t len = strlen(text);
	char *p = malloc(len);

	assert_non_null(p);
	assert_true(f->ncopies < MAX_COPIES);
	memcpy(p, text, len);
	f->copies[f->ncopies++] = p;
	assert_int_equal(sdp_parse(slice_make(p, len), &f->arena, s), 0);
}

/* Print s rewritten by rw into a fresh f->out and parse it into *again. */
static void print_rw(struct fx *f, const struct sdp *s,
		     const struct sdp_rewrite *rw, struct sdp *again)
{
	buf_reset(&f->out);
	assert_int_equal(sdp_print_rw(s, NULL, rw, &f->out), 0);
	assert_int_equal(sdp_parse(buf_slice(&f->out), &f->arena, again), 0);
	assert_int_equal(again->nmedia, s->nmedia);
}

static void assert_sl(struct slice s, const char *want)
{
	if (!s.p || s.len != strlen(want) || memcmp(s.p, want, s.len) != 0) {
		print_error("got '%.*s', want '%s'\n", s.p ? (int)s.len : 6,
			    s.p ? s.p : "(null)", want);
		fail();
	}
}

static void assert_out(const struct buf *b, const char *want)
{
	if (b->len != strlen(want) || memcmp(b->p, want, b->len) != 0) {
		print_error("got:\n%.*s\nwant:\n%s\n", (int)b->len,
			    b->p ? b->p : "", want);
		fail();
	}
}

/* The payload types of m, or those sel keeps of it, space-separated. */
static void assert_pts(const struct sdp_media *m, const struct sdp_fmt_sel *sel,
		       const char *want)
{
	char got[256] = "";
	size_t n = 0;
	uint16_t count = sel ? sel->nkeep : m->nfmts;

	for (uint16_t k = 0; k < count; k++) {
		const struct sdp_fmt *fmt = &m->fmts[sel ? sel->keep[k] : k];

		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%.*s",
				      k ? " " : "", SL_ARG(fmt->pt));
	}
	assert_string_equal(got, want);
}

/* How many lines of b start with prefix. */
static int lines_with(const struct buf *b, const char *prefix)
{
	const char *p = b->p, *end = b->p + b->len, *nl;
	size_t n = strlen(prefix);
	int count = 0;

	while (p && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)(end - p) >= n && memcmp(p, prefix, n) == 0)
			count++;
		p = nl ? nl + 1 : end;
	}
	return count;
}

/* Whether b holds exactly this line, CRLF-ended. */
static bool has_line(const struct buf *b, const char *line)
{
	char want[256];
	int n = snprintf(want, sizeof(want), "%s\r\n", line);
	const char *p = b->p, *end = b->p + b->len, *nl;

	while (p && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)(end - p) >= (size_t)n &&
		    memcmp(p, want, (size_t)n) == 0)
			return true;
		p = nl ? nl + 1 : end;
	}
	return false;
}

/* baresip offering opus, G722, PCMU, PCMA and DTMF. */
static const char baresip[] =
    "v=0\r\n"
    "o=- 1585430207 2409372532 IN IP4 192.168.1.20\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "t=0 0\r\n"
    "m=audio 10000 RTP/AVP 96 9 0 8 101\r\n"
    "b=AS:128\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=ssrc:1952893021 cname:2b9a7c1e-6d3f-4c52-9d0e-0e3a51c6a1f4\r\n";

/* The same phone after moving: another address and port, o= bumped. */
static const char baresip_moved[] =
    "v=0\r\n"
    "o=- 1585430207 2409372533 IN IP4 192.168.1.99\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.1.99\r\n"
    "t=0 0\r\n"
    "m=audio 10010 RTP/AVP 96 9 0 8 101\r\n"
    "b=AS:128\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=ssrc:1952893021 cname:2b9a7c1e-6d3f-4c52-9d0e-0e3a51c6a1f4\r\n";

/* A Polycom desk phone: session direction, a=rtcp, ptime. */
static const char polycom[] = "v=0\r\n"
			      "o=- 1718037350 1718037350 IN IP4 10.1.2.3\r\n"
			      "s=Polycom IP Phone\r\n"
			      "c=IN IP4 10.1.2.3\r\n"
			      "t=0 0\r\n"
			      "a=sendrecv\r\n"
			      "m=audio 2222 RTP/AVP 9 102 0 8 18 127\r\n"
			      "a=rtpmap:9 G722/8000\r\n"
			      "a=rtpmap:102 G7221/16000\r\n"
			      "a=fmtp:102 bitrate=32000\r\n"
			      "a=rtpmap:0 PCMU/8000\r\n"
			      "a=rtpmap:8 PCMA/8000\r\n"
			      "a=rtpmap:18 G729/8000\r\n"
			      "a=fmtp:18 annexb=no\r\n"
			      "a=rtpmap:127 telephone-event/8000\r\n"
			      "a=rtcp:2223 IN IP4 10.1.2.3\r\n"
			      "a=ptime:20\r\n";

/* A browser: no session c=, ICE candidates, rtcp-mux, DTMF at two rates. */
static const char webrtc[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=ice-options:trickle\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 54400 UDP/TLS/RTP/SAVPF 111 63 9 0 8 110 126\r\n"
    "c=IN IP4 203.0.113.5\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1467250027 1 udp 2122260223 192.168.1.5 54400 typ host "
    "generation 0\r\n"
    "a=candidate:435653019 1 udp 1686052607 203.0.113.5 54400 typ srflx "
    "raddr 192.168.1.5 rport 54400 generation 0\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
    "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24"
    ":2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=rtcp-fb:* nack\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
    "a=mid:1\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n";

/* A gateway listing static payload types only, without rtpmap. */
static const char gateway[] = "v=0\r\n"
			      "o=CiscoSystemsSIP-GW-UserAgent 4567 8910 IN "
			      "IP4 198.51.100.20\r\n"
			      "s=SIP Call\r\n"
			      "c=IN IP4 198.51.100.20\r\n"
			      "t=0 0\r\n"
			      "m=audio 16384 RTP/AVP 18 0 8 3 13\r\n"
			      "a=fmtp:18 annexb=no\r\n";

static void test_sdp_anchor_allow_order(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy p = {
	    .allow = {"PCMA", "PCMU", "opus"}, .nallow = 3, .keep_dtmf = true};
	struct sdp_rewrite rw = {.sel = sel};

	parse(f, baresip, &s);
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_true(sel[0].is_filtered);
	assert_pts(&s.media[0], &sel[0], "8 0 96 101");
	print_rw(f, &s, &rw, &again);
	assert_true(has_line(&f->out, "m=audio 10000 RTP/AVP 8 0 96 101"));
	assert_pts(&again.media[0], NULL, "8 0 96 101");
	assert_sl(again.media[0].fmts[2].rtpmap, "opus/48000/2");
	assert_sl(again.media[0].fmts[2].fmtp, "stereo=1;sprop-stereo=1");
	assert_sl(again.media[0].fmts[3].fmtp, "0-15");
	assert_false(has_line(&f->out, "a=rtpmap:9 G722/8000"));
	/* No address given: c= and the port stay. */
	assert_true(has_line(&f->out, "c=IN IP4 192.168.1.20"));
	assert_true(has_line(&f->out, "b=AS:128"));
}

static void test_sdp_anchor_strip(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy strip = {
	    .strip = {"G729", "G7221"}, .nstrip = 2, .keep_dtmf = true};
	const struct sdp_codec_policy both = {.allow = {"G729", "PCMU", "G722"},
					      .nallow = 3,
					      .strip = {"G729"},
					      .nstrip = 1,
					      .keep_dtmf = true};
	struct sdp_rewrite rw = {.sel = sel};

	parse(f, polycom, &s);
	assert_int_equal(sdp_codecs_apply(&s, &strip, sel), 0);
	assert_pts(&s.media[0], &sel[0], "9 0 8 127");
	print_rw(f, &s, &rw, &again);
	assert_out(&f->out, "v=0\r\n"
			    "o=- 1718037350 1718037350 IN IP4 10.1.2.3\r\n"
			    "s=Polycom IP Phone\r\n"
			    "c=IN IP4 10.1.2.3\r\n"
			    "t=0 0\r\n"
			    "a=sendrecv\r\n"
			    "m=audio 2222 RTP/AVP 9 0 8 127\r\n"
			    "a=rtpmap:9 G722/8000\r\n"
			    "a=rtpmap:0 PCMU/8000\r\n"
			    "a=rtpmap:8 PCMA/8000\r\n"
			    "a=rtpmap:127 telephone-event/8000\r\n"
			    "a=rtcp:2223 IN IP4 10.1.2.3\r\n"
			    "a=ptime:20\r\n");
	assert_int_equal(again.media[0].ptime, 20);
	/* Strip applies after allow. */
	assert_int_equal(sdp_codecs_apply(&s, &both, sel), 0);
	assert_pts(&s.media[0], &sel[0], "0 9 127");
}

static void test_sdp_anchor_keep_dtmf(void **state)
{
	struct fx *f = *state;
	struct sdp s;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	struct sdp_codec_policy p = {
	    .allow = {"PCMU"}, .nallow = 1, .keep_dtmf = true};

	parse(f, baresip, &s);
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_pts(&s.media[0], &sel[0], "0 101");
	p.keep_dtmf = false;
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_pts(&s.media[0], &sel[0], "0");
	/* Listed, telephone-event takes its place in the allow order. */
	p = (struct sdp_codec_policy){.allow = {"telephone-event", "PCMU"},
				      .nallow = 2};
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_pts(&s.media[0], &sel[0], "101 0");
	/* keep_dtmf wins over the strip list. */
	p = (struct sdp_codec_policy){
	    .strip = {"telephone-event"}, .nstrip = 1, .keep_dtmf = true};
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_pts(&s.media[0], &sel[0], "96 9 0 8 101");
	p.keep_dtmf = false;
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_pts(&s.media[0], &sel[0], "96 9 0 8");
}

static void test_sdp_anchor_static_names(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy allow = {.allow = {"PCMA", "G729", "CN"},
					       .nallow = 3};
	const struct sdp_codec_policy strip = {.strip = {"GSM"}, .nstrip = 1};
	struct sdp_rewrite rw = {.sel = sel};

	parse(f, gateway, &s);
	assert_int_equal(sdp_codecs_apply(&s, &allow, sel), 0);
	assert_pts(&s.media[0], &sel[0], "8 18 13");
	print_rw(f, &s, &rw, &again);
	assert_pts(&again.media[0], NULL, "8 18 13");
	assert_true(has_line(&f->out, "a=fmtp:18 annexb=no"));
	assert_int_equal(sdp_codecs_apply(&s, &strip, sel), 0);
	assert_pts(&s.media[0], &sel[0], "18 0 8 13");
}

static void test_sdp_anchor_case_insensitive(void **state)
{
	struct fx *f = *state;
	struct sdp s, odd;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy p = {.allow = {"pcmu", "OPUS"},
					   .nallow = 2,
					   .strip = {"g722"},
					   .nstrip = 1,
					   .keep_dtmf = true};
	const struct sdp_codec_policy upper = {
	    .allow = {"PCMU"}, .nallow = 1, .keep_dtmf = true};

	parse(f, baresip, &s);
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_pts(&s.media[0], &sel[0], "0 96 101");
	parse(f,
	      "v=0\r\no=- 5 5 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"
	      "t=0 0\r\nm=audio 5000 RTP/AVP 0 97\r\na=rtpmap:0 pcmu/8000\r\n"
	      "a=rtpmap:97 TELEPHONE-EVENT/8000\r\n",
	      &odd);
	assert_int_equal(sdp_codecs_apply(&odd, &upper, sel), 0);
	assert_pts(&odd.media[0], &sel[0], "0 97");
	assert_int_equal(sdp_media_dtmf_pt(&odd.media[0]), 97);
}

static void test_sdp_anchor_no_common_codec(void **state)
{
	struct fx *f = *state;
	struct sdp s, dtmf_only, disabled, image, again;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy g729 = {
	    .allow = {"G729"}, .nallow = 1, .keep_dtmf = true};
	const struct sdp_codec_policy any = {.keep_dtmf = true};
	struct sdp_rewrite rw = {.sel = sel};

	parse(f, baresip, &s);
	/* RFC 3261 21.4.26: nothing in common, 488. */
	assert_int_equal(sdp_codecs_apply(&s, &g729, sel), -ENOENT);
	assert_true(sel[0].is_filtered);
	assert_int_equal(sel[0].nkeep, 0);
	print_rw(f, &s, &rw, &again);
	assert_true(has_line(&f->out, "m=audio 0 RTP/AVP 96 9 0 8 101"));
	assert_int_equal(again.media[0].port, 0);
	assert_true(has_line(&f->out, "a=rtpmap:9 G722/8000"));
	/* telephone-event alone is no codec. */
	parse(f,
	      "v=0\r\no=- 5 5 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"
	      "t=0 0\r\nm=audio 5000 RTP/AVP 101\r\n"
	      "a=rtpmap:101 telephone-event/8000\r\n",
	      &dtmf_only);
	assert_int_equal(sdp_codecs_apply(&dtmf_only, &any, sel), -ENOENT);
	/* No audio offered with a port: nothing to refuse. */
	parse(f,
	      "v=0\r\no=- 5 5 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"
	      "t=0 0\r\nm=audio 0 RTP/AVP 18\r\nm=video 5002 RTP/AVP 31\r\n",
	      &disabled);
	assert_int_equal(sdp_codecs_apply(&disabled, &g729, sel), 0);
	assert_false(sel[0].is_filtered);
	assert_false(sel[1].is_filtered);
	parse(f,
	      "v=0\r\no=- 5 5 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"
	      "t=0 0\r\nm=image 5004 udptl t38\r\n",
	      &image);
	assert_int_equal(sdp_codecs_apply(&image, &g729, sel), 0);
	/* No policy: nothing filtered. */
	assert_int_equal(sdp_codecs_apply(&s, NULL, sel), 0);
	assert_false(sel[0].is_filtered);
}

static void test_sdp_anchor_video_untouched(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy p = {
	    .allow = {"PCMU"}, .nallow = 1, .keep_dtmf = true};
	struct sdp_rewrite rw = {.sel = sel};

	parse(f, webrtc, &s);
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_pts(&s.media[0], &sel[0], "0 110 126");
	assert_false(sel[1].is_filtered);
	print_rw(f, &s, &rw, &again);
	assert_true(has_line(&f->out, "m=video 9 UDP/TLS/RTP/SAVPF 96 97"));
	assert_true(has_line(&f->out, "a=rtpmap:96 VP8/90000"));
	assert_true(has_line(&f->out, "a=rtcp-fb:96 nack"));
	assert_true(has_line(&f->out, "a=fmtp:97 apt=96"));
	assert_pts(&again.media[1], NULL, "96 97");
}

/* A section left without a codec is rejected, the others go on. */
static void test_sdp_anchor_rejected_section(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy p = {.strip = {"G729"}, .nstrip = 1};
	struct sdp_rewrite rw = {.addr = SL("192.0.2.1"),
				 .streams = {{30000, 30001}, {30002, 30003}},
				 .sel = sel};

	parse(f,
	      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
	      "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	      "m=audio 4002 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
	      "a=rtcp:4003\r\n",
	      &s);
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_true(sel[1].is_filtered);
	assert_int_equal(sel[1].nkeep, 0);
	print_rw(f, &s, &rw, &again);
	assert_out(&f->out, "v=0\r\n"
			    "o=- 1 1 IN IP4 10.0.0.1\r\n"
			    "s=-\r\n"
			    "c=IN IP4 192.0.2.1\r\n"
			    "t=0 0\r\n"
			    "m=audio 30000 RTP/AVP 0\r\n"
			    "a=rtpmap:0 PCMU/8000\r\n"
			    "m=audio 0 RTP/AVP 18\r\n"
			    "a=rtpmap:18 G729/8000\r\n");
	assert_int_equal(again.media[1].port, 0);
	assert_pts(&again.media[1], NULL, "18");
}

static void test_sdp_anchor_clock_and_dtmf_pt(void **state)
{
	struct fx *f = *state;
	struct sdp webrtc_s, gw;
	struct sdp_fmt wide[] = {
	    {.pt = SL("110"), .rtpmap = SL("telephone-event/48000")},
	    {.pt = SL("111"), .rtpmap = SL("opus/48000/2")}};
	struct sdp_media m = {.fmts = wide, .nfmts = 2};
	const struct sdp_fmt l16 = {.pt = SL("96"),
				    .rtpmap = SL("L16/44100/2")};
	const struct sdp_fmt dvi4 = {.pt = SL("6")};
	const struct sdp_fmt bare = {.pt = SL("96")};
	const struct sdp_fmt bad_rate = {.pt = SL("9"), .rtpmap = SL("G722/x")};
	const struct sdp_fmt zero = {.pt = SL("97"), .rtpmap = SL("foo/0")};

	parse(f, webrtc, &webrtc_s);
	parse(f, gateway, &gw);
	assert_int_equal(sdp_fmt_clock(&webrtc_s.media[0].fmts[0]), 48000);
	assert_int_equal(sdp_fmt_clock(&webrtc_s.media[0].fmts[2]), 8000);
	assert_int_equal(sdp_fmt_clock(&webrtc_s.media[1].fmts[0]), 90000);
	/* RFC 3551 6: G722 at 8000, DVI4 at 16000 for 6, statics. */
	assert_int_equal(sdp_fmt_clock(&gw.media[0].fmts[0]), 8000);
	assert_int_equal(sdp_fmt_clock(&l16), 44100);
	assert_int_equal(sdp_fmt_clock(&dvi4), 16000);
	assert_int_equal(sdp_fmt_clock(&bare), 8000);
	assert_int_equal(sdp_fmt_clock(&bad_rate), 8000);
	assert_int_equal(sdp_fmt_clock(&zero), 8000);
	/* The 8000 Hz one first, else any. */
	assert_int_equal(sdp_media_dtmf_pt(&webrtc_s.media[0]), 126);
	assert_int_equal(sdp_media_dtmf_pt(&m), 110);
	assert_int_equal(sdp_media_dtmf_pt(&webrtc_s.media[1]), -1);
	assert_int_equal(sdp_media_dtmf_pt(&gw.media[0]), -1);
}

static void test_sdp_anchor_rewrite_conn(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	const struct sdp_origin o = {.user = SL("-"),
				     .sess_id = 7,
				     .sess_version = 3,
				     .addrtype = SL("IP4"),
				     .addr = SL("192.0.2.1")};
	const struct sdp_rewrite rw = {.addr = SL("192.0.2.1")};

	parse(f,
	      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
	      "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\n"
	      "a=rtpmap:0 PCMU/8000\r\nm=video 4002 RTP/AVP 31\r\n"
	      "c=IN IP4 224.2.1.1/127\r\nc=IN IP4 224.2.1.2/127\r\n",
	      &s);
	print_rw(f, &s, &rw, &again);
	assert_out(&f->out, "v=0\r\n"
			    "o=- 1 1 IN IP4 10.0.0.1\r\n"
			    "s=-\r\n"
			    "c=IN IP4 192.0.2.1\r\n"
			    "t=0 0\r\n"
			    "m=audio 4000 RTP/AVP 0\r\n"
			    "c=IN IP4 192.0.2.1\r\n"
			    "a=rtpmap:0 PCMU/8000\r\n"
			    "m=video 4002 RTP/AVP 31\r\n"
			    "c=IN IP4 192.0.2.1\r\n");
	buf_reset(&f->out);
	assert_int_equal(sdp_print_rw(&s, &o, &rw, &f->out), 0);
	assert_true(has_line(&f->out, "o=- 7 3 IN IP4 192.0.2.1"));
	assert_int_equal(lines_with(&f->out, "c=IN IP4 192.0.2.1"), 3);
}

/* IPv4 <-> IPv6 bridging: the address family follows ours. */
static void test_sdp_anchor_rewrite_ip_family(void **state)
{
	struct fx *f = *state;
	struct sdp v4, v6, again;
	const struct sdp_rewrite to6 = {.addr = SL("2001:db8::10"),
					.is_ip6 = true};
	const struct sdp_rewrite to4 = {.addr = SL("203.0.113.7"),
					.streams = {{20000, 20001}}};

	parse(f, baresip, &v4);
	print_rw(f, &v4, &to6, &again);
	assert_sl(again.conn.addrtype, "IP6");
	assert_sl(again.conn.addr, "2001:db8::10");
	assert_int_equal(lines_with(&f->out, "c="), 1);
	parse(f,
	      "v=0\r\no=- 2 2 IN IP6 2001:db8::5\r\ns=-\r\n"
	      "c=IN IP6 2001:db8::5\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8\r\n"
	      "a=rtcp:6001 IN IP6 2001:db8::5\r\n",
	      &v6);
	print_rw(f, &v6, &to4, &again);
	assert_out(&f->out, "v=0\r\n"
			    "o=- 2 2 IN IP6 2001:db8::5\r\n"
			    "s=-\r\n"
			    "c=IN IP4 203.0.113.7\r\n"
			    "t=0 0\r\n"
			    "m=audio 20000 RTP/AVP 8\r\n"
			    "a=rtcp:20001 IN IP4 203.0.113.7\r\n");
	assert_int_equal(again.media[0].rtcp_port, 20001);
}

static void test_sdp_anchor_rewrite_ports(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_rewrite rw = {
	    .addr = SL("192.0.2.1"),
	    .streams = {{.port = 30000}, {.port = 30002}, {.port = 0}}};

	parse(f,
	      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
	      "t=0 0\r\nm=audio 10000/2 RTP/AVP 0\r\nm=audio 0 RTP/AVP 8\r\n"
	      "m=video  5000/2  RTP/AVP 31\r\n",
	      &s);
	print_rw(f, &s, &rw, &again);
	assert_true(has_line(&f->out, "m=audio 30000 RTP/AVP 0"));
	assert_int_equal(again.media[0].nports, 1);
	/* RFC 3264 8.2: a disabled stream stays disabled. */
	assert_true(has_line(&f->out, "m=audio 0 RTP/AVP 8"));
	/* No port given: the line as it was. */
	assert_true(has_line(&f->out, "m=video  5000/2  RTP/AVP 31"));
	assert_int_equal(again.media[2].port, 5000);
	assert_int_equal(again.media[2].nports, 2);
	/* Ports apply with an address only. */
	rw.addr = slice_make(NULL, 0);
	print_rw(f, &s, &rw, &again);
	assert_int_equal(again.media[0].port, 10000);
}

static void test_sdp_anchor_rewrite_rtcp(void **state)
{
	static const char in_place[] = "a=rtcp:30001 IN IP4 192.0.2.1\r\n"
				       "a=ptime:20\r\n";
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_rewrite rw = {.addr = SL("192.0.2.1"),
				 .streams = {{30000, 30001}}};

	parse(f, polycom, &s);
	print_rw(f, &s, &rw, &again);
	assert_true(has_line(&f->out, "a=rtcp:30001 IN IP4 192.0.2.1"));
	assert_int_equal(lines_with(&f->out, "a=rtcp"), 1);
	assert_int_equal(again.media[0].rtcp_port, 30001);
	assert_int_equal(again.media[0].port, 30000);
	/* Replaced in place: ptime still follows. */
	assert_non_null(
	    memmem(f->out.p, f->out.len, in_place, sizeof(in_place) - 1));
	/* No RTCP port: the line goes. */
	rw.streams[0].rtcp_port = 0;
	print_rw(f, &s, &rw, &again);
	assert_int_equal(lines_with(&f->out, "a=rtcp"), 0);
	assert_int_equal(again.media[0].rtcp_port, 0);
	/* No address: kept as it was. */
	rw.addr = slice_make(NULL, 0);
	print_rw(f, &s, &rw, &again);
	assert_true(has_line(&f->out, "a=rtcp:2223 IN IP4 10.1.2.3"));
}

static void test_sdp_anchor_rewrite_ice(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_rewrite rw = {.is_ice_dropped = true};
	struct buf plain;

	parse(f, webrtc, &s);
	print_rw(f, &s, &rw, &again);
	assert_int_equal(lines_with(&f->out, "a=candidate"), 0);
	assert_int_equal(lines_with(&f->out, "a=end-of-candidates"), 0);
	assert_int_equal(lines_with(&f->out, "a=ice-"), 0);
	assert_int_equal(again.nattrs, 2);
	assert_int_equal(again.media[0].nattrs, s.media[0].nattrs - 5);
	assert_int_equal(again.media[1].nattrs, s.media[1].nattrs - 2);
	assert_true(has_line(&f->out, "a=rtcp-mux"));
	assert_true(has_line(&f->out, "a=setup:actpass"));
	assert_true(has_line(&f->out, "a=group:BUNDLE 0 1"));
	assert_true(again.media[0].is_rtcp_mux);
	/* Not asked: the same as sdp_print(). */
	rw.is_ice_dropped = false;
	print_rw(f, &s, &rw, &again);
	buf_init(&plain, 0);
	assert_int_equal(sdp_print(&s, NULL, &plain), 0);
	assert_int_equal(f->out.len, plain.len);
	assert_memory_equal(f->out.p, plain.p, plain.len);
	buf_close(&plain);
	assert_int_equal(lines_with(&f->out, "a=candidate"), 2);
}

static void test_sdp_anchor_removed_format_lines(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy p = {
	    .allow = {"opus", "PCMU"}, .nallow = 2, .keep_dtmf = true};
	struct sdp_rewrite rw = {.sel = sel};

	parse(f, webrtc, &s);
	assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
	assert_pts(&s.media[0], &sel[0], "111 0 110 126");
	print_rw(f, &s, &rw, &again);
	assert_false(has_line(&f->out, "a=rtpmap:63 red/48000/2"));
	assert_false(has_line(&f->out, "a=fmtp:63 111/111"));
	assert_false(has_line(&f->out, "a=rtpmap:9 G722/8000"));
	assert_false(has_line(&f->out, "a=rtpmap:8 PCMA/8000"));
	assert_true(has_line(&f->out, "a=rtcp-fb:111 transport-cc"));
	assert_true(has_line(&f->out, "a=rtcp-fb:* nack"));
	assert_true(has_line(&f->out, "a=rtpmap:126 telephone-event/8000"));
	assert_true(has_line(&f->out, "a=rtpmap:96 VP8/90000"));
	assert_pts(&again.media[0], NULL, "111 0 110 126");
	assert_sl(again.media[0].fmts[0].fmtp, "minptime=10;useinbandfec=1");
	assert_sl(again.media[0].fmts[1].rtpmap, "PCMU/8000");
	assert_int_equal(again.media[0].nattrs, s.media[0].nattrs - 4);
}

/* Full anchoring of each realistic offer: it parses back as expected. */
static void test_sdp_anchor_reparse(void **state)
{
	static const struct {
		const char *text, *pts;
	} cases[] = {
	    {baresip, "96 9 8 0 101"},
	    {polycom, "9 8 0 127"},
	    {webrtc, "111 9 8 0 110 126"},
	    {gateway, "8 0"},
	};
	struct fx *f = *state;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy p = {
	    .allow = {"opus", "G722", "PCMA", "PCMU"},
	    .nallow = 4,
	    .keep_dtmf = true,
	};
	const struct sdp_rewrite rw = {
	    .addr = SL("2001:db8::1"),
	    .is_ip6 = true,
	    .streams = {{40000, 40001}, {40002, 40003}},
	    .is_ice_dropped = true,
	    .sel = sel,
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sdp s, again;

		parse(f, cases[i].text, &s);
		assert_int_equal(sdp_codecs_apply(&s, &p, sel), 0);
		print_rw(f, &s, &rw, &again);
		assert_pts(&again.media[0], NULL, cases[i].pts);
		for (uint16_t j = 0; j < again.nmedia; j++) {
			const struct sdp_conn *c =
			    sdp_media_conn(&again, &again.media[j]);

			assert_sl(c->addrtype, "IP6");
			assert_sl(c->addr, "2001:db8::1");
			assert_int_equal(again.media[j].port, 40000 + 2 * j);
		}
		assert_int_equal(lines_with(&f->out, "a=candidate"), 0);
		if (s.media[0].rtcp_port)
			assert_int_equal(again.media[0].rtcp_port, 40001);
	}
}

/* The o= version of what sdp_leg_print_rw() printed into f->out. */
static uint64_t leg_version(struct fx *f, struct sdp_leg *l,
			    const struct sdp *s, const struct sdp_rewrite *rw)
{
	struct sdp again;
	uint64_t v;

	buf_reset(&f->out);
	assert_int_equal(sdp_leg_print_rw(l, s, rw, &f->out), 0);
	assert_int_equal(sdp_parse(buf_slice(&f->out), &f->arena, &again), 0);
	assert_int_equal(slice_to_u64(again.o_sess_version, &v), 0);
	assert_int_equal(v, l->version);
	assert_sl(again.o_addr, "192.0.2.10");
	return v;
}

/* RFC 3264 8: what counts as a change is what the other leg sees. */
static void test_sdp_anchor_leg_version(void **state)
{
	struct fx *f = *state;
	struct sdp s, moved;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX];
	const struct sdp_codec_policy no_pcma = {
	    .strip = {"PCMA"}, .nstrip = 1, .keep_dtmf = true};
	struct sdp_rewrite rw = {.addr = SL("192.0.2.10"),
				 .streams = {{30000, 0}}};
	struct sdp_leg l;

	parse(f, baresip, &s);
	parse(f, baresip_moved, &moved);
	sdp_leg_init(&l, SL("192.0.2.10"), 11);
	assert_int_equal(leg_version(f, &l, &s, &rw), 1);
	assert_int_equal(leg_version(f, &l, &s, &rw), 1);
	/* The phone moved, but the relay hides it: no change. */
	assert_int_equal(leg_version(f, &l, &moved, &rw), 1);
	/* Our relay port moved: a change. */
	rw.streams[0].port = 30002;
	assert_int_equal(leg_version(f, &l, &moved, &rw), 2);
	assert_int_equal(leg_version(f, &l, &s, &rw), 2);
	/* Another codec list: a change. */
	assert_int_equal(sdp_codecs_apply(&s, &no_pcma, sel), 0);
	rw.sel = sel;
	assert_int_equal(leg_version(f, &l, &s, &rw), 3);
	assert_int_equal(leg_version(f, &l, &s, &rw), 3);
	/* Without rewriting, the phone's own address shows: a change. */
	assert_int_equal(leg_version(f, &l, &s, NULL), 4);
	buf_reset(&f->out);
	assert_int_equal(sdp_leg_print(&l, &s, &f->out), 0);
	assert_int_equal(l.version, 4);
}

/* A print that fails leaves out and the leg as they were. */
static void test_sdp_anchor_leg_print_oom(void **state)
{
	struct fx *f = *state;
	struct sdp s;
	struct sdp_leg l;
	const struct sdp_rewrite rw = {.addr = SL("192.0.2.10"),
				       .streams = {{30000, 30001}},
				       .is_ice_dropped = true};

	parse(f, webrtc, &s);
	sdp_leg_init(&l, SL("192.0.2.10"), 12);
	for (int64_t n = 0;; n++) {
		struct buf out;
		int err;

		buf_init(&out, 0);
		sb_mem_fail_after(n);
		err = sdp_leg_print_rw(&l, &s, &rw, &out);
		sb_mem_fail_after(-1);
		if (err == 0) {
			buf_close(&out);
			break;
		}
		assert_int_equal(err, -ENOMEM);
		assert_int_equal(out.len, 0);
		assert_false(l.has_sent);
		buf_close(&out);
	}
	assert_int_equal(l.version, 1);
}

/* No rewrite, or an empty one: what sdp_print() writes. */
static void test_sdp_anchor_print_rw_plain(void **state)
{
	struct fx *f = *state;
	const char *texts[] = {baresip, polycom, webrtc, gateway};
	const struct sdp_rewrite none = {0};
	struct sdp s;
	struct buf plain, rw;

	buf_init(&plain, 0);
	buf_init(&rw, 0);
	parse(f,
	      "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"
	      "m=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n\n",
	      &s);
	assert_int_equal(sdp_print(&s, NULL, &plain), 0);
	assert_int_equal(sdp_print_rw(&s, NULL, &none, &rw), 0);
	assert_int_equal(rw.len, plain.len);
	assert_memory_equal(rw.p, plain.p, plain.len);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		parse(f, texts[i], &s);
		buf_reset(&rw);
		assert_int_equal(sdp_print_rw(&s, NULL, &none, &rw), 0);
		assert_out(&rw, texts[i]);
		buf_reset(&rw);
		assert_int_equal(sdp_print_rw(&s, NULL, NULL, &rw), 0);
		assert_out(&rw, texts[i]);
	}
	buf_close(&plain);
	buf_close(&rw);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_sdp_anchor_allow_order),
	    T(test_sdp_anchor_strip),
	    T(test_sdp_anchor_keep_dtmf),
	    T(test_sdp_anchor_static_names),
	    T(test_sdp_anchor_case_insensitive),
	    T(test_sdp_anchor_no_common_codec),
	    T(test_sdp_anchor_video_untouched),
	    T(test_sdp_anchor_rejected_section),
	    T(test_sdp_anchor_clock_and_dtmf_pt),
	    T(test_sdp_anchor_rewrite_conn),
	    T(test_sdp_anchor_rewrite_ip_family),
	    T(test_sdp_anchor_rewrite_ports),
	    T(test_sdp_anchor_rewrite_rtcp),
	    T(test_sdp_anchor_rewrite_ice),
	    T(test_sdp_anchor_removed_format_lines),
	    T(test_sdp_anchor_reparse),
	    T(test_sdp_anchor_leg_version),
	    T(test_sdp_anchor_leg_print_oom),
	    T(test_sdp_anchor_print_rw_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
