/* rtpgen: RTP load generator for media relays, shared declarations. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef RTPGEN_H
#define RTPGEN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* G.711 PCMU at 20 ms: 50 packets per second and stream. */
enum {
	RG_PERIOD_NS = 20000000, /* one packet per stream every 20 ms */
	RG_RTP_HDR_LEN = 12,
	RG_PAYLOAD_LEN = 160, /* 20 ms of 8 kHz samples */
	RG_PKT_LEN = RG_RTP_HDR_LEN + RG_PAYLOAD_LEN,
	RG_TS_STEP = 160, /* RTP clock ticks per packet */
	RG_PT_PCMU = 0,
	RG_SETUP_TIMEOUT_MS = 10000,   /* a call not up by then failed */
	RG_TEARDOWN_TIMEOUT_MS = 8000, /* BYE or delete not answered */
	RG_BEHIND_NS = 2000000, /* send lateness p99 above this: behind */
};

enum rg_side { RG_SIDE_A = 0, RG_SIDE_B = 1 }; /* caller, callee */

enum rg_mode { RG_MODE_DIRECT, RG_MODE_SIP, RG_MODE_NG };

/* What an epoll event's data.ptr points at: the first member of its owner. */
enum rg_io_kind {
	RG_IO_RTP,
	RG_IO_PACE,
	RG_IO_TICK,
	RG_IO_SIP,
	RG_IO_NG,
};

struct rg_io {
	enum rg_io_kind kind;
	int fd;
};

/* Log-linear histogram of nanoseconds: exact below 128, 1/64 above. */
enum { RG_HIST_SUB = 64, RG_HIST_BUCKETS = RG_HIST_SUB * 36 };

struct rg_hist {
	uint64_t n;
	uint64_t max; /* exact */
	uint64_t counts[RG_HIST_BUCKETS];
};

void rg_hist_add(struct rg_hist *h, int64_t v);
uint64_t rg_hist_quantile(const struct rg_hist *h, double q);
void rg_hist_merge(struct rg_hist *into, const struct rg_hist *from);

/* What one endpoint sends. */
struct rg_tx {
	bool is_on; /* set up, and not stopped */
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	uint64_t sent;	   /* packets, whole run */
	uint64_t win_sent; /* packets sent inside the steady window */
};

/* What one endpoint receives: the other side's stream, after the relay. */
struct rg_rx {
	bool has_seq;
	int64_t max_ext;       /* highest extended sequence number seen */
	uint64_t seen;	       /* bit i set: max_ext - i arrived (duplicates) */
	uint64_t received;     /* unique packets, whole run */
	uint64_t win_received; /* unique packets sent inside the window */
	uint64_t dups;
	uint64_t reordered;
	uint64_t foreign;   /* not from the address the SDP advertised */
	uint64_t misrouted; /* another call's or direction's packet */
	uint64_t malformed;
	bool has_transit;
	int64_t transit_ns; /* last arrival - send time */
	double jitter_ns;   /* RFC 3550 A.8 estimate */
	double win_jitter_sum_ns;
	uint64_t win_jitter_n;
	double win_jitter_max_ns;
	uint32_t drops; /* SO_RXQ_OVFL: datagrams the socket dropped */
};

struct rg_call;

struct rg_endpoint {
	struct rg_io io; /* first: epoll data */
	struct rg_call *call;
	enum rg_side side;
	struct sockaddr_in local;
	struct sockaddr_in peer; /* c=/m= of the SDP this side received */
	bool has_peer;
	struct rg_tx tx;
	struct rg_rx rx;
};

enum rg_call_state {
	RG_CALL_IDLE,	/* not started */
	RG_CALL_SETUP,	/* signalling under way */
	RG_CALL_ACTIVE, /* set up; both sides stream */
	RG_CALL_FAILED, /* setup failed */
	RG_CALL_ENDING, /* teardown under way */
	RG_CALL_DONE,	/* torn down */
};

struct rg_call {
	uint32_t idx;
	enum rg_call_state state;
	bool was_up;	    /* reached RG_CALL_ACTIVE */
	bool is_remote_end; /* the far side ended it before teardown */
	struct rg_endpoint ep[2];
};

struct rg_opts {
	enum rg_mode mode;
	struct sockaddr_in server; /* --sip or --ng */
	struct in_addr ip;	   /* our SIP sockets and RTP endpoints */
	uint32_t calls;
	double secs;	    /* steady window */
	double rate;	    /* calls set up (and torn down) per second */
	double settle_s;    /* from the last call up to the window */
	uint16_t port_base; /* RTP on even ports from here; 0: ephemeral */
	int pid;	    /* relay process to measure; 0: none */
	bool is_quiet;
};

