/* Private to the config loader: the snapshot, one load's state, helpers. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_RUNTIME_CONFIG_INT_H
#define SB_RUNTIME_CONFIG_INT_H

#include <stdbool.h>
#include <yaml.h>

#include "runtime/config.h"

enum {
	CONFIG_PATH_MAX = 4096, /* bytes of data_dir and file paths */
	CONFIG_KEY_MAX = 64	/* bytes of a dotted key path */
};

/* The command-line overrides a snapshot was made with, for a reload. */
struct saved_overrides {
	char *listen[CONFIG_LISTEN_MAX];
	size_t listen_count;
	char *data_dir;
	char *log_level;
	char *call_mode;
	char *media;
};

/* The snapshot (config.h). Immutable once config_load returned it. */
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
	uint32_t receive_pause_us; /* UDP readers' pause under load */
	enum config_receive receive;
	struct config_timers timers;
	uint32_t max_txns; /* 0 = no limit */
	uint32_t drain_timeout_ms;
	char *control_socket; /* NULL until the default is made */
	struct config_local local;
	struct config_tcp tcp;
	struct config_tls tls; /* strings point into tls_files */
	char *tls_files[3];    /* owned: certificate, private_key, ca_file */
	char **domains;	       /* owned, lower case */
	size_t ndomains;
	struct config_auth auth;
	struct config_registrar registrar;
	struct config_bans bans;
	struct config_store store;
	struct config_proxy proxy; /* outbound_proxy owned */
	struct config_dns dns;	   /* servers owned */
	enum config_call_mode call_mode;
	struct config_b2bua b2bua;   /* cdr_csv owned; copy_headers too when
					is_copy_headers_owned */
	bool is_copy_headers_owned;  /* false: the built-in default list */
	struct config_media media;   /* strings owned */
	struct config_route *routes; /* owned, with every string in them */
	size_t nroutes;
	struct saved_overrides ov;
};

/* The state of one load: the document being walked and where errors go. */
struct loader {
	const char *name; /* file name for errors */
	yaml_document_t *doc;
	struct config *c;
	struct config_err *err;
	yaml_mark_t listen_mark; /* where `listen` was, for late checks */
	bool has_listen;
	yaml_mark_t listen_marks[CONFIG_LISTEN_MAX]; /* each entry's */
	bool has_listen_marks[CONFIG_LISTEN_MAX];    /* false: command line */
	yaml_mark_t timers_mark; /* where `timers` was, for late checks */
	bool has_timers;
	yaml_mark_t buffered_mark; /* tcp.max_buffered_bytes, if given */
	bool has_buffered;
	yaml_mark_t tls_mark; /* the `tls` section, if given */
	bool has_tls;
	struct config_listen entry; /* the listener mapping being read */
	bool has_entry_proto;
	yaml_mark_t registrar_mark; /* the `registrar` section, if given */
	bool has_registrar;
	yaml_mark_t session_expires_mark; /* b2bua.session_expires_s */
	bool has_session_expires;
	yaml_mark_t min_se_mark; /* b2bua.min_se_s */
	bool has_min_se;
	yaml_mark_t copy_headers_mark; /* b2bua.copy_headers */
	bool has_copy_headers;
	bool has_b2bua_ring;	    /* b2bua.ring_timeout_s given */
	struct config_route *route; /* the routes entry being read */
	bool route_has_mode[CONFIG_ROUTES_MAX]; /* `mode` given per route */
	struct config_media_policy *policy; /* media policy being read */
	yaml_mark_t media_mark; /* the `media` section, if given */
	bool has_media, has_media_address, has_media_advertise;
	bool has_rtpengine_mode;      /* a `mode: rtpengine` was read */
	yaml_mark_t rtpengine_mark;   /* the first one */
	char rtpengine_key[CONFIG_KEY_MAX];
};

/* A key of a mapping and what its value does to the snapshot. */
struct rule {
	const char *name;
	int (*apply)(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v);
};

