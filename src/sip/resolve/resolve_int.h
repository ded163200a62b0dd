/* Private to sip/resolve: DNS answers, the cache, queries and lookups. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_RESOLVE_RESOLVE_INT_H
#define SB_SIP_RESOLVE_RESOLVE_INT_H

#include <ares.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/slice.h"
#include "sip/resolve/resolve.h"

enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_NAPTR = 35,
	DNS_CLASS_IN = 1,
	RESOLVE_NAME_MAX = 253,	  /* a DNS name as text, no final dot */
	RESOLVE_RECORDS_MAX = 32, /* records kept from one answer */
	RESOLVE_GROUPS_MAX = 8,	  /* SRV names one lookup asks for */
	RESOLVE_SLOTS_MAX = RESOLVE_TARGETS_MAX, /* hosts one lookup expands */
	RESOLVE_NEEDS_MAX = 1 + RESOLVE_GROUPS_MAX + 2 * RESOLVE_SLOTS_MAX,
	RESOLVE_WATCHES_MAX = 4 * RESOLVE_SERVERS_MAX, /* c-ares sockets */
	RESOLVE_INFLIGHT_BUCKETS = 256		       /* a power of two */
};

/* ---- record sets (cache.c) ---- */

struct rr_srv {
	uint16_t priority, weight, port;
	const char *target; /* "" for "." (RFC 2782: no service here) */
};

struct rr_naptr {
	uint16_t order, pref;
	enum sip_transport tp;	 /* from the service: SIP+D2U, ... */
	const char *replacement; /* the SRV name to ask next */
};

/*
 * The answer for one (name, type): immutable once made, shared by the
 * cache and the lookups that use it. status 0 is an answer (n may be 0
 * when no record was usable), -ENOENT a negative answer (NXDOMAIN or no
 * data), anything else a failure that is never cached.
 */
struct rrset {
	struct rrset *hnext;	     /* cache bucket chain */
	struct rrset *newer, *older; /* cache LRU list */
	uint32_t refs;		     /* the cache's and each holder's */
	uint32_t hash;		     /* of name and type, the cache's seed */
	bool is_cached;
	uint16_t type; /* DNS_TYPE_* */
	int status;
	uint64_t expires_ms; /* uv_now() clock; set by the cache user */
	size_t n;	     /* records in rr */
	union {
		struct in_addr *a;
		struct in6_addr *aaaa;
		struct rr_srv *srv;
		struct rr_naptr *naptr;
	} rr;
	char name[]; /* lowercase, no final dot */
};

/*
 * A record set for name with room for n records of type and pool_len bytes
 * of names, which *pool points at (NULL when pool is NULL). One reference.
 * NULL when out of memory.
 */
struct rrset *resolve_rrset_new(const char *name, uint16_t type, int status,
				size_t n, size_t pool_len, char **pool);
struct rrset *resolve_rrset_ref(struct rrset *s);
/* Drop a reference; frees on the last. Returns NULL. NULL-safe. */
struct rrset *resolve_rrset_unref(struct rrset *s);

/* Answers by (name, type), bounded, least recently used evicted first. */
struct resolve_cache {
	struct rrset **buckets;
	uint32_t mask;	     /* buckets - 1 */
	uint32_t count, max; /* sets cached, and at most */
	uint64_t seed;	     /* hash key, random per cache */
	struct rrset *newest, *oldest;
};

int resolve_cache_init(struct resolve_cache *c, uint32_t max);
void resolve_cache_close(struct resolve_cache *c);
uint32_t resolve_cache_hash(const struct resolve_cache *c, const char *name,
			    uint16_t type);
/* A new reference to the fresh set for (name, type), or NULL. Expired sets
 * met on the way are dropped. */
struct rrset *resolve_cache_get(struct resolve_cache *c, const char *name,
				uint16_t type, uint64_t now_ms);
/* Cache s (the cache takes its own reference), replacing an older set for
 * the same key and evicting the least recently used when full. */
void resolve_cache_put(struct resolve_cache *c, struct rrset *s);

/* ---- DNS answers (answer.c) ---- */

/*
 * Lowercase copy of a DNS name into out without a final dot: letters,
 * digits, '-' and '_' in labels of 1..63 bytes, at most RESOLVE_NAME_MAX
 * in all. Returns the length (0 for the root, "" or "."), or -EINVAL.
 */
int resolve_name_norm(struct slice in, char out[RESOLVE_NAME_MAX + 1]);

/*
 * The smallest TTL of the answer section's records of type (or CNAME, the
 * chain leading to them), class IN, in a raw DNS message of len bytes.
 * Every length is checked against len: the message is outside input.
 * Returns 0 and *ttl_s, -ENOENT when no record of type is there, or
 * -EBADMSG when the message is malformed.
 */
int resolve_answer_ttl(const uint8_t *buf, size_t len, uint16_t type,
		       uint32_t *ttl_s);

