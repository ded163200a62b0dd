/* rtpgen: RTP endpoints, paced sending and per-stream receive statistics. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "rtpgen.h"

/*
 * Every packet's payload starts with a marker, the call index, the sending
 * side and the send time (CLOCK_MONOTONIC ns, taken just before sendto);
 * the rest is PCMU silence. Receivers read their arrival time from the
 * kernel (SO_TIMESTAMPNS, converted to CLOCK_MONOTONIC), so a busy
 * generator that reads late does not add latency it did not measure; how
 * late it reads is kept apart (rx_lag).
 */
enum {
	OFF_MAGIC = RG_RTP_HDR_LEN,
	OFF_CALL = OFF_MAGIC + 4,
	OFF_SIDE = OFF_CALL + 4,
	OFF_SENT = OFF_SIDE + 4,
	RECV_BATCH = 8,
	RECV_BUF = 2048,
	PACE_QUANTUM_NS = 100000, /* at most one pacing wake-up per 100 us */
};

static const uint8_t MAGIC[4] = {'R', 'G', 'E', 'N'};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static bool is_in_window(const struct rg *rg, int64_t sent_ns)
{
	return sent_ns >= rg->win_start_ns && sent_ns < rg->win_end_ns;
}

/* Binds fd to the first even port from *next_port on that is free (another
 * program may hold some of them), and moves *next_port past it; with
 * *next_port 0 the kernel picks a free ephemeral port. */
