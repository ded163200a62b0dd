/* Per-stream receive statistics: loss, jitter, a MOS estimate. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_MEDIA_STATS_H
#define SB_MEDIA_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "media/rtp.h"

/*
 * What the relay saw arriving from one side of one stream, kept as RFC
 * 3550 A.1/A.3/A.8 describe for a receiver: the extended highest sequence
 * number (with wrap-around and the probation and big-jump rules of A.1),
 * expected and lost packets, interarrival jitter in timestamp units. A
 * new SSRC restarts the sequence state (counters and jitter go on).
 * Zero-initialised storage is a valid empty state.
 */
struct media_stats {
	uint64_t packets, bytes;     /* every RTP packet received (payload
					bytes: the UDP payload) */
	uint64_t rtcp_packets;	     /* RTCP packets received */
	uint64_t dropped;	     /* from another source after latching, or
					not RTP; not in packets */
	uint32_t ssrc;		     /* the current source */
	bool has_seq;		     /* a packet set the sequence state */
	uint16_t max_seq;	     /* highest sequence number seen */
	uint32_t cycles;	     /* wraps, << 16 */
	uint32_t base_seq, bad_seq, probation;
	uint64_t received;	     /* packets counted for loss (A.3) */
	uint64_t expected_prior, received_prior; /* of earlier runs: sources
						    before a new SSRC or a
						    restart (A.1 re-sync) */
	int64_t lost;		     /* expected - received over all runs;
					duplicates can make it negative: clamp
					to 0 when read */
	uint32_t clock_hz;	     /* of the payload (8000 for G.711) */
	int64_t last_transit;	     /* A.8, timestamp units */
	bool has_transit;
	double jitter;		     /* A.8, timestamp units */
	double jitter_max_ms;
	uint64_t first_ms, last_ms; /* arrival times (monotonic ms) */
	/* from the far end's RTCP reports about this stream */
	uint32_t rtcp_jitter;	     /* last reported, timestamp units */
	int32_t rtcp_lost;	     /* cumulative reported lost */
	uint32_t rtt_ms;	     /* round trip of the whole path (both
					ends' media_rtt), 0 none */
};

/*
 * One RTP packet h arrived at now_us (monotonic microseconds) with
 * wire_len bytes of UDP payload; clock_hz of its payload type (0: keep the
 * last, 8000 when none was ever given).
 */
void media_stats_rtp(struct media_stats *s, const struct rtp_hdr *h,
		     uint32_t wire_len, uint64_t now_us, uint32_t clock_hz);

/* An RTCP packet arrived (counted; its report blocks about this side's
 * outgoing stream are given to the other direction's stats by the caller
 * with media_stats_report). */
void media_stats_rtcp(struct media_stats *s);
void media_stats_report(struct media_stats *s, const struct rtcp_block *b);

/*
 * The round trip between the relay and one endpoint, from RTCP that
 * crosses the relay (RFC 3550 6.4.1): each SR going to the endpoint is
 * remembered with our time of passing it on; the endpoint's report block
 * that names it (LSR) says how long it held it (DLSR), so the round trip
 * is now - passed - DLSR on our clock alone. Zero storage is empty.
 */
enum { MEDIA_RTT_SRS = 4 };
struct media_rtt {
	uint32_t ntp_mid[MEDIA_RTT_SRS]; /* SRs passed to the endpoint */
	uint64_t sent_us[MEDIA_RTT_SRS];
	uint8_t next;
	uint32_t rtt_ms; /* the last one measured; 0: none */
};
/* An SR with NTP time ntp_mid leaves toward the endpoint at now_us. */
void media_rtt_sr(struct media_rtt *r, uint32_t ntp_mid, uint64_t now_us);
/* A report block from the endpoint at now_us: true when it named an SR
 * we passed on, with r->rtt_ms updated (at least 1 ms when measured). */
bool media_rtt_block(struct media_rtt *r, const struct rtcp_block *b,
		     uint64_t now_us);

/* A summary for logs, CDRs and the API. */
struct media_summary {
	uint64_t packets, bytes, dropped;
	uint64_t expected;   /* from the sequence numbers */
	uint64_t lost;	     /* max(0, expected - received) */
	double loss_pct;     /* lost / expected * 100, 0 when none expected */
	double jitter_ms;    /* current A.8 jitter in ms */
	double jitter_max_ms;
	uint32_t rtt_ms;     /* round trip of the whole path from RTCP, 0:
				unknown */
	double mos;	     /* E-model estimate (ITU-T G.107, simplified for
				G.711: Ie 0, Bpl 4.3 random loss, delay from
				rtt/2 + jitter buffer 2 * jitter, R clamped
				0..100, MOS 1.0 .. 4.5); 0 when no packets */
};
void media_stats_summary(const struct media_stats *s,
			 struct media_summary *out);

#endif
