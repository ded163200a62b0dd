/* Unit tests for building responses and new requests (sip/msg/build.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/limits.h"
#include "base/mem.h"
#include "sip/msg/build.h"
#include "sip/msg/msg.h"
#include "msg_fx.h"

#define INVITE_HEAD                                                            \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                               \
	"Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, "                    \
	"SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bK2\r\n"                  \
	"Max-Forwards: 69\r\n"                                                 \
	"v: SIP/2.0/UDP ua.example.com:5062;branch=z9hG4bK3;rport=5062;"       \
	"received=192.0.2.1\r\n"                                               \
	"Record-Route: <sip:p1.example.com;lr>\r\n"                            \
	"Record-Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\r\n"   \
	"From: Alice <sip:alice@example.com>;tag=a1\r\n"

#define INVITE_TAIL                                                            \
	"Call-ID: c1@example.com\r\n"                                          \
	"CSeq: 1 INVITE\r\n"                                                   \
	"Contact: <sip:alice@ua.example.com:5062>\r\n"                         \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

#define REPLY_VIAS                                                             \
	"Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, "                    \
	"SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bK2\r\n"                  \
	"v: SIP/2.0/UDP ua.example.com:5062;branch=z9hG4bK3;rport=5062;"       \
	"received=192.0.2.1\r\n"

static void test_build_reply_vias_in_order(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {
	    .status = 180,
	    .to_tag = SL("b2"),
	    .copy_record_route = true,
	    .server = SL("switchboard"),
	};

	/* Timestamp is echoed by 100 Trying only. */
	assert_int_equal(fx_parse(f, INVITE_HEAD
				  "To: Bob <sip:bob@example.com>\r\n"
				  "Timestamp: 54\r\n" INVITE_TAIL),
			 0);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), 0);
	assert_out(&f->out, "SIP/2.0 180 Ringing\r\n" REPLY_VIAS
			    "From: Alice <sip:alice@example.com>;tag=a1\r\n"
			    "To: Bob <sip:bob@example.com>;tag=b2\r\n"
			    "Call-ID: c1@example.com\r\n"
			    "CSeq: 1 INVITE\r\n"
			    "Record-Route: <sip:p1.example.com;lr>\r\n"
			    "Record-Route: <sip:p2.example.com;lr>, "
			    "<sip:p3.example.com;lr>\r\n"
			    "Server: switchboard\r\n"
			    "Content-Length: 0\r\n"
			    "\r\n");
}

static void test_build_reply_keeps_existing_to_tag(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {.status = 200, .to_tag = SL("new")};

	assert_int_equal(
	    fx_parse(f, INVITE_HEAD
		     "To: Bob <sip:bob@example.com>;tag=old\r\n" INVITE_TAIL),
	    0);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), 0);
	assert_out(&f->out, "SIP/2.0 200 OK\r\n" REPLY_VIAS
			    "From: Alice <sip:alice@example.com>;tag=a1\r\n"
			    "To: Bob <sip:bob@example.com>;tag=old\r\n"
			    "Call-ID: c1@example.com\r\n"
			    "CSeq: 1 INVITE\r\n"
			    "Content-Length: 0\r\n"
			    "\r\n");
}

static void test_build_reply_trying_has_no_tag(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {.status = 100, .to_tag = SL("b2")};

	assert_int_equal(fx_parse(f, INVITE_HEAD
				  "t: <sip:bob@example.com>\r\n"
				  "Timestamp: 54.2\r\n" INVITE_TAIL),
			 0);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), 0);
	assert_out(&f->out, "SIP/2.0 100 Trying\r\n" REPLY_VIAS
			    "From: Alice <sip:alice@example.com>;tag=a1\r\n"
			    "t: <sip:bob@example.com>\r\n"
			    "Call-ID: c1@example.com\r\n"
			    "CSeq: 1 INVITE\r\n"
			    "Timestamp: 54.2\r\n"
			    "Content-Length: 0\r\n"
			    "\r\n");
}

