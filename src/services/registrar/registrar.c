/* The registrar: checks a REGISTER, applies it, answers (RFC 3261 10.3). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "services/registrar/registrar.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "services/registrar/registrar_int.h"
#include "sip/msg/params.h"

#define LOG_MODULE "registrar"

enum {
	REG_ARENA_FIRST = 4096,		      /* stack bytes per REGISTER */
	REG_EXTRA_MAX = SB_MSG_BYTES_CEILING, /* bytes of our header lines */
	REG_SIP_PORT = 5060,		      /* RFC 3261 19.1.2 defaults */
	REG_SIPS_PORT = 5061,
	REG_LOG_ESC = 96 /* bytes of an escaped value in a log line */
};

/* One REGISTER being handled: the update it makes, or why it cannot. */
struct reg_req {
	struct location_update u;
	struct location_contact *contacts; /* in the arena */
	bool has_path;
	bool wants_path;	    /* Supported: path (RFC 3327 5.3) */
	bool wants_outbound;	    /* Supported: outbound, with a reg-id */
	bool is_too_brief;	    /* a non-zero expiry under min_expires */
	uint16_t status;	    /* the answer when a check fails, else 0 */
	const char *reason;	    /* static; NULL: the default phrase */
	char aor[LOCATION_AOR_MAX]; /* u.aor's bytes */
};

/* A check that fails sets the answer and returns 1; 0 goes on. */
static int reject(struct reg_req *q, uint16_t status, const char *reason)
{
	q->status = status;
	q->reason = reason;
	return 1;
}

int reg_host_addr(struct slice host, struct sip_addr *out)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	if (host.len >= 2 && host.p[0] == '[' && host.p[host.len - 1] == ']')
		host = slice_make(host.p + 1, host.len - 2);
	if (host.len == 0 || host.len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, host.p, host.len);
	tmp[host.len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, tmp, &out->in.sin_addr) == 1) {
		out->in.sin_family = AF_INET;
		out->len = sizeof(out->in);
	} else if (inet_pton(AF_INET6, tmp, &out->in6.sin6_addr) == 1) {
		out->in6.sin6_family = AF_INET6;
		out->len = sizeof(out->in6);
	} else {
		return -EINVAL;
	}
	return 0;
}

static bool addr_ip_eq(const struct sip_addr *a, const struct sip_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr,
		      sizeof(a->in6.sin6_addr)) == 0;
}

/* "user@Domain" and "user@domain" are one AOR: the host is caseless. */
static bool aor_eq(struct slice a, struct slice b)
{
	size_t at_a = a.len, at_b = b.len;

	while (at_a > 0 && a.p[at_a - 1] != '@')
		at_a--;
	while (at_b > 0 && b.p[at_b - 1] != '@')
		at_b--;
	return at_a == at_b &&
	       slice_eq(slice_make(a.p, at_a), slice_make(b.p, at_b)) &&
	       slice_caseeq(slice_make(a.p + at_a, a.len - at_a),
			    slice_make(b.p + at_b, b.len - at_b));
}

/* RFC 3261 20.10: qvalue = "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]. */
static int q_parse(struct slice v, uint16_t *out)
{
	unsigned q, scale = 100;

	if (v.len == 0 || v.len > 5 || (v.p[0] != '0' && v.p[0] != '1') ||
	    (v.len > 1 && v.p[1] != '.'))
		return -EINVAL;
	q = (unsigned)(v.p[0] - '0') * 1000;
	for (size_t i = 2; i < v.len; i++, scale /= 10) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -EINVAL;
		q += (unsigned)(v.p[i] - '0') * scale;
	}
	if (q > 1000)
		return -EINVAL;
	*out = (uint16_t)q;
	return 0;
}

static const char *q_text(uint16_t q, char buf[8])
{
	size_t len;

	if (q >= 1000)
		return "1";
	snprintf(buf, 8, "0.%03u", q);
	len = strlen(buf);
	while (len > 1 && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
	return buf;
}

/* RFC 3261 8.2.2.3: we understand path only (RFC 3327). */
static int check_require(struct sip_msg *req, struct reg_req *q,
			 struct buf *extra)
{
	const struct sip_token *t;
	int rc = sip_msg_tokens(req, SIP_HDR_REQUIRE, &t);
	size_t n = 0;

	if (rc == -ENOENT)
		return 0;
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0)
		return reject(q, 400, "Bad Require");
	for (; t; t = t->next) {
		if (slice_caseeq_lit(t->value, "path"))
			continue;
		buf_printf(extra, "%s" SL_FMT,
			   n++ ? ", " : "Unsupported: ", SL_ARG(t->value));
	}
	if (n == 0)
		return 0;
	buf_append_str(extra, "\r\n");
	return reject(q, 420, NULL);
}

