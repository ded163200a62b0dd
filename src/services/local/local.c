/* The local service: answers what switchboard itself can answer today. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "services/local/local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

#include "base/rand.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "sip/msg/build.h"

#define LOG_MODULE "local"

enum {
	LOCAL_TAG_BYTES = 8,		  /* random bytes in a To-tag */
	LOCAL_UNSUPPORTED_MAX_LEN = 2048, /* bytes of the Unsupported line */
	LOCAL_ADDR_TEXT = 64		  /* bytes of "[ipv6]:port" plus NUL */
};

/* The decision for one request: status, reason and extra header lines. */
struct answer {
	unsigned status; /* 0: no response is due */
	struct slice reason;
	struct slice extra;
	struct buf unsupported; /* holds extra for a 420 */
};

/* An INVITE whose answer waits for local.invite_delay_ms. */
struct hold {
	struct hold *next, **pprev; /* l->holds */
	struct local *l;
	struct txn *t;		  /* the layer's; alive until we answer */
	const struct config *cfg; /* snapshot it arrived under */
	struct wheel_timer timer;
};

struct local {
	struct wheel *wheel;	  /* the worker's */
	const struct config *cfg; /* for new requests; borrowed */
	bool is_draining;
	struct hold *holds; /* INVITEs waiting for their answer */
	uint32_t pending;   /* entries in holds */
	struct local_stats stats;
};

/*
 * The methods this server answers on purpose (RFC 3261 8.2.1): OPTIONS gets
 * a 200, REGISTER goes to the registrar (services/dispatch) before it could
 * reach us, ACK is absorbed, CANCEL and BYE get 481 since no transaction or
 * dialog exists yet. The one list used for every Allow header we send.
 */
#define LOCAL_ALLOW "OPTIONS, REGISTER, ACK, CANCEL, BYE"

static const char allow_hdr[] = "Allow: " LOCAL_ALLOW "\r\n";

/* RFC 3261 11.2: what an OPTIONS response tells about us. */
static const char options_hdrs[] = "Allow: " LOCAL_ALLOW "\r\n"
				   "Supported:\r\n"
				   "Accept: application/sdp\r\n";

/* Option tags we implement (RFC 3261 8.2.2.3); none yet. */
static const char *const supported_tags[] = {NULL};

