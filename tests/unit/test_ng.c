/* Unit tests for the rtpengine ng client against fake servers on loopback. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "media/ng.h"

enum {
	PEERS = 3,
	SEEN_MAX = 16,	  /* datagrams a peer keeps */
	DGRAM_MAX = 2048, /* bytes kept of each */
	TIMEOUT_MS = 20,
	WAIT_MS = 1000, /* the longest any wait may take */
};

/* What a fake rtpengine does with a request. */
enum peer_mode {
	PEER_OK,       /* "ok" with an sdp */
	PEER_PONG,     /* "pong" */
	PEER_ERROR,    /* "error" with an error-reason */
	PEER_SILENT,   /* nothing */
	PEER_GARBAGE,  /* the cookie and a cut dictionary */
	PEER_LIST,     /* the cookie and a list, not a dictionary */
	PEER_STRAY_OK, /* two replies matching nothing, then "ok" */
};

struct peer {
	uv_udp_t h;
	struct sockaddr_storage addr; /* where it listens */
	struct sockaddr_storage from; /* the sender of the last datagram */
	enum peer_mode mode;
	unsigned got; /* datagrams received */
	char seen[SEEN_MAX][DGRAM_MAX];
	size_t seen_len[SEEN_MAX];
	char rbuf[65536];
};

struct fx {
	int64_t live_alloc, live_arena;
	uv_loop_t loop;
	uv_timer_t watchdog;
	bool is_late;
	struct peer peer[PEERS];
	unsigned npeers;
	struct ng_client *c;
	struct ng_client *c2; /* a second client, when a test needs one */
	/* the last callback */
	unsigned ncb;
	int err, server;
	bool has_reply;
	char result[32], reason[64], sdp[64];
	bool is_free_in_cb;    /* the callback frees the client */
	bool is_request_in_cb; /* the callback starts another request */
};

static const char OFFER[] = "d7:command5:offer7:call-id3:abc"
			    "3:sdp10:v=0\r\no=- 1e";

static void copy_str(char *dst, size_t cap, struct slice s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	if (n)
		memcpy(dst, s.p, n);
	dst[n] = '\0';
}

static void on_reply(void *arg, int err, int server, const struct ben *reply)
{
	struct fx *f = arg;

	f->ncb++;
	f->err = err;
	f->server = server;
	f->has_reply = reply != NULL;
	f->result[0] = f->reason[0] = f->sdp[0] = '\0';
	if (reply) {
		copy_str(f->result, sizeof(f->result),
			 ben_get_str(reply, "result"));
		copy_str(f->reason, sizeof(f->reason),
			 ben_get_str(reply, "error-reason"));
		copy_str(f->sdp, sizeof(f->sdp), ben_get_str(reply, "sdp"));
	}
	if (f->is_request_in_cb) {
		f->is_request_in_cb = false;
		assert_int_equal(
		    ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	}
	if (f->is_free_in_cb)
		f->c = ng_client_free(f->c);
}

static void peer_send(struct peer *p, const struct sockaddr *to,
		      struct slice cookie, const char *body)
{
	char out[DGRAM_MAX];
	size_t n = strlen(body);
	uv_buf_t b;

	assert_true(cookie.len + 1 + n <= sizeof(out));
	memcpy(out, cookie.p, cookie.len);
	out[cookie.len] = ' ';
	memcpy(out + cookie.len + 1, body, n);
	b = uv_buf_init(out, (unsigned)(cookie.len + 1 + n));
	assert_int_equal(uv_udp_try_send(&p->h, &b, 1, to),
			 (int)(cookie.len + 1 + n));
}

static void on_peer_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	struct peer *p = h->data;

	*b = uv_buf_init(p->rbuf, sizeof(p->rbuf));
}

