/* Call recording: G.711 placed on the worker, written by a thread. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sndfile.h>
#include <spandsp.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "media/record.h"

#define LOG_MODULE "media"

enum {
	REC_RATE = 8000,       /* frames per second */
	REC_FRAMES_PER_MS = 8, /* REC_RATE / 1000 */
	REC_WINDOW = 16000,    /* frames kept on the worker: 2 s */
	REC_CHUNK = 8000,      /* frames free ahead after a flush: 1 s */
	REC_PACKET_MAX = 4000, /* frames of one packet; more: cut */
	REC_JUMP_MAX = 8000,   /* frames off the arrival time: re-anchor */
	REC_LATE_MAX = 80000,  /* frames behind the newest: a late packet */
	REC_QUEUE_MAX = 1024,  /* audio blocks waiting for the thread */
	REC_ZEROS = 4000,      /* frames of silence written at a time */
	REC_DIR_MODE = 0750,   /* of the directories recorder_new makes */
	REC_LOG_VALUE = 512,   /* bytes of an escaped path in a log line */
	REC_PT_PCMU = 0,       /* RFC 3551 static payload types */
	REC_PT_PCMA = 8
};

static const char rec_suffix[] = ".wav";

enum msg_kind { MSG_OPEN, MSG_AUDIO, MSG_CLOSE };

struct file;

/* One message to the thread: open a file, audio for it, or its end. */
struct msg {
	struct msg *next; /* recorder lock: queue order */
	struct file *f;
	enum msg_kind kind;
	int64_t pos;	/* frames: where the audio starts; MSG_CLOSE: the end */
	size_t nframes; /* MSG_AUDIO */
	int16_t *frames; /* MSG_AUDIO: interleaved, in the same allocation */
};

/* A file, the thread's once its open message is queued. */
struct file {
	struct msg open, close; /* never dropped: every file gets closed */
	SNDFILE *sf;		/* thread: NULL before open or after failure */
	int64_t frames;		/* thread: written so far */
	char path[];
};

/* Where one channel's RTP timestamps sit in the file. */
struct chan {
	bool is_anchored;
	uint32_t ssrc;
	uint16_t seq;	     /* of the newest packet placed */
	uint32_t ts;	     /* of that packet */
	int64_t pos;	     /* frames: where ts sits */
	uint64_t arrival_ms; /* when that packet came */
};

/*
 * The worker's side of a recording. Frames at positions [base, base +
 * REC_WINDOW) live in the ring at index pos % REC_WINDOW; everything
 * before base has been handed to the thread. Slots hold zero unless they
 * hold a sample written at a position in [base, end).
 */
struct recording {
	struct recorder *r;	       /* NULL once detached by recorder_free */
	struct recording *prev, *next; /* r->lock: open recordings */
	struct file *f;		       /* where messages go; the thread's */
	uint64_t start_ms;	       /* time zero, the caller's clock */
	struct chan chans[2];
	int64_t base;	  /* frames: the window's first */
	int64_t end;	  /* frames: after the furthest sample written */
	bool has_dropped; /* a block was lost; logged once */
	/* Interleaved frames: left the caller, right the callee. */
	int16_t ring[REC_WINDOW * 2];
};

struct recorder {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool is_sync_init;
	struct msg *head, *tail; /* lock: messages not yet taken */
	size_t nblocks;		 /* lock: MSG_AUDIO in head..tail */
	bool is_stopping;	 /* lock: recorder_free was called */
	struct recording *recs;	 /* lock: open recordings */
	/* Counters, relaxed atomics (recorder_stats). */
	_Atomic uint64_t started, finished, blocks_dropped, errors;
	char dir[];
};

static const int16_t zeros[REC_ZEROS * 2] = {0};

static void count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t load(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static const char *esc(const char *path, char *tmp, size_t cap)
{
	return log_esc(slice_cstr(path), tmp, cap);
}

static void destroy(struct recorder *r)
{
	if (r->is_sync_init) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
	}
	sb_free(r);
}

/* The thread's half: files. */

static void file_fail(struct recorder *r, const struct file *f, const char *op,
		      const char *why)
{
	char tmp[REC_LOG_VALUE];

	count(&r->errors);
	log_warn("recording_failed", "path=%s op=%s error=\"%s\"",
		 esc(f->path, tmp, sizeof(tmp)), op, why);
}

