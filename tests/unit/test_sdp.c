/* Unit tests for SDP parsing, printing and helpers (sdp/). */
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
#include "sdp/sdp.h"

enum { MAX_COPIES = 64 };

/* Exact-size heap copies of the inputs, so ASan sees any overread. */
struct fx {
	int64_t live_alloc, live_arena;
	struct arena arena;
	struct buf out;
	struct sdp sdp;
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

/* Parse a heap copy of len bytes of text into f->sdp. */
static int parse_n(struct fx *f, const char *text, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	assert_true(f->ncopies < MAX_COPIES);
	memcpy(p, text, len);
	f->copies[f->ncopies++] = p;
	return sdp_parse(slice_make(p, len), &f->arena, &f->sdp);
}

static int parse(struct fx *f, const char *text)
{
	return parse_n(f, text, strlen(text));
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

static const char baresip_offer[] =
    "v=0\r\n"
    "o=- 1716390823 1716390824 IN IP4 192.168.1.20\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "t=0 0\r\n"
    "m=audio 10004 RTP/AVP 0 8 101\r\n"
    "b=AS:64\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=sendrecv\r\n"
    "a=label:1\r\n"
    "a=ssrc:1446372436 cname:sip:alice@example.com\r\n"
    "a=rtcp-rsize\r\n"
    "a=ptime:20\r\n";

static void test_sdp_baresip_offer(void **state)
{
	struct fx *f = *state;
	struct sdp *s = &f->sdp;
	struct sdp_media *m;

	assert_int_equal(parse(f, baresip_offer), 0);
	assert_sl(s->o_user, "-");
	assert_sl(s->o_sess_id, "1716390823");
	assert_sl(s->o_sess_version, "1716390824");
	assert_sl(s->o_nettype, "IN");
	assert_sl(s->o_addrtype, "IP4");
	assert_sl(s->o_addr, "192.168.1.20");
	assert_sl(s->session_name, "-");
	assert_true(s->has_conn);
	assert_sl(s->conn.addr, "192.168.1.20");
	assert_sl(s->conn.raw, "IN IP4 192.168.1.20");
	assert_int_equal(s->nattrs, 0);
	assert_int_equal(s->nmedia, 1);
	m = &s->media[0];
	assert_sl(m->type, "audio");
	assert_int_equal(m->port, 10004);
	assert_int_equal(m->nports, 1);
	assert_sl(m->proto, "RTP/AVP");
	assert_int_equal(m->nfmts, 3);
	assert_sl(m->fmts[0].pt, "0");
	assert_sl(m->fmts[0].rtpmap, "PCMU/8000");
	assert_null(m->fmts[0].fmtp.p);
	assert_sl(m->fmts[1].rtpmap, "PCMA/8000");
	assert_sl(m->fmts[2].pt, "101");
	assert_sl(m->fmts[2].rtpmap, "telephone-event/8000");
	assert_sl(m->fmts[2].fmtp, "0-15");
	assert_false(m->has_conn);
	assert_true(m->has_dir);
	assert_int_equal(m->dir, SDP_DIR_SENDRECV);
	assert_int_equal(m->nattrs, 9);
	assert_sl(m->attrs[0].name, "rtpmap");
	assert_sl(m->attrs[0].value, "0 PCMU/8000");
	assert_sl(m->attrs[4].name, "sendrecv");
	assert_null(m->attrs[4].value.p);
	assert_sl(m->attrs[6].value, "1446372436 cname:sip:alice@example.com");
	assert_int_equal(m->ptime, 20);
	assert_int_equal(m->rtcp_port, 0);
	assert_false(m->is_rtcp_mux);
	assert_ptr_equal(sdp_media_conn(s, m), &s->conn);
	assert_int_equal(sdp_media_dir(s, m), SDP_DIR_SENDRECV);
	assert_false(sdp_media_is_hold(s, m));
	/* The section runs from its m= to the end of the text. */
	assert_int_equal(m->off, strstr(baresip_offer, "m=") - baresip_offer);
	assert_int_equal(m->off + m->len, strlen(baresip_offer));
}

/* sipp's uac scenario: bare LF, no newline after the last line. */
static void test_sdp_sipp_minimal_lf(void **state)
{
	struct fx *f = *state;
	struct sdp *s = &f->sdp;

	assert_int_equal(parse(f, "v=0\n"
				  "o=user1 53655765 2353687637 IN IP4 "
				  "127.0.1.1\n"
				  "s=-\n"
				  "c=IN IP4 127.0.1.1\n"
				  "t=0 0\n"
				  "m=audio 6000 RTP/AVP 0\n"
				  "a=rtpmap:0 PCMU/8000"),
			 0);
	assert_sl(s->o_user, "user1");
	assert_int_equal(s->nmedia, 1);
	assert_int_equal(s->media[0].port, 6000);
	assert_sl(s->media[0].fmts[0].rtpmap, "PCMU/8000");
	assert_int_equal(sdp_print(s, NULL, &f->out), 0);
	assert_out(&f->out, "v=0\r\n"
			    "o=user1 53655765 2353687637 IN IP4 127.0.1.1\r\n"
			    "s=-\r\n"
			    "c=IN IP4 127.0.1.1\r\n"
			    "t=0 0\r\n"
			    "m=audio 6000 RTP/AVP 0\r\n"
			    "a=rtpmap:0 PCMU/8000\r\n");
}

static void test_sdp_ipv6_and_ttl(void **state)
{
	struct fx *f = *state;
	struct sdp *s = &f->sdp;

	assert_int_equal(parse(f, "v=0\r\n"
				  "o=bob 2890844526 2890842807 IN IP6 "
				  "2001:db8::2\r\n"
				  "s= \r\n"
				  "c=IN IP6 2001:db8::2\r\n"
				  "t=0 0\r\n"
				  "m=audio 49170 RTP/AVP 0\r\n"
				  "m=video 51372/2 RTP/AVP 31\r\n"
				  "c=IN IP4 224.2.1.1/127/3\r\n"),
			 0);
	assert_sl(s->o_addrtype, "IP6");
	assert_sl(s->o_addr, "2001:db8::2");
	assert_sl(s->session_name, " ");
	assert_sl(s->conn.addrtype, "IP6");
	assert_sl(s->conn.addr, "2001:db8::2");
	assert_int_equal(s->nmedia, 2);
	assert_int_equal(s->media[1].port, 51372);
	assert_int_equal(s->media[1].nports, 2);
	assert_true(s->media[1].has_conn);
	assert_sl(s->media[1].conn.addr, "224.2.1.1");
	assert_sl(s->media[1].conn.raw, "IN IP4 224.2.1.1/127/3");
	assert_ptr_equal(sdp_media_conn(s, &s->media[0]), &s->conn);
	assert_ptr_equal(sdp_media_conn(s, &s->media[1]), &s->media[1].conn);
	/* The first section ends where the second begins. */
	assert_int_equal(s->media[0].off + s->media[0].len, s->media[1].off);
}

static const char webrtc_offer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS stream\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:ZHpk\r\n"
    "a=ice-pwd:2wT3ZlTCuyPBbydgkfTcTtpr\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "2F:18:6C:9E:AB:D7:E1:60:C2:F4:38:A4:61:64:3A:F0\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream track\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:3735928559 cname:abcd\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=mid:1\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n";

static void test_sdp_webrtc_offer(void **state)
{
	struct fx *f = *state;
	struct sdp *s = &f->sdp;
	struct sdp_media *a, *v;

	assert_int_equal(parse(f, webrtc_offer), 0);
	assert_false(s->has_conn);
	assert_int_equal(s->nattrs, 3);
	assert_sl(s->attrs[0].name, "group");
	assert_sl(s->attrs[0].value, "BUNDLE 0 1");
	assert_sl(s->attrs[1].name, "extmap-allow-mixed");
	assert_null(s->attrs[1].value.p);
	assert_sl(s->attrs[2].value, " WMS stream");
	assert_int_equal(s->nmedia, 2);
	a = &s->media[0];
	v = &s->media[1];
	assert_sl(a->proto, "UDP/TLS/RTP/SAVPF");
	assert_int_equal(a->port, 9);
	assert_int_equal(a->nfmts, 8);
	assert_int_equal(a->nattrs, 23);
	assert_int_equal(a->rtcp_port, 9);
	assert_true(a->is_rtcp_mux);
	assert_sl(a->fmts[0].rtpmap, "opus/48000/2");
	assert_sl(a->fmts[0].fmtp, "minptime=10;useinbandfec=1");
	assert_sl(a->fmts[1].fmtp, "111/111");
	assert_sl(a->fmts[7].pt, "126");
	assert_sl(a->fmts[7].rtpmap, "telephone-event/8000");
	assert_sl(a->attrs[4].value,
		  "sha-256 2F:18:6C:9E:AB:D7:E1:60:C2:F4:38:A4:61:64:3A:F0");
	assert_int_equal(a->ptime, 0);
	assert_int_equal(sdp_media_dir(s, v), SDP_DIR_RECVONLY);
	assert_sl(v->fmts[1].fmtp, "apt=96");
	/* c=IN IP4 0.0.0.0 counts as hold even with ICE: RFC 3264 8.4. */
	assert_true(sdp_media_is_hold(s, a));
}

static void test_sdp_rejected_stream(void **state)
{
	struct fx *f = *state;
	struct sdp *s = &f->sdp;

	assert_int_equal(parse(f, "v=0\r\n"
				  "o=- 1 2 IN IP4 10.0.0.1\r\n"
				  "s=call\r\n"
				  "c=IN IP4 10.0.0.1\r\n"
				  "t=0 0\r\n"
				  "m=audio 4000 RTP/AVP 0\r\n"
				  "m=video 0 RTP/AVP 31\r\n"),
			 0);
	assert_int_equal(s->nmedia, 2);
	assert_int_equal(s->media[0].port, 4000);
	assert_int_equal(s->media[1].port, 0);
	assert_sl(s->media[1].type, "video");
	assert_int_equal(s->media[1].nattrs, 0);
	assert_null(s->media[1].attrs);
}

static void test_sdp_session_vs_media_direction(void **state)
{
	struct fx *f = *state;
	struct sdp *s = &f->sdp;

	assert_int_equal(parse(f, "v=0\r\n"
				  "o=- 1 2 IN IP4 10.0.0.1\r\n"
				  "s=-\r\n"
				  "c=IN IP4 10.0.0.1\r\n"
				  "t=0 0\r\n"
				  "a=sendonly\r\n"
				  "m=audio 4000 RTP/AVP 0\r\n"
				  "m=audio 4002 RTP/AVP 0\r\n"
				  "a=recvonly\r\n"
				  "m=video 4004 RTP/AVP 96\r\n"
				  "c=IN IP4 10.0.0.2\r\n"
				  "a=sendrecv\r\n"),
			 0);
	assert_true(s->has_dir);
	assert_int_equal(s->dir, SDP_DIR_SENDONLY);
	assert_int_equal(sdp_media_dir(s, &s->media[0]), SDP_DIR_SENDONLY);
	assert_true(sdp_media_is_hold(s, &s->media[0]));
	assert_int_equal(sdp_media_dir(s, &s->media[1]), SDP_DIR_RECVONLY);
	assert_false(sdp_media_is_hold(s, &s->media[1]));
	assert_int_equal(sdp_media_dir(s, &s->media[2]), SDP_DIR_SENDRECV);
	assert_sl(sdp_media_conn(s, &s->media[2])->addr, "10.0.0.2");
	assert_false(sdp_media_is_hold(s, &s->media[2]));
}

/* A one-stream description with extra lines spliced in. */
static int parse_with(struct fx *f, const char *session, const char *media)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\n%st=0 0\r\n"
		 "m=audio 4000 RTP/AVP 0 101\r\n%s",
		 session, media);
	return parse(f, text);
}

