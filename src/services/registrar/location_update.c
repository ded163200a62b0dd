/* Applying one REGISTER to the location service (RFC 3261 10.3 steps 6-7). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/limits.h"
#include "services/registrar/location_int.h"

/*
 * What one update works with, per contact: where its binding comes from,
 * the binding built for it (NULL for a removal), the binding it replaces,
 * and whether a later contact of the same request overrides it.
 */
struct plan {
	struct loc_proto *protos;
	struct binding **fresh;
	struct binding **match;
	bool *is_skipped;
	size_t nlink; /* fresh bindings to link */
	size_t adds;  /* of those, not replacing one */
	bool is_stale;
	int64_t delta; /* change in the AOR's binding count */
};

static const struct sb_limits *uri_limits(void)
{
	static const struct sb_limits lim = {.max_params = SB_PARAMS_CEILING};

	return &lim;
}

static bool contact_eq(struct slice a, struct slice b)
{
	struct sip_uri ua, ub;

	if (slice_eq(a, b))
		return true;
	if (sip_uri_parse(a, &ua, uri_limits()) != 0 ||
	    sip_uri_parse(b, &ub, uri_limits()) != 0)
		return false;
	return sip_uri_eq(&ua, &ub);
}

static bool has_flow_id(const struct location_contact *c)
{
	return c->instance.len && c->reg_id;
}

/*
 * The binding a contact updates: by +sip.instance and reg-id when it has
 * both (RFC 5626 6), else (or when none matches) by URI (RFC 3261 10.3).
 */
static struct binding *binding_match(const struct aor *a,
				     const struct location_contact *c)
{
	struct binding *b;

	if (!a)
		return NULL;
	if (has_flow_id(c))
		for (b = a->bindings; b; b = b->next)
			if (b->reg_id == c->reg_id &&
			    slice_eq(loc_b_instance(b), c->instance))
				return b;
	for (b = a->bindings; b; b = b->next)
		if (contact_eq(loc_b_contact(b), c->uri))
			return b;
	return NULL;
}

/* Two contacts of one request naming the same binding: the later wins. */
static bool contact_same(const struct location_contact *x,
			 const struct location_contact *y)
{
	if (has_flow_id(x) && has_flow_id(y))
		return x->reg_id == y->reg_id &&
		       slice_eq(x->instance, y->instance);
	return contact_eq(x->uri, y->uri);
}

/* RFC 3261 10.3 steps 6-7: the same Call-ID needs a higher CSeq. */
static bool is_stale(const struct binding *b, const struct location_update *u)
{
	return slice_eq(loc_b_call_id(b), u->call_id) && u->cseq <= b->cseq;
}

/* "ip:port" or "[ip6]:port" into out, cut to cap - 1 as snprintf would. */
static void put_source(char *out, size_t cap, bool is_v6, const char *ip,
		       uint16_t port)
{
	char t[INET6_ADDRSTRLEN + 2 + 1 + BUF_UINT_MAX];
	size_t n = 0, len = strnlen(ip, INET6_ADDRSTRLEN);

	if (is_v6)
		t[n++] = '[';
	memcpy(t + n, ip, len);
	n += len;
	if (is_v6)
		t[n++] = ']';
	t[n++] = ':';
	n += buf_fmt_uint(t + n, port);
	if (n > cap - 1)
		n = cap - 1;
	memcpy(out, t, n);
	out[n] = '\0';
}

static void to_record(const struct loc_proto *p, struct store_binding *r)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sip_flow *f = p->flow;

	memset(r, 0, sizeof(*r));
	memcpy(r->aor, p->aor.p, p->aor.len);
	memcpy(r->contact, p->contact.p, p->contact.len);
	if (p->path.len)
		memcpy(r->path, p->path.p, p->path.len);
	if (p->call_id.len)
		memcpy(r->call_id, p->call_id.p, p->call_id.len);
	r->cseq = p->cseq;
	r->q_milli = p->q_milli == LOCATION_Q_UNSET ? 1000 : p->q_milli;
	r->expires_at = p->expires_unix;
	slice_lower(sip_transport_name(f->tp), r->transport);
	if (f->remote.sa.sa_family == AF_INET) /* no inet_ntop's printf */
		buf_fmt_ip4(ip, (const unsigned char *)&f->remote.in.sin_addr);
	else
		sip_addr_ip(&f->remote, ip, sizeof(ip));
	put_source(r->source, sizeof(r->source),
		   f->remote.sa.sa_family == AF_INET6, ip,
		   sip_addr_port(&f->remote));
	if (f->listener) {
		const char *name = tp_listener_name(f->listener);
		size_t len = strnlen(name, sizeof(r->local) - 1);

		memcpy(r->local, name, len); /* r is zeroed: NUL-terminated */
	}
	if (p->user_agent.len)
		memcpy(r->user_agent, p->user_agent.p, p->user_agent.len);
	if (p->instance.len)
		memcpy(r->instance, p->instance.p, p->instance.len);
	r->reg_id = p->instance.len ? p->reg_id : 0;
}

