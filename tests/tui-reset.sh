#!/usr/bin/env bash
# tui-reset.sh - R resets the target: the counts on screen drop and
# `perftop dump` shows the new epoch.  r resets only this view: the counts
# on screen drop while `perftop dump` shows the target's counts unchanged
# (and the same epoch); R clears that view baseline.  Under --readonly, R
# is refused with a message and the target keeps its epoch.
. "$(dirname "$0")/tui-lib.sh"
need_cmd jq

dump_epoch() { "$PERFTOP" dump "$DEMO_PID" --format json | jq .reset_epoch; }
# lower NAME LIMIT: the on-screen count of NAME is below LIMIT.
lower() {
	local c
	c=$(tui_count "$1" "$(tui_cap)")
	[ -n "$c" ] && awk -v c="$c" -v l="$2" 'BEGIN { exit !(c < l) }'
}
# higher NAME LIMIT: the on-screen count of NAME is above LIMIT.
higher() {
	local c
	c=$(tui_count "$1" "$(tui_cap)")
	[ -n "$c" ] && awk -v c="$c" -v l="$2" 'BEGIN { exit !(c > l) }'
}

start_demo
demo_warm training_step 40
tui_attach 120 40 --interval 0.5
tui_wait 10 '^training_step ' || tui_fail "no rows"

# ---- R: the target's statistics -------------------------------------------
epoch0=$(dump_epoch)
wait_until 10 higher training_step 40 || tui_fail "training_step stays low"
screen=$(tui_stable_cap)
s0=$(tui_count training_step "$screen")
g0=$(tui_count game.evaluate "$screen")
note "before R: epoch $epoch0, training_step $s0, game.evaluate $g0 on screen"

tui_keys R
tui_wait 10 'reset \(epoch [0-9]+\)' || tui_fail "R: no confirmation"
[[ $(tui_cap) =~ reset\ \(epoch\ ([0-9]+)\) ]]
epoch1=${BASH_REMATCH[1]}
[ "$epoch1" -eq $((epoch0 + 1)) ] || tui_fail "R: epoch $epoch0 -> $epoch1"
wait_until 5 lower training_step "$s0" || tui_fail "R: training_step did not drop"
wait_until 5 lower game.evaluate "$g0" || tui_fail "R: game.evaluate did not drop"
[ "$(dump_epoch)" -eq "$epoch1" ] ||
    tui_fail "R: perftop dump shows epoch $(dump_epoch), not $epoch1"
note "after R: epoch $epoch1, training_step $(tui_count training_step) on screen"

# ---- r: this view only ---------------------------------------------------
# Enough events first that half of them is more than a refresh adds.
wait_until 20 higher training_step 400 || tui_fail "training_step stays low"
screen=$(tui_stable_cap)
s1=$(tui_count training_step "$screen")
d1=$(dump_count training_step)
g1=$(dump_count game.evaluate)
note "before r: training_step $s1 on screen, $d1 in the target"

tui_keys r
tui_wait 5 'view reset' || tui_fail "r: no message"
tui_wait 5 'window since reset \(view reset\)' ||
    tui_fail "r: the header does not say the view was reset"
wait_until 5 lower training_step "$((s1 / 2))" ||
    tui_fail "r: training_step on screen did not drop"
d2=$(dump_count training_step)
g2=$(dump_count game.evaluate)
note "after r: training_step $(tui_count training_step) on screen, $d2 in the target"
[ "$d2" -ge "$d1" ] || tui_fail "r: the target's training_step dropped ($d1 -> $d2)"
[ "$g2" -ge "$g1" ] || tui_fail "r: the target's game.evaluate dropped ($g1 -> $g2)"
[ "$(dump_epoch)" -eq "$epoch1" ] || tui_fail "r: the target's epoch changed"
# The view counts on from its baseline.
wait_until 10 higher training_step 0 || tui_fail "r: the view stopped counting"

# ---- R clears the view baseline ----------------------------------------------
tui_keys R
tui_wait 10 "reset \\(epoch $((epoch1 + 1))\\)" || tui_fail "second R: no confirmation"
tui_wait_gone 5 '\(view reset\)' || tui_fail "R did not clear the view baseline"

tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
tmux_ kill-session -t main 2>/dev/null

# ---- --readonly refuses R ----------------------------------------------------
epoch2=$(dump_epoch)
tui_attach 120 40 --interval 0.5 --readonly
tui_wait 10 '^training_step ' || tui_fail "readonly: no rows"
tui_keys R
tui_wait 5 'R refused' || tui_fail "readonly: R was not refused on screen"
sleep 1
[ "$(dump_epoch)" -eq "$epoch2" ] || tui_fail "readonly: the target was reset"
tui_has ' live ' || tui_fail "readonly: the view is not live any more"
# r still works: it changes nothing outside the view.
tui_keys r
tui_wait 5 '\(view reset\)' || tui_fail "readonly: r does not work"
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "readonly: q did not exit with status 0"
pass
