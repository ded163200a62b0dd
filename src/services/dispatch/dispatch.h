/* The dispatcher: which service answers a request, and who may ask at all. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_DISPATCH_DISPATCH_H
#define SB_SERVICES_DISPATCH_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "services/b2bua/b2bua.h"
#include "services/local/local.h"
#include "services/proxy/proxy.h"
#include "services/registrar/registrar.h"
#include "services/shield/ban.h"
#include "sip/auth/auth.h"
#include "sip/msg/msg.h"
#include "sip/transport/transport.h"
#include "sip/txn/txn.h"

struct config;

/*
 * The policy between the stack and the services, one dispatcher per worker
 * (all its state is the worker's), sharing the process-wide auth context,
 * ban list and registrar:
 *
 *   before the transaction layer  dispatch_screen(): a banned source is
 *                                 dropped, or answered 403 statelessly
 *                                 (bans.action);
 *   as the transaction user       a REGISTER whose Request-URI names one
 *                                 of our domains (the `domains` list, the
 *                                 listeners' addresses and advertised
 *                                 hosts) is authenticated with digest
 *                                 (401, realm = that domain, RFC 3261
 *                                 22.4) and handed to the registrar with
 *                                 the user's AOR; one for another domain
 *                                 gets 403 (RFC 3261 10.3 step 1);
 *                                 a request in auth.challenge_methods
 *                                 whose From names one of our domains
 *                                 (it claims a local user) must carry
 *                                 Proxy-Authorization (407, realm = the
 *                                 From domain, RFC 3261 22.3) for the
 *                                 user the From names (else 403
 *                                 "Identity mismatch", auth.check_from),
 *                                 ACK, CANCEL (RFC 3261 22.1) and
 *                                 requests in a dialog (To tag) are never
 *                                 challenged; then the proxy takes what
 *                                 is not addressed to switchboard itself,
 *                                 the local service the rest (and all
 *                                 while draining).
 *
 * A wrong password and an unknown user get the same 401 (407) as a first
 * request without credentials (a fresh nonce each time). A wrong password
 * counts toward a ban of the source (ban_fail); once banned, the request
 * that tipped it gets 403 with bans.action 403 and the same challenge
 * with drop (its transaction needs a final answer), later ones are
 * screened.
 */
struct dispatch;

/* What every worker's dispatcher shares; the caller keeps them alive. */
struct dispatch_deps {
	struct auth_ctx *auth;	     /* required */
	struct ban *ban;	     /* required */
	struct registrar *registrar; /* required */
};

/* Counters of one worker's dispatcher (worker thread only). */
struct dispatch_stats {
	uint64_t banned_dropped;    /* messages from banned sources dropped */
	uint64_t banned_refused;    /* ... answered 403 */
	uint64_t not_authoritative; /* REGISTERs for other domains: 403 */
	uint64_t challenged;	    /* 401 to a REGISTER without credentials */
	uint64_t proxy_challenged; /* 407 to a local user without credentials */
	uint64_t stale;		   /* 401 or 407 with stale=true */
	uint64_t failed;	   /* 401 or 407 after wrong credentials */
	uint64_t malformed;	   /* 400: credentials that did not parse */
	uint64_t authenticated;	   /* REGISTERs handed to the registrar */
	uint64_t proxy_authenticated; /* local users' requests let through */
	uint64_t identity_mismatch;   /* 403: credentials of another user */
	uint64_t bans;	 /* sources this worker's failures banned */
	uint64_t errors; /* 500: out of memory, crypto failure */
};

/*
 * Make a worker's dispatcher. deps are borrowed; local is the worker's
 * local service (borrowed, outlives d), cfg the snapshot for new requests
 * (borrowed as local_new's). Returns 0 and sets *out, or -EINVAL (a
 * missing dependency), -ENOMEM. On the worker or before it starts.
 */
int dispatch_new(const struct dispatch_deps *deps, struct local *local,
		 const struct config *cfg, struct dispatch **out);
/* Returns NULL. Accepts NULL. After its transaction layer is freed. */
struct dispatch *dispatch_free(struct dispatch *d);
void dispatch_set_config(struct dispatch *d, const struct config *cfg);
/* The worker's proxy (borrowed; NULL: every request is the local
 * service's): requests past the checks go to it first, then CANCELs it
 * owns and messages no transaction took. */
void dispatch_set_proxy(struct dispatch *d, struct proxy *p);
/* The worker's B2BUA (borrowed; NULL: none): in-dialog requests of its
 * dialogs, new INVITEs whose route (or call_mode) says b2bua, and the
 * CANCELs and strays it owns go to it before the proxy. */
void dispatch_set_b2bua(struct dispatch *d, struct b2bua *b);

/* The callbacks for txn_layer_opts.user, bound to d. */
struct txn_user dispatch_txn_user(struct dispatch *d);

enum dispatch_verdict {
	DISPATCH_PASS,	   /* go on: the transaction layer */
	DISPATCH_DROP,	   /* forget the message */
	DISPATCH_REFUSE,   /* answer 403 without a transaction
			      (dispatch_refusal) */
	DISPATCH_CHALLENGE /* answer 401 without a transaction
			      (dispatch_challenge) */
};

/*
 * The stage before any transaction exists. Is m (parsed, or NULL when it
 * failed to parse) from flow's source banned? A banned request other than
 * ACK is refused when bans.action is 403, else dropped; responses and
 * unparsed messages are dropped. Otherwise a REGISTER for one of our
 * domains that carries no Authorization at all gets its 401 here, with no
 * transaction (a retransmission simply gets a fresh challenge, as a
 * stateless registrar does): the verdict is DISPATCH_CHALLENGE. Counts
 * what it decided. Worker thread.
 */
enum dispatch_verdict dispatch_screen(struct dispatch *d,
				      const struct sip_msg *m,
				      const struct sip_flow *flow);

/*
 * The 403 for a refused request m, with a To tag the same for each of its
 * retransmissions (RFC 3261 8.2.6.2), into out (reset first); via_params
 * as for sip_reply_opts. Returns 0 or the builder's error.
 */
int dispatch_refusal(struct dispatch *d, const struct sip_msg *m,
		     struct slice via_params, struct buf *out);

/*
 * The 401 for a REGISTER screened as DISPATCH_CHALLENGE: a fresh nonce for
 * the Request-URI's domain, a To tag the same for each retransmission,
 * into out (reset first); via_params as for sip_reply_opts. Returns 0 or
 * an error (the caller then passes m to the transaction layer).
 */
int dispatch_challenge(struct dispatch *d, const struct sip_msg *m,
		       struct slice via_params, struct buf *out);

/*
 * Whether host (a Request-URI host: name, IPv4 or "[IPv6]") is one of the
 * domains of cfg: the `domains` list (case-insensitive), the listeners'
 * bound addresses (unless unspecified) and their advertised hosts. IP
 * addresses compare as addresses. Any thread.
 */
bool dispatch_is_local_domain(const struct config *cfg, struct slice host);

const struct dispatch_stats *dispatch_stats(const struct dispatch *d);

#endif
