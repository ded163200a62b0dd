/* Transfers (RFC 3515): the B2BUA carries out a REFER itself. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "sip/msg/params.h"
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
struct xq;

struct refer {
	struct refer *next; /* the call's transfers */
	struct call *call;
	struct leg *x, *y, *z;
	struct txn *reinv_ct; /* the re-INVITE to y */
	struct wheel_timer ring;
	uint16_t notified; /* last status told to x */
	struct xq *q;	   /* attended: the lookup of the replaced dialog */
	char *replaces;	   /* attended: the Replaces line for the target */
};

enum {
	XQ_ID_MAX = 256,  /* bytes of a Call-ID or tag in a Replaces */
	XQ_URI_MAX = 512, /* bytes of the target's URI and next hop */
	XQ_LINE_MAX = 900 /* bytes of the Replaces line we send */
};

/*
 * Attended transfer (RFC 3891): the REFER's Replaces names the
 * transferor's dialog with us in another call, which may live on another
 * worker (its Call-ID picks it). The owner is asked by message for the
 * other party of that call (where it is, and its dialog's identifiers);
 * the answer comes back by message. Nothing is shared between workers.
 */
struct xq {
	struct refer *r; /* the asking worker's; NULL once it gave up */
	unsigned from;	 /* the asking worker */
	char cid[XQ_ID_MAX + 1], to_tag[XQ_ID_MAX + 1], from_tag[XQ_ID_MAX + 1];
	/* the answer */
	uint16_t status; /* 0: found */
	char target[XQ_URI_MAX + 1], hop[XQ_URI_MAX + 1];
	char line[XQ_LINE_MAX + 1]; /* "Replaces: ...\r\n" for the target */
	struct sip_flow flow;	    /* counted */
	bool has_flow;
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
	if (r->q)
		r->q->r = NULL; /* its answer will find nobody */
	sb_free(r->replaces);
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

	if (!r->z) {
		fail(r, 408, none); /* the lookup never came back */
		return;
	}
	if (r->z && r->z->invite_ct && !r->z->is_cancelled) {
		r->z->is_cancelled = true;
		(void)txn_client_cancel(r->z->invite_ct);
	}
}

/* A transfer x asks for, of its peer y, linked to the call. */
static struct refer *refer_new(struct leg *x, struct leg *y, bool is_attended)
{
	struct call *c = x->call;
	struct refer *r = sb_calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->call = c;
	r->x = x;
	r->y = y;
	r->next = c->refers;
	c->refers = r;
	x->xfer = r;
	wheel_timer_init(&r->ring, on_ring);
	call_set_state(c, CALL_TRANSFERRING);
	log_info("transfer", "call=%s by=%s attended=%s", c->id,
		 x->is_a ? "caller" : "callee", is_attended ? "yes" : "no");
	return r;
}

/* --- attended transfer ---------------------------------------------------- */

static int unhex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* The URI header `name`'s value, %-decoded into out. */
static bool uri_header(struct slice headers, const char *name, char *out,
		       size_t cap)
{
	size_t nl = strlen(name), i = 0;

	while (i < headers.len) {
		size_t end = i;

		while (end < headers.len && headers.p[end] != '&')
			end++;
		if (end - i > nl && headers.p[i + nl] == '=' &&
		    slice_caseeq(slice_make(headers.p + i, nl),
				 slice_cstr(name))) {
			size_t o = 0;

			for (size_t k = i + nl + 1; k < end; k++) {
				int v = headers.p[k];

				if (v == '%' && k + 2 < end &&
				    unhex(headers.p[k + 1]) >= 0 &&
				    unhex(headers.p[k + 2]) >= 0) {
					v = unhex(headers.p[k + 1]) * 16 +
					    unhex(headers.p[k + 2]);
					k += 2;
				}
				if (o + 1 >= cap || v < 0x20 || v == 0x7f)
					return false;
				out[o++] = (char)v;
			}
			out[o] = '\0';
			return o > 0;
		}
		i = end + 1;
	}
	return false;
}

/* "callid;to-tag=T;from-tag=F" (RFC 3891 6.1) into q. */
static bool replaces_parse(const char *v, struct xq *q)
{
	const char *semi = strchr(v, ';');
	struct slice params, to, from;

	if (!semi || (size_t)(semi - v) > XQ_ID_MAX || semi == v)
		return false;
	memcpy(q->cid, v, (size_t)(semi - v));
	q->cid[semi - v] = '\0';
	params = slice_cstr(semi + 1);
	if (sip_params_get(params, "to-tag", &to) != 0 || !to.p ||
	    sip_params_get(params, "from-tag", &from) != 0 || !from.p ||
	    !to.len || !from.len || to.len > XQ_ID_MAX || from.len > XQ_ID_MAX)
		return false;
	memcpy(q->to_tag, to.p, to.len);
	q->to_tag[to.len] = '\0';
	memcpy(q->from_tag, from.p, from.len);
	q->from_tag[from.len] = '\0';
	return true;
}

