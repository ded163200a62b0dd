/* Hierarchical timer wheel; timers are embedded in their owners. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/wheel.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

/*
 * Read a due time in base 64: digit l is bits [6l, 6l + 6). A timer sits on
 * the level of the highest digit in which its due time differs from the
 * clock, in the slot named by its own digit there; a timer due now sits on
 * level 0, in the clock's slot. So slot s of level l holds exactly the
 * timers due in [base + s * 64^l, base + (s + 1) * 64^l), where base is the
 * clock with its digits 0..l cleared, and every occupied slot lies ahead
 * of the clock. Timers whose due time differs from the clock above digit
 * WHEEL_LEVELS - 1 wait on the overflow list.
 *
 * wheel_advance() jumps the clock from event to event: to the start of the
 * window of the earliest occupied slot (the lowest non-empty level's first
 * occupied slot, found with one count-trailing-zeros), or to the next turn
 * of the top level for the overflow list. There it relinks the slot's
 * timers by the same rule, which puts each one on a lower level ("cascades"
 * it), or fires the slot if it is on level 0. A timer is relinked at most
 * once per level below the one it was started on, so firing costs O(1)
 * amortised; empty stretches of time cost nothing.
 *
 * wheel_next_ms() wants the earliest due time, which lies in the slot of
 * that first event. Each slot keeps a lower bound of its earliest due time,
 * set when the slot fills and lowered by every link: exact until the timer
 * that set it is stopped, and then found again by reading the slot if it
 * is short.
 */

enum {
	SLOT_MASK = WHEEL_LEVEL_SLOTS - 1,
	SPAN_BITS = WHEEL_LEVELS * WHEEL_LEVEL_BITS, /* bits the levels span */
	OVERFLOW_LEVEL = WHEEL_LEVELS /* level_of() for the overflow list */
};

_Static_assert(WHEEL_LEVEL_SLOTS == 1 << WHEEL_LEVEL_BITS,
	       "a level has a slot per value of its digit");
_Static_assert(WHEEL_LEVEL_SLOTS == 64, "one occupancy word per level");

/* The level a timer due at due_ms belongs on with the clock at now_ms. */
static unsigned level_of(uint64_t due_ms, uint64_t now_ms)
{
	uint64_t diff = due_ms ^ now_ms;
	unsigned level;

	assert(due_ms >= now_ms);
	if (diff == 0)
		return 0;
	level = (unsigned)(63 - __builtin_clzll(diff)) / WHEEL_LEVEL_BITS;
	return level < WHEEL_LEVELS ? level : OVERFLOW_LEVEL;
}

static unsigned slot_of(uint64_t ms, unsigned level)
{
	return (unsigned)(ms >> (level * WHEEL_LEVEL_BITS)) & SLOT_MASK;
}

