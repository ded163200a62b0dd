/* Unit tests for the registrar (services/registrar) over a test txn layer. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/wheel.h"
#include "services/registrar/registrar.h"
#include "sip/msg/msg.h"
#include "sip/transport/transport.h"
#include "sip/txn/txn.h"

enum {
	MAX_SENT = 512,
	MAX_REC = 64,
	MSG_MAX = 4096,
	T1 = 500,
	UNIX_BASE = 1700000000, /* Tue, 14 Nov 2023 22:13:20 GMT */
	NB = LOCATION_BINDINGS_CEILING
};

struct sent {
	struct sip_flow flow; /* plain copy, no reference */
	char *data;	      /* malloc'd copy */
	size_t len;
};

struct rec {
	bool is_put;
	char aor[256], contact[LOCATION_URI_MAX + 1];
	int64_t expires_at;
};

struct fx {
	int64_t live_alloc, live_arena, live_txn, live_inmsg;
	struct sb_limits lim;
	struct wheel wheel;
	struct txn_layer *tl;
	struct registrar *r;
	struct registrar_opts ro;
	struct arena arena; /* parses of what was sent, lookups */
	struct sent sent[MAX_SENT];
	size_t nsent;
	unsigned branch;       /* makes each request's branch unique */
	uint32_t max_bindings; /* passed to registrar_handle */
	const char *auth_aor;  /* NULL: the AOR of the To URI */
	int handled;	       /* registrar_handle's last return */
	struct rec rec[MAX_REC];
	size_t nrec;
	struct location_binding out[NB];
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

	assert_true(g->nsent < MAX_SENT);
	s = &g->sent[g->nsent++];
	s->flow = *f;
	s->data = malloc(len + 1);
	assert_non_null(s->data);
	memcpy(s->data, data, len);
	s->data[len] = '\0';
	s->len = len;
	return 0;
}

static void fake_clock(void *ctx, struct location_time *now)
{
	struct fx *f = ctx;

	now->mono_ms = f->wheel.now_ms;
	now->unix_s = UNIX_BASE + (int64_t)(f->wheel.now_ms / 1000);
}

static int rec_put(void *ctx, const struct store_binding *b)
{
	struct fx *f = ctx;
	struct rec *r = &f->rec[f->nrec++];

	assert_true(f->nrec <= MAX_REC);
	r->is_put = true;
	snprintf(r->aor, sizeof(r->aor), "%s", b->aor);
	snprintf(r->contact, sizeof(r->contact), "%s", b->contact);
	r->expires_at = b->expires_at;
	return 0;
}

static int rec_del(void *ctx, const char *aor, const char *contact)
{
	struct fx *f = ctx;
	struct rec *r = &f->rec[f->nrec++];

	assert_true(f->nrec <= MAX_REC);
	r->is_put = false;
	snprintf(r->aor, sizeof(r->aor), "%s", aor);
	snprintf(r->contact, sizeof(r->contact), "%s", contact);
	return 0;
}

static void on_request(void *ctx, struct txn *t, struct sip_msg *req)
{
	struct fx *f = ctx;
	char buf[LOCATION_AOR_MAX];
	struct slice aor = slice_cstr(f->auth_aor);

	if (!f->auth_aor)
		assert_int_equal(registrar_aor_from_uri(&req->to->uri, buf,
							sizeof(buf), &aor),
				 0);
	f->handled = registrar_handle(f->r, t, req, aor, f->max_bindings);
}

static void open_registrar(struct fx *f)
{
	if (f->r)
		registrar_stop(f->r);
	f->r = registrar_free(f->r);
	assert_int_equal(registrar_new(&f->ro, &f->r), 0);
}

