/* Private to the B2BUA: the call, its legs and in-dialog relays. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_B2BUA_INT_H
#define SB_SERVICES_B2BUA_INT_H

#include "base/buf.h"
#include "media/media.h"
#include "runtime/config.h"
#include "sdp/anchor.h"
#include "sdp/oa.h"
#include "services/b2bua/b2bua.h"
#include "sip/dialog/dialog.h"

struct config_route;

enum {
	B2BUA_TXN_OWNER = 2,	 /* txn_set_owner() kind */
	B2BUA_LEGS_MAX = 16,	 /* B-legs of one call (forking) */
	B2BUA_RELAYS_MAX = 16,	 /* in-dialog requests of one call at once */
	B2BUA_TAG_LEN = 16,	 /* our tags: hex digits */
	B2BUA_CALLID_LEN = 24,	 /* our Call-IDs: hex digits */
	B2BUA_OUT_MAX = 65536,	 /* bytes of a message we build */
	B2BUA_HDRS_MAX = 8192,	 /* bytes of headers copied across */
	B2BUA_CONTACT_MAX = 320, /* bytes of our Contact value */
	B2BUA_ROUTES_MAX = 2048	 /* bytes of Route lines we build */
};

/* RFC-free vocabulary of a call's life, for logs, the API and CDRs. */
enum call_state {
	CALL_CALLING,	  /* INVITE taken, B-legs starting */
	CALL_PROCEEDING,  /* a B-leg answered 1xx (not 180/183) */
	CALL_RINGING,	  /* 180 */
	CALL_EARLY_MEDIA, /* 18x with SDP */
	CALL_ANSWERED,
	CALL_HELD, /* answered, one side put the other on hold */
	CALL_TRANSFERRING,
	CALL_TERMINATED
};

enum call_cause {
	CAUSE_NONE,
	CAUSE_NORMAL,
	CAUSE_BUSY,
	CAUSE_NO_ANSWER,
	CAUSE_REJECTED,
	CAUSE_CANCELLED,
	CAUSE_TIMEOUT,
	CAUSE_MEDIA_TIMEOUT,
	CAUSE_NO_CODEC, /* no common codec (488) */
	CAUSE_ERROR
};

struct call;

/* One side of a call: a dialog and where its messages go. */
struct leg {
	struct dialog dlg; /* first: a table entry is a leg */
	struct call *call;
	bool is_a;	       /* the caller's side (we are its UAS) */
	uint8_t mside;	       /* MEDIA_A (the caller's side) or MEDIA_B;
				  a transfer's new leg takes the side of
				  the leg it replaces */
	bool is_in_table;      /* dlg in the worker's dialog table */
	bool is_done;	       /* B: failed, cancelled or ended */
	bool is_cancelled;     /* B: CANCEL sent */
	bool has_flow;	       /* messages go to flow */
	bool is_flow_fallback; /* flow only when the next hop is a name */
	struct sip_flow flow;  /* A: the INVITE's source; B: a registered flow
				  or where the INVITE went (counted) */
	struct sdp_leg sdp;
	struct sdp_oa oa;
	int family_hint; /* B: where its INVITE goes, before it has a flow */
	struct sip_addr hint_addr; /* B: that address */
	/* B: the initial INVITE until its final response */
	struct txn *invite_ct;
	struct resolve_req *dns;
	struct resolve_target *targets; /* RFC 3263 order (owned) */
	uint8_t ntargets, next_target;
	uint16_t status;     /* B: final status of the INVITE */
	struct slice reason; /* B: its reason phrase (in text), or empty */
	char *text;	     /* B: initial target (hop text) */
	struct sip_uri hop;  /* B: where the INVITE goes (into text) */
	/* An INVITE of ours on this leg whose 2xx needs our ACK. */
	uint32_t ack_cseq; /* CSeq of that INVITE, 0 = none pending */
	char *ack;	   /* the ACK sent for it, resent on 2xx retransmits */
	uint32_t ack_len;
	/* A 2xx of ours to an INVITE on this leg waiting for the peer's ACK */
	struct txn *st_2xx;
	uint32_t st_2xx_cseq;
	struct wheel_timer t2xx; /* RFC 6026 7.1 retransmission */
	uint32_t t2xx_interval, t2xx_elapsed;
	struct sip_reply_opts r2xx; /* its slices point into r2xx_text */
	char *r2xx_text;
	/* glare (RFC 3261 14.1): offers in progress on this leg */
	bool has_invite_out; /* our re-INVITE/UPDATE on this leg pending */
	bool has_invite_in;  /* a re-INVITE received on this leg unanswered */
	bool is_holding;     /* this side's last offer put the other on hold */
	/* session timer (RFC 4028) of this leg */
	uint32_t se_s;		 /* negotiated interval; 0 = none */
	bool is_refresher;	 /* we refresh; else the peer must */
	bool has_timer;		 /* the peer supports timer */
	bool allows_update;	 /* the peer allows UPDATE (RFC 3311) */
	struct wheel_timer se_t; /* refresh due, or expiry */
	struct txn *refresh_ct;	 /* our refresh in progress */
	char *last_sdp;		 /* the last SDP we sent on this leg */
	uint32_t last_sdp_len;
	/* refer.c */
	struct leg *other;   /* bridged to (answer, transfers); NULL: see
				leg_peer() */
	bool is_detached;    /* transferred away: its BYE ends only itself */
	struct refer *refer; /* the transfer this leg is the new leg of */
	struct refer *xfer;  /* the transfer this leg asked for */
	/* prack.c */
	struct prack_uas *uas; /* A: the caller requires 100rel; else NULL */
	bool has_rel_answer;   /* A: our answer went in a reliable 1xx;
				  B: the callee's came in one */
	bool has_rseq;	       /* B: a reliable 1xx came, rseq is its RSeq */
	uint32_t rseq;	       /* B: the callee's last RSeq PRACKed */
	char *rel_sdp;	       /* B: the SDP of that answer (owned) */
	uint32_t rel_sdp_len;
};

