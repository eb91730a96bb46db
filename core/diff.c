/*
 * diff.c - the difference of two snapshots and profiling a single call.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* Copies the header fields (not the arrays) of src into dst. */
void
pt__snapshot_copy_header(pt_snapshot *dst, const pt_snapshot *src)
{
	dst->pid = src->pid;
	memcpy(dst->process, src->process, sizeof dst->process);
	dst->time_ns = src->time_ns;
	dst->uptime_ns = src->uptime_ns;
	dst->since_reset_ns = src->since_reset_ns;
	dst->reset_epoch = src->reset_epoch;
	dst->tick_ns = src->tick_ns;
	dst->memory = src->memory;
}

/* Finds the op of before matching a (same id and name, else same name). */
static const pt_op_stats *
match_op(const pt_snapshot *before, const pt_op_stats *a, size_t hint)
{
	if (hint < before->n_ops && before->ops[hint].id == a->id &&
	    strcmp(before->ops[hint].name, a->name) == 0)
		return &before->ops[hint];
	return pt_snapshot_find_op(before, a->name);
}

/*
 * Sets out's buckets to a's minus b's (both ascending by index), dropping
 * buckets that end up empty.
 */
static int
buckets_sub(pt_op_stats *out, const pt_op_stats *a, const pt_op_stats *b)
{
	size_t i, j = 0;
	uint64_t c;

	out->n_buckets = 0;
	if (a->n_buckets == 0)
		return 0;
	out->buckets = calloc(a->n_buckets, sizeof *out->buckets);
	if (out->buckets == NULL)
		return PT_ENOMEM;
	for (i = 0; i < a->n_buckets; i++) {
		c = a->buckets[i].count;
		while (b != NULL && j < b->n_buckets &&
		    b->buckets[j].index < a->buckets[i].index)
			j++;
		if (b != NULL && j < b->n_buckets &&
		    b->buckets[j].index == a->buckets[i].index)
			c = c > b->buckets[j].count ? c - b->buckets[j].count : 0;
		if (c == 0)
			continue;
		out->buckets[out->n_buckets].index = a->buckets[i].index;
		out->buckets[out->n_buckets++].count = c;
	}
	return 0;
}

/* Fills out = a - b for one operation (b may be NULL: a new operation). */
static int
op_sub(pt_op_stats *out, const pt_op_stats *a, const pt_op_stats *b,
    double tick_ns)
{
	uint64_t lo, hi, first_ns, last_ns, bc, bt;
	int rc;

	out->id = a->id;
	if ((out->name = strdup(a->name)) == NULL)
		return PT_ENOMEM;
	if ((rc = buckets_sub(out, a, b)) != 0)
		return rc;
	bc = b != NULL ? b->count : 0;
	bt = b != NULL ? b->total_ns : 0;
	out->count = a->count > bc ? a->count - bc : 0;
	out->total_ns = a->total_ns > bt ? a->total_ns - bt : 0;
	if (out->count == 0 || out->n_buckets == 0) {
		pt_op_stats_finish(out, tick_ns);
		return 0;
	}
	/* A new extreme was recorded in between: it is exact. */
	pt__hist_bounds(out->buckets[0].index, &lo, &hi);
	first_ns = (uint64_t)((double)lo * tick_ns);
	pt__hist_bounds(out->buckets[out->n_buckets - 1].index, &lo, &hi);
	last_ns = (uint64_t)((double)(hi == UINT64_MAX ? a->max_ns : hi) *
	    tick_ns + 0.5);
	if (b == NULL || b->count == 0 || a->min_ns < b->min_ns)
		out->min_ns = a->min_ns;
	else
		out->min_ns = first_ns > a->min_ns ? first_ns : a->min_ns;
	if (b == NULL || b->count == 0 || a->max_ns > b->max_ns)
		out->max_ns = a->max_ns;
	else
		out->max_ns = last_ns < a->max_ns ? last_ns : a->max_ns;
	if (out->min_ns > out->max_ns)
		out->min_ns = out->max_ns;
	pt_op_stats_finish(out, tick_ns);
	return 0;
}

/* Deep-copies one operation. */
static int
op_copy(pt_op_stats *out, const pt_op_stats *a)
{
	*out = *a;
	out->name = NULL;
	out->buckets = NULL;
	if ((out->name = strdup(a->name)) == NULL)
		return PT_ENOMEM;
	if (a->n_buckets > 0) {
		out->buckets = calloc(a->n_buckets, sizeof *out->buckets);
		if (out->buckets == NULL)
			return PT_ENOMEM;
		memcpy(out->buckets, a->buckets,
		    a->n_buckets * sizeof *out->buckets);
	}
	return 0;
}

int
pt_snapshot_diff(const pt_snapshot *before, const pt_snapshot *after,
    pt_snapshot **out)
{
	const pt_counter_stats *cb;
	pt_snapshot *s;
	size_t i;
	int rc = 0, same;

	if (out == NULL || after == NULL)
		return PT_EINVAL;
	*out = NULL;
	same = before != NULL && before->pid == after->pid &&
	    before->reset_epoch == after->reset_epoch;
	if ((s = pt__snapshot_alloc(after->n_ops, after->n_counters)) == NULL)
		return PT_ENOMEM;
	pt__snapshot_copy_header(s, after);
	if (same && after->time_ns > before->time_ns)
		s->since_reset_ns = after->time_ns - before->time_ns;
	for (i = 0; i < after->n_ops && rc == 0; i++) {
		pt_op_stats *o = &s->ops[s->n_ops++];

		if (same)
			rc = op_sub(o, &after->ops[i],
			    match_op(before, &after->ops[i], i), after->tick_ns);
		else
			rc = op_copy(o, &after->ops[i]);
	}
	for (i = 0; i < after->n_counters && rc == 0; i++) {
		pt_counter_stats *c = &s->counters[s->n_counters++];

		c->id = after->counters[i].id;
		c->value = after->counters[i].value;
		if (same && (cb = pt_snapshot_find_counter(before,
		    after->counters[i].name)) != NULL)
			c->value -= cb->value;
		if ((c->name = strdup(after->counters[i].name)) == NULL)
			rc = PT_ENOMEM;
	}
	if (rc != 0) {
		pt_snapshot_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* Drops operations with no events and counters that did not move. */
static void
drop_idle(pt_snapshot *s)
{
	size_t i, n;

	for (i = n = 0; i < s->n_ops; i++) {
		if (s->ops[i].count == 0) {
			free((char *)s->ops[i].name);
			free(s->ops[i].buckets);
			continue;
		}
		s->ops[n++] = s->ops[i];
	}
	s->n_ops = n;
	for (i = n = 0; i < s->n_counters; i++) {
		if (s->counters[i].value == 0) {
			free((char *)s->counters[i].name);
			continue;
		}
		s->counters[n++] = s->counters[i];
	}
	s->n_counters = n;
}

int
pt_profile_call(void (*fn)(void *), void *arg, pt_snapshot **out)
{
	pt_snapshot *before = NULL, *after = NULL;
	int rc;

	if (fn == NULL || out == NULL)
		return PT_EINVAL;
	*out = NULL;
	if ((rc = pt_snapshot_take(&before)) != 0)
		return rc;
	fn(arg);
	if ((rc = pt_snapshot_take(&after)) != 0)
		goto done;
	if (after->reset_epoch != before->reset_epoch) {
		rc = PT_EBUSY;
		goto done;
	}
	if ((rc = pt_snapshot_diff(before, after, out)) == 0)
		drop_idle(*out);
done:
	pt_snapshot_free(before);
	pt_snapshot_free(after);
	return rc;
}
