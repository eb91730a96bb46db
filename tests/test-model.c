/*
 * test-model.c - CUnit tests of tui/model.c (what the live view shows) and
 * tui/format.c (human units): sorting every column both ways with a stable
 * tie-break, filtering, rates, the "last N seconds" window, the view-only
 * baseline, pausing, export and memory samples.
 */
#include "tui.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit.h"

#define S	1000000000ULL

/* ------------------------------------------------------------------------ */
/* Building snapshots by hand                                                */
/* ------------------------------------------------------------------------ */

/* One operation: count events of dur_ns each (tick = 1 ns). */
struct op_spec {
	const char	*name;
	uint64_t	 count;
	uint64_t	 dur_ns;
};

struct ctr_spec {
	const char	*name;
	int64_t		 value;
};

static void
op_fill(pt_op_stats *o, uint32_t id, const char *name)
{
	o->id = id;
	o->name = strdup(name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o->name);
}

/* Adds n events of d ns to o (buckets kept ascending and unique). */
static void
op_add(pt_op_stats *o, uint64_t n, uint64_t d)
{
	uint32_t idx = pt__hist_index(d);
	size_t i;

	if (n == 0)
		return;
	for (i = 0; i < o->n_buckets && o->buckets[i].index < idx; i++)
		;
	if (i == o->n_buckets || o->buckets[i].index != idx) {
		o->buckets = reallocarray(o->buckets, o->n_buckets + 1,
		    sizeof *o->buckets);
		CU_ASSERT_PTR_NOT_NULL_FATAL(o->buckets);
		memmove(o->buckets + i + 1, o->buckets + i,
		    (o->n_buckets - i) * sizeof *o->buckets);
		o->buckets[i].index = idx;
		o->buckets[i].count = 0;
		o->n_buckets++;
	}
	o->buckets[i].count += n;
	if (o->count == 0 || d < o->min_ns)
		o->min_ns = d;
	if (d > o->max_ns)
		o->max_ns = d;
	o->count += n;
	o->total_ns += n * d;
	pt_op_stats_finish(o, 1.0);
}

static pt_snapshot *
snap_new(size_t n_ops, size_t n_ctrs, uint64_t uptime_ns, uint64_t epoch,
    uint64_t since_reset_ns)
{
	pt_snapshot *s = calloc(1, sizeof *s);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	s->pid = 4242;
	strcpy(s->process, "unit");
	s->uptime_ns = uptime_ns;
	s->since_reset_ns = since_reset_ns;
	s->time_ns = 1700000000ULL * S + uptime_ns;
	s->reset_epoch = epoch;
	s->tick_ns = 1.0;
	s->memory.rss_bytes = 100 << 20;
	s->memory.peak_rss_bytes = 120 << 20;
	s->memory.heap_bytes = 50 << 20;
	if (n_ops > 0) {
		s->ops = calloc(n_ops, sizeof *s->ops);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s->ops);
	}
	if (n_ctrs > 0) {
		s->counters = calloc(n_ctrs, sizeof *s->counters);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s->counters);
	}
	return s;
}

static pt_snapshot *
snap_make(const struct op_spec *ops, size_t n_ops, const struct ctr_spec *c,
    size_t n_ctrs, uint64_t uptime_ns, uint64_t epoch)
{
	pt_snapshot *s = snap_new(n_ops, n_ctrs, uptime_ns, epoch, uptime_ns);
	size_t i;

	for (i = 0; i < n_ops; i++) {
		pt_op_stats *o = &s->ops[s->n_ops++];

		op_fill(o, (uint32_t)i + 1, ops[i].name);
		op_add(o, ops[i].count, ops[i].dur_ns);
	}
	for (i = 0; i < n_ctrs; i++) {
		pt_counter_stats *k = &s->counters[s->n_counters++];

		k->id = (uint32_t)i + 1;
		k->name = strdup(c[i].name);
		k->value = c[i].value;
	}
	return s;
}

