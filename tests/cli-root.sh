#!/usr/bin/env bash
# shellcheck disable=SC2317  # helpers run through wait_until
# cli-root.sh - root reaches another user's instrumented process (the agent
# accepts root as a peer): `perftop dump PID`, `perftop list` and `perftop
# reset PID` find the target's socket by the target's uid and environment
# (/tmp/perftop-UID, $XDG_RUNTIME_DIR/perftop or $PERFTOP_SOCKET_DIR of the
# target), with the same directory checks against that uid; an unsafe
# directory is refused with one line (and not listed).  Needs root to run the demo as user nobody.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd setpriv jq
id nobody >/dev/null 2>&1 || skip "no user nobody"
uid=$(id -u nobody)
gid=$(id -g nobody)

as_nobody() {
	setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
}
# Root as a user would run it: no socket directory of its own.
root_perftop() { env -u PERFTOP_SOCKET_DIR "$PERFTOP" "$@"; }

# The demo and its library where the other user can read them.
pub=$(mktemp -d "$pt_tmpbase/ptpub.XXXXXX") || hard_error "mktemp failed"
PT_DIRS+=("$pub")
chmod 755 "$pub"
cp "$PERFTOP_DEMO" "$pub/perftop-demo"
cp -P "$top_builddir"/.libs/libperftop.so* "$pub/"
chmod -R a+rX "$pub"
as_nobody env LD_LIBRARY_PATH="$pub" "$pub/perftop-demo" --version \
    >/dev/null 2>&1 || skip "user nobody cannot run the demo from $pub"

# nobody_demo DIR_VAR: starts the demo as nobody, with a clean environment
# plus DIR_VAR (e.g. XDG_RUNTIME_DIR=...), and waits for SOCKET; sets NPID.
nobody_demo() {
	local sock=$1
	shift
	# (setpriv itself, not the function: $! must be the demo's PID.)
	setpriv --reuid="$uid" --regid="$gid" --clear-groups \
	    env -i LD_LIBRARY_PATH="$pub" PERFTOP_DEMO_CPU=25 "$@" \
	    "$pub/perftop-demo" --threads 1 >"$PT_WORK/nobody.log" 2>&1 &
	NPID=$!
	PT_PIDS+=("$NPID")
	sock=${sock//PID/$NPID}
	wait_until 10 test -S "$sock" ||
	    fail "the demo of nobody does not serve at $sock: $(cat "$PT_WORK/nobody.log")"
}

# root_lists WHERE: root's `perftop list` shows $NPID (0) or not (1).
root_lists() {
	root_perftop list >"$PT_WORK/list" 2>"$PT_WORK/list.err" ||
	    fail "root's list ($1) failed: $(cat "$PT_WORK/list.err")"
	grep -q "^$NPID " "$PT_WORK/list"
}
# dump_and_list WHERE: root's dump of $NPID is its snapshot, and root's
# list shows it.
dump_and_list() {
	root_perftop dump "$NPID" --format json >"$PT_WORK/d.json" \
	    2>"$PT_WORK/d.err" || fail "root's dump ($1) failed: $(cat "$PT_WORK/d.err")"
	jq_checks "$PT_WORK/d.json" "the snapshot is the target's" ".pid == $NPID"
	root_lists "$1" || fail "root's list ($1) does not show $NPID: $(cat "$PT_WORK/list")"
}

# 1. No XDG_RUNTIME_DIR: /tmp/perftop-UID.
tmpdir=/tmp/perftop-$uid
[ -e "$tmpdir" ] || PT_DIRS+=("$tmpdir")
nobody_demo "$tmpdir/PID.sock"
# Its first training step may come a while after its socket (under ASan
# and CI's parallel phases, a dump 0.1 s in found no operation yet).
has_step() {
	root_perftop dump "$NPID" --format json >"$PT_WORK/d.json" 2>/dev/null &&
	    jq -e '[.operations[] | select(.name == "training_step")] | length == 1' \
	    "$PT_WORK/d.json" >/dev/null
}
wait_until 15 has_step || note "no training_step in root's dumps after 15 s"
dump_and_list "/tmp/perftop-$uid"
jq_checks "$PT_WORK/d.json" \
    "with its operations" "[.operations[] | select(.name == \"training_step\")] | length == 1"
out=$(root_perftop reset "$NPID" 2>&1) || fail "root's reset failed: $out"
note "/tmp/perftop-$uid: dump, list and reset work ($out)"
kill -TERM "$NPID"; wait "$NPID" 2>/dev/null

# 2. The target's XDG_RUNTIME_DIR (read from /proc/PID/environ).
xdg=$(mktemp -d "$pt_tmpbase/ptxdg.XXXXXX") || hard_error "mktemp failed"
PT_DIRS+=("$xdg")
chown "$uid:$gid" "$xdg"
chmod 700 "$xdg"
nobody_demo "$xdg/perftop/PID.sock" XDG_RUNTIME_DIR="$xdg"
dump_and_list "XDG_RUNTIME_DIR outside /run/user"
note "XDG_RUNTIME_DIR of the target: dump and list work"

# 3. That directory opened to everyone: refused, one line.
chmod 0777 "$xdg/perftop"
expect_error "an unsafe directory of the target" root_perftop dump "$NPID"
[[ $ERR_LINE == *"unsafe permissions"* ]] || fail "the message does not say why: $ERR_LINE"
root_lists "an unsafe directory" && fail "root's list shows $NPID from an unsafe directory"
chmod 0700 "$xdg/perftop"
kill -TERM "$NPID"; wait "$NPID" 2>/dev/null

# 4. A directory of the target's own choosing (PERFTOP_SOCKET_DIR): found
# through its environment by dump and by list.
cust=$(mktemp -d "$pt_tmpbase/ptcust.XXXXXX") || hard_error "mktemp failed"
PT_DIRS+=("$cust")
chown "$uid:$gid" "$cust"
chmod 700 "$cust"
nobody_demo "$cust/PID.sock" PERFTOP_SOCKET_DIR="$cust"
dump_and_list "PERFTOP_SOCKET_DIR=$cust"
note "PERFTOP_SOCKET_DIR of the target: dump and list work"
kill -TERM "$NPID"; wait "$NPID" 2>/dev/null
pass
