/* libFuzzer target: stream framing, whole versus chunked, against the parser.
 */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "sip/msg/msg.h"
#include "sip/transport/frame.h"

static const struct tp_frame_limits lim = {
    .max_msg_bytes = 2048,
    .max_header_bytes = 512,
    .max_buffered_bytes = 4096,
};

/* A message the framer cut must parse to exactly its own length. */
static void check_message(const char *p, size_t len)
{
	struct sb_limits sl = sb_limits_default();
	struct sip_perr perr;
	struct sip_msg m;
	struct arena a;
	char *copy = malloc(len ? len : 1);

	if (len > lim.max_msg_bytes)
		abort();
	memcpy(copy, p, len);
	sl.max_msg_bytes = lim.max_msg_bytes;
	sl.max_header_bytes = lim.max_header_bytes;
	arena_init(&a, NULL, 0, sl.max_arena_bytes);
	if (sip_msg_parse(&m, &a, copy, len, SIP_FRAMING_STREAM, &sl, &perr) ==
		0 &&
	    m.len != len)
		abort();
	arena_close(&a);
	free(copy);
}

/*
 * Feed data in chunks of step bytes, draining events after each; log them.
 * A drained framer holds at most one partial message (<= max_msg_bytes),
 * so chunks up to max_buffered - max_msg - 1 bytes always fit.
 */
static void run(const uint8_t *data, size_t size, size_t step, struct buf *log,
		bool is_checked)
{
	struct tp_frame_out out;
	struct tp_frame f;
	size_t at = 0;
	bool is_done = false;

	tp_frame_init(&f, &lim);
	while (!is_done && at < size) {
		size_t n = size - at > step ? step : size - at;
		if (tp_frame_feed(&f, data + at, n))
			abort();
		at += n;
		for (;;) {
			enum tp_frame_event ev = tp_frame_next(&f, &out);
			if (ev == TP_FRAME_MORE)
				break;
			buf_printf(log, "%d:%zu:%u;", (int)ev, out.len,
				   out.status);
			if (ev == TP_FRAME_MESSAGE) {
				buf_append(log, out.p, out.len);
				if (is_checked)
					check_message(out.p, out.len);
			}
			if (ev == TP_FRAME_ERROR) {
				is_done = true;
				break;
			}
		}
		if (!is_done && tp_frame_pending(&f) > lim.max_msg_bytes)
			abort();
	}
	tp_frame_close(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t big = lim.max_buffered_bytes - lim.max_msg_bytes - 1;
	struct buf whole, chunked;
	size_t step;

	if (size < 1)
		return 0;
	step = data[0] % 64 + 1; /* the first byte picks the chunk size */
	data++;
	size--;
	buf_init(&whole, 0);
	buf_init(&chunked, 0);
	run(data, size, big, &whole, true);
	run(data, size, step, &chunked, false);
	/* Feeding in pieces never changes what comes out. */
	if (whole.len != chunked.len ||
	    (whole.len && memcmp(whole.p, chunked.p, whole.len) != 0))
		abort();
	buf_close(&whole);
	buf_close(&chunked);
	return 0;
}
