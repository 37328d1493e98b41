#!/usr/bin/env bash
# Cost of `h2ogpte-keys audit` against `list --all`, the stream it rides on:
# the fake server 20 ms away (--latency-ms) holding N keys with a realistic
# spread (default 100 000, and a tenth of that to show memory stays flat in
# the number of keys). Wall time and peak memory (max RSS) per command, in
# release builds; prints a Markdown table. The two `--state` rows are a
# first run (no state yet: save only) and a second (load and save): against
# plain `audit -o ndjson` they give the state's cost. Needs /usr/bin/time.
# Usage: benches/audit.sh [N] [LATENCY_MS]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
latency_ms="${2:-20}"
cargo build --release --quiet -p h2ogpte-keys -p h2ogpte-fake-server
bin=target/release
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

measure() { # prints "seconds | MiB" of the command, its output discarded
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || true
  read -r seconds kib < <(tail -1 "$work/time")
  echo "$seconds s | $(( kib / 1024 )) MiB"
}

echo "| keys | command | wall time | peak RSS |"
echo "|---:|---|---:|---:|"
for keys in $(( n / 10 )) "$n"; do
  "$bin/h2ogpte-fake-server" --seed-keys "$keys" --seed 1 --latency-ms "$latency_ms" >"$work/server" 2>/dev/null &
  server=$!
  for _ in $(seq 600); do [ "$(wc -l <"$work/server")" -ge 2 ] && break; sleep 0.1; done
  export $(head -2 "$work/server" | xargs)
  rm -f "$work/state.json"
  for args in "list --all -o ndjson" "audit -o ndjson" "audit -o csv" "audit --ids" "audit" \
    "audit -o openmetrics" "audit -o ndjson --state $work/state.json" "audit -o ndjson --state $work/state.json"; do
    # shellcheck disable=SC2086
    echo "| $keys | \`${args//$work\//}\` | $(measure "$bin/h2ogpte-keys" $args) |"
  done
  echo "| $keys | state file | $(( $(stat -c %s "$work/state.json") / 1024 / 1024 )) MiB | |"
  kill "$server"; wait "$server" 2>/dev/null || true
done
