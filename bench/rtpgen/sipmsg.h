/* rtpgen: just enough SIP message parsing and printing for a UAC and UAS. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef RTPGEN_SIPMSG_H
#define RTPGEN_SIPMSG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Text inside a received datagram: not NUL-terminated. */
struct rg_str {
	const char *p;
	size_t len;
};

enum { RG_SIP_MAX_VIA = 16, RG_SIP_MAX_RR = 16 };

struct rg_sip_msg {
	bool is_request;
	int status;			   /* responses */
	struct rg_str method;		   /* requests */
	struct rg_str via[RG_SIP_MAX_VIA]; /* header values, in order */
	unsigned nvia;
	struct rg_str rr[RG_SIP_MAX_RR]; /* Record-Route values */
	unsigned nrr;
	struct rg_str from, to, call_id, contact;
	uint32_t cseq;
	struct rg_str cseq_method;
	struct rg_str body;
};

/* Splits buf into m (pointing into buf); -EBADMSG when it is not SIP or
 * lacks Via, From, To, Call-ID or CSeq. */
int rg_sip_parse(const char *buf, size_t len, struct rg_sip_msg *m);

bool rg_str_is(struct rg_str s, const char *lit); /* case-insensitive */

/* The value of ;name= in a From/To header (the tag), or -ENOENT. */
int rg_sip_param(struct rg_str hdr, const char *name, struct rg_str *out);

/* The URI of a name-addr or addr-spec header value. */
int rg_sip_uri(struct rg_str hdr, struct rg_str *uri);

/* The user part of a sip: URI, or -ENOENT. */
int rg_sip_uri_user(struct rg_str uri, struct rg_str *user);

/* The host (IPv4 only) and port (default 5060) of a sip: URI. */
int rg_sip_uri_addr(struct rg_str uri, struct sockaddr_in *out);

/* A message being printed into caller storage; is_full on overflow. */
struct rg_out {
	char *p;
	size_t cap;
	size_t len;
	bool is_full;
};

void rg_out_printf(struct rg_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
