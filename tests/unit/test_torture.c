/* Torture tests: RFC 4475 / RFC 5118 messages and our own, from files. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/limits.h"
#include "base/mem.h"
#include "sip/msg/msg.h"

/*
 * The corpus is tests/unit/data/torture: one <name>.sip file per message
 * (exact wire bytes) and expect.txt, one line per case. gen.py there
 * generates both and documents the manifest format.
 */

enum {
	MAX_CASES = 512,
	MAX_LINE = 8192,
	ARENA_FIRST = 16384, /* stack block given to each message arena */
	MAX_ERR = 512
};

enum verdict {
	VERDICT_OK,	/* must parse */
	VERDICT_STATUS, /* must fail with a status */
	VERDICT_DROP	/* must fail with status 0 */
};

struct tcase {
	char name[80];
	enum verdict verdict;
	unsigned status;      /* VERDICT_STATUS */
	bool lazy_contacts;   /* the failure may surface in sip_msg_contacts */
	char *checks;	      /* the rest of the manifest line */
	struct sb_limits lim; /* defaults with the case's lim.* overrides */
	char *data;	      /* the file's bytes */
	size_t len;	      /* bytes */
};

/* One parse of one message, with its own buffer and arena. */
struct run {
	char *buf; /* exact-size copy, so ASan sees any overread */
	size_t len;
	struct arena arena;
	struct sip_msg m;
	struct sip_perr perr;
	int rc;
	bool is_open; /* arena and buf held; run_close() releases them */
	char first[ARENA_FIRST];
};

static struct tcase cases[MAX_CASES];
static size_t ncases;
static unsigned failures;	  /* mismatches reported by the current test */
static volatile unsigned touched; /* sink for bytes read from slices */
static struct run the_run;	  /* one parse at a time; closed by teardown */

static void report(const char *name, const char *fmt, ...)
{
	char msg[MAX_ERR];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_message("MISMATCH %s: %s\n", name, msg);
	failures++;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return data;
}

static bool set_limit(struct sb_limits *lim, const char *field, uint32_t v)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
	    {"max_msg_bytes", offsetof(struct sb_limits, max_msg_bytes)},
	    {"max_headers", offsetof(struct sb_limits, max_headers)},
	    {"max_header_bytes", offsetof(struct sb_limits, max_header_bytes)},
	    {"max_params", offsetof(struct sb_limits, max_params)},
	    {"max_values", offsetof(struct sb_limits, max_values)},
	    {"max_multipart_depth",
	     offsetof(struct sb_limits, max_multipart_depth)},
	    {"max_multipart_parts",
	     offsetof(struct sb_limits, max_multipart_parts)},
	    {"max_arena_bytes", offsetof(struct sb_limits, max_arena_bytes)},
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(fields[i].name, field) == 0) {
			memcpy((char *)lim + fields[i].off, &v, sizeof(v));
			return true;
		}
	}
	return false;
}

/* Parse "<verdict> [checks]" and the lim.* overrides among the checks. */
static void case_setup(struct tcase *c, const char *rest)
{
	char verdict[32];
	const char *p;
	size_t n = strcspn(rest, " ");

	assert_true(n > 0 && n < sizeof(verdict));
	memcpy(verdict, rest, n);
	verdict[n] = '\0';
	c->checks = strdup(rest + n);
	assert_non_null(c->checks);
	c->lim = sb_limits_default();
	if (strcmp(verdict, "ok") == 0) {
		c->verdict = VERDICT_OK;
	} else if (strcmp(verdict, "drop") == 0) {
		c->verdict = VERDICT_DROP;
	} else {
		c->verdict = VERDICT_STATUS;
		c->status = (unsigned)strtoul(verdict, NULL, 10);
		c->lazy_contacts = strstr(verdict, "@contacts") != NULL;
		assert_true(c->status >= 400 && c->status <= 699);
	}
	for (p = strstr(c->checks, " lim."); p; p = strstr(p + 1, " lim.")) {
		char field[64];
		unsigned long v;

		assert_int_equal(sscanf(p + 5, "%63[a-z_]=%lu", field, &v), 2);
		assert_true(set_limit(&c->lim, field, (uint32_t)v));
	}
}

