/* Stream connections: counted objects, per-worker tables, limits, sends. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "runtime/worker.h"
#include "sip/transport/stream_int.h"

#define LOG_MODULE "tp.conn"

enum {
	CONN_BUCKETS_INITIAL = 64, /* table hash buckets; doubled as it grows */
	IP_BUCKETS_MIN = 64,	   /* per-IP count buckets */
	IP_BUCKETS_MAX = 65536,
	ADDR_TEXT = 64 /* bytes of an IP address as text */
};

/* Connections from one source address, over all workers. */
struct ip_count {
	struct ip_count *next;
	struct sip_addr addr; /* port zeroed */
	uint32_t n;
};

struct tp_stream {
	struct tp_stream_opts o;
	atomic_uint conns; /* admitted, all workers */
	pthread_mutex_t ip_lock;
	struct ip_count **ip_buckets; /* lock: ip_lock */
	uint32_t ip_nbuckets;	      /* power of two */
	_Atomic(struct tp_conn_table *) tables[TP_STREAM_TABLES_MAX];
	char server[]; /* copy of o.server */
};

/* The process's stream transport, for tp_send(). */
static _Atomic(struct tp_stream *) the_stream;

static void conn_destroy(struct tp_conn *c)
{
	tp_frame_close(&c->frame);
	tp_tls_free(c->tls);
	sb_free(c->server_name);
	sb_free(c);
	sb_live_dec(SB_LIVE_CONN);
}

struct tp_conn *tp_conn_ref(struct tp_conn *c)
{
	if (c)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

struct tp_conn *tp_conn_unref(struct tp_conn *c)
{
	if (c &&
	    atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		conn_destroy(c);
	return NULL;
}

static enum tp_conn_state state_of(const struct tp_conn *c)
{
	return (enum tp_conn_state)atomic_load_explicit(&c->state,
							memory_order_acquire);
}

static void set_state(struct tp_conn *c, enum tp_conn_state s)
{
	atomic_store_explicit(&c->state, (int)s, memory_order_release);
}

static bool is_usable(const struct tp_conn *c)
{
	return state_of(c) < TP_CONN_STATE_CLOSING;
}

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* Hash of an address; with_port false hashes the IP only. */
static uint32_t addr_hash(const struct sip_addr *a, bool with_port)
{
	uint32_t h = 2166136261u;

	if (a->sa.sa_family == AF_INET) {
		h = fnv(h, &a->in.sin_addr, sizeof(a->in.sin_addr));
		if (with_port)
			h = fnv(h, &a->in.sin_port, sizeof(a->in.sin_port));
	} else if (a->sa.sa_family == AF_INET6) {
		h = fnv(h, &a->in6.sin6_addr, sizeof(a->in6.sin6_addr));
		if (with_port)
			h = fnv(h, &a->in6.sin6_port, sizeof(a->in6.sin6_port));
	}
	return h;
}

static uint32_t conn_key(enum sip_transport tp, const struct sip_addr *a)
{
	return addr_hash(a, true) ^ (uint32_t)tp;
}

/* The address with its port cleared: the per-IP key. */
static struct sip_addr ip_only(const struct sip_addr *a)
{
	struct sip_addr ip = *a;

