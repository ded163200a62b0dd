/* rtpgen: the caller side of a SIP call (endpoint A): INVITE, ACK, BYE. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip_int.h"

static int build_invite(struct rg_out *o, const struct rg_sip *s,
			const struct rg_call *c)
{
	char sdp[SDP_CAP];
	unsigned uas_port = ntohs(s->addr[RG_SIDE_B].sin_port);
	int n = rg_sdp_print(sdp, sizeof(sdp), &c->ep[RG_SIDE_A].local, c->idx);

	if (n < 0)
		return n;
	rg_out_printf(o, "INVITE sip:rtpgen@%s:%u SIP/2.0\r\n", s->ip,
		      uas_port);
	sip_print_caller_ids(o, s, 'i', c->idx);
	rg_out_printf(o,
		      "To: <sip:rtpgen@%s:%u>\r\n"
		      "Call-ID: rg%s-%u@%s\r\n"
		      "CSeq: 1 INVITE\r\n"
		      "Contact: <sip:rtpgen-%u@%s:%u>\r\n"
		      "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE\r\n"
		      "Content-Type: application/sdp\r\n"
		      "Content-Length: %d\r\n\r\n%s",
		      s->ip, uas_port, s->runid, c->idx, s->ip, c->idx, s->ip,
		      ntohs(s->addr[RG_SIDE_A].sin_port), n, sdp);
	return o->is_full ? -E2BIG : 0;
}

/* Sends a request kept for retransmission (Timer A or E from T1). */
static void send_req(struct rg_sip *s, struct sip_call *sc,
		     const struct rg_out *o, int64_t now)
{
	free(sc->req);
	sc->req = sip_dup_out(o);
	sc->req_len = sc->req ? o->len : 0;
	sip_send(s, RG_SIDE_A, o->p, o->len, &sc->req_dst);
	sc->retx_ms = T1_MS;
	sc->retx_ns = now + T1_MS * 1000000ll;
}

void rg_sip_call_start(struct rg *rg, struct rg_call *c)
{
	struct rg_sip *s = rg->sip;
	struct sip_call *sc = &s->calls[c->idx];
	char buf[MSG_CAP];
	struct rg_out o = {buf, sizeof(buf), 0, false};
	int64_t now = rg_now_ns();

	if (build_invite(&o, s, c)) {
		rg_call_fail(rg, c, "INVITE too large");
		return;
	}
	sc->req_dst = rg->opt.server;
	sc->uac = UAC_CALLING;
	sc->deadline_ns = now + RG_SETUP_TIMEOUT_MS * 1000000ll;
	send_req(s, sc, &o, now);
}

void rg_sip_call_stop(struct rg *rg, struct rg_call *c)
{
	struct rg_sip *s = rg->sip;
	struct sip_call *sc = &s->calls[c->idx];
	char buf[MSG_CAP];
	struct rg_out o = {buf, sizeof(buf), 0, false};
	int64_t now = rg_now_ns();

	sc->is_bye_ok = true;
	if (sc->uac == UAC_CONFIRMED &&
	    !sip_build_in_dialog(&o, s, c->idx, "BYE", 'b', sc->target, sc->to,
				 2)) {
		sc->uac = UAC_BYE_SENT;
		sc->req_dst = sc->target_addr;
		sc->deadline_ns = now + RG_TEARDOWN_TIMEOUT_MS * 1000000ll;
		send_req(s, sc, &o, now);
		return;
	}
	sc->uac = UAC_DONE; /* no dialog: nothing to end */
	sc->retx_ns = 0;
	sip_check_down(rg, s, c, sc, now);
}

/* RFC 3261 17.1.1.3: the ACK of a failure goes where the INVITE went. */
static void ack_failure(struct rg *rg, struct rg_sip *s, uint32_t idx,
			const struct rg_sip_msg *m)
{
	char buf[MSG_CAP], ruri[URI_CAP], to[HDR_CAP];
	struct rg_out o = {buf, sizeof(buf), 0, false};

	snprintf(ruri, sizeof(ruri), "sip:rtpgen@%s:%u", s->ip,
		 ntohs(s->addr[RG_SIDE_B].sin_port));
	sip_copy_str(to, sizeof(to), m->to);
	if (!sip_build_in_dialog(&o, s, idx, "ACK", 'i', ruri, to, 1))
		sip_send(s, RG_SIDE_A, buf, o.len, &rg->opt.server);
}

/* The dialog's remote target is the 2xx's Contact; ACK and BYE go there
 * (no Record-Route from a B2BUA). */
static void on_2xx(struct rg *rg, struct rg_sip *s, struct rg_call *c,
		   struct sip_call *sc, const struct rg_sip_msg *m)
{
	char buf[MSG_CAP];
	struct rg_out o = {buf, sizeof(buf), 0, false};
	struct sockaddr_in peer;
	struct rg_str uri;

