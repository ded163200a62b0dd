/* Unit tests for the transaction layer (sip/txn) on a simulated clock. */
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

#include "base/arena.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/wheel.h"
#include "sip/msg/msg.h"
#include "sip/transport/transport.h"
#include "sip/transport/stream.h"
#include "sip/txn/txn.h"

enum {
	MAX_SENT = 4200,
	MAX_CB = 32,
	T1 = 500,
	T2 = 4000,
	T4 = 5000,
	TD = 32000,
	MSG_MAX = 4096
};

/* What the layer handed to the send hook. */
struct sent {
	struct sip_flow flow; /* plain copy, no reference */
	char *data;	      /* malloc'd copy */
	size_t len;
	uint64_t at_ms; /* wheel clock when sent */
	tp_send_cb cb;
	void *arg;
};

struct fx {
	int64_t live_alloc, live_arena, live_txn, live_inmsg;
	struct sb_limits lim;
	struct wheel wheel;
	struct txn_layer *tl;
	struct arena arena; /* parses of what was sent */
	struct sent sent[MAX_SENT];
	size_t nsent;
	int send_err;	    /* returned by the next sends */
	int send_err_after; /* sends that succeed before send_err applies */
	int tcp_send_err;   /* returned by every TCP send */
	uint32_t path_mtu;  /* for the next open_layer */
	/* The TU */
	unsigned auto_status; /* replied from on_request; 0 = none */
	unsigned nreq;
	struct txn *srv; /* last server transaction */
	unsigned ncancel;
	struct txn *cancelled;
	bool cancel_replies; /* on_cancel answers 487 itself */
	unsigned ntimeout;
	struct txn *timed_out;
	unsigned nstray;
	bool stray_is_request;
	enum sip_method stray_method;
	unsigned stray_status;
	/* Client callbacks */
	unsigned ncb;
	int cb_err[MAX_CB];
	unsigned cb_status[MAX_CB];
	struct txn *cb_txn;
	bool cb_cancels; /* the callback cancels on its first 1xx */
};

static struct fx *g;

static struct sip_addr addr(const char *ip, uint16_t port)
{
	struct sip_addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(ip, ':')) {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &a.in6.sin6_addr), 1);
		a.len = sizeof(a.in6);
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &a.in.sin_addr), 1);
		a.len = sizeof(a.in);
	}
	return a;
}

static struct sip_flow flow(enum sip_transport tp, const char *ip,
			    uint16_t port)
{
	struct sip_flow fl;

	memset(&fl, 0, sizeof(fl));
	fl.tp = tp;
	fl.remote = addr(ip, port);
	return fl;
}

static int capture_send(const struct sip_flow *f, const char *data, size_t len,
			tp_send_cb cb, void *arg)
{
	struct sent *s;

	if (g->tcp_send_err && f->tp == SIP_TP_TCP)
		return g->tcp_send_err;
	if (g->send_err) {
		if (g->send_err_after == 0)
			return g->send_err;
		g->send_err_after--;
	}
	assert_true(g->nsent < MAX_SENT);
	s = &g->sent[g->nsent++];
	s->flow = *f;
	s->data = malloc(len);
	assert_non_null(s->data);
	memcpy(s->data, data, len);
	s->len = len;
	s->at_ms = g->wheel.now_ms;
	s->cb = cb;
	s->arg = arg;
	return 0;
}

static void on_request(void *ctx, struct txn *t, struct sip_msg *req)
{
	struct fx *f = ctx;

	f->nreq++;
	f->srv = t;
	assert_ptr_equal(txn_request(t), req);
	assert_true(txn_is_server(t));
	if (f->auto_status) {
		struct sip_reply_opts o = {.status = (uint16_t)f->auto_status};
		assert_int_equal(txn_reply(t, &o), 0);
	}
}

static void on_cancel(void *ctx, struct txn *t)
{
	struct fx *f = ctx;

	f->ncancel++;
	f->cancelled = t;
	if (f->cancel_replies) {
		struct sip_reply_opts o = {.status = 487};
		assert_int_equal(txn_reply(t, &o), 0);
	}
}

static void on_timeout(void *ctx, struct txn *t)
{
	struct fx *f = ctx;

	f->ntimeout++;
	f->timed_out = t;
	assert_true(txn_is_server(t));
	assert_int_equal(txn_method(t), SIP_METHOD_INVITE);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	assert_null(txn_request(t));
}

static void on_stray(void *ctx, struct sip_inmsg *im)
{
	struct fx *f = ctx;

	f->nstray++;
	f->stray_is_request = im->msg.is_request;
	f->stray_method = im->msg.method;
	f->stray_status = im->msg.status;
}

static void on_response(void *arg, struct txn *t, int err,
			struct sip_inmsg *resp)
{
	struct fx *f = arg;

	assert_true(f->ncb < MAX_CB);
	f->cb_err[f->ncb] = err;
	f->cb_status[f->ncb] = resp ? resp->msg.status : 0;
	f->ncb++;
	f->cb_txn = t;
	assert_true(err ? resp == NULL : resp != NULL);
	if (f->cb_cancels && resp && resp->msg.status < 200)
		assert_int_equal(txn_client_cancel(t), 0);
}

