/* The transaction layer: life cycle, matching tables (RFC 3261 17.1.3,
 * 17.2.3), dispatch of received messages, and counters. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/rand.h"
#include "base/log.h"
#include "base/mem.h"
#include "sip/txn/txn_int.h"

#define LOG_MODULE "txn"

enum {
	BRANCH_RANDOM_CHARS = 16, /* after the magic cookie */
	BRANCH_COOKIE_LEN = 7,	  /* "z9hG4bK" */
	LOG_BRANCH_MAX = 64	  /* bytes of a branch in a log line */
};

/* What a received request is looked up for (RFC 3261 17.2.3, 9.2). */
enum match {
	MATCH_SAME,	    /* its own transaction: a retransmission */
	MATCH_ACK,	    /* the INVITE an ACK acknowledges */
	MATCH_CANCEL_TARGET /* the request a CANCEL cancels */
};

static const char *const state_names[] = {
    "calling",	 "trying",   "proceeding", "completed",
    "confirmed", "accepted", "terminated",
};

static void random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t r = 0;

	for (size_t i = 0; i < n; i++, r >>= 4) {
		if (i % 16 == 0)
			r = sb_rand64();
		out[i] = hex[r & 15];
	}
}

struct slice txn_layer_tag(char *buf)
{
	random_hex(buf, TXN_TAG_CHARS);
	return slice_make(buf, TXN_TAG_CHARS);
}

struct slice txn_branch_new(char *buf, size_t cap)
{
	size_t len = BRANCH_COOKIE_LEN + BRANCH_RANDOM_CHARS;

	if (cap < len + 1)
		return slice_make(NULL, 0);
	memcpy(buf, "z9hG4bK", BRANCH_COOKIE_LEN);
	random_hex(buf + BRANCH_COOKIE_LEN, BRANCH_RANDOM_CHARS);
	buf[len] = '\0';
	return slice_make(buf, len);
}

/* FNV-1a over lower-cased bytes: branches compare case-insensitively. */
uint32_t txn_layer_key_branch(struct slice branch)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < branch.len; i++) {
		unsigned char c = (unsigned char)branch.p[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * 16777619u;
	}
	return h;
}

uint32_t txn_layer_key_2543(const struct sip_msg *m)
{
	return slice_hash(m->call_id) ^ (m->cseq.num * 2654435761u);
}

static struct txn **bucket_of(struct txn_layer *tl, uint32_t hash)
{
	return &tl->buckets[hash & (tl->nbuckets - 1)];
}

/* Double the table when it is full; on failure keep the longer chains. */
static void grow(struct txn_layer *tl)
{
	uint32_t n = tl->nbuckets * 2;
	struct txn **old = tl->buckets, **nb;

	if (n == 0 || !(nb = sb_calloc(n, sizeof(*nb))))
		return;
	tl->buckets = nb;
	tl->nbuckets = n;
	for (uint32_t i = 0; i < n / 2; i++) {
		while (old[i]) {
			struct txn *t = old[i], **b = bucket_of(tl, t->hash);

			old[i] = t->hnext;
			t->hnext = *b;
			*b = t;
		}
	}
	sb_free(old);
}

void txn_layer_link(struct txn *t)
{
	struct txn_layer *tl = t->tl;
	struct txn **b;

	if (tl->linked >= tl->nbuckets)
		grow(tl);
	b = bucket_of(tl, t->hash);
	t->hnext = *b;
	*b = t;
	t->is_linked = true;
	tl->linked++;
}

static void unlink_txn(struct txn *t)
{
	struct txn **pp;

	if (!t->is_linked)
		return;
	for (pp = bucket_of(t->tl, t->hash); *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	}
	t->hnext = NULL;
	t->is_linked = false;
	t->tl->linked--;
}

