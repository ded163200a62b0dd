/* Unit tests for patch layers and printing (sip/msg/patch.c). */
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
#include "sip/msg/msg.h"
#include "sip/msg/patch.h"
#include "msg_fx.h"

/* Parse a copy of text; must succeed. */
static struct sip_msg *parse(struct fx *f, const char *text)
{
	assert_int_equal(fx_parse(f, text), 0);
	return &f->msg;
}

static void assert_printed(const struct sip_patchset *ps, struct buf *b,
			   const char *want)
{
	buf_reset(b);
	assert_int_equal(sip_msg_print(ps, b), 0);
	assert_out(b, want);
}

#define RURI_LINE "INVITE sip:bob@example.com SIP/2.0\r\n"
#define VIA_LINE                                                               \
	"Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa, "                     \
	"SIP/2.0/UDP b.example.com:5070;branch=z9hG4bKb\r\n"
#define MAXF_LINE "Max-Forwards: 70\r\n"
#define ROUTE_LINE "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
#define DLG_LINES                                                              \
	"From: <sip:alice@example.com>;tag=a1\r\n"                             \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: c1@example.com\r\n"                                          \
	"CSeq: 1 INVITE\r\n"
#define CTYPE_LINE "Content-Type: application/sdp\r\n"
#define CLEN_LINE "Content-Length: 5\r\n"
#define BODY "v=0\r\n"

#define INVITE                                                                 \
	RURI_LINE VIA_LINE MAXF_LINE ROUTE_LINE DLG_LINES CTYPE_LINE CLEN_LINE \
	    "\r\n" BODY

#define NEW_VIA_VALUE "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp"
#define NEW_VIA "Via: " NEW_VIA_VALUE "\r\n"
#define NEW_RR "Record-Route: <sip:proxy.example.com;lr>\r\n"

static void test_patch_print_unchanged(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;

	sip_patchset_init(&ps, parse(f, INVITE), &f->arena, NULL);
	assert_printed(&ps, &f->out, INVITE);
	assert_int_equal(ps.n, 0);
}

static void test_patch_via_add_and_remove_top(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;

	sip_patchset_init(&ps, parse(f, INVITE), &f->arena, NULL);
	assert_int_equal(
	    sip_patch_hdr_prepend(&ps, SL("Via"), SL(NEW_VIA_VALUE)), 0);
	assert_int_equal(sip_patch_via_remove_top(&ps), 0);
	assert_printed(
	    &ps, &f->out,
	    RURI_LINE NEW_VIA
	    "Via: SIP/2.0/UDP b.example.com:5070;branch=z9hG4bKb\r\n" MAXF_LINE
		ROUTE_LINE DLG_LINES CTYPE_LINE CLEN_LINE "\r\n" BODY);
}

#define RESPONSE_TAIL                                                          \
	DLG_LINES "Content-Length: 0\r\n"                                      \
		  "\r\n"

static void test_patch_via_remove_top_line(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;

	sip_patchset_init(
	    &ps, parse(f, "SIP/2.0 200 OK\r\n" NEW_VIA VIA_LINE RESPONSE_TAIL),
	    &f->arena, NULL);
	assert_int_equal(sip_patch_via_remove_top(&ps), 0);
	assert_printed(&ps, &f->out,
		       "SIP/2.0 200 OK\r\n" VIA_LINE RESPONSE_TAIL);
}

static void test_patch_via_remove_top_of_two_values(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;

	/* The top value shares its line, which is not the first header. */
	sip_patchset_init(&ps,
			  parse(f, "SIP/2.0 180 Ringing\r\n"
				   "CSeq: 1 INVITE\r\n"
				   "v: " NEW_VIA_VALUE " ,\t"
				   "SIP/2.0/TCP a.example.com\r\n"
				   "Via: SIP/2.0/UDP b.example.com\r\n"
				   "From: <sip:alice@example.com>;tag=a1\r\n"
				   "To: <sip:bob@example.com>;tag=b1\r\n"
				   "Call-ID: c1\r\n"
				   "\r\n"),
			  &f->arena, NULL);
	assert_true(f->msg.via->is_first_in_hdr);
	assert_false(f->msg.via->is_last_in_hdr);
	assert_int_equal(sip_patch_via_remove_top(&ps), 0);
	assert_printed(&ps, &f->out,
		       "SIP/2.0 180 Ringing\r\n"
		       "CSeq: 1 INVITE\r\n"
		       "v: SIP/2.0/TCP a.example.com\r\n"
		       "Via: SIP/2.0/UDP b.example.com\r\n"
		       "From: <sip:alice@example.com>;tag=a1\r\n"
		       "To: <sip:bob@example.com>;tag=b1\r\n"
		       "Call-ID: c1\r\n"
		       "\r\n");
}

