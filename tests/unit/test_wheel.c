/* Unit tests for the timer wheel (base/wheel.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "base/wheel.h"

enum { MAX_TIMERS = 64, MAX_LOG = 4096 };

struct owner {
	struct wheel_timer timer;
	int id;
	unsigned fired;
	uint64_t fired_at;
	uint64_t period_ms;	   /* > 0: restart itself with this delay */
	struct owner *stop_other;  /* stopped from the callback */
	struct owner *start_other; /* started with a zero delay */
};

struct fx {
	int64_t live_alloc;
	struct wheel w;
	struct owner o[MAX_TIMERS];
	int log[MAX_LOG]; /* ids in firing order */
	uint64_t log_at[MAX_LOG];
	size_t nlog;
};

static struct fx *g;

static void on_fire(struct wheel_timer *t)
{
	struct owner *o =
	    (struct owner *)((char *)t - offsetof(struct owner, timer));

	o->fired++;
	o->fired_at = g->w.now_ms;
	if (g->nlog < MAX_LOG) {
		g->log[g->nlog] = o->id;
		g->log_at[g->nlog++] = g->w.now_ms;
	}
	if (o->stop_other)
		wheel_stop(&g->w, &o->stop_other->timer);
	if (o->start_other)
		wheel_start(&g->w, &o->start_other->timer, 0);
	if (o->period_ms)
		wheel_start(&g->w, &o->timer, o->period_ms);
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	wheel_init(&f.w, 0);
	for (int i = 0; i < MAX_TIMERS; i++) {
		wheel_timer_init(&f.o[i].timer, on_fire);
		f.o[i].id = i;
	}
	g = &f;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	wheel_close(&f->w);
	assert_int_equal(f->w.count, 0);
	for (int i = 0; i < MAX_TIMERS; i++)
		assert_false(wheel_timer_active(&f->o[i].timer));
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static void test_wheel_fires_at_due(void **state)
{
	struct fx *f = *state;

	wheel_start(&f->w, &f->o[0].timer, 10);
	assert_true(wheel_timer_active(&f->o[0].timer));
	assert_int_equal(wheel_advance(&f->w, 9), 0);
	assert_int_equal(f->o[0].fired, 0);
	assert_int_equal(wheel_advance(&f->w, 10), 1);
	assert_int_equal(f->o[0].fired, 1);
	assert_int_equal(f->o[0].fired_at, 10);
	assert_false(wheel_timer_active(&f->o[0].timer));
	assert_int_equal(wheel_advance(&f->w, 5000), 0);
	assert_int_equal(f->w.count, 0);
}

static void test_wheel_due_order(void **state)
{
	struct fx *f = *state;
	static const uint64_t delays[] = {300,	5, 1023, 1024, 1025,
					  2048, 7, 999,	 4000, 1};

	for (int i = 0; i < 10; i++)
		wheel_start(&f->w, &f->o[i].timer, delays[i]);
	assert_int_equal(f->w.count, 10);
	assert_int_equal(wheel_advance(&f->w, 10000), 10);
	for (size_t i = 1; i < f->nlog; i++)
		assert_true(f->log_at[i - 1] <= f->log_at[i]);
	for (int i = 0; i < 10; i++)
		assert_int_equal(f->o[i].fired_at, delays[i]);
}

static void test_wheel_rounds(void **state)
{
	struct fx *f = *state;

	/* 5000 shares a slot with 904, 1928, 2952 and 3976 */
	wheel_start(&f->w, &f->o[0].timer, 5000);
	for (uint64_t now = 1; now < 5000; now += 7)
		assert_int_equal(wheel_advance(&f->w, now), 0);
	assert_int_equal(wheel_advance(&f->w, 4999), 0);
	assert_int_equal(wheel_advance(&f->w, 5000), 1);
	assert_int_equal(f->o[0].fired_at, 5000);
}

static void test_wheel_stop(void **state)
{
	struct fx *f = *state;

	wheel_start(&f->w, &f->o[0].timer, 20);
	wheel_start(&f->w, &f->o[1].timer, 20);
	wheel_stop(&f->w, &f->o[0].timer);
	wheel_stop(&f->w, &f->o[0].timer); /* twice is harmless */
	assert_false(wheel_timer_active(&f->o[0].timer));
	assert_int_equal(f->w.count, 1);
	assert_int_equal(wheel_advance(&f->w, 100), 1);
	assert_int_equal(f->o[0].fired, 0);
	assert_int_equal(f->o[1].fired, 1);
}

static void test_wheel_restart(void **state)
{
	struct fx *f = *state;

	wheel_start(&f->w, &f->o[0].timer, 50);
	wheel_advance(&f->w, 40);
	wheel_start(&f->w, &f->o[0].timer, 50); /* now due at 90 */
	assert_int_equal(f->w.count, 1);
	assert_int_equal(wheel_advance(&f->w, 89), 0);
	assert_int_equal(wheel_advance(&f->w, 90), 1);
	assert_int_equal(f->o[0].fired_at, 90);
}

static void test_wheel_callback_restarts_itself(void **state)
{
	struct fx *f = *state;

	f->o[0].period_ms = 100;
	wheel_start(&f->w, &f->o[0].timer, 100);
	assert_int_equal(wheel_advance(&f->w, 1000), 10);
	assert_int_equal(f->o[0].fired, 10);
	assert_int_equal(f->o[0].fired_at, 1000);
	for (size_t i = 0; i < f->nlog; i++)
		assert_int_equal(f->log_at[i], 100 * (i + 1));
	assert_true(wheel_timer_active(&f->o[0].timer));
	assert_int_equal(wheel_next_ms(&f->w), 100);
}

static void test_wheel_callback_stops_others(void **state)
{
	struct fx *f = *state;

	/* same tick, each stops the other: whichever runs first wins, the
	 * other is still on the list being fired */
	f->o[0].stop_other = &f->o[1];
	f->o[1].stop_other = &f->o[0];
	f->o[2].stop_other = &f->o[3];
	wheel_start(&f->w, &f->o[1].timer, 30);
	wheel_start(&f->w, &f->o[0].timer, 30);
	/* a later timer stopped from an earlier callback */
	wheel_start(&f->w, &f->o[2].timer, 40);
	wheel_start(&f->w, &f->o[3].timer, 41);
	assert_int_equal(wheel_advance(&f->w, 100), 2);
	assert_int_equal(f->o[0].fired + f->o[1].fired, 1);
	assert_int_equal(f->o[2].fired, 1);
	assert_int_equal(f->o[3].fired, 0);
	assert_int_equal(f->w.count, 0);
}

static void test_wheel_callback_zero_delay(void **state)
{
	struct fx *f = *state;

	f->o[0].start_other = &f->o[1];
	f->o[1].start_other = &f->o[2];
	wheel_start(&f->w, &f->o[0].timer, 10);
	assert_int_equal(wheel_advance(&f->w, 10), 3);
	assert_int_equal(f->o[1].fired_at, 10);
	assert_int_equal(f->o[2].fired_at, 10);
}

static void test_wheel_zero_delay_same_now(void **state)
{
	struct fx *f = *state;

	wheel_advance(&f->w, 77);
	wheel_start(&f->w, &f->o[0].timer, 0);
	assert_int_equal(wheel_next_ms(&f->w), 0);
	assert_int_equal(wheel_advance(&f->w, 77), 1);
	assert_int_equal(f->o[0].fired_at, 77);
}

static void test_wheel_next_ms(void **state)
{
	struct fx *f = *state;

	assert_int_equal(wheel_next_ms(&f->w), -1);
	wheel_start(&f->w, &f->o[0].timer, 3000);
	assert_int_equal(wheel_next_ms(&f->w), 3000);
	wheel_start(&f->w, &f->o[1].timer, 700);
	assert_int_equal(wheel_next_ms(&f->w), 700);
	wheel_advance(&f->w, 650);
	assert_int_equal(wheel_next_ms(&f->w), 50);
	wheel_advance(&f->w, 700);
	assert_int_equal(wheel_next_ms(&f->w), 2300);
	wheel_stop(&f->w, &f->o[0].timer);
	assert_int_equal(wheel_next_ms(&f->w), -1);
}

static void test_wheel_next_ms_lower_bound(void **state)
{
	struct fx *f = *state;
	static struct owner many[WHEEL_SLOTS + 1];

	/* past a turn with many timers: a lower bound, never too late */
	for (size_t i = 0; i < WHEEL_SLOTS + 1; i++) {
		wheel_timer_init(&many[i].timer, on_fire);
		wheel_start(&f->w, &many[i].timer, 5000 + i);
	}
	assert_true(wheel_next_ms(&f->w) >= WHEEL_SLOTS);
	assert_true(wheel_next_ms(&f->w) <= 5000);
	wheel_advance(&f->w, 4000);
	assert_int_equal(wheel_next_ms(&f->w), 1000);
	assert_int_equal(wheel_advance(&f->w, 10000), WHEEL_SLOTS + 1);
	assert_int_equal(wheel_next_ms(&f->w), -1);
}

static void test_wheel_long_gap(void **state)
{
	struct fx *f = *state;

	wheel_start(&f->w, &f->o[0].timer, 100);
	wheel_start(&f->w, &f->o[1].timer, 10000000);
	wheel_start(&f->w, &f->o[2].timer, 10000001);
	wheel_start(&f->w, &f->o[3].timer, 90000000);
	assert_int_equal(wheel_advance(&f->w, 50000000), 3);
	assert_int_equal(f->o[0].fired_at, 100);
	assert_int_equal(f->o[1].fired_at, 10000000);
	assert_int_equal(f->o[2].fired_at, 10000001);
	assert_int_equal(f->w.now_ms, 50000000);
	assert_int_equal(wheel_next_ms(&f->w), 40000000);
	assert_int_equal(wheel_advance(&f->w, 90000000), 1);
	assert_int_equal(f->o[3].fired_at, 90000000);
}

static void test_wheel_clock_never_goes_back(void **state)
{
	struct fx *f = *state;

	wheel_advance(&f->w, 500);
	wheel_start(&f->w, &f->o[0].timer, 10);
	assert_int_equal(wheel_advance(&f->w, 100), 0);
	assert_int_equal(f->w.now_ms, 500);
	assert_int_equal(wheel_advance(&f->w, 510), 1);
}

static void test_wheel_close_deactivates(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 8; i++)
		wheel_start(&f->w, &f->o[i].timer, (uint64_t)i * 400);
	wheel_close(&f->w);
	assert_int_equal(f->w.count, 0);
	for (int i = 0; i < 8; i++)
		assert_false(wheel_timer_active(&f->o[i].timer));
	assert_int_equal(wheel_advance(&f->w, 10000), 0);
}