static int setup(void **state)
{
	static struct fx f;
	struct txn_layer_opts o = {
	    .timers = txn_timers_default(),
	    .user = {.on_request = on_request, .ctx = &f},
	    .send = capture_send,
	    .wheel = &f.wheel,
	    .server = SL("switchboard-test"),
	};

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_arena = sb_live_get(SB_LIVE_ARENA);
	f.live_txn = sb_live_get(SB_LIVE_TXN);
	f.live_inmsg = sb_live_get(SB_LIVE_INMSG);
	f.lim = sb_limits_default();
	wheel_init(&f.wheel, 0);
	arena_init(&f.arena, NULL, 0, 0);
	g = &f;
	assert_int_equal(txn_layer_new(&o, &f.tl), 0);
	f.ro = registrar_opts_default();
	f.ro.server = SL("switchboard-test");
	f.ro.persist = (struct location_persist){rec_put, rec_del, &f};
	f.ro.clock = fake_clock;
	f.ro.clock_ctx = &f;
	f.ro.send = capture_send;
	f.ro.keepalive_host = SL("192.0.2.1");
	open_registrar(&f);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	registrar_stop(f->r);
	f->tl = txn_layer_free(f->tl);
	f->r = registrar_free(f->r);
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

static void advance(uint64_t ms)
{
	wheel_advance(&g->wheel, g->wheel.now_ms + ms);
}

/* Hand text to the layer; a message the parser refuses returns -1. */
static int recv_on(const char *text, const struct sip_flow *fl)
{
	size_t len = strlen(text);
	struct sip_inmsg *im = sip_inmsg_new(len);
	struct sip_perr perr;

	assert_non_null(im);
	memcpy(im->data, text, len);
	tp_flow_copy(&im->flow, fl);
	im->recv_ms = g->wheel.now_ms;
	if (sip_msg_parse(&im->msg, &im->arena, im->data, len,
			  SIP_FRAMING_DATAGRAM, &g->lim, &perr) != 0) {
		sip_inmsg_free(im);
		return -1;
	}
	txn_layer_recv(g->tl, im);
	return 0;
}

/*
 * A REGISTER for alice@example.com from 192.0.2.10:5070 over UDP; hdrs are
 * extra header lines (Contact, Expires ...). Returns the status answered,
 * or -1 when the message does not even parse.
 */
static int reg_from(const struct sip_flow *fl, const char *call_id,
		    unsigned cseq, const char *hdrs)
{
	char buf[MSG_MAX];

	snprintf(buf, sizeof(buf),
		 "REGISTER sip:example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKr%u;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@example.com>;tag=f1\r\n"
		 "To: <sip:alice@example.com>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u REGISTER\r\n"
		 "User-Agent: unit/1.0\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 ++g->branch, call_id, cseq, hdrs);
	g->handled = 0;
	if (recv_on(buf, fl) != 0)
		return -1; /* the parser's to answer, not ours */
	return g->handled;
}

static int reg(const char *call_id, unsigned cseq, const char *hdrs)
{
	struct sip_flow fl = flow(SIP_TP_UDP, "192.0.2.10", 5070);

	return reg_from(&fl, call_id, cseq, hdrs);
}

/* Parse the i-th message sent (from the end when i < 0). */
static struct sip_msg *sent_msg(long i)
{
	struct sent *s = &g->sent[i < 0 ? (long)g->nsent + i : i];
	char *copy = arena_alloc(&g->arena, s->len);
	struct sip_msg *m = arena_zalloc(&g->arena, sizeof(*m));
	struct sip_perr perr;

	assert_true(i < 0 ? (size_t)-i <= g->nsent : (size_t)i < g->nsent);
	memcpy(copy, s->data, s->len);
	assert_int_equal(sip_msg_parse(m, &g->arena, copy, s->len,
				       SIP_FRAMING_DATAGRAM, &g->lim, &perr),
			 0);
	return m;
}

static void assert_slice(struct slice s, const char *want)
{
	if (!slice_eq(s, slice_cstr(want))) {
		print_error("got \"%.*s\", want \"%s\"\n", (int)s.len,
			    s.p ? s.p : "", want);
		fail();
	}
}

/* The last response: its status, reason and one header's value. */
static struct sip_msg *last(unsigned status, const char *reason)
{
	struct sip_msg *m = sent_msg(-1);

	assert_false(m->is_request);
	assert_int_equal(m->status, status);
	if (reason)
		assert_slice(m->reason, reason);
	return m;
}

static struct slice hdr(const struct sip_msg *m, const char *name)
{
	const struct sip_hdr *h = sip_msg_hdr_find(m, slice_cstr(name));

	return h ? h->value : slice_make(NULL, 0);
}

/* The Contact header lines of m, in order, must be exactly want. */
static void assert_contacts(const struct sip_msg *m, const char *const *want)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTACT);
	size_t i = 0;

	for (; h; h = sip_msg_hdr_next(m, h), i++) {
		assert_non_null(want[i]);
		assert_slice(h->value, want[i]);
	}
	assert_null(want[i]);
}

static ssize_t lookup(const char *aor)
{
	ssize_t n = location_lookup(registrar_location(g->r), slice_cstr(aor),
				    g->wheel.now_ms, &g->arena, g->out, NB);

	assert_true(n >= 0);
	location_bindings_clear(g->out, (size_t)n);
	return n;
}

static void test_registrar_add(void **state)
{
	struct fx *f = *state;
	struct sip_msg *m;

	assert_int_equal(reg("c1@ua", 1,
			     "Contact: <sip:alice@192.0.2.10:5070>\r\n"
			     "Expires: 3600\r\n"),
			 200);
	m = last(200, "OK");
	assert_contacts(
	    m,
	    (const char *[]){"<sip:alice@192.0.2.10:5070>;expires=3600", NULL});
	assert_slice(hdr(m, "Date"), "Tue, 14 Nov 2023 22:13:20 GMT");
	assert_slice(hdr(m, "Server"), "switchboard-test");
	assert_non_null(m->to->tag.p);
	assert_slice(m->call_id, "c1@ua");
	assert_null(hdr(m, "Path").p);
	assert_int_equal(lookup("alice@example.com"), 1);
	assert_slice(f->out[0].user_agent, "unit/1.0");
	assert_false(f->out[0].is_nated);
	assert_int_equal(f->nrec, 1);
	assert_true(f->rec[0].is_put);
	assert_string_equal(f->rec[0].aor, "alice@example.com");
	assert_string_equal(f->rec[0].contact, "sip:alice@192.0.2.10:5070");
	assert_int_equal(f->rec[0].expires_at, UNIX_BASE + 3600);
	/* A query: no Contact, the bindings listed with what is left. */
	advance(100000);
	assert_int_equal(reg("c1@ua", 2, ""), 200);
	assert_contacts(
	    last(200, NULL),
	    (const char *[]){"<sip:alice@192.0.2.10:5070>;expires=3500", NULL});
	assert_int_equal(f->nrec, 1);
}

