#!/usr/bin/env bash
# OPTIONS -> 200 throughput and server CPU per transaction, stateless and
# stateful, switchboard against Kamailio 5.6, in the same run.
#
#   bench/options/run.sh            (from the repository root or anywhere)
#
# For each of RUNS runs, the targets are measured in interleaved order
# (Kamailio stateless, switchboard stateless, Kamailio stateful, switchboard
# stateful), each at every fixed rate in RATES for STEP_SECS seconds, with a
# fresh server per step; then switchboard's receive designs (RECEIVES) are
# compared at the same rates; then (first run only) each target is ramped
# through RAMP for its peak. A step passes with 0 failed transactions and
# >= 95 % of the offered rate. Results: results.csv and summary.md (medians
# over the runs) in RESULTS_DIR.
#
# Server CPU comes from /proc/PID/stat utime+stime of the server's
# processes (all threads; Kamailio's children included), sampled around the
# sipp run: us_per_txn = CPU time / successful transactions.
#
# Environment:
#   SB_BIN=build-rt2-rel/switchboard  switchboard binary (Release build)
#   RATES="5000 10000"  STEP_SECS=10  RUNS=3
#   RAMP="15000 20000 25000 30000 40000"  RAMP_SECS=5  RAMP_RUNS=1
#   RECEIVES="reuseport single"  extra switchboard receive designs measured
#                                (stateful) besides the default reader
#   TARGETS="kam-stateless sb-stateless kam-stateful sb-stateful"
#   WORKERS=2  KAM_CHILDREN=2   server threads / processes
#   RESULTS_DIR=build/bench-results/options-<time>
#   BENCH_LIB=../shared/bench/lib (common.sh: sampling, sipp stats)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BENCH_LIB=${BENCH_LIB:-$REPO/../shared/bench/lib}
[ -f "$BENCH_LIB/common.sh" ] || BENCH_LIB=/work/shared/bench/lib
# shellcheck source=/dev/null
. "$BENCH_LIB/common.sh"

SB_BIN=${SB_BIN:-$REPO/build-rt2-rel/switchboard}
RATES=${RATES:-"5000 10000"}
STEP_SECS=${STEP_SECS:-10}
RUNS=${RUNS:-3}
RAMP=${RAMP:-"15000 20000 25000 30000 40000"}
RAMP_SECS=${RAMP_SECS:-5}
RAMP_RUNS=${RAMP_RUNS:-1}
RECEIVES=${RECEIVES:-"reuseport single"}
TARGETS=${TARGETS:-"kam-stateless sb-stateless kam-stateful sb-stateful"}
WORKERS=${WORKERS:-2}
KAM_CHILDREN=${KAM_CHILDREN:-2}
SUT_PORT=5060
OUT=${RESULTS_DIR:-$REPO/build/bench-results/options-$(date +%Y%m%d-%H%M%S)}
QUIET_TIMEOUT=${QUIET_TIMEOUT:-30}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

[ -x "$SB_BIN" ] || die "switchboard binary not found: $SB_BIN (build Release: cmake -S . -B build-rt2-rel -DCMAKE_BUILD_TYPE=Release -DSB_TESTS=OFF)"
command -v "$SIPP" >/dev/null || die "sipp not found (apt-get install sip-tester)"
if ! command -v kamailio >/dev/null; then
    log "installing kamailio (Debian package)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kamailio >/dev/null ||
        die "could not install kamailio"
fi

SUT_PID=
stop_sut() {
    [ -n "$SUT_PID" ] || return 0
    local tree p
    tree=$(tree_pids "$SUT_PID")
    kill -TERM "$SUT_PID" 2>/dev/null || true
    wait_exit "$SUT_PID" 20 || kill -KILL "$SUT_PID" 2>/dev/null || true
    wait "$SUT_PID" 2>/dev/null || true
    for p in $tree; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
    SUT_PID=
    return 0
}
trap stop_sut EXIT
trap 'exit 130' INT TERM