static void test_build_reply_options(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {
	    .status = 488,
	    .reason = SL("Codecs Rejected"),
	    .to_tag = SL("b2"),
	    .extra = SL("Allow: INVITE, ACK\r\nWarning: 304 sb \"x\"\r\n"),
	    .server = SL("sb/1"),
	    .content_type = SL("text/plain"),
	    .body = SL("no codec\r\n"),
	};

	assert_int_equal(fx_parse(f, INVITE_HEAD
				  "To: <sip:bob@example.com>\r\n" INVITE_TAIL),
			 0);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), 0);
	assert_out(&f->out, "SIP/2.0 488 Codecs Rejected\r\n" REPLY_VIAS
			    "From: Alice <sip:alice@example.com>;tag=a1\r\n"
			    "To: <sip:bob@example.com>;tag=b2\r\n"
			    "Call-ID: c1@example.com\r\n"
			    "CSeq: 1 INVITE\r\n"
			    "Allow: INVITE, ACK\r\n"
			    "Warning: 304 sb \"x\"\r\n"
			    "Server: sb/1\r\n"
			    "Content-Type: text/plain\r\n"
			    "Content-Length: 10\r\n"
			    "\r\n"
			    "no codec\r\n");
}

static void test_build_reply_appends_after_existing(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {.status = 404};

	assert_int_equal(fx_parse(f, INVITE_HEAD
				  "To: <sip:bob@example.com>\r\n" INVITE_TAIL),
			 0);
	assert_int_equal(buf_append_str(&f->out, "prefix|"), 0);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), 0);
	assert_out(&f->out, "prefix|SIP/2.0 404 Not Found\r\n" REPLY_VIAS
			    "From: Alice <sip:alice@example.com>;tag=a1\r\n"
			    "To: <sip:bob@example.com>\r\n"
			    "Call-ID: c1@example.com\r\n"
			    "CSeq: 1 INVITE\r\n"
			    "Content-Length: 0\r\n"
			    "\r\n");
}

static void test_build_reply_to_partial_request(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {.status = 400, .to_tag = SL("b2")};

	assert_int_equal(fx_parse(f, "OPTIONS sip:bob@example.com SIP/2.0\r\n"
				     "Via: SIP/2.0/UDP ua.example.com;"
				     "branch=z9hG4bKx\r\n"
				     "To: <sip:bob@example.com>\r\n"
				     "From: <sip:alice@example.com>;tag=a1\r\n"
				     "Call-ID: c2\r\n"
				     "CSeq: abc OPTIONS\r\n"
				     "\r\n"),
			 -EBADMSG);
	assert_non_null(f->msg.hdrs);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), 0);
	assert_out(&f->out,
		   "SIP/2.0 400 Bad Request\r\n"
		   "Via: SIP/2.0/UDP ua.example.com;branch=z9hG4bKx\r\n"
		   "From: <sip:alice@example.com>;tag=a1\r\n"
		   "To: <sip:bob@example.com>;tag=b2\r\n"
		   "Call-ID: c2\r\n"
		   "CSeq: abc OPTIONS\r\n"
		   "Content-Length: 0\r\n"
		   "\r\n");
}

static void test_build_reply_via_params_on_top_value(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {
	    .status = 200,
	    .to_tag = SL("b2"),
	    .via_params = SL(";received=192.0.2.9"),
	};

	/* RFC 3261 18.2.1: received goes on the top value, not the line. */
	assert_int_equal(fx_parse(f, INVITE_HEAD
				  "To: <sip:bob@example.com>\r\n" INVITE_TAIL),
			 0);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), 0);
	assert_out(&f->out,
		   "SIP/2.0 200 OK\r\n"
		   "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1;"
		   "received=192.0.2.9, "
		   "SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bK2\r\n"
		   "v: SIP/2.0/UDP ua.example.com:5062;branch=z9hG4bK3;"
		   "rport=5062;received=192.0.2.1\r\n"
		   "From: Alice <sip:alice@example.com>;tag=a1\r\n"
		   "To: <sip:bob@example.com>;tag=b2\r\n"
		   "Call-ID: c1@example.com\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Content-Length: 0\r\n"
		   "\r\n");
}

#define RPORT_REQ_MID                                                          \
	"Via: SIP/2.0/UDP p9.example.com;branch=z9hG4bK9\r\n"                  \
	"From: <sip:alice@example.com>;tag=a1\r\n"

