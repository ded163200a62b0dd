/* rtpgen: the callee side of a SIP call (endpoint B): 100, 200, the ACK. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip_int.h"

static uint32_t hash_str(struct rg_str s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t i;

	for (i = 0; i < s.len; i++)
		h = (h ^ (uint8_t)s.p[i]) * 16777619u;
	return h;
}

uint32_t sip_uas_find(const struct rg_sip *s, struct rg_str callid)
{
	uint32_t i = hash_str(callid) & s->index_mask, idx;

	while ((idx = s->index[i]) != 0) {
		const char *k = s->calls[idx - 1].callid;

		if (strlen(k) == callid.len && !memcmp(k, callid.p, callid.len))
			return idx - 1;
		i = (i + 1) & s->index_mask;
	}
	return NO_CALL;
}

static void index_add(struct rg_sip *s, uint32_t call)
{
	struct sip_call *sc = &s->calls[call];
	struct rg_str k = {sc->callid, strlen(sc->callid)};
	uint32_t i = hash_str(k) & s->index_mask;

	while (s->index[i])
		i = (i + 1) & s->index_mask;
	s->index[i] = call + 1;
}

/* Call index from the From user rtpgen-<index> of a new INVITE. */
static uint32_t call_of(const struct rg *rg, const struct rg_sip_msg *m)
{
	struct rg_str uri, user;
	uint32_t idx = 0;
	size_t i;

	if (rg_sip_uri(m->from, &uri) || rg_sip_uri_user(uri, &user) ||
	    user.len < 8 || strncmp(user.p, "rtpgen-", 7))
		return NO_CALL;
	for (i = 7; i < user.len; i++) {
		if (user.p[i] < '0' || user.p[i] > '9')
			return NO_CALL;
		idx = idx * 10 + (uint32_t)(user.p[i] - '0');
	}
	return idx < rg->opt.calls ? idx : NO_CALL;
}

/* A new INVITE: 100 then 200 with endpoint B's SDP at once; B streams to
 * the offer's address once the ACK comes. */
void sip_uas_on_invite(struct rg *rg, struct rg_sip *s,
		       const struct rg_sip_msg *m,
		       const struct sockaddr_in *src)
{
	uint32_t idx = call_of(rg, m);
	char buf[MSG_CAP];
	struct rg_out o = {buf, sizeof(buf), 0, false};
	struct sockaddr_in peer;
	struct rg_call *c;
	struct sip_call *sc;
	int64_t now = rg_now_ns();

	if (idx == NO_CALL || rg->calls[idx].state != RG_CALL_SETUP ||
	    s->calls[idx].uas != UAS_IDLE ||
	    m->call_id.len >= sizeof(s->calls[idx].callid)) {
		sip_respond(s, m, RG_SIDE_B, NO_CALL, src, 404, "Not Found",
			    NULL);
		s->stray++;
		return;
	}
	c = &rg->calls[idx];
	sc = &s->calls[idx];
	if (rg_sdp_peer(m->body.p, m->body.len, &peer)) {
		sip_respond(s, m, RG_SIDE_B, idx, src, 488,
			    "Not Acceptable Here", NULL);
		return;
	}
	sip_copy_str(sc->callid, sizeof(sc->callid), m->call_id);
	index_add(s, idx);
	rg_call_side_peer(c, RG_SIDE_B, &peer);
	sip_respond(s, m, RG_SIDE_B, idx, src, 100, "Trying", NULL);
	if (sip_build_response(&o, s, m, RG_SIDE_B, idx, 200, "OK",
			       &c->ep[RG_SIDE_B])) {
		rg_call_fail(rg, c, "200 too large");
		return;
	}
	sc->resp = sip_dup_out(&o);
	sc->resp_len = sc->resp ? o.len : 0;
	sc->resp_dst = *src;
	sip_send(s, RG_SIDE_B, buf, o.len, src);
	sc->uas = UAS_ANSWERED;
	sc->uas_retx_ms = T1_MS;
	sc->uas_retx_ns = now + T1_MS * 1000000ll;
	sc->uas_deadline_ns = now + RG_SETUP_TIMEOUT_MS * 1000000ll;
}

void sip_uas_on_ack(struct rg *rg, struct rg_call *c, struct sip_call *sc)
{
	if (sc->uas != UAS_ANSWERED)
		return; /* the ACK of a re-INVITE, or a late one */
	sc->uas = UAS_CONFIRMED;
	free(sc->resp);
	sc->resp = NULL;
	rg_call_side_up(rg, c, RG_SIDE_B, &c->ep[RG_SIDE_B].peer);
	sip_maybe_up(rg, c, sc);
}

void sip_uas_tick(struct rg *rg, struct rg_sip *s, struct rg_call *c,
		  struct sip_call *sc, int64_t now)
{
	if (sc->uas != UAS_ANSWERED)
		return;
	if (now >= sc->uas_deadline_ns) {
		sc->uas = UAS_ENDED;
		free(sc->resp);
		sc->resp = NULL;
		rg_call_fail(rg, c, "no ACK for the callee's 200");
		return;
	}
	if (now >= sc->uas_retx_ns && sc->resp) {
		/* RFC 3261 13.3.1.4: resend the 2xx until the ACK */
		s->retransmits++;
		sip_send(s, RG_SIDE_B, sc->resp, sc->resp_len, &sc->resp_dst);
		sc->uas_retx_ms *= 2;
		if (sc->uas_retx_ms > T2_MS)
			sc->uas_retx_ms = T2_MS;
		sc->uas_retx_ns = now + sc->uas_retx_ms * 1000000ll;
	}
}
