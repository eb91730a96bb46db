#!/usr/bin/env bash
# tui-write.sh - w writes the snapshot as shown (after the window, the view
# baseline and the filter, with the view's settings in "view") to a JSON
# file in --output-dir and shows its path in the status line; the file has
# the SPEC fields.  When the directory cannot be written, the status line
# shows the error and the view keeps running.
. "$(dirname "$0")/tui-lib.sh"
need_cmd jq

start_demo
demo_warm training_step 3
out=$PT_WORK/out
mkdir "$out"
tui_attach 120 40 --output-dir "$out"
tui_wait 10 '^training_step ' || tui_fail "no rows"

# written: the path in the status line, once it says "wrote".
written() {
	tui_wait 10 'wrote /[^ ]+\.json' || tui_fail "w: no 'wrote PATH' message"
	[[ $(tui_cap) =~ wrote\ (/[^ ]+\.json) ]] || tui_fail "w: no path"
	printf '%s\n' "${BASH_REMATCH[1]}"
}

# ---- A plain snapshot --------------------------------------------------------
tui_keys w
f1=$(written)
note "w wrote $f1"
[ "$(dirname "$f1")" = "$out" ] || tui_fail "w wrote outside --output-dir: $f1"
[ -f "$f1" ] || tui_fail "w: $f1 does not exist"
jq -e --argjson pid "$DEMO_PID" '
    .format == "perftop-snapshot" and .version == 1 and .pid == $pid and
    .process == "perftop-demo" and
    (.time | type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")) and
    (.uptime_s | type == "number") and (.reset_epoch | type == "number") and
    (.memory | (.rss_bytes > 0) and (.peak_rss_bytes >= .rss_bytes) and
        (.heap_bytes | type == "number")) and
    (.operations | length >= 8) and
    all(.operations[]; (.name | type == "string") and
        ([.count, .total_ns, .min_ns, .max_ns, .mean_ns, .p50_ns, .p90_ns,
          .p99_ns, .p999_ns] | all(type == "number"))) and
    (.counters | length >= 5) and
    all(.counters[]; (.name | type == "string") and (.value | type == "number")) and
    (.view | .window == "since_reset" and .sort == "TOTAL" and
        .descending == true and .filter == null and .view_reset == false)
    ' "$f1" >/dev/null || {
	head -c 2000 "$f1" >&2
	tui_fail "w: $f1 lacks SPEC fields"
}
jq -e '.operations | map(.name) | index("training_step") != null' "$f1" >/dev/null ||
    tui_fail "w: no training_step in $f1"

# ---- As shown: filter, sort, window, view baseline ----------------------------
tui_keys /
tui_type game
tui_keys Enter
tui_wait 5 'filter "game"' || tui_fail "the filter did not apply"
tui_keys 2 I t
tui_wait 5 'window last 10s' || tui_fail "t did not switch the window"
tui_keys r
tui_wait 5 '\(view reset\)' || tui_fail "r did not reset the view"
sleep 1.2
tui_keys w
f2=$(written)
note "w wrote $f2"
[ "$f2" != "$f1" ] || tui_fail "the second w overwrote $f1"
jq -e '
    (.view | .window == "last_10s" and .sort == "COUNT" and
        .descending == false and .filter == "game" and .view_reset == true) and
    (.operations | length >= 3) and
    all(.operations[]; .name | test("game")) and
    all(.counters[]; .name | test("game"))
    ' "$f2" >/dev/null || {
	jq -c '{view, ops: [.operations[] | {name, count}]}' "$f2" >&2
	tui_fail "w: $f2 is not what the view showed"
}
# After r, the counts in the file are those since the view baseline:
# smaller than the target's own (since its start), which r left alone.
target=$(dump_count game.evaluate)
viewed=$(jq '.operations[] | select(.name == "game.evaluate") | .count' "$f2")
note "game.evaluate: $viewed in the file, $target in the target"
[ "$viewed" -lt "$target" ] || tui_fail "w after r: counts are not the view's"
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
tmux_ kill-session -t main 2>/dev/null

# ---- A directory that cannot be written -------------------------------------
# perftop checks the directory when it starts, so it is made unwritable
# once the view runs.  Root ignores permissions, so root gets a full tmpfs
# (or an immutable directory, or /proc/self); others a mode 555 directory.
bad=$PT_WORK/full
mkdir "$bad"
how=
if [ "$(id -u)" != 0 ]; then
	how="mode 555"
elif mount -t tmpfs -o size=64k,nr_inodes=4,mode=755 tmpfs "$bad" 2>/dev/null; then
	TUI_MOUNTS+=("$bad")
	how="a full tmpfs"
elif chattr +i "$bad" 2>/dev/null && chattr -i "$bad"; then
	how="chattr +i"
	trap 'chattr -i "$bad" 2>/dev/null; tui_cleanup' EXIT
else
	bad=/proc/self
	how="/proc/self"
fi
note "unwritable directory: $how"

tui_attach 120 40 --output-dir "$bad"
tui_wait 10 '^training_step ' || tui_fail "no rows"
case $how in
"mode 555") chmod 555 "$bad" ;;
"a full tmpfs") dd if=/dev/zero of="$bad/fill" bs=4k >/dev/null 2>&1 ;;
"chattr +i") chattr +i "$bad" ;;
esac
tui_keys w
tui_wait 10 'write failed: ' || tui_fail "w in $how: no error in the status line"
note "$(tui_cap | grep 'write failed: ')"
tui_has 'wrote /' && tui_fail "w in $how claims success"
# The view keeps running.
c1=$(tui_count training_step)
sleep 2.2
c2=$(tui_count training_step)
[ "$c2" -gt "$c1" ] 2>/dev/null || tui_fail "the view stopped after the error ($c1 -> $c2)"
tui_has ' live ' || tui_fail "the view is not live after the error"
[ -z "$(tui_dead_status)" ] || tui_fail "perftop exited after the error"
# No temporary file is left behind.
if [ "$how" = "a full tmpfs" ]; then
	left=$(find "$bad" -mindepth 1 ! -name fill | head -n 3)
	[ -z "$left" ] || tui_fail "left behind in $bad: $left"
fi
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
pass
