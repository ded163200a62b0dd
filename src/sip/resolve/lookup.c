/* RFC 3263 lookups: numeric targets, NAPTR, SRV (RFC 2782), A/AAAA. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "base/rand.h"
#include "sip/resolve/resolve_int.h"

enum {
	PORT_SIP = 5060,
	PORT_SIPS = 5061,
	IP_TEXT_MAX = 64 /* longest address literal we try to read */
};

void resolve_req_list_add(struct req_list *l, struct resolve_req *q)
{
	q->list = l;
	q->next = NULL;
	q->prev = l->tail;
	if (l->tail)
		l->tail->next = q;
	else
		l->head = q;
	l->tail = q;
}

void resolve_req_list_remove(struct resolve_req *q)
{
	struct req_list *l = q->list;

	if (!l)
		return;
	if (q->prev)
		q->prev->next = q->next;
	else
		l->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		l->tail = q->prev;
	q->prev = q->next = NULL;
	q->list = NULL;
}

void resolve_req_release(struct resolve_req *q)
{
	for (size_t i = 0; i < q->nneeds; i++)
		resolve_need_stop(&q->needs[i]);
	q->nneeds = 0;
	q->npending = 0;
}

static uint16_t default_port(enum sip_transport tp)
{
	return tp == SIP_TP_TLS ? PORT_SIPS : PORT_SIP;
}

/*
 * RFC 3263 4.1: the transport param when present, else TLS for sips and
 * UDP for sip. A sips URI runs over TLS whatever it names (transport=tcp
 * is how it says so); UDP cannot carry it.
 */
static int uri_transport(const struct sip_uri *u, bool *has_tp,
			 enum sip_transport *tp)
{
	bool is_sips = u->scheme == SIP_URI_SIPS;

	if (u->scheme != SIP_URI_SIP && !is_sips)
		return -EINVAL;
	if (u->has_port && u->port == 0)
		return -EINVAL;
	*has_tp = slice_is_set(u->transport);
	if (!*has_tp) {
		*tp = is_sips ? SIP_TP_TLS : SIP_TP_UDP;
		return 0;
	}
	if (sip_transport_from(u->transport, tp) != 0)
		return -EINVAL;
	if (is_sips) {
		if (*tp == SIP_TP_UDP)
			return -EINVAL;
		*tp = SIP_TP_TLS;
	}
	return 0;
}

/* RFC 3263 4: maddr, when present, is the target instead of the host. */
static struct slice target_host(const struct sip_uri *u)
{
	return slice_is_set(u->maddr) && u->maddr.len ? u->maddr : u->host;
}

/*
 * An address literal ("192.0.2.1", "[2001:db8::1]", or bare IPv6 from a
 * maddr or an SRV target) into out with port. -EAGAIN when it is a name,
 * -EINVAL when bracketed but not IPv6.
 */
static int parse_ip(struct slice h, uint16_t port, struct sip_addr *out)
{
	char tmp[IP_TEXT_MAX];
	bool is_bracketed =
	    h.len >= 2 && h.p[0] == '[' && h.p[h.len - 1] == ']';

	if (is_bracketed) {
		h.p++;
		h.len -= 2;
	}
	if (h.len == 0 || h.len >= sizeof(tmp))
		return is_bracketed || h.len == 0 ? -EINVAL : -EAGAIN;
	memcpy(tmp, h.p, h.len);
	tmp[h.len] = '\0';
	memset(out, 0, sizeof(*out));
	if (!is_bracketed && inet_pton(AF_INET, tmp, &out->in.sin_addr) == 1) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons(port);
		out->len = sizeof(out->in);
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, &out->in6.sin6_addr) == 1) {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		out->len = sizeof(out->in6);
		return 0;
	}
	return is_bracketed ? -EINVAL : -EAGAIN;
}

int resolve_numeric(const struct sip_uri *uri, struct resolve_target *out)
{
	enum sip_transport tp;
	struct sip_addr addr;
	bool has_tp;
	int err;

	if (!uri || !out)
		return -EINVAL;
	err = uri_transport(uri, &has_tp, &tp);
	if (err)
		return err;
	err = parse_ip(target_host(uri),
		       uri->has_port ? uri->port : default_port(tp), &addr);
	if (err)
		return err;
	out->tp = tp;
	out->addr = addr;
	return 0;
}

