/* Unit tests: SIP dialogs and the dialog table (RFC 3261 section 12). */
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
#include "sip/dialog/dialog.h"
#include "sip/msg/build.h"
#include "sip/msg/msg.h"

/* One message at a time (raw is scrubbed between them), an output buffer. */
struct fx {
	int64_t live_alloc, live_arena;
	struct arena arena;
	struct sb_limits lim;
	struct sip_msg msg;
	struct buf out;
	char raw[32768];
};

static int setup(void **state)
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

static int teardown(void **state)
{
	struct fx *f = *state;

	sb_mem_fail_after(-1);
	buf_close(&f->out);
	arena_close(&f->arena);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	assert_int_equal(sb_live_get(SB_LIVE_ARENA), f->live_arena);
	return 0;
}

/* Overwrite the last message, so a dialog that kept a pointer into it
 * shows wrong strings. */
static void scrub(struct fx *f)
{
	memset(f->raw, '#', sizeof(f->raw));
}

/* Parse text (after scrubbing the previous message) into f->msg. */
static struct sip_msg *parse(struct fx *f, const char *text)
{
	struct sip_perr perr;
	size_t len = strlen(text);

	assert_true(len < sizeof(f->raw));
	scrub(f);
	memcpy(f->raw, text, len);
	assert_int_equal(sip_msg_parse(&f->msg, &f->arena, f->raw, len,
				       SIP_FRAMING_DATAGRAM, &f->lim, &perr),
			 0);
	return &f->msg;
}

static void assert_slice(struct slice s, const char *want)
{
	if (s.len != strlen(want) || (s.len && memcmp(s.p, want, s.len))) {
		print_error("got '%.*s', want '%s'\n", (int)s.len,
			    s.p ? s.p : "", want);
		fail();
	}
}

static const char invite_text[] =
    "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKa1\r\n"
    "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr;ftag=x>\r\n"
    "Record-Route: \"Edge\" <sip:p3.example.com;lr>;rrp=1\r\n"
    "From: \"Alice A\" "
    "<sip:alice@atlanta.example.com;user=phone>;tag=1928301774;x=y\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com;transport=tcp>;expires=60\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n";

/* A UAS dialog from invite_text with local tag "b-tag". */
static void uas_dialog(struct fx *f, struct dialog *d)
{
	struct sip_msg *m = parse(f, invite_text);

	assert_int_equal(dialog_uas_new(d, m, SL("b-tag")), 0);
	scrub(f);
}

/* A request in a dialog: method, CSeq and extra header lines. */
static struct sip_msg *in_dialog(struct fx *f, const char *method,
				 unsigned cseq, const char *extra)
{
	static char text[2048];
	int n =
	    snprintf(text, sizeof(text),
		     "%s sip:bob@192.0.2.4 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP pc33.atlanta.example.com;"
		     "branch=z9hG4bKq%u\r\n"
		     "From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		     "To: <sip:bob@biloxi.example.com>;tag=b-tag\r\n"
		     "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
		     "CSeq: %u %s\r\n"
		     "%s"
		     "Content-Length: 0\r\n\r\n",
		     method, cseq, cseq, method, extra);

	assert_true(n > 0 && (size_t)n < sizeof(text));
	return parse(f, text);
}

/* A response to our INVITE (UAC side): status, To tag (or none), extra. */
static struct sip_msg *response(struct fx *f, unsigned status,
				const char *to_tag, const char *extra)
{
	static char text[32768];
	char tag[256] = "";
	int n;

	if (to_tag)
		snprintf(tag, sizeof(tag), ";tag=%s", to_tag);
	n = snprintf(text, sizeof(text),
		     "SIP/2.0 %u Whatever\r\n"
		     "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKuac\r\n"
		     "From: <sip:sb@example.net>;tag=ltag\r\n"
		     "To: \"Carol\" <sip:carol@example.org>%s\r\n"
		     "Call-ID: uac-call-1\r\n"
		     "CSeq: 100 INVITE\r\n"
		     "%s"
		     "Content-Length: 0\r\n\r\n",
		     status, tag, extra);
	assert_true(n > 0 && (size_t)n < (int)sizeof(text));
	return parse(f, text);
}

/* A UAC dialog as a B2BUA B-leg starts it, with one preloaded route. */
static void uac_dialog(struct dialog *d)
{
	assert_int_equal(
	    dialog_uac_new(d, SL("uac-call-1"), SL("ltag"),
			   SL("<sip:sb@example.net>"),
			   SL("\"Carol\" <sip:carol@example.org>"),
			   SL("sip:carol@example.org"),
			   SL("Route: <sip:ob.example.net;lr>\r\n"), 100),
	    0);
}

/* Build o (with our Via) and parse the result back into f->msg. */
static struct sip_msg *build_and_parse(struct fx *f, struct sip_request_opts *o)
{
	o->via_host = SL("10.0.0.1");
	o->via_port = 5060;
	o->branch = SL("z9hG4bKbuilt");
	buf_reset(&f->out);
	assert_int_equal(sip_request_build(&f->out, o), 0);
	assert_int_equal(buf_append(&f->out, "", 1), 0);
	return parse(f, f->out.p);
}

