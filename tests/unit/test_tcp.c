/* Loopback tests of the TCP/TLS transports (sip/transport conn, tcp, tls). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <uv.h>

#include "base/buf.h"
#include "base/mem.h"
#include "sip/transport/stream.h"

enum {
	PEERS_MAX = 8,
	MSGS_MAX = 32,
	SENDS_MAX = 8,
	WAIT_MS = 5000, /* longest any wait may take */
	CHUNK = 16384
};

#define OPTIONS(n)                                                             \
	"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"                                \
	"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK" n "\r\n"              \
	"Max-Forwards: 70\r\n"                                                 \
	"From: <sip:a@127.0.0.1>;tag=1\r\n"                                    \
	"To: <sip:bob@127.0.0.1>\r\n"                                          \
	"Call-ID: " n "@127.0.0.1\r\n"                                         \
	"CSeq: 1 OPTIONS\r\n"                                                  \
	"Content-Length: 4\r\n\r\nbody"

static const char msg1[] = OPTIONS("a1");
static const char msg2[] = OPTIONS("b2");
static const char reply[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKa1\r\n"
    "Call-ID: a1@127.0.0.1\r\n"
    "Content-Length: 0\r\n\r\n";

struct fx;

/* The tiny client in the test: a libuv socket, TLS through our engine. */
struct peer {
	struct fx *fx;
	uv_tcp_t tcp;
	uv_connect_t creq;
	struct tp_tls *tls; /* TLS peers */
	struct buf got;	    /* plaintext from the server */
	int status;	    /* connect result; 1 while pending */
	bool is_eof;	    /* the server closed */
	bool is_open;	    /* the handle needs closing */
	bool is_closed;	    /* its close callback ran */
};

struct fx {
	int64_t live_alloc, live_conn, live_inmsg;
	uv_loop_t loop;
	uv_timer_t tick; /* wakes the loop so waits can time out */
	char dir[64], cert[128], key[128];
	struct tp_tls_ctx *srv_ctx, *cli_ctx;
	struct tp_stream *s;
	struct tp_conn_table *t, *t2;
	struct sip_addr tcp_addr, tls_addr;
	struct sip_inmsg *msgs[MSGS_MAX];
	size_t nmsgs;
	struct worker *msg_worker[MSGS_MAX]; /* current at each message */
	int sent[SENDS_MAX];		     /* send callbacks: err */
	struct worker *sent_worker[SENDS_MAX];
	size_t nsent;
	struct peer peers[PEERS_MAX];
};

/* Two pretend workers sharing the test's loop (see test_tcp_cross_worker):
 * tokens only, never dereferenced. */
static char token_a, token_b;
#define WORKER_A ((struct worker *)&token_a)
#define WORKER_B ((struct worker *)&token_b)
static struct worker *current_worker;

struct job {
	struct job *next;
	struct worker *worker;
	void (*fn)(void *arg);
	void *arg;
};

static struct job *jobs, **jobs_tail = &jobs;

static struct worker *hook_self(void)
{
	return current_worker;
}

static int hook_post(struct worker *worker, void (*fn)(void *arg), void *arg)
{
	struct job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	*j = (struct job){NULL, worker, fn, arg};
	*jobs_tail = j;
	jobs_tail = &j->next;
	return 0;
}

/* Run posted jobs "on" their worker. */
static void run_jobs(void)
{
	struct job *j;

	while ((j = jobs)) {
		struct worker *saved = current_worker;
		jobs = j->next;
		if (!jobs)
			jobs_tail = &jobs;
		current_worker = j->worker;
		j->fn(j->arg);
		current_worker = saved;
		free(j);
	}
}

/* Run the loop until cond holds; fail after WAIT_MS. */
#define RUN_UNTIL(f, cond)                                                     \
	do {                                                                   \
		uint64_t t0_ = uv_now(&(f)->loop);                             \
		while (!(cond)) {                                              \
			if (uv_now(&(f)->loop) - t0_ > WAIT_MS)                \
				fail_msg("timed out waiting for %s", #cond);   \
			uv_run(&(f)->loop, UV_RUN_ONCE);                       \
			run_jobs();                                            \
		}                                                              \
	} while (0)

static void run_for(struct fx *f, uint64_t ms)
{
	uint64_t t0 = uv_now(&f->loop);

	while (uv_now(&f->loop) - t0 < ms) {
		uv_run(&f->loop, UV_RUN_ONCE);
		run_jobs();
	}
}

static void on_tick(uv_timer_t *t)
{
}

static void make_cert(struct fx *f)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *fp;

	assert_non_null(key);
	assert_non_null(x);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sb-test-tcp-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"localhost", -1, -1,
				   0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	fp = fopen(f->cert, "w");
	assert_non_null(fp);
	PEM_write_X509(fp, x);
	fclose(fp);
	fp = fopen(f->key, "w");
	assert_non_null(fp);
	PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	X509_free(x);
	EVP_PKEY_free(key);
}

static int setup(void **state)
{
	static struct fx f;
	struct tp_tls_ctx_opts so = {0}, co = {0};
	struct tp_tls_err err;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_conn = sb_live_get(SB_LIVE_CONN);
	f.live_inmsg = sb_live_get(SB_LIVE_INMSG);
	assert_int_equal(uv_loop_init(&f.loop), 0);
	uv_timer_init(&f.loop, &f.tick);
	uv_timer_start(&f.tick, on_tick, 5, 5);
	make_cert(&f);
	so.cert_file = f.cert;
	so.key_file = f.key;
	assert_int_equal(tp_tls_ctx_new(&so, &f.srv_ctx, &err), 0);
	co.ca_file = f.cert; /* the test client trusts the self-signed cert */
	assert_int_equal(tp_tls_ctx_new(&co, &f.cli_ctx, &err), 0);
	current_worker = NULL;
	*state = &f;
	return 0;
}

static void on_peer_closed(uv_handle_t *h)
{
	struct peer *p = h->data;

	p->is_closed = true;
}

static bool all_closed(struct fx *f)
{
	for (int i = 0; i < PEERS_MAX; i++)
		if (f->peers[i].is_open && !f->peers[i].is_closed)
			return false;
	if (f->t && !tp_conn_table_is_closed(f->t))
		return false;
	return !f->t2 || tp_conn_table_is_closed(f->t2);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < f->nmsgs; i++)
		f->msgs[i] = sip_inmsg_free(f->msgs[i]);
	for (int i = 0; i < PEERS_MAX; i++) {
		struct peer *p = &f->peers[i];
		if (p->is_open && !uv_is_closing((uv_handle_t *)&p->tcp))
			uv_close((uv_handle_t *)&p->tcp, on_peer_closed);
	}
	if (f->t)
		tp_conn_table_stop(f->t);
	if (f->t2)
		tp_conn_table_stop(f->t2);
	RUN_UNTIL(f, all_closed(f));
	for (int i = 0; i < PEERS_MAX; i++) {
		f->peers[i].tls = tp_tls_free(f->peers[i].tls);
		buf_close(&f->peers[i].got);
	}
	f->t = tp_conn_table_free(f->t);
	f->t2 = tp_conn_table_free(f->t2);
	f->s = tp_stream_free(f->s);
	f->srv_ctx = tp_tls_ctx_free(f->srv_ctx);
	f->cli_ctx = tp_tls_ctx_free(f->cli_ctx);
	uv_close((uv_handle_t *)&f->tick, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	unlink(f->cert);
	unlink(f->key);
	rmdir(f->dir);
	assert_int_equal(sb_live_get(SB_LIVE_CONN), f->live_conn);
	assert_int_equal(sb_live_get(SB_LIVE_INMSG), f->live_inmsg);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static void on_message(void *arg, struct sip_inmsg *im)
{
	struct fx *f = arg;

	if (f->nmsgs == MSGS_MAX) {
		sip_inmsg_free(im);
		return;
	}
	f->msg_worker[f->nmsgs] = current_worker;
	f->msgs[f->nmsgs++] = im;
}

static void on_sent(int err, void *arg)
{
	struct fx *f = arg;

	assert_true(f->nsent < SENDS_MAX);
	f->sent_worker[f->nsent] = current_worker;
	f->sent[f->nsent++] = err;
}

static struct tp_stream_opts base_opts(struct fx *f)
{
	struct tp_stream_opts o = tp_stream_opts_default();

	o.on_message = on_message;
	o.arg = f;
	o.tls = f->srv_ctx;
	o.server = SL("switchboard-test");
	return o;
}

/* Stream, a table, a TCP and a TLS listener on 127.0.0.1. */
static void start(struct fx *f, const struct tp_stream_opts *o)
{
	struct tp_tcp_listen_opts lo = {.tp = SIP_TP_TCP};

	assert_int_equal(tp_stream_new(o, &f->s), 0);
	assert_int_equal(
	    tp_conn_table_new(f->s, &f->loop, current_worker, &f->t), 0);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &lo.addr.in), 0);
	lo.addr.len = sizeof(lo.addr.in);
	assert_int_equal(tp_tcp_listen(f->t, &lo, &f->tcp_addr), 0);
	lo.tp = SIP_TP_TLS;
	assert_int_equal(tp_tcp_listen(f->t, &lo, &f->tls_addr), 0);
	assert_int_not_equal(sip_addr_port(&f->tcp_addr), 0);
}

