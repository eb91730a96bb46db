#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-sockdir.sh - a socket directory that others could write to is refused
# with one line and a non-zero exit: mode 0777, group access, a symbolic
# link to a good directory, a directory owned by another user (as root).
# The agent refuses to serve from such a directory too.
. "$(dirname "$0")/lib.sh"

# A live process to name (the checks come before any connection).
start_bg sleep 30
live=$BG_PID

check_refused() {
	local what=$1 dir=$2 cmd
	for cmd in list "dump $live" "reset $live" "record $live -o $PT_WORK/x.jsonl"; do
		# shellcheck disable=SC2086
		PERFTOP_SOCKET_DIR=$dir expect_error "$what ($cmd)" "$PERFTOP" $cmd
		[[ $ERR_LINE == *"$dir"* ]] || fail "$what ($cmd): the message does not name $dir"
	done
	[ ! -e "$PT_WORK/x.jsonl" ] || fail "$what: record created its file"
}

mkdir "$PT_WORK/open"
chmod 0777 "$PT_WORK/open"
check_refused "mode 0777" "$PT_WORK/open"

mkdir "$PT_WORK/group"
chmod 0750 "$PT_WORK/group"
check_refused "mode 0750" "$PT_WORK/group"

ln -s "$PERFTOP_SOCKET_DIR" "$PT_WORK/link"
check_refused "symbolic link" "$PT_WORK/link"

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir "$PT_WORK/foreign"
	chmod 0700 "$PT_WORK/foreign"
	chown nobody "$PT_WORK/foreign"
	check_refused "owned by nobody" "$PT_WORK/foreign"
else
	note "not root: the case of a directory owned by another user is skipped"
fi

# A socket file that is not a socket (a regular file named PID.sock) is not
# an instrumented process, and list skips it.
touch "$PERFTOP_SOCKET_DIR/$live.sock"
expect_error "regular file as socket" "$PERFTOP" dump "$live"
out=$("$PERFTOP" list) || fail "list failed with a regular file in the directory"
[ "$(wc -l <<<"$out")" -eq 1 ] || fail "list shows a regular file: $out"
rm -f "$PERFTOP_SOCKET_DIR/$live.sock"

# The agent refuses an unsafe directory: no socket appears in it.
need_agent_refusal() {
	PERFTOP_SOCKET_DIR=$PT_WORK/open "$PERFTOP_DEMO" --duration 3 >"$PT_WORK/open-demo.log" 2>&1 &
	local d=$!
	PT_PIDS+=("$d")
	sleep 2
	if compgen -G "$PT_WORK/open/*.sock" >/dev/null; then
		ls -la "$PT_WORK/open" >&2
		fail "the agent served from a mode 0777 directory"
	fi
	note "demo in a 0777 directory said: $(head -n 1 "$PT_WORK/open-demo.log")"
}
need_agent_refusal
pass
