/* Unit tests for the services' config sections (runtime/config_services.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "runtime/config.h"
#include "config_fx.h"
#include "sip/msg/msg.h"

#define LISTEN "listen: [udp:127.0.0.1:5060]\n"

static void test_config_services_defaults(void **state)
{
	struct fx *f = *state;
	const struct config_auth *a;
	const struct config_registrar *r;
	const struct config_bans *b;

	assert_int_equal(load(f, LISTEN), 0);
	assert_int_equal(config_domain_count(f->cfg), 0);
	assert_null(config_domain_at(f->cfg, 0).p);
	a = config_auth(f->cfg);
	assert_int_equal(a->nonce_lifetime_s, 300);
	assert_true(a->is_md5_offered && !a->is_sha256_offered);
	assert_int_equal(a->challenge_methods,
			 1u << SIP_METHOD_INVITE | 1u << SIP_METHOD_MESSAGE |
			     1u << SIP_METHOD_SUBSCRIBE |
			     1u << SIP_METHOD_REFER | 1u << SIP_METHOD_PUBLISH);
	r = config_registrar(f->cfg);
	assert_int_equal(r->min_expires_s, 60);
	assert_int_equal(r->max_expires_s, 3600);
	assert_int_equal(r->default_expires_s, 3600);
	assert_int_equal(r->max_bindings, 10);
	assert_int_equal(r->max_aors, 0);
	assert_int_equal(r->keepalive, CONFIG_KEEPALIVE_NONE);
	assert_int_equal(r->keepalive_interval_s, 30);
	b = config_bans(f->cfg);
	assert_int_equal(b->failures_per_ip, 10);
	assert_int_equal(b->failures_per_user, 20);
	assert_int_equal(b->window_s, 60);
	assert_int_equal(b->ban_s, 600);
	assert_int_equal(b->action, CONFIG_BAN_DROP);
	assert_int_equal(config_store(f->cfg)->flush_ms, 100);
	assert_string_equal(config_keepalive_name(CONFIG_KEEPALIVE_CRLF),
			    "crlf");
}

static void test_config_services_keys(void **state)
{
	struct fx *f = *state;
	const struct config_registrar *r;
	const struct config_bans *b;

	assert_int_equal(load(f, LISTEN "domains:\n"
					"  - Example.COM\n"
					"  - sip.example.org\n"
					"  - 192.0.2.7\n"
					"  - \"[2001:DB8::1]\"\n"
					"auth:\n"
					"  nonce_lifetime_s: 60\n"
					"  algorithms: [SHA-256]\n"
					"  challenge_methods: [INVITE, BYE]\n"
					"registrar:\n"
					"  min_expires_s: 30\n"
					"  max_expires_s: 7200\n"
					"  default_expires_s: 600\n"
					"  max_bindings: 3\n"
					"  max_aors: 100000\n"
					"  keepalive: options\n"
					"  keepalive_interval_s: 25\n"
					"bans:\n"
					"  failures_per_ip: 5\n"
					"  failures_per_user: 7\n"
					"  window_s: 30\n"
					"  ban_s: 900\n"
					"  action: 403\n"
					"store:\n"
					"  flush_ms: 250\n"),
			 0);
	assert_int_equal(config_domain_count(f->cfg), 4);
	assert_true(slice_eq(config_domain_at(f->cfg, 0), SL("example.com")));
	assert_true(
	    slice_eq(config_domain_at(f->cfg, 1), SL("sip.example.org")));
	assert_true(slice_eq(config_domain_at(f->cfg, 2), SL("192.0.2.7")));
	assert_true(slice_eq(config_domain_at(f->cfg, 3), SL("[2001:db8::1]")));
	assert_int_equal(config_auth(f->cfg)->nonce_lifetime_s, 60);
	assert_false(config_auth(f->cfg)->is_md5_offered);
	assert_true(config_auth(f->cfg)->is_sha256_offered);
	assert_int_equal(config_auth(f->cfg)->challenge_methods,
			 1u << SIP_METHOD_INVITE | 1u << SIP_METHOD_BYE);
	r = config_registrar(f->cfg);
	assert_int_equal(r->min_expires_s, 30);
	assert_int_equal(r->max_expires_s, 7200);
	assert_int_equal(r->default_expires_s, 600);
	assert_int_equal(r->max_bindings, 3);
	assert_int_equal(r->max_aors, 100000);
	assert_int_equal(r->keepalive, CONFIG_KEEPALIVE_OPTIONS);
	assert_int_equal(r->keepalive_interval_s, 25);
	b = config_bans(f->cfg);
	assert_int_equal(b->failures_per_ip, 5);
	assert_int_equal(b->failures_per_user, 7);
	assert_int_equal(b->window_s, 30);
	assert_int_equal(b->ban_s, 900);
	assert_int_equal(b->action, CONFIG_BAN_403);
	assert_int_equal(config_store(f->cfg)->flush_ms, 250);
	f->cfg = config_unref(f->cfg);

	/* Quoted "403", drop, an empty method list, empty sections. */
	assert_int_equal(load(f, LISTEN "bans: {action: \"403\"}\n"
					"auth: {challenge_methods: []}\n"
					"registrar:\nstore:\ndomains: []\n"),
			 0);
	assert_int_equal(config_bans(f->cfg)->action, CONFIG_BAN_403);
	assert_int_equal(config_auth(f->cfg)->challenge_methods, 0);
	assert_int_equal(config_domain_count(f->cfg), 0);
	f->cfg = config_unref(f->cfg);
	assert_int_equal(load(f, LISTEN "bans: {action: drop}\n"), 0);
	assert_int_equal(config_bans(f->cfg)->action, CONFIG_BAN_DROP);
}

