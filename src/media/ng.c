/* rtpengine's ng control protocol: requests, retransmission, failover. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "media/ng.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/rand.h"

#define LOG_MODULE "media"

enum {
	NG_TIMEOUT_MS = 500, /* defaults for a zero in ng_opts */
	NG_TRIES = 3,
	NG_DISABLE_S = 10,
	NG_DICT_MAX = 60000,	/* bytes of a request's dictionary */
	NG_COOKIE_MAX = 48,	/* "<run>_w<worker>_<n>" and its NUL */
	NG_NODES_MAX = 16384,	/* values in one reply */
	NG_ARENA_MAX = 2 << 20, /* bytes of nodes for one reply */
	NG_ARENA_FIRST = 4096,	/* of those on the stack */
	NG_NAME_MAX = 56,	/* "[v6 address]:port" for logs */
	NG_SOCK4 = 0,		/* index in ng_client.sock */
	NG_SOCK6 = 1,
};

struct ng_server {
	struct sockaddr_storage addr;
	unsigned sock;		/* NG_SOCK4 or NG_SOCK6 */
	bool is_down;		/* disabled, and no answer since */
	uint64_t down_until_ms; /* loop time; skipped by NG_ANY until then */
	char name[NG_NAME_MAX]; /* the address, for logs */
};

struct ng_req {
	struct ng_req *prev, *next; /* ng_client.head, in start order */
	struct ng_client *c;
	ng_cb cb;
	void *arg;
	int server;	    /* sent to now */
	bool is_any;	    /* NG_ANY: may move to another server */
	uint32_t tries;	    /* sends to server so far */
	uint32_t sent_mask; /* every server it was sent to: bit i */
	uint64_t due_ms;    /* loop time of the next try or giving up */
	size_t cookie_len;  /* bytes at the start of msg */
	size_t len;	    /* bytes in msg */
	char msg[];	    /* "<cookie> <dict>", sent as it is */
};

/*
 * The client owns its handles (a timer and one UDP socket per address
 * family) and every pending request. ng_client_free() frees the requests
 * at once and closes the handles; the struct itself is freed by the last
 * close callback (on_closed), since libuv may touch a handle until then.
 * A callback that frees the client is safe: is_closing tells the code
 * that called it to stop.
 */
struct ng_client {
	uv_loop_t *loop;
	struct ng_opts o; /* defaults filled in */
	uv_timer_t timer; /* the earliest due request */
	uv_udp_t sock[2]; /* NG_SOCK4, NG_SOCK6 */
	bool has_sock[2]; /* initialised */
	bool has_timer;	  /* initialised */
	unsigned handles; /* initialised and not yet closed */
	bool is_closing;  /* ng_client_free() ran */
	struct ng_server servers[NG_SERVERS_MAX];
	unsigned next_any;   /* round robin start for NG_ANY */
	char run[12];	     /* random cookie prefix of this client */
	uint64_t seq;	     /* cookies made */
	struct ng_req *head; /* pending requests */
	struct ng_req *tail;
	struct ng_stats st;
	char rbuf[NG_REPLY_MAX]; /* one received datagram */
};

static void on_closed(uv_handle_t *h)
{
	struct ng_client *c = h->data;

	if (--c->handles == 0)
		sb_free(c);
}

static void unlink_req(struct ng_client *c, struct ng_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		c->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		c->tail = r->prev;
	c->st.pending--;
}

static bool is_up(const struct ng_client *c, unsigned i, uint64_t now)
{
	const struct ng_server *s = &c->servers[i];

	return !s->is_down || now >= s->down_until_ms;
}

/* The first server from index from on (round robin) that is up and not
 * in skip_mask, or -1. */
static int pick(const struct ng_client *c, unsigned from, uint32_t skip_mask,
		uint64_t now)
{
	for (unsigned k = 0; k < c->o.nservers; k++) {
		unsigned i = (from + k) % c->o.nservers;

		if (!(skip_mask & (1u << i)) && is_up(c, i, now))
			return (int)i;
	}
	return -1;
}