static void finish(struct resolve_req *q, int err)
{
	struct resolver *r = q->r;

	q->err = q->ntargets ? 0 : err;
	q->stage = REQ_DONE;
	resolve_req_release(q);
	if (!q->has_waited && q->host[0]) /* a name, not an address */
		r->stats.cache_hits++;
	resolve_req_list_remove(q);
	resolve_req_list_add(&r->done, q);
	resolve_kick(r);
}

static struct need *find_need(struct resolve_req *q, const char *name,
			      uint16_t type)
{
	for (size_t i = 0; i < q->nneeds; i++)
		if (q->needs[i].type == type &&
		    strcmp(q->needs[i].name, name) == 0)
			return &q->needs[i];
	return NULL;
}

/* Ask for (name, type) unless this lookup already has. -ENOMEM. */
static int need_add(struct resolve_req *q, const char *name, uint16_t type,
		    struct need **out)
{
	struct need *nd = find_need(q, name, type);
	int rc;

	if (!nd) {
		if (q->nneeds == RESOLVE_NEEDS_MAX)
			return -ENOMEM; /* not reached: sized for the worst */
		nd = &q->needs[q->nneeds++];
		memset(nd, 0, sizeof(*nd));
		nd->q = q;
		nd->name = name;
		nd->type = type;
		rc = resolve_need_start(q->r, nd);
		if (rc < 0) {
			q->nneeds--;
			return rc;
		}
		if (rc == 1) {
			q->npending++;
			q->has_waited = true;
		}
	}
	if (out)
		*out = nd;
	return 0;
}

static int need_status(const struct need *nd)
{
	return nd->set ? nd->set->status : nd->err;
}

/* Keep the first failure, but a timeout says most about the servers. */
static int worse(int have, int err)
{
	if (err == 0 || err == -ENOENT)
		return have;
	if (have == 0 || err == -ETIMEDOUT)
		return err;
	return have;
}

static void add_slot(struct resolve_req *q, enum sip_transport tp,
		     const char *name, uint16_t port)
{
	struct slot *s;

	if (q->nslots == RESOLVE_SLOTS_MAX)
		return;
	s = &q->slots[q->nslots++];
	s->tp = tp;
	s->port = port;
	s->name = name;
	s->is_ip = parse_ip(slice_cstr(name), port, &s->addr) == 0;
}

/* Start the A (and AAAA) queries of every slot. */
static void start_addr(struct resolve_req *q)
{
	int err = 0;

	q->stage = REQ_ADDR;
	for (size_t i = 0; i < q->nslots && !err; i++) {
		if (q->slots[i].is_ip)
			continue;
		err = need_add(q, q->slots[i].name, DNS_TYPE_A, NULL);
		if (!err && q->r->is_ipv6_enabled)
			err =
			    need_add(q, q->slots[i].name, DNS_TYPE_AAAA, NULL);
	}
	if (err)
		finish(q, err);
}

static void add_group(struct resolve_req *q, enum sip_transport tp,
		      const char *name)
{
	for (size_t i = 0; i < q->ngroups; i++)
		if (strcmp(q->groups[i].name, name) == 0)
			return;
	if (q->ngroups == RESOLVE_GROUPS_MAX)
		return;
	q->groups[q->ngroups++] = (struct group){.tp = tp, .name = name};
}

/* "_sip._udp." + host into q->srv_names[i]; skipped when too long. */
static void add_srv_name(struct resolve_req *q, enum sip_transport tp)
{
	static const char *const prefix[SIP_TP__COUNT] = {
	    [SIP_TP_UDP] = "_sip._udp.",
	    [SIP_TP_TCP] = "_sip._tcp.",
	    [SIP_TP_TLS] = "_sips._tcp."};
	size_t i = q->ngroups;
	int len;

	if (i >= sizeof(q->srv_names) / sizeof(q->srv_names[0]))
		return;
	len = snprintf(q->srv_names[i], sizeof(q->srv_names[i]), "%s%s",
		       prefix[tp], q->host);
	if (len < 0 || len > RESOLVE_NAME_MAX)
		return;
	add_group(q, tp, q->srv_names[i]);
}

static void start_srv(struct resolve_req *q)
{
	int err = 0;

	q->stage = REQ_SRV;
	for (size_t i = 0; i < q->ngroups && !err; i++)
		err = need_add(q, q->groups[i].name, DNS_TYPE_SRV,
			       &q->groups[i].need);
	if (err) {
		finish(q, err);
		return;
	}
	if (q->ngroups == 0) {
		/* No SRV name fits: straight to the host's addresses. */
		add_slot(q, q->tp, q->host, default_port(q->tp));
		start_addr(q);
	}
}

