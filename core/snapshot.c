/*
 * snapshot.c - merging per-thread slots into a snapshot, reset epochs,
 * retired totals, differences between snapshots and profiling one call.
 *
 * Every cumulative figure (counts, totals, buckets, counter values) only
 * grows: per site it is the retired total of exited threads plus the live
 * slots.  A reset records that sum as a baseline and later snapshots
 * subtract it, so each event lands on exactly one side of a reset.  min and
 * max cannot be subtracted: each slot keeps them for the epoch its writer
 * saw, and a snapshot uses only those of the current epoch.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Per-site accumulators, by id; grown on demand.  Under pt__lock. */
struct acc_table {
	struct pt__op_acc	**op;
	uint32_t		  n_op;
	int64_t			 *ctr;
	uint32_t		  n_ctr;
};

static struct acc_table	retired, baseline;
uint64_t		pt__retired_lost;	/* under pt__lock */
static uint64_t		start_ns, reset_ns;	/* CLOCK_MONOTONIC */
static struct pt__op_acc scratch;		/* merge buffer, under lock */

/* Visits bucket i of every group set in mask. */
#define FOREACH_BUCKET(mask, g, i, m)					\
	for ((m) = (mask); (m) != 0; (m) &= (m) - 1)			\
		for ((g) = (uint32_t)__builtin_ctzll(m),		\
		    (i) = (g) << PT__GROUP_BITS;			\
		    (i) < (((g) + 1) << PT__GROUP_BITS); (i)++)

/* Empties an accumulator, touching only the groups it used. */
static void
acc_clear(struct pt__op_acc *acc)
{
	uint64_t m;
	uint32_t g;

	for (m = acc->groups; m != 0; m &= m - 1) {
		g = (uint32_t)__builtin_ctzll(m);
		memset(&acc->hist[g << PT__GROUP_BITS], 0,
		    sizeof acc->hist[0] << PT__GROUP_BITS);
	}
	acc->count = acc->total = acc->min = acc->max = acc->mm_epoch = 0;
	acc->stamp = acc->groups = 0;
}

/* Copies src into dst (both accumulators), touching only used groups. */
static void
acc_copy(struct pt__op_acc *dst, const struct pt__op_acc *src)
{
	uint64_t m;
	uint32_t g;

	acc_clear(dst);
	dst->count = src->count;
	dst->total = src->total;
	dst->stamp = src->stamp;
	dst->min = src->min;
	dst->max = src->max;
	dst->mm_epoch = src->mm_epoch;
	dst->groups = src->groups;
	for (m = src->groups; m != 0; m &= m - 1) {
		g = (uint32_t)__builtin_ctzll(m);
		memcpy(&dst->hist[g << PT__GROUP_BITS],
		    &src->hist[g << PT__GROUP_BITS],
		    sizeof dst->hist[0] << PT__GROUP_BITS);
	}
}

/* Nanoseconds since the library started (CLOCK_MONOTONIC). */
uint64_t
pt__uptime_ns(void)
{
	uint64_t now = pt__mono_ns();

	pt__init();
	return now > start_ns ? now - start_ns : 0;
}

/* Sets the start of time (at init and in a forked child). */
void
pt__snapshot_atfork_child(void)
{
	start_ns = reset_ns = pt__mono_ns();
}

/* Makes sure table has an accumulator for op id; NULL if out of memory. */
static struct pt__op_acc *
acc_op(struct acc_table *tab, uint32_t id)
{
	struct pt__op_acc **grown;
	uint32_t n;

	if (id >= tab->n_op) {
		n = id + 64;
		if ((grown = reallocarray(tab->op, n, sizeof *grown)) == NULL)
			return NULL;
		memset(grown + tab->n_op, 0, (n - tab->n_op) * sizeof *grown);
		tab->op = grown;
		tab->n_op = n;
	}
	if (tab->op[id] == NULL)
		tab->op[id] = calloc(1, sizeof *tab->op[id]);
	return tab->op[id];
}

/* Makes sure table has a cell for counter id; NULL if out of memory. */
static int64_t *
acc_ctr(struct acc_table *tab, uint32_t id)
{
	int64_t *grown;
	uint32_t n;

	if (id >= tab->n_ctr) {
		n = id + 256;
		if ((grown = reallocarray(tab->ctr, n, sizeof *grown)) == NULL)
			return NULL;
		memset(grown + tab->n_ctr, 0, (n - tab->n_ctr) * sizeof *grown);
		tab->ctr = grown;
		tab->n_ctr = n;
	}
	return &tab->ctr[id];
}

