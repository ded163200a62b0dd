#!/usr/bin/env bash
# Proxy calls per second (INVITE/100/180/200/ACK/BYE/200) through switchboard
# and through Kamailio 5.6 (tm + rr + registrar lookup), in the same run,
# with the shared ramp harness (../shared/bench/run-proxy-cps.sh).
#
#   SB_BIN=build-bench/switchboard bench/proxy/run.sh [both|kamailio|switchboard]
#
# Builds nothing. For each run (RUNS), each mode (MODES: whole box and/or
# pinned) and each target (Kamailio first, then switchboard, interleaved):
#   1. start the server on 127.0.0.10:5060 with 2 workers:
#        kamailio  bench/proxy/kamailio-lookup.cfg, children=2, -m 2048
#        switchboard  bench/proxy/switchboard.yaml (workers 2, challenge_methods
#                  [], max_transactions 0), fresh temporary data dir, user
#                  service@127.0.0.10 added with `switchboard user add`
#   2. register the sipp UAS: bench/proxy/register.py sends REGISTER from
#      127.0.0.10:5090 itself (Contact sip:service@127.0.0.10:5090), with
#      digest for switchboard and without for Kamailio; sipp's UAC dials
#      sip:service@127.0.0.10:5060 (uac_call.xml's [service], sipp -s default)
#   3. a smoke test: SMOKE_CALLS calls at 10/s; the ramp is skipped if any fails
#   4. SUT_PID=<server> RATES=... run-proxy-cps.sh 127.0.0.10 5060
#      (a step passes with 0 failed calls and >= 95 % of offered; then REFINE
#      bisection steps between the last pass and the first failure)
#   5. server statistics (kamcmd core.shmmem / switchboard ctl stats), stop
# During each ramp probe.py places PROBE_RATE calls/s of its own, timed in
# microseconds, and the server's threads are sampled once a second
# (threads.txt: is one thread saturated?). Then an optional null baseline
# (sipp UAC straight to the sipp UAS and probe UAC straight to probe UAS, no
# proxy) at BASELINE_RATES for the added latency, and summary.py writes
# summary.md: per step CPU per call, failures, latency p50/p99 (probe, us;
# sipp -trace_rtt, 4 ms granularity) and PSS; peaks; medians; the targets.
#
# Modes:
#   whole   server and sipp share both CPUs (the scheduler decides)
#   pinned  server on SERVER_CPUS (taskset -c, default 0), both sipp
#           processes on SIPP_CPUS (default 1): the per-core figure
#
# Environment (defaults):
#   SB_BIN=$REPO/build-bench/switchboard   switchboard binary
#   RATES="1000 2000 3000 4000 5000 6000 8000 10000 12000 16000"  coarse ramp
#   STEP_SECS=10
#   REFINE=2  COOLDOWN=5  FAIL_COOLDOWN=35  QUIET_MAX=15  QUIET_TIMEOUT=60
#             (passed to the shared harness, see its README)
#   RUNS=1  MODES="whole"  ("whole pinned" for both)
#   SERVER_CPUS=0  SIPP_CPUS=1              pinned mode placement
#   WORKERS=2  KAM_CHILDREN=2  KAM_SHM=2048  KAM_PKG=16
#   SB_RECEIVE=   switchboard `receive:` (reader, reuseport, single); empty = default
#   SB_PAUSE_US=  switchboard `receive_pause_us:` (UDP reader pause); empty = default
#   SB_CALL_MODE= switchboard `call_mode:` (proxy, b2bua); empty = default (proxy)
#   SMOKE_CALLS=10                          0 = no smoke test
#   BASELINE=1  BASELINE_RATES="1000 2000 3000"   null run (no proxy) for added latency
#   TRACE_RTT=1   sipp UAC -trace_rtt (every response time, 4 ms granularity)
#   PROBE_RATE=20 calls/s of the latency probe (probe.py: its own UAC on
#                 127.0.0.10:5084 and UAS on :5086 registered as probe@127.0.0.10,
#                 timed in us) during every ramp and the baseline; 0 = none.
#                 Its calls count in the server's CPU per call.
#   RESULTS_DIR=$REPO/build/bench-results/proxy-<time>
#   SHARED_BENCH=$REPO/../shared/bench
# sipp_port_opts output and PID lists are split on purpose:
# shellcheck disable=SC2046,SC2086
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$REPO/../shared/bench}
[ -f "$SHARED_BENCH/lib/common.sh" ] || SHARED_BENCH=/work/shared/bench
SHARED_BENCH=$(cd "$SHARED_BENCH" && pwd)
# shellcheck source=/dev/null
. "$SHARED_BENCH/lib/common.sh"

