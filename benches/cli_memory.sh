#!/usr/bin/env bash
# Peak memory (max RSS) of `h2ogpte-keys list` in every output format:
#  - against a hostile server whose every page is one 32 MiB body (the
#    client's default body cap) of about 266 000 keys, far more than asked;
#  - against the fake server holding N keys (default 100 000), `list --all`.
# The first must stay within a small multiple of the 32 MiB cap, the second
# flat in N. Release builds; prints a Markdown table; needs python3 and
# /usr/bin/time. Usage: benches/cli_memory.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
cargo build --release --quiet -p h2ogpte-keys -p h2ogpte-fake-server
bin=target/release
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# The hostile server: one 32 MiB page, whatever was asked.
cat >"$work/fat.py" <<'PY'
import http.server, sys
key = ('{"id":"k-%07d","username":"alice","name":"fat page key","hint":"abcd",'
       '"created_at":"2026-11-02T09:14:07Z","total_calls":0,"is_active":true,"is_global_key":true}')
keys, size, i = [], 2, 0
while True:
    k = key % i
    if size + len(k) + 1 > 32 * 1024 * 1024:
        break
    keys.append(k); size += len(k) + 1; i += 1
body = ("[" + ",".join(keys) + "]").encode()
sys.stderr.write("%d keys, %d bytes\n" % (len(keys), len(body)))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("http://127.0.0.1:%d" % s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$work/fat.py" >"$work/fat.url" 2>"$work/fat.err" &
for _ in $(seq 200); do [ -s "$work/fat.url" ] && break; sleep 0.1; done
fat_url="$(head -1 "$work/fat.url")"

peak() { # prints the peak RSS in MiB of the command
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/err" || true
  echo "$(( $(tail -1 "$work/rss") / 1024 ))"
}

echo "| case | table | json | ndjson |"
echo "|---|---:|---:|---:|"
for args in "list --limit 5" "list --all"; do
  row="| 32 MiB page ($(head -1 "$work/fat.err")), \`$args\` |"
  for format in table json ndjson; do
    # shellcheck disable=SC2086
    mib=$(H2OGPTE_SERVER_URL="$fat_url" H2OGPTE_API_KEY=sk-x peak "$bin/h2ogpte-keys" $args -o "$format")
    row+=" $mib MiB |"
  done
  echo "$row"
done

"$bin/h2ogpte-fake-server" --seed-keys "$n" >"$work/server" 2>/dev/null &
for _ in $(seq 600); do [ "$(wc -l <"$work/server")" -ge 2 ] && break; sleep 0.1; done
export $(head -2 "$work/server" | xargs)
row="| fake server, $n keys, \`list --all\` |"
for format in table json ndjson; do
  row+=" $(peak "$bin/h2ogpte-keys" list --all -o "$format") MiB |"
done
echo "$row"
