# shellcheck shell=bash disable=SC2030,SC2031,SC2034  # workers are subshells on purpose
# tests/fault-lib.sh - helpers of the fault injection tests (tests/fault-*.sh).
# Sources tests/lib.sh and finds the shim tests/.libs/libfaultshim.so (built
# by make check from tests/faultshim.c; $FAULTSHIM overrides).
#
# Source it from a bash test:   . "$(dirname "$0")/fault-lib.sh"
#
# A sweep runs one command per fault CALL:N:ERROR for N = 1, 2, ... and
# stops once N is past the calls the command makes: at the second N in a
# row whose fault did not fire (the number of calls may vary a little from
# run to run), or at a limit.  The test's run function decides whether each
# run ended well; the tally goes to one line at the end:
#   reliability: faults injected=N sites=M failures=F
# (sites: the distinct LABEL/CALL:N that fired, LABEL naming the command).
#
# Functions:
#   fault_env SPEC PROG     the environment words (for env) that load the
#                           shim with the faults SPEC, acting in program PROG
#                           only, logging to $FAULT_LOG
#   fault_fired             the number of faults logged since the run began
#   fault_sweep LABEL CALL ERR MAX FN
#                           for N = 1..MAX: FN SPEC, SPEC being CALL:N:ERR
#                           (ERR E1+E2: CALL:N:E1,CALL:N+1:E2, say
#                           short+ENOSPC); FN notes what went wrong with
#                           fault_bad
#   fault_queue LABEL CALL ERR MAX FN   queues a sweep
#   fault_errors FULL QUICK the kinds of error to sweep: the list QUICK in
#                           sanitizer builds ($FAULT_QUICK=1), else FULL
#   fault_run_queue WORKERS runs the queued sweeps in WORKERS background
#                           workers and adds up their tallies; each worker
#                           has its own $FAULT_LOG and $FAULT_W (0, 1, ...)
#                           for the names of its files
#   fault_bad MSG           notes a failure of the current run
#   fault_fail_later MSG    notes a failure found after the sweeps
#   fault_summary           prints the reliability line; fails the test when
#                           a run went wrong
#   fault_one_error FILE    FILE holds exactly one line "perftop: ..."
#   fault_status_ok RC      RC is not a hang (timeout's 124, 137) nor death
#                           by a signal (>= 128); fault_bad otherwise

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FAULTSHIM=${FAULTSHIM:-$top_builddir/tests/.libs/libfaultshim.so}
[ -f "$FAULTSHIM" ] ||
    hard_error "no fault shim at $FAULTSHIM (make check builds tests/libfaultshim.la)"
FAULT_W=0
FAULT_LOG=$PT_WORK/fault.0.log
: >"$FAULT_LOG"

# A preloaded library comes before libasan in a sanitizer build.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

# Sanitizer builds (scripts/test's asan phase runs make check again) run
# fewer kinds of error per call: each run is slower there.  PT_FAULT_QUICK
# =1 or 0 decides instead.
FAULT_QUICK=${PT_FAULT_QUICK:-}
if [ -z "$FAULT_QUICK" ]; then
	FAULT_QUICK=0
	ldd "$PERFTOP" 2>/dev/null | grep -qE 'lib[at]san' && FAULT_QUICK=1
fi
[ "$FAULT_QUICK" = 1 ] && note "quick: fewer kinds of error per call (sanitizer build)"

FAULT_INJECTED=0
FAULT_FAILURES=0
FAULT_RUNS=0
declare -A FAULT_SITES=()
FAULT_BAD=()
FAULT_QUEUE=()

fault_env() {
	printf '%s\n' "LD_PRELOAD=$FAULTSHIM" "PT_FAULT=$1" "PT_FAULT_PROG=$2" \
	    "PT_FAULT_LOG=$FAULT_LOG"
}

fault_fired() { wc -l <"$FAULT_LOG"; }
fault_bad() { FAULT_BAD+=("$*"); }

fault_fail_later() {
	note "FAILED: $*"
	FAULT_FAILURES=$((FAULT_FAILURES + 1))
}

fault_status_ok() {
	case $1 in
	124 | 137) fault_bad "no end within 10 s (status $1)"; return 1 ;;
	esac
	[ "$1" -lt 128 ] || { fault_bad "killed by a signal (status $1)"; return 1; }
}

