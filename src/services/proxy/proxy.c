/* The stateful proxy: targets, branches, responses (RFC 3261 16). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "services/proxy/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/rand.h"
#include "runtime/config.h"
#include "services/proxy/proxy_int.h"
#include "services/registrar/registrar.h"
#include "services/users/users.h"

#define LOG_MODULE "proxy"

enum {
	ARENA_FIRST = 2048,  /* stack bytes of a print's arena */
	LOOKUP_FIRST = 4096, /* stack bytes of a location lookup's arena */
	LOG_ESC = 96,	     /* bytes of an escaped value in a log */
	RANK_NONE = 100	     /* worse than any response */
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
	struct resolve_target *targets; /* RFC 3263 order, owned */
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

static const struct slice none = {NULL, 0};

static void branches_step(struct pctx *c);

const struct config *proxy_config(const struct proxy *p)
{
	return p->cfg;
}

struct proxy_stats *proxy_stats_mut(struct proxy *p)
{
	return &p->stats;
}

txn_send_fn proxy_sender(const struct proxy *p)
{
	return p->deps.send ? p->deps.send : tp_send;
}

/* --- life cycle of a request ------------------------------------------ */

static void branch_free(struct branch *b)
{
	if (b->ct)
		txn_client_detach(b->ct);
	resolve_cancel(b->dns);
	if (b->has_flow)
		tp_flow_clear(&b->flow);
	sb_free(b->targets);
	sb_free(b);
}

static void ctx_unlink(struct pctx *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->p->ctxs == c)
		c->p->ctxs = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

static void ctx_free(struct pctx *c)
{
	struct proxy *p = c->p;

	ctx_unlink(c);
	wheel_stop(p->deps.wheel, &c->ring);
	wheel_stop(p->deps.wheel, &c->serial);
	for (uint32_t i = 0; i < c->nbr; i++)
		branch_free(c->br[i]);
	sb_free(c->br);
	sb_free(c->best);
	if (c->st)
		txn_set_owner(c->st, NULL);
	p->stats.alive--;
	sb_live_dec(SB_LIVE_PROXY);
	sb_free(c);
}

/* A final response of ours (not forwarded) upstream. */
static void reply(struct txn *t, uint16_t status, struct slice reason,
		  struct slice extra)
{
	struct sip_reply_opts o = {
	    .status = status, .reason = reason, .extra = extra};

	txn_reply(t, &o);
}

/* The chosen final goes upstream and the request is done. */
static void finish(struct pctx *c)
{
	struct proxy *p = c->p;
	uint16_t st = c->best_status;
	char b[LOG_ESC];

	c->is_final = true;
	if (c->is_cancelled) {
		/* RFC 3261 16.10: the INVITE ends with 487 */
		p->stats.cancelled++;
		reply(c->st, 487, none, none);
	} else if (c->is_timed_out && (st == 0 || st == 487 || st == 408)) {
		p->stats.ring_timeouts++;
		reply(c->st, 408, SL("No Answer"), none);
	} else if (st == 0) {
		reply(c->st, 408, none, none);
	} else if (st == 503) {
		/* RFC 3261 16.7 step 6: a 503 goes up as 500 */
		reply(c->st, 500, SL("Next Hop Unavailable"), none);
	} else if (!c->best) {
		reply(c->st, st, none, none);
	} else {
		txn_forward_response(c->st, st, none,
				     slice_make(c->best, c->best_len));
	}
	p->stats.final_errors++;
	log_debug("request_done", "status=%u branches=%u method=%s", st, c->nbr,
		  log_esc(sip_method_name(txn_method(c->st)), b, sizeof(b)));
	ctx_free(c);
}

/* RFC 3261 16.7 step 6: 6xx first, then the lowest class. */
static unsigned rank(uint16_t status)
{
	if (status == 0)
		return RANK_NONE;
	return status >= 600 ? 0 : status / 100;
}

static bool is_pending(const struct branch *b)
{
	return b->is_started && b->status == 0;
}

/* Keep resp (printed in p->out) as the best final when it ranks higher. */
static void offer_best(struct pctx *c, uint16_t status, bool is_printed)
{
	struct proxy *p = c->p;
	char *copy = NULL;

	if (rank(status) >= rank(c->best_status))
		return;
	if (is_printed && (copy = sb_malloc(p->out.len)))
		memcpy(copy, p->out.p, p->out.len);
	sb_free(c->best);
	c->best = copy;
	c->best_len = copy ? (uint32_t)p->out.len : 0;
	c->best_status = status;
}

