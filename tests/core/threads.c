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

const struct test_def thread_tests[] = {
	TEST(test_thread_statistics_survive_its_exit),
	TEST(test_10000_threads_keep_memory_bounded_and_counts_exact),
	{ NULL, NULL }
};