# (Its locals start with fs_: a run function sets globals of its own, and
# bash scopes dynamically.)
fault_sweep() {
	local fs_label=$1 fs_call=$2 fs_err=$3 fs_max=$4 fs_fn=$5
	local fs_n fs_fired fs_spec fs_misses=0 fs_last=0
	for ((fs_n = 1; fs_n <= fs_max; fs_n++)); do
		: >"$FAULT_LOG"
		FAULT_BAD=()
		FAULT_RUNS=$((FAULT_RUNS + 1))
		if [[ $fs_err == *+* ]]; then
			fs_spec=$fs_call:$fs_n:${fs_err%%+*},$fs_call:$((fs_n + 1)):${fs_err#*+}
		else
			fs_spec=$fs_call:$fs_n:$fs_err
		fi
		"$fs_fn" "$fs_spec"
		fs_fired=$(fault_fired)
		if [ "${#FAULT_BAD[@]}" -gt 0 ]; then
			FAULT_FAILURES=$((FAULT_FAILURES + 1))
			note "FAILED: $fs_label $fs_spec: ${FAULT_BAD[*]}"
			sed 's/^/    /' "$FAULT_LOG" >&2
		fi
		if [ "$fs_fired" -eq 0 ]; then
			fs_misses=$((fs_misses + 1))
			[ "$fs_misses" -lt 2 ] && continue
			break
		fi
		fs_misses=0
		fs_last=$fs_n
		FAULT_INJECTED=$((FAULT_INJECTED + fs_fired))
		FAULT_SITES[$fs_label/$fs_call:$fs_n]=1
	done
	note "$fs_label $fs_call $fs_err: faults fired up to call $fs_last"
}

fault_queue() { FAULT_QUEUE+=("$*"); }

# fault_errors FULL [QUICK]: the kinds of error to sweep, FULL or (in quick
# mode) QUICK, both space-separated lists.
fault_errors() {
	if [ "$FAULT_QUICK" = 1 ] && [ $# -ge 2 ]; then
		echo "$2"
	else
		echo "$1"
	fi
}

fault_run_queue() {
	local workers=$1 k i rc injected failures runs
	local -a pids=()
	for ((k = 0; k < workers; k++)); do
		(
			FAULT_W=$k
			FAULT_LOG=$PT_WORK/fault.$k.log
			FAULT_INJECTED=0 FAULT_FAILURES=0 FAULT_RUNS=0
			FAULT_SITES=()
			for ((i = k; i < ${#FAULT_QUEUE[@]}; i += workers)); do
				# shellcheck disable=SC2086
				fault_sweep ${FAULT_QUEUE[i]}
			done
			{
				echo "$FAULT_INJECTED $FAULT_FAILURES $FAULT_RUNS"
				printf '%s\n' "${!FAULT_SITES[@]}"
			} >"$PT_WORK/tally.$k"
		) &
		pids+=($!)
		PT_PIDS+=($!)
	done
	for ((k = 0; k < workers; k++)); do
		wait "${pids[k]}"
		rc=$?
		if [ "$rc" -ne 0 ] || [ ! -f "$PT_WORK/tally.$k" ]; then
			hard_error "fault worker $k ended with status $rc"
		fi
		read -r injected failures runs <"$PT_WORK/tally.$k"
		FAULT_INJECTED=$((FAULT_INJECTED + injected))
		FAULT_FAILURES=$((FAULT_FAILURES + failures))
		FAULT_RUNS=$((FAULT_RUNS + runs))
		while IFS= read -r i; do
			[ -n "$i" ] && FAULT_SITES[$i]=1
		done < <(tail -n +2 "$PT_WORK/tally.$k")
	done
	FAULT_QUEUE=()
}

fault_summary() {
	printf 'reliability: faults injected=%d sites=%d failures=%d (%d runs)\n' \
	    "$FAULT_INJECTED" "${#FAULT_SITES[@]}" "$FAULT_FAILURES" "$FAULT_RUNS"
	[ "$FAULT_FAILURES" -eq 0 ] || fail "$FAULT_FAILURES runs went wrong (see above)"
	[ "$FAULT_INJECTED" -gt 0 ] || fail "no fault was injected"
}

fault_one_error() {
	[ "$(wc -l <"$1")" -eq 1 ] && [ -z "$(tail -c 1 "$1")" ] &&
	    [[ $(cat "$1") == "perftop: "?* ]]
}