/* Peer side */

static void on_peer_write(uv_write_t *req, int status)
{
	free(req);
}

static void peer_write_raw(struct peer *p, const char *data, size_t len)
{
	uv_write_t *req = malloc(sizeof(*req) + len);
	uv_buf_t b;

	assert_non_null(req);
	memcpy(req + 1, data, len);
	b = uv_buf_init((char *)(req + 1), (unsigned)len);
	assert_int_equal(
	    uv_write(req, (uv_stream_t *)&p->tcp, &b, 1, on_peer_write), 0);
}

static void peer_flush_tls(struct peer *p)
{
	char tmp[CHUNK];
	size_t n;

	while ((n = tp_tls_out_take(p->tls, tmp, sizeof(tmp))))
		peer_write_raw(p, tmp, n);
}

static void peer_drain_tls(struct peer *p)
{
	char tmp[CHUNK];
	ssize_t n;

	while ((n = tp_tls_read(p->tls, tmp, sizeof(tmp))) > 0)
		buf_append(&p->got, tmp, (size_t)n);
	peer_flush_tls(p);
	if (n < 0)
		p->is_eof = true;
}

static void on_peer_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	static char space[CHUNK];

	*b = uv_buf_init(space, sizeof(space));
}

static void on_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct peer *p = s->data;

	if (n < 0) {
		/* Like a real client: the server closed, so close too. */
		p->is_eof = true;
		if (!uv_is_closing((uv_handle_t *)s))
			uv_close((uv_handle_t *)s, on_peer_closed);
		return;
	}
	if (!p->tls) {
		buf_append(&p->got, b->base, (size_t)n);
		return;
	}
	assert_int_equal(tp_tls_feed(p->tls, b->base, (size_t)n), 0);
	peer_drain_tls(p);
}

