/* Config loader: the sections of the services (domains, auth, registrar ...).
 */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/config_int.h"
#include "sip/msg/msg.h"

enum {
	NONCE_LIFETIME_MIN_S = 10,    /* auth.nonce_lifetime_s */
	NONCE_LIFETIME_MAX_S = 86400, /* auth.nonce_lifetime_s: a day */
	EXPIRES_MAX_S = 31536000,     /* registrar.*_expires_s: a year */
	BINDINGS_MAX = 256,	      /* registrar.max_bindings (ceiling) */
	AORS_MAX = 100000000,	      /* registrar.max_aors */
	KEEPALIVE_MAX_S = 3600,	      /* registrar.keepalive_interval_s */
	FAILURES_MAX = 1000000,	      /* bans.failures_per_* */
	WINDOW_MAX_S = 86400,	      /* bans.window_s */
	BAN_MAX_S = 30 * 86400,	      /* bans.ban_s */
	FLUSH_MAX_MS = 60000,	      /* store.flush_ms */
	METHOD_NAME_MAX = 16	      /* bytes of a method name in errors */
};

/* One number of a section and the range the loader accepts. */
struct num_rule {
	const char *name;
	size_t offset; /* of the uint32_t in the section's struct */
	uint32_t min, max;
};

static const struct num_rule registrar_rules[] = {
    {"min_expires_s", offsetof(struct config_registrar, min_expires_s), 1,
     EXPIRES_MAX_S},
    {"max_expires_s", offsetof(struct config_registrar, max_expires_s), 1,
     EXPIRES_MAX_S},
    {"default_expires_s", offsetof(struct config_registrar, default_expires_s),
     1, EXPIRES_MAX_S},
    {"max_bindings", offsetof(struct config_registrar, max_bindings), 1,
     BINDINGS_MAX},
    {"max_aors", offsetof(struct config_registrar, max_aors), 0, AORS_MAX},
    {"keepalive_interval_s",
     offsetof(struct config_registrar, keepalive_interval_s), 1,
     KEEPALIVE_MAX_S},
};

static const struct num_rule bans_rules[] = {
    {"failures_per_ip", offsetof(struct config_bans, failures_per_ip), 1,
     FAILURES_MAX},
    {"failures_per_user", offsetof(struct config_bans, failures_per_user), 1,
     FAILURES_MAX},
    {"window_s", offsetof(struct config_bans, window_s), 1, WINDOW_MAX_S},
    {"ban_s", offsetof(struct config_bans, ban_s), 1, BAN_MAX_S},
};

void config_services_defaults(struct config *c)
{
	c->auth = (struct config_auth){
	    .nonce_lifetime_s = 300,
	    .is_md5_offered = true,
	    .is_sha256_offered = false,
	    .challenge_methods =
		1u << SIP_METHOD_INVITE | 1u << SIP_METHOD_MESSAGE |
		1u << SIP_METHOD_SUBSCRIBE | 1u << SIP_METHOD_REFER |
		1u << SIP_METHOD_PUBLISH,
	    .is_from_checked = true,
	};
	c->registrar = (struct config_registrar){
	    .min_expires_s = 60,
	    .max_expires_s = 3600,
	    .default_expires_s = 3600,
	    .max_bindings = 10,
	    .max_aors = 0,
	    .keepalive = CONFIG_KEEPALIVE_NONE,
	    .keepalive_interval_s = 30,
	};
	c->bans = (struct config_bans){
	    .failures_per_ip = 10,
	    .failures_per_user = 20,
	    .window_s = 60,
	    .ban_s = 600,
	    .action = CONFIG_BAN_DROP,
	};
	c->store = (struct config_store){.flush_ms = 100};
}

void config_services_free(struct config *c)
{
	for (size_t i = 0; i < c->ndomains; i++)
		sb_free(c->domains[i]);
	sb_free(c->domains);
}

