#!/usr/bin/env bash
# Time of `plan`, `apply` and the second `plan` over a fleet like the one
# the plan was made for: N keys (default 2 962) over 150 users, service
# accounts holding 30 to 520 keys, people 1 to 20, every state and age; the
# fake server LATENCY_MS away (default 20), apply at CONCURRENCY (16).
# Release builds; prints a Markdown table: the plan's changes by action,
# each step's wall time, and what the second plan still changes (0).
# Usage: benches/plan_apply.sh [N] [LATENCY_MS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2962}"
latency_ms="${2:-20}"
concurrency="${3:-16}"
cargo build --release --quiet -p h2ogpte-keys -p h2ogpte-fake-server
bin=target/release
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$n" "$work" <<'PY'
import datetime, json, random, sys
n, work = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
now = datetime.datetime.now(datetime.timezone.utc)
day = datetime.timedelta(days=1)
owners = []
for i, count in enumerate([520, 410, 300, 220, 160, 120, 90, 60, 45, 30]):
    owners += [f"svc-{i}"] * count
person = 0
while len(owners) < n:
    owners += [f"person-{person}"] * rng.randint(1, 20)
    person += 1
owners = owners[:n]
keys = []
for i, owner in enumerate(owners):
    age = rng.randint(0, 700)
    created = now - age * day
    key = {"id": f"k-{i:05}", "user_id": f"u-{owner}", "username": owner,
           "name": f"key {i % 13}", "created_at": created.isoformat(),
           "total_calls": rng.randint(0, 3), "is_active": rng.random() > 0.15}
    if rng.random() < 0.7:
        key["expires_at"] = max(created + day, now + rng.randint(-90, 500) * day).isoformat()
    if key["total_calls"]:
        key["last_used_at"] = (now - rng.randint(0, min(age, 300)) * day).isoformat()
    if rng.random() < 0.5:
        key["inactivity_interval"] = rng.choice([30, 90, 180])
    if rng.random() < 0.8:
        key["collection_id"] = f"c-{owner}"
        key["collection_name"] = f"Reports of {owner}"
        key["is_global_key"] = False
    keys.append(key)
json.dump(keys, open(f"{work}/seed.json", "w"))
users = sorted(set(owners))
open(f"{work}/users.csv", "w").write("".join(f"{u},u-{u}\n" for u in users))
PY

cat >"$work/policy.toml" <<'TOML'
require_expiry = true
max_lifetime_days = 365
max_age_days = 90
unused_for_days = 60
expiring_within_days = 7
inactive_for_days = 30
TOML
"$bin/h2ogpte-fake-server" --seed-file "$work/seed.json" --latency-ms "$latency_ms" >"$work/server" 2>/dev/null &
for _ in $(seq 600); do [ "$(wc -l <"$work/server")" -ge 2 ] && break; sleep 0.1; done
export $(head -2 "$work/server" | xargs)
mkdir -m 700 "$work/secrets"
keys_h2o=(--state-dir "$work/state" -q)
t_plan=$( { time -p "$bin/h2ogpte-keys" plan --policy "$work/policy.toml" --out "$work/plan.json" -o json "${keys_h2o[@]}" >"$work/plan.out"; } 2>&1 | awk '/^real/ {print $2}')
changes="$(python3 -c "
import json, collections
rows = json.load(open('$work/plan.out'))
c = collections.Counter(r['action'] for r in rows)
print(', '.join(f'{k} {v}' for k, v in sorted(c.items())))")"
t_apply=$( { time -p "$bin/h2ogpte-keys" apply "$work/plan.json" --yes --secret-dir "$work/secrets" \
  --user-map "$work/users.csv" --concurrency "$concurrency" -o ndjson "${keys_h2o[@]}" >"$work/apply.out" || true; } 2>&1 | awk '/^real/ {print $2}')
failed="$(grep -c '"result":"failed"' "$work/apply.out" || true)"
t_again=$( { time -p "$bin/h2ogpte-keys" plan --policy "$work/policy.toml" -o json "${keys_h2o[@]}" >"$work/again.out"; } 2>&1 | awk '/^real/ {print $2}')
left="$(python3 -c "
import json
rows = json.load(open('$work/again.out'))
print(sum(1 for r in rows if r['action'] in ('delete', 'deactivate', 'rotate', 'expire', 'inactivity')))")"
echo "| keys | latency | plan | its actions | apply (c$concurrency) | failed | second plan | still to change |"
echo "|---:|---:|---:|---|---:|---:|---:|---:|"
echo "| $n | $latency_ms ms | $t_plan s | $changes | $t_apply s | $failed | $t_again s | $left |"