/* Random starts, stops and advances against a plain model. */
static void test_wheel_random_against_model(void **state)
{
	struct fx *f = *state;
	uint64_t due[MAX_TIMERS], now = 0;
	bool on[MAX_TIMERS] = {false};
	unsigned seed = 12345;

	for (int step = 0; step < 20000; step++) {
		int i = (int)(rand_r(&seed) % MAX_TIMERS);
		unsigned op = (unsigned)rand_r(&seed) % 10;

		if (op < 5) {
			uint64_t d = (uint64_t)rand_r(&seed) % 3000;
			wheel_start(&f->w, &f->o[i].timer, d);
			due[i] = now + d;
			on[i] = true;
		} else if (op < 7) {
			wheel_stop(&f->w, &f->o[i].timer);
			on[i] = false;
		} else {
			uint64_t to = now + (uint64_t)rand_r(&seed) % 1500;
			unsigned want = 0;
			int64_t next = -1;

			for (int k = 0; k < MAX_TIMERS; k++) {
				f->o[k].fired = 0;
				if (on[k] && due[k] <= to) {
					want++;
					on[k] = false;
				}
			}
			assert_int_equal(wheel_advance(&f->w, to), want);
			now = to;
			for (int k = 0; k < MAX_TIMERS; k++) {
				assert_int_equal(
				    wheel_timer_active(&f->o[k].timer), on[k]);
				if (f->o[k].fired)
					assert_int_equal(f->o[k].fired_at,
							 due[k]);
				if (on[k] && (next < 0 ||
					      (int64_t)(due[k] - now) < next))
					next = (int64_t)(due[k] - now);
			}
			assert_int_equal(wheel_next_ms(&f->w), next);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_wheel_fires_at_due, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_due_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_rounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_restart, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_callback_restarts_itself,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_callback_stops_others,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_callback_zero_delay,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_zero_delay_same_now,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_next_ms, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_next_ms_lower_bound,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_long_gap, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_clock_never_goes_back,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_close_deactivates, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_random_against_model,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
