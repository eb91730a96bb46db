/*
 * replay.c - operations updated from the slots' journals come out exactly as a
 * full snapshot says, and fall back to the buckets whenever the journal
 * cannot tell (too many events, a batch, a slot another cache read last,
 * a reset).
 */
#include "snapcache-test.h"

/*
 * A few events per slot in two threads, into buckets old and new, are
 * replayed from the journals (no operation merged) and come out exact;
 * nothing new: nothing replayed, versions unchanged.
 */
static void
test_replay_exact(void)
{
	struct pt__snapcache c;
	struct helper h;
	struct burst b1 = { 3, 500 }, b2 = { 2, 90000 };
	uint64_t ver0;
	int i;

	memset(&c, 0, sizeof c);
	helper_start(&h);
	helper_run(&h, burst_job, &b1);
	for (i = 0; i < OPS; i++)
		rec(i, 1000);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT(same_as_full(&c));

	/* Old buckets and new ones, smaller and larger than min and max. */
	helper_run(&h, burst_job, &b2);
	for (i = 0; i < OPS; i++) {
		rec(i, 1000);
		rec(i, 3);
		rec(i, 2000000 + (uint64_t)i);
	}
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, OPS);
	CU_ASSERT_EQUAL(c.merged, 0);
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT(cache_consistent(&c));

	/* Nothing happened. */
	ver0 = c.ver[0];
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 0);
	CU_ASSERT_EQUAL(c.merged, 0);
	CU_ASSERT_EQUAL(c.ver[0], ver0);
	CU_ASSERT(same_as_full(&c));

	/* One zero-length event in one operation: it alone moves. */
	rec(5, 0);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT_EQUAL(c.ver[0], ver0);
	CU_ASSERT(same_as_full(&c));

	helper_stop(&h);
	pt__snapcache_free(&c);
}

/*
 * The journal holds PT__JOURNAL - 1 events a refresh: one more, or a
 * batch of identical events, and the operation is merged from its buckets
 * (and replayed again afterwards).
 */
/*
 * Buckets coming into a filling histogram, round after round: a few new
 * ones or many (more than the lookups, one walk then), below, between and
 * above the old ones, each round within the journal.  The cache's buckets,
 * its group records and its change lists stay exact.
 */
static void
test_inserts(void)
{
	struct pt__snapcache c;
	uint64_t r = 42, ticks;
	int i, round, e, n, ok = 1, consistent = 1;

	memset(&c, 0, sizeof c);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	for (round = 0; round < 40; round++) {
		for (i = 0; i < OPS; i++) {
			/* 1 .. PT__JOURNAL - 1 events. */
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			n = 1 + (int)((r >> 33) % (round % 3 == 2 ?
			    PT__JOURNAL - 1 : 5));
			for (e = 0; e < n; e++) {
				r = r * 6364136223846793005ull +
				    1442695040888963407ull;
				/* 1 .. 2^20 ticks, log-uniform: ~900 buckets. */
				ticks = (uint64_t)1 << ((r >> 40) % 20);
				ticks += (r >> 20) % ticks;
				rec(i, ticks);
			}
		}
		CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
		ok &= same_as_full(&c);
		consistent &= cache_consistent(&c);
		if (!ok || !consistent)
			break;
	}
	CU_ASSERT(ok);
	CU_ASSERT(consistent);
	CU_ASSERT(c.replayed > 0);
	pt__snapcache_free(&c);
}

static void
test_fallbacks(void)
{
	struct pt__snapcache c;
	int k;

	memset(&c, 0, sizeof c);
	rec(0, 100);
	rec(1, 100);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);

	for (k = 0; k < PT__JOURNAL - 1; k++)
		rec(0, 100 + (uint64_t)k * 50);
	for (k = 0; k < PT__JOURNAL; k++)
		rec(1, 100 + (uint64_t)k * 50);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT_EQUAL(c.merged, 1);
	CU_ASSERT(same_as_full(&c));

	CU_ASSERT(pt__test_record_ticks(&sites[2], 777, 3) == 0);
	rec(1, 5);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);	/* op 1, after its merge */
	CU_ASSERT_EQUAL(c.merged, 1);	/* the batch */
	CU_ASSERT(same_as_full(&c));

	rec(2, 6);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));
	pt__snapcache_free(&c);
}