static int load_corpus(void **state)
{
	char path[1024], line[MAX_LINE];
	FILE *f;

	(void)state;
	f = fopen(SB_TEST_DATA "/torture/expect.txt", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct tcase *c;
		size_t n;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (ncases == MAX_CASES)
			break;
		c = &cases[ncases++];
		n = strcspn(line, " ");
		if (n == 0 || n >= sizeof(c->name) || line[n] != ' ')
			return -1;
		memcpy(c->name, line, n);
		c->name[n] = '\0';
		case_setup(c, line + n + 1);
		snprintf(path, sizeof(path), SB_TEST_DATA "/torture/%s.sip",
			 c->name);
		c->data = read_file(path, &c->len);
		if (!c->data) {
			fprintf(stderr, "cannot read %s\n", path);
			return -1;
		}
	}
	fclose(f);
	return ncases > 0 ? 0 : -1;
}

static int free_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < ncases; i++) {
		free(cases[i].checks);
		free(cases[i].data);
	}
	ncases = 0;
	return 0;
}

static const struct tcase *case_find(const char *name)
{
	for (size_t i = 0; i < ncases; i++) {
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	}
	fail_msg("no torture case %s", name);
	return NULL;
}

static void run_parse_framed(struct run *r, const char *data, size_t len,
			     enum sip_framing framing,
			     const struct sb_limits *lim)
{
	assert_false(r->is_open);
	r->is_open = true;
	r->len = len;
	r->buf = malloc(len);
	if (len > 0) {
		assert_non_null(r->buf);
		memcpy(r->buf, data, len);
	}
	arena_init(&r->arena, r->first, sizeof(r->first), lim->max_arena_bytes);
	memset(&r->m, 0, sizeof(r->m));
	r->perr = (struct sip_perr){0};
	r->rc = sip_msg_parse(&r->m, &r->arena, r->buf, len, framing, lim,
			      &r->perr);
}

static void run_parse(struct run *r, const char *data, size_t len,
		      const struct sb_limits *lim)
{
	run_parse_framed(r, data, len, SIP_FRAMING_DATAGRAM, lim);
}

static void run_close(struct run *r)
{
	arena_close(&r->arena);
	free(r->buf);
	r->buf = NULL;
	r->is_open = false;
}

/* After a failed assertion, release what the test held. */
static int close_leftover(void **state)
{
	(void)state;
	if (the_run.is_open)
		run_close(&the_run);
	return 0;
}

/* Read every byte of a slice (ASan checks each read). */
static void touch(struct slice s)
{
	unsigned sum = 0;

	for (size_t i = 0; s.p && i < s.len; i++)
		sum += (unsigned char)s.p[i];
	touched += sum;
}

static bool in_msg(const struct run *r, struct slice s)
{
	if (!s.p)
		return true;
	return s.p >= r->buf && s.len <= r->m.len &&
	       (size_t)(s.p - r->buf) <= r->m.len - s.len;
}

static const char *check_uri(const struct run *r, const struct sip_uri *u)
{
	const struct slice parts[] = {u->raw,	    u->scheme_name, u->user,
				      u->password,  u->host,	    u->params,
				      u->headers,   u->transport,   u->maddr,
				      u->user_param};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!in_msg(r, parts[i]))
			return "URI slice outside the message";
		touch(parts[i]);
	}
	return NULL;
}

static const char *check_nameaddrs(const struct run *r,
				   const struct sip_nameaddr *na)
{
	const char *err;

	for (; na; na = na->next) {
		if (!in_msg(r, na->display) || !in_msg(r, na->params) ||
		    !in_msg(r, na->tag) || !in_msg(r, na->expires) ||
		    !in_msg(r, na->q))
			return "name-addr slice outside the message";
		touch(na->display);
		touch(na->params);
		if ((err = check_uri(r, &na->uri)))
			return err;
	}
	return NULL;
}

/*
 * What a parsed message promises: every slice lies inside the message
 * bytes, the message fits the buffer, headers are in order.
 */
static const char *check_invariants(const struct run *r)
{
	const struct sip_msg *m = &r->m;
	const char *err;

	if (m->len > r->len || m->buf != r->buf)
		return "message longer than the buffer";
	if (m->hdr_count > 0 && !m->hdrs)
		return "header count without headers";
	for (unsigned i = 0; i < m->hdr_count; i++) {
		const struct sip_hdr *h = &m->hdrs[i];

		if (!in_msg(r, h->name) || !in_msg(r, h->value) ||
		    (uint64_t)h->off + h->len > m->len)
			return "header slice outside the message";
		if (h->id >= SIP_HDR__COUNT)
			return "header id out of range";
		touch(h->name);
		touch(h->value);
	}
	if (!in_msg(r, m->body) || !in_msg(r, m->call_id) ||
	    !in_msg(r, m->method_name) || !in_msg(r, m->ruri_raw) ||
	    !in_msg(r, m->reason) || !in_msg(r, m->cseq.method_name))
		return "slice outside the message";
	touch(m->body);
	touch(m->call_id);
	if (m->is_request && (err = check_uri(r, &m->ruri)))
		return err;
	for (const struct sip_via *v = m->via; v; v = v->next) {
		if (!in_msg(r, v->host) || !in_msg(r, v->branch) ||
		    !in_msg(r, v->received) || !in_msg(r, v->rport) ||
		    !in_msg(r, v->params) || !in_msg(r, v->transport))
			return "Via slice outside the message";
		touch(v->host);
		touch(v->params);
	}
	if ((err = check_nameaddrs(r, m->from)))
		return err;
	return check_nameaddrs(r, m->to);
}