static struct pt__op_acc *
acc_peek(const struct acc_table *tab, uint32_t id)
{
	return id < tab->n_op ? tab->op[id] : NULL;
}

/* Merges min/max of epoch ep (stored as ep + 1) into acc. */
static void
minmax_merge(struct pt__op_acc *acc, uint64_t mm_epoch, uint64_t min,
    uint64_t max, uint64_t ep)
{
	if (mm_epoch != ep + 1)
		return;
	if (acc->mm_epoch != ep + 1) {
		acc->mm_epoch = ep + 1;
		acc->min = min;
		acc->max = max;
		return;
	}
	if (min < acc->min)
		acc->min = min;
	if (max > acc->max)
		acc->max = max;
}

/*
 * Adds a live slot into acc: the total first, then the buckets.  The slot's
 * total counts one extra tick per event; the buckets, read later, may hold
 * an event or two more than the total, which then comes out a few ticks
 * short (never below zero).  Returns the events the buckets held.
 */
static uint64_t
acc_add_slot(struct pt__op_acc *acc, const struct pt__op_slot *s,
    const uint64_t *hist, uint64_t ep)
{
	uint64_t groups, m, v, t, n = 0;
	uint32_t g, i;

	t = __atomic_load_n(&s->total, __ATOMIC_ACQUIRE);
	groups = PT__LOAD(&s->groups);
	acc->groups |= groups;
	FOREACH_BUCKET(groups, g, i, m) {
		v = PT__LOAD(&hist[i]);
		acc->hist[i] += v;
		n += v;
	}
	acc->count += n;
	acc->stamp += t;
	acc->total += t > n ? t - n : 0;
	minmax_merge(acc, PT__LOAD(&s->mm_epoch), PT__LOAD(&s->min),
	    PT__LOAD(&s->max), ep);
	return n;
}

/* Zeroes slot s, with buckets h, for the next thread (the groups of
 * buckets it used only). */
static void
slot_clear(struct pt__op_slot *s, uint64_t *h)
{
	uint64_t m;
	unsigned g;

	for (m = s->groups; m != 0; m &= m - 1) {
		g = (unsigned)__builtin_ctzll(m);
		memset(&h[g << PT__GROUP_BITS], 0,
		    sizeof h[0] << PT__GROUP_BITS);
	}
	memset(s, 0, sizeof *s);
}

/* Folds the slots of a thread that is going away into the retired totals. */
void
pt__retire_thread(struct pt__thread *t)
{
	uint64_t ep = pt__g.epoch;
	struct pt__op_slot *s;
	struct pt__op_acc *acc;
	int64_t *cell;
	uint64_t *h;
	uint32_t id, n;

	n = pt__site_count(PT_KIND_OP);
	for (id = 1; id <= n; id++) {
		if ((h = pt__slot_hist(t, id)) == NULL)
			continue;
		s = &t->slot[id];
		if (s->groups != 0) {
			if ((acc = acc_op(&retired, id)) != NULL) {
				acc_add_slot(acc, s, h, ep);
				acc->moves++;
			} else
				pt__retired_lost++;	/* events lost */
		}
		slot_clear(s, h);
		t->rd_seen[id] = 0;
	}
	t->rd_owner = 0;
	n = pt__site_count(PT_KIND_COUNTER);
	for (id = 1; id <= n; id++) {
		struct pt__ctr_chunk *c = t->ctrs[id >> PT__CTR_CHUNK_BITS];

		if (c == NULL || c->value[id & (PT__CTR_CHUNK - 1)] == 0)
			continue;
		if ((cell = acc_ctr(&retired, id)) != NULL)
			*cell += c->value[id & (PT__CTR_CHUNK - 1)];
		c->value[id & (PT__CTR_CHUNK - 1)] = 0;
	}
}

/*
 * Sums retired and live figures of op id into acc (cumulative).  With a
 * cache c, also notes in each thread's rd_seen how many events of its slot c
 * has now merged: jn as read before the buckets when they held that many
 * events (the buckets of every event it counts are seen; if those of later
 * ones under way were too, the sum is larger), else PT__SEEN_BAD, which
 * makes c merge the operation again next time.
 */
void
pt__op_cumulative(uint32_t id, struct pt__op_acc *acc, uint64_t ep,
    struct pt__snapcache *c)
{
	struct pt__op_acc *r;
	struct pt__thread *t;
	uint64_t j0, n, *h;

