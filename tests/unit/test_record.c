/* Unit tests for call recording: placement by timestamp, the WAV files. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>
#include <spandsp.h>

#include "base/mem.h"
#include "media/record.h"

enum {
	RATE = 8000,
	PKT = 160, /* samples in 20 ms */
	PKT_MS = 20,
	START_MS = 100000, /* the simulated clock at recording_new */
	WAIT_MS = 5000,	   /* longest wait for the recorder thread */
	PT_PCMU = 0,
	PT_PCMA = 8,
	PT_G729 = 18,
	TONE_AMP = 8000,
	TONE2_AMP = 4000
};

struct fx {
	int64_t live_alloc;
	char tmp[64];  /* mkdtemp */
	char dir[128]; /* tmp/rec/calls: made by recorder_new */
	struct recorder *r;
};

/* A simulated endpoint: a sine tone in G.711, one 20 ms packet a call. */
struct src {
	uint8_t pt;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	double hz, amp; /* amp 0: silence */
	uint8_t payload[PKT];
};

/* A file read back whole. */
struct wav {
	SF_INFO info;
	int16_t *frames; /* malloc'd, interleaved */
};

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.live_alloc = sb_live_get(SB_LIVE_ALLOC);
	snprintf(f.tmp, sizeof(f.tmp), "/tmp/sb-rec-XXXXXX");
	assert_non_null(mkdtemp(f.tmp));
	snprintf(f.dir, sizeof(f.dir), "%s/rec/calls", f.tmp);
	assert_int_equal(recorder_new(f.dir, &f.r), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->r = recorder_free(f->r);
	assert_int_equal(nftw(f->tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), f->live_alloc);
	return 0;
}

static struct src src_make(uint8_t pt, uint32_t ssrc, double hz, double amp)
{
	return (struct src){.pt = pt,
			    .ssrc = ssrc,
			    .seq = (uint16_t)(ssrc * 7),
			    .ts = ssrc * 13,
			    .hz = hz,
			    .amp = amp};
}

/* The next packet of s into h (its payload in s); s moves on. */
static void src_next(struct src *s, struct rtp_hdr *h)
{
	for (int i = 0; i < PKT; i++) {
		double t = (double)(uint32_t)(s->ts + (uint32_t)i) / RATE;
		int v = (int)lrint(s->amp * sin(2 * M_PI * s->hz * t));

		s->payload[i] =
		    s->pt == PT_PCMU ? linear_to_ulaw(v) : linear_to_alaw(v);
	}
	*h = (struct rtp_hdr){.pt = s->pt,
			      .seq = s->seq,
			      .ts = s->ts,
			      .ssrc = s->ssrc,
			      .payload = s->payload,
			      .payload_len = PKT};
	s->seq++;
	s->ts += PKT;
}

static void send(struct recording *rec, unsigned ch, struct src *s,
		 uint64_t now_ms)
{
	struct rtp_hdr h;

	src_next(s, &h);
	recording_rtp(rec, ch, &h, now_ms);
}

static uint64_t at(int k)
{
	return START_MS + (uint64_t)k * PKT_MS;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000};

	nanosleep(&ts, NULL);
}

/* Wait until the thread is done with n files: finished or failed. */
static void wait_done(struct recorder *r, uint64_t n, struct recorder_stats *st)
{
	for (int i = 0; i < WAIT_MS; i++) {
		recorder_stats(r, st);
		if (st->finished + st->errors >= n)
			return;
		sleep_ms(1);
	}
	fail_msg("recorder done with %llu files, want %llu",
		 (unsigned long long)(st->finished + st->errors),
		 (unsigned long long)n);
}

static void wav_read(const char *path, struct wav *w)
{
	SNDFILE *sf;

	memset(w, 0, sizeof(*w));
	sf = sf_open(path, SFM_READ, &w->info);
	assert_non_null(sf);
	w->frames = calloc((size_t)w->info.frames * 2 + 1, sizeof(int16_t));
	assert_non_null(w->frames);
	assert_int_equal(sf_readf_short(sf, w->frames, w->info.frames),
			 w->info.frames);
	sf_close(sf);
}

/* Root mean square of channel ch over frames [from, to). */
static double rms(const struct wav *w, unsigned ch, int64_t from, int64_t to)
{
	double sum = 0;

	assert_true(from >= 0 && from < to && to <= w->info.frames);
	for (int64_t i = from; i < to; i++) {
		double v = w->frames[i * 2 + ch];

		sum += v * v;
	}
	return sqrt(sum / (double)(to - from));
}