static void test_sdp_hold_forms(void **state)
{
	struct fx *f = *state;
	struct sdp *s = &f->sdp;
	const char *c = "c=IN IP4 10.0.0.1\r\n";

	assert_int_equal(parse_with(f, c, "a=sendonly\r\n"), 0);
	assert_true(sdp_media_is_hold(s, &s->media[0]));
	assert_int_equal(parse_with(f, c, "a=inactive\r\n"), 0);
	assert_true(sdp_media_is_hold(s, &s->media[0]));
	assert_int_equal(sdp_media_dir(s, &s->media[0]), SDP_DIR_INACTIVE);
	assert_int_equal(parse_with(f, "c=IN IP4 0.0.0.0\r\n", ""), 0);
	assert_true(sdp_media_is_hold(s, &s->media[0]));
	assert_int_equal(parse_with(f, c, "c=IN IP4 0.0.0.0\r\n"), 0);
	assert_true(sdp_media_is_hold(s, &s->media[0]));
	assert_int_equal(parse_with(f, c, "a=recvonly\r\n"), 0);
	assert_false(sdp_media_is_hold(s, &s->media[0]));
	assert_int_equal(parse_with(f, c, "a=sendrecv\r\n"), 0);
	assert_false(sdp_media_is_hold(s, &s->media[0]));
	/* A direction with a value is an unknown attribute, not a direction. */
	assert_int_equal(parse_with(f, c, "a=sendonly:x\r\n"), 0);
	assert_false(s->media[0].has_dir);
	assert_false(sdp_media_is_hold(s, &s->media[0]));
}

