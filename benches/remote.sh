#!/usr/bin/env bash
# The client against a server far away, measured side by side in one run on
# the fake server binary (release builds, 127.0.0.1, --latency-ms 20):
#   1. streaming 10 000 keys with pages of 100: prefetch 4 against prefetch 1,
#      wall time and peak memory of each;
#   2. `h2ogpte-keys deactivate` of 1000 ids at concurrency 32, against the
#      ideal of ceil(1000 / 32) round trips;
#   3. instructions per call (valgrind's cachegrind, which counts exactly),
#      this client against bare reqwest, for list (100 keys) and create;
#   4. the fake server's creates per second at 64 connections, the server of
#      BASELINE (default: the commit before the critical-path change) against
#      this one, built side by side;
#   5. the time of one unfiltered page of 100 at offset 0 and at 99 900 of
#      100 000 keys, on both servers.
# Every case makes a fixed number of requests. Needs valgrind (Debian:
# apt-get install valgrind). Usage: benches/remote.sh
set -euo pipefail
cd "$(dirname "$0")/.."
baseline="${BASELINE:-c842911}"
latency_ms=20
work="$(mktemp -d)"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  git worktree remove --force "$work/baseline" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

command -v valgrind >/dev/null || { echo "needs valgrind: apt-get install valgrind"; exit 1; }
cargo build --release --quiet -p h2ogpte-fake-server -p h2ogpte-keys
cargo bench --quiet -p h2ogpte-benches --bench remote --no-run  # shows any build error
bench="$(cargo bench -p h2ogpte-benches --bench remote --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)"
[ -x "$bench" ] || { echo "cannot build benches/remote.rs"; exit 1; }
bin=target/release

# Starts a fake server binary with the given arguments; sets url, key, pid.
start_server() {
  local lines
  lines="$(mktemp -p "$work" server.XXXXXX)"
  "$@" >"$lines" 2>/dev/null &
  pid=$!
  for _ in $(seq 200); do [ "$(wc -l <"$lines")" -ge 2 ] && break; sleep 0.05; done
  url="$(sed -n 's/^H2OGPTE_SERVER_URL=//p' "$lines")"
  key="$(sed -n 's/^H2OGPTE_API_KEY=//p' "$lines")"
  [ -n "$url" ] && [ -n "$key" ] || { echo "the fake server did not start: $*"; exit 1; }
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }

echo "## 1. Streaming 10 000 keys, pages of 100, server ${latency_ms} ms away"
echo
start_server "$bin/h2ogpte-fake-server" --seed-keys 9999 --latency-ms "$latency_ms"
four="$("$bench" stream "$url" "$key" 4)"
one="$("$bench" stream "$url" "$key" 1)"
stop_server
echo "| prefetch | keys | wall time | peak extra memory |"
echo "|---:|---:|---:|---:|"
for line in "$four" "$one"; do
  printf '| %s | %s | %.2f s | %s KiB |\n' "$(echo "$line" | field prefetch)" \
    "$(echo "$line" | field keys)" "$(echo "$line" | field seconds)" "$(echo "$line" | field peak_extra_kib)"
done
printf '\nprefetch 4 is %.1f times faster than prefetch 1\n\n' \
  "$(echo "$(echo "$one" | field seconds) / $(echo "$four" | field seconds)" | bc -l)"

echo "## 2. h2ogpte-keys deactivate, 1000 ids, concurrency 32, server ${latency_ms} ms away"
echo
start_server "$bin/h2ogpte-fake-server" --seed-keys 1000 --latency-ms "$latency_ms"
export H2OGPTE_SERVER_URL="$url" H2OGPTE_API_KEY="$key"
"$bin/h2ogpte-keys" list --all -o ndjson --filter admin \
  | sed -n 's/.*"id":"\([^"]*\)".*"name":"seed.*/\1/p' >"$work/ids"
[ "$(wc -l <"$work/ids")" -eq 1000 ] || { echo "expected 1000 ids"; exit 1; }
start=$(date +%s.%N)
"$bin/h2ogpte-keys" deactivate --concurrency 32 --from-file "$work/ids" >/dev/null 2>"$work/err" \
  || { cat "$work/err"; exit 1; }
end=$(date +%s.%N)
stop_server
ideal="$(echo "(1000 + 31) / 32 * $latency_ms / 1000" | bc -l)"
wall="$(echo "$end - $start" | bc -l)"
echo "| wall time | ideal (32 round trips) | ratio |"
echo "|---:|---:|---:|"
printf '| %.2f s | %.2f s | %.2f |\n\n' "$wall" "$ideal" "$(echo "$wall / $ideal" | bc -l)"

echo "## 3. Instructions per call (cachegrind), loopback, no latency"
echo
start_server "$bin/h2ogpte-fake-server" --seed-keys 200
instructions() { # who kind count -> total instructions of the client process
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    "$bench" calls "$url" "$key" "$1" "$2" "$3" 2>&1 \
    | sed -n 's/.*I *refs: *\([0-9,]*\).*/\1/p' | tr -d ,
}
per_call() { # who kind: instructions of 500 more calls, per call
  local low high
  low="$(instructions "$1" "$2" 100)"
  high="$(instructions "$1" "$2" 600)"
  echo $(( (high - low) / 500 ))
}
echo "| call | this client | bare reqwest | ratio |"
echo "|---|---:|---:|---:|"
for kind in list create; do
  ours="$(per_call ours "$kind")"
  bare="$(per_call bare "$kind")"
  printf '| %s | %s | %s | %.3f |\n' "$kind" "$ours" "$bare" "$(echo "$ours / $bare" | bc -l)"
done
stop_server
echo

echo "## 4. Fake server creates per second, 64 connections, 20 000 creates"
echo
git worktree add --quiet --detach "$work/baseline" "$baseline"
(cd "$work/baseline" && CARGO_TARGET_DIR="$PWD/../baseline-target" \
  cargo build --release --quiet -p h2ogpte-fake-server)
echo "| server | creates per second (median of 3) | runs | failures |"
echo "|---|---:|---|---:|"
servers=("$work/baseline-target/release/h2ogpte-fake-server" "$bin/h2ogpte-fake-server")
declare -A rates failures
for round in 1 2 3; do  # alternated, so both see the same machine
  for server in "${servers[@]}"; do
    start_server "$server"
    line="$("$bench" create-load "$url" "$key" 64 20000)"
    stop_server
    rates[$server]+="$(echo "$line" | field per_second) "
    failures[$server]=$(( ${failures[$server]:-0} + $(echo "$line" | field failures) ))
  done
done
for server in "${servers[@]}"; do
  name=$([ "$server" = "$bin/h2ogpte-fake-server" ] && echo "this commit" || echo "baseline $baseline")
  median="$(echo ${rates[$server]} | tr ' ' '\n' | sort -n | sed -n 2p)"
  printf '| %s | %s | %s | %s |\n' "$name" "$median" "${rates[$server]% }" "${failures[$server]}"
done

echo
echo "## 5. One page of 100 at offset 0 and at 99 900 of 100 000 keys (mean of 200)"
echo
echo "| server | offset 0 | offset 99 900 |"
echo "|---|---:|---:|"
for server in "${servers[@]}"; do
  start_server "$server" --seed-keys 99999
  near="$("$bench" list-at "$url" "$key" 0 200 | field micros_per_page)"
  far="$("$bench" list-at "$url" "$key" 99900 200 | field micros_per_page)"
  stop_server
  name=$([ "$server" = "$bin/h2ogpte-fake-server" ] && echo "this commit" || echo "baseline $baseline")
  printf '| %s | %s µs | %s µs |\n' "$name" "$near" "$far"
done
