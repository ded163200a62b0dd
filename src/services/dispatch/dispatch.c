/* The dispatcher: bans first, then digest auth for REGISTER and local users.
 */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "services/dispatch/dispatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "services/users/users.h"
#include "sip/msg/build.h"

#define LOG_MODULE "dispatch"

enum {
	DISPATCH_EXTRA_MAX = 4096, /* bytes of the challenge header lines */
	DISPATCH_ADDR_TEXT = 64,   /* bytes of "[ipv6]:port" plus NUL */
	DISPATCH_LOG_ESC = 96,	   /* bytes of an escaped value in a log */
	DISPATCH_TAG_LEN = 10	   /* "sb" and 8 hex digits */
};

struct dispatch {
	struct dispatch_deps deps; /* shared, borrowed */
	struct local *local;	   /* this worker's, borrowed */
	struct proxy *proxy;	   /* this worker's, borrowed; may be NULL */
	struct b2bua *b2bua;	   /* this worker's, borrowed; may be NULL */
	struct txn_user lu;	   /* the local service's callbacks */
	const struct config *cfg;  /* snapshot for new requests, borrowed */
	struct buf extra;	   /* challenge lines; reused */
	struct dispatch_stats stats;
};

/* An IP literal ("192.0.2.1", "[2001:db8::1]") as an address. */
static bool host_ip(struct slice host, struct sip_addr *out)
{
	return sip_addr_from_host(host, 0, out) == 0;
}

static bool ip_eq(const struct sip_addr *a, const struct sockaddr *b)
{
	return sip_addr_ip_eq(a, b);
}

/* host is name: the same text, or the same IP address. */
static bool host_eq(struct slice host, bool is_ip, const struct sip_addr *ip,
		    struct slice name)
{
	struct sip_addr other;

	if (slice_caseeq(host, name))
		return true;
	return is_ip && host_ip(name, &other) && ip_eq(ip, &other.sa);
}

/*
 * A To tag that is the same for every retransmission of a request we
 * answer without a transaction (RFC 3261 8.2.6.2): a hash of its Call-ID,
 * From tag and CSeq.
 */