static void test_registrar_refresh_and_remove(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    reg("c1@ua", 1, "Contact: <sip:a@192.0.2.10:5070>\r\n"), 200);
	assert_contacts(
	    last(200, NULL),
	    (const char *[]){"<sip:a@192.0.2.10:5070>;expires=3600", NULL});
	advance(60000);
	assert_int_equal(reg("c1@ua", 2,
			     "Contact: <sip:a@192.0.2.10:5070>\r\n"
			     "Expires: 1800\r\n"),
			 200);
	assert_contacts(
	    last(200, NULL),
	    (const char *[]){"<sip:a@192.0.2.10:5070>;expires=1800", NULL});
	f->nrec = 0;
	assert_int_equal(
	    reg("c1@ua", 3, "Contact: <sip:a@192.0.2.10:5070>;expires=0\r\n"),
	    200);
	assert_contacts(last(200, NULL), (const char *[]){NULL});
	assert_int_equal(lookup("alice@example.com"), 0);
	assert_int_equal(f->nrec, 1);
	assert_false(f->rec[0].is_put);
	assert_string_equal(f->rec[0].contact, "sip:a@192.0.2.10:5070");
}

static void test_registrar_star(void **state)
{
	struct fx *f = *state;

	assert_int_equal(reg("c1@ua", 1,
			     "Contact: <sip:a@192.0.2.10:5070>, "
			     "<sip:a@192.0.2.10:5071>\r\n"),
			 200);
	assert_int_equal(lookup("alice@example.com"), 2);
	/* RFC 3261 10.3 step 6: * needs Expires: 0 and no other contact */
	assert_int_equal(reg("c1@ua", 2, "Contact: *\r\nExpires: 60\r\n"), 400);
	last(400, "Contact * Needs Expires: 0");
	assert_int_equal(reg("c1@ua", 3, "Contact: *\r\n"), 400);
	assert_int_equal(reg("c1@ua", 4,
			     "Contact: *\r\nContact: <sip:a@192.0.2.10>\r\n"
			     "Expires: 0\r\n"),
			 -1); /* the parser refuses * among others */
	assert_int_equal(lookup("alice@example.com"), 2);
	f->nrec = 0;
	assert_int_equal(reg("other@ua", 1, "Contact: *\r\nExpires: 0\r\n"),
			 200);
	assert_contacts(last(200, NULL), (const char *[]){NULL});
	assert_int_equal(lookup("alice@example.com"), 0);
	assert_int_equal(f->nrec, 2);
}

static void test_registrar_too_brief(void **state)
{
	struct fx *f = *state;
	struct sip_msg *m;

	assert_int_equal(reg("c1@ua", 1,
			     "Contact: <sip:a@192.0.2.10:5070>\r\n"
			     "Expires: 30\r\n"),
			 423);
	m = last(423, "Interval Too Brief");
	assert_slice(hdr(m, "Min-Expires"), "60");
	assert_contacts(m, (const char *[]){NULL});
	/* A contact's own expires counts, and one brief contact fails all. */
	assert_int_equal(reg("c1@ua", 2,
			     "Contact: <sip:a@192.0.2.10:5070>;expires=59, "
			     "<sip:a@192.0.2.10:5071>\r\n"
			     "Expires: 3600\r\n"),
			 423);
	assert_int_equal(lookup("alice@example.com"), 0);
	assert_int_equal(f->nrec, 0);
	/* 0 is not brief: it removes. */
	assert_int_equal(reg("c1@ua", 3,
			     "Contact: <sip:a@192.0.2.10:5070>\r\n"
			     "Expires: 0\r\n"),
			 200);
	assert_int_equal(reg("c1@ua", 4,
			     "Contact: <sip:a@192.0.2.10:5070>\r\n"
			     "Expires: 60\r\n"),
			 200);
}

static void test_registrar_max_clamped(void **state)
{
	(void)state;
	assert_int_equal(reg("c1@ua", 1,
			     "Contact: <sip:a@192.0.2.10:5070>\r\n"
			     "Expires: 7200\r\n"),
			 200);
	assert_contacts(
	    last(200, NULL),
	    (const char *[]){"<sip:a@192.0.2.10:5070>;expires=3600", NULL});
	assert_int_equal(reg("c1@ua", 2,
			     "Contact: <sip:a@192.0.2.10:5070>"
			     ";expires=4294967295\r\n"),
			 200);
	assert_contacts(
	    last(200, NULL),
	    (const char *[]){"<sip:a@192.0.2.10:5070>;expires=3600", NULL});
}

