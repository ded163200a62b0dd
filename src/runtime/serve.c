/* The minimal receive loop: one libuv loop, UDP in, local service, UDP out. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "runtime/serve.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "services/local/local.h"
#include "sip/msg/msg.h"

#define LOG_MODULE "serve"

enum {
	SERVE_DGRAM_MAX = 64 * 1024,   /* bytes libuv gives each datagram */
	SERVE_RECV_BATCH = 8,	       /* datagrams per recvmmsg(2) */
	SERVE_ARENA_FIRST = 16 * 1024, /* bytes of the arena's first block */
	SERVE_REPLY_MAX = 64 * 1024,   /* bytes of one reply */
	SERVE_RCVBUF_BYTES = 4 << 20,  /* SO_RCVBUF asked for; kernel caps */
	SERVE_ADDR_TEXT = 64,	       /* bytes of "[ipv6]:port" plus NUL */
	SERVE_DATA_DIR_MODE = 0750
};

struct serve;

/* One bound UDP socket; the handle lives in the listener array. */
struct listener {
	uv_udp_t udp;
	struct serve *srv;
	const struct config_listen *conf;
	char *rbuf;   /* SERVE_RECV_BATCH * SERVE_DGRAM_MAX bytes */
	bool is_open; /* udp was initialised and needs uv_close */
};

/* Counters of what the loop did, logged when it stops. */
struct serve_stats {
	uint64_t requests;   /* parsed requests handed to the service */
	uint64_t replies;    /* responses sent */
	uint64_t rejected;   /* requests answered with a parse error */
	uint64_t dropped;    /* datagrams dropped without an answer */
	uint64_t send_fails; /* replies the socket would not take */
};

struct serve {
	uv_loop_t loop;
	uv_signal_t sigint, sigterm;
	struct config *cfg; /* reference held for the loop's lifetime */
	const struct sb_limits *limits;
	struct local_ctx local;
	struct listener *ls;
	size_t ls_count;
	struct buf out; /* the reply being built */
	struct serve_stats stats;
	_Alignas(8) char arena_first[SERVE_ARENA_FIRST];
};

static const char *addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const void *)sa;
		uv_ip6_name(a6, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(a6->sin6_port));
	} else {
		const struct sockaddr_in *a4 = (const void *)sa;
		uv_ip4_name(a4, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(a4->sin_port));
	}
	return out;
}

/* CRLF keep-alives and padding: whitespace and NUL only. */
static bool is_keepalive(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' &&
		    p[i] != '\t' && p[i] != '\0')
			return false;
	return true;
}

static void send_reply(struct listener *l, const struct sockaddr *to)
{
	struct serve *srv = l->srv;
	uv_buf_t b = uv_buf_init(srv->out.p, (unsigned)srv->out.len);
	char at[SERVE_ADDR_TEXT];
	int rc = uv_udp_try_send(&l->udp, &b, 1, to);

	if (rc >= 0) {
		srv->stats.replies++;
		return;
	}
	srv->stats.send_fails++;
	log_debug("send_failed", "to=%s error=\"%s\"",
		  addr_text(to, at, sizeof(at)), uv_strerror(rc));
}

/*
 * Parse one datagram in its own arena and decide: a request goes to the
 * local service; a request that failed to parse is answered with the
 * parser's status when its headers were found (never an ACK); everything
 * else (responses, garbage) is dropped.
 */
