/* Control commands of a running server: stats, bindings, reload, version. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "runtime/serve_int.h"
#include "sip/transport/udp.h"

#define LOG_MODULE "serve"

/* One worker's counters, copied on that worker. */
struct wsnap {
	struct txn_stats txn;
	struct local_stats local;
	struct wctx_stats pipe;
	struct dispatch_stats dispatch;
	struct proxy_stats proxy;
	struct b2bua_stats b2bua;
	struct media_counts media;
	struct ng_stats ng;	    /* rtpengine's client */
	struct tp_conn_stats conns; /* the worker's stream connections */
	uint32_t pending;	    /* transactions waiting for our answer */
	json_t *calls;		    /* `calls`: the worker's calls, or NULL */
	int record_rc;		    /* `record`: b2bua_record's answer */
	char record_path[512];
	bool is_done; /* the worker answered */
};

/* Where one worker's part of a stats job goes. */
struct stats_part {
	struct stats_job *job;
	unsigned i;
};

/*
 * A `stats` request in flight: one job per worker fills its snapshot; the
 * last one to finish hands the whole to the main loop.
 */
struct stats_job {
	struct stats_job *next; /* srv->done; lock: stats_lock */
	struct serve *srv;
	struct ctl_req *req;
	_Atomic unsigned left; /* workers still to answer */
	bool is_calls;	       /* `calls` rather than `stats` */
	bool is_record;	       /* `record` (record_id, is_record_on) */
	bool is_record_on;
	char record_id[256];
	struct stats_part *parts; /* [nworkers] */
	struct wsnap snaps[];	  /* [nworkers] */
};

static void job_free(struct stats_job *job)
{
	for (unsigned i = 0; job->is_calls && i < job->srv->nworkers; i++)
		json_decref(job->snaps[i].calls);
	sb_free(job->parts);
	sb_free(job);
}

static void part_done(struct stats_job *job)
{
	struct serve *srv = job->srv;

	if (atomic_fetch_sub(&job->left, 1) != 1)
		return;
	uv_mutex_lock(&srv->stats_lock);
	job->next = srv->done;
	srv->done = job;
	if (srv->is_stats_open)
		uv_async_send(&srv->stats_done);
	uv_mutex_unlock(&srv->stats_lock);
}

/* One call for `calls` (on the worker; the array moves to the main
 * loop with the job). */
static int add_call(void *arg, const struct b2bua_call_info *ci)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:s%, s:s%, s:I, s:I, s:i, s:i}", "id", ci->id, "state",
	    ci->state, "caller", ci->caller.p, ci->caller.len, "callee",
	    ci->callee.p, ci->callee.len, "start_ms", (json_int_t)ci->start_ms,
	    "answer_ms", (json_int_t)ci->answer_ms, "legs", (int)ci->legs,
	    "transfers", (int)ci->transfers);

	return o ? json_array_append_new(arg, o) : -1;
}

/* On the worker: copy what it counts (the final copies once stopped). */
static void job_snap(void *arg)
{
	struct stats_part *p = arg;
	struct wctx *wc = &p->job->srv->wctx[p->i];
	struct wsnap *s = &p->job->snaps[p->i];

	s->txn = wc->tl ? *txn_layer_stats(wc->tl) : wc->txn_final;
	s->local = wc->local ? *local_stats(wc->local) : wc->local_final;
	s->pending = wc->local ? local_pending(wc->local) : 0;
	s->dispatch =
	    wc->dispatch ? *dispatch_stats(wc->dispatch) : wc->dispatch_final;
	s->proxy = wc->proxy ? *proxy_stats(wc->proxy) : wc->proxy_final;
	s->b2bua = wc->b2bua ? *b2bua_stats(wc->b2bua) : wc->b2bua_final;
	s->media = wc->media ? *media_counts(wc->media) : wc->media_final;
	s->ng = wc->ng ? *ng_client_stats(wc->ng) : wc->ng_final;
	s->pipe = wc->stats;
	if (wc->table)
		s->conns = *tp_conn_table_stats(wc->table);
	s->record_rc = -ENOENT;
	if (p->job->is_record && wc->b2bua)
		s->record_rc = b2bua_record(
		    wc->b2bua, p->job->record_id, p->job->is_record_on,
		    s->record_path, sizeof(s->record_path));
	if (p->job->is_calls && wc->b2bua) {
		s->calls = json_array();
		if (s->calls)
			(void)b2bua_calls_visit(wc->b2bua, add_call, s->calls);
	}
	s->is_done = true;
	part_done(p->job);
}

