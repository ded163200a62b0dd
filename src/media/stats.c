/* Per-stream receive statistics (RFC 3550 A.1, A.3, A.8) and a MOS. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "media/stats.h"

enum {
	SEQ_MOD = 1 << 16,
	MAX_DROPOUT = 3000, /* RFC 3550 A.1 */
	MAX_MISORDER = 100,
	MIN_SEQUENTIAL = 2,
	DEFAULT_CLOCK_HZ = 8000,
	PACKET_MS = 20 /* packetisation delay assumed for the MOS */
};

/* Packets the current source should have sent (RFC 3550 A.3). */
static uint64_t expected_now(const struct media_stats *s)
{
	if (!s->has_seq || s->probation)
		return 0;
	return (uint64_t)s->cycles + s->max_seq - s->base_seq + 1;
}

static int64_t lost_total(const struct media_stats *s)
{
	return (int64_t)(s->expected_prior + expected_now(s)) -
	       (int64_t)(s->received_prior + s->received);
}

/* RFC 3550 A.1 init_seq(). */
static void seq_init(struct media_stats *s, uint16_t seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = SEQ_MOD + 1; /* so seq == bad_seq is false */
	s->cycles = 0;
	s->received = 0;
}

/* A restart keeps what the ended run expected and received. */
static void seq_restart(struct media_stats *s, uint16_t seq)
{
	s->expected_prior += expected_now(s);
	s->received_prior += s->received;
	seq_init(s, seq);
	s->has_transit = false; /* its timestamps start elsewhere */
}

static void source_new(struct media_stats *s, uint32_t ssrc, uint16_t seq)
{
	seq_restart(s, seq);
	s->ssrc = ssrc;
	s->max_seq = (uint16_t)(seq - 1);
	s->probation = MIN_SEQUENTIAL; /* RFC 3550 A.1: probation */
	s->has_seq = true;
}

/* RFC 3550 A.1 update_seq(): whether the packet counts. */
static bool seq_update(struct media_stats *s, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - s->max_seq);

	if (s->probation) {
		if (seq == (uint16_t)(s->max_seq + 1)) {
			s->max_seq = seq;
			if (--s->probation == 0) {
				seq_init(s, seq);
				s->received++;
				return true;
			}
		} else {
			s->probation = MIN_SEQUENTIAL - 1;
			s->max_seq = seq;
		}
		return false;
	}
	if (udelta < MAX_DROPOUT) {
		if (seq < s->max_seq)
			s->cycles += SEQ_MOD; /* wrapped */
		s->max_seq = seq;
	} else if (udelta <= SEQ_MOD - MAX_MISORDER) {
		/* A big jump: two in a row mean the sender restarted. */
		if (seq != s->bad_seq) {
			s->bad_seq = (uint16_t)(seq + 1);
			return false;
		}
		seq_restart(s, seq);
	}
	s->received++; /* in order, a duplicate or reordered */
	return true;
}

/* Arrival time in timestamp units, modulo 2^32 (RFC 3550 A.8). */
static uint32_t arrival_ts(uint64_t now_us, uint32_t clock_hz)
{
	uint64_t sec = now_us / 1000000, rem = now_us % 1000000;

	return (uint32_t)(sec * clock_hz + rem * clock_hz / 1000000);
}

/* RFC 3550 A.8: J += (|D| - J) / 16. */
static void jitter_update(struct media_stats *s, uint32_t ts, uint64_t now_us)
{
	uint32_t transit = arrival_ts(now_us, s->clock_hz) - ts;
	int64_t d = (int32_t)(transit - (uint32_t)s->last_transit);

	s->last_transit = transit;
	if (!s->has_transit) {
		s->has_transit = true;
		return;
	}
	if (d < 0)
		d = -d;
	s->jitter += ((double)d - s->jitter) * (1.0 / 16);
	if (s->jitter * 1000 > s->jitter_max_ms * s->clock_hz)
		s->jitter_max_ms = s->jitter * 1000 / s->clock_hz;
}

