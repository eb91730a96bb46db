#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-garbage.sh - the agent drops a peer that sends malformed frames (bad
# magic, a frame length below the header or above the maximum, a non-zero
# reserved field, an unknown message, random bytes, no HELLO at all) and
# answers another protocol version with an ERROR; the target keeps running
# and keeps serving good clients.
. "$(dirname "$0")/lib.sh"
need_cmd jq
[ -x "$RAWCLIENT" ] || hard_error "rawclient not found at $RAWCLIENT (make check builds it)"

start_demo
pid=$DEMO_PID
sock=$PERFTOP_SOCKET_DIR/$pid.sock

# send DESC HEX [WAIT_MS]: the agent must close the connection without
# sending anything but (at most) one ERROR after its WELCOME, if any.
send() {
	local desc=$1 hex=$2 wait=${3:-2000} out types end
	out=$("$RAWCLIENT" "$sock" "$hex" "$wait") || fail "$desc: cannot connect"
	types=$(frame_types "$(head -n 1 <<<"$out")")
	end=$(sed -n 2p <<<"$out")
	note "$desc: frames '$types', $end"
	[ "$end" = EOF ] || fail "$desc: the agent did not close the connection"
	case $types in
	"" | 3 | "2" | "2 3") ;;
	*) fail "$desc: unexpected frames '$types'" ;;
	esac
	kill -0 "$pid" 2>/dev/null || fail "$desc: the target died"
	LAST_TYPES=$types
}

send "bad magic" 0d00000001000000deadbeef01
send "length below the header" 0400000001000000
send "length zero" 00000000000000000000000000000000
send "length above the maximum" ffffffff0100000050544f5001
send "length 16 MiB + 1" 0100000101000000
send "non-zero reserved field" 0d0000000100010050544f5001
send "unknown message first" 0800000063000000
send "SNAPSHOT_REQ before HELLO" "$PT_SNAPSHOT_REQ"
send "unknown message after HELLO" "${PT_HELLO}0800000063000000"
[[ $LAST_TYPES == 2* ]] || fail "no WELCOME after a good HELLO"
send "SNAPSHOT from a viewer" "${PT_HELLO}0900000006000000ff"
send "SUBSCRIBE with trailing bytes" "${PT_HELLO}0a0000000400000001ff"
send "HELLO with trailing bytes" 0e0000000100000050544f500100
send "random bytes" "$(head -c 4096 /dev/urandom | od -An -v -tx1 | tr -d ' \n')"
send "random bytes after HELLO" "$PT_HELLO$(head -c 4096 /dev/urandom | od -An -v -tx1 | tr -d ' \n')"

# Another protocol version: an ERROR, then the end of the connection.
send "HELLO version 5" 0d0000000100000050544f5005
[ "$LAST_TYPES" = 3 ] || fail "HELLO of version 5 was not answered with an ERROR"

# Silence: the agent drops a peer that says nothing within its deadline.
send "no HELLO" - 5000

# Half a frame, then silence.
send "truncated HELLO" 0d00000001000000 5000

# The target still serves.
"$PERFTOP" dump "$pid" --format json | jq -e ".pid == $pid" >/dev/null ||
    fail "the target no longer serves after the garbage"
pass
