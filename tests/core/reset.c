/*
 * reset.c - suite "reset": resets under load, and what a reset leaves
 * behind.  Clears everything: runs after the suites whose checks depend
 * on cumulative figures.
 */
#include "core-test.h"

#define RESET_WORKERS	4
#define RESET_ROUNDS	1000
#define RESET_REC_NS	1000

static pt_site reset_scope = PT_SITE_INIT("reset.scope", PT_KIND_OP);
static pt_site reset_rec = PT_SITE_INIT("reset.rec", PT_KIND_OP);

/*
 * A worker records without pause and publishes two numbers: started, stored
 * (sequentially consistent) before an event begins, and done, stored
 * (release) after it was recorded.  Events 1 .. done are complete; events
 * after started have not begun.
 */
struct reset_worker {
	uint64_t	 started;
	uint64_t	 done;
	int		 use_scope;
	pt_site		*site;
} __attribute__((aligned(64)));

static struct reset_worker reset_w[RESET_WORKERS];
static int reset_stop;

static void *
reset_worker_main(void *arg)
{
	struct reset_worker *w = arg;
	uint64_t n = 0;

	while (!__atomic_load_n(&reset_stop, __ATOMIC_RELAXED)) {
		n++;
		__atomic_store_n(&w->started, n, __ATOMIC_SEQ_CST);
		if (w->use_scope) {
			pt_scope sc = pt_scope_begin(w->site);

			pt_scope_end(&sc);
		} else
			pt_record_ns(w->site, RESET_REC_NS);
		__atomic_store_n(&w->done, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void
load_started(uint64_t *v)
{
	int w;

	for (w = 0; w < RESET_WORKERS; w++)
		v[w] = __atomic_load_n(&reset_w[w].started, __ATOMIC_SEQ_CST);
}

static void
load_done(uint64_t *v)
{
	int w;

	for (w = 0; w < RESET_WORKERS; w++)
		v[w] = __atomic_load_n(&reset_w[w].done, __ATOMIC_SEQ_CST);
}

/*
 * Bounds on the events of site counted after a reset, from the workers'
 * numbers read before the reset (done_a), after it returned (started_b),
 * just before the snapshot (done_x) and after it (started_c):
 *  - events started after the reset returned and done before the snapshot
 *    began must be counted: sum of done_x - started_b;
 *  - events done before the reset began, or not started when the snapshot
 *    ended, cannot be: at most sum of started_c - done_a.
 */
static void
reset_bounds(const pt_site *site, const uint64_t *done_a,
    const uint64_t *started_b, const uint64_t *done_x,
    const uint64_t *started_c, uint64_t *lo, uint64_t *hi)
{
	int w;

	*lo = *hi = 0;
	for (w = 0; w < RESET_WORKERS; w++) {
		if (reset_w[w].site != site)
			continue;
		if (done_x[w] > started_b[w])
			*lo += done_x[w] - started_b[w];
		*hi += started_c[w] - done_a[w];
	}
}

static void
test_reset_under_load_loses_and_duplicates_nothing(void)
{
	uint64_t done_a[RESET_WORKERS], started_b[RESET_WORKERS];
	uint64_t done_x[RESET_WORKERS], started_c[RESET_WORKERS];
	uint64_t lo, hi, sb, sx, t0, ep0, checks = 0;
	unsigned bad_count = 0, bad_epoch = 0;
	pthread_t tid[RESET_WORKERS];
	pt_site *sites[2] = { &reset_scope, &reset_rec };
	const int rounds = valgrind ? RESET_ROUNDS / 64 :
	    quick ? RESET_ROUNDS / 16 : RESET_ROUNDS;
	const pt_op_stats *op;
	pt_snapshot *s;
	int r, w, k;

	for (w = 0; w < RESET_WORKERS; w++) {
		reset_w[w].use_scope = w % 2 == 0;
		reset_w[w].site = sites[w % 2];
		reset_w[w].started = reset_w[w].done = 0;
	}
	CU_ASSERT_FATAL(pt_site_register(&reset_scope) > 0);
	CU_ASSERT_FATAL(pt_site_register(&reset_rec) > 0);
	s = snap_take();
	ep0 = s->reset_epoch;
	pt_snapshot_free(s);
	__atomic_store_n(&reset_stop, 0, __ATOMIC_SEQ_CST);
	for (w = 0; w < RESET_WORKERS; w++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[w], NULL,
		    reset_worker_main, &reset_w[w]), 0);
	/* Let every worker get going. */
	for (w = 0; w < RESET_WORKERS; w++)
		while (__atomic_load_n(&reset_w[w].done, __ATOMIC_ACQUIRE) <
		    100)
			sched_yield();

	for (r = 0; r < rounds; r++) {
		load_done(done_a);
		CHECK_INT_EQ(pt_reset(), 0);
		load_started(started_b);
		/*
		 * Let some events happen after the reset: spin up to 1 ms,
		 * then leave the CPU to the workers, up to 3 ms in all.
		 */
		for (sb = 0, w = 0; w < RESET_WORKERS; w++)
			sb += started_b[w];
		t0 = mono_ns();
		do {
			if (mono_ns() - t0 > 1000000)
				sched_yield();
			load_done(done_x);
			for (sx = 0, w = 0; w < RESET_WORKERS; w++)
				sx += done_x[w];
		} while (sx < sb + 200 && mono_ns() - t0 < 3000000);
		load_done(done_x);
		s = snap_take();
		load_started(started_c);

		if (s->reset_epoch != ep0 + (uint64_t)r + 1 && bad_epoch++ < 3)
			fprintf(stderr, "\n    round %d: epoch %" PRIu64
			    ", expected %" PRIu64 "\n", r, s->reset_epoch,
			    ep0 + r + 1);
		for (k = 0; k < 2; k++) {
			reset_bounds(sites[k], done_a, started_b, done_x,
			    started_c, &lo, &hi);
			op = pt_snapshot_find_op(s, sites[k]->pt_name);
			checks += lo > 0;
			if (op == NULL || op->count < lo || op->count > hi) {
				if (bad_count++ < 5)
					fprintf(stderr, "\n    round %d %s: "
					    "count %" PRIu64 " not in [%" PRIu64
					    ", %" PRIu64 "]\n", r,
					    sites[k]->pt_name,
					    op ? op->count : 0, lo, hi);
			}
			/*
			 * The other fields of a snapshot taken under load may
			 * be a few events apart from count; the quiescent
			 * checks are below and in the next test.
			 */
		}
		pt_snapshot_free(s);
	}

	/* Stop; the events after the last reset are all in a final snapshot. */
	__atomic_store_n(&reset_stop, 1, __ATOMIC_SEQ_CST);
	for (w = 0; w < RESET_WORKERS; w++)
		pthread_join(tid[w], NULL);
	load_done(done_x);
	s = snap_take();
	for (k = 0; k < 2; k++) {
		reset_bounds(sites[k], done_a, started_b, done_x, done_x, &lo,
		    &hi);
		op = snap_op(s, sites[k]->pt_name);
		CHECK_RANGE(lo, op->count, hi);
		check_op_consistent_slack(op, 2 * RESET_WORKERS);
		if (k == 1 && op->count > 0) {
			CHECK_NEAR(op->total_ns, (double)op->count *
			    RESET_REC_NS, 1e-3, RESET_WORKERS * RESET_REC_NS);
			CHECK_NEAR(op->max_ns, RESET_REC_NS, 0.01, 2);
		}
	}
	CHECK_U64_EQ(s->reset_epoch, ep0 + (uint64_t)rounds);
	pt_snapshot_free(s);

	CHECK_INT_EQ(bad_count, 0);
	CHECK_INT_EQ(bad_epoch, 0);
	/* The lower bound was not vacuous in a fair share of the rounds. */
	check_report(checks >= (uint64_t)rounds / 2, __LINE__,
	    "lower bounds used",
	    "only %" PRIu64 " non-zero lower bounds", checks);
}

/*
 * Workers record without pause on one of two sites, switching when the main
 * thread bumps a generation.  Each round resets while they record on site
 * X, moves them to the other site, waits until every worker has recorded
 * there, and then checks the now idle site X: whatever the reset did to an
 * event in flight, count, histogram and total of X must describe the same
 * events (each event on exactly one side of the reset, with all its fields).
 */
#define SKEW_ROUNDS	200

static pt_site skew_sites[2] = {
	PT_SITE_INIT("reset.skew.a", PT_KIND_OP),
	PT_SITE_INIT("reset.skew.b", PT_KIND_OP),
};
static uint64_t skew_gen;

struct skew_worker {
	uint64_t	gen_seen;	/* generation of the last event done */
	uint64_t	events;
	uint64_t	gen;		/* generation being recorded */
	/*
	 * Longest event of generations gen and gen - 1 (by parity), in ticks
	 * from before pt_scope_begin to after pt_scope_end: a bound on the
	 * duration of the worker's event in flight during a reset.
	 */
	uint64_t	longest[2];
} __attribute__((aligned(64)));

static struct skew_worker skew_w[RESET_WORKERS];

static void *
skew_worker_main(void *arg)
{
	struct skew_worker *w = arg;
	uint64_t g, t0, d;

	while (!__atomic_load_n(&reset_stop, __ATOMIC_RELAXED)) {
		g = __atomic_load_n(&skew_gen, __ATOMIC_ACQUIRE);
		if (g != w->gen) {
			/* The main thread is done with generation g - 2. */
			w->gen = g;
			w->longest[g & 1] = 0;
		}
		t0 = pt__clock_now();
		{
			pt_scope sc = pt_scope_begin(&skew_sites[g & 1]);

			pt_scope_end(&sc);
		}
		d = pt__clock_now() - t0;
		if (d > w->longest[g & 1])
			w->longest[g & 1] = d;
		w->events++;
		__atomic_store_n(&w->gen_seen, g, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * Whether total_ns lies within the bucket bounds of op's histogram, give or
 * take slack events as long as the longest one, and up to extra more ticks:
 * an event in flight on a thread while a reset reads that thread's slot may
 * have its bucket on one side and its duration in the total on the other
 * (documented at pt_reset).  Such an event may be longer than any the
 * histogram holds (its thread preempted while timing it): extra is the sum
 * of the workers' longest events of that generation.
 */
static int
total_fits_buckets(const pt_op_stats *op, double tick_ns, unsigned slack,
    double extra)
{
	double lo_sum = 0, hi_sum = 0, longest = 0;
	uint64_t lo, hi;
	size_t i;

	for (i = 0; i < op->n_buckets; i++) {
		pt__hist_bounds(op->buckets[i].index, &lo, &hi);
		lo_sum += (double)lo * (double)op->buckets[i].count;
		hi_sum += (double)hi * (double)op->buckets[i].count;
		longest = (double)hi;
	}
	lo_sum -= slack * longest;
	hi_sum += slack * longest + extra;
	return (double)op->total_ns >= lo_sum * tick_ns * (1 - 1e-9) - 1 &&
	    (double)op->total_ns <= hi_sum * tick_ns * (1 + 1e-9) + 1;
}

static void
test_reset_under_load_keeps_count_total_and_histogram_together(void)
{
	pthread_t tid[RESET_WORKERS];
	unsigned bad = 0, used = 0;
	const pt_op_stats *op;
	uint64_t g, t0;
	const int rounds = valgrind ? SKEW_ROUNDS / 50 :
	    quick ? SKEW_ROUNDS / 16 : SKEW_ROUNDS;
	double extra;
	pt_snapshot *s;
	int r, w, fits;

	CU_ASSERT_FATAL(pt_site_register(&skew_sites[0]) > 0);
	CU_ASSERT_FATAL(pt_site_register(&skew_sites[1]) > 0);
	__atomic_store_n(&reset_stop, 0, __ATOMIC_SEQ_CST);
	for (w = 0; w < RESET_WORKERS; w++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[w], NULL,
		    skew_worker_main, &skew_w[w]), 0);

	for (r = 0; r < rounds; r++) {
		g = __atomic_load_n(&skew_gen, __ATOMIC_RELAXED);
		CHECK_INT_EQ(pt_reset(), 0);
		spin_ns(50000);
		__atomic_store_n(&skew_gen, g + 1, __ATOMIC_RELEASE);
		/* Spin a little, then give the workers this CPU too. */
		t0 = mono_ns();
		for (w = 0; w < RESET_WORKERS; w++)
			while (__atomic_load_n(&skew_w[w].gen_seen,
			    __ATOMIC_ACQUIRE) < g + 1 &&
			    mono_ns() - t0 < 5000000000ULL)
				if (mono_ns() - t0 > 200000)
					sched_yield();
		s = snap_take();
		op = snap_op(s, skew_sites[g & 1].pt_name);
		used += op->count > 0;
		/* Read after every worker published generation g + 1. */
		extra = 0;
		for (w = 0; w < RESET_WORKERS; w++)
			extra += (double)skew_w[w].longest[g & 1];
		fits = total_fits_buckets(op, s->tick_ns, 2 * RESET_WORKERS,
		    extra);
		if ((bucket_sum(op) != op->count || !fits) && bad++ < 5)
			fprintf(stderr, "\n    round %d %s: count %" PRIu64
			    ", buckets hold %" PRIu64 ", total %" PRIu64
			    " ns%s\n", r, op->name, op->count,
			    bucket_sum(op), op->total_ns, fits ? "" :
			    " (outside the buckets' bounds)");
		pt_snapshot_free(s);
	}
	__atomic_store_n(&reset_stop, 1, __ATOMIC_SEQ_CST);
	for (w = 0; w < RESET_WORKERS; w++)
		pthread_join(tid[w], NULL);
	check_report(bad == 0, __LINE__, "count, total, buckets agree",
	    "%u of %d rounds with count, total and histogram apart", bad,
	    rounds);
	CU_ASSERT(used >= (unsigned)rounds / 2);
}

static pt_site mm_site = PT_SITE_INIT("reset.mm", PT_KIND_OP);
static pt_site mm_old = PT_SITE_INIT("reset.mm.old", PT_KIND_OP);
static pt_site mm_ctr = PT_SITE_INIT("reset.mm.ctr", PT_KIND_COUNTER);

static void *
mm_thread(void *arg)
{
	(void)arg;
	record_n(&mm_site, 1, 9000000000ULL);	/* 9 s, then exits */
	record_n(&mm_site, 1, 55);
	return NULL;
}

static void
test_reset_min_max_reflect_only_new_events(void)
{
	const pt_op_stats *op;
	pt_snapshot *s0, *s;
	int i;

	/* Extremes before the reset: from this thread and an exited one. */
	record_n(&mm_site, 1, 5000000000ULL);	/* 5 s */
	record_n(&mm_site, 1, 60);
	run_threads(1, mm_thread, NULL, 0);
	record_n(&mm_old, 3, 1000);
	pt_counter_add(&mm_ctr, 100);
	s0 = snap_take();
	CHECK_U64_EQ(snap_op(s0, "reset.mm")->count, 4);

	CHECK_INT_EQ(pt_reset(), 0);
	for (i = 0; i < 10; i++)
		record_n(&mm_site, 1, 1000000);	/* 1 ms */
	pt_counter_add(&mm_ctr, 7);
	s = snap_take();
	op = snap_op(s, "reset.mm");
	CHECK_U64_EQ(op->count, 10);
	CHECK_NEAR(op->min_ns, 1000000, 1e-3, 2);
	CHECK_NEAR(op->max_ns, 1000000, 1e-3, 2);
	CHECK_NEAR(op->total_ns, 10000000, 1e-3, 20);
	CHECK_NEAR(op->p999_ns, 1000000, 0.01, 2);
	check_op_consistent(op);
	CHECK_U64_EQ(op_count(s, "reset.mm.old"), 0);
	if ((op = pt_snapshot_find_op(s, "reset.mm.old")) != NULL)
		CU_ASSERT(op->min_ns == 0 && op->max_ns == 0 &&
		    op->total_ns == 0 && op->n_buckets == 0);
	CHECK_I64_EQ(ctr_value(s, "reset.mm.ctr"), 7);
	CHECK_U64_EQ(s->reset_epoch, s0->reset_epoch + 1);
	CU_ASSERT(s->since_reset_ns < s->uptime_ns);
	pt_snapshot_free(s0);
	pt_snapshot_free(s);
}

static void
test_snapshot_diff_across_a_reset_is_a_copy_of_after(void)
{
	static pt_site site = PT_SITE_INIT("reset.diff", PT_KIND_OP);
	pt_snapshot *before, *after, *d = NULL;

	record_n(&site, 5, 100);
	before = snap_take();
	CHECK_INT_EQ(pt_reset(), 0);
	record_n(&site, 2, 100);
	after = snap_take();
	CHECK_INT_EQ(pt_snapshot_diff(before, after, &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CHECK_U64_EQ(op_count(d, "reset.diff"), 2);
	CHECK_U64_EQ(d->n_ops, after->n_ops);
	CHECK_U64_EQ(d->reset_epoch, after->reset_epoch);
	pt_snapshot_free(d);
	pt_snapshot_free(before);
	pt_snapshot_free(after);
}

static void
reset_fn(void *arg)
{
	(void)arg;
	pt_reset();
}

static void
test_profile_call_is_busy_when_reset_during_the_call(void)
{
	pt_snapshot *p = NULL;

	CHECK_INT_EQ(pt_profile_call(reset_fn, NULL, &p), PT_EBUSY);
	pt_snapshot_free(p);
}

const struct test_def reset_tests[] = {
	TEST(test_reset_under_load_loses_and_duplicates_nothing),
	TEST(test_reset_under_load_keeps_count_total_and_histogram_together),
	TEST(test_reset_min_max_reflect_only_new_events),
	TEST(test_snapshot_diff_across_a_reset_is_a_copy_of_after),
	TEST(test_profile_call_is_busy_when_reset_during_the_call),
	{ NULL, NULL }
};
