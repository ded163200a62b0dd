/* SDP printing for one leg: our address, ports, formats, no ICE. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <assert.h>
#include <string.h>

#include "sdp/anchor.h"

/* Where the walk is: the m= section the current line belongs to. */
struct section {
	int idx;		       /* -1: the session part */
	const struct sdp_media *m;     /* NULL in the session part */
	const struct sdp_fmt_sel *sel; /* formats to print; NULL: all */
	bool is_rejected;	       /* printed with port 0 */
	bool has_conn;		       /* its c= line is printed */
};

/* The next non-empty line from *p, without its end; false at the end. */
static bool line_next(const char **p, const char *end, struct slice *line)
{
	const char *nl;
	size_t len;

	while (*p < end) {
		nl = memchr(*p, '\n', (size_t)(end - *p));
		len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
		*line = slice_make(
		    *p, len > 0 && (*p)[len - 1] == '\r' ? len - 1 : len);
		*p = nl ? nl + 1 : end;
		if (line->len > 0)
			return true;
	}
	return false;
}

/* print.c owns the o= format: sdp_print() of a lone o= line writes it. */
static void origin_put(const struct sdp_origin *origin, struct buf *out)
{
	const struct sdp one = {.raw = SL("o=")};

	sdp_print(&one, origin, out);
}

static void line_put(struct slice line, struct buf *out)
{
	buf_append_slice(out, line);
	buf_append_str(out, "\r\n");
}

/* "IN IP4 <addr>" or "IN IP6 <addr>": bridging picks the family. */
static void addr_put(const struct sdp_rewrite *rw, struct buf *out)
{
	buf_append_str(out, rw->is_ip6 ? "IN IP6 " : "IN IP4 ");
	buf_append_slice(out, rw->addr);
}

/* The attribute's name and value (unset without a ':'). */
static void attr_split(struct slice line, struct slice *name,
		       struct slice *value)
{
	struct slice v = slice_make(line.p + 2, line.len - 2);
	const char *colon = memchr(v.p, ':', v.len);

	*name = colon ? slice_make(v.p, (size_t)(colon - v.p)) : v;
	*value = colon
		     ? slice_make(colon + 1, v.len - (size_t)(colon + 1 - v.p))
		     : slice_make(NULL, 0);
}

