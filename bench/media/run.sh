#!/usr/bin/env bash
# Media relay: switchboard's RTP relay (a B2BUA anchoring media) against
# rtpengine in userspace mode, measured with the same generator
# (bench/rtpgen, built as bench_rtpgen).
#
#   SB_BIN=build-bench/switchboard RTPGEN=build-bench/bench_rtpgen \
#       bench/media/run.sh [compare|max] [TARGET...]
#
# Builds nothing. TARGETs: direct, switchboard, rtpengine.
#
# compare (default; targets "direct switchboard rtpengine"): for each CALLS in
#   CALLS_LIST, for each target:
#     direct       rtpgen --direct: A and B send to each other, no relay
#                  (the loopback floor for latency)
#     switchboard  switchboard serve, b2bua mode, workers WORKERS, media
#                  anchored on 127.0.0.10 (SB_MEDIA), foreign domains
#                  forwarded; rtpgen --sip 127.0.0.10:5060 --pid <switchboard>
#     rtpengine    rtpengine 10.5, userspace only (--table=-1, no kernel
#                  module, no redis, --config-file=none), --num-threads
#                  WORKERS, on 127.0.0.20; rtpgen --ng 127.0.0.20:2223
#                  --pid <rtpengine>
#   and prints each rtpgen summary line; RUNS times, interleaved. Then
#   summary.py writes summary.md: per CALLS and target the medians, and the
#   ratio pps_per_cpu_s(switchboard) / pps_per_cpu_s(rtpengine) of the
#   medians: packets relayed per CPU-second of the relay (all its threads,
#   utime+stime from /proc/PID/stat over the steady window), more is better.
#
# max (targets "switchboard rtpengine"): for each target, CALLS goes up
#   MAX_CALLS until a step fails, and says what limited: the relay (loss
#   >= MAX_LOSS_PCT, or calls that failed to set up) or the generator
#   (rtpgen fell behind: its send lateness p99 over 2 ms, packets skipped
#   for being a period late, or drops on its sockets; the figures are then
#   the generator's). The answer is the last CALLS that passed.
#
# Every call is G.711 PCMU at 20 ms in both directions (50 pps each way),
# set up at RATE calls/s, measured for SECS seconds of steady state after
# SETTLE seconds; rtpgen's endpoints and SIP sockets are on 127.0.0.30.
# Ports: both relays relay on 40000-59999 (switchboard on 127.0.0.10,
# rtpengine on 127.0.0.20, never at once) and rtpgen's endpoints take
# ephemeral ports: all in the ephemeral range, where nobody binds on
# purpose, so the e2e tests' phones and relays (baresip binds RTP to
# 0.0.0.0 from 12000 to 32600) and this benchmark never take each other's
# ports. Everything is on loopback, every process is stopped on exit, and
# every rtpgen run is bounded.
#
# Environment (defaults):
#   SB_BIN=$REPO/build-bench/switchboard   RTPGEN=$REPO/build-bench/bench_rtpgen
#   RTPENGINE=rtpengine
#   CALLS_LIST="100 500 1000 2000"         compare mode
#   MAX_CALLS="250 500 750 1000 1250 1500 2000 2500 3000 4000"   max mode
#   MAX_LOSS_PCT=0.1
#   RETRY_BEHIND=1   a max step the generator fell behind in is run again
#                    this many times (a busy neighbour, not the load)
#   SECS=20  RATE=200  SETTLE=2  WORKERS=1  COOLDOWN=2  RUNS=1 (compare)
#   SB_MEDIA="{mode: anchor, address: 127.0.0.10, ports: 40000-59999}"
#            none: no media line (switchboard passes SDP through, media goes
#            direct; rtpgen warns, and its figures are not a relay's)
#   RELAY_CPUS=  GEN_CPUS=   taskset -c placement of the relay / rtpgen
#   GEN_RT=0     1: rtpgen under chrt -f 1, so other tenants of a shared
#                machine do not preempt the generator (the relay is not
#                given any priority)
#   QUIET_MAX=15 QUIET_TIMEOUT=30   wait for other tenants to calm down
#                before each run (shared harness, ../shared/bench/lib)
#   RESULTS_DIR=$REPO/build/bench-results/media-<time>
# Word splitting of the lists and launcher prefixes is on purpose:
# shellcheck disable=SC2046,SC2086
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$REPO/../shared/bench}
[ -f "$SHARED_BENCH/lib/common.sh" ] || SHARED_BENCH=/work/shared/bench
# shellcheck source=/dev/null
. "$SHARED_BENCH/lib/common.sh"

