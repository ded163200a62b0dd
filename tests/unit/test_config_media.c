/* Unit tests: the `media` config section, routes[].media and --media. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "config_fx.h"

#define LISTEN "listen: [udp:127.0.0.5:5060]\n"

static void test_media_defaults(void **state)
{
	struct fx *f = *state;
	const struct config_media *m;
	char ip[INET_ADDRSTRLEN];

	assert_int_equal(load(f, LISTEN), 0);
	m = config_media(f->cfg);
	assert_int_equal(m->policy.mode, CONFIG_MEDIA_ANCHOR);
	assert_true(m->policy.keep_dtmf);
	assert_int_equal(m->policy.dtmf, CONFIG_DTMF_RELAY);
	assert_false(m->policy.is_recorded);
	assert_int_equal(m->port_min, 20000);
	assert_int_equal(m->port_max, 39999);
	assert_int_equal(m->timeout_s, 60);
	assert_int_equal(m->hold_timeout_s, 0);
	assert_int_equal(m->latch_window_ms, 10000);
	/* RTP binds on the first listener's address */
	assert_int_equal(m->bind4.ss_family, AF_INET);
	inet_ntop(AF_INET, &((const struct sockaddr_in *)&m->bind4)->sin_addr,
		  ip, sizeof(ip));
	assert_string_equal(ip, "127.0.0.5");
	assert_int_equal(m->bind6.ss_family, AF_UNSPEC);
	assert_non_null(strstr(m->record_dir, "/recordings"));
}

static void test_media_section(void **state)
{
	struct fx *f = *state;
	const struct config_media *m;

	assert_int_equal(load(f, LISTEN
			      "media:\n"
			      "  mode: bypass\n"
			      "  address: 127.0.0.9\n"
			      "  address6: \"::1\"\n"
			      "  advertise: 203.0.113.7\n"
			      "  ports: 40000-40999\n"
			      "  timeout_s: 30\n"
			      "  hold_timeout_s: 3600\n"
			      "  latch_window_ms: 2000\n"
			      "  codecs: {allow: [PCMA, pcmu], strip: [G729], "
			      "keep_dtmf: false}\n"
			      "  dtmf: info\n"
			      "  record: true\n"
			      "  record_dir: /var/rec\n"),
			 0);
	m = config_media(f->cfg);
	assert_int_equal(m->policy.mode, CONFIG_MEDIA_BYPASS);
	assert_string_equal(m->advertise4, "203.0.113.7");
	assert_int_equal(m->bind6.ss_family, AF_INET6);
	assert_int_equal(m->port_min, 40000);
	assert_int_equal(m->port_max, 40999);
	assert_int_equal(m->timeout_s, 30);
	assert_int_equal(m->hold_timeout_s, 3600);
	assert_int_equal(m->latch_window_ms, 2000);
	assert_int_equal(m->policy.nallow, 2);
	assert_string_equal(m->policy.allow[1], "pcmu");
	assert_int_equal(m->policy.nstrip, 1);
	assert_false(m->policy.keep_dtmf);
	assert_int_equal(m->policy.dtmf, CONFIG_DTMF_INFO);
	assert_true(m->policy.is_recorded);
	assert_string_equal(m->record_dir, "/var/rec");
}

static void test_route_policy_overrides_fields(void **state)
{
	struct fx *f = *state;
	struct config_media_policy p;
	const struct config_route *r;

	assert_int_equal(
	    load(f, LISTEN
		 "media: {codecs: {allow: [PCMU]}, record: true}\n"
		 "routes:\n"
		 "  - name: trunk\n"
		 "    match: {user_prefix: \"00\"}\n"
		 "    media: {mode: bypass, dtmf: info}\n"
		 "  - name: g729\n"
		 "    media: {codecs: {allow: [G729]}, record: false}\n"),
	    0);
	r = config_route_match(f->cfg, SL("0044"), SL("x"));
	assert_non_null(r);
	config_media_policy(f->cfg, r, &p);
	assert_int_equal(p.mode, CONFIG_MEDIA_BYPASS);
	assert_int_equal(p.dtmf, CONFIG_DTMF_INFO);
	assert_true(p.is_recorded); /* the section's */
	assert_int_equal(p.nallow, 1);
	assert_string_equal(p.allow[0], "PCMU");
	r = config_route_match(f->cfg, SL("1234"), SL("x"));
	config_media_policy(f->cfg, r, &p);
	assert_int_equal(p.mode, CONFIG_MEDIA_ANCHOR);
	assert_string_equal(p.allow[0], "G729");
	assert_false(p.is_recorded);
	config_media_policy(f->cfg, NULL, &p);
	assert_string_equal(p.allow[0], "PCMU");
}