static void on_peer_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
			 const struct sockaddr *from, unsigned flags)
{
	struct peer *p = h->data;
	const char *sp;
	struct slice cookie;
	uv_buf_t raw;

	if (n <= 0 || !from)
		return;
	if (p->got < SEEN_MAX) {
		size_t keep = (size_t)n < DGRAM_MAX ? (size_t)n : DGRAM_MAX;

		memcpy(p->seen[p->got], b->base, keep);
		p->seen_len[p->got] = keep;
	}
	memcpy(&p->from, from,
	       from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in));
	p->got++;
	sp = memchr(b->base, ' ', (size_t)n);
	assert_non_null(sp);
	cookie = slice_make(b->base, (size_t)(sp - b->base));
	switch (p->mode) {
	case PEER_OK:
		peer_send(p, from, cookie, "d6:result2:ok3:sdp5:v=0\r\ne");
		break;
	case PEER_PONG:
		peer_send(p, from, cookie, "d6:result4:ponge");
		break;
	case PEER_ERROR:
		peer_send(p, from, cookie,
			  "d6:result5:error12:error-reason15:Unknown call-ide");
		break;
	case PEER_SILENT:
		break;
	case PEER_GARBAGE:
		peer_send(p, from, cookie, "d6:result2:ok3:sdp99:v=0");
		break;
	case PEER_LIST:
		peer_send(p, from, cookie, "l6:result2:oke");
		break;
	case PEER_STRAY_OK:
		peer_send(p, from, SL("nosuchcookie_w0_1"), "d6:result2:oke");
		raw = uv_buf_init("no-space-at-all", 15);
		assert_int_equal(uv_udp_try_send(&p->h, &raw, 1, from), 15);
		peer_send(p, from, cookie, "d6:result2:oke");
		break;
	}
}

static void peer_open(struct fx *f, struct peer *p, const char *ip)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	memset(p, 0, sizeof(*p));
	if (strchr(ip, ':'))
		assert_int_equal(uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss),
				 0);
	else
		assert_int_equal(uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss),
				 0);
	assert_int_equal(uv_udp_init(&f->loop, &p->h), 0);
	p->h.data = p;
	assert_int_equal(uv_udp_bind(&p->h, (struct sockaddr *)&ss, 0), 0);
	assert_int_equal(
	    uv_udp_getsockname(&p->h, (struct sockaddr *)&p->addr, &len), 0);
	assert_int_equal(uv_udp_recv_start(&p->h, on_peer_alloc, on_peer_recv),
			 0);
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_arena = sb_live_get(SB_LIVE_ARENA);
	assert_int_equal(uv_loop_init(&f.loop), 0);
	assert_int_equal(uv_timer_init(&f.loop, &f.watchdog), 0);
	f.watchdog.data = &f;
	*state = &f;
	return 0;
}

/* After a failed assertion, whatever is left open must not keep the
 * loop running forever. */
static void close_left(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->c = ng_client_free(f->c);
	f->c2 = ng_client_free(f->c2);
	for (unsigned i = 0; i < f->npeers; i++)
		uv_close((uv_handle_t *)&f->peer[i].h, NULL);
	uv_close((uv_handle_t *)&f->watchdog, NULL);
	uv_walk(&f->loop, close_left, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	sb_mem_fail_after(-1);
	assert_int_equal(sb_live_get(SB_LIVE_ARENA), f->live_arena);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

/* n more fake servers on ip, answering "ok" until told otherwise. */
static void peers(struct fx *f, unsigned n, const char *ip)
{
	for (unsigned i = 0; i < n; i++)
		peer_open(f, &f->peer[f->npeers++], ip);
}

static void client(struct fx *f, uint32_t tries, unsigned worker)
{
	struct ng_opts o = {.timeout_ms = TIMEOUT_MS,
			    .tries = tries,
			    .disable_s = 60,
			    .worker = worker};

	for (unsigned i = 0; i < f->npeers; i++)
		o.servers[o.nservers++] = f->peer[i].addr;
	assert_int_equal(ng_client_new(&f->loop, &o, &f->c), 0);
}

static void on_watchdog(uv_timer_t *t)
{
	struct fx *f = t->data;

	f->is_late = true;
}

/* Run the loop until *count reaches want, at most WAIT_MS. */
static void run_until(struct fx *f, const unsigned *count, unsigned want)
{
	f->is_late = false;
	uv_timer_start(&f->watchdog, on_watchdog, WAIT_MS, 0);
	while (*count < want && !f->is_late)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->watchdog);
	if (*count < want)
		fail_msg("waited %u ms: %u of %u", WAIT_MS, *count, want);
}

static void run_until_stray(struct fx *f, uint64_t want)
{
	const struct ng_stats *st = ng_client_stats(f->c);

	f->is_late = false;
	uv_timer_start(&f->watchdog, on_watchdog, WAIT_MS, 0);
	while (st->stray < want && !f->is_late)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->watchdog);
	if (st->stray < want)
		fail_msg("waited %u ms: %u of %u stray", WAIT_MS,
			 (unsigned)st->stray, (unsigned)want);
}

