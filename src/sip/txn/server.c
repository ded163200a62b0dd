/* Server transactions: RFC 3261 17.2 (INVITE and non-INVITE), RFC 6026,
 * CANCEL (9.2), and where responses go (18.2.2, RFC 3581). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "sip/txn/txn_int.h"

#define LOG_MODULE "txn"

enum {
	VIA_PARAMS_MAX = 96, /* ";received=<IPv6>;rport=65535" and NUL */
	HOST_TEXT_MAX = 64   /* an IP literal as text, with NUL */
};

static const struct slice none = {NULL, 0};

static struct slice tag_of(const struct sip_nameaddr *na)
{
	return na ? na->tag : none;
}

static void set_port(struct sip_addr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else
		a->in.sin_port = htons(port);
}

static bool host_is_ip(struct slice host, const struct sip_addr *ip)
{
	struct sip_addr a;

	if (sip_addr_from_host(host, 0, &a) ||
	    a.sa.sa_family != ip->sa.sa_family)
		return false;
	if (a.sa.sa_family == AF_INET)
		return a.in.sin_addr.s_addr == ip->in.sin_addr.s_addr;
	return memcmp(&a.in6.sin6_addr, &ip->in6.sin6_addr,
		      sizeof(a.in6.sin6_addr)) == 0;
}

/* vp[n..] = name then val, as snprintf would: n past the end if too long. */
static int put(char *vp, size_t cap, int n, const char *name, const char *val,
	       size_t len)
{
	size_t nl = strlen(name), at = (size_t)n;

	if (at + nl + len < cap) {
		memcpy(vp + at, name, nl);
		memcpy(vp + at + nl, val, len);
		vp[at + nl + len] = '\0';
	}
	return (int)(at + nl + len);
}

/*
 * Where a response to im goes (RFC 3261 18.2.2, RFC 3581 4), and the Via
 * parameters to add (18.2.1): dst is a plain copy (no conn reference) and
 * via_params lives in im's arena (empty if it could not be made).
 */
static void reply_route(struct sip_inmsg *im, struct sip_flow *dst,
			struct slice *via_params)
{
	const struct sip_via *v = im->msg.via;
	uint16_t src_port = sip_addr_port(&im->flow.remote);
	uint16_t def = im->flow.tp == SIP_TP_TLS ? TXN_SIPS_PORT : TXN_SIP_PORT;
	uint16_t port = v->has_port ? v->port : def;
	char ip[HOST_TEXT_MAX], vp[VIA_PARAMS_MAX];
	struct sip_addr maddr;
	int n = 0;

	if (im->flow.remote.sa.sa_family == AF_INET) /* no inet_ntop's printf */
		buf_fmt_ip4(
		    ip, (const unsigned char *)&im->flow.remote.in.sin_addr);
	else
		sip_addr_ip(&im->flow.remote, ip, sizeof(ip));
	/* RFC 3581 4: received even when equal to sent-by, with rport */
	if (ip[0] && (v->has_rport || !host_is_ip(v->host, &im->flow.remote)))
		n = put(vp, sizeof(vp), 0, ";received=", ip, strlen(ip));
	if (v->has_rport && n >= 0 && (size_t)n < sizeof(vp)) {
		char d[BUF_UINT_MAX];

		n = put(vp, sizeof(vp), n, ";rport=", d,
			buf_fmt_uint(d, src_port));
	}
	*via_params = none;
	if (n > 0 && (size_t)n < sizeof(vp)) {
		char *p = arena_strndup(&im->arena, vp, (size_t)n);
		if (p)
			*via_params = slice_make(p, (size_t)n);
	}

	*dst = im->flow;
	if (sip_transport_is_reliable(im->flow.tp)) {
		/* RFC 3261 18.2.2: the request's connection, else a new one
		 * to the source address and the sent-by port */
		set_port(&dst->remote, port);
	} else if (v->maddr.p &&
		   sip_addr_from_host(v->maddr, port, &maddr) == 0) {
		/* RFC 3261 18.2.2: maddr, at the sent-by port */
		dst->remote = maddr;
	} else {
		/* RFC 3261 18.2.2: the source address (received); RFC 3581
		 * 4: the source port when the client asked with rport */
		set_port(&dst->remote, v->has_rport ? src_port : port);
	}
}

/*
 * The To tag of our responses: the request's own in a dialog, else the
 * TU's (kept for ACK matching and CANCEL), else one we make once. Once the
 * request is gone a final went out, so the tag is settled.
 */
static struct slice reply_tag(struct txn *t, struct slice given)
{
	struct slice have;
	char buf[TXN_TAG_CHARS];
	char *p;

