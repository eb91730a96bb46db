/*
 * correctness.c - suite "correctness": exact counts, totals, extremes and
 * counter sums over several threads; the snapshot's arrays and header.
 */
#include "core-test.h"

#define SCOPE_THREADS		4
/* Under valgrind every clock read is a system call: a quarter. */
#define SCOPES_PER_THREAD	(valgrind ? 250000u : 1000000u)

static pt_site corr_sites[3] = {
	PT_SITE_INIT("corr.scope.a", PT_KIND_OP),
	PT_SITE_INIT("corr.scope.b", PT_KIND_OP),
	PT_SITE_INIT("corr.scope.c", PT_KIND_OP),
};

static void *
scope_worker(void *arg)
{
	uint32_t i;

	(void)arg;
	for (i = 0; i < SCOPES_PER_THREAD; i++) {
		pt_scope sc = pt_scope_begin(&corr_sites[i % 3]);

		pt_scope_end(&sc);
	}
	return NULL;
}

static void
test_scope_counts_exact_over_4_threads_and_3_sites(void)
{
	static const char *names[3] = { "corr.scope.a", "corr.scope.b",
	    "corr.scope.c" };
	pt_snapshot *s;
	int k;

	run_threads(SCOPE_THREADS, scope_worker, NULL, 0);
	s = snap_take();
	for (k = 0; k < 3; k++) {
		const pt_op_stats *op = snap_op(s, names[k]);
		uint64_t per = SCOPES_PER_THREAD / 3 +
		    ((unsigned)k < SCOPES_PER_THREAD % 3);

		CHECK_U64_EQ(op->count, SCOPE_THREADS * per);
		check_op_consistent(op);
	}
	pt_snapshot_free(s);
}

/* Known durations recorded from several threads. */
struct known_arg {
	int		 idx;
	uint64_t	 n, sum, min, max;
};

static pt_site known_site = PT_SITE_INIT("corr.known", PT_KIND_OP);

#define KNOWN_PER_THREAD	200000

static void
known_record(struct known_arg *a, uint64_t v)
{
	if (pt_record_ns(&known_site, v) != 0)
		return;
	a->n++;
	a->sum += v;
	if (v < a->min)
		a->min = v;
	if (v > a->max)
		a->max = v;
}

static void *
known_worker(void *arg)
{
	struct known_arg *a = arg;
	uint64_t i;

	a->min = UINT64_MAX;
	for (i = 0; i < KNOWN_PER_THREAD; i++)
		known_record(a, 1000 + (i * 2654435761ULL +
		    (uint64_t)a->idx * 977) % 999000);
	if (a->idx == 1)
		known_record(a, 7000000000ULL);		/* 7 s */
	if (a->idx == 2)
		known_record(a, 60);
	return NULL;
}

static void
test_recorded_durations_give_exact_total_min_max(void)
{
	struct known_arg args[4];
	uint64_t n = 0, sum = 0, mn = UINT64_MAX, mx = 0;
	const pt_op_stats *op;
	pt_snapshot *s;
	int i;

	memset(args, 0, sizeof args);
	for (i = 0; i < 4; i++)
		args[i].idx = i;
	run_threads(4, known_worker, args, sizeof args[0]);
	for (i = 0; i < 4; i++) {
		n += args[i].n;
		sum += args[i].sum;
		mn = args[i].min < mn ? args[i].min : mn;
		mx = args[i].max > mx ? args[i].max : mx;
	}
	CHECK_U64_EQ(n, 4 * KNOWN_PER_THREAD + 2);
	s = snap_take();
	op = snap_op(s, "corr.known");
	CHECK_U64_EQ(op->count, n);
	CHECK_NEAR(op->total_ns, sum, 1e-3, 4);
	CHECK_NEAR(op->min_ns, mn, 1e-3, 2);
	CHECK_NEAR(op->max_ns, mx, 1e-3, 2);
	CHECK_NEAR(op->mean_ns, (double)sum / (double)n, 1e-3, 2);
	check_op_consistent(op);
	pt_snapshot_free(s);
}

/*
 * Scopes around a busy-wait: each event's duration is bracketed by the wait
 * measured inside the scope and the time measured around it, so the
 * snapshot's min, max and total must fall inside the same brackets.
 */
static void
test_busy_wait_scopes_match_clock_gettime(void)
{
	static pt_site site = PT_SITE_INIT("corr.busy", PT_KIND_OP);
	uint64_t in_min = UINT64_MAX, in_max = 0, out_min = UINT64_MAX;
	uint64_t out_max = 0, in_sum = 0, out_sum = 0, t0, t1, in;
	const int n = 300;
	const pt_op_stats *op;
	pt_snapshot *s;
	pt_scope sc;
	int i;

	for (i = 0; i < n; i++) {
		uint64_t target = 20000 + (uint64_t)(i % 5) * 30000;

		t0 = mono_ns();
		sc = pt_scope_begin(&site);
		in = spin_ns(target);
		pt_scope_end(&sc);
		t1 = mono_ns();
		in_min = in < in_min ? in : in_min;
		in_max = in > in_max ? in : in_max;
		in_sum += in;
		out_min = t1 - t0 < out_min ? t1 - t0 : out_min;
		out_max = t1 - t0 > out_max ? t1 - t0 : out_max;
		out_sum += t1 - t0;
	}
	s = snap_take();
	op = snap_op(s, "corr.busy");
	CHECK_U64_EQ(op->count, n);
	/* 1e-4 for the tick calibration, 200 ns for clock reads. */
	CHECK_RANGE(in_min * (1 - 1e-4) - 200, op->min_ns,
	    out_min * (1 + 1e-4) + 200);
	CHECK_RANGE(in_max * (1 - 1e-4) - 200, op->max_ns,
	    out_max * (1 + 1e-4) + 200);
	CHECK_RANGE(in_sum * (1 - 1e-4) - 200.0 * n, op->total_ns,
	    out_sum * (1 + 1e-4) + 200.0 * n);
	/* And within a few microseconds of the waits themselves. */
	CHECK_NEAR(op->min_ns, in_min, 0, 5000);
	CHECK_NEAR(op->min_ns, 20000, 0, 5000);
	CU_ASSERT(op->max_ns >= 140000 - 200);
	pt_snapshot_free(s);
}

