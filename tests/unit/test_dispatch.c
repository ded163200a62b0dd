/* Unit tests for the dispatcher (services/dispatch): domains and the shield. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "services/dispatch/dispatch.h"

struct fx {
	int64_t live_alloc;
	struct config *cfg;
	struct auth_ctx *auth;
	struct ban *ban;
	struct registrar *reg;
	struct local *local;
	struct dispatch *d;
};

static struct config *load(const char *text)
{
	struct config_err err;
	struct config *c = NULL;

	if (config_load_string("test.yaml", text, strlen(text), NULL, &c,
			       &err) != 0)
		fail_msg("%s", err.msg);
	return c;
}

static int setup(void **state)
{
	static struct fx f;
	struct registrar_opts ro = registrar_opts_default();
	struct ban_opts bo = {.src_threshold = 2};
	struct dispatch_deps deps;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.cfg = load("listen:\n"
		     "  - udp:192.0.2.1:5060\n"
		     "  - \"udp:[2001:db8::5]:5060\"\n"
		     "  - udp:0.0.0.0:5080;advertise=sip.example.net\n"
		     "  - udp:198.51.100.9:5090;advertise=203.0.113.4:5090\n"
		     "domains: [example.com, \"[2001:db8::7]\"]\n"
		     "bans: {action: 403}\n");
	assert_int_equal(auth_ctx_new(NULL, &f.auth), 0);
	assert_int_equal(ban_new(&bo, &f.ban), 0);
	assert_int_equal(registrar_new(&ro, &f.reg), 0);
	assert_int_equal(local_new(NULL, f.cfg, &f.local), 0);
	deps = (struct dispatch_deps){f.auth, f.ban, f.reg};
	assert_int_equal(dispatch_new(&deps, f.local, f.cfg, &f.d), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->d = dispatch_free(f->d);
	f->local = local_free(f->local);
	f->reg = registrar_free(f->reg);
	f->ban = ban_free(f->ban);
	f->auth = auth_ctx_free(f->auth);
	f->cfg = config_unref(f->cfg);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static bool is_local(const struct fx *f, const char *host)
{
	return dispatch_is_local_domain(f->cfg, slice_cstr(host));
}

static void test_dispatch_local_domains(void **state)
{
	struct fx *f = *state;

	/* The `domains` list, case-insensitive; IPv6 as addresses. */
	assert_true(is_local(f, "example.com"));
	assert_true(is_local(f, "EXAMPLE.com"));
	assert_true(is_local(f, "[2001:db8:0::7]"));
	assert_false(is_local(f, "www.example.com"));
	assert_false(is_local(f, "example.co"));
	/* The listeners' bound addresses, but never an unspecified one. */
	assert_true(is_local(f, "192.0.2.1"));
	assert_true(is_local(f, "[2001:DB8::5]"));
	assert_false(is_local(f, "0.0.0.0"));
	assert_false(is_local(f, "192.0.2.2"));
	/* Advertised hosts, names and addresses. */
	assert_true(is_local(f, "sip.example.net"));
	assert_true(is_local(f, "Sip.Example.Net"));
	assert_true(is_local(f, "203.0.113.4"));
	assert_true(is_local(f, "198.51.100.9"));
	assert_false(is_local(f, ""));
	assert_false(is_local(f, "[::1]"));
}

/* Parse text as a message in a; fails the test when it does not parse. */
static struct sip_msg *parse(struct arena *a, char *text)
{
	static struct sip_msg m;
	struct sb_limits lim = sb_limits_default();
	struct sip_perr perr;

	assert_int_equal(sip_msg_parse(&m, a, text, strlen(text),
				       SIP_FRAMING_DATAGRAM, &lim, &perr),
			 0);
	return &m;
}

static struct sip_flow flow_from(const char *ip)
{
	struct sip_flow fl;