static void test_sdp_attr_fields(void **state)
{
	struct fx *f = *state;
	struct sdp_media *m;

	assert_int_equal(parse_with(f, "c=IN IP4 10.0.0.1\r\n",
				    "a=rtcp:4001\r\n"
				    "a=rtcp-mux\r\n"
				    "a=ptime:30\r\n"
				    "a=rtpmap:101 telephone-event/8000\r\n"
				    "a=rtpmap:101 other/8000\r\n"
				    "a=rtpmap:99 unlisted/8000\r\n"
				    "a=fmtp:101 0-16\r\n"
				    "a=foo:\r\n"),
			 0);
	m = &f->sdp.media[0];
	assert_int_equal(m->rtcp_port, 4001);
	assert_true(m->is_rtcp_mux);
	assert_int_equal(m->ptime, 30);
	/* The first rtpmap for a format wins. */
	assert_sl(m->fmts[1].rtpmap, "telephone-event/8000");
	assert_sl(m->fmts[1].fmtp, "0-16");
	assert_null(m->fmts[0].rtpmap.p);
	assert_int_equal(m->nattrs, 8);
	assert_sl(m->attrs[7].name, "foo");
	assert_non_null(m->attrs[7].value.p);
	assert_int_equal(m->attrs[7].value.len, 0);
}

