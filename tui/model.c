/*
 * model.c - what the live view shows, computed from the snapshot stream:
 * a short history of snapshots (for the "last N seconds" window), rates
 * from consecutive snapshots, a view-only baseline, memory samples, and the
 * sorted, filtered rows of the operations and counters tables.
 *
 * No curses here.  Snapshots are shared between the history, the newest
 * pair and the frozen pair of a paused display through small reference
 * counted holders, so nothing is copied on the way in.
 *
 * What is shown is always one pt_snapshot (m->shown): the frozen source
 * snapshot itself, or pt_snapshot_diff(before, source) where before is the
 * later of the window start and the view baseline.  Its operations are in
 * the source's order, so rates computed against the source line up by
 * index.
 */
#include "tui.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

struct model_snap {
	pt_snapshot	*snap;
	unsigned	 refs;
};

static const struct {
	const char	*name;
	int		 desc;		/* default direction */
} columns[MODEL_COL_N] = {
	[MODEL_COL_NAME] =	{ "NAME", 0 },
	[MODEL_COL_COUNT] =	{ "COUNT", 1 },
	[MODEL_COL_RATE] =	{ "RATE/s", 1 },
	[MODEL_COL_AVG] =	{ "AVG", 1 },
	[MODEL_COL_MIN] =	{ "MIN", 1 },
	[MODEL_COL_MAX] =	{ "MAX", 1 },
	[MODEL_COL_P50] =	{ "P50", 1 },
	[MODEL_COL_P99] =	{ "P99", 1 },
	[MODEL_COL_TOTAL] =	{ "TOTAL", 1 },
	[MODEL_COL_PCT] =	{ "%TIME", 1 },
};

const char *
model_col_name(int col)
{
	if (col < 0 || col >= MODEL_COL_N)
		return "?";
	return columns[col].name;
}

int
model_col_default_desc(int col)
{
	if (col < 0 || col >= MODEL_COL_N)
		return 1;
	return columns[col].desc;
}

/* ------------------------------------------------------------------------ */
/* Reference-counted snapshots                                               */
/* ------------------------------------------------------------------------ */

static struct model_snap *
msnap_new(pt_snapshot *s)
{
	struct model_snap *h;

	if ((h = calloc(1, sizeof *h)) == NULL)
		return NULL;
	h->snap = s;
	h->refs = 1;
	return h;
}

static struct model_snap *
msnap_ref(struct model_snap *h)
{
	if (h != NULL)
		h->refs++;
	return h;
}

static void
msnap_unref(struct model_snap **hp)
{
	struct model_snap *h = *hp;

	*hp = NULL;
	if (h == NULL || --h->refs > 0)
		return;
	pt_snapshot_free(h->snap);
	free(h);
}