/* Run the loop for ms, whatever happens. */
static void run_for(struct fx *f, uint32_t ms)
{
	f->is_late = false;
	uv_timer_start(&f->watchdog, on_watchdog, ms, 0);
	while (!f->is_late)
		uv_run(&f->loop, UV_RUN_ONCE);
}

/* The cookie of datagram k of peer p, checked for the documented shape
 * "<8 hex digits>_w<worker>_<n>"; returns its length. */
static size_t cookie_of(const struct peer *p, unsigned k, unsigned worker,
			uint64_t n)
{
	const char *s = p->seen[k];
	const char *sp = memchr(s, ' ', p->seen_len[k]);
	char want[32];
	int wn;

	assert_non_null(sp);
	for (int i = 0; i < 8; i++)
		assert_non_null(strchr("0123456789abcdef", s[i]));
	wn = snprintf(want, sizeof(want), "_w%u_%llu", worker,
		      (unsigned long long)n);
	assert_int_equal(sp - s, 8 + wn);
	assert_memory_equal(s + 8, want, (size_t)wn);
	return (size_t)(sp - s);
}

static void test_ng_ok(void **state)
{
	struct fx *f = *state;
	const struct ng_stats *st;
	struct arena a;
	const struct ben *d;
	size_t clen;

	peers(f, 1, "127.0.0.1");
	client(f, 3, 7);
	st = ng_client_stats(f->c);
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	/* Sent at once, answered later: never from within ng_request. */
	assert_int_equal(f->ncb, 0);
	assert_int_equal(st->pending, 1);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, 0);
	assert_int_equal(f->server, 0);
	assert_true(f->has_reply);
	assert_string_equal(f->result, "ok");
	assert_string_equal(f->sdp, "v=0\r\n");

	/* What the server got: "<cookie> <the dictionary, as given>". */
	assert_int_equal(f->peer[0].got, 1);
	clen = cookie_of(&f->peer[0], 0, 7, 1);
	assert_int_equal(f->peer[0].seen_len[0], clen + 1 + sizeof(OFFER) - 1);
	assert_memory_equal(f->peer[0].seen[0] + clen + 1, OFFER,
			    sizeof(OFFER) - 1);
	arena_init(&a, NULL, 0, 0);
	assert_int_equal(ben_parse(slice_make(f->peer[0].seen[0] + clen + 1,
					      sizeof(OFFER) - 1),
				   &a, 0, &d),
			 0);
	assert_true(slice_eq(ben_get_str(d, "command"), SL("offer")));
	arena_close(&a);

	/* The next request: the same run prefix, the next number. */
	assert_int_equal(ng_request(f->c, NG_ANY, SL("d7:command4:pinge"),
				    on_reply, f, NULL),
			 0);
	run_until(f, &f->ncb, 2);
	assert_int_equal(f->err, 0);
	assert_int_equal(cookie_of(&f->peer[0], 1, 7, 2), clen);
	assert_memory_equal(f->peer[0].seen[0], f->peer[0].seen[1], 8);

	assert_int_equal(st->requests, 2);
	assert_int_equal(st->retransmits, 0);
	assert_int_equal(st->errors, 0);
	assert_int_equal(st->timeouts, 0);
	assert_int_equal(st->stray, 0);
	assert_int_equal(st->pending, 0);
	assert_true(ng_server_up(f->c, 0));
	assert_false(ng_server_up(f->c, 1));
}

