# shellcheck shell=bash disable=SC2034  # sets scripts/test's variables
# test-background.sh - what scripts/test runs in the background, sourced by
# it (its variables and functions are scripts/test's): the fuzz targets
# (built, started, raised in priority, counted) and the builds of the later
# phases' trees.  Not a program of its own.

# ----- fuzz ----------------------------------------------------------------
# Every libFuzzer target of scripts/fuzz, when clang can build them, for
# FUZZ_RUNS inputs (default 1,000,000; fuzz-agent FUZZ_AGENT_RUNS, the same
# by default) within FUZZ_SECONDS (default 720, a cap that keeps CI
# bounded: on 2 cores a target alone needs 1 to 4 minutes), and no longer
# than the other phases of the run: those still going when the last phase
# ends are stopped (SIGINT to the fuzzer), once they have run
# FUZZ_MIN_SECONDS (default 60, the least the issue asks for).  The run
# then takes as long as its phases, not as long as its slowest fuzzer
# alone on one CPU (which added 2 to 3 minutes to CI).  With --long, for
# FUZZ_SECONDS (default 3600) each, with no input limit and no early stop.
# One test per target, passed when it ran every input, or was stopped
# after FUZZ_MIN_SECONDS, without a crash, a hang (30 s for one input), a
# sanitizer report or going over 512 MiB of memory; stopping at the time
# cap short of the inputs fails.
FUZZ_TARGETS=(fuzz-wire fuzz-agent fuzz-record)
declare -A fuzz_pid=() fuzz_want=() fuzz_started=()
fuzz_on=
fuzz_t0=0
fuzz_build_seconds=0
fuzz_build_failed=

# fuzz_wanted: whether this run fuzzes (clang is needed).
fuzz_wanted() {
	[ -n "${want[fuzz]:-}" ] && [ "${PT_SKIP_FUZZ:-0}" != 1 ] &&
	    command -v clang >/dev/null 2>&1
}

# fuzz_setup: the limits of this run, and the targets built (unless the
# prebuild built them); 1 when there is nothing to start.
fuzz_setup() {
	local flog

	fuzz_wanted || return 1
	[ -n "$fuzz_build_failed" ] && return 1
	[ -n "$fuzz_on" ] && return 0
	fuzz_on=1
	if [ "${PERFTOP_LONG:-0}" = 1 ]; then
		fuzz_runs=
		fuzz_seconds=${FUZZ_SECONDS:-3600}
	else
		fuzz_runs=${FUZZ_RUNS:-1000000}
		fuzz_seconds=${FUZZ_SECONDS:-720}
	fi
	fuzz_t0=$SECONDS
	flog=$PT_ROOT/build/fuzz-build.log
	fuzzbuild_wait
	if [ -f "$PT_ROOT/build-fuzz/.prebuilt" ]; then
		pt_log "scripts/fuzz: the targets were built in the background"
		rm -f "$PT_ROOT/build-fuzz/.prebuilt"
	else
		pt_log "scripts/fuzz --build-only"
		if ! "$PT_ROOT/scripts/fuzz" --build-only </dev/null >"$flog" 2>&1; then
			fuzz_build_failed=$flog
			return 1
		fi
	fi
	fuzz_build_seconds=$((SECONDS - fuzz_t0))
	return 0
}

# fuzz_launch TARGET NICE: starts one target in the background (once).
fuzz_launch() {
	local t=$1 prio=$2 flog=$PT_ROOT/build/$1.log

	[ -z "${fuzz_pid[$t]:-}" ] || return 0
	fuzz_want[$t]=$fuzz_runs
	if [ "$t" = fuzz-agent ] && [ -n "$fuzz_runs" ]; then
		fuzz_want[$t]=${FUZZ_AGENT_RUNS:-$fuzz_runs}
	fi
	pt_log "scripts/fuzz --target $t (${fuzz_want[$t]:-no} input limit, $fuzz_seconds s at most, nice $prio), in the background"
	FUZZ_RUNS=${fuzz_want[$t]} FUZZ_SECONDS=$fuzz_seconds \
	    nice -n "$prio" "$PT_ROOT/scripts/fuzz" --no-build \
	    --target "$t" </dev/null >"$flog" 2>&1 &
	fuzz_pid[$t]=$!
	fuzz_started[$t]=$SECONDS
}