static void test_sdp_trailing_blank_lines(void **state)
{
	struct fx *f = *state;

	assert_int_equal(parse_with(f, "c=IN IP4 10.0.0.1\r\n", "\r\n\r\n"), 0);
	assert_int_equal(parse_with(f, "c=IN IP4 10.0.0.1\r\n", "\n"), 0);
	assert_int_equal(sdp_print(&f->sdp, NULL, &f->out), 0);
	assert_out(&f->out, "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\n"
			    "c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
			    "m=audio 4000 RTP/AVP 0 101\r\n");
}

static void test_sdp_header_errors(void **state)
{
	struct fx *f = *state;
	const char *tail = "s=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n";
	char text[256];

	assert_int_equal(parse(f, "o=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"),
			 -EBADMSG);
	assert_int_equal(parse(f, "v=1\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"),
			 -EBADMSG);
	assert_int_equal(parse(f, "v=00\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"),
			 -EBADMSG);
	assert_int_equal(parse(f, "v=0\r\ns=-\r\n"), -EBADMSG);
	assert_int_equal(parse(f, "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\n"),
			 -EBADMSG);
	assert_int_equal(parse(f, "v=0\r\n"), -EBADMSG);
	assert_int_equal(parse(f, ""), -EBADMSG);
	/* o= needs exactly six fields, numeric id and version. */
	static const char *const bad_o[] = {
	    "o=- 1 2 IN IP4\r\n",
	    "o=- 1 2 IN IP4 1.2.3.4 x\r\n",
	    "o=\r\n",
	    "o=- x 2 IN IP4 1.2.3.4\r\n",
	    "o=- 1 -2 IN IP4 1.2.3.4\r\n",
	    "o=- 1 2 IN IP4 1.2.3.4/5\r\n",
	};
	for (size_t i = 0; i < sizeof(bad_o) / sizeof(bad_o[0]); i++) {
		snprintf(text, sizeof(text), "v=0\r\n%s%s", bad_o[i], tail);
		assert_int_equal(parse(f, text), -EBADMSG);
	}
	/* v, o and s only once, and only in that order. */
	assert_int_equal(parse_with(f, "c=IN IP4 1.2.3.4\r\nv=0\r\n", ""),
			 -EBADMSG);
	assert_int_equal(parse_with(f, "c=IN IP4 1.2.3.4\r\n", "s=x\r\n"),
			 -EBADMSG);
	assert_int_equal(parse_with(f, "c=IN IP4 1.2.3.4\r\n", "t=0 0\r\n"),
			 -EBADMSG);
	assert_int_equal(parse(f, "v=0\r\ns=-\r\no=- 1 2 IN IP4 1.2.3.4\r\n"),
			 -EBADMSG);
}

