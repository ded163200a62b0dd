/* rtpgen: private state of the SIP setup mode (sip.c, sip_uac.c, sip_uas.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef RTPGEN_SIP_INT_H
#define RTPGEN_SIP_INT_H

#include <arpa/inet.h>

#include "rtpgen.h"
#include "sipmsg.h"

/*
 * The caller (UAC, endpoint A) sends INVITE sip:rtpgen@<uas> to the B2BUA,
 * which forwards it to the callee (UAS, endpoint B) as a new dialog. The
 * callee finds the call by the From user (rtpgen-<index>), which a B2BUA
 * keeps. Only UDP, no authentication, no Record-Route on the caller's
 * side (a B2BUA does not add one); enough of RFC 3261 17 that loss and
 * reordering do not hang a call: Timer A and E retransmissions, the 2xx
 * resent until the ACK, ACK resent for a retransmitted 2xx.
 */
enum uac_state {
	UAC_IDLE,
	UAC_CALLING,	/* INVITE sent, nothing back: Timer A */
	UAC_PROCEEDING, /* a 1xx came */
	UAC_CONFIRMED,	/* 2xx came and was ACKed */
	UAC_BYE_SENT,	/* Timer E */
	UAC_DONE,
};

enum uas_state {
	UAS_IDLE,
	UAS_ANSWERED,  /* 200 sent, resent until the ACK */
	UAS_CONFIRMED, /* ACK came */
	UAS_ENDED,     /* BYE came, or no ACK */
};

enum {
	T1_MS = 500,
	T2_MS = 4000,
	MSG_CAP = 2048,
	SDP_CAP = 512,
	HDR_CAP = 320,
	URI_CAP = 160,
	CALLID_CAP = 160,
	NO_CALL = UINT32_MAX,
};

struct sip_call {
	enum uac_state uac;
	enum uas_state uas;
	bool is_bye_ok;
	char *req; /* INVITE or BYE, kept for retransmission */
	size_t req_len;
	struct sockaddr_in req_dst;
	char *ack; /* the ACK of the 2xx, resent for a retransmitted 2xx */
	size_t ack_len;
	int64_t retx_ns; /* 0: no retransmission pending */
	int retx_ms;
	int64_t deadline_ns;
	char to[HDR_CAP];     /* the callee side's To, with its tag */
	char target[URI_CAP]; /* the 2xx's Contact */
	struct sockaddr_in target_addr;
	char *resp; /* the callee's 200, resent until the ACK */
	size_t resp_len;
	struct sockaddr_in resp_dst;
	int64_t uas_retx_ns;
	int uas_retx_ms;
	int64_t uas_deadline_ns;
	int64_t bye_wait_ns;	 /* until then the callee waits for a BYE */
	char callid[CALLID_CAP]; /* the callee's Call-ID (the B-leg's) */
};

struct rg_sip {
	struct rg_io io[2]; /* by side: A (UAC) and B (UAS) */
	struct sockaddr_in addr[2];
	char ip[INET_ADDRSTRLEN];
	char runid[16];
	struct sip_call *calls;
	uint32_t *index; /* callee Call-ID -> call + 1: open addressing */
	uint32_t index_mask;
	uint64_t retransmits, stray, malformed, callee_no_bye;
};

/* sip.c: shared by both sides */
void sip_copy_str(char *dst, size_t cap, struct rg_str s);
char *sip_dup_out(const struct rg_out *o);
void sip_send(struct rg_sip *s, enum rg_side side, const char *msg, size_t len,
	      const struct sockaddr_in *dst);
uint32_t sip_caller_call_of(const struct rg *rg, const struct rg_sip *s,
			    struct rg_str callid);
int sip_build_in_dialog(struct rg_out *o, const struct rg_sip *s, uint32_t idx,
			const char *method, char kind, const char *ruri,
			const char *to, unsigned cseq);
void sip_print_caller_ids(struct rg_out *o, const struct rg_sip *s, char kind,
			  uint32_t idx);
int sip_build_response(struct rg_out *o, const struct rg_sip *s,
		       const struct rg_sip_msg *m, enum rg_side side,
		       uint32_t idx, int status, const char *reason,
		       const struct rg_endpoint *sdp_of);
void sip_respond(struct rg_sip *s, const struct rg_sip_msg *m,
		 enum rg_side side, uint32_t idx, const struct sockaddr_in *dst,
		 int status, const char *reason,
		 const struct rg_endpoint *sdp_of);
void sip_maybe_up(struct rg *rg, struct rg_call *c, struct sip_call *sc);
void sip_check_down(struct rg *rg, struct rg_sip *s, struct rg_call *c,
		    struct sip_call *sc, int64_t now);

/* sip_uac.c: the caller */
void sip_uac_on_response(struct rg *rg, struct rg_sip *s,
			 const struct rg_sip_msg *m);
void sip_uac_tick(struct rg *rg, struct rg_sip *s, struct rg_call *c,
		  struct sip_call *sc, int64_t now);

/* sip_uas.c: the callee */
uint32_t sip_uas_find(const struct rg_sip *s, struct rg_str callid);
void sip_uas_on_invite(struct rg *rg, struct rg_sip *s,
		       const struct rg_sip_msg *m,
		       const struct sockaddr_in *src);
void sip_uas_on_ack(struct rg *rg, struct rg_call *c, struct sip_call *sc);
void sip_uas_tick(struct rg *rg, struct rg_sip *s, struct rg_call *c,
		  struct sip_call *sc, int64_t now);

#endif
