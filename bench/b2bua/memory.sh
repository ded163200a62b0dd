#!/usr/bin/env bash
# Memory per active B2BUA call (signalling state), measured on the process:
#
#   SB_BIN=build-bench/switchboard bench/b2bua/memory.sh [CALLS]
#
# Starts switchboard in b2bua mode on 127.0.0.10:5060 (foreign domains
# forwarded, CDRs on), a SIPp UAS on 127.0.0.11:5070 and a SIPp UAC on
# 127.0.0.12:5080 that places CALLS calls (default 5000) at 500/s and
# holds each for 70 s. At 45 s, when every call is up and the INVITE
# transactions have ended (64*T1 = 32 s), it reads VmRSS and `ctl stats`
# (b2bua.alive) and the malloc bytes in use (ctl stats live.heap_bytes,
# mallinfo2): the figures are the growth of each over the calls alive. RSS
# also keeps what the 32 s of INVITE transactions used at the peak (malloc
# does not give it back); heap_bytes is the state the calls hold.
# Everything stops by itself; loopback only.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SB_BIN=${SB_BIN:-$REPO/build-bench/switchboard}
CALLS=${1:-5000}
DIR=$(mktemp -d /tmp/sb-b2bua-mem.XXXXXX)
trap 'kill $SB $UAS $UAC 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DIR"' EXIT
cat > "$DIR/sb.yaml" <<YAML
listen: [udp:127.0.0.10:5060]
data_dir: $DIR/data
workers: 2
log: {level: warn}
max_transactions: 0
call_mode: b2bua
proxy: {foreign_domains: forward}
b2bua: {session_expires_s: 0}
YAML
"$SB_BIN" serve --config "$DIR/sb.yaml" > "$DIR/sb.log" 2>&1 & SB=$!
sleep 1
rss() { awk '/VmRSS/ {print $2}' "/proc/$SB/status"; }
heap() { "$SB_BIN" ctl --socket "$DIR/data/switchboard.sock" stats |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["live"]["heap_bytes"])'; }
before=$(rss)
heap_before=$(heap)
sipp -sn uas -i 127.0.0.11 -p 5070 -max_socket 65000 < /dev/null > "$DIR/uas.txt" 2>&1 & UAS=$!
sleep 0.5
sipp -sn uac -i 127.0.0.12 -p 5080 -s bench 127.0.0.11:5070 -rsa 127.0.0.10:5060 \
    -m "$CALLS" -r 500 -d 70000 -l "$CALLS" -timeout 120 < /dev/null > "$DIR/uac.txt" 2>&1 & UAC=$!
sleep 45
after=$(rss)
heap_after=$(heap)
alive=$("$SB_BIN" ctl --socket "$DIR/data/switchboard.sock" stats |
    python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["b2bua"]["alive"], s["b2bua"]["legs_alive"], s["live"]["transactions"])')
read -r calls legs txns <<< "$alive"
echo "calls_alive=$calls legs_alive=$legs transactions_alive=$txns"
echo "rss_before_kib=$before rss_with_calls_kib=$after"
echo "heap_before=$heap_before heap_with_calls=$heap_after (malloc bytes in use)"
python3 -c "print('rss_bytes_per_call=%d' % (($after - $before) * 1024 / max(1, $calls)))"
python3 -c "print('heap_bytes_per_call=%d' % (($heap_after - $heap_before) / max(1, $calls)))"
