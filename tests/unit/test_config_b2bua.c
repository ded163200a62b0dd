/* Unit tests: `call_mode`, the `b2bua` config section and `routes`. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "config_fx.h"

#define LISTEN "listen: [udp:127.0.0.1:5060]\n"

static const struct config_route *match(struct fx *f, const char *user,
					const char *domain)
{
	return config_route_match(f->cfg, slice_cstr(user), slice_cstr(domain));
}

/* The load with overrides ov fails with -EINVAL and the message has want. */
static void assert_fails_ov(struct fx *f, const char *text,
			    const struct config_overrides *ov, const char *want)
{
	int rc = load_ov(f, text, ov);

	if (rc != -EINVAL || !strstr(f->err.msg, want))
		fail_msg("rc=%d error \"%s\" does not contain \"%s\"", rc,
			 f->err.msg, want);
	assert_null(f->cfg);
}

static void test_config_b2bua_defaults(void **state)
{
	static const char *const copy[] = {
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
	struct fx *f = *state;
	const struct config_b2bua *b;

	assert_int_equal(load(f, LISTEN), 0);
	assert_int_equal(config_call_mode(f->cfg), CONFIG_CALL_PROXY);
	b = config_b2bua(f->cfg);
	assert_int_equal(b->ncopy_headers, sizeof(copy) / sizeof(copy[0]));
	for (size_t i = 0; i < b->ncopy_headers; i++)
		assert_string_equal(b->copy_headers[i], copy[i]);
	assert_true(b->is_user_agent_hidden);
	assert_int_equal(b->session_expires_s, 1800);
	assert_int_equal(b->min_se_s, 90);
	assert_int_equal(b->max_duration_s, 0);
	assert_int_equal(b->ring_timeout_s, 60);
	assert_int_equal(b->refer, CONFIG_REFER_HANDLE);
	assert_true(b->is_cdr_sqlite);
	assert_null(b->cdr_csv);
	assert_int_equal(config_route_count(f->cfg), 0);
	assert_null(config_route_at(f->cfg, 0));
	assert_null(match(f, "alice", "example.com"));
	assert_string_equal(config_call_mode_name(CONFIG_CALL_PROXY), "proxy");
	assert_string_equal(config_call_mode_name(CONFIG_CALL_B2BUA), "b2bua");
}

/* b2bua.ring_timeout_s follows proxy.ring_timeout_s, wherever it is. */
static void test_config_b2bua_ring_follows_proxy(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f, LISTEN "b2bua: {refer: pass}\n"
					"proxy: {ring_timeout_s: 25}\n"),
			 0);
	assert_int_equal(config_b2bua(f->cfg)->ring_timeout_s, 25);
	f->cfg = config_unref(f->cfg);
	assert_int_equal(load(f, LISTEN "b2bua: {ring_timeout_s: 7}\n"
					"proxy: {ring_timeout_s: 25}\n"),
			 0);
	assert_int_equal(config_b2bua(f->cfg)->ring_timeout_s, 7);
	assert_int_equal(config_proxy(f->cfg)->ring_timeout_s, 25);
}