static void on_peer_connect(uv_connect_t *req, int status)
{
	struct peer *p = req->data;

	p->status = status;
	if (status)
		return;
	uv_read_start((uv_stream_t *)&p->tcp, on_peer_alloc, on_peer_read);
	if (p->tls)
		peer_drain_tls(p); /* the ClientHello */
}

static struct peer *peer_connect(struct fx *f, int i, enum sip_transport tp)
{
	struct peer *p = &f->peers[i];
	const struct sip_addr *a =
	    tp == SIP_TP_TLS ? &f->tls_addr : &f->tcp_addr;

	p->fx = f;
	p->status = 1;
	buf_init(&p->got, 0);
	assert_int_equal(uv_tcp_init(&f->loop, &p->tcp), 0);
	p->tcp.data = p;
	p->creq.data = p;
	p->is_open = true;
	if (tp == SIP_TP_TLS)
		assert_int_equal(
		    tp_tls_new(f->cli_ctx, TP_TLS_CLIENT, "127.0.0.1", &p->tls),
		    0);
	assert_int_equal(
	    uv_tcp_connect(&p->creq, &p->tcp, &a->sa, on_peer_connect), 0);
	RUN_UNTIL(f, p->status != 1);
	assert_int_equal(p->status, 0);
	return p;
}

/* Plaintext to the server (through TLS for a TLS peer). */
static void peer_send(struct peer *p, const char *data, size_t len)
{
	if (!p->tls) {
		peer_write_raw(p, data, len);
		return;
	}
	assert_int_equal(tp_tls_write(p->tls, data, len), 0);
	peer_flush_tls(p);
}

/* Send in pieces of the given sizes, letting the loop run in between. */
static void peer_send_chunked(struct peer *p, const char *data, size_t len,
			      const size_t *sizes, size_t nsizes)
{
	for (size_t i = 0; len; i++) {
		size_t n = sizes[i % nsizes] < len ? sizes[i % nsizes] : len;
		peer_write_raw(p, data, n);
		data += n;
		len -= n;
		run_for(p->fx, 3);
	}
}

static bool got_has(const struct peer *p, const char *s)
{
	return p->got.len && memmem(p->got.p, p->got.len, s, strlen(s));
}