/* Cancel the pending branches; those without a provisional end now. */
static void cancel_pending(struct pctx *c, uint32_t from, uint32_t to,
			   uint16_t as)
{
	for (uint32_t i = from; i < to; i++) {
		struct branch *b = c->br[i];

		if (!is_pending(b))
			continue;
		if (b->dns) {
			resolve_cancel(b->dns);
			b->dns = NULL;
			b->status = as;
			continue;
		}
		if (!b->ct) {
			b->status = as;
			continue;
		}
		/* RFC 3261 9.1: the layer holds it until a provisional */
		txn_client_cancel(b->ct);
		if (!b->has_provisional) {
			/* RFC 3261 16.8: no response at all counts as 408 */
			txn_client_detach(b->ct);
			b->ct = NULL;
			b->status = as;
		}
	}
}

/* --- printing and sending a branch ------------------------------------ */

static bool is_dialog_creating(const struct sip_msg *m)
{
	if (m->to && m->to->tag.p)
		return false;
	return m->method == SIP_METHOD_INVITE ||
	       m->method == SIP_METHOD_SUBSCRIBE ||
	       m->method == SIP_METHOD_REFER || m->method == SIP_METHOD_NOTIFY;
}

/* RFC 3261 16.6 step 3: Max-Forwards one less, or 70 when absent. */
static int patch_max_forwards(struct sip_patchset *ps, struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
	char num[BUF_UINT_MAX];
	uint32_t mf;

	if (!h || sip_msg_max_forwards(m, &mf) != 0)
		return sip_patch_hdr_append(ps, SL("Max-Forwards"), SL("70"));
	return sip_patch_hdr_set_value(
	    ps, h, slice_make(num, buf_fmt_uint(num, mf ? mf - 1 : 0)));
}

/* RFC 3261 22.3: credentials for our realms are consumed here. */
static int patch_credentials(struct sip_patchset *ps, struct sip_msg *m,
			     const struct config *cfg)
{
	const struct sip_auth *a = NULL;

	if (sip_msg_auth(m, SIP_HDR_PROXY_AUTHORIZATION, &a) != 0)
		return 0;
	for (; a; a = a->next) {
		int err;

		/* realms are our domains without a port (RFC 3261 22.1) */
		if (!a->realm.len || !proxy_host_is_ours(cfg, a->realm))
			continue;
		err = sip_patch_hdr_remove(ps, &m->hdrs[a->hdr]);
		if (err)
			return err;
	}
	return 0;
}

/* One interface: the same transport and address (reuseport listeners
 * of one address are one interface). */
static bool same_iface(const struct tp_listener *a, const struct tp_listener *b)
{
	return a == b ||
	       (tp_listener_transport(a) == tp_listener_transport(b) &&
		sip_addr_eq(tp_listener_addr(a), tp_listener_addr(b)));
}

/* The Record-Route values: ours, twice when the interface changes. */
static int patch_record_route(struct sip_patchset *ps, struct sip_msg *m,
			      const struct tp_listener *in,
			      const struct tp_listener *out, struct slice up,
			      struct slice down)
{
	const struct sip_hdr *first = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE);
	char v1[PROXY_RR_MAX], v2[PROXY_RR_MAX];
	bool is_double = in && out && !same_iface(in, out);
	struct slice top, second = none;
	char both[2 * PROXY_RR_MAX + 2];

	int n;

	if (!out)
		return -EINVAL;
	/* RFC 5658: the value facing the next hop first, then ours facing
	 * the previous one */
	top = proxy_rr_value(out, is_double, up, down, v1, sizeof(v1));
	if (is_double)
		second = proxy_rr_value(in, true, up, down, v2, sizeof(v2));
	if (!top.len || (is_double && !second.len))
		return -E2BIG;
	n = snprintf(both, sizeof(both), "%.*s%s%.*s", SL_ARG(top),
		     is_double ? ", " : "", SL_ARG(second));
	if (n < 0 || (size_t)n >= sizeof(both))
		return -E2BIG;
	if (first)
		return sip_patch_hdr_insert_before(
		    ps, first, SL("Record-Route"), slice_make(both, (size_t)n));
	return sip_patch_hdr_append(ps, SL("Record-Route"),
				    slice_make(both, (size_t)n));
}

/* RFC 3327 5: the Path of the binding becomes the first Route values. */
static int patch_path(struct sip_patchset *ps, struct sip_msg *m,
		      struct slice path)
{
	const struct sip_nameaddr *r = NULL;

	if (!path.len)
		return 0;
	if (sip_msg_routes(m, &r) == 0 && r)
		return sip_patch_hdr_insert_before(ps, &m->hdrs[r->hdr],
						   SL("Route"), path);
	return sip_patch_hdr_append(ps, SL("Route"), path);
}