static void test_build_reply_via_params_fill_rport(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {
	    .status = 404,
	    .to_tag = SL("b2"),
	    .via_params = SL(";received=192.0.2.9;rport=5062"),
	};

	/* RFC 3581 4: the bare rport gets its value, it is not doubled. */
	assert_int_equal(fx_parse(f, "OPTIONS sip:bob@example.com SIP/2.0\r\n"
				     "Via: SIP/2.0/UDP ua.example.com:5062;"
				     "rport;branch=z9hG4bKr\r\n" RPORT_REQ_MID
				     "To: <sip:bob@example.com>\r\n"
				     "Call-ID: c3\r\n"
				     "CSeq: 5 OPTIONS\r\n"
				     "\r\n"),
			 0);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), 0);
	assert_out(&f->out,
		   "SIP/2.0 404 Not Found\r\n"
		   "Via: SIP/2.0/UDP ua.example.com:5062;branch=z9hG4bKr;"
		   "received=192.0.2.9;rport=5062\r\n" RPORT_REQ_MID
		   "To: <sip:bob@example.com>;tag=b2\r\n"
		   "Call-ID: c3\r\n"
		   "CSeq: 5 OPTIONS\r\n"
		   "Content-Length: 0\r\n"
		   "\r\n");
}

static void test_build_reply_via_params_partial_request(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {
	    .status = 400,
	    .via_params = SL(";received=192.0.2.9"),
	};

	/* The Via was never parsed: the top value ends at the comma. */
	assert_int_equal(fx_parse(f, "OPTIONS sip:bob@example.com SIP/2.0\r\n"
				     "Via: SIP/2.0/UDP a.example.com;"
				     "branch=z9hG4bKa;x=\"p,q\" , "
				     "SIP/2.0/UDP b.example.com\r\n"
				     "CSeq: 1\r\n"
				     "\r\n"),
			 -EBADMSG);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), 0);
	assert_out(&f->out, "SIP/2.0 400 Bad Request\r\n"
			    "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa;"
			    "x=\"p,q\";received=192.0.2.9 , "
			    "SIP/2.0/UDP b.example.com\r\n"
			    "CSeq: 1\r\n"
			    "Content-Length: 0\r\n"
			    "\r\n");
}

static void test_build_reply_rejects_bad_options(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {.status = 99};

	assert_int_equal(fx_parse(f, INVITE_HEAD
				  "To: <sip:bob@example.com>\r\n" INVITE_TAIL),
			 0);
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), -EINVAL);
	o.status = 700;
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), -EINVAL);
	o.status = 200;
	o.body = SL("x");
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), -EINVAL);
	o.body = slice_make(NULL, 0);
	o.extra = SL("X-No-Crlf: 1");
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), -EINVAL);
	o.extra = slice_make(NULL, 0);
	o.via_params = SL("received=192.0.2.9");
	assert_int_equal(sip_reply_build(&f->out, &f->msg, &o), -EINVAL);
	assert_int_equal(f->out.len, 0);
}

static void test_build_reason_phrases(void **state)
{
	(void)state;
	assert_string_equal(sip_reason_phrase(100), "Trying");
	assert_string_equal(sip_reason_phrase(199), "Early Dialog Terminated");
	assert_string_equal(sip_reason_phrase(200), "OK");
	assert_string_equal(sip_reason_phrase(302), "Moved Temporarily");
	assert_string_equal(sip_reason_phrase(404), "Not Found");
	assert_string_equal(sip_reason_phrase(422),
			    "Session Interval Too Small");
	assert_string_equal(sip_reason_phrase(481),
			    "Call/Transaction Does Not Exist");
	assert_string_equal(sip_reason_phrase(494),
			    "Security Agreement Required");
	assert_string_equal(sip_reason_phrase(503), "Service Unavailable");
	assert_string_equal(sip_reason_phrase(555),
			    "Push Notification Service Not Supported");
	assert_string_equal(sip_reason_phrase(603), "Decline");
	assert_string_equal(sip_reason_phrase(608), "Rejected");
	assert_string_equal(sip_reason_phrase(0), "Unknown");
	assert_string_equal(sip_reason_phrase(299), "Unknown");
	assert_string_equal(sip_reason_phrase(699), "Unknown");
}

