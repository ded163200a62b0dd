/* Offer/answer (RFC 3264) state of one leg, and the leg's own o= line. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "sdp/anchor.h"
#include "sdp/oa.h"

/* Media type codes kept for the pending offer (RFC 4566 5.14, RFC 6466). */
enum {
	OA_MEDIA_OTHER,
	OA_MEDIA_AUDIO,
	OA_MEDIA_VIDEO,
	OA_MEDIA_TEXT,
	OA_MEDIA_APPLICATION,
	OA_MEDIA_MESSAGE,
	OA_MEDIA_IMAGE
};

/* 64-bit FNV-1a; wider than an enum may hold. */
#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

static uint8_t media_code(struct slice type)
{
	static const char *const names[] = {
	    [OA_MEDIA_AUDIO] = "audio",
	    [OA_MEDIA_VIDEO] = "video",
	    [OA_MEDIA_TEXT] = "text",
	    [OA_MEDIA_APPLICATION] = "application",
	    [OA_MEDIA_MESSAGE] = "message",
	    [OA_MEDIA_IMAGE] = "image",
	};

	for (uint8_t i = OA_MEDIA_AUDIO; i <= OA_MEDIA_IMAGE; i++)
		if (slice_caseeq_lit(type, names[i]))
			return i;
	return OA_MEDIA_OTHER;
}

static void offer_keep(struct sdp_oa *oa, const struct sdp *s)
{
	assert(s->nmedia <= SDP_MEDIA_MAX);
	oa->offer_media = (uint8_t)s->nmedia;
	for (uint16_t i = 0; i < s->nmedia; i++)
		oa->offer_type[i] = media_code(s->media[i].type);
}

/* RFC 3264 6: the answer has the offer's m-lines, in order, same types. */
static bool answer_fits(const struct sdp_oa *oa, const struct sdp *s)
{
	if (s->nmedia != oa->offer_media)
		return false;
	for (uint16_t i = 0; i < s->nmedia; i++)
		if (media_code(s->media[i].type) != oa->offer_type[i])
			return false;
	return true;
}

static void answer_done(struct sdp_oa *oa)
{
	oa->state = SDP_OA_IDLE;
	oa->offer_media = 0;
	oa->has_completed = true;
}

static uint64_t fnv64(uint64_t h, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= FNV64_PRIME;
	}
	return h;
}

/*
 * Hash printed text, o= line aside: the same line walk as sdp_print()
 * (CRLF or LF ends, empty lines dropped), each line hashed with a CRLF
 * end, so a change of line ends alone is no change.
 */
static uint64_t text_hash(struct slice text)
{
	const char *p = text.p, *end = text.p + text.len, *nl;
	uint64_t h = FNV64_OFFSET;
	size_t len;

	while (p && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > 0 && !(len >= 2 && p[0] == 'o' && p[1] == '=')) {
			h = fnv64(h, p, len);
			h = fnv64(h, "\r\n", 2);
		}
		p = nl ? nl + 1 : end;
	}
	return h;
}

int sdp_oa_recv(struct sdp_oa *oa, const struct sdp *s, enum sdp_oa_kind *kind)
{
	switch (oa->state) {
	case SDP_OA_IDLE:
		offer_keep(oa, s);
		oa->state = SDP_OA_REMOTE_OFFER;
		*kind = SDP_OA_OFFER;
		return 0;
	case SDP_OA_LOCAL_OFFER:
		if (!answer_fits(oa, s))
			return -EPROTO;
		answer_done(oa);
		*kind = SDP_OA_ANSWER;
		return 0;
	case SDP_OA_REMOTE_OFFER:
		/* RFC 3261 14.2, RFC 3311 5.2: no offer while one is pending.
		 */
		return -EBUSY;
	}
	return -EINVAL;
}

int sdp_oa_send(struct sdp_oa *oa, const struct sdp *s, enum sdp_oa_kind kind)
{
	switch (kind) {
	case SDP_OA_OFFER:
		/* RFC 3261 14.1: no new offer while an exchange is pending. */
		if (oa->state != SDP_OA_IDLE)
			return -EBUSY;
		offer_keep(oa, s);
		oa->state = SDP_OA_LOCAL_OFFER;
		return 0;
	case SDP_OA_ANSWER:
		/* RFC 3264 4: an answer only to an offer received. */
		if (oa->state != SDP_OA_REMOTE_OFFER || !answer_fits(oa, s))
			return -EPROTO;
		answer_done(oa);
		return 0;
	}
	return -EINVAL;
}

void sdp_oa_reset(struct sdp_oa *oa)
{
	oa->state = SDP_OA_IDLE;
	oa->offer_media = 0;
}

void sdp_leg_init(struct sdp_leg *l, struct slice addr, uint64_t sess_id)
{
	memset(l, 0, sizeof(*l));
	if (addr.len >= 2 && addr.p[0] == '[' && addr.p[addr.len - 1] == ']')
		addr = slice_make(addr.p + 1, addr.len - 2);
	assert(addr.len < sizeof(l->addr));
	if (addr.len >= sizeof(l->addr))
		addr.len = sizeof(l->addr) - 1;
	if (addr.len)
		memcpy(l->addr, addr.p, addr.len);
	l->is_ip6 = addr.len && memchr(addr.p, ':', addr.len) != NULL;
	l->sess_id = sess_id;
}

/* Cut out back to len bytes, as buf keeps it: NUL-terminated. */
static void out_truncate(struct buf *out, size_t len)
{
	out->len = len;
	if (out->p && len < out->cap)
		out->p[len] = '\0';
}

/* Print s on leg l with o= version v. RFC 4566 5.2: "-" user, the leg's
 * own id and address. */
static int leg_emit(const struct sdp_leg *l, const struct sdp *s,
		    const struct sdp_rewrite *rw, uint64_t v, struct buf *out)
{
	struct sdp_origin o = {
	    .user = SL("-"),
	    .sess_id = l->sess_id,
	    .sess_version = v,
	    .addrtype = l->is_ip6 ? SL("IP6") : SL("IP4"),
	    .addr = slice_cstr(l->addr),
	};

	return sdp_print_rw(s, &o, rw, out);
}

/*
 * Print with the last version, then compare what was printed (rewritten,
 * o= aside) with the last one sent; when it differs, print again with the
 * next version. The first SDP on a leg has version 1.
 */
int sdp_leg_print_rw(struct sdp_leg *l, const struct sdp *s,
		     const struct sdp_rewrite *rw, struct buf *out)
{
	uint64_t version = l->has_sent ? l->version : 1, hash = 0;
	size_t start = out->len;
	int err;

	err = leg_emit(l, s, rw, version, out);
	if (!err) {
		hash = text_hash(slice_make(out->p + start, out->len - start));
		/* RFC 3264 8: one more for a change, the same for a repeat. */
		if (l->has_sent && hash != l->last_hash) {
			out_truncate(out, start);
			err = leg_emit(l, s, rw, ++version, out);
		}
	}
	if (err) {
		out_truncate(out, start);
		return err;
	}
	l->version = version;
	l->last_hash = hash;
	l->has_sent = true;
	return 0;
}

int sdp_leg_print(struct sdp_leg *l, const struct sdp *s, struct buf *out)
{
	return sdp_leg_print_rw(l, s, NULL, out);
}