static void test_media_override(void **state)
{
	struct fx *f = *state;
	struct config_overrides ov = {.media = "bypass"};

	assert_int_equal(load_ov(f, LISTEN "media: {mode: anchor}\n", &ov), 0);
	assert_int_equal(config_media(f->cfg)->policy.mode,
			 CONFIG_MEDIA_BYPASS);
	f->cfg = config_unref(f->cfg);
	ov.media = "relay";
	assert_int_equal(load_ov(f, LISTEN, &ov), -EINVAL);
	assert_non_null(strstr(f->err.msg, "--media"));
}

static void test_media_errors(void **state)
{
	struct fx *f = *state;

	assert_fails(f, LISTEN "media: {mode: relay}\n",
		     "test.yaml:2:9: media.mode: must be");
	assert_fails(f, LISTEN "media: {ports: 100-200}\n", "media.ports");
	assert_fails(f, LISTEN "media: {ports: 30000-30001}\n", "media.ports");
	assert_fails(f, LISTEN "media: {ports: \"3-x\"}\n", "media.ports");
	assert_fails(f, LISTEN "media: {address: \"::1\"}\n", "media.address");
	assert_fails(f, LISTEN "media: {address6: \"[::1]\"}\n",
		     "media.address6");
	assert_fails(f, LISTEN "media: {advertise6: 192.0.2.1}\n",
		     "media.advertise6");
	assert_fails(f, LISTEN "media: {advertise: pbx.example.com}\n",
		     "media.advertise");
	assert_fails(f, LISTEN "media: {timeout_s: 100000}\n",
		     "media.timeout_s");
	assert_fails(f, LISTEN "media: {codecs: {allow: PCMU}}\n",
		     "media.codecs.allow");
	assert_fails(f, LISTEN "media: {codecs: {allow: [\"PC MU\"]}}\n",
		     "media.codecs.allow[0]");
	assert_fails(f, LISTEN "media: {dtmf: inband}\n", "media.dtmf");
	assert_fails(f, LISTEN "media: {colour: blue}\n", "media.colour");
	assert_fails(f, LISTEN "routes:\n  - name: x\n    media: {ports: 1}\n",
		     "routes[0].media.ports");
	/* a wildcard listener cannot be advertised in SDP */
	assert_fails(f, "listen: [udp:0.0.0.0:5060]\n", "media.address");
}

static void test_wildcard_ok_when_bypass_or_advertised(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    load(f, "listen: [udp:0.0.0.0:5060]\nmedia: {mode: bypass}\n"), 0);
	f->cfg = config_unref(f->cfg);
	assert_int_equal(load(f, "listen: [udp:0.0.0.0:5060]\n"
				 "media: {advertise: 198.51.100.2}\n"),
			 0);
	assert_string_equal(config_media(f->cfg)->advertise4, "198.51.100.2");
}

static uint16_t port_of(const struct sockaddr_storage *sa)
{
	return ntohs(sa->ss_family == AF_INET6
			 ? ((const struct sockaddr_in6 *)sa)->sin6_port
			 : ((const struct sockaddr_in *)sa)->sin_port);
}

