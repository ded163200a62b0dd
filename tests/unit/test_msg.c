/* Unit tests for the SIP message parser: grammar, lazy values, rejections. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "sip/msg/msg.h"

struct fx {
	struct sb_limits lim;
	struct arena arena;
	struct sip_msg m;
	struct sip_perr perr;
	char *buf; /* exact-size copy, so ASan sees overreads */
	int64_t live_alloc, live_arena;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f->live_arena = sb_live_get(SB_LIVE_ARENA);
	f->lim = sb_limits_default();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->buf)
		arena_close(&f->arena);
	free(f->buf);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	assert_int_equal(sb_live_get(SB_LIVE_ARENA), f->live_arena);
	free(f);
	return 0;
}

static int parse_framed(struct fx *f, const char *text,
			enum sip_framing framing)
{
	size_t len = strlen(text);

	if (f->buf) {
		arena_close(&f->arena);
		free(f->buf);
	}
	f->buf = malloc(len ? len : 1);
	memcpy(f->buf, text, len);
	arena_init(&f->arena, NULL, 0, f->lim.max_arena_bytes);
	return sip_msg_parse(&f->m, &f->arena, f->buf, len, framing, &f->lim,
			     &f->perr);
}

static int parse(struct fx *f, const char *text)
{
	return parse_framed(f, text, SIP_FRAMING_DATAGRAM);
}

static void assert_slice(struct slice s, const char *want)
{
	assert_non_null(s.p);
	if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p, want);
}

static void assert_parses(struct fx *f, const char *text)
{
	if (parse(f, text) != 0)
		fail_msg("rejected %d (%s): %s", f->perr.status, f->perr.reason,
			 text);
}

static void assert_rejects(struct fx *f, const char *text, int status,
			   const char *reason)
{
	int err = parse(f, text);

	if (err != -EBADMSG)
		fail_msg("expected rejection %d (%s), parse returned %d: %s",
			 status, reason, err, text);
	if (f->perr.status != status)
		fail_msg("status %d (%s), want %d: %s", f->perr.status,
			 f->perr.reason, status, text);
	assert_int_equal(f->perr.status, status);
	if (reason && strcmp(f->perr.reason, reason) != 0)
		fail_msg("reason \"%s\", want \"%s\"", f->perr.reason, reason);
}

#define INVITE_HEAD                                                            \
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"                        \
	"Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n" \
	"Max-Forwards: 70\r\n"                                                 \
	"To: Bob <sip:bob@biloxi.example.com>\r\n"                             \
	"From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"   \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                 \
	"CSeq: 314159 INVITE\r\n"                                              \
	"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"

static const char *const sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";

