#!/usr/bin/env bash
# tui-sort.sh - sorting the operations table: keys 1-9 pick NAME .. TOTAL,
# > and < step through the columns (reaching %TIME), I inverts; the header
# says which column and direction, the title row marks it, and the rows on
# screen are in that order (values read back from their human units and
# compared as numbers; ties by name).
. "$(dirname "$0")/tui-lib.sh"

start_demo
demo_warm training_step 3
tui_attach 120 40
tui_wait 10 '^game\.play ' || tui_fail "no rows"
# Freeze the numbers so that every capture is one consistent frame.
tui_keys p
tui_wait 5 ' paused ' || tui_fail "p did not pause"

cols=(NAME COUNT RATE/s AVG MIN MAX P50 P99 TOTAL %TIME)

# check_order COL DIR: the header shows COL and DIR, the title row marks
# COL, and the rows are ordered by it.
check_order() {
	local col=$1 dir=$2 idx i screen rows bad title
	for ((i = 0; i < ${#cols[@]}; i++)); do
		[ "${cols[i]}" = "$col" ] && idx=$((i + 1))
	done
	tui_wait 5 "sort $col $dir" ||
	    tui_fail "the header does not say 'sort $col $dir'"
	screen=$(tui_stable_cap)
	title=$(grep -E '^NAME' <<<"$screen" | head -n 1)
	# The sort column's title carries the arrow.
	if [ "$dir" = desc ]; then mark=▼; else mark=▲; fi
	grep -qF -- "$col$mark" <<<"$title" ||
	    tui_fail "the title row does not mark $col$mark: $title"
	[ "$(grep -o '[▲▼]' <<<"$title" | wc -l)" -eq 1 ] ||
	    tui_fail "more than one column is marked: $title"
	rows=$(tui_ops "$screen")
	[ "$(wc -l <<<"$rows")" -ge 8 ] || tui_fail "only $(wc -l <<<"$rows") rows"
	if [ "$idx" -eq 1 ]; then
		if [ "$dir" = asc ]; then
			LC_ALL=C sort -c <<<"$(cut -d' ' -f1 <<<"$rows")" ||
			    tui_fail "names are not ascending"
		else
			LC_ALL=C sort -c -r <<<"$(cut -d' ' -f1 <<<"$rows")" ||
			    tui_fail "names are not descending"
		fi
	else
		bad=$(awk -v k="$idx" -v dir="$dir" '
		    NR > 1 {
			if (dir == "desc" && $k > prev) { print NR ": " $0; exit }
			if (dir == "asc" && $k < prev) { print NR ": " $0; exit }
			# Equal counts are exact on screen (below 100000): the
			# tie-break by name shows.  Other columns are rounded.
			if (k == 2 && $k == prev && $k < 100000 && $1 < name) {
				print NR " (tie): " $0; exit
			}
		    }
		    { prev = $k; name = $1 }' <<<"$rows")
		[ -z "$bad" ] || {
			printf '%s\n' "$rows" >&2
			tui_fail "rows not in $dir order of $col at row $bad"
		}
	fi
	note "sort $col $dir: $(wc -l <<<"$rows") rows in order"
}

# Default: TOTAL, largest first.
check_order TOTAL desc

# 1-9: each column with its default direction, then inverted.
for ((n = 1; n <= 9; n++)); do
	col=${cols[n - 1]}
	tui_keys "$n"
	if [ "$n" -eq 1 ]; then first=asc second=desc; else first=desc second=asc; fi
	check_order "$col" "$first"
	tui_keys I
	check_order "$col" "$second"
done

# Picking the column already sorted keeps its direction.
tui_keys 9
check_order TOTAL asc
tui_keys I
check_order TOTAL desc

# > from TOTAL reaches %TIME, then wraps to NAME; < goes back.
tui_keys '>'
check_order %TIME desc
tui_keys I
check_order %TIME asc
tui_keys '>'
check_order NAME asc
tui_keys '<'
check_order %TIME desc
tui_keys '<' '<'
check_order P99 desc

# Sorting still works when the display runs again.
tui_keys p
tui_wait 5 ' live ' || tui_fail "p did not resume"
tui_keys 2
tui_wait 5 'sort COUNT desc' || tui_fail "2 did not sort by COUNT"
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
pass
