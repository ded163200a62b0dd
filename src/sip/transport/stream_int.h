/* Private to the stream transports: connection, table, and shared helpers. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_TRANSPORT_STREAM_INT_H
#define SB_SIP_TRANSPORT_STREAM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "sip/transport/frame.h"
#include "sip/transport/stream.h"

enum {
	STREAM_READ_CHUNK = 65536, /* bytes offered to one read */
	STREAM_CLOSING_MS = 2000,  /* linger of a closing connection */
	STREAM_SWEEP_MIN_MS = 10,  /* timeout sweep period bounds */
	STREAM_SWEEP_MAX_MS = 1000,
	STREAM_BACKLOG = 511,	  /* listen(2) default */
	STREAM_ARENA_FIRST = 8192 /* bytes: parse for a 400/413 reply */
};

/*
 * One send: the bytes to write and whom to tell. Before a connection opens
 * (or while it crosses to its owner) the bytes are plaintext; written to a
 * TLS connection, a new one carries the ciphertext.
 */
struct tp_send_req {
	uv_write_t req;		  /* libuv's; data = this */
	struct tp_send_req *next; /* pending queue link */
	struct tp_stream *stream;
	struct tp_conn_table *table; /* on the way: the target worker's */
	tp_send_cb cb;		     /* may be NULL */
	void *arg;
	struct worker *caller; /* where cb runs; NULL = this loop */
	/* Set on the way to the owner (cross-worker or no connection yet). */
	struct tp_conn *conn; /* counted; NULL = look up or connect */
	enum sip_transport tp;
	struct sip_addr remote;
	struct tp_listener *listener;
	int err;    /* outcome, for the caller's worker */
	size_t len; /* bytes of data */
	char data[];
};

struct tp_conn {
	atomic_uint refs;	     /* the table's reference plus holders' */
	_Atomic int state;	     /* enum tp_conn_state; owner writes */
	struct tp_conn_table *table; /* owner; fixed */
	enum sip_transport tp;
	bool is_inbound;
	bool is_ip_counted; /* holds a per-IP slot */
	bool is_counted;    /* holds a max_conns slot */
	bool is_reading;
	bool is_deferred; /* waits for a handshake slot */
	bool is_shut;	  /* uv_shutdown sent */
	bool is_linked;	  /* in the table's hash and list */
	struct sip_addr remote;
	struct tp_listener *listener; /* for flows; process lifetime */
	char *server_name; /* outbound TLS: SNI; sb_malloc, or NULL */
	uv_tcp_t tcp;	   /* data = this */
	uv_connect_t connect_req;
	uv_shutdown_t shutdown_req;
	struct tp_frame frame;	     /* input and framing */
	struct tp_tls *tls;	     /* TLS only */
	struct tp_send_req *pending; /* queued until open */
	struct tp_send_req **pending_tail;
	size_t out_bytes;	     /* queued + in flight to the socket */
	uint32_t writes;	     /* uv_write requests in flight */
	uint64_t created_ms;	     /* loop clock */
	uint64_t active_ms;	     /* last byte in or out */
	uint64_t partial_ms;	     /* a message began; 0 = none pending */
	uint64_t closing_ms;	     /* entered CLOSING */
	int close_err;		     /* why it closes: for pending sends */
	struct tp_conn *hnext;	     /* table hash chain; lock: table->lock */
	struct tp_conn *prev, *next; /* table list; lock: table->lock */
	struct tp_conn *defer_next;  /* handshake queue; owner only */
};

struct tp_tcp_srv; /* a listening socket (tcp.c) */

struct tp_conn_table {
	struct tp_stream *stream;
	const struct tp_stream_opts *opts; /* the stream's, fixed */
	uv_loop_t *loop;
	struct worker *worker;	    /* opts.self() on the owner thread */
	unsigned slot;		    /* index in the stream's registry */
	pthread_mutex_t lock;	    /* hash and list, for lookups from
				       other workers; the owner writes */
	struct tp_conn **buckets;   /* lock: lock */
	uint32_t nbuckets;	    /* power of two */
	struct tp_conn *conns;	    /* all connections; lock: lock */
	struct tp_tcp_srv *servers; /* listeners; owner only */
	uv_timer_t sweep;	    /* timeouts */
	uv_prepare_t prepare;	    /* resets the handshake budget */
	uv_idle_t idle;		    /* keeps turns going while deferred */
	uint32_t sweep_ms;
	uint32_t handles;	  /* libuv handles not yet closed */
	uint32_t hs_turn;	  /* TLS handshake steps this turn */
	struct tp_conn *deferred; /* waiting for a handshake slot */
	struct tp_conn **deferred_tail;
	struct tp_send_req *done; /* failed sends to report next turn */
	struct tp_send_req **done_tail;
	atomic_bool is_stopping;	 /* read by senders on any thread */
	struct tp_conn_stats stats;	 /* owner only */
	char scratch[STREAM_READ_CHUNK]; /* TLS ciphertext, closing reads */
};

/* conn.c: the object, the table, limits, closing, completions */

/* A connection on t, not yet admitted (one reference: the table's). */
int tp_conn_new(struct tp_conn_table *t, enum sip_transport tp, bool is_inbound,
		struct tp_conn **out);
/*
 * Take the limits' slots for remote (max_conns; per IP when inbound) and
 * enter the table. Returns 0, -EMFILE (max_conns) or -EMLINK (per IP).
 */
int tp_conn_admit(struct tp_conn *c, const struct sip_addr *remote);
/* Close at once: pending sends fail with err, writes are cancelled. */
void tp_conn_close_now(struct tp_conn *c, int err);
/* Flush what is queued, then close; further reads are discarded. */
void tp_conn_close_graceful(struct tp_conn *c, int err);
/*
 * The handshake may take a step now (true), or the connection is queued
 * for the next loop turn with its reads stopped (false).
 */
bool tp_conn_handshake_slot(struct tp_conn *c);
/* Queue sends that waited for the connection to open. */
void tp_conn_opened(struct tp_conn *c);
/* A send request for len bytes of data (not copied in). */
struct tp_send_req *tp_conn_req_new(struct tp_stream *s, size_t len);
/* Drop a request that will not be reported (its conn reference too). */
void tp_conn_req_free(struct tp_send_req *r);
/* Report r's outcome on its caller's worker (now, if it is this one) and
 * free it. */
void tp_conn_req_done(struct tp_send_req *r, int err);
/* Report r's failure on a later loop turn (never inside tp_send) and free
 * it. */
void tp_conn_req_fail_later(struct tp_conn_table *t, struct tp_send_req *r,
			    int err);
const struct tp_stream_opts *tp_conn_opts(const struct tp_conn *c);
struct slice tp_conn_server(const struct tp_conn *c);

/* tcp.c: socket I/O, TLS, framing */

/* Connected or accepted: start TLS or open, and read. */
void tp_tcp_start(struct tp_conn *c);
/* Write one message on an open connection; r is taken. */
void tp_tcp_write(struct tp_conn *c, struct tp_send_req *r);
/* Protocol bytes without a callback (pong, error reply), through TLS. */
void tp_tcp_write_raw(struct tp_conn *c, const char *data, size_t len);
/* Send the ciphertext the TLS engine has waiting. */
void tp_tcp_flush_tls(struct tp_conn *c);
/* A deferred handshake's turn came: process what was fed, read again. */
void tp_tcp_resume(struct tp_conn *c);
/* Half-close once the last write is done (graceful close). */
void tp_tcp_shutdown(struct tp_conn *c);
/* Close a table's listeners. */
void tp_tcp_srv_close_all(struct tp_conn_table *t);

#endif
