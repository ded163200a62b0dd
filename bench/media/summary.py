#!/usr/bin/env python3
"""Summary of bench/media/run.sh compare: medians per calls and target.

    summary.py results.csv

Prints a markdown table (one row per calls and target: the median of each
figure over the runs, and how many runs the generator fell behind in) and,
per calls, the ratio of the medians pps_per_cpu_s(switchboard) /
pps_per_cpu_s(rtpengine).
"""
import csv
import statistics
import sys

ORDER = ["direct", "switchboard", "rtpengine"]


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def median(rows, key):
    vals = [num(r.get(key)) for r in rows]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def main(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    groups = {}
    for r in rows:
        groups.setdefault((int(r["calls"]), r["target"]), []).append(r)
    print("| calls | target | runs | up | loss % | latency p50 / p99 / max us "
          "| jitter avg / max ms | relay CPU s | pps | pps per CPU-s "
          "| generator behind |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ratios = []
    for calls in sorted({c for c, _ in groups}):
        pps_cpu = {}
        for target in ORDER:
            g = groups.get((calls, target))
            if not g:
                continue
            behind = sum(r.get("gen_behind") == "1" for r in g)
            pps_cpu[target] = median(g, "pps_per_cpu_s")
            print(f"| {calls} | {target} | {len(g)} "
                  f"| {fmt(median(g, 'calls_up'), 0)} "
                  f"| {fmt(median(g, 'loss_pct'), 4)} "
                  f"| {fmt(median(g, 'lat_p50_us'))} / "
                  f"{fmt(median(g, 'lat_p99_us'))} / "
                  f"{fmt(median(g, 'lat_max_us'))} "
                  f"| {fmt(median(g, 'jitter_ms_avg'), 4)} / "
                  f"{fmt(median(g, 'jitter_ms_max'), 4)} "
                  f"| {fmt(median(g, 'relay_cpu_s'), 2)} "
                  f"| {fmt(median(g, 'relay_pps'), 0)} "
                  f"| {fmt(pps_cpu[target], 0)} | {behind} of {len(g)} |")
        sb, rtpe = pps_cpu.get("switchboard"), pps_cpu.get("rtpengine")
        if sb and rtpe:
            ratios.append(f"calls={calls} ratio pps_per_cpu_s "
                          f"switchboard/rtpengine={sb / rtpe:.2f} "
                          f"({sb:.0f} / {rtpe:.0f}, medians)")
    if ratios:
        print()
        print("\n".join(ratios))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