/* The ICE attributes (RFC 8839 5; end-of-candidates: RFC 8840). */
static bool is_ice(struct slice name)
{
	static const char *const names[] = {
	    "candidate", "remote-candidates", "end-of-candidates",
	    "ice-ufrag", "ice-pwd",	      "ice-options",
	    "ice-lite",	 "ice-mismatch",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (slice_caseeq_lit(name, names[i]))
			return true;
	return false;
}

/* The first space-separated token of an attribute value. */
static struct slice first_token(struct slice v)
{
	const char *sp;

	while (v.len > 0 && v.p[0] == ' ')
		v = slice_make(v.p + 1, v.len - 1);
	sp = memchr(v.p, ' ', v.len);
	return sp ? slice_make(v.p, (size_t)(sp - v.p)) : v;
}

/* Whether pt is on the m= line and none of its listings is kept. */
static bool is_removed(const struct section *sec, struct slice pt)
{
	bool is_listed = false;

	for (uint8_t j = 0; j < sec->m->nfmts; j++) {
		if (!slice_eq(sec->m->fmts[j].pt, pt))
			continue;
		is_listed = true;
		for (uint8_t k = 0; k < sec->sel->nkeep; k++)
			if (sec->sel->keep[k] == j)
				return false;
	}
	return is_listed;
}

/* The m= port to print, or -1 to keep the section's own text. */
static int32_t media_port(const struct sdp_rewrite *rw,
			  const struct section *sec)
{
	/* RFC 3264 6: a rejected stream has port 0. */
	if (sec->is_rejected)
		return 0;
	/* RFC 3264 6, 8.2: a disabled stream stays disabled. */
	if (sec->m->port == 0 || !slice_is_set(rw->addr))
		return -1;
	return rw->streams[sec->idx].port ? rw->streams[sec->idx].port : -1;
}

/* Whether a media-level attribute goes out unchanged (true), is replaced
 * (printed here, false) or dropped (false). */
static bool attr_rewrite(const struct sdp_rewrite *rw,
			 const struct section *sec, struct slice line,
			 struct buf *out)
{
	struct slice name, value;
	uint16_t rtcp_port;

	attr_split(line, &name, &value);
	if (rw->is_ice_dropped && is_ice(name))
		return false;
	if (!sec->m)
		return true;
	if (slice_is_set(rw->addr) && slice_caseeq_lit(name, "rtcp")) {
		/* RFC 3605 2.1: a=rtcp:<port> IN <addrtype> <addr> */
		rtcp_port = rw->streams[sec->idx].rtcp_port;
		if (rtcp_port && sec->m->port && !sec->is_rejected) {
			buf_append_str(out, "a=rtcp:");
			buf_append_uint(out, rtcp_port, 1);
			buf_append_str(out, " ");
			addr_put(rw, out);
			buf_append_str(out, "\r\n");
		}
		return false;
	}
	/* RFC 4566 6, RFC 4585 4.2: these name one format ("*": all). */
	if (sec->sel && slice_is_set(value) &&
	    (slice_caseeq_lit(name, "rtpmap") ||
	     slice_caseeq_lit(name, "fmtp") ||
	     slice_caseeq_lit(name, "rtcp-fb")))
		return !is_removed(sec, first_token(value));
	return true;
}

/* Whether the format list differs from the m= line's. */
static bool fmts_changed(const struct section *sec)
{
	if (!sec->sel)
		return false;
	if (sec->sel->nkeep != sec->m->nfmts)
		return true;
	for (uint8_t k = 0; k < sec->sel->nkeep; k++)
		if (sec->sel->keep[k] != k)
			return true;
	return false;
}

/* m=<media> <port>[/<n>] <proto> <fmt> ... (RFC 4566 5.14) */
static void media_put(const struct sdp_rewrite *rw, const struct section *sec,
		      struct slice line, struct buf *out)
{
	const struct sdp_media *m = sec->m;
	const char *port_p = m->type.p + m->type.len;
	int32_t port = media_port(rw, sec);

	if (port < 0 && !fmts_changed(sec)) {
		line_put(line, out);
		return;
	}
	buf_append_str(out, "m=");
	buf_append_slice(out, m->type);
	buf_append_str(out, " ");
	if (port >= 0)
		buf_append_uint(out, (uint64_t)port, 1);
	else
		buf_append_slice(
		    out, slice_trim(slice_make(port_p,
					       (size_t)(m->proto.p - port_p))));
	buf_append_str(out, " ");
	buf_append_slice(out, m->proto);
	for (uint8_t k = 0; k < (sec->sel ? sec->sel->nkeep : m->nfmts); k++) {
		uint8_t j = sec->sel ? sec->sel->keep[k] : k;

		assert(j < m->nfmts);
		if (j >= m->nfmts)
			continue;
		buf_append_str(out, " ");
		buf_append_slice(out, m->fmts[j].pt);
	}
	buf_append_str(out, "\r\n");
}

/* Move the walk into the next m= section. */
static void section_next(const struct sdp *s, const struct sdp_rewrite *rw,
			 struct section *sec)
{
	const struct sdp_fmt_sel *sel;

	sec->idx++;
	assert(sec->idx < s->nmedia);
	sec->m = &s->media[sec->idx];
	sel = rw->sel ? &rw->sel[sec->idx] : NULL;
	sec->is_rejected = sel && sel->is_filtered && sel->nkeep == 0;
	sec->sel = sel && sel->is_filtered && sel->nkeep > 0 ? sel : NULL;
	sec->has_conn = false;
}

/* One line of the description, rewritten or copied. */
static void rw_line(const struct sdp *s, const struct sdp_origin *origin,
		    const struct sdp_rewrite *rw, struct section *sec,
		    struct slice line, struct buf *out)
{
	switch (line.p[0]) {
	case 'o':
		if (origin)
			origin_put(origin, out);
		else
			line_put(line, out);
		return;
	case 'c':
		if (!slice_is_set(rw->addr)) {
			line_put(line, out);
		} else if (!sec->has_conn) {
			/* RFC 4566 5.7: one address, ours, replaces all. */
			buf_append_str(out, "c=");
			addr_put(rw, out);
			buf_append_str(out, "\r\n");
			sec->has_conn = true;
		}
		return;
	case 'm':
		section_next(s, rw, sec);
		media_put(rw, sec, line, out);
		return;
	case 'a':
		if (attr_rewrite(rw, sec, line, out))
			line_put(line, out);
		return;
	default:
		line_put(line, out);
	}
}

int sdp_print_rw(const struct sdp *s, const struct sdp_origin *origin,
		 const struct sdp_rewrite *rw, struct buf *out)
{
	const char *p = s->raw.p, *end = s->raw.p + s->raw.len;
	struct section sec = {.idx = -1};
	struct slice line;

	if (!rw)
		return sdp_print(s, origin, out);
	while (p && line_next(&p, end, &line))
		rw_line(s, origin, rw, &sec, line, out);
	return buf_error(out);
}
