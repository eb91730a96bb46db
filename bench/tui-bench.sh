#!/usr/bin/env bash
# bench/tui-bench.sh - what the live view costs and how fast it answers.
#
# Usage: bench/tui-bench.sh [--seconds N] [--sites N] [--samples N]
#
# Starts perftop-demo with 2000 synthetic operations (--sites), opens
# `perftop attach PID --interval 0.1` in a 120x40 tmux pane, and measures:
#
#   tui_cpu_percent       perftop's CPU time (utime + stime from
#                         /proc/PID/stat) over N seconds (default 10), as a
#                         percentage of one core, once the view's history
#                         for its 10 s window is full (from 12 s after it
#                         started).  Target: <= 5.
#   tui_cpu_percent_filling  the same over the view's first 10 s, while
#                         that history fills (informational).
#   tui_key_latency_ms    from tmux send-keys of a key that changes the
#                         header (2 and 9 alternately: sort by COUNT / by
#                         TOTAL) to the first capture-pane showing the
#                         change, polled every ~5 ms; the median of the
#                         samples (default 15), then min and max.  Includes
#                         tmux's own work.  Target: <= 100.
#   tmux_baseline_latency_ms  the same measurement on a pane running cat
#                         (text typed until the terminal echoes it): what
#                         tmux and the polling cost by themselves on this
#                         machine, now; tui_key_latency_over_baseline_ms is
#                         the difference of the medians (perftop's share).
#
# Prints `# ...` lines about the set-up, then `name: value` lines.  Exits 1
# if a target is missed, 0 otherwise.  Binaries: $PERFTOP and $PERFTOP_DEMO,
# or build/ (see tests/lib.sh).  Needs tmux; run it on an idle machine.
set -u

seconds=10
sites=2000
samples=15
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift ;;
	--sites) sites=$2; shift ;;
	--samples) samples=$2; shift ;;
	-h|--help) sed -n '2,29s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "tui-bench: unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done

# The test helpers give us the binaries, a private socket directory, a
# private tmux server and the cleanup.
. "$(dirname "$0")/../tests/tui-lib.sh"
need_cmd tmux

now_ns() { date +%s%N; }

start_demo --sites "$sites"
tui_attach 120 40 --interval 0.1
tui_wait 15 '^synthetic\.' || tui_fail "the synthetic operations do not show"
pid=$(tui_pid perftop)
[ -n "$pid" ] || tui_fail "cannot find the perftop process"
hz=$(getconf CLK_TCK)
ops=$(tmux_ capture-pane -p -t main | sed -n 2p | grep -o 'of [0-9]*' | head -n 1)
echo "# perftop pid $pid attached to perftop-demo pid $DEMO_PID with --sites $sites"
echo "# refresh 0.1 s; operations shown: ${ops#of }; $(nproc) CPUs; $(uname -sr)"
# ---- CPU ----------------------------------------------------------------------
# Two figures: the first 10 s, while the view fills its history of the
# "last N seconds" window (10 s by default: it allocates as it goes), and
# then the steady state, once that history is full (the main figure).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat"; }
cpu_pct() {	# cpu_pct SECONDS: perftop's CPU over that long, in %
	local t0 c0 c1 t1
	t0=$(now_ns)
	c0=$(cpu_ticks)
	sleep "$1"
	c1=$(cpu_ticks)
	t1=$(now_ns)
	awk -v c="$((c1 - c0))" -v hz="$hz" -v ns="$((t1 - t0))" \
	    'BEGIN { printf "%.2f", c / hz / (ns / 1e9) * 100 }'
}
echo "tui_cpu_percent_filling: $(cpu_pct 10)"
sleep 2
cpu=$(cpu_pct "$seconds")
echo "tui_cpu_percent: $cpu"

# ---- Key to screen ----------------------------------------------------------
# median_ms US...: the median, min and max of microsecond samples, in ms.
median_ms() {
	printf '%s\n' "$@" | sort -n | awk '
	    { v[NR] = $1 }
	    END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f %.1f\n", m / 1000, v[1] / 1000, v[NR] / 1000
	    }'
}

# key_latency SESSION LINE KEY TEXT: microseconds from sending KEY (-l:
# literally) until TEXT shows on line LINE (0-based; "" for any line) of
# SESSION's pane, polled with one tmux call every ~5 ms; "timeout" after
# 5 s.
key_latency() {
	local s=$1 line=$2 key=$3 text=$4 start range=()
	[ -n "$line" ] && range=(-S "$line" -E "$line")
	start=$(now_ns)
	tmux_ send-keys -t "$s" -l "$key"
	until [[ $(tmux_ capture-pane -p -t "$s" "${range[@]}") == *"$text"* ]]; do
		if [ $(($(now_ns) - start)) -gt 5000000000 ]; then
			echo timeout
			return
		fi
		sleep 0.005
	done
	echo $((($(now_ns) - start) / 1000))
}

# measure VAR SESSION LINE KEY TEXT: appends one sample to array VAR.
measure() {
	local v
	v=$(key_latency "$2" "$3" "$4" "$5")
	[ "$v" != timeout ] || tui_fail "key $4: '$5' did not show within 5 s"
	eval "$1+=($v)"
}

lat=()
want=COUNT
for ((i = 0; i < samples; i++)); do
	if [ "$want" = COUNT ]; then key=2; else key=9; fi
	measure lat main 1 "$key" "sort $want desc"
	if [ "$want" = COUNT ]; then want=TOTAL; else want=COUNT; fi
	sleep 0.2
done
read -r med min max < <(median_ms "${lat[@]}")
echo "tui_key_latency_ms: $med"
echo "tui_key_latency_ms_min: $min"
echo "tui_key_latency_ms_max: $max"

# The same measurement of a pane running cat (the terminal echoes what is
# typed): what tmux and the polling cost by themselves on this machine, now.
tmux_ new-session -d -s base -x 120 -y 40 cat
sleep 0.3
base=()
for ((i = 0; i < samples; i++)); do
	measure base base "" "k$i." "k$i."
	tmux_ send-keys -t base C-u
	sleep 0.2
done
read -r bmed bmin bmax < <(median_ms "${base[@]}")
echo "tmux_baseline_latency_ms: $bmed"
echo "tmux_baseline_latency_ms_min: $bmin"
echo "tmux_baseline_latency_ms_max: $bmax"
echo "tui_key_latency_over_baseline_ms: $(awk -v a="$med" -v b="$bmed" 'BEGIN { printf "%.1f", a - b }')"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"

tui_keys q
wait_until 5 tui_exited 0 || echo "# note: perftop did not exit with status 0"

awk -v b="$bmed" 'BEGIN { exit !(b > 50) }' &&
    echo "# note: tmux alone takes $bmed ms to show a key here: the machine is busy"
ok=0
awk -v c="$cpu" 'BEGIN { exit !(c <= 5) }' || { echo "# target missed: CPU $cpu% > 5%"; ok=1; }
awk -v l="$med" 'BEGIN { exit !(l <= 100) }' || { echo "# target missed: latency $med ms > 100 ms"; ok=1; }
[ "$ok" -eq 0 ] && echo "# targets met (CPU <= 5 %, latency <= 100 ms)"
exit "$ok"
