/* Unit tests for worker threads: jobs, the inbound queue, timers, stop. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "runtime/worker.h"

enum { PRODUCERS = 4, PER_PRODUCER = 20000, SEM_WAIT_MS = 10000 };

struct fx {
	int64_t live_alloc, live_inmsg;
	struct worker *w;
	uv_sem_t done;
	_Atomic uint64_t received;
	uint64_t want;		  /* messages before done is posted */
	uint32_t last[PRODUCERS]; /* per producer: last sequence seen */
	bool is_out_of_order;
	struct worker *seen_self; /* worker_self() inside a job */
	uint64_t timer_start_ms, timer_fired_ms;
	struct wheel_timer timer;
};

static struct fx *fx_of_timer(struct wheel_timer *t)
{
	return (struct fx *)((char *)t - offsetof(struct fx, timer));
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	f.live_inmsg = sb_live_get(SB_LIVE_INMSG);
	assert_int_equal(uv_sem_init(&f.done, 0), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->w = worker_free(f->w);
	uv_sem_destroy(&f->done);
	assert_int_equal(sb_live_get(SB_LIVE_INMSG), f->live_inmsg);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

/* The hash field carries producer << 24 | sequence in these tests. */
static void on_inmsg(void *ctx, struct worker *w, struct sip_inmsg *im)
{
	struct fx *f = ctx;
	uint32_t p = im->hash >> 24, seq = im->hash & 0xffffff;

	assert_ptr_equal(worker_self(), w);
	if (p < PRODUCERS) {
		if (seq != f->last[p] + 1)
			f->is_out_of_order = true;
		f->last[p] = seq;
	}
	sip_inmsg_free(im);
	if (atomic_fetch_add(&f->received, 1) + 1 == f->want)
		uv_sem_post(&f->done);
}

static void make(struct fx *f, uint32_t queue_size)
{
	struct worker_opts o = {
	    .id = 3,
	    .queue_size = queue_size,
	    .on_inmsg = on_inmsg,
	    .ctx = f,
	};

	assert_int_equal(worker_new(&o, &f->w), 0);
	assert_int_equal(worker_id(f->w), 3);
}

/* uv_sem_wait with a bound, so a broken worker fails the test. */
static void wait_done(struct fx *f)
{
	for (int ms = 0; ms < SEM_WAIT_MS; ms++) {
		if (uv_sem_trywait(&f->done) == 0)
			return;
		uv_sleep(1);
	}
	fail_msg("timed out after %d ms", SEM_WAIT_MS);
}

static void stop(struct fx *f)
{
	worker_stop(f->w);
	worker_join(f->w);
}

static struct sip_inmsg *msg(uint32_t producer, uint32_t seq)
{
	struct sip_inmsg *im = sip_inmsg_new(8);

	assert_non_null(im);
	im->hash = producer << 24 | seq;
	return im;
}

static void job_self(void *arg)
{
	struct fx *f = arg;

	f->seen_self = worker_self();
	uv_sem_post(&f->done);
}

static void test_worker_post_runs_on_worker(void **state)
{
	struct fx *f = *state;

	make(f, 16);
	assert_int_equal(worker_start(f->w), 0);
	assert_null(worker_self());
	assert_int_equal(worker_post(f->w, job_self, f), 0);
	wait_done(f);
	assert_ptr_equal(f->seen_self, f->w);
	stop(f);
}

static void test_worker_deliver_in_order(void **state)
{
	struct fx *f = *state;

	make(f, 1024);
	f->want = 1000;
	assert_int_equal(worker_start(f->w), 0);
	for (uint32_t i = 1; i <= 1000; i++) {
		assert_int_equal(worker_deliver(f->w, msg(0, i)), 0);
		if (i % 32 == 0)
			worker_wake(f->w);
	}
	worker_wake(f->w);
	wait_done(f);
	assert_false(f->is_out_of_order);
	assert_int_equal(f->last[0], 1000);
	stop(f);
}

static void test_worker_queue_full(void **state)
{
	struct fx *f = *state;
	struct sip_inmsg *extra;
	struct worker_counts c;

	make(f, 16);
	for (uint32_t i = 1; i <= 16; i++)
		assert_int_equal(worker_deliver(f->w, msg(0, i)), 0);
	extra = msg(0, 17);
	assert_int_equal(worker_deliver(f->w, extra), -ENOBUFS);
	sip_inmsg_free(extra);
	worker_counts(f->w, &c);
	assert_int_equal(c.depth, 16);
	assert_int_equal(c.queued, 16);
	assert_int_equal(c.overflows, 1);
	/* Never started: worker_free drops what is queued (teardown). */
}

struct producer {
	struct fx *f;
	uint32_t id;
	uv_thread_t thread;
};

static void produce(void *arg)
{
	struct producer *p = arg;

	for (uint32_t i = 1; i <= PER_PRODUCER; i++) {
		struct sip_inmsg *im = msg(p->id, i);

		while (worker_deliver(p->f->w, im) != 0) {
			worker_wake(p->f->w);
			uv_sleep(1);
		}
		if (i % 32 == 0)
			worker_wake(p->f->w);
	}
	worker_wake(p->f->w);
}

/* Several threads at once: nothing lost, each producer's order kept. */
static void test_worker_many_producers(void **state)
{
	struct fx *f = *state;
	struct producer p[PRODUCERS];
	struct worker_counts c;

	make(f, 256);
	f->want = (uint64_t)PRODUCERS * PER_PRODUCER;
	assert_int_equal(worker_start(f->w), 0);
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		p[i] = (struct producer){f, i, 0};
		assert_int_equal(uv_thread_create(&p[i].thread, produce, &p[i]),
				 0);
	}
	for (uint32_t i = 0; i < PRODUCERS; i++)
		uv_thread_join(&p[i].thread);
	wait_done(f);
	assert_false(f->is_out_of_order);
	for (uint32_t i = 0; i < PRODUCERS; i++)
		assert_int_equal(f->last[i], PER_PRODUCER);
	worker_counts(f->w, &c);
	assert_int_equal(c.queued, f->want);
	assert_int_equal(c.depth, 0);
	stop(f);
}

static void on_timer(struct wheel_timer *t)
{
	struct fx *f = fx_of_timer(t);

	f->timer_fired_ms = worker_now_ms(worker_self());
	uv_sem_post(&f->done);
}

static void job_timer(void *arg)
{
	struct fx *f = arg;
	struct worker *w = worker_self();

	f->timer_start_ms = worker_now_ms(w);
	wheel_timer_init(&f->timer, on_timer);
	wheel_start(worker_wheel(w), &f->timer, 30);
}

/* The one uv timer fires wheel timers on time, not before. */
static void test_worker_wheel_timer(void **state)
{
	struct fx *f = *state;
	uint64_t t0 = uv_hrtime();

	make(f, 16);
	assert_int_equal(worker_start(f->w), 0);
	assert_int_equal(worker_post(f->w, job_timer, f), 0);
	wait_done(f);
	assert_true(f->timer_fired_ms - f->timer_start_ms >= 30);
	assert_true(uv_hrtime() - t0 >= 29 * 1000000ull);
	assert_true(uv_hrtime() - t0 < 2000 * 1000000ull);
	stop(f);
}

static void job_count(void *arg)
{
	atomic_fetch_add((_Atomic uint64_t *)arg, 1);
}

/* Messages and jobs queued before stop are handled; later jobs run in
 * worker_free, later messages are freed there. */
static void test_worker_stop_drains(void **state)
{
	struct fx *f = *state;
	_Atomic uint64_t jobs = 0;

	make(f, 64);
	f->want = 10;
	for (uint32_t i = 1; i <= 10; i++)
		assert_int_equal(worker_deliver(f->w, msg(0, i)), 0);
	assert_int_equal(worker_post(f->w, job_count, &jobs), 0);
	assert_int_equal(worker_start(f->w), 0);
	stop(f);
	assert_int_equal(atomic_load(&f->received), 10);
	assert_int_equal(atomic_load(&jobs), 1);
	assert_int_equal(worker_post(f->w, job_count, &jobs), 0);
	assert_int_equal(worker_deliver(f->w, msg(0, 11)), 0);
	f->w = worker_free(f->w);
	assert_int_equal(atomic_load(&jobs), 2);
	assert_int_equal(atomic_load(&f->received), 10);
}

/* A worker that never ran is freed cleanly, its loop closed. */
static void test_worker_free_unstarted(void **state)
{
	struct fx *f = *state;

	make(f, 16);
	worker_set_data(f->w, f);
	assert_ptr_equal(worker_data(f->w), f);
	assert_non_null(worker_loop(f->w));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_worker_post_runs_on_worker,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_worker_deliver_in_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_worker_queue_full, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_worker_many_producers, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_worker_wheel_timer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_worker_stop_drains, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_worker_free_unstarted, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