/* RFC 3327 5.3: keep the Path values with the bindings. */
static int check_path(struct sip_msg *req, struct reg_req *q, struct arena *a)
{
	const struct sip_nameaddr *first;
	const struct sip_hdr *h;
	size_t len = 0;
	char *p;
	int rc = sip_msg_nameaddrs(req, SIP_HDR_PATH, &first);

	q->u.path = slice_make("", 0);
	if (rc == -ENOENT)
		return 0;
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0)
		return reject(q, 400, "Bad Path");
	for (h = sip_msg_hdr(req, SIP_HDR_PATH); h;
	     h = sip_msg_hdr_next(req, h))
		len += h->value.len + (len ? 2 : 0);
	if (len > LOCATION_URI_MAX)
		return reject(q, 400, "Path Too Long");
	if (!(p = arena_alloc(a, len + 1)))
		return -ENOMEM;
	q->u.path = slice_make(p, 0);
	for (h = sip_msg_hdr(req, SIP_HDR_PATH); h;
	     h = sip_msg_hdr_next(req, h)) {
		if (p != q->u.path.p) {
			memcpy(p, ", ", 2);
			p += 2;
		}
		memcpy(p, h->value.p, h->value.len);
		p += h->value.len;
	}
	q->u.path.len = (size_t)(p - q->u.path.p);
	q->has_path = true;
	q->wants_path = sip_msg_has_token(req, SIP_HDR_SUPPORTED, "path");
	return 0;
}

/* One Contact's expiry, q, instance and reg-id (RFC 3261 10.3 step 7). */
static int check_contact(const struct registrar *r, struct reg_req *q,
			 const struct sip_nameaddr *na, const uint32_t *hdr_exp,
			 struct location_contact *c)
{
	struct slice v;
	uint32_t e = hdr_exp ? *hdr_exp : r->o.default_expires_s;
	int rc;

	if (na->uri.scheme != SIP_URI_SIP && na->uri.scheme != SIP_URI_SIPS)
		return reject(q, 400, "Unsupported Contact URI Scheme");
	if (na->uri.raw.len > LOCATION_URI_MAX)
		return reject(q, 400, "Contact Too Long");
	if (slice_is_set(na->expires)) {
		rc = slice_to_u32(na->expires, &e);
		if (rc == -ERANGE)
			e = UINT32_MAX; /* RFC 3261 20.19: cap, not error */
		else if (rc)
			return reject(q, 400, "Bad Contact Expires");
	}
	if (e && e < r->o.min_expires_s)
		q->is_too_brief = true;
	c->expires_s = e > r->o.max_expires_s ? r->o.max_expires_s : e;
	c->q_milli = LOCATION_Q_UNSET;
	if (slice_is_set(na->q) && q_parse(na->q, &c->q_milli) != 0)
		return reject(q, 400, "Bad Contact q");
	c->uri = na->uri.raw;
	c->instance = slice_make(NULL, 0);
	if (sip_params_get(na->params, "+sip.instance", &v) == 0 && v.p) {
		c->instance = sip_param_unquote(v);
		if (c->instance.len == 0 || c->instance.len > LOCATION_TEXT_MAX)
			return reject(q, 400, "Bad +sip.instance");
	}
	c->reg_id = 0;
	if (sip_params_get(na->params, "reg-id", &v) == 0 &&
	    (!v.p || slice_to_u32(v, &c->reg_id) != 0 || c->reg_id == 0))
		return reject(q, 400, "Bad reg-id");
	if (!c->instance.p)
		c->reg_id = 0; /* RFC 5626 6: reg-id means nothing alone */
	c->is_nated =
	    !q->has_path && registrar_contact_is_nated(&na->uri, q->u.flow);
	return 0;
}

/* RFC 3261 10.3 steps 6-7: Contact: *, then every contact. */
static int check_contacts(const struct registrar *r, struct sip_msg *req,
			  struct reg_req *q, struct arena *a)
{
	const struct sip_nameaddr *first, *na;
	uint32_t hdr_exp;
	bool has_hdr_exp;
	size_t n = 0;
	int rc = sip_msg_expires(req, &hdr_exp);

