/* RTP and RTCP header readers (RFC 3550), bounds-checked, no allocation. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "media/rtp.h"

#include <errno.h>
#include <string.h>

enum {
	RTP_VERSION = 2,
	RTCP_SR = 200,
	RTCP_RR = 201,
	RTCP_BYE = 203,
	RTCP_SENDER_INFO_LEN = 20, /* NTP, RTP timestamp, two counts */
	RTCP_BLOCK_LEN = 24
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int rtp_parse(const uint8_t *p, size_t len, struct rtp_hdr *out)
{
	size_t off, end = len;

	if (len < RTP_HDR_LEN || p[0] >> 6 != RTP_VERSION)
		return -EBADMSG;
	off = RTP_HDR_LEN + 4 * (size_t)(p[0] & 0x0f); /* CSRC list */
	if (p[0] & 0x10) {
		/* RFC 3550 5.3.1: 4-byte extension header, length in words. */
		if (off + 4 > len)
			return -EBADMSG;
		off += 4 + 4 * (size_t)rd16(p + off + 2);
	}
	if (off > len)
		return -EBADMSG;
	if (p[0] & 0x20) {
		/* RFC 3550 5.1: the last octet counts the padding, itself
		 * included. */
		size_t pad = p[len - 1];

		if (pad == 0 || pad > len - off)
			return -EBADMSG;
		end -= pad;
	}
	out->is_marker = p[1] >> 7;
	out->pt = p[1] & 0x7f;
	out->seq = rd16(p + 2);
	out->ts = rd32(p + 4);
	out->ssrc = rd32(p + 8);
	out->payload = p + off;
	out->payload_len = end - off;
	return 0;
}

bool rtp_is_rtcp(const uint8_t *p, size_t len)
{
	/* RFC 5761 4: RTCP packet types 192..223 collide with no RTP type. */
	return len >= 2 && p[1] >= 192 && p[1] <= 223;
}

static void read_block(const uint8_t *p, struct rtcp_block *b)
{
	uint32_t lost = rd32(p + 4) & 0xffffff;

	b->ssrc = rd32(p);
	b->fraction_lost = p[4];
	b->cum_lost = (int32_t)lost - (lost & 0x800000 ? 0x1000000 : 0);
	b->highest_seq = rd32(p + 8);
	b->jitter = rd32(p + 12);
	b->lsr = rd32(p + 16);
	b->dlsr = rd32(p + 20);
}

/*
 * One SR or RR of body_len bytes (padding removed). Its report blocks must
 * fit (RFC 3550 6.4.1/6.4.2); the first SR or RR of a compound is kept.
 */
static int read_report(const uint8_t *p, size_t body_len, struct rtcp_info *out,
		       bool is_first)
{
	bool is_sr = p[1] == RTCP_SR;
	size_t off = RTCP_HDR_LEN + (is_sr ? RTCP_SENDER_INFO_LEN : 0);
	uint8_t count = p[0] & 0x1f;

	if (body_len < off + (size_t)count * RTCP_BLOCK_LEN)
		return -EBADMSG;
	if (is_sr && !out->has_sr) {
		out->has_sr = true;
		out->ntp_mid = rd32(p + 8) << 16 | rd32(p + 12) >> 16;
		out->sr_packets = rd32(p + 20);
		out->sr_octets = rd32(p + 24);
	}
	if (!is_first)
		return 0;
	out->ssrc = rd32(p + 4);
	out->nblocks = count;
	for (uint8_t i = 0; i < count; i++)
		read_block(p + off + (size_t)i * RTCP_BLOCK_LEN,
			   &out->blocks[i]);
	return 0;
}

int rtcp_parse(const uint8_t *p, size_t len, struct rtcp_info *out)
{
	bool has_report = false;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return -EBADMSG;
	while (off < len) {
		const uint8_t *q = p + off;
		size_t plen, body_len;

		if (len - off < 4 || q[0] >> 6 != RTP_VERSION)
			return -EBADMSG;
		plen = 4 * ((size_t)rd16(q + 2) + 1); /* RFC 3550 6.4.1 */
		if (plen > len - off)
			return -EBADMSG;
		body_len = plen;
		if (q[0] & 0x20) {
			/* RFC 3550 6.1: padding only on the last packet. */
			if (off + plen != len || q[plen - 1] == 0 ||
			    q[plen - 1] > plen - 4)
				return -EBADMSG;
			body_len -= q[plen - 1];
		}
		if (q[1] == RTCP_SR || q[1] == RTCP_RR) {
			if (read_report(q, body_len, out, !has_report))
				return -EBADMSG;
			has_report = true;
		} else if (q[1] == RTCP_BYE) {
			out->has_bye = true;
		}
		off += plen;
	}
	return 0;
}
