/* The proxy's printing: a branch's request (RFC 3261 16.6) and a response
 * to forward (16.7), as patch layers over the received message. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/rand.h"
#include "runtime/config.h"
#include "services/proxy/proxy_int.h"
#include "services/registrar/registrar.h"

static const struct slice none = {NULL, 0};

bool proxy_is_dialog_creating(const struct sip_msg *m)
{
	if (m->to && m->to->tag.p)
		return false;
	return m->method == SIP_METHOD_INVITE ||
	       m->method == SIP_METHOD_SUBSCRIBE ||
	       m->method == SIP_METHOD_REFER || m->method == SIP_METHOD_NOTIFY;
}

/* RFC 3261 16.6 step 3: Max-Forwards one less, or 70 when absent. */
static int patch_max_forwards(struct sip_patchset *ps, struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
	char num[BUF_UINT_MAX];
	uint32_t mf;

	if (!h || sip_msg_max_forwards(m, &mf) != 0)
		return sip_patch_hdr_append(ps, SL("Max-Forwards"), SL("70"));
	return sip_patch_hdr_set_value(
	    ps, h, slice_make(num, buf_fmt_uint(num, mf ? mf - 1 : 0)));
}

/* RFC 3261 22.3: credentials for our realms are consumed here. */
static int patch_credentials(struct sip_patchset *ps, struct sip_msg *m,
			     const struct config *cfg)
{
	const struct sip_auth *a = NULL;

	if (sip_msg_auth(m, SIP_HDR_PROXY_AUTHORIZATION, &a) != 0)
		return 0;
	for (; a; a = a->next) {
		int err;

		/* realms are our domains without a port (RFC 3261 22.1) */
		if (!a->realm.len || !proxy_host_is_ours(cfg, a->realm))
			continue;
		err = sip_patch_hdr_remove(ps, &m->hdrs[a->hdr]);
		if (err)
			return err;
	}
	return 0;
}

/* One interface: the same transport and address (reuseport listeners
 * of one address are one interface). */
static bool same_iface(const struct tp_listener *a, const struct tp_listener *b)
{
	return a == b ||
	       (tp_listener_transport(a) == tp_listener_transport(b) &&
		sip_addr_eq(tp_listener_addr(a), tp_listener_addr(b)));
}

/* The Record-Route values: ours, twice when the interface changes. */
static int patch_record_route(struct sip_patchset *ps, struct sip_msg *m,
			      const struct tp_listener *in,
			      const struct tp_listener *out, struct slice up,
			      struct slice down)
{
	const struct sip_hdr *first = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE);
	char v1[PROXY_RR_MAX], v2[PROXY_RR_MAX];
	bool is_double = in && out && !same_iface(in, out);
	struct slice top, second = none;
	char both[2 * PROXY_RR_MAX + 2];

	int n;

	if (!out)
		return -EINVAL;
	/* RFC 5658: the value facing the next hop first, then ours facing
	 * the previous one */
	top = proxy_rr_value(out, is_double, up, down, v1, sizeof(v1));
	if (is_double)
		second = proxy_rr_value(in, true, up, down, v2, sizeof(v2));
	if (!top.len || (is_double && !second.len))
		return -E2BIG;
	n = snprintf(both, sizeof(both), "%.*s%s%.*s", SL_ARG(top),
		     is_double ? ", " : "", SL_ARG(second));
	if (n < 0 || (size_t)n >= sizeof(both))
		return -E2BIG;
	if (first)
		return sip_patch_hdr_insert_before(
		    ps, first, SL("Record-Route"), slice_make(both, (size_t)n));
	return sip_patch_hdr_append(ps, SL("Record-Route"),
				    slice_make(both, (size_t)n));
}

/* RFC 3327 5: the Path of the binding becomes the first Route values. */
static int patch_path(struct sip_patchset *ps, struct sip_msg *m,
		      struct slice path)
{
	const struct sip_nameaddr *r = NULL;

	if (!path.len)
		return 0;
	if (sip_msg_routes(m, &r) == 0 && r)
		return sip_patch_hdr_insert_before(ps, &m->hdrs[r->hdr],
						   SL("Route"), path);
	return sip_patch_hdr_append(ps, SL("Route"), path);
}

/* Our Via: the listener's sent-by, a branch carrying the loop hash. */
static int patch_via(struct sip_patchset *ps, const struct pctx *c,
		     const struct tp_listener *l, enum sip_transport tp)
{
	static const char hexd[] = "0123456789abcdef";
	struct slice host = tp_listener_host(l);
	char v[PROXY_VIA_MAX], rnd[16];
	uint64_t r = sb_rand64();
	int n;

	for (size_t i = 0; i < sizeof(rnd); i++, r >>= 4)
		rnd[i] = hexd[r & 15];
	n = snprintf(v, sizeof(v),
		     "SIP/2.0/%.*s %.*s:%u;branch=z9hG4bKsb%.*s.%.*s",
		     SL_ARG(sip_transport_name(tp)), SL_ARG(host),
		     (unsigned)tp_listener_port(l), PROXY_LOOP_HEX, c->loop,
		     (int)sizeof(rnd), rnd);
	if (n < 0 || (size_t)n >= sizeof(v))
		return -E2BIG;
	return sip_patch_hdr_prepend(ps, SL("Via"), slice_make(v, (size_t)n));
}