static const struct model_row *
row_named(const struct model *m, const char *name)
{
	ssize_t i = model_find_row(m, name);

	return i < 0 ? NULL : &m->rows[i];
}

/* ------------------------------------------------------------------------ */
/* Sorting                                                                   */
/* ------------------------------------------------------------------------ */

/* The key of column col of a row, as the model sorts it. */
static double
key_of(const struct model_row *r, int col)
{
	switch (col) {
	case MODEL_COL_COUNT:	return (double)r->op->count;
	case MODEL_COL_RATE:	return r->rate;
	case MODEL_COL_AVG:	return r->op->mean_ns;
	case MODEL_COL_MIN:	return (double)r->op->min_ns;
	case MODEL_COL_MAX:	return (double)r->op->max_ns;
	case MODEL_COL_P50:	return (double)r->op->p50_ns;
	case MODEL_COL_P99:	return (double)r->op->p99_ns;
	case MODEL_COL_TOTAL:	return (double)r->op->total_ns;
	case MODEL_COL_PCT:	return r->pct;
	}
	return 0;
}

/* A set of operations with ties in every numeric column. */
static struct model *
sort_model(void)
{
	static const struct op_spec ops[] = {
		{ "delta", 10, 1000 },
		{ "alpha", 10, 1000 },		/* ties delta everywhere */
		{ "charlie", 20, 500 },		/* same total as alpha */
		{ "bravo", 5, 2000 },		/* same total, rarer */
		{ "echo", 1, 1000000 },
		{ "foxtrot", 1000, 5 },
		{ "golf", 0, 0 },		/* idle */
	};
	struct model *m = calloc(1, sizeof *m);
	pt_snapshot *a, *b;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	model_init(m, 10);
	/* Two snapshots so rates are deltas: everything doubles in 1 s. */
	a = snap_make(ops, 7, NULL, 0, 2 * S, 0);
	b = snap_make(ops, 7, NULL, 0, 3 * S, 0);
	for (i = 0; i < b->n_ops; i++)
		op_add(&b->ops[i], ops[i].count, ops[i].dur_ns);
	CU_ASSERT_EQUAL(model_ingest(m, a), 0);
	CU_ASSERT_EQUAL(model_ingest(m, b), 0);
	CU_ASSERT_EQUAL(m->n_rows, 7);
	return m;
}

static void
test_sort_every_column_both_directions(void)
{
	struct model *m = sort_model();
	int col, desc, c;
	size_t i;

	for (col = 0; col < MODEL_COL_N; col++) {
		for (desc = 0; desc <= 1; desc++) {
			model_set_sort(m, col, desc);
			CU_ASSERT_EQUAL(m->sort_col, col);
			CU_ASSERT_EQUAL(m->descending, desc);
			for (i = 0; i + 1 < m->n_rows; i++) {
				const struct model_row *x = &m->rows[i];
				const struct model_row *y = &m->rows[i + 1];

				c = strcmp(x->op->name, y->op->name);
				if (col == MODEL_COL_NAME) {
					CU_ASSERT(desc ? c > 0 : c < 0);
					continue;
				}
				if (key_of(x, col) == key_of(y, col)) {
					/* Ties: by name, ascending, both ways. */
					CU_ASSERT(c < 0);
				} else if (desc) {
					CU_ASSERT(key_of(x, col) > key_of(y, col));
				} else {
					CU_ASSERT(key_of(x, col) < key_of(y, col));
				}
			}
		}
	}
	model_done(m);
	free(m);
}