	if (rc == -ENOMEM)
		return rc;
	if (rc != 0 && rc != -ENOENT)
		return reject(q, 400, "Bad Expires");
	has_hdr_exp = rc == 0;
	rc = sip_msg_contacts(req, &first);
	if (rc == -ENOENT)
		return 0; /* a query: the 200 lists the bindings */
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0)
		return reject(q, 400, "Bad Contact");
	for (na = first; na; na = na->next) {
		n++;
		q->u.is_star |= na->is_star;
	}
	if (q->u.is_star && n > 1)
		return reject(q, 400, "Contact * Must Be Alone");
	if (q->u.is_star && (!has_hdr_exp || hdr_exp != 0))
		return reject(q, 400, "Contact * Needs Expires: 0");
	if (q->u.is_star)
		return 0;
	if (n > LOCATION_BINDINGS_CEILING)
		return reject(q, 400, "Too Many Contacts");
	if (!(q->contacts = arena_alloc(a, n * sizeof(*q->contacts))))
		return -ENOMEM;
	for (na = first; na; na = na->next) {
		struct location_contact *c = &q->contacts[q->u.ncontacts++];
		rc = check_contact(r, q, na, has_hdr_exp ? &hdr_exp : NULL, c);
		if (rc)
			return rc;
		q->wants_outbound |= c->reg_id != 0;
	}
	q->u.contacts = q->contacts;
	if (q->is_too_brief)
		return reject(q, 423, NULL);
	q->wants_outbound =
	    q->wants_outbound && sip_msg_has_token(req, SIP_HDR_SUPPORTED, "outbound");
	return 0;
}

/* Everything before the table: RFC 3261 10.3 steps 2 and 5 to 7. */
static int check(const struct registrar *r, struct sip_msg *req,
		 struct slice aor, struct reg_req *q, struct arena *a,
		 struct buf *extra)
{
	const struct sip_hdr *ua;
	int rc;

	if (req->method != SIP_METHOD_REGISTER)
		return reject(q, 405, NULL);
	if ((rc = check_require(req, q, extra)) != 0)
		return rc;
	if (!req->to ||
	    registrar_aor_from_uri(&req->to->uri, q->aor, LOCATION_AOR_MAX,
				   &q->u.aor) != 0)
		return reject(q, 400, "Bad To URI");
	if (!aor_eq(q->u.aor, aor))
		return reject(q, 403, "To Does Not Match Credentials");
	if (req->call_id.len == 0 || req->call_id.len > LOCATION_TEXT_MAX)
		return reject(q, 400, "Bad Call-ID");
	q->u.call_id = req->call_id;
	q->u.cseq = req->cseq.num;
	ua = sip_msg_hdr(req, SIP_HDR_USER_AGENT);
	q->u.user_agent = ua ? ua->value : slice_make("", 0);
	if (q->u.user_agent.len > LOCATION_TEXT_MAX)
		q->u.user_agent.len = LOCATION_TEXT_MAX;
	if ((rc = check_path(req, q, a)) != 0)
		return rc;
	return check_contacts(r, req, q, a);
}

static void put_date(struct buf *b, int64_t unix_s)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
					"Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
					   "May", "Jun", "Jul", "Aug",
					   "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)unix_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	/* RFC 3261 20.17: RFC 1123 date, always GMT. */
	if (tm.tm_year + 1900 < 0) { /* keeps printf's sign; never seen */
		buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
			   days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
			   tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		return;
	}
	buf_append_str(b, "Date: ");
	buf_append(b, days[tm.tm_wday], 3);
	buf_append(b, ", ", 2);
	buf_append_uint(b, (unsigned)tm.tm_mday, 2);
	buf_append(b, " ", 1);
	buf_append(b, months[tm.tm_mon], 3);
	buf_append(b, " ", 1);
	buf_append_uint(b, (unsigned)(tm.tm_year + 1900), 4);
	buf_append(b, " ", 1);
	buf_append_uint(b, (unsigned)tm.tm_hour, 2);
	buf_append(b, ":", 1);
	buf_append_uint(b, (unsigned)tm.tm_min, 2);
	buf_append(b, ":", 1);
	buf_append_uint(b, (unsigned)tm.tm_sec, 2);
	buf_append_str(b, " GMT\r\n");
}

