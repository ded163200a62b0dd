/* The runtime's services: store, subscribers, auth, bans, registrar. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "runtime/serve_int.h"
#include "services/users/users.h"

#define LOG_MODULE "serve"

enum {
	SERVE_FLOW_TEXT = 64 /* bytes of "[ipv6]:port" plus NUL */
};

/* A start-up read the main thread waits for. */
struct wait_read {
	struct serve *srv;
	uv_sem_t done;
	int err; /* the read's outcome */
};

/*
 * Users read from the store (store thread): a new credential snapshot
 * replaces the current one whole. A failed read keeps the old one.
 */
static void on_users(void *arg, int err, const struct store_user *u, size_t n)
{
	struct wait_read *w = arg;
	struct users *snap = NULL;

	if (err == 0)
		err = users_new(u, n, &snap);
	if (err == 0) {
		log_info("users_loaded", "users=%zu", users_count(snap));
		users_publish(snap);
	} else {
		log_error("users_load_failed", "error=\"%s\"",
			  sb_strerror(err));
	}
	if (w) {
		w->err = err;
		uv_sem_post(&w->done);
	}
}

/* A binding whose user no longer exists: its AOR goes (user del). */
static int on_binding_check(void *arg, const struct location_binding *b)
{
	struct serve *srv = arg;
	struct users *snap = users_current();
	const char *at = memrchr(b->aor.p, '@', b->aor.len);
	size_t ulen = at ? (size_t)(at - b->aor.p) : 0;
	bool is_known =
	    at && users_lookup(snap, slice_make(b->aor.p, ulen),
			       slice_make(at + 1, b->aor.len - ulen - 1));

	users_unref(snap);
	if (!is_known) {
		ssize_t n = location_remove_aor(
		    registrar_location(srv->registrar), b->aor);
		char v[160];
		if (n > 0)
			log_info(
			    "bindings_removed", "aor=%s count=%zd reason=%s",
			    log_esc(b->aor, v, sizeof(v)), n, "user_deleted");
	}
	return 0;
}

/*
 * Users reloaded while running (store thread): publish them, then drop the
 * bindings of users that were deleted, so that nobody is routed to them.
 */
static void on_users_reloaded(void *arg, int err, const struct store_user *u,
			      size_t n)
{
	struct serve *srv = arg;
	struct location_time now;

	on_users(NULL, err, u, n);
	if (err != 0 || !srv->registrar)
		return;
	location_time_now(&now);
	location_list(registrar_location(srv->registrar), now.mono_ms,
		      on_binding_check, srv);
}

/* Persisted bindings (store thread, before traffic): into the table. */
static void on_bindings(void *arg, int err, const struct store_binding *b,
			size_t n)
{
	struct wait_read *w = arg;

	if (err == 0)
		registrar_restore(w->srv->registrar, b, n, NULL);
	else
		log_error("restore_failed", "error=\"%s\"", sb_strerror(err));
	w->err = err;
	uv_sem_post(&w->done);
}

/* Run a store read and wait for its callback. */
static int read_wait(struct serve *srv, bool is_users)
{
	struct wait_read w = {.srv = srv};
	int rc = uv_sem_init(&w.done, 0);

	if (rc != 0)
		return rc;
	rc = is_users ? store_users_load(srv->store, NULL, on_users, &w)
		      : store_bindings_load(srv->store, (int64_t)time(NULL),
					    NULL, on_bindings, &w);
	if (rc == 0) {
		uv_sem_wait(&w.done);
		rc = w.err;
	}
	uv_sem_destroy(&w.done);
	return rc;
}

/* The command line changed the database (store thread). */
static void on_users_changed(void *ctx)
{
	serve_users_reload(ctx, "store");
}

