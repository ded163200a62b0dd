/* Private to the relay: the engine, sessions, stream sides and sockets. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_MEDIA_INT_H
#define SB_MEDIA_INT_H

#include "media/media.h"

enum {
	MEDIA_BATCH = 16,     /* datagrams read per recvmmsg */
	MEDIA_PKT_MAX = 2048, /* bytes of one datagram; longer: dropped */
	MEDIA_EVENTS = 128,   /* epoll events per wake-up */
	MEDIA_NAME_MAX = 40
};

struct side;

/* One UDP socket of a stream side; the epoll data points here. */
struct msock {
	int fd; /* -1: closed */
	struct side *side;
	bool is_rtcp;
};

/* A digit being sent toward a side (RFC 4733 2.5.1). */
struct inject {
	bool is_on;
	uint8_t event;
	uint16_t duration; /* so far, timestamp units */
	uint16_t total;	   /* to reach */
	uint8_t ends;	   /* end packets sent (3 in all) */
	uint32_t ts;	   /* the event's timestamp */
	bool is_first;
};

/* One side of one stream: our sockets facing an endpoint, and what we
 * know of that endpoint. */
struct side {
	struct stream *stream;
	unsigned idx; /* MEDIA_A or MEDIA_B */
	struct msock rtp, rtcp;
	uint16_t port; /* of rtp; rtcp is port + 1; 0: not open */
	int family;
	struct media_remote r;
	bool has_remote;
	struct sockaddr_storage sip_src;
	bool has_sip_src;
	struct sockaddr_storage latched_rtp, latched_rtcp;
	bool has_latched_rtp, has_latched_rtcp;
	uint64_t window_until_us; /* re-latching allowed until */
	uint64_t last_rx_us;	  /* last packet from the endpoint */
	bool is_timed_out;
	bool is_dtmf_stripped;
	struct media_stats rx; /* what the endpoint sent */
	struct media_rtt rtt;  /* between the relay and the endpoint */
	struct dtmf_detect dd;
	/* what leaves toward the endpoint (for digits we insert) */
	uint16_t seq_delta; /* added to relayed sequence numbers */
	bool has_out;
	uint16_t out_seq;
	uint32_t out_ts, out_ssrc;
	uint64_t out_us;
	struct inject inj;
};

struct stream {
	struct media_session *s;
	unsigned i;
	struct side sides[2];
};

struct media_session {
	struct media_session *next, *prev;
	struct media *m;
	struct media_session_cb cb;
	void *arg;
	struct stream *streams[MEDIA_STREAMS_MAX];
	unsigned nstreams;
	bool is_active, is_held;
	uint64_t active_us; /* timeouts count from here */
	struct recording *rec;
	struct media_session *inj_next; /* sessions sending digits */
	bool is_injecting;
	char name[MEDIA_NAME_MAX];
};

struct media {
	uv_loop_t *loop;
	struct media_opts o;
	int epfd;
	uv_poll_t poll;
	uv_timer_t sweep;
	uv_timer_t tick;  /* digits being sent */
	uv_timer_t batch; /* busy: the set read on a timer (engine.c) */
	unsigned handles; /* open libuv handles */
	bool is_freed;
	struct media_session *sessions;
	struct media_session *injecting;
	uint64_t now_us;
	struct media_counts c;
};

/* ports.c */
/* A free pair's even port, bound as two sockets of family on addr
 * (port set per pair); -EADDRNOTAVAIL when none can be bound. */
int media_ports_open(struct media_ports *p, const struct sockaddr_storage *addr,
		     int fds[2], uint16_t *port);
void media_ports_close(struct media_ports *p, uint16_t port);

/* engine.c */
uint64_t media_now_us(void);
int media_watch(struct media *m, struct msock *ms);
void media_tick_start(struct media *m);

/* relay.c: datagrams read from ms, relayed. */
void relay_read(struct media *m, struct msock *ms);
/* Send len bytes of p toward side d (its RTP or RTCP address) by its
 * socket; is_rtcp picks the path. */
void relay_send(struct media *m, struct side *d, uint8_t *p, size_t len,
		bool is_rtcp);

/* inject.c */
/* Packets of the digits in progress; false when none is left. */
bool inject_tick(struct media *m);

#endif
