/* Via header values (RFC 3261 20.42, 18.2.1; RFC 3581 rport). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>

#include "sip/msg/msg_int.h"

static bool all_digits(struct slice v, size_t max_len)
{
	if (v.len == 0 || v.len > max_len)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!cc_is((unsigned char)v.p[i], CC_DIGIT))
			return false;
	return true;
}

/* received = IPv4address / IPv6address (RFC 5118 4.5: brackets seen too) */
static bool valid_address(struct slice v)
{
	if (v.len == 0)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (!cc_is(c, CC_HEX) && c != '.' && c != ':' && c != '[' &&
		    c != ']')
			return false;
	}
	return true;
}

/* Pick out the parameters the stack uses and check their syntax. */
static int via_param(void *ctx, struct slice name, struct slice value)
{
	struct sip_via *v = ctx;
	uint32_t n;

	switch (name.len) {
	case 6:
		if (!slice_caseeq(name, SL("branch")))
			return 0;
		if (!value.p || value.len == 0 || v->branch.p)
			return -EBADMSG;
		v->branch = value;
		return 0;
	case 8:
		if (!slice_caseeq(name, SL("received")))
			return 0;
		if (!value.p || !valid_address(value))
			return -EBADMSG;
		v->received = value;
		return 0;
	case 5:
		if (slice_caseeq(name, SL("rport"))) {
			/* RFC 3581 3: ";rport" with no value in requests */
			if (value.p && (!all_digits(value, 5) ||
					slice_to_u32(value, &n) || n > 65535))
				return -EBADMSG;
			v->has_rport = true;
			v->rport = value.p ? value : slice_make(name.p + 5, 0);
		} else if (slice_caseeq(name, SL("maddr"))) {
			if (!value.p || value.len == 0)
				return -EBADMSG;
			v->maddr = value;
		}
		return 0;
	case 3:
		if (!slice_caseeq(name, SL("ttl")))
			return 0;
		/* RFC 3261 25.1: ttl = 1*3DIGIT ; 0 to 255 */
		if (!value.p || !all_digits(value, 3) ||
		    slice_to_u32(value, &n) || n > 255)
			return -EBADMSG;
		v->ttl = value;
		return 0;
	default:
		return 0;
	}
}

/*
 * via-parm = sent-protocol LWS sent-by *( SEMI via-params ), values
 * separated by COMMA; SWS is allowed around "/", ":", ";", "=" and ",".
 */
static int via_parse_at(struct slice value, const char *base, struct arena *a,
			const struct sb_limits *lim, uint32_t *count,
			struct sip_via **first, struct sip_via **last)
{
	struct scan s = scan_of(value);
	struct sip_via *prev = NULL;
	struct slice name, version;

	for (;;) {
		struct sip_via *v;
		const char *start, *ws;
		scan_ws(&s);
		if (++*count > lim->max_values)
			return -E2BIG;
		v = arena_zalloc(a, sizeof(*v));
		if (!v)
			return -ENOMEM;
		start = s.p;
		name = scan_token(&s);
		if (!name.p || !scan_sep(&s, '/'))
			return -EBADMSG;
		scan_ws(&s);
		version = scan_token(&s);
		if (!version.p || !scan_sep(&s, '/'))
			return -EBADMSG;
		if (!slice_caseeq_lit(name, "SIP") ||
		    !slice_eq(version, SL("2.0")))
			return -EBADMSG;
		v->protocol = slice_make(
		    start, (size_t)(version.p + version.len - start));
		scan_ws(&s);
		v->transport = scan_token(&s);
		if (!v->transport.p)
			return -EBADMSG;
		ws = s.p;
		scan_ws(&s);
		if (s.p == ws)
			return -EBADMSG; /* LWS before sent-by */
		if (scan_hostport(&s, &v->host, &v->port, &v->has_port))
			return -EBADMSG;
		if (scan_params_cb(&s, lim->max_params, &v->params, NULL,
				   via_param, v))
			return -EBADMSG;
		v->off = (uint32_t)(start - base);
		v->len = (uint32_t)(s.p - start);
		v->is_first_in_hdr = prev == NULL;
		if (prev)
			prev->next = v;
		else if (*last)
			(*last)->next = v;
		else
			*first = v;
		prev = v;
		*last = v;
		if (scan_sep(&s, ','))
			continue;
		scan_ws(&s);
		if (!scan_eof(&s))
			return -EBADMSG;
		v->is_last_in_hdr = true;
		return 0;
	}
}

int sip_via_parse(struct slice value, struct arena *a,
		  const struct sb_limits *lim, struct sip_via **first)
{
	struct sip_via *last = NULL;
	uint32_t count = 0;

	*first = NULL;
	return via_parse_at(value, value.p, a, lim, &count, first, &last);
}

int via_parse_all(struct sip_msg *m)
{
	const struct sip_hdr *h;
	struct sip_via *last = NULL, *v;
	uint32_t count = 0;
	int err;

	m->via = NULL;
	for (h = sip_msg_hdr(m, SIP_HDR_VIA); h; h = sip_msg_hdr_next(m, h)) {
		struct sip_via *before = last;
		err = via_parse_at(h->value, m->buf, m->arena, m->limits,
				   &count, &m->via, &last);
		if (err)
			return err;
		v = before ? before->next : m->via;
		for (; v; v = v->next)
			v->hdr = (uint16_t)(h - m->hdrs);
	}
	return 0;
}
