/* rtpgen: calls through rtpengine's ng control protocol (bencode over UDP). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtpgen.h"
#include "sipmsg.h"

/*
 * Each message is "<cookie> <bencoded dictionary>"; the reply carries the
 * same cookie, and rtpengine answers a repeated cookie from its cache, so
 * a lost request or reply is simply sent again. Per call: "offer" with A's
 * SDP gives the SDP B receives (rtpengine's address for B), "answer" with
 * B's SDP gives the SDP A receives, "delete" ends it. The cookie names the
 * run, the call and the step: <runid>_<index>_<step>.
 */
enum ng_step { NG_IDLE, NG_OFFER, NG_ANSWER, NG_UP, NG_DELETE, NG_DONE };

enum {
	RETX_MS = 500,
	RETX_MAX_MS = 2000,
	MSG_CAP = 2048,
	SDP_CAP = 512,
	RECV_CAP = 65536,
	RECV_PER_WAKEUP = 64,
	MAX_DEPTH = 16,
};

struct ng_call {
	enum ng_step step;
	char *req; /* the pending request, sent again until answered */
	size_t req_len;
	int64_t retx_ns;
	int retx_ms;
	int64_t deadline_ns;
	struct sockaddr_in b_peer; /* from the offer's reply */
};

struct rg_ng {
	struct rg_io io; /* first: epoll data */
	char runid[16];
	struct ng_call *calls;
	uint64_t retransmits, stray, errors;
};

/* ------------------------------------------------------------ bencode */

static void put_str(struct rg_out *o, const char *s, size_t len)
{
	rg_out_printf(o, "%zu:%.*s", len, (int)len, s);
}

static void put_pair(struct rg_out *o, const char *key, const char *val)
{
	put_str(o, key, strlen(key));
	put_str(o, val, strlen(val));
}

static int get_str(const char **p, const char *end, struct rg_str *out)
{
	size_t len = 0;

	if (*p >= end || **p < '0' || **p > '9')
		return -EBADMSG;
	while (*p < end && **p >= '0' && **p <= '9')
		len = len * 10 + (size_t)(*(*p)++ - '0');
	if (*p >= end || **p != ':' || (size_t)(end - *p - 1) < len)
		return -EBADMSG;
	out->p = *p + 1;
	out->len = len;
	*p += 1 + len;
	return 0;
}

/* Skips one value of any type: integer, string, list or dictionary. */
static int skip_value(const char **p, const char *end, int depth)
{
	struct rg_str s;

	if (*p >= end || depth > MAX_DEPTH)
		return -EBADMSG;
	switch (**p) {
	case 'i':
		*p = memchr(*p, 'e', (size_t)(end - *p));
		if (!*p)
			return -EBADMSG;
		(*p)++;
		return 0;
	case 'l':
	case 'd':
		(*p)++;
		while (*p < end && **p != 'e')
			if (skip_value(p, end, depth + 1))
				return -EBADMSG;
		if (*p >= end)
			return -EBADMSG;
		(*p)++;
		return 0;
	default:
		return get_str(p, end, &s);
	}
}

struct ng_reply {
	struct rg_str result, sdp, reason;
};

static int parse_reply(const char *p, const char *end, struct ng_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (p >= end || *p++ != 'd')
		return -EBADMSG;
	while (p < end && *p != 'e') {
		struct rg_str key, *want = NULL;

		if (get_str(&p, end, &key))
			return -EBADMSG;
		if (rg_str_is(key, "result"))
			want = &r->result;
		else if (rg_str_is(key, "sdp"))
			want = &r->sdp;
		else if (rg_str_is(key, "error-reason"))
			want = &r->reason;
		if (want && p < end && *p >= '0' && *p <= '9') {
			if (get_str(&p, end, want))
				return -EBADMSG;
		} else if (skip_value(&p, end, 1)) {
			return -EBADMSG;
		}
	}
	return r->result.len ? 0 : -EBADMSG;
}

/* ----------------------------------------------------------- requests */

static void send_req(struct rg *rg, struct ng_call *nc, const struct rg_out *o)
{
	free(nc->req);
	nc->req = malloc(o->len);
	nc->req_len = nc->req ? o->len : 0;
	if (nc->req)
		memcpy(nc->req, o->p, o->len);
	sendto(rg->ng->io.fd, o->p, o->len, 0,
	       (const struct sockaddr *)&rg->opt.server,
	       sizeof(rg->opt.server));
	nc->retx_ms = RETX_MS;
	nc->retx_ns = rg_now_ns() + RETX_MS * 1000000ll;
}