static int bind_port(struct rg_endpoint *ep, int fd, uint32_t *next_port)
{
	socklen_t len = sizeof(ep->local);

	if (!*next_port) {
		ep->local.sin_port = 0;
		if (bind(fd, (struct sockaddr *)&ep->local, len) ||
		    getsockname(fd, (struct sockaddr *)&ep->local, &len))
			return -errno;
		return 0;
	}
	for (; *next_port <= 65534; *next_port += 2) {
		ep->local.sin_port = htons((uint16_t)*next_port);
		if (!bind(fd, (struct sockaddr *)&ep->local, len)) {
			*next_port += 2;
			return 0;
		}
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EADDRINUSE;
}

static int endpoint_open(struct rg *rg, struct rg_endpoint *ep,
			 uint32_t *next_port)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ep->io};
	int one = 1, fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ep->io.kind = RG_IO_RTP;
	ep->io.fd = fd;
	ep->local.sin_family = AF_INET;
	ep->local.sin_addr = rg->opt.ip;
	if ((err = bind_port(ep, fd, next_port)))
		return err;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0)
		return -errno;
	if (epoll_ctl(rg->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	ep->tx.ssrc = (uint32_t)random();
	ep->tx.seq = (uint16_t)random();
	ep->tx.ts = (uint32_t)random();
	return 0;
}

/* Two sockets per call: ephemeral ports (port_base 0), or even ports from
 * port_base up, A then B, each with room for RTCP next to it, skipping
 * ports in use. */
int rg_streams_open(struct rg *rg)
{
	uint32_t i, next_port = rg->opt.port_base;
	int side, err;

	for (i = 0; i < rg->opt.calls; i++) {
		struct rg_call *c = &rg->calls[i];

		c->idx = i;
		for (side = 0; side < 2; side++) {
			c->ep[side].call = c;
			c->ep[side].side = (enum rg_side)side;
			c->ep[side].io.fd = -1;
			err = endpoint_open(rg, &c->ep[side], &next_port);
			if (err) {
				fprintf(stderr,
					"rtpgen: RTP socket of call %u: %s\n",
					i, strerror(-err));
				return err;
			}
		}
	}
	if (!rg->opt.is_quiet && rg->opt.port_base &&
	    next_port != rg->opt.port_base + 4 * rg->opt.calls)
		fprintf(stderr,
			"rtpgen: some RTP ports were in use; endpoints go up "
			"to port %u\n",
			next_port - 2);
	return 0;
}

void rg_streams_close(struct rg *rg)
{
	uint32_t i;

	for (i = 0; i < rg->opt.calls; i++) {
		if (rg->calls[i].ep[0].io.fd >= 0)
			close(rg->calls[i].ep[0].io.fd);
		if (rg->calls[i].ep[1].io.fd >= 0)
			close(rg->calls[i].ep[1].io.fd);
	}
}

static void send_one(struct rg *rg, struct rg_endpoint *ep, int64_t due_ns)
{
	uint8_t pkt[RG_PKT_LEN];
	struct rg_tx *tx = &ep->tx;
	int64_t sent_ns;

	pkt[0] = 0x80; /* RTP version 2 */
	pkt[1] = RG_PT_PCMU;
	pkt[2] = (uint8_t)(tx->seq >> 8);
	pkt[3] = (uint8_t)tx->seq;
	put_be32(pkt + 4, tx->ts);
	put_be32(pkt + 8, tx->ssrc);
	memcpy(pkt + OFF_MAGIC, MAGIC, sizeof(MAGIC));
	put_be32(pkt + OFF_CALL, ep->call->idx);
	put_be32(pkt + OFF_SIDE, ep->side);
	memset(pkt + OFF_SENT + 8, 0xff, RG_PKT_LEN - OFF_SENT - 8);
	sent_ns = rg_now_ns();
	put_be64(pkt + OFF_SENT, (uint64_t)sent_ns);
	if (sendto(ep->io.fd, pkt, sizeof(pkt), 0,
		   (const struct sockaddr *)&ep->peer, sizeof(ep->peer)) < 0) {
		rg->send_errors++;
		return;
	}
	tx->seq++;
	tx->ts += RG_TS_STEP;
	tx->sent++;
	if (is_in_window(rg, sent_ns)) {
		tx->win_sent++;
		rg_hist_add(&rg->late, sent_ns - due_ns);
	}
}

static struct rg_endpoint *slot_endpoint(struct rg *rg, uint32_t pos)
{
	return &rg->calls[pos / 2].ep[pos % 2];
}

static void slot_advance(struct rg *rg)
{
	uint32_t nslots = 2 * rg->opt.calls;

	if (++rg->pace_pos == nslots) {
		rg->pace_pos = 0;
		rg->pace_round++;
	}
	rg->pace_next_ns =
	    rg->t0_ns + (int64_t)rg->pace_round * RG_PERIOD_NS +
	    (int64_t)((uint64_t)rg->pace_pos * RG_PERIOD_NS / nslots);
}

/*
 * The 2N streams own evenly spaced slots of the 20 ms period: call i's A
 * side slot 2i, its B side slot 2i + 1. Sends what is due by now, at most
 * max_sends packets (after a stall, late packets still go, counted as
 * lateness, but reading gets its turn in between so the sockets do not
 * overflow; a packet more than a period late is skipped and counted),
 * skips silent slots up to one period ahead, and arms the pacing timer for
 * the next sending slot, at least PACE_QUANTUM_NS ahead.
 */
void rg_pace_run(struct rg *rg, uint32_t max_sends)
{
	uint32_t walk = 2 * rg->opt.calls;
	struct itimerspec its = {0};
	int64_t now = rg_now_ns(), at;

	while (walk--) {
		struct rg_endpoint *ep = slot_endpoint(rg, rg->pace_pos);

		if (ep->tx.is_on && now - rg->pace_next_ns > RG_PERIOD_NS) {
			/* a period late: that audio is gone, as with a phone */
			if (is_in_window(rg, rg->pace_next_ns))
				rg->skipped++;
		} else if (ep->tx.is_on) {
			if (rg->pace_next_ns > now || !max_sends--)
				break;
			send_one(rg, ep, rg->pace_next_ns);
			now = rg_now_ns();
		}
		slot_advance(rg);
	}
	at = rg->pace_next_ns;
	if (at < now + PACE_QUANTUM_NS)
		at = now + PACE_QUANTUM_NS;
	its.it_value.tv_sec = at / 1000000000;
	its.it_value.tv_nsec = at % 1000000000;
	timerfd_settime(rg->pace.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static bool is_same_addr(const struct sockaddr_in *a,
			 const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr &&
	       a->sin_port == b->sin_port;
}

/* Sequence tracking: false for a duplicate. */
static bool track_seq(struct rg_rx *rx, uint16_t seq)
{
	int64_t ext, delta;

	if (!rx->has_seq) {
		rx->has_seq = true;
		rx->max_ext = seq + 65536;
		rx->seen = 1;
		return true;
	}
	delta = (int16_t)(uint16_t)(seq - (uint16_t)rx->max_ext);
	ext = rx->max_ext + delta;
	if (delta > 0) {
		rx->seen = delta >= 64 ? 0 : rx->seen << delta;
		rx->seen |= 1;
		rx->max_ext = ext;
		return true;
	}
	if (-delta >= 64 || rx->seen & (1ull << -delta)) {
		rx->dups++;
		return false;
	}
	rx->seen |= 1ull << -delta;
	rx->reordered++;
	return true;
}

/* RFC 3550 A.8 with the sender's clock in place of the RTP timestamp, so
 * the generator's own send lateness is not counted as jitter. */
static void track_jitter(struct rg_rx *rx, int64_t transit_ns)
{
	if (rx->has_transit) {
		int64_t d = transit_ns - rx->transit_ns;

		rx->jitter_ns +=
		    ((double)(d < 0 ? -d : d) - rx->jitter_ns) / 16.0;
	}
	rx->has_transit = true;
	rx->transit_ns = transit_ns;
}

static void on_packet(struct rg *rg, struct rg_endpoint *ep, const uint8_t *p,
		      size_t len, const struct sockaddr_in *src,
		      int64_t arrival_ns, int64_t read_ns)
{
	struct rg_rx *rx = &ep->rx;
	int64_t sent_ns, transit;
	uint32_t sender;

	if (len != RG_PKT_LEN || (p[0] & 0xc0) != 0x80 ||
	    memcmp(p + OFF_MAGIC, MAGIC, sizeof(MAGIC))) {
		rx->malformed++;
		return;
	}
	sender = get_be32(p + OFF_SIDE);
	if (get_be32(p + OFF_CALL) != ep->call->idx || sender > 1 ||
	    sender == ep->side) {
		rx->misrouted++;
		return;
	}
	if (!ep->has_peer || !is_same_addr(src, &ep->peer))
		rx->foreign++;
	if (!track_seq(rx, (uint16_t)(p[2] << 8 | p[3])))
		return;
	sent_ns = (int64_t)get_be64(p + OFF_SENT);
	transit = arrival_ns - sent_ns;
	track_jitter(rx, transit);
	rx->received++;
	if (!is_in_window(rg, sent_ns))
		return;
	rx->win_received++;
	rg_hist_add(&rg->lat[sender], transit);
	rg_hist_add(&rg->rx_lag, read_ns - arrival_ns);
	rx->win_jitter_sum_ns += rx->jitter_ns;
	rx->win_jitter_n++;
	if (rx->jitter_ns > rx->win_jitter_max_ns)
		rx->win_jitter_max_ns = rx->jitter_ns;
}

/* Kernel arrival time (CLOCK_MONOTONIC) and the socket's drop counter. */
static int64_t read_cmsgs(struct rg *rg, struct rg_endpoint *ep,
			  struct msghdr *mh, int64_t fallback_ns)
{
	struct cmsghdr *cm;
	int64_t arrival = fallback_ns;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			arrival = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec -
				  rg->rt_offset_ns;
		} else if (cm->cmsg_type == SO_RXQ_OVFL) {
			uint32_t drops;

			memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
			if (drops > ep->rx.drops)
				ep->rx.drops = drops;
		}
	}
	return arrival > fallback_ns ? fallback_ns : arrival;
}

void rg_rtp_on_readable(struct rg *rg, struct rg_endpoint *ep)
{
	static uint8_t bufs[RECV_BATCH][RECV_BUF];
	static char ctrl[RECV_BATCH][CMSG_SPACE(sizeof(struct timespec)) +
				     CMSG_SPACE(sizeof(uint32_t))];
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_in src[RECV_BATCH];
	int64_t read_ns;
	int i, n;

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < RECV_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = RECV_BUF;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &src[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(src[i]);
		msgs[i].msg_hdr.msg_control = ctrl[i];
		msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
	}
	n = recvmmsg(ep->io.fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	read_ns = rg_now_ns();
	for (i = 0; i < n; i++) {
		int64_t arrival = read_cmsgs(rg, ep, &msgs[i].msg_hdr, read_ns);

		on_packet(rg, ep, bufs[i], msgs[i].msg_len, &src[i], arrival,
			  read_ns);
	}
}