# fuzz_start: starts the targets not started yet, side by side in the
# background (the phase takes about what the slowest takes, not the sum).
# The run is CPU-bound from the main phase's make check to its end.  The
# targets start as soon as they are built, beside the soak (see the soak
# phase): fuzz-agent (a connection to the agent thread per input, waiting
# as much as it computes) at full priority, fuzz-wire and fuzz-record at
# nice 10, so that the phases go first.  What was tried: fuzz-record at
# full priority slowed every phase from the soak on (881 s in a slow
# hour); started at nice 10 during the main phase's make check, it lived
# longer on less and stopped at the 720 s cap (757,070 inputs).  At nice
# 10 from the soak on, it used to run alone for 2 to 3 minutes after the
# last phase; fuzz_stop now ends it with the phases.  fuzz_boost raises the ones at nice 10 where that is allowed;
# fuzz_finish counts them all.  fuzz_start starts those not started yet.
fuzz_start() {
	local t

	fuzz_setup || return 0
	for t in "${FUZZ_TARGETS[@]}"; do
		case $t in
		fuzz-agent)	fuzz_launch "$t" 0 ;;	# waits as much as it computes
		*)		fuzz_launch "$t" 10 ;;
		esac
	done
}

# fuzz_boost: the targets at nice 10 to full priority, for the rest of the
# run.  Raising a priority takes CAP_SYS_NICE; without it, it stays at
# nice 10.
fuzz_boost() {
	local t p prio

	[ -n "$fuzz_on" ] || return 0
	for t in "${FUZZ_TARGETS[@]}"; do
		[ -n "${fuzz_pid[$t]:-}" ] || continue
		prio=0
		for p in $(proc_tree "${fuzz_pid[$t]}"); do
			# (Short-lived helpers may be gone already.)
			renice -n "$prio" -p "$p" >/dev/null 2>&1 ||
			    [ "$p" != "${fuzz_pid[$t]}" ] ||
			    pt_log "renice $t to $prio: not allowed; it stays at nice 10"
		done
	done
}

# proc_tree PID: PID and its descendants, one a line.
proc_tree() {
	local c

	echo "$1"
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		proc_tree "$c"
	done
}

# fuzz_stop: stops the targets still running (see above), after
# FUZZ_MIN_SECONDS from their start; not in a --long run, nor in one with
# no other phase (--only fuzz), which runs every input.
fuzz_stop() {
	local t p left

	[ "${PERFTOP_LONG:-0}" != 1 ] || return 0
	[ -n "${want[main]:-}${want[asan]:-}${want[valgrind]:-}${want[tsan]:-}" ] ||
	    return 0
	for t in "${FUZZ_TARGETS[@]}"; do
		[ -n "${fuzz_pid[$t]:-}" ] || continue
		kill -0 "${fuzz_pid[$t]}" 2>/dev/null || continue
		left=$((fuzz_started[$t] + ${FUZZ_MIN_SECONDS:-60} - SECONDS))
		[ "$left" -le 0 ] || sleep "$left"
		for p in $(proc_tree "${fuzz_pid[$t]}"); do
			if [ "$(ps -o comm= -p "$p" 2>/dev/null)" = "$t" ]; then
				pt_log "stopping $t: the other phases are done"
				kill -INT "$p" 2>/dev/null || true
			fi
		done
	done
}

