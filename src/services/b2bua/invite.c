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

enum {
	LOOKUP_FIRST = 4096, /* stack bytes of a location lookup's arena */
	NAMEADDR_MAX = 512   /* bytes of a From or To we build */
};

/* What every message we send advertises (RFC 3261 20.5). */
static const char allow_line[] =
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, PRACK, INFO, "
    "MESSAGE, REFER, NOTIFY\r\n";

static void on_b_response(void *arg, struct txn *t, int err,
			  struct sip_inmsg *im);

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
	(void)buf_append(&b->hdrs, allow_line, sizeof(allow_line) - 1);
	return buf_error(&b->hdrs) ? none : buf_slice(&b->hdrs);
}

static void relay_provisional(struct call *c, struct leg *l,
			      struct sip_msg *resp)
{
	struct b2bua *b = c->b;
	struct sip_reply_opts o = {
	    .status = resp->status,
	    .reason = resp->reason,
	    .to_tag = c->a->dlg.local_tag,
	    .copy_record_route = true, /* RFC 3261 12.1.1 */
	    .server = config_user_agent(c->cfg),
	};
	bool has_sdp;

	if (!c->st || c->is_final)
		return;
	has_sdp =
	    sdpx_relay(b, l, c->a, resp, true, &o.content_type, &o.body) == 0 &&
	    o.body.len;
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

/* --- B-legs -------------------------------------------------------------- */

static bool all_done(const struct call *c)
{
	for (uint32_t i = 0; i < c->nb; i++)
		if (!c->b_legs[i]->is_done)
			return false;
	return true;
}

/* RFC 3261 16.7 step 6 in spirit: 6xx, else the lowest class. */
static unsigned rank(uint16_t status)
{
	return status >= 600 ? 0 : status / 100;
}

/* The headers of the best final so far that cross to the caller (the
 * whitelist: Retry-After, Warning, Reason, a shown Server ...). */
static void keep_best_extra(struct call *c, struct sip_msg *resp)
{
	struct slice x =
	    resp ? hdrs_copy(c->b, c, resp, false) : (struct slice){NULL, 0};

	sb_free(c->best_extra);
	c->best_extra = NULL;
	if (!x.len)
		return;
	c->best_extra = sb_malloc(x.len + 1);
	if (c->best_extra) {
		memcpy(c->best_extra, x.p, x.len);
		c->best_extra[x.len] = '\0';
	}
}

static void b_failed(struct leg *l, uint16_t status, struct slice reason,
		     struct sip_msg *resp)
{
	if (l->refer) {
		refer_leg_failed(l, status, reason);
		return;
	}
	struct call *c = l->call;