/* Starts a request for step: cookie, command, call-id and tags. */
static void begin_req(struct rg_out *o, const struct rg_ng *ng, uint32_t idx,
		      enum ng_step step, const char *command)
{
	char id[48];

	rg_out_printf(o, "%s_%u_%d d", ng->runid, idx, (int)step);
	put_pair(o, "command", command);
	snprintf(id, sizeof(id), "rg%s-%u", ng->runid, idx);
	put_pair(o, "call-id", id);
	snprintf(id, sizeof(id), "a%u-%s", idx, ng->runid);
	put_pair(o, "from-tag", id);
	if (step != NG_OFFER) {
		snprintf(id, sizeof(id), "b%u-%s", idx, ng->runid);
		put_pair(o, "to-tag", id);
	}
}

/* An offer or answer: the SDP of one side, origin and c= rewritten, no
 * ICE, the SDP's addresses trusted. */
static int send_sdp(struct rg *rg, struct rg_call *c, enum ng_step step)
{
	const char *command = step == NG_OFFER ? "offer" : "answer";
	enum rg_side side = step == NG_OFFER ? RG_SIDE_A : RG_SIDE_B;
	struct ng_call *nc = &rg->ng->calls[c->idx];
	char buf[MSG_CAP], sdp[SDP_CAP];
	struct rg_out o = {buf, sizeof(buf), 0, false};
	int n = rg_sdp_print(sdp, sizeof(sdp), &c->ep[side].local, c->idx);

	if (n < 0)
		return n;
	begin_req(&o, rg->ng, c->idx, step, command);
	put_str(&o, "sdp", 3);
	put_str(&o, sdp, (size_t)n);
	put_str(&o, "replace", 7);
	rg_out_printf(&o, "l");
	put_str(&o, "origin", 6);
	put_str(&o, "session-connection", 18);
	rg_out_printf(&o, "e");
	put_pair(&o, "ICE", "remove");
	put_str(&o, "flags", 5);
	rg_out_printf(&o, "l");
	put_str(&o, "trust-address", 13);
	rg_out_printf(&o, "ee");
	if (o.is_full)
		return -E2BIG;
	nc->step = step;
	send_req(rg, nc, &o);
	return 0;
}

void rg_ng_call_start(struct rg *rg, struct rg_call *c)
{
	struct ng_call *nc = &rg->ng->calls[c->idx];

	nc->deadline_ns = rg_now_ns() + RG_SETUP_TIMEOUT_MS * 1000000ll;
	if (send_sdp(rg, c, NG_OFFER))
		rg_call_fail(rg, c, "offer too large");
}

void rg_ng_call_stop(struct rg *rg, struct rg_call *c)
{
	struct ng_call *nc = &rg->ng->calls[c->idx];
	char buf[MSG_CAP];
	struct rg_out o = {buf, sizeof(buf), 0, false};

	begin_req(&o, rg->ng, c->idx, NG_DELETE, "delete");
	rg_out_printf(&o, "e");
	nc->step = NG_DELETE;
	nc->deadline_ns = rg_now_ns() + RG_TEARDOWN_TIMEOUT_MS * 1000000ll;
	send_req(rg, nc, &o);
}

/* ------------------------------------------------------------ replies */

static void on_reply(struct rg *rg, struct rg_call *c, struct ng_call *nc,
		     const struct ng_reply *r)
{
	bool is_ok = rg_str_is(r->result, "ok");
	struct sockaddr_in peer;
	char why[128];

	free(nc->req);
	nc->req = NULL;
	nc->retx_ns = 0;
	if (nc->step == NG_DELETE) {
		nc->step = NG_DONE;
		rg_call_down(rg, c, is_ok || !c->was_up);
		return;
	}
	if (!is_ok || rg_sdp_peer(r->sdp.p, r->sdp.len, &peer)) {
		rg->ng->errors++;
		snprintf(why, sizeof(why), "%s: %.*s",
			 nc->step == NG_OFFER ? "offer" : "answer",
			 (int)(r->reason.len ? r->reason.len : r->result.len),
			 r->reason.len ? r->reason.p : r->result.p);
		nc->step =
		    NG_UP; /* a session may exist: delete it at the end */
		rg_call_fail(rg, c, why);
		return;
	}
	if (nc->step == NG_OFFER) {
		nc->b_peer = peer;
		if (send_sdp(rg, c, NG_ANSWER))
			rg_call_fail(rg, c, "answer too large");
		return;
	}
	nc->step = NG_UP;
	rg_call_side_up(rg, c, RG_SIDE_A, &peer);
	rg_call_side_up(rg, c, RG_SIDE_B, &nc->b_peer);
	rg_call_up(rg, c);
}

