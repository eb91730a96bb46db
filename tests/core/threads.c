/* threads.c - suite "threads": thread exit. */
#include "core-test.h"

static pt_site exit_op = PT_SITE_INIT("thr.exit.op", PT_KIND_OP);
static pt_site exit_ctr = PT_SITE_INIT("thr.exit.ctr", PT_KIND_COUNTER);

static void *
exit_worker(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++) {
		pt_scope sc = pt_scope_begin(&exit_op);

		pt_scope_end(&sc);
		pt_counter_add(&exit_ctr, 2);
	}
	return NULL;
}

static void
test_thread_statistics_survive_its_exit(void)
{
	size_t live0, live1, free1;
	pt_snapshot *s;

	pt__thread_stats(&live0, NULL);
	run_threads(1, exit_worker, NULL, 0);
	pt__thread_stats(&live1, &free1);
	CHECK_U64_EQ(live1, live0);
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "thr.exit.op")->count, 1000);
	CHECK_I64_EQ(ctr_value(s, "thr.exit.ctr"), 2000);
	pt_snapshot_free(s);
	/* Survives a second thread using the same (reused) record too. */
	run_threads(1, exit_worker, NULL, 0);
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "thr.exit.op")->count, 2000);
	CHECK_I64_EQ(ctr_value(s, "thr.exit.ctr"), 4000);
	pt_snapshot_free(s);
}

#define CHURN_BATCH	50
#define CHURN_EVENTS	5

static pt_site churn_sites[4] = {
	PT_SITE_INIT("thr.churn.a", PT_KIND_OP),
	PT_SITE_INIT("thr.churn.b", PT_KIND_OP),
	PT_SITE_INIT("thr.churn.c", PT_KIND_OP),
	PT_SITE_INIT("thr.churn.d", PT_KIND_OP),
};
static pt_site churn_ctr = PT_SITE_INIT("thr.churn.threads", PT_KIND_COUNTER);
static pthread_barrier_t churn_barrier;

static void *
churn_worker(void *arg)
{
	int k, i;

	(void)arg;
	for (k = 0; k < 4; k++)
		for (i = 0; i < CHURN_EVENTS; i++) {
			pt_scope sc = pt_scope_begin(&churn_sites[k]);

			pt_scope_end(&sc);
		}
	pt_counter_add(&churn_ctr, 1);
	/* All threads of a batch are alive together: a fixed peak. */
	pthread_barrier_wait(&churn_barrier);
	return NULL;
}

/* Creates and ends n threads in batches of CHURN_BATCH. */
static void
churn(int n)
{
	pthread_t tid[CHURN_BATCH];
	pthread_attr_t attr;
	int done, i;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * KIB);
	for (done = 0; done < n; done += CHURN_BATCH) {
		for (i = 0; i < CHURN_BATCH; i++)
			CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], &attr,
			    churn_worker, NULL), 0);
		for (i = 0; i < CHURN_BATCH; i++)
			pthread_join(tid[i], NULL);
	}
	pthread_attr_destroy(&attr);
}

static void
test_10000_threads_keep_memory_bounded_and_counts_exact(void)
{
	size_t live1, free1, live2, free2;
	uint64_t rss1, rss2;
	pt_snapshot *s;
	int k;

	const int first = quick ? 100 : 1000, all = quick ? 1000 : 10000;

	pthread_barrier_init(&churn_barrier, NULL, CHURN_BATCH);
	churn(first);
	pt__thread_stats(&live1, &free1);
	rss1 = rss_bytes();
	churn(all - first);
	pt__thread_stats(&live2, &free2);
	rss2 = rss_bytes();
	pthread_barrier_destroy(&churn_barrier);

	CHECK_U64_EQ(live2, live1);
	CHECK_RANGE(0, live2 + free2, live1 + free1);
	if (!MEMORY_FIGURES)
		skipped("rss growth");
	else
		check_report(rss2 < rss1 + MIB, __LINE__, "rss growth < 1 MiB",
		    "VmRSS %" PRIu64 " KiB after %d threads, %" PRIu64
		    " KiB after %d", rss1 / KIB, first, rss2 / KIB, all);
	s = snap_take();
	for (k = 0; k < 4; k++)
		CHECK_U64_EQ(snap_op(s, churn_sites[k].pt_name)->count,
		    (uint64_t)all * CHURN_EVENTS);
	CHECK_I64_EQ(ctr_value(s, "thr.churn.threads"), all);
	pt_snapshot_free(s);
}

#define HOLD_THREADS	8
#define HOLD_EVENTS	100

static pt_site hold_op = PT_SITE_INIT("thr.hold.op", PT_KIND_OP);
static pt_site hold_ctr = PT_SITE_INIT("thr.hold.ctr", PT_KIND_COUNTER);
static pthread_barrier_t hold_barrier;

static void
hold_record(int n)
{
	for (int i = 0; i < n; i++) {
		pt_scope sc = pt_scope_begin(&hold_op);

		pt_scope_end(&sc);
		pt_counter_add(&hold_ctr, 1);
	}
}

