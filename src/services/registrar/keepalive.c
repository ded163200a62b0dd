/* NAT keep-alives: OPTIONS or CRLF to NAT'd bindings, spread by shard. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "services/registrar/registrar_int.h"
#include "sip/msg/build.h"

#define LOG_MODULE "registrar"

enum {
	REG_PING_MAX_LEN = 4096,  /* bytes of an OPTIONS ping */
	REG_BRANCH_LEN = 32,	  /* bytes for txn_branch_new() */
	REG_RANDOM_SKIP = 7,	  /* "z9hG4bK" before a branch's random part */
	REG_CALL_ID_TRIES = 4096, /* Call-IDs tried for the owner's hash */
	REG_NAME_ADDR_MAX = LOCATION_URI_MAX + 64, /* "<sip:...>" of a ping */
	REG_PING_ESC = 96 /* bytes of an escaped AOR in a log line */
};

static const char crlf_ping[] = "\r\n\r\n"; /* RFC 5626 4.4.1 */

/* An OPTIONS keep-alive in flight: which binding it asks about. */
struct reg_ping {
	struct reg_ping *next, **pprev; /* r->pings */
	struct registrar *r;
	struct txn *t; /* the layer's; valid until the final callback */
	uint64_t id;   /* of the binding */
	uint16_t aor_len;
	char aor[LOCATION_AOR_MAX];
};

static struct reg_ping *ping_free(struct reg_ping *p)
{
	*p->pprev = p->next;
	if (p->next)
		p->next->pprev = p->pprev;
	reg_count(&p->r->pings_in_flight, -1);
	sb_free(p);
	return NULL;
}

/* Count the outcome on the binding; log a run of failures. */
static void ping_result(struct registrar *r, struct slice aor, uint64_t id,
			bool is_ok)
{
	char esc[REG_PING_ESC];
	int failures = location_ping_result(r->loc, aor, id, is_ok);

	if (is_ok)
		return;
	reg_count(&r->pings_failed, 1);
	if (failures > 0 && failures % REGISTRAR_PING_FAILURES_WARN == 0)
		log_warn("keepalive_unanswered",
			 "aor=%s binding=%" PRIu64 " failures=%d",
			 log_esc(aor, esc, sizeof(esc)), id, failures);
}

static void on_ping_response(void *arg, struct txn *t, int err,
			     struct sip_inmsg *resp)
{
	struct reg_ping *p = arg;

	if (!err && resp->msg.status < 200)
		return;
	/* Any final answer proves the path to the UA is open. */
	ping_result(p->r, slice_make(p->aor, p->aor_len), p->id, err == 0);
	ping_free(p);
}

/* Whether a Call-ID made from branch b hashes to the housekeeping worker. */
static bool is_owned(const struct registrar *r, struct slice b)
{
	struct slice id =
	    slice_make(b.p + REG_RANDOM_SKIP, b.len - REG_RANDOM_SKIP);

	return r->o.workers <= 1 || slice_hash(id) % r->o.workers == r->o.owner;
}

static int ping_build(const struct registrar *r,
		      const struct location_binding *b, struct buf *out)
{
	const struct tp_listener *l =
	    b->flow.listener
		? b->flow.listener
		: tp_listener_find(b->flow.tp, b->flow.remote.sa.sa_family);
	char branch[REG_BRANCH_LEN], tag[REG_BRANCH_LEN], id[REG_BRANCH_LEN];
	char from[REG_NAME_ADDR_MAX], to[REG_NAME_ADDR_MAX];
	struct sip_request_opts o;
	struct slice host = l ? tp_listener_host(l) : r->o.keepalive_host;
	struct slice t = txn_branch_new(tag, sizeof(tag));
	struct slice c = txn_branch_new(id, sizeof(id));

	/* Its answer is handed to the worker its Call-ID hashes to
	 * (handoff.h): pick one that hashes to ours. */
	for (unsigned i = 0; i < REG_CALL_ID_TRIES && !is_owned(r, c); i++)
		c = txn_branch_new(id, sizeof(id));

	if (host.len == 0)
		return -EADDRNOTAVAIL;
	o = (struct sip_request_opts){
	    .method = SL("OPTIONS"),
	    .ruri = b->contact,
	    .via_transport = sip_transport_name(b->flow.tp),
	    .via_host = host,
	    .via_port = l ? tp_listener_port(l) : 0,
	    .branch = txn_branch_new(branch, sizeof(branch)),
	    .via_rport = true,
	    .from =
		slice_make(from, (size_t)snprintf(from, sizeof(from),
						  "<sip:keepalive@" SL_FMT ">",
						  SL_ARG(host))),
	    .from_tag =
		slice_make(t.p + REG_RANDOM_SKIP, t.len - REG_RANDOM_SKIP),
	    .to =
		slice_make(to, (size_t)snprintf(to, sizeof(to), "<" SL_FMT ">",
						SL_ARG(b->contact))),
	    .call_id =
		slice_make(c.p + REG_RANDOM_SKIP, c.len - REG_RANDOM_SKIP),
	    .cseq = 1,
	    .user_agent = r->o.server,
	};
	if (o.from.len >= sizeof(from) || o.to.len >= sizeof(to))
		return -E2BIG;
	return sip_request_build(out, &o);
}

static int ping_options(struct registrar *r, const struct location_binding *b)
{
	struct reg_ping *p;
	struct buf msg;
	int err;

	if (atomic_load_explicit(&r->pings_in_flight, memory_order_relaxed) >=
	    REGISTRAR_PINGS_MAX)
		return 0; /* next round */
	if (!(p = sb_calloc(1, sizeof(*p))))
		return -ENOMEM;
	buf_init(&msg, REG_PING_MAX_LEN);
	err = ping_build(r, b, &msg);
	if (!err)
		err = txn_client_start(r->tl, &b->flow, buf_slice(&msg),
				       on_ping_response, p, &p->t);
	buf_close(&msg);
	if (err) {
		sb_free(p);
		return err;
	}
	p->r = r;
	p->id = b->id;
	p->aor_len = (uint16_t)b->aor.len;
	memcpy(p->aor, b->aor.p, b->aor.len);
	p->next = r->pings;
	if (p->next)
		p->next->pprev = &p->next;
	p->pprev = &r->pings;
	r->pings = p;
	reg_count(&r->pings_in_flight, 1);
	return 0;
}

/* Called for each binding of this tick's shards, no lock held. */
static int on_binding(void *arg, const struct location_binding *b)
{
	struct registrar *r = arg;
	int err;

	if (!b->is_nated || b->path.len)
		return 0; /* reachable, or the edge proxy keeps it alive */
	if (r->o.keepalive == REGISTRAR_KEEPALIVE_CRLF)
		err = r->o.send(&b->flow, crlf_ping, sizeof(crlf_ping) - 1,
				NULL, NULL);
	else
		err = ping_options(r, b);
	reg_count(&r->pings_sent, 1);
	if (err)
		ping_result(r, b->aor, b->id, false);
	return 0;
}

void reg_keepalive_run(struct registrar *r, const struct location_time *now)
{
	uint32_t every = r->o.keepalive_interval_s * 1000 / REG_TICK_MS;

	if (every == 0)
		every = 1;
	location_list_part(r->loc, now->mono_ms, every,
			   (uint32_t)(r->ticks % every), on_binding, r);
}

void reg_keepalive_stop(struct registrar *r)
{
	while (r->pings) {
		txn_client_detach(r->pings->t);
		ping_free(r->pings);
	}
}
