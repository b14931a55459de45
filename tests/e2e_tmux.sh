#!/usr/bin/env bash
# End-to-end test of `crit review` with the real binary and the real default
# model inside tmux (send-keys / capture-pane): open 3 tasks, wait for the
# streamed assistance, rate a step, record verdicts, quit, reopen, and check
# the resumed screen and the session file.
#
# Usage: tests/e2e_tmux.sh            (after `cargo build --release` and `crit model fetch`)
#        BIN=path/to/crit TASKS=file.jsonl tests/e2e_tmux.sh
# Needs tmux and python3. Exits non-zero with the last screen on failure.
set -euo pipefail

BIN=${BIN:-target/release/crit}
TASKS=${TASKS:-data/demo.jsonl}
TIMEOUT=${TIMEOUT:-240}   # seconds to wait for generation on a slow machine

command -v tmux >/dev/null || { echo "e2e: tmux is missing (apt-get install -y tmux)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "e2e: $BIN not built (cargo build --release)" >&2; exit 1; }

TMP=$(mktemp -d)
export CRIT_SESSIONS="$TMP/sessions"
head -n 3 "$TASKS" > "$TMP/tasks.jsonl"
S="crit-e2e-$$"
cleanup() { tmux kill-session -t "$S" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

screen() { tmux capture-pane -p -t "$S"; }
fail() { echo "e2e: $*" >&2; echo "--- screen:" >&2; screen >&2 || true; exit 1; }

# wait_for REGEX [SECONDS]: poll the screen until it matches.
wait_for() {
    local deadline=$((SECONDS + ${2:-$TIMEOUT}))
    until screen | grep -Eq "$1"; do
        [ $SECONDS -lt $deadline ] || fail "timed out waiting for /$1/"
        sleep 0.5
    done
}

start() {
    tmux new-session -d -s "$S" -x 120 -y 40 \
        "CRIT_SESSIONS='$CRIT_SESSIONS' '$BIN' review '$TMP/tasks.jsonl' --session e2e --evaluator e2e --prefetch 2; echo CRIT_EXIT=\$? > '$TMP/exit'; sleep 600"
    wait_for "Task [0-9]+/3" 30
}

keys() { tmux send-keys -t "$S" "$@"; sleep 0.3; }

start
keys ] ]                  # the Steps tab (it stays chosen from task to task)
for i in 1 2 3; do
    wait_for "Task $i/3"
    # Assistance finished streaming: the tab titles have counts and no "…".
    wait_for "Critiques \([0-9]+\) │"
    # The steps are the answer's own segments, so there is always one to rate
    # (critiques may rightly be none).
    wait_for "Steps \([1-9][0-9]*\) │"
    keys 1                # first step: +1
    keys V a Tab 5 C-s    # accept, score 5
    wait_for "ACCEPT · score 5/7" 10
    [ $i -lt 3 ] && keys n
done
keys q
for _ in $(seq 20); do [ -f "$TMP/exit" ] && break; sleep 0.5; done
grep -q "CRIT_EXIT=0" "$TMP/exit" || fail "crit review did not exit cleanly: $(cat "$TMP/exit" 2>/dev/null)"
tmux kill-session -t "$S"

python3 - "$CRIT_SESSIONS/e2e/events.jsonl" <<'EOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
types = [e["type"] for e in events]
verdicts = [e for e in events if e["type"] == "verdict"]
assert len(verdicts) == 3, f"3 verdicts expected, got {len(verdicts)}"
assert all(v["verdict"] == {"mode": "single", "accept": True, "score": 5} for v in verdicts), verdicts
assert all(v["evaluator"] == "e2e" and v["phase"] == "assisted" for v in verdicts)
kinds = {(e["task"], e["output"]["kind"]) for e in events if e["type"] == "assistance"}
n = sum(1 for e in events if e["type"] == "assistance")
assert n == len(kinds), "assistance generated twice for the same task and kind"
for e in events:
    if e["type"] == "label":
        assert e["target"]["on"] == "step" and e["value"]["rating"] == 1, e
        on = e["target"].get("assistance")
        assert on is None or any(a["seq"] == on for a in events if a["type"] == "assistance")
assert types.count("label") == 3, f"3 labels expected, got {types.count('label')}"
assert "opened" in types and types.count("active_time") >= 3
print(f"e2e: session ok ({len(events)} events, {n} assistance, {types.count('label')} labels)")
EOF

# Reopen: resumes on the last task with its verdict shown, nothing regenerated.
start
wait_for "Task 3/3" 30
wait_for "ACCEPT · score 5/7" 10
before=$(grep -c '"type":"assistance"' "$CRIT_SESSIONS/e2e/events.jsonl")
keys q
sleep 1
after=$(grep -c '"type":"assistance"' "$CRIT_SESSIONS/e2e/events.jsonl")
[ "$before" = "$after" ] || fail "reopening generated assistance again ($before -> $after)"
echo "e2e: ok"
