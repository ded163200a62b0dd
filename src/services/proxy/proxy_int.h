/* Private to the proxy: shared helpers of proxy.c, route.c, stateless.c. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_PROXY_INT_H
#define SB_SERVICES_PROXY_INT_H

#include "base/buf.h"
#include "services/proxy/proxy.h"
#include "sip/msg/patch.h"

enum {
	PROXY_SIP_PORT = 5060,
	PROXY_SIPS_PORT = 5061,
	PROXY_MAX_FORWARDS = 70,    /* RFC 3261 16.6 step 3 */
	PROXY_RR_MAX = 384,	    /* bytes of one Record-Route value */
	PROXY_TOKEN_MAX = 72,	    /* bytes of a flow token */
	PROXY_VIA_MAX = 160,	    /* bytes of our Via value */
	PROXY_BRANCH_MAX = 48,	    /* bytes of our branch */
	PROXY_LOOP_HEX = 8,	    /* hex digits of the loop hash */
	PROXY_UDP_MAX_BYTES = 1300, /* RFC 3261 18.1.1: MTU unknown */
	PROXY_TXN_OWNER = 1,	    /* txn_set_owner() kind */
	PROXY_OUT_MAX = 65536	    /* bytes of a message we print */
};

/* The next hop of a request: the URI to resolve, or a flow to reuse. */
struct proxy_hop {
	const struct sip_uri *uri; /* resolve this (NULL when has_flow) */
	struct sip_flow flow;	   /* a registered flow (plain copy) */
	bool has_flow;
};

enum {
	PROXY_ARENA_FIRST = 2048, /* stack bytes of a print's arena */
	PROXY_LOOKUP_FIRST =
	    4096,	      /* stack bytes of a location lookup's arena */
	PROXY_LOG_ESC = 96,   /* bytes of an escaped value in a log */
	PROXY_RANK_NONE = 100 /* worse than any response */
};
/* One target of a request: a client transaction (or a DNS lookup). */
struct branch {
	struct pctx *ctx;
	struct txn *ct;		 /* pending client transaction, or NULL */
	struct resolve_req *dns; /* pending lookup, or NULL */
	struct slice ruri;	 /* new Request-URI; unset: unchanged */
	struct slice path;	 /* Route values from Path, or empty */
	struct sip_uri hop;	 /* where to send (when !has_flow) */
	struct sip_flow flow;	 /* a registered flow (counted) */
	bool has_flow;
	struct resolve_target *targets; /* RFC 3263 order: &one or owned */
	struct resolve_target one;	/* a numeric host's only target */
	uint8_t ntargets, next_target;
	uint16_t q_milli;
	uint16_t status; /* final status; 0 while pending */
	bool is_started, has_provisional;
	char data[]; /* ruri, path and hop text */
};

/* A request in progress: its server transaction and its branches. */
struct pctx {
	struct pctx *next, *prev; /* the proxy's requests in progress */
	struct proxy *p;
	struct txn *st;
	struct sip_msg *req;	  /* txn_request(st), until the final */
	const struct config *cfg; /* snapshot when the request came */
	struct branch **br;	  /* targets, q descending */
	uint32_t nbr, cap;
	uint32_t group_end;	   /* branches [0, group_end) started */
	struct wheel_timer ring;   /* ring timeout (INVITE) */
	struct wheel_timer serial; /* the current q-group's time */
	char *best;		   /* best final so far, as forwarded */
	uint32_t best_len;
	uint16_t best_status; /* 0: none yet */
	char loop[PROXY_LOOP_HEX];
	char up[PROXY_TOKEN_MAX]; /* the caller's flow token, or none */
	uint8_t up_len;
	bool is_invite;
	bool is_record_routed;
	bool is_cancelled, is_timed_out, has_6xx, is_final;
	bool is_stepping, is_step_again; /* branches_step() re-entered */
};

struct proxy {
	struct proxy_deps deps;
	struct txn_layer *tl;
	const struct config *cfg;
	struct buf out;	   /* a message being printed */
	struct pctx *ctxs; /* requests in progress */
	struct proxy_stats stats;
};

/* proxy.c */

/* A final (or provisional) response of ours on t. */
void proxy_reply(struct txn *t, uint16_t status, struct slice reason,
		 struct slice extra);

/* print.c: a branch's request and a response to forward */

bool proxy_is_dialog_creating(const struct sip_msg *m);
/* The caller's flow token into c when the caller needs one. */
void proxy_up_token(struct pctx *c, struct sip_msg *req);
/* The request of branch b leaving by listener out on tp, into p->out. */
int proxy_print_branch(struct pctx *c, struct branch *b,
		       const struct tp_listener *out, enum sip_transport tp);
