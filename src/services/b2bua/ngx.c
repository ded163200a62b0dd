/* A call's media through rtpengine: SDP crossings wait for its answer. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "services/b2bua/b2bua_int.h"

#define LOG_MODULE "b2bua"

/*
 * The call is one rtpengine call named by the call's id; its two sides
 * are the monologues "caller" and "callee" (a transfer's new leg takes
 * the side of the leg it replaces, as with the local relay). An offer
 * goes from the offerer's side to the other; an answer names the
 * offerer's side as from-tag (rtpengine's rule), the answerer's as
 * to-tag.
 *
 * One request per call is out at a time. The message whose SDP it
 * carries is the queue's head; messages with SDP that come meanwhile
 * queue behind it and run, in order, once it is done.
 */
struct ngx {
	struct call *c;
	int server;	    /* the rtpengine that has the call; NG_ANY */
	struct ng_req *req; /* out now, for the head */
	struct xwait *head, *tail;
	uint32_t nwaits;       /* in the queue, at most XWAIT_MAX */
	struct xwait *running; /* the wait whose site runs again now */
	char *sdp;	       /* the reply's SDP, for the head */
	uint32_t sdp_len;
	int err;       /* the reply's outcome, for the head */
	bool is_ready; /* a reply came for the head */
	bool is_ended; /* the call ended while running: freed after */
	char *offer;   /* the caller's first offer, rewritten */
	uint32_t offer_len;
};

static const char *const side_tag[2] = {"caller", "callee"};

/* Messages a call may have waiting: a peer that piles up SDP while
 * rtpengine is slow gets refused, not a longer queue. */
enum { XWAIT_MAX = 16 };

/* txn_set_owner() kind of a request waiting here (its CANCEL finds it) */
enum { XWAIT_TXN_OWNER = 4 };

int ngx_start(struct call *c)
{
	struct ngx *x = sb_calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->c = c;
	x->server = NG_ANY;
	c->ngx = x;
	return 0;
}

static void wait_free(struct xwait *w)
{
	if (!w)
		return;
	if (w->t && txn_owner(w->t, XWAIT_TXN_OWNER) == w)
		txn_set_owner(w->t, NULL, 0);
	sip_inmsg_free(w->im);
	sb_free(w);
}

static void ngx_free(struct ngx *x)
{
	sb_free(x->sdp);
	sb_free(x->offer);
	sb_free(x);
}

struct sip_msg *xwait_msg(struct xwait *w)
{
	return w->t ? txn_request(w->t) : &w->im->msg;
}

/* --- requests --------------------------------------------------------- */

static void put_addr(struct buf *b, const char *key, const struct leg *l)
{
	char text[INET6_ADDRSTRLEN];
	const struct sockaddr *sa = &l->flow.remote.sa;
	const void *ip =
	    sa->sa_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	/* where its SIP came from: rtpengine may latch to it */
	if (!l->has_flow || !l->flow.remote.len ||
	    !inet_ntop(sa->sa_family, ip, text, sizeof(text)))
		return;
	ben_cstr(b, key);
	ben_list(b);
	ben_cstr(b, l->flow.remote.sa.sa_family == AF_INET6 ? "IP6" : "IP4");
	ben_cstr(b, text);
	ben_end(b);
}

static void put_flags(struct buf *b, const struct config_rtpengine *r)
{
	ben_cstr(b, "flags");
	ben_list(b);
	for (uint8_t i = 0; i < r->nflags; i++)
		ben_cstr(b, r->flags[i]);
	ben_end(b);
}

static void on_reply(void *arg, int err, int server, const struct ben *reply);

/* offer or answer for s from side `from` toward a leg of to_family. */
static int ask(struct ngx *x, const struct leg *from, int to_family,
	       const struct sdp *s, enum sdp_oa_kind kind)
{
	struct call *c = x->c;
	struct buf *b = &c->b->ng;
	const struct config_rtpengine *r = &config_media(c->cfg)->rtpengine;
	unsigned side = from->mside,
		 other = side == MEDIA_A ? MEDIA_B : MEDIA_A;
	int err;

	buf_reset(b);
	ben_dict(b);
	ben_pair_cstr(b, "command", kind == SDP_OA_OFFER ? "offer" : "answer");
	ben_pair_cstr(b, "call-id", c->id);
	/* an answer's from-tag is the offerer's */
	ben_pair_cstr(b, "from-tag",
		      side_tag[kind == SDP_OA_OFFER ? side : other]);
	ben_pair_cstr(b, "to-tag",
		      side_tag[kind == SDP_OA_OFFER ? other : side]);
	ben_pair(b, "sdp", s->raw);
	ben_pair_cstr(b, "ICE", "remove");
	ben_pair_cstr(b, "address family",
		      to_family == AF_INET6 ? "IP6" : "IP4");
	ben_cstr(b, "replace");
	ben_list(b);
	ben_cstr(b, "origin");
	ben_cstr(b, "session-connection");
	ben_end(b);
	put_addr(b, "received-from", from);
	put_flags(b, r);
	ben_end(b);
	if (buf_error(b))
		return -E2BIG;
	err = ng_request(c->b->deps.ng, x->server, buf_slice(b), on_reply, x,
			 &x->req);
	if (err) {
		x->req = NULL;
		log_warn("rtpengine_unreachable", "call=%s error=\"%s\"", c->id,
			 sb_strerror(err));
		return -EHOSTUNREACH;
	}
	return 0;
}

