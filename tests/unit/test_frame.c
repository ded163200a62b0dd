/* Unit tests for stream framing (sip/transport/frame.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "sip/transport/frame.h"

struct fx {
	int64_t live_alloc;
	struct tp_frame_limits lim;
	struct buf log; /* events, as text */
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.lim = (struct tp_frame_limits){
	    .max_msg_bytes = 4096,
	    .max_header_bytes = 256,
	    .max_buffered_bytes = 8192,
	};
	buf_init(&f.log, 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	buf_close(&f->log);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

#define OPTIONS_HEAD                                                           \
	"OPTIONS sip:bob@example.com SIP/2.0\r\n"                              \
	"Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK1\r\n"                  \
	"Max-Forwards: 70\r\n"                                                 \
	"From: <sip:a@example.com>;tag=1\r\n"                                  \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: c1@192.0.2.1\r\n"                                            \
	"CSeq: 1 OPTIONS\r\n"

/* Messages that exercise the Content-Length finder. */
static const char msg_plain[] = OPTIONS_HEAD "Content-Length: 0\r\n\r\n";
static const char msg_body[] = OPTIONS_HEAD "Content-Type: text/plain\r\n"
					    "Content-Length: 11\r\n\r\n"
					    "hello\r\n\r\nxx";
static const char msg_compact[] = OPTIONS_HEAD "l:5\r\n\r\nabcde";
static const char msg_folded[] = OPTIONS_HEAD "CONTENT-length :\r\n"
					      "  \t 3\r\n"
					      " \r\n"
					      "X-After: y\r\n\r\nxyz";
static const char msg_lf[] = "MESSAGE sip:b@example.com SIP/2.0\n"
			     "Via: SIP/2.0/TCP h;branch=z9hG4bK2\n"
			     "content-length: 4\n\nbody";

/* Drain events after each feed into f->log; returns the last event. */
static enum tp_frame_event drain(struct fx *fx, struct tp_frame *fr)
{
	struct tp_frame_out out;
	enum tp_frame_event ev;

	for (;;) {
		ev = tp_frame_next(fr, &out);
		switch (ev) {
		case TP_FRAME_MORE:
			return ev;
		case TP_FRAME_MESSAGE:
			buf_printf(&fx->log, "M%zu[", out.len);
			buf_append(&fx->log, out.p, out.len);
			buf_append_str(&fx->log, "]");
			break;
		case TP_FRAME_PING:
			buf_append_str(&fx->log, "PING ");
			break;
		case TP_FRAME_PONG:
			buf_append_str(&fx->log, "PONG ");
			break;
		case TP_FRAME_ERROR:
			buf_printf(&fx->log, "E%u(%s)/%zu", out.status,
				   out.reason, out.len);
			return ev;
		}
	}
}

/* Feed text in chunks ending at the given cut points; log the events. */
static void run_cuts(struct fx *fx, const char *text, size_t len,
		     const size_t *cuts, size_t ncuts)
{
	struct tp_frame fr;
	size_t at = 0;

	buf_reset(&fx->log);
	tp_frame_init(&fr, &fx->lim);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		assert_int_equal(tp_frame_feed(&fr, text + at, end - at), 0);
		at = end;
		if (drain(fx, &fr) == TP_FRAME_ERROR)
			break;
	}
	tp_frame_close(&fr);
	assert_int_equal(buf_error(&fx->log), 0);
}

static void run_whole(struct fx *fx, const char *text)
{
	run_cuts(fx, text, strlen(text), NULL, 0);
}

static void assert_log(struct fx *fx, const char *want)
{
	if (fx->log.len != strlen(want) ||
	    memcmp(fx->log.p, want, fx->log.len) != 0) {
		print_error("got:  %.*s\nwant: %s\n", (int)fx->log.len,
			    fx->log.p ? fx->log.p : "", want);
		fail();
	}
}

/* Expected log of one message, as drain() writes it. */
static char *message_log(char *dst, size_t cap, const char *m)
{
	snprintf(dst, cap, "M%zu[%s]", strlen(m), m);
	return dst;
}

