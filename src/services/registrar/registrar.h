/* The registrar: REGISTER after authentication (RFC 3261 10.3, RFC 3327). */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_REGISTRAR_REGISTRAR_H
#define SB_SERVICES_REGISTRAR_REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/slice.h"
#include "base/wheel.h"
#include "services/registrar/location.h"
#include "sip/msg/msg.h"
#include "sip/txn/txn.h"
#include "store/store.h"

/*
 * One registrar for the process, shared by every worker: it owns the
 * location service and its options, and is read-only after
 * registrar_new() (its counters are atomic). registrar_handle() may run on
 * any worker at once; the housekeeping (expiry sweep, NAT keep-alives)
 * runs on the one worker given to registrar_start().
 *
 * Life cycle for the serve code:
 *   start-up  registrar_new() (opts from the config, the open store), then
 *             once the listeners exist store_bindings_load() with a
 *             callback that calls registrar_restore(), before traffic;
 *   worker 0  on_start: registrar_start(r, its txn layer, its wheel);
 *             on_stop: registrar_stop(r) before freeing that layer;
 *   requests  a REGISTER that passed authentication (and the Request-URI
 *             domain check, RFC 3261 10.3 step 1) goes to
 *             registrar_handle() with the user's AOR and max_bindings;
 *   the proxy registrar_location() and location_lookup();
 *   shutdown  after the workers are joined: registrar_free(), then
 *             store_close() (the sweep may persist until the stop).
 */
struct registrar;

enum registrar_keepalive {
	REGISTRAR_KEEPALIVE_NONE,
	REGISTRAR_KEEPALIVE_OPTIONS, /* OPTIONS in a client transaction */
	REGISTRAR_KEEPALIVE_CRLF     /* "\r\n\r\n" on the flow, any transport */
};

enum {
	REGISTRAR_PING_FAILURES_WARN = 3, /* unanswered pings in a row: log */
	REGISTRAR_PINGS_MAX = 4096	  /* OPTIONS pings in flight at most */
};

/* How the registrar reads the time; tests drive a simulated clock. */
typedef void (*registrar_clock_fn)(void *ctx, struct location_time *now);

struct registrar_opts {
	uint32_t min_expires_s;	    /* shorter, non-zero: 423 (60) */
	uint32_t max_expires_s;	    /* longer is shortened to it (3600) */
	uint32_t default_expires_s; /* neither param nor header (3600) */
	uint32_t max_bindings;	    /* per AOR, when the user has none (10) */
	uint32_t max_aors;	    /* AORs with bindings; 0: no limit */
	uint32_t location_shards;   /* 0: LOCATION_SHARDS_DEFAULT */
	enum registrar_keepalive keepalive; /* pings to NAT'd bindings */
	uint32_t keepalive_interval_s; /* between pings of a binding (30) */
	struct slice server;	       /* Server header; borrowed, outlives r */
	struct slice keepalive_host;   /* Via/From host of pings whose flow
					  has no listener; borrowed */
	struct store *store;	       /* NULL: nothing persisted */
	struct location_persist persist; /* NULL put/del: the store's */
	registrar_clock_fn clock;	 /* NULL: location_time_now() */
	void *clock_ctx;
	txn_send_fn send; /* CRLF pings; NULL: tp_send */
	uint32_t workers; /* OPTIONS pings get Call-IDs that hash to */
	uint32_t owner;	  /* worker `owner` of `workers` (handoff.h), the
			     registrar_start() one; 0 workers: any */
};

static inline struct registrar_opts registrar_opts_default(void)
{
	return (struct registrar_opts){
	    .min_expires_s = 60,
	    .max_expires_s = 3600,
	    .default_expires_s = 3600,
	    .max_bindings = 10,
	    .keepalive = REGISTRAR_KEEPALIVE_NONE,
	    .keepalive_interval_s = 30,
	};
}

/* Counters, relaxed atomics; any thread. */
struct registrar_stats {
	uint64_t accepted;	  /* REGISTERs answered 200 */
	uint64_t rejected;	  /* answered 4xx/5xx */
	uint64_t restored;	  /* bindings restored at start */
	uint64_t pings_sent;	  /* keep-alives sent */
	uint64_t pings_failed;	  /* unanswered or unsendable */
	uint64_t pings_in_flight; /* OPTIONS pings now */
	struct location_stats location;
};

