/* Unit tests for the UDP transport: Call-ID scan, Via params, listeners. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/mem.h"
#include "sip/transport/udp.h"

enum {
	WORKERS = 2,
	WAIT_MS = 5000,
	SENT = 64 /* requests sent in the listener tests */
};

struct fx {
	int64_t live_alloc, live_inmsg;
	struct worker *w[WORKERS];
	struct tp_listener *l;
	int peer; /* the test's own socket */
	_Atomic unsigned got[WORKERS];
	_Atomic unsigned total;
	_Atomic bool is_misrouted;
	uv_sem_t gate; /* holds worker 1 in the overflow test */
};

static struct fx *the_fx;

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_inmsg = sb_live_get(SB_LIVE_INMSG);
	f.peer = -1;
	assert_int_equal(uv_sem_init(&f.gate, 0), 0);
	the_fx = &f;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->l)
		tp_udp_listener_stop(f->l);
	for (int i = 0; i < WORKERS; i++) {
		if (!f->w[i])
			continue;
		worker_stop(f->w[i]);
		worker_join(f->w[i]);
	}
	for (int i = 0; i < WORKERS; i++)
		f->w[i] = worker_free(f->w[i]);
	f->l = tp_listener_free(f->l);
	if (f->peer >= 0)
		close(f->peer);
	uv_sem_destroy(&f->gate);
	assert_int_equal(sb_live_get(SB_LIVE_INMSG), f->live_inmsg);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static void assert_callid(const char *msg, const char *want)
{
	struct slice id;
	int rc = tp_udp_callid_scan(msg, strlen(msg), &id);

	if (!want) {
		assert_int_equal(rc, -ENOENT);
		return;
	}
	if (rc != 0)
		fail_msg("no Call-ID found in:\n%s", msg);
	if (!slice_eq(id, slice_cstr(want)))
		fail_msg("Call-ID \"%.*s\", want \"%s\"", (int)id.len, id.p,
			 want);
}

static void test_udp_callid_forms(void **state)
{
	assert_callid("OPTIONS sip:a SIP/2.0\r\nVia: x\r\nCall-ID: abc@h\r\n"
		      "\r\n",
		      "abc@h");
	assert_callid("OPTIONS sip:a SIP/2.0\r\ncall-id:abc\r\n\r\n", "abc");
	assert_callid("OPTIONS sip:a SIP/2.0\r\nCALL-ID \t :  x y\r\n\r\n",
		      "x");
	assert_callid("OPTIONS sip:a SIP/2.0\r\nCaLl-Id: mixed\r\n\r\n",
		      "mixed");
	/* RFC 3261 7.3.3: compact form */
	assert_callid("OPTIONS sip:a SIP/2.0\r\nf: <sip:a>\r\ni: short\r\n\r\n",
		      "short");
	assert_callid("OPTIONS sip:a SIP/2.0\r\nI:upper\r\n\r\n", "upper");
	assert_callid("OPTIONS sip:a SIP/2.0\r\ni  :  spaced  \r\n\r\n",
		      "spaced");
	/* RFC 3261 7.3.1: folded onto the next line */
	assert_callid("OPTIONS sip:a SIP/2.0\r\nCall-ID:\r\n  folded@h\r\n"
		      "\r\n",
		      "folded@h");
	assert_callid("OPTIONS sip:a SIP/2.0\r\nCall-ID: \r\n\tx\r\n\r\n", "x");
	/* bare LF line ends */
	assert_callid("OPTIONS sip:a SIP/2.0\nVia: x\ni: lf\n\n", "lf");
	/* a response */
	assert_callid("SIP/2.0 200 OK\r\nCall-ID: resp\r\n\r\n", "resp");
	/* at the very end, without CRLF */
	assert_callid("OPTIONS sip:a SIP/2.0\r\nCall-ID: end", "end");
	/* the first of two */
	assert_callid("OPTIONS sip:a SIP/2.0\r\ni: one\r\nCall-ID: two\r\n\r\n",
		      "one");
}

static void test_udp_callid_not_found(void **state)
{
	struct slice id;
	static const char empty[] = "OPTIONS sip:a SIP/2.0\r\nCall-ID:  \r\n"
				    "\r\n";

	assert_callid("OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n", NULL);
	/* only in the body */
	assert_callid(
	    "OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\nCall-ID: body\r\n", NULL);
	/* other headers that start alike */
	assert_callid("OPTIONS sip:a SIP/2.0\r\nCall-Info: <x>\r\n"
		      "Identity: i\r\nIf-Match: y\r\nCall-IDx: z\r\n\r\n",
		      NULL);
	/* not on the start line */
	assert_callid("i: x sip:a SIP/2.0\r\nVia: y\r\n\r\n", NULL);
	assert_callid("garbage without lines", NULL);
	assert_callid("", NULL);
	assert_int_equal(tp_udp_callid_scan(empty, sizeof(empty) - 1, &id),
			 -EBADMSG);
	assert_int_equal(tp_udp_callid_hash(empty, sizeof(empty) - 1), 0);
}