static void link_timer(struct wheel *w, struct wheel_timer *t)
{
	unsigned level = level_of(t->due_ms, w->now_ms);
	struct wheel_timer **head = &w->overflow;

	if (level != OVERFLOW_LEVEL) {
		unsigned slot = slot_of(t->due_ms, level);
		uint64_t bit = 1ull << slot;
		uint64_t *min = &w->min_ms[level][slot];

		/* A new minimum is exact even where the old one was stale:
		 * a stale minimum is still a lower bound. */
		if (!(w->occupied[level] & bit) || t->due_ms < *min) {
			*min = t->due_ms;
			w->min_known[level] |= bit;
		}
		w->occupied[level] |= bit;
		head = &w->slots[level][slot];
	}
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

/* Take an active t off the wheel, keeping occupancy and minima right. */
static void remove_timer(struct wheel *w, struct wheel_timer *t)
{
	unsigned level = level_of(t->due_ms, w->now_ms);

	unlink_timer(t);
	if (level != OVERFLOW_LEVEL) {
		unsigned slot = slot_of(t->due_ms, level);
		uint64_t bit = 1ull << slot;

		if (!w->slots[level][slot])
			w->occupied[level] &= ~bit;
		else if (t->due_ms == w->min_ms[level][slot])
			w->min_known[level] &= ~bit;
	}
	w->count--;
}

/*
 * The next time at or after the clock when the wheel has work: the start
 * of the window of the earliest occupied slot, with its level in *level,
 * or the next turn of the top level (level OVERFLOW_LEVEL) when only the
 * overflow list holds timers. False when no timer is active.
 */
static bool next_event(const struct wheel *w, uint64_t *at_ms, unsigned *level)
{
	for (unsigned l = 0; l < WHEEL_LEVELS; l++) {
		unsigned shift = l * WHEEL_LEVEL_BITS;
		uint64_t base;

		if (!w->occupied[l])
			continue;
		base = w->now_ms >> (shift + WHEEL_LEVEL_BITS)
					<< (shift + WHEEL_LEVEL_BITS);
		*at_ms = base | (uint64_t)__builtin_ctzll(w->occupied[l])
				    << shift;
		*level = l;
		return true;
	}
	if (!w->overflow)
		return false;
	/* Cannot wrap: an overflow timer is due in a later turn. */
	*at_ms = (w->now_ms | ((1ull << SPAN_BITS) - 1)) + 1;
	*level = OVERFLOW_LEVEL;
	return true;
}

/* The clock just reached the window of this level's slot: move it down. */
static void cascade(struct wheel *w, unsigned level)
{
	struct wheel_timer **head = &w->overflow;
	struct wheel_timer *t;

	if (level != OVERFLOW_LEVEL) {
		unsigned slot = slot_of(w->now_ms, level);

		head = &w->slots[level][slot];
		w->occupied[level] &= ~(1ull << slot);
	}
	t = *head;
	*head = NULL;
	while (t) {
		struct wheel_timer *next = t->next;

		link_timer(w, t);
		t = next;
	}
}

/*
 * Fire the timers due now, all in the clock's level-0 slot. Each is
 * unlinked before its callback runs and the slot is read again after it,
 * so a callback may stop or restart any timer, and one it starts with a
 * zero delay joins the slot and fires too.
 */
static unsigned fire_due(struct wheel *w)
{
	unsigned slot = slot_of(w->now_ms, 0);
	struct wheel_timer **head = &w->slots[0][slot];
	unsigned fired = 0;

	while (*head) {
		struct wheel_timer *t = *head;

		unlink_timer(t);
		if (!*head)
			w->occupied[0] &= ~(1ull << slot);
		w->count--;
		fired++;
		t->cb(t);
	}
	return fired;
}

/*
 * Earliest due time on a list when it holds at most WHEEL_SCAN_MAX timers;
 * else floor_ms, a lower bound of it.
 */
static uint64_t list_earliest(const struct wheel_timer *t, uint64_t floor_ms)
{
	uint64_t min = UINT64_MAX;

	for (unsigned n = 0; t; t = t->next, n++) {
		if (n == WHEEL_SCAN_MAX)
			return floor_ms;
		if (t->due_ms < min)
			min = t->due_ms;
	}
	return min;
}

void wheel_init(struct wheel *w, uint64_t now_ms)
{
	memset(w, 0, sizeof(*w));
	w->now_ms = now_ms;
}

void wheel_close(struct wheel *w)
{
	for (size_t l = 0; l < WHEEL_LEVELS; l++) {
		for (size_t s = 0; s < WHEEL_LEVEL_SLOTS; s++)
			while (w->slots[l][s])
				unlink_timer(w->slots[l][s]);
		w->occupied[l] = 0;
		w->min_known[l] = 0;
	}
	while (w->overflow)
		unlink_timer(w->overflow);
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
		remove_timer(w, t);
	t->due_ms = delay_ms > UINT64_MAX - w->now_ms ? UINT64_MAX
						      : w->now_ms + delay_ms;
	link_timer(w, t);
	w->count++;
}

void wheel_stop(struct wheel *w, struct wheel_timer *t)
{
	if (wheel_timer_active(t))
		remove_timer(w, t);
}

unsigned wheel_advance(struct wheel *w, uint64_t now_ms)
{
	unsigned fired = 0, level;
	uint64_t at_ms;

	for (;;) {
		fired += fire_due(w);
		if (!next_event(w, &at_ms, &level) || at_ms > now_ms)
			break;
		w->now_ms = at_ms;
		if (level > 0)
			cascade(w, level);
	}
	/* Nothing is due by now_ms, so every slot stays ahead of it. */
	if (now_ms > w->now_ms)
		w->now_ms = now_ms;
	return fired;
}

int64_t wheel_next_ms(const struct wheel *w)
{
	uint64_t at_ms;
	unsigned level;

	if (!next_event(w, &at_ms, &level))
		return -1;
	if (level == OVERFLOW_LEVEL) {
		at_ms = list_earliest(w->overflow, at_ms);
	} else {
		unsigned slot = slot_of(at_ms, level);

		at_ms = w->min_ms[level][slot];
		if (!(w->min_known[level] & 1ull << slot))
			at_ms = list_earliest(w->slots[level][slot], at_ms);
	}
	return at_ms - w->now_ms > INT64_MAX ? INT64_MAX
					     : (int64_t)(at_ms - w->now_ms);
}
