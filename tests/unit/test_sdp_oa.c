/* Unit tests for offer/answer state and per-leg o= lines (sdp/oa). */
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
#include "sdp/oa.h"
#include "sdp/sdp.h"

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

/* Print s on leg l into a fresh f->out and return the o= version. */
static uint64_t leg_version(struct fx *f, struct sdp_leg *l,
			    const struct sdp *s)
{
	struct sdp again;
	uint64_t v;

	buf_reset(&f->out);
	assert_int_equal(sdp_leg_print(l, s, &f->out), 0);
	assert_int_equal(sdp_parse(buf_slice(&f->out), &f->arena, &again), 0);
	assert_int_equal(slice_to_u64(again.o_sess_version, &v), 0);
	assert_int_equal(v, l->version);
	return v;
}

static const char audio_video[] = "v=0\r\n"
				  "o=alice 2890844526 2890844526 IN IP4 "
				  "10.0.0.1\r\n"
				  "s=-\r\n"
				  "c=IN IP4 10.0.0.1\r\n"
				  "t=0 0\r\n"
				  "m=audio 49170 RTP/AVP 0 101\r\n"
				  "a=rtpmap:0 PCMU/8000\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\n"
				  "m=video 51372 RTP/AVP 31\r\n"
				  "a=rtpmap:31 H261/90000\r\n";

/* The answer to audio_video, video rejected (RFC 3264 6: port 0). */
static const char audio_video_answer[] = "v=0\r\n"
					 "o=bob 2808844564 2808844564 IN IP4 "
					 "10.0.0.2\r\n"
					 "s=-\r\n"
					 "c=IN IP4 10.0.0.2\r\n"
					 "t=0 0\r\n"
					 "m=audio 60000 RTP/AVP 0\r\n"
					 "a=rtpmap:0 PCMU/8000\r\n"
					 "m=video 0 RTP/AVP 31\r\n";

static const char audio_only[] = "v=0\r\n"
				 "o=bob 2808844564 2808844564 IN IP4 "
				 "10.0.0.2\r\n"
				 "s=-\r\n"
				 "c=IN IP4 10.0.0.2\r\n"
				 "t=0 0\r\n"
				 "m=audio 60000 RTP/AVP 0\r\n";

static const char audio_audio[] = "v=0\r\n"
				  "o=bob 2808844564 2808844564 IN IP4 "
				  "10.0.0.2\r\n"
				  "s=-\r\n"
				  "c=IN IP4 10.0.0.2\r\n"
				  "t=0 0\r\n"
				  "m=audio 60000 RTP/AVP 0\r\n"
				  "m=audio 0 RTP/AVP 0\r\n";

/* audio_video with video first: right count, wrong order of types. */
static const char video_audio[] = "v=0\r\n"
				  "o=bob 2808844564 2808844564 IN IP4 "
				  "10.0.0.2\r\n"
				  "s=-\r\n"
				  "c=IN IP4 10.0.0.2\r\n"
				  "t=0 0\r\n"
				  "m=video 0 RTP/AVP 31\r\n"
				  "m=audio 60000 RTP/AVP 0\r\n";

static void test_sdp_oa_remote_offer_round_trip(void **state)
{
	struct fx *f = *state;
	struct sdp offer, answer;
	struct sdp_oa oa = {0};
	enum sdp_oa_kind kind = SDP_OA_ANSWER;

	parse(f, audio_video, &offer);
	parse(f, audio_video_answer, &answer);
	assert_int_equal(oa.state, SDP_OA_IDLE);
	assert_int_equal(sdp_oa_recv(&oa, &offer, &kind), 0);
	assert_int_equal(kind, SDP_OA_OFFER);
	assert_int_equal(oa.state, SDP_OA_REMOTE_OFFER);
	assert_int_equal(oa.offer_media, 2);
	assert_false(oa.has_completed);
	assert_int_equal(sdp_oa_send(&oa, &answer, SDP_OA_ANSWER), 0);
	assert_int_equal(oa.state, SDP_OA_IDLE);
	assert_true(oa.has_completed);
	/* A re-offer after completion starts a new exchange. */
	assert_int_equal(sdp_oa_recv(&oa, &answer, &kind), 0);
	assert_int_equal(kind, SDP_OA_OFFER);
	assert_int_equal(sdp_oa_send(&oa, &answer, SDP_OA_ANSWER), 0);
	assert_int_equal(oa.state, SDP_OA_IDLE);
}