/* An in-dialog request received on one leg, sent on the other. */
struct relay {
	struct relay *next;
	struct call *call;
	struct leg *from, *to;
	struct txn *st; /* from's server transaction (NULL once answered) */
	struct txn *ct; /* to's client transaction (NULL once final) */
	enum sip_method method;
	bool is_offer; /* the request carried an SDP offer */
};

struct call {
	struct call *next, *prev; /* the B2BUA's calls */
	struct b2bua *b;
	const struct config *cfg;	  /* snapshot at the INVITE */
	const struct config_route *route; /* NULL: the default */
	enum call_state state;
	enum call_cause cause;
	struct leg *a; /* the caller */
	struct leg *b_legs[B2BUA_LEGS_MAX];
	uint32_t nb;
	struct leg *peer;	  /* the B-leg that answered, or NULL */
	struct txn *st;		  /* the A INVITE until its final */
	struct sip_msg *req;	  /* txn_request(st) until its final */
	struct relay *relays;	  /* in-dialog requests in progress */
	struct sdp *offer;	  /* the INVITE's SDP (req's arena), or NULL */
	struct wheel_timer ring;  /* ring timeout */
	struct wheel_timer limit; /* maximum duration */
	struct wheel_timer reap;  /* deferred free */
	uint32_t max_forwards;	  /* for the B-legs: received - 1 */
	uint16_t a_status;	  /* final sent to the caller */
	uint16_t best_status;	  /* best B-leg final so far */
	char best_reason[64];
	char *best_extra; /* its headers for the caller, or NULL */
	int64_t start_ms, ring_ms, answer_ms, end_ms; /* unix ms */
	const char *hangup_by;			      /* static */
	uint32_t transfers;			      /* REFERs completed */
	struct refer *refers; /* transfers in progress */
	struct refer *xfer;   /* while invite_xfer_leg() starts a leg */
	struct slice xfer_from, xfer_to;
	char *info; /* CDR strings */
	/* anchor.c */
	struct config_media_policy media; /* resolved at the INVITE */
	struct sdp_codec_policy codecs;
	struct media_session *ms;    /* anchored: the relay's session */
	struct ngx *ngx;	     /* rtpengine's: see ngx.c */
	char *rec_path;		     /* recording, or NULL */
	struct media_summary rtp[2]; /* at the end, from each side */
	char codec[32];		     /* first audio codec last negotiated */
	uint32_t dtmf_events;
	bool is_final;		       /* the A INVITE got its final */
	bool is_ended;		       /* terminated, waiting to be freed */
	char id[B2BUA_CALLID_LEN + 1]; /* the call's name in logs */
};