/* The same Call-ID in any header form hashes to the same worker. */
static void test_udp_callid_hash_same(void **state)
{
	static const char *const forms[] = {
	    "INVITE sip:a SIP/2.0\r\nCall-ID: k9@h\r\n\r\n",
	    "ACK sip:a SIP/2.0\r\ni:k9@h\r\n\r\n",
	    "CANCEL sip:a SIP/2.0\r\ncall-id :\r\n k9@h\r\n\r\n",
	    "SIP/2.0 100 Trying\r\nI: k9@h \r\n\r\n",
	};
	uint32_t h = tp_udp_callid_hash(forms[0], strlen(forms[0]));

	assert_int_equal(h, slice_hash(SL("k9@h")));
	for (size_t i = 1; i < sizeof(forms) / sizeof(forms[0]); i++)
		assert_int_equal(tp_udp_callid_hash(forms[i], strlen(forms[i])),
				 h);
}

static void test_udp_keepalive(void **state)
{
	assert_true(tp_is_keepalive("\r\n\r\n", 4));
	assert_true(tp_is_keepalive("\r\n", 2));
	assert_true(tp_is_keepalive("", 0));
	assert_true(tp_is_keepalive(" \t\0", 3));
	assert_false(tp_is_keepalive("\r\nOPTIONS", 9));
}

static struct sip_msg parse(const char *text, struct arena *a, char *buf)
{
	struct sb_limits lim = sb_limits_default();
	struct sip_perr perr;
	struct sip_msg m;

	strcpy(buf, text);
	arena_init(a, NULL, 0, 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(sip_msg_parse(&m, a, buf, strlen(buf),
				       SIP_FRAMING_DATAGRAM, &lim, &perr),
			 0);
	return m;
}

static void test_udp_via_params(void **state)
{
	static const char rport[] =
	    "OPTIONS sip:a@b SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKx;rport\r\n"
	    "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
	    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	static const char same[] =
	    "OPTIONS sip:a@b SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKx\r\n"
	    "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
	    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	struct sip_flow f = {.tp = SIP_TP_UDP};
	char buf[1024], out[96];
	struct arena a;
	struct sip_msg m;
	struct slice v;

	f.remote.in.sin_family = AF_INET;
	f.remote.in.sin_port = htons(40000);
	inet_pton(AF_INET, "192.0.2.7", &f.remote.in.sin_addr);
	f.remote.len = sizeof(f.remote.in);
	m = parse(rport, &a, buf);
	v = tp_via_params(&m, &f, out, sizeof(out));
	assert_true(slice_eq(v, SL(";received=192.0.2.7;rport=40000")));
	arena_close(&a);
	m = parse(same, &a, buf);
	v = tp_via_params(&m, &f, out, sizeof(out));
	assert_int_equal(v.len, 0);
	arena_close(&a);
}

/* Records which worker got each message; checks it is the owner. */
static void on_inmsg(void *ctx, struct worker *w, struct sip_inmsg *im)
{
	struct fx *f = ctx;
	unsigned id = worker_id(w);

	if (im->hash % WORKERS != id)
		atomic_store(&f->is_misrouted, true);
	if (im->flow.tp != SIP_TP_UDP || im->flow.listener != f->l)
		atomic_store(&f->is_misrouted, true);
	atomic_fetch_add(&f->got[id], 1);
	atomic_fetch_add(&f->total, 1);
	sip_inmsg_free(im);
}

static void start(struct fx *f, bool is_reuseport, uint32_t queue_size,
		  struct sip_addr *bound)
{
	struct tp_udp_opts o = {
	    .is_reuseport = is_reuseport,
	    .workers = f->w,
	    .nworkers = WORKERS,
	    .reader = 0,
	    .server = SL("test"),
	};
	socklen_t len = sizeof(bound->in);
	int probe;

	for (unsigned i = 0; i < WORKERS; i++) {
		struct worker_opts wo = {.id = i,
					 .queue_size = queue_size,
					 .on_inmsg = on_inmsg,
					 .ctx = f};
		assert_int_equal(worker_new(&wo, &f->w[i]), 0);
	}
	/* A free port: bind, read it back, close, bind the listener there. */
	probe = socket(AF_INET, SOCK_DGRAM, 0);
	memset(bound, 0, sizeof(*bound));
	bound->in.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &bound->in.sin_addr);
	assert_int_equal(bind(probe, &bound->sa, sizeof(bound->in)), 0);
	assert_int_equal(getsockname(probe, &bound->sa, &len), 0);
	close(probe);
	bound->len = sizeof(bound->in);
	o.bind = *bound;
	assert_int_equal(tp_udp_listener_new(&o, &f->l), 0);
	assert_true(slice_eq(tp_listener_host(f->l), SL("127.0.0.1")));
	assert_int_equal(tp_listener_port(f->l), ntohs(bound->in.sin_port));
	assert_int_equal(tp_listener_transport(f->l), SIP_TP_UDP);
	for (unsigned i = 0; i < WORKERS; i++)
		assert_int_equal(worker_start(f->w[i]), 0);
	assert_int_equal(tp_udp_listener_start(f->l), 0);
	f->peer = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->peer >= 0);
}

