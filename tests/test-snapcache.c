/*
 * test-snapcache.c - the agent's incremental snapshot (struct
 * pt__snapcache): operations updated from the slots' journals must come out
 * exactly as a full snapshot says, alone and with threads recording while
 * it refreshes; and it must fall back to the buckets whenever the journal
 * cannot tell (too many events, a batch, a slot another cache read last).
 */
#include "core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cunit.h"

#define OPS		40

static pt_site sites[OPS];
static char names[OPS][32];

static int
suite_init(void)
{
	int i;

	for (i = 0; i < OPS; i++) {
		snprintf(names[i], sizeof names[i], "snapcache.op%02d", i);
		sites[i] = (pt_site)PT_SITE_INIT(names[i], PT_KIND_OP);
		if (pt_site_register(&sites[i]) <= 0)
			return 1;
	}
	return 0;
}

/* Records one event of ticks ticks into op i from the calling thread. */
static void
rec(int i, uint64_t ticks)
{
	CU_ASSERT_EQUAL_FATAL(pt__test_record_ticks(&sites[i], ticks, 1), 0);
}

static int
same_buckets(const pt_op_stats *x, const pt_op_stats *y)
{
	size_t j;

	if (x->n_buckets != y->n_buckets)
		return 0;
	for (j = 0; j < x->n_buckets; j++)
		if (x->buckets[j].index != y->buckets[j].index ||
		    x->buckets[j].count != y->buckets[j].count)
			return 0;
	return 1;
}

/*
 * Tells whether the cache's operations are what a full snapshot taken now
 * says: counts, times, min, max and every bucket.  Prints the first
 * difference.
 */
static int
same_as_full(const struct pt__snapcache *c)
{
	pt_snapshot *full = NULL;
	size_t i;
	int ok = 1;

	CU_ASSERT_FATAL(pt_snapshot_take(&full) == 0);
	if (c->cur->n_ops != full->n_ops ||
	    c->cur->reset_epoch != full->reset_epoch) {
		printf("\n  %zu ops (full: %zu)\n", c->cur->n_ops, full->n_ops);
		ok = 0;
	}
	for (i = 0; ok && i < full->n_ops; i++) {
		const pt_op_stats *x = &c->cur->ops[i], *y = &full->ops[i];

		if (x->count != y->count || x->total_ns != y->total_ns ||
		    x->min_ns != y->min_ns || x->max_ns != y->max_ns ||
		    !same_buckets(x, y)) {
			printf("\n  %s: count %llu/%llu total %llu/%llu "
			    "min %llu/%llu max %llu/%llu buckets %zu/%zu\n",
			    y->name, (unsigned long long)x->count,
			    (unsigned long long)y->count,
			    (unsigned long long)x->total_ns,
			    (unsigned long long)y->total_ns,
			    (unsigned long long)x->min_ns,
			    (unsigned long long)y->min_ns,
			    (unsigned long long)x->max_ns,
			    (unsigned long long)y->max_ns,
			    x->n_buckets, y->n_buckets);
			for (size_t j = 0; j < x->n_buckets && j < y->n_buckets; j++)
				if (x->buckets[j].index != y->buckets[j].index ||
				    x->buckets[j].count != y->buckets[j].count)
					printf("  bucket %zu: %u:%llu / %u:%llu\n",
					    j, x->buckets[j].index,
					    (unsigned long long)x->buckets[j].count,
					    y->buckets[j].index,
					    (unsigned long long)y->buckets[j].count);
			ok = 0;
		}
	}
	pt_snapshot_free(full);
	return ok;
}

/*
 * Tells whether the cache's own records agree with its snapshot: each op's
 * group starts and bucket masks (every bucket found at its place, no
 * other), its room, and the last refresh's change lists (ascending, each
 * naming the place of its bucket).  Prints the first difference.
 */
