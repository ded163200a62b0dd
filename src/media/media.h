/* The RTP relay: media sessions anchored on switchboard, one engine per worker.
 */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_MEDIA_MEDIA_H
#define SB_MEDIA_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "media/dtmf.h"
#include "media/record.h"
#include "media/stats.h"

/*
 * A call's media session has up to MEDIA_STREAMS_MAX streams (one per m=
 * line) and two sides: MEDIA_A faces the caller, MEDIA_B the callee. Each
 * stream side is a pair of UDP sockets (RTP on an even port, RTCP on the
 * next) bound on our address, from a port range shared by every worker.
 * What arrives from one side's endpoint leaves by the other side's socket
 * toward that side's endpoint; RTCP likewise, and rtcp-mux (RFC 5761) on
 * either side is bridged to either on the other.
 *
 * Latching (symmetric RTP, RFC 4961): a side sends to the address its SDP
 * gave until a packet from it is latched; then to that packet's source.
 * Only a packet whose source IP is the side's SDP address or its SIP
 * source address latches (no RTP-Bleed): the first latch of a side, and a
 * new one within latch_window_ms of each offer/answer that touched the
 * stream. Packets from any other source are dropped and counted.
 *
 * The engine runs on one libuv loop (a worker's): every socket of its
 * sessions is in one epoll set watched by a single poll handle, and a
 * one-second sweep checks media timeouts. Sessions, sockets and callbacks
 * belong to that loop's thread; only the port pool is shared.
 */

enum {
	MEDIA_A = 0,
	MEDIA_B = 1,
	MEDIA_STREAMS_MAX = 4, /* m= lines anchored per call; more: bypass */
	MEDIA_ADDR_TEXT = 48
};

/* Ports shared by the engines of every worker (thread-safe). */
struct media_ports;
/* Even..odd pairs within [min, max]; 0 or -EINVAL / -ENOMEM. */
int media_ports_new(uint16_t min, uint16_t max, struct media_ports **out);
struct media_ports *media_ports_free(struct media_ports *p);
/* Pairs in use now. */
uint32_t media_ports_used(const struct media_ports *p);

struct media_opts {
	struct media_ports *ports;	      /* required, shared */
	struct sockaddr_storage bind4, bind6; /* family AF_UNSPEC: none */
	char advertise4[MEDIA_ADDR_TEXT];     /* shown in SDP; "" = bind4 */
	char advertise6[MEDIA_ADDR_TEXT];     /* no brackets; "" = bind6 */
	uint32_t timeout_s;		      /* no RTP from an active side:
						 on_timeout; 0 = never */
	uint32_t hold_timeout_s;  /* the same while held; 0 = never */
	uint32_t latch_window_ms; /* after each offer/answer */
};

/* Counters of one engine (its thread). */
struct media_counts {
	uint64_t sessions;	  /* made */
	uint64_t alive;		  /* sessions now */
	uint64_t sockets;	  /* open now */
	uint64_t packets;	  /* relayed (RTP and RTCP) */
	uint64_t bytes;		  /* relayed */
	uint64_t dropped_source;  /* from a source that may not latch */
	uint64_t dropped_nodest;  /* the other side has no address yet */
	uint64_t dropped_invalid; /* not RTP/RTCP, or short */
	uint64_t send_errors;
	uint64_t latches;  /* latch (or re-latch) events */
	uint64_t timeouts; /* sessions reported idle */
	uint64_t dtmf_events;
	uint64_t port_failures; /* no port pair could be bound */
};

struct media;

int media_new(uv_loop_t *loop, const struct media_opts *o, struct media **out);
/* Closes every session (no callback runs) and the poll handle; the loop
 * must run once more for the handle close (uv_run NOWAIT is enough).
 * Returns NULL. NULL-safe. */
struct media *media_free(struct media *m);
const struct media_counts *media_counts(const struct media *m);
/* Our address for SDP toward an endpoint of family (AF_INET, AF_INET6),
 * or NULL when the engine has none of that family. */
const char *media_advertise(const struct media *m, int family);

