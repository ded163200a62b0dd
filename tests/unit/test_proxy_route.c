/* Unit tests: the proxy's routing helpers (RFC 3261 16.3, 16.4). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "services/proxy/proxy_int.h"

static const char cfg_text[] = "listen: [udp:127.0.0.1:5060, "
			       "tcp:127.0.0.1:5060]\n"
			       "domains: [example.com]\n";

struct fx {
	int64_t live_alloc;
	struct config *cfg;
	struct arena arena;
	struct sb_limits lim;
	struct sip_msg msg;
	struct buf out;
	char raw[2048];
};

static int setup(void **state)
{
	static struct fx f;
	struct config_err err;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	assert_int_equal(config_load_string("t.yaml", cfg_text,
					    strlen(cfg_text), NULL, &f.cfg,
					    &err),
			 0);
	f.lim = sb_limits_default();
	arena_init(&f.arena, NULL, 0, 0);
	buf_init(&f.out, 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	buf_close(&f->out);
	arena_close(&f->arena);
	f->cfg = config_unref(f->cfg);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static struct sip_uri uri(const char *text)
{
	struct sb_limits lim = sb_limits_default();
	struct sip_uri u;

	assert_int_equal(sip_uri_parse(slice_cstr(text), &u, &lim), 0);
	return u;
}

/* A request with the given Request-URI and extra header lines. */
static struct sip_msg *parse(struct fx *f, const char *ruri, const char *extra)
{
	struct sip_perr perr;
	int n = snprintf(f->raw, sizeof(f->raw),
			 "INVITE %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bKabc\r\n"
			 "%s"
			 "From: <sip:a@example.com>;tag=1\r\n"
			 "To: <sip:b@example.com>\r\n"
			 "Call-ID: c1\r\nCSeq: 1 INVITE\r\n"
			 "Content-Length: 0\r\n\r\n",
			 ruri, extra);

	assert_true(n > 0 && (size_t)n < sizeof(f->raw));
	assert_int_equal(sip_msg_parse(&f->msg, &f->arena, f->raw, (size_t)n,
				       SIP_FRAMING_DATAGRAM, &f->lim, &perr),
			 0);
	return &f->msg;
}

/* proxy_routes on m, printed into f->out. */
static void routes(struct fx *f, struct sip_msg *m, const struct sip_uri **ru,
		   const struct sip_nameaddr **next, bool *had_self)
{
	struct sip_patchset ps;

	sip_patchset_init(&ps, m, &f->arena, NULL);
	assert_int_equal(proxy_routes(f->cfg, m, &ps, ru, next, had_self), 0);
	buf_reset(&f->out);
	assert_int_equal(sip_msg_print(&ps, &f->out), 0);
	assert_int_equal(buf_append(&f->out, "", 1), 0);
}

static void test_self_needs_address_and_port(void **state)
{
	struct fx *f = *state;
	struct sip_uri u;

	u = uri("sip:127.0.0.1");
	assert_true(proxy_uri_is_self(f->cfg, &u));
	u = uri("sip:127.0.0.1:5060;transport=tcp;lr");
	assert_true(proxy_uri_is_self(f->cfg, &u));
	u = uri("sip:127.0.0.1:5070");
	assert_false(proxy_uri_is_self(f->cfg, &u));
	u = uri("sips:127.0.0.1"); /* 5061: no listener there */
	assert_false(proxy_uri_is_self(f->cfg, &u));
	u = uri("sip:EXAMPLE.com;lr");
	assert_true(proxy_uri_is_self(f->cfg, &u));
	u = uri("sip:example.com:7000");
	assert_false(proxy_uri_is_self(f->cfg, &u));
	u = uri("sip:127.0.0.2");
	assert_false(proxy_uri_is_self(f->cfg, &u));
}

static void test_local_domain(void **state)
{
	struct fx *f = *state;
	struct sip_uri u;

	u = uri("sip:bob@example.com:9999");
	assert_true(proxy_uri_is_local(f->cfg, &u));
	u = uri("sip:bob@127.0.0.1");
	assert_true(proxy_uri_is_local(f->cfg, &u));
	/* a UA on our address but another port is not us */
	u = uri("sip:bob@127.0.0.1:5072");
	assert_false(proxy_uri_is_local(f->cfg, &u));
	u = uri("sip:bob@example.org");
	assert_false(proxy_uri_is_local(f->cfg, &u));
}