/* A fresh To-tag: 16 lower-case hex digits (RFC 3261 19.3: random). */
static struct slice tag_make(char out[2 * LOCAL_TAG_BYTES + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t r = sb_rand64();

	for (int i = 0; i < 2 * LOCAL_TAG_BYTES; i++, r >>= 4)
		out[i] = hex[r & 15];
	out[2 * LOCAL_TAG_BYTES] = '\0';
	return slice_make(out, 2 * LOCAL_TAG_BYTES);
}

static bool is_supported(struct slice tag)
{
	for (size_t i = 0; supported_tags[i]; i++)
		if (slice_caseeq_lit(tag, supported_tags[i]))
			return true;
	return false;
}

/*
 * RFC 3261 8.2.2.3: a Require naming an option tag we do not implement is
 * answered 420 with those tags in Unsupported. Returns 0 with a->status
 * left 0 when every tag is understood (or there is no Require), 0 with the
 * answer set, or an error.
 */
static int check_require(struct sip_msg *req, struct answer *a)
{
	const struct sip_token *t;
	int rc = sip_msg_tokens(req, SIP_HDR_REQUIRE, &t);
	size_t n = 0;

	if (rc == -ENOENT)
		return 0;
	if (rc == -EBADMSG || rc == -E2BIG) {
		a->status = 400;
		a->reason = SL("Bad Require header");
		return 0;
	}
	if (rc != 0)
		return rc;
	buf_append_str(&a->unsupported, "Unsupported: ");
	for (; t; t = t->next) {
		if (is_supported(t->value))
			continue;
		buf_printf(&a->unsupported, "%s" SL_FMT, n++ ? ", " : "",
			   SL_ARG(t->value));
	}
	buf_append_str(&a->unsupported, "\r\n");
	if (n == 0)
		return 0;
	if (buf_error(&a->unsupported) != 0)
		return buf_error(&a->unsupported);
	a->status = 420;
	a->extra = buf_slice(&a->unsupported);
	return 0;
}

/* What switchboard answers to req today; the one rule for both paths. */
static int decide(struct sip_msg *req, struct answer *a)
{
	int rc;

	a->status = 0;
	a->reason = slice_make(NULL, 0);
	a->extra = slice_make(NULL, 0);
	switch (req->method) {
	case SIP_METHOD_ACK:
		return 0; /* RFC 3261 17.1.1.3: ACK is never answered */
	case SIP_METHOD_UNKNOWN:
		/* RFC 3261 8.2.1: 501 for a method we do not recognise. */
		a->status = 501;
		a->extra = SL(allow_hdr);
		return 0;
	case SIP_METHOD_OPTIONS:
	case SIP_METHOD_CANCEL:
	case SIP_METHOD_BYE:
		break;
	default:
		/* RFC 3261 8.2.1: 405 with Allow for a known method. */
		a->status = 405;
		a->extra = SL(allow_hdr);
		return 0;
	}
	/* RFC 3261 8.2.2.3: CANCEL carries no Require; check the others. */
	if (req->method != SIP_METHOD_CANCEL) {
		rc = check_require(req, a);
		if (rc != 0 || a->status != 0)
			return rc;
	}
	/* RFC 3261 9.2 and 12.2.2: no transaction or dialog exists yet. */
	if (req->method != SIP_METHOD_OPTIONS ||
	    (req->to && slice_is_set(req->to->tag))) {
		a->status = 481;
		return 0;
	}
	a->status = 200;
	a->extra = SL(options_hdrs);
	return 0;
}

static int reply(const struct local_ctx *ctx, const struct sip_msg *req,
		 unsigned status, struct slice reason, struct slice extra,
		 struct buf *out)
{
	char tag[2 * LOCAL_TAG_BYTES + 1];
	struct sip_reply_opts o = {
	    .status = (uint16_t)status,
	    .reason = reason,
	    .to_tag = tag_make(tag),
	    .extra = extra,
	    .server = ctx->server,
	    .via_params = ctx->via_params,
	};
	int rc = sip_reply_build(out, req, &o);

	return rc != 0 ? rc : (int)status;
}

int local_handle(const struct local_ctx *ctx, struct sip_msg *req,
		 struct buf *out)
{
	struct answer a;
	int rc;

	buf_init(&a.unsupported, LOCAL_UNSUPPORTED_MAX_LEN);
	rc = decide(req, &a);
	if (rc == 0 && a.status != 0)
		rc = reply(ctx, req, a.status, a.reason, a.extra, out);
	buf_close(&a.unsupported);
	return rc;
}

int local_reject(const struct local_ctx *ctx, const struct sip_msg *req,
		 const struct sip_perr *perr, struct buf *out)
{
	struct slice reason =
	    perr->reason ? slice_cstr(perr->reason) : slice_make(NULL, 0);

	if (perr->status == 405 || perr->status == 501)
		return reply(ctx, req, perr->status, reason, SL(allow_hdr),
			     out);
	return reply(ctx, req, perr->status, reason, slice_make(NULL, 0), out);
}

static const char *peer_text(const struct txn *t, char *out, size_t cap)
{
	return sip_addr_text(&txn_flow(t)->remote, out, cap);
}

/* Answer t from its request under cfg; logs one debug line. */
static void answer_txn(struct local *l, struct txn *t, const struct config *cfg)
{
	struct sip_msg *req = txn_request(t);
	struct sip_reply_opts o = {.server = config_user_agent(cfg)};
	char from[LOCAL_ADDR_TEXT], m[64];
	struct answer a;
	int rc;

	buf_init(&a.unsupported, LOCAL_UNSUPPORTED_MAX_LEN);
	rc = decide(req, &a);
	if (rc == 0 && a.status == 0)
		rc = -EINVAL; /* ACK never reaches here: the layer takes it */
	if (rc != 0) {
		a.status = 500;
		a.reason = slice_make(NULL, 0);
		a.extra = slice_make(NULL, 0);
	}
	o.status = (uint16_t)a.status;
	o.reason = a.reason;
	o.extra = a.extra;
	/* The request may be released by txn_reply(): copy what we log. */
	log_esc(req->method_name, m, sizeof(m));
	/* Logged before the answer leaves, so the line precedes it. */
	log_debug("request", "method=%s from=%s status=%u", m,
		  peer_text(t, from, sizeof(from)), a.status);
	rc = txn_reply(t, &o);
	buf_close(&a.unsupported);
	if (rc == 0)
		l->stats.answered++;
	else
		log_warn("reply_failed", "method=%s status=%u error=\"%s\"", m,
			 a.status, sb_strerror(rc));
}

static void hold_free(struct hold *h)
{
	struct local *l = h->l;

	wheel_stop(l->wheel, &h->timer);
	*h->pprev = h->next;
	if (h->next)
		h->next->pprev = h->pprev;
	l->pending--;
	sb_free(h);
}

static void on_hold_timer(struct wheel_timer *w)
{
	struct hold *h =
	    (struct hold *)((char *)w - offsetof(struct hold, timer));
	struct local *l = h->l;
	struct txn *t = h->t;
	const struct config *cfg = h->cfg;

	hold_free(h);
	answer_txn(l, t, cfg);
}

/* Delay the answer to an INVITE; false when out of memory. */
static bool hold_start(struct local *l, struct txn *t, uint32_t delay_ms)
{
	struct hold *h = sb_calloc(1, sizeof(*h));

	if (!h)
		return false;
	h->l = l;
	h->t = t;
	h->cfg = l->cfg;
	h->next = l->holds;
	if (h->next)
		h->next->pprev = &h->next;
	h->pprev = &l->holds;
	l->holds = h;
	l->pending++;
	wheel_timer_init(&h->timer, on_hold_timer);
	wheel_start(l->wheel, &h->timer, delay_ms);
	return true;
}

static void on_request(void *ctx, struct txn *t, struct sip_msg *req)
{
	struct local *l = ctx;
	uint32_t delay_ms = config_local(l->cfg)->invite_delay_ms;

	if (l->is_draining) {
		/* RFC 3261 21.5.4: shutting down, try again elsewhere */
		struct sip_reply_opts o = {
		    .status = 503,
		    .reason = SL("Shutting Down"),
		    .extra = SL("Retry-After: 5\r\n"),
		    .server = config_user_agent(l->cfg),
		};
		if (txn_reply(t, &o) == 0)
			l->stats.refused++;
		return;
	}
	if (req->method == SIP_METHOD_INVITE && delay_ms > 0 &&
	    hold_start(l, t, delay_ms))
		return;
	answer_txn(l, t, l->cfg);
}

/* RFC 3261 9.2: the layer answered the CANCEL; end the INVITE with 487. */
static void on_cancel(void *ctx, struct txn *t)
{
	struct local *l = ctx;
	struct sip_reply_opts o = {
	    .status = 487,
	    .server = config_user_agent(l->cfg),
	};

	for (struct hold *h = l->holds; h; h = h->next) {
		if (h->t != t)
			continue;
		o.server = config_user_agent(h->cfg);
		hold_free(h);
		break;
	}
	if (txn_reply(t, &o) == 0)
		l->stats.cancelled++;
}

static void on_stray(void *ctx, struct sip_inmsg *im)
{
	struct local *l = ctx;

	l->stats.stray++;
	log_debug("stray", "what=%s",
		  im->msg.is_request ? "request" : "response");
}

int local_new(struct wheel *wheel, const struct config *cfg, struct local **out)
{
	struct local *l = sb_calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->wheel = wheel;
	l->cfg = cfg;
	*out = l;
	return 0;
}

struct local *local_free(struct local *l)
{
	if (!l)
		return NULL;
	while (l->holds)
		hold_free(l->holds);
	sb_free(l);
	return NULL;
}

void local_set_config(struct local *l, const struct config *cfg)
{
	l->cfg = cfg;
}

void local_set_draining(struct local *l, bool is_draining)
{
	l->is_draining = is_draining;
}

bool local_is_draining(const struct local *l)
{
	return l->is_draining;
}

struct txn_user local_txn_user(struct local *l)
{
	return (struct txn_user){
	    .on_request = on_request,
	    .on_cancel = on_cancel,
	    .on_stray = on_stray,
	    .ctx = l,
	};
}

uint32_t local_pending(const struct local *l)
{
	return l->pending;
}

const struct local_stats *local_stats(const struct local *l)
{
	return &l->stats;
}