static bool naptr_before(const struct rr_naptr *a, const struct rr_naptr *b)
{
	return a->order != b->order ? a->order < b->order : a->pref < b->pref;
}

/*
 * RFC 3263 4.1: NAPTR records sorted by order, then preference, each
 * naming the SRV record of one transport; sips URIs take only SIPS+D2T.
 * Without any (or when the NAPTR query failed), the SRV names of the
 * transports the scheme allows, in our
 * order of preference: _sip._udp then _sip._tcp for sip ("_sip" for SIP
 * URIs, as 4.1 says), _sips._tcp for sips.
 */
static void on_naptr(struct resolve_req *q)
{
	const struct need *nd = &q->needs[0];
	const struct rr_naptr *v[RESOLVE_RECORDS_MAX];
	int st = need_status(nd);
	size_t n = 0;

	/* A server that refuses or fails NAPTR (many do) is treated as
	 * having none: SRV is asked next. A timeout ends the lookup. */
	if (st != 0 && st != -ENOENT && st != -EIO) {
		finish(q, st);
		return;
	}
	for (size_t i = 0; st == 0 && i < nd->set->n; i++) {
		const struct rr_naptr *rec = &nd->set->rr.naptr[i];
		size_t j = n;

		if (q->is_sips && rec->tp != SIP_TP_TLS)
			continue;
		for (; j > 0 && naptr_before(rec, v[j - 1]); j--)
			v[j] = v[j - 1];
		v[j] = rec;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		add_group(q, v[i]->tp, v[i]->replacement);
	if (n > 0) {
		/* RFC 3263 4.2: the transport NAPTR chose, should no SRV
		 * record follow. */
		q->tp = v[0]->tp;
	} else if (q->is_sips) {
		add_srv_name(q, SIP_TP_TLS);
	} else {
		add_srv_name(q, SIP_TP_UDP);
		add_srv_name(q, SIP_TP_TCP);
	}
	start_srv(q);
}

/*
 * RFC 2782: ascending priority; within one priority, repeatedly pick a
 * record at random with probability proportional to its weight, the
 * weight-0 records placed first so that they have a small chance.
 */
static size_t srv_order(const struct rrset *s, uint8_t *idx)
{
	const struct rr_srv *v = s->rr.srv;
	size_t n = s->n;

	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		for (; j > 0 && v[i].priority < v[idx[j - 1]].priority; j--)
			idx[j] = idx[j - 1];
		idx[j] = (uint8_t)i;
	}
	for (size_t a = 0; a < n;) {
		size_t b = a, zeros = a;

		while (b < n && v[idx[b]].priority == v[idx[a]].priority)
			b++;
		for (size_t i = a; i < b; i++) {
			if (v[idx[i]].weight == 0) {
				uint8_t x = idx[i];
				memmove(&idx[zeros + 1], &idx[zeros],
					i - zeros);
				idx[zeros++] = x;
			}
		}
		for (size_t pos = a; pos < b; pos++) {
			uint64_t sum = 0, run = 0, pick;
			size_t j = pos;

			for (size_t i = pos; i < b; i++)
				sum += v[idx[i]].weight;
			pick = sb_rand64() % (sum + 1);
			for (; j < b; j++) {
				run += v[idx[j]].weight;
				if (run >= pick)
					break;
			}
			if (j == b)
				j = b - 1;
			if (j > pos) {
				uint8_t x = idx[j];
				memmove(&idx[pos + 1], &idx[pos], j - pos);
				idx[pos] = x;
			}
		}
		a = b;
	}
	return n;
}

static void on_srv(struct resolve_req *q)
{
	bool is_found = false;
	int hard = 0;

	for (size_t g = 0; g < q->ngroups; g++) {
		const struct need *nd = q->groups[g].need;
		int st = need_status(nd);
		uint8_t idx[RESOLVE_RECORDS_MAX];
		size_t n;

		if (st != 0 || nd->set->n == 0) {
			hard = worse(hard, st);
			continue;
		}
		is_found = true;
		n = srv_order(nd->set, idx);
		for (size_t i = 0; i < n; i++) {
			const struct rr_srv *rec = &nd->set->rr.srv[idx[i]];
			/* RFC 2782: target "." means no such service here */
			if (rec->target[0] == '\0' || rec->port == 0)
				continue;
			add_slot(q, q->groups[g].tp, rec->target, rec->port);
		}
	}
	if (q->nslots == 0) {
		if (is_found || hard) {
			finish(q, hard ? hard : -ENOENT);
			return;
		}
		/* RFC 3263 4.2: no SRV records, so the host's addresses at
		 * the transport's default port */
		add_slot(q, q->tp, q->host, default_port(q->tp));
	}
	start_addr(q);
}