static void test_config_b2bua_keys(void **state)
{
	struct fx *f = *state;
	const struct config_b2bua *b;

	assert_int_equal(load(f,
			      LISTEN "call_mode: b2bua\n"
				     "b2bua:\n"
				     "  copy_headers: [Subject, X-Account, s]\n"
				     "  hide_user_agent: false\n"
				     "  session_expires_s: 600\n"
				     "  min_se_s: 120\n"
				     "  max_duration_s: 7200\n"
				     "  ring_timeout_s: 45\n"
				     "  refer: reject\n"
				     "  cdr:\n"
				     "    sqlite: false\n"
				     "    csv: /var/log/switchboard/cdr.csv\n"),
			 -EINVAL);
	assert_non_null(strstr(f->err.msg, "test.yaml:4:38: "
					   "b2bua.copy_headers[2]: the same "
					   "header as b2bua.copy_headers[0]"));
	assert_int_equal(load(f,
			      LISTEN "call_mode: b2bua\n"
				     "b2bua:\n"
				     "  copy_headers: [Subject, X-Account, "
				     "User-Agent]\n"
				     "  hide_user_agent: false\n"
				     "  session_expires_s: 600\n"
				     "  min_se_s: 120\n"
				     "  max_duration_s: 7200\n"
				     "  ring_timeout_s: 45\n"
				     "  refer: reject\n"
				     "  cdr:\n"
				     "    sqlite: false\n"
				     "    csv: /var/log/switchboard/cdr.csv\n"),
			 0);
	assert_int_equal(config_call_mode(f->cfg), CONFIG_CALL_B2BUA);
	b = config_b2bua(f->cfg);
	assert_int_equal(b->ncopy_headers, 3);
	assert_string_equal(b->copy_headers[0], "Subject");
	assert_string_equal(b->copy_headers[1], "X-Account");
	assert_string_equal(b->copy_headers[2], "User-Agent");
	assert_false(b->is_user_agent_hidden);
	assert_int_equal(b->session_expires_s, 600);
	assert_int_equal(b->min_se_s, 120);
	assert_int_equal(b->max_duration_s, 7200);
	assert_int_equal(b->ring_timeout_s, 45);
	assert_int_equal(b->refer, CONFIG_REFER_REJECT);
	assert_false(b->is_cdr_sqlite);
	assert_string_equal(b->cdr_csv, "/var/log/switchboard/cdr.csv");
	f->cfg = config_unref(f->cfg);

	/* An empty list copies nothing; 0 turns session timers off; "" is
	 * no CSV file; refer: pass; an empty section keeps the defaults. */
	assert_int_equal(load(f, LISTEN "b2bua:\n"
					"  copy_headers: []\n"
					"  session_expires_s: 0\n"
					"  refer: pass\n"
					"  cdr: {csv: \"\"}\n"),
			 0);
	b = config_b2bua(f->cfg);
	assert_int_equal(b->ncopy_headers, 0);
	assert_int_equal(b->session_expires_s, 0);
	assert_int_equal(b->refer, CONFIG_REFER_PASS);
	assert_null(b->cdr_csv);
	f->cfg = config_unref(f->cfg);
	assert_int_equal(load(f, LISTEN "b2bua:\ncall_mode: proxy\n"), 0);
	assert_int_equal(config_b2bua(f->cfg)->session_expires_s, 1800);
	assert_int_equal(config_call_mode(f->cfg), CONFIG_CALL_PROXY);
}

static void test_config_b2bua_route_keys(void **state)
{
	struct fx *f = *state;
	const struct config_route *r;
	const struct config_hdr_rules *h;

	assert_int_equal(load(f, LISTEN
			      "routes:\n"
			      "  - name: pstn\n"
			      "    match: {user_prefix: \"+1\", domain: "
			      "Example.COM}\n"
			      "    mode: b2bua\n"
			      "    headers:\n"
			      "      remove: [X-Secret, P-Preferred-Identity]\n"
			      "      add: [\"X-Route: pstn\", \"X-Empty:\", "
			      "\"X-Route: again\"]\n"
			      "      replace: [\"Subject: redacted\", "
			      "\"Organization:\\tACME \\u00e9\"]\n"
			      "    from_user: \"+15550100\"\n"
			      "    from_display: \"ACME Support\"\n"
			      "    to_user: \"bob%20x\"\n"
			      "    to_display: \"\"\n"
			      "    pai_user: \"+15550101\"\n"
			      "    pai_display: \"ACME\"\n"
			      "    privacy: ignore\n"
			      "  - name: rest\n"),
			 0);
	assert_int_equal(config_route_count(f->cfg), 2);
	r = config_route_at(f->cfg, 0);
	assert_string_equal(r->name, "pstn");
	assert_string_equal(r->user_prefix, "+1");
	assert_string_equal(r->domain, "example.com");
	assert_int_equal(r->mode, CONFIG_CALL_B2BUA);
	h = &r->rules;
	assert_int_equal(h->nremove, 2);
	assert_string_equal(h->remove[0], "X-Secret");
	assert_string_equal(h->remove[1], "P-Preferred-Identity");
	assert_int_equal(h->nadd, 3);
	assert_string_equal(h->add[0], "X-Route: pstn");
	assert_string_equal(h->add[1], "X-Empty:");
	assert_string_equal(h->add[2], "X-Route: again");
	assert_int_equal(h->nreplace, 2);
	assert_string_equal(h->replace[0], "Subject: redacted");
	assert_string_equal(h->replace[1], "Organization:\tACME \xc3\xa9");
	assert_string_equal(h->from_user, "+15550100");
	assert_string_equal(h->from_display, "ACME Support");
	assert_string_equal(h->to_user, "bob%20x");
	assert_string_equal(h->to_display, "");
	assert_string_equal(h->pai_user, "+15550101");
	assert_string_equal(h->pai_display, "ACME");
	assert_int_equal(h->privacy, CONFIG_PRIVACY_IGNORE);

	/* A route with only a name: every call, the global mode, no rules. */
	r = config_route_at(f->cfg, 1);
	assert_string_equal(r->name, "rest");
	assert_null(r->user_prefix);
	assert_null(r->domain);
	assert_int_equal(r->mode, CONFIG_CALL_PROXY);
	h = &r->rules;
	assert_int_equal(h->nremove + h->nadd + h->nreplace, 0);
	assert_null(h->from_user);
	assert_null(h->from_display);
	assert_null(h->to_user);
	assert_null(h->to_display);
	assert_null(h->pai_user);
	assert_null(h->pai_display);
	assert_int_equal(h->privacy, CONFIG_PRIVACY_HONOR);
	assert_null(config_route_at(f->cfg, 2));
}

