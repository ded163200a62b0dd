/* Stream transports: TLS engines, TCP/TLS connections, tables, listeners. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_TRANSPORT_STREAM_H
#define SB_SIP_TRANSPORT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "base/limits.h"
#include "base/slice.h"
#include "sip/transport/transport.h"

/*
 * TLS (tls.c): a context made once from files, and one engine per
 * connection that works on memory buffers only (no sockets), so it can be
 * driven by a libuv stream or by a test. TLS 1.2 and later only.
 */

struct tp_tls_ctx; /* certificate, key, trust: shared read-only by workers */
struct tp_tls;	   /* one connection's TLS state, used by one thread */

enum tp_tls_role { TP_TLS_SERVER, TP_TLS_CLIENT };

enum { TP_TLS_ERR_LEN = 256 }; /* bytes of a TLS error text */

struct tp_tls_ctx_opts {
	const char *cert_file; /* PEM chain, leaf first; needed to serve */
	const char *key_file;  /* PEM private key of the leaf */
	const char *ca_file;   /* PEM CAs that verify peers; NULL = the
				  system's default trust store */
	bool is_client_cert_required; /* server: demand a client certificate
					 and verify it against ca_file */
	bool is_server_verified;      /* client: verify the server's chain and
					 name (or IP address) */
};

/* A context failure: which file and what OpenSSL said. */
struct tp_tls_err {
	char msg[TP_TLS_ERR_LEN];
};

/*
 * Make a context for both roles. Files are read now. Returns 0 and sets
 * *out, or -EINVAL (unreadable or mismatched certificate/key/CA, with
 * err->msg filled) or -ENOMEM. Any thread; the context may then be used by
 * every worker at once.
 */
int tp_tls_ctx_new(const struct tp_tls_ctx_opts *o, struct tp_tls_ctx **out,
		   struct tp_tls_err *err);
/* Free the context. Engines made from it stay valid. Returns NULL. */
struct tp_tls_ctx *tp_tls_ctx_free(struct tp_tls_ctx *c);
/* The context holds a certificate, so it can serve. */
bool tp_tls_ctx_can_serve(const struct tp_tls_ctx *c);

/*
 * A new engine. peer_name (client role, may be NULL) is the server's DNS
 * name, sent as SNI and verified, or an IP literal, verified against the
 * certificate's IP addresses. Returns 0, -EINVAL (server role without a
 * certificate) or -ENOMEM.
 */
int tp_tls_new(struct tp_tls_ctx *c, enum tp_tls_role role,
	       const char *peer_name, struct tp_tls **out);
struct tp_tls *tp_tls_free(struct tp_tls *t);

/* Ciphertext from the peer. Returns 0 or -ENOMEM. */
int tp_tls_feed(struct tp_tls *t, const void *data, size_t len);

/*
 * Drive the handshake, then decrypt: returns plaintext bytes (> 0), 0 when
 * more ciphertext is needed, -ESHUTDOWN when the peer closed the session
 * (close_notify), or -EPROTO when TLS failed (handshake refused, bad
 * record, certificate not accepted; tp_tls_error() says why). A client
 * starts its handshake on the first call. Afterwards, ciphertext may be
 * waiting: see tp_tls_out_pending().
 */
ssize_t tp_tls_read(struct tp_tls *t, void *buf, size_t cap);

/*
 * Encrypt plaintext for the peer. Before the handshake completes, the bytes
 * are held and sent as soon as it does. Returns 0, -EPROTO (failed
 * session) or -ENOMEM.
 */
int tp_tls_write(struct tp_tls *t, const void *data, size_t len);

/* Queue a close_notify (once the handshake completed). Returns 0. */
int tp_tls_shutdown(struct tp_tls *t);

/* Ciphertext waiting to go to the peer, and taking it (up to cap bytes). */
size_t tp_tls_out_pending(const struct tp_tls *t);
size_t tp_tls_out_take(struct tp_tls *t, void *buf, size_t cap);

bool tp_tls_is_established(const struct tp_tls *t);
/* Ciphertext fed but not yet a whole record (a record in progress). */
bool tp_tls_is_partial(const struct tp_tls *t);
/* Plaintext held until the handshake completes. */
size_t tp_tls_held(const struct tp_tls *t);
/* What went wrong last ("" when nothing did). */
const char *tp_tls_error(const struct tp_tls *t);

/*
 * Connections (conn.c, tcp.c). One process-wide tp_stream holds the options
 * and the limits shared by all workers; each worker has a tp_conn_table
 * with its connections and listeners, run by that worker's loop.
 *
 * A tp_conn is owned by the loop that made it and counted: tp_conn_ref() and
 * tp_conn_unref() (transport.h) may be called from any thread; the memory
 * goes when the last reference does, after the loop has closed its handle.
 * Everything else about a connection happens on its owner's loop; other
 * workers send through it with tp_stream_send(), which posts there.
 */

