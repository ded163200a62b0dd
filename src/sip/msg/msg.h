/* The SIP message: in-place parse, lazy header values (RFC 3261 7, 20, 25). */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_MSG_MSG_H
#define SB_SIP_MSG_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/limits.h"
#include "base/slice.h"
#include "sip/msg/params.h"
#include "sip/msg/uri.h"

enum sip_method {
	SIP_METHOD_UNKNOWN = 0, /* any other token: kept in method_name */
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_BYE,
	SIP_METHOD_CANCEL,
	SIP_METHOD_OPTIONS,
	SIP_METHOD_REGISTER,
	SIP_METHOD_PRACK,
	SIP_METHOD_SUBSCRIBE,
	SIP_METHOD_NOTIFY,
	SIP_METHOD_PUBLISH,
	SIP_METHOD_INFO,
	SIP_METHOD_REFER,
	SIP_METHOD_MESSAGE,
	SIP_METHOD_UPDATE,
	SIP_METHOD__COUNT
};

/* Header ids: names (and compact forms) become an id once, at split time. */
enum sip_hdr_id {
	SIP_HDR_OTHER = 0, /* unknown: kept verbatim, found by name */
	SIP_HDR_VIA,
	SIP_HDR_FROM,
	SIP_HDR_TO,
	SIP_HDR_CALL_ID,
	SIP_HDR_CSEQ,
	SIP_HDR_CONTACT,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_ROUTE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_CONTENT_LENGTH,
	SIP_HDR_CONTENT_TYPE,
	SIP_HDR_CONTENT_ENCODING,
	SIP_HDR_CONTENT_DISPOSITION,
	SIP_HDR_CONTENT_LANGUAGE,
	SIP_HDR_EXPIRES,
	SIP_HDR_MIN_EXPIRES,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_AUTHENTICATION_INFO,
	SIP_HDR_ALLOW,
	SIP_HDR_SUPPORTED,
	SIP_HDR_REQUIRE,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_ACCEPT,
	SIP_HDR_ACCEPT_ENCODING,
	SIP_HDR_ACCEPT_LANGUAGE,
	SIP_HDR_USER_AGENT,
	SIP_HDR_SERVER,
	SIP_HDR_SUBJECT,
	SIP_HDR_DATE,
	SIP_HDR_TIMESTAMP,
	SIP_HDR_WARNING,
	SIP_HDR_RETRY_AFTER,
	SIP_HDR_EVENT,
	SIP_HDR_ALLOW_EVENTS,
	SIP_HDR_SUBSCRIPTION_STATE,
	SIP_HDR_REFER_TO,
	SIP_HDR_REFERRED_BY,
	SIP_HDR_REPLACES,
	SIP_HDR_PATH,
	SIP_HDR_RSEQ,
	SIP_HDR_RACK,
	SIP_HDR_SESSION_EXPIRES,
	SIP_HDR_MIN_SE,
	SIP_HDR_REASON,
	SIP_HDR_P_ASSERTED_IDENTITY,
	SIP_HDR_P_PREFERRED_IDENTITY,
	SIP_HDR_PRIVACY,
	SIP_HDR_ORGANIZATION,
	SIP_HDR_PRIORITY,
	SIP_HDR_ALERT_INFO,
	SIP_HDR_CALL_INFO,
	SIP_HDR_ERROR_INFO,
	SIP_HDR_IN_REPLY_TO,
	SIP_HDR_REPLY_TO,
	SIP_HDR_MIME_VERSION,
	SIP_HDR_ACCEPT_CONTACT,
	SIP_HDR_REJECT_CONTACT,
	SIP_HDR_REQUEST_DISPOSITION,
	SIP_HDR_IDENTITY,
	SIP_HDR__COUNT
};

/*
 * One header line. Folded continuation lines (RFC 3261 7.3.1) are unfolded
 * in place at split time (CR LF become spaces), so offsets stay valid and
 * value parsers only ever see SP and HTAB as whitespace.
 */
struct sip_hdr {
	struct slice name;  /* as received */
	struct slice value; /* trimmed of leading/trailing whitespace */
	uint32_t off;	    /* first byte of the line in the message */
	uint32_t len;	    /* bytes of the line including its CRLF */
	uint16_t id;	    /* enum sip_hdr_id */
	uint16_t next;	    /* index+1 of the next header with this id, 0 = none */
};

/* A parse or validation failure, to be answered (status) or dropped (0). */
struct sip_perr {
	uint16_t status;    /* 400, 413, 416, 505 ...; 0 = drop silently */
	const char *reason; /* static reason phrase naming the problem */
};

