/* RTP and RTCP headers (RFC 3550), read from relayed packets. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_MEDIA_RTP_H
#define SB_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The relay forwards packets as they are; it reads their headers for
 * statistics and DTMF. Packets are outside input: every reader checks
 * lengths and never reads past len. Nothing is allocated.
 */

enum {
	RTP_HDR_LEN = 12,    /* fixed header (RFC 3550 5.1) */
	RTCP_HDR_LEN = 8,    /* common header + SSRC */
	RTCP_BLOCKS_MAX = 31 /* report blocks in one SR/RR (5 bits) */
};

/* The fields of an RTP packet the relay uses. */
struct rtp_hdr {
	uint8_t pt; /* payload type, 0..127 */
	bool is_marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *payload; /* into the packet, after CSRCs, extension */
	size_t payload_len;	/* without padding */
};

/*
 * Parse an RTP packet (RFC 3550 5.1): version 2, CSRC list, header
 * extension (5.3.1) and padding (the last byte counts the padding, which
 * must fit) all within len. Returns 0 or -EBADMSG.
 */
int rtp_parse(const uint8_t *p, size_t len, struct rtp_hdr *out);

/*
 * Whether a packet received on an rtcp-mux port is RTCP (RFC 5761 4: the
 * second byte, marker bit included, is 192..223, i.e. payload types
 * 64..95). False for anything shorter than 2 bytes.
 */
bool rtp_is_rtcp(const uint8_t *p, size_t len);

/* One report block of an SR or RR (RFC 3550 6.4.1). */
struct rtcp_block {
	uint32_t ssrc;	      /* the source reported on */
	uint8_t fraction_lost; /* fixed point /256 */
	int32_t cum_lost;      /* 24 bits, sign extended */
	uint32_t highest_seq;
	uint32_t jitter; /* timestamp units */
	uint32_t lsr, dlsr;
};

/* What the relay takes from an RTCP compound packet. */
struct rtcp_info {
	bool has_sr;	/* a sender report came */
	uint32_t ssrc;	/* of the first SR or RR */
	uint32_t sr_packets, sr_octets; /* the SR's sender counts */
	uint32_t ntp_mid;		/* middle 32 bits of its NTP time */
	struct rtcp_block blocks[RTCP_BLOCKS_MAX];
	uint8_t nblocks; /* report blocks of the first SR or RR */
	bool has_bye;
};

/*
 * Walk a compound RTCP packet (RFC 3550 6.1): every packet version 2, its
 * length (in 32-bit words minus one) within len, padding only on the last.
 * SR (200) and RR (201) report blocks of the first of them are kept; SDES,
 * APP, feedback (RFC 4585) and unknown types are skipped by length; BYE is
 * noted. Returns 0 or -EBADMSG (out is then unspecified). Non-compound
 * (reduced-size, RFC 5506) packets are accepted.
 */
int rtcp_parse(const uint8_t *p, size_t len, struct rtcp_info *out);

#endif