static void test_sdp_oa_local_offer_round_trip(void **state)
{
	struct fx *f = *state;
	struct sdp offer, answer;
	struct sdp_oa oa = {0};
	enum sdp_oa_kind kind = SDP_OA_OFFER;

	parse(f, audio_video, &offer);
	parse(f, audio_video_answer, &answer);
	assert_int_equal(sdp_oa_send(&oa, &offer, SDP_OA_OFFER), 0);
	assert_int_equal(oa.state, SDP_OA_LOCAL_OFFER);
	assert_int_equal(sdp_oa_recv(&oa, &answer, &kind), 0);
	assert_int_equal(kind, SDP_OA_ANSWER);
	assert_int_equal(oa.state, SDP_OA_IDLE);
	assert_true(oa.has_completed);
}

/* A B2BUA: an offer received on leg A goes out as an offer on leg B, and
 * B's answer goes back on A as an answer. */
static void test_sdp_oa_two_legs(void **state)
{
	struct fx *f = *state;
	struct sdp offer, answer;
	struct sdp_oa a = {0}, b = {0};
	enum sdp_oa_kind kind;

	parse(f, audio_video, &offer);
	parse(f, audio_video_answer, &answer);
	assert_int_equal(sdp_oa_recv(&a, &offer, &kind), 0);
	assert_int_equal(sdp_oa_send(&b, &offer, kind), 0);
	assert_int_equal(sdp_oa_recv(&b, &answer, &kind), 0);
	assert_int_equal(kind, SDP_OA_ANSWER);
	assert_int_equal(sdp_oa_send(&a, &answer, kind), 0);
	assert_int_equal(a.state, SDP_OA_IDLE);
	assert_int_equal(b.state, SDP_OA_IDLE);
	assert_true(a.has_completed && b.has_completed);
}

static void test_sdp_oa_glare(void **state)
{
	struct fx *f = *state;
	struct sdp offer;
	struct sdp_oa oa = {0};
	enum sdp_oa_kind kind = SDP_OA_ANSWER;

	parse(f, audio_video, &offer);
	/* Our offer is pending: a second one of ours is glare. */
	assert_int_equal(sdp_oa_send(&oa, &offer, SDP_OA_OFFER), 0);
	assert_int_equal(sdp_oa_send(&oa, &offer, SDP_OA_OFFER), -EBUSY);
	assert_int_equal(oa.state, SDP_OA_LOCAL_OFFER);
	sdp_oa_reset(&oa);
	/* Their offer is pending: another of theirs, or ours, is refused. */
	assert_int_equal(sdp_oa_recv(&oa, &offer, &kind), 0);
	kind = SDP_OA_ANSWER;
	assert_int_equal(sdp_oa_recv(&oa, &offer, &kind), -EBUSY);
	assert_int_equal(kind, SDP_OA_ANSWER); /* untouched on error */
	assert_int_equal(sdp_oa_send(&oa, &offer, SDP_OA_OFFER), -EBUSY);
	assert_int_equal(oa.state, SDP_OA_REMOTE_OFFER);
	assert_int_equal(oa.offer_media, 2);
	assert_false(oa.has_completed);
}

