/* SDP printing: the parsed lines with CRLF ends and an optional new o=. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "sdp/sdp.h"

static void origin_print(const struct sdp_origin *o, struct buf *out)
{
	buf_append_str(out, "o=");
	if (o->user.len)
		buf_append_slice(out, o->user);
	else
		buf_append_str(out, "-");
	buf_append_str(out, " ");
	buf_append_uint(out, o->sess_id, 1);
	buf_append_str(out, " ");
	buf_append_uint(out, o->sess_version, 1);
	buf_append_str(out, " IN ");
	buf_append_slice(out, o->addrtype);
	buf_append_str(out, " ");
	buf_append_slice(out, o->addr);
	buf_append_str(out, "\r\n");
}

/*
 * Walk the text sdp_parse() accepted line by line: it holds only "x=..."
 * lines ending in CRLF, LF or the end, then possibly empty lines, which
 * are dropped.
 */
int sdp_print(const struct sdp *s, const struct sdp_origin *origin,
	      struct buf *out)
{
	const char *p = s->raw.p, *end = s->raw.p + s->raw.len, *nl;
	size_t len;

	while (p && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > 0) {
			if (origin && len >= 2 && p[0] == 'o' && p[1] == '=') {
				origin_print(origin, out);
			} else {
				buf_append(out, p, len);
				buf_append_str(out, "\r\n");
			}
		}
		p = nl ? nl + 1 : end;
	}
	return buf_error(out);
}
