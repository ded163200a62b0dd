/* Unit tests for the RTP and RTCP header readers (media/rtp). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/rtp.h"

enum { PKT_MAX = 1024 };

/* A packet under construction. */
struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
};

static void put8(struct pkt *k, uint8_t v)
{
	assert_true(k->len < PKT_MAX);
	k->b[k->len++] = v;
}

static void put16(struct pkt *k, uint16_t v)
{
	put8(k, (uint8_t)(v >> 8));
	put8(k, (uint8_t)v);
}

static void put32(struct pkt *k, uint32_t v)
{
	put16(k, (uint16_t)(v >> 16));
	put16(k, (uint16_t)v);
}

static void rtp_fixed(struct pkt *k, uint8_t b0, uint8_t b1, uint16_t seq,
		      uint32_t ts, uint32_t ssrc)
{
	put8(k, b0);
	put8(k, b1);
	put16(k, seq);
	put32(k, ts);
	put32(k, ssrc);
}

/* Parse an exact-size heap copy, so ASan sees any overread. */
static int parse(const struct pkt *k, struct rtp_hdr *h, size_t *off)
{
	uint8_t *p = malloc(k->len ? k->len : 1);
	int err;

	memcpy(p, k->b, k->len);
	err = rtp_parse(p, k->len, h);
	if (!err && off)
		*off = (size_t)(h->payload - p);
	free(p);
	return err;
}

static int parse_rtcp(const struct pkt *k, struct rtcp_info *info)
{
	uint8_t *p = malloc(k->len ? k->len : 1);
	int err;

	memcpy(p, k->b, k->len);
	err = rtcp_parse(p, k->len, info);
	free(p);
	return err;
}

static void test_rtp_parse_g711(void **state)
{
	struct pkt k = {0};
	struct rtp_hdr h;
	size_t off;

	rtp_fixed(&k, 0x80, 0x80 | 8, 65535, 0xdeadbeef, 0x01020304);
	for (int i = 0; i < 160; i++)
		put8(&k, 0xd5);
	assert_int_equal(parse(&k, &h, &off), 0);
	assert_int_equal(h.pt, 8);
	assert_true(h.is_marker);
	assert_int_equal(h.seq, 65535);
	assert_int_equal(h.ts, 0xdeadbeef);
	assert_int_equal(h.ssrc, 0x01020304);
	assert_int_equal(off, RTP_HDR_LEN);
	assert_int_equal(h.payload_len, 160);
}

static void test_rtp_parse_csrc_ext_padding(void **state)
{
	struct pkt k = {0};
	struct rtp_hdr h;
	size_t off;

	rtp_fixed(&k, 0x80 | 0x20 | 0x10 | 2, 0, 1, 2, 3);
	put32(&k, 11); /* two CSRCs */
	put32(&k, 12);
	put16(&k, 0xbede); /* extension, one word */
	put16(&k, 1);
	put32(&k, 0);
	for (int i = 0; i < 5; i++)
		put8(&k, 0xff);
	put8(&k, 0);
	put8(&k, 0);
	put8(&k, 3); /* three bytes of padding */
	assert_int_equal(parse(&k, &h, &off), 0);
	assert_int_equal(off, RTP_HDR_LEN + 8 + 8);
	assert_int_equal(h.payload_len, 5);

	/* Padding may take the whole payload. */
	k.b[k.len - 1] = 8;
	assert_int_equal(parse(&k, &h, &off), 0);
	assert_int_equal(h.payload_len, 0);
}

static void test_rtp_parse_malformed(void **state)
{
	struct pkt k = {0};
	struct rtp_hdr h;

	rtp_fixed(&k, 0x80, 0, 1, 2, 3);
	k.len = RTP_HDR_LEN - 1;
	assert_int_equal(parse(&k, &h, NULL), -EBADMSG);
	k.len = RTP_HDR_LEN;
	assert_int_equal(parse(&k, &h, NULL), 0);

	k.b[0] = 0x40; /* version 1 */
	assert_int_equal(parse(&k, &h, NULL), -EBADMSG);
	k.b[0] = 0xc0; /* version 3 */
	assert_int_equal(parse(&k, &h, NULL), -EBADMSG);

	k.b[0] = 0x80 | 3; /* three CSRCs, two present */
	put32(&k, 1);
	put32(&k, 2);
	assert_int_equal(parse(&k, &h, NULL), -EBADMSG);
	k.b[0] = 0x80 | 2;
	assert_int_equal(parse(&k, &h, NULL), 0);
}

static void test_rtp_parse_ext_past_end(void **state)
{
	struct pkt k = {0};
	struct rtp_hdr h;

	rtp_fixed(&k, 0x90, 0, 1, 2, 3);
	put16(&k, 0xbede); /* half an extension header */
	assert_int_equal(parse(&k, &h, NULL), -EBADMSG);
	put16(&k, 2); /* two words announced, one present */
	put32(&k, 0);
	assert_int_equal(parse(&k, &h, NULL), -EBADMSG);
	put32(&k, 0);
	assert_int_equal(parse(&k, &h, NULL), 0);
	assert_int_equal(h.payload_len, 0);
}

