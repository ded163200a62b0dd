/* rtpgen: the figures of a run, a block for people and one key=value line. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rtpgen.h"

enum { EXIT_SETUP_FAILED = 1, EXIT_BEHIND = 2, EXIT_NO_WINDOW = 4 };

/* Sums over every endpoint; by_side[s] is what side s sent. */
struct totals {
	uint64_t sent[2], received[2];
	uint64_t foreign, misrouted, malformed, dups, reordered, drops;
	double jitter_sum_ns; /* of per-stream window averages */
	uint64_t jitter_streams;
	double jitter_max_ns;
	uint32_t direct_calls; /* media not through a relay */
	uint32_t up;
};

static bool is_same_addr(const struct sockaddr_in *a,
			 const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr &&
	       a->sin_port == b->sin_port;
}

static void add_call(struct totals *t, const struct rg_call *c)
{
	int side;

	t->up += c->was_up;
	if (c->was_up && is_same_addr(&c->ep[0].peer, &c->ep[1].local) &&
	    is_same_addr(&c->ep[1].peer, &c->ep[0].local))
		t->direct_calls++;
	for (side = 0; side < 2; side++) {
		const struct rg_endpoint *ep = &c->ep[side];
		const struct rg_rx *rx = &ep->rx;

		t->sent[side] += ep->tx.win_sent;
		t->received[1 - side] += rx->win_received;
		t->foreign += rx->foreign;
		t->misrouted += rx->misrouted;
		t->malformed += rx->malformed;
		t->dups += rx->dups;
		t->reordered += rx->reordered;
		t->drops += rx->drops;
		if (rx->win_jitter_n) {
			t->jitter_sum_ns +=
			    rx->win_jitter_sum_ns / (double)rx->win_jitter_n;
			t->jitter_streams++;
		}
		if (rx->win_jitter_max_ns > t->jitter_max_ns)
			t->jitter_max_ns = rx->win_jitter_max_ns;
	}
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static double loss_pct(uint64_t sent, uint64_t received)
{
	return sent && received < sent
		   ? 100.0 * (double)(sent - received) / (double)sent
		   : 0.0;
}

static const char *mode_name(enum rg_mode mode)
{
	return mode == RG_MODE_SIP  ? "sip"
	       : mode == RG_MODE_NG ? "ng"
				    : "direct";
}

static void print_block(const struct rg *rg, const struct totals *t,
			double secs, double relay_cpu_s, bool is_behind)
{
	static const char *DIR[2] = {"A->B", "B->A"};
	char server[32] = "";
	int side;

	if (rg->opt.mode != RG_MODE_DIRECT)
		snprintf(server, sizeof(server), " via %s:%u",
			 inet_ntoa(rg->opt.server.sin_addr),
			 ntohs(rg->opt.server.sin_port));
	printf("rtpgen %s%s: %u calls (set up at %g/s), %.2f s steady window\n",
	       mode_name(rg->opt.mode), server, rg->opt.calls, rg->opt.rate,
	       secs);
	printf("  media path   %u calls through a relay, %u direct\n",
	       t->up - t->direct_calls, t->direct_calls);
	for (side = 0; side < 2; side++) {
		const struct rg_hist *h = &rg->lat[side];

		printf("  %s         sent %llu received %llu loss %.4f %%, "
		       "latency p50 %.1f p99 %.1f max %.1f us\n",
		       DIR[side], (unsigned long long)t->sent[side],
		       (unsigned long long)t->received[side],
		       loss_pct(t->sent[side], t->received[side]),
		       us(rg_hist_quantile(h, 0.5)),
		       us(rg_hist_quantile(h, 0.99)), us(h->max));
	}
	printf("  jitter       avg %.4f ms, max %.4f ms (RFC 3550 A.8 on "
	       "the sender's clock, per stream)\n",
	       t->jitter_streams ? t->jitter_sum_ns / t->jitter_streams / 1e6
				 : 0.0,
	       t->jitter_max_ns / 1e6);
	printf("  checks       foreign source %llu, misrouted %llu, malformed "
	       "%llu, duplicates %llu, reordered %llu\n",
	       (unsigned long long)t->foreign, (unsigned long long)t->misrouted,
	       (unsigned long long)t->malformed, (unsigned long long)t->dups,
	       (unsigned long long)t->reordered);
	printf("  calls        %u up, %u setup failed, %u ended by the far "
	       "side, %u teardown failed\n",
	       t->up, rg->failed, rg->remote_ended, rg->teardown_failed);
	printf("  generator    send lateness p50 %.1f p90 %.1f p99 %.1f "
	       "p99.9 %.1f max %.1f us,\n"
	       "               read lag p99 %.1f us, socket drops %llu, "
	       "skipped %llu, send errors %llu, CPU %.2f s\n",
	       us(rg_hist_quantile(&rg->late, 0.5)),
	       us(rg_hist_quantile(&rg->late, 0.9)),
	       us(rg_hist_quantile(&rg->late, 0.99)),
	       us(rg_hist_quantile(&rg->late, 0.999)), us(rg->late.max),
	       us(rg_hist_quantile(&rg->rx_lag, 0.99)),
	       (unsigned long long)t->drops, (unsigned long long)rg->skipped,
	       (unsigned long long)rg->send_errors, rg->gen_cpu_s);
	if (rg->opt.pid && rg->has_relay_cpu)
		printf("  relay        pid %d: %.2f s CPU in the window, %.0f "
		       "packets/s relayed, %.0f packets per CPU-second\n",
		       rg->opt.pid, relay_cpu_s,
		       secs > 0
			   ? (double)(t->received[0] + t->received[1]) / secs
			   : 0.0,
		       relay_cpu_s > 0
			   ? (double)(t->received[0] + t->received[1]) /
				 relay_cpu_s
			   : 0.0);
	else if (rg->opt.pid)
		printf("  relay        pid %d: CPU time unreadable\n",
		       rg->opt.pid);
	if (rg->opt.mode != RG_MODE_DIRECT && t->direct_calls)
		printf("  WARNING      %u calls' media did not go through the "
		       "relay: it did not anchor them\n",
		       t->direct_calls);
	if (is_behind)
		printf("  VERDICT      the generator fell behind (send "
		       "lateness p99 over %d us, it skipped packets, or its "
		       "sockets dropped): "
		       "these figures are the generator's, not the relay's\n",
		       RG_BEHIND_NS / 1000);
	else if (rg->failed)
		printf("  VERDICT      %u calls failed to set up\n",
		       rg->failed);
	else
		printf("  VERDICT      ok\n");
}

int rg_report(const struct rg *rg)
{
	struct totals t;
	static struct rg_hist all; /* both directions */
	double secs = 0, relay_cpu_s = 0, pps;
	uint64_t sent, received;
	uint32_t i;
	bool is_behind;
	int status = 0;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < rg->opt.calls; i++)
		add_call(&t, &rg->calls[i]);
	all = rg->lat[0];
	rg_hist_merge(&all, &rg->lat[1]);
	if (rg->win_end_ns != INT64_MAX && rg->phase >= RG_PH_DRAIN)
		secs = (double)(rg->win_end_ns - rg->win_start_ns) / 1e9;
	if (rg->has_relay_cpu)
		relay_cpu_s =
		    (double)(rg->relay_ticks[1] - rg->relay_ticks[0]) /
		    (double)sysconf(_SC_CLK_TCK);
	sent = t.sent[0] + t.sent[1];
	received = t.received[0] + t.received[1];
	pps = secs > 0 ? (double)received / secs : 0;
	is_behind = rg_hist_quantile(&rg->late, 0.99) > RG_BEHIND_NS ||
		    t.drops > 0 || rg->skipped > 0;
	if (!rg->opt.is_quiet)
		print_block(rg, &t, secs, relay_cpu_s, is_behind);
	printf(
	    "calls=%u secs=%.2f sent=%llu received=%llu loss_pct=%.4f "
	    "lat_p50_us=%.1f lat_p99_us=%.1f lat_max_us=%.1f "
	    "jitter_ms_avg=%.4f jitter_ms_max=%.4f foreign_src=%llu "
	    "setup_failed=%u",
	    rg->opt.calls, secs, (unsigned long long)sent,
	    (unsigned long long)received, loss_pct(sent, received),
	    us(rg_hist_quantile(&all, 0.5)), us(rg_hist_quantile(&all, 0.99)),
	    us(all.max),
	    t.jitter_streams ? t.jitter_sum_ns / t.jitter_streams / 1e6 : 0.0,
	    t.jitter_max_ns / 1e6, (unsigned long long)t.foreign, rg->failed);
	if (rg->has_relay_cpu && relay_cpu_s > 0)
		printf(" relay_cpu_s=%.2f relay_pps=%.0f pps_per_cpu_s=%.0f",
		       relay_cpu_s, pps, (double)received / relay_cpu_s);
	else if (rg->has_relay_cpu)
		printf(" relay_cpu_s=0.00 relay_pps=%.0f pps_per_cpu_s=na",
		       pps);
	else
		printf(" relay_cpu_s=na relay_pps=%.0f pps_per_cpu_s=na", pps);
	printf(" mode=%s calls_up=%u direct_calls=%u gen_late_p99_us=%.1f "
	       "gen_behind=%d "
	       "gen_cpu_s=%.2f gen_rx_drops=%llu gen_skipped=%llu "
	       "misrouted=%llu "
	       "remote_ended=%u teardown_failed=%u\n",
	       mode_name(rg->opt.mode), t.up, t.direct_calls,
	       us(rg_hist_quantile(&rg->late, 0.99)), is_behind, rg->gen_cpu_s,
	       (unsigned long long)t.drops, (unsigned long long)rg->skipped,
	       (unsigned long long)t.misrouted, rg->remote_ended,
	       rg->teardown_failed);
	fflush(stdout);
	if (rg->failed)
		status |= EXIT_SETUP_FAILED;
	if (is_behind)
		status |= EXIT_BEHIND;
	if (secs <= 0)
		status |= EXIT_NO_WINDOW;
	return status;
}