/* The values of all Route headers of m, one "<uri>" per line. */
static void assert_routes(struct sip_msg *m, const char *want)
{
	const struct sip_nameaddr *na;
	char got[1024] = "";
	size_t len = 0;
	int err = sip_msg_routes(m, &na);

	assert_true(err == 0 || err == -ENOENT);
	for (; err == 0 && na; na = na->next)
		len += (size_t)snprintf(got + len, sizeof(got) - len,
					"<%.*s>\n", SL_ARG(na->uri.raw));
	assert_string_equal(got, want);
}

static void test_dialog_uas_from_invite(void **state)
{
	struct fx *f = *state;
	struct dialog d;

	uas_dialog(f, &d);
	assert_int_equal(d.state, DIALOG_EARLY);
	assert_slice(d.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
	assert_slice(d.local_tag, "b-tag");
	assert_slice(d.remote_tag, "1928301774");
	assert_slice(d.local_uri, "Bob <sip:bob@biloxi.example.com>");
	assert_slice(d.remote_uri,
		     "\"Alice A\" <sip:alice@atlanta.example.com;user=phone>");
	assert_slice(d.remote_target,
		     "sip:alice@pc33.atlanta.example.com;transport=tcp");
	/* RFC 3261 12.1.1: Record-Route in order, header params dropped */
	assert_slice(d.route_set, "Route: <sip:p1.example.com;lr>\r\n"
				  "Route: <sip:p2.example.com;lr;ftag=x>\r\n"
				  "Route: <sip:p3.example.com;lr>\r\n");
	assert_slice(d.first_route, "sip:p1.example.com;lr");
	assert_false(d.is_strict_first);
	assert_false(d.is_secure);
	assert_true(d.has_remote_cseq);
	assert_int_equal(d.remote_cseq, 314159);
	assert_true(d.local_cseq < (1u << 30));
	assert_true(d.text_len <= DIALOG_TEXT_MAX);
	dialog_free(&d);
	assert_null(d.text);
	dialog_free(NULL);
}

static void test_dialog_uas_secure_and_no_routes(void **state)
{
	struct fx *f = *state;
	struct sip_msg *m;
	struct dialog d;

	m = parse(f, "INVITE sips:bob@biloxi.example.com SIP/2.0\r\n"
		     "Via: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
		     "From: sips:alice@a.example.com;tag=9\r\n"
		     "To: sips:bob@biloxi.example.com\r\n"
		     "Call-ID: c2\r\nCSeq: 1 INVITE\r\n"
		     "Contact: sips:alice@h\r\n"
		     "Content-Length: 0\r\n\r\n");
	assert_int_equal(dialog_uas_new(&d, m, SL("t")), 0);
	assert_true(d.is_secure);
	assert_int_equal(d.route_set.len, 0);
	assert_int_equal(d.first_route.len, 0);
	/* addr-spec From: its params are header params, the tag is dropped */
	assert_slice(d.remote_uri, "<sips:alice@a.example.com>");
	assert_slice(d.local_uri, "<sips:bob@biloxi.example.com>");
	assert_slice(d.remote_target, "sips:alice@h");
	dialog_free(&d);
}

static void test_dialog_uas_errors(void **state)
{
	struct fx *f = *state;
	struct dialog d;
	static const char *const bad[] = {
	    /* no Contact */
	    "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	    "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n"
	    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	    /* From without tag */
	    "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	    "From: <sip:a@h>\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n"
	    "CSeq: 1 INVITE\r\nContact: <sip:a@h>\r\n"
	    "Content-Length: 0\r\n\r\n",
	    /* Contact: * */
	    "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	    "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n"
	    "CSeq: 1 INVITE\r\nContact: *\r\nContent-Length: 0\r\n\r\n",
	    /* a tel: Contact */
	    "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	    "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n"
	    "CSeq: 1 INVITE\r\nContact: <tel:+15551234>\r\n"
	    "Content-Length: 0\r\n\r\n",
	    /* a malformed Record-Route */
	    "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	    "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n"
	    "CSeq: 1 INVITE\r\nContact: <sip:a@h>\r\n"
	    "Record-Route: <sip:p1;lr\r\nContent-Length: 0\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&d, 0x5a, sizeof(d));
		assert_int_equal(dialog_uas_new(&d, parse(f, bad[i]), SL("t")),
				 -EBADMSG);
		/* RFC style: the out-parameter is untouched on failure */
		assert_int_equal(((unsigned char *)&d)[0], 0x5a);
	}
	assert_int_equal(dialog_uas_new(&d, parse(f, invite_text), SL("")),
			 -EINVAL);
}

/* An INVITE with n Record-Route lines whose URIs are pad bytes long. */
static const char *invite_with_routes(unsigned n, size_t pad,
				      const char *from_tag)
{
	static char text[32768];
	size_t len = 0;

	len += (size_t)snprintf(
	    text + len, sizeof(text) - len,
	    "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	    "From: <sip:a@h>;tag=%s\r\nTo: <sip:b@h>\r\nCall-ID: c\r\n"
	    "CSeq: 1 INVITE\r\nContact: <sip:a@h>\r\n",
	    from_tag);
	for (unsigned i = 0; i < n; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"Record-Route: <sip:p%u.", i);
		memset(text + len, 'x', pad);
		len += pad;
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					".example.com;lr>\r\n");
	}
	len += (size_t)snprintf(text + len, sizeof(text) - len,
				"Content-Length: 0\r\n\r\n");
	assert_true(len < sizeof(text) - 1);
	return text;
}