/* Our Via: the listener's sent-by, a branch carrying the loop hash. */
static int patch_via(struct sip_patchset *ps, const struct pctx *c,
		     const struct tp_listener *l, enum sip_transport tp)
{
	static const char hexd[] = "0123456789abcdef";
	struct slice host = tp_listener_host(l);
	char v[PROXY_VIA_MAX], rnd[16];
	uint64_t r = sb_rand64();
	int n;

	for (size_t i = 0; i < sizeof(rnd); i++, r >>= 4)
		rnd[i] = hexd[r & 15];
	n = snprintf(v, sizeof(v),
		     "SIP/2.0/%.*s %.*s:%u;branch=z9hG4bKsb%.*s.%.*s",
		     SL_ARG(sip_transport_name(tp)), SL_ARG(host),
		     (unsigned)tp_listener_port(l), PROXY_LOOP_HEX, c->loop,
		     (int)sizeof(rnd), rnd);
	if (n < 0 || (size_t)n >= sizeof(v))
		return -E2BIG;
	return sip_patch_hdr_prepend(ps, SL("Via"), slice_make(v, (size_t)n));
}

/*
 * RFC 3261 18.2.1, RFC 3581 4: received (and the rport value) on the
 * sender's Via as it goes on, so responses forwarded without state (a 2xx
 * retransmission) reach it behind a NAT.
 */
static int patch_received(struct sip_patchset *ps, const struct sip_msg *m,
			  const struct sip_flow *in)
{
	const struct sip_via *v = m->via;
	char ip[INET6_ADDRSTRLEN + 16], port[BUF_UINT_MAX + 1];
	struct slice host = v->host;
	int err = 0, n, pn;

	if (in->remote.sa.sa_family == AF_UNSPEC)
		return 0;
	n = snprintf(ip, sizeof(ip), ";received=");
	sip_addr_ip(&in->remote, ip + n, sizeof(ip) - (size_t)n);
	if (host.len >= 2 && host.p[0] == '[')
		host = slice_make(host.p + 1, host.len - 2);
	/* the rport value first: a bare ";rport" may end the value */
	if (v->has_rport && v->rport.len == 0) {
		port[0] = '=';
		pn = (int)buf_fmt_uint(port + 1, sip_addr_port(&in->remote));
		err = sip_patch_add(ps, (uint32_t)(v->rport.p - m->buf), 0,
				    slice_make(port, (size_t)pn + 1));
	}
	if (!err && (v->has_rport || !slice_caseeq(host, slice_cstr(ip + n))) &&
	    !v->received.p)
		err = sip_patch_add(ps, v->off + v->len, 0, slice_cstr(ip));
	return err;
}

/* The callee's flow token: for a branch sent through a registered flow. */
static struct slice down_token(const struct branch *b, char *out, size_t cap)
{
	(void)cap;
	if (!b->has_flow)
		return none;
	return slice_make(out, proxy_flow_token(&b->flow, out));
}

/*
 * The caller's flow token (RFC 5626 5.3 in spirit): when the caller is on
 * a stream or behind a NAT (its Contact is not where it sends from), so
 * requests toward it take the flow its INVITE came on.
 */
static void up_token(struct pctx *c, struct sip_msg *req)
{
	const struct sip_flow *in = txn_flow(c->st);
	const struct sip_nameaddr *ct = NULL;

	if (!sip_transport_is_reliable(in->tp) &&
	    (sip_msg_contacts(req, &ct) != 0 || !ct ||
	     !registrar_contact_is_nated(&ct->uri, in)))
		return;
	c->up_len = (uint8_t)proxy_flow_token(in, c->up);
}

/* Print the request for branch b leaving by listener out into p->out. */
static int print_branch(struct pctx *c, struct branch *b,
			const struct tp_listener *out, enum sip_transport tp)
{
	struct proxy *p = c->p;
	struct sip_msg *m = c->req;
	const struct sip_nameaddr *next;
	const struct sip_uri *ruri;
	char first[ARENA_FIRST], down[PROXY_TOKEN_MAX];
	struct sip_patchset ps;
	struct arena a;
	bool had_self;
	int err;

	arena_init(&a, first, sizeof(first), 0);
	sip_patchset_init(&ps, m, &a, NULL);
	err = proxy_routes(c->cfg, m, &ps, &ruri, &next, &had_self);
	if (!err && b->ruri.len)
		err = sip_patch_ruri_set(&ps, b->ruri);
	if (!err)
		err = patch_max_forwards(&ps, m);
	if (!err)
		err = patch_credentials(&ps, m, c->cfg);
	if (!err && c->is_record_routed)
		err = patch_record_route(&ps, m, txn_flow(c->st)->listener, out,
					 slice_make(c->up, c->up_len),
					 down_token(b, down, sizeof(down)));
	if (!err)
		err = patch_path(&ps, m, b->path);
	if (!err)
		err = patch_received(&ps, m, txn_flow(c->st));
	if (!err)
		err = patch_via(&ps, c, out, tp);
	buf_reset(&p->out);
	if (!err)
		err = sip_msg_print(&ps, &p->out);
	arena_close(&a);
	return err;
}

