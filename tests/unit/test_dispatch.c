/* Unit tests for the dispatcher (services/dispatch): domains, shield, auth. */
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
#include "base/limits.h"
#include "base/mem.h"
#include "base/wheel.h"
#include "runtime/config.h"
#include "services/dispatch/dispatch.h"
#include "services/users/users.h"
#include "sip/auth/digest.h"
#include "store/store.h"

enum {
	MSG_MAX = 4096, /* bytes of a request or a response in a test */
	MAX_SENT = 16	/* responses kept by capture_send */
};

struct fx {
	int64_t live_alloc;
	struct config *cfg;
	struct auth_ctx *auth;
	struct ban *ban;
	struct registrar *reg;
	struct local *local;
	struct dispatch *d;
	/* The transaction layer of the txn tests, bound to d. */
	struct wheel wheel;
	struct txn_layer *tl;
	struct sb_limits lim;
	unsigned branch;	      /* makes each request's branch unique */
	char sent[MAX_SENT][MSG_MAX]; /* what the layer sent, in order */
	size_t nsent;
	char nonce[256]; /* of the last challenge */
};

static struct fx *g;

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

static int capture_send(const struct sip_flow *fl, const char *data, size_t len,
			tp_send_cb cb, void *arg)
{
	char *s = g->sent[g->nsent++ % MAX_SENT];

	(void)fl, (void)cb, (void)arg;
	assert_true(len < MSG_MAX);
	memcpy(s, data, len);
	s[len] = '\0';
	return 0;
}

/* A user row with the MD5 HA1 of password in realm example.com. */
static void user_row(struct store_user *u, const char *name,
		     const char *password)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->user, sizeof(u->user), "%s", name);
	snprintf(u->domain, sizeof(u->domain), "example.com");
	assert_int_equal(digest_ha1(DIGEST_ALG_MD5, slice_cstr(name),
				    SL("example.com"), slice_cstr(password),
				    u->ha1_md5),
			 0);
}

static int setup_txn(void **state)
{
	struct fx *f;
	struct store_user u[2];
	struct users *snap;
	struct txn_layer_opts o = {
	    .timers = txn_timers_default(),
	    .send = capture_send,
	    .server = SL("switchboard-test"),
	};

	setup(state);
	f = g = *state;
	f->lim = sb_limits_default();
	wheel_init(&f->wheel, 0);
	o.wheel = &f->wheel;
	o.user = dispatch_txn_user(f->d);
	assert_int_equal(txn_layer_new(&o, &f->tl), 0);
	user_row(&u[0], "alice", "secret");
	user_row(&u[1], "bob", "hunter2");
	assert_int_equal(users_new(u, 2, &snap), 0);
	users_publish(snap);
	return 0;
}

static int teardown_txn(void **state)
{
	struct fx *f = *state;

	f->tl = txn_layer_free(f->tl);
	wheel_close(&f->wheel);
	users_publish(NULL);
	return teardown(state);
}

/*
 * Hand a method request from user@domain to the dispatcher, with a
 * Proxy-Authorization for auth_user and password over the last nonce
 * (none when auth_user is NULL; the raw value when password is NULL).
 * Returns the last response's status line.
 */
static const char *ask(const char *method, const char *from,
		       const char *auth_user, const char *password)
{
	const char *ruri = "sip:carol@example.com";
	char ha1[DIGEST_HEX_BUF], resp[DIGEST_HEX_BUF], auth[1024] = "";
	char text[MSG_MAX];
	struct sip_inmsg *im;
	struct sip_perr perr;
	size_t len;

	if (auth_user && password) {
		assert_int_equal(
		    digest_ha1(DIGEST_ALG_MD5, slice_cstr(auth_user),
			       SL("example.com"), slice_cstr(password), ha1),
		    0);
		assert_int_equal(digest_response(
				     &(struct digest_params){
					 .alg = DIGEST_ALG_MD5,
					 .ha1 = slice_cstr(ha1),
					 .nonce = slice_cstr(g->nonce),
					 .cnonce = SL("0a4f113b"),
					 .nc = SL("00000001"),
					 .qop = SL("auth"),
					 .method = slice_cstr(method),
					 .uri = slice_cstr(ruri),
				     },
				     resp),
				 0);
		snprintf(auth, sizeof(auth),
			 "Proxy-Authorization: Digest username=\"%s\", "
			 "realm=\"example.com\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\", algorithm=MD5, qop=auth, "
			 "nc=00000001, cnonce=\"0a4f113b\"\r\n",
			 auth_user, g->nonce, ruri, resp);
	} else if (auth_user) {
		snprintf(auth, sizeof(auth), "Proxy-Authorization: %s\r\n",
			 auth_user);
	}
	g->branch++;
	snprintf(text, sizeof(text),
		 "%s %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 198.51.100.1:5062;branch=z9hG4bKd%u\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:%s>;tag=f%u\r\n"
		 "To: <%s>\r\n"
		 "Call-ID: d%u@198.51.100.1\r\n"
		 "CSeq: 1 %s\r\n"
		 "%sContent-Length: 0\r\n\r\n",
		 method, ruri, g->branch, from, g->branch, ruri, g->branch,
		 method, auth);
	len = strlen(text);
	im = sip_inmsg_new(len);
	assert_non_null(im);
	memcpy(im->data, text, len);
	im->flow = flow_from("198.51.100.1");
	assert_int_equal(sip_msg_parse(&im->msg, &im->arena, im->data, len,
				       SIP_FRAMING_DATAGRAM, &g->lim, &perr),
			 0);
	txn_layer_recv(g->tl, im);
	assert_true(g->nsent > 0);
	return g->sent[(g->nsent - 1) % MAX_SENT];
}

