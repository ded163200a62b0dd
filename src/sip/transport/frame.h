/* Stream framing of SIP messages on TCP and TLS (RFC 3261 18.3, RFC 5626). */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_TRANSPORT_FRAME_H
#define SB_SIP_TRANSPORT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What tp_frame_next() found. */
enum tp_frame_event {
	TP_FRAME_MORE,	  /* need more bytes */
	TP_FRAME_MESSAGE, /* one complete message */
	TP_FRAME_PING,	  /* RFC 5626 3.5.1: CRLFCRLF, answer with CRLF */
	TP_FRAME_PONG,	  /* a CRLF between messages */
	TP_FRAME_ERROR	  /* malformed or over a limit: answer, then close */
};

/* Where the framer is in the byte stream. */
enum tp_frame_state {
	TP_FRAME_STATE_IDLE,	/* between messages */
	TP_FRAME_STATE_IDLE_CR, /* a CR between messages */
	TP_FRAME_STATE_CRLF,	/* a CRLF (pong) seen: a second makes a ping */
	TP_FRAME_STATE_CRLF_CR, /* CRLF CR seen */
	TP_FRAME_STATE_HEADERS, /* in the start line or header block */
	TP_FRAME_STATE_BODY,	/* waiting for Content-Length body bytes */
	TP_FRAME_STATE_ERROR	/* sticky: the connection must close */
};

/* Bounds, normally from the config snapshot's sb_limits. */
struct tp_frame_limits {
	uint32_t max_msg_bytes;	   /* headers + body; 413 */
	uint32_t max_header_bytes; /* one header line, folding included; 400 */
	uint32_t max_buffered_bytes; /* input buffer; > max_msg_bytes */
};

/*
 * One connection's input buffer and framing state. Offsets are relative to
 * head (the first byte not yet consumed), so compacting the buffer keeps
 * them valid and a partial read resumes where scanning stopped.
 */
struct tp_frame {
	char *buf;		 /* input bytes (sb_malloc), NULL until used */
	size_t cap;		 /* bytes allocated */
	size_t len;		 /* bytes used, consumed ones included */
	size_t head;		 /* first unconsumed byte */
	size_t scan;		 /* next byte to examine, from head */
	size_t line;		 /* start of the current physical line */
	size_t field;		 /* start of the pending header; 0 = none */
	size_t body_off;	 /* first body byte */
	uint64_t content_length; /* bytes of body */
	enum tp_frame_state state;
	bool has_content_length;
	bool is_past_start_line;
	const char *bad_reason; /* a bad Content-Length, reported at the
				   end of the headers; NULL = none */
	uint16_t err_status;	/* after an error: 400 or 413 */
	const char *err_reason; /* after an error: static text */
	size_t err_hdr_len;	/* header block bytes for a reply; 0 = none */
	struct tp_frame_limits lim;
};

/* One result of tp_frame_next(). */
struct tp_frame_out {
	char *p;	    /* MESSAGE: first byte; ERROR: the bad message */
	size_t len;	    /* MESSAGE: bytes; ERROR: its complete header
			       block (ending with the empty line), 0 when the
			       headers are incomplete and no reply can be made */
	uint16_t status;    /* ERROR: 400 or 413 */
	const char *reason; /* ERROR: static reason phrase */
};

/* Set up f with limits; no memory is allocated until bytes arrive. */
void tp_frame_init(struct tp_frame *f, const struct tp_frame_limits *lim);
/* Free the buffer. f must be initialised again before reuse. */
void tp_frame_close(struct tp_frame *f);

/*
 * Room for at least one more byte at the tail of the buffer, for a read to
 * fill: compacts consumed bytes away, grows the buffer (to at least `want`
 * free bytes when the cap allows). Sets *p and *n (> 0) and returns 0, or
 * -ENOBUFS when max_buffered_bytes are held, or -ENOMEM. Invalidates
 * pointers returned by tp_frame_next().
 */
int tp_frame_space(struct tp_frame *f, size_t want, char **p, size_t *n);
/* Record that n bytes were written at the pointer tp_frame_space() gave. */
void tp_frame_commit(struct tp_frame *f, size_t n);
/* Copy len bytes in (space + commit). Returns 0, -ENOBUFS or -ENOMEM. */
int tp_frame_feed(struct tp_frame *f, const void *data, size_t len);

/*
 * Advance over buffered bytes and report the next event. Call until it
 * returns TP_FRAME_MORE (or TP_FRAME_ERROR, which is sticky). A MESSAGE is
 * consumed on return; out->p stays valid until the next tp_frame_space(),
 * tp_frame_feed() or tp_frame_close(). Never scans a byte twice: Content-
 * Length (or l, any case, folded lines allowed) is found while looking for
 * the end of the headers, without parsing the message. Errors: a missing,
 * repeated or malformed Content-Length (400), a start or header line over
 * max_header_bytes (400), a message over max_msg_bytes (413).
 */
enum tp_frame_event tp_frame_next(struct tp_frame *f, struct tp_frame_out *out);

/* Bytes of a message begun but not complete are buffered (slow-loris). */
bool tp_frame_is_partial(const struct tp_frame *f);
/* Unconsumed bytes held. */
size_t tp_frame_pending(const struct tp_frame *f);

#endif