static void assert_msg(struct fx *f, size_t i, const char *want)
{
	assert_true(i < f->nmsgs);
	assert_int_equal(f->msgs[i]->len, strlen(want));
	assert_memory_equal(f->msgs[i]->data, want, strlen(want));
}

/* Tests */

static void test_tcp_pipelined_odd_chunks(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	static const size_t sizes[] = {1, 7, 13, 200, 3, 61};
	struct buf both;
	struct peer *p;
	int port;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	start(f, &o);
	p = peer_connect(f, 0, SIP_TP_TCP);
	buf_init(&both, 0);
	buf_append_str(&both, msg1);
	buf_append_str(&both, msg2);
	peer_send_chunked(p, both.p, both.len, sizes, 6);
	buf_close(&both);
	RUN_UNTIL(f, f->nmsgs == 2);
	assert_msg(f, 0, msg1);
	assert_msg(f, 1, msg2);

	/* The flow names the connection and the peer's address. */
	uv_tcp_getsockname(&p->tcp, (struct sockaddr *)&ss, &len);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	assert_int_equal(f->msgs[0]->flow.tp, SIP_TP_TCP);
	assert_non_null(f->msgs[0]->flow.conn);
	assert_ptr_equal(f->msgs[0]->flow.conn, f->msgs[1]->flow.conn);
	assert_int_equal(sip_addr_port(&f->msgs[0]->flow.remote), port);
	assert_int_equal(tp_conn_state(f->msgs[0]->flow.conn),
			 TP_CONN_STATE_OPEN);

	/* A response goes back on the connection the request came on. */
	assert_int_equal(
	    tp_stream_send(&f->msgs[0]->flow, reply, strlen(reply), on_sent, f),
	    0);
	assert_int_equal(f->nsent, 0); /* never before it returns */
	RUN_UNTIL(f, f->nsent == 1 && got_has(p, "200 OK"));
	assert_int_equal(f->sent[0], 0);
	assert_int_equal(p->got.len, strlen(reply));

	/* RFC 5626 3.5.1: a ping gets a pong. */
	buf_reset(&p->got);
	peer_send(p, "\r\n\r\n", 4);
	RUN_UNTIL(f, p->got.len == 2);
	assert_memory_equal(p->got.p, "\r\n", 2);
	assert_int_equal(tp_conn_table_stats(f->t)->pings, 1);
	assert_int_equal(tp_conn_table_stats(f->t)->messages_in, 2);
	assert_int_equal(tp_conn_table_stats(f->t)->accepted, 1);
	assert_int_equal(tp_stream_conns(f->s), 1);
}

static void test_tcp_bad_message_answered_then_closed(void **state)
{
	static const char bad[] =
	    "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"
	    "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKbad\r\n"
	    "From: <sip:a@127.0.0.1>;tag=1\r\n"
	    "To: <sip:bob@127.0.0.1>\r\n"
	    "Call-ID: bad@127.0.0.1\r\n"
	    "CSeq: 1 OPTIONS\r\n\r\n";
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct peer *p;

	start(f, &o);
	p = peer_connect(f, 0, SIP_TP_TCP);
	/* RFC 3261 18.3: Content-Length is mandatory on a stream. */
	peer_send(p, bad, strlen(bad));
	RUN_UNTIL(f, p->is_eof);
	assert_true(
	    got_has(p, "SIP/2.0 400 Missing Content-Length header\r\n"));
	assert_true(got_has(p, "Call-ID: bad@127.0.0.1\r\n"));
	assert_true(got_has(p, "Server: switchboard-test\r\n"));
	assert_int_equal(f->nmsgs, 0);
	assert_int_equal(tp_conn_table_stats(f->t)->framing_errors, 1);
	RUN_UNTIL(f, tp_stream_conns(f->s) == 0);
}

static void test_tcp_per_ip_limit(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct peer *a, *b, *c;

	o.max_conns_per_ip = 2;
	start(f, &o);
	a = peer_connect(f, 0, SIP_TP_TCP);
	b = peer_connect(f, 1, SIP_TP_TCP);
	RUN_UNTIL(f, tp_conn_table_stats(f->t)->accepted == 2);
	c = peer_connect(f, 2, SIP_TP_TCP);
	RUN_UNTIL(f, c->is_eof);
	assert_int_equal(tp_conn_table_stats(f->t)->refused_per_ip, 1);
	assert_int_equal(tp_stream_conns(f->s), 2);

	/* The two admitted ones are still served. */
	peer_send(a, msg1, strlen(msg1));
	peer_send(b, msg2, strlen(msg2));
	RUN_UNTIL(f, f->nmsgs == 2);
	assert_false(a->is_eof);
	assert_false(b->is_eof);

	/* When one goes, the address may connect again. */
	uv_close((uv_handle_t *)&a->tcp, on_peer_closed);
	RUN_UNTIL(f, tp_stream_conns(f->s) == 1);
	c = peer_connect(f, 3, SIP_TP_TCP);
	RUN_UNTIL(f, tp_conn_table_stats(f->t)->accepted == 3);
	run_for(f, 20);
	assert_false(c->is_eof);
}

