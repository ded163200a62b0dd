/* The runtime: config to workers, listeners, control socket and signals. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "runtime/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "base/fs.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "runtime/ctl.h"
#include "runtime/serve_int.h"
#include "runtime/worker.h"
#include "services/local/local.h"
#include "sip/transport/udp.h"
#include "sip/txn/txn.h"

#define LOG_MODULE "serve"

enum {
	SERVE_DATA_DIR_MODE = 0750,
	SERVE_DRAIN_TICK_MS = 50,    /* how often a drain checks progress */
	SERVE_REPLY_MAX = 65536,     /* bytes of a stateless reply */
	SERVE_VIA_PARAMS_MAX = 96,   /* bytes of ";received=...;rport=..." */
	SERVE_CALL_ID_LOG_MAX = 128, /* bytes of Call-ID kept for log lines */
	SERVE_ADDR_TEXT = 64	     /* bytes of "[ipv6]:port" plus NUL */
};

/* A snapshot on its way to a worker (reload). */
struct swap {
	struct wctx *wc;
	struct config *cfg; /* reference moved to the worker */
};

static void send_stateless(struct wctx *wc, struct sip_inmsg *im)
{
	int rc = tp_send(&im->flow, wc->out.p, wc->out.len, NULL, NULL);
	char at[SERVE_ADDR_TEXT];

	if (rc != 0)
		log_debug("send_failed", "to=%s error=\"%s\"",
			  sip_addr_text(&im->flow.remote, at, sizeof(at)),
			  sb_strerror(rc));
}

/*
 * A message that did not parse: a request whose headers were found is
 * answered with the parser's status (never an ACK); everything else is
 * dropped and counted.
 */
static void reject(struct wctx *wc, struct sip_inmsg *im,
		   const struct sip_perr *perr, int err)
{
	struct sip_msg *m = &im->msg;
	char via[SERVE_VIA_PARAMS_MAX], at[SERVE_ADDR_TEXT], v[96];
	struct local_ctx lc;
	int status;

	if (!m->is_request || !m->hdrs || perr->status == 0 ||
	    m->method == SIP_METHOD_ACK) {
		wc->stats.dropped++;
		log_debug("dropped", "from=%s bytes=%u error=\"%s\"",
			  sip_addr_text(&im->flow.remote, at, sizeof(at)),
			  im->len, sb_strerror(err));
		return;
	}
	wc->stats.parse_errors++;
	lc = (struct local_ctx){
	    .server = config_user_agent(wc->cfg),
	    .cfg = wc->cfg,
	    .via_params = tp_via_params(m, &im->flow, via, sizeof(via)),
	};
	buf_reset(&wc->out);
	status = local_reject(&lc, m, perr, &wc->out);
	log_debug("request_rejected", "from=%s status=%u reason=%s",
		  sip_addr_text(&im->flow.remote, at, sizeof(at)), perr->status,
		  log_esc(slice_cstr(perr->reason), v, sizeof(v)));
	if (status > 0)
		send_stateless(wc, im);
}

/* local.options_stateless: OPTIONS answered without a transaction. */
static void answer_stateless(struct wctx *wc, struct sip_inmsg *im)
{
	char via[SERVE_VIA_PARAMS_MAX];
	struct local_ctx lc = {
	    .server = config_user_agent(wc->cfg),
	    .cfg = wc->cfg,
	    .via_params = tp_via_params(&im->msg, &im->flow, via, sizeof(via)),
	};

	buf_reset(&wc->out);
	wc->stats.stateless++;
	if (local_handle(&lc, &im->msg, &wc->out) > 0)
		send_stateless(wc, im);
}

/*
 * The shield stage (services/dispatch): true when a banned source's
 * message was dropped or refused with 403 here.
 */
static bool screen(struct wctx *wc, struct sip_inmsg *im, bool is_parsed)
{
	char via[SERVE_VIA_PARAMS_MAX];
	enum dispatch_verdict v = dispatch_screen(
	    wc->dispatch, is_parsed ? &im->msg : NULL, &im->flow);

	if (v == DISPATCH_PASS)
		return false;
	if (v == DISPATCH_CHALLENGE) {
		if (dispatch_challenge(
			wc->dispatch, &im->msg,
			tp_via_params(&im->msg, &im->flow, via, sizeof(via)),
			&wc->out) != 0)
			return false; /* the transaction path will answer */
		send_stateless(wc, im);
		return true;
	}
	if (v == DISPATCH_REFUSE &&
	    dispatch_refusal(
		wc->dispatch, &im->msg,
		tp_via_params(&im->msg, &im->flow, via, sizeof(via)),
		&wc->out) == 0)
		send_stateless(wc, im);
	return true;
}

