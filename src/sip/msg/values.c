/* Small header values: quoted strings, params, host:port, CSeq, types, auth. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>

#include "sip/msg/msg_int.h"

/* RFC 3261 25.1: quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE */
bool scan_quoted(struct scan *s, struct slice *out)
{
	const char *b = s->p;

	if (scan_peek(s) != '"')
		return false;
	for (s->p++; s->p < s->end; s->p++) {
		unsigned char c = (unsigned char)*s->p;
		if (c == '\\') {
			/* quoted-pair: any byte but CR and LF */
			if (s->p + 1 >= s->end || s->p[1] == '\r' ||
			    s->p[1] == '\n')
				break;
			s->p++;
			continue;
		}
		if (c == '"') {
			s->p++;
			*out = slice_make(b, (size_t)(s->p - b));
			return true;
		}
		if (cc_is(c, CC_CTL))
			break;
	}
	s->p = b;
	return false;
}

/* gen-value = token / host / quoted-string (host may be "[IPv6]") */
static bool scan_gen_value(struct scan *s)
{
	struct slice q;
	const char *b = s->p;

	if (scan_peek(s) == '"')
		return scan_quoted(s, &q);
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p;
		if (!cc_is(c, CC_TOKEN) && c != ':' && c != '[' && c != ']')
			break;
		s->p++;
	}
	return s->p > b;
}

int scan_params_cb(struct scan *s, uint32_t max, struct slice *raw,
		   uint16_t *count, scan_param_cb cb, void *ctx)
{
	const char *b = NULL, *e = NULL;
	uint32_t n = 0;

	for (;;) {
		const char *save = s->p, *vb;
		struct slice name, value = {NULL, 0};
		int err;

		scan_ws(s);
		if (scan_peek(s) != ';') {
			s->p = save;
			break;
		}
		s->p++;
		scan_ws(s);
		if (!b)
			b = s->p;
		name = scan_token(s);
		if (!name.p)
			return -EBADMSG;
		save = s->p;
		if (scan_sep(s, '=')) {
			scan_ws(s);
			vb = s->p;
			if (!scan_gen_value(s))
				return -EBADMSG;
			value = slice_make(vb, (size_t)(s->p - vb));
		} else {
			s->p = save;
		}
		e = s->p;
		if (++n > max)
			return -E2BIG;
		if (cb && (err = cb(ctx, name, value)))
			return err;
	}
	*raw = b ? slice_make(b, (size_t)(e - b)) : slice_make(NULL, 0);
	if (count)
		*count = (uint16_t)n;
	return 0;
}

int scan_params(struct scan *s, uint32_t max, struct slice *raw,
		uint16_t *count)
{
	return scan_params_cb(s, max, raw, count, NULL, NULL);
}

static bool valid_ipv6_ref(struct slice h)
{
	size_t colons = 0;

	if (h.len < 4 || h.p[0] != '[' || h.p[h.len - 1] != ']')
		return false;
	for (size_t i = 1; i + 1 < h.len; i++) {
		unsigned char c = (unsigned char)h.p[i];
		if (c == ':')
			colons++;
		else if (!cc_is(c, CC_HEX) && c != '.')
			return false;
	}
	return colons >= 2 && colons <= 7;
}

int scan_hostport(struct scan *s, struct slice *host, uint16_t *port,
		  bool *has_port)
{
	const char *b = s->p, *save;
	uint32_t v;

	*has_port = false;
	if (scan_peek(s) == '[') {
		while (s->p < s->end && *s->p != ']')
			s->p++;
		if (scan_eof(s))
			return -EBADMSG;
		s->p++;
		*host = slice_make(b, (size_t)(s->p - b));
		if (!valid_ipv6_ref(*host))
			return -EBADMSG;
	} else {
		while (s->p < s->end && cc_is((unsigned char)*s->p, CC_HOST))
			s->p++;
		*host = slice_make(b, (size_t)(s->p - b));
		if (host->len == 0 || host->p[0] == '.' || host->p[0] == '-')
			return -EBADMSG;
	}
	save = s->p;
	if (scan_sep(s, ':')) {
		scan_ws(s);
		b = s->p;
		while (s->p < s->end && cc_is((unsigned char)*s->p, CC_DIGIT))
			s->p++;
		if (s->p == b || s->p - b > 5 ||
		    slice_to_u32(slice_make(b, (size_t)(s->p - b)), &v) ||
		    v > 65535)
			return -EBADMSG;
		*port = (uint16_t)v;
		*has_port = true;
	} else {
		s->p = save;
	}
	return 0;
}