/* Run the queue: the head's site again (it takes the reply), then the
 * next ones until one asks rtpengine. */
static void run(struct ngx *x)
{
	struct xwait *w;

	while ((w = x->head) && !x->req) {
		x->running = w;
		if (!w->is_cancelled)
			w->resume(w);
		x->running = NULL;
		if (x->is_ended) { /* the site ended the call */
			wait_free(w);
			ngx_free(x);
			return;
		}
		x->is_ready = false;
		if (x->req)
			break; /* it asked again (a new exchange): it waits */
		x->head = w->next;
		if (!x->head)
			x->tail = NULL;
		x->nwaits--;
		wait_free(w);
	}
	if (!x->head)
		x->is_ready = false;
}

static void on_reply(void *arg, int err, int server, const struct ben *reply)
{
	struct ngx *x = arg;
	struct call *c = x->c;
	struct slice sdp = {NULL, 0};

	x->req = NULL;
	if (!err) {
		sdp = ben_get_str(reply, "sdp");
		if (!sdp.len)
			err = -EBADMSG;
	}
	if (err) {
		struct slice why = reply ? ben_get_str(reply, "error-reason")
					 : (struct slice){NULL, 0};

		log_warn("rtpengine_error",
			 "call=%s error=\"%s\" reason=\"%.*s\"", c->id,
			 sb_strerror(err), (int)(why.len < 200 ? why.len : 200),
			 why.p ? why.p : "");
	} else {
		char *copy = sb_malloc(sdp.len);

		if (copy) {
			memcpy(copy, sdp.p, sdp.len);
			sb_free(x->sdp);
			x->sdp = copy;
			x->sdp_len = (uint32_t)sdp.len;
		} else {
			err = -ENOMEM;
		}
		if (x->server == NG_ANY)
			x->server = server; /* the call lives there now */
	}
	x->err = err == -ETIMEDOUT ? -EHOSTUNREACH : err;
	x->is_ready = true;
	run(x);
}

int ngx_cross(struct call *c, const struct leg *from, int to_family,
	      const struct sdp *s, enum sdp_oa_kind kind, struct arena *arena,
	      struct sdp *out)
{
	struct ngx *x = c->ngx;
	char *text;
	int err;

	if (x->running && x->running == x->head && x->is_ready) {
		x->is_ready = false; /* the reply is taken once */
		if (x->err)
			return x->err;
		text = arena_strndup(arena, x->sdp, x->sdp_len);
		if (!text)
			return -ENOMEM;
		if (sdp_parse(slice_make(text, x->sdp_len), arena, out) != 0) {
			log_warn("rtpengine_bad_sdp", "call=%s", c->id);
			return -EBADMSG;
		}
		return 0;
	}
	if (x->req || (x->head && x->running != x->head))
		return -EINPROGRESS; /* behind another message */
	err = ask(x, from, to_family, s, kind);
	return err ? err : -EINPROGRESS;
}

int ngx_defer(struct call *c, xwait_fn resume, xwait_fn drop, struct leg *l,
	      void *ptr, struct txn *t, struct sip_msg *m)
{
	struct ngx *x = c->ngx;
	struct xwait *w;
	struct sip_perr perr;

	if (x->running)
		return 0; /* the head asked again: it stays the head */
	if (x->nwaits >= XWAIT_MAX) {
		log_info("rtpengine_queue_full", "call=%s waits=%u", c->id,
			 x->nwaits);
		return -EAGAIN;
	}
	w = sb_calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct xwait){
	    .c = c, .resume = resume, .drop = drop, .l = l, .ptr = ptr, .t = t};
	if (t && !txn_owner(t, B2BUA_TXN_OWNER))
		txn_set_owner(t, w, XWAIT_TXN_OWNER); /* for its CANCEL */
	if (!t) {
		/* the message is lent to the site: keep a copy */
		w->im = sip_inmsg_new(m->len);
		if (!w->im) {
			sb_free(w);
			return -ENOMEM;
		}
		memcpy(w->im->data, m->buf, m->len);
		w->im->len = m->len;
		if (sip_msg_parse(&w->im->msg, &w->im->arena, w->im->data,
				  m->len, SIP_FRAMING_DATAGRAM, m->limits,
				  &perr) != 0) {
			wait_free(w);
			return -ENOMEM;
		}
	}
	if (x->tail)
		x->tail->next = w;
	else
		x->head = w;
	x->tail = w; /* a head was asked when it came: its reply runs it */
	x->nwaits++;
	return 0;
}