static int server_of(const struct ng_client *c, const struct sockaddr *sa)
{
	for (unsigned i = 0; i < c->o.nservers; i++) {
		const struct sockaddr_storage *ss = &c->servers[i].addr;

		if (ss->ss_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)ss;
			const struct sockaddr_in *b = (const void *)sa;

			if (a->sin_port == b->sin_port &&
			    a->sin_addr.s_addr == b->sin_addr.s_addr)
				return (int)i;
		} else {
			const struct sockaddr_in6 *a = (const void *)ss;
			const struct sockaddr_in6 *b = (const void *)sa;

			if (a->sin6_port == b->sin6_port &&
			    memcmp(&a->sin6_addr, &b->sin6_addr,
				   sizeof(a->sin6_addr)) == 0)
				return (int)i;
		}
	}
	return -1;
}

/*
 * One try of r to its server. A send error is treated as a datagram lost
 * on the way: the request waits for its timeout like any other try, so
 * no callback ever comes from within ng_request().
 */
static void send_try(struct ng_client *c, struct ng_req *r, uint64_t now)
{
	struct ng_server *s = &c->servers[r->server];
	uv_buf_t b = uv_buf_init(r->msg, (unsigned)r->len);
	int rc = uv_udp_try_send(&c->sock[s->sock], &b, 1,
				 (const struct sockaddr *)&s->addr);

	if (rc < 0)
		log_debug("ng_send_failed", "addr=%s error=\"%s\"", s->name,
			  uv_strerror(rc));
	r->tries++;
	r->sent_mask |= 1u << r->server;
	r->due_ms = now + c->o.timeout_ms;
}

static void disable(struct ng_client *c, int i, uint64_t now)
{
	struct ng_server *s = &c->servers[i];

	s->down_until_ms = now + (uint64_t)c->o.disable_s * 1000u;
	if (s->is_down)
		return;
	s->is_down = true;
	log_warn("rtpengine_down", "addr=%s worker=%u disable_s=%u", s->name,
		 c->o.worker, c->o.disable_s);
}

static void mark_up(struct ng_client *c, int i)
{
	struct ng_server *s = &c->servers[i];

	if (!s->is_down)
		return;
	s->is_down = false;
	s->down_until_ms = 0;
	log_info("rtpengine_up", "addr=%s worker=%u", s->name, c->o.worker);
}

/*
 * r's try is due: send it again, or (tries used up) disable its server
 * and move an NG_ANY request to the next server that is up and has not
 * had it yet. Returns whether r is still pending; false means it timed
 * out for good. Every send after a request's first counts as a
 * retransmit, so datagrams sent = requests + retransmits.
 */
static bool retry(struct ng_client *c, struct ng_req *r, uint64_t now)
{
	int next;

	if (r->tries < c->o.tries) {
		c->st.retransmits++;
		send_try(c, r, now);
		return true;
	}
	disable(c, r->server, now);
	if (!r->is_any)
		return false;
	next = pick(c, (unsigned)r->server + 1, r->sent_mask, now);
	if (next < 0)
		return false;
	log_debug("rtpengine_failover", "from=%s to=%s",
		  c->servers[r->server].name, c->servers[next].name);
	c->st.failovers++;
	c->st.retransmits++;
	r->server = next;
	r->tries = 0;
	send_try(c, r, now);
	return true;
}

/* Forget r, then tell its owner: the callback may start, cancel or free
 * anything, r included is already gone. */
static void finish(struct ng_client *c, struct ng_req *r, int err, int server,
		   const struct ben *reply)
{
	ng_cb cb = r->cb;
	void *arg = r->arg;

	unlink_req(c, r);
	sb_free(r);
	cb(arg, err, server, reply);
}

static void on_timer(uv_timer_t *t);

/* Arm the timer for the earliest due request, or stop it. */
static void arm(struct ng_client *c, uint64_t now)
{
	uint64_t due = UINT64_MAX;

	for (const struct ng_req *r = c->head; r; r = r->next)
		if (r->due_ms < due)
			due = r->due_ms;
	if (due == UINT64_MAX)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0,
			       0);
}

/*
 * Every request whose try is due is sent again, moved, or given up. A
 * callback may change the list, so after one the scan starts over; the
 * requests already handled are not due any more (timeout_ms > 0).
 */