/*
 * The pipeline on the owner worker: parse with the snapshot's limits, the
 * shield, then the transaction layer (which owns the message from there on).
 */
static void on_inmsg(void *ctx, struct worker *w, struct sip_inmsg *im)
{
	struct wctx *wc = ctx;
	struct sip_msg *m = &im->msg;
	struct sip_perr perr = {0, NULL};
	char call_id[SERVE_CALL_ID_LOG_MAX];
	bool has_ctx = false;
	int rc;

	if (!wc->tl) {
		sip_inmsg_free(im);
		return;
	}
	/* RFC 3261 18.3: stream messages were framed by Content-Length */
	rc = sip_msg_parse(m, &im->arena, im->data, im->len,
			   im->flow.tp == SIP_TP_UDP ? SIP_FRAMING_DATAGRAM
						     : SIP_FRAMING_STREAM,
			   config_limits(wc->cfg), &perr);
	if (slice_is_set(m->call_id)) {
		/* A copy: the layer may free the message before we pop. */
		size_t n = m->call_id.len < sizeof(call_id) ? m->call_id.len
							    : sizeof(call_id);
		memcpy(call_id, m->call_id.p, n);
		log_ctx_push("call_id", slice_make(call_id, n));
		has_ctx = true;
	}
	if (screen(wc, im, rc == 0)) {
		/* banned: dropped or refused */
	} else if (rc != 0) {
		reject(wc, im, &perr, rc);
	} else if (m->is_request && m->method == SIP_METHOD_OPTIONS &&
		   config_local(wc->cfg)->is_options_stateless &&
		   !wc->is_draining) {
		answer_stateless(wc, im);
	} else {
		txn_layer_recv(wc->tl, im);
		im = NULL;
	}
	if (has_ctx)
		log_ctx_pop();
	sip_inmsg_free(im);
}

/*
 * On the worker before its loop runs: the stream connections' table, and
 * on worker 0 the registrar's housekeeping (expiry, keep-alives).
 */
static void on_worker_start(void *ctx, struct worker *w)
{
	struct wctx *wc = ctx;

	serve_stream_on_start(wc, w);
	if (worker_id(w) == 0 && wc->tl && wc->srv->registrar)
		registrar_start(wc->srv->registrar, wc->tl, worker_wheel(w));
}

/*
 * On the worker at stop: its connections close first (sends still waiting
 * report to their transactions), then its transactions and service go.
 */
static void on_worker_stop(void *ctx, struct worker *w)
{
	struct wctx *wc = ctx;

	/* Its pings are transactions of this layer: stop before it goes. */
	if (worker_id(w) == 0 && wc->srv->registrar)
		registrar_stop(wc->srv->registrar);
	serve_stream_on_stop(wc);
	if (wc->tl)
		wc->txn_final = *txn_layer_stats(wc->tl);
	if (wc->local)
		wc->local_final = *local_stats(wc->local);
	if (wc->dispatch)
		wc->dispatch_final = *dispatch_stats(wc->dispatch);
	if (wc->proxy)
		wc->proxy_final = *proxy_stats(wc->proxy);
	if (wc->b2bua)
		wc->b2bua_final = *b2bua_stats(wc->b2bua);
	/* Before the layer: its calls let go of their transactions. */
	wc->b2bua = b2bua_free(wc->b2bua);
	if (wc->media)
		wc->media_final = *media_counts(wc->media);
	wc->media = media_free(wc->media);
	if (wc->ng)
		wc->ng_final = *ng_client_stats(wc->ng);
	wc->ng = ng_client_free(wc->ng);
	wc->tl = txn_layer_free(wc->tl);
	wc->dispatch = dispatch_free(wc->dispatch);
	wc->proxy = proxy_free(wc->proxy);
	wc->resolver = resolver_free(wc->resolver);
	wc->local = local_free(wc->local);
}

static void job_set_draining(void *arg)
{
	struct wctx *wc = arg;

	wc->is_draining = true;
	if (wc->local) {
		local_set_draining(wc->local, true);
		atomic_store(&wc->pending_pub, local_pending(wc->local));
	}
	atomic_store(&wc->has_seen_drain, true);
}

static void job_publish_pending(void *arg)
{
	struct wctx *wc = arg;

	if (wc->local)
		atomic_store(&wc->pending_pub, local_pending(wc->local));
}