static struct sip_request_opts invite_opts(void)
{
	return (struct sip_request_opts){
	    .method = SL("INVITE"),
	    .ruri = SL("sip:bob@example.com"),
	    .via_transport = SL("TCP"),
	    .via_host = SL("[2001:db8::1]"),
	    .via_port = 5070,
	    .branch = SL("z9hG4bKleg1"),
	    .via_rport = true,
	    .from = SL("\"Alice\" <sip:alice@example.com>"),
	    .from_tag = SL("f1"),
	    .to = SL("<sip:bob@example.com>"),
	    .call_id = SL("b2b-1@example.com"),
	    .cseq = 7,
	    .contact = SL("<sip:sb@[2001:db8::1]:5070;transport=tcp>"),
	    .routes = SL("Route: <sip:p1.example.com;lr>\r\n"),
	    .extra = SL("Allow: INVITE, ACK, BYE\r\n"),
	    .content_type = SL("application/sdp"),
	    .body = SL("v=0\r\n"),
	    .user_agent = SL("switchboard"),
	};
}

#define INVITE_BUILT                                                           \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                               \
	"Via: SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKleg1;rport\r\n"     \
	"Max-Forwards: 70\r\n"                                                 \
	"From: \"Alice\" <sip:alice@example.com>;tag=f1\r\n"                   \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: b2b-1@example.com\r\n"                                       \
	"CSeq: 7 INVITE\r\n"                                                   \
	"Contact: <sip:sb@[2001:db8::1]:5070;transport=tcp>\r\n"               \
	"Route: <sip:p1.example.com;lr>\r\n"                                   \
	"Allow: INVITE, ACK, BYE\r\n"                                          \
	"User-Agent: switchboard\r\n"                                          \
	"Content-Type: application/sdp\r\n"                                    \
	"Content-Length: 5\r\n"                                                \
	"\r\n"                                                                 \
	"v=0\r\n"

static void test_build_request_exact(void **state)
{
	struct fx *f = *state;
	struct sip_request_opts o = invite_opts();

	assert_int_equal(sip_request_build(&f->out, &o), 0);
	assert_out(&f->out, INVITE_BUILT);
}

static void test_build_request_minimal(void **state)
{
	struct fx *f = *state;
	struct sip_request_opts o = {
	    .method = SL("BYE"),
	    .ruri = SL("sip:bob@192.0.2.2"),
	    .via_host = SL("192.0.2.1"),
	    .branch = SL("z9hG4bKbye"),
	    .from = SL("<sip:alice@example.com>"),
	    .from_tag = SL("f1"),
	    .to = SL("<sip:bob@example.com>"),
	    .to_tag = SL("t9"),
	    .call_id = SL("c9"),
	    .cseq = 2,
	    .max_forwards = 10,
	};

	assert_int_equal(sip_request_build(&f->out, &o), 0);
	assert_out(&f->out, "BYE sip:bob@192.0.2.2 SIP/2.0\r\n"
			    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKbye\r\n"
			    "Max-Forwards: 10\r\n"
			    "From: <sip:alice@example.com>;tag=f1\r\n"
			    "To: <sip:bob@example.com>;tag=t9\r\n"
			    "Call-ID: c9\r\n"
			    "CSeq: 2 BYE\r\n"
			    "Content-Length: 0\r\n"
			    "\r\n");
}

static void test_build_request_round_trips(void **state)
{
	struct fx *f = *state;
	struct sip_request_opts o = invite_opts();
	const struct sip_via *v;
	char *copy;

	assert_int_equal(sip_request_build(&f->out, &o), 0);
	copy = arena_strndup(&f->arena, f->out.p, f->out.len);
	assert_non_null(copy);
	assert_int_equal(sip_msg_parse(&f->msg, &f->arena, copy, f->out.len,
				       SIP_FRAMING_STREAM, &f->lim, &f->perr),
			 0);
	assert_true(f->msg.is_request);
	assert_int_equal(f->msg.method, SIP_METHOD_INVITE);
	assert_true(slice_eq(f->msg.ruri_raw, o.ruri));
	v = f->msg.via;
	assert_non_null(v);
	assert_null(v->next);
	assert_true(slice_eq(v->transport, SL("TCP")));
	assert_true(slice_eq(v->host, SL("[2001:db8::1]")));
	assert_true(v->has_port);
	assert_int_equal(v->port, 5070);
	assert_true(slice_eq(v->branch, o.branch));
	assert_true(v->has_rport);
	assert_true(slice_eq(f->msg.from->tag, SL("f1")));
	assert_false(slice_is_set(f->msg.to->tag));
	assert_true(slice_eq(f->msg.call_id, o.call_id));
	assert_int_equal(f->msg.cseq.num, 7);
	assert_int_equal(f->msg.cseq.method, SIP_METHOD_INVITE);
	assert_true(f->msg.has_content_length);
	assert_int_equal(f->msg.content_length, 5);
	assert_true(slice_eq(f->msg.body, o.body));
}

