/* Handing received messages to the worker that owns their Call-ID. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_TRANSPORT_HANDOFF_H
#define SB_SIP_TRANSPORT_HANDOFF_H

/*
 * Every transport receives on some worker's loop and hands each message to
 * hash(Call-ID) % n (ARCHITECTURE.md, "a call lives on one worker"): other
 * owners get it on their queue and are woken once per batch, the receiving
 * worker's own messages are handled inline, in arrival order, after the
 * others are woken. UDP readers hand over a recvmmsg batch at a time,
 * stream connections one framed message at a time.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/slice.h"
#include "runtime/worker.h"
#include "sip/transport/transport.h"

enum {
	TP_HANDOFF_WORKERS_MAX = 256, /* owners one batch can wake */
	TP_HANDOFF_RETRY_AFTER_S = 5  /* Retry-After of the overflow 503 */
};

/* One batch on the receiving worker's thread (stack storage). */
struct tp_handoff {
	struct worker *const *workers; /* Call-ID owners */
	unsigned nworkers;	       /* 1..TP_HANDOFF_WORKERS_MAX */
	struct worker *self;	       /* the receiving worker */
	uint64_t to_wake[TP_HANDOFF_WORKERS_MAX / 64]; /* owners given one */
	struct sip_inmsg *mine, **tail; /* self's, in arrival order */
};

enum tp_handoff_result {
	TP_HANDOFF_MINE,   /* kept for tp_handoff_end() to handle here */
	TP_HANDOFF_QUEUED, /* on another owner's queue; ownership moved */
	TP_HANDOFF_FULL	   /* the owner's queue is full: the caller keeps im
			      (answer it with tp_handoff_reject) */
};

/* Start a batch on self's thread. workers outlive the batch. */
void tp_handoff_begin(struct tp_handoff *h, struct worker *const *workers,
		      unsigned nworkers, struct worker *self);

/* Route im by im->hash (tp_udp_callid_hash of its bytes). */
enum tp_handoff_result tp_handoff_add(struct tp_handoff *h,
				      struct sip_inmsg *im);

/*
 * Keep im on the receiving worker whatever its Call-ID: for requests that
 * are answered without any state (a stateless OPTIONS), where a hand-off
 * would only cost a wake-up. Always TP_HANDOFF_MINE.
 */
enum tp_handoff_result tp_handoff_keep(struct tp_handoff *h,
				       struct sip_inmsg *im);

/*
 * End the batch: wake each owner that was given a message, then handle the
 * receiving worker's own messages (worker_process) in arrival order.
 */
void tp_handoff_end(struct tp_handoff *h);

/*
 * The answer to a request refused by a full queue: 503 with Retry-After
 * (RFC 3261 21.5.4) and a To tag that is the same for every retransmission
 * (8.2.6.2), built into out (reset first). im is parsed here with lim (it
 * is not any worker's yet); the framing follows its flow. Returns 0, or
 * -ENOENT when nothing is due (a response, an ACK, unparsable bytes), or
 * the build's error.
 */
int tp_handoff_reject(struct sip_inmsg *im, const struct sb_limits *lim,
		      struct slice server, struct buf *out);

#endif