static void job_swap(void *arg)
{
	struct swap *s = arg;
	struct wctx *wc = s->wc;
	struct config **r =
	    sb_realloc(wc->retired, (wc->nretired + 1) * sizeof(*r));

	if (!r) {
		/* Keep the old snapshot: messages may point into it. */
		config_unref(s->cfg);
		sb_free(s);
		return;
	}
	wc->retired = r;
	wc->retired[wc->nretired++] = wc->cfg;
	wc->cfg = s->cfg;
	if (wc->local)
		local_set_config(wc->local, wc->cfg);
	if (wc->dispatch)
		dispatch_set_config(wc->dispatch, wc->cfg);
	if (wc->proxy)
		proxy_set_config(wc->proxy, wc->cfg);
	if (wc->b2bua)
		b2bua_set_config(wc->b2bua, wc->cfg);
	sb_free(s);
}

/* A B2BUA job on another worker (b2bua_deps.post). */
struct b2bua_job {
	void (*fn)(struct b2bua *b, void *arg);
	void *arg;
	struct wctx *wc;
};

static void run_b2bua_job(void *p)
{
	struct b2bua_job *j = p;

	j->fn(j->wc->b2bua, j->arg);
	sb_free(j);
}

static int post_b2bua(void *ctx, unsigned i,
		      void (*fn)(struct b2bua *b, void *arg), void *arg)
{
	struct serve *srv = ctx;
	struct b2bua_job *j;
	int rc;

	if (i >= srv->nworkers)
		return -EINVAL;
	j = sb_malloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	*j = (struct b2bua_job){fn, arg, &srv->wctx[i]};
	rc = worker_post(srv->wctx[i].w, run_b2bua_job, j);
	if (rc != 0)
		sb_free(j);
	return rc;
}

/* The worker's rtpengine client, on its loop (not running yet). */
static int ng_open(struct wctx *wc)
{
	const struct config_rtpengine *r =
	    &config_media(wc->srv->cfg)->rtpengine;
	struct ng_opts o = {
	    .nservers = r->nservers,
	    .timeout_ms = r->timeout_ms,
	    .tries = r->tries,
	    .disable_s = r->disable_s,
	    .worker = worker_id(wc->w),
	};
	int rc;

	for (unsigned i = 0; i < r->nservers; i++)
		o.servers[i] = r->servers[i];
	rc = ng_client_new(worker_loop(wc->w), &o, &wc->ng);
	if (rc != 0)
		log_error("rtpengine_failed", "worker=%u error=\"%s\"",
			  worker_id(wc->w), sb_strerror(rc));
	return rc;
}

/* The worker's RTP relay, on its loop (not running yet). */
static int media_open(struct wctx *wc)
{
	const struct config_media *cm = config_media(wc->srv->cfg);
	struct media_opts mo = {
	    .ports = wc->srv->ports,
	    .bind4 = cm->bind4,
	    .bind6 = cm->bind6,
	    .timeout_s = cm->timeout_s,
	    .hold_timeout_s = cm->hold_timeout_s,
	    .latch_window_ms = cm->latch_window_ms,
	};
	int rc;

	memcpy(mo.advertise4, cm->advertise4, sizeof(mo.advertise4));
	memcpy(mo.advertise6, cm->advertise6, sizeof(mo.advertise6));
	rc = media_new(worker_loop(wc->w), &mo, &wc->media);
	if (rc != 0)
		log_error("media_failed", "worker=%u error=\"%s\"",
			  worker_id(wc->w), sb_strerror(rc));
	if (rc == 0 && cm->rtpengine.nservers)
		rc = ng_open(wc);
	return rc;
}

/* The worker's resolver (on its loop, which is not running yet) and its
 * proxy, handed to the dispatcher. */
static int proxy_open(struct wctx *wc)
{
	const struct config_dns *cd = config_dns(wc->srv->cfg);
	struct resolver_opts ro = {
	    .nservers = cd->nservers,
	    .timeout_ms = cd->timeout_ms,
	    .tries = cd->tries,
	    .cache_max = cd->cache_max,
	    .is_ipv6_enabled = cd->is_ipv6,
	};
	struct proxy_deps pd = {
	    .location = registrar_location(wc->srv->registrar),
	    .wheel = worker_wheel(wc->w),
	};
	int rc;

	for (size_t i = 0; i < cd->nservers; i++)
		ro.servers[i] = cd->servers[i];
	rc = resolver_new(worker_loop(wc->w), &ro, &wc->resolver);
	if (rc != 0) {
		log_error("resolver_failed", "error=\"%s\"", sb_strerror(rc));
		return rc;
	}
	pd.resolver = wc->resolver;
	rc = proxy_new(&pd, wc->cfg, &wc->proxy);
	if (rc != 0)
		return rc;
	dispatch_set_proxy(wc->dispatch, wc->proxy);
	rc = media_open(wc);
	if (rc != 0)
		return rc;
	struct b2bua_deps bd = {
	    .media = wc->media,
	    .ng = wc->ng,
	    .recorder = wc->srv->recorder,
	    .location = pd.location,
	    .wheel = pd.wheel,
	    .resolver = wc->resolver,
	    .store = wc->srv->store,
	    .worker = worker_id(wc->w),
	    .nworkers = wc->srv->nworkers,
	    .post = post_b2bua,
	    .post_ctx = wc->srv,
	};
	rc = b2bua_new(&bd, wc->cfg, &wc->b2bua);
	if (rc == 0)
		dispatch_set_b2bua(wc->dispatch, wc->b2bua);
	return rc;
}