static void open_layer(struct fx *f, uint32_t max_txns, bool with_cancel)
{
	struct txn_layer_opts o = {
	    .timers = {T1, T2, T4, TD},
	    .user = {.on_request = on_request,
		     .on_cancel = with_cancel ? on_cancel : NULL,
		     .on_timeout = on_timeout,
		     .on_stray = on_stray,
		     .ctx = f},
	    .send = capture_send,
	    .wheel = &f->wheel,
	    .max_txns = max_txns,
	    .server = SL("switchboard-test"),
	    .path_mtu = f->path_mtu,
	};

	f->tl = txn_layer_free(f->tl);
	assert_int_equal(txn_layer_new(&o, &f->tl), 0);
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_arena = sb_live_get(SB_LIVE_ARENA);
	f.live_txn = sb_live_get(SB_LIVE_TXN);
	f.live_inmsg = sb_live_get(SB_LIVE_INMSG);
	f.lim = sb_limits_default();
	wheel_init(&f.wheel, 0);
	arena_init(&f.arena, NULL, 0, 0);
	g = &f;
	open_layer(&f, 0, false);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->tl = txn_layer_free(f->tl);
	assert_int_equal(f->wheel.count, 0);
	wheel_close(&f->wheel);
	arena_close(&f->arena);
	for (size_t i = 0; i < f->nsent; i++)
		free(f->sent[i].data);
	assert_int_equal(sb_live_get(SB_LIVE_TXN), f->live_txn);
	assert_int_equal(sb_live_get(SB_LIVE_INMSG), f->live_inmsg);
	assert_int_equal(sb_live_get(SB_LIVE_ARENA), f->live_arena);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static void advance_to(uint64_t ms)
{
	wheel_advance(&g->wheel, ms);
}

static void advance(uint64_t ms)
{
	wheel_advance(&g->wheel, g->wheel.now_ms + ms);
}

/* Receive text on a flow, as a transport would hand it over. */
static void recv_on(const char *text, const struct sip_flow *fl)
{
	size_t len = strlen(text);
	struct sip_inmsg *im = sip_inmsg_new(len);
	struct sip_perr perr;

	assert_non_null(im);
	memcpy(im->data, text, len);
	tp_flow_copy(&im->flow, fl);
	im->recv_ms = g->wheel.now_ms;
	assert_int_equal(sip_msg_parse(&im->msg, &im->arena, im->data, len,
				       SIP_FRAMING_DATAGRAM, &g->lim, &perr),
			 0);
	txn_layer_recv(g->tl, im);
}

static void recv_udp(const char *text)
{
	struct sip_flow fl = flow(SIP_TP_UDP, "192.0.2.10", 5070);

	recv_on(text, &fl);
}

static void recv_tcp(const char *text)
{
	struct sip_flow fl = flow(SIP_TP_TCP, "192.0.2.10", 40001);

	recv_on(text, &fl);
}

/* A request from 192.0.2.10:5070. */
static const char *request(char *buf, const char *method,
			   const char *cseq_method, const char *tp,
			   const char *via_params, const char *to_tag)
{
	snprintf(buf, MSG_MAX,
		 "%s sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/%s 192.0.2.10:5070%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>%s\r\n"
		 "Call-ID: call-1@example.com\r\n"
		 "CSeq: 1 %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, tp, via_params, to_tag, cseq_method);
	return buf;
}

static const char *req_udp(char *buf, const char *method, const char *branch)
{
	char vp[128];

	snprintf(vp, sizeof(vp), ";branch=%s", branch);
	return request(buf, method, method, "UDP", vp, "");
}

/* The client requests: INVITE or OPTIONS with two Route headers. */
static const char *client_req(char *buf, const char *method, const char *branch)
{
	snprintf(buf, MSG_MAX,
		 "%s sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=%s;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "Route: <sip:p1.example.com;lr>\r\n"
		 "Route: <sip:p2.example.com;lr>\r\n"
		 "From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: c1@example.com\r\n"
		 "CSeq: 7 %s\r\n"
		 "Contact: <sip:alice@192.0.2.1>\r\n"
		 "Content-Type: application/sdp\r\n"
		 "Content-Length: 5\r\n\r\n"
		 "v=0\r\n",
		 method, branch, method);
	return buf;
}

static const char *response(char *buf, unsigned status, const char *method,
			    const char *branch)
{
	snprintf(buf, MSG_MAX,
		 "SIP/2.0 %u Whatever\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=%s;rport=5060\r\n"
		 "From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>%s\r\n"
		 "Call-ID: c1@example.com\r\n"
		 "CSeq: 7 %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 status, branch, status > 100 ? ";tag=b9" : "", method);
	return buf;
}

static void recv_resp(unsigned status, const char *method, const char *branch)
{
	char buf[MSG_MAX];
	struct sip_flow fl = flow(SIP_TP_UDP, "203.0.113.9", 5060);

	recv_on(response(buf, status, method, branch), &fl);
}

/* Parse the i-th message sent (from the end when i < 0). */
static struct sip_msg *sent_msg(long i)
{
	struct sent *s = &g->sent[i < 0 ? (long)g->nsent + i : i];
	char *copy = arena_alloc(&g->arena, s->len);
	struct sip_msg *m = arena_zalloc(&g->arena, sizeof(*m));
	struct sip_perr perr;

	assert_true(i < 0 ? (size_t)-i <= g->nsent : (size_t)i < g->nsent);
	assert_non_null(copy);
	memcpy(copy, s->data, s->len);
	assert_int_equal(sip_msg_parse(m, &g->arena, copy, s->len,
				       SIP_FRAMING_DATAGRAM, &g->lim, &perr),
			 0);
	return m;
}

static unsigned sent_status(long i)
{
	struct sip_msg *m = sent_msg(i);

	assert_false(m->is_request);
	return m->status;
}

static bool sent_same(size_t a, size_t b)
{
	return g->sent[a].len == g->sent[b].len &&
	       memcmp(g->sent[a].data, g->sent[b].data, g->sent[a].len) == 0;
}

static void assert_sent_to(size_t i, const char *ip, uint16_t port)
{
	struct sip_addr want = addr(ip, port);

	assert_true(sip_addr_eq(&g->sent[i].flow.remote, &want));
}

static struct slice hdr_value(const struct sip_msg *m, enum sip_hdr_id id)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);

	assert_non_null(h);
	return h->value;
}

static void assert_slice(struct slice s, const char *want)
{
	if (!slice_eq(s, slice_cstr(want))) {
		print_error("got \"%.*s\", want \"%s\"\n", (int)s.len,
			    s.p ? s.p : "", want);
		fail();
	}
}

static int reply(struct txn *t, unsigned status)
{
	struct sip_reply_opts o = {.status = (uint16_t)status};

	return txn_reply(t, &o);
}

/* ---- INVITE server ---- */

static void test_txn_invite_server_sends_100(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];
	struct sip_msg *m;

	recv_udp(req_udp(buf, "INVITE", "z9hG4bKinv1"));
	assert_int_equal(f->nreq, 1);
	assert_int_equal(txn_state(f->srv), TXN_STATE_PROCEEDING);
	assert_int_equal(txn_method(f->srv), SIP_METHOD_INVITE);
	assert_int_equal(f->nsent, 1);
	m = sent_msg(0);
	assert_int_equal(m->status, 100);
	assert_null(m->to->tag.p); /* RFC 3261 8.2.6.2: no tag on 100 */
	assert_slice(m->via->branch, "z9hG4bKinv1");
	/* the Via host is the source address: no received, no rport */
	assert_null(m->via->received.p);
	assert_sent_to(0, "192.0.2.10", 5070);
	assert_int_equal(f->sent[0].flow.tp, SIP_TP_UDP);
	assert_null(f->sent[0].cb);
	assert_int_equal(txn_layer_stats(f->tl)->requests[SIP_METHOD_INVITE],
			 1);
	assert_int_equal(txn_layer_stats(f->tl)->responses_out[1], 1);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	assert_int_equal(sb_live_get(SB_LIVE_TXN), f->live_txn + 1);
	assert_int_equal(reply(f->srv, 486), 0);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_invite_server_retransmit_resends_last(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];

	recv_udp(req_udp(buf, "INVITE", "z9hG4bKinv2"));
	recv_udp(buf); /* resends the 100 */
	assert_int_equal(f->nsent, 2);
	assert_true(sent_same(0, 1));
	assert_int_equal(reply(f->srv, 180), 0);
	assert_int_equal(sent_status(2), 180);
	assert_non_null(sent_msg(2)->to->tag.p);
	recv_udp(buf);
	assert_int_equal(f->nsent, 4);
	assert_true(sent_same(2, 3));
	assert_int_equal(f->nreq, 1);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	assert_int_equal(txn_layer_stats(f->tl)->retransmits_in, 2);
	assert_int_equal(txn_layer_stats(f->tl)->requests[SIP_METHOD_INVITE],
			 1);
	/* the final keeps the To tag of the 180 */
	assert_int_equal(reply(f->srv, 603), 0);
	assert_true(slice_eq(sent_msg(-1)->to->tag, sent_msg(2)->to->tag));
	recv_udp(buf);
	assert_true(sent_same(f->nsent - 1, f->nsent - 2));
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_invite_server_timer_g_and_h(void **state)
{
	struct fx *f = *state;
	static const uint64_t want[] = {0,     500,   1500,  3500,  7500, 11500,
					15500, 19500, 23500, 27500, 31500};
	char buf[MSG_MAX];

	f->auto_status = 486;
	recv_udp(req_udp(buf, "INVITE", "z9hG4bKinv3"));
	assert_int_equal(txn_state(f->srv), TXN_STATE_COMPLETED);
	advance_to(31999);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	/* the 100, then the 486 at T1, 2T1, 4T1 ... capped at T2 */
	assert_int_equal(f->nsent, 1 + 11);
	for (size_t i = 0; i < 11; i++) {
		assert_int_equal(sent_status((long)i + 1), 486);
		assert_int_equal(f->sent[i + 1].at_ms, want[i]);
		assert_true(sent_same(1, i + 1));
	}
	assert_int_equal(txn_layer_stats(f->tl)->retransmits_out, 10);
	assert_int_equal(txn_layer_stats(f->tl)->timeouts, 0);
	/* Timer H: no ACK within 64*T1 */
	advance_to(32000);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(txn_layer_stats(f->tl)->timeouts, 1);
	assert_int_equal(f->nsent, 12);
	/* a late retransmission is a new transaction now */
	recv_udp(buf);
	assert_int_equal(f->nreq, 2);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_invite_server_tcp_no_timer_g(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];

	f->auto_status = 486;
	recv_tcp(
	    request(buf, "INVITE", "INVITE", "TCP", ";branch=z9hG4bKtcp1", ""));
	assert_int_equal(f->nsent, 2);
	assert_int_equal(f->sent[1].flow.tp, SIP_TP_TCP);
	advance_to(31999);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(txn_layer_stats(f->tl)->retransmits_out, 0);
	advance_to(32000); /* Timer H runs on every transport */
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(txn_layer_stats(f->tl)->timeouts, 1);
}

static void test_txn_invite_server_ack_confirmed_timer_i(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX], ack[MSG_MAX];
	char tag[64];
	struct sip_msg *m;

	f->auto_status = 404;
	recv_udp(req_udp(inv, "INVITE", "z9hG4bKinv4"));
	advance_to(600); /* one Timer G resend at 500 */
	assert_int_equal(f->nsent, 3);
	m = sent_msg(1);
	snprintf(tag, sizeof(tag), ";tag=%.*s", (int)m->to->tag.len,
		 m->to->tag.p);
	request(ack, "ACK", "ACK", "UDP", ";branch=z9hG4bKinv4", tag);
	recv_udp(ack);
	assert_int_equal(txn_state(f->srv), TXN_STATE_CONFIRMED);
	assert_int_equal(f->nstray, 0);
	assert_int_equal(txn_layer_stats(f->tl)->requests[SIP_METHOD_ACK], 1);
	/* no more Timer G; ACK and INVITE retransmissions are absorbed */
	recv_udp(ack);
	recv_udp(inv);
	advance_to(600 + T4 - 1);
	assert_int_equal(f->nsent, 3);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	assert_int_equal(txn_layer_stats(f->tl)->retransmits_in, 2);
	/* Timer I = T4 over UDP */
	advance_to(600 + T4);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(txn_layer_stats(f->tl)->timeouts, 0);
	/* an ACK after the end matches nothing */
	recv_udp(ack);
	assert_int_equal(f->nstray, 1);
}

static void test_txn_invite_server_ack_tcp_timer_i_zero(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX], ack[MSG_MAX];

	f->auto_status = 480;
	recv_tcp(
	    request(inv, "INVITE", "INVITE", "TCP", ";branch=z9hG4bKt2", ""));
	recv_tcp(
	    request(ack, "ACK", "ACK", "TCP", ";branch=z9hG4bKt2", ";tag=x"));
	assert_int_equal(txn_state(f->srv), TXN_STATE_CONFIRMED);
	advance(0);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_invite_server_2xx_accepted_timer_l(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX], ack[MSG_MAX];
	struct sip_reply_opts o = {.status = 200};
	struct txn *t;

	recv_udp(req_udp(inv, "INVITE", "z9hG4bKinv5"));
	t = f->srv;
	assert_int_equal(txn_reply(t, &o), 0);
	assert_int_equal(txn_state(t), TXN_STATE_ACCEPTED);
	assert_int_equal(f->nsent, 2);
	/* RFC 6026: INVITE retransmissions absorbed, nothing resent */
	recv_udp(inv);
	assert_int_equal(f->nsent, 2);
	advance_to(10000);
	assert_int_equal(f->nsent, 2); /* the layer never resends a 2xx */
	/* the TU's own 2xx retransmission goes through */
	assert_int_equal(txn_reply(t, &o), 0);
	assert_int_equal(f->nsent, 3);
	assert_true(sent_same(1, 2));
	o.status = 486;
	assert_int_equal(txn_reply(t, &o), -EINVAL);
	/* the ACK for a 2xx has its own branch: to the TU */
	recv_udp(
	    request(ack, "ACK", "ACK", "UDP", ";branch=z9hG4bKack5", ";tag=x"));
	assert_int_equal(f->nstray, 1);
	assert_true(f->stray_is_request);
	assert_int_equal(f->stray_method, SIP_METHOD_ACK);
	/* an ACK that does match goes to the TU as well (RFC 6026 7.1) */
	recv_udp(
	    request(ack, "ACK", "ACK", "UDP", ";branch=z9hG4bKinv5", ";tag=x"));
	assert_int_equal(f->nstray, 2);
	assert_int_equal(txn_layer_stats(f->tl)->stray, 2);
	/* Timer L: 64*T1 after the 2xx */
	advance_to(31999);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	advance_to(32000);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(txn_layer_stats(f->tl)->timeouts, 0);
	assert_int_equal(txn_layer_stats(f->tl)->responses_out[2], 2);
}

/* ---- non-INVITE server ---- */

