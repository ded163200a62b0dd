/* Editing a received message for forwarding: a patch list applied at print. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/msg/patch.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

enum {
	PATCH_CAP_MIN = 8,     /* first patch array of a layer */
	PATCH_PRINT_STACK = 32 /* patches sorted on the stack at print */
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Whether [off, off+del) edits clash with patch p. Deleted ranges may not
 * intersect, and an insertion may not land strictly inside a deleted range;
 * insertions at the same offset, or at either edge of a deletion, are fine.
 */
static bool overlaps(const struct sip_patch *p, uint32_t off, uint32_t del)
{
	if (del && p->del)
		return off < p->off + p->del && p->off < off + del;
	if (p->del)
		return off > p->off && off < p->off + p->del;
	if (del)
		return p->off > off && p->off < off + del;
	return false;
}

static bool clashes(const struct sip_patchset *ps, uint32_t off, uint32_t del)
{
	const struct sip_patchset *l;

	for (l = ps; l; l = l->base)
		for (uint32_t i = 0; i < l->n; i++)
			if (overlaps(&l->v[i], off, del))
				return true;
	return false;
}

static int grow(struct sip_patchset *ps)
{
	uint32_t cap = ps->cap ? ps->cap * 2 : PATCH_CAP_MIN;
	struct sip_patch *v;

	if (cap < ps->cap)
		return -ENOMEM;
	v = arena_alloc(ps->arena, (size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (ps->n)
		memcpy(v, ps->v, (size_t)ps->n * sizeof(*v));
	ps->v = v;
	ps->cap = cap;
	return 0;
}

/*
 * Add a patch after checking it fits the message and clashes with no patch
 * of any layer. ins is copied into the arena when copy is set; otherwise
 * the arena (or static storage) already owns it.
 */
static int push(struct sip_patchset *ps, uint32_t off, uint32_t del,
		struct slice ins, bool copy)
{
	int err;

	if (off > ps->msg->len || del > ps->msg->len - off)
		return -EINVAL;
	if (clashes(ps, off, del))
		return -EINVAL;
	if (ps->n == ps->cap && (err = grow(ps)))
		return err;
	if (copy && ins.len) {
		char *p = arena_alloc(ps->arena, ins.len);

		if (!p)
			return -ENOMEM;
		memcpy(p, ins.p, ins.len);
		ins.p = p;
	}
	ps->v[ps->n++] = (struct sip_patch){
	    .off = off,
	    .del = del,
	    .ins = ins,
	    .seq = ps->seq++,
	};
	return 0;
}

/* Undo the last push, to keep a two-patch edit all or nothing. */
static void pop(struct sip_patchset *ps)
{
	ps->n--;
	ps->seq--;
}

/* "Name: value\r\n" in the arena. */
static int make_line(struct sip_patchset *ps, struct slice name,
		     struct slice value, struct slice *out)
{
	size_t len = name.len + 2 + value.len + 2;
	char *p;

	if (!name.len)
		return -EINVAL;
	p = arena_alloc(ps->arena, len);
	if (!p)
		return -ENOMEM;
	memcpy(p, name.p, name.len);
	memcpy(p + name.len, ": ", 2);
	if (value.len)
		memcpy(p + name.len + 2, value.p, value.len);
	memcpy(p + len - 2, "\r\n", 2);
	*out = slice_make(p, len);
	return 0;
}

static int insert_line(struct sip_patchset *ps, uint32_t off, struct slice name,
		       struct slice value)
{
	struct slice line;
	int err = make_line(ps, name, value, &line);

	if (err)
		return err;
	return push(ps, off, 0, line, false);
}

/* Offset of a slice that points into the message. */
static uint32_t off_of(const struct sip_msg *m, const char *p)
{
	return (uint32_t)(p - m->buf);
}

/*
 * Remove one value [off, off+len) of a comma-separated header line h. A
 * value alone on its line takes the line with it; otherwise the comma and
 * whitespace go on the side that leaves a well-formed list: after the
 * value when another follows it, before it when it is the last.
 */
static int value_remove(struct sip_patchset *ps, const struct sip_hdr *h,
			uint32_t off, uint32_t len, bool is_first, bool is_last)
{
	const char *buf = ps->msg->buf;
	uint32_t start = off, end = off + len;
	uint32_t line_end = h->off + h->len;

	if (is_first && is_last)
		return push(ps, h->off, h->len, slice_make(NULL, 0), false);
	if (!is_last) {
		while (end < line_end && (is_ws(buf[end]) || buf[end] == ','))
			end++;
	} else {
		while (start > h->off &&
		       (is_ws(buf[start - 1]) || buf[start - 1] == ','))
			start--;
	}
	return push(ps, start, end - start, slice_make(NULL, 0), false);
}

/* Whether only whitespace and commas lie in buf[from, to). */
static bool is_blank(const char *buf, uint32_t from, uint32_t to)
{
	for (; from < to; from++)
		if (!is_ws(buf[from]) && buf[from] != ',')
			return false;
	return true;
}

void sip_patchset_init(struct sip_patchset *ps, const struct sip_msg *m,
		       struct arena *a, const struct sip_patchset *base)
{
	assert(!base || base->msg == m);
	memset(ps, 0, sizeof(*ps));
	ps->msg = m;
	ps->base = base;
	ps->arena = a;
	ps->seq = base ? base->seq : 0;
}

int sip_patch_add(struct sip_patchset *ps, uint32_t off, uint32_t del,
		  struct slice ins)
{
	return push(ps, off, del, ins, true);
}

int sip_patch_hdr_remove(struct sip_patchset *ps, const struct sip_hdr *h)
{
	return push(ps, h->off, h->len, slice_make(NULL, 0), false);
}

int sip_patch_hdr_set_value(struct sip_patchset *ps, const struct sip_hdr *h,
			    struct slice value)
{
	const struct sip_msg *m = ps->msg;
	uint32_t off;

	/* An empty value may not point anywhere useful: write before CRLF. */
	if (h->value.len && h->value.p >= m->buf + h->off &&
	    h->value.p + h->value.len <= m->buf + h->off + h->len)
		off = off_of(m, h->value.p);
	else if (h->len >= 2)
		off = h->off + h->len - 2;
	else
		return -EINVAL;
	return sip_patch_add(ps, off, (uint32_t)h->value.len, value);
}

int sip_patch_hdr_prepend(struct sip_patchset *ps, struct slice name,
			  struct slice value)
{
	return insert_line(ps, ps->msg->hdrs_off, name, value);
}

int sip_patch_hdr_append(struct sip_patchset *ps, struct slice name,
			 struct slice value)
{
	return insert_line(ps, ps->msg->hdrs_end, name, value);
}

int sip_patch_hdr_insert_before(struct sip_patchset *ps,
				const struct sip_hdr *h, struct slice name,
				struct slice value)
{
	return insert_line(ps, h->off, name, value);
}

int sip_patch_via_remove_top(struct sip_patchset *ps)
{
	const struct sip_msg *m = ps->msg;
	const struct sip_via *v = m->via;

	if (!v || v->hdr >= m->hdr_count)
		return -ENOENT;
	return value_remove(ps, &m->hdrs[v->hdr], v->off, v->len,
			    v->is_first_in_hdr, v->is_last_in_hdr);
}

int sip_patch_nameaddr_remove(struct sip_patchset *ps,
			      const struct sip_nameaddr *na)
{
	const struct sip_msg *m = ps->msg;
	const struct sip_hdr *h;
	uint32_t vstart, vend;

	if (na->hdr >= m->hdr_count)
		return -EINVAL;
	h = &m->hdrs[na->hdr];
	vstart = off_of(m, h->value.p);
	vend = vstart + (uint32_t)h->value.len;
	if (na->off < vstart || na->off + na->len > vend)
		return -EINVAL;
	/* Other values on the line show as non-blank bytes on either side. */
	return value_remove(ps, h, na->off, na->len,
			    is_blank(m->buf, vstart, na->off),
			    is_blank(m->buf, na->off + na->len, vend));
}

int sip_patch_ruri_set(struct sip_patchset *ps, struct slice uri)
{
	const struct sip_msg *m = ps->msg;

	if (!m->is_request || !m->ruri_raw.p || !uri.len)
		return -EINVAL;
	return sip_patch_add(ps, off_of(m, m->ruri_raw.p),
			     (uint32_t)m->ruri_raw.len, uri);
}

int sip_patch_body_set(struct sip_patchset *ps, struct slice body)
{
	const struct sip_msg *m = ps->msg;
	const struct sip_hdr *cl = sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH);
	uint32_t off = m->body.p ? off_of(m, m->body.p) : m->len;
	char num[24];
	int err;

	/* RFC 3261 20.14: Content-Length counts the body bytes */
	snprintf(num, sizeof(num), "%zu", body.len);
	if (cl)
		err = sip_patch_hdr_set_value(ps, cl, slice_cstr(num));
	else
		err = sip_patch_hdr_append(ps, SL("Content-Length"),
					   slice_cstr(num));
	if (err)
		return err;
	err = sip_patch_add(ps, off, (uint32_t)m->body.len, body);
	if (err)
		pop(ps);
	return err;
}

/* Insertion sort by offset, then insertion order: lists are short. */
static void sort(const struct sip_patch **v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		const struct sip_patch *p = v[i];
		uint32_t j = i;

		while (j > 0 &&
		       (v[j - 1]->off > p->off ||
			(v[j - 1]->off == p->off && v[j - 1]->seq > p->seq))) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = p;
	}
}