/* Multiple contacts, q-values, and the param over the header. */
static void test_registrar_contacts_q_and_params(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    reg("c1@ua", 1,
		"Contact: <sip:a@192.0.2.10:5070>;q=0.5;expires=120"
		", <sip:a@192.0.2.10:5071>;q=0.9\r\n"
		"Contact: sip:a@192.0.2.10:5072\r\n"
		"Expires: 1200\r\n"),
	    200);
	assert_contacts(last(200, NULL),
			(const char *[]){
			    "<sip:a@192.0.2.10:5072>;expires=1200",
			    "<sip:a@192.0.2.10:5071>;expires=1200;q=0.9",
			    "<sip:a@192.0.2.10:5070>;expires=120;q=0.5", NULL});
	assert_int_equal(lookup("alice@example.com"), 3);
	assert_slice(f->out[0].contact, "sip:a@192.0.2.10:5072");
	assert_slice(f->out[1].contact, "sip:a@192.0.2.10:5071");
	assert_int_equal(f->out[1].q_milli, 900);
	assert_slice(f->out[2].contact, "sip:a@192.0.2.10:5070");
	/* The parser refuses a bad q or expires itself. */
	assert_int_equal(
	    reg("c1@ua", 2, "Contact: <sip:a@192.0.2.10:5070>;q=1.5\r\n"), -1);
	assert_int_equal(
	    reg("c1@ua", 3,
		"Contact: <sip:a@192.0.2.10:5070>;expires=soon\r\n"),
	    -1);
	assert_int_equal(reg("c1@ua", 4, "Contact: <tel:+15551234>\r\n"), 400);
	last(400, "Unsupported Contact URI Scheme");
	assert_int_equal(reg("c1@ua", 5,
			     "Contact: <sip:a@192.0.2.10:5070>\r\n"
			     "Expires: later\r\n"),
			 -1);
	assert_int_equal(lookup("alice@example.com"), 3);
}

/* RFC 3261 10.3 step 7 ordering. */
static void test_registrar_cseq_order(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    reg("c1@ua", 5, "Contact: <sip:a@192.0.2.10:5070>\r\n"), 200);
	assert_int_equal(
	    reg("c1@ua", 5, "Contact: <sip:a@192.0.2.10:5070>;expires=0\r\n"),
	    400);
	last(400, "Out of Order CSeq");
	assert_int_equal(
	    reg("c1@ua", 4, "Contact: <sip:a@192.0.2.10:5070>;expires=0\r\n"),
	    400);
	assert_int_equal(lookup("alice@example.com"), 1);
	assert_int_equal(
	    reg("c1@ua", 6, "Contact: <sip:a@192.0.2.10:5070>;expires=0\r\n"),
	    200);
	assert_int_equal(
	    reg("c1@ua", 7, "Contact: <sip:a@192.0.2.10:5070>\r\n"), 200);
	/* Another Call-ID replaces it, even with a lower CSeq. */
	assert_int_equal(
	    reg("c2@ua", 1, "Contact: <sip:a@192.0.2.10:5070>\r\n"), 200);
	assert_int_equal(lookup("alice@example.com"), 1);
	assert_slice(f->out[0].call_id, "c2@ua");
}

static void test_registrar_max_bindings(void **state)
{
	struct fx *f = *state;

	f->max_bindings = 2;
	assert_int_equal(reg("c1@ua", 1,
			     "Contact: <sip:a@192.0.2.10:1>, "
			     "<sip:a@192.0.2.10:2>\r\n"),
			 200);
	assert_int_equal(reg("c1@ua", 2, "Contact: <sip:a@192.0.2.10:3>\r\n"),
			 503);
	last(503, "Too Many Registered Contacts");
	assert_int_equal(lookup("alice@example.com"), 2);
	/* Swapping one for another stays within the limit. */
	assert_int_equal(reg("c1@ua", 3,
			     "Contact: <sip:a@192.0.2.10:1>;expires=0, "
			     "<sip:a@192.0.2.10:3>\r\n"),
			 200);
	/* 0: the registrar's default (here 3). */
	f->max_bindings = 0;
	f->ro.max_bindings = 3;
	open_registrar(f);
	assert_int_equal(
	    reg("c1@ua", 1,
		"Contact: <sip:a@192.0.2.10:1>, <sip:a@192.0.2.10:2>, "
		"<sip:a@192.0.2.10:3>\r\n"),
	    200);
	assert_int_equal(reg("c1@ua", 2, "Contact: <sip:a@192.0.2.10:4>\r\n"),
			 503);
}