static void test_txn_non_invite_server_states(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];
	struct txn *t;

	recv_udp(req_udp(buf, "OPTIONS", "z9hG4bKopt1"));
	t = f->srv;
	assert_int_equal(txn_state(t), TXN_STATE_TRYING);
	assert_int_equal(f->nsent, 0);
	recv_udp(buf); /* Trying: absorbed, nothing to send */
	assert_int_equal(f->nsent, 0);
	assert_int_equal(reply(t, 100), 0);
	assert_int_equal(txn_state(t), TXN_STATE_PROCEEDING);
	recv_udp(buf); /* Proceeding: the provisional again */
	assert_int_equal(f->nsent, 2);
	assert_true(sent_same(0, 1));
	assert_int_equal(reply(t, 200), 0);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	assert_int_equal(reply(t, 200), -EINVAL);
	recv_udp(buf); /* Completed: the final again */
	assert_int_equal(f->nsent, 4);
	assert_true(sent_same(2, 3));
	assert_int_equal(sent_status(3), 200);
	assert_int_equal(f->nreq, 1);
	assert_int_equal(txn_layer_stats(f->tl)->retransmits_in, 3);
	/* no retransmission by timer; Timer J = 64*T1 over UDP */
	advance_to(31999);
	assert_int_equal(f->nsent, 4);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	advance_to(32000);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_non_invite_server_timer_j_tcp(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];

	f->auto_status = 200;
	recv_tcp(request(buf, "OPTIONS", "OPTIONS", "TCP",
			 ";branch=z9hG4bKopt2", ""));
	assert_int_equal(f->nsent, 1);
	assert_int_equal(txn_state(f->srv), TXN_STATE_COMPLETED);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	advance(0); /* Timer J is zero on a reliable transport */
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_server_no_tu_501(void **state)
{
	struct fx *f = *state;
	struct txn_layer_opts o = {.send = capture_send, .wheel = &f->wheel};
	char buf[MSG_MAX];

	f->tl = txn_layer_free(f->tl);
	assert_int_equal(txn_layer_new(&o, &f->tl), 0);
	recv_udp(req_udp(buf, "MESSAGE", "z9hG4bKm1"));
	assert_int_equal(sent_status(0), 501);
	recv_udp(request(buf, "ACK", "ACK", "UDP", ";branch=z9hG4bKa", ""));
	assert_int_equal(txn_layer_stats(f->tl)->stray, 1);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

/* ---- where responses go (RFC 3261 18.2, RFC 3581) ---- */

static void test_txn_reply_rport_received(void **state)
{
	struct fx *f = *state;
	struct sip_flow fl = flow(SIP_TP_UDP, "198.51.100.7", 40000);
	char buf[MSG_MAX];
	struct sip_msg *m;

	f->auto_status = 200;
	recv_on(request(buf, "OPTIONS", "OPTIONS", "UDP",
			";branch=z9hG4bKr1;rport", ""),
		&fl);
	assert_sent_to(0, "198.51.100.7", 40000);
	m = sent_msg(0);
	assert_slice(m->via->received, "198.51.100.7");
	assert_slice(m->via->rport, "40000");
	assert_int_equal(txn_flow(f->srv)->tp, SIP_TP_UDP);
	assert_true(sip_addr_eq(&txn_flow(f->srv)->remote, &fl.remote));
	advance(64 * T1);
}

static void test_txn_reply_rport_same_host(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];
	struct sip_msg *m;

	f->auto_status = 200;
	/* RFC 3581 4: received even when it equals the sent-by host */
	recv_udp(request(buf, "OPTIONS", "OPTIONS", "UDP",
			 ";rport;branch=z9hG4bKr2", ""));
	m = sent_msg(0);
	assert_slice(m->via->received, "192.0.2.10");
	assert_slice(m->via->rport, "5070");
	assert_sent_to(0, "192.0.2.10", 5070);
	advance(64 * T1);
}

static void test_txn_reply_received_no_rport(void **state)
{
	struct fx *f = *state;
	struct sip_flow fl = flow(SIP_TP_UDP, "198.51.100.7", 40000);
	char buf[MSG_MAX];
	struct sip_msg *m;

	f->auto_status = 200;
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP client.example.com:5072;branch=z9hG4bKr3\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: r3@example.com\r\n"
		 "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n");
	recv_on(buf, &fl);
	/* RFC 3261 18.2.2: received address, sent-by port */
	assert_sent_to(0, "198.51.100.7", 5072);
	m = sent_msg(0);
	assert_slice(m->via->received, "198.51.100.7");
	assert_false(m->via->has_rport);
	advance(64 * T1);
}

static void test_txn_reply_default_port_and_maddr(void **state)
{
	struct fx *f = *state;
	struct sip_flow fl = flow(SIP_TP_UDP, "198.51.100.7", 40000);
	char buf[MSG_MAX];

	f->auto_status = 200;
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP client.example.com;branch=z9hG4bKr4\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: r4@example.com\r\n"
		 "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n");
	recv_on(buf, &fl);
	assert_sent_to(0, "198.51.100.7", 5060);
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP client.example.com:5090"
		 ";maddr=203.0.113.5;branch=z9hG4bKr5\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: r5@example.com\r\n"
		 "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n");
	recv_on(buf, &fl);
	/* RFC 3261 18.2.2: maddr at the sent-by port */
	assert_sent_to(1, "203.0.113.5", 5090);
	/* a maddr that names a host we would have to resolve: received */
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP client.example.com:5090"
		 ";maddr=mcast.example.com;branch=z9hG4bKr8\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: r8@example.com\r\n"
		 "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n");
	recv_on(buf, &fl);
	assert_sent_to(2, "198.51.100.7", 5090);
	advance(64 * T1);
}

static void test_txn_reply_ipv6(void **state)
{
	struct fx *f = *state;
	struct sip_flow fl = flow(SIP_TP_UDP, "2001:db8::7", 41000);
	char buf[MSG_MAX];
	struct sip_msg *m;

	f->auto_status = 200;
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP [2001:db8::7]:5070;branch=z9hG4bKr6\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: r6@example.com\r\n"
		 "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n");
	recv_on(buf, &fl);
	assert_sent_to(0, "2001:db8::7", 5070);
	m = sent_msg(0);
	assert_null(m->via->received.p);
	advance(64 * T1);
}

static void test_txn_reply_tcp_same_connection(void **state)
{
	struct fx *f = *state;
	struct sip_flow fl = flow(SIP_TP_TCP, "198.51.100.7", 40002);
	char buf[MSG_MAX];

	/* A counted connection with no socket behind it. */
	assert_int_equal(tp_conn_stub_new(SIP_TP_TCP, &fl.remote, &fl.conn), 0);
	f->auto_status = 200;
	recv_on(request(buf, "OPTIONS", "OPTIONS", "TCP",
			";branch=z9hG4bKr7;rport", ""),
		&fl);
	assert_int_equal(f->sent[0].flow.tp, SIP_TP_TCP);
	assert_ptr_equal(f->sent[0].flow.conn, fl.conn);
	/* a new connection would go to the source IP, sent-by port */
	assert_sent_to(0, "198.51.100.7", 5070);
	advance(0);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	fl.conn = tp_conn_unref(fl.conn);
}

/* ---- CANCEL, server side (RFC 3261 9.2) ---- */