# start_sut TARGET RECEIVE DIR: a fresh server on $BENCH_IP:$SUT_PORT
start_sut() {
    local target=$1 receive=$2 dir=$3 stateless=false
    require_free_ports "$SUT_PORT" "$UAC_PORT"
    case $target in
    kam-stateless|kam-stateful)
        kamailio -DD -E -f "$HERE/$target.cfg" -m 2048 -M 16 -w "$dir" \
            -A "LISTEN_ADDR=udp:$BENCH_IP:$SUT_PORT" -A "CHILDREN=$KAM_CHILDREN" \
            > "$dir/server.log" 2>&1 &
        ;;
    sb-stateless|sb-stateful)
        [ "$target" = sb-stateless ] && stateless=true
        cat > "$dir/switchboard.yaml" <<EOF
listen: [udp:$BENCH_IP:$SUT_PORT]
data_dir: $dir/data
workers: $WORKERS
receive: $receive
log: {level: warn}
local: {options_stateless: $stateless}
EOF
        "$SB_BIN" serve --config "$dir/switchboard.yaml" > "$dir/server.log" 2>&1 &
        ;;
    *) die "unknown target $target" ;;
    esac
    SUT_PID=$!
    wait_bound "$BENCH_IP" "$SUT_PORT" 15 || { cat "$dir/server.log" >&2; die "$target did not start"; }
    sleep 1
}

# step TARGET RECEIVE RATE SECS DIR -> appends a CSV line, prints a summary
step() {
    local target=$1 receive=$2 rate=$3 secs=$4 dir=$5 n pids t0 t1 u0 u1 w0 w1 rss
    local sipp_pid rc=0 ok failed elapsed retrans ok_s us pct upct
    mkdir -p "$dir"
    wait_quiet
    start_sut "$target" "$receive" "$dir"
    n=$((rate * secs))
    pids=$(tree_pids "$SUT_PID")
    # shellcheck disable=SC2046
    $(launcher "$SIPP_UAC_CPU") "$SIPP" "$BENCH_IP:$SUT_PORT" -sf "$HERE/options_uac.xml" \
        $(sipp_port_opts "$UAC_PORT") -t "$SIPP_TRANSPORT" -buff_size "$SIPP_BUFF" \
        -r "$rate" -m "$n" -l $((rate * 4)) -timeout $((secs + 40))s -recv_timeout 10000 \
        -max_non_invite_retrans 3 -nostdin -trace_stat -stf "$dir/uac.csv" -fd 1 \
        > "$dir/sipp.log" 2>&1 &
    sipp_pid=$!
    read -r t0 _ <<< "$(_proc_cpu_rss $pids)"
    read -r u0 _ <<< "$(_proc_cpu_rss "$sipp_pid")"
    w0=$EPOCHREALTIME
    # sample the SUT until sipp ends (its CPU is read before it exits)
    while kill -0 "$sipp_pid" 2>/dev/null; do
        read -r t1 rss <<< "$(_proc_cpu_rss $pids)"
        read -r u1 _ <<< "$(_proc_cpu_rss "$sipp_pid")"
        w1=$EPOCHREALTIME
        sleep 0.2
        [ "$(awk -v a="$w0" -v b="$EPOCHREALTIME" 'BEGIN { print int(b - a) }')" -gt $((secs + 60)) ] && stop_sipp "$sipp_pid" 5
    done
    wait "$sipp_pid" 2>/dev/null || rc=$?
    read -r t1 rss <<< "$(_proc_cpu_rss $pids)"
    stop_sut
    read -r elapsed ok failed retrans <<< "$(sipp_stat "$dir/uac.csv" Elapsed 'SuccessfulCall(C)' 'FailedCall(C)' 'Retransmissions(C)')"
    read -r ok_s us pct upct <<< "$(awk -v ok="$ok" -v el="$elapsed" -v d=$((t1 - t0)) -v du=$((u1 - u0)) \
        -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN {
            wall = w1 - w0; if (wall <= 0) wall = el
            printf "%.0f %.2f %.0f %.0f\n", (el > 0 ? ok / el : 0), (ok > 0 ? d / hz * 1e6 / ok : 0),
                (wall > 0 ? 100 * d / hz / wall : 0), (wall > 0 ? 100 * du / hz / wall : 0) }')"
    echo "$RUN,$target,$receive,$rate,$n,$ok,$failed,$elapsed,$ok_s,$pct,$us,$upct,$retrans,$rss,$rc" >> "$OUT/results.csv"
    printf '%-14s %-9s %6s/s  ok %7s  failed %4s  %6s/s  SUT %4s%%  %7s us/txn  sipp %3s%%  retrans %s\n' \
        "$target" "$receive" "$rate" "$ok" "$failed" "$ok_s" "$pct" "$us" "$upct" "$retrans" >&2
    LAST_PASS=0
    [ "$failed" = 0 ] && [ "$ok_s" -ge $((rate * 95 / 100)) ] && LAST_PASS=1
    return 0
}