int msg_parse_u32_hdr(const struct sip_hdr *h, uint32_t max, uint32_t *out)
{
	uint32_t v;

	if (slice_to_u32(h->value, &v) || v > max)
		return -EBADMSG;
	*out = v;
	return 0;
}

/* RFC 3261 20.16: CSeq = 1*DIGIT LWS Method; 8.1.1.5: less than 2^31 */
int sip_cseq_parse(struct slice value, struct sip_cseq *out)
{
	struct scan s = scan_of(value);
	const char *b;
	uint32_t num;

	scan_ws(&s);
	b = s.p;
	while (!scan_eof(&s) && cc_is((unsigned char)*s.p, CC_DIGIT))
		s.p++;
	if (slice_to_u32(slice_make(b, (size_t)(s.p - b)), &num) ||
	    num > 0x7fffffffu)
		return -EBADMSG;
	if (scan_eof(&s) || (*s.p != ' ' && *s.p != '\t'))
		return -EBADMSG;
	scan_ws(&s);
	out->method_name = scan_token(&s);
	scan_ws(&s);
	if (!out->method_name.p || !scan_eof(&s))
		return -EBADMSG;
	out->num = num;
	out->method = sip_method_from(out->method_name);
	return 0;
}

/* RFC 3261 20.15: media-type = m-type SLASH m-subtype *(SEMI m-parameter) */
int sip_ctype_parse(struct slice value, const struct sb_limits *lim,
		    struct sip_ctype *out)
{
	struct scan s = scan_of(value);

	scan_ws(&s);
	out->type = scan_token(&s);
	if (!out->type.p || !scan_sep(&s, '/'))
		return -EBADMSG;
	scan_ws(&s);
	out->subtype = scan_token(&s);
	if (!out->subtype.p)
		return -EBADMSG;
	if (scan_params(&s, lim->max_params, &out->params, NULL))
		return -EBADMSG;
	scan_ws(&s);
	return scan_eof(&s) ? 0 : -EBADMSG;
}

static void auth_known(struct sip_auth *out, struct slice name,
		       struct slice value)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
#define K(f) {#f, offsetof(struct sip_auth, f)}
	    K(username), K(realm),  K(nonce), K(uri), K(response), K(algorithm),
	    K(cnonce),	 K(opaque), K(qop),   K(nc),  K(stale),	   K(domain),
#undef K
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (slice_caseeq_lit(name, known[i].name)) {
			struct slice *f =
			    (struct slice *)((char *)out + known[i].off);
			*f = sip_param_unquote(value);
			return;
		}
	}
}

/*
 * RFC 3261 25.1 credentials / challenge: auth-scheme LWS auth-param
 * *(COMMA auth-param), auth-param = token EQUAL (token / quoted-string).
 */
int sip_auth_parse(struct slice value, const struct sb_limits *lim,
		   struct sip_auth *out)
{
	struct scan s = scan_of(value);
	uint32_t n = 0;

	memset(out, 0, sizeof(*out));
	scan_ws(&s);
	out->scheme = scan_token(&s);
	if (!out->scheme.p)
		return -EBADMSG;
	scan_ws(&s);
	out->params = slice_make(s.p, (size_t)(s.end - s.p));
	while (!scan_eof(&s)) {
		struct slice name, val;
		const char *b;

		name = scan_token(&s);
		if (!name.p || !scan_sep(&s, '='))
			return -EBADMSG;
		scan_ws(&s);
		b = s.p;
		if (scan_peek(&s) == '"') {
			if (!scan_quoted(&s, &val))
				return -EBADMSG;
		} else {
			/* token, plus '/' '=' ':' seen in the wild (base64) */
			while (!scan_eof(&s) &&
			       (cc_is((unsigned char)*s.p, CC_TOKEN) ||
				*s.p == '/' || *s.p == '=' || *s.p == ':'))
				s.p++;
			val = slice_make(b, (size_t)(s.p - b));
			if (val.len == 0)
				return -EBADMSG;
		}
		if (++n > lim->max_params)
			return -E2BIG;
		auth_known(out, name, val);
		if (scan_sep(&s, ','))
			scan_ws(&s);
		else if (scan_ws(&s), !scan_eof(&s))
			return -EBADMSG;
	}
	return 0;
}
