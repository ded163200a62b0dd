/* Unit tests for RFC 4733 DTMF detection, packets and INFO bodies. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/dtmf.h"

enum { PT_EVENT = 101 };

/* Give the detector one event packet, built and parsed as on the wire. */
static int send_event(struct dtmf_detect *d, uint32_t ts, uint8_t event,
		      bool is_end, uint16_t duration, struct dtmf_event *out)
{
	static uint16_t seq;
	uint8_t pkt[16];
	struct rtp_hdr h;

	assert_int_equal(dtmf_packet(pkt, sizeof(pkt), PT_EVENT, seq++, ts,
				     0x1234, false, event, is_end, 10,
				     duration),
			 16);
	assert_int_equal(rtp_parse(pkt, sizeof(pkt), &h), 0);
	return dtmf_detect_rtp(d, &h, out);
}

static void test_dtmf_codes(void **state)
{
	static const char all[] = "0123456789*#ABCD";

	for (int i = 0; i < 16; i++) {
		assert_int_equal(dtmf_event_code(all[i]), i);
		assert_int_equal(dtmf_digit((uint8_t)i), all[i]);
	}
	assert_int_equal(dtmf_event_code('a'), 12);
	assert_int_equal(dtmf_event_code('d'), 15);
	assert_int_equal(dtmf_event_code('e'), -EINVAL);
	assert_int_equal(dtmf_event_code('E'), -EINVAL);
	assert_int_equal(dtmf_event_code(' '), -EINVAL);
	assert_int_equal(dtmf_digit(16), 0);
	assert_int_equal(dtmf_digit(255), 0);
}

static void test_dtmf_detect_repeats_once(void **state)
{
	struct dtmf_detect d = {0};
	struct dtmf_event ev;

	assert_int_equal(send_event(&d, 8000, 5, false, 160, &ev), 0);
	assert_int_equal(send_event(&d, 8000, 5, false, 320, &ev), 0);
	assert_int_equal(send_event(&d, 8000, 5, false, 480, &ev), 0);
	assert_int_equal(send_event(&d, 8000, 5, true, 640, &ev), 1);
	assert_int_equal(ev.digit, '5');
	assert_int_equal(ev.event, 5);
	assert_int_equal(ev.duration, 640);
	assert_int_equal(ev.volume, 10);
	assert_int_equal(ev.ts, 8000);
	/* The end is repeated; a late update of the same event too. */
	assert_int_equal(send_event(&d, 8000, 5, true, 640, &ev), 0);
	assert_int_equal(send_event(&d, 8000, 5, true, 640, &ev), 0);
	assert_int_equal(send_event(&d, 8000, 5, false, 480, &ev), 0);

	/* The next digit, its updates reordered. */
	assert_int_equal(send_event(&d, 16000, 11, false, 320, &ev), 0);
	assert_int_equal(send_event(&d, 16000, 11, false, 160, &ev), 0);
	assert_int_equal(send_event(&d, 16000, 11, true, 480, &ev), 1);
	assert_int_equal(ev.digit, '#');
	assert_int_equal(ev.duration, 480);
}

static void test_dtmf_detect_lost_end(void **state)
{
	struct dtmf_detect d = {0};
	struct dtmf_event ev;

	assert_int_equal(send_event(&d, 100, 1, false, 160, &ev), 0);
	assert_int_equal(send_event(&d, 100, 1, false, 320, &ev), 0);
	/* Its end packets are lost; the next event reports it. */
	assert_int_equal(send_event(&d, 2000, 2, false, 160, &ev), 1);
	assert_int_equal(ev.digit, '1');
	assert_int_equal(ev.duration, 320);
	assert_int_equal(ev.ts, 100);
	assert_true(d.is_open);
	assert_int_equal(send_event(&d, 2000, 2, true, 400, &ev), 1);
	assert_int_equal(ev.digit, '2');
	assert_int_equal(send_event(&d, 2000, 2, true, 400, &ev), 0);
	assert_false(d.is_open);
}

