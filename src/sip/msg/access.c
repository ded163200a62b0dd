/* Header lookup and lazily parsed header values, cached on the message. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>

#include "sip/msg/msg_int.h"

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	if ((unsigned)id >= SIP_HDR__COUNT || !m->first[id])
		return NULL;
	return &m->hdrs[m->first[id] - 1];
}

const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m,
				       const struct sip_hdr *h)
{
	return h->next ? &m->hdrs[h->next - 1] : NULL;
}

const struct sip_hdr *sip_msg_hdr_find(const struct sip_msg *m,
				       struct slice name)
{
	enum sip_hdr_id id = sip_hdr_id_from(name);
	const struct sip_hdr *h;

	if (id != SIP_HDR_OTHER)
		return sip_msg_hdr(m, id);
	for (h = sip_msg_hdr(m, SIP_HDR_OTHER); h; h = sip_msg_hdr_next(m, h))
		if (slice_caseeq(h->name, name))
			return h;
	return NULL;
}

unsigned sip_msg_hdr_count(const struct sip_msg *m, enum sip_hdr_id id)
{
	unsigned n = 0;

	for (const struct sip_hdr *h = sip_msg_hdr(m, id); h;
	     h = sip_msg_hdr_next(m, h))
		n++;
	return n;
}

/* Run a cached parse once; later calls return the stored verdict. */
static int cached(struct sip_msg *m, enum cache_item item)
{
	return m->cache->state[item] == 1 ? 0 : m->cache->state[item];
}

static int store(struct sip_msg *m, enum cache_item item, int err)
{
	m->cache->state[item] = (int8_t)(err ? err : 1);
	return err;
}

/* Parse every header of id as a name-addr list, concatenated. */
static int nameaddr_list(struct sip_msg *m, enum sip_hdr_id id,
			 const struct sip_nameaddr **first)
{
	struct sip_nameaddr *head = NULL, *tail = NULL, *list;
	uint32_t total = 0;

	for (const struct sip_hdr *h = sip_msg_hdr(m, id); h;
	     h = sip_msg_hdr_next(m, h)) {
		int err = nameaddr_parse_at(h->value, m->buf, true,
					    id == SIP_HDR_CONTACT, m->arena,
					    m->limits, &list);
		if (err)
			return err;
		for (struct sip_nameaddr *na = list; na; na = na->next) {
			na->hdr = (uint16_t)(h - m->hdrs);
			/* RFC 3261 10.2.2: "*" must stand alone */
			if (na->is_star && (head || h->next))
				return -EBADMSG;
			if (++total > m->limits->max_values)
				return -E2BIG;
		}
		if (tail)
			tail->next = list;
		else
			head = list;
		for (tail = list; tail->next; tail = tail->next)
			;
	}
	*first = head;
	return head ? 0 : -ENOENT;
}

static int cached_nameaddrs(struct sip_msg *m, enum cache_item item,
			    enum sip_hdr_id id,
			    const struct sip_nameaddr **slot,
			    const struct sip_nameaddr **first)
{
	int err;

	if (m->cache->state[item]) {
		*first = *slot;
		return cached(m, item);
	}
	err = nameaddr_list(m, id, slot);
	*first = *slot;
	return store(m, item, err);
}

int sip_msg_contacts(struct sip_msg *m, const struct sip_nameaddr **first)
{
	return cached_nameaddrs(m, CACHE_CONTACT, SIP_HDR_CONTACT,
				&m->cache->contact, first);
}

int sip_msg_routes(struct sip_msg *m, const struct sip_nameaddr **first)
{
	return cached_nameaddrs(m, CACHE_ROUTE, SIP_HDR_ROUTE,
				&m->cache->route, first);
}

int sip_msg_record_routes(struct sip_msg *m,
			  const struct sip_nameaddr **first)
{
	return cached_nameaddrs(m, CACHE_RECORD_ROUTE, SIP_HDR_RECORD_ROUTE,
				&m->cache->record_route, first);
}

int sip_msg_nameaddrs(struct sip_msg *m, enum sip_hdr_id id,
		      const struct sip_nameaddr **first)
{
	switch (id) {
	case SIP_HDR_CONTACT:
		return sip_msg_contacts(m, first);
	case SIP_HDR_ROUTE:
		return sip_msg_routes(m, first);
	case SIP_HDR_RECORD_ROUTE:
		return sip_msg_record_routes(m, first);
	case SIP_HDR_FROM:
		*first = m->from;
		return m->from ? 0 : -ENOENT;
	case SIP_HDR_TO:
		*first = m->to;
		return m->to ? 0 : -ENOENT;
	default:
		return nameaddr_list(m, id, first);
	}
}

static int cached_u32(struct sip_msg *m, enum cache_item item,
		      enum sip_hdr_id id, uint32_t max, uint32_t *slot,
		      uint32_t *out)
{
	const struct sip_hdr *h;
	int err;

	if (!m->cache->state[item]) {
		h = sip_msg_hdr(m, id);
		if (!h)
			err = -ENOENT;
		else if (h->next)
			err = -EBADMSG;
		else
			err = msg_parse_u32_hdr(h, max, slot);
		store(m, item, err);
	}
	err = cached(m, item);
	if (!err)
		*out = *slot;
	return err;
}