static void test_patch_record_route_add(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;
	const struct sip_hdr *h;

	/* RFC 3261 16.6 item 4: the proxy's Record-Route goes on top. */
	sip_patchset_init(&ps, parse(f, INVITE), &f->arena, NULL);
	assert_int_equal(
	    sip_patch_hdr_prepend(&ps, SL("Record-Route"),
				  SL("<sip:proxy.example.com;lr>")),
	    0);
	assert_printed(&ps, &f->out,
		       RURI_LINE NEW_RR VIA_LINE MAXF_LINE ROUTE_LINE DLG_LINES
			   CTYPE_LINE CLEN_LINE "\r\n" BODY);

	/* Before an existing Record-Route, and appended at the end. */
	sip_patchset_init(
	    &ps,
	    parse(f, RURI_LINE VIA_LINE
		  "Record-Route: <sip:up.example.com;lr>\r\n" DLG_LINES "\r\n"),
	    &f->arena, NULL);
	h = sip_msg_hdr(&f->msg, SIP_HDR_RECORD_ROUTE);
	assert_non_null(h);
	assert_int_equal(
	    sip_patch_hdr_insert_before(&ps, h, SL("Record-Route"),
					SL("<sip:proxy.example.com;lr>")),
	    0);
	assert_int_equal(sip_patch_hdr_append(&ps, SL("X-Sb"), SL("1")), 0);
	assert_printed(&ps, &f->out,
		       RURI_LINE VIA_LINE NEW_RR
		       "Record-Route: <sip:up.example.com;lr>\r\n" DLG_LINES
		       "X-Sb: 1\r\n"
		       "\r\n");
}

static void test_patch_ruri_rewrite(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;

	sip_patchset_init(&ps, parse(f, INVITE), &f->arena, NULL);
	assert_int_equal(sip_patch_ruri_set(&ps, SL("sip:bob@192.0.2.7:5080")),
			 0);
	assert_printed(
	    &ps, &f->out,
	    "INVITE sip:bob@192.0.2.7:5080 SIP/2.0\r\n" VIA_LINE MAXF_LINE
		ROUTE_LINE DLG_LINES CTYPE_LINE CLEN_LINE "\r\n" BODY);
	/* A second rewrite overlaps the first. */
	assert_int_equal(sip_patch_ruri_set(&ps, SL("sip:x@y")), -EINVAL);
}

static void test_patch_route_remove_first(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;
	const struct sip_nameaddr *r;

	sip_patchset_init(&ps, parse(f, INVITE), &f->arena, NULL);
	assert_int_equal(sip_msg_routes(&f->msg, &r), 0);
	assert_int_equal(sip_patch_nameaddr_remove(&ps, r), 0);
	assert_printed(
	    &ps, &f->out,
	    RURI_LINE VIA_LINE MAXF_LINE
	    "Route: <sip:p2.example.com;lr>\r\n" DLG_LINES CTYPE_LINE CLEN_LINE
	    "\r\n" BODY);
}

static void test_patch_route_remove_last(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;
	const struct sip_nameaddr *r;

	sip_patchset_init(&ps, parse(f, INVITE), &f->arena, NULL);
	assert_int_equal(sip_msg_routes(&f->msg, &r), 0);
	assert_non_null(r->next);
	assert_int_equal(sip_patch_nameaddr_remove(&ps, r->next), 0);
	assert_printed(
	    &ps, &f->out,
	    RURI_LINE VIA_LINE MAXF_LINE
	    "Route: <sip:p1.example.com;lr>\r\n" DLG_LINES CTYPE_LINE CLEN_LINE
	    "\r\n" BODY);
	/* Removing the other value too would overlap: remove the line. */
	assert_int_equal(sip_patch_nameaddr_remove(&ps, r), -EINVAL);
}