static void test_msg_parses_invite(void **state)
{
	struct fx *f = *state;
	char text[2048];
	const struct sip_nameaddr *c;
	const struct sip_ctype *ct;
	uint32_t mf;

	snprintf(text, sizeof(text),
		 INVITE_HEAD "Content-Type: application/sdp\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
		 strlen(sdp), sdp);
	assert_int_equal(parse(f, text), 0);
	assert_true(f->m.is_request);
	assert_int_equal(f->m.method, SIP_METHOD_INVITE);
	assert_int_equal(f->m.ruri.scheme, SIP_URI_SIP);
	assert_slice(f->m.ruri.user, "bob");
	assert_slice(f->m.ruri.host, "biloxi.example.com");
	assert_slice(f->m.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
	assert_int_equal(f->m.cseq.num, 314159);
	assert_int_equal(f->m.cseq.method, SIP_METHOD_INVITE);
	assert_slice(f->m.from->tag, "1928301774");
	assert_slice(f->m.from->display, "\"Alice\"");
	assert_null(f->m.to->tag.p);
	assert_slice(f->m.via->transport, "UDP");
	assert_slice(f->m.via->host, "pc33.atlanta.example.com");
	assert_int_equal(f->m.via->port, 5060);
	assert_slice(f->m.via->branch, "z9hG4bK776asdhds");
	assert_true(f->m.via->has_rport);
	assert_int_equal(f->m.via->rport.len, 0);
	assert_null(f->m.via->next);
	assert_int_equal(sip_msg_max_forwards(&f->m, &mf), 0);
	assert_int_equal(mf, 70);
	assert_int_equal(sip_msg_contacts(&f->m, &c), 0);
	assert_slice(c->uri.user, "alice");
	assert_true(c->has_brackets);
	assert_int_equal(sip_msg_content_type(&f->m, &ct), 0);
	assert_slice(ct->type, "application");
	assert_slice(ct->subtype, "sdp");
	assert_true(f->m.has_content_length);
	assert_slice(f->m.body, sdp);
	assert_int_equal(f->m.hdr_count, 9);
	assert_int_equal(f->m.hdrs[0].off, strlen("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"));
}

static void test_msg_compact_and_case_insensitive_names(void **state)
{
	struct fx *f = *state;
	const struct sip_token *tok;

	assert_int_equal(parse(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
				  "v: SIP/2.0/TCP h.example.com;branch=z9hG4bK1\r\n"
				  "f: <sip:a@example.com>;tag=1\r\n"
				  "t: sip:x@example.com\r\n"
				  "i: abc\r\n"
				  "cSeQ: 1 OPTIONS\r\n"
				  "m: <sip:a@h.example.com;transport=tcp>\r\n"
				  "k: timer, 100rel\r\n"
				  "s: hello\r\n"
				  "X-Custom-Thing: kept verbatim ; really\r\n"
				  "l: 0\r\n\r\n"),
			 0);
	assert_slice(f->m.call_id, "abc");
	assert_non_null(sip_msg_hdr(&f->m, SIP_HDR_SUBJECT));
	assert_slice(sip_msg_hdr_find(&f->m, SL("x-custom-thing"))->value,
		     "kept verbatim ; really");
	assert_slice(sip_msg_hdr_find(&f->m, SL("Call-Id"))->name, "i");
	assert_slice(sip_msg_hdr_find(&f->m, SL("Content-Length"))->value, "0");
	assert_int_equal(sip_msg_tokens(&f->m, SIP_HDR_SUPPORTED, &tok), 0);
	assert_slice(tok->value, "timer");
	assert_slice(tok->next->value, "100rel");
	assert_null(tok->next->next);
	assert_int_equal(sip_hdr_id_from(SL("CONTENT-TYPE")),
			 SIP_HDR_CONTENT_TYPE);
	assert_int_equal(sip_hdr_id_from(SL("c")), SIP_HDR_CONTENT_TYPE);
	assert_int_equal(sip_hdr_id_from(SL("X-Foo")), SIP_HDR_OTHER);
}

static void test_msg_unfolds_continuation_lines_in_place(void **state)
{
	struct fx *f = *state;
	const char *text = "OPTIONS sip:x@example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP h.example.com\r\n"
			   "  ;branch=z9hG4bK1\r\n"
			   "From: <sip:a@example.com>\r\n\t;tag=77\r\n"
			   "To: <sip:x@example.com>\r\n"
			   "Subject: one\r\n two\r\n"
			   "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
	const struct sip_hdr *h;

	assert_int_equal(parse(f, text), 0);
	assert_int_equal(f->m.len, strlen(text));
	assert_slice(f->m.via->branch, "z9hG4bK1");
	assert_slice(f->m.from->tag, "77");
	h = sip_msg_hdr(&f->m, SIP_HDR_SUBJECT);
	assert_slice(h->value, "one   two");
	assert_int_equal(h->len, strlen("Subject: one\r\n two\r\n"));
}

static void test_msg_via_lists_across_headers(void **state)
{
	struct fx *f = *state;
	const struct sip_via *v;

	assert_int_equal(
		parse(f, "SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa;received=192.0.2.1;rport=5070 ,"
			 " SIP / 2.0 / TCP b.example.com:5061;branch=z9hG4bKb\r\n"
			 "Via: SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKc;maddr=224.2.0.1;ttl=16\r\n"
			 "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n"
			 "Call-ID: c2\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n"),
		0);
	assert_false(f->m.is_request);
	assert_int_equal(f->m.status, 200);
	assert_slice(f->m.reason, "OK");
	v = f->m.via;
	assert_slice(v->received, "192.0.2.1");
	assert_slice(v->rport, "5070");
	assert_true(v->is_first_in_hdr);
	assert_false(v->is_last_in_hdr);
	assert_slice(slice_make(f->m.buf + v->off, v->len),
		     "SIP/2.0/UDP a.example.com;branch=z9hG4bKa;received=192.0.2.1;rport=5070");
	v = v->next;
	assert_slice(v->transport, "TCP");
	assert_int_equal(v->port, 5061);
	assert_false(v->is_first_in_hdr);
	assert_true(v->is_last_in_hdr);
	assert_int_equal(v->hdr, 0);
	v = v->next;
	assert_slice(v->host, "[2001:db8::1]");
	assert_slice(v->maddr, "224.2.0.1");
	assert_slice(v->ttl, "16");
	assert_int_equal(v->hdr, 1);
	assert_true(v->is_first_in_hdr && v->is_last_in_hdr);
	assert_null(v->next);
}

static void test_msg_nameaddr_forms(void **state)
{
	struct fx *f = *state;
	const struct sip_nameaddr *na;

	assert_parses(f,
		"REGISTER sip:example.com SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			 "From: \"Bob \\\"the\\\" Smith\" <sip:bob@example.com;transport=tcp>;tag=abc\r\n"
			 "To: sip:bob@example.com;tag=xyz\r\n"
			 "Call-ID: c3\r\nCSeq: 9 REGISTER\r\n"
			 "Contact: Bob Smith <sip:bob,x@192.0.2.4;a=b?subject=x%20y>;expires=3600;q=0.7,"
			 " <sips:bob@[2001:db8::4]:5061>;q=1.0\r\n"
			 "Contact: sip:bob@192.0.2.5;expires=60\r\n"
			 "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
			 "Record-Route: <sip:p3.example.com;lr>\r\n"
			 "Content-Length: 0\r\n\r\n");
	assert_slice(f->m.from->display, "\"Bob \\\"the\\\" Smith\"");
	assert_slice(f->m.from->uri.transport, "tcp");
	assert_slice(f->m.from->tag, "abc");
	assert_false(f->m.to->has_brackets);
	assert_slice(f->m.to->tag, "xyz");
	assert_null(f->m.to->uri.params.p);

	assert_int_equal(sip_msg_contacts(&f->m, &na), 0);
	assert_slice(na->display, "Bob Smith");
	assert_slice(na->uri.host, "192.0.2.4");
	assert_slice(na->uri.headers, "subject=x%20y");
	assert_slice(na->expires, "3600");
	assert_slice(na->q, "0.7");
	na = na->next;
	assert_int_equal(na->uri.scheme, SIP_URI_SIPS);
	assert_slice(na->uri.host, "[2001:db8::4]");
	assert_int_equal(na->uri.port, 5061);
	assert_slice(na->q, "1.0");
	na = na->next;
	assert_slice(na->expires, "60");
	assert_int_equal(na->hdr, 6);
	assert_null(na->next);

	assert_int_equal(sip_msg_record_routes(&f->m, &na), 0);
	assert_slice(na->uri.host, "p1.example.com");
	assert_true(na->uri.lr);
	assert_slice(na->next->uri.host, "p2.example.com");
	assert_slice(na->next->next->uri.host, "p3.example.com");
	assert_slice(slice_make(f->m.buf + na->next->off, na->next->len),
		     "<sip:p2.example.com;lr>");
	assert_int_equal(sip_msg_routes(&f->m, &na), -ENOENT);
}

static void test_msg_contact_star(void **state)
{
	struct fx *f = *state;
	const struct sip_nameaddr *na;
	const char *head = "REGISTER sip:example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			   "From: <sip:b@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\n"
			   "Call-ID: c4\r\nCSeq: 2 REGISTER\r\nExpires: 0\r\n";
	char text[1024];
	uint32_t exp;

	snprintf(text, sizeof(text), "%sContact: *\r\n\r\n", head);
	assert_int_equal(parse(f, text), 0);
	assert_int_equal(sip_msg_contacts(&f->m, &na), 0);
	assert_true(na->is_star);
	assert_int_equal(sip_msg_expires(&f->m, &exp), 0);
	assert_int_equal(exp, 0);
	snprintf(text, sizeof(text), "%sContact: *, <sip:b@h>\r\n\r\n", head);
	assert_rejects(f, text, 400, "Bad Contact header");
	snprintf(text, sizeof(text), "%sContact: <sip:b@h>\r\nContact: *\r\n\r\n",
		 head);
	assert_rejects(f, text, 400, "Bad Contact header");
}

static void test_msg_unknown_method_kept(void **state)
{
	struct fx *f = *state;

	/* RFC 4475 3.1.1.2 (exact bytes, NUL included, are in test_torture). */
	assert_int_equal(parse(f, "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n"
				  "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
				  "To: \"BEL:\\\\\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n"
				  "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\xD1\x80\xD0\xB0\";tag=_token~1'+`*%!-.\r\n"
				  "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
				  "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
				  "Max-Forwards: 255\r\n"
				  "extensionHeader-!.%*+_`'~: \xEF\xBB\xBF\xE5\xA4\xA7\r\n"
				  "Content-Length: 0\r\n\r\n"),
			 0);
	assert_int_equal(f->m.method, SIP_METHOD_UNKNOWN);
	assert_slice(f->m.method_name, "!interesting-Method0123456789_*+`.%indeed'~");
	assert_slice(f->m.from->display, "token1~` token2'+_ token3*%!.-");
	assert_slice(f->m.from->tag, "_token~1'+`*%!-.");
	assert_slice(f->m.via->branch, "z9hG4bK-.!%66*_+`'~");
	assert_slice(sip_msg_hdr_find(&f->m, SL("extensionHeader-!.%*+_`'~"))->value,
		     "\xEF\xBB\xBF\xE5\xA4\xA7");
}

static void test_msg_content_length_rules(void **state)
{
	struct fx *f = *state;
	const char *head = "MESSAGE sip:x@example.com SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			   "From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
			   "Call-ID: c5\r\nCSeq: 1 MESSAGE\r\n";
	char text[1024];

	/* RFC 3261 18.3: absent on UDP, the body runs to the end */
	snprintf(text, sizeof(text), "%s\r\nhello", head);
	assert_int_equal(parse(f, text), 0);
	assert_false(f->m.has_content_length);
	assert_slice(f->m.body, "hello");
	/* Required on a stream */
	assert_int_equal(parse_framed(f, text, SIP_FRAMING_STREAM), -EBADMSG);
	assert_int_equal(f->perr.status, 400);
	assert_string_equal(f->perr.reason, "Missing Content-Length header");
	/* Extra datagram bytes past Content-Length are cut */
	snprintf(text, sizeof(text), "%sContent-Length: 2\r\n\r\nhello", head);
	assert_int_equal(parse(f, text), 0);
	assert_slice(f->m.body, "he");
	assert_int_equal(f->m.len, strlen(text) - 3);
	snprintf(text, sizeof(text), "%sContent-Length: 9\r\n\r\nhello", head);
	assert_rejects(f, text, 400, "Content-Length larger than message");
	snprintf(text, sizeof(text), "%sContent-Length: -3\r\n\r\nhello", head);
	assert_rejects(f, text, 400, "Bad Content-Length header");
	snprintf(text, sizeof(text), "%sl: 5\r\nContent-Length: 5\r\n\r\nhello",
		 head);
	assert_rejects(f, text, 400, "Multiple Content-Length headers");
}

static void test_msg_rejects_with_right_status(void **state)
{
	struct fx *f = *state;
	const char *rest = "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			   "From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
			   "Call-ID: c6\r\nCSeq: 1 OPTIONS\r\n";
	static const struct {
		const char *line, *extra;
		int status;
		const char *reason;
	} cases[] = {
		{"OPTIONS sip:x@example.com SIP/3.0", "", 505, "SIP Version Not Supported"},
		{"OPTIONS sip:x@example.com SIP/2.0", "Max-Forwards: 256\r\n", 400, "Bad Max-Forwards header"},
		{"OPTIONS sip:x@example.com SIP/2.0", "Expires: 10000000000000\r\n", 400, "Bad Expires header"},
		{"OPTIONS <sip:x@example.com> SIP/2.0", "", 400, "Bad Request-URI"},
		{"OPTIONS sip:x@example.com;  lr SIP/2.0", "", 400, "Bad request line"},
		{"OPTIONS  sip:x@example.com SIP/2.0", "", 400, "Bad request line"},
		{"OPTIONS nobodyknows:x@example.com SIP/2.0", "", 416, "Unsupported URI Scheme"},
		{"OPTIONS sip:x@example.com?Route=%3Csip:e.com%3E SIP/2.0", "", 400, "Bad Request-URI"},
		{"INVITE sip:x@example.com SIP/2.0", "", 400, "CSeq method does not match"},
		{"OPTIONS sip:x@example.com SIP/2.0", "Call-ID: again\r\n", 400, "Multiple Call-ID headers"},
		{"OPTIONS sip:x@example.com SIP/2.0", "To: <sip:y@example.com>\r\n", 400, "Multiple To headers"},
		{"OPTIONS sip:x@example.com SIP/2.0", "Contact: sip:u@e.com?Route=%3Csip:e.com%3E\r\n", 400, "Bad Contact header"},
		{"OPTIONS sip:x@example.com SIP/2.0", "Contact: <sip:u@e.com>;expires=280297596632815\r\n", 400, "Bad Contact header"},
		{"OPTIONS sip:x@example.com SIP/2.0", "Bad Header Name: x\r\n", 400, "Malformed header line"},
		{"OPTIONS sip:x@example.com SIP/2.0 ", "", 400, "Bad request line"},
		{"OPTIONS sip:x@example.com SIP/2.0", "X-Bell: a\ab\r\n", 400, "Bad character in header"},
		{"OPTIONS sip:x@example.com SIP/2.0", "X-Quoted: \"a\\\ab\"\r\n", -1, NULL},
		{"OPTIONS sip:x@example.com SIP/2.0", "X-CR: a\rb\r\n", 400, "Bad character in header"},
		{"OPTIONS sip:x@example.com SIP/2.0", " folded: x\r\n", 400, "Bad CSeq header"},
	};
	char text[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s\r\n%s%sContent-Length: 0\r\n\r\n",
			 cases[i].line, rest, cases[i].extra);
		if (cases[i].status < 0) { /* valid: a quoted-pair CTL */
			assert_parses(f, text);
			continue;
		}
		assert_rejects(f, text, cases[i].status, cases[i].reason);
		assert_non_null(f->m.hdrs); /* a reply can be built */
	}
}

