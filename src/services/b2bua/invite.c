/* The initial INVITE: the A-leg, targets, B-legs and their responses. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/rand.h"
#include "runtime/config.h"
#include "services/b2bua/b2bua_int.h"
#include "services/proxy/proxy.h"
#include "services/registrar/registrar.h"
#include "services/users/users.h"

#define LOG_MODULE "b2bua"

static const struct slice none = {NULL, 0};

/* --- the answer to the caller ------------------------------------------ */

/* Extra lines of a response on the A-leg: our Contact, copied headers. */
static struct slice a_extra(struct call *c, struct sip_msg *resp,
			    bool with_contact)
{
	struct b2bua *b = c->b;
	char contact[B2BUA_CONTACT_MAX];
	struct slice ct = none;

	(void)hdrs_copy(b, c, resp, false);
	if (with_contact && c->a->flow.listener)
		ct = leg_contact(c->a->flow.listener, contact, sizeof(contact));
	if (ct.len) {
		(void)buf_append(&b->hdrs, "Contact: ", 9);
		(void)buf_append_slice(&b->hdrs, ct);
		(void)buf_append(&b->hdrs, "\r\n", 2);
	}
	(void)buf_append(&b->hdrs, b2bua_allow, strlen(b2bua_allow));
	return buf_error(&b->hdrs) ? none : buf_slice(&b->hdrs);
}

/* The caller's copy of B-leg response resp (body and extra to come). */
static struct sip_reply_opts a_opts(const struct call *c,
				    const struct sip_msg *resp)
{
	return (struct sip_reply_opts){
	    .status = resp->status,
	    .reason = resp->reason,
	    .to_tag = c->a->dlg.local_tag,
	    .copy_record_route = true, /* RFC 3261 12.1.1 */
	    .server = config_user_agent(c->cfg),
	};
}

static void relay_provisional(struct call *c, struct leg *l,
			      struct sip_msg *resp);

static void resume_provisional(struct xwait *w)
{
	relay_provisional(w->c, w->l, xwait_msg(w));
}

static void relay_provisional(struct call *c, struct leg *l,
			      struct sip_msg *resp)
{
	struct b2bua *b = c->b;
	struct sip_reply_opts o = a_opts(c, resp);
	bool has_sdp;
	int err;

	/* a 2xx queued behind it (c->peer set) still comes after it */
	if (!c->st || c->is_final || c->is_ended)
		return;
	err = sdpx_relay(b, l, c->a, resp, true, &o.content_type, &o.body);
	if (err == -EINPROGRESS &&
	    ngx_defer(c, resume_provisional, NULL, l, NULL, NULL, resp) == 0)
		return; /* rtpengine rewrites its SDP first */
	has_sdp = err == 0 && o.body.len;
	if (!has_sdp) {
		o.content_type = none;
		o.body = none;
	}
	o.extra = a_extra(c, resp, true);
	if (!c->ring_ms && (resp->status == 180 || resp->status == 183))
		c->ring_ms = call_now_ms();
	if (has_sdp)
		call_set_state(c, CALL_EARLY_MEDIA);
	else if (resp->status == 180 && c->state != CALL_EARLY_MEDIA)
		call_set_state(c, CALL_RINGING);
	else if (c->state == CALL_CALLING)
		call_set_state(c, CALL_PROCEEDING);
	prack_a_send(c, &o);
}

/* --- responses on a B-leg's INVITE --------------------------------------- */

/* ACK and BYE a 2xx nobody wants (a lost race, a late or forked answer). */
static void kill_answer(struct leg *l, struct sip_msg *resp)
{
	struct leg tmp;

	if (l->dlg.remote_tag.len && resp->to && resp->to->tag.p &&
	    !slice_eq(resp->to->tag, l->dlg.remote_tag)) {
		/* RFC 3261 13.2.2.4: another dialog: ACK it, then BYE it */
		tmp = *l;
		if (dialog_uac_fork(&tmp.dlg, &l->dlg, resp) != 0)
			return;
		(void)leg_request(&tmp, SIP_METHOD_ACK, resp->cseq.num, none,
				  none, none, NULL, NULL, NULL);
		leg_bye(&tmp);
		dialog_free(&tmp.dlg);
		return;
	}
	if (dialog_uac_response(&l->dlg, resp) != 0 &&
	    l->dlg.state != DIALOG_CONFIRMED)
		return;
	(void)leg_ack(l, resp->cseq.num, none, none);
	leg_bye(l);
	l->is_done = true;
}