static void test_dialog_uas_limits(void **state)
{
	struct fx *f = *state;
	struct dialog d;
	char tag[DIALOG_TAG_MAX + 2];

	assert_int_equal(
	    dialog_uas_new(
		&d, parse(f, invite_with_routes(DIALOG_ROUTES_MAX, 1, "1")),
		SL("t")),
	    0);
	assert_int_equal(d.route_set.len,
			 DIALOG_ROUTES_MAX * strlen("Route: <sip:p0.x.example."
						    "com;lr>\r\n") +
			     6 /* p10..p15 */);
	dialog_free(&d);
	assert_int_equal(
	    dialog_uas_new(
		&d, parse(f, invite_with_routes(DIALOG_ROUTES_MAX + 1, 1, "1")),
		SL("t")),
	    -E2BIG);
	/* 16 routes of ~600 bytes: over DIALOG_TEXT_MAX */
	assert_int_equal(
	    dialog_uas_new(
		&d, parse(f, invite_with_routes(DIALOG_ROUTES_MAX, 600, "1")),
		SL("t")),
	    -E2BIG);
	memset(tag, 'k', sizeof(tag) - 1);
	tag[sizeof(tag) - 1] = '\0';
	assert_int_equal(dialog_uas_new(&d,
					parse(f, invite_with_routes(0, 1, tag)),
					SL("t")),
			 -E2BIG);
	tag[DIALOG_TAG_MAX] = '\0';
	assert_int_equal(dialog_uas_new(&d,
					parse(f, invite_with_routes(0, 1, tag)),
					SL("t")),
			 0);
	assert_int_equal(d.remote_tag.len, DIALOG_TAG_MAX);
	dialog_free(&d);
	assert_int_equal(dialog_uas_new(&d, parse(f, invite_text),
					slice_make(tag, DIALOG_TAG_MAX + 1)),
			 -E2BIG);
}

static void test_dialog_uac_new(void **state)
{
	struct fx *f = *state;
	struct dialog d;
	char big[DIALOG_TEXT_MAX + 1];

	uac_dialog(&d);
	assert_int_equal(d.state, DIALOG_INIT);
	assert_int_equal(d.remote_tag.len, 0);
	assert_int_equal(d.local_cseq, 100);
	assert_false(d.has_remote_cseq);
	assert_slice(d.route_set, "Route: <sip:ob.example.net;lr>\r\n");
	assert_slice(d.first_route, "sip:ob.example.net;lr");
	assert_slice(d.remote_target, "sip:carol@example.org");
	dialog_free(&d);

	/* several values on a line become one line each */
	assert_int_equal(dialog_uac_new(&d, SL("c"), SL("t"), SL("<sip:a@h>"),
					SL("<sip:b@h>"), SL("sips:b@h"),
					SL("Route: <sip:r1>, <sip:r2;lr>\r\n"
					   "route: <sip:r3;lr>\r\n"),
					1),
			 0);
	assert_slice(d.route_set, "Route: <sip:r1>\r\n"
				  "Route: <sip:r2;lr>\r\n"
				  "Route: <sip:r3;lr>\r\n");
	assert_true(d.is_strict_first);
	assert_true(d.is_secure);
	dialog_free(&d);

	/* missing fields, bad target, bad lines */
	assert_int_equal(dialog_uac_new(&d, SL(""), SL("t"), SL("<sip:a@h>"),
					SL("<sip:b@h>"), SL("sip:b@h"), SL(""),
					1),
			 -EINVAL);
	assert_int_equal(dialog_uac_new(&d, SL("c"), SL("t"), SL("<sip:a@h>"),
					SL("<sip:b@h>"), SL("tel:+1555"),
					SL(""), 1),
			 -EINVAL);
	assert_int_equal(dialog_uac_new(&d, SL("c"), SL("t"), SL("<sip:a@h>"),
					SL("<sip:b@h>"), SL("sip:b@h"),
					SL("Route: <sip:r1;lr>"), 1),
			 -EINVAL);
	assert_int_equal(dialog_uac_new(&d, SL("c"), SL("t"), SL("<sip:a@h>"),
					SL("<sip:b@h>"), SL("sip:b@h"),
					SL("Via: <sip:r1;lr>\r\n"), 1),
			 -EINVAL);
	assert_int_equal(dialog_uac_new(&d, SL("c"), SL("t"), SL("<sip:a@h>"),
					SL("<sip:b@h>"), SL("sip:b@h"), SL(""),
					0x80000000u),
			 -EINVAL);
	/* limits */
	assert_int_equal(dialog_uac_new(&d, SL("c"),
					slice_make(big, DIALOG_TAG_MAX + 1),
					SL("<sip:a@h>"), SL("<sip:b@h>"),
					SL("sip:b@h"), SL(""), 1),
			 -E2BIG);
	memset(big, 'c', sizeof(big));
	assert_int_equal(dialog_uac_new(&d, slice_make(big, sizeof(big)),
					SL("t"), SL("<sip:a@h>"),
					SL("<sip:b@h>"), SL("sip:b@h"), SL(""),
					1),
			 -E2BIG);
	{
		char lines[2048];
		size_t len = 0;

		for (unsigned i = 0; i <= DIALOG_ROUTES_MAX; i++)
			len +=
			    (size_t)snprintf(lines + len, sizeof(lines) - len,
					     "Route: <sip:r%u;lr>\r\n", i);
		assert_int_equal(dialog_uac_new(&d, SL("c"), SL("t"),
						SL("<sip:a@h>"),
						SL("<sip:b@h>"), SL("sip:b@h"),
						slice_make(lines, len), 1),
				 -E2BIG);
	}
	(void)f;
}

