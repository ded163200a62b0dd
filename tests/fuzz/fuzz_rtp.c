/* libFuzzer target for the RTP/RTCP readers, stream stats and DTMF. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/dtmf.h"
#include "media/rtp.h"
#include "media/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An exact-size heap copy, so ASan sees any overread. */
static uint8_t *copy(const uint8_t *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	if (c)
		memcpy(c, p, len);
	return c;
}

static void check_rtp(const uint8_t *p, size_t len, struct rtp_hdr *h)
{
	if (rtp_parse(p, len, h))
		return;
	if (h->payload < p + RTP_HDR_LEN || h->payload > p + len ||
	    h->payload_len > (size_t)(p + len - h->payload) || h->pt > 127)
		abort();
}

static void check_rtcp(const uint8_t *p, size_t len)
{
	struct rtcp_info info;

	if (rtcp_parse(p, len, &info))
		return;
	if (info.nblocks > RTCP_BLOCKS_MAX ||
	    len < (size_t)RTCP_HDR_LEN * (info.nblocks > 0) +
		      (size_t)info.nblocks * 24 ||
	    len % 4)
		abort();
	for (uint8_t i = 0; i < info.nblocks; i++)
		if (info.blocks[i].cum_lost < -(1 << 23) ||
		    info.blocks[i].cum_lost >= 1 << 23)
			abort();
}

static void check_summary(const struct media_stats *s)
{
	struct media_summary m;

	media_stats_summary(s, &m);
	if (m.lost > m.expected || isnan(m.loss_pct) || m.loss_pct < 0 ||
	    m.loss_pct > 100 || !(m.jitter_ms >= 0) ||
	    !(m.jitter_max_ms >= 0) || m.packets != s->packets)
		abort();
	if (m.packets ? !(m.mos >= 1 && m.mos <= 4.5) : m.mos != 0)
		abort();
}

static void check_dtmf(struct dtmf_detect *d, const struct rtp_hdr *h)
{
	struct dtmf_event ev;
	int ret = dtmf_detect_rtp(d, h, &ev);

	if (ret < 0 && h->payload_len >= 4)
		abort();
	if (ret == 1 && ev.digit != dtmf_digit(ev.event))
		abort();
}

/* The packet a digit makes parses back to the same event. */
static void check_packet(uint8_t event, uint16_t duration)
{
	uint8_t pkt[16];
	struct rtp_hdr h;
	struct dtmf_detect d = {0};
	struct dtmf_event ev;

	if (dtmf_packet(pkt, sizeof(pkt), 101, 1, 2, 3, true, event, true, 10,
			duration) != 16 ||
	    rtp_parse(pkt, sizeof(pkt), &h) || h.payload_len != 4 ||
	    dtmf_detect_rtp(&d, &h, &ev) != 1 || ev.event != event ||
	    ev.duration != duration)
		abort();
}

static void check_info(const uint8_t *p, size_t len)
{
	static const char *const subtypes[] = {"dtmf-relay", "dtmf"};
	const char *st = subtypes[len ? p[0] & 1 : 0];
	char digit, out[64];
	uint32_t ms;

	if (dtmf_info_parse(st, strlen(st), (const char *)p, len, &digit, &ms))
		return;
	if (dtmf_event_code(digit) < 0 || ms < 1 || ms > 8000)
		abort();
	if (dtmf_info_print(digit, ms, out, sizeof(out)) <= 0)
		abort();
}

/*
 * The input as one packet for every reader, then as a stream: each packet
 * is a length byte and that many bytes, arriving 20 ms apart plus the
 * byte's low bits of jitter.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct media_stats s = {0};
	struct dtmf_detect d = {0};
	struct rtp_hdr h;
	uint8_t *whole = copy(data, size);
	uint64_t now_us = 0;

	if (!whole)
		return 0;
	check_rtp(whole, size, &h);
	(void)rtp_is_rtcp(whole, size);
	check_rtcp(whole, size);
	check_info(whole, size);
	if (size >= 3)
		check_packet(data[0], (uint16_t)(data[1] << 8 | data[2]));
	free(whole);

	for (size_t off = 0; off < size;) {
		size_t n = data[off++];
		uint8_t *p;

		if (n > size - off)
			n = size - off;
		p = copy(data + off, n);
		if (!p)
			break;
		now_us += 20000 + (n & 7) * 1000;
		if (rtp_is_rtcp(p, n)) {
			check_rtcp(p, n);
			media_stats_rtcp(&s);
		} else if (rtp_parse(p, n, &h) == 0) {
			media_stats_rtp(&s, &h, (uint32_t)n, now_us,
					h.pt == 9 ? 16000 : 0);
			check_dtmf(&d, &h);
		} else {
			s.dropped++;
		}
		check_summary(&s);
		free(p);
		off += n;
	}
	return 0;
}
