#!/usr/bin/env bash
# avrs against nginx-rtmp on the same work in the same run (DESIGN §6):
# RTMP viewers of one synthetic stream, each server pinned to one core and
# the load tool to the other. A benchmark, not a test: it never fails
# because a machine is slow, and its figures vary from run to run.
#
#   scripts/bench-vs-nginx.sh
#   VIEWERS=300 DURATION=10 scripts/bench-vs-nginx.sh     # a quick look
#
# Settings (environment):
#   VIEWERS=1000     RTMP viewers per server
#   DURATION=20      measured window, seconds
#   BITRATE=low      synthetic stream: low (~0.75 Mbit/s) or high (~2.5 Mbit/s)
#   RAMP=500         viewers connected per second
#   SETTLE=2         seconds from the last connect to the window (nginx has
#                    no GOP cache: viewers wait up to a second for a keyframe)
#   ROUNDS=1         rounds; each runs avrs, then nginx
#   SERVER_CPU=0     core for the servers
#   LOAD_CPU=1       core for the publisher and the load tool
#   KEEP=            a directory to keep the JSON reports and logs in
#   COALESCE=        avrs's RTMP write-merging window (rtmp_write_coalesce),
#                    e.g. 20ms; 0 writes every message at once; unset: the
#                    default (200ms)
#   NO_BUILD=        set: use target/release/avrs as it is
#
# Needs root for apt-get when nginx or its RTMP module is missing:
# `apt-get update` once, then `apt-get install -y nginx libnginx-mod-rtmp`.
set -euo pipefail
cd "$(dirname "$0")/.."

VIEWERS=${VIEWERS:-1000}
DURATION=${DURATION:-20}
BITRATE=${BITRATE:-low}
RAMP=${RAMP:-500}
SETTLE=${SETTLE:-2}
ROUNDS=${ROUNDS:-1}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NGINX_MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so

say() { echo "bench-vs-nginx: $*" >&2; }

