/* TCP and TLS over libuv: listen, accept, connect, read, frame, write. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "sip/msg/build.h"
#include "sip/msg/msg.h"
#include "sip/transport/listener.h"
#include "sip/transport/stream_int.h"

#define LOG_MODULE "tp.tcp"

enum {
	TCP_READ_MIN = 2048, /* free bytes asked of the input buffer */
	ADDR_TEXT = 64	     /* bytes of an IP address as text */
};

/* A listening socket; the table closes it when it stops. */
struct tp_tcp_srv {
	uv_tcp_t tcp; /* data = this */
	struct tp_conn_table *table;
	struct tp_tcp_srv *next;
	enum sip_transport tp;
	struct tp_listener *listener;
};

static void on_srv_closed(uv_handle_t *h)
{
	struct tp_tcp_srv *srv = h->data;

	srv->table->handles--;
	sb_free(srv);
}

static const char *ip_text(const struct sip_addr *a, char *buf, size_t cap)
{
	return sip_addr_ip(a, buf, cap);
}

static void on_write(uv_write_t *req, int status)
{
	struct tp_send_req *r = req->data;
	struct tp_conn *c = req->handle->data;
	int err = status;

	c->writes--;
	c->out_bytes -= r->len;
	if (status == 0) {
		c->active_ms = uv_now(c->table->loop);
	} else {
		if (status == UV_ECANCELED)
			err = c->close_err ? c->close_err : -ECONNRESET;
		tp_conn_close_now(c, err);
	}
	tp_conn_req_done(r, err);
	if (tp_conn_state(c) == TP_CONN_STATE_CLOSING && !c->writes)
		tp_tcp_shutdown(c);
}

/* Put r's bytes on the socket. r is taken. */
static void write_req(struct tp_conn *c, struct tp_send_req *r)
{
	uv_buf_t b = uv_buf_init(r->data, (unsigned)r->len);
	int err;

	c->writes++;
	c->out_bytes += r->len;
	err = uv_write(&r->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (err) {
		c->writes--;
		c->out_bytes -= r->len;
		tp_conn_req_fail_later(c->table, r, err);
		tp_conn_close_now(c, err);
	}
}

/* The engine's waiting ciphertext as one request carrying cb (may be
 * NULL). Returns the request, or NULL when there is nothing or no memory
 * (then *err is set). */
static struct tp_send_req *take_tls(struct tp_conn *c, int *err)
{
	size_t n = tp_tls_out_pending(c->tls);
	struct tp_send_req *r;

	*err = 0;
	if (!n)
		return NULL;
	r = tp_conn_req_new(c->table->stream, n);
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->len = tp_tls_out_take(c->tls, r->data, n);
	return r;
}

void tp_tcp_flush_tls(struct tp_conn *c)
{
	struct tp_send_req *r;
	int err;

	if (tp_conn_state(c) == TP_CONN_STATE_CLOSED)
		return;
	r = take_tls(c, &err);
	if (r)
		write_req(c, r);
	else if (err)
		tp_conn_close_now(c, err);
}

void tp_tcp_write(struct tp_conn *c, struct tp_send_req *r)
{
	struct tp_send_req *cr;
	int err;

	if (!c->tls) {
		write_req(c, r);
		return;
	}
	err = tp_tls_write(c->tls, r->data, r->len);
	cr = err ? NULL : take_tls(c, &err);
	if (!cr) {
		/* Nothing to send for a non-empty write: the session broke. */
		tp_conn_req_fail_later(c->table, r, err ? err : -EPROTO);
		tp_conn_close_now(c, err ? err : -EPROTO);
		return;
	}
	cr->cb = r->cb;
	cr->arg = r->arg;
	cr->caller = r->caller;
	tp_conn_req_free(r);
	write_req(c, cr);
}

void tp_tcp_write_raw(struct tp_conn *c, const char *data, size_t len)
{
	struct tp_send_req *r = tp_conn_req_new(c->table->stream, len);

	if (!r) {
		tp_conn_close_now(c, -ENOMEM);
		return;
	}
	memcpy(r->data, data, len);
	tp_tcp_write(c, r);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct tp_conn *c = req->handle->data;

	/* Wait for the peer's EOF (or the closing linger) to close. */
	if (status < 0 && tp_conn_state(c) != TP_CONN_STATE_CLOSED)
		tp_conn_close_now(c, c->close_err);
}

void tp_tcp_shutdown(struct tp_conn *c)
{
	int err;

	if (c->is_shut || tp_conn_state(c) == TP_CONN_STATE_CLOSED)
		return;
	c->is_shut = true;
	err =
	    uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown);
	if (err)
		tp_conn_close_now(c, c->close_err);
}