static void
test_sort_tie_break_by_name(void)
{
	struct model *m = sort_model();

	/* alpha, bravo, charlie and delta have the same TOTAL (10000 ns). */
	model_set_sort(m, MODEL_COL_TOTAL, 1);
	CU_ASSERT_STRING_EQUAL(m->rows[0].op->name, "echo");
	CU_ASSERT_STRING_EQUAL(m->rows[1].op->name, "alpha");
	CU_ASSERT_STRING_EQUAL(m->rows[2].op->name, "bravo");
	CU_ASSERT_STRING_EQUAL(m->rows[3].op->name, "charlie");
	CU_ASSERT_STRING_EQUAL(m->rows[4].op->name, "delta");
	CU_ASSERT_STRING_EQUAL(m->rows[5].op->name, "foxtrot");
	CU_ASSERT_STRING_EQUAL(m->rows[6].op->name, "golf");
	model_invert(m);
	CU_ASSERT_EQUAL(m->descending, 0);
	CU_ASSERT_STRING_EQUAL(m->rows[0].op->name, "golf");
	CU_ASSERT_STRING_EQUAL(m->rows[1].op->name, "foxtrot");
	CU_ASSERT_STRING_EQUAL(m->rows[2].op->name, "alpha");
	CU_ASSERT_STRING_EQUAL(m->rows[5].op->name, "delta");
	CU_ASSERT_STRING_EQUAL(m->rows[6].op->name, "echo");
	/* Re-sorting an already sorted table changes nothing. */
	model_sort(m);
	CU_ASSERT_STRING_EQUAL(m->rows[2].op->name, "alpha");
	CU_ASSERT_STRING_EQUAL(m->rows[3].op->name, "bravo");
	model_done(m);
	free(m);
}

static void
test_sort_column_selection(void)
{
	struct model *m = sort_model();

	CU_ASSERT_EQUAL(m->sort_col, MODEL_COL_TOTAL);
	CU_ASSERT_EQUAL(m->descending, 1);
	model_step_column(m, 1);
	CU_ASSERT_EQUAL(m->sort_col, MODEL_COL_PCT);
	model_step_column(m, 1);		/* wraps to NAME, ascending */
	CU_ASSERT_EQUAL(m->sort_col, MODEL_COL_NAME);
	CU_ASSERT_EQUAL(m->descending, 0);
	CU_ASSERT_STRING_EQUAL(m->rows[0].op->name, "alpha");
	model_step_column(m, -1);
	CU_ASSERT_EQUAL(m->sort_col, MODEL_COL_PCT);
	CU_ASSERT_EQUAL(m->descending, 1);
	model_select_column(m, MODEL_COL_COUNT);
	CU_ASSERT_STRING_EQUAL(m->rows[0].op->name, "foxtrot");
	/* Selecting the current column keeps the direction. */
	model_invert(m);
	model_select_column(m, MODEL_COL_COUNT);
	CU_ASSERT_EQUAL(m->descending, 0);
	CU_ASSERT_STRING_EQUAL(model_col_name(MODEL_COL_RATE), "RATE/s");
	CU_ASSERT_STRING_EQUAL(model_col_name(MODEL_COL_PCT), "%TIME");
	model_done(m);
	free(m);
}

/* ------------------------------------------------------------------------ */
/* Filtering                                                                 */
/* ------------------------------------------------------------------------ */

static void
test_filter_by_name(void)
{
	static const struct op_spec ops[] = {
		{ "game.play", 3, 100 }, { "game.move", 9, 10 },
		{ "training.step", 2, 1000 }, { "Game.Search", 1, 5 },
	};
	static const struct ctr_spec ctrs[] = {
		{ "games_played", 3 }, { "checkpoints", 1 },
	};
	struct model m;

	model_init(&m, 10);
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(ops, 4, ctrs, 2, S, 0)), 0);
	CU_ASSERT_EQUAL(m.n_rows, 4);
	CU_ASSERT_EQUAL(m.n_crows, 2);
	CU_ASSERT_EQUAL(model_set_filter(&m, "game"), 0);
	CU_ASSERT_EQUAL(m.n_rows, 3);	/* case-insensitive */
	CU_ASSERT_PTR_NULL(row_named(&m, "training.step"));
	CU_ASSERT_PTR_NOT_NULL(row_named(&m, "Game.Search"));
	CU_ASSERT_EQUAL(m.n_crows, 1);
	CU_ASSERT_STRING_EQUAL(m.crows[0].c->name, "games_played");
	/* The filter survives new data. */
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(ops, 4, ctrs, 2, 2 * S, 0)),
	    0);
	CU_ASSERT_EQUAL(m.n_rows, 3);
	CU_ASSERT_EQUAL(model_set_filter(&m, "nothing"), 0);
	CU_ASSERT_EQUAL(m.n_rows, 0);
	CU_ASSERT_EQUAL(model_set_filter(&m, ""), 0);
	CU_ASSERT_EQUAL(m.n_rows, 4);
	CU_ASSERT_EQUAL(m.n_crows, 2);
	model_done(&m);
}