static void test_dialog_uac_early_then_confirmed(void **state)
{
	struct fx *f = *state;
	struct dialog d;

	uac_dialog(&d);
	/* RFC 3261 12.1.2: 100 and tagless responses make no dialog */
	assert_int_equal(dialog_uac_response(&d, response(f, 100, NULL, "")),
			 0);
	assert_int_equal(dialog_uac_response(&d, response(f, 180, NULL, "")),
			 0);
	assert_int_equal(d.state, DIALOG_INIT);
	assert_slice(d.route_set, "Route: <sip:ob.example.net;lr>\r\n");

	assert_int_equal(
	    dialog_uac_response(
		&d, response(f, 180, "rt1",
			     "Record-Route: <sip:p2.example.com;lr>\r\n"
			     "Record-Route: <sip:p1.example.com;lr>\r\n"
			     "Contact: <sip:carol@192.0.2.9:5070>\r\n")),
	    0);
	scrub(f);
	assert_int_equal(d.state, DIALOG_EARLY);
	assert_slice(d.remote_tag, "rt1");
	assert_slice(d.remote_target, "sip:carol@192.0.2.9:5070");
	/* RFC 3261 12.1.2: Record-Route reversed */
	assert_slice(d.route_set, "Route: <sip:p1.example.com;lr>\r\n"
				  "Route: <sip:p2.example.com;lr>\r\n");
	assert_slice(d.first_route, "sip:p1.example.com;lr");
	assert_slice(d.call_id, "uac-call-1");
	assert_slice(d.remote_uri, "\"Carol\" <sip:carol@example.org>");

	/* a later 1xx without Contact keeps the target */
	assert_int_equal(dialog_uac_response(&d, response(f, 183, "rt1", "")),
			 0);
	assert_int_equal(d.state, DIALOG_EARLY);
	assert_slice(d.remote_target, "sip:carol@192.0.2.9:5070");
	assert_int_equal(d.route_set.len, 0);

	assert_int_equal(
	    dialog_uac_response(
		&d, response(f, 200, "rt1",
			     "Record-Route: <sip:p3.example.com;lr>, "
			     "<sip:p2.example.com;lr>\r\n"
			     "Record-Route: <sip:p1.example.com;lr>\r\n"
			     "Contact: <sip:carol@192.0.2.10>\r\n")),
	    0);
	scrub(f);
	assert_int_equal(d.state, DIALOG_CONFIRMED);
	assert_slice(d.remote_target, "sip:carol@192.0.2.10");
	assert_slice(d.route_set, "Route: <sip:p1.example.com;lr>\r\n"
				  "Route: <sip:p2.example.com;lr>\r\n"
				  "Route: <sip:p3.example.com;lr>\r\n");
	assert_slice(d.local_uri, "<sip:sb@example.net>");
	assert_slice(d.local_tag, "ltag");

	/* RFC 3261 13.2.2.4: confirmed, the route set stays */
	assert_int_equal(
	    dialog_uac_response(
		&d, response(f, 200, "rt1",
			     "Record-Route: <sip:evil.example.com;lr>\r\n"
			     "Contact: <sip:carol@192.0.2.66>\r\n")),
	    0);
	assert_slice(d.route_set, "Route: <sip:p1.example.com;lr>\r\n"
				  "Route: <sip:p2.example.com;lr>\r\n"
				  "Route: <sip:p3.example.com;lr>\r\n");
	assert_slice(d.remote_target, "sip:carol@192.0.2.10");
	/* failures leave nothing to the dialog */
	assert_int_equal(dialog_uac_response(&d, response(f, 486, "rt1", "")),
			 0);
	assert_int_equal(d.state, DIALOG_CONFIRMED);
	dialog_free(&d);
}

