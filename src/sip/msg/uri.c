/* SIP, SIPS and tel URIs: parsing in place and comparison, no allocation. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/msg/uri.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "sip/msg/params.h"

/* Character classes of RFC 3261 section 25.1 beyond alphanum. */
enum uri_class {
	URI_MARK = 1 << 0,     /* mark: with alphanum, unreserved */
	URI_USER = 1 << 1,     /* user-unreserved */
	URI_PASSWORD = 1 << 2, /* the extra characters of password */
	URI_PARAM = 1 << 3,    /* param-unreserved */
	URI_HNV = 1 << 4,      /* hnv-unreserved */
	URI_RESERVED = 1 << 5, /* reserved */
	URI_OPAQUE = 1 << 6,   /* reserved, "[" and "]": uric (RFC 2732) */
};

/* Sentinels of unit_next(). */
enum uri_unit {
	URI_UNIT_END = -1,	/* no more characters */
	URI_UNIT_ESCAPED = 256, /* plus an octet: an escaped reserved char */
};

static const uint8_t cls_of[256] = {
    ['-'] = URI_MARK,
    ['_'] = URI_MARK,
    ['.'] = URI_MARK,
    ['!'] = URI_MARK,
    ['~'] = URI_MARK,
    ['*'] = URI_MARK,
    ['\''] = URI_MARK,
    ['('] = URI_MARK,
    [')'] = URI_MARK,
    ['&'] = URI_USER | URI_PASSWORD | URI_PARAM | URI_RESERVED | URI_OPAQUE,
    ['='] = URI_USER | URI_PASSWORD | URI_RESERVED | URI_OPAQUE,
    ['+'] = URI_USER | URI_PASSWORD | URI_PARAM | URI_HNV | URI_RESERVED |
	    URI_OPAQUE,
    ['$'] = URI_USER | URI_PASSWORD | URI_PARAM | URI_HNV | URI_RESERVED |
	    URI_OPAQUE,
    [','] = URI_USER | URI_PASSWORD | URI_RESERVED | URI_OPAQUE,
    [';'] = URI_USER | URI_RESERVED | URI_OPAQUE,
    ['?'] = URI_USER | URI_HNV | URI_RESERVED | URI_OPAQUE,
    ['/'] = URI_USER | URI_PARAM | URI_HNV | URI_RESERVED | URI_OPAQUE,
    [':'] = URI_PARAM | URI_HNV | URI_RESERVED | URI_OPAQUE,
    ['@'] = URI_RESERVED | URI_OPAQUE,
    ['['] = URI_PARAM | URI_HNV | URI_OPAQUE,
    [']'] = URI_PARAM | URI_HNV | URI_OPAQUE,
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
	return is_digit(c) || is_alpha(c);
}

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int fold(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* RFC 3966 5.1.1 visual-separator. */
static bool is_visual_sep(char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

static bool in_class(char c, unsigned cls)
{
	unsigned char u = (unsigned char)c;

	return is_alnum(c) || (cls_of[u] & (URI_MARK | cls));
}

/*
 * Skip the characters a component allows: unreserved, those of class cls
 * and %HH escapes. Returns where the run stops, or NULL at a bad escape.
 */
static const char *span(const char *p, const char *end, unsigned cls)
{
	while (p < end) {
		if (*p == '%') {
			/* RFC 3261 25.1: escaped = "%" HEXDIG HEXDIG */
			if (end - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0)
				return NULL;
			p += 3;
		} else if (in_class(*p, cls)) {
			p++;
		} else {
			break;
		}
	}
	return p;
}

/*
 * Take the next character of an escaped component, for comparison. An
 * escape decodes to its octet, except that an escaped reserved character
 * stays distinct from the raw one (RFC 3261 19.1.4): it comes back as
 * URI_UNIT_ESCAPED + octet. Returns URI_UNIT_END when s is empty.
 */
static int unit_next(struct slice *s)
{
	int c;

	if (s->len == 0)
		return URI_UNIT_END;
	c = (unsigned char)s->p[0];
	if (c == '%' && s->len >= 3 && hexval(s->p[1]) >= 0 &&
	    hexval(s->p[2]) >= 0) {
		c = hexval(s->p[1]) * 16 + hexval(s->p[2]);
		s->p += 3;
		s->len -= 3;
		return (cls_of[c] & URI_RESERVED) ? URI_UNIT_ESCAPED + c : c;
	}
	s->p++;
	s->len--;
	return c;
}

static bool units_eq(struct slice a, struct slice b, bool ignore_case)
{
	for (;;) {
		int x = unit_next(&a), y = unit_next(&b);

		if (ignore_case) {
			x = fold(x);
			y = fold(y);
		}
		if (x != y)
			return false;
		if (x == URI_UNIT_END)
			return true;
	}
}

/* Parameter names compare case-insensitively, escapes decoded. */
static bool name_is(struct slice name, const char *lit)
{
	return units_eq(name, slice_cstr(lit), true);
}

/* RFC 3261 25.1 IPv4address: four 1*3DIGIT octets, each at most 255. */
static bool ip4_parse(struct slice s, uint8_t out[4])
{
	const char *p = s.p, *end = s.p + s.len;

	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;

		if (i > 0 && (p == end || *p++ != '.'))
			return false;
		for (; p < end && is_digit(*p) && digits < 3; p++, digits++)
			v = v * 10 + (unsigned)(*p - '0');
		if (digits == 0 || v > 255)
			return false;
		out[i] = (uint8_t)v;
	}
	return p == end;
}

/*
 * RFC 5118 4.10: RFC 3261's ABNF derives ":::" before an IPv4 tail, and
 * implementations must tolerate it. p is just past a "::"; skip a third
 * colon there, and only there.
 */
static const char *skip_abnf_colon(const char *p, const char *end)
{
	uint8_t v4[4];

	if (p < end && *p == ':' &&
	    ip4_parse(slice_make(p + 1, (size_t)(end - p - 1)), v4))
		return p + 1;
	return p;
}

/*
 * RFC 5954 IPv6address (the corrected RFC 3261 rule, as RFC 4291 2.2):
 * up to eight groups of 1-4 hex digits, at most one "::" standing for one
 * or more zero groups, optionally ending in an IPv4 address that counts as
 * two groups. s is the text between the brackets. Fills out on success.
 */
static bool ip6_parse(struct slice s, uint8_t out[16])
{
	const char *p = s.p, *end = s.p + s.len;
	uint16_t grp[8];
	int n = 0, gap = -1;

	if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
		gap = 0;
		p = skip_abnf_colon(p + 2, end);
	}
	while (p < end) {
		const char *q = p;
		unsigned v = 0;
		uint8_t v4[4];

		for (; q < end && hexval(*q) >= 0; q++)
			v = (v << 4 | (unsigned)hexval(*q)) & 0xffff;
		if (q < end && *q == '.') {
			/* RFC 4291 2.2: an IPv4 tail ends the address */
			if (n > 6 ||
			    !ip4_parse(slice_make(p, (size_t)(end - p)), v4))
				return false;
			grp[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
			grp[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
			break;
		}
		if (q == p || q - p > 4 || n == 8)
			return false;
		grp[n++] = (uint16_t)v;
		p = q;
		if (p == end)
			break;
		if (*p++ != ':' || p == end)
			return false;
		if (*p == ':') {
			/* RFC 4291 2.2: "::" may appear only once */
			if (gap >= 0)
				return false;
			gap = n;
			p = skip_abnf_colon(p + 1, end);
		}
	}
	if (gap < 0 ? n != 8 : n > 7)
		return false;
	memset(out, 0, 16);
	for (int i = 0; i < n; i++) {
		int at = (gap >= 0 && i >= gap) ? i + 8 - n : i;

		out[2 * at] = (uint8_t)(grp[i] >> 8);
		out[2 * at + 1] = (uint8_t)grp[i];
	}
	return true;
}

/*
 * RFC 3261 25.1 hostname, read liberally: labels of alphanum and inner
 * '-', separated by dots, one final dot allowed. A top label of digits
 * only would make an IPv4 address, so it is refused here ("256.1.1.1").
 */
static bool hostname_ok(struct slice s)
{
	size_t n = s.len, start = 0;
	bool all_digits = true;

	if (n && s.p[n - 1] == '.')
		n--;
	if (n == 0)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s.p[i] == '.') {
			if (i == start || s.p[start] == '-' ||
			    s.p[i - 1] == '-')
				return false;
			if (i == n)
				return !all_digits;
			start = i + 1;
			all_digits = true;
		} else if (is_alnum(s.p[i]) || s.p[i] == '-') {
			all_digits = all_digits && is_digit(s.p[i]);
		} else {
			return false;
		}
	}
	return false;
}

