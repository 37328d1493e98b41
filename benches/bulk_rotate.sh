#!/usr/bin/env bash
# Time of `h2ogpte-keys rotate --from-file` over N active keys (default
# 1 000) of a realistic population (one service account holding 52 % of
# them, two more holding 20 % and 15 %, people holding 5 each), the fake
# server LATENCY_MS away (default 20), at CONCURRENCY rotations at once
# (default 16): into a secret directory and into a command, each rotation
# journalled on the disk of $TMPDIR. Release builds; prints a Markdown
# table with the ratio to the ideal, ceil(N / CONCURRENCY) x 3 round trips
# (create, the old key confirmed, retire). Needs /usr/bin/time.
# BIN_DIR=DIR runs the binaries of another build (to compare).
# Usage: benches/bulk_rotate.sh [N] [LATENCY_MS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
latency_ms="${2:-20}"
concurrency="${3:-16}"
if [ -z "${BIN_DIR:-}" ]; then
  cargo build --release --quiet -p h2ogpte-keys -p h2ogpte-fake-server
fi
bin="${BIN_DIR:-target/release}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$n" "$work" <<'PY'
import datetime, json, sys
n, work = int(sys.argv[1]), sys.argv[2]
now = datetime.datetime.now(datetime.timezone.utc)
owners = []
for name, share in [("svc-etl", 0.52), ("svc-ingest", 0.20), ("svc-report", 0.15)]:
    owners += [name] * round(n * share)
people = 0
while len(owners) < n:
    owners += [f"person-{people}"] * min(5, n - len(owners))
    people += 1
owners = owners[:n]
users = sorted(set(owners))
keys = [{"id": f"k-{i:05}", "user_id": f"u-{owners[i]}", "username": owners[i],
         "name": f"key {i}", "created_at": (now - datetime.timedelta(days=100)).isoformat(),
         "expires_at": (now + datetime.timedelta(days=60)).isoformat(),
         "total_calls": 1, "is_active": True} for i in range(n)]
json.dump(keys, open(f"{work}/seed.json", "w"))
open(f"{work}/ids.txt", "w").write("".join(k["id"] + "\n" for k in keys))
open(f"{work}/users.csv", "w").write("".join(f"{u},u-{u}\n" for u in users))
PY

ideal="$(python3 -c "import math; print(math.ceil($n / $concurrency) * 3 * $latency_ms / 1000)")"
echo "| keys | latency | concurrency | sink | wall time | ideal | ratio | peak RSS | rotated |"
echo "|---:|---:|---:|---|---:|---:|---:|---:|---:|"
for sink in dir command; do
  "$bin/h2ogpte-fake-server" --seed-file "$work/seed.json" --latency-ms "$latency_ms" >"$work/server" 2>/dev/null &
  server=$!
  for _ in $(seq 600); do [ "$(wc -l <"$work/server")" -ge 2 ] && break; sleep 0.1; done
  export $(head -2 "$work/server" | xargs)
  out="$work/secrets-$sink"
  mkdir -m 700 "$out"
  case "$sink" in
    dir) place=(--secret-dir "$out") ;;
    command) place=(--secret-command "sh -c 'cat > \"$out/\$H2OGPTE_OLD_KEY_ID\"'") ;;
  esac
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin/h2ogpte-keys" rotate --from-file "$work/ids.txt" \
    "${place[@]}" --user-map "$work/users.csv" --concurrency "$concurrency" \
    --state-dir "$work/state" -o ndjson -q >"$work/rows" 2>"$work/err" || true
  read -r seconds kib < <(tail -1 "$work/time")
  rotated="$(grep -c '"ok":true' "$work/rows" || true)"
  ratio="$(python3 -c "print(f'{$seconds / $ideal:.2f}')")"
  echo "| $n | $latency_ms ms | $concurrency | $sink | $seconds s | $ideal s | ${ratio}x | $(( kib / 1024 )) MiB | $rotated |"
  kill "$server"; wait "$server" 2>/dev/null || true
done
