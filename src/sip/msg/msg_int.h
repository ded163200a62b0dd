/* Private helpers shared by the message parser's files. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_MSG_INT_H
#define SB_SIP_MSG_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "sip/msg/msg.h"

/* Character classes (RFC 3261 25.1), one table lookup per byte. */
enum {
	CC_TOKEN = 1 << 0, /* token: alphanum / "-.!%*_+`'~" */
	CC_DIGIT = 1 << 1,
	CC_ALPHA = 1 << 2,
	CC_HEX = 1 << 3,
	CC_WS = 1 << 4,	   /* SP / HTAB */
	CC_HOST = 1 << 5,  /* alphanum / "-." */
	CC_WORD = 1 << 6,  /* Call-ID word: token and "()<>:\\\"/[]?{}" */
	CC_CTL = 1 << 7	   /* CTL except HTAB: never in a header value */
};
extern const uint8_t sip_cc[256];

static inline bool cc_is(unsigned char c, unsigned cls)
{
	return (sip_cc[c] & cls) != 0;
}

/* Header-name hash (FNV-1a over lower-cased bytes), step by step. */
enum { HDR_HASH_INIT = 2166136261u };
static inline uint32_t hdr_hash_step(uint32_t h, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c + 32);
	return (h ^ c) * 16777619u;
}
/* Id of a header name whose hash the caller computed. */
enum sip_hdr_id hdr_id_hashed(struct slice name, uint32_t h);

/* A cursor over a slice: p moves toward end, never past it. */
struct scan {
	const char *p;
	const char *end;
};

static inline struct scan scan_of(struct slice s)
{
	return (struct scan){s.p, s.p + s.len};
}

static inline bool scan_eof(const struct scan *s)
{
	return s->p >= s->end;
}

static inline char scan_peek(const struct scan *s)
{
	return s->p < s->end ? *s->p : '\0';
}

static inline void scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
		s->p++;
}

/* Skip whitespace, then consume c if it is next. */
static inline bool scan_sep(struct scan *s, char c)
{
	scan_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* Consume 1*token-char; returns the token (.p NULL if none). */
static inline struct slice scan_token(struct scan *s)
{
	const char *b = s->p;

	while (s->p < s->end && cc_is((unsigned char)*s->p, CC_TOKEN))
		s->p++;
	return b == s->p ? slice_make(NULL, 0)
			 : slice_make(b, (size_t)(s->p - b));
}

/* Consume a quoted-string (RFC 3261 25.1) including its quotes. */
bool scan_quoted(struct scan *s, struct slice *out);

/*
 * Consume ";param" pairs: generic-param = token [ EQUAL gen-value ] with
 * gen-value = token / host / quoted-string. Stops before ',' or at the end.
 * Returns 0 with the raw params (after the first ';') or -EBADMSG/-E2BIG.
 */
int scan_params(struct scan *s, uint32_t max, struct slice *raw,
		uint16_t *count);

/*
 * The same in one pass with a callback per parameter (value.p NULL for a
 * flag); a non-zero return from cb stops the scan and is returned.
 */
typedef int (*scan_param_cb)(void *ctx, struct slice name, struct slice value);
int scan_params_cb(struct scan *s, uint32_t max, struct slice *raw,
		   uint16_t *count, scan_param_cb cb, void *ctx);

/* host [":" port] with SWS around the colon; IPv6 in brackets. */
int scan_hostport(struct scan *s, struct slice *host, uint16_t *port,
		  bool *has_port);

/* The lazily parsed values cached on a message. */
enum cache_item {
	CACHE_CONTACT,
	CACHE_ROUTE,
	CACHE_RECORD_ROUTE,
	CACHE_CTYPE,
	CACHE_MAX_FORWARDS,
	CACHE_EXPIRES,
	CACHE_MULTIPART,
	CACHE_AUTHZ,
	CACHE_PROXY_AUTHZ,
	CACHE_WWW_AUTHN,
	CACHE_PROXY_AUTHN,
	CACHE__COUNT
};

struct sip_msg_cache {
	int8_t state[CACHE__COUNT]; /* 0 = not parsed, 1 = ok, <0 = -errno */
	const struct sip_nameaddr *contact, *route, *record_route;
	const struct sip_ctype *ctype;
	const struct sip_part *parts;
	const struct sip_auth *auth[4];
	uint32_t max_forwards, expires;
};

/* Eager checks of single-valued numeric headers, shared with access.c. */
int msg_parse_u32_hdr(const struct sip_hdr *h, uint32_t max, uint32_t *out);

/* Parse name-addr/addr-spec values; off/len are relative to base. */
int nameaddr_parse_at(struct slice value, const char *base, bool allow_list,
		      bool is_contact, struct arena *a,
		      const struct sb_limits *lim, struct sip_nameaddr **first);
/* Parse every Via header of m into m->via (values in message order). */
int via_parse_all(struct sip_msg *m);

#endif