/* RFC 3327 5.3: Path is stored, and echoed when the UA supports it. */
static void test_registrar_path(void **state)
{
	struct fx *f = *state;
	struct sip_flow edge = flow(SIP_TP_UDP, "198.51.100.7", 5060);
	struct sip_msg *m;

	assert_int_equal(reg_from(&edge, "c1@ua", 1,
				  "Path: <sip:edge1.example.net;lr>\r\n"
				  "Path: <sip:edge2.example.net;lr>\r\n"
				  "Supported: path, outbound\r\n"
				  "Contact: <sip:a@10.0.0.5:5060>\r\n"),
			 200);
	m = last(200, NULL);
	assert_slice(hdr(m, "Path"),
		     "<sip:edge1.example.net;lr>, <sip:edge2.example.net;lr>");
	assert_null(hdr(m, "Require").p);
	assert_int_equal(lookup("alice@example.com"), 1);
	assert_slice(f->out[0].path,
		     "<sip:edge1.example.net;lr>, <sip:edge2.example.net;lr>");
	assert_false(f->out[0].is_nated); /* the edge proxy's business */
	/* Without Supported: path, stored but not echoed. */
	assert_int_equal(reg_from(&edge, "c1@ua", 2,
				  "Path: <sip:edge1.example.net;lr>\r\n"
				  "Contact: <sip:a@10.0.0.5:5060>\r\n"),
			 200);
	assert_null(hdr(last(200, NULL), "Path").p);
	assert_int_equal(lookup("alice@example.com"), 1);
	assert_slice(f->out[0].path, "<sip:edge1.example.net;lr>");
	/* RFC 3261 8.2.2.3: we understand Require: path, nothing else. */
	assert_int_equal(reg_from(&edge, "c1@ua", 3,
				  "Require: path, foo\r\n"
				  "Path: <sip:edge1.example.net;lr>\r\n"
				  "Contact: <sip:a@10.0.0.5:5060>\r\n"),
			 420);
	assert_slice(hdr(last(420, NULL), "Unsupported"), "foo");
}

/* RFC 5626 basics: instance and reg-id echoed, Require: outbound. */
static void test_registrar_outbound(void **state)
{
	struct fx *f = *state;
	struct sip_msg *m;

	assert_int_equal(
	    reg("c1@ua", 1,
		"Supported: path, outbound\r\n"
		"Contact: <sip:a@192.0.2.10:5070;ob>;reg-id=1;"
		"+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-"
		"000A95A0E128>\"\r\n"),
	    200);
	m = last(200, NULL);
	assert_contacts(
	    m, (const char *[]){"<sip:a@192.0.2.10:5070;ob>;expires=3600;"
				"+sip.instance=\"<urn:uuid:00000000-0000-"
				"1000-8000-000A95A0E128>\";reg-id=1",
				NULL});
	assert_slice(hdr(m, "Require"), "outbound");
	assert_int_equal(lookup("alice@example.com"), 1);
	assert_true(f->out[0].use_flow);
	assert_int_equal(
	    reg("c1@ua", 2, "Contact: <sip:a@192.0.2.10:5070>;reg-id=x\r\n"),
	    400);
	last(400, "Bad reg-id");
}

static void test_registrar_to_must_match(void **state)
{
	struct fx *f = *state;

	f->auth_aor = "bob@example.com";
	assert_int_equal(reg("c1@ua", 1, "Contact: <sip:a@192.0.2.10>\r\n"),
			 403);
	last(403, "To Does Not Match Credentials");
	f->auth_aor = "alice@EXAMPLE.com"; /* the domain is caseless */
	assert_int_equal(reg("c1@ua", 2, "Contact: <sip:a@192.0.2.10>\r\n"),
			 200);
	assert_int_equal(lookup("alice@example.com"), 1);
}

/* The sweep runs every second from registrar_start(). */
static void test_registrar_expiry_sweep(void **state)
{
	struct fx *f = *state;

	assert_int_equal(registrar_start(f->r, f->tl, &f->wheel), 0);
	assert_int_equal(registrar_start(f->r, f->tl, &f->wheel), -EALREADY);
	assert_int_equal(reg("c1@ua", 1,
			     "Contact: <sip:a@192.0.2.10:5070>;expires=60, "
			     "<sip:a@192.0.2.10:5071>;expires=90\r\n"),
			 200);
	f->nrec = 0;
	advance(59000);
	assert_int_equal(lookup("alice@example.com"), 2);
	advance(1000); /* due now: gone at this tick */
	assert_int_equal(lookup("alice@example.com"), 1);
	assert_int_equal(f->nrec, 1);
	assert_false(f->rec[0].is_put);
	assert_string_equal(f->rec[0].contact, "sip:a@192.0.2.10:5070");
	advance(30000);
	assert_int_equal(lookup("alice@example.com"), 0);
	assert_int_equal(f->nrec, 2);
	assert_int_equal(registrar_expire(f->r), 0);
}

