/* Timer wheel benchmark: ns per start, stop and fired timer at SIP load. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/wheel.h"

/*
 * The wheel as a worker drives it under the OPTIONS benchmark at 10,000
 * transactions/s: each transaction starts a 32 s end timer (RFC 3261 Timer
 * J) and a 500 ms retransmission timer that its answer stops 2 ms later, so
 * 320,000 timers are live. One loop turn per millisecond of wheel time:
 * wheel_advance() to the turn's time, wheel_next_ms() (what the worker arms
 * its libuv timer with), then the turn's arrivals and stops. The first 32 s
 * fill the wheel and are not measured; then each phase of every turn is
 * timed, for 60 s of wheel time unless an argument says otherwise.
 *
 * Then two extremes: 1,000,000 timers with random delays up to an hour
 * started then stopped, and one advance over 10 idle hours.
 *
 * Usage: bench_wheel [seconds of wheel time, default 60]
 *
 * Instructions, which a busy machine cannot skew (see docs/PERFORMANCE.md):
 *   valgrind --tool=callgrind --toggle-collect='measure_turns*' bench_wheel 10
 */

enum {
	RATE_PER_MS = 10,  /* arrivals: 10,000 transactions/s */
	LINGER_MS = 32000, /* end timer: Timer J, 64 * T1 */
	RETX_MS = 500,	   /* retransmission timer, stopped by the answer */
	ANSWER_MS = 2,	   /* answer arrives this long after the request */
	POOL = RATE_PER_MS * (LINGER_MS + 1000), /* transactions in the ring */
	BULK = 1000000				 /* timers of the bulk test */
};

struct sim_txn {
	struct wheel_timer end;	 /* Timer J */
	struct wheel_timer retx; /* Timer G */
};

struct phase {
	const char *name;
	uint64_t ns;
	uint64_t ops;
};

static uint64_t fired_end, fired_retx;

static void on_end(struct wheel_timer *t)
{
	fired_end++;
}

static void on_retx(struct wheel_timer *t)
{
	fired_retx++;
}

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One loop turn at wheel time ms; phases are timed when p is not NULL. */
static void turn(struct wheel *w, struct sim_txn *pool, uint64_t ms,
		 struct phase *p)
{
	uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
	uint64_t first = ms * RATE_PER_MS;
	unsigned fired;
	int64_t next;

	if (p)
		t0 = clock_ns();
	fired = wheel_advance(w, ms);
	if (p)
		t1 = clock_ns();
	next = wheel_next_ms(w);
	if (p)
		t2 = clock_ns();
	for (uint64_t k = first; k < first + RATE_PER_MS; k++) {
		struct sim_txn *t = &pool[k % POOL];

		wheel_start(w, &t->end, LINGER_MS);
		wheel_start(w, &t->retx, RETX_MS);
	}
	if (p)
		t3 = clock_ns();
	if (ms >= ANSWER_MS)
		for (uint64_t k = first - ANSWER_MS * RATE_PER_MS;
		     k < first - ANSWER_MS * RATE_PER_MS + RATE_PER_MS; k++)
			wheel_stop(w, &pool[k % POOL].retx);
	if (!p)
		return;
	t4 = clock_ns();
	p[0].ns += t1 - t0;
	p[0].ops += fired;
	p[1].ns += t1 - t0;
	p[1].ops++;
	p[2].ns += t2 - t1;
	p[2].ops++;
	p[3].ns += t3 - t2;
	p[3].ops += 2 * RATE_PER_MS;
	p[4].ns += t4 - t3;
	p[4].ops += RATE_PER_MS;
	if (next < 0)
		abort(); /* the wheel is never empty here */
}

/* Cost of one clock_ns(), which each timed phase of a turn pays once. */
static double clock_cost_ns(void)
{
	enum { READS = 1000000 };
	uint64_t t0 = clock_ns(), t1 = t0;

	for (int i = 0; i < READS; i++)
		t1 = clock_ns();
	return (double)(t1 - t0) / READS;
}

static double per_op(const struct phase *p)
{
	return p->ops ? (double)p->ns / (double)p->ops : 0.0;
}

/* The measured turns, a function of their own for callgrind's
 * --toggle-collect. */
__attribute__((noinline)) static void
measure_turns(struct wheel *w, struct sim_txn *pool, uint64_t from_ms,
	      uint64_t to_ms, struct phase *p)
{
	for (uint64_t ms = from_ms; ms < to_ms; ms++)
		turn(w, pool, ms, p);
}