static void test_msg_rejects_broken_required_headers(void **state)
{
	struct fx *f = *state;

	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			  "CSeq: 1 OPTIONS\r\n\r\n",
		       400, "Missing Call-ID header");
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			  "Call-ID: x\r\nCSeq: 36893488147419103232 OPTIONS\r\n\r\n",
		       400, "Bad CSeq header");
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			  "Call-ID: x\r\nCSeq: 2147483648 OPTIONS\r\n\r\n",
		       400, "Bad CSeq header");
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			  "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nFrom: \"unterminated <sip:a@b>;tag=1\r\n"
			  "To: <sip:x@example.com>\r\n\r\n",
		       400, "Bad From header");
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			  "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nFrom: Bell, Alexander <sip:a@b>;tag=1\r\n"
			  "To: <sip:x@example.com>\r\n\r\n",
		       400, "Bad From header");
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			  "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\n"
			  "To: \"Watson, Thomas\" < sip:t.watson@example.org >\r\n\r\n",
		       400, "Bad To header");
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h.example.com:99999;branch=z9hG4bK1\r\n"
			  "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\n"
			  "To: <sip:x@example.com>\r\n\r\n",
		       400, "Bad Via header");
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP\r\n"
			  "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\n"
			  "To: <sip:x@example.com>\r\n\r\n",
		       400, "Bad Via header");
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h;branch=z9hG4bK1;received=not..an/addr\r\n"
			  "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\n"
			  "To: <sip:x@example.com>\r\n\r\n",
		       400, "Bad Via header");
	/* No Via at all: no way to answer, drop. */
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		       0, NULL);
	/* Never answer an ACK. */
	assert_rejects(f, "ACK sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			  "CSeq: 1 ACK\r\n\r\n",
		       0, NULL);
}

