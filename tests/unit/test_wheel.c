/* Unit tests for the timer wheel (base/wheel.c). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/mem.h"
#include "base/wheel.h"

enum { MAX_TIMERS = 64, MAX_LOG = 4096, MANY = 1025 };

struct owner {
	struct wheel_timer timer;
	int id;
	unsigned fired;
	uint64_t fired_at;
	uint64_t period_ms;	   /* > 0: restart itself with this delay */
	struct owner *stop_other;  /* stopped from the callback */
	struct owner *start_other; /* (re)started from the callback */
	uint64_t other_delay_ms;   /* with this delay */
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
		wheel_start(&g->w, &o->start_other->timer, o->other_delay_ms);
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

	/* many advances that do not reach it, across level boundaries */
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
	static struct owner many[MANY];

	/* more timers in one slot than next_ms reads: never too late */
	for (size_t i = 0; i < MANY; i++) {
		wheel_timer_init(&many[i].timer, on_fire);
		wheel_start(&f->w, &many[i].timer, 5000 + i);
	}
	assert_true(wheel_next_ms(&f->w) >= 1024);
	assert_true(wheel_next_ms(&f->w) <= 5000);
	wheel_advance(&f->w, 4000);
	assert_int_equal(wheel_next_ms(&f->w), 1000);
	assert_int_equal(wheel_advance(&f->w, 10000), MANY);
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

/*
 * Timers of the larger tests. Each knows when it is due by the test's own
 * account and counts a firing at any other wheel time as wrong.
 */
struct probe {
	struct wheel_timer timer;
	uint64_t due_ms; /* the test's model */
	unsigned fired;
};

static const struct wheel *probe_wheel; /* the wheel being advanced */
static uint64_t probe_wrong;		/* fired at another time or twice */

static void on_probe(struct wheel_timer *t)
{
	struct probe *p =
	    (struct probe *)((char *)t - offsetof(struct probe, timer));

	if (p->due_ms != probe_wheel->now_ms || p->fired)
		probe_wrong++;
	p->fired++;
}

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rand64(unsigned *seed)
{
	uint64_t r = 0;

	for (int i = 0; i < 4; i++)
		r = r << 16 ^ (uint64_t)(rand_r(seed) & 0xffff);
	return r;
}

/*
 * Every delay from 0 to 300,000 ms at once, from a start time; then 1 ms
 * steps for the first 20 s and random jumps of up to 20 s after. Each timer
 * must fire exactly at its due time, and each advance fire exactly those
 * due by its target.
 */
static void sweep_from(uint64_t start_ms, unsigned *seed)
{
	enum { SWEEP_MS = 300000, STEP_UNTIL_MS = 20000, JUMP_MAX_MS = 20000 };
	struct probe *p = calloc(SWEEP_MS + 1, sizeof(*p));
	struct wheel w;
	uint64_t now = start_ms, fired = 0;

	assert_non_null(p);
	wheel_init(&w, start_ms);
	probe_wheel = &w;
	probe_wrong = 0;
	for (uint64_t d = 0; d <= SWEEP_MS; d++) {
		wheel_timer_init(&p[d].timer, on_probe);
		p[d].due_ms = start_ms + d;
		wheel_start(&w, &p[d].timer, d);
	}
	while (fired < SWEEP_MS + 1) {
		uint64_t want;

		if (now - start_ms < STEP_UNTIL_MS)
			now++;
		else
			now += 1 + (uint64_t)rand_r(seed) % JUMP_MAX_MS;
		want = now - start_ms < SWEEP_MS ? now - start_ms + 1
						 : SWEEP_MS + 1;
		assert_int_equal(wheel_advance(&w, now), want - fired);
		fired = want;
		assert_int_equal(w.count, SWEEP_MS + 1 - fired);
	}
	assert_int_equal(probe_wrong, 0);
	for (uint64_t d = 0; d <= SWEEP_MS; d++)
		assert_int_equal(p[d].fired, 1);
	assert_int_equal(wheel_next_ms(&w), -1);
	wheel_close(&w);
	free(p);
}

