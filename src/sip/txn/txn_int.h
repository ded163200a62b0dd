/* Private to the transaction layer: the structs and the shared helpers. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_TXN_INT_H
#define SB_SIP_TXN_INT_H

#include <stddef.h>

#include "sip/txn/txn.h"

enum {
	TXN_BUCKETS_INITIAL = 256, /* hash buckets; doubled as txns grow */
	TXN_TAG_CHARS = 16,	   /* random hex chars in a To tag */
	TXN_RETRY_AFTER_S = 5,	   /* Retry-After of the overload 503 */
	TXN_OUT_MAX = SB_MSG_BYTES_CEILING, /* bytes of a message we build */
	TXN_SIP_PORT = 5060,		    /* RFC 3261 18.2.2 default ports */
	TXN_SIPS_PORT = 5061,
	TXN_UDP_MAX_BYTES = 1300, /* RFC 3261 18.1.1: MTU unknown */
	TXN_MTU_MARGIN = 200,	  /* RFC 3261 18.1.1: bytes below the MTU */
	TXN_UDP_ONLY_MAX = 32	  /* peers remembered as refusing TCP */
};

/*
 * What a server transaction keeps once its final is out and it let the
 * request go (RFC 3261 branch only): one exact-size block.
 */
struct txn_kept {
	struct sip_flow flow; /* the request's; t->dst holds the conn */
	char bytes[];	      /* branch, sent-by host, method name, To tag */
};

/*
 * One transaction. Server side: it owns the request (req) until its final
 * response is out (RFC 3261 branch, except a 2xx to INVITE), then only the
 * fields matching needs (kept), and the last response it sent (out).
 * Client side: it owns a copy of the request (data[]) and, for INVITE, the
 * ACK it sends for a non-2xx final.
 */
struct txn {
	struct txn_layer *tl;
	struct txn *hnext; /* hash chain, or the zombie list */
	uint32_t hash;	   /* key: branch, or the RFC 2543 fields */
	enum txn_state state;
	enum sip_method method;	  /* of the request that created it */
	struct slice method_name; /* for SIP_METHOD_UNKNOWN */
	bool is_server;
	void *owner;		 /* the TU's, txn_set_owner() */
	uint8_t owner_kind;	 /* which TU: its own number, 0 = none */
	bool is_reliable;	 /* no retransmissions (17.1.1.2, 17.2.1) */
	bool is_rfc2543;	 /* server: top Via without the magic cookie */
	bool is_linked;		 /* in the hash table */
	bool has_sent_by_port;	 /* server: top Via sent-by has a port */
	uint16_t sent_by_port;	 /* server: that port */
	uint16_t status;	 /* last final/provisional sent or received */
	struct slice branch;	 /* top Via branch, in req, kept or data */
	struct slice sent_by;	 /* server: top Via host, in req or kept */
	struct sip_flow dst;	 /* where we send; counted conn reference */
	struct wheel_timer retx; /* A, E or G */
	struct wheel_timer end;	 /* B, D, F, H, I, J, K, L or M */
	uint32_t retx_ms;	 /* next retransmission interval */
	/* Server side */
	uint32_t out_len;	 /* bytes of out */
	char *out;		 /* last response sent, exact size, owned */
	struct sip_inmsg *req;	 /* adopted request, parsed; NULL once kept */
	struct txn_kept *kept;	 /* what is left of req, owned */
	struct slice via_params; /* ";received=...;rport=..." in req arena */
	struct slice to_tag;	 /* the To tag of our responses, req or kept */
	/* Client side */
	txn_response_cb cb; /* NULL once detached */
	void *arg;
	struct buf ack; /* INVITE: ACK for the non-2xx final */
	struct tp_listener *udp_listener; /* moved to TCP: the caller's */
	uint32_t sends_pending; /* stream sends whose callback is due */
	bool is_cancel_pending; /* INVITE: CANCEL waits for a 1xx */
	bool is_cancelled;	/* INVITE: CANCEL sent or pending */
	bool is_moved_to_tcp;	/* RFC 3261 18.1.1: too large for UDP */
	uint32_t via_tp_off;	/* the top Via's transport token in data */
	uint32_t len;		/* bytes of data */
	char data[];		/* client: the request as sent */
};

struct txn_layer {
	struct txn_layer_opts o;
	txn_send_fn send;
	struct txn_stats stats;
	struct sb_limits limits; /* for parsing our own request copies */
	struct buf build;	 /* responses are built here, then copied */
	struct txn **buckets;
	uint32_t nbuckets;   /* power of two */
	uint32_t linked;     /* txns in the table */
	struct txn *zombies; /* terminated, waiting for send callbacks */
	struct sip_addr udp_only[TXN_UDP_ONLY_MAX]; /* refused TCP (18.1.1) */
	uint32_t udp_only_next; /* ring position in udp_only */
	char server[];		/* copy of o.server */
};

static inline struct txn *txn_of_retx(struct wheel_timer *w)
{
	return (struct txn *)((char *)w - offsetof(struct txn, retx));
}

static inline struct txn *txn_of_end(struct wheel_timer *w)
{
	return (struct txn *)((char *)w - offsetof(struct txn, end));
}

static inline bool txn_has_cookie(struct slice branch)
{
	/* RFC 3261 8.1.1.7: the magic cookie marks an RFC 3261 branch */
	return branch.p && branch.len > 7 &&
	       memcmp(branch.p, "z9hG4bK", 7) == 0;
}

static inline unsigned txn_status_class(unsigned status)
{
	return status >= 100 && status < 700 ? status / 100 : 0;
}

/* layer.c: life cycle, the table, sending, the timer clock */
struct txn *txn_layer_alloc(struct txn_layer *tl, bool is_server,
			    size_t data_len);
/* Hash by branch (case-insensitive) or by the RFC 2543 fields. */
uint32_t txn_layer_key_branch(struct slice branch);
uint32_t txn_layer_key_2543(const struct sip_msg *m);
void txn_layer_link(struct txn *t);
/* Terminated: unlink, stop timers, free (or wait for send callbacks). */
void txn_layer_end(struct txn *t);
/* Free a terminated t whose last send callback came. */
void txn_layer_reap(struct txn *t);
void txn_layer_set_state(struct txn *t, enum txn_state s);
void txn_layer_timer(struct txn *t, struct wheel_timer *w, uint64_t ms);
void txn_layer_stop_timers(struct txn *t);
/* Send bytes on t->dst; with_cb asks for the stream outcome (client). */
int txn_layer_send(struct txn *t, struct slice bytes, bool with_cb);
/* Hand an unmatched message to the TU (or drop it); frees im. */
void txn_layer_stray(struct txn_layer *tl, struct sip_inmsg *im);
/* 16 random hex chars for a To tag into buf (>= TXN_TAG_CHARS). */
struct slice txn_layer_tag(char *buf);

/* server.c: requests in, responses out */
void txn_server_start(struct txn_layer *tl, struct sip_inmsg *im);
void txn_server_absorb(struct txn *t, struct sip_inmsg *im);
void txn_server_ack(struct txn *t, struct sip_inmsg *im);
void txn_server_cancel(struct txn_layer *tl, struct sip_inmsg *im,
		       struct txn *target);

/* client.c: responses in */
/* false: a detached INVITE's 2xx, for the TU's on_stray (im kept) */
bool txn_client_recv(struct txn *t, struct sip_inmsg *im);
void txn_client_on_sent(int err, void *arg);

#endif