static void on_branch_response(void *arg, struct txn *t, int err,
			       struct sip_inmsg *resp);

/*
 * RFC 3261 18.1.1: a request over 1300 bytes for a UDP next hop goes over
 * TCP, decided here so that our Via and Record-Route name the TCP side
 * (two Record-Route values when it came in on UDP). Not through a UDP
 * flow (a phone behind NAT is reached only there) nor without a TCP
 * listener of that family: then it stays UDP.
 */
static int move_to_tcp(struct pctx *c, struct branch *b, struct sip_flow *dst)
{
	struct tp_listener *tcp =
	    tp_listener_find(SIP_TP_TCP, dst->remote.sa.sa_family);

	if (b->has_flow || !tcp) {
		dst->is_udp_only = true;
		return 0;
	}
	dst->tp = SIP_TP_TCP;
	dst->listener = tcp;
	return print_branch(c, b, tcp, SIP_TP_TCP);
}

/* Send b to its next target; false when none is left or all failed. */
static bool branch_send(struct branch *b)
{
	struct pctx *c = b->ctx;
	struct proxy *p = c->p;

	while (b->has_flow || b->next_target < b->ntargets) {
		struct sip_flow dst;
		const struct resolve_target *to = NULL;
		int err;

		if (b->has_flow) {
			dst = b->flow;
		} else {
			to = &b->targets[b->next_target++];
			memset(&dst, 0, sizeof(dst));
			dst.tp = to->tp;
			dst.remote = to->addr;
			dst.listener = proxy_out_listener(to, NULL);
		}
		if (!dst.listener)
			err = -EAFNOSUPPORT;
		else
			err = print_branch(c, b, dst.listener, dst.tp);
		if (!err && dst.tp == SIP_TP_UDP &&
		    p->out.len > PROXY_UDP_MAX_BYTES)
			err = move_to_tcp(c, b, &dst);
		if (!err)
			err = txn_client_start(p->tl, &dst, buf_slice(&p->out),
					       on_branch_response, b, &b->ct);
		if (!err) {
			p->stats.branches++;
			return true;
		}
		b->ct = NULL;
		log_debug("branch_failed", "error=\"%s\"", sb_strerror(err));
		if (b->has_flow)
			break;
	}
	return false;
}

/* A branch is done with status (received or ours). */
static void branch_done(struct branch *b, uint16_t status, bool is_printed)
{
	struct pctx *c = b->ctx;

	b->status = status;
	b->ct = NULL;
	offer_best(c, status, is_printed);
	if (status >= 600 && !c->has_6xx) {
		/* RFC 3261 16.7 step 5: a 6xx ends every other branch */
		c->has_6xx = true;
		cancel_pending(c, 0, c->nbr, 487);
	}
	branches_step(c);
}

static void on_resolved(void *arg, int err, const struct resolve_target *v,
			size_t n)
{
	struct branch *b = arg;

	b->dns = NULL;
	if (err || n == 0) {
		b->ctx->p->stats.dns_failures++;
		branch_done(b, 503, false);
		return;
	}
	b->targets = sb_malloc(n * sizeof(*v));
	if (!b->targets) {
		branch_done(b, 503, false);
		return;
	}
	memcpy(b->targets, v, n * sizeof(*v));
	b->ntargets =
	    (uint8_t)(n > RESOLVE_TARGETS_MAX ? RESOLVE_TARGETS_MAX : n);
	if (!branch_send(b))
		branch_done(b, 503, false);
}

/* Start b: its flow, its numeric address, or a DNS lookup. */
static void branch_start(struct branch *b)
{
	struct proxy *p = b->ctx->p;
	struct resolve_target one;
	int err;

	b->is_started = true;
	if (b->has_flow) {
		if (!branch_send(b))
			branch_done(b, 503, false);
		return;
	}
	err = resolve_numeric(&b->hop, &one);
	if (err == 0) {
		b->targets = sb_malloc(sizeof(one));
		if (b->targets) {
			b->targets[0] = one;
			b->ntargets = 1;
		}
		if (!branch_send(b))
			branch_done(b, 503, false);
		return;
	}
	if (err == -EAGAIN && p->deps.resolver &&
	    resolver_sip(p->deps.resolver, &b->hop, on_resolved, b, &b->dns) ==
		0)
		return;
	p->stats.dns_failures++;
	branch_done(b, err == -EINVAL ? 416 : 503, false);
}