enum tp_conn_state {
	TP_CONN_STATE_CONNECTING,  /* outbound TCP connect in progress */
	TP_CONN_STATE_HANDSHAKING, /* TLS handshake in progress */
	TP_CONN_STATE_OPEN,	   /* carries messages */
	TP_CONN_STATE_CLOSING,	   /* flushing its last bytes; input dropped */
	TP_CONN_STATE_CLOSED	   /* handle closed; only references remain */
};

/* Per-table counters, summed over workers by the runtime. */
struct tp_conn_stats {
	uint64_t accepted;	      /* inbound connections admitted */
	uint64_t connected;	      /* outbound connections opened */
	uint64_t refused_total;	      /* inbound refused: max_conns */
	uint64_t refused_per_ip;      /* inbound refused: max_conns_per_ip */
	uint64_t connect_failed;      /* outbound that did not open */
	uint64_t handshakes;	      /* TLS handshakes completed */
	uint64_t handshake_failed;    /* TLS handshakes refused or broken */
	uint64_t handshakes_deferred; /* TLS steps put off a loop turn */
	uint64_t closed_idle;	      /* idle_timeout_ms */
	uint64_t closed_partial;      /* partial_timeout_ms (slow loris) */
	uint64_t closed_buffer;	      /* max_buffered_bytes in or out */
	uint64_t framing_errors;      /* 400/413 answered, then closed */
	uint64_t messages_in;	      /* complete messages handed on */
	uint64_t messages_out;	      /* messages queued for sending */
	uint64_t pings;		      /* RFC 5626 keep-alive pings answered */
	uint64_t alive;		      /* connections in the table now */
};

struct worker; /* runtime/worker.h */

/* A complete message: ownership of im moves to the callee. */
typedef void (*tp_stream_message_cb)(void *arg, struct sip_inmsg *im);
/* Run fn(arg) on w's loop, 0 or a negative errno: worker_post's type. */
typedef int (*tp_stream_post_fn)(struct worker *w, void (*fn)(void *arg),
				 void *arg);
/* The calling thread's worker, NULL when not one: worker_self's type. */
typedef struct worker *(*tp_stream_self_fn)(void);

struct tp_stream_opts {
	uint32_t max_conns;	   /* open connections, all workers; 0 = any */
	uint32_t max_conns_per_ip; /* inbound from one IP; 0 = any */
	uint32_t idle_timeout_ms;  /* no bytes either way: close; 0 = never */
	uint32_t partial_timeout_ms;   /* a message begun this long ago and not
					  complete: close (slow loris) */
	uint32_t handshake_timeout_ms; /* TCP connect plus TLS handshake */
	uint32_t max_buffered_bytes;   /* per connection, input and output each;
					  raised past max_msg_bytes if below */
	uint32_t handshakes_per_turn;  /* TLS handshake steps per worker loop
					  turn; 0 = no cap */
	struct sb_limits limits;       /* max_msg_bytes, max_header_bytes */
	struct tp_tls_ctx *tls;	       /* TLS listeners/connects; NULL = none.
					  Must outlive the stream. */
	struct slice server;	       /* Server header of 400/413; copied */
	tp_stream_message_cb on_message; /* runs on the connection's worker */
	void *arg;			 /* for on_message */
	tp_stream_self_fn self; /* NULL = worker_self; tests fake workers */
	tp_stream_post_fn post; /* NULL = worker_post; set both or neither */
};

static inline struct tp_stream_opts tp_stream_opts_default(void)
{
	return (struct tp_stream_opts){
	    .max_conns = 16384,
	    .max_conns_per_ip = 64,
	    .idle_timeout_ms = 180000,
	    .partial_timeout_ms = 10000,
	    .handshake_timeout_ms = 10000,
	    .max_buffered_bytes = 262144,
	    .handshakes_per_turn = 32,
	    .limits = sb_limits_default(),
	};
}

struct tp_stream;     /* process-wide: options, limits, all tables */
struct tp_conn_table; /* one worker's connections and listeners */

/*
 * Make the process's stream transport (one at a time: tp_send() finds it).
 * Returns 0 and sets *out, or -EINVAL (on_message missing, only one of
 * self/post set, a stream already exists) or -ENOMEM. Start-up thread,
 * before the workers run.
 */
int tp_stream_new(const struct tp_stream_opts *o, struct tp_stream **out);
/* After every table is freed. Returns NULL. */
struct tp_stream *tp_stream_free(struct tp_stream *s);
/* Connections open over all workers. Any thread. */
uint32_t tp_stream_conns(const struct tp_stream *s);

enum { TP_STREAM_TABLES_MAX = 256 }; /* tables (workers) per stream */

/*
 * A worker's table, made on that worker's thread (worker_opts.on_start)
 * before it handles traffic; worker is what opts.self returns there (NULL
 * for a loop that is not a worker). Returns 0 and sets *out, or -EINVAL
 * (more than TP_STREAM_TABLES_MAX) or -ENOMEM.
 */
int tp_conn_table_new(struct tp_stream *s, uv_loop_t *loop,
		      struct worker *worker, struct tp_conn_table **out);
/*
 * Close every listener and connection (a TLS close_notify is written,
 * nothing waits for it). Owner thread, e.g. from worker_opts.on_stop. The
 * handles finish closing while the loop runs on; after that
 * tp_conn_table_is_closed() is true. Sends posted to the worker from then
 * on fail with -ENOTCONN.
 */