/* The text between an IPv6reference's brackets. */
static struct slice ip6_inner(struct slice host)
{
	return slice_make(host.p + 1, host.len - 2);
}

/* RFC 3261 25.1 host = hostname / IPv4address / IPv6reference. */
static bool host_classify(struct slice h, enum sip_host_type *type)
{
	uint8_t addr[16];

	if (h.len >= 2 && h.p[0] == '[' && h.p[h.len - 1] == ']') {
		*type = SIP_HOST_IPV6;
		return ip6_parse(ip6_inner(h), addr);
	}
	if (ip4_parse(h, addr)) {
		*type = SIP_HOST_IPV4;
		return true;
	}
	*type = SIP_HOST_NAME;
	return hostname_ok(h);
}

/* RFC 3966 5.1.4 global-number-digits: "+" then phonedigits, a DIGIT. */
static bool tel_global_ok(struct slice s)
{
	bool has_digit = false;

	if (s.len < 2 || s.p[0] != '+')
		return false;
	for (size_t i = 1; i < s.len; i++) {
		if (is_digit(s.p[i]))
			has_digit = true;
		else if (!is_visual_sep(s.p[i]))
			return false;
	}
	return has_digit;
}

/* RFC 3966 5.1.5 local-number-digits: phonedigit-hex, one not a sep. */
static bool tel_local_ok(struct slice s)
{
	bool has_digit = false;

	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (hexval(c) >= 0 || c == '*' || c == '#')
			has_digit = true;
		else if (!is_visual_sep(c))
			return false;
	}
	return has_digit;
}