/* Where a message came from: decides Content-Length rules (RFC 3261 18.3). */
enum sip_framing {
	SIP_FRAMING_DATAGRAM, /* UDP: body may run to the end; extra bytes cut */
	SIP_FRAMING_STREAM    /* TCP/TLS: Content-Length required */
};

struct sip_cseq {
	uint32_t num;		/* < 2^31 (RFC 3261 8.1.1.5) */
	enum sip_method method;
	struct slice method_name;
};

/* One Via value (RFC 3261 20.42). Several may share one header line. */
struct sip_via {
	struct sip_via *next;	/* next value, in message order */
	struct slice protocol;	/* "SIP/2.0" */
	struct slice transport; /* "UDP", "TCP", "TLS", "SCTP", "WS", other */
	struct slice host;	/* name, IPv4 or "[IPv6]" */
	uint16_t port;		/* valid when has_port */
	bool has_port;
	struct slice params;	/* raw, without the leading ';' */
	struct slice branch;	/* absent when .p NULL */
	struct slice received;
	struct slice maddr;
	struct slice ttl;
	struct slice rport;	/* .p set, len 0 for a bare ";rport" */
	bool has_rport;
	uint32_t off, len;	/* this value's bytes in the message */
	uint16_t hdr;		/* index of the header line holding it */
	bool is_first_in_hdr, is_last_in_hdr;
};

/*
 * name-addr or addr-spec with header parameters (RFC 3261 20.10, 20.20,
 * 20.39): From, To, Contact, Route, Record-Route, Path, Refer-To ...
 */
struct sip_nameaddr {
	struct sip_nameaddr *next; /* next value, in message order */
	struct slice display;	   /* raw display name, quotes kept; may be absent */
	struct sip_uri uri;
	bool has_brackets;	   /* URI was in <...> */
	bool is_star;		   /* Contact: * */
	struct slice params;	   /* header params, raw, without leading ';' */
	struct slice tag;	   /* ;tag= value, absent when .p NULL */
	struct slice expires;	   /* ;expires= (Contact) */
	struct slice q;		   /* ;q= (Contact) */
	uint32_t off, len;	   /* this value's bytes in the message */
	uint16_t hdr;		   /* index of the header line holding it */
};

/* Content-Type / media-type with parameters (RFC 3261 20.15). */
struct sip_ctype {
	struct slice type, subtype; /* e.g. "application", "sdp" */
	struct slice params;	    /* raw, without leading ';' */
};

/* Digest credentials or challenge (RFC 3261 22.4, RFC 7616). */
struct sip_auth {
	struct sip_auth *next; /* next header of the same id */
	struct slice scheme;   /* "Digest" */
	struct slice params;   /* raw comma-separated auth-params */
	/* Well-known params, unquoted (escapes kept); absent when .p NULL. */
	struct slice username, realm, nonce, uri, response, algorithm, cnonce,
		opaque, qop, nc, stale, domain;
	uint16_t hdr; /* index of the header line */
};

/* One part of a multipart body (RFC 2046, RFC 5621). */
struct sip_part {
	struct sip_part *next;
	struct slice headers;	   /* raw part headers, CRLF separated */
	struct slice content_type; /* value of the part's Content-Type */
	struct slice body;
	struct sip_part *children; /* nested multipart, parsed when asked */
};

/* A comma-separated token list element (Allow, Supported, Require ...). */
struct sip_token {
	struct sip_token *next;
	struct slice value;
};

struct sip_msg_cache; /* lazily parsed values, private to the parser */

/*
 * A parsed message. Fields are read-only for users; slices point into buf,
 * which the caller owns and must keep (and not move) while the message is
 * used. Everything else lives in the arena given to sip_msg_parse().
 */
struct sip_msg {
	char *buf;	  /* the message bytes (folding unfolded in place) */
	uint32_t len;	  /* bytes of the message (extra datagram bytes cut) */
	bool is_request;
	/* Request line */
	enum sip_method method;
	struct slice method_name;
	struct slice ruri_raw;
	struct sip_uri ruri; /* parsed at parse time for requests */
	/* Status line */
	uint16_t status;
	struct slice reason;
	/* Headers, in order */
	struct sip_hdr *hdrs;
	uint16_t hdr_count;
	uint16_t first[SIP_HDR__COUNT]; /* index+1 of the first of each id */
	uint32_t hdrs_off;		/* first byte of the first header */
	uint32_t hdrs_end;		/* offset of the empty line (CRLF) */
	struct slice body;
	bool has_content_length;
	uint32_t content_length;
	/* Parsed eagerly: what transaction matching needs. */
	struct slice call_id;
	struct sip_cseq cseq;
	struct sip_via *via; /* all Via values, top first */
	struct sip_nameaddr *from, *to;
	/* Everything else is parsed on first use. */
	struct arena *arena;
	const struct sb_limits *limits;
	struct sip_msg_cache *cache;
};