static void add_txn(struct txn_stats *sum, const struct txn_stats *s)
{
	for (int m = 0; m < SIP_METHOD__COUNT; m++)
		sum->requests[m] += s->requests[m];
	for (int c = 0; c < 7; c++) {
		sum->responses_in[c] += s->responses_in[c];
		sum->responses_out[c] += s->responses_out[c];
	}
	sum->retransmits_in += s->retransmits_in;
	sum->retransmits_out += s->retransmits_out;
	sum->timeouts += s->timeouts;
	sum->transport_errors += s->transport_errors;
	sum->stray += s->stray;
	sum->overloads += s->overloads;
	sum->alive += s->alive;
}

static json_t *by_class(const uint64_t *v)
{
	json_t *o = json_object();
	char name[4];

	for (int c = 1; c <= 6; c++) {
		snprintf(name, sizeof(name), "%dxx", c);
		json_object_set_new(o, name, json_integer((json_int_t)v[c]));
	}
	return o;
}

static json_t *by_method(const uint64_t *v)
{
	json_t *o = json_object();
	char name[32];

	for (int m = 1; m < SIP_METHOD__COUNT; m++) {
		struct slice n = sip_method_name((enum sip_method)m);
		snprintf(name, sizeof(name), SL_FMT, SL_ARG(n));
		json_object_set_new(o, name, json_integer((json_int_t)v[m]));
	}
	json_object_set_new(o, "other", json_integer((json_int_t)v[0]));
	return o;
}

static uint64_t sum_requests(const struct txn_stats *t)
{
	uint64_t n = 0;

	for (int m = 0; m < SIP_METHOD__COUNT; m++)
		n += t->requests[m];
	return n;
}

static json_t *udp_json(struct serve *srv, uint64_t *overflows)
{
	struct tp_udp_stats sum = {0}, s;

	for (size_t i = 0; i < srv->nls; i++) {
		if (tp_listener_transport(srv->ls[i]) != SIP_TP_UDP)
			continue;
		tp_udp_listener_stats(srv->ls[i], &s);
		sum.received += s.received;
		sum.keepalives += s.keepalives;
		sum.handed_off += s.handed_off;
		sum.overflows += s.overflows;
		sum.send_errors += s.send_errors;
		sum.sent += s.sent;
	}
	*overflows = sum.overflows;
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I}", "received",
	    (json_int_t)sum.received, "keepalives", (json_int_t)sum.keepalives,
	    "handed_off", (json_int_t)sum.handed_off, "overflows",
	    (json_int_t)sum.overflows, "send_errors",
	    (json_int_t)sum.send_errors, "sent", (json_int_t)sum.sent);
}

static void add_conns(struct tp_conn_stats *sum, const struct tp_conn_stats *s)
{
	sum->accepted += s->accepted;
	sum->connected += s->connected;
	sum->refused_total += s->refused_total;
	sum->refused_per_ip += s->refused_per_ip;
	sum->connect_failed += s->connect_failed;
	sum->handshakes += s->handshakes;
	sum->handshake_failed += s->handshake_failed;
	sum->handshakes_deferred += s->handshakes_deferred;
	sum->closed_idle += s->closed_idle;
	sum->closed_partial += s->closed_partial;
	sum->closed_buffer += s->closed_buffer;
	sum->framing_errors += s->framing_errors;
	sum->messages_in += s->messages_in;
	sum->messages_out += s->messages_out;
	sum->pings += s->pings;
	sum->alive += s->alive;
}