static void test_build_request_rejects_missing_fields(void **state)
{
	struct fx *f = *state;
	struct sip_request_opts o;

	o = invite_opts();
	o.method = slice_make(NULL, 0);
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	o = invite_opts();
	o.ruri = slice_make(NULL, 0);
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	o = invite_opts();
	o.via_host = slice_make(NULL, 0);
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	o = invite_opts();
	o.branch = slice_make(NULL, 0);
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	o = invite_opts();
	o.branch = SL("1234abcd");
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	o = invite_opts();
	o.from = slice_make(NULL, 0);
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	o = invite_opts();
	o.to = slice_make(NULL, 0);
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	o = invite_opts();
	o.call_id = slice_make(NULL, 0);
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	o = invite_opts();
	o.cseq = 0x80000000u;
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	o = invite_opts();
	o.content_type = slice_make(NULL, 0);
	assert_int_equal(sip_request_build(&f->out, &o), -EINVAL);
	assert_int_equal(f->out.len, 0);
}

static void test_build_request_oom(void **state)
{
	struct sip_request_opts o = invite_opts();
	char big[2000];
	int err = -ENOMEM;
	int64_t n;

	(void)state;
	/* A large body makes the buffer grow several times. */
	memset(big, 'x', sizeof(big));
	o.body = slice_make(big, sizeof(big));
	for (n = 0; err; n++) {
		struct buf b;
		int64_t live = sb_live_get(SB_LIVE_ALLOC);

		buf_init(&b, 0);
		sb_mem_fail_after(n);
		err = sip_request_build(&b, &o);
		sb_mem_fail_after(-1);
		if (err) {
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(b.len, 0);
		} else {
			assert_int_equal(b.len, sizeof(INVITE_BUILT) - 1 -
						    strlen("5\r\n\r\nv=0\r\n") +
						    strlen("2000\r\n\r\n") +
						    sizeof(big));
		}
		buf_close(&b);
		assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live);
	}
	assert_true(n > 1);
}

static void test_build_reply_oom(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {.status = 200, .to_tag = SL("b2")};
	char big[1500];
	int err = -ENOMEM;
	int64_t n;

	memset(big, 'y', sizeof(big));
	o.content_type = SL("text/plain");
	o.body = slice_make(big, sizeof(big));
	assert_int_equal(fx_parse(f, INVITE_HEAD
				  "To: <sip:bob@example.com>\r\n" INVITE_TAIL),
			 0);
	for (n = 0; err; n++) {
		struct buf b;
		int64_t live = sb_live_get(SB_LIVE_ALLOC);

		buf_init(&b, 0);
		sb_mem_fail_after(n);
		err = sip_reply_build(&b, &f->msg, &o);
		sb_mem_fail_after(-1);
		if (err) {
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(b.len, 0);
		}
		buf_close(&b);
		assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live);
	}
	assert_true(n > 1);
}

static void test_build_reply_too_big(void **state)
{
	struct fx *f = *state;
	struct sip_reply_opts o = {.status = 200};
	struct buf b;

	assert_int_equal(fx_parse(f, INVITE_HEAD
				  "To: <sip:bob@example.com>\r\n" INVITE_TAIL),
			 0);
	buf_init(&b, 64);
	assert_int_equal(sip_reply_build(&b, &f->msg, &o), -E2BIG);
	assert_int_equal(b.len, 0);
	buf_close(&b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_build_reply_vias_in_order),
	    T(test_build_reply_keeps_existing_to_tag),
	    T(test_build_reply_trying_has_no_tag),
	    T(test_build_reply_options),
	    T(test_build_reply_appends_after_existing),
	    T(test_build_reply_to_partial_request),
	    T(test_build_reply_via_params_on_top_value),
	    T(test_build_reply_via_params_fill_rport),
	    T(test_build_reply_via_params_partial_request),
	    T(test_build_reply_rejects_bad_options),
	    T(test_build_reason_phrases),
	    T(test_build_request_exact),
	    T(test_build_request_minimal),
	    T(test_build_request_round_trips),
	    T(test_build_request_rejects_missing_fields),
	    T(test_build_request_oom),
	    T(test_build_reply_oom),
	    T(test_build_reply_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
