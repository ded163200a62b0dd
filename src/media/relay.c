/* The hot path: a datagram from one side's endpoint leaves by the other's. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "base/log.h"
#include "media/media_int.h"

#define LOG_MODULE "media"

static bool same_ip(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static bool same_addr(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b)
{
	if (!same_ip(a, b))
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_port ==
		       ((const struct sockaddr_in *)b)->sin_port;
	return ((const struct sockaddr_in6 *)a)->sin6_port ==
	       ((const struct sockaddr_in6 *)b)->sin6_port;
}

static socklen_t addr_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					: sizeof(struct sockaddr_in);
}

/*
 * Whether a packet from src may come from d's endpoint. The latched source
 * always may; another latches only when its IP is the one d's SDP or SIP
 * gave (no RTP-Bleed), and only for the first latch or within the window
 * after an offer/answer.
 */
static bool accept_source(struct media *m, struct side *d, bool is_rtcp,
			  const struct sockaddr_storage *src)
{
	struct sockaddr_storage *l =
	    is_rtcp ? &d->latched_rtcp : &d->latched_rtp;
	bool *has = is_rtcp ? &d->has_latched_rtcp : &d->has_latched_rtp;

	if (*has && same_addr(l, src))
		return true;
	if (*has && m->now_us > d->window_until_us)
		return false;
	if (!((d->has_remote && same_ip(&d->r.rtp, src)) ||
	      (d->has_sip_src && same_ip(&d->sip_src, src))))
		return false;
	*l = *src;
	*has = true;
	m->c.latches++;
	log_debug("media_latched", "session=%s stream=%u side=%s rtcp=%d",
		  d->stream->s->name, d->stream->i,
		  d->idx == MEDIA_A ? "caller" : "callee", is_rtcp);
	return true;
}

/* The first packet a side's source rule refuses, for the operator. */
static void refused_log(const struct side *d,
			const struct sockaddr_storage *src)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const void *a =
	    src->ss_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)src)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)src)->sin_addr;

	inet_ntop(src->ss_family, a, ip, sizeof(ip));
	log_info("media_source_refused",
		 "session=%s stream=%u side=%s src=%s latched=%s",
		 d->stream->s->name, d->stream->i,
		 d->idx == MEDIA_A ? "caller" : "callee", ip,
		 d->has_latched_rtp ? "yes" : "no");
}

/* RFC 7983 7: the first byte tells STUN, DTLS and RTP/RTCP apart; other
 * bytes are not media. */
static bool is_media(const uint8_t *p, size_t len)
{
	return len >= 4 && (p[0] <= 3 || (p[0] >= 20 && p[0] <= 63) ||
			    (p[0] >= 128 && p[0] <= 191));
}

void relay_send(struct media *m, struct side *d, uint8_t *p, size_t len,
		bool is_rtcp)
{
	struct side *o = &d->stream->sides[!d->idx];
	bool via_rtp = !is_rtcp || (d->r.is_mux && o->r.is_mux);
	const struct sockaddr_storage *dst;
	int fd;

	if (via_rtp)
		dst = d->has_latched_rtp ? &d->latched_rtp : &d->r.rtp;
	else
		dst = d->has_latched_rtcp ? &d->latched_rtcp : &d->r.rtcp;
	fd = via_rtp ? d->rtp.fd : d->rtcp.fd;
	if (fd < 0 || (!d->has_remote && !d->has_latched_rtp) ||
	    (d->has_remote && d->r.is_disabled)) {
		m->c.dropped_nodest++;
		return;
	}
	if (sendto(fd, p, len, 0, (const struct sockaddr *)dst, addr_len(dst)) <
	    0) {
		m->c.send_errors++;
		return;
	}
	m->c.packets++;
	m->c.bytes += len;
}

/* What RTP tells: statistics, DTMF, the recording; false: do not relay
 * (a telephone-event that goes as SIP INFO instead). */