static bool lazy_rc_ok(int rc)
{
	return rc == 0 || rc == -ENOENT || rc == -EBADMSG || rc == -E2BIG;
}

/* Call one lazy accessor (selected by i); returns its result, or 1 past
 * the last accessor. Results are walked so ASan sees every slice. */
static int lazy_call(struct run *r, unsigned i, const char **err)
{
	static const enum sip_hdr_id nameaddr_ids[] = {
	    SIP_HDR_PATH, SIP_HDR_REFER_TO, SIP_HDR_REFERRED_BY,
	    SIP_HDR_P_ASSERTED_IDENTITY, SIP_HDR_REPLY_TO};
	static const enum sip_hdr_id auth_ids[] = {
	    SIP_HDR_AUTHORIZATION, SIP_HDR_PROXY_AUTHORIZATION,
	    SIP_HDR_WWW_AUTHENTICATE, SIP_HDR_PROXY_AUTHENTICATE};
	static const enum sip_hdr_id token_ids[] = {
	    SIP_HDR_ALLOW, SIP_HDR_SUPPORTED, SIP_HDR_REQUIRE,
	    SIP_HDR_PROXY_REQUIRE, SIP_HDR_ALLOW_EVENTS};
	const size_t nna = sizeof(nameaddr_ids) / sizeof(nameaddr_ids[0]);
	const size_t nau = sizeof(auth_ids) / sizeof(auth_ids[0]);
	const size_t ntok = sizeof(token_ids) / sizeof(token_ids[0]);
	struct sip_msg *m = &r->m;
	const struct sip_nameaddr *na = NULL;
	const struct sip_ctype *ct;
	const struct sip_auth *au;
	const struct sip_token *tok;
	const struct sip_part *part;
	uint32_t u;
	int rc;

	*err = NULL;
	switch (i) {
	case 0:
		rc = sip_msg_contacts(m, &na);
		break;
	case 1:
		rc = sip_msg_routes(m, &na);
		break;
	case 2:
		rc = sip_msg_record_routes(m, &na);
		break;
	case 3:
		return sip_msg_max_forwards(m, &u);
	case 4:
		return sip_msg_expires(m, &u);
	case 5:
		rc = sip_msg_content_type(m, &ct);
		if (rc == 0) {
			touch(ct->type);
			touch(ct->subtype);
			touch(ct->params);
		}
		return rc;
	case 6:
		rc = sip_msg_multipart(m, &part);
		for (; rc == 0 && part; part = part->next) {
			if (!in_msg(r, part->body) || !in_msg(r, part->headers))
				*err = "multipart slice outside the message";
			touch(part->body);
			touch(part->content_type);
		}
		return rc;
	default:
		i -= 7;
		if (i < nna) {
			rc = sip_msg_nameaddrs(m, nameaddr_ids[i], &na);
			break;
		}
		i -= (unsigned)nna;
		if (i < nau) {
			rc = sip_msg_auth(m, auth_ids[i], &au);
			for (; rc == 0 && au; au = au->next) {
				touch(au->scheme);
				touch(au->params);
				touch(au->nonce);
			}
			return rc;
		}
		i -= (unsigned)nau;
		if (i < ntok) {
			rc = sip_msg_tokens(m, token_ids[i], &tok);
			for (; rc == 0 && tok; tok = tok->next)
				touch(tok->value);
			return rc;
		}
		return 1;
	}
	if (rc == 0)
		*err = check_nameaddrs(r, na);
	return rc;
}

/*
 * Run every lazy accessor twice: each must return a known code, leave
 * slices inside the message, and give the same answer from its cache.
 */
static void exercise_lazy(struct run *r, const char *name)
{
	int first[32];
	const char *err;

	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < 32; i++) {
			int rc = lazy_call(r, i, &err);

			if (rc == 1)
				break;
			if (!lazy_rc_ok(rc))
				report(name, "lazy accessor %u returned %d", i,
				       rc);
			if (err)
				report(name, "lazy accessor %u: %s", i, err);
			if (pass == 0)
				first[i] = rc;
			else if (first[i] != rc)
				report(name, "lazy accessor %u: %d then %d", i,
				       first[i], rc);
		}
	}
}

