# Shared by the bench scripts (sourced, not run): start one `avrs serve`
# and a synthetic publisher, and wait until the stream plays.
# Needs: AVRS (the binary), say() and a `pids` array the caller kills on exit.

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