static int
cache_consistent(const struct pt__snapcache *c)
{
	size_t i, j, nbits;

	for (i = 0; i < c->cur->n_ops; i++) {
		const pt_op_stats *op = &c->cur->ops[i];
		const struct pt__snapop *so = &c->op[i];

		if (c->ver[i] == 0)
			continue;
		if (so->cap != 0 && so->cap < op->n_buckets) {
			printf("\n  %s: room %u < %zu buckets\n", op->name,
			    so->cap, op->n_buckets);
			return 0;
		}
		for (j = 0, nbits = 0; j < PT__GROUPS; j++)
			nbits += (size_t)__builtin_popcountll(so->gbits[j]);
		if (nbits != op->n_buckets ||
		    so->gpos[PT__GROUPS] != op->n_buckets) {
			printf("\n  %s: %zu bits, end %u, %zu buckets\n",
			    op->name, nbits, so->gpos[PT__GROUPS],
			    op->n_buckets);
			return 0;
		}
		for (j = 0; j < op->n_buckets; j++) {
			uint32_t x = op->buckets[j].index, g = x >> PT__GROUP_BITS;
			uint64_t bit = (uint64_t)1 << (x & 63);

			if (!(so->gbits[g] & bit) || (size_t)so->gpos[g] +
			    (size_t)__builtin_popcountll(so->gbits[g] &
			    (bit - 1)) != j) {
				printf("\n  %s: bucket %u not at %zu\n",
				    op->name, x, j);
				return 0;
			}
		}
		if (so->dgen != c->refreshes)
			continue;
		for (j = 0; j < so->dn; j++) {
			const struct pt__bdelta *d = &c->dl[so->doff + j];

			if (d->pos >= op->n_buckets ||
			    op->buckets[d->pos].index != d->idx ||
			    (j > 0 && d[-1].idx >= d->idx) || d->cnt == 0) {
				printf("\n  %s: change %zu (bucket %u at %u) "
				    "wrong\n", op->name, j, d->idx, d->pos);
				return 0;
			}
		}
	}
	return 1;
}

/* ------------------------------------------------------------------------ */
/* A helper thread that stays alive (an exit would merge everything)         */
/* ------------------------------------------------------------------------ */

struct helper {
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	void		(*job)(void *);
	void		*arg;
	int		 busy, quit;
};

static void *
helper_main(void *arg)
{
	struct helper *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->busy && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->quit)
			break;
		pthread_mutex_unlock(&h->mu);
		h->job(h->arg);
		pthread_mutex_lock(&h->mu);
		h->busy = 0;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static void
helper_start(struct helper *h)
{
	memset(h, 0, sizeof *h);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	CU_ASSERT_FATAL(pthread_create(&h->th, NULL, helper_main, h) == 0);
}

/* Runs job(arg) on the helper and waits for it. */
static void
helper_run(struct helper *h, void (*job)(void *), void *arg)
{
	pthread_mutex_lock(&h->mu);
	h->job = job;
	h->arg = arg;
	h->busy = 1;
	pthread_cond_broadcast(&h->cv);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

static void
helper_stop(struct helper *h)
{
	pthread_mutex_lock(&h->mu);
	h->quit = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
}

/* A job: n events into each of ops [0, OPS) with durations from ticks. */
struct burst {
	int		n;
	uint64_t	ticks;
};

static void
burst_job(void *arg)
{
	struct burst *b = arg;
	int i, k;

	for (i = 0; i < OPS; i++)
		for (k = 0; k < b->n; k++)
			rec(i, b->ticks + (uint64_t)(i * 37 + k * 1001));
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

/*
 * A few events per slot in two threads, into buckets old and new, are
 * replayed from the journals (no operation merged) and come out exact;
 * nothing new: nothing replayed, versions unchanged.
 */
static void
test_replay_exact(void)
{
	struct pt__snapcache c;
	struct helper h;
	struct burst b1 = { 3, 500 }, b2 = { 2, 90000 };
	uint64_t ver0;
	int i;

	memset(&c, 0, sizeof c);
	helper_start(&h);
	helper_run(&h, burst_job, &b1);
	for (i = 0; i < OPS; i++)
		rec(i, 1000);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT(same_as_full(&c));

	/* Old buckets and new ones, smaller and larger than min and max. */
	helper_run(&h, burst_job, &b2);
	for (i = 0; i < OPS; i++) {
		rec(i, 1000);
		rec(i, 3);
		rec(i, 2000000 + (uint64_t)i);
	}
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, OPS);
	CU_ASSERT_EQUAL(c.merged, 0);
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT(cache_consistent(&c));

	/* Nothing happened. */
	ver0 = c.ver[0];
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 0);
	CU_ASSERT_EQUAL(c.merged, 0);
	CU_ASSERT_EQUAL(c.ver[0], ver0);
	CU_ASSERT(same_as_full(&c));

	/* One zero-length event in one operation: it alone moves. */
	rec(5, 0);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT_EQUAL(c.ver[0], ver0);
	CU_ASSERT(same_as_full(&c));

	helper_stop(&h);
	pt__snapcache_free(&c);
}

