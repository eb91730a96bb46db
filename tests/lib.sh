# shellcheck shell=bash disable=SC2034
# tests/lib.sh - shared helpers of the shell integration tests.
#
# Source it from a bash test:   . "$(dirname "$0")/lib.sh"
#
# It finds the binaries, gives the test a private socket directory and a
# work directory, and kills whatever the test started when it exits.  The
# automake test driver reads the exit status: 0 pass, 77 skip, 99 hard
# error, anything else a failure.
#
# Binaries: $PERFTOP, $PERFTOP_DEMO and $RAWCLIENT when set, otherwise
# $top_builddir/perftop, $top_builddir/perftop-demo (possibly a libtool
# wrapper script, which execs the real program under the same PID) and
# $top_builddir/tests/rawclient.  `make check` exports top_builddir; by hand,
# it defaults to the first of: the directory of $PERFTOP, the source tree,
# its build/ directory, the directory of `perftop` on $PATH.
#
# Variables set for the test:
#   PERFTOP_SOCKET_DIR  a fresh mode 0700 directory (exported), where the
#                       demo and perftop meet
#   PT_WORK             a fresh directory for the test's files
#   DEMO_PID            the PID of the last demo start_demo started
#   BG_PID              the PID of the last command start_bg started
#
# Functions:
#   start_demo [ARGS]   starts perftop-demo, waits until its socket exists
#   start_bg CMD...     starts CMD in the background, to be killed at exit
#   stop_pid PID [SIG]  sends SIG (default TERM), waits up to 5 s for the end
#   wait_until SECS CMD...  runs CMD every 0.1 s until it succeeds
#   expect_error DESC CMD...  CMD must fail with one "perftop: " line
#   jsonl_check FILE    every complete line of FILE is a JSON snapshot
#   jq_checks FILE DESC EXPR...  jq expressions that must hold, one jq run
#   frame_types HEX     message types of protocol frames (for rawclient)
#   fail MSG / skip MSG / hard_error MSG / pass / note MSG
#   need_cmd NAME... / need_root

set -u

PT_TEST_NAME=$(basename "$0" .sh)
PT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

note() { printf '%s: %s\n' "$PT_TEST_NAME" "$*" >&2; }
fail() { printf 'FAIL: %s: %s\n' "$PT_TEST_NAME" "$*" >&2; exit 1; }
skip() { printf 'SKIP: %s: %s\n' "$PT_TEST_NAME" "$*" >&2; exit 77; }
hard_error() { printf 'ERROR: %s: %s\n' "$PT_TEST_NAME" "$*" >&2; exit 99; }
pass() { printf 'PASS: %s\n' "$PT_TEST_NAME"; exit 0; }

# ---------------------------------------------------------------------------
# Binaries
# ---------------------------------------------------------------------------

pt_find_builddir() {
	local d
	if [ -n "${PERFTOP:-}" ]; then
		(cd "$(dirname "$PERFTOP")" && pwd)
		return
	fi
	for d in "$PT_LIB_DIR/.." "$PT_LIB_DIR/../build"; do
		if [ -x "$d/perftop" ]; then
			(cd "$d" && pwd)
			return
		fi
	done
	if d=$(command -v perftop 2>/dev/null); then
		dirname "$d"
		return
	fi
	(cd "$PT_LIB_DIR/.." && pwd)
}

top_builddir=${top_builddir:-$(pt_find_builddir)}
top_srcdir=${top_srcdir:-$(cd "$PT_LIB_DIR/.." && pwd)}
PERFTOP=${PERFTOP:-$top_builddir/perftop}
PERFTOP_DEMO=${PERFTOP_DEMO:-$top_builddir/perftop-demo}
RAWCLIENT=${RAWCLIENT:-$top_builddir/tests/rawclient}
export top_builddir top_srcdir PERFTOP PERFTOP_DEMO RAWCLIENT

[ -x "$PERFTOP" ] || hard_error "perftop not found at $PERFTOP (build first)"

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# ---------------------------------------------------------------------------
# Private directories and cleanup
# ---------------------------------------------------------------------------

PT_PIDS=()
PT_DIRS=()
DEMO_PID=
BG_PID=

# A socket path must fit in 108 bytes: keep the directory short.
pt_tmpbase=${TMPDIR:-/tmp}
[ "${#pt_tmpbase}" -gt 60 ] && pt_tmpbase=/tmp

PERFTOP_SOCKET_DIR=$(mktemp -d "$pt_tmpbase/ptsock.XXXXXX") ||
    hard_error "mktemp failed"
