/* Config loader: the `listen` list, its strings and mappings, --listen. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "runtime/config_int.h"

/*
 * Parse HOST:PORT (HOST an IPv4 address or a bracketed IPv6 address) into
 * out's bind address; proto names the transport in messages. Returns NULL
 * or what is wrong.
 */
static const char *addr_parse(const char *proto, struct slice rest,
			      struct config_listen *out, char *why,
			      size_t why_len)
{
	char host[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
	struct slice h, port;
	uint32_t port_num;

	if (rest.len && rest.p[0] == '[') {
		const char *end = memchr(rest.p, ']', rest.len);
		if (!end)
			return "missing ']' after the IPv6 address";
		h = slice_make(rest.p + 1, (size_t)(end - rest.p - 1));
		rest =
		    slice_make(end + 1, rest.len - (size_t)(end - rest.p) - 1);
		if (!rest.len || rest.p[0] != ':') {
			snprintf(why, why_len, "must look like %s:[IPV6]:PORT",
				 proto);
			return why;
		}
		port = slice_make(rest.p + 1, rest.len - 1);
		out->addr.ss_family = AF_INET6;
	} else {
		const char *c = memchr(rest.p, ':', rest.len);
		if (!c) {
			snprintf(why, why_len, "must look like %s:HOST:PORT",
				 proto);
			return why;
		}
		h = slice_make(rest.p, (size_t)(c - rest.p));
		port = slice_make(c + 1, rest.len - h.len - 1);
		if (memchr(port.p, ':', port.len)) {
			snprintf(why, why_len,
				 "IPv6 addresses must be in brackets, e.g. "
				 "%s:[::1]:5060",
				 proto);
			return why;
		}
		out->addr.ss_family = AF_INET;
	}
	if (h.len == 0 || h.len >= sizeof(host))
		return "HOST must be an IPv4 address or an [IPv6] address";
	memcpy(host, h.p, h.len);
	host[h.len] = '\0';
	if (slice_to_u32(port, &port_num) != 0 || port_num < 1 ||
	    port_num > 65535)
		return "PORT must be a number between 1 and 65535";
	if (out->addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->addr;
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return "HOST in brackets must be an IPv6 address";
		a6->sin6_port = htons((uint16_t)port_num);
		out->addr_len = sizeof(*a6);
		inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof(text));
		snprintf(out->hostport, sizeof(out->hostport), "[%s]:%u", text,
			 (unsigned)port_num);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&out->addr;
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return "HOST must be an IPv4 address or an [IPv6] "
			       "address (names are not resolved)";
		a4->sin_port = htons((uint16_t)port_num);
		out->addr_len = sizeof(*a4);
		inet_ntop(AF_INET, &a4->sin_addr, text, sizeof(text));
		snprintf(out->hostport, sizeof(out->hostport), "%s:%u", text,
			 (unsigned)port_num);
	}
	return NULL;
}

