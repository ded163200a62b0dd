/* Config loader: YAML (libyaml) to a validated, immutable snapshot. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "runtime/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "base/mem.h"

enum {
	CONFIG_USER_AGENT_MAX = 128,	   /* bytes of server.user_agent */
	CONFIG_PATH_MAX = 4096,		   /* bytes of data_dir */
	CONFIG_KEY_MAX = 64,		   /* bytes of a dotted key path */
	CONFIG_QUEUE_DEFAULT = 4096,	   /* queue_size */
	CONFIG_QUEUE_MIN = 16,		   /* queue_size */
	CONFIG_QUEUE_MAX = 1 << 20,	   /* queue_size */
	CONFIG_TXNS_DEFAULT = 500000,	   /* max_transactions */
	CONFIG_TXNS_MAX = 10000000,	   /* max_transactions */
	CONFIG_DRAIN_DEFAULT_MS = 5000,	   /* drain_timeout_ms */
	CONFIG_TIME_MAX_MS = 600000,	   /* any *_ms value */
	CONFIG_INVITE_DELAY_MAX_MS = 60000 /* local.invite_delay_ms */
};

static const char control_socket_name[] = "switchboard.sock";

/* The command-line overrides a snapshot was made with, for a reload. */
struct saved_overrides {
	char *listen[CONFIG_LISTEN_MAX];
	size_t listen_count;
	char *data_dir;
	char *log_level;
};

struct config {
	_Atomic int refs;
	char *path; /* file the snapshot came from */
	struct config_listen listen[CONFIG_LISTEN_MAX];
	size_t listen_count;
	char *data_dir;
	enum log_level log_level;
	enum log_format log_format;
	char *user_agent; /* Server / User-Agent header value */
	struct sb_limits limits;
	unsigned workers;    /* 0 = one per core */
	uint32_t queue_size; /* per worker */
	enum config_receive receive;
	struct config_timers timers;
	uint32_t max_txns; /* 0 = no limit */
	uint32_t drain_timeout_ms;
	char *control_socket; /* NULL until the default is made */
	struct config_local local;
	struct saved_overrides ov;
};

/* What a plain or quoted scalar is under the YAML core schema. */
enum scalar_kind {
	SCALAR_NULL,
	SCALAR_BOOL,
	SCALAR_INT,
	SCALAR_FLOAT,
	SCALAR_STRING
};

/* The state of one load: the document being walked and where errors go. */
struct loader {
	const char *name; /* file name for errors */
	yaml_document_t *doc;
	struct config *c;
	struct config_err *err;
	yaml_mark_t listen_mark; /* where `listen` was, for late checks */
	bool has_listen;
	yaml_mark_t timers_mark; /* where `timers` was, for late checks */
	bool has_timers;
	struct config_listen entry; /* the listener mapping being read */
	bool has_entry_proto;
};

struct rule {
	const char *name;
	int (*apply)(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v);
};

/* One tunable of struct sb_limits, with the range the loader accepts. */
struct limit_rule {
	const char *name;
	size_t offset; /* of the uint32_t in struct sb_limits */
	uint32_t min, max;
};

static const struct limit_rule limit_rules[] = {
    {"max_message_bytes", offsetof(struct sb_limits, max_msg_bytes), 1024,
     SB_MSG_BYTES_CEILING},
    {"max_headers", offsetof(struct sb_limits, max_headers), 8,
     SB_HEADERS_CEILING},
    {"max_header_bytes", offsetof(struct sb_limits, max_header_bytes), 256,
     SB_MSG_BYTES_CEILING},
    {"max_params", offsetof(struct sb_limits, max_params), 1,
     SB_PARAMS_CEILING},
    {"max_values", offsetof(struct sb_limits, max_values), 1,
     SB_VALUES_CEILING},
    {"max_multipart_depth", offsetof(struct sb_limits, max_multipart_depth), 0,
     SB_MULTIPART_DEPTH_CEILING},
    {"max_multipart_parts", offsetof(struct sb_limits, max_multipart_parts), 1,
     SB_MULTIPART_PARTS_CEILING},
};

static void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ov.listen_count; i++)
		sb_free(c->ov.listen[i]);
	sb_free(c->ov.data_dir);
	sb_free(c->ov.log_level);
	sb_free(c->control_socket);
	sb_free(c->path);
	sb_free(c->data_dir);
	sb_free(c->user_agent);
	sb_free(c);
	sb_live_dec(SB_LIVE_CONFIG);
}

