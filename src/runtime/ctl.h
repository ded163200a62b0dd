/* The control channel: a unix socket, one JSON request per line. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_RUNTIME_CTL_H
#define SB_RUNTIME_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

/*
 * Protocol: the client writes one JSON object per line, {"cmd": "stats"},
 * and reads one JSON object per line back. Replies carry "ok": true, or
 * "ok": false with "error". Requests on one connection are answered in
 * order. Everything here runs on the loop given to ctl_new().
 */

enum {
	CTL_LINE_MAX = 65536,	    /* bytes of one request line */
	CTL_REPLY_MAX = 64 << 20,   /* client side: bytes of a reply line
				       (`bindings` lists every contact) */
	CTL_CONNS_MAX = 64,	    /* connections at once */
	CTL_REPLY_TIMEOUT_MS = 5000 /* client side: wait for a reply */
};

struct ctl;	/* the listening socket and its connections */
struct ctl_req; /* one request waiting for its reply */

/*
 * A request arrived: cmd is its "cmd" string, args the whole object
 * (borrowed for the call). The handler answers with ctl_reply(), now or
 * later, exactly once.
 */
typedef void (*ctl_command_cb)(void *ctx, struct ctl_req *req, const char *cmd,
			       json_t *args);

/*
 * Listen on the unix socket at path (a stale socket file is replaced; the
 * file is made mode 0600). Returns 0 and sets *out, or a negative errno
 * (-EADDRINUSE when another server answers there, -ENAMETOOLONG ...).
 */
int ctl_new(uv_loop_t *loop, const char *path, ctl_command_cb cb, void *ctx,
	    struct ctl **out);

/*
 * Send reply (a JSON object; its reference is taken) for req and free req.
 * When the client went away meanwhile, the reply is dropped.
 */
void ctl_reply(struct ctl_req *req, json_t *reply);
/* ctl_reply() with {"ok": false, "error": msg}. */
void ctl_reply_error(struct ctl_req *req, const char *msg);

/*
 * Close the socket and every connection, remove the socket file; memory
 * goes once the handles are closed (run the loop). Requests still waiting
 * may be answered; their replies are dropped. Returns NULL.
 */
struct ctl *ctl_close(struct ctl *c);

/*
 * Client side: connect to path, send {"cmd": cmd}, wait for one reply line
 * (up to CTL_REPLY_TIMEOUT_MS) and return it as a new JSON object in *out.
 * Blocking; for the command line. Returns 0 or a negative errno, with
 * what went wrong in err.
 */
int ctl_call(const char *path, const char *cmd, json_t **out, char *err,
	     size_t err_len);
/* The same with more fields in the request (args: an object, borrowed;
 * NULL: none), e.g. {"cmd": "record", "call": "...", "on": true}. */
int ctl_call_args(const char *path, const char *cmd, json_t *args,
		  json_t **out, char *err, size_t err_len);

#endif
