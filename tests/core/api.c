/*
 * api.c - suite "api": diff, profile_call, summary, strerror, macros.
 */
#include "core-test.h"

static pt_site diff_op = PT_SITE_INIT("api.diff.op", PT_KIND_OP);
static pt_site diff_new = PT_SITE_INIT("api.diff.new", PT_KIND_OP);
static pt_site diff_idle = PT_SITE_INIT("api.diff.idle", PT_KIND_OP);
static pt_site diff_ctr = PT_SITE_INIT("api.diff.ctr", PT_KIND_COUNTER);
static pt_site diff_neg = PT_SITE_INIT("api.diff.neg", PT_KIND_COUNTER);

static void
test_snapshot_diff_subtracts_counts_and_counters(void)
{
	pt_snapshot *before, *after, *d = NULL, *self = NULL;
	const pt_op_stats *op;
	size_t i;

	record_n(&diff_op, 3, 1000);
	record_n(&diff_idle, 2, 500);
	pt_counter_add(&diff_ctr, 2);
	before = snap_take();
	record_n(&diff_op, 5, 2000);
	record_n(&diff_new, 4, 700);
	pt_counter_add(&diff_ctr, 7);
	pt_counter_add(&diff_neg, -3);
	after = snap_take();

	CHECK_INT_EQ(pt_snapshot_diff(before, after, &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	op = snap_op(d, "api.diff.op");
	CHECK_U64_EQ(op->count, 5);
	CHECK_NEAR(op->total_ns, 10000, 1e-3, 4);
	CHECK_NEAR(op->min_ns, 2000, 0.01, 2);
	CHECK_NEAR(op->max_ns, 2000, 0.01, 2);
	CHECK_NEAR(op->p50_ns, 2000, 0.01, 2);
	CHECK_U64_EQ(bucket_sum(op), 5);
	op = snap_op(d, "api.diff.new");
	CHECK_U64_EQ(op->count, 4);
	CHECK_NEAR(op->min_ns, 700, 1e-3, 2);
	CHECK_U64_EQ(op_count(d, "api.diff.idle"), 0);
	CHECK_U64_EQ(op_count(d, "corr.scope.a"), 0);
	CHECK_I64_EQ(ctr_value(d, "api.diff.ctr"), 7);
	CHECK_I64_EQ(ctr_value(d, "api.diff.neg"), -3);
	CHECK_I64_EQ(ctr_value(d, "corr.ctr.pos"), 0);
	CHECK_U64_EQ(d->reset_epoch, after->reset_epoch);
	for (i = 0; i < d->n_ops; i++)
		check_op_consistent(&d->ops[i]);

	/* A snapshot minus itself is all zeros. */
	CHECK_INT_EQ(pt_snapshot_diff(after, after, &self), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(self);
	for (i = 0; i < self->n_ops; i++)
		CHECK_U64_EQ(self->ops[i].count, 0);
	for (i = 0; i < self->n_counters; i++)
		CHECK_I64_EQ(self->counters[i].value, 0);

	CHECK_INT_EQ(pt_snapshot_diff(before, NULL, &d), PT_EINVAL);
	CHECK_INT_EQ(pt_snapshot_diff(before, after, NULL), PT_EINVAL);
	pt_snapshot_free(self);
	pt_snapshot_free(d);
	pt_snapshot_free(before);
	pt_snapshot_free(after);
}

static pt_site prof_a = PT_SITE_INIT("api.prof.a", PT_KIND_OP);
static pt_site prof_b = PT_SITE_INIT("api.prof.b", PT_KIND_OP);
static pt_site prof_c = PT_SITE_INIT("api.prof.c", PT_KIND_OP);
static pt_site prof_ctr = PT_SITE_INIT("api.prof.ctr", PT_KIND_COUNTER);

static void *
prof_thread(void *arg)
{
	(void)arg;
	record_n(&prof_c, 4, 300);
	return NULL;
}

static void
prof_fn(void *arg)
{
	pthread_t t;
	int i;

	(void)arg;
	for (i = 0; i < 10; i++) {
		pt_scope sc = pt_scope_begin(&prof_b);

		pt_scope_end(&sc);
	}
	pt_counter_add(&prof_ctr, 6);
	if (pthread_create(&t, NULL, prof_thread, NULL) == 0)
		pthread_join(t, NULL);
	++*(int *)arg;
}

static void
test_profile_call_reports_only_what_the_call_recorded(void)
{
	pt_snapshot *p = NULL;
	int called = 0;

	record_n(&prof_a, 3, 1000);
	pt_counter_add(&prof_ctr, 100);
	CHECK_INT_EQ(pt_profile_call(prof_fn, &called, &p), 0);
	CHECK_INT_EQ(called, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CHECK_U64_EQ(op_count(p, "api.prof.b"), 10);
	CHECK_U64_EQ(op_count(p, "api.prof.c"), 4);	/* another thread */
	CHECK_U64_EQ(op_count(p, "api.prof.a"), 0);	/* 0 or absent */
	CHECK_U64_EQ(op_count(p, "corr.known"), 0);
	CHECK_I64_EQ(ctr_value(p, "api.prof.ctr"), 6);
	pt_snapshot_free(p);
	CHECK_INT_EQ(pt_profile_call(NULL, NULL, &p), PT_EINVAL);
	CHECK_INT_EQ(pt_profile_call(prof_fn, &called, NULL), PT_EINVAL);
}

static void
test_summary_write_has_headers_and_rows(void)
{
	static const char *words[] = { "Operations", "Counters", "NAME",
	    "COUNT", "TOTAL", "AVG", "MIN", "MAX", "P50", "P99", "VALUE" };
	pt_snapshot *s;
	char *text, *buf = NULL;
	size_t i, len = 0;
	FILE *f;

	s = snap_take();
	text = summary_text(s);
	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		check_report(strstr(text, words[i]) != NULL, __LINE__,
		    "summary header", "\"%s\" missing from the summary",
		    words[i]);
	CU_ASSERT(summary_row(text, "Operations", "corr.known", NULL));
	CU_ASSERT(summary_row(text, "Counters", "corr.ctr.neg", NULL));
	free(text);
	pt_snapshot_free(s);

	/* pt_summary_print takes its own snapshot. */
	f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CHECK_INT_EQ(pt_summary_print(f), 0);
	fclose(f);
	CU_ASSERT(buf != NULL && strstr(buf, "Operations") != NULL &&
	    strstr(buf, "corr.known") != NULL);
	free(buf);

	/* A failing stream is reported. */
	f = fopen("/dev/full", "we");
	if (f != NULL) {
		s = snap_take();
		setvbuf(f, NULL, _IONBF, 0);
		CHECK_INT_EQ(pt_summary_write(f, s), PT_ESYS);
		fclose(f);
		pt_snapshot_free(s);
	}
}

static void
test_strerror_never_returns_null(void)
{
	static const int unknown[] = { -15, -1000, 1, 42, INT_MIN, INT_MAX };
	const char *m[15];
	int err, j;
	size_t i;

	for (err = 0; err >= -14; err--) {
		m[-err] = pt_strerror(err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m[-err]);
		CU_ASSERT(m[-err][0] != '\0');
		for (j = 0; j < -err; j++)
			check_report(strcmp(m[j], m[-err]) != 0, __LINE__,
			    "distinct messages", "codes %d and %d share \"%s\"",
			    -j, err, m[j]);
	}
	for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		const char *u = pt_strerror(unknown[i]);

		CU_ASSERT(u != NULL && u[0] != '\0');
	}
	CU_ASSERT_STRING_EQUAL(pt_version(), "0.1.0");
}

/* The exported, out-of-line pt_scope_begin (for bindings). */
extern pt_scope pt_scope_begin_exported(pt_site *site)
    __asm__("pt_scope_begin");

static void
test_exported_pt_scope_begin_times_like_the_inline_one(void)
{
	static pt_site site = PT_SITE_INIT("api.begin.exported", PT_KIND_OP);
	uint64_t in, in_min = UINT64_MAX;
	pt_snapshot *s;
	pt_scope sc;
	int i;

	for (i = 0; i < 5; i++) {
		sc = pt_scope_begin_exported(&site);
		in = spin_ns(2000);
		pt_scope_end(&sc);
		in_min = in < in_min ? in : in_min;
	}
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "api.begin.exported")->count, 5);
	CHECK_RANGE(in_min * (1 - 1e-4) - 200,
	    snap_op(s, "api.begin.exported")->min_ns, in_min + 100000);
	pt_snapshot_free(s);
}

static void
pt_func_probe(void)
{
	PT_FUNC();
	spin_ns(1000);
}

static void
test_pt_func_names_the_site_after_the_function(void)
{
	pt_snapshot *s;
	int i;

	for (i = 0; i < 3; i++)
		pt_func_probe();
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "pt_func_probe")->count, 3);
	CU_ASSERT(snap_op(s, "pt_func_probe")->min_ns >= 900);
	pt_snapshot_free(s);
}

