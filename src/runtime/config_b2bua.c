/* Config loader: `call_mode`, the `b2bua` section and the `routes` list. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/config_int.h"
#include "sip/msg/msg.h"

enum {
	SE_MIN_S = 90,		  /* RFC 4028 4: Min-SE is at least 90 s */
	SE_MAX_S = 86400,	  /* b2bua.session_expires_s, min_se_s */
	DURATION_MAX_S = 604800,  /* b2bua.max_duration_s: a week */
	RING_MAX_S = 3600,	  /* b2bua.ring_timeout_s */
	HDR_NAME_MAX = 64,	  /* bytes of a header name */
	HDR_LINE_MAX = 1024,	  /* bytes of a "Name: value" line */
	ROUTE_NAME_MAX = 64,	  /* bytes of routes[].name */
	USER_MAX = 128,		  /* bytes of a user or user_prefix */
	DISPLAY_MAX = 128,	  /* bytes of a display name */
	DEFAULT_COPY_HEADERS = 12 /* entries of default_copy_headers */
};

/* b2bua.copy_headers when the file gives none (config.h). */
static const char *const default_copy_headers[DEFAULT_COPY_HEADERS] = {
    "Subject",
    "Alert-Info",
    "Call-Info",
    "Priority",
    "Organization",
    "Accept-Language",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Privacy",
    "Diversion",
    "Remote-Party-ID",
    "Reason",
};

void config_b2bua_defaults(struct config *c)
{
	c->call_mode = CONFIG_CALL_PROXY;
	c->b2bua = (struct config_b2bua){
	    .is_user_agent_hidden = true,
	    .session_expires_s = 1800,
	    .min_se_s = SE_MIN_S,
	    .max_duration_s = 0,
	    .ring_timeout_s = 0, /* proxy.ring_timeout_s, set by finish */
	    .refer = CONFIG_REFER_HANDLE,
	    .is_cdr_sqlite = true,
	    .cdr_csv = NULL,
	};
	for (size_t i = 0; i < DEFAULT_COPY_HEADERS; i++)
		c->b2bua.copy_headers[i] = default_copy_headers[i];
	c->b2bua.ncopy_headers = DEFAULT_COPY_HEADERS;
	c->is_copy_headers_owned = false;
	c->b2bua.map_from[0] = 401;
	c->b2bua.map_to[0] = 403;
	c->b2bua.map_from[1] = 407;
	c->b2bua.map_to[1] = 403;
	c->b2bua.nmap = 2;
}

static void free_strs(const char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_free((char *)s[i]);
}

static void route_free(struct config_route *r)
{
	struct config_hdr_rules *h = &r->rules;

	sb_free((char *)r->name);
	sb_free((char *)r->user_prefix);
	sb_free((char *)r->domain);
	free_strs(h->remove, h->nremove);
	free_strs(h->add, h->nadd);
	free_strs(h->replace, h->nreplace);
	sb_free((char *)h->from_user);
	sb_free((char *)h->from_display);
	sb_free((char *)h->to_user);
	sb_free((char *)h->to_display);
	sb_free((char *)h->pai_user);
	sb_free((char *)h->pai_display);
	config_media_policy_free(&r->media);
}

void config_b2bua_free(struct config *c)
{
	if (c->is_copy_headers_owned)
		free_strs(c->b2bua.copy_headers, c->b2bua.ncopy_headers);
	sb_free((char *)c->b2bua.cdr_csv);
	for (size_t i = 0; i < c->nroutes; i++)
		route_free(&c->routes[i]);
	sb_free(c->routes);
}

/* Replace *dst with a copy of s. Returns 0 or -ENOMEM. */
static int set_str(const char **dst, struct slice s)
{
	return config_replace_str((char **)dst, s);
}

/* RFC 3261 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" /
 * "+" / "`" / "'" / "~"). */
static bool is_token(struct slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c && strchr("-.!%*_+`'~", c))))
			return false;
	}
	return true;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* RFC 3261 25.1: user = 1*(unreserved / escaped / user-unreserved), so no
 * space, '@', '<', '>', ':' or '"'; '%' only as "%HH". */