/*
 * RFC 3261 18.2.1, RFC 3581 4: received (and the rport value) on the
 * sender's Via as it goes on, so responses forwarded without state (a 2xx
 * retransmission) reach it behind a NAT.
 */
static int patch_received(struct sip_patchset *ps, const struct sip_msg *m,
			  const struct sip_flow *in)
{
	const struct sip_via *v = m->via;
	char ip[INET6_ADDRSTRLEN + 16], port[BUF_UINT_MAX + 1];
	struct slice host = v->host;
	int err = 0, n, pn;

	if (in->remote.sa.sa_family == AF_UNSPEC)
		return 0;
	n = snprintf(ip, sizeof(ip), ";received=");
	sip_addr_ip(&in->remote, ip + n, sizeof(ip) - (size_t)n);
	if (host.len >= 2 && host.p[0] == '[')
		host = slice_make(host.p + 1, host.len - 2);
	/* the rport value first: a bare ";rport" may end the value */
	if (v->has_rport && v->rport.len == 0) {
		port[0] = '=';
		pn = (int)buf_fmt_uint(port + 1, sip_addr_port(&in->remote));
		err = sip_patch_add(ps, (uint32_t)(v->rport.p - m->buf), 0,
				    slice_make(port, (size_t)pn + 1));
	}
	if (!err && (v->has_rport || !slice_caseeq(host, slice_cstr(ip + n))) &&
	    !v->received.p)
		err = sip_patch_add(ps, v->off + v->len, 0, slice_cstr(ip));
	return err;
}

/* The callee's flow token: for a branch sent through a registered flow. */
static struct slice down_token(const struct branch *b, char *out, size_t cap)
{
	(void)cap;
	if (!b->has_flow)
		return none;
	return slice_make(out, proxy_flow_token(&b->flow, out));
}

/*
 * The caller's flow token (RFC 5626 5.3 in spirit): when the caller is on
 * a stream or behind a NAT (its Contact is not where it sends from), so
 * requests toward it take the flow its INVITE came on.
 */
void proxy_up_token(struct pctx *c, struct sip_msg *req)
{
	const struct sip_flow *in = txn_flow(c->st);
	const struct sip_nameaddr *ct = NULL;

	if (!sip_transport_is_reliable(in->tp) &&
	    (sip_msg_contacts(req, &ct) != 0 || !ct ||
	     !registrar_contact_is_nated(&ct->uri, in)))
		return;
	c->up_len = (uint8_t)proxy_flow_token(in, c->up);
}

/* Print the request for branch b leaving by listener out into p->out. */
int proxy_print_branch(struct pctx *c, struct branch *b,
		       const struct tp_listener *out, enum sip_transport tp)
{
	struct proxy *p = c->p;
	struct sip_msg *m = c->req;
	const struct sip_nameaddr *next;
	const struct sip_uri *ruri;
	char first[PROXY_ARENA_FIRST], down[PROXY_TOKEN_MAX];
	struct sip_patchset ps;
	struct arena a;
	bool had_self;
	int err;

	arena_init(&a, first, sizeof(first), 0);
	sip_patchset_init(&ps, m, &a, NULL);
	err = proxy_routes(c->cfg, m, &ps, &ruri, &next, &had_self);
	if (!err && b->ruri.len)
		err = sip_patch_ruri_set(&ps, b->ruri);
	if (!err)
		err = patch_max_forwards(&ps, m);
	if (!err)
		err = patch_credentials(&ps, m, c->cfg);
	if (!err && c->is_record_routed)
		err = patch_record_route(&ps, m, txn_flow(c->st)->listener, out,
					 slice_make(c->up, c->up_len),
					 down_token(b, down, sizeof(down)));
	if (!err)
		err = patch_path(&ps, m, b->path);
	if (!err)
		err = patch_received(&ps, m, txn_flow(c->st));
	if (!err)
		err = patch_via(&ps, c, out, tp);
	buf_reset(&p->out);
	if (!err)
		err = sip_msg_print(&ps, &p->out);
	arena_close(&a);
	return err;
}

/* Print resp without our Via into p->out. */
int proxy_print_response(struct proxy *p, struct sip_inmsg *resp)
{
	char first[PROXY_ARENA_FIRST];
	struct sip_patchset ps;
	struct arena a;
	int err;

	arena_init(&a, first, sizeof(first), 0);
	sip_patchset_init(&ps, &resp->msg, &a, NULL);
	/* RFC 3261 16.7 step 3: our Via goes */
	err = sip_patch_via_remove_top(&ps);
	buf_reset(&p->out);
	if (!err)
		err = sip_msg_print(&ps, &p->out);
	arena_close(&a);
	return err;
}