struct b2bua {
	struct b2bua_deps deps;
	struct sdp_fmt_sel sel[SDP_MEDIA_MAX]; /* codec choices being printed */
	struct txn_layer *tl;
	const struct config *cfg;
	struct dialog_table dialogs;
	struct call *calls;
	struct buf out;	 /* a message being built */
	struct buf body; /* an SDP being printed */
	struct buf hdrs; /* headers copied across */
	struct buf ng;	 /* an rtpengine request being built */
	struct b2bua_stats stats;
};

/* call.c */
void call_set_state(struct call *c, enum call_state s);
/* End the call: BYE (or CANCEL) what is up on each side but spare (the
 * leg whose BYE ends it, or NULL), answer the caller when unanswered,
 * write the CDR, free once nothing is pending. by: "caller", "callee",
 * "system". */
void call_end(struct call *c, enum call_cause cause, const char *by,
	      struct leg *spare);
/* Free c when it has ended and no B-leg INVITE is pending. */
void call_maybe_free(struct call *c);
/* Free every call, nothing sent (shutdown). */
void call_free_all(struct b2bua *b);
/* The A INVITE's final (non-2xx): answer the caller and end the call. */
void call_fail(struct call *c, uint16_t status, struct slice reason,
	       enum call_cause cause);
enum call_cause call_cause_of(uint16_t status);
const char *call_state_name(enum call_state s);
const char *call_cause_name(enum call_cause c);
int64_t call_now_ms(void);

/* leg.c */
struct leg *leg_new(struct call *c, bool is_a);
void leg_free(struct leg *l);
struct leg *leg_peer(const struct leg *l);
/* Random hex of n digits into out (n + 1 bytes with the NUL). */
void b2bua_hex(char *out, size_t n);
/* A Call-ID of ours that hashes to this worker, into out. */
void b2bua_call_id(const struct b2bua *b, char out[B2BUA_CALLID_LEN + 1]);
/* The flow a request on l goes to (its flow, else the dialog's next hop
 * when numeric). False when there is none. */
bool leg_dst(struct leg *l, struct sip_flow *out);
/* Our Contact value for a message leaving by listener li. */
struct slice leg_contact(const struct tp_listener *li, char *out, size_t cap);
/* Print request o (dialog fields, extra and body set) leaving by dst into
 * b->out, with our Via, Contact and User-Agent. Returns 0 or an error. */
int leg_print(struct leg *l, struct sip_request_opts *o,
	      const struct sip_flow *dst);
/* Send a request on l: a client transaction (cb) or, for ACK, as is. */
int leg_request(struct leg *l, enum sip_method method, uint32_t cseq_of,
		struct slice extra, struct slice ctype, struct slice body,
		txn_response_cb cb, void *arg, struct txn **out);
/* BYE on l, nobody waiting for the answer. */
void leg_bye(struct leg *l);
/* Our 2xx on server transaction t (an INVITE on l): send it and keep
 * resending until the ACK (RFC 6026 7.1). */
int leg_reply_2xx(struct leg *l, struct txn *t, const struct sip_reply_opts *o);
/* The ACK for the 2xx on l came (or the wait ended): stop resending. */
void leg_2xx_acked(struct leg *l);
/* Send the ACK for our INVITE cseq on l (body may be empty), keep it for
 * 2xx retransmissions. */
int leg_ack(struct leg *l, uint32_t cseq, struct slice ctype,
	    struct slice body);

/* sdpx.c: bodies across legs */
/*
 * The body of m printed for leaving on leg `to` into b->body: an SDP gets
 * to's o= line and moves to's offer/answer state (kind as received on
 * the other leg: from's state moved with sdp_oa_recv). *ctype and *body
 * are set (unset when m has none). Returns 0, -EBADMSG (an SDP that does
 * not parse: 400), -EBUSY (glare: 491), -EPROTO (an answer not matching:
 * 488), -ENOTSUP (a body type we cannot relay: 415), -EINPROGRESS
 * (rtpengine relays the call: ngx_defer() the message, nothing moved),
 * -EHOSTUNREACH (rtpengine did not answer: 503).
 */
