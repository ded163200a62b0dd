/* name-addr / addr-spec values with header params (RFC 3261 20.10, 25.1). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>

#include "sip/msg/msg_int.h"

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
static bool valid_qvalue(struct slice q)
{
	if (q.len == 0 || q.len > 5 || (q.p[0] != '0' && q.p[0] != '1'))
		return false;
	if (q.len == 1)
		return true;
	if (q.p[1] != '.')
		return false;
	for (size_t i = 2; i < q.len; i++) {
		if (!cc_is((unsigned char)q.p[i], CC_DIGIT))
			return false;
		if (q.p[0] == '1' && q.p[i] != '0')
			return false;
	}
	return true;
}

static int known_param(void *ctx, struct slice name, struct slice value)
{
	struct sip_nameaddr *na = ctx;
	uint32_t n;

	if (name.len == 3 && slice_caseeq(name, SL("tag"))) {
		if (!value.p || value.len == 0 || na->tag.p)
			return -EBADMSG;
		na->tag = value;
	} else if (name.len == 7 && slice_caseeq(name, SL("expires"))) {
		/* delta-seconds must fit 32 bits (RFC 4475 3.1.2.4) */
		if (!value.p || slice_to_u32(value, &n))
			return -EBADMSG;
		na->expires = value;
	} else if (name.len == 1 && (name.p[0] == 'q' || name.p[0] == 'Q')) {
		if (!value.p || !valid_qvalue(value))
			return -EBADMSG;
		na->q = value;
	}
	return 0;
}

/*
 * display-name = *(token LWS) / quoted-string, followed by "<". Returns
 * true with the display name (maybe absent) when a name-addr starts here,
 * false when this is an addr-spec; s is left at '<' or at the start.
 */
static int scan_display(struct scan *s, struct slice *display)
{
	const char *b = s->p;
	struct slice t;

	*display = slice_make(NULL, 0);
	if (scan_peek(s) == '"') {
		if (!scan_quoted(s, display))
			return -EBADMSG; /* RFC 4475 3.1.2.6: unbalanced quote
					  */
		scan_ws(s);
		return scan_peek(s) == '<' ? 1 : -EBADMSG;
	}
	if (scan_peek(s) == '<')
		return 1;
	t = scan_token(s);
	if (t.p && scan_peek(s) == ':') {
		s->p = b; /* a scheme: this is an addr-spec */
		return 0;
	}
	for (;;) {
		const char *e = s->p;
		if (!t.p)
			return -EBADMSG;
		scan_ws(s);
		if (scan_peek(s) == '<') {
			*display = slice_make(b, (size_t)(e - b));
			return 1;
		}
		t = scan_token(s);
	}
}

static int parse_one(struct scan *s, bool is_contact, struct arena *a,
		     const struct sb_limits *lim, struct sip_nameaddr *na)
{
	const char *b;
	struct slice uri;
	int err;

	if (is_contact && scan_peek(s) == '*') {
		/* RFC 3261 10.2.2: Contact: * (the registrar checks Expires) */
		s->p++;
		na->is_star = true;
		return 0;
	}
	err = scan_display(s, &na->display);
	if (err < 0)
		return err;
	if (err == 1) {
		s->p++; /* '<' */
		b = s->p;
		while (s->p < s->end && *s->p != '>')
			s->p++;
		if (scan_eof(s))
			return -EBADMSG;
		uri = slice_make(b, (size_t)(s->p - b));
		s->p++;
		na->has_brackets = true;
	} else {
		b = s->p;
		while (s->p < s->end && *s->p != ';' && *s->p != ',' &&
		       *s->p != ' ' && *s->p != '\t')
			s->p++;
		uri = slice_make(b, (size_t)(s->p - b));
		/* RFC 3261 20: a URI with ',', ';' or '?' needs <> */
		if (memchr(uri.p, '?', uri.len))
			return -EBADMSG;
	}
	err = sip_uri_parse(uri, &na->uri, lim);
	if (err)
		return err;
	return scan_params_cb(s, lim->max_params, &na->params, NULL,
			      known_param, na);
}

int nameaddr_parse_at(struct slice value, const char *base, bool allow_list,
		      bool is_contact, struct arena *a,
		      const struct sb_limits *lim, struct sip_nameaddr **first)
{
	struct scan s = scan_of(value);
	struct sip_nameaddr *prev = NULL;
	uint32_t count = 0;

	*first = NULL;
	for (;;) {
		struct sip_nameaddr *na;
		const char *start;
		int err;

		scan_ws(&s);
		if (++count > lim->max_values)
			return -E2BIG;
		na = arena_zalloc(a, sizeof(*na));
		if (!na)
			return -ENOMEM;
		start = s.p;
		err = parse_one(&s, is_contact, a, lim, na);
		if (err)
			return err;
		na->off = (uint32_t)(start - base);
		na->len = (uint32_t)(s.p - start);
		if (prev)
			prev->next = na;
		else
			*first = na;
		prev = na;
		if (allow_list && scan_sep(&s, ',')) {
			if (na->is_star)
				return -EBADMSG;
			continue;
		}
		scan_ws(&s);
		if (!scan_eof(&s))
			return -EBADMSG;
		if (na->is_star && na != *first)
			return -EBADMSG;
		return 0;
	}
}

int sip_nameaddr_parse(struct slice value, bool allow_list, struct arena *a,
		       const struct sb_limits *lim, struct sip_nameaddr **first)
{
	return nameaddr_parse_at(value, value.p, allow_list, false, a, lim,
				 first);
}