/* Clients never share cookies, even with the same worker number. */
static void test_ng_cookie_per_client(void **state)
{
	struct fx *f = *state;

	peers(f, 1, "127.0.0.1");
	client(f, 3, 0);
	f->c2 = f->c;
	assert_int_equal(ng_request(f->c2, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 1);
	client(f, 3, 0);
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 2);
	assert_int_equal(f->peer[0].got, 2);
	assert_int_equal(cookie_of(&f->peer[0], 0, 0, 1),
			 cookie_of(&f->peer[0], 1, 0, 1));
	assert_memory_not_equal(f->peer[0].seen[0], f->peer[0].seen[1], 8);
}

static void test_ng_pong(void **state)
{
	struct fx *f = *state;

	peers(f, 1, "127.0.0.1");
	f->peer[0].mode = PEER_PONG;
	client(f, 3, 0);
	assert_int_equal(
	    ng_request(f->c, 0, SL("d7:command4:pinge"), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, 0);
	assert_string_equal(f->result, "pong");
}

static void test_ng_error_result(void **state)
{
	struct fx *f = *state;

	peers(f, 1, "127.0.0.1");
	f->peer[0].mode = PEER_ERROR;
	client(f, 3, 0);
	assert_int_equal(
	    ng_request(f->c, 0, SL("d7:command6:deletee"), on_reply, f, NULL),
	    0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, -EPROTO);
	assert_int_equal(f->server, 0);
	assert_true(f->has_reply);
	assert_string_equal(f->result, "error");
	assert_string_equal(f->reason, "Unknown call-id");
	assert_int_equal(ng_client_stats(f->c)->errors, 1);
	/* An answer, even an error, means the server is up. */
	assert_true(ng_server_up(f->c, 0));
}

static void test_ng_bad_reply(void **state)
{
	struct fx *f = *state;

	peers(f, 1, "127.0.0.1");
	f->peer[0].mode = PEER_GARBAGE;
	client(f, 3, 0);
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, -EBADMSG);
	assert_false(f->has_reply);
	f->peer[0].mode = PEER_LIST;
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 2);
	assert_int_equal(f->err, -EBADMSG);
	assert_false(f->has_reply);
	assert_int_equal(ng_client_stats(f->c)->errors, 2);
	assert_int_equal(ng_client_stats(f->c)->pending, 0);
	/* Nothing was sent again. */
	assert_int_equal(f->peer[0].got, 2);
}

static void test_ng_timeout(void **state)
{
	struct fx *f = *state;
	const struct ng_stats *st;
	uint64_t t0 = uv_hrtime();
	size_t clen;

	peers(f, 1, "127.0.0.1");
	f->peer[0].mode = PEER_SILENT;
	client(f, 3, 2);
	st = ng_client_stats(f->c);
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, -ETIMEDOUT);
	assert_false(f->has_reply);
	/* tries * timeout_ms, give or take the loop's clock. */
	assert_true(uv_hrtime() - t0 >=
		    (uint64_t)(3 * TIMEOUT_MS - 5) * 1000000);
	/* Three tries of the same bytes, the same cookie. */
	assert_int_equal(f->peer[0].got, 3);
	clen = cookie_of(&f->peer[0], 0, 2, 1);
	for (unsigned k = 1; k < 3; k++) {
		assert_int_equal(f->peer[0].seen_len[k],
				 f->peer[0].seen_len[0]);
		assert_memory_equal(f->peer[0].seen[k], f->peer[0].seen[0],
				    f->peer[0].seen_len[0]);
	}
	assert_int_equal(f->peer[0].seen_len[0], clen + sizeof(OFFER));
	assert_int_equal(st->retransmits, 2);
	assert_int_equal(st->timeouts, 1);
	assert_int_equal(st->pending, 0);
	assert_false(ng_server_up(f->c, 0));

	/* Disabled: no server for NG_ANY, nothing sent. */
	assert_int_equal(ng_request(f->c, NG_ANY, SL(OFFER), on_reply, f, NULL),
			 -EHOSTUNREACH);
	assert_int_equal(st->requests, 1);
	assert_int_equal(f->peer[0].got, 3);

	/* A call on that server still asks it; an answer brings it back. */
	f->peer[0].mode = PEER_OK;
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 2);
	assert_int_equal(f->err, 0);
	assert_true(ng_server_up(f->c, 0));
	assert_int_equal(ng_request(f->c, NG_ANY, SL(OFFER), on_reply, f, NULL),
			 0);
	run_until(f, &f->ncb, 3);
	assert_int_equal(f->err, 0);
}