/* Start-up: records from the store come back with what is left. */
static void test_registrar_restore(void **state)
{
	struct fx *f = *state;
	struct store_binding b[4];
	struct location_time now = {5000, UNIX_BASE + 5};

	memset(b, 0, sizeof(b));
	snprintf(b[0].aor, sizeof(b[0].aor), "alice@example.com");
	snprintf(b[0].contact, sizeof(b[0].contact), "sip:a@10.0.0.5:5060");
	snprintf(b[0].call_id, sizeof(b[0].call_id), "c1@ua");
	b[0].cseq = 7;
	b[0].q_milli = 1000;
	b[0].expires_at = UNIX_BASE + 5 + 600;
	snprintf(b[0].transport, sizeof(b[0].transport), "tcp");
	snprintf(b[0].source, sizeof(b[0].source), "203.0.113.5:40000");
	b[1] = b[0];
	snprintf(b[1].contact, sizeof(b[1].contact), "sip:a@[2001:db8::5]");
	snprintf(b[1].source, sizeof(b[1].source), "[2001:db8::5]:5060");
	snprintf(b[1].transport, sizeof(b[1].transport), "udp");
	b[1].q_milli = 300;
	b[2] = b[0]; /* expired */
	snprintf(b[2].contact, sizeof(b[2].contact), "sip:a@10.0.0.6");
	b[2].expires_at = UNIX_BASE + 5;
	b[3] = b[0]; /* unreadable source */
	snprintf(b[3].contact, sizeof(b[3].contact), "sip:a@10.0.0.7");
	snprintf(b[3].source, sizeof(b[3].source), "nowhere");
	assert_int_equal(registrar_restore(f->r, b, 4, &now), 2);
	assert_int_equal(f->nrec, 0);
	assert_int_equal(lookup("alice@example.com"), 2);
	assert_slice(f->out[0].contact, "sip:a@10.0.0.5:5060");
	assert_int_equal(f->out[0].q_milli, LOCATION_Q_UNSET);
	assert_int_equal(f->out[0].expires_s, 605); /* the wheel is at 0 */
	assert_int_equal(f->out[0].flow.tp, SIP_TP_TCP);
	assert_null(f->out[0].flow.conn);
	{
		struct sip_addr want = addr("203.0.113.5", 40000);
		assert_true(sip_addr_eq(&f->out[0].flow.remote, &want));
	}
	assert_true(f->out[0].is_nated);
	assert_slice(f->out[1].contact, "sip:a@[2001:db8::5]");
	assert_int_equal(f->out[1].q_milli, 300);
	assert_false(f->out[1].is_nated);
	/* The restored CSeq still orders the next REGISTER. */
	assert_int_equal(reg("c1@ua", 7, "Contact: <sip:a@10.0.0.5:5060>\r\n"),
			 400);
	assert_int_equal(reg("c1@ua", 8, "Contact: <sip:a@10.0.0.5:5060>\r\n"),
			 200);
	assert_contacts(
	    last(200, NULL),
	    (const char *[]){"<sip:a@10.0.0.5:5060>;expires=3600",
			     "<sip:a@[2001:db8::5]>;expires=605;q=0.3", NULL});
}

static void test_registrar_nat_detection(void **state)
{
	struct fx *f = *state;
	struct sip_flow udp = flow(SIP_TP_UDP, "203.0.113.5", 40000);
	struct sip_flow tcp = flow(SIP_TP_TCP, "203.0.113.5", 40001);
	struct sip_flow v6 = flow(SIP_TP_UDP, "2001:db8::5", 5060);
	const struct {
		const char *uri;
		const struct sip_flow *src;
		bool is_nated;
	} cases[] = {
	    {"sip:a@10.0.0.5:5060", &udp, true},
	    {"sip:a@203.0.113.5:40000", &udp, false},
	    {"sip:a@203.0.113.5:5060", &udp, true}, /* port remapped */
	    {"sip:a@203.0.113.5", &tcp, false},	    /* stream: port ephemeral */
	    {"sip:a@192.168.1.2;transport=tcp", &tcp, true},
	    {"sip:a@pbx.example.com", &udp, false}, /* a name: trusted */
	    {"sip:a@[2001:db8::5]", &v6, false},
	    {"sip:a@[2001:db8::6]", &v6, true},
	    {"sip:a@10.0.0.5", &v6, true},
	};
	struct sip_uri u;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    sip_uri_parse(slice_cstr(cases[i].uri), &u, &f->lim), 0);
		if (registrar_contact_is_nated(&u, cases[i].src) !=
		    cases[i].is_nated)
			fail_msg("%s", cases[i].uri);
	}
	assert_int_equal(
	    reg_from(&udp, "c1@ua", 1, "Contact: <sip:a@10.0.0.5:5060>\r\n"),
	    200);
	assert_int_equal(lookup("alice@example.com"), 1);
	assert_true(f->out[0].is_nated);
	assert_true(f->out[0].use_flow);
	assert_true(sip_addr_eq(&f->out[0].flow.remote, &udp.remote));
	assert_slice(f->out[0].contact, "sip:a@10.0.0.5:5060");
}

/* The answer to a ping: the request's headers under a status line. */
static void answer_ping(size_t i)
{
	char buf[MSG_MAX];
	const char *crlf = strstr(g->sent[i].data, "\r\n");
	struct sip_flow fl = flow(SIP_TP_UDP, "203.0.113.5", 40000);

	assert_non_null(crlf);
	snprintf(buf, sizeof(buf), "SIP/2.0 200 OK%s", crlf);
	assert_int_equal(recv_on(buf, &fl), 0);
}

static size_t count_pings(size_t from)
{
	size_t n = 0;

	for (size_t i = from; i < g->nsent; i++)
		n += strncmp(g->sent[i].data, "OPTIONS ", 8) == 0;
	return n;
}