/* Sign changes of channel ch over frames [from, to): twice the Hz per s. */
static int crossings(const struct wav *w, unsigned ch, int64_t from, int64_t to)
{
	int n = 0;

	for (int64_t i = from + 1; i < to; i++)
		n += (w->frames[(i - 1) * 2 + ch] < 0) !=
		     (w->frames[i * 2 + ch] < 0);
	return n;
}

/* The RMS of a tone of amplitude amp, within 5% (G.711 is lossy). */
static void assert_tone(const struct wav *w, unsigned ch, int64_t from,
			int64_t to, double amp)
{
	double v = rms(w, ch, from, to), want = amp / sqrt(2);

	if (fabs(v - want) > want * 0.05)
		fail_msg("ch %u [%lld, %lld): rms %.1f, want %.1f", ch,
			 (long long)from, (long long)to, v, want);
}

static void assert_frames_near(const struct wav *w, int64_t want)
{
	if (llabs((long long)(w->info.frames - want)) > want / 50)
		fail_msg("frames %lld, want %lld within 2%%",
			 (long long)w->info.frames, (long long)want);
}

static void test_record_two_tones_stereo(void **state)
{
	struct fx *f = *state;
	struct src a = src_make(PT_PCMU, 1, 1000, TONE_AMP);
	struct src b = src_make(PT_PCMA, 2, 400, TONE2_AMP);
	struct recorder_stats st;
	struct recording *rec;
	char path[256], want[256];
	struct wav w;

	assert_int_equal(
	    recording_new(f->r, "call-1", at(0), &rec, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/call-1.wav", f->dir);
	assert_string_equal(path, want);
	for (int k = 0; k < 100; k++) {
		send(rec, 0, &a, at(k));
		send(rec, 1, &b, at(k) + 3); /* a little later, jittery */
	}
	rec = recording_free(rec, at(100));
	assert_null(rec);
	wait_done(f->r, 1, &st);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.blocks_dropped, 0);
	assert_int_equal(st.errors, 0);

	wav_read(path, &w);
	assert_int_equal(w.info.channels, 2);
	assert_int_equal(w.info.samplerate, RATE);
	assert_frames_near(&w, 2 * RATE);
	assert_tone(&w, 0, 800, 15200, TONE_AMP);
	assert_tone(&w, 1, 800, 15200, TONE2_AMP);
	/* Each tone is on its own channel. */
	assert_in_range(crossings(&w, 0, 4000, 12000), 1990, 2010);
	assert_in_range(crossings(&w, 1, 4000, 12000), 790, 810);
	free(w.frames);
}

static void test_record_lost_packet_is_silence(void **state)
{
	struct fx *f = *state;
	struct src a = src_make(PT_PCMU, 1, 1000, TONE_AMP);
	struct src b = src_make(PT_PCMA, 2, 0, 0);
	struct recording *rec;
	struct rtp_hdr lost;
	char path[256];
	struct wav w;

	assert_int_equal(
	    recording_new(f->r, "lost", at(0), &rec, path, sizeof(path)), 0);
	for (int k = 0; k < 100; k++) {
		if (k == 50)
			src_next(&a, &lost);
		else
			send(rec, 0, &a, at(k));
		send(rec, 1, &b, at(k));
	}
	recording_free(rec, at(100));
	f->r = recorder_free(f->r);

	wav_read(path, &w);
	assert_frames_near(&w, 2 * RATE);
	assert_tone(&w, 0, 49 * PKT, 50 * PKT, TONE_AMP);
	assert_true(rms(&w, 0, 50 * PKT, 51 * PKT) == 0);
	assert_tone(&w, 0, 51 * PKT, 52 * PKT, TONE_AMP);
	/* A-law silence decodes to +-8. */
	assert_true(rms(&w, 1, 0, 2 * RATE) <= 8);
	free(w.frames);
}

static void test_record_reanchors(void **state)
{
	struct fx *f = *state;
	struct src a = src_make(PT_PCMU, 1, 1000, TONE_AMP);
	struct src b = src_make(PT_PCMA, 2, 400, TONE2_AMP);
	struct recording *rec;
	char path[256];
	struct wav w;

	assert_int_equal(
	    recording_new(f->r, "jump", at(0), &rec, path, sizeof(path)), 0);
	for (int k = 0; k < 100; k++) {
		if (k == 50)
			a.ts += 10 * RATE; /* a 10 s jump, still 20 ms apart */
		if (k == 75) {
			a.ssrc = 99; /* a new source, timestamps far back */
			a.ts = 12345;
			a.seq = 7;
		}
		if (k == 85) {
			/* The same source restarts far back: not late. */
			a.ts -= 1000 * RATE;
			a.seq = (uint16_t)(a.seq - 1000);
		}
		send(rec, 0, &a, at(k));
		send(rec, 1, &b, at(k));
	}
	recording_free(rec, at(100));
	f->r = recorder_free(f->r);

	wav_read(path, &w);
	assert_frames_near(&w, 2 * RATE);
	/* No gap at the jump nor at the new source. */
	assert_tone(&w, 0, 800, 15200, TONE_AMP);
	assert_tone(&w, 0, 50 * PKT, 51 * PKT, TONE_AMP);
	assert_tone(&w, 0, 75 * PKT, 76 * PKT, TONE_AMP);
	assert_tone(&w, 0, 85 * PKT, 100 * PKT, TONE_AMP);
	assert_tone(&w, 1, 800, 15200, TONE2_AMP);
	free(w.frames);
}

static void test_record_late_start_and_unknown_pt(void **state)
{
	struct fx *f = *state;
	struct src a = src_make(PT_PCMU, 1, 1000, TONE_AMP);
	struct src g729 = src_make(PT_G729, 2, 400, TONE_AMP);
	struct src b = src_make(PT_PCMA, 3, 400, TONE2_AMP);
	struct recording *rec;
	char path[256];
	struct wav w;

	assert_int_equal(
	    recording_new(f->r, "late", at(0), &rec, path, sizeof(path)), 0);
	for (int k = 0; k < 100; k++) {
		send(rec, 0, &a, at(k));
		/* The callee: an undecoded codec for 1 s, then A-law. */
		send(rec, 1, k < 50 ? &g729 : &b, at(k));
	}
	/* Both stop sending 0.5 s before the end. */
	recording_free(rec, at(125));
	f->r = recorder_free(f->r);

	wav_read(path, &w);
	assert_frames_near(&w, 125 * PKT);
	assert_tone(&w, 0, 800, 15200, TONE_AMP);
	assert_true(rms(&w, 1, 0, RATE) == 0);
	assert_tone(&w, 1, RATE, 2 * RATE, TONE2_AMP);
	assert_true(rms(&w, 0, 2 * RATE, 125 * PKT) == 0);
	assert_true(rms(&w, 1, 2 * RATE, 125 * PKT) == 0);
	free(w.frames);
}

static void test_record_late_packets(void **state)
{
	struct fx *f = *state;
	struct src a = src_make(PT_PCMU, 1, 1000, TONE_AMP);
	struct src old = a;
	struct recording *rec;
	struct rtp_hdr h60, h61;
	char path[256];
	struct wav w;

	assert_int_equal(
	    recording_new(f->r, "reorder", at(0), &rec, path, sizeof(path)), 0);
	old.amp = 30000;
	for (int k = 0; k < 150; k++) {
		if (k == 60) { /* 61 arrives before 60 */
			src_next(&a, &h60);
			src_next(&a, &h61);
			recording_rtp(rec, 0, &h61, at(60));
			recording_rtp(rec, 0, &h60, at(60) + 1);
			continue;
		}
		if (k == 61)
			continue;
		send(rec, 0, &a, at(k));
		if (k == 130) {
			/* Packet 5 again, louder, 2.5 s late: long flushed. */
			old.seq = (uint16_t)(old.seq + 5);
			old.ts += 5 * PKT;
			send(rec, 0, &old, at(k) + 10);
		}
	}
	recording_free(rec, at(150));
	f->r = recorder_free(f->r);

	wav_read(path, &w);
	assert_frames_near(&w, 3 * RATE);
	assert_tone(&w, 0, 60 * PKT, 62 * PKT, TONE_AMP);
	assert_tone(&w, 0, 5 * PKT, 6 * PKT, TONE_AMP);
	assert_tone(&w, 0, 130 * PKT, 132 * PKT, TONE_AMP);
	assert_tone(&w, 0, 800, 3 * RATE - 800, TONE_AMP);
	assert_true(rms(&w, 1, 0, 3 * RATE) == 0);
	free(w.frames);
}

static void test_record_dropped_block_is_silence(void **state)
{
	struct fx *f = *state;
	struct src a = src_make(PT_PCMU, 1, 1000, TONE_AMP);
	struct recorder_stats st;
	struct recording *rec;
	char path[256];
	struct wav w;

	assert_int_equal(
	    recording_new(f->r, "drop", at(0), &rec, path, sizeof(path)), 0);
	for (int k = 0; k < 125; k++) {
		/* The first block goes when packet 100 does not fit. */
		if (k == 100)
			sb_mem_fail_after(0);
		send(rec, 0, &a, at(k));
		sb_mem_fail_after(-1);
	}
	recording_free(rec, at(125));
	wait_done(f->r, 1, &st);
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.blocks_dropped, 1);
	f->r = recorder_free(f->r);

	wav_read(path, &w);
	assert_frames_near(&w, 125 * PKT);
	assert_true(rms(&w, 0, 0, 51 * PKT) == 0);
	assert_tone(&w, 0, 52 * PKT, 124 * PKT, TONE_AMP);
	free(w.frames);
}

