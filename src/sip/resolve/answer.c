/* DNS answers: RR TTLs from the raw message, records into record sets. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "sip/resolve/resolve_int.h"

enum {
	HEADER_LEN = 12,   /* RFC 1035 4.1.1 */
	QUESTION_TAIL = 4, /* QTYPE, QCLASS */
	RR_FIXED = 10,	   /* TYPE, CLASS, TTL, RDLENGTH */
	NAME_WIRE_MAX = 255,
	LABEL_MAX = 63
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * Step over the name at *pos (RFC 1035 4.1.4: labels, ending in the root
 * or in a compression pointer, which is not followed: only its two bytes
 * belong here). *pos stays within len.
 */
static int skip_name(const uint8_t *buf, size_t len, size_t *pos)
{
	size_t p = *pos, wire = 1;

	for (;;) {
		uint8_t c;

		if (p >= len)
			return -EBADMSG;
		c = buf[p];
		if ((c & 0xc0) == 0xc0) {
			if (len - p < 2)
				return -EBADMSG;
			*pos = p + 2;
			return 0;
		}
		if (c & 0xc0) /* RFC 6891 6.1.4: no extended label types */
			return -EBADMSG;
		if (c == 0) {
			*pos = p + 1;
			return 0;
		}
		wire += 1u + c;
		if (wire > NAME_WIRE_MAX) /* RFC 1035 3.1 */
			return -EBADMSG;
		p += 1u + c;
	}
}

int resolve_answer_ttl(const uint8_t *buf, size_t len, uint16_t type,
		       uint32_t *ttl_s)
{
	uint32_t min = UINT32_MAX;
	bool has_type = false;
	size_t pos = HEADER_LEN;
	unsigned qd, an;
	int err;

	if (!buf || len < HEADER_LEN)
		return -EBADMSG;
	qd = be16(buf + 4);
	an = be16(buf + 6);
	for (unsigned i = 0; i < qd; i++) {
		err = skip_name(buf, len, &pos);
		if (err)
			return err;
		if (len - pos < QUESTION_TAIL)
			return -EBADMSG;
		pos += QUESTION_TAIL;
	}
	for (unsigned i = 0; i < an; i++) {
		uint16_t rtype, rclass, rdlen;
		uint32_t ttl;

		err = skip_name(buf, len, &pos);
		if (err)
			return err;
		if (len - pos < RR_FIXED)
			return -EBADMSG;
		rtype = be16(buf + pos);
		rclass = be16(buf + pos + 2);
		ttl = be32(buf + pos + 4);
		rdlen = be16(buf + pos + 8);
		pos += RR_FIXED;
		if (len - pos < rdlen)
			return -EBADMSG;
		pos += rdlen;
		if (rclass != DNS_CLASS_IN ||
		    (rtype != type && rtype != DNS_TYPE_CNAME))
			continue;
		if (ttl > INT32_MAX) /* RFC 2181 8: treat as zero */
			ttl = 0;
		if (ttl < min)
			min = ttl;
		if (rtype == type)
			has_type = true;
	}
	if (!has_type)
		return -ENOENT;
	*ttl_s = min;
	return 0;
}

int resolve_name_norm(struct slice in, char out[RESOLVE_NAME_MAX + 1])
{
	size_t len = in.len, label = 0;

	if (len > 0 && in.p[len - 1] == '.')
		len--;
	if (len > RESOLVE_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in.p[i];

		if (c == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
			out[i] = '.';
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c | 0x20);
		else if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') &&
			 c != '-' && c != '_')
			return -EINVAL;
		if (++label > LABEL_MAX)
			return -EINVAL;
		out[i] = (char)c;
	}
	if (len > 0 && label == 0)
		return -EINVAL;
	out[len] = '\0';
	return (int)len;
}

static int ares_err(int status)
{
	return status == ARES_ENOMEM ? -ENOMEM : -EBADMSG;
}

static int decode_a(const char *name, const uint8_t *buf, int len,
		    struct rrset **out)
{
	struct ares_addrttl at[RESOLVE_RECORDS_MAX];
	int n = RESOLVE_RECORDS_MAX;
	int status = ares_parse_a_reply(buf, len, NULL, at, &n);
	struct rrset *s;

	if (status == ARES_ENODATA)
		n = 0;
	else if (status != ARES_SUCCESS)
		return ares_err(status);
	s = resolve_rrset_new(name, DNS_TYPE_A, n ? 0 : -ENOENT, (size_t)n, 0,
			      NULL);
	if (!s)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		s->rr.a[i] = at[i].ipaddr;
	*out = s;
	return 0;
}

static int decode_aaaa(const char *name, const uint8_t *buf, int len,
		       struct rrset **out)
{
	struct ares_addr6ttl at[RESOLVE_RECORDS_MAX];
	int n = RESOLVE_RECORDS_MAX;
	int status = ares_parse_aaaa_reply(buf, len, NULL, at, &n);
	struct rrset *s;