int sip_msg_max_forwards(struct sip_msg *m, uint32_t *out)
{
	return cached_u32(m, CACHE_MAX_FORWARDS, SIP_HDR_MAX_FORWARDS, 255,
			  &m->cache->max_forwards, out);
}

int sip_msg_expires(struct sip_msg *m, uint32_t *out)
{
	return cached_u32(m, CACHE_EXPIRES, SIP_HDR_EXPIRES, UINT32_MAX,
			  &m->cache->expires, out);
}

int sip_msg_content_type(struct sip_msg *m, const struct sip_ctype **out)
{
	const struct sip_hdr *h;
	struct sip_ctype *ct;
	int err;

	if (!m->cache->state[CACHE_CTYPE]) {
		h = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
		if (!h) {
			err = -ENOENT;
		} else if (!(ct = arena_zalloc(m->arena, sizeof(*ct)))) {
			err = -ENOMEM;
		} else {
			err = sip_ctype_parse(h->value, m->limits, ct);
			if (!err)
				m->cache->ctype = ct;
		}
		store(m, CACHE_CTYPE, err);
	}
	*out = m->cache->ctype;
	return cached(m, CACHE_CTYPE);
}

int sip_msg_auth(struct sip_msg *m, enum sip_hdr_id id,
		 const struct sip_auth **first)
{
	enum cache_item item;
	struct sip_auth *head = NULL, *tail = NULL;
	unsigned slot;
	int err = 0;

	switch (id) {
	case SIP_HDR_AUTHORIZATION:
		item = CACHE_AUTHZ, slot = 0;
		break;
	case SIP_HDR_PROXY_AUTHORIZATION:
		item = CACHE_PROXY_AUTHZ, slot = 1;
		break;
	case SIP_HDR_WWW_AUTHENTICATE:
		item = CACHE_WWW_AUTHN, slot = 2;
		break;
	case SIP_HDR_PROXY_AUTHENTICATE:
		item = CACHE_PROXY_AUTHN, slot = 3;
		break;
	default:
		return -EINVAL;
	}
	if (!m->cache->state[item]) {
		uint32_t n = 0;
		for (const struct sip_hdr *h = sip_msg_hdr(m, id); h && !err;
		     h = sip_msg_hdr_next(m, h)) {
			struct sip_auth *au = arena_alloc(m->arena, sizeof(*au));
			if (!au) {
				err = -ENOMEM;
				break;
			}
			if (++n > m->limits->max_values) {
				err = -E2BIG;
				break;
			}
			err = sip_auth_parse(h->value, m->limits, au);
			au->hdr = (uint16_t)(h - m->hdrs);
			if (tail)
				tail->next = au;
			else
				head = au;
			tail = au;
		}
		if (!err && !head)
			err = -ENOENT;
		m->cache->auth[slot] = err ? NULL : head;
		store(m, item, err);
	}
	*first = m->cache->auth[slot];
	return cached(m, item);
}

/* Tokens are cheap to split and rarely read twice: not cached. */
int sip_msg_tokens(struct sip_msg *m, enum sip_hdr_id id,
		   const struct sip_token **first)
{
	struct sip_token *head = NULL, *tail = NULL;
	uint32_t n = 0;

	for (const struct sip_hdr *h = sip_msg_hdr(m, id); h;
	     h = sip_msg_hdr_next(m, h)) {
		struct scan s = scan_of(h->value);
		scan_ws(&s);
		while (!scan_eof(&s)) {
			struct sip_token *t;
			struct slice v = scan_token(&s);
			if (!v.p)
				return -EBADMSG;
			if (++n > m->limits->max_values)
				return -E2BIG;
			t = arena_alloc(m->arena, sizeof(*t));
			if (!t)
				return -ENOMEM;
			t->value = v;
			t->next = NULL;
			if (tail)
				tail->next = t;
			else
				head = t;
			tail = t;
			if (!scan_sep(&s, ',')) {
				scan_ws(&s);
				if (!scan_eof(&s))
					return -EBADMSG;
			}
			scan_ws(&s);
		}
	}
	*first = head;
	return head ? 0 : -ENOENT;
}

bool sip_msg_has_token(struct sip_msg *m, enum sip_hdr_id id,
		       const char *tok)
{
	const struct sip_token *t;

	if (sip_msg_tokens(m, id, &t) != 0)
		return false;
	for (; t; t = t->next)
		if (slice_caseeq_lit(t->value, tok))
			return true;
	return false;
}

int sip_msg_multipart(struct sip_msg *m, const struct sip_part **first)
{
	const struct sip_ctype *ct;
	struct sip_part *parts = NULL;
	int err;

	if (!m->cache->state[CACHE_MULTIPART]) {
		err = sip_msg_content_type(m, &ct);
		if (!err && !slice_caseeq_lit(ct->type, "multipart"))
			err = -ENOENT;
		if (!err)
			err = sip_multipart_parse(m->body, ct, m->arena,
						  m->limits, 0, &parts);
		m->cache->parts = err ? NULL : parts;
		store(m, CACHE_MULTIPART, err);
	}
	*first = m->cache->parts;
	return cached(m, CACHE_MULTIPART);
}