static void test_msg_responses_bad_are_dropped(void **state)
{
	struct fx *f = *state;
	const char *rest = "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
			   "From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
			   "Call-ID: c7\r\nCSeq: 1 OPTIONS\r\n\r\n";
	char text[1024];

	snprintf(text, sizeof(text), "SIP/2.0 4294967301 better not break\r\n%s", rest);
	assert_rejects(f, text, 0, NULL);
	snprintf(text, sizeof(text), "SIP/2.0 099 Too low\r\n%s", rest);
	assert_rejects(f, text, 0, NULL);
	snprintf(text, sizeof(text), "SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n");
	assert_rejects(f, text, 0, NULL);
	/* An empty reason phrase is fine (RFC 4475 3.1.1.13). */
	snprintf(text, sizeof(text), "SIP/2.0 100 \r\n%s", rest);
	assert_int_equal(parse(f, text), 0);
	assert_int_equal(f->m.status, 100);
	assert_int_equal(f->m.reason.len, 0);
	snprintf(text, sizeof(text), "SIP/2.0 200 = 2**3 * 5**2 \xD0\xBD\xD0\xBE\r\n%s", rest);
	assert_int_equal(parse(f, text), 0);
	assert_slice(f->m.reason, "= 2**3 * 5**2 \xD0\xBD\xD0\xBE");
}

