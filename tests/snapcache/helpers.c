/*
 * helpers.c - what the tests of test-snapcache share: the operations they
 * record into, the checks of a cache against a full snapshot and against
 * its own records, and a helper thread.
 */
#include "snapcache-test.h"

pt_site sites[OPS];
static char names[OPS][32];

int
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
void
rec(int i, uint64_t ticks)
{
	CU_ASSERT_EQUAL_FATAL(pt__test_record_ticks(&sites[i], ticks, 1), 0);
}

int
same_buckets(const pt_op_stats *x, const pt_op_stats *y)
{
	return snapcmp_buckets(x, y);
}

/*
 * Tells whether the cache's operations are what a full snapshot taken now
 * says: counts, times, min, max and every bucket.  Prints the first
 * difference.
 */
int
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
int
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

void
helper_start(struct helper *h)
{
	memset(h, 0, sizeof *h);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	CU_ASSERT_FATAL(pthread_create(&h->th, NULL, helper_main, h) == 0);
}

/* Runs job(arg) on the helper and waits for it. */
void
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

void
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

void
burst_job(void *arg)
{
	struct burst *b = arg;
	int i, k;

	for (i = 0; i < OPS; i++)
		for (k = 0; k < b->n; k++)
			rec(i, b->ticks + (uint64_t)(i * 37 + k * 1001));
}