struct media_session;

/* What a session tells its owner; runs on the engine's thread. */
struct media_session_cb {
	/* No packet from a side for timeout_s (or hold_timeout_s). The
	 * session stays usable; it is not reported again until it sees a
	 * packet from that side. */
	void (*on_timeout)(void *arg, unsigned side);
	/* A telephone-event completed on a stream from side. */
	void (*on_dtmf)(void *arg, unsigned side, const struct dtmf_event *ev);
};

/* name: for logs (the call's). 0 or -ENOMEM. */
int media_session_new(struct media *m, const char *name,
		      const struct media_session_cb *cb, void *arg,
		      struct media_session **out);
/* Close its sockets, finish its recording. Returns NULL. NULL-safe. */
struct media_session *media_session_free(struct media_session *s);

/*
 * Our port for stream i facing side (the one to write in the SDP sent to
 * that side), in family (AF_INET or AF_INET6): the pair is opened on the
 * first call; a later call in another family reopens it. *addr gets our
 * advertised address of that family. 0, -EAFNOSUPPORT (no address of that
 * family), -ERANGE (i out of range), -EADDRNOTAVAIL (no free pair).
 */
int media_session_local(struct media_session *s, unsigned side, unsigned i,
			int family, uint16_t *port, const char **addr);

/* What side's endpoint said about stream i in an SDP it sent. */
struct media_remote {
	struct sockaddr_storage rtp;  /* c= address, m= port */
	struct sockaddr_storage rtcp; /* a=rtcp, else port + 1 */
	bool is_mux;		      /* a=rtcp-mux */
	bool is_disabled;	      /* port 0: nothing flows */
	bool is_silent;		      /* recvonly or inactive: it sends
					 nothing, no timeout applies */
	int dtmf_pt;		      /* telephone-event PT it receives, -1 */
	uint32_t clock_hz;	      /* of its first format */
};

/*
 * side's SDP for stream i; sip_src: the side's SIP source address (may be
 * NULL). Also opens the latch window of both sides of the stream: an
 * offer/answer happened.
 */
void media_session_remote(struct media_session *s, unsigned side, unsigned i,
			  const struct media_remote *r,
			  const struct sockaddr_storage *sip_src);

/* side's SIP address before its SDP came (where its INVITE went): its
 * first packets may latch from that IP already. */
void media_session_sip_src(struct media_session *s, unsigned side, unsigned i,
			   const struct sockaddr_storage *sip_src);

/* Media timeouts count from now on (the call was answered), or stop. */
void media_session_activate(struct media_session *s, bool is_active);
/* The call is on hold (hold_timeout_s applies) or not. */
void media_session_hold(struct media_session *s, bool is_held);
/* Telephone-events from side are not relayed (they go as SIP INFO). */
void media_session_dtmf_strip(struct media_session *s, unsigned side,
			      bool is_stripped);
/*
 * Send digit toward side's endpoint as RFC 4733 events on stream 0, in the
 * stream relayed to it (its SSRC, sequence numbers and timestamps go on:
 * later relayed packets are renumbered). 0, -ENOTSUP (side receives no
 * telephone-event), -ENOTCONN (no address yet), -EBUSY (a digit is still
 * being sent).
 */
int media_session_dtmf_send(struct media_session *s, unsigned side, char digit,
			    uint32_t duration_ms);

/* Record the session into <recorder dir>/<name>.wav; path gets the file's
 * path. 0, -EALREADY, or recording_new's errors. */
int media_session_record(struct media_session *s, struct recorder *r,
			 const char *name, char *path, size_t cap);
/* Stop recording (the file is finished). */
void media_session_record_stop(struct media_session *s);
bool media_session_is_recording(const struct media_session *s);

/* The receive statistics of what side sent on stream i (zeroes when the
 * stream is not open). */
void media_session_summary(const struct media_session *s, unsigned side,
			   unsigned i, struct media_summary *out);
/* Streams opened (the highest stream index used plus one). */
unsigned media_session_streams(const struct media_session *s);

#endif
