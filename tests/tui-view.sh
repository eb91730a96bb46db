#!/usr/bin/env bash
# tui-view.sh - `perftop attach PID` in a 120x40 terminal shows the demo:
# the header has its name, PID, uptime, memory, refresh interval, state,
# window and sort column; the operations table its operations, with counts
# that grow between two captures; the counters table its counters; the
# memory graph a scale label; t switches the window, + and - the refresh
# interval; ? lists the keys; q quits with status 0.
. "$(dirname "$0")/tui-lib.sh"
need_cmd jq

start_demo
demo_warm training_step 3
tui_attach 120 40

tui_wait 10 "^perftop-demo +PID $DEMO_PID " ||
    tui_fail "the header does not show the demo's name and PID"
tui_wait 10 '^game\.play ' || tui_fail "no game.play row"
screen=$(tui_stable_cap)

# Header: line 1 and line 2.
l1=$(sed -n 1p <<<"$screen")
l2=$(sed -n 2p <<<"$screen")
note "header: $l1"
note "header: $l2"
[[ $l1 =~ ^perftop-demo\ +PID\ $DEMO_PID\ +up\ [0-9]+[smhd] ]] ||
    tui_fail "line 1 lacks name, PID and uptime: $l1"
[[ $l1 == *" live "* ]] || tui_fail "state is not live: $l1"
[[ $l1 == *"refresh 1s"* ]] || tui_fail "no refresh interval: $l1"
[[ $l1 == *"window since reset"* ]] || tui_fail "no window: $l1"
[[ $l2 =~ ^RSS\ [0-9.]+[KMG]\ +peak\ [0-9.]+[KMG]\ +heap\ [0-9.]+[KMGB] ]] ||
    tui_fail "line 2 lacks RSS, peak and heap: $l2"
[[ $l2 == *"sort TOTAL desc"* ]] || tui_fail "line 2 lacks the sort column: $l2"

# Operations table: its title row and the demo's operations.
grep -Eq '^NAME +COUNT +RATE/s +AVG +MIN +MAX +P50 +P99 +TOTAL. +%TIME$' \
    <<<"$screen" || tui_fail "no operations table title row"
ops=$(tui_ops "$screen")
for op in game.play game.move game.search game.evaluate training_step \
    data.load_batch training.forward training.backward training.optimizer; do
	grep -q "^$op " <<<"$ops" || tui_fail "operation $op is not shown"
done

# Counts grow.
c1=$(tui_count training_step "$screen")
g1=$(tui_count game.evaluate "$screen")
sleep 2.5
screen2=$(tui_stable_cap)
c2=$(tui_count training_step "$screen2")
g2=$(tui_count game.evaluate "$screen2")
note "training_step count $c1 -> $c2, game.evaluate $g1 -> $g2"
awk -v a="$c1" -v b="$c2" 'BEGIN { exit !(b > a) }' ||
    tui_fail "training_step count did not grow: $c1 -> $c2"
awk -v a="$g1" -v b="$g2" 'BEGIN { exit !(b > a) }' ||
    tui_fail "game.evaluate count did not grow: $g1 -> $g2"
# Rates are positive.
awk '$1 == "training_step" && !($3 > 0) { exit 1 }' <<<"$(tui_ops "$screen2")" ||
    tui_fail "training_step has no rate"

# Counters table.
grep -Eq '^NAME.* VALUE +RATE/s' <<<"$screen2" || tui_fail "no counters title row"
ctrs=$(tui_counters "$screen2")
for c in batches_loaded cache_hits games_played moves_made; do
	grep -q "^$c " <<<"$ctrs" || tui_fail "counter $c is not shown"
done

# Memory graph: title, scale labels, the peak.
grep -q 'Memory, last [0-9]*m' <<<"$screen2" || tui_fail "no memory graph title"
grep -Eq 'max [0-9]+[KMGT]' <<<"$screen2" || tui_fail "no graph scale label"
grep -Eq '(│|\|) 0 ' <<<"$screen2" || tui_fail "no graph zero label"
grep -Eq 'RSS [0-9.]+[KMG] peak [0-9.]+[KMG]' <<<"$screen2" ||
    tui_fail "no peak next to the graph"
grep -Eq '[▁▂▃▄▅▆▇█]' <<<"$screen2" || tui_fail "no bars in the graph"

# t: the "last 10 s" window starts at the oldest snapshot the view has
# (it attached a moment ago), so its counts are below the target's own.
tui_keys t
tui_wait 5 'window last 10s' || tui_fail "t: the header does not show the window"
shown() { [ -n "$(tui_count training_step)" ]; }
wait_until 5 shown || tui_fail "t: no rows"
w=$(tui_count training_step)
d=$(dump_count training_step)
note "window: training_step $w on screen, $d in the target"
[ "$w" -lt "$d" ] || tui_fail "t: the window shows every event ($w, target $d)"
tui_keys t
tui_wait 5 'window since reset' || tui_fail "t: did not switch back"
at_least() { local c; c=$(tui_count training_step); [ -n "$c" ] && [ "$c" -ge "$1" ]; }
wait_until 5 at_least "$d" ||
    tui_fail "t: since reset shows fewer events than the target had"

# + and -: longer and shorter refresh intervals (the agent is asked again).
tui_keys -
tui_wait 5 'refresh 500ms' || tui_fail "-: the interval is not 500ms"
tui_keys - -
tui_wait 5 'refresh 100ms' || tui_fail "- -: the interval is not 100ms"
# At 100 ms, the counts move several times a second.
moves=0
prev=$(tui_count training_step "$(tui_cap)")
for ((i = 0; i < 10; i++)); do
	sleep 0.15
	now=$(tui_count training_step "$(tui_cap)")
	[ "$now" != "$prev" ] && moves=$((moves + 1))
	prev=$now
done
note "at 100ms: the count moved in $moves of 10 captures 150 ms apart"
[ "$moves" -ge 3 ] || tui_fail "at 100ms the counts hardly move ($moves of 10)"
tui_keys + + + +
tui_wait 5 'refresh 2s' || tui_fail "+: the interval is not 2s"
tui_has ' live ' || tui_fail "not live after changing the interval"

# The help overlay lists the keys; any key closes it.
tui_keys '?'
tui_wait 5 'perftop keys' || tui_fail "? shows no help"
for k in 'invert the sort order' 'reset this view only' 'write the shown' \
    'filter by name' 'refresh interval'; do
	tui_has "$k" || tui_fail "the help lacks '$k'"
done
tui_keys x
tui_wait_gone 5 'perftop keys' || tui_fail "the help did not close"

tui_keys q
wait_until 10 tui_exited 0 ||
    tui_fail "q: perftop did not exit with status 0 ($(tui_dead_status))"
pass