static void test_dtmf_detect_end_only(void **state)
{
	struct dtmf_detect d = {0};
	struct dtmf_event ev;

	/* Only the end packets of an event arrive. */
	assert_int_equal(send_event(&d, 500, 9, true, 800, &ev), 1);
	assert_int_equal(ev.digit, '9');
	assert_int_equal(send_event(&d, 500, 9, true, 800, &ev), 0);

	/* An open event, then only the end of the next one. */
	assert_int_equal(send_event(&d, 900, 3, false, 160, &ev), 0);
	assert_int_equal(send_event(&d, 1900, 4, true, 160, &ev), 1);
	assert_int_equal(ev.digit, '3');
	assert_int_equal(send_event(&d, 1900, 4, true, 160, &ev), 1);
	assert_int_equal(ev.digit, '4');
	assert_int_equal(send_event(&d, 1900, 4, true, 160, &ev), 0);

	/* A non-DTMF event (flash) is reported with no digit. */
	assert_int_equal(send_event(&d, 3000, 16, true, 160, &ev), 1);
	assert_int_equal(ev.digit, 0);
	assert_int_equal(ev.event, 16);
}

static void test_dtmf_detect_short(void **state)
{
	static const uint8_t payload[3] = {1, 0x80, 0};
	struct dtmf_detect d = {0};
	struct dtmf_event ev;
	struct rtp_hdr h = {
	    .pt = PT_EVENT, .payload = payload, .payload_len = sizeof(payload)};

	assert_int_equal(dtmf_detect_rtp(&d, &h, &ev), -EBADMSG);
	h.payload_len = 0;
	assert_int_equal(dtmf_detect_rtp(&d, &h, &ev), -EBADMSG);
	assert_false(d.is_open);
}

static void test_dtmf_packet_roundtrip(void **state)
{
	uint8_t pkt[20];
	struct rtp_hdr h;
	struct dtmf_detect d = {0};
	struct dtmf_event ev;

	assert_int_equal(
	    dtmf_packet(pkt, 15, PT_EVENT, 1, 2, 3, true, 4, false, 5, 6),
	    -ENOSPC);
	assert_int_equal(dtmf_packet(pkt, sizeof(pkt), PT_EVENT, 65535,
				     0xfffffff0, 0xcafe, true, 10, false, 63,
				     0),
			 16);
	assert_int_equal(rtp_parse(pkt, 16, &h), 0);
	assert_int_equal(h.pt, PT_EVENT);
	assert_true(h.is_marker);
	assert_int_equal(h.seq, 65535);
	assert_int_equal(h.ts, 0xfffffff0);
	assert_int_equal(h.ssrc, 0xcafe);
	assert_int_equal(h.payload_len, 4);
	assert_false(rtp_is_rtcp(pkt, 16));
	assert_int_equal(dtmf_detect_rtp(&d, &h, &ev), 0);

	assert_int_equal(dtmf_packet(pkt, 16, PT_EVENT, 0, 0xfffffff0, 0xcafe,
				     false, 10, true, 63, 65535),
			 16);
	assert_int_equal(rtp_parse(pkt, 16, &h), 0);
	assert_false(h.is_marker);
	assert_int_equal(dtmf_detect_rtp(&d, &h, &ev), 1);
	assert_int_equal(ev.digit, '*');
	assert_int_equal(ev.volume, 63);
	assert_int_equal(ev.duration, 65535);
	assert_int_equal(ev.ts, 0xfffffff0);
}

static void test_dtmf_info_print(void **state)
{
	char out[64];
	char digit;
	uint32_t ms;
	int n;

	n = dtmf_info_print('5', 160, out, sizeof(out));
	assert_int_equal(n, (int)strlen("Signal=5\r\nDuration=160\r\n"));
	assert_string_equal(out, "Signal=5\r\nDuration=160\r\n");
	assert_int_equal(
	    dtmf_info_parse("dtmf-relay", 10, out, (size_t)n, &digit, &ms), 0);
	assert_int_equal(digit, '5');
	assert_int_equal(ms, 160);

	assert_int_equal(dtmf_info_print('b', 250, out, sizeof(out)), 24);
	assert_string_equal(out, "Signal=B\r\nDuration=250\r\n");
	assert_int_equal(dtmf_info_print('x', 250, out, sizeof(out)), -EINVAL);
	assert_int_equal(dtmf_info_print('1', 250, out, 24), -ENOSPC);
	assert_int_equal(dtmf_info_print('1', 250, out, 25), 24);
}