/* Compare a slice with an expected value: "-" absent, else exact bytes. */
static bool slice_is(struct slice s, const char *want)
{
	if (strcmp(want, "-") == 0)
		return s.p == NULL;
	return s.p && s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

/* Like slice_is, but an empty expectation also matches an absent slice. */
static bool slice_is_or_empty(struct slice s, const char *want)
{
	if (want[0] == '\0')
		return s.len == 0;
	return slice_is(s, want);
}

static const struct sip_via *last_via(const struct sip_msg *m)
{
	const struct sip_via *v = m->via;

	while (v && v->next)
		v = v->next;
	return v;
}

static unsigned count_vias(const struct sip_msg *m)
{
	unsigned n = 0;

	for (const struct sip_via *v = m->via; v; v = v->next)
		n++;
	return n;
}

static unsigned hdr_count_named(const struct sip_msg *m, const char *name)
{
	enum sip_hdr_id id = sip_hdr_id_from(slice_cstr(name));
	unsigned n = 0;

	if (id != SIP_HDR_OTHER)
		return sip_msg_hdr_count(m, id);
	for (unsigned i = 0; i < m->hdr_count; i++) {
		if (slice_caseeq_lit(m->hdrs[i].name, name))
			n++;
	}
	return n;
}

static bool num_is(bool present, uint64_t got, const char *want)
{
	if (strcmp(want, "-") == 0)
		return !present;
	return present && got == strtoull(want, NULL, 10);
}

static bool via_check(const struct sip_via *v, const char *field,
		      const char *want)
{
	if (!v)
		return false;
	if (strcmp(field, "host") == 0)
		return slice_is(v->host, want);
	if (strcmp(field, "port") == 0)
		return num_is(v->has_port, v->port, want);
	if (strcmp(field, "transport") == 0)
		return slice_is(v->transport, want);
	if (strcmp(field, "branch") == 0)
		return slice_is(v->branch, want);
	if (strcmp(field, "received") == 0)
		return slice_is(v->received, want);
	if (strcmp(field, "rport") == 0) {
		if (strcmp(want, "-") == 0)
			return !v->has_rport;
		return v->has_rport && slice_is_or_empty(v->rport, want);
	}
	fail_msg("unknown Via check %s", field);
	return false;
}

static bool contact_check(struct run *r, const char *field, const char *want)
{
	const struct sip_nameaddr *c = NULL;
	int rc = sip_msg_contacts(&r->m, &c);

	if (strcmp(field, "contacts") == 0) {
		unsigned n = 0;

		if (rc == -ENOENT)
			return strcmp(want, "0") == 0;
		for (; rc == 0 && c; c = c->next)
			n++;
		return rc == 0 && n == strtoul(want, NULL, 10);
	}
	if (rc != 0 || !c)
		return false;
	if (strcmp(field, "contact_star") == 0)
		return c->is_star == (strcmp(want, "1") == 0);
	if (strcmp(field, "contact_params") == 0)
		return slice_is_or_empty(c->params, want);
	if (strcmp(field, "contact_uri_params") == 0)
		return slice_is_or_empty(c->uri.params, want);
	if (strcmp(field, "contact_uri_headers") == 0)
		return slice_is_or_empty(c->uri.headers, want);
	if (strcmp(field, "contact_expires") == 0)
		return slice_is(c->expires, want);
	if (strcmp(field, "contact_q") == 0)
		return slice_is(c->q, want);
	fail_msg("unknown Contact check %s", field);
	return false;
}

static const char *scheme_name(enum sip_uri_scheme s)
{
	switch (s) {
	case SIP_URI_SIP:
		return "sip";
	case SIP_URI_SIPS:
		return "sips";
	case SIP_URI_TEL:
		return "tel";
	default:
		return "other";
	}
}

static unsigned count_parts(struct run *r, int *rc)
{
	const struct sip_part *p = NULL;
	unsigned n = 0;

	*rc = sip_msg_multipart(&r->m, &p);
	for (; *rc == 0 && p; p = p->next)
		n++;
	return n;
}

/* One "key=value" check against a parsed message. */
static bool check_value(struct run *r, const char *key, const char *want)
{
	const struct sip_msg *m = &r->m;
	int rc;

	if (strcmp(key, "method") == 0)
		return m->is_request && slice_is(m->method_name, want);
	if (strcmp(key, "method_known") == 0)
		return (m->method != SIP_METHOD_UNKNOWN) == (want[0] == '1');
	if (strcmp(key, "status") == 0)
		return !m->is_request && m->status == strtoul(want, NULL, 10);
	if (strcmp(key, "vias") == 0)
		return count_vias(m) == strtoul(want, NULL, 10);
	if (strcmp(key, "call_id") == 0)
		return slice_is(m->call_id, want);
	if (strcmp(key, "from_tag") == 0)
		return m->from && slice_is(m->from->tag, want);
	if (strcmp(key, "to_tag") == 0)
		return m->to && slice_is(m->to->tag, want);
	if (strcmp(key, "cseq") == 0)
		return m->cseq.num == strtoul(want, NULL, 10);
	if (strcmp(key, "cseq_method") == 0)
		return slice_is(m->cseq.method_name, want);
	if (strcmp(key, "content_length") == 0)
		return num_is(m->has_content_length, m->content_length, want);
	if (strcmp(key, "body_len") == 0)
		return m->body.len == strtoul(want, NULL, 10);
	if (strcmp(key, "msg_len") == 0)
		return m->len == strtoul(want, NULL, 10);
	if (strncmp(key, "contact", 7) == 0)
		return contact_check(r, key, want);
	if (strcmp(key, "ruri_scheme") == 0)
		return m->is_request &&
		       strcmp(scheme_name(m->ruri.scheme), want) == 0;
	if (strcmp(key, "ruri_user") == 0)
		return slice_is(m->ruri.user, want);
	if (strcmp(key, "ruri_host") == 0)
		return slice_is(m->ruri.host, want);
	if (strcmp(key, "ruri_port") == 0)
		return num_is(m->ruri.has_port, m->ruri.port, want);
	if (strncmp(key, "via_", 4) == 0)
		return via_check(m->via, key + 4, want);
	if (strncmp(key, "last_via_", 9) == 0)
		return via_check(last_via(m), key + 9, want);
	if (strcmp(key, "parts") == 0) {
		unsigned n = count_parts(r, &rc);

		return rc == 0 && n == strtoul(want, NULL, 10);
	}
	if (strncmp(key, "hdr.", 4) == 0)
		return hdr_count_named(m, key + 4) == strtoul(want, NULL, 10);
	fail_msg("unknown check %s", key);
	return false;
}

/* Apply the checks of a manifest line; lim.* and reason~ are skipped. */
static void check_all(struct run *r, const struct tcase *c)
{
	char *copy = strdup(c->checks), *save = NULL;

	assert_non_null(copy);
	for (char *tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (strncmp(tok, "lim.", 4) == 0 || strchr(tok, '~'))
			continue;
		if (!eq) {
			fail_msg("%s: bad check %s", c->name, tok);
			continue;
		}
		*eq = '\0';
		if (!check_value(r, tok, eq + 1))
			report(c->name, "check %s=%s failed", tok, eq + 1);
	}
	free(copy);
}

/* The reason phrase must name the problem (reason~words, "_" a space). */
static void check_reason(const struct run *r, const struct tcase *c)
{
	const char *p = strstr(c->checks, "reason~");
	char word[64];

	if (!r->perr.reason || !r->perr.reason[0]) {
		report(c->name, "no reason phrase");
		return;
	}
	if (!p)
		return;
	if (sscanf(p + 7, "%63s", word) != 1)
		fail_msg("%s: empty reason~", c->name);
	for (char *u = strchr(word, '_'); u; u = strchr(u, '_'))
		*u = ' ';
	if (!strcasestr(r->perr.reason, word))
		report(c->name, "reason \"%s\" does not name \"%s\"",
		       r->perr.reason, word);
}

static void describe(const struct run *r, char *out, size_t n)
{
	if (r->rc == 0)
		snprintf(out, n, "ok");
	else if (r->rc == -EBADMSG)
		snprintf(out, n, "%u \"%s\"", r->perr.status,
			 r->perr.reason ? r->perr.reason : "(null)");
	else
		snprintf(out, n, "rc %d", r->rc);
}

/* Parse one case in full and compare with its manifest line. */
static void run_case(const struct tcase *c)
{
	struct run *r = &the_run;
	const struct sip_nameaddr *na;
	char got[MAX_ERR];
	const char *err;

	run_parse(r, c->data, c->len, &c->lim);
	describe(r, got, sizeof(got));
	if (r->rc == 0 && (err = check_invariants(r)))
		report(c->name, "%s", err);
	switch (c->verdict) {
	case VERDICT_OK:
		if (r->rc != 0) {
			report(c->name, "expected ok, got %s", got);
			break;
		}
		check_all(r, c);
		exercise_lazy(r, c->name);
		break;
	case VERDICT_DROP:
		if (r->rc != -EBADMSG || r->perr.status != 0)
			report(c->name, "expected drop, got %s", got);
		break;
	case VERDICT_STATUS:
		if (r->rc == 0 && c->lazy_contacts) {
			if (sip_msg_contacts(&r->m, &na) != -EBADMSG)
				report(c->name,
				       "expected %u (at Contact), "
				       "got ok with good Contacts",
				       c->status);
			break;
		}
		if (r->rc != -EBADMSG || r->perr.status != c->status) {
			report(c->name, "expected %u, got %s", c->status, got);
			break;
		}
		check_reason(r, c);
		break;
	}
	run_close(r);
}

static void run_verdict(enum verdict v)
{
	unsigned n = 0;

	failures = 0;
	for (size_t i = 0; i < ncases; i++) {
		if (cases[i].verdict == v) {
			run_case(&cases[i]);
			n++;
		}
	}
	print_message("%u cases, %u mismatches\n", n, failures);
	assert_true(n > 0);
	assert_int_equal(failures, 0);
}

static void live_start(int64_t live[2])
{
	live[0] = sb_live_get(SB_LIVE_ALLOC);
	live[1] = sb_live_get(SB_LIVE_ARENA);
}

static void live_check(const int64_t live[2])
{
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live[0]);
	assert_int_equal(sb_live_get(SB_LIVE_ARENA), live[1]);
}