static void on_timer(uv_timer_t *t)
{
	struct ng_client *c = t->data;
	uint64_t now = uv_now(c->loop);
	struct ng_req *r = c->head;

	while (r && !c->is_closing) {
		if (r->due_ms > now || retry(c, r, now)) {
			r = r->next;
			continue;
		}
		c->st.timeouts++;
		finish(c, r, -ETIMEDOUT, r->server, NULL);
		r = c->head;
	}
	if (!c->is_closing)
		arm(c, now);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct ng_client *c = h->data;

	(void)suggested;
	*b = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static struct ng_req *find(struct ng_client *c, struct slice cookie)
{
	for (struct ng_req *r = c->head; r; r = r->next)
		if (r->cookie_len == cookie.len &&
		    memcmp(r->msg, cookie.p, cookie.len) == 0)
			return r;
	return NULL;
}

static void stray(struct ng_client *c, const char *why, struct slice cookie)
{
	char tmp[64];

	c->st.stray++;
	log_debug("ng_stray", "why=%s cookie=%s", why,
		  log_esc(cookie, tmp, sizeof(tmp)));
}

/*
 * A reply: "<cookie> <dictionary>". It must carry the cookie of a pending
 * request and come from the address of a server that request was sent
 * to (rtpengine answers from the socket it listens on); anything else is
 * stray. A late answer from the server an NG_ANY request moved away from
 * is taken, with that server's index: it has the call now. A reply that
 * does not parse (cut, too deep, too many values) or is no dictionary
 * ends its request with -EBADMSG: rtpengine answers a retransmission
 * from its cache, so asking again would get the same bytes.
 */
static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b,
		    const struct sockaddr *from, unsigned flags)
{
	struct ng_client *c = h->data;
	char first[NG_ARENA_FIRST];
	const struct ben *d = NULL;
	struct slice cookie = {0};
	const char *sp;
	struct ng_req *r;
	struct arena a;
	int i, err;

	if (nread < 0 || !from || c->is_closing)
		return;
	sp = memchr(b->base, ' ', (size_t)nread);
	if (sp)
		cookie = slice_make(b->base, (size_t)(sp - b->base));
	r = sp ? find(c, cookie) : NULL;
	if (!r) {
		stray(c, "cookie", cookie);
		return;
	}
	i = server_of(c, from);
	if (i < 0 || !(r->sent_mask & (1u << i))) {
		stray(c, "source", cookie);
		return;
	}
	mark_up(c, i);
	arena_init(&a, first, sizeof(first), NG_ARENA_MAX);
	err = -EBADMSG;
	if (!(flags & UV_UDP_PARTIAL) &&
	    ben_parse(slice_make(sp + 1, (size_t)nread - cookie.len - 1), &a,
		      NG_NODES_MAX, &d) == 0 &&
	    d->type == BEN_DICT) {
		struct slice res = ben_get_str(d, "result");

		err = slice_eq(res, SL("ok")) || slice_eq(res, SL("pong"))
			  ? 0
			  : -EPROTO;
	} else {
		d = NULL;
		log_warn("ng_bad_reply", "addr=%s len=%zd", c->servers[i].name,
			 nread);
	}
	if (err)
		c->st.errors++;
	finish(c, r, err, i, d);
	arena_close(&a);
}

static int open_sock(struct ng_client *c, unsigned k)
{
	int family = k == NG_SOCK4 ? AF_INET : AF_INET6;
	struct sockaddr_storage any = {0};
	unsigned flags = 0;
	int rc;

	rc = uv_udp_init_ex(c->loop, &c->sock[k], (unsigned)family);
	if (rc)
		return rc;
	c->has_sock[k] = true;
	c->handles++;
	c->sock[k].data = c;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&any;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&any;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		flags = UV_UDP_IPV6ONLY;
	}
	rc = uv_udp_bind(&c->sock[k], (const struct sockaddr *)&any, flags);
	if (rc)
		return rc;
	return uv_udp_recv_start(&c->sock[k], on_alloc, on_recv);
}

static void name_server(struct ng_server *s)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (s->addr.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&s->addr;

		uv_ip4_name(a, ip, sizeof(ip));
		snprintf(s->name, sizeof(s->name), "%s:%u", ip,
			 ntohs(a->sin_port));
	} else {
		const struct sockaddr_in6 *a = (const void *)&s->addr;

		uv_ip6_name(a, ip, sizeof(ip));
		snprintf(s->name, sizeof(s->name), "[%s]:%u", ip,
			 ntohs(a->sin6_port));
	}
}