static void test_dialog_uac_response_errors(void **state)
{
	struct fx *f = *state;
	char tag[DIALOG_TAG_MAX + 2];
	struct dialog d;

	uac_dialog(&d);
	/* RFC 3261 12.1.2: a 2xx must carry a Contact */
	assert_int_equal(dialog_uac_response(&d, response(f, 200, "x", "")),
			 -EBADMSG);
	assert_int_equal(d.state, DIALOG_INIT);
	assert_int_equal(d.remote_tag.len, 0);
	memset(tag, 't', sizeof(tag) - 1);
	tag[sizeof(tag) - 1] = '\0';
	assert_int_equal(
	    dialog_uac_response(
		&d, response(f, 180, tag, "Contact: <sip:c@h>\r\n")),
	    -E2BIG);
	{
		char extra[4096];
		size_t len = 0;

		for (unsigned i = 0; i <= DIALOG_ROUTES_MAX; i++)
			len += (size_t)snprintf(
			    extra + len, sizeof(extra) - len,
			    "Record-Route: <sip:r%u;lr>\r\n", i);
		snprintf(extra + len, sizeof(extra) - len,
			 "Contact: <sip:c@h>\r\n");
		assert_int_equal(
		    dialog_uac_response(&d, response(f, 180, "x", extra)),
		    -E2BIG);
	}
	assert_int_equal(d.state, DIALOG_INIT);
	assert_slice(d.route_set, "Route: <sip:ob.example.net;lr>\r\n");
	assert_slice(d.remote_target, "sip:carol@example.org");
	dialog_free(&d);
}

static void test_dialog_uac_fork(void **state)
{
	struct fx *f = *state;
	struct sip_msg *m;
	struct dialog d, d2;

	uac_dialog(&d);
	assert_int_equal(
	    dialog_uac_response(
		&d, response(f, 180, "branch-a",
			     "Record-Route: <sip:pa.example.com;lr>\r\n"
			     "Contact: <sip:carol@a.example.org>\r\n")),
	    0);
	m = response(f, 200, "branch-b",
		     "Record-Route: <sip:pb2.example.com;lr>, "
		     "<sip:pb1.example.com;lr>\r\n"
		     "Contact: <sip:carol@b.example.org>\r\n");
	/* RFC 3261 12.1.2: another To tag is another dialog */
	assert_int_equal(dialog_uac_response(&d, m), -EEXIST);
	assert_int_equal(d.state, DIALOG_EARLY);
	assert_slice(d.remote_tag, "branch-a");
	assert_slice(d.remote_target, "sip:carol@a.example.org");

	assert_int_equal(dialog_uac_fork(&d2, &d, m), 0);
	scrub(f);
	assert_int_equal(d2.state, DIALOG_CONFIRMED);
	assert_slice(d2.remote_tag, "branch-b");
	assert_slice(d2.remote_target, "sip:carol@b.example.org");
	assert_slice(d2.route_set, "Route: <sip:pb1.example.com;lr>\r\n"
				   "Route: <sip:pb2.example.com;lr>\r\n");
	assert_slice(d2.call_id, "uac-call-1");
	assert_slice(d2.local_tag, "ltag");
	assert_int_equal(d2.local_cseq, d.local_cseq);
	assert_ptr_not_equal(d2.text, d.text);
	/* the copy owns its strings */
	dialog_free(&d);
	assert_slice(d2.local_uri, "<sip:sb@example.net>");
	assert_slice(d2.remote_uri, "\"Carol\" <sip:carol@example.org>");

	/* the same tag, or a response that cannot make a dialog */
	m = response(f, 200, "branch-b", "Contact: <sip:c@h>\r\n");
	assert_int_equal(dialog_uac_fork(&d, &d2, m), -EINVAL);
	m = response(f, 100, "branch-c", "");
	assert_int_equal(dialog_uac_fork(&d, &d2, m), -EINVAL);
	m = response(f, 200, "branch-c", "");
	assert_int_equal(dialog_uac_fork(&d, &d2, m), -EBADMSG);
	dialog_free(&d2);
}

static void test_dialog_cseq_rules(void **state)
{
	struct fx *f = *state;
	struct dialog d;

	uas_dialog(f, &d);
	/* RFC 3261 12.2.2: lower or equal is out of order */
	assert_int_equal(dialog_request_in(&d, in_dialog(f, "BYE", 314159, "")),
			 -ERANGE);
	assert_int_equal(dialog_request_in(&d, in_dialog(f, "BYE", 5, "")),
			 -ERANGE);
	/* ACK and CANCEL carry the INVITE's CSeq */
	assert_int_equal(dialog_request_in(&d, in_dialog(f, "ACK", 314159, "")),
			 0);
	assert_int_equal(
	    dialog_request_in(&d, in_dialog(f, "CANCEL", 314159, "")), 0);
	assert_int_equal(d.remote_cseq, 314159);
	assert_int_equal(
	    dialog_request_in(&d, in_dialog(f, "INFO", 314160, "")), 0);
	assert_int_equal(d.remote_cseq, 314160);
	assert_int_equal(
	    dialog_request_in(&d, in_dialog(f, "INFO", 314160, "")), -ERANGE);
	/* gaps are fine */
	assert_int_equal(dialog_request_in(&d, in_dialog(f, "BYE", 400000, "")),
			 0);
	assert_int_equal(d.remote_cseq, 400000);
	dialog_free(&d);

	/* a UAC dialog has no remote CSeq until the first request */
	uac_dialog(&d);
	assert_int_equal(dialog_request_in(&d, in_dialog(f, "BYE", 1, "")), 0);
	assert_true(d.has_remote_cseq);
	assert_int_equal(d.remote_cseq, 1);
	dialog_free(&d);
}