/* RFC 3966 5.4 extension = ";ext=" 1*phonedigit. */
static bool tel_ext_ok(struct slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_digit(s.p[i]) && !is_visual_sep(s.p[i]))
			return false;
	return true;
}

/* RFC 3966 5.1.5: descriptor = domainname / global-number-digits. */
static bool tel_context_ok(struct slice v)
{
	enum sip_host_type type;

	if (!v.p || v.len == 0)
		return false;
	if (v.p[0] == '+')
		return tel_global_ok(v);
	return host_classify(v, &type) && type == SIP_HOST_NAME;
}

/* RFC 3966 4: digits compare without visual separators, any case. */
static bool tel_digits_eq(struct slice a, struct slice b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a.len && is_visual_sep(a.p[i]))
			i++;
		while (j < b.len && is_visual_sep(b.p[j]))
			j++;
		if (i == a.len || j == b.len)
			return i == a.len && j == b.len;
		if (fold(a.p[i++]) != fold(b.p[j++]))
			return false;
	}
}

/*
 * Record a well-known parameter. Each may appear once: a repeat would let
 * two readers of one URI see different transports or targets.
 */
static int param_known(struct sip_uri *u, struct slice name, struct slice value)
{
	struct slice *slot;
	enum sip_host_type type;
	uint32_t ttl;

	if (name_is(name, "lr")) {
		/* RFC 3261 19.1.1: a flag; old proxies send "lr=on" */
		if (u->lr)
			return -EBADMSG;
		u->lr = true;
		return 0;
	}
	if (name_is(name, "transport"))
		slot = &u->transport;
	else if (name_is(name, "user"))
		slot = &u->user_param;
	else if (name_is(name, "maddr"))
		slot = &u->maddr;
	else if (name_is(name, "ttl"))
		slot = &u->ttl;
	else if (name_is(name, "method"))
		slot = &u->method;
	else
		return 0;
	if (slot->p || !value.p)
		return -EBADMSG;
	/* RFC 3261 25.1: ttl = 1*3DIGIT, 0 to 255 */
	if (slot == &u->ttl &&
	    (value.len > 3 || slice_to_u32(value, &ttl) || ttl > 255))
		return -EBADMSG;
	/* RFC 3261 25.1: maddr-param = "maddr=" host */
	if (slot == &u->maddr && !host_classify(value, &type))
		return -EBADMSG;
	*slot = value;
	return 0;
}

