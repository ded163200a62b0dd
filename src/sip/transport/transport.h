/* SIP transports: where a message came from, where it goes, and sending. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_TRANSPORT_TRANSPORT_H
#define SB_SIP_TRANSPORT_TRANSPORT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/arena.h"
#include "base/slice.h"
#include "sip/msg/msg.h"

enum sip_transport { SIP_TP_UDP, SIP_TP_TCP, SIP_TP_TLS, SIP_TP__COUNT };

/* A socket address of either family. */
struct sip_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	};
	socklen_t len; /* bytes used; 0 = unset */
};

struct tp_listener; /* a bound local socket: transport, address, advertised */
struct tp_conn;	    /* a stream connection, owned by one worker, counted */

/*
 * A flow: the path a message arrived on or leaves by. Stored copies hold a
 * counted reference to conn (tp_flow_copy / tp_flow_clear).
 */
struct sip_flow {
	enum sip_transport tp;
	struct sip_addr remote;	      /* peer address and port */
	struct tp_listener *listener; /* local socket (process lifetime) */
	struct tp_conn *conn;	      /* stream transports; NULL for UDP */
	bool is_udp_only;	      /* UDP peer known not to take TCP: a large
					 request is not moved (RFC 3261 18.1.1) */
};

/*
 * A received message and everything it needs until it is handled: the
 * bytes, the flow, and the arena its parse lives in. The reader allocates
 * it; ownership moves with it to the owner worker, and a server transaction
 * may adopt it for its whole life (so the request stays parsed).
 */
struct sip_inmsg {
	struct sip_inmsg *next; /* queue link, owner's use */
	struct sip_flow flow;	/* counted conn reference */
	uint64_t recv_ms;	/* monotonic receive time */
	uint32_t hash;		/* hash of the Call-ID: picks the worker */
	struct arena arena;	/* the parse's memory */
	struct sip_msg msg;	/* valid after a successful parse */
	uint32_t len;		/* bytes in data */
	char data[];		/* the message, modified in place by parse */
};

/* Allocate an inbound message of len bytes (data uninitialised). */
struct sip_inmsg *sip_inmsg_new(size_t len);
/* Free it: closes the arena, drops the conn reference. NULL-safe. */
struct sip_inmsg *sip_inmsg_free(struct sip_inmsg *im);

/*
 * Count a stream connection; atomic, any thread (an inbound message may be
 * freed on another worker than the connection's). unref returns NULL.
 */
struct tp_conn *tp_conn_ref(struct tp_conn *c);
struct tp_conn *tp_conn_unref(struct tp_conn *c);

/* Copy a flow, taking a conn reference; clear drops it. */
void tp_flow_copy(struct sip_flow *dst, const struct sip_flow *src);
void tp_flow_clear(struct sip_flow *f);

/*
 * Completion of an asynchronous send: err is 0 or a negative errno
 * (-ECONNREFUSED, -ETIMEDOUT, -EPIPE, -EMSGSIZE ...). Runs on the worker
 * that called tp_send(), never before tp_send() returns.
 */
typedef void (*tp_send_cb)(int err, void *arg);

/*
 * Send one message on a flow, from any worker thread. UDP goes out
 * immediately on the listener's socket (the error, if any, is returned).
 * Stream transports use flow->conn if set and open, else a connection to
 * flow->remote found in the connection table, else a new one; the bytes are
 * copied, so data may be freed on return. cb (may be NULL) reports the
 * outcome of a stream send. Returns 0 or a negative errno.
 */
int tp_send(const struct sip_flow *f, const char *data, size_t len,
	    tp_send_cb cb, void *arg);

/* The listener's transport, bound address and what to put in Via/Contact
 * (the advertised address when configured, else the bound one). */
enum sip_transport tp_listener_transport(const struct tp_listener *l);
const struct sip_addr *tp_listener_addr(const struct tp_listener *l);
struct slice tp_listener_host(const struct tp_listener *l); /* "[::1]" */
uint16_t tp_listener_port(const struct tp_listener *l);
/* "127.0.0.1:5060", "[::1]:5060": the bound address, for logs. */
const char *tp_listener_name(const struct tp_listener *l);

/*
 * A listener of transport tp for addresses of family (AF_INET, AF_INET6):
 * for flows that name none, e.g. a request moved from UDP to TCP. NULL when
 * there is none. Any thread, once listeners are made (start-up).
 */
struct tp_listener *tp_listener_find(enum sip_transport tp, int family);

/*
 * Close a listener of any transport and free it, after the workers have
 * stopped (udp.h, stream.h make them). Returns NULL. NULL-safe.
 */
struct tp_listener *tp_listener_free(struct tp_listener *l);

/* "UDP", "TCP", "TLS" as in a Via; and the reverse, case-insensitive. */
struct slice sip_transport_name(enum sip_transport tp);
int sip_transport_from(struct slice name, enum sip_transport *out);
bool sip_transport_is_reliable(enum sip_transport tp);

/* "192.0.2.1" / "2001:db8::1" (no brackets) into buf; returns buf. */
const char *sip_addr_ip(const struct sip_addr *a, char *buf, size_t cap);
uint16_t sip_addr_port(const struct sip_addr *a);
/* "192.0.2.1:5060" / "[2001:db8::1]:5060" into out; returns out. */
const char *sip_addr_text(const struct sip_addr *a, char *out, size_t cap);
bool sip_addr_eq(const struct sip_addr *a, const struct sip_addr *b);
/* An IP literal host ("192.0.2.1", "[2001:db8::1]", "::1") with port into
 * out: 0, or -EINVAL for a name or anything else. */
int sip_addr_from_host(struct slice host, uint16_t port, struct sip_addr *out);
/* The same IP address, ports aside; an unspecified b matches nothing. */
bool sip_addr_ip_eq(const struct sip_addr *a, const struct sockaddr *b);

#endif