static int config_new(const char *name, struct config **out)
{
	static const char ua[] = "switchboard/" SB_VERSION;
	static const char dir[] = "./data";
	struct config *c = sb_calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	sb_live_inc(SB_LIVE_CONFIG);
	atomic_init(&c->refs, 1);
	c->log_level = LOG_LEVEL_INFO;
	c->log_format = LOG_FORMAT_TEXT;
	c->limits = sb_limits_default();
	c->queue_size = CONFIG_QUEUE_DEFAULT;
	c->receive = CONFIG_RECEIVE_READER;
	c->timers = (struct config_timers){500, 4000, 5000, 32000};
	c->max_txns = CONFIG_TXNS_DEFAULT;
	c->drain_timeout_ms = CONFIG_DRAIN_DEFAULT_MS;
	c->path = sb_strndup(name, strlen(name));
	c->data_dir = sb_strndup(dir, sizeof(dir) - 1);
	c->user_agent = sb_strndup(ua, sizeof(ua) - 1);
	if (!c->path || !c->data_dir || !c->user_agent) {
		config_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

static void err_set(struct config_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void err_set(struct config_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/*
 * "file:line:col: key: what" (no key for YAML syntax errors); returns
 * -EINVAL for the caller to pass on.
 */
static int fail(struct loader *ld, const yaml_mark_t *at, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct loader *ld, const yaml_mark_t *at, const char *key,
		const char *fmt, ...)
{
	char what[CONFIG_ERR_LEN / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (at)
		err_set(ld->err, "%s:%zu:%zu: %s%s%s", ld->name, at->line + 1,
			at->column + 1, key ? key : "", key ? ": " : "", what);
	else
		err_set(ld->err, "%s: %s%s%s", ld->name, key ? key : "",
			key ? ": " : "", what);
	return -EINVAL;
}

static struct slice scalar(const yaml_node_t *n)
{
	return slice_make((const char *)n->data.scalar.value,
			  n->data.scalar.length);
}

static bool all_digits(struct slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

static bool is_float(struct slice s)
{
	bool has_digit = false, has_dot = false;

	if (s.len && (s.p[0] == '-' || s.p[0] == '+'))
		s = slice_make(s.p + 1, s.len - 1);
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] >= '0' && s.p[i] <= '9')
			has_digit = true;
		else if (s.p[i] == '.' && !has_dot)
			has_dot = true;
		else
			return false;
	}
	return has_digit && has_dot;
}

static enum scalar_kind scalar_kind(const yaml_node_t *n)
{
	static const char *const nulls[] = {"~", "null", "Null", "NULL"};
	static const char *const bools[] = {"true",  "True",  "TRUE", "false",
					    "False", "FALSE", "yes",  "no",
					    "on",    "off"};
	struct slice s = scalar(n);

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return SCALAR_STRING;
	if (s.len == 0)
		return SCALAR_NULL;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (slice_eq(s, slice_cstr(nulls[i])))
			return SCALAR_NULL;
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (slice_eq(s, slice_cstr(bools[i])))
			return SCALAR_BOOL;
	if (all_digits(s) || ((s.p[0] == '-' || s.p[0] == '+') &&
			      all_digits(slice_make(s.p + 1, s.len - 1))))
		return SCALAR_INT;
	if (is_float(s))
		return SCALAR_FLOAT;
	return SCALAR_STRING;
}

static const char *describe(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	switch (scalar_kind(n)) {
	case SCALAR_NULL:
		return "nothing (null)";
	case SCALAR_BOOL:
		return "a boolean";
	case SCALAR_INT:
	case SCALAR_FLOAT:
		return "a number";
	default:
		return "a string";
	}
}

static bool is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && scalar_kind(n) == SCALAR_NULL;
}

/* A string value: any quoted scalar, or a plain one that is not a number,
 * a boolean or null (those must be quoted to be taken as text). */
static int get_string(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v, struct slice *out)
{
	if (v->type != YAML_SCALAR_NODE || scalar_kind(v) != SCALAR_STRING)
		return fail(ld, &k->start_mark, key,
			    "must be a string, not %s%s", describe(v),
			    v->type == YAML_SCALAR_NODE && !is_null(v)
				? " (put it in quotes)"
				: "");
	*out = scalar(v);
	if (memchr(out->p, '\0', out->len))
		return fail(ld, &k->start_mark, key,
			    "must not contain a NUL character");
	return 0;
}

static int replace_str(char **dst, struct slice s)
{
	char *p = sb_strndup(s.p, s.len);

	if (!p)
		return -ENOMEM;
	sb_free(*dst);
	*dst = p;
	return 0;
}

/*
 * Walk a mapping against its rules: every key must be a known string, at
 * most once. A null value (a section with all keys commented out) is an
 * empty mapping.
 */
static int walk_map(struct loader *ld, const char *prefix, yaml_node_t *at,
		    yaml_node_t *map, const struct rule *rules, size_t n)
{
	char key[CONFIG_KEY_MAX], known[256];
	uint32_t seen = 0;
	size_t used = 0;

	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(ld, &at->start_mark, prefix[0] ? prefix : "(top)",
			    "must be a mapping of keys, not %s", describe(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
		struct slice name;
		size_t i;
		int rc;

		if (k->type != YAML_SCALAR_NODE)
			return fail(ld, &k->start_mark,
				    prefix[0] ? prefix : "(top)",
				    "keys must be plain names");
		name = scalar(k);
		snprintf(key, sizeof(key), "%s%s%.*s", prefix,
			 prefix[0] ? "." : "",
			 (int)(name.len > 40 ? 40 : name.len), name.p);
		for (i = 0; i < n; i++)
			if (slice_eq(name, slice_cstr(rules[i].name)))
				break;
		if (i == n) {
			for (size_t j = 0; j < n && used < sizeof(known); j++)
				used += (size_t)snprintf(
				    known + used, sizeof(known) - used, "%s%s",
				    j ? ", " : "", rules[j].name);
			return fail(ld, &k->start_mark, key,
				    "unknown key (known keys: %s)", known);
		}
		if (seen & (1u << i))
			return fail(ld, &k->start_mark, key, "duplicate key");
		seen |= 1u << i;
		rc = rules[i].apply(ld, key, k, v);
		if (rc != 0)
			return rc;
	}
	return 0;
}

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

/* Transports that exist only in the syntax so far are refused last. */
static const char *transport_check(const struct config_listen *l, char *why,
				   size_t why_len)
{
	if (l->transport == CONFIG_TRANSPORT_UDP)
		return NULL;
	snprintf(why, why_len, "transport %s is not available yet",
		 config_transport_name(l->transport));
	return why;
}

/*
 * Parse "udp:HOST:PORT", optionally followed by ";advertise=HOST[:PORT]",
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
		return "must look like udp:HOST:PORT";
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
	return transport_check(out, why, why_len);
}

static int listen_push(struct loader *ld, const yaml_mark_t *at,
		       const char *key, const struct config_listen *l)
{
	struct config *c = ld->c;

	if (c->listen_count == CONFIG_LISTEN_MAX)
		return fail(ld, at, key, "at most %d listeners are allowed",
			    CONFIG_LISTEN_MAX);
	for (size_t i = 0; i < c->listen_count; i++)
		if (c->listen[i].transport == l->transport &&
		    c->listen[i].addr_len == l->addr_len &&
		    memcmp(&c->listen[i].addr, &l->addr, l->addr_len) == 0)
			return fail(ld, at, key,
				    "duplicate of listen[%zu] (%s)", i,
				    l->hostport);
	c->listen[c->listen_count++] = *l;
	return 0;
}

static int listen_add(struct loader *ld, const yaml_mark_t *at, const char *key,
		      struct slice text)
{
	struct config_listen l;
	char why[128];
	const char *bad = listen_parse(text, &l, why, sizeof(why));

	if (bad)
		return fail(ld, at, key, "%s", bad);
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
		return fail(ld, &k->start_mark, key,
			    "give one of udp, tcp or tls per listener");
	rc = get_string(ld, key, k, v, &s);
	if (rc != 0)
		return rc;
	ld->has_entry_proto = true;
	bad = proto_parse(slice_cstr(name), l, why, sizeof(why));
	if (!bad)
		bad = addr_parse(name, s, l, why, sizeof(why));
	if (bad)
		return fail(ld, &k->start_mark, key, "%s", bad);
	return 0;
}

static int on_listen_advertise(struct loader *ld, const char *key,
			       yaml_node_t *k, yaml_node_t *v)
{
	const char *bad;
	struct slice s;
	int rc = get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	bad = advertise_parse(s, &ld->entry);
	if (bad)
		return fail(ld, &k->start_mark, key, "%s", bad + 11);
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
	char why[128];
	const char *bad;
	int rc;

	memset(&ld->entry, 0, sizeof(ld->entry));
	ld->has_entry_proto = false;
	rc = walk_map(ld, key, n, n, rules, sizeof(rules) / sizeof(rules[0]));
	if (rc != 0)
		return rc;
	if (!ld->has_entry_proto)
		return fail(ld, &n->start_mark, key,
			    "a listener needs one of udp, tcp or tls");
	bad = transport_check(&ld->entry, why, sizeof(why));
	if (bad)
		return fail(ld, &n->start_mark, key, "%s", bad);
	return listen_push(ld, &n->start_mark, key, &ld->entry);
}

static int on_listen(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	char item_key[CONFIG_KEY_MAX];
	yaml_node_item_t *it;
	int rc;

	ld->has_listen = true;
	ld->listen_mark = k->start_mark;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(ld, &k->start_mark, key,
			    "must be a list of PROTO:HOST:PORT strings, not %s",
			    describe(v));
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
		rc = get_string(ld, item_key, n, n, &s);
		if (rc != 0)
			return rc;
		rc = listen_add(ld, &n->start_mark, item_key, s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int on_data_dir(struct loader *ld, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	struct slice s;
	int rc = get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0 || s.len >= CONFIG_PATH_MAX)
		return fail(ld, &k->start_mark, key,
			    "must be a directory path (1 to %d bytes)",
			    CONFIG_PATH_MAX - 1);
	return replace_str(&ld->c->data_dir, s);
}

static int on_log_level(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	struct slice s;
	int rc = get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (log_level_parse(s, &ld->c->log_level) != 0)
		return fail(ld, &k->start_mark, key,
			    "must be one of error, warn, info, debug");
	return 0;
}

static int on_log_format(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	struct slice s;
	int rc = get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (log_format_parse(s, &ld->c->log_format) != 0)
		return fail(ld, &k->start_mark, key,
			    "must be one of text, json");
	return 0;
}

static int on_user_agent(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	struct slice s;
	int rc = get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0 || s.len > CONFIG_USER_AGENT_MAX)
		return fail(ld, &k->start_mark, key,
			    "must be 1 to %d bytes long",
			    CONFIG_USER_AGENT_MAX);
	/* It becomes a header value: printable ASCII only, no CR or LF. */
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < ' ' || s.p[i] > '~')
			return fail(ld, &k->start_mark, key,
				    "must be printable ASCII text");
	return replace_str(&ld->c->user_agent, s);
}

static int on_limit(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	const struct limit_rule *r = NULL;
	const char *name = strrchr(key, '.') + 1;
	uint32_t val;

	for (size_t i = 0; i < sizeof(limit_rules) / sizeof(limit_rules[0]);
	     i++)
		if (strcmp(limit_rules[i].name, name) == 0)
			r = &limit_rules[i];
	if (v->type != YAML_SCALAR_NODE || scalar_kind(v) != SCALAR_INT)
		return fail(ld, &k->start_mark, key,
			    "must be an integer, not %s", describe(v));
	if (slice_to_u32(scalar(v), &val) != 0 || val < r->min || val > r->max)
		return fail(ld, &k->start_mark, key,
			    "must be between %u and %u", r->min, r->max);
	memcpy((char *)&ld->c->limits + r->offset, &val, sizeof(val));
	return 0;
}

static int get_u32(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v, uint32_t min, uint32_t max, uint32_t *out)
{
	uint32_t val;

	if (v->type != YAML_SCALAR_NODE || scalar_kind(v) != SCALAR_INT)
		return fail(ld, &k->start_mark, key,
			    "must be an integer, not %s", describe(v));
	if (slice_to_u32(scalar(v), &val) != 0 || val < min || val > max)
		return fail(ld, &k->start_mark, key,
			    "must be between %u and %u", min, max);
	*out = val;
	return 0;
}

static int get_bool(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "on"};
	struct slice s;

	if (v->type != YAML_SCALAR_NODE || scalar_kind(v) != SCALAR_BOOL)
		return fail(ld, &k->start_mark, key,
			    "must be true or false, not %s", describe(v));
	s = scalar(v);
	*out = false;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (slice_eq(s, slice_cstr(yes[i])))
			*out = true;
	return 0;
}

