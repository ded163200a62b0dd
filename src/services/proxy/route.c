/* The proxy's routing helpers: who we are, Route and Record-Route, loops. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "runtime/config.h"
#include "base/rand.h"
#include "services/proxy/proxy_int.h"

static const char hex[] = "0123456789abcdef";

bool proxy_host_addr(struct slice host, uint16_t port, struct sip_addr *out)
{
	return sip_addr_from_host(host, port, out) == 0;
}

/* The same IP address, ports aside; an unspecified one matches nothing. */
static bool ip_eq(const struct sip_addr *a, const struct sockaddr_storage *b)
{
	return sip_addr_ip_eq(a, (const struct sockaddr *)b);
}

static uint16_t listen_port(const struct config_listen *l)
{
	const struct sockaddr_in *s = (const struct sockaddr_in *)&l->addr;

	/* sin_port and sin6_port sit at the same offset */
	return ntohs(s->sin_port);
}

/* host:port is one of our listeners (bound address or advertised). */
static bool host_port_is_self(const struct config *cfg, struct slice host,
			      uint16_t port)
{
	struct sip_addr ip;
	bool is_ip = proxy_host_addr(host, port, &ip);

	for (size_t i = 0; i < config_listen_count(cfg); i++) {
		const struct config_listen *l = config_listen_at(cfg, i);
		uint16_t adv_port =
		    l->advertise_port ? l->advertise_port : listen_port(l);

		if (is_ip && port == listen_port(l) && ip_eq(&ip, &l->addr))
			return true;
		if (l->advertise[0] && port == adv_port &&
		    slice_caseeq(host, slice_cstr(l->advertise)))
			return true;
	}
	return false;
}

static bool is_listen_port(const struct config *cfg, uint16_t port)
{
	for (size_t i = 0; i < config_listen_count(cfg); i++) {
		const struct config_listen *l = config_listen_at(cfg, i);
		if (port == listen_port(l) || port == l->advertise_port)
			return true;
	}
	return false;
}

static bool is_domain_listed(const struct config *cfg, struct slice host)
{
	for (size_t i = 0; i < config_domain_count(cfg); i++)
		if (slice_caseeq(host, config_domain_at(cfg, i)))
			return true;
	return false;
}

static uint16_t uri_port(const struct sip_uri *u)
{
	if (u->has_port)
		return u->port;
	/* RFC 3263 4.2: 5061 for sips and TLS, 5060 otherwise */
	return u->scheme == SIP_URI_SIPS ||
		       slice_caseeq_lit(u->transport, "tls")
		   ? PROXY_SIPS_PORT
		   : PROXY_SIP_PORT;
}

bool proxy_host_is_ours(const struct config *cfg, struct slice host)
{
	struct sip_addr ip;
	bool is_ip = proxy_host_addr(host, 0, &ip);

	if (is_domain_listed(cfg, host))
		return true;
	for (size_t i = 0; i < config_listen_count(cfg); i++) {
		const struct config_listen *l = config_listen_at(cfg, i);

		if ((is_ip && ip_eq(&ip, &l->addr)) ||
		    (l->advertise[0] &&
		     slice_caseeq(host, slice_cstr(l->advertise))))
			return true;
	}
	return false;
}

bool proxy_uri_is_self(const struct config *cfg, const struct sip_uri *u)
{
	uint16_t port;

	if ((u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS) ||
	    u->host.len == 0)
		return false;
	port = uri_port(u);
	if (host_port_is_self(cfg, u->host, port))
		return true;
	return is_domain_listed(cfg, u->host) && is_listen_port(cfg, port);
}

bool proxy_uri_is_local(const struct config *cfg, const struct sip_uri *u)
{
	if ((u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS) ||
	    u->host.len == 0)
		return false;
	return is_domain_listed(cfg, u->host) ||
	       host_port_is_self(cfg, u->host, uri_port(u));
}

