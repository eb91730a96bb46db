/*
 * snapcache.c - the agent's incremental snapshot: kept between refreshes,
 * operations updated from the slots' journals when they can be, merged
 * again from the buckets when they cannot (struct pt__snapcache, core.h).
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct pt__op_acc scratch;	/* merge buffer, under pt__lock */

/* Operations whose journals are read before they are updated. */
#define REFRESH_BLOCK	16

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
	if (c->dsc == NULL &&
	    (c->dsc = calloc(PT_HIST_BUCKETS, sizeof *c->dsc)) == NULL)
		return PT_ENOMEM;
	if (n_thr > c->cap_threads || c->jbuf == NULL) {
		n = n_thr + 8;
		/* A block of operations' journals and slots. */
		if ((nj = reallocarray(c->jbuf, n * REFRESH_BLOCK,
		    PT__JOURNAL * sizeof *nj)) == NULL)
			return PT_ENOMEM;
		c->jbuf = nj;
		if ((npt = reallocarray(c->pend_thr, n * REFRESH_BLOCK,
		    sizeof *npt)) == NULL)
			return PT_ENOMEM;
		c->pend_thr = npt;
		if ((npj = reallocarray(c->pend_jn, n * REFRESH_BLOCK,
		    sizeof *npj)) == NULL)
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

/* How many exited threads' slots went into retired totals r (NULL: none). */
static uint64_t
retired_moves(const struct pt__op_acc *r)
{
	return r != NULL ? r->moves : 0;
}

#define REPLAY_SAME	1	/* no slot recorded anything */
#define REPLAY_DONE	0	/* updated from the journals */
#define REPLAY_MERGE	(-1000)	/* cannot: merge the buckets again */

/* Distinct buckets looked up in their groups; more take one walk. */
#define ADD_LOOKUPS_MAX	24

/* Bucket x's bit in its group's mask (struct pt__snapop). */
static inline uint64_t
gbit(uint32_t x)
{
	return (uint64_t)1 << (x & (PT__GROUP_SUB - 1));
}

/* Notes where each group of 64 buckets starts in the buckets of op, and
 * which buckets each holds. */
static void
gpos_build(struct pt__snapop *so, const pt_op_stats *op)
{
	size_t g, j = 0;

	memset(so->gbits, 0, sizeof so->gbits);
	for (g = 0; g < PT__GROUPS; g++) {
		so->gpos[g] = (uint16_t)j;
		while (j < op->n_buckets &&
		    op->buckets[j].index < ((g + 1) << PT__GROUP_BITS)) {
			so->gbits[g] |= gbit(op->buckets[j].index);
			j++;
		}
	}
	so->gpos[PT__GROUPS] = (uint16_t)op->n_buckets;
}

/* The bits set in v, inline (without -mpopcnt the builtin is a call). */
static inline unsigned
bits_set(uint64_t v)
{
	v -= (v >> 1) & 0x5555555555555555ull;
	v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((v * 0x0101010101010101ull) >> 56);
}

/* How many of the buckets so describes come before bucket x. */
static inline size_t
gpos_rank(const struct pt__snapop *so, uint32_t x)
{
	return (size_t)so->gpos[x >> PT__GROUP_BITS] +
	    bits_set(so->gbits[x >> PT__GROUP_BITS] & (gbit(x) - 1));
}

/* The place of bucket x in the buckets so describes, or -1: none. */
static inline ssize_t
gpos_find(const struct pt__snapop *so, uint32_t x)
{
	if (!(so->gbits[x >> PT__GROUP_BITS] & gbit(x)))
		return -1;
	return (ssize_t)gpos_rank(so, x);
}

/*
 * Adds the m events of ev (bucket indexes, in any order) to the buckets of
 * op, and lists what it added to which bucket in dl (room for m; NULL: do
 * not), ascending; *dnp: how many.  The events are counted into c->cnt
 * (all zero between calls); each distinct bucket is looked for in its
 * group (so: where the groups start in op's buckets and which buckets
 * they hold), or with many one walk over the buckets takes them all; those
 * op did not have are inserted (so is kept up to date).
 * 0, 1 when op's buckets have a new layout (new buckets), or PT_ENOMEM,
 * after which op holds some of the events: the caller must merge it
 * again.
 */
static int
op_add_events(struct pt__snapcache *c, pt_op_stats *op, struct pt__snapop *so,
    uint16_t *ev, size_t m, struct pt__bdelta *dl, uint32_t *dnp)
{
	uint16_t *gpos = so->gpos;
	ssize_t at;
	pt_bucket *b = op->buckets, *nb;
	struct pt__bdelta *dsc = c->dsc;
	uint32_t *cnt = c->cnt, k, x, tg = 0;
	uint64_t tm[PT__GROUPS], tb;
	size_t i, j, o, g, md, nd = 0, nn = 0, n = op->n_buckets;
	size_t dn = 0;

	/* ev becomes the distinct ones, in order: each group's touched
	 * buckets as bits, read out lowest first (no sort). */
	for (i = 0; i < m; i++) {
		x = ev[i];
		if (cnt[x]++ != 0)
			continue;
		g = x >> PT__GROUP_BITS;
		if (!(tg & (uint32_t)1 << g)) {
			tg |= (uint32_t)1 << g;
			tm[g] = 0;
		}
		tm[g] |= gbit(x);
	}
	for (; tg != 0; tg &= tg - 1) {
		g = (size_t)__builtin_ctz(tg);
		for (tb = tm[g]; tb != 0; tb &= tb - 1)
			ev[nd++] = (uint16_t)(g << PT__GROUP_BITS |
			    (size_t)__builtin_ctzll(tb));
	}
	if (nd > ADD_LOOKUPS_MAX) {
		/* Many: one walk over the buckets takes them in order. */
		for (j = 0; j < n; j++) {
			if ((k = cnt[b[j].index]) == 0)
				continue;
			cnt[b[j].index] = 0;
			b[j].count += k;
			if (dl != NULL) {
				dl[dn].idx = b[j].index;
				dl[dn].pos = (uint32_t)j;
				dl[dn++].cnt = k;
			}
		}
		for (i = 0; i < nd; i++)
			if (cnt[ev[i]] != 0)
				ev[nn++] = ev[i];	/* new: kept in cnt */
		nd = 0;		/* no lookups */
	}
	for (i = 0; i < nd; i++) {
		x = ev[i];
		if ((at = gpos_find(so, x)) < 0) {
			ev[nn++] = (uint16_t)x;	/* new: kept in cnt */
			continue;
		}
		j = (size_t)at;
		k = cnt[x];
		cnt[x] = 0;
		b[j].count += k;
		if (dl != NULL) {
			dl[dn].idx = x;
			dl[dn].pos = (uint32_t)j;
			dl[dn++].cnt = k;
		}
	}
	*dnp = (uint32_t)dn;
	if (nn == 0)
		return 0;
	/*
	 * The new buckets (ev, in order) inserted in place, the array grown
	 * by half when full (so a histogram filling up costs no allocation
	 * per refresh): merged from the back, which moves only the buckets
	 * after the first new one.  Then the changes are listed in order of
	 * index with their new places (into c->dsc, then dl), and the group
	 * starts moved on.
	 */
	nd = nn;
	if (n + nd > so->cap) {
		size_t cap = so->cap + so->cap / 2;

		if (cap < n + nd)
			cap = n + nd;
		if (cap < 8)
			cap = 8;
		if ((nb = reallocarray(b, cap, sizeof *nb)) == NULL) {
			for (i = 0; i < nd; i++)
				cnt[ev[i]] = 0;
			return PT_ENOMEM;
		}
		op->buckets = b = nb;
		so->cap = (uint32_t)cap;
	}
	/* Where each new bucket goes: the old ones below it, plus the new
	 * ones before it (from the old layout's groups). */
	for (j = 0; j < nd; j++) {
		dsc[j].idx = ev[j];
		dsc[j].cnt = cnt[ev[j]];
		dsc[j].pos = (uint32_t)(gpos_rank(so, ev[j]) + j);
	}
	for (i = n, j = nd; j > 0; j--) {
		o = dsc[j - 1].pos;	/* the old ones above it move up */
		while (i > o - (j - 1)) {
			i--;
			b[i + j] = b[i];
		}
		memset(&b[o], 0, sizeof b[o]);
		b[o].index = ev[j - 1];
		b[o].count = cnt[ev[j - 1]];
		cnt[ev[j - 1]] = 0;
	}
	/* The changes in order, in dl (room for m >= dn + nd): its own (old
	 * places moved up by the new buckets below them) merged with the new
	 * ones, from the back. */
	if (dl != NULL) {
		for (i = dn, j = nd, md = dn + nd; j > 0; ) {
			if (i > 0 && dl[i - 1].idx > dsc[j - 1].idx) {
				dl[--md] = dl[--i];
				dl[md].pos += (uint32_t)j;
			} else {
				dl[--md] = dsc[--j];
			}
		}
		dn += nd;
	}
	/* Each group starts after the new buckets of the groups below. */
	for (g = 0, j = 0; g <= PT__GROUPS; g++) {
		while (j < nd && (size_t)(ev[j] >> PT__GROUP_BITS) < g)
			j++;
		gpos[g] = (uint16_t)(gpos[g] + j);
	}
	for (j = 0; j < nd; j++)
		so->gbits[ev[j] >> PT__GROUP_BITS] |= gbit(ev[j]);
	if (n == 0 || ev[0] < so->first)
		so->first = ev[0];
	op->n_buckets = n + nd;
	*dnp = (uint32_t)dn;
	return 1;	/* a new layout */
}

/* Makes room in c->dl for m more changes; NULL when there is none. */
static struct pt__bdelta *
dl_room(struct pt__snapcache *c, size_t m)
{
	struct pt__bdelta *nd;
	size_t n;

	if (c->dl == NULL || c->dl_n + m > c->dl_cap) {
		n = (c->dl_n + m) * 2 + 256;
		if ((nd = reallocarray(c->dl, n, sizeof *nd)) == NULL)
			return NULL;
		c->dl = nd;
		c->dl_cap = n;
	}
	return c->dl + c->dl_n;
}

/*
 * Makes the dn changes written at the end of c->dl (dl_room()) the list of
 * op i, from its version now (struct pt__snapop).
 */
static void
dl_done(struct pt__snapcache *c, size_t i, uint32_t dn)
{
	struct pt__snapop *so = &c->op[i];

	so->dgen = c->refreshes;
	so->dfrom = c->ver[i];
	so->doff = (uint32_t)c->dl_n;
	so->dn = dn;
	c->dl_n += dn;
}

/*
 * Lists what a merge of op i of c added to its buckets op to make them
 * fresh's, as a refresh from the journals does (a viewer that shares the
 * op's buckets can then be sent the list, and one that lags can get its
 * own copy of them before it): each bucket's growth, with its place in
 * fresh.  No list (dgen not moved on) for a new op, when a bucket went
 * down or away (a viewer sharing it is sent a FULL snapshot), or grew by
 * 2^32 or more, or without memory.
 */
static void
merge_list(struct pt__snapcache *c, size_t i, const pt_op_stats *op,
    const pt_op_stats *fresh)
{
	struct pt__snapop *so = &c->op[i];
	struct pt__bdelta *dl;
	size_t j, k = 0;
	uint32_t dn = 0;
	uint64_t old, d;

	if (c->ver[i] == 0 || (dl = dl_room(c, fresh->n_buckets)) == NULL)
		return;
	for (j = 0; j < fresh->n_buckets; j++) {
		const pt_bucket *b = &fresh->buckets[j];

		old = 0;
		if (k < op->n_buckets && op->buckets[k].index < b->index)
			return;		/* a bucket went away */
		if (k < op->n_buckets && op->buckets[k].index == b->index)
			old = op->buckets[k++].count;
		if (b->count < old || (d = b->count - old) > UINT32_MAX)
			return;
		if (d == 0)
			continue;
		dl[dn].idx = b->index;
		dl[dn].cnt = (uint32_t)d;
		dl[dn++].pos = (uint32_t)j;
	}
	if (k < op->n_buckets)
		return;
	so->dfirst = so->first;
	dl_done(c, i, dn);
}

/*
 * What op_gather() read of one operation's slots for op_apply(): its new
 * events are c->jbuf[ev0 .. ev0 + m - 1], its slots' threads and new jn
 * c->pend_thr and c->pend_jn[p0 .. p0 + np - 1].
 */
struct gather {
	int		rc;
	uint32_t	ev0, m;
	uint32_t	p0, np;
	uint64_t	ticks, mn, mx;
};

/*
 * Reads the journals of operation i's slots into g, its events appended
 * to c->jbuf at *ne and its slots to c->pend_* at *np (both moved on).
 * Returns REPLAY_SAME, REPLAY_MERGE (a slot recorded too many events or a
 * batch, or min/max need the buckets) or REPLAY_DONE: op_apply() may
 * update it.  Starts loading the buckets the events fall in.
 */
static int
op_gather(struct pt__snapcache *c, size_t i, uint32_t id, uint64_t ep,
    struct gather *g, uint32_t *ne, uint32_t *npp)
{
	const pt_op_stats *op = &c->cur->ops[i];
	const struct pt__snapop *so = &c->op[i];
	struct pt__op_acc *r, *b;
	ssize_t at;
	struct pt__op_slot *s;
	struct pt__thread *t;
	uint64_t a, jn, tot, ticks, mn, mx, e;
	uint32_t m = 0, np = 0;
	uint16_t v, *ev = c->jbuf + *ne;

	/* An exited thread's slot folded into the retired totals: its
	 * events moved where no journal tells which. */
	if (retired_moves(r = pt__retired_op(id)) != so->rmoves)
		return REPLAY_MERGE;
	ticks = r != NULL ? r->total : 0;
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
			/* The bucket's group: where op_add_events() looks
			 * (unless it walks them all). */
			if (m < ADD_LOOKUPS_MAX && op->buckets != NULL &&
			    (at = gpos_find(so, v)) >= 0)
				__builtin_prefetch(&op->buckets[at], 1, 0);
			ev[m++] = v;
		}
		if (PT__LOAD(&s->jn) - a >= PT__JOURNAL)
			return REPLAY_MERGE;
		if (PT__LOAD(&s->mm_epoch) == ep + 1) {
			if (PT__LOAD(&s->min) < mn)
				mn = PT__LOAD(&s->min);
			if (PT__LOAD(&s->max) > mx)
				mx = PT__LOAD(&s->max);
		}
		c->pend_thr[*npp + np] = t;
		c->pend_jn[*npp + np++] = jn;
	}
	if ((b = pt__baseline_op(id)) != NULL)
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
	g->ev0 = *ne;
	g->m = m;
	g->p0 = *npp;
	g->np = np;
	g->ticks = ticks;
	g->mn = mn;
	g->mx = mx;
	*ne += m;
	*npp += np;
	return REPLAY_DONE;
}