WHAT=${1:-both}
SB_BIN=${SB_BIN:-$REPO/build-bench/switchboard}
RATES=${RATES:-"1000 2000 3000 4000 5000 6000 8000 10000 12000 16000"}
STEP_SECS=${STEP_SECS:-10}
REFINE=${REFINE:-2}
RUNS=${RUNS:-1}
MODES=${MODES:-whole}
SERVER_CPUS=${SERVER_CPUS:-0}
SIPP_CPUS=${SIPP_CPUS:-1}
WORKERS=${WORKERS:-2}
SB_RECEIVE=${SB_RECEIVE:-}
SB_PAUSE_US=${SB_PAUSE_US:-}
SB_CALL_MODE=${SB_CALL_MODE:-}
KAM_CHILDREN=${KAM_CHILDREN:-2}
KAM_SHM=${KAM_SHM:-2048}
KAM_PKG=${KAM_PKG:-16}
SMOKE_CALLS=${SMOKE_CALLS:-10}
BASELINE=${BASELINE:-1}
BASELINE_RATES=${BASELINE_RATES:-"1000 2000 3000"}
TRACE_RTT=${TRACE_RTT:-1}
PROBE_RATE=${PROBE_RATE:-20}
PROBE_UAC_PORT=5084       # free in the proxy test: 5080-5086 is the null registrar's range
PROBE_UAS_PORT=5086
export QUIET_TIMEOUT=${QUIET_TIMEOUT:-60}
SUT_PORT=5060
AOR_USER=service          # uac_call.xml dials sip:[service]@TARGET; sipp's default -s
SB_PASSWORD=bench-service-pw
OUT=${RESULTS_DIR:-$REPO/build/bench-results/proxy-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

case $WHAT in
both) TARGETS="kamailio switchboard" ;;
kamailio | switchboard) TARGETS=$WHAT ;;
*) die "usage: $0 [both|kamailio|switchboard]" ;;
esac
for m in $MODES; do case $m in whole | pinned) ;; *) die "MODES: whole and/or pinned, not '$m'" ;; esac; done
command -v "$SIPP" >/dev/null || die "sipp not found"
command -v python3 >/dev/null || die "python3 not found"
if [[ " $TARGETS " == *" kamailio "* ]]; then
    command -v kamailio >/dev/null || die "kamailio not found (apt-get install kamailio)"
    [ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/registrar.so ] ||
        [ -n "$(find /usr/lib*/ -path '*kamailio/modules/registrar.so' 2>/dev/null | head -1)" ] ||
        die "kamailio registrar.so / usrloc.so missing"
fi
if [[ " $TARGETS " == *" switchboard "* ]]; then
    [ -x "$SB_BIN" ] || die "switchboard binary not found: $SB_BIN (set SB_BIN)"
    SB_BIN=$(cd "$(dirname "$SB_BIN")" && pwd)/$(basename "$SB_BIN")
fi

