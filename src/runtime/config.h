/* The config snapshot: YAML loaded, validated, immutable, reference counted. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_RUNTIME_CONFIG_H
#define SB_RUNTIME_CONFIG_H

#include <stddef.h>
#include <sys/socket.h>

#include "base/limits.h"
#include "base/log.h"
#include "base/slice.h"

enum config_transport {
	CONFIG_TRANSPORT_UDP,
	CONFIG_TRANSPORT_TCP,
	CONFIG_TRANSPORT_TLS
};

enum {
	CONFIG_LISTEN_MAX = 16,	  /* listeners per config */
	CONFIG_ERR_LEN = 512,	  /* bytes of one error message */
	CONFIG_ADDR_TEXT = 64,	  /* bytes of "[ipv6]:port" plus NUL */
	CONFIG_FILE_MAX = 1 << 20 /* bytes of a config file */
};

/* One `listen` entry, resolved to a bind address. */
struct config_listen {
	enum config_transport transport;
	struct sockaddr_storage addr;	 /* bind address with the port */
	socklen_t addr_len;		 /* bytes used in addr */
	char hostport[CONFIG_ADDR_TEXT]; /* "127.0.0.1:5060", "[::1]:5060" */
};

/* A load failure: "file:line:col: key: what is wrong". */
struct config_err {
	char msg[CONFIG_ERR_LEN];
};

/*
 * Command-line values applied after the file is loaded and before the
 * snapshot is validated as a whole. Strings are the caller's; they are
 * copied. NULL or zero counts keep what the file says.
 */
struct config_overrides {
	const char *const *listen; /* replaces the whole `listen` list */
	size_t listen_count;
	const char *data_dir;
	const char *log_level; /* error|warn|info|debug */
};

struct config; /* opaque, immutable once loaded */

/*
 * Load and validate the YAML file at path, apply ov (may be NULL), and on
 * success set *out to a new snapshot holding one reference. Unknown keys,
 * wrong types and out-of-range values are errors; nothing is guessed.
 * Returns 0, or -ENOENT/-EACCES (file), -EINVAL (content) or -ENOMEM, with
 * err->msg naming the file, line, column and key. *out is set only on
 * success. Any thread; no logging.
 */
int config_load(const char *path, const struct config_overrides *ov,
		struct config **out, struct config_err *err);

/* The same from text in memory; name stands for the file in errors. */
int config_load_string(const char *name, const char *text, size_t len,
		       const struct config_overrides *ov, struct config **out,
		       struct config_err *err);

/* Counted references, safe from any thread. unref returns NULL. */
struct config *config_ref(struct config *c);
struct config *config_unref(struct config *c);

/* Read-only accessors; results live as long as the snapshot. */
const char *config_path(const struct config *c);
size_t config_listen_count(const struct config *c);
const struct config_listen *config_listen_at(const struct config *c, size_t i);
const char *config_data_dir(const struct config *c);
enum log_level config_log_level(const struct config *c);
enum log_format config_log_format(const struct config *c);
struct slice config_user_agent(const struct config *c);
const struct sb_limits *config_limits(const struct config *c);

/* "udp", "tcp", "tls". */
const char *config_transport_name(enum config_transport t);

#endif
