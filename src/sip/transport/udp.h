/* UDP listeners: sockets, batched readers handing off by Call-ID, sending. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_TRANSPORT_UDP_H
#define SB_SIP_TRANSPORT_UDP_H

/*
 * This header is what the runtime needs to bring UDP listeners up and down;
 * transport.h stays the contract for everything that only sends and reads
 * flows (tp_send is implemented in udp.c; the tp_listener_* accessors of
 * every transport in listener.c).
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"
#include "runtime/worker.h"
#include "sip/transport/transport.h"

enum {
	TP_UDP_BATCH = 32,	 /* datagrams per recvmmsg(2) */
	TP_UDP_RCVBUF = 4 << 20, /* SO_RCVBUF asked for; kernel caps */
	TP_UDP_PAUSE_US_DEFAULT = 200, /* reader pause under load */
	TP_HOST_MAX = 258	 /* bytes of an advertised host + NUL */
};

struct tp_udp_opts {
	struct sip_addr bind;	 /* address and port to bind */
	const char *advertise;	 /* host for Via/Contact; NULL or "" =
				    the bound address (IPv6 bracketed) */
	uint16_t advertise_port; /* 0 = the bound port */
	bool is_reuseport;	 /* one SO_REUSEPORT socket per worker,
				    else one socket read by `reader` */
	struct worker *const
	    *workers;	     /* Call-ID owners, outlive the listener */
	unsigned nworkers;   /* >= 1 */
	unsigned reader;     /* index of the reading worker */
	struct slice server; /* Server header of the 503 (copied) */
};

/* Counters of one listener, summed over its sockets; any thread. */
struct tp_udp_stats {
	uint64_t received;    /* datagrams read */
	uint64_t keepalives;  /* CRLF keep-alives dropped */
	uint64_t handed_off;  /* queued to another worker than the reader */
	uint64_t overflows;   /* refused by a full queue, answered 503 */
	uint64_t send_errors; /* sendto failures */
	uint64_t sent;	      /* datagrams sent */
};

/*
 * Create a listener and bind its socket(s) now, on the calling thread, so
 * that a taken port fails start-up (-EADDRINUSE ...). Nothing is read
 * until tp_udp_listener_start(). Returns 0 and sets *out, or a negative
 * errno. Call before the workers handle traffic; the listener lives until
 * tp_listener_free() after the workers have stopped.
 */
int tp_udp_listener_new(const struct tp_udp_opts *o, struct tp_listener **out);

/* Start reading: posts the readers to their workers. Returns 0 or -ENOMEM. */
int tp_udp_listener_start(struct tp_listener *l);

/*
 * Stop reading and wait until each reader's poll handle is closed on its
 * worker, so no datagram is handed to a worker after this returns. Sending
 * keeps working until tp_listener_free(). Not from a worker thread.
 */
void tp_udp_listener_stop(struct tp_listener *l);

/*
 * Send what the calling worker queued: tp_send() on a worker thread
 * batches UDP datagrams until the end of the loop turn (the worker calls
 * this before its loop blocks), then one sendmmsg(2) writes them; from any
 * other thread it sends at once. Errors of batched sends are counted
 * (send_errors), not returned.
 */
void tp_udp_flush(void);

void tp_udp_listener_stats(const struct tp_listener *l,
			   struct tp_udp_stats *out);

/*
 * Find the Call-ID of a datagram without parsing it: the first header line
 * named "Call-ID" or "i" (any case, whitespace before the colon, folded
 * value) up to the empty line. Returns 0 and the value, -ENOENT when there
 * is none, -EBADMSG when it is empty.
 */
int tp_udp_callid_scan(const char *p, size_t len, struct slice *out);

/* Which of n workers owns a datagram: hash of its Call-ID, 0 if none. */
uint32_t tp_udp_callid_hash(const char *p, size_t len);

/*
 * The ";received=IP;rport=PORT" a response to m, received on flow f, adds
 * to its top Via (RFC 3261 18.2.1, RFC 3581), written into buf. Returns
 * the slice, empty when nothing is due.
 */
struct slice tp_via_params(const struct sip_msg *m, const struct sip_flow *f,
			   char *buf, size_t cap);

/*
 * Readers under load pause this many microseconds between reads, so each
 * wake-up reads a batch (0: never pause). Any thread; the next read uses
 * it.
 */
void tp_udp_set_pause_us(uint32_t us);

/* True for a CRLF keep-alive or padding: whitespace and NUL only. */
bool tp_is_keepalive(const char *p, size_t len);

/*
 * OPTIONS requests are answered without a transaction (config
 * local.options_stateless): the reader keeps them instead of handing them
 * to their Call-ID's owner. Any thread; takes effect on the next batch.
 */
void tp_udp_set_stateless_options(bool on);

#endif