	if ((r = acc_peek(&retired, id)) != NULL) {
		acc_copy(acc, r);
		if (acc->mm_epoch != ep + 1)
			acc->mm_epoch = 0;
	} else
		acc_clear(acc);
	LIST_FOREACH(t, &pt__threads, entry) {
		if ((h = pt__slot_hist(t, id)) == NULL)
			continue;
		j0 = __atomic_load_n(&t->slot[id].jn, __ATOMIC_ACQUIRE);
		n = acc_add_slot(acc, &t->slot[id], h, ep);
		if (c != NULL)
			t->rd_seen[id] = n == j0 ? j0 : PT__SEEN_BAD;
	}
}

/* Sums retired and live values of counter id. */
int64_t
pt__ctr_cumulative(uint32_t id)
{
	struct pt__thread *t;
	struct pt__ctr_chunk *c;
	int64_t v = 0;

	if (id < retired.n_ctr)
		v = retired.ctr[id];
	LIST_FOREACH(t, &pt__threads, entry) {
		c = __atomic_load_n(&t->ctrs[id >> PT__CTR_CHUNK_BITS],
		    __ATOMIC_ACQUIRE);
		if (c != NULL)
			v += PT__LOAD(&c->value[id & (PT__CTR_CHUNK - 1)]);
	}
	return v;
}

int
pt_reset(void)
{
	struct pt__op_acc *b;
	uint32_t id, n;
	int64_t *cell;
	uint64_t ep;

	pt__init();
	pt__lock_threads_long();
	ep = pt__g.epoch;
	n = pt__site_count(PT_KIND_OP);
	for (id = 1; id <= n; id++) {
		pt__op_cumulative(id, &scratch, ep, NULL);
		if (scratch.count == 0 && acc_peek(&baseline, id) == NULL)
			continue;
		if ((b = acc_op(&baseline, id)) == NULL)
			continue;
		acc_copy(b, &scratch);
	}
	n = pt__site_count(PT_KIND_COUNTER);
	for (id = 1; id <= n; id++) {
		if ((cell = acc_ctr(&baseline, id)) != NULL)
			*cell = pt__ctr_cumulative(id);
	}
	/* After the baselines: a straddling event may miss min/max, but
	 * min/max never include an event counted before the reset. */
	__atomic_store_n(&pt__g.epoch, ep + 1, __ATOMIC_RELEASE);
	reset_ns = pt__mono_ns();
	pt__unlock_threads();
	return 0;
}

pt_snapshot *
pt__snapshot_alloc(size_t n_ops, size_t n_counters)
{
	pt_snapshot *s;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	if (n_ops > 0 && (s->ops = calloc(n_ops, sizeof *s->ops)) == NULL)
		goto fail;
	if (n_counters > 0 &&
	    (s->counters = calloc(n_counters, sizeof *s->counters)) == NULL)
		goto fail;
	return s;
fail:
	free(s->ops);
	free(s);
	return NULL;
}

const char *
pt__snapshot_strdup(pt_snapshot *s, const char *name)
{
	(void)s;
	return strdup(name != NULL ? name : "");
}

/*
 * A shared block: the count and its size class, then the data (aligned for
 * pt_bucket).  Blocks come in power-of-two sizes and freed ones are kept
 * for reuse, a few thousand per size: a view decoding thousands of changed
 * histograms a second would otherwise spend a third of its time in malloc
 * searching its bins for blocks of every odd size.
 */
struct sh_blk {
	uint32_t	refs;
	uint32_t	cls;		/* capacity 1 << (cls + SH_MIN_SHIFT) */
	struct sh_blk	*next;		/* on a free list */
	unsigned char	data[];
};

#define SH_BLK(p)	((struct sh_blk *)(void *)((unsigned char *)(p) - \
			    offsetof(struct sh_blk, data)))
#define SH_MIN_SHIFT	6		/* 64 bytes */
#define SH_CLASSES	16		/* up to 2 MiB; bigger: malloc */
#define SH_KEEP_BYTES	(16u << 20)	/* kept per class at most */

static pthread_mutex_t	 sh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sh_blk	*sh_free[SH_CLASSES];
static size_t		 sh_kept[SH_CLASSES];	/* bytes */

/* The pool's lock, taken around fork() (site.c) so that the child never
 * finds it held by a thread it does not have. */
void
pt__sh_lock(void)
{
	pthread_mutex_lock(&sh_lock);
}

void
pt__sh_unlock(void)
{
	pthread_mutex_unlock(&sh_lock);
}

