#!/usr/bin/env bash
# bench/agent-bench.sh - what serving viewers costs an instrumented program,
# measured from outside with separate processes.
#
# Usage: bench/agent-bench.sh [--quick] [--only demo|stopped] [BUILDDIR]
#
# BUILDDIR (default $top_builddir, else as tests/lib.sh finds it) holds
# perftop, perftop-demo and bench/pt-agent-bench.  Every process meets in a
# private socket directory (PERFTOP_SOCKET_DIR).  Figures:
#
#   dump_ms             wall time of `perftop dump PID` (the real binary, a
#                       new process each time) against a running
#                       perftop-demo: the median of 20 runs.  Target <= 20.
#   dump_json_ms        the same with --format json.  Target <= 20.
#   agent_cpu_pct_10hz  CPU time of the demo's agent thread (the thread
#                       named perftop-agent; schedstat, else utime + stime)
#                       while `perftop record PID -o /dev/null --interval
#                       0.1` runs, over 10 s, in % of one core.  Target <= 1.
#   stopped_viewer_throughput_ratio  events/s of a one-thread tight scope
#                       loop (pt-agent-bench --target) while a `perftop
#                       record --interval 0.01` viewer is stopped (SIGSTOP)
#                       for 10 s, over events/s with no viewer; phases
#                       alternate (3 rounds of 10 s without, 10 s stopped,
#                       the target's RSS read every 0.25 s in both),
#                       ratio of the medians.  Target >= 0.98.
#   stopped_viewer_agent_rss_kib  the most the target's resident memory
#                       grew during a stop (_peak_kib: over its RSS before
#                       the viewer connected); must stay within the
#                       per-viewer cap of unsent bytes (PT__VIEWER_BUF_MAX,
#                       8 MiB).
#   stopped_viewer_dropped  whether the agent dropped the stopped viewer.
#
# and informational ones (see bench/README.md).  Prints `# ...` comment
# lines and `name: value` lines; `# target ...` lines say whether each
# target was met.  Exits 0 when everything was measured, whatever the
# figures.  --quick: short phases and few runs, a smoke test.  --only demo:
# the figures measured on perftop-demo; --only stopped: the stopped viewer.
# Run it on an idle machine; it takes about 2 minutes.
set -u

quick=0
only=
builddir=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--only)
		case ${2:-} in
		demo|stopped) only=$2; shift ;;
		*) echo "agent-bench: --only demo or --only stopped" >&2; exit 2 ;;
		esac ;;
	-h|--help) sed -n '2,40s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "agent-bench: unknown argument: $1" >&2; exit 2 ;;
	*) builddir=$1 ;;
	esac
	shift
done
if [ -n "$builddir" ]; then
	top_builddir=$(cd "$builddir" && pwd) || exit 2
	PERFTOP=$top_builddir/perftop
	PERFTOP_DEMO=$top_builddir/perftop-demo
	export top_builddir PERFTOP PERFTOP_DEMO
fi

# The test helpers give us the binaries, a private socket directory, a
# work directory, start_demo, start_bg, stop_pid and the cleanup at exit.
. "$(dirname "$0")/../tests/lib.sh"
PT_TEST_NAME=agent-bench
AGENT_BENCH=${AGENT_BENCH:-$top_builddir/bench/pt-agent-bench}
[ -x "$AGENT_BENCH" ] || hard_error "pt-agent-bench not found at $AGENT_BENCH (make bench/pt-agent-bench)"

if [ "$quick" -eq 1 ]; then
	dump_runs=5 cpu_seconds=2 rounds=1 free_s=1 stop_s=2
else
	dump_runs=20 cpu_seconds=10 rounds=3 free_s=10 stop_s=10
fi
hz=$(getconf CLK_TCK)
missed=()

# ---- helpers ------------------------------------------------------------------

now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# median_ms US...: "median min max" of microsecond samples, in ms.
median_ms() {
	printf '%s\n' "$@" | sort -n | awk '
	    { v[NR] = $1 }
	    END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f %.2f %.2f\n", m / 1000, v[1] / 1000, v[NR] / 1000
	    }'
}

# median V...: the median of numbers.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
	    END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# calc EXPR [awk -v assignments...]: prints the value of an awk expression.
calc() {
	local e=$1
	shift
	awk "$@" "BEGIN { print $e }"
}

# check NAME VALUE OP TARGET UNIT: a "# target ..." line; remembers misses.
check_target() {
	local name=$1 v=$2 op=$3 t=$4 unit=$5
	if awk -v v="$v" -v t="$t" "BEGIN { exit !(v $op t) }"; then
		echo "# target met $name: $v $unit, target $op $t $unit"
	else
		echo "# target missed $name: $v $unit, target $op $t $unit"
		missed+=("$name")
	fi
}