int sdpx_relay(struct b2bua *b, struct leg *from, struct leg *to,
	       struct sip_msg *m, bool is_early, struct slice *ctype,
	       struct slice *body);

/* The answer text (an SDP from leg from, kept) sent on leg to: as
 * sdpx_relay for an answer. */
int sdpx_answer_text(struct b2bua *b, struct leg *from, struct leg *to,
		     struct slice text, struct arena *arena,
		     struct slice *ctype, struct slice *body);

/* The SDP of m parsed into m's arena (*out NULL: no body). -EBADMSG,
 * -ENOTSUP (a body that is not SDP). */
int sdpx_parse(struct sip_msg *m, struct sdp **out);
/* Offer s on leg to (its o= line) into b->body. */
int sdpx_offer(struct b2bua *b, struct leg *to, const struct sdp *s,
	       struct slice *ctype, struct slice *body);

/* anchor.c: the call's media (codec policy, the relay) */
/* The call's media policy from its route; a relay session when it is
 * anchored. 0 or -ENOMEM. */
int anchor_start(struct call *c);
/*
 * SDP s from leg from, to be printed for leg to: the codec policy into
 * c->b->sel, and when anchored, what from's endpoint said goes to the
 * relay and rw gets our address and ports facing to. Returns 0, or
 * -ENOENT when no codec is left (488).
 */
int anchor_sdp(struct call *c, struct leg *from, struct leg *to,
	       const struct sdp *s, struct sdp_rewrite *rw);
void anchor_answered(struct call *c);
/* The address family of l's endpoint (its flow's, else where its INVITE
 * goes). */
int anchor_family(const struct leg *l);
void anchor_hold(struct call *c, bool is_held);
/* The call ended: statistics kept for the CDR, the relay let go. */
void anchor_end(struct call *c);
/* An INFO on l carrying a digit while dtmf: info: sent as RFC 4733 to
 * the other side and answered (true); false: relay it as usual. */
bool anchor_info(struct leg *l, struct txn *t, struct sip_msg *req);
/* Start (or stop) recording an anchored call, the file's path into path
 * (may be NULL): 0, -ENOTSUP (not anchored), -EALREADY, or recording
 * errors. */
int anchor_record(struct call *c, bool is_on, char *path, size_t cap);
struct store_cdr;
void anchor_cdr(const struct call *c, struct store_cdr *r);

/* ngx.c: media relayed by rtpengine (media.mode: rtpengine) */
/*
 * rtpengine rewrites each SDP that crosses, but answers later: the message
 * carrying it waits in the call's queue (in order; one ng request of a
 * call is out at a time) and its site runs again when the reply came. A
 * site is written so that what it does before its SDP call (sdpx_relay,
 * ngx_cross) can be done again: on -EINPROGRESS it calls ngx_defer() and
 * returns; run again, the same call gets rtpengine's SDP.
 */
struct xwait;
typedef void (*xwait_fn)(struct xwait *w);
struct xwait {
	struct xwait *next;
	struct call *c;
	xwait_fn resume;      /* run the site again */
	xwait_fn drop;	      /* the call ended first (may be NULL) */
	struct leg *l;	      /* the site's leg */
	void *ptr;	      /* the site's object (a relay, a transfer) */
	struct txn *t;	      /* a server transaction that waits, or NULL */
	struct sip_inmsg *im; /* the message (a copy), or NULL: t's request */
	bool is_cancelled;    /* its INVITE was CANCELled: not run again */
};
/* The call's rtpengine state when its policy says rtpengine: 0, -ENOMEM. */
int ngx_start(struct call *c);
/* The call ends: its waiting messages are dropped (their drop runs). */
void ngx_drop_waits(struct call *c);
/* The call ended: waits dropped, the call deleted on rtpengine. */
void ngx_end(struct call *c);
/*
 * SDP s from leg from, as kind (an early answer is an answer), toward a
 * leg of family to_family: rtpengine's SDP parsed into arena (*out), 0.
 * -EINPROGRESS: asked (or queued behind another message): the caller
 * defers. -EHOSTUNREACH (no rtpengine answered), -EPROTO (it refused),
 * -EBADMSG (its SDP does not parse).
 */
int ngx_cross(struct call *c, const struct leg *from, int to_family,
	      const struct sdp *s, enum sdp_oa_kind kind, struct arena *arena,
	      struct sdp *out);
