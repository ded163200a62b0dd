/* Client transactions: RFC 3261 17.1 (INVITE and non-INVITE), RFC 6026,
 * the ACK for a non-2xx final (17.1.1.3) and CANCEL (9.1). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "sip/txn/txn_int.h"

#define LOG_MODULE "txn"

enum { MAX_FORWARDS = 70 }; /* RFC 3261 8.1.1.6 */

static const struct slice none = {NULL, 0};

/* A parse of a copy of the stored request: parsing edits its buffer. */
struct scratch {
	struct arena arena;
	struct sip_msg msg;
	char *copy;
};

static void scratch_close(struct scratch *s)
{
	arena_close(&s->arena);
	sb_free(s->copy);
}

static int scratch_parse(struct txn_layer *tl, struct slice bytes,
			 struct scratch *s)
{
	const struct sip_msg *m = &s->msg;
	struct sip_perr perr;
	int err;

	s->copy = sb_malloc(bytes.len);
	if (!s->copy)
		return -ENOMEM;
	memcpy(s->copy, bytes.p, bytes.len);
	arena_init(&s->arena, NULL, 0, tl->limits.max_arena_bytes);
	err = sip_msg_parse(&s->msg, &s->arena, s->copy, bytes.len,
			    SIP_FRAMING_DATAGRAM, &tl->limits, &perr);
	if (!err &&
	    (!m->is_request || !m->via || !m->from || !m->to || !m->call_id.p))
		err = -EINVAL;
	if (err)
		scratch_close(s);
	return err;
}

static void append_hdr(struct buf *out, const char *name, struct slice v)
{
	buf_printf(out, "%s: " SL_FMT "\r\n", name, SL_ARG(v));
}

/*
 * An ACK (RFC 3261 17.1.1.3) or CANCEL (9.1) made from the stored request:
 * its Request-URI, its top Via alone, From, Call-ID, the CSeq number with
 * the new method, its Route headers; To is the response's for an ACK.
 */
static int build_from_request(struct txn *t, const char *method,
			      struct slice to, struct buf *out)
{
	const struct sip_msg *m;
	const struct sip_hdr *h;
	struct scratch s;
	int err = scratch_parse(t->tl, slice_make(t->data, t->len), &s);

	if (err)
		return err;
	m = &s.msg;
	buf_printf(out, "%s " SL_FMT " SIP/2.0\r\n", method,
		   SL_ARG(m->ruri_raw));
	append_hdr(out, "Via", slice_make(m->buf + m->via->off, m->via->len));
	buf_printf(out, "Max-Forwards: %u\r\n", (unsigned)MAX_FORWARDS);
	append_hdr(out, "From", sip_msg_hdr(m, SIP_HDR_FROM)->value);
	append_hdr(out, "To", to.p ? to : sip_msg_hdr(m, SIP_HDR_TO)->value);
	append_hdr(out, "Call-ID", m->call_id);
	buf_printf(out, "CSeq: %u %s\r\n", (unsigned)m->cseq.num, method);
	for (h = sip_msg_hdr(m, SIP_HDR_ROUTE); h; h = sip_msg_hdr_next(m, h))
		append_hdr(out, "Route", h->value);
	buf_append_str(out, "Content-Length: 0\r\n\r\n");
	err = buf_error(out);
	scratch_close(&s);
	return err;
}

static void send_ack(struct txn *t, const struct sip_msg *resp)
{
	const struct sip_hdr *to = sip_msg_hdr(resp, SIP_HDR_TO);

	buf_reset(&t->ack);
	if (!to || build_from_request(t, "ACK", to->value, &t->ack)) {
		buf_reset(&t->ack);
		return;
	}
	/* RFC 3261 17.1.1.3: to where the INVITE went */
	txn_layer_send(t, buf_slice(&t->ack), false);
}

/* RFC 3261 17.1.4: a timeout or transport error ends it; the TU learns. */
static void fail(struct txn *t, int err)
{
	txn_response_cb cb = t->cb;

	txn_layer_stop_timers(t);
	txn_layer_set_state(t, TXN_STATE_TERMINATED);
	if (cb)
		cb(t->arg, t, err, NULL);
	txn_layer_end(t);
}

static bool is_pending(const struct txn *t)
{
	return t->state == TXN_STATE_CALLING || t->state == TXN_STATE_TRYING ||
	       t->state == TXN_STATE_PROCEEDING;
}

