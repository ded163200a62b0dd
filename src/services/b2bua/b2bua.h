/* The B2BUA call engine: a call is two legs, one worker owns it. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_B2BUA_B2BUA_H
#define SB_SERVICES_B2BUA_B2BUA_H

#include <stdbool.h>
#include <stdint.h>

#include "base/wheel.h"
#include "media/media.h"
#include "media/ng.h"
#include "services/registrar/location.h"
#include "sip/msg/msg.h"
#include "sip/resolve/resolve.h"
#include "sip/transport/transport.h"
#include "sip/txn/txn.h"

struct config;
struct store;

/*
 * A worker's B2BUA. It terminates a caller's INVITE as a UAS (the A-leg)
 * and originates a new INVITE as a UAC toward each target (B-legs): new
 * Call-ID (hashing to this worker), tags, Via, Contact, CSeq and SDP o=
 * line. Nothing of one leg's signalling is copied to the other except the
 * configured header whitelist and the bodies (SDP with the leg's own o=).
 *
 *   targets     one of our users: every live binding of the Request-URI
 *               (404 unknown user, 480 none), forked in parallel, each
 *               binding its own B-leg; a foreign domain: proxy.foreign_
 *               domains (403, or the outbound proxy / DNS);
 *   relaying    1xx with or without SDP (early media of every B-leg on
 *               the one A dialog), the first 2xx wins (the other B-legs
 *               are cancelled, a late 2xx is ACKed and BYEd), the best
 *               final otherwise; the B-leg ACK goes out when the caller's
 *               ACK comes (it may carry the answer to a delayed offer);
 *               BYE from either side ends both; re-INVITE, UPDATE, INFO,
 *               OPTIONS, MESSAGE, NOTIFY and REFER (refer: pass) are
 *               relayed with their responses; glare gets 491 (RFC 3261
 *               14.2); reliable 1xx (RFC 3262) per leg: each side's
 *               PRACK is answered on its own leg, never relayed;
 *   timers      ring timeout (408, cancel), the caller's ACK (64*T1, then
 *               BYE both), maximum call duration;
 *   records     one CDR per call to the store (and CSV when configured).
 *
 * In-dialog requests and stray messages are matched by Call-ID and local
 * tag in the worker's dialog table. Everything runs on the worker.
 */
struct b2bua;

struct b2bua_deps {
	struct location *location; /* shared, required */
	struct wheel *wheel;	   /* the worker's, required */
	struct resolver *resolver; /* the worker's; NULL: names fail (503) */
	struct store *store;	   /* CDRs; NULL: none written */
	txn_send_fn send;	   /* ACKs (no transaction); NULL = tp_send */
	unsigned worker;	   /* this worker's index */
	unsigned nworkers;	   /* Call-IDs we mint hash to `worker` */
	/*
	 * Run fn(b, arg) on worker i's thread with that worker's B2BUA (b
	 * NULL when it is gone: fn must then free arg). Returns 0 or an
	 * error (fn never runs). NULL: a single worker. How calls on two
	 * workers meet (attended transfer) without sharing state.
	 */
	int (*post)(void *ctx, unsigned i,
		    void (*fn)(struct b2bua *b, void *arg), void *arg);
	void *post_ctx;
	struct media *media;	   /* the worker's relay; NULL: bypass only */
	struct ng_client *ng;	   /* rtpengine; NULL: not configured */
	struct recorder *recorder; /* shared; NULL: no recordings */
};

/* Counters of one worker's B2BUA (worker thread only). */
struct b2bua_stats {
	uint64_t calls;		 /* INVITEs taken */
	uint64_t answered;	 /* calls that reached answered */
	uint64_t failed;	 /* calls ended before an answer */
	uint64_t b_legs;	 /* B-leg INVITEs started */
	uint64_t relayed;	 /* in-dialog requests relayed */
	uint64_t glare;		 /* 491 */
	uint64_t relays_refused; /* 503: too many requests of one call
				    waiting for the other side */
	uint64_t ack_timeouts;	 /* no ACK from the caller */
	uint64_t cdrs;		 /* records handed to the store */
	uint64_t alive;		 /* calls now */
	uint64_t legs_alive;	 /* legs now */
};

int b2bua_new(const struct b2bua_deps *deps, const struct config *cfg,
	      struct b2bua **out);
void b2bua_set_layer(struct b2bua *b, struct txn_layer *tl);
/* Ends nothing on the wire: frees every call (their transactions are
 * the layer's). Returns NULL. NULL-safe. */
struct b2bua *b2bua_free(struct b2bua *b);
void b2bua_set_config(struct b2bua *b, const struct config *cfg);

/*
 * Whether a new out-of-dialog INVITE goes to the B2BUA under cfg: the
 * first matching route's mode, else call_mode. Any thread.
 */
bool b2bua_takes(const struct config *cfg, const struct sip_msg *req);

/* A new INVITE (no To tag) the dispatcher gives the B2BUA. It answers t,
 * now or later. */
void b2bua_invite(struct b2bua *b, struct txn *t, struct sip_msg *req);

/* A request with a To tag: true when it belongs to one of our dialogs
 * (then the B2BUA answers t), false when it is not ours. */
bool b2bua_request(struct b2bua *b, struct txn *t, struct sip_msg *req);

/* The layer answered a CANCEL for t. False: t is not the B2BUA's. */
bool b2bua_cancel(struct b2bua *b, struct txn *t);

/* A message no transaction took (ACK for a 2xx, a 2xx retransmission).
 * im is lent. False: not the B2BUA's. */
bool b2bua_stray(struct b2bua *b, struct sip_inmsg *im);

const struct b2bua_stats *b2bua_stats(const struct b2bua *b);

/*
 * Start (is_on) or stop recording the call named id (its name in logs and
 * `ctl calls`, or the caller's Call-ID); path gets the file. 0, -ENOENT
 * (no such call here), -ENOTSUP (not anchored), -EALREADY. Worker thread.
 */
int b2bua_record(struct b2bua *b, const char *id, bool is_on, char *path,
		 size_t cap);

/* One call as the admin API shows it; strings valid during the visit. */
struct b2bua_call_info {
	const char *id;		     /* the call's name in logs */
	const char *state;	     /* calling ... terminated */
	struct slice caller, callee; /* From URI, Request-URI of the A-leg */
	int64_t start_ms, answer_ms; /* unix ms; 0: not answered */
	unsigned legs;		     /* legs alive */
	unsigned transfers;
};

/* Visit the worker's calls (worker thread); stops when cb returns
 * non-zero, which is returned. */
int b2bua_calls_visit(const struct b2bua *b,
		      int (*cb)(void *arg, const struct b2bua_call_info *ci),
		      void *arg);

#endif
