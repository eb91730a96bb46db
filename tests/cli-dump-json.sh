#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-dump-json.sh - `perftop dump PID --format json` prints one snapshot
# object (SPEC section 6) with operations and counters in separate arrays,
# names unchanged (operation "x" and counter "x_count" side by side); counts
# grow between two dumps; min <= p50 <= p90 <= p99 <= p99.9 <= max for every
# operation that ran; the default text format shows the same names.
. "$(dirname "$0")/lib.sh"
need_cmd jq

start_demo
pid=$DEMO_PID

# Wait until the demo has run a training step, an x and a whole game.
have_all() {
	"$PERFTOP" dump "$pid" --format json >"$PT_WORK/d0.json" 2>"$PT_WORK/d0.err" &&
	jq -e '([.operations[] | select(.count > 0) | .name] | index("training_step") and index("x"))
	    and ([.counters[] | .name] | index("games_played") and index("x_count"))' \
	    "$PT_WORK/d0.json" >/dev/null
}
wait_until 15 have_all || {
	cat "$PT_WORK/d0.err" >&2
	fail "no snapshot with training_step, x, games_played and x_count"
}

"$PERFTOP" dump "$pid" --format json >"$PT_WORK/d1.json" || fail "dump failed"
[ "$(tail -c 1 "$PT_WORK/d1.json" | od -An -c | tr -d ' ')" = '\n' ] ||
    fail "JSON output does not end with a newline"
# Exactly one JSON value.
n=$(jq -s length "$PT_WORK/d1.json") || fail "dump output is not JSON"
[ "$n" -eq 1 ] || fail "$n JSON values, not one"

jq_checks "$PT_WORK/d1.json" \
    "format and version" '.format == "perftop-snapshot" and .version == 1' \
    "pid" ".pid == $pid" \
    "process name" '(.process | type) == "string" and (.process | test("perftop-demo"))' \
    "time is RFC 3339 UTC with milliseconds" \
	'.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")' \
    "uptime_s" '(.uptime_s | type) == "number" and .uptime_s > 0' \
    "reset_epoch" '(.reset_epoch | type) == "number" and .reset_epoch >= 0' \
    "memory" '.memory | (.rss_bytes > 0) and (.peak_rss_bytes >= .rss_bytes) and ((.heap_bytes | type) == "number")' \
    "arrays" '(.operations | type) == "array" and (.counters | type) == "array"' \
    "operation fields" \
	'all(.operations[]; keys == (["name","count","total_ns","min_ns","max_ns","mean_ns","p50_ns","p90_ns","p99_ns","p999_ns"] | sort))' \
    "counter fields" 'all(.counters[]; keys == ["name","value"])' \
    "names are strings" 'all(.operations[], .counters[]; (.name | type) == "string")' \
    "operations training_step, x, game.move" \
	'[.operations[].name] | index("training_step") and index("x") and index("game.move")' \
    "counters games_played, x_count, training_steps_completed" \
	'[.counters[].name] | index("games_played") and index("x_count") and index("training_steps_completed")' \
    "no counter among the operations" \
	'[.operations[].name] | (index("games_played") or index("x_count")) | not' \
    "no operation among the counters" \
	'[.counters[].name] | (index("training_step") or index("x")) | not' \
    "operation names unique" '[.operations[].name] | length == (unique | length)' \
    "counter names unique" '[.counters[].name] | length == (unique | length)' \
    "min <= p50 <= p90 <= p99 <= p99.9 <= max, min <= mean <= max" \
	'all(.operations[] | select(.count > 0);
	    .min_ns <= .p50_ns and .p50_ns <= .p90_ns and .p90_ns <= .p99_ns and
	    .p99_ns <= .p999_ns and .p999_ns <= .max_ns and
	    .min_ns <= .mean_ns and .mean_ns <= .max_ns and .total_ns >= .min_ns)' \
    "empty operations" 'all(.operations[] | select(.count == 0); .total_ns == 0)'

# Two dumps a second apart: counts grow.
sleep 1
"$PERFTOP" dump "$pid" --format=json >"$PT_WORK/d2.json" || fail "second dump failed"
grew=$(jq -r --slurpfile a "$PT_WORK/d1.json" '
    def ops(s): s.operations | map({(.name): .count}) | add;
    def ctrs(s): s.counters | map({(.name): .value}) | add;
    ops($a[0]) as $o1 | ops(.) as $o2 | ctrs($a[0]) as $c1 | ctrs(.) as $c2 |
    (["training_step", "x", "game.move"][] |
        "\(.) \($o1[.]) \($o2[.])"),
    "x_count \($c1["x_count"]) \($c2["x_count"])",
    "uptime_s \($a[0].uptime_s) \(.uptime_s)"' "$PT_WORK/d2.json") ||
    fail "jq failed"
while read -r name v1 v2; do
	note "$name: $v1 -> $v2"
	awk -v a="$v1" -v b="$v2" 'BEGIN { exit !(b + 0 > a + 0) }' ||
	    fail "$name did not grow: $v1 -> $v2"
done <<<"$grew"

# The text format: both sections, the same names.
"$PERFTOP" dump "$pid" >"$PT_WORK/d.txt" || fail "text dump failed"
"$PERFTOP" dump "$pid" --format text | cmp -s - /dev/null && fail "empty text dump"
for word in Operations Counters training_step x_count games_played "pid $pid"; do
	grep -q -e "$word" "$PT_WORK/d.txt" || fail "text dump lacks '$word'"
done
pass