MODE=${1:-compare}
[ $# -gt 0 ] && shift
case $MODE in
compare) TARGETS=${*:-"direct switchboard rtpengine"} ;;
max) TARGETS=${*:-"switchboard rtpengine"} ;;
*) die "usage: $0 [compare|max] [direct|switchboard|rtpengine ...]" ;;
esac
SB_BIN=${SB_BIN:-$REPO/build-bench/switchboard}
RTPGEN=${RTPGEN:-$REPO/build-bench/bench_rtpgen}
RTPENGINE=${RTPENGINE:-rtpengine}
CALLS_LIST=${CALLS_LIST:-"100 500 1000 2000"}
MAX_CALLS=${MAX_CALLS:-"250 500 750 1000 1250 1500 2000 2500 3000 4000"}
MAX_LOSS_PCT=${MAX_LOSS_PCT:-0.1}
RETRY_BEHIND=${RETRY_BEHIND:-1}
SECS=${SECS:-20}
RUNS=${RUNS:-1}
RATE=${RATE:-200}
SETTLE=${SETTLE:-2}
WORKERS=${WORKERS:-1}
COOLDOWN=${COOLDOWN:-2}
SB_MEDIA=${SB_MEDIA:-"{mode: anchor, address: 127.0.0.10, ports: 40000-59999}"}
RELAY_CPUS=${RELAY_CPUS:-}
GEN_CPUS=${GEN_CPUS:-}
GEN_RT=${GEN_RT:-0}
export QUIET_TIMEOUT=${QUIET_TIMEOUT:-30}
SB_IP=127.0.0.10
SB_PORT=5060
RTPE_IP=127.0.0.20
RTPE_NG_PORT=2223
GEN_IP=127.0.0.30
OUT=${RESULTS_DIR:-$REPO/build/bench-results/media-$(date +%Y%m%d-%H%M%S)}

for t in $TARGETS; do
    case $t in direct | switchboard | rtpengine) ;; *) die "unknown target '$t'" ;; esac
done
[ -x "$RTPGEN" ] || die "rtpgen not found: $RTPGEN (set RTPGEN)"
if [[ " $TARGETS " == *" switchboard "* ]]; then
    [ -x "$SB_BIN" ] || die "switchboard binary not found: $SB_BIN (set SB_BIN)"