static bool is_user(struct slice s)
{
	if (s.len == 0 || s.len > USER_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '%') {
			if (i + 2 >= s.len || !is_hex(s.p[i + 1]) ||
			    !is_hex(s.p[i + 2]))
				return false;
			i += 2;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') ||
			     (c && strchr("-_.!~*'()&=+$,;?/", c)))) {
			return false;
		}
	}
	return true;
}

/* A display name the B2BUA can put in quotes as it is: no '"', '\' or
 * control characters (CR, LF, NUL ...); UTF-8 is fine. May be empty. */
static bool is_display(struct slice s)
{
	if (s.len > DISPLAY_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			return false;
	}
	return true;
}

/* RFC 3261 25.1 host: a host name, an IPv4 address or an [IPv6] one. */
static bool is_host(struct slice d)
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
	if (d.len == 0 || d.len > CONFIG_DOMAIN_MAX || d.p[0] == '.' ||
	    d.p[0] == '-' || d.p[d.len - 1] == '.' || d.p[d.len - 1] == '-')
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

/* Headers the B2BUA writes itself on each leg: never copied or edited. */
static bool is_own_header(struct slice name)
{
	switch (sip_hdr_id_from(name)) {
	case SIP_HDR_VIA:
	case SIP_HDR_FROM:
	case SIP_HDR_TO:
	case SIP_HDR_CALL_ID:
	case SIP_HDR_CSEQ:
	case SIP_HDR_CONTACT:
	case SIP_HDR_MAX_FORWARDS:
	case SIP_HDR_ROUTE:
	case SIP_HDR_RECORD_ROUTE:
	case SIP_HDR_CONTENT_LENGTH:
	case SIP_HDR_CONTENT_TYPE:
		return true;
	default:
		return false;
	}
}

/* The same header: compact forms and case do not matter. */
static bool is_same_header(struct slice a, struct slice b)
{
	enum sip_hdr_id ia = sip_hdr_id_from(a), ib = sip_hdr_id_from(b);

	if (ia != SIP_HDR_OTHER || ib != SIP_HDR_OTHER)
		return ia == ib;
	return slice_caseeq(a, b);
}

/* The name of a "Name: value" line (the bytes before the colon). */
static struct slice line_name(struct slice line)
{
	const char *colon = memchr(line.p, ':', line.len);

	return slice_make(line.p, colon ? (size_t)(colon - line.p) : line.len);
}

/* A header name for a list: a token the B2BUA does not write itself. */
static int check_hdr_name(struct loader *ld, const char *key, yaml_node_t *n,
			  struct slice s)
{
	if (s.len > HDR_NAME_MAX || !is_token(s))
		return config_fail(ld, &n->start_mark, key,
				   "must be a header name (an RFC 3261 token "
				   "of 1 to %d bytes, e.g. X-Account)",
				   HDR_NAME_MAX);
	if (is_own_header(s))
		return config_fail(ld, &n->start_mark, key,
				   "%.*s is written by the B2BUA itself and "
				   "cannot be copied, removed, added or "
				   "replaced",
				   (int)s.len, s.p);
	return 0;
}

/* The value of key must be a list of what. */
static int check_list(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v, const char *what)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return config_fail(ld, &k->start_mark, key,
				   "must be a list of %s, not %s", what,
				   config_describe(v));
	return 0;
}

/* One "Name: value" line: a token name right before the colon, a value
 * without control characters (HTAB allowed) and so without CR or LF. */
static int check_hdr_line(struct loader *ld, const char *key, yaml_node_t *n,
			  struct slice s)
{
	const char *colon = memchr(s.p, ':', s.len);
	struct slice name;

	if (s.len > HDR_LINE_MAX)
		return config_fail(ld, &n->start_mark, key,
				   "must be at most %d bytes", HDR_LINE_MAX);
	if (!colon)
		return config_fail(ld, &n->start_mark, key,
				   "must be a header line \"Name: value\"");
	name = slice_make(s.p, (size_t)(colon - s.p));
	if (name.len > HDR_NAME_MAX || !is_token(name))
		return config_fail(ld, &n->start_mark, key,
				   "must be a header line \"Name: value\" "
				   "whose name is an RFC 3261 token of 1 to "
				   "%d bytes right before the colon",
				   HDR_NAME_MAX);
	for (const char *p = colon + 1; p < s.p + s.len; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return config_fail(ld, &n->start_mark, key,
					   "the value must not contain CR, LF "
					   "or other control characters");
	}
	return check_hdr_name(ld, key, n, name);
}

