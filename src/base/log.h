/* Structured logging: one line per event, key=value fields, text or JSON. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_LOG_H
#define SB_BASE_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Process-wide setup, before threads start. Output goes to stderr. */
void log_setup(enum log_level level, enum log_format format);
int log_level_parse(struct slice name, enum log_level *out);
int log_format_parse(struct slice name, enum log_format *out);
bool log_enabled(enum log_level level);

/*
 * Emit one line: "<time> <level> <module> <event> <fields> <context>".
 * fields is a printf format of space-separated key=value pairs. Values that
 * came from the network must go through log_esc(). Thread-safe; one write
 * per line.
 */
void log_emit(enum log_level level, const char *module, const char *event,
	      const char *fields, ...) __attribute__((format(printf, 4, 5)));

/*
 * Escape and truncate outside bytes for a log value: non-printable bytes,
 * quotes and backslashes become escapes, at most cap-1 bytes out,
 * the result quoted when it needs to be. Returns tmp.
 */
const char *log_esc(struct slice s, char *tmp, size_t cap);

/* Thread-local context appended to every line: call_id=, txn=, ... */
void log_ctx_push(const char *key, struct slice value);
void log_ctx_pop(void);

/* Each .c file defines LOG_MODULE before using these. */
#define log_error(event, ...)                                                  \
	do {                                                                   \
		if (log_enabled(LOG_LEVEL_ERROR))                              \
			log_emit(LOG_LEVEL_ERROR, LOG_MODULE, event,           \
				 __VA_ARGS__);                                 \
	} while (0)
#define log_warn(event, ...)                                                   \
	do {                                                                   \
		if (log_enabled(LOG_LEVEL_WARN))                               \
			log_emit(LOG_LEVEL_WARN, LOG_MODULE, event,            \
				 __VA_ARGS__);                                 \
	} while (0)
#define log_info(event, ...)                                                   \
	do {                                                                   \
		if (log_enabled(LOG_LEVEL_INFO))                               \
			log_emit(LOG_LEVEL_INFO, LOG_MODULE, event,            \
				 __VA_ARGS__);                                 \
	} while (0)
#define log_debug(event, ...)                                                  \
	do {                                                                   \
		if (log_enabled(LOG_LEVEL_DEBUG))                              \
			log_emit(LOG_LEVEL_DEBUG, LOG_MODULE, event,           \
				 __VA_ARGS__);                                 \
	} while (0)

#endif
