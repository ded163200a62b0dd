/* The stateful proxy (RFC 3261 section 16): one per worker. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_PROXY_PROXY_H
#define SB_SERVICES_PROXY_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/wheel.h"
#include "services/registrar/location.h"
#include "sip/msg/msg.h"
#include "sip/resolve/resolve.h"
#include "sip/transport/transport.h"
#include "sip/txn/txn.h"

struct config;

/*
 * A worker's proxy: it takes the requests the dispatcher hands it (after
 * authentication), each with its server transaction, and forwards them:
 *
 *   validation (16.3)   Max-Forwards 0: 483; a loop: 482; Proxy-Require:
 *                       420 with Unsupported;
 *   routes (16.4)       a strict router's request is put right, our own
 *                       Route values are removed (two with double
 *                       record-routing);
 *   targets (16.5)      a remaining Route: the Request-URI unchanged; one
 *                       of our domains with a user: the location service
 *                       (404 unknown user, 480 no binding); a foreign
 *                       domain: proxy.foreign_domains (403, or the
 *                       outbound proxy, or RFC 3263 DNS);
 *   forking (16.6-16.7) parallel within equal q, serial by descending q,
 *                       each branch one client transaction printed from
 *                       its own patch layer over the received request;
 *                       provisional responses and every 2xx go upstream
 *                       at once; a 2xx or 6xx cancels the other branches;
 *                       otherwise the best final once all are done (6xx,
 *                       else the lowest class, 503 becomes 500); 3xx
 *                       relayed or recursed; ring timeout: 408;
 *   CANCEL (16.10)      the layer answered it; pending branches are
 *                       cancelled and the request ends with 487;
 *   stateless (16.11)   an ACK for a 2xx and responses no transaction
 *                       takes are forwarded without state.
 *
 * Record-Route is added to dialog-creating requests when configured, two
 * values when the request leaves by another transport or address family.
 * Everything runs on the worker; the location service is shared.
 */
struct proxy;

struct proxy_deps {
	struct location *location; /* shared, required */
	struct wheel *wheel;	   /* the worker's, required */
	struct resolver *resolver; /* the worker's; NULL: names fail (503) */
	txn_send_fn send;	   /* stateless sends; NULL = tp_send */
};

/* Counters of one worker's proxy (worker thread only). */
struct proxy_stats {
	uint64_t requests;	      /* handed to the proxy */
	uint64_t branches;	      /* client transactions started */
	uint64_t forwarded_1xx;	      /* provisional responses sent upstream */
	uint64_t forwarded_2xx;	      /* 2xx sent upstream (all branches) */
	uint64_t final_errors;	      /* final non-2xx answers upstream */
	uint64_t cancelled;	      /* requests ended by an upstream CANCEL */
	uint64_t ring_timeouts;	      /* requests ended by the ring timeout */
	uint64_t not_found;	      /* 404: no such user */
	uint64_t unavailable;	      /* 480: a user with no binding */
	uint64_t refused;	      /* 403: a foreign domain, refused */
	uint64_t loops;		      /* 482 */
	uint64_t too_many_hops;	      /* 483 */
	uint64_t stateless_acks;      /* ACKs forwarded without state */
	uint64_t stateless_responses; /* responses forwarded without state */
	uint64_t dropped;	      /* stray messages that went nowhere */
	uint64_t dns_failures;	      /* targets that did not resolve */
	uint64_t alive;		      /* requests in progress now */
};

/* Returns 0 and sets *out, or -EINVAL, -ENOMEM. cfg is borrowed as in
 * local_new(). */
int proxy_new(const struct proxy_deps *deps, const struct config *cfg,
	      struct proxy **out);
/* Once the layer exists (it is made with the dispatcher as its user). */
void proxy_set_layer(struct proxy *p, struct txn_layer *tl);
/* Forgets every request in progress (their transactions are the layer's,
 * freed before or after). Returns NULL. NULL-safe. */
struct proxy *proxy_free(struct proxy *p);
void proxy_set_config(struct proxy *p, const struct config *cfg);

/*
 * A new request with its server transaction. Returns false when the
 * request is not the proxy's: it names switchboard itself (no user part,
 * no Route left to follow) and goes to the local service; t is then
 * untouched. Otherwise the proxy answers t, now or later.
 */
bool proxy_request(struct proxy *p, struct txn *t, struct sip_msg *req);

/* The layer answered a CANCEL for t (RFC 3261 16.10). False: t is not
 * the proxy's. */
bool proxy_cancel(struct proxy *p, struct txn *t);

/* A message no transaction took (ACK for a 2xx, a stray response). im is
 * lent for the call. False: not the proxy's (not routed through us). */
bool proxy_stray(struct proxy *p, struct sip_inmsg *im);

const struct proxy_stats *proxy_stats(const struct proxy *p);

/* Helpers shared with the dispatcher and tests (route.c). */

/* uri names this switchboard: a listener's address (or advertised host)
 * and port, or a `domains` name at a listener's port. */
bool proxy_uri_is_self(const struct config *cfg, const struct sip_uri *u);
/* uri is in a domain we are responsible for: a `domains` name (any port),
 * or a listener's address or advertised host at its port. */
bool proxy_uri_is_local(const struct config *cfg, const struct sip_uri *u);

#endif