/*
 * Queue the site's message m (copied; with t, t's request is used
 * instead) to run resume again once rtpengine answered. A message that
 * is running again (the call's current one) stays where it is. 0,
 * -EAGAIN (the call has too many waiting) or -ENOMEM: nothing queued,
 * the site fails as on an error.
 */
int ngx_defer(struct call *c, xwait_fn resume, xwait_fn drop, struct leg *l,
	      void *ptr, struct txn *t, struct sip_msg *m);
/* The message of w. */
struct sip_msg *xwait_msg(struct xwait *w);
/* A CANCEL for INVITE t waiting here: t answered with o (487), the
 * wait forgotten (true); false: t is not waiting here. */
bool ngx_cancel(struct txn *t, const struct sip_reply_opts *o);
/* The A-leg's offer as rtpengine rewrote it (for every B-leg), NULL:
 * none. Parsed into arena. */
int ngx_offer_sdp(struct call *c, struct arena *arena, struct sdp **out);
/* Keep s (rtpengine's rewrite of the caller's first offer) for the
 * B-legs: 0 or -ENOMEM. */
int ngx_keep_offer(struct call *c, const struct sdp *s);
/* Ask rtpengine to start or stop recording the call: 0, -EAGAIN (it has
 * no call yet), or a request error. */
int ngx_record(struct call *c, bool is_on);

/* hdrs.c: what is copied across */
/*
 * Header lines of m to send on the other leg into b->hdrs (reset first):
 * the whitelist (b2bua.copy_headers) minus the route's removals, the
 * route's replacements and additions (initial INVITE only: add), and
 * User-Agent / Server when they are not hidden. Returns the lines.
 */
struct slice hdrs_copy(struct b2bua *b, const struct call *c, struct sip_msg *m,
		       bool is_initial);
/* The From and To name-addrs of the B-leg INVITE for A's request m after
 * the route's identity rules and privacy, into out (two slices). */
int hdrs_identity(const struct call *c, struct sip_msg *m, char *from,
		  size_t from_cap, char *to, size_t to_cap, struct slice *f,
		  struct slice *t);

/* invite.c */
void invite_start(struct b2bua *b, struct txn *t, struct sip_msg *req);
/* The responses to a B-leg INVITE (the client transaction's callback). */
void invite_b_response(void *arg, struct txn *t, int err, struct sip_inmsg *im);

/* bleg.c: where a call goes and the B-leg INVITEs */
/* What every message we send advertises (RFC 3261 20.5). */
extern const char b2bua_allow[];
/* A B-leg toward target (the Request-URI), sent to hop (a URI) or
 * through flow (a registered one, may be NULL), path its first routes. */
void bleg_start(struct call *c, struct slice target, struct slice path,
		struct slice hop, const struct sip_flow *flow);
/* Every live binding of a user of ours, a B-leg each (RFC 3261 16.5);
 * false when it answered the caller (404, 480). */
bool bleg_location(struct call *c, const struct sip_uri *ru);
/* Send l's INVITE to its flow or next resolved target; false when none
 * is left. */
bool bleg_send(struct leg *l);
/* l failed with status (resp: the response, may be NULL): the best final
 * so far is kept; the caller hears it once every B-leg is done. */
void bleg_failed(struct leg *l, uint16_t status, struct slice reason,
		 struct sip_msg *resp);
void invite_cancel(struct call *c);
/* A 2xx (retransmission or forked) on B-leg l with no transaction. */
void invite_stray_2xx(struct leg *l, struct sip_inmsg *im);

/* timer.c: session timers (RFC 4028), each leg on its own */
/* The caller's INVITE asks for less than our Min-SE: 422 (true: answered). */
bool st_invite_check(const struct config *cfg, struct txn *t,
		     struct sip_msg *req);
/* The A-leg 2xx to INVITE req: the leg's timer decided and started, the
 * lines for the 2xx appended to out. */
