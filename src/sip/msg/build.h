/* Building new SIP messages: responses to a request, and new requests. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_MSG_BUILD_H
#define SB_SIP_MSG_BUILD_H

#include <stdint.h>

#include "base/buf.h"
#include "sip/msg/msg.h"

/*
 * What to put in a response. Unset slices (.p NULL) are left out. extra is
 * raw header lines, each ending in CRLF ("Allow: INVITE, ACK\r\n").
 */
struct sip_reply_opts {
	uint16_t status;	    /* 100..699 */
	struct slice reason;	    /* default: sip_reason_phrase(status) */
	struct slice to_tag;	    /* added to To when it has none and status > 100 */
	bool copy_record_route;	    /* RFC 3261 12.1.1: dialog-creating 18x/2xx */
	struct slice extra;	    /* raw header lines */
	struct slice content_type;  /* needed when body is set */
	struct slice body;
	struct slice server;	    /* Server header value; left out when
				       extra has a Server line */
	struct slice via_params;    /* appended to the top Via value, e.g.
				       ";received=192.0.2.1;rport=5070" */
};

/*
 * Append a response to req (RFC 3261 8.2.6): status line, all Via values in
 * order, From, To (tag added as above), Call-ID, CSeq, then the options and
 * Content-Length. Headers are copied verbatim from req, so it works on a
 * request that failed to parse after its headers were located: missing
 * headers are skipped; a 100 also echoes Timestamp (RFC 3261 8.2.6.1).
 * via_params go after the top Via value (before a comma sharing its line);
 * a bare ";rport" there is dropped when via_params carry an rport.
 * Returns 0, -EINVAL (status outside 100..699, a body without
 * content_type, extra not ending in CRLF, via_params not starting with
 * ';') or a buf error (-ENOMEM, -E2BIG). On error out is left at its old
 * length.
 */
int sip_reply_build(struct buf *out, const struct sip_msg *req,
		    const struct sip_reply_opts *o);

/* What to put in a new request (a UAC's own request or a B2BUA leg). */
struct sip_request_opts {
	struct slice method;	     /* "INVITE" */
	struct slice ruri;	     /* "sip:bob@example.com" */
	struct slice via_transport;  /* "UDP" */
	struct slice via_host;	     /* sent-by host; IPv6 in brackets */
	uint16_t via_port;	     /* 0 = leave out */
	struct slice branch;	     /* must start with z9hG4bK */
	bool via_rport;		     /* add ;rport (RFC 3581) */
	struct slice from;	     /* name-addr, e.g. "<sip:a@x>" */
	struct slice from_tag;
	struct slice to;	     /* name-addr */
	struct slice to_tag;	     /* in-dialog only */
	struct slice call_id;
	uint32_t cseq;
	uint32_t max_forwards;	     /* 0 means 70 */
	struct slice contact;	     /* name-addr, may be unset */
	struct slice routes;	     /* raw Route header lines, may be unset */
	struct slice extra;	     /* raw header lines */
	struct slice content_type;
	struct slice body;
	struct slice user_agent;     /* left out when extra has one */
};

/*
 * Append a request built from o. Returns 0, -EINVAL (method, ruri, via_host,
 * from, to or call_id missing; branch without z9hG4bK; cseq >= 2^31; a body
 * without content_type; routes or extra not ending in CRLF) or a buf error.
 * On error out is left at its old length.
 */
int sip_request_build(struct buf *out, const struct sip_request_opts *o);

#endif