static bool is_hostname(struct slice s)
{
	if (s.len == 0 || s.p[0] == '-' || s.p[0] == '.')
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/*
 * An advertised address: a host name, an IPv4 address or an IPv6 address
 * (bracketed when a port follows), with an optional :PORT. Stored with
 * IPv6 in brackets, as it goes into a Via.
 */
static const char *advertise_parse(struct slice v, struct config_listen *out)
{
	struct in6_addr a6;
	char ip[INET6_ADDRSTRLEN + 1];
	struct slice host = v, port = slice_make(NULL, 0);
	bool is_v6 = false;
	uint32_t port_num = 0;
	const char *c;

	if (v.len && v.p[0] == '[') {
		const char *end = memchr(v.p, ']', v.len);
		if (!end)
			return "advertise: missing ']' after the IPv6 address";
		host = slice_make(v.p + 1, (size_t)(end - v.p - 1));
		if (end + 1 < v.p + v.len) {
			if (end[1] != ':')
				return "advertise: must look like [IPV6] or "
				       "[IPV6]:PORT";
			port = slice_make(end + 2,
					  (size_t)(v.p + v.len - end - 2));
		}
		is_v6 = true;
	} else if ((c = memchr(v.p, ':', v.len)) &&
		   memchr(c + 1, ':', v.len - (size_t)(c + 1 - v.p))) {
		is_v6 = true; /* two colons: a bare IPv6 address, no port */
	} else if (c) {
		host = slice_make(v.p, (size_t)(c - v.p));
		port = slice_make(c + 1, v.len - host.len - 1);
	}
	if (port.p && (slice_to_u32(port, &port_num) != 0 || port_num < 1 ||
		       port_num > 65535))
		return "advertise: PORT must be a number between 1 and 65535";
	if (is_v6) {
		if (host.len == 0 || host.len >= sizeof(ip))
			return "advertise: not an IPv6 address";
		memcpy(ip, host.p, host.len);
		ip[host.len] = '\0';
		if (inet_pton(AF_INET6, ip, &a6) != 1)
			return "advertise: not an IPv6 address";
		snprintf(out->advertise, sizeof(out->advertise), "[%s]", ip);
	} else {
		if (!is_hostname(host) || host.len >= sizeof(out->advertise))
			return "advertise: must be a host name, an IPv4 or an "
			       "IPv6 address, optionally with :PORT";
		memcpy(out->advertise, host.p, host.len);
		out->advertise[host.len] = '\0';
	}
	out->advertise_port = (uint16_t)port_num;
	return NULL;
}

static const char *proto_parse(struct slice proto, struct config_listen *out,
			       char *why, size_t why_len)
{
	if (slice_eq(proto, SL("udp")))
		out->transport = CONFIG_TRANSPORT_UDP;
	else if (slice_eq(proto, SL("tcp")))
		out->transport = CONFIG_TRANSPORT_TCP;
	else if (slice_eq(proto, SL("tls")))
		out->transport = CONFIG_TRANSPORT_TLS;
	else {
		snprintf(
		    why, why_len,
		    "unknown transport \"%.*s\" (expected udp, tcp or tls)",
		    (int)(proto.len > 16 ? 16 : proto.len), proto.p);
		return why;
	}
	return NULL;
}

/*
 * Parse "PROTO:HOST:PORT", optionally followed by ";advertise=HOST[:PORT]",
 * into out. Returns NULL on success or a message saying what is wrong.
 */
static const char *listen_parse(struct slice s, struct config_listen *out,
				char *why, size_t why_len)
{
	const char *colon = memchr(s.p, ':', s.len);
	const char *semi, *bad;
	struct slice proto, rest, params;

	memset(out, 0, sizeof(*out));
	if (!colon)
		return "must look like PROTO:HOST:PORT (udp, tcp or tls)";
	proto = slice_make(s.p, (size_t)(colon - s.p));
	rest = slice_make(colon + 1, s.len - proto.len - 1);
	bad = proto_parse(proto, out, why, why_len);
	if (bad)
		return bad;
	semi = memchr(rest.p, ';', rest.len);
	params = slice_make(NULL, 0);
	if (semi) {
		params = slice_make(semi + 1,
				    rest.len - (size_t)(semi + 1 - rest.p));
		rest = slice_make(rest.p, (size_t)(semi - rest.p));
	}
	bad = addr_parse(config_transport_name(out->transport), rest, out, why,
			 why_len);
	if (bad)
		return bad;
	if (params.p) {
		if (params.len < 10 || memcmp(params.p, "advertise=", 10) != 0)
			return "the only parameter is ;advertise=HOST[:PORT]";
		bad = advertise_parse(
		    slice_make(params.p + 10, params.len - 10), out);
		if (bad)
			return bad;
	}
	return NULL;
}

static int listen_push(struct loader *ld, const yaml_mark_t *at,
		       const char *key, const struct config_listen *l)
{
	struct config *c = ld->c;

	if (c->listen_count == CONFIG_LISTEN_MAX)
		return config_fail(ld, at, key,
				   "at most %d listeners are allowed",
				   CONFIG_LISTEN_MAX);
	for (size_t i = 0; i < c->listen_count; i++)
		if (c->listen[i].transport == l->transport &&
		    c->listen[i].addr_len == l->addr_len &&
		    memcmp(&c->listen[i].addr, &l->addr, l->addr_len) == 0)
			return config_fail(ld, at, key,
					   "duplicate of listen[%zu] (%s)", i,
					   l->hostport);
	ld->has_listen_marks[c->listen_count] = at != NULL;
	if (at)
		ld->listen_marks[c->listen_count] = *at;
	c->listen[c->listen_count++] = *l;
	return 0;
}

int config_listen_add(struct loader *ld, const yaml_mark_t *at, const char *key,
		      struct slice text)
{
	struct config_listen l;
	char why[128];
	const char *bad = listen_parse(text, &l, why, sizeof(why));

	if (bad)
		return config_fail(ld, at, key, "%s", bad);
	return listen_push(ld, at, key, &l);
}

static int on_listen_proto(struct loader *ld, const char *key, yaml_node_t *k,
			   yaml_node_t *v)
{
	struct config_listen *l = &ld->entry;
	const char *name = strrchr(key, '.') + 1;
	char why[128];
	const char *bad;
	struct slice s;
	int rc;

	if (ld->has_entry_proto)
		return config_fail(ld, &k->start_mark, key,
				   "give one of udp, tcp or tls per listener");
	rc = config_get_string(ld, key, k, v, &s);
	if (rc != 0)
		return rc;
	ld->has_entry_proto = true;
	bad = proto_parse(slice_cstr(name), l, why, sizeof(why));
	if (!bad)
		bad = addr_parse(name, s, l, why, sizeof(why));
	if (bad)
		return config_fail(ld, &k->start_mark, key, "%s", bad);
	return 0;
}

static int on_listen_advertise(struct loader *ld, const char *key,
			       yaml_node_t *k, yaml_node_t *v)
{
	const char *bad;
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	bad = advertise_parse(s, &ld->entry);
	if (bad)
		return config_fail(ld, &k->start_mark, key, "%s", bad + 11);
	return 0;
}

/* The mapping form: {udp: "HOST:PORT", advertise: "HOST[:PORT]"}. */
static int listen_add_map(struct loader *ld, const char *key, yaml_node_t *n)
{
	static const struct rule rules[] = {
	    {"udp", on_listen_proto},
	    {"tcp", on_listen_proto},
	    {"tls", on_listen_proto},
	    {"advertise", on_listen_advertise},
	};
	int rc;

	memset(&ld->entry, 0, sizeof(ld->entry));
	ld->has_entry_proto = false;
	rc = config_walk_map(ld, key, n, n, rules,
			     sizeof(rules) / sizeof(rules[0]));
	if (rc != 0)
		return rc;
	if (!ld->has_entry_proto)
		return config_fail(ld, &n->start_mark, key,
				   "a listener needs one of udp, tcp or tls");
	return listen_push(ld, &n->start_mark, key, &ld->entry);
}

int config_on_listen(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	char item_key[CONFIG_KEY_MAX];
	yaml_node_item_t *it;
	int rc;

	ld->has_listen = true;
	ld->listen_mark = k->start_mark;
	if (v->type != YAML_SEQUENCE_NODE)
		return config_fail(
		    ld, &k->start_mark, key,
		    "must be a list of PROTO:HOST:PORT strings, not %s",
		    config_describe(v));
	it = v->data.sequence.items.start;
	for (size_t i = 0; it < v->data.sequence.items.top; it++, i++) {
		yaml_node_t *n = yaml_document_get_node(ld->doc, *it);
		struct slice s;

		snprintf(item_key, sizeof(item_key), "%s[%zu]", key, i);
		if (n->type == YAML_MAPPING_NODE) {
			rc = listen_add_map(ld, item_key, n);
			if (rc != 0)
				return rc;
			continue;
		}
		rc = config_get_string(ld, item_key, n, n, &s);
		if (rc != 0)
			return rc;
		rc = config_listen_add(ld, &n->start_mark, item_key, s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

bool config_listen_same(const struct config *a, const struct config *b)
{
	if (a->listen_count != b->listen_count)
		return false;
	for (size_t i = 0; i < a->listen_count; i++) {
		const struct config_listen *x = &a->listen[i],
					   *y = &b->listen[i];
		if (x->transport != y->transport ||
		    x->addr_len != y->addr_len ||
		    memcmp(&x->addr, &y->addr, x->addr_len) != 0 ||
		    strcmp(x->advertise, y->advertise) != 0 ||
		    x->advertise_port != y->advertise_port)
			return false;
	}
	return true;
}

const char *config_transport_name(enum config_transport t)
{
	switch (t) {
	case CONFIG_TRANSPORT_UDP:
		return "udp";
	case CONFIG_TRANSPORT_TCP:
		return "tcp";
	case CONFIG_TRANSPORT_TLS:
		return "tls";
	}
	return "?";
}