static void test_wheel_level_boundaries_exact(void **state)
{
	unsigned seed = 99;
	/* aligned, just before each level's boundary, just before the top
	 * level's turn (so timers start on the overflow list), and random */
	const uint64_t starts[] = {0,
				   1,
				   63,
				   4095 - 7,
				   262144 - 3,
				   (1ull << 24) - 150000,
				   (5ull << 24) - 1,
				   rand64(&seed) >> 8};

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		sweep_from(starts[i], &seed);
}

static void test_wheel_stop_cascaded(void **state)
{
	struct fx *f = *state;

	/* level 2 at first, level 1 after 4096, level 0 after 4992 */
	wheel_start(&f->w, &f->o[0].timer, 5000);
	wheel_start(&f->w, &f->o[1].timer, 5001);
	wheel_start(&f->w, &f->o[2].timer, 5002);
	assert_int_equal(wheel_advance(&f->w, 4096), 0);
	wheel_stop(&f->w, &f->o[0].timer);
	assert_false(wheel_timer_active(&f->o[0].timer));
	assert_int_equal(f->w.count, 2);
	assert_int_equal(wheel_next_ms(&f->w), 905);
	assert_int_equal(wheel_advance(&f->w, 4999), 0);
	wheel_stop(&f->w, &f->o[1].timer);
	assert_int_equal(wheel_next_ms(&f->w), 3);
	assert_int_equal(wheel_advance(&f->w, 6000), 1);
	assert_int_equal(f->o[0].fired + f->o[1].fired, 0);
	assert_int_equal(f->o[2].fired_at, 5002);

	/* from the overflow list: moved at each turn of the top level */
	wheel_start(&f->w, &f->o[3].timer, (2ull << 24) + 7);
	wheel_start(&f->w, &f->o[4].timer, (3ull << 24) + 100);
	assert_int_equal(wheel_next_ms(&f->w), (2ull << 24) + 7);
	assert_int_equal(wheel_advance(&f->w, 6000 + (2ull << 24)), 0);
	wheel_stop(&f->w, &f->o[3].timer);
	assert_int_equal(f->w.count, 1);
	assert_int_equal(wheel_next_ms(&f->w), (1ull << 24) + 100);
	assert_int_equal(wheel_advance(&f->w, 6099 + (3ull << 24)), 0);
	assert_int_equal(wheel_advance(&f->w, 6100 + (3ull << 24)), 1);
	assert_int_equal(f->o[4].fired_at, 6100 + (3ull << 24));
	assert_int_equal(f->o[3].fired, 0);
	assert_int_equal(f->w.count, 0);
}

static void test_wheel_restart_in_callback(void **state)
{
	struct fx *f = *state;
	int first;

	/* same millisecond: whichever fires first pushes the other back */
	f->o[0].start_other = &f->o[1];
	f->o[1].start_other = &f->o[0];
	f->o[0].other_delay_ms = 50;
	f->o[1].other_delay_ms = 50;
	wheel_start(&f->w, &f->o[0].timer, 100);
	wheel_start(&f->w, &f->o[1].timer, 100);
	assert_int_equal(wheel_advance(&f->w, 149), 1);
	first = f->log[0];
	assert_int_equal(f->o[first].fired_at, 100);
	assert_int_equal(wheel_next_ms(&f->w), 1);
	assert_int_equal(wheel_advance(&f->w, 150), 1);
	assert_int_equal(f->o[1 - first].fired_at, 150);
	assert_int_equal(wheel_advance(&f->w, 199), 0);
	assert_int_equal(wheel_advance(&f->w, 200), 1);
	assert_int_equal(f->o[first].fired_at, 200);
	wheel_stop(&f->w, &f->o[0].timer);
	wheel_stop(&f->w, &f->o[1].timer);

	/* across levels (the clock is at 200): a level-2 timer pulled in to
	 * fire next, and the timer due in the next millisecond stopped */
	f->o[2].start_other = &f->o[3];
	f->o[2].other_delay_ms = 1;
	f->o[2].stop_other = &f->o[4];
	wheel_start(&f->w, &f->o[2].timer, 64);
	wheel_start(&f->w, &f->o[3].timer, 4100);
	wheel_start(&f->w, &f->o[4].timer, 65);
	/* restarting itself with a delay that lands on another level */
	f->o[5].period_ms = 5000;
	wheel_start(&f->w, &f->o[5].timer, 4000);
	assert_int_equal(wheel_advance(&f->w, 20000), 1 + 1 + 4);
	assert_int_equal(f->o[2].fired_at, 264);
	assert_int_equal(f->o[3].fired_at, 265);
	assert_int_equal(f->o[3].fired, 1);
	assert_int_equal(f->o[4].fired, 0);
	assert_int_equal(f->o[5].fired, 4);
	assert_int_equal(f->o[5].fired_at, 19200);
	assert_int_equal(wheel_next_ms(&f->w), 4200);
	wheel_stop(&f->w, &f->o[5].timer);
}