# fuzz_finish: waits for the targets and counts them (phase "fuzz").
fuzz_finish() {
	local t flog summary runs what secs

	[ -n "$fuzz_on" ] || return 0
	fuzz_stop
	fuzz_on=
	phase_begin fuzz
	prefix=
	phase_start=$fuzz_t0
	build_seconds=$fuzz_build_seconds
	if [ -n "$fuzz_build_failed" ]; then
		result FAIL "fuzz targets build" "$fuzz_build_failed"
		phase_end
		return 0
	fi
	for t in "${FUZZ_TARGETS[@]}"; do
		flog=$PT_ROOT/build/$t.log
		if ! wait "${fuzz_pid[$t]}"; then
			result FAIL "$t" "$flog"
			continue
		fi
		# "scripts/fuzz: NAME: N inputs in S s (R/s), peak RSS M MiB: no crash"
		summary=$(grep "^scripts/fuzz: $t: " "$flog" | tail -n 1)
		runs=$(awk '{ print $3 }' <<<"$summary")
		what=${summary#"scripts/fuzz: $t: "}
		what=${what%": no crash"*}
		secs=$(awk '{ print $6 }' <<<"$summary")
		if [ "${summary% (stopped)}" != "$summary" ] &&
		    [ "${secs:-0}" -ge "${FUZZ_MIN_SECONDS:-60}" ]; then
			result PASS "$t ($what, stopped when the other phases were done)"
		elif [ -n "${fuzz_want[$t]}" ] && [ "${runs:-0}" -lt "${fuzz_want[$t]}" ]; then
			result FAIL "$t: $what, short of ${fuzz_want[$t]} inputs at the $fuzz_seconds s cap" "$flog"
		else
			result PASS "$t ($what)"
		fi
	done
	phase_end
}

# ----- the later phases' builds, beside make check and the soak -------------
# make check leaves a quarter of the CPUs idle: the sanitizer and fuzz trees
# are built beside it (at nice 19, then at full priority from the soak on,
# which keeps the CPUs busy too) rather than each at the start of its
# phase.  The sanitizer trees are configured with --disable-static: libtool
# would compile every library file twice (PIC and not), and no test needs
# the static library.  Each phase still runs its
# make afterwards (then a no-op) and counts a failed build there; this
# background build only writes build/prebuild.log.
TSAN_TESTS=(tests/test-core tests/test-agent tests/test-snapcache)
prebuild_pid=
# prebuild_start [NICE]: starts it (once), at that nice level.
prebuild_start() {
	[ "${PT_PREBUILD:-1}" = 1 ] || return 0
	[ -z "$prebuild_pid" ] || return 0
	(
		exec </dev/null >"$PT_ROOT/build/prebuild.log" 2>&1
		renice -n "${1:-0}" -p "$BASHPID" >/dev/null 2>&1 || true
		if [ -n "${want[asan]:-}" ]; then
			configure_and_make build-asan all check-programs -- \
			    "${PT_CONFIGURE_ARGS[@]}" --enable-asan --disable-static
		fi
		if [ -n "${want[tsan]:-}" ]; then
			configure_and_make build-tsan "${TSAN_TESTS[@]}" \
			    tests/canary -- "${PT_CONFIGURE_ARGS[@]}" --enable-tsan --disable-static
		fi
		true
	) &
	prebuild_pid=$!
}
# prebuild_boost: the background build, if still going, at full priority
# (taking root, as in CI; otherwise it stays at its nice level).
prebuild_boost() {
	local p

	[ -n "$prebuild_pid" ] || return 0
	for p in $(proc_tree "$prebuild_pid"); do
		renice -n 0 -p "$p" >/dev/null 2>&1 || true
	done
}
# fuzzbuild_start: the fuzz targets are built from the start of the run, at
# nice 10, beside autoreconf and configure, which keep one CPU busy at most
# (they need no configured tree); the targets start once they are built.
fuzzbuild_pid=
fuzzbuild_start() {
	[ "${PT_PREBUILD:-1}" = 1 ] || return 0
	[ -z "$fuzzbuild_pid" ] || return 0
	fuzz_wanted || return 0
	mkdir -p "$PT_ROOT/build-fuzz" || return 0
	rm -f "$PT_ROOT/build-fuzz/.prebuilt"
	(
		exec </dev/null >"$PT_ROOT/build-fuzz/prebuild.log" 2>&1
		renice -n 10 -p "$BASHPID" >/dev/null 2>&1 || true
		pt_log "scripts/fuzz --build-only"
		"$PT_ROOT/scripts/fuzz" --build-only &&
		    touch "$PT_ROOT/build-fuzz/.prebuilt"
	) &
	fuzzbuild_pid=$!
}
fuzzbuild_wait() {
	[ -n "$fuzzbuild_pid" ] || return 0
	wait "$fuzzbuild_pid"
	fuzzbuild_pid=
}
# prebuild_wait: the background build is over (before a phase's own make).
prebuild_wait() {
	[ -n "$prebuild_pid" ] || return 0
	wait "$prebuild_pid"
	prebuild_pid=
}