static bool is_udp_only(const struct txn_layer *tl, const struct sip_addr *a)
{
	for (uint32_t i = 0; i < TXN_UDP_ONLY_MAX; i++)
		if (sip_addr_eq(&tl->udp_only[i], a))
			return true;
	return false;
}

/* RFC 3261 18.1.1: "the element SHOULD use UDP for further requests" */
static void udp_only_add(struct txn_layer *tl, const struct sip_addr *a)
{
	if (is_udp_only(tl, a))
		return;
	tl->udp_only[tl->udp_only_next] = *a;
	tl->udp_only_next = (tl->udp_only_next + 1) % TXN_UDP_ONLY_MAX;
}

/*
 * RFC 3261 18.1.1: a request within 200 bytes of the path MTU, or over
 * 1300 bytes when the MTU is unknown, must not go over UDP. Only a Via
 * that says UDP is changed (to TCP, same length, in place).
 */
static bool is_too_big_for_udp(const struct txn *t, const struct sip_flow *dst,
			       struct slice via_tp)
{
	const struct txn_layer *tl = t->tl;
	uint32_t max = tl->o.path_mtu > TXN_MTU_MARGIN
			   ? tl->o.path_mtu - TXN_MTU_MARGIN
			   : TXN_UDP_MAX_BYTES;

	return dst->tp == SIP_TP_UDP && !dst->is_udp_only && t->len > max &&
	       slice_caseeq_lit(via_tp, "UDP") &&
	       !is_udp_only(tl, &dst->remote);
}

/*
 * Send on tp from now on: the top Via, the flow and the timers agree. The
 * caller's UDP listener is kept for a move back; for TCP any TCP listener
 * of the family names the connection (none is fine: it is only a name).
 */
static void set_transport(struct txn *t, enum sip_transport tp)
{
	memcpy(t->data + t->via_tp_off, sip_transport_name(tp).p, 3);
	tp_flow_clear(&t->dst);
	if (tp == SIP_TP_TCP) {
		t->udp_listener = t->dst.listener;
		t->dst.listener =
		    tp_listener_find(tp, t->dst.remote.sa.sa_family);
	} else {
		t->dst.listener = t->udp_listener;
	}
	t->dst.tp = tp;
	t->is_reliable = sip_transport_is_reliable(tp);
	t->is_moved_to_tcp = tp == SIP_TP_TCP;
}

/* The peer refused the TCP connection or reset it (no response came). */
static bool is_tcp_refused(const struct txn *t, int err)
{
	return t->is_moved_to_tcp &&
	       (t->state == TXN_STATE_CALLING ||
		t->state == TXN_STATE_TRYING) &&
	       (err == -ECONNREFUSED || err == -ECONNRESET ||
		err == -EPROTONOSUPPORT);
}

/*
 * RFC 3261 18.1.1: a request moved to TCP whose connection was refused or
 * reset "SHOULD" be retried over UDP, and UDP used for that peer after.
 * Timer A/E start now; Timer B/F keep running from the first send.
 */
static int fall_back_to_udp(struct txn *t)
{
	int err;

	udp_only_add(t->tl, &t->dst.remote);
	set_transport(t, SIP_TP_UDP);
	err = txn_layer_send(t, slice_make(t->data, t->len), false);
	if (err)
		return err;
	t->retx_ms = t->tl->o.timers.t1_ms;
	txn_layer_timer(t, &t->retx, t->retx_ms);
	return 0;
}

void txn_client_on_sent(int err, void *arg)
{
	struct txn *t = arg;

	t->sends_pending--;
	if (t->state == TXN_STATE_TERMINATED) {
		if (t->sends_pending == 0)
			txn_layer_reap(t);
		return;
	}
	if (err) {
		t->tl->stats.transport_errors++;
		if (is_tcp_refused(t, err))
			err = fall_back_to_udp(t);
		if (err && is_pending(t))
			fail(t, err);
	}
}

/* Timer A (INVITE, doubling) and Timer E (non-INVITE, capped at T2). */
static void on_timer_retx(struct wheel_timer *w)
{
	struct txn *t = txn_of_retx(w);
	uint32_t t2 = t->tl->o.timers.t2_ms, next;
	int err;

	switch (t->state) {
	case TXN_STATE_CALLING:
		/* RFC 3261 17.1.1.2: Timer A doubles each time */
		next =
		    t->retx_ms <= UINT32_MAX / 2 ? t->retx_ms * 2 : t->retx_ms;
		break;
	case TXN_STATE_TRYING:
		/* RFC 3261 17.1.2.2: Timer E doubles up to T2 */
		next = t->retx_ms * 2 < t2 ? t->retx_ms * 2 : t2;
		break;
	case TXN_STATE_PROCEEDING:
		/* RFC 3261 17.1.2.2: in Proceeding, Timer E is T2 */
		if (t->method == SIP_METHOD_INVITE)
			return;
		next = t2;
		break;
	default:
		return;
	}
	t->tl->stats.retransmits_out++;
	err = txn_layer_send(t, slice_make(t->data, t->len), false);
	if (err) {
		fail(t, err);
		return;
	}
	t->retx_ms = next;
	txn_layer_timer(t, &t->retx, t->retx_ms);
}

