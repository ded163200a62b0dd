/* In-dialog requests: BYE ends the call, the rest cross to the other leg. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "services/b2bua/b2bua_int.h"

#define LOG_MODULE "b2bua"

static const struct slice none = {NULL, 0};

enum { RELAY_TXN_OWNER = 3 }; /* txn_set_owner() kind of a relay */

static void reply(struct call *c, struct txn *t, uint16_t status,
		  struct slice reason, struct slice extra)
{
	struct sip_reply_opts o = {
	    .status = status,
	    .reason = reason,
	    .extra = extra,
	    .server = config_user_agent(c->cfg),
	};
	(void)txn_reply(t, &o);
}

static void relay_free(struct relay *r)
{
	struct relay **pp = &r->call->relays;

	while (*pp && *pp != r)
		pp = &(*pp)->next;
	if (*pp)
		*pp = r->next;
	if (r->ct)
		txn_client_detach(r->ct);
	if (r->st)
		txn_set_owner(r->st, NULL, 0);
	if (r->method == SIP_METHOD_INVITE || r->method == SIP_METHOD_UPDATE) {
		r->from->has_invite_in = false;
		r->to->has_invite_out = false;
	}
	sb_free(r);
}

void relay_drop_all(struct call *c, uint16_t code)
{
	while (c->relays) {
		struct relay *r = c->relays;

		if (r->st)
			reply(c, r->st,
			      r->method == SIP_METHOD_INVITE ? code : 481, none,
			      none);
		relay_free(r);
	}
}

/* The CANCEL of a relayed re-INVITE goes on to the other leg. */
bool relay_cancel(struct txn *t)
{
	struct relay *r = txn_owner(t, RELAY_TXN_OWNER);

	if (!r)
		return false;
	if (r->ct)
		(void)txn_client_cancel(r->ct);
	return true;
}

/* Extra lines of a relayed response: the copied ones, our Contact for a
 * target refresh (RFC 3261 12.2.2). */
static struct slice resp_extra(struct relay *r, struct sip_msg *resp)
{
	struct b2bua *b = r->call->b;
	char contact[B2BUA_CONTACT_MAX];

	(void)hdrs_copy(b, r->call, resp, false);
	if ((r->method == SIP_METHOD_INVITE ||
	     r->method == SIP_METHOD_UPDATE) &&
	    resp->status < 300 && r->from->flow.listener) {
		struct slice ct = leg_contact(r->from->flow.listener, contact,
					      sizeof(contact));

		(void)buf_append(&b->hdrs, "Contact: ", 9);
		(void)buf_append_slice(&b->hdrs, ct);
		(void)buf_append(&b->hdrs, "\r\n", 2);
		st_lines(r->from, true, &b->hdrs);
	}
	return buf_error(&b->hdrs) ? none : buf_slice(&b->hdrs);
}

static void relay_final(struct relay *r, struct sip_msg *resp,
			struct sip_reply_opts *o);
static void relay_answer(struct relay *r, struct sip_msg *resp);

static void on_relay_response(void *arg, struct txn *t, int err,
			      struct sip_inmsg *im)
{
	struct relay *r = arg;
	struct call *c = r->call;
	struct sip_msg *resp = im ? &im->msg : NULL;
	struct sip_reply_opts o = {.server = config_user_agent(c->cfg)};
	bool is_offer_method =
	    r->method == SIP_METHOD_INVITE || r->method == SIP_METHOD_UPDATE;

	if (err) {
		r->ct = NULL;
		if (r->st)
			reply(c, r->st, err == -ETIMEDOUT ? 408 : 503, none,
			      none);
		r->st = NULL;
		relay_free(r);
		if (is_offer_method || r->method == SIP_METHOD_BYE) {
			/* the other side is gone: end both (RFC 4028 10) */
			call_end(
			    c, err == -ETIMEDOUT ? CAUSE_TIMEOUT : CAUSE_ERROR,
			    "system", NULL);
		}
		return;
	}
	if (resp->status == 100)
		return;
	o.status = resp->status;
	o.reason = resp->reason;
	if (resp->status < 200) {
		o.extra = resp_extra(r, resp);
		if (r->st)
			(void)txn_reply(r->st, &o);
		return;
	}
	r->ct = NULL;
	if (resp->status < 300) {
		if (is_offer_method) {
			/* a refresh of both legs' sessions (RFC 4028 10) */
			(void)dialog_refresh_response(&r->to->dlg, resp);
			st_refreshed(r->from);
			st_b_answer(r->to, resp);
		}
		if (r->method == SIP_METHOD_INVITE) {
			txn_client_detach(t);
			r->to->ack_cseq = resp->cseq.num;
			sb_free(r->to->ack);
			r->to->ack = NULL;
		}
		relay_answer(r, resp);
		return;
	}
	if (r->is_offer) {
		/* RFC 3261 14.1: a failed offer leaves the session as it was */
		sdp_oa_reset(&r->from->oa);
		sdp_oa_reset(&r->to->oa);
	}
	relay_final(r, resp, &o);
}