/* A number of a section: the rule named by the key's last part. */
static int get_num(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v, const struct num_rule *rules, size_t n,
		   void *section)
{
	const char *name = strrchr(key, '.') + 1;

	for (size_t i = 0; i < n; i++)
		if (strcmp(rules[i].name, name) == 0)
			return config_get_u32(
			    ld, key, k, v, rules[i].min, rules[i].max,
			    (uint32_t *)((char *)section + rules[i].offset));
	return -EINVAL; /* the rules list only known names */
}

/* The items of a list value; an error names the key otherwise. */
static int get_list(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v, const char *what)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return config_fail(ld, &k->start_mark, key,
				   "must be a list of %s, not %s", what,
				   config_describe(v));
	return 0;
}

/* RFC 3261 25.1 host: a host name, an IPv4 address or an [IPv6] one. */
static bool is_domain(struct slice d)
{
	char ip[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;

	if (d.len >= 2 && d.p[0] == '[') {
		if (d.p[d.len - 1] != ']' || d.len - 2 >= sizeof(ip))
			return false;
		memcpy(ip, d.p + 1, d.len - 2);
		ip[d.len - 2] = '\0';
		return inet_pton(AF_INET6, ip, &a6) == 1;
	}
	if (d.len == 0 || d.p[0] == '.' || d.p[0] == '-' ||
	    d.p[d.len - 1] == '.' || d.p[d.len - 1] == '-')
		return false;
	for (size_t i = 0; i < d.len; i++) {
		char c = d.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
		if (c == '.' && i + 1 < d.len && d.p[i + 1] == '.')
			return false;
	}
	return true;
}

int config_on_domains(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	struct config *c = ld->c;
	char item_key[CONFIG_KEY_MAX];
	yaml_node_item_t *it;
	size_t n;
	int rc = get_list(ld, key, k, v, "domain names");

	if (rc != 0)
		return rc;
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > CONFIG_DOMAINS_MAX)
		return config_fail(ld, &k->start_mark, key,
				   "at most %d domains are allowed",
				   CONFIG_DOMAINS_MAX);
	if (n && !(c->domains = sb_calloc(n, sizeof(*c->domains))))
		return -ENOMEM;
	it = v->data.sequence.items.start;
	for (size_t i = 0; it < v->data.sequence.items.top; it++, i++) {
		yaml_node_t *d = yaml_document_get_node(ld->doc, *it);
		struct slice s;
		char *low;

		snprintf(item_key, sizeof(item_key), "%s[%zu]", key, i);
		rc = config_get_string(ld, item_key, d, d, &s);
		if (rc != 0)
			return rc;
		if (s.len > CONFIG_DOMAIN_MAX || !is_domain(s))
			return config_fail(
			    ld, &d->start_mark, item_key,
			    "must be a host name, an IPv4 address or an "
			    "[IPv6] address of at most %d bytes",
			    CONFIG_DOMAIN_MAX);
		if (!(low = sb_malloc(s.len + 1)))
			return -ENOMEM;
		slice_lower(s, low);
		low[s.len] = '\0';
		for (size_t j = 0; j < c->ndomains; j++) {
			if (strcmp(c->domains[j], low) != 0)
				continue;
			sb_free(low);
			return config_fail(ld, &d->start_mark, item_key,
					   "duplicate of %s[%zu]", key, j);
		}
		c->domains[c->ndomains++] = low;
	}
	return 0;
}

static int on_nonce_lifetime(struct loader *ld, const char *key, yaml_node_t *k,
			     yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, NONCE_LIFETIME_MIN_S,
			      NONCE_LIFETIME_MAX_S,
			      &ld->c->auth.nonce_lifetime_s);
}