# find_thread PID NAME: the TID of PID's thread called NAME.
find_thread() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; then
			echo "${t##*/}"
			return 0
		fi
	done
	return 1
}

# thread_cpu_ns PID TID: CPU time of one thread, in ns.
thread_cpu_ns() {
	local f=/proc/$1/task/$2
	if [ -r "$f/schedstat" ]; then
		cut -d' ' -f1 "$f/schedstat"
	else
		awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e9 / hz }' "$f/stat"
	fi
}

# has_viewer PID: PID's agent has a connection besides its listening socket.
has_viewer() { [ "$(sockets "$1")" -ge 2 ]; }

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# sockets PID: how many sockets PID has open (the agent's listening socket
# and one per viewer).
sockets() {
	local n=0 f l
	for f in /proc/"$1"/fd/*; do
		l=$(readlink "$f" 2>/dev/null) || continue
		case $l in socket:*) n=$((n + 1)) ;; esac
	done
	echo "$n"
}

echo "# agent-bench: $("$PERFTOP" --version 2>/dev/null | head -n 1);" \
    "$(nproc) CPUs; $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$quick" -eq 1 ] && echo "# --quick: a smoke test, not a measurement"

# ---- dump latency -------------------------------------------------------------

if [ "$only" != stopped ]; then

start_demo
sleep 2		# every operation has events; the tick rate has settled
demo=$DEMO_PID
ops=$("$PERFTOP" dump "$demo" --format json | jq '.operations | length' 2>/dev/null || echo '?')
echo "# perftop-demo pid $demo (default options: $ops operations); $dump_runs runs each"

# time_runs N CMD...: runs CMD once, then N times timed; sets RUNS to
# "median min max" of the wall times, in ms.
time_runs() {
	local n=$1 i t0 t1 us=()
	shift
	"$@" >/dev/null || fail "$* failed"	# warm-up
	for ((i = 0; i < n; i++)); do
		t0=$(now_us)
		"$@" >/dev/null || fail "$* failed"
		t1=$(now_us)
		us+=($((t1 - t0)))
	done
	RUNS=$(median_ms "${us[@]}")
}

time_runs "$dump_runs" "$PERFTOP" dump "$demo"
read -r dump_ms dump_min dump_max <<<"$RUNS"
time_runs "$dump_runs" "$PERFTOP" dump "$demo" --format json
read -r json_ms json_min json_max <<<"$RUNS"
time_runs "$dump_runs" "$PERFTOP" --version
read -r ver_ms _ _ <<<"$RUNS"
echo "dump_ms: $dump_ms"
echo "dump_ms_min: $dump_min"
echo "dump_ms_max: $dump_max"
echo "dump_json_ms: $json_ms"
echo "dump_json_ms_max: $json_max"
echo "perftop_version_ms: $ver_ms"

# ---- bytes on the wire, live ----------------------------------------------------

"$AGENT_BENCH" --watch "$demo" --interval 100 --count $((quick ? 10 : 50)) ||
    fail "pt-agent-bench --watch failed"

# ---- agent CPU at 10 Hz ---------------------------------------------------------

# agent_cpu PID SECONDS: sets CPU to "AGENT_PCT VIEWER_PCT", the CPU of
# PID's agent thread and of the viewer while a 10 Hz record runs.
agent_cpu() {
	local pid=$1 secs=$2 tid rec a0 a1 v0 v1 t0 t1
	tid=$(find_thread "$pid" perftop-agent) || fail "no perftop-agent thread in $pid"
	start_bg "$PERFTOP" record "$pid" -o /dev/null --interval 0.1 2>"$PT_WORK/record.err"
	rec=$BG_PID
	sleep 1		# connected, the first (full) snapshot sent
	pt_alive "$rec" || fail "perftop record exited: $(cat "$PT_WORK/record.err")"
	a0=$(thread_cpu_ns "$pid" "$tid"); v0=$(thread_cpu_ns "$rec" "$rec"); t0=$(now_us)
	sleep "$secs"
	a1=$(thread_cpu_ns "$pid" "$tid"); v1=$(thread_cpu_ns "$rec" "$rec"); t1=$(now_us)
	pt_alive "$rec" || fail "perftop record exited: $(cat "$PT_WORK/record.err")"
	stop_pid "$rec" INT
	CPU=$(calc 'sprintf("%.3f %.2f", (a1 - a0) / 10 / us, (v1 - v0) / 10 / us)' \
	    -v a0="$a0" -v a1="$a1" -v v0="$v0" -v v1="$v1" -v us=$((t1 - t0)))
}

agent_cpu "$demo" "$cpu_seconds"
read -r cpu_pct viewer_pct <<<"$CPU"
echo "agent_cpu_pct_10hz: $cpu_pct"
echo "viewer_cpu_pct_10hz: $viewer_pct"
stop_pid "$demo"

# The same with 1,000 more operations (--sites 1000).
start_demo --sites 1000
sleep 2
time_runs "$dump_runs" "$PERFTOP" dump "$DEMO_PID"
read -r dump_1k _ _ <<<"$RUNS"
time_runs "$dump_runs" "$PERFTOP" dump "$DEMO_PID" --format json
read -r json_1k _ _ <<<"$RUNS"
agent_cpu "$DEMO_PID" "$cpu_seconds"
read -r cpu_1k viewer_1k <<<"$CPU"
echo "# perftop-demo --sites 1000 (pid $DEMO_PID)"
echo "dump_ms_1000_sites: $dump_1k"
echo "dump_json_ms_1000_sites: $json_1k"
echo "agent_cpu_pct_10hz_1000_sites: $cpu_1k"
echo "viewer_cpu_pct_10hz_1000_sites: $viewer_1k"
stop_pid "$DEMO_PID"

fi

# ---- a stopped viewer ---------------------------------------------------------

# stopped_viewer OPS ROUNDS: alternates FREE_S s without a viewer and
# STOP_S s with a stopped `perftop record --interval 0.01` against a
# `pt-agent-bench --target --ops OPS`; sets SV_NONE, SV_STOPPED (median
# events/s), SV_RATIO, SV_RSS (KiB, the largest growth of the target's
# RSS during a stop), SV_PEAK (the largest growth over its RSS before the
# viewer connected), SV_AFTER (what is left of it once the viewer is
# gone), SV_DROPPED (yes/no) and SV_AGENT_PCT (the agent's CPU during the
# stops).
stopped_viewer() {
	local nops=$1 nrounds=$2 r k tgt rec n0 t0 base rss0 rss peak s0 s1 a0 a1 tid
	local none=() stopped=() agent=() rate after
	SV_RSS=0 SV_PEAK=0 SV_AFTER=0 SV_DROPPED=no
	coproc TGT { exec "$AGENT_BENCH" --target --ops "$nops"; }
	tgt=$TGT_PID
	PT_PIDS+=("$tgt")
	wait_until 10 test -S "$PERFTOP_SOCKET_DIR/$tgt.sock" ||
	    fail "the target (pid $tgt) does not serve"
	tid=$(find_thread "$tgt" perftop-agent) || fail "no agent thread in the target"
	# mark: the target's clock (ns) and its events so far, in MARK.
	mark() {
		echo >&"${TGT[1]}"
		read -r -t 5 -u "${TGT[0]}" MARK_NS MARK_EV || fail "the target does not answer"
	}
	sleep 1		# warm-up
	for ((r = 1; r <= nrounds; r++)); do
		# Without a viewer, the same sampling as during the stop: on
		# two CPUs, the awk processes that read the RSS cost the loop
		# a few per cent, which must weigh on both sides.
		mark; t0=$MARK_NS n0=$MARK_EV
		for ((k = 0; k < free_s * 4; k++)); do
			sleep 0.25
			rss=$(rss_kib "$tgt")
		done
		mark
		rate=$(calc '(n1 - n0) / (t1 - t0) * 1e9' -v n0="$n0" -v n1="$MARK_EV" -v t0="$t0" -v t1="$MARK_NS")
		none+=("$rate")

		base=$(rss_kib "$tgt")
		start_bg "$PERFTOP" record "$tgt" -o /dev/null --interval 0.01 2>"$PT_WORK/stopped.err"
		rec=$BG_PID
		wait_until 5 has_viewer "$tgt" || fail "the viewer did not connect"
		sleep 0.5
		kill -STOP "$rec"
		s0=$(sockets "$tgt"); rss0=$(rss_kib "$tgt"); a0=$(thread_cpu_ns "$tgt" "$tid")
		peak=$rss0
		mark; t0=$MARK_NS n0=$MARK_EV
		for ((k = 0; k < stop_s * 4; k++)); do
			sleep 0.25
			rss=$(rss_kib "$tgt")
			[ "$rss" -gt "$peak" ] && peak=$rss
		done
		[ $((peak - rss0)) -gt "$SV_RSS" ] && SV_RSS=$((peak - rss0))
		[ $((peak - base)) -gt "$SV_PEAK" ] && SV_PEAK=$((peak - base))
		mark
		s1=$(sockets "$tgt"); a1=$(thread_cpu_ns "$tgt" "$tid")
		rate=$(calc '(n1 - n0) / (t1 - t0) * 1e9' -v n0="$n0" -v n1="$MARK_EV" -v t0="$t0" -v t1="$MARK_NS")
		stopped+=("$rate")
		agent+=("$(calc '(a1 - a0) / (t1 - t0) * 100' -v a0="$a0" -v a1="$a1" -v t0="$t0" -v t1="$MARK_NS")")
		kill -CONT "$rec"
		sleep 0.5
		local fate=kept
		if [ "$s1" -lt "$s0" ]; then
			SV_DROPPED=yes fate=dropped
		fi
		stop_pid "$rec" INT
		grep -q 'stopped serving' "$PT_WORK/stopped.err" && fate="$fate (the viewer saw it close)"
		sleep 0.5
		after=$(($(rss_kib "$tgt") - base))
		[ "$after" -gt "$SV_AFTER" ] && SV_AFTER=$after
		echo "# round $r: no viewer $(calc 'sprintf("%.2f", r / 1e6)' -v r="${none[-1]}") M events/s," \
		    "stopped viewer $(calc 'sprintf("%.2f", r / 1e6)' -v r="$rate") M events/s;" \
		    "rss before the viewer $base KiB, at the stop +$((rss0 - base))," \
		    "at most +$((peak - base)), after it +$after; viewer $fate"
	done
	eval "exec ${TGT[1]}>&-"
	wait "$tgt" 2>/dev/null
	SV_NONE=$(median "${none[@]}")
	SV_STOPPED=$(median "${stopped[@]}")
	SV_RATIO=$(calc 'sprintf("%.4f", s / n)' -v s="$SV_STOPPED" -v n="$SV_NONE")
	SV_AGENT_PCT=$(calc 'sprintf("%.2f", a)' -v a="$(median "${agent[@]}")")
}

if [ "$only" != demo ]; then
echo "# stopped viewer: pt-agent-bench --target (1 thread, 1 operation);" \
    "$rounds x ($free_s s no viewer, $stop_s s viewer stopped)"
stopped_viewer 1 "$rounds"
echo "stopped_viewer_events_per_s_none: $(calc 'sprintf("%.0f", v)' -v v="$SV_NONE")"
echo "stopped_viewer_events_per_s_stopped: $(calc 'sprintf("%.0f", v)' -v v="$SV_STOPPED")"
echo "stopped_viewer_throughput_ratio: $SV_RATIO"
echo "stopped_viewer_agent_rss_kib: $SV_RSS"
echo "stopped_viewer_agent_rss_peak_kib: $SV_PEAK"
echo "stopped_viewer_agent_rss_after_kib: $SV_AFTER"
echo "stopped_viewer_dropped: $SV_DROPPED"
echo "stopped_viewer_agent_cpu_pct: $SV_AGENT_PCT"
ratio=$SV_RATIO rss=$SV_RSS peak=$SV_PEAK

echo "# the same with 1,000 operations (the loop cycles through them): big" \
    "deltas, so the viewer's buffer reaches its cap; 1 x ($free_s s, $stop_s s)"
stopped_viewer 1000 1
echo "stopped_viewer_1000ops_throughput_ratio: $SV_RATIO"
echo "stopped_viewer_1000ops_agent_rss_kib: $SV_RSS"
echo "stopped_viewer_1000ops_agent_rss_peak_kib: $SV_PEAK"
echo "stopped_viewer_1000ops_agent_rss_after_kib: $SV_AFTER"
echo "stopped_viewer_1000ops_dropped: $SV_DROPPED"
echo "stopped_viewer_1000ops_agent_cpu_pct: $SV_AGENT_PCT"
fi
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- targets ------------------------------------------------------------------

if [ "$only" != stopped ]; then
	check_target dump_ms "$dump_ms" '<=' 20 ms
	check_target dump_json_ms "$json_ms" '<=' 20 ms
	check_target agent_cpu_pct_10hz "$cpu_pct" '<=' 1 '%'
fi
if [ "$only" != demo ]; then
	check_target stopped_viewer_throughput_ratio "$ratio" '>=' 0.98 ''
	check_target stopped_viewer_agent_rss_kib "$rss" '<=' 8192 KiB
	check_target stopped_viewer_agent_rss_peak_kib "$peak" '<=' 8192 KiB
	check_target stopped_viewer_1000ops_agent_rss_kib "$SV_RSS" '<=' 8192 KiB
	check_target stopped_viewer_1000ops_agent_rss_peak_kib "$SV_PEAK" '<=' 8192 KiB
fi
[ "${#missed[@]}" -eq 0 ] && echo "# every target met"
exit 0
