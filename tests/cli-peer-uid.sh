#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-peer-uid.sh - the agent serves only peers with its own uid (or root):
# a client running as another user gets no data, even when the socket
# directory and the socket are forced to mode 0777.  Shown with a raw client
# (tests/rawclient), which does not check the directory the way perftop
# does, and with perftop itself, which refuses the unsafe directory.  Needs
# root to change uid.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd setpriv
id nobody >/dev/null 2>&1 || skip "no user nobody"
[ -x "$RAWCLIENT" ] || hard_error "rawclient not found at $RAWCLIENT (make check builds it)"

as_nobody() {
	setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups "$@"
}

# Programs the other user can run: copies in a world-readable directory.
pub=$(mktemp -d "${pt_tmpbase:-/tmp}/ptpub.XXXXXX") || hard_error "mktemp failed"
PT_DIRS+=("$pub")
chmod 755 "$pub"
cp "$RAWCLIENT" "$pub/rawclient"
chmod 755 "$pub/rawclient"
as_nobody "$pub/rawclient" 2>/dev/null
[ $? -eq 2 ] || skip "user nobody cannot run programs from $pub"

start_demo
pid=$DEMO_PID
sock=$PERFTOP_SOCKET_DIR/$pid.sock

# Control: our own uid gets a WELCOME, then a snapshot.
out=$("$RAWCLIENT" "$sock" "$PT_HELLO$PT_SNAPSHOT_REQ" 1500) || fail "rawclient as root failed"
types=$(frame_types "$(head -n 1 <<<"$out")")
note "as root: frames $types"
[[ $types == "2 6"* ]] || fail "root did not get WELCOME then SNAPSHOT: $types"

# Open everything up.
chmod 0777 "$PERFTOP_SOCKET_DIR" "$sock"

out=$(as_nobody "$pub/rawclient" "$sock" "$PT_HELLO$PT_SNAPSHOT_REQ$PT_SUBSCRIBE_10MS" 2000) ||
    fail "nobody could not even connect (expected a connection the agent closes)"
hex=$(head -n 1 <<<"$out")
end=$(sed -n 2p <<<"$out")
types=$(frame_types "$hex")
note "as nobody: frames '$types', then $end"
case " $types " in
*" 2 "* | *" 6 "* | *" 8 "*) fail "another uid got data: frames $types" ;;
esac
[ -z "$types" ] || [ "$types" = 3 ] || fail "another uid got frames $types (only one ERROR allowed)"
[ "$end" = EOF ] || fail "the agent did not close the connection of another uid"

# perftop itself, as nobody: one line, non-zero, no data on stdout.
if as_nobody test -x "$PERFTOP"; then
	as_nobody "$PERFTOP" dump "$pid" --format json >"$pub/out" 2>"$pub/err"
	rc=$?
	note "perftop as nobody: status $rc: $(cat "$pub/err")"
	[ "$rc" -ne 0 ] || fail "perftop dump as nobody succeeded"
	[ "$(wc -l <"$pub/err")" -eq 1 ] || fail "perftop as nobody: not one line on stderr"
	[ ! -s "$pub/out" ] || fail "perftop as nobody printed data"
else
	note "nobody cannot run $PERFTOP: that case is skipped"
fi

# The demo still serves its own user.
chmod 0700 "$PERFTOP_SOCKET_DIR"
"$PERFTOP" dump "$pid" >/dev/null || fail "the demo no longer serves after refusing nobody"
pass