/* The last response starts with status; a challenge's nonce is kept. */
static void assert_answer(const char *status)
{
	const char *last = g->sent[(g->nsent - 1) % MAX_SENT], *p;
	size_t n;

	if (strncmp(last, status, strlen(status)) != 0)
		fail_msg("want \"%s\", got:\n%s", status, last);
	if (!(p = strstr(last, "nonce=\"")))
		return;
	p += 7;
	n = strcspn(p, "\"");
	assert_true(n < sizeof(g->nonce));
	memcpy(g->nonce, p, n);
	g->nonce[n] = '\0';
}

static void test_dispatch_local_user_challenged(void **state)
{
	struct fx *f = *state;
	const struct dispatch_stats *st = dispatch_stats(f->d);
	const char *r;

	/* No credentials: 407 with the From domain as realm. */
	r = ask("INVITE", "alice@example.com", NULL, NULL);
	assert_answer("SIP/2.0 407 Proxy Authentication Required\r\n");
	assert_non_null(strstr(r, "\r\nProxy-Authenticate: Digest "
				  "realm=\"example.com\""));
	assert_non_null(strstr(r, "qop=\"auth\""));
	assert_non_null(strstr(r, "algorithm=MD5"));
	assert_null(strstr(r, "WWW-Authenticate"));
	assert_int_equal(st->proxy_challenged, 1);
	/* The right password: the local service answers (405 for now). */
	ask("INVITE", "alice@example.com", "alice", "secret");
	assert_answer("SIP/2.0 405 ");
	assert_int_equal(st->proxy_authenticated, 1);
	/* A wrong one: the same 407 as without credentials. */
	ask("INVITE", "alice@example.com", "alice", "wrong");
	assert_answer("SIP/2.0 407 ");
	assert_int_equal(st->failed, 1);
	/* A domain case-folded into the realm; MESSAGE as INVITE. */
	ask("MESSAGE", "alice@EXAMPLE.com", "alice", "secret");
	assert_answer("SIP/2.0 405 ");
	assert_int_equal(st->proxy_authenticated, 2);
	/* Bob's valid credentials do not make him alice (RFC 3261 22). */
	ask("MESSAGE", "alice@example.com", NULL, NULL);
	assert_answer("SIP/2.0 407 ");
	ask("MESSAGE", "alice@example.com", "bob", "hunter2");
	assert_answer("SIP/2.0 403 Identity mismatch\r\n");
	assert_int_equal(st->identity_mismatch, 1);
	/* Credentials for our realm that do not parse: 400. */
	ask("SUBSCRIBE", "alice@example.com",
	    "Digest realm=\"example.com\", username=\"alice\"", NULL);
	assert_answer("SIP/2.0 400 ");
	assert_int_equal(st->malformed, 1);
	assert_int_equal(st->proxy_challenged, 2);
	assert_int_equal(st->challenged, 0);
}

static void test_dispatch_local_user_not_challenged(void **state)
{
	struct fx *f = *state;
	const struct dispatch_stats *st = dispatch_stats(f->d);
	size_t before;

	/* A foreign From, a method not configured: the local service. */
	ask("INVITE", "mallory@example.org", NULL, NULL);
	assert_answer("SIP/2.0 405 ");
	ask("OPTIONS", "alice@example.com", NULL, NULL);
	assert_answer("SIP/2.0 200 ");
	ask("BYE", "alice@example.com", NULL, NULL);
	assert_answer("SIP/2.0 481 ");
	/* A listener's address is ours too; ACK never challenged (RFC 3261
	 * 22.1): a stray one gets silence. */
	ask("INVITE", "alice@192.0.2.1", NULL, NULL);
	assert_answer("SIP/2.0 407 ");
	before = f->nsent;
	{
		char text[] = "ACK sip:carol@example.com SIP/2.0\r\n"
			      "Via: SIP/2.0/UDP 198.51.100.1:5062;"
			      "branch=z9hG4bKack1\r\n"
			      "From: <sip:alice@example.com>;tag=a1\r\n"
			      "To: <sip:carol@example.com>;tag=b1\r\n"
			      "Call-ID: ack1@198.51.100.1\r\n"
			      "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
		size_t len = strlen(text);
		struct sip_inmsg *im = sip_inmsg_new(len);
		struct sip_perr perr;

		assert_non_null(im);
		memcpy(im->data, text, len);
		im->flow = flow_from("198.51.100.1");
		assert_int_equal(sip_msg_parse(&im->msg, &im->arena, im->data,
					       len, SIP_FRAMING_DATAGRAM,
					       &g->lim, &perr),
				 0);
		txn_layer_recv(g->tl, im);
	}
	assert_int_equal(f->nsent, before);
	assert_int_equal(st->proxy_challenged, 1);
	assert_int_equal(st->proxy_authenticated, 0);
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
	    cmocka_unit_test_setup_teardown(test_dispatch_local_user_challenged,
					    setup_txn, teardown_txn),
	    cmocka_unit_test_setup_teardown(
		test_dispatch_local_user_not_challenged, setup_txn,
		teardown_txn),
	    cmocka_unit_test_setup_teardown(test_dispatch_new_needs_deps, setup,
					    teardown),
	};

	return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