/*
 * Updates operation i of c with what op_gather() read.  Returns
 * REPLAY_DONE or PT_ENOMEM (the operation must be merged again).
 */
static int
op_apply(struct pt__snapcache *c, size_t i, uint32_t id, double tick_ns,
    const struct gather *g)
{
	pt_op_stats *op = &c->cur->ops[i];
	struct pt__bdelta *dl;
	uint32_t dn = 0, k;
	int rc = 0;

	c->op[i].dfirst = c->op[i].first;
	dl = dl_room(c, g->m);
	if (g->m > 0 && (rc = op_add_events(c, op, &c->op[i],
	    c->jbuf + g->ev0, g->m, dl, &dn)) < 0)
		return rc;
	/* What the encoder may take instead of comparing buckets. */
	if (dl != NULL)
		dl_done(c, i, dn);
	for (k = 0; k < g->np; k++)
		c->pend_thr[g->p0 + k]->rd_seen[id] = c->pend_jn[g->p0 + k];
	c->op[i].ticks = g->ticks;
	op->count += g->m;
	op->total_ns = op->count == 0 ? 0 :
	    (uint64_t)((double)g->ticks * tick_ns + 0.5);
	c->op[i].min = g->mn;
	c->op[i].max = g->mx;
	op->min_ns = (uint64_t)((double)g->mn * tick_ns + 0.5);
	op->max_ns = (uint64_t)((double)g->mx * tick_ns + 0.5);
	return REPLAY_DONE;
}