static void test_config_services_errors(void **state)
{
	struct fx *f = *state;

	assert_fails(f, LISTEN "domains: example.com\n",
		     "test.yaml:2:1: domains: must be a list of domain "
		     "names, not a string");
	assert_fails(f, LISTEN "domains: [ok.com, \"bad domain\"]\n",
		     "test.yaml:2:19: domains[1]: must be a host name, an "
		     "IPv4 address or an [IPv6] address");
	assert_fails(f, LISTEN "domains: [a.com, A.com]\n",
		     "test.yaml:2:18: domains[1]: duplicate of domains[0]");
	assert_fails(f, LISTEN "domains: [\"[::g]\"]\n",
		     "domains[0]: must be a host name");
	assert_fails(f, LISTEN "domains: [a..b]\n",
		     "domains[0]: must be a host name");
	assert_fails(f, LISTEN "auth:\n  algorithms: [md5, sha1]\n",
		     "test.yaml:3:21: auth.algorithms[1]: must be md5 or "
		     "sha-256");
	assert_fails(f, LISTEN "auth:\n  algorithms: []\n",
		     "test.yaml:3:3: auth.algorithms: at least one of md5 "
		     "and sha-256 is needed");
	assert_fails(f, LISTEN "auth:\n  nonce_lifetime_s: 5\n",
		     "auth.nonce_lifetime_s: must be between 10 and 86400");
	assert_fails(f, LISTEN "auth:\n  challenge_methods: [REGISTER]\n",
		     "auth.challenge_methods[0]: REGISTER is always "
		     "challenged (with 401); leave it out");
	assert_fails(f, LISTEN "auth:\n  challenge_methods: [ACK]\n",
		     "auth.challenge_methods[0]: ACK cannot be challenged "
		     "(RFC 3261 22.1)");
	assert_fails(f, LISTEN "auth:\n  challenge_methods: [CANCEL]\n",
		     "CANCEL cannot be challenged");
	assert_fails(f, LISTEN "auth:\n  challenge_methods: [invite]\n",
		     "auth.challenge_methods[0]: unknown method \"invite\"");
	assert_fails(f, LISTEN "auth:\n  x: 1\n",
		     "test.yaml:3:3: auth.x: unknown key (known keys: "
		     "nonce_lifetime_s, algorithms, challenge_methods, check_from)");
	assert_fails(f, LISTEN "registrar:\n  max_bindings: 0\n",
		     "registrar.max_bindings: must be between 1 and 256");
	assert_fails(f, LISTEN "registrar:\n  keepalive: sometimes\n",
		     "test.yaml:3:3: registrar.keepalive: must be one of "
		     "none, options, crlf");
	assert_fails(f, LISTEN "registrar:\n  min_expires_s: 4000\n",
		     "test.yaml:2:1: registrar.default_expires_s: must not "
		     "be smaller than registrar.min_expires_s (4000)");
	assert_fails(f, LISTEN "registrar:\n  max_expires_s: 600\n",
		     "test.yaml:2:1: registrar.max_expires_s: must not be "
		     "smaller than registrar.default_expires_s (3600)");
	assert_fails(f, LISTEN "bans:\n  action: 404\n",
		     "test.yaml:3:3: bans.action: must be a string, not a "
		     "number");
	assert_fails(f, LISTEN "bans:\n  action: reject\n",
		     "bans.action: must be drop or 403");
	assert_fails(f, LISTEN "bans:\n  failures_per_ip: 0\n",
		     "bans.failures_per_ip: must be between 1 and 1000000");
	assert_fails(f, LISTEN "store:\n  flush_ms: 0\n",
		     "store.flush_ms: must be between 1 and 60000");
	assert_fails(f, LISTEN "stores: {}\n", "stores: unknown key");
}

/* Fail the Nth allocation for N = 0, 1, ...: each fails with -ENOMEM. */
static void test_config_services_oom(void **state)
{
	struct fx *f = *state;
	int rc = -ENOMEM;

	for (int64_t n = 0; rc == -ENOMEM && n < 100; n++) {
		sb_mem_fail_after(n);
		rc = load(f, LISTEN "domains: [a.com, b.com, c.com]\n");
		sb_mem_fail_after(-1);
		if (rc == -ENOMEM) {
			assert_null(f->cfg);
			assert_int_equal(sb_live_get(SB_LIVE_ALLOC),
					 f->live_alloc);
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(config_domain_count(f->cfg), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_services_defaults,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_services_keys, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_services_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_config_services_oom, setup,
					    teardown),
	};

	return cmocka_run_group_tests_name("config_services", tests, NULL,
					   NULL);
}