static void
scope_count_probe(void)
{
	PT_SCOPE_COUNT("api.macro.step", "api.macro.steps");
	spin_ns(500);
}

static void
test_pt_scope_count_times_and_counts(void)
{
	pt_snapshot *s;
	int i;

	for (i = 0; i < 4; i++)
		scope_count_probe();
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "api.macro.step")->count, 4);
	CHECK_I64_EQ(ctr_value(s, "api.macro.steps"), 4);
	/* Separate namespaces: no counter "api.macro.step" appeared. */
	CU_ASSERT_PTR_NULL(pt_snapshot_find_counter(s, "api.macro.step"));
	CU_ASSERT_PTR_NULL(pt_snapshot_find_op(s, "api.macro.steps"));
	pt_snapshot_free(s);
}

static void
test_pt_scope_and_pt_begin_end_time_blocks(void)
{
	pt_snapshot *s;
	int i, ran = 0;

	for (i = 0; i < 6; i++) {
		PT_BEGIN(bv, "api.macro.begin");
		ran++;
		PT_END(bv);
	}
	for (i = 0; i < 2; i++) {
		PT_SCOPE("api.macro.scope");
		{
			PT_SCOPE("api.macro.inner");
			ran++;
		}
	}
	CHECK_INT_EQ(ran, 8);
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "api.macro.begin")->count, 6);
	CHECK_U64_EQ(snap_op(s, "api.macro.scope")->count, 2);
	CHECK_U64_EQ(snap_op(s, "api.macro.inner")->count, 2);
	CU_ASSERT(snap_op(s, "api.macro.scope")->total_ns >=
	    snap_op(s, "api.macro.inner")->total_ns);
	pt_snapshot_free(s);
}

static void
test_pt_count_and_pt_inc_add_to_counters(void)
{
	pt_snapshot *s;
	int i;

	for (i = 0; i < 3; i++) {
		PT_COUNT("api.macro.count", 5);
		PT_INC("api.macro.count");
		PT_COUNT("api.macro.down", -2);
	}
	s = snap_take();
	CHECK_I64_EQ(ctr_value(s, "api.macro.count"), 18);
	CHECK_I64_EQ(ctr_value(s, "api.macro.down"), -6);
	pt_snapshot_free(s);
}

const struct test_def api_tests[] = {
	TEST(test_snapshot_diff_subtracts_counts_and_counters),
	TEST(test_profile_call_reports_only_what_the_call_recorded),
	TEST(test_summary_write_has_headers_and_rows),
	TEST(test_strerror_never_returns_null),
	TEST(test_exported_pt_scope_begin_times_like_the_inline_one),
	TEST(test_pt_func_names_the_site_after_the_function),
	TEST(test_pt_scope_count_times_and_counts),
	TEST(test_pt_scope_and_pt_begin_end_time_blocks),
	TEST(test_pt_count_and_pt_inc_add_to_counters),
	{ NULL, NULL }
};