fi
if [[ " $TARGETS " == *" rtpengine "* ]]; then
    command -v "$RTPENGINE" > /dev/null || die "rtpengine not found (apt-get install rtpengine-daemon)"
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# ---------------------------------------------------------------- processes
RELAY_PID=
GEN_PID=
SB_DATA=
stop_pid() {  # pid: TERM, then KILL after 10 s
    kill -TERM "$1" 2> /dev/null || return 0
    wait_exit "$1" 10 || kill -KILL "$1" 2> /dev/null || true
    wait "$1" 2> /dev/null || true
}
stop_relay() {
    if [ -n "$RELAY_PID" ]; then stop_pid "$RELAY_PID"; fi
    RELAY_PID=
    if [ -n "$SB_DATA" ] && [ -d "$SB_DATA" ]; then rm -rf "$SB_DATA"; fi
    SB_DATA=
    return 0
}
cleanup() {
    if [ -n "$GEN_PID" ]; then stop_pid "$GEN_PID"; fi
    GEN_PID=
    stop_relay
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pin() {  # cpu list -> command prefix
    [ -n "$1" ] && printf 'taskset -c %s ' "$1"
    return 0
}

start_switchboard() {  # dir
    local dir=$1
    require_udp_free "$SB_IP" "$SB_PORT"
    SB_DATA=$(mktemp -d /tmp/sb-media-bench.XXXXXX)
    {
        echo "listen: [udp:$SB_IP:$SB_PORT]"
        echo "data_dir: $SB_DATA/data"
        echo "workers: $WORKERS"
        echo "log: {level: warn}"
        echo "max_transactions: 0"
        echo "call_mode: b2bua"
        echo "proxy: {foreign_domains: forward}"
        echo "b2bua: {session_expires_s: 0}"
        [ "$SB_MEDIA" = none ] || echo "media: $SB_MEDIA"
    } > "$dir/switchboard.yaml"
    "$SB_BIN" check-config --config "$dir/switchboard.yaml" > "$dir/check-config.txt" 2>&1 ||
        { cat "$dir/check-config.txt" >&2; die "switchboard refused its config (SB_MEDIA=none runs without anchoring)"; }
    $(pin "$RELAY_CPUS")"$SB_BIN" serve --config "$dir/switchboard.yaml" > "$dir/relay.log" 2>&1 &
    RELAY_PID=$!
    wait_bound "$SB_IP" "$SB_PORT" 15 || { cat "$dir/relay.log" >&2; die "switchboard did not start"; }
}

start_rtpengine() {  # dir
    local dir=$1
    require_udp_free "$RTPE_IP" "$RTPE_NG_PORT"
    $(pin "$RELAY_CPUS")"$RTPENGINE" --config-file=none --foreground --table=-1 \
        --interface="$RTPE_IP" --listen-ng="$RTPE_IP:$RTPE_NG_PORT" \
        --port-min=40000 --port-max=59999 --num-threads="$WORKERS" \
        --log-stderr --log-level=3 --delete-delay=0 > "$dir/relay.log" 2>&1 &
    RELAY_PID=$!
    wait_bound "$RTPE_IP" "$RTPE_NG_PORT" 15 || { cat "$dir/relay.log" >&2; die "rtpengine did not start"; }
}

require_udp_free() {  # ip port
    udp_bound "$1" "$2" && die "UDP $1:$2 is already in use"
    return 0
}

# rtpgen must end by itself; past the bound it gets TERM (it then tears
# down and still reports), 15 s later KILL.
wait_gen() {  # bound_s
    local t0=$SECONDS rc=0
    while kill -0 "$GEN_PID" 2> /dev/null; do
        if [ $((SECONDS - t0)) -ge "$1" ]; then
            log "rtpgen still running after $1 s: stopping it"
            kill -TERM "$GEN_PID" 2> /dev/null || true
            wait_exit "$GEN_PID" 15 || kill -KILL "$GEN_PID" 2> /dev/null || true
            break
        fi
        sleep 0.2
    done
    wait "$GEN_PID" 2> /dev/null || rc=$?
    GEN_PID=
    return $rc
}

# One rtpgen run against one target; its full output in DIR/rtpgen.txt, its
# summary line in LINE (empty when rtpgen died without one).
LINE=
run_one() {  # target calls dir
    local target=$1 calls=$2 dir=$3 args=() pre="" bound rc=0
    LINE=
    mkdir -p "$dir"
    wait_quiet
    case $target in
    direct) args=(--direct) ;;
    switchboard)
        start_switchboard "$dir"
        args=(--sip "$SB_IP:$SB_PORT" --pid "$RELAY_PID")
        ;;
    rtpengine)
        start_rtpengine "$dir"
        args=(--ng "$RTPE_IP:$RTPE_NG_PORT" --pid "$RELAY_PID")
        ;;
    esac
    sleep 1
    pre=$(pin "$GEN_CPUS")
    [ "$GEN_RT" = 1 ] && pre="$pre chrt -f 1 "
    echo "$pre$RTPGEN ${args[*]} --calls $calls --secs $SECS --rate $RATE --settle $SETTLE --ip $GEN_IP" > "$dir/rtpgen.cmdline"
    $pre"$RTPGEN" "${args[@]}" --calls "$calls" --secs "$SECS" --rate "$RATE" \
        --settle "$SETTLE" --ip "$GEN_IP" > "$dir/rtpgen.txt" 2> "$dir/rtpgen.err" &
    GEN_PID=$!
    # set-up and teardown at RATE, the window, 10 s of timeouts each side
    bound=$(awk -v n="$calls" -v r="$RATE" -v s="$SECS" -v t="$SETTLE" 'BEGIN { printf "%d", 2 * n / r + s + t + 40 }')
    wait_gen "$bound" || rc=$?
    echo "$rc" > "$dir/rtpgen.rc"
    stop_relay
    sleep "$COOLDOWN"
    LINE=$(grep '^calls=' "$dir/rtpgen.txt" || true)
}

kv() {  # key line -> value
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"
}

# The CSV of every run, for summary tables.
record() {  # target calls line
    local line=$3 k row="$1,$2"
    for k in calls_up loss_pct lat_p50_us lat_p99_us lat_max_us jitter_ms_avg jitter_ms_max foreign_src \
        setup_failed relay_cpu_s relay_pps pps_per_cpu_s direct_calls gen_late_p99_us gen_behind gen_cpu_s; do
        row="$row,$(kv "$k" "$line")"
    done
    echo "$row" >> "$OUT/results.csv"
}

