/* The local service: requests addressed to switchboard itself (OPTIONS). */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_LOCAL_LOCAL_H
#define SB_SERVICES_LOCAL_LOCAL_H

#include "base/buf.h"
#include "base/slice.h"
#include "sip/msg/msg.h"

struct config;

/* What the service needs; the caller owns both and keeps them alive. */
struct local_ctx {
	struct slice server;	  /* Server header value */
	const struct config *cfg; /* snapshot the request is handled under */
};

/*
 * Answer a parsed request (RFC 3261 8.2): OPTIONS gets 200 with Allow,
 * Supported and Accept; ACK gets nothing; CANCEL and BYE get 481; a Require
 * naming an extension we lack gets 420 with Unsupported; known methods with
 * no service yet get 405 with Allow; unknown methods get 501 with Allow.
 * The response is appended to out. Returns its status code, 0 when no
 * response is due (out untouched), or a negative errno from the builder
 * (-ENOMEM, -E2BIG). Any thread; req is read (lazy values may be cached).
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

#endif