static void test_rtpengine(void **state)
{
	struct fx *f = *state;
	const struct config_rtpengine *r;
	struct config_media_policy p;
	struct config_overrides ov = {.media = "rtpengine"};

	assert_int_equal(
	    load(f, LISTEN
		 "media:\n"
		 "  mode: rtpengine\n"
		 "  rtpengine:\n"
		 "    servers: [\"127.0.0.1:2223\", \"udp:[::1]:22222\", "
		 "10.0.0.1, \"::2\"]\n"
		 "    timeout_ms: 200\n"
		 "    tries: 2\n"
		 "    disable_s: 5\n"
		 "    flags: [strict-source, \"trust address\"]\n"
		 "routes:\n  - name: x\n    media: {mode: anchor}\n"),
	    0);
	r = &config_media(f->cfg)->rtpengine;
	assert_int_equal(config_media(f->cfg)->policy.mode,
			 CONFIG_MEDIA_RTPENGINE);
	assert_string_equal(config_media_mode_name(CONFIG_MEDIA_RTPENGINE),
			    "rtpengine");
	assert_int_equal(r->nservers, 4);
	assert_int_equal(r->servers[0].ss_family, AF_INET);
	assert_int_equal(port_of(&r->servers[0]), 2223);
	assert_int_equal(r->servers[1].ss_family, AF_INET6);
	assert_int_equal(port_of(&r->servers[1]), 22222);
	assert_int_equal(port_of(&r->servers[2]), 2223); /* the usual one */
	assert_int_equal(r->servers[3].ss_family, AF_INET6);
	assert_int_equal(port_of(&r->servers[3]), 2223);
	assert_int_equal(r->timeout_ms, 200);
	assert_int_equal(r->tries, 2);
	assert_int_equal(r->disable_s, 5);
	assert_int_equal(r->nflags, 2);
	assert_string_equal(r->flags[1], "trust address");
	config_media_policy(f->cfg,
			    config_route_match(f->cfg, SL("1"), SL("x")), &p);
	assert_int_equal(p.mode, CONFIG_MEDIA_ANCHOR);
	f->cfg = config_unref(f->cfg);
	/* --media rtpengine needs servers too */
	assert_int_equal(load_ov(f, LISTEN, &ov), -EINVAL);
	assert_non_null(strstr(f->err.msg, "--media"));
	assert_non_null(strstr(f->err.msg, "media.rtpengine.servers"));
	f->cfg = config_unref(f->cfg);
	assert_int_equal(
	    load_ov(f, LISTEN "media: {rtpengine: {servers: [127.0.0.1]}}\n",
		    &ov),
	    0);
	assert_int_equal(config_media(f->cfg)->policy.mode,
			 CONFIG_MEDIA_RTPENGINE);
}

static void test_rtpengine_errors(void **state)
{
	struct fx *f = *state;

	assert_fails(f, LISTEN "media: {mode: rtpengine}\n",
		     "test.yaml:2:9: media.mode: is rtpengine but");
	assert_fails(
	    f, LISTEN "routes:\n  - name: x\n    media: {mode: rtpengine}\n",
	    "routes[0].media.mode: is rtpengine");
	assert_fails(f,
		     LISTEN "media: {mode: rtpengine, dtmf: info, rtpengine: "
			    "{servers: [127.0.0.1]}}\n",
		     "media.dtmf: info needs the local relay");
	assert_fails(f,
		     LISTEN "media: {dtmf: info, rtpengine: {servers: "
			    "[127.0.0.1]}}\nroutes:\n  - name: x\n    media: "
			    "{mode: rtpengine}\n",
		     "routes[0].media.dtmf");
	assert_fails(f, LISTEN "media: {rtpengine: {servers: []}}\n",
		     "media.rtpengine.servers: must name at least one");
	assert_fails(f, LISTEN "media: {rtpengine: {servers: 127.0.0.1}}\n",
		     "media.rtpengine.servers: must be a list");
	assert_fails(
	    f, LISTEN "media: {rtpengine: {servers: [rtpe.example.com]}}\n",
	    "media.rtpengine.servers[0]");
	assert_fails(f,
		     LISTEN "media: {rtpengine: {servers: [\"1.2.3.4:0\"]}}\n",
		     "media.rtpengine.servers[0]");
	assert_fails(f, LISTEN "media: {rtpengine: {servers: [\"[::1\"]}}\n",
		     "media.rtpengine.servers[0]");
	assert_fails(f, LISTEN "media: {rtpengine: {timeout_ms: 1}}\n",
		     "media.rtpengine.timeout_ms");
	assert_fails(f, LISTEN "media: {rtpengine: {tries: 0}}\n",
		     "media.rtpengine.tries");
	assert_fails(f, LISTEN "media: {rtpengine: {flags: [\"a;b\"]}}\n",
		     "media.rtpengine.flags[0]");
	assert_fails(f, LISTEN "media: {rtpengine: {port: 1}}\n",
		     "media.rtpengine.port");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_media_defaults, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_media_section, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_route_policy_overrides_fields,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_media_override, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_media_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_wildcard_ok_when_bypass_or_advertised, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rtpengine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rtpengine_errors, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
