/* SIP transactions (RFC 3261 section 17, RFC 6026): one layer per worker. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_TXN_TXN_H
#define SB_SIP_TXN_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/wheel.h"
#include "sip/msg/build.h"
#include "sip/msg/msg.h"
#include "sip/transport/transport.h"

/* RFC 3261 17.1.1.1 timer values; the rest derive from them. */
struct txn_timers {
	uint32_t t1_ms;	     /* RTT estimate, default 500 */
	uint32_t t2_ms;	     /* max retransmit interval, default 4000 */
	uint32_t t4_ms;	     /* max network lifetime, default 5000 */
	uint32_t timer_d_ms; /* wait for response retransmits, default 32000 */
};

static inline struct txn_timers txn_timers_default(void)
{
	return (struct txn_timers){500, 4000, 5000, 32000};
}

/* States named after RFC 3261 figures 5-8 and RFC 6026 (Accepted). */
enum txn_state {
	TXN_STATE_CALLING, /* INVITE client: request sent */
	TXN_STATE_TRYING,  /* non-INVITE client and server */
	TXN_STATE_PROCEEDING,
	TXN_STATE_COMPLETED,
	TXN_STATE_CONFIRMED, /* INVITE server: ACK received */
	TXN_STATE_ACCEPTED,  /* RFC 6026: 2xx sent or received for INVITE */
	TXN_STATE_TERMINATED
};

/* Per-worker counters; summed over workers by the control channel. */
struct txn_stats {
	uint64_t requests[SIP_METHOD__COUNT]; /* received, not retransmits */
	uint64_t responses_in[7];	      /* received, by class 1..6 */
	uint64_t responses_out[7];	      /* sent, by class 1..6 */
	uint64_t retransmits_in;	      /* absorbed request retransmits */
	uint64_t retransmits_out;	      /* our timer-driven resends */
	uint64_t timeouts;		      /* timer B/F/H expiries */
	uint64_t transport_errors;
	uint64_t stray;	    /* handed up unmatched */
	uint64_t overloads; /* 503s for max_txns */
	uint64_t alive;	    /* transactions now */
};

struct txn;	  /* one transaction, owned by its layer */
struct txn_layer; /* all transactions of one worker */

/*
 * The transaction user: the service that answers requests and gets what no
 * transaction matches. All callbacks run on the layer's worker.
 */
struct txn_user {
	/*
	 * A new server transaction. The TU answers with txn_reply(), now or
	 * later. req is the same as txn_request(t) and valid as long as it
	 * is: until a final response is sent (a 2xx to INVITE: until t
	 * ends). Copy what must outlive that. For INVITE the layer has
	 * already sent 100 Trying.
	 */
	void (*on_request)(void *ctx, struct txn *t, struct sip_msg *req);
	/*
	 * A CANCEL matched the INVITE server transaction t (the layer has
	 * answered 200 to the CANCEL, RFC 3261 9.2). The TU ends the INVITE,
	 * normally with 487. If NULL, the layer sends 487 itself.
	 */
	void (*on_cancel)(void *ctx, struct txn *t);
	/*
	 * Timer H fired for the INVITE server transaction t (RFC 3261
	 * 17.2.1): no ACK came for its non-2xx final. t ends when this
	 * returns; txn_request(t) is NULL by then. NULL = not told.
	 */
	void (*on_timeout)(void *ctx, struct txn *t);
	/*
	 * A message no transaction takes: an ACK for a 2xx, a 2xx
	 * retransmission (RFC 6026), a response for no client transaction.
	 * im is lent for the call; copy what must be kept.
	 */
	void (*on_stray)(void *ctx, struct sip_inmsg *im);
	void *ctx;
};

/*
 * The layer sends through this function (tp_send in production, a
 * capturing function in tests).
 */
typedef int (*txn_send_fn)(const struct sip_flow *f, const char *data,
			   size_t len, tp_send_cb cb, void *arg);

struct txn_layer_opts {
	struct txn_timers timers;
	struct txn_user user;
	txn_send_fn send;    /* NULL = tp_send */
	struct wheel *wheel; /* the worker's wheel, outlives the layer */
	uint32_t max_txns;   /* 0 = no limit; beyond: 503 stateless */
	struct slice server; /* Server header for replies the layer makes */
	uint32_t path_mtu;   /* bytes; 0 = unknown: requests over UDP up to
				1300 bytes (RFC 3261 18.1.1) */
};

int txn_layer_new(const struct txn_layer_opts *o, struct txn_layer **out);
/* Frees every transaction without sending anything. Returns NULL. */
struct txn_layer *txn_layer_free(struct txn_layer *tl);
const struct txn_stats *txn_layer_stats(const struct txn_layer *tl);
uint32_t txn_layer_alive(const struct txn_layer *tl);

/*
 * Hand a received, successfully parsed message to the layer; it takes
 * ownership of im. Requests: RFC 3261 17.2.3 matching (branch with magic
 * cookie, else the RFC 2543 rules of 17.2.3), retransmissions absorbed
 * (last response resent), ACK for a non-2xx absorbed, CANCEL matched to its
 * INVITE (9.2, 481 when none), otherwise a new server transaction and
 * on_request. Responses: 17.1.3 matching to a client transaction, else
 * on_stray.
 */