static void assert_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		fail_msg("%s: %s", path, strerror(errno));
}

static void test_record_names_are_sanitised(void **state)
{
	static const struct {
		const char *name, *file;
	} cases[] = {
	    {"../etc/pass wd", "_._etc_pass_wd.wav"},
	    {"..", "_..wav"},
	    {"", "_.wav"},
	    {"a/b\xff.c", "a_b_.c.wav"},
	    {"Call-ID_9.x", "Call-ID_9.x.wav"},
	};
	struct fx *f = *state;
	struct recording *rec[5];
	char path[256], want[256], tmp[256];
	char long_name[300];
	struct recording *none = NULL;

	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(recording_new(f->r, cases[i].name, at(0),
					       &rec[i], path, sizeof(path)),
				 0);
		snprintf(want, sizeof(want), "%s/%s", f->dir, cases[i].file);
		assert_string_equal(path, want);
	}
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(
	    recording_new(f->r, long_name, at(0), &none, path, sizeof(path)),
	    -ENAMETOOLONG);
	assert_int_equal(recording_new(f->r, "short", at(0), &none, path, 10),
			 -ENAMETOOLONG);
	assert_null(none);
	for (size_t i = 0; i < 5; i++)
		recording_free(rec[i], at(10));
	f->r = recorder_free(f->r);

	for (size_t i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "%s/%s", f->dir, cases[i].file);
		assert_exists(want);
	}
	/* Nothing went outside the directory. */
	snprintf(tmp, sizeof(tmp), "%s/etc", f->dir);
	assert_int_equal(access(tmp, F_OK), -1);
	snprintf(tmp, sizeof(tmp), "%s/rec/etc", f->tmp);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_record_recorder_free_finishes_open(void **state)
{
	struct fx *f = *state;
	struct src a = src_make(PT_PCMU, 1, 1000, TONE_AMP);
	struct src b = src_make(PT_PCMA, 2, 400, TONE2_AMP);
	struct recording *rec;
	char path[256];
	struct wav w;

	assert_int_equal(
	    recording_new(f->r, "open", at(0), &rec, path, sizeof(path)), 0);
	for (int k = 0; k < 50; k++) {
		send(rec, 0, &a, at(k));
		send(rec, 1, &b, at(k));
	}
	f->r = recorder_free(f->r);
	/* Detached: a late packet is ignored, free only frees. */
	send(rec, 0, &a, at(50));
	rec = recording_free(rec, at(60));

	wav_read(path, &w);
	assert_frames_near(&w, RATE);
	assert_tone(&w, 0, 800, RATE - 800, TONE_AMP);
	assert_tone(&w, 1, 800, RATE - 800, TONE2_AMP);
	free(w.frames);
}