/* ------------------------------------------------------------------------ */
/* Rates                                                                     */
/* ------------------------------------------------------------------------ */

static void
test_rates_from_two_snapshots(void)
{
	struct op_spec op = { "op", 100, 1000 };
	struct ctr_spec c = { "bytes", 1000 };
	struct model m;
	const struct model_row *r;

	model_init(&m, 10);
	/* First snapshot: the average since the reset (100 in 4 s). */
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(&op, 1, &c, 1, 4 * S, 0)),
	    0);
	r = row_named(&m, "op");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_DOUBLE_EQUAL(r->rate, 25.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(m.crows[0].rate, 250.0, 1e-9);
	/* 2 s later: 500 events and -400 bytes more. */
	op.count = 600;
	c.value = 600;
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(&op, 1, &c, 1, 6 * S, 0)),
	    0);
	r = row_named(&m, "op");
	CU_ASSERT_DOUBLE_EQUAL(r->rate, 250.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(m.crows[0].rate, -200.0, 1e-9);
	/* %TIME: 600 us of 6 s. */
	CU_ASSERT_DOUBLE_EQUAL(r->pct, 100.0 * 600000 / 6e9, 1e-9);
	/* A reset in between: the rate is the average since it. */
	op.count = 30;
	c.value = 0;
	{
		pt_snapshot *s = snap_make(&op, 1, &c, 1, 7 * S, 1);

		s->since_reset_ns = S / 2;
		CU_ASSERT_EQUAL(model_ingest(&m, s), 0);
	}
	r = row_named(&m, "op");
	CU_ASSERT_DOUBLE_EQUAL(r->rate, 60.0, 1e-9);
	model_done(&m);
}

static void
test_rates_match_operations_by_name(void)
{
	struct op_spec a[] = { { "x", 10, 100 } };
	struct op_spec b[] = { { "new", 5, 100 }, { "x", 30, 100 } };
	struct model m;
	pt_snapshot *s;

	model_init(&m, 10);
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(a, 1, NULL, 0, S, 0)), 0);
	s = snap_make(b, 2, NULL, 0, 2 * S, 0);
	/* Keep ids ascending but in other slots than before. */
	s->ops[0].id = 2;
	s->ops[1].id = 3;
	CU_ASSERT_EQUAL(model_ingest(&m, s), 0);
	CU_ASSERT_DOUBLE_EQUAL(row_named(&m, "x")->rate, 20.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(row_named(&m, "new")->rate, 5.0, 1e-9);
	model_done(&m);
}

/* ------------------------------------------------------------------------ */
/* Windows                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Feeds snapshots every 500 ms for 20 s: 100 events/s of 1 us in the first
 * 10 s, then 100 events/s of 50 us.
 */
static void
feed_two_phases(struct model *m, uint64_t until_ms)
{
	uint64_t t;

	for (t = 500; t <= until_ms; t += 500) {
		pt_snapshot *s = snap_new(1, 0, t * 1000000ULL, 0,
		    t * 1000000ULL);
		uint64_t early = (t < 10000 ? t : 10000) / 10;
		uint64_t late = t > 10000 ? (t - 10000) / 10 : 0;

		op_fill(&s->ops[0], 1, "step");
		s->n_ops = 1;
		op_add(&s->ops[0], early, 1000);
		op_add(&s->ops[0], late, 50000);
		CU_ASSERT_EQUAL_FATAL(model_ingest(m, s), 0);
	}
}