receive_of() { case $1 in sb-*) echo reader ;; *) echo - ;; esac; }

echo "run,target,receive,rate,offered,ok,failed,elapsed_s,ok_per_s,sut_cpu_pct,us_per_txn,sipp_cpu_pct,retrans,sut_rss_kb,sipp_rc" > "$OUT/results.csv"
{
    echo "switchboard: $("$SB_BIN" version) ($SB_BIN)"
    echo "kamailio: $(kamailio -v | awk '/^version:/ { print $3 }')"
    echo "sipp: $("$SIPP" -v 2>&1 | awk '/SIPp v/ { print $2; exit }')"
    echo "cpus: $(nproc)  kernel: $(uname -r)"
    echo "RATES=$RATES STEP_SECS=$STEP_SECS RUNS=$RUNS RAMP=$RAMP RAMP_SECS=$RAMP_SECS WORKERS=$WORKERS KAM_CHILDREN=$KAM_CHILDREN"
} > "$OUT/env.txt"
log "results in $OUT"

for ((RUN = 1; RUN <= RUNS; RUN++)); do
    log "run $RUN/$RUNS: fixed rates"
    for rate in $RATES; do
        for target in $TARGETS; do
            step "$target" "$(receive_of "$target")" "$rate" "$STEP_SECS" "$OUT/run$RUN/$target-$rate"
        done
        for receive in $RECEIVES; do
            step sb-stateful "$receive" "$rate" "$STEP_SECS" "$OUT/run$RUN/sb-stateful-$receive-$rate"
        done
    done
    [ "$RUN" -le "$RAMP_RUNS" ] || continue
    log "run $RUN/$RUNS: ramp for the peak"
    pairs=""
    for target in $TARGETS; do pairs="$pairs $target:$(receive_of "$target")"; done
    for receive in $RECEIVES; do pairs="$pairs sb-stateful:$receive"; done
    for pair in $pairs; do
        target=${pair%%:*} receive=${pair#*:} peak=0
        for rate in $RAMP; do
            RUN="ramp$RUN" step "$target" "$receive" "$rate" "$RAMP_SECS" \
                "$OUT/run$RUN/ramp-$target-$receive-$rate"
            [ "$LAST_PASS" = 1 ] || break
            peak=$rate
        done
        echo "$target ($receive) peak=$peak" >> "$OUT/peaks.txt"
        log "$target ($receive): peak $peak/s"
    done
done

# Medians over the runs, per target, receive design and rate.
awk -F, 'NR > 1 && $1 !~ /^ramp/ {
        k = $2 "," $3 "," $4; n[k]++; us[k, n[k]] = $11; cpu[k, n[k]] = $10
        ok[k] += $6; fail[k] += $7; okps[k, n[k]] = $9; keys[k] = 1 }
    function med(a, k, c,   i, j, t, v) {
        for (i = 1; i <= c; i++) v[i] = a[k, i]
        for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
        return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2 }
    END {
        for (k in keys) { split(k, p, ",")
            printf "| %s | %s | %s | %d | %d | %d | %s | %s | %s |\n", p[1], p[2], p[3], n[k], ok[k], fail[k],
                med(okps, k, n[k]), med(cpu, k, n[k]), med(us, k, n[k]) }
    }' "$OUT/results.csv" | sort -t'|' -k4,4n -k2,2 > "$OUT/summary.body"
{
    echo "| target | receive | rate/s | runs | ok | failed | achieved/s (median) | SUT CPU % (median) | us/txn (median) |"
    echo "|---|---|---|---|---|---|---|---|---|"
    cat "$OUT/summary.body"
} > "$OUT/summary.md"
rm -f "$OUT/summary.body"
[ -f "$OUT/peaks.txt" ] && { echo; echo "Peaks (ramp, ${RAMP_SECS}s steps):"; cat "$OUT/peaks.txt"; } >> "$OUT/summary.md"
cat "$OUT/summary.md"