/*
 * The journal holds PT__JOURNAL - 1 events a refresh: one more, or a
 * batch of identical events, and the operation is merged from its buckets
 * (and replayed again afterwards).
 */
/*
 * Buckets coming into a filling histogram, round after round: a few new
 * ones or many (more than the lookups, one walk then), below, between and
 * above the old ones, each round within the journal.  The cache's buckets,
 * its group records and its change lists stay exact.
 */
static void
test_inserts(void)
{
	struct pt__snapcache c;
	uint64_t r = 42, ticks;
	int i, round, e, n, ok = 1, consistent = 1;

	memset(&c, 0, sizeof c);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	for (round = 0; round < 40; round++) {
		for (i = 0; i < OPS; i++) {
			/* 1 .. PT__JOURNAL - 1 events. */
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			n = 1 + (int)((r >> 33) % (round % 3 == 2 ?
			    PT__JOURNAL - 1 : 5));
			for (e = 0; e < n; e++) {
				r = r * 6364136223846793005ull +
				    1442695040888963407ull;
				/* 1 .. 2^20 ticks, log-uniform: ~900 buckets. */
				ticks = (uint64_t)1 << ((r >> 40) % 20);
				ticks += (r >> 20) % ticks;
				rec(i, ticks);
			}
		}
		CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
		ok &= same_as_full(&c);
		consistent &= cache_consistent(&c);
		if (!ok || !consistent)
			break;
	}
	CU_ASSERT(ok);
	CU_ASSERT(consistent);
	CU_ASSERT(c.replayed > 0);
	pt__snapcache_free(&c);
}

static void
test_fallbacks(void)
{
	struct pt__snapcache c;
	int k;

	memset(&c, 0, sizeof c);
	rec(0, 100);
	rec(1, 100);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);

	for (k = 0; k < PT__JOURNAL - 1; k++)
		rec(0, 100 + (uint64_t)k * 50);
	for (k = 0; k < PT__JOURNAL; k++)
		rec(1, 100 + (uint64_t)k * 50);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT_EQUAL(c.merged, 1);
	CU_ASSERT(same_as_full(&c));

	CU_ASSERT(pt__test_record_ticks(&sites[2], 777, 3) == 0);
	rec(1, 5);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);	/* op 1, after its merge */
	CU_ASSERT_EQUAL(c.merged, 1);	/* the batch */
	CU_ASSERT(same_as_full(&c));

	rec(2, 6);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));
	pt__snapcache_free(&c);
}

/*
 * Two caches reading the same slots (the agent's and another): each
 * merges what the other read last, and both stay exact.
 */
static void
test_two_caches(void)
{
	struct pt__snapcache a, b;
	int r, i;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	for (r = 0; r < 5; r++) {
		for (i = 0; i < OPS; i += 3)
			rec(i, 200 + (uint64_t)r);
		CU_ASSERT_FATAL(pt__snapshot_refresh(&a) == 0);
		CU_ASSERT(same_as_full(&a));
		rec(1, 300);
		CU_ASSERT_FATAL(pt__snapshot_refresh(&b) == 0);
		CU_ASSERT(same_as_full(&b));
	}
	pt__snapcache_free(&a);
	pt__snapcache_free(&b);
}