/* RFC 3261 10.3 step 8: every current binding, then Path and Date. */
static void put_ok(const struct reg_req *q, const struct location_binding *v,
		   size_t n, struct buf *b)
{
	char qb[8];

	for (size_t i = 0; i < n; i++) {
		buf_append_str(b, "Contact: <");
		buf_append_slice(b, v[i].contact);
		buf_append_str(b, ">;expires=");
		buf_append_uint(b, v[i].expires_s, 0);
		if (v[i].q_milli != LOCATION_Q_UNSET) {
			buf_append_str(b, ";q=");
			buf_append_str(b, q_text(v[i].q_milli, qb));
		}
		if (v[i].instance.len) {
			buf_append_str(b, ";+sip.instance=\"");
			buf_append_slice(b, v[i].instance);
			buf_append(b, "\"", 1);
		}
		if (v[i].reg_id) {
			buf_append_str(b, ";reg-id=");
			buf_append_uint(b, v[i].reg_id, 0);
		}
		buf_append_str(b, "\r\n");
	}
	if (q->has_path && q->wants_path) {
		buf_append_str(b, "Path: ");
		buf_append_slice(b, q->u.path);
		buf_append_str(b, "\r\n");
	}
	if (q->wants_outbound) /* RFC 5626 6 */
		buf_append_str(b, "Require: outbound\r\n");
	put_date(b, q->u.now.unix_s);
}

/* The status for a location_update() error. */
static void update_failed(struct reg_req *q, int err)
{
	switch (err) {
	case -ESTALE: /* RFC 3261 10.3 step 7: the request fails */
		reject(q, 400, "Out of Order CSeq");
		break;
	case -EMLINK:
		reject(q, 503, "Too Many Registered Contacts");
		break;
	case -ENOSPC:
		reject(q, 503, "Location Table Full");
		break;
	case -EINVAL:
		reject(q, 400, NULL);
		break;
	default:
		reject(q, 500, NULL);
		break;
	}
}

void reg_now(const struct registrar *r, struct location_time *now)
{
	if (r->o.clock)
		r->o.clock(r->o.clock_ctx, now);
	else
		location_time_now(now);
}

int registrar_aor_from_uri(const struct sip_uri *u, char *buf, size_t cap,
			   struct slice *out)
{
	int len;

	if ((u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS) ||
	    u->user.len == 0 || u->host.len == 0)
		return -EINVAL;
	len = sip_uri_unescape(u->user, buf, cap);
	if (len == -E2BIG || (len >= 0 && (size_t)len + 1 + u->host.len > cap))
		return -E2BIG;
	if (len <= 0)
		return -EINVAL;
	buf[len] = '@';
	slice_lower(u->host, buf + len + 1);
	*out = slice_make(buf, (size_t)len + 1 + u->host.len);
	return 0;
}

bool registrar_contact_is_nated(const struct sip_uri *contact,
				const struct sip_flow *src)
{
	struct sip_addr ca;
	uint16_t port;

	if ((contact->host_type != SIP_HOST_IPV4 &&
	     contact->host_type != SIP_HOST_IPV6) ||
	    reg_host_addr(contact->host, &ca) != 0)
		return false;
	if (!addr_ip_eq(&ca, &src->remote))
		return true;
	port = contact->has_port		 ? contact->port
	       : contact->scheme == SIP_URI_SIPS ? REG_SIPS_PORT
						 : REG_SIP_PORT;
	/* A stream's source port is ephemeral; a datagram's is the UA's. */
	return src->tp == SIP_TP_UDP && port != sip_addr_port(&src->remote);
}

int registrar_handle(struct registrar *r, struct txn *t, struct sip_msg *req,
		     struct slice aor, uint32_t max_bindings)
{
	char first[REG_ARENA_FIRST];
	char esc[REG_LOG_ESC];
	struct reg_req q;
	struct location_binding *v = NULL;
	struct sip_reply_opts o;
	struct arena a;
	struct buf extra;
	ssize_t n = 0;
	int rc;

	memset(&q, 0, sizeof(q));
	arena_init(&a, first, sizeof(first), 0);
	buf_init(&extra, REG_EXTRA_MAX);
	reg_now(r, &q.u.now);
	q.u.flow = txn_flow(t);
	q.u.max_bindings = max_bindings ? max_bindings : r->o.max_bindings;
	rc = check(r, req, aor, &q, &a, &extra);
	if (rc < 0)
		reject(&q, 500, NULL);
	if (q.status == 0) {
		v = arena_alloc(&a, LOCATION_BINDINGS_CEILING * sizeof(*v));
		n = v ? location_update(r->loc, &q.u, &a, v,
					LOCATION_BINDINGS_CEILING)
		      : -ENOMEM;
		if (n < 0)
			update_failed(&q, (int)n);
		else
			put_ok(&q, v, (size_t)n, &extra);
	}
	if (q.status == 423) /* RFC 3261 10.3 step 7 */
		buf_printf(&extra, "Min-Expires: %u\r\n", r->o.min_expires_s);
	if (q.status == 405) /* RFC 3261 8.2.1 */
		buf_append_str(&extra, "Allow: REGISTER\r\n");
	if (q.status == 0 && buf_error(&extra) != 0)
		reject(&q, 500, NULL);
	if (q.status == 500)
		buf_reset(&extra);
	o = (struct sip_reply_opts){
	    .status = q.status ? q.status : 200,
	    .reason = q.reason ? slice_cstr(q.reason) : slice_make(NULL, 0),
	    .extra = extra.len ? buf_slice(&extra) : slice_make(NULL, 0),
	    .server = r->o.server,
	};
	reg_count(o.status == 200 ? &r->accepted : &r->rejected, 1);
	if (o.status == 500)
		log_warn("register_failed", "aor=%s status=%u err=%d",
			 log_esc(aor, esc, sizeof(esc)), o.status,
			 rc < 0 ? rc : (int)(n < 0 ? n : 0));
	else
		log_debug("register", "aor=%s status=%u bindings=%zd",
			  log_esc(aor, esc, sizeof(esc)), o.status, n);
	rc = txn_reply(t, &o);
	if (n > 0)
		location_bindings_clear(v, (size_t)n);
	buf_close(&extra);
	arena_close(&a);
	return rc < 0 ? rc : o.status;
}