static void run_load(uint64_t run_ms)
{
	struct phase p[] = {{"fire (advance / fired timer)", 0, 0},
			    {"advance (per turn)", 0, 0},
			    {"next_ms (per turn)", 0, 0},
			    {"start", 0, 0},
			    {"stop", 0, 0}};
	struct sim_txn *pool = calloc(POOL, sizeof(*pool));
	struct wheel *w = malloc(sizeof(*w));
	uint64_t ms, total_ns, total_ops;

	if (!pool || !w) {
		fprintf(stderr, "bench_wheel: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < POOL; i++) {
		wheel_timer_init(&pool[i].end, on_end);
		wheel_timer_init(&pool[i].retx, on_retx);
	}
	wheel_init(w, 0);
	for (ms = 0; ms < LINGER_MS; ms++)
		turn(w, pool, ms, NULL);
	printf("load: %u arrivals/s, %u ms end timers, %u live timers, "
	       "%.0f s of wheel time, one turn per ms\n",
	       RATE_PER_MS * 1000, LINGER_MS, (unsigned)w->count,
	       (double)run_ms / 1000.0);
	fired_end = fired_retx = 0;
	measure_turns(w, pool, ms, ms + run_ms, p);
	printf("  %-30s %12s %10s\n", "operation", "count", "ns/op");
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		printf("  %-30s %12llu %10.1f\n", p[i].name,
		       (unsigned long long)p[i].ops, per_op(&p[i]));
	total_ns = p[1].ns + p[2].ns + p[3].ns + p[4].ns;
	total_ops = p[0].ops + p[3].ops + p[4].ops;
	printf("  %-30s %12llu %10.1f\n", "all (start + stop + fire)",
	       (unsigned long long)total_ops,
	       (double)total_ns / (double)total_ops);
	printf("  wheel time per second of load: %.2f ms (%.3f %% of a "
	       "core)\n",
	       (double)total_ns / 1e6 / ((double)run_ms / 1000.0),
	       (double)total_ns / 1e7 / ((double)run_ms / 1000.0));
	printf("  fired: %llu end, %llu retx; each per-turn figure includes "
	       "one clock read, %.1f ns\n",
	       (unsigned long long)fired_end, (unsigned long long)fired_retx,
	       clock_cost_ns());
	wheel_close(w);
	free(w);
	free(pool);
}

static void run_bulk(void)
{
	struct wheel_timer *t = calloc(BULK, sizeof(*t));
	struct wheel *w = malloc(sizeof(*w));
	unsigned seed = 1;
	uint64_t t0, t1, t2;

	if (!t || !w) {
		fprintf(stderr, "bench_wheel: out of memory\n");
		exit(1);
	}
	wheel_init(w, 0);
	for (size_t i = 0; i < BULK; i++)
		wheel_timer_init(&t[i], on_end);
	t0 = clock_ns();
	for (size_t i = 0; i < BULK; i++)
		wheel_start(w, &t[i], (uint64_t)rand_r(&seed) % 3600000);
	t1 = clock_ns();
	for (size_t i = 0; i < BULK; i++)
		wheel_stop(w, &t[i]);
	t2 = clock_ns();
	printf("bulk: %u timers, random delays up to 1 h\n", BULK);
	printf("  start %.1f ns/op, stop %.1f ns/op\n",
	       (double)(t1 - t0) / BULK, (double)(t2 - t1) / BULK);
	wheel_close(w);
	free(w);
	free(t);
}

static void run_idle(void)
{
	struct wheel *w = malloc(sizeof(*w));
	struct wheel_timer t;
	uint64_t t0, t1;
	unsigned fired;

	if (!w) {
		fprintf(stderr, "bench_wheel: out of memory\n");
		exit(1);
	}
	wheel_init(w, 0);
	wheel_timer_init(&t, on_end);
	wheel_start(w, &t, 36000001);
	t0 = clock_ns();
	fired = wheel_advance(w, 36000000);
	t1 = clock_ns();
	printf("idle: one advance over 10 h with one timer due after it: "
	       "%.1f us, %u fired\n",
	       (double)(t1 - t0) / 1000.0, fired);
	wheel_close(w);
	free(w);
}

int main(int argc, char **argv)
{
	double secs = 60.0;

	if (argc > 1 && (secs = strtod(argv[1], NULL)) <= 0) {
		fprintf(stderr, "usage: bench_wheel [seconds of wheel time]\n");
		return 2;
	}
	run_load((uint64_t)(secs * 1000.0));
	run_bulk();
	run_idle();
	return 0;
}
