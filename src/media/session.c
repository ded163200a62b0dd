/* Media sessions: a call's streams, their sockets and what each side said. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "media/media_int.h"

#define LOG_MODULE "media"

int media_session_new(struct media *m, const char *name,
		      const struct media_session_cb *cb, void *arg,
		      struct media_session **out)
{
	struct media_session *s = sb_calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->m = m;
	if (cb)
		s->cb = *cb;
	s->arg = arg;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	s->next = m->sessions;
	if (s->next)
		s->next->prev = s;
	m->sessions = s;
	m->c.sessions++;
	m->c.alive++;
	*out = s;
	return 0;
}

static void sock_close(struct media *m, struct msock *ms)
{
	if (ms->fd < 0)
		return;
	close(ms->fd); /* leaves the epoll set with its last descriptor */
	ms->fd = -1;
	m->c.sockets--;
}

static void side_close(struct media *m, struct side *d)
{
	if (!d->port)
		return;
	sock_close(m, &d->rtp);
	sock_close(m, &d->rtcp);
	media_ports_close(m->o.ports, d->port);
	d->port = 0;
	d->has_latched_rtp = d->has_latched_rtcp = false;
}

static void inject_forget(struct media_session *s)
{
	struct media_session **pp = &s->m->injecting;

	if (!s->is_injecting)
		return;
	for (; *pp; pp = &(*pp)->inj_next)
		if (*pp == s) {
			*pp = s->inj_next;
			break;
		}
	s->is_injecting = false;
}

struct media_session *media_session_free(struct media_session *s)
{
	struct media *m;

	if (!s)
		return NULL;
	m = s->m;
	media_session_record_stop(s);
	inject_forget(s);
	for (unsigned i = 0; i < MEDIA_STREAMS_MAX; i++) {
		if (!s->streams[i])
			continue;
		side_close(m, &s->streams[i]->sides[MEDIA_A]);
		side_close(m, &s->streams[i]->sides[MEDIA_B]);
		sb_free(s->streams[i]);
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		m->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	m->c.alive--;
	sb_free(s);
	return NULL;
}

static struct stream *stream_get(struct media_session *s, unsigned i)
{
	struct stream *st = s->streams[i];

	if (st)
		return st;
	st = sb_calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->s = s;
	st->i = i;
	for (unsigned k = 0; k < 2; k++) {
		struct side *d = &st->sides[k];

		d->stream = st;
		d->idx = k;
		d->rtp = (struct msock){-1, d, false};
		d->rtcp = (struct msock){-1, d, true};
		d->r.dtmf_pt = -1;
	}
	s->streams[i] = st;
	if (i + 1 > s->nstreams)
		s->nstreams = i + 1;
	return st;
}

static int side_open(struct media *m, struct side *d, int family)
{
	const struct sockaddr_storage *addr =
	    family == AF_INET6 ? &m->o.bind6 : &m->o.bind4;
	int fds[2], rc;

	rc = media_ports_open(m->o.ports, addr, fds, &d->port);
	if (rc != 0) {
		m->c.port_failures++;
		log_warn("media_no_port", "session=%s error=\"%s\"",
			 d->stream->s->name, "no free port pair in the range");
		return rc;
	}
	d->rtp.fd = fds[0];
	d->rtcp.fd = fds[1];
	d->family = family;
	m->c.sockets += 2;
	if (media_watch(m, &d->rtp) != 0 || media_watch(m, &d->rtcp) != 0) {
		side_close(m, d);
		return -ENOMEM;
	}
	return 0;
}

int media_session_local(struct media_session *s, unsigned side, unsigned i,
			int family, uint16_t *port, const char **addr)
{
	struct media *m = s->m;
	struct stream *st;
	struct side *d;
	const char *adv = media_advertise(m, family);
	int rc;

	if (i >= MEDIA_STREAMS_MAX || side > MEDIA_B)
		return -ERANGE;
	if (!adv)
		return -EAFNOSUPPORT;
	st = stream_get(s, i);
	if (!st)
		return -ENOMEM;
	d = &st->sides[side];
	if (d->port && d->family != family)
		side_close(m, d);
	if (!d->port) {
		rc = side_open(m, d, family);
		if (rc != 0)
			return rc;
	}
	*port = d->port;
	*addr = adv;
	return 0;
}

void media_session_remote(struct media_session *s, unsigned side, unsigned i,
			  const struct media_remote *r,
			  const struct sockaddr_storage *sip_src)
{
	struct stream *st;
	struct side *d;
	uint64_t until;

	if (i >= MEDIA_STREAMS_MAX || side > MEDIA_B)
		return;
	st = stream_get(s, i);
	if (!st)
		return;
	d = &st->sides[side];
	d->r = *r;
	d->has_remote = true;
	if (sip_src) {
		d->sip_src = *sip_src;
		d->has_sip_src = true;
	}
	/* an offer/answer: either side may latch anew for a while */
	until = media_now_us() + (uint64_t)s->m->o.latch_window_ms * 1000u;
	st->sides[MEDIA_A].window_until_us = until;
	st->sides[MEDIA_B].window_until_us = until;
}

void media_session_sip_src(struct media_session *s, unsigned side, unsigned i,
			   const struct sockaddr_storage *sip_src)
{
	struct stream *st;

	if (i >= MEDIA_STREAMS_MAX || side > MEDIA_B)
		return;
	st = stream_get(s, i);
	if (!st || st->sides[side].has_sip_src)
		return;
	st->sides[side].sip_src = *sip_src;
	st->sides[side].has_sip_src = true;
}

void media_session_activate(struct media_session *s, bool is_active)
{
	if (is_active && !s->is_active)
		s->active_us = media_now_us();
	s->is_active = is_active;
}

void media_session_hold(struct media_session *s, bool is_held)
{
	if (s->is_held && !is_held) /* resumed: the timeout starts again */
		s->active_us = media_now_us();
	s->is_held = is_held;
}

void media_session_dtmf_strip(struct media_session *s, unsigned side,
			      bool is_stripped)
{
	for (unsigned i = 0; i < s->nstreams; i++)
		if (s->streams[i] && side <= MEDIA_B)
			s->streams[i]->sides[side].is_dtmf_stripped =
			    is_stripped;
}

int media_session_record(struct media_session *s, struct recorder *r,
			 const char *name, char *path, size_t cap)
{
	if (s->rec)
		return -EALREADY;
	return recording_new(r, name, media_now_us() / 1000u, &s->rec, path,
			     cap);
}

void media_session_record_stop(struct media_session *s)
{
	s->rec = recording_free(s->rec, media_now_us() / 1000u);
}

bool media_session_is_recording(const struct media_session *s)
{
	return s->rec != NULL;
}

void media_session_summary(const struct media_session *s, unsigned side,
			   unsigned i, struct media_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (i < MEDIA_STREAMS_MAX && side <= MEDIA_B && s->streams[i])
		media_stats_summary(&s->streams[i]->sides[side].rx, out);
}

unsigned media_session_streams(const struct media_session *s)
{
	return s->nstreams;
}