/*
 * uri-parameters = *( ";" pname [ "=" pvalue ] ), with pname and pvalue
 * 1*paramchar (RFC 3261 25.1). *pp is at the first ';' and is left after
 * the last parameter. -E2BIG past max parameters.
 */
static int params_parse(const char **pp, const char *end, struct sip_uri *u,
			uint32_t max)
{
	const char *p = *pp, *start = p + 1;
	uint32_t count = 0;
	int err;

	while (p < end && *p == ';') {
		const char *name = ++p, *val;
		struct slice value = slice_make(NULL, 0);
		size_t name_len;

		p = span(p, end, URI_PARAM);
		if (!p || p == name)
			return -EBADMSG;
		name_len = (size_t)(p - name);
		if (p < end && *p == '=') {
			val = ++p;
			p = span(p, end, URI_PARAM);
			if (!p || p == val)
				return -EBADMSG;
			value = slice_make(val, (size_t)(p - val));
		}
		if (++count > max)
			return -E2BIG;
		err = param_known(u, slice_make(name, name_len), value);
		if (err)
			return err;
	}
	u->params = slice_make(start, (size_t)(p - start));
	u->param_count = (uint16_t)count;
	*pp = p;
	return 0;
}

/*
 * headers = "?" header *( "&" header ), header = hname "=" hvalue, hname
 * not empty (RFC 3261 25.1). *pp is at the '?'. Headers count against
 * max like parameters, since comparing them is quadratic.
 */
static int headers_parse(const char **pp, const char *end, struct sip_uri *u,
			 uint32_t max)
{
	const char *p = *pp, *start = p + 1, *name;
	uint32_t count = 0;

	do {
		name = ++p;
		p = span(p, end, URI_HNV);
		if (!p || p == name || p == end || *p != '=')
			return -EBADMSG;
		p = span(p + 1, end, URI_HNV);
		if (!p)
			return -EBADMSG;
		if (++count > max)
			return -E2BIG;
	} while (p < end && *p == '&');
	u->headers = slice_make(start, (size_t)(p - start));
	*pp = p;
	return 0;
}

/*
 * userinfo = user [ ":" password ] "@" (RFC 3261 25.1), given without its
 * '@'. No character of host, port, parameters or headers may be a raw
 * '@', so the first '@' of a URI is the one that ends userinfo, even when
 * user holds ';' or '?' (RFC 4475 3.1.1.9).
 */
