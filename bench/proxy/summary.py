#!/usr/bin/env python3
"""Summary of a bench/proxy/run.sh results folder, as Markdown on stdout.

    summary.py RESULTS_DIR

Reads RESULTS_DIR/run<N>-<mode>-<target>/ramp/results.csv (the shared
harness's per-step rows) and, per step folder, mon.txt (SUT CPU ticks) and
the sipp UAC's *_rtt.csv (-trace_rtt: every response time, in ms), and
RESULTS_DIR/baseline (the same calls with no proxy).

Per step:
  us/op    the harness's figure: SUT CPU % (average over the step) x 10 ms
           / offered rate
  us/call  SUT CPU rate over the sampler's window (utime+stime of all its
           threads and processes per wall second, from mon.txt, unrounded)
           / achieved call rate (ok/s)
  rt1      INVITE -> 200 at the UAC, rt2 BYE -> 200; p50/p99 from the rtt
           trace (exact, millisecond resolution; sipp's clock is in ms),
           else the upper bound of the harness's bucket
  probe    probe.py's calls placed during the step (PROBE_RATE/s): rt1/rt2
           in us; "added" = probe p50 (p99) minus the baseline's probe p50
           (p99) at the same rate (the probe's own overhead cancels out)
  PSS      the server's PSS, maximum over the step (all processes); with
           switchboard's 32 s transaction linger and 5 s between steps it
           includes what the previous step left: a clean figure at a rate
           needs a fresh server (RATES=<rate> REFINE=0)
  busiest thread  from run.sh's threads.txt (Kamailio: its busiest process)
"""
import csv
import glob
import os
import re
import statistics
import sys

HZ = os.sysconf("SC_CLK_TCK")
FIXED = (1000, 2000, 3000)
TARGET_US = 135


def steps_of(ramp):
    """[(row, stepdir)] in order: a row per step folder, both in run order"""
    f = os.path.join(ramp, "results.csv")
    if not os.path.exists(f):
        return []
    with open(f) as fh:
        rows = list(csv.DictReader(fh))
    dirs = sorted(d for d in glob.glob(os.path.join(ramp, "step*")) if os.path.isdir(d))
    return list(zip(rows, dirs))


def cpu_window(mon):
    """(SUT CPU seconds per wall second, first epoch, last epoch) over the
    monitor's window from mon.txt (epoch, cumulative ticks, ...), or None"""
    try:
        with open(mon) as fh:
            rows = [line.split() for line in fh]
    except OSError:
        return None
    rows = [(float(r[0]), int(r[1])) for r in rows if len(r) > 2]
    if len(rows) < 2 or rows[-1][0] <= rows[0][0]:
        return None
    t0, t1 = rows[0][0], rows[-1][0]
    return (max(t for _, t in rows) - rows[0][1]) / HZ / (t1 - t0), t0, t1


def rtts(stepdir):
    """{1: [ms...], 2: [ms...]} from the sipp -trace_rtt files of the step"""
    out = {}
    for f in glob.glob(os.path.join(stepdir, "*_rtt.csv")):
        with open(f) as fh:
            for line in fh:
                p = line.strip().split(";")
                if len(p) < 3 or not re.match(r"^[0-9.]+$", p[1]):
                    continue
                out.setdefault(int(p[2]), []).append(float(p[1]))
    for v in out.values():
        v.sort()
    return out


def probe_calls(path):
    """[(epoch, rt1_us, rt2_us, status)] from probe.py's output"""
    out = []
    try:
        with open(path) as fh:
            for line in fh:
                p = line.split()
                if len(p) == 4:
                    out.append((float(p[0]), None if p[1] == "-" else int(p[1]),
                                None if p[2] == "-" else int(p[2]), p[3]))
    except OSError:
        pass
    return out


def load_threads(path):
    """[(epoch, {tid:comm: ticks})] from run.sh's threads.txt"""
    out = []
    try:
        with open(path) as fh:
            for line in fh:
                p = line.split()
                if len(p) < 2:
                    continue
                d = {}
                for kv in p[1:]:
                    k, _, v = kv.rpartition("=")
                    if v.isdigit():
                        d[k] = int(v)
                out.append((float(p[0]), d))
    except (OSError, ValueError):
        pass
    return out


def busiest_thread(samples, t0, t1):
    """(name, % of a core) of the busiest thread between t0 and t1"""
    win = [x for x in samples if t0 - 0.5 <= x[0] <= t1 + 0.5]
    if len(win) < 2:
        return None
    (a, da), (b, db) = win[0], win[-1]
    best = None
    for k, v in db.items():
        if k in da and b > a:
            x = 100.0 * (v - da[k]) / HZ / (b - a)
            if best is None or x > best[1]:
                best = (k.split(":", 1)[-1], x)
    return best