static void on_count(struct wheel_timer *t)
{
	g->o[0].fired++;
}

static void test_wheel_million_start_stop(void **state)
{
	enum { N = 1000000, FIRE_BY_MS = 600000, BOUND_S = 5 };
	struct fx *f = *state;
	struct wheel_timer *t = calloc(N, sizeof(*t));
	uint64_t *due = calloc(N, sizeof(*due));
	unsigned seed = 7, want = 0;
	uint64_t t0 = clock_ns();

	assert_non_null(t);
	assert_non_null(due);
	for (size_t i = 0; i < N; i++) {
		due[i] = (uint64_t)rand_r(&seed) % (1u << 26);
		wheel_timer_init(&t[i], on_count);
		wheel_start(&f->w, &t[i], due[i]);
	}
	assert_int_equal(f->w.count, N);
	for (size_t i = 0; i < N; i += 2) {
		due[i] = (uint64_t)rand_r(&seed) % (1u << 26);
		wheel_start(&f->w, &t[i], due[i]);
	}
	for (size_t i = 0; i < N; i++)
		want += due[i] <= FIRE_BY_MS;
	assert_int_equal(wheel_advance(&f->w, FIRE_BY_MS), want);
	assert_int_equal(f->o[0].fired, want);
	for (size_t i = 0; i < N; i++)
		wheel_stop(&f->w, &t[(i * 7919) % N]);
	assert_int_equal(f->w.count, 0);
	for (size_t i = 0; i < N; i++)
		assert_false(wheel_timer_active(&t[i]));
	assert_int_equal(wheel_next_ms(&f->w), -1);
	assert_true(clock_ns() - t0 < BOUND_S * 1000000000ull);
	free(due);
	free(t);
}

/* The wheel's rule, restated: the highest base-64 digit in which due and
 * now differ, WHEEL_LEVELS for the overflow list. */
static unsigned model_level(uint64_t due_ms, uint64_t now_ms)
{
	unsigned level = 0;

	for (uint64_t x = due_ms ^ now_ms; x >> WHEEL_LEVEL_BITS;
	     x >>= WHEEL_LEVEL_BITS)
		level++;
	return level < WHEEL_LEVELS ? level : WHEEL_LEVELS;
}

/*
 * wheel_next_ms against a scan of every timer: never later than the
 * earliest due time, never before the clock enters the slot holding it,
 * and exact when that slot is short or no minimum can be stale (nothing
 * was stopped or restarted).
 */
static void check_next(const struct wheel *w, const struct probe *p, size_t n,
		       bool is_exact)
{
	uint64_t earliest = UINT64_MAX, floor, span = 0;
	size_t in_slot = 0;
	unsigned level;
	int64_t got = wheel_next_ms(w);
	bool any = false;

	for (size_t i = 0; i < n; i++)
		if (wheel_timer_active(&p[i].timer) &&
		    p[i].due_ms <= earliest) {
			earliest = p[i].due_ms;
			any = true;
		}
	if (!any) {
		assert_int_equal(got, -1);
		return;
	}
	level = model_level(earliest, w->now_ms);
	if (level < WHEEL_LEVELS) {
		span = 1ull << (level * WHEEL_LEVEL_BITS);
		floor = earliest & ~(span - 1);
	} else {
		floor = (w->now_ms |
			 ((1ull << (WHEEL_LEVELS * WHEEL_LEVEL_BITS)) - 1)) +
			1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!wheel_timer_active(&p[i].timer))
			continue;
		if (level < WHEEL_LEVELS
			? p[i].due_ms - floor < span
			: model_level(p[i].due_ms, w->now_ms) == WHEEL_LEVELS)
			in_slot++;
	}
	assert_true(got >= 0);
	assert_true((uint64_t)got <= earliest - w->now_ms);
	assert_true((uint64_t)got >= floor - w->now_ms);
	if (is_exact || in_slot <= WHEEL_SCAN_MAX)
		assert_int_equal(got, earliest - w->now_ms);
}