/* Answer a request the framer refused (400/413), when its headers are
 * whole and it is a request that may be answered. */
static void answer_error(struct tp_conn *c, const struct tp_frame_out *fo)
{
	const struct sb_limits *lim = &tp_conn_opts(c)->limits;
	_Alignas(8) char first[STREAM_ARENA_FIRST];
	struct sip_reply_opts ro = {
	    .status = fo->status,
	    .reason = slice_cstr(fo->reason),
	    .to_tag = SL("sbframe"),
	    .server = tp_conn_server(c),
	};
	struct sip_perr perr;
	struct sip_msg m;
	struct arena a;
	struct buf out;

	if (!fo->len)
		return;
	if (!ro.server.len)
		ro.server = slice_make(NULL, 0);
	memset(&m, 0, sizeof(m));
	arena_init(&a, first, sizeof(first), lim->max_arena_bytes);
	/* Datagram rules: the body is not here, only the headers matter. */
	sip_msg_parse(&m, &a, fo->p, fo->len, SIP_FRAMING_DATAGRAM, lim, &perr);
	/* RFC 3261 17.2.1: never answer an ACK; no Via, nowhere to answer */
	if (m.is_request && m.hdrs && m.method != SIP_METHOD_ACK &&
	    sip_msg_hdr(&m, SIP_HDR_VIA)) {
		buf_init(&out, SB_MSG_BYTES_CEILING);
		if (sip_reply_build(&out, &m, &ro) == 0)
			tp_tcp_write_raw(c, out.p, out.len);
		buf_close(&out);
	}
	arena_close(&a);
}

/*
 * The slow-loris clock runs from the first byte of a message (or of a TLS
 * record) that is not complete yet, and restarts when one completes.
 */
static void partial_update(struct tp_conn *c, bool has_completed)
{
	bool is_partial = tp_frame_is_partial(&c->frame) ||
			  (c->tls && tp_tls_is_partial(c->tls));

	if (!is_partial)
		c->partial_ms = 0;
	else if (!c->partial_ms || has_completed)
		c->partial_ms = uv_now(c->table->loop);
}

static void hand_over(struct tp_conn *c, const char *p, size_t len)
{
	const struct tp_stream_opts *o = tp_conn_opts(c);
	struct sip_inmsg *im = sip_inmsg_new(len);

	if (!im) {
		log_error("inmsg_alloc", "len=%zu", len);
		return;
	}
	memcpy(im->data, p, len);
	im->flow.tp = c->tp;
	im->flow.remote = c->remote;
	im->flow.listener = c->listener;
	im->flow.conn = tp_conn_ref(c);
	im->recv_ms = uv_now(c->table->loop);
	c->table->stats.messages_in++;
	o->on_message(o->arg, im);
}