enum rg_phase {
	RG_PH_RAMP,	/* calls being set up */
	RG_PH_SETTLE,	/* all set up; let queues settle */
	RG_PH_STEADY,	/* the measured window */
	RG_PH_DRAIN,	/* still sending, window closed: late packets */
	RG_PH_TEARDOWN, /* BYE / delete */
	RG_PH_DONE,
};

struct rg_sip;
struct rg_ng;

struct rg {
	struct rg_opts opt;
	int epfd;
	struct rg_io pace; /* timerfd: the next packet is due */
	struct rg_io tick; /* timerfd: 10 ms housekeeping */
	struct rg_call *calls;
	enum rg_phase phase;
	int64_t phase_end_ns;  /* when the current timed phase ends */
	int64_t rt_offset_ns;  /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	int64_t t0_ns;	       /* pacing epoch */
	int64_t ramp_start_ns; /* ramp or teardown start */
	int64_t win_start_ns;  /* steady window, by send time */
	int64_t win_end_ns;
	uint64_t pace_round;  /* periods since t0 */
	uint32_t pace_pos;    /* next slot in the period */
	int64_t pace_next_ns; /* when that slot is due */
	uint32_t started;     /* calls whose setup began */
	uint32_t settled;     /* up or failed */
	uint32_t failed;
	uint32_t stopping; /* calls whose teardown began */
	uint32_t ended;	   /* torn down */
	uint32_t teardown_failed;
	uint32_t remote_ended; /* ended by the far side before teardown */
	uint64_t send_errors;
	uint64_t skipped;      /* window slots not sent: over a period late */
	struct rg_hist lat[2]; /* one-way added latency, by sending side */
	struct rg_hist late;   /* our own send lateness, in the window */
	struct rg_hist rx_lag; /* kernel arrival to our read, in the window */
	bool has_relay_cpu;
	int64_t relay_ticks[2]; /* utime+stime at window start and end */
	double gen_cpu_s;	/* our own CPU time over the window */
	struct rg_sip *sip;
	struct rg_ng *ng;
};

/* Monotonic nanoseconds. */
int64_t rg_now_ns(void);

/* Call life cycle, called by the setup modes (run.c). */
void rg_call_side_up(struct rg *rg, struct rg_call *c, enum rg_side side,
		     const struct sockaddr_in *peer);
void rg_call_side_peer(struct rg_call *c, enum rg_side side,
		       const struct sockaddr_in *peer);
void rg_call_up(struct rg *rg, struct rg_call *c);
void rg_call_fail(struct rg *rg, struct rg_call *c, const char *why);
void rg_call_side_stop(struct rg *rg, struct rg_call *c, enum rg_side side);
void rg_call_down(struct rg *rg, struct rg_call *c, bool is_ok);
void rg_note(struct rg *rg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* RTP endpoints and pacing (stream.c). */
int rg_streams_open(struct rg *rg);
void rg_streams_close(struct rg *rg);
void rg_pace_run(struct rg *rg, uint32_t max_sends);
void rg_rtp_on_readable(struct rg *rg, struct rg_endpoint *ep);

/* Event loop and phases (run.c). */
int rg_run(struct rg *rg);

/* SIP setup through a B2BUA (sip.c). */
int rg_sip_open(struct rg *rg);
void rg_sip_close(struct rg *rg);
void rg_sip_call_start(struct rg *rg, struct rg_call *c);
void rg_sip_call_stop(struct rg *rg, struct rg_call *c);
void rg_sip_tick(struct rg *rg, int64_t now);
void rg_sip_on_readable(struct rg *rg, struct rg_io *io);

/* rtpengine ng control (ng.c). */
int rg_ng_open(struct rg *rg);
void rg_ng_close(struct rg *rg);
void rg_ng_call_start(struct rg *rg, struct rg_call *c);
void rg_ng_call_stop(struct rg *rg, struct rg_call *c);
void rg_ng_tick(struct rg *rg, int64_t now);
void rg_ng_on_readable(struct rg *rg);

/* The figures (report.c): prints them, returns the exit status. */
int rg_report(const struct rg *rg);

/* SDP of one endpoint (sdp.c): PCMU and telephone-event. */
int rg_sdp_print(char *out, size_t cap, const struct sockaddr_in *media,
		 uint32_t session_id);
/* The c= address and m=audio port of body; -EBADMSG without them. */
int rg_sdp_peer(const char *body, size_t len, struct sockaddr_in *out);

#endif