static void test_ng_failover(void **state)
{
	struct fx *f = *state;
	const struct ng_stats *st;

	peers(f, 2, "127.0.0.1");
	f->peer[0].mode = PEER_SILENT;
	client(f, 2, 0);
	st = ng_client_stats(f->c);
	assert_int_equal(ng_request(f->c, NG_ANY, SL(OFFER), on_reply, f, NULL),
			 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, 0);
	assert_int_equal(f->server, 1);
	/* Two tries on the first, then the same bytes on the second. */
	assert_int_equal(f->peer[0].got, 2);
	assert_int_equal(f->peer[1].got, 1);
	assert_int_equal(f->peer[1].seen_len[0], f->peer[0].seen_len[0]);
	assert_memory_equal(f->peer[1].seen[0], f->peer[0].seen[0],
			    f->peer[0].seen_len[0]);
	assert_int_equal(st->failovers, 1);
	assert_int_equal(st->retransmits, 2);
	assert_int_equal(st->timeouts, 0);
	assert_false(ng_server_up(f->c, 0));
	assert_true(ng_server_up(f->c, 1));

	/* The silent one is skipped now. */
	assert_int_equal(ng_request(f->c, NG_ANY, SL(OFFER), on_reply, f, NULL),
			 0);
	assert_int_equal(ng_request(f->c, NG_ANY, SL(OFFER), on_reply, f, NULL),
			 0);
	run_until(f, &f->ncb, 3);
	assert_int_equal(f->peer[0].got, 2);
	assert_int_equal(f->peer[1].got, 3);
	assert_int_equal(st->failovers, 1);
}

/* Both silent: NG_ANY tries each, then gives up. */
static void test_ng_failover_all_silent(void **state)
{
	struct fx *f = *state;
	const struct ng_stats *st;

	peers(f, 2, "127.0.0.1");
	f->peer[0].mode = f->peer[1].mode = PEER_SILENT;
	client(f, 2, 0);
	st = ng_client_stats(f->c);
	assert_int_equal(ng_request(f->c, NG_ANY, SL(OFFER), on_reply, f, NULL),
			 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, -ETIMEDOUT);
	assert_int_equal(f->peer[0].got, 2);
	assert_int_equal(f->peer[1].got, 2);
	assert_int_equal(st->failovers, 1);
	assert_int_equal(st->timeouts, 1);
	assert_false(ng_server_up(f->c, 0));
	assert_false(ng_server_up(f->c, 1));
}

/* A request for a given server never moves. */
static void test_ng_specific_stays(void **state)
{
	struct fx *f = *state;
	const struct ng_stats *st;

	peers(f, 2, "127.0.0.1");
	f->peer[0].mode = PEER_SILENT;
	client(f, 3, 0);
	st = ng_client_stats(f->c);
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, -ETIMEDOUT);
	assert_int_equal(f->peer[0].got, 3);
	assert_int_equal(f->peer[1].got, 0);
	assert_int_equal(st->failovers, 0);
	assert_false(ng_server_up(f->c, 0));
	assert_true(ng_server_up(f->c, 1));
}

struct flood {
	struct fx *f;
	uv_timer_t t;
	unsigned sent;
	unsigned ncb_at_end; /* callbacks seen when the last was sent */
};

