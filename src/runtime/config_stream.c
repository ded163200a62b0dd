/* Config loader: the `tcp` and `tls` sections of the stream transports. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/config_int.h"

enum {
	TCP_CONNS_MAX = 1 << 20,	    /* max_connections */
	TCP_IDLE_MAX_MS = 86400000,	    /* idle_timeout_ms: a day */
	TCP_TIMEOUT_MIN_MS = 100,	    /* partial, handshake */
	TCP_TIMEOUT_MAX_MS = 600000,	    /* partial, handshake */
	TCP_BUFFERED_MAX = 1 << 30,	    /* max_buffered_bytes */
	TLS_HANDSHAKES_MAX = 65536,	    /* handshakes_per_turn */
	TLS_FILE_CERT = 0,		    /* tls_files[] */
	TLS_FILE_KEY = 1,		    /* tls_files[] */
	TLS_FILE_CA = 2,		    /* tls_files[] */
	TLS_PATH_MAX = CONFIG_PATH_MAX + 32 /* data_dir + "/tls/dev-....pem" */
};

static const char dev_cert[] = "tls/dev-cert.pem";
static const char dev_key[] = "tls/dev-key.pem";

/* One number of the `tcp` section and the range the loader accepts. */
struct tcp_rule {
	const char *name;
	size_t offset; /* of the uint32_t in struct config_tcp */
	uint32_t min, max;
};

static const struct tcp_rule tcp_rules[] = {
    {"max_connections", offsetof(struct config_tcp, max_connections), 0,
     TCP_CONNS_MAX},
    {"max_connections_per_ip",
     offsetof(struct config_tcp, max_connections_per_ip), 0, TCP_CONNS_MAX},
    {"idle_timeout_ms", offsetof(struct config_tcp, idle_timeout_ms), 0,
     TCP_IDLE_MAX_MS},
    {"partial_message_timeout_ms",
     offsetof(struct config_tcp, partial_message_timeout_ms),
     TCP_TIMEOUT_MIN_MS, TCP_TIMEOUT_MAX_MS},
    {"handshake_timeout_ms", offsetof(struct config_tcp, handshake_timeout_ms),
     TCP_TIMEOUT_MIN_MS, TCP_TIMEOUT_MAX_MS},
    {"max_buffered_bytes", offsetof(struct config_tcp, max_buffered_bytes),
     2048, TCP_BUFFERED_MAX},
};

void config_stream_defaults(struct config *c)
{
	c->tcp = (struct config_tcp){
	    .max_connections = 16384,
	    .max_connections_per_ip = 64,
	    .idle_timeout_ms = 180000,
	    .partial_message_timeout_ms = 10000,
	    .handshake_timeout_ms = 10000,
	    .max_buffered_bytes = 262144,
	};
	c->tls = (struct config_tls){
	    .is_server_verified = true,
	    .handshakes_per_turn = 32,
	};
}

void config_stream_free(struct config *c)
{
	for (size_t i = 0; i < sizeof(c->tls_files) / sizeof(c->tls_files[0]);
	     i++)
		sb_free(c->tls_files[i]);
}

static int on_tcp_value(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	const char *name = strrchr(key, '.') + 1;

	for (size_t i = 0; i < sizeof(tcp_rules) / sizeof(tcp_rules[0]); i++) {
		const struct tcp_rule *r = &tcp_rules[i];
		if (strcmp(r->name, name) != 0)
			continue;
		if (r->offset ==
		    offsetof(struct config_tcp, max_buffered_bytes)) {
			ld->has_buffered = true;
			ld->buffered_mark = k->start_mark;
		}
		return config_get_u32(
		    ld, key, k, v, r->min, r->max,
		    (uint32_t *)((char *)&ld->c->tcp + r->offset));
	}
	return -EINVAL; /* the rules list only known names */
}

int config_on_tcp(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v)
{
	enum { N = sizeof(tcp_rules) / sizeof(tcp_rules[0]) };
	struct rule rules[N];

	for (size_t i = 0; i < N; i++)
		rules[i] = (struct rule){tcp_rules[i].name, on_tcp_value};
	return config_walk_map(ld, key, k, v, rules, N);
}

/* certificate, private_key, ca_file: a path, kept for config_stream_finish
 * to wire into the public struct. */
static int on_tls_file(struct loader *ld, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	const char *name = strrchr(key, '.') + 1;
	int which = strcmp(name, "certificate") == 0   ? TLS_FILE_CERT
		    : strcmp(name, "private_key") == 0 ? TLS_FILE_KEY
						       : TLS_FILE_CA;
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0 || s.len >= CONFIG_PATH_MAX)
		return config_fail(ld, &k->start_mark, key,
				   "must be a file path (1 to %d bytes)",
				   CONFIG_PATH_MAX - 1);
	return config_replace_str(&ld->c->tls_files[which], s);
}