/*
 * Decode a successful answer to (name, type) into a new record set with
 * one reference: addresses, SRV records, or the NAPTR records RFC 3263
 * can use ("s" flag, SIP+D2U, SIP+D2T or SIPS+D2T, no regexp). status is
 * -ENOENT when the answer holds no record of type. *ttl_s is the answer's
 * TTL when status is 0. Returns 0, -ENOMEM or -EBADMSG.
 */
int resolve_answer_decode(const char *name, uint16_t type, const uint8_t *buf,
			  size_t len, struct rrset **out, uint32_t *ttl_s);

/* ---- queries and lookups (resolve.c, lookup.c) ---- */

struct dnsq; /* one DNS query in flight, shared by every lookup waiting */

/* One (name, type) a lookup waits for, or has the answer to. */
struct need {
	struct resolve_req *q;	    /* the lookup */
	struct dnsq *d;		    /* the query waited on; NULL once done */
	struct need *wprev, *wnext; /* d's waiters */
	struct rrset *set;	    /* the answer (counted), or NULL */
	int err;		    /* when set is NULL after d: why */
	const char *name;	    /* lives as long as the lookup */
	uint16_t type;
};

/* An SRV name to ask (from NAPTR or made from the host). */
struct group {
	enum sip_transport tp;
	const char *name;
	struct need *need;
};

/* A host to expand to addresses, in the order to try. */
struct slot {
	enum sip_transport tp;
	uint16_t port;
	const char *name;     /* an SRV target or the URI's host */
	bool is_ip;	      /* name is an address literal: addr */
	struct sip_addr addr; /* with the port, when is_ip */
};

enum req_stage { REQ_NAPTR, REQ_SRV, REQ_ADDR, REQ_DONE };

struct req_list {
	struct resolve_req *head, *tail;
};

struct resolve_req {
	struct resolve_req *prev, *next; /* on list */
	struct req_list *list;		 /* r->active, r->done or NULL */
	struct resolver *r;
	resolve_cb cb;
	void *arg;
	enum req_stage stage;
	int err; /* the outcome, once REQ_DONE */
	bool is_sips;
	bool has_waited;	 /* some answer came from the network */
	enum sip_transport tp;	 /* for the A/AAAA fallback */
	size_t nneeds, npending; /* needs used, and still unanswered */
	struct need needs[RESOLVE_NEEDS_MAX];
	size_t ngroups;
	struct group groups[RESOLVE_GROUPS_MAX];
	size_t nslots;
	struct slot slots[RESOLVE_SLOTS_MAX];
	size_t ntargets;
	struct resolve_target targets[RESOLVE_TARGETS_MAX];
	char host[RESOLVE_NAME_MAX + 1];	 /* normalised target host */
	char srv_names[2][RESOLVE_NAME_MAX + 1]; /* "_sip._udp.host"... */
};

struct watch {
	uv_poll_t poll;
	struct resolver *r;
	ares_socket_t fd;
	bool is_used;	 /* open or closing */
	bool is_closing; /* waits for its close callback */
};

struct resolver {
	uv_loop_t *loop;
	ares_channel ch;
	uv_timer_t t_ares; /* c-ares's next timeout */
	uv_idle_t kick;	   /* finished queries and lookups: next turn */
	unsigned handles;  /* open or closing uv handles */
	struct watch watches[RESOLVE_WATCHES_MAX];
	struct resolve_cache cache;
	struct dnsq *inflight[RESOLVE_INFLIGHT_BUCKETS];
	struct dnsq *finished, *finished_tail; /* answered, not yet handed */
	struct req_list active;		       /* lookups waiting for DNS */
	struct req_list done;		       /* outcome known, cb not run */
	struct resolver_stats stats;
	uint32_t tries; /* rounds over the servers */
	uint32_t min_ttl_s, max_ttl_s, neg_ttl_s;
	bool is_ipv6_enabled;
	bool is_closing; /* resolver_free ran */
};

/*
 * Point nd (name and type set) at its answer: from the cache (returns 0,
 * nd->set set), or by waiting on a query in flight, shared or new
 * (returns 1; resolve_req_advance runs once all of the lookup's needs are
 * answered). -ENOMEM.
 */
int resolve_need_start(struct resolver *r, struct need *nd);
/* Stop waiting and drop the answer. */
void resolve_need_stop(struct need *nd);
/* Ask for the next loop turn to hand out finished work. */
void resolve_kick(struct resolver *r);

void resolve_req_list_add(struct req_list *l, struct resolve_req *q);
void resolve_req_list_remove(struct resolve_req *q);
/* Run a lookup's stages as far as its answers allow (lookup.c). */
void resolve_req_advance(struct resolve_req *q);
/* Drop every need of a lookup. */
void resolve_req_release(struct resolve_req *q);

#endif
