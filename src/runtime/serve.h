/* The minimal receive loop: UDP listeners feeding the local service. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_RUNTIME_SERVE_H
#define SB_RUNTIME_SERVE_H

#include "runtime/config.h"

/*
 * Create the data directory if missing, bind one UDP socket per `udp:`
 * listener of cfg, and answer requests on one libuv loop until SIGTERM or
 * SIGINT. Each datagram is parsed into its own arena and handed to the
 * local service; replies go back to the source address (RFC 3581 style).
 * Takes its own reference to cfg and drops it before returning. Returns 0
 * after a signal, or a negative errno when start-up fails (already logged).
 * Call from the main thread; it installs the signal handlers.
 */
int serve_run(struct config *cfg);

#endif