static void test_txn_cancel_server_200_and_487(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX], can[MSG_MAX], ack[MSG_MAX];
	struct sip_msg *ok, *term;
	struct txn *t;

	recv_udp(req_udp(inv, "INVITE", "z9hG4bKc1"));
	t = f->srv;
	assert_int_equal(reply(t, 180), 0);
	recv_udp(req_udp(can, "CANCEL", "z9hG4bKc1"));
	assert_int_equal(f->nreq, 1); /* the TU never sees the CANCEL */
	assert_int_equal(txn_layer_alive(f->tl), 2);
	assert_int_equal(f->nsent, 4);
	ok = sent_msg(2);
	assert_int_equal(ok->status, 200);
	assert_int_equal(ok->cseq.method, SIP_METHOD_CANCEL);
	term = sent_msg(3);
	assert_int_equal(term->status, 487);
	assert_int_equal(term->cseq.method, SIP_METHOD_INVITE);
	/* the same To tag as the INVITE's responses */
	assert_true(slice_eq(ok->to->tag, term->to->tag));
	assert_true(slice_eq(sent_msg(1)->to->tag, term->to->tag));
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	assert_int_equal(txn_layer_stats(f->tl)->requests[SIP_METHOD_CANCEL],
			 1);
	/* a retransmitted CANCEL gets its 200 again */
	recv_udp(can);
	assert_int_equal(f->nsent, 5);
	assert_true(sent_same(2, 4));
	assert_int_equal(txn_layer_alive(f->tl), 2);
	request(ack, "ACK", "ACK", "UDP", ";branch=z9hG4bKc1", ";tag=x");
	recv_udp(ack);
	assert_int_equal(txn_state(t), TXN_STATE_CONFIRMED);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_cancel_server_on_cancel(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX], can[MSG_MAX];

	open_layer(f, 0, true);
	f->cancel_replies = true;
	recv_udp(req_udp(inv, "INVITE", "z9hG4bKc2"));
	recv_udp(req_udp(can, "CANCEL", "z9hG4bKc2"));
	assert_int_equal(f->ncancel, 1);
	assert_ptr_equal(f->cancelled, f->srv);
	assert_int_equal(f->nsent, 3);
	assert_int_equal(sent_status(1), 200);
	assert_int_equal(sent_status(2), 487);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_cancel_server_no_match_481(void **state)
{
	struct fx *f = *state;
	char can[MSG_MAX];

	recv_udp(req_udp(can, "CANCEL", "z9hG4bKnone"));
	assert_int_equal(f->nsent, 1);
	assert_int_equal(sent_status(0), 481);
	assert_int_equal(f->nreq, 0);
	recv_udp(can); /* absorbed by the CANCEL's own transaction */
	assert_int_equal(f->nsent, 2);
	assert_true(sent_same(0, 1));
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_cancel_server_after_final(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX], can[MSG_MAX];

	open_layer(f, 0, true);
	f->auto_status = 486;
	recv_udp(req_udp(inv, "INVITE", "z9hG4bKc3"));
	recv_udp(req_udp(can, "CANCEL", "z9hG4bKc3"));
	/* RFC 3261 9.2: 200 anyway, the INVITE is not touched */
	assert_int_equal(sent_status(-1), 200);
	assert_int_equal(f->ncancel, 0);
	assert_int_equal(f->nsent, 3);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

/* ---- a Completed server lets its request go ---- */

static int64_t live_inmsg(void)
{
	return sb_live_get(SB_LIVE_INMSG) - g->live_inmsg;
}

static void test_txn_release_non_invite_completed(void **state)
{
	struct fx *f = *state;
	struct sip_flow fl = flow(SIP_TP_UDP, "198.51.100.7", 40000);
	char buf[MSG_MAX], other[MSG_MAX];
	struct txn *t;

	recv_on(request(buf, "OPTIONS", "OPTIONS", "UDP",
			";branch=z9hG4bKrel1;rport", ""),
		&fl);
	t = f->srv;
	assert_int_equal(live_inmsg(), 1);
	assert_non_null(txn_request(t));
	assert_int_equal(reply(t, 100), 0);
	assert_int_equal(live_inmsg(), 1); /* Proceeding keeps it */
	assert_int_equal(reply(t, 200), 0);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	assert_int_equal(live_inmsg(), 0);
	assert_null(txn_request(t));
	assert_int_equal(txn_flow(t)->tp, SIP_TP_UDP);
	assert_true(sip_addr_eq(&txn_flow(t)->remote, &fl.remote));
	/* RFC 3261 17.2.2: retransmissions get the same bytes, to the
	 * same place (received and rport were worked out before) */
	recv_on(buf, &fl);
	recv_on(buf, &fl);
	assert_int_equal(f->nsent, 4);
	assert_true(sent_same(1, 2));
	assert_true(sent_same(1, 3));
	assert_sent_to(3, "198.51.100.7", 40000);
	assert_slice(sent_msg(3)->via->received, "198.51.100.7");
	assert_int_equal(f->nreq, 1);
	assert_int_equal(live_inmsg(), 0);
	/* matching still checks sent-by: another client, another txn */
	snprintf(other, sizeof(other),
		 "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 198.51.100.8:5070;branch=z9hG4bKrel1\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: rel1@example.com\r\n"
		 "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n");
	recv_on(other, &fl);
	assert_int_equal(f->nreq, 2);
	assert_int_equal(reply(f->srv, 200), 0);
	/* and the method: the same branch for INFO is new as well */
	recv_udp(req_udp(other, "INFO", "z9hG4bKrel1"));
	assert_int_equal(f->nreq, 3);
	assert_int_equal(reply(f->srv, 200), 0);
	assert_int_equal(live_inmsg(), 0);
	/* Timer J still ends it */
	advance_to(64 * T1 - 1);
	assert_int_equal(txn_layer_alive(f->tl), 3);
	advance_to(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_release_unknown_method(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX], other[MSG_MAX];

	f->auto_status = 405;
	recv_udp(req_udp(buf, "FOO", "z9hG4bKrel2"));
	assert_int_equal(live_inmsg(), 0);
	recv_udp(buf); /* RFC 3261 7.1: matched by the kept method name */
	assert_int_equal(f->nreq, 1);
	assert_int_equal(f->nsent, 2);
	assert_true(sent_same(0, 1));
	recv_udp(req_udp(other, "FOOD", "z9hG4bKrel2"));
	recv_udp(req_udp(other, "foo", "z9hG4bKrel2")); /* case-sensitive */
	assert_int_equal(f->nreq, 3);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_release_invite_non2xx(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX], ack[MSG_MAX], tag[64];
	struct sip_msg *m;
	struct txn *t;

	recv_udp(req_udp(inv, "INVITE", "z9hG4bKrel3"));
	t = f->srv;
	assert_int_equal(reply(t, 180), 0);
	assert_int_equal(live_inmsg(), 1);
	assert_int_equal(reply(t, 486), 0);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	assert_int_equal(live_inmsg(), 0);
	assert_null(txn_request(t));
	/* Timer G and absorbed retransmissions: the same 486 */
	advance_to(T1);
	recv_udp(inv);
	assert_int_equal(f->nsent, 5);
	assert_int_equal(sent_status(2), 486);
	assert_true(sent_same(2, 3));
	assert_true(sent_same(2, 4));
	m = sent_msg(2);
	assert_true(slice_eq(m->to->tag, sent_msg(1)->to->tag));
	snprintf(tag, sizeof(tag), ";tag=%.*s", (int)m->to->tag.len,
		 m->to->tag.p);
	/* an ACK from another sent-by is not this transaction's */
	snprintf(ack, sizeof(ack),
		 "ACK sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5071;branch=z9hG4bKrel3\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>%s\r\n"
		 "Call-ID: call-1@example.com\r\n"
		 "CSeq: 1 ACK\r\n"
		 "Content-Length: 0\r\n\r\n",
		 tag);
	recv_udp(ack);
	assert_int_equal(f->nstray, 1);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	/* RFC 3261 17.2.1: the ACK matches by the kept branch and sent-by */
	recv_udp(request(ack, "ACK", "ACK", "UDP", ";branch=z9hG4bKrel3", tag));
	assert_int_equal(txn_state(t), TXN_STATE_CONFIRMED);
	assert_int_equal(f->nstray, 1);
	recv_udp(inv); /* Confirmed absorbs silently */
	recv_udp(ack);
	assert_int_equal(f->nsent, 5);
	assert_int_equal(f->nreq, 1);
	assert_null(txn_request(t));
	advance_to(T1 + T4); /* Timer I */
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(f->ntimeout, 0);
}

static void test_txn_release_invite_2xx_keeps(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX];
	struct sip_reply_opts o = {.status = 200};
	struct txn *t;

	recv_udp(req_udp(inv, "INVITE", "z9hG4bKrel4"));
	t = f->srv;
	assert_int_equal(txn_reply(t, &o), 0);
	assert_int_equal(txn_state(t), TXN_STATE_ACCEPTED);
	/* RFC 6026 7.1: the TU may resend the 2xx, built from the request */
	assert_int_equal(live_inmsg(), 1);
	assert_non_null(txn_request(t));
	advance(T1);
	assert_int_equal(txn_reply(t, &o), 0);
	assert_true(sent_same(1, 2));
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(live_inmsg(), 0);
}

static void test_txn_release_cancel_after_final(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX], can[MSG_MAX], other[MSG_MAX];
	struct txn *t;

	open_layer(f, 0, true);
	recv_udp(req_udp(inv, "INVITE", "z9hG4bKrel5"));
	t = f->srv;
	assert_int_equal(reply(t, 603), 0);
	assert_int_equal(live_inmsg(), 0);
	/* RFC 3261 9.2: the INVITE's transaction still exists, so 200,
	 * with the To tag of its final, and no effect on it */
	recv_udp(req_udp(can, "CANCEL", "z9hG4bKrel5"));
	assert_int_equal(f->nsent, 3);
	assert_int_equal(sent_status(2), 200);
	assert_int_equal(sent_msg(2)->cseq.method, SIP_METHOD_CANCEL);
	assert_true(slice_eq(sent_msg(2)->to->tag, sent_msg(1)->to->tag));
	assert_int_equal(f->ncancel, 0);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	assert_int_equal(txn_layer_alive(f->tl), 2);
	/* the CANCEL's own transaction let its request go too */
	assert_int_equal(live_inmsg(), 0);
	recv_udp(can);
	assert_int_equal(f->nsent, 4);
	assert_true(sent_same(2, 3));
	/* a CANCEL from another sent-by matches nothing: 481 */
	snprintf(other, sizeof(other),
		 "CANCEL sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bKrel5\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: call-1@example.com\r\n"
		 "CSeq: 1 CANCEL\r\n"
		 "Content-Length: 0\r\n\r\n");
	recv_udp(other);
	assert_int_equal(sent_status(-1), 481);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_release_rfc2543_keeps(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];

	f->auto_status = 200;
	/* RFC 2543 matching reads the whole request: it stays */
	recv_udp(request(buf, "OPTIONS", "OPTIONS", "UDP", ";branch=77", ""));
	assert_int_equal(txn_state(f->srv), TXN_STATE_COMPLETED);
	assert_int_equal(live_inmsg(), 1);
	assert_null(txn_request(f->srv)); /* the same contract */
	recv_udp(buf);
	assert_int_equal(f->nreq, 1);
	assert_true(sent_same(0, 1));
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(live_inmsg(), 0);
}

static void test_txn_release_oom(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];
	struct txn *t;

	/* one transaction first: the layer's build buffer is grown */
	f->auto_status = 200;
	recv_udp(req_udp(buf, "OPTIONS", "z9hG4bKrel6"));
	f->auto_status = 0;
	recv_udp(req_udp(buf, "OPTIONS", "z9hG4bKrel7"));
	t = f->srv;
	/* no memory for the response: nothing sent, nothing changed */
	sb_mem_fail_after(0);
	assert_int_equal(reply(t, 200), -ENOMEM);
	sb_mem_fail_after(-1);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(txn_state(t), TXN_STATE_TRYING);
	assert_non_null(txn_request(t));
	/* memory for the response only: the request stays */
	sb_mem_fail_after(1);
	assert_int_equal(reply(t, 200), 0);
	sb_mem_fail_after(-1);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	assert_int_equal(live_inmsg(), 1);
	assert_null(txn_request(t));
	recv_udp(buf);
	assert_int_equal(f->nsent, 3);
	assert_true(sent_same(1, 2));
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(live_inmsg(), 0);
}

static void test_txn_release_footprint(void **state)
{
	struct fx *f = *state;
	enum { N = 1000 };
	char buf[MSG_MAX], branch[32];
	int64_t blocks;

	f->auto_status = 200;
	recv_udp(req_udp(buf, "OPTIONS", "z9hG4bKfoot"));
	advance(64 * T1);
	blocks = sb_live_get(SB_LIVE_ALLOC);
	for (int i = 0; i < N; i++) {
		snprintf(branch, sizeof(branch), "z9hG4bKfoot%d", i);
		recv_udp(req_udp(buf, "OPTIONS", branch));
	}
	assert_int_equal(txn_layer_alive(f->tl), N);
	assert_int_equal(live_inmsg(), 0);
	/* a Completed txn: itself, its response, what it kept (and the
	 * table, grown in place of the old one) */
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC) - blocks, 3 * N);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	for (size_t i = 0; i < f->nsent; i++)
		free(f->sent[i].data);
	f->nsent = 0;
}

/* ---- the TU hears of Timer H ---- */

static void test_txn_invite_server_on_timeout(void **state)
{
	struct fx *f = *state;
	struct txn_layer_opts o = {.send = capture_send, .wheel = &f->wheel};
	char inv[MSG_MAX], ack[MSG_MAX];
	struct txn *t;

	recv_udp(req_udp(inv, "INVITE", "z9hG4bKh1"));
	t = f->srv;
	assert_int_equal(reply(t, 480), 0);
	advance_to(64 * T1 - 1);
	assert_int_equal(f->ntimeout, 0);
	advance_to(64 * T1); /* RFC 3261 17.2.1: Timer H */
	assert_int_equal(f->ntimeout, 1);
	assert_ptr_equal(f->timed_out, t);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(txn_layer_stats(f->tl)->timeouts, 1);
	/* not for an ACKed final, a 2xx (Timer L) or a non-INVITE (J) */
	recv_udp(req_udp(inv, "INVITE", "z9hG4bKh2"));
	assert_int_equal(reply(f->srv, 486), 0);
	recv_udp(
	    request(ack, "ACK", "ACK", "UDP", ";branch=z9hG4bKh2", ";tag=x"));
	recv_udp(req_udp(inv, "INVITE", "z9hG4bKh3"));
	assert_int_equal(reply(f->srv, 200), 0);
	recv_udp(req_udp(inv, "OPTIONS", "z9hG4bKh4"));
	assert_int_equal(reply(f->srv, 404), 0);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(f->ntimeout, 1);
	/* without the hook Timer H just ends it */
	f->tl = txn_layer_free(f->tl);
	assert_int_equal(txn_layer_new(&o, &f->tl), 0);
	recv_udp(req_udp(inv, "INVITE", "z9hG4bKh5"));
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(txn_layer_stats(f->tl)->timeouts, 1);
	assert_int_equal(f->ntimeout, 1);
}