static void test_sdp_line_errors(void **state)
{
	struct fx *f = *state;
	const char *c = "c=IN IP4 1.2.3.4\r\n";
	static const char nul[] = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\0\r\n";

	assert_int_equal(parse_n(f, nul, sizeof(nul) - 1), -EBADMSG);
	/* Unknown line type, upper case, spaces round "=", bare CR. */
	assert_int_equal(parse_with(f, c, "x=1\r\n"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "A=sendonly\r\n"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "a =sendonly\r\n"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "a=send\ronly\r\n"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "a=sendonly\r"), -EBADMSG);
	/* Truncated lines. */
	assert_int_equal(parse_with(f, c, "a"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "a="), -EBADMSG);
	assert_int_equal(parse_with(f, c, "c=IN IP4"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "m=audio"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "m=audio 4002 RTP/AVP"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "a=rtpmap:0"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "a=fmtp:101 \r\n"), -EBADMSG);
	/* An empty line before the end. */
	assert_int_equal(parse_with(f, c, "\r\na=sendonly\r\n"), -EBADMSG);
	/* Bad attribute values the parser reads. */
	assert_int_equal(parse_with(f, c, "a=ptime:x\r\n"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "a=rtcp:65536\r\n"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "a=rtpmap:0 PCMU\r\n"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "a=:x\r\n"), -EBADMSG);
	/* c= shape, ttl suffix, duplicate at session level. */
	assert_int_equal(parse_with(f, "c=IN IP4\r\n", ""), -EBADMSG);
	assert_int_equal(parse_with(f, "c=IN IP4 1.2.3.4/\r\n", ""), -EBADMSG);
	assert_int_equal(parse_with(f, "c=IN IP4 1.2.3.4/x\r\n", ""), -EBADMSG);
	assert_int_equal(parse_with(f, "c=IN IP4 1.2.3.4//1\r\n", ""),
			 -EBADMSG);
	assert_int_equal(parse_with(f, "c=IN IP4 a,b\r\n", ""), -EBADMSG);
	assert_int_equal(parse_with(f,
				    "c=IN IP4 1.1.1.1\r\nc=IN IP4 "
				    "2.2.2.2\r\n",
				    ""),
			 -EBADMSG);
	assert_int_equal(parse_with(f, "b=AS\r\n", c), -EBADMSG);
	assert_int_equal(parse_with(f, "b=AS:x\r\n", c), -EBADMSG);
	assert_int_equal(parse_with(f, "b=AS:64\r\n", c), 0);
}

static void test_sdp_media_errors(void **state)
{
	struct fx *f = *state;
	const char *c = "c=IN IP4 1.2.3.4\r\n";

	assert_int_equal(parse_with(f, c, "m=audio 65536 RTP/AVP 0\r\n"),
			 -EBADMSG);
	assert_int_equal(parse_with(f, c, "m=audio -1 RTP/AVP 0\r\n"),
			 -EBADMSG);
	assert_int_equal(parse_with(f, c, "m=audio x RTP/AVP 0\r\n"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "m=audio 4000/0 RTP/AVP 0\r\n"),
			 -EBADMSG);
	assert_int_equal(parse_with(f, c, "m=audio 4000/ RTP/AVP 0\r\n"),
			 -EBADMSG);
	assert_int_equal(parse_with(f, c, "m=audio 4000 RTP//AVP 0\r\n"),
			 -EBADMSG);
	assert_int_equal(parse_with(f, c, "m=audio 4000 /AVP 0\r\n"), -EBADMSG);
	assert_int_equal(parse_with(f, c, "m=audio 65535 RTP/AVP 0\r\n"), 0);
	assert_int_equal(f->sdp.media[1].port, 65535);
	/* RFC 4566 5.7: no c= for a stream. */
	assert_int_equal(parse_with(f, "", ""), -EBADMSG);
	assert_int_equal(parse_with(f, "",
				    "c=IN IP4 1.2.3.4\r\n"
				    "m=audio 1 RTP/AVP 0\r\n"),
			 -EBADMSG);
	assert_int_equal(parse_with(f, "", "c=IN IP4 1.2.3.4\r\n"), 0);
	/* No m= at all needs no c=. */
	assert_int_equal(parse(f, "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"),
			 0);
	assert_int_equal(f->sdp.nmedia, 0);
}