	l->is_done = true;
	l->status = status;
	if (!c->best_status || rank(status) < rank(c->best_status)) {
		size_t n = reason.len < sizeof(c->best_reason) - 1
			       ? reason.len
			       : sizeof(c->best_reason) - 1;

		c->best_status = status;
		memcpy(c->best_reason, reason.p ? reason.p : "", n);
		c->best_reason[n] = '\0';
		keep_best_extra(c, resp);
	}
	if (c->is_ended || c->peer) {
		call_maybe_free(c);
		return;
	}
	if (status >= 600) {
		/* a 6xx ends the search (RFC 3261 16.7 step 5) */
		call_fail(c, status, slice_cstr(c->best_reason),
			  call_cause_of(status));
		return;
	}
	if (!all_done(c))
		return;
	status = c->best_status;
	/* the caller cannot answer a challenge meant for us */
	if (status == 401 || status == 407)
		status = 403;
	call_fail(c, status,
		  status == c->best_status ? slice_cstr(c->best_reason) : none,
		  call_cause_of(status));
}

/* Build and send the B-leg INVITE to dst. */
static int b_send_to(struct leg *l, const struct sip_flow *dst)
{
	struct call *c = l->call;
	struct b2bua *b = c->b;
	struct sip_request_opts o;
	int err;

	memset(&o, 0, sizeof(o));
	sdp_leg_init(&l->sdp, tp_listener_host(dst->listener),
		     (sb_rand64() >> 2) | 1);
	l->oa = (struct sdp_oa){0};
	err = sdpx_offer(b, l, c->offer, &o.content_type, &o.body);
	if (err)
		return err;
	o.method = SL("INVITE");
	o.ruri = l->dlg.remote_target;
	o.from = l->dlg.local_uri;
	o.from_tag = l->dlg.local_tag;
	o.to = l->dlg.remote_uri;
	o.call_id = l->dlg.call_id;
	o.cseq = l->dlg.local_cseq;
	o.max_forwards = c->max_forwards;
	o.routes = l->dlg.route_set;
	if (c->req) {
		o.extra = hdrs_copy(b, c, c->req, true);
	} else {
		buf_reset(&b->hdrs); /* a transfer's leg: nothing to copy */
		refer_lines(l, &b->hdrs);
	}
	(void)buf_append(&b->hdrs, allow_line, sizeof(allow_line) - 1);
	st_b_offer(c, &b->hdrs);
	prack_b_offer(c, &b->hdrs);
	if (buf_error(&b->hdrs))
		return -E2BIG;
	o.extra = buf_slice(&b->hdrs);
	err = leg_print(l, &o, dst);
	if (err)
		return err;
	err = txn_client_start(b->tl, dst, buf_slice(&b->out), on_b_response, l,
			       &l->invite_ct);
	if (err) {
		l->invite_ct = NULL;
		return err;
	}
	b->stats.b_legs++;
	return 0;
}

/* Send to the flow or the next resolved target; false when none worked. */
static bool b_send(struct leg *l)
{
	while (true) {
		struct sip_flow dst;
		int err;

		if (l->has_flow && !l->is_flow_fallback) {
			dst = l->flow;
		} else if (l->next_target < l->ntargets) {
			const struct resolve_target *to =
			    &l->targets[l->next_target++];

			memset(&dst, 0, sizeof(dst));
			dst.tp = to->tp;
			dst.remote = to->addr;
			dst.listener =
			    tp_listener_find(to->tp, to->addr.sa.sa_family);
			if (!dst.listener)
				continue;
		} else {
			return false;
		}
		err = b_send_to(l, &dst);
		if (!err) {
			if (!l->has_flow) {
				/* in-dialog requests fall back to it */
				tp_flow_copy(&l->flow, &dst);
				l->has_flow = true;
				l->is_flow_fallback = true;
			}
			return true;
		}
		log_debug("b_leg_send_failed", "call=%s error=\"%s\"",
			  l->call->id, sb_strerror(err));
		if (l->has_flow && !l->is_flow_fallback)
			return false;
	}
}

static void on_resolved(void *arg, int err, const struct resolve_target *v,
			size_t n)
{
	struct leg *l = arg;
	struct call *c = l->call;

	l->dns = NULL;
	if (c->is_ended) {
		l->is_done = true;
		call_maybe_free(c);
		return;
	}
	if (err || n == 0) {
		b_failed(l, 503, SL("Name Not Resolved"), NULL);
		return;
	}
	n = n > RESOLVE_TARGETS_MAX ? RESOLVE_TARGETS_MAX : n;
	l->targets = sb_malloc(n * sizeof(*v));
	if (!l->targets) {
		b_failed(l, 500, none, NULL);
		return;
	}
	memcpy(l->targets, v, n * sizeof(*v));
	l->ntargets = (uint8_t)n;
	if (!b_send(l))
		b_failed(l, 503, none, NULL);
}

/* Start a B-leg toward target (the Request-URI), by hop (a URI, or the
 * registered flow when given), with path as its first routes. */
static void b_start(struct call *c, struct slice target, struct slice path,
		    struct slice hop, const struct sip_flow *flow)
{
	struct b2bua *b = c->b;
	char call_id[B2BUA_CALLID_LEN + 1], tag[B2BUA_TAG_LEN + 1];
	char from[NAMEADDR_MAX], to[NAMEADDR_MAX], routes[B2BUA_ROUTES_MAX];
	struct slice f, t, r = none;
	struct resolve_target one;
	struct leg *l;
	int err;