/* Timers B and F time out; D, K and M end a finished transaction. */
static void on_timer_end(struct wheel_timer *w)
{
	struct txn *t = txn_of_end(w);
	char b[64];

	switch (t->state) {
	case TXN_STATE_CALLING:
	case TXN_STATE_TRYING:
	case TXN_STATE_PROCEEDING:
		/* RFC 3261 17.1.1.2 Timer B, 17.1.2.2 Timer F */
		t->tl->stats.timeouts++;
		log_debug("timeout", "timer=%s txn=%s",
			  t->method == SIP_METHOD_INVITE ? "B" : "F",
			  log_esc(t->branch, b, sizeof(b)));
		fail(t, -ETIMEDOUT);
		return;
	case TXN_STATE_COMPLETED: /* RFC 3261 17.1.1.2 D, 17.1.2.2 K */
	case TXN_STATE_ACCEPTED:  /* RFC 6026 8.4: Timer M */
		txn_layer_end(t);
		return;
	default:
		return;
	}
}

/*
 * Start a client transaction: copy and check the request, send it, arm
 * Timer A/E (unreliable transports only) and Timer B/F.
 */
static int start(struct txn_layer *tl, const struct sip_flow *dst,
		 struct slice request, txn_response_cb cb, void *arg,
		 struct txn **out)
{
	const struct txn_timers *tm = &tl->o.timers;
	const struct sip_msg *m;
	struct scratch s;
	struct txn *t;
	int err;

	if (!dst || !request.p || request.len == 0)
		return -EINVAL;
	err = scratch_parse(tl, request, &s);
	if (err)
		return err;
	m = &s.msg;
	/* RFC 3261 17.1: ACK has no transaction; 8.1.1.7: a cookie branch */
	if (m->method == SIP_METHOD_ACK || !txn_has_cookie(m->via->branch)) {
		scratch_close(&s);
		return -EINVAL;
	}
	t = txn_layer_alloc(tl, false, request.len);
	if (!t) {
		scratch_close(&s);
		return -ENOMEM;
	}
	memcpy(t->data, request.p, request.len);
	t->branch = slice_make(t->data + (m->via->branch.p - s.copy),
			       m->via->branch.len);
	t->method = m->method;
	t->method_name = slice_make(t->data + (m->method_name.p - s.copy),
				    m->method_name.len);
	t->via_tp_off = (uint32_t)(m->via->transport.p - s.copy);

	t->hash = txn_layer_key_branch(t->branch);
	t->is_reliable = sip_transport_is_reliable(dst->tp);
	tp_flow_copy(&t->dst, dst);
	if (is_too_big_for_udp(t, dst, m->via->transport))
		set_transport(t, SIP_TP_TCP);
	scratch_close(&s);
	t->cb = cb;
	t->arg = arg;
	wheel_timer_init(&t->retx, on_timer_retx);
	wheel_timer_init(&t->end, on_timer_end);
	txn_layer_set_state(t, t->method == SIP_METHOD_INVITE
				   ? TXN_STATE_CALLING
				   : TXN_STATE_TRYING);
	err = txn_layer_send(t, slice_make(t->data, t->len), t->is_reliable);
	if (err && t->is_moved_to_tcp) {
		/* RFC 3261 18.1.1: no TCP here at all; UDP after all */
		set_transport(t, SIP_TP_UDP);
		err = txn_layer_send(t, slice_make(t->data, t->len), false);
	}
	if (err) {
		txn_layer_end(t);
		return err;
	}
	txn_layer_link(t);
	/* RFC 3261 17.1.1.2, 17.1.2.2: Timer A/E only when unreliable */
	if (!t->is_reliable) {
		t->retx_ms = tm->t1_ms;
		txn_layer_timer(t, &t->retx, t->retx_ms);
	}
	txn_layer_timer(t, &t->end, 64ull * tm->t1_ms);
	*out = t;
	return 0;
}