static void test_msg_limits_are_enforced(void **state)
{
	struct fx *f = *state;
	char text[16384];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "OPTIONS sip:x@example.com SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
				      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
				      "Call-ID: c8\r\nCSeq: 1 OPTIONS\r\n");
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "X-H%d: v\r\n", i);
	snprintf(text + n, sizeof(text) - n, "\r\n");
	assert_rejects(f, text, 400, "Too many headers");

	f->lim.max_msg_bytes = 300;
	assert_rejects(f, text, 413, "Message Too Large");
	f->lim = sb_limits_default();

	f->lim.max_params = 3;
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP h;branch=z9hG4bK1;a;b;c\r\n"
			  "From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
			  "Call-ID: c8\r\nCSeq: 1 OPTIONS\r\n\r\n",
		       400, "Bad Via header");
	f->lim = sb_limits_default();
	f->lim.max_values = 2;
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n"
			  "Via: SIP/2.0/UDP c;branch=z9hG4bK3\r\n"
			  "From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
			  "Call-ID: c8\r\nCSeq: 1 OPTIONS\r\n\r\n",
		       400, "Too many Via values");
	f->lim.max_header_bytes = 40;
	assert_rejects(f, "OPTIONS sip:x@example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
			  "Subject: a subject that is far too long for the limit\r\n\r\n",
		       400, "Header too long");
}

