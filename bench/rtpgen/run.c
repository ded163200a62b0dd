/* rtpgen: the event loop, the phases of a run and the call life cycle. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "rtpgen.h"

enum {
	TICK_NS = 10000000,   /* housekeeping: ramp, retransmissions */
	DRAIN_NS = 500000000, /* keep sending after the window */
	GRACE_MS = 5000,      /* beyond every per-call timeout */
	MAX_EVENTS = 256,
	PACE_CHECK_EVERY = 16, /* events handled between pacing checks */
	PACE_BURST = 256,      /* packets sent per pacing timer, at most */
	MAX_NOTES = 20,	       /* per-call messages printed */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

int64_t rg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void refresh_rt_offset(struct rg *rg)
{
	struct timespec rt;
	int64_t mono = rg_now_ns();

	clock_gettime(CLOCK_REALTIME, &rt);
	rg->rt_offset_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - mono;
}

void rg_note(struct rg *rg, const char *fmt, ...)
{
	static unsigned notes;
	va_list ap;

	if (rg->opt.is_quiet || ++notes > MAX_NOTES)
		return;
	va_start(ap, fmt);
	fputs("rtpgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (notes == MAX_NOTES)
		fputs("rtpgen: (further messages suppressed)\n", stderr);
}

static void say(const struct rg *rg, const char *what)
{
	if (!rg->opt.is_quiet)
		fprintf(stderr, "rtpgen: %s\n", what);
}

/* ---------------------------------------------------------- call life */

void rg_call_side_peer(struct rg_call *c, enum rg_side side,
		       const struct sockaddr_in *peer)
{
	c->ep[side].peer = *peer;
	c->ep[side].has_peer = true;
}

/* One side learned where to send (the SDP it received) and may stream. */
void rg_call_side_up(struct rg *rg, struct rg_call *c, enum rg_side side,
		     const struct sockaddr_in *peer)
{
	if (c->state != RG_CALL_SETUP && c->state != RG_CALL_ACTIVE)
		return;
	rg_call_side_peer(c, side, peer);
	c->ep[side].tx.is_on = true;
}

void rg_call_up(struct rg *rg, struct rg_call *c)
{
	if (c->state != RG_CALL_SETUP)
		return;
	c->state = RG_CALL_ACTIVE;
	c->was_up = true;
	rg->settled++;
}

void rg_call_fail(struct rg *rg, struct rg_call *c, const char *why)
{
	if (c->state != RG_CALL_SETUP)
		return;
	c->ep[0].tx.is_on = false;
	c->ep[1].tx.is_on = false;
	c->state = RG_CALL_FAILED;
	rg->settled++;
	rg->failed++;
	rg_note(rg, "call %u setup failed: %s", c->idx, why);
}

/* The far side ended a call we did not end (or one side stopped). */
void rg_call_side_stop(struct rg *rg, struct rg_call *c, enum rg_side side)
{
	c->ep[side].tx.is_on = false;
	if (c->state == RG_CALL_ACTIVE && !c->is_remote_end) {
		c->is_remote_end = true;
		rg->remote_ended++;
		rg_note(rg, "call %u ended by the far side", c->idx);
	}
}

void rg_call_down(struct rg *rg, struct rg_call *c, bool is_ok)
{
	if (c->state == RG_CALL_DONE)
		return;
	c->state = RG_CALL_DONE;
	c->ep[0].tx.is_on = false;
	c->ep[1].tx.is_on = false;
	rg->ended++;
	if (!is_ok)
		rg->teardown_failed++;
}

static void call_start(struct rg *rg, struct rg_call *c)
{
	c->state = RG_CALL_SETUP;
	rg->started++;
	switch (rg->opt.mode) {
	case RG_MODE_DIRECT:
		rg_call_side_up(rg, c, RG_SIDE_A, &c->ep[RG_SIDE_B].local);
		rg_call_side_up(rg, c, RG_SIDE_B, &c->ep[RG_SIDE_A].local);
		rg_call_up(rg, c);
		break;
	case RG_MODE_SIP:
		rg_sip_call_start(rg, c);
		break;
	case RG_MODE_NG:
		rg_ng_call_start(rg, c);
		break;
	}
}

static void call_stop(struct rg *rg, struct rg_call *c)
{
	bool has_session = c->state == RG_CALL_ACTIVE || c->was_up ||
			   c->state == RG_CALL_FAILED;

	rg->stopping++;
	c->ep[0].tx.is_on = false;
	c->ep[1].tx.is_on = false;
	if (c->state == RG_CALL_IDLE || c->state == RG_CALL_DONE ||
	    rg->opt.mode == RG_MODE_DIRECT || !has_session) {
		rg_call_down(rg, c, true);
		return;
	}
	c->state = RG_CALL_ENDING;
	if (rg->opt.mode == RG_MODE_SIP)
		rg_sip_call_stop(rg, c);
	else
		rg_ng_call_stop(rg, c);
}

/* ------------------------------------------------------------- phases */

static uint64_t read_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &utime, &stime) != 2)
		return 0;
	return utime + stime;
}

