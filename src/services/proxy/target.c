/* The proxy's checks (RFC 3261 16.3) and targets (16.5) of a request. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/config.h"
#include "services/proxy/proxy_int.h"
#include "services/registrar/registrar.h"
#include "services/users/users.h"

static const struct slice none = {NULL, 0};

/* RFC 3261 16.3: the checks before anything is forwarded. */
bool proxy_validate(struct proxy *p, struct txn *t, struct sip_msg *req,
		    const struct config *cfg, char loop[PROXY_LOOP_HEX])
{
	const struct sip_token *tok = NULL;
	uint32_t mf;

	/* 16.3 step 3: Max-Forwards */
	if (sip_msg_max_forwards(req, &mf) == 0 && mf == 0) {
		p->stats.too_many_hops++;
		proxy_reply(t, 483, none, none);
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
		proxy_reply(t, 420, none, slice_make(extra, n));
		return false;
	}
	/* 16.3 step 4: our own Via with the same loop hash */
	proxy_loop_hash(req, loop);
	if (proxy_is_loop(cfg, req, loop)) {
		p->stats.loops++;
		proxy_reply(t, 482, none, none);
		return false;
	}
	return true;
}

/* The first URI of a Path (the next hop), or the whole when one. */
/* RFC 3261 16.5: a user of ours: every live binding is a target. */
static bool targets_from_location(struct pctx *c, const struct sip_uri *ru)
{
	struct proxy *p = c->p;
	char aor_buf[LOCATION_AOR_MAX], first[PROXY_LOOKUP_FIRST];
	struct location_binding v[64];
	struct location_time now;
	struct slice aor;
	struct arena a;
	uint32_t cap = config_proxy(c->cfg)->max_branches;
	ssize_t n;

	if (registrar_aor_from_uri(ru, aor_buf, sizeof(aor_buf), &aor) != 0) {
		p->stats.not_found++;
		proxy_reply(c->st, 404, none, none);
		return false;
	}
	location_time_now(&now);
	arena_init(&a, first, sizeof(first), 0);
	n = location_lookup(p->deps.location, aor, now.mono_ms, &a, v,
			    cap < 64 ? cap : 64);
	if (n <= 0) {
		bool is_known = users_aor_exists(aor);

		arena_close(&a);
		if (n < 0) {
			proxy_reply(c->st, 500, none, none);
		} else if (is_known) {
			p->stats.unavailable++;
			proxy_reply(c->st, 480, none, none);
		} else {
			p->stats.not_found++;
			proxy_reply(c->st, 404, none, none);
		}
		return false;
	}
	for (ssize_t i = 0; i < n; i++) {
		struct location_binding *lb = &v[i];
		struct slice hop = location_binding_hop(lb);
		struct branch *b;

		if (!hop.len)
			continue;
		b = proxy_branch_new(
		    c, lb->contact, lb->path, hop,
		    lb->q_milli == LOCATION_Q_UNSET ? 1000 : lb->q_milli);
		if (b && lb->use_flow) {
			tp_flow_copy(&b->flow, &lb->flow);
			b->has_flow = true;
		}
	}
	location_bindings_clear(v, (size_t)n);
	arena_close(&a);
	if (c->nbr == 0) {
		proxy_reply(c->st, 500, none, none);
		return false;
	}
	return true;
}

/* RFC 3261 16.5: the targets of a request, or an answer. */
bool proxy_targets(struct pctx *c, struct sip_msg *req, bool *is_local_svc)
{
	struct proxy *p = c->p;
	const struct config_proxy *cp = config_proxy(c->cfg);
	const struct sip_nameaddr *next;
	const struct sip_uri *ruri;
	char first[PROXY_ARENA_FIRST];
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
		proxy_reply(c->st, 400, SL("Bad Route"), none);
		ok = false;
	} else if (self && proxy_route_flow(self, txn_flow(c->st), &flow)) {
		/* our Record-Route named the flow toward that side */
		struct branch *b = proxy_branch_new(
		    c, ruri != &req->ruri ? ruri->raw : none, none,
		    next ? next->uri.raw : ruri->raw, 1000);
		if ((ok = b != NULL)) {
			b->flow = flow;
			b->has_flow = true;
		}
	} else if (next) {
		/* 16.5: a Route left decides; the Request-URI stays */
		ok = proxy_branch_new(c, none, none, next->uri.raw, 1000) !=
		     NULL;
	} else if (ruri->user.len == 0 && proxy_uri_is_self(c->cfg, ruri)) {
		*is_local_svc = true;
		ok = false;
	} else if (had_self) {
		/* in a dialog we record-routed: to the Request-URI */
		ok = proxy_branch_new(c, ruri != &req->ruri ? ruri->raw : none,
				      none, ruri->raw, 1000) != NULL;
	} else if (proxy_uri_is_local(c->cfg, ruri)) {
		ok = targets_from_location(c, ruri);
		arena_close(&a);
		return ok;
	} else if (cp->foreign == CONFIG_FOREIGN_REFUSE) {
		p->stats.refused++;
		proxy_reply(c->st, 403, SL("Relaying Denied"), none);
		ok = false;
		arena_close(&a);
		return false;
	} else {
		struct slice hop = cp->outbound_proxy
				       ? slice_cstr(cp->outbound_proxy)
				       : ruri->raw;
		ok = proxy_branch_new(c, none, none, hop, 1000) != NULL;
	}
	if (!ok && !err && !*is_local_svc && c->nbr == 0)
		proxy_reply(c->st, 500, none, none);
	arena_close(&a);
	return ok && !*is_local_svc;
}

/* A branch with copies of ruri (may be unset), path and hop text. */
struct branch *proxy_branch_new(struct pctx *c, struct slice ruri,
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