static void send_request(struct fx *f, const struct sip_addr *to, unsigned n)
{
	char m[512];
	int len = snprintf(m, sizeof(m),
			   "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK%u;"
			   "rport\r\n"
			   "From: <sip:t@127.0.0.1>;tag=1\r\n"
			   "To: <sip:x@127.0.0.1>\r\nCall-ID: call-%u@test\r\n"
			   "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			   n, n);

	assert_int_equal(sendto(f->peer, m, (size_t)len, 0, &to->sa, to->len),
			 len);
}

static void wait_total(struct fx *f, unsigned want)
{
	for (int ms = 0; ms < WAIT_MS && atomic_load(&f->total) < want; ms++)
		uv_sleep(1);
	assert_int_equal(atomic_load(&f->total), want);
}

static void check_routing(struct fx *f, bool is_reuseport)
{
	struct sip_addr to;
	struct tp_udp_stats st;

	start(f, is_reuseport, 1024, &to);
	for (unsigned i = 0; i < SENT; i++)
		send_request(f, &to, i);
	assert_int_equal(sendto(f->peer, "\r\n\r\n", 4, 0, &to.sa, to.len), 4);
	wait_total(f, SENT);
	assert_false(atomic_load(&f->is_misrouted));
	assert_true(atomic_load(&f->got[0]) > 0);
	assert_true(atomic_load(&f->got[1]) > 0);
	for (int ms = 0; ms < WAIT_MS; ms++) {
		tp_udp_listener_stats(f->l, &st);
		if (st.keepalives == 1)
			break;
		uv_sleep(1);
	}
	assert_int_equal(st.received, SENT + 1);
	assert_int_equal(st.keepalives, 1);
	if (is_reuseport)
		assert_true(st.handed_off <= SENT);
	else
		assert_int_equal(st.handed_off, atomic_load(&f->got[1]));
}

/* One reader on worker 0 hands each message to hash(Call-ID) % 2. */
static void test_udp_reader_routes_by_callid(void **state)
{
	check_routing(*state, false);
}

/* Reuseport: a socket per worker, still routed by Call-ID. */
static void test_udp_reuseport_routes_by_callid(void **state)
{
	check_routing(*state, true);
}

static void job_block(void *arg)
{
	uv_sem_wait(&((struct fx *)arg)->gate);
}

/* Owner's queue full: the reader answers 503 with Retry-After itself. */
static void test_udp_overflow_is_503(void **state)
{
	struct fx *f = *state;
	struct sip_addr to;
	char buf[2048];
	unsigned owned = 0, n503 = 0;

	start(f, false, 16, &to);
	assert_int_equal(worker_post(f->w[1], job_block, f), 0);
	for (unsigned i = 0; owned < 40; i++) {
		char id[32];
		snprintf(id, sizeof(id), "call-%u@test", i);
		if (slice_hash(slice_cstr(id)) % WORKERS != 1)
			continue;
		send_request(f, &to, i);
		owned++;
	}
	for (;;) {
		struct pollfd p = {.fd = f->peer, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 1000) != 1)
			break;
		n = recv(f->peer, buf, sizeof(buf) - 1, 0);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_non_null(strstr(buf, "SIP/2.0 503 "));
		assert_non_null(strstr(buf, "Retry-After: 5\r\n"));
		assert_non_null(strstr(buf, ";received=127.0.0.1;rport="));
		if (++n503 == 40 - 16)
			break;
	}
	assert_int_equal(n503, 40 - 16);
	uv_sem_post(&f->gate);
	wait_total(f, 16);
}

/* tp_send from any thread goes out on the listener's socket. */
static void test_udp_send(void **state)
{
	struct fx *f = *state;
	struct sip_addr to, me;
	struct sip_flow flow = {.tp = SIP_TP_UDP};
	socklen_t len = sizeof(me.in);
	char buf[64];

	start(f, false, 16, &to);
	memset(&me, 0, sizeof(me));
	me.in.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &me.in.sin_addr);
	assert_int_equal(bind(f->peer, &me.sa, sizeof(me.in)), 0);
	assert_int_equal(getsockname(f->peer, &me.sa, &len), 0);
	me.len = len;
	flow.remote = me;
	flow.listener = f->l;
	assert_int_equal(tp_send(&flow, "hello", 5, NULL, NULL), 0);
	flow.listener = NULL; /* any UDP listener of the family */
	assert_int_equal(tp_send(&flow, "again", 5, NULL, NULL), 0);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(recv(f->peer, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "again", 5);
	flow.tp = SIP_TP_TCP;
	assert_true(tp_send(&flow, "x", 1, NULL, NULL) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_udp_callid_forms, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_udp_callid_not_found, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_udp_callid_hash_same, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_udp_keepalive, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_udp_via_params, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_udp_reader_routes_by_callid,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_udp_reuseport_routes_by_callid,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_udp_overflow_is_503, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_udp_send, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