/* Cut what the input buffer holds into messages and keep-alives. */
static void deliver(struct tp_conn *c)
{
	struct tp_conn_table *t = c->table;
	struct tp_frame_out fo;
	bool has_completed = false;
	char ip[ADDR_TEXT];

	while (tp_conn_state(c) == TP_CONN_STATE_OPEN) {
		switch (tp_frame_next(&c->frame, &fo)) {
		case TP_FRAME_MORE:
			goto out;
		case TP_FRAME_MESSAGE:
			has_completed = true;
			hand_over(c, fo.p, fo.len);
			break;
		case TP_FRAME_PING:
			/* RFC 5626 3.5.1: a CRLFCRLF ping gets a CRLF pong */
			t->stats.pings++;
			tp_tcp_write_raw(c, "\r\n", 2);
			break;
		case TP_FRAME_PONG:
			break;
		case TP_FRAME_ERROR:
			t->stats.framing_errors++;
			log_info("framing_error",
				 "remote=%s port=%u status=%u reason=\"%s\"",
				 ip_text(&c->remote, ip, sizeof(ip)),
				 sip_addr_port(&c->remote), fo.status,
				 fo.reason);
			answer_error(c, &fo);
			tp_conn_close_graceful(c, -EBADMSG);
			return;
		}
	}
out:
	partial_update(c, has_completed);
}