static double own_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void window_open(struct rg *rg, int64_t now)
{
	rg->phase = RG_PH_STEADY;
	rg->win_start_ns = now;
	rg->win_end_ns = now + (int64_t)(rg->opt.secs * 1e9);
	rg->phase_end_ns = rg->win_end_ns;
	rg->gen_cpu_s = -own_cpu_s();
	if (rg->opt.pid)
		rg->relay_ticks[0] = (int64_t)read_ticks(rg->opt.pid);
	say(rg, "steady window open");
}

static void window_close(struct rg *rg, int64_t now)
{
	if (now < rg->win_end_ns)
		rg->win_end_ns = now; /* interrupted: a shorter window */
	rg->gen_cpu_s += own_cpu_s();
	if (rg->opt.pid) {
		rg->relay_ticks[1] = (int64_t)read_ticks(rg->opt.pid);
		rg->has_relay_cpu = rg->relay_ticks[0] > 0 &&
				    rg->relay_ticks[1] >= rg->relay_ticks[0];
	}
	rg->phase = RG_PH_DRAIN;
	rg->phase_end_ns = now + DRAIN_NS;
	say(rg, "steady window closed");
}

/* How many calls a ramp at opt.rate should have reached by now. */
static uint32_t ramp_target(const struct rg *rg, int64_t now)
{
	double n = (double)(now - rg->ramp_start_ns) / 1e9 * rg->opt.rate + 1;

	return n >= rg->opt.calls ? rg->opt.calls : (uint32_t)n;
}

/* When a ramp of opt.calls at opt.rate, plus timeout_ms, must be over:
 * every call has a timeout, this bounds the phase should one be missed. */
static int64_t ramp_bound(const struct rg *rg, int timeout_ms)
{
	return rg->ramp_start_ns +
	       (int64_t)((double)rg->opt.calls / rg->opt.rate * 1e9) +
	       (int64_t)(timeout_ms + GRACE_MS) * 1000000;
}

/* Past the bound of a phase: calls still in state fail, or end. */
static void force_settle(struct rg *rg, enum rg_call_state state)
{
	uint32_t i;

	for (i = 0; i < rg->opt.calls; i++) {
		if (rg->calls[i].state != state)
			continue;
		if (state == RG_CALL_SETUP)
			rg_call_fail(rg, &rg->calls[i], "setup never ended");
		else
			rg_call_down(rg, &rg->calls[i], false);
	}
}

static void teardown_begin(struct rg *rg, int64_t now)
{
	rg->phase = RG_PH_TEARDOWN;
	rg->ramp_start_ns = now;
	say(rg, "tearing down");
}