static void
test_window_last_n_seconds(void)
{
	struct model m;
	const struct model_row *r;
	char buf[32];

	model_init(&m, 10);
	feed_two_phases(&m, 20000);
	r = row_named(&m, "step");
	CU_ASSERT_EQUAL(r->op->count, 2000);	/* since reset */
	CU_ASSERT_EQUAL(m.view_base, MODEL_BASE_RESET);
	CU_ASSERT_STRING_EQUAL(model_window_label(&m, buf, sizeof buf),
	    "since reset");
	/* The history stays short. */
	CU_ASSERT(m.n_hist <= 2 + MODEL_HIST_STEPS);

	CU_ASSERT_EQUAL(model_set_window(&m, MODEL_WINDOW_LAST_N), 0);
	CU_ASSERT_STRING_EQUAL(model_window_label(&m, buf, sizeof buf),
	    "last 10s");
	CU_ASSERT_EQUAL(m.view_base, MODEL_BASE_WINDOW);
	r = row_named(&m, "step");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	/* Only the last 10 s: the 50 us phase, from histogram differences. */
	CU_ASSERT_EQUAL(r->op->count, 1000);
	CU_ASSERT_EQUAL(r->op->total_ns, 1000 * 50000ULL);
	CU_ASSERT(llabs((long long)r->op->p50_ns - 50000) < 500);
	CU_ASSERT(r->op->min_ns >= 49000);
	CU_ASSERT_EQUAL(m.span_ns, 10 * S);
	CU_ASSERT_DOUBLE_EQUAL(r->pct, 100.0 * 0.05 / 10, 1e-9);

	/* Back to since reset. */
	CU_ASSERT_EQUAL(model_set_window(&m, MODEL_WINDOW_SINCE_RESET), 0);
	CU_ASSERT_EQUAL(row_named(&m, "step")->op->count, 2000);
	model_done(&m);
}

static void
test_window_shorter_history(void)
{
	struct model m;

	/* Attached 3 s ago to a process reset long before: a 3 s window. */
	model_init(&m, 10);
	m.window = MODEL_WINDOW_LAST_N;
	feed_two_phases(&m, 3000);
	CU_ASSERT_EQUAL(m.view_base, MODEL_BASE_WINDOW);
	CU_ASSERT_EQUAL(row_named(&m, "step")->op->count, 250);
	CU_ASSERT_EQUAL(m.span_ns, 2500000000ULL);
	model_done(&m);
}

static void
test_window_after_target_reset(void)
{
	struct op_spec op = { "op", 100, 10 };
	struct model m;
	uint64_t t;

	model_init(&m, 10);
	m.window = MODEL_WINDOW_LAST_N;
	for (t = 1; t <= 20; t++)
		CU_ASSERT_EQUAL(model_ingest(&m,
		    snap_make(&op, 1, NULL, 0, t * S, 0)), 0);
	op.count = 7;
	CU_ASSERT_EQUAL(model_ingest(&m,
	    snap_make(&op, 1, NULL, 0, 21 * S, 1)), 0);
	/* A new epoch: no older history; everything since the reset. */
	CU_ASSERT_EQUAL(m.n_hist, 1);
	CU_ASSERT_EQUAL(row_named(&m, "op")->op->count, 7);
	model_done(&m);
}

/* ------------------------------------------------------------------------ */
/* View baseline (r) and pause (p)                                           */
/* ------------------------------------------------------------------------ */