struct txn *txn_layer_alloc(struct txn_layer *tl, bool is_server,
			    size_t data_len)
{
	struct txn *t;

	if (data_len > UINT32_MAX)
		return NULL;
	t = sb_calloc(1, sizeof(*t) + data_len);
	if (!t)
		return NULL;
	t->tl = tl;
	t->is_server = is_server;
	t->len = (uint32_t)data_len;
	buf_init(&t->ack, TXN_OUT_MAX);
	sb_live_inc(SB_LIVE_TXN);
	tl->stats.alive++;
	return t;
}

void txn_layer_stop_timers(struct txn *t)
{
	wheel_stop(t->tl->o.wheel, &t->retx);
	wheel_stop(t->tl->o.wheel, &t->end);
}

static void destroy(struct txn *t)
{
	txn_layer_stop_timers(t);
	unlink_txn(t);
	tp_flow_clear(&t->dst);
	t->req = sip_inmsg_free(t->req);
	sb_free(t->kept);
	sb_free(t->out);
	buf_close(&t->ack);
	t->tl->stats.alive--;
	sb_live_dec(SB_LIVE_TXN);
	sb_free(t);
}

void txn_layer_set_state(struct txn *t, enum txn_state s)
{
	char b[LOG_BRANCH_MAX];

	if (t->state == s)
		return;
	t->state = s;
	log_debug("state", "side=%s method=" SL_FMT " state=%s txn=%s",
		  t->is_server ? "server" : "client",
		  SL_ARG(sip_method_name(t->method)), state_names[s],
		  log_esc(t->branch, b, sizeof(b)));
}

void txn_layer_end(struct txn *t)
{
	struct txn_layer *tl = t->tl;

	txn_layer_set_state(t, TXN_STATE_TERMINATED);
	txn_layer_stop_timers(t);
	unlink_txn(t);
	if (t->sends_pending == 0) {
		destroy(t);
		return;
	}
	/* A stream send still owes us its callback: keep t until then. */
	t->cb = NULL;
	t->hnext = tl->zombies;
	tl->zombies = t;
}

void txn_layer_reap(struct txn *t)
{
	struct txn **pp;

	for (pp = &t->tl->zombies; *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	}
	t->hnext = NULL;
	destroy(t);
}

void txn_layer_timer(struct txn *t, struct wheel_timer *w, uint64_t ms)
{
	wheel_start(t->tl->o.wheel, w, ms);
}

int txn_layer_send(struct txn *t, struct slice bytes, bool with_cb)
{
	struct txn_layer *tl = t->tl;
	int err =
	    tl->send(&t->dst, bytes.p, bytes.len,
		     with_cb ? txn_client_on_sent : NULL, with_cb ? t : NULL);

	if (err)
		tl->stats.transport_errors++;
	else if (with_cb)
		t->sends_pending++;
	return err;
}

void txn_layer_stray(struct txn_layer *tl, struct sip_inmsg *im)
{
	tl->stats.stray++;
	if (tl->o.user.on_stray)
		tl->o.user.on_stray(tl->o.user.ctx, im);
	sip_inmsg_free(im);
}

static bool method_eq(enum sip_method a, struct slice a_name, enum sip_method b,
		      struct slice b_name)
{
	/* RFC 3261 7.1: method names are case-sensitive */
	return a == b && (a != SIP_METHOD_UNKNOWN || slice_eq(a_name, b_name));
}

static bool sent_by_eq(const struct txn *t, const struct sip_via *v)
{
	return slice_caseeq(t->sent_by, v->host) &&
	       t->has_sent_by_port == v->has_port &&
	       (!v->has_port || t->sent_by_port == v->port);
}

static struct slice via_raw(const struct sip_msg *m)
{
	return slice_make(m->buf + m->via->off, m->via->len);
}

static struct slice tag_of(const struct sip_nameaddr *na)
{
	return na ? na->tag : slice_make(NULL, 0);
}

/*
 * RFC 3261 17.2.3: branch, sent-by and method (ACK matches INVITE). Only
 * fields of t itself: the request may be gone (Completed, Confirmed).
 */
