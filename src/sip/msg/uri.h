/* SIP, SIPS and tel URIs (RFC 3261 section 19 and 25, RFC 3966, RFC 5118). */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_MSG_URI_H
#define SB_SIP_MSG_URI_H

#include <stdbool.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/slice.h"

enum sip_uri_scheme {
	SIP_URI_SIP,
	SIP_URI_SIPS,
	SIP_URI_TEL,
	SIP_URI_OTHER /* syntactically an absoluteURI; not understood */
};

enum sip_host_type {
	SIP_HOST_NONE, /* tel: and other schemes */
	SIP_HOST_NAME,
	SIP_HOST_IPV4,
	SIP_HOST_IPV6 /* host keeps its brackets: "[2001:db8::1]" */
};

/*
 * A parsed URI: every slice points into the text given to sip_uri_parse(),
 * escapes kept as received. No allocation: parameters and headers stay raw
 * and are read with sip_params_next()/sip_uri_param().
 */
struct sip_uri {
	struct slice raw;	  /* the whole URI */
	enum sip_uri_scheme scheme;
	struct slice scheme_name; /* as received, e.g. "SIP" */
	struct slice user;	  /* userinfo user part (escaped), tel number */
	struct slice password;	  /* absent unless "user:password@" */
	struct slice host;	  /* host name, IPv4 or "[IPv6]" */
	enum sip_host_type host_type;
	uint16_t port;		  /* valid when has_port */
	bool has_port;
	struct slice params;	  /* raw, without the leading ';' */
	struct slice headers;	  /* raw, without the leading '?' */
	uint16_t param_count;
	/* Well-known parameters (slices into params); absent when .p NULL. */
	struct slice transport;
	struct slice user_param; /* ;user= */
	struct slice maddr;
	struct slice ttl;
	struct slice method;
	bool lr;
};

/*
 * Parse a URI. sip:/sips: per RFC 3261 section 25.1 (IPv6 references per
 * RFC 5118), tel: per RFC 3966 (number and parameters), any other scheme
 * checked as an absoluteURI and returned as SIP_URI_OTHER. The input must
 * not include enclosing '<' '>'. Returns 0, -EBADMSG when malformed, or
 * -E2BIG when it has more than lim->max_params parameters. Thread-safe.
 */
int sip_uri_parse(struct slice in, struct sip_uri *out,
		  const struct sb_limits *lim);

/* Case-insensitive lookup of a URI parameter; 0, or -ENOENT. */
int sip_uri_param(const struct sip_uri *u, const char *name,
		  struct slice *value);

/*
 * RFC 3261 19.1.4 URI comparison: scheme, user and password case-sensitive
 * after unescaping, host case-insensitive, ports and the transport, user,
 * ttl, method and maddr parameters must match when present in either,
 * other parameters compared only when in both, headers all compared.
 */
bool sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b);

/*
 * Decode %HH escapes from in into out (capacity out_cap). Returns the
 * decoded length or -EBADMSG (bad escape) / -E2BIG (out too small).
 */
int sip_uri_unescape(struct slice in, char *out, size_t out_cap);

#endif