static void on_flood(uv_timer_t *t)
{
	struct flood *fl = t->data;

	assert_int_equal(
	    ng_request(fl->f->c, 0, SL(OFFER), on_reply, fl->f, NULL), 0);
	if (++fl->sent == 10) {
		fl->ncb_at_end = fl->f->ncb;
		uv_timer_stop(t);
	}
}

/* Requests that keep coming do not hold back the tries of earlier ones. */
static void test_ng_timer_not_starved(void **state)
{
	struct fx *f = *state;
	static struct flood fl; /* its timer outlives a failed assertion */

	memset(&fl, 0, sizeof(fl));
	fl.f = f;

	peers(f, 1, "127.0.0.1");
	f->peer[0].mode = PEER_SILENT;
	client(f, 2, 0);
	assert_int_equal(uv_timer_init(&f->loop, &fl.t), 0);
	fl.t.data = &fl;
	/* Every TIMEOUT_MS / 2 for 5 * TIMEOUT_MS; each gives up after
	 * 2 * TIMEOUT_MS, so the first ones are done before the last. */
	uv_timer_start(&fl.t, on_flood, 0, TIMEOUT_MS / 2);
	run_until(f, &fl.sent, 10);
	assert_true(fl.ncb_at_end >= 2);
	run_until(f, &f->ncb, 10);
	assert_int_equal(f->err, -ETIMEDOUT);
	assert_int_equal(f->peer[0].got, 20);
	uv_close((uv_handle_t *)&fl.t, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void test_ng_round_robin(void **state)
{
	struct fx *f = *state;

	peers(f, 3, "127.0.0.1");
	client(f, 3, 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(
		    ng_request(f->c, NG_ANY, SL(OFFER), on_reply, f, NULL), 0);
	assert_int_equal(ng_client_stats(f->c)->pending, 6);
	run_until(f, &f->ncb, 6);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f->peer[i].got, 2);
}

static void test_ng_cancel(void **state)
{
	struct fx *f = *state;
	const struct ng_stats *st;
	struct ng_req *r = NULL;

	peers(f, 2, "127.0.0.1");
	f->peer[1].mode = PEER_SILENT;
	client(f, 2, 0);
	st = ng_client_stats(f->c);
	/* Answered after the cancel: a stray reply, no callback. */
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, &r), 0);
	assert_non_null(r);
	ng_cancel(r);
	assert_int_equal(st->pending, 0);
	run_until_stray(f, 1);
	/* Never answered: no timeout after the cancel either. */
	assert_int_equal(ng_request(f->c, 1, SL(OFFER), on_reply, f, &r), 0);
	run_until(f, &f->peer[1].got, 1);
	ng_cancel(r);
	ng_cancel(NULL);
	run_for(f, 4 * TIMEOUT_MS);
	assert_int_equal(f->ncb, 0);
	assert_int_equal(f->peer[1].got, 1);
	assert_int_equal(st->timeouts, 0);
	assert_int_equal(st->pending, 0);
	assert_true(ng_server_up(f->c, 1));
	/* Cancel one of several: the others still come. */
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, &r), 0);
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	ng_cancel(r);
	run_until(f, &f->ncb, 2);
	run_until_stray(f, 2);
	assert_int_equal(f->ncb, 2);
}

static void test_ng_stray(void **state)
{
	struct fx *f = *state;
	const struct ng_stats *st;

	peers(f, 1, "127.0.0.1");
	f->peer[0].mode = PEER_STRAY_OK;
	client(f, 3, 0);
	st = ng_client_stats(f->c);
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, 0);
	assert_int_equal(st->stray, 2);
	assert_int_equal(st->errors, 0);
}

/*
 * A reply with the right cookie is stray when it comes from an address
 * that is no server, or from a server the request was not sent to; the
 * request still waits.
 */
