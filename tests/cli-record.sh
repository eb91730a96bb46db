#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-record.sh - `perftop record PID -o FILE` writes JSON Lines, one
# snapshot a line: --count N writes N lines and stops; --duration stops in
# time; SIGTERM/SIGINT stop it cleanly; a recorder killed with SIGKILL at any
# moment leaves every complete line valid; a target killed with SIGKILL ends
# the recording with one clear line, exit status 0 and a valid file.
. "$(dirname "$0")/lib.sh"
need_cmd jq

# has_lines FILE N: FILE has at least N lines.
has_lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

start_demo
pid=$DEMO_PID
sleep 0.5

# --count: 10 lines at 0.2 s.
out=$PT_WORK/run.jsonl
start=$(date +%s%N)
"$PERFTOP" record "$pid" -o "$out" --interval 0.2 --count 10 2>"$PT_WORK/rec.err" ||
    fail "record --count 10 failed: $(cat "$PT_WORK/rec.err")"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
note "record --count 10 --interval 0.2 took ${elapsed_ms} ms"
[ ! -s "$PT_WORK/rec.err" ] || fail "record wrote to stderr (not a terminal): $(cat "$PT_WORK/rec.err")"
jsonl_check "$out"
[ "$JSONL_LINES" -eq 10 ] || fail "$JSONL_LINES lines, want 10"
[ "$JSONL_PARTIAL" -eq 0 ] || fail "unterminated last line"
[ "$(wc -l <"$out")" -eq 10 ] || fail "wc -l says $(wc -l <"$out")"
while IFS= read -r line; do
	printf '%s\n' "$line" | jq -c . >/dev/null || fail "jq -c . refused a line"
done <"$out"
jq -e --argjson p "$pid" '.pid == $p and (.operations | type) == "array" and (.counters | type) == "array"' \
    "$out" >/dev/null || fail "a line is not a snapshot of $pid"
jq -s -e '[.[].uptime_s] | . == sort and (.[0] < .[-1])' "$out" >/dev/null ||
    fail "uptime does not increase from line to line"
[ "$elapsed_ms" -ge 1500 ] || fail "10 snapshots at 0.2 s came in ${elapsed_ms} ms"
[ "$elapsed_ms" -le 15000 ] || fail "10 snapshots at 0.2 s took ${elapsed_ms} ms"
[ "$(stat -c %a "$out")" = 644 ] || note "mode of the recording is $(stat -c %a "$out")"

# The file is truncated, not appended to.
"$PERFTOP" record "$pid" -o "$out" --interval 0.05 --count 2 || fail "record --count 2 failed"
[ "$(wc -l <"$out")" -eq 2 ] || fail "a second recording did not replace the file"

# --duration: about 1 s of 0.2 s snapshots.
start=$(date +%s%N)
"$PERFTOP" record "$pid" -o "$PT_WORK/dur.jsonl" --interval 0.2 --duration 1 ||
    fail "record --duration failed"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
jsonl_check "$PT_WORK/dur.jsonl"
note "--duration 1: $JSONL_LINES lines in ${elapsed_ms} ms"
if [ "$elapsed_ms" -lt 900 ] || [ "$elapsed_ms" -gt 6000 ]; then
	fail "--duration 1 took ${elapsed_ms} ms"
fi
if [ "$JSONL_LINES" -lt 2 ] || [ "$JSONL_LINES" -gt 8 ]; then
	fail "--duration 1 wrote $JSONL_LINES lines"
fi

# SIGTERM and SIGINT stop a recording cleanly.
for sig in TERM INT; do
	f=$PT_WORK/sig-$sig.jsonl
	start_bg "$PERFTOP" record "$pid" -o "$f" --interval 0.05
	r=$BG_PID
	wait_until 10 has_lines "$f" 3 || fail "no lines before SIG$sig"
	stop_pid "$r" "$sig"
	rc=$?
	[ "$rc" -eq 0 ] || fail "record stopped by SIG$sig exited with status $rc"
	jsonl_check "$f"
	[ "$JSONL_PARTIAL" -eq 0 ] || fail "SIG$sig left an unterminated line"
done

# SIGKILL of the recorder at random moments: complete lines stay valid.
for i in 1 2 3; do
	f=$PT_WORK/killed-$i.jsonl
	start_bg "$PERFTOP" record "$pid" -o "$f" --interval 0.01
	r=$BG_PID
	sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
	kill -KILL "$r"
	wait "$r" 2>/dev/null
	jsonl_check "$f"
	note "recorder killed after $JSONL_LINES complete lines (partial tail: $JSONL_PARTIAL)"
done

# SIGKILL of the target: a clear message, status 0, a valid file.
f=$PT_WORK/target-killed.jsonl
"$PERFTOP" record "$pid" -o "$f" --interval 0.1 2>"$PT_WORK/target.err" &
r=$!
PT_PIDS+=("$r")
wait_until 10 has_lines "$f" 3 || fail "no lines before killing the target"
kill -KILL "$pid"
wait_until 5 pt_dead "$r" || fail "the recorder did not stop when the target died"
wait "$r"
rc=$?
msg=$(cat "$PT_WORK/target.err")
note "recorder: status $rc: $msg"
[ "$rc" -eq 0 ] || fail "the recorder exited with status $rc after the target died"
[ "$(wc -l <"$PT_WORK/target.err")" -eq 1 ] || fail "expected one line on stderr: $msg"
jsonl_check "$f"
[ "$JSONL_PARTIAL" -eq 0 ] || fail "unterminated line after the target died"
[ "$msg" = "perftop: target $pid exited; recorded $JSONL_LINES snapshots to $f" ] ||
    fail "unexpected message: $msg"
pass