static int open_auth(struct serve *srv)
{
	const struct config_auth *a = config_auth(srv->svc_cfg);
	struct auth_opts o = {
	    .nonce_lifetime_s = a->nonce_lifetime_s,
	    .offer = (a->is_md5_offered ? AUTH_OFFER_MD5 : 0u) |
		     (a->is_sha256_offered ? AUTH_OFFER_SHA256 : 0u),
	};
	int rc = auth_ctx_new(&o, &srv->auth);

	if (rc != 0)
		log_error("auth_failed", "error=\"%s\"", sb_strerror(rc));
	return rc;
}

static int open_ban(struct serve *srv)
{
	const struct config_bans *b = config_bans(srv->svc_cfg);
	struct ban_opts o = {
	    .src_threshold = b->failures_per_ip,
	    .user_threshold = b->failures_per_user,
	    .window_s = b->window_s,
	    .ban_s = b->ban_s,
	};
	int rc = ban_new(&o, &srv->ban);

	if (rc != 0)
		log_error("bans_failed", "error=\"%s\"", sb_strerror(rc));
	return rc;
}

static int open_registrar(struct serve *srv)
{
	static const enum registrar_keepalive ka[] = {
	    [CONFIG_KEEPALIVE_NONE] = REGISTRAR_KEEPALIVE_NONE,
	    [CONFIG_KEEPALIVE_OPTIONS] = REGISTRAR_KEEPALIVE_OPTIONS,
	    [CONFIG_KEEPALIVE_CRLF] = REGISTRAR_KEEPALIVE_CRLF,
	};
	const struct config_registrar *c = config_registrar(srv->svc_cfg);
	struct registrar_opts o = registrar_opts_default();
	int rc;

	o.min_expires_s = c->min_expires_s;
	o.max_expires_s = c->max_expires_s;
	o.default_expires_s = c->default_expires_s;
	o.max_bindings = c->max_bindings;
	o.max_aors = c->max_aors;
	o.keepalive = ka[c->keepalive];
	o.keepalive_interval_s = c->keepalive_interval_s;
	/* Lives in svc_cfg, which outlives the registrar. */
	o.server = config_user_agent(srv->svc_cfg);
	o.store = srv->store;
	o.workers = srv->nworkers; /* housekeeping runs on worker 0 */
	o.owner = 0;
	rc = registrar_new(&o, &srv->registrar);
	if (rc != 0)
		log_error("registrar_failed", "error=\"%s\"", sb_strerror(rc));
	return rc;
}

int serve_services_open(struct serve *srv)
{
	struct store_opts so = {
	    .data_dir = config_data_dir(srv->cfg),
	    .flush_ms = config_store(srv->cfg)->flush_ms,
	    .on_users_changed = on_users_changed,
	    .ctx = srv,
	    .cdr_csv = config_b2bua(srv->cfg)->cdr_csv,
	    .is_cdr_db_off = !config_b2bua(srv->cfg)->is_cdr_sqlite,
	};
	int rc;

	srv->svc_cfg = config_ref(srv->cfg);
	rc = store_open(&so, &srv->store);
	if (rc != 0)
		return rc; /* logged by the store */
	rc = read_wait(srv, true);
	if (rc == 0)
		rc = open_auth(srv);
	if (rc == 0)
		rc = open_ban(srv);
	if (rc == 0)
		rc = open_registrar(srv);
	return rc;
}

int serve_services_restore(struct serve *srv)
{
	return read_wait(srv, false);
}

void serve_services_close(struct serve *srv)
{
	/*
	 * The store first: its thread may still be reloading users and
	 * pruning bindings; once it is joined nothing touches the registrar,
	 * whose free persists nothing.
	 */
	srv->store = store_close(srv->store);
	srv->registrar = registrar_free(srv->registrar);
	users_publish(NULL);
	srv->ban = ban_free(srv->ban);
	srv->auth = auth_ctx_free(srv->auth);
	if (srv->svc_cfg)
		srv->svc_cfg = config_unref(srv->svc_cfg);
}

