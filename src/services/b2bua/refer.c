/* Transfers (RFC 3515): the B2BUA carries out a REFER itself. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "services/b2bua/b2bua_int.h"

#define LOG_MODULE "b2bua"

static const struct slice none = {NULL, 0};

enum {
	XFER_RING_MS = 60000, /* the target must answer within this */
	XFER_TO_MAX = 600     /* bytes of the new leg's To */
};

/*
 * A blind transfer: x (the transferor) asked that y (its peer, the
 * transferee) be connected to a target. The B2BUA calls the target on a
 * new leg z without SDP, offers z's SDP to y in a re-INVITE, answers z in
 * its ACK (RFC 3725 flow I), then bridges y and z. x hears how it went in
 * NOTIFYs with message/sipfrag bodies (RFC 3515 2.4.5) and leaves with
 * its BYE.
 */
struct refer {
	struct refer *next; /* the call's transfers */
	struct call *call;
	struct leg *x, *y, *z;
	struct txn *reinv_ct; /* the re-INVITE to y */
	struct wheel_timer ring;
	uint16_t notified; /* last status told to x */
};

static void done(struct refer *r)
{
	struct refer **pp = &r->call->refers;

	while (*pp && *pp != r)
		pp = &(*pp)->next;
	if (*pp)
		*pp = r->next;
	if (wheel_timer_active(&r->ring))
		wheel_stop(r->call->b->deps.wheel, &r->ring);
	if (r->reinv_ct)
		txn_client_detach(r->reinv_ct);
	if (r->x->xfer == r)
		r->x->xfer = NULL;
	if (r->z && r->z->refer == r)
		r->z->refer = NULL;
	if (r->call->state == CALL_TRANSFERRING)
		r->call->state = CALL_ANSWERED;
	sb_free(r);
}

void refer_drop_all(struct call *c)
{
	while (c->refers)
		done(c->refers);
}

/* RFC 3515 2.4.5: the progress of the referred INVITE as a sipfrag. */
static void notify(struct refer *r, uint16_t status, struct slice reason,
		   bool is_final)
{
	struct leg *x = r->x;
	char body[128], extra[128];
	int n, m;

	if (x->dlg.state != DIALOG_CONFIRMED || status == r->notified)
		return;
	r->notified = status;
	n = snprintf(body, sizeof(body), "SIP/2.0 %u %.*s\r\n",
		     (unsigned)status,
		     (int)(reason.len ? (reason.len < 64 ? reason.len : 64)
				      : strlen(sip_reason_phrase(status))),
		     reason.len ? reason.p : sip_reason_phrase(status));
	m = snprintf(
	    extra, sizeof(extra), "Event: refer\r\nSubscription-State: %s\r\n",
	    is_final ? "terminated;reason=noresource" : "active;expires=60");
	if (n < 0 || (size_t)n >= sizeof(body) || m < 0 ||
	    (size_t)m >= sizeof(extra))
		return;
	(void)leg_request(x, SIP_METHOD_NOTIFY, 0, slice_make(extra, (size_t)m),
			  SL("message/sipfrag;version=2.0"),
			  slice_make(body, (size_t)n), NULL, NULL, NULL);
}

static void fail(struct refer *r, uint16_t status, struct slice reason)
{
	log_info("transfer_failed", "call=%s status=%u", r->call->id,
		 (unsigned)status);
	notify(r, status < 300 ? 500 : status, reason, true);
	done(r);
}

static struct refer *refer_of_ring(struct wheel_timer *w)
{
	return (struct refer *)((char *)w - offsetof(struct refer, ring));
}

static void on_ring(struct wheel_timer *w)
{
	struct refer *r = refer_of_ring(w);

	if (r->z && r->z->invite_ct && !r->z->is_cancelled) {
		r->z->is_cancelled = true;
		(void)txn_client_cancel(r->z->invite_ct);
	}
}

