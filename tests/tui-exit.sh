#!/usr/bin/env bash
# tui-exit.sh - kill -9 of the target while perftop is attached: the header
# says "process exited" (here while the target is an unreaped zombie), the
# rows stay on screen, w still writes them to a file, q exits with status
# 0, and the terminal is given back as it was: the shell's prompt returns,
# typing echoes, and `stty -g` reads the same as before.  Ctrl-C (status 0)
# and SIGTERM (status 143) restore the terminal too.
. "$(dirname "$0")/tui-lib.sh"
need_cmd jq

# The demo's parent is a sleep that never reaps it: once killed, the demo
# stays a zombie, which must count as exited (kill(pid, 0) still works).
# shellcheck disable=SC2016  # expanded by that sh
start_bg sh -c '"$1" >"$2" 2>&1 & echo $! >"$3"; exec sleep 600' sh \
    "$PERFTOP_DEMO" "$PT_WORK/demo.log" "$PT_WORK/demo.pid"
wait_until 5 test -s "$PT_WORK/demo.pid" || fail "the demo did not start"
DEMO_PID=$(cat "$PT_WORK/demo.pid")
PT_PIDS+=("$DEMO_PID")
wait_until 10 test -S "$PERFTOP_SOCKET_DIR/$DEMO_PID.sock" ||
    fail "the demo does not serve: $(cat "$PT_WORK/demo.log")"
demo_warm training_step 3
out=$PT_WORK/out
mkdir "$out"

tui_shell 120 40
q() { printf '%q' "$1"; }
tui_type "stty -g >$(q "$PT_WORK/stty.before"); $(q "$PERFTOP") attach $DEMO_PID --output-dir $(q "$out"); echo \"rc=\$?\"; stty -g >$(q "$PT_WORK/stty.after")"
tui_keys Enter
tui_wait 10 "^perftop-demo +PID $DEMO_PID .* live " || tui_fail "the view did not start"
tui_wait 10 '^training_step ' || tui_fail "no rows"
before=$(tui_ops)

# Kill the target: it stays a zombie.
kill -KILL "$DEMO_PID"
zombie() { [ "$(awk '{ print $3 }' "/proc/$DEMO_PID/stat" 2>/dev/null)" = Z ]; }
wait_until 5 zombie ||
    fail "the killed demo is not a zombie"
tui_wait 10 "^perftop-demo +PID $DEMO_PID .* process exited " ||
    tui_fail "the header does not say 'process exited'"
note "$(tui_line 1)"
after=$(tui_ops)
[ "$(wc -l <<<"$after")" -ge 9 ] || tui_fail "the rows are gone"
grep -q '^training_step ' <<<"$after" || tui_fail "training_step is gone"
grep -q '^game\.play ' <<<"$after" || tui_fail "game.play is gone"
# Every operation shown before the exit is still shown.
lost=$(comm -23 <(cut -d' ' -f1 <<<"$before" | sort) <(cut -d' ' -f1 <<<"$after" | sort))
[ -z "$lost" ] || tui_fail "rows lost at the exit: $lost"

# w still writes the last data.
tui_keys w
tui_wait 10 'wrote /[^ ]+\.json' || tui_fail "w after the exit wrote nothing"
[[ $(tui_cap) =~ wrote\ (/[^ ]+\.json) ]]
file=${BASH_REMATCH[1]}
jq -e --argjson pid "$DEMO_PID" '.format == "perftop-snapshot" and .pid == $pid and
    (.operations | map(.name) | index("training_step") != null)' "$file" >/dev/null ||
    tui_fail "w after the exit: $file is not the last snapshot"
note "w after the exit wrote $file"
# Other keys still work on the last data.
tui_keys 2
tui_wait 5 'sort COUNT desc' || tui_fail "sorting after the exit does not work"
tui_keys p
tui_wait 5 'process exited' || tui_fail "the state changed after p"

# q: status 0 and a sane terminal.
tui_keys q
tui_wait 10 '^rc=0$' || tui_fail "q after the exit: status is not 0"
tui_wait 5 '^PT\$ ?$' || tui_fail "no shell prompt after q"
tui_type "echo o''k"
tui_keys Enter
tui_wait 5 '^ok$' || tui_fail "the shell does not work after q"
tui_has "^PT\\$ echo o''k$" || tui_fail "typing does not echo after q"
wait_until 5 test -s "$PT_WORK/stty.after" || tui_fail "stty did not run after perftop"
cmp -s "$PT_WORK/stty.before" "$PT_WORK/stty.after" || {
	cat "$PT_WORK/stty.before" "$PT_WORK/stty.after" >&2
	tui_fail "the terminal settings differ after perftop"
}

# ---- Ctrl-C and SIGTERM also give the terminal back ------------------------------
start_demo
demo_warm training_step 3
# run_view SIG: starts the view in the shell, ends it with SIG (INT: Ctrl-C
# typed; TERM: kill), and checks the status and the terminal.
run_view() {
	local sig=$1 want=$2 pid
	rm -f "$PT_WORK/stty.after"
	tui_keys C-l
	tui_type "$(q "$PERFTOP") attach $DEMO_PID; echo \"rc=\$?\"; stty -g >$(q "$PT_WORK/stty.after")"
	tui_keys Enter
	tui_wait 10 "^perftop-demo +PID $DEMO_PID .* live " || tui_fail "$sig: the view did not start"
	if [ "$sig" = INT ]; then
		tui_keys C-c
	else
		pid=$(tui_pid perftop)
		[ -n "$pid" ] || tui_fail "cannot find the perftop process"
		kill -TERM "$pid"
	fi
	tui_wait 10 "^rc=$want\$" || tui_fail "$sig: exit status is not $want"
	wait_until 5 test -s "$PT_WORK/stty.after" || tui_fail "$sig: stty did not run"
	cmp -s "$PT_WORK/stty.before" "$PT_WORK/stty.after" ||
	    tui_fail "$sig: the terminal settings differ after perftop"
	note "SIG$sig: exit status $want, terminal restored"
}
run_view INT 0
run_view TERM 143
tui_keys C-l
tui_type "echo o''k2"
tui_keys Enter
tui_wait 5 '^ok2$' || tui_fail "the shell does not work after the signals"
pass