static void start_limit(struct call *c);
static void answer_caller(struct call *c, struct leg *l, struct sip_msg *resp);

static void answered(struct call *c, struct leg *l, struct sip_msg *resp)
{
	struct b2bua *b = c->b;

	c->peer = l;
	l->other = c->a;
	c->a->other = l;
	l->status = resp->status;
	l->ack_cseq = resp->cseq.num; /* sent with the caller's ACK */
	for (uint32_t i = 0; i < c->nb; i++) {
		struct leg *o2 = c->b_legs[i];

		if (o2 != l && o2->invite_ct && !o2->is_cancelled) {
			o2->is_cancelled = true;
			(void)txn_client_cancel(o2->invite_ct);
		}
	}
	wheel_stop(b->deps.wheel, &c->ring);
	answer_caller(c, l, resp);
}

static void resume_answer(struct xwait *w)
{
	if (!w->c->is_ended)
		answer_caller(w->c, w->l, xwait_msg(w));
}

/* The call ended while the answer waited for rtpengine: the callee's
 * 2xx still gets its ACK (the BYE follows). */
static void drop_answer(struct xwait *w)
{
	(void)leg_ack(w->l, xwait_msg(w)->cseq.num, none, none);
}

/* B-leg l's 2xx resp on to the caller. */
static void answer_caller(struct call *c, struct leg *l, struct sip_msg *resp)
{
	struct b2bua *b = c->b;
	struct sip_reply_opts o = a_opts(c, resp);
	int err;

	err = prack_2xx_body(l, resp, &o.content_type, &o.body);
	if (err == -EINPROGRESS) {
		if (ngx_defer(c, resume_answer, drop_answer, l, NULL, NULL,
			      resp) == 0)
			return; /* rtpengine rewrites its SDP first */
		err = -ENOMEM;
	}
	if (err) {
		bool is_relay = err == -EHOSTUNREACH;

		log_info("bad_answer", "call=%s error=\"%s\"", c->id,
			 sb_strerror(err));
		(void)leg_ack(l, resp->cseq.num, none, none);
		leg_bye(l);
		call_fail(c, is_relay ? 503 : 502,
			  is_relay ? SL("Media Relay Unavailable")
				   : SL("Bad SDP From Callee"),
			  CAUSE_ERROR);
		return;
	}
	(void)a_extra(c, resp, true);
	if (c->req)
		st_a_answer(c->a, c->req, &b->hdrs);
	o.extra = buf_slice(&b->hdrs);
	st_b_answer(l, resp);
	if (!c->st || prack_a_reply_2xx(c->a, c->st, &o) != 0) {
		(void)leg_ack(l, resp->cseq.num, none, none);
		call_end(c, CAUSE_ERROR, "system", NULL);
		return;
	}
	txn_set_owner(c->st, NULL, 0);
	c->st = NULL;
	c->req = NULL;
	c->offer = NULL;
	c->is_final = true;
	c->a_status = resp->status;
	c->a->dlg.state = DIALOG_CONFIRMED;
	c->answer_ms = call_now_ms();
	call_set_state(c, CALL_ANSWERED);
	anchor_answered(c);
	start_limit(c);
}