static int wctx_init(struct serve *srv, struct wctx *wc, unsigned id)
{
	const struct config_timers *ct = config_timers(srv->cfg);
	uint32_t max = config_max_transactions(srv->cfg);
	struct worker_opts wo = {
	    .id = id,
	    .queue_size = config_queue_size(srv->cfg),
	    .on_inmsg = on_inmsg,
	    .on_start = on_worker_start,
	    .on_stop = on_worker_stop,
	    .ctx = wc,
	};
	struct txn_layer_opts to = {
	    .timers = {ct->t1_ms, ct->t2_ms, ct->t4_ms, ct->timer_d_ms},
	    /* The server slice lives in the first snapshot, which the
	     * worker keeps (cfg or retired) until it is freed. */
	    .server = config_user_agent(srv->cfg),
	    .max_txns = max ? (max + srv->nworkers - 1) / srv->nworkers : 0,
	};
	struct dispatch_deps deps = {srv->auth, srv->ban, srv->registrar};
	int rc;

	wc->srv = srv;
	wc->cfg = config_ref(srv->cfg);
	buf_init(&wc->out, SERVE_REPLY_MAX);
	rc = worker_new(&wo, &wc->w);
	if (rc != 0)
		return rc;
	worker_set_data(wc->w, wc);
	rc = local_new(worker_wheel(wc->w), wc->cfg, &wc->local);
	if (rc == 0)
		rc = dispatch_new(&deps, wc->local, wc->cfg, &wc->dispatch);
	if (rc == 0)
		rc = proxy_open(wc);
	if (rc != 0)
		return rc;
	to.user = dispatch_txn_user(wc->dispatch);
	to.wheel = worker_wheel(wc->w);
	rc = txn_layer_new(&to, &wc->tl);
	if (rc == 0) {
		proxy_set_layer(wc->proxy, wc->tl);
		b2bua_set_layer(wc->b2bua, wc->tl);
	}
	return rc;
}

/* After the worker's thread ended (or never started). */
static void wctx_close(struct wctx *wc)
{
	wc->resolver = resolver_free(wc->resolver);
	wc->b2bua = b2bua_free(wc->b2bua);
	wc->w = worker_free(wc->w);
	wc->tl = txn_layer_free(wc->tl);
	wc->dispatch = dispatch_free(wc->dispatch);
	wc->proxy = proxy_free(wc->proxy);
	wc->local = local_free(wc->local);
	for (size_t i = 0; i < wc->nretired; i++)
		config_unref(wc->retired[i]);
	sb_free(wc->retired);
	wc->cfg = config_unref(wc->cfg);
	buf_close(&wc->out);
}

static void post_all(struct serve *srv, worker_job_cb fn)
{
	for (unsigned i = 0; i < srv->nworkers; i++)
		if (worker_post(srv->wctx[i].w, fn, &srv->wctx[i]) != 0)
			log_warn("post_failed", "worker=%u", i);
}

static void on_closed(uv_handle_t *h)
{
}

/*
 * Stop for good: the control socket, then the readers (so nothing more is
 * handed to a worker), then the workers, then our own handles, which ends
 * the main loop.
 */
static void stop_now(struct serve *srv)
{
	if (srv->is_stopping)
		return;
	srv->is_stopping = true;
	srv->ctl = ctl_close(srv->ctl);
	for (size_t i = 0; srv->is_listening && i < srv->nls; i++)
		if (tp_listener_transport(srv->ls[i]) == SIP_TP_UDP)
			tp_udp_listener_stop(srv->ls[i]);
	for (unsigned i = 0; i < srv->nworkers; i++)
		worker_stop(srv->wctx[i].w);
	for (unsigned i = 0; i < srv->nworkers; i++)
		worker_join(srv->wctx[i].w);
	uv_mutex_lock(&srv->stats_lock);
	srv->is_stats_open = false;
	uv_mutex_unlock(&srv->stats_lock);
	uv_close((uv_handle_t *)&srv->stats_done, on_closed);
	uv_close((uv_handle_t *)&srv->drain_timer, on_closed);
	uv_close((uv_handle_t *)&srv->sigint, on_closed);
	uv_close((uv_handle_t *)&srv->sigterm, on_closed);
	uv_close((uv_handle_t *)&srv->sighup, on_closed);
}