static void test_sdp_oa_answer_mline_count(void **state)
{
	struct fx *f = *state;
	struct sdp offer, short_answer, answer;
	struct sdp_oa oa = {0};
	enum sdp_oa_kind kind;

	parse(f, audio_video, &offer);
	parse(f, audio_only, &short_answer);
	parse(f, audio_video_answer, &answer);
	/* Received answer. */
	assert_int_equal(sdp_oa_send(&oa, &offer, SDP_OA_OFFER), 0);
	assert_int_equal(sdp_oa_recv(&oa, &short_answer, &kind), -EPROTO);
	assert_int_equal(oa.state, SDP_OA_LOCAL_OFFER);
	assert_int_equal(sdp_oa_recv(&oa, &answer, &kind), 0);
	assert_int_equal(kind, SDP_OA_ANSWER);
	/* Sent answer. */
	assert_int_equal(sdp_oa_recv(&oa, &offer, &kind), 0);
	assert_int_equal(sdp_oa_send(&oa, &short_answer, SDP_OA_ANSWER),
			 -EPROTO);
	assert_int_equal(oa.state, SDP_OA_REMOTE_OFFER);
	assert_int_equal(oa.offer_media, 2);
	assert_int_equal(sdp_oa_send(&oa, &answer, SDP_OA_ANSWER), 0);
	assert_int_equal(oa.state, SDP_OA_IDLE);
	/* More m-lines than offered is as wrong as fewer. */
	assert_int_equal(sdp_oa_recv(&oa, &short_answer, &kind), 0);
	assert_int_equal(sdp_oa_send(&oa, &answer, SDP_OA_ANSWER), -EPROTO);
}

static void test_sdp_oa_answer_media_type(void **state)
{
	struct fx *f = *state;
	struct sdp offer, twice_audio, swapped, answer;
	struct sdp_oa oa = {0};
	enum sdp_oa_kind kind;

	parse(f, audio_video, &offer);
	parse(f, audio_audio, &twice_audio);
	parse(f, video_audio, &swapped);
	parse(f, audio_video_answer, &answer);
	assert_int_equal(sdp_oa_send(&oa, &offer, SDP_OA_OFFER), 0);
	assert_int_equal(sdp_oa_recv(&oa, &twice_audio, &kind), -EPROTO);
	assert_int_equal(sdp_oa_recv(&oa, &swapped, &kind), -EPROTO);
	assert_int_equal(oa.state, SDP_OA_LOCAL_OFFER);
	assert_int_equal(sdp_oa_recv(&oa, &answer, &kind), 0);
	assert_int_equal(sdp_oa_recv(&oa, &offer, &kind), 0);
	assert_int_equal(sdp_oa_send(&oa, &swapped, SDP_OA_ANSWER), -EPROTO);
	assert_int_equal(sdp_oa_send(&oa, &twice_audio, SDP_OA_ANSWER),
			 -EPROTO);
	assert_int_equal(sdp_oa_send(&oa, &answer, SDP_OA_ANSWER), 0);
}

static void test_sdp_oa_answer_other_types(void **state)
{
	struct fx *f = *state;
	struct sdp offer, answer_same, answer_image;
	struct sdp_oa oa = {0};
	enum sdp_oa_kind kind;

	parse(f,
	      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
	      "t=0 0\r\nm=image 5000 udptl t38\r\n"
	      "m=application 5002 UDP/DTLS/SCTP webrtc-datachannel\r\n",
	      &offer);
	parse(f,
	      "v=0\r\no=- 2 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\n"
	      "t=0 0\r\nm=image 6000 udptl t38\r\n"
	      "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n",
	      &answer_same);
	parse(f,
	      "v=0\r\no=- 2 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\n"
	      "t=0 0\r\nm=image 6000 udptl t38\r\nm=image 0 udptl t38\r\n",
	      &answer_image);
	assert_int_equal(sdp_oa_recv(&oa, &offer, &kind), 0);
	assert_int_equal(sdp_oa_send(&oa, &answer_image, SDP_OA_ANSWER),
			 -EPROTO);
	assert_int_equal(sdp_oa_send(&oa, &answer_same, SDP_OA_ANSWER), 0);
}

