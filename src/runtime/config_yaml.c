/* Config loader helpers: typed YAML values, keyed mappings, errors. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/config_int.h"
#include "sip/transport/transport.h"

/* What a plain or quoted scalar is under the YAML core schema. */
enum scalar_kind {
	SCALAR_NULL,
	SCALAR_BOOL,
	SCALAR_INT,
	SCALAR_FLOAT,
	SCALAR_STRING
};

void config_err_set(struct config_err *err, const char *fmt, ...)
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
int config_fail(struct loader *ld, const yaml_mark_t *at, const char *key,
		const char *fmt, ...)
{
	char what[CONFIG_ERR_LEN / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (at)
		config_err_set(ld->err, "%s:%zu:%zu: %s%s%s", ld->name,
			       at->line + 1, at->column + 1, key ? key : "",
			       key ? ": " : "", what);
	else
		config_err_set(ld->err, "%s: %s%s%s", ld->name, key ? key : "",
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

const char *config_describe(const yaml_node_t *n)
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
int config_get_string(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v, struct slice *out)
{
	if (v->type != YAML_SCALAR_NODE || scalar_kind(v) != SCALAR_STRING)
		return config_fail(ld, &k->start_mark, key,
				   "must be a string, not %s%s",
				   config_describe(v),
				   v->type == YAML_SCALAR_NODE && !is_null(v)
				       ? " (put it in quotes)"
				       : "");
	*out = scalar(v);
	if (memchr(out->p, '\0', out->len))
		return config_fail(ld, &k->start_mark, key,
				   "must not contain a NUL character");
	return 0;
}

int config_replace_str(char **dst, struct slice s)
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
int config_walk_map(struct loader *ld, const char *prefix, yaml_node_t *at,
		    yaml_node_t *map, const struct rule *rules, size_t n)
{
	char key[CONFIG_KEY_MAX], known[256];
	uint32_t seen = 0;
	size_t used = 0;

	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return config_fail(
		    ld, &at->start_mark, prefix[0] ? prefix : "(top)",
		    "must be a mapping of keys, not %s", config_describe(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
		struct slice name;
		size_t i;
		int rc;

		if (k->type != YAML_SCALAR_NODE)
			return config_fail(ld, &k->start_mark,
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
			return config_fail(ld, &k->start_mark, key,
					   "unknown key (known keys: %s)",
					   known);
		}
		if (seen & (1u << i))
			return config_fail(ld, &k->start_mark, key,
					   "duplicate key");
		seen |= 1u << i;
		rc = rules[i].apply(ld, key, k, v);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int config_get_u32(struct loader *ld, const char *key, yaml_node_t *k,
		   yaml_node_t *v, uint32_t min, uint32_t max, uint32_t *out)
{
	uint32_t val;

	if (v->type != YAML_SCALAR_NODE || scalar_kind(v) != SCALAR_INT)
		return config_fail(ld, &k->start_mark, key,
				   "must be an integer, not %s",
				   config_describe(v));
	if (slice_to_u32(scalar(v), &val) != 0 || val < min || val > max)
		return config_fail(ld, &k->start_mark, key,
				   "must be between %u and %u", min, max);
	*out = val;
	return 0;
}

int config_get_choice(struct loader *ld, const char *key, yaml_node_t *k,
		      yaml_node_t *v, const char *const *names, size_t n,
		      unsigned *out)
{
	char list[256];
	size_t used = 0;
	struct slice s;
	int rc = config_get_string(ld, key, k, v, &s);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (slice_eq(s, slice_cstr(names[i]))) {
			*out = (unsigned)i;
			return 0;
		}
		rc = snprintf(list + used, sizeof(list) - used, "%s%s",
			      i == 0	   ? ""
			      : i + 1 == n ? " or "
					   : ", ",
			      names[i]);
		if (rc > 0 && (size_t)rc < sizeof(list) - used)
			used += (size_t)rc;
	}
	return config_fail(ld, &k->start_mark, key, "must be %s", list);
}

int config_get_bool(struct loader *ld, const char *key, yaml_node_t *k,
		    yaml_node_t *v, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "on"};
	struct slice s;

	if (v->type != YAML_SCALAR_NODE || scalar_kind(v) != SCALAR_BOOL)
		return config_fail(ld, &k->start_mark, key,
				   "must be true or false, not %s",
				   config_describe(v));
	s = scalar(v);
	*out = false;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (slice_eq(s, slice_cstr(yes[i])))
			*out = true;
	return 0;
}

int config_ip_port(struct slice s, uint16_t dflt, struct sockaddr_storage *out)
{
	struct slice host = s;
	uint32_t port = dflt;
	const char *colon;
	struct sip_addr a;

	if (s.len && s.p[0] == '[') {
		const char *end = memchr(s.p, ']', s.len);

		if (!end)
			return -EINVAL;
		host = slice_make(s.p + 1, (size_t)(end - s.p - 1));
		colon = end + 1 < s.p + s.len ? end + 1 : NULL;
		if (colon && *colon != ':')
			return -EINVAL;
	} else {
		colon = memchr(s.p, ':', s.len);
		if (colon &&
		    memchr(colon + 1, ':', s.len - (size_t)(colon - s.p) - 1))
			colon = NULL; /* a bare IPv6 address */
		if (colon)
			host = slice_make(s.p, (size_t)(colon - s.p));
	}
	if (colon) {
		struct slice ps =
		    slice_make(colon + 1, (size_t)(s.p + s.len - colon - 1));

		if (slice_to_u32(ps, &port) != 0 || port == 0 || port > 65535)
			return -EINVAL;
	}
	if (host.len == 0 || host.p[0] == '[' ||
	    sip_addr_from_host(host, (uint16_t)port, &a) != 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out, &a.sa, a.len);
	return 0;
}