/* TCP and TLS: connections open now (all workers), then counters. */
static json_t *stream_json(struct serve *srv, const struct tp_conn_stats *c,
			   const struct wctx_stats *p)
{
	json_t *o = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "conns",
	    (json_int_t)(srv->stream ? tp_stream_conns(srv->stream) : 0),
	    "accepted", (json_int_t)c->accepted, "connected",
	    (json_int_t)c->connected, "refused_total",
	    (json_int_t)c->refused_total, "refused_per_ip",
	    (json_int_t)c->refused_per_ip, "connect_failed",
	    (json_int_t)c->connect_failed, "handshakes",
	    (json_int_t)c->handshakes, "handshake_failed",
	    (json_int_t)c->handshake_failed, "handshakes_deferred",
	    (json_int_t)c->handshakes_deferred, "closed_idle",
	    (json_int_t)c->closed_idle);

	if (!o)
		return NULL;
	json_object_update_new(
	    o, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "closed_partial", (json_int_t)c->closed_partial,
			 "closed_buffer", (json_int_t)c->closed_buffer,
			 "framing_errors", (json_int_t)c->framing_errors,
			 "messages_in", (json_int_t)c->messages_in,
			 "messages_out", (json_int_t)c->messages_out, "pings",
			 (json_int_t)c->pings, "alive", (json_int_t)c->alive,
			 "handed_off", (json_int_t)p->stream_handed_off,
			 "overflows", (json_int_t)p->stream_overflows));
	return o;
}

static json_t *live_json(void)
{
	struct mallinfo2 mi = mallinfo2();

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "heap_bytes", (json_int_t)mi.uordblks, "bindings",
			 (json_int_t)sb_live_get(SB_LIVE_BINDING),
			 "transactions", (json_int_t)sb_live_get(SB_LIVE_TXN),
			 "connections", (json_int_t)sb_live_get(SB_LIVE_CONN),
			 "messages", (json_int_t)sb_live_get(SB_LIVE_INMSG),
			 "configs", (json_int_t)sb_live_get(SB_LIVE_CONFIG),
			 "arenas", (json_int_t)sb_live_get(SB_LIVE_ARENA),
			 "allocations", (json_int_t)sb_live_get(SB_LIVE_ALLOC),
			 "proxy", (json_int_t)sb_live_get(SB_LIVE_PROXY));
}

/* One uint64_t counter of a service's stats struct, by name. */
struct counter {
	const char *name;
	size_t off;
};

/* Counters f of the struct at offset base in each worker's snapshot,
 * summed over workers. */
static json_t *sum_json(const struct stats_job *job, unsigned n, size_t base,
			const struct counter *f, size_t nf)
{
	json_t *o = json_object();

	for (size_t k = 0; o && k < nf; k++) {
		uint64_t sum = 0;
		for (unsigned i = 0; i < n; i++)
			sum +=
			    *(const uint64_t *)((const char *)&job->snaps[i] +
						base + f[k].off);
		json_object_set_new(o, f[k].name,
				    json_integer((json_int_t)sum));
	}
	return o;
}

static json_t *proxy_json(const struct stats_job *job, unsigned n)
{
	static const struct counter f[] = {
#define F(x) {#x, offsetof(struct proxy_stats, x)}
	    F(requests),       F(branches),
	    F(forwarded_1xx),  F(forwarded_2xx),
	    F(final_errors),   F(cancelled),
	    F(ring_timeouts),  F(not_found),
	    F(unavailable),    F(refused),
	    F(loops),	       F(too_many_hops),
	    F(stateless_acks), F(stateless_responses),
	    F(dropped),	       F(dns_failures),
	    F(alive),
#undef F
	};
	return sum_json(job, n, offsetof(struct wsnap, proxy), f,
			sizeof(f) / sizeof(f[0]));
}

static json_t *b2bua_json(const struct stats_job *job, unsigned n)
{
	static const struct counter f[] = {
#define F(x) {#x, offsetof(struct b2bua_stats, x)}
	    F(calls),	F(answered), F(failed),		F(b_legs),
	    F(relayed), F(glare),    F(relays_refused), F(ack_timeouts),
	    F(cdrs),	F(alive),    F(legs_alive),
#undef F
	};
	return sum_json(job, n, offsetof(struct wsnap, b2bua), f,
			sizeof(f) / sizeof(f[0]));
}

