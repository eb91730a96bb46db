/*
 * heap.c - the header of the cache's snapshot, and the pacing of the heap
 * reading.
 */
#include "snapcache-test.h"

/* Sleeps ms milliseconds. */
static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * The header of the cache's snapshot: RSS, time and pid read at every
 * refresh; the heap (slow to read in a large heap, its arenas locked
 * meanwhile) kept until pt__heap_next_ns(), then read again.
 */
static void
test_header(void)
{
	struct pt__snapcache c;
	uint64_t heap0, h1, h2, t0, read_ns, next, now;
	size_t big = 32u << 20;
	char *p;

	/* A reading is due (the tests before read it): each one moves
	 * pt__heap_next_ns() on, at least PT__HEAP_EVERY_NS past it. */
	memset(&c, 0, sizeof c);
	pt__heap_wait_end();
	read_ns = pt__mono_ns();
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	heap0 = c.cur->memory.heap_bytes;
	t0 = c.cur->time_ns;
	next = pt__heap_next_ns();
	CU_ASSERT(read_ns > 0);
	CU_ASSERT(next >= read_ns + PT__HEAP_EVERY_NS);
	CU_ASSERT(c.cur->pid == (int32_t)getpid());
	CU_ASSERT(c.cur->memory.rss_bytes > 0);
	CU_ASSERT(strlen(c.cur->process) > 0);
	CU_ASSERT_FATAL((p = malloc(big)) != NULL);
	for (size_t k = 0; k < big; k += 4096)
		((volatile char *)p)[k] = 1;	/* not a dead store */
	/* At once: the heap as it was, the rest new. */
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	if (pt__heap_next_ns() == next) {
		CU_ASSERT_EQUAL(c.cur->memory.heap_bytes, heap0);
	} else {	/* a slow machine: the wait went by */
		CU_ASSERT(pt__heap_next_ns() >= next + PT__HEAP_EVERY_NS);
	}
	CU_ASSERT(c.cur->time_ns > t0);
	CU_ASSERT(c.cur->memory.rss_bytes >= big);
	/* Once the wait is over: read again, 32 MiB more than heap0 (under
	 * valgrind, whose malloc glibc does not see, all the readings are
	 * alike).  This test's heap is small: its wait is the floor, unless
	 * the reading was slow (valgrind's mallinfo, or a loaded machine
	 * that preempted it): 1,000 x as long as it took ("heap wait: the
	 * floor or 1,000 x the read"), cut short then. */
	next = pt__heap_next_ns();
	now = pt__mono_ns();
	if (next > now + 2 * PT__HEAP_EVERY_NS) {
		pt__heap_wait_end();
		next = 1;
	} else if (next > now) {
		sleep_ms((long)((next - now) / 1000000) + 10);
	}
	h1 = pt__memory_heap();
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	h2 = pt__memory_heap();
	CU_ASSERT(pt__heap_next_ns() != next);	/* read again */
	/* Within what the refresh itself allocates or frees: 1 MiB. */
	CU_ASSERT(c.cur->memory.heap_bytes + (1u << 20) >= (h1 < h2 ? h1 : h2)
	    && c.cur->memory.heap_bytes <= (h1 < h2 ? h2 : h1) + (1u << 20));
	free(p);
	pt__snapcache_free(&c);
}

/*
 * The wait after a heap reading: the floor, or PT__HEAP_COST_RATIO times
 * what the reading took, saturating.
 */
static void
test_heap_wait(void)
{
	const uint64_t ms = 1000000;

	CU_ASSERT_EQUAL(pt__heap_wait_ns(0), PT__HEAP_EVERY_NS);
	CU_ASSERT_EQUAL(pt__heap_wait_ns(50000), PT__HEAP_EVERY_NS);
	CU_ASSERT_EQUAL(pt__heap_wait_ns(PT__HEAP_EVERY_NS /
	    PT__HEAP_COST_RATIO), PT__HEAP_EVERY_NS);
	CU_ASSERT_EQUAL(pt__heap_wait_ns(ms), PT__HEAP_COST_RATIO * ms);
	/* The bench's 92 MiB heap with 357,109 free chunks: ~57 ms. */
	CU_ASSERT_EQUAL(pt__heap_wait_ns(57 * ms), 57000 * ms);
	CU_ASSERT_EQUAL(pt__heap_wait_ns(UINT64_MAX / 10), UINT64_MAX);
}

/*
 * The pacing is the process's: a cache made after the last viewer left
 * (a `perftop dump` a second, say) gets the last reading while it is
 * recent, not a new one.
 */
static void
test_heap_shared(void)
{
	struct pt__snapcache a, b;
	uint64_t heap, next;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&a) == 0);
	heap = a.cur->memory.heap_bytes;
	next = pt__heap_next_ns();
	pt__snapcache_free(&a);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&b) == 0);
	if (pt__mono_ns() < next) {
		CU_ASSERT_EQUAL(b.cur->memory.heap_bytes, heap);
		CU_ASSERT_EQUAL(pt__heap_next_ns(), next);
	}
	pt__snapcache_free(&b);
}

const struct cunit_test heap_tests[] = {
	{ "header: heap read again after its wait", test_header },
	{ "heap wait: the floor or 1,000 x the read", test_heap_wait },
	{ "heap pacing shared by the caches", test_heap_shared },
	{ NULL, NULL }
};
