/* Call recording: both directions decoded into one stereo WAV file. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_MEDIA_RECORD_H
#define SB_MEDIA_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "media/rtp.h"

/*
 * One recorder per process: a thread that owns the files (libsndfile),
 * so no worker ever blocks on the disk. A recording belongs to the worker
 * of its call: it decodes each relayed RTP payload (G.711 PCMU 0 and PCMA
 * 8 through spandsp; other payload types and telephone-events are
 * silence), places the samples by RTP timestamp on its channel (left: the
 * caller, right: the callee) so loss and silence suppression become
 * silence and both channels stay aligned, and hands finished blocks to the
 * thread through a bounded queue. Memory per recording is bounded (at
 * most about two seconds of audio waits on the worker; a full queue drops
 * the block, counted). Files are 8 kHz 16-bit PCM stereo WAV.
 */
struct recorder;
struct recording;

/* Start the thread; files go into dir (made when missing). 0, or a
 * negative errno. */
int recorder_new(const char *dir, struct recorder **out);
/*
 * Finish every open file and end the thread. Returns NULL. NULL-safe.
 * Call it once no recording is in use on another thread (the workers
 * have stopped): a recording still open is finished at its furthest
 * written sample and detached; its owner still calls recording_free,
 * which then only frees it.
 */
struct recorder *recorder_free(struct recorder *r);

/* Counters, any thread. */
struct recorder_stats {
	uint64_t started, finished; /* files */
	uint64_t blocks_dropped;    /* queue full, or out of memory */
	uint64_t errors;	    /* files that could not be written */
};
void recorder_stats(const struct recorder *r, struct recorder_stats *out);

/*
 * Start recording a call named name (letters, digits, '-', '_', '.'; other
 * bytes and a leading '.' become '_', an empty name is "_") into
 * <dir>/<name>.wav; path_out gets that path (cap bytes, NUL-terminated).
 * now_ms is a monotonic clock: the recording's time zero. Worker thread.
 * Returns 0, -ENAMETOOLONG or -ENOMEM.
 */
int recording_new(struct recorder *r, const char *name, uint64_t now_ms,
		  struct recording **out, char *path_out, size_t cap);

/* A relayed RTP packet h from channel ch (0 caller, 1 callee) arriving at
 * now_ms. Worker thread. */
void recording_rtp(struct recording *rec, unsigned ch, const struct rtp_hdr *h,
		   uint64_t now_ms);

/* Stop at now_ms: what is buffered goes to the thread, which pads the
 * shorter channel with silence and closes the file. Returns NULL.
 * NULL-safe. */
struct recording *recording_free(struct recording *rec, uint64_t now_ms);

#endif