	if (ip.sa.sa_family == AF_INET)
		ip.in.sin_port = 0;
	else if (ip.sa.sa_family == AF_INET6)
		ip.in6.sin6_port = 0;
	return ip;
}

/* Take a per-IP slot. Returns 0, -EMLINK (at the limit) or -ENOMEM. */
static int ip_take(struct tp_stream *s, const struct sip_addr *a)
{
	struct sip_addr ip = ip_only(a);
	uint32_t i = addr_hash(&ip, false) & (s->ip_nbuckets - 1);
	struct ip_count *e;
	int err = 0;

	pthread_mutex_lock(&s->ip_lock);
	for (e = s->ip_buckets[i]; e; e = e->next)
		if (sip_addr_eq(&e->addr, &ip))
			break;
	if (!e) {
		e = sb_calloc(1, sizeof(*e));
		if (!e) {
			err = -ENOMEM;
			goto out;
		}
		e->addr = ip;
		e->next = s->ip_buckets[i];
		s->ip_buckets[i] = e;
	}
	if (e->n >= s->o.max_conns_per_ip)
		err = -EMLINK;
	else
		e->n++;
out:
	pthread_mutex_unlock(&s->ip_lock);
	return err;
}

static void ip_release(struct tp_stream *s, const struct sip_addr *a)
{
	struct sip_addr ip = ip_only(a);
	uint32_t i = addr_hash(&ip, false) & (s->ip_nbuckets - 1);
	struct ip_count **pp, *e;

	pthread_mutex_lock(&s->ip_lock);
	for (pp = &s->ip_buckets[i]; (e = *pp); pp = &e->next) {
		if (!sip_addr_eq(&e->addr, &ip))
			continue;
		if (--e->n == 0) {
			*pp = e->next;
			sb_free(e);
		}
		break;
	}
	pthread_mutex_unlock(&s->ip_lock);
}

/* Double the buckets (owner, under the lock); on failure keep chaining. */
static void table_grow(struct tp_conn_table *t)
{
	uint32_t n = t->nbuckets * 2;
	struct tp_conn **nb = sb_calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		struct tp_conn *c = t->buckets[i], *next;
		for (; c; c = next) {
			uint32_t j = conn_key(c->tp, &c->remote) & (n - 1);
			next = c->hnext;
			c->hnext = nb[j];
			nb[j] = c;
		}
	}
	sb_free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

static void table_link(struct tp_conn_table *t, struct tp_conn *c)
{
	uint32_t i;

	pthread_mutex_lock(&t->lock);
	if (t->stats.alive + 1 > t->nbuckets)
		table_grow(t);
	i = conn_key(c->tp, &c->remote) & (t->nbuckets - 1);
	c->hnext = t->buckets[i];
	t->buckets[i] = c;
	c->prev = NULL;
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	c->is_linked = true;
	t->stats.alive++;
	pthread_mutex_unlock(&t->lock);
}

static void table_unlink(struct tp_conn_table *t, struct tp_conn *c)
{
	uint32_t i = conn_key(c->tp, &c->remote) & (t->nbuckets - 1);
	struct tp_conn **pp;

	pthread_mutex_lock(&t->lock);
	for (pp = &t->buckets[i]; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->hnext = c->prev = c->next = NULL;
	c->is_linked = false;
	t->stats.alive--;
	pthread_mutex_unlock(&t->lock);
}

/* A usable connection to remote in t, with a reference; any thread. */
static struct tp_conn *table_find(struct tp_conn_table *t,
				  enum sip_transport tp,
				  const struct sip_addr *remote)
{
	struct tp_conn *c;

	pthread_mutex_lock(&t->lock);
	c = t->buckets[conn_key(tp, remote) & (t->nbuckets - 1)];
	for (; c; c = c->hnext)
		if (c->tp == tp && is_usable(c) &&
		    sip_addr_eq(&c->remote, remote))
			break;
	tp_conn_ref(c);
	pthread_mutex_unlock(&t->lock);
	return c;
}

/* The calling thread's table: the one whose worker is opts.self(). */
static struct tp_conn_table *table_mine(struct tp_stream *s)
{
	struct worker *self = s->o.self();

	for (unsigned i = 0; i < TP_STREAM_TABLES_MAX; i++) {
		struct tp_conn_table *t = atomic_load(&s->tables[i]);
		if (t && t->worker == self)
			return t;
	}
	return NULL;
}

static struct tp_conn_table *table_first(struct tp_stream *s)
{
	for (unsigned i = 0; i < TP_STREAM_TABLES_MAX; i++) {
		struct tp_conn_table *t = atomic_load(&s->tables[i]);
		if (t)
			return t;
	}
	return NULL;
}

/* A usable connection to remote: mine first, then other workers'. */
static struct tp_conn *stream_find(struct tp_stream *s,
				   struct tp_conn_table *mine,
				   enum sip_transport tp,
				   const struct sip_addr *remote)
{
	struct tp_conn *c = mine ? table_find(mine, tp, remote) : NULL;

	for (unsigned i = 0; !c && i < TP_STREAM_TABLES_MAX; i++) {
		struct tp_conn_table *t = atomic_load(&s->tables[i]);
		if (t && t != mine)
			c = table_find(t, tp, remote);
	}
	return c;
}

static void log_close(const struct tp_conn *c, const char *why, int err)
{
	char ip[ADDR_TEXT];

	log_info("conn_close", "tp=" SL_FMT " remote=%s port=%u why=%s err=%d",
		 SL_ARG(sip_transport_name(c->tp)),
		 sip_addr_ip(&c->remote, ip, sizeof(ip)),
		 sip_addr_port(&c->remote), why, err);
}

static void fail_pending(struct tp_conn *c, int err)
{
	struct tp_send_req *r;

	while ((r = c->pending)) {
		c->pending = r->next;
		c->out_bytes -= r->len;
		tp_conn_req_fail_later(c->table, r, err);
	}
	c->pending_tail = &c->pending;
}

static void on_conn_closed(uv_handle_t *h)
{
	struct tp_conn *c = h->data;

	c->table->handles--;
	tp_conn_unref(c); /* the table's reference */
}

/* Reports sends that failed outside any callback, a turn later. */
static void on_idle(uv_idle_t *h)
{
	struct tp_conn_table *t = h->data;
	struct tp_send_req *r;

	while ((r = t->done)) {
		t->done = r->next;
		if (!t->done)
			t->done_tail = &t->done;
		tp_conn_req_done(r, r->err);
	}
	if (!t->deferred && !t->done)
		uv_idle_stop(h);
}

/* Keep the loop turning (poll without blocking) while work waits. */
static void idle_update(struct tp_conn_table *t)
{
	if (t->deferred || t->done)
		uv_idle_start(&t->idle, on_idle);
	else
		uv_idle_stop(&t->idle);
}

/* Each loop turn: a new handshake budget, spent first on deferred ones. */
static void on_prepare(uv_prepare_t *h)
{
	struct tp_conn_table *t = h->data;
	uint32_t cap = t->stream->o.handshakes_per_turn;

	t->hs_turn = 0;
	while (t->deferred && (!cap || t->hs_turn < cap)) {
		struct tp_conn *c = t->deferred;
		t->deferred = c->defer_next;
		if (!t->deferred)
			t->deferred_tail = &t->deferred;
		c->defer_next = NULL;
		c->is_deferred = false;
		if (state_of(c) == TP_CONN_STATE_HANDSHAKING)
			tp_tcp_resume(c);
		tp_conn_unref(c);
	}
	idle_update(t);
}

/* Closes connections past a deadline. */
static void on_sweep(uv_timer_t *h)
{
	struct tp_conn_table *t = h->data;
	const struct tp_stream_opts *o = &t->stream->o;
	uint64_t now = uv_now(t->loop);
	struct tp_conn *c, *next;

	for (c = t->conns; c; c = next) {
		next = c->next;
		switch (state_of(c)) {
		case TP_CONN_STATE_CONNECTING:
		case TP_CONN_STATE_HANDSHAKING:
			if (!o->handshake_timeout_ms ||
			    now - c->created_ms < o->handshake_timeout_ms)
				break;
			if (state_of(c) == TP_CONN_STATE_CONNECTING)
				t->stats.connect_failed++;
			else
				t->stats.handshake_failed++;
			log_close(c, "handshake_timeout", -ETIMEDOUT);
			tp_conn_close_now(c, -ETIMEDOUT);
			break;
		case TP_CONN_STATE_OPEN:
			if (o->partial_timeout_ms && c->partial_ms &&
			    now - c->partial_ms >= o->partial_timeout_ms) {
				t->stats.closed_partial++;
				log_close(c, "partial_timeout", -ETIMEDOUT);
				tp_conn_close_now(c, -ETIMEDOUT);
			} else if (o->idle_timeout_ms &&
				   now - c->active_ms >= o->idle_timeout_ms) {
				/* A write stuck that long counts as idle. */
				t->stats.closed_idle++;
				log_close(c, "idle_timeout", -ETIMEDOUT);
				tp_conn_close_now(c, -ETIMEDOUT);
			}
			break;
		case TP_CONN_STATE_CLOSING:
			if (now - c->closing_ms >= STREAM_CLOSING_MS)
				tp_conn_close_now(c, c->close_err);
			break;
		case TP_CONN_STATE_CLOSED:
			break;
		}
	}
}

static uint32_t sweep_period(const struct tp_stream_opts *o)
{
	uint32_t ms = STREAM_CLOSING_MS,
		 v[3] = {o->idle_timeout_ms, o->partial_timeout_ms,
			 o->handshake_timeout_ms};

	for (int i = 0; i < 3; i++)
		if (v[i] && v[i] < ms)
			ms = v[i];
	ms /= 4;
	if (ms < STREAM_SWEEP_MIN_MS)
		ms = STREAM_SWEEP_MIN_MS;
	if (ms > STREAM_SWEEP_MAX_MS)
		ms = STREAM_SWEEP_MAX_MS;
	return ms;
}

static void on_table_handle_closed(uv_handle_t *h)
{
	struct tp_conn_table *t = h->data;

	t->handles--;
}

/* Hand r to a connection owned by this thread. r is taken on success. */
static int conn_send_req(struct tp_conn *c, struct tp_send_req *r)
{
	struct tp_conn_table *t = c->table;
	enum tp_conn_state st = state_of(c);

	if (st >= TP_CONN_STATE_CLOSING)
		return -ENOTCONN;
	if (c->out_bytes + r->len > t->stream->o.max_buffered_bytes) {
		t->stats.closed_buffer++;
		log_close(c, "output_buffer", -ENOBUFS);
		tp_conn_close_now(c, -ENOBUFS);
		return -ENOBUFS;
	}
	t->stats.messages_out++;
	if (r->conn)
		r->conn = tp_conn_unref(r->conn);
	if (st == TP_CONN_STATE_OPEN) {
		tp_tcp_write(c, r);
		return 0;
	}
	r->next = NULL;
	*c->pending_tail = r;
	c->pending_tail = &r->next;
	c->out_bytes += r->len;
	return 0;
}

/*
 * On t's thread: send r on its connection if still usable, else on one to
 * its remote in t, else on a new one. r is taken on success.
 */
static int dispatch(struct tp_conn_table *t, struct tp_send_req *r)
{
	struct tp_conn *c = r->conn;
	int err;

	r->conn = NULL;
	if (c && !is_usable(c))
		c = tp_conn_unref(c);
	if (!c)
		c = table_find(t, r->tp, &r->remote);
	if (!c) {
		struct tp_tcp_connect_opts co = {
		    .tp = r->tp,
		    .remote = r->remote,
		    .listener = r->listener,
		};
		err = tp_tcp_connect(t, &co, &c);
		if (err)
			return err;
	}
	err = conn_send_req(c, r);
	tp_conn_unref(c);
	return err;
}

static void on_job(void *arg)
{
	struct tp_send_req *r = arg;
	int err = dispatch(r->table, r);

	if (err) {
		r->conn = tp_conn_unref(r->conn);
		tp_conn_req_done(r, err);
	}
}

static void on_done(void *arg)
{
	struct tp_send_req *r = arg;

	r->cb(r->err, r->arg);
	tp_conn_req_free(r);
}

int tp_conn_new(struct tp_conn_table *t, enum sip_transport tp, bool is_inbound,
		struct tp_conn **out)
{
	const struct tp_stream_opts *o = &t->stream->o;
	struct tp_frame_limits fl = {
	    .max_msg_bytes = o->limits.max_msg_bytes,
	    .max_header_bytes = o->limits.max_header_bytes,
	    .max_buffered_bytes = o->max_buffered_bytes,
	};
	struct tp_conn *c = sb_calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = uv_tcp_init(t->loop, &c->tcp);
	if (err) {
		sb_free(c);
		return err;
	}
	sb_live_inc(SB_LIVE_CONN);
	atomic_init(&c->refs, 1);
	atomic_init(&c->state, is_inbound ? TP_CONN_STATE_HANDSHAKING
					  : TP_CONN_STATE_CONNECTING);
	c->table = t;
	c->tp = tp;
	c->is_inbound = is_inbound;
	c->tcp.data = c;
	c->pending_tail = &c->pending;
	c->created_ms = c->active_ms = uv_now(t->loop);
	tp_frame_init(&c->frame, &fl);
	t->handles++;
	*out = c;
	return 0;
}

int tp_conn_admit(struct tp_conn *c, const struct sip_addr *remote)
{
	struct tp_conn_table *t = c->table;
	struct tp_stream *s = t->stream;
	unsigned n;
	int err;

	c->remote = *remote;
	n = atomic_fetch_add(&s->conns, 1);
	c->is_counted = true;
	if (s->o.max_conns && n >= s->o.max_conns)
		return -EMFILE;
	if (c->is_inbound && s->o.max_conns_per_ip) {
		err = ip_take(s, remote);
		if (err)
			return err;
		c->is_ip_counted = true;
	}
	table_link(t, c);
	return 0;
}

void tp_conn_close_now(struct tp_conn *c, int err)
{
	struct tp_conn_table *t = c->table;
	struct tp_stream *s = t->stream;

	if (state_of(c) == TP_CONN_STATE_CLOSED)
		return;
	if (c->is_linked)
		table_unlink(t, c);
	if (c->is_counted)
		atomic_fetch_sub(&s->conns, 1);
	if (c->is_ip_counted)
		ip_release(s, &c->remote);
	c->is_counted = c->is_ip_counted = false;
	c->close_err = err;
	set_state(c, TP_CONN_STATE_CLOSED);
	fail_pending(c, err ? err : -ECONNRESET);
	c->is_reading = false;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

void tp_conn_close_graceful(struct tp_conn *c, int err)
{
	enum tp_conn_state st = state_of(c);

	if (st >= TP_CONN_STATE_CLOSING)
		return;
	if (st != TP_CONN_STATE_OPEN) {
		tp_conn_close_now(c, err);
		return;
	}
	c->close_err = err;
	c->closing_ms = uv_now(c->table->loop);
	set_state(c, TP_CONN_STATE_CLOSING);
	if (c->tls) {
		tp_tls_shutdown(c->tls);
		tp_tcp_flush_tls(c);
	}
	if (!c->writes)
		tp_tcp_shutdown(c);
}

void tp_conn_close(struct tp_conn *c)
{
	tp_conn_close_graceful(c, -ECONNRESET);
}

bool tp_conn_handshake_slot(struct tp_conn *c)
{
	struct tp_conn_table *t = c->table;
	uint32_t cap = t->stream->o.handshakes_per_turn;

	if (!cap || t->hs_turn < cap) {
		t->hs_turn++;
		return true;
	}
	if (!c->is_deferred) {
		c->is_deferred = true;
		c->defer_next = NULL;
		*t->deferred_tail = tp_conn_ref(c);
		t->deferred_tail = &c->defer_next;
		t->stats.handshakes_deferred++;
		if (c->is_reading) {
			uv_read_stop((uv_stream_t *)&c->tcp);
			c->is_reading = false;
		}
		idle_update(t);
	}
	return false;
}

void tp_conn_opened(struct tp_conn *c)
{
	struct tp_send_req *r;

	set_state(c, TP_CONN_STATE_OPEN);
	c->active_ms = uv_now(c->table->loop);
	while ((r = c->pending) && state_of(c) == TP_CONN_STATE_OPEN) {
		c->pending = r->next;
		if (!c->pending)
			c->pending_tail = &c->pending;
		c->out_bytes -= r->len;
		tp_tcp_write(c, r);
	}
}

struct tp_send_req *tp_conn_req_new(struct tp_stream *s, size_t len)
{
	struct tp_send_req *r = sb_malloc(sizeof(*r) + len);

	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->req.data = r;
	r->stream = s;
	r->len = len;
	return r;
}

void tp_conn_req_free(struct tp_send_req *r)
{
	if (!r)
		return;
	tp_conn_unref(r->conn);
	sb_free(r);
}

void tp_conn_req_done(struct tp_send_req *r, int err)
{
	struct tp_stream *s = r->stream;
	struct worker *self;

	if (!r->cb) {
		tp_conn_req_free(r);
		return;
	}
	self = s->o.self();
	if (!r->caller || r->caller == self) {
		r->cb(err, r->arg);
		tp_conn_req_free(r);
		return;
	}
	r->err = err;
	r->conn = tp_conn_unref(r->conn);
	if (s->o.post(r->caller, on_done, r)) {
		log_error("send_done_lost", "err=%d", err);
		tp_conn_req_free(r);
	}
}

void tp_conn_req_fail_later(struct tp_conn_table *t, struct tp_send_req *r,
			    int err)
{
	r->err = err;
	r->next = NULL;
	*t->done_tail = r;
	t->done_tail = &r->next;
	idle_update(t);
}

const struct tp_stream_opts *tp_conn_opts(const struct tp_conn *c)
{
	return &c->table->stream->o;
}

struct slice tp_conn_server(const struct tp_conn *c)
{
	return c->table->stream->o.server;
}

int tp_stream_new(const struct tp_stream_opts *o, struct tp_stream **out)
{
	struct tp_stream *s, *none = NULL;
	uint32_t n = IP_BUCKETS_MIN;

	if (!o->on_message || (o->self == NULL) != (o->post == NULL))
		return -EINVAL;
	s = sb_calloc(1, sizeof(*s) + o->server.len + 1);
	if (!s)
		return -ENOMEM;
	s->o = *o;
	if (!s->o.self) {
		s->o.self = worker_self;
		s->o.post = worker_post;
	}
	if (s->o.max_buffered_bytes <= s->o.limits.max_msg_bytes)
		s->o.max_buffered_bytes = s->o.limits.max_msg_bytes + 1;
	if (o->server.len)
		memcpy(s->server, o->server.p, o->server.len);
	s->o.server = slice_make(s->server, o->server.len);
	while (n < IP_BUCKETS_MAX && n < o->max_conns / 4)
		n *= 2;
	s->ip_nbuckets = n;
	s->ip_buckets = sb_calloc(n, sizeof(*s->ip_buckets));
	if (!s->ip_buckets) {
		sb_free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->ip_lock, NULL);
	if (!atomic_compare_exchange_strong(&the_stream, &none, s)) {
		pthread_mutex_destroy(&s->ip_lock);
		sb_free(s->ip_buckets);
		sb_free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

struct tp_stream *tp_stream_free(struct tp_stream *s)
{
	struct tp_stream *me = s;

	if (!s)
		return NULL;
	atomic_compare_exchange_strong(&the_stream, &me, NULL);
	for (uint32_t i = 0; i < s->ip_nbuckets; i++) {
		struct ip_count *e, *next;
		for (e = s->ip_buckets[i]; e; e = next) {
			next = e->next;
			sb_free(e);
		}
	}
	pthread_mutex_destroy(&s->ip_lock);
	sb_free(s->ip_buckets);
	sb_free(s);
	return NULL;
}

uint32_t tp_stream_conns(const struct tp_stream *s)
{
	return atomic_load(&((struct tp_stream *)s)->conns);
}

int tp_conn_table_new(struct tp_stream *s, uv_loop_t *loop,
		      struct worker *worker, struct tp_conn_table **out)
{
	struct tp_conn_table *t = sb_calloc(1, sizeof(*t));
	unsigned i;

	if (!t)
		return -ENOMEM;
	t->buckets = sb_calloc(CONN_BUCKETS_INITIAL, sizeof(*t->buckets));
	if (!t->buckets) {
		sb_free(t);
		return -ENOMEM;
	}
	for (i = 0; i < TP_STREAM_TABLES_MAX; i++) {
		struct tp_conn_table *none = NULL;
		if (atomic_compare_exchange_strong(&s->tables[i], &none, t))
			break;
	}
	if (i == TP_STREAM_TABLES_MAX) {
		sb_free(t->buckets);
		sb_free(t);
		return -EINVAL;
	}
	t->slot = i;
	t->stream = s;
	t->opts = &s->o;
	t->loop = loop;
	t->worker = worker;
	t->nbuckets = CONN_BUCKETS_INITIAL;
	t->deferred_tail = &t->deferred;
	t->done_tail = &t->done;
	pthread_mutex_init(&t->lock, NULL);
	uv_timer_init(loop, &t->sweep);
	uv_prepare_init(loop, &t->prepare);
	uv_idle_init(loop, &t->idle);
	t->sweep.data = t->prepare.data = t->idle.data = t;
	t->handles = 3;
	t->sweep_ms = sweep_period(&s->o);
	uv_timer_start(&t->sweep, on_sweep, t->sweep_ms, t->sweep_ms);
	uv_unref((uv_handle_t *)&t->sweep);
	uv_prepare_start(&t->prepare, on_prepare);
	uv_unref((uv_handle_t *)&t->prepare);
	*out = t;
	return 0;
}

void tp_conn_table_stop(struct tp_conn_table *t)
{
	if (atomic_load(&t->is_stopping))
		return;
	atomic_store(&t->is_stopping, true);
	tp_tcp_srv_close_all(t);
	while (t->conns) {
		struct tp_conn *c = t->conns;
		if (c->tls && state_of(c) == TP_CONN_STATE_OPEN) {
			tp_tls_shutdown(c->tls);
			tp_tcp_flush_tls(c);
		}
		tp_conn_close_now(c, -ECANCELED);
	}
	while (t->deferred) {
		struct tp_conn *c = t->deferred;
		t->deferred = c->defer_next;
		c->is_deferred = false;
		tp_conn_unref(c);
	}
	t->deferred_tail = &t->deferred;
	on_idle(&t->idle);
	uv_close((uv_handle_t *)&t->sweep, on_table_handle_closed);
	uv_close((uv_handle_t *)&t->prepare, on_table_handle_closed);
	uv_close((uv_handle_t *)&t->idle, on_table_handle_closed);
}

bool tp_conn_table_is_closed(const struct tp_conn_table *t)
{
	return atomic_load(&t->is_stopping) && t->handles == 0;
}

struct tp_conn_table *tp_conn_table_free(struct tp_conn_table *t)
{
	struct tp_conn_table *me = t;

	if (!t)
		return NULL;
	atomic_compare_exchange_strong(&t->stream->tables[t->slot], &me, NULL);
	pthread_mutex_destroy(&t->lock);
	sb_free(t->buckets);
	sb_free(t);
	return NULL;
}

const struct tp_conn_stats *tp_conn_table_stats(const struct tp_conn_table *t)
{
	return &t->stats;
}

int tp_stream_send(const struct sip_flow *f, const char *data, size_t len,
		   tp_send_cb cb, void *arg)
{
	struct tp_stream *s = atomic_load(&the_stream);
	struct tp_conn_table *mine, *target;
	struct tp_send_req *r;
	struct tp_conn *c = NULL;
	int err;

	if (!s)
		return -ENOTCONN;
	if (f->tp != SIP_TP_TCP && f->tp != SIP_TP_TLS)
		return -EINVAL;
	if (len == 0 || len > s->o.max_buffered_bytes)
		return -EMSGSIZE;
	mine = table_mine(s);
	if (f->conn && is_usable(f->conn))
		c = tp_conn_ref(f->conn);
	else
		c = stream_find(s, mine, f->tp, &f->remote);
	target = c ? c->table : mine ? mine : table_first(s);
	if (!target || atomic_load(&target->is_stopping)) {
		tp_conn_unref(c);
		return -ENOTCONN;
	}
	r = tp_conn_req_new(s, len);
	if (!r) {
		tp_conn_unref(c);
		return -ENOMEM;
	}
	memcpy(r->data, data, len);
	r->conn = c;
	r->table = target;
	r->tp = f->tp;
	r->remote = f->remote;
	r->listener = f->listener;
	r->cb = cb;
	r->arg = arg;
	if (target == mine) {
		err = dispatch(target, r);
		if (err)
			tp_conn_req_free(r);
		return err;
	}
	r->caller = s->o.self();
	err = target->worker ? s->o.post(target->worker, on_job, r) : -EINVAL;
	if (err)
		tp_conn_req_free(r);
	return err;
}

enum tp_conn_state tp_conn_state(const struct tp_conn *c)
{
	return state_of(c);
}

enum sip_transport tp_conn_transport(const struct tp_conn *c)
{
	return c->tp;
}

const struct sip_addr *tp_conn_remote(const struct tp_conn *c)
{
	return &c->remote;
}

int tp_conn_stub_new(enum sip_transport tp, const struct sip_addr *remote,
		     struct tp_conn **out)
{
	struct tp_frame_limits none = {0};
	struct tp_conn *c = sb_calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	sb_live_inc(SB_LIVE_CONN);
	atomic_init(&c->refs, 1);
	atomic_init(&c->state, TP_CONN_STATE_CLOSED);
	c->tp = tp;
	c->remote = *remote;
	tp_frame_init(&c->frame, &none);
	*out = c;
	return 0;
}