/* OPTIONS keep-alives go to NAT'd bindings; silence is counted. */
static void test_registrar_keepalive_options(void **state)
{
	struct fx *f = *state;
	struct sip_flow udp = flow(SIP_TP_UDP, "203.0.113.5", 40000);
	struct sip_msg *m;
	size_t first;
	struct registrar_stats st;

	f->ro.keepalive = REGISTRAR_KEEPALIVE_OPTIONS;
	f->ro.keepalive_interval_s = 2;
	f->ro.location_shards = 1;
	open_registrar(f);
	assert_int_equal(registrar_start(f->r, f->tl, &f->wheel), 0);
	assert_int_equal(
	    reg_from(&udp, "c1@ua", 1, "Contact: <sip:a@10.0.0.5:5060>\r\n"),
	    200);
	assert_int_equal(
	    reg("c2@ua", 1, "Contact: <sip:b@192.0.2.10:5070>\r\n"),
	    200); /* reachable: never pinged */
	first = f->nsent;
	advance(1000); /* shard 0 is pinged on even ticks: the first is 0 */
	assert_int_equal(count_pings(first), 1);
	m = sent_msg((long)first);
	assert_slice(m->ruri_raw, "sip:a@10.0.0.5:5060");
	assert_slice(m->via->host, "192.0.2.1");
	{
		struct sip_addr want = addr("203.0.113.5", 40000);
		assert_true(sip_addr_eq(&f->sent[first].flow.remote, &want));
	}
	answer_ping(first);
	/*
	 * Pings at 3, 5 and 7 s go unanswered and time out (timer F) at 35,
	 * 37 and 39 s: three in a row, counted on the binding and logged.
	 */
	advance(38000);
	assert_int_equal(lookup("alice@example.com"), 2);
	for (ssize_t i = 0; i < 2; i++)
		assert_int_equal(f->out[i].ping_failures,
				 f->out[i].is_nated ? 3 : 0);
	registrar_stats(f->r, &st);
	assert_int_equal(st.pings_failed, 3);
	assert_int_equal(st.pings_sent, 20);
	assert_int_equal(st.pings_in_flight, 16);
	/* Pings in flight at stop are forgotten cleanly. */
	registrar_stop(f->r);
	registrar_stats(f->r, &st);
	assert_int_equal(st.pings_in_flight, 0);
	advance(64 * T1);
}

/* A ping's answer reaches the housekeeping worker: its Call-ID hashes
 * there (handoff.h routes by hash % workers). */
static void test_registrar_keepalive_call_id_owner(void **state)
{
	struct fx *f = *state;
	struct sip_flow udp = flow(SIP_TP_UDP, "203.0.113.5", 40000);
	size_t first;

	f->ro.keepalive = REGISTRAR_KEEPALIVE_OPTIONS;
	f->ro.keepalive_interval_s = 1;
	f->ro.location_shards = 1;
	f->ro.workers = 7;
	f->ro.owner = 5;
	open_registrar(f);
	assert_int_equal(registrar_start(f->r, f->tl, &f->wheel), 0);
	assert_int_equal(
	    reg_from(&udp, "c1@ua", 1, "Contact: <sip:a@10.0.0.5:5060>\r\n"),
	    200);
	first = f->nsent;
	advance(5000);
	assert_true(count_pings(first) >= 4);
	for (size_t i = first; i < f->nsent; i++) {
		struct sip_msg *m = sent_msg((long)i);
		if (m->is_request && m->method == SIP_METHOD_OPTIONS)
			assert_int_equal(slice_hash(m->call_id) % 7, 5);
	}
	registrar_stop(f->r);
	advance(64 * T1);
}

static void test_registrar_keepalive_crlf(void **state)
{
	struct fx *f = *state;
	struct sip_flow tcp = flow(SIP_TP_TCP, "203.0.113.5", 40001);
	size_t first;

	f->ro.keepalive = REGISTRAR_KEEPALIVE_CRLF;
	f->ro.keepalive_interval_s = 1;
	open_registrar(f);
	assert_int_equal(registrar_start(f->r, f->tl, &f->wheel), 0);
	assert_int_equal(
	    reg_from(&tcp, "c1@ua", 1,
		     "Contact: <sip:a@10.0.0.5;transport=tcp>\r\n"),
	    200);
	first = f->nsent;
	advance(1000);
	assert_int_equal(f->nsent, first + 1);
	assert_int_equal(f->sent[first].len, 4);
	assert_memory_equal(f->sent[first].data, "\r\n\r\n", 4);
	assert_int_equal(f->sent[first].flow.tp, SIP_TP_TCP);
}