/*
 * Two caches reading the same slots (the agent's and another): each
 * merges what the other read last, and both stay exact.
 */
static void
test_two_caches(void)
{
	struct pt__snapcache a, b;
	int r, i;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	for (r = 0; r < 5; r++) {
		for (i = 0; i < OPS; i += 3)
			rec(i, 200 + (uint64_t)r);
		CU_ASSERT_FATAL(pt__snapshot_refresh(&a) == 0);
		CU_ASSERT(same_as_full(&a));
		rec(1, 300);
		CU_ASSERT_FATAL(pt__snapshot_refresh(&b) == 0);
		CU_ASSERT(same_as_full(&b));
	}
	pt__snapcache_free(&a);
	pt__snapcache_free(&b);
}

/* A reset merges everything once; then the journals serve again. */
static void
test_reset(void)
{
	struct pt__snapcache c;
	int i;

	memset(&c, 0, sizeof c);
	for (i = 0; i < OPS; i++)
		rec(i, 4000);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT(pt_reset() == 0);
	rec(3, 10);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 0);
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT_EQUAL(c.cur->ops[3].count, 1);
	rec(3, 20);
	rec(4, 30);	/* its first event of the epoch: min/max need a merge */
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT_EQUAL(c.merged, 1);
	CU_ASSERT(same_as_full(&c));
	pt__snapcache_free(&c);
}

/* A job: events of the ticks listed into op 30, 0 ending. */
static void
ticks_job(void *arg)
{
	const uint64_t *v = arg;

	for (; *v != 0; v++)
		rec(30, *v);
}

/*
 * Replayed events in the very buckets of the operation's min and max, a
 * little below the min or above the max, move them (from either thread);
 * events between them do not.
 */
static void
test_minmax_buckets(void)
{
	static const uint64_t first[] = { 1003, 5000, 0 },
	    inner[] = { 3000, 1100, 4900, 0 },
	    edge_lo[] = { 3001, 1001, 0 }, edge_hi[] = { 5040, 2000, 0 };
	struct pt__snapcache c;
	struct helper h;
	pt_op_stats *op;

	memset(&c, 0, sizeof c);
	/* 1001 and 1003, 5000 and 5040 share buckets. */
	CU_ASSERT_FATAL(pt__hist_index(1001) == pt__hist_index(1003));
	CU_ASSERT_FATAL(pt__hist_index(5000) == pt__hist_index(5040));
	helper_start(&h);
	CU_ASSERT_FATAL(pt_reset() == 0);
	helper_run(&h, ticks_job, (void *)first);
	ticks_job((void *)first);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	op = &c.cur->ops[30];
	CU_ASSERT(same_as_full(&c));

	helper_run(&h, ticks_job, (void *)inner);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));

	helper_run(&h, ticks_job, (void *)edge_lo);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT(op->min_ns == (uint64_t)(1001 * c.cur->tick_ns + 0.5));

	ticks_job((void *)edge_hi);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT(op->max_ns == (uint64_t)(5040 * c.cur->tick_ns + 0.5));
	helper_stop(&h);
	pt__snapcache_free(&c);
}

const struct cunit_test replay_tests[] = {
	{ "replayed from the journals, exact", test_replay_exact },
	{ "new buckets inserted, records exact", test_inserts },
	{ "too many events or a batch: merged", test_fallbacks },
	{ "two caches over the same slots", test_two_caches },
	{ "a reset merges once", test_reset },
	{ "min and max moved within their buckets", test_minmax_buckets },
	{ NULL, NULL }
};
