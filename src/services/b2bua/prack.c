/* Reliable provisional responses (RFC 3262) on each leg, and 100rel
 * interworking when only one side supports them. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/rand.h"
#include "runtime/config.h"
#include "services/b2bua/b2bua_int.h"

#define LOG_MODULE "b2bua"

static const struct slice none = {NULL, 0};

enum {
	RSEQ_START_MAX = 1u << 30, /* first RSeq below this: room to count */
	REL_LINES_MAX = 64	   /* bytes of our Require and RSeq lines */
};

/* A response kept for sending later: its slices point into text. */
struct kept {
	struct sip_reply_opts o;
	char *text;
	bool is_set;
};

/* The A-leg of a caller that requires 100rel: we are its UAS. */
struct prack_uas {
	struct leg *a;
	struct txn *st;	       /* the INVITE's server transaction */
	uint32_t invite_cseq;  /* for RAck matching */
	uint32_t rseq;	       /* RSeq of the last reliable 1xx sent */
	bool is_unacked;       /* that 1xx waits for its PRACK */
	bool has_sdp;	       /* and carries SDP */
	struct wheel_timer t;  /* its retransmission */
	uint32_t interval_ms;  /* T1, doubling (RFC 3262 3) */
	uint32_t elapsed_ms;   /* since it was first sent */
	struct kept sent;      /* the unacknowledged 1xx */
	struct kept next;      /* the 1xx waiting behind it */
	struct kept final_2xx; /* the 2xx waiting for the PRACK */
};

static void kept_clear(struct kept *k)
{
	sb_free(k->text);
	*k = (struct kept){0};
}

static struct slice put(char **q, struct slice s)
{
	struct slice out;

	if (!s.len)
		return none;
	memcpy(*q, s.p, s.len);
	out = slice_make(*q, s.len);
	*q += s.len;
	return out;
}

/* Keep o in k, more appended to its extra lines. */
static int keep(struct kept *k, const struct sip_reply_opts *o,
		struct slice more)
{
	size_t n = o->extra.len + more.len + o->content_type.len + o->body.len +
		   o->reason.len;
	char *p = sb_malloc(n ? n : 1), *q = p;

	if (!p)
		return -ENOMEM;
	kept_clear(k);
	k->o = *o;
	k->text = p;
	k->o.extra = put(&q, o->extra);
	if (more.len) {
		(void)put(&q, more);
		k->o.extra = slice_make(p, o->extra.len + more.len);
	}
	k->o.content_type = put(&q, o->content_type);
	k->o.body = put(&q, o->body);
	k->o.reason = put(&q, o->reason);
	k->is_set = true;
	return 0;
}

/* The next whitespace-separated word of *v. */
static struct slice word(struct slice *v)
{
	struct slice w;
	size_t i = 0, j;

	while (i < v->len && (v->p[i] == ' ' || v->p[i] == '\t'))
		i++;
	j = i;
	while (j < v->len && v->p[j] != ' ' && v->p[j] != '\t')
		j++;
	w = slice_make(v->p + i, j - i);
	*v = slice_make(v->p + j, v->len - j);
	return w;
}

/* RFC 3262 7.2: RAck is response-num CSeq-num Method. */
static int rack_of(struct sip_msg *m, uint32_t *rseq, uint32_t *cseq)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_RACK);
	struct slice v, method;

	if (!h)
		return -ENOENT;
	v = h->value;
	if (slice_to_u32(word(&v), rseq) != 0 ||
	    slice_to_u32(word(&v), cseq) != 0)
		return -EBADMSG;
	method = word(&v);
	if (!slice_eq(method, SL("INVITE")) || slice_trim(v).len)
		return -EBADMSG;
	return 0;
}

static void reply(struct call *c, struct txn *t, uint16_t status)
{
	struct sip_reply_opts o = {
	    .status = status,
	    .server = config_user_agent(c->cfg),
	};
	(void)txn_reply(t, &o);
}

/* --- the A-leg: our reliable 1xx, retransmitted until the PRACK -------- */

static struct prack_uas *uas_of_t(struct wheel_timer *w)
{
	return (struct prack_uas *)((char *)w - offsetof(struct prack_uas, t));
}

static void rel_stop(struct prack_uas *u)
{
	if (wheel_timer_active(&u->t))
		wheel_stop(u->a->call->b->deps.wheel, &u->t);
	u->is_unacked = false;
}

