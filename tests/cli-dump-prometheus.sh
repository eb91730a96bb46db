#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-dump-prometheus.sh - `perftop dump PID --format prometheus` is valid
# Prometheus text format 0.0.4 (promtool check metrics passes, lint
# included): operations as a summary in seconds, counters as _total, memory
# gauges in bytes.
. "$(dirname "$0")/lib.sh"
need_cmd promtool

start_demo
pid=$DEMO_PID
has_game() {
	"$PERFTOP" dump "$pid" --format prometheus >"$PT_WORK/m.txt" 2>/dev/null &&
	grep -q 'counter="games_played"' "$PT_WORK/m.txt"
}
wait_until 15 has_game || fail "no games_played counter in the metrics"

promtool check metrics <"$PT_WORK/m.txt" >"$PT_WORK/promtool.out" 2>&1 || {
	cat "$PT_WORK/promtool.out" >&2
	fail "promtool check metrics failed"
}

expect_line() {
	grep -Eq -e "$1" "$PT_WORK/m.txt" || {
		cat "$PT_WORK/m.txt" >&2
		fail "no line matching: $1"
	}
}
num='[-+]?([0-9]*\.)?[0-9]+([eE][-+]?[0-9]+)?'
expect_line '^# TYPE perftop_operation_duration_seconds summary$'
for q in 0.5 0.9 0.99 0.999; do
	expect_line "^perftop_operation_duration_seconds\\{operation=\"training_step\",quantile=\"$q\"\\} $num\$"
done
expect_line "^perftop_operation_duration_seconds_sum\\{operation=\"training_step\"\\} $num\$"
expect_line '^perftop_operation_duration_seconds_count\{operation="x"\} [0-9]+$'
expect_line '^# TYPE perftop_events_total counter$'
expect_line '^perftop_events_total\{counter="games_played"\} [0-9]+$'
expect_line '^perftop_events_total\{counter="x_count"\} [0-9]+$'
for g in memory_rss_bytes memory_peak_rss_bytes memory_heap_bytes reset_epoch uptime_seconds; do
	expect_line "^# TYPE perftop_$g gauge\$"
	expect_line "^perftop_$g $num\$"
done
# Every sample has HELP and TYPE.
while read -r fam; do
	grep -q "^# HELP $fam " "$PT_WORK/m.txt" || fail "no HELP for $fam"
done < <(grep -v '^#' "$PT_WORK/m.txt" | sed -E 's/[{ ].*//; s/_(sum|count)$//' | sort -u)
pass