/* How far ahead the refresh loads slots, in operations. */
#define PREFETCH_OPS	3

/* Starts loading the two lines (figures, journal) of op id's slots. */
static void
prefetch_slots(uint32_t id)
{
	struct pt__op_slot *s;
	struct pt__thread *t;

	LIST_FOREACH(t, &pt__threads, entry) {
		if ((s = pt__slot_peek(t, id)) != NULL) {
			__builtin_prefetch(s, 0, 0);
			__builtin_prefetch(s->jr, 0, 0);
		}
	}
}

/*
 * The process's figures in c->cur: the heap as pt__memory_heap_paced()
 * has it, the name kept from an earlier refresh while it is recent
 * (core.h), the rest read now.
 */
static void
snapcache_process(struct pt__snapcache *c)
{
	pt_snapshot *s = c->cur;
	uint64_t now = pt__mono_ns();

	s->pid = (int32_t)getpid();
	s->time_ns = pt__real_ns();
	if (c->name_ns == 0 || now - c->name_ns >= PT__NAME_EVERY_NS) {
		pt__process_name(s->process, sizeof s->process);
		c->name_ns = now;
	}
	(void)pt__memory_rss(&s->memory);
	s->memory.heap_bytes = pt__memory_heap_paced(now);
}

/*
 * Brings the agent's snapshot up to date.  Operations are updated from the
 * journals when they can be (see struct pt__snapcache); those an exited
 * thread had events of are merged again (their retired totals moved), and
 * everything is when the epoch changed (a reset: new baselines), the tick
 * changed (the clock's calibration, in the first seconds), a listed thread
 * was last read by another cache, a retirement lost events for want of
 * memory, or the last refresh failed.  A thread that started since is
 * read from its first event: its record's rd_seen are zero (rd_owner 0).
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
	uint64_t ep;
	struct gather g[REFRESH_BLOCK];
	double tick_ns;
	size_t i, i0, k, n_thr = 0;
	int all, rc = 0;

	pt__init();
	tick_ns = pt__clock_tick_ns();
	pt__lock_threads_long();
	if (c->id == 0)
		c->id = ++last_id;
	n_ops = pt__site_count(PT_KIND_OP);
	n_ctr = pt__site_count(PT_KIND_COUNTER);
	/* Threads another cache read last: their rd_seen are not ours. */
	all = c->failed;
	LIST_FOREACH(t, &pt__threads, entry) {
		n_thr++;
		all |= t->rd_owner != c->id && t->rd_owner != 0;
	}
	if ((rc = snapcache_grow(c, n_ops, n_ctr, n_thr)) != 0)
		goto out;
	s = c->cur;
	ep = pt__g.epoch;
	all |= c->gen == 0 || ep != c->epoch || tick_ns != c->tick_ns ||
	    pt__retired_lost != c->retired_lost;
	s->reset_epoch = ep;
	s->tick_ns = tick_ns;
	c->replayed = c->merged = 0;
	c->refreshes++;
	c->dl_n = 0;
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
	/*
	 * In blocks: the journals of a block's operations are read first
	 * (which starts loading the buckets their events fall in), then
	 * the operations are updated, their buckets loaded meanwhile.
	 */
	for (i0 = 0; i0 < s->n_ops; i0 += REFRESH_BLOCK) {
		size_t nb = s->n_ops - i0 < REFRESH_BLOCK ? s->n_ops - i0 :
		    REFRESH_BLOCK;
		uint32_t ne = 0, np = 0;

		for (k = 0; k < nb; k++) {
			i = i0 + k;
			g[k].rc = REPLAY_MERGE;
			if (all || c->ver[i] == 0)
				continue;
			/* The slots are likely being written on other CPUs:
			 * start loading those of a later operation. */
			if (i + PREFETCH_OPS < s->n_ops)
				prefetch_slots(s->ops[i].id + PREFETCH_OPS);
			g[k].rc = op_gather(c, i, s->ops[i].id, ep, &g[k], &ne,
			    &np);
		}
		for (k = 0; k < nb; k++) {
			pt_op_stats *op = &s->ops[i0 + k];

			i = i0 + k;
			id = op->id;
			c->op[i].dgen = 0;	/* a list only if replayed */
			if (g[k].rc == REPLAY_SAME)
				continue;
			if (g[k].rc == REPLAY_DONE) {
				if ((rc = op_apply(c, i, id, tick_ns,
				    &g[k])) != REPLAY_DONE) {
					c->ver[i] = 0;	/* half updated */
					goto out;
				}
				c->ver[i] = ++c->gen;
				c->replayed++;
				continue;
			}
			pt__op_cumulative(id, &scratch, ep, c);
			if ((b = pt__baseline_op(id)) != NULL)
				pt__acc_sub(&scratch, b);
			snapop_set(c, i, &scratch, ep);
			c->op[i].rmoves = retired_moves(pt__retired_op(id));
			memset(&fresh, 0, sizeof fresh);
			fresh.name = op->name;
			fresh.id = id;
			if ((rc = pt__op_fill(&fresh, &scratch, tick_ns, ep,
			    0)) != 0) {
				c->ver[i] = 0;	/* its rd_seen moved on */
				goto out;
			}
			merge_list(c, i, op, &fresh);
			free(op->buckets);
			*op = fresh;
			c->op[i].cap = (uint32_t)op->n_buckets;
			c->op[i].first = op->n_buckets > 0 ?
			    (uint16_t)op->buckets[0].index : 0;
			gpos_build(&c->op[i], op);
			c->ver[i] = ++c->gen;
			c->merged++;
		}
	}
	c->epoch = ep;
	c->tick_ns = tick_ns;
	c->retired_lost = pt__retired_lost;
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
		s->counters[i].value = pt__ctr_cumulative(id) -
		    pt__baseline_ctr(id);
	}
	pt__snapshot_times(s);
out:
	/* The threads' rd_seen are this cache's now (even after a failure,
	 * after which the next refresh merges everything). */
	LIST_FOREACH(t, &pt__threads, entry)
		t->rd_owner = c->id;
	c->failed = rc != 0;
	pt__unlock_threads();
	if (c->cur != NULL)
		snapcache_process(c);
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
	free(c->dsc);
	free(c->pend_thr);
	free(c->pend_jn);
	free(c->dl);
	memset(c, 0, sizeof *c);
}