static void test_dialog_target_refresh(void **state)
{
	struct fx *f = *state;
	struct dialog d;

	uas_dialog(f, &d);
	/* RFC 3261 12.2.2: a re-INVITE's Contact is the new target */
	assert_int_equal(
	    dialog_request_in(&d,
			      in_dialog(f, "INVITE", 314160,
					"Contact: <sip:alice@10.1.1.1>\r\n")),
	    0);
	scrub(f);
	assert_slice(d.remote_target, "sip:alice@10.1.1.1");
	/* everything else survived the re-pack */
	assert_slice(d.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
	assert_slice(d.remote_tag, "1928301774");
	assert_slice(d.route_set, "Route: <sip:p1.example.com;lr>\r\n"
				  "Route: <sip:p2.example.com;lr;ftag=x>\r\n"
				  "Route: <sip:p3.example.com;lr>\r\n");
	assert_slice(d.first_route, "sip:p1.example.com;lr");
	assert_slice(d.remote_uri,
		     "\"Alice A\" <sip:alice@atlanta.example.com;user=phone>");

	/* INFO is no target refresh */
	assert_int_equal(
	    dialog_request_in(&d,
			      in_dialog(f, "INFO", 314161,
					"Contact: <sip:alice@10.9.9.9>\r\n")),
	    0);
	assert_slice(d.remote_target, "sip:alice@10.1.1.1");
	assert_int_equal(
	    dialog_request_in(&d,
			      in_dialog(f, "UPDATE", 314162,
					"Contact: <sip:alice@10.2.2.2>\r\n")),
	    0);
	assert_slice(d.remote_target, "sip:alice@10.2.2.2");
	/* a refresh without Contact keeps the target */
	assert_int_equal(
	    dialog_request_in(&d, in_dialog(f, "UPDATE", 314163, "")), 0);
	assert_slice(d.remote_target, "sip:alice@10.2.2.2");
	/* a bad Contact: refused, the CSeq not taken */
	assert_int_equal(dialog_request_in(&d, in_dialog(f, "INVITE", 314164,
							 "Contact: *\r\n")),
			 -EBADMSG);
	assert_int_equal(d.remote_cseq, 314163);
	assert_slice(d.remote_target, "sip:alice@10.2.2.2");

	/* RFC 3261 12.2.1.2: the 2xx to our re-INVITE */
	assert_int_equal(
	    dialog_refresh_response(
		&d, response(f, 180, "x", "Contact: <sip:alice@10.7.7.7>\r\n")),
	    0);
	assert_slice(d.remote_target, "sip:alice@10.2.2.2");
	assert_int_equal(dialog_refresh_response(&d, response(f, 200, "x", "")),
			 0);
	assert_slice(d.remote_target, "sip:alice@10.2.2.2");
	assert_int_equal(
	    dialog_refresh_response(
		&d, response(f, 200, "x", "Contact: <sip:alice@10.3.3.3>\r\n")),
	    0);
	scrub(f);
	assert_slice(d.remote_target, "sip:alice@10.3.3.3");
	assert_slice(d.local_uri, "Bob <sip:bob@biloxi.example.com>");
	dialog_free(&d);
}

static void test_dialog_request_build(void **state)
{
	struct fx *f = *state;
	struct sip_request_opts o;
	struct sip_msg *m;
	struct dialog d;
	uint32_t cseq;

	uas_dialog(f, &d);
	cseq = d.local_cseq;
	memset(&o, 0, sizeof(o));
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_BYE, 0, &o, NULL, 0), 0);
	assert_int_equal(d.local_cseq, cseq + 1);
	m = build_and_parse(f, &o);
	assert_int_equal(m->method, SIP_METHOD_BYE);
	assert_slice(m->ruri_raw,
		     "sip:alice@pc33.atlanta.example.com;transport=tcp");
	assert_slice(m->call_id, "a84b4c76e66710@pc33.atlanta.example.com");
	assert_int_equal(m->cseq.num, cseq + 1);
	assert_int_equal(m->cseq.method, SIP_METHOD_BYE);
	assert_slice(m->from->tag, "b-tag");
	assert_slice(m->from->uri.raw, "sip:bob@biloxi.example.com");
	assert_slice(m->from->display, "Bob");
	assert_slice(m->to->tag, "1928301774");
	assert_slice(m->to->uri.raw,
		     "sip:alice@atlanta.example.com;user=phone");
	assert_routes(m, "<sip:p1.example.com;lr>\n"
			 "<sip:p2.example.com;lr;ftag=x>\n"
			 "<sip:p3.example.com;lr>\n");

	/* ACK reuses the INVITE's CSeq and takes none */
	memset(&o, 0, sizeof(o));
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_ACK, 77, &o, NULL, 0), 0);
	assert_int_equal(o.cseq, 77);
	assert_int_equal(d.local_cseq, cseq + 1);
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_UNKNOWN, 0, &o, NULL, 0),
	    -EINVAL);
	d.state = DIALOG_TERMINATED;
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_BYE, 0, &o, NULL, 0), -EINVAL);
	assert_int_equal(d.local_cseq, cseq + 1);
	dialog_free(&d);

	/* UAC before any tag: only CANCEL (or ACK) of the INVITE */
	uac_dialog(&d);
	memset(&o, 0, sizeof(o));
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_BYE, 0, &o, NULL, 0), -EINVAL);
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_CANCEL, 100, &o, NULL, 0), 0);
	assert_null(o.to_tag.p);
	m = build_and_parse(f, &o);
	assert_int_equal(m->method, SIP_METHOD_CANCEL);
	assert_int_equal(m->cseq.num, 100);
	assert_null(m->to->tag.p);
	assert_slice(m->ruri_raw, "sip:carol@example.org");
	assert_routes(m, "<sip:ob.example.net;lr>\n");
	assert_int_equal(d.local_cseq, 100);
	dialog_free(&d);
}