static int userinfo_parse(const char *p, const char *end, struct sip_uri *u)
{
	const char *q = span(p, end, URI_USER);

	/* user = 1*( unreserved / escaped / user-unreserved ) */
	if (!q || q == p)
		return -EBADMSG;
	u->user = slice_make(p, (size_t)(q - p));
	if (q == end)
		return 0;
	if (*q != ':')
		return -EBADMSG;
	p = q + 1;
	/* password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
	q = span(p, end, URI_PASSWORD);
	if (q != end)
		return -EBADMSG;
	u->password = slice_make(p, (size_t)(end - p));
	return 0;
}

/* hostport = host [ ":" port ] (RFC 3261 25.1); *pp is at the host. */
static int hostport_parse(const char **pp, const char *end, struct sip_uri *u)
{
	const char *p = *pp, *q;
	uint32_t port;

	if (p < end && *p == '[') {
		/* RFC 5118 4.2: an IPv6 reference must be closed */
		q = memchr(p, ']', (size_t)(end - p));
		if (!q)
			return -EBADMSG;
		q++;
	} else {
		for (q = p; q < end && (is_alnum(*q) || *q == '-' || *q == '.');
		     q++)
			;
	}
	u->host = slice_make(p, (size_t)(q - p));
	if (!host_classify(u->host, &u->host_type))
		return -EBADMSG;
	p = q;
	if (p < end && *p == ':') {
		for (q = ++p; q < end && is_digit(*q); q++)
			;
		/* RFC 3261 25.1: port = 1*DIGIT, and it must fit 16 bits */
		if (slice_to_u32(slice_make(p, (size_t)(q - p)), &port) ||
		    port > UINT16_MAX)
			return -EBADMSG;
		u->port = (uint16_t)port;
		u->has_port = true;
		p = q;
	}
	*pp = p;
	return 0;
}

/* SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ]. */
static int sip_rest_parse(const char *p, const char *end, struct sip_uri *u,
			  uint32_t max)
{
	const char *at = memchr(p, '@', (size_t)(end - p));
	int err;

	if (at) {
		err = userinfo_parse(p, at, u);
		if (err)
			return err;
		p = at + 1;
	}
	err = hostport_parse(&p, end, u);
	if (!err && p < end && *p == ';')
		err = params_parse(&p, end, u, max);
	if (!err && p < end && *p == '?')
		err = headers_parse(&p, end, u, max);
	if (!err && p != end)
		err = -EBADMSG;
	return err;
}

/* sip_params_next() over a list that may be absent (p NULL). */
static bool param_next(struct slice *rest, struct sip_param *out)
{
	return rest->p && sip_params_next(rest, out);
}

/* Find a parameter by name (escapes decoded, any case); 0 or -ENOENT. */
static int param_find(struct slice params, const char *name,
		      struct slice *value)
{
	struct sip_param prm;

	while (param_next(&params, &prm)) {
		if (name_is(prm.name, name)) {
			*value = prm.value;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * telephone-uri = "tel:" telephone-subscriber (RFC 3966 3): a global or
 * local number, then parameters, never headers. A local number without
 * phone-context is accepted, as many devices send one.
 */
static int tel_rest_parse(const char *p, const char *end, struct sip_uri *u,
			  uint32_t max)
{
	const char *q = memchr(p, ';', (size_t)(end - p));
	bool is_global = p < end && *p == '+';
	struct slice v;
	int err;

	if (!q)
		q = end;
	u->user = slice_make(p, (size_t)(q - p));
	if (is_global ? !tel_global_ok(u->user) : !tel_local_ok(u->user))
		return -EBADMSG;
	p = q;
	if (p < end) {
		err = params_parse(&p, end, u, max);
		if (err)
			return err;
		if (p != end)
			return -EBADMSG;
	}
	if (param_find(u->params, "phone-context", &v) == 0 &&
	    !tel_context_ok(v))
		return -EBADMSG;
	if (param_find(u->params, "ext", &v) == 0 && (!v.p || !tel_ext_ok(v)))
		return -EBADMSG;
	return 0;
}

/* RFC 3261 25.1 absoluteURI: here a non-empty run of uric. */
static int other_rest_parse(const char *p, const char *end)
{
	const char *q = span(p, end, URI_OPAQUE);

	return (q && q != p && q == end) ? 0 : -EBADMSG;
}

static bool host_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	uint8_t x[16], y[16];

	if (a->host_type != b->host_type)
		return false;
	/* RFC 5954 4.2: address literals match by their binary value */
	switch (a->host_type) {
	case SIP_HOST_IPV4:
		return ip4_parse(a->host, x) && ip4_parse(b->host, y) &&
		       memcmp(x, y, 4) == 0;
	case SIP_HOST_IPV6:
		return ip6_parse(ip6_inner(a->host), x) &&
		       ip6_parse(ip6_inner(b->host), y) &&
		       memcmp(x, y, 16) == 0;
	default:
		return slice_caseeq(a->host, b->host);
	}
}

/* RFC 3261 19.1.4: an absent component never matches a present one. */
static bool part_eq(struct slice a, struct slice b)
{
	if (!a.p || !b.p)
		return !a.p && !b.p;
	return units_eq(a, b, false);
}

/*
 * RFC 3261 19.1.4 names user, ttl, method and maddr; its examples show
 * transport must match too ("sip:bob@biloxi.com;transport=udp").
 */
static bool param_must_match(struct slice name)
{
	return name_is(name, "transport") || name_is(name, "user") ||
	       name_is(name, "ttl") || name_is(name, "method") ||
	       name_is(name, "maddr");
}

static bool param_value_eq(const struct sip_uri *u, struct sip_param *x,
			   struct sip_param *y)
{
	if (!x->value.p || !y->value.p)
		return !x->value.p && !y->value.p;
	/* RFC 3966 4: ext and numeric phone-context ignore separators */
	if (u->scheme == SIP_URI_TEL &&
	    (name_is(x->name, "ext") ||
	     (name_is(x->name, "phone-context") && x->value.p[0] == '+')))
		return tel_digits_eq(x->value, y->value);
	return units_eq(x->value, y->value, true);
}

/*
 * Does b agree with every parameter of a? One that b also names must
 * equal one of b's of that name. One that b lacks is ignored, unless it
 * must match (RFC 3261 19.1.4) or the URIs are tel (RFC 3966 4).
 */
static bool params_cover(const struct sip_uri *a, const struct sip_uri *b)
{
	struct slice ra = a->params, rb;
	struct sip_param x, y;

	while (param_next(&ra, &x)) {
		bool named = false, matched = false;

		rb = b->params;
		while (!matched && param_next(&rb, &y)) {
			if (!units_eq(x.name, y.name, true))
				continue;
			named = true;
			matched = param_value_eq(a, &x, &y);
		}
		if (!matched && (named || a->scheme == SIP_URI_TEL ||
				 param_must_match(x.name)))
			return false;
	}
	return true;
}

/* Iterate validated headers "h=v&h2=v2". */
static bool header_next(struct slice *rest, struct slice *name,
			struct slice *value)
{
	const char *p = rest->p, *end, *amp, *eq;

	if (!p || rest->len == 0)
		return false;
	end = p + rest->len;
	amp = memchr(p, '&', (size_t)(end - p));
	if (!amp)
		amp = end;
	eq = memchr(p, '=', (size_t)(amp - p));
	if (!eq)
		eq = amp;
	*name = slice_make(p, (size_t)(eq - p));
	*value = eq < amp ? slice_make(eq + 1, (size_t)(amp - eq - 1))
			  : slice_make(amp, 0);
	rest->p = amp < end ? amp + 1 : end;
	rest->len = (size_t)(end - rest->p);
	return true;
}

/*
 * RFC 3261 19.1.4: headers are never ignored; each of a must be in b.
 * Names compare in any case, values exactly after decoding.
 */
static bool headers_cover(struct slice a, struct slice b)
{
	struct slice xn, xv, yn, yv, rb;

	while (header_next(&a, &xn, &xv)) {
		bool found = false;

		rb = b;
		while (!found && header_next(&rb, &yn, &yv))
			found =
			    units_eq(xn, yn, true) && units_eq(xv, yv, false);
		if (!found)
			return false;
	}
	return true;
}

int sip_uri_parse(struct slice in, struct sip_uri *out,
		  const struct sb_limits *lim)
{
	struct sip_uri u = {0};
	const char *p = in.p, *end, *q;
	uint32_t max = lim ? lim->max_params : sb_limits_default().max_params;
	int err;

	if (max > UINT16_MAX)
		max = UINT16_MAX;
	/* RFC 3261 25.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (!p || in.len == 0 || !is_alpha(*p))
		return -EBADMSG;
	end = p + in.len;
	for (q = p + 1;
	     q < end && (is_alnum(*q) || *q == '+' || *q == '-' || *q == '.');
	     q++)
		;
	if (q == end || *q != ':')
		return -EBADMSG;
	u.raw = in;
	u.scheme_name = slice_make(p, (size_t)(q - p));
	p = q + 1;
	if (slice_caseeq_lit(u.scheme_name, "sip") ||
	    slice_caseeq_lit(u.scheme_name, "sips")) {
		u.scheme = u.scheme_name.len == 3 ? SIP_URI_SIP : SIP_URI_SIPS;
		err = sip_rest_parse(p, end, &u, max);
	} else if (slice_caseeq_lit(u.scheme_name, "tel")) {
		u.scheme = SIP_URI_TEL;
		err = tel_rest_parse(p, end, &u, max);
	} else {
		u.scheme = SIP_URI_OTHER;
		err = other_rest_parse(p, end);
	}
	if (err)
		return err;
	*out = u;
	return 0;
}

int sip_uri_param(const struct sip_uri *u, const char *name,
		  struct slice *value)
{
	return param_find(u->params, name, value);
}

bool sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	size_t skip_a = a->scheme_name.len + 1, skip_b = b->scheme_name.len + 1;

	/* RFC 3261 19.1.4: a SIP and a SIPS URI are never equivalent */
	if (a->scheme != b->scheme)
		return false;
	switch (a->scheme) {
	case SIP_URI_OTHER:
		return slice_caseeq(a->scheme_name, b->scheme_name) &&
		       units_eq(
			   slice_make(a->raw.p + skip_a, a->raw.len - skip_a),
			   slice_make(b->raw.p + skip_b, b->raw.len - skip_b),
			   false);
	case SIP_URI_TEL:
		/* RFC 3966 4: same number, same set of parameters */
		return tel_digits_eq(a->user, b->user) && params_cover(a, b) &&
		       params_cover(b, a);
	default:
		break;
	}
	/* RFC 3261 19.1.4: userinfo is case-sensitive, the rest is not */
	if (!part_eq(a->user, b->user) || !part_eq(a->password, b->password) ||
	    !host_eq(a, b))
		return false;
	/* RFC 3261 19.1.4: an explicit default port never matches none */
	if (a->has_port != b->has_port || a->port != b->port)
		return false;
	return params_cover(a, b) && params_cover(b, a) &&
	       headers_cover(a->headers, b->headers) &&
	       headers_cover(b->headers, a->headers);
}

int sip_uri_unescape(struct slice in, char *out, size_t out_cap)
{
	size_t n = 0;

	for (size_t i = 0; i < in.len; n++) {
		char c = in.p[i];

		if (c == '%') {
			if (in.len - i < 3 || hexval(in.p[i + 1]) < 0 ||
			    hexval(in.p[i + 2]) < 0)
				return -EBADMSG;
			c = (char)(hexval(in.p[i + 1]) * 16 +
				   hexval(in.p[i + 2]));
			i += 3;
		} else {
			i++;
		}
		if (n >= out_cap || n >= INT_MAX)
			return -E2BIG;
		out[n] = c;
	}
	return (int)n;
}