/* --- responses from branches ------------------------------------------- */

/* Print resp without our Via into p->out. */
static int print_response(struct proxy *p, struct sip_inmsg *resp)
{
	char first[ARENA_FIRST];
	struct sip_patchset ps;
	struct arena a;
	int err;

	arena_init(&a, first, sizeof(first), 0);
	sip_patchset_init(&ps, &resp->msg, &a, NULL);
	/* RFC 3261 16.7 step 3: our Via goes */
	err = sip_patch_via_remove_top(&ps);
	buf_reset(&p->out);
	if (!err)
		err = sip_msg_print(&ps, &p->out);
	arena_close(&a);
	return err;
}

static struct slice to_tag_of(const struct sip_msg *m)
{
	return m->to && m->to->tag.p ? m->to->tag : none;
}

/* RFC 3261 16.5, 8.1.3.4: 3xx Contacts become targets (recurse). */
static bool recurse(struct pctx *c, struct sip_inmsg *resp);

static void on_branch_response(void *arg, struct txn *t, int err,
			       struct sip_inmsg *resp)
{
	struct branch *b = arg;
	struct pctx *c = b->ctx;
	struct proxy *p = c->p;
	uint16_t st;

	(void)t;
	if (err) {
		/* RFC 3263 4.3: the next address after a timeout or a
		 * transport failure */
		b->ct = NULL;
		if (!c->is_cancelled && !c->is_timed_out && branch_send(b))
			return;
		branch_done(b, err == -ETIMEDOUT ? 408 : 503, false);
		return;
	}
	st = resp->msg.status;
	if (st < 200) {
		if (st == 100)
			return; /* RFC 3261 16.7 step 5: not forwarded */
		b->has_provisional = true;
		if (!c->is_final && print_response(p, resp) == 0 &&
		    txn_forward_response(c->st, st, to_tag_of(&resp->msg),
					 buf_slice(&p->out)) == 0)
			p->stats.forwarded_1xx++;
		return;
	}
	if (st < 300) {
		/* RFC 3261 16.7 step 5: every 2xx goes up at once */
		if (print_response(p, resp) == 0 &&
		    txn_forward_response(c->st, st, to_tag_of(&resp->msg),
					 buf_slice(&p->out)) == 0)
			p->stats.forwarded_2xx++;
		b->status = st;
		/* RFC 3261 16.7 step 10: the other branches are cancelled */
		if (!c->is_final) {
			c->is_final = true;
			cancel_pending(c, 0, c->nbr, 487);
		}
		ctx_free(c); /* 2xx retransmissions: stateless (16.11) */
		return;
	}
	/* a branch we cancelled (timeout, 6xx, 2xx elsewhere) */
	if (st == 487 && !c->is_cancelled) {
		branch_done(b, 408, false);
		return;
	}
	/* RFC 3263 4.3: a 503 tries the next address */
	if (st == 503 && !c->is_cancelled && !c->is_timed_out) {
		b->ct = NULL;
		if (branch_send(b))
			return;
	}
	if (st < 400 &&
	    config_proxy(c->cfg)->redirect == CONFIG_REDIRECT_RECURSE &&
	    !c->is_cancelled && recurse(c, resp)) {
		b->status = st;
		b->ct = NULL;
		branches_step(c);
		return;
	}
	branch_done(b, st, print_response(p, resp) == 0);
}

/* --- targets ----------------------------------------------------------- */

/* A branch with copies of ruri (may be unset), path and hop text. */
static struct branch *branch_new(struct pctx *c, struct slice ruri,
				 struct slice path, struct slice hop,
				 uint16_t q_milli)
{
	struct branch *b, **v;
	char *d;

	if (c->nbr >= config_proxy(c->cfg)->max_branches)
		return NULL;
	if (c->nbr == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 2;
		v = sb_realloc(c->br, cap * sizeof(*v));
		if (!v)
			return NULL;
		c->br = v;
		c->cap = cap;
	}
	b = sb_calloc(1, sizeof(*b) + ruri.len + path.len + hop.len);
	if (!b)
		return NULL;
	b->ctx = c;
	b->q_milli = q_milli;
	d = b->data;
	if (ruri.len) {
		memcpy(d, ruri.p, ruri.len);
		b->ruri = slice_make(d, ruri.len);
		d += ruri.len;
	}
	if (path.len)
		memcpy(d, path.p, path.len);
	b->path = slice_make(d, path.len);
	d += path.len;
	memcpy(d, hop.p, hop.len);
	if (sip_uri_parse(slice_make(d, hop.len), &b->hop,
			  config_limits(c->cfg)) != 0) {
		sb_free(b);
		return NULL;
	}
	c->br[c->nbr++] = b;
	return b;
}

