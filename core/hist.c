/*
 * hist.c - the bounded log-linear histogram: bucket bounds and percentiles.
 *
 * Values below 64 ticks have a bucket each; each power of two 2^e above,
 * e = 6 .. 35, is split into 64 buckets of width 2^(e-6).  The reported value
 * of a bucket is its middle, at most half a bucket width (1/128 of the value,
 * 0.79 %) from any value in it.
 */
#include "core.h"

#include <math.h>

void
pt__hist_bounds(uint32_t idx, uint64_t *lo, uint64_t *hi)
{
	uint32_t e, sub;
	uint64_t width;

	if (idx < PT__HIST_SUB) {
		*lo = *hi = idx;
		return;
	}
	if (idx >= PT_HIST_BUCKETS)
		idx = PT_HIST_BUCKETS - 1;
	e = idx / PT__HIST_SUB + PT_HIST_SUB_BITS - 1;
	sub = idx % PT__HIST_SUB;
	width = (uint64_t)1 << (e - PT_HIST_SUB_BITS);
	*lo = ((uint64_t)1 << e) + sub * width;
	*hi = *lo + width - 1;
	if (idx == PT_HIST_BUCKETS - 1)
		*hi = UINT64_MAX;
}

double
pt__hist_mid(uint32_t idx)
{
	uint64_t lo, hi;

	pt__hist_bounds(idx, &lo, &hi);
	if (hi == UINT64_MAX)	/* open-ended: the caller clamps to max */
		return (double)lo;
	return ((double)lo + (double)hi) / 2.0;
}

/* Clamps a quantile's value to [min_ns, max_ns] (when max_ns is set). */
static uint64_t
quantile_value(uint32_t idx, double tick_ns, uint64_t min_ns, uint64_t max_ns)
{
	double v = pt__hist_mid(idx) * tick_ns;

	if (max_ns > 0) {
		if (v < (double)min_ns)
			v = (double)min_ns;
		if (v > (double)max_ns)
			v = (double)max_ns;
	}
	return (uint64_t)llround(v);
}

uint64_t
pt_hist_quantile(const pt_bucket *b, size_t n, uint64_t count, double tick_ns,
    double q, uint64_t min_ns, uint64_t max_ns)
{
	uint64_t rank, seen = 0;
	size_t i;

	if (count == 0 || n == 0 || b == NULL)
		return 0;
	if (!(q >= 0.0))
		q = 0.0;
	if (q > 1.0)
		q = 1.0;
	/* Nearest rank: the smallest value with at least q * count below. */
	rank = (uint64_t)ceil(q * (double)count);
	if (rank == 0)
		rank = 1;
	for (i = 0; i < n; i++) {
		seen += b[i].count;
		if (seen >= rank)
			break;
	}
	if (i == n)
		i = n - 1;
	return quantile_value(b[i].index, tick_ns, min_ns, max_ns);
}


/*
 * The four percentiles in one walk over the buckets (the view finishes
 * thousands of operations a second); the same figures as
 * pt_hist_quantile().
 */
void
pt_op_stats_finish(pt_op_stats *op, double tick_ns)
{
	static const double qs[4] = { 0.50, 0.90, 0.99, 0.999 };
	uint64_t *out[4] = { &op->p50_ns, &op->p90_ns, &op->p99_ns,
	    &op->p999_ns };
	uint64_t hist_count = 0, rank[4], seen = 0;
	size_t i, k = 0;

	for (i = 0; i < op->n_buckets; i++)
		hist_count += op->buckets[i].count;
	op->mean_ns = op->count ? (double)op->total_ns / (double)op->count : 0;
	if (hist_count == 0 || op->n_buckets == 0 || op->buckets == NULL) {
		for (k = 0; k < 4; k++)
			*out[k] = 0;
		return;
	}
	for (k = 0; k < 4; k++) {
		rank[k] = (uint64_t)ceil(qs[k] * (double)hist_count);
		if (rank[k] == 0)
			rank[k] = 1;
	}
	k = 0;
	for (i = 0; i < op->n_buckets && k < 4; i++) {
		seen += op->buckets[i].count;
		for (; k < 4 && seen >= rank[k]; k++)
			*out[k] = quantile_value(op->buckets[i].index, tick_ns,
			    op->min_ns, op->max_ns);
	}
	for (; k < 4; k++)
		*out[k] = quantile_value(op->buckets[op->n_buckets - 1].index,
		    tick_ns, op->min_ns, op->max_ns);
}