/* ---- matching (RFC 3261 17.2.3) ---- */

static void test_txn_match_rfc2543(void **state)
{
	struct fx *f = *state;
	char inv[MSG_MAX], ack[MSG_MAX], can[MSG_MAX], other[MSG_MAX];
	char tag[64];
	struct sip_msg *m;
	struct txn *t;

	/* no branch at all, then a branch without the magic cookie */
	request(inv, "INVITE", "INVITE", "UDP", "", "");
	recv_udp(inv);
	t = f->srv;
	recv_udp(inv);
	assert_int_equal(f->nreq, 1);
	assert_int_equal(f->nsent, 2);
	request(other, "INVITE", "INVITE", "UDP", ";branch=1234", "");
	recv_udp(other);
	assert_int_equal(f->nreq, 2); /* another top Via: another txn */
	assert_int_equal(reply(f->srv, 486), 0);
	/* the CANCEL matches all but the CSeq method (9.2) */
	request(can, "CANCEL", "CANCEL", "UDP", "", "");
	recv_udp(can);
	assert_int_equal(sent_status(-2), 200);
	assert_int_equal(sent_status(-1), 487);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	/* the ACK matches with the To tag of our response */
	m = sent_msg(-1);
	snprintf(tag, sizeof(tag), ";tag=%.*s", (int)m->to->tag.len,
		 m->to->tag.p);
	request(ack, "ACK", "ACK", "UDP", "", ";tag=wrong");
	recv_udp(ack);
	assert_int_equal(f->nstray, 1);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	request(ack, "ACK", "ACK", "UDP", "", tag);
	recv_udp(ack);
	assert_int_equal(f->nstray, 1);
	assert_int_equal(txn_state(t), TXN_STATE_CONFIRMED);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_match_method_and_sent_by(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];

	recv_udp(req_udp(buf, "INVITE", "z9hG4bKsame"));
	/* the same branch with another method: its own transaction */
	recv_udp(req_udp(buf, "OPTIONS", "z9hG4bKsame"));
	assert_int_equal(f->nreq, 2);
	/* the same branch and method from another sent-by: new as well */
	snprintf(buf, sizeof(buf),
		 "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.11:5070;branch=z9hG4bKsame\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: call-1@example.com\r\n"
		 "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n");
	recv_udp(buf);
	assert_int_equal(f->nreq, 3);
	/* branches compare case-insensitively (the cookie is exact) */
	recv_udp(req_udp(buf, "OPTIONS", "z9hG4bKSAME"));
	assert_int_equal(f->nreq, 3);
	assert_int_equal(txn_layer_alive(f->tl), 3);
	txn_layer_free(f->tl); /* frees live transactions quietly */
	f->tl = NULL;
	assert_int_equal(sb_live_get(SB_LIVE_TXN), f->live_txn);
	assert_int_equal(f->wheel.count, 0);
}

static void test_txn_response_unknown_branch_stray(void **state)
{
	struct fx *f = *state;

	recv_resp(200, "INVITE", "z9hG4bKnobody");
	assert_int_equal(f->nstray, 1);
	assert_false(f->stray_is_request);
	assert_int_equal(f->stray_status, 200);
	assert_int_equal(txn_layer_stats(f->tl)->stray, 1);
	assert_int_equal(txn_layer_stats(f->tl)->responses_in[2], 1);
	recv_resp(180, "INVITE", "1234"); /* no cookie: no client txn */
	assert_int_equal(f->nstray, 2);
}

static void test_txn_max_txns_503(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX];
	struct sip_msg *m;
	const struct sip_hdr *h;

	open_layer(f, 1, false);
	recv_udp(req_udp(buf, "INVITE", "z9hG4bKmax1"));
	assert_int_equal(txn_layer_alive(f->tl), 1);
	recv_udp(req_udp(buf, "INVITE", "z9hG4bKmax2"));
	assert_int_equal(f->nreq, 1);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	assert_int_equal(f->nsent, 2);
	m = sent_msg(1);
	assert_int_equal(m->status, 503);
	assert_slice(m->via->branch, "z9hG4bKmax2");
	h = sip_msg_hdr_find(m, SL("Retry-After"));
	assert_non_null(h);
	assert_int_equal(txn_layer_stats(f->tl)->overloads, 1);
	/* a CANCEL for the live INVITE is still honoured, statelessly */
	recv_udp(req_udp(buf, "CANCEL", "z9hG4bKmax1"));
	assert_int_equal(sent_status(-2), 200);
	assert_int_equal(sent_status(-1), 487);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	recv_udp(req_udp(buf, "INVITE", "z9hG4bKmax3"));
	assert_int_equal(f->nreq, 2);
	assert_int_equal(reply(f->srv, 404), 0);
	advance(64 * T1);
}

/* ---- INVITE client ---- */

static struct txn *start_client(const char *method, const char *branch,
				enum sip_transport tp)
{
	char buf[MSG_MAX];
	struct sip_flow dst = flow(tp, "203.0.113.9", 5060);
	struct txn *t = NULL;

	client_req(buf, method, branch);
	assert_int_equal(
	    txn_client_start(g->tl, &dst, slice_cstr(buf), on_response, g, &t),
	    0);
	assert_non_null(t);
	assert_false(txn_is_server(t));
	assert_null(txn_request(t));
	assert_int_equal(txn_flow(t)->tp, tp);
	return t;
}

static void test_txn_invite_client_timer_a_b(void **state)
{
	struct fx *f = *state;
	static const uint64_t want[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
	struct txn *t = start_client("INVITE", "z9hG4bKa1", SIP_TP_UDP);

	assert_int_equal(txn_state(t), TXN_STATE_CALLING);
	assert_int_equal(f->nsent, 1);
	assert_sent_to(0, "203.0.113.9", 5060);
	advance_to(31999);
	assert_int_equal(f->ncb, 0);
	/* RFC 3261 17.1.1.2: 7 sends (6 retransmissions) within 64*T1 */
	assert_int_equal(f->nsent, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(f->sent[i].at_ms, want[i]);
		assert_true(sent_same(0, i));
	}
	assert_int_equal(txn_layer_stats(f->tl)->retransmits_out, 6);
	advance_to(32000); /* Timer B */
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->cb_err[0], -ETIMEDOUT);
	assert_int_equal(txn_layer_stats(f->tl)->timeouts, 1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	advance_to(100000);
	assert_int_equal(f->nsent, 7);
}

static void test_txn_invite_client_provisional_stops_a(void **state)
{
	struct fx *f = *state;
	struct txn *t = start_client("INVITE", "z9hG4bKa2", SIP_TP_UDP);

	advance_to(600); /* one retransmission at 500 */
	assert_int_equal(f->nsent, 2);
	recv_resp(180, "INVITE", "z9hG4bKa2");
	assert_int_equal(txn_state(t), TXN_STATE_PROCEEDING);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->cb_status[0], 180);
	assert_ptr_equal(f->cb_txn, t);
	recv_resp(183, "INVITE", "z9hG4bKa2");
	assert_int_equal(f->ncb, 2);
	/* no Timer A, and no Timer B outside Calling */
	advance_to(200000);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(f->ncb, 2);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	recv_resp(486, "INVITE", "z9hG4bKa2");
	assert_int_equal(f->ncb, 3);
	assert_int_equal(txn_layer_stats(f->tl)->responses_in[1], 2);
	assert_int_equal(txn_layer_stats(f->tl)->responses_in[4], 1);
	advance(TD);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_invite_client_non2xx_ack(void **state)
{
	struct fx *f = *state;
	struct txn *t = start_client("INVITE", "z9hG4bKa3", SIP_TP_UDP);
	const struct sip_hdr *h;
	struct sip_msg *ack;

	recv_resp(486, "INVITE", "z9hG4bKa3");
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->cb_status[0], 486);
	assert_int_equal(f->nsent, 2);
	assert_sent_to(1, "203.0.113.9", 5060);
	/* RFC 3261 17.1.1.3: the ACK from the request and the response */
	ack = sent_msg(1);
	assert_true(ack->is_request);
	assert_int_equal(ack->method, SIP_METHOD_ACK);
	assert_slice(ack->ruri_raw, "sip:bob@example.com");
	assert_int_equal(sip_msg_hdr_count(ack, SIP_HDR_VIA), 1);
	assert_null(ack->via->next);
	assert_slice(ack->via->branch, "z9hG4bKa3");
	assert_slice(ack->via->host, "192.0.2.1");
	assert_slice(hdr_value(ack, SIP_HDR_FROM),
		     "\"Alice\" <sip:alice@example.com>;tag=a1");
	assert_slice(hdr_value(ack, SIP_HDR_TO),
		     "<sip:bob@example.com>;tag=b9");
	assert_slice(ack->call_id, "c1@example.com");
	assert_int_equal(ack->cseq.num, 7);
	assert_int_equal(ack->cseq.method, SIP_METHOD_ACK);
	assert_int_equal(sip_msg_hdr_count(ack, SIP_HDR_ROUTE), 2);
	h = sip_msg_hdr(ack, SIP_HDR_ROUTE);
	assert_slice(h->value, "<sip:p1.example.com;lr>");
	assert_slice(sip_msg_hdr_next(ack, h)->value,
		     "<sip:p2.example.com;lr>");
	assert_int_equal(ack->body.len, 0);
	assert_null(sip_msg_hdr(ack, SIP_HDR_CONTACT));
	/* a retransmitted final: the ACK again, the TU hears nothing */
	recv_resp(486, "INVITE", "z9hG4bKa3");
	assert_int_equal(f->nsent, 3);
	assert_true(sent_same(1, 2));
	assert_int_equal(f->ncb, 1);
	assert_int_equal(txn_client_cancel(t), -EINVAL);
	/* Timer D: 32 s over UDP */
	advance_to(TD - 1);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	advance_to(TD);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	recv_resp(486, "INVITE", "z9hG4bKa3");
	assert_int_equal(f->nstray, 1);
}

