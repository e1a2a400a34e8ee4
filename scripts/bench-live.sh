#!/usr/bin/env bash
# The live-streaming figures in one run (issue "live streaming end to end"):
# one `avrs serve` pinned to one core, the synthetic publisher and
# `avrs bench` to the other; for each protocol and viewer count a fresh
# node, then one table of every figure against its target. A benchmark,
# not a test: it never fails because a machine is slow.
#
#   scripts/bench-live.sh
#   PROTOCOLS=native VIEWERS=100,200,500 DURATION=10 scripts/bench-live.sh
#
# Settings (environment):
#   PROTOCOLS=native,flv,hls   any of native, flv, rtmp, hls
#   VIEWERS=100,500,1000,2000  viewer counts, each run on a fresh node
#   DURATION=15                measured window, seconds
#   CLASS=high                 the synthetic clip: high 2.5 Mbit/s, low 0.75
#   ROUNDS=1                   repeats of the whole set
#   SERVER_CPU=0 LOAD_CPU=1    cores for the node and for publisher + bench
#   SERVE_ARGS=                more `avrs serve` flags, e.g. "--quic-max-mtu 8952"
#   KEEP=                      a directory to keep the JSON reports and logs in
#   NO_BUILD=1                 use target/release/avrs as it is
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOCOLS=${PROTOCOLS:-native,flv,hls}
VIEWERS=${VIEWERS:-100,500,1000,2000}
DURATION=${DURATION:-15}
CLASS=${CLASS:-high}
ROUNDS=${ROUNDS:-1}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

say() { echo "bench-live: $*" >&2; }
for tool in taskset python3; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is needed"; exit 2; }
done
# shellcheck source=lib/bench-node.sh
. scripts/lib/bench-node.sh
bench_setup bench-live

url_of() {
  case $1 in
    native) echo "avrs://$QUIC/live/b" ;;
    flv) echo "http://$HTTP/live/b.flv" ;;
    rtmp) echo "rtmp://$RTMP/live/b" ;;
    hls) echo "http://$HTTP/live/b/index.m3u8" ;;
    *) say "unknown protocol $1"; exit 2 ;;
  esac
}

for round in $(seq "$ROUNDS"); do
  for protocol in ${PROTOCOLS//,/ }; do
    for viewers in ${VIEWERS//,/ }; do
      run=$protocol-$viewers-$round
      # shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
      start_node "$WORK/$run" "$SERVER_CPU" ${SERVE_ARGS:-}
      start_publisher "$WORK/$run" "$LOAD_CPU" "$CLASS"
      say "round $round: $viewers $protocol viewers, ${DURATION}s window"
      taskset -c "$LOAD_CPU" "$AVRS" bench --url "$(url_of "$protocol")" --viewers "$viewers" \
        --duration "$DURATION" --settle 2 --server-pid "$NODE" --json >"$WORK/$run.json" || true
      stop_all
    done
  done
done

python3 - "$WORK" "$PROTOCOLS" "$VIEWERS" "$ROUNDS" <<'EOF'
import json, sys
work, protocols, counts, rounds = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), int(sys.argv[4])
# The issue's targets: (TTFF p99 ms, latency p99 ms, RSS KiB per viewer).
targets = {
    "native": (200, 100, 32),
    "flv": (500, None, 32),
    "hls": (None, 2000, None),  # latency here is the live edge
    "rtmp": (None, None, None),
}

def mark(value, limit):
    if value is None:
        return "-"
    text = f"{value:.1f}"
    if limit is None:
        return text
    return text + (" ok" if value <= limit else " OVER")

print(f"\n{'protocol':>8} {'viewers':>7} {'rnd':>3} {'connected':>9} {'lost':>8} "
      f"{'TTFF p50 / p99 ms':>20} {'latency p50 / p99 ms':>22} {'Mbit/s':>7} "
      f"{'node CPU-s':>10} {'bench CPU-s':>11} {'RSS KiB/viewer':>15}")
for p in protocols:
    ttff_max, lat_max, rss_max = targets.get(p, (None, None, None))
    for n in counts:
        for r in range(1, rounds + 1):
            try:
                with open(f"{work}/{p}-{n}-{r}.json") as f:
                    rep = json.load(f)
            except (OSError, ValueError):
                print(f"{p:>8} {n:>7} {r:>3} (no report)")
                continue
            v, fr = rep["viewers"], rep["frames"]
            ttff, lat = rep.get("ttff_ms") or {}, rep.get("latency_ms") or {}
            srv = rep.get("server") or {}
            lost = fr["lost"]
            lost_text = f"{lost}" + (" ok" if lost == 0 and v["connected"] == int(n) else "")
            mbit = rep.get("media_mbit_s") or rep["throughput_mbit_s"]
            print(f"{p:>8} {n:>7} {r:>3} {v['connected']:>9} {lost_text:>8} "
                  f"{ttff.get('p50', 0):>8.1f} / {mark(ttff.get('p99'), ttff_max):<9} "
                  f"{lat.get('p50', 0):>8.1f} / {mark(lat.get('p99'), lat_max):<11} "
                  f"{mbit:>7.0f} {srv.get('cpu_seconds') or 0:>10.2f} "
                  f"{rep.get('bench_cpu_seconds') or 0:>11.2f} "
                  f"{mark(srv.get('rss_per_viewer_kib'), rss_max):>15}")
print("\nok / OVER: against the issue's targets (native TTFF p99 < 200 ms, latency p99 < 100 ms;"
      "\nHTTP-FLV TTFF p99 < 500 ms; LL-HLS live edge < 2 s; <= 32 KiB per viewer; no frame lost)")
EOF
