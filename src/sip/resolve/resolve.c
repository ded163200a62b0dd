/* The resolver: c-ares on a libuv loop, shared queries, the answer cache. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/resolve/resolve.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "sip/resolve/resolve_int.h"

#define LOG_MODULE "resolve"
#include "base/log.h"

enum {
	DEFAULT_TIMEOUT_MS = 2000,
	DEFAULT_TRIES = 2,
	DEFAULT_CACHE_MAX = 4096,
	DEFAULT_MAX_TTL_S = 3600,
	DEFAULT_NEG_TTL_S = 30,
	SERVER_TEXT_MAX = 64, /* "[ffff:...:ffff]:65535" and some */
	TRIES_MAX = 16,
	TIMEOUT_MAX_MS = 600000
};

/* One DNS query in flight: every lookup that needs (name, type) waits on
 * it, so concurrent lookups of one name cost one query. */
struct dnsq {
	struct dnsq *hnext; /* in-flight bucket chain */
	struct dnsq *fnext; /* r->finished */
	struct resolver *r;
	struct need *waiters; /* linked by wprev/wnext */
	struct rrset *set;    /* the outcome, once finished */
	int err;	      /* when set is NULL: why */
	uint32_t hash;
	uint32_t tries_left; /* further rounds on timeout */
	uint16_t type;
	char name[RESOLVE_NAME_MAX + 1];
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status = ARES_ENOTINITIALIZED;

static void lib_init(void)
{
	lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static void dnsq_free(struct dnsq *d)
{
	resolve_rrset_unref(d->set);
	sb_free(d);
}

static struct dnsq **inflight_slot(struct resolver *r, uint32_t hash)
{
	return &r->inflight[hash & (RESOLVE_INFLIGHT_BUCKETS - 1)];
}

static void inflight_remove(struct resolver *r, struct dnsq *d)
{
	struct dnsq **pp = inflight_slot(r, d->hash);

	while (*pp && *pp != d)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = d->hnext;
	d->hnext = NULL;
}

static struct dnsq *inflight_find(struct resolver *r, const char *name,
				  uint16_t type, uint32_t hash)
{
	for (struct dnsq *d = *inflight_slot(r, hash); d; d = d->hnext)
		if (d->hash == hash && d->type == type &&
		    strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

/* Map a c-ares status to our error codes. */
static int ares_to_err(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
		return -ENOENT;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ENOMEM:
		return -ENOMEM;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

static void sync_stats(struct resolver *r)
{
	r->stats.cached = r->cache.count;
}

static uint32_t clamp_ttl(const struct resolver *r, uint32_t ttl_s)
{
	if (ttl_s < r->min_ttl_s)
		return r->min_ttl_s;
	if (ttl_s > r->max_ttl_s)
		return r->max_ttl_s;
	return ttl_s;
}

/* Turn an answer into a record set and cache it when it may be. */
static void dnsq_settle(struct dnsq *d, int status, const uint8_t *abuf,
			int alen)
{
	struct resolver *r = d->r;
	uint32_t ttl_s = 0;
	int err = ares_to_err(status);

	if (err == 0) {
		err = resolve_answer_decode(d->name, d->type, abuf,
					    alen > 0 ? (size_t)alen : 0,
					    &d->set, &ttl_s);
		if (err == -EBADMSG)
			err = -EIO;
	} else if (err == -ENOENT) {
		d->set =
		    resolve_rrset_new(d->name, d->type, -ENOENT, 0, 0, NULL);
		err = d->set ? 0 : -ENOMEM;
	}
	log_debug("answer", "name=%s type=%u err=%d n=%zu ttl=%u", d->name,
		  d->type, err ? err : d->set->status, d->set ? d->set->n : 0,
		  ttl_s);
	if (err) {
		d->err = err;
		return;
	}
	ttl_s = d->set->status == 0 ? clamp_ttl(r, ttl_s) : r->neg_ttl_s;
	if (ttl_s == 0)
		return;
	d->set->expires_ms = uv_now(r->loop) + (uint64_t)ttl_s * 1000;
	resolve_cache_put(&r->cache, d->set);
	sync_stats(r);
}

static void on_ares_timer(uv_timer_t *t);

/* Keep t_ares on c-ares's next timeout, or stopped when nothing waits. */
static void arm(struct resolver *r)
{
	struct timeval tv, *tvp;
	uint64_t ms;

	if (r->is_closing)
		return;
	tvp = ares_timeout(r->ch, NULL, &tv);
	if (!tvp) {
		uv_timer_stop(&r->t_ares);
		return;
	}
	ms = (uint64_t)tvp->tv_sec * 1000 +
	     ((uint64_t)tvp->tv_usec + 999) / 1000;
	uv_timer_start(&r->t_ares, on_ares_timer, ms, 0);
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
		      int alen);

static void dnsq_send(struct dnsq *d)
{
	log_debug("query", "name=%s type=%u", d->name, d->type);
	d->r->stats.queries++;
	ares_query(d->r->ch, d->name, DNS_CLASS_IN, d->type, on_answer, d);
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
		      int alen)
{
	struct dnsq *d = arg;
	struct resolver *r = d->r;

	if (r->is_closing || status == ARES_EDESTRUCTION) {
		inflight_remove(r, d);
		dnsq_free(d);
		return;
	}
	if (status == ARES_ETIMEOUT && d->tries_left > 0) {
		d->tries_left--;
		dnsq_send(d);
		return;
	}
	inflight_remove(r, d);
	dnsq_settle(d, status, abuf, alen);
	d->fnext = NULL;
	if (r->finished_tail)
		r->finished_tail->fnext = d;
	else
		r->finished = d;
	r->finished_tail = d;
	resolve_kick(r);
}

static void on_ares_timer(uv_timer_t *t)
{
	struct resolver *r = t->data;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm(r);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct watch *w = h->data;
	struct resolver *r = w->r;
	ares_socket_t fd = w->fd;
	bool is_err = status < 0;

	/* On an error let c-ares read and write: it sees the failure. */
	ares_process_fd(
	    r->ch, is_err || (events & UV_READABLE) ? fd : ARES_SOCKET_BAD,
	    is_err || (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
	arm(r);
}

static void handle_closed(struct resolver *r)
{
	if (--r->handles == 0 && r->is_closing)
		sb_free(r);
}

static void on_closed(uv_handle_t *h)
{
	handle_closed(h->data);
}

static void on_watch_closed(uv_handle_t *h)
{
	struct watch *w = h->data;

	w->is_used = false;
	w->is_closing = false;
	handle_closed(w->r);
}

static void watch_close(struct watch *w)
{
	w->is_closing = true;
	uv_close((uv_handle_t *)&w->poll, on_watch_closed);
}

/*
 * c-ares opens, re-aims or closes a socket. It closes the socket right
 * after telling us, so the poll is stopped here (uv_close stops it at
 * once), and a new socket with the same number gets a fresh watch.
 */
static void on_sock_state(void *data, ares_socket_t fd, int readable,
			  int writable)
{
	struct resolver *r = data;
	struct watch *w = NULL, *free_w = NULL;
	int events =
	    (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
	int err;

	for (size_t i = 0; i < RESOLVE_WATCHES_MAX; i++) {
		struct watch *x = &r->watches[i];
		if (x->is_used && !x->is_closing && x->fd == fd)
			w = x;
		else if (!x->is_used && !free_w)
			free_w = x;
	}
	if (!events) {
		if (w)
			watch_close(w);
		return;
	}
	if (!w) {
		if (!free_w || r->is_closing) {
			log_error("socket_unwatched", "fd=%d", (int)fd);
			return;
		}
		w = free_w;
		err = uv_poll_init_socket(r->loop, &w->poll, fd);
		if (err) {
			log_error("socket_unwatched", "fd=%d err=%d", (int)fd,
				  err);
			return;
		}
		w->poll.data = w;
		w->r = r;
		w->fd = fd;
		w->is_used = true;
		r->handles++;
		/* An idle socket must not keep the loop alive: pending
		 * queries do, through t_ares. */
		uv_unref((uv_handle_t *)&w->poll);
	}
	err = uv_poll_start(&w->poll, events, on_poll);
	if (err)
		log_error("socket_unwatched", "fd=%d err=%d", (int)fd, err);
}

/* Hand finished queries to their lookups, then run the callbacks of the
 * lookups that are done, until neither is left. */
static void on_kick(uv_idle_t *h)
{
	struct resolver *r = h->data;
	struct resolve_req *q;
	struct dnsq *d;

	uv_idle_stop(h);
	for (;;) {
		if ((d = r->finished)) {
			struct need *nd;

			r->finished = d->fnext;
			if (!r->finished)
				r->finished_tail = NULL;
			while ((nd = d->waiters)) {
				struct resolve_req *wq = nd->q;

				d->waiters = nd->wnext;
				if (d->waiters)
					d->waiters->wprev = NULL;
				nd->d = NULL;
				nd->wprev = nd->wnext = NULL;
				nd->set =
				    d->set ? resolve_rrset_ref(d->set) : NULL;
				nd->err = d->err;
				if (--wq->npending == 0)
					resolve_req_advance(wq);
			}
			dnsq_free(d);
			continue;
		}
		q = r->done.head;
		if (!q)
			break;
		resolve_req_list_remove(q);
		if (q->err)
			r->stats.failures++;
		log_debug("lookup", "host=%s err=%d targets=%zu cached=%d",
			  q->host[0] ? q->host : "-", q->err, q->ntargets,
			  !q->has_waited);
		q->cb(q->arg, q->err, q->err ? NULL : q->targets,
		      q->err ? 0 : q->ntargets);
		sb_free(q);
		if (r->is_closing)
			return; /* cb freed the resolver */
	}
}

void resolve_kick(struct resolver *r)
{
	if (!r->is_closing)
		uv_idle_start(&r->kick, on_kick);
}

int resolve_need_start(struct resolver *r, struct need *nd)
{
	uint32_t hash;
	struct dnsq *d;

	nd->set =
	    resolve_cache_get(&r->cache, nd->name, nd->type, uv_now(r->loop));
	sync_stats(r);
	if (nd->set)
		return 0;
	hash = resolve_cache_hash(&r->cache, nd->name, nd->type);
	d = inflight_find(r, nd->name, nd->type, hash);
	if (!d) {
		d = sb_calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		d->r = r;
		d->hash = hash;
		d->type = nd->type;
		d->tries_left = r->tries - 1;
		snprintf(d->name, sizeof(d->name), "%s", nd->name);
		d->hnext = *inflight_slot(r, hash);
		*inflight_slot(r, hash) = d;
		/* Waiters first: a failure may be reported inside the
		 * call, and goes to r->finished like any answer. */
		nd->d = d;
		nd->wnext = NULL;
		d->waiters = nd;
		dnsq_send(d);
		arm(r);
		return 1;
	}
	nd->d = d;
	nd->wprev = NULL;
	nd->wnext = d->waiters;
	if (d->waiters)
		d->waiters->wprev = nd;
	d->waiters = nd;
	return 1;
}

void resolve_need_stop(struct need *nd)
{
	struct dnsq *d = nd->d;

	if (d) {
		if (nd->wprev)
			nd->wprev->wnext = nd->wnext;
		else
			d->waiters = nd->wnext;
		if (nd->wnext)
			nd->wnext->wprev = nd->wprev;
		nd->wprev = nd->wnext = NULL;
		nd->d = NULL;
	}
	nd->set = resolve_rrset_unref(nd->set);
}

/* "host", "host:port", "[v6]:port" → c-ares's CSV form, checked. */
static int servers_csv(const struct resolver_opts *o, char *out, size_t cap)
{
	size_t used = 0;

	if (o->nservers > RESOLVE_SERVERS_MAX)
		return -EINVAL;
	out[0] = '\0';
	for (size_t i = 0; i < o->nservers; i++) {
		const char *s = o->servers[i];
		size_t len = s ? strlen(s) : 0;

		if (len == 0 || len >= SERVER_TEXT_MAX || strchr(s, ','))
			return -EINVAL;
		if (used + len + 2 > cap)
			return -EINVAL;
		if (i)
			out[used++] = ',';
		memcpy(out + used, s, len + 1);
		used += len;
	}
	return 0;
}

int resolver_new(uv_loop_t *loop, const struct resolver_opts *o,
		 struct resolver **out)
{
	char csv[RESOLVE_SERVERS_MAX * (SERVER_TEXT_MAX + 1)];
	struct ares_options ao;
	struct resolver *r;
	int err;

	if (!loop || !o || !out)
		return -EINVAL;
	err = servers_csv(o, csv, sizeof(csv));
	if (err)
		return err;
	pthread_once(&lib_once, lib_init);
	if (lib_status != ARES_SUCCESS)
		return -EIO;
	r = sb_calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->tries = o->tries ? o->tries : DEFAULT_TRIES;
	if (r->tries > TRIES_MAX)
		r->tries = TRIES_MAX;
	r->min_ttl_s = o->min_ttl_s;
	r->max_ttl_s = o->max_ttl_s ? o->max_ttl_s : DEFAULT_MAX_TTL_S;
	r->neg_ttl_s = o->neg_ttl_s ? o->neg_ttl_s : DEFAULT_NEG_TTL_S;
	r->is_ipv6_enabled = o->is_ipv6_enabled;
	if (r->min_ttl_s > r->max_ttl_s) {
		err = -EINVAL;
		goto out;
	}
	err = resolve_cache_init(&r->cache, o->cache_max ? o->cache_max
							 : DEFAULT_CACHE_MAX);
	if (err)
		goto out;

	memset(&ao, 0, sizeof(ao));
	ao.timeout = (int)(o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	if (o->timeout_ms > TIMEOUT_MAX_MS)
		ao.timeout = TIMEOUT_MAX_MS;
	ao.tries = 1; /* rounds are ours: see dnsq tries_left */
	ao.sock_state_cb = on_sock_state;
	ao.sock_state_cb_data = r;
	err = ares_init_options(&r->ch, &ao,
				ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
				    ARES_OPT_SOCK_STATE_CB);
	if (err != ARES_SUCCESS) {
		err = err == ARES_ENOMEM ? -ENOMEM : -EIO;
		goto out;
	}
	if (o->nservers > 0) {
		err = ares_set_servers_ports_csv(r->ch, csv);
		if (err != ARES_SUCCESS) {
			err = err == ARES_ENOMEM ? -ENOMEM : -EINVAL;
			ares_destroy(r->ch);
			goto out;
		}
	}
	uv_timer_init(loop, &r->t_ares);
	uv_idle_init(loop, &r->kick);
	r->t_ares.data = r;
	r->kick.data = r;
	r->handles = 2;
	*out = r;
	return 0;
out:
	resolve_cache_close(&r->cache);
	sb_free(r);
	return err;
}

struct resolver *resolver_free(struct resolver *r)
{
	struct resolve_req *q;
	struct dnsq *d;

	if (!r || r->is_closing)
		return NULL;
	r->is_closing = true;
	while ((q = r->active.head) || (q = r->done.head)) {
		resolve_req_list_remove(q);
		resolve_req_release(q);
		r->stats.failures++;
		q->cb(q->arg, -ECANCELED, NULL, 0);
		sb_free(q);
	}
	ares_destroy(r->ch); /* in-flight queries end with EDESTRUCTION */
	for (size_t i = 0; i < RESOLVE_WATCHES_MAX; i++)
		if (r->watches[i].is_used && !r->watches[i].is_closing)
			watch_close(&r->watches[i]);
	while ((d = r->finished)) {
		r->finished = d->fnext;
		dnsq_free(d);
	}
	for (size_t i = 0; i < RESOLVE_INFLIGHT_BUCKETS; i++) {
		while ((d = r->inflight[i])) {
			r->inflight[i] = d->hnext;
			dnsq_free(d);
		}
	}
	resolve_cache_close(&r->cache);
	uv_close((uv_handle_t *)&r->t_ares, on_closed);
	uv_close((uv_handle_t *)&r->kick, on_closed);
	return NULL;
}

const struct resolver_stats *resolver_stats(const struct resolver *r)
{
	return &r->stats;
}