static void on_drain_tick(uv_timer_t *t)
{
	struct serve *srv = t->data;
	uint32_t pending = 0;
	bool has_all = true;

	for (unsigned i = 0; i < srv->nworkers; i++) {
		has_all &= atomic_load(&srv->wctx[i].has_seen_drain);
		pending += atomic_load(&srv->wctx[i].pending_pub);
	}
	if (has_all && pending == 0) {
		log_info("drained", "after_ms=%llu",
			 (unsigned long long)(uv_now(&srv->loop) -
					      srv->drain_start_ms));
		stop_now(srv);
		return;
	}
	if (uv_now(&srv->loop) >= srv->drain_deadline_ms) {
		log_warn("drain_timeout", "pending=%u timeout_ms=%u", pending,
			 config_drain_timeout_ms(srv->cfg));
		stop_now(srv);
		return;
	}
	post_all(srv, job_publish_pending);
}

static void drain_start(struct serve *srv, const char *why)
{
	uint32_t timeout_ms = config_drain_timeout_ms(srv->cfg);

	if (srv->is_stopping)
		return;
	if (srv->is_draining) {
		log_info("stopping",
			 "signal=%s detail=\"second signal: not "
			 "waiting for transactions\"",
			 why);
		stop_now(srv);
		return;
	}
	srv->is_draining = true;
	srv->drain_start_ms = uv_now(&srv->loop);
	srv->drain_deadline_ms = srv->drain_start_ms + timeout_ms;
	log_info("draining", "signal=%s timeout_ms=%u", why, timeout_ms);
	post_all(srv, job_set_draining);
	uv_timer_start(&srv->drain_timer, on_drain_tick, SERVE_DRAIN_TICK_MS,
		       SERVE_DRAIN_TICK_MS);
}

/* Settings a reload cannot change: say so, keep running with the old. */
/* The relay's settings, made once (serve_media_open, media_open). */
static bool media_relay_same(const struct config_media *a,
			     const struct config_media *b)
{
	return memcmp(&a->bind4, &b->bind4, sizeof(a->bind4)) == 0 &&
	       memcmp(&a->bind6, &b->bind6, sizeof(a->bind6)) == 0 &&
	       strcmp(a->advertise4, b->advertise4) == 0 &&
	       strcmp(a->advertise6, b->advertise6) == 0 &&
	       a->port_min == b->port_min && a->port_max == b->port_max &&
	       a->timeout_s == b->timeout_s &&
	       a->hold_timeout_s == b->hold_timeout_s &&
	       a->latch_window_ms == b->latch_window_ms &&
	       strcmp(a->record_dir, b->record_dir) == 0;
}

static void restart_notes(const struct config *a, const struct config *b)
{
	static const char detail[] =
	    "detail=\"changed in the file; takes effect after a restart\"";

	if (!config_listen_same(a, b))
		log_warn("reload_needs_restart", "key=listen %s", detail);
	if (config_workers(a) != config_workers(b))
		log_warn("reload_needs_restart", "key=workers %s", detail);
	if (config_receive(a) != config_receive(b))
		log_warn("reload_needs_restart", "key=receive %s", detail);
	if (config_queue_size(a) != config_queue_size(b))
		log_warn("reload_needs_restart", "key=queue_size %s", detail);
	if (memcmp(config_timers(a), config_timers(b),
		   sizeof(struct config_timers)) != 0)
		log_warn("reload_needs_restart", "key=timers %s", detail);
	if (config_max_transactions(a) != config_max_transactions(b))
		log_warn("reload_needs_restart", "key=max_transactions %s",
			 detail);
	if (!config_tcp_same(a, b))
		log_warn("reload_needs_restart", "key=tcp %s", detail);
	if (!config_tls_same(a, b))
		log_warn("reload_needs_restart", "key=tls %s", detail);
	if (strcmp(config_control_socket(a), config_control_socket(b)) != 0)
		log_warn("reload_needs_restart", "key=control_socket %s",
			 detail);
	if (strcmp(config_data_dir(a), config_data_dir(b)) != 0)
		log_warn("reload_needs_restart", "key=data_dir %s", detail);
	if (!media_relay_same(config_media(a), config_media(b)))
		log_warn("reload_needs_restart", "key=media %s %s",
			 "fields=address,advertise,ports,timeouts,record_dir",
			 detail);
}