static void test_torture_manifest_matches_files(void **state)
{
	DIR *d = opendir(SB_TEST_DATA "/torture");
	struct dirent *e;
	unsigned files = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		bool listed = false;

		if (n < 5 || strcmp(e->d_name + n - 4, ".sip") != 0)
			continue;
		files++;
		for (size_t i = 0; i < ncases; i++) {
			if (strlen(cases[i].name) == n - 4 &&
			    strncmp(cases[i].name, e->d_name, n - 4) == 0)
				listed = true;
		}
		if (!listed)
			fail_msg("%s is not in expect.txt", e->d_name);
	}
	closedir(d);
	assert_int_equal(files, ncases);
	assert_true(ncases >= 60);
}

static void test_torture_valid_messages_parse(void **state)
{
	int64_t live[2];

	(void)state;
	live_start(live);
	run_verdict(VERDICT_OK);
	live_check(live);
}

static void test_torture_invalid_requests_rejected(void **state)
{
	int64_t live[2];

	(void)state;
	live_start(live);
	run_verdict(VERDICT_STATUS);
	live_check(live);
}

static void test_torture_malformed_responses_dropped(void **state)
{
	int64_t live[2];

	(void)state;
	live_start(live);
	run_verdict(VERDICT_DROP);
	live_check(live);
}

