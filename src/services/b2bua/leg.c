/* A leg: where its messages go, how they are built, 2xx and ACK. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/rand.h"
#include "runtime/config.h"
#include "services/b2bua/b2bua_int.h"

#define LOG_MODULE "b2bua"

static const struct slice none = {NULL, 0};

const char b2bua_allow[] =
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, PRACK, INFO, "
    "MESSAGE, REFER, NOTIFY\r\n";

void b2bua_hex(char *out, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	uint64_t r = 0;

	for (size_t i = 0; i < n; i++, r >>= 4) {
		if (i % 16 == 0)
			r = sb_rand64();
		out[i] = hexd[r & 15];
	}
	out[n] = '\0';
}

/* ARCHITECTURE.md: a B-leg's Call-ID hashes to its A-leg's worker. */
void b2bua_call_id(const struct b2bua *b, char out[B2BUA_CALLID_LEN + 1])
{
	unsigned n = b->deps.nworkers ? b->deps.nworkers : 1;

	do
		b2bua_hex(out, B2BUA_CALLID_LEN);
	while (slice_hash(slice_make(out, B2BUA_CALLID_LEN)) % n !=
	       b->deps.worker % n);
}

struct leg *leg_new(struct call *c, bool is_a)
{
	struct leg *l = sb_calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->call = c;
	l->is_a = is_a;
	l->mside = is_a ? MEDIA_A : MEDIA_B;
	wheel_timer_init(&l->t2xx, NULL);
	c->b->stats.legs_alive++;
	return l;
}

void leg_free(struct leg *l)
{
	struct b2bua *b;

	if (!l)
		return;
	b = l->call->b;
	leg_2xx_acked(l);
	st_stop(l);
	prack_stop(l);
	if (l->is_in_table)
		dialog_table_del(&b->dialogs, &l->dlg);
	if (l->invite_ct)
		txn_client_detach(l->invite_ct);
	resolve_cancel(l->dns);
	dialog_free(&l->dlg);
	tp_flow_clear(&l->flow);
	sb_free(l->targets);
	sb_free(l->text);
	sb_free(l->ack);
	b->stats.legs_alive--;
	sb_free(l);
}

struct leg *leg_peer(const struct leg *l)
{
	if (l->is_detached)
		return NULL;
	if (l->other)
		return l->other;
	return l->is_a ? l->call->peer : l->call->a;
}

bool leg_dst(struct leg *l, struct sip_flow *out)
{
	struct resolve_target t;
	struct sip_uri u;

	if (l->has_flow && !l->is_flow_fallback) {
		*out = l->flow;
		return true;
	}
	if (dialog_next_hop(&l->dlg, &u) == 0 && resolve_numeric(&u, &t) == 0) {
		memset(out, 0, sizeof(*out));
		out->tp = t.tp;
		out->remote = t.addr;
		out->listener = tp_listener_find(t.tp, t.addr.sa.sa_family);
		if (out->listener)
			return true;
	}
	if (l->has_flow) {
		*out = l->flow;
		return true;
	}
	return false;
}

struct slice leg_contact(const struct tp_listener *li, char *out, size_t cap)
{
	enum sip_transport tp = tp_listener_transport(li);
	struct slice host = tp_listener_host(li);
	int n;

	n = snprintf(out, cap, "<sip:%.*s:%u%s%s>", SL_ARG(host),
		     (unsigned)tp_listener_port(li),
		     tp == SIP_TP_UDP ? "" : ";transport=",
		     tp == SIP_TP_TCP	? "tcp"
		     : tp == SIP_TP_TLS ? "tls"
					: "");
	if (n < 0 || (size_t)n >= cap)
		return none;
	return slice_make(out, (size_t)n);
}

int leg_print(struct leg *l, struct sip_request_opts *o,
	      const struct sip_flow *dst)
{
	struct b2bua *b = l->call->b;
	char branch[48], contact[B2BUA_CONTACT_MAX];

	o->via_transport = sip_transport_name(dst->tp);
	o->via_host = tp_listener_host(dst->listener);
	o->via_port = tp_listener_port(dst->listener);
	o->branch = txn_branch_new(branch, sizeof(branch));
	o->via_rport = true;
	if (o->method.len != 3 || memcmp(o->method.p, "BYE", 3) != 0)
		o->contact =
		    leg_contact(dst->listener, contact, sizeof(contact));
	o->user_agent = config_user_agent(l->call->cfg);
	buf_reset(&b->out);
	return sip_request_build(&b->out, o);
}

static void on_ignored(void *arg, struct txn *t, int err,
		       struct sip_inmsg *resp)
{
	(void)arg;
	(void)t;
	(void)err;
	(void)resp;
}

int leg_request(struct leg *l, enum sip_method method, uint32_t cseq_of,
		struct slice extra, struct slice ctype, struct slice body,
		txn_response_cb cb, void *arg, struct txn **out)
{
	struct b2bua *b = l->call->b;
	struct sip_request_opts o;
	struct sip_flow dst;
	char routes[B2BUA_ROUTES_MAX];
	struct txn *t;
	int err;

	memset(&o, 0, sizeof(o));
	if (!leg_dst(l, &dst))
		return -EHOSTUNREACH;
	err = dialog_request_opts(&l->dlg, method, cseq_of, &o, routes,
				  sizeof(routes));
	if (err)
		return err;
	o.extra = extra;
	o.content_type = ctype;
	o.body = body;
	err = leg_print(l, &o, &dst);
	if (err)
		return err;
	if (method == SIP_METHOD_ACK) {
		txn_send_fn send = b->deps.send ? b->deps.send : tp_send;

		return send(&dst, b->out.p, b->out.len, NULL, NULL);
	}
	return txn_client_start(b->tl, &dst, buf_slice(&b->out),
				cb ? cb : on_ignored, arg, out ? out : &t);
}