static void add_target(struct resolve_req *q, enum sip_transport tp,
		       const struct sip_addr *a)
{
	struct resolve_target *t;

	if (q->ntargets == RESOLVE_TARGETS_MAX)
		return;
	for (size_t i = 0; i < q->ntargets; i++)
		if (q->targets[i].tp == tp &&
		    sip_addr_eq(&q->targets[i].addr, a))
			return;
	t = &q->targets[q->ntargets++];
	t->tp = tp;
	t->addr = *a;
}

static int expand(struct resolve_req *q, const struct slot *s, uint16_t type)
{
	const struct need *nd = find_need(q, s->name, type);
	struct sip_addr a;
	int st;

	if (!nd)
		return -ENOMEM; /* its query could not be started */
	st = need_status(nd);
	if (st != 0)
		return st;
	for (size_t i = 0; i < nd->set->n; i++) {
		memset(&a, 0, sizeof(a));
		if (type == DNS_TYPE_A) {
			a.in.sin_family = AF_INET;
			a.in.sin_port = htons(s->port);
			a.in.sin_addr = nd->set->rr.a[i];
			a.len = sizeof(a.in);
		} else {
			a.in6.sin6_family = AF_INET6;
			a.in6.sin6_port = htons(s->port);
			a.in6.sin6_addr = nd->set->rr.aaaa[i];
			a.len = sizeof(a.in6);
		}
		add_target(q, s->tp, &a);
	}
	return 0;
}

/* Every slot in order, A before AAAA, up to RESOLVE_TARGETS_MAX. */
static void on_addr(struct resolve_req *q)
{
	int hard = 0;

	for (size_t i = 0; i < q->nslots; i++) {
		const struct slot *s = &q->slots[i];

		if (s->is_ip) {
			add_target(q, s->tp, &s->addr);
			continue;
		}
		hard = worse(hard, expand(q, s, DNS_TYPE_A));
		if (q->r->is_ipv6_enabled)
			hard = worse(hard, expand(q, s, DNS_TYPE_AAAA));
	}
	finish(q, hard ? hard : -ENOENT);
}

void resolve_req_advance(struct resolve_req *q)
{
	while (q->npending == 0) {
		switch (q->stage) {
		case REQ_NAPTR:
			on_naptr(q);
			break;
		case REQ_SRV:
			on_srv(q);
			break;
		case REQ_ADDR:
			on_addr(q);
			break;
		case REQ_DONE:
			return;
		}
	}
}

int resolver_sip(struct resolver *r, const struct sip_uri *uri, resolve_cb cb,
		 void *arg, struct resolve_req **out)
{
	char host[RESOLVE_NAME_MAX + 1] = "";
	struct resolve_req *q;
	struct sip_addr addr;
	enum sip_transport tp;
	bool has_tp;
	int err, ip_err;

	if (!r || !uri || !cb || !out)
		return -EINVAL;
	if (r->is_closing)
		return -ECANCELED;
	err = uri_transport(uri, &has_tp, &tp);
	if (err)
		return err;
	ip_err = parse_ip(target_host(uri),
			  uri->has_port ? uri->port : default_port(tp), &addr);
	if (ip_err == -EAGAIN && resolve_name_norm(target_host(uri), host) <= 0)
		return -EINVAL;
	if (ip_err && ip_err != -EAGAIN)
		return ip_err;
	q = sb_calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->tp = tp;
	q->is_sips = uri->scheme == SIP_URI_SIPS;
	memcpy(q->host, host, sizeof(host));
	r->stats.lookups++;
	resolve_req_list_add(&r->active, q);
	*out = q;
	if (ip_err == 0) {
		add_target(q, tp, &addr);
		finish(q, 0);
	} else if (uri->has_port) {
		/* RFC 3263 4.2: a port means no SRV, only the addresses */
		add_slot(q, tp, q->host, uri->port);
		start_addr(q);
	} else if (has_tp) {
		add_srv_name(q, tp);
		start_srv(q);
	} else {
		q->stage = REQ_NAPTR;
		err = need_add(q, q->host, DNS_TYPE_NAPTR, NULL);
		if (err)
			finish(q, err);
	}
	resolve_req_advance(q);
	return 0;
}

void resolve_cancel(struct resolve_req *q)
{
	if (!q || !q->list)
		return; /* its callback is running */
	resolve_req_list_remove(q);
	resolve_req_release(q);
	sb_free(q);
}