def pct(values, q):
    if not values:
        return None
    i = max(0, min(len(values) - 1, int(q * len(values) + 0.999999) - 1))
    return values[i]


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fmt(x, nd=0):
    if x is None:
        return "-"
    return ("%." + str(nd) + "f") % x


def analyse(ramp):
    res = []
    probe = probe_calls(os.path.join(os.path.dirname(ramp), "probe.txt"))
    threads = load_threads(os.path.join(os.path.dirname(ramp), "threads.txt"))
    for row, d in steps_of(ramp):
        ok = int(num(row["ok"]) or 0)
        cw = cpu_window(os.path.join(d, "mon.txt"))
        okps = num(row["ok_per_s"])
        # the probe's calls placed within the sampler's window
        pc = [c for c in probe if cw and cw[1] <= c[0] <= cw[2]]
        p1 = sorted(c[1] for c in pc if c[3] == "ok")
        p2 = sorted(c[2] for c in pc if c[3] == "ok")
        prate = len(pc) / (cw[2] - cw[1]) if cw else 0
        r = rtts(d)
        s = {
            "rate": int(row["rate"]), "ok": ok, "fail": int(num(row["fail"]) or 0),
            "okps": num(row["ok_per_s"]), "sut": num(row["sut_cpu_avg"]),
            "top": num(row["sut_top_proc_cpu"]), "usop": num(row["sut_cpu_us_per_call"]),
            # the sampler's window ends up to 1 s before the last call:
            # CPU rate over the window / achieved call rate
            # (+ the probe's calls, a few per second)
            "uscall": (cw[0] * 1e6 / (okps + prate)) if (cw and okps) else None,
            "thr": busiest_thread(threads, cw[1], cw[2]) if cw else None,
            "pn": len(pc), "pfail": sum(1 for c in pc if c[3] != "ok"),
            "p1p50": pct(p1, 0.5), "p1p99": pct(p1, 0.99), "p2p50": pct(p2, 0.5), "p2p99": pct(p2, 0.99),
            "uac": num(row["uac_cpu_avg"]), "uas": num(row["uas_cpu_avg"]),
            "psi": num(row["cpu_pressure_pct"]), "foreign": num(row["foreign_cpu_avg"]),
            "pss": (num(row["sut_pss_max_kb"]) or 0) / 1024,
            "rtx": row["retrans_uac"], "drops": int(num(row["drops_sut"]) or 0) + int(num(row["drops_sipp"]) or 0),
            "pass": row["pass"] == "1", "noisy": row["noisy"] == "1",
            "rt1avg": num(row["rt1_avg_ms"]), "rt2avg": num(row["rt2_avg_ms"]),
            "exact": bool(r.get(1)),
        }
        if r.get(1):
            s["rt1p50"], s["rt1p99"] = pct(r[1], 0.50), pct(r[1], 0.99)
            s["rt2p50"], s["rt2p99"] = pct(r.get(2), 0.50), pct(r.get(2), 0.99)
        else:  # bucket upper bounds from the harness ('inf' = over 1 s)
            s["rt1p50"], s["rt1p99"] = num(row["rt1_p50_ms"]), num(row["rt1_p99_ms"])
            s["rt2p50"], s["rt2p99"] = None, num(row["rt2_p95_ms"])
        res.append(s)
    return res


def peak_of(steps, ramp):
    best = None
    for s in steps:
        if s["pass"] and (best is None or s["rate"] >= best["rate"]):
            best = s
    txt = os.path.join(ramp, "max_cps.txt")
    return best, (open(txt).read().strip() if os.path.exists(txt) else "max_cps=? (ramp incomplete)")


