/* B-legs: where a call goes, the INVITEs we send, and their failures. */
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

void bleg_failed(struct leg *l, uint16_t status, struct slice reason,
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
	if (status < 600 && !all_done(c))
		return;
	/* a 6xx ends the search at once (RFC 3261 16.7 step 5); else the
	 * best of all; b2bua.response_map has the last word */
	status = config_b2bua_map(config_b2bua(c->cfg), c->best_status);
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
	l->family_hint = dst->remote.sa.sa_family;
	l->hint_addr = dst->remote;
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
	(void)buf_append(&b->hdrs, b2bua_allow, strlen(b2bua_allow));
	st_b_offer(c, &b->hdrs);
	prack_b_offer(c, &b->hdrs);
	if (buf_error(&b->hdrs))
		return -E2BIG;
	o.extra = buf_slice(&b->hdrs);
	err = leg_print(l, &o, dst);
	if (err)
		return err;
	err = txn_client_start(b->tl, dst, buf_slice(&b->out),
			       invite_b_response, l, &l->invite_ct);
	if (err) {
		l->invite_ct = NULL;
		return err;
	}
	b->stats.b_legs++;
	return 0;
}

/* Send to the flow or the next resolved target; false when none worked. */
bool bleg_send(struct leg *l)
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
		bleg_failed(l, 503, SL("Name Not Resolved"), NULL);
		return;
	}
	n = n > RESOLVE_TARGETS_MAX ? RESOLVE_TARGETS_MAX : n;
	l->targets = sb_malloc(n * sizeof(*v));
	if (!l->targets) {
		bleg_failed(l, 500, none, NULL);
		return;
	}
	memcpy(l->targets, v, n * sizeof(*v));
	l->ntargets = (uint8_t)n;
	if (!bleg_send(l))
		bleg_failed(l, 503, none, NULL);
}

/* Start a B-leg toward target (the Request-URI), by hop (a URI, or the
 * registered flow when given), with path as its first routes. */
void bleg_start(struct call *c, struct slice target, struct slice path,
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
		l->mside = refer_side(c->xfer);
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
		bleg_failed(l, err == -ENOMEM ? 500 : 416, none, NULL);
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
		bleg_failed(l, err == -EINVAL ? 416 : 503, none, NULL);
		return;
	}
	if (!bleg_send(l))
		bleg_failed(l, 503, none, NULL);
}

/* RFC 3261 16.5 as the proxy does it: every live binding of a user. */
bool bleg_location(struct call *c, const struct sip_uri *ru)
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
		bool is_known = users_aor_exists(aor);

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
		struct slice hop = location_binding_hop(lb);

		if (hop.len)
			bleg_start(c, lb->contact, lb->path, hop,
				   lb->use_flow ? &lb->flow : NULL);
	}
	location_bindings_clear(v, (size_t)n);
	arena_close(&a);
	return true;
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
			struct slice hop = location_binding_hop(&v[0]);

			bleg_start(c, v[0].contact, v[0].path, hop,
				   v[0].use_flow ? &v[0].flow : NULL);
			location_bindings_clear(v, 1);
		}
		arena_close(&a);
	} else if (cp->foreign == CONFIG_FOREIGN_FORWARD) {
		bleg_start(c, ruri->raw, none,
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
	bleg_start(c, target, none, hop, flow);
	c->xfer = NULL;
	return c->nb > nb ? 0 : 500;
}
