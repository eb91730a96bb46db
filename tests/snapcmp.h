/*
 * snapcmp.h - comparisons of snapshot operations the test programs share
 * (test-snapcache, test-wire, test-agent).
 */
#ifndef PT_TESTS_SNAPCMP_H
#define PT_TESTS_SNAPCMP_H

#include <stddef.h>

#include "perftop.h"

/* x and y have the same buckets (field by field: pt_bucket has padding). */
static inline int
snapcmp_buckets(const pt_op_stats *x, const pt_op_stats *y)
{
	size_t j;

	if (x->n_buckets != y->n_buckets)
		return 0;
	for (j = 0; j < x->n_buckets; j++)
		if (x->buckets[j].index != y->buckets[j].index ||
		    x->buckets[j].count != y->buckets[j].count)
			return 0;
	return 1;
}

/* x and y have the same figures and buckets (names, ids and percentiles
 * aside). */
static inline int
snapcmp_op(const pt_op_stats *x, const pt_op_stats *y)
{
	return x->count == y->count && x->total_ns == y->total_ns &&
	    x->min_ns == y->min_ns && x->max_ns == y->max_ns &&
	    snapcmp_buckets(x, y);
}

#endif /* PT_TESTS_SNAPCMP_H */
