# Shared by the bench scripts (sourced, not run): the release binary, a
# scratch directory cleaned up on exit, one `avrs serve` and a synthetic
# publisher, and a wait until the stream plays. Needs say().

# bench_setup NAME: builds avrs (unless NO_BUILD is set) and sets AVRS; makes
# the scratch directory WORK (copied to $KEEP on exit when set, then
# removed); stops every process in `pids` on exit; raises the descriptor
# limit, since many viewers need many descriptors.
bench_setup() {
  if [ -z "${NO_BUILD:-}" ]; then
    say "building avrs (release)"
    cargo build --release -q -p avrs
  fi
  AVRS=$PWD/target/release/avrs
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

bench_cleanup() {
  stop_all
  if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP" && cp -r "$WORK"/. "$KEEP"/ && say "reports kept in $KEEP"
  fi
  rm -rf "$WORK"
}

# start_node DIR CPU [serve args...]: starts `avrs serve` on core CPU with
# its data and logs under DIR; sets NODE, RTMP, HTTP and QUIC.
start_node() {
  local dir=$1 cpu=$2
  shift 2
  mkdir -p "$dir"
  taskset -c "$cpu" "$AVRS" serve --data-dir "$dir/data" --rtmp 127.0.0.1:0 \
    --http 127.0.0.1:0 --quic 127.0.0.1:0 "$@" >"$dir/serve.out" 2>"$dir/serve.log" &
  NODE=$!
  pids+=("$NODE")
  RTMP= HTTP= QUIC=
  for _ in $(seq 100); do
    read -r RTMP HTTP QUIC < <(awk '/^avrs listening:/ {print $4, $6, $8}' "$dir/serve.out" 2>/dev/null) || true
    [ -n "$QUIC" ] && return 0
    sleep 0.1
  done
  say "avrs serve did not start"
  cat "$dir/serve.log" >&2
  exit 1
}

# start_publisher DIR CPU CLASS: the synthetic clip (bit-rate class CLASS)
# published to live/b on the node; waits until a native viewer gets frames.
start_publisher() {
  local dir=$1 cpu=$2 class=$3
  taskset -c "$cpu" "$AVRS" publish --synthetic --bitrate-class "$class" "rtmp://$RTMP/live/b" \
    2>"$dir/publish.log" &
  pids+=("$!")
  for _ in $(seq 20); do
    if "$AVRS" bench --url "avrs://$QUIC/live/b" --viewers 1 --duration 0.3 --settle 1 --json \
      >/dev/null 2>&1; then
      return 0
    fi
  done
  say "no frames from the published stream"
  exit 1
}

# stop_all: stops every process started so far.
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
