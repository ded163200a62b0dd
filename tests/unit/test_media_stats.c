/* Unit tests for per-stream receive statistics (media/stats). */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "media/stats.h"

enum {
	WIRE_LEN = 172,	  /* 12-byte header + 20 ms of G.711 */
	TS_STEP = 160,	  /* 20 ms at 8000 Hz */
	STEP_US = 20000,  /* 20 ms */
	NO_SKIP = 0xffff, /* no packet is left out */
};

/* A sender: the next packet's fields and its send time. */
struct sender {
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	uint64_t sent_us;
};

static void feed(struct media_stats *s, const struct sender *tx,
		 uint64_t delay_us, uint32_t clock_hz)
{
	struct rtp_hdr h = {.seq = tx->seq, .ts = tx->ts, .ssrc = tx->ssrc};

	media_stats_rtp(s, &h, WIRE_LEN, tx->sent_us + delay_us, clock_hz);
}

static void next(struct sender *tx)
{
	tx->seq++;
	tx->ts += TS_STEP;
	tx->sent_us += STEP_US;
}

/* n packets at a constant delay; every skip-th (from 1) is lost. */
static void stream(struct media_stats *s, struct sender *tx, int n, int skip)
{
	for (int i = 1; i <= n; i++, next(tx))
		if (i % skip != 0)
			feed(s, tx, 30000, 8000);
}

static void test_media_stats_empty(void **state)
{
	struct media_stats s = {0};
	struct media_summary m;

	media_stats_summary(&s, &m);
	assert_int_equal(m.packets, 0);
	assert_int_equal(m.expected, 0);
	assert_int_equal(m.lost, 0);
	assert_true(m.loss_pct == 0);
	assert_true(m.jitter_ms == 0);
	assert_true(m.mos == 0);
}

static void test_media_stats_clean(void **state)
{
	struct media_stats s = {0};
	struct sender tx = {.ssrc = 7, .seq = 1000, .ts = 5, .sent_us = 1000};
	struct media_summary m;

	stream(&s, &tx, 500, NO_SKIP);
	media_stats_summary(&s, &m);
	assert_int_equal(m.packets, 500);
	assert_int_equal(m.bytes, 500 * WIRE_LEN);
	assert_int_equal(m.expected, 499); /* the first is on probation */
	assert_int_equal(m.lost, 0);
	assert_int_equal(s.lost, 0);
	assert_true(m.jitter_ms == 0); /* a constant delay */
	assert_true(m.mos > 4.35 && m.mos < 4.45);
	assert_int_equal(s.clock_hz, 8000);
	assert_int_equal(s.first_ms, 31);
	assert_int_equal(s.last_ms, 31 + 499 * 20);
}

static void test_media_stats_seq_wrap(void **state)
{
	struct media_stats s = {0};
	struct sender tx = {.ssrc = 7, .seq = 65400, .ts = 0xffffff00};
	struct media_summary m;

	stream(&s, &tx, 300, NO_SKIP);
	media_stats_summary(&s, &m);
	assert_int_equal(s.cycles, 1 << 16);
	assert_int_equal(s.max_seq, (65400 + 299) & 0xffff);
	assert_int_equal(m.expected, 299);
	assert_int_equal(m.lost, 0);
	assert_true(m.jitter_ms == 0); /* the timestamp wrapped too */
}

static void test_media_stats_gap(void **state)
{
	struct media_stats s = {0};
	struct sender tx = {.ssrc = 7, .seq = 65500};
	struct media_summary m;

	stream(&s, &tx, 30, NO_SKIP);
	for (int i = 0; i < 5; i++) /* five lost across the wrap */
		next(&tx);
	stream(&s, &tx, 65, NO_SKIP);
	media_stats_summary(&s, &m);
	assert_int_equal(m.packets, 95);
	assert_int_equal(m.expected, 99);
	assert_int_equal(m.lost, 5);
	assert_int_equal(s.lost, 5);
	assert_true(m.loss_pct > 5.05 && m.loss_pct < 5.06);
}