/* Routes without `mode` follow call_mode after --call-mode; others not. */
static void test_config_b2bua_route_mode(void **state)
{
	static const char text[] = LISTEN "call_mode: b2bua\n"
					  "routes:\n"
					  "  - {name: follows}\n"
					  "  - {name: proxied, mode: proxy}\n"
					  "  - {name: b2bua, mode: b2bua}\n";
	struct fx *f = *state;
	struct config_overrides ov = {.call_mode = "proxy"};

	assert_int_equal(load(f, text), 0);
	assert_int_equal(config_route_at(f->cfg, 0)->mode, CONFIG_CALL_B2BUA);
	assert_int_equal(config_route_at(f->cfg, 1)->mode, CONFIG_CALL_PROXY);
	assert_int_equal(config_route_at(f->cfg, 2)->mode, CONFIG_CALL_B2BUA);
	f->cfg = config_unref(f->cfg);
	assert_int_equal(load_ov(f, text, &ov), 0);
	assert_int_equal(config_call_mode(f->cfg), CONFIG_CALL_PROXY);
	assert_int_equal(config_route_at(f->cfg, 0)->mode, CONFIG_CALL_PROXY);
	assert_int_equal(config_route_at(f->cfg, 1)->mode, CONFIG_CALL_PROXY);
	assert_int_equal(config_route_at(f->cfg, 2)->mode, CONFIG_CALL_B2BUA);
}

static void test_config_b2bua_override(void **state)
{
	struct fx *f = *state;
	struct config_overrides ov = {.call_mode = "b2bua"};

	assert_int_equal(load_ov(f, LISTEN "call_mode: proxy\n", &ov), 0);
	assert_int_equal(config_call_mode(f->cfg), CONFIG_CALL_B2BUA);
	f->cfg = config_unref(f->cfg);
	ov.call_mode = "sbc";
	assert_fails_ov(f, LISTEN, &ov,
			"command line: --call-mode: must be proxy or b2bua");
	ov.call_mode = "B2BUA";
	assert_fails_ov(f, LISTEN, &ov, "--call-mode: must be proxy or b2bua");
	ov.call_mode = "";
	assert_fails_ov(f, LISTEN, &ov, "--call-mode");
	/* Errors in the file after the override still name the file. */
	ov.call_mode = "b2bua";
	assert_fails_ov(f,
			LISTEN "b2bua: {session_expires_s: 100, "
			       "min_se_s: 200}\n",
			&ov,
			"test.yaml:2:9: b2bua.session_expires_s: must be 0 "
			"(off) or at least b2bua.min_se_s (200)");
}

