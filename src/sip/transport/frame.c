/* Stream framing: cut a TCP/TLS byte stream into SIP messages by length. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/transport/frame.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/mem.h"

enum {
	FRAME_FIRST_CAP = 4096, /* bytes of the first buffer */
	FRAME_NAME_MAX = 16	/* longer names cannot be Content-Length */
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static enum tp_frame_event fail(struct tp_frame *f, uint16_t status,
				const char *reason, size_t hdr_len,
				struct tp_frame_out *out)
{
	f->state = TP_FRAME_STATE_ERROR;
	f->err_status = status;
	f->err_reason = reason;
	f->err_hdr_len = hdr_len;
	out->p = f->buf + f->head;
	out->len = hdr_len;
	out->status = status;
	out->reason = reason;
	return TP_FRAME_ERROR;
}

/* Reset for the next message, which starts at the current head. */
static void message_reset(struct tp_frame *f)
{
	f->scan = 0;
	f->line = 0;
	f->field = 0;
	f->body_off = 0;
	f->content_length = 0;
	f->has_content_length = false;
	f->is_past_start_line = false;
	f->bad_reason = NULL;
}

/* Header name matches "Content-Length" or its compact form "l". */
static bool is_content_length(const char *p, size_t len)
{
	static const char name[] = "content-length";
	char low[FRAME_NAME_MAX];

	if (len == 1)
		return p[0] == 'l' || p[0] == 'L';
	if (len != sizeof(name) - 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		low[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	return memcmp(low, name, len) == 0;
}

/*
 * Look at the complete header [field, end) (folded lines included). If it
 * is Content-Length, take its value: digits, with any whitespace or folding
 * around them. Returns 0 or -EBADMSG with *reason set.
 */
static int field_done(struct tp_frame *f, size_t end, const char **reason)
{
	const char *p = f->buf + f->head + f->field;
	size_t len = end - f->field, i = 0, name_end;
	uint64_t v = 0;
	bool has_digit = false;

	f->field = 0;
	while (i < len && p[i] != ':' && !is_wsp(p[i]))
		i++;
	name_end = i;
	while (i < len && is_wsp(p[i]))
		i++;
	if (i >= len || p[i] != ':' || !is_content_length(p, name_end))
		return 0; /* the parser judges every other header */
	if (f->has_content_length) {
		*reason = "Multiple Content-Length headers";
		return -EBADMSG;
	}
	for (i++; i < len; i++) {
		char c = p[i];
		if (c >= '0' && c <= '9') {
			if (has_digit && (p[i - 1] < '0' || p[i - 1] > '9'))
				break; /* "1 2" */
			has_digit = true;
			/* Saturate: anything this large is over every limit. */
			if (v < UINT32_MAX)
				v = v * 10 + (uint64_t)(c - '0');
		} else if (!is_wsp(c) && c != '\r' && c != '\n') {
			break;
		}
	}
	if (i < len || !has_digit) {
		*reason = "Bad Content-Length header";
		return -EBADMSG;
	}
	f->content_length = v;
	f->has_content_length = true;
	return 0;
}

/*
 * The limit that the bytes of the current line, up to end, cross first: a
 * line (or a folded header) longer than max_header_bytes, terminators
 * included as the parser counts them, gives 400; a header block past
 * max_msg_bytes gives 413. Deciding by the first byte over a limit makes
 * the answer the same however the stream was cut. Returns 0 when none is.
 */
static uint16_t crossed(const struct tp_frame *f, size_t end, bool is_fold)
{
	size_t max = f->lim.max_header_bytes, at_400 = SIZE_MAX;
	size_t at_413 = SIZE_MAX;

	if (end - f->line > max)
		at_400 = f->line + max;
	if (is_fold && f->field && end - f->field > max &&
	    f->field + max < at_400)
		at_400 = f->field + max;
	if (end > f->lim.max_msg_bytes)
		at_413 = f->lim.max_msg_bytes;
	if (at_400 == SIZE_MAX && at_413 == SIZE_MAX)
		return 0;
	return at_400 <= at_413 ? 400 : 413;
}

static enum tp_frame_event fail_crossed(struct tp_frame *f, uint16_t status,
					struct tp_frame_out *out)
{
	if (status == 413)
		return fail(f, 413, "Message Too Large", 0, out);
	return fail(f, 400, "Header too long", 0, out);
}

/*
 * Scan the start line and headers for the empty line, a physical line at a
 * time with memchr, from where the last call stopped.
 */
static enum tp_frame_event scan_headers(struct tp_frame *f,
					struct tp_frame_out *out)
{
	const char *base = f->buf + f->head;
	size_t avail = f->len - f->head;
	const char *reason = NULL;

	for (;;) {
		const char *nl = memchr(base + f->scan, '\n', avail - f->scan);
		size_t end, content;
		bool is_fold;
		uint16_t status;

		/* RFC 3261 7.3.1: a line starting with whitespace is folded */
		is_fold = f->is_past_start_line && avail > f->line &&
			  is_wsp(base[f->line]);
		if (!nl) {
			f->scan = avail;
			status = crossed(f, avail, is_fold);
			return status ? fail_crossed(f, status, out)
				      : TP_FRAME_MORE;
		}
		end = (size_t)(nl - base) + 1;
		content = end - 1;
		if (content > f->line && base[content - 1] == '\r')
			content--;
		status = crossed(f, end, is_fold);
		if (status)
			return fail_crossed(f, status, out);
		if (!f->is_past_start_line) {
			f->is_past_start_line = true;
		} else if (content == f->line) {
			/* RFC 3261 7.5: the empty line ends the headers */
			if (f->field && field_done(f, f->line, &reason))
				f->bad_reason = reason;
			f->body_off = end;
			f->line = f->scan = end;
			if (f->bad_reason)
				return fail(f, 400, f->bad_reason, end, out);
			/* RFC 3261 18.3: streams need Content-Length */
			if (!f->has_content_length)
				return fail(f, 400,
					    "Missing Content-Length header",
					    end, out);
			if (f->content_length > f->lim.max_msg_bytes - end)
				return fail(f, 413, "Message Too Large", end,
					    out);
			f->state = TP_FRAME_STATE_BODY;
			return TP_FRAME_MORE;
		} else if (!is_fold) {
			/* A bad value is answered once the headers are whole.
			 */
			if (f->field && field_done(f, f->line, &reason))
				f->bad_reason = reason;
			f->field = f->line;
		}
		f->line = f->scan = end;
	}
}

void tp_frame_init(struct tp_frame *f, const struct tp_frame_limits *lim)
{
	memset(f, 0, sizeof(*f));
	f->lim = *lim;
	/* One byte past the largest message, so it is seen as too large. */
	if (f->lim.max_buffered_bytes <= f->lim.max_msg_bytes)
		f->lim.max_buffered_bytes = f->lim.max_msg_bytes + 1;
	f->state = TP_FRAME_STATE_IDLE;
}

void tp_frame_close(struct tp_frame *f)
{
	sb_free(f->buf);
	f->buf = NULL;
	f->cap = f->len = f->head = 0;
}

int tp_frame_space(struct tp_frame *f, size_t want, char **p, size_t *n)
{
	size_t cap, max = f->lim.max_buffered_bytes;
	char *nb;

	if (f->head) {
		memmove(f->buf, f->buf + f->head, f->len - f->head);
		f->len -= f->head;
		f->head = 0;
	}
	/* An empty buffer that grew for a big message goes back to small. */
	if (f->len == 0 && f->cap > FRAME_FIRST_CAP) {
		sb_free(f->buf);
		f->buf = NULL;
		f->cap = 0;
	}
	if (want == 0)
		want = 1;
	if (f->cap - f->len < want && f->cap < max) {
		cap = f->cap ? f->cap : FRAME_FIRST_CAP;
		while (cap - f->len < want && cap < max)
			cap *= 2;
		if (cap > max)
			cap = max;
		nb = sb_realloc(f->buf, cap);
		if (!nb)
			return -ENOMEM;
		f->buf = nb;
		f->cap = cap;
	}
	if (f->cap == f->len)
		return -ENOBUFS;
	*p = f->buf + f->len;
	*n = f->cap - f->len;
	return 0;
}

void tp_frame_commit(struct tp_frame *f, size_t n)
{
	f->len += n;
}

int tp_frame_feed(struct tp_frame *f, const void *data, size_t len)
{
	const char *src = data;

	while (len) {
		size_t n;
		char *p;
		int err = tp_frame_space(f, len, &p, &n);

		if (err)
			return err;
		if (n > len)
			n = len;
		memcpy(p, src, n);
		tp_frame_commit(f, n);
		src += n;
		len -= n;
	}
	return 0;
}

enum tp_frame_event tp_frame_next(struct tp_frame *f, struct tp_frame_out *out)
{
	memset(out, 0, sizeof(*out));
	for (;;) {
		size_t avail = f->len - f->head;
		char c;

		switch (f->state) {
		case TP_FRAME_STATE_IDLE:
		case TP_FRAME_STATE_IDLE_CR:
		case TP_FRAME_STATE_CRLF:
		case TP_FRAME_STATE_CRLF_CR:
			if (!avail)
				return TP_FRAME_MORE;
			c = f->buf[f->head];
			if (c == '\r' && (f->state == TP_FRAME_STATE_IDLE ||
					  f->state == TP_FRAME_STATE_CRLF)) {
				f->head++;
				f->state = f->state == TP_FRAME_STATE_IDLE
					       ? TP_FRAME_STATE_IDLE_CR
					       : TP_FRAME_STATE_CRLF_CR;
				continue;
			}
			if (c == '\n') {
				/* A bare LF counts as a CRLF, as in the parser.
				 */
				f->head++;
				if (f->state == TP_FRAME_STATE_IDLE ||
				    f->state == TP_FRAME_STATE_IDLE_CR) {
					f->state = TP_FRAME_STATE_CRLF;
					return TP_FRAME_PONG;
				}
				f->state = TP_FRAME_STATE_IDLE;
				return TP_FRAME_PING;
			}
			/*
			 * A message starts. A stray CR before it stays
			 * consumed: RFC 3261 7.5 ignores line ends before the
			 * start line.
			 */
			message_reset(f);
			f->state = TP_FRAME_STATE_HEADERS;
			continue;
		case TP_FRAME_STATE_HEADERS: {
			enum tp_frame_event ev = scan_headers(f, out);
			if (ev != TP_FRAME_MORE ||
			    f->state != TP_FRAME_STATE_BODY)
				return ev;
			continue;
		}
		case TP_FRAME_STATE_BODY: {
			size_t need = f->body_off + (size_t)f->content_length;
			if (avail < need)
				return TP_FRAME_MORE;
			out->p = f->buf + f->head;
			out->len = need;
			f->head += need;
			message_reset(f);
			f->state = TP_FRAME_STATE_IDLE;
			return TP_FRAME_MESSAGE;
		}
		case TP_FRAME_STATE_ERROR:
			out->p = f->buf + f->head;
			out->len = f->err_hdr_len;
			out->status = f->err_status;
			out->reason = f->err_reason;
			return TP_FRAME_ERROR;
		}
		return TP_FRAME_MORE;
	}
}

bool tp_frame_is_partial(const struct tp_frame *f)
{
	return f->state == TP_FRAME_STATE_HEADERS ||
	       f->state == TP_FRAME_STATE_BODY;
}

size_t tp_frame_pending(const struct tp_frame *f)
{
	return f->len - f->head;
}
