#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-dump-input.sh - `perftop dump --input FILE` converts what perftop
# wrote: the last snapshot of a recording of the real demo (or line N) to
# JSON with the same operations, counts and counters, to the Prometheus
# format (promtool check metrics) and to the text summary; a snapshot file
# reads back to the same file; a recording cut mid-line converts its last
# complete line with a note on stderr; garbage, an unknown version, a
# negative count and an empty file each give one error line naming the file
# and line, and exit 1.
. "$(dirname "$0")/lib.sh"
need_cmd jq promtool

start_demo
pid=$DEMO_PID
rec=$PT_WORK/rec.jsonl

# A recording of a few snapshots, once the demo has run a training step.
have_step() {
	"$PERFTOP" dump "$pid" --format json 2>/dev/null |
	    jq -e '[.operations[] | select(.count > 0) | .name] |
		index("training_step")' >/dev/null
}
wait_until 15 have_step || fail "the demo ran no training step"
"$PERFTOP" record "$pid" -o "$rec" --count 4 --interval 0.2 ||
    fail "record failed"
jsonl_check "$rec"
[ "$JSONL_LINES" -eq 4 ] || fail "recorded $JSONL_LINES lines, not 4"
stop_pid "$pid"

# What a snapshot object holds that must survive the conversion.
essence='{pid, process, time, uptime_s, since_reset_s, reset_epoch, memory,
    operations: [.operations[] | {name, count, total_ns, min_ns, max_ns,
	p50_ns, p90_ns, p99_ns, p999_ns}],
    counters: [.counters[] | {name, value}]}'

# same_as LINE JSON-FILE: the snapshot in JSON-FILE is line LINE of $rec.
same_as() {
	local want got
	want=$(sed -n "$1p" "$rec" | jq -S -c "$essence") || fail "jq failed"
	got=$(jq -S -c "$essence" "$2") || fail "$2 is not JSON"
	[ "$want" = "$got" ] || {
		printf 'line %s: %s\ngot:    %s\n' "$1" "$want" "$got" | head -c 3000 >&2
		fail "$2 differs from line $1 of the recording"
	}
}

# JSON: the last line, unless --line says otherwise.
"$PERFTOP" dump --input "$rec" --format json >"$PT_WORK/last.json" \
    2>"$PT_WORK/last.err" || fail "dump --input failed: $(cat "$PT_WORK/last.err")"
[ -s "$PT_WORK/last.err" ] && fail "unexpected stderr: $(cat "$PT_WORK/last.err")"
same_as 4 "$PT_WORK/last.json"
jq_checks "$PT_WORK/last.json" \
    "operations as recorded" '[.operations[].name] | index("training_step") and index("x")' \
    "counters as recorded" '[.counters[].name] | index("games_played") and index("x_count")' \
    "counts" '[.operations[] | select(.name == "training_step") | .count > 0] == [true]'
"$PERFTOP" dump -I "$rec" --line 2 --format=json >"$PT_WORK/line2.json" ||
    fail "dump --line 2 failed"
same_as 2 "$PT_WORK/line2.json"
# From standard input too.
"$PERFTOP" dump -I - -f json <"$rec" >"$PT_WORK/stdin.json" ||
    fail "dump -I - failed"
cmp -s "$PT_WORK/stdin.json" "$PT_WORK/last.json" ||
    fail "standard input converts differently"

# A snapshot file (the JSON just written) reads back to the same bytes.
"$PERFTOP" dump -I "$PT_WORK/last.json" --format json >"$PT_WORK/again.json" ||
    fail "dump of a snapshot file failed"
cmp -s "$PT_WORK/again.json" "$PT_WORK/last.json" ||
    fail "a snapshot file does not read back to itself"

# Prometheus and text.
"$PERFTOP" dump -I "$rec" --format prometheus >"$PT_WORK/last.prom" ||
    fail "dump --format prometheus failed"
promtool check metrics <"$PT_WORK/last.prom" >"$PT_WORK/promtool.out" 2>&1 || {
	cat "$PT_WORK/promtool.out" >&2
	fail "promtool check metrics refused the output"
}
count=$(jq -r '.operations[] | select(.name == "training_step") | .count' \
    "$PT_WORK/last.json")