static void test_media_stats_reorder(void **state)
{
	static const uint16_t seqs[] = {10, 11, 12, 14, 13, 15, 15, 9};
	struct media_stats s = {0};
	struct sender tx = {.ssrc = 7};
	struct media_summary m;

	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		tx.seq = seqs[i];
		tx.ts = seqs[i] * TS_STEP;
		tx.sent_us += STEP_US;
		feed(&s, &tx, 0, 0);
	}
	media_stats_summary(&s, &m);
	assert_int_equal(s.max_seq, 15);
	assert_int_equal(m.expected, 5); /* 11..15 */
	assert_int_equal(s.received, 7); /* a duplicate and a late 9 */
	assert_int_equal(s.lost, -2);
	assert_int_equal(m.lost, 0);
	assert_true(m.loss_pct == 0);
}

static void test_media_stats_new_ssrc(void **state)
{
	struct media_stats s = {0};
	struct sender a = {.ssrc = 1, .seq = 100, .ts = 1000};
	struct sender b = {.ssrc = 2, .seq = 40000, .ts = 0x87654321};
	struct media_summary m;

	stream(&s, &a, 100, 30); /* 3 lost */
	b.sent_us = a.sent_us;
	stream(&s, &b, 100, NO_SKIP);
	media_stats_summary(&s, &m);
	assert_int_equal(s.ssrc, 2);
	assert_int_equal(m.packets, 197);
	assert_int_equal(m.expected, 99 + 99);
	assert_int_equal(m.lost, 3);
	assert_true(m.jitter_ms == 0); /* no spike from the new timestamps */
}

static void test_media_stats_probation(void **state)
{
	struct media_stats s = {0};
	struct sender tx = {.ssrc = 9};
	struct media_summary m;

	for (int i = 0; i < 20; i++) {
		tx.seq = (uint16_t)(i * 7919); /* never sequential */
		tx.sent_us += STEP_US;
		feed(&s, &tx, 0, 0);
	}
	media_stats_summary(&s, &m);
	assert_int_equal(m.packets, 20);
	assert_int_equal(s.received, 0);
	assert_int_equal(m.expected, 0);
	assert_int_equal(m.lost, 0);
	assert_true(m.mos > 4); /* packets came, nothing measured lost */
}

static void test_media_stats_big_jump(void **state)
{
	struct media_stats s = {0};
	struct sender tx = {.ssrc = 3, .seq = 1};
	struct sender stray;
	struct media_summary m;

	stream(&s, &tx, 50, NO_SKIP);
	stray = tx;
	stray.seq += 20000; /* one stray packet is not counted */
	feed(&s, &stray, 0, 0);
	stream(&s, &tx, 50, NO_SKIP);
	media_stats_summary(&s, &m);
	assert_int_equal(m.expected, 99);
	assert_int_equal(m.lost, 0);

	tx.seq += 30000; /* two in a row: the sender restarted */
	stream(&s, &tx, 10, NO_SKIP);
	media_stats_summary(&s, &m);
	assert_int_equal(s.base_seq, (uint16_t)(tx.seq - 9));
	assert_int_equal(m.expected, 99 + 9);
	assert_int_equal(m.lost, 0);
	assert_int_equal(m.packets, 111);
}

static void test_media_stats_jitter(void **state)
{
	struct media_stats s = {0};
	struct sender tx = {.ssrc = 5};
	struct media_summary m;
	double peak;

	/* Every other packet 10 ms late: |D| = 80 units, J tends to 80. */
	for (int i = 0; i < 200; i++, next(&tx))
		feed(&s, &tx, (i % 2) * 10000, 0);
	media_stats_summary(&s, &m);
	assert_true(m.jitter_ms > 9.9 && m.jitter_ms <= 10);
	assert_true(m.jitter_max_ms >= m.jitter_ms);
	assert_true(m.mos < 4.4 && m.mos > 4.2);
	peak = m.jitter_max_ms;

	/* Then a constant delay: J decays back towards 0. */
	for (int i = 0; i < 300; i++, next(&tx))
		feed(&s, &tx, 2000, 0);
	media_stats_summary(&s, &m);
	assert_true(m.jitter_ms < 0.01);
	assert_true(m.jitter_max_ms == peak);
}

static void test_media_stats_jitter_wideband(void **state)
{
	struct media_stats s = {0};
	struct sender tx = {.ssrc = 5};
	struct media_summary m;

	for (int i = 0; i < 200; i++, next(&tx)) {
		tx.ts = (uint32_t)i * 960; /* 20 ms at 48 kHz */
		feed(&s, &tx, (i % 2) * 4000, 48000);
	}
	media_stats_summary(&s, &m);
	assert_int_equal(s.clock_hz, 48000);
	assert_true(m.jitter_ms > 3.9 && m.jitter_ms <= 4);
}