/*
 * The services were made with svc (serve_services.c); of their sections,
 * only domains, bans.action and auth.challenge_methods follow a reload.
 */
static void restart_notes_services(const struct config *svc,
				   const struct config *b)
{
	static const char detail[] =
	    "detail=\"changed in the file; takes effect after a restart\"";
	const struct config_auth *aa = config_auth(svc), *ab = config_auth(b);
	const struct config_registrar *ra = config_registrar(svc),
				      *rb = config_registrar(b);
	const struct config_bans *ba = config_bans(svc), *bb = config_bans(b);

	if (aa->nonce_lifetime_s != ab->nonce_lifetime_s ||
	    aa->is_md5_offered != ab->is_md5_offered ||
	    aa->is_sha256_offered != ab->is_sha256_offered)
		log_warn("reload_needs_restart", "key=auth %s", detail);
	if (ra->min_expires_s != rb->min_expires_s ||
	    ra->max_expires_s != rb->max_expires_s ||
	    ra->default_expires_s != rb->default_expires_s ||
	    ra->max_bindings != rb->max_bindings ||
	    ra->max_aors != rb->max_aors || ra->keepalive != rb->keepalive ||
	    ra->keepalive_interval_s != rb->keepalive_interval_s)
		log_warn("reload_needs_restart", "key=registrar %s", detail);
	if (ba->failures_per_ip != bb->failures_per_ip ||
	    ba->failures_per_user != bb->failures_per_user ||
	    ba->window_s != bb->window_s || ba->ban_s != bb->ban_s)
		log_warn("reload_needs_restart", "key=bans %s", detail);
	if (config_store(svc)->flush_ms != config_store(b)->flush_ms)
		log_warn("reload_needs_restart", "key=store %s", detail);
}

int serve_reload(struct serve *srv, char *err, size_t err_len)
{
	struct config_err cerr;
	struct config *next;
	char v[CONFIG_ERR_LEN + 8];
	int rc = config_reload(srv->cfg, &next, &cerr);

	if (rc != 0) {
		log_error("reload_failed", "error=%s",
			  log_esc(slice_cstr(cerr.msg), v, sizeof(v)));
		snprintf(err, err_len, "%s", cerr.msg);
		return rc;
	}
	restart_notes(srv->cfg, next);
	if (srv->svc_cfg)
		restart_notes_services(srv->svc_cfg, next);
	log_setup(config_log_level(next), config_log_format(next));
	tp_udp_set_stateless_options(config_local(next)->is_options_stateless);
	tp_udp_set_pause_us(config_receive_pause_us(next));
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct swap *s = sb_malloc(sizeof(*s));

		if (!s) {
			log_warn("reload_partial", "worker=%u error=\"%s\"", i,
				 sb_strerror(-ENOMEM));
			continue;
		}
		*s = (struct swap){&srv->wctx[i], config_ref(next)};
		if (worker_post(srv->wctx[i].w, job_swap, s) != 0) {
			config_unref(s->cfg);
			sb_free(s);
		}
	}
	config_unref(srv->cfg);
	srv->cfg = next;
	log_info("reloaded", "config=%s log_level=%s",
		 log_esc(slice_cstr(config_path(next)), v, sizeof(v)),
		 config_log_level(next) == LOG_LEVEL_DEBUG  ? "debug"
		 : config_log_level(next) == LOG_LEVEL_INFO ? "info"
		 : config_log_level(next) == LOG_LEVEL_WARN ? "warn"
							    : "error");
	return 0;
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct serve *srv = sig->data;
	char err[CONFIG_ERR_LEN];

	if (signum == SIGHUP) {
		log_info("reloading", "signal=HUP");
		serve_reload(srv, err, sizeof(err));
		return;
	}
	drain_start(srv, signum == SIGINT ? "INT" : "TERM");
}

static unsigned workers_wanted(const struct config *cfg)
{
	unsigned n = config_workers(cfg);

	if (config_receive(cfg) == CONFIG_RECEIVE_SINGLE)
		return 1;
	if (n == 0)
		n = uv_available_parallelism();
	return n ? n : 1;
}