	memset(&fl, 0, sizeof(fl));
	fl.tp = SIP_TP_UDP;
	fl.remote.in.sin_family = AF_INET;
	fl.remote.in.sin_port = htons(5062);
	inet_pton(AF_INET, ip, &fl.remote.in.sin_addr);
	fl.remote.len = sizeof(fl.remote.in);
	return fl;
}

static void test_dispatch_screen_bans(void **state)
{
	struct fx *f = *state;
	char text[] = "OPTIONS sip:192.0.2.1 SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP 198.51.100.1:5062;branch=z9hG4bKx1\r\n"
		      "From: <sip:a@example.com>;tag=1\r\n"
		      "To: <sip:192.0.2.1>\r\nCall-ID: c1\r\n"
		      "CSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	char ack[] = "ACK sip:192.0.2.1 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 198.51.100.1:5062;branch=z9hG4bKx2\r\n"
		     "From: <sip:a@example.com>;tag=1\r\n"
		     "To: <sip:192.0.2.1>;tag=2\r\nCall-ID: c1\r\n"
		     "CSeq: 7 ACK\r\nContent-Length: 0\r\n\r\n";
	struct sip_flow bad = flow_from("198.51.100.1"),
			good = flow_from("198.51.100.2");
	int64_t now = (int64_t)time(NULL);
	struct arena a;
	struct sip_msg *m;
	struct buf out, again;

	arena_init(&a, NULL, 0, 0);
	buf_init(&out, 4096);
	buf_init(&again, 4096);
	m = parse(&a, text);
	assert_int_equal(dispatch_screen(f->d, m, &bad), DISPATCH_PASS);
	ban_fail(f->ban, &bad.remote.sa, SL("alice"), now);
	assert_true(ban_fail(f->ban, &bad.remote.sa, SL("alice"), now));
	/* bans.action 403: a request is refused, statelessly. */
	assert_int_equal(dispatch_screen(f->d, m, &bad), DISPATCH_REFUSE);
	assert_int_equal(dispatch_screen(f->d, m, &good), DISPATCH_PASS);
	assert_int_equal(dispatch_refusal(f->d, m, SL(";received=x"), &out), 0);
	assert_non_null(
	    memmem(out.p, out.len, "SIP/2.0 403 Forbidden\r\n", 23));
	assert_non_null(
	    memmem(out.p, out.len, "To: <sip:192.0.2.1>;tag=sb", 26));
	/* A retransmission gets the same To tag (RFC 3261 8.2.6.2). */
	assert_int_equal(dispatch_refusal(f->d, m, SL(""), &again), 0);
	assert_non_null(memmem(again.p, again.len,
			       memmem(out.p, out.len, "tag=sb", 6), 14));
	/* ACKs, responses and what did not parse are dropped. */
	assert_int_equal(dispatch_screen(f->d, NULL, &bad), DISPATCH_DROP);
	m = parse(&a, ack);
	assert_int_equal(dispatch_screen(f->d, m, &bad), DISPATCH_DROP);
	assert_int_equal(dispatch_stats(f->d)->banned_refused, 1);
	assert_int_equal(dispatch_stats(f->d)->banned_dropped, 2);
	buf_close(&again);
	buf_close(&out);
	arena_close(&a);
}

static void test_dispatch_new_needs_deps(void **state)
{
	struct fx *f = *state;
	struct dispatch_deps deps = {f->auth, NULL, f->reg};
	struct dispatch *d = NULL;

	assert_int_equal(dispatch_new(&deps, f->local, f->cfg, &d), -EINVAL);
	assert_null(d);
	deps.ban = f->ban;
	sb_mem_fail_after(0);
	assert_int_equal(dispatch_new(&deps, f->local, f->cfg, &d), -ENOMEM);
	sb_mem_fail_after(-1);
	assert_null(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dispatch_local_domains, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dispatch_screen_bans, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dispatch_new_needs_deps, setup,
					    teardown),
	};

	return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
