#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-reset.sh - `perftop reset PID` resets the target's statistics: it
# prints the new epoch, the next dump has smaller counts and the epoch one
# higher, and a second viewer connected meanwhile (a `perftop record` in the
# background) sees the same epoch change in its file.  Operations with only a
# few events before the reset (the demo's checkpoints) may legitimately see
# one again at once, so the count check leaves them out.
. "$(dirname "$0")/lib.sh"
need_cmd jq

start_demo
pid=$DEMO_PID
ran() {
	"$PERFTOP" dump "$pid" --format json >"$PT_WORK/warm.json" 2>/dev/null &&
	jq -e '[.operations[] | select(.name == "training_step") | .count] | .[0] >= 3' \
	    "$PT_WORK/warm.json" >/dev/null
}
wait_until 15 ran || fail "the demo did not run 3 training steps"
sleep 1

# The second viewer.
rec=$PT_WORK/viewer.jsonl
start_bg "$PERFTOP" record "$pid" -o "$rec" --interval 0.1
recorder=$BG_PID
lines() { [ -f "$rec" ] && [ "$(wc -l <"$rec")" -ge "$1" ]; }
wait_until 10 lines 3 || fail "the recorder wrote no lines"

"$PERFTOP" dump "$pid" --format json >"$PT_WORK/before.json" || fail "dump before failed"
epoch0=$(jq .reset_epoch "$PT_WORK/before.json")

out=$("$PERFTOP" reset "$pid") || fail "reset failed"
note "$out"
[[ $out =~ ^reset\ $pid:\ epoch\ ([0-9]+)$ ]] || fail "reset printed '$out'"
epoch1=${BASH_REMATCH[1]}
[ "$epoch1" -eq $((epoch0 + 1)) ] || fail "epoch went from $epoch0 to $epoch1"

"$PERFTOP" dump "$pid" --format json >"$PT_WORK/after.json" || fail "dump after failed"
[ "$(jq .reset_epoch "$PT_WORK/after.json")" -eq "$epoch1" ] ||
    fail "dump after the reset has epoch $(jq .reset_epoch "$PT_WORK/after.json"), not $epoch1"
jq -e --slurpfile b "$PT_WORK/before.json" '
    ($b[0].operations | map({(.name): .count}) | add) as $before |
    all(.operations[] | select(($before[.name] // 0) > 3); .count < $before[.name])' \
    "$PT_WORK/after.json" >/dev/null || {
	jq -c '[.operations[] | {name, count}]' "$PT_WORK/before.json" "$PT_WORK/after.json" >&2
	fail "a count did not go down after the reset"
}
jq -e --slurpfile b "$PT_WORK/before.json" '
    ($b[0].counters | map({(.name): .value}) | add) as $before |
    all(.counters[] | select(.name == "games_played" or .name == "x_count" or .name == "moves_made");
        .value < ($before[.name] // 1))' \
    "$PT_WORK/after.json" >/dev/null || fail "a counter did not go down after the reset"
jq -e --slurpfile b "$PT_WORK/before.json" '.since_reset_s < $b[0].since_reset_s' \
    "$PT_WORK/after.json" >/dev/null || fail "since_reset_s did not restart"

# The recorder sees the new epoch, and epochs never go down in its file.
seen() { jq -e --argjson e "$epoch1" 'select(.reset_epoch == $e)' "$rec" 2>/dev/null | grep -q .; }
wait_until 5 seen || fail "the second viewer never saw epoch $epoch1"
stop_pid "$recorder" TERM
rc=$?
[ "$rc" -eq 0 ] || fail "the recorder exited with status $rc"
jsonl_check "$rec"
epochs=$(jq -r .reset_epoch "$rec" | uniq | tr '\n' ' ')
note "epochs in the recording: $epochs"
[ "$epochs" = "$epoch0 $epoch1 " ] || fail "recorded epochs: $epochs (want $epoch0 then $epoch1)"
# Its counts restart too.
jq -s -e --argjson e "$epoch1" '
    (map(select(.reset_epoch == $e - 1)) | last | .operations | map({(.name): .count}) | add) as $b |
    (map(select(.reset_epoch == $e)) | first | .operations) |
    all(.[] | select(($b[.name] // 0) > 3); .count < $b[.name])' "$rec" >/dev/null ||
    fail "the recorder's counts did not restart at the reset"
pass