static json_t *ng_json(const struct stats_job *job, unsigned n)
{
	static const struct counter f[] = {
#define F(x) {#x, offsetof(struct ng_stats, x)}
	    F(requests), F(retransmits), F(timeouts),
	    F(errors),	 F(failovers),	 F(stray),
#undef F
	};
	return sum_json(job, n, offsetof(struct wsnap, ng), f,
			sizeof(f) / sizeof(f[0]));
}

static json_t *media_json(struct serve *srv, const struct stats_job *job,
			  unsigned n)
{
	static const struct counter f[] = {
#define F(x) {#x, offsetof(struct media_counts, x)}
	    F(sessions),       F(alive),	   F(sockets),
	    F(packets),	       F(bytes),	   F(dropped_source),
	    F(dropped_nodest), F(dropped_invalid), F(send_errors),
	    F(latches),	       F(timeouts),	   F(dtmf_events),
	    F(port_failures),
#undef F
	};
	json_t *o = sum_json(job, n, offsetof(struct wsnap, media), f,
			     sizeof(f) / sizeof(f[0]));
	struct recorder_stats rs = {0};

	if (!o)
		return NULL;
	if (srv->ports)
		json_object_set_new(o, "port_pairs_used",
				    json_integer(media_ports_used(srv->ports)));
	if (config_media(srv->cfg)->rtpengine.nservers)
		json_object_set_new(o, "rtpengine", ng_json(job, n));
	if (srv->recorder)
		recorder_stats(srv->recorder, &rs);
	json_object_set_new(o, "recordings",
			    json_pack("{sI sI sI sI}", "started",
				      (json_int_t)rs.started, "finished",
				      (json_int_t)rs.finished, "blocks_dropped",
				      (json_int_t)rs.blocks_dropped, "errors",
				      (json_int_t)rs.errors));
	return o;
}

/* The reply to `stats`: counters summed over workers, then per worker. */
static json_t *stats_json(struct serve *srv, const struct stats_job *job)
{
	struct txn_stats t = {0};
	struct local_stats l = {0};
	struct wctx_stats p = {0};
	struct tp_conn_stats conns = {0};
	struct dispatch_stats d = {0};
	uint32_t pending = 0;
	uint64_t overflows = 0;
	json_t *per = json_array(), *o, *udp;

	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct wsnap *s = &job->snaps[i];
		struct worker_counts wc;

		worker_counts(srv->wctx[i].w, &wc);
		add_txn(&t, &s->txn);
		l.answered += s->local.answered;
		l.cancelled += s->local.cancelled;
		l.refused += s->local.refused;
		l.stray += s->local.stray;
		p.parse_errors += s->pipe.parse_errors;
		p.dropped += s->pipe.dropped;
		p.stateless += s->pipe.stateless;
		p.stream_handed_off += s->pipe.stream_handed_off;
		p.stream_overflows += s->pipe.stream_overflows;
		add_conns(&conns, &s->conns);
		serve_dispatch_stats_add(&d, &s->dispatch);
		pending += s->pending;
		json_array_append_new(
		    per,
		    json_pack("{s:i, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
			      (int)i, "responding", s->is_done, "alive",
			      (json_int_t)s->txn.alive, "requests",
			      (json_int_t)sum_requests(&s->txn), "queue_depth",
			      (json_int_t)wc.depth, "queued",
			      (json_int_t)wc.queued, "overflows",
			      (json_int_t)wc.overflows, "conns",
			      (json_int_t)s->conns.alive));
	}
	udp = udp_json(srv, &overflows);
	o = json_pack(
	    "{s:s, s:f, s:b, s:i, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "version", SB_VERSION, "uptime_s",
	    (double)(uv_now(&srv->loop) - srv->start_ms) / 1000.0, "draining",
	    srv->is_draining, "workers", (int)srv->nworkers, "receive",
	    config_receive_name(config_receive(srv->cfg)), "requests",
	    by_method(t.requests), "responses_in", by_class(t.responses_in),
	    "responses_out", by_class(t.responses_out), "retransmits_in",
	    (json_int_t)t.retransmits_in, "retransmits_out",
	    (json_int_t)t.retransmits_out, "timeouts", (json_int_t)t.timeouts,
	    "transport_errors", (json_int_t)t.transport_errors, "stray",
	    (json_int_t)t.stray, "overloads", (json_int_t)t.overloads, "alive",
	    (json_int_t)t.alive, "stateless", (json_int_t)p.stateless,
	    "parse_errors", (json_int_t)p.parse_errors, "dropped",
	    (json_int_t)p.dropped, "queue_overflows",
	    (json_int_t)(overflows + p.stream_overflows), "pending",
	    (json_int_t)pending);
	if (!o) {
		json_decref(per);
		json_decref(udp);
		return NULL;
	}
	json_object_set_new(o, "local",
			    json_pack("{s:I, s:I, s:I, s:I}", "answered",
				      (json_int_t)l.answered, "cancelled",
				      (json_int_t)l.cancelled, "refused",
				      (json_int_t)l.refused, "stray",
				      (json_int_t)l.stray));
	json_object_set_new(o, "udp", udp);
	json_object_set_new(o, "proxy", proxy_json(job, srv->nworkers));
	json_object_set_new(o, "b2bua", b2bua_json(job, srv->nworkers));
	json_object_set_new(o, "media", media_json(srv, job, srv->nworkers));
	json_object_set_new(o, "stream", stream_json(srv, &conns, &p));
	json_object_set_new(o, "per_worker", per);
	json_object_set_new(o, "live", live_json());
	serve_services_stats(srv, &d, o);
	return o;
}

