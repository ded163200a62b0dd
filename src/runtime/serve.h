/* The runtime: workers, listeners, control socket, signals, drain, reload. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_RUNTIME_SERVE_H
#define SB_RUNTIME_SERVE_H

#include "runtime/config.h"

/*
 * Run switchboard until it is told to stop. Creates the data directory if
 * missing, opens the store there (<data_dir>/switchboard.db) and loads the
 * subscribers, makes the shared auth context, ban list and registrar,
 * starts the workers (config `workers`, one per core by default), binds
 * every `udp:`, `tcp:` and `tls:` listener (TLS with the configured or the
 * development certificate), restores the persisted bindings, opens the
 * control socket, and serves: each datagram, and each message framed on a
 * TCP/TLS connection, goes to the worker owning its Call-ID, is parsed
 * there, screened for bans and handed to that worker's transaction layer,
 * whose user is the dispatcher (services/dispatch: REGISTER to digest auth
 * and the registrar, the rest to the local service). Worker 0 runs the
 * registrar's expiry and keep-alives. Every worker accepts TCP/TLS
 * connections (SO_REUSEPORT) and owns those it accepted; answers go back
 * on the connection a request came on. Users changed by `switchboard user`
 * are read again when the control socket or the store says so.
 *
 * SIGTERM and SIGINT drain: new requests are answered 503, transactions
 * waiting for an answer get up to drain_timeout_ms, then everything stops
 * (a second signal stops at once). SIGHUP, like `ctl reload`, loads the
 * file again and swaps the snapshot in for new transactions.
 *
 * Takes its own reference to cfg and drops it before returning. Returns 0
 * after a signal, or a negative errno when start-up fails (already
 * logged). Call from the main thread; it installs the signal handlers.
 */
int serve_run(struct config *cfg);

#endif