/* The final resp of r's request on to r's caller, r freed. */
static void relay_final(struct relay *r, struct sip_msg *resp,
			struct sip_reply_opts *o)
{
	struct call *c = r->call;
	uint16_t status = resp->status;

	o->extra = resp_extra(r, resp);
	if (r->st) {
		if (r->method == SIP_METHOD_INVITE && o->status < 300)
			(void)leg_reply_2xx(r->from, r->st, o);
		else
			(void)txn_reply(r->st, o);
	}
	r->st = NULL;
	relay_free(r);
	/* RFC 3261 12.2.1.2: 481 or 408 to a request in a dialog ends it */
	if (status == 481 || status == 408)
		call_end(c, CAUSE_ERROR, "system", NULL);
}

static void resume_answer(struct xwait *w)
{
	relay_answer(w->ptr, xwait_msg(w));
}

/* A 2xx: its SDP crosses first. */
static void relay_answer(struct relay *r, struct sip_msg *resp)
{
	struct call *c = r->call;
	struct sip_reply_opts o = {
	    .status = resp->status,
	    .reason = resp->reason,
	    .server = config_user_agent(c->cfg),
	};
	int rc = sdpx_relay(c->b, r->to, r->from, resp, false, &o.content_type,
			    &o.body);

	if (rc == -EINPROGRESS) {
		if (ngx_defer(c, resume_answer, NULL, r->to, r, NULL, resp) ==
		    0)
			return; /* rtpengine rewrites it first */
		rc = -ENOMEM;
	}
	if (rc) {
		o.status = 500;
		o.reason = SL("Bad SDP In Answer");
		o.content_type = none;
		o.body = none;
	}
	relay_final(r, resp, &o);
}

static bool relays_full(const struct call *c)
{
	unsigned n = 0;

	for (const struct relay *r = c->relays; r; r = r->next)
		if (++n >= B2BUA_RELAYS_MAX)
			return true;
	return false;
}

static uint16_t status_of(int err)
{
	switch (err) {
	case -EBADMSG:
		return 400;
	case -EBUSY:
		return 491;
	case -EPROTO:
		return 488;
	case -ENOTSUP:
		return 415;
	case -EHOSTUNREACH: /* the media relay did not answer */
	case -EAGAIN:	    /* too many waiting for it */
		return 503;
	default:
		return 500;
	}
}

struct leg *relay_target(struct leg *l)
{
	struct call *c = l->call;

	if (l->is_detached)
		return NULL;
	if (l->other)
		return l->other;
	if (!l->is_a)
		return l == c->peer || !c->peer ? c->a : NULL;
	if (c->peer)
		return c->peer;
	if (c->nb == 1 && c->b_legs[0]->dlg.remote_tag.len &&
	    !c->b_legs[0]->is_done)
		return c->b_legs[0];
	return NULL;
}

static void bye(struct leg *l, struct txn *t)
{
	struct call *c = l->call;

	reply(c, t, 200, none, none);
	l->dlg.state = DIALOG_TERMINATED;
	if (l->is_detached || (!l->is_a && l != c->peer && !l->other)) {
		/* an early B-leg gave up, or a transferor leaves */
		l->is_done = true;
		return;
	}
	call_end(c, c->answer_ms ? CAUSE_NORMAL : CAUSE_CANCELLED,
		 l->is_a ? "caller" : "callee", l);
}

static void relay_on(struct leg *l, struct txn *t, struct sip_msg *req);

void relay_request(struct leg *l, struct txn *t, struct sip_msg *req)
{
	struct call *c = l->call;
	int err;

	err = dialog_request_in(&l->dlg, req);
	if (err) {
		/* RFC 3261 12.2.2: an old CSeq gets 500 */
		reply(c, t, err == -ERANGE ? 500 : 400, none, none);
		return;
	}
	if (req->method == SIP_METHOD_BYE) {
		bye(l, t);
		return;
	}
	if (req->method == SIP_METHOD_PRACK) {
		prack_request(l, t, req); /* RFC 3262: ends on its leg */
		return;
	}
	if (!c->is_ended && relay_target(l) &&
	    req->method == SIP_METHOD_REFER &&
	    config_b2bua(c->cfg)->refer == CONFIG_REFER_HANDLE) {
		refer_request(l, t, req);
		return;
	}
	if (!c->is_ended && relay_target(l) &&
	    req->method == SIP_METHOD_REFER &&
	    config_b2bua(c->cfg)->refer == CONFIG_REFER_REJECT) {
		reply(c, t, 603, SL("Transfer Declined"), none);
		return;
	}
	if (!c->is_ended && relay_target(l) && req->method == SIP_METHOD_INFO &&
	    anchor_info(l, t, req))
		return;
	relay_on(l, t, req);
}

static void resume_request(struct xwait *w)
{
	relay_on(w->l, w->t, xwait_msg(w));
}