static void test_sdp_bounds(void **state)
{
	struct fx *f = *state;
	char *text = malloc(SDP_BYTES_MAX + 2);
	size_t n;

	assert_non_null(text);
	/* SDP_MEDIA_MAX m= lines parse, one more is too many. */
	n = (size_t)sprintf(text, "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"
				  "c=IN IP4 1.2.3.4\r\n");
	for (int i = 0; i < SDP_MEDIA_MAX; i++)
		n += (size_t)sprintf(text + n, "m=audio %d RTP/AVP 0\r\n",
				     4000 + 2 * i);
	assert_int_equal(parse_n(f, text, n), 0);
	assert_int_equal(f->sdp.nmedia, SDP_MEDIA_MAX);
	n += (size_t)sprintf(text + n, "m=audio 1 RTP/AVP 0\r\n");
	assert_int_equal(parse_n(f, text, n), -E2BIG);

	/* SDP_ATTRS_MAX a= lines in a section, then one more. */
	n = (size_t)sprintf(text, "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"
				  "c=IN IP4 1.2.3.4\r\n"
				  "m=audio 1 RTP/AVP 0\r\n");
	for (int i = 0; i < SDP_ATTRS_MAX; i++)
		n += (size_t)sprintf(text + n, "a=x%d\r\n", i);
	assert_int_equal(parse_n(f, text, n), 0);
	assert_int_equal(f->sdp.media[0].nattrs, SDP_ATTRS_MAX);
	n += (size_t)sprintf(text + n, "a=y\r\n");
	assert_int_equal(parse_n(f, text, n), -E2BIG);

	/* SDP_FMTS_MAX formats, then one more. */
	n = (size_t)sprintf(text, "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"
				  "c=IN IP4 1.2.3.4\r\n"
				  "m=audio 1 RTP/AVP");
	for (int i = 0; i < SDP_FMTS_MAX; i++)
		n += (size_t)sprintf(text + n, " %d", i);
	assert_int_equal(parse_n(f, text, n), 0);
	assert_int_equal(f->sdp.media[0].nfmts, SDP_FMTS_MAX);
	n += (size_t)sprintf(text + n, " 99");
	assert_int_equal(parse_n(f, text, n), -E2BIG);

	/* SDP_BYTES_MAX bytes of text, then one more. */
	n = (size_t)sprintf(text, "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=");
	memset(text + n, 'x', SDP_BYTES_MAX - n);
	assert_int_equal(parse_n(f, text, SDP_BYTES_MAX), 0);
	text[SDP_BYTES_MAX] = 'x';
	assert_int_equal(parse_n(f, text, SDP_BYTES_MAX + 1), -E2BIG);
	free(text);
}

/* Every prefix of a valid description parses or fails cleanly. */
static void test_sdp_every_prefix(void **state)
{
	struct fx *f = *state;
	size_t len = strlen(webrtc_offer);

	for (size_t i = 0; i <= len; i++) {
		char *p = malloc(i ? i : 1);
		struct sdp s;
		int err;

		assert_non_null(p);
		memcpy(p, webrtc_offer, i);
		err = sdp_parse(slice_make(p, i), &f->arena, &s);
		assert_true(err == 0 || err == -EBADMSG);
		free(p);
	}
}

static void test_sdp_out_untouched_on_error(void **state)
{
	struct fx *f = *state;

	memset(&f->sdp, 0xa5, sizeof(f->sdp));
	assert_int_equal(parse(f, "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n"
				  "m=audio 1 RTP/AVP 0\r\n"),
			 -EBADMSG);
	assert_int_equal(f->sdp.nmedia, 0xa5a5);
}

