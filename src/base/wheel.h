/* Timer wheel: one per worker, entries embedded in their owners. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_WHEEL_H
#define SB_BASE_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

struct wheel_timer;
typedef void (*wheel_cb)(struct wheel_timer *t);

/*
 * A timer lives inside its owner (use container_of in the callback). It is
 * inactive after init, after it fired and after wheel_stop(). Only the
 * wheel's owner thread touches it.
 */
struct wheel_timer {
	struct wheel_timer *next;   /* slot list */
	struct wheel_timer **pprev; /* slot list; NULL = inactive */
	uint64_t due_ms;	    /* absolute, wheel clock */
	wheel_cb cb;
};

enum {
	WHEEL_LEVELS = 4,	/* slots of 1 ms, 64 ms, 4.096 s, 262.144 s */
	WHEEL_LEVEL_BITS = 6,	/* due-time bits one level tells apart */
	WHEEL_LEVEL_SLOTS = 64, /* per level: one bit of a 64-bit word each */
	WHEEL_SCAN_MAX = 64	/* timers wheel_next_ms reads in one slot */
};

/*
 * A hierarchical wheel in caller storage: level l has 64 slots of 64^l ms;
 * a timer waits on the lowest level whose slots tell its due time apart
 * from the clock (wheel.c has the rule), and moves down as the clock nears
 * it. Timers due more than 2^24 ms (4.66 hours) ahead may wait on an
 * overflow list. Only the owner thread touches it.
 */
struct wheel {
	uint64_t now_ms;		  /* wheel clock: last advance */
	uint64_t occupied[WHEEL_LEVELS];  /* bit s: slots[l][s] not empty */
	uint64_t min_known[WHEEL_LEVELS]; /* bit s: min_ms[l][s] is exact */
	uint64_t min_ms[WHEEL_LEVELS][WHEEL_LEVEL_SLOTS]; /* <= earliest due */
	struct wheel_timer *slots[WHEEL_LEVELS][WHEEL_LEVEL_SLOTS]; /* lists */
	struct wheel_timer *overflow; /* due past the top level's turn */
	uint32_t count;		      /* active timers */
};

void wheel_init(struct wheel *w, uint64_t now_ms);
/* Deactivate every timer left (without firing them). */
void wheel_close(struct wheel *w);

void wheel_timer_init(struct wheel_timer *t, wheel_cb cb);
/* (Re)start t to fire delay_ms after the wheel clock. O(1). */
void wheel_start(struct wheel *w, struct wheel_timer *t, uint64_t delay_ms);
/* Stop t if it is active. O(1). */
void wheel_stop(struct wheel *w, struct wheel_timer *t);
static inline bool wheel_timer_active(const struct wheel_timer *t)
{
	return t->pprev != 0;
}

/*
 * Move the clock to now_ms (never back) and fire every timer due at or
 * before it, in due order; timers due in the same millisecond fire in no
 * set order. A callback may start or stop any timer, itself and the ones
 * still to fire in this call included; one started with a zero delay fires
 * in this call. Not to be called from a callback. Costs O(1) per fired
 * timer, amortised, plus O(levels) per non-empty slot the clock passes:
 * an idle gap of any length is skipped in one step. Returns the number
 * fired.
 */
unsigned wheel_advance(struct wheel *w, uint64_t now_ms);

/*
 * Milliseconds from the wheel clock until the wheel next has work: 0 when
 * a timer is already due, -1 when no timer is active. Used to arm the one
 * libuv timer that drives the wheel. Never later than the earliest due
 * time. Exact unless the slot holding the earliest timer holds more than
 * WHEEL_SCAN_MAX timers and either is the overflow list or had its own
 * earliest timer stopped: then a lower bound, no earlier than the clock's
 * entry into that slot, where wheel_advance() moves the slot down a level
 * and the answer gets finer. O(levels + WHEEL_SCAN_MAX).
 */
int64_t wheel_next_ms(const struct wheel *w);

#endif