static struct slice stateless_tag(const struct sip_msg *m,
				  char out[DISPATCH_TAG_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint32_t h = slice_hash(m->call_id) ^ m->cseq.num * 2654435761u;

	if (m->from)
		h ^= slice_hash(m->from->tag) * 40503u;
	out[0] = 's';
	out[1] = 'b';
	for (int i = 0; i < 8; i++)
		out[2 + i] = hex[(h >> (28 - 4 * i)) & 15];
	out[10] = '\0';
	return slice_make(out, DISPATCH_TAG_LEN);
}

static void reply(struct dispatch *d, struct txn *t, uint16_t status,
		  struct slice reason, struct slice extra)
{
	struct sip_reply_opts o = {
	    .status = status,
	    .reason = reason,
	    .extra = extra,
	    .server = config_user_agent(d->cfg),
	};
	int rc = txn_reply(t, &o);

	if (rc != 0)
		log_warn("reply_failed", "status=%u error=\"%s\"", status,
			 sb_strerror(rc));
}

/* RFC 3261 22.4 (401) and 22.3 (407): a fresh nonce for realm. */
static void challenge(struct dispatch *d, struct txn *t, enum auth_kind kind,
		      struct slice realm, bool is_stale, int64_t now_s)
{
	int rc;

	buf_reset(&d->extra);
	rc = auth_challenge(d->deps.auth, kind, realm, is_stale, now_s,
			    &d->extra);
	if (rc != 0) {
		d->stats.errors++;
		log_warn("challenge_failed", "error=\"%s\"", sb_strerror(rc));
		reply(d, t, 500, slice_make(NULL, 0), slice_make(NULL, 0));
		return;
	}
	reply(d, t, auth_kind_status(kind), slice_make(NULL, 0),
	      buf_slice(&d->extra));
}

/* Authenticated: the registrar answers for the user's AOR. */
static void registered(struct dispatch *d, struct txn *t, struct sip_msg *req,
		       const struct auth_result *r)
{
	const struct users_entry *e = users_entry_of(r->cred);
	char aor[LOCATION_AOR_MAX + 1];
	int n, rc;

	n = (int)(e->user.len + 1 + e->domain.len);
	if (e->user.len >= sizeof(aor) || (size_t)n >= sizeof(aor)) {
		d->stats.errors++;
		reply(d, t, 500, slice_make(NULL, 0), slice_make(NULL, 0));
		return;
	}
	memcpy(aor, e->user.p, e->user.len);
	aor[e->user.len] = '@';
	memcpy(aor + e->user.len + 1, e->domain.p, e->domain.len);
	aor[n] = '\0';
	d->stats.authenticated++;
	rc = registrar_handle(d->deps.registrar, t, req,
			      slice_make(aor, (size_t)n), e->max_bindings);
	if (rc < 0) {
		d->stats.errors++;
		reply(d, t, 500, slice_make(NULL, 0), slice_make(NULL, 0));
	}
}

/* A wrong password (or user): count it; true when it got the source banned
 * and the answer is 403. */
static bool guessed(struct dispatch *d, struct txn *t,
		    const struct auth_result *r, int64_t now_s)
{
	const struct sip_addr *src = &txn_flow(t)->remote;
	char at[DISPATCH_ADDR_TEXT], u[DISPATCH_LOG_ESC];

	if (!auth_result_is_guess(r) ||
	    !ban_fail(d->deps.ban, &src->sa, r->username, now_s))
		return false;
	log_info("banned", "src=%s user=%s", sip_addr_text(src, at, sizeof(at)),
		 log_esc(r->username, u, sizeof(u)));
	d->stats.bans++;
	if (config_bans(d->cfg)->action != CONFIG_BAN_403)
		return false; /* t still needs a final answer: the challenge */
	reply(d, t, 403, slice_make(NULL, 0), slice_make(NULL, 0));
	return true;
}

/*
 * Digest authentication of req for realm with kind's headers (401 or 407),
 * shared by REGISTER and the requests of local users. Returns true when
 * the credentials are valid (*r is AUTH_OK, r->cred lives as long as
 * snap, the success is recorded with the ban list); otherwise req got its
 * answer: a challenge (stale=true when only the nonce is old), 400 for
 * credentials that do not parse, 500, or 403 once guessing got the source
 * banned. A wrong password and an unknown user get the same challenge as
 * a request without credentials.
 */
static bool authenticate(struct dispatch *d, struct txn *t, struct sip_msg *req,
			 enum auth_kind kind, struct slice realm,
			 struct users *snap, struct auth_result *r)
{
	char at[DISPATCH_ADDR_TEXT];
	int64_t now_s = (int64_t)time(NULL);
	struct auth_verify_opts vo = {
	    .kind = kind,
	    .realm = realm,
	    .lookup = users_auth_lookup,
	    .lookup_arg = snap,
	    .now_s = now_s,
	};
	int rc = auth_verify(d->deps.auth, req, &vo, r);

	if (rc != 0) {
		d->stats.errors++;
		log_warn("auth_failed", "error=\"%s\"", sb_strerror(rc));
		reply(d, t, 500, slice_make(NULL, 0), slice_make(NULL, 0));
		return false;
	}
	log_debug("auth", "src=%s status=%u verdict=%s reason=%s",
		  sip_addr_text(&txn_flow(t)->remote, at, sizeof(at)),
		  auth_kind_status(kind), auth_verdict_name(r->verdict),
		  auth_reason_name(r->reason));
	switch (r->verdict) {
	case AUTH_OK:
		ban_success(d->deps.ban, &txn_flow(t)->remote.sa, r->username);
		return true;
	case AUTH_CHALLENGE:
		if (kind == AUTH_PROXY)
			d->stats.proxy_challenged++;
		else
			d->stats.challenged++;
		challenge(d, t, kind, realm, false, now_s);
		return false;
	case AUTH_STALE:
		d->stats.stale++;
		challenge(d, t, kind, realm, true, now_s);
		return false;
	case AUTH_FAIL:
		if (r->reason == AUTH_REASON_NONCE) {
			/* RFC 7616 3.3: a nonce we cannot use (one from
			 * before a restart): retry without asking the user.
			 * Checked before any user lookup: says nothing. */
			d->stats.stale++;
			challenge(d, t, kind, realm, true, now_s);
			return false;
		}
		/* The same answer as a first request: nothing to learn. */
		d->stats.failed++;
		if (!guessed(d, t, r, now_s))
			challenge(d, t, kind, realm, false, now_s);
		return false;
	default:
		d->stats.malformed++;
		reply(d, t, 400,
		      kind == AUTH_PROXY ? SL("Bad Proxy-Authorization")
					 : SL("Bad Authorization"),
		      slice_make(NULL, 0));
		return false;
	}
}

/*
 * RFC 3261 10.3: step 1 (are we the registrar for the Request-URI's
 * domain?), step 3 (authenticate, realm = the domain), then the registrar
 * does the rest with the AOR of the credentials.
 */
static void on_register(struct dispatch *d, struct txn *t, struct sip_msg *req)
{
	const struct sip_uri *ru = &req->ruri;
	char realm_buf[CONFIG_DOMAIN_MAX];
	struct auth_result r;
	struct users *snap;

	if ((ru->scheme != SIP_URI_SIP && ru->scheme != SIP_URI_SIPS) ||
	    ru->host.len == 0 || ru->host.len > sizeof(realm_buf) ||
	    !dispatch_is_local_domain(d->cfg, ru->host)) {
		d->stats.not_authoritative++;
		reply(d, t, 403, SL("Not Authoritative"), slice_make(NULL, 0));
		return;
	}
	snap = users_current();
	if (authenticate(d, t, req, AUTH_WWW, slice_lower(ru->host, realm_buf),
			 snap, &r))
		registered(d, t, req, &r);
	users_unref(snap);
}

/*
 * A request whose From claims one of our domains, in a method of
 * auth.challenge_methods: the user must prove it (RFC 3261 22.3: 407,
 * realm = the From domain), and be the user the From names. Any other
 * request, and ACK and CANCEL always (RFC 3261 22.1), needs none.
 */
static bool is_from_local_user(struct dispatch *d, const struct sip_msg *req)
{
	const struct sip_uri *fu;

	/* in a dialog: the route set an authenticated request made */
	if (req->to && req->to->tag.p)
		return false;
	if (req->method == SIP_METHOD_ACK || req->method == SIP_METHOD_CANCEL ||
	    !(config_auth(d->cfg)->challenge_methods &
	      (1u << (unsigned)req->method)) ||
	    !req->from)
		return false;
	fu = &req->from->uri;
	return (fu->scheme == SIP_URI_SIP || fu->scheme == SIP_URI_SIPS) &&
	       fu->host.len > 0 && fu->host.len <= CONFIG_DOMAIN_MAX &&
	       dispatch_is_local_domain(d->cfg, fu->host);
}

/* A request past the checks: the proxy's, or else the local service's. */
static void route(struct dispatch *d, struct txn *t, struct sip_msg *req)
{
	if (d->b2bua && req->to && req->to->tag.p &&
	    b2bua_request(d->b2bua, t, req))
		return;
	if (d->b2bua && b2bua_takes(d->cfg, req) &&
	    !(req->ruri.user.len == 0 &&
	      proxy_uri_is_self(d->cfg, &req->ruri))) {
		b2bua_invite(d->b2bua, t, req);
		return;
	}
	if (d->proxy && proxy_request(d->proxy, t, req))
		return;
	d->lu.on_request(d->lu.ctx, t, req);
}

/* RFC 3261 22 (issue 5): the authenticated user is the From user. */
static void on_local_user(struct dispatch *d, struct txn *t,
			  struct sip_msg *req)
{
	const struct sip_uri *fu = &req->from->uri;
	char realm_buf[CONFIG_DOMAIN_MAX];
	struct auth_result r;
	struct users *snap = users_current();

	if (!authenticate(d, t, req, AUTH_PROXY,
			  slice_lower(fu->host, realm_buf), snap, &r)) {
		users_unref(snap);
		return;
	}
	if (config_auth(d->cfg)->is_from_checked &&
	    !slice_eq(users_entry_of(r.cred)->user, fu->user)) {
		d->stats.identity_mismatch++;
		reply(d, t, 403, SL("Identity mismatch"), slice_make(NULL, 0));
	} else {
		d->stats.proxy_authenticated++;
		users_unref(snap);
		route(d, t, req);
		return;
	}
	users_unref(snap);
}

static void on_request(void *ctx, struct txn *t, struct sip_msg *req)
{
	struct dispatch *d = ctx;

	/* Draining: the local service answers 503 to everything. */
	if (local_is_draining(d->local))
		d->lu.on_request(d->lu.ctx, t, req);
	else if (req->method == SIP_METHOD_REGISTER)
		on_register(d, t, req);
	else if (is_from_local_user(d, req))
		on_local_user(d, t, req);
	else
		route(d, t, req);
}

static void on_cancel(void *ctx, struct txn *t)
{
	struct dispatch *d = ctx;

	if (d->b2bua && b2bua_cancel(d->b2bua, t))
		return;
	if (d->proxy && proxy_cancel(d->proxy, t))
		return;
	d->lu.on_cancel(d->lu.ctx, t);
}

static void on_timeout(void *ctx, struct txn *t)
{
	struct dispatch *d = ctx;

	if (d->lu.on_timeout)
		d->lu.on_timeout(d->lu.ctx, t);
}

static void on_stray(void *ctx, struct sip_inmsg *im)
{
	struct dispatch *d = ctx;

	if (d->b2bua && b2bua_stray(d->b2bua, im))
		return;
	if (d->proxy && proxy_stray(d->proxy, im))
		return;
	d->lu.on_stray(d->lu.ctx, im);
}

bool dispatch_is_local_domain(const struct config *cfg, struct slice host)
{
	struct sip_addr ip;
	bool is_ip = host_ip(host, &ip);

	for (size_t i = 0; i < config_domain_count(cfg); i++)
		if (host_eq(host, is_ip, &ip, config_domain_at(cfg, i)))
			return true;
	for (size_t i = 0; i < config_listen_count(cfg); i++) {
		const struct config_listen *l = config_listen_at(cfg, i);
		if (is_ip && ip_eq(&ip, (const struct sockaddr *)&l->addr))
			return true;
		if (l->advertise[0] &&
		    host_eq(host, is_ip, &ip, slice_cstr(l->advertise)))
			return true;
	}
	return false;
}

/* A REGISTER to our domain with no credentials at all: 401, no state. */
static bool wants_challenge(struct dispatch *d, const struct sip_msg *m)
{
	const struct sip_uri *ru = &m->ruri;

	return m && m->is_request && m->method == SIP_METHOD_REGISTER &&
	       !sip_msg_hdr(m, SIP_HDR_AUTHORIZATION) &&
	       !local_is_draining(d->local) &&
	       (ru->scheme == SIP_URI_SIP || ru->scheme == SIP_URI_SIPS) &&
	       ru->host.len > 0 && ru->host.len <= CONFIG_DOMAIN_MAX - 1 &&
	       dispatch_is_local_domain(d->cfg, ru->host);
}

enum dispatch_verdict dispatch_screen(struct dispatch *d,
				      const struct sip_msg *m,
				      const struct sip_flow *flow)
{
	if (!ban_check(d->deps.ban, &flow->remote.sa, (int64_t)time(NULL)))
		return m && wants_challenge(d, m) ? DISPATCH_CHALLENGE
						  : DISPATCH_PASS;
	if (!m || !m->is_request || m->method == SIP_METHOD_ACK ||
	    config_bans(d->cfg)->action != CONFIG_BAN_403) {
		d->stats.banned_dropped++;
		return DISPATCH_DROP;
	}
	d->stats.banned_refused++;
	return DISPATCH_REFUSE;
}

int dispatch_refusal(struct dispatch *d, const struct sip_msg *m,
		     struct slice via_params, struct buf *out)
{
	char tag[DISPATCH_TAG_LEN + 1];
	struct sip_reply_opts o = {
	    .status = 403,
	    .to_tag = stateless_tag(m, tag),
	    .server = config_user_agent(d->cfg),
	    .via_params = via_params,
	};

	buf_reset(out);
	return sip_reply_build(out, m, &o);
}

int dispatch_challenge(struct dispatch *d, const struct sip_msg *m,
		       struct slice via_params, struct buf *out)
{
	char tag[DISPATCH_TAG_LEN + 1], realm_buf[CONFIG_DOMAIN_MAX];
	struct slice realm = slice_lower(m->ruri.host, realm_buf);
	struct sip_reply_opts o = {
	    .status = (uint16_t)auth_kind_status(AUTH_WWW),
	    .to_tag = stateless_tag(m, tag),
	    .server = config_user_agent(d->cfg),
	    .via_params = via_params,
	};
	int rc;

	buf_reset(&d->extra);
	rc = auth_challenge(d->deps.auth, AUTH_WWW, realm, false,
			    (int64_t)time(NULL), &d->extra);
	if (rc != 0)
		return rc;
	o.extra = buf_slice(&d->extra);
	buf_reset(out);
	rc = sip_reply_build(out, m, &o);
	if (rc == 0)
		d->stats.challenged++;
	return rc;
}

int dispatch_new(const struct dispatch_deps *deps, struct local *local,
		 const struct config *cfg, struct dispatch **out)
{
	struct dispatch *d;

	if (!deps->auth || !deps->ban || !deps->registrar || !local || !cfg)
		return -EINVAL;
	if (!(d = sb_calloc(1, sizeof(*d))))
		return -ENOMEM;
	d->deps = *deps;
	d->local = local;
	d->lu = local_txn_user(local);
	d->cfg = cfg;
	buf_init(&d->extra, DISPATCH_EXTRA_MAX);
	*out = d;
	return 0;
}

struct dispatch *dispatch_free(struct dispatch *d)
{
	if (!d)
		return NULL;
	buf_close(&d->extra);
	sb_free(d);
	return NULL;
}

void dispatch_set_proxy(struct dispatch *d, struct proxy *p)
{
	d->proxy = p;
}

void dispatch_set_b2bua(struct dispatch *d, struct b2bua *b)
{
	d->b2bua = b;
}

void dispatch_set_config(struct dispatch *d, const struct config *cfg)
{
	d->cfg = cfg;
}

struct txn_user dispatch_txn_user(struct dispatch *d)
{
	return (struct txn_user){
	    .on_request = on_request,
	    .on_cancel = on_cancel,
	    .on_timeout = on_timeout,
	    .on_stray = on_stray,
	    .ctx = d,
	};
}

const struct dispatch_stats *dispatch_stats(const struct dispatch *d)
{
	return &d->stats;
}
