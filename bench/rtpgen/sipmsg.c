/* rtpgen: just enough SIP message parsing and printing for a UAC and UAS. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sipmsg.h"

enum {
	HDR_OTHER,
	HDR_VIA,
	HDR_FROM,
	HDR_TO,
	HDR_CALL_ID,
	HDR_CSEQ,
	HDR_CONTACT,
	HDR_CONTENT_LENGTH,
	HDR_RECORD_ROUTE
};

static const struct {
	const char *name;
	const char *compact;
	int id;
} HEADERS[] = {
    {"Via", "v", HDR_VIA},
    {"From", "f", HDR_FROM},
    {"To", "t", HDR_TO},
    {"Call-ID", "i", HDR_CALL_ID},
    {"CSeq", NULL, HDR_CSEQ},
    {"Contact", "m", HDR_CONTACT},
    {"Content-Length", "l", HDR_CONTENT_LENGTH},
    {"Record-Route", NULL, HDR_RECORD_ROUTE},
};

bool rg_str_is(struct rg_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && !strncasecmp(s.p, lit, n);
}

static struct rg_str trim(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	return (struct rg_str){p, (size_t)(end - p)};
}

static int header_id(struct rg_str name)
{
	size_t i;

	for (i = 0; i < sizeof(HEADERS) / sizeof(HEADERS[0]); i++)
		if (rg_str_is(name, HEADERS[i].name) ||
		    (HEADERS[i].compact && rg_str_is(name, HEADERS[i].compact)))
			return HEADERS[i].id;
	return HDR_OTHER;
}

static int parse_start_line(struct rg_str line, struct rg_sip_msg *m)
{
	const char *sp;

	if (line.len > 12 && !strncmp(line.p, "SIP/2.0 ", 8)) {
		m->is_request = false;
		if (sscanf(line.p + 8, "%3d", &m->status) != 1 ||
		    m->status < 100 || m->status > 699)
			return -EBADMSG;
		return 0;
	}
	sp = memchr(line.p, ' ', line.len);
	if (!sp || sp == line.p)
		return -EBADMSG;
	m->is_request = true;
	m->method = (struct rg_str){line.p, (size_t)(sp - line.p)};
	return 0;
}

static int parse_cseq(struct rg_str v, struct rg_sip_msg *m)
{
	const char *p = v.p, *end = v.p + v.len;
	uint32_t n = 0;

	if (p == end || *p < '0' || *p > '9')
		return -EBADMSG;
	while (p < end && *p >= '0' && *p <= '9')
		n = n * 10 + (uint32_t)(*p++ - '0');
	m->cseq = n;
	m->cseq_method = trim(p, end);
	return m->cseq_method.len ? 0 : -EBADMSG;
}

static int add_header(int id, struct rg_str v, struct rg_sip_msg *m,
		      long *content_length)
{
	switch (id) {
	case HDR_VIA:
		if (m->nvia == RG_SIP_MAX_VIA)
			return -EBADMSG;
		m->via[m->nvia++] = v;
		break;
	case HDR_RECORD_ROUTE:
		if (m->nrr < RG_SIP_MAX_RR)
			m->rr[m->nrr++] = v;
		break;
	case HDR_FROM:
		m->from = v;
		break;
	case HDR_TO:
		m->to = v;
		break;
	case HDR_CALL_ID:
		m->call_id = v;
		break;
	case HDR_CONTACT:
		if (!m->contact.len)
			m->contact = v;
		break;
	case HDR_CSEQ:
		return parse_cseq(v, m);
	case HDR_CONTENT_LENGTH:
		if (sscanf(v.p, "%ld", content_length) != 1)
			return -EBADMSG;
		break;
	}
	return 0;
}

int rg_sip_parse(const char *buf, size_t len, struct rg_sip_msg *m)
{
	const char *p = buf, *end = buf + len, *eol;
	long content_length = -1;
	bool is_first = true;
	int err;

	memset(m, 0, sizeof(*m));
	for (;;) {
		struct rg_str line;
		const char *colon;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			return -EBADMSG;
		line = trim(p, eol);
		if (line.p == p && !line.len && !is_first) {
			p = eol + 1;
			break; /* the empty line */
		}
		if (is_first) {
			if ((err = parse_start_line(line, m)))
				return err;
			is_first = false;
		} else if ((colon = memchr(line.p, ':', line.len))) {
			struct rg_str name = trim(line.p, colon);
			struct rg_str value =
			    trim(colon + 1, line.p + line.len);

			err = add_header(header_id(name), value, m,
					 &content_length);
			if (err)
				return err;
		}
		p = eol + 1;
	}
	m->body = (struct rg_str){p, (size_t)(end - p)};
	if (content_length >= 0 && (size_t)content_length < m->body.len)
		m->body.len = (size_t)content_length;
	if (!m->nvia || !m->from.len || !m->to.len || !m->call_id.len ||
	    !m->cseq_method.len)
		return -EBADMSG;
	return 0;
}