/* The call ended while the request waited for rtpengine. */
static void drop_request(struct xwait *w)
{
	reply(w->c, w->t, 481, none, none);
}

/* Request req on l crosses to the other leg (its SDP first). */
static void relay_on(struct leg *l, struct txn *t, struct sip_msg *req)
{
	struct call *c = l->call;
	struct b2bua *b = c->b;
	struct slice ctype, body, extra;
	struct leg *to;
	struct relay *r;
	bool is_offer_method = req->method == SIP_METHOD_INVITE ||
			       req->method == SIP_METHOD_UPDATE;
	int err;

	to = c->is_ended ? NULL : relay_target(l);
	if (!to) {
		reply(c, t, 481, none, none);
		return;
	}
	if (is_offer_method) {
		/* RFC 3261 14.2: our own offer pending on l: 491; l's
		 * previous one not answered yet: 500 with Retry-After */
		if (l->has_invite_out) {
			b->stats.glare++;
			reply(c, t, 491, none, none);
			return;
		}
		if (l->has_invite_in) {
			reply(c, t, 500, none, SL("Retry-After: 1\r\n"));
			return;
		}
	}
	err = sdpx_relay(b, l, to, req, false, &ctype, &body);
	if (err == -EINPROGRESS) {
		err = ngx_defer(c, resume_request, drop_request, l, NULL, t,
				NULL);
		if (err == 0)
			return; /* rtpengine rewrites its SDP first */
	}
	if (err == -EBUSY && l->oa.state == SDP_OA_REMOTE_OFFER) {
		/* RFC 3311 5.2: an offer while we owe l an answer: 500 */
		reply(c, t, 500, none, SL("Retry-After: 1\r\n"));
		return;
	}
	if (err) {
		if (err == -EBUSY)
			b->stats.glare++;
		reply(c, t, status_of(err), none, none);
		return;
	}
	r = relays_full(c) ? NULL : sb_calloc(1, sizeof(*r));
	if (!r) {
		/* a peer cannot pile up requests the other side sits on */
		b->stats.relays_refused++;
		if (body.len && ctype.len == 15) { /* the offer never went */
			sdp_oa_reset(&l->oa);
			sdp_oa_reset(&to->oa);
		}
		reply(c, t, 503, none, SL("Retry-After: 1\r\n"));
		return;
	}
	r->call = c;
	r->from = l;
	r->to = to;
	r->st = t;
	r->method = req->method;
	r->is_offer = body.len && ctype.len == 15; /* application/sdp */
	r->next = c->relays;
	c->relays = r;
	txn_set_owner(t, r, RELAY_TXN_OWNER);
	if (is_offer_method) {
		l->has_invite_in = true;
		to->has_invite_out = true;
	}
	extra = hdrs_copy(b, c, req, false);
	if (is_offer_method) {
		st_lines(to, false, &b->hdrs);
		extra = buf_slice(&b->hdrs);
	}
	err = leg_request(to, req->method, 0, extra, ctype, body,
			  on_relay_response, r, &r->ct);
	if (err) {
		r->ct = NULL;
		log_debug("relay_failed", "call=%s error=\"%s\"", c->id,
			  sb_strerror(err));
		if (r->is_offer) {
			sdp_oa_reset(&l->oa);
			sdp_oa_reset(&to->oa);
		}
		reply(c, t, 503, none, none);
		r->st = NULL;
		relay_free(r);
		return;
	}
	b->stats.relayed++;
}

static void ack_on(struct leg *l, struct leg *peer, struct sip_msg *ack);

void relay_ack(struct leg *l, struct sip_msg *ack)
{
	struct call *c = l->call;
	struct leg *peer;

	if (!l->st_2xx || ack->cseq.num != l->st_2xx_cseq)
		return; /* a retransmission, or not ours to wait for */
	leg_2xx_acked(l);
	peer = leg_peer(l);
	if (!peer || !peer->ack_cseq || peer->ack || c->is_ended)
		return;
	ack_on(l, peer, ack);
}

static void resume_ack(struct xwait *w)
{
	struct leg *peer = w->ptr;

	if (peer->ack_cseq && !peer->ack && !w->c->is_ended)
		ack_on(w->l, peer, xwait_msg(w));
}

/* The ACK for peer's 2xx, with the caller's answer to a delayed offer. */
static void ack_on(struct leg *l, struct leg *peer, struct sip_msg *ack)
{
	struct call *c = l->call;
	struct slice ctype = none, body = none;
	int err = sdpx_relay(c->b, l, peer, ack, false, &ctype, &body);

	if (err == -EINPROGRESS &&
	    ngx_defer(c, resume_ack, NULL, l, peer, NULL, ack) == 0)
		return; /* rtpengine rewrites its SDP first */
	if (err) {
		ctype = none;
		body = none;
	}
	if (leg_ack(peer, peer->ack_cseq, ctype, body) != 0)
		log_debug("ack_failed", "call=%s", c->id);
}