static void test_sdp_oa_answer_without_offer(void **state)
{
	struct fx *f = *state;
	struct sdp s;
	struct sdp_oa oa = {0};

	parse(f, audio_video, &s);
	/* RFC 3264 4: an answer only to a received offer. */
	assert_int_equal(sdp_oa_send(&oa, &s, SDP_OA_ANSWER), -EPROTO);
	assert_int_equal(oa.state, SDP_OA_IDLE);
	assert_int_equal(sdp_oa_send(&oa, &s, SDP_OA_OFFER), 0);
	assert_int_equal(sdp_oa_send(&oa, &s, SDP_OA_ANSWER), -EPROTO);
	assert_int_equal(oa.state, SDP_OA_LOCAL_OFFER);
	assert_int_equal(sdp_oa_send(&oa, &s, (enum sdp_oa_kind)7), -EINVAL);
	assert_int_equal(oa.state, SDP_OA_LOCAL_OFFER);
	assert_false(oa.has_completed);
}

static void test_sdp_oa_reset(void **state)
{
	struct fx *f = *state;
	struct sdp offer, answer, other;
	struct sdp_oa oa = {0};
	enum sdp_oa_kind kind;

	parse(f, audio_video, &offer);
	parse(f, audio_video_answer, &answer);
	parse(f, audio_only, &other);
	/* Reset in IDLE is a no-op. */
	sdp_oa_reset(&oa);
	assert_int_equal(oa.state, SDP_OA_IDLE);
	/* A failed re-INVITE we sent: the next SDP received is an offer. */
	assert_int_equal(sdp_oa_send(&oa, &offer, SDP_OA_OFFER), 0);
	sdp_oa_reset(&oa);
	assert_int_equal(oa.state, SDP_OA_IDLE);
	assert_int_equal(sdp_oa_recv(&oa, &answer, &kind), 0);
	assert_int_equal(kind, SDP_OA_OFFER);
	/* A failed offer we received: the answer owed is gone. */
	sdp_oa_reset(&oa);
	assert_int_equal(sdp_oa_send(&oa, &answer, SDP_OA_ANSWER), -EPROTO);
	/* The new offer's m-lines count, not the reset one's. */
	assert_int_equal(sdp_oa_send(&oa, &other, SDP_OA_OFFER), 0);
	assert_int_equal(oa.offer_media, 1);
	assert_int_equal(sdp_oa_recv(&oa, &answer, &kind), -EPROTO);
	assert_int_equal(sdp_oa_recv(&oa, &other, &kind), 0);
	assert_int_equal(kind, SDP_OA_ANSWER);
	assert_true(oa.has_completed);
	/* A completed exchange stays completed over a reset. */
	assert_int_equal(sdp_oa_send(&oa, &offer, SDP_OA_OFFER), 0);
	sdp_oa_reset(&oa);
	assert_true(oa.has_completed);
}

static void test_sdp_leg_origin_rewrite(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_leg l;

	parse(f, audio_video_answer, &s);
	sdp_leg_init(&l, SL("192.0.2.10"), 4611686018427387903ull);
	assert_false(l.is_ip6);
	assert_int_equal(sdp_leg_print(&l, &s, &f->out), 0);
	assert_out(&f->out, "v=0\r\n"
			    "o=- 4611686018427387903 1 IN IP4 192.0.2.10\r\n"
			    "s=-\r\n"
			    "c=IN IP4 10.0.0.2\r\n"
			    "t=0 0\r\n"
			    "m=audio 60000 RTP/AVP 0\r\n"
			    "a=rtpmap:0 PCMU/8000\r\n"
			    "m=video 0 RTP/AVP 31\r\n");
	assert_int_equal(sdp_parse(buf_slice(&f->out), &f->arena, &again), 0);
	assert_sl(again.o_user, "-");
	assert_sl(again.o_sess_id, "4611686018427387903");
	assert_sl(again.o_sess_version, "1");
	assert_sl(again.o_nettype, "IN");
	assert_sl(again.o_addrtype, "IP4");
	assert_sl(again.o_addr, "192.0.2.10");
	assert_int_equal(again.nmedia, 2);
	assert_sl(again.media[1].type, "video");
	assert_int_equal(again.media[1].port, 0);
}

