/* SDP (RFC 4566): parsing in place into arena arrays, and the helpers. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sdp/sdp.h"

#include <errno.h>
#include <string.h>

/* Where the parser is in RFC 4566 5's line order. */
enum sdp_state {
	SDP_ST_VERSION, /* expecting v= */
	SDP_ST_ORIGIN,	/* expecting o= */
	SDP_ST_NAME,	/* expecting s= */
	SDP_ST_SESSION, /* session-level lines, until the first m= */
	SDP_ST_MEDIA	/* inside an m= section */
};

/* One line: its type letter, its value, and where it lies in the text. */
struct sdp_line {
	char type;
	struct slice val; /* after "x=", without the line end */
	size_t off;	  /* offset of the type letter */
	size_t end;	  /* offset just past the line end */
};

/* The a= lines counted in a first pass, so arrays are sized exactly. */
struct sdp_counts {
	uint16_t nmedia;
	uint16_t nattrs[SDP_MEDIA_MAX + 1]; /* [0] session, [i] m= i */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 4566 9 token-char. */
static bool is_token_char(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`{|}~", c));
}

static bool is_token(struct slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_token_char(s.p[i]))
			return false;
	return true;
}

static bool is_digits(struct slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_digit(s.p[i]))
			return false;
	return true;
}

/* An IPv4, IPv6 or host name as far as its characters go. */
static bool is_addr(struct slice s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_alnum(s.p[i]) && s.p[i] != '.' && s.p[i] != ':' &&
		    s.p[i] != '-' && s.p[i] != '_')
			return false;
	return true;
}

/*
 * Take the next space-separated field from *rest into *f. Runs of spaces
 * separate fields. Returns false when no field is left.
 */
static bool field_next(struct slice *rest, struct slice *f)
{
	size_t i = 0, n;

	while (i < rest->len && rest->p[i] == ' ')
		i++;
	if (i == rest->len)
		return false;
	for (n = i; n < rest->len && rest->p[n] != ' '; n++)
		;
	*f = slice_make(rest->p + i, n - i);
	*rest = slice_make(rest->p + n, rest->len - n);
	return true;
}

/* Split v into exactly n fields, or fail. */
static bool fields_exact(struct slice v, struct slice *f, size_t n)
{
	struct slice extra;

	for (size_t i = 0; i < n; i++)
		if (!field_next(&v, &f[i]))
			return false;
	return !field_next(&v, &extra);
}

static int port_parse(struct slice s, uint16_t *out)
{
	uint32_t v;

	if (slice_to_u32(s, &v) || v > 65535)
		return -EBADMSG;
	*out = (uint16_t)v;
	return 0;
}

/* Whether text from pos on holds nothing but empty lines. */
static bool only_blank_lines(struct slice text, size_t pos)
{
	while (pos < text.len) {
		if (text.p[pos] == '\n')
			pos++;
		else if (text.p[pos] == '\r' && pos + 1 < text.len &&
			 text.p[pos + 1] == '\n')
			pos += 2;
		else
			return false;
	}
	return true;
}

/*
 * Read the line at *pos: "x=value" ending in CRLF, LF or the end of the
 * text. Empty lines are accepted only at the very end, where they end the
 * description. Returns 1 with *ln set, 0 at the end, or -EBADMSG.
 */
static int line_next(struct slice text, size_t *pos, struct sdp_line *ln)
{
	const char *start = text.p + *pos, *nl;
	size_t len, end;

	if (*pos >= text.len || only_blank_lines(text, *pos))
		return 0;
	nl = memchr(start, '\n', text.len - *pos);
	if (nl) {
		len = (size_t)(nl - start);
		end = *pos + len + 1;
		if (len > 0 && start[len - 1] == '\r')
			len--;
	} else {
		len = text.len - *pos;
		end = text.len;
	}
	/* RFC 4566 5: <type>=<value>, one lower-case letter, no spaces. */
	if (len < 2 || start[1] != '=' || start[0] < 'a' || start[0] > 'z')
		return -EBADMSG;
	if (memchr(start, '\r', len))
		return -EBADMSG;
	ln->type = start[0];
	ln->val = slice_make(start + 2, len - 2);
	ln->off = *pos;
	ln->end = end;
	*pos = end;
	return 1;
}

/* First pass: check line syntax and count the m= and a= lines. */
static int count_lines(struct slice text, struct sdp_counts *c)
{
	struct sdp_line ln;
	size_t pos = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	while ((rc = line_next(text, &pos, &ln)) > 0) {
		if (ln.type == 'm' && ++c->nmedia > SDP_MEDIA_MAX)
			return -E2BIG;
		if (ln.type == 'a' && ++c->nattrs[c->nmedia] > SDP_ATTRS_MAX)
			return -E2BIG;
	}
	return rc;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <addr> */
static int origin_parse(struct slice v, struct sdp *s)
{
	struct slice f[6];

	if (!fields_exact(v, f, 6))
		return -EBADMSG;
	/* RFC 4566 5.2: sess-id and sess-version are numeric strings. */
	if (!is_digits(f[1]) || !is_digits(f[2]) || !is_token(f[3]) ||
	    !is_token(f[4]) || !is_addr(f[5]))
		return -EBADMSG;
	s->o_user = f[0];
	s->o_sess_id = f[1];
	s->o_sess_version = f[2];
	s->o_nettype = f[3];
	s->o_addrtype = f[4];
	s->o_addr = f[5];
	return 0;
}

/* c=<nettype> <addrtype> <address>[/<ttl>][/<n>] (RFC 4566 5.7) */
static int conn_parse(struct slice v, struct sdp_conn *c)
{
	struct slice f[3], suffix;
	const char *slash;

	if (!fields_exact(v, f, 3) || !is_token(f[0]) || !is_token(f[1]))
		return -EBADMSG;
	slash = memchr(f[2].p, '/', f[2].len);
	if (slash) {
		suffix = slice_make(slash + 1,
				    f[2].len - (size_t)(slash + 1 - f[2].p));
		f[2].len = (size_t)(slash - f[2].p);
		/* "/ttl", "/ttl/n" (IPv4) or "/n" (IPv6): digits only. */
		for (size_t i = 0; i < suffix.len; i++)
			if (!is_digit(suffix.p[i]) &&
			    (suffix.p[i] != '/' || i == 0 ||
			     i + 1 == suffix.len || suffix.p[i - 1] == '/'))
				return -EBADMSG;
		if (suffix.len == 0)
			return -EBADMSG;
	}
	if (!is_addr(f[2]))
		return -EBADMSG;
	c->nettype = f[0];
	c->addrtype = f[1];
	c->addr = f[2];
	c->raw = v;
	return 0;
}

/* The lines switchboard does not read, checked as far as cheap. */
static int other_check(char type, struct slice v)
{
	struct slice f[2];
	const char *colon;

	switch (type) {
	case 'b':
		/* RFC 4566 5.8: <bwtype>:<bandwidth> */
		colon = memchr(v.p, ':', v.len);
		if (!colon ||
		    !is_token(slice_make(v.p, (size_t)(colon - v.p))) ||
		    !is_digits(slice_make(colon + 1,
					  v.len - (size_t)(colon + 1 - v.p))))
			return -EBADMSG;
		return 0;
	case 't':
		/* RFC 4566 5.9: <start-time> <stop-time> */
		if (!fields_exact(v, f, 2) || !is_digits(f[0]) ||
		    !is_digits(f[1]))
			return -EBADMSG;
		return 0;
	case 'i':
	case 'u':
	case 'e':
	case 'p':
	case 'r':
	case 'z':
	case 'k':
		return 0;
	default:
		return -EBADMSG;
	}
}

/* a=<name>[:<value>] (RFC 4566 5.13) */
static int attr_parse(struct slice v, struct sdp_attr *at)
{
	const char *colon = memchr(v.p, ':', v.len);

	if (colon) {
		at->name = slice_make(v.p, (size_t)(colon - v.p));
		at->value =
		    slice_make(colon + 1, v.len - (size_t)(colon + 1 - v.p));
	} else {
		at->name = v;
		at->value = slice_make(NULL, 0);
	}
	return is_token(at->name) ? 0 : -EBADMSG;
}

/* A direction property attribute (RFC 4566 6, RFC 3264 5.1). */
static bool dir_of(const struct sdp_attr *at, enum sdp_dir *d)
{
	static const char *const names[] = {
	    [SDP_DIR_SENDRECV] = "sendrecv",
	    [SDP_DIR_SENDONLY] = "sendonly",
	    [SDP_DIR_RECVONLY] = "recvonly",
	    [SDP_DIR_INACTIVE] = "inactive",
	};

	if (slice_is_set(at->value))
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (slice_caseeq_lit(at->name, names[i])) {
			*d = (enum sdp_dir)i;
			return true;
		}
	}
	return false;
}

static struct sdp_fmt *fmt_find(struct sdp_media *m, struct slice pt)
{
	for (uint16_t i = 0; i < m->nfmts; i++)
		if (slice_eq(m->fmts[i].pt, pt))
			return &m->fmts[i];
	return NULL;
}

/*
 * a=rtpmap:<pt> <encoding>/<rate>[/<params>] and a=fmtp:<pt> <params>:
 * attach the part after the payload type to the m= line's format. The
 * first one given for a format wins; one for an unlisted format is only
 * kept in attrs.
 */
static int fmt_attr_apply(struct sdp_media *m, struct slice v, bool is_rtpmap)
{
	struct slice pt, rest = v;
	struct sdp_fmt *f;

	if (!field_next(&rest, &pt) || !is_token(pt))
		return -EBADMSG;
	rest = slice_trim(rest);
	if (rest.len == 0)
		return -EBADMSG;
	if (is_rtpmap && !memchr(rest.p, '/', rest.len))
		return -EBADMSG;
	f = fmt_find(m, pt);
	if (!f)
		return 0;
	if (is_rtpmap && !slice_is_set(f->rtpmap))
		f->rtpmap = rest;
	else if (!is_rtpmap && !slice_is_set(f->fmtp))
		f->fmtp = rest;
	return 0;
}

/* The attributes an m= section's fields hold. */
static int media_attr_apply(struct sdp_media *m, const struct sdp_attr *at)
{
	struct slice port, rest = at->value;
	uint16_t v;

	if (dir_of(at, &m->dir)) {
		m->has_dir = true;
		return 0;
	}
	if (slice_caseeq_lit(at->name, "rtcp-mux")) {
		m->is_rtcp_mux = true; /* RFC 5761 5.1.1 */
		return 0;
	}
	if (!slice_is_set(at->value))
		return 0;
	if (slice_caseeq_lit(at->name, "rtpmap"))
		return fmt_attr_apply(m, at->value, true);
	if (slice_caseeq_lit(at->name, "fmtp"))
		return fmt_attr_apply(m, at->value, false);
	if (slice_caseeq_lit(at->name, "ptime"))
		return slice_to_u32(slice_trim(at->value), &m->ptime) ? -EBADMSG
								      : 0;
	if (slice_caseeq_lit(at->name, "rtcp")) {
		/* RFC 3605 2.1: a=rtcp:<port> [<nettype> <addrtype> <addr>] */
		if (!field_next(&rest, &port) || port_parse(port, &v))
			return -EBADMSG;
		m->rtcp_port = v;
	}
	return 0;
}

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 4566 5.14) */
static int media_parse(struct slice v, struct arena *a, struct sdp_media *m)
{
	struct slice type, port, proto, fmt, rest;
	const char *slash;
	uint32_t n = 0;

	if (!field_next(&v, &type) || !field_next(&v, &port) ||
	    !field_next(&v, &proto) || !is_token(type))
		return -EBADMSG;
	/* proto = token *("/" token) */
	if (proto.p[0] == '/' || proto.p[proto.len - 1] == '/' ||
	    memmem(proto.p, proto.len, "//", 2))
		return -EBADMSG;
	for (size_t i = 0; i < proto.len; i++)
		if (proto.p[i] != '/' && !is_token_char(proto.p[i]))
			return -EBADMSG;
	m->nports = 1;
	slash = memchr(port.p, '/', port.len);
	if (slash) {
		struct slice np = slice_make(
		    slash + 1, port.len - (size_t)(slash + 1 - port.p));

		if (port_parse(np, &m->nports) || m->nports == 0)
			return -EBADMSG;
		port.len = (size_t)(slash - port.p);
	}
	if (port_parse(port, &m->port))
		return -EBADMSG;
	for (rest = v; field_next(&rest, &fmt);)
		if (!is_token(fmt))
			return -EBADMSG;
		else if (++n > SDP_FMTS_MAX)
			return -E2BIG;
	if (n == 0)
		return -EBADMSG;
	m->fmts = arena_zalloc(a, n * sizeof(*m->fmts));
	if (!m->fmts)
		return -ENOMEM;
	for (rest = v; field_next(&rest, &fmt);)
		m->fmts[m->nfmts++].pt = fmt;
	m->type = type;
	m->proto = proto;
	m->dir = SDP_DIR_SENDRECV;
	return 0;
}

static int attrs_alloc(struct arena *a, uint16_t n, struct sdp_attr **out)
{
	*out = NULL;
	if (n == 0)
		return 0;
	*out = arena_zalloc(a, n * sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

/* A line of the session part, after s=. */
static int session_line(struct sdp *s, const struct sdp_line *ln)
{
	struct sdp_attr *at;
	int err;

	switch (ln->type) {
	case 'c':
		/* RFC 4566 5: at most one session-level c=. */
		if (s->has_conn)
			return -EBADMSG;
		err = conn_parse(ln->val, &s->conn);
		s->has_conn = err == 0;
		return err;
	case 'a':
		at = &s->attrs[s->nattrs++];
		err = attr_parse(ln->val, at);
		if (!err && dir_of(at, &s->dir))
			s->has_dir = true;
		return err;
	default:
		return other_check(ln->type, ln->val);
	}
}

/* A line inside an m= section, other than the next m=. */
static int media_line(struct sdp_media *m, const struct sdp_line *ln)
{
	struct sdp_conn c;
	struct sdp_attr *at;
	int err;

	switch (ln->type) {
	case 'c':
		/* Several c= lines are legal for layered multicast: keep the
		 * first, check all. */
		err = conn_parse(ln->val, &c);
		if (!err && !m->has_conn) {
			m->conn = c;
			m->has_conn = true;
		}
		return err;
	case 'a':
		at = &m->attrs[m->nattrs++];
		err = attr_parse(ln->val, at);
		return err ? err : media_attr_apply(m, at);
	case 'i':
	case 'b':
	case 'k':
		return other_check(ln->type, ln->val);
	default:
		/* RFC 4566 5: v, o, s, u, e, p, t, r, z are session-only. */
		return -EBADMSG;
	}
}

/* Second pass: the RFC 4566 5 line order as a state machine. */
static int lines_parse(struct slice text, struct arena *a,
		       const struct sdp_counts *c, struct sdp *s)
{
	enum sdp_state st = SDP_ST_VERSION;
	struct sdp_media *m = NULL;
	struct sdp_line ln;
	size_t pos = 0;
	int rc, err = 0;

	while (err == 0 && (rc = line_next(text, &pos, &ln)) > 0) {
		switch (st) {
		case SDP_ST_VERSION:
			/* RFC 4566 5.1: v=0 is the first line. */
			if (ln.type != 'v' || !slice_eq(ln.val, SL("0")))
				return -EBADMSG;
			st = SDP_ST_ORIGIN;
			break;
		case SDP_ST_ORIGIN:
			if (ln.type != 'o')
				return -EBADMSG;
			err = origin_parse(ln.val, s);
			st = SDP_ST_NAME;
			break;
		case SDP_ST_NAME:
			if (ln.type != 's')
				return -EBADMSG;
			s->session_name = ln.val;
			st = SDP_ST_SESSION;
			break;
		case SDP_ST_SESSION:
		case SDP_ST_MEDIA:
			if (ln.type != 'm') {
				err = st == SDP_ST_SESSION
					  ? session_line(s, &ln)
					  : media_line(m, &ln);
				break;
			}
			if (m)
				m->len = (uint32_t)(ln.off - m->off);
			m = &s->media[s->nmedia];
			err =
			    attrs_alloc(a, c->nattrs[s->nmedia + 1], &m->attrs);
			s->nmedia++;
			if (!err)
				err = media_parse(ln.val, a, m);
			m->off = (uint32_t)ln.off;
			st = SDP_ST_MEDIA;
			break;
		}
	}
	if (err)
		return err;
	if (rc < 0)
		return rc;
	if (st < SDP_ST_SESSION)
		return -EBADMSG;
	if (m)
		m->len = (uint32_t)(pos - m->off);
	return 0;
}

int sdp_parse(struct slice text, struct arena *a, struct sdp *out)
{
	struct sdp_counts c;
	struct sdp s;
	int err;

	if (!text.p || text.len == 0)
		return -EBADMSG;
	if (text.len > SDP_BYTES_MAX)
		return -E2BIG;
	if (memchr(text.p, '\0', text.len))
		return -EBADMSG;
	err = count_lines(text, &c);
	if (err)
		return err;
	memset(&s, 0, sizeof(s));
	s.raw = text;
	s.dir = SDP_DIR_SENDRECV;
	err = attrs_alloc(a, c.nattrs[0], &s.attrs);
	if (err)
		return err;
	if (c.nmedia) {
		s.media = arena_zalloc(a, c.nmedia * sizeof(*s.media));
		if (!s.media)
			return -ENOMEM;
	}
	err = lines_parse(text, a, &c, &s);
	if (err)
		return err;
	/* RFC 4566 5.7: a c= in every m= section or at session level. */
	for (uint16_t i = 0; i < s.nmedia; i++)
		if (!s.has_conn && !s.media[i].has_conn)
			return -EBADMSG;
	*out = s;
	return 0;
}

enum sdp_dir sdp_media_dir(const struct sdp *s, const struct sdp_media *m)
{
	if (m->has_dir)
		return m->dir;
	if (s->has_dir)
		return s->dir;
	return SDP_DIR_SENDRECV;
}

const struct sdp_conn *sdp_media_conn(const struct sdp *s,
				      const struct sdp_media *m)
{
	if (m->has_conn)
		return &m->conn;
	return s->has_conn ? &s->conn : NULL;
}

bool sdp_media_is_hold(const struct sdp *s, const struct sdp_media *m)
{
	enum sdp_dir d = sdp_media_dir(s, m);
	const struct sdp_conn *c = sdp_media_conn(s, m);

	if (d == SDP_DIR_SENDONLY || d == SDP_DIR_INACTIVE)
		return true;
	/* RFC 3264 8.4: the RFC 2543 form, c= with address 0.0.0.0. */
	return c && slice_eq(c->addr, SL("0.0.0.0"));
}

const char *sdp_dir_name(enum sdp_dir d)
{
	switch (d) {
	case SDP_DIR_SENDRECV:
		return "sendrecv";
	case SDP_DIR_SENDONLY:
		return "sendonly";
	case SDP_DIR_RECVONLY:
		return "recvonly";
	case SDP_DIR_INACTIVE:
		return "inactive";
	}
	return "?";
}

enum sdp_dir sdp_dir_answer(enum sdp_dir offered)
{
	switch (offered) {
	case SDP_DIR_SENDONLY:
		return SDP_DIR_RECVONLY;
	case SDP_DIR_RECVONLY:
		return SDP_DIR_SENDONLY;
	default:
		return offered;
	}
}