static void file_open(struct recorder *r, struct file *f)
{
	SF_INFO info = {.samplerate = REC_RATE,
			.channels = 2,
			.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	char tmp[REC_LOG_VALUE];

	f->sf = sf_open(f->path, SFM_WRITE, &info);
	if (!f->sf) {
		file_fail(r, f, "open", sf_strerror(NULL));
		return;
	}
	/* The header stays valid if the process dies mid-call. */
	sf_command(f->sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	count(&r->started);
	log_info("recording_started", "path=%s",
		 esc(f->path, tmp, sizeof(tmp)));
}

static void file_write(struct recorder *r, struct file *f,
		       const int16_t *frames, int64_t n)
{
	if (!f->sf)
		return;
	if (sf_writef_short(f->sf, frames, n) != n) {
		file_fail(r, f, "write", sf_strerror(f->sf));
		sf_close(f->sf);
		f->sf = NULL;
		return;
	}
	f->frames += n;
}

/* Silence up to pos: a dropped block or a stretch nobody sent. */
static void file_pad(struct recorder *r, struct file *f, int64_t pos)
{
	while (f->sf && f->frames < pos) {
		int64_t n = pos - f->frames;

		file_write(r, f, zeros, n < REC_ZEROS ? n : REC_ZEROS);
	}
}

/* Pad to the end, close, and free the file. */
static void file_close(struct recorder *r, struct file *f, int64_t end)
{
	char tmp[REC_LOG_VALUE];
	int rc;

	file_pad(r, f, end);
	if (f->sf) {
		rc = sf_close(f->sf);
		f->sf = NULL;
		if (rc != 0) {
			file_fail(r, f, "close", sf_error_number(rc));
		} else {
			count(&r->finished);
			log_info("recording_finished", "path=%s seconds=%.2f",
				 esc(f->path, tmp, sizeof(tmp)),
				 (double)f->frames / REC_RATE);
		}
	}
	sb_free(f);
}

static void run(struct recorder *r, struct msg *m)
{
	struct file *f = m->f;

	switch (m->kind) {
	case MSG_OPEN:
		file_open(r, f);
		break;
	case MSG_AUDIO:
		assert(m->pos >= f->frames);
		file_pad(r, f, m->pos);
		file_write(r, f, m->frames, (int64_t)m->nframes);
		sb_free(m);
		break;
	case MSG_CLOSE:
		file_close(r, f, m->pos);
		break;
	}
}

/*
 * Take every queued message and run it, in order, until recorder_free
 * asks to stop; what was queued before that is still run. Recordings are
 * all closed by then, so no file stays open.
 */
static void *thread_main(void *arg)
{
	struct recorder *r = arg;
	struct msg *list, *next;
	bool is_stopping;

	do {
		pthread_mutex_lock(&r->lock);
		while (!r->head && !r->is_stopping)
			pthread_cond_wait(&r->wake, &r->lock);
		list = r->head;
		r->head = r->tail = NULL;
		r->nblocks = 0;
		is_stopping = r->is_stopping;
		pthread_mutex_unlock(&r->lock);

		for (struct msg *m = list; m; m = next) {
			next = m->next;
			run(r, m);
		}
	} while (!is_stopping);
	return NULL;
}

/*
 * Queue m for the thread. Audio blocks are refused (false) when
 * REC_QUEUE_MAX of them wait; open and close messages always go.
 */
static bool enqueue(struct recorder *r, struct msg *m)
{
	bool is_queued = true;

	m->next = NULL;
	pthread_mutex_lock(&r->lock);
	if (m->kind == MSG_AUDIO && r->nblocks >= REC_QUEUE_MAX) {
		is_queued = false;
	} else {
		if (r->tail)
			r->tail->next = m;
		else
			r->head = m;
		r->tail = m;
		r->nblocks += m->kind == MSG_AUDIO;
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	return is_queued;
}

/* The worker's half: placing samples. */

static void block_dropped(struct recording *rec)
{
	char tmp[REC_LOG_VALUE];

	count(&rec->r->blocks_dropped);
	if (rec->has_dropped)
		return;
	rec->has_dropped = true;
	log_warn("recording_block_dropped", "path=%s",
		 esc(rec->f->path, tmp, sizeof(tmp)));
}

/*
 * Hand the frames before to to the thread (those written, in one block)
 * and move the window's start there. A block that cannot be allocated or
 * queued is dropped: the thread writes silence in its place.
 */
static void flush(struct recording *rec, int64_t to)
{
	int64_t stop = to < rec->end ? to : rec->end;
	size_t n, first, head;
	struct msg *m;

	if (stop > rec->base) {
		n = (size_t)(stop - rec->base);
		first = (size_t)(rec->base % REC_WINDOW);
		head = n < REC_WINDOW - first ? n : REC_WINDOW - first;
		m = sb_malloc(sizeof(*m) + n * 2 * sizeof(int16_t));
		if (m) {
			*m = (struct msg){.f = rec->f,
					  .kind = MSG_AUDIO,
					  .pos = rec->base,
					  .nframes = n,
					  .frames = (int16_t *)(m + 1)};
			memcpy(m->frames, &rec->ring[first * 2],
			       head * 2 * sizeof(int16_t));
			memcpy(m->frames + head * 2, rec->ring,
			       (n - head) * 2 * sizeof(int16_t));
		}
		if (!m || !enqueue(rec->r, m)) {
			sb_free(m);
			block_dropped(rec);
		}
		memset(&rec->ring[first * 2], 0, head * 2 * sizeof(int16_t));
		memset(rec->ring, 0, (n - head) * 2 * sizeof(int16_t));
	}
	if (to > rec->base)
		rec->base = to;
}

static int64_t clock_pos(const struct recording *rec, uint64_t now_ms)
{
	if (now_ms < rec->start_ms)
		return 0;
	return (int64_t)(now_ms - rec->start_ms) * REC_FRAMES_PER_MS;
}

static int64_t anchor(const struct recording *rec, struct chan *c,
		      const struct rtp_hdr *h, uint64_t now_ms)
{
	c->is_anchored = true;
	c->ssrc = h->ssrc;
	c->seq = h->seq;
	c->ts = h->ts;
	c->pos = clock_pos(rec, now_ms);
	c->arrival_ms = now_ms;
	return c->pos;
}

/*
 * Where the first sample of packet h goes on channel c, in frames from
 * time zero. The first packet, a new SSRC, or a timestamp more than
 * REC_JUMP_MAX away from what the time since the previous packet
 * predicts anchors the channel at the arrival time; other packets go by
 * timestamp (the difference taken in 32 bits, so wrap-around is fine).
 * A late packet (older sequence number, timestamp at most REC_LATE_MAX
 * behind) goes by timestamp without moving the anchor, and may fall
 * before the window. A source that restarts its numbering without
 * changing SSRC looks like a jump, not a late packet.
 */
static int64_t place(const struct recording *rec, struct chan *c,
		     const struct rtp_hdr *h, uint64_t now_ms)
{
	int32_t dts = (int32_t)(h->ts - c->ts);
	int64_t predicted;

	if (!c->is_anchored || h->ssrc != c->ssrc)
		return anchor(rec, c, h, now_ms);
	if (dts <= 0 && dts >= -REC_LATE_MAX && (int16_t)(h->seq - c->seq) < 0)
		return c->pos + dts;
	predicted =
	    ((int64_t)now_ms - (int64_t)c->arrival_ms) * REC_FRAMES_PER_MS;
	if (dts - predicted > REC_JUMP_MAX || predicted - dts > REC_JUMP_MAX)
		return anchor(rec, c, h, now_ms);
	c->seq = h->seq;
	c->ts = h->ts;
	c->pos += dts;
	c->arrival_ms = now_ms;
	return c->pos;
}

static int16_t decode(uint8_t pt, uint8_t b)
{
	return pt == REC_PT_PCMU ? ulaw_to_linear(b) : alaw_to_linear(b);
}

/* Decode h's payload into channel ch from frame pos on. */
static void put(struct recording *rec, unsigned ch, const struct rtp_hdr *h,
		int64_t pos)
{
	size_t n =
	    h->payload_len < REC_PACKET_MAX ? h->payload_len : REC_PACKET_MAX;
	size_t i = 0, slot;

	if (pos + (int64_t)n <= rec->base)
		return; /* older than what the thread has */
	if (pos < rec->base)
		i = (size_t)(rec->base - pos);
	if (pos + (int64_t)n > rec->base + REC_WINDOW)
		flush(rec, pos + (int64_t)n - REC_WINDOW + REC_CHUNK);
	slot = (size_t)((pos + (int64_t)i) % REC_WINDOW);
	for (; i < n; i++) {
		rec->ring[slot * 2 + ch] = decode(h->pt, h->payload[i]);
		if (++slot == REC_WINDOW)
			slot = 0;
	}
	if (pos + (int64_t)n > rec->end)
		rec->end = pos + (int64_t)n;
}

/* Flush up to to and send the close message; the file is the thread's. */
static void finish(struct recording *rec, int64_t to)
{
	flush(rec, to);
	rec->f->close.pos = rec->base;
	enqueue(rec->r, &rec->f->close);
	rec->f = NULL;
	rec->r = NULL;
}

/* name's file name (sanitised, with the suffix) into out, or its length
 * when it is too long for NAME_MAX. */
static size_t file_name(const char *name, char *out)
{
	size_t len = strnlen(name, NAME_MAX + 1);

	if (len + sizeof(rec_suffix) - 1 > NAME_MAX)
		return len + sizeof(rec_suffix);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool is_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			     (c == '.' && i > 0);

		out[i] = is_ok ? c : '_';
	}
	if (len == 0)
		out[len++] = '_';
	memcpy(out + len, rec_suffix, sizeof(rec_suffix));
	return len + sizeof(rec_suffix) - 1;
}

int recorder_new(const char *dir, struct recorder **out)
{
	size_t len = strlen(dir);
	char tmp[REC_LOG_VALUE];
	struct recorder *r;
	int rc;

	if (len == 0)
		return -EINVAL;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	rc = sb_mkdir_p(dir, REC_DIR_MODE);
	if (rc != 0) {
		log_warn("recorder_failed", "dir=%s error=\"%s\"",
			 esc(dir, tmp, sizeof(tmp)), sb_strerror(rc));
		return rc;
	}
	r = sb_calloc(1, sizeof(*r) + len + 1);
	if (!r)
		return -ENOMEM;
	memcpy(r->dir, dir, len + 1);
	rc = -pthread_mutex_init(&r->lock, NULL);
	if (rc != 0)
		goto out;
	rc = -pthread_cond_init(&r->wake, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&r->lock);
		goto out;
	}
	r->is_sync_init = true;
	rc = -pthread_create(&r->thread, NULL, thread_main, r);
	if (rc != 0)
		goto out;
	pthread_setname_np(r->thread, "sb-record");
	*out = r;
	return 0;
out:
	destroy(r);
	return rc;
}

struct recorder *recorder_free(struct recorder *r)
{
	struct recording *rec, *next;

	if (!r)
		return NULL;
	pthread_mutex_lock(&r->lock);
	rec = r->recs;
	r->recs = NULL;
	pthread_mutex_unlock(&r->lock);
	for (; rec; rec = next) {
		next = rec->next;
		rec->prev = rec->next = NULL;
		finish(rec, rec->end);
	}
	pthread_mutex_lock(&r->lock);
	r->is_stopping = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	destroy(r);
	return NULL;
}

void recorder_stats(const struct recorder *r, struct recorder_stats *out)
{
	out->started = load(&r->started);
	out->finished = load(&r->finished);
	out->blocks_dropped = load(&r->blocks_dropped);
	out->errors = load(&r->errors);
}

int recording_new(struct recorder *r, const char *name, uint64_t now_ms,
		  struct recording **out, char *path_out, size_t cap)
{
	char fname[NAME_MAX + 1];
	size_t dir_len = strlen(r->dir), len;
	struct recording *rec;
	struct file *f;

	len = file_name(name, fname);
	if (len > NAME_MAX || dir_len + 1 + len >= PATH_MAX ||
	    dir_len + 1 + len >= cap)
		return -ENAMETOOLONG;
	rec = sb_calloc(1, sizeof(*rec));
	f = sb_calloc(1, sizeof(*f) + dir_len + 1 + len + 1);
	if (!rec || !f) {
		sb_free(rec);
		sb_free(f);
		return -ENOMEM;
	}
	memcpy(f->path, r->dir, dir_len);
	f->path[dir_len] = '/';
	memcpy(f->path + dir_len + 1, fname, len + 1);
	memcpy(path_out, f->path, dir_len + 1 + len + 1);
	f->open = (struct msg){.f = f, .kind = MSG_OPEN};
	f->close = (struct msg){.f = f, .kind = MSG_CLOSE};
	rec->r = r;
	rec->f = f;
	rec->start_ms = now_ms;

	pthread_mutex_lock(&r->lock);
	rec->next = r->recs;
	if (r->recs)
		r->recs->prev = rec;
	r->recs = rec;
	pthread_mutex_unlock(&r->lock);
	enqueue(r, &f->open);
	*out = rec;
	return 0;
}

void recording_rtp(struct recording *rec, unsigned ch, const struct rtp_hdr *h,
		   uint64_t now_ms)
{
	int64_t pos;

	if (!rec->r || ch > 1 || h->payload_len == 0)
		return;
	/* Only G.711 is decoded; anything else leaves its stretch silent. */
	if (h->pt != REC_PT_PCMU && h->pt != REC_PT_PCMA)
		return;
	pos = place(rec, &rec->chans[ch], h, now_ms);
	put(rec, ch, h, pos);
}

struct recording *recording_free(struct recording *rec, uint64_t now_ms)
{
	struct recorder *r;
	int64_t now_pos;

	if (!rec)
		return NULL;
	r = rec->r;
	if (r) {
		pthread_mutex_lock(&r->lock);
		if (rec->prev)
			rec->prev->next = rec->next;
		else
			r->recs = rec->next;
		if (rec->next)
			rec->next->prev = rec->prev;
		pthread_mutex_unlock(&r->lock);
		now_pos = clock_pos(rec, now_ms);
		finish(rec, now_pos > rec->end ? now_pos : rec->end);
	}
	sb_free(rec);
	return NULL;
}