# --- nginx with the RTMP module ---------------------------------------------
if ! command -v nginx >/dev/null 2>&1 || [ ! -e "$NGINX_MODULE" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "nginx + libnginx-mod-rtmp missing and cannot be installed here (not root or no apt-get)"
    exit 2
  fi
  say "installing nginx libnginx-mod-rtmp"
  # Debian starts a freshly installed nginx on port 80; a policy-rc.d that
  # says "no" (the usual container trick) keeps the install from doing so.
  policy_made=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    policy_made=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-rtmp >/dev/null
  if [ -n "$policy_made" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
for tool in taskset python3; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is needed"; exit 2; }
done

# --- build, scratch directory, cleanup on exit --------------------------------
# shellcheck source=lib/bench-node.sh
. scripts/lib/bench-node.sh
bench_setup bench-vs-nginx
nofile=$(ulimit -n)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# avrs serve, on ephemeral ports it reports on stdout.
taskset -c "$SERVER_CPU" "$AVRS" serve --rtmp 127.0.0.1:0 --http 127.0.0.1:0 --quic 127.0.0.1:0 \
  --data-dir "$WORK/avrs-data" ${COALESCE:+--rtmp-write-coalesce "$COALESCE"} \
  >"$WORK/avrs.out" 2>"$WORK/avrs.log" &
avrs_pid=$!
pids+=("$avrs_pid")
for _ in $(seq 100); do
  grep -q '^avrs listening:' "$WORK/avrs.out" 2>/dev/null && break
  sleep 0.1
done
avrs_rtmp=$(awk '/^avrs listening:/ {print $4}' "$WORK/avrs.out")
[ -n "$avrs_rtmp" ] || { say "avrs serve did not start"; cat "$WORK/avrs.log" >&2; exit 1; }

# nginx-rtmp: one worker, defaults otherwise (no GOP cache).
nginx_port=$(free_port)
cat >"$WORK/nginx.conf" <<EOF
load_module $NGINX_MODULE;
daemon off;
worker_processes 1;
worker_rlimit_nofile $nofile;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections $nofile; }
rtmp {
  server {
    listen 127.0.0.1:$nginx_port;
    application live { live on; }
  }
}
EOF
taskset -c "$SERVER_CPU" nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" &
nginx_pid=$!
pids+=("$nginx_pid")
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$nginx_port") 2>/dev/null && break
  sleep 0.1
done
sleep 0.2
kill -0 "$nginx_pid" 2>/dev/null || { say "nginx did not start"; cat "$WORK/nginx-error.log" >&2; exit 1; }
say "avrs rtmp://$avrs_rtmp (pid $avrs_pid), nginx rtmp://127.0.0.1:$nginx_port (pid $nginx_pid)"

# One server: publish, wait until a viewer gets frames, bench, stop publishing.
run_one() {
  local name=$1 pid=$2 url=$3 out=$4
  taskset -c "$LOAD_CPU" "$AVRS" publish --synthetic --bitrate-class "$BITRATE" "$url" \
    2>>"$WORK/publish-$name.log" &
  local pub=$!
  pids+=("$pub")
  local ready=
  for _ in $(seq 10); do
    if "$AVRS" bench --url "$url" --viewers 1 --duration 0.3 --settle 1.2 --json \
      >/dev/null 2>&1; then
      ready=1
      break
    fi
  done
  [ -n "$ready" ] || { say "$name: no frames from the published stream"; exit 1; }
  say "$name: $VIEWERS viewers, ${DURATION}s window"
  taskset -c "$LOAD_CPU" "$AVRS" bench --protocol rtmp --url "$url" \
    --viewers "$VIEWERS" --duration "$DURATION" --ramp-rate "$RAMP" --settle "$SETTLE" \
    --server-pid "$pid" --json >"$out" || true
  kill "$pub" 2>/dev/null || true
  wait "$pub" 2>/dev/null || true
  sleep 1
}

for round in $(seq "$ROUNDS"); do
  run_one avrs "$avrs_pid" "rtmp://$avrs_rtmp/live/bench$round" "$WORK/avrs-$round.json"
  run_one nginx "$nginx_pid" "rtmp://127.0.0.1:$nginx_port/live/bench$round" "$WORK/nginx-$round.json"
done

# --- the comparison -----------------------------------------------------------
python3 - "$WORK" "$ROUNDS" "$VIEWERS" "$DURATION" "$BITRATE" <<'EOF'
import json, sys
work, rounds, viewers, duration, bitrate = sys.argv[1:]

def load(name, r):
    try:
        with open(f"{work}/{name}-{r}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def figures(rep):
    if rep is None:
        return None
    s = rep.get("server") or {}
    lat = rep.get("latency_ms") or {}
    ttff = rep.get("ttff_ms") or {}
    return {
        "viewers connected": rep["viewers"]["connected"],
        "viewer-s per CPU-s": s.get("viewer_seconds_per_cpu_second"),
        "server CPU s": s.get("cpu_seconds"),
        "latency p50 ms": lat.get("p50"),
        "latency p99 ms": lat.get("p99"),
        "TTFF p99 ms": ttff.get("p99"),
        "frames lost": rep["frames"]["lost"],
        "RSS per viewer KiB": s.get("rss_per_viewer_kib"),
        "throughput Mbit/s": rep["throughput_mbit_s"],
        "bench CPU s": rep.get("bench_cpu_seconds"),
    }

def fmt(x):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.1f}" if abs(x) < 1000 else f"{x:.0f}"
    return str(x)

print(f"\nRTMP play, {viewers} viewers, {duration}s window, {bitrate} bit rate "
      f"(servers on one core, load on the other)")
for r in range(1, int(rounds) + 1):
    a, n = figures(load("avrs", r)), figures(load("nginx", r))
    print(f"\nround {r}")
    print(f"{'':24} {'avrs':>12} {'nginx-rtmp':>12} {'avrs/nginx':>11}")
    for key in (a or n or {}):
        va = a and a[key]
        vn = n and n[key]
        ratio = "-"
        if isinstance(va, (int, float)) and isinstance(vn, (int, float)) and vn:
            ratio = f"{va / vn:.2f}"
        print(f"{key:24} {fmt(va):>12} {fmt(vn):>12} {ratio:>11}")
print("\nviewer-s per CPU-s: viewer-seconds served per second of server CPU "
      "(higher is better). A bench CPU near the window length means the load "
      "tool, not the server, was the limit.")
EOF
