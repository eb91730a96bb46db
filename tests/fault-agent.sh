#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2031  # the run and check functions run through fault_sweep
# fault-agent.sh - the agent under injected faults (tests/faultshim.c
# preloaded into perftop-demo, acting in the demo alone): accept4, recv and
# send on its sockets and its poll fail at their 1st, 2nd, ... call with
# EINTR, EAGAIN, ECONNRESET, EPIPE, EIO or a short transfer, one fault per
# demo, while a `perftop dump` talks to it (for send, also while it
# streams to a `perftop record`).  That dump must end within 10 s
# and without a signal, with the snapshot or one "perftop: " error line;
# the agent may drop that viewer but must go on serving: the demo keeps
# running, the next dump works, and SIGTERM ends it with status 0.
. "$(dirname "$0")/fault-lib.sh"
need_cmd jq timeout

out=$PT_WORK/out
err=$PT_WORK/err
keep=$PT_WORK/keep
mkdir "$keep"
outcome() { echo "$1" >>"$PT_WORK/outcomes"; }
# The error lines of the faulted viewers, the PID and paths made generic.
error_seen() {
	sed -e "s|$PT_WORK/[^ ]*|FILE|g" -e "s/\b$DEMO_PID\b/PID/g" \
	    -e 's/recorded [0-9]* snapshots*/recorded N snapshots/' \
	    "$err" >>"$PT_WORK/errors"
}

# dump_check WHAT: a dump of $DEMO_PID; 0 with a snapshot (kept in $keep,
# parsed at the end: jq is slow to start), 1 with a clean error (noted as
# bad when WHAT is "clean"), 2 for anything else.
dump_check() {
	local what=$1 rc
	timeout -k 2 10 "$PERFTOP" dump "$DEMO_PID" --format json >"$out" 2>"$err"
	rc=$?
	fault_status_ok "$rc" || return 2
	if [ "$rc" -eq 0 ]; then
		if [ -s "$err" ]; then
			fault_bad "$what dump: status 0 but: $(head -c 200 "$err")"
			return 2
		fi
		mv "$out" "$keep/$FAULT_RUNS.$what.$DEMO_PID.json"
		return 0
	fi
	if ! fault_one_error "$err" || [ -s "$out" ]; then
		fault_bad "$what dump: status $rc and: $(head -c 300 "$err")"
		return 2
	fi
	[ "$what" = clean ] && fault_bad "the dump after the fault failed: $(cat "$err")"
	return 1
}

# demo_start SPEC: perftop-demo with the shim acting in it (not in the
# shell of a libtool wrapper); waits for its socket (polling faster than
# start_demo: one demo per fault).
demo_start() {
	local i
	LD_PRELOAD=$FAULTSHIM PT_FAULT=$1 PT_FAULT_PROG=perftop-demo \
	    PT_FAULT_LOG=$FAULT_LOG "$PERFTOP_DEMO" --threads 1 \
	    >"$PT_WORK/demo.log" 2>&1 &
	DEMO_PID=$!
	PT_PIDS+=("$DEMO_PID")
	for ((i = 0; i < 500; i++)); do
		[ -S "$PERFTOP_SOCKET_DIR/$DEMO_PID.sock" ] && return 0
		pt_alive "$DEMO_PID" || break
		sleep 0.02
	done
	fault_bad "the demo did not serve: $(head -c 300 "$PT_WORK/demo.log")"
	return 1
}

# demo_stop: SIGTERM; the demo must exit with status 0 within 5 s.
demo_stop() {
	local i rc
	kill -TERM "$DEMO_PID" 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		pt_alive "$DEMO_PID" || break
		sleep 0.01
	done
	pt_alive "$DEMO_PID" && kill -KILL "$DEMO_PID" 2>/dev/null
	wait "$DEMO_PID" 2>/dev/null
	rc=$?
	[ "$rc" -eq 0 ] || fault_bad "the demo exited with status $rc after SIGTERM"
}

agent_run() {
	local spec=$1 rc
	demo_start "$spec" || return
	dump_check faulted
	rc=$?
	# The agent reads the viewer's BYE or end of file after dump exits.
	sleep 0.05
	if [ "$(fault_fired)" -gt 0 ]; then
		case $rc in
		0) outcome "faulted dump ok" ;;
		1) outcome "faulted dump: clean error"; error_seen ;;
		*) outcome "faulted dump went wrong" ;;
		esac
		dump_check clean
		pt_alive "$DEMO_PID" || fault_bad "the demo died"
	fi
	demo_stop
}

