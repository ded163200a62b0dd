/* rtpengine's ng control protocol: one client per worker loop. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_MEDIA_NG_H
#define SB_MEDIA_NG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/slice.h"
#include "media/bencode.h"

/*
 * A message is "<cookie> <bencoded dictionary>" over UDP; the reply
 * carries the same cookie. rtpengine answers a repeated cookie from its
 * cache, so a request without a reply is sent again, with the same
 * cookie, every timeout_ms, tries times in all. A server that does not
 * answer is disabled for disable_s on this client; a request for any
 * server (NG_ANY) then goes to the next one up. A request for a given
 * server (a call lives on the one that took its offer) never moves.
 *
 * Everything runs on the loop's thread; nothing blocks: requests are
 * sent at once, replies and timeouts come as callbacks.
 */
enum {
	NG_SERVERS_MAX = 8,
	NG_ANY = -1,
	NG_REPLY_MAX = 65536, /* bytes of a reply datagram */
};

struct ng_opts {
	struct sockaddr_storage servers[NG_SERVERS_MAX];
	unsigned nservers;
	uint32_t timeout_ms; /* wait per try; 0: 500 */
	uint32_t tries;	     /* per server; 0: 3 */
	uint32_t disable_s;  /* a silent server is skipped this long; 0: 10 */
	unsigned worker;     /* goes in cookies: workers never share one */
};

struct ng_client;
struct ng_req;

/*
 * The outcome of a request. err: 0 ("result" is "ok" or "pong"),
 * -EPROTO (rtpengine said "error" or something else: reply has its
 * "error-reason"), -ETIMEDOUT (no server answered), -EBADMSG (a reply
 * that is no bencoded dictionary). server: the index that answered
 * (meaningless on -ETIMEDOUT). reply: the reply dictionary, valid during
 * the call only (NULL on -ETIMEDOUT, -EBADMSG). The request is gone once
 * the callback returns.
 */
typedef void (*ng_cb)(void *arg, int err, int server, const struct ben *reply);

struct ng_stats {
	uint64_t requests;    /* requests started */
	uint64_t retransmits; /* tries after the first */
	uint64_t timeouts;    /* requests no server answered */
	uint64_t errors;      /* replies that were not "ok" */
	uint64_t failovers;   /* NG_ANY requests moved to another server */
	uint64_t stray;	      /* replies matching no request */
	uint32_t pending;     /* requests waiting now */
};

/* A client on loop (its own UDP socket of the first server's family;
 * both families are opened when the servers mix them). Returns 0,
 * -EINVAL (no servers), or a socket error. */
int ng_client_new(uv_loop_t *loop, const struct ng_opts *o,
		  struct ng_client **out);
/* Close the socket(s) and free every request without calling back.
 * The loop must run once more to finish closing (uv_close). NULL-safe;
 * returns NULL. */
struct ng_client *ng_client_free(struct ng_client *c);

/*
 * Send dict (a whole bencoded dictionary, copied) to server (an index,
 * or NG_ANY: the next server that is up, round robin). cb(arg, ...) comes
 * exactly once, later, never from within ng_request. *out (may be NULL)
 * names the request for ng_cancel() until cb is called. Returns 0,
 * -EINVAL (a bad server index, dict empty or larger than 60000 bytes),
 * -EHOSTUNREACH (NG_ANY and every server disabled: nothing sent),
 * -ENOMEM.
 */
int ng_request(struct ng_client *c, int server, struct slice dict, ng_cb cb,
	       void *arg, struct ng_req **out);
/* Forget a request: its callback never comes. A late reply counts as
 * stray. */
void ng_cancel(struct ng_req *r);

const struct ng_stats *ng_client_stats(const struct ng_client *c);
/* Whether server i is up now (not disabled). */
bool ng_server_up(const struct ng_client *c, unsigned i);

#endif