static int on_tls_client_cert(struct loader *ld, const char *key,
			      yaml_node_t *k, yaml_node_t *v)
{
	return config_get_bool(ld, key, k, v,
			       &ld->c->tls.is_client_cert_required);
}

static int on_tls_verify(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	return config_get_bool(ld, key, k, v, &ld->c->tls.is_server_verified);
}

static int on_tls_handshakes(struct loader *ld, const char *key, yaml_node_t *k,
			     yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 0, TLS_HANDSHAKES_MAX,
			      &ld->c->tls.handshakes_per_turn);
}

int config_on_tls(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"certificate", on_tls_file},
	    {"private_key", on_tls_file},
	    {"ca_file", on_tls_file},
	    {"require_client_certificate", on_tls_client_cert},
	    {"verify_server", on_tls_verify},
	    {"handshakes_per_turn", on_tls_handshakes},
	};
	ld->has_tls = true;
	ld->tls_mark = k->start_mark;
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

/* "<data_dir>/<name>" into out; false when it is not a readable file. */
static bool dev_file(const struct config *c, const char *name, char *out,
		     size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", c->data_dir, name);

	return n > 0 && (size_t)n < cap && access(out, R_OK) == 0;
}

/*
 * A tls: listener needs a certificate and its key: the configured pair,
 * else the development pair scripts/dev-cert leaves in the data directory.
 * The error points at the first TLS listener.
 */
static int tls_pick_files(struct loader *ld)
{
	struct config *c = ld->c;
	char cert[TLS_PATH_MAX], key[TLS_PATH_MAX];
	size_t i;

	for (i = 0; i < c->listen_count; i++)
		if (c->listen[i].transport == CONFIG_TRANSPORT_TLS)
			break;
	if (i == c->listen_count || c->tls_files[TLS_FILE_CERT] ||
	    c->tls_files[TLS_FILE_KEY])
		return 0;
	if (!dev_file(c, dev_cert, cert, sizeof(cert)) ||
	    !dev_file(c, dev_key, key, sizeof(key)))
		return config_fail(
		    ld, ld->has_listen_marks[i] ? &ld->listen_marks[i] : NULL,
		    "tls.certificate",
		    "required for listener tls:%s (run scripts/dev-cert %s for "
		    "a development certificate)",
		    c->listen[i].hostport, c->data_dir);
	c->tls_files[TLS_FILE_CERT] = sb_strndup(cert, strlen(cert));
	c->tls_files[TLS_FILE_KEY] = sb_strndup(key, strlen(key));
	if (!c->tls_files[TLS_FILE_CERT] || !c->tls_files[TLS_FILE_KEY])
		return -ENOMEM;
	c->tls.is_dev_cert = true;
	return 0;
}

int config_stream_finish(struct loader *ld)
{
	struct config *c = ld->c;
	const yaml_mark_t *tls_at = ld->has_tls ? &ld->tls_mark : NULL;
	int rc;

	if (c->tcp.max_buffered_bytes <= c->limits.max_msg_bytes)
		return config_fail(
		    ld, ld->has_buffered ? &ld->buffered_mark : NULL,
		    "tcp.max_buffered_bytes",
		    "must be larger than limits.max_message_bytes (%u)",
		    c->limits.max_msg_bytes);
	if (c->tls_files[TLS_FILE_CERT] && !c->tls_files[TLS_FILE_KEY])
		return config_fail(ld, tls_at, "tls.private_key",
				   "required with tls.certificate");
	if (c->tls_files[TLS_FILE_KEY] && !c->tls_files[TLS_FILE_CERT])
		return config_fail(ld, tls_at, "tls.certificate",
				   "required with tls.private_key");
	rc = tls_pick_files(ld);
	if (rc != 0)
		return rc;
	c->tls.certificate = c->tls_files[TLS_FILE_CERT];
	c->tls.private_key = c->tls_files[TLS_FILE_KEY];
	c->tls.ca_file = c->tls_files[TLS_FILE_CA];
	return 0;
}

const struct config_tcp *config_tcp(const struct config *c)
{
	return &c->tcp;
}

const struct config_tls *config_tls(const struct config *c)
{
	return &c->tls;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool config_tcp_same(const struct config *a, const struct config *b)
{
	return memcmp(&a->tcp, &b->tcp, sizeof(a->tcp)) == 0;
}

bool config_tls_same(const struct config *a, const struct config *b)
{
	const struct config_tls *x = &a->tls, *y = &b->tls;

	return str_same(x->certificate, y->certificate) &&
	       str_same(x->private_key, y->private_key) &&
	       str_same(x->ca_file, y->ca_file) &&
	       x->is_client_cert_required == y->is_client_cert_required &&
	       x->is_server_verified == y->is_server_verified &&
	       x->handshakes_per_turn == y->handshakes_per_turn;
}

bool config_has_transport(const struct config *c, enum config_transport t)
{
	for (size_t i = 0; i < c->listen_count; i++)
		if (c->listen[i].transport == t)
			return true;
	return false;
}