int sip_msg_print(const struct sip_patchset *ps, struct buf *out)
{
	const struct sip_patch *stack[PATCH_PRINT_STACK], **v = stack;
	const struct sip_patchset *l;
	const struct sip_msg *m = ps->msg;
	uint32_t n = 0, pos = 0;
	size_t start = out->len, size = m->len;
	int err;

	for (l = ps; l; l = l->base)
		n += l->n;
	if (n > PATCH_PRINT_STACK) {
		v = arena_alloc(ps->arena, (size_t)n * sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	n = 0;
	for (l = ps; l; l = l->base)
		for (uint32_t i = 0; i < l->n; i++)
			v[n++] = &l->v[i];
	sort(v, n);
	/* Edits do not overlap, so the printed size is known up front. */
	for (uint32_t i = 0; i < n; i++)
		size = size + v[i]->ins.len - v[i]->del;
	if ((err = buf_reserve(out, size)))
		return err;
	for (uint32_t i = 0; i < n; i++) {
		const struct sip_patch *p = v[i];

		if (p->off > pos) {
			buf_append(out, m->buf + pos, p->off - pos);
			pos = p->off;
		}
		if (p->ins.len)
			buf_append_slice(out, p->ins);
		if (p->off + p->del > pos)
			pos = p->off + p->del;
	}
	if (m->len > pos)
		buf_append(out, m->buf + pos, m->len - pos);
	if ((err = buf_error(out)) && out->len > start) {
		out->len = start;
		out->p[start] = '\0';
	}
	return err;
}
