#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2317  # $$ is the child shell's; helpers run through wait_until
# harden-fork.sh - the demo forks 1,000 children (one every 2 ms) while two
# viewers stream at 50 ms.  Every child records scopes, checks
# pt_snapshot_take() and leaves (half through exit(), so the library's
# atexit handler runs in it); every 10th execs a shell that lists its own
# descriptors.  Then:
#  - no child serves or removes the parent's socket: only DEMO_PID.sock is
#    ever seen in the socket directory, it is still there and served, and
#    both recordings are valid with a growing "forks" counter;
#  - no deadlock: each fork() returns, and each child starts and is reaped,
#    within 1 s (the demo measures; the figures are reported);
#  - no agent descriptor survives exec: no socket, no eventfd.
. "$(dirname "$0")/lib.sh"
need_cmd jq

# GCC 12's AddressSanitizer does not hold its allocator's lock across
# fork(): a child forked while another thread allocates deadlocks in its
# first malloc() (seen: pt_snapshot_take() -> calloc -> FutexWait).  Not a
# bug of ours, and glibc's malloc is fork-safe; skip in such builds.
if grep -q '^SAN_CFLAGS *=.*-fsanitize=address' "$top_builddir/Makefile" 2>/dev/null; then
	skip "AddressSanitizer's allocator is not fork-safe (children deadlock in malloc)"
fi

forks=${HARDEN_FORKS:-1000}
fdir=$PT_WORK/fds
mkdir "$fdir" || hard_error "mkdir $fdir"

# The descriptors the test itself passes down (a harness may hold some):
# sockets among them are not the agent's.
inherited=$(ls -l /proc/self/fd/ 2>/dev/null | grep -o 'socket:\[[0-9]*\]' | sort -u)

start_demo --fork-every 2 --fork-count "$forks" \
    --exec-child "ls -l /proc/\$\$/fd/ >$fdir/fd.\$\$"
pid=$DEMO_PID
log=$PT_WORK/demo.$pt_demo_count.log

"$PERFTOP" record "$pid" -o "$PT_WORK/rec1.jsonl" --interval 0.05 2>"$PT_WORK/rec1.err" &
r1=$!
PT_PIDS+=("$r1")
"$PERFTOP" record "$pid" -o "$PT_WORK/rec2.jsonl" --interval 0.05 2>"$PT_WORK/rec2.err" &
r2=$!
PT_PIDS+=("$r2")

# Watch the socket directory until the demo reports its forks are done.
seen=$PT_WORK/seen
: >"$seen"
deadline=$((SECONDS + 60))
while ! grep -q '^perftop-demo: forks: ' "$log"; do
	for f in "$PERFTOP_SOCKET_DIR"/*; do
		[ -e "$f" ] && echo "${f##*/}"
	done >>"$seen"
	pt_alive "$pid" || { cat "$log" >&2; fail "the demo died while forking"; }
	[ "$SECONDS" -lt "$deadline" ] || { cat "$log" >&2; fail "$forks forks not done in 60 s"; }
	sleep 0.01
done
others=$(sort -u "$seen" | grep -vx "$pid.sock")
[ -z "$others" ] || fail "other sockets appeared in the socket directory: $others"
[ -S "$PERFTOP_SOCKET_DIR/$pid.sock" ] || fail "the parent's socket is gone"

line=$(grep -m1 '^perftop-demo: forks: ' "$log")
note "$line"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
[ "$(field forks)" -eq "$forks" ] || fail "forks: $(field forks), expected $forks"
[ "$(field reaped)" -eq "$forks" ] || fail "reaped: $(field reaped), expected $forks"
[ "$(field failures)" -eq 0 ] || { cat "$log" >&2; fail "children failed"; }
for f in max_fork_ms max_child_start_ms max_child_life_ms; do
	awk -v v="$(field "$f")" 'BEGIN { exit !(v < 1000) }' ||
	    fail "$f = $(field "$f") ms (1 s at most)"
done

# The viewers are still served after the forks, and the parent too.
sleep 0.3
"$PERFTOP" dump "$pid" --format json >"$PT_WORK/dump.json" ||
    fail "dump after the forks failed"
jq_checks "$PT_WORK/dump.json" \
    "pid is the parent's" ".pid == $pid" \
    "forks counted" "[.counters[] | select(.name == \"forks\") | .value][0] == $forks"
pt_alive "$r1" || fail "record 1 ended: $(cat "$PT_WORK/rec1.err")"
pt_alive "$r2" || fail "record 2 ended: $(cat "$PT_WORK/rec2.err")"
stop_pid "$r1" TERM || fail "record 1 exited with $?: $(cat "$PT_WORK/rec1.err")"
stop_pid "$r2" TERM || fail "record 2 exited with $?: $(cat "$PT_WORK/rec2.err")"
for r in rec1 rec2; do
	jsonl_check "$PT_WORK/$r.jsonl"
	[ "$JSONL_LINES" -ge 10 ] || fail "$r: only $JSONL_LINES snapshots"
	# The "forks" counter never goes down, grows, and reaches $forks.
	jq -s -e --argjson n "$forks" '
	    [.[] | ([.counters[] | select(.name == "forks") | .value][0] // 0)] as $f |
	    ($f | . == sort) and ($f[-1] == $n) and ($f[0] < $n)' \
	    "$PT_WORK/$r.jsonl" >/dev/null ||
	    fail "$r: the forks counter does not grow to $forks"
	note "$r: $JSONL_LINES snapshots"
done

# exec: the shells listed their descriptors; none is a socket or an eventfd
# (other than what the test itself passed down).
nfd=$(find "$fdir" -name 'fd.*' | wc -l)
[ "$nfd" -ge $((forks / 10)) ] || fail "only $nfd of $((forks / 10)) exec'd children listed their descriptors"
bad=$(cat "$fdir"/fd.* | grep -o 'socket:\[[0-9]*\]\|anon_inode:\[eventfd\]' | sort -u |
    grep -vxF "${inherited:-none}")
[ -z "$bad" ] || fail "descriptors of the agent survived exec: $bad"

stop_pid "$pid" TERM || { cat "$log" >&2; fail "the demo exited with $?"; }
[ ! -e "$PERFTOP_SOCKET_DIR/$pid.sock" ] || fail "the demo left its socket behind"
echo "reliability: fork forks=$forks execs=$nfd $(sed 's/.*failures=[0-9]* execs=[0-9]* //' <<<"$line")" >&2
pass