#define CTR_THREADS	8
#define CTR_PER_THREAD	1000000

static pt_site ctr_pos = PT_SITE_INIT("corr.ctr.pos", PT_KIND_COUNTER);
static pt_site ctr_mixed = PT_SITE_INIT("corr.ctr.mixed", PT_KIND_COUNTER);
static pt_site ctr_neg = PT_SITE_INIT("corr.ctr.neg", PT_KIND_COUNTER);

struct ctr_arg {
	int	idx;
	int64_t	pos, mixed, neg;
};

static void *
ctr_worker(void *arg)
{
	struct ctr_arg *a = arg;
	int64_t i, v;

	for (i = 0; i < CTR_PER_THREAD; i++) {
		v = i % 11 + 1 + (i % 1000 == 0 ? 1000000000LL : 0);
		pt_counter_add(&ctr_pos, v);
		a->pos += v;
		v = i % 3 == 0 ? -(i % 17) - 1 : i % 13 + a->idx;
		pt_counter_add(&ctr_mixed, v);
		a->mixed += v;
		v = -(i % 7) - 1;
		pt_counter_add(&ctr_neg, v);
		a->neg += v;
	}
	return NULL;
}

static void
test_counters_sum_exactly_over_8_threads(void)
{
	struct ctr_arg args[CTR_THREADS];
	int64_t pos = 0, mixed = 0, neg = 0;
	pt_snapshot *s;
	int i;

	memset(args, 0, sizeof args);
	for (i = 0; i < CTR_THREADS; i++)
		args[i].idx = i;
	run_threads(CTR_THREADS, ctr_worker, args, sizeof args[0]);
	for (i = 0; i < CTR_THREADS; i++) {
		pos += args[i].pos;
		mixed += args[i].mixed;
		neg += args[i].neg;
	}
	CU_ASSERT(pos > (1LL << 32));	/* past 32 bits */
	CU_ASSERT(neg < 0);
	s = snap_take();
	CHECK_I64_EQ(ctr_value(s, "corr.ctr.pos"), pos);
	CHECK_I64_EQ(ctr_value(s, "corr.ctr.mixed"), mixed);
	CHECK_I64_EQ(ctr_value(s, "corr.ctr.neg"), neg);
	pt_snapshot_free(s);
}

static void
test_snapshot_arrays_ascend_by_id(void)
{
	pt_snapshot *s = snap_take();
	size_t i;

	CU_ASSERT(s->n_ops > 0 && s->n_counters > 0);
	for (i = 0; i < s->n_ops; i++) {
		CU_ASSERT_PTR_NOT_NULL(s->ops[i].name);
		if (i > 0)
			CU_ASSERT(s->ops[i].id > s->ops[i - 1].id);
		check_op_consistent(&s->ops[i]);
	}
	for (i = 1; i < s->n_counters; i++)
		CU_ASSERT(s->counters[i].id > s->counters[i - 1].id);
	pt_snapshot_free(s);
	pt_snapshot_free(NULL);		/* allowed */
	CU_ASSERT(pt_snapshot_take(NULL) < 0);
}

static void
test_snapshot_header_fields_are_consistent(void)
{
	uint64_t t0, t1, page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct timespec ts;
	pt_snapshot *s;

	clock_gettime(CLOCK_REALTIME, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	s = snap_take();
	clock_gettime(CLOCK_REALTIME, &ts);
	t1 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	CHECK_INT_EQ(s->pid, getpid());
	CU_ASSERT(s->tick_ns > 0 && s->tick_ns < 1000);
	CU_ASSERT(s->process[0] != '\0');
	CHECK_RANGE(t0, s->time_ns, t1);
	CU_ASSERT(s->uptime_ns > 0);
	/* No reset yet: since the last reset means since the start. */
	CHECK_U64_EQ(s->reset_epoch, 0);
	CHECK_RANGE(0, s->since_reset_ns, s->uptime_ns);
	CHECK_RANGE(0, s->memory.rss_bytes, s->memory.peak_rss_bytes);
	CU_ASSERT(s->memory.rss_bytes > page);
	CU_ASSERT(!MEMORY_FIGURES || s->memory.heap_bytes > 0);
	pt_snapshot_free(s);
}

const struct test_def correctness_tests[] = {
	TEST(test_scope_counts_exact_over_4_threads_and_3_sites),
	TEST(test_recorded_durations_give_exact_total_min_max),
	TEST(test_busy_wait_scopes_match_clock_gettime),
	TEST(test_counters_sum_exactly_over_8_threads),
	TEST(test_snapshot_arrays_ascend_by_id),
	TEST(test_snapshot_header_fields_are_consistent),
	{ NULL, NULL }
};