static void test_wheel_next_ms_against_brute_force(void **state)
{
	enum { N = 300, SCENARIOS = 160, STEPS = 500 };
	static const uint64_t ranges[] = {100, 10000, 1000000, 1ull << 27};
	struct probe *p = calloc(N, sizeof(*p));
	unsigned seed = 4242;
	struct wheel w;

	assert_non_null(p);
	probe_wheel = &w;
	probe_wrong = 0;
	for (int sc = 0; sc < SCENARIOS; sc++) {
		uint64_t range = ranges[sc % 4];
		/* half the scenarios crowd one slot past WHEEL_SCAN_MAX */
		bool is_crowded = sc % 8 >= 4;
		bool is_exact = true;
		unsigned empty_wakes = 0, active = 0;
		uint64_t crowd_ms;

		wheel_init(&w, rand64(&seed) >> (sc % 3 ? 20 : 1));
		crowd_ms = w.now_ms + 2 * range;
		for (size_t i = 0; i < N; i++) {
			wheel_timer_init(&p[i].timer, on_probe);
			p[i].fired = 0;
		}
		for (int step = 0; step < STEPS; step++) {
			size_t i = (size_t)rand_r(&seed) % N;
			unsigned op = (unsigned)rand_r(&seed) % 10;

			if (op < 5) {
				uint64_t d = (uint64_t)rand_r(&seed) % range;

				if (is_crowded && op < 3 &&
				    crowd_ms >= w.now_ms)
					d = crowd_ms - w.now_ms +
					    (uint64_t)rand_r(&seed) % 16;

				if (wheel_timer_active(&p[i].timer))
					is_exact = false;
				p[i].due_ms = w.now_ms + d;
				p[i].fired = 0;
				wheel_start(&w, &p[i].timer, d);
			} else if (op < 7) {
				if (wheel_timer_active(&p[i].timer))
					is_exact = false;
				wheel_stop(&w, &p[i].timer);
			} else if (op < 8) {
				uint64_t to =
				    w.now_ms +
				    (uint64_t)rand_r(&seed) % (range / 8 + 1);
				unsigned want = 0;

				for (size_t k = 0; k < N; k++)
					want +=
					    wheel_timer_active(&p[k].timer) &&
					    p[k].due_ms <= to;
				assert_int_equal(wheel_advance(&w, to), want);
			}
			check_next(&w, p, N, is_exact);
		}
		/* drive it as the worker does, until every timer fired */
		active = w.count;
		for (int64_t next; (next = wheel_next_ms(&w)) >= 0;) {
			if (wheel_advance(&w, w.now_ms + (uint64_t)next) == 0)
				empty_wakes++;
			check_next(&w, p, N, false);
		}
		assert_true(empty_wakes <= 3 * active + 16);
		assert_int_equal(probe_wrong, 0);
		wheel_close(&w);
	}
	free(p);
}

