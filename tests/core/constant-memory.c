/*
 * constant-memory.c - suite "constant-memory": the size of a thread's
 * slot, and resident memory that stays put as events accumulate.
 */
#include "core-test.h"

static void
test_slot_costs_at_most_16_kib(void)
{
	CU_ASSERT(pt__slot_bytes() > 0);
	check_report(pt__slot_bytes() <= 16384, __LINE__, "slot <= 16 KiB",
	    "pt__slot_bytes() = %zu", pt__slot_bytes());
}

static pt_site mem_sites[4] = {
	PT_SITE_INIT("mem.loop.a", PT_KIND_OP),
	PT_SITE_INIT("mem.loop.b", PT_KIND_OP),
	PT_SITE_INIT("mem.loop.c", PT_KIND_OP),
	PT_SITE_INIT("mem.loop.d", PT_KIND_OP),
};

static void
scope_loop(uint64_t from, uint64_t to)
{
	uint64_t i;

	for (i = from; i < to; i++) {
		pt_scope sc = pt_scope_begin(&mem_sites[i & 3]);

		pt_scope_end(&sc);
	}
}

static void
test_rss_constant_from_1m_to_100m_events(void)
{
	/* Under valgrind (every clock read a system call) the sizes are not
	   checked: a shorter loop still runs the path. */
	const uint64_t first = valgrind ? 250000 : 1000000,
	    all = valgrind ? 500000 : quick ? 2000000 : SANITIZED ? 10000000 :
	    100000000;
	uint64_t rss1, rss2, total = 0;
	pt_snapshot *s;
	int k;

	scope_loop(0, first);
	rss1 = rss_bytes();
	scope_loop(first, all);
	rss2 = rss_bytes();
	if (!MEMORY_FIGURES)
		skipped("rss growth");
	else
		check_report(rss2 < rss1 + 64 * KIB, __LINE__,
		    "rss growth < 64 KiB", "VmRSS %" PRIu64 " KiB after "
		    "%" PRIu64 " events, %" PRIu64 " KiB after %" PRIu64,
		    rss1 / KIB, first, rss2 / KIB, all);
	s = snap_take();
	for (k = 0; k < 4; k++) {
		CHECK_U64_EQ(snap_op(s, mem_sites[k].pt_name)->count, all / 4);
		total += snap_op(s, mem_sites[k].pt_name)->count;
	}
	CHECK_U64_EQ(total, all);
	pt_snapshot_free(s);
}

const struct test_def constmem_tests[] = {
	TEST(test_slot_costs_at_most_16_kib),
	TEST(test_rss_constant_from_1m_to_100m_events),
	{ NULL, NULL }
};