static int listeners_open(struct serve *srv)
{
	size_t n = config_listen_count(srv->cfg);
	struct worker **ws = srv->workers;

	srv->ls = sb_calloc(n, sizeof(*srv->ls));
	if (!srv->ls)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct config_listen *c = config_listen_at(srv->cfg, i);
		struct tp_udp_opts o = {
		    .advertise = c->advertise,
		    .advertise_port = c->advertise_port,
		    .is_reuseport =
			config_receive(srv->cfg) == CONFIG_RECEIVE_REUSEPORT,
		    .workers = ws,
		    .nworkers = srv->nworkers,
		    .reader = (unsigned)(i % srv->nworkers),
		    .server = config_user_agent(srv->cfg),
		};
		int rc;

		if (c->transport != CONFIG_TRANSPORT_UDP) {
			rc = serve_stream_listener_new(srv, c,
						       &srv->ls[srv->nls]);
			if (rc != 0)
				return rc;
			srv->nls++;
			continue;
		}
		memcpy(&o.bind.sa, &c->addr, c->addr_len);
		o.bind.len = c->addr_len;
		rc = tp_udp_listener_new(&o, &srv->ls[srv->nls]);
		if (rc != 0) {
			log_error("bind_failed",
				  "proto=udp addr=%s error=\"%s\"", c->hostport,
				  sb_strerror(rc));
			return rc;
		}
		srv->nls++;
	}
	return 0;
}

/* Once every socket is read or listened on: what tests wait for. */
static void listeners_log(struct serve *srv)
{
	static const char *const protos[SIP_TP__COUNT] = {"udp", "tcp", "tls"};

	for (size_t i = 0; i < srv->nls; i++) {
		struct tp_listener *l = srv->ls[i];

		log_info("listening", "proto=%s addr=%s advertise=%.*s:%u",
			 protos[tp_listener_transport(l)], tp_listener_name(l),
			 SL_ARG(tp_listener_host(l)), tp_listener_port(l));
	}
}

/* The address SDP shows for a family: advertised, else bound; "-". */
static const char *media_addr_text(const struct sockaddr_storage *bind,
				   const char *adv, char *out, size_t cap)
{
	const void *a =
	    bind->ss_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)bind)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)bind)->sin_addr;

	if (adv[0])
		return adv;
	if (bind->ss_family == AF_UNSPEC ||
	    !inet_ntop(bind->ss_family, a, out, (socklen_t)cap))
		return "-";
	return out;
}

