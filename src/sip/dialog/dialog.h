/* SIP dialogs (RFC 3261 section 12): the state one UA keeps per dialog. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_DIALOG_DIALOG_H
#define SB_SIP_DIALOG_DIALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"
#include "sip/msg/build.h"
#include "sip/msg/msg.h"

/*
 * One dialog as seen by one side (a B2BUA leg): identifiers, sequence
 * numbers, the remote target and the route set. The strings live in one
 * heap block owned by the dialog (re-packed when the remote target or the
 * route set changes), so a dialog costs one allocation. A dialog knows no
 * transactions and no sockets; its owner sends what it builds.
 *
 * Matching requests to dialogs is the owner's job (key: Call-ID and local
 * tag, the To tag of a request we receive); dialog_table below does it.
 */

enum dialog_state {
	DIALOG_INIT,	  /* UAC: INVITE sent, no response with a To tag */
	DIALOG_EARLY,	  /* a provisional with a To tag (12.1) */
	DIALOG_CONFIRMED, /* a 2xx */
	DIALOG_TERMINATED
};

enum {
	DIALOG_TAG_MAX = 64,	  /* bytes of a tag we accept from a peer */
	DIALOG_TEXT_MAX = 8192,	  /* bytes of all strings of one dialog */
	DIALOG_ROUTES_MAX = 16	  /* route set entries */
};

struct dialog {
	struct dialog *hnext; /* dialog_table chain */
	enum dialog_state state;
	struct slice call_id;
	struct slice local_tag, remote_tag; /* remote: empty until known */
	struct slice local_uri;	 /* name-addr for our side (From of our
				    requests), without tag */
	struct slice remote_uri; /* name-addr of the peer (To of our
				    requests), without tag */
	struct slice remote_target; /* the peer's Contact URI (no <>) */
	struct slice route_set; /* "Route: <a>\r\nRoute: <b>\r\n" in the order
				   to send, or empty */
	struct slice first_route; /* URI of the first route (no <>), or empty */
	uint32_t local_cseq;	  /* last CSeq we used */
	uint32_t remote_cseq;	  /* last CSeq received (valid if has_) */
	bool has_remote_cseq;
	bool is_secure;		 /* sips (12.1.1) */
	bool is_strict_first;	 /* first route lacks ;lr (12.2.1.1) */
	char *text;		 /* the strings */
	uint32_t text_len, text_cap;
};

/*
 * UAS side (12.1.1): a dialog from a received dialog-creating request
 * (INVITE, SUBSCRIBE, REFER) answered with local_tag. Route set: the
 * request's Record-Route values in order; remote target: its Contact;
 * remote CSeq: its CSeq; local URI: its To, remote URI: its From (display
 * names and URI parameters kept, header params dropped). State EARLY.
 * local_cseq starts at a random value below 2^30 (we have sent nothing).
 * Returns 0, -EINVAL (empty local_tag), -EBADMSG (no Contact, a malformed
 * Contact or Record-Route, a From without tag), -E2BIG (over
 * DIALOG_TEXT_MAX, a tag over DIALOG_TAG_MAX, too many routes) or -ENOMEM.
 */
int dialog_uas_new(struct dialog *d, struct sip_msg *req,
		   struct slice local_tag);

/*
 * UAC side, before the request is sent: our identifiers and the first
 * target. local_uri / remote_uri are name-addrs without tags (From / To
 * of the request), target the Request-URI (a SIP or SIPS URI), routes raw
 * Route header lines we send with it (may be empty; kept, one line per
 * value, as the route set until a response with a To tag sets it from its
 * Record-Route, empty when it has none: 12.1.2), cseq the request's.
 * State INIT. Returns 0, -EINVAL (a missing field, a bad target or route
 * line), -E2BIG or -ENOMEM.
 */
int dialog_uac_new(struct dialog *d, struct slice call_id,
		   struct slice local_tag, struct slice local_uri,
		   struct slice remote_uri, struct slice target,
		   struct slice routes, uint32_t cseq);

