/* Parsing a SIP message in place: start line, header split, eager fields. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "sip/msg/msg_int.h"

enum { HDRS_INITIAL = 32 };

static int fail(struct sip_perr *perr, uint16_t status, const char *reason)
{
	perr->status = status;
	perr->reason = reason;
	return -EBADMSG;
}

static bool is_sip_version(struct slice v)
{
	return v.len == 7 && slice_caseeq(v, SL("SIP/2.0"));
}

/* "SIP/" 1*DIGIT "." 1*DIGIT: a version we may answer 505 to. */
static bool looks_like_version(struct slice v)
{
	size_t i = 4, d1 = 0, d2 = 0;

	if (v.len < 7 || !slice_caseeq(slice_make(v.p, 4), SL("SIP/")))
		return false;
	while (i < v.len && cc_is((unsigned char)v.p[i], CC_DIGIT))
		i++, d1++;
	if (i >= v.len || v.p[i] != '.')
		return false;
	i++;
	while (i < v.len && cc_is((unsigned char)v.p[i], CC_DIGIT))
		i++, d2++;
	return d1 && d2 && i == v.len;
}

/*
 * RFC 3261 7.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF,
 * exactly one SP between elements and none after (RFC 4475 3.1.2.9 and
 * 3.1.2.10 allow rejecting; we forward by patching, so we must).
 */
static int parse_request_line(struct sip_msg *m, struct slice line,
			      struct sip_perr *perr)
{
	struct scan s = scan_of(line);
	const char *uri_start;
	struct slice version;

	m->is_request = true;
	m->method_name = scan_token(&s);
	if (!m->method_name.p || scan_peek(&s) != ' ')
		return fail(perr, 400, "Bad request line");
	m->method = sip_method_from(m->method_name);
	s.p++;
	uri_start = s.p;
	while (!scan_eof(&s) && *s.p != ' ' && *s.p != '\t')
		s.p++;
	m->ruri_raw = slice_make(uri_start, (size_t)(s.p - uri_start));
	if (m->ruri_raw.len == 0 || scan_peek(&s) != ' ')
		return fail(perr, 400, "Bad request line");
	s.p++;
	version.p = s.p;
	while (!scan_eof(&s) && *s.p != ' ' && *s.p != '\t')
		s.p++;
	version.len = (size_t)(s.p - version.p);
	if (!scan_eof(&s) || version.len == 0)
		return fail(perr, 400, "Bad request line");
	if (!is_sip_version(version)) {
		if (looks_like_version(version))
			return fail(perr, 505, "SIP Version Not Supported");
		return fail(perr, 400, "Bad request line");
	}
	/* RFC 3261 25.1: the Request-URI is never enclosed in <> */
	if (m->ruri_raw.p[0] == '<')
		return fail(perr, 400, "Bad Request-URI");
	return 0;
}

/* RFC 3261 7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
static int parse_status_line(struct sip_msg *m, struct slice line,
			     struct sip_perr *perr)
{
	struct scan s = scan_of(line);
	const char *b;
	uint32_t code;

	m->is_request = false;
	if (line.len < 11 || !is_sip_version(slice_make(line.p, 7)) ||
	    line.p[7] != ' ')
		return fail(perr, 0, "Bad status line");
	s.p += 8;
	b = s.p;
	while (!scan_eof(&s) && cc_is((unsigned char)*s.p, CC_DIGIT))
		s.p++;
	if (s.p - b != 3 || slice_to_u32(slice_make(b, 3), &code) ||
	    code < 100 || code > 699)
		return fail(perr, 0, "Bad status code");
	m->status = (uint16_t)code;
	if (!scan_eof(&s) && *s.p != ' ')
		return fail(perr, 0, "Bad status line");
	if (!scan_eof(&s))
		s.p++;
	m->reason = slice_make(s.p, (size_t)(s.end - s.p));
	for (size_t i = 0; i < m->reason.len; i++)
		if (cc_is((unsigned char)m->reason.p[i], CC_CTL))
			return fail(perr, 0, "Bad reason phrase");
	return 0;
}

/*
 * A header value may carry control bytes only as a quoted-pair inside a
 * quoted-string (RFC 3261 25.1: any byte but CR and LF). A bare CR is
 * never a line end on its own.
 */