	if (!t->req)
		return t->to_tag;
	have = tag_of(t->req->msg.to);
	if (have.p) {
		t->to_tag = have;
		return have;
	}
	if (given.len && slice_eq(given, t->to_tag))
		return t->to_tag;
	if (!given.len && t->to_tag.p)
		return t->to_tag;
	if (!given.len)
		given = txn_layer_tag(buf);
	p = arena_strndup(&t->req->arena, given.p, given.len);
	if (!p)
		return given;
	t->to_tag = slice_make(p, given.len);
	return t->to_tag;
}

/* A response sent without a transaction (overload, or no memory). */
static void reply_stateless(struct txn_layer *tl, struct sip_inmsg *im,
			    unsigned status, struct slice to_tag,
			    struct slice extra)
{
	char tag[TXN_TAG_CHARS];
	struct sip_reply_opts o = {
	    .status = (uint16_t)status,
	    .to_tag = to_tag.len ? to_tag : txn_layer_tag(tag),
	    .extra = extra,
	    .server = tl->o.server,
	};
	struct sip_flow dst;
	struct buf b;

	reply_route(im, &dst, &o.via_params);
	buf_init(&b, TXN_OUT_MAX);
	if (sip_reply_build(&b, &im->msg, &o) == 0) {
		tl->stats.responses_out[txn_status_class(status)]++;
		if (tl->send(&dst, b.p, b.len, NULL, NULL))
			tl->stats.transport_errors++;
	}
	buf_close(&b);
}

static void overload(struct txn_layer *tl, struct sip_inmsg *im)
{
	char extra[32];

	/* RFC 3261 21.5.4: 503 with Retry-After, no state kept */
	snprintf(extra, sizeof(extra), "Retry-After: %u\r\n",
		 (unsigned)TXN_RETRY_AFTER_S);
	tl->stats.overloads++;
	reply_stateless(tl, im, 503, none, slice_cstr(extra));
	sip_inmsg_free(im);
}

static bool is_full(const struct txn_layer *tl)
{
	return tl->o.max_txns && tl->stats.alive >= tl->o.max_txns;
}

/* RFC 3261 17.2.1: Timer G resends the final, doubling up to T2. */
static void on_timer_g(struct wheel_timer *w)
{
	struct txn *t = txn_of_retx(w);
	const struct txn_timers *tm = &t->tl->o.timers;

	if (t->state != TXN_STATE_COMPLETED)
		return;
	t->tl->stats.retransmits_out++;
	txn_layer_send(t, slice_make(t->out, t->out_len), false);
	t->retx_ms = t->retx_ms * 2 < tm->t2_ms ? t->retx_ms * 2 : tm->t2_ms;
	txn_layer_timer(t, &t->retx, t->retx_ms);
}

/* Timers H, I, J and L: each ends the transaction in its own state. */
static void on_timer_end(struct wheel_timer *w)
{
	struct txn *t = txn_of_end(w);
	const struct txn_user *u = &t->tl->o.user;
	char b[64];

	switch (t->state) {
	case TXN_STATE_COMPLETED:
		if (t->method == SIP_METHOD_INVITE) {
			/* RFC 3261 17.2.1: Timer H, no ACK came */
			t->tl->stats.timeouts++;
			log_debug("timeout", "timer=H txn=%s",
				  log_esc(t->branch, b, sizeof(b)));
			if (u->on_timeout)
				u->on_timeout(u->ctx, t);
		}
		break;
	case TXN_STATE_CONFIRMED: /* RFC 3261 17.2.1: Timer I */
	case TXN_STATE_ACCEPTED:  /* RFC 6026 7.1: Timer L */
		break;
	default:
		return;
	}
	txn_layer_end(t);
}

/* The state a response moves the transaction to, with its timers. */
static void after_reply(struct txn *t, unsigned cls)
{
	const struct txn_timers *tm = &t->tl->o.timers;

	if (cls == 1) {
		if (t->state == TXN_STATE_TRYING)
			txn_layer_set_state(t, TXN_STATE_PROCEEDING);
		return;
	}
	if (t->method != SIP_METHOD_INVITE) {
		/* RFC 3261 17.2.2: Timer J, zero on a reliable transport */
		txn_layer_set_state(t, TXN_STATE_COMPLETED);
		txn_layer_timer(t, &t->end,
				t->is_reliable ? 0 : 64ull * tm->t1_ms);
		return;
	}
	if (cls == 2) {
		if (t->state == TXN_STATE_ACCEPTED)
			return;
		/* RFC 6026 7.1: 2xx moves to Accepted, Timer L */
		txn_layer_set_state(t, TXN_STATE_ACCEPTED);
		txn_layer_timer(t, &t->end, 64ull * tm->t1_ms);
		return;
	}
	/* RFC 3261 17.2.1: Completed; Timer G on UDP only, Timer H */
	txn_layer_set_state(t, TXN_STATE_COMPLETED);
	if (!t->is_reliable) {
		t->retx_ms = tm->t1_ms;
		txn_layer_timer(t, &t->retx, t->retx_ms);
	}
	txn_layer_timer(t, &t->end, 64ull * tm->t1_ms);
}

