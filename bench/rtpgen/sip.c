/* rtpgen: calls through a SIP B2BUA, rtpgen being both caller and callee. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sip_int.h"

enum {
	UAS_BYE_WAIT_MS = 3000, /* after our BYE: the callee's BYE may come */
	RECV_CAP = 65536,
	RECV_PER_WAKEUP = 64,
};

/* ------------------------------------------------------------ helpers */

void sip_copy_str(char *dst, size_t cap, struct rg_str s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

char *sip_dup_out(const struct rg_out *o)
{
	char *p = malloc(o->len);

	if (p)
		memcpy(p, o->p, o->len);
	return p;
}

void sip_send(struct rg_sip *s, enum rg_side side, const char *msg, size_t len,
	      const struct sockaddr_in *dst)
{
	sendto(s->io[side].fd, msg, len, 0, (const struct sockaddr *)dst,
	       sizeof(*dst));
}

/* Call index of one of our own Call-IDs: rg<runid>-<index>@<ip>. */
uint32_t sip_caller_call_of(const struct rg *rg, const struct rg_sip *s,
			    struct rg_str callid)
{
	size_t pre = 2 + strlen(s->runid), i;
	uint32_t idx = 0;

	if (callid.len <= pre + 1 || strncmp(callid.p, "rg", 2) ||
	    strncmp(callid.p + 2, s->runid, pre - 2) || callid.p[pre] != '-')
		return NO_CALL;
	for (i = pre + 1; i < callid.len && callid.p[i] != '@'; i++) {
		if (callid.p[i] < '0' || callid.p[i] > '9')
			return NO_CALL;
		idx = idx * 10 + (uint32_t)(callid.p[i] - '0');
	}
	return idx < rg->opt.calls ? idx : NO_CALL;
}

/* ----------------------------------------------------------- messages */

/* Via (branch z9hG4bK<runid><kind><index>), Max-Forwards and From of a
 * caller's request. */
void sip_print_caller_ids(struct rg_out *o, const struct rg_sip *s, char kind,
			  uint32_t idx)
{
	rg_out_printf(o,
		      "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK%s%c%u;rport\r\n"
		      "Max-Forwards: 70\r\n"
		      "From: <sip:rtpgen-%u@%s>;tag=a%u-%s\r\n",
		      s->ip, ntohs(s->addr[RG_SIDE_A].sin_port), s->runid, kind,
		      idx, idx, s->ip, idx, s->runid);
}

/* ACK and BYE of the caller's dialog; a non-2xx ACK passes the INVITE's
 * kind, so its branch is the INVITE's (RFC 3261 17.1.1.3). */
int sip_build_in_dialog(struct rg_out *o, const struct rg_sip *s, uint32_t idx,
			const char *method, char kind, const char *ruri,
			const char *to, unsigned cseq)
{
	rg_out_printf(o, "%s %s SIP/2.0\r\n", method, ruri);
	sip_print_caller_ids(o, s, kind, idx);
	rg_out_printf(o,
		      "To: %s\r\n"
		      "Call-ID: rg%s-%u@%s\r\n"
		      "CSeq: %u %s\r\n"
		      "Content-Length: 0\r\n\r\n",
		      to, s->runid, idx, s->ip, cseq, method);
	return o->is_full ? -E2BIG : 0;
}

/*
 * A response to m from the given side: Vias, From, Call-ID and CSeq
 * echoed, our tag added to a To without one, Record-Route echoed in a
 * response to INVITE (RFC 3261 12.1.1), our Contact, and the SDP of
 * sdp_of when it is not NULL.
 */
int sip_build_response(struct rg_out *o, const struct rg_sip *s,
		       const struct rg_sip_msg *m, enum rg_side side,
		       uint32_t idx, int status, const char *reason,
		       const struct rg_endpoint *sdp_of)
{
	struct rg_str tag;
	char sdp[SDP_CAP];
	int n = 0;
	unsigned i;

	rg_out_printf(o, "SIP/2.0 %d %s\r\n", status, reason);
	for (i = 0; i < m->nvia; i++)
		rg_out_printf(o, "Via: %.*s\r\n", (int)m->via[i].len,
			      m->via[i].p);
	if (rg_str_is(m->method, "INVITE") && status > 100 && status < 300)
		for (i = 0; i < m->nrr; i++)
			rg_out_printf(o, "Record-Route: %.*s\r\n",
				      (int)m->rr[i].len, m->rr[i].p);
	rg_out_printf(o, "From: %.*s\r\n", (int)m->from.len, m->from.p);
	if (status > 100 && rg_sip_param(m->to, "tag", &tag))
		rg_out_printf(o, "To: %.*s;tag=%c%u-%s\r\n", (int)m->to.len,
			      m->to.p, side ? 'b' : 'a', idx, s->runid);
	else
		rg_out_printf(o, "To: %.*s\r\n", (int)m->to.len, m->to.p);
	rg_out_printf(o, "Call-ID: %.*s\r\nCSeq: %u %.*s\r\n",
		      (int)m->call_id.len, m->call_id.p, m->cseq,
		      (int)m->cseq_method.len, m->cseq_method.p);
	if (status > 100 && status < 300 && idx != NO_CALL)
		rg_out_printf(o, "Contact: <sip:rtpgen@%s:%u>\r\n", s->ip,
			      ntohs(s->addr[side].sin_port));
	if (sdp_of) {
		n = rg_sdp_print(sdp, sizeof(sdp), &sdp_of->local, idx);
		if (n < 0)
			return n;
		rg_out_printf(o, "Content-Type: application/sdp\r\n");
	}
	rg_out_printf(o, "Content-Length: %d\r\n\r\n%s", n, sdp_of ? sdp : "");
	return o->is_full ? -E2BIG : 0;
}

/* Responses go back to where the request came from (RFC 3581 rport). */
void sip_respond(struct rg_sip *s, const struct rg_sip_msg *m,
		 enum rg_side side, uint32_t idx, const struct sockaddr_in *dst,
		 int status, const char *reason,
		 const struct rg_endpoint *sdp_of)
{
	char buf[MSG_CAP];
	struct rg_out o = {buf, sizeof(buf), 0, false};

	if (!sip_build_response(&o, s, m, side, idx, status, reason, sdp_of))
		sip_send(s, side, buf, o.len, dst);
}

/* ---------------------------------------------------------- life cycle */

void sip_maybe_up(struct rg *rg, struct rg_call *c, struct sip_call *sc)
{
	if (sc->uac == UAC_CONFIRMED && sc->uas == UAS_CONFIRMED)
		rg_call_up(rg, c);
}

/* A call being torn down is done when the caller's BYE is answered and the
 * callee got the B2BUA's BYE (or waited UAS_BYE_WAIT_MS for it). */
void sip_check_down(struct rg *rg, struct rg_sip *s, struct rg_call *c,
		    struct sip_call *sc, int64_t now)
{
	if (c->state != RG_CALL_ENDING || sc->uac != UAC_DONE)
		return;
	if (sc->uas == UAS_ANSWERED || sc->uas == UAS_CONFIRMED) {
		if (!sc->bye_wait_ns)
			sc->bye_wait_ns = now + UAS_BYE_WAIT_MS * 1000000ll;
		if (now < sc->bye_wait_ns)
			return;
		s->callee_no_bye++;
	}
	rg_call_down(rg, c, sc->is_bye_ok);
}

/* A request on either socket other than a new INVITE: the B2BUA's side of
 * a dialog we have (or had). */
static void on_request(struct rg *rg, struct rg_sip *s,
		       const struct rg_sip_msg *m, enum rg_side side,
		       const struct sockaddr_in *src)
{
	uint32_t idx = side == RG_SIDE_A ? sip_caller_call_of(rg, s, m->call_id)
					 : sip_uas_find(s, m->call_id);
	bool is_ack = rg_str_is(m->method, "ACK");
	struct sockaddr_in peer;
	struct sip_call *sc;
	struct rg_call *c;
	struct rg_str tag;

	if (side == RG_SIDE_B && idx == NO_CALL &&
	    rg_str_is(m->method, "INVITE")) {
		sip_uas_on_invite(rg, s, m, src);
		return;
	}
	if (idx == NO_CALL) {
		if (!is_ack)
			sip_respond(s, m, side, NO_CALL, src, 481,
				    "Call/Transaction Does Not Exist", NULL);
		s->stray++;
		return;
	}
	c = &rg->calls[idx];
	sc = &s->calls[idx];
	if (is_ack) {
		if (side == RG_SIDE_B)
			sip_uas_on_ack(rg, c, sc);
		return;
	}
	if (side == RG_SIDE_B && rg_str_is(m->method, "INVITE") &&
	    rg_sip_param(m->to, "tag", &tag)) {
		/* RFC 3261 17.2.1: a retransmitted INVITE gets the 2xx again */
		if (sc->resp) {
			s->retransmits++;
			sip_send(s, side, sc->resp, sc->resp_len, src);
		}
		return;
	}
	if (rg_str_is(m->method, "BYE")) {
		sip_respond(s, m, side, idx, src, 200, "OK", NULL);
		if (side == RG_SIDE_A) {
			sc->uac = UAC_DONE;
			sc->retx_ns = 0;
		} else {
			sc->uas = UAS_ENDED;
		}
		rg_call_side_stop(rg, c, side);
		sip_check_down(rg, s, c, sc, rg_now_ns());
		return;
	}
	/* OPTIONS, UPDATE, re-INVITE, INFO, CANCEL...: 200, answering an
	 * offer with the same endpoint and following its new address. */
	if (m->body.len && !rg_sdp_peer(m->body.p, m->body.len, &peer)) {
		rg_call_side_peer(c, side, &peer);
		sip_respond(s, m, side, idx, src, 200, "OK", &c->ep[side]);
		return;
	}
	sip_respond(s, m, side, idx, src, 200, "OK", NULL);
}

void rg_sip_tick(struct rg *rg, int64_t now)
{
	struct rg_sip *s = rg->sip;
	uint32_t i;

	for (i = 0; i < rg->started; i++) {
		struct rg_call *c = &rg->calls[i];
		struct sip_call *sc = &s->calls[i];

		if (c->state == RG_CALL_DONE)
			continue;
		sip_uac_tick(rg, s, c, sc, now);
		sip_uas_tick(rg, s, c, sc, now);
		sip_check_down(rg, s, c, sc, now);
	}
}

void rg_sip_on_readable(struct rg *rg, struct rg_io *io)
{
	static char buf[RECV_CAP];
	struct rg_sip *s = rg->sip;
	enum rg_side side = io == &s->io[RG_SIDE_A] ? RG_SIDE_A : RG_SIDE_B;
	int i;

	for (i = 0; i < RECV_PER_WAKEUP; i++) {
		struct sockaddr_in src;
		socklen_t slen = sizeof(src);
		struct rg_sip_msg m;
		ssize_t n = recvfrom(io->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT,
				     (struct sockaddr *)&src, &slen);

		if (n < 0)
			return;
		buf[n] = '\0'; /* the parser's sscanf calls stop there */
		if (rg_sip_parse(buf, (size_t)n, &m)) {
			s->malformed++;
			continue;
		}
		if (m.is_request)
			on_request(rg, s, &m, side, &src);
		else if (side == RG_SIDE_A)
			sip_uac_on_response(rg, s, &m);
		else
			s->stray++;
	}
}

/* ------------------------------------------------------------ set-up */

static int socket_open(struct rg *rg, struct rg_sip *s, enum rg_side side)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->io[side]};
	socklen_t len = sizeof(s->addr[side]);
	int size = 4 << 20, fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	s->io[side].kind = RG_IO_SIP;
	s->io[side].fd = fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	s->addr[side].sin_family = AF_INET;
	s->addr[side].sin_addr = rg->opt.ip;
	if (bind(fd, (struct sockaddr *)&s->addr[side], len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&s->addr[side], &len) < 0 ||
	    epoll_ctl(rg->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int rg_sip_open(struct rg *rg)
{
	struct rg_sip *s = calloc(1, sizeof(*s));
	uint32_t cap = 1;
	int err;

	if (!s)
		return -ENOMEM;
	rg->sip = s;
	s->io[0].fd = s->io[1].fd = -1;
	while (cap < 4 * rg->opt.calls)
		cap <<= 1;
	s->index_mask = cap - 1;
	s->index = calloc(cap, sizeof(*s->index));
	s->calls = calloc(rg->opt.calls, sizeof(*s->calls));
	if (!s->index || !s->calls)
		return -ENOMEM;
	snprintf(s->runid, sizeof(s->runid), "%06x",
		 (unsigned)(getpid() ^ time(NULL)) & 0xffffff);
	inet_ntop(AF_INET, &rg->opt.ip, s->ip, sizeof(s->ip));
	if ((err = socket_open(rg, s, RG_SIDE_A)) ||
	    (err = socket_open(rg, s, RG_SIDE_B))) {
		fprintf(stderr, "rtpgen: SIP socket on %s: %s\n", s->ip,
			strerror(-err));
		return err;
	}
	if (!rg->opt.is_quiet)
		fprintf(stderr, "rtpgen: SIP caller %s:%u, callee %s:%u\n",
			s->ip, ntohs(s->addr[0].sin_port), s->ip,
			ntohs(s->addr[1].sin_port));
	return 0;
}

void rg_sip_close(struct rg *rg)
{
	struct rg_sip *s = rg->sip;
	uint32_t i;

	if (!s)
		return;
	if (!rg->opt.is_quiet &&
	    (s->retransmits || s->stray || s->malformed || s->callee_no_bye))
		fprintf(stderr,
			"rtpgen: SIP retransmissions %llu, stray messages "
			"%llu, malformed %llu, callee never got BYE %llu\n",
			(unsigned long long)s->retransmits,
			(unsigned long long)s->stray,
			(unsigned long long)s->malformed,
			(unsigned long long)s->callee_no_bye);
	for (i = 0; s->calls && i < rg->opt.calls; i++) {
		free(s->calls[i].req);
		free(s->calls[i].ack);
		free(s->calls[i].resp);
	}
	for (i = 0; i < 2; i++)
		if (s->io[i].fd >= 0)
			close(s->io[i].fd);
	free(s->calls);
	free(s->index);
	free(s);
	rg->sip = NULL;
}