/* Parse a heap copy of the body, so ASan sees any overread. */
static int info(const char *subtype, const char *body, char *digit,
		uint32_t *ms)
{
	size_t len = strlen(body);
	char *p = malloc(len ? len : 1);
	int err;

	memcpy(p, body, len);
	err = dtmf_info_parse(subtype, strlen(subtype), p, len, digit, ms);
	free(p);
	return err;
}

static void test_dtmf_info_parse(void **state)
{
	char digit;
	uint32_t ms;

	assert_int_equal(
	    info("DTMF-Relay", "signal= #\nDURATION = 80\n", &digit, &ms), 0);
	assert_int_equal(digit, '#');
	assert_int_equal(ms, 80);
	assert_int_equal(info("dtmf-relay", "Signal=*", &digit, &ms), 0);
	assert_int_equal(digit, '*');
	assert_int_equal(ms, 100);
	assert_int_equal(
	    info("dtmf-relay", "Foo=bar\r\nSignal=d\r\n\r\n", &digit, &ms), 0);
	assert_int_equal(digit, 'D');
	assert_int_equal(
	    info("dtmf-relay", "Signal=1\r\nDuration=0\r\n", &digit, &ms), 0);
	assert_int_equal(ms, 1);
	assert_int_equal(
	    info("dtmf-relay", "Signal=1\r\nDuration=9000\r\n", &digit, &ms),
	    0);
	assert_int_equal(ms, 8000);
	assert_int_equal(info("dtmf-relay",
			      "Signal=1\r\nDuration=99999999999999\r\n", &digit,
			      &ms),
			 0);
	assert_int_equal(ms, 8000);

	assert_int_equal(info("dtmf", "7", &digit, &ms), 0);
	assert_int_equal(digit, '7');
	assert_int_equal(ms, 100);
	assert_int_equal(info("DTMF", " a\r\n", &digit, &ms), 0);
	assert_int_equal(digit, 'A');
}

static void test_dtmf_info_parse_bad(void **state)
{
	char digit = 'z';
	uint32_t ms = 7;

	assert_int_equal(info("dtmf-relay", "", &digit, &ms), -EBADMSG);
	assert_int_equal(info("dtmf-relay", "Duration=160\r\n", &digit, &ms),
			 -EBADMSG);
	assert_int_equal(info("dtmf-relay", "Signal=12\r\n", &digit, &ms),
			 -EBADMSG);
	assert_int_equal(info("dtmf-relay", "Signal=\r\n", &digit, &ms),
			 -EBADMSG);
	assert_int_equal(info("dtmf-relay", "Signal=E\r\n", &digit, &ms),
			 -EBADMSG);
	assert_int_equal(
	    info("dtmf-relay", "Signal=1\r\nDuration=-5\r\n", &digit, &ms),
	    -EBADMSG);
	assert_int_equal(
	    info("dtmf-relay", "Signal=1\r\nDuration=\r\n", &digit, &ms),
	    -EBADMSG);
	assert_int_equal(info("dtmf-relay", "Signal 1\r\n", &digit, &ms),
			 -EBADMSG);
	assert_int_equal(info("dtmf", "", &digit, &ms), -EBADMSG);
	assert_int_equal(info("dtmf", "55", &digit, &ms), -EBADMSG);
	assert_int_equal(info("dtmf", "x", &digit, &ms), -EBADMSG);
	assert_int_equal(info("plain", "5", &digit, &ms), -EBADMSG);
	assert_int_equal(info("dtmf-relayx", "Signal=5", &digit, &ms),
			 -EBADMSG);
	assert_int_equal(dtmf_info_parse("dtmf", 4, NULL, 0, &digit, &ms),
			 -EBADMSG);
	/* Nothing is written on failure. */
	assert_int_equal(digit, 'z');
	assert_int_equal(ms, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dtmf_codes),
	    cmocka_unit_test(test_dtmf_detect_repeats_once),
	    cmocka_unit_test(test_dtmf_detect_lost_end),
	    cmocka_unit_test(test_dtmf_detect_end_only),
	    cmocka_unit_test(test_dtmf_detect_short),
	    cmocka_unit_test(test_dtmf_packet_roundtrip),
	    cmocka_unit_test(test_dtmf_info_print),
	    cmocka_unit_test(test_dtmf_info_parse),
	    cmocka_unit_test(test_dtmf_info_parse_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