void txn_layer_recv(struct txn_layer *tl, struct sip_inmsg *im);

/*
 * Answer a server transaction: build the response from the request (with
 * ;received and ;rport added to the top Via per RFC 3261 18.2.1 and RFC
 * 3581) and send it to where 18.2.2 says. A To-tag is added for status >
 * 100 when the TU gives none. Drives the state machine: a final response
 * moves to Completed (non-2xx) or Accepted (2xx INVITE) or Completed
 * (non-INVITE); retransmissions over UDP are the layer's job, except 2xx
 * to INVITE: the TU retransmits those by calling txn_reply() again while
 * Accepted (RFC 6026 7.1). The To tag first used (the TU's, or one the
 * layer makes) is kept for later responses, a matching CANCEL's 200 and
 * RFC 2543 ACK matching. Returns 0, -EINVAL (already final), or a
 * build error (-ENOMEM ..., nothing sent, the state unchanged) or a send
 * error (the state still moves). t stays valid until the loop turn after
 * the final response. A final that makes t Completed frees the request
 * before this returns (error or not): txn_request() is NULL from then on
 * and a req pointer the TU kept must not be used. A 2xx to INVITE keeps
 * the request for the TU's retransmissions.
 */
int txn_reply(struct txn *t, const struct sip_reply_opts *o);

/*
 * Forward a response received elsewhere through server transaction t (a
 * proxy's, RFC 3261 16.7 step 9): bytes is the whole response as it is to
 * be sent (the proxy removed its Via), status its code, to_tag its To tag
 * (kept for a CANCEL's 200 and RFC 2543 ACK matching when no tag was
 * settled yet). Sent to where the request's Via says (18.2.2) and drives
 * the state machine as txn_reply() does, the same rules and return
 * values; 100 is never forwarded (-EINVAL).
 */
int txn_forward_response(struct txn *t, uint16_t status, struct slice to_tag,
			 struct slice bytes);

/* The TU's own pointer for t (NULL until set): maps a CANCEL or a timeout
 * back to the TU's state. kind tells TUs sharing a layer apart (each its
 * own non-zero number): txn_owner() gives NULL for another kind. */
void txn_set_owner(struct txn *t, void *owner, uint8_t kind);
void *txn_owner(const struct txn *t, uint8_t kind);

/*
 * The request a server transaction was created for (parsed). Valid until
 * the final response is sent, except INVITE 2xx (valid until t ends, for
 * the TU's 2xx retransmissions); NULL afterwards (Completed, Confirmed)
 * and for a client transaction. Owned by t.
 */
struct sip_msg *txn_request(struct txn *t);
/* Server: the flow the request came on (valid while t is). Client: where
 * requests go. */
const struct sip_flow *txn_flow(const struct txn *t);
enum txn_state txn_state(const struct txn *t);
bool txn_is_server(const struct txn *t);
enum sip_method txn_method(const struct txn *t);

/*
 * Outcome of a client transaction. resp is the response (lent for the
 * call; NULL when err is set: -ETIMEDOUT for timer B/F, or the transport
 * error). Called for every provisional and for the final response; after a
 * final (or an error) no further call comes except 2xx retransmissions for
 * INVITE while Accepted (RFC 6026).
 */
typedef void (*txn_response_cb)(void *arg, struct txn *t, int err,
				struct sip_inmsg *resp);

/*
 * Start a client transaction sending request (whole message bytes, copied)
 * to dst. The request's top Via must carry branch (z9hG4bK...). For INVITE
 * the layer sends the ACK for a non-2xx final itself (17.1.1.3).
 *
 * RFC 3261 18.1.1: a request for a UDP destination that is larger than
 * path_mtu - 200 bytes (1300 when the MTU is unknown) goes over TCP to the
 * same address instead, its top Via saying TCP; txn_flow() then names the
 * TCP flow, and the ACK and CANCEL follow it. Not when dst->is_udp_only, or
 * when the peer refused TCP before (a connection refused or reset): then
 * the request is retried over UDP, with retransmissions, and the layer
 * remembers the address as UDP-only. Returns 0
 * and sets *out (valid until the final callback returns), or an error:
 * -EINVAL (not a request, an ACK, no cookie branch), -ENOMEM, or the error
 * of the first send (then no transaction exists and cb is never called).
 * Later transport errors reach cb. The send function's callback (passed
 * on reliable transports only) must come exactly once when it returned 0,
 * never when it returned an error, and never after txn_layer_free().
 */
int txn_client_start(struct txn_layer *tl, const struct sip_flow *dst,
		     struct slice request, txn_response_cb cb, void *arg,
		     struct txn **out);

/*
 * CANCEL a pending INVITE client transaction (RFC 3261 9.1): sent once a
 * provisional has arrived (deferred until then). Returns 0 or -EINVAL.
 */
int txn_client_cancel(struct txn *invite);

/* Forget a client transaction's callback (the TU went away). A 2xx that
 * reaches it afterwards (a late branch, a retransmission) goes to the TU's
 * on_stray, to be forwarded statelessly (RFC 3261 16.7, RFC 6026). */
void txn_client_detach(struct txn *t);

/* Make a fresh branch "z9hG4bK" + 16 random chars into buf (>= 24 bytes). */
struct slice txn_branch_new(char *buf, size_t cap);

#endif