	if (c->nb == B2BUA_LEGS_MAX)
		return;
	l = leg_new(c, false);
	if (!l)
		return;
	c->b_legs[c->nb++] = l;
	b2bua_call_id(b, call_id);
	b2bua_hex(tag, B2BUA_TAG_LEN);
	if (path.len) {
		/* RFC 3327 5: the Path values become the first routes */
		int n = snprintf(routes, sizeof(routes), "Route: %.*s\r\n",
				 SL_ARG(path));

		if (n > 0 && (size_t)n < sizeof(routes))
			r = slice_make(routes, (size_t)n);
	}
	if (c->xfer) {
		/* a transfer's new leg: the identity refer.c chose */
		f = c->xfer_from;
		t = c->xfer_to;
		l->refer = c->xfer;
		err = 0;
	} else {
		err = hdrs_identity(c, c->req, from, sizeof(from), to,
				    sizeof(to), &f, &t);
	}
	if (!err)
		err = dialog_uac_new(&l->dlg, slice_cstr(call_id),
				     slice_cstr(tag), f, t, target, r, 1);
	if (!err) {
		dialog_table_add(&b->dialogs, &l->dlg);
		l->is_in_table = true;
		l->text = sb_malloc(hop.len + 1);
		err = l->text ? 0 : -ENOMEM;
	}
	if (!err) {
		memcpy(l->text, hop.p, hop.len);
		l->text[hop.len] = '\0';
		struct sb_limits lim = sb_limits_default();

		err =
		    sip_uri_parse(slice_make(l->text, hop.len), &l->hop, &lim);
	}
	if (err) {
		b_failed(l, err == -ENOMEM ? 500 : 416, none, NULL);
		return;
	}
	if (flow) {
		tp_flow_copy(&l->flow, flow);
		l->has_flow = true;
	} else if ((err = resolve_numeric(&l->hop, &one)) == 0) {
		l->targets = sb_malloc(sizeof(one));
		if (l->targets) {
			l->targets[0] = one;
			l->ntargets = 1;
		}
	} else if (err == -EAGAIN && b->deps.resolver &&
		   resolver_sip(b->deps.resolver, &l->hop, on_resolved, l,
				&l->dns) == 0) {
		return;
	} else {
		b_failed(l, err == -EINVAL ? 416 : 503, none, NULL);
		return;
	}
	if (!b_send(l))
		b_failed(l, 503, none, NULL);
}

static struct slice first_path_uri(struct slice path)
{
	const char *lt = memchr(path.p, '<', path.len);
	const char *gt =
	    lt ? memchr(lt, '>', path.len - (size_t)(lt - path.p)) : NULL;