static void test_record_open_failure_counted(void **state)
{
	struct fx *f = *state;
	struct recorder_stats st;
	struct recording *rec;
	char path[256], in_way[256];

	/* A directory in the way: the thread cannot open the file. */
	snprintf(in_way, sizeof(in_way), "%s/gone.wav", f->dir);
	assert_int_equal(mkdir(in_way, 0700), 0);
	assert_int_equal(
	    recording_new(f->r, "gone", at(0), &rec, path, sizeof(path)), 0);
	assert_string_equal(path, in_way);
	recording_free(rec, at(50));
	wait_done(f->r, 1, &st);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.started, 0);
	assert_int_equal(st.finished, 0);
}

static void test_record_new_oom(void **state)
{
	struct fx *f = *state;
	struct recording *rec = NULL;
	struct recorder *r = NULL;
	char path[256];
	int rc = -ENOMEM;

	for (int64_t n = 0; rc != 0; n++) {
		sb_mem_fail_after(n);
		rc = recorder_new(f->dir, &r);
		sb_mem_fail_after(-1);
		if (rc != 0)
			assert_int_equal(rc, -ENOMEM);
	}
	rc = -ENOMEM;
	for (int64_t n = 0; rc != 0; n++) {
		sb_mem_fail_after(n);
		rc = recording_new(r, "oom", at(0), &rec, path, sizeof(path));
		sb_mem_fail_after(-1);
		if (rc != 0)
			assert_int_equal(rc, -ENOMEM);
	}
	recording_free(rec, at(10));
	recorder_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_record_two_tones_stereo, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_record_lost_packet_is_silence,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_record_reanchors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_record_late_start_and_unknown_pt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_record_late_packets, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_record_dropped_block_is_silence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_record_names_are_sanitised,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_record_recorder_free_finishes_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_record_open_failure_counted,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_record_new_oom, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
