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
#   VIEWERS=1000     native viewers; a comma-separated list (300,350,400)
#                    runs each count, and the summary gives each setting's
#                    largest count served with no frame lost (its capacity)
#   DURATION=15      measured window, seconds
#   ROUNDS=4         rounds; odd rounds run the settings in the order above,
#                    even rounds in reverse
#   SERVER_CPU=0     core for the node
#   LOAD_CPU=1       core for the publisher and the load tool
#   KEEP=            a directory to keep the JSON reports and logs in
#   NO_BUILD=1       use target/release/avrs as it is
#   NODE_QUOTA=      percent of one core the node may use (cgroup v1 cpu
#                    controller, root), e.g. 50: the load tool here needs more
#                    CPU per byte than the node, so without a quota the load
#                    tool's core saturates first and the node never does
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

# shellcheck source=lib/bench-node.sh
. scripts/lib/bench-node.sh
bench_setup bench-protection

printf '[avrs]\n[auth]\npublish = loopback-or-token\nplay = open\n' >"$WORK/open.ini"
cp "$WORK/open.ini" "$WORK/enc.ini"
echo 'encrypt = live/*' >>"$WORK/enc.ini"

# The node's CPU capped at NODE_QUOTA % of one core, over 10 ms periods (a
# short period keeps the throttling from stalling it for long stretches).
limit_cpu() {
  local group=/sys/fs/cgroup/cpu/avrs-bench-node
  mkdir -p "$group" || { say "cannot make $group (root and cgroup v1 cpu needed)"; exit 2; }
  echo 10000 >"$group/cpu.cfs_period_us"
  echo $((NODE_QUOTA * 100)) >"$group/cpu.cfs_quota_us"
  echo "$1" >"$group/cgroup.procs"
}

# One setting: a fresh node, a publisher, the bench; then all stopped.
run_one() {
  local setting=$1 round=$2 viewers=$3
  local config=open.ini unsigned=0
  case $setting in
    unprotected) unsigned=1 ;;
    encrypted) config=enc.ini ;;
  esac
  local run=$setting-$round-$viewers
  export AVRS_BENCH_UNSIGNED=$unsigned
  start_node "$WORK/$run" "$SERVER_CPU" --config "$WORK/$config" --quic-max-mtu 8952
  if [ -n "${NODE_QUOTA:-}" ]; then limit_cpu "$NODE"; fi
  start_publisher "$WORK/$run" "$LOAD_CPU" high
  say "round $round, $setting: $viewers viewers, ${DURATION}s window"
  taskset -c "$LOAD_CPU" "$AVRS" bench --url "avrs://$QUIC/live/b" --viewers "$viewers" \
    --duration "$DURATION" --settle 2 --server-pid "$NODE" --json >"$WORK/$run.json" || true
  stop_all
}

settings=(unprotected signed encrypted)
for round in $(seq "$ROUNDS"); do
  order=("${settings[@]}")
  if [ $((round % 2)) = 0 ]; then order=(encrypted signed unprotected); fi
  for viewers in ${VIEWERS//,/ }; do
    for setting in "${order[@]}"; do run_one "$setting" "$round" "$viewers"; done
  done
done

python3 - "$WORK" "$ROUNDS" "$VIEWERS" "$DURATION" <<'EOF'
import json, statistics, sys
work, rounds, counts, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
counts = [int(c) for c in counts.split(",")]
settings = ("unprotected", "signed", "encrypted")

def load(setting, r, n):
    try:
        with open(f"{work}/{setting}-{r}-{n}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def media(rep):
    return rep and (rep.get("media_mbit_s") or rep["throughput_mbit_s"])

print(f"\nnative delivery, {duration}s window, node on one core, load on the other")
print(f"{'round':>5} {'viewers':>7} {'setting':>12} {'media Mbit/s':>13} {'ratio':>6} {'lost':>9} "
      f"{'lat p50/p99 ms':>16} {'node CPU-s':>11} {'node CPU-s/Gbit':>16} {'bench CPU-s':>12}")
ratios = {s: [] for s in settings}
capacity = {s: [] for s in settings}
for r in range(1, rounds + 1):
    best = {s: 0 for s in settings}
    for n in counts:
        base = media(load("unprotected", r, n))
        for s in settings:
            rep = load(s, r, n)
            if rep is None:
                print(f"{r:>5} {n:>7} {s:>12} {'(no report)':>13}")
                continue
            m = media(rep)
            ratio = m / base if base else None
            if ratio is not None:
                ratios[s].append(ratio)
            lost = rep["frames"]["lost"]
            if lost == 0 and rep["viewers"]["connected"] == n:
                best[s] = max(best[s], n)
            srv = rep.get("server") or {}
            cpu = srv.get("cpu_seconds")
            per_gbit = cpu / (m * float(duration) / 1000) if cpu and m else None
            lat = rep.get("latency_ms") or {}
            print(f"{r:>5} {n:>7} {s:>12} {m:>13.0f} {ratio or 0:>6.2f} {lost:>9} "
                  f"{(lat.get('p50') or 0):>7.1f}/{(lat.get('p99') or 0):<8.1f} "
                  f"{cpu or 0:>11.2f} {per_gbit or 0:>16.3f} {rep.get('bench_cpu_seconds') or 0:>12.2f}")
    for s in settings:
        capacity[s].append(best[s])
print()
for s in settings:
    if ratios[s]:
        print(f"{s:>12}: same-run throughput ratio to unprotected, median "
              f"{statistics.median(ratios[s]):.2f} (min {min(ratios[s]):.2f}, max {max(ratios[s]):.2f})")
if len(counts) > 1:
    for s in settings:
        print(f"{s:>12}: most viewers with no frame lost, per round: "
              + ", ".join(str(c) for c in capacity[s]))
EOF
