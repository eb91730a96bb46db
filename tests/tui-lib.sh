# shellcheck shell=bash
# tests/tui-lib.sh - helpers of the tmux-driven tests of the live view
# (tests/tui-*.sh).  Sources tests/lib.sh (binaries, socket directory,
# demo, cleanup) and adds a private tmux server.
#
# Source it from a bash test:   . "$(dirname "$0")/tui-lib.sh"
#
# Functions:
#   tui_start W H CMD...    a W x H tmux window (no status bar) running CMD
#                           (quoted for the shell) under a shell that saves
#                           its exit status; the pane stays after CMD exits
#   tui_attach W H [ARGS]   tui_start with `perftop attach $DEMO_PID ARGS`
#   tui_shell W H           tui_start with an interactive bash (PS1 "PT$ ")
#   tui_keys KEY...         tmux send-keys (key names: Enter, Escape, ...)
#   tui_type TEXT           types TEXT literally
#   tui_cap [-e]            the pane's text (-e: with attributes)
#   tui_stable_cap          the pane's text once two captures agree
#   tui_wait SECS ERE       waits until a line of the pane matches ERE
#   tui_wait_gone SECS ERE  waits until no line matches ERE
#   tui_dead_status         "dead STATUS" once the command exited, else ""
#   tui_exited STATUS       the command exited with STATUS
#   tui_pid NAME            the PID of process NAME in the pane's session
#   tui_line N              line N (1-based) of the pane
#   tui_ops                 the operations table rows, one per line, with
#                           every value converted to a plain number:
#                           NAME COUNT RATE AVG MIN MAX P50 P99 TOTAL PCT
#   tui_counters            the counters table: NAME VALUE RATE
#   tui_num TEXT            a human value ("1.5K", "4.56µs", "12%") as a
#                           number (durations in ns)
#   tui_fail MSG            fails, printing the pane first

# tui_cap takes an optional -e; demo_warm's inner function runs through
# wait_until.
# shellcheck disable=SC2119,SC2120,SC2317
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_cmd tmux

# A UTF-8 locale for the view and for tmux, unless the test says otherwise.
TUI_UTF8=
for l in C.UTF-8 C.utf8 en_US.UTF-8 en_US.utf8; do
	if locale -a 2>/dev/null | grep -qx "$l"; then
		TUI_UTF8=$l
		break
	fi
done
if [ -n "$TUI_UTF8" ]; then
	export LANG=$TUI_UTF8 LC_ALL=$TUI_UTF8
fi
unset NO_COLOR

# The private server's socket lives in the work directory (removed at exit).
TUI_SOCK=perftop-test-$$
export TMUX_TMPDIR=$PT_WORK
unset TMUX
TUI_CONF=$PT_WORK/tmux.conf
cat >"$TUI_CONF" <<'EOF'
set -g status off
set -g remain-on-exit on
set -g default-terminal screen
set -g history-limit 100
set -g escape-time 0
EOF

TUI_MOUNTS=()

tmux_() { tmux -L "$TUI_SOCK" -f "$TUI_CONF" "$@"; }

tui_cleanup() {
	local rc=$? m
	tmux -L "$TUI_SOCK" kill-server >/dev/null 2>&1
	for m in "${TUI_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	(exit "$rc")
	cleanup
}
trap tui_cleanup EXIT

# The exit status of the command of the pane goes to a file: tmux (3.3)
# may mark a pane dead without ever collecting its status (the race of
# tmux pull request 4841), so the shell of the pane writes it instead.
TUI_RUNS=0
TUI_STATUS=
tui_start() {
	local w=$1 h=$2 cmd
	shift 2
	TUI_RUNS=$((TUI_RUNS + 1))
	TUI_STATUS=$PT_WORK/exit.$TUI_RUNS
	rm -f "$TUI_STATUS"
	cmd=$(printf '%q ' "$@")
	tmux_ new-session -d -s main -x "$w" -y "$h" \
	    "$cmd; echo \$? >$(printf '%q' "$TUI_STATUS")" ||
	    hard_error "tmux new-session failed"
}

tui_attach() {
	local w=$1 h=$2
	shift 2
	tui_start "$w" "$h" "$PERFTOP" attach "$DEMO_PID" "$@"
}

tui_shell() {
	tui_start "$1" "$2" env PS1='PT$ ' HISTFILE=/dev/null bash --norc --noprofile -i
	tui_wait 10 '^PT\$' || tui_fail "no shell prompt"
}

tui_keys() { tmux_ send-keys -t main "$@"; }
tui_type() { tmux_ send-keys -t main -l "$1"; }

tui_cap() {
	if [ "${1:-}" = -e ]; then
		tmux_ capture-pane -p -e -t main
	else
		tmux_ capture-pane -p -t main
	fi
}