static void test_sdp_leg_ip6(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_leg l, plain;

	parse(f, audio_only, &s);
	sdp_leg_init(&l, SL("[2001:db8::a]"), 77);
	assert_true(l.is_ip6);
	assert_string_equal(l.addr, "2001:db8::a");
	sdp_leg_init(&plain, SL("2001:db8::a"), 77);
	assert_true(plain.is_ip6);
	assert_string_equal(plain.addr, "2001:db8::a");
	assert_int_equal(sdp_leg_print(&l, &s, &f->out), 0);
	assert_int_equal(sdp_parse(buf_slice(&f->out), &f->arena, &again), 0);
	assert_sl(again.o_sess_id, "77");
	assert_sl(again.o_addrtype, "IP6");
	assert_sl(again.o_addr, "2001:db8::a");
	/* Only o= is ours: the media c= stays as given. */
	assert_sl(again.conn.raw, "IN IP4 10.0.0.2");
	/* The longest IPv6 text form, bracketed, fits. */
	sdp_leg_init(&l, SL("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]"),
		     1);
	assert_string_equal(l.addr, "ffff:ffff:ffff:ffff:ffff:ffff:"
				    "255.255.255.255");
	assert_true(l.is_ip6);
}

static void test_sdp_leg_version_repeat(void **state)
{
	struct fx *f = *state;
	struct sdp s, same_lf, peer_bumped;
	struct sdp_leg l;

	parse(f, audio_video, &s);
	/* The same description with LF ends and the peer's version bumped. */
	parse(f,
	      "v=0\no=alice 2890844526 2890844526 IN IP4 10.0.0.1\ns=-\n"
	      "c=IN IP4 10.0.0.1\nt=0 0\nm=audio 49170 RTP/AVP 0 101\n"
	      "a=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\n"
	      "m=video 51372 RTP/AVP 31\na=rtpmap:31 H261/90000\n\n",
	      &same_lf);
	parse(f,
	      "v=0\r\no=alice 2890844526 2890844530 IN IP4 10.9.9.9\r\n"
	      "s=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
	      "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
	      "a=rtpmap:101 telephone-event/8000\r\n"
	      "m=video 51372 RTP/AVP 31\r\na=rtpmap:31 H261/90000\r\n",
	      &peer_bumped);
	sdp_leg_init(&l, SL("192.0.2.10"), 5);
	assert_false(l.has_sent);
	assert_int_equal(leg_version(f, &l, &s), 1);
	assert_true(l.has_sent);
	/* RFC 3264 8: a repeat keeps the version. */
	assert_int_equal(leg_version(f, &l, &s), 1);
	assert_int_equal(leg_version(f, &l, &same_lf), 1);
	assert_int_equal(leg_version(f, &l, &peer_bumped), 1);
	assert_int_equal(l.sess_id, 5);
}

static void test_sdp_leg_version_change(void **state)
{
	struct fx *f = *state;
	struct sdp first, moved, codec;
	struct sdp_leg l, other;

	parse(f, audio_only, &first);
	parse(f,
	      "v=0\r\no=bob 2808844564 2808844564 IN IP4 10.0.0.2\r\n"
	      "s=-\r\nc=IN IP4 10.0.0.3\r\nt=0 0\r\n"
	      "m=audio 60000 RTP/AVP 0\r\n",
	      &moved);
	parse(f,
	      "v=0\r\no=bob 2808844564 2808844564 IN IP4 10.0.0.2\r\n"
	      "s=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
	      "m=audio 60000 RTP/AVP 8\r\n",
	      &codec);
	sdp_leg_init(&l, SL("192.0.2.10"), 9);
	assert_int_equal(leg_version(f, &l, &first), 1);
	assert_int_equal(leg_version(f, &l, &moved), 2);
	assert_int_equal(leg_version(f, &l, &moved), 2);
	assert_int_equal(leg_version(f, &l, &codec), 3);
	/* Going back to an earlier description is still a change. */
	assert_int_equal(leg_version(f, &l, &first), 4);
	/* Each leg counts on its own. */
	sdp_leg_init(&other, SL("198.51.100.1"), 10);
	assert_int_equal(leg_version(f, &other, &codec), 1);
	assert_int_equal(l.version, 4);
}

