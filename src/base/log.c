/* Structured logging to stderr: one write(2) per line, text or JSON. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	LOG_CTX_MAX = 8,	 /* context entries kept per thread */
	LOG_CTX_VALUE_MAX = 128, /* bytes of one escaped context value */
	LOG_FIELDS_MAX = 2048,	 /* bytes of the formatted fields */
	LOG_LINE_MAX = 16384,	 /* bytes of one output line */
	LOG_TAIL_RESERVE = 32	 /* kept free for the line's closing bytes */
};

/* One context entry; the value belongs to the caller until it pops. */
struct ctx_entry {
	const char *key;
	struct slice value;
};

/* A bounded line writer: appends never overflow, they mark truncation. */
struct line {
	char *p;
	size_t len;
	size_t cap; /* usable bytes, LOG_TAIL_RESERVE below the real size */
	bool is_truncated;
};

static _Atomic int cur_level = LOG_LEVEL_INFO;
static _Atomic int cur_format = LOG_FORMAT_TEXT;

static _Thread_local struct ctx_entry ctx_stack[LOG_CTX_MAX];
static _Thread_local unsigned ctx_depth; /* may exceed LOG_CTX_MAX */
static _Thread_local char line_buf[LOG_LINE_MAX];

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_upper[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char hex[] = "0123456789abcdef";

static void put(struct line *l, const char *s, size_t len)
{
	if (l->is_truncated)
		return;
	if (len > l->cap - l->len) {
		len = l->cap - l->len;
		l->is_truncated = true;
	}
	memcpy(l->p + l->len, s, len);
	l->len += len;
}

static void put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static bool room(const struct line *l, size_t len)
{
	return !l->is_truncated && len <= l->cap - l->len;
}

static bool needs_quotes(struct slice s)
{
	if (!s.p || s.len == 0)
		return true;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '=')
			return true;
	}
	return false;
}

/* The escape for one byte inside quotes; returns its length (1..4). */
static size_t esc_byte(unsigned char c, char out[4])
{
	switch (c) {
	case '"':
	case '\\':
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	case '\n':
		memcpy(out, "\\n", 2);
		return 2;
	case '\r':
		memcpy(out, "\\r", 2);
		return 2;
	case '\t':
		memcpy(out, "\\t", 2);
		return 2;
	default:
		break;
	}
	if (c < ' ' || c >= 0x7f) {
		out[0] = '\\';
		out[1] = 'x';
		out[2] = hex[c >> 4];
		out[3] = hex[c & 15];
		return 4;
	}
	out[0] = (char)c;
	return 1;
}

/*
 * Values are printed logfmt style: bare when they hold only printable
 * non-space bytes other than '"', '\\' and '=', otherwise inside quotes with
 * '"', '\\' and non-printable bytes escaped (spaces are kept inside quotes).
 * A value that does not fit ends in "..." so truncation is visible.
 */
const char *log_esc(struct slice s, char *tmp, size_t cap)
{
	bool is_quoted = needs_quotes(s);
	size_t quotes = is_quoted ? 2 : 0;
	size_t body = 0, room, n = 0;
	bool is_cut;
	char e[4];

	if (cap == 0)
		return "";
	if (cap - 1 < quotes + 3) {
		tmp[0] = '\0';
		return tmp;
	}
	for (size_t i = 0; i < s.len; i++)
		body += esc_byte((unsigned char)s.p[i], e);
	room = cap - 1 - quotes;
	is_cut = body > room;
	if (is_cut)
		room -= 3;
	if (is_quoted)
		tmp[n++] = '"';
	for (size_t i = 0, used = 0; i < s.len; i++) {
		size_t k = esc_byte((unsigned char)s.p[i], e);
		if (used + k > room)
			break;
		memcpy(tmp + n, e, k);
		n += k;
		used += k;
	}
	if (is_cut) {
		memcpy(tmp + n, "...", 3);
		n += 3;
	}
	if (is_quoted)
		tmp[n++] = '"';
	tmp[n] = '\0';
	return tmp;
}

static void put_timestamp(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char b[40];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(b + n, sizeof(b) - n, ".%03ldZ",
			      ts.tv_nsec / 1000000);
	put(l, b, n);
}

/* A JSON string of raw bytes; closes its quote even when cut short. */
static void put_json(struct line *l, const char *s, size_t len)
{
	char e[6];

	if (!room(l, 2)) {
		l->is_truncated = true;
		return;
	}
	l->cap -= 1; /* keep room for the closing quote */
	put(l, "\"", 1);
	for (size_t i = 0; i < len && !l->is_truncated; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			put(l, e, 2);
		} else if (c < ' ' || c >= 0x7f) {
			e[0] = hex[c >> 4];
			e[1] = hex[c & 15];
			put(l, "\\u00", 4);
			put(l, e, 2);
		} else {
			put(l, (const char *)&c, 1);
		}
	}
	l->cap += 1;
	l->p[l->len++] = '"';
}

/* Undo log_esc() quoting for the JSON sink; returns the decoded length. */
static size_t unquote(const char *s, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c != '\\' || i + 1 >= len) {
			out[n++] = c;
			continue;
		}
		c = s[++i];
		if (c == 'n')
			out[n++] = '\n';
		else if (c == 'r')
			out[n++] = '\r';
		else if (c == 't')
			out[n++] = '\t';
		else if (c == 'x' && i + 2 < len && strchr(hex, s[i + 1]) &&
			 strchr(hex, s[i + 2])) {
			out[n++] = (char)((strchr(hex, s[i + 1]) - hex) << 4 |
					  (strchr(hex, s[i + 2]) - hex));
			i += 2;
		} else {
			out[n++] = c;
		}
	}
	return n;
}