tui_stable_cap() {
	local a b i
	a=$(tui_cap)
	for ((i = 0; i < 50; i++)); do
		sleep 0.1
		b=$(tui_cap)
		[ "$a" = "$b" ] && break
		a=$b
	done
	printf '%s\n' "$a"
}

tui_has() { tui_cap | grep -Eq -- "$1"; }
tui_hasnt() { ! tui_cap | grep -Eq -- "$1"; }
tui_wait() { wait_until "$1" tui_has "$2"; }
tui_wait_gone() { wait_until "$1" tui_hasnt "$2"; }

tui_dead_status() {
	if [ -s "$TUI_STATUS" ]; then
		echo "dead $(cat "$TUI_STATUS")"
	fi
}

# tui_exited STATUS: the command in the pane exited with STATUS.
tui_exited() { [ "$(tui_dead_status)" = "dead $1" ]; }

# tui_pid NAME: the PID of the process NAME running in the pane.
tui_pid() {
	pgrep -s "$(tmux_ display -p -t main '#{pane_pid}')" -x "$1" | head -n 1
}

tui_line() { tui_cap | sed -n "${1}p"; }

tui_fail() {
	{
		echo "----- pane -----"
		tui_cap
		echo "----------------"
		echo "pane: $(tui_dead_status)"
	} >&2
	fail "$*"
}

# The awk function turning a human value into a number.
TUI_AWK_NUM='
function num(s,    m, v) {
	if (s ~ /%$/) { sub(/%$/, "", s); return s + 0 }
	if (s ~ /^[0-9]+h[0-9]+m$/) {
		split(s, m, /[hm]/); return (m[1] * 3600 + m[2] * 60) * 1e9
	}
	if (s ~ /h$/) { sub(/h$/, "", s); return s * 3600e9 }
	if (s ~ /ns$/) { sub(/ns$/, "", s); return s + 0 }
	if (s ~ /(us|\302\265s)$/) { sub(/(us|\302\265s)$/, "", s); return s * 1e3 }
	if (s ~ /ms$/) { sub(/ms$/, "", s); return s * 1e6 }
	if (s ~ /s$/) { sub(/s$/, "", s); return s * 1e9 }
	if (s ~ /K$/) { sub(/K$/, "", s); return s * 1e3 }
	if (s ~ /M$/) { sub(/M$/, "", s); return s * 1e6 }
	if (s ~ /G$/) { sub(/G$/, "", s); return s * 1e9 }
	if (s ~ /T$/) { sub(/T$/, "", s); return s * 1e12 }
	return s + 0
}'

tui_num() {
	LC_ALL=C awk -v s="$1" "$TUI_AWK_NUM"' BEGIN { printf "%.17g\n", num(s) }'
}

# tui_ops [TEXT]: the operations rows of TEXT (default: a stable capture).
tui_ops() {
	local text
	if [ $# -gt 0 ]; then text=$1; else text=$(tui_stable_cap); fi
	printf '%s\n' "$text" | LC_ALL=C awk "$TUI_AWK_NUM"'
	/^NAME[^ ]* +COUNT[^ ]* +RATE\/s/ { inside = 1; next }
	inside && (NF != 10 || $0 ~ /^NAME/) { exit }
	inside {
		printf "%s", $1
		for (i = 2; i <= 10; i++) printf " %.17g", num($i)
		printf "\n"
	}'
}

# tui_counters [TEXT]: the counters rows (the left part of the bottom panel).
tui_counters() {
	local text
	if [ $# -gt 0 ]; then text=$1; else text=$(tui_stable_cap); fi
	printf '%s\n' "$text" | LC_ALL=C awk "$TUI_AWK_NUM"'
	/^NAME.* VALUE +RATE\/s/ { inside = 1; next }
	inside {
		line = $0
		sub(/[|\342].*$/, "", line)	# the graph on the right
		n = split(line, f, " ")
		if (n != 3) exit
		printf "%s %.17g %.17g\n", f[1], num(f[2]), num(f[3])
	}'
}

# tui_count NAME [TEXT]: the COUNT of operation NAME on screen (empty if
# it is not shown).
tui_count() {
	tui_ops "${2:-$(tui_stable_cap)}" | awk -v n="$1" '$1 == n { print $2 }'
}

# dump_count NAME: the target's count of operation NAME, from perftop dump.
dump_count() {
	"$PERFTOP" dump "$DEMO_PID" --format json |
	    jq -r --arg n "$1" '.operations[] | select(.name == $n) | .count'
}

# demo_warm NAME N: waits until the target counted N events of NAME.
demo_warm() {
	local name=$1 n=$2
	warm_ok() {
		local c
		c=$(dump_count "$name" 2>/dev/null)
		[ -n "$c" ] && [ "$c" -ge "$n" ]
	}
	wait_until 20 warm_ok || fail "the demo did not count $n of $name"
}