/* What a header list holds: names ("Subject") or lines ("Subject: x"). */
enum hdr_list {
	HDR_NAMES,	 /* none twice */
	HDR_LINES,	 /* the same header may come again */
	HDR_LINES_UNIQUE /* no two lines for the same header */
};

/* A list of header names or lines into dst (at most max). */
static int get_hdr_list(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v, const char **dst, size_t *n, size_t max,
			enum hdr_list kind)
{
	const char *what = kind == HDR_NAMES ? "header names" : "header lines";
	char item_key[CONFIG_KEY_MAX];
	yaml_node_item_t *it;
	int rc = check_list(ld, key, k, v,
			    kind == HDR_NAMES ? "header names"
					      : "\"Name: value\" header lines");

	if (rc != 0)
		return rc;
	it = v->data.sequence.items.start;
	for (size_t i = 0; it < v->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
		struct slice s;

		snprintf(item_key, sizeof(item_key), "%s[%zu]", key, i);
		if (i >= max)
			return config_fail(ld, &item->start_mark, item_key,
					   "at most %zu %s are allowed", max,
					   what);
		rc = config_get_string(ld, item_key, item, item, &s);
		if (rc == 0)
			rc = kind == HDR_NAMES
				 ? check_hdr_name(ld, item_key, item, s)
				 : check_hdr_line(ld, item_key, item, s);
		if (rc != 0)
			return rc;
		for (size_t j = 0; kind != HDR_LINES && j < *n; j++) {
			struct slice old = slice_cstr(dst[j]);

			if (kind == HDR_NAMES
				? is_same_header(s, old)
				: is_same_header(line_name(old), line_name(s)))
				return config_fail(
				    ld, &item->start_mark, item_key,
				    "%sthe same header as %s[%zu]",
				    kind == HDR_NAMES ? "" : "replaces ", key,
				    j);
		}
		dst[*n] = NULL;
		if (set_str(&dst[*n], s) != 0)
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

int config_call_mode_parse(struct slice s, enum config_call_mode *out)
{
	if (slice_eq(s, SL("proxy")))
		*out = CONFIG_CALL_PROXY;
	else if (slice_eq(s, SL("b2bua")))
		*out = CONFIG_CALL_B2BUA;
	else
		return -EINVAL;
	return 0;
}

static int get_mode(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v, enum config_call_mode *out)
{
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (config_call_mode_parse(s, out) != 0)
		return config_fail(ld, &k->start_mark, key,
				   "must be proxy or b2bua");
	return 0;
}

int config_on_call_mode(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	return get_mode(ld, key, k, v, &ld->c->call_mode);
}

static int on_copy_headers(struct loader *ld, const char *key, yaml_node_t *k,
			   yaml_node_t *v)
{
	struct config_b2bua *b = &ld->c->b2bua;

	ld->has_copy_headers = true;
	ld->copy_headers_mark = k->start_mark;
	b->ncopy_headers = 0; /* the default list is not owned */
	ld->c->is_copy_headers_owned = true;
	return get_hdr_list(ld, key, k, v, b->copy_headers, &b->ncopy_headers,
			    CONFIG_HDR_LIST_MAX, HDR_NAMES);
}

static int on_hide_user_agent(struct loader *ld, const char *key,
			      yaml_node_t *k, yaml_node_t *v)
{
	return config_get_bool(ld, key, k, v,
			       &ld->c->b2bua.is_user_agent_hidden);
}

static int on_session_expires(struct loader *ld, const char *key,
			      yaml_node_t *k, yaml_node_t *v)
{
	uint32_t *se = &ld->c->b2bua.session_expires_s;
	int rc = config_get_u32(ld, key, k, v, 0, SE_MAX_S, se);

	if (rc != 0)
		return rc;
	/* RFC 4028 4: Session-Expires is never below 90 seconds. */
	if (*se != 0 && *se < SE_MIN_S)
		return config_fail(ld, &k->start_mark, key,
				   "must be 0 (off) or between %d and %d "
				   "(RFC 4028)",
				   SE_MIN_S, SE_MAX_S);
	ld->has_session_expires = true;
	ld->session_expires_mark = k->start_mark;
	return 0;
}

static int on_min_se(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	ld->has_min_se = true;
	ld->min_se_mark = k->start_mark;
	return config_get_u32(ld, key, k, v, SE_MIN_S, SE_MAX_S,
			      &ld->c->b2bua.min_se_s);
}

static int on_max_duration(struct loader *ld, const char *key, yaml_node_t *k,
			   yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 0, DURATION_MAX_S,
			      &ld->c->b2bua.max_duration_s);
}

static int on_b2bua_ring(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	ld->has_b2bua_ring = true;
	return config_get_u32(ld, key, k, v, 1, RING_MAX_S,
			      &ld->c->b2bua.ring_timeout_s);
}

static int on_refer(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	/* the order of enum config_refer */
	static const char *const names[] = {"handle", "pass", "reject"};
	unsigned i;
	int rc = config_get_choice(ld, key, k, v, names, 3, &i);

	if (rc == 0)
		ld->c->b2bua.refer = (enum config_refer)i;
	return rc;
}

static int on_cdr_sqlite(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	return config_get_bool(ld, key, k, v, &ld->c->b2bua.is_cdr_sqlite);
}

/* The CSV file as written; "" is off, like leaving the key out. */
static int on_cdr_csv(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0)
		return 0;
	if (s.len >= CONFIG_PATH_MAX)
		return config_fail(ld, &k->start_mark, key,
				   "must be a file path of at most %d bytes",
				   CONFIG_PATH_MAX - 1);
	return set_str(&ld->c->b2bua.cdr_csv, s);
}