static void test_sdp_leg_hold_bumps(void **state)
{
	struct fx *f = *state;
	struct sdp active, hold, again;
	struct sdp_leg l;

	parse(f, audio_only, &active);
	parse(f,
	      "v=0\r\no=bob 2808844564 2808844565 IN IP4 10.0.0.2\r\n"
	      "s=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
	      "m=audio 60000 RTP/AVP 0\r\na=sendonly\r\n",
	      &hold);
	sdp_leg_init(&l, SL("192.0.2.10"), 3);
	assert_int_equal(leg_version(f, &l, &active), 1);
	/* RFC 3264 8.4: hold is a changed description. */
	assert_int_equal(leg_version(f, &l, &hold), 2);
	assert_int_equal(sdp_parse(buf_slice(&f->out), &f->arena, &again), 0);
	assert_true(sdp_media_is_hold(&again, &again.media[0]));
	assert_int_equal(leg_version(f, &l, &hold), 2);
	assert_int_equal(leg_version(f, &l, &active), 3);
}

static void test_sdp_leg_print_appends(void **state)
{
	struct fx *f = *state;
	struct sdp s, again;
	struct sdp_leg l;
	size_t before;

	parse(f, audio_only, &s);
	sdp_leg_init(&l, SL("192.0.2.10"), 3);
	assert_int_equal(buf_append_str(&f->out, "prefix"), 0);
	before = f->out.len;
	assert_int_equal(sdp_leg_print(&l, &s, &f->out), 0);
	assert_memory_equal(f->out.p, "prefix", before);
	assert_int_equal(
	    sdp_parse(slice_make(f->out.p + before, f->out.len - before),
		      &f->arena, &again),
	    0);
	assert_sl(again.o_addr, "192.0.2.10");
}

/* A print that fails leaves out and the leg as they were. */
static void test_sdp_leg_print_error(void **state)
{
	struct fx *f = *state;
	struct sdp s, moved;
	struct sdp_leg l;
	struct buf small;

	parse(f, audio_only, &s);
	parse(f,
	      "v=0\r\no=bob 2808844564 2808844564 IN IP4 10.0.0.2\r\n"
	      "s=-\r\nc=IN IP4 10.0.0.3\r\nt=0 0\r\n"
	      "m=audio 60000 RTP/AVP 0\r\n",
	      &moved);
	sdp_leg_init(&l, SL("192.0.2.10"), 3);
	buf_init(&small, 40);
	assert_int_equal(buf_append_str(&small, "kept"), 0);
	assert_int_equal(sdp_leg_print(&l, &s, &small), -E2BIG);
	assert_int_equal(small.len, 4);
	assert_string_equal(small.p, "kept");
	assert_false(l.has_sent);
	buf_close(&small);
	assert_int_equal(leg_version(f, &l, &s), 1);
	/* A failed print of a change does not count as sent. */
	for (int64_t n = 0;; n++) {
		struct buf out;
		int err;

		buf_init(&out, 0);
		sb_mem_fail_after(n);
		err = sdp_leg_print(&l, &moved, &out);
		sb_mem_fail_after(-1);
		buf_close(&out);
		if (err == 0)
			break;
		assert_int_equal(err, -ENOMEM);
		assert_int_equal(l.version, 1);
	}
	assert_int_equal(l.version, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_sdp_oa_remote_offer_round_trip),
	    T(test_sdp_oa_local_offer_round_trip),
	    T(test_sdp_oa_two_legs),
	    T(test_sdp_oa_glare),
	    T(test_sdp_oa_answer_mline_count),
	    T(test_sdp_oa_answer_media_type),
	    T(test_sdp_oa_answer_other_types),
	    T(test_sdp_oa_answer_without_offer),
	    T(test_sdp_oa_reset),
	    T(test_sdp_leg_origin_rewrite),
	    T(test_sdp_leg_ip6),
	    T(test_sdp_leg_version_repeat),
	    T(test_sdp_leg_version_change),
	    T(test_sdp_leg_hold_bumps),
	    T(test_sdp_leg_print_appends),
	    T(test_sdp_leg_print_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