static void test_txn_invite_client_tcp(void **state)
{
	struct fx *f = *state;

	start_client("INVITE", "z9hG4bKa4", SIP_TP_TCP);
	assert_non_null(f->sent[0].cb); /* stream sends report back */
	f->sent[0].cb(0, f->sent[0].arg);
	advance_to(31999);
	assert_int_equal(f->nsent, 1); /* no Timer A on TCP */
	advance_to(32000);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->cb_err[0], -ETIMEDOUT);
	assert_int_equal(txn_layer_alive(f->tl), 0);

	start_client("INVITE", "z9hG4bKa5", SIP_TP_TCP);
	f->sent[1].cb(0, f->sent[1].arg);
	recv_resp(404, "INVITE", "z9hG4bKa5");
	assert_int_equal(f->nsent, 3); /* the ACK */
	assert_int_equal(sent_msg(2)->method, SIP_METHOD_ACK);
	advance(0); /* Timer D is zero on TCP */
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_invite_client_2xx_accepted_timer_m(void **state)
{
	struct fx *f = *state;
	struct txn *t = start_client("INVITE", "z9hG4bKa6", SIP_TP_UDP);

	advance_to(100);
	recv_resp(200, "INVITE", "z9hG4bKa6");
	assert_int_equal(txn_state(t), TXN_STATE_ACCEPTED);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->nsent, 1); /* the TU sends the 2xx ACK */
	/* RFC 6026: 2xx retransmissions go up; others do not */
	recv_resp(200, "INVITE", "z9hG4bKa6");
	assert_int_equal(f->ncb, 2);
	assert_int_equal(f->cb_status[1], 200);
	recv_resp(486, "INVITE", "z9hG4bKa6");
	assert_int_equal(f->ncb, 2);
	advance_to(100 + 64 * T1 - 1);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	advance_to(100 + 64 * T1); /* Timer M */
	assert_int_equal(txn_layer_alive(f->tl), 0);
	recv_resp(200, "INVITE", "z9hG4bKa6");
	assert_int_equal(f->nstray, 1);
	assert_int_equal(f->ncb, 2);
}

/* ---- non-INVITE client ---- */