void invite_b_response(void *arg, struct txn *t, int err, struct sip_inmsg *im)
{
	struct leg *l = arg;
	struct call *c = l->call;
	struct sip_msg *resp = im ? &im->msg : NULL;
	uint16_t status;

	if (l->refer && !err && im->msg.status >= 200 && im->msg.status < 300) {
		/* a transfer's new leg answered: refer.c bridges it */
		l->invite_ct = NULL;
		txn_client_detach(t);
		refer_leg_answered(l, &im->msg);
		return;
	}
	if (l->refer && !err && im->msg.status > 100 && im->msg.status < 200) {
		(void)dialog_uac_response(&l->dlg, &im->msg);
		refer_leg_progress(l, &im->msg);
		return;
	}

	if (err) {
		l->invite_ct = NULL;
		if (!c->is_ended && !l->is_cancelled && bleg_send(l))
			return; /* the next target (RFC 3263 4.3) */
		bleg_failed(l, err == -ETIMEDOUT ? 408 : 503, none, NULL);
		return;
	}
	status = resp->status;
	if (status == 100)
		return;
	if (status < 200) {
		(void)dialog_uac_response(&l->dlg, resp);
		if (!prack_b_provisional(l, resp))
			return; /* RFC 3262 4: a retransmission */
		if (!c->is_ended && !c->peer)
			relay_provisional(c, l, resp);
		return;
	}
	l->invite_ct = NULL;
	if (status < 300) {
		/* later 2xx (retransmissions, forks) come as strays */
		txn_client_detach(t);
		if (c->is_ended || (c->peer && c->peer != l) ||
		    dialog_uac_response(&l->dlg, resp) != 0) {
			kill_answer(l, resp);
			call_maybe_free(c);
			return;
		}
		answered(c, l, resp);
		return;
	}
	if (status == 503 && !c->is_ended && !l->is_cancelled && bleg_send(l))
		return; /* RFC 3263 4.3: 503 tries the next target */
	bleg_failed(l, status, resp->reason, resp);
}

void invite_stray_2xx(struct leg *l, struct sip_inmsg *im)
{
	struct sip_msg *resp = &im->msg;

	if (resp->cseq.method != SIP_METHOD_INVITE)
		return;
	if (l->dlg.remote_tag.len && resp->to && resp->to->tag.p &&
	    !slice_eq(resp->to->tag, l->dlg.remote_tag)) {
		kill_answer(l, resp);
		return;
	}
	/* RFC 3261 13.2.2.4: each retransmission gets the same ACK */
	if (l->ack && l->ack_cseq == resp->cseq.num) {
		struct sip_flow dst;
		txn_send_fn send =
		    l->call->b->deps.send ? l->call->b->deps.send : tp_send;

		if (leg_dst(l, &dst))
			(void)send(&dst, l->ack, l->ack_len, NULL, NULL);
	}
}

/* --- timers --------------------------------------------------------------- */

static struct call *call_of_ring(struct wheel_timer *w)
{
	return (struct call *)((char *)w - offsetof(struct call, ring));
}

static struct call *call_of_limit(struct wheel_timer *w)
{
	return (struct call *)((char *)w - offsetof(struct call, limit));
}

static void on_ring(struct wheel_timer *w)
{
	struct call *c = call_of_ring(w);

	log_debug("ring_timeout", "call=%s", c->id);
	call_end(c, CAUSE_NO_ANSWER, "system", NULL);
}

static void on_limit(struct wheel_timer *w)
{
	struct call *c = call_of_limit(w);

	log_info("max_duration", "call=%s", c->id);
	call_end(c, CAUSE_TIMEOUT, "system", NULL);
}

static void start_limit(struct call *c)
{
	uint32_t s = config_b2bua(c->cfg)->max_duration_s;

	if (s)
		wheel_start(c->b->deps.wheel, &c->limit, (uint64_t)s * 1000);
}

/* --- a new call ------------------------------------------------------------
 */

static int keep_info(struct call *c, struct sip_msg *req,
		     const struct sip_flow *in)
{
	char src[64];
	size_t n1 = req->from->uri.raw.len, n2 = req->ruri.raw.len, n3;

	sip_addr_text(&in->remote, src, sizeof(src));
	n3 = strlen(src);
	c->info = sb_malloc(n1 + n2 + n3 + 3);
	if (!c->info)
		return -ENOMEM;
	memcpy(c->info, req->from->uri.raw.p, n1);
	c->info[n1] = '\0';
	memcpy(c->info + n1 + 1, req->ruri.raw.p, n2);
	c->info[n1 + 1 + n2] = '\0';
	memcpy(c->info + n1 + n2 + 2, src, n3 + 1);
	return 0;
}

/* The option tags a caller may require of us: 100rel (prack.c) and timer
 * (timer.c). */