/* The reply to `calls`: every worker's calls, oldest last. */
static json_t *calls_json(struct serve *srv, const struct stats_job *job)
{
	json_t *all = json_array();

	for (unsigned i = 0; all && i < srv->nworkers; i++)
		if (job->snaps[i].calls)
			json_array_extend(all, job->snaps[i].calls);
	return all ? json_pack("{s:o}", "calls", all) : NULL;
}

/* The reply to `record`: the worker that has the call answered. */
static json_t *record_json(struct serve *srv, const struct stats_job *job)
{
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct wsnap *s = &job->snaps[i];

		if (s->record_rc == -ENOENT)
			continue;
		if (s->record_rc == 0)
			return json_pack("{s:s, s:s, s:s}", "call",
					 job->record_id, "recording",
					 job->is_record_on ? "started"
							   : "stopped",
					 "path", s->record_path);
		return json_pack("{s:s}", "error",
				 s->record_rc == -ENOTSUP
				     ? "the call's media is not anchored"
				 : s->record_rc == -EALREADY
				     ? "the call is already being recorded"
				     : sb_strerror(s->record_rc));
	}
	return json_pack("{s:s}", "error", "no such call");
}

static struct stats_job *take_done(struct serve *srv)
{
	struct stats_job *list;

	uv_mutex_lock(&srv->stats_lock);
	list = srv->done;
	srv->done = NULL;
	uv_mutex_unlock(&srv->stats_lock);
	return list;
}

void serve_on_stats_done(uv_async_t *a)
{
	struct serve *srv = a->data;

	for (struct stats_job *job = take_done(srv), *next; job; job = next) {
		json_t *o = job->is_record  ? record_json(srv, job)
			    : job->is_calls ? calls_json(srv, job)
					    : stats_json(srv, job);
		json_t *e = o ? json_object_get(o, "error") : NULL;

		next = job->next;
		if (e) {
			ctl_reply_error(job->req, json_string_value(e));
			json_decref(o);
		} else if (o)
			ctl_reply(job->req, o);
		else
			ctl_reply_error(job->req, "out of memory");
		job_free(job);
	}
}

void serve_stats_flush(struct serve *srv)
{
	for (struct stats_job *job = take_done(srv), *next; job; job = next) {
		next = job->next;
		ctl_reply_error(job->req, "stopping");
		job_free(job);
	}
}