/* A message one byte over max_msg_bytes is 413; at the limit it parses. */
static void test_torture_oversize_is_413(void **state)
{
	const struct tcase *c = case_find("longreq");
	struct sb_limits lim = sb_limits_default();
	struct run *r = &the_run;
	int64_t live[2];

	(void)state;
	live_start(live);
	lim.max_msg_bytes = (uint32_t)c->len - 1;
	run_parse(r, c->data, c->len, &lim);
	assert_int_equal(r->rc, -EBADMSG);
	assert_int_equal(r->perr.status, 413);
	run_close(r);

	lim.max_msg_bytes = (uint32_t)c->len;
	run_parse(r, c->data, c->len, &lim);
	assert_int_equal(r->rc, 0);
	run_close(r);

	c = case_find("own_toobig");
	lim = sb_limits_default();
	run_parse(r, c->data, c->len, &lim);
	assert_int_equal(r->rc, 0);
	run_close(r);
	live_check(live);
}

/* wsinv: folding, LWS and compact forms leave the right values. */
static void test_torture_wsinv_values(void **state)
{
	const struct tcase *c = case_find("wsinv");
	struct sb_limits lim = sb_limits_default();
	struct run *r = &the_run;
	const struct sip_nameaddr *na;
	const struct sip_hdr *h;
	const struct sip_via *v;
	const struct sip_ctype *ct;
	uint32_t mf;
	int64_t live[2];

	(void)state;
	live_start(live);
	run_parse(r, c->data, c->len, &lim);
	assert_int_equal(r->rc, 0);
	v = r->m.via;
	assert_non_null(v);
	assert_true(slice_is(v->transport, "UDP"));
	assert_true(slice_is(v->host, "192.0.2.2"));
	v = v->next;
	assert_non_null(v);
	assert_true(slice_is(v->transport, "TCP"));
	assert_true(slice_is(v->host, "spindle.example.com"));
	assert_true(slice_is(v->branch, "z9hG4bK9ikj8"));
	assert_false(v->has_port);
	assert_true(r->m.cseq.method == SIP_METHOD_INVITE);
	assert_int_equal(sip_msg_max_forwards(&r->m, &mf), 0);
	assert_int_equal(mf, 68);
	assert_int_equal(sip_msg_content_type(&r->m, &ct), 0);
	assert_true(slice_caseeq_lit(ct->type, "application"));
	assert_true(slice_caseeq_lit(ct->subtype, "sdp"));
	assert_int_equal(sip_msg_contacts(&r->m, &na), 0);
	assert_true(slice_is(na->display, "\"Quoted string \\\"\\\"\""));
	assert_true(slice_is(na->uri.host, "example.com"));
	assert_null(na->next);
	assert_int_equal(sip_msg_routes(&r->m, &na), 0);
	assert_true(na->uri.lr);
	assert_true(slice_is(r->m.from->display, "\"J Rosenberg \\\\\\\"\""));

	/* RFC 3261 7.3.1: the folded value reads as one line. */
	h = sip_msg_hdr_find(&r->m, SL("NewFangledHeader"));
	assert_non_null(h);
	assert_int_equal(memcmp(h->value.p, "newfangled value", 16), 0);
	assert_null(memchr(h->value.p, '\r', h->value.len));
	assert_null(memchr(h->value.p, '\n', h->value.len));
	assert_int_equal(memcmp(h->value.p + h->value.len - 26,
				"continued newfangled value", 26),
			 0);
	h = sip_msg_hdr_find(&r->m, SL("UnknownHeaderWithUnusualValue"));
	assert_non_null(h);
	assert_true(slice_is(h->value, ";;,,;;,;"));
	h = sip_msg_hdr(&r->m, SIP_HDR_SUBJECT);
	assert_non_null(h);
	assert_int_equal(h->value.len, 0);
	run_close(r);
	live_check(live);
}

