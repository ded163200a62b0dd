/* DTMF as RFC 4733 telephone-events: recognised in a stream, generated. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_MEDIA_DTMF_H
#define SB_MEDIA_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/rtp.h"

/*
 * An event packet's payload (RFC 4733 2.3): event (0-15 are DTMF
 * 0-9 * # A-D), E bit, volume, duration. A sender repeats the packets of
 * one event with the same RTP timestamp and a growing duration and sends
 * the end packet (E set) three times; the detector reports each event once:
 * when its first end packet arrives, or when a packet with a new
 * timestamp arrives while an event was still open (its end was lost).
 */
struct dtmf_event {
	char digit;	     /* '0'..'9', '*', '#', 'A'..'D'; 0 other event */
	uint8_t event;	     /* the RFC 4733 event code */
	uint16_t duration;   /* timestamp units (8000 Hz: 160 = 20 ms) */
	uint8_t volume;	     /* 0..63, -dBm0 */
	uint32_t ts;	     /* the event's RTP timestamp */
};

/* One direction's detector. Zero-initialised storage is valid. */
struct dtmf_detect {
	bool is_open;	    /* an event started and did not end yet */
	bool has_last;	    /* last_ts is an event already reported */
	uint32_t open_ts;   /* timestamp of the open event */
	uint32_t last_ts;   /* timestamp of the last reported event */
	struct dtmf_event open;
};

/*
 * A telephone-event packet h (the caller checked its payload type) into
 * d. Returns 1 and fills *out when an event is complete (reported once),
 * 0 when nothing is (a repeat, an update of an open event, a repeated
 * end), -EBADMSG when the payload is shorter than 4 bytes. When a packet
 * with a new timestamp starts while one is open, the open one is reported
 * (1) and the new one is opened.
 */
int dtmf_detect_rtp(struct dtmf_detect *d, const struct rtp_hdr *h,
		    struct dtmf_event *out);

/* The RFC 4733 event code of a digit ('0'..'9', '*', '#', A-D, a-d), or
 * -EINVAL. */
int dtmf_event_code(char digit);
/* The digit of an event code 0..15, or 0. */
char dtmf_digit(uint8_t event);

/*
 * Write one telephone-event packet (12-byte RTP header + 4-byte payload,
 * 16 bytes) into out (cap at least 16): pt, seq, ts (the event's start),
 * ssrc, marker on the first packet of an event, E bit when is_end.
 * Returns the length (16) or -ENOSPC.
 */
int dtmf_packet(uint8_t *out, size_t cap, uint8_t pt, uint16_t seq,
		uint32_t ts, uint32_t ssrc, bool is_marker, uint8_t event,
		bool is_end, uint8_t volume, uint16_t duration);

/*
 * A SIP INFO body for a digit: application/dtmf-relay ("Signal=5\r\n
 * Duration=160\r\n", duration in ms) or application/dtmf ("5").
 * dtmf_info_parse reads either kind (by content subtype "dtmf-relay" or
 * "dtmf", case-insensitive) into *digit and *duration_ms (100 when not
 * given; bounded 1..8000). Returns 0 or -EBADMSG.
 * dtmf_info_print writes the dtmf-relay kind, NUL-terminated, and returns
 * its length without the NUL, -EINVAL for a bad digit or -ENOSPC.
 */
int dtmf_info_print(char digit, uint32_t duration_ms, char *out, size_t cap);
int dtmf_info_parse(const char *subtype, size_t subtype_len, const char *body,
		    size_t len, char *digit, uint32_t *duration_ms);

#endif