static int on_workers(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	uint32_t n = 0;
	int rc = get_u32(ld, key, k, v, 0, CONFIG_WORKERS_MAX, &n);

	if (rc == 0)
		ld->c->workers = n;
	return rc;
}

static int on_queue_size(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	return get_u32(ld, key, k, v, CONFIG_QUEUE_MIN, CONFIG_QUEUE_MAX,
		       &ld->c->queue_size);
}

static int on_receive(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	static const enum config_receive all[] = {CONFIG_RECEIVE_READER,
						  CONFIG_RECEIVE_REUSEPORT,
						  CONFIG_RECEIVE_SINGLE};
	struct slice s = {NULL, 0};
	int rc = get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (slice_eq(s, slice_cstr(config_receive_name(all[i])))) {
			ld->c->receive = all[i];
			return 0;
		}
	return fail(ld, &k->start_mark, key,
		    "must be one of reader, reuseport, single");
}

static int on_max_txns(struct loader *ld, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	return get_u32(ld, key, k, v, 0, CONFIG_TXNS_MAX, &ld->c->max_txns);
}

static int on_drain_timeout(struct loader *ld, const char *key, yaml_node_t *k,
			    yaml_node_t *v)
{
	return get_u32(ld, key, k, v, 0, CONFIG_TIME_MAX_MS,
		       &ld->c->drain_timeout_ms);
}