static void test_dialog_strict_route(void **state)
{
	struct fx *f = *state;
	struct sip_request_opts o;
	struct sip_msg *m;
	struct sip_uri u;
	struct dialog d;
	char rbuf[256];
	uint32_t cseq;

	uac_dialog(&d);
	assert_int_equal(
	    dialog_uac_response(
		&d, response(f, 200, "rt",
			     "Record-Route: <sip:p3.example.com;lr>\r\n"
			     "Record-Route: <sip:p2.example.com;lr>\r\n"
			     "Record-Route: <sip:strict.example.com>\r\n"
			     "Contact: <sip:carol@192.0.2.10>\r\n")),
	    0);
	assert_true(d.is_strict_first);
	assert_int_equal(dialog_next_hop(&d, &u), 0);
	assert_slice(u.host, "strict.example.com");
	cseq = d.local_cseq;

	/* too small a buffer: nothing taken */
	memset(&o, 0, sizeof(o));
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_BYE, 0, &o, rbuf, 40), -E2BIG);
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_BYE, 0, &o, NULL, 0), -E2BIG);
	assert_int_equal(d.local_cseq, cseq);

	/* RFC 3261 12.2.1.1: R-URI = strict route, target goes last */
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_BYE, 0, &o, rbuf, sizeof(rbuf)),
	    0);
	assert_slice(o.ruri, "sip:strict.example.com");
	assert_slice(o.routes, "Route: <sip:p2.example.com;lr>\r\n"
			       "Route: <sip:p3.example.com;lr>\r\n"
			       "Route: <sip:carol@192.0.2.10>\r\n");
	m = build_and_parse(f, &o);
	assert_slice(m->ruri_raw, "sip:strict.example.com");
	assert_routes(m, "<sip:p2.example.com;lr>\n"
			 "<sip:p3.example.com;lr>\n"
			 "<sip:carol@192.0.2.10>\n");
	assert_int_equal(m->cseq.num, cseq + 1);
	dialog_free(&d);

	/* a single strict route: only the target remains */
	uac_dialog(&d);
	assert_int_equal(
	    dialog_uac_response(
		&d, response(f, 200, "rt",
			     "Record-Route: <sip:strict.example.com>\r\n"
			     "Contact: <sip:carol@192.0.2.10>\r\n")),
	    0);
	memset(&o, 0, sizeof(o));
	assert_int_equal(
	    dialog_request_opts(&d, SIP_METHOD_INFO, 0, &o, rbuf, sizeof(rbuf)),
	    0);
	assert_slice(o.ruri, "sip:strict.example.com");
	assert_slice(o.routes, "Route: <sip:carol@192.0.2.10>\r\n");
	dialog_free(&d);
}

static void test_dialog_next_hop(void **state)
{
	struct fx *f = *state;
	struct sip_uri u;
	struct dialog d;

	uas_dialog(f, &d);
	assert_int_equal(dialog_next_hop(&d, &u), 0);
	assert_slice(u.host, "p1.example.com");
	assert_true(u.lr);
	dialog_free(&d);

	uac_dialog(&d);
	assert_int_equal(
	    dialog_uac_response(
		&d, response(f, 200, "rt",
			     "Contact: <sip:carol@192.0.2.10:5080>\r\n")),
	    0);
	/* no Record-Route: the preloaded route is gone (12.1.2) */
	assert_int_equal(d.route_set.len, 0);
	assert_int_equal(dialog_next_hop(&d, &u), 0);
	assert_slice(u.host, "192.0.2.10");
	assert_int_equal(u.port, 5080);
	dialog_free(&d);
}

static void test_dialog_oom(void **state)
{
	struct fx *f = *state;
	struct dialog_table t;
	struct sip_msg *m = parse(f, invite_text);
	struct dialog d;
	int err;

	/* warm the message's lazy caches so only the dialog allocates */
	assert_int_equal(dialog_uas_new(&d, m, SL("t")), 0);
	dialog_free(&d);
	sb_mem_fail_after(0);
	assert_int_equal(dialog_uas_new(&d, m, SL("t")), -ENOMEM);
	assert_int_equal(dialog_table_init(&t), -ENOMEM);
	sb_mem_fail_after(-1);
	assert_int_equal(dialog_uas_new(&d, m, SL("t")), 0);
	m = in_dialog(f, "INVITE", 400000, "Contact: <sip:a@10.0.0.1>\r\n");
	assert_int_equal(sip_msg_contacts(m, &(const struct sip_nameaddr *){0}),
			 0);
	sb_mem_fail_after(0);
	err = dialog_request_in(&d, m);
	sb_mem_fail_after(-1);
	assert_int_equal(err, -ENOMEM);
	assert_int_equal(d.remote_cseq, 314159);
	assert_slice(d.remote_target,
		     "sip:alice@pc33.atlanta.example.com;transport=tcp");
	dialog_free(&d);
}