/* Run TLS over what was fed: handshake steps, then plaintext to frame. */
static void drive_tls(struct tp_conn *c)
{
	struct tp_conn_table *t = c->table;
	char ip[ADDR_TEXT];

	for (;;) {
		enum tp_conn_state st = tp_conn_state(c);
		bool was_up = tp_tls_is_established(c->tls);
		ssize_t n;
		size_t cap;
		char *p;
		int err;

		if (st != TP_CONN_STATE_OPEN && st != TP_CONN_STATE_HANDSHAKING)
			return;
		if (!was_up && !tp_conn_handshake_slot(c))
			return;
		err = tp_frame_space(&c->frame, TCP_READ_MIN, &p, &cap);
		if (err) {
			t->stats.closed_buffer++;
			tp_conn_close_now(c, err);
			return;
		}
		n = tp_tls_read(c->tls, p, cap);
		tp_tcp_flush_tls(c);
		if (!was_up && tp_tls_is_established(c->tls)) {
			t->stats.handshakes++;
			tp_conn_opened(c);
		}
		if (n > 0) {
			tp_frame_commit(&c->frame, (size_t)n);
			deliver(c);
			continue;
		}
		if (n == 0) {
			if (!was_up && tp_tls_is_established(c->tls))
				continue; /* application data may follow */
			if (tp_conn_state(c) == TP_CONN_STATE_OPEN)
				partial_update(c, false);
			return;
		}
		if (!tp_tls_is_established(c->tls)) {
			t->stats.handshake_failed++;
			log_info("tls_handshake_failed",
				 "remote=%s port=%u err=\"%s\"",
				 ip_text(&c->remote, ip, sizeof(ip)),
				 sip_addr_port(&c->remote),
				 tp_tls_error(c->tls));
		}
		tp_conn_close_now(c, n == -ESHUTDOWN ? -ECONNRESET : (int)n);
		return;
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct tp_conn *c = h->data;
	size_t n;
	char *p;

	if (c->tls || tp_conn_state(c) != TP_CONN_STATE_OPEN) {
		*b = uv_buf_init(c->table->scratch, sizeof(c->table->scratch));
		return;
	}
	if (tp_frame_space(&c->frame, TCP_READ_MIN, &p, &n)) {
		*b = uv_buf_init(NULL, 0); /* on_read gets UV_ENOBUFS */
		return;
	}
	*b = uv_buf_init(p, (unsigned)(n > UINT32_MAX ? UINT32_MAX : n));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct tp_conn *c = s->data;
	struct tp_conn_table *t = c->table;
	enum tp_conn_state st = tp_conn_state(c);
	char ip[ADDR_TEXT];
	int err;

	if (nread == 0 || st == TP_CONN_STATE_CLOSED)
		return;
	if (nread < 0) {
		if (nread == UV_ENOBUFS) {
			t->stats.closed_buffer++;
			log_info("conn_close", "remote=%s port=%u why=%s",
				 ip_text(&c->remote, ip, sizeof(ip)),
				 sip_addr_port(&c->remote), "input_buffer");
			tp_conn_close_now(c, -ENOBUFS);
		} else if (st == TP_CONN_STATE_CLOSING) {
			tp_conn_close_now(c, c->close_err);
		} else {
			tp_conn_close_now(c, nread == UV_EOF ? -ECONNRESET
							     : (int)nread);
		}
		return;
	}
	c->active_ms = uv_now(t->loop);
	if (st == TP_CONN_STATE_CLOSING)
		return; /* lingering: discard until EOF */
	if (!c->tls) {
		tp_frame_commit(&c->frame, (size_t)nread);
		deliver(c);
		return;
	}
	err = tp_tls_feed(c->tls, b->base, (size_t)nread);
	if (err) {
		tp_conn_close_now(c, err);
		return;
	}
	drive_tls(c);
}

static void read_start(struct tp_conn *c)
{
	if (c->is_reading || c->is_deferred ||
	    tp_conn_state(c) >= TP_CONN_STATE_CLOSED)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
		c->is_reading = true;
	else
		tp_conn_close_now(c, -EIO);
}

void tp_tcp_resume(struct tp_conn *c)
{
	drive_tls(c);
	read_start(c);
}

void tp_tcp_start(struct tp_conn *c)
{
	const struct tp_stream_opts *o = tp_conn_opts(c);
	char ip[ADDR_TEXT];
	const char *name;
	int err;

	uv_tcp_nodelay(&c->tcp, 1);
	if (c->tp != SIP_TP_TLS) {
		tp_conn_opened(c);
		read_start(c);
		return;
	}
	name = c->server_name ? c->server_name
			      : ip_text(&c->remote, ip, sizeof(ip));
	err = tp_tls_new(o->tls, c->is_inbound ? TP_TLS_SERVER : TP_TLS_CLIENT,
			 c->is_inbound ? NULL : name, &c->tls);
	if (err) {
		tp_conn_close_now(c, err);
		return;
	}
	atomic_store(&c->state, TP_CONN_STATE_HANDSHAKING);
	read_start(c);
	if (!c->is_inbound)
		drive_tls(c); /* the ClientHello */
}

static void on_connection(uv_stream_t *server, int status)
{
	struct tp_tcp_srv *srv = server->data;
	struct tp_conn_table *t = srv->table;
	struct sip_addr remote;
	struct tp_conn *c;
	char ip[ADDR_TEXT];
	int len = sizeof(remote.in6), err;

	if (status < 0) {
		log_warn("accept", "err=%d", status);
		return;
	}
	err = tp_conn_new(t, srv->tp, true, &c);
	if (err) {
		log_error("accept", "err=%d", err);
		return;
	}
	c->listener = srv->listener;
	err = uv_accept(server, (uv_stream_t *)&c->tcp);
	if (!err) {
		memset(&remote, 0, sizeof(remote));
		err = uv_tcp_getpeername(&c->tcp, &remote.sa, &len);
		remote.len = (socklen_t)len;
	}
	if (!err)
		err = tp_conn_admit(c, &remote);
	if (err) {
		if (err == -EMFILE)
			t->stats.refused_total++;
		else if (err == -EMLINK)
			t->stats.refused_per_ip++;
		log_debug("refused", "remote=%s port=%u err=%d",
			  ip_text(&remote, ip, sizeof(ip)),
			  sip_addr_port(&remote), err);
		tp_conn_close_now(c, err);
		return;
	}
	t->stats.accepted++;
	tp_tcp_start(c);
}

int tp_tcp_socket_bind(const struct sip_addr *a, int *out)
{
	socklen_t len = a->len			      ? a->len
			: a->sa.sa_family == AF_INET6 ? sizeof(a->in6)
						      : sizeof(a->in);
	int one = 1;
	int fd = socket(a->sa.sa_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    (a->sa.sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, &a->sa, len)) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

/* A socket bound with SO_REUSEPORT, so every worker can listen. */
static int bind_reuseport(struct tp_tcp_srv *srv, const struct sip_addr *a)
{
	int fd, err = tp_tcp_socket_bind(a, &fd);

	if (err)
		return err;
	err = uv_tcp_open(&srv->tcp, fd);
	if (err)
		close(fd);
	return err;
}

int tp_tcp_listen(struct tp_conn_table *t, const struct tp_tcp_listen_opts *o,
		  struct sip_addr *bound)
{
	const struct tp_stream_opts *so = t->opts;
	struct tp_tcp_srv *srv;
	int err, len = sizeof(struct sockaddr_in6);

	if (o->tp != SIP_TP_TCP && o->tp != SIP_TP_TLS)
		return -EINVAL;
	if (o->tp == SIP_TP_TLS && !tp_tls_ctx_can_serve(so->tls))
		return -EINVAL;
	if (o->addr.sa.sa_family != AF_INET && o->addr.sa.sa_family != AF_INET6)
		return -EINVAL;
	if (t->is_stopping)
		return -EINVAL;
	srv = sb_calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->table = t;
	srv->tp = o->tp;
	srv->listener = o->listener;
	err = uv_tcp_init(t->loop, &srv->tcp);
	if (err) {
		sb_free(srv);
		return err;
	}
	srv->tcp.data = srv;
	t->handles++;
	if (o->is_reuseport)
		err = bind_reuseport(srv, &o->addr);
	else
		err = uv_tcp_bind(
		    &srv->tcp, &o->addr.sa,
		    o->addr.sa.sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (!err)
		err = uv_listen((uv_stream_t *)&srv->tcp,
				o->backlog > 0 ? o->backlog : STREAM_BACKLOG,
				on_connection);
	if (!err && bound) {
		memset(bound, 0, sizeof(*bound));
		err = uv_tcp_getsockname(&srv->tcp, &bound->sa, &len);
		bound->len = (socklen_t)len;
	}
	if (err) {
		uv_close((uv_handle_t *)&srv->tcp, on_srv_closed);
		return err;
	}
	srv->next = t->servers;
	t->servers = srv;
	return 0;
}

void tp_tcp_srv_close_all(struct tp_conn_table *t)
{
	struct tp_tcp_srv *srv;

	while ((srv = t->servers)) {
		t->servers = srv->next;
		uv_close((uv_handle_t *)&srv->tcp, on_srv_closed);
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct tp_conn *c = req->handle->data;
	struct tp_conn_table *t = c->table;
	char ip[ADDR_TEXT];

	if (tp_conn_state(c) == TP_CONN_STATE_CLOSED)
		return;
	if (status < 0) {
		t->stats.connect_failed++;
		log_info("connect_failed", "remote=%s port=%u err=%d",
			 ip_text(&c->remote, ip, sizeof(ip)),
			 sip_addr_port(&c->remote), status);
		tp_conn_close_now(c, status);
		return;
	}
	t->stats.connected++;
	tp_tcp_start(c);
}

int tp_tcp_connect(struct tp_conn_table *t, const struct tp_tcp_connect_opts *o,
		   struct tp_conn **out)
{
	const struct tp_stream_opts *so = t->opts;
	struct tp_conn *c;
	int err;

	if ((o->tp != SIP_TP_TCP && o->tp != SIP_TP_TLS) ||
	    (o->tp == SIP_TP_TLS && !so->tls) ||
	    (o->remote.sa.sa_family != AF_INET &&
	     o->remote.sa.sa_family != AF_INET6))
		return -EINVAL;
	if (t->is_stopping)
		return -ENOTCONN;
	err = tp_conn_new(t, o->tp, false, &c);
	if (err)
		return err;
	c->listener = o->listener;
	if (o->server_name) {
		c->server_name =
		    sb_strndup(o->server_name, strlen(o->server_name));
		if (!c->server_name)
			err = -ENOMEM;
	}
	if (!err)
		err = tp_conn_admit(c, &o->remote);
	if (!err)
		err = uv_tcp_connect(&c->connect_req, &c->tcp, &o->remote.sa,
				     on_connect);
	if (err) {
		t->stats.connect_failed++;
		tp_conn_close_now(c, err);
		return err;
	}
	*out = tp_conn_ref(c);
	return 0;
}
