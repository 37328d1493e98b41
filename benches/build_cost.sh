#!/usr/bin/env bash
# The build cost a newcomer and CI pay, measured from a fresh clone of HEAD
# with an empty target/ and an empty cargo cache (a CARGO_HOME of its own, so
# every crate is downloaded and built anew):
#   1. the README's two commands, `cargo run --example quickstart` then
#      `cargo test --workspace`, timed one after the other;
#   2. the size of target/ after them;
#   3. with --ci, `.ci/run` in another fresh clone, timed (its steps print
#      their own times). It uses the machine's cargo cache, where CI's
#      one-off tools (cargo-semver-checks) live.
# Targets (benches/README.md): 1 at most 200 s, 2 at most 3 GB, 3 at most 20 min.
# Usage: benches/build_cost.sh [--ci]
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet . "$work/readme"
mkdir "$work/cargo-home"
(
  cd "$work/readme"
  export CARGO_HOME="$work/cargo-home"
  start=$(date +%s)
  cargo run --quiet --example quickstart >/dev/null
  middle=$(date +%s)
  cargo test --quiet --workspace >/dev/null
  end=$(date +%s)
  echo "README's two commands: quickstart $((middle - start)) s, tests $((end - middle)) s, together $((end - start)) s"
  echo "target/ after them: $(du -sh target | cut -f1)"
)
if [ "${1:-}" = "--ci" ]; then
  git clone --quiet . "$work/ci"
  start=$(date +%s)
  (cd "$work/ci" && bash .ci/run) >"$work/ci.log" 2>&1 || { tail -30 "$work/ci.log"; exit 1; }
  echo ".ci/run from a fresh clone: $(( $(date +%s) - start )) s"
  grep -E '^\((publish|downstream|MSRV|release)' "$work/ci.log" || true
fi
