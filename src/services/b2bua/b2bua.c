/* The B2BUA's entry points: what the dispatcher hands it, life cycle. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "services/b2bua/b2bua.h"

#include <errno.h>
#include <string.h>

#include "base/mem.h"
#include "runtime/config.h"
#include "services/b2bua/b2bua_int.h"

int b2bua_new(const struct b2bua_deps *deps, const struct config *cfg,
	      struct b2bua **out)
{
	struct b2bua *b;

	if (!deps || !deps->location || !deps->wheel || !cfg)
		return -EINVAL;
	b = sb_calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->deps = *deps;
	b->cfg = cfg;
	if (dialog_table_init(&b->dialogs) != 0) {
		sb_free(b);
		return -ENOMEM;
	}
	buf_init(&b->out, B2BUA_OUT_MAX);
	buf_init(&b->body, B2BUA_OUT_MAX);
	buf_init(&b->hdrs, B2BUA_HDRS_MAX + 1024);
	buf_init(&b->ng, B2BUA_OUT_MAX + 1024);
	*out = b;
	return 0;
}

void b2bua_set_layer(struct b2bua *b, struct txn_layer *tl)
{
	b->tl = tl;
}

struct b2bua *b2bua_free(struct b2bua *b)
{
	if (!b)
		return NULL;
	call_free_all(b);
	dialog_table_fini(&b->dialogs);
	buf_close(&b->out);
	buf_close(&b->body);
	buf_close(&b->hdrs);
	buf_close(&b->ng);
	sb_free(b);
	return NULL;
}

void b2bua_set_config(struct b2bua *b, const struct config *cfg)
{
	b->cfg = cfg;
}

bool b2bua_takes(const struct config *cfg, const struct sip_msg *req)
{
	const struct config_route *r;

	if (req->method != SIP_METHOD_INVITE || (req->to && req->to->tag.p))
		return false;
	r = config_route_match(cfg, req->ruri.user, req->ruri.host);
	return (r ? r->mode : config_call_mode(cfg)) == CONFIG_CALL_B2BUA;
}

void b2bua_invite(struct b2bua *b, struct txn *t, struct sip_msg *req)
{
	invite_start(b, t, req);
}

static struct leg *find(struct b2bua *b, struct slice call_id, struct slice tag)
{
	if (!tag.len)
		return NULL;
	return (struct leg *)dialog_table_find(&b->dialogs, call_id, tag);
}

bool b2bua_request(struct b2bua *b, struct txn *t, struct sip_msg *req)
{
	struct leg *l = req->to ? find(b, req->call_id, req->to->tag) : NULL;

	if (!l)
		return false;
	relay_request(l, t, req);
	return true;
}

bool b2bua_cancel(struct b2bua *b, struct txn *t)
{
	struct call *c = txn_owner(t, B2BUA_TXN_OWNER);

	if (c) {
		invite_cancel(c);
		return true;
	}
	if (ngx_cancel(t, &(struct sip_reply_opts){
			      .status = 487,
			      .server = config_user_agent(b->cfg),
			  }))
		return true;
	return relay_cancel(t);
}

bool b2bua_stray(struct b2bua *b, struct sip_inmsg *im)
{
	struct sip_msg *m = &im->msg;
	struct leg *l;

	if (m->is_request) {
		if (m->method != SIP_METHOD_ACK || !m->to)
			return false;
		l = find(b, m->call_id, m->to->tag);
		if (l)
			relay_ack(l, m);
		return l != NULL;
	}
	/* a response to us carries our tag in From */
	l = m->from ? find(b, m->call_id, m->from->tag) : NULL;
	if (!l)
		return false;
	if (m->status >= 200 && m->status < 300)
		invite_stray_2xx(l, im);
	return true;
}

const struct b2bua_stats *b2bua_stats(const struct b2bua *b)
{
	return &b->stats;
}

int b2bua_calls_visit(const struct b2bua *b,
		      int (*cb)(void *arg, const struct b2bua_call_info *ci),
		      void *arg)
{
	for (const struct call *c = b->calls; c; c = c->next) {
		const char *info = c->info ? c->info : "";
		const char *callee = c->info ? info + strlen(info) + 1 : "";
		struct b2bua_call_info ci = {
		    .id = c->id,
		    .state = call_state_name(c->state),
		    .caller = slice_cstr(info),
		    .callee = slice_cstr(callee),
		    .start_ms = c->start_ms,
		    .answer_ms = c->answer_ms,
		    .legs = 1 + c->nb,
		    .transfers = c->transfers,
		};
		int rc = cb(arg, &ci);

		if (rc)
			return rc;
	}
	return 0;
}

int b2bua_record(struct b2bua *b, const char *id, bool is_on, char *path,
		 size_t cap)
{
	struct slice want = slice_cstr(id);

	for (struct call *c = b->calls; c; c = c->next) {
		if (c->is_ended || (strcmp(c->id, id) != 0 &&
				    !slice_eq(c->a->dlg.call_id, want)))
			continue;
		if (path && cap)
			path[0] = '\0';
		return anchor_record(c, is_on, path, cap);
	}
	return -ENOENT;
}
