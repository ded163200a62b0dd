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

static const struct slice none = {NULL, 0};

static void branches_step(struct pctx *c);

/* --- life cycle of a request ------------------------------------------ */

static void branch_free(struct branch *b)
{
	if (b->ct)
		txn_client_detach(b->ct);
	resolve_cancel(b->dns);
	if (b->has_flow)
		tp_flow_clear(&b->flow);
	if (b->targets != &b->one)
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
		txn_set_owner(c->st, NULL, 0);
	p->stats.alive--;
	sb_live_dec(SB_LIVE_PROXY);
	sb_free(c);
}

/* A final response of ours (not forwarded) upstream. */
void proxy_reply(struct txn *t, uint16_t status, struct slice reason,
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
	char b[PROXY_LOG_ESC];

	c->is_final = true;
	if (c->is_cancelled) {
		/* RFC 3261 16.10: the INVITE ends with 487 */
		p->stats.cancelled++;
		proxy_reply(c->st, 487, none, none);
	} else if (c->is_timed_out && (st == 0 || st == 487 || st == 408)) {
		p->stats.ring_timeouts++;
		proxy_reply(c->st, 408, SL("No Answer"), none);
	} else if (st == 0) {
		proxy_reply(c->st, 408, none, none);
	} else if (st == 503) {
		/* RFC 3261 16.7 step 6: a 503 goes up as 500 */
		proxy_reply(c->st, 500, SL("Next Hop Unavailable"), none);
	} else if (!c->best) {
		proxy_reply(c->st, st, none, none);
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
		return PROXY_RANK_NONE;
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
	return proxy_print_branch(c, b, tcp, SIP_TP_TCP);
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
			err = proxy_print_branch(c, b, dst.listener, dst.tp);
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
		b->one = one;
		b->targets = &b->one;
		b->ntargets = 1;
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
		if (!c->is_final && proxy_print_response(p, resp) == 0 &&
		    txn_forward_response(c->st, st, to_tag_of(&resp->msg),
					 buf_slice(&p->out)) == 0)
			p->stats.forwarded_1xx++;
		return;
	}
	if (st < 300) {
		/* RFC 3261 16.7 step 5: every 2xx goes up at once */
		if (proxy_print_response(p, resp) == 0 &&
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
	branch_done(b, st, proxy_print_response(p, resp) == 0);
}

/* --- targets ----------------------------------------------------------- */

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
		    proxy_branch_new(c, na->uri.raw, none, na->uri.raw, 1000))
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

bool proxy_request(struct proxy *p, struct txn *t, struct sip_msg *req)
{
	const struct config *cfg = p->cfg;
	bool is_local_svc = false;
	struct pctx *c;

	c = sb_calloc(1, sizeof(*c));
	if (!c) {
		proxy_reply(t, 500, none, none);
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
	    config_proxy(cfg)->is_record_route && proxy_is_dialog_creating(req);
	wheel_timer_init(&c->ring, on_ring_timer);
	wheel_timer_init(&c->serial, on_serial_timer);
	c->next = p->ctxs;
	if (p->ctxs)
		p->ctxs->prev = c;
	p->ctxs = c;
	if (!proxy_validate(p, t, req, cfg, c->loop)) {
		c->is_final = true;
		ctx_free(c);
		return true;
	}
	if (!proxy_targets(c, req, &is_local_svc)) {
		c->st = is_local_svc ? NULL : t;
		c->is_final = true;
		ctx_free(c);
		return !is_local_svc;
	}
	p->stats.requests++;
	txn_set_owner(t, c, PROXY_TXN_OWNER);
	if (c->is_record_routed)
		proxy_up_token(c, req);
	if (c->is_invite)
		wheel_start(p->deps.wheel, &c->ring,
			    (uint64_t)config_proxy(cfg)->ring_timeout_s * 1000);
	branches_step(c);
	return true;
}

bool proxy_cancel(struct proxy *p, struct txn *t)
{
	struct pctx *c = txn_owner(t, PROXY_TXN_OWNER);

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