/* The first URI of a Path (the next hop), or the whole when one. */
static struct slice first_path_uri(struct slice path)
{
	const char *lt = memchr(path.p, '<', path.len);
	const char *gt =
	    lt ? memchr(lt, '>', path.len - (size_t)(lt - path.p)) : NULL;

	if (!lt || !gt)
		return none;
	return slice_make(lt + 1, (size_t)(gt - lt - 1));
}

static bool recurse(struct pctx *c, struct sip_inmsg *resp)
{
	const struct sip_nameaddr *na = NULL;
	bool is_added = false;

	if (sip_msg_contacts(&resp->msg, &na) != 0)
		return false;
	for (; na; na = na->next) {
		bool is_tried = false;

		if (na->is_star || (na->uri.scheme != SIP_URI_SIP &&
				    na->uri.scheme != SIP_URI_SIPS))
			continue;
		/* RFC 3261 16.5: a target is tried once */
		for (uint32_t i = 0; i < c->nbr && !is_tried; i++)
			is_tried = slice_eq(c->br[i]->ruri, na->uri.raw);
		if (!is_tried &&
		    branch_new(c, na->uri.raw, none, na->uri.raw, 1000))
			is_added = true;
	}
	return is_added;
}

/* Start the next q-group of c; false when there is none to start. */
static bool start_group(struct pctx *c)
{
	const struct config_proxy *cp = config_proxy(c->cfg);
	uint32_t end = c->group_end + 1;

	/* RFC 3261 16.6: the next group of equal q, in parallel */
	while (end < c->nbr &&
	       c->br[end]->q_milli == c->br[c->group_end]->q_milli)
		end++;
	for (uint32_t i = c->group_end; i < end; i++) {
		c->group_end = i + 1;
		branch_start(c->br[i]);
	}
	if (c->group_end < c->nbr)
		wheel_start(c->p->deps.wheel, &c->serial,
			    (uint64_t)cp->serial_timeout_s * 1000);
	return true;
}

/*
 * The request's next move once a branch changed: wait while one is
 * pending, else start the next q-group, else finish. Branches that fail
 * at once call back in; the loop runs again instead of recursing, so c
 * is freed only here, at the top.
 */
static void branches_step(struct pctx *c)
{
	if (c->is_final)
		return;
	if (c->is_stepping) {
		c->is_step_again = true;
		return;
	}
	c->is_stepping = true;
	do {
		bool is_waiting = false;

		c->is_step_again = false;
		for (uint32_t i = 0; i < c->group_end && !is_waiting; i++)
			is_waiting = is_pending(c->br[i]);
		if (is_waiting)
			break;
		wheel_stop(c->p->deps.wheel, &c->serial);
		if (c->is_cancelled || c->is_timed_out || c->has_6xx ||
		    c->group_end >= c->nbr) {
			c->is_stepping = false;
			finish(c);
			return;
		}
		start_group(c);
	} while (c->is_step_again);
	c->is_stepping = false;
}

static struct pctx *ctx_of_ring(struct wheel_timer *w)
{
	return (struct pctx *)((char *)w - offsetof(struct pctx, ring));
}

static struct pctx *ctx_of_serial(struct wheel_timer *w)
{
	return (struct pctx *)((char *)w - offsetof(struct pctx, serial));
}

static void on_ring_timer(struct wheel_timer *w)
{
	struct pctx *c = ctx_of_ring(w);

	/* RFC 3261 16.8 (Timer C): CANCEL what rings, 408 upstream */
	c->is_timed_out = true;
	cancel_pending(c, 0, c->nbr, 408);
	branches_step(c);
}

static void on_serial_timer(struct wheel_timer *w)
{
	struct pctx *c = ctx_of_serial(w);

	/* the group had its time: the next one rings */
	cancel_pending(c, 0, c->group_end, 408);
	branches_step(c);
}

/* --- requests ---------------------------------------------------------- */

