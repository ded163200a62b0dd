/* UDP: bound sockets, batched readers that hand off by Call-ID, sendto. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/transport/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "sip/transport/handoff.h"
#include "sip/transport/listener.h"
#include "sip/transport/stream.h"

#define LOG_MODULE "udp"

enum {
	UDP_DGRAM_MAX = 65536,	 /* bytes of receive buffer per datagram */
	UDP_ROUNDS = 4,		 /* recvmmsg calls per readable event */
	UDP_PAUSE_MIN_BATCH = 4, /* datagrams a pause must gather to pay */
	UDP_REPLY_MAX = 65536,	 /* bytes of a 503 we build */
	UDP_OUT_BYTES = 65536	 /* bytes of a worker's pending sends */
};

/*
 * Sends from one worker thread, batched until the end of its loop turn
 * (tp_udp_flush) and then written with one sendmmsg(2) per socket.
 */
struct udp_outq {
	unsigned n;	       /* messages queued */
	size_t used;	       /* bytes of buf used */
	int fd;		       /* socket of the queued messages */
	struct tp_listener *l; /* for the counters */
	struct mmsghdr mm[TP_UDP_BATCH];
	struct iovec iov[TP_UDP_BATCH];
	struct sip_addr to[TP_UDP_BATCH];
	char buf[UDP_OUT_BYTES];
};

/* One socket and, once started, the poll handle reading it on a worker. */
struct udp_reader {
	struct tp_listener *l;
	struct worker *w; /* whose loop reads fd */
	int fd;
	uv_poll_t poll;	  /* worker thread only */
	uv_poll_t pause;  /* coalescing: a timerfd, polling resumes when it
			     fires (microseconds: a uv_timer has ms) */
	int tfd;	  /* the timerfd, -1 when none */
	uint64_t last_ns; /* hrtime of the last readable event */
	unsigned open;	  /* handles not yet closed; worker thread only */
	bool is_polling;  /* worker thread only */
	uv_sem_t *closed; /* posted once the poll handle is closed */
	struct buf out;	  /* the overflow 503 being built */
	struct mmsghdr mm[TP_UDP_BATCH];
	struct iovec iov[TP_UDP_BATCH];
	struct sockaddr_storage from[TP_UDP_BATCH];
	char *bufs; /* TP_UDP_BATCH * UDP_DGRAM_MAX bytes */
};

static _Thread_local struct udp_outq outq;

static void count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t read_count(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c,
				    memory_order_relaxed);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_lws(const char *q, const char *end)
{
	for (;;) {
		while (q < end && is_ws(*q))
			q++;
		/* RFC 3261 7.3.1: CRLF (or LF) then whitespace continues */
		if (end - q >= 3 && q[0] == '\r' && q[1] == '\n' && is_ws(q[2]))
			q += 3;
		else if (end - q >= 2 && q[0] == '\n' && is_ws(q[1]))
			q += 2;
		else
			return q;
	}
}

int tp_udp_callid_scan(const char *p, size_t len, struct slice *out)
{
	const char *end = p + len;
	const char *nl = memchr(p, '\n', len); /* end of the start line */

	while (nl && nl + 1 < end) {
		const char *s = nl + 1, *q = NULL;

		if (*s == '\r' || *s == '\n')
			return -ENOENT; /* the empty line: headers ended */
		if ((*s | 0x20) == 'i')
			q = s + 1;
		else if (end - s >= 7 && strncasecmp(s, "call-id", 7) == 0)
			q = s + 7;
		if (q) {
			while (q < end && is_ws(*q))
				q++;
			if (q < end && *q == ':') {
				const char *v = skip_lws(q + 1, end);

				q = v;
				while (q < end && !is_ws(*q) && *q != '\r' &&
				       *q != '\n')
					q++;
				if (q == v)
					return -EBADMSG;
				*out = slice_make(v, (size_t)(q - v));
				return 0;
			}
		}
		nl = memchr(s, '\n', (size_t)(end - s));
	}
	return -ENOENT;
}

static atomic_bool stateless_options;

static _Atomic uint32_t pause_us = TP_UDP_PAUSE_US_DEFAULT;

