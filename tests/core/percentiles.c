/*
 * percentiles.c - suite "percentiles": percentiles within 1 % of the
 * exact ones, for samples of a fixed-seed generator in three
 * distributions.
 */
#include "core-test.h"

/* ------------------------------------------------------------------------ */
/* A fixed-seed generator (splitmix64) and distributions                     */
/* ------------------------------------------------------------------------ */

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double
rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* Standard normal, Box-Muller (one of the pair). */
static double
rng_normal(uint64_t *s)
{
	double u1 = 1.0 - rng_unit(s), u2 = rng_unit(s);	/* u1 in (0, 1] */

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

#define SAMPLE_MIN_NS	50ULL
#define SAMPLE_MAX_NS	10000000000ULL	/* 10 s */

static uint64_t
clamp_sample(double v)
{
	if (!(v >= (double)SAMPLE_MIN_NS))
		return SAMPLE_MIN_NS;
	if (v >= (double)SAMPLE_MAX_NS)
		return SAMPLE_MAX_NS;
	return (uint64_t)llround(v);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define PCT_N_FULL	1000000
/* Samples per percentile test: fewer with PERFTOP_TEST_QUICK. */
#define PCT_N	(quick ? PCT_N_FULL / 5 : PCT_N_FULL)

/*
 * Records the n values (ns) into site, then compares the snapshot's
 * percentiles with the exact nearest-rank ones of the sorted values.
 */
static void
check_percentiles(pt_site *site, uint64_t *v, size_t n)
{
	static const struct { unsigned permille; const char *what; } q[4] = {
		{ 500, "p50" }, { 900, "p90" }, { 990, "p99" }, { 999, "p99.9" },
	};
	const pt_op_stats *op;
	uint64_t sum = 0, got[4], exact;
	pt_snapshot *s;
	size_t i, refused = 0, idx;

	for (i = 0; i < n; i++) {
		refused += pt_record_ns(site, v[i]) != 0;
		sum += v[i];
	}
	CHECK_U64_EQ(refused, 0);
	qsort(v, n, sizeof *v, cmp_u64);

	s = snap_take();
	op = snap_op(s, site->pt_name);
	CHECK_U64_EQ(op->count, n);
	CHECK_NEAR(op->total_ns, sum, 1e-3, 4);
	CHECK_NEAR(op->min_ns, v[0], 1e-3, 2);
	CHECK_NEAR(op->max_ns, v[n - 1], 1e-3, 2);
	got[0] = op->p50_ns;
	got[1] = op->p90_ns;
	got[2] = op->p99_ns;
	got[3] = op->p999_ns;
	for (i = 0; i < 4; i++) {
		/* Nearest rank: index ceil(q * n) - 1. */
		idx = (q[i].permille * n + 999) / 1000 - 1;
		exact = v[idx];
		check_report(fabs((double)got[i] - (double)exact) <=
		    0.01 * (double)exact, __LINE__, "percentile within 1 %",
		    "%s %s = %" PRIu64 " ns, exact %" PRIu64 " ns (%+.3f %%)",
		    site->pt_name, q[i].what, got[i], exact,
		    100.0 * ((double)got[i] - (double)exact) / (double)exact);
	}
	check_op_consistent(op);
	pt_snapshot_free(s);
}

static uint64_t *
samples_alloc(void)
{
	uint64_t *v = malloc(PCT_N * sizeof *v);

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

static void
test_percentiles_within_1pct_uniform(void)
{
	static pt_site site = PT_SITE_INIT("pct.uniform", PT_KIND_OP);
	uint64_t *v = samples_alloc(), seed = 1;
	size_t i;

	for (i = 0; i < PCT_N; i++)
		v[i] = clamp_sample((double)SAMPLE_MIN_NS + rng_unit(&seed) *
		    (double)(SAMPLE_MAX_NS - SAMPLE_MIN_NS));
	check_percentiles(&site, v, PCT_N);
	free(v);
}

static void
test_percentiles_within_1pct_lognormal(void)
{
	static pt_site site = PT_SITE_INIT("pct.lognormal", PT_KIND_OP);
	uint64_t *v = samples_alloc(), seed = 2;
	size_t i;

	/* Median 100 us, sigma 2.5: spans the whole 50 ns .. 10 s range. */
	for (i = 0; i < PCT_N; i++)
		v[i] = clamp_sample(exp(log(1e5) + 2.5 * rng_normal(&seed)));
	check_percentiles(&site, v, PCT_N);
	/* (1 sample in 500,000 reaches the top: only the full run has one.) */
	CU_ASSERT(v[0] == SAMPLE_MIN_NS && (quick || v[PCT_N - 1] == SAMPLE_MAX_NS));
	free(v);
}

static void
test_percentiles_within_1pct_bimodal(void)
{
	static pt_site site = PT_SITE_INIT("pct.bimodal", PT_KIND_OP);
	uint64_t *v = samples_alloc(), seed = 3;
	size_t i;

	/*
	 * 70 % around 300 ns, 30 % around 20 ms: p50 lies in the low mode,
	 * p90 and above in the high one, none near the gap between them.
	 */
	for (i = 0; i < PCT_N; i++) {
		if (rng_unit(&seed) < 0.7)
			v[i] = clamp_sample(exp(log(300) +
			    0.3 * rng_normal(&seed)));
		else
			v[i] = clamp_sample(exp(log(2e7) +
			    0.8 * rng_normal(&seed)));
	}
	check_percentiles(&site, v, PCT_N);
	free(v);
}

const struct test_def pct_tests[] = {
	TEST(test_percentiles_within_1pct_uniform),
	TEST(test_percentiles_within_1pct_lognormal),
	TEST(test_percentiles_within_1pct_bimodal),
	{ NULL, NULL }
};