static int on_control_socket(struct loader *ld, const char *key, yaml_node_t *k,
			     yaml_node_t *v)
{
	struct slice s;
	int rc = get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0 || s.len > CONFIG_SOCKET_PATH_MAX)
		return fail(ld, &k->start_mark, key,
			    "must be a path of 1 to %d bytes (a unix socket "
			    "path cannot be longer)",
			    CONFIG_SOCKET_PATH_MAX);
	return replace_str(&ld->c->control_socket, s);
}

static int on_timer(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	struct config_timers *t = &ld->c->timers;
	const char *name = strrchr(key, '.') + 1;

	if (strcmp(name, "t1_ms") == 0)
		return get_u32(ld, key, k, v, 1, 60000, &t->t1_ms);
	if (strcmp(name, "t2_ms") == 0)
		return get_u32(ld, key, k, v, 1, CONFIG_TIME_MAX_MS, &t->t2_ms);
	if (strcmp(name, "t4_ms") == 0)
		return get_u32(ld, key, k, v, 1, CONFIG_TIME_MAX_MS, &t->t4_ms);
	return get_u32(ld, key, k, v, 0, CONFIG_TIME_MAX_MS, &t->timer_d_ms);
}

static int on_timers(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"t1_ms", on_timer},
	    {"t2_ms", on_timer},
	    {"t4_ms", on_timer},
	    {"timer_d_ms", on_timer},
	};
	ld->has_timers = true;
	ld->timers_mark = k->start_mark;
	return walk_map(ld, key, k, v, rules, sizeof(rules) / sizeof(rules[0]));
}

