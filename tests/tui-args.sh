#!/usr/bin/env bash
# tui-args.sh - `perftop attach` with bad arguments, a process that is not
# instrumented, or no terminal prints one clear line on stderr, nothing on
# stdout (no escape sequences) and exits non-zero; run in a terminal, it
# leaves the terminal's settings and screen alone.
. "$(dirname "$0")/tui-lib.sh"

# A process that is not instrumented, and one that does not exist.
start_bg sleep 300
plain=$BG_PID
gone=$(($(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 4194304) + 1))

# ---- Outside a terminal: stderr is one line, stdout is empty ------------------
check() {
	local desc=$1
	shift
	expect_error "$desc" "$@"
	[ ! -s "$PT_WORK/expect.out" ] || fail "$desc: wrote to stdout: $(cat -v "$PT_WORK/expect.out")"
	LC_ALL=C grep -q $'\e' "$PT_WORK/expect.err" && fail "$desc: escape sequences on stderr"
}
check "attach without PID" "$PERFTOP" attach
check "attach abc" "$PERFTOP" attach abc
check "attach 12abc" "$PERFTOP" attach 12abc
check "attach 0" "$PERFTOP" attach 0
check "attach -1" "$PERFTOP" attach -1
check "attach 99999999999999999999" "$PERFTOP" attach 99999999999999999999
check "attach of a PID that does not exist" "$PERFTOP" attach "$gone"
[[ $ERR_LINE == *"no such process"* ]] || fail "missing PID: unclear message: $ERR_LINE"
check "attach of a process that is not instrumented" "$PERFTOP" attach "$plain"
[[ $ERR_LINE == *"not instrumented"* ]] || fail "plain process: unclear message: $ERR_LINE"
check "attach with a bad option" "$PERFTOP" attach "$plain" --no-such-option
check "attach with a bad interval" "$PERFTOP" attach "$plain" --interval abc

# An instrumented target, but no terminal.
start_demo
check "attach without a terminal" "$PERFTOP" attach "$DEMO_PID" </dev/null
[[ $ERR_LINE == *terminal* ]] || fail "no terminal: unclear message: $ERR_LINE"

# ---- In a terminal: the settings and the screen stay as they were ----------------
tui_shell 100 30
q() { printf '%q' "$1"; }
tui_type "stty -g >$(q "$PT_WORK/stty.before"); clear"
tui_keys Enter
tui_wait 5 '^PT\$ ?$' || tui_fail "no prompt after clear"
for args in "abc" "$plain" "$gone" "" "$plain --window 0"; do
	tui_keys C-l
	tui_type "$(q "$PERFTOP") attach $args; echo \"rc=\$?\""
	tui_keys Enter
	tui_wait 5 '^rc=[0-9]+$' || tui_fail "attach $args: no exit status"
	screen=$(tui_cap | grep -v '^$')
	note "attach $args: $(sed -n 2p <<<"$screen") / $(sed -n 3p <<<"$screen")"
	grep -q '^rc=0$' <<<"$screen" && tui_fail "attach $args: exit status 0"
	# The command line, one error line, the status, the next prompt.
	[ "$(wc -l <<<"$screen")" -eq 4 ] || tui_fail "attach $args: not exactly one line of output"
	sed -n 2p <<<"$screen" | grep -q '^perftop: ' || tui_fail "attach $args: no 'perftop: ' line"
	tui_keys C-l
	tui_wait_gone 5 '^rc=' || tui_fail "the screen did not clear"
done
tui_type "stty -g >$(q "$PT_WORK/stty.after")"
tui_keys Enter
wait_until 5 test -s "$PT_WORK/stty.after" || tui_fail "stty did not run"
cmp -s "$PT_WORK/stty.before" "$PT_WORK/stty.after" ||
    tui_fail "the terminal settings changed"
tui_type "echo o''k"
tui_keys Enter
tui_wait 5 '^ok$' || tui_fail "the shell does not echo"
pass