static void test_patch_route_remove_alone(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;
	const struct sip_nameaddr *r;

	sip_patchset_init(&ps,
			  parse(f, RURI_LINE VIA_LINE
				"Route: <sip:p1.example.com;lr>\r\n"
				"route: <sip:p2.example.com;lr>;x=1 , "
				"<sip:p3.example.com;lr>\r\n" DLG_LINES "\r\n"),
			  &f->arena, NULL);
	assert_int_equal(sip_msg_routes(&f->msg, &r), 0);
	assert_int_equal(sip_patch_nameaddr_remove(&ps, r), 0);
	assert_int_equal(sip_patch_nameaddr_remove(&ps, r->next->next), 0);
	assert_printed(&ps, &f->out,
		       RURI_LINE VIA_LINE
		       "route: <sip:p2.example.com;lr>;x=1\r\n" DLG_LINES
		       "\r\n");
}

static void test_patch_body_set_fixes_length(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;

	sip_patchset_init(&ps, parse(f, INVITE), &f->arena, NULL);
	assert_int_equal(sip_patch_body_set(&ps, SL("v=0\r\no=- 1 1 IN IP4 "
						    "192.0.2.9\r\n")),
			 0);
	assert_printed(
	    &ps, &f->out,
	    RURI_LINE VIA_LINE MAXF_LINE ROUTE_LINE DLG_LINES CTYPE_LINE
	    "Content-Length: 31\r\n"
	    "\r\n"
	    "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\n");
}

static void test_patch_body_set_adds_length(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;

	/* Datagram without Content-Length: the body runs to the end. */
	sip_patchset_init(
	    &ps, parse(f, RURI_LINE VIA_LINE DLG_LINES CTYPE_LINE "\r\n" BODY),
	    &f->arena, NULL);
	assert_int_equal(sip_patch_body_set(&ps, SL("")), 0);
	assert_printed(&ps, &f->out,
		       RURI_LINE VIA_LINE DLG_LINES CTYPE_LINE
		       "Content-Length: 0\r\n"
		       "\r\n");
}

static void test_patch_overlap_rejected(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;
	const struct sip_hdr *to, *maxf;
	uint32_t n;

	sip_patchset_init(&ps, parse(f, INVITE), &f->arena, NULL);
	to = sip_msg_hdr(&f->msg, SIP_HDR_TO);
	maxf = sip_msg_hdr(&f->msg, SIP_HDR_MAX_FORWARDS);
	assert_int_equal(sip_patch_hdr_remove(&ps, to), 0);
	n = ps.n;
	assert_int_equal(sip_patch_hdr_set_value(&ps, to, SL("<sip:x@y>")),
			 -EINVAL);
	assert_int_equal(sip_patch_add(&ps, to->off + 1, 2, SL("")), -EINVAL);
	assert_int_equal(sip_patch_add(&ps, to->off - 1, 2, SL("")), -EINVAL);
	/* Insertion strictly inside a removed range. */
	assert_int_equal(sip_patch_add(&ps, to->off + 3, 0, SL("x")), -EINVAL);
	/* Out of the message. */
	assert_int_equal(sip_patch_add(&ps, f->msg.len, 1, SL("")), -EINVAL);
	assert_int_equal(sip_patch_add(&ps, f->msg.len + 1, 0, SL("")),
			 -EINVAL);
	assert_int_equal(ps.n, n);
	/* Insertions at either edge of a removal are fine, in order added. */
	assert_int_equal(sip_patch_add(&ps, to->off, 0, SL("A: 1\r\n")), 0);
	assert_int_equal(
	    sip_patch_add(&ps, to->off + to->len, 0, SL("B: 2\r\n")), 0);
	assert_int_equal(sip_patch_add(&ps, to->off, 0, SL("C: 3\r\n")), 0);
	/* A replacement right next to another one. */
	assert_int_equal(sip_patch_hdr_set_value(&ps, maxf, SL("69")), 0);
	assert_int_equal(sip_patch_add(&ps, f->msg.len, 0, SL("!")), 0);
	assert_printed(&ps, &f->out,
		       RURI_LINE VIA_LINE
		       "Max-Forwards: 69\r\n" ROUTE_LINE
		       "From: <sip:alice@example.com>;tag=a1\r\n"
		       "A: 1\r\n"
		       "C: 3\r\n"
		       "B: 2\r\n"
		       "Call-ID: c1@example.com\r\n"
		       "CSeq: 1 INVITE\r\n" CTYPE_LINE CLEN_LINE "\r\n" BODY
		       "!");
}

