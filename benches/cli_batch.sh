#!/usr/bin/env bash
# Wall time of deactivating 1000 keys with `h2ogpte-keys deactivate --from-file`
# at --concurrency 32, against the same batch one at a time (--concurrency 1)
# and as 1000 separate invocations, on the fake server binary over loopback.
# Release builds; prints a Markdown table. Usage: benches/cli_batch.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
cargo build --release --quiet -p h2ogpte-keys -p h2ogpte-fake-server
bin=target/release
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

run_case() { # name, then the command to time, given a fresh server with n keys
  local name="$1"; shift
  # A new file per case, made before the server starts: truncating one shared
  # file in the background child could let this shell read the previous
  # server's address lines first.
  local lines
  lines="$(mktemp -p "$work" server.XXXXXX)"
  "$bin/h2ogpte-fake-server" --seed-keys "$n" >"$lines" 2>/dev/null &
  local pid=$!
  for _ in $(seq 100); do [ "$(wc -l <"$lines")" -ge 2 ] && break; sleep 0.05; done
  [ "$(wc -l <"$lines")" -ge 2 ] || { echo "the fake server did not start"; exit 1; }
  export $(head -2 "$lines" | xargs)
  # The seeded keys spread over 25 service accounts: every one named seed N.
  "$bin/h2ogpte-keys" list --all -o ndjson \
    | sed -n 's/.*"id":"\([^"]*\)".*"name":"seed.*/\1/p' >"$work/ids"
  [ "$(wc -l <"$work/ids")" -eq "$n" ] || { echo "expected $n ids"; exit 1; }
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
  end=$(date +%s.%N)
  printf '| %s | %.2f s |\n' "$name" "$(echo "$end - $start" | bc)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "| $n deactivations | wall time |"
echo "|---|---:|"
run_case "--concurrency 32" "$bin/h2ogpte-keys" deactivate --concurrency 32 --from-file "$work/ids"
run_case "--concurrency 1" "$bin/h2ogpte-keys" deactivate --concurrency 1 --from-file "$work/ids"
run_case "one invocation per id" sh -c "while read -r id; do \"$bin/h2ogpte-keys\" deactivate \"\$id\" || exit 1; done < \"$work/ids\""