	if (status == ARES_ENODATA)
		n = 0;
	else if (status != ARES_SUCCESS)
		return ares_err(status);
	s = resolve_rrset_new(name, DNS_TYPE_AAAA, n ? 0 : -ENOENT, (size_t)n,
			      0, NULL);
	if (!s)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		memcpy(&s->rr.aaaa[i], &at[i].ip6addr, sizeof(s->rr.aaaa[i]));
	*out = s;
	return 0;
}

static int decode_srv(const char *name, const uint8_t *buf, int len,
		      struct rrset **out)
{
	struct ares_srv_reply *list = NULL;
	struct rr_srv v[RESOLVE_RECORDS_MAX];
	char names[RESOLVE_RECORDS_MAX][RESOLVE_NAME_MAX + 1];
	size_t n = 0, pool_len = 0;
	struct rrset *s;
	char *pool;
	int status = ares_parse_srv_reply(buf, len, &list);

	if (status == ARES_ENODATA)
		list = NULL;
	else if (status != ARES_SUCCESS)
		return ares_err(status);
	for (struct ares_srv_reply *p = list; p && n < RESOLVE_RECORDS_MAX;
	     p = p->next) {
		int nl = resolve_name_norm(slice_cstr(p->host), names[n]);
		if (nl < 0)
			continue; /* a target we could not ask for */
		v[n] = (struct rr_srv){.priority = p->priority,
				       .weight = p->weight,
				       .port = p->port};
		pool_len += (size_t)nl + 1;
		n++;
	}
	ares_free_data(list);
	s = resolve_rrset_new(name, DNS_TYPE_SRV, 0, n, pool_len, &pool);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);
		memcpy(pool, names[i], nl + 1);
		v[i].target = pool;
		pool += nl + 1;
		s->rr.srv[i] = v[i];
	}
	*out = s;
	return 0;
}

/* RFC 3263 4.1: the services a SIP client resolves through NAPTR. */
static int naptr_transport(const char *service, enum sip_transport *tp)
{
	if (strcasecmp(service, "SIP+D2U") == 0)
		*tp = SIP_TP_UDP;
	else if (strcasecmp(service, "SIP+D2T") == 0)
		*tp = SIP_TP_TCP;
	else if (strcasecmp(service, "SIPS+D2T") == 0)
		*tp = SIP_TP_TLS;
	else
		return -ENOENT;
	return 0;
}

static int decode_naptr(const char *name, const uint8_t *buf, int len,
			struct rrset **out)
{
	struct ares_naptr_reply *list = NULL;
	struct rr_naptr v[RESOLVE_RECORDS_MAX];
	char names[RESOLVE_RECORDS_MAX][RESOLVE_NAME_MAX + 1];
	size_t n = 0, pool_len = 0;
	struct rrset *s;
	char *pool;
	int status = ares_parse_naptr_reply(buf, len, &list);

	if (status == ARES_ENODATA)
		list = NULL;
	else if (status != ARES_SUCCESS)
		return ares_err(status);
	for (struct ares_naptr_reply *p = list; p && n < RESOLVE_RECORDS_MAX;
	     p = p->next) {
		enum sip_transport tp;
		int nl;

		/* RFC 3263 4.1: "s" flag, a SIP service, the replacement
		 * names the SRV record (no regexp) */
		if (!p->flags || strcasecmp((const char *)p->flags, "s") != 0)
			continue;
		if (!p->service ||
		    naptr_transport((const char *)p->service, &tp) != 0)
			continue;
		if (p->regexp && p->regexp[0] != '\0')
			continue;
		nl = resolve_name_norm(slice_cstr(p->replacement), names[n]);
		if (nl <= 0)
			continue;
		v[n] = (struct rr_naptr){
		    .order = p->order, .pref = p->preference, .tp = tp};
		pool_len += (size_t)nl + 1;
		n++;
	}
	ares_free_data(list);
	s = resolve_rrset_new(name, DNS_TYPE_NAPTR, 0, n, pool_len, &pool);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);
		memcpy(pool, names[i], nl + 1);
		v[i].replacement = pool;
		pool += nl + 1;
		s->rr.naptr[i] = v[i];
	}
	*out = s;
	return 0;
}

int resolve_answer_decode(const char *name, uint16_t type, const uint8_t *buf,
			  size_t len, struct rrset **out, uint32_t *ttl_s)
{
	int err;

	if (!buf || len > INT_MAX)
		return -EBADMSG;
	err = resolve_answer_ttl(buf, len, type, ttl_s);
	if (err == -ENOENT) {
		/* Only a CNAME chain, or other types: nothing for us. */
		*out = resolve_rrset_new(name, type, -ENOENT, 0, 0, NULL);
		return *out ? 0 : -ENOMEM;
	}
	if (err)
		return err;
	switch (type) {
	case DNS_TYPE_A:
		return decode_a(name, buf, (int)len, out);
	case DNS_TYPE_AAAA:
		return decode_aaaa(name, buf, (int)len, out);
	case DNS_TYPE_SRV:
		return decode_srv(name, buf, (int)len, out);
	case DNS_TYPE_NAPTR:
		return decode_naptr(name, buf, (int)len, out);
	default:
		return -EINVAL;
	}
}