void media_stats_rtp(struct media_stats *s, const struct rtp_hdr *h,
		     uint32_t wire_len, uint64_t now_us, uint32_t clock_hz)
{
	uint64_t now_ms = now_us / 1000;

	if (s->packets++ == 0)
		s->first_ms = now_ms;
	s->last_ms = now_ms;
	s->bytes += wire_len;
	if (clock_hz)
		s->clock_hz = clock_hz;
	else if (!s->clock_hz)
		s->clock_hz = DEFAULT_CLOCK_HZ;
	if (!s->has_seq || h->ssrc != s->ssrc)
		source_new(s, h->ssrc, h->seq);
	if (seq_update(s, h->seq))
		jitter_update(s, h->ts, now_us);
	s->lost = lost_total(s);
}

void media_stats_rtcp(struct media_stats *s)
{
	s->rtcp_packets++;
}

/* The far end's view of the stream (its round trip: media_rtt). */
void media_stats_report(struct media_stats *s, const struct rtcp_block *b)
{
	s->rtcp_jitter = b->jitter;
	s->rtcp_lost = b->cum_lost;
}

void media_rtt_sr(struct media_rtt *r, uint32_t ntp_mid, uint64_t now_us)
{
	r->ntp_mid[r->next] = ntp_mid;
	r->sent_us[r->next] = now_us;
	r->next = (uint8_t)((r->next + 1) % MEDIA_RTT_SRS);
}

bool media_rtt_block(struct media_rtt *r, const struct rtcp_block *b,
		     uint64_t now_us)
{
	/* RFC 3550 6.4.1: DLSR in units of 1/65536 s */
	uint64_t held_us = ((uint64_t)b->dlsr * 1000000u) >> 16;

	if (b->lsr == 0)
		return false; /* no SR received yet */
	for (unsigned i = 0; i < MEDIA_RTT_SRS; i++) {
		uint64_t rtt_us;

		if (r->ntp_mid[i] != b->lsr || !r->sent_us[i] ||
		    now_us < r->sent_us[i] + held_us)
			continue;
		rtt_us = now_us - r->sent_us[i] - held_us;
		if (rtt_us > 60000000u)
			return false; /* a stale match: not a round trip */
		r->rtt_ms = rtt_us < 1000 ? 1 : (uint32_t)(rtt_us / 1000);
		return true;
	}
	return false;
}

/*
 * ITU-T G.107 E-model, simplified for G.711 (Ie 0, Bpl 4.3) with random
 * loss ppl (percent) and one-way delay d_ms.
 */
static double mos_estimate(double ppl, double d_ms)
{
	double id = 0.024 * d_ms;
	double ie_eff = 95 * ppl / (ppl + 4.3);
	double r;

	if (d_ms > 177.3)
		id += 0.11 * (d_ms - 177.3);
	r = 93.2 - id - ie_eff;
	if (r < 0)
		r = 0;
	if (r > 100)
		r = 100;
	r = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
	return r < 1 ? 1 : r > 4.5 ? 4.5 : r;
}

void media_stats_summary(const struct media_stats *s, struct media_summary *out)
{
	int64_t lost = lost_total(s);
	uint32_t clock_hz = s->clock_hz ? s->clock_hz : DEFAULT_CLOCK_HZ;

	out->packets = s->packets;
	out->bytes = s->bytes;
	out->dropped = s->dropped;
	out->expected = s->expected_prior + expected_now(s);
	out->lost = lost > 0 ? (uint64_t)lost : 0;
	out->loss_pct = out->expected ? 100.0 * out->lost / out->expected : 0;
	out->jitter_ms = s->jitter * 1000 / clock_hz;
	out->jitter_max_ms = s->jitter_max_ms;
	out->rtt_ms = s->rtt_ms;
	out->mos =
	    s->packets
		? mos_estimate(out->loss_pct,
			       s->rtt_ms / 2.0 + 2 * out->jitter_ms + PACKET_MS)
		: 0;
}
