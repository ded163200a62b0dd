/* Bodies across legs: SDP with each leg's o= line and offer/answer state. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "services/b2bua/b2bua_int.h"

#define LOG_MODULE "b2bua"

static const struct slice none = {NULL, 0};

/* The SDP of m: the body, or the application/sdp part of a multipart. */
static int find_sdp(struct sip_msg *m, struct slice *sdp, struct slice *raw_ct)
{
	const struct sip_ctype *ct;
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	int err = sip_msg_content_type(m, &ct);

	if (err)
		return err == -ENOENT ? -ENOTSUP : -EBADMSG;
	*raw_ct = h ? h->value : none;
	if (slice_caseeq_lit(ct->type, "application") &&
	    slice_caseeq_lit(ct->subtype, "sdp")) {
		*sdp = m->body;
		return 0;
	}
	if (slice_caseeq_lit(ct->type, "multipart")) {
		const struct sip_part *p;

		if (sip_msg_multipart(m, &p) != 0)
			return -EBADMSG;
		for (; p; p = p->next) {
			struct sip_ctype pc;

			if (sip_ctype_parse(p->content_type, m->limits, &pc) ==
				0 &&
			    slice_caseeq_lit(pc.type, "application") &&
			    slice_caseeq_lit(pc.subtype, "sdp")) {
				*sdp = p->body;
				return 0;
			}
		}
	}
	return -ENOENT; /* not SDP: relayed as it is where that is allowed */
}

static bool all_held(const struct sdp *s)
{
	bool any = false;

	for (unsigned i = 0; i < s->nmedia; i++) {
		if (s->media[i].port == 0)
			continue;
		if (!sdp_media_is_hold(s, &s->media[i]))
			return false;
		any = true;
	}
	return any;
}

/* s as to receives it: the codec policy and the local relay's rewrite
 * (anchor_sdp), to's o= line; into b->body, kept for refreshes. */
static int emit(struct b2bua *b, struct leg *from, struct leg *to,
		const struct sdp *s, struct slice *ctype, struct slice *body)
{
	struct sdp_rewrite rw;
	int err = anchor_sdp(to->call, from, to, s, &rw);

	if (!err) {
		buf_reset(&b->body);
		err = sdp_leg_print_rw(&to->sdp, s, &rw, &b->body);
	}
	if (err)
		return err;
	*ctype = SL("application/sdp");
	*body = buf_slice(&b->body);
	st_keep_sdp(to, *body);
	return 0;
}

/* The crossing of s from leg from to leg to, as kind, once the offer/
 * answer states moved: rtpengine's rewrite when it relays the call, the
 * codec policy and the local relay, to's o= line; into b->body. */
static int cross(struct b2bua *b, struct leg *from, struct leg *to,
		 const struct sdp *s, enum sdp_oa_kind kind, bool is_offer_in,
		 struct arena *arena, struct slice *ctype, struct slice *body)
{
	struct call *c = from->call;
	struct sdp ns;
	int err;

	if (c->ngx) {
		err =
		    ngx_cross(c, from, anchor_family(to), s, kind, arena, &ns);
		if (err)
			return err;
		s = &ns;
	}
	if (is_offer_in && c->answer_ms) {
		bool held = all_held(s);

		from->is_holding = held;
		call_set_state(c, held || to->is_holding ? CALL_HELD
							 : CALL_ANSWERED);
		anchor_hold(c, held || to->is_holding);
	}
	return emit(b, from, to, s, ctype, body);
}

int sdpx_relay(struct b2bua *b, struct leg *from, struct leg *to,
	       struct sip_msg *m, bool is_early, struct slice *ctype,
	       struct slice *body)
{
	struct sdp_oa from_oa = from->oa, to_oa = to->oa;
	enum sdp_oa_kind kind = SDP_OA_ANSWER; /* early SDP previews one */
	struct slice text, raw_ct;
	struct sdp s;
	int err;

	*ctype = none;
	*body = none;
	if (m->body.len == 0)
		return 0;
	err = find_sdp(m, &text, &raw_ct);
	if (err == -ENOENT || err == -ENOTSUP) {
		/* INFO, MESSAGE, NOTIFY bodies pass as they are */
		if (m->method == SIP_METHOD_INVITE ||
		    m->method == SIP_METHOD_UPDATE ||
		    m->method == SIP_METHOD_PRACK ||
		    m->method == SIP_METHOD_ACK || !m->is_request)
			return m->is_request ? -ENOTSUP : 0;
		if (!raw_ct.len)
			return -ENOTSUP;
		*ctype = raw_ct;
		*body = m->body;
		return 0;
	}
	if (err)
		return err;
	if (sdp_parse(text, m->arena, &s) != 0)
		return -EBADMSG;
	if (!is_early) {
		/* RFC 3264: each leg's exchange moves on its own */
		err = sdp_oa_recv(&from->oa, &s, &kind);
		if (!err)
			err = sdp_oa_send(&to->oa, &s, kind);
		if (err) {
			from->oa = from_oa;
			to->oa = to_oa;
			return err;
		}
	}
	err = cross(b, from, to, &s, kind, !is_early && kind == SDP_OA_OFFER,
		    m->arena, ctype, body);
	if (err) {
		/* also -EINPROGRESS: the crossing runs again */
		from->oa = from_oa;
		to->oa = to_oa;
		*ctype = none;
		*body = none;
	}
	return err;
}

int sdpx_answer_text(struct b2bua *b, struct leg *from, struct leg *to,
		     struct slice text, struct arena *arena,
		     struct slice *ctype, struct slice *body)
{
	struct sdp_oa to_oa = to->oa;
	struct sdp s;
	int err;

	*ctype = none;
	*body = none;
	if (sdp_parse(text, arena, &s) != 0)
		return -EBADMSG;
	err = sdp_oa_send(&to->oa, &s, SDP_OA_ANSWER);
	if (!err)
		err = cross(b, from, to, &s, SDP_OA_ANSWER, false, arena, ctype,
			    body);
	if (err) {
		to->oa = to_oa;
		*ctype = none;
		*body = none;
	}
	return err;
}

int sdpx_parse(struct sip_msg *m, struct sdp **out)
{
	struct slice text, raw_ct;
	struct sdp *s;
	int err;

	*out = NULL;
	if (m->body.len == 0)
		return 0;
	err = find_sdp(m, &text, &raw_ct);
	if (err)
		return err == -EBADMSG ? err : -ENOTSUP;
	s = arena_alloc(m->arena, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (sdp_parse(text, m->arena, s) != 0)
		return -EBADMSG;
	*out = s;
	return 0;
}

int sdpx_offer(struct b2bua *b, struct leg *to, const struct sdp *s,
	       struct slice *ctype, struct slice *body)
{
	int err;

	*ctype = none;
	*body = none;
	if (!s)
		return 0;
	struct call *c = to->call;

	if (c->ngx) {
		/* rtpengine rewrote the caller's offer once for every B-leg */
		struct sdp *ns = NULL;

		err = c->req ? ngx_offer_sdp(c, c->req->arena, &ns) : -EPROTO;
		if (err)
			return err;
		s = ns;
	}
	err = sdp_oa_send(&to->oa, s, SDP_OA_OFFER);
	if (err)
		return err;
	return emit(b, c->a, to, s, ctype, body);
}