chmod 700 "$PERFTOP_SOCKET_DIR"
export PERFTOP_SOCKET_DIR
PT_DIRS+=("$PERFTOP_SOCKET_DIR")
PT_WORK=$(mktemp -d "$pt_tmpbase/ptwork.XXXXXX") || hard_error "mktemp failed"
PT_DIRS+=("$PT_WORK")

# The agent must run in the demo whatever the caller's environment says.
unset PERFTOP_AGENT

cleanup() {
	local rc=$? p i
	trap - EXIT INT TERM
	for p in "${PT_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PT_PIDS[@]}"; do
		for ((i = 0; i < 30; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for p in "${PT_DIRS[@]}"; do
		# Directories made unwritable or foreign by a test.
		chmod -R u+rwx "$p" 2>/dev/null
		rm -rf "$p"
	done
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

# wait_until SECS CMD...: 0 as soon as CMD succeeds, 1 after SECS seconds.
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

pt_alive() { kill -0 "$1" 2>/dev/null; }
pt_dead() { ! kill -0 "$1" 2>/dev/null; }

# start_bg CMD...: runs CMD in the background; its PID goes to BG_PID.
start_bg() {
	"$@" &
	BG_PID=$!
	PT_PIDS+=("$BG_PID")
}

# stop_pid PID [SIG]: signals PID and reaps it; returns its exit status.
stop_pid() {
	local pid=$1 sig=${2:-TERM} rc
	kill -"$sig" "$pid" 2>/dev/null
	wait_until 5 pt_dead "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	return "$rc"
}

# start_demo [ARGS]: starts perftop-demo with ARGS and waits (up to 10 s)
# until its socket $PERFTOP_SOCKET_DIR/$DEMO_PID.sock exists.  A libtool
# wrapper script execs the real program, so $! is the PID the agent uses.
pt_demo_count=0
start_demo() {
	local pid i sock
	[ -x "$PERFTOP_DEMO" ] || hard_error "perftop-demo not found at $PERFTOP_DEMO"
	pt_demo_count=$((pt_demo_count + 1))
	"$PERFTOP_DEMO" "$@" >"$PT_WORK/demo.$pt_demo_count.log" 2>&1 &
	pid=$!
	PT_PIDS+=("$pid")
	sock=$PERFTOP_SOCKET_DIR/$pid.sock
	for ((i = 0; i < 100; i++)); do
		[ -S "$sock" ] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$PT_WORK/demo.$pt_demo_count.log" >&2
			fail "perftop-demo (pid $pid) exited before serving"
		fi
		sleep 0.1
	done
	if [ ! -S "$sock" ]; then
		ls -la "$PERFTOP_SOCKET_DIR" >&2
		fail "no socket $sock after 10 s (did a wrapper not exec the demo?)"
	fi
	DEMO_PID=$pid
}

# demo_heap PID: sets HEAP to the heap in use of PID, the demo started last
# (with --heap-on-usr1), as it prints it on SIGUSR1: what the allocator's
# free pools do not hide (glibc's mallinfo2, or the sanitizer's count).
# Read between snapshots, not from a dump, whose own snapshot grows as the
# histograms fill.  Returns 1 when no answer came within 5 s.
pt_heap_lines() { grep -c '^perftop-demo: heap: ' "$PT_WORK/demo.$pt_demo_count.log"; }
# shellcheck disable=SC2317  # run through wait_until
pt_heap_reported() { [ "$(pt_heap_lines)" -gt "$1" ]; }
demo_heap() {
	local n
	HEAP=
	n=$(pt_heap_lines)
	kill -USR1 "$1" 2>/dev/null || return 1
	wait_until 5 pt_heap_reported "$n" || return 1
	HEAP=$(grep '^perftop-demo: heap: ' "$PT_WORK/demo.$pt_demo_count.log" |
	    tail -n 1 | sed -n 's/.* in_use=\([0-9]*\).*/\1/p')
	[ -n "$HEAP" ]
}

# fd_count PID: sets FDS to the number of descriptors PID has open (0 when
# it is gone).  A glob, not a fork: the soak reads it ten times a second.
fd_count() {
	local f=("/proc/$1/fd/"*)
	FDS=0
	[ -e "${f[0]}" ] && FDS=${#f[@]}
}

# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

# expect_error DESC CMD...: CMD must exit non-zero and print exactly one
# line on stderr, starting with "perftop: ".  The line goes to ERR_LINE.
ERR_LINE=
expect_error() {
	local desc=$1 rc lines
	shift
	"$@" >"$PT_WORK/expect.out" 2>"$PT_WORK/expect.err"
	rc=$?
	ERR_LINE=$(cat "$PT_WORK/expect.err")
	[ "$rc" -ne 0 ] || fail "$desc: exit status 0 (stderr: $ERR_LINE)"
	lines=$(wc -l <"$PT_WORK/expect.err")
	if [ "$lines" -ne 1 ] || [ -n "$(tail -c 1 "$PT_WORK/expect.err")" ]; then
		fail "$desc: expected one line on stderr, got $lines: $ERR_LINE"
	fi
	case $ERR_LINE in
	"perftop: "?*) ;;
	*) fail "$desc: stderr does not start with 'perftop: ': $ERR_LINE" ;;
	esac
	[ "$rc" -lt 128 ] || fail "$desc: killed by a signal (status $rc)"
	note "$desc: exit $rc: $ERR_LINE"
}

# jsonl_check FILE: every newline-terminated line of FILE must be a JSON
# snapshot object (each line parsed on its own, like `jq -c .` line by
# line, in one jq run); an unterminated last line is allowed (a writer
# killed mid-line).  Sets JSONL_LINES to the number of complete lines and
# JSONL_PARTIAL to 1 when there is an unterminated tail.
JSONL_LINES=0
JSONL_PARTIAL=0
jsonl_check() {
	local file=$1 bad
	JSONL_LINES=0
	JSONL_PARTIAL=0
	[ -f "$file" ] || fail "$file does not exist"
	JSONL_LINES=$(wc -l <"$file")
	if [ -s "$file" ] && [ -n "$(tail -c 1 "$file")" ]; then
		JSONL_PARTIAL=1
	fi
	[ "$JSONL_LINES" -gt 0 ] || return 0
	bad=$(head -n "$JSONL_LINES" "$file" | jq -R -r -n '
	    [inputs] | to_entries[] |
	    select(.value | (try fromjson catch null) |
	        (type == "object" and .format == "perftop-snapshot") | not) |
	    .key + 1' | head -n 1) || fail "$file: jq failed"
	[ -z "$bad" ] ||
	    fail "$file: line $bad is not a JSON snapshot: $(sed -n "${bad}p" "$file" | head -c 200)"
}

# jq_checks FILE DESC EXPR [DESC EXPR]...: every jq EXPR must be true of
# the JSON in FILE; all are evaluated by one jq run (jq is slow to start).
# Fails naming the first DESC whose EXPR is not true.
jq_checks() {
	local file=$1 prog='' sep='' bad
	local -a descs=()
	shift
	while [ $# -ge 2 ]; do
		descs+=("$1")
		prog+="$sep([($2)] | all)"
		sep=", "
		shift 2
	done
	bad=$(jq -r "[$prog] | to_entries[] | select(.value != true) | .key" "$file") ||
	    fail "jq failed on $file"
	if [ -n "$bad" ]; then
		bad=$(head -n 1 <<<"$bad")
		jq -c . "$file" | head -c 2000 >&2
		echo >&2
		fail "check failed: ${descs[$bad]}"
	fi
}

# frame_types HEX: the message types of the protocol frames in HEX (the
# bytes an agent sent, as rawclient prints them), space-separated; a
# truncated last frame shows as "partial".
frame_types() {
	local hex=$1 off=0 len type out=
	while [ $((off * 2)) -lt ${#hex} ]; do
		if [ $(((off + 8) * 2)) -gt ${#hex} ]; then
			out+="partial "
			break
		fi
		len=$((16#${hex:off*2+6:2}${hex:off*2+4:2}${hex:off*2+2:2}${hex:off*2:2}))
		type=$((16#${hex:off*2+10:2}${hex:off*2+8:2}))
		if [ "$len" -lt 8 ] || [ $(((off + len) * 2)) -gt ${#hex} ]; then
			out+="partial "
			break
		fi
		out+="$type "
		off=$((off + len))
	done
	printf '%s\n' "${out% }"
}

# Frames of the protocol, as hex, for rawclient.
PT_HELLO=0d0000000100000050544f5004		# HELLO, magic "PTOP", version 4
PT_SNAPSHOT_REQ=0800000005000000		# SNAPSHOT_REQ
PT_SUBSCRIBE_10MS=09000000040000000a	# SUBSCRIBE 10 ms