# ---------------------------------------------------------------- servers
SRV_PID=
SRV_TREE=
SB_DATA=
SMOKE_PIDS=
PROBE_PID=
stop_probe() {
    [ -n "$PROBE_PID" ] || return 0
    kill -TERM "$PROBE_PID" 2>/dev/null || true
    wait_exit "$PROBE_PID" 10 || kill -KILL "$PROBE_PID" 2>/dev/null || true
    wait "$PROBE_PID" 2>/dev/null || true
    PROBE_PID=
    return 0
}
# start_probe OUTFILE CPU-LIST [--password PW | --direct]: PROBE_RATE calls/s until stop_probe
start_probe() {
    local outf=$1 cpus=$2; shift 2
    [ "$PROBE_RATE" != 0 ] || return 0
    require_free_ports "$PROBE_UAC_PORT" "$PROBE_UAS_PORT"
    $(launcher "$cpus")python3 "$HERE/probe.py" --server "$BENCH_IP:$SUT_PORT" \
        --uac "$BENCH_IP:$PROBE_UAC_PORT" --uas "$BENCH_IP:$PROBE_UAS_PORT" --domain "$BENCH_IP" \
        --user probe --rate "$PROBE_RATE" --out "$outf" "$@" > "$outf.log" 2>&1 &
    PROBE_PID=$!
    sleep 2
    kill -0 "$PROBE_PID" 2>/dev/null || { cat "$outf.log" >&2; PROBE_PID=; die "latency probe did not start"; }
}
# per-thread CPU of the server (all its processes), once a second:
#   <epoch> <tid>:<comm>=<utime+stime ticks> ...
THR_PID=
start_threads() {  # outfile
    local outf=$1 roots
    roots=$(tree_pids "$SRV_PID")
    (
        set +e
        trap 'exit 0' TERM
        while :; do
            line=$EPOCHREALTIME
            for p in $roots; do
                for t in "/proc/$p"/task/[0-9]*; do
                    read -r st 2>/dev/null < "$t/stat" || continue
                    read -r comm 2>/dev/null < "$t/comm" || comm="?"
                    read -r -a f <<< "${st##*) }"
                    line="$line ${t##*/}:${comm// /_}=$((f[11] + f[12]))"
                done
            done
            echo "$line"
            sleep 1
        done
    ) > "$outf" 2>/dev/null &
    THR_PID=$!
}
stop_threads() {
    [ -n "$THR_PID" ] || return 0
    kill "$THR_PID" 2>/dev/null; wait "$THR_PID" 2>/dev/null
    THR_PID=
    return 0
}
stop_server() {
    local p
    stop_probe
    stop_threads
    for p in $SMOKE_PIDS; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
    SMOKE_PIDS=
    [ -n "$SRV_PID" ] || return 0
    SRV_TREE=$(tree_pids "$SRV_PID")
    kill -TERM "$SRV_PID" 2>/dev/null || true
    wait_exit "$SRV_PID" 20 || kill -KILL "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    # Kamailio's children normally exit with it; make sure (ours, by PID)
    for p in $SRV_TREE; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
    SRV_PID=
    if [ -n "$SB_DATA" ] && [ -d "$SB_DATA" ]; then rm -rf "$SB_DATA"; fi
    SB_DATA=
    return 0
}
trap 'stop_server; stop_probe; stop_threads' EXIT
trap 'exit 130' INT TERM

start_kamailio() {  # mode dir
    local mode=$1 dir=$2 cmd=()
    require_free_ports "$SUT_PORT"
    [ "$mode" = pinned ] && cmd+=(taskset -c "$SERVER_CPUS")
    cmd+=(kamailio -DD -E -f "$HERE/kamailio-lookup.cfg" -m "$KAM_SHM" -M "$KAM_PKG" -w "$dir"
          -A "LISTEN_ADDR=udp:$BENCH_IP:$SUT_PORT" -A "CHILDREN=$KAM_CHILDREN"
          -A "CTL_SOCK=\"unix:$dir/kamailio_ctl\"")
    printf '%q ' "${cmd[@]}" > "$dir/server.cmdline"; echo >> "$dir/server.cmdline"
    "${cmd[@]}" > "$dir/server.log" 2>&1 &
    SRV_PID=$!
    wait_bound "$BENCH_IP" "$SUT_PORT" 15 || { cat "$dir/server.log" >&2; die "kamailio did not start"; }
    sleep 2
    python3 "$HERE/register.py" --server "$BENCH_IP:$SUT_PORT" --local "$BENCH_IP:$UAS_PORT" \
        --user "$AOR_USER" --domain "$BENCH_IP" > "$dir/register.txt" 2>&1 ||
        { cat "$dir/register.txt" >&2; die "REGISTER to kamailio failed"; }
    if command -v kamcmd >/dev/null; then
        kamcmd -s "unix:$dir/kamailio_ctl" ul.dump > "$dir/bindings.txt" 2>&1 || true
    fi
}

