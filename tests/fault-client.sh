#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317,SC2031  # start_demo takes optional args; runs go through fault_sweep, in workers
# fault-client.sh - perftop dump and perftop record under injected faults
# (tests/faultshim.c preloaded into perftop): send, recv and poll on the
# socket, and for record write and fsync of the file, fail at their 1st,
# 2nd, ... call with EINTR, EAGAIN, EPIPE, ECONNRESET, ENOSPC, EIO or a
# short transfer, until a run makes fewer calls.  Every run must end within
# 10 s and without a signal, either well (dump: the JSON snapshot; record:
# 5 lines) or with one "perftop: " line on stderr and a non-zero status
# (dump prints nothing then).  record may also end with status 0 and
# "target PID stopped serving; recorded K snapshots" when the connection
# broke (ECONNRESET and EPIPE look like the agent closing it).  Every line
# of a record file must be a complete JSON snapshot, whatever failed: a
# failed write must not leave part of a line behind.
. "$(dirname "$0")/fault-lib.sh"
need_cmd jq timeout

start_demo
pid=$DEMO_PID
keep=$PT_WORK/keep
mkdir "$keep"

# Outcomes, one line per run in $PT_WORK/outcomes.W (workers run apart),
# and the error lines, the PID and paths made generic, in errors.W.
outcome() { echo "$1" >>"$PT_WORK/outcomes.$FAULT_W"; }
error_seen() {
	sed -e "s|$PT_WORK/[^ ]*|FILE|g" -e "s/\b$pid\b/PID/g" \
	    -e 's/recorded [0-9]* snapshots*/recorded N snapshots/' \
	    "$err" >>"$PT_WORK/errors.$FAULT_W"
}

# The files of a run: the worker's own; what must be parsed later (one jq
# run for all, jq is slow to start) is kept as $keep/W.RUN.SPEC.
run_files() {
	out=$PT_WORK/out.$FAULT_W
	err=$PT_WORK/err.$FAULT_W
	rec=$PT_WORK/rec.$FAULT_W.jsonl
	kept=$keep/$FAULT_W.$FAULT_RUNS.$1
}

# ---- dump ---------------------------------------------------------------------
dump_run() {
	local spec=$1 rc fe
	run_files "$spec"
	mapfile -t fe < <(fault_env "$spec" perftop)
	timeout -k 2 10 env "${fe[@]}" "$PERFTOP" dump "$pid" --format json \
	    >"$out" 2>"$err"
	rc=$?
	fault_status_ok "$rc" || return
	if [ "$rc" -eq 0 ]; then
		[ -s "$err" ] && fault_bad "status 0 but stderr: $(head -c 300 "$err")"
		mv "$out" "$kept.json"
		outcome "dump ok"
	else
		fault_one_error "$err" ||
		    fault_bad "status $rc, stderr not one perftop: line: $(head -c 300 "$err")"
		[ -s "$out" ] && fault_bad "status $rc but wrote: $(head -c 100 "$out")"
		outcome "dump error"
		error_seen
	fi
}

# ---- record -------------------------------------------------------------------
record_run() {
	local spec=$1 rc fe lines=0 msg s
	run_files "$spec"
	rm -f "$rec"
	mapfile -t fe < <(fault_env "$spec" perftop)
	timeout -k 2 10 env "${fe[@]}" "$PERFTOP" record "$pid" -o "$rec" \
	    --interval 0.05 --count 5 >"$out" 2>"$err"
	rc=$?
	fault_status_ok "$rc" || return
	if [ -f "$rec" ]; then
		if [ -s "$rec" ] && [ -n "$(tail -c 1 "$rec")" ]; then
			fault_bad "the file ends in part of a line: ...$(tail -c 80 "$rec")"
		fi
		lines=$(wc -l <"$rec")
		mv "$rec" "$kept.jsonl"
	fi
	if [ "$rc" -eq 0 ] && [ ! -s "$err" ]; then
		[ "$lines" -eq 5 ] || fault_bad "status 0, $lines lines, not 5"
		outcome "record ok"
	elif [ "$rc" -eq 0 ]; then
		s=s
		[ "$lines" -eq 1 ] && s=
		msg="perftop: target $pid stopped serving; recorded $lines snapshot$s to $rec"
		[ "$(cat "$err")" = "$msg" ] ||
		    fault_bad "status 0 with: $(head -c 300 "$err") (want: $msg)"
		outcome "record cut short"
		error_seen
	else
		fault_one_error "$err" ||
		    fault_bad "status $rc, stderr not one perftop: line: $(head -c 300 "$err")"
		outcome "record error"
		error_seen
	fi
}

