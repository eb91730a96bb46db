#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-list.sh - `perftop list` shows each running instrumented process (PID,
# name, uptime, socket) in PID order, drops it when it exits, and prints only
# the header when the socket directory is empty or missing.
. "$(dirname "$0")/lib.sh"

header_re='^PID +NAME +UPTIME +SOCKET$'

# A socket directory that does not exist yet: the header alone, exit 0.
out=$(PERFTOP_SOCKET_DIR=$PT_WORK/missing "$PERFTOP" list) ||
    fail "list with a missing socket directory failed"
[[ $out =~ $header_re ]] || fail "list with a missing directory printed: $out"
[ ! -e "$PT_WORK/missing" ] || fail "list created the socket directory"

# An empty directory: the header alone.
out=$("$PERFTOP" list) || fail "list of an empty directory failed"
[[ $out =~ $header_re ]] || fail "list of an empty directory printed: $out"

start_demo
a=$DEMO_PID
start_demo --threads 1
b=$DEMO_PID
sleep 1.2

"$PERFTOP" list >"$PT_WORK/list" 2>"$PT_WORK/list.err" || {
	cat "$PT_WORK/list.err" >&2
	fail "list failed"
}
cat "$PT_WORK/list"
[ ! -s "$PT_WORK/list.err" ] || fail "list wrote to stderr: $(cat "$PT_WORK/list.err")"
[[ $(head -n 1 "$PT_WORK/list") =~ $header_re ]] || fail "bad header"
[ "$(wc -l <"$PT_WORK/list")" -eq 3 ] || fail "expected 2 processes"
for pid in "$a" "$b"; do
	line=$(awk -v p="$pid" '$1 == p' "$PT_WORK/list")
	[ -n "$line" ] || fail "pid $pid is not listed"
	read -r lpid name uptime sock extra <<<"$line"
	[ "$lpid" = "$pid" ] || fail "bad pid column: $line"
	[[ $name == *perftop-demo* ]] || fail "name of $pid is '$name'"
	[[ $uptime =~ ^[0-9]+[smhd]([0-9]{2}[smh])?$ ]] || fail "uptime of $pid is '$uptime'"
	[ "$sock" = "$PERFTOP_SOCKET_DIR/$pid.sock" ] || fail "socket of $pid is '$sock'"
	[ -z "$extra" ] || fail "extra columns: $line"
done
# PID order.
order=$(awk 'NR > 1 { print $1 }' "$PT_WORK/list" | tr '\n' ' ')
sorted=$(printf '%s\n' "$a" "$b" | sort -n | tr '\n' ' ')
[ "$order" = "$sorted" ] || fail "not in PID order: $order"

# A process that exits (and removes its socket) leaves the list.
stop_pid "$a" TERM
out=$("$PERFTOP" list) || fail "list failed after a demo exited"
awk -v p="$a" 'NR > 1 && $1 == p { exit 1 }' <<<"$out" || fail "exited pid $a still listed"
awk -v p="$b" 'NR > 1 && $1 == p { f = 1 } END { exit !f }' <<<"$out" ||
    fail "pid $b no longer listed"
pass