static struct stats_job *stats_start(struct serve *srv, struct ctl_req *req,
				     bool is_calls, json_t *args)
{
	unsigned n = srv->nworkers;
	struct stats_job *job =
	    sb_calloc(1, sizeof(*job) + n * sizeof(job->snaps[0]));
	json_t *call = args ? json_object_get(args, "call") : NULL;

	if (job)
		job->parts = sb_calloc(n, sizeof(*job->parts));
	if (!job || !job->parts) {
		sb_free(job);
		ctl_reply_error(req, "out of memory");
		return NULL;
	}
	job->srv = srv;
	job->req = req;
	job->is_calls = is_calls;
	if (call) { /* `record` */
		job->is_record = true;
		job->is_record_on = json_is_true(json_object_get(args, "on"));
		snprintf(job->record_id, sizeof(job->record_id), "%s",
			 json_string_value(call));
	}
	atomic_init(&job->left, n);
	for (unsigned i = 0; i < n; i++) {
		job->parts[i] = (struct stats_part){job, i};
		if (worker_post(srv->wctx[i].w, job_snap, &job->parts[i]) != 0)
			part_done(job);
	}
	return job;
}

void serve_ctl_command(void *ctx, struct ctl_req *req, const char *cmd,
		       json_t *args)
{
	struct serve *srv = ctx;
	char err[CONFIG_ERR_LEN + 64];

	if (strcmp(cmd, "stats") == 0) {
		(void)stats_start(srv, req, false, NULL);
	} else if (strcmp(cmd, "calls") == 0) {
		(void)stats_start(srv, req, true, NULL);
	} else if (strcmp(cmd, "record") == 0) {
		json_t *call = json_object_get(args, "call");

		if (!json_is_string(call) ||
		    !json_is_boolean(json_object_get(args, "on")))
			ctl_reply_error(req, "record needs \"call\" (a string) "
					     "and \"on\" (true or false)");
		else
			(void)stats_start(srv, req, false, args);
	} else if (strcmp(cmd, "reload") == 0) {
		log_info("reloading", "source=ctl");
		if (serve_reload(srv, err, sizeof(err)) == 0)
			ctl_reply(req, json_pack("{s:s}", "config",
						 config_path(srv->cfg)));
		else
			ctl_reply_error(req, err);
	} else if (strcmp(cmd, "version") == 0) {
		ctl_reply(req, json_pack("{s:s}", "version", SB_VERSION));
	} else if (strcmp(cmd, "bindings") == 0) {
		json_t *o = serve_bindings_json(srv);
		if (o)
			ctl_reply(req, o);
		else
			ctl_reply_error(req, "out of memory");
	} else if (strcmp(cmd, "users-changed") == 0) {
		/* `switchboard user` changed the database: read it now. */
		serve_users_reload(srv, "ctl");
		ctl_reply(req, json_object());
	} else {
		snprintf(err, sizeof(err),
			 "unknown command \"%.32s\" (known: stats, calls, "
			 "record, bindings, reload, version, users-changed)",
			 cmd);
		ctl_reply_error(req, err);
	}
}

void serve_log_totals(struct serve *srv)
{
	struct txn_stats t = {0};
	struct wctx_stats p = {0};
	uint64_t overflows = 0, out = 0;
	json_t *udp = udp_json(srv, &overflows);

	json_decref(udp);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		add_txn(&t, &srv->wctx[i].txn_final);
		p.parse_errors += srv->wctx[i].stats.parse_errors;
		p.dropped += srv->wctx[i].stats.dropped;
		p.stateless += srv->wctx[i].stats.stateless;
	}
	for (int c = 1; c <= 6; c++)
		out += t.responses_out[c];
	log_info("stopped",
		 "requests=%llu responses=%llu retransmits_in=%llu "
		 "stateless=%llu rejected=%llu dropped=%llu overflows=%llu",
		 (unsigned long long)sum_requests(&t), (unsigned long long)out,
		 (unsigned long long)t.retransmits_in,
		 (unsigned long long)p.stateless,
		 (unsigned long long)p.parse_errors,
		 (unsigned long long)p.dropped, (unsigned long long)overflows);
}
