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
#include "runtime/config_int.h"

enum {
	CONFIG_USER_AGENT_MAX = 128,	   /* bytes of server.user_agent */
	CONFIG_PAUSE_US_DEFAULT = 200,  /* receive_pause_us */
	CONFIG_PAUSE_US_MAX = 10000,	/* receive_pause_us */
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
	sb_free(c->ov.call_mode);
	sb_free(c->ov.media);
	sb_free(c->control_socket);
	sb_free(c->path);
	sb_free(c->data_dir);
	sb_free(c->user_agent);
	config_stream_free(c);
	config_services_free(c);
	config_routing_free(c);
	config_b2bua_free(c);
	config_media_free(c);
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
	c->receive_pause_us = CONFIG_PAUSE_US_DEFAULT;
	c->receive = CONFIG_RECEIVE_READER;
	c->timers = (struct config_timers){500, 4000, 5000, 32000};
	c->max_txns = CONFIG_TXNS_DEFAULT;
	c->drain_timeout_ms = CONFIG_DRAIN_DEFAULT_MS;
	config_stream_defaults(c);
	config_services_defaults(c);
	config_routing_defaults(c);
	config_b2bua_defaults(c);
	config_media_defaults(c);
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

static int on_data_dir(struct loader *ld, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0 || s.len >= CONFIG_PATH_MAX)
		return config_fail(ld, &k->start_mark, key,
				   "must be a directory path (1 to %d bytes)",
				   CONFIG_PATH_MAX - 1);
	return config_replace_str(&ld->c->data_dir, s);
}

static int on_log_level(struct loader *ld, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (log_level_parse(s, &ld->c->log_level) != 0)
		return config_fail(ld, &k->start_mark, key,
				   "must be one of error, warn, info, debug");
	return 0;
}

static int on_log_format(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (log_format_parse(s, &ld->c->log_format) != 0)
		return config_fail(ld, &k->start_mark, key,
				   "must be one of text, json");
	return 0;
}

static int on_user_agent(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0 || s.len > CONFIG_USER_AGENT_MAX)
		return config_fail(ld, &k->start_mark, key,
				   "must be 1 to %d bytes long",
				   CONFIG_USER_AGENT_MAX);
	/* It becomes a header value: printable ASCII only, no CR or LF. */
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < ' ' || s.p[i] > '~')
			return config_fail(ld, &k->start_mark, key,
					   "must be printable ASCII text");
	return config_replace_str(&ld->c->user_agent, s);
}

static int on_limit(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	const char *name = strrchr(key, '.') + 1;

	for (size_t i = 0; i < sizeof(limit_rules) / sizeof(limit_rules[0]);
	     i++) {
		const struct limit_rule *r = &limit_rules[i];
		if (strcmp(r->name, name) == 0)
			return config_get_u32(
			    ld, key, k, v, r->min, r->max,
			    (uint32_t *)((char *)&ld->c->limits + r->offset));
	}
	return -EINVAL; /* the rules list only known names */
}

static int on_workers(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	uint32_t n = 0;
	int rc = config_get_u32(ld, key, k, v, 0, CONFIG_WORKERS_MAX, &n);

	if (rc == 0)
		ld->c->workers = n;
	return rc;
}

static int on_receive_pause(struct loader *ld, const char *key,
			    yaml_node_t *k, yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 0, CONFIG_PAUSE_US_MAX,
			      &ld->c->receive_pause_us);
}

static int on_queue_size(struct loader *ld, const char *key, yaml_node_t *k,
			 yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, CONFIG_QUEUE_MIN, CONFIG_QUEUE_MAX,
			      &ld->c->queue_size);
}

static int on_receive(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v)
{
	static const enum config_receive all[] = {CONFIG_RECEIVE_READER,
						  CONFIG_RECEIVE_REUSEPORT,
						  CONFIG_RECEIVE_SINGLE};
	struct slice s = {NULL, 0};
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (slice_eq(s, slice_cstr(config_receive_name(all[i])))) {
			ld->c->receive = all[i];
			return 0;
		}
	return config_fail(ld, &k->start_mark, key,
			   "must be one of reader, reuseport, single");
}

static int on_max_txns(struct loader *ld, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 0, CONFIG_TXNS_MAX,
			      &ld->c->max_txns);
}

static int on_drain_timeout(struct loader *ld, const char *key, yaml_node_t *k,
			    yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 0, CONFIG_TIME_MAX_MS,
			      &ld->c->drain_timeout_ms);
}

