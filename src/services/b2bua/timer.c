/* Session timers (RFC 4028) on each leg: refresh ours, expire theirs. */
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
	ST_RETRY_MS = 2000, /* a refresh that must wait (glare, 491) */
	ST_MIN_S = 90	    /* RFC 4028 4: the smallest Min-SE */
};

/* Session-Expires of m: the delta and the refresher (0: none). */
static uint32_t se_of(struct sip_msg *m, int *refresher)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_SESSION_EXPIRES);
	const char *semi;
	struct slice v, num, r;
	uint32_t se;

	*refresher = 0;
	if (!h)
		return 0;
	v = h->value;
	semi = memchr(v.p, ';', v.len);
	num = slice_trim(semi ? slice_make(v.p, (size_t)(semi - v.p)) : v);
	if (slice_to_u32(num, &se) != 0)
		return 0;
	if (semi &&
	    sip_params_get(
		slice_make(semi + 1, v.len - (size_t)(semi + 1 - v.p)),
		"refresher", &r) == 0 &&
	    r.p)
		*refresher = slice_caseeq_lit(r, "uac")	  ? 1
			     : slice_caseeq_lit(r, "uas") ? 2
							  : 0;
	return se;
}

static uint32_t min_se_of(struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_MIN_SE);
	const char *semi;
	uint32_t v = 0;

	if (!h)
		return 0;
	semi = memchr(h->value.p, ';', h->value.len);
	(void)slice_to_u32(
	    slice_trim(semi
			   ? slice_make(h->value.p, (size_t)(semi - h->value.p))
			   : h->value),
	    &v);
	return v;
}

static uint32_t our_min_se(const struct config *cfg)
{
	uint32_t m = config_b2bua(cfg)->min_se_s;

	return m < ST_MIN_S ? ST_MIN_S : m;
}

bool st_invite_check(const struct config *cfg, struct txn *t,
		     struct sip_msg *req)
{
	int refresher;
	uint32_t se = se_of(req, &refresher);
	uint32_t min = our_min_se(cfg);
	char extra[48];
	int n;

	if (!config_b2bua(cfg)->session_expires_s || !se || se >= min)
		return false;
	/* RFC 4028 8.1: too small an interval gets 422 with our Min-SE */
	n = snprintf(extra, sizeof(extra), "Min-SE: %u\r\n", (unsigned)min);
	struct sip_reply_opts o = {
	    .status = 422,
	    .extra = slice_make(extra, (size_t)n),
	    .server = config_user_agent(cfg),
	};
	(void)txn_reply(t, &o);
	return true;
}

static struct leg *leg_of_se(struct wheel_timer *w)
{
	return (struct leg *)((char *)w - offsetof(struct leg, se_t));
}

static void on_se(struct wheel_timer *w);

static void arm(struct leg *l, uint64_t ms)
{
	struct b2bua *b = l->call->b;

	if (wheel_timer_active(&l->se_t))
		wheel_stop(b->deps.wheel, &l->se_t);
	wheel_timer_init(&l->se_t, on_se);
	wheel_start(b->deps.wheel, &l->se_t, ms);
}

void st_refreshed(struct leg *l)
{
	uint32_t se = l->se_s;

	if (!se || l->call->is_ended)
		return;
	/* RFC 4028 10: refresh at half the interval; expire when the
	 * other side's refresh has not come by SE - min(32, SE/3) */
	if (l->is_refresher)
		arm(l, (uint64_t)se * 500);
	else
		arm(l, ((uint64_t)se - (se / 3 < 32 ? se / 3 : 32)) * 1000);
}

void st_stop(struct leg *l)
{
	if (wheel_timer_active(&l->se_t))
		wheel_stop(l->call->b->deps.wheel, &l->se_t);
	if (l->refresh_ct)
		txn_client_detach(l->refresh_ct);
	l->refresh_ct = NULL;
	sb_free(l->last_sdp);
	l->last_sdp = NULL;
}

void st_keep_sdp(struct leg *l, struct slice body)
{
	char *p;

	if (!body.len)
		return;
	p = sb_realloc(l->last_sdp, body.len);
	if (!p)
		return;
	memcpy(p, body.p, body.len);
	l->last_sdp = p;
	l->last_sdp_len = (uint32_t)body.len;
}

void st_lines(const struct leg *l, bool is_response, struct buf *out)
{
	if (!l->se_s)
		return;
	/* RFC 4028 9: who refreshes, from that side's point of view */
	(void)buf_printf(
	    out, "Session-Expires: %u;refresher=%s\r\n", (unsigned)l->se_s,
	    (l->is_a == l->is_refresher) != is_response ? "uac" : "uas");
	if (is_response && l->has_timer)
		(void)buf_append_str(out, "Require: timer\r\n");
	else if (!is_response)
		(void)buf_append_str(out, "Supported: timer\r\n");
}

void st_a_answer(struct leg *a, struct sip_msg *req, struct buf *out)
{
	const struct config *cfg = a->call->cfg;
	uint32_t want = config_b2bua(cfg)->session_expires_s;
	int refresher;
	uint32_t se = se_of(req, &refresher);

	a->allows_update = sip_msg_has_token(req, SIP_HDR_ALLOW, "UPDATE");
	a->has_timer = sip_msg_has_token(req, SIP_HDR_SUPPORTED, "timer");
	if (!want)
		return;
	if (!se || se > want)
		se = se ? se : want; /* RFC 4028 9: we may keep theirs */
	if (se < our_min_se(cfg))
		se = our_min_se(cfg);
	if (se < min_se_of(req))
		se = min_se_of(req); /* RFC 4028 9: not below theirs */
	a->se_s = se;
	/* RFC 4028 9: the caller refreshes when it supports the timer and
	 * did not leave the job to us; otherwise we do */
	a->is_refresher = !a->has_timer || refresher == 2;
	(void)buf_printf(out, "Session-Expires: %u;refresher=%s\r\n",
			 (unsigned)se, a->is_refresher ? "uas" : "uac");
	if (a->has_timer)
		(void)buf_append_str(out, "Require: timer\r\n");
	st_refreshed(a);
}