static bool is_supported(struct slice tag)
{
	return slice_caseeq_lit(tag, "100rel") ||
	       slice_caseeq_lit(tag, "timer");
}

/* RFC 3261 8.2.2.3: 420 listing only the required tags we lack. */
static bool unsupported(struct call *c, struct txn *t, struct sip_msg *req)
{
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_REQUIRE);
	const struct sip_token *tok;
	char extra[256];
	size_t n = 0;
	int err;

	if (!h)
		return false;
	err = sip_msg_tokens(req, SIP_HDR_REQUIRE, &tok);
	if (err == -ENOENT)
		return false;
	if (err) {
		n = (size_t)snprintf(
		    extra, sizeof(extra), "Unsupported: %.*s\r\n",
		    (int)(h->value.len < 200 ? h->value.len : 200), h->value.p);
	} else {
		bool any = false;

		for (; tok; tok = tok->next) {
			if (is_supported(tok->value))
				continue;
			any = true;
			if (n + tok->value.len + 20 > sizeof(extra))
				continue; /* listed as far as it fits */
			n += (size_t)snprintf(
			    extra + n, sizeof(extra) - n, "%s%.*s",
			    n ? ", " : "Unsupported: ", SL_ARG(tok->value));
		}
		if (!any)
			return false;
		if (n)
			n += (size_t)snprintf(extra + n, sizeof(extra) - n,
					      "\r\n");
	}
	struct sip_reply_opts o = {
	    .status = 420,
	    .extra = slice_make(extra, n < sizeof(extra) ? n : 0),
	    .server = config_user_agent(c->cfg),
	};
	(void)txn_reply(t, &o);
	return true;
}

static void reply_now(struct txn *t, const struct config *cfg, uint16_t status,
		      struct slice reason)
{
	struct sip_reply_opts o = {
	    .status = status,
	    .reason = reason,
	    .server = config_user_agent(cfg),
	};
	(void)txn_reply(t, &o);
}

/* The route's codec policy leaves no codec of the caller's offer. */
static bool codecs_none(struct call *c)
{
	if (c->codecs.nallow == 0 && c->codecs.nstrip == 0)
		return false;
	if (sdp_codecs_apply(c->offer, &c->codecs, c->b->sel) != -ENOENT)
		return false;
	log_info("no_common_codec", "call=%s", c->id);
	return true;
}

static void media_offer(struct call *c);
static void resume_offer(struct xwait *w);
static void route(struct call *c);