/* Copy s to p when set; returns where the next copy goes. */
static char *keep_slice(struct slice *s, char *p)
{
	if (!s->p)
		return p;
	memcpy(p, s->p, s->len);
	s->p = p;
	return p + s->len;
}

/*
 * Let the request go once a final made t Completed. Matching (RFC 3261
 * 17.2.3: branch, sent-by, method), the To tag for a CANCEL's 200 (9.2),
 * logs and txn_flow() need a few bytes: they are copied with the flow into
 * one exact-size block, and the message (bytes, arena, parse) is freed.
 * No response is built after a final, so via_params go too. RFC 2543
 * transactions keep the request, which their matching reads. Without
 * memory the request stays.
 */
static void release(struct txn *t)
{
	struct slice *keep[] = {&t->branch, &t->sent_by, &t->to_tag,
				&t->method_name};
	size_t nkeep = t->method == SIP_METHOD_UNKNOWN ? 4 : 3, n = 0;
	struct txn_kept *k;
	char *p;

	for (size_t i = 0; i < nkeep; i++)
		n += keep[i]->p ? keep[i]->len : 0;
	k = sb_malloc(sizeof(*k) + n);
	if (!k)
		return;
	/* a plain copy: t->dst holds a reference to the same connection */
	k->flow = t->req->flow;
	p = k->bytes;
	for (size_t i = 0; i < nkeep; i++)
		p = keep_slice(keep[i], p);
	if (t->method != SIP_METHOD_UNKNOWN)
		t->method_name = sip_method_name(t->method);
	t->kept = k;
	t->via_params = none;
	t->req = sip_inmsg_free(t->req);
}

/*
 * A server transaction takes a response of class cls: any before its
 * final, and while Accepted a 2xx again (RFC 6026 7.1: the TU's 2xx
 * retransmissions and a proxy's forked 2xx pass through).
 */
static bool may_answer(const struct txn *t, unsigned cls)
{
	if (!t->is_server || cls == 0)
		return false;
	return t->state == TXN_STATE_TRYING ||
	       t->state == TXN_STATE_PROCEEDING ||
	       (t->state == TXN_STATE_ACCEPTED && cls == 2);
}

/*
 * Keep a copy of response bytes (for retransmissions), send them, and move
 * the state machine; a final that makes t Completed lets the request go.
 */
static int keep_and_send(struct txn *t, uint16_t status, struct slice bytes)
{
	unsigned cls = txn_status_class(status);
	char *out = sb_malloc(bytes.len);
	int err;

	if (!out)
		return -ENOMEM;
	memcpy(out, bytes.p, bytes.len);
	sb_free(t->out);
	t->out = out;
	t->out_len = (uint32_t)bytes.len;
	t->status = status;
	t->tl->stats.responses_out[cls]++;
	err = txn_layer_send(t, slice_make(t->out, t->out_len), false);
	after_reply(t, cls);
	if (t->state == TXN_STATE_COMPLETED && !t->is_rfc2543)
		release(t);
	return err;
}

int txn_reply(struct txn *t, const struct sip_reply_opts *o)
{
	unsigned cls = txn_status_class(o->status);
	struct sip_reply_opts ro = *o;
	struct buf *b;
	int err;

	if (!may_answer(t, cls))
		return -EINVAL;
	ro.via_params = t->via_params;
	/* RFC 3261 8.2.6.2: a To tag on everything but 100 Trying */
	ro.to_tag = o->status > 100 ? reply_tag(t, o->to_tag) : none;
	if (!ro.server.p)
		ro.server = t->tl->o.server;
	/* Built in the layer's buffer, kept at its exact size */
	b = &t->tl->build;
	buf_reset(b);
	err = sip_reply_build(b, &t->req->msg, &ro);
	if (err)
		return err;
	return keep_and_send(t, o->status, buf_slice(b));
}

int txn_forward_response(struct txn *t, uint16_t status, struct slice to_tag,
			 struct slice bytes)
{
	unsigned cls = txn_status_class(status);

	if (status == 100 || !bytes.len || !may_answer(t, cls))
		return -EINVAL;
	if (to_tag.len && t->req)
		(void)reply_tag(t, to_tag);
	return keep_and_send(t, status, bytes);
}

void txn_set_owner(struct txn *t, void *owner, uint8_t kind)
{
	t->owner = owner;
	t->owner_kind = owner ? kind : 0;
}

void *txn_owner(const struct txn *t, uint8_t kind)
{
	return t->owner_kind == kind ? t->owner : NULL;
}

static int reply_status(struct txn *t, unsigned status, struct slice to_tag)
{
	struct sip_reply_opts o = {.status = (uint16_t)status,
				   .to_tag = to_tag};

	return txn_reply(t, &o);
}