static void
test_view_baseline(void)
{
	struct op_spec op = { "op", 100, 10 };
	struct ctr_spec c = { "ctr", 50 };
	struct model m;

	model_init(&m, 10);
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(&op, 1, &c, 1, S, 0)), 0);
	CU_ASSERT_FALSE(model_has_baseline(&m));
	CU_ASSERT_EQUAL(model_view_reset(&m), 0);
	CU_ASSERT_TRUE(model_has_baseline(&m));
	CU_ASSERT_EQUAL(m.view_base, MODEL_BASE_VIEW);
	CU_ASSERT_EQUAL(row_named(&m, "op")->op->count, 0);
	CU_ASSERT_EQUAL(m.crows[0].c->value, 0);

	/* Later: only what happened after the baseline. */
	op.count = 130;
	c.value = 45;
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(&op, 1, &c, 1, 3 * S, 0)),
	    0);
	CU_ASSERT_EQUAL(row_named(&m, "op")->op->count, 30);
	CU_ASSERT_EQUAL(m.crows[0].c->value, -5);
	CU_ASSERT_EQUAL(m.span_ns, 2 * S);
	/* The source (the target's numbers) is untouched. */
	CU_ASSERT_EQUAL(model_source(&m)->ops[0].count, 130);

	/* Window and baseline: the later start wins. */
	CU_ASSERT_EQUAL(model_set_window(&m, MODEL_WINDOW_LAST_N), 0);
	CU_ASSERT_EQUAL(m.view_base, MODEL_BASE_VIEW);
	CU_ASSERT_EQUAL(row_named(&m, "op")->op->count, 30);
	CU_ASSERT_EQUAL(model_set_window(&m, MODEL_WINDOW_SINCE_RESET), 0);

	/* Cleared by hand (R) ... */
	CU_ASSERT_EQUAL(model_clear_baseline(&m), 0);
	CU_ASSERT_EQUAL(row_named(&m, "op")->op->count, 130);

	/* ... or by a new epoch. */
	CU_ASSERT_EQUAL(model_view_reset(&m), 0);
	op.count = 4;
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(&op, 1, &c, 1, 4 * S, 1)),
	    0);
	CU_ASSERT_FALSE(model_has_baseline(&m));
	CU_ASSERT_EQUAL(row_named(&m, "op")->op->count, 4);
	model_done(&m);
}

static void
test_pause_freezes_and_catches_up(void)
{
	struct op_spec op = { "op", 10, 10 };
	struct model m;

	model_init(&m, 10);
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(&op, 1, NULL, 0, S, 0)), 0);
	CU_ASSERT_EQUAL(model_set_paused(&m, 1), 0);
	op.count = 20;
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(&op, 1, NULL, 0, 2 * S, 0)),
	    0);
	op.count = 40;
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(&op, 1, NULL, 0, 3 * S, 0)),
	    0);
	/* Collection goes on, the display does not move. */
	CU_ASSERT_EQUAL(m.n_received, 3);
	CU_ASSERT_EQUAL(model_latest(&m)->ops[0].count, 40);
	CU_ASSERT_EQUAL(row_named(&m, "op")->op->count, 10);
	CU_ASSERT_EQUAL(m.mem_shown_t, S);
	/* Sorting and filtering still work on the frozen rows. */
	model_invert(&m);
	CU_ASSERT_EQUAL(model_set_filter(&m, "o"), 0);
	CU_ASSERT_EQUAL(row_named(&m, "op")->op->count, 10);
	/* Unpausing catches up; the rate is of the newest interval. */
	CU_ASSERT_EQUAL(model_set_paused(&m, 0), 0);
	CU_ASSERT_EQUAL(row_named(&m, "op")->op->count, 40);
	CU_ASSERT_DOUBLE_EQUAL(row_named(&m, "op")->rate, 20.0, 1e-9);
	model_done(&m);
}

/* ------------------------------------------------------------------------ */
/* Export and memory samples                                                 */
/* ------------------------------------------------------------------------ */