start_switchboard() {  # mode dir
    local mode=$1 dir=$2 cmd=()
    require_free_ports "$SUT_PORT"
    SB_DATA=$(mktemp -d /tmp/sb-proxy-bench.XXXXXX)
    sed "s/^workers:.*/workers: $WORKERS/" "$HERE/switchboard.yaml" > "$dir/switchboard.yaml"
    [ -n "$SB_RECEIVE" ] && echo "receive: $SB_RECEIVE" >> "$dir/switchboard.yaml"
    [ -n "$SB_PAUSE_US" ] && echo "receive_pause_us: $SB_PAUSE_US" >> "$dir/switchboard.yaml"
    [ -n "$SB_CALL_MODE" ] && echo "call_mode: $SB_CALL_MODE" >> "$dir/switchboard.yaml"
    "$SB_BIN" check-config --config "$dir/switchboard.yaml" > "$dir/check-config.txt" 2>&1 ||
        { cat "$dir/check-config.txt" >&2; die "switchboard config refused"; }
    "$SB_BIN" user add --config "$dir/switchboard.yaml" --data-dir "$SB_DATA" \
        "$AOR_USER@$BENCH_IP" "$SB_PASSWORD" > "$dir/user-add.txt" 2>&1 ||
        { cat "$dir/user-add.txt" >&2; die "switchboard user add failed"; }
    "$SB_BIN" user add --config "$dir/switchboard.yaml" --data-dir "$SB_DATA" \
        "probe@$BENCH_IP" "$SB_PASSWORD" >> "$dir/user-add.txt" 2>&1 ||
        { cat "$dir/user-add.txt" >&2; die "switchboard user add (probe) failed"; }
    [ "$mode" = pinned ] && cmd+=(taskset -c "$SERVER_CPUS")
    cmd+=("$SB_BIN" serve --config "$dir/switchboard.yaml" --data-dir "$SB_DATA")
    printf '%q ' "${cmd[@]}" > "$dir/server.cmdline"; echo >> "$dir/server.cmdline"
    "${cmd[@]}" > "$dir/server.log" 2>&1 &
    SRV_PID=$!
    wait_bound "$BENCH_IP" "$SUT_PORT" 15 || { cat "$dir/server.log" >&2; die "switchboard did not start"; }
    sleep 1
    python3 "$HERE/register.py" --server "$BENCH_IP:$SUT_PORT" --local "$BENCH_IP:$UAS_PORT" \
        --user "$AOR_USER" --domain "$BENCH_IP" --password "$SB_PASSWORD" > "$dir/register.txt" 2>&1 ||
        { cat "$dir/register.txt" >&2; die "REGISTER to switchboard failed"; }
    "$SB_BIN" ctl --socket "$SB_DATA/switchboard.sock" bindings > "$dir/bindings.txt" 2>&1 || true
}

server_stats() {  # target dir: the server's own counters after the ramp
    local target=$1 dir=$2
    case $target in
    kamailio)
        command -v kamcmd >/dev/null || return 0
        {
            echo "## core.shmmem (bytes; kamcmd prints 32-bit signed ints)"
            kamcmd -s "unix:$dir/kamailio_ctl" core.shmmem 2>&1
            echo "## tm.stats"
            kamcmd -s "unix:$dir/kamailio_ctl" tm.stats 2>&1
        } > "$dir/server-stats.txt" || true
        ;;
    switchboard)
        "$SB_BIN" ctl --socket "$SB_DATA/switchboard.sock" stats > "$dir/server-stats.json" 2>&1 || true
        ;;
    esac
}

# a few calls at 10/s before the ramp: does a call go through at all?
smoke() {  # mode dir -> 0 if all SMOKE_CALLS succeeded
    local mode=$1 d=$2/smoke uas uac ok
    [ "$SMOKE_CALLS" -gt 0 ] || return 0
    mkdir -p "$d"
    require_free_ports "$UAS_PORT" "$UAC_PORT"
    (cd "$d" && exec "$SIPP" -sf "$SHARED_BENCH/sipp/uas_call.xml" $(sipp_port_opts "$UAS_PORT") -t u1 \
        -m "$SMOKE_CALLS" -timeout 30s -recv_timeout 10000 -nostdin -trace_err) > "$d/uas.log" 2>&1 &
    uas=$!
    SMOKE_PIDS="$uas"
    wait_bound "$BENCH_IP" "$UAS_PORT" 5 || { SMOKE_PIDS=; kill -KILL "$uas" 2>/dev/null; return 1; }
    (cd "$d" && exec "$SIPP" -sf "$SHARED_BENCH/sipp/uac_call.xml" "$BENCH_IP:$SUT_PORT" \
        $(sipp_port_opts "$UAC_PORT") -t u1 -r 10 -m "$SMOKE_CALLS" -timeout 30s -recv_timeout 10000 \
        -nostdin -trace_stat -stf "$d/uac.csv" -trace_err -trace_msg) > "$d/uac.log" 2>&1 &
    uac=$!
    SMOKE_PIDS="$uas $uac"
    wait_pid_bounded "$uac" 40 || true
    wait_exit "$uas" 8 || stop_sipp "$uas" 3
    wait "$uas" 2>/dev/null || true
    SMOKE_PIDS=
    ok=$(sipp_stat "$d/uac.csv" 'SuccessfulCall(C)' 2>/dev/null || echo 0)
    log "smoke: $ok/$SMOKE_CALLS calls ok"
    [ "$ok" = "$SMOKE_CALLS" ]
}

