/* Worker threads: a libuv loop, a timer wheel and lock-free inboxes each. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "runtime/worker.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "sip/transport/udp.h"

#define LOG_MODULE "worker"

enum {
	WORKER_NOT_ARMED = 0,	   /* armed_due_ms when the uv timer is off */
	WORKER_SLEEP_MAX_MS = 1000 /* longest the uv timer is armed for */
};

/* A posted job; allocated by worker_post, freed after it ran. */
struct job {
	struct job *next;
	worker_job_cb fn;
	void *arg;
};

/*
 * The two inboxes are lock-free LIFO stacks: producers push with a
 * compare-and-swap, the worker takes a whole stack with one exchange and
 * reverses it, so a batch costs the consumer one atomic operation.
 */
struct worker {
	struct worker_opts o;
	uv_loop_t loop;
	uv_async_t wake;      /* jobs or messages arrived, or stop */
	uv_timer_t tick;      /* the one timer driving the wheel */
	uv_prepare_t prepare; /* re-arms tick before the loop blocks */
	uv_thread_t thread;
	struct wheel wheel;    /* worker thread only */
	uint64_t armed_due_ms; /* wheel time tick fires; worker only */
	_Atomic(struct sip_inmsg *) inbox; /* newest first */
	_Atomic(struct job *) jobs;	   /* newest first */
	_Atomic uint32_t depth;		   /* messages in inbox */
	_Atomic uint64_t queued, overflows, jobs_run;
	_Atomic bool is_stopping;
	uv_mutex_t wake_lock; /* guards is_wake_open against uv_close */
	bool is_wake_open;    /* lock: wake_lock */
	bool is_started;      /* the thread was created */
	bool is_closing;      /* worker thread: handles are closing */
	void *data;	      /* the owner's per-worker state */
};

static _Thread_local struct worker *self;

/*
 * Move the wheel clock to the loop clock, firing what fell due, so that
 * timers started while handling a message count from the loop's time.
 * Cheap when nothing is due: a look at one slot and the occupancy words.
 */
static void clock_sync(struct worker *w)
{
	wheel_advance(&w->wheel, uv_now(&w->loop));
}

static struct sip_inmsg *reverse_msgs(struct sip_inmsg *m, uint32_t *n)
{
	struct sip_inmsg *out = NULL;

	*n = 0;
	while (m) {
		struct sip_inmsg *next = m->next;
		m->next = out;
		out = m;
		m = next;
		(*n)++;
	}
	return out;
}

static struct job *reverse_jobs(struct job *j)
{
	struct job *out = NULL;

	while (j) {
		struct job *next = j->next;
		j->next = out;
		out = j;
		j = next;
	}
	return out;
}

static void run_jobs(struct worker *w)
{
	struct job *j =
	    atomic_exchange_explicit(&w->jobs, NULL, memory_order_acquire);

	for (j = reverse_jobs(j); j;) {
		struct job *next = j->next;
		j->fn(j->arg);
		sb_free(j);
		atomic_fetch_add_explicit(&w->jobs_run, 1,
					  memory_order_relaxed);
		j = next;
	}
}

/* Messages still queued when the worker is gone are dropped. */
static void drop_msgs(struct worker *w)
{
	struct sip_inmsg *m =
	    atomic_exchange_explicit(&w->inbox, NULL, memory_order_acquire);
	uint32_t n;

	for (m = reverse_msgs(m, &n); m;) {
		struct sip_inmsg *next = m->next;
		sip_inmsg_free(m);
		m = next;
	}
	atomic_fetch_sub_explicit(&w->depth, n, memory_order_relaxed);
}

static void on_closed(uv_handle_t *h)
{
}

static void close_handles(struct worker *w)
{
	uv_mutex_lock(&w->wake_lock);
	w->is_wake_open = false;
	uv_mutex_unlock(&w->wake_lock);
	uv_close((uv_handle_t *)&w->wake, on_closed);
	uv_close((uv_handle_t *)&w->tick, on_closed);
	uv_close((uv_handle_t *)&w->prepare, on_closed);
}

static void on_tick(uv_timer_t *t)
{
	struct worker *w = t->data;

	w->armed_due_ms = WORKER_NOT_ARMED;
	clock_sync(w);
}

/*
 * Before the loop blocks: fire what is due, send the datagrams queued this
 * turn (tp_udp_flush), then arm the one uv timer for the wheel's next due
 * time, at most WORKER_SLEEP_MAX_MS ahead, re-arming only when that time
 * changed. The wheel answers in bounded time whatever its size; a time it
 * gives early (a slot it has yet to split) costs one more wake-up.
 */
static void on_prepare(uv_prepare_t *p)
{
	struct worker *w = p->data;
	int64_t next;
	uint64_t due;

	clock_sync(w);
	tp_udp_flush();
	next = wheel_next_ms(&w->wheel);
	if (next < 0) {
		if (w->armed_due_ms != WORKER_NOT_ARMED) {
			uv_timer_stop(&w->tick);
			w->armed_due_ms = WORKER_NOT_ARMED;
		}
		return;
	}
	if (next > WORKER_SLEEP_MAX_MS)
		next = WORKER_SLEEP_MAX_MS;
	due = w->wheel.now_ms + (uint64_t)next;
	if (due == w->armed_due_ms)
		return;
	w->armed_due_ms = due;
	uv_timer_start(&w->tick, on_tick, (uint64_t)next, 0);
}

/*
 * Jobs first, then every message queued so far, in arrival order; then a
 * pending stop. Whatever arrives meanwhile wakes the loop again, so timers
 * and I/O run between batches.
 */
