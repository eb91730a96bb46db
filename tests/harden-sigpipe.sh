#!/usr/bin/env bash
# harden-sigpipe.sh - viewers that vanish while the agent writes to them
# never raise SIGPIPE in the host.  Two rounds, each against a demo with
# 2,000 operations (big snapshots, so that data is in flight):
#  1. default SIGPIPE disposition (it would kill the host): records at
#     10 ms killed with SIGKILL mid-stream, and raw clients that subscribe
#     at 10 ms, never read and exit; the demo must survive, and nothing may
#     be left pending on its agent thread;
#  2. the same with a SIGPIPE handler in the host that counts: 0.
. "$(dirname "$0")/lib.sh"
need_cmd jq

rounds=${HARDEN_SIGPIPE_ROUNDS:-8}
killed=0
dropped=0

# abuse PID: the viewers that vanish.
abuse() {
	local pid=$1 sock=$PERFTOP_SOCKET_DIR/$1.sock i r c
	for ((i = 0; i < rounds; i++)); do
		"$PERFTOP" record "$pid" -o "$PT_WORK/rec.$i.jsonl" --interval 0.01 \
		    2>"$PT_WORK/rec.$i.err" &
		r=$!
		"$RAWCLIENT" -n "$sock" "$PT_HELLO$PT_SUBSCRIBE_10MS" 250 \
		    2>"$PT_WORK/raw.$i.err" &
		c=$!
		# The record must be streaming when it is killed.
		wait_until 10 test -s "$PT_WORK/rec.$i.jsonl" ||
		    fail "record $i wrote nothing in 10 s: $(cat "$PT_WORK/rec.$i.err")"
		sleep 0.2
		kill -KILL "$r"
		wait "$r" 2>/dev/null
		killed=$((killed + 1))
		wait "$c" || fail "rawclient $i failed: $(cat "$PT_WORK/raw.$i.err")"
		dropped=$((dropped + 1))
		pt_alive "$pid" || return 1
	done
	# The agent still serves.
	"$PERFTOP" dump "$pid" --format json | jq -e ".pid == $pid" >/dev/null ||
	    fail "dump after the abuse failed"
}

# check_demo: the demo's signal report says nothing was raised.
check_report() {
	local log=$1 rc=$2 line
	line=$(grep -m1 '^perftop-demo: signals: ' "$log") || {
		cat "$log" >&2
		fail "no signal report from the demo (exit status $rc)"
	}
	note "$line"
	[ "$rc" -eq 0 ] || { cat "$log" >&2; fail "the demo exited with $rc"; }
	[[ $line == *" sigpipes=0"* ]] || fail "SIGPIPE counted: $line"
	[[ $line == *" agent_sigpnd=0000000000000000"* ]] ||
	    fail "a signal is pending on the agent thread: $line"
}

# Round 1: default disposition.
start_demo --sites 2000 --signal-report
pid=$DEMO_PID
log=$PT_WORK/demo.$pt_demo_count.log
# SIGPIPE (13) neither ignored nor caught.
for f in SigIgn SigCgt; do
	mask=$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$pid/status")
	(( (16#$mask >> 12) & 1 )) && fail "the demo has SIGPIPE in $f ($mask)"
done
abuse "$pid" || { cat "$log" >&2; fail "the demo died (SIGPIPE?) while viewers vanished"; }
stop_pid "$pid" TERM
check_report "$log" $?

# Round 2: a counting handler.
start_demo --sites 2000 --signal-report --count-sigpipe
pid=$DEMO_PID
log=$PT_WORK/demo.$pt_demo_count.log
abuse "$pid" || { cat "$log" >&2; fail "the demo died while viewers vanished"; }
stop_pid "$pid" TERM
check_report "$log" $?

echo "reliability: sigpipe viewers_killed=$killed viewers_unread=$dropped sigpipes=0" >&2
pass