void *
pt__sh_alloc(size_t bytes)
{
	struct sh_blk *b = NULL;
	uint32_t cls = 0;

	while (cls < SH_CLASSES &&
	    ((size_t)1 << (cls + SH_MIN_SHIFT)) < bytes)
		cls++;
	if (cls < SH_CLASSES) {
		pthread_mutex_lock(&sh_lock);
		if ((b = sh_free[cls]) != NULL) {
			sh_free[cls] = b->next;
			sh_kept[cls] -= (size_t)1 << (cls + SH_MIN_SHIFT);
		}
		pthread_mutex_unlock(&sh_lock);
		if (b == NULL)
			b = malloc(sizeof *b + ((size_t)1 << (cls +
			    SH_MIN_SHIFT)));
	} else if (bytes <= SIZE_MAX - sizeof *b)
		b = malloc(sizeof *b + bytes);
	if (b == NULL)
		return NULL;
	b->refs = 1;
	b->cls = cls;
	return b->data;
}

void *
pt__sh_ref(const void *p)
{
	if (p != NULL)
		__atomic_add_fetch(&SH_BLK(p)->refs, 1, __ATOMIC_RELAXED);
	return (void *)p;
}

void
pt__sh_unref(const void *p)
{
	struct sh_blk *b;
	size_t size;

	if (p == NULL)
		return;
	b = SH_BLK(p);
	if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (b->cls < SH_CLASSES) {
		size = (size_t)1 << (b->cls + SH_MIN_SHIFT);
		pthread_mutex_lock(&sh_lock);
		if (sh_kept[b->cls] + size <= SH_KEEP_BYTES) {
			b->next = sh_free[b->cls];
			sh_free[b->cls] = b;
			sh_kept[b->cls] += size;
			b = NULL;
		}
		pthread_mutex_unlock(&sh_lock);
	}
	free(b);
}

char *
pt__sh_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c;

	if ((c = pt__sh_alloc(n)) != NULL)
		memcpy(c, s, n);
	return c;
}

void
pt_snapshot_free(pt_snapshot *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->pt_internal & PT__SNAP_SHARED) {
		for (i = 0; i < s->n_ops; i++) {
			pt__sh_unref(s->ops[i].name);
			pt__sh_unref(s->ops[i].buckets);
		}
		for (i = 0; i < s->n_counters; i++)
			pt__sh_unref(s->counters[i].name);
		free(s->ops);
		free(s->counters);
		free(s);
		return;
	}
	for (i = 0; i < s->n_ops; i++) {
		free((char *)s->ops[i].name);
		free(s->ops[i].buckets);
	}
	for (i = 0; i < s->n_counters; i++)
		free((char *)s->counters[i].name);
	free(s->ops);
	free(s->counters);
	free(s);
}

/*
 * Fills op from an accumulator: the non-empty buckets, nanosecond figures
 * and percentiles.  When no slot kept min/max for this epoch (only events
 * that straddled the reset), they are read from the histogram.  Without
 * finish, the percentiles and the mean are left out.
 */
int
pt__op_fill(pt_op_stats *op, const struct pt__op_acc *acc, double tick_ns,
    uint64_t ep, int finish)
{
	uint64_t lo, hi, m;
	size_t n = 0;
	uint32_t g, i;

	FOREACH_BUCKET(acc->groups, g, i, m)
		n += acc->hist[i] != 0;
	if (n > 0 && (op->buckets = calloc(n, sizeof *op->buckets)) == NULL)
		return PT_ENOMEM;
	FOREACH_BUCKET(acc->groups, g, i, m) {
		if (acc->hist[i] == 0)
			continue;
		op->buckets[op->n_buckets].index = i;
		op->buckets[op->n_buckets++].count = acc->hist[i];
	}
	op->count = acc->count;
	/* No events, no time (an event torn by a reset leaves only its total). */
	op->total_ns = acc->count == 0 ? 0 :
	    (uint64_t)((double)acc->total * tick_ns + 0.5);
	if (acc->count > 0 && acc->mm_epoch == ep + 1) {
		op->min_ns = (uint64_t)((double)acc->min * tick_ns + 0.5);
		op->max_ns = (uint64_t)((double)acc->max * tick_ns + 0.5);
	} else if (acc->count > 0 && n > 0) {
		pt__hist_bounds(op->buckets[0].index, &lo, &hi);
		op->min_ns = (uint64_t)((double)lo * tick_ns);
		pt__hist_bounds(op->buckets[n - 1].index, &lo, &hi);
		op->max_ns = (uint64_t)((double)(hi == UINT64_MAX ? lo : hi) *
		    tick_ns);
	}
	if (finish)
		pt_op_stats_finish(op, tick_ns);
	return 0;
}