static int on_local_options(struct loader *ld, const char *key, yaml_node_t *k,
			    yaml_node_t *v)
{
	return get_bool(ld, key, k, v, &ld->c->local.is_options_stateless);
}

static int on_local_delay(struct loader *ld, const char *key, yaml_node_t *k,
			  yaml_node_t *v)
{
	return get_u32(ld, key, k, v, 0, CONFIG_INVITE_DELAY_MAX_MS,
		       &ld->c->local.invite_delay_ms);
}

static int on_local(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"options_stateless", on_local_options},
	    {"invite_delay_ms", on_local_delay},
	};
	return walk_map(ld, key, k, v, rules, sizeof(rules) / sizeof(rules[0]));
}

static int on_log(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"level", on_log_level},
	    {"format", on_log_format},
	};
	return walk_map(ld, key, k, v, rules, sizeof(rules) / sizeof(rules[0]));
}

static int on_server(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"user_agent", on_user_agent},
	};
	return walk_map(ld, key, k, v, rules, sizeof(rules) / sizeof(rules[0]));
}

static int on_limits(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	enum { N = sizeof(limit_rules) / sizeof(limit_rules[0]) };
	struct rule rules[N];

	for (size_t i = 0; i < N; i++)
		rules[i] = (struct rule){limit_rules[i].name, on_limit};
	return walk_map(ld, key, k, v, rules, N);
}