/* RFC 3261 16.3: the checks before anything is forwarded. */
static bool validate(struct proxy *p, struct txn *t, struct sip_msg *req,
		     const struct config *cfg, char loop[PROXY_LOOP_HEX])
{
	const struct sip_token *tok = NULL;
	uint32_t mf;

	/* 16.3 step 3: Max-Forwards */
	if (sip_msg_max_forwards(req, &mf) == 0 && mf == 0) {
		p->stats.too_many_hops++;
		reply(t, 483, none, none);
		return false;
	}
	/* 16.3 step 5: Proxy-Require names what we do not support */
	if (sip_msg_tokens(req, SIP_HDR_PROXY_REQUIRE, &tok) == 0 && tok) {
		char extra[512];
		size_t n = 0;

		n += (size_t)snprintf(extra, sizeof(extra), "Unsupported: ");
		for (; tok && n < sizeof(extra) - 64; tok = tok->next)
			n += (size_t)snprintf(
			    extra + n, sizeof(extra) - n, "%s%.*s",
			    n > 13 ? ", " : "",
			    (int)(tok->value.len > 48 ? 48 : tok->value.len),
			    tok->value.p);
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, "\r\n");
		reply(t, 420, none, slice_make(extra, n));
		return false;
	}
	/* 16.3 step 4: our own Via with the same loop hash */
	proxy_loop_hash(req, loop);
	if (proxy_is_loop(cfg, req, loop)) {
		p->stats.loops++;
		reply(t, 482, none, none);
		return false;
	}
	return true;
}

/* RFC 3261 16.5: a user of ours: every live binding is a target. */
static bool targets_from_location(struct pctx *c, const struct sip_uri *ru)
{
	struct proxy *p = c->p;
	char aor_buf[LOCATION_AOR_MAX], first[LOOKUP_FIRST];
	struct location_binding v[64];
	struct location_time now;
	struct slice aor;
	struct arena a;
	uint32_t cap = config_proxy(c->cfg)->max_branches;
	ssize_t n;

	if (registrar_aor_from_uri(ru, aor_buf, sizeof(aor_buf), &aor) != 0) {
		p->stats.not_found++;
		reply(c->st, 404, none, none);
		return false;
	}
	location_time_now(&now);
	arena_init(&a, first, sizeof(first), 0);
	n = location_lookup(p->deps.location, aor, now.mono_ms, &a, v,
			    cap < 64 ? cap : 64);
	if (n <= 0) {
		struct users *u = users_current();
		const char *at = memchr(aor.p, '@', aor.len);
		size_t ulen = at ? (size_t)(at - aor.p) : aor.len;
		bool is_known =
		    u && at &&
		    users_lookup(u, slice_make(aor.p, ulen),
				 slice_make(at + 1, aor.len - ulen - 1));

		users_unref(u);
		arena_close(&a);
		if (n < 0) {
			reply(c->st, 500, none, none);
		} else if (is_known) {
			p->stats.unavailable++;
			reply(c->st, 480, none, none);
		} else {
			p->stats.not_found++;
			reply(c->st, 404, none, none);
		}
		return false;
	}
	for (ssize_t i = 0; i < n; i++) {
		struct location_binding *lb = &v[i];
		struct slice hop = lb->contact;
		struct branch *b;

		if (lb->path.len && !lb->use_flow)
			hop = first_path_uri(lb->path);
		if (!hop.len)
			continue;
		b = branch_new(c, lb->contact, lb->path, hop,
			       lb->q_milli == LOCATION_Q_UNSET ? 1000
							       : lb->q_milli);
		if (b && lb->use_flow) {
			tp_flow_copy(&b->flow, &lb->flow);
			b->has_flow = true;
		}
	}
	location_bindings_clear(v, (size_t)n);
	arena_close(&a);
	if (c->nbr == 0) {
		reply(c->st, 500, none, none);
		return false;
	}
	return true;
}

/* RFC 3261 16.5: the targets of a request, or an answer. */
static bool targets(struct pctx *c, struct sip_msg *req, bool *is_local_svc)
{
	struct proxy *p = c->p;
	const struct config_proxy *cp = config_proxy(c->cfg);
	const struct sip_nameaddr *next;
	const struct sip_uri *ruri;
	char first[ARENA_FIRST];
	const struct sip_nameaddr *self;
	struct sip_patchset ps;
	struct sip_flow flow;
	struct arena a;
	bool had_self, ok = true;
	int err;

	arena_init(&a, first, sizeof(first), 0);
	sip_patchset_init(&ps, req, &a, NULL);
	self = proxy_self_route(c->cfg, req);
	err = proxy_routes(c->cfg, req, &ps, &ruri, &next, &had_self);
	if (err) {
		reply(c->st, 400, SL("Bad Route"), none);
		ok = false;
	} else if (self && proxy_route_flow(self, txn_flow(c->st), &flow)) {
		/* our Record-Route named the flow toward that side */
		struct branch *b =
		    branch_new(c, ruri != &req->ruri ? ruri->raw : none, none,
			       next ? next->uri.raw : ruri->raw, 1000);
		if ((ok = b != NULL)) {
			b->flow = flow;
			b->has_flow = true;
		}
	} else if (next) {
		/* 16.5: a Route left decides; the Request-URI stays */
		ok = branch_new(c, none, none, next->uri.raw, 1000) != NULL;
	} else if (ruri->user.len == 0 && proxy_uri_is_self(c->cfg, ruri)) {
		*is_local_svc = true;
		ok = false;
	} else if (had_self) {
		/* in a dialog we record-routed: to the Request-URI */
		ok = branch_new(c, ruri != &req->ruri ? ruri->raw : none, none,
				ruri->raw, 1000) != NULL;
	} else if (proxy_uri_is_local(c->cfg, ruri)) {
		ok = targets_from_location(c, ruri);
		arena_close(&a);
		return ok;
	} else if (cp->foreign == CONFIG_FOREIGN_REFUSE) {
		p->stats.refused++;
		reply(c->st, 403, SL("Relaying Denied"), none);
		ok = false;
		arena_close(&a);
		return false;
	} else {
		struct slice hop = cp->outbound_proxy
				       ? slice_cstr(cp->outbound_proxy)
				       : ruri->raw;
		ok = branch_new(c, none, none, hop, 1000) != NULL;
	}
	if (!ok && !err && !*is_local_svc && c->nbr == 0)
		reply(c->st, 500, none, none);
	arena_close(&a);
	return ok && !*is_local_svc;
}