/* Subtracts the baseline b from acc, field by field, never below zero. */
void
pt__acc_sub(struct pt__op_acc *acc, const struct pt__op_acc *b)
{
	uint64_t m;
	uint32_t g, i;

	acc->total = acc->total > b->total ? acc->total - b->total : 0;
	FOREACH_BUCKET(acc->groups & b->groups, g, i, m)
		acc->hist[i] = acc->hist[i] > b->hist[i] ?
		    acc->hist[i] - b->hist[i] : 0;
	acc->count = 0;
	FOREACH_BUCKET(acc->groups, g, i, m)
		acc->count += acc->hist[i];
}

int
pt_snapshot_take(pt_snapshot **out)
{
	struct pt__op_acc *b;
	pt_snapshot *s;
	uint32_t id, n_ops, n_ctr;
	uint64_t ep;
	double tick_ns;
	int rc = 0;

	if (out == NULL)
		return PT_EINVAL;
	*out = NULL;
	pt__init();
	tick_ns = pt__clock_tick_ns();
	pt__lock_threads_long();
	n_ops = pt__site_count(PT_KIND_OP);
	n_ctr = pt__site_count(PT_KIND_COUNTER);
	if ((s = pt__snapshot_alloc(n_ops, n_ctr)) == NULL) {
		pt__unlock_threads();
		return PT_ENOMEM;
	}
	ep = pt__g.epoch;
	s->reset_epoch = ep;
	s->tick_ns = tick_ns;
	for (id = 1; id <= n_ops && rc == 0; id++) {
		pt_op_stats *op = &s->ops[s->n_ops++];

		pt__op_cumulative(id, &scratch, ep, NULL);
		if ((b = acc_peek(&baseline, id)) != NULL)
			pt__acc_sub(&scratch, b);
		op->id = id;
		if ((op->name = strdup(pt__site_name(PT_KIND_OP, id))) == NULL)
			rc = PT_ENOMEM;
		else
			rc = pt__op_fill(op, &scratch, tick_ns, ep, 1);
	}
	for (id = 1; id <= n_ctr && rc == 0; id++) {
		pt_counter_stats *c = &s->counters[s->n_counters++];

		c->id = id;
		c->value = pt__ctr_cumulative(id);
		if (id < baseline.n_ctr)
			c->value -= baseline.ctr[id];
		c->name = strdup(pt__site_name(PT_KIND_COUNTER, id));
		if (c->name == NULL)
			rc = PT_ENOMEM;
	}
	pt__snapshot_times(s);
	pt__unlock_threads();
	if (rc != 0) {
		pt_snapshot_free(s);
		return rc;
	}
	pt__snapshot_process(s);
	*out = s;
	return 0;
}

void
pt__snapshot_times(pt_snapshot *s)
{
	uint64_t now = pt__mono_ns();

	s->uptime_ns = now - start_ns;
	s->since_reset_ns = now - reset_ns;
}

void
pt__snapshot_process(pt_snapshot *s)
{
	s->pid = (int32_t)getpid();
	s->time_ns = pt__real_ns();
	pt__process_name(s->process, sizeof s->process);
	pt_memory_read(&s->memory);
}

struct pt__op_acc *
pt__retired_op(uint32_t id)
{
	return acc_peek(&retired, id);
}

struct pt__op_acc *
pt__baseline_op(uint32_t id)
{
	return acc_peek(&baseline, id);
}

int64_t
pt__baseline_ctr(uint32_t id)
{
	return id < baseline.n_ctr ? baseline.ctr[id] : 0;
}

const pt_op_stats *
pt_snapshot_find_op(const pt_snapshot *s, const char *name)
{
	size_t i;

	if (s == NULL || name == NULL)
		return NULL;
	for (i = 0; i < s->n_ops; i++)
		if (strcmp(s->ops[i].name, name) == 0)
			return &s->ops[i];
	return NULL;
}

const pt_counter_stats *
pt_snapshot_find_counter(const pt_snapshot *s, const char *name)
{
	size_t i;

	if (s == NULL || name == NULL)
		return NULL;
	for (i = 0; i < s->n_counters; i++)
		if (strcmp(s->counters[i].name, name) == 0)
			return &s->counters[i];
	return NULL;
}