void leg_bye(struct leg *l)
{
	int err;

	if (l->dlg.state != DIALOG_CONFIRMED)
		return;
	/* RFC 3261 13.2.2.4: a 2xx still waiting for our ACK gets it first */
	if (l->ack_cseq && !l->ack)
		(void)leg_ack(l, l->ack_cseq, none, none);
	err = leg_request(l, SIP_METHOD_BYE, 0, none, none, none, NULL, NULL,
			  NULL);
	if (err)
		log_debug("bye_failed", "call=%s error=\"%s\"", l->call->id,
			  sb_strerror(err));
	l->dlg.state = DIALOG_TERMINATED;
}

/* --- our 2xx to an INVITE, until the ACK (RFC 6026 7.1) ---------------- */

static struct leg *leg_of_t2xx(struct wheel_timer *w)
{
	return (struct leg *)((char *)w - offsetof(struct leg, t2xx));
}

static void on_t2xx(struct wheel_timer *w)
{
	struct leg *l = leg_of_t2xx(w);
	struct call *c = l->call;
	const struct config_timers *ct = config_timers(c->cfg);
	uint32_t wait = 64 * ct->t1_ms;

	l->t2xx_elapsed += l->t2xx_interval;
	if (l->t2xx_elapsed >= wait || !l->st_2xx) {
		/* RFC 3261 13.3.1.4: no ACK in 64*T1 ends the dialog */
		c->b->stats.ack_timeouts++;
		log_info("ack_timeout", "call=%s", c->id);
		leg_2xx_acked(l);
		call_end(c, CAUSE_TIMEOUT, "system", NULL);
		return;
	}
	(void)txn_reply(l->st_2xx, &l->r2xx);
	l->t2xx_interval *= 2;
	if (l->t2xx_interval > ct->t2_ms)
		l->t2xx_interval = ct->t2_ms;
	if (l->t2xx_elapsed + l->t2xx_interval > wait)
		l->t2xx_interval = wait - l->t2xx_elapsed;
	wheel_start(c->b->deps.wheel, &l->t2xx, l->t2xx_interval);
}

/* Keep what the 2xx is made of: extra and body. */
static int keep_2xx(struct leg *l, const struct sip_reply_opts *o)
{
	size_t n =
	    o->extra.len + o->body.len + o->content_type.len + o->reason.len;
	char *p = sb_malloc(n ? n : 1);

	if (!p)
		return -ENOMEM;
	l->r2xx = *o;
	/* the reason phrase may point into the B-leg's response: copy it */
	memcpy(p + n - o->reason.len, o->reason.p ? o->reason.p : "",
	       o->reason.len);
	l->r2xx.reason = o->reason.p
			     ? slice_make(p + n - o->reason.len, o->reason.len)
			     : none;
	memcpy(p, o->extra.p ? o->extra.p : "", o->extra.len);
	l->r2xx.extra = o->extra.p ? slice_make(p, o->extra.len) : none;
	p += o->extra.len;
	memcpy(p, o->content_type.p ? o->content_type.p : "",
	       o->content_type.len);
	l->r2xx.content_type =
	    o->content_type.p ? slice_make(p, o->content_type.len) : none;
	p += o->content_type.len;
	memcpy(p, o->body.p ? o->body.p : "", o->body.len);
	l->r2xx.body = o->body.p ? slice_make(p, o->body.len) : none;
	l->r2xx_text = p - o->extra.len - o->content_type.len;
	return 0;
}

int leg_reply_2xx(struct leg *l, struct txn *t, const struct sip_reply_opts *o)
{
	struct call *c = l->call;
	const struct config_timers *ct = config_timers(c->cfg);
	bool is_reliable;
	int err;

	leg_2xx_acked(l);
	err = txn_reply(t, o);
	if (err)
		return err;
	err = keep_2xx(l, o);
	if (err)
		return err;
	l->st_2xx = t;
	l->st_2xx_cseq = txn_request(t) ? txn_request(t)->cseq.num : 0;
	is_reliable = sip_transport_is_reliable(txn_flow(t)->tp);
	l->t2xx_elapsed = 0;
	l->t2xx_interval = is_reliable ? 64 * ct->t1_ms : ct->t1_ms;
	wheel_timer_init(&l->t2xx, on_t2xx);
	wheel_start(c->b->deps.wheel, &l->t2xx, l->t2xx_interval);
	return 0;
}

void leg_2xx_acked(struct leg *l)
{
	if (wheel_timer_active(&l->t2xx))
		wheel_stop(l->call->b->deps.wheel, &l->t2xx);
	sb_free(l->r2xx_text);
	l->r2xx_text = NULL;
	l->st_2xx = NULL;
}

int leg_ack(struct leg *l, uint32_t cseq, struct slice ctype, struct slice body)
{
	struct b2bua *b = l->call->b;
	int err;

	err = leg_request(l, SIP_METHOD_ACK, cseq, none, ctype, body, NULL,
			  NULL, NULL);
	if (err)
		return err;
	sb_free(l->ack);
	l->ack = sb_malloc(b->out.len);
	if (l->ack) {
		memcpy(l->ack, b->out.p, b->out.len);
		l->ack_len = (uint32_t)b->out.len;
	}
	l->ack_cseq = cseq;
	return 0;
}