static int on_cdr(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"sqlite", on_cdr_sqlite},
	    {"csv", on_cdr_csv},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

int config_on_b2bua(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"copy_headers", on_copy_headers},
	    {"hide_user_agent", on_hide_user_agent},
	    {"session_expires_s", on_session_expires},
	    {"min_se_s", on_min_se},
	    {"max_duration_s", on_max_duration},
	    {"ring_timeout_s", on_b2bua_ring},
	    {"refer", on_refer},
	    {"cdr", on_cdr},
	    {"response_map", config_on_response_map},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

/* Letters, digits, '-', '_' and '.': safe in logs and CDR columns. */
static bool is_route_name(struct slice s)
{
	if (s.len == 0 || s.len > ROUTE_NAME_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

static int on_route_name(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	const struct config *c = ld->c;
	size_t self = (size_t)(ld->route - c->routes);
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (!is_route_name(s))
		return config_fail(ld, &k->start_mark, key,
				   "must be 1 to %d letters, digits, '-', '_' "
				   "or '.'",
				   ROUTE_NAME_MAX);
	for (size_t j = 0; j < self; j++)
		if (slice_eq(s, slice_cstr(c->routes[j].name)))
			return config_fail(ld, &k->start_mark, key,
					   "duplicate of routes[%zu].name", j);
	return set_str(&ld->route->name, s);
}

static int on_user_prefix(struct loader *ld, const char *key, yaml_node_t *k,
			  yaml_node_t *v)
{
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (!is_user(s))
		return config_fail(ld, &k->start_mark, key,
				   "must be 1 to %d characters of a SIP URI "
				   "user (no spaces, '@', '<', '>', ':' or "
				   "'\"'; '%%' only as %%HH); leave it out to "
				   "match every user",
				   USER_MAX);
	return set_str(&ld->route->user_prefix, s);
}

static int on_match_domain(struct loader *ld, const char *key, yaml_node_t *k,
			   yaml_node_t *v)
{
	struct slice s;
	char *low;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (!is_host(s))
		return config_fail(ld, &k->start_mark, key,
				   "must be a host name, an IPv4 address or an "
				   "[IPv6] address of at most %d bytes; leave "
				   "it out to match every domain",
				   CONFIG_DOMAIN_MAX);
	if (!(low = sb_malloc(s.len + 1)))
		return -ENOMEM;
	slice_lower(s, low);
	low[s.len] = '\0';
	sb_free((char *)ld->route->domain);
	ld->route->domain = low;
	return 0;
}

static int on_match(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"user_prefix", on_user_prefix},
	    {"domain", on_match_domain},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

static int on_route_mode(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	ld->route_has_mode[ld->route - ld->c->routes] = true;
	return get_mode(ld, key, k, v, &ld->route->mode);
}

static int on_remove(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	struct config_hdr_rules *h = &ld->route->rules;

	return get_hdr_list(ld, key, k, v, h->remove, &h->nremove,
			    CONFIG_HDR_LIST_MAX, HDR_NAMES);
}

static int on_add(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v)
{
	struct config_hdr_rules *h = &ld->route->rules;

	return get_hdr_list(ld, key, k, v, h->add, &h->nadd,
			    CONFIG_HDR_RULES_MAX, HDR_LINES);
}

static int on_replace(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	struct config_hdr_rules *h = &ld->route->rules;

	return get_hdr_list(ld, key, k, v, h->replace, &h->nreplace,
			    CONFIG_HDR_RULES_MAX, HDR_LINES_UNIQUE);
}

static int on_headers(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"remove", on_remove},
	    {"add", on_add},
	    {"replace", on_replace},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

/* from_user, to_user, pai_user: a SIP URI user. */
static int on_identity_user(struct loader *ld, const char *key, yaml_node_t *k,
			    yaml_node_t *v)
{
	struct config_hdr_rules *h = &ld->route->rules;
	const char *name = strrchr(key, '.') + 1;
	const char **dst = name[0] == 'f'   ? &h->from_user
			   : name[0] == 't' ? &h->to_user
					    : &h->pai_user;
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (!is_user(s))
		return config_fail(ld, &k->start_mark, key,
				   "must be 1 to %d characters of a SIP URI "
				   "user (no spaces, '@', '<', '>', ':' or "
				   "'\"'; '%%' only as %%HH)",
				   USER_MAX);
	return set_str(dst, s);
}

/* from_display, to_display, pai_display: "" means no display name. */
static int on_identity_display(struct loader *ld, const char *key,
			       yaml_node_t *k, yaml_node_t *v)
{
	struct config_hdr_rules *h = &ld->route->rules;
	const char *name = strrchr(key, '.') + 1;
	const char **dst = name[0] == 'f'   ? &h->from_display
			   : name[0] == 't' ? &h->to_display
					    : &h->pai_display;
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (!is_display(s))
		return config_fail(ld, &k->start_mark, key,
				   "must be at most %d bytes of text without "
				   "'\"', '\\' or control characters (CR, LF "
				   "...)",
				   DISPLAY_MAX);
	return set_str(dst, s);
}

static int on_privacy(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	/* the order of enum config_privacy */
	static const char *const names[] = {"honor", "ignore"};
	unsigned i;
	int rc = config_get_choice(ld, key, k, v, names, 2, &i);

	if (rc == 0)
		ld->route->rules.privacy = (enum config_privacy)i;
	return rc;
}

/* One entry of `routes`, into the next slot of c->routes. */
static int load_route(struct loader *ld, const char *key, yaml_node_t *n)
{
	static const struct rule rules[] = {
	    {"name", on_route_name},
	    {"match", on_match},
	    {"mode", on_route_mode},
	    {"headers", on_headers},
	    {"from_user", on_identity_user},
	    {"from_display", on_identity_display},
	    {"to_user", on_identity_user},
	    {"to_display", on_identity_display},
	    {"pai_user", on_identity_user},
	    {"pai_display", on_identity_display},
	    {"privacy", on_privacy},
	    {"media", config_on_route_media},
	};
	struct config *c = ld->c;
	int rc;

	ld->route = &c->routes[c->nroutes++]; /* zeroed: freed as it fills */
	ld->route->rules.privacy = CONFIG_PRIVACY_HONOR;
	if (n->type != YAML_MAPPING_NODE)
		return config_fail(ld, &n->start_mark, key,
				   "must be a mapping with at least a name, "
				   "not %s",
				   config_describe(n));
	rc = config_walk_map(ld, key, n, n, rules,
			     sizeof(rules) / sizeof(rules[0]));
	if (rc == 0 && !ld->route->name)
		rc = config_fail(ld, &n->start_mark, key, "a name is required");
	return rc;
}

int config_on_routes(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	struct config *c = ld->c;
	char item_key[CONFIG_KEY_MAX];
	yaml_node_item_t *it;
	size_t n;
	int rc;

	rc = check_list(ld, key, k, v, "routes (mappings with a name)");
	if (rc != 0)
		return rc;
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > CONFIG_ROUTES_MAX)
		return config_fail(ld, &k->start_mark, key,
				   "at most %d routes are allowed",
				   CONFIG_ROUTES_MAX);
	if (n && !(c->routes = sb_calloc(n, sizeof(*c->routes))))
		return -ENOMEM;
	it = v->data.sequence.items.start;
	for (size_t i = 0; it < v->data.sequence.items.top; it++, i++) {
		snprintf(item_key, sizeof(item_key), "%s[%zu]", key, i);
		rc = load_route(ld, item_key,
				yaml_document_get_node(ld->doc, *it));
		if (rc != 0)
			return rc;
	}
	ld->route = NULL;
	return 0;
}

int config_b2bua_finish(struct loader *ld)
{
	struct config *c = ld->c;
	struct config_b2bua *b = &c->b2bua;

	if (!ld->has_b2bua_ring)
		b->ring_timeout_s = c->proxy.ring_timeout_s;
	if (b->session_expires_s != 0 && b->session_expires_s < b->min_se_s) {
		if (ld->has_session_expires)
			return config_fail(
			    ld, &ld->session_expires_mark,
			    "b2bua.session_expires_s",
			    "must be 0 (off) or at least b2bua.min_se_s (%u)",
			    b->min_se_s);
		return config_fail(ld, ld->has_min_se ? &ld->min_se_mark : NULL,
				   "b2bua.min_se_s",
				   "must not be larger than "
				   "b2bua.session_expires_s (default %u)",
				   b->session_expires_s);
	}
	for (size_t i = 0; b->is_user_agent_hidden && i < b->ncopy_headers;
	     i++) {
		enum sip_hdr_id id =
		    sip_hdr_id_from(slice_cstr(b->copy_headers[i]));
		if (id == SIP_HDR_USER_AGENT || id == SIP_HDR_SERVER)
			return config_fail(
			    ld,
			    ld->has_copy_headers ? &ld->copy_headers_mark
						 : NULL,
			    "b2bua.copy_headers",
			    "lists %s, which b2bua.hide_user_agent (true) "
			    "keeps from being copied: remove it or set "
			    "hide_user_agent: false",
			    b->copy_headers[i]);
	}
	/* Routes without `mode` follow call_mode, --call-mode included. */
	for (size_t i = 0; i < c->nroutes; i++)
		if (!ld->route_has_mode[i])
			c->routes[i].mode = c->call_mode;
	return 0;
}

enum config_call_mode config_call_mode(const struct config *c)
{
	return c->call_mode;
}

const struct config_b2bua *config_b2bua(const struct config *c)
{
	return &c->b2bua;
}

/* Prefix of the user: case-sensitive; domain: case-insensitive. */
const struct config_route *config_route_match(const struct config *c,
					      struct slice user,
					      struct slice domain)
{
	for (size_t i = 0; i < c->nroutes; i++) {
		const struct config_route *r = &c->routes[i];

		if (r->user_prefix) {
			size_t len = strlen(r->user_prefix);
			if (user.len < len ||
			    memcmp(user.p, r->user_prefix, len) != 0)
				continue;
		}
		if (r->domain && !slice_caseeq(domain, slice_cstr(r->domain)))
			continue;
		return r;
	}
	return NULL;
}

size_t config_route_count(const struct config *c)
{
	return c->nroutes;
}

const struct config_route *config_route_at(const struct config *c, size_t i)
{
	return i < c->nroutes ? &c->routes[i] : NULL;
}

const char *config_call_mode_name(enum config_call_mode m)
{
	switch (m) {
	case CONFIG_CALL_PROXY:
		return "proxy";
	case CONFIG_CALL_B2BUA:
		return "b2bua";
	}
	return "?";
}