/*
 * Make the registrar and its location service. Options are copied (their
 * slices are borrowed). With a store and no persist hooks, changes go to
 * store_binding_put/del; with neither, nothing is persisted. Returns 0 and
 * sets *out, or -EINVAL (min > default, default > max, max_bindings 0,
 * keep-alives with interval 0), -ENOMEM. Before the workers start.
 */
int registrar_new(const struct registrar_opts *o, struct registrar **out);
/* After registrar_stop() and after the workers stop. Returns NULL. */
struct registrar *registrar_free(struct registrar *r);

/* The location service, for lookups by the proxy and B2BUA. */
struct location *registrar_location(struct registrar *r);

/*
 * Answer an authenticated REGISTER on its server transaction t (req is
 * txn_request(t)). aor is the authenticated user's "user@domain";
 * max_bindings that user's limit (0: the registrar's). RFC 3261 10.3 after
 * step 3: a Require other than path gets 420; the To URI must name aor
 * (403); Contact: * only alone with Expires: 0 (400); each contact's
 * expiry is its expires param, else Expires, else the default, a non-zero
 * one under min_expires gets 423 with Min-Expires, one over max_expires is
 * shortened; the changes apply atomically (location_update), a stale CSeq
 * gets 400 "Out of Order CSeq", too many bindings 503 "Too Many Registered
 * Contacts" (what Kamailio's max_contacts answers). The 200 lists every
 * binding with its remaining expiry (and q, +sip.instance, reg-id), Date,
 * the Path values when the UA supports path (RFC 3327 5.3), and Require:
 * outbound for an RFC 5626 registration of a UA that supports it.
 * A request that is not a REGISTER gets 405 with Allow: REGISTER.
 * Returns the status sent, or a negative errno from txn_reply() (then
 * nothing was sent). req must not be used afterwards. Any worker.
 */
int registrar_handle(struct registrar *r, struct txn *t, struct sip_msg *req,
		     struct slice aor, uint32_t max_bindings);

/*
 * The canonical AOR of a sip/sips URI (RFC 3261 10.3 step 5):
 * "user@host", the user unescaped, the host lower-cased, parameters
 * dropped. Writes into buf (LOCATION_AOR_MAX bytes suffice) and sets *out.
 * Returns 0, -EINVAL (no user part, another scheme, a bad escape) or
 * -E2BIG. Thread-safe.
 */
int registrar_aor_from_uri(const struct sip_uri *u, char *buf, size_t cap,
			   struct slice *out);

/*
 * Whether a Contact cannot reach the UA that registered it from src: its
 * host is an IP address other than the source address, or (over UDP) its
 * port differs from the source port. A host name is taken as reachable.
 */
bool registrar_contact_is_nated(const struct sip_uri *contact,
				const struct sip_flow *src);

/*
 * Rebuild the location service from persisted bindings (store_bindings_load
 * at start-up), each with its remaining lifetime at now (NULL: the
 * registrar's clock); expired ones are skipped. Flows come from the stored
 * transport and source, with the first listener of that transport and
 * family (call after the listeners exist) and no connection: the old one
 * is gone. Nothing is written back. Returns the number restored; records
 * that do not parse are skipped and logged. Any thread, before traffic.
 */
ssize_t registrar_restore(struct registrar *r, const struct store_binding *b,
			  size_t n, const struct location_time *now);

/* Remove expired bindings now (persisted). Returns how many. Any thread. */
ssize_t registrar_expire(struct registrar *r);

/*
 * Start the housekeeping on the calling worker: a one-second wheel timer
 * that runs registrar_expire() and, when configured, sends keep-alives to
 * the NAT'd bindings without Path (spread over the interval by shard), an
 * OPTIONS through tl or a CRLF through opts.send. A binding whose pings go
 * unanswered REGISTRAR_PING_FAILURES_WARN times in a row is logged (and
 * again every such run); it is not removed: its registration expiry does
 * that. Returns 0 or -EALREADY. Only that worker calls registrar_stop(),
 * which also forgets the pings in flight; tl and wheel must outlive it.
 */
int registrar_start(struct registrar *r, struct txn_layer *tl,
		    struct wheel *wheel);
void registrar_stop(struct registrar *r);

void registrar_stats(const struct registrar *r, struct registrar_stats *out);

#endif