static void on_datagram(struct listener *l, char *data, size_t len,
			const struct sockaddr *from)
{
	struct serve *srv = l->srv;
	struct sip_perr perr = {0, NULL};
	struct sip_msg m;
	struct arena a;
	char at[SERVE_ADDR_TEXT], v[96];
	int rc, status = 0;

	if (is_keepalive(data, len))
		return;
	memset(&m, 0, sizeof(m));
	arena_init(&a, srv->arena_first, sizeof(srv->arena_first),
		   srv->limits->max_arena_bytes);
	buf_reset(&srv->out);
	rc = sip_msg_parse(&m, &a, data, len, SIP_FRAMING_DATAGRAM, srv->limits,
			   &perr);
	if (slice_is_set(m.call_id))
		log_ctx_push("call_id", m.call_id);
	if (rc == 0 && m.is_request) {
		srv->stats.requests++;
		status = local_handle(&srv->local, &m, &srv->out);
		log_debug("request", "method=%s from=%s status=%d",
			  log_esc(m.method_name, v, sizeof(v)),
			  addr_text(from, at, sizeof(at)), status);
	} else if (rc == 0) {
		srv->stats.dropped++;
		log_debug("response_dropped", "status=%u from=%s", m.status,
			  addr_text(from, at, sizeof(at)));
	} else if (m.is_request && m.hdrs && perr.status != 0 &&
		   m.method != SIP_METHOD_ACK) {
		srv->stats.rejected++;
		status = local_reject(&srv->local, &m, &perr, &srv->out);
		log_debug("request_rejected", "from=%s status=%u reason=%s",
			  addr_text(from, at, sizeof(at)), perr.status,
			  log_esc(slice_cstr(perr.reason), v, sizeof(v)));
	} else {
		srv->stats.dropped++;
		log_debug("dropped",
			  "from=%s bytes=%zu error=\"%s\" dropped_total=%llu",
			  addr_text(from, at, sizeof(at)), len, sb_strerror(rc),
			  (unsigned long long)srv->stats.dropped);
	}
	if (slice_is_set(m.call_id))
		log_ctx_pop();
	if (status > 0 && srv->out.len > 0)
		send_reply(l, from);
	else if (status < 0)
		log_warn("reply_failed", "from=%s error=\"%s\"",
			 addr_text(from, at, sizeof(at)), sb_strerror(status));
	arena_close(&a);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct listener *l = h->data;

	*b = uv_buf_init(l->rbuf, SERVE_RECV_BATCH * SERVE_DGRAM_MAX);
}

/*
 * With UV_UDP_RECVMMSG, libuv splits our buffer into SERVE_DGRAM_MAX
 * chunks, calls back once per datagram (UV_UDP_MMSG_CHUNK), then once more
 * with UV_UDP_MMSG_FREE. The buffer is the listener's, so there is nothing
 * to free. nread 0 with an address is an empty datagram.
 */
static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *b,
		    const struct sockaddr *from, unsigned flags)
{
	struct listener *l = udp->data;

	if (nread < 0) {
		log_warn("recv_failed", "addr=%s error=\"%s\"",
			 l->conf->hostport, uv_strerror((int)nread));
		return;
	}
	if (nread == 0 || !from || (flags & UV_UDP_MMSG_FREE))
		return;
	if (flags & UV_UDP_PARTIAL) {
		l->srv->stats.dropped++;
		return;
	}
	on_datagram(l, b->base, (size_t)nread, from);
}

static void close_all(struct serve *srv)
{
	for (size_t i = 0; srv->ls && i < srv->ls_count; i++) {
		uv_handle_t *h = (uv_handle_t *)&srv->ls[i].udp;
		if (srv->ls[i].is_open && !uv_is_closing(h))
			uv_close(h, NULL);
	}
	if (!uv_is_closing((uv_handle_t *)&srv->sigint))
		uv_close((uv_handle_t *)&srv->sigint, NULL);
	if (!uv_is_closing((uv_handle_t *)&srv->sigterm))
		uv_close((uv_handle_t *)&srv->sigterm, NULL);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct serve *srv = sig->data;

	log_info("stopping", "signal=%s", signum == SIGINT ? "INT" : "TERM");
	close_all(srv);
}