void tp_conn_table_stop(struct tp_conn_table *t);
bool tp_conn_table_is_closed(const struct tp_conn_table *t);
/*
 * Free a closed table, after its worker is joined and freed (worker_free()
 * runs jobs still queued, and send jobs refer to the table). Returns NULL.
 */
struct tp_conn_table *tp_conn_table_free(struct tp_conn_table *t);
const struct tp_conn_stats *tp_conn_table_stats(const struct tp_conn_table *t);

/* A TCP or TLS listener on a table's loop (tcp.c). */
struct tp_tcp_listen_opts {
	enum sip_transport tp;	      /* SIP_TP_TCP or SIP_TP_TLS */
	struct sip_addr addr;	      /* bind address; port 0 picks one */
	struct tp_listener *listener; /* put in flows; may be NULL */
	bool is_reuseport;	      /* SO_REUSEPORT: one per worker */
	int backlog;		      /* 0 = 511 */
};

/*
 * Bind and listen; connections accepted are owned by t's worker. bound
 * (may be NULL) gets the bound address. Owner thread. Returns 0, -EINVAL
 * (TLS without a context that can serve), or the socket's error
 * (-EADDRINUSE ...).
 */
int tp_tcp_listen(struct tp_conn_table *t, const struct tp_tcp_listen_opts *o,
		  struct sip_addr *bound);

/* A TCP or TLS listener: its address and what goes in Via/Contact. */
struct tp_stream_listener_opts {
	enum sip_transport tp;	 /* SIP_TP_TCP or SIP_TP_TLS */
	struct sip_addr bind;	 /* address and port; port 0 picks one */
	const char *advertise;	 /* host for Via/Contact; NULL or "" = the
				    bound address (IPv6 bracketed) */
	uint16_t advertise_port; /* 0 = the bound port */
};

/*
 * Make a TCP or TLS listener (listener.c) for flows, Via and Contact, and
 * bind its address now on the calling thread with SO_REUSEPORT, not
 * listening: a port another program holds fails start-up (-EADDRINUSE
 * ...), port 0 becomes a real port, and the port stays ours until
 * tp_listener_free(). Each worker then listens with tp_tcp_listen(), .addr
 * = *tp_listener_addr(l), .listener = l, .is_reuseport = true, so the
 * kernel spreads connections over the workers. Returns 0 and sets *out,
 * -EINVAL (not TCP/TLS, not IPv4/IPv6, too many listeners), -ENOMEM or the
 * socket's error. Start-up thread; freed with tp_listener_free() after the
 * workers stopped.
 */
int tp_stream_listener_new(const struct tp_stream_listener_opts *o,
			   struct tp_listener **out);

struct tp_tcp_connect_opts {
	enum sip_transport tp; /* SIP_TP_TCP or SIP_TP_TLS */
	struct sip_addr remote;
	struct tp_listener *listener; /* put in flows; may be NULL */
	const char *server_name;      /* TLS: SNI and the name verified;
					 NULL = verify the IP address */
};

/*
 * Open a connection from t's worker (owner thread). Bytes sent before it
 * opens are queued. Returns 0 and sets *out to a new reference (the
 * connection is also in the table), or -EINVAL, -EMFILE (max_conns),
 * -ENOMEM or the socket's error.
 */
int tp_tcp_connect(struct tp_conn_table *t, const struct tp_tcp_connect_opts *o,
		   struct tp_conn **out);

/*
 * Send on a stream flow: tp_send() for TCP and TLS (udp.c dispatches here).
 * From any thread. Uses f->conn when it is set and not closing, else an
 * open connection to f->remote with f->tp from any worker's table, else a
 * new one from the calling worker (or the first table when the caller is
 * not a worker). The bytes are copied. Returns 0 and later calls cb (may be
 * NULL) exactly once on the calling worker with the outcome; or returns
 * -ENOTCONN (connection closed), -ENOBUFS (max_buffered_bytes queued),
 * -EMSGSIZE, -ENOMEM or the post error, and cb is not called.
 */
int tp_stream_send(const struct sip_flow *f, const char *data, size_t len,
		   tp_send_cb cb, void *arg);

/* Accessors; the state may change under a caller not on the owner. */
enum tp_conn_state tp_conn_state(const struct tp_conn *c);
enum sip_transport tp_conn_transport(const struct tp_conn *c);
const struct sip_addr *tp_conn_remote(const struct tp_conn *c);
/* Close a connection (owner thread): queued bytes are flushed first. */
void tp_conn_close(struct tp_conn *c);

/*
 * A connection without a socket or table, for tests of the layers above
 * (a flow that names a stream connection): counted like any other
 * (tp_conn_unref frees it), always TP_CONN_STATE_CLOSED, so a send on it
 * looks for another connection. Returns 0 or -ENOMEM. Any thread.
 */
int tp_conn_stub_new(enum sip_transport tp, const struct sip_addr *remote,
		     struct tp_conn **out);

#endif