static void on_tick(struct rg *rg, int64_t now)
{
	uint32_t target;

	if (stop_requested && rg->phase < RG_PH_TEARDOWN) {
		if (rg->phase == RG_PH_STEADY)
			window_close(rg, now);
		teardown_begin(rg, now);
	}
	switch (rg->phase) {
	case RG_PH_RAMP:
		target = ramp_target(rg, now);
		while (rg->started < target)
			call_start(rg, &rg->calls[rg->started]);
		if (now > ramp_bound(rg, RG_SETUP_TIMEOUT_MS))
			force_settle(rg, RG_CALL_SETUP);
		if (rg->settled == rg->opt.calls) {
			rg->phase = RG_PH_SETTLE;
			rg->phase_end_ns =
			    now + (int64_t)(rg->opt.settle_s * 1e9);
			say(rg, "all calls set up");
		}
		break;
	case RG_PH_SETTLE:
		if (now >= rg->phase_end_ns)
			window_open(rg, now);
		break;
	case RG_PH_STEADY:
		if (now >= rg->phase_end_ns)
			window_close(rg, now);
		break;
	case RG_PH_DRAIN:
		if (now >= rg->phase_end_ns)
			teardown_begin(rg, now);
		break;
	case RG_PH_TEARDOWN:
		target = rg->opt.mode == RG_MODE_DIRECT ? rg->opt.calls
							: ramp_target(rg, now);
		while (rg->stopping < target)
			call_stop(rg, &rg->calls[rg->stopping]);
		if (now > ramp_bound(rg, 2 * RG_TEARDOWN_TIMEOUT_MS))
			force_settle(rg, RG_CALL_ENDING);
		if (rg->ended == rg->opt.calls)
			rg->phase = RG_PH_DONE;
		break;
	case RG_PH_DONE:
		break;
	}
	if (rg->opt.mode == RG_MODE_SIP)
		rg_sip_tick(rg, now);
	else if (rg->opt.mode == RG_MODE_NG)
		rg_ng_tick(rg, now);
}

/* --------------------------------------------------------------- loop */

static int timer_open(struct rg *rg, struct rg_io *io, enum rg_io_kind kind)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = io};

	io->kind = kind;
	io->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (io->fd < 0 || epoll_ctl(rg->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
		return -errno;
	return 0;
}

static void timer_drain(int fd)
{
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return;
}

static void dispatch(struct rg *rg, struct rg_io *io)
{
	switch (io->kind) {
	case RG_IO_RTP:
		rg_rtp_on_readable(rg, (struct rg_endpoint *)io);
		break;
	case RG_IO_PACE:
		break; /* handled first, see rg_run */
	case RG_IO_TICK:
		timer_drain(io->fd);
		on_tick(rg, rg_now_ns());
		break;
	case RG_IO_SIP:
		rg_sip_on_readable(rg, io);
		break;
	case RG_IO_NG:
		rg_ng_on_readable(rg);
		break;
	}
}

/*
 * Runs the phases to the end: ramp, settle, steady window, drain,
 * teardown. Each wake-up handles the pacing timer first, then the other
 * events, looking at the clock every PACE_CHECK_EVERY of them so that a
 * burst of arrivals does not delay sends. Returns 0, or a
 * negative errno when the loop itself failed.
 */
int rg_run(struct rg *rg)
{
	struct itimerspec tick = {.it_interval.tv_nsec = TICK_NS,
				  .it_value.tv_nsec = TICK_NS};
	struct epoll_event evs[MAX_EVENTS];
	struct sigaction sa = {.sa_handler = on_signal};
	int err, n, i;

	if ((err = timer_open(rg, &rg->pace, RG_IO_PACE)) ||
	    (err = timer_open(rg, &rg->tick, RG_IO_TICK)))
		return err;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rg->win_start_ns = INT64_MAX;
	rg->win_end_ns = INT64_MAX;
	rg->t0_ns = rg_now_ns();
	rg->ramp_start_ns = rg->t0_ns;
	rg->pace_next_ns = rg->t0_ns;
	refresh_rt_offset(rg);
	timerfd_settime(rg->tick.fd, 0, &tick, NULL);
	rg_pace_run(rg, PACE_BURST);
	on_tick(rg, rg->t0_ns);
	while (rg->phase != RG_PH_DONE) {
		n = epoll_wait(rg->epfd, evs, MAX_EVENTS, 100);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		refresh_rt_offset(rg);
		for (i = 0; i < n; i++) {
			struct rg_io *io = evs[i].data.ptr;

			if (io->kind == RG_IO_PACE) {
				timer_drain(io->fd);
				rg_pace_run(rg, PACE_BURST);
			}
		}
		for (i = 0; i < n; i++) {
			if (i % PACE_CHECK_EVERY == PACE_CHECK_EVERY - 1 &&
			    rg_now_ns() >= rg->pace_next_ns)
				rg_pace_run(rg, PACE_CHECK_EVERY);
			dispatch(rg, evs[i].data.ptr);
		}
	}
	return 0;
}