int ng_client_new(uv_loop_t *loop, const struct ng_opts *o,
		  struct ng_client **out)
{
	struct ng_client *c;
	bool need[2] = {false, false};
	int rc;

	if (o->nservers == 0 || o->nservers > NG_SERVERS_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < o->nservers; i++) {
		int family = o->servers[i].ss_family;

		if (family != AF_INET && family != AF_INET6)
			return -EINVAL;
		need[family == AF_INET ? NG_SOCK4 : NG_SOCK6] = true;
	}
	c = sb_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->o = *o;
	if (!c->o.timeout_ms)
		c->o.timeout_ms = NG_TIMEOUT_MS;
	if (!c->o.tries)
		c->o.tries = NG_TRIES;
	if (!c->o.disable_s)
		c->o.disable_s = NG_DISABLE_S;
	/* A new run must not hit the answers rtpengine cached for the
	 * cookies of the last one. */
	snprintf(c->run, sizeof(c->run), "%08" PRIx32,
		 (uint32_t)(sb_rand64() >> 32));
	for (unsigned i = 0; i < o->nservers; i++) {
		struct ng_server *s = &c->servers[i];

		s->addr = o->servers[i];
		s->sock = s->addr.ss_family == AF_INET ? NG_SOCK4 : NG_SOCK6;
		name_server(s);
	}
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->has_timer = true;
	c->handles++;
	rc = 0;
	for (unsigned k = 0; k < 2 && rc == 0; k++)
		if (need[k])
			rc = open_sock(c, k);
	if (rc) {
		ng_client_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

struct ng_client *ng_client_free(struct ng_client *c)
{
	if (!c)
		return NULL;
	c->is_closing = true;
	while (c->head) {
		struct ng_req *r = c->head;

		unlink_req(c, r);
		sb_free(r);
	}
	if (c->handles == 0) {
		sb_free(c);
		return NULL;
	}
	if (c->has_timer)
		uv_close((uv_handle_t *)&c->timer, on_closed);
	for (unsigned k = 0; k < 2; k++)
		if (c->has_sock[k])
			uv_close((uv_handle_t *)&c->sock[k], on_closed);
	return NULL;
}

int ng_request(struct ng_client *c, int server, struct slice dict, ng_cb cb,
	       void *arg, struct ng_req **out)
{
	uint64_t now = uv_now(c->loop);
	bool is_any = server == NG_ANY;
	char cookie[NG_COOKIE_MAX];
	struct ng_req *r;
	int n;

	if (server != NG_ANY &&
	    (server < 0 || (unsigned)server >= c->o.nservers))
		return -EINVAL;
	if (!dict.p || dict.len == 0 || dict.len > NG_DICT_MAX || !cb)
		return -EINVAL;
	if (is_any) {
		server = pick(c, c->next_any, 0, now);
		if (server < 0)
			return -EHOSTUNREACH;
		c->next_any = ((unsigned)server + 1) % c->o.nservers;
	}
	n = snprintf(cookie, sizeof(cookie), "%s_w%u_%" PRIu64, c->run,
		     c->o.worker, c->seq + 1);
	r = sb_malloc(sizeof(*r) + (size_t)n + 1 + dict.len);
	if (!r)
		return -ENOMEM;
	c->seq++;
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->cb = cb;
	r->arg = arg;
	r->server = server;
	r->is_any = is_any;
	r->cookie_len = (size_t)n;
	r->len = (size_t)n + 1 + dict.len;
	memcpy(r->msg, cookie, (size_t)n);
	r->msg[n] = ' ';
	memcpy(r->msg + n + 1, dict.p, dict.len);
	r->prev = c->tail;
	if (c->tail)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->st.requests++;
	c->st.pending++;
	send_try(c, r, now);
	/* A new request is never due before the ones already waiting. */
	if (!uv_is_active((uv_handle_t *)&c->timer))
		uv_timer_start(&c->timer, on_timer, c->o.timeout_ms, 0);
	if (out)
		*out = r;
	return 0;
}

void ng_cancel(struct ng_req *r)
{
	if (!r)
		return;
	unlink_req(r->c, r);
	sb_free(r);
}

const struct ng_stats *ng_client_stats(const struct ng_client *c)
{
	return &c->st;
}

bool ng_server_up(const struct ng_client *c, unsigned i)
{
	return i < c->o.nservers && is_up(c, i, uv_now(c->loop));
}