/*
 * Parse buf[0..len) in place (buf is modified: folding is unfolded). On
 * success returns 0. On failure returns -EBADMSG (or -ENOMEM) and fills
 * *perr with the response to send (status 0: drop). Even on failure, *m
 * holds whatever was located (start line, headers), so a reply can be built
 * from it; check m->hdrs != NULL. Datagram framing: a missing Content-Length
 * means the body runs to the end, bytes past Content-Length are cut.
 * Thread-safe; uses only the given arena.
 */
int sip_msg_parse(struct sip_msg *m, struct arena *a, char *buf, size_t len,
		  enum sip_framing framing, const struct sb_limits *lim,
		  struct sip_perr *perr);

/* Header lookup (constant time by id, then a chain of same-id headers). */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id);
const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m,
				       const struct sip_hdr *h);
/* By name, case-insensitive, compact forms understood; any header. */
const struct sip_hdr *sip_msg_hdr_find(const struct sip_msg *m,
				       struct slice name);
unsigned sip_msg_hdr_count(const struct sip_msg *m, enum sip_hdr_id id);

/*
 * Lazily parsed values. Each parses on first call and caches the result in
 * the message arena. Return 0, -ENOENT (header absent), -EBADMSG (malformed)
 * or -ENOMEM/-E2BIG (limits). Single-threaded per message.
 */
int sip_msg_contacts(struct sip_msg *m, const struct sip_nameaddr **first);
int sip_msg_routes(struct sip_msg *m, const struct sip_nameaddr **first);
int sip_msg_record_routes(struct sip_msg *m,
			  const struct sip_nameaddr **first);
/* Any name-addr list header (Path, Refer-To, P-Asserted-Identity ...). */
int sip_msg_nameaddrs(struct sip_msg *m, enum sip_hdr_id id,
		      const struct sip_nameaddr **first);
int sip_msg_max_forwards(struct sip_msg *m, uint32_t *out);
int sip_msg_expires(struct sip_msg *m, uint32_t *out);
int sip_msg_content_type(struct sip_msg *m, const struct sip_ctype **out);
/* Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate */
int sip_msg_auth(struct sip_msg *m, enum sip_hdr_id id,
		 const struct sip_auth **first);
/* Comma-separated tokens across all headers of id (Allow, Require ...). */
int sip_msg_tokens(struct sip_msg *m, enum sip_hdr_id id,
		   const struct sip_token **first);
/* One of those tokens is tok (case-insensitive): "100rel" in Require.
 * False when absent or malformed. */
bool sip_msg_has_token(struct sip_msg *m, enum sip_hdr_id id,
		       const char *tok);
/* Parts of a multipart body, nested up to limits->max_multipart_depth. */
int sip_msg_multipart(struct sip_msg *m, const struct sip_part **first);

/* Value parsers, usable on any slice (e.g. part headers, tests, fuzzing). */
int sip_via_parse(struct slice value, struct arena *a,
		  const struct sb_limits *lim, struct sip_via **first);
int sip_nameaddr_parse(struct slice value, bool allow_list, struct arena *a,
		       const struct sb_limits *lim,
		       struct sip_nameaddr **first);
int sip_cseq_parse(struct slice value, struct sip_cseq *out);
int sip_ctype_parse(struct slice value, const struct sb_limits *lim,
		    struct sip_ctype *out);
int sip_auth_parse(struct slice value, const struct sb_limits *lim,
		   struct sip_auth *out);
int sip_multipart_parse(struct slice body, const struct sip_ctype *ct,
			struct arena *a, const struct sb_limits *lim,
			unsigned depth, struct sip_part **first);

/* Method and header names. */
enum sip_method sip_method_from(struct slice name);
struct slice sip_method_name(enum sip_method method);
enum sip_hdr_id sip_hdr_id_from(struct slice name);
/* Canonical long name of a header id ("Call-ID"); empty for OTHER. */
struct slice sip_hdr_name(enum sip_hdr_id id);
/* Default reason phrase for a status code ("Not Found"). */
const char *sip_reason_phrase(unsigned status);

#endif
