#!/usr/bin/env bash
# Call setup cost of each media mode, measured on the processes:
#
#   SB_BIN=build-bench/switchboard bench/b2bua/media-cps.sh [RATE] [SECS] [MODES]
#
# For each MODE (default "bypass anchor rtpengine"): starts switchboard in
# b2bua mode on 127.0.0.10:5060 with media.mode MODE (rtpengine: also the
# rtpengine daemon, userspace, ng on 127.0.0.13:2223), a SIPp UAS on
# 127.0.0.11:5070 and a SIPp UAC on 127.0.0.12:5080 placing RATE calls/s
# (default 500) for SECS seconds (default 10), each held 1 s, every INVITE
# and 200 carrying SDP. Prints calls placed, failed, and the CPU time
# (user+system, from /proc) switchboard and rtpengine spent per call.
# Loopback only; everything stops by itself.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SB_BIN=${SB_BIN:-$REPO/build-bench/switchboard}
RATE=${1:-500}
SECS=${2:-10}
MODES=${3:-"bypass anchor rtpengine"}
CALLS=$((RATE * SECS))
HZ=$(getconf CLK_TCK)
DIR=$(mktemp -d /tmp/sb-media-cps.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_mode() {
    local mode=$1 rtpe="" sb t0 t1 r0=0 r1=0
    rm -rf "$DIR/data"
    cat > "$DIR/sb.yaml" <<YAML
listen: [udp:127.0.0.10:5060]
data_dir: $DIR/data
workers: 2
log: {level: warn}
max_transactions: 0
call_mode: b2bua
proxy: {foreign_domains: forward}
b2bua: {session_expires_s: 0}
media:
  mode: $mode
  ports: 20000-39999
  timeout_s: 0
  rtpengine: {servers: ["127.0.0.13:2223"]}
YAML
    if [ "$mode" = rtpengine ]; then
        rtpengine --config-file=none --foreground --table=-1 \
            --interface=127.0.0.13 --listen-ng=127.0.0.13:2223 \
            --port-min=40000 --port-max=59999 --num-threads=2 \
            --log-stderr --log-level=3 --delete-delay=0 > "$DIR/rtpe.log" 2>&1 &
        rtpe=$!
        PIDS+=("$rtpe")
        sleep 1
    fi
    "$SB_BIN" serve --config "$DIR/sb.yaml" > "$DIR/sb.log" 2>&1 &
    sb=$!
    PIDS+=("$sb")
    sleep 1
    sipp -sn uas -i 127.0.0.11 -p 5070 -mi 127.0.0.11 -mp 6100 -ci 127.0.0.11 \
        -cp 6106 -max_socket 65000 < /dev/null > "$DIR/uas.txt" 2>&1 &
    PIDS+=("$!")
    sleep 0.5
    t0=$(ticks "$sb")
    [ -n "$rtpe" ] && r0=$(ticks "$rtpe")
    sipp -sn uac -i 127.0.0.12 -p 5080 -mi 127.0.0.12 -mp 6200 -ci 127.0.0.12 \
        -cp 6206 -s bench 127.0.0.11:5070 -rsa 127.0.0.10:5060 \
        -m "$CALLS" -r "$RATE" -d 1000 -l $((RATE * 4)) -timeout $((SECS + 30)) \
        -trace_stat -stf "$DIR/uac.csv" < /dev/null > "$DIR/uac.txt" 2>&1 || true
    sleep 1
    t1=$(ticks "$sb")
    [ -n "$rtpe" ] && r1=$(ticks "$rtpe")
    python3 - "$DIR/uac.csv" "$mode" "$RATE" "$((t1 - t0))" "$((r1 - r0))" "$HZ" <<'PY'
import csv, sys
path, mode, rate, sbt, rt, hz = sys.argv[1:]
rows = list(csv.reader(open(path), delimiter=";"))
head, last = rows[0], rows[-1]
col = {k: i for i, k in enumerate(head)}
ok = int(last[col["SuccessfulCall(C)"]])
failed = int(last[col["FailedCall(C)"]])
per = lambda t: 1e6 * int(t) / int(hz) / max(ok, 1)
print("mode=%s rate=%s calls_ok=%d failed=%d switchboard_us_per_call=%.0f "
      "rtpengine_us_per_call=%.0f" % (mode, rate, ok, failed, per(sbt), per(rt)))
PY
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
}

for m in $MODES; do
    run_mode "$m"
done