static int on_algorithms(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	struct config_auth *a = &ld->c->auth;
	char item_key[CONFIG_KEY_MAX];
	yaml_node_item_t *it;
	int rc = get_list(ld, key, k, v, "md5 and sha-256");

	if (rc != 0)
		return rc;
	a->is_md5_offered = a->is_sha256_offered = false;
	it = v->data.sequence.items.start;
	for (size_t i = 0; it < v->data.sequence.items.top; it++, i++) {
		yaml_node_t *n = yaml_document_get_node(ld->doc, *it);
		struct slice s;

		snprintf(item_key, sizeof(item_key), "%s[%zu]", key, i);
		rc = config_get_string(ld, item_key, n, n, &s);
		if (rc != 0)
			return rc;
		if (slice_caseeq_lit(s, "md5"))
			a->is_md5_offered = true;
		else if (slice_caseeq_lit(s, "sha-256"))
			a->is_sha256_offered = true;
		else
			return config_fail(ld, &n->start_mark, item_key,
					   "must be md5 or sha-256");
	}
	if (!a->is_md5_offered && !a->is_sha256_offered)
		return config_fail(ld, &k->start_mark, key,
				   "at least one of md5 and sha-256 is needed");
	return 0;
}

/* A method name local users must authenticate for (407). */
static int challenge_method(struct loader *ld, const char *key, yaml_node_t *n,
			    uint32_t *bits)
{
	struct slice s;
	enum sip_method m;
	int rc = config_get_string(ld, key, n, n, &s);

	if (rc != 0)
		return rc;
	m = sip_method_from(s);
	if (m == SIP_METHOD_UNKNOWN)
		return config_fail(
		    ld, &n->start_mark, key,
		    "unknown method \"%.*s\" (upper case, e.g. "
		    "INVITE, MESSAGE, SUBSCRIBE)",
		    (int)(s.len > METHOD_NAME_MAX ? METHOD_NAME_MAX : s.len),
		    s.p);
	if (m == SIP_METHOD_REGISTER)
		return config_fail(ld, &n->start_mark, key,
				   "REGISTER is always challenged (with 401); "
				   "leave it out");
	/* RFC 3261 22.1: ACK and CANCEL cannot be challenged. */
	if (m == SIP_METHOD_ACK || m == SIP_METHOD_CANCEL)
		return config_fail(ld, &n->start_mark, key,
				   "%s cannot be challenged (RFC 3261 22.1)",
				   m == SIP_METHOD_ACK ? "ACK" : "CANCEL");
	*bits |= 1u << m;
	return 0;
}

static int on_check_from(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	return config_get_bool(ld, key, k, v, &ld->c->auth.is_from_checked);
}

static int on_challenge_methods(struct loader *ld, const char *key,
				yaml_node_t *k, yaml_node_t *v)
{
	char item_key[CONFIG_KEY_MAX];
	yaml_node_item_t *it;
	uint32_t bits = 0;
	int rc = get_list(ld, key, k, v, "method names");

	if (rc != 0)
		return rc;
	it = v->data.sequence.items.start;
	for (size_t i = 0; it < v->data.sequence.items.top; it++, i++) {
		snprintf(item_key, sizeof(item_key), "%s[%zu]", key, i);
		rc = challenge_method(
		    ld, item_key, yaml_document_get_node(ld->doc, *it), &bits);
		if (rc != 0)
			return rc;
	}
	ld->c->auth.challenge_methods = bits;
	return 0;
}

int config_on_auth(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"nonce_lifetime_s", on_nonce_lifetime},
	    {"algorithms", on_algorithms},
	    {"challenge_methods", on_challenge_methods},
	    {"check_from", on_check_from},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

static int on_registrar_num(struct loader *ld, const char *key, yaml_node_t *k,
			    yaml_node_t *v)
{
	return get_num(ld, key, k, v, registrar_rules,
		       sizeof(registrar_rules) / sizeof(registrar_rules[0]),
		       &ld->c->registrar);
}

static int on_keepalive(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	static const enum config_keepalive all[] = {CONFIG_KEEPALIVE_NONE,
						    CONFIG_KEEPALIVE_OPTIONS,
						    CONFIG_KEEPALIVE_CRLF};
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (slice_eq(s, slice_cstr(config_keepalive_name(all[i])))) {
			ld->c->registrar.keepalive = all[i];
			return 0;
		}
	return config_fail(ld, &k->start_mark, key,
			   "must be one of none, options, crlf");
}