static void
test_export_as_shown(void)
{
	static const struct op_spec ops[] = {
		{ "game.play", 3, 100 }, { "training.step", 2, 1000 },
	};
	static const struct ctr_spec ctrs[] = {
		{ "games", 3 }, { "steps", 1 },
	};
	struct export_view v;
	pt_snapshot out;
	struct model m;
	char win[32];

	model_init(&m, 5);
	CU_ASSERT_EQUAL(model_export(&m, &out, &v, win, sizeof win),
	    PT_ENOENT);
	CU_ASSERT_EQUAL(model_ingest(&m, snap_make(ops, 2, ctrs, 2, S, 0)), 0);
	CU_ASSERT_EQUAL(model_set_filter(&m, "game"), 0);
	model_select_column(&m, MODEL_COL_COUNT);
	model_invert(&m);
	CU_ASSERT_EQUAL(model_set_window(&m, MODEL_WINDOW_LAST_N), 0);
	CU_ASSERT_EQUAL(model_export(&m, &out, &v, win, sizeof win), 0);
	CU_ASSERT_EQUAL(out.n_ops, 1);
	CU_ASSERT_STRING_EQUAL(out.ops[0].name, "game.play");
	CU_ASSERT_EQUAL(out.n_counters, 1);
	CU_ASSERT_STRING_EQUAL(out.counters[0].name, "games");
	CU_ASSERT_EQUAL(out.pid, 4242);
	CU_ASSERT_STRING_EQUAL(v.window, "last_5s");
	CU_ASSERT_STRING_EQUAL(v.sort, "COUNT");
	CU_ASSERT_EQUAL(v.descending, 0);
	CU_ASSERT_STRING_EQUAL(v.filter, "game");
	CU_ASSERT_EQUAL(v.view_reset, 0);
	model_export_done(&out);
	CU_ASSERT_EQUAL(model_view_reset(&m), 0);
	CU_ASSERT_EQUAL(model_set_filter(&m, NULL), 0);
	CU_ASSERT_EQUAL(model_export(&m, &out, &v, win, sizeof win), 0);
	CU_ASSERT_EQUAL(out.n_ops, 2);
	CU_ASSERT_PTR_NULL(v.filter);
	CU_ASSERT_EQUAL(v.view_reset, 1);
	model_export_done(&out);
	model_done(&m);
}