static void test_txn_non_invite_client_timer_e_f(void **state)
{
	struct fx *f = *state;
	static const uint64_t want[] = {0,     500,   1500,  3500,  7500, 11500,
					15500, 19500, 23500, 27500, 31500};
	struct txn *t = start_client("OPTIONS", "z9hG4bKe1", SIP_TP_UDP);

	assert_int_equal(txn_state(t), TXN_STATE_TRYING);
	advance_to(31999);
	/* RFC 3261 17.1.2.2: T1, 2T1, 4T1, then T2 until 64*T1 */
	assert_int_equal(f->nsent, 11);
	for (size_t i = 0; i < 11; i++)
		assert_int_equal(f->sent[i].at_ms, want[i]);
	assert_int_equal(txn_layer_stats(f->tl)->retransmits_out, 10);
	assert_int_equal(f->ncb, 0);
	advance_to(32000); /* Timer F */
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->cb_err[0], -ETIMEDOUT);
	assert_int_equal(txn_layer_stats(f->tl)->timeouts, 1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_non_invite_client_proceeding_t2(void **state)
{
	struct fx *f = *state;
	static const uint64_t want[] = {0,     500,   4500,  8500, 12500,
					16500, 20500, 24500, 28500};
	struct txn *t = start_client("REGISTER", "z9hG4bKe2", SIP_TP_UDP);

	advance_to(100);
	recv_resp(100, "REGISTER", "z9hG4bKe2");
	assert_int_equal(txn_state(t), TXN_STATE_PROCEEDING);
	assert_int_equal(f->ncb, 1);
	advance_to(31999);
	/* in Proceeding Timer E runs at T2 */
	assert_int_equal(f->nsent, 9);
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(f->sent[i].at_ms, want[i]);
	advance_to(32000); /* Timer F fires in Proceeding too */
	assert_int_equal(f->ncb, 2);
	assert_int_equal(f->cb_err[1], -ETIMEDOUT);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_non_invite_client_timer_k(void **state)
{
	struct fx *f = *state;
	struct txn *t = start_client("OPTIONS", "z9hG4bKk1", SIP_TP_UDP);

	advance_to(700);
	recv_resp(200, "OPTIONS", "z9hG4bKk1");
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->cb_status[0], 200);
	recv_resp(200, "OPTIONS", "z9hG4bKk1"); /* absorbed */
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->nstray, 0);
	advance_to(5000);
	assert_int_equal(f->nsent, 2); /* no more Timer E */
	advance_to(700 + T4 - 1);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	advance_to(700 + T4); /* Timer K */
	assert_int_equal(txn_layer_alive(f->tl), 0);

	/* Timer K is zero over TCP */
	start_client("OPTIONS", "z9hG4bKk2", SIP_TP_TCP);
	f->sent[f->nsent - 1].cb(0, f->sent[f->nsent - 1].arg);
	recv_resp(404, "OPTIONS", "z9hG4bKk2");
	assert_int_equal(f->ncb, 2);
	advance(0);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_client_detach(void **state)
{
	struct fx *f = *state;
	struct txn *t = start_client("OPTIONS", "z9hG4bKd1", SIP_TP_UDP);

	txn_client_detach(t);
	recv_resp(200, "OPTIONS", "z9hG4bKd1");
	assert_int_equal(f->ncb, 0);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	advance(T4);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_client_start_invalid(void **state)
{
	struct fx *f = *state;
	struct sip_flow dst = flow(SIP_TP_UDP, "203.0.113.9", 5060);
	struct txn *t = NULL;
	char buf[MSG_MAX];

	client_req(buf, "ACK", "z9hG4bKx");
	assert_int_equal(
	    txn_client_start(f->tl, &dst, slice_cstr(buf), on_response, f, &t),
	    -EINVAL);
	client_req(buf, "OPTIONS", "1234");
	assert_int_equal(
	    txn_client_start(f->tl, &dst, slice_cstr(buf), on_response, f, &t),
	    -EINVAL);
	assert_int_equal(
	    txn_client_start(f->tl, &dst, SL("garbage"), on_response, f, &t),
	    -EBADMSG);
	assert_null(t);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

/* ---- CANCEL, client side (RFC 3261 9.1) ---- */

static void test_txn_cancel_client_deferred(void **state)
{
	struct fx *f = *state;
	struct txn *t = start_client("INVITE", "z9hG4bKcc1", SIP_TP_UDP);
	struct sip_msg *can;

	assert_int_equal(txn_client_cancel(t), 0);
	assert_int_equal(txn_client_cancel(t), 0); /* once is enough */
	advance_to(200);
	assert_int_equal(f->nsent, 1); /* no CANCEL before a provisional */
	recv_resp(180, "INVITE", "z9hG4bKcc1");
	assert_int_equal(f->nsent, 2);
	assert_int_equal(txn_layer_alive(f->tl), 2);
	can = sent_msg(1);
	assert_int_equal(can->method, SIP_METHOD_CANCEL);
	assert_slice(can->ruri_raw, "sip:bob@example.com");
	assert_int_equal(sip_msg_hdr_count(can, SIP_HDR_VIA), 1);
	assert_slice(can->via->branch, "z9hG4bKcc1");
	assert_int_equal(can->cseq.num, 7);
	assert_int_equal(can->cseq.method, SIP_METHOD_CANCEL);
	assert_null(can->to->tag.p);
	assert_int_equal(sip_msg_hdr_count(can, SIP_HDR_ROUTE), 2);
	assert_sent_to(1, "203.0.113.9", 5060);
	/* the CANCEL retransmits on its own Timer E */
	advance_to(700);
	assert_int_equal(f->nsent, 3);
	assert_true(sent_same(1, 2));
	/* its 200 goes to the CANCEL transaction, not the INVITE's */
	recv_resp(200, "CANCEL", "z9hG4bKcc1");
	assert_int_equal(f->ncb, 1);
	assert_int_equal(txn_state(t), TXN_STATE_PROCEEDING);
	recv_resp(487, "INVITE", "z9hG4bKcc1");
	assert_int_equal(f->ncb, 2);
	assert_int_equal(f->cb_status[1], 487);
	assert_int_equal(sent_msg(-1)->method, SIP_METHOD_ACK);
	advance(TD);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_cancel_client_proceeding(void **state)
{
	struct fx *f = *state;
	struct txn *t = start_client("INVITE", "z9hG4bKcc2", SIP_TP_UDP);
	struct txn *o = start_client("OPTIONS", "z9hG4bKcc3", SIP_TP_UDP);

	assert_int_equal(txn_client_cancel(o), -EINVAL);
	f->cb_cancels = true; /* cancel from inside the callback */
	recv_resp(183, "INVITE", "z9hG4bKcc2");
	assert_int_equal(f->nsent, 3);
	assert_int_equal(sent_msg(-1)->method, SIP_METHOD_CANCEL);
	assert_int_equal(txn_client_cancel(t), 0);
	assert_int_equal(f->nsent, 3);
	recv_resp(200, "INVITE", "z9hG4bKcc2"); /* the race: 200 wins */
	assert_int_equal(txn_state(t), TXN_STATE_ACCEPTED);
	assert_int_equal(txn_client_cancel(t), -EINVAL);
	txn_client_detach(o);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_cancel_client_final_first(void **state)
{
	struct fx *f = *state;
	struct txn *t = start_client("INVITE", "z9hG4bKcc4", SIP_TP_UDP);

	assert_int_equal(txn_client_cancel(t), 0);
	recv_resp(486, "INVITE", "z9hG4bKcc4");
	/* no CANCEL once a final came; just the ACK */
	assert_int_equal(f->nsent, 2);
	assert_int_equal(sent_msg(1)->method, SIP_METHOD_ACK);
	assert_int_equal(txn_layer_alive(f->tl), 1);
	advance(TD);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

/* ---- transport errors (RFC 3261 17.1.4) ---- */

static void test_txn_client_send_error_first(void **state)
{
	struct fx *f = *state;
	struct sip_flow dst = flow(SIP_TP_UDP, "203.0.113.9", 5060);
	struct txn *t = NULL;
	char buf[MSG_MAX];

	f->send_err = -ENETUNREACH;
	client_req(buf, "INVITE", "z9hG4bKs1");
	assert_int_equal(
	    txn_client_start(f->tl, &dst, slice_cstr(buf), on_response, f, &t),
	    -ENETUNREACH);
	assert_null(t);
	assert_int_equal(f->ncb, 0);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(txn_layer_stats(f->tl)->transport_errors, 1);
	assert_int_equal(f->wheel.count, 0);
}

static void test_txn_client_send_error_retransmit(void **state)
{
	struct fx *f = *state;

	start_client("INVITE", "z9hG4bKs2", SIP_TP_UDP);
	f->send_err = -ECONNREFUSED; /* ICMP made the socket fail */
	advance_to(500);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->cb_err[0], -ECONNREFUSED);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(txn_layer_stats(f->tl)->transport_errors, 1);
	assert_int_equal(f->wheel.count, 0);
}

static void test_txn_client_send_error_async(void **state)
{
	struct fx *f = *state;

	start_client("OPTIONS", "z9hG4bKs3", SIP_TP_TCP);
	assert_int_equal(f->nsent, 1);
	assert_non_null(f->sent[0].cb);
	f->sent[0].cb(-ECONNRESET, f->sent[0].arg);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->cb_err[0], -ECONNRESET);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	assert_int_equal(txn_layer_stats(f->tl)->transport_errors, 1);
}

static void test_txn_client_send_callback_after_end(void **state)
{
	struct fx *f = *state;

	/* the response and Timer K beat the send callback */
	start_client("OPTIONS", "z9hG4bKs4", SIP_TP_TCP);
	recv_resp(200, "OPTIONS", "z9hG4bKs4");
	advance(0);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(txn_layer_alive(f->tl), 1); /* waits for the cb */
	f->sent[0].cb(-EPIPE, f->sent[0].arg);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(txn_layer_alive(f->tl), 0);

	/* freeing the layer frees one still waiting */
	start_client("OPTIONS", "z9hG4bKs5", SIP_TP_TCP);
	recv_resp(200, "OPTIONS", "z9hG4bKs5");
	advance(0);
	assert_int_equal(txn_layer_alive(f->tl), 1);
}

/* ---- RFC 3261 18.1.1: requests too large for UDP go over TCP ---- */

/* A client request of exactly len bytes (a body fills it up). */
static const char *sized_req(char *buf, const char *method, const char *branch,
			     size_t len)
{
	int head =
	    snprintf(buf, MSG_MAX,
		     "%s sip:bob@example.com SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=%s;rport\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:alice@example.com>;tag=a1\r\n"
		     "To: <sip:bob@example.com>\r\n"
		     "Call-ID: big@example.com\r\n"
		     "CSeq: 7 %s\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %05zu\r\n\r\n",
		     method, branch, method, (size_t)0);
	size_t body = len - (size_t)head;

	assert_true((size_t)head < len && len < MSG_MAX);
	snprintf(buf, MSG_MAX,
		 "%s sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=%s;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@example.com>;tag=a1\r\n"
		 "To: <sip:bob@example.com>\r\n"
		 "Call-ID: big@example.com\r\n"
		 "CSeq: 7 %s\r\n"
		 "Content-Type: text/plain\r\n"
		 "Content-Length: %05zu\r\n\r\n",
		 method, branch, method, body);
	memset(buf + head, 'x', body);
	buf[len] = '\0';
	assert_int_equal(strlen(buf), len);
	return buf;
}

static struct txn *start_sized(const char *method, const char *branch,
			       size_t len, const struct sip_flow *dst)
{
	char buf[MSG_MAX];
	struct txn *t = NULL;

	sized_req(buf, method, branch, len);
	assert_int_equal(
	    txn_client_start(g->tl, dst, slice_cstr(buf), on_response, g, &t),
	    0);
	return t;
}

static void recv_resp_tcp(unsigned status, const char *method,
			  const char *branch)
{
	char buf[MSG_MAX];
	struct sip_flow fl = flow(SIP_TP_TCP, "203.0.113.9", 5060);

	recv_on(response(buf, status, method, branch), &fl);
}

static void test_txn_client_large_request_over_tcp(void **state)
{
	struct fx *f = *state;
	struct sip_flow dst = flow(SIP_TP_UDP, "203.0.113.9", 5060);
	struct txn *t;
	struct sip_msg *m;

	/* 1300 bytes still go over UDP, with Timer A */
	t = start_sized("INVITE", "z9hG4bKm1", 1300, &dst);
	assert_int_equal(txn_flow(t)->tp, SIP_TP_UDP);
	assert_int_equal(f->sent[0].flow.tp, SIP_TP_UDP);
	assert_null(f->sent[0].cb);
	assert_slice(sent_msg(0)->via->transport, "UDP");
	recv_resp(486, "INVITE", "z9hG4bKm1");
	advance(TD);

	/* 1301 bytes: TCP to the same address, the Via says so */
	t = start_sized("INVITE", "z9hG4bKm2", 1301, &dst);
	assert_int_equal(f->nsent, 3);
	assert_int_equal(f->sent[2].flow.tp, SIP_TP_TCP);
	assert_sent_to(2, "203.0.113.9", 5060);
	assert_non_null(f->sent[2].cb); /* a stream send reports back */
	m = sent_msg(2);
	assert_slice(m->via->transport, "TCP");
	assert_slice(m->via->branch, "z9hG4bKm2");
	assert_int_equal(f->sent[2].len, 1301);
	assert_int_equal(txn_flow(t)->tp, SIP_TP_TCP);
	f->sent[2].cb(0, f->sent[2].arg);
	advance(10 * T1);
	assert_int_equal(f->nsent, 3); /* no Timer A on TCP */
	/* the ACK for a non-2xx follows the request onto TCP */
	recv_resp_tcp(486, "INVITE", "z9hG4bKm2");
	assert_int_equal(f->ncb, 2);
	assert_int_equal(f->nsent, 4);
	assert_int_equal(f->sent[3].flow.tp, SIP_TP_TCP);
	m = sent_msg(3);
	assert_int_equal(m->method, SIP_METHOD_ACK);
	assert_slice(m->via->transport, "TCP");
	advance(0); /* Timer D is zero on TCP */
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_client_large_request_cancel_follows(void **state)
{
	struct fx *f = *state;
	struct sip_flow dst = flow(SIP_TP_UDP, "203.0.113.9", 5060);
	struct txn *t = start_sized("INVITE", "z9hG4bKm3", 2000, &dst);
	struct sip_msg *m;

	f->sent[0].cb(0, f->sent[0].arg);
	recv_resp_tcp(180, "INVITE", "z9hG4bKm3");
	assert_int_equal(txn_client_cancel(t), 0);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(f->sent[1].flow.tp, SIP_TP_TCP);
	m = sent_msg(1);
	assert_int_equal(m->method, SIP_METHOD_CANCEL);
	assert_slice(m->via->transport, "TCP");
	f->sent[1].cb(0, f->sent[1].arg);
	recv_resp_tcp(200, "CANCEL", "z9hG4bKm3");
	recv_resp_tcp(487, "INVITE", "z9hG4bKm3");
	advance(0);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_client_large_request_udp_only(void **state)
{
	struct fx *f = *state;
	struct sip_flow dst = flow(SIP_TP_UDP, "203.0.113.9", 5060);
	struct sip_flow tcp = flow(SIP_TP_TCP, "203.0.113.9", 5060);

	/* the caller knows the peer takes UDP only */
	dst.is_udp_only = true;
	start_sized("OPTIONS", "z9hG4bKm4", 3000, &dst);
	assert_int_equal(f->sent[0].flow.tp, SIP_TP_UDP);
	assert_slice(sent_msg(0)->via->transport, "UDP");
	advance(64 * T1);
	/* a destination already on TCP is left alone */
	start_sized("OPTIONS", "z9hG4bKm5", 3000, &tcp);
	assert_int_equal(f->sent[f->nsent - 1].flow.tp, SIP_TP_TCP);
	f->sent[f->nsent - 1].cb(0, f->sent[f->nsent - 1].arg);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

/* RFC 3261 18.1.1: a refused connection: UDP after all, and from then on. */
static void test_txn_client_large_request_tcp_refused(void **state)
{
	struct fx *f = *state;
	static char token; /* stands for the caller's UDP listener */
	struct sip_flow dst = flow(SIP_TP_UDP, "203.0.113.9", 5060);
	struct txn *t;

	dst.listener = (struct tp_listener *)&token;
	t = start_sized("INVITE", "z9hG4bKm6", 1500, &dst);
	assert_int_equal(f->sent[0].flow.tp, SIP_TP_TCP);
	assert_null(f->sent[0].flow.listener); /* no TCP listener here */
	advance_to(100);
	f->sent[0].cb(-ECONNREFUSED, f->sent[0].arg);
	assert_int_equal(f->ncb, 0); /* the TU does not hear of it */
	assert_int_equal(f->nsent, 2);
	assert_int_equal(f->sent[1].flow.tp, SIP_TP_UDP);
	assert_ptr_equal(f->sent[1].flow.listener, &token);
	assert_slice(sent_msg(1)->via->transport, "UDP");
	assert_int_equal(txn_flow(t)->tp, SIP_TP_UDP);
	/* Timer A from the retry; Timer B still from the first send */
	advance_to(600);
	assert_int_equal(f->nsent, 3);
	assert_true(sent_same(1, 2));
	advance_to(64 * T1);
	assert_int_equal(f->ncb, 1);
	assert_int_equal(f->cb_err[0], -ETIMEDOUT);
	assert_int_equal(txn_layer_alive(f->tl), 0);

	/* the peer is remembered: the next large request stays on UDP */
	start_sized("OPTIONS", "z9hG4bKm7", 1500, &dst);
	assert_int_equal(f->sent[f->nsent - 1].flow.tp, SIP_TP_UDP);
	advance(64 * T1); /* Timer F */
	assert_int_equal(f->ncb, 2);

	/* other errors end the transaction as before */
	dst = flow(SIP_TP_UDP, "203.0.113.10", 5060);
	start_sized("OPTIONS", "z9hG4bKm8", 1500, &dst);
	assert_int_equal(f->sent[f->nsent - 1].flow.tp, SIP_TP_TCP);
	f->sent[f->nsent - 1].cb(-EPIPE, f->sent[f->nsent - 1].arg);
	assert_int_equal(f->ncb, 3);
	assert_int_equal(f->cb_err[2], -EPIPE);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

/* No TCP at all (the send fails at once): the request goes over UDP. */
static void test_txn_client_large_request_no_tcp(void **state)
{
	struct fx *f = *state;
	struct sip_flow dst = flow(SIP_TP_UDP, "203.0.113.9", 5060);
	struct txn *t;

	f->tcp_send_err = -ENOTCONN;
	t = start_sized("OPTIONS", "z9hG4bKm9", 1500, &dst);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(f->sent[0].flow.tp, SIP_TP_UDP);
	assert_slice(sent_msg(0)->via->transport, "UDP");
	assert_int_equal(txn_flow(t)->tp, SIP_TP_UDP);
	advance_to(T1);
	assert_int_equal(f->nsent, 2); /* Timer E */
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

/* A known path MTU moves the threshold to MTU - 200. */
static void test_txn_client_path_mtu(void **state)
{
	struct fx *f = *state;
	struct sip_flow dst = flow(SIP_TP_UDP, "203.0.113.9", 5060);

	f->path_mtu = 1000;
	open_layer(f, 0, false);
	start_sized("OPTIONS", "z9hG4bKn1", 800, &dst);
	assert_int_equal(f->sent[0].flow.tp, SIP_TP_UDP);
	start_sized("OPTIONS", "z9hG4bKn2", 801, &dst);
	assert_int_equal(f->sent[1].flow.tp, SIP_TP_TCP);
	f->sent[1].cb(0, f->sent[1].arg);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

/* Responses are not subject to 18.1.1: a large one stays on UDP. */
static void test_txn_large_response_stays_udp(void **state)
{
	struct fx *f = *state;
	static char extra[2048];
	struct sip_reply_opts o = {.status = 200};
	char buf[MSG_MAX];

	memset(extra, 'y', sizeof(extra) - 3);
	memcpy(extra, "X-Big: ", 7);
	memcpy(extra + sizeof(extra) - 3, "\r\n", 3);
	o.extra = slice_make(extra, sizeof(extra) - 1);
	recv_udp(req_udp(buf, "OPTIONS", "z9hG4bKn3"));
	assert_int_equal(txn_reply(f->srv, &o), 0);
	assert_true(f->sent[0].len > 2000);
	assert_int_equal(f->sent[0].flow.tp, SIP_TP_UDP);
	advance(64 * T1);
}

/* ---- odds and ends ---- */

static void test_txn_reply_invalid(void **state)
{
	struct fx *f = *state;
	struct txn *c = start_client("OPTIONS", "z9hG4bKi1", SIP_TP_UDP);
	char buf[MSG_MAX];

	assert_int_equal(reply(c, 200), -EINVAL);
	recv_udp(req_udp(buf, "OPTIONS", "z9hG4bKi2"));
	assert_int_equal(reply(f->srv, 99), -EINVAL);
	assert_int_equal(reply(f->srv, 700), -EINVAL);
	assert_int_equal(reply(f->srv, 200), 0);
	assert_int_equal(reply(f->srv, 200), -EINVAL);
	txn_client_detach(c);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_branch_new(void **state)
{
	char a[32], b[32], small[8];
	struct slice sa = txn_branch_new(a, sizeof(a));
	struct slice sb = txn_branch_new(b, sizeof(b));

	(void)state;
	assert_int_equal(sa.len, 23);
	assert_memory_equal(sa.p, "z9hG4bK", 7);
	assert_int_equal(a[23], '\0');
	assert_false(slice_eq(sa, sb));
	assert_null(txn_branch_new(small, sizeof(small)).p);
}

static void test_txn_transport_helpers(void **state)
{
	struct sip_addr a = addr("192.0.2.1", 5060),
			b = addr("192.0.2.1", 5061);
	struct sip_addr c = addr("2001:db8::1", 5060);
	enum sip_transport tp;
	char ip[64];
	struct sip_inmsg *im;

	(void)state;
	assert_slice(sip_transport_name(SIP_TP_TLS), "TLS");
	assert_int_equal(sip_transport_from(SL("tcp"), &tp), 0);
	assert_int_equal(tp, SIP_TP_TCP);
	assert_int_equal(sip_transport_from(SL("SCTP"), &tp), -EINVAL);
	assert_false(sip_transport_is_reliable(SIP_TP_UDP));
	assert_true(sip_transport_is_reliable(SIP_TP_TLS));
	assert_string_equal(sip_addr_ip(&c, ip, sizeof(ip)), "2001:db8::1");
	assert_string_equal(sip_addr_ip(&a, ip, sizeof(ip)), "192.0.2.1");
	assert_int_equal(sip_addr_port(&b), 5061);
	assert_false(sip_addr_eq(&a, &b));
	assert_false(sip_addr_eq(&a, &c));
	assert_true(sip_addr_eq(&c, &c));
	im = sip_inmsg_new(100);
	assert_non_null(im);
	assert_int_equal(im->len, 100);
	assert_non_null(arena_alloc(&im->arena, 2000)); /* the first block */
	assert_null(sip_inmsg_free(im));
	assert_null(sip_inmsg_free(NULL));
}

static void test_txn_many_transactions(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX], branch[32];

	f->auto_status = 200;
	for (int i = 0; i < 2000; i++) {
		snprintf(branch, sizeof(branch), "z9hG4bKmany%d", i);
		recv_udp(req_udp(buf, "OPTIONS", branch));
	}
	assert_int_equal(txn_layer_alive(f->tl), 2000);
	for (int i = 0; i < 2000; i++) {
		snprintf(branch, sizeof(branch), "z9hG4bKmany%d", i);
		recv_udp(req_udp(buf, "OPTIONS", branch));
	}
	assert_int_equal(f->nreq, 2000);
	assert_int_equal(txn_layer_stats(f->tl)->retransmits_in, 2000);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
	for (size_t i = 0; i < f->nsent; i++)
		free(f->sent[i].data);
	f->nsent = 0;
}

/* Receive text with the allocator failing after n more allocations. */
static void recv_oom(const char *text, int64_t n)
{
	size_t len = strlen(text);
	struct sip_inmsg *im = sip_inmsg_new(len);
	struct sip_flow fl = flow(SIP_TP_UDP, "192.0.2.10", 5070);
	struct sip_perr perr;

	assert_non_null(im);
	memcpy(im->data, text, len);
	im->flow = fl;
	assert_int_equal(sip_msg_parse(&im->msg, &im->arena, im->data, len,
				       SIP_FRAMING_DATAGRAM, &g->lim, &perr),
			 0);
	sb_mem_fail_after(n);
	txn_layer_recv(g->tl, im);
	sb_mem_fail_after(-1);
}

static void test_txn_oom_server(void **state)
{
	struct fx *f = *state;
	char buf[MSG_MAX], branch[32];
	int64_t n;

	for (n = 0; n < 100; n++) {
		unsigned before = f->nreq;

		snprintf(branch, sizeof(branch), "z9hG4bKoom%d", (int)n);
		recv_oom(req_udp(buf, "INVITE", branch), n);
		if (f->nreq > before) {
			/* the TU got it: the rest must work normally */
			assert_int_equal(reply(f->srv, 486), 0);
			break;
		}
		assert_int_equal(txn_layer_alive(f->tl), 0);
	}
	assert_true(n < 100);
	advance(64 * T1);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

static void test_txn_oom_client(void **state)
{
	struct fx *f = *state;
	struct sip_flow dst = flow(SIP_TP_UDP, "203.0.113.9", 5060);
	char buf[MSG_MAX];
	struct txn *t = NULL;
	int64_t n;
	int err = -ENOMEM;

	client_req(buf, "INVITE", "z9hG4bKoomc");
	for (n = 0; n < 100 && err; n++) {
		sb_mem_fail_after(n);
		err = txn_client_start(f->tl, &dst, slice_cstr(buf),
				       on_response, f, &t);
		sb_mem_fail_after(-1);
		if (err) {
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(txn_layer_alive(f->tl), 0);
			assert_int_equal(f->wheel.count, 0);
		}
	}
	assert_int_equal(err, 0);
	/* the ACK cannot be built without memory; the rest still works */
	for (n = 0; n < 3; n++) {
		char resp[MSG_MAX];
		struct sip_inmsg *im;
		struct sip_flow fl = flow(SIP_TP_UDP, "203.0.113.9", 5060);
		struct sip_perr perr;
		size_t len;

		response(resp, 486, "INVITE", "z9hG4bKoomc");
		len = strlen(resp);
		im = sip_inmsg_new(len);
		assert_non_null(im);
		memcpy(im->data, resp, len);
		im->flow = fl;
		assert_int_equal(sip_msg_parse(&im->msg, &im->arena, im->data,
					       len, SIP_FRAMING_DATAGRAM,
					       &g->lim, &perr),
				 0);
		sb_mem_fail_after(n);
		txn_layer_recv(f->tl, im);
		sb_mem_fail_after(-1);
	}
	assert_int_equal(f->ncb, 1);
	assert_int_equal(txn_state(t), TXN_STATE_COMPLETED);
	advance(TD);
	assert_int_equal(txn_layer_alive(f->tl), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_txn_invite_server_sends_100),
	    T(test_txn_invite_server_retransmit_resends_last),
	    T(test_txn_invite_server_timer_g_and_h),
	    T(test_txn_invite_server_tcp_no_timer_g),
	    T(test_txn_invite_server_ack_confirmed_timer_i),
	    T(test_txn_invite_server_ack_tcp_timer_i_zero),
	    T(test_txn_invite_server_2xx_accepted_timer_l),
	    T(test_txn_non_invite_server_states),
	    T(test_txn_non_invite_server_timer_j_tcp),
	    T(test_txn_server_no_tu_501),
	    T(test_txn_reply_rport_received),
	    T(test_txn_reply_rport_same_host),
	    T(test_txn_reply_received_no_rport),
	    T(test_txn_reply_default_port_and_maddr),
	    T(test_txn_reply_ipv6),
	    T(test_txn_reply_tcp_same_connection),
	    T(test_txn_cancel_server_200_and_487),
	    T(test_txn_cancel_server_on_cancel),
	    T(test_txn_cancel_server_no_match_481),
	    T(test_txn_cancel_server_after_final),
	    T(test_txn_release_non_invite_completed),
	    T(test_txn_release_unknown_method),
	    T(test_txn_release_invite_non2xx),
	    T(test_txn_release_invite_2xx_keeps),
	    T(test_txn_release_cancel_after_final),
	    T(test_txn_release_rfc2543_keeps),
	    T(test_txn_release_oom),
	    T(test_txn_release_footprint),
	    T(test_txn_invite_server_on_timeout),
	    T(test_txn_match_rfc2543),
	    T(test_txn_match_method_and_sent_by),
	    T(test_txn_response_unknown_branch_stray),
	    T(test_txn_max_txns_503),
	    T(test_txn_invite_client_timer_a_b),
	    T(test_txn_invite_client_provisional_stops_a),
	    T(test_txn_invite_client_non2xx_ack),
	    T(test_txn_invite_client_tcp),
	    T(test_txn_invite_client_2xx_accepted_timer_m),
	    T(test_txn_non_invite_client_timer_e_f),
	    T(test_txn_non_invite_client_proceeding_t2),
	    T(test_txn_non_invite_client_timer_k),
	    T(test_txn_client_detach),
	    T(test_txn_client_start_invalid),
	    T(test_txn_cancel_client_deferred),
	    T(test_txn_cancel_client_proceeding),
	    T(test_txn_cancel_client_final_first),
	    T(test_txn_client_send_error_first),
	    T(test_txn_client_send_error_retransmit),
	    T(test_txn_client_send_error_async),
	    T(test_txn_client_send_callback_after_end),
	    T(test_txn_client_large_request_over_tcp),
	    T(test_txn_client_large_request_cancel_follows),
	    T(test_txn_client_large_request_udp_only),
	    T(test_txn_client_large_request_tcp_refused),
	    T(test_txn_client_large_request_no_tcp),
	    T(test_txn_client_path_mtu),
	    T(test_txn_large_response_stays_udp),
	    T(test_txn_reply_invalid),
	    T(test_txn_branch_new),
	    T(test_txn_transport_helpers),
	    T(test_txn_many_transactions),
	    T(test_txn_oom_server),
	    T(test_txn_oom_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