void serve_users_reload(struct serve *srv, const char *why)
{
	int rc;

	if (!srv->store)
		return;
	rc = store_users_load(srv->store, NULL, on_users_reloaded, srv);
	if (rc != 0)
		log_warn("users_reload_failed", "source=%s error=\"%s\"", why,
			 sb_strerror(rc));
	else
		log_debug("users_reloading", "source=%s", why);
}

/* One binding as `ctl bindings` shows it. */
static int on_binding(void *arg, const struct location_binding *b)
{
	json_t *list = arg, *o;
	char ip[INET6_ADDRSTRLEN], src[SERVE_FLOW_TEXT];
	const char *tp = b->flow.tp == SIP_TP_TLS   ? "tls"
			 : b->flow.tp == SIP_TP_TCP ? "tcp"
						    : "udp";
	const char *listener =
	    b->flow.listener ? tp_listener_name(b->flow.listener) : "";

	sip_addr_ip(&b->flow.remote, ip, sizeof(ip));
	snprintf(src, sizeof(src),
		 b->flow.remote.sa.sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		 ip, sip_addr_port(&b->flow.remote));
	o = json_pack("{s:s%, s:s%, s:I, s:s, s:s, s:s, s:b, s:b, s:I}", "aor",
		      b->aor.p, b->aor.len, "contact", b->contact.p,
		      b->contact.len, "expires_s", (json_int_t)b->expires_s,
		      "transport", tp, "source", src, "listener", listener,
		      "nated", b->is_nated, "use_flow", b->use_flow, "cseq",
		      (json_int_t)b->cseq);
	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "call_id",
			    json_stringn(b->call_id.p, b->call_id.len));
	if (b->q_milli != LOCATION_Q_UNSET)
		json_object_set_new(o, "q", json_real(b->q_milli / 1000.0));
	if (b->path.len)
		json_object_set_new(o, "path",
				    json_stringn(b->path.p, b->path.len));
	if (b->user_agent.len)
		json_object_set_new(
		    o, "user_agent",
		    json_stringn(b->user_agent.p, b->user_agent.len));
	if (b->instance.len) {
		json_object_set_new(
		    o, "instance",
		    json_stringn(b->instance.p, b->instance.len));
		json_object_set_new(o, "reg_id",
				    json_integer((json_int_t)b->reg_id));
	}
	if (b->ping_failures)
		json_object_set_new(o, "ping_failures",
				    json_integer((json_int_t)b->ping_failures));
	return json_array_append_new(list, o) == 0 ? 0 : -ENOMEM;
}

json_t *serve_bindings_json(struct serve *srv)
{
	struct location_time now;
	struct registrar_stats st;
	json_t *list = json_array();
	int rc;

	if (!list || !srv->registrar) {
		json_decref(list);
		return NULL;
	}
	location_time_now(&now);
	rc = location_list(registrar_location(srv->registrar), now.mono_ms,
			   on_binding, list);
	if (rc != 0) {
		json_decref(list);
		return NULL;
	}
	registrar_stats(srv->registrar, &st);
	return json_pack("{s:I, s:I, s:o}", "aors",
			 (json_int_t)st.location.aors, "count",
			 (json_int_t)json_array_size(list), "bindings", list);
}