static void test_msg_authorization_params(void **state)
{
	struct fx *f = *state;
	const struct sip_auth *au;

	assert_int_equal(
		parse(f, "REGISTER sip:biloxi.com SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7\r\n"
			 "From: Bob <sip:bob@biloxi.com>;tag=456248\r\nTo: Bob <sip:bob@biloxi.com>\r\n"
			 "Call-ID: 843817637684230@998sdasdh09\r\nCSeq: 1826 REGISTER\r\n"
			 "Authorization: Digest username=\"bob\", realm=\"biloxi.com\",\r\n"
			 "  nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:biloxi.com\",\r\n"
			 "  qop=auth, nc=00000001, cnonce=\"0a4f113b\", algorithm=MD5,\r\n"
			 "  response=\"6629fae49393a05397450978507c4ef1\",\r\n"
			 "  opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n"
			 "Proxy-Authenticate: Digest realm=\"a\", nonce=\"n\", algorithm=SHA-256, stale=TRUE\r\n"
			 "Content-Length: 0\r\n\r\n"),
		0);
	assert_int_equal(sip_msg_auth(&f->m, SIP_HDR_AUTHORIZATION, &au), 0);
	assert_slice(au->scheme, "Digest");
	assert_slice(au->username, "bob");
	assert_slice(au->realm, "biloxi.com");
	assert_slice(au->uri, "sip:biloxi.com");
	assert_slice(au->qop, "auth");
	assert_slice(au->nc, "00000001");
	assert_slice(au->algorithm, "MD5");
	assert_slice(au->response, "6629fae49393a05397450978507c4ef1");
	assert_slice(au->opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	assert_null(au->next);
	assert_int_equal(sip_msg_auth(&f->m, SIP_HDR_PROXY_AUTHENTICATE, &au), 0);
	assert_slice(au->algorithm, "SHA-256");
	assert_slice(au->stale, "TRUE");
	assert_int_equal(sip_msg_auth(&f->m, SIP_HDR_WWW_AUTHENTICATE, &au),
			 -ENOENT);
}

static void test_msg_multipart_body(void **state)
{
	struct fx *f = *state;
	const struct sip_part *p;
	char text[2048];
	const char *body =
		"--outer\r\n"
		"Content-Type: application/sdp\r\n\r\n"
		"v=0\r\n"
		"\r\n--outer\r\n"
		"Content-Type: multipart/related; boundary=\"in ner\"\r\n\r\n"
		"--in ner\r\nContent-Type: text/plain\r\n\r\nhi\r\n--in ner--\r\n"
		"\r\n--outer--\r\n";

	snprintf(text, sizeof(text),
		 "INVITE sip:x@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		 "From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
		 "Call-ID: c9\r\nCSeq: 1 INVITE\r\n"
		 "Content-Type: multipart/mixed;boundary=outer\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	assert_int_equal(parse(f, text), 0);
	assert_int_equal(sip_msg_multipart(&f->m, &p), 0);
	assert_slice(p->content_type, "application/sdp");
	assert_slice(p->body, "v=0\r\n");
	p = p->next;
	assert_non_null(p);
	assert_non_null(p->children);
	assert_slice(p->children->content_type, "text/plain");
	assert_slice(p->children->body, "hi");
	assert_null(p->next);

	f->lim.max_multipart_depth = 1;
	assert_int_equal(parse(f, text), 0);
	assert_int_equal(sip_msg_multipart(&f->m, &p), -E2BIG);
}

static void test_msg_every_prefix_is_safe(void **state)
{
	struct fx *f = *state;
	char text[2048];
	size_t len;

	snprintf(text, sizeof(text),
		 INVITE_HEAD "Content-Type: application/sdp\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
		 strlen(sdp), sdp);
	len = strlen(text);
	for (size_t i = 0; i < len; i++) {
		char save = text[i];
		int err;
		text[i] = '\0';
		err = parse(f, text);
		assert_true(err == 0 || err == -EBADMSG);
		text[i] = save;
	}
}

static void test_msg_oom_fails_cleanly(void **state)
{
	struct fx *f = *state;
	char text[2048];
	int err = -ENOMEM;

	snprintf(text, sizeof(text), INVITE_HEAD "Content-Length: 0\r\n\r\n");
	for (int n = 0; err == -ENOMEM && n < 100; n++) {
		const struct sip_nameaddr *c;
		sb_mem_fail_after(n);
		err = parse(f, text);
		if (!err)
			err = sip_msg_contacts(&f->m, &c);
		sb_mem_fail_after(-1);
		assert_true(err == 0 || err == -ENOMEM);
	}
	assert_int_equal(err, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_msg_parses_invite),
		T(test_msg_compact_and_case_insensitive_names),
		T(test_msg_unfolds_continuation_lines_in_place),
		T(test_msg_via_lists_across_headers),
		T(test_msg_nameaddr_forms),
		T(test_msg_contact_star),
		T(test_msg_unknown_method_kept),
		T(test_msg_content_length_rules),
		T(test_msg_rejects_with_right_status),
		T(test_msg_rejects_broken_required_headers),
		T(test_msg_responses_bad_are_dropped),
		T(test_msg_limits_are_enforced),
		T(test_msg_authorization_params),
		T(test_msg_multipart_body),
		T(test_msg_every_prefix_is_safe),
		T(test_msg_oom_fails_cleanly),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