static void test_wheel_next_ms_after_stopping_earliest(void **state)
{
	struct fx *f = *state;
	static struct owner many[200];
	unsigned wakes = 0;

	/* one level-2 slot (4096..8191) with more than WHEEL_SCAN_MAX */
	for (size_t i = 0; i < 200; i++) {
		wheel_timer_init(&many[i].timer, on_fire);
		wheel_start(&f->w, &many[i].timer, 5000 + i);
	}
	assert_int_equal(wheel_next_ms(&f->w), 5000);
	wheel_stop(&f->w, &many[0].timer);
	assert_true(wheel_next_ms(&f->w) >= 4096);
	assert_true(wheel_next_ms(&f->w) <= 5001);
	while (many[1].fired == 0) {
		wheel_advance(&f->w,
			      f->w.now_ms + (uint64_t)wheel_next_ms(&f->w));
		wakes++;
	}
	assert_int_equal(many[1].fired_at, 5001);
	assert_true(wakes <= 3);
	assert_int_equal(wheel_next_ms(&f->w), 1);
	assert_int_equal(wheel_advance(&f->w, 10000), 198);
}

static void test_wheel_idle_jump(void **state)
{
	enum { HOUR_MS = 3600000, REPEAT = 5, BOUND_NS = 1000000 };
	struct fx *f = *state;
	uint64_t best_ns = UINT64_MAX;

	for (uint64_t r = 0; r < REPEAT; r++) {
		uint64_t start = r * 1234567, t0;
		unsigned fired;

		wheel_init(&f->w, start);
		for (int i = 0; i < 4; i++)
			f->o[i].fired = 0;
		wheel_start(&f->w, &f->o[0].timer, 3ull * HOUR_MS);
		wheel_start(&f->w, &f->o[1].timer, 10ull * HOUR_MS);
		wheel_start(&f->w, &f->o[2].timer, 10ull * HOUR_MS + 1);
		wheel_start(&f->w, &f->o[3].timer, 25ull * HOUR_MS);
		t0 = clock_ns();
		fired = wheel_advance(&f->w, start + 10ull * HOUR_MS);
		if (clock_ns() - t0 < best_ns)
			best_ns = clock_ns() - t0;
		assert_int_equal(fired, 2);
		assert_int_equal(f->o[0].fired_at, start + 3ull * HOUR_MS);
		assert_int_equal(f->o[1].fired_at, start + 10ull * HOUR_MS);
		assert_int_equal(f->o[2].fired + f->o[3].fired, 0);
		assert_int_equal(wheel_next_ms(&f->w), 1);
		wheel_stop(&f->w, &f->o[2].timer);
		wheel_stop(&f->w, &f->o[3].timer);
		/* and with nothing at all */
		t0 = clock_ns();
		assert_int_equal(wheel_advance(&f->w, start + 20ull * HOUR_MS),
				 0);
		if (clock_ns() - t0 < best_ns)
			best_ns = clock_ns() - t0;
	}
	assert_true(best_ns < BOUND_NS);
}

static void test_wheel_clock_end(void **state)
{
	struct fx *f = *state;

	/* a saturated due time is the last millisecond of the clock */
	wheel_init(&f->w, UINT64_MAX - 100);
	wheel_start(&f->w, &f->o[0].timer, 50);
	wheel_start(&f->w, &f->o[1].timer, UINT64_MAX);
	assert_int_equal(f->o[1].timer.due_ms, UINT64_MAX);
	assert_int_equal(wheel_next_ms(&f->w), 50);
	assert_int_equal(wheel_advance(&f->w, UINT64_MAX - 1), 1);
	assert_int_equal(wheel_next_ms(&f->w), 1);
	assert_int_equal(wheel_advance(&f->w, UINT64_MAX), 1);
	assert_int_equal(f->o[1].fired_at, UINT64_MAX);

	/* far ahead of an ordinary clock: waits, reports the longest */
	wheel_init(&f->w, 1000);
	wheel_start(&f->w, &f->o[2].timer, UINT64_MAX);
	assert_int_equal(wheel_next_ms(&f->w), INT64_MAX);
	assert_int_equal(wheel_advance(&f->w, 1ull << 40), 0);
	assert_true(wheel_timer_active(&f->o[2].timer));
	wheel_stop(&f->w, &f->o[2].timer);
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
	    cmocka_unit_test_setup_teardown(test_wheel_level_boundaries_exact,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_stop_cascaded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_restart_in_callback,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_million_start_stop,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_wheel_next_ms_against_brute_force, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_wheel_next_ms_after_stopping_earliest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_idle_jump, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wheel_clock_end, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