/* A reload keeps --call-mode (the snapshot saved it). */
static void test_config_b2bua_reload_keeps_call_mode(void **state)
{
	static const char text[] = LISTEN "call_mode: proxy\n"
					  "routes: [{name: r}]\n";
	struct fx *f = *state;
	struct config_overrides ov = {.call_mode = "b2bua"};
	char path[] = "/tmp/sb_test_config_b2bua_XXXXXX";
	struct config *next = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(config_load(path, &ov, &f->cfg, &f->err), 0);
	assert_int_equal(config_reload(f->cfg, &next, &f->err), 0);
	unlink(path);
	assert_int_equal(config_call_mode(next), CONFIG_CALL_B2BUA);
	assert_int_equal(config_route_at(next, 0)->mode, CONFIG_CALL_B2BUA);
	config_unref(next);
}

/* The first route whose conditions all hold; prefix case-sensitive,
 * domain case-insensitive. */
static void test_config_b2bua_route_match(void **state)
{
	struct fx *f = *state;
	const struct config_route *r;

	assert_int_equal(
	    load(f,
		 LISTEN "routes:\n"
			"  - {name: us, match: {user_prefix: \"+1\", "
			"domain: pstn.example.com}}\n"
			"  - {name: intl, match: {user_prefix: \"+\"}}\n"
			"  - {name: sales, match: {user_prefix: Sales}}\n"
			"  - {name: v6, match: {domain: \"[2001:DB8::1]\"}}\n"
			"  - {name: example, match: {domain: example.com}}\n"
			"  - {name: any, match: {}}\n"
			"  - {name: never}\n"),
	    0);
	assert_string_equal(match(f, "+15550100", "PSTN.Example.com")->name,
			    "us");
	assert_string_equal(match(f, "+15550100", "other.org")->name, "intl");
	assert_string_equal(match(f, "+1", "pstn.example.com")->name, "us");
	assert_string_equal(match(f, "+4930", "pstn.example.com")->name,
			    "intl");
	assert_string_equal(match(f, "Sales-1", "x.org")->name, "sales");
	assert_string_equal(match(f, "sales-1", "example.com")->name,
			    "example");
	assert_string_equal(match(f, "bob", "[2001:db8::1]")->name, "v6");
	assert_string_equal(match(f, "bob", "EXAMPLE.COM")->name, "example");
	assert_string_equal(match(f, "bob", "sub.example.com")->name, "any");
	assert_string_equal(match(f, "", "example.com")->name, "example");
	r = config_route_match(f->cfg, slice_make(NULL, 0), slice_cstr("x"));
	assert_string_equal(r->name, "any");
	f->cfg = config_unref(f->cfg);

	assert_int_equal(load(f, LISTEN "routes:\n"
					"  - {name: a, match: {user_prefix: "
					"\"00\"}}\n"),
			 0);
	assert_null(match(f, "0", "example.com"));
	assert_null(match(f, "", "example.com"));
	assert_string_equal(match(f, "0049", "example.com")->name, "a");
}