static json_t *auth_json(struct serve *srv, const struct dispatch_stats *d)
{
	struct auth_stats a;
	json_t *v = json_object(), *r = json_object();

	auth_stats_get(srv->auth, &a);
	for (int i = 0; i < AUTH_VERDICT__COUNT; i++)
		json_object_set_new(v, auth_verdict_name((enum auth_verdict)i),
				    json_integer((json_int_t)a.verdicts[i]));
	for (int i = 1; i < AUTH_REASON__COUNT; i++)
		json_object_set_new(r, auth_reason_name((enum auth_reason)i),
				    json_integer((json_int_t)a.reasons[i]));
	return json_pack(
	    "{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I}",
	    "verdicts", v, "reasons", r, "digests", (json_int_t)a.digests,
	    "challenges", (json_int_t)a.challenges, "challenged",
	    (json_int_t)d->challenged, "proxy_challenged",
	    (json_int_t)d->proxy_challenged, "proxy_authenticated",
	    (json_int_t)d->proxy_authenticated, "identity_mismatch",
	    (json_int_t)d->identity_mismatch, "stale", (json_int_t)d->stale,
	    "failed", (json_int_t)d->failed, "malformed",
	    (json_int_t)d->malformed, "authenticated",
	    (json_int_t)d->authenticated, "not_authoritative",
	    (json_int_t)d->not_authoritative, "errors", (json_int_t)d->errors);
}

static json_t *bans_json(struct serve *srv, const struct dispatch_stats *d)
{
	struct ban_stats b;

	ban_stats_get(srv->ban, &b);
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "failures",
	    (json_int_t)b.failures, "bans", (json_int_t)b.bans, "banned",
	    (json_int_t)b.banned, "checks_banned", (json_int_t)b.dropped,
	    "dropped", (json_int_t)d->banned_dropped, "refused",
	    (json_int_t)d->banned_refused, "evictions", (json_int_t)b.evictions,
	    "sources", (json_int_t)b.sources, "users", (json_int_t)b.users);
}

static json_t *registrar_json(struct serve *srv)
{
	struct registrar_stats r;

	registrar_stats(srv->registrar, &r);
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "accepted", (json_int_t)r.accepted, "rejected",
	    (json_int_t)r.rejected, "restored", (json_int_t)r.restored, "aors",
	    (json_int_t)r.location.aors, "bindings",
	    (json_int_t)r.location.bindings, "bytes",
	    (json_int_t)r.location.bytes, "expired",
	    (json_int_t)r.location.expired, "persist_errors",
	    (json_int_t)r.location.persist_errors, "pings_sent",
	    (json_int_t)r.pings_sent, "pings_failed",
	    (json_int_t)r.pings_failed, "pings_in_flight",
	    (json_int_t)r.pings_in_flight);
}

static json_t *store_json(struct serve *srv)
{
	struct store_stats s;

	store_stats_get(srv->store, &s);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "queued",
			 (json_int_t)s.queued, "writes", (json_int_t)s.writes,
			 "commits", (json_int_t)s.commits, "commit_errors",
			 (json_int_t)s.commit_errors, "reads",
			 (json_int_t)s.reads, "refused", (json_int_t)s.refused,
			 "outside_changes", (json_int_t)s.outside_changes);
}

void serve_services_stats(struct serve *srv, const struct dispatch_stats *d,
			  json_t *o)
{
	struct users *snap;

	if (!srv->store || !srv->auth || !srv->ban || !srv->registrar)
		return;
	snap = users_current();
	json_object_set_new(o, "users",
			    json_integer((json_int_t)users_count(snap)));
	users_unref(snap);
	json_object_set_new(o, "auth", auth_json(srv, d));
	json_object_set_new(o, "bans", bans_json(srv, d));
	json_object_set_new(o, "registrar", registrar_json(srv));
	json_object_set_new(o, "store", store_json(srv));
}

void serve_dispatch_stats_add(struct dispatch_stats *sum,
			      const struct dispatch_stats *s)
{
	sum->banned_dropped += s->banned_dropped;
	sum->banned_refused += s->banned_refused;
	sum->not_authoritative += s->not_authoritative;
	sum->challenged += s->challenged;
	sum->proxy_challenged += s->proxy_challenged;
	sum->proxy_authenticated += s->proxy_authenticated;
	sum->identity_mismatch += s->identity_mismatch;
	sum->stale += s->stale;
	sum->failed += s->failed;
	sum->malformed += s->malformed;
	sum->authenticated += s->authenticated;
	sum->bans += s->bans;
	sum->errors += s->errors;
}
