/*
 * histogram.c - suite "histogram": bucket bounds, quantiles of hand-made
 * buckets, counts past 2^32 and durations past the last bucket.
 */
#include "core-test.h"

static void
test_hist_bucket_bounds_round_trip(void)
{
	uint64_t lo, hi, prev_hi = 0, lo_last, hi_last;
	uint32_t idx, bad = 0;
	double mid;

	for (idx = 0; idx < PT_HIST_BUCKETS - 1; idx++) {
		pt__hist_bounds(idx, &lo, &hi);
		mid = pt__hist_mid(idx);
		if (lo > hi || (idx > 0 && lo != prev_hi + 1) ||
		    pt__hist_index(lo) != idx || pt__hist_index(hi) != idx ||
		    mid < (double)lo || mid > (double)hi ||
		    (lo >= 64 && (double)(hi - lo + 1) > (double)lo / 64.0)) {
			if (bad++ < 5)
				fprintf(stderr, "\n    bucket %u: [%" PRIu64
				    ", %" PRIu64 "] mid %.1f\n", idx, lo, hi,
				    mid);
		}
		prev_hi = hi;
	}
	CHECK_INT_EQ(bad, 0);
	/* The last bucket takes everything from 2^36 ticks up. */
	pt__hist_bounds(PT_HIST_BUCKETS - 1, &lo_last, &hi_last);
	CHECK_U64_EQ(lo_last, prev_hi + 1);
	CHECK_INT_EQ(pt__hist_index(1ULL << 36), PT_HIST_BUCKETS - 1);
	CHECK_INT_EQ(pt__hist_index(UINT64_MAX), PT_HIST_BUCKETS - 1);
	CHECK_INT_EQ(pt__hist_index(0), 0);
	CHECK_INT_EQ(pt__hist_index(63), 63);
	CHECK_INT_EQ(pt__hist_index(64), 64);
}

static void
test_hist_quantile_on_hand_made_buckets(void)
{
	/* 5 events of 10 ticks, 4 of 100 ticks, 1 in the bucket of 1000. */
	uint32_t i1000 = pt__hist_index(1000);
	pt_bucket b[3] = { { 10, 5 }, { 100, 4 }, { i1000, 1 } };
	uint64_t lo, hi;
	double mid1000;

	pt__hist_bounds(i1000, &lo, &hi);
	CU_ASSERT(lo <= 1000 && 1000 <= hi && hi - lo + 1 == 8);
	mid1000 = (double)(lo + hi) / 2;

	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.0, 0, 0), 10);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.5, 0, 0), 10);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.51, 0, 0), 100);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.9, 0, 0), 100);
	CHECK_NEAR(pt_hist_quantile(b, 3, 10, 1.0, 0.95, 0, 0), mid1000, 0,
	    0.5);
	CHECK_NEAR(pt_hist_quantile(b, 3, 10, 1.0, 1.0, 0, 0), mid1000, 0,
	    0.5);
	/* Scaled by the tick length. */
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 2.5, 0.5, 0, 0), 25);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 2.5, 0.9, 0, 0), 250);
	/* Clamped to [min, max] when max > 0. */
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 1.0, 0, 1001), 1001);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.5, 12, 1001), 12);
	/* Empty. */
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 0, 1.0, 0.5, 0, 0), 0);
	CHECK_U64_EQ(pt_hist_quantile(NULL, 0, 0, 1.0, 0.5, 0, 0), 0);
}

static void
test_op_stats_finish_recomputes_mean_and_percentiles(void)
{
	pt_bucket b[2] = { { 20, 9 }, { 40, 1 } };
	pt_op_stats op;

	memset(&op, 0, sizeof op);
	op.count = 10;
	op.total_ns = 2 * (9 * 20 + 40);
	op.min_ns = 40;
	op.max_ns = 80;
	op.n_buckets = 2;
	op.buckets = b;
	pt_op_stats_finish(&op, 2.0);
	CHECK_NEAR(op.mean_ns, 44.0, 1e-12, 0);
	CHECK_U64_EQ(op.p50_ns, 40);
	CHECK_U64_EQ(op.p90_ns, 40);
	CHECK_U64_EQ(op.p99_ns, 80);
	CHECK_U64_EQ(op.p999_ns, 80);
}

/* One bucket past 2^32 events: counts, bucket and total stay exact. */
static void
test_counts_and_buckets_do_not_wrap_at_2_32(void)
{
	static pt_site site = PT_SITE_INIT("hist.wrap", PT_KIND_OP);
	const uint64_t times = 3ULL << 31, ticks = 1000;
	const uint64_t n = 2 * times;	/* 3 * 2^32 */
	const pt_op_stats *op;
	pt_snapshot *s;

	CHECK_INT_EQ(pt__test_record_ticks(&site, ticks, times), 0);
	CHECK_INT_EQ(pt__test_record_ticks(&site, ticks, times), 0);
	s = snap_take();
	op = snap_op(s, "hist.wrap");
	CHECK_U64_EQ(op->count, n);
	CU_ASSERT(op->count > (1ULL << 32));
	CHECK_U64_EQ(op->n_buckets, 1);
	if (op->n_buckets == 1) {
		CHECK_U64_EQ(op->buckets[0].index, pt__hist_index(ticks));
		CHECK_U64_EQ(op->buckets[0].count, n);
	}
	/* total = n * ticks ticks exactly, converted once to ns. */
	CHECK_NEAR(op->total_ns, (double)(n * ticks) * s->tick_ns, 1e-12, 1);
	CHECK_NEAR(op->min_ns, ticks * s->tick_ns, 0, 1);
	CHECK_NEAR(op->max_ns, ticks * s->tick_ns, 0, 1);
	CHECK_NEAR(op->p50_ns, ticks * s->tick_ns, 0, 1);
	CHECK_NEAR(op->mean_ns, ticks * s->tick_ns, 1e-9, 0);
	pt_snapshot_free(s);
}

/* Durations from 2^36 ticks up share the last bucket but stay exact. */
static void
test_huge_durations_keep_exact_count_total_min_max(void)
{
	static pt_site site = PT_SITE_INIT("hist.huge", PT_KIND_OP);
	const pt_op_stats *op;
	pt_snapshot *s;

	CHECK_INT_EQ(pt__test_record_ticks(&site, 1ULL << 37, 2), 0);
	CHECK_INT_EQ(pt__test_record_ticks(&site, 1ULL << 40, 3), 0);
	s = snap_take();
	op = snap_op(s, "hist.huge");
	CHECK_U64_EQ(op->count, 5);
	CHECK_U64_EQ(op->n_buckets, 1);
	if (op->n_buckets == 1)
		CHECK_U64_EQ(op->buckets[0].index, PT_HIST_BUCKETS - 1);
	CHECK_NEAR(op->total_ns, (double)((2ULL << 37) + (3ULL << 40)) *
	    s->tick_ns, 1e-12, 1);
	CHECK_NEAR(op->min_ns, (double)(1ULL << 37) * s->tick_ns, 1e-12, 1);
	CHECK_NEAR(op->max_ns, (double)(1ULL << 40) * s->tick_ns, 1e-12, 1);
	check_op_consistent(op);
	pt_snapshot_free(s);
}

const struct test_def hist_tests[] = {
	TEST(test_hist_bucket_bounds_round_trip),
	TEST(test_hist_quantile_on_hand_made_buckets),
	TEST(test_op_stats_finish_recomputes_mean_and_percentiles),
	TEST(test_counts_and_buckets_do_not_wrap_at_2_32),
	TEST(test_huge_durations_keep_exact_count_total_min_max),
	{ NULL, NULL }
};