bool proxy_request(struct proxy *p, struct txn *t, struct sip_msg *req)
{
	const struct config *cfg = p->cfg;
	bool is_local_svc = false;
	struct pctx *c;

	c = sb_calloc(1, sizeof(*c));
	if (!c) {
		reply(t, 500, none, none);
		return true;
	}
	sb_live_inc(SB_LIVE_PROXY);
	p->stats.alive++;
	c->p = p;
	c->st = t;
	c->req = req;
	c->cfg = cfg;
	c->is_invite = req->method == SIP_METHOD_INVITE;
	c->is_record_routed =
	    config_proxy(cfg)->is_record_route && is_dialog_creating(req);
	wheel_timer_init(&c->ring, on_ring_timer);
	wheel_timer_init(&c->serial, on_serial_timer);
	c->next = p->ctxs;
	if (p->ctxs)
		p->ctxs->prev = c;
	p->ctxs = c;
	if (!validate(p, t, req, cfg, c->loop)) {
		c->is_final = true;
		ctx_free(c);
		return true;
	}
	if (!targets(c, req, &is_local_svc)) {
		c->st = is_local_svc ? NULL : t;
		c->is_final = true;
		ctx_free(c);
		return !is_local_svc;
	}
	p->stats.requests++;
	txn_set_owner(t, c);
	if (c->is_record_routed)
		up_token(c, req);
	if (c->is_invite)
		wheel_start(p->deps.wheel, &c->ring,
			    (uint64_t)config_proxy(cfg)->ring_timeout_s * 1000);
	branches_step(c);
	return true;
}

bool proxy_cancel(struct proxy *p, struct txn *t)
{
	struct pctx *c = txn_owner(t);

	(void)p;
	if (!c)
		return false;
	/* RFC 3261 16.10: CANCEL every pending branch; 487 once done */
	c->is_cancelled = true;
	cancel_pending(c, 0, c->nbr, 487);
	branches_step(c);
	return true;
}

bool proxy_stray(struct proxy *p, struct sip_inmsg *im)
{
	if (im->msg.is_request)
		return im->msg.method == SIP_METHOD_ACK &&
		       proxy_stateless_ack(p, im);
	return proxy_stateless_response(p, im);
}

/* --- the proxy --------------------------------------------------------- */

int proxy_new(const struct proxy_deps *deps, const struct config *cfg,
	      struct proxy **out)
{
	struct proxy *p;

	if (!deps || !deps->location || !deps->wheel || !cfg)
		return -EINVAL;
	p = sb_calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->deps = *deps;
	p->cfg = cfg;
	buf_init(&p->out, PROXY_OUT_MAX);
	*out = p;
	return 0;
}

void proxy_set_layer(struct proxy *p, struct txn_layer *tl)
{
	p->tl = tl;
}

struct proxy *proxy_free(struct proxy *p)
{
	if (!p)
		return NULL;
	/* the layer went first: forget the transactions, free the rest */
	while (p->ctxs) {
		struct pctx *c = p->ctxs;

		c->st = NULL;
		for (uint32_t i = 0; i < c->nbr; i++)
			c->br[i]->ct = NULL;
		ctx_free(c);
	}
	buf_close(&p->out);
	sb_free(p);
	return NULL;
}

void proxy_set_config(struct proxy *p, const struct config *cfg)
{
	p->cfg = cfg;
}

const struct proxy_stats *proxy_stats(const struct proxy *p)
{
	return &p->stats;
}
