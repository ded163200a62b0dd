/* The local service: answers what switchboard itself can answer today. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "services/local/local.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "sip/msg/build.h"

enum {
	LOCAL_TAG_BYTES = 8,		 /* random bytes in a To-tag */
	LOCAL_UNSUPPORTED_MAX_LEN = 2048 /* bytes of the Unsupported line */
};

/*
 * The methods this server answers on purpose (RFC 3261 8.2.1): OPTIONS gets
 * a 200, ACK is absorbed, CANCEL and BYE get 481 since no transaction or
 * dialog exists yet. The one list used for every Allow header we send.
 */
#define LOCAL_ALLOW "OPTIONS, ACK, CANCEL, BYE"

static const char allow_hdr[] = "Allow: " LOCAL_ALLOW "\r\n";

/* RFC 3261 11.2: what an OPTIONS response tells about us. */
static const char options_hdrs[] = "Allow: " LOCAL_ALLOW "\r\n"
				   "Supported:\r\n"
				   "Accept: application/sdp\r\n";

/* Option tags we implement (RFC 3261 8.2.2.3); none yet. */
static const char *const supported_tags[] = {NULL};

static _Thread_local uint64_t rng_state;

/* xorshift64*, seeded once per thread from getrandom(2). */
static uint64_t rng_next(void)
{
	uint64_t x = rng_state;

	if (x == 0) {
		if (getrandom(&x, sizeof(x), 0) != sizeof(x))
			x = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&x;
		x |= 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A fresh To-tag: 16 lower-case hex digits (RFC 3261 19.3: random). */
static struct slice tag_make(char out[2 * LOCAL_TAG_BYTES + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t r = rng_next();

	for (int i = 0; i < 2 * LOCAL_TAG_BYTES; i++, r >>= 4)
		out[i] = hex[r & 15];
	out[2 * LOCAL_TAG_BYTES] = '\0';
	return slice_make(out, 2 * LOCAL_TAG_BYTES);
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
	};
	int rc = sip_reply_build(out, req, &o);

	return rc != 0 ? rc : (int)status;
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
 * answered 420 with those tags in Unsupported. Returns 0 when every tag is
 * understood (or there is no Require), else the reply's status or an error.
 */
static int check_require(const struct local_ctx *ctx, struct sip_msg *req,
			 struct buf *out)
{
	const struct sip_token *t;
	struct buf extra;
	int rc = sip_msg_tokens(req, SIP_HDR_REQUIRE, &t);
	size_t n = 0;

	if (rc == -ENOENT)
		return 0;
	if (rc == -EBADMSG || rc == -E2BIG)
		return reply(ctx, req, 400, SL("Bad Require header"),
			     slice_make(NULL, 0), out);
	if (rc != 0)
		return rc;
	buf_init(&extra, LOCAL_UNSUPPORTED_MAX_LEN);
	buf_append_str(&extra, "Unsupported: ");
	for (; t; t = t->next) {
		if (is_supported(t->value))
			continue;
		buf_printf(&extra, "%s" SL_FMT, n++ ? ", " : "",
			   SL_ARG(t->value));
	}
	buf_append_str(&extra, "\r\n");
	if (n == 0)
		rc = 0;
	else if (buf_error(&extra) != 0)
		rc = buf_error(&extra);
	else
		rc = reply(ctx, req, 420, slice_make(NULL, 0),
			   buf_slice(&extra), out);
	buf_close(&extra);
	return rc;
}

int local_handle(const struct local_ctx *ctx, struct sip_msg *req,
		 struct buf *out)
{
	struct slice none = slice_make(NULL, 0);
	int rc;

	switch (req->method) {
	case SIP_METHOD_ACK:
		return 0; /* RFC 3261 17.1.1.3: ACK is never answered */
	case SIP_METHOD_UNKNOWN:
		/* RFC 3261 8.2.1: 501 for a method we do not recognise. */
		return reply(ctx, req, 501, none, SL(allow_hdr), out);
	case SIP_METHOD_OPTIONS:
	case SIP_METHOD_CANCEL:
	case SIP_METHOD_BYE:
		break;
	default:
		/* RFC 3261 8.2.1: 405 with Allow for a known method. */
		return reply(ctx, req, 405, none, SL(allow_hdr), out);
	}
	/* RFC 3261 8.2.2.3: CANCEL carries no Require; check the others. */
	if (req->method != SIP_METHOD_CANCEL) {
		rc = check_require(ctx, req, out);
		if (rc != 0)
			return rc;
	}
	/* RFC 3261 9.2 and 12.2.2: no transaction or dialog exists yet. */
	if (req->method != SIP_METHOD_OPTIONS ||
	    (req->to && slice_is_set(req->to->tag)))
		return reply(ctx, req, 481, none, none, out);
	return reply(ctx, req, 200, none, SL(options_hdrs), out);
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