static void test_frame_messages(void **state)
{
	struct fx *fx = *state;
	const char *msgs[] = {msg_plain, msg_body, msg_compact, msg_folded,
			      msg_lf};
	char want[1024];

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		run_whole(fx, msgs[i]);
		assert_log(fx, message_log(want, sizeof(want), msgs[i]));
	}
}

static void test_frame_every_split_point(void **state)
{
	struct fx *fx = *state;
	struct buf stream, whole;
	size_t *cuts;

	buf_init(&stream, 0);
	buf_init(&whole, 0);
	buf_append_str(&stream, "\r\n\r\n");
	buf_append_str(&stream, msg_body);
	buf_append_str(&stream, "\r\n");
	buf_append_str(&stream, msg_compact);
	buf_append_str(&stream, msg_folded);
	buf_append_str(&stream, "\r\n\r\n\r\n");
	buf_append_str(&stream, msg_plain);
	buf_append_str(&stream, msg_lf);
	assert_int_equal(buf_error(&stream), 0);

	run_whole(fx, stream.p);
	buf_append(&whole, fx->log.p, fx->log.len);
	assert_non_null(strstr(whole.p, "PONG PING M"));
	assert_non_null(strstr(whole.p, "]PONG M"));

	/* Byte by byte. */
	cuts = sb_calloc(stream.len, sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t i = 0; i + 1 < stream.len; i++)
		cuts[i] = i + 1;
	run_cuts(fx, stream.p, stream.len, cuts, stream.len - 1);
	assert_log(fx, whole.p);

	/* Two chunks, split at every point; three chunks at pairs. */
	for (size_t i = 0; i <= stream.len; i++) {
		run_cuts(fx, stream.p, stream.len, &i, 1);
		assert_log(fx, whole.p);
	}
	for (size_t i = 0; i <= stream.len; i += 7) {
		for (size_t j = i; j <= stream.len; j += 13) {
			size_t two[2] = {i, j};
			run_cuts(fx, stream.p, stream.len, two, 2);
			assert_log(fx, whole.p);
		}
	}
	sb_free(cuts);
	buf_close(&stream);
	buf_close(&whole);
}

static void test_frame_keepalive(void **state)
{
	struct fx *fx = *state;
	char want[1024];

	/* RFC 5626 3.5.1: CRLFCRLF is a ping; CRLF alone is a pong. */
	run_whole(fx, "\r\n\r\n");
	assert_log(fx, "PONG PING ");
	run_whole(fx, "\r\n");
	assert_log(fx, "PONG ");
	run_whole(fx, "\r\n\r\n\r\n\r\n");
	assert_log(fx, "PONG PING PONG PING ");
	run_whole(fx, "\n\n");
	assert_log(fx, "PONG PING ");

	/* A ping right after a message, and a pong before one. */
	snprintf(want, sizeof(want), "M%zu[%s]PONG PING ", strlen(msg_plain),
		 msg_plain);
	{
		char text[1024];
		snprintf(text, sizeof(text), "%s\r\n\r\n", msg_plain);
		run_whole(fx, text);
		assert_log(fx, want);
		snprintf(text, sizeof(text), "\r\n%s", msg_plain);
		run_whole(fx, text);
		snprintf(want, sizeof(want), "PONG M%zu[%s]", strlen(msg_plain),
			 msg_plain);
		assert_log(fx, want);
	}
}