void st_a_answer(struct leg *a, struct sip_msg *req, struct buf *out);
/* Lines of a B-leg INVITE (Supported, Session-Expires, Min-SE). */
void st_b_offer(const struct call *c, struct buf *out);
/* A 2xx to our INVITE or UPDATE on l: the leg's timer as it says. */
void st_b_answer(struct leg *l, struct sip_msg *resp);
/* A session refresh (INVITE or UPDATE) succeeded on l: start again. */
void st_refreshed(struct leg *l);
/* Lines for a request or 2xx leaving on l while its timer runs. */
void st_lines(const struct leg *l, bool is_response, struct buf *out);
void st_stop(struct leg *l);
/* Keep body as the last SDP sent on l (for refreshes). */
void st_keep_sdp(struct leg *l, struct slice body);

/* invite.c, for transfers: a new leg toward ruri (the first binding of
 * a user of ours, or a foreign target as proxy.foreign_domains says) with
 * identity from/to, belonging to transfer r. 0, or the status that says
 * why none was started. */
int invite_xfer_leg(struct call *c, struct refer *r, const struct sip_uri *ruri,
		    struct slice from, struct slice to);
/* The same toward a known target: Request-URI target, sent to hop (a
 * URI) or through flow (when not NULL). */
int invite_xfer_leg_to(struct call *c, struct refer *r, struct slice target,
		       struct slice hop, const struct sip_flow *flow,
		       struct slice from, struct slice to);

/* refer.c: transfers (RFC 3515, RFC 3891) */
/* A REFER received on l (refer: handle). */
void refer_request(struct leg *l, struct txn *t, struct sip_msg *req);
/* Extra lines of the new leg's INVITE (Replaces). */
void refer_lines(const struct leg *z, struct buf *out);
/* The new leg's progress, answer or failure. */
void refer_leg_progress(struct leg *z, struct sip_msg *resp);
void refer_leg_answered(struct leg *z, struct sip_msg *resp);
void refer_leg_failed(struct leg *z, uint16_t status, struct slice reason);
/* The media side of the leg transfer r replaces. */
uint8_t refer_side(const struct refer *r);
/* The call ends: forget its transfers. */
void refer_drop_all(struct call *c);

/* prack.c: reliable provisional responses (RFC 3262), per leg */
struct prack_uas;
/* The caller's INVITE req on server transaction t: when it requires
 * 100rel, a's 1xx become reliable. */
void prack_a_start(struct leg *a, struct txn *t, struct sip_msg *req);
/* A 1xx to the caller: reliable when it requires 100rel (Require, RSeq,
 * retransmitted until PRACKed; one waits behind an unacknowledged one),
 * else sent as it is. */
void prack_a_send(struct call *c, const struct sip_reply_opts *o);
/* The caller's 2xx, as leg_reply_2xx: held until the PRACK when an
 * unacknowledged reliable 1xx carries SDP (RFC 3262 3). */
int prack_a_reply_2xx(struct leg *a, struct txn *t,
		      const struct sip_reply_opts *o);
/* A PRACK received on l: 200 for our unacknowledged 1xx, else 481. */
void prack_request(struct leg *l, struct txn *t, struct sip_msg *req);
/* Lines of a B-leg INVITE (Supported: 100rel when it carries an offer). */
void prack_b_offer(const struct call *c, struct buf *out);
/* A 1xx (not 100) on B-leg l after dialog_uac_response: a reliable one
 * is PRACKed and its SDP taken as the answer. False: a retransmission
 * or one out of order, to drop (RFC 3262 4). */
bool prack_b_provisional(struct leg *l, struct sip_msg *resp);
/* The A-leg 2xx body for B-leg l's 2xx resp (sdpx_relay's errors), when
 * an answer went in a reliable 1xx on either leg. */
int prack_2xx_body(struct leg *l, struct sip_msg *resp, struct slice *ctype,
		   struct slice *body);
/* Stop retransmitting, free what l keeps for reliability. */
void prack_stop(struct leg *l);

/* relay.c */
/* The leg a request from l goes to: the answered peer, or in an early
 * dialog (RFC 3311 UPDATE) the one B-leg; NULL when none. */
struct leg *relay_target(struct leg *l);
void relay_request(struct leg *l, struct txn *t, struct sip_msg *req);
void relay_ack(struct leg *l, struct sip_msg *ack);
/* A CANCEL for a relayed re-INVITE t; false: t is not a relay's. */
bool relay_cancel(struct txn *t);
/* Forget the call's relays: answer what is unanswered with code. */
void relay_drop_all(struct call *c, uint16_t code);

#endif