static bool match_3261(const struct txn *t, const struct sip_msg *m,
		       enum match how)
{
	if (!slice_caseeq(t->branch, m->via->branch) || !sent_by_eq(t, m->via))
		return false;
	switch (how) {
	case MATCH_SAME:
		return method_eq(t->method, t->method_name, m->method,
				 m->method_name);
	case MATCH_ACK:
		return t->method == SIP_METHOD_INVITE;
	case MATCH_CANCEL_TARGET:
		return t->method != SIP_METHOD_CANCEL;
	}
	return false;
}

/*
 * RFC 3261 17.2.3 for requests without the magic cookie: Request-URI, To
 * tag, From tag, Call-ID, CSeq and top Via match the creating request; an
 * ACK's To tag matches the tag of our response instead; a CANCEL (9.2)
 * matches all of them but the CSeq method.
 */
static bool match_2543(const struct txn *t, const struct sip_msg *m,
		       enum match how)
{
	const struct sip_msg *r = &t->req->msg;

	if (!slice_eq(r->call_id, m->call_id) || r->cseq.num != m->cseq.num ||
	    !slice_eq(tag_of(r->from), tag_of(m->from)) ||
	    !slice_eq(via_raw(r), via_raw(m)) ||
	    !sip_uri_eq(&r->ruri, &m->ruri))
		return false;
	switch (how) {
	case MATCH_SAME:
		return method_eq(t->method, t->method_name, m->method,
				 m->method_name) &&
		       slice_eq(tag_of(r->to), tag_of(m->to));
	case MATCH_ACK:
		return t->method == SIP_METHOD_INVITE &&
		       slice_eq(t->to_tag, tag_of(m->to));
	case MATCH_CANCEL_TARGET:
		return t->method != SIP_METHOD_CANCEL &&
		       slice_eq(tag_of(r->to), tag_of(m->to));
	}
	return false;
}

static struct txn *find_server(struct txn_layer *tl, const struct sip_msg *m,
			       enum match how)
{
	bool is_3261 = txn_has_cookie(m->via->branch);
	uint32_t h = is_3261 ? txn_layer_key_branch(m->via->branch)
			     : txn_layer_key_2543(m);

	for (struct txn *t = *bucket_of(tl, h); t; t = t->hnext) {
		if (t->hash != h || !t->is_server || t->is_rfc2543 == is_3261)
			continue;
		if (is_3261 ? match_3261(t, m, how) : match_2543(t, m, how))
			return t;
	}
	return NULL;
}

/* RFC 3261 17.1.3: top Via branch and CSeq method. */
static struct txn *find_client(struct txn_layer *tl, const struct sip_msg *m)
{
	struct slice branch = m->via->branch;
	uint32_t h;

	if (!txn_has_cookie(branch))
		return NULL;
	h = txn_layer_key_branch(branch);
	for (struct txn *t = *bucket_of(tl, h); t; t = t->hnext) {
		if (t->hash == h && !t->is_server &&
		    slice_caseeq(t->branch, branch) &&
		    method_eq(t->method, t->method_name, m->cseq.method,
			      m->cseq.method_name))
			return t;
	}
	return NULL;
}

static void recv_request(struct txn_layer *tl, struct sip_inmsg *im)
{
	struct sip_msg *m = &im->msg;
	struct txn *t;

	t = find_server(tl, m,
			m->method == SIP_METHOD_ACK ? MATCH_ACK : MATCH_SAME);
	if (m->method == SIP_METHOD_ACK) {
		/* RFC 3261 17.2.3: an ACK for a 2xx matches no transaction */
		if (t) {
			txn_server_ack(t, im);
		} else {
			tl->stats.requests[SIP_METHOD_ACK]++;
			txn_layer_stray(tl, im);
		}
		return;
	}
	if (t) {
		/* RFC 3261 17.2.1, 17.2.2: absorb the retransmission */
		txn_server_absorb(t, im);
		return;
	}
	tl->stats.requests[m->method]++;
	if (m->method == SIP_METHOD_CANCEL) {
		/* RFC 3261 9.2: the CANCEL's target, by the same rules */
		txn_server_cancel(tl, im,
				  find_server(tl, m, MATCH_CANCEL_TARGET));
		return;
	}
	txn_server_start(tl, im);
}