void st_b_offer(const struct call *c, struct buf *out)
{
	const struct config_b2bua *cb = config_b2bua(c->cfg);

	(void)buf_append_str(out, "Supported: timer\r\n");
	if (!cb->session_expires_s)
		return;
	(void)buf_printf(out, "Session-Expires: %u\r\nMin-SE: %u\r\n",
			 (unsigned)cb->session_expires_s,
			 (unsigned)our_min_se(c->cfg));
}

void st_b_answer(struct leg *l, struct sip_msg *resp)
{
	int refresher;
	uint32_t se = se_of(resp, &refresher);

	if (sip_msg_has_token(resp, SIP_HDR_ALLOW, "UPDATE"))
		l->allows_update = true;
	if (l->is_a) {
		/* a 2xx to our refresh on the A-leg: keep the terms */
		st_refreshed(l);
		return;
	}
	l->has_timer = sip_msg_has_token(resp, SIP_HDR_REQUIRE, "timer") ||
		       sip_msg_has_token(resp, SIP_HDR_SUPPORTED, "timer");
	if (!se) {
		/* RFC 4028 7.2: no Session-Expires in the 2xx, no timer
		 * asked of the callee; we still refresh our own side */
		se = config_b2bua(l->call->cfg)->session_expires_s;
		refresher = 1;
	}
	l->se_s = se;
	/* we are the UAC on a B-leg: refresher=uac means us */
	l->is_refresher = refresher != 2;
	st_refreshed(l);
}

/* --- our own refresh ---------------------------------------------------- */

static void on_refresh(void *arg, struct txn *t, int err, struct sip_inmsg *im)
{
	struct leg *l = arg;
	struct call *c = l->call;
	struct sip_msg *resp = im ? &im->msg : NULL;
	uint16_t status = resp ? resp->status : 0;

	if (!err && status < 200)
		return;
	l->refresh_ct = NULL;
	l->has_invite_out = false;
	if (!err && status < 300) {
		if (resp->cseq.method == SIP_METHOD_INVITE) {
			txn_client_detach(t);
			l->oa.state =
			    SDP_OA_IDLE; /* the answer to our repeat */
			(void)leg_ack(l, resp->cseq.num, none, none);
		}
		(void)dialog_refresh_response(&l->dlg, resp);
		st_b_answer(l, resp);
		return;
	}
	if (resp && resp->cseq.method == SIP_METHOD_INVITE)
		l->oa.state = SDP_OA_IDLE;
	if (!err && (status == 405 || status == 501) && l->allows_update) {
		l->allows_update = false; /* RFC 4028 7.4: INVITE then */
		arm(l, 0);
		return;
	}
	if (!err && status == 422 && min_se_of(resp) > l->se_s)
		l->se_s = min_se_of(resp); /* RFC 4028 7.4: ask again */
	if (!err && (status == 491 || status == 422)) {
		arm(l, ST_RETRY_MS);
		return;
	}
	/* RFC 3261 12.2.1.2, RFC 4028 10: the leg is gone */
	log_info("refresh_failed", "call=%s status=%u", c->id,
		 (unsigned)status);
	call_end(
	    c, err == -ETIMEDOUT || status == 408 ? CAUSE_TIMEOUT : CAUSE_ERROR,
	    "system", NULL);
}

static void refresh(struct leg *l)
{
	struct b2bua *b = l->call->b;
	bool is_update = l->allows_update || !l->last_sdp;
	struct slice ctype = none, body = none;
	int err;

	if (l->has_invite_out || l->has_invite_in || l->refresh_ct ||
	    l->oa.state != SDP_OA_IDLE || l->dlg.state != DIALOG_CONFIRMED) {
		arm(l, ST_RETRY_MS);
		return;
	}
	buf_reset(&b->hdrs);
	st_lines(l, false, &b->hdrs);
	if (!is_update) {
		/* RFC 4028 7.4: the same SDP again, o= version unchanged */
		ctype = SL("application/sdp");
		body = slice_make(l->last_sdp, l->last_sdp_len);
		l->oa.state = SDP_OA_LOCAL_OFFER;
	}
	err = leg_request(l, is_update ? SIP_METHOD_UPDATE : SIP_METHOD_INVITE,
			  0, buf_slice(&b->hdrs), ctype, body, on_refresh, l,
			  &l->refresh_ct);
	if (err) {
		l->refresh_ct = NULL;
		l->oa.state = SDP_OA_IDLE;
		arm(l, ST_RETRY_MS);
		return;
	}
	l->has_invite_out = true;
}

static void on_se(struct wheel_timer *w)
{
	struct leg *l = leg_of_se(w);
	struct call *c = l->call;

	if (c->is_ended)
		return;
	if (l->is_refresher) {
		refresh(l);
		return;
	}
	log_info("session_expired", "call=%s leg=%s", c->id,
		 l->is_a ? "a" : "b");
	call_end(c, CAUSE_TIMEOUT, "system", NULL);
}