static void test_ng_stray_source(void **state)
{
	struct fx *f = *state;
	struct peer *impostor = &f->peer[2];
	const struct sockaddr *to;
	struct slice cookie;
	const char *sp;

	peers(f, 2, "127.0.0.1");
	f->peer[0].mode = PEER_SILENT;
	client(f, 2, 0);
	peer_open(f, impostor, "127.0.0.1"); /* not a server of the client */
	f->npeers = 3;
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->peer[0].got, 1);
	sp = memchr(f->peer[0].seen[0], ' ', f->peer[0].seen_len[0]);
	assert_non_null(sp);
	cookie =
	    slice_make(f->peer[0].seen[0], (size_t)(sp - f->peer[0].seen[0]));
	to = (const struct sockaddr *)&f->peer[0].from;
	peer_send(impostor, to, cookie, "d6:result2:oke");
	run_until_stray(f, 1);
	peer_send(&f->peer[1], to, cookie, "d6:result2:oke");
	run_until_stray(f, 2);
	assert_int_equal(f->ncb, 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, -ETIMEDOUT);
	assert_int_equal(ng_client_stats(f->c)->stray, 2);
	assert_true(ng_server_up(f->c, 1));
}

static void test_ng_free_pending(void **state)
{
	struct fx *f = *state;

	peers(f, 1, "127.0.0.1");
	client(f, 3, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ng_request(f->c, i % 2 ? 0 : NG_ANY, SL(OFFER),
					    on_reply, f, NULL),
				 0);
	/* Freed with requests pending: no callback, ever. */
	f->c = ng_client_free(f->c);
	assert_null(f->c);
	run_for(f, 2 * TIMEOUT_MS);
	assert_int_equal(f->ncb, 0);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
}

/* The callback may start a request, or free the client, and the client
 * copes: the timer scan and the reply path stop touching what is gone. */
static void test_ng_reentry(void **state)
{
	struct fx *f = *state;

	peers(f, 2, "127.0.0.1");
	f->peer[1].mode = PEER_SILENT;
	client(f, 1, 0);
	f->is_request_in_cb = true;
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 2);
	assert_int_equal(f->err, 0);
	assert_int_equal(f->peer[0].got, 2);

	/* Freed from a timeout callback, with other requests due. */
	assert_int_equal(ng_request(f->c, 1, SL(OFFER), on_reply, f, NULL), 0);
	assert_int_equal(ng_request(f->c, 1, SL(OFFER), on_reply, f, NULL), 0);
	f->is_free_in_cb = true;
	run_until(f, &f->ncb, 3);
	assert_int_equal(f->err, -ETIMEDOUT);
	assert_null(f->c);
	run_for(f, 3 * TIMEOUT_MS);
	assert_int_equal(f->ncb, 3);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
}

static void test_ng_free_in_reply(void **state)
{
	struct fx *f = *state;

	peers(f, 1, "127.0.0.1");
	client(f, 3, 0);
	f->is_free_in_cb = true;
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	assert_int_equal(ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, 0);
	assert_null(f->c);
	run_for(f, 3 * TIMEOUT_MS);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
}

static void test_ng_bad_args(void **state)
{
	struct fx *f = *state;
	struct ng_opts o = {0};
	struct ng_client *c = (void *)0x1;
	char *big;

	assert_int_equal(ng_client_new(&f->loop, &o, &c), -EINVAL);
	o.nservers = NG_SERVERS_MAX + 1;
	assert_int_equal(ng_client_new(&f->loop, &o, &c), -EINVAL);
	o.nservers = 1;
	o.servers[0].ss_family = AF_UNIX;
	assert_int_equal(ng_client_new(&f->loop, &o, &c), -EINVAL);
	assert_ptr_equal(c, (void *)0x1);

	peers(f, 1, "127.0.0.1");
	client(f, 1, 0);
	assert_int_equal(ng_request(f->c, 1, SL(OFFER), on_reply, f, NULL),
			 -EINVAL);
	assert_int_equal(ng_request(f->c, -2, SL(OFFER), on_reply, f, NULL),
			 -EINVAL);
	assert_int_equal(ng_request(f->c, 0, SL(""), on_reply, f, NULL),
			 -EINVAL);
	assert_int_equal(
	    ng_request(f->c, 0, (struct slice){0}, on_reply, f, NULL), -EINVAL);
	big = calloc(1, 60001);
	assert_non_null(big);
	memset(big, 'x', 60001);
	assert_int_equal(
	    ng_request(f->c, 0, slice_make(big, 60001), on_reply, f, NULL),
	    -EINVAL);
	/* The largest request goes out whole. */
	f->peer[0].mode = PEER_SILENT;
	assert_int_equal(
	    ng_request(f->c, 0, slice_make(big, 60000), on_reply, f, NULL), 0);
	run_until(f, &f->peer[0].got, 1);
	free(big);
	assert_int_equal(ng_client_stats(f->c)->requests, 1);
	assert_int_equal(f->ncb, 0);
}