bool proxy_via_is_self(const struct config *cfg, const struct sip_via *v)
{
	uint16_t port = v->has_port ? v->port
			: slice_caseeq_lit(v->transport, "TLS")
			    ? PROXY_SIPS_PORT
			    : PROXY_SIP_PORT;

	return host_port_is_self(cfg, v->host, port);
}

static uint32_t fnv(uint32_t h, struct slice s)
{
	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.p[i];
		h *= 16777619u;
	}
	return h ^ 0xff; /* a separator between fields */
}

void proxy_loop_hash(struct sip_msg *m, char out[PROXY_LOOP_HEX])
{
	uint32_t h = 2166136261u;
	const struct sip_hdr *x;
	char num[BUF_UINT_MAX];

	/* RFC 3261 16.6 step 8: what a looping request keeps unchanged */
	h = fnv(h, m->ruri_raw);
	h = fnv(h, m->from ? m->from->tag : slice_make(NULL, 0));
	h = fnv(h, m->to ? m->to->tag : slice_make(NULL, 0));
	h = fnv(h, m->call_id);
	h = fnv(h, slice_make(num, buf_fmt_uint(num, m->cseq.num)));
	for (x = sip_msg_hdr(m, SIP_HDR_PROXY_REQUIRE); x;
	     x = sip_msg_hdr_next(m, x))
		h = fnv(h, x->value);
	for (x = sip_msg_hdr(m, SIP_HDR_ROUTE); x; x = sip_msg_hdr_next(m, x))
		h = fnv(h, x->value);
	for (int i = PROXY_LOOP_HEX - 1; i >= 0; i--, h >>= 4)
		out[i] = hex[h & 15];
}

bool proxy_is_loop(const struct config *cfg, struct sip_msg *m,
		   const char hash[PROXY_LOOP_HEX])
{
	/* our branches: "z9hG4bK" "sb" <loop hash> "." <random> */
	for (const struct sip_via *v = m->via; v; v = v->next)
		if (v->branch.len > 9 + PROXY_LOOP_HEX &&
		    memcmp(v->branch.p, "z9hG4bKsb", 9) == 0 &&
		    memcmp(v->branch.p + 9, hash, PROXY_LOOP_HEX) == 0 &&
		    proxy_via_is_self(cfg, v))
			return true;
	return false;
}

/* Remove the Route values in drop[] (message order), a line at a time. */
static int remove_routes(struct sip_patchset *ps, const struct sip_msg *m,
			 const struct sip_nameaddr *first,
			 const struct sip_nameaddr **drop, size_t ndrop)
{
	size_t i = 0;

	while (i < ndrop) {
		uint16_t hdr = drop[i]->hdr;
		size_t j = i, on_line = 0;
		const struct sip_nameaddr *kept = NULL;
		int err;

		while (j < ndrop && drop[j]->hdr == hdr)
			j++;
		for (const struct sip_nameaddr *r = first; r; r = r->next) {
			bool is_dropped = false;
			if (r->hdr != hdr)
				continue;
			on_line++;
			for (size_t k = i; k < j; k++)
				is_dropped |= drop[k] == r;
			if (!is_dropped && !kept)
				kept = r;
		}
		if (on_line == j - i) {
			err = sip_patch_hdr_remove(ps, &m->hdrs[hdr]);
		} else if (j - i == 1) {
			err = sip_patch_nameaddr_remove(ps, drop[i]);
		} else if (kept && kept->off > drop[j - 1]->off) {
			/* a leading run: up to the first value kept */
			err = sip_patch_add(ps, drop[i]->off,
					    kept->off - drop[i]->off,
					    slice_make(NULL, 0));
		} else {
			err = -EINVAL;
		}
		if (err)
			return err;
		i = j;
	}
	return 0;
}