/* A server transaction adopting im; NULL when out of memory. */
static struct txn *create(struct txn_layer *tl, struct sip_inmsg *im)
{
	struct sip_msg *m = &im->msg;
	struct txn *t = txn_layer_alloc(tl, true, 0);
	struct sip_flow dst;

	if (!t)
		return NULL;
	t->req = im;
	t->method = m->method;
	t->method_name = m->method_name;
	t->is_reliable = sip_transport_is_reliable(im->flow.tp);
	t->branch = m->via->branch;
	t->sent_by = m->via->host;
	t->has_sent_by_port = m->via->has_port;
	t->sent_by_port = m->via->port;
	t->is_rfc2543 = !txn_has_cookie(t->branch);
	t->hash = t->is_rfc2543 ? txn_layer_key_2543(m)
				: txn_layer_key_branch(t->branch);
	reply_route(im, &dst, &t->via_params);
	tp_flow_copy(&t->dst, &dst);
	wheel_timer_init(&t->retx, on_timer_g);
	wheel_timer_init(&t->end, on_timer_end);
	txn_layer_set_state(t, m->method == SIP_METHOD_INVITE
				   ? TXN_STATE_PROCEEDING
				   : TXN_STATE_TRYING);
	txn_layer_link(t);
	return t;
}

void txn_server_start(struct txn_layer *tl, struct sip_inmsg *im)
{
	struct txn *t;

	if (is_full(tl)) {
		overload(tl, im);
		return;
	}
	t = create(tl, im);
	if (!t) {
		reply_stateless(tl, im, 500, none, none);
		sip_inmsg_free(im);
		return;
	}
	/* RFC 3261 17.2.1: the INVITE server sends 100 Trying at once */
	if (t->method == SIP_METHOD_INVITE)
		reply_status(t, 100, none);
	if (tl->o.user.on_request)
		tl->o.user.on_request(tl->o.user.ctx, t, &im->msg);
	else
		reply_status(t, 501, none);
}

void txn_server_absorb(struct txn *t, struct sip_inmsg *im)
{
	t->tl->stats.retransmits_in++;
	switch (t->state) {
	case TXN_STATE_PROCEEDING:
	case TXN_STATE_COMPLETED:
		/* RFC 3261 17.2.1, 17.2.2: resend the last response */
		if (t->out_len)
			txn_layer_send(t, slice_make(t->out, t->out_len),
				       false);
		break;
	default:
		/* Trying: nothing to resend yet (17.2.2); Confirmed and
		 * Accepted absorb silently (17.2.1, RFC 6026 7.1) */
		break;
	}
	sip_inmsg_free(im);
}

void txn_server_ack(struct txn *t, struct sip_inmsg *im)
{
	struct txn_layer *tl = t->tl;

	switch (t->state) {
	case TXN_STATE_COMPLETED:
		/* RFC 3261 17.2.1: ACK of the non-2xx final; Timer I absorbs
		 * its retransmissions, zero on a reliable transport */
		tl->stats.requests[SIP_METHOD_ACK]++;
		txn_layer_stop_timers(t);
		txn_layer_set_state(t, TXN_STATE_CONFIRMED);
		txn_layer_timer(t, &t->end,
				t->is_reliable ? 0 : tl->o.timers.t4_ms);
		break;
	case TXN_STATE_CONFIRMED:
		tl->stats.retransmits_in++;
		break;
	case TXN_STATE_ACCEPTED:
		/* RFC 6026 7.1: an ACK in Accepted goes to the TU */
		tl->stats.requests[SIP_METHOD_ACK]++;
		txn_layer_stray(tl, im);
		return;
	default:
		tl->stats.requests[SIP_METHOD_ACK]++;
		break;
	}
	sip_inmsg_free(im);
}

void txn_server_cancel(struct txn_layer *tl, struct sip_inmsg *im,
		       struct txn *target)
{
	bool is_pending = target && target->method == SIP_METHOD_INVITE &&
			  target->state == TXN_STATE_PROCEEDING;
	/* RFC 3261 9.2: 200 when the CANCEL matched, with the To tag of
	 * the target's responses; 481 when nothing matched */
	struct slice tag = target ? reply_tag(target, none) : none;
	unsigned status = target ? 200 : 481;
	struct txn *c = is_full(tl) ? NULL : create(tl, im);

	if (c) {
		reply_status(c, status, tag);
	} else {
		reply_stateless(tl, im, status, tag, none);
		sip_inmsg_free(im);
	}
	if (!is_pending)
		return;
	/* RFC 3261 9.2: the TU ends the INVITE, by default with 487 */
	if (tl->o.user.on_cancel)
		tl->o.user.on_cancel(tl->o.user.ctx, target);
	else
		reply_status(target, 487, none);
}