static bool ctl_free(const char *p, size_t len)
{
	bool in_quote = false;
	size_t i;

	for (i = 0; i < len; i++)
		if (cc_is((unsigned char)p[i], CC_CTL))
			break;
	if (i == len)
		return true; /* the common case: one pass, no state */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r' || c == '\n')
			return false;
		if (in_quote && c == '\\' && i + 1 < len) {
			if (p[i + 1] == '\r' || p[i + 1] == '\n')
				return false;
			i++;
			continue;
		}
		if (c == '"')
			in_quote = !in_quote;
		else if (cc_is(c, CC_CTL))
			return false;
	}
	return true;
}

static int hdr_push(struct sip_msg *m, uint16_t *cap, uint32_t max,
		    struct sip_hdr **out)
{
	if (m->hdr_count >= max)
		return -E2BIG;
	if (m->hdr_count == *cap) {
		uint32_t ncap = *cap ? *cap * 2u : HDRS_INITIAL;
		struct sip_hdr *n;
		if (ncap > max)
			ncap = max;
		n = arena_alloc(m->arena, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		if (m->hdr_count)
			memcpy(n, m->hdrs, m->hdr_count * sizeof(*n));
		m->hdrs = n;
		*cap = (uint16_t)ncap;
	}
	*out = &m->hdrs[m->hdr_count++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* Any byte below 0x20 or equal to 0x7f in the 8 bytes of x. */
static inline bool word_has_ctl(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, highs = ones * 0x80;
	uint64_t del = x ^ (ones * 0x7f);

	return (((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) & highs;
}

/*
 * Find the LF ending the line that starts at pos, 8 bytes at a time while
 * no control byte shows. Sets *ctl when the line holds a control byte other
 * than HTAB and the CR of its CRLF. Returns the LF's offset, or len.
 */
static size_t line_end(const char *buf, size_t pos, size_t len, bool *ctl)
{
	for (;;) {
		size_t stop;
		uint64_t x;

		while (pos + 8 <= len) {
			memcpy(&x, buf + pos, 8);
			if (word_has_ctl(x))
				break;
			pos += 8;
		}
		stop = pos + 8 < len ? pos + 8 : len;
		for (; pos < stop; pos++) {
			unsigned char c = (unsigned char)buf[pos];
			if (!cc_is(c, CC_CTL))
				continue;
			if (c == '\n')
				return pos;
			if (c != '\r' || pos + 1 >= len || buf[pos + 1] != '\n')
				*ctl = true;
		}
		if (pos >= len)
			return len;
	}
}

/*
 * Split the header block at pos. Folded lines are unfolded in place (RFC
 * 3261 7.3.1: CRLF followed by whitespace is equivalent to SP). Sets
 * *body_off to the first body byte. Bare LF line ends are accepted.
 */
static int split_headers(struct sip_msg *m, size_t pos, size_t len,
			 size_t *body_off, struct sip_perr *perr)
{
	const struct sb_limits *lim = m->limits;
	char *buf = m->buf;
	uint16_t cap = 0, last[SIP_HDR__COUNT];

	memset(last, 0, sizeof(last));
	m->hdrs_off = (uint32_t)pos;
	for (;;) {
		size_t start = pos, colon, vstart, eol, end;
		uint32_t hash = HDR_HASH_INIT;
		bool ctl = false;
		struct sip_hdr *h;
		struct slice value;
		int err;

		if (pos >= len)
			return fail(perr, 400, "Missing empty line after headers");
		if (buf[pos] == '\n' || (buf[pos] == '\r' && pos + 1 < len &&
					 buf[pos + 1] == '\n')) {
			m->hdrs_end = (uint32_t)pos;
			*body_off = pos + (buf[pos] == '\n' ? 1 : 2);
			return 0;
		}
		while (pos < len && cc_is((unsigned char)buf[pos], CC_TOKEN))
			hash = hdr_hash_step(hash, (unsigned char)buf[pos++]);
		if (pos == start)
			return fail(perr, 400, "Malformed header line");
		colon = pos;
		while (pos < len && (buf[pos] == ' ' || buf[pos] == '\t'))
			pos++;
		if (pos >= len || buf[pos] != ':')
			return fail(perr, 400, "Malformed header line");
		vstart = ++pos;
		/*
		 * Find the end of the line, unfolding continuation lines. Other
		 * control bytes are left to ctl_free(): a quoted-pair may hold
		 * any but CR and LF (RFC 3261 25.1, RFC 4475 3.1.1.2).
		 */
		for (;;) {
			eol = line_end(buf, pos, len, &ctl);
			if (eol >= len)
				return fail(perr, 400,
					    "Missing empty line after headers");
			pos = eol + 1;
			if (pos < len && (buf[pos] == ' ' || buf[pos] == '\t')) {
				buf[eol] = ' ';
				if (eol > vstart && buf[eol - 1] == '\r')
					buf[eol - 1] = ' ';
				continue;
			}
			break;
		}
		end = eol;
		if (end > vstart && buf[end - 1] == '\r')
			end--;
		if (ctl && !ctl_free(buf + vstart, end - vstart))
			return fail(perr, 400, "Bad character in header");
		if (pos - start > lim->max_header_bytes)
			return fail(perr, 400, "Header too long");
		err = hdr_push(m, &cap, lim->max_headers, &h);
		if (err == -E2BIG)
			return fail(perr, 400, "Too many headers");
		if (err)
			return err;
		value = slice_make(buf + vstart, end - vstart);
		while (value.len && (value.p[0] == ' ' || value.p[0] == '\t'))
			value.p++, value.len--;
		while (value.len && (value.p[value.len - 1] == ' ' ||
				     value.p[value.len - 1] == '\t'))
			value.len--;
		h->name = slice_make(buf + start, colon - start);
		h->value = value;
		h->off = (uint32_t)start;
		h->len = (uint32_t)(pos - start);
		h->id = (uint16_t)hdr_id_hashed(h->name, hash);
		if (last[h->id])
			m->hdrs[last[h->id] - 1].next = m->hdr_count;
		else
			m->first[h->id] = m->hdr_count;
		last[h->id] = m->hdr_count;
	}
}

/* The one header of a single-valued id; a repeat is an error. */
static int single(const struct sip_msg *m, enum sip_hdr_id id,
		  const struct sip_hdr **out)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);

	*out = h;
	if (!h)
		return -ENOENT;
	if (h->next)
		return -EEXIST;
	return 0;
}

static int parse_content_length(struct sip_msg *m, size_t body_off,
				size_t avail, enum sip_framing framing,
				struct sip_perr *perr)
{
	const struct sip_hdr *h;
	uint32_t cl;
	int err = single(m, SIP_HDR_CONTENT_LENGTH, &h);

	if (err == -EEXIST)
		return fail(perr, 400, "Multiple Content-Length headers");
	if (err == -ENOENT) {
		/* RFC 3261 18.3: optional on UDP, body runs to the end */
		if (framing == SIP_FRAMING_STREAM)
			return fail(perr, 400, "Missing Content-Length header");
		m->body = slice_make(m->buf + body_off, avail);
		return 0;
	}
	if (slice_to_u32(h->value, &cl))
		return fail(perr, 400, "Bad Content-Length header");
	/* RFC 3261 18.3: a datagram shorter than Content-Length is bad */
	if (cl > avail)
		return fail(perr, 400, "Content-Length larger than message");
	m->has_content_length = true;
	m->content_length = cl;
	m->body = slice_make(m->buf + body_off, cl);
	m->len = (uint32_t)(body_off + cl);
	return 0;
}

/* RFC 3261 8.1.1.7, 8.1.1.3...: the headers every message must have. */
static int parse_required(struct sip_msg *m, struct sip_perr *perr)
{
	const struct sip_hdr *h;
	int err;

	err = single(m, SIP_HDR_CALL_ID, &h);
	if (err == -ENOENT)
		return fail(perr, 400, "Missing Call-ID header");
	if (err == -EEXIST)
		return fail(perr, 400, "Multiple Call-ID headers");
	for (size_t i = 0; i < h->value.len; i++)
		if (!cc_is((unsigned char)h->value.p[i], CC_WORD) &&
		    h->value.p[i] != '@')
			return fail(perr, 400, "Bad Call-ID header");
	if (h->value.len == 0)
		return fail(perr, 400, "Bad Call-ID header");
	m->call_id = h->value;

	err = single(m, SIP_HDR_CSEQ, &h);
	if (err == -ENOENT)
		return fail(perr, 400, "Missing CSeq header");
	if (err == -EEXIST)
		return fail(perr, 400, "Multiple CSeq headers");
	if (sip_cseq_parse(h->value, &m->cseq))
		return fail(perr, 400, "Bad CSeq header");

	err = single(m, SIP_HDR_FROM, &h);
	if (err == -ENOENT)
		return fail(perr, 400, "Missing From header");
	if (err == -EEXIST)
		return fail(perr, 400, "Multiple From headers");
	if (nameaddr_parse_at(h->value, m->buf, false, false, m->arena,
			      m->limits, &m->from))
		return fail(perr, 400, "Bad From header");
	m->from->hdr = (uint16_t)(h - m->hdrs);

	err = single(m, SIP_HDR_TO, &h);
	if (err == -ENOENT)
		return fail(perr, 400, "Missing To header");
	if (err == -EEXIST)
		return fail(perr, 400, "Multiple To headers");
	if (nameaddr_parse_at(h->value, m->buf, false, false, m->arena,
			      m->limits, &m->to))
		return fail(perr, 400, "Bad To header");
	m->to->hdr = (uint16_t)(h - m->hdrs);

	if (!sip_msg_hdr(m, SIP_HDR_VIA))
		return fail(perr, 400, "Missing Via header");
	err = via_parse_all(m);
	if (err == -E2BIG)
		return fail(perr, 400, "Too many Via values");
	if (err)
		return fail(perr, 400, "Bad Via header");
	return 0;
}

/* Request-only checks: CSeq method, Request-URI, scalar headers. */
static int parse_request_fields(struct sip_msg *m, struct sip_perr *perr)
{
	const struct sip_hdr *h;
	const struct sip_nameaddr *na;
	uint32_t v;
	int err;

	/* RFC 3261 8.1.1.5: the CSeq method matches the request method;
	 * RFC 4475 3.1.2.18 prefers 501 when the method is unknown anyway. */
	if (!slice_eq(m->cseq.method_name, m->method_name)) {
		if (m->method == SIP_METHOD_UNKNOWN)
			return fail(perr, 501, "Not Implemented");
		return fail(perr, 400, "CSeq method does not match");
	}

	err = sip_uri_parse(m->ruri_raw, &m->ruri, m->limits);
	if (err)
		return fail(perr, 400, "Bad Request-URI");
	/* RFC 3261 8.2.2.1: a scheme we do not understand gets 416 */
	if (m->ruri.scheme == SIP_URI_OTHER)
		return fail(perr, 416, "Unsupported URI Scheme");
	/* RFC 3261 19.1.1: headers are not allowed in a Request-URI */
	if (m->ruri.headers.p && m->ruri.scheme != SIP_URI_TEL)
		return fail(perr, 400, "Bad Request-URI");

	err = single(m, SIP_HDR_MAX_FORWARDS, &h);
	if (err == -EEXIST)
		return fail(perr, 400, "Multiple Max-Forwards headers");
	if (!err && msg_parse_u32_hdr(h, 255, &v))
		return fail(perr, 400, "Bad Max-Forwards header");

	err = single(m, SIP_HDR_EXPIRES, &h);
	if (err == -EEXIST)
		return fail(perr, 400, "Multiple Expires headers");
	if (!err && msg_parse_u32_hdr(h, UINT32_MAX, &v))
		return fail(perr, 400, "Bad Expires header");

	err = single(m, SIP_HDR_CONTENT_TYPE, &h);
	if (err == -EEXIST)
		return fail(perr, 400, "Multiple Content-Type headers");

	err = sip_msg_contacts(m, &na);
	if (err == -E2BIG)
		return fail(perr, 400, "Too many Contact values");
	if (err && err != -ENOENT)
		return fail(perr, 400, "Bad Contact header");
	return 0;
}

int sip_msg_parse(struct sip_msg *m, struct arena *a, char *buf, size_t len,
		  enum sip_framing framing, const struct sb_limits *lim,
		  struct sip_perr *perr)
{
	struct sip_perr start_err = {0, NULL};
	bool too_big = len > lim->max_msg_bytes;
	size_t pos = 0, eol, body_off = 0;
	struct slice line;
	int err;

	memset(m, 0, sizeof(*m));
	perr->status = 0;
	perr->reason = "Malformed message";
	if (too_big)
		len = lim->max_msg_bytes;
	m->buf = buf;
	m->len = (uint32_t)len;
	m->arena = a;
	m->limits = lim;
	m->cache = arena_zalloc(a, sizeof(*m->cache));
	if (!m->cache)
		return -ENOMEM;

	/* RFC 3261 7.5: ignore CRLFs before the start line */
	while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	if (pos >= len)
		return fail(perr, 0, "Empty message");
	for (eol = pos; eol < len && buf[eol] != '\n'; eol++)
		if (cc_is((unsigned char)buf[eol], CC_CTL) && buf[eol] != '\r')
			return fail(perr, 0, "Bad start line");
	if (eol >= len || eol - pos > lim->max_header_bytes)
		return fail(perr, 0, "Bad start line");
	line = slice_make(buf + pos, eol - pos);
	if (line.len && line.p[line.len - 1] == '\r')
		line.len--;
	if (line.len >= 4 && memcmp(line.p, "SIP/", 4) == 0)
		err = parse_status_line(m, line, perr);
	else
		err = parse_request_line(m, line, &start_err);
	if (err && !m->is_request)
		return err;

	err = split_headers(m, eol + 1, len, &body_off, perr);
	if (err && err != -EBADMSG)
		goto out;
	if (too_big) {
		err = fail(perr, 413, "Message Too Large");
		goto out;
	}
	if (err)
		goto out;
	if (start_err.status) {
		*perr = start_err;
		err = -EBADMSG;
		goto out;
	}
	err = parse_content_length(m, body_off, len - body_off, framing, perr);
	if (!err)
		err = parse_required(m, perr);
	if (!err && m->is_request)
		err = parse_request_fields(m, perr);
out:
	/* No Via: nowhere a response could be matched; drop. */
	if (err == -EBADMSG && m->is_request && !sip_msg_hdr(m, SIP_HDR_VIA))
		perr->status = 0;
	if (err == -EBADMSG && m->is_request && m->method == SIP_METHOD_ACK)
		perr->status = 0; /* RFC 3261 17.2.1: never answer an ACK */
	if (err == -EBADMSG && !m->is_request)
		perr->status = 0; /* a bad response is dropped, not answered */
	if (err == -ENOMEM)
		fail(perr, 0, "Out of memory");
	return err;
}
