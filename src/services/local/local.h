/* The local service: requests addressed to switchboard itself (OPTIONS). */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_LOCAL_LOCAL_H
#define SB_SERVICES_LOCAL_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "base/wheel.h"
#include "sip/msg/msg.h"
#include "sip/txn/txn.h"

struct config;

/*
 * What a stateless answer needs; the caller owns everything and keeps it
 * alive for the call.
 */
struct local_ctx {
	struct slice server;	  /* Server header value */
	const struct config *cfg; /* snapshot the request is handled under */
	struct slice via_params;  /* ";received=...;rport=..." for the Via */
};

/*
 * Answer a parsed request statelessly (RFC 3261 8.2): OPTIONS gets 200
 * with Allow, Supported and Accept; ACK gets nothing; CANCEL and BYE get
 * 481; a Require naming an extension we lack gets 420 with Unsupported;
 * known methods with no service yet get 405 with Allow; unknown methods
 * get 501 with Allow. The response is appended to out. Returns its status
 * code, 0 when no response is due (out untouched), or a negative errno from
 * the builder (-ENOMEM, -E2BIG). Any thread; req is read (lazy values may
 * be cached).
 */
int local_handle(const struct local_ctx *ctx, struct sip_msg *req,
		 struct buf *out);

/*
 * Answer a request that failed to parse with the parser's status and
 * reason (perr from sip_msg_parse). req must have its headers located
 * (req->hdrs != NULL). Returns the status, or a negative errno.
 */
int local_reject(const struct local_ctx *ctx, const struct sip_msg *req,
		 const struct sip_perr *perr, struct buf *out);

/*
 * The same answers as the transaction user of one worker's layer: each
 * request gets its final response through txn_reply(), so retransmissions
 * are absorbed by the transaction. An INVITE is answered after the
 * snapshot's local.invite_delay_ms (0: at once; the layer has sent 100
 * Trying), and a CANCEL meanwhile ends it with 487. While draining, new
 * requests get 503 with Retry-After. Everything runs on the worker.
 */
struct local;

/* Counters of one worker's local service (worker thread only). */
struct local_stats {
	uint64_t answered;  /* final responses sent */
	uint64_t cancelled; /* INVITEs ended by CANCEL with 487 */
	uint64_t refused;   /* 503 while draining */
	uint64_t stray;	    /* messages no transaction took: dropped */
};

/*
 * wheel is the worker's (it must outlive the service). cfg is the snapshot
 * for new requests, borrowed: the caller keeps every snapshot it gave
 * alive until local_free(). Returns 0 or -ENOMEM.
 */
int local_new(struct wheel *wheel, const struct config *cfg,
	      struct local **out);
/* Stops the delayed answers (their transactions are the layer's). NULL. */
struct local *local_free(struct local *l);
void local_set_config(struct local *l, const struct config *cfg);
void local_set_draining(struct local *l, bool is_draining);
bool local_is_draining(const struct local *l);
/* The callbacks for txn_layer_opts.user, bound to l. */
struct txn_user local_txn_user(struct local *l);
/* Transactions still waiting for our final response. */
uint32_t local_pending(const struct local *l);
const struct local_stats *local_stats(const struct local *l);

#endif