static void on_wake(uv_async_t *a)
{
	struct worker *w = a->data;
	struct sip_inmsg *m;
	uint32_t n;

	clock_sync(w);
	run_jobs(w);
	m = atomic_exchange_explicit(&w->inbox, NULL, memory_order_acquire);
	m = reverse_msgs(m, &n);
	atomic_fetch_sub_explicit(&w->depth, n, memory_order_relaxed);
	while (m) {
		struct sip_inmsg *next = m->next;
		m->next = NULL;
		w->o.on_inmsg(w->o.ctx, w, m);
		m = next;
	}
	if (atomic_load(&w->is_stopping) && !w->is_closing) {
		w->is_closing = true;
		tp_udp_flush();
		if (w->o.on_stop)
			w->o.on_stop(w->o.ctx, w);
		close_handles(w);
	}
}

static void thread_main(void *arg)
{
	struct worker *w = arg;
	int rc;

	self = w;
	wheel_init(&w->wheel, uv_now(&w->loop));
	if (w->o.on_start)
		w->o.on_start(w->o.ctx, w);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	tp_udp_flush();
	wheel_close(&w->wheel);
	rc = uv_loop_close(&w->loop);
	if (rc != 0)
		log_warn("loop_busy", "worker=%u error=\"%s\"", w->o.id,
			 uv_strerror(rc));
	self = NULL;
}

int worker_new(const struct worker_opts *o, struct worker **out)
{
	struct worker *w = sb_calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	w->o = *o;
	rc = uv_loop_init(&w->loop);
	if (rc != 0) {
		sb_free(w);
		return rc;
	}
	rc = uv_mutex_init(&w->wake_lock);
	if (rc != 0) {
		uv_loop_close(&w->loop);
		sb_free(w);
		return rc;
	}
	uv_async_init(&w->loop, &w->wake, on_wake);
	uv_timer_init(&w->loop, &w->tick);
	uv_prepare_init(&w->loop, &w->prepare);
	uv_prepare_start(&w->prepare, on_prepare);
	w->wake.data = w;
	w->tick.data = w;
	w->prepare.data = w;
	w->is_wake_open = true;
	w->loop.data = w;
	wheel_init(&w->wheel, uv_now(&w->loop));
	*out = w;
	return 0;
}

int worker_start(struct worker *w)
{
	int rc = uv_thread_create(&w->thread, thread_main, w);

	if (rc == 0)
		w->is_started = true;
	return rc;
}

void worker_stop(struct worker *w)
{
	atomic_store(&w->is_stopping, true);
	worker_wake(w);
}

void worker_join(struct worker *w)
{
	if (w->is_started)
		uv_thread_join(&w->thread);
	w->is_started = false;
}

struct worker *worker_free(struct worker *w)
{
	if (!w)
		return NULL;
	if (!w->is_closing) {
		/* Never ran: close the handles on this thread. */
		w->is_closing = true;
		close_handles(w);
		uv_run(&w->loop, UV_RUN_NOWAIT);
		uv_loop_close(&w->loop);
	}
	run_jobs(w);
	drop_msgs(w);
	uv_mutex_destroy(&w->wake_lock);
	sb_free(w);
	return NULL;
}

int worker_post(struct worker *w, worker_job_cb fn, void *arg)
{
	struct job *j = sb_malloc(sizeof(*j));
	struct job *head;

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	head = atomic_load_explicit(&w->jobs, memory_order_relaxed);
	do
		j->next = head;
	while (!atomic_compare_exchange_weak_explicit(
	    &w->jobs, &head, j, memory_order_release, memory_order_relaxed));
	worker_wake(w);
	return 0;
}

int worker_deliver(struct worker *w, struct sip_inmsg *im)
{
	uint32_t d =
	    atomic_fetch_add_explicit(&w->depth, 1, memory_order_relaxed);
	struct sip_inmsg *head;

	if (d >= w->o.queue_size) {
		atomic_fetch_sub_explicit(&w->depth, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->overflows, 1,
					  memory_order_relaxed);
		return -ENOBUFS;
	}
	head = atomic_load_explicit(&w->inbox, memory_order_relaxed);
	do
		im->next = head;
	while (!atomic_compare_exchange_weak_explicit(
	    &w->inbox, &head, im, memory_order_release, memory_order_relaxed));
	atomic_fetch_add_explicit(&w->queued, 1, memory_order_relaxed);
	return 0;
}

void worker_wake(struct worker *w)
{
	uv_mutex_lock(&w->wake_lock);
	if (w->is_wake_open)
		uv_async_send(&w->wake);
	uv_mutex_unlock(&w->wake_lock);
}

void worker_process(struct worker *w, struct sip_inmsg *im)
{
	clock_sync(w);
	im->next = NULL;
	w->o.on_inmsg(w->o.ctx, w, im);
}

struct worker *worker_self(void)
{
	return self;
}

unsigned worker_id(const struct worker *w)
{
	return w->o.id;
}

uv_loop_t *worker_loop(struct worker *w)
{
	return &w->loop;
}

struct wheel *worker_wheel(struct worker *w)
{
	return &w->wheel;
}

uint64_t worker_now_ms(struct worker *w)
{
	return uv_now(&w->loop);
}

void worker_counts(const struct worker *w, struct worker_counts *out)
{
	struct worker *m = (struct worker *)w; /* atomics are read-only here */

	out->queued = atomic_load_explicit(&m->queued, memory_order_relaxed);
	out->overflows =
	    atomic_load_explicit(&m->overflows, memory_order_relaxed);
	out->jobs = atomic_load_explicit(&m->jobs_run, memory_order_relaxed);
	out->depth = atomic_load_explicit(&m->depth, memory_order_relaxed);
}

void worker_set_data(struct worker *w, void *data)
{
	w->data = data;
}

void *worker_data(const struct worker *w)
{
	return w->data;
}