# record_check: a recording of 5 snapshots at 50 ms from $DEMO_PID, the
# agent streaming; 0 with 5 lines, 1 when it ended early in a clean way
# (an error line, or "stopped serving" when the agent dropped it), 2 for
# anything else.  Every line must be whole (parsed at the end).
record_check() {
	local rc rec=$PT_WORK/rec.jsonl lines=0
	rm -f "$rec"
	timeout -k 2 10 "$PERFTOP" record "$DEMO_PID" -o "$rec" --interval 0.05 \
	    --count 5 >"$out" 2>"$err"
	rc=$?
	fault_status_ok "$rc" || return 2
	if [ -f "$rec" ]; then
		if [ -s "$rec" ] && [ -n "$(tail -c 1 "$rec")" ]; then
			fault_bad "the recording ends in part of a line"
			return 2
		fi
		lines=$(wc -l <"$rec")
		mv "$rec" "$keep/$FAULT_RUNS.$DEMO_PID.jsonl"
	fi
	if [ "$rc" -eq 0 ] && [ ! -s "$err" ] && [ "$lines" -eq 5 ]; then
		return 0
	fi
	if [ "$rc" -eq 0 ] && [[ $(cat "$err") == "perftop: target $DEMO_PID stopped serving; recorded $lines snapshot"* ]]; then
		return 1
	fi
	if [ "$rc" -ne 0 ] && fault_one_error "$err"; then
		return 1
	fi
	fault_bad "record: status $rc, $lines lines, stderr: $(head -c 300 "$err")"
	return 2
}

# agent_run_record SPEC: the same with a streaming viewer (record).
agent_run_record() {
	local spec=$1 rc
	demo_start "$spec" || return
	record_check
	rc=$?
	sleep 0.05
	if [ "$(fault_fired)" -gt 0 ]; then
		case $rc in
		0) outcome "faulted record ok" ;;
		1) outcome "faulted record: ended early, cleanly"; error_seen ;;
		*) outcome "faulted record went wrong" ;;
		esac
		dump_check clean
		pt_alive "$DEMO_PID" || fault_bad "the demo died"
	fi
	demo_stop
}

for e in $(fault_errors "EINTR EAGAIN ECONNRESET EIO" "EAGAIN EIO"); do
	fault_sweep agent accept4 "$e" 10 agent_run
done
for e in $(fault_errors "EINTR EAGAIN ECONNRESET EIO short" "EAGAIN ECONNRESET short"); do
	fault_sweep agent recv "$e" 10 agent_run
done
for e in $(fault_errors "EINTR EAGAIN EPIPE short" "EAGAIN EPIPE"); do
	fault_sweep agent send "$e" 10 agent_run
done
for e in $(fault_errors "EINTR EAGAIN EIO" "EIO"); do
	fault_sweep agent poll "$e" 15 agent_run
done
# Sending a stream: a snapshot every 50 ms, the viewer reading it.
for e in $(fault_errors "EAGAIN EPIPE short" "EPIPE"); do
	fault_sweep agent-stream send "$e" 10 agent_run_record
done

# Every dump that succeeded printed a snapshot of its demo.
shopt -s nullglob
files=("$keep"/*.json)
# shellcheck disable=SC2016  # jq's $p
snapshot_of_demo='.format == "perftop-snapshot" and
    (.pid as $p | input_filename | endswith(".\($p).json"))'
if [ "${#files[@]}" -gt 0 ] && ! jq -e -n "[inputs | $snapshot_of_demo] | all" \
    "${files[@]}" >/dev/null 2>&1; then
	for f in "${files[@]}"; do
		jq -e "$snapshot_of_demo" "$f" >/dev/null 2>&1 ||
		    fault_fail_later "${f##*/}: not a snapshot of its demo: $(head -c 200 "$f")"
	done
fi
note "dumps parsed: ${#files[@]}"
# Every line of every recording is a snapshot of its demo.
files=("$keep"/*.jsonl)
if [ "${#files[@]}" -gt 0 ]; then
	bad=$(jq -R -r 'select(try (fromjson | .format == "perftop-snapshot" and
	    (.pid as $p | input_filename | endswith(".\($p).jsonl")))
	    catch false | not) | input_filename' "${files[@]}") ||
	    fault_fail_later "jq failed"
	while IFS= read -r f; do
		[ -n "$f" ] && fault_fail_later "${f##*/}: a line is not a snapshot of its demo"
	done < <(sort -u <<<"$bad")
fi
note "recordings parsed: ${#files[@]}"

sort "$PT_WORK/outcomes" | uniq -c | while read -r n what; do
	note "$what: $n runs"
done
note "the error lines, how many times:"
sort "$PT_WORK/errors" 2>/dev/null | uniq -c | sort -rn | sed 's/^/    /' >&2
fault_summary
pass