def main():
    out = sys.argv[1]
    print("# Proxy CPS: switchboard vs Kamailio (bench/proxy/run.sh)\n")
    env = os.path.join(out, "env.txt")
    if os.path.exists(env):
        print("```\n" + open(env).read().rstrip() + "\n```\n")

    base = {}
    bsteps = analyse(os.path.join(out, "baseline", "ramp"))
    for s in bsteps:
        if s["pass"]:
            base[s["rate"]] = s

    runs = sorted(d for d in glob.glob(os.path.join(out, "run*-*-*")) if os.path.isdir(d))
    table = {}   # (mode, target) -> {rate: [step...]}
    peaks = {}   # (mode, target) -> [(run, peak rate, step)]
    for rd in runs:
        name = os.path.basename(rd)
        m = re.match(r"run(\d+)-(whole|pinned)-(\w+)$", name)
        if not m:
            continue
        run, mode, target = int(m.group(1)), m.group(2), m.group(3)
        print("## run %d, %s, %s\n" % (run, mode, target))
        if os.path.exists(os.path.join(rd, "SKIPPED")):
            print("skipped: %s\n" % open(os.path.join(rd, "SKIPPED")).read().strip())
            continue
        idle = os.path.join(rd, "idle_mem.txt")
        if os.path.exists(idle):
            n, rss, pss = open(idle).read().split()
            print("idle: %s processes, RSS %.1f MB, PSS %.1f MB\n" % (n, int(rss) / 1024, int(pss) / 1024))
        ramp = os.path.join(rd, "ramp")
        steps = analyse(ramp)
        print("| offered/s | ok/s | failed | SUT % | busiest thread % | us/op (harness) | us/call | "
              "probe calls (failed) | probe rt1 p50 / p99 us | added rt1 p50 / p99 us | probe rt2 p50 / p99 us | "
              "sipp rt1 p50 / p99 ms | sipp rt2 p50 / p99 ms | PSS max MB | UAC % | UAS % | psi % | other % | retrans | drops | verdict |")
        print("|" + "---|" * 21)
        for s in steps:
            b = base.get(s["rate"])
            add = "-"
            if b and s["p1p50"] is not None and b["p1p50"] is not None:
                add = "%s / %s" % (fmt(s["p1p50"] - b["p1p50"]), fmt(s["p1p99"] - b["p1p99"]))
            rt1 = "%s / %s" % (fmt(s["rt1p50"]), fmt(s["rt1p99"]))
            rt2 = "%s / %s" % (fmt(s["rt2p50"]), fmt(s["rt2p99"]))
            if not s["exact"]:
                rt1 += " (buckets)"
            verdict = ("PASS" if s["pass"] else "FAIL") + (" noisy" if s["noisy"] else "")
            print("| %d | %s | %d | %s | %s | %s | %s | %d (%d) | %s / %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s |" % (
                s["rate"], fmt(s["okps"]), s["fail"], fmt(s["sut"]),
                ("%s %s" % (s["thr"][0], fmt(s["thr"][1]))) if s["thr"] else fmt(s["top"]), fmt(s["usop"]),
                fmt(s["uscall"]), s["pn"], s["pfail"], fmt(s["p1p50"]), fmt(s["p1p99"]), add,
                fmt(s["p2p50"]), fmt(s["p2p99"]), rt1, rt2, fmt(s["pss"]), fmt(s["uac"]), fmt(s["uas"]),
                fmt(s["psi"]), fmt(s["foreign"]), s["rtx"], s["drops"], verdict))
        # medians use the last attempt at each rate of this run (the harness
        # re-runs a step that failed under foreign load)
        last = {}
        for s in steps:
            last[s["rate"]] = s
        for rate, s in last.items():
            table.setdefault((mode, target), {}).setdefault(rate, []).append(s)
        best, line = peak_of(steps, ramp)
        pss_all = max([s["pss"] for s in steps] or [0])
        print()
        if best:
            print("%s; at the peak: SUT %s %% (busiest process %s %%, thread %s), %s us/call, PSS %s MB "
                  "(max over the ramp %s MB), probe rt1 p50/p99 %s/%s us, sipp rt1 p50/p99 %s/%s ms\n" % (
                      line, fmt(best["sut"]), fmt(best["top"]),
                      ("%s %s %%" % (best["thr"][0], fmt(best["thr"][1]))) if best["thr"] else "-",
                      fmt(best["uscall"]), fmt(best["pss"]),
                      fmt(pss_all), fmt(best["p1p50"]), fmt(best["p1p99"]),
                      fmt(best["rt1p50"]), fmt(best["rt1p99"])))
        else:
            print("%s; no passing step\n" % line)
        peaks.setdefault((mode, target), []).append((run, best["rate"] if best else 0, best))

    if bsteps:
        print("## baseline (no proxy: sipp UAC -> sipp UAS)\n")
        print("| rate/s | ok/s | failed | probe calls (failed) | probe rt1 p50 / p99 us | probe rt2 p50 / p99 us | "
              "sipp rt1 p50 / p99 ms | sipp rt2 p50 / p99 ms | verdict |")
        print("|---|---|---|---|---|---|---|---|---|")
        for s in bsteps:
            print("| %d | %s | %d | %d (%d) | %s / %s | %s / %s | %s / %s | %s / %s | %s |" % (
                s["rate"], fmt(s["okps"]), s["fail"], s["pn"], s["pfail"], fmt(s["p1p50"]), fmt(s["p1p99"]),
                fmt(s["p2p50"]), fmt(s["p2p99"]), fmt(s["rt1p50"]), fmt(s["rt1p99"]),
                fmt(s["rt2p50"]), fmt(s["rt2p99"]), "PASS" if s["pass"] else "FAIL"))
        print()

    # medians over runs, per mode, target and fixed rate
    print("## medians over runs\n")
    print("| mode | target | rate/s | runs | failed (sum) | us/call (median; each run) | us/op harness (median) | "
          "probe rt1 p50 / p99 us (median) | added rt1 p50 / p99 us | sipp rt1 p50 / p99 ms (median) | PSS MB (median) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (mode, target), rates in sorted(table.items()):
        for rate in sorted(rates):
            if rate not in FIXED:
                continue
            ss = rates[rate]
            us = [s["uscall"] for s in ss if s["uscall"] is not None]
            uo = [s["usop"] for s in ss if s["usop"] is not None]
            p50 = [s["rt1p50"] for s in ss if s["rt1p50"] is not None]
            p99 = [s["rt1p99"] for s in ss if s["rt1p99"] is not None]
            pss = [s["pss"] for s in ss]
            q50 = [s["p1p50"] for s in ss if s["p1p50"] is not None]
            q99 = [s["p1p99"] for s in ss if s["p1p99"] is not None]
            m50 = statistics.median(q50) if q50 else None
            m99 = statistics.median(q99) if q99 else None
            b = base.get(rate)
            add = "-"
            if b and m50 is not None and b["p1p50"] is not None:
                add = "%s / %s" % (fmt(m50 - b["p1p50"]), fmt(m99 - b["p1p99"]))
            print("| %s | %s | %d | %d | %d | %s (%s) | %s | %s / %s | %s | %s / %s | %s |" % (
                mode, target, rate, len(ss), sum(s["fail"] for s in ss),
                fmt(statistics.median(us)) if us else "-", ", ".join(fmt(u) for u in us),
                fmt(statistics.median(uo)) if uo else "-", fmt(m50), fmt(m99), add,
                fmt(statistics.median(p50)) if p50 else "-", fmt(statistics.median(p99)) if p99 else "-",
                fmt(statistics.median(pss), 1) if pss else "-"))
    print()
    print("| mode | target | peak per run | median peak |")
    print("|---|---|---|---|")
    for (mode, target), lst in sorted(peaks.items()):
        ps = [p for _, p, _ in lst]
        print("| %s | %s | %s | %s |" % (mode, target, ", ".join(str(p) for p in ps),
                                         fmt(statistics.median(ps)) if ps else "-"))
    print()

    # the targets, per mode
    for mode in sorted({m for m, _ in peaks}):
        sb = table.get((mode, "switchboard"), {})
        if not sb:
            continue
        print("### targets (%s): <= %d us of server CPU per call at %s/s with 0 failed; peak above Kamailio's\n"
              % (mode, TARGET_US, ", ".join(str(r) for r in FIXED)))
        for rate in FIXED:
            ss = sb.get(rate, [])
            us = [s["uscall"] for s in ss if s["uscall"] is not None]
            if not ss:
                print("- %d/s: not measured" % rate)
                continue
            med = statistics.median(us) if us else None
            fails = sum(s["fail"] for s in ss)
            kam = table.get((mode, "kamailio"), {}).get(rate, [])
            kus = [s["uscall"] for s in kam if s["uscall"] is not None]
            ratio = (" (Kamailio %s us, ratio %.2f)" % (fmt(statistics.median(kus)), med / statistics.median(kus))
                     if kus and med else "")
            ok = med is not None and med <= TARGET_US and fails == 0
            print("- %d/s: %s us/call, %d failed%s: %s" % (rate, fmt(med), fails, ratio, "met" if ok else "NOT met"))
        sbp = [p for _, p, _ in peaks.get((mode, "switchboard"), [])]
        kp = [p for _, p, _ in peaks.get((mode, "kamailio"), [])]
        if sbp and kp:
            a, b = statistics.median(sbp), statistics.median(kp)
            print("- peak: switchboard %s, Kamailio %s: %s" % (fmt(a), fmt(b), "met" if a > b else "NOT met"))
        print()


if __name__ == "__main__":
    main()