static void
test_memory_samples(void)
{
	struct model m;
	const struct model_mem *s;
	uint64_t t;
	size_t i;

	model_init(&m, 10);
	/* Ten snapshots a second for 3 s: three samples, each the highest. */
	for (t = 0; t < 30; t++) {
		pt_snapshot *p = snap_new(0, 0, t * S / 10, 0, t * S / 10);

		p->memory.rss_bytes = (t % 10 == 5 ? 1000 : 100) + t;
		p->memory.heap_bytes = t;
		CU_ASSERT_EQUAL(model_ingest(&m, p), 0);
	}
	CU_ASSERT_EQUAL(m.mem_n, 3);
	for (i = 0; i < 3; i++) {
		s = model_mem_at(&m, i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_EQUAL(s->t_ns, i * S);
		CU_ASSERT_EQUAL(s->rss, 1005 + 10 * i);
		CU_ASSERT_EQUAL(s->heap, 9 + 10 * i);
	}
	CU_ASSERT_PTR_NULL(model_mem_at(&m, 3));
	/* The ring keeps the newest MODEL_MEM_MAX. */
	for (t = 3; t < MODEL_MEM_MAX + 10; t++)
		CU_ASSERT_EQUAL(model_ingest(&m, snap_new(0, 0, t * S, 0,
		    t * S)), 0);
	CU_ASSERT_EQUAL(m.mem_n, MODEL_MEM_MAX);
	CU_ASSERT_EQUAL(model_mem_at(&m, 0)->t_ns, 10 * S);
	model_done(&m);
}

/* ------------------------------------------------------------------------ */
/* Human units                                                               */
/* ------------------------------------------------------------------------ */

static void
test_format_units(void)
{
	char b[32];

	CU_ASSERT_STRING_EQUAL(fmt_duration(b, sizeof b, 0, 1), "0");
	CU_ASSERT_STRING_EQUAL(fmt_duration(b, sizeof b, 123, 1), "123ns");
	CU_ASSERT_STRING_EQUAL(fmt_duration(b, sizeof b, 4560, 1),
	    "4.56\xc2\xb5s");
	CU_ASSERT_STRING_EQUAL(fmt_duration(b, sizeof b, 4560, 0), "4.56us");
	CU_ASSERT_STRING_EQUAL(fmt_duration(b, sizeof b, 78.9e6, 0), "78.9ms");
	CU_ASSERT_STRING_EQUAL(fmt_duration(b, sizeof b, 999.7e3, 0), "1.00ms");
	CU_ASSERT_STRING_EQUAL(fmt_duration(b, sizeof b, 1.234e9, 0), "1.23s");
	CU_ASSERT_STRING_EQUAL(fmt_duration(b, sizeof b, 9960e9, 0), "2h46m");
	CU_ASSERT_STRING_EQUAL(fmt_count(b, sizeof b, 999, 6), "999");
	CU_ASSERT_STRING_EQUAL(fmt_count(b, sizeof b, 123456, 6), "123456");
	CU_ASSERT_STRING_EQUAL(fmt_count(b, sizeof b, 1234567, 6), "1235K");
	CU_ASSERT_STRING_EQUAL(fmt_count(b, sizeof b, 12345678, 6), "12346K");
	CU_ASSERT_STRING_EQUAL(fmt_count(b, sizeof b, 12345678, 5), "12M");
	CU_ASSERT_STRING_EQUAL(fmt_count(b, sizeof b, -1234567, 6), "-1235K");
	{
		int64_t v;
		int w;

		/* Never wider than asked. */
		for (w = 3; w <= 10; w++)
			for (v = 1; v < INT64_MAX / 7; v *= 7)
				CU_ASSERT(strlen(fmt_count(b, sizeof b, v, w)) <=
				    (size_t)w);
	}
	CU_ASSERT_STRING_EQUAL(fmt_rate(b, sizeof b, 0.01, 6), "0");
	CU_ASSERT_STRING_EQUAL(fmt_rate(b, sizeof b, 2.46, 6), "2.5");
	CU_ASSERT_STRING_EQUAL(fmt_rate(b, sizeof b, 1234.4, 6), "1234");
	CU_ASSERT_STRING_EQUAL(fmt_bytes(b, sizeof b, 512), "512B");
	CU_ASSERT_STRING_EQUAL(fmt_bytes(b, sizeof b, 47395635), "45.2M");
	CU_ASSERT_STRING_EQUAL(fmt_bytes(b, sizeof b, 512u << 20), "512M");
	CU_ASSERT_STRING_EQUAL(fmt_pct(b, sizeof b, 12.34), "12.3%");
	CU_ASSERT_STRING_EQUAL(fmt_uptime(b, sizeof b, 427 * S), "7m07s");
	CU_ASSERT_STRING_EQUAL(fmt_interval(b, sizeof b, 100), "100ms");
	CU_ASSERT_STRING_EQUAL(fmt_interval(b, sizeof b, 1500), "1.5s");
	CU_ASSERT_STRING_EQUAL(fmt_interval(b, sizeof b, 2000), "2s");
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "sort every column both directions",
		    test_sort_every_column_both_directions },
		{ "sort tie-break by name", test_sort_tie_break_by_name },
		{ "sort column selection", test_sort_column_selection },
		{ "filter by name", test_filter_by_name },
		{ "rates from two snapshots", test_rates_from_two_snapshots },
		{ "rates match operations by name",
		    test_rates_match_operations_by_name },
		{ "window last n seconds", test_window_last_n_seconds },
		{ "window shorter history", test_window_shorter_history },
		{ "window after target reset", test_window_after_target_reset },
		{ "view baseline", test_view_baseline },
		{ "pause freezes and catches up",
		    test_pause_freezes_and_catches_up },
		{ "export as shown", test_export_as_shown },
		{ "memory samples", test_memory_samples },
		{ "format units", test_format_units },
	};
	return cunit_run("model", NULL, NULL, tests, CUNIT_COUNT(tests));
}