int proxy_routes(const struct config *cfg, struct sip_msg *m,
		 struct sip_patchset *ps, const struct sip_uri **ruri,
		 const struct sip_nameaddr **next, bool *had_self)
{
	const struct sip_nameaddr *first = NULL, *last = NULL, *r;
	const struct sip_nameaddr *drop[3];
	size_t ndrop = 0;
	int err = sip_msg_routes(m, &first);

	*ruri = &m->ruri;
	*next = NULL;
	*had_self = false;
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	for (r = first; r; r = r->next)
		last = r;
	/* RFC 3261 16.4: a strict router sent us our own Record-Route
	 * value as Request-URI; the real one is the last Route value */
	if (m->ruri.user.len == 0 && proxy_uri_is_self(cfg, &m->ruri) && last) {
		err = sip_patch_ruri_set(ps, last->uri.raw);
		if (err)
			return err;
		*ruri = &last->uri;
		*had_self = true;
	} else {
		last = NULL;
	}
	/* RFC 3261 16.4: our own top Route goes (two: double RR) */
	for (r = first;
	     r && r != last && ndrop < 2 && proxy_uri_is_self(cfg, &r->uri);
	     r = r->next)
		drop[ndrop++] = r;
	*next = r != last ? r : NULL;
	*had_self = *had_self || ndrop > 0;
	if (last)
		drop[ndrop++] = last;
	return remove_routes(ps, m, first, drop, ndrop);
}

struct slice proxy_rr_value(const struct tp_listener *l, bool r2,
			    struct slice up, struct slice down, char *out,
			    size_t cap)
{
	static const char *const tp_param[SIP_TP__COUNT] = {
	    "", ";transport=tcp", ";transport=tls"};
	struct slice host = tp_listener_host(l);
	int n = snprintf(out, cap, "<sip:%.*s:%u%s;lr%s%s%.*s%s%.*s>",
			 SL_ARG(host), (unsigned)tp_listener_port(l),
			 tp_param[tp_listener_transport(l)], r2 ? ";r2=on" : "",
			 up.len ? ";sbu=" : "", SL_ARG(up),
			 down.len ? ";sbd=" : "", SL_ARG(down));

	if (n < 0 || (size_t)n >= cap)
		return slice_make(NULL, 0);
	return slice_make(out, (size_t)n);
}

struct tp_listener *proxy_out_listener(const struct resolve_target *to,
				       const struct sip_flow *flow)
{
	if (flow && flow->listener)
		return flow->listener;
	return to ? tp_listener_find(to->tp, to->addr.sa.sa_family) : NULL;
}

const struct sip_nameaddr *proxy_self_route(const struct config *cfg,
					    struct sip_msg *m)
{
	const struct sip_nameaddr *r = NULL;

	if (sip_msg_routes(m, &r) != 0 || !r ||
	    !proxy_uri_is_self(cfg, &r->uri))
		return NULL;
	return r;
}

enum {
	KEY_LEN = 32,
	MAC_HEX = 16 /* hex digits of the truncated HMAC-SHA256 */
};

static unsigned char token_key[KEY_LEN];
static pthread_once_t token_once = PTHREAD_ONCE_INIT;

static void token_key_init(void)
{
	if (RAND_bytes(token_key, sizeof(token_key)) != 1)
		for (size_t i = 0; i < sizeof(token_key); i += 8) {
			uint64_t r = sb_rand64();
			memcpy(token_key + i, &r, 8);
		}
}