static void test_tcp_max_conns(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct peer *b;

	o.max_conns = 1;
	start(f, &o);
	peer_connect(f, 0, SIP_TP_TCP);
	RUN_UNTIL(f, tp_conn_table_stats(f->t)->accepted == 1);
	b = peer_connect(f, 1, SIP_TP_TCP);
	RUN_UNTIL(f, b->is_eof);
	assert_int_equal(tp_conn_table_stats(f->t)->refused_total, 1);
	assert_int_equal(tp_stream_conns(f->s), 1);
}

static void test_tcp_ipv6(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct tp_tcp_listen_opts lo = {.tp = SIP_TP_TCP};
	struct peer *p;
	int err;

	start(f, &o);
	assert_int_equal(uv_ip6_addr("::1", 0, &lo.addr.in6), 0);
	lo.addr.len = sizeof(lo.addr.in6);
	err = tp_tcp_listen(f->t, &lo, &f->tcp_addr);
	if (err == UV_EADDRNOTAVAIL || err == UV_EAFNOSUPPORT)
		skip(); /* no IPv6 loopback here */
	assert_int_equal(err, 0);
	assert_int_equal(f->tcp_addr.sa.sa_family, AF_INET6);
	p = peer_connect(f, 0, SIP_TP_TCP);
	peer_send(p, msg1, strlen(msg1));
	RUN_UNTIL(f, f->nmsgs == 1);
	assert_int_equal(f->msgs[0]->flow.remote.sa.sa_family, AF_INET6);
	assert_int_equal(
	    tp_stream_send(&f->msgs[0]->flow, reply, strlen(reply), NULL, NULL),
	    0);
	RUN_UNTIL(f, got_has(p, "200 OK"));
}

static void test_tcp_slowloris_cut_while_others_served(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct peer *slow, *good;
	uint64_t t0;
	size_t half = strlen(msg1) / 2;

	o.partial_timeout_ms = 200;
	o.idle_timeout_ms = 0;
	start(f, &o);
	slow = peer_connect(f, 0, SIP_TP_TCP);
	good = peer_connect(f, 1, SIP_TP_TCP);
	peer_send(slow, msg1, half);
	t0 = uv_now(&f->loop);
	for (int i = 0; i < 12; i++) {
		peer_send(good, msg2, strlen(msg2));
		run_for(f, 40);
	}
	RUN_UNTIL(f, f->nmsgs == 12);
	assert_true(slow->is_eof);
	assert_false(good->is_eof);
	assert_true(uv_now(&f->loop) - t0 >= 200);
	assert_int_equal(tp_conn_table_stats(f->t)->closed_partial, 1);
	for (size_t i = 0; i < f->nmsgs; i++)
		assert_msg(f, i, msg2);
}

static void test_tcp_idle_timeout(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct peer *p;

	o.idle_timeout_ms = 100;
	start(f, &o);
	p = peer_connect(f, 0, SIP_TP_TCP);
	RUN_UNTIL(f, p->is_eof);
	assert_int_equal(tp_conn_table_stats(f->t)->closed_idle, 1);
	assert_int_equal(tp_stream_conns(f->s), 0);
}

static void test_tls_pipelined_and_reply(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	static const size_t sizes[] = {1, 50, 333, 7};
	char tmp[CHUNK];
	struct buf cipher;
	struct peer *p;
	size_t n;

	start(f, &o);
	p = peer_connect(f, 0, SIP_TP_TLS);
	RUN_UNTIL(f, tp_tls_is_established(p->tls));
	/* Two messages, their records cut at odd places. */
	assert_int_equal(tp_tls_write(p->tls, msg1, strlen(msg1)), 0);
	assert_int_equal(tp_tls_write(p->tls, msg2, strlen(msg2)), 0);
	buf_init(&cipher, 0);
	while ((n = tp_tls_out_take(p->tls, tmp, sizeof(tmp))))
		buf_append(&cipher, tmp, n);
	peer_send_chunked(p, cipher.p, cipher.len, sizes, 4);
	buf_close(&cipher);
	RUN_UNTIL(f, f->nmsgs == 2);
	assert_msg(f, 0, msg1);
	assert_msg(f, 1, msg2);
	assert_int_equal(f->msgs[0]->flow.tp, SIP_TP_TLS);
	assert_int_equal(tp_conn_transport(f->msgs[0]->flow.conn), SIP_TP_TLS);

	assert_int_equal(
	    tp_stream_send(&f->msgs[1]->flow, reply, strlen(reply), on_sent, f),
	    0);
	RUN_UNTIL(f, f->nsent == 1 && got_has(p, "200 OK"));
	assert_int_equal(f->sent[0], 0);
	assert_int_equal(tp_conn_table_stats(f->t)->handshakes, 1);
}