static void test_own_route_removed(void **state)
{
	struct fx *f = *state;
	const struct sip_nameaddr *next;
	const struct sip_uri *ru;
	bool had_self;
	struct sip_msg *m =
	    parse(f, "sip:bob@10.0.0.5:5080",
		  "Route: <sip:127.0.0.1:5060;lr>, <sip:10.0.0.1;lr>\r\n");

	routes(f, m, &ru, &next, &had_self);
	assert_true(had_self);
	assert_ptr_equal(ru, &m->ruri);
	assert_non_null(next);
	assert_true(slice_eq(next->uri.raw, SL("sip:10.0.0.1;lr")));
	assert_non_null(strstr(f->out.p, "\r\nRoute: <sip:10.0.0.1;lr>\r\n"));
	assert_null(strstr(f->out.p, "127.0.0.1"));
}

static void test_double_record_route_pair_removed(void **state)
{
	struct fx *f = *state;
	const struct sip_nameaddr *next;
	const struct sip_uri *ru;
	bool had_self;
	struct sip_msg *m =
	    parse(f, "sip:bob@10.0.0.5:5080",
		  "Route: <sip:127.0.0.1:5060;transport=tcp;lr;r2=on>,"
		  " <sip:127.0.0.1:5060;lr;r2=on>\r\n");

	routes(f, m, &ru, &next, &had_self);
	assert_true(had_self);
	assert_null(next);
	assert_null(strstr(f->out.p, "Route"));

	/* the same pair on two lines, a foreign Route after them */
	arena_reset(&f->arena);
	m = parse(f, "sip:bob@10.0.0.5:5080",
		  "Route: <sip:127.0.0.1;transport=tcp;lr;r2=on>\r\n"
		  "Route: <sip:127.0.0.1;lr;r2=on>\r\n"
		  "Route: <sip:10.0.0.1;lr>\r\n");
	routes(f, m, &ru, &next, &had_self);
	assert_non_null(next);
	assert_null(strstr(f->out.p, "127.0.0.1"));
	assert_non_null(strstr(f->out.p, "Route: <sip:10.0.0.1;lr>"));
}

static void test_strict_router_fixed(void **state)
{
	struct fx *f = *state;
	const struct sip_nameaddr *next;
	const struct sip_uri *ru;
	bool had_self;
	struct sip_msg *m = parse(f, "sip:127.0.0.1:5060",
				  "Route: <sip:bob@10.0.0.2:5070>\r\n");

	/* RFC 3261 16.4: the last Route is the real Request-URI */
	routes(f, m, &ru, &next, &had_self);
	assert_true(had_self);
	assert_null(next);
	assert_true(slice_eq(ru->raw, SL("sip:bob@10.0.0.2:5070")));
	assert_non_null(
	    strstr(f->out.p, "INVITE sip:bob@10.0.0.2:5070 SIP/2.0"));
	assert_null(strstr(f->out.p, "Route"));
}

static void test_foreign_routes_stay(void **state)
{
	struct fx *f = *state;
	const struct sip_nameaddr *next;
	const struct sip_uri *ru;
	bool had_self;
	struct sip_msg *m =
	    parse(f, "sip:bob@example.com", "Route: <sip:10.0.0.1;lr>\r\n");

	routes(f, m, &ru, &next, &had_self);
	assert_false(had_self);
	assert_non_null(next);
	assert_non_null(strstr(f->out.p, "Route: <sip:10.0.0.1;lr>"));
}

static void test_loop_detected_by_hash(void **state)
{
	struct fx *f = *state;
	char h1[PROXY_LOOP_HEX], h2[PROXY_LOOP_HEX], via[256];
	struct sip_msg *m = parse(f, "sip:bob@example.com", "");

	proxy_loop_hash(m, h1);
	proxy_loop_hash(m, h2);
	assert_memory_equal(h1, h2, PROXY_LOOP_HEX);
	assert_false(proxy_is_loop(f->cfg, m, h1));

	/* the same request back with our Via on it: a loop */
	snprintf(
	    via, sizeof(via),
	    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsb%.*s.0123\r\n",
	    PROXY_LOOP_HEX, h1);
	arena_reset(&f->arena);
	m = parse(f, "sip:bob@example.com", via);
	proxy_loop_hash(m, h2);
	assert_memory_equal(h1, h2, PROXY_LOOP_HEX);
	assert_true(proxy_is_loop(f->cfg, m, h2));

	/* another Request-URI (a spiral) is no loop */
	arena_reset(&f->arena);
	m = parse(f, "sip:carol@example.com", via);
	proxy_loop_hash(m, h2);
	assert_false(proxy_is_loop(f->cfg, m, h2));
}