static void test_patch_overlap_rejected_across_base(void **state)
{
	struct fx *f = *state;
	struct sip_patchset base, child;
	const struct sip_nameaddr *r;
	const struct sip_hdr *route;

	sip_patchset_init(&base, parse(f, INVITE), &f->arena, NULL);
	route = sip_msg_hdr(&f->msg, SIP_HDR_ROUTE);
	assert_int_equal(sip_patch_hdr_remove(&base, route), 0);
	assert_int_equal(sip_patch_body_set(&base, SL("")), 0);

	sip_patchset_init(&child, &f->msg, &f->arena, &base);
	assert_int_equal(sip_msg_routes(&f->msg, &r), 0);
	assert_int_equal(sip_patch_nameaddr_remove(&child, r), -EINVAL);
	assert_int_equal(sip_patch_hdr_set_value(&child, route, SL("<sip:x>")),
			 -EINVAL);
	assert_int_equal(sip_patch_body_set(&child, SL("x")), -EINVAL);
	assert_int_equal(child.n, 0);
	/* Two inserts at one offset: the base's prints first. */
	assert_int_equal(sip_patch_hdr_prepend(&base, SL("X-A"), SL("1")), 0);
	sip_patchset_init(&child, &f->msg, &f->arena, &base);
	assert_int_equal(sip_patch_hdr_prepend(&child, SL("X-B"), SL("2")), 0);
	assert_printed(&child, &f->out,
		       RURI_LINE
		       "X-A: 1\r\n"
		       "X-B: 2\r\n" VIA_LINE MAXF_LINE DLG_LINES CTYPE_LINE
		       "Content-Length: 0\r\n"
		       "\r\n");
}

static void test_patch_fork_branches_share_base(void **state)
{
	struct fx *f = *state;
	struct sip_patchset base, b1, b2;
	const struct sip_nameaddr *r;
	const struct sip_hdr *maxf;
	uint32_t base_n;

	sip_patchset_init(&base, parse(f, INVITE), &f->arena, NULL);
	maxf = sip_msg_hdr(&f->msg, SIP_HDR_MAX_FORWARDS);
	assert_int_equal(sip_msg_routes(&f->msg, &r), 0);
	/* RFC 3261 16.6: decrement Max-Forwards, record-route, pop Route. */
	assert_int_equal(sip_patch_hdr_set_value(&base, maxf, SL("69")), 0);
	assert_int_equal(
	    sip_patch_hdr_prepend(&base, SL("Record-Route"),
				  SL("<sip:proxy.example.com;lr>")),
	    0);
	assert_int_equal(sip_patch_nameaddr_remove(&base, r), 0);
	base_n = base.n;

	sip_patchset_init(&b1, &f->msg, &f->arena, &base);
	sip_patchset_init(&b2, &f->msg, &f->arena, &base);
	assert_int_equal(sip_patch_ruri_set(&b1, SL("sip:bob@192.0.2.1")), 0);
	assert_int_equal(
	    sip_patch_hdr_prepend(&b1, SL("Via"),
				  SL("SIP/2.0/UDP proxy.example.com;"
				     "branch=z9hG4bK.1")),
	    0);
	assert_int_equal(sip_patch_ruri_set(&b2, SL("sip:bob@192.0.2.2")), 0);
	assert_int_equal(
	    sip_patch_hdr_prepend(&b2, SL("Via"),
				  SL("SIP/2.0/TCP proxy.example.com;"
				     "branch=z9hG4bK.2")),
	    0);
	assert_int_equal(sip_patch_body_set(&b2, SL("")), 0);

#define FORKED_REST                                                            \
	VIA_LINE "Max-Forwards: 69\r\n"                                        \
		 "Route: <sip:p2.example.com;lr>\r\n" DLG_LINES CTYPE_LINE
	assert_printed(
	    &b1, &f->out,
	    "INVITE sip:bob@192.0.2.1 SIP/2.0\r\n" NEW_RR "Via: SIP/2.0/UDP "
	    "proxy.example.com;branch=z9hG4bK.1\r\n" FORKED_REST CLEN_LINE
	    "\r\n" BODY);
	assert_printed(&b2, &f->out,
		       "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n" NEW_RR
		       "Via: SIP/2.0/TCP "
		       "proxy.example.com;branch=z9hG4bK.2\r\n" FORKED_REST
		       "Content-Length: 0\r\n"
		       "\r\n");
	assert_printed(&base, &f->out,
		       RURI_LINE NEW_RR FORKED_REST CLEN_LINE "\r\n" BODY);
	assert_int_equal(base.n, base_n);
#undef FORKED_REST
}