static void test_rtp_parse_padding_bad(void **state)
{
	struct pkt k = {0};
	struct rtp_hdr h;

	rtp_fixed(&k, 0xa0, 0, 1, 2, 3);
	put8(&k, 1);
	put8(&k, 3); /* three bytes of padding in a payload of two */
	assert_int_equal(parse(&k, &h, NULL), -EBADMSG);
	k.b[k.len - 1] = 0; /* a count of zero */
	assert_int_equal(parse(&k, &h, NULL), -EBADMSG);
	k.b[k.len - 1] = 2;
	assert_int_equal(parse(&k, &h, NULL), 0);
	assert_int_equal(h.payload_len, 0);

	k.len = RTP_HDR_LEN;	  /* padding bit, no payload at all */
	k.b[RTP_HDR_LEN - 1] = 1; /* the SSRC's last byte */
	assert_int_equal(parse(&k, &h, NULL), -EBADMSG);
}

static void test_rtp_is_rtcp_ranges(void **state)
{
	uint8_t p[2] = {0x80, 200};

	assert_true(rtp_is_rtcp(p, 2));
	assert_false(rtp_is_rtcp(p, 1));
	p[1] = 192;
	assert_true(rtp_is_rtcp(p, 2));
	p[1] = 223;
	assert_true(rtp_is_rtcp(p, 2));
	p[1] = 191; /* PT 63 with the marker */
	assert_false(rtp_is_rtcp(p, 2));
	p[1] = 224;
	assert_false(rtp_is_rtcp(p, 2));
	p[1] = 0x80 | 0; /* PCMU with the marker */
	assert_false(rtp_is_rtcp(p, 2));
	p[1] = 101;
	assert_false(rtp_is_rtcp(p, 2));
}

static void rtcp_block(struct pkt *k, uint32_t ssrc, uint8_t fraction,
		       uint32_t cum24, uint32_t jitter)
{
	put32(k, ssrc);
	put32(k, (uint32_t)fraction << 24 | (cum24 & 0xffffff));
	put32(k, 0x00010005); /* one cycle, seq 5 */
	put32(k, jitter);
	put32(k, 0x11223344);
	put32(k, 0x00018000); /* 1.5 s */
}

static void rtcp_sr(struct pkt *k, uint8_t nblocks)
{
	put8(k, (uint8_t)(0x80 | nblocks));
	put8(k, 200);
	put16(k, (uint16_t)(6 + 6 * nblocks));
	put32(k, 0xaabbccdd);
	put32(k, 0x83aa7e80); /* NTP seconds */
	put32(k, 0x12345678); /* NTP fraction */
	put32(k, 160000);     /* RTP timestamp */
	put32(k, 1000);	      /* packets */
	put32(k, 160000);     /* octets */
	for (uint8_t i = 0; i < nblocks; i++)
		rtcp_block(k, 0x100 + i, 25, 0xfffffe, 80);
}

static void rtcp_rr(struct pkt *k, uint8_t nblocks)
{
	put8(k, (uint8_t)(0x80 | nblocks));
	put8(k, 201);
	put16(k, (uint16_t)(1 + 6 * nblocks));
	put32(k, 0x55667788);
	for (uint8_t i = 0; i < nblocks; i++)
		rtcp_block(k, 0x200 + i, 0, 7, 12);
}

static void rtcp_sdes(struct pkt *k)
{
	put8(k, 0x81);
	put8(k, 202);
	put16(k, 3);
	put32(k, 0xaabbccdd);
	put8(k, 1); /* CNAME */
	put8(k, 3);
	put8(k, 'a');
	put8(k, 'b');
	put8(k, 'c');
	put8(k, 0); /* end of items, to the word */
	put16(k, 0);
}

static void test_rtcp_parse_sr_sdes(void **state)
{
	struct pkt k = {0};
	struct rtcp_info info;

	rtcp_sr(&k, 2);
	rtcp_sdes(&k);
	assert_int_equal(parse_rtcp(&k, &info), 0);
	assert_true(info.has_sr);
	assert_false(info.has_bye);
	assert_int_equal(info.ssrc, 0xaabbccdd);
	assert_int_equal(info.sr_packets, 1000);
	assert_int_equal(info.sr_octets, 160000);
	assert_int_equal(info.ntp_mid, 0x7e801234);
	assert_int_equal(info.nblocks, 2);
	assert_int_equal(info.blocks[1].ssrc, 0x101);
	assert_int_equal(info.blocks[0].fraction_lost, 25);
	assert_int_equal(info.blocks[0].cum_lost, -2); /* sign extended */
	assert_int_equal(info.blocks[0].highest_seq, 0x00010005);
	assert_int_equal(info.blocks[0].jitter, 80);
	assert_int_equal(info.blocks[0].lsr, 0x11223344);
	assert_int_equal(info.blocks[0].dlsr, 0x00018000);
}

