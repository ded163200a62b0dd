/* Worker threads: one libuv loop, timer wheel and inbound queue each. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_RUNTIME_WORKER_H
#define SB_RUNTIME_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/wheel.h"
#include "sip/transport/transport.h"

struct worker; /* opaque; owned by whoever made it with worker_new */

/* A job run on a worker's thread (worker_post). */
typedef void (*worker_job_cb)(void *arg);

/*
 * What a worker does with each received message it owns. Runs on the
 * worker's thread; takes ownership of im.
 */
typedef void (*worker_inmsg_cb)(void *ctx, struct worker *w,
				struct sip_inmsg *im);

/*
 * Called on the worker's thread: on_start before the loop runs its first
 * iteration (create per-worker state: transaction layer, services),
 * on_stop when worker_stop() reaches the thread (close what was opened on
 * the loop; the worker then closes its own handles and the loop ends).
 */
typedef void (*worker_life_cb)(void *ctx, struct worker *w);

struct worker_opts {
	unsigned id;		  /* 0..n-1, for logs and Call-ID hashing */
	uint32_t queue_size;	  /* inbound messages queued at most */
	worker_inmsg_cb on_inmsg; /* required */
	worker_life_cb on_start;  /* may be NULL */
	worker_life_cb on_stop;	  /* may be NULL */
	void *ctx;		  /* passed to the callbacks */
};

/* Counters a worker keeps; readable from any thread (relaxed atomics). */
struct worker_counts {
	uint64_t queued;    /* messages handed over by other threads */
	uint64_t overflows; /* messages refused because the queue was full */
	uint64_t jobs;	    /* jobs run */
	uint32_t depth;	    /* messages waiting in the queue now */
};

/*
 * Make a worker: its loop, wheel and handles are initialised here, the
 * thread starts with worker_start(). Returns 0 and sets *out, or
 * -ENOMEM / a libuv error. Any thread.
 */
int worker_new(const struct worker_opts *o, struct worker **out);

/* Start the thread. Returns 0 or a negative errno. */
int worker_start(struct worker *w);

/*
 * Ask the worker to stop, from any thread: on_stop runs on the worker,
 * jobs and messages queued before this call are handled first, then the
 * loop ends once every handle is closed. Idempotent.
 */
void worker_stop(struct worker *w);

/* Wait for the thread to end (after worker_stop). Not from the worker. */
void worker_join(struct worker *w);

/*
 * Free a worker that was never started or has been joined: messages still
 * queued are freed. Returns NULL. NULL-safe.
 */
struct worker *worker_free(struct worker *w);

/*
 * Run fn(arg) on w's thread, from any thread (also from w itself: it then
 * runs in a later loop turn). Jobs run in the order they were posted by
 * one thread. Returns 0 or -ENOMEM (fn will not run). A job posted after
 * the worker stopped is run by worker_free().
 */
int worker_post(struct worker *w, worker_job_cb fn, void *arg);

/*
 * Hand a message to its owner from another thread, without waking it:
 * returns 0 (ownership moves), or -ENOBUFS when the queue is full (the
 * overflow is counted; the caller keeps im and answers 503). Call
 * worker_wake() once after a batch of deliveries.
 */
int worker_deliver(struct worker *w, struct sip_inmsg *im);
void worker_wake(struct worker *w);

/*
 * Handle a message on its owner's thread now (the reader's own messages):
 * moves the wheel clock, then calls on_inmsg. Only from w's thread.
 */
void worker_process(struct worker *w, struct sip_inmsg *im);

/* The worker running the calling thread, or NULL outside workers. */
struct worker *worker_self(void);

unsigned worker_id(const struct worker *w);
uv_loop_t *worker_loop(struct worker *w);
/* The worker's timer wheel; only its thread touches it. */
struct wheel *worker_wheel(struct worker *w);
/* Milliseconds of the loop clock (also the wheel clock). Worker thread. */
uint64_t worker_now_ms(struct worker *w);
void worker_counts(const struct worker *w, struct worker_counts *out);

/* Per-worker data of the code that runs on it (e.g. the runtime's). */
void worker_set_data(struct worker *w, void *data);
void *worker_data(const struct worker *w);

#endif