static void on_rel(struct wheel_timer *w)
{
	struct prack_uas *u = uas_of_t(w);
	struct leg *a = u->a;
	struct call *c = a->call;
	uint32_t wait = 64 * config_timers(c->cfg)->t1_ms;

	if (!u->is_unacked || (c->is_final && !u->final_2xx.is_set))
		return; /* the INVITE got its final elsewhere */
	if (c->is_ended) {
		/* ended while its 2xx waited: the INVITE still needs a final */
		u->is_unacked = false;
		kept_clear(&u->final_2xx);
		reply(c, u->st, 500);
		return;
	}
	u->elapsed_ms += u->interval_ms;
	if (u->elapsed_ms >= wait) {
		/* RFC 3262 3: no PRACK in 64*T1: reject the INVITE (5xx) */
		log_info("prack_timeout", "call=%s rseq=%u", c->id,
			 (unsigned)u->rseq);
		u->is_unacked = false;
		if (!u->final_2xx.is_set) {
			call_fail(c, 500, SL("No PRACK"), CAUSE_TIMEOUT);
			return;
		}
		kept_clear(&u->final_2xx);
		reply(c, u->st, 500);
		c->a_status = 500;
		a->dlg.state = DIALOG_TERMINATED; /* no BYE: never answered */
		call_end(c, CAUSE_TIMEOUT, "system", NULL);
		return;
	}
	(void)txn_reply(u->st, &u->sent.o);
	u->interval_ms *= 2;
	if (u->elapsed_ms + u->interval_ms > wait)
		u->interval_ms = wait - u->elapsed_ms;
	wheel_start(c->b->deps.wheel, &u->t, u->interval_ms);
}

/* Send o reliably: Require: 100rel and the next RSeq (RFC 3262 3). */
static void send_reliable(struct prack_uas *u, const struct sip_reply_opts *o)
{
	struct leg *a = u->a;
	struct call *c = a->call;
	struct sip_reply_opts ro = *o;
	char lines[REL_LINES_MAX];
	int n;

	if (a->has_rel_answer || !c->offer) {
		/* RFC 3262 5: one answer; a delayed offer gets none here */
		ro.content_type = none;
		ro.body = none;
	}
	n = snprintf(lines, sizeof(lines), "Require: 100rel\r\nRSeq: %u\r\n",
		     (unsigned)(u->rseq + 1));
	if (n <= 0 || (size_t)n >= sizeof(lines) ||
	    keep(&u->sent, &ro, slice_make(lines, (size_t)n)) != 0 ||
	    txn_reply(u->st, &u->sent.o) != 0) {
		log_debug("reliable_1xx_failed", "call=%s", c->id);
		return;
	}
	u->rseq++;
	u->is_unacked = true;
	u->has_sdp = ro.body.len > 0;
	if (u->has_sdp && a->oa.state == SDP_OA_REMOTE_OFFER) {
		/* RFC 3262 5: the answer in a reliable 1xx completes it */
		a->oa.state = SDP_OA_IDLE;
		a->oa.has_completed = true;
		a->has_rel_answer = true;
	}
	u->elapsed_ms = 0;
	u->interval_ms = config_timers(c->cfg)->t1_ms;
	wheel_start(c->b->deps.wheel, &u->t, u->interval_ms);
}

void prack_a_start(struct leg *a, struct txn *t, struct sip_msg *req)
{
	struct prack_uas *u;

	/* RFC 3262 3: only a caller that requires 100rel gets it; one
	 * that merely supports it gets unreliable 1xx, which it allows */
	if (!sip_msg_has_token(req, SIP_HDR_REQUIRE, "100rel"))
		return;
	u = sb_calloc(1, sizeof(*u));
	if (!u)
		return;
	u->a = a;
	u->st = t;
	u->invite_cseq = req->cseq.num;
	/* RFC 3262 3: the first RSeq is random, below 2^31 - 1 */
	u->rseq = (uint32_t)(sb_rand64() % RSEQ_START_MAX);
	wheel_timer_init(&u->t, on_rel);
	a->uas = u;
}

void prack_a_send(struct call *c, const struct sip_reply_opts *o)
{
	struct prack_uas *u = c->a->uas;

	if (!u) {
		(void)txn_reply(c->st, o);
		return;
	}
	if (!u->is_unacked) {
		send_reliable(u, o);
		return;
	}
	/* RFC 3262 3: no second reliable 1xx before the first is PRACKed;
	 * the newest waits, but one with SDP is not replaced by one
	 * without */
	if (u->next.is_set && u->next.o.body.len && !o->body.len)
		return;
	(void)keep(&u->next, o, none);
}

int prack_a_reply_2xx(struct leg *a, struct txn *t,
		      const struct sip_reply_opts *o)
{
	struct prack_uas *u = a->uas;

	if (!u || !u->is_unacked)
		return leg_reply_2xx(a, t, o);
	kept_clear(&u->next);
	if (!u->has_sdp) {
		/* RFC 3262 3: the 2xx may go before the PRACK */
		rel_stop(u);
		return leg_reply_2xx(a, t, o);
	}
	/* RFC 3262 3: not while a reliable 1xx with SDP is unacknowledged */
	return keep(&u->final_2xx, o, none);
}

void prack_request(struct leg *l, struct txn *t, struct sip_msg *req)
{
	struct call *c = l->call;
	struct prack_uas *u = l->uas;
	uint32_t rseq, cseq;
	int err;

	if (!u || !u->is_unacked || c->is_ended ||
	    rack_of(req, &rseq, &cseq) != 0 || rseq != u->rseq ||
	    cseq != u->invite_cseq) {
		/* RFC 3262 3: a PRACK matching no unacknowledged 1xx */
		reply(c, t, 481);
		return;
	}
	if (req->body.len)
		log_info("prack_body_ignored", "call=%s", c->id);
	reply(c, t, 200);
	rel_stop(u);
	if (u->final_2xx.is_set) {
		err = leg_reply_2xx(l, u->st, &u->final_2xx.o);
		kept_clear(&u->final_2xx);
		if (err)
			call_end(c, CAUSE_ERROR, "system", NULL);
		return;
	}
	if (u->next.is_set && !c->is_final && !c->is_ended) {
		struct kept k = u->next;

		u->next = (struct kept){0};
		send_reliable(u, &k.o);
		sb_free(k.text);
	}
}

