#!/usr/bin/env bash
# Whether a real spreadsheet engine runs any cell of `h2ogpte-keys -o csv`
# as a formula: keys named with every CSV-injection trigger (OWASP's list,
# leading whitespace, line breaks, invisible characters, full-width signs,
# `;` and `|`) are listed as CSV and converted by LibreOffice's headless
# Calc, once splitting on `,` and once on `;` (a `;` locale). The flat ODS
# it writes holds a `table:formula` attribute for each cell that became a
# formula: there must be none. A control file of the same names written
# raw, without the CLI's defusing, must give some, or the check proves
# nothing. Not in .ci/run: LibreOffice is a large install.
# Needs: apt-get install libreoffice-calc-nogui
# Usage: benches/csv_formulas.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v soffice >/dev/null || { echo "needs soffice: apt-get install libreoffice-calc-nogui" >&2; exit 2; }
cargo build --release --quiet -p h2ogpte-keys -p h2ogpte-fake-server
bin=target/release
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin/h2ogpte-fake-server" --user u-1:alice >"$work/server" 2>/dev/null &
for _ in $(seq 600); do [ "$(wc -l <"$work/server")" -ge 2 ] && break; sleep 0.1; done
export $(head -2 "$work/server" | xargs)

names=(
  '=1+1' '+1+1' '-1+1' '@SUM(1,1)' $'\t=1+1' $'\r=1+1' ' =1+1' $'\n=1+1'
  'x;=1+1' 'x,=1+1' 'x|=1+1' '|calc' '＝1+1' '＋1+1' $'\u00a0=1+1'
  $'\u200b=1+1' $'\ufeff=1+1' '=HYPERLINK("http://x","y")' '%0A=1+1'
)
for name in "${names[@]}"; do
  "$bin/h2ogpte-keys" create --user u-1 --name="$name" -o json >"$work/created" 2>/dev/null
done
"$bin/h2ogpte-keys" list --filter alice -o csv >"$work/keys.csv"
# The control: the same names as bare cells, as a naive exporter writes them.
printf '%s\n' "${names[@]}" >"$work/raw.csv"

formulas() { # $1: csv file, $2: field separator code (44 ',' or 59 ';')
  local out="$work/out-$2"
  rm -rf "$out"
  soffice --headless --norestore --infilter="CSV:$2,34,76,1" \
    --convert-to fods --outdir "$out" "$1" >/dev/null 2>&1
  { grep -o 'table:formula="[^"]*"' "$out"/*.fods || true; } | wc -l
}

status=0
for sep in 44 59; do
  ours="$(formulas "$work/keys.csv" "$sep")"
  raw="$(formulas "$work/raw.csv" "$sep")"
  echo "separator $(printf "\\$(printf '%03o' "$sep")"): h2ogpte-keys CSV: $ours formula cell(s); raw control: $raw"
  [ "$ours" -eq 0 ] || status=1
  [ "$raw" -gt 0 ] || { echo "the control made no formula: the check proves nothing" >&2; status=1; }
done
exit "$status"
