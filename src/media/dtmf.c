/* RFC 4733 telephone-events: detection, packets, SIP INFO bodies. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "media/dtmf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/slice.h"

enum {
	DTMF_PAYLOAD_LEN = 4,
	DTMF_PACKET_LEN = RTP_HDR_LEN + DTMF_PAYLOAD_LEN,
	DTMF_INFO_DURATION_MS = 100, /* when an INFO body gives none */
	DTMF_INFO_DURATION_MAX_MS = 8000
};

static const char digits[] = "0123456789*#ABCD";

int dtmf_event_code(char digit)
{
	if (digit >= '0' && digit <= '9')
		return digit - '0';
	if (digit >= 'a' && digit <= 'd')
		return 12 + digit - 'a';
	if (digit >= 'A' && digit <= 'D')
		return 12 + digit - 'A';
	if (digit == '*')
		return 10;
	if (digit == '#')
		return 11;
	return -EINVAL;
}

char dtmf_digit(uint8_t event)
{
	return event < 16 ? digits[event] : 0;
}

/* Report the open event as the last one. */
static void close_open(struct dtmf_detect *d, struct dtmf_event *out)
{
	*out = d->open;
	d->is_open = false;
	d->has_last = true;
	d->last_ts = d->open_ts;
}

int dtmf_detect_rtp(struct dtmf_detect *d, const struct rtp_hdr *h,
		    struct dtmf_event *out)
{
	const uint8_t *p = h->payload;
	struct dtmf_event ev;
	bool is_end;
	int ret = 0;

	if (h->payload_len < DTMF_PAYLOAD_LEN)
		return -EBADMSG;
	/* RFC 4733 2.3: event, E R volume, duration. */
	ev.event = p[0];
	ev.digit = dtmf_digit(p[0]);
	is_end = p[1] >> 7;
	ev.volume = p[1] & 0x3f;
	ev.duration = (uint16_t)(p[2] << 8 | p[3]);
	ev.ts = h->ts;
	if (d->is_open && h->ts == d->open_ts) {
		/* RFC 4733 2.5.1: an update carries the duration so far. */
		if (ev.duration > d->open.duration)
			d->open.duration = ev.duration;
		d->open.volume = ev.volume;
		if (!is_end)
			return 0;
		close_open(d, out);
		return 1;
	}
	/* RFC 4733 2.5.1: the end packet is sent three times. */
	if (d->has_last && h->ts == d->last_ts)
		return 0;
	if (d->is_open) {
		close_open(d, out); /* its end packets were lost */
		ret = 1;
	}
	d->open = ev;
	d->open_ts = h->ts;
	d->is_open = true;
	if (is_end && !ret) {
		close_open(d, out); /* only its end arrived */
		ret = 1;
	}
	return ret;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

int dtmf_packet(uint8_t *out, size_t cap, uint8_t pt, uint16_t seq, uint32_t ts,
		uint32_t ssrc, bool is_marker, uint8_t event, bool is_end,
		uint8_t volume, uint16_t duration)
{
	if (cap < DTMF_PACKET_LEN)
		return -ENOSPC;
	out[0] = 0x80; /* version 2, no padding, extension or CSRC */
	out[1] = (uint8_t)((is_marker ? 0x80 : 0) | (pt & 0x7f));
	wr16(out + 2, seq);
	wr32(out + 4, ts);
	wr32(out + 8, ssrc);
	out[12] = event;
	out[13] = (uint8_t)((is_end ? 0x80 : 0) | (volume & 0x3f));
	wr16(out + 14, duration);
	return DTMF_PACKET_LEN;
}

int dtmf_info_print(char digit, uint32_t duration_ms, char *out, size_t cap)
{
	int code = dtmf_event_code(digit);
	int n;

	if (code < 0)
		return code;
	n = snprintf(out, cap, "Signal=%c\r\nDuration=%u\r\n", digits[code],
		     duration_ms);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

/* One digit, alone in the slice. */
static int parse_digit(struct slice s, char *digit)
{
	int code;

	s = slice_trim(s);
	code = s.len == 1 ? dtmf_event_code(s.p[0]) : -EINVAL;
	if (code < 0)
		return -EBADMSG;
	*digit = digits[code];
	return 0;
}

static int parse_duration(struct slice s, uint32_t *duration_ms)
{
	uint32_t v;
	int err = slice_to_u32(slice_trim(s), &v);

	if (err == -ERANGE)
		v = DTMF_INFO_DURATION_MAX_MS;
	else if (err)
		return -EBADMSG;
	*duration_ms = v < 1 ? 1
		       : v > DTMF_INFO_DURATION_MAX_MS
			   ? DTMF_INFO_DURATION_MAX_MS
			   : v;
	return 0;
}

/*
 * application/dtmf-relay: "key=value" lines (CRLF or LF), keys
 * case-insensitive; Signal is required, Duration optional, others ignored.
 */
static int parse_relay(struct slice body, char *digit, uint32_t *duration_ms)
{
	bool has_signal = false;

	while (body.len) {
		const char *nl = memchr(body.p, '\n', body.len);
		size_t n = nl ? (size_t)(nl - body.p) : body.len;
		struct slice line = slice_make(body.p, n);
		const char *eq = memchr(line.p, '=', line.len);
		struct slice key, val;

		body.p += nl ? n + 1 : n;
		body.len -= nl ? n + 1 : n;
		if (!eq) {
			if (slice_trim(line).len)
				return -EBADMSG;
			continue;
		}
		key = slice_trim(slice_make(line.p, (size_t)(eq - line.p)));
		val = slice_make(eq + 1, line.len - (size_t)(eq - line.p) - 1);
		if (slice_caseeq_lit(key, "signal")) {
			if (parse_digit(val, digit))
				return -EBADMSG;
			has_signal = true;
		} else if (slice_caseeq_lit(key, "duration")) {
			if (parse_duration(val, duration_ms))
				return -EBADMSG;
		}
	}
	return has_signal ? 0 : -EBADMSG;
}

int dtmf_info_parse(const char *subtype, size_t subtype_len, const char *body,
		    size_t len, char *digit, uint32_t *duration_ms)
{
	struct slice st = slice_make(subtype, subtype_len);
	struct slice b = slice_make(body, len);
	char dg;
	uint32_t ms = DTMF_INFO_DURATION_MS;
	int err;

	if (slice_caseeq_lit(st, "dtmf-relay"))
		err = parse_relay(b, &dg, &ms);
	else if (slice_caseeq_lit(st, "dtmf"))
		err = parse_digit(b, &dg);
	else
		err = -EBADMSG;
	if (err)
		return err;
	*digit = dg;
	*duration_ms = ms;
	return 0;
}