static void test_record_route_values(void **state)
{
	struct fx *f = *state;
	struct sip_via *v = NULL;
	char text[] = "SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx";

	assert_int_equal(
	    sip_via_parse(slice_cstr(text), &f->arena, &f->lim, &v), 0);
	assert_true(proxy_via_is_self(f->cfg, v));
	v->port = 5070;
	assert_false(proxy_via_is_self(f->cfg, v));
}

static struct sip_flow flow4(enum sip_transport tp, const char *ip,
			     uint16_t port)
{
	struct sip_flow f;

	memset(&f, 0, sizeof(f));
	f.tp = tp;
	assert_true(proxy_host_addr(slice_cstr(ip), port, &f.remote));
	return f;
}

static void test_flow_token_round_trip(void **state)
{
	char tok[PROXY_TOKEN_MAX];
	struct sip_flow f = flow4(SIP_TP_TLS, "192.0.2.7", 40123), g;
	struct sip_flow f6;
	size_t n;

	(void)state;
	n = proxy_flow_token(&f, tok);
	assert_true(n > 0 && n <= PROXY_TOKEN_MAX);
	assert_true(proxy_flow_parse(slice_make(tok, n), &g));
	assert_int_equal(g.tp, SIP_TP_TLS);
	assert_true(sip_addr_eq(&g.remote, &f.remote));

	memset(&f6, 0, sizeof(f6));
	f6.tp = SIP_TP_TCP;
	assert_true(proxy_host_addr(SL("[2001:db8::5]"), 5070, &f6.remote));
	n = proxy_flow_token(&f6, tok);
	assert_true(n > 0 && n <= PROXY_TOKEN_MAX);
	assert_true(proxy_flow_parse(slice_make(tok, n), &g));
	assert_true(sip_addr_eq(&g.remote, &f6.remote));

	/* a changed address or MAC is refused: no made-up flows */
	n = proxy_flow_token(&f, tok);
	tok[3] = tok[3] == '0' ? '1' : '0';
	assert_false(proxy_flow_parse(slice_make(tok, n), &g));
	n = proxy_flow_token(&f, tok);
	tok[n - 1] = tok[n - 1] == '0' ? '1' : '0';
	assert_false(proxy_flow_parse(slice_make(tok, n), &g));
	assert_false(proxy_flow_parse(slice_make(tok, n - 1), &g));
	assert_false(proxy_flow_parse(SL("9"), &g));
}

static void test_route_flow_picks_other_side(void **state)
{
	struct fx *f = *state;
	struct sip_flow up = flow4(SIP_TP_TLS, "10.0.0.1", 40000);
	struct sip_flow down = flow4(SIP_TP_TCP, "10.0.0.2", 50000);
	struct sip_flow other = flow4(SIP_TP_UDP, "10.0.0.3", 5060), out;
	char ut[PROXY_TOKEN_MAX], dt[PROXY_TOKEN_MAX], hdr[512];
	size_t un = proxy_flow_token(&up, ut), dn = proxy_flow_token(&down, dt);
	const struct sip_nameaddr *r;
	struct sip_msg *m;

	snprintf(hdr, sizeof(hdr),
		 "Route: <sip:127.0.0.1:5060;lr;sbu=%.*s;sbd=%.*s>\r\n",
		 (int)un, ut, (int)dn, dt);
	m = parse(f, "sip:bob@10.0.0.2:5070", hdr);
	r = proxy_self_route(f->cfg, m);
	assert_non_null(r);
	assert_true(proxy_route_flow(r, &up, &out));
	assert_true(sip_addr_eq(&out.remote, &down.remote));
	assert_int_equal(out.tp, SIP_TP_TCP);
	assert_true(proxy_route_flow(r, &down, &out));
	assert_true(sip_addr_eq(&out.remote, &up.remote));
	assert_false(proxy_route_flow(r, &other, &out));

	/* only the caller needs a flow: requests from elsewhere go to it */
	arena_reset(&f->arena);
	snprintf(hdr, sizeof(hdr),
		 "Route: <sip:127.0.0.1:5060;lr;sbu=%.*s>\r\n", (int)un, ut);
	m = parse(f, "sip:alice@10.0.0.1:5070", hdr);
	r = proxy_self_route(f->cfg, m);
	assert_true(proxy_route_flow(r, &other, &out));
	assert_true(sip_addr_eq(&out.remote, &up.remote));
	assert_false(proxy_route_flow(r, &up, &out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_self_needs_address_and_port,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_local_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_own_route_removed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_double_record_route_pair_removed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strict_router_fixed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_routes_stay, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_loop_detected_by_hash, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_record_route_values, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_flow_token_round_trip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_route_flow_picks_other_side,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