static void persist_put(struct location *loc, const struct loc_proto *p)
{
	struct store_binding r;

	if (!loc->o.persist.put)
		return;
	to_record(p, &r);
	if (loc->o.persist.put(loc->o.persist.ctx, &r) != 0)
		loc_count(&loc->persist_errors, 1);
}

/* Outside the lock: the arrays, the protos and the fresh bindings. */
static int plan_build(struct location *loc, const struct location_update *u,
		      struct slice key, struct arena *a, struct plan *p)
{
	size_t n = u->ncontacts ? u->ncontacts : 1;

	p->protos = arena_zalloc(a, n * sizeof(*p->protos));
	p->fresh = arena_zalloc(a, n * sizeof(*p->fresh));
	p->match = arena_zalloc(a, n * sizeof(*p->match));
	p->is_skipped = arena_zalloc(a, n * sizeof(*p->is_skipped));
	if (!p->protos || !p->fresh || !p->match || !p->is_skipped)
		return -ENOMEM;
	for (size_t i = 0; i < u->ncontacts; i++) {
		const struct location_contact *c = &u->contacts[i];
		struct loc_proto *pr = &p->protos[i];
		*pr = (struct loc_proto){
		    .aor = key,
		    .contact = c->uri,
		    .path = u->path,
		    .call_id = u->call_id,
		    .user_agent = u->user_agent,
		    .instance = c->instance,
		    .cseq = u->cseq,
		    .reg_id = c->reg_id,
		    .q_milli = c->q_milli,
		    .is_nated = c->is_nated,
		    .expires_ms =
			u->now.mono_ms + (uint64_t)c->expires_s * 1000,
		    .expires_unix = u->now.unix_s + (int64_t)c->expires_s,
		    .flow = u->flow,
		};
		if (pr->user_agent.len > LOCATION_TEXT_MAX)
			pr->user_agent.len = LOCATION_TEXT_MAX;
		if (!pr->instance.p)
			pr->instance = slice_make("", 0);
		if (!loc_proto_is_valid(pr))
			return -EINVAL;
		for (size_t j = i + 1; j < u->ncontacts; j++)
			if (contact_same(c, &u->contacts[j]))
				p->is_skipped[i] = true;
		if (c->expires_s && !p->is_skipped[i] &&
		    !(p->fresh[i] = loc_binding_new(loc, pr)))
			return -ENOMEM;
	}
	return 0;
}

/* Under the lock: match, check ordering, count. */
static void plan_check(struct plan *p, const struct location_update *u,
		       const struct aor *ar)
{
	for (size_t i = 0; i < u->ncontacts; i++) {
		if (p->is_skipped[i])
			continue;
		p->match[i] = binding_match(ar, &u->contacts[i]);
		/* Two contacts reaching one binding by different keys. */
		for (size_t j = 0; p->match[i] && j < i; j++) {
			if (p->is_skipped[j] || p->match[j] != p->match[i])
				continue;
			p->is_skipped[j] = true;
			if (p->fresh[j])
				p->nlink--;
			else
				p->delta++;
		}
		if (p->match[i] && is_stale(p->match[i], u))
			p->is_stale = true;
		if (p->fresh[i])
			p->nlink++;
		if (p->fresh[i] && !p->match[i]) {
			p->adds++;
			p->delta++;
		} else if (!p->fresh[i] && p->match[i]) {
			p->delta--;
		}
	}
	for (const struct binding *b = ar && u->is_star ? ar->bindings : NULL;
	     b; b = b->next)
		if (is_stale(b, u))
			p->is_stale = true;
}

