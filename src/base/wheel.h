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
	struct wheel_timer *next, **pprev; /* slot list; pprev NULL = inactive */
	uint64_t due_ms;		   /* absolute, wheel clock */
	wheel_cb cb;
};

enum { WHEEL_SLOTS = 1024 }; /* slots of 1 ms; longer timers wait rounds */

struct wheel {
	uint64_t now_ms;			/* wheel clock: last advance */
	struct wheel_timer *slots[WHEEL_SLOTS]; /* by due_ms % WHEEL_SLOTS */
	uint32_t count;				/* active timers */
};

void wheel_init(struct wheel *w, uint64_t now_ms);
/* Deactivate every timer left (without firing them). */
void wheel_close(struct wheel *w);

void wheel_timer_init(struct wheel_timer *t, wheel_cb cb);
/* (Re)start t to fire delay_ms after the wheel clock. */
void wheel_start(struct wheel *w, struct wheel_timer *t, uint64_t delay_ms);
void wheel_stop(struct wheel *w, struct wheel_timer *t);
static inline bool wheel_timer_active(const struct wheel_timer *t)
{
	return t->pprev != 0;
}

/*
 * Move the clock to now_ms and fire, in due order, every timer due at or
 * before it. A callback may start or stop any timer, itself included.
 * Returns the number fired.
 */
unsigned wheel_advance(struct wheel *w, uint64_t now_ms);

/*
 * Milliseconds from the wheel clock until the next timer is due (0 when one
 * is already due), or -1 when no timer is active. Used to arm the one libuv
 * timer that drives the wheel. Exact, except that with more than
 * WHEEL_SLOTS timers and none due within WHEEL_SLOTS ms it returns
 * WHEEL_SLOTS, a safe lower bound that spares a scan of every timer.
 */
int64_t wheel_next_ms(const struct wheel *w);

#endif