static void test_rtcp_parse_rr_bye(void **state)
{
	struct pkt k = {0};
	struct rtcp_info info;

	rtcp_rr(&k, 1);
	rtcp_sr(&k, 3); /* a later report's blocks are not kept */
	put8(&k, 0x81); /* BYE of one source */
	put8(&k, 203);
	put16(&k, 1);
	put32(&k, 0x55667788);
	assert_int_equal(parse_rtcp(&k, &info), 0);
	assert_true(info.has_bye);
	assert_true(info.has_sr);
	assert_int_equal(info.ssrc, 0x55667788);
	assert_int_equal(info.nblocks, 1);
	assert_int_equal(info.blocks[0].ssrc, 0x200);
	assert_int_equal(info.blocks[0].cum_lost, 7);
	assert_int_equal(info.sr_packets, 1000);
}

static void test_rtcp_parse_reduced_size(void **state)
{
	struct pkt k = {0};
	struct rtcp_info info;

	put8(&k, 0x81); /* RFC 5506: a lone PLI */
	put8(&k, 206);
	put16(&k, 2);
	put32(&k, 1);
	put32(&k, 2);
	assert_int_equal(parse_rtcp(&k, &info), 0);
	assert_false(info.has_sr);
	assert_int_equal(info.nblocks, 0);

	k.len = 0;
	rtcp_rr(&k, 0); /* an empty RR */
	assert_int_equal(parse_rtcp(&k, &info), 0);
	assert_int_equal(info.nblocks, 0);
	assert_int_equal(info.ssrc, 0x55667788);
}

static void test_rtcp_parse_malformed(void **state)
{
	struct pkt k = {0};
	struct rtcp_info info;

	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
	rtcp_rr(&k, 1);
	rtcp_sdes(&k);
	assert_int_equal(parse_rtcp(&k, &info), 0);

	k.len--; /* the last packet's length past the end */
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
	k.len = 32 + 3; /* trailing bytes shorter than a header */
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
	k.len = 48;

	k.b[32] = 0x41; /* the SDES in version 1 */
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
	k.b[32] = 0x81;

	k.b[3] = 200; /* the RR's length past the end */
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
	k.b[3] = 7;

	k.b[0] = 0x80 | 2; /* two blocks announced, one present */
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
	k.b[0] = 0x80 | 1;
	assert_int_equal(parse_rtcp(&k, &info), 0);

	memset(&k, 0, sizeof(k)); /* an SR too short for its sender info */
	put8(&k, 0x80);
	put8(&k, 200);
	put16(&k, 1);
	put32(&k, 1);
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
}

static void test_rtcp_parse_padding(void **state)
{
	struct pkt k = {0};
	struct rtcp_info info;

	rtcp_rr(&k, 1);
	put8(&k, 0xa0); /* an APP with four bytes of padding, last */
	put8(&k, 204);
	put16(&k, 3);
	put32(&k, 1);
	put32(&k, 0x61626364);
	put32(&k, 4);
	assert_int_equal(parse_rtcp(&k, &info), 0);

	k.b[k.len - 1] = 13; /* more padding than the packet holds */
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
	k.b[k.len - 1] = 0;
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
	k.b[k.len - 1] = 4;

	k.b[0] |= 0x20; /* padding on the first of two */
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
	k.b[0] &= (uint8_t)~0x20;

	/* Padding eating into the report blocks leaves them truncated. */
	k.len = 0;
	rtcp_rr(&k, 1);
	k.b[0] |= 0x20;
	k.b[k.len - 1] = 4;
	assert_int_equal(parse_rtcp(&k, &info), -EBADMSG);
}

static void test_rtcp_parse_max_blocks(void **state)
{
	struct pkt k = {0};
	struct rtcp_info info;

	rtcp_rr(&k, 31);
	assert_int_equal(parse_rtcp(&k, &info), 0);
	assert_int_equal(info.nblocks, RTCP_BLOCKS_MAX);
	assert_int_equal(info.blocks[30].ssrc, 0x200 + 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtp_parse_g711),
	    cmocka_unit_test(test_rtp_parse_csrc_ext_padding),
	    cmocka_unit_test(test_rtp_parse_malformed),
	    cmocka_unit_test(test_rtp_parse_ext_past_end),
	    cmocka_unit_test(test_rtp_parse_padding_bad),
	    cmocka_unit_test(test_rtp_is_rtcp_ranges),
	    cmocka_unit_test(test_rtcp_parse_sr_sdes),
	    cmocka_unit_test(test_rtcp_parse_rr_bye),
	    cmocka_unit_test(test_rtcp_parse_reduced_size),
	    cmocka_unit_test(test_rtcp_parse_malformed),
	    cmocka_unit_test(test_rtcp_parse_padding),
	    cmocka_unit_test(test_rtcp_parse_max_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
