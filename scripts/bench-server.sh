#!/usr/bin/env bash
# `crit bench` against llama.cpp's own llama-server: start the cached server
# (scripts/llama-tools.sh) with the default model on a free loopback port,
# wait until it is healthy, run `crit bench --backend URL [ARGS...]`, and
# stop the server whatever happens (trap).
#
# Usage: scripts/bench-server.sh [crit bench args, e.g. --json --rounds 2]
# Environment: CRIT_BIN (default target/release/crit), SERVER_THREADS
# (default 2), SERVER_SLOTS (default 2), SERVER_CTX (default 8192: 4096 per
# slot, as the local bench's n_ctx).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
crit="${CRIT_BIN:-$here/target/release/crit}"
server="$("$here/scripts/llama-tools.sh" --print-dir)/llama-server"
model="$("$crit" model path)"
threads="${SERVER_THREADS:-2}"
slots="${SERVER_SLOTS:-2}"
ctx="${SERVER_CTX:-8192}"

[ -x "$server" ] || { echo "bench-server: $server is missing (make tools)" >&2; exit 1; }

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp -t crit-bench-server.XXXXXX.log)"
pid=""
stop() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$log"
}
trap stop EXIT
trap 'exit 130' INT TERM

"$server" -m "$model" --host 127.0.0.1 --port "$port" \
  -np "$slots" -t "$threads" -tb "$threads" -c "$ctx" >"$log" 2>&1 &
pid=$!

healthy() {
  python3 - "$port" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

for _ in $(seq 1 300); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "bench-server: llama-server exited:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  healthy && break
  sleep 0.3
done
healthy || { echo "bench-server: llama-server not healthy after 90 s:" >&2; tail -n 20 "$log" >&2; exit 1; }

echo "llama-server $(basename "$model") on 127.0.0.1:$port: -np $slots -t $threads -c $ctx" >&2
"$crit" bench --backend "http://127.0.0.1:$port/v1" "$@"
