/* Building new SIP messages: responses to a request, and new requests. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/msg/build.h"

#include <errno.h>

#include "sip/msg/params.h"

enum {
	BUILD_MAX_FORWARDS_DEFAULT = 70, /* RFC 3261 8.1.1.6 */
	BUILD_CSEQ_MAX = 0x7fffffff	 /* RFC 3261 8.1.1.5: below 2^31 */
};

static const char crlf[] = "\r\n";

/* RFC 3261 21 and the common extensions, sorted by code. */
static const struct reason {
	uint16_t status;
	const char *phrase;
} reasons[] = {
    {100, "Trying"},
    {180, "Ringing"},
    {181, "Call Is Being Forwarded"},
    {182, "Queued"},
    {183, "Session Progress"},
    {199, "Early Dialog Terminated"}, /* RFC 6228 */
    {200, "OK"},
    {202, "Accepted"},	      /* RFC 3265 */
    {204, "No Notification"}, /* RFC 5839 */
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Moved Temporarily"},
    {305, "Use Proxy"},
    {380, "Alternative Service"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {410, "Gone"},
    {412, "Conditional Request Failed"}, /* RFC 3903 */
    {413, "Request Entity Too Large"},
    {414, "Request-URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Unsupported URI Scheme"},
    {417, "Unknown Resource-Priority"}, /* RFC 4412 */
    {420, "Bad Extension"},
    {421, "Extension Required"},
    {422, "Session Interval Too Small"}, /* RFC 4028 */
    {423, "Interval Too Brief"},
    {428, "Use Identity Header"},	       /* RFC 4474 */
    {429, "Provide Referrer Identity"},	       /* RFC 3892 */
    {430, "Flow Failed"},		       /* RFC 5626 */
    {433, "Anonymity Disallowed"},	       /* RFC 5079 */
    {436, "Bad Identity-Info"},		       /* RFC 4474 */
    {437, "Unsupported Certificate"},	       /* RFC 4474 */
    {438, "Invalid Identity Header"},	       /* RFC 4474 */
    {439, "First Hop Lacks Outbound Support"}, /* RFC 5626 */
    {440, "Max-Breadth Exceeded"},	       /* RFC 5393 */
    {469, "Bad Info Package"},		       /* RFC 6086 */
    {470, "Consent Needed"},		       /* RFC 5360 */
    {480, "Temporarily Unavailable"},
    {481, "Call/Transaction Does Not Exist"},
    {482, "Loop Detected"},
    {483, "Too Many Hops"},
    {484, "Address Incomplete"},
    {485, "Ambiguous"},
    {486, "Busy Here"},
    {487, "Request Terminated"},
    {488, "Not Acceptable Here"},
    {489, "Bad Event"}, /* RFC 6665 */
    {491, "Request Pending"},
    {493, "Undecipherable"},
    {494, "Security Agreement Required"}, /* RFC 3329 */
    {500, "Server Internal Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Server Time-out"},
    {505, "Version Not Supported"},
    {513, "Message Too Large"},
    {555, "Push Notification Service Not Supported"}, /* RFC 8599 */
    {580, "Precondition Failure"},		      /* RFC 3312 */
    {600, "Busy Everywhere"},
    {603, "Decline"},
    {604, "Does Not Exist Anywhere"},
    {606, "Not Acceptable"},
    {607, "Unwanted"}, /* RFC 8197 */
    {608, "Rejected"}, /* RFC 8688 */
};

const char *sip_reason_phrase(unsigned status)
{
	size_t lo = 0, hi = sizeof(reasons) / sizeof(reasons[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (reasons[mid].status == status)
			return reasons[mid].phrase;
		if (reasons[mid].status < status)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "Unknown";
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Raw header lines must be whole lines, or they would corrupt the next. */
static bool is_lines(struct slice s)
{
	return !s.p || s.len == 0 ||
	       (s.len >= 2 && s.p[s.len - 2] == '\r' && s.p[s.len - 1] == '\n');
}

/* A header line without its line ending and trailing whitespace. */
static struct slice hdr_line(const struct sip_msg *m, const struct sip_hdr *h)
{
	struct slice s = slice_make(m->buf + h->off, h->len);

	while (s.len && (is_ws(s.p[s.len - 1]) || s.p[s.len - 1] == '\r' ||
			 s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

/* Copy every header line of id, in order, with a CRLF line ending. */
static void copy_hdrs(struct buf *out, const struct sip_msg *m,
		      enum sip_hdr_id id)
{
	const struct sip_hdr *h;

	for (h = sip_msg_hdr(m, id); h; h = sip_msg_hdr_next(m, h)) {
		buf_append_slice(out, hdr_line(m, h));
		buf_append(out, crlf, 2);
	}
}

/*
 * End of the top Via value on its line h: from the parse, or for a request
 * whose Via did not parse, the first comma outside quotes.
 */
static uint32_t top_via_end(const struct sip_msg *m, const struct sip_hdr *h)
{
	const char *p = h->value.p, *end;
	bool in_quote = false;

	if (m->via && &m->hdrs[m->via->hdr] == h)
		return m->via->off + m->via->len;
	if (!p)
		return (uint32_t)(hdr_line(m, h).len + h->off);
	for (end = p + h->value.len; p < end; p++) {
		if (in_quote && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			in_quote = !in_quote;
		else if (!in_quote && *p == ',')
			break;
	}
	while (p > h->value.p && is_ws(p[-1]))
		p--;
	return (uint32_t)(p - m->buf);
}

/*
 * Copy the first Via line with via_params appended to its top value (RFC
 * 3261 18.2.1: received; RFC 3581 4: rport). A bare ";rport" in the request
 * is left out when via_params brings the rport value, so it is not doubled.
 */
static void copy_top_via(struct buf *out, const struct sip_msg *m,
			 const struct sip_hdr *h, struct slice via_params)
{
	struct slice line = hdr_line(m, h), val;
	uint32_t top_end = top_via_end(m, h), cut = top_end, cut_end = top_end;
	const struct sip_via *v = m->via;
	const char *line_end = line.p + line.len;

	if (v && &m->hdrs[v->hdr] == h && v->has_rport && !v->rport.len &&
	    sip_params_get(via_params, "rport", &val) == 0) {
		cut_end = (uint32_t)(v->rport.p - m->buf);
		cut = cut_end - 5;
		while (cut > v->off && m->buf[cut - 1] != ';')
			cut--;
		if (cut > v->off)
			cut--;
	}
	buf_append(out, line.p, cut - h->off);
	buf_append(out, m->buf + cut_end, top_end - cut_end);
	buf_append_slice(out, via_params);
	buf_append(out, m->buf + top_end,
		   (size_t)(line_end - m->buf) - top_end);
	buf_append(out, crlf, 2);
}

/* Copy every Via line in order, the top value extended by via_params. */
static void copy_vias(struct buf *out, const struct sip_msg *m,
		      struct slice via_params)
{
	const struct sip_hdr *top = sip_msg_hdr(m, SIP_HDR_VIA), *h;

	for (h = top; h; h = sip_msg_hdr_next(m, h)) {
		if (h == top && via_params.len) {
			copy_top_via(out, m, h, via_params);
			continue;
		}
		buf_append_slice(out, hdr_line(m, h));
		buf_append(out, crlf, 2);
	}
}

/*
 * Whether a To value carries a tag, for a request whose To was not parsed
 * (the parse failed first). RFC 3261 20.39: header parameters follow the
 * '>' of a name-addr, or start at the first ';' of a bare addr-spec.
 */
static bool value_has_tag(struct slice v)
{
	const char *p = v.p, *end = v.p + v.len;
	bool in_quote = false, in_angle = false;
	struct slice rest, tag;

	for (; p < end; p++) {
		if (in_quote) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '"')
				in_quote = false;
		} else if (in_angle) {
			in_angle = *p != '>';
		} else if (*p == '"') {
			in_quote = true;
		} else if (*p == '<') {
			in_angle = true;
		} else if (*p == ';') {
			break;
		}
	}
	if (p >= end)
		return false;
	rest = slice_make(p, (size_t)(end - p));
	return sip_params_get(rest, "tag", &tag) == 0;
}

static void append_to(struct buf *out, const struct sip_msg *req,
		      const struct sip_reply_opts *o)
{
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_TO);
	bool has_tag;

	if (!h)
		return;
	has_tag =
	    req->to ? slice_is_set(req->to->tag) : value_has_tag(h->value);
	buf_append_slice(out, hdr_line(req, h));
	/* RFC 3261 8.2.6.2: a UAS adds a To tag, except to 100 Trying */
	if (!has_tag && o->status > 100 && slice_is_set(o->to_tag) &&
	    o->to_tag.len) {
		buf_append_str(out, ";tag=");
		buf_append_slice(out, o->to_tag);
	}
	buf_append(out, crlf, 2);
}

static void append_hdr(struct buf *out, const char *name, struct slice value)
{
	if (!slice_is_set(value))
		return;
	buf_append_str(out, name);
	buf_append(out, ": ", 2);
	buf_append_slice(out, value);
	buf_append(out, crlf, 2);
}

static void append_tail(struct buf *out, struct slice content_type,
			struct slice body)
{
	append_hdr(out, "Content-Type", content_type);
	buf_append_str(out, "Content-Length: ");
	buf_append_uint(out, body.p ? body.len : 0, 0);
	buf_append(out, "\r\n\r\n", 4);
	if (body.p)
		buf_append_slice(out, body);
}

/* Undo a failed build so out ends where it started (the error stays). */
static int finish(struct buf *out, size_t start)
{
	int err = buf_error(out);

	if (err && out->len > start) {
		out->len = start;
		out->p[start] = '\0';
	}
	return err;
}

/* extra (raw lines) already has a header called name: it wins. */
static bool extra_has(struct slice extra, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + n < extra.len;) {
		if (extra.p[i + n] == ':' &&
		    slice_caseeq(slice_make(extra.p + i, n),
				 slice_make(name, n)))
			return true;
		while (i < extra.len && extra.p[i] != '\n')
			i++;
		i++;
	}
	return false;
}

int sip_reply_build(struct buf *out, const struct sip_msg *req,
		    const struct sip_reply_opts *o)
{
	size_t start = out->len;
	struct slice reason = o->reason;
	const struct sip_hdr *h;

	if (o->status < 100 || o->status > 699 || !is_lines(o->extra))
		return -EINVAL;
	if (o->via_params.len && o->via_params.p[0] != ';')
		return -EINVAL;
	/* RFC 3261 20.15: a body needs its Content-Type */
	if (o->body.len && !slice_is_set(o->content_type))
		return -EINVAL;
	if (!slice_is_set(reason))
		reason = slice_cstr(sip_reason_phrase(o->status));
	buf_append_str(out, "SIP/2.0 ");
	buf_append_uint(out, o->status, 0);
	buf_append(out, " ", 1);
	buf_append_slice(out, reason);
	buf_append(out, crlf, 2);
	if (req->hdrs) {
		/* RFC 3261 8.2.6.2: Via values in order, From, Call-ID, CSeq */
		copy_vias(out, req, o->via_params);
		if ((h = sip_msg_hdr(req, SIP_HDR_FROM))) {
			buf_append_slice(out, hdr_line(req, h));
			buf_append(out, crlf, 2);
		}
		append_to(out, req, o);
		if ((h = sip_msg_hdr(req, SIP_HDR_CALL_ID))) {
			buf_append_slice(out, hdr_line(req, h));
			buf_append(out, crlf, 2);
		}
		if ((h = sip_msg_hdr(req, SIP_HDR_CSEQ))) {
			buf_append_slice(out, hdr_line(req, h));
			buf_append(out, crlf, 2);
		}
		/* RFC 3261 12.1.1: Record-Route copied into dialog responses */
		if (o->copy_record_route)
			copy_hdrs(out, req, SIP_HDR_RECORD_ROUTE);
		/* RFC 3261 8.2.6.1: a 100 Trying echoes the Timestamp */
		if (o->status == 100)
			copy_hdrs(out, req, SIP_HDR_TIMESTAMP);
	}
	if (o->extra.p)
		buf_append_slice(out, o->extra);
	if (!extra_has(o->extra, "Server"))
		append_hdr(out, "Server", o->server);
	append_tail(out, o->content_type, o->body);
	return finish(out, start);
}

static bool has_branch_cookie(struct slice branch)
{
	/* RFC 3261 8.1.1.7: the magic cookie marks an RFC 3261 branch */
	return branch.len > 7 && !memcmp(branch.p, "z9hG4bK", 7);
}

static int check_request(const struct sip_request_opts *o)
{
	if (!o->method.len || !o->ruri.len || !o->via_host.len ||
	    !o->from.len || !o->to.len || !o->call_id.len)
		return -EINVAL;
	if (!o->branch.p || !has_branch_cookie(o->branch))
		return -EINVAL;
	if (o->cseq > BUILD_CSEQ_MAX)
		return -EINVAL;
	if (!is_lines(o->routes) || !is_lines(o->extra))
		return -EINVAL;
	/* RFC 3261 20.15: a body needs its Content-Type */
	if (o->body.len && !slice_is_set(o->content_type))
		return -EINVAL;
	return 0;
}

static void append_via(struct buf *out, const struct sip_request_opts *o)
{
	struct slice transport =
	    o->via_transport.len ? o->via_transport : SL("UDP");

	buf_append_str(out, "Via: SIP/2.0/");
	buf_append_slice(out, transport);
	buf_append(out, " ", 1);
	buf_append_slice(out, o->via_host);
	if (o->via_port) {
		buf_append(out, ":", 1);
		buf_append_uint(out, o->via_port, 0);
	}
	buf_append_str(out, ";branch=");
	buf_append_slice(out, o->branch);
	/* RFC 3581 3: an empty rport asks for the source port */
	if (o->via_rport)
		buf_append_str(out, ";rport");
	buf_append(out, crlf, 2);
}

/* "Name: value;tag=t\r\n", the tag left out when unset. */
static void append_tagged(struct buf *out, const char *name, struct slice v,
			  struct slice tag)
{
	buf_append_str(out, name);
	buf_append(out, ": ", 2);
	buf_append_slice(out, v);
	if (tag.len) {
		buf_append_str(out, ";tag=");
		buf_append_slice(out, tag);
	}
	buf_append(out, crlf, 2);
}

int sip_request_build(struct buf *out, const struct sip_request_opts *o)
{
	size_t start = out->len;
	uint32_t max_fwd =
	    o->max_forwards ? o->max_forwards : BUILD_MAX_FORWARDS_DEFAULT;
	int err = check_request(o);

	if (err)
		return err;
	buf_append_slice(out, o->method);
	buf_append(out, " ", 1);
	buf_append_slice(out, o->ruri);
	buf_append_str(out, " SIP/2.0\r\n");
	append_via(out, o);
	buf_append_str(out, "Max-Forwards: ");
	buf_append_uint(out, max_fwd, 0);
	buf_append(out, crlf, 2);
	append_tagged(out, "From", o->from, o->from_tag);
	append_tagged(out, "To", o->to, o->to_tag);
	append_hdr(out, "Call-ID", o->call_id);
	/* RFC 3261 8.1.1.5: the CSeq method matches the request method */
	buf_append_str(out, "CSeq: ");
	buf_append_uint(out, o->cseq, 0);
	buf_append(out, " ", 1);
	buf_append_slice(out, o->method);
	buf_append(out, crlf, 2);
	if (o->contact.len)
		append_hdr(out, "Contact", o->contact);
	if (o->routes.p)
		buf_append_slice(out, o->routes);
	if (o->extra.p)
		buf_append_slice(out, o->extra);
	if (!extra_has(o->extra, "User-Agent"))
		append_hdr(out, "User-Agent", o->user_agent);
	append_tail(out, o->content_type, o->body);
	return finish(out, start);
}