static int on_control_socket(struct loader *ld, const char *key, yaml_node_t *k,
			     yaml_node_t *v)
{
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	if (s.len == 0 || s.len > CONFIG_SOCKET_PATH_MAX)
		return config_fail(
		    ld, &k->start_mark, key,
		    "must be a path of 1 to %d bytes (a unix socket "
		    "path cannot be longer)",
		    CONFIG_SOCKET_PATH_MAX);
	return config_replace_str(&ld->c->control_socket, s);
}

static int on_timer(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	struct config_timers *t = &ld->c->timers;
	const char *name = strrchr(key, '.') + 1;

	if (strcmp(name, "t1_ms") == 0)
		return config_get_u32(ld, key, k, v, 1, 60000, &t->t1_ms);
	if (strcmp(name, "t2_ms") == 0)
		return config_get_u32(ld, key, k, v, 1, CONFIG_TIME_MAX_MS,
				      &t->t2_ms);
	if (strcmp(name, "t4_ms") == 0)
		return config_get_u32(ld, key, k, v, 1, CONFIG_TIME_MAX_MS,
				      &t->t4_ms);
	return config_get_u32(ld, key, k, v, 0, CONFIG_TIME_MAX_MS,
			      &t->timer_d_ms);
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
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

static int on_local_options(struct loader *ld, const char *key, yaml_node_t *k,
			    yaml_node_t *v)
{
	return config_get_bool(ld, key, k, v,
			       &ld->c->local.is_options_stateless);
}

static int on_local_delay(struct loader *ld, const char *key, yaml_node_t *k,
			  yaml_node_t *v)
{
	return config_get_u32(ld, key, k, v, 0, CONFIG_INVITE_DELAY_MAX_MS,
			      &ld->c->local.invite_delay_ms);
}

static int on_local(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"options_stateless", on_local_options},
	    {"invite_delay_ms", on_local_delay},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

static int on_log(struct loader *ld, const char *key, yaml_node_t *k,
		  yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"level", on_log_level},
	    {"format", on_log_format},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

static int on_server(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	static const struct rule rules[] = {
	    {"user_agent", on_user_agent},
	};
	return config_walk_map(ld, key, k, v, rules,
			       sizeof(rules) / sizeof(rules[0]));
}

static int on_limits(struct loader *ld, const char *key, yaml_node_t *k,
		     yaml_node_t *v)
{
	enum { N = sizeof(limit_rules) / sizeof(limit_rules[0]) };
	struct rule rules[N];

	for (size_t i = 0; i < N; i++)
		rules[i] = (struct rule){limit_rules[i].name, on_limit};
	return config_walk_map(ld, key, k, v, rules, N);
}

static int load_document(struct loader *ld, yaml_node_t *root)
{
	static const struct rule rules[] = {
	    {"listen", config_on_listen},
	    {"data_dir", on_data_dir},
	    {"log", on_log},
	    {"server", on_server},
	    {"limits", on_limits},
	    {"workers", on_workers},
	    {"queue_size", on_queue_size},
	    {"receive_pause_us", on_receive_pause},
	    {"receive", on_receive},
	    {"timers", on_timers},
	    {"max_transactions", on_max_txns},
	    {"drain_timeout_ms", on_drain_timeout},
	    {"control_socket", on_control_socket},
	    {"local", on_local},
	    {"tcp", config_on_tcp},
	    {"tls", config_on_tls},
	    {"domains", config_on_domains},
	    {"auth", config_on_auth},
	    {"registrar", config_on_registrar},
	    {"bans", config_on_bans},
	    {"store", config_on_store},
	    {"proxy", config_on_proxy},
	    {"dns", config_on_dns},
	    {"call_mode", config_on_call_mode},
	    {"b2bua", config_on_b2bua},
	    {"routes", config_on_routes},
	    {"media", config_on_media},
	};
	if (!root)
		return 0; /* an empty file: all defaults */
	return config_walk_map(ld, "", root, root, rules,
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
			rc = config_fail(ld, &parser.problem_mark, NULL,
					 "YAML syntax error: %s%s%s",
					 parser.problem ? parser.problem
							: "invalid",
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
			rc = config_fail(ld, &n->start_mark, NULL,
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
			rc = config_listen_add(ld, NULL, key,
					       slice_cstr(ov->listen[i]));
			if (rc != 0)
				return rc;
		}
	}
	if (ov->data_dir) {
		if (!ov->data_dir[0] || strlen(ov->data_dir) >= CONFIG_PATH_MAX)
			return config_fail(
			    ld, NULL, "--data-dir",
			    "must be a directory path (1 to %d bytes)",
			    CONFIG_PATH_MAX - 1);
		rc = config_replace_str(&c->data_dir, slice_cstr(ov->data_dir));
		if (rc != 0)
			return rc;
	}
	if (ov->log_level &&
	    log_level_parse(slice_cstr(ov->log_level), &c->log_level) != 0)
		return config_fail(ld, NULL, "--log-level",
				   "must be one of error, warn, info, debug");
	if (ov->call_mode && config_call_mode_parse(slice_cstr(ov->call_mode),
						    &c->call_mode) != 0)
		return config_fail(ld, NULL, "--call-mode",
				   "must be proxy or b2bua");
	if (ov->media) {
		if (strcmp(ov->media, "anchor") == 0)
			c->media.policy.mode = CONFIG_MEDIA_ANCHOR;
		else if (strcmp(ov->media, "bypass") == 0)
			c->media.policy.mode = CONFIG_MEDIA_BYPASS;
		else if (strcmp(ov->media, "rtpengine") == 0)
			c->media.policy.mode = CONFIG_MEDIA_RTPENGINE;
		else
			return config_fail(ld, NULL, "--media",
					   "must be anchor, bypass or rtpengine");
	}
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
	if (ov->call_mode && !(c->ov.call_mode = sb_strndup(
				   ov->call_mode, strlen(ov->call_mode))))
		return -ENOMEM;
	if (ov->media &&
	    !(c->ov.media = sb_strndup(ov->media, strlen(ov->media))))
		return -ENOMEM;
	return 0;
}

/* Checks across keys, defaults made from other keys, saved overrides. */
static int finish(struct loader *ld, const struct config_overrides *ov)
{
	struct config *c = ld->c;
	size_t dir_len = strlen(c->data_dir);
	int rc;

	if (c->listen_count == 0)
		return config_fail(
		    ld, ld->has_listen ? &ld->listen_mark : NULL, "listen",
		    "at least one listener is required (set listen or "
		    "pass --listen)");
	if (c->timers.t2_ms < c->timers.t1_ms)
		return config_fail(ld, ld->has_timers ? &ld->timers_mark : NULL,
				   "timers.t2_ms",
				   "must not be smaller than timers.t1_ms (%u)",
				   c->timers.t1_ms);
	if (!c->control_socket) {
		if (dir_len + 1 + sizeof(control_socket_name) - 1 >
		    CONFIG_SOCKET_PATH_MAX)
			return config_fail(
			    ld, NULL, "control_socket",
			    "the default <data_dir>/%s is longer "
			    "than %d bytes: set control_socket",
			    control_socket_name, CONFIG_SOCKET_PATH_MAX);
		c->control_socket =
		    sb_malloc(dir_len + 1 + sizeof(control_socket_name));
		if (!c->control_socket)
			return -ENOMEM;
		snprintf(c->control_socket,
			 dir_len + 1 + sizeof(control_socket_name), "%s/%s",
			 c->data_dir, control_socket_name);
	}
	rc = config_stream_finish(ld);
	if (rc == 0)
		rc = config_services_finish(ld);
	if (rc == 0)
		rc = config_b2bua_finish(ld);
	if (rc == 0)
		rc = config_media_finish(ld);
	if (rc != 0)
		return rc;
	return ov ? save_overrides(c, ov) : 0;
}

int config_load_string(const char *name, const char *text, size_t len,
		       const struct config_overrides *ov, struct config **out,
		       struct config_err *err)
{
	struct loader ld = {.name = name, .err = err};
	int rc;

	config_err_set(err, "%s", "");
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
		config_err_set(err, "%s: out of memory", name);
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
		config_err_set(err, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		config_err_set(err, "%s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		config_err_set(err, "%s: larger than %d bytes", path,
			       CONFIG_FILE_MAX);
		rc = -EFBIG;
		goto out;
	}
	text = sb_malloc((size_t)st.st_size + 1);
	if (!text) {
		config_err_set(err, "%s: out of memory", path);
		rc = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			config_err_set(err, "%s: cannot read: %s", path,
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
	    .call_mode = old->ov.call_mode,
	    .media = old->ov.media,
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

unsigned config_workers(const struct config *c)
{
	return c->workers;
}

uint32_t config_receive_pause_us(const struct config *c)
{
	return c->receive_pause_us;
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
