/* Private to the runtime's serve*.c: the server's state and shared helpers. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_RUNTIME_SERVE_INT_H
#define SB_RUNTIME_SERVE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "runtime/config.h"
#include "runtime/ctl.h"
#include "runtime/worker.h"
#include "services/dispatch/dispatch.h"
#include "services/local/local.h"
#include "media/media.h"
#include "media/ng.h"
#include "services/b2bua/b2bua.h"
#include "services/proxy/proxy.h"
#include "sip/resolve/resolve.h"
#include "sip/transport/stream.h"
#include "sip/txn/txn.h"
#include "store/store.h"

struct serve;
struct stats_job;

/* Counters of the pipeline on one worker (worker thread only). */
struct wctx_stats {
	uint64_t parse_errors;	    /* requests answered with a parse error */
	uint64_t dropped;	    /* messages dropped without an answer */
	uint64_t stateless;	    /* OPTIONS answered without a transaction */
	uint64_t stream_handed_off; /* stream messages queued to another */
	uint64_t stream_overflows;  /* stream messages refused: queue full */
};

/* One worker's runtime state. Worker thread only, except where noted. */
struct wctx {
	struct serve *srv;
	struct worker *w;	 /* main thread: made, started, freed */
	struct config *cfg;	 /* snapshot for new requests (reference) */
	struct config **retired; /* earlier snapshots: messages and the
				    layer may point into them; dropped at
				    the end */
	size_t nretired;
	struct txn_layer *tl;
	struct local *local;
	struct dispatch *dispatch;   /* the layer's transaction user */
	struct proxy *proxy;	     /* the dispatcher's proxy */
	struct b2bua *b2bua;	     /* the dispatcher's B2BUA */
	struct media *media;	     /* the B2BUA's RTP relay on this loop */
	struct ng_client *ng;	     /* rtpengine, when configured */
	struct resolver *resolver;   /* the proxy's DNS, on this loop */
	struct tp_conn_table *table; /* stream connections; made on the
					worker, freed after it (main) */
	int stream_err;		     /* on_start's outcome, for the main
					thread once stream_ready is posted */
	const struct tp_listener *stream_err_at; /* the listener that failed */
	struct buf out; /* a stateless reply being built */
	struct wctx_stats stats;
	struct txn_stats txn_final;	/* the layer's, kept at its end */
	struct local_stats local_final; /* the service's, kept at its end */
	struct dispatch_stats dispatch_final; /* the dispatcher's, likewise */
	struct proxy_stats proxy_final;	      /* the proxy's, likewise */
	struct b2bua_stats b2bua_final;	      /* the B2BUA's, likewise */
	struct media_counts media_final;      /* the relay's, likewise */
	struct ng_stats ng_final;	      /* rtpengine's client, likewise */
	bool is_draining;
	_Atomic uint32_t pending_pub; /* local_pending, published */
	_Atomic bool has_seen_drain;  /* the drain reached this worker */
};

struct serve {
	uv_loop_t loop; /* main thread: signals, ctl, drain */
	uv_signal_t sigint, sigterm, sighup;
	uv_timer_t drain_timer;
	uv_async_t stats_done; /* a stats job has every answer */
	uv_mutex_t stats_lock;
	struct stats_job *done; /* lock: stats_lock */
	bool is_stats_open;	/* lock: stats_lock */
	struct ctl *ctl;
	struct config *cfg;	     /* current snapshot (main thread) */
	struct config *svc_cfg;	     /* the first snapshot: what the services
					below were made with (restart to change) */
	struct store *store;	     /* bindings and users; its own thread */
	struct auth_ctx *auth;	     /* shared by the workers */
	struct ban *ban;	     /* shared by the workers */
	struct registrar *registrar; /* shared; housekeeping on worker 0 */
	struct media_ports *ports;   /* RTP ports of every worker's relay */
	struct recorder *recorder;   /* call recordings; its own thread */
	unsigned nworkers;
	struct wctx *wctx;	 /* [nworkers] */
	struct worker **workers; /* [nworkers], for the listeners */
	struct tp_listener **ls; /* every transport's */
	size_t nls;
	struct tp_tls_ctx *tls;	  /* made when a tls: listener exists */
	struct tp_stream *stream; /* TCP and TLS, all workers */
	uv_sem_t stream_ready;	  /* posted by each worker's on_start */
	bool has_stream_ready;	  /* stream_ready was initialised */
	uint64_t start_ms;	  /* loop clock at start */
	uint64_t drain_start_ms, drain_deadline_ms;
	bool is_listening; /* readers were posted to the workers */
	bool is_draining;
	bool is_stopping;
};

/* serve.c: load the file again and hand the snapshot to the workers.
 * Returns 0, or an error with the loader's message in err. */
int serve_reload(struct serve *srv, char *err, size_t err_len);

/* serve_stream.c: TCP and TLS in the runtime */

/* Main thread, before the workers start: the TLS context (when a tls:
 * listener exists) and the stream transport. Returns 0 or an error
 * (logged). */
int serve_stream_open(struct serve *srv);
/* Main thread: bind a tcp: or tls: listener (see tp_stream_listener_new). */
int serve_stream_listener_new(struct serve *srv, const struct config_listen *c,
			      struct tp_listener **out);
/* On each worker: its connection table and its listening sockets. */
void serve_stream_on_start(struct wctx *wc, struct worker *w);
/* Main thread: wait for the `started` workers' on_start. Returns 0 or
 * the first error (logged). */
int serve_stream_wait(struct serve *srv, unsigned started);
/* On each worker at stop: close its listeners and connections. */
void serve_stream_on_stop(struct wctx *wc);
/* After the workers are freed: tables, the stream, the TLS context. */
void serve_stream_close(struct serve *srv);

/* serve_services.c: store, subscribers, auth, bans, registrar */

/* Main thread, before the workers are made: open the store, load the
 * users (waiting for them), make the auth context, the ban list and the
 * registrar. Returns 0 or an error (logged). */
int serve_services_open(struct serve *srv);
/* Main thread, once the listeners exist and before any traffic: restore
 * the persisted bindings (waiting for them). Returns 0 or an error. */
int serve_services_restore(struct serve *srv);
/* After the workers stopped, before the stream connections go. */
void serve_services_close(struct serve *srv);
/* Read the users again and publish them (any thread; asynchronous). */
void serve_users_reload(struct serve *srv, const char *why);
/* `ctl bindings`: every live binding, or NULL (out of memory). */
json_t *serve_bindings_json(struct serve *srv);
/* Add the auth, bans, registrar and store counters to a stats reply. */
void serve_services_stats(struct serve *srv, const struct dispatch_stats *d,
			  json_t *o);
void serve_dispatch_stats_add(struct dispatch_stats *sum,
			      const struct dispatch_stats *s);

/* serve_ctl.c: the control commands and the counters they report. */
void serve_ctl_command(void *ctx, struct ctl_req *req, const char *cmd,
		       json_t *args);
void serve_on_stats_done(uv_async_t *a);
/* Answer stats requests that could not finish (at stop). */
void serve_stats_flush(struct serve *srv);
/* The closing "stopped" line with totals (workers stopped). */
void serve_log_totals(struct serve *srv);

#endif