# one ramp of one target: dir gets server logs/stats and ramp/ (the harness's results)
run_target() {  # target mode run
    local target=$1 mode=$2 run=$3 dir uac_cpu="" uas_cpu="" rc=0
    dir=$OUT/run$run-$mode-$target
    mkdir -p "$dir"
    log "=== run $run, $mode, $target"
    wait_quiet
    case $target in
    kamailio) start_kamailio "$mode" "$dir" ;;
    switchboard) start_switchboard "$mode" "$dir" ;;
    esac
    local pids rss pss
    pids=$(tree_pids "$SRV_PID")
    read -r _ rss <<< "$(_proc_cpu_rss $pids)"
    pss=$(_proc_pss $pids)
    echo "$(echo $pids | wc -w) $rss $pss" > "$dir/idle_mem.txt"
    taskset -pc "$SRV_PID" >> "$dir/server.cmdline" 2>&1 || true
    log "$target pid $SRV_PID: idle RSS ${rss} kB, PSS ${pss} kB; $(head -1 "$dir/register.txt")"
    if ! smoke "$mode" "$dir"; then
        log "$target: smoke test failed (see $dir/smoke/); skipping its ramp"
        echo "smoke failed" > "$dir/SKIPPED"
        stop_server
        return 0
    fi
    if [ "$mode" = pinned ]; then uac_cpu=$SIPP_CPUS; uas_cpu=$SIPP_CPUS; fi
    local rtt_opt=""
    [ "$TRACE_RTT" = 1 ] && rtt_opt="-trace_rtt"
    if [ "$target" = switchboard ]; then
        start_probe "$dir/probe.txt" "$uac_cpu" --password "$SB_PASSWORD"
    else
        start_probe "$dir/probe.txt" "$uac_cpu"
    fi
    start_threads "$dir/threads.txt"
    SUT_PID=$SRV_PID RESULTS_DIR=$dir/ramp RATES=$RATES STEP_SECS=$STEP_SECS REFINE=$REFINE \
        SIPP_UAC_CPU=$uac_cpu SIPP_UAS_CPU=$uas_cpu SIPP_UAC_OPTS="${SIPP_UAC_OPTS:-} $rtt_opt" \
        "$SHARED_BENCH/run-proxy-cps.sh" "$BENCH_IP" "$SUT_PORT" 2>&1 | tee "$dir/ramp.txt" || rc=$?
    stop_probe
    stop_threads
    server_stats "$target" "$dir"
    stop_server
    [ "$rc" = 0 ] || log "$target: ramp exited with $rc"
    return 0
}

# the same call flow with no proxy (UAC -> UAS): the latency floor
run_baseline() {
    local dir=$OUT/baseline rtt_opt=""
    mkdir -p "$dir"
    [ "$TRACE_RTT" = 1 ] && rtt_opt="-trace_rtt"
    log "=== null baseline (no proxy) at $BASELINE_RATES"
    start_probe "$dir/probe.txt" "" --direct
    RESULTS_DIR=$dir/ramp RATES=$BASELINE_RATES STEP_SECS=$STEP_SECS REFINE=0 STOP_AFTER_FAILS=99 \
        SIPP_UAC_OPTS="${SIPP_UAC_OPTS:-} $rtt_opt" \
        "$SHARED_BENCH/run-proxy-cps.sh" "$BENCH_IP" "$UAS_PORT" 2>&1 | tee "$dir/ramp.txt" || true
    stop_probe
}

{
    echo "date: $(date '+%F %T %z')"
    [[ " $TARGETS " == *" switchboard "* ]] && echo "switchboard: $("$SB_BIN" version 2>&1) ($SB_BIN)" &&
        echo "switchboard git: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null) $(git -C "$REPO" status --porcelain 2>/dev/null | wc -l) changed files"
    command -v kamailio >/dev/null && echo "kamailio: $(kamailio -v | awk '/^version:/ { print $3 }')"
    echo "sipp: $("$SIPP" -v 2>&1 | awk '/SIPp v/ { print $2; exit }')"
    echo "cpus: $(nproc)  kernel: $(uname -r)  model: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "RATES=$RATES STEP_SECS=$STEP_SECS REFINE=$REFINE PROBE_RATE=$PROBE_RATE RUNS=$RUNS MODES=$MODES WORKERS=$WORKERS SB_RECEIVE=${SB_RECEIVE:-default} SB_PAUSE_US=${SB_PAUSE_US:-default} KAM_CHILDREN=$KAM_CHILDREN SERVER_CPUS=$SERVER_CPUS SIPP_CPUS=$SIPP_CPUS"
} > "$OUT/env.txt"
log "results in $OUT"

for ((run = 1; run <= RUNS; run++)); do
    for mode in $MODES; do
        for target in $TARGETS; do
            run_target "$target" "$mode" "$run"
        done
    done
done
[ "$BASELINE" = 1 ] && run_baseline

python3 "$HERE/summary.py" "$OUT" | tee "$OUT/summary.md"