/* Replaces *dst with a new reference to src. */
static void
msnap_set(struct model_snap **dst, struct model_snap *src)
{
	struct model_snap *old = *dst;

	*dst = msnap_ref(src);
	msnap_unref(&old);
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                    */
/* ------------------------------------------------------------------------ */

void
model_init(struct model *m, int window_s)
{
	memset(m, 0, sizeof *m);
	m->sort_col = MODEL_COL_TOTAL;
	m->descending = 1;
	m->window = MODEL_WINDOW_SINCE_RESET;
	if (window_s <= 0)
		window_s = 10;
	m->window_ns = (uint64_t)window_s * 1000000000ULL;
}

static void
shown_free(struct model *m)
{
	if (m->shown_owned)
		pt_snapshot_free(m->shown);
	m->shown = NULL;
	m->shown_owned = 0;
	m->n_rows = 0;
	m->n_crows = 0;
}

static void
hist_clear(struct model *m)
{
	size_t i;

	for (i = 0; i < m->n_hist; i++)
		msnap_unref(&m->hist[i]);
	m->n_hist = 0;
}

void
model_done(struct model *m)
{
	shown_free(m);
	hist_clear(m);
	msnap_unref(&m->latest);
	msnap_unref(&m->prev);
	msnap_unref(&m->src);
	msnap_unref(&m->src_prev);
	msnap_unref(&m->baseline);
	free(m->rows);
	free(m->crows);
	free(m->op_rate);
	free(m->ctr_rate);
	memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------------ */
/* Rates                                                                     */
/* ------------------------------------------------------------------------ */

/* The operation of s with the given id and name; hint is a likely index. */
static const pt_op_stats *
find_op(const pt_snapshot *s, const pt_op_stats *want, size_t hint)
{
	size_t lo = 0, hi = s->n_ops, mid;

	if (hint < s->n_ops && s->ops[hint].id == want->id &&
	    strcmp(s->ops[hint].name, want->name) == 0)
		return &s->ops[hint];
	/* Operations come in ascending id order: binary search by id. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->ops[mid].id < want->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n_ops && s->ops[lo].id == want->id &&
	    strcmp(s->ops[lo].name, want->name) == 0)
		return &s->ops[lo];
	return pt_snapshot_find_op(s, want->name);
}

static const pt_counter_stats *
find_counter(const pt_snapshot *s, const pt_counter_stats *want, size_t hint)
{
	if (hint < s->n_counters && s->counters[hint].id == want->id &&
	    strcmp(s->counters[hint].name, want->name) == 0)
		return &s->counters[hint];
	return pt_snapshot_find_counter(s, want->name);
}

/* Grows a double array to n entries; 0 or PT_ENOMEM. */
static int
grow_doubles(double **a, size_t *cap, size_t n)
{
	double *p;

	if (n <= *cap)
		return 0;
	if ((p = reallocarray(*a, n, sizeof *p)) == NULL)
		return PT_ENOMEM;
	*a = p;
	*cap = n;
	return 0;
}

/*
 * Per-second rates of cur's operations and counters against prev (the
 * snapshot received before it): delta / delta-time.  Without a usable prev
 * (none, or a reset in between) the rate is the average since the reset.
 */
static int
rates_compute(struct model *m, const pt_snapshot *cur, const pt_snapshot *prev)
{
	const pt_op_stats *po;
	const pt_counter_stats *pc;
	double dt;
	size_t i;
	int same;

	if (grow_doubles(&m->op_rate, &m->op_rate_cap, cur->n_ops + 1) != 0 ||
	    grow_doubles(&m->ctr_rate, &m->ctr_rate_cap,
	    cur->n_counters + 1) != 0)
		return PT_ENOMEM;
	same = prev != NULL && prev->reset_epoch == cur->reset_epoch &&
	    cur->uptime_ns > prev->uptime_ns;
	if (same)
		dt = (double)(cur->uptime_ns - prev->uptime_ns) / 1e9;
	else
		dt = (double)cur->since_reset_ns / 1e9;
	for (i = 0; i < cur->n_ops; i++) {
		double d = (double)cur->ops[i].count;

		if (same && (po = find_op(prev, &cur->ops[i], i)) != NULL)
			d = po->count <= cur->ops[i].count ?
			    (double)(cur->ops[i].count - po->count) : 0;
		m->op_rate[i] = dt > 0 ? d / dt : 0;
	}
	for (i = 0; i < cur->n_counters; i++) {
		double d = (double)cur->counters[i].value;

		if (same && (pc = find_counter(prev, &cur->counters[i], i)) !=
		    NULL)
			d = (double)(cur->counters[i].value - pc->value);
		m->ctr_rate[i] = dt > 0 ? d / dt : 0;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Sorting and filtering                                                     */
/* ------------------------------------------------------------------------ */

/* The sort key of a row in column col, as a number (not for NAME). */
static double
row_key(const struct model_row *r, int col)
{
	switch (col) {
	case MODEL_COL_COUNT:	return (double)r->op->count;
	case MODEL_COL_RATE:	return r->rate;
	case MODEL_COL_AVG:	return r->op->count ? r->op->mean_ns : 0;
	case MODEL_COL_MIN:	return (double)r->op->min_ns;
	case MODEL_COL_MAX:	return (double)r->op->max_ns;
	case MODEL_COL_P50:	return (double)r->op->p50_ns;
	case MODEL_COL_P99:	return (double)r->op->p99_ns;
	case MODEL_COL_TOTAL:	return (double)r->op->total_ns;
	case MODEL_COL_PCT:	return r->pct;
	}
	return 0;
}

/*
 * Orders rows by the sort column in the sort direction; equal keys by name,
 * then by id, ascending in both directions.  The order is total, so the
 * result is the same as a stable sort of the name-ordered rows.
 */
static int
row_cmp(const void *a, const void *b, void *arg)
{
	const struct model_row *x = a, *y = b;
	const struct model *m = arg;
	double kx, ky;
	int c = 0;

	if (m->sort_col == MODEL_COL_NAME) {
		c = strcmp(x->op->name, y->op->name);
		if (m->descending)
			c = -c;
	} else {
		kx = x->key;
		ky = y->key;
		if (kx != ky)
			c = kx < ky ? -1 : 1;
		if (m->descending)
			c = -c;
		if (c == 0)
			c = strcmp(x->op->name, y->op->name);
	}
	if (c == 0 && x->op->id != y->op->id)
		c = x->op->id < y->op->id ? -1 : 1;
	return c;
}

static int
crow_cmp(const void *a, const void *b)
{
	const struct model_crow *x = a, *y = b;
	int c = strcmp(x->c->name, y->c->name);

	if (c == 0 && x->c->id != y->c->id)
		c = x->c->id < y->c->id ? -1 : 1;
	return c;
}

int
model_name_matches(const struct model *m, const char *name)
{
	return m->filter[0] == '\0' || strcasestr(name, m->filter) != NULL;
}

/* Rebuilds the filtered rows of the shown snapshot and sorts them. */
static int
rows_build(struct model *m)
{
	const pt_snapshot *s = m->shown;
	double wall;
	size_t i, n;
	void *p;

	m->n_rows = m->n_crows = 0;
	if (s == NULL)
		return 0;
	if (s->n_ops > m->rows_cap) {
		if ((p = reallocarray(m->rows, s->n_ops, sizeof *m->rows)) ==
		    NULL)
			return PT_ENOMEM;
		m->rows = p;
		m->rows_cap = s->n_ops;
	}
	if (s->n_counters > m->crows_cap) {
		if ((p = reallocarray(m->crows, s->n_counters,
		    sizeof *m->crows)) == NULL)
			return PT_ENOMEM;
		m->crows = p;
		m->crows_cap = s->n_counters;
	}
	wall = (double)m->span_ns;
	for (i = n = 0; i < s->n_ops; i++) {
		if (!model_name_matches(m, s->ops[i].name))
			continue;
		m->rows[n].op = &s->ops[i];
		m->rows[n].rate = m->op_rate[i];
		m->rows[n].pct = wall > 0 ?
		    100.0 * (double)s->ops[i].total_ns / wall : 0;
		n++;
	}
	m->n_rows = n;
	for (i = n = 0; i < s->n_counters; i++) {
		if (!model_name_matches(m, s->counters[i].name))
			continue;
		m->crows[n].c = &s->counters[i];
		m->crows[n].rate = m->ctr_rate[i];
		n++;
	}
	m->n_crows = n;
	model_sort(m);
	return 0;
}

void
model_sort(struct model *m)
{
	size_t i;

	/* One key per row, not two per comparison. */
	if (m->sort_col != MODEL_COL_NAME)
		for (i = 0; i < m->n_rows; i++)
			m->rows[i].key = row_key(&m->rows[i], m->sort_col);
	if (m->n_rows > 1)
		qsort_r(m->rows, m->n_rows, sizeof *m->rows, row_cmp, m);
	if (m->n_crows > 1)
		qsort(m->crows, m->n_crows, sizeof *m->crows, crow_cmp);
}

void
model_set_sort(struct model *m, int col, int descending)
{
	if (col < 0 || col >= MODEL_COL_N)
		return;
	m->sort_col = col;
	m->descending = descending != 0;
	model_sort(m);
}

void
model_select_column(struct model *m, int col)
{
	if (col < 0 || col >= MODEL_COL_N)
		return;
	if (col != m->sort_col)
		model_set_sort(m, col, model_col_default_desc(col));
}

void
model_step_column(struct model *m, int delta)
{
	int col = ((m->sort_col + delta) % MODEL_COL_N + MODEL_COL_N) %
	    MODEL_COL_N;

	model_select_column(m, col);
}

void
model_invert(struct model *m)
{
	model_set_sort(m, m->sort_col, !m->descending);
}

int
model_set_filter(struct model *m, const char *text)
{
	strlcpy(m->filter, text != NULL ? text : "", sizeof m->filter);
	return rows_build(m);
}

/* ------------------------------------------------------------------------ */
/* The shown snapshot                                                        */
/* ------------------------------------------------------------------------ */

/*
 * The snapshot the window of src starts at: the newest of the history at
 * least window_ns older than src (or, with a shorter history, the oldest),
 * in src's epoch.  NULL when there is none (the window is then the whole
 * time since the reset).
 */
static const pt_snapshot *
window_start(const struct model *m, const pt_snapshot *src)
{
	const pt_snapshot *best = NULL, *h;
	size_t i;

	for (i = 0; i < m->n_hist; i++) {
		h = m->hist[i]->snap;
		if (h->reset_epoch != src->reset_epoch ||
		    h->uptime_ns >= src->uptime_ns)
			continue;
		if (best == NULL)
			best = h;	/* the oldest usable one */
		if (src->uptime_ns - h->uptime_ns >= m->window_ns)
			best = h;	/* newer ones that still cover it */
	}
	return best;
}

int
model_refresh(struct model *m)
{
	const pt_snapshot *before = NULL, *b;
	pt_snapshot *src, *d;
	int rc;

	shown_free(m);
	m->span_ns = 0;
	m->view_base = MODEL_BASE_RESET;
	if (m->src == NULL)
		return 0;
	src = m->src->snap;
	if (m->window == MODEL_WINDOW_LAST_N &&
	    (before = window_start(m, src)) != NULL)
		m->view_base = MODEL_BASE_WINDOW;
	if (m->baseline != NULL) {
		b = m->baseline->snap;
		if (b->reset_epoch == src->reset_epoch &&
		    b->uptime_ns <= src->uptime_ns &&
		    (before == NULL || b->uptime_ns >= before->uptime_ns)) {
			before = b;
			m->view_base = MODEL_BASE_VIEW;
		}
	}
	if (before == NULL) {
		m->shown = src;
		m->shown_owned = 0;
		m->span_ns = src->since_reset_ns;
	} else {
		if ((rc = pt_snapshot_diff(before, src, &d)) != 0)
			return rc;
		m->shown = d;
		m->shown_owned = 1;
		m->span_ns = src->uptime_ns > before->uptime_ns ?
		    src->uptime_ns - before->uptime_ns : 0;
	}
	if ((rc = rates_compute(m, src,
	    m->src_prev != NULL ? m->src_prev->snap : NULL)) != 0)
		return rc;
	m->mem_shown_t = src->uptime_ns;
	return rows_build(m);
}

/* ------------------------------------------------------------------------ */
/* Memory samples                                                            */
/* ------------------------------------------------------------------------ */

/* Keeps one sample per MODEL_MEM_STEP_NS: the highest of that step. */
static void
mem_push(struct model *m, const pt_snapshot *s)
{
	struct model_mem *last;
	uint64_t t = s->uptime_ns;

	if (m->mem_n > 0) {
		last = &m->mem[(m->mem_head + m->mem_n - 1) % MODEL_MEM_MAX];
		if (t < last->t_ns) {
			/* The clock went back (another process?): start over. */
			m->mem_n = 0;
		} else if (t - last->t_ns < MODEL_MEM_STEP_NS) {
			if (s->memory.rss_bytes > last->rss)
				last->rss = s->memory.rss_bytes;
			if (s->memory.heap_bytes > last->heap)
				last->heap = s->memory.heap_bytes;
			return;
		}
	}
	if (m->mem_n == MODEL_MEM_MAX) {
		m->mem_head = (m->mem_head + 1) % MODEL_MEM_MAX;
		m->mem_n--;
	}
	last = &m->mem[(m->mem_head + m->mem_n) % MODEL_MEM_MAX];
	last->t_ns = t;
	last->rss = s->memory.rss_bytes;
	last->heap = s->memory.heap_bytes;
	m->mem_n++;
}

const struct model_mem *
model_mem_at(const struct model *m, size_t i)
{
	if (i >= m->mem_n)
		return NULL;
	return &m->mem[(m->mem_head + i) % MODEL_MEM_MAX];
}

/* ------------------------------------------------------------------------ */
/* Input                                                                     */
/* ------------------------------------------------------------------------ */

/* Adds h to the history if it is far enough from the last one kept. */
static void
hist_push(struct model *m, struct model_snap *h)
{
	const pt_snapshot *s = h->snap, *last;
	uint64_t step = m->window_ns / MODEL_HIST_STEPS, cut;
	size_t i;

	if (m->n_hist > 0) {
		last = m->hist[m->n_hist - 1]->snap;
		if (last->reset_epoch == s->reset_epoch &&
		    s->uptime_ns >= last->uptime_ns &&
		    s->uptime_ns - last->uptime_ns < step)
			return;
	}
	if (m->n_hist == MODEL_HIST_MAX) {
		msnap_unref(&m->hist[0]);
		memmove(m->hist, m->hist + 1, --m->n_hist * sizeof *m->hist);
	}
	m->hist[m->n_hist++] = msnap_ref(h);
	/* Drop what no window needs: keep one entry at or before the start. */
	if (s->uptime_ns < m->window_ns)
		return;
	cut = s->uptime_ns - m->window_ns;
	for (i = 0; i + 1 < m->n_hist && m->hist[i + 1]->snap->uptime_ns <= cut;
	    i++)
		;
	if (i > 0) {
		size_t k;

		for (k = 0; k < i; k++)
			msnap_unref(&m->hist[k]);
		memmove(m->hist, m->hist + i, (m->n_hist - i) * sizeof *m->hist);
		m->n_hist -= i;
	}
}

int
model_ingest(struct model *m, pt_snapshot *s)
{
	struct model_snap *h;

	if (s == NULL)
		return PT_EINVAL;
	if ((h = msnap_new(s)) == NULL) {
		pt_snapshot_free(s);
		return PT_ENOMEM;
	}
	m->n_received++;
	if (m->latest != NULL &&
	    m->latest->snap->reset_epoch != s->reset_epoch)
		hist_clear(m);
	if (m->baseline != NULL &&
	    m->baseline->snap->reset_epoch != s->reset_epoch)
		msnap_unref(&m->baseline);
	msnap_set(&m->prev, m->latest);
	msnap_set(&m->latest, h);
	msnap_unref(&h);
	hist_push(m, m->latest);
	mem_push(m, s);
	if (m->paused)
		return 0;
	msnap_set(&m->src_prev, m->prev);
	msnap_set(&m->src, m->latest);
	return model_refresh(m);
}

int
model_set_paused(struct model *m, int paused)
{
	m->paused = paused != 0;
	if (m->paused || m->latest == NULL || m->src == m->latest)
		return 0;
	/* Catch up with what arrived meanwhile. */
	msnap_set(&m->src_prev, m->prev);
	msnap_set(&m->src, m->latest);
	return model_refresh(m);
}

int
model_set_window(struct model *m, int window)
{
	m->window = window == MODEL_WINDOW_LAST_N ? MODEL_WINDOW_LAST_N :
	    MODEL_WINDOW_SINCE_RESET;
	return model_refresh(m);
}

int
model_view_reset(struct model *m)
{
	if (m->src == NULL)
		return 0;
	msnap_set(&m->baseline, m->src);
	return model_refresh(m);
}

int
model_clear_baseline(struct model *m)
{
	if (m->baseline == NULL)
		return 0;
	msnap_unref(&m->baseline);
	return model_refresh(m);
}

const pt_snapshot *
model_latest(const struct model *m)
{
	return m->latest != NULL ? m->latest->snap : NULL;
}

const pt_snapshot *
model_source(const struct model *m)
{
	return m->src != NULL ? m->src->snap : NULL;
}

int
model_has_baseline(const struct model *m)
{
	return m->baseline != NULL;
}

ssize_t
model_find_row(const struct model *m, const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return -1;
	for (i = 0; i < m->n_rows; i++)
		if (strcmp(m->rows[i].op->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Export                                                                    */
/* ------------------------------------------------------------------------ */

const char *
model_window_label(const struct model *m, char *buf, size_t len)
{
	if (m->window == MODEL_WINDOW_LAST_N)
		snprintf(buf, len, "last %llus",
		    (unsigned long long)(m->window_ns / 1000000000ULL));
	else
		snprintf(buf, len, "since reset");
	return buf;
}

int
model_export(const struct model *m, pt_snapshot *out, struct export_view *v,
    char *window, size_t windowlen)
{
	const pt_snapshot *s = m->shown;
	size_t i, n;

	memset(out, 0, sizeof *out);
	if (s == NULL)
		return PT_ENOENT;
	/* A shallow copy: the header, and the rows that pass the filter. */
	*out = *s;
	out->ops = NULL;
	out->counters = NULL;
	out->n_ops = out->n_counters = 0;
	if (s->n_ops > 0 &&
	    (out->ops = calloc(s->n_ops, sizeof *out->ops)) == NULL)
		return PT_ENOMEM;
	if (s->n_counters > 0 && (out->counters = calloc(s->n_counters,
	    sizeof *out->counters)) == NULL) {
		free(out->ops);
		out->ops = NULL;
		return PT_ENOMEM;
	}
	for (i = n = 0; i < s->n_ops; i++)
		if (model_name_matches(m, s->ops[i].name))
			out->ops[n++] = s->ops[i];
	out->n_ops = n;
	for (i = n = 0; i < s->n_counters; i++)
		if (model_name_matches(m, s->counters[i].name))
			out->counters[n++] = s->counters[i];
	out->n_counters = n;
	/* The window the numbers cover, as the file's since_reset. */
	out->since_reset_ns = m->span_ns;
	if (m->window == MODEL_WINDOW_LAST_N)
		snprintf(window, windowlen, "last_%llus",
		    (unsigned long long)(m->window_ns / 1000000000ULL));
	else
		snprintf(window, windowlen, "since_reset");
	memset(v, 0, sizeof *v);
	v->window = window;
	v->sort = model_col_name(m->sort_col);
	v->descending = m->descending;
	v->filter = m->filter[0] != '\0' ? m->filter : NULL;
	v->view_reset = m->baseline != NULL;
	return 0;
}

void
model_export_done(pt_snapshot *out)
{
	/* Only the arrays are ours; the rows point into the model. */
	free(out->ops);
	free(out->counters);
	memset(out, 0, sizeof *out);
}