/* A reset merges everything once; then the journals serve again. */
static void
test_reset(void)
{
	struct pt__snapcache c;
	int i;

	memset(&c, 0, sizeof c);
	for (i = 0; i < OPS; i++)
		rec(i, 4000);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT(pt_reset() == 0);
	rec(3, 10);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 0);
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT_EQUAL(c.cur->ops[3].count, 1);
	rec(3, 20);
	rec(4, 30);	/* its first event of the epoch: min/max need a merge */
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT_EQUAL(c.merged, 1);
	CU_ASSERT(same_as_full(&c));
	pt__snapcache_free(&c);
}

/* A job: events of the ticks listed into op 30, 0 ending. */
static void
ticks_job(void *arg)
{
	const uint64_t *v = arg;

	for (; *v != 0; v++)
		rec(30, *v);
}

/*
 * Replayed events in the very buckets of the operation's min and max, a
 * little below the min or above the max, move them (from either thread);
 * events between them do not.
 */
static void
test_minmax_buckets(void)
{
	static const uint64_t first[] = { 1003, 5000, 0 },
	    inner[] = { 3000, 1100, 4900, 0 },
	    edge_lo[] = { 3001, 1001, 0 }, edge_hi[] = { 5040, 2000, 0 };
	struct pt__snapcache c;
	struct helper h;
	pt_op_stats *op;

	memset(&c, 0, sizeof c);
	/* 1001 and 1003, 5000 and 5040 share buckets. */
	CU_ASSERT_FATAL(pt__hist_index(1001) == pt__hist_index(1003));
	CU_ASSERT_FATAL(pt__hist_index(5000) == pt__hist_index(5040));
	helper_start(&h);
	CU_ASSERT_FATAL(pt_reset() == 0);
	helper_run(&h, ticks_job, (void *)first);
	ticks_job((void *)first);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	op = &c.cur->ops[30];
	CU_ASSERT(same_as_full(&c));

	helper_run(&h, ticks_job, (void *)inner);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));

	helper_run(&h, ticks_job, (void *)edge_lo);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT(op->min_ns == (uint64_t)(1001 * c.cur->tick_ns + 0.5));

	ticks_job((void *)edge_hi);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	CU_ASSERT_EQUAL(c.replayed, 1);
	CU_ASSERT(same_as_full(&c));
	CU_ASSERT(op->max_ns == (uint64_t)(5040 * c.cur->tick_ns + 0.5));
	helper_stop(&h);
	pt__snapcache_free(&c);
}

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

/* Sleeps ms milliseconds. */
static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * The header of the cache's snapshot: RSS, time and pid read at every
 * refresh; the heap (slow to read in a large heap, its arenas locked
 * meanwhile) kept until pt__heap_next_ns(), then read again.
 */