void tp_udp_set_pause_us(uint32_t us)
{
	atomic_store_explicit(&pause_us, us, memory_order_relaxed);
}

void tp_udp_set_stateless_options(bool on)
{
	atomic_store_explicit(&stateless_options, on, memory_order_relaxed);
}

/* A request that needs no state, so no owner: "OPTIONS " starts it. */
static bool is_stateless(const char *p, size_t len)
{
	return len > 8 && memcmp(p, "OPTIONS ", 8) == 0 &&
	       atomic_load_explicit(&stateless_options, memory_order_relaxed);
}

uint32_t tp_udp_callid_hash(const char *p, size_t len)
{
	struct slice id;

	if (tp_udp_callid_scan(p, len, &id) != 0)
		return 0;
	return slice_hash(id);
}

bool tp_is_keepalive(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' &&
		    p[i] != '\t' && p[i] != '\0')
			return false;
	return true;
}

struct slice tp_via_params(const struct sip_msg *m, const struct sip_flow *f,
			   char *buf, size_t cap)
{
	const struct sip_via *v = m->via;
	char ip[INET6_ADDRSTRLEN];
	struct slice host;
	int n = 0;

	if (!v || f->remote.sa.sa_family == AF_UNSPEC || cap == 0)
		return slice_make(buf, 0);
	sip_addr_ip(&f->remote, ip, sizeof(ip));
	host = v->host;
	if (host.len >= 2 && host.p[0] == '[')
		host = slice_make(host.p + 1, host.len - 2);
	/* RFC 3261 18.2.1: received when sent-by differs; RFC 3581 4:
	 * always with rport. */
	if (v->has_rport || !slice_caseeq(host, slice_cstr(ip)))
		n = snprintf(buf, cap, ";received=%s", ip);
	if (n >= 0 && (size_t)n < cap && v->has_rport && v->rport.len == 0)
		n += snprintf(buf + n, cap - (size_t)n, ";rport=%u",
			      sip_addr_port(&f->remote));
	if (n < 0 || (size_t)n >= cap)
		n = 0;
	return slice_make(buf, (size_t)n);
}

