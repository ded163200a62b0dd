/* SDP (RFC 4566): zero-copy parsing, printing, per-leg origin rewriting. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SDP_SDP_H
#define SB_SDP_SDP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/slice.h"

/*
 * A session description is parsed in place: every slice points into the
 * text given to sdp_parse(), which the caller keeps while the result is
 * used; arrays live in the arena. Nothing is allocated per line beyond the
 * arrays. SDP is outside input: every count is bounded (the enum below),
 * every line is checked against RFC 4566 5 grammar as far as the fields
 * switchboard reads, and unknown attributes are kept verbatim. A line type
 * RFC 4566 does not define is refused (5: a parser must not use such a
 * description). Empty lines are accepted only at the end and are dropped.
 */

enum {
	SDP_MEDIA_MAX = 16,   /* m= sections */
	SDP_ATTRS_MAX = 64,   /* a= lines per section (session or media) */
	SDP_FMTS_MAX = 32,    /* formats on one m= line */
	SDP_BYTES_MAX = 16384 /* bytes of a description */
};

enum sdp_dir {
	SDP_DIR_SENDRECV,
	SDP_DIR_SENDONLY,
	SDP_DIR_RECVONLY,
	SDP_DIR_INACTIVE
};

/* a=name[:value] */
struct sdp_attr {
	struct slice name;
	struct slice value; /* unset (.p NULL) for a property attribute */
};

/* c=<nettype> <addrtype> <address> (RFC 4566 5.7) */
struct sdp_conn {
	struct slice nettype;  /* "IN" */
	struct slice addrtype; /* "IP4", "IP6" */
	struct slice addr;     /* without a "/ttl" or "/n" suffix */
	struct slice raw;      /* the whole value after "c=" */
};

/* One format of an m= line with its rtpmap and fmtp, when given. */
struct sdp_fmt {
	struct slice pt; /* "0", "101" (RTP) or any token */
	struct slice
	    rtpmap; /* "PCMU/8000", "telephone-event/8000"; may be unset */
	struct slice fmtp; /* "0-16"; may be unset */
};

struct sdp_media {
	struct slice type;  /* "audio", "video", "application" ... */
	uint16_t port;	    /* 0: the stream is rejected / disabled */
	uint16_t nports;    /* "/2" on the port; 1 when absent */
	struct slice proto; /* "RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF" */
	struct sdp_fmt *fmts;
	uint16_t nfmts;
	struct sdp_conn conn; /* media-level c=, when has_conn */
	bool has_conn;
	enum sdp_dir dir;	/* a=sendrecv/sendonly/recvonly/inactive */
	bool has_dir;		/* one of them was given in this section */
	struct sdp_attr *attrs; /* every a= line of the section, in order */
	uint16_t nattrs;
	uint32_t ptime;	    /* a=ptime in ms; 0 = none */
	uint16_t rtcp_port; /* a=rtcp port (RFC 3605); 0 = none */
	bool is_rtcp_mux;   /* a=rtcp-mux (RFC 5761) */
	uint32_t off, len;  /* this section's bytes in the text */
};

struct sdp {
	struct slice raw; /* the whole text */
	/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <addr> */
	struct slice o_user, o_sess_id, o_sess_version, o_nettype, o_addrtype,
	    o_addr;
	struct slice session_name; /* s= */
	struct sdp_conn conn;	   /* session-level c=, when has_conn */
	bool has_conn;
	enum sdp_dir dir; /* session-level direction attribute */
	bool has_dir;
	struct sdp_attr *attrs; /* session-level a= lines, in order */
	uint16_t nattrs;
	struct sdp_media *media;
	uint16_t nmedia;
};

/*
 * Parse text (RFC 4566 5: v= first and 0, then o=, s=, then the other
 * session lines, then m= sections; lines end in CRLF or a bare LF). Every
 * m= section must have a c= (its own or the session's), RFC 4566 5.7.
 * Returns 0, -EBADMSG (malformed: the caller answers 400 or 488), -E2BIG
 * (over a bound above) or -ENOMEM. Thread-safe.
 */
int sdp_parse(struct slice text, struct arena *a, struct sdp *out);

/* The direction that applies to m: its own attribute, else the session's,
 * else sendrecv (RFC 3264 5.1). */
enum sdp_dir sdp_media_dir(const struct sdp *s, const struct sdp_media *m);
/* The connection that applies to m: its own c=, else the session's. */
const struct sdp_conn *sdp_media_conn(const struct sdp *s,
				      const struct sdp_media *m);
/* RFC 3264 8.4 / RFC 2543 hold: sendonly or inactive, or c= 0.0.0.0. */
bool sdp_media_is_hold(const struct sdp *s, const struct sdp_media *m);
/* "sendrecv", "sendonly", "recvonly", "inactive". */
const char *sdp_dir_name(enum sdp_dir d);
/* The reverse direction an answerer takes (RFC 3264 6.1): sendonly ->
 * recvonly, recvonly -> sendonly, the others unchanged. */
enum sdp_dir sdp_dir_answer(enum sdp_dir offered);

/*
 * Print s back (CRLF line ends), with the o= line replaced when origin is
 * given: a B2BUA's leg keeps its own username, session id, version and
 * address (RFC 3264 5, 8: the version grows by one per changed offer).
 * Every other line is copied as parsed. Appends to out; 0 or a buf error.
 */
struct sdp_origin {
	struct slice user; /* "-" or a name */
	uint64_t sess_id;
	uint64_t sess_version;
	struct slice addrtype; /* "IP4" / "IP6" */
	struct slice addr;
};
int sdp_print(const struct sdp *s, const struct sdp_origin *origin,
	      struct buf *out);

#endif