static int store_put(void *ctx, const struct store_binding *b)
{
	return store_binding_put(ctx, b);
}

static int store_del(void *ctx, const char *aor, const char *contact)
{
	return store_binding_del(ctx, aor, contact);
}

/* Every second on the housekeeping worker: expiry, then keep-alives. */
static void on_tick(struct wheel_timer *w)
{
	struct registrar *r =
	    (struct registrar *)((char *)w - offsetof(struct registrar, tick));
	struct location_time now;

	reg_now(r, &now);
	location_expire(r->loc, now.mono_ms);
	if (r->o.keepalive != REGISTRAR_KEEPALIVE_NONE)
		reg_keepalive_run(r, &now);
	r->ticks++;
	wheel_start(r->wheel, &r->tick, REG_TICK_MS);
}

int registrar_new(const struct registrar_opts *o, struct registrar **out)
{
	struct location_opts lo = {
	    .shards = o->location_shards,
	    .max_aors = o->max_aors,
	    .persist = o->persist,
	};
	struct registrar *r;
	int err;

	if (o->min_expires_s > o->default_expires_s ||
	    o->default_expires_s > o->max_expires_s || o->max_expires_s == 0 ||
	    o->max_bindings == 0 ||
	    (o->keepalive != REGISTRAR_KEEPALIVE_NONE &&
	     o->keepalive_interval_s == 0))
		return -EINVAL;
	if (!lo.persist.put && !lo.persist.del && o->store)
		lo.persist =
		    (struct location_persist){store_put, store_del, o->store};
	if (!(r = sb_calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->o = *o;
	if (!r->o.send)
		r->o.send = tp_send;
	wheel_timer_init(&r->tick, on_tick);
	err = location_new(&lo, &r->loc);
	if (err) {
		sb_free(r);
		return err;
	}
	*out = r;
	return 0;
}

struct registrar *registrar_free(struct registrar *r)
{
	if (!r)
		return NULL;
	r->loc = location_free(r->loc);
	sb_free(r);
	return NULL;
}

struct location *registrar_location(struct registrar *r)
{
	return r->loc;
}

ssize_t registrar_expire(struct registrar *r)
{
	struct location_time now;

	reg_now(r, &now);
	return location_expire(r->loc, now.mono_ms);
}

int registrar_start(struct registrar *r, struct txn_layer *tl,
		    struct wheel *wheel)
{
	if (r->wheel)
		return -EALREADY;
	r->tl = tl;
	r->wheel = wheel;
	wheel_start(wheel, &r->tick, REG_TICK_MS);
	return 0;
}

void registrar_stop(struct registrar *r)
{
	if (!r->wheel)
		return;
	wheel_stop(r->wheel, &r->tick);
	reg_keepalive_stop(r);
	r->wheel = NULL;
	r->tl = NULL;
}

void registrar_stats(const struct registrar *r, struct registrar_stats *out)
{
	out->accepted =
	    atomic_load_explicit(&r->accepted, memory_order_relaxed);
	out->rejected =
	    atomic_load_explicit(&r->rejected, memory_order_relaxed);
	out->restored =
	    atomic_load_explicit(&r->restored, memory_order_relaxed);
	out->pings_sent =
	    atomic_load_explicit(&r->pings_sent, memory_order_relaxed);
	out->pings_failed =
	    atomic_load_explicit(&r->pings_failed, memory_order_relaxed);
	out->pings_in_flight =
	    atomic_load_explicit(&r->pings_in_flight, memory_order_relaxed);
	location_stats(r->loc, &out->location);
}