/* The call and step a cookie names, or -ENOENT for another run's. */
static int parse_cookie(const struct rg *rg, struct rg_str cookie,
			uint32_t *idx, int *step)
{
	char buf[64], want[24];
	unsigned i;

	if (cookie.len >= sizeof(buf))
		return -ENOENT;
	memcpy(buf, cookie.p, cookie.len);
	buf[cookie.len] = '\0';
	snprintf(want, sizeof(want), "%s_", rg->ng->runid);
	if (strncmp(buf, want, strlen(want)) ||
	    sscanf(buf + strlen(want), "%u_%d", &i, step) != 2 ||
	    i >= rg->opt.calls)
		return -ENOENT;
	*idx = i;
	return 0;
}

void rg_ng_on_readable(struct rg *rg)
{
	static char buf[RECV_CAP];
	struct rg_ng *ng = rg->ng;
	int i;

	for (i = 0; i < RECV_PER_WAKEUP; i++) {
		ssize_t n = recv(ng->io.fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		const char *sp;
		struct ng_reply r;
		uint32_t idx;
		int step;

		if (n < 0)
			return;
		buf[n] = '\0';
		sp = memchr(buf, ' ', (size_t)n);
		if (!sp ||
		    parse_cookie(rg, (struct rg_str){buf, (size_t)(sp - buf)},
				 &idx, &step) ||
		    step != (int)ng->calls[idx].step ||
		    parse_reply(sp + 1, buf + n, &r)) {
			ng->stray++; /* late, repeated or not ours */
			continue;
		}
		on_reply(rg, &rg->calls[idx], &ng->calls[idx], &r);
	}
}

void rg_ng_tick(struct rg *rg, int64_t now)
{
	struct rg_ng *ng = rg->ng;
	uint32_t i;

	for (i = 0; i < rg->started; i++) {
		struct rg_call *c = &rg->calls[i];
		struct ng_call *nc = &ng->calls[i];

		if (!nc->retx_ns || c->state == RG_CALL_DONE)
			continue;
		if (now >= nc->deadline_ns) {
			nc->retx_ns = 0;
			if (nc->step == NG_DELETE) {
				nc->step = NG_DONE;
				rg_call_down(rg, c, false);
			} else {
				rg_call_fail(rg, c, "rtpengine did not answer");
			}
			continue;
		}
		if (now >= nc->retx_ns && nc->req) {
			ng->retransmits++;
			sendto(ng->io.fd, nc->req, nc->req_len, 0,
			       (const struct sockaddr *)&rg->opt.server,
			       sizeof(rg->opt.server));
			nc->retx_ms = nc->retx_ms * 2 > RETX_MAX_MS
					  ? RETX_MAX_MS
					  : nc->retx_ms * 2;
			nc->retx_ns = now + nc->retx_ms * 1000000ll;
		}
	}
}

/* ------------------------------------------------------------ set-up */

int rg_ng_open(struct rg *rg)
{
	struct rg_ng *ng = calloc(1, sizeof(*ng));
	struct epoll_event ev = {.events = EPOLLIN};
	struct sockaddr_in local = {.sin_family = AF_INET};
	int size = 4 << 20;

	if (!ng)
		return -ENOMEM;
	rg->ng = ng;
	ng->io.kind = RG_IO_NG;
	ng->io.fd = -1;
	ng->calls = calloc(rg->opt.calls, sizeof(*ng->calls));
	if (!ng->calls)
		return -ENOMEM;
	snprintf(ng->runid, sizeof(ng->runid), "%06x",
		 (unsigned)(getpid() ^ time(NULL)) & 0xffffff);
	ng->io.fd =
	    socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ng->io.fd < 0)
		return -errno;
	setsockopt(ng->io.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	local.sin_addr = rg->opt.ip;
	ev.data.ptr = &ng->io;
	if (bind(ng->io.fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    epoll_ctl(rg->epfd, EPOLL_CTL_ADD, ng->io.fd, &ev) < 0)
		return -errno;
	return 0;
}

void rg_ng_close(struct rg *rg)
{
	struct rg_ng *ng = rg->ng;
	uint32_t i;

	if (!ng)
		return;
	if (!rg->opt.is_quiet && (ng->retransmits || ng->stray || ng->errors))
		fprintf(stderr,
			"rtpgen: ng retransmissions %llu, stray replies %llu, "
			"errors %llu\n",
			(unsigned long long)ng->retransmits,
			(unsigned long long)ng->stray,
			(unsigned long long)ng->errors);
	for (i = 0; ng->calls && i < rg->opt.calls; i++)
		free(ng->calls[i].req);
	if (ng->io.fd >= 0)
		close(ng->io.fd);
	free(ng->calls);
	free(ng);
	rg->ng = NULL;
}
