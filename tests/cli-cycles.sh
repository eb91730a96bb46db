#!/usr/bin/env bash
# shellcheck disable=SC2317  # helpers run through wait_until
# cli-cycles.sh - 1,000 attach/detach cycles against the demo leave its
# open descriptors and its heap in use where they were: viewers that close
# at once, after a HELLO, after their first snapshot and after a BYE.  The
# heap is compared after a warm-up, which lets the allocator settle.
. "$(dirname "$0")/lib.sh"
[ -x "$RAWCLIENT" ] || hard_error "rawclient not found at $RAWCLIENT (make check builds it)"

CYCLES=1000
WARM_KIB=8		# the warm-up ends with a batch adding less than this
HEAP_SLACK_KIB=32	# what the measured cycles may add: 32 bytes a cycle

# No replay buffer: the demo's own memory stays flat.
start_demo --no-replay --heap-on-usr1 --threads 1
pid=$DEMO_PID
sock=$PERFTOP_SOCKET_DIR/$pid.sock
hs=$PT_HELLO$PT_SUBSCRIBE_10MS

# fds_back N: the demo has N descriptors open or fewer (the agent closes
# its ends as it sees the viewers go).
fds_back() { fd_count "$pid"; [ "$FDS" -le "$1" ]; }

# cycles N: N attach/detach cycles (rawclient -c; N a multiple of 4, half
# of them take a snapshot); sets HEAP to the heap in use after them.
cycles() {
	local out
	out=$("$RAWCLIENT" -c "$1" "$sock" "$hs" 10000) || fail "$out"
	[ "$out" = "cycles=$1 snapshots=$(($1 / 2))" ] ||
	    fail "unexpected: $out"
	pt_alive "$pid" || fail "the demo died"
	demo_heap "$pid" || fail "the demo does not report its heap (--heap-on-usr1)"
}

# The warm-up: the agent frees its snapshot cache when its last viewer
# leaves, but the allocator keeps blocks freed by each thread in caches of
# its own, which mallinfo2() counts as in use: it settles after a few
# thousand cycles.  Batches of cycles until one adds next to nothing; a
# leak of 8 bytes a cycle or more never ends it.
fd_count "$pid"
fds0=$FDS
demo_heap "$pid" || fail "the demo does not report its heap (--heap-on-usr1)"
prev=$HEAP
for ((i = 1; ; i++)); do
	cycles "$CYCLES"
	g=$(((HEAP - prev) / 1024))
	note "warm-up batch $i: heap in use $HEAP bytes ($g KiB more)"
	prev=$HEAP
	[ "$g" -lt "$WARM_KIB" ] && break
	[ "$i" -lt 10 ] ||
	    fail "heap in use still grows by $g KiB each $CYCLES cycles after $i batches"
done
wait_until 10 fds_back "$fds0" ||
    fail "$FDS descriptors open after the warm-up, $fds0 before"

# The measured cycles.
t0=$(date +%s%N)
cycles "$CYCLES"
ms=$((($(date +%s%N) - t0) / 1000000))
growth=$(((HEAP - prev) / 1024))
wait_until 10 fds_back "$fds0" ||
    fail "$FDS descriptors open after $CYCLES cycles, $fds0 before"
note "$CYCLES cycles in $ms ms: $FDS descriptors ($fds0 before), heap in use $HEAP bytes ($growth KiB more)"
[ "$growth" -lt "$HEAP_SLACK_KIB" ] ||
    fail "heap in use grew by $growth KiB over $CYCLES cycles (limit $HEAP_SLACK_KIB)"

# Still serving.
"$PERFTOP" dump "$pid" --format json >"$PT_WORK/dump.json" ||
    fail "dump after the cycles failed"
jq -e '.operations | length > 0' "$PT_WORK/dump.json" >/dev/null ||
    fail "dump after the cycles has no operations"
pass