/* Under the lock, after every check: make the changes. Cannot fail. */
static void plan_commit(struct plan *p, const struct location_update *u,
			struct shard *s, struct aor *ar, struct loc_gone *g)
{
	while (u->is_star && ar && ar->bindings)
		loc_binding_take(s, ar->bindings, g);
	/* Link first, so the AOR never empties while it is being filled. */
	for (size_t i = 0; i < u->ncontacts; i++) {
		if (p->is_skipped[i] || !p->fresh[i])
			continue;
		loc_binding_link(s, ar, p->fresh[i]);
		p->fresh[i] = NULL;
	}
	for (size_t i = 0; i < u->ncontacts; i++) {
		struct binding *old = p->match[i];
		if (p->is_skipped[i] || !old)
			continue;
		/* Replaced under the same store key: the put overwrites. */
		old->is_kept_in_store =
		    u->contacts[i].expires_s &&
		    slice_eq(loc_b_contact(old), u->contacts[i].uri);
		loc_binding_take(s, old, g);
	}
}

/* Under the lock: bytes a copy of the AOR needs after the commit, at most. */
static size_t plan_copy_bytes(const struct plan *p,
			      const struct location_update *u,
			      const struct aor *ar)
{
	size_t n = loc_copy_bytes(ar, u->now.mono_ms);

	for (size_t i = 0; i < u->ncontacts; i++)
		if (p->fresh[i] && !p->is_skipped[i])
			n += loc_b_text_len(p->fresh[i]);
	return n;
}

/* After the lock: free the fresh bindings nobody linked. */
static void plan_free(struct location *loc, struct plan *p, size_t n)
{
	for (size_t i = 0; p->fresh && i < n; i++)
		if (p->fresh[i])
			p->fresh[i] = loc_binding_free(loc, p->fresh[i]);
}

ssize_t location_update(struct location *loc, const struct location_update *u,
			struct arena *a, struct location_binding *out,
			size_t cap)
{
	struct loc_gone g = {NULL, NULL};
	struct plan p = {0};
	struct loc_key k;
	struct shard *s;
	struct aor *ar;
	bool is_new = false;
	size_t n = 0;
	char *text = NULL;
	int err;

	if (!u->flow || (u->ncontacts && !u->contacts) ||
	    u->call_id.len > LOCATION_TEXT_MAX || (u->is_star && u->ncontacts))
		return -EINVAL;
	if (u->ncontacts > LOCATION_BINDINGS_CEILING)
		return -EMLINK;
	err = loc_key_make(u->aor, &k);
	if (!err)
		err = plan_build(loc, u, k.s, a, &p);
	if (err) {
		plan_free(loc, &p, u->ncontacts);
		return err;
	}
	s = loc_shard(loc, k.hash);
	pthread_mutex_lock(&s->lock);
	ar = loc_aor_find(s, &k);
	if (ar) {
		loc_drop_expired(s, ar, u->now.mono_ms, &g);
		if (ar->nbindings == 0)
			ar = NULL; /* unlinked, on g */
	}
	plan_check(&p, u, ar);
	if (p.is_stale)
		err = -ESTALE;
	else if (p.adds && (int64_t)(ar ? ar->nbindings : 0) + p.delta >
			       loc_bindings_limit(u->max_bindings))
		err = -EMLINK;
	if (!err && !ar && p.nlink) {
		ar = loc_aor_add(loc, s, &k, &err);
		is_new = ar != NULL;
	}
	if (!err)
		err = loc_heap_reserve(loc, s, p.nlink);
	if (!err && cap &&
	    !(text = arena_alloc(a, plan_copy_bytes(&p, u, ar) + 1)))
		err = -ENOMEM;
	if (!err) {
		plan_commit(&p, u, s, ar, &g);
		n = loc_copy_aor(ar, u->now.mono_ms, text, out, cap);
	} else if (is_new) {
		loc_aor_drop(s, ar, &g);
	}
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; !err && i < u->ncontacts; i++)
		if (!p.is_skipped[i] && u->contacts[i].expires_s)
			persist_put(loc, &p.protos[i]);
	loc_gone_finish(loc, &g, true);
	plan_free(loc, &p, u->ncontacts);
	if (err)
		return err;
	loc_sort(out, n);
	return (ssize_t)n;
}