{
    echo "date: $(date '+%F %T %z')"
    [[ " $TARGETS " == *" switchboard "* ]] && echo "switchboard: $("$SB_BIN" version 2>&1) ($SB_BIN)" &&
        echo "switchboard git: $(git -C "$REPO" rev-parse --short HEAD 2> /dev/null) $(git -C "$REPO" status --porcelain 2> /dev/null | wc -l) changed files"
    [[ " $TARGETS " == *" rtpengine "* ]] && echo "rtpengine: $("$RTPENGINE" --version 2>&1 | head -1)"
    echo "cpus: $(nproc)  kernel: $(uname -r)  model: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "MODE=$MODE TARGETS=$TARGETS RUNS=$RUNS SECS=$SECS RATE=$RATE SETTLE=$SETTLE WORKERS=$WORKERS SB_MEDIA=$SB_MEDIA RELAY_CPUS=$RELAY_CPUS GEN_CPUS=$GEN_CPUS GEN_RT=$GEN_RT"
} > "$OUT/env.txt"
echo "target,calls,calls_up,loss_pct,lat_p50_us,lat_p99_us,lat_max_us,jitter_ms_avg,jitter_ms_max,foreign_src,setup_failed,relay_cpu_s,relay_pps,pps_per_cpu_s,direct_calls,gen_late_p99_us,gen_behind,gen_cpu_s" > "$OUT/results.csv"
log "results in $OUT"

# ------------------------------------------------------------------ compare
compare() {
    local run calls target line
    for ((run = 1; run <= RUNS; run++)); do
        for calls in $CALLS_LIST; do
            for target in $TARGETS; do
                log "=== run $run, $target, $calls calls"
                run_one "$target" "$calls" "$OUT/run$run-$target-$calls"
                line=$LINE
                if [ -z "$line" ]; then
                    log "$target: rtpgen gave no figures (see $OUT/run$run-$target-$calls/rtpgen.err)"
                    continue
                fi
                record "$target" "$calls" "$line"
                printf '%-11s %s\n' "$target" "$line"
                [ "$(kv gen_behind "$line")" = 1 ] &&
                    log "$target, $calls calls: the generator fell behind; these figures are the generator's"
                [ "$target" != direct ] && [ "$(kv direct_calls "$line")" != 0 ] &&
                    log "$target, $calls calls: $(kv direct_calls "$line") calls' media did not go through the relay"
            done
        done
    done
    python3 "$HERE/summary.py" "$OUT/results.csv" | tee "$OUT/summary.md"
}

# ---------------------------------------------------------------------- max
# Verdict of one step: "pass", or what limited it.
verdict() {  # line
    local line=$1
    [ -n "$line" ] || { echo "no figures (rtpgen failed)"; return; }
    [ "$(kv gen_behind "$line")" = 1 ] && { echo "the generator (it fell behind)"; return; }
    [ "$(kv setup_failed "$line")" != 0 ] && { echo "the relay ($(kv setup_failed "$line") calls failed to set up)"; return; }
    awk -v l="$(kv loss_pct "$line")" -v m="$MAX_LOSS_PCT" 'BEGIN { exit !(l >= m) }' &&
        { echo "the relay (loss $(kv loss_pct "$line") % >= $MAX_LOSS_PCT %)"; return; }
    echo pass
}

find_max() {
    local target calls line v best limit try note
    for target in $TARGETS; do
        best=0
        limit="nothing (the last step passed; raise MAX_CALLS)"
        for calls in $MAX_CALLS; do
            for ((try = 0; try <= RETRY_BEHIND; try++)); do
                note=""
                [ "$try" -gt 0 ] && note=" (again: the generator fell behind)"
                log "=== max: $target, $calls calls$note"
                run_one "$target" "$calls" "$OUT/max-$target-$calls-$try"
                line=$LINE
                [ -n "$line" ] && record "$target" "$calls" "$line" && printf '%-11s %s\n' "$target" "$line"
                v=$(verdict "$line")
                [[ "$v" == "the generator"* ]] || break
            done
            if [ "$v" != pass ]; then
                limit="$v at $calls calls"
                break
            fi
            best=$calls
        done
        echo "$target: max_calls=$best with loss < $MAX_LOSS_PCT %; limited by $limit" | tee -a "$OUT/max.txt"
    done
}

case $MODE in
compare) compare ;;
max) find_max ;;
esac
log "results in $OUT"