/* Many dialogs sharing a Call-ID prefix; tags differ. */
enum { MANY = 1000 };

static void test_dialog_table(void **state)
{
	static struct dialog ds[MANY];
	static char names[MANY][32];
	struct dialog_table t;
	struct dialog a, b;

	(void)state;
	assert_int_equal(dialog_table_init(&t), 0);
	assert_null(dialog_table_find(&t, SL("x"), SL("y")));
	assert_int_equal(dialog_uac_new(&a, SL("call-1"), SL("tagA"),
					SL("<sip:a@h>"), SL("<sip:b@h>"),
					SL("sip:b@h"), SL(""), 1),
			 0);
	assert_int_equal(dialog_uac_new(&b, SL("call-1"), SL("tagB"),
					SL("<sip:a@h>"), SL("<sip:b@h>"),
					SL("sip:b@h"), SL(""), 1),
			 0);
	assert_int_equal(dialog_table_add(&t, &a), 0);
	assert_int_equal(dialog_table_add(&t, &b), 0);
	assert_ptr_equal(dialog_table_find(&t, SL("call-1"), SL("tagA")), &a);
	assert_ptr_equal(dialog_table_find(&t, SL("call-1"), SL("tagB")), &b);
	/* byte-exact: no case folding of Call-ID or tag */
	assert_null(dialog_table_find(&t, SL("CALL-1"), SL("tagA")));
	assert_null(dialog_table_find(&t, SL("call-1"), SL("TAGA")));
	assert_null(dialog_table_find(&t, SL("call-1"), SL("tag")));
	dialog_table_del(&t, &a);
	assert_null(dialog_table_find(&t, SL("call-1"), SL("tagA")));
	assert_ptr_equal(dialog_table_find(&t, SL("call-1"), SL("tagB")), &b);
	dialog_table_del(&t, &a); /* not in: no-op */
	assert_int_equal(t.count, 1);

	/* growth by doubling; every dialog still found */
	for (unsigned i = 0; i < MANY; i++) {
		int n = snprintf(names[i], sizeof(names[i]), "c%u@h", i);

		assert_int_equal(
		    dialog_uac_new(&ds[i], slice_make(names[i], (size_t)n),
				   SL("tag"), SL("<sip:a@h>"), SL("<sip:b@h>"),
				   SL("sip:b@h"), SL(""), 1),
		    0);
		assert_int_equal(dialog_table_add(&t, &ds[i]), 0);
	}
	assert_int_equal(t.count, MANY + 1);
	assert_true(t.nbuckets >= MANY);
	assert_int_equal(t.nbuckets & (t.nbuckets - 1), 0);
	for (unsigned i = 0; i < MANY; i++)
		assert_ptr_equal(
		    dialog_table_find(&t, slice_cstr(names[i]), SL("tag")),
		    &ds[i]);
	assert_ptr_equal(dialog_table_find(&t, SL("call-1"), SL("tagB")), &b);
	for (unsigned i = 0; i < MANY; i += 2)
		dialog_table_del(&t, &ds[i]);
	for (unsigned i = 0; i < MANY; i++)
		assert_ptr_equal(
		    dialog_table_find(&t, slice_cstr(names[i]), SL("tag")),
		    i % 2 ? &ds[i] : NULL);
	for (unsigned i = 1; i < MANY; i += 2)
		dialog_table_del(&t, &ds[i]);
	dialog_table_del(&t, &b);
	assert_int_equal(t.count, 0);

	dialog_table_fini(&t);

	/* -ENOMEM on growth: added all the same */
	{
		uint32_t nb;
		unsigned i;

		assert_int_equal(dialog_table_init(&t), 0);
		nb = t.nbuckets;
		for (i = 0; i < nb; i++)
			assert_int_equal(dialog_table_add(&t, &ds[i]), 0);
		sb_mem_fail_after(0);
		assert_int_equal(dialog_table_add(&t, &ds[i]), -ENOMEM);
		sb_mem_fail_after(-1);
		assert_int_equal(t.nbuckets, nb);
		assert_ptr_equal(
		    dialog_table_find(&t, slice_cstr(names[i]), SL("tag")),
		    &ds[i]);
		assert_int_equal(t.count, nb + 1);
		dialog_table_fini(&t);
	}
	for (unsigned i = 0; i < MANY; i++)
		dialog_free(&ds[i]);
	dialog_free(&a);
	dialog_free(&b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_dialog_uas_from_invite),
	    T(test_dialog_uas_secure_and_no_routes),
	    T(test_dialog_uas_errors),
	    T(test_dialog_uas_limits),
	    T(test_dialog_uac_new),
	    T(test_dialog_uac_early_then_confirmed),
	    T(test_dialog_uac_response_errors),
	    T(test_dialog_uac_fork),
	    T(test_dialog_cseq_rules),
	    T(test_dialog_target_refresh),
	    T(test_dialog_request_build),
	    T(test_dialog_strict_route),
	    T(test_dialog_next_hop),
	    T(test_dialog_oom),
	    T(test_dialog_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