static bool rtp_seen(struct media *m, struct side *from, struct side *to,
		     uint8_t *p, size_t len)
{
	struct media_session *s = from->stream->s;
	struct rtp_hdr h;
	struct dtmf_event ev;

	if (rtp_parse(p, len, &h) != 0)
		return true; /* not ours to judge (SRTP keeps the header) */
	media_stats_rtp(&from->rx, &h, (uint32_t)len, m->now_us,
			to->r.clock_hz);
	if (h.pt == to->r.dtmf_pt ||
	    (to->r.dtmf_pt < 0 && h.pt == from->r.dtmf_pt)) {
		if (dtmf_detect_rtp(&from->dd, &h, &ev) == 1) {
			m->c.dtmf_events++;
			if (s->cb.on_dtmf)
				s->cb.on_dtmf(s->arg, from->idx, &ev);
		}
		if (from->is_dtmf_stripped)
			return false;
	}
	if (s->rec && from->stream->i == 0)
		recording_rtp(s->rec, from->idx, &h, m->now_us / 1000u);
	if (to->seq_delta) { /* digits we inserted moved the numbering */
		uint16_t seq = (uint16_t)(h.seq + to->seq_delta);

		p[2] = (uint8_t)(seq >> 8);
		p[3] = (uint8_t)seq;
		h.seq = seq;
	}
	to->has_out = true;
	to->out_seq = h.seq;
	to->out_ts = h.ts;
	to->out_ssrc = h.ssrc;
	to->out_us = m->now_us;
	return true;
}

/* RTCP from `from` on its way to `to`: the far end's reports, and the
 * round trip of each side, summed for the whole path. */
static void rtcp_seen(struct media *m, struct side *from, struct side *to,
		      const struct rtcp_info *ri)
{
	bool is_new = false;

	for (unsigned k = 0; k < ri->nblocks; k++) {
		media_stats_report(&to->rx, &ri->blocks[k]);
		is_new |=
		    media_rtt_block(&from->rtt, &ri->blocks[k], m->now_us);
	}
	if (ri->has_sr)
		media_rtt_sr(&to->rtt, ri->ntp_mid, m->now_us);
	if (is_new) {
		uint32_t rtt = from->rtt.rtt_ms + to->rtt.rtt_ms;

		from->rx.rtt_ms = rtt;
		to->rx.rtt_ms = rtt;
	}
}

static void relay_one(struct media *m, struct side *from, bool is_rtcp_sock,
		      uint8_t *p, size_t len,
		      const struct sockaddr_storage *src)
{
	struct side *to = &from->stream->sides[!from->idx];
	bool is_rtcp = is_rtcp_sock || rtp_is_rtcp(p, len);

	if (!is_media(p, len)) {
		m->c.dropped_invalid++;
		from->rx.dropped++;
		return;
	}
	if (!accept_source(m, from, is_rtcp_sock, src)) {
		m->c.dropped_source++;
		if (from->rx.dropped++ == 0)
			refused_log(from, src);
		return;
	}
	from->last_rx_us = m->now_us;
	from->is_timed_out = false;
	if (is_rtcp) {
		struct rtcp_info ri;

		media_stats_rtcp(&from->rx);
		if (p[0] >= 128 && rtcp_parse(p, len, &ri) == 0)
			rtcp_seen(m, from, to, &ri);
	} else if (p[0] >= 128 && !rtp_seen(m, from, to, p, len)) {
		return;
	}
	relay_send(m, to, p, len, is_rtcp);
}

/* The receive vectors of this thread, set up once; names reset per read. */
struct rx {
	bool is_ready;
	uint8_t bufs[MEDIA_BATCH][MEDIA_PKT_MAX];
	struct sockaddr_storage src[MEDIA_BATCH];
	struct mmsghdr msgs[MEDIA_BATCH];
	struct iovec iov[MEDIA_BATCH];
};

static struct rx *rx_get(void)
{
	static _Thread_local struct rx rx;

	if (!rx.is_ready) {
		for (int i = 0; i < MEDIA_BATCH; i++) {
			rx.iov[i] = (struct iovec){rx.bufs[i], MEDIA_PKT_MAX};
			rx.msgs[i].msg_hdr = (struct msghdr){
			    .msg_name = &rx.src[i],
			    .msg_iov = &rx.iov[i],
			    .msg_iovlen = 1,
			};
		}
		rx.is_ready = true;
	}
	for (int i = 0; i < MEDIA_BATCH; i++)
		rx.msgs[i].msg_hdr.msg_namelen = sizeof(rx.src[i]);
	return &rx;
}

void relay_read(struct media *m, struct msock *ms)
{
	struct rx *rx = rx_get();
	int n = recvmmsg(ms->fd, rx->msgs, MEDIA_BATCH, MSG_DONTWAIT, NULL);

	for (int i = 0; i < n; i++) {
		if (rx->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			m->c.dropped_invalid++;
			continue;
		}
		relay_one(m, ms->side, ms->is_rtcp, rx->bufs[i],
			  rx->msgs[i].msg_len, &rx->src[i]);
	}
}