int config_on_registrar(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	enum { N = sizeof(registrar_rules) / sizeof(registrar_rules[0]) };
	struct rule rules[N + 1];

	for (size_t i = 0; i < N; i++)
		rules[i] =
		    (struct rule){registrar_rules[i].name, on_registrar_num};
	rules[N] = (struct rule){"keepalive", on_keepalive};
	ld->has_registrar = true;
	ld->registrar_mark = k->start_mark;
	return config_walk_map(ld, key, k, v, rules, N + 1);
}

static int on_bans_num(struct loader *ld, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	return get_num(ld, key, k, v, bans_rules,
		       sizeof(bans_rules) / sizeof(bans_rules[0]),
		       &ld->c->bans);
}

static int on_ban_action(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	struct slice s = {NULL, 0};
	int rc;

	/* A plain 403 is a number to YAML: take it as the action too. */
	if (v->type == YAML_SCALAR_NODE &&
	    slice_eq(slice_make((const char *)v->data.scalar.value,
				v->data.scalar.length),
		     SL("403"))) {
		ld->c->bans.action = CONFIG_BAN_403;
		return 0;
	}
	rc = config_get_string(ld, key, k, v, &s);
	if (rc != 0)
		return rc;
	if (slice_eq(s, SL("drop")))
		ld->c->bans.action = CONFIG_BAN_DROP;
	else if (slice_eq(s, SL("403")))
		ld->c->bans.action = CONFIG_BAN_403;
	else
		return config_fail(ld, &k->start_mark, key,
				   "must be drop or 403");
	return 0;
}

int config_on_bans(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v)
{
	enum { N = sizeof(bans_rules) / sizeof(bans_rules[0]) };
	struct rule rules[N + 1];

	for (size_t i = 0; i < N; i++)
		rules[i] = (struct rule){bans_rules[i].name, on_bans_num};
	rules[N] = (struct rule){"action", on_ban_action};
	return config_walk_map(ld, key, k, v, rules, N + 1);
}

static int on_flush(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 1, FLUSH_MAX_MS,
			      &ld->c->store.flush_ms);
}

int config_on_store(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"flush_ms", on_flush},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

int config_services_finish(struct loader *ld)
{
	const struct config_registrar *r = &ld->c->registrar;
	const yaml_mark_t *at = ld->has_registrar ? &ld->registrar_mark : NULL;

	if (r->default_expires_s < r->min_expires_s)
		return config_fail(
		    ld, at, "registrar.default_expires_s",
		    "must not be smaller than registrar.min_expires_s (%u)",
		    r->min_expires_s);
	if (r->max_expires_s < r->default_expires_s)
		return config_fail(ld, at, "registrar.max_expires_s",
				   "must not be smaller than "
				   "registrar.default_expires_s (%u)",
				   r->default_expires_s);
	return 0;
}

size_t config_domain_count(const struct config *c)
{
	return c->ndomains;
}

struct slice config_domain_at(const struct config *c, size_t i)
{
	return i < c->ndomains ? slice_cstr(c->domains[i])
			       : slice_make(NULL, 0);
}

const struct config_auth *config_auth(const struct config *c)
{
	return &c->auth;
}

const struct config_registrar *config_registrar(const struct config *c)
{
	return &c->registrar;
}

const struct config_bans *config_bans(const struct config *c)
{
	return &c->bans;
}

const struct config_store *config_store(const struct config *c)
{
	return &c->store;
}

const char *config_keepalive_name(enum config_keepalive k)
{
	switch (k) {
	case CONFIG_KEEPALIVE_NONE:
		return "none";
	case CONFIG_KEEPALIVE_OPTIONS:
		return "options";
	case CONFIG_KEEPALIVE_CRLF:
		return "crlf";
	}
	return "?";
}
