/* Handing received messages to their Call-ID's owner: queue or inline. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/transport/handoff.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sip/msg/build.h"
#include "sip/transport/udp.h"

enum {
	HANDOFF_TAG_CHARS = 16,	    /* hex chars of a stateless To tag */
	HANDOFF_VIA_PARAMS_MAX = 96 /* bytes of ";received=...;rport=..." */
};

void tp_handoff_begin(struct tp_handoff *h, struct worker *const *workers,
		      unsigned nworkers, struct worker *self)
{
	memset(h->to_wake, 0, sizeof(h->to_wake));
	h->workers = workers;
	h->nworkers = nworkers;
	h->self = self;
	h->mine = NULL;
	h->tail = &h->mine;
}

enum tp_handoff_result tp_handoff_keep(struct tp_handoff *h,
				       struct sip_inmsg *im)
{
	im->next = NULL;
	*h->tail = im;
	h->tail = &im->next;
	return TP_HANDOFF_MINE;
}

enum tp_handoff_result tp_handoff_add(struct tp_handoff *h,
				      struct sip_inmsg *im)
{
	unsigned i = im->hash % h->nworkers;
	struct worker *owner = h->workers[i];

	if (owner == h->self)
		return tp_handoff_keep(h, im);
	if (worker_deliver(owner, im) != 0)
		return TP_HANDOFF_FULL;
	h->to_wake[i / 64] |= UINT64_C(1) << (i % 64);
	return TP_HANDOFF_QUEUED;
}

void tp_handoff_end(struct tp_handoff *h)
{
	struct sip_inmsg *im = h->mine;

	for (unsigned i = 0; i < h->nworkers; i++)
		if (h->to_wake[i / 64] & (UINT64_C(1) << (i % 64)))
			worker_wake(h->workers[i]);
	memset(h->to_wake, 0, sizeof(h->to_wake));
	h->mine = NULL;
	h->tail = &h->mine;
	while (im) {
		struct sip_inmsg *next = im->next;
		worker_process(h->self, im);
		im = next;
	}
}

/* A To tag that is the same for every copy of one request: a stateless
 * answer to a retransmission carries the same tag (RFC 3261 8.2.6.2). */
static struct slice stateless_tag(const struct sip_msg *m, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = slice_hash(m->call_id);

	if (m->via)
		h = h << 32 | slice_hash(m->via->branch);
	for (int i = 0; i < HANDOFF_TAG_CHARS; i++, h >>= 4)
		out[i] = hex[h & 15];
	return slice_make(out, HANDOFF_TAG_CHARS);
}

int tp_handoff_reject(struct sip_inmsg *im, const struct sb_limits *lim,
		      struct slice server, struct buf *out)
{
	char via[HANDOFF_VIA_PARAMS_MAX], tag[HANDOFF_TAG_CHARS];
	char retry[32];
	enum sip_framing framing = im->flow.tp == SIP_TP_UDP
				       ? SIP_FRAMING_DATAGRAM
				       : SIP_FRAMING_STREAM;
	struct sip_reply_opts o;
	struct sip_perr perr;
	int n;

	if (sip_msg_parse(&im->msg, &im->arena, im->data, im->len, framing, lim,
			  &perr) != 0 ||
	    !im->msg.is_request || im->msg.method == SIP_METHOD_ACK)
		return -ENOENT;
	n = snprintf(retry, sizeof(retry), "Retry-After: %d\r\n",
		     TP_HANDOFF_RETRY_AFTER_S);
	memset(&o, 0, sizeof(o));
	o.status = 503;
	o.extra = slice_make(retry, (size_t)n);
	o.server = server;
	o.to_tag = stateless_tag(&im->msg, tag);
	o.via_params = tp_via_params(&im->msg, &im->flow, via, sizeof(via));
	buf_reset(out);
	return sip_reply_build(out, &im->msg, &o);
}
