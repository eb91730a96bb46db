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
acc_add_slot(struct pt__op_acc *acc, struct pt__op_slot *s, uint64_t ep)
{
	uint64_t groups, m, v, t, n = 0;
	uint32_t g, i;

	t = __atomic_load_n(&s->total, __ATOMIC_ACQUIRE);
	groups = PT__LOAD(&s->groups);
	acc->groups |= groups;
	FOREACH_BUCKET(groups, g, i, m) {
		v = PT__LOAD(&s->hist[i]);
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

/* Folds the slots of a thread that is going away into the retired totals. */
void
pt__retire_thread(struct pt__thread *t)
{
	uint64_t ep = pt__g.epoch;
	struct pt__op_slot *s;
	struct pt__op_acc *acc;
	int64_t *cell;
	uint32_t id, n;

	n = pt__site_count(PT_KIND_OP);
	for (id = 1; id <= n; id++) {
		if ((s = pt__slot_peek(t, id)) == NULL)
			continue;
		if (s->groups != 0 && (acc = acc_op(&retired, id)) != NULL)
			acc_add_slot(acc, s, ep);
		memset(s, 0, sizeof *s);
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
static void
op_cumulative(uint32_t id, struct pt__op_acc *acc, uint64_t ep,
    struct pt__snapcache *c)
{
	struct pt__op_acc *r;
	struct pt__op_slot *s;
	struct pt__thread *t;
	uint64_t j0, n;

	if ((r = acc_peek(&retired, id)) != NULL) {
		acc_copy(acc, r);
		if (acc->mm_epoch != ep + 1)
			acc->mm_epoch = 0;
	} else
		acc_clear(acc);
	LIST_FOREACH(t, &pt__threads, entry) {
		if ((s = pt__slot_peek(t, id)) == NULL)
			continue;
		j0 = __atomic_load_n(&s->jn, __ATOMIC_ACQUIRE);
		n = acc_add_slot(acc, s, ep);
		if (c != NULL)
			t->rd_seen[id] = n == j0 ? j0 : PT__SEEN_BAD;
	}
}

/* Sums retired and live values of counter id. */
static int64_t
ctr_cumulative(uint32_t id)
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
	pthread_mutex_lock(&pt__lock);
	ep = pt__g.epoch;
	n = pt__site_count(PT_KIND_OP);
	for (id = 1; id <= n; id++) {
		op_cumulative(id, &scratch, ep, NULL);
		if (scratch.count == 0 && acc_peek(&baseline, id) == NULL)
			continue;
		if ((b = acc_op(&baseline, id)) == NULL)
			continue;
		acc_copy(b, &scratch);
	}
	n = pt__site_count(PT_KIND_COUNTER);
	for (id = 1; id <= n; id++) {
		if ((cell = acc_ctr(&baseline, id)) != NULL)
			*cell = ctr_cumulative(id);
	}
	/* After the baselines: a straddling event may miss min/max, but
	 * min/max never include an event counted before the reset. */
	__atomic_store_n(&pt__g.epoch, ep + 1, __ATOMIC_RELEASE);
	reset_ns = pt__mono_ns();
	pthread_mutex_unlock(&pt__lock);
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
static int
op_fill(pt_op_stats *op, const struct pt__op_acc *acc, double tick_ns,
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
static void
acc_sub(struct pt__op_acc *acc, const struct pt__op_acc *b)
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
	uint64_t ep, now;
	double tick_ns;
	int rc = 0;

	if (out == NULL)
		return PT_EINVAL;
	*out = NULL;
	pt__init();
	tick_ns = pt__clock_tick_ns();
	pthread_mutex_lock(&pt__lock);
	n_ops = pt__site_count(PT_KIND_OP);
	n_ctr = pt__site_count(PT_KIND_COUNTER);
	if ((s = pt__snapshot_alloc(n_ops, n_ctr)) == NULL) {
		pthread_mutex_unlock(&pt__lock);
		return PT_ENOMEM;
	}
	ep = pt__g.epoch;
	s->reset_epoch = ep;
	s->tick_ns = tick_ns;
	for (id = 1; id <= n_ops && rc == 0; id++) {
		pt_op_stats *op = &s->ops[s->n_ops++];

		op_cumulative(id, &scratch, ep, NULL);
		if ((b = acc_peek(&baseline, id)) != NULL)
			acc_sub(&scratch, b);
		op->id = id;
		if ((op->name = strdup(pt__site_name(PT_KIND_OP, id))) == NULL)
			rc = PT_ENOMEM;
		else
			rc = op_fill(op, &scratch, tick_ns, ep, 1);
	}
	for (id = 1; id <= n_ctr && rc == 0; id++) {
		pt_counter_stats *c = &s->counters[s->n_counters++];

		c->id = id;
		c->value = ctr_cumulative(id);
		if (id < baseline.n_ctr)
			c->value -= baseline.ctr[id];
		c->name = strdup(pt__site_name(PT_KIND_COUNTER, id));
		if (c->name == NULL)
			rc = PT_ENOMEM;
	}
	now = pt__mono_ns();
	s->uptime_ns = now - start_ns;
	s->since_reset_ns = now - reset_ns;
	pthread_mutex_unlock(&pt__lock);
	if (rc != 0) {
		pt_snapshot_free(s);
		return rc;
	}
	s->pid = (int32_t)getpid();
	s->time_ns = pt__real_ns();
	pt__process_name(s->process, sizeof s->process);
	pt_memory_read(&s->memory);
	*out = s;
	return 0;
}

/* Makes room in c for n_ops operations, n_ctr counters and n_thr threads. */
static int
snapcache_grow(struct pt__snapcache *c, size_t n_ops, size_t n_ctr,
    size_t n_thr)
{
	struct pt__thread **npt;
	struct pt__snapop *nop;
	pt_counter_stats *nc;
	pt_op_stats *no;
	uint64_t *nv, *npj;
	uint16_t *nj;
	size_t n;

	if (c->cur == NULL && (c->cur = pt__snapshot_alloc(0, 0)) == NULL)
		return PT_ENOMEM;
	if (n_ops > c->cap_ops) {
		n = n_ops + n_ops / 2 + 16;
		if ((no = reallocarray(c->cur->ops, n, sizeof *no)) == NULL)
			return PT_ENOMEM;
		c->cur->ops = no;
		if ((nop = reallocarray(c->op, n, sizeof *nop)) == NULL)
			return PT_ENOMEM;
		c->op = nop;
		if ((nv = reallocarray(c->ver, n, sizeof *nv)) == NULL)
			return PT_ENOMEM;
		c->ver = nv;
		memset(no + c->cap_ops, 0, (n - c->cap_ops) * sizeof *no);
		memset(nop + c->cap_ops, 0, (n - c->cap_ops) * sizeof *nop);
		memset(nv + c->cap_ops, 0, (n - c->cap_ops) * sizeof *nv);
		c->cap_ops = n;
	}
	if (n_ctr > c->cap_counters) {
		n = n_ctr + n_ctr / 2 + 16;
		if ((nc = reallocarray(c->cur->counters, n, sizeof *nc)) == NULL)
			return PT_ENOMEM;
		memset(nc + c->cap_counters, 0,
		    (n - c->cap_counters) * sizeof *nc);
		c->cur->counters = nc;
		c->cap_counters = n;
	}
	if (c->cnt == NULL &&
	    (c->cnt = calloc(PT_HIST_BUCKETS, sizeof *c->cnt)) == NULL)
		return PT_ENOMEM;
	if (n_thr > c->cap_threads || c->jbuf == NULL) {
		n = n_thr + 8;
		if ((nj = reallocarray(c->jbuf, n, PT__JOURNAL *
		    sizeof *nj)) == NULL)
			return PT_ENOMEM;
		c->jbuf = nj;
		if ((npt = reallocarray(c->pend_thr, n, sizeof *npt)) == NULL)
			return PT_ENOMEM;
		c->pend_thr = npt;
		if ((npj = reallocarray(c->pend_jn, n, sizeof *npj)) == NULL)
			return PT_ENOMEM;
		c->pend_jn = npj;
		c->cap_threads = n;
	}
	return 0;
}

/* Fills c's record of op i from a merged accumulator. */
static void
snapop_set(struct pt__snapcache *c, size_t i, const struct pt__op_acc *acc,
    uint64_t ep)
{
	c->op[i].mm_ok = acc->count > 0 && acc->mm_epoch == ep + 1;
	c->op[i].min = acc->min;
	c->op[i].max = acc->max;
	c->op[i].ticks = acc->total;
}

#define REPLAY_SAME	1	/* no slot recorded anything */
#define REPLAY_DONE	0	/* updated from the journals */
#define REPLAY_MERGE	(-1000)	/* cannot: merge the buckets again */

/* Sorts the n bucket indexes of v (a few at most: insertion). */
static void
sort_u16(uint16_t *v, size_t n)
{
	size_t i, j;
	uint16_t x;

	for (i = 1; i < n; i++) {
		x = v[i];
		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * Adds the m events of ev (bucket indexes, in any order) to the buckets of
 * op.  The events are counted into c->cnt (all zero between calls), one
 * walk over op's buckets takes those it has, and the rest, buckets op did
 * not have, are merged in, into a new array.  0 or PT_ENOMEM, after which
 * op holds some of the events: the caller must merge it again.
 */
static int
op_add_events(struct pt__snapcache *c, pt_op_stats *op, uint16_t *ev,
    size_t m)
{
	pt_bucket *b = op->buckets, *nb;
	uint32_t *cnt = c->cnt;
	size_t i, j, o, nd = 0, n = op->n_buckets, left = m;

	for (i = 0; i < m; i++)
		if (cnt[ev[i]]++ == 0)
			ev[nd++] = ev[i];	/* ev becomes the distinct ones */
	for (j = 0; j < n && left > 0; j++) {
		if (cnt[b[j].index] != 0) {
			b[j].count += cnt[b[j].index];
			left -= cnt[b[j].index];
			cnt[b[j].index] = 0;
		}
	}
	if (left == 0)
		return 0;
	/* The new buckets, in order, then a merge. */
	for (i = j = 0; i < nd; i++)
		if (cnt[ev[i]] != 0)
			ev[j++] = ev[i];
	nd = j;
	sort_u16(ev, nd);
	if ((nb = reallocarray(NULL, n + nd, sizeof *nb)) == NULL) {
		for (i = 0; i < nd; i++)
			cnt[ev[i]] = 0;
		return PT_ENOMEM;
	}
	for (i = j = o = 0; i < n || j < nd; o++) {
		if (j >= nd || (i < n && b[i].index < ev[j]))
			nb[o] = b[i++];
		else {
			memset(&nb[o], 0, sizeof nb[o]);
			nb[o].index = ev[j];
			nb[o].count = cnt[ev[j]];
			cnt[ev[j++]] = 0;
		}
	}
	free(b);
	op->buckets = nb;
	op->n_buckets = o;
	return 0;
}

/*
 * Updates operation i of c from its slots' journals.  Returns REPLAY_SAME,
 * REPLAY_DONE, REPLAY_MERGE (a slot recorded too many events or a batch,
 * or min/max need the buckets) or PT_ENOMEM.
 */
static int
op_replay(struct pt__snapcache *c, size_t i, uint32_t id, uint64_t ep,
    double tick_ns)
{
	pt_op_stats *op = &c->cur->ops[i];
	struct pt__op_acc *r, *b;
	struct pt__op_slot *s;
	struct pt__thread *t;
	uint64_t a, jn, tot, ticks, mn, mx, e;
	size_t m = 0, np = 0, k;
	uint16_t v;
	int rc;

	ticks = (r = acc_peek(&retired, id)) != NULL ? r->total : 0;
	mn = c->op[i].min;
	mx = c->op[i].max;
	LIST_FOREACH(t, &pt__threads, entry) {
		if ((s = pt__slot_peek(t, id)) == NULL)
			continue;
		tot = __atomic_load_n(&s->total, __ATOMIC_ACQUIRE);
		jn = __atomic_load_n(&s->jn, __ATOMIC_ACQUIRE);
		a = t->rd_seen[id];	/* 0 for a new slot: all journaled */
		ticks += tot > jn ? tot - jn : 0;
		if (jn == a)
			continue;
		/* The writer may be overwriting entry jn - JOURNAL. */
		if (a == PT__SEEN_BAD || jn - a >= PT__JOURNAL)
			return REPLAY_MERGE;
		/* An entry overwritten meanwhile (a release store after
		 * jn moved past a + JOURNAL - 1) shows in jn read after it. */
		for (e = a; e < jn; e++) {
			v = __atomic_load_n(&s->jr[e & (PT__JOURNAL - 1)],
			    __ATOMIC_ACQUIRE);
			if (v == PT__JR_BATCH || v >= PT_HIST_BUCKETS)
				return REPLAY_MERGE;
			c->jbuf[m++] = v;
		}
		if (PT__LOAD(&s->jn) - a >= PT__JOURNAL)
			return REPLAY_MERGE;
		if (PT__LOAD(&s->mm_epoch) == ep + 1) {
			if (PT__LOAD(&s->min) < mn)
				mn = PT__LOAD(&s->min);
			if (PT__LOAD(&s->max) > mx)
				mx = PT__LOAD(&s->max);
		}
		c->pend_thr[np] = t;
		c->pend_jn[np++] = jn;
	}
	if ((b = acc_peek(&baseline, id)) != NULL)
		ticks = ticks > b->total ? ticks - b->total : 0;
	/*
	 * A total read while an event was being recorded may lack or hold
	 * that event's time (the total and jn are two stores): recomputed
	 * every time, it is right again at the next refresh, even when
	 * nothing else moved.
	 */
	if (np == 0 && ticks == c->op[i].ticks)
		return REPLAY_SAME;
	if (np > 0 && !c->op[i].mm_ok)
		return REPLAY_MERGE;
	if (m > 0 && (rc = op_add_events(c, op, c->jbuf, m)) != 0)
		return rc;
	for (k = 0; k < np; k++)
		c->pend_thr[k]->rd_seen[id] = c->pend_jn[k];
	c->op[i].ticks = ticks;
	op->count += m;
	op->total_ns = op->count == 0 ? 0 :
	    (uint64_t)((double)ticks * tick_ns + 0.5);
	c->op[i].min = mn;
	c->op[i].max = mx;
	op->min_ns = (uint64_t)((double)mn * tick_ns + 0.5);
	op->max_ns = (uint64_t)((double)mx * tick_ns + 0.5);
	return REPLAY_DONE;
}

/* How far ahead the refresh loads slots, in operations. */
#define PREFETCH_OPS	3

/* Starts loading the journal lines of op id's slots and its first buckets. */
static void
prefetch_slots(uint32_t id, const pt_op_stats *op)
{
	struct pt__op_slot *s;
	struct pt__thread *t;

	LIST_FOREACH(t, &pt__threads, entry)
		if ((s = pt__slot_peek(t, id)) != NULL)
			__builtin_prefetch(s, 0, 0);
	if (op->buckets != NULL)
		__builtin_prefetch(op->buckets, 1, 0);
}

/*
 * Brings the agent's snapshot up to date.  Operations are updated from the
 * journals when they can be (see struct pt__snapcache); everything is
 * merged again when the epoch changed (a reset: new baselines), the tick
 * changed (the clock's calibration, in the first seconds) or a thread came
 * or went (retired totals moved).
 */
int
pt__snapshot_refresh(struct pt__snapcache *c)
{
	static uint64_t last_id;
	struct pt__op_acc *b;
	struct pt__thread *t;
	pt_snapshot *s;
	pt_op_stats fresh;
	uint32_t id, n_ops, n_ctr;
	uint64_t ep, now;
	double tick_ns;
	size_t i, n_thr = 0;
	int all, rc = 0;

	pt__init();
	tick_ns = pt__clock_tick_ns();
	pthread_mutex_lock(&pt__lock);
	if (c->id == 0)
		c->id = ++last_id;
	n_ops = pt__site_count(PT_KIND_OP);
	n_ctr = pt__site_count(PT_KIND_COUNTER);
	/* Threads another cache read last: their rd_seen are not ours. */
	all = 0;
	LIST_FOREACH(t, &pt__threads, entry) {
		n_thr++;
		all |= t->rd_owner != c->id;
	}
	if ((rc = snapcache_grow(c, n_ops, n_ctr, n_thr)) != 0)
		goto out;
	s = c->cur;
	ep = pt__g.epoch;
	all |= c->gen == 0 || ep != c->epoch || tick_ns != c->tick_ns ||
	    pt__threads_gen != c->threads_gen;
	s->reset_epoch = ep;
	s->tick_ns = tick_ns;
	c->replayed = c->merged = 0;
	for (; s->n_ops < n_ops; s->n_ops++) {
		pt_op_stats *op = &s->ops[s->n_ops];

		id = (uint32_t)s->n_ops + 1;
		if ((op->name = strdup(pt__site_name(PT_KIND_OP, id))) == NULL) {
			rc = PT_ENOMEM;
			goto out;
		}
		op->id = id;
		c->ver[s->n_ops] = 0;
	}
	for (i = 0; i < s->n_ops; i++) {
		pt_op_stats *op = &s->ops[i];

		id = op->id;
		if (!all && c->ver[i] != 0) {
			/* The slots are likely being written on other CPUs:
			 * start loading those of a later operation. */
			if (i + PREFETCH_OPS < s->n_ops)
				prefetch_slots(op->id + PREFETCH_OPS,
				    &s->ops[i + PREFETCH_OPS]);
			int r = op_replay(c, i, id, ep, tick_ns);

			if (r == REPLAY_SAME)
				continue;
			if (r == REPLAY_DONE) {
				c->ver[i] = ++c->gen;
				c->replayed++;
				continue;
			}
			if (r != REPLAY_MERGE) {
				c->ver[i] = 0;	/* half updated: merge it */
				rc = r;
				goto out;
			}
		}
		op_cumulative(id, &scratch, ep, c);
		if ((b = acc_peek(&baseline, id)) != NULL)
			acc_sub(&scratch, b);
		snapop_set(c, i, &scratch, ep);
		memset(&fresh, 0, sizeof fresh);
		fresh.name = op->name;
		fresh.id = id;
		if ((rc = op_fill(&fresh, &scratch, tick_ns, ep, 0)) != 0) {
			c->ver[i] = 0;	/* its slots' rd_seen moved on */
			goto out;
		}
		free(op->buckets);
		*op = fresh;
		c->ver[i] = ++c->gen;
		c->merged++;
	}
	/* Only now: after a failure, the next refresh merges everything. */
	c->epoch = ep;
	c->tick_ns = tick_ns;
	c->threads_gen = pt__threads_gen;
	LIST_FOREACH(t, &pt__threads, entry)
		t->rd_owner = c->id;
	for (; s->n_counters < n_ctr; s->n_counters++) {
		pt_counter_stats *ct = &s->counters[s->n_counters];

		id = (uint32_t)s->n_counters + 1;
		ct->name = strdup(pt__site_name(PT_KIND_COUNTER, id));
		if (ct->name == NULL) {
			rc = PT_ENOMEM;
			goto out;
		}
		ct->id = id;
	}
	for (i = 0; i < s->n_counters; i++) {
		id = s->counters[i].id;
		s->counters[i].value = ctr_cumulative(id) -
		    (id < baseline.n_ctr ? baseline.ctr[id] : 0);
	}
	now = pt__mono_ns();
	s->uptime_ns = now - start_ns;
	s->since_reset_ns = now - reset_ns;
out:
	pthread_mutex_unlock(&pt__lock);
	if (c->cur != NULL) {
		s = c->cur;
		s->pid = (int32_t)getpid();
		s->time_ns = pt__real_ns();
		pt__process_name(s->process, sizeof s->process);
		pt_memory_read(&s->memory);
	}
	return rc;
}

void
pt__snapcache_free(struct pt__snapcache *c)
{
	pt_snapshot_free(c->cur);
	free(c->op);
	free(c->ver);
	free(c->jbuf);
	free(c->cnt);
	free(c->pend_thr);
	free(c->pend_jn);
	memset(c, 0, sizeof *c);
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