void invite_start(struct b2bua *b, struct txn *t, struct sip_msg *req)
{
	const struct config *cfg = b->cfg;
	const struct config_proxy *cp = config_proxy(cfg);
	const struct sip_flow *in = txn_flow(t);
	char tag[B2BUA_TAG_LEN + 1];
	uint32_t mf = 70;
	struct call *c;
	struct leg *a;
	uint32_t ring;
	int err;

	/* RFC 3261 16.3 step 3, carried across: a B-leg needs at least 1
	 * (a request we build never carries 0), so a loop ends here */
	if (sip_msg_max_forwards(req, &mf) == 0 && mf <= 1) {
		reply_now(t, cfg, 483, none);
		return;
	}
	if (st_invite_check(cfg, t, req))
		return;
	c = sb_calloc(1, sizeof(*c));
	if (!c) {
		reply_now(t, cfg, 500, none);
		return;
	}
	c->b = b;
	c->cfg = cfg;
	c->start_ms = call_now_ms();
	c->max_forwards = mf > 70 ? 69 : mf - 1;
	c->route = config_route_match(cfg, req->ruri.user, req->ruri.host);
	b2bua_hex(c->id, 12);
	wheel_timer_init(&c->ring, on_ring);
	wheel_timer_init(&c->limit, on_limit);
	wheel_timer_init(&c->reap, NULL);
	c->next = b->calls;
	if (b->calls)
		b->calls->prev = c;
	b->calls = c;
	b->stats.calls++;
	b->stats.alive++;
	c->st = t;
	c->req = req;
	txn_set_owner(t, c, B2BUA_TXN_OWNER);
	c->a = a = leg_new(c, true);
	if (!a || keep_info(c, req, in) != 0 || anchor_start(c) != 0) {
		call_fail(c, 500, none, CAUSE_ERROR);
		return;
	}
	b2bua_hex(tag, B2BUA_TAG_LEN);
	err = dialog_uas_new(&a->dlg, req, slice_cstr(tag));
	if (err) {
		call_fail(c, err == -EBADMSG ? 400 : 500,
			  err == -EBADMSG ? SL("Bad Contact") : none,
			  CAUSE_ERROR);
		return;
	}
	dialog_table_add(&b->dialogs, &a->dlg);
	a->is_in_table = true;
	tp_flow_copy(&a->flow, in);
	a->has_flow = true;
	sdp_leg_init(&a->sdp, tp_listener_host(in->listener),
		     (sb_rand64() >> 2) | 1);
	/* last use of req before the 420: a final releases the request */
	if (unsupported(c, t, req)) {
		c->is_final = true;
		c->a_status = 420;
		c->st = NULL;
		c->req = NULL;
		txn_set_owner(t, NULL, 0);
		call_end(c, CAUSE_ERROR, "system", NULL);
		return;
	}
	prack_a_start(a, t, req);
	err = sdpx_parse(req, &c->offer);
	if (!err && c->offer) {
		enum sdp_oa_kind kind;

		err = sdp_oa_recv(&a->oa, c->offer, &kind);
	}
	if (!err && c->offer && codecs_none(c)) {
		/* RFC 3261 21.4.26: nothing in the offer is acceptable */
		call_fail(c, 488, SL("Not Acceptable Here"), CAUSE_NO_CODEC);
		return;
	}
	if (err) {
		if (err == -ENOTSUP)
			call_fail(c, 415, none, CAUSE_ERROR);
		else
			call_fail(c, err == -EBADMSG ? 400 : 488,
				  err == -EBADMSG ? SL("Bad SDP") : none,
				  CAUSE_ERROR);
		return;
	}
	log_debug("call_new", "call=%s", c->id);
	ring = config_b2bua(cfg)->ring_timeout_s;
	if (!ring)
		ring = cp->ring_timeout_s;
	wheel_start(b->deps.wheel, &c->ring, (uint64_t)ring * 1000);
	if (c->ngx && c->offer) {
		media_offer(c);
		return;
	}
	route(c);
}

/* rtpengine rewrites the caller's offer once, before any B-leg. */
static void media_offer(struct call *c)
{
	struct sdp s;
	int err = ngx_cross(c, c->a, anchor_family(c->a), c->offer,
			    SDP_OA_OFFER, c->req->arena, &s);

	if (err == -EINPROGRESS) {
		if (ngx_defer(c, resume_offer, NULL, c->a, NULL, c->st, NULL) ==
		    0)
			return;
		err = -ENOMEM;
	}
	if (!err)
		err = ngx_keep_offer(c, &s);
	if (err) {
		call_fail(c, 503, SL("Media Relay Unavailable"), CAUSE_ERROR);
		return;
	}
	route(c);
}

static void resume_offer(struct xwait *w)
{
	if (!w->c->is_ended && w->c->req)
		media_offer(w->c);
}

/* Where the call goes: B-legs toward the Request-URI's targets. */
static void route(struct call *c)
{
	const struct config_proxy *cp = config_proxy(c->cfg);
	struct sip_msg *req = c->req;

	if (proxy_uri_is_local(c->cfg, &req->ruri)) {
		if (!bleg_location(c, &req->ruri))
			return;
	} else if (cp->foreign == CONFIG_FOREIGN_REFUSE) {
		call_fail(c, 403, SL("Relaying Denied"), CAUSE_REJECTED);
		return;
	} else {
		bleg_start(c, req->ruri.raw, none,
			   cp->outbound_proxy ? slice_cstr(cp->outbound_proxy)
					      : req->ruri.raw,
			   NULL);
	}
	if (c->nb == 0 && !c->is_ended)
		call_fail(c, 500, none, CAUSE_ERROR);
}

void invite_cancel(struct call *c)
{
	/* RFC 3261 9.2: the caller gets 487, every B-leg a CANCEL */
	call_end(c, CAUSE_CANCELLED, "caller", NULL);
}
