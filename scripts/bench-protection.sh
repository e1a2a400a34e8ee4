#!/usr/bin/env bash
# Native delivery with content protection off and on, in the same run
# (issue "secure sessions": with all protection on, delivery throughput
# stays >= 90 % of the unprotected figure). One `avrs serve` pinned to one
# core, the publisher and `avrs bench` to the other, three node settings
# per round:
#   unprotected  AVRS_BENCH_UNSIGNED=1: frames go out unsigned (bench only)
#   signed       the default: every frame signed once by the node
#   encrypted    signed + ENCRYPTED (`encrypt = live/*`): sealed, then signed
# The bench's viewers neither verify nor unseal (a real player does that on
# its own CPU), so the load tool costs the same in every setting.
# A benchmark, not a test: it never fails because a machine is slow.
#
#   scripts/bench-protection.sh
#   VIEWERS=600 DURATION=10 ROUNDS=1 scripts/bench-protection.sh   # a quick look
#
# Settings (environment):
#   VIEWERS=1000     native viewers (1,000 saturates one core here)
#   DURATION=15      measured window, seconds
#   ROUNDS=4         rounds; odd rounds run the settings in the order above,
#                    even rounds in reverse
#   SERVER_CPU=0     core for the node
#   LOAD_CPU=1       core for the publisher and the load tool
#   KEEP=            a directory to keep the JSON reports and logs in
set -euo pipefail
cd "$(dirname "$0")/.."

VIEWERS=${VIEWERS:-1000}
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-4}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

say() { echo "bench-protection: $*" >&2; }
for tool in taskset python3; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is needed"; exit 2; }
done

say "building avrs (release)"
cargo build --release -q -p avrs
AVRS=$PWD/target/release/avrs

WORK=$(mktemp -d /tmp/bench-protection.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP" && cp -r "$WORK"/. "$KEEP"/ && say "reports kept in $KEEP"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

printf '[avrs]\n[auth]\npublish = loopback-or-token\nplay = open\n' >"$WORK/open.ini"
cp "$WORK/open.ini" "$WORK/enc.ini"
echo 'encrypt = live/*' >>"$WORK/enc.ini"

# One setting: a fresh node, a publisher, the bench; then all stopped.
run_one() {
  local setting=$1 round=$2
  local config=open.ini unsigned=0
  case $setting in
    unprotected) unsigned=1 ;;
    encrypted) config=enc.ini ;;
  esac
  local dir=$WORK/$setting-$round
  mkdir -p "$dir"
  AVRS_BENCH_UNSIGNED=$unsigned taskset -c "$SERVER_CPU" "$AVRS" serve --config "$WORK/$config" \
    --data-dir "$dir/data" --rtmp 127.0.0.1:0 --http 127.0.0.1:0 --quic 127.0.0.1:0 \
    --quic-max-mtu 8952 >"$dir/serve.out" 2>"$dir/serve.log" &
  local node=$!
  pids+=("$node")
  local rtmp= quic=
  for _ in $(seq 100); do
    rtmp=$(awk '/^avrs listening:/ {print $4}' "$dir/serve.out" 2>/dev/null)
    quic=$(awk '/^avrs listening:/ {print $8}' "$dir/serve.out" 2>/dev/null)
    [ -n "$rtmp" ] && [ -n "$quic" ] && break
    sleep 0.1
  done
  [ -n "$rtmp" ] && [ -n "$quic" ] || { say "$setting: avrs serve did not start"; cat "$dir/serve.log" >&2; exit 1; }
  taskset -c "$LOAD_CPU" "$AVRS" publish --synthetic --bitrate-class high "rtmp://$rtmp/live/b" \
    2>"$dir/publish.log" &
  local pub=$!
  pids+=("$pub")
  local ready=
  for _ in $(seq 20); do
    if "$AVRS" bench --url "avrs://$quic/live/b" --viewers 1 --duration 0.3 --settle 1 --json \
      >/dev/null 2>&1; then
      ready=1
      break
    fi
  done
  [ -n "$ready" ] || { say "$setting: no frames from the published stream"; exit 1; }
  say "round $round, $setting: $VIEWERS viewers, ${DURATION}s window"
  taskset -c "$LOAD_CPU" "$AVRS" bench --url "avrs://$quic/live/b" --viewers "$VIEWERS" \
    --duration "$DURATION" --settle 2 --server-pid "$node" --json >"$WORK/$setting-$round.json" || true
  kill "$pub" "$node" 2>/dev/null || true
  wait "$pub" "$node" 2>/dev/null || true
}

settings=(unprotected signed encrypted)
for round in $(seq "$ROUNDS"); do
  order=("${settings[@]}")
  if [ $((round % 2)) = 0 ]; then order=(encrypted signed unprotected); fi
  for setting in "${order[@]}"; do run_one "$setting" "$round"; done
done

python3 - "$WORK" "$ROUNDS" "$VIEWERS" "$DURATION" <<'EOF'
import json, statistics, sys
work, rounds, viewers, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
settings = ("unprotected", "signed", "encrypted")

def load(setting, r):
    try:
        with open(f"{work}/{setting}-{r}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def media(rep):
    return rep and (rep.get("media_mbit_s") or rep["throughput_mbit_s"])

print(f"\nnative delivery, {viewers} viewers, {duration}s window, node on one core, load on the other")
print(f"{'round':>5} {'setting':>12} {'media Mbit/s':>13} {'ratio':>6} {'lost':>9} "
      f"{'lat p50/p99 ms':>16} {'node CPU-s':>11} {'node CPU-s/Gbit':>16} {'bench CPU-s':>12}")
ratios = {s: [] for s in settings}
for r in range(1, rounds + 1):
    base = media(load("unprotected", r))
    for s in settings:
        rep = load(s, r)
        if rep is None:
            print(f"{r:>5} {s:>12} {'(no report)':>13}")
            continue
        m = media(rep)
        ratio = m / base if base else None
        if ratio is not None:
            ratios[s].append(ratio)
        srv = rep.get("server") or {}
        cpu = srv.get("cpu_seconds")
        per_gbit = cpu / (m * float(duration) / 1000) if cpu and m else None
        lat = rep.get("latency_ms") or {}
        print(f"{r:>5} {s:>12} {m:>13.0f} {ratio or 0:>6.2f} {rep['frames']['lost']:>9} "
              f"{(lat.get('p50') or 0):>7.1f}/{(lat.get('p99') or 0):<8.1f} "
              f"{cpu or 0:>11.2f} {per_gbit or 0:>16.3f} {rep.get('bench_cpu_seconds') or 0:>12.2f}")
print()
for s in settings:
    if ratios[s]:
        print(f"{s:>12}: same-round ratio to unprotected, median {statistics.median(ratios[s]):.2f} "
              f"(min {min(ratios[s]):.2f}, max {max(ratios[s]):.2f})")
EOF
