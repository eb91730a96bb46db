#!/usr/bin/env bash
# tui-filter-pause.sh - / filters the rows by name (typed text filters as
# it is typed, Enter keeps it, Esc clears it); p freezes the numbers on
# screen while the target keeps running (perftop dump proves it), and
# unpausing catches up at once with what was collected meanwhile.
. "$(dirname "$0")/tui-lib.sh"
need_cmd jq

start_demo
demo_warm training_step 3
tui_attach 120 40
tui_wait 10 '^training_step ' || tui_fail "no rows"
tui_wait 10 '^game\.play ' || tui_fail "no game.play row"

# ---- Filter -----------------------------------------------------------------
tui_keys /
tui_type game
tui_wait 5 'filter: game' || tui_fail "the status line does not show the filter being typed"
tui_keys Enter
tui_wait 5 'filter "game"' || tui_fail "the header does not show the filter"
tui_wait_gone 5 '^training_step ' || tui_fail "training_step is still shown"
rows=$(tui_ops)
note "filtered: $(cut -d' ' -f1 <<<"$rows" | tr '\n' ' ')"
[ "$(wc -l <<<"$rows")" -eq 4 ] || tui_fail "expected the 4 game.* rows"
grep -vq '^game\.' <<<"$rows" && tui_fail "a row without 'game' is shown"
ctrs=$(tui_counters)
[ "$(cut -d' ' -f1 <<<"$ctrs")" = games_played ] ||
    tui_fail "counters not filtered: $(tr '\n' ' ' <<<"$ctrs")"

# Esc clears it.
tui_keys Escape
tui_wait 5 '^training_step ' || tui_fail "Esc did not clear the filter"
tui_has 'filter "' && tui_fail "the header still shows a filter"
[ "$(tui_ops | wc -l)" -ge 9 ] || tui_fail "not every row is back"

# Esc while typing drops the text; a filter matching nothing says so.
tui_keys /
tui_type TRAIN
tui_wait 5 'filter: TRAIN' || tui_fail "typing does not show"
tui_wait_gone 5 '^game\.play ' || tui_fail "the filter does not apply while typing (case-insensitive)"
tui_keys Escape
tui_wait 5 '^game\.play ' || tui_fail "Esc while typing did not clear"
tui_keys / z z z Enter
tui_wait 5 'no operation matches the filter' || tui_fail "no message for an empty result"
tui_keys Escape
tui_wait 5 '^training_step ' || tui_fail "Esc did not clear"

# ---- Pause ------------------------------------------------------------------
tui_keys p
tui_wait 5 ' paused ' || tui_fail "p: the header does not say paused"
frozen=$(tui_ops)
f_step=$(awk '$1 == "training_step" { print $2 }' <<<"$frozen")
d0=$(dump_count training_step)
sleep 2.5
again=$(tui_ops)
d1=$(dump_count training_step)
note "paused: training_step $f_step on screen; target $d0 -> $d1"
[ "$frozen" = "$again" ] || {
	diff <(echo "$frozen") <(echo "$again") >&2
	tui_fail "numbers changed while paused"
}
[ "$d1" -gt "$d0" ] || tui_fail "the target did not run on while paused"
[ "$d1" -gt "$f_step" ] || tui_fail "the target's count is not above the frozen one"
# Collection goes on: after one more interval the newest snapshot is newer
# than the dump, so resuming shows at least the dump's count at once.
sleep 1.5
tui_keys p
tui_wait 2 ' live ' || tui_fail "p: did not resume"
c=$(tui_count training_step "$(tui_cap)")
note "resumed: training_step $c on screen (dump said $d1)"
[ "$c" -ge "$d1" ] || tui_fail "resuming did not catch up ($c < $d1)"
# Space pauses too.
tui_keys Space
tui_wait 5 ' paused ' || tui_fail "Space did not pause"
tui_keys Space
tui_wait 5 ' live ' || tui_fail "Space did not resume"
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
pass