/* A TLS peer that stops halfway through a record is cut off too. */
static void test_tls_partial_record_cut(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	char tmp[CHUNK];
	struct peer *p;
	size_t n;

	o.partial_timeout_ms = 150;
	start(f, &o);
	p = peer_connect(f, 0, SIP_TP_TLS);
	RUN_UNTIL(f, tp_tls_is_established(p->tls));
	assert_int_equal(tp_tls_write(p->tls, msg1, strlen(msg1)), 0);
	n = tp_tls_out_take(p->tls, tmp, sizeof(tmp));
	assert_true(n > 20);
	peer_write_raw(p, tmp, 20);
	RUN_UNTIL(f, p->is_eof);
	assert_int_equal(tp_conn_table_stats(f->t)->closed_partial, 1);
	assert_int_equal(f->nmsgs, 0);
}

static void test_tls_handshake_cap(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	const int n = 5;

	o.handshakes_per_turn = 1;
	start(f, &o);
	for (int i = 0; i < n; i++) {
		struct peer *p = &f->peers[i];
		const struct sip_addr *a = &f->tls_addr;
		p->fx = f;
		p->status = 1;
		buf_init(&p->got, 0);
		uv_tcp_init(&f->loop, &p->tcp);
		p->tcp.data = p->creq.data = p;
		p->is_open = true;
		tp_tls_new(f->cli_ctx, TP_TLS_CLIENT, "127.0.0.1", &p->tls);
		uv_tcp_connect(&p->creq, &p->tcp, &a->sa, on_peer_connect);
	}
	RUN_UNTIL(f, tp_conn_table_stats(f->t)->handshakes == (uint64_t)n);
	for (int i = 0; i < n; i++) {
		RUN_UNTIL(f, tp_tls_is_established(f->peers[i].tls));
		peer_send(&f->peers[i], msg1, strlen(msg1));
	}
	RUN_UNTIL(f, f->nmsgs == (size_t)n);
	assert_true(tp_conn_table_stats(f->t)->handshakes_deferred > 0);
}

static void test_tcp_outbound_connect_and_reuse(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct sip_flow flow = {.tp = SIP_TP_TCP};
	struct sip_inmsg *resp;

	start(f, &o);
	flow.remote = f->tcp_addr;
	/* No connection yet: one is made, the bytes wait for it. */
	assert_int_equal(tp_stream_send(&flow, msg1, strlen(msg1), on_sent, f),
			 0);
	assert_int_equal(tp_stream_send(&flow, msg2, strlen(msg2), on_sent, f),
			 0);
	RUN_UNTIL(f, f->nmsgs == 2 && f->nsent == 2);
	assert_int_equal(f->sent[0], 0);
	assert_int_equal(f->sent[1], 0);
	assert_msg(f, 0, msg1);
	assert_msg(f, 1, msg2);
	assert_int_equal(tp_conn_table_stats(f->t)->connected, 1);
	assert_int_equal(tp_conn_table_stats(f->t)->accepted, 1);

	/* The answer on the accepted side reaches the connecting side. */
	assert_int_equal(
	    tp_stream_send(&f->msgs[0]->flow, reply, strlen(reply), NULL, NULL),
	    0);
	RUN_UNTIL(f, f->nmsgs == 3);
	resp = f->msgs[2];
	assert_memory_equal(resp->data, reply, strlen(reply));
	assert_true(sip_addr_eq(&resp->flow.remote, &f->tcp_addr));
	assert_ptr_not_equal(resp->flow.conn, f->msgs[0]->flow.conn);

	/* A third send to that address reuses the connection. */
	assert_int_equal(tp_stream_send(&flow, msg1, strlen(msg1), on_sent, f),
			 0);
	RUN_UNTIL(f, f->nmsgs == 4 && f->nsent == 3);
	assert_int_equal(tp_conn_table_stats(f->t)->connected, 1);
	assert_int_equal(tp_stream_conns(f->s), 2);
}

