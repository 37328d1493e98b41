#!/usr/bin/env bash
# Start time and peak memory of the fake server on a seed file: 10^6 valid
# records (25 users), a 64 MiB array of zeros (no record is an object), and
# for scale the same number of keys made by --seed-keys. Each run ends at
# its ready lines (or its refusal); release build; prints a Markdown table.
# Needs /usr/bin/time and python3.
# Usage: benches/seed_file.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
cargo build --release --quiet -p h2ogpte-fake-server
bin="$PWD/target/release/h2ogpte-fake-server"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$work" "$n" <<'EOF'
import sys
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/valid.json", "w") as f:
    f.write("[")
    for i in range(n):
        if i:
            f.write(",")
        f.write('{"id":"k-%07d","user_id":"u-%d","username":"user%d","name":"n%d",'
                '"created_at":"2025-01-01T00:00:00Z","is_active":true}' % (i, i % 25, i % 25, i))
    f.write("]")
with open(f"{work}/zeros.json", "w") as f:
    half = (64 << 20) // 2
    f.write("[" + "0," * (half - 1) + "0]")
EOF

measure() { # $@: the server's arguments; prints "seconds | MiB | outcome"
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" "$@" >"$work/out" 2>"$work/err" &
  local pid=$!
  for _ in $(seq 6000); do
    [ "$(wc -l <"$work/out")" -ge 2 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  local outcome=serving
  if [ "$(wc -l <"$work/out")" -lt 2 ]; then outcome=refused; fi
  pkill -INT -P "$pid" 2>/dev/null || kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  read -r seconds kib < <(tail -1 "$work/time")
  echo "$seconds s | $(( kib / 1024 )) MiB | $outcome"
}

echo "| input | start (to ready or refusal) | peak RSS | outcome |"
echo "|---|---:|---:|---|"
echo "| --seed-file, $n records ($(( $(stat -c %s "$work/valid.json") >> 20 )) MiB) | $(measure --seed-file "$work/valid.json") |"
echo "| --seed-file, 64 MiB of [0,0,…] | $(measure --seed-file "$work/zeros.json") |"
echo "| --seed-keys $n | $(measure --seed-keys "$n") |"
