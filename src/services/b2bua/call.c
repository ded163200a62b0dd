/* A call's life: states, the end of a call, its CDR. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "runtime/config.h"
#include "services/b2bua/b2bua_int.h"

#define LOG_MODULE "b2bua"
#include "store/store.h"

static const struct slice none = {NULL, 0};

int64_t call_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *call_state_name(enum call_state s)
{
	static const char *const names[] = {
	    [CALL_CALLING] = "calling",
	    [CALL_PROCEEDING] = "proceeding",
	    [CALL_RINGING] = "ringing",
	    [CALL_EARLY_MEDIA] = "early-media",
	    [CALL_ANSWERED] = "answered",
	    [CALL_HELD] = "held",
	    [CALL_TRANSFERRING] = "transferring",
	    [CALL_TERMINATED] = "terminated",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *call_cause_name(enum call_cause c)
{
	static const char *const names[] = {
	    [CAUSE_NONE] = "",
	    [CAUSE_NORMAL] = "normal",
	    [CAUSE_BUSY] = "busy",
	    [CAUSE_NO_ANSWER] = "no-answer",
	    [CAUSE_REJECTED] = "rejected",
	    [CAUSE_CANCELLED] = "cancelled",
	    [CAUSE_TIMEOUT] = "timeout",
	    [CAUSE_MEDIA_TIMEOUT] = "media-timeout",
	    [CAUSE_NO_CODEC] = "no-common-codec",
	    [CAUSE_ERROR] = "error",
	};
	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

/* The cause a final failure status stands for, the same on every leg. */
enum call_cause call_cause_of(uint16_t status)
{
	switch (status) {
	case 486:
	case 600:
		return CAUSE_BUSY;
	case 408:
	case 480:
		return CAUSE_NO_ANSWER;
	case 487:
		return CAUSE_CANCELLED;
	case 403:
	case 404:
	case 603:
	case 604:
		return CAUSE_REJECTED;
	default:
		return status >= 500 || status < 300 ? CAUSE_ERROR
						     : CAUSE_REJECTED;
	}
}

void call_set_state(struct call *c, enum call_state s)
{
	if (c->state == s || c->state == CALL_TERMINATED)
		return;
	log_debug("call_state", "call=%s from=%s to=%s", c->id,
		  call_state_name(c->state), call_state_name(s));
	c->state = s;
}

static const char *disposition(const struct call *c)
{
	if (c->answer_ms)
		return "answered";
	switch (c->cause) {
	case CAUSE_BUSY:
		return "busy";
	case CAUSE_NO_ANSWER:
		return "no-answer";
	case CAUSE_CANCELLED:
		return "cancelled";
	case CAUSE_REJECTED:
		return "rejected";
	default:
		return "failed";
	}
}

static void copy_text(char *dst, size_t cap, struct slice s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	memcpy(dst, s.p ? s.p : "", n);
	dst[n] = '\0';
}

/* c->info holds "caller\0callee\0source\0". */
static struct slice info_at(const struct call *c, unsigned i)
{
	const char *p = c->info;

	if (!p)
		return SL("");
	while (i--)
		p += strlen(p) + 1;
	return slice_cstr(p);
}

static void write_cdr(struct call *c)
{
	const struct config_b2bua *cb = config_b2bua(c->cfg);
	struct store_cdr r;
	struct leg *p = c->peer;

	memset(&r, 0, sizeof(r));
	copy_text(r.call_id, sizeof(r.call_id), c->a->dlg.call_id);
	if (p) {
		copy_text(r.b_call_id, sizeof(r.b_call_id), p->dlg.call_id);
		copy_text(r.b_target, sizeof(r.b_target), p->dlg.remote_target);
	} else if (c->nb) {
		copy_text(r.b_call_id, sizeof(r.b_call_id),
			  c->b_legs[0]->dlg.call_id);
	}
	copy_text(r.caller, sizeof(r.caller), info_at(c, 0));
	copy_text(r.callee, sizeof(r.callee), info_at(c, 1));
	copy_text(r.source, sizeof(r.source), info_at(c, 2));
	copy_text(r.route, sizeof(r.route),
		  slice_cstr(c->route ? c->route->name : ""));
	r.start_ms = c->start_ms;
	r.ring_ms = c->ring_ms;
	r.answer_ms = c->answer_ms;
	r.end_ms = c->end_ms;
	r.duration_s = (uint32_t)((c->end_ms - c->start_ms + 999) / 1000);
	if (c->answer_ms)
		r.billsec = (uint32_t)((c->end_ms - c->answer_ms + 999) / 1000);
	copy_text(r.disposition, sizeof(r.disposition),
		  slice_cstr(disposition(c)));
	copy_text(r.cause, sizeof(r.cause),
		  slice_cstr(call_cause_name(c->cause)));
	r.a_status = c->a_status;
	r.b_status = p ? p->status : c->best_status;
	copy_text(r.a_reason, sizeof(r.a_reason),
		  slice_cstr(sip_reason_phrase(c->a_status)));
	copy_text(r.b_reason, sizeof(r.b_reason), slice_cstr(c->best_reason));
	r.transfers = c->transfers;
	anchor_cdr(c, &r);
	copy_text(r.hangup_by, sizeof(r.hangup_by),
		  slice_cstr(c->hangup_by ? c->hangup_by : "system"));
	log_info("call_end",
		 "call=%s caller=%s callee=%s disposition=%s cause=%s "
		 "a_status=%u b_status=%u billsec=%u hangup_by=%s",
		 c->id, r.caller, r.callee, r.disposition, r.cause,
		 (unsigned)r.a_status, (unsigned)r.b_status, r.billsec,
		 r.hangup_by);
	if (!c->b->deps.store || (!cb->is_cdr_sqlite && !cb->cdr_csv))
		return;
	if (store_cdr_put(c->b->deps.store, &r) == 0)
		c->b->stats.cdrs++;
	else
		log_warn("cdr_dropped", "call=%s", c->id);
}

