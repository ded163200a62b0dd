/* Offer/answer (RFC 3264) on one leg, and the leg's own o= line. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SDP_OA_H
#define SB_SDP_OA_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "sdp/sdp.h"

/*
 * Where one leg's offer/answer exchange stands. A B2BUA runs one per leg:
 * an SDP received on one leg is the same kind (offer or answer) when it is
 * sent on the other, so each leg's state moves on its own.
 */
enum sdp_oa_state {
	SDP_OA_IDLE,	    /* no exchange pending (none yet, or complete) */
	SDP_OA_LOCAL_OFFER, /* we sent an offer, the answer is due */
	SDP_OA_REMOTE_OFFER /* we received an offer, we owe the answer */
};

/* What an SDP body on this leg is, given the state. */
enum sdp_oa_kind { SDP_OA_OFFER, SDP_OA_ANSWER };

/*
 * Zero-initialised storage is a valid IDLE state. The offer's media types
 * are kept as small codes (audio, video, text, application, message,
 * image, other; oa.c), so an answer m-line of another type is refused;
 * two types neither of which is known compare equal.
 */
struct sdp_oa {
	enum sdp_oa_state state;
	uint8_t offer_media;		   /* m-lines of the pending offer */
	uint8_t offer_type[SDP_MEDIA_MAX]; /* their media type codes */
	bool has_completed; /* one exchange completed (an early one counts) */
};

/*
 * An SDP received on the leg. In IDLE it is an offer (-> REMOTE_OFFER);
 * in LOCAL_OFFER it is the answer (-> IDLE), which must have as many
 * m-lines as the offer, each of the same media type (RFC 3264 6: else
 * -EPROTO); in REMOTE_OFFER a second offer is a protocol error: -EBUSY
 * (answer 491 for re-INVITE and UPDATE, RFC 3261 14.2, RFC 3311 5.2; 500
 * otherwise). *kind is set on success. s is the parsed body. On any error
 * the state is unchanged.
 */
int sdp_oa_recv(struct sdp_oa *oa, const struct sdp *s, enum sdp_oa_kind *kind);

/*
 * An SDP we send on the leg, of the kind the other leg's sdp_oa_recv
 * said: an offer in IDLE (-> LOCAL_OFFER), -EBUSY in LOCAL_OFFER (glare:
 * our own offer is pending) or REMOTE_OFFER (answer first); an answer in
 * REMOTE_OFFER (-> IDLE, -EPROTO when its m-line count or a media type
 * differs from the offer's), -EPROTO otherwise. A kind outside the enum is
 * -EINVAL. On any error the state is unchanged.
 */
int sdp_oa_send(struct sdp_oa *oa, const struct sdp *s, enum sdp_oa_kind kind);

/* A pending exchange ended without an answer (the transaction failed:
 * RFC 3261 14.1, the state goes back to IDLE). has_completed is kept. */
void sdp_oa_reset(struct sdp_oa *oa);

/*
 * The leg's own session identity (RFC 4566 5.2, RFC 3264 8): the same o=
 * user, session id and address for every SDP sent on the leg; the version
 * goes up by one whenever the description differs from the last one sent
 * (o= aside), and stays for a repeat of the same one (RFC 3264 8).
 */
struct sdp_leg {
	uint64_t sess_id;
	uint64_t version;   /* of the last o= sent; the first SDP sent has 1 */
	uint64_t last_hash; /* of the last printed body without o= */
	bool has_sent;
	char addr[48]; /* our address for o=, no brackets */
	bool is_ip6;
};

/* addr: the address switchboard shows this leg (IPv4, or IPv6 with or
 * without brackets; IPv6 when it holds a ':'), at most 47 bytes without
 * the brackets, longer is a caller bug (asserted, else cut); sess_id:
 * random, non-zero, below 2^62. */
void sdp_leg_init(struct sdp_leg *l, struct slice addr, uint64_t sess_id);

/*
 * Print s for sending on leg l, into out (appended): every line as parsed,
 * o= replaced by the leg's (user "-", the leg's id, version and address),
 * the version bumped as above. Returns 0 or a buf error (out unchanged).
 */
int sdp_leg_print(struct sdp_leg *l, const struct sdp *s, struct buf *out);

#endif