static void put_json_pair(struct line *l, const char *key, size_t key_len,
			  const char *val, size_t val_len)
{
	if (!room(l, key_len + 8)) {
		l->is_truncated = true;
		return;
	}
	put(l, ",", 1);
	put_json(l, key, key_len);
	put(l, ":", 1);
	put_json(l, val, val_len);
}

/* Split "k=v k2=\"a b\"" into pairs and print each as a JSON member. */
static void put_json_fields(struct line *l, const char *f)
{
	char val[LOG_FIELDS_MAX];

	while (*f) {
		const char *key, *v;
		size_t key_len, v_len;

		while (*f == ' ')
			f++;
		if (!*f)
			break;
		key = f;
		while (*f && *f != '=' && *f != ' ')
			f++;
		key_len = (size_t)(f - key);
		if (*f != '=') {
			put_json_pair(l, key, key_len, "", 0);
			continue;
		}
		v = ++f;
		if (*f == '"') {
			v = ++f;
			while (*f && *f != '"')
				f += (f[0] == '\\' && f[1]) ? 2 : 1;
			v_len = unquote(v, (size_t)(f - v), val);
			if (*f == '"')
				f++;
		} else {
			while (*f && *f != ' ')
				f++;
			v_len = (size_t)(f - v);
			memcpy(val, v, v_len);
		}
		put_json_pair(l, key, key_len, val, v_len);
	}
}

static void emit_text(struct line *l, enum log_level level, const char *module,
		      const char *event, const char *fields)
{
	char v[LOG_CTX_VALUE_MAX];
	unsigned depth = ctx_depth < LOG_CTX_MAX ? ctx_depth : LOG_CTX_MAX;

	put_timestamp(l);
	put(l, " ", 1);
	put_str(l, level_upper[level]);
	put(l, " ", 1);
	put_str(l, module);
	put(l, " ", 1);
	put_str(l, event);
	if (fields[0]) {
		put(l, " ", 1);
		put_str(l, fields);
	}
	for (unsigned i = 0; i < depth; i++) {
		put(l, " ", 1);
		put_str(l, ctx_stack[i].key);
		put(l, "=", 1);
		put_str(l, log_esc(ctx_stack[i].value, v, sizeof(v)));
	}
	if (l->is_truncated) {
		l->cap += LOG_TAIL_RESERVE;
		l->is_truncated = false;
		put(l, "...", 3);
	}
}

static void emit_json(struct line *l, enum log_level level, const char *module,
		      const char *event, const char *fields)
{
	char ts[40];
	struct line t = {ts, 0, sizeof(ts), false};
	unsigned depth = ctx_depth < LOG_CTX_MAX ? ctx_depth : LOG_CTX_MAX;

	put_timestamp(&t);
	put(l, "{\"ts\":", 6);
	put_json(l, ts, t.len);
	put_json_pair(l, "level", 5, level_names[level],
		      strlen(level_names[level]));
	put_json_pair(l, "module", 6, module, strlen(module));
	put_json_pair(l, "event", 5, event, strlen(event));
	put_json_fields(l, fields);
	for (unsigned i = 0; i < depth; i++) {
		struct slice s = ctx_stack[i].value;
		size_t n =
		    s.len < LOG_CTX_VALUE_MAX ? s.len : LOG_CTX_VALUE_MAX;
		put_json_pair(l, ctx_stack[i].key, strlen(ctx_stack[i].key),
			      s.p ? s.p : "", s.p ? n : 0);
	}
	l->cap += LOG_TAIL_RESERVE;
	if (l->is_truncated) {
		l->is_truncated = false;
		put_str(l, ",\"truncated\":true");
	}
	put(l, "}", 1);
}

static void write_all(const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

void log_setup(enum log_level level, enum log_format format)
{
	atomic_store(&cur_level, (int)level);
	atomic_store(&cur_format, (int)format);
}

int log_level_parse(struct slice name, enum log_level *out)
{
	for (int i = LOG_LEVEL_ERROR; i <= LOG_LEVEL_DEBUG; i++) {
		if (slice_caseeq_lit(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int log_format_parse(struct slice name, enum log_format *out)
{
	if (slice_caseeq_lit(name, "text")) {
		*out = LOG_FORMAT_TEXT;
		return 0;
	}
	if (slice_caseeq_lit(name, "json")) {
		*out = LOG_FORMAT_JSON;
		return 0;
	}
	return -EINVAL;
}

bool log_enabled(enum log_level level)
{
	return (int)level <=
	       atomic_load_explicit(&cur_level, memory_order_relaxed);
}

void log_emit(enum log_level level, const char *module, const char *event,
	      const char *fields, ...)
{
	char f[LOG_FIELDS_MAX];
	struct line l = {line_buf, 0, LOG_LINE_MAX - LOG_TAIL_RESERVE, false};
	va_list ap;

	if ((unsigned)level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_ERROR;
	va_start(ap, fields);
	vsnprintf(f, sizeof(f), fields, ap);
	va_end(ap);
	if (atomic_load_explicit(&cur_format, memory_order_relaxed) ==
	    LOG_FORMAT_JSON)
		emit_json(&l, level, module, event, f);
	else
		emit_text(&l, level, module, event, f);
	l.p[l.len++] = '\n';
	write_all(l.p, l.len);
}

void log_ctx_push(const char *key, struct slice value)
{
	if (ctx_depth < LOG_CTX_MAX) {
		ctx_stack[ctx_depth].key = key;
		ctx_stack[ctx_depth].value = value;
	}
	ctx_depth++;
}

void log_ctx_pop(void)
{
	if (ctx_depth > 0)
		ctx_depth--;
}