/*
 * UAC side (12.1.2): a response to our dialog-creating request. A 1xx
 * (not 100) or 2xx with a To tag sets the remote tag, the route set (its
 * Record-Route values reversed) and the remote target (its Contact): state
 * EARLY, or CONFIRMED for a 2xx. While EARLY, a later provisional or the
 * 2xx may update target and route set (13.2.2.4); once CONFIRMED the
 * route set stays. A response with another To tag than the one held
 * returns -EEXIST and changes nothing (a forked branch: the caller may
 * make a second dialog from it with dialog_uac_fork). Responses without a
 * To tag or 100 change nothing (0). -EBADMSG (a 2xx without Contact),
 * -E2BIG, -ENOMEM.
 */
int dialog_uac_response(struct dialog *d, struct sip_msg *resp);

/* A copy of the UAC dialog d for the forked response resp (another To
 * tag), as dialog_uac_response would make it. Same errors, and -EINVAL
 * when resp cannot make a dialog (no To tag, 100, >= 300) or has d's tag. */
int dialog_uac_fork(struct dialog *dst, const struct dialog *d,
		    struct sip_msg *resp);

/*
 * A request received in the dialog (12.2.2): a CSeq lower than or equal to
 * the last one (when one was received) returns -ERANGE (answer 500, except
 * ACK and CANCEL which carry the INVITE's CSeq and are always taken);
 * otherwise the remote CSeq is remembered. A target refresh (INVITE,
 * UPDATE, SUBSCRIBE, NOTIFY, REFER) with a Contact updates the remote
 * target. Returns 0, -ERANGE, -EBADMSG (a bad Contact), -E2BIG, -ENOMEM.
 */
int dialog_request_in(struct dialog *d, struct sip_msg *req);

/* A 2xx to our target-refresh request (re-INVITE, UPDATE): its Contact
 * becomes the remote target. 0 when it has none. */
int dialog_refresh_response(struct dialog *d, struct sip_msg *resp);

/*
 * Fill o's dialog fields for a request in the dialog (12.2.1.1): method,
 * Request-URI (remote target; the first route for a strict first route,
 * the remote target then going last in the route lines), From (local URI
 * + tag), To (remote URI + remote tag when known), Call-ID, CSeq, routes.
 * A new CSeq is taken (++local_cseq) unless method is ACK or CANCEL, which
 * reuse cseq_of (the INVITE's). route_buf (route_cap bytes) holds the
 * route lines of a strict first route. Via, Contact, Max-Forwards, body
 * and extra are the caller's. Returns 0, -EINVAL (terminated or no remote
 * tag for a request other than CANCEL/ACK of the initial INVITE), -E2BIG.
 */
int dialog_request_opts(struct dialog *d, enum sip_method method,
			uint32_t cseq_of, struct sip_request_opts *o,
			char *route_buf, size_t route_cap);

/* The URI a request in the dialog goes to: the first route, else the
 * remote target (parsed into u, pointing into d->text; valid until d
 * changes). Returns 0 or -EBADMSG. */
int dialog_next_hop(const struct dialog *d, struct sip_uri *u);

/* Free the strings; d may be reused after a new init. NULL-safe. */
void dialog_free(struct dialog *d);

/*
 * A worker's dialogs by (Call-ID, local tag): an intrusive hash table
 * (d->hnext), growing by doubling. No locks: one owner thread.
 */
struct dialog_table {
	struct dialog **buckets;
	uint32_t nbuckets, count;
};

int dialog_table_init(struct dialog_table *t);
void dialog_table_fini(struct dialog_table *t); /* does not free dialogs */
/* d's call_id and local_tag must be set; -ENOMEM when it cannot grow
 * (then d is still added, the table stays at its size). */
int dialog_table_add(struct dialog_table *t, struct dialog *d);
void dialog_table_del(struct dialog_table *t, struct dialog *d);
struct dialog *dialog_table_find(const struct dialog_table *t,
				 struct slice call_id, struct slice local_tag);

#endif