static void test_frame_bad_content_length(void **state)
{
	struct fx *fx = *state;
	size_t hdr = strlen(OPTIONS_HEAD);
	char want[128];

	/* RFC 3261 18.3: a stream message without Content-Length is bad. */
	run_whole(fx, OPTIONS_HEAD "\r\n");
	snprintf(want, sizeof(want), "E400(Missing Content-Length header)/%zu",
		 hdr + 2);
	assert_log(fx, want);

	run_whole(fx, OPTIONS_HEAD "Content-Length: abc\r\n\r\n");
	snprintf(want, sizeof(want), "E400(Bad Content-Length header)/%zu",
		 hdr + 23);
	assert_log(fx, want);

	run_whole(fx, OPTIONS_HEAD "l: 1 2\r\n\r\nab");
	assert_non_null(strstr(fx->log.p, "E400(Bad Content-Length header)"));
	run_whole(fx, OPTIONS_HEAD "Content-Length: -1\r\n\r\n");
	assert_non_null(strstr(fx->log.p, "E400(Bad Content-Length header)"));
	run_whole(fx, OPTIONS_HEAD "Content-Length:\r\n\r\n");
	assert_non_null(strstr(fx->log.p, "E400(Bad Content-Length header)"));
	run_whole(fx, OPTIONS_HEAD "Content-Length: 0\r\nl: 0\r\n\r\n");
	assert_non_null(
	    strstr(fx->log.p, "E400(Multiple Content-Length headers)"));

	/* Look-alike names are not Content-Length. */
	run_whole(fx, OPTIONS_HEAD "Content-Lengthx: 5\r\nll: 5\r\n"
				   "Content-Length: 0\r\n\r\n");
	assert_non_null(strstr(fx->log.p, "M"));
	assert_null(strstr(fx->log.p, "E"));
}

static void test_frame_oversize(void **state)
{
	struct fx *fx = *state;
	struct buf big;

	/* A body that would pass max_msg_bytes: 413, headers known. */
	run_whole(fx, OPTIONS_HEAD "Content-Length: 5000\r\n\r\n");
	assert_non_null(strstr(fx->log.p, "E413(Message Too Large)/"));
	assert_null(strstr(fx->log.p, "/0"));
	run_whole(fx, OPTIONS_HEAD "Content-Length: 99999999999999999999\r\n"
				   "\r\n");
	assert_non_null(strstr(fx->log.p, "E413(Message Too Large)/"));

	/* A line over max_header_bytes: 400, no reply possible. */
	buf_init(&big, 0);
	buf_append_str(&big, OPTIONS_HEAD "X-Long: ");
	for (int i = 0; i < 300; i++)
		buf_append_str(&big, "a");
	run_whole(fx, big.p);
	assert_log(fx, "E400(Header too long)/0");

	/* A folded header over the limit, and a long start line. */
	buf_reset(&big);
	buf_append_str(&big, OPTIONS_HEAD "X-Fold: a\r\n");
	for (int i = 0; i < 30; i++)
		buf_append_str(&big, " aaaaaaaaaa\r\n");
	run_whole(fx, big.p);
	assert_log(fx, "E400(Header too long)/0");
	buf_reset(&big);
	for (int i = 0; i < 300; i++)
		buf_append_str(&big, "x");
	run_whole(fx, big.p);
	assert_log(fx, "E400(Header too long)/0");

	/* A header block that never ends: 413 once max_msg_bytes passed. */
	buf_reset(&big);
	buf_append_str(&big, OPTIONS_HEAD);
	while (big.len <= fx->lim.max_msg_bytes)
		buf_append_str(&big, "X-H: 0123456789\r\n");
	run_whole(fx, big.p);
	assert_log(fx, "E413(Message Too Large)/0");
	buf_close(&big);
}

/* Fuzzer find: a long header, then a long partial line, fed in pieces,
 * was taken for one folded header over the limit. */
static void test_frame_long_lines_do_not_add_up(void **state)
{
	struct fx *fx = *state;
	struct buf text, whole;
	size_t cut;

	buf_init(&text, 0);
	buf_init(&whole, 0);
	buf_append_str(&text, "OPTIONS sip:b@example.com SIP/2.0\r\nVia: ");
	for (int i = 0; i < 200; i++)
		buf_append_str(&text, "V");
	buf_append_str(&text, "\r\nTo: ");
	cut = text.len + 150;
	for (int i = 0; i < 200; i++)
		buf_append_str(&text, "T");
	buf_append_str(&text, "\r\nContent-Length: 0\r\n\r\n");
	run_whole(fx, text.p);
	assert_int_equal(fx->log.p[0], 'M');
	buf_append(&whole, fx->log.p, fx->log.len);
	run_cuts(fx, text.p, text.len, &cut, 1);
	assert_log(fx, whole.p);
	buf_close(&text);
	buf_close(&whole);
}