static void mac_hex(const char *p, size_t n, char out[MAC_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	pthread_once(&token_once, token_key_init);
	if (!HMAC(EVP_sha256(), token_key, sizeof(token_key),
		  (const unsigned char *)p, n, md, &mdlen) ||
	    mdlen < MAC_HEX / 2)
		memset(md, 0, sizeof(md));
	for (size_t i = 0; i < MAC_HEX / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
}

/* "<tp digit><4|6><address hex><port hex><mac hex>" */
size_t proxy_flow_token(const struct sip_flow *f, char out[PROXY_TOKEN_MAX])
{
	const unsigned char *ip;
	size_t iplen, n = 0;
	uint16_t port = sip_addr_port(&f->remote);

	if (f->remote.sa.sa_family == AF_INET) {
		ip = (const unsigned char *)&f->remote.in.sin_addr;
		iplen = 4;
	} else if (f->remote.sa.sa_family == AF_INET6) {
		ip = (const unsigned char *)&f->remote.in6.sin6_addr;
		iplen = 16;
	} else {
		return 0;
	}
	out[n++] = (char)('0' + (int)f->tp);
	out[n++] = iplen == 4 ? '4' : '6';
	for (size_t i = 0; i < iplen; i++) {
		out[n++] = hex[ip[i] >> 4];
		out[n++] = hex[ip[i] & 15];
	}
	for (int sh = 12; sh >= 0; sh -= 4)
		out[n++] = hex[(port >> sh) & 15];
	mac_hex(out, n, out + n);
	return n + MAC_HEX;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool proxy_flow_parse(struct slice tok, struct sip_flow *out)
{
	unsigned char ip[16];
	char mac[MAC_HEX];
	size_t iplen, body;
	uint32_t port = 0;
	int tp;

	if (tok.len < 2)
		return false;
	tp = tok.p[0] - '0';
	iplen = tok.p[1] == '4' ? 4 : tok.p[1] == '6' ? 16 : 0;
	body = 2 + 2 * iplen + 4;
	if (tp < 0 || tp >= SIP_TP__COUNT || !iplen ||
	    tok.len != body + MAC_HEX)
		return false;
	mac_hex(tok.p, body, mac);
	/* not memcmp: the same time whatever matches */
	{
		unsigned diff = 0;
		for (size_t i = 0; i < MAC_HEX; i++)
			diff |= (unsigned)(mac[i] ^ tok.p[body + i]);
		if (diff)
			return false;
	}
	for (size_t i = 0; i < iplen; i++) {
		int hi = unhex(tok.p[2 + 2 * i]), lo = unhex(tok.p[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		ip[i] = (unsigned char)(hi << 4 | lo);
	}
	for (size_t i = 0; i < 4; i++) {
		int d = unhex(tok.p[2 + 2 * iplen + i]);
		if (d < 0)
			return false;
		port = port << 4 | (uint32_t)d;
	}
	memset(out, 0, sizeof(*out));
	out->tp = (enum sip_transport)tp;
	if (iplen == 4) {
		out->remote.in.sin_family = AF_INET;
		memcpy(&out->remote.in.sin_addr, ip, 4);
		out->remote.in.sin_port = htons((uint16_t)port);
		out->remote.len = sizeof(out->remote.in);
	} else {
		out->remote.in6.sin6_family = AF_INET6;
		memcpy(&out->remote.in6.sin6_addr, ip, 16);
		out->remote.in6.sin6_port = htons((uint16_t)port);
		out->remote.len = sizeof(out->remote.in6);
	}
	/* NULL when no listener of that kind exists: sending then fails */
	out->listener = tp_listener_find(out->tp, out->remote.sa.sa_family);
	return true;
}

static bool flow_is(const struct sip_flow *a, const struct sip_flow *b)
{
	return a->tp == b->tp && sip_addr_eq(&a->remote, &b->remote);
}

bool proxy_route_flow(const struct sip_nameaddr *r, const struct sip_flow *src,
		      struct sip_flow *out)
{
	struct sip_flow up, down;
	struct slice v;
	bool has_up, has_down;

	has_up = sip_uri_param(&r->uri, "sbu", &v) == 0 && v.p &&
		 proxy_flow_parse(v, &up);
	has_down = sip_uri_param(&r->uri, "sbd", &v) == 0 && v.p &&
		   proxy_flow_parse(v, &down);
	if (has_up && flow_is(src, &up)) {
		if (!has_down)
			return false; /* toward the callee by its Contact */
		*out = down;
		return true;
	}
	if (has_down && flow_is(src, &down)) {
		if (!has_up)
			return false;
		*out = up;
		return true;
	}
	/* from the side that needs no token: toward the one that does */
	if (has_up != has_down) {
		*out = has_up ? up : down;
		return true;
	}
	return false;
}