static void test_patch_many_patches(void **state)
{
	struct fx *f = *state;
	struct sip_patchset ps;
	struct buf want;
	char value[16];

	/* More patches than the print's stack array, added out of order. */
	sip_patchset_init(&ps, parse(f, INVITE), &f->arena, NULL);
	buf_init(&want, 0);
	buf_append_str(&want, RURI_LINE);
	for (int i = 0; i < 40; i++)
		buf_printf(&want, "X-%02d: v%d\r\n", i, i);
	buf_append_str(
	    &want, VIA_LINE MAXF_LINE ROUTE_LINE DLG_LINES CTYPE_LINE CLEN_LINE
	    "\r\n" BODY);
	for (int i = 0; i < 40; i++) {
		char name[8];

		snprintf(name, sizeof(name), "X-%02d", i);
		snprintf(value, sizeof(value), "v%d", i);
		assert_int_equal(sip_patch_hdr_prepend(&ps, slice_cstr(name),
						       slice_cstr(value)),
				 0);
	}
	assert_int_equal(buf_error(&want), 0);
	assert_printed(&ps, &f->out, want.p);
	buf_close(&want);
}

/* A proxy's full set of edits, then print: the OOM test's operation. */
static int edit_and_print(struct sip_msg *m, struct arena *a, struct buf *b)
{
	struct sip_patchset ps;
	const struct sip_nameaddr *r = NULL;
	char value[320];
	int err;

	sip_patchset_init(&ps, m, a, NULL);
	if ((err = sip_patch_hdr_prepend(&ps, SL("Via"), SL(NEW_VIA_VALUE))))
		return err;
	if ((err = sip_patch_ruri_set(&ps, SL("sip:bob@192.0.2.1"))))
		return err;
	if ((err = sip_msg_routes(m, &r)) ||
	    (err = sip_patch_nameaddr_remove(&ps, r)))
		return err;
	if ((err = sip_patch_body_set(&ps, SL("v=0\r\ns=-\r\n"))))
		return err;
	/* Enough text to need more than one arena chunk. */
	memset(value, 'z', sizeof(value));
	for (int i = 0; i < 40; i++)
		if ((err = sip_patch_hdr_append(
			 &ps, SL("X-Pad"), slice_make(value, sizeof(value)))))
			return err;
	return sip_msg_print(&ps, b);
}

static void test_patch_oom(void **state)
{
	struct fx *f = *state;
	const struct sip_nameaddr *r;
	int err = -ENOMEM;
	int64_t n;

	parse(f, INVITE);
	/* Parse the routes outside the loop: only patching is tested. */
	assert_int_equal(sip_msg_routes(&f->msg, &r), 0);
	for (n = 0; err; n++) {
		struct arena a;
		struct buf b;
		int64_t live = sb_live_get(SB_LIVE_ALLOC);

		arena_init(&a, NULL, 0, 0);
		buf_init(&b, 0);
		sb_mem_fail_after(n);
		err = edit_and_print(&f->msg, &a, &b);
		sb_mem_fail_after(-1);
		if (err) {
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(b.len, 0);
		} else {
			assert_true(b.len > 40 * 320);
			assert_non_null(
			    memmem(b.p, b.len, "Content-Length: 10\r\n", 20));
		}
		buf_close(&b);
		arena_close(&a);
		assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live);
	}
	assert_true(n > 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_patch_print_unchanged),
	    T(test_patch_via_add_and_remove_top),
	    T(test_patch_via_remove_top_line),
	    T(test_patch_via_remove_top_of_two_values),
	    T(test_patch_record_route_add),
	    T(test_patch_ruri_rewrite),
	    T(test_patch_route_remove_first),
	    T(test_patch_route_remove_last),
	    T(test_patch_route_remove_alone),
	    T(test_patch_body_set_fixes_length),
	    T(test_patch_body_set_adds_length),
	    T(test_patch_overlap_rejected),
	    T(test_patch_overlap_rejected_across_base),
	    T(test_patch_fork_branches_share_base),
	    T(test_patch_many_patches),
	    T(test_patch_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