/* Starts (its first event), records and exits. */
static void *
hold_worker(void *arg)
{
	(void)arg;
	hold_record(HOLD_EVENTS);
	return NULL;
}

/* Records (listed), then exits once released: two barriers. */
static void *
hold_early(void *arg)
{
	(void)arg;
	hold_record(HOLD_EVENTS);
	pthread_barrier_wait(&hold_barrier);
	pthread_barrier_wait(&hold_barrier);
	return NULL;
}

/*
 * While a snapshot holds pt__lock for long (the agent's refresh of
 * thousands of operations takes milliseconds), threads start, record and
 * exit without waiting for it: their records wait on the library's stacks
 * and the next holder takes them in.  Their events all count, and the
 * records end up kept or freed as usual.
 */
static void
test_threads_start_and_exit_during_a_snapshot(void)
{
	pthread_t th[HOLD_THREADS], early;
	struct timespec deadline;
	size_t live0, live1, free1;
	int i, rc, waited = 0;
	pt_snapshot *s;

	pt__thread_stats(&live0, NULL);
	pthread_barrier_init(&hold_barrier, NULL, 2);
	CU_ASSERT_FATAL(pthread_create(&early, NULL, hold_early, NULL) == 0);
	pthread_barrier_wait(&hold_barrier);	/* listed, recorded */

	pt__lock_threads_long();	/* a snapshot being taken */
	for (i = 0; i < HOLD_THREADS; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, hold_worker,
		    NULL) == 0);
	pthread_barrier_wait(&hold_barrier);	/* early exits meanwhile */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	for (i = 0; i < HOLD_THREADS; i++) {
		rc = pthread_timedjoin_np(th[i], NULL, &deadline);
		if (rc != 0) {
			waited = 1;
			break;
		}
	}
	if (!waited)
		waited = pthread_timedjoin_np(early, NULL, &deadline) != 0;
	pt__unlock_threads();
	CU_ASSERT(!waited);	/* a thread waited for the lock */
	if (waited) {
		for (; i < HOLD_THREADS; i++)
			pthread_join(th[i], NULL);
		pthread_join(early, NULL);
	}
	pthread_barrier_destroy(&hold_barrier);

	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "thr.hold.op")->count,
	    (uint64_t)(HOLD_THREADS + 1) * HOLD_EVENTS);
	CHECK_I64_EQ(ctr_value(s, "thr.hold.ctr"),
	    (int64_t)(HOLD_THREADS + 1) * HOLD_EVENTS);
	pt_snapshot_free(s);
	pt__thread_stats(&live1, &free1);
	CHECK_U64_EQ(live1, live0);
}

static pt_site first_op = PT_SITE_INIT("thr.first.op", PT_KIND_OP);
static pt_site first_ctr = PT_SITE_INIT("thr.first.ctr", PT_KIND_COUNTER);

/* The first use of two call sites, and one registered by name. */
static void *
first_use(void *arg)
{
	pt_site *named = arg;
	pt_scope sc = pt_scope_begin(&first_op);

	pt_scope_end(&sc);
	pt_counter_add(&first_ctr, 3);
	if (pt_site_register(named) <= 0)
		return NULL;
	return arg;
}

/*
 * A call site's first use (its registration) does not wait for a snapshot
 * holding pt__lock for long: registration has a lock of its own.  The
 * names are in the next snapshot.
 */
static void
test_first_use_of_a_site_during_a_snapshot(void)
{
	static pt_site named = PT_SITE_INIT("thr.first.named", PT_KIND_OP);
	struct timespec deadline;
	pt_snapshot *s;
	pthread_t th;
	void *ret = NULL;
	int waited;

	pt__lock_threads_long();	/* a snapshot being taken */
	CU_ASSERT_FATAL(pthread_create(&th, NULL, first_use, &named) == 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	waited = pthread_timedjoin_np(th, &ret, &deadline) != 0;
	pt__unlock_threads();
	CU_ASSERT(!waited);	/* it waited for the lock */
	if (waited)
		pthread_join(th, &ret);
	CU_ASSERT(ret == &named);

	s = snap_take();
	CU_ASSERT_PTR_NOT_NULL_FATAL(snap_op(s, "thr.first.op"));
	CHECK_U64_EQ(snap_op(s, "thr.first.op")->count, 1);
	CU_ASSERT_PTR_NOT_NULL(snap_op(s, "thr.first.named"));
	CHECK_I64_EQ(ctr_value(s, "thr.first.ctr"), 3);
	pt_snapshot_free(s);
}

const struct test_def thread_tests[] = {
	TEST(test_thread_statistics_survive_its_exit),
	TEST(test_threads_start_and_exit_during_a_snapshot),
	TEST(test_first_use_of_a_site_during_a_snapshot),
	TEST(test_10000_threads_keep_memory_bounded_and_counts_exact),
	{ NULL, NULL }
};
