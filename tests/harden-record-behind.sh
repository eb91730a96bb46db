#!/usr/bin/env bash
# harden-record-behind.sh - a recorder that cannot keep up (5,000
# operations every 10 ms: there is always another snapshot to take in)
# still stops on time: at --duration, and at SIGTERM.  (It used to drain
# its input forever and ignore both.)
. "$(dirname "$0")/lib.sh"

start_demo --sites 5000
pid=$DEMO_PID

# elapsed_ms T0: milliseconds since T0 (from date +%s%N).
elapsed_ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

t0=$(date +%s%N)
timeout -s KILL 30 "$PERFTOP" record "$pid" -o /dev/null --interval 0.01 --duration 2 \
    2>"$PT_WORK/rec1.err"
rc=$?
ms=$(elapsed_ms "$t0")
note "record --duration 2: exit $rc after $ms ms"
[ "$rc" -eq 0 ] || fail "record --duration 2 exited with $rc: $(cat "$PT_WORK/rec1.err")"
[ "$ms" -lt 10000 ] || fail "record --duration 2 took $ms ms"

"$PERFTOP" record "$pid" -o /dev/null --interval 0.01 2>"$PT_WORK/rec2.err" &
r=$!
PT_PIDS+=("$r")
sleep 2
pt_alive "$r" || fail "record ended early: $(cat "$PT_WORK/rec2.err")"
t0=$(date +%s%N)
kill -TERM "$r"
wait_until 10 pt_dead "$r" || fail "record ignored SIGTERM for 10 s"
wait "$r"
rc=$?
ms=$(elapsed_ms "$t0")
note "record, SIGTERM: exit $rc after $ms ms: $(cat "$PT_WORK/rec2.err")"
[ "$rc" -eq 0 ] || fail "record exited with $rc after SIGTERM: $(cat "$PT_WORK/rec2.err")"
grep -q '^perftop: interrupted; recorded [1-9]' "$PT_WORK/rec2.err" ||
    fail "no 'interrupted' line: $(cat "$PT_WORK/rec2.err")"
stop_pid "$pid" TERM
pass