static void test_media_stats_mos_loss(void **state)
{
	struct media_stats clean = {0}, lossy = {0};
	struct sender a = {.ssrc = 1}, b = {.ssrc = 2};
	struct media_summary mc, ml;

	stream(&clean, &a, 1000, NO_SKIP);
	stream(&lossy, &b, 1000, 20); /* 5 % */
	media_stats_summary(&clean, &mc);
	media_stats_summary(&lossy, &ml);
	assert_true(ml.loss_pct > 4.9 && ml.loss_pct < 5.1);
	assert_true(mc.mos > 4.35);
	assert_true(ml.mos > 1.5 && ml.mos < 2.5);

	lossy.rtt_ms = 600; /* a long delay lowers it further */
	media_stats_summary(&lossy, &mc);
	assert_true(mc.mos >= 1 && mc.mos < ml.mos);
}

static void test_media_stats_rtcp_report(void **state)
{
	struct media_stats s = {0};
	struct rtcp_block b = {.ssrc = 1, .cum_lost = -3, .jitter = 44};

	media_stats_rtcp(&s);
	media_stats_rtcp(&s);
	media_stats_report(&s, &b);
	assert_int_equal(s.rtcp_packets, 2);
	assert_int_equal(s.rtcp_lost, -3);
	assert_int_equal(s.rtcp_jitter, 44);
	assert_int_equal(s.rtt_ms, 0); /* a report alone has no round trip */
	assert_int_equal(s.packets, 0);
}

static void test_media_rtt(void **state)
{
	struct media_rtt r = {0};
	struct media_summary sum;
	struct media_stats s = {0};
	/* DLSR 0.5 s = 32768/65536 */
	struct rtcp_block b = {.lsr = 0x12345678, .dlsr = 32768};

	(void)state;
	assert_false(media_rtt_block(&r, &b, 10000000)); /* no SR passed */
	media_rtt_sr(&r, 0x11111111, 1000000);
	media_rtt_sr(&r, 0x12345678, 2000000); /* passed on at 2 s */
	/* its report at 2.58 s: held 0.5 s, so 80 ms on the way */
	assert_true(media_rtt_block(&r, &b, 2580000));
	assert_int_equal(r.rtt_ms, 80);
	/* LSR 0: the endpoint had no SR yet */
	b.lsr = 0;
	assert_false(media_rtt_block(&r, &b, 2600000));
	/* an SR it names that we never passed on */
	b.lsr = 0x0badf00d;
	assert_false(media_rtt_block(&r, &b, 2600000));
	/* DLSR longer than since we passed it: not a round trip */
	b.lsr = 0x11111111;
	b.dlsr = 65536 * 5;
	assert_false(media_rtt_block(&r, &b, 2600000));
	assert_int_equal(r.rtt_ms, 80);
	/* only the last MEDIA_RTT_SRS SRs are remembered */
	for (uint32_t i = 0; i < MEDIA_RTT_SRS; i++)
		media_rtt_sr(&r, 100 + i, 3000000 + i);
	b.lsr = 0x12345678;
	b.dlsr = 0;
	assert_false(media_rtt_block(&r, &b, 3100000));
	b.lsr = 100;
	assert_true(media_rtt_block(&r, &b, 3000400)); /* under 1 ms */
	assert_int_equal(r.rtt_ms, 1);
	/* the summary carries the path's round trip */
	s.rtt_ms = 120;
	media_stats_summary(&s, &sum);
	assert_int_equal(sum.rtt_ms, 120);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_media_stats_empty),
	    cmocka_unit_test(test_media_stats_clean),
	    cmocka_unit_test(test_media_stats_seq_wrap),
	    cmocka_unit_test(test_media_stats_gap),
	    cmocka_unit_test(test_media_stats_reorder),
	    cmocka_unit_test(test_media_stats_new_ssrc),
	    cmocka_unit_test(test_media_stats_probation),
	    cmocka_unit_test(test_media_stats_big_jump),
	    cmocka_unit_test(test_media_stats_jitter),
	    cmocka_unit_test(test_media_stats_jitter_wideband),
	    cmocka_unit_test(test_media_stats_mos_loss),
	    cmocka_unit_test(test_media_stats_rtcp_report),
	    cmocka_unit_test(test_media_rtt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
