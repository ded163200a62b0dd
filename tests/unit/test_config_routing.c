/* Unit tests: the `proxy` and `dns` config sections and auth.check_from. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config_fx.h"

#define LISTEN "listen: [udp:127.0.0.1:5060]\n"

static void test_defaults(void **state)
{
	struct fx *f = *state;
	const struct config_proxy *p;
	const struct config_dns *d;

	assert_int_equal(load(f, LISTEN), 0);
	p = config_proxy(f->cfg);
	assert_true(p->is_record_route);
	assert_int_equal(p->foreign, CONFIG_FOREIGN_REFUSE);
	assert_null(p->outbound_proxy);
	assert_int_equal(p->ring_timeout_s, 60);
	assert_int_equal(p->serial_timeout_s, 15);
	assert_int_equal(p->redirect, CONFIG_REDIRECT_RELAY);
	assert_int_equal(p->max_branches, 16);
	d = config_dns(f->cfg);
	assert_int_equal(d->nservers, 0);
	assert_int_equal(d->timeout_ms, 2000);
	assert_int_equal(d->tries, 2);
	assert_false(d->is_ipv6);
	assert_true(config_auth(f->cfg)->is_from_checked);
}

static void test_keys(void **state)
{
	struct fx *f = *state;
	const struct config_proxy *p;
	const struct config_dns *d;

	assert_int_equal(load(f, LISTEN
			      "proxy:\n"
			      "  record_route: false\n"
			      "  foreign_domains: forward\n"
			      "  outbound_proxy: "
			      "\"sip:edge.example.org;transport=tcp\"\n"
			      "  ring_timeout_s: 5\n"
			      "  serial_timeout_s: 2\n"
			      "  redirect: recurse\n"
			      "  max_branches: 4\n"
			      "dns:\n"
			      "  servers: [127.0.0.1:5353, \"[::1]:53\", "
			      "192.0.2.53]\n"
			      "  timeout_ms: 300\n"
			      "  tries: 1\n"
			      "  cache_max: 10\n"
			      "  ipv6: true\n"
			      "auth:\n"
			      "  check_from: false\n"),
			 0);
	p = config_proxy(f->cfg);
	assert_false(p->is_record_route);
	assert_int_equal(p->foreign, CONFIG_FOREIGN_FORWARD);
	assert_string_equal(p->outbound_proxy,
			    "sip:edge.example.org;transport=tcp");
	assert_int_equal(p->ring_timeout_s, 5);
	assert_int_equal(p->serial_timeout_s, 2);
	assert_int_equal(p->redirect, CONFIG_REDIRECT_RECURSE);
	assert_int_equal(p->max_branches, 4);
	d = config_dns(f->cfg);
	assert_int_equal(d->nservers, 3);
	assert_string_equal(d->servers[0], "127.0.0.1:5353");
	assert_string_equal(d->servers[1], "[::1]:53");
	assert_string_equal(d->servers[2], "192.0.2.53");
	assert_int_equal(d->timeout_ms, 300);
	assert_int_equal(d->tries, 1);
	assert_int_equal(d->cache_max, 10);
	assert_true(d->is_ipv6);
	assert_false(config_auth(f->cfg)->is_from_checked);
}

static void test_errors(void **state)
{
	struct fx *f = *state;

	assert_fails(f, LISTEN "proxy:\n  foreign_domains: maybe\n",
		     "test.yaml:3:3: proxy.foreign_domains: must be refuse or "
		     "forward");
	assert_fails(f, LISTEN "proxy:\n  outbound_proxy: \"http://x\"\n",
		     "proxy.outbound_proxy: must be a sip: or sips: URI");
	assert_fails(f, LISTEN "proxy:\n  outbound_proxy: \"sip:\"\n",
		     "proxy.outbound_proxy: must be a sip: or sips: URI");
	assert_fails(f, LISTEN "proxy:\n  ring_timeout_s: 0\n",
		     "proxy.ring_timeout_s");
	assert_fails(f, LISTEN "proxy:\n  redirect: follow\n",
		     "proxy.redirect: must be relay or recurse");
	assert_fails(f, LISTEN "proxy:\n  max_branches: 65\n",
		     "proxy.max_branches");
	assert_fails(f, LISTEN "proxy:\n  nope: 1\n",
		     "proxy.nope: unknown key");
	assert_fails(f, LISTEN "dns:\n  servers: [dns.example.org]\n",
		     "test.yaml:3:13: dns.servers[0]: must be an IP address");
	assert_fails(f, LISTEN "dns:\n  servers: [\"127.0.0.1:0\"]\n",
		     "dns.servers[0]: must be an IP address");
	assert_fails(f, LISTEN "dns:\n  servers: [\"[::1\"]\n",
		     "dns.servers[0]");
	assert_fails(f,
		     LISTEN "dns:\n  servers: [1.1.1.1, 1.1.1.2, 1.1.1.3, "
			    "1.1.1.4, 1.1.1.5]\n",
		     "dns.servers[4]: at most 4 servers");
	assert_fails(f, LISTEN "dns:\n  servers: 1.1.1.1\n",
		     "dns.servers: must be a list");
	assert_fails(f, LISTEN "auth:\n  check_from: maybe\n",
		     "auth.check_from");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
