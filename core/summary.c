/*
 * summary.c - the text summary printer (the old print_summary) and the
 * duration formatter it shares with the viewer.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* Formats ns with a unit chosen so about three digits show. */
char *
pt__fmt_duration(char *buf, size_t len, double ns)
{
	static const struct { double div; const char *unit; } u[] = {
		{ 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" }, { 1, "ns" },
	};
	size_t i;

	for (i = 0; i < 3 && ns < u[i].div; i++)
		;
	if (i == 3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns / u[i].div >= 100)
		snprintf(buf, len, "%.0f%s", ns / u[i].div, u[i].unit);
	else if (ns / u[i].div >= 10)
		snprintf(buf, len, "%.1f%s", ns / u[i].div, u[i].unit);
	else
		snprintf(buf, len, "%.2f%s", ns / u[i].div, u[i].unit);
	return buf;
}

/* Orders operations by total time, largest first, then by name. */
static int
by_total(const void *a, const void *b)
{
	const pt_op_stats *x = *(const pt_op_stats *const *)a;
	const pt_op_stats *y = *(const pt_op_stats *const *)b;

	if (x->total_ns != y->total_ns)
		return x->total_ns < y->total_ns ? 1 : -1;
	return strcmp(x->name, y->name);
}

int
pt_summary_write(FILE *f, const pt_snapshot *s)
{
	const pt_op_stats **order;
	char t[6][16];
	double wall, share;
	size_t i, w = 9;

	if (f == NULL || s == NULL)
		return PT_EINVAL;
	if ((order = calloc(s->n_ops + 1, sizeof *order)) == NULL)
		return PT_ENOMEM;
	for (i = 0; i < s->n_ops; i++) {
		order[i] = &s->ops[i];
		if (strlen(s->ops[i].name) > w)
			w = strlen(s->ops[i].name);
	}
	for (i = 0; i < s->n_counters; i++)
		if (strlen(s->counters[i].name) > w)
			w = strlen(s->counters[i].name);
	qsort(order, s->n_ops, sizeof *order, by_total);
	wall = s->since_reset_ns > 0 ? (double)s->since_reset_ns : 1;

	fprintf(f, "perftop summary: %s (pid %d), %.1fs since reset, "
	    "epoch %llu\n\n", s->process, (int)s->pid,
	    (double)s->since_reset_ns / 1e9,
	    (unsigned long long)s->reset_epoch);
	fprintf(f, "Operations\n%-*s %12s %9s %9s %9s %9s %9s %9s %7s\n",
	    (int)w, "NAME", "COUNT", "TOTAL", "AVG", "MIN", "MAX", "P50",
	    "P99", "%TIME");
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *o = order[i];

		share = 100.0 * (double)o->total_ns / wall;
		fprintf(f, "%-*s %12llu %9s %9s %9s %9s %9s %9s %6.1f%%\n",
		    (int)w, o->name, (unsigned long long)o->count,
		    pt__fmt_duration(t[0], sizeof t[0], (double)o->total_ns),
		    pt__fmt_duration(t[1], sizeof t[1], o->mean_ns),
		    pt__fmt_duration(t[2], sizeof t[2], (double)o->min_ns),
		    pt__fmt_duration(t[3], sizeof t[3], (double)o->max_ns),
		    pt__fmt_duration(t[4], sizeof t[4], (double)o->p50_ns),
		    pt__fmt_duration(t[5], sizeof t[5], (double)o->p99_ns),
		    share);
	}
	if (s->n_ops == 0)
		fprintf(f, "(none)\n");
	fprintf(f, "\nCounters\n%-*s %20s\n", (int)w, "NAME", "VALUE");
	for (i = 0; i < s->n_counters; i++)
		fprintf(f, "%-*s %20lld\n", (int)w, s->counters[i].name,
		    (long long)s->counters[i].value);
	if (s->n_counters == 0)
		fprintf(f, "(none)\n");
	fprintf(f, "\nMemory: rss %llu bytes, peak %llu bytes, heap %llu "
	    "bytes\n", (unsigned long long)s->memory.rss_bytes,
	    (unsigned long long)s->memory.peak_rss_bytes,
	    (unsigned long long)s->memory.heap_bytes);
	free(order);
	if (fflush(f) != 0 || ferror(f))
		return PT_ESYS;
	return 0;
}

int
pt_summary_print(FILE *f)
{
	pt_snapshot *s;
	int rc;

	if (f == NULL)
		return PT_EINVAL;
	if ((rc = pt_snapshot_take(&s)) != 0)
		return rc;
	rc = pt_summary_write(f, s);
	pt_snapshot_free(s);
	return rc;
}