static void test_config_b2bua_errors(void **state)
{
	struct fx *f = *state;

	assert_fails(f, LISTEN "call_mode: sbc\n",
		     "test.yaml:2:1: call_mode: must be proxy or b2bua");
	assert_fails(f, LISTEN "call_mode: 1\n",
		     "test.yaml:2:1: call_mode: must be a string");
	assert_fails(f, LISTEN "b2bua: {nope: 1}\n",
		     "test.yaml:2:9: b2bua.nope: unknown key");
	assert_fails(f, LISTEN "b2bua: [a]\n", "b2bua: must be a mapping");
	assert_fails(f, LISTEN "b2bua:\n  copy_headers: Subject\n",
		     "test.yaml:3:3: b2bua.copy_headers: must be a list of "
		     "header names, not a string");
	assert_fails(f, LISTEN "b2bua:\n  copy_headers: [\"X Y\"]\n",
		     "test.yaml:3:18: b2bua.copy_headers[0]: must be a header "
		     "name");
	assert_fails(f, LISTEN "b2bua:\n  copy_headers: [\"X:Y\"]\n",
		     "b2bua.copy_headers[0]: must be a header name");
	assert_fails(f, LISTEN "b2bua:\n  copy_headers: [\"\"]\n",
		     "b2bua.copy_headers[0]: must be a header name");
	assert_fails(f, LISTEN "b2bua:\n  copy_headers: [Via]\n",
		     "b2bua.copy_headers[0]: Via is written by the B2BUA");
	assert_fails(f, LISTEN "b2bua:\n  copy_headers: [Subject, i]\n",
		     "b2bua.copy_headers[1]: i is written by the B2BUA");
	assert_fails(f, LISTEN "b2bua:\n  copy_headers: [x-a, X-A]\n",
		     "b2bua.copy_headers[1]: the same header as "
		     "b2bua.copy_headers[0]");
	assert_fails(f, LISTEN "b2bua:\n  copy_headers: [Server]\n",
		     "test.yaml:3:3: b2bua.copy_headers: lists Server, which "
		     "b2bua.hide_user_agent (true) keeps");
	assert_fails(f, LISTEN "b2bua:\n  hide_user_agent: 1\n",
		     "test.yaml:3:3: b2bua.hide_user_agent: must be true or "
		     "false");
	assert_fails(f, LISTEN "b2bua:\n  session_expires_s: 89\n",
		     "test.yaml:3:3: b2bua.session_expires_s: must be 0 (off) "
		     "or between 90 and 86400 (RFC 4028)");
	assert_fails(f, LISTEN "b2bua:\n  session_expires_s: 86401\n",
		     "b2bua.session_expires_s: must be between 0 and 86400");
	assert_fails(f, LISTEN "b2bua:\n  min_se_s: 89\n",
		     "test.yaml:3:3: b2bua.min_se_s: must be between 90 and "
		     "86400");
	assert_fails(f, LISTEN "b2bua:\n  min_se_s: 1801\n",
		     "test.yaml:3:3: b2bua.min_se_s: must not be larger than "
		     "b2bua.session_expires_s (default 1800)");
	assert_fails(f,
		     LISTEN "b2bua:\n  min_se_s: 600\n"
			    "  session_expires_s: 300\n",
		     "test.yaml:4:3: b2bua.session_expires_s: must be 0 (off) "
		     "or at least b2bua.min_se_s (600)");
	assert_fails(f, LISTEN "b2bua:\n  max_duration_s: 604801\n",
		     "b2bua.max_duration_s: must be between 0 and 604800");
	assert_fails(f, LISTEN "b2bua:\n  ring_timeout_s: 0\n",
		     "b2bua.ring_timeout_s: must be between 1 and 3600");
	assert_fails(f, LISTEN "b2bua:\n  ring_timeout_s: 3601\n",
		     "b2bua.ring_timeout_s: must be between 1 and 3600");
	assert_fails(f, LISTEN "b2bua:\n  refer: forward\n",
		     "test.yaml:3:3: b2bua.refer: must be handle, pass or "
		     "reject");
	assert_fails(f, LISTEN "b2bua:\n  cdr: {sqlite: yes please}\n",
		     "test.yaml:3:9: b2bua.cdr.sqlite: must be true or false");
	assert_fails(f, LISTEN "b2bua:\n  cdr: {csv: 12}\n",
		     "b2bua.cdr.csv: must be a string");
	assert_fails(f, LISTEN "b2bua:\n  cdr: {json: x}\n",
		     "b2bua.cdr.json: unknown key");
	assert_fails(f, LISTEN "b2bua:\n  cdr: true\n",
		     "b2bua.cdr: must be a mapping");
}

