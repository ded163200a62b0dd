/* The relay engine of one loop: an epoll set of media sockets, timeouts. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "media/media_int.h"

#define LOG_MODULE "media"

enum {
	SWEEP_MS = 1000, /* media timeouts are checked this often */
	TICK_MS = 20,	 /* digits being sent: one packet per tick */
	BATCH_MS = 1,	 /* busy: the set is read this often */
	BUSY_EVENTS = 8	 /* sockets ready at once that make it busy */
};

uint64_t media_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Read every socket that is ready; returns how many were. */
static int drain(struct media *m)
{
	struct epoll_event ev[MEDIA_EVENTS];
	int n = epoll_wait(m->epfd, ev, MEDIA_EVENTS, 0);

	if (n <= 0)
		return 0;
	m->now_us = media_now_us();
	for (int i = 0; i < n; i++)
		relay_read(m, ev[i].data.ptr);
	return n;
}

static void on_ready(uv_poll_t *h, int status, int events);

/*
 * Busy: read the set every BATCH_MS instead of on each packet. A wake-up
 * per packet costs two context switches (ours, and the receiver's that
 * our send wakes); at a few thousand packets a millisecond they are most
 * of the CPU (docs/PERFORMANCE.md). The price is at most BATCH_MS of
 * added latency, under load only; quiet again, back to readiness.
 */
static void on_batch(uv_timer_t *t)
{
	struct media *m = t->data;

	if (drain(m) < BUSY_EVENTS) {
		uv_timer_stop(&m->batch);
		uv_poll_start(&m->poll, UV_READABLE, on_ready);
	}
}

/* Every socket of every session is in one epoll set (level-triggered):
 * libuv watches the set, we read what is ready. */
static void on_ready(uv_poll_t *h, int status, int events)
{
	struct media *m = h->data;

	(void)events;
	if (status < 0)
		return;
	if (drain(m) >= BUSY_EVENTS) {
		uv_poll_stop(&m->poll);
		uv_timer_start(&m->batch, on_batch, BATCH_MS, BATCH_MS);
	}
}

int media_watch(struct media *m, struct msock *ms)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ms};

	return epoll_ctl(m->epfd, EPOLL_CTL_ADD, ms->fd, &ev) ? -errno : 0;
}

/* When did side last send, for its timeout: a packet, or activation. */
static uint64_t idle_since(const struct media_session *s, unsigned side,
			   bool *has_sender)
{
	uint64_t last = s->active_us;

	*has_sender = false;
	for (unsigned i = 0; i < s->nstreams; i++) {
		const struct side *d =
		    s->streams[i] ? &s->streams[i]->sides[side] : NULL;

		if (!d || !d->has_remote || d->r.is_disabled || d->r.is_silent)
			continue;
		*has_sender = true;
		if (d->last_rx_us > last)
			last = d->last_rx_us;
	}
	return last;
}

static void check_timeout(struct media *m, struct media_session *s)
{
	uint32_t limit_s = s->is_held ? m->o.hold_timeout_s : m->o.timeout_s;

	if (!s->is_active || limit_s == 0)
		return;
	for (unsigned side = 0; side < 2; side++) {
		bool has_sender, *out = NULL;
		uint64_t since = idle_since(s, side, &has_sender);

		if (!has_sender || !s->streams[0])
			continue;
		out = &s->streams[0]->sides[side].is_timed_out;
		if (*out || m->now_us - since < (uint64_t)limit_s * 1000000u)
			continue;
		*out = true;
		m->c.timeouts++;
		log_info("media_timeout", "session=%s side=%s idle_s=%u",
			 s->name, side == MEDIA_A ? "caller" : "callee",
			 limit_s);
		if (s->cb.on_timeout) {
			s->cb.on_timeout(s->arg, side);
			return; /* the owner may have freed s */
		}
	}
}

static void on_sweep(uv_timer_t *t)
{
	struct media *m = t->data;
	struct media_session *s = m->sessions, *next;

	m->now_us = media_now_us();
	for (; s; s = next) {
		next = s->next;
		check_timeout(m, s);
	}
}

static void on_tick(uv_timer_t *t)
{
	struct media *m = t->data;

	m->now_us = media_now_us();
	if (!inject_tick(m))
		uv_timer_stop(&m->tick);
}

void media_tick_start(struct media *m)
{
	if (!uv_is_active((uv_handle_t *)&m->tick))
		uv_timer_start(&m->tick, on_tick, 0, TICK_MS);
}

int media_new(uv_loop_t *loop, const struct media_opts *o, struct media **out)
{
	struct media *m;
	int rc;

	*out = NULL;
	if (!o->ports)
		return -EINVAL;
	m = sb_calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->o = *o;
	if (!m->o.advertise4[0] && m->o.bind4.ss_family == AF_INET)
		inet_ntop(AF_INET,
			  &((struct sockaddr_in *)&m->o.bind4)->sin_addr,
			  m->o.advertise4, sizeof(m->o.advertise4));
	if (!m->o.advertise6[0] && m->o.bind6.ss_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((struct sockaddr_in6 *)&m->o.bind6)->sin6_addr,
			  m->o.advertise6, sizeof(m->o.advertise6));
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0) {
		rc = -errno;
		sb_free(m);
		return rc;
	}
	rc = uv_poll_init(loop, &m->poll, m->epfd);
	if (rc == 0) {
		m->poll.data = m;
		m->handles++;
		rc = uv_poll_start(&m->poll, UV_READABLE, on_ready);
	}
	if (rc == 0) {
		uv_timer_init(loop, &m->sweep);
		uv_timer_init(loop, &m->tick);
		uv_timer_init(loop, &m->batch);
		m->sweep.data = m->tick.data = m->batch.data = m;
		m->handles += 3;
		rc = uv_timer_start(&m->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
		uv_unref((uv_handle_t *)&m->sweep);
	}
	if (rc != 0) {
		media_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	struct media *m = h->data;

	if (--m->handles == 0) {
		close(m->epfd);
		sb_free(m);
	}
}

struct media *media_free(struct media *m)
{
	if (!m)
		return NULL;
	while (m->sessions)
		media_session_free(m->sessions);
	if (m->handles == 0) {
		close(m->epfd);
		sb_free(m);
		return NULL;
	}
	uv_close((uv_handle_t *)&m->poll, on_closed);
	if (m->handles > 1) {
		uv_close((uv_handle_t *)&m->sweep, on_closed);
		uv_close((uv_handle_t *)&m->tick, on_closed);
		uv_close((uv_handle_t *)&m->batch, on_closed);
	}
	return NULL;
}

const struct media_counts *media_counts(const struct media *m)
{
	return &m->c;
}

const char *media_advertise(const struct media *m, int family)
{
	if (family == AF_INET6)
		return m->o.bind6.ss_family == AF_INET6 ? m->o.advertise6
							: NULL;
	return m->o.bind4.ss_family == AF_INET ? m->o.advertise4 : NULL;
}
