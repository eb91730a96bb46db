#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-errors.sh - every error is exactly one line "perftop: ..." on stderr
# and a non-zero exit: a PID with no process, a live process that is not
# instrumented, PID strings that are not strictly a PID, a target speaking
# another protocol version, bad options.  Nothing is written on stdout and
# record creates no file.
. "$(dirname "$0")/lib.sh"

# A PID with no process: a free one just behind the kernel's allocation
# cursor (new processes get PIDs ahead of it until it wraps, so a busy
# machine does not hand this PID out during the test).
pid_max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)
last=$(sh -c 'echo $$')
nopid=$((last - 500))
[ "$nopid" -gt 300 ] || nopid=$((nopid + pid_max - 600))
while kill -0 "$nopid" 2>/dev/null || [ -e "/proc/$nopid" ]; do
	nopid=$((nopid - 1))
	[ "$nopid" -gt 300 ] || nopid=$((pid_max - 1))
done
for cmd in "dump $nopid" "dump $nopid --format json" "reset $nopid" \
    "record $nopid -o $PT_WORK/none.jsonl" "attach $nopid" "$nopid"; do
	# shellcheck disable=SC2086
	expect_error "no such process ($cmd)" "$PERFTOP" $cmd
	[[ $ERR_LINE == *"no such process"* ]] || fail "$cmd: message does not say 'no such process'"
	[ ! -s "$PT_WORK/expect.out" ] || fail "$cmd: wrote to stdout"
done
[ ! -e "$PT_WORK/none.jsonl" ] || fail "record created its file for a missing process"

# A live process that is not instrumented.
start_bg sleep 30
plain=$BG_PID
for cmd in "dump $plain" "reset $plain" "record $plain -o $PT_WORK/none.jsonl" \
    "attach $plain" "$plain"; do
	# shellcheck disable=SC2086
	expect_error "not instrumented ($cmd)" "$PERFTOP" $cmd
	[[ $ERR_LINE == *"not instrumented"* ]] || fail "$cmd: message does not say 'not instrumented'"
done
[ ! -e "$PT_WORK/none.jsonl" ] || fail "record created its file for a process that is not instrumented"

# PIDs parsed strictly.
for bad in 12abc -1 0 99999999999 '' ' 12' +12 0x10 1.5 -- 2147483648; do
	for cmd in dump reset attach; do
		expect_error "PID '$bad' ($cmd)" "$PERFTOP" "$cmd" "$bad"
	done
	expect_error "PID '$bad' (record)" "$PERFTOP" record "$bad" -o "$PT_WORK/bad.jsonl"
	[ ! -e "$PT_WORK/bad.jsonl" ] || fail "record created its file for PID '$bad'"
done
for bad in 12abc -1 0 99999999999; do
	expect_error "PID '$bad' (perftop PID)" "$PERFTOP" "$bad"
	[[ $ERR_LINE == *"PID"* ]] || fail "perftop $bad: message does not mention the PID"
done
"$PERFTOP" dump 12abc 2>/dev/null
[ $? -eq 2 ] || fail "a bad PID is not a usage error (status 2)"

# Bad usage.
expect_error "unknown command" "$PERFTOP" frobnicate
expect_error "missing PID" "$PERFTOP" dump
expect_error "two PIDs" "$PERFTOP" dump 1 2
expect_error "unknown option" "$PERFTOP" dump 1 --bogus
expect_error "unknown short option" "$PERFTOP" dump 1 -z
expect_error "bad format" "$PERFTOP" dump 1 --format xml
expect_error "format without value" "$PERFTOP" dump 1 --format
expect_error "record without -o" "$PERFTOP" record 1
expect_error "record --count 0" "$PERFTOP" record 1 -o "$PT_WORK/x" --count 0
expect_error "record --count abc" "$PERFTOP" record 1 -o "$PT_WORK/x" --count abc
expect_error "record --interval 0.001" "$PERFTOP" record 1 -o "$PT_WORK/x" --interval 0.001
expect_error "record --interval -1" "$PERFTOP" record 1 -o "$PT_WORK/x" --interval -1
expect_error "record --interval nan" "$PERFTOP" record 1 -o "$PT_WORK/x" --interval nan
expect_error "record --duration 0" "$PERFTOP" record 1 -o "$PT_WORK/x" --duration 0
expect_error "record --count and --duration" "$PERFTOP" record 1 -o "$PT_WORK/x" --count 3 --duration 1
expect_error "attach --interval 0" "$PERFTOP" attach 1 --interval 0
expect_error "attach --window 0" "$PERFTOP" attach 1 --window 0
expect_error "attach --window 2.5" "$PERFTOP" attach 1 --window 2.5
expect_error "attach --window below --interval" "$PERFTOP" attach 1 --interval 5 --window 2
expect_error "attach --output-dir missing" "$PERFTOP" attach 1 --output-dir "$PT_WORK/nowhere"
expect_error "attach --readonly=1" "$PERFTOP" attach 1 --readonly=1
expect_error "list with an argument" "$PERFTOP" list 12
[ ! -e "$PT_WORK/x" ] || fail "a bad record command created its file"

# An unwritable output file: one line, after connecting.
start_demo
expect_error "record to a missing directory" "$PERFTOP" record "$DEMO_PID" -o "$PT_WORK/no/such/dir.jsonl" --count 1
[[ $ERR_LINE == *"$PT_WORK/no/such/dir.jsonl"* ]] || fail "the message does not name the file"

# A target speaking another protocol version: a fake agent (rawclient -l)
# on the socket of a live process answers with a WELCOME of version 5.
if [ -x "$RAWCLIENT" ]; then
	start_bg sleep 30
	fake=$BG_PID
	# WELCOME: version 5, pid 100 (zigzag 200), process "x", 0, 0.
	"$RAWCLIENT" -l "$PERFTOP_SOCKET_DIR/$fake.sock" "0f00000002000000 05 c801 0178 00 00" 2000 \
	    >"$PT_WORK/fake.out" 2>&1 &
	f=$!
	PT_PIDS+=("$f")
	wait_until 5 test -S "$PERFTOP_SOCKET_DIR/$fake.sock" || fail "the fake agent did not listen"
	expect_error "protocol version mismatch" "$PERFTOP" dump "$fake"
	[[ $ERR_LINE == *version* ]] || fail "the message does not mention the version"
	wait "$f"
else
	note "no $RAWCLIENT: protocol version case skipped"
fi
pass
