#!/usr/bin/env bash
# shellcheck disable=SC2317  # helpers run through wait_until
# harden-alarm.sh - a 10 kHz SIGALRM storm on the host (setitimer in the
# demo, whose own handler counts each signal by the gettid() of the thread
# that took it) while two viewers stream at 10 ms and dumps come and go:
# no SIGALRM reaches the agent thread ("perftop-agent"), nothing is left
# pending on it, and the viewers are served throughout.
. "$(dirname "$0")/lib.sh"
need_cmd jq

secs=${HARDEN_ALARM_SECONDS:-4}

start_demo --alarm-storm 10000 --signal-report --sites 200
log=$PT_WORK/demo.$pt_demo_count.log
pid=$DEMO_PID

"$PERFTOP" record "$pid" -o "$PT_WORK/rec1.jsonl" --interval 0.01 \
    --duration "$secs" 2>"$PT_WORK/rec1.err" &
r1=$!
PT_PIDS+=("$r1")
"$PERFTOP" record "$pid" -o "$PT_WORK/rec2.jsonl" --interval 0.01 \
    --duration "$secs" 2>"$PT_WORK/rec2.err" &
r2=$!
PT_PIDS+=("$r2")

# Dumps and resets while the storm goes on: the agent accepts, answers,
# closes, again and again.
dumps=0
end=$((SECONDS + secs))
while [ "$SECONDS" -lt "$end" ]; do
	"$PERFTOP" dump "$pid" --format json >"$PT_WORK/dump.json" 2>"$PT_WORK/dump.err" ||
	    fail "dump during the storm failed: $(cat "$PT_WORK/dump.err")"
	dumps=$((dumps + 1))
	sleep 0.05
done
jq -e ".pid == $pid" "$PT_WORK/dump.json" >/dev/null || fail "bad dump"

wait "$r1" || fail "record 1 failed: $(cat "$PT_WORK/rec1.err")"
wait "$r2" || fail "record 2 failed: $(cat "$PT_WORK/rec2.err")"
for r in rec1 rec2; do
	jsonl_check "$PT_WORK/$r.jsonl"
	# 10 ms for $secs s: ~100 a second; allow for a slow CI machine and
	# sanitizers.
	[ "$JSONL_LINES" -ge $((secs * 5)) ] ||
	    fail "$r: only $JSONL_LINES snapshots in $secs s under the storm"
	note "$r: $JSONL_LINES snapshots"
done

pt_alive "$pid" || { cat "$log" >&2; fail "the demo died during the storm"; }
stop_pid "$pid" TERM
rc=$?
line=$(grep -m1 '^perftop-demo: signals: ' "$log") || {
	cat "$log" >&2
	fail "no signal report from the demo (exit status $rc)"
}
note "$line"
[ "$rc" -eq 0 ] || { cat "$log" >&2; fail "the demo exited with $rc"; }

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
alarms=$(field alarms)
threads=$(field alarm_threads)
on_agent=$(field alarms_on_agent)
agent=$(field agent_tid)
[ "$agent" -gt 0 ] || fail "no agent thread found"
[ "$on_agent" -eq 0 ] || fail "$on_agent SIGALRM reached the agent thread"
# setitimer coalesces expirations while one is pending; at least 1 kHz.
[ "$alarms" -ge $((secs * 1000)) ] || fail "only $alarms SIGALRM in about $secs s"
[ "$threads" -ge 2 ] || fail "SIGALRM reached only $threads thread(s)"
echo "reliability: alarm-storm hz=10000 signals=$alarms threads=$threads on_agent=$on_agent dumps=$dumps" >&2
pass