grep -qx "perftop_operation_duration_seconds_count{operation=\"training_step\"} $count" \
    "$PT_WORK/last.prom" || fail "Prometheus output lacks training_step's count $count"
"$PERFTOP" dump -I "$rec" >"$PT_WORK/last.txt" || fail "text dump failed"
for word in Operations Counters training_step x_count games_played "pid $pid"; do
	grep -q -e "$word" "$PT_WORK/last.txt" || fail "text dump lacks '$word'"
done

# Cut in the middle of the last line: line 3, with one note.
size=$(wc -c <"$rec")
last=$(tail -n 1 "$rec" | wc -c)
head -c $((size - last / 2)) "$rec" >"$PT_WORK/cut.jsonl"
"$PERFTOP" dump -I "$PT_WORK/cut.jsonl" --format json >"$PT_WORK/cut.json" \
    2>"$PT_WORK/cut.err" || fail "a cut recording does not convert: $(cat "$PT_WORK/cut.err")"
same_as 3 "$PT_WORK/cut.json"
[ "$(wc -l <"$PT_WORK/cut.err")" -eq 1 ] ||
    fail "expected one note on stderr: $(cat "$PT_WORK/cut.err")"
grep -q "^perftop: .*cut.jsonl:4: incomplete last line" "$PT_WORK/cut.err" ||
    fail "no note of the cut line: $(cat "$PT_WORK/cut.err")"
note "cut: $(cat "$PT_WORK/cut.err")"
expect_error "the cut line by number" \
    "$PERFTOP" dump -I "$PT_WORK/cut.jsonl" --line 4
[[ $ERR_LINE == *"cut.jsonl:4: line 4 is incomplete"* ]] || fail "cut line: $ERR_LINE"

# Bad files: one line naming the file and the line, exit 1.
printf 'this is not JSON\n' >"$PT_WORK/garbage.jsonl"
expect_error "garbage" "$PERFTOP" dump -I "$PT_WORK/garbage.jsonl"
[[ $ERR_LINE == *"garbage.jsonl:1: invalid JSON"* ]] || fail "garbage: $ERR_LINE"
head -c 3000 /dev/urandom >"$PT_WORK/random.bin"
expect_error "random bytes" "$PERFTOP" dump -I "$PT_WORK/random.bin" --format prometheus

sed '3s/"version":1,/"version":7,/' "$rec" >"$PT_WORK/v7.jsonl"
expect_error "unknown version" "$PERFTOP" dump -I "$PT_WORK/v7.jsonl"
[[ $ERR_LINE == *"v7.jsonl:3: version: unsupported version 7 (this perftop reads version 1)" ]] ||
    fail "unknown version: $ERR_LINE"

sed -E '2s/"count":[0-9]+/"count":-1/' "$rec" >"$PT_WORK/negative.jsonl"
expect_error "negative count" "$PERFTOP" dump -I "$PT_WORK/negative.jsonl"
[[ $ERR_LINE == *"negative.jsonl:2: operations[0].count: not an unsigned integer (-1)" ]] ||
    fail "negative count: $ERR_LINE"
# --line before the bad line still converts.
"$PERFTOP" dump -I "$PT_WORK/negative.jsonl" --line 1 >/dev/null ||
    fail "line 1 before a bad line 2 does not convert"

: >"$PT_WORK/empty.jsonl"
expect_error "empty file" "$PERFTOP" dump -I "$PT_WORK/empty.jsonl"
[[ $ERR_LINE == *"empty.jsonl: empty file" ]] || fail "empty file: $ERR_LINE"
expect_error "no such file" "$PERFTOP" dump -I "$PT_WORK/none.jsonl"
expect_error "no such line" "$PERFTOP" dump -I "$rec" --line 5
[[ $ERR_LINE == *"rec.jsonl: no line 5 (4 complete lines)" ]] || fail "line 5: $ERR_LINE"

# Usage errors: status 2.
expect_error "PID and --input" "$PERFTOP" dump 1 -I "$rec"
"$PERFTOP" dump 1 -I "$rec" 2>/dev/null
[ $? -eq 2 ] || fail "PID and --input: status is not 2"
expect_error "--line without --input" "$PERFTOP" dump 1 --line 2
expect_error "--line 0" "$PERFTOP" dump -I "$rec" --line 0
pass
