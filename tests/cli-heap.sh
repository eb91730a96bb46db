#!/usr/bin/env bash
# shellcheck disable=SC2119,SC2317  # start_demo takes optional args; helpers run through wait_until
# cli-heap.sh - the heap figure: by default a dump of the demo reports the
# bytes its malloc heap has in use (above zero); with PERFTOP_HEAP=0 in the
# instrumented program's environment the library never asks the allocator
# (whose mallinfo2 locks every arena while it walks the free chunks) and the
# figure is 0, in JSON and in the Prometheus text alike.
. "$(dirname "$0")/lib.sh"
need_cmd jq

dump_json() {
	"$PERFTOP" dump "$1" --format json >"$PT_WORK/$2.json" 2>"$PT_WORK/$2.err" ||
	    { cat "$PT_WORK/$2.err" >&2; fail "dump of $1 failed"; }
}

start_demo
on=$DEMO_PID
PERFTOP_HEAP=0 start_demo
off=$DEMO_PID

dump_json "$on" on
jq_checks "$PT_WORK/on.json" \
    "default: heap_bytes above 0" '.memory.heap_bytes > 0' \
    "default: RSS above 0" '.memory.rss_bytes > 0'

dump_json "$off" off
jq_checks "$PT_WORK/off.json" \
    "PERFTOP_HEAP=0: heap_bytes 0" '.memory.heap_bytes == 0' \
    "PERFTOP_HEAP=0: RSS still read" '.memory.rss_bytes > 0 and .memory.peak_rss_bytes >= .memory.rss_bytes'

"$PERFTOP" dump "$off" --format prometheus >"$PT_WORK/off.prom" ||
    fail "prometheus dump failed"
grep -qx 'perftop_memory_heap_bytes 0' "$PT_WORK/off.prom" ||
    { grep heap "$PT_WORK/off.prom" >&2; fail "PERFTOP_HEAP=0: the Prometheus heap gauge is not 0"; }

pass