/* What every worker's relay shares: the port range and the recorder. */
static int serve_media_open(struct serve *srv)
{
	const struct config_media *cm = config_media(srv->cfg);
	char a4[INET6_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	int rc = media_ports_new(cm->port_min, cm->port_max, &srv->ports);

	if (rc == 0)
		rc = recorder_new(cm->record_dir, &srv->recorder);
	if (rc != 0) {
		log_error("media_failed",
			  "ports=%u-%u record_dir=%s error=\"%s\"",
			  cm->port_min, cm->port_max, cm->record_dir,
			  sb_strerror(rc));
		return rc;
	}
	log_info("media", "mode=%s ipv4=%s ipv6=%s ports=%u-%u timeout_s=%u",
		 config_media_mode_name(cm->policy.mode),
		 media_addr_text(&cm->bind4, cm->advertise4, a4, sizeof(a4)),
		 media_addr_text(&cm->bind6, cm->advertise6, a6, sizeof(a6)),
		 cm->port_min, cm->port_max, cm->timeout_s);
	return 0;
}

static int serve_start(struct serve *srv)
{
	const char *sock = config_control_socket(srv->cfg);
	unsigned started;
	char v[256];
	int rc, err;

	/* First, so a signal during start-up waits for the loop. */
	rc = uv_signal_start(&srv->sigint, on_signal, SIGINT);
	if (rc == 0)
		rc = uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
	if (rc == 0)
		rc = uv_signal_start(&srv->sighup, on_signal, SIGHUP);
	if (rc != 0)
		return rc;
	srv->nworkers = workers_wanted(srv->cfg);
	rc = serve_services_open(srv);
	if (rc == 0)
		rc = serve_media_open(srv);
	if (rc != 0)
		return rc;
	srv->wctx = sb_calloc(srv->nworkers, sizeof(*srv->wctx));
	srv->workers = sb_calloc(srv->nworkers, sizeof(*srv->workers));
	if (!srv->wctx || !srv->workers)
		return -ENOMEM;
	for (unsigned i = 0; i < srv->nworkers; i++) {
		rc = wctx_init(srv, &srv->wctx[i], i);
		if (rc != 0) {
			log_error("worker_failed", "worker=%u error=\"%s\"", i,
				  sb_strerror(rc));
			return rc;
		}
		srv->workers[i] = srv->wctx[i].w;
	}
	rc = listeners_open(srv);
	if (rc == 0)
		rc = serve_stream_open(srv);
	if (rc == 0)
		rc = serve_services_restore(srv);
	if (rc != 0)
		return rc;
	rc = ctl_new(&srv->loop, sock, serve_ctl_command, srv, &srv->ctl);
	if (rc != 0) {
		log_error("control_socket_failed", "path=%s error=\"%s\"",
			  log_esc(slice_cstr(sock), v, sizeof(v)),
			  sb_strerror(rc));
		return rc;
	}
	for (started = 0; started < srv->nworkers; started++) {
		rc = worker_start(srv->wctx[started].w);
		if (rc != 0) {
			log_error("worker_failed", "worker=%u error=\"%s\"",
				  started, sb_strerror(rc));
			break;
		}
	}
	err = serve_stream_wait(srv, started);
	if (rc == 0)
		rc = err;
	if (rc != 0)
		return rc;
	srv->is_listening = true;
	for (size_t i = 0; i < srv->nls; i++) {
		if (tp_listener_transport(srv->ls[i]) != SIP_TP_UDP)
			continue;
		rc = tp_udp_listener_start(srv->ls[i]);
		if (rc != 0)
			return rc;
	}
	listeners_log(srv);
	return 0;
}

static void serve_free(struct serve *srv)
{
	for (unsigned i = 0; srv->wctx && i < srv->nworkers; i++) {
		/* a worker that never ran: its resolver closes on its loop,
		 * which worker_free() runs once more */
		srv->wctx[i].resolver = resolver_free(srv->wctx[i].resolver);
		srv->wctx[i].b2bua = b2bua_free(srv->wctx[i].b2bua);
		srv->wctx[i].media = media_free(srv->wctx[i].media);
		srv->wctx[i].ng = ng_client_free(srv->wctx[i].ng);
		srv->wctx[i].w = worker_free(srv->wctx[i].w);
	}
	/* Bindings hold connection references: before the tables go. */
	serve_services_close(srv);
	serve_stream_close(srv);
	serve_stats_flush(srv);
	for (size_t i = 0; i < srv->nls; i++)
		tp_listener_free(srv->ls[i]);
	sb_free(srv->ls);
	for (unsigned i = 0; srv->wctx && i < srv->nworkers; i++)
		wctx_close(&srv->wctx[i]);
	sb_free(srv->wctx);
	sb_free(srv->workers);
	srv->recorder = recorder_free(srv->recorder);
	srv->ports = media_ports_free(srv->ports);
	uv_mutex_destroy(&srv->stats_lock);
	config_unref(srv->cfg);
	sb_free(srv);
}

int serve_run(struct config *cfg)
{
	struct serve *srv;
	const char *dir = config_data_dir(cfg);
	char v[256];
	int rc;

	rc = sb_mkdir_p(dir, SERVE_DATA_DIR_MODE);
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
	rc = uv_loop_init(&srv->loop);
	if (rc == 0)
		rc = uv_mutex_init(&srv->stats_lock);
	if (rc != 0) {
		log_error("loop_failed", "error=\"%s\"", uv_strerror(rc));
		config_unref(srv->cfg);
		sb_free(srv);
		return rc;
	}
	srv->is_stats_open = true;
	uv_signal_init(&srv->loop, &srv->sigint);
	uv_signal_init(&srv->loop, &srv->sigterm);
	uv_signal_init(&srv->loop, &srv->sighup);
	uv_timer_init(&srv->loop, &srv->drain_timer);
	uv_async_init(&srv->loop, &srv->stats_done, serve_on_stats_done);
	srv->sigint.data = srv->sigterm.data = srv->sighup.data = srv;
	srv->drain_timer.data = srv->stats_done.data = srv;
	srv->start_ms = uv_now(&srv->loop);
	tp_udp_set_stateless_options(config_local(cfg)->is_options_stateless);
	tp_udp_set_pause_us(config_receive_pause_us(cfg));
	rc = serve_start(srv);
	if (rc == 0)
		log_info("started",
			 "workers=%u receive=%s listeners=%zu data_dir=%s "
			 "control_socket=%s",
			 srv->nworkers,
			 config_receive_name(config_receive(srv->cfg)),
			 srv->nls, log_esc(slice_cstr(dir), v, sizeof(v)),
			 config_control_socket(srv->cfg));
	else
		stop_now(srv);
	uv_run(&srv->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&srv->loop) != 0)
		log_warn("loop_busy", "detail=\"handles left open at exit\"");
	serve_log_totals(srv);
	serve_free(srv);
	return rc;
}