static void test_config_b2bua_route_errors(void **state)
{
	struct fx *f = *state;

	assert_fails(f, LISTEN "routes: {name: a}\n",
		     "test.yaml:2:1: routes: must be a list of routes");
	assert_fails(f, LISTEN "routes:\n", "routes: must be a list");
	assert_fails(f, LISTEN "routes: [pstn]\n",
		     "test.yaml:2:10: routes[0]: must be a mapping with at "
		     "least a name, not a string");
	assert_fails(f, LISTEN "routes:\n  - match: {domain: a.com}\n",
		     "test.yaml:3:5: routes[0]: a name is required");
	assert_fails(f,
		     LISTEN "routes:\n  - {name: a}\n  - {name: b}\n"
			    "  - {name: a}\n",
		     "test.yaml:5:6: routes[2].name: duplicate of "
		     "routes[0].name");
	assert_fails(f, LISTEN "routes:\n  - {name: \"a b\"}\n",
		     "routes[0].name: must be 1 to 64 letters");
	assert_fails(f, LISTEN "routes:\n  - {name: \"\"}\n",
		     "routes[0].name: must be 1 to 64 letters");
	assert_fails(f, LISTEN "routes:\n  - {name: 7}\n",
		     "routes[0].name: must be a string, not a number (put it "
		     "in quotes)");
	assert_fails(f, LISTEN "routes:\n  - {name: a, colour: red}\n",
		     "test.yaml:3:15: routes[0].colour: unknown key");
	assert_fails(f, LISTEN "routes:\n  - {name: a, mode: sbc}\n",
		     "test.yaml:3:15: routes[0].mode: must be proxy or b2bua");
	assert_fails(f, LISTEN "routes:\n  - {name: a, match: any}\n",
		     "routes[0].match: must be a mapping");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    match: {user: bob}\n",
		     "test.yaml:4:13: routes[0].match.user: unknown key");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    match: {user_prefix: \"a b\"}\n",
		     "test.yaml:4:13: routes[0].match.user_prefix: must be 1 "
		     "to 128 characters of a SIP URI user");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    match: {user_prefix: \"bob@x\"}\n",
		     "routes[0].match.user_prefix: must be");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    match: {user_prefix: \"<b>\"}\n",
		     "routes[0].match.user_prefix: must be");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    match: {user_prefix: \"a\\r\\nb\"}\n",
		     "routes[0].match.user_prefix: must be");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    match: {user_prefix: \"a%2\"}\n",
		     "routes[0].match.user_prefix: must be");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    match: {user_prefix: \"\"}\n",
		     "routes[0].match.user_prefix: must be");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    match: {domain: \"exa mple.com\"}\n",
		     "test.yaml:4:13: routes[0].match.domain: must be a host "
		     "name");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    match: {domain: \"[::1\"}\n",
		     "routes[0].match.domain: must be a host name");
	assert_fails(f, LISTEN "routes:\n  - {name: a, headers: [X-A]}\n",
		     "routes[0].headers: must be a mapping");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {strip: [X-A]}\n",
		     "test.yaml:4:15: routes[0].headers.strip: unknown key");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {remove: [\"X A\"]}\n",
		     "test.yaml:4:24: routes[0].headers.remove[0]: must be a "
		     "header name");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {remove: [CSeq]}\n",
		     "routes[0].headers.remove[0]: CSeq is written by the "
		     "B2BUA");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {remove: [X-A, x-a]}\n",
		     "routes[0].headers.remove[1]: the same header as "
		     "routes[0].headers.remove[0]");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {add: [\"X-A\"]}\n",
		     "test.yaml:4:21: routes[0].headers.add[0]: must be a "
		     "header line \"Name: value\"");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {add: [\"X-A : v\"]}\n",
		     "routes[0].headers.add[0]: must be a header line \"Name: "
		     "value\" whose name is an RFC 3261 token");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {add: [\": v\"]}\n",
		     "routes[0].headers.add[0]: must be a header line");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {add: [\"X-A: v\\r\\nVia: x\"]}\n",
		     "routes[0].headers.add[0]: the value must not contain CR, "
		     "LF");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {add: [\"X-A: v\\n\"]}\n",
		     "routes[0].headers.add[0]: the value must not contain CR");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {add: [\"X-A: v\\0\"]}\n",
		     "routes[0].headers.add[0]: must not contain a NUL");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {add: [\"Contact: <sip:x>\"]}\n",
		     "routes[0].headers.add[0]: Contact is written by the "
		     "B2BUA");
	assert_fails(f,
		     LISTEN
		     "routes:\n  - name: a\n"
		     "    headers: {replace: [\"s: a\", \"Subject: b\"]}\n",
		     "routes[0].headers.replace[1]: replaces the same header "
		     "as routes[0].headers.replace[0]");
	assert_fails(f,
		     LISTEN "routes:\n  - name: a\n"
			    "    headers: {replace: \"Subject: b\"}\n",
		     "routes[0].headers.replace: must be a list of \"Name: "
		     "value\" header lines");
	assert_fails(f, LISTEN "routes:\n  - {name: a, from_user: \"a b\"}\n",
		     "test.yaml:3:15: routes[0].from_user: must be 1 to 128 "
		     "characters of a SIP URI user");
	assert_fails(f, LISTEN "routes:\n  - {name: a, to_user: \"\"}\n",
		     "routes[0].to_user: must be");
	assert_fails(f, LISTEN "routes:\n  - {name: a, pai_user: \"x@y\"}\n",
		     "routes[0].pai_user: must be");
	assert_fails(f, LISTEN "routes:\n  - {name: a, pai_user: 1234}\n",
		     "routes[0].pai_user: must be a string, not a number");
	assert_fails(f,
		     LISTEN "routes:\n  - {name: a, from_display: \"A "
			    "\\\"B\\\"\"}\n",
		     "test.yaml:3:15: routes[0].from_display: must be at most "
		     "128 bytes of text without '\"'");
	assert_fails(f,
		     LISTEN "routes:\n  - {name: a, to_display: \"A\\r\\n\"}\n",
		     "routes[0].to_display: must be at most 128 bytes");
	assert_fails(f,
		     LISTEN "routes:\n  - {name: a, pai_display: \"A\\\\\"}\n",
		     "routes[0].pai_display: must be at most 128 bytes");
	assert_fails(f, LISTEN "routes:\n  - {name: a, privacy: none}\n",
		     "test.yaml:3:15: routes[0].privacy: must be honor or "
		     "ignore");
}

/* Text of n list items made by fmt ("X-%zu", "\"X-%zu: v\"", ...). */
static char *items(const char *head, const char *fmt, size_t n,
		   const char *tail)
{
	size_t cap = strlen(head) + strlen(tail) + n * 64 + 1, used;
	char *s = malloc(cap);

	assert_non_null(s);
	used = (size_t)snprintf(s, cap, "%s", head);
	for (size_t i = 0; i < n; i++) {
		used +=
		    (size_t)snprintf(s + used, cap - used, "%s", i ? ", " : "");
		used += (size_t)snprintf(s + used, cap - used, fmt, i);
	}
	snprintf(s + used, cap - used, "%s", tail);
	return s;
}

static void test_config_b2bua_limits(void **state)
{
	struct fx *f = *state;
	char *text;

	text = items(LISTEN "b2bua:\n  copy_headers: [", "X-%zu",
		     CONFIG_HDR_LIST_MAX, "]\n");
	assert_int_equal(load(f, text), 0);
	assert_int_equal(config_b2bua(f->cfg)->ncopy_headers,
			 CONFIG_HDR_LIST_MAX);
	f->cfg = config_unref(f->cfg);
	free(text);
	text = items(LISTEN "b2bua:\n  copy_headers: [", "X-%zu",
		     CONFIG_HDR_LIST_MAX + 1, "]\n");
	assert_fails(f, text,
		     "b2bua.copy_headers[64]: at most 64 header names are "
		     "allowed");
	free(text);
	text = items(LISTEN "routes:\n  - name: a\n    headers: {remove: [",
		     "X-%zu", CONFIG_HDR_LIST_MAX + 1, "]}\n");
	assert_fails(f, text, "routes[0].headers.remove[64]: at most 64");
	free(text);
	text = items(LISTEN "routes:\n  - name: a\n    headers: {add: [",
		     "\"X-%zu: v\"", CONFIG_HDR_RULES_MAX, "]}\n");
	assert_int_equal(load(f, text), 0);
	f->cfg = config_unref(f->cfg);
	free(text);
	text = items(LISTEN "routes:\n  - name: a\n    headers: {add: [",
		     "\"X-%zu: v\"", CONFIG_HDR_RULES_MAX + 1, "]}\n");
	assert_fails(f, text,
		     "routes[0].headers.add[32]: at most 32 header lines are "
		     "allowed");
	free(text);
	text = items(LISTEN "routes:\n  - name: a\n    headers: {replace: [",
		     "\"X-%zu: v\"", CONFIG_HDR_RULES_MAX + 1, "]}\n");
	assert_fails(f, text, "routes[0].headers.replace[32]: at most 32");
	free(text);
	text =
	    items(LISTEN "routes: [", "{name: r%zu}", CONFIG_ROUTES_MAX, "]\n");
	assert_int_equal(load(f, text), 0);
	assert_int_equal(config_route_count(f->cfg), CONFIG_ROUTES_MAX);
	f->cfg = config_unref(f->cfg);
	free(text);
	text = items(LISTEN "routes: [", "{name: r%zu}", CONFIG_ROUTES_MAX + 1,
		     "]\n");
	assert_fails(f, text,
		     "test.yaml:2:1: routes: at most 256 routes are allowed");
	free(text);
}

/* Fail the Nth allocation for N = 0, 1, ...: each fails with -ENOMEM and
 * leaks nothing. */
static void test_config_b2bua_oom(void **state)
{
	static const char text[] =
	    LISTEN "b2bua:\n"
		   "  copy_headers: [Subject, X-A]\n"
		   "  cdr: {csv: cdr.csv}\n"
		   "routes:\n"
		   "  - name: a\n"
		   "    match: {user_prefix: \"+1\", domain: A.com}\n"
		   "    headers: {remove: [X-B], add: [\"X-C: 1\"], "
		   "replace: [\"X-D: 2\"]}\n"
		   "    from_user: x\n"
		   "    from_display: X\n"
		   "    to_user: y\n"
		   "    to_display: Y\n"
		   "    pai_user: z\n"
		   "    pai_display: Z\n"
		   "  - name: b\n";
	struct fx *f = *state;
	struct config_overrides ov = {.call_mode = "b2bua"};
	int rc = -ENOMEM;

	for (int64_t n = 0; rc == -ENOMEM && n < 200; n++) {
		sb_mem_fail_after(n);
		rc = load_ov(f, text, &ov);
		sb_mem_fail_after(-1);
		if (rc == -ENOMEM) {
			assert_null(f->cfg);
			assert_int_equal(sb_live_get(SB_LIVE_CONFIG),
					 f->live_config);
			assert_int_equal(sb_live_get(SB_LIVE_ALLOC),
					 f->live_alloc);
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(config_route_count(f->cfg), 2);
}

/* The shipped etc/switchboard.yaml keeps call_mode: proxy. */
static void test_config_b2bua_response_map(void **state)
{
	struct fx *f = *state;
	const struct config_b2bua *b;

	assert_int_equal(load(f, LISTEN), 0);
	b = config_b2bua(f->cfg);
	assert_int_equal(config_b2bua_map(b, 401), 403);
	assert_int_equal(config_b2bua_map(b, 407), 403);
	assert_int_equal(config_b2bua_map(b, 486), 486);
	f->cfg = config_unref(f->cfg);
	assert_int_equal(load(f, LISTEN "b2bua:\n  response_map: {486: 480, "
					"503: 500}\n"),
			 0);
	b = config_b2bua(f->cfg);
	assert_int_equal(config_b2bua_map(b, 486), 480);
	assert_int_equal(config_b2bua_map(b, 503), 500);
	assert_int_equal(config_b2bua_map(b, 401), 401); /* replaced */
	f->cfg = config_unref(f->cfg);
	assert_fails(f, LISTEN "b2bua:\n  response_map: [486]\n",
		     "b2bua.response_map: must be a mapping");
	assert_fails(f, LISTEN "b2bua:\n  response_map: {200: 486}\n",
		     "test.yaml:3:18: b2bua.response_map[0]:");
	assert_fails(f, LISTEN "b2bua:\n  response_map: {486: 700}\n",
		     "b2bua.response_map[0]:");
	assert_fails(f,
		     LISTEN "b2bua:\n  response_map: {486: 480, 486: "
			    "404}\n",
		     "b2bua.response_map[1]: 486 is mapped twice");
}

static void test_config_b2bua_shipped(void **state)
{
	struct fx *f = *state;
	struct config_overrides ov = {
	    .data_dir = "/tmp/sb_test_b2bua_shipped",
	    .listen = (const char *[]){"udp:127.0.0.1:5060"},
	    .listen_count = 1};

	assert_int_equal(config_load(SB_SOURCE_DIR "/etc/switchboard.yaml", &ov,
				     &f->cfg, &f->err),
			 0);
	assert_int_equal(config_call_mode(f->cfg), CONFIG_CALL_PROXY);
	assert_int_equal(config_b2bua(f->cfg)->session_expires_s, 1800);
	assert_int_equal(config_route_count(f->cfg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_b2bua_response_map,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_defaults, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_b2bua_ring_follows_proxy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_keys, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_route_keys, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_route_mode, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_override, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_b2bua_reload_keeps_call_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_route_match,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_route_errors,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_limits, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_oom, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_b2bua_shipped, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
