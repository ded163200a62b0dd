/* Hashed timer wheel of 1 ms slots; timers are embedded in their owners. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/wheel.h"

#include <stddef.h>
#include <string.h>

static struct wheel_timer **slot_of(struct wheel *w, uint64_t ms)
{
	return &w->slots[ms % WHEEL_SLOTS];
}

static void link_at(struct wheel_timer **head, struct wheel_timer *t)
{
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = head;
	*head = t;
}

static void unlink_timer(struct wheel_timer *t)
{
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
}

/* Earliest due time of any active timer (count > 0), by a full scan. */
static uint64_t earliest_due(const struct wheel *w)
{
	uint64_t min = UINT64_MAX;

	for (size_t i = 0; i < WHEEL_SLOTS; i++)
		for (const struct wheel_timer *t = w->slots[i]; t; t = t->next)
			if (t->due_ms < min)
				min = t->due_ms;
	return min;
}

void wheel_init(struct wheel *w, uint64_t now_ms)
{
	memset(w, 0, sizeof(*w));
	w->now_ms = now_ms;
}

void wheel_close(struct wheel *w)
{
	for (size_t i = 0; i < WHEEL_SLOTS; i++)
		while (w->slots[i])
			unlink_timer(w->slots[i]);
	w->count = 0;
}

void wheel_timer_init(struct wheel_timer *t, wheel_cb cb)
{
	t->next = NULL;
	t->pprev = NULL;
	t->due_ms = 0;
	t->cb = cb;
}

void wheel_start(struct wheel *w, struct wheel_timer *t, uint64_t delay_ms)
{
	if (wheel_timer_active(t))
		wheel_stop(w, t);
	t->due_ms = delay_ms > UINT64_MAX - w->now_ms ? UINT64_MAX
						      : w->now_ms + delay_ms;
	link_at(slot_of(w, t->due_ms), t);
	w->count++;
}

void wheel_stop(struct wheel *w, struct wheel_timer *t)
{
	if (!wheel_timer_active(t))
		return;
	unlink_timer(t);
	w->count--;
}

/*
 * Fire what is due in the slot of tick. The slot's list is moved to a
 * local list first, so callbacks may start or stop any timer (one still in
 * the local list is unlinked through its pprev as usual); timers not yet
 * due (later rounds) go back to the slot. A timer started with a zero delay
 * by a callback lands in this slot again, hence the outer loop.
 */
static unsigned fire_slot(struct wheel *w, uint64_t tick)
{
	struct wheel_timer **head = slot_of(w, tick);
	unsigned fired = 0, before;

	do {
		struct wheel_timer *pending = *head;

		before = fired;
		*head = NULL;
		if (pending)
			pending->pprev = &pending;
		while (pending) {
			struct wheel_timer *t = pending;

			unlink_timer(t);
			if (t->due_ms > tick) {
				link_at(head, t);
				continue;
			}
			w->count--;
			fired++;
			t->cb(t);
		}
	} while (fired != before && *head);
	return fired;
}

unsigned wheel_advance(struct wheel *w, uint64_t now_ms)
{
	uint64_t tick = w->now_ms, walked = WHEEL_SLOTS;
	unsigned fired = 0;

	if (now_ms < tick)
		now_ms = tick;
	for (;;) {
		if (w->count == 0) {
			w->now_ms = now_ms;
			break;
		}
		/* A long gap: skip straight to the earliest timer, at most
		 * once per turn of the wheel so the scan costs no more than
		 * walking the slots would. */
		if (now_ms - tick > WHEEL_SLOTS && walked >= WHEEL_SLOTS) {
			uint64_t due = earliest_due(w);

			walked = 0;
			if (due > now_ms) {
				w->now_ms = now_ms;
				break;
			}
			if (due > tick)
				tick = due;
		}
		w->now_ms = tick;
		fired += fire_slot(w, tick);
		if (tick == now_ms)
			break;
		tick++;
		walked++;
	}
	return fired;
}

int64_t wheel_next_ms(const struct wheel *w)
{
	uint64_t due;

	if (w->count == 0)
		return -1;
	for (uint64_t i = 0; i < WHEEL_SLOTS; i++) {
		uint64_t tick = w->now_ms + i;
		const struct wheel_timer *t = w->slots[tick % WHEEL_SLOTS];

		for (; t; t = t->next)
			if (t->due_ms <= tick)
				return (int64_t)i;
	}
	/* Nothing within a turn: exact when a scan is cheap, else a turn,
	 * which is a safe lower bound (the loop just wakes once more). */
	if (w->count > WHEEL_SLOTS)
		return WHEEL_SLOTS;
	due = earliest_due(w);
	return due - w->now_ms > INT64_MAX ? INT64_MAX
					   : (int64_t)(due - w->now_ms);
}