static void test_sdp_print_round_trip(void **state)
{
	struct fx *f = *state;

	assert_int_equal(parse(f, baresip_offer), 0);
	assert_int_equal(sdp_print(&f->sdp, NULL, &f->out), 0);
	assert_out(&f->out, baresip_offer);
	buf_reset(&f->out);
	assert_int_equal(parse(f, webrtc_offer), 0);
	assert_int_equal(sdp_print(&f->sdp, NULL, &f->out), 0);
	assert_out(&f->out, webrtc_offer);
}

static void test_sdp_print_origin(void **state)
{
	struct fx *f = *state;
	struct sdp_origin o = {.user = SL("switchboard"),
			       .sess_id = 12345,
			       .sess_version = 18446744073709551615u,
			       .addrtype = SL("IP6"),
			       .addr = SL("2001:db8::1")};
	struct sdp again;

	assert_int_equal(parse(f, "v=0\no=alice 1 1 IN IP4 10.0.0.1\ns=-\n"
				  "c=IN IP4 10.0.0.1\nt=0 0\n"
				  "m=audio 4000 RTP/AVP 0\n"),
			 0);
	assert_int_equal(sdp_print(&f->sdp, &o, &f->out), 0);
	assert_out(&f->out, "v=0\r\n"
			    "o=switchboard 12345 18446744073709551615 IN IP6 "
			    "2001:db8::1\r\n"
			    "s=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
			    "m=audio 4000 RTP/AVP 0\r\n");
	assert_int_equal(sdp_parse(buf_slice(&f->out), &f->arena, &again), 0);
	assert_sl(again.o_user, "switchboard");
	assert_sl(again.o_sess_version, "18446744073709551615");
	/* An empty user prints as "-". */
	buf_reset(&f->out);
	o.user = slice_make(NULL, 0);
	o.addrtype = SL("IP4");
	o.addr = SL("192.0.2.1");
	o.sess_version = 2;
	assert_int_equal(sdp_print(&f->sdp, &o, &f->out), 0);
	assert_true(f->out.len > 30);
	assert_memory_equal(f->out.p, "v=0\r\no=- 12345 2 IN IP4 192.0.2.1\r\n",
			    35);
}

static void test_sdp_dir_helpers(void **state)
{
	(void)state;
	assert_string_equal(sdp_dir_name(SDP_DIR_SENDRECV), "sendrecv");
	assert_string_equal(sdp_dir_name(SDP_DIR_SENDONLY), "sendonly");
	assert_string_equal(sdp_dir_name(SDP_DIR_RECVONLY), "recvonly");
	assert_string_equal(sdp_dir_name(SDP_DIR_INACTIVE), "inactive");
	assert_int_equal(sdp_dir_answer(SDP_DIR_SENDONLY), SDP_DIR_RECVONLY);
	assert_int_equal(sdp_dir_answer(SDP_DIR_RECVONLY), SDP_DIR_SENDONLY);
	assert_int_equal(sdp_dir_answer(SDP_DIR_SENDRECV), SDP_DIR_SENDRECV);
	assert_int_equal(sdp_dir_answer(SDP_DIR_INACTIVE), SDP_DIR_INACTIVE);
}

/* The OOM knob: every allocation failure is a clean -ENOMEM. */
static void test_sdp_oom(void **state)
{
	struct fx *f = *state;
	int err = -ENOMEM;

	for (int64_t n = 0; err == -ENOMEM; n++) {
		arena_reset(&f->arena);
		sb_mem_fail_after(n);
		err = parse(f, webrtc_offer);
		sb_mem_fail_after(-1);
		assert_true(err == 0 || err == -ENOMEM);
	}
	assert_int_equal(f->sdp.nmedia, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_sdp_baresip_offer),
	    T(test_sdp_sipp_minimal_lf),
	    T(test_sdp_ipv6_and_ttl),
	    T(test_sdp_webrtc_offer),
	    T(test_sdp_rejected_stream),
	    T(test_sdp_session_vs_media_direction),
	    T(test_sdp_hold_forms),
	    T(test_sdp_attr_fields),
	    T(test_sdp_trailing_blank_lines),
	    T(test_sdp_header_errors),
	    T(test_sdp_line_errors),
	    T(test_sdp_media_errors),
	    T(test_sdp_bounds),
	    T(test_sdp_every_prefix),
	    T(test_sdp_out_untouched_on_error),
	    T(test_sdp_print_round_trip),
	    T(test_sdp_print_origin),
	    T(test_sdp_dir_helpers),
	    T(test_sdp_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