/* resp without our Via, into p->out. */
int proxy_print_response(struct proxy *p, struct sip_inmsg *resp);

/* target.c: checks and targets of a new request */

/* RFC 3261 16.3; false when it answered t. */
bool proxy_validate(struct proxy *p, struct txn *t, struct sip_msg *req,
		    const struct config *cfg, char loop[PROXY_LOOP_HEX]);
/* RFC 3261 16.5: c's branches; false when it answered (or the request is
 * the local service's: *is_local_svc). */
bool proxy_targets(struct pctx *c, struct sip_msg *req, bool *is_local_svc);
/* A branch of c with copies of ruri (may be unset), path and hop; NULL
 * past max_branches, without memory or when hop does not parse. */
struct branch *proxy_branch_new(struct pctx *c, struct slice ruri,
				struct slice path, struct slice hop,
				uint16_t q_milli);

/* route.c */

/* An IP literal host ("192.0.2.1", "[2001:db8::1]") as an address with
 * port; false for names. */
bool proxy_host_addr(struct slice host, uint16_t port, struct sip_addr *out);
/* RFC 3261 16.3 step 4: the hash of what a looping request keeps, as
 * PROXY_LOOP_HEX hex digits in out. */
void proxy_loop_hash(struct sip_msg *m, char out[PROXY_LOOP_HEX]);
/* A Via of m is ours with the same loop hash: a loop (482). */
bool proxy_is_loop(const struct config *cfg, struct sip_msg *m,
		   const char hash[PROXY_LOOP_HEX]);
/* host is ours whatever the port: a `domains` name, a listener's
 * address or advertised host (digest realms, RFC 3261 22.1). */
bool proxy_host_is_ours(const struct config *cfg, struct slice host);
/* Our Via sent-by is this listener's: a Via value of a message names us. */
bool proxy_via_is_self(const struct config *cfg, const struct sip_via *v);
/*
 * RFC 3261 16.4: fix a strict router's request and drop our own Route
 * values, as patches in ps. *ruri is set to the Request-URI to use (the
 * received one, or the last Route's for a strict router); *next to the
 * first Route left (NULL: none). *had_self tells whether one of ours went.
 * Returns 0, -EBADMSG (a Route that does not parse) or -ENOMEM.
 */
int proxy_routes(const struct config *cfg, struct sip_msg *m,
		 struct sip_patchset *ps, const struct sip_uri **ruri,
		 const struct sip_nameaddr **next, bool *had_self);
/* The first of our own Route values in m (loose routing), or NULL. */
const struct sip_nameaddr *proxy_self_route(const struct config *cfg,
					    struct sip_msg *m);
/*
 * "<sip:HOST:PORT;transport=tcp;lr>" for listener l into out (r2: add
 * ";r2=on"; up, down: flow tokens for ";sbu=" and ";sbd=", may be
 * empty). Returns the slice, empty on overflow.
 */
struct slice proxy_rr_value(const struct tp_listener *l, bool r2,
			    struct slice up, struct slice down, char *out,
			    size_t cap);
/*
 * RFC 5626 5.3-like flow tokens: a flow (transport, remote address) as
 * text with a MAC keyed per process, so a peer cannot make one up.
 * proxy_flow_token returns the length written into out, 0 on error.
 */
size_t proxy_flow_token(const struct sip_flow *f, char out[PROXY_TOKEN_MAX]);
bool proxy_flow_parse(struct slice tok, struct sip_flow *out);
/*
 * The flow an in-dialog request must take, from the tokens of our Route
 * value r (";sbu=" the caller's side, ";sbd=" the callee's): the other
 * side's of the one src came from. False when none applies.
 */
bool proxy_route_flow(const struct sip_nameaddr *r, const struct sip_flow *src,
		      struct sip_flow *out);
/* The listener a request to tp/family leaves by (the flow's if any). */
struct tp_listener *proxy_out_listener(const struct resolve_target *to,
				       const struct sip_flow *flow);

/* stateless.c */

/* RFC 3261 16.11: forward an ACK for a 2xx (or any request routed by us)
 * without state; responses per their second Via. */
bool proxy_stateless_ack(struct proxy *p, struct sip_inmsg *im);
bool proxy_stateless_response(struct proxy *p, struct sip_inmsg *im);

/* proxy.c, for stateless.c */

#endif