void refer_request(struct leg *x, struct txn *t, struct sip_msg *req)
{
	struct call *c = x->call;
	struct leg *y = leg_peer(x);
	const struct sip_nameaddr *rt = NULL;
	struct sip_reply_opts o = {.server = config_user_agent(c->cfg)};
	char to[XFER_TO_MAX];
	struct refer *r;
	int n, rc;

	if (!c->answer_ms || !y || x->xfer || y->has_invite_out ||
	    y->has_invite_in || y->oa.state != SDP_OA_IDLE) {
		o.status = 491; /* RFC 3261 14.2 in spirit: try again */
		(void)txn_reply(t, &o);
		return;
	}
	if (sip_msg_nameaddrs(req, SIP_HDR_REFER_TO, &rt) != 0 || !rt ||
	    rt->next ||
	    (rt->uri.scheme != SIP_URI_SIP && rt->uri.scheme != SIP_URI_SIPS)) {
		o.status = 400; /* RFC 3515 2.4.1: exactly one Refer-To */
		o.reason = SL("Bad Refer-To");
		(void)txn_reply(t, &o);
		return;
	}
	if (rt->uri.headers.len) {
		/* Replaces (attended transfer) and other embedded headers */
		o.status = 501;
		o.reason = SL("Attended Transfer Not Supported");
		(void)txn_reply(t, &o);
		return;
	}
	n = snprintf(to, sizeof(to), "<%.*s>", SL_ARG(rt->uri.raw));
	r = sb_calloc(1, sizeof(*r));
	if (!r || n < 0 || (size_t)n >= sizeof(to)) {
		sb_free(r);
		o.status = 500;
		(void)txn_reply(t, &o);
		return;
	}
	r->call = c;
	r->x = x;
	r->y = y;
	r->next = c->refers;
	c->refers = r;
	x->xfer = r;
	wheel_timer_init(&r->ring, on_ring);
	call_set_state(c, CALL_TRANSFERRING);
	log_info("transfer", "call=%s by=%s", c->id,
		 x->is_a ? "caller" : "callee");
	/* the target sees the transferee calling; req (and rt) stay valid
	 * until t is answered */
	r->notified = 100; /* the 100 goes after the 202 */
	rc = invite_xfer_leg(c, r, &rt->uri, y->dlg.remote_uri,
			     slice_make(to, (size_t)n));
	if (rc) {
		/* RFC 3515 2.4.2: refused at once, no subscription */
		done(r);
		o.status = (uint16_t)rc;
		(void)txn_reply(t, &o);
		return;
	}
	/* RFC 3515 2.4.2: accepted; the outcome comes in NOTIFYs */
	o.status = 202;
	(void)txn_reply(t, &o);
	if (x->xfer != r)
		return; /* the leg failed while starting: r is gone */
	r->notified = 0;
	notify(r, 100, none, false);
	r->z = c->b_legs[c->nb - 1];
	wheel_start(c->b->deps.wheel, &r->ring, XFER_RING_MS);
}

void refer_leg_progress(struct leg *z, struct sip_msg *resp)
{
	struct refer *r = z->refer;

	if (resp->status == 180 || resp->status == 183)
		notify(r, resp->status, resp->reason, false);
}

void refer_leg_failed(struct leg *z, uint16_t status, struct slice reason)
{
	struct refer *r = z->refer;
	struct call *c = z->call;

	z->is_done = true;
	z->status = status;
	fail(r, status, reason);
	call_maybe_free(c);
}

static void on_reinvite(void *arg, struct txn *t, int err, struct sip_inmsg *im)
{
	struct refer *r = arg;
	struct call *c = r->call;
	struct leg *y = r->y, *z = r->z;
	struct sip_msg *resp = im ? &im->msg : NULL;
	struct slice ctype = none, body = none;

	if (!err && resp->status < 200)
		return;
	r->reinv_ct = NULL;
	y->has_invite_out = false;
	if (err || resp->status >= 300) {
		/* y kept its old session (RFC 3261 14.1): z goes */
		sdp_oa_reset(&y->oa);
		sdp_oa_reset(&z->oa);
		(void)leg_ack(z, z->ack_cseq, none, none);
		leg_bye(z);
		z->is_done = true;
		fail(r, err ? 500 : resp->status, none);
		return;
	}
	txn_client_detach(t);
	(void)dialog_refresh_response(&y->dlg, resp);
	(void)leg_ack(y, resp->cseq.num, none, none);
	st_b_answer(y, resp);
	/* y's answer completes z's delayed offer in z's ACK */
	if (sdpx_relay(c->b, y, z, resp, false, &ctype, &body) != 0) {
		ctype = none;
		body = none;
	}
	(void)leg_ack(z, z->ack_cseq, ctype, body);
	y->other = z;
	z->other = y;
	r->x->other = NULL;
	r->x->is_detached = true;
	st_stop(r->x); /* its session is over once it leaves */
	c->transfers++;
	log_info("transferred", "call=%s", c->id);
	notify(r, 200, none, true);
	done(r);
	call_set_state(c, CALL_ANSWERED);
}

void refer_leg_answered(struct leg *z, struct sip_msg *resp)
{
	struct refer *r = z->refer;
	struct call *c = z->call;
	struct b2bua *b = c->b;
	struct leg *y = r->y;
	struct slice ctype = none, body = none;
	int err;

	wheel_stop(b->deps.wheel, &r->ring);
	if (dialog_uac_response(&z->dlg, resp) != 0) {
		fail(r, 500, none);
		return;
	}
	z->status = resp->status;
	z->ack_cseq = resp->cseq.num;
	st_b_answer(z, resp);
	/* RFC 3725 flow I: z's offer (its 2xx to our offerless INVITE)
	 * goes to y in a re-INVITE */
	err = sdpx_relay(b, z, y, resp, false, &ctype, &body);
	if (!err && !body.len)
		err = -EPROTO;
	if (!err) {
		buf_reset(&b->hdrs);
		st_lines(y, false, &b->hdrs);
		err = leg_request(y, SIP_METHOD_INVITE, 0, buf_slice(&b->hdrs),
				  ctype, body, on_reinvite, r, &r->reinv_ct);
	}
	if (err) {
		r->reinv_ct = NULL;
		sdp_oa_reset(&y->oa);
		sdp_oa_reset(&z->oa);
		(void)leg_ack(z, z->ack_cseq, none, none);
		leg_bye(z);
		z->is_done = true;
		fail(r, 488, none);
		return;
	}
	y->has_invite_out = true;
}
