#!/usr/bin/env bash
# tui-resize.sh - the view redraws for the new size when the terminal is
# resized (80x24, 200x60, and after a burst of resizes) without leftovers;
# and it renders readable output without colour: TERM=vt100 (ASCII only,
# attributes only) and NO_COLOR=1 (attributes only).
. "$(dirname "$0")/tui-lib.sh"

start_demo
demo_warm training_step 3

# check_layout W H: the pane shows one well-formed frame of W x H.
check_layout() {
	local w=$1 h=$2 screen n title last
	sized() { [ "$(tmux_ display -p -t main '#{window_width}x#{window_height}')" = "$1" ]; }
	wait_until 5 sized "${w}x$h" ||
	    tui_fail "the window is not ${w}x$h"
	# A frame for the new size: the title row ends with %TIME within W.
	tui_wait 5 '%TIME$' || tui_fail "${w}x$h: no table title row"
	screen=$(tui_stable_cap)
	n=$(wc -l <<<"$screen")
	[ "$n" -eq "$h" ] || tui_fail "${w}x$h: $n lines captured"
	sed -n 1p <<<"$screen" | grep -Eq "^perftop-demo +PID $DEMO_PID +up " ||
	    tui_fail "${w}x$h: line 1 is not the header"
	sed -n 2p <<<"$screen" | grep -q '^RSS ' || tui_fail "${w}x$h: line 2 is not the header"
	title=$(sed -n 3p <<<"$screen")
	grep -Eq '^NAME +COUNT +RATE/s .*%TIME$' <<<"$title" ||
	    tui_fail "${w}x$h: line 3 is not the title row: $title"
	[ "$(printf '%s' "$title" | wc -L)" -le "$w" ] ||
	    tui_fail "${w}x$h: the title row is wider than the window"
	# Nothing twice: one header, one title row, one counters title.
	[ "$(grep -c "PID $DEMO_PID" <<<"$screen")" -eq 1 ] ||
	    tui_fail "${w}x$h: the header shows more than once"
	[ "$(grep -Ec '^NAME +COUNT' <<<"$screen")" -eq 1 ] ||
	    tui_fail "${w}x$h: more than one table title row"
	[ "$(grep -Ec 'VALUE +RATE/s' <<<"$screen")" -le 1 ] ||
	    tui_fail "${w}x$h: more than one counters title row"
	[ "$(grep -c 'Memory, last' <<<"$screen")" -le 1 ] ||
	    tui_fail "${w}x$h: more than one graph title"
	# Every line fits (display width).
	while IFS= read -r line; do
		[ "$(printf '%s' "$line" | wc -L)" -le "$w" ] ||
		    tui_fail "${w}x$h: a line is wider than $w: $line"
	done <<<"$screen"
	# The rows parse; the last line is the status line.
	[ "$(tui_ops "$screen" | wc -l)" -ge 5 ] || tui_fail "${w}x$h: fewer than 5 rows"
	last=$(sed -n "${h}p" <<<"$screen")
	grep -q '^q quit' <<<"$last" || tui_fail "${w}x$h: the last line is not the status line: $last"
	note "${w}x$h: $(tui_ops "$screen" | wc -l) rows, layout ok"
}

tui_attach 120 40
tui_wait 10 '^training_step ' || tui_fail "no rows"
check_layout 120 40

tmux_ resize-window -t main -x 80 -y 24
check_layout 80 24
grep -Eq 'max [0-9]+[KMGT]' <<<"$(tui_cap)" || tui_fail "80x24: no memory graph"

tmux_ resize-window -t main -x 200 -y 60
check_layout 200 60
grep -Eq 'max [0-9]+[KMGT]' <<<"$(tui_cap)" || tui_fail "200x60: no memory graph"

# The help overlay, then a shrink: nothing of it may stay.
tui_keys '?'
tui_wait 5 'perftop keys' || tui_fail "no help"
tui_keys x
for size in 90x30 150x50 70x20 130x35 100x30; do
	tmux_ resize-window -t main -x "${size%x*}" -y "${size#*x}"
	sleep 0.05
done
check_layout 100 30
tui_has 'perftop keys' && tui_fail "the help overlay was left behind"

# Tiny terminals: no crash, and it comes back.
for size in 40x12 30x6 20x3 10x2 1x1; do
	tmux_ resize-window -t main -x "${size%x*}" -y "${size#*x}"
	sleep 0.3
	[ -z "$(tui_dead_status)" ] || tui_fail "perftop died at $size: $(tui_dead_status)"
done
tui_keys '?'
sleep 0.3
tui_keys x
tmux_ resize-window -t main -x 100 -y 30
check_layout 100 30
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
tmux_ kill-session -t main 2>/dev/null

# ---- Colour and its absence -----------------------------------------------------
# SGR parameters that set a colour (30-37, 38, 40-47, 48, 90-97, 100-107).
colour_re=$'\e\\[([0-9;]*;)?(3[0-8]|4[0-8]|9[0-7]|10[0-7])(;[0-9;]*)?m'
reverse_re=$'\e\\[([0-9;]*;)?7(;[0-9;]*)?m'

# Colour by default (so that the checks below mean something).
tui_attach 120 40
tui_wait 10 '^training_step ' || tui_fail "colour: no rows"
grep -Eq "$colour_re" <<<"$(tui_cap -e)" || tui_fail "no colour by default"
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
tmux_ kill-session -t main 2>/dev/null

# NO_COLOR=1: attributes only, the selected row in reverse video.
tui_start 120 40 env NO_COLOR=1 "$PERFTOP" attach "$DEMO_PID"
tui_wait 10 '^training_step ' || tui_fail "NO_COLOR: no rows"
sleep 0.5
screen=$(tui_cap -e)
grep -Eq "$colour_re" <<<"$screen" && tui_fail "NO_COLOR=1: colours are used"
grep -Eq "$reverse_re" <<<"$screen" || tui_fail "NO_COLOR=1: no reverse-video selection"
check_layout 120 40
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
tmux_ kill-session -t main 2>/dev/null

# TERM=vt100: no colours, plain ASCII (us, '#' bars, '|' lines, v marker).
tui_start 100 30 env TERM=vt100 "$PERFTOP" attach "$DEMO_PID"
tui_wait 10 '^training_step ' || tui_fail "vt100: no rows"
sleep 0.5
screen=$(tui_cap -e)
grep -Eq "$colour_re" <<<"$screen" && tui_fail "TERM=vt100: colours are used"
grep -Eq "$reverse_re" <<<"$screen" || tui_fail "TERM=vt100: no reverse-video selection"
text=$(tui_stable_cap)
LC_ALL=C grep -q $'[\x80-\xff]' <<<"$text" && {
	LC_ALL=C grep -n $'[\x80-\xff]' <<<"$text" | head -n 3 >&2
	tui_fail "TERM=vt100: non-ASCII output"
}
grep -q 'TOTALv' <<<"$text" || tui_fail "TERM=vt100: the sort column is not marked"
grep -Eq '[0-9.]+us ' <<<"$text" || tui_fail "TERM=vt100: no 'us' durations"
grep -Eq '\| max [0-9]+[KMGT]' <<<"$text" || tui_fail "TERM=vt100: no graph scale"
grep -q '#' <<<"$(sed -n '/Memory, last/,$p' <<<"$text")" || tui_fail "TERM=vt100: no '#' bars"
check_layout 100 30
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
pass