static void test_tcp_connect_refused(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct sip_flow flow = {.tp = SIP_TP_TCP};
	uv_tcp_t probe;
	int len = sizeof(flow.remote.in);

	start(f, &o);
	/* A port nobody listens on: bind one, note it, close it. */
	uv_tcp_init(&f->loop, &probe);
	uv_ip4_addr("127.0.0.1", 0, &flow.remote.in);
	uv_tcp_bind(&probe, &flow.remote.sa, 0);
	uv_tcp_getsockname(&probe, &flow.remote.sa, &len);
	flow.remote.len = (socklen_t)len;
	uv_close((uv_handle_t *)&probe, NULL);
	run_for(f, 1);
	assert_int_equal(tp_stream_send(&flow, msg1, strlen(msg1), on_sent, f),
			 0);
	RUN_UNTIL(f, f->nsent == 1);
	assert_int_equal(f->sent[0], -ECONNREFUSED);
	assert_int_equal(tp_conn_table_stats(f->t)->connect_failed, 1);
	assert_int_equal(tp_stream_conns(f->s), 0);
}

/*
 * Two pretend workers: a connection owned by A, a send made "on" B. The
 * bytes are posted to A; the outcome is posted back to B.
 */
static void test_tcp_cross_worker(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct sip_flow by_addr = {.tp = SIP_TP_TCP};
	struct peer *p;

	o.self = hook_self;
	o.post = hook_post;
	current_worker = WORKER_A;
	start(f, &o);
	assert_int_equal(tp_conn_table_new(f->s, &f->loop, WORKER_B, &f->t2),
			 0);
	p = peer_connect(f, 0, SIP_TP_TCP);
	peer_send(p, msg1, strlen(msg1));
	RUN_UNTIL(f, f->nmsgs == 1);
	assert_ptr_equal(f->msg_worker[0], WORKER_A);

	current_worker = WORKER_B;
	assert_int_equal(
	    tp_stream_send(&f->msgs[0]->flow, reply, strlen(reply), on_sent, f),
	    0);
	/* Found by address in A's table from B (a connection from the peer
	 * is reused for requests to it). */
	by_addr.remote = f->msgs[0]->flow.remote;
	assert_int_equal(
	    tp_stream_send(&by_addr, reply, strlen(reply), on_sent, f), 0);
	current_worker = WORKER_A;
	RUN_UNTIL(f, f->nsent == 2 && p->got.len == 2 * strlen(reply));
	assert_int_equal(f->sent[0], 0);
	assert_int_equal(f->sent[1], 0);
	assert_ptr_equal(f->sent_worker[0], WORKER_B);
	assert_ptr_equal(f->sent_worker[1], WORKER_B);
	assert_int_equal(tp_conn_table_stats(f->t)->connected, 0);
	assert_int_equal(tp_conn_table_stats(f->t2)->connected, 0);
	assert_int_equal(tp_conn_table_stats(f->t)->messages_out, 2);
}

static void test_tcp_send_on_closed_conn(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct peer *p;
	struct sip_flow flow;

	start(f, &o);
	p = peer_connect(f, 0, SIP_TP_TCP);
	peer_send(p, msg1, strlen(msg1));
	RUN_UNTIL(f, f->nmsgs == 1);
	/* The peer goes away; the message keeps its connection counted. */
	uv_close((uv_handle_t *)&p->tcp, on_peer_closed);
	RUN_UNTIL(f,
		  tp_conn_state(f->msgs[0]->flow.conn) == TP_CONN_STATE_CLOSED);
	assert_int_equal(sb_live_get(SB_LIVE_CONN), f->live_conn + 1);
	/* A send on it falls back to a new connection to the address,
	 * which (an ephemeral port) is refused. */
	flow = f->msgs[0]->flow;
	assert_int_equal(
	    tp_stream_send(&flow, reply, strlen(reply), on_sent, f), 0);
	RUN_UNTIL(f, f->nsent == 1);
	assert_int_equal(f->sent[0], -ECONNREFUSED);
	f->msgs[0] = sip_inmsg_free(f->msgs[0]);
	f->nmsgs = 0;
	assert_int_equal(sb_live_get(SB_LIVE_CONN), f->live_conn);
}

