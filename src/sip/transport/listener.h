/* Private to the transports: the listener struct udp.c and tcp.c share. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_TRANSPORT_LISTENER_H
#define SB_SIP_TRANSPORT_LISTENER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/limits.h"
#include "sip/transport/transport.h"
#include "sip/transport/udp.h"

enum {
	TP_LISTENERS_MAX = 64, /* listeners of all transports in the process */
	TP_LISTENER_NAME = 64  /* bytes of "[ipv6]:port" plus NUL */
};

struct udp_reader; /* udp.c */

/*
 * A bound local address of one transport. Process lifetime: made before
 * the workers run, freed after they stop; flows point at it. The UDP part
 * is udp.c's; a TCP or TLS listener only names the address its workers'
 * sockets listen on (tcp.c) and holds the port meanwhile.
 */
struct tp_listener {
	enum sip_transport tp;
	struct sip_addr addr;	     /* bound (the real port if 0 was asked) */
	char name[TP_LISTENER_NAME]; /* bound address as text, for logs */
	char host[TP_HOST_MAX];	     /* advertised or bound host */
	uint16_t port;		     /* advertised or bound port */
	struct worker *const *workers; /* UDP: Call-ID owners */
	unsigned nworkers;
	struct udp_reader *readers; /* UDP: one, or one per worker */
	unsigned nreaders;
	bool is_reuseport;
	char *server; /* UDP: Server header value of the 503 */
	size_t server_len;
	struct sb_limits limits; /* UDP: for parsing what gets a 503 */
	_Atomic uint64_t received, keepalives, handed_off, overflows,
	    send_errors, sent;
	int guard_fd; /* TCP/TLS: bound, never listening: keeps the port
			 from other programs; -1 when none */
};

/*
 * Set name, host and port from l->addr and the advertised host and port
 * (advertise NULL or "" = the bound address, IPv6 bracketed; port 0 = the
 * bound port).
 */
void tp_listener_names(struct tp_listener *l, const char *advertise,
		       uint16_t advertise_port);

/* Enter l in the process's registry (tp_listener_find). Returns 0 or
 * -EINVAL when TP_LISTENERS_MAX are registered. Start-up thread. */
int tp_listener_register(struct tp_listener *l);

/* udp.c: close a UDP listener's sockets and free its readers. */
void tp_udp_listener_close(struct tp_listener *l);

/* tcp.c: a TCP socket bound to a with SO_REUSEADDR and SO_REUSEPORT (and
 * IPV6_V6ONLY), not listening. Returns 0 and the descriptor, or -errno. */
int tp_tcp_socket_bind(const struct sip_addr *a, int *out);

#endif