static socklen_t addr_len(const struct sip_addr *a)
{
	if (a->len)
		return a->len;
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

static int send_raw(struct tp_listener *l, int fd, const char *data, size_t len,
		    const struct sip_addr *to)
{
	for (;;) {
		ssize_t n = sendto(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL,
				   &to->sa, addr_len(to));
		if (n >= 0) {
			count(&l->sent);
			return 0;
		}
		if (errno != EINTR) {
			int err = -errno;
			count(&l->send_errors);
			return err;
		}
	}
}

/* A full queue: answer a request 503 with Retry-After so the sender backs
 * off; responses, ACKs and garbage are dropped. */
static void overflow_reply(struct udp_reader *r, struct sip_inmsg *im)
{
	struct tp_listener *l = r->l;

	count(&l->overflows);
	if (tp_handoff_reject(im, &l->limits,
			      slice_make(l->server, l->server_len),
			      &r->out) == 0)
		send_raw(l, r->fd, r->out.p, r->out.len, &im->flow.remote);
}

static struct sip_inmsg *inmsg_make(struct udp_reader *r, unsigned i,
				    uint64_t now_ms, uint32_t hash)
{
	size_t len = r->mm[i].msg_len;
	struct sip_inmsg *im = sip_inmsg_new(len);

	if (!im)
		return NULL;
	memcpy(im->data, r->bufs + (size_t)i * UDP_DGRAM_MAX, len);
	im->flow.tp = SIP_TP_UDP;
	im->flow.listener = r->l;
	im->flow.remote.len = r->mm[i].msg_hdr.msg_namelen;
	if (im->flow.remote.len > sizeof(im->flow.remote.in6))
		im->flow.remote.len = sizeof(im->flow.remote.in6);
	memcpy(&im->flow.remote.sa, &r->from[i], im->flow.remote.len);
	im->recv_ms = now_ms;
	im->hash = hash;
	return im;
}

/*
 * One recvmmsg batch: scan each Call-ID, copy the datagram into its own
 * message and hand it to its owner (handoff.h).
 */
static void handle_batch(struct udp_reader *r, unsigned n)
{
	struct tp_listener *l = r->l;
	uint64_t now = worker_now_ms(r->w);
	struct tp_handoff h;

	tp_handoff_begin(&h, l->workers, l->nworkers, r->w);
	for (unsigned i = 0; i < n; i++) {
		const char *data = r->bufs + (size_t)i * UDP_DGRAM_MAX;
		size_t len = r->mm[i].msg_len;
		struct sip_inmsg *im;

		count(&l->received);
		if (r->mm[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;
		if (tp_is_keepalive(data, len)) {
			count(&l->keepalives);
			continue;
		}
		if (is_stateless(data, len)) {
			im = inmsg_make(r, i, now, 0);
			if (im)
				tp_handoff_keep(&h, im);
			continue;
		}
		im = inmsg_make(r, i, now, tp_udp_callid_hash(data, len));
		if (!im)
			continue;
		switch (tp_handoff_add(&h, im)) {
		case TP_HANDOFF_MINE:
			break;
		case TP_HANDOFF_QUEUED:
			count(&l->handed_off);
			break;
		case TP_HANDOFF_FULL:
			overflow_reply(r, im);
			sip_inmsg_free(im);
			break;
		}
	}
	tp_handoff_end(&h);
}

static void on_readable(uv_poll_t *p, int status, int events);

static void on_resume(uv_poll_t *p, int status, int events)
{
	struct udp_reader *r = p->data;
	uint64_t ticks;

	(void)status;
	(void)events;
	/* clear the expiry count; nothing to do if it was already read */
	if (read(r->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("timerfd_failed", "addr=%s error=\"%s\"", r->l->name,
			 strerror(errno));
	uv_poll_stop(&r->pause);
	if (r->is_polling)
		uv_poll_start(&r->poll, UV_READABLE, on_readable);
}

/*
 * When a pause pays, stop polling for udp_pause_us so that the next read
 * finds several datagrams: one wake-up, one recvmmsg and one hand-off per
 * batch instead of per datagram. A pause costs a few syscalls of its own
 * (timerfd, poll changes), so it is taken only when it will gather
 * UDP_PAUSE_MIN_BATCH or more: the read just done got that many (the
 * previous pause gathered them), or datagrams come more often than that
 * many per pause. At lower rates nothing changes (no latency, no extra
 * syscalls); 0 turns it off.
 */
static void coalesce(struct udp_reader *r, unsigned got)
{
	uint64_t now = uv_hrtime();
	uint64_t us = atomic_load_explicit(&pause_us, memory_order_relaxed);
	bool is_busy = got >= UDP_PAUSE_MIN_BATCH ||
		       now - r->last_ns <= us * 1000 / UDP_PAUSE_MIN_BATCH;
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(us / 1000000),
			 .tv_nsec = (long)(us % 1000000) * 1000}};

	r->last_ns = now;
	if (!us || !is_busy || !r->is_polling || r->tfd < 0)
		return;
	if (timerfd_settime(r->tfd, 0, &its, NULL) != 0)
		return;
	uv_poll_stop(&r->poll);
	uv_poll_start(&r->pause, UV_READABLE, on_resume);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct udp_reader *r = p->data;
	unsigned got = 0;

	if (status < 0) {
		log_warn("poll_failed", "addr=%s error=\"%s\"", r->l->name,
			 uv_strerror(status));
		return;
	}
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n;

		for (unsigned i = 0; i < TP_UDP_BATCH; i++) {
			r->mm[i].msg_hdr.msg_namelen = sizeof(r->from[i]);
			r->mm[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(r->fd, r->mm, TP_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("recv_failed", "addr=%s error=\"%s\"",
					 r->l->name, strerror(errno));
			break;
		}
		handle_batch(r, (unsigned)n);
		got += (unsigned)n;
		if (n < TP_UDP_BATCH)
			break;
	}
	coalesce(r, got);
}

static void reader_start(void *arg)
{
	struct udp_reader *r = arg;
	int rc = uv_poll_init_socket(worker_loop(r->w), &r->poll, r->fd);

	if (rc == 0) {
		r->poll.data = r;
		r->is_polling = true;
		r->open = 1;
		r->tfd =
		    timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (r->tfd >= 0 &&
		    uv_poll_init(worker_loop(r->w), &r->pause, r->tfd) == 0) {
			r->pause.data = r;
			r->open = 2;
		} else if (r->tfd >= 0) {
			close(r->tfd);
			r->tfd = -1;
		}
		rc = uv_poll_start(&r->poll, UV_READABLE, on_readable);
	}
	if (rc != 0)
		log_error("read_failed", "addr=%s error=\"%s\"", r->l->name,
			  uv_strerror(rc));
}

static void on_poll_closed(uv_handle_t *h)
{
	struct udp_reader *r = h->data;

	if (h == (uv_handle_t *)&r->pause && r->tfd >= 0) {
		close(r->tfd);
		r->tfd = -1;
	}

	if (--r->open == 0)
		uv_sem_post(r->closed);
}

static void reader_close(void *arg)
{
	struct udp_reader *r = arg;

	if (!r->is_polling || worker_self() != r->w) {
		uv_sem_post(r->closed);
		return;
	}
	r->is_polling = false;
	uv_poll_stop(&r->poll);
	uv_close((uv_handle_t *)&r->poll, on_poll_closed);
	if (r->open == 2)
		uv_close((uv_handle_t *)&r->pause, on_poll_closed);
}

static int socket_open(const struct sip_addr *a, bool is_reuseport, int *out)
{
	int one = 1, size = TP_UDP_RCVBUF;
	int fd = socket(a->sa.sa_family,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (a->sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (is_reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	/* A deep queue absorbs bursts; the kernel may give less. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, &a->sa, addr_len(a)) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

static int reader_init(struct tp_listener *l, struct udp_reader *r,
		       struct worker *w)
{
	r->l = l;
	r->w = w;
	r->fd = -1;
	buf_init(&r->out, UDP_REPLY_MAX);
	r->bufs = sb_malloc((size_t)TP_UDP_BATCH * UDP_DGRAM_MAX);
	if (!r->bufs)
		return -ENOMEM;
	for (unsigned i = 0; i < TP_UDP_BATCH; i++) {
		r->iov[i].iov_base = r->bufs + (size_t)i * UDP_DGRAM_MAX;
		r->iov[i].iov_len = UDP_DGRAM_MAX;
		r->mm[i].msg_hdr.msg_iov = &r->iov[i];
		r->mm[i].msg_hdr.msg_iovlen = 1;
		r->mm[i].msg_hdr.msg_name = &r->from[i];
	}
	return socket_open(&l->addr, l->is_reuseport, &r->fd);
}

int tp_udp_listener_new(const struct tp_udp_opts *o, struct tp_listener **out)
{
	struct tp_listener *l;
	int rc = 0;

	if (o->nworkers == 0 || o->nworkers > TP_HANDOFF_WORKERS_MAX ||
	    o->reader >= o->nworkers)
		return -EINVAL;
	l = sb_calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->tp = SIP_TP_UDP;
	l->guard_fd = -1;
	l->addr = o->bind;
	l->addr.len = addr_len(&o->bind);
	l->workers = o->workers;
	l->nworkers = o->nworkers;
	l->is_reuseport = o->is_reuseport;
	l->limits = sb_limits_default();
	tp_listener_names(l, o->advertise, o->advertise_port);
	l->server = sb_strndup(o->server.p ? o->server.p : "", o->server.len);
	l->server_len = o->server.len;
	l->nreaders = o->is_reuseport ? o->nworkers : 1;
	l->readers = sb_calloc(l->nreaders, sizeof(*l->readers));
	if (!l->server || !l->readers) {
		rc = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < l->nreaders; i++)
		l->readers[i].fd = -1;
	for (unsigned i = 0; rc == 0 && i < l->nreaders; i++)
		rc = reader_init(l, &l->readers[i],
				 o->workers[o->is_reuseport ? i : o->reader]);
	if (rc == 0)
		rc = tp_listener_register(l);
out:
	if (rc != 0) {
		tp_listener_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

int tp_udp_listener_start(struct tp_listener *l)
{
	for (unsigned i = 0; i < l->nreaders; i++) {
		struct udp_reader *r = &l->readers[i];
		int rc = worker_post(r->w, reader_start, r);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void tp_udp_listener_stop(struct tp_listener *l)
{
	for (unsigned i = 0; i < l->nreaders; i++) {
		struct udp_reader *r = &l->readers[i];
		uv_sem_t sem;

		if (uv_sem_init(&sem, 0) != 0)
			continue;
		r->closed = &sem;
		while (worker_post(r->w, reader_close, r) != 0)
			uv_sleep(10);
		uv_sem_wait(&sem);
		uv_sem_destroy(&sem);
		r->closed = NULL;
	}
}

void tp_udp_listener_close(struct tp_listener *l)
{
	for (unsigned i = 0; l->readers && i < l->nreaders; i++) {
		struct udp_reader *r = &l->readers[i];
		if (r->fd >= 0)
			close(r->fd);
		buf_close(&r->out);
		sb_free(r->bufs);
	}
	sb_free(l->readers);
	sb_free(l->server);
	l->readers = NULL;
	l->server = NULL;
}

void tp_udp_listener_stats(const struct tp_listener *l,
			   struct tp_udp_stats *out)
{
	out->received = read_count(&l->received);
	out->keepalives = read_count(&l->keepalives);
	out->handed_off = read_count(&l->handed_off);
	out->overflows = read_count(&l->overflows);
	out->send_errors = read_count(&l->send_errors);
	out->sent = read_count(&l->sent);
}

void tp_udp_flush(void)
{
	struct udp_outq *q = &outq;
	unsigned done = 0;

	while (done < q->n) {
		int n = sendmmsg(q->fd, q->mm + done, q->n - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* This one failed (full buffer, ICMP error...): skip */
			count(&q->l->send_errors);
			done++;
			continue;
		}
		atomic_fetch_add_explicit(&q->l->sent, (uint64_t)n,
					  memory_order_relaxed);
		done += (unsigned)n;
	}
	q->n = 0;
	q->used = 0;
}

/* Queue one datagram on the calling worker's batch. */
static void enqueue(struct tp_listener *l, int fd, const char *data, size_t len,
		    const struct sip_addr *to)
{
	struct udp_outq *q = &outq;
	unsigned i;

	if (q->n == TP_UDP_BATCH || (q->n && q->fd != fd) ||
	    len > sizeof(q->buf) - q->used)
		tp_udp_flush();
	i = q->n++;
	q->fd = fd;
	q->l = l;
	memcpy(q->buf + q->used, data, len);
	q->to[i] = *to;
	q->iov[i].iov_base = q->buf + q->used;
	q->iov[i].iov_len = len;
	q->mm[i].msg_hdr = (struct msghdr){
	    .msg_name = &q->to[i].sa,
	    .msg_namelen = addr_len(to),
	    .msg_iov = &q->iov[i],
	    .msg_iovlen = 1,
	};
	q->used += (len + 7) & ~(size_t)7;
	if (q->used > sizeof(q->buf))
		q->used = sizeof(q->buf);
}

int tp_send(const struct sip_flow *f, const char *data, size_t len,
	    tp_send_cb cb, void *arg)
{
	struct tp_listener *l = f->listener;
	struct worker *self = worker_self();
	unsigned i = 0;

	if (f->tp != SIP_TP_UDP)
		return tp_stream_send(f, data, len, cb, arg);
	if (!l || l->tp != SIP_TP_UDP)
		l = tp_listener_find(SIP_TP_UDP, f->remote.sa.sa_family);
	if (!l)
		return -EADDRNOTAVAIL;
	/* Reuseport: send from the calling worker's own socket. */
	if (self && l->nreaders > 1)
		i = worker_id(self) % l->nreaders;
	if (!self || len > UDP_OUT_BYTES)
		return send_raw(l, l->readers[i].fd, data, len, &f->remote);
	enqueue(l, l->readers[i].fd, data, len, &f->remote);
	return 0;
}
