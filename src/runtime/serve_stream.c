/* The runtime's TCP and TLS: TLS context, listeners, tables, hand-off. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "runtime/serve_int.h"
#include "sip/transport/handoff.h"
#include "sip/transport/udp.h"

#define LOG_MODULE "serve"

static enum sip_transport transport_of(enum config_transport t)
{
	return t == CONFIG_TRANSPORT_TLS ? SIP_TP_TLS : SIP_TP_TCP;
}

static const char *proto_name(const struct tp_listener *l)
{
	return tp_listener_transport(l) == SIP_TP_TLS ? "tls" : "tcp";
}

/*
 * A complete message from a connection, on the connection's worker: find
 * its Call-ID's owner and hand it over as UDP does (handoff.h). A full
 * queue answers 503 on the same connection.
 */
static void on_stream_message(void *arg, struct sip_inmsg *im)
{
	struct serve *srv = arg;
	struct worker *self = worker_self();
	struct wctx *wc = self ? worker_data(self) : NULL;
	struct tp_handoff h;

	if (!wc) {
		sip_inmsg_free(im);
		return;
	}
	im->hash = tp_udp_callid_hash(im->data, im->len);
	tp_handoff_begin(&h, srv->workers, srv->nworkers, self);
	switch (tp_handoff_add(&h, im)) {
	case TP_HANDOFF_MINE:
		break;
	case TP_HANDOFF_QUEUED:
		wc->stats.stream_handed_off++;
		break;
	case TP_HANDOFF_FULL:
		wc->stats.stream_overflows++;
		if (tp_handoff_reject(im, config_limits(wc->cfg),
				      config_user_agent(wc->cfg),
				      &wc->out) == 0)
			tp_send(&im->flow, wc->out.p, wc->out.len, NULL, NULL);
		sip_inmsg_free(im);
		break;
	}
	tp_handoff_end(&h);
}

static int tls_open(struct serve *srv)
{
	const struct config_tls *ct = config_tls(srv->cfg);
	struct tp_tls_ctx_opts o = {
	    .cert_file = ct->certificate,
	    .key_file = ct->private_key,
	    .ca_file = ct->ca_file,
	    .is_client_cert_required = ct->is_client_cert_required,
	    .is_server_verified = ct->is_server_verified,
	};
	struct tp_tls_err err = {{0}};
	char v[TP_TLS_ERR_LEN + 8], path[256];
	int rc;

	if (!config_has_transport(srv->cfg, CONFIG_TRANSPORT_TLS))
		return 0;
	rc = tp_tls_ctx_new(&o, &srv->tls, &err);
	if (rc != 0) {
		log_error(
		    "tls_failed", "certificate=%s error=%s",
		    log_esc(slice_cstr(ct->certificate ? ct->certificate : ""),
			    path, sizeof(path)),
		    log_esc(slice_cstr(err.msg[0] ? err.msg : sb_strerror(rc)),
			    v, sizeof(v)));
		return rc;
	}
	if (ct->is_dev_cert)
		log_warn(
		    "tls_dev_certificate",
		    "certificate=%s detail=\"self-signed, for development "
		    "only: set tls.certificate and tls.private_key\"",
		    log_esc(slice_cstr(ct->certificate), path, sizeof(path)));
	return 0;
}

int serve_stream_open(struct serve *srv)
{
	const struct config_tcp *tcp = config_tcp(srv->cfg);
	struct tp_stream_opts o = tp_stream_opts_default();
	int rc = tls_open(srv);

	if (rc != 0)
		return rc;
	o.max_conns = tcp->max_connections;
	o.max_conns_per_ip = tcp->max_connections_per_ip;
	o.idle_timeout_ms = tcp->idle_timeout_ms;
	o.partial_timeout_ms = tcp->partial_message_timeout_ms;
	o.handshake_timeout_ms = tcp->handshake_timeout_ms;
	o.max_buffered_bytes = tcp->max_buffered_bytes;
	o.handshakes_per_turn = config_tls(srv->cfg)->handshakes_per_turn;
	o.limits = *config_limits(srv->cfg);
	o.tls = srv->tls;
	o.server = config_user_agent(srv->cfg);
	o.on_message = on_stream_message;
	o.arg = srv;
	rc = uv_sem_init(&srv->stream_ready, 0);
	if (rc == 0) {
		srv->has_stream_ready = true;
		rc = tp_stream_new(&o, &srv->stream);
	}
	if (rc != 0)
		log_error("stream_failed", "error=\"%s\"", sb_strerror(rc));
	return rc;
}

int serve_stream_listener_new(struct serve *srv, const struct config_listen *c,
			      struct tp_listener **out)
{
	struct tp_stream_listener_opts o = {
	    .tp = transport_of(c->transport),
	    .advertise = c->advertise,
	    .advertise_port = c->advertise_port,
	};
	int rc;

	memcpy(&o.bind.sa, &c->addr, c->addr_len);
	o.bind.len = c->addr_len;
	rc = tp_stream_listener_new(&o, out);
	if (rc != 0)
		log_error("bind_failed", "proto=%s addr=%s error=\"%s\"",
			  config_transport_name(c->transport), c->hostport,
			  sb_strerror(rc));
	return rc;
}

/*
 * Every worker listens on every stream address with SO_REUSEPORT, so the
 * kernel spreads new connections over the workers; each message then goes
 * to its Call-ID's owner. The main thread waits for this to finish.
 */
void serve_stream_on_start(struct wctx *wc, struct worker *w)
{
	struct serve *srv = wc->srv;
	int rc = tp_conn_table_new(srv->stream, worker_loop(w), w, &wc->table);

	for (size_t i = 0; rc == 0 && i < srv->nls; i++) {
		struct tp_listener *l = srv->ls[i];
		struct tp_tcp_listen_opts o = {
		    .tp = tp_listener_transport(l),
		    .addr = *tp_listener_addr(l),
		    .listener = l,
		    .is_reuseport = true,
		};

		if (o.tp == SIP_TP_UDP)
			continue;
		rc = tp_tcp_listen(wc->table, &o, NULL);
		if (rc != 0)
			wc->stream_err_at = l;
	}
	wc->stream_err = rc;
	uv_sem_post(&srv->stream_ready);
}

int serve_stream_wait(struct serve *srv, unsigned started)
{
	int err = 0;

	for (unsigned i = 0; i < started; i++)
		uv_sem_wait(&srv->stream_ready);
	for (unsigned i = 0; i < started; i++) {
		struct wctx *wc = &srv->wctx[i];

		if (wc->stream_err == 0)
			continue;
		if (wc->stream_err_at)
			log_error("bind_failed",
				  "proto=%s addr=%s worker=%u error=\"%s\"",
				  proto_name(wc->stream_err_at),
				  tp_listener_name(wc->stream_err_at), i,
				  sb_strerror(wc->stream_err));
		else
			log_error("worker_failed", "worker=%u error=\"%s\"", i,
				  sb_strerror(wc->stream_err));
		err = err ? err : wc->stream_err;
	}
	return err;
}

void serve_stream_on_stop(struct wctx *wc)
{
	if (wc->table)
		tp_conn_table_stop(wc->table);
}

void serve_stream_close(struct serve *srv)
{
	for (unsigned i = 0; srv->wctx && i < srv->nworkers; i++)
		srv->wctx[i].table = tp_conn_table_free(srv->wctx[i].table);
	srv->stream = tp_stream_free(srv->stream);
	srv->tls = tp_tls_ctx_free(srv->tls);
	if (srv->has_stream_ready)
		uv_sem_destroy(&srv->stream_ready);
	srv->has_stream_ready = false;
}