/* intmeth: quoted-pairs with NUL/BEL/DEL and UTF-8 values are kept. */
static void test_torture_intmeth_values(void **state)
{
	static const char ext_value[] = "\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C"
					"\xE9\x9B\xBB";
	const struct tcase *c = case_find("intmeth");
	struct sb_limits lim = sb_limits_default();
	struct run *r = &the_run;
	const struct sip_hdr *h;
	int64_t live[2];

	(void)state;
	live_start(live);
	run_parse(r, c->data, c->len, &lim);
	assert_int_equal(r->rc, 0);
	assert_true(r->m.method == SIP_METHOD_UNKNOWN);
	assert_non_null(r->m.to);
	/* "BEL:\<07> NUL:\<00> DEL:\<7F>" with its quotes: 22 bytes. */
	assert_int_equal(r->m.to->display.len, 22);
	assert_int_equal(r->m.to->display.p[13], '\0');
	assert_true(slice_is(r->m.ruri.password,
			     "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
	h = sip_msg_hdr_find(&r->m, SL("extensionHeader-!.%*+_`'~"));
	assert_non_null(h);
	assert_int_equal(h->value.len, sizeof(ext_value) - 1);
	assert_int_equal(memcmp(h->value.p, ext_value, h->value.len), 0);
	run_close(r);
	live_check(live);
}

/* escnull: %00 in user parts unescapes to NUL bytes, not to a C end. */
static void test_torture_escnull_contacts(void **state)
{
	const struct tcase *c = case_find("escnull");
	struct sb_limits lim = sb_limits_default();
	struct run *r = &the_run;
	const struct sip_nameaddr *na;
	char out[16];
	int64_t live[2];

	(void)state;
	live_start(live);
	run_parse(r, c->data, c->len, &lim);
	assert_int_equal(r->rc, 0);
	assert_int_equal(sip_msg_contacts(&r->m, &na), 0);
	assert_int_equal(sip_uri_unescape(na->uri.user, out, sizeof(out)), 1);
	assert_int_equal(out[0], '\0');
	assert_non_null(na->next);
	assert_int_equal(sip_uri_unescape(na->next->uri.user, out, sizeof(out)),
			 2);
	assert_false(sip_uri_eq(&na->uri, &na->next->uri));
	assert_int_equal(sip_uri_unescape(r->m.to->uri.user, out, sizeof(out)),
			 11);
	run_close(r);
	live_check(live);
}

/* mpart01: the parser splits the body; the binary part keeps its NULs. */
static void test_torture_multipart_parts(void **state)
{
	const struct tcase *c = case_find("mpart01");
	struct sb_limits lim = sb_limits_default();
	struct run *r = &the_run;
	const struct sip_part *p;
	int64_t live[2];

	(void)state;
	live_start(live);
	run_parse(r, c->data, c->len, &lim);
	assert_int_equal(r->rc, 0);
	assert_int_equal(sip_msg_multipart(&r->m, &p), 0);
	assert_non_null(p);
	assert_true(slice_caseeq_lit(p->content_type, "text/plain"));
	assert_true(slice_is(p->body, "Hello"));
	p = p->next;
	assert_non_null(p);
	assert_true(
	    slice_caseeq_lit(p->content_type, "application/octet-stream"));
	/* gen.py: 300 bytes of (i * 37 + 11) % 256, then two NULs. */
	assert_int_equal(p->body.len, 302);
	assert_int_equal((unsigned char)p->body.p[0], 11);
	assert_int_equal(p->body.p[300], '\0');
	assert_int_equal(p->body.p[301], '\0');
	assert_null(p->next);
	run_close(r);
	live_check(live);
}

/* RFC 5118: IPv6 references keep brackets; a port inside them is host. */
static void test_torture_ipv6_hosts(void **state)
{
	struct sb_limits lim = sb_limits_default();
	struct run *r = &the_run;
	int64_t live[2];

	(void)state;
	live_start(live);
	run_parse(r, case_find("port-ambiguous")->data,
		  case_find("port-ambiguous")->len, &lim);
	assert_int_equal(r->rc, 0);
	assert_int_equal(r->m.ruri.host_type, SIP_HOST_IPV6);
	assert_false(r->m.ruri.has_port);
	run_close(r);
	run_parse(r, case_find("ipv4-mapped-ipv6")->data,
		  case_find("ipv4-mapped-ipv6")->len, &lim);
	assert_int_equal(r->rc, 0);
	assert_int_equal(r->m.ruri.host_type, SIP_HOST_NAME);
	assert_true(r->m.via->has_port);
	assert_int_equal(r->m.via->port, 19823);
	run_close(r);
	live_check(live);
}

/*
 * Every prefix of every message (a datagram cut anywhere, or a stream
 * message given whole or cut) parses or is rejected; never a crash, an
 * overread, or a slice outside the message.
 */
static void test_torture_prefixes_never_crash(void **state)
{
	struct run *r = &the_run;
	unsigned parsed = 0, rejected = 0;
	const char *err;
	int64_t live[2];

	(void)state;
	live_start(live);
	failures = 0;
	for (size_t i = 0; i < ncases; i++) {
		const struct tcase *c = &cases[i];

		for (size_t k = 0; k < 2 * c->len + 1; k++) {
			enum sip_framing framing = k < c->len
						       ? SIP_FRAMING_DATAGRAM
						       : SIP_FRAMING_STREAM;
			size_t n = k < c->len ? k : k - c->len;

			run_parse_framed(r, c->data, n, framing, &c->lim);
			if (r->rc == 0) {
				parsed++;
				if ((err = check_invariants(r)))
					report(c->name, "prefix %zu: %s", n,
					       err);
				exercise_lazy(r, c->name);
			} else if (r->rc == -EBADMSG) {
				rejected++;
				if (r->perr.status != 0 &&
				    (r->perr.status < 400 ||
				     r->perr.status > 599))
					report(c->name, "prefix %zu: status %u",
					       n, r->perr.status);
			} else {
				report(c->name, "prefix %zu: rc %d", n, r->rc);
			}
			run_close(r);
		}
	}
	print_message("%u prefixes parsed, %u rejected, %u mismatches\n",
		      parsed, rejected, failures);
	assert_int_equal(failures, 0);
	live_check(live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_torture_manifest_matches_files,
				      close_leftover),
	    cmocka_unit_test_teardown(test_torture_valid_messages_parse,
				      close_leftover),
	    cmocka_unit_test_teardown(test_torture_invalid_requests_rejected,
				      close_leftover),
	    cmocka_unit_test_teardown(test_torture_malformed_responses_dropped,
				      close_leftover),
	    cmocka_unit_test_teardown(test_torture_oversize_is_413,
				      close_leftover),
	    cmocka_unit_test_teardown(test_torture_wsinv_values,
				      close_leftover),
	    cmocka_unit_test_teardown(test_torture_intmeth_values,
				      close_leftover),
	    cmocka_unit_test_teardown(test_torture_escnull_contacts,
				      close_leftover),
	    cmocka_unit_test_teardown(test_torture_multipart_parts,
				      close_leftover),
	    cmocka_unit_test_teardown(test_torture_ipv6_hosts, close_leftover),
	    cmocka_unit_test_teardown(test_torture_prefixes_never_crash,
				      close_leftover),
	};

	return cmocka_run_group_tests(tests, load_corpus, free_corpus);
}