/* OOM: each allocation failing in turn fails cleanly with -ENOMEM. */
static void test_ng_oom(void **state)
{
	struct fx *f = *state;
	struct ng_opts o = {.nservers = 1, .timeout_ms = TIMEOUT_MS};
	int err = -ENOMEM;

	peers(f, 1, "127.0.0.1");
	o.servers[0] = f->peer[0].addr;
	for (int64_t n = 0; err == -ENOMEM; n++) {
		assert_true(n < 10);
		sb_mem_fail_after(n);
		err = ng_client_new(&f->loop, &o, &f->c);
		if (err == 0)
			err = ng_request(f->c, 0, SL(OFFER), on_reply, f, NULL);
		sb_mem_fail_after(-1);
		if (err == -ENOMEM) {
			f->c = ng_client_free(f->c);
			uv_run(&f->loop, UV_RUN_NOWAIT);
			assert_int_equal(sb_live_get(SB_LIVE_ALLOC),
					 f->live_alloc);
		}
	}
	assert_int_equal(err, 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, 0);
}

/* Servers of both families: one socket each. */
static void test_ng_ipv6(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in6 probe;
	uv_udp_t h;
	int rc;

	/* Skip where the sandbox has no IPv6 loopback. */
	assert_int_equal(uv_ip6_addr("::1", 0, &probe), 0);
	assert_int_equal(uv_udp_init(&f->loop, &h), 0);
	rc = uv_udp_bind(&h, (struct sockaddr *)&probe, 0);
	uv_close((uv_handle_t *)&h, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	if (rc != 0)
		skip();
	peers(f, 1, "127.0.0.1");
	peers(f, 1, "::1");
	f->peer[0].mode = PEER_SILENT;
	client(f, 1, 0);
	assert_int_equal(ng_request(f->c, 1, SL(OFFER), on_reply, f, NULL), 0);
	run_until(f, &f->ncb, 1);
	assert_int_equal(f->err, 0);
	assert_int_equal(f->server, 1);
	/* NG_ANY fails over from IPv4 to IPv6. */
	assert_int_equal(ng_request(f->c, NG_ANY, SL(OFFER), on_reply, f, NULL),
			 0);
	run_until(f, &f->ncb, 2);
	assert_int_equal(f->err, 0);
	assert_int_equal(f->server, 1);
	assert_int_equal(f->peer[0].got, 1);
	assert_int_equal(ng_client_stats(f->c)->failovers, 1);
}

#define NG_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    NG_TEST(test_ng_ok),
	    NG_TEST(test_ng_cookie_per_client),
	    NG_TEST(test_ng_pong),
	    NG_TEST(test_ng_error_result),
	    NG_TEST(test_ng_bad_reply),
	    NG_TEST(test_ng_timeout),
	    NG_TEST(test_ng_failover),
	    NG_TEST(test_ng_failover_all_silent),
	    NG_TEST(test_ng_specific_stays),
	    NG_TEST(test_ng_timer_not_starved),
	    NG_TEST(test_ng_round_robin),
	    NG_TEST(test_ng_cancel),
	    NG_TEST(test_ng_stray),
	    NG_TEST(test_ng_stray_source),
	    NG_TEST(test_ng_free_pending),
	    NG_TEST(test_ng_reentry),
	    NG_TEST(test_ng_free_in_reply),
	    NG_TEST(test_ng_bad_args),
	    NG_TEST(test_ng_oom),
	    NG_TEST(test_ng_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