/* The header parameters start after the URI: after '>' in a name-addr,
 * else at the first ';'. */
int rg_sip_param(struct rg_str hdr, const char *name, struct rg_str *out)
{
	const char *p = hdr.p, *end = hdr.p + hdr.len, *gt;
	size_t n = strlen(name);

	gt = memchr(p, '>', hdr.len);
	if (gt)
		p = gt + 1;
	while ((p = memchr(p, ';', (size_t)(end - p)))) {
		struct rg_str v;

		p++;
		v = trim(p, end);
		if (v.len > n && !strncasecmp(v.p, name, n) && v.p[n] == '=') {
			const char *s = v.p + n + 1, *e = s;

			while (e < end && *e != ';' && *e != ' ' && *e != ',')
				e++;
			*out = (struct rg_str){s, (size_t)(e - s)};
			return 0;
		}
	}
	return -ENOENT;
}

int rg_sip_uri(struct rg_str hdr, struct rg_str *uri)
{
	const char *lt = memchr(hdr.p, '<', hdr.len), *end = hdr.p + hdr.len;
	const char *e;

	if (lt) {
		e = memchr(lt, '>', (size_t)(end - lt));
		if (!e)
			return -EBADMSG;
		*uri = (struct rg_str){lt + 1, (size_t)(e - lt - 1)};
		return 0;
	}
	e = memchr(hdr.p, ';', hdr.len);
	*uri = trim(hdr.p, e ? e : end);
	return uri->len ? 0 : -EBADMSG;
}

/* "sip:" or "sips:" and the rest up to the first '>' of uri. */
static int uri_rest(struct rg_str uri, struct rg_str *rest)
{
	if (uri.len > 4 && !strncasecmp(uri.p, "sip:", 4))
		*rest = (struct rg_str){uri.p + 4, uri.len - 4};
	else if (uri.len > 5 && !strncasecmp(uri.p, "sips:", 5))
		*rest = (struct rg_str){uri.p + 5, uri.len - 5};
	else
		return -EBADMSG;
	return 0;
}

int rg_sip_uri_user(struct rg_str uri, struct rg_str *user)
{
	struct rg_str rest;
	const char *at;

	if (uri_rest(uri, &rest))
		return -EBADMSG;
	at = memchr(rest.p, '@', rest.len);
	if (!at)
		return -ENOENT;
	*user = (struct rg_str){rest.p, (size_t)(at - rest.p)};
	return 0;
}

int rg_sip_uri_addr(struct rg_str uri, struct sockaddr_in *out)
{
	struct rg_str rest;
	const char *at, *p, *end;
	char host[INET_ADDRSTRLEN];
	unsigned port = 5060;
	size_t n = 0;

	if (uri_rest(uri, &rest))
		return -EBADMSG;
	p = rest.p;
	end = rest.p + rest.len;
	at = memchr(p, '@', rest.len);
	if (at)
		p = at + 1;
	while (p + n < end && p[n] != ':' && p[n] != ';' && p[n] != '?' &&
	       n + 1 < sizeof(host)) {
		host[n] = p[n];
		n++;
	}
	host[n] = '\0';
	if (p + n < end && p[n] == ':' &&
	    (sscanf(p + n + 1, "%5u", &port) != 1 || !port || port > 65535))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -EBADMSG;
}

void rg_out_printf(struct rg_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->is_full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->is_full = true;
		return;
	}
	o->len += (size_t)n;
}
