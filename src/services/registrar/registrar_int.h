/* Private to the registrar: its struct and what its files share. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_REGISTRAR_REGISTRAR_INT_H
#define SB_SERVICES_REGISTRAR_REGISTRAR_INT_H

#include <stdatomic.h>

#include "services/registrar/registrar.h"

struct reg_ping; /* an OPTIONS keep-alive in flight */

struct registrar {
	struct registrar_opts o; /* read-only after registrar_new */
	struct location *loc;
	/* Housekeeping: touched by the registrar_start() worker only. */
	struct txn_layer *tl;
	struct wheel *wheel;
	struct wheel_timer tick; /* every REG_TICK_MS */
	uint64_t ticks;		 /* ticks run */
	struct reg_ping *pings;	 /* OPTIONS in flight */
	/* Counters, relaxed atomics */
	_Atomic uint64_t accepted, rejected, restored, pings_sent, pings_failed,
	    pings_in_flight;
};

enum {
	REG_TICK_MS = 1000 /* housekeeping period */
};

static inline void reg_count(_Atomic uint64_t *c, int64_t delta)
{
	atomic_fetch_add_explicit(c, (uint64_t)delta, memory_order_relaxed);
}

/* An IP literal ("192.0.2.1", "[2001:db8::1]") as an address, port 0. */
int reg_host_addr(struct slice host, struct sip_addr *out);
void reg_now(const struct registrar *r, struct location_time *now);
/* Ping this tick's share of the NAT'd bindings. Housekeeping worker. */
void reg_keepalive_run(struct registrar *r, const struct location_time *now);
/* Forget the pings in flight (their transactions are the layer's). */
void reg_keepalive_stop(struct registrar *r);

#endif
