/* Multipart bodies (RFC 2046 5.1, RFC 5621): split into parts, bounded. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "sip/msg/msg_int.h"

/*
 * Find the next delimiter line "--boundary" that starts the body or follows
 * a line end, at or after from. Returns its offset (of the first '-') and
 * sets *line_start to where the preceding CRLF begins (the end of the part
 * before it), or returns -1.
 */
static long find_delim(struct slice body, struct slice boundary, size_t from,
		       size_t *line_start)
{
	while (from + 2 + boundary.len <= body.len) {
		const char *hit = memmem(body.p + from, body.len - from,
					 boundary.p, boundary.len);
		size_t at;
		if (!hit)
			return -1;
		at = (size_t)(hit - body.p);
		if (at >= 2 && body.p[at - 1] == '-' && body.p[at - 2] == '-') {
			size_t d = at - 2;
			if (d == 0) {
				*line_start = 0;
				return 0;
			}
			if (body.p[d - 1] == '\n') {
				*line_start = d - 1;
				if (d >= 2 && body.p[d - 2] == '\r')
					*line_start = d - 2;
				return (long)d;
			}
		}
		from = at + 1;
	}
	return -1;
}

/* Split one part into its headers and body; find its Content-Type. */
static int parse_part(struct slice raw, struct sip_part *part)
{
	const char *p = raw.p, *end = raw.p + raw.len;

	part->headers = slice_make(p, 0);
	part->body = raw;
	/* A part may start with its empty line: no headers. */
	if (raw.len >= 2 && p[0] == '\r' && p[1] == '\n') {
		part->body = slice_make(p + 2, raw.len - 2);
		return 0;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		struct slice line, name;
		const char *colon;

		if (!eol)
			return -EBADMSG;
		line = slice_make(p, (size_t)(eol - p));
		if (line.len && line.p[line.len - 1] == '\r')
			line.len--;
		if (line.len == 0) {
			part->headers = slice_make(raw.p, (size_t)(p - raw.p));
			part->body = slice_make(eol + 1, (size_t)(end - eol - 1));
			return 0;
		}
		colon = memchr(line.p, ':', line.len);
		if (!colon)
			return -EBADMSG;
		name = slice_trim(slice_make(line.p, (size_t)(colon - line.p)));
		if (sip_hdr_id_from(name) == SIP_HDR_CONTENT_TYPE)
			part->content_type = slice_trim(slice_make(
				colon + 1,
				(size_t)(line.p + line.len - colon - 1)));
		p = eol + 1;
	}
	return -EBADMSG;
}

int sip_multipart_parse(struct slice body, const struct sip_ctype *ct,
			struct arena *a, const struct sb_limits *lim,
			unsigned depth, struct sip_part **first)
{
	struct sip_part *head = NULL, *tail = NULL;
	struct slice boundary;
	size_t line_start, pos;
	uint32_t n = 0;
	long d;

	*first = NULL;
	if (depth >= lim->max_multipart_depth)
		return -E2BIG;
	if (sip_params_get(ct->params, "boundary", &boundary) || !boundary.p)
		return -EBADMSG;
	boundary = sip_param_unquote(boundary);
	/* RFC 2046 5.1.1: 1 to 70 characters */
	if (boundary.len == 0 || boundary.len > 70)
		return -EBADMSG;
	d = find_delim(body, boundary, 0, &line_start);
	if (d < 0)
		return -EBADMSG;
	pos = (size_t)d + 2 + boundary.len;
	for (;;) {
		struct sip_part *part;
		size_t start;
		int err;

		if (pos + 2 <= body.len && body.p[pos] == '-' &&
		    body.p[pos + 1] == '-')
			break; /* close-delimiter */
		while (pos < body.len && (body.p[pos] == ' ' || body.p[pos] == '\t'))
			pos++;
		if (pos < body.len && body.p[pos] == '\r')
			pos++;
		if (pos >= body.len || body.p[pos] != '\n')
			return -EBADMSG;
		start = ++pos;
		d = find_delim(body, boundary, start, &line_start);
		if (d < 0 || line_start < start)
			return -EBADMSG;
		if (++n > lim->max_multipart_parts)
			return -E2BIG;
		part = arena_zalloc(a, sizeof(*part));
		if (!part)
			return -ENOMEM;
		err = parse_part(slice_make(body.p + start, line_start - start),
				 part);
		if (err)
			return err;
		if (part->content_type.p &&
		    part->content_type.len >= 10 &&
		    slice_caseeq(slice_make(part->content_type.p, 10),
				 SL("multipart/"))) {
			struct sip_ctype inner;
			if (sip_ctype_parse(part->content_type, lim, &inner))
				return -EBADMSG;
			err = sip_multipart_parse(part->body, &inner, a, lim,
						  depth + 1, &part->children);
			if (err)
				return err;
		}
		if (tail)
			tail->next = part;
		else
			head = part;
		tail = part;
		pos = (size_t)d + 2 + boundary.len;
	}
	*first = head;
	return head ? 0 : -EBADMSG;
}