static int listener_start(struct serve *srv, struct listener *l,
			  const struct config_listen *conf)
{
	int family = conf->addr.ss_family;
	unsigned bind_flags = family == AF_INET6 ? UV_UDP_IPV6ONLY : 0;
	int rcvbuf = SERVE_RCVBUF_BYTES;
	int rc;

	l->srv = srv;
	l->conf = conf;
	l->rbuf = sb_malloc(SERVE_RECV_BATCH * SERVE_DGRAM_MAX);
	if (!l->rbuf)
		return -ENOMEM;
	rc = uv_udp_init_ex(&srv->loop, &l->udp,
			    (unsigned)family | UV_UDP_RECVMMSG);
	if (rc != 0)
		return rc;
	l->is_open = true;
	l->udp.data = l;
	rc = uv_udp_bind(&l->udp, (const struct sockaddr *)&conf->addr,
			 bind_flags);
	if (rc == 0)
		rc = uv_udp_recv_start(&l->udp, on_alloc, on_recv);
	if (rc != 0) {
		log_error("bind_failed", "proto=udp addr=%s error=\"%s\"",
			  conf->hostport, uv_strerror(rc));
		return rc;
	}
	/* A deep socket queue absorbs bursts; failing to get one is not fatal.
	 */
	if (uv_recv_buffer_size((uv_handle_t *)&l->udp, &rcvbuf) != 0)
		log_debug("rcvbuf_failed", "addr=%s", conf->hostport);
	log_info("listening", "proto=udp addr=%s", conf->hostport);
	return 0;
}

/* mkdir -p: create each missing component of path. */
static int data_dir_make(const char *path)
{
	char p[4096];
	size_t len = strlen(path);
	struct stat st;

	if (len == 0 || len >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, SERVE_DATA_DIR_MODE) != 0 && errno != EEXIST)
			return -errno;
		p[i] = i < len ? '/' : '\0';
	}
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static void serve_free(struct serve *srv)
{
	if (srv->ls) {
		for (size_t i = 0; i < srv->ls_count; i++)
			sb_free(srv->ls[i].rbuf);
		sb_free(srv->ls);
	}
	buf_close(&srv->out);
	config_unref(srv->cfg);
	sb_free(srv);
}

static int serve_start(struct serve *srv)
{
	int rc;

	rc = uv_signal_start(&srv->sigint, on_signal, SIGINT);
	if (rc == 0)
		rc = uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
	for (size_t i = 0; rc == 0 && i < srv->ls_count; i++) {
		const struct config_listen *c = config_listen_at(srv->cfg, i);
		if (c->transport != CONFIG_TRANSPORT_UDP)
			continue; /* the loader refuses these for now */
		rc = listener_start(srv, &srv->ls[i], c);
	}
	return rc;
}

int serve_run(struct config *cfg)
{
	struct serve *srv;
	const char *dir = config_data_dir(cfg);
	char v[256];
	int rc;

	rc = data_dir_make(dir);
	if (rc != 0) {
		log_error("data_dir_failed", "path=%s error=\"%s\"",
			  log_esc(slice_cstr(dir), v, sizeof(v)),
			  sb_strerror(rc));
		return rc;
	}
	srv = sb_calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->cfg = config_ref(cfg);
	srv->limits = config_limits(cfg);
	srv->local = (struct local_ctx){config_user_agent(cfg), cfg};
	buf_init(&srv->out, SERVE_REPLY_MAX);
	rc = uv_loop_init(&srv->loop);
	if (rc != 0) {
		log_error("loop_failed", "error=\"%s\"", uv_strerror(rc));
		serve_free(srv);
		return rc;
	}
	srv->sigint.data = srv;
	srv->sigterm.data = srv;
	uv_signal_init(&srv->loop, &srv->sigint);
	uv_signal_init(&srv->loop, &srv->sigterm);
	srv->ls_count = config_listen_count(cfg);
	srv->ls = sb_calloc(srv->ls_count, sizeof(*srv->ls));
	rc = srv->ls ? serve_start(srv) : -ENOMEM;
	if (rc == 0)
		log_info("started", "listeners=%zu data_dir=%s", srv->ls_count,
			 log_esc(slice_cstr(dir), v, sizeof(v)));
	else
		close_all(srv);
	uv_run(&srv->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&srv->loop) != 0)
		log_warn("loop_busy", "detail=\"handles left open at exit\"");
	log_info("stopped",
		 "requests=%llu replies=%llu rejected=%llu dropped=%llu "
		 "send_failures=%llu",
		 (unsigned long long)srv->stats.requests,
		 (unsigned long long)srv->stats.replies,
		 (unsigned long long)srv->stats.rejected,
		 (unsigned long long)srv->stats.dropped,
		 (unsigned long long)srv->stats.send_fails);
	serve_free(srv);
	return rc;
}