/* The status that ends an unanswered INVITE for cause. */
static uint16_t status_for(enum call_cause cause)
{
	switch (cause) {
	case CAUSE_CANCELLED:
		return 487;
	case CAUSE_NO_ANSWER:
		return 408;
	case CAUSE_BUSY:
		return 486;
	case CAUSE_REJECTED:
		return 603;
	default:
		return 500;
	}
}

static void reply_a(struct call *c, uint16_t status, struct slice reason)
{
	struct sip_reply_opts o = {
	    .status = status,
	    .reason = reason,
	    .to_tag = c->a->dlg.local_tag,
	    .server = config_user_agent(c->cfg),
	    .extra = status == c->best_status && c->best_extra
			 ? slice_cstr(c->best_extra)
			 : none,
	};

	if (!c->st || c->is_final)
		return;
	if (txn_reply(c->st, &o) != 0 && reason.len) {
		o.reason = none;
		(void)txn_reply(c->st, &o);
	}
	c->a_status = status;
	c->is_final = true;
	txn_set_owner(c->st, NULL, 0);
	c->st = NULL;
	c->req = NULL;
}

void call_fail(struct call *c, uint16_t status, struct slice reason,
	       enum call_cause cause)
{
	reply_a(c, status, reason);
	call_end(c, cause, "callee", NULL);
}

void call_end(struct call *c, enum call_cause cause, const char *by,
	      struct leg *spare)
{
	struct b2bua *b = c->b;

	if (c->is_ended)
		return;
	c->is_ended = true;
	c->cause = cause;
	c->hangup_by = by;
	c->end_ms = call_now_ms();
	wheel_stop(b->deps.wheel, &c->ring);
	wheel_stop(b->deps.wheel, &c->limit);
	ngx_drop_waits(c); /* before the relays and BYEs they refer to */
	reply_a(c, status_for(cause), none);
	relay_drop_all(c, 487);
	for (uint32_t i = 0; i < c->nb; i++) {
		struct leg *l = c->b_legs[i];

		if (l == spare || l->is_done)
			continue;
		if (l->invite_ct && !l->is_cancelled) {
			l->is_cancelled = true;
			(void)txn_client_cancel(l->invite_ct);
		} else if (l->dlg.state == DIALOG_CONFIRMED) {
			leg_bye(l);
			l->is_done = true;
		}
	}
	if (c->a != spare && c->a->dlg.state == DIALOG_CONFIRMED)
		leg_bye(c->a);
	leg_2xx_acked(c->a);
	call_set_state(c, CALL_TERMINATED);
	if (c->answer_ms)
		b->stats.answered++;
	else
		b->stats.failed++;
	anchor_end(c);
	write_cdr(c);
	call_maybe_free(c);
}

static struct call *call_of_reap(struct wheel_timer *w)
{
	return (struct call *)((char *)w - offsetof(struct call, reap));
}

static void call_free(struct call *c)
{
	struct b2bua *b = c->b;

	if (c->prev)
		c->prev->next = c->next;
	else
		b->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	wheel_stop(b->deps.wheel, &c->ring);
	wheel_stop(b->deps.wheel, &c->limit);
	wheel_stop(b->deps.wheel, &c->reap);
	relay_drop_all(c, 500);
	refer_drop_all(c);
	for (uint32_t i = 0; i < c->nb; i++)
		leg_free(c->b_legs[i]);
	leg_free(c->a);
	if (c->st)
		txn_set_owner(c->st, NULL, 0);
	anchor_end(c);
	sb_free(c->rec_path);
	sb_free(c->info);
	sb_free(c->best_extra);
	b->stats.alive--;
	sb_free(c);
}

static void on_reap(struct wheel_timer *w)
{
	call_free(call_of_reap(w));
}

void call_maybe_free(struct call *c)
{
	if (!c->is_ended)
		return;
	for (uint32_t i = 0; i < c->nb; i++)
		if (c->b_legs[i]->invite_ct || c->b_legs[i]->dns)
			return;
	/* after the callbacks on the stack have returned */
	if (!wheel_timer_active(&c->reap)) {
		wheel_timer_init(&c->reap, on_reap);
		wheel_start(c->b->deps.wheel, &c->reap, 0);
	}
}

/* Free everything at shutdown, nothing sent. */
void call_free_all(struct b2bua *b)
{
	while (b->calls) {
		struct call *c = b->calls;

		for (uint32_t i = 0; i < c->nb; i++) {
			struct leg *l = c->b_legs[i];

			if (l->invite_ct)
				txn_client_detach(l->invite_ct);
			l->invite_ct = NULL;
			resolve_cancel(l->dns);
			l->dns = NULL;
		}
		call_free(c);
	}
}
