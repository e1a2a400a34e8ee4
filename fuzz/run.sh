#!/usr/bin/env bash
# Runs every fuzz target for a given time each.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS defaults to 60; with no TARGET every target in fuzz/Cargo.toml runs.
# Needs the nightly toolchain; installs cargo-fuzz when it is missing. A crash
# stops the script with the target's artifact path: turn the artifact into a
# unit test next to the parser, fix the parser, then run again.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-60}"
shift || true

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build
mkdir -p logs
for target in "${targets[@]}"; do
  echo "== fuzz $target for ${seconds}s"
  mkdir -p "corpus/$target" "seeds/$target"
  if ! cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 >"logs/$target.log" 2>&1; then
    tail -n 40 "logs/$target.log" >&2
    echo "fuzz/run.sh: $target found a failing input (artifacts/$target, full log logs/$target.log)" >&2
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "logs/$target.log" | tr '\n' ' '
  echo
done
echo "fuzz/run.sh: ${#targets[@]} target(s) ran ${seconds}s each with no crash"