static int load_document(struct loader *ld, yaml_node_t *root)
{
	static const struct rule rules[] = {
	    {"listen", on_listen},
	    {"data_dir", on_data_dir},
	    {"log", on_log},
	    {"server", on_server},
	    {"limits", on_limits},
	    {"workers", on_workers},
	    {"queue_size", on_queue_size},
	    {"receive", on_receive},
	    {"timers", on_timers},
	    {"max_transactions", on_max_txns},
	    {"drain_timeout_ms", on_drain_timeout},
	    {"control_socket", on_control_socket},
	    {"local", on_local},
	};
	if (!root)
		return 0; /* an empty file: all defaults */
	return walk_map(ld, "", root, root, rules,
			sizeof(rules) / sizeof(rules[0]));
}

static int parse_yaml(struct loader *ld, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	int rc;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		if (parser.error == YAML_MEMORY_ERROR)
			rc = -ENOMEM;
		else
			rc = fail(ld, &parser.problem_mark, NULL,
				  "YAML syntax error: %s%s%s",
				  parser.problem ? parser.problem : "invalid",
				  parser.context ? " " : "",
				  parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return rc;
	}
	ld->doc = &doc;
	rc = load_document(ld, yaml_document_get_root_node(&doc));
	if (rc == 0 && yaml_parser_load(&parser, &extra)) {
		yaml_node_t *n = yaml_document_get_root_node(&extra);
		if (n)
			rc = fail(ld, &n->start_mark, NULL,
				  "only one YAML document is allowed");
		yaml_document_delete(&extra);
	}
	ld->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

/* Errors here name the option: "command line: --listen X: what". */
static int apply_overrides(struct loader *ld, const struct config_overrides *ov)
{
	struct config *c = ld->c;
	char key[CONFIG_KEY_MAX];
	int rc;

	ld->name = "command line";
	if (ov->listen_count > 0) {
		c->listen_count = 0;
		ld->has_listen = false;
		for (size_t i = 0; i < ov->listen_count; i++) {
			snprintf(key, sizeof(key), "--listen %.48s",
				 ov->listen[i]);
			rc = listen_add(ld, NULL, key,
					slice_cstr(ov->listen[i]));
			if (rc != 0)
				return rc;
		}
	}
	if (ov->data_dir) {
		if (!ov->data_dir[0] || strlen(ov->data_dir) >= CONFIG_PATH_MAX)
			return fail(ld, NULL, "--data-dir",
				    "must be a directory path (1 to %d bytes)",
				    CONFIG_PATH_MAX - 1);
		rc = replace_str(&c->data_dir, slice_cstr(ov->data_dir));
		if (rc != 0)
			return rc;
	}
	if (ov->log_level &&
	    log_level_parse(slice_cstr(ov->log_level), &c->log_level) != 0)
		return fail(ld, NULL, "--log-level",
			    "must be one of error, warn, info, debug");
	return 0;
}

/* Copy the overrides into the snapshot, for config_reload. */
static int save_overrides(struct config *c, const struct config_overrides *ov)
{
	for (size_t i = 0; i < ov->listen_count; i++) {
		c->ov.listen[i] =
		    sb_strndup(ov->listen[i], strlen(ov->listen[i]));
		if (!c->ov.listen[i])
			return -ENOMEM;
		c->ov.listen_count++;
	}
	if (ov->data_dir &&
	    !(c->ov.data_dir = sb_strndup(ov->data_dir, strlen(ov->data_dir))))
		return -ENOMEM;
	if (ov->log_level && !(c->ov.log_level = sb_strndup(
				   ov->log_level, strlen(ov->log_level))))
		return -ENOMEM;
	return 0;
}

/* Checks across keys, defaults made from other keys, saved overrides. */
static int finish(struct loader *ld, const struct config_overrides *ov)
{
	struct config *c = ld->c;
	size_t dir_len = strlen(c->data_dir);

	if (c->listen_count == 0)
		return fail(ld, ld->has_listen ? &ld->listen_mark : NULL,
			    "listen",
			    "at least one listener is required (set listen or "
			    "pass --listen)");
	if (c->timers.t2_ms < c->timers.t1_ms)
		return fail(ld, ld->has_timers ? &ld->timers_mark : NULL,
			    "timers.t2_ms",
			    "must not be smaller than timers.t1_ms (%u)",
			    c->timers.t1_ms);
	if (!c->control_socket) {
		if (dir_len + 1 + sizeof(control_socket_name) - 1 >
		    CONFIG_SOCKET_PATH_MAX)
			return fail(ld, NULL, "control_socket",
				    "the default <data_dir>/%s is longer "
				    "than %d bytes: set control_socket",
				    control_socket_name,
				    CONFIG_SOCKET_PATH_MAX);
		c->control_socket =
		    sb_malloc(dir_len + 1 + sizeof(control_socket_name));
		if (!c->control_socket)
			return -ENOMEM;
		snprintf(c->control_socket,
			 dir_len + 1 + sizeof(control_socket_name), "%s/%s",
			 c->data_dir, control_socket_name);
	}
	return ov ? save_overrides(c, ov) : 0;
}

int config_load_string(const char *name, const char *text, size_t len,
		       const struct config_overrides *ov, struct config **out,
		       struct config_err *err)
{
	struct loader ld = {.name = name, .err = err};
	int rc;

	err_set(err, "%s", "");
	rc = config_new(name, &ld.c);
	if (rc != 0)
		goto out;
	rc = parse_yaml(&ld, text, len);
	if (rc == 0 && ov)
		rc = apply_overrides(&ld, ov);
	ld.name = name;
	if (rc == 0)
		rc = finish(&ld, ov);
out:
	if (rc == -ENOMEM)
		err_set(err, "%s: out of memory", name);
	if (rc != 0) {
		config_free(ld.c);
		return rc;
	}
	*out = ld.c;
	return 0;
}

int config_load(const char *path, const struct config_overrides *ov,
		struct config **out, struct config_err *err)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		err_set(err, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(err, "%s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		err_set(err, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
		rc = -EFBIG;
		goto out;
	}
	text = sb_malloc((size_t)st.st_size + 1);
	if (!text) {
		err_set(err, "%s: out of memory", path);
		rc = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			err_set(err, "%s: cannot read: %s", path,
				strerror(-rc));
			goto out;
		}
		len += (size_t)n;
	}
	rc = config_load_string(path, text, len, ov, out, err);
out:
	sb_free(text);
	close(fd);
	return rc;
}