/* --- the B-leg: we PRACK the callee's reliable 1xx --------------------- */

void prack_b_offer(const struct call *c, struct buf *out)
{
	/* with a delayed offer a reliable 1xx would carry the offer and
	 * the PRACK our answer: not done, the callee's 1xx stay
	 * unreliable */
	if (c->offer)
		(void)buf_append_str(out, "Supported: 100rel\r\n");
}

/* A reliable 1xx's SDP on l: the answer to our offer (RFC 3262 5). */
static void b_answer(struct leg *l, struct sip_msg *resp)
{
	enum sdp_oa_kind kind;
	struct sdp_oa was = l->oa;
	struct sdp *s;

	if (l->has_rel_answer || l->oa.state != SDP_OA_LOCAL_OFFER ||
	    sdpx_parse(resp, &s) != 0 || !s)
		return;
	if (sdp_oa_recv(&l->oa, s, &kind) != 0)
		return;
	if (kind != SDP_OA_ANSWER) {
		l->oa = was;
		return;
	}
	l->rel_sdp = sb_malloc(s->raw.len ? s->raw.len : 1);
	if (!l->rel_sdp) {
		l->oa = was;
		return;
	}
	memcpy(l->rel_sdp, s->raw.p, s->raw.len);
	l->rel_sdp_len = (uint32_t)s->raw.len;
	l->has_rel_answer = true;
}

bool prack_b_provisional(struct leg *l, struct sip_msg *resp)
{
	char rack[REL_LINES_MAX];
	const struct sip_hdr *h;
	uint32_t rseq;
	int n, err;

	if (!sip_msg_has_token(resp, SIP_HDR_REQUIRE, "100rel"))
		return true;
	h = sip_msg_hdr(resp, SIP_HDR_RSEQ);
	if (!h || slice_to_u32(slice_trim(h->value), &rseq) != 0 || !resp->to ||
	    !resp->to->tag.len || !slice_eq(resp->to->tag, l->dlg.remote_tag))
		return true; /* not ours to PRACK: passed on as unreliable */
	/* RFC 3262 4: a retransmission, or one out of order, is neither
	 * PRACKed nor processed */
	if (l->has_rseq && rseq != l->rseq + 1)
		return false;
	l->has_rseq = true;
	l->rseq = rseq;
	n = snprintf(rack, sizeof(rack), "RAck: %u %u INVITE\r\n",
		     (unsigned)rseq, (unsigned)resp->cseq.num);
	/* RFC 3262 7.2: RAck names the RSeq and the INVITE's CSeq */
	err = leg_request(l, SIP_METHOD_PRACK, 0, slice_make(rack, (size_t)n),
			  none, none, NULL, NULL, NULL);
	if (err)
		log_debug("prack_failed", "call=%s error=%d", l->call->id, err);
	b_answer(l, resp);
	return true;
}

int prack_2xx_body(struct leg *l, struct sip_msg *resp, struct slice *ctype,
		   struct slice *body)
{
	struct call *c = l->call;
	struct b2bua *b = c->b;
	struct leg *a = c->a;
	enum sdp_oa_kind kind;
	struct sdp *s;
	int err;

	if (!l->has_rel_answer && !a->has_rel_answer)
		return sdpx_relay(b, l, a, resp, false, ctype, body);
	*ctype = none;
	*body = none;
	if (!l->has_rel_answer) {
		/* the caller has its answer (RFC 3262 5): the callee's comes
		 * now and stays on the B-leg */
		err = sdpx_parse(resp, &s);
		if (err || !s)
			return err;
		return sdp_oa_recv(&l->oa, s, &kind);
	}
	/* RFC 3262 5, RFC 3261 13.2.1: after a reliable answer the 2xx
	 * brings no new one; its SDP, a repeat, is not read */
	if (a->has_rel_answer || a->oa.state != SDP_OA_REMOTE_OFFER)
		return 0;
	/* the caller saw that answer in unreliable 1xx: the 2xx carries it,
	 * rewritten as every SDP that crosses */
	return sdpx_answer_text(b, l, a, slice_make(l->rel_sdp, l->rel_sdp_len),
				resp->arena, ctype, body);
}

void prack_stop(struct leg *l)
{
	struct prack_uas *u = l->uas;

	sb_free(l->rel_sdp);
	l->rel_sdp = NULL;
	if (!u)
		return;
	rel_stop(u);
	kept_clear(&u->sent);
	kept_clear(&u->next);
	kept_clear(&u->final_2xx);
	sb_free(u);
	l->uas = NULL;
}