static void
test_header(void)
{
	struct pt__snapcache c;
	uint64_t heap0, h1, h2, t0, read_ns, next, now;
	size_t big = 32u << 20;
	char *p;

	/* A reading is due (the tests before read it): each one moves
	 * pt__heap_next_ns() on, at least PT__HEAP_EVERY_NS past it. */
	memset(&c, 0, sizeof c);
	pt__heap_wait_end();
	read_ns = pt__mono_ns();
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	heap0 = c.cur->memory.heap_bytes;
	t0 = c.cur->time_ns;
	next = pt__heap_next_ns();
	CU_ASSERT(read_ns > 0);
	CU_ASSERT(next >= read_ns + PT__HEAP_EVERY_NS);
	CU_ASSERT(c.cur->pid == (int32_t)getpid());
	CU_ASSERT(c.cur->memory.rss_bytes > 0);
	CU_ASSERT(strlen(c.cur->process) > 0);
	CU_ASSERT_FATAL((p = malloc(big)) != NULL);
	for (size_t k = 0; k < big; k += 4096)
		((volatile char *)p)[k] = 1;	/* not a dead store */
	/* At once: the heap as it was, the rest new. */
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	if (pt__heap_next_ns() == next) {
		CU_ASSERT_EQUAL(c.cur->memory.heap_bytes, heap0);
	} else {	/* a slow machine: the wait went by */
		CU_ASSERT(pt__heap_next_ns() >= next + PT__HEAP_EVERY_NS);
	}
	CU_ASSERT(c.cur->time_ns > t0);
	CU_ASSERT(c.cur->memory.rss_bytes >= big);
	/* Once the wait is over: read again, 32 MiB more than heap0 (under
	 * valgrind, whose malloc glibc does not see, all the readings are
	 * alike).  This test's heap is small: its wait is the floor; under
	 * valgrind, whose mallinfo is slow, longer: cut short then. */
	next = pt__heap_next_ns();
	now = pt__mono_ns();
	if (next > now + 2 * PT__HEAP_EVERY_NS) {
		CU_ASSERT(cunit_under_valgrind());
		pt__heap_wait_end();
		next = 1;
	} else if (next > now) {
		sleep_ms((long)((next - now) / 1000000) + 10);
	}
	h1 = pt__memory_heap();
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	h2 = pt__memory_heap();
	CU_ASSERT(pt__heap_next_ns() != next);	/* read again */
	/* Within what the refresh itself allocates or frees: 1 MiB. */
	CU_ASSERT(c.cur->memory.heap_bytes + (1u << 20) >= (h1 < h2 ? h1 : h2)
	    && c.cur->memory.heap_bytes <= (h1 < h2 ? h2 : h1) + (1u << 20));
	free(p);
	pt__snapcache_free(&c);
}

/*
 * The wait after a heap reading: the floor, or PT__HEAP_COST_RATIO times
 * what the reading took, saturating.
 */
static void
test_heap_wait(void)
{
	const uint64_t ms = 1000000;

	CU_ASSERT_EQUAL(pt__heap_wait_ns(0), PT__HEAP_EVERY_NS);
	CU_ASSERT_EQUAL(pt__heap_wait_ns(50000), PT__HEAP_EVERY_NS);
	CU_ASSERT_EQUAL(pt__heap_wait_ns(PT__HEAP_EVERY_NS /
	    PT__HEAP_COST_RATIO), PT__HEAP_EVERY_NS);
	CU_ASSERT_EQUAL(pt__heap_wait_ns(ms), PT__HEAP_COST_RATIO * ms);
	/* The bench's 92 MiB heap with 357,109 free chunks: ~57 ms. */
	CU_ASSERT_EQUAL(pt__heap_wait_ns(57 * ms), 57000 * ms);
	CU_ASSERT_EQUAL(pt__heap_wait_ns(UINT64_MAX / 10), UINT64_MAX);
}

/*
 * The pacing is the process's: a cache made after the last viewer left
 * (a `perftop dump` a second, say) gets the last reading while it is
 * recent, not a new one.
 */
static void
test_heap_shared(void)
{
	struct pt__snapcache a, b;
	uint64_t heap, next;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&a) == 0);
	heap = a.cur->memory.heap_bytes;
	next = pt__heap_next_ns();
	pt__snapcache_free(&a);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&b) == 0);
	if (pt__mono_ns() < next) {
		CU_ASSERT_EQUAL(b.cur->memory.heap_bytes, heap);
		CU_ASSERT_EQUAL(pt__heap_next_ns(), next);
	}
	pt__snapcache_free(&b);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "replayed from the journals, exact", test_replay_exact },
		{ "new buckets inserted, records exact", test_inserts },
		{ "too many events or a batch: merged", test_fallbacks },
		{ "two caches over the same slots", test_two_caches },
		{ "a reset merges once", test_reset },
		{ "min and max moved within their buckets",
		    test_minmax_buckets },
		{ "threads that start and exit: their ops alone merged",
		    test_thread_churn },
		{ "threads recording meanwhile", test_concurrent },
		{ "header: heap read again after its wait", test_header },
		{ "heap wait: the floor or 1,000 x the read", test_heap_wait },
		{ "heap pacing shared by the caches", test_heap_shared },
	};

	setenv("PERFTOP_AGENT", "0", 1);
	return cunit_run("snapcache", suite_init, NULL, tests,
	    CUNIT_COUNT(tests));
}
