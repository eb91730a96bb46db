/*
 * agent-bench-heap.c - pt-agent-bench part 3: what a viewer at 10 Hz costs a
 * program whose malloc heap is large and fragmented.  The heap figure of a
 * snapshot comes from glibc's mallinfo2(), which walks every free chunk of
 * every arena with the arena locked: the agent's CPU, and the time the
 * program's own malloc() calls wait for the lock, grow with the heap.
 */
#include "agent-bench.h"

#include <malloc.h>
#include <pthread.h>

#define HEAP_BLOCKS		1000000	/* allocated; every other one freed */
#define HEAP_BLOCKS_QUICK	100000
#define HEAP_PROBE_BYTES	2048	/* above glibc's per-thread cache:
					   from the arena, under its lock */
#define HEAP_INTERVAL_MS	100	/* the viewer's: 10 Hz */
#define HEAP_SNAPSHOTS		50	/* measured, after the first */
#define HEAP_SNAPSHOTS_QUICK	10

/* Part 3: the agent's CPU and the program's malloc stalls, large heap. */
void
part_heap(void)
{
	size_t nblocks = g_quick ? HEAP_BLOCKS_QUICK : HEAP_BLOCKS, i;
	struct own_viewer hv = { .n = g_quick ? HEAP_SNAPSHOTS_QUICK :
	    HEAP_SNAPSHOTS, .interval_ms = HEAP_INTERVAL_MS };
	void **blk = xcalloc(nblocks, sizeof *blk);
	uint64_t t0, t, stall = 0, mallocs = 0;
	struct mallinfo2 mi;
	pt_memory mem;
	pthread_t th;
	int ph;
	pt_site site = PT_SITE_INIT("bench.heap", PT_KIND_OP);

	/* The main thread's arena: a few hundred thousand free chunks. */
	for (i = 0; i < nblocks; i++)
		if ((blk[i] = malloc(32 + (i % 7) * 48)) == NULL)
			die("malloc", strerror(ENOMEM));
	for (i = 0; i < nblocks; i += 2) {
		free(blk[i]);
		blk[i] = NULL;
	}
	mi = mallinfo2();
	t0 = now_ns();
	check("pt_memory_read", pt_memory_read(&mem));
	t = now_ns() - t0;
	comment("heap: %zu blocks of 32 .. 320 bytes, every other one freed: "
	    "%.0f MiB in use, %zu free chunks; a viewer at %d Hz, %d "
	    "snapshots after the first; the main thread meanwhile calls "
	    "malloc(%d) and free() in a loop", nblocks,
	    (double)mi.uordblks / 1048576.0, (size_t)mi.ordblks,
	    1000 / HEAP_INTERVAL_MS, hv.n, HEAP_PROBE_BYTES);
	figure("heap_read_ms", "%.2f", (double)t / 1e6);

	/* The agent starts with the first event. */
	check("pt_record_ns", pt_record_ns(&site, 1000));
	if (pthread_create(&th, NULL, own_viewer_main, &hv) != 0)
		die("pthread_create", strerror(errno));
	/* The program: mallocs in the fragmented arena, each one timed. */
	while ((ph = atomic_load(&hv.phase)) != 2) {
		void *p;

		/* The phase as the call starts: one that began before the
		 * first snapshot was sent is not counted. */
		t0 = now_ns();
		p = malloc(HEAP_PROBE_BYTES);
		/* p used: the compiler may not drop the pair. */
		__asm__ volatile("" : : "r"(p) : "memory");
		free(p);
		t = now_ns() - t0;
		if (ph == 1) {
			mallocs++;
			if (t > stall)
				stall = t;
		}
		if ((mallocs & 1023) == 0)
			sleep_ns(100000);	/* leave the agent a CPU */
	}
	pthread_join(th, NULL);
	if (!hv.ok)
		die("heap", "the viewer did not get its snapshots");
	figure("heap_agent_snapshot_us", "%.1f", hv.cpu_us);
	figure("heap_agent_cpu_percent", "%.3f",
	    hv.cpu_us / (HEAP_INTERVAL_MS * 10.0));
	figure("heap_malloc_max_stall_ms", "%.3f", (double)stall / 1e6);
	figure("heap_mallocs", "%.0f", (double)mallocs);
	target_line("heap_agent_cpu_percent", hv.cpu_us /
	    (HEAP_INTERVAL_MS * 10.0), 1.0, "%", 1);
	for (i = 0; i < nblocks; i++)
		free(blk[i]);
	free(blk);
}
