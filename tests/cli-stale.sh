#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-stale.sh - a socket left behind by a demo killed with SIGKILL is stale:
# `perftop list` does not show it, `dump` of that PID fails with one line,
# and a new demo - also one that gets the same PID - replaces it and works.
. "$(dirname "$0")/lib.sh"
need_cmd jq

start_demo
old=$DEMO_PID
kill -KILL "$old"
wait "$old" 2>/dev/null
stale=$PERFTOP_SOCKET_DIR/$old.sock
[ -S "$stale" ] || skip "SIGKILL left no socket behind"

out=$("$PERFTOP" list) || fail "list failed with a stale socket"
note "list: $out"
awk -v p="$old" 'NR > 1 && $1 == p { exit 1 }' <<<"$out" || fail "list shows the dead pid $old"
[ "$(wc -l <<<"$out")" -eq 1 ] || fail "list shows something: $out"
expect_error "dump of a dead demo" "$PERFTOP" dump "$old"

# The same stale socket under the PID of a live process that does not
# listen: connecting is refused, list skips it, dump says not instrumented.
start_bg sleep 30
sl=$BG_PID
mv "$stale" "$PERFTOP_SOCKET_DIR/$sl.sock"
out=$("$PERFTOP" list) || fail "list failed"
[ "$(wc -l <<<"$out")" -eq 1 ] || fail "list shows a stale socket of a live process: $out"
expect_error "dump through a stale socket" "$PERFTOP" dump "$sl"
[[ $ERR_LINE == *"not instrumented"* ]] || fail "the message does not say 'not instrumented'"

# A new demo works next to the stale socket.
start_demo
"$PERFTOP" dump "$DEMO_PID" --format json | jq -e ".pid == $DEMO_PID" >/dev/null ||
    fail "dump of a new demo failed"
out=$("$PERFTOP" list) || fail "list failed"
awk -v p="$DEMO_PID" 'NR > 1 && $1 == p { f = 1 } END { exit !f }' <<<"$out" ||
    fail "list does not show the new demo"
[ "$(wc -l <<<"$out")" -eq 2 ] || fail "list shows more than the new demo: $out"
stop_pid "$DEMO_PID" TERM

# A demo that finds a stale socket at its own path (same PID as the dead
# one): a shell moves the stale socket to $$.sock, then execs the demo,
# which keeps the PID and must replace the socket.  (Inode numbers may be
# reused, so "replaced" means "answers".)
stale=$PERFTOP_SOCKET_DIR/$sl.sock
bash -c 'mv "$1" "$PERFTOP_SOCKET_DIR/$$.sock" && exec "$2"' _ "$stale" "$PERFTOP_DEMO" \
    >"$PT_WORK/same.log" 2>&1 &
same=$!
PT_PIDS+=("$same")
serving() {
	"$PERFTOP" dump "$same" --format json 2>"$PT_WORK/same.err" >"$PT_WORK/same.json"
}
wait_until 10 serving || {
	cat "$PT_WORK/same.log" "$PT_WORK/same.err" >&2
	fail "the demo did not replace a stale socket at its own path"
}
jq -e ".pid == $same" "$PT_WORK/same.json" >/dev/null ||
    fail "the demo that replaced the stale socket sent a wrong pid"
[ ! -e "$stale" ] || fail "the stale socket was copied, not moved"
out=$("$PERFTOP" list) || fail "list failed"
[ "$(wc -l <<<"$out")" -eq 2 ] || fail "list after the replacement: $out"
pass
