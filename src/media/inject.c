/* Digits we send into a relayed stream as RFC 4733 telephone-events. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>

#include "base/rand.h"
#include "media/media_int.h"

enum {
	STEP = 160,	/* timestamp units per tick (20 ms at 8 kHz) */
	END_COPIES = 3, /* RFC 4733 2.5.1.4: the end packet three times */
	VOLUME = 10	/* -dBm0 */
};

/* Where the digit goes: stream 0 toward side. */
static struct side *target(struct media_session *s, unsigned side)
{
	return s->streams[0] && side <= MEDIA_B ? &s->streams[0]->sides[side]
						: NULL;
}

int media_session_dtmf_send(struct media_session *s, unsigned side, char digit,
			    uint32_t duration_ms)
{
	struct side *d = target(s, side);
	int code = dtmf_event_code(digit);
	uint32_t total;

	if (code < 0)
		return -EINVAL;
	if (!d || d->r.dtmf_pt < 0)
		return -ENOTSUP;
	if (!d->has_remote && !d->has_latched_rtp)
		return -ENOTCONN;
	if (d->inj.is_on)
		return -EBUSY;
	if (!d->has_out) { /* nothing relayed yet: a stream of our own */
		d->out_ssrc = (uint32_t)sb_rand64();
		d->out_seq = (uint16_t)sb_rand64();
		d->out_ts = (uint32_t)sb_rand64();
		d->out_us = s->m->now_us;
		d->has_out = true;
	}
	total = duration_ms * 8;
	if (total < STEP)
		total = STEP;
	if (total > 0xffff)
		total = 0xffff;
	/* RFC 4733 2.3.1: the event's timestamp is where it starts */
	d->inj = (struct inject){
	    .is_on = true,
	    .event = (uint8_t)code,
	    .total = (uint16_t)total,
	    .ts = d->out_ts + (uint32_t)((s->m->now_us - d->out_us) * 8 / 1000),
	    .is_first = true,
	};
	if (!s->is_injecting) {
		s->is_injecting = true;
		s->inj_next = s->m->injecting;
		s->m->injecting = s;
	}
	media_tick_start(s->m);
	return 0;
}

/* One packet of d's digit; false when the digit is complete. */
static bool inject_one(struct media *m, struct side *d)
{
	struct inject *in = &d->inj;
	uint8_t pkt[16];
	bool is_end;

	if (!in->is_on)
		return false;
	if (in->duration < in->total)
		in->duration = (uint16_t)(in->duration + STEP > in->total
					      ? in->total
					      : in->duration + STEP);
	is_end = in->duration >= in->total;
	d->out_seq++;
	d->seq_delta++; /* relayed packets after ours are renumbered */
	dtmf_packet(pkt, sizeof(pkt), (uint8_t)d->r.dtmf_pt, d->out_seq, in->ts,
		    d->out_ssrc, in->is_first, in->event, is_end, VOLUME,
		    in->duration);
	in->is_first = false;
	relay_send(m, d, pkt, sizeof(pkt), false);
	if (is_end && ++in->ends >= END_COPIES) {
		in->is_on = false;
		return false;
	}
	return true;
}

bool inject_tick(struct media *m)
{
	struct media_session **pp = &m->injecting;

	while (*pp) {
		struct media_session *s = *pp;
		bool is_busy = false;

		for (unsigned k = 0; k < 2; k++) {
			struct side *d = target(s, k);

			if (d && inject_one(m, d))
				is_busy = true;
		}
		if (is_busy) {
			pp = &s->inj_next;
		} else {
			*pp = s->inj_next;
			s->is_injecting = false;
		}
	}
	return m->injecting != NULL;
}