int config_reload(const struct config *old, struct config **out,
		  struct config_err *err)
{
	const char *listen[CONFIG_LISTEN_MAX];
	struct config_overrides ov = {
	    .listen = listen,
	    .listen_count = old->ov.listen_count,
	    .data_dir = old->ov.data_dir,
	    .log_level = old->ov.log_level,
	};

	for (size_t i = 0; i < old->ov.listen_count; i++)
		listen[i] = old->ov.listen[i];
	return config_load(old->path, &ov, out, err);
}

struct config *config_ref(struct config *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

struct config *config_unref(struct config *c)
{
	if (c &&
	    atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		config_free(c);
	return NULL;
}

const char *config_path(const struct config *c)
{
	return c->path;
}

size_t config_listen_count(const struct config *c)
{
	return c->listen_count;
}

const struct config_listen *config_listen_at(const struct config *c, size_t i)
{
	return i < c->listen_count ? &c->listen[i] : NULL;
}

const char *config_data_dir(const struct config *c)
{
	return c->data_dir;
}

enum log_level config_log_level(const struct config *c)
{
	return c->log_level;
}

enum log_format config_log_format(const struct config *c)
{
	return c->log_format;
}

struct slice config_user_agent(const struct config *c)
{
	return slice_cstr(c->user_agent);
}

const struct sb_limits *config_limits(const struct config *c)
{
	return &c->limits;
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

unsigned config_workers(const struct config *c)
{
	return c->workers;
}

uint32_t config_queue_size(const struct config *c)
{
	return c->queue_size;
}

enum config_receive config_receive(const struct config *c)
{
	return c->receive;
}

const struct config_timers *config_timers(const struct config *c)
{
	return &c->timers;
}

uint32_t config_max_transactions(const struct config *c)
{
	return c->max_txns;
}

uint32_t config_drain_timeout_ms(const struct config *c)
{
	return c->drain_timeout_ms;
}

const char *config_control_socket(const struct config *c)
{
	return c->control_socket;
}

const struct config_local *config_local(const struct config *c)
{
	return &c->local;
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

const char *config_receive_name(enum config_receive r)
{
	switch (r) {
	case CONFIG_RECEIVE_READER:
		return "reader";
	case CONFIG_RECEIVE_REUSEPORT:
		return "reuseport";
	case CONFIG_RECEIVE_SINGLE:
		return "single";
	}
	return "?";
}
