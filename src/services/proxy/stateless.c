/* Forwarding without state (RFC 3261 16.11): ACK for 2xx, stray responses.
 */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "runtime/config.h"
#include "services/proxy/proxy_int.h"

enum { ARENA_FIRST = 2048 };

/* FNV-1a of s as 16 hex digits: the same input, the same branch. */
static void hash_hex(struct slice s, char out[16])
{
	static const char hexd[] = "0123456789abcdef";
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.p[i];
		h *= 1099511628211ull;
	}
	for (int i = 15; i >= 0; i--, h >>= 4)
		out[i] = hexd[h & 15];
}

static int send_bytes(struct proxy *p, const struct sip_flow *dst,
		      struct slice bytes)
{
	txn_send_fn send = p->deps.send ? p->deps.send : tp_send;

	return send(dst, bytes.p, bytes.len, NULL, NULL);
}

bool proxy_stateless_ack(struct proxy *p, struct sip_inmsg *im)
{
	const struct config *cfg = p->cfg;
	struct sip_msg *m = &im->msg;
	const struct sip_nameaddr *next, *self;
	const struct sip_uri *ruri, *hop;
	struct resolve_target to;
	char first[ARENA_FIRST], loop[PROXY_LOOP_HEX], br[16];
	char via[PROXY_VIA_MAX], num[BUF_UINT_MAX];
	struct sip_patchset ps;
	struct sip_flow dst;
	struct arena a;
	bool had_self;
	uint32_t mf;
	int err, n;

	arena_init(&a, first, sizeof(first), 0);
	sip_patchset_init(&ps, m, &a, NULL);
	err = proxy_routes(cfg, m, &ps, &ruri, &next, &had_self);
	/* only what was routed through us (our Route) goes on */
	if (err || !had_self) {
		arena_close(&a);
		return false;
	}
	hop = next ? &next->uri : ruri;
	memset(&dst, 0, sizeof(dst));
	self = proxy_self_route(cfg, m);
	if (self && proxy_route_flow(self, &im->flow, &dst) && dst.listener) {
		/* the flow our Record-Route named for that side */
		to.tp = dst.tp;
	} else if (resolve_numeric(hop, &to) != 0 ||
		   !(dst.listener = proxy_out_listener(&to, NULL))) {
		/* an ACK waits for no DNS: numeric next hops only */
		p->stats.dns_failures++;
		arena_close(&a);
		return false;
	} else {
		dst.tp = to.tp;
		dst.remote = to.addr;
	}
	/* RFC 3261 16.11: the branch is a function of the received one, so
	 * a retransmitted ACK leaves with the same branch */
	proxy_loop_hash(m, loop);
	hash_hex(m->via->branch.p ? m->via->branch : m->call_id, br);
	n = snprintf(via, sizeof(via),
		     "SIP/2.0/%.*s %.*s:%u;branch=z9hG4bKsb%.*s.%.*s",
		     SL_ARG(sip_transport_name(to.tp)),
		     SL_ARG(tp_listener_host(dst.listener)),
		     (unsigned)tp_listener_port(dst.listener), PROXY_LOOP_HEX,
		     loop, 16, br);
	err = n > 0 && (size_t)n < sizeof(via)
		  ? sip_patch_hdr_prepend(&ps, SL("Via"),
					  slice_make(via, (size_t)n))
		  : -E2BIG;
	if (!err && sip_msg_max_forwards(m, &mf) == 0 &&
	    sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS)) {
		if (mf == 0)
			err = -ELOOP; /* RFC 3261 16.3 step 3: no further */
		else
			err = sip_patch_hdr_set_value(
			    &ps, sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS),
			    slice_make(num, buf_fmt_uint(num, mf - 1)));
	}
	/* the proxy's print buffer, reused: no allocation per message */
	buf_reset(&p->out);
	if (!err)
		err = sip_msg_print(&ps, &p->out);
	if (!err)
		err = send_bytes(p, &dst, buf_slice(&p->out));
	if (!err)
		p->stats.stateless_acks++;
	else
		p->stats.dropped++;
	arena_close(&a);
	return true;
}

/* RFC 3261 18.2.2, RFC 3581 4: where a response to via v goes. */
static bool via_dest(const struct sip_via *v, struct sip_flow *dst)
{
	enum sip_transport tp;
	struct slice port_text = v->rport;
	uint16_t port;

	if (sip_transport_from(v->transport, &tp) != 0)
		return false;
	port = v->has_port	  ? v->port
	       : tp == SIP_TP_TLS ? PROXY_SIPS_PORT
				  : PROXY_SIP_PORT;
	if (v->has_rport && port_text.len) {
		uint32_t n = 0;
		for (size_t i = 0; i < port_text.len; i++) {
			if (port_text.p[i] < '0' || port_text.p[i] > '9')
				return false;
			n = n * 10 + (uint32_t)(port_text.p[i] - '0');
			if (n > 65535)
				return false;
		}
		if (n)
			port = (uint16_t)n;
	}
	memset(dst, 0, sizeof(*dst));
	dst->tp = tp;
	if (!proxy_host_addr(v->received.len ? v->received : v->host, port,
			     &dst->remote))
		return false;
	dst->listener = tp_listener_find(tp, dst->remote.sa.sa_family);
	return dst->listener != NULL;
}

bool proxy_stateless_response(struct proxy *p, struct sip_inmsg *im)
{
	struct sip_msg *m = &im->msg;
	char first[ARENA_FIRST];
	struct sip_patchset ps;
	struct sip_flow dst;
	struct arena a;
	int err;

	/* ours on top, and someone to send it to below */
	if (!m->via || !m->via->next || !proxy_via_is_self(p->cfg, m->via) ||
	    !via_dest(m->via->next, &dst)) {
		p->stats.dropped++;
		return false;
	}
	arena_init(&a, first, sizeof(first), 0);
	sip_patchset_init(&ps, m, &a, NULL);
	/* the proxy's print buffer, reused: no allocation per message */
	buf_reset(&p->out);
	err = sip_patch_via_remove_top(&ps);
	if (!err)
		err = sip_msg_print(&ps, &p->out);
	if (!err)
		err = send_bytes(p, &dst, buf_slice(&p->out));
	if (!err)
		p->stats.stateless_responses++;
	else
		p->stats.dropped++;
	arena_close(&a);
	return true;
}
