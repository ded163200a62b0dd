/* Config loader: the `proxy` and `dns` sections. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/config_int.h"
#include "sip/msg/uri.h"

enum {
	RING_TIMEOUT_MAX_S = 3600, /* proxy.ring_timeout_s */
	BRANCHES_MAX = 64,	   /* proxy.max_branches */
	DNS_TIMEOUT_MAX_MS = 30000,
	DNS_TRIES_MAX = 10,
	DNS_CACHE_MAX = 1000000,
	URI_TEXT_MAX = 512 /* bytes of proxy.outbound_proxy */
};

void config_routing_defaults(struct config *c)
{
	c->proxy = (struct config_proxy){
	    .is_record_route = true,
	    .foreign = CONFIG_FOREIGN_REFUSE,
	    .outbound_proxy = NULL,
	    .ring_timeout_s = 60,
	    .serial_timeout_s = 15,
	    .redirect = CONFIG_REDIRECT_RELAY,
	    .max_branches = 16,
	};
	c->dns = (struct config_dns){
	    .timeout_ms = 2000,
	    .tries = 2,
	    .cache_max = 4096,
	    .is_ipv6 = false,
	};
}

void config_routing_free(struct config *c)
{
	sb_free((char *)c->proxy.outbound_proxy);
	for (size_t i = 0; i < c->dns.nservers; i++)
		sb_free((char *)c->dns.servers[i]);
}

static int on_record_route(struct loader *ld, const char *key, yaml_node_t *k,
			   yaml_node_t *v)
{
	return config_get_bool(ld, key, k, v, &ld->c->proxy.is_record_route);
}

static int on_foreign(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	/* the order of enum config_foreign */
	static const char *const names[] = {"refuse", "forward"};
	unsigned i;
	int rc = config_get_choice(ld, key, k, v, names, 2, &i);

	if (rc == 0)
		ld->c->proxy.foreign = (enum config_foreign)i;
	return rc;
}

static int on_outbound_proxy(struct loader *ld, const char *key, yaml_node_t *k,
			     yaml_node_t *v)
{
	struct sb_limits lim = sb_limits_default();
	struct sip_uri u;
	struct slice s;
	char *copy;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0)
		return 0;
	if (s.len > URI_TEXT_MAX || sip_uri_parse(s, &u, &lim) != 0 ||
	    (u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_SIPS) ||
	    u.host.len == 0)
		return config_fail(ld, &k->start_mark, key,
				   "must be a sip: or sips: URI such as "
				   "sip:192.0.2.10:5060 or "
				   "sip:proxy.example.org;transport=tcp");
	if (!(copy = sb_malloc(s.len + 1)))
		return -ENOMEM;
	memcpy(copy, s.p, s.len);
	copy[s.len] = '\0';
	sb_free((char *)ld->c->proxy.outbound_proxy);
	ld->c->proxy.outbound_proxy = copy;
	return 0;
}

static int on_ring_timeout(struct loader *ld, const char *key, yaml_node_t *k,
			   yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 1, RING_TIMEOUT_MAX_S,
			      &ld->c->proxy.ring_timeout_s);
}

static int on_serial_timeout(struct loader *ld, const char *key, yaml_node_t *k,
			     yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 1, RING_TIMEOUT_MAX_S,
			      &ld->c->proxy.serial_timeout_s);
}

static int on_redirect(struct loader *ld, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	/* the order of enum config_redirect */
	static const char *const names[] = {"relay", "recurse"};
	unsigned i;
	int rc = config_get_choice(ld, key, k, v, names, 2, &i);

	if (rc == 0)
		ld->c->proxy.redirect = (enum config_redirect)i;
	return rc;
}

static int on_max_branches(struct loader *ld, const char *key, yaml_node_t *k,
			   yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 1, BRANCHES_MAX,
			      &ld->c->proxy.max_branches);
}

int config_on_proxy(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"record_route", on_record_route},
	    {"foreign_domains", on_foreign},
	    {"outbound_proxy", on_outbound_proxy},
	    {"ring_timeout_s", on_ring_timeout},
	    {"serial_timeout_s", on_serial_timeout},
	    {"redirect", on_redirect},
	    {"max_branches", on_max_branches},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

/* "192.0.2.1", "192.0.2.1:5353", "::1", "[::1]:5353". */
static bool is_server_text(struct slice s)
{
	struct sockaddr_storage sa;

	return config_ip_port(s, 53, &sa) == 0;
}

static int on_servers(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	struct config_dns *d = &ld->c->dns;
	char item_key[CONFIG_KEY_MAX];
	yaml_node_item_t *it;

	if (v->type != YAML_SEQUENCE_NODE)
		return config_fail(ld, &k->start_mark, key,
				   "must be a list of addresses such as "
				   "127.0.0.1:53, not %s",
				   config_describe(v));
	it = v->data.sequence.items.start;
	for (size_t i = 0; it < v->data.sequence.items.top; it++, i++) {
		yaml_node_t *n = yaml_document_get_node(ld->doc, *it);
		struct slice s;
		char *copy;
		int rc;

		snprintf(item_key, sizeof(item_key), "%s[%zu]", key, i);
		if (i >= CONFIG_DNS_SERVERS_MAX)
			return config_fail(ld, &n->start_mark, item_key,
					   "at most %d servers are allowed",
					   CONFIG_DNS_SERVERS_MAX);
		rc = config_get_string(ld, item_key, n, n, &s);
		if (rc != 0)
			return rc;
		if (!is_server_text(s))
			return config_fail(ld, &n->start_mark, item_key,
					   "must be an IP address with an "
					   "optional port: 192.0.2.53, "
					   "127.0.0.1:5353, [::1]:53");
		if (!(copy = sb_malloc(s.len + 1)))
			return -ENOMEM;
		memcpy(copy, s.p, s.len);
		copy[s.len] = '\0';
		d->servers[d->nservers++] = copy;
	}
	return 0;
}

static int on_dns_timeout(struct loader *ld, const char *key, yaml_node_t *k,
			  yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 10, DNS_TIMEOUT_MAX_MS,
			      &ld->c->dns.timeout_ms);
}

static int on_dns_tries(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 1, DNS_TRIES_MAX,
			      &ld->c->dns.tries);
}

static int on_dns_cache(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 1, DNS_CACHE_MAX,
			      &ld->c->dns.cache_max);
}

static int on_dns_ipv6(struct loader *ld, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	return config_get_bool(ld, key, k, v, &ld->c->dns.is_ipv6);
}

int config_on_dns(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"servers", on_servers}, {"timeout_ms", on_dns_timeout},
	    {"tries", on_dns_tries}, {"cache_max", on_dns_cache},
	    {"ipv6", on_dns_ipv6},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

const struct config_proxy *config_proxy(const struct config *c)
{
	return &c->proxy;
}

const struct config_dns *config_dns(const struct config *c)
{
	return &c->dns;
}
