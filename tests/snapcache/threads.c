/*
 * threads.c - threads that start and exit between refreshes, and threads
 * recording while the cache refreshes.
 */
#include "snapcache-test.h"

/* A job: one event of 700 + i ticks into each op i listed, -1 ending. */
static void *
ops_thread(void *arg)
{
	const int *ops = arg;
	int k;

	for (k = 0; ops[k] >= 0; k++)
		rec(ops[k], 700 + (uint64_t)ops[k]);
	return NULL;
}

/* Runs ops_thread(ops) on a new thread, to its end. */
static void
run_thread(const int *ops)
{
	pthread_t th;

	CU_ASSERT_FATAL(pthread_create(&th, NULL, ops_thread,
	    (void *)ops) == 0);
	CU_ASSERT_FATAL(pthread_join(th, NULL) == 0);
}

/*
 * Threads that start and exit between refreshes (a pool's short-lived
 * workers): a new thread's events are replayed from its journals, and an
 * exited thread's operations alone are merged again (its slots went into
 * the retired totals), not every operation; a record kept from an exited
 * thread serves the next one.  Every refresh exact.
 */
static void
test_thread_churn(void)
{
	static const int three_seven[] = { 3, 7, 3, -1 }, five[] = { 5, -1 },
	    five_more[] = { 5, 5, 11, -1 }, three[] = { 3, -1 };
	struct pt__snapcache c;
	struct helper h;
	struct burst b = { 1, 90 };
	size_t live, kept, kept0;
	int i;

	memset(&c, 0, sizeof c);
	for (i = 0; i < OPS; i++)
		rec(i, 4000);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);

	/* A thread starts and stays: nothing merged. */
	helper_start(&h);
	helper_run(&h, burst_job, &b);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.merged, 0);
	CU_ASSERT_EQUAL(c.replayed, OPS);
	CU_ASSERT(same_as_full(&c));

	/* One starts, records into 3 and 7, and exits before the refresh;
	 * meanwhile the main thread records into 20. */
	run_thread(three_seven);
	rec(20, 5);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.merged, 2);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT(cache_consistent(&c));

	/* The helper exits after a refresh read its slots: its operations
	 * (all of them) are merged once, then replayed again. */
	helper_stop(&h);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.merged, OPS);
	CU_ASSERT(same_as_full(&c));
	rec(1, 6);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.merged, 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));

	/* A kept record: a thread that exited with events in 5 and 11 ... */
	run_thread(five);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	run_thread(five_more);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.merged, 2);
	CU_ASSERT(same_as_full(&c));
	/* ... then its record serves a new thread, read from event 0. */
	pt__thread_stats(&live, &kept0);
	CU_ASSERT_FATAL(kept0 > 0);
	run_thread(three);
	pt__thread_stats(&live, &kept);
	CU_ASSERT_EQUAL(kept, kept0);	/* taken, kept again */
	rec(9, 8);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.merged, 1);	/* 3, its thread gone */
	CU_ASSERT_EQUAL(c.replayed, 1);	/* 9 */
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT(cache_consistent(&c));
	pt__snapcache_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Threads recording while the cache refreshes                              */
/* ------------------------------------------------------------------------ */

#define WRITERS		4

static volatile int	w_stop;
static pthread_barrier_t w_paused, w_resume;
static int		w_pause;	/* writers park at w_paused */

static void *
writer_main(void *arg)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	int k, n, op;

	while (!__atomic_load_n(&w_stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&w_pause, __ATOMIC_ACQUIRE)) {
			pthread_barrier_wait(&w_paused);
			pthread_barrier_wait(&w_resume);
			continue;
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Mostly a few events an op, sometimes a burst of 20. */
		n = (x >> 60) == 0 ? 20 : (int)((x >> 8) & 3);
		op = (int)((x >> 16) % OPS);
		for (k = 0; k < n; k++)
			(void)pt__test_record_ticks(&sites[op],
			    (x >> 24 & 0xffff) + (uint64_t)k * 300, 1);
		/* Mostly paced, so that most refreshes find a few events
		 * a slot; sometimes flat out, racing the reader. */
		if ((x & 0x3f) != 0) {
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/*
 * WRITERS threads record as fast as they can while the cache refreshes in
 * a loop; every so often they park and the cache must equal a full
 * snapshot to the event.  Both paths (journals and buckets) are taken.
 */
static void
test_concurrent(void)
{
	struct pt__snapcache c;
	pthread_t th[WRITERS];
	size_t replayed = 0, merged = 0;
	struct timespec t0, t;
	int i, round, rounds;
	double secs;

	rounds = getenv("PERFTOP_TEST_QUICK") != NULL ? 2 : 6;
	memset(&c, 0, sizeof c);
	w_stop = 0;
	w_pause = 0;
	pthread_barrier_init(&w_paused, NULL, WRITERS + 1);
	pthread_barrier_init(&w_resume, NULL, WRITERS + 1);
	for (i = 0; i < WRITERS; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, writer_main,
		    (void *)(uintptr_t)i) == 0);
	for (round = 0; round < rounds; round++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
			replayed += c.replayed;
			merged += c.merged;
			clock_gettime(CLOCK_MONOTONIC, &t);
			secs = (double)(t.tv_sec - t0.tv_sec) +
			    (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
		} while (secs < 0.25);
		__atomic_store_n(&w_pause, 1, __ATOMIC_RELEASE);
		pthread_barrier_wait(&w_paused);
		__atomic_store_n(&w_pause, 0, __ATOMIC_RELEASE);
		CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
		CU_ASSERT(same_as_full(&c));
		pthread_barrier_wait(&w_resume);
	}
	__atomic_store_n(&w_stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	printf("(%zu replayed, %zu merged) ", replayed, merged);
	CU_ASSERT(replayed > 0);
	CU_ASSERT(merged > 0);
	pthread_barrier_destroy(&w_paused);
	pthread_barrier_destroy(&w_resume);
	pt__snapcache_free(&c);
}

const struct cunit_test thread_tests[] = {
	{ "threads that start and exit: their ops alone merged",
	    test_thread_churn },
	{ "threads recording meanwhile", test_concurrent },
	{ NULL, NULL }
};