/* On the owner of the replaced dialog: who is on its other side. */
static void lookup(struct b2bua *b, struct xq *q)
{
	struct slice cid = slice_cstr(q->cid);
	struct dialog *d;
	struct leg *l2, *w;
	struct sip_uri hop;
	int n;

	/* the transferor names our tag as the to-tag (its remote tag) */
	d = dialog_table_find(&b->dialogs, cid, slice_cstr(q->to_tag));
	if (!d)
		d = dialog_table_find(&b->dialogs, cid,
				      slice_cstr(q->from_tag));
	l2 = (struct leg *)d;
	w = l2 ? leg_peer(l2) : NULL;
	if (!w || w->dlg.state != DIALOG_CONFIRMED ||
	    l2->dlg.state != DIALOG_CONFIRMED || l2->call->is_ended) {
		q->status = 481; /* RFC 3891 3: no such dialog */
		return;
	}
	if (dialog_next_hop(&w->dlg, &hop) != 0 ||
	    w->dlg.remote_target.len > XQ_URI_MAX || hop.raw.len > XQ_URI_MAX) {
		q->status = 500;
		return;
	}
	memcpy(q->target, w->dlg.remote_target.p, w->dlg.remote_target.len);
	q->target[w->dlg.remote_target.len] = '\0';
	memcpy(q->hop, hop.raw.p, hop.raw.len);
	q->hop[hop.raw.len] = '\0';
	/* RFC 3891 3: tags as the target sees them (to-tag: its own) */
	n = snprintf(q->line, sizeof(q->line),
		     "Replaces: %.*s;to-tag=%.*s;from-tag=%.*s\r\n",
		     SL_ARG(w->dlg.call_id), SL_ARG(w->dlg.remote_tag),
		     SL_ARG(w->dlg.local_tag));
	if (n < 0 || (size_t)n >= sizeof(q->line)) {
		q->status = 500;
		return;
	}
	if (w->has_flow && !w->is_flow_fallback) {
		tp_flow_copy(&q->flow, &w->flow);
		q->has_flow = true;
	}
	q->status = 0;
}

static void xq_free(struct xq *q)
{
	tp_flow_clear(&q->flow);
	sb_free(q);
}

/* Back on the asking worker: call the other party with Replaces. */
static void resume(struct refer *r, struct xq *q)
{
	struct call *c = r->call;
	char to[XQ_URI_MAX + 3];
	int rc;

	r->q = NULL;
	if (q->status) {
		fail(r, q->status, none);
		return;
	}
	r->replaces = sb_malloc(strlen(q->line) + 1);
	if (!r->replaces) {
		fail(r, 500, none);
		return;
	}
	strcpy(r->replaces, q->line);
	snprintf(to, sizeof(to), "<%s>", q->target);
	rc = invite_xfer_leg_to(c, r, slice_cstr(q->target), slice_cstr(q->hop),
				q->has_flow ? &q->flow : NULL,
				r->y->dlg.remote_uri, slice_cstr(to));
	if (rc) {
		fail(r, (uint16_t)rc, none);
		return;
	}
	if (r->x->xfer != r)
		return; /* the leg failed while starting: r is gone */
	r->z = c->b_legs[c->nb - 1];
}

static void on_answer(struct b2bua *b, void *arg)
{
	struct xq *q = arg;

	if (b && q->r)
		resume(q->r, q);
	xq_free(q);
}

static void on_lookup(struct b2bua *b, void *arg)
{
	struct xq *q = arg;

	if (b)
		lookup(b, q);
	else
		q->status = 503;
	if (!b || b->deps.post(b->deps.post_ctx, q->from, on_answer, q) != 0)
		xq_free(q); /* the asker times out (on_ring) */
}