# ---- the sweeps ---------------------------------------------------------------
for e in $(fault_errors "EINTR EAGAIN EPIPE ECONNRESET EIO short" "EPIPE EIO short"); do
	fault_queue dump send "$e" 10 dump_run
done
for e in $(fault_errors "EINTR EAGAIN ECONNRESET EIO short" "EAGAIN EIO short"); do
	fault_queue dump recv "$e" 20 dump_run
done
for e in $(fault_errors "EINTR EAGAIN EIO" "EINTR EIO"); do
	fault_queue dump poll "$e" 20 dump_run
done
for e in $(fault_errors "EINTR EAGAIN EPIPE EIO short" "EAGAIN EIO"); do
	fault_queue record send "$e" 10 record_run
done
for e in $(fault_errors "EINTR EAGAIN ECONNRESET EIO short" "EAGAIN ECONNRESET short"); do
	fault_queue record recv "$e" 30 record_run
done
for e in $(fault_errors "EINTR EIO" "EIO"); do
	fault_queue record poll "$e" 30 record_run
done
# A disk filling up: a short write, then ENOSPC (or EIO) for the rest.
for e in $(fault_errors "EINTR EAGAIN ENOSPC EIO short short+ENOSPC short+EIO" \
    "ENOSPC short short+ENOSPC"); do
	fault_queue record write "$e" 10 record_run
done
for e in $(fault_errors "EINTR EIO ENOSPC" "EIO"); do
	fault_queue record fsync "$e" 5 record_run
done
fault_run_queue 3

# ---- what the runs wrote, parsed ---------------------------------------------
# Every dump that succeeded printed a snapshot of the demo.
shopt -s nullglob
files=("$keep"/*.json)
if [ "${#files[@]}" -gt 0 ] &&
    ! jq -e -n --argjson p "$pid" '[inputs | .format == "perftop-snapshot" and
        .pid == $p and (.operations | length > 0)] | all' "${files[@]}" \
        >/dev/null 2>&1; then
	for f in "${files[@]}"; do
		jq -e --argjson p "$pid" '.format == "perftop-snapshot" and
		    .pid == $p' "$f" >/dev/null 2>&1 ||
		    fault_fail_later "dump ${f##*/}: not a snapshot: $(head -c 200 "$f")"
	done
fi
# Every line of every recording is a snapshot of the demo.
files=("$keep"/*.jsonl)
if [ "${#files[@]}" -gt 0 ]; then
	bad=$(jq -R -r --argjson p "$pid" 'select(try (fromjson |
	    .format == "perftop-snapshot" and .pid == $p) catch false | not) |
	    input_filename' "${files[@]}") || fault_fail_later "jq failed"
	while IFS= read -r f; do
		[ -n "$f" ] && fault_fail_later "record ${f##*/}: a line is not a snapshot"
	done < <(sort -u <<<"$bad")
fi
note "dumps parsed: $(find "$keep" -name '*.json' | wc -l), recordings parsed: ${#files[@]}"

sort "$PT_WORK"/outcomes.* | uniq -c | while read -r n what; do
	note "$what: $n runs"
done
note "the error lines, how many times:"
cat "$PT_WORK"/errors.* 2>/dev/null | sort | uniq -c | sort -rn | sed 's/^/    /' >&2
pt_alive "$pid" || fail "the demo died"
fault_summary
pass