/* config_yaml.c: typed values, mappings walked by rules, errors */

void config_err_set(struct config_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "file:line:col: key: what" (no key for YAML syntax errors, no position
 * when at is NULL); returns -EINVAL for the caller to pass on. */
int config_fail(struct loader *ld, const yaml_mark_t *at, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "a mapping", "a list", "a number" ...: for error messages. */
const char *config_describe(const yaml_node_t *n);
int config_get_string(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v, struct slice *out);
int config_get_u32(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v, uint32_t min, uint32_t max, uint32_t *out);
int config_get_bool(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v, bool *out);
/* A string that must be one of names[0..n) (n >= 2): its index in *out;
 * else the error "must be a, b or c". */
int config_get_choice(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v, const char *const *names, size_t n,
		      unsigned *out);
/* Replace *dst with a copy of s. Returns 0 or -ENOMEM. */
int config_replace_str(char **dst, struct slice s);
/* "IP", "IP:PORT", "IPv6", "[IPv6]:PORT" (port dflt when none) into out:
 * 0 or -EINVAL (a name, a bad port). */
int config_ip_port(struct slice s, uint16_t dflt, struct sockaddr_storage *out);
/* Every key of map must be one of rules, at most once; a null value is an
 * empty mapping. */
int config_walk_map(struct loader *ld, const char *prefix, yaml_node_t *at,
		    yaml_node_t *map, const struct rule *rules, size_t n);

/* config_media.c: the `media` section and routes[].media */
void config_media_defaults(struct config *c);
int config_on_media(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v);
int config_on_route_media(struct loader *ld, const char *key, yaml_node_t *k,
			  yaml_node_t *v);
int config_media_finish(struct loader *ld);
void config_media_free(struct config *c);
void config_media_policy_free(struct config_media_policy *p);

/* config_map.c: b2bua.response_map */
int config_on_response_map(struct loader *ld, const char *key,
			   yaml_node_t *k, yaml_node_t *v);

/* config_listen.c: the `listen` list and --listen */

int config_on_listen(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v);
/* Add one "PROTO:HOST:PORT[;advertise=...]" (at is NULL off the file). */
int config_listen_add(struct loader *ld, const yaml_mark_t *at, const char *key,
		      struct slice text);

/* config_stream.c: the `tcp` and `tls` sections */

void config_stream_defaults(struct config *c);
int config_on_tcp(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v);
int config_on_tls(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v);
/* Checks across keys once data_dir and the listeners are final; picks the
 * development certificate for tls: listeners without one. */
int config_stream_finish(struct loader *ld);
void config_stream_free(struct config *c);

/* config_services.c: `domains`, `auth`, `registrar`, `bans`, `store` */

void config_services_defaults(struct config *c);
int config_on_domains(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v);
int config_on_auth(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v);
int config_on_registrar(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v);
int config_on_bans(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v);
int config_on_store(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v);
/* Checks across keys of these sections. */
int config_services_finish(struct loader *ld);
void config_services_free(struct config *c);

/* config_routing.c: the `proxy` and `dns` sections */

void config_routing_defaults(struct config *c);
int config_on_proxy(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v);
int config_on_dns(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v);
void config_routing_free(struct config *c);

/* config_b2bua.c: `call_mode`, the `b2bua` section and `routes` */

void config_b2bua_defaults(struct config *c);
int config_on_call_mode(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v);
int config_on_b2bua(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v);
int config_on_routes(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v);
/* "proxy" or "b2bua" to a mode. Returns 0 or -EINVAL. */
int config_call_mode_parse(struct slice s, enum config_call_mode *out);
/* Checks across keys and defaults taken from other keys, once the
 * command-line overrides are applied: routes without `mode` take
 * call_mode, b2bua.ring_timeout_s defaults to proxy.ring_timeout_s. */
int config_b2bua_finish(struct loader *ld);
void config_b2bua_free(struct config *c);

#endif