static void test_frame_error_is_sticky(void **state)
{
	struct fx *fx = *state;
	struct tp_frame_out out;
	struct tp_frame fr;

	tp_frame_init(&fr, &fx->lim);
	assert_int_equal(
	    tp_frame_feed(&fr, OPTIONS_HEAD "\r\n", strlen(OPTIONS_HEAD) + 2),
	    0);
	assert_int_equal(tp_frame_next(&fr, &out), TP_FRAME_ERROR);
	assert_int_equal(tp_frame_feed(&fr, msg_plain, strlen(msg_plain)), 0);
	assert_int_equal(tp_frame_next(&fr, &out), TP_FRAME_ERROR);
	assert_int_equal(out.status, 400);
	tp_frame_close(&fr);
}

static void test_frame_resumes_without_rescan(void **state)
{
	struct fx *fx = *state;
	size_t half = strlen(msg_body) - 20;
	struct tp_frame_out out;
	struct tp_frame fr;

	tp_frame_init(&fr, &fx->lim);
	assert_int_equal(tp_frame_feed(&fr, msg_body, half), 0);
	assert_int_equal(tp_frame_next(&fr, &out), TP_FRAME_MORE);
	assert_true(tp_frame_is_partial(&fr));
	/* Every byte has been looked at once; the line start is kept. */
	assert_int_equal(fr.state, TP_FRAME_STATE_HEADERS);
	assert_int_equal(fr.scan, half);
	assert_memory_equal(fr.buf + fr.head + fr.line, "Content-Len", 11);
	assert_int_equal(
	    tp_frame_feed(&fr, msg_body + half, strlen(msg_body) - half), 0);
	assert_int_equal(tp_frame_next(&fr, &out), TP_FRAME_MESSAGE);
	assert_int_equal(out.len, strlen(msg_body));
	assert_memory_equal(out.p, msg_body, out.len);
	assert_int_equal(tp_frame_next(&fr, &out), TP_FRAME_MORE);
	assert_false(tp_frame_is_partial(&fr));
	assert_int_equal(tp_frame_pending(&fr), 0);
	tp_frame_close(&fr);
}

static void test_frame_buffer_cap(void **state)
{
	struct fx *fx = *state;
	struct tp_frame_limits lim = fx->lim;
	struct tp_frame fr;
	char chunk[512];
	size_t n = 0;
	int err = 0;

	/* Never below max_msg_bytes + 1, so an over-long message is seen. */
	lim.max_buffered_bytes = 100;
	tp_frame_init(&fr, &lim);
	assert_int_equal(fr.lim.max_buffered_bytes, lim.max_msg_bytes + 1);
	memset(chunk, 'x', sizeof(chunk));
	while (!err && n < 100000) {
		err = tp_frame_feed(&fr, chunk, sizeof(chunk));
		n += sizeof(chunk);
	}
	assert_int_equal(err, -ENOBUFS);
	assert_true(tp_frame_pending(&fr) <= lim.max_msg_bytes + 1);
	tp_frame_close(&fr);
}

static void test_frame_pipelined_burst(void **state)
{
	struct fx *fx = *state;
	struct tp_frame_out out;
	struct tp_frame fr;
	int messages = 0;

	/* Many messages in the buffer come out one at a time, in order. */
	tp_frame_init(&fr, &fx->lim);
	for (int i = 0; i < 5; i++)
		assert_int_equal(tp_frame_feed(&fr, msg_body, strlen(msg_body)),
				 0);
	while (tp_frame_next(&fr, &out) == TP_FRAME_MESSAGE) {
		assert_int_equal(out.len, strlen(msg_body));
		assert_memory_equal(out.p, msg_body, out.len);
		messages++;
	}
	assert_int_equal(messages, 5);
	tp_frame_close(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_frame_messages, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_frame_every_split_point, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_frame_keepalive, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_frame_bad_content_length,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_frame_oversize, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_frame_long_lines_do_not_add_up,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_frame_error_is_sticky, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_frame_resumes_without_rescan,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_frame_buffer_cap, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_frame_pipelined_burst, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