	if (!lt || !gt)
		return none;
	return slice_make(lt + 1, (size_t)(gt - lt - 1));
}

/* RFC 3261 16.5 as the proxy does it: every live binding of a user. */
static bool targets_from_location(struct call *c, const struct sip_uri *ru)
{
	struct b2bua *b = c->b;
	char aor_buf[LOCATION_AOR_MAX], first[LOOKUP_FIRST];
	struct location_binding v[B2BUA_LEGS_MAX];
	struct location_time now;
	struct slice aor;
	struct arena a;
	ssize_t n;

	if (registrar_aor_from_uri(ru, aor_buf, sizeof(aor_buf), &aor) != 0) {
		call_fail(c, 404, none, CAUSE_REJECTED);
		return false;
	}
	location_time_now(&now);
	arena_init(&a, first, sizeof(first), 0);
	n = location_lookup(b->deps.location, aor, now.mono_ms, &a, v,
			    B2BUA_LEGS_MAX);
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
		if (n < 0)
			call_fail(c, 500, none, CAUSE_ERROR);
		else
			call_fail(c, is_known ? 480 : 404, none,
				  is_known ? CAUSE_NO_ANSWER : CAUSE_REJECTED);
		return false;
	}
	for (ssize_t i = 0; i < n && !c->is_ended; i++) {
		struct location_binding *lb = &v[i];
		struct slice hop = lb->contact;

		if (lb->path.len && !lb->use_flow)
			hop = first_path_uri(lb->path);
		if (hop.len)
			b_start(c, lb->contact, lb->path, hop,
				lb->use_flow ? &lb->flow : NULL);
	}
	location_bindings_clear(v, (size_t)n);
	arena_close(&a);
	return true;
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

static void answered(struct call *c, struct leg *l, struct sip_msg *resp)
{
	struct b2bua *b = c->b;
	struct sip_reply_opts o = {
	    .status = resp->status,
	    .reason = resp->reason,
	    .to_tag = c->a->dlg.local_tag,
	    .copy_record_route = true, /* RFC 3261 12.1.1 */
	    .server = config_user_agent(c->cfg),
	};
	int err;

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
	err = prack_2xx_body(l, resp, &o.content_type, &o.body);
	if (err) {
		log_info("bad_answer", "call=%s error=\"%s\"", c->id,
			 sb_strerror(err));
		(void)leg_ack(l, resp->cseq.num, none, none);
		leg_bye(l);
		call_fail(c, 502, SL("Bad SDP From Callee"), CAUSE_ERROR);
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
	start_limit(c);
}

static void on_b_response(void *arg, struct txn *t, int err,
			  struct sip_inmsg *im)
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
		if (!c->is_ended && !l->is_cancelled && b_send(l))
			return; /* the next target (RFC 3263 4.3) */
		b_failed(l, err == -ETIMEDOUT ? 408 : 503, none, NULL);
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
	if (status == 503 && !c->is_ended && !l->is_cancelled && b_send(l))
		return; /* RFC 3263 4.3: 503 tries the next target */
	b_failed(l, status, resp->reason, resp);
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
	if (!a || keep_info(c, req, in) != 0) {
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
	if (proxy_uri_is_local(cfg, &req->ruri)) {
		if (!targets_from_location(c, &req->ruri))
			return;
	} else if (cp->foreign == CONFIG_FOREIGN_REFUSE) {
		call_fail(c, 403, SL("Relaying Denied"), CAUSE_REJECTED);
		return;
	} else {
		b_start(c, req->ruri.raw, none,
			cp->outbound_proxy ? slice_cstr(cp->outbound_proxy)
					   : req->ruri.raw,
			NULL);
	}
	if (c->nb == 0 && !c->is_ended)
		call_fail(c, 500, none, CAUSE_ERROR);
}

int invite_xfer_leg(struct call *c, struct refer *r, const struct sip_uri *ruri,
		    struct slice from, struct slice to)
{
	const struct config_proxy *cp = config_proxy(c->cfg);
	uint32_t nb = c->nb;

	c->xfer = r;
	c->xfer_from = from;
	c->xfer_to = to;
	if (proxy_uri_is_local(c->cfg, ruri)) {
		char aor_buf[LOCATION_AOR_MAX], first[LOOKUP_FIRST];
		struct location_binding v[1];
		struct location_time now;
		struct slice aor;
		struct arena a;
		ssize_t n = 0;

		location_time_now(&now);
		arena_init(&a, first, sizeof(first), 0);
		if (registrar_aor_from_uri(ruri, aor_buf, sizeof(aor_buf),
					   &aor) == 0)
			n = location_lookup(c->b->deps.location, aor,
					    now.mono_ms, &a, v, 1);
		if (n == 1) {
			struct slice hop = v[0].contact;

			if (v[0].path.len && !v[0].use_flow)
				hop = first_path_uri(v[0].path);
			b_start(c, v[0].contact, v[0].path, hop,
				v[0].use_flow ? &v[0].flow : NULL);
			location_bindings_clear(v, 1);
		}
		arena_close(&a);
	} else if (cp->foreign == CONFIG_FOREIGN_FORWARD) {
		b_start(c, ruri->raw, none,
			cp->outbound_proxy ? slice_cstr(cp->outbound_proxy)
					   : ruri->raw,
			NULL);
	} else {
		c->xfer = NULL;
		return 403;
	}
	c->xfer = NULL;
	return c->nb > nb ? 0 : 404;
}

int invite_xfer_leg_to(struct call *c, struct refer *r, struct slice target,
		       struct slice hop, const struct sip_flow *flow,
		       struct slice from, struct slice to)
{
	uint32_t nb = c->nb;

	c->xfer = r;
	c->xfer_from = from;
	c->xfer_to = to;
	b_start(c, target, none, hop, flow);
	c->xfer = NULL;
	return c->nb > nb ? 0 : 500;
}

void invite_cancel(struct call *c)
{
	/* RFC 3261 9.2: the caller gets 487, every B-leg a CANCEL */
	call_end(c, CAUSE_CANCELLED, "caller", NULL);
}