/*
 * A listener made on the start-up thread holds its port (a program without
 * SO_REUSEPORT cannot take it), resolves port 0, names its advertised
 * address, and every worker's table listens on it with SO_REUSEPORT.
 */
static void test_tcp_stream_listener(void **state)
{
	struct fx *f = *state;
	struct tp_stream_opts o = base_opts(f);
	struct tp_stream_listener_opts lo = {
	    .tp = SIP_TP_TCP,
	    .advertise = "sip.example.com",
	    .advertise_port = 5080,
	};
	struct tp_tcp_listen_opts to = {.tp = SIP_TP_TCP, .is_reuseport = true};
	struct tp_listener *l = NULL, *l2 = NULL;
	struct sip_addr taken;
	socklen_t len = sizeof(taken.in);
	int fd;

	start(f, &o);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &lo.bind.in), 0);
	assert_int_equal(tp_stream_listener_new(&lo, &l), 0);
	assert_int_not_equal(sip_addr_port(tp_listener_addr(l)), 0);
	assert_int_equal(tp_listener_transport(l), SIP_TP_TCP);
	assert_true(slice_eq(tp_listener_host(l), SL("sip.example.com")));
	assert_int_equal(tp_listener_port(l), 5080);
	assert_ptr_equal(tp_listener_find(SIP_TP_TCP, AF_INET), l);
	assert_null(tp_listener_find(SIP_TP_TLS, AF_INET));
	assert_null(tp_listener_find(SIP_TP_TCP, AF_INET6));
	/* Before any worker listens, nobody else takes the port... */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_not_equal(
	    bind(fd, &tp_listener_addr(l)->sa, tp_listener_addr(l)->len), 0);
	assert_int_equal(errno, EADDRINUSE);
	close(fd);

	/* Two tables ("workers") listen on it; a message names it. */
	assert_int_equal(tp_conn_table_new(f->s, &f->loop, NULL, &f->t2), 0);
	to.addr = *tp_listener_addr(l);
	to.listener = l;
	assert_int_equal(tp_tcp_listen(f->t, &to, NULL), 0);
	assert_int_equal(tp_tcp_listen(f->t2, &to, NULL), 0);
	f->tcp_addr = *tp_listener_addr(l);
	peer_send(peer_connect(f, 0, SIP_TP_TCP), msg1, strlen(msg1));
	RUN_UNTIL(f, f->nmsgs == 1);
	assert_ptr_equal(f->msgs[0]->flow.listener, l);

	/* ...and a port someone else holds fails a new listener. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &taken.in), 0);
	assert_int_equal(bind(fd, &taken.sa, sizeof(taken.in)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, &taken.sa, &len), 0);
	lo.bind = taken;
	lo.tp = SIP_TP_TLS;
	assert_int_equal(tp_stream_listener_new(&lo, &l2), -EADDRINUSE);
	assert_null(l2);
	close(fd);
	lo.tp = SIP_TP_UDP;
	assert_int_equal(tp_stream_listener_new(&lo, &l2), -EINVAL);
	l = tp_listener_free(l);
	assert_null(tp_listener_find(SIP_TP_TCP, AF_INET));
}

static void test_tcp_stub_conn(void **state)
{
	struct fx *f = *state;
	struct sip_addr a = {0};
	struct tp_conn *c;

	uv_ip4_addr("192.0.2.7", 5070, &a.in);
	a.len = sizeof(a.in);
	assert_int_equal(tp_conn_stub_new(SIP_TP_TLS, &a, &c), 0);
	assert_int_equal(sb_live_get(SB_LIVE_CONN), f->live_conn + 1);
	assert_int_equal(tp_conn_state(c), TP_CONN_STATE_CLOSED);
	assert_int_equal(tp_conn_transport(c), SIP_TP_TLS);
	assert_true(sip_addr_eq(tp_conn_remote(c), &a));
	tp_conn_close(c); /* harmless */
	assert_ptr_equal(tp_conn_ref(c), c);
	assert_null(tp_conn_unref(c));
	assert_null(tp_conn_unref(c));
	assert_int_equal(sb_live_get(SB_LIVE_CONN), f->live_conn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tcp_pipelined_odd_chunks,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_tcp_bad_message_answered_then_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_per_ip_limit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_max_conns, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_ipv6, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_tcp_slowloris_cut_while_others_served, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_idle_timeout, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls_pipelined_and_reply, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls_partial_record_cut, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls_handshake_cap, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_outbound_connect_and_reuse,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_connect_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_cross_worker, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_send_on_closed_conn, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_stream_listener, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_stub_conn, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