static void recv_response(struct txn_layer *tl, struct sip_inmsg *im)
{
	unsigned cls = txn_status_class(im->msg.status);
	struct txn *t;

	tl->stats.responses_in[cls]++;
	t = find_client(tl, &im->msg);
	if (!t || cls == 0) {
		txn_layer_stray(tl, im);
		return;
	}
	if (!txn_client_recv(t, im)) {
		txn_layer_stray(tl, im);
		return;
	}
	sip_inmsg_free(im);
}

void txn_layer_recv(struct txn_layer *tl, struct sip_inmsg *im)
{
	const struct sip_msg *m = &im->msg;

	/* The fields matching needs; the parser insists on them already. */
	if (!m->via || !m->call_id.p || !m->from || !m->to) {
		sip_inmsg_free(im);
		return;
	}
	if (m->is_request)
		recv_request(tl, im);
	else
		recv_response(tl, im);
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

int txn_layer_new(const struct txn_layer_opts *o, struct txn_layer **out)
{
	struct txn_timers def = txn_timers_default();
	struct txn_layer *tl;

	if (!o || !o->wheel)
		return -EINVAL;
	tl = sb_calloc(1, sizeof(*tl) + o->server.len);
	if (!tl)
		return -ENOMEM;
	tl->buckets = sb_calloc(TXN_BUCKETS_INITIAL, sizeof(*tl->buckets));
	if (!tl->buckets) {
		sb_free(tl);
		return -ENOMEM;
	}
	tl->nbuckets = TXN_BUCKETS_INITIAL;
	tl->o = *o;
	tl->o.timers.t1_ms = or_default(o->timers.t1_ms, def.t1_ms);
	tl->o.timers.t2_ms = or_default(o->timers.t2_ms, def.t2_ms);
	tl->o.timers.t4_ms = or_default(o->timers.t4_ms, def.t4_ms);
	tl->o.timers.timer_d_ms =
	    or_default(o->timers.timer_d_ms, def.timer_d_ms);
	tl->send = o->send ? o->send : tp_send;
	if (o->server.p) {
		memcpy(tl->server, o->server.p, o->server.len);
		tl->o.server = slice_make(tl->server, o->server.len);
	}
	tl->limits = sb_limits_default();
	buf_init(&tl->build, TXN_OUT_MAX);
	*out = tl;
	return 0;
}

struct txn_layer *txn_layer_free(struct txn_layer *tl)
{
	if (!tl)
		return NULL;
	for (uint32_t i = 0; i < tl->nbuckets; i++)
		while (tl->buckets[i])
			destroy(tl->buckets[i]);
	while (tl->zombies)
		txn_layer_reap(tl->zombies);
	buf_close(&tl->build);
	sb_free(tl->buckets);
	sb_free(tl);
	return NULL;
}

const struct txn_stats *txn_layer_stats(const struct txn_layer *tl)
{
	return &tl->stats;
}

uint32_t txn_layer_alive(const struct txn_layer *tl)
{
	return (uint32_t)tl->stats.alive;
}

struct sip_msg *txn_request(struct txn *t)
{
	/* The same answer whether or not the request was let go. */
	if (!t->is_server || !t->req || t->state == TXN_STATE_COMPLETED ||
	    t->state == TXN_STATE_CONFIRMED || t->state == TXN_STATE_TERMINATED)
		return NULL;
	return &t->req->msg;
}

const struct sip_flow *txn_flow(const struct txn *t)
{
	if (!t->is_server)
		return &t->dst;
	return t->req ? &t->req->flow : &t->kept->flow;
}

enum txn_state txn_state(const struct txn *t)
{
	return t->state;
}

bool txn_is_server(const struct txn *t)
{
	return t->is_server;
}

enum sip_method txn_method(const struct txn *t)
{
	return t->method;
}
