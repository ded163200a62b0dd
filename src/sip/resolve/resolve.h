/* Locating SIP servers (RFC 3263): NAPTR, SRV, A/AAAA with c-ares. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_RESOLVE_RESOLVE_H
#define SB_SIP_RESOLVE_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sip/msg/uri.h"
#include "sip/transport/transport.h"

/*
 * One resolver per worker, on that worker's libuv loop: c-ares sockets are
 * watched with uv_poll, its timeouts with one uv_timer. Answers are cached
 * per resolver (no locks) for their DNS TTL (clamped to [min_ttl_s,
 * max_ttl_s]); negative answers (NXDOMAIN, no records) for neg_ttl_s.
 * Concurrent lookups needing the same (name, type) share one query.
 * Nothing blocks the loop. Everything here runs on the loop's thread.
 */
struct resolver;
struct resolve_req; /* one pending lookup */

enum {
	RESOLVE_TARGETS_MAX = 16, /* addresses handed to one callback */
	RESOLVE_SERVERS_MAX = 4	  /* configured name servers */
};

struct resolver_opts {
	/* "127.0.0.1:5353", "[::1]:53", "192.0.2.1" (port 53); n = 0: the
	 * system's (/etc/resolv.conf). Strings are copied. */
	const char *servers[RESOLVE_SERVERS_MAX];
	size_t nservers;
	uint32_t timeout_ms;   /* per try of one server; 0: 2000 */
	uint32_t tries;	       /* rounds over the servers; 0: 2. Silent
				  servers fail a query after about
				  timeout_ms * tries * nservers */
	uint32_t cache_max;    /* cached answers (name, type) at most, least
				  recently used evicted; 0: 4096 */
	uint32_t min_ttl_s;    /* 0: 0 */
	uint32_t max_ttl_s;    /* 0: 3600 */
	uint32_t neg_ttl_s;    /* 0: 30 */
	bool is_ipv6_enabled;  /* also ask AAAA (after A) */
};

/* One place to send to, in the order RFC 3263 says to try them. */
struct resolve_target {
	enum sip_transport tp;
	struct sip_addr addr; /* with the port */
};

/*
 * The outcome of a lookup, on the loop thread, never before
 * resolver_sip() returned. err is 0 with n >= 1 targets (valid during the
 * call only; v is NULL and n 0 otherwise), or -ENOENT (the name has no
 * usable records), -ETIMEDOUT (no server answered in time), -ECANCELED
 * (resolver freed), -ENOMEM, -EIO (other DNS failure: every server
 * refused or failed the query or was unreachable, which c-ares 1.18 does
 * not tell apart, or the answer was malformed). When some hosts resolve
 * and others fail, the targets found are returned with err 0.
 */
typedef void (*resolve_cb)(void *arg, int err, const struct resolve_target *v,
			   size_t n);

/* Returns 0, -EINVAL (more than RESOLVE_SERVERS_MAX servers, one c-ares
 * cannot read, min_ttl_s > max_ttl_s), -ENOMEM or -EIO (c-ares failed). */
int resolver_new(uv_loop_t *loop, const struct resolver_opts *o,
		 struct resolver **out);
/* Pending lookups get -ECANCELED first, inside this call (may be called
 * from a resolve_cb). Closes handles; the loop must run afterwards for
 * them to finish closing (the resolver frees itself then). Returns NULL.
 * NULL-safe. */
struct resolver *resolver_free(struct resolver *r);

/*
 * Without DNS: when uri's host is an IP literal (or maddr is, RFC 3263
 * 4.2 uses maddr before host), fill *out with its transport (RFC 3263 4.1:
 * the transport param, else TLS for sips, else UDP) and port (the URI's,
 * else 5061 for TLS, 5060 otherwise) and return 0; -EAGAIN when the host
 * is a name (use resolver_sip), -EINVAL for a URI that is not sip/sips,
 * has an unknown transport (or UDP for sips) or port 0.
 */
int resolve_numeric(const struct sip_uri *uri, struct resolve_target *out);

/*
 * RFC 3263 4: the targets for uri in the order to try. A host name with
 * an explicit port: A/AAAA only (4.2), transport as for numeric hosts.
 * Without a port: with a transport param, SRV for that transport
 * (_sip._udp, _sip._tcp, _sips._tcp); without, NAPTR first (4.1: order,
 * then preference; only SIP+D2U, SIP+D2T, SIPS+D2T; sips URIs only SIPS
 * services), then if no NAPTR the SRV records of each transport we
 * support, in our order of preference: _sip._udp then _sip._tcp for sip
 * (4.1 asks "_sip" for SIP URIs), _sips._tcp for sips; then A/AAAA at
 * 5060/5061 (the transport NAPTR chose, else UDP, TLS for sips). SRV
 * targets are ordered by priority and weighted randomly within one (RFC
 * 2782), each expanded to its addresses (A before AAAA); a target "."
 * means no service (no A fallback). Answers come from the cache when
 * fresh. An IP literal host completes without DNS, still through the
 * loop. Returns 0 and sets *out (cancellable until cb runs), or -EINVAL
 * (not sip/sips, unknown transport, a host that is no DNS name), -ENOMEM,
 * -ECANCELED (resolver_free has run). cb may run inside this call's loop
 * turn only through the loop (never re-entrant).
 */
int resolver_sip(struct resolver *r, const struct sip_uri *uri, resolve_cb cb,
		 void *arg, struct resolve_req **out);

/* Forget a pending lookup: cb will not be called. NULL-safe; does nothing
 * from the lookup's own cb. */
void resolve_cancel(struct resolve_req *q);

/* Counters, loop thread only. */
struct resolver_stats {
	uint64_t lookups;	/* resolver_sip calls */
	uint64_t cache_hits;	/* answered wholly from the cache */
	uint64_t queries;	/* DNS queries sent */
	uint64_t failures;	/* lookups that ended with an error */
	uint64_t cached;	/* answers (name, type) in the cache now */
};
const struct resolver_stats *resolver_stats(const struct resolver *r);

#endif
