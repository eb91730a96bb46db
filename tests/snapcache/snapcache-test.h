/*
 * snapcache-test.h - what the files of test-snapcache (tests/test-snapcache.c
 * and the tests in tests/snapcache/) share: the includes, the operations
 * and helpers of helpers.c, and the tables of tests of the files.
 */
#ifndef PT_TESTS_SNAPCACHE_TEST_H
#define PT_TESTS_SNAPCACHE_TEST_H

#include "core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../cunit.h"
#include "../snapcmp.h"

/* helpers.c: OPS operations, registered by suite_init(). */
#define OPS		40
extern pt_site	sites[OPS];

int	suite_init(void);
/* Records one event of ticks ticks into op i from the calling thread. */
void	rec(int i, uint64_t ticks);
int	same_buckets(const pt_op_stats *x, const pt_op_stats *y);
/* Whether the cache's operations are what a full snapshot taken now says
 * (prints the first difference). */
int	same_as_full(const struct pt__snapcache *c);
/* Whether the cache's own records (group starts and masks, room, change
 * lists) agree with its snapshot. */
int	cache_consistent(const struct pt__snapcache *c);

/* A second thread that runs jobs for the test, one at a time. */
struct helper {
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	void		(*job)(void *);
	void		*arg;
	int		 busy, quit;
};
void	helper_start(struct helper *h);
/* Runs job(arg) on the helper and waits for it. */
void	helper_run(struct helper *h, void (*job)(void *), void *arg);
void	helper_stop(struct helper *h);

/* A job: n events into each of ops [0, OPS) with durations from ticks. */
struct burst {
	int		n;
	uint64_t	ticks;
};
void	burst_job(void *arg);

/* The tables of tests of tests/snapcache/ (each ended by a NULL name). */
extern const struct cunit_test replay_tests[];	/* replay.c */
extern const struct cunit_test thread_tests[];	/* threads.c */
extern const struct cunit_test heap_tests[];	/* heap.c */

#endif /* PT_TESTS_SNAPCACHE_TEST_H */