static void test_registrar_bad_requests(void **state)
{
	(void)state;
	assert_int_equal(reg("c1@ua", 1,
			     "Contact: <sip:a@192.0.2.10>\r\n"
			     "Require: 100rel\r\n"),
			 420);
	assert_int_equal(reg("c1@ua", 2, "Contact: garbage<<\r\n"), -1);
	assert_int_equal(reg("c1@ua", 3,
			     "Path: <<bad\r\n"
			     "Contact: <sip:a@192.0.2.10>\r\n"),
			 400);
	last(400, "Bad Path");
	assert_int_equal(lookup("alice@example.com"), 0);
	{
		struct sip_flow fl = flow(SIP_TP_UDP, "192.0.2.10", 5070);
		assert_int_equal(
		    recv_on(
			"OPTIONS sip:example.com SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKo1\r\n"
			"From: <sip:alice@example.com>;tag=f1\r\n"
			"To: <sip:alice@example.com>\r\n"
			"Call-ID: o1\r\nCSeq: 1 OPTIONS\r\n"
			"Content-Length: 0\r\n\r\n",
			&fl),
		    0);
		assert_int_equal(g->handled, 405);
		assert_slice(hdr(last(405, NULL), "Allow"), "REGISTER");
	}
}

/* What the store thread hands back at start-up. */
struct loaded {
	struct registrar *r;
	struct location_time now;
	int err;
	ssize_t restored;
	sem_t done;
};

static void on_loaded(void *arg, int err, const struct store_binding *b,
		      size_t n)
{
	struct loaded *l = arg;

	l->err = err;
	l->restored = err ? 0 : registrar_restore(l->r, b, n, &l->now);
	sem_post(&l->done);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

/* The real store: what one registrar writes, the next one restores. */
static void test_registrar_store_round_trip(void **state)
{
	struct fx *f = *state;
	char dir[64] = "/tmp/sb-registrar-XXXXXX", data[96];
	struct store_opts so = {.flush_ms = 10};
	struct store *s;
	struct loaded l = {.now = {0, UNIX_BASE + 100}};
	struct timespec ts;

	assert_non_null(mkdtemp(dir));
	snprintf(data, sizeof(data), "%s/data", dir);
	so.data_dir = data;
	assert_int_equal(store_open(&so, &s), 0);
	f->ro.persist = (struct location_persist){0};
	f->ro.store = s;
	open_registrar(f);
	assert_int_equal(
	    reg("c1@ua", 1,
		"Contact: <sip:a@10.0.0.5:5060>;q=0.5, "
		"<sip:a@192.0.2.10:5070>, <sip:a@192.0.2.10:5071>\r\n"),
	    200);
	assert_int_equal(
	    reg("c1@ua", 2, "Contact: <sip:a@192.0.2.10:5071>;expires=0\r\n"),
	    200);
	f->r = registrar_free(f->r);
	s = store_close(s); /* flushes the write-behind queue */

	assert_int_equal(store_open(&so, &s), 0);
	f->ro.store = NULL;
	open_registrar(f);
	l.r = f->r;
	assert_int_equal(sem_init(&l.done, 0, 0), 0);
	assert_int_equal(
	    store_bindings_load(s, l.now.unix_s, NULL, on_loaded, &l), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	assert_int_equal(sem_timedwait(&l.done, &ts), 0);
	sem_destroy(&l.done);
	s = store_close(s);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(l.err, 0);
	assert_int_equal(l.restored, 2);
	assert_int_equal(lookup("alice@example.com"), 2);
	assert_slice(f->out[0].contact, "sip:a@192.0.2.10:5070");
	assert_int_equal(f->out[0].q_milli, LOCATION_Q_UNSET);
	assert_int_equal(f->out[0].expires_s, 3500);
	assert_slice(f->out[1].contact, "sip:a@10.0.0.5:5060");
	assert_int_equal(f->out[1].q_milli, 500);
	assert_int_equal(f->out[1].cseq, 1);
	assert_slice(f->out[1].call_id, "c1@ua");
	assert_slice(f->out[1].user_agent, "unit/1.0");
	assert_true(f->out[1].is_nated); /* 10.0.0.5 behind 192.0.2.10 */
}

static void test_registrar_opts(void **state)
{
	struct registrar_opts o = registrar_opts_default();
	struct registrar *r;

	(void)state;
	o.min_expires_s = 4000;
	assert_int_equal(registrar_new(&o, &r), -EINVAL);
	o = registrar_opts_default();
	o.max_bindings = 0;
	assert_int_equal(registrar_new(&o, &r), -EINVAL);
	o = registrar_opts_default();
	o.keepalive = REGISTRAR_KEEPALIVE_CRLF;
	o.keepalive_interval_s = 0;
	assert_int_equal(registrar_new(&o, &r), -EINVAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_registrar_add),
	    T(test_registrar_refresh_and_remove),
	    T(test_registrar_star),
	    T(test_registrar_too_brief),
	    T(test_registrar_max_clamped),
	    T(test_registrar_contacts_q_and_params),
	    T(test_registrar_cseq_order),
	    T(test_registrar_max_bindings),
	    T(test_registrar_path),
	    T(test_registrar_outbound),
	    T(test_registrar_to_must_match),
	    T(test_registrar_expiry_sweep),
	    T(test_registrar_restore),
	    T(test_registrar_nat_detection),
	    T(test_registrar_keepalive_options),
	    T(test_registrar_keepalive_call_id_owner),
	    T(test_registrar_keepalive_crlf),
	    T(test_registrar_bad_requests),
	    T(test_registrar_store_round_trip),
	    T(test_registrar_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