	sip_copy_str(sc->to, sizeof(sc->to), m->to);
	if (m->contact.len && !rg_sip_uri(m->contact, &uri) &&
	    uri.len < sizeof(sc->target)) {
		sip_copy_str(sc->target, sizeof(sc->target), uri);
		if (rg_sip_uri_addr(uri, &sc->target_addr))
			sc->target_addr = rg->opt.server;
	} else {
		snprintf(sc->target, sizeof(sc->target), "sip:rtpgen@%s:%u",
			 s->ip, ntohs(s->addr[RG_SIDE_B].sin_port));
		sc->target_addr = rg->opt.server;
	}
	if (sip_build_in_dialog(&o, s, c->idx, "ACK", 'k', sc->target, sc->to,
				1)) {
		rg_call_fail(rg, c, "ACK too large");
		return;
	}
	sc->ack = sip_dup_out(&o);
	sc->ack_len = sc->ack ? o.len : 0;
	sip_send(s, RG_SIDE_A, buf, o.len, &sc->target_addr);
	sc->uac = UAC_CONFIRMED;
	sc->retx_ns = 0;
	free(sc->req);
	sc->req = NULL;
	if (rg_sdp_peer(m->body.p, m->body.len, &peer)) {
		rg_call_fail(rg, c, "no usable SDP in the 2xx");
		return;
	}
	rg_call_side_up(rg, c, RG_SIDE_A, &peer);
	sip_maybe_up(rg, c, sc);
}

static void on_bye_response(struct rg *rg, struct rg_sip *s, struct rg_call *c,
			    struct sip_call *sc, const struct rg_sip_msg *m)
{
	if (sc->uac != UAC_BYE_SENT)
		return;
	if (m->status < 200) {
		sc->retx_ns = 0; /* RFC 3261 17.1.2.2: proceeding */
		return;
	}
	sc->is_bye_ok = m->status < 300;
	sc->uac = UAC_DONE;
	sc->retx_ns = 0;
	sip_check_down(rg, s, c, sc, rg_now_ns());
}

void sip_uac_on_response(struct rg *rg, struct rg_sip *s,
			 const struct rg_sip_msg *m)
{
	uint32_t idx = sip_caller_call_of(rg, s, m->call_id);
	struct rg_call *c;
	struct sip_call *sc;

	if (idx == NO_CALL) {
		s->stray++;
		return;
	}
	c = &rg->calls[idx];
	sc = &s->calls[idx];
	if (rg_str_is(m->cseq_method, "BYE")) {
		on_bye_response(rg, s, c, sc, m);
		return;
	}
	if (!rg_str_is(m->cseq_method, "INVITE"))
		return;
	if (m->status < 200) {
		if (sc->uac == UAC_CALLING) {
			sc->uac = UAC_PROCEEDING; /* Timer A stops */
			sc->retx_ns = 0;
		}
	} else if (m->status >= 300) {
		ack_failure(rg, s, idx, m);
		if (sc->uac == UAC_CALLING || sc->uac == UAC_PROCEEDING) {
			char why[64];

			snprintf(why, sizeof(why), "INVITE answered %d",
				 m->status);
			sc->uac = UAC_DONE;
			sc->retx_ns = 0;
			rg_call_fail(rg, c, why);
		}
	} else if (sc->uac == UAC_CALLING || sc->uac == UAC_PROCEEDING) {
		on_2xx(rg, s, c, sc, m);
	} else if (sc->ack &&
		   (sc->uac == UAC_CONFIRMED || sc->uac == UAC_BYE_SENT)) {
		s->retransmits++; /* RFC 3261 13.2.2.4: ACK each 2xx */
		sip_send(s, RG_SIDE_A, sc->ack, sc->ack_len, &sc->target_addr);
	}
}

void sip_uac_tick(struct rg *rg, struct rg_sip *s, struct rg_call *c,
		  struct sip_call *sc, int64_t now)
{
	if (sc->retx_ns && now >= sc->retx_ns && sc->req) {
		s->retransmits++;
		sip_send(s, RG_SIDE_A, sc->req, sc->req_len, &sc->req_dst);
		sc->retx_ms *= 2; /* Timer A doubles; Timer E up to T2 */
		if (sc->uac == UAC_BYE_SENT && sc->retx_ms > T2_MS)
			sc->retx_ms = T2_MS;
		sc->retx_ns = now + sc->retx_ms * 1000000ll;
	}
	if (now < sc->deadline_ns)
		return;
	if (sc->uac == UAC_CALLING || sc->uac == UAC_PROCEEDING) {
		sc->uac = UAC_DONE;
		sc->retx_ns = 0;
		rg_call_fail(rg, c, "no final response to the INVITE");
	} else if (sc->uac == UAC_BYE_SENT) {
		sc->uac = UAC_DONE;
		sc->retx_ns = 0;
		sc->is_bye_ok = false;
		rg_note(rg, "call %u: no final response to the BYE", c->idx);
	} else if (c->state == RG_CALL_SETUP) {
		rg_call_fail(rg, c, "answered, but the callee never got it");
	}
}