bool ngx_cancel(struct txn *t, const struct sip_reply_opts *o)
{
	struct xwait *w = txn_owner(t, XWAIT_TXN_OWNER);

	if (!w)
		return false;
	/* RFC 3261 9.2: the INVITE gets 487; it never goes further */
	(void)txn_reply(t, o);
	txn_set_owner(t, NULL, 0);
	w->t = NULL;
	w->drop = NULL;
	w->is_cancelled = true;
	return true;
}

int ngx_offer_sdp(struct call *c, struct arena *arena, struct sdp **out)
{
	struct ngx *x = c->ngx;
	struct sdp *s;

	*out = NULL;
	if (!x->offer)
		return -EPROTO;
	s = arena_alloc(arena, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (sdp_parse(slice_make(x->offer, x->offer_len), arena, s) != 0)
		return -EBADMSG;
	*out = s;
	return 0;
}

int ngx_keep_offer(struct call *c, const struct sdp *s)
{
	struct ngx *x = c->ngx;
	char *copy = sb_malloc(s->raw.len ? s->raw.len : 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, s->raw.p, s->raw.len);
	sb_free(x->offer);
	x->offer = copy;
	x->offer_len = (uint32_t)s->raw.len;
	return 0;
}

/* --- the end ---------------------------------------------------------- */

/* What rtpengine counted, from its reply to delete. The call's id rides
 * in arg: 12 hex digits fit a pointer, and nothing is left to free when
 * the client goes with the reply still out. */
static void on_deleted(void *arg, int err, int server, const struct ben *reply)
{
	const struct ben *rtp = ben_get(ben_get(reply, "totals"), "RTP");
	int64_t packets = 0, bytes = 0, errors = 0;

	(void)server;
	if (err) {
		log_info("rtpengine_delete_failed",
			 "call=%012" PRIxPTR " error=\"%s\"", (uintptr_t)arg,
			 sb_strerror(err));
		return;
	}
	(void)ben_get_int(rtp, "packets", &packets);
	(void)ben_get_int(rtp, "bytes", &bytes);
	(void)ben_get_int(rtp, "errors", &errors);
	log_info("media_summary",
		 "call=%012" PRIxPTR " relay=rtpengine packets=%" PRId64
		 " bytes=%" PRId64 " errors=%" PRId64,
		 (uintptr_t)arg, packets, bytes, errors);
}

static void delete_call(struct ngx *x)
{
	struct call *c = x->c;
	struct buf *b = &c->b->ng;

	if (x->server == NG_ANY)
		return; /* rtpengine never took it */
	buf_reset(b);
	ben_dict(b);
	ben_pair_cstr(b, "command", "delete");
	ben_pair_cstr(b, "call-id", c->id);
	ben_end(b);
	if (buf_error(b) ||
	    ng_request(c->b->deps.ng, x->server, buf_slice(b), on_deleted,
		       (void *)(uintptr_t)strtoull(c->id, NULL, 16), NULL) != 0)
		log_info("rtpengine_delete_failed", "call=%s", c->id);
}

void ngx_drop_waits(struct call *c)
{
	struct ngx *x = c->ngx;
	struct xwait *w, *next;

	if (!x)
		return;
	if (x->req) {
		ng_cancel(x->req);
		x->req = NULL;
	}
	for (w = x->head; w; w = next) {
		next = w->next;
		if (w == x->running)
			continue; /* its site is on the stack */
		if (w->drop && !w->is_cancelled)
			w->drop(w);
		wait_free(w);
	}
	x->head = x->tail = x->running;
	x->nwaits = x->running ? 1 : 0;
	if (x->running)
		x->running->next = NULL;
}

void ngx_end(struct call *c)
{
	struct ngx *x = c->ngx;

	if (!x)
		return;
	ngx_drop_waits(c);
	delete_call(x);
	c->ngx = NULL;
	if (x->running)
		x->is_ended = true; /* run() frees it */
	else
		ngx_free(x);
}

static void on_recorded(void *arg, int err, int server, const struct ben *reply)
{
	(void)server;
	(void)reply;
	if (err)
		log_warn("recording_failed",
			 "call=%012" PRIxPTR " relay=rtpengine error=\"%s\"",
			 (uintptr_t)arg, sb_strerror(err));
}

int ngx_record(struct call *c, bool is_on)
{
	struct ngx *x = c->ngx;
	struct buf *b = &c->b->ng;

	if (x->server == NG_ANY)
		return -EAGAIN;
	buf_reset(b);
	ben_dict(b);
	ben_pair_cstr(b, "command",
		      is_on ? "start recording" : "stop recording");
	ben_pair_cstr(b, "call-id", c->id);
	ben_end(b);
	if (buf_error(b))
		return -E2BIG;
	return ng_request(c->b->deps.ng, x->server, buf_slice(b), on_recorded,
			  (void *)(uintptr_t)strtoull(c->id, NULL, 16), NULL);
}