static int send_cancel(struct txn *invite)
{
	struct txn *c;
	struct buf b;
	int err;

	buf_init(&b, TXN_OUT_MAX);
	err = build_from_request(invite, "CANCEL", none, &b);
	/* RFC 3261 9.1: same destination; its own non-INVITE transaction */
	if (!err)
		err = start(invite->tl, &invite->dst, buf_slice(&b), NULL, NULL,
			    &c);
	buf_close(&b);
	return err;
}

/* To the TU; false when detached and im is a 2xx nobody took (stray). */
static bool deliver(struct txn *t, struct sip_inmsg *im)
{
	t->status = im->msg.status;
	if (t->cb) {
		t->cb(t->arg, t, 0, im);
		return true;
	}
	return txn_status_class(im->msg.status) != 2;
}

static bool recv_invite(struct txn *t, struct sip_inmsg *im, unsigned cls)
{
	const struct txn_timers *tm = &t->tl->o.timers;

	switch (t->state) {
	case TXN_STATE_CALLING:
	case TXN_STATE_PROCEEDING:
		/* RFC 3261 17.1.1.2: any response stops Timers A and B */
		txn_layer_stop_timers(t);
		if (cls == 1) {
			txn_layer_set_state(t, TXN_STATE_PROCEEDING);
			/* RFC 3261 9.1: a deferred CANCEL goes now */
			if (t->is_cancel_pending) {
				t->is_cancel_pending = false;
				send_cancel(t);
			}
		} else if (cls == 2) {
			/* RFC 6026 8.4: Accepted, Timer M */
			txn_layer_set_state(t, TXN_STATE_ACCEPTED);
			txn_layer_timer(t, &t->end, 64ull * tm->t1_ms);
		} else {
			/* RFC 3261 17.1.1.2: Completed, ACK, Timer D */
			txn_layer_set_state(t, TXN_STATE_COMPLETED);
			send_ack(t, &im->msg);
			txn_layer_timer(t, &t->end,
					t->is_reliable ? 0 : tm->timer_d_ms);
		}
		return deliver(t, im);
	case TXN_STATE_COMPLETED:
		/* RFC 3261 17.1.1.2: a retransmitted final gets the ACK */
		if (cls >= 3 && t->ack.len)
			txn_layer_send(t, buf_slice(&t->ack), false);
		break;
	case TXN_STATE_ACCEPTED:
		/* RFC 6026 8.4: 2xx retransmissions go up to the TU */
		if (cls == 2)
			return deliver(t, im);
		break;
	default:
		break;
	}
	return true;
}

static void recv_non_invite(struct txn *t, struct sip_inmsg *im, unsigned cls)
{
	switch (t->state) {
	case TXN_STATE_TRYING:
	case TXN_STATE_PROCEEDING:
		if (cls == 1) {
			txn_layer_set_state(t, TXN_STATE_PROCEEDING);
		} else {
			/* RFC 3261 17.1.2.2: Completed, Timer K */
			txn_layer_stop_timers(t);
			txn_layer_set_state(t, TXN_STATE_COMPLETED);
			txn_layer_timer(t, &t->end,
					t->is_reliable ? 0
						       : t->tl->o.timers.t4_ms);
		}
		deliver(t, im);
		break;
	default:
		/* RFC 3261 17.1.2.2: Completed absorbs retransmissions */
		break;
	}
}

bool txn_client_recv(struct txn *t, struct sip_inmsg *im)
{
	unsigned cls = txn_status_class(im->msg.status);

	if (t->method == SIP_METHOD_INVITE)
		return recv_invite(t, im, cls);
	recv_non_invite(t, im, cls);
	return true;
}

int txn_client_start(struct txn_layer *tl, const struct sip_flow *dst,
		     struct slice request, txn_response_cb cb, void *arg,
		     struct txn **out)
{
	return start(tl, dst, request, cb, arg, out);
}

int txn_client_cancel(struct txn *t)
{
	int err;

	if (t->is_server || t->method != SIP_METHOD_INVITE)
		return -EINVAL;
	if (t->is_cancelled && is_pending(t))
		return 0;
	switch (t->state) {
	case TXN_STATE_CALLING:
		/* RFC 3261 9.1: no CANCEL before a provisional */
		t->is_cancel_pending = true;
		t->is_cancelled = true;
		return 0;
	case TXN_STATE_PROCEEDING:
		err = send_cancel(t);
		if (!err)
			t->is_cancelled = true;
		return err;
	default:
		return -EINVAL;
	}
}

void txn_client_detach(struct txn *t)
{
	t->cb = NULL;
}