static void attended(struct leg *x, struct leg *y, struct txn *t,
		     const struct sip_nameaddr *rt)
{
	struct call *c = x->call;
	struct b2bua *b = c->b;
	struct sip_reply_opts o = {.server = config_user_agent(c->cfg)};
	char v[3 * XQ_ID_MAX + 32];
	struct refer *r;
	struct xq *q = sb_calloc(1, sizeof(*q));
	unsigned owner;

	if (q && (!uri_header(rt->uri.headers, "Replaces", v, sizeof(v)) ||
		  !replaces_parse(v, q))) {
		sb_free(q);
		o.status = 400;
		o.reason = SL("Bad Replaces");
		(void)txn_reply(t, &o);
		return;
	}
	r = q ? refer_new(x, y, true) : NULL;
	if (!r) {
		sb_free(q);
		o.status = 500;
		(void)txn_reply(t, &o);
		return;
	}
	r->q = q;
	q->r = r;
	q->from = b->deps.worker;
	wheel_start(b->deps.wheel, &r->ring, XFER_RING_MS);
	/* RFC 3515 2.4.2: accepted; the outcome comes in NOTIFYs */
	o.status = 202;
	(void)txn_reply(t, &o);
	notify(r, 100, none, false);
	owner = b->deps.nworkers > 1
		    ? slice_hash(slice_cstr(q->cid)) % b->deps.nworkers
		    : b->deps.worker;
	if (owner == b->deps.worker || !b->deps.post) {
		lookup(b, q);
		resume(r, q);
		xq_free(q);
		return;
	}
	/* the other call lives on another worker: ask it */
	if (b->deps.post(b->deps.post_ctx, owner, on_lookup, q) != 0) {
		r->q = NULL;
		xq_free(q);
		fail(r, 503, none);
	}
}

void refer_lines(const struct leg *z, struct buf *out)
{
	if (z->refer && z->refer->replaces)
		(void)buf_append_str(out, z->refer->replaces);
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
		attended(x, y, t, rt);
		return;
	}
	n = snprintf(to, sizeof(to), "<%.*s>", SL_ARG(rt->uri.raw));
	r = n > 0 && (size_t)n < sizeof(to) ? refer_new(x, y, false) : NULL;
	if (!r) {
		o.status = 500;
		(void)txn_reply(t, &o);
		return;
	}
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

uint8_t refer_side(const struct refer *r)
{
	return r->x->mside;
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

static void bridge(struct refer *r, struct sip_msg *resp);

static void on_reinvite(void *arg, struct txn *t, int err, struct sip_inmsg *im)
{
	struct refer *r = arg;
	struct leg *y = r->y, *z = r->z;
	struct sip_msg *resp = im ? &im->msg : NULL;

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
	bridge(r, resp);
}

static void resume_bridge(struct xwait *w)
{
	bridge(w->ptr, xwait_msg(w));
}

/* The call ended while the new leg's SDP waited for rtpengine: z still
 * gets its ACK (the BYE follows). */
static void drop_xfer(struct xwait *w)
{
	(void)leg_ack(w->l, w->l->ack_cseq, none, none);
}

/* y answered: z gets its ACK and the two are bridged. */
static void bridge(struct refer *r, struct sip_msg *resp)
{
	struct call *c = r->call;
	struct leg *y = r->y, *z = r->z;
	struct slice ctype = none, body = none;
	int err;

	/* y's answer completes z's delayed offer in z's ACK */
	err = sdpx_relay(c->b, y, z, resp, false, &ctype, &body);
	if (err == -EINPROGRESS &&
	    ngx_defer(c, resume_bridge, drop_xfer, z, r, NULL, resp) == 0)
		return; /* rtpengine rewrites it first */
	if (err) {
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

static void offer_y(struct refer *r, struct leg *z, struct sip_msg *resp);

void refer_leg_answered(struct leg *z, struct sip_msg *resp)
{
	struct refer *r = z->refer;
	struct call *c = z->call;
	struct b2bua *b = c->b;

	wheel_stop(b->deps.wheel, &r->ring);
	if (dialog_uac_response(&z->dlg, resp) != 0) {
		fail(r, 500, none);
		return;
	}
	z->status = resp->status;
	z->ack_cseq = resp->cseq.num;
	st_b_answer(z, resp);
	offer_y(r, z, resp);
}

static void resume_offer_y(struct xwait *w)
{
	offer_y(w->ptr, w->l, xwait_msg(w));
}

/* RFC 3725 flow I: z's offer (its 2xx to our offerless INVITE) goes to
 * y in a re-INVITE. */
static void offer_y(struct refer *r, struct leg *z, struct sip_msg *resp)
{
	struct call *c = r->call;
	struct b2bua *b = c->b;
	struct leg *y = r->y;
	struct slice ctype = none, body = none;
	int err;

	err = sdpx_relay(b, z, y, resp, false, &ctype, &body);
	if (err == -EINPROGRESS) {
		if (ngx_defer(c, resume_offer_y, drop_xfer, z, r, NULL, resp) ==
		    0)
			return; /* rtpengine rewrites it first */
		err = -ENOMEM;
	}
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
