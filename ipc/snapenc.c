/*
 * snapenc.c - the snapshot encoder: what changed since the viewer's last
 * snapshot, the header, names, operations and counters; each operation's
 * bucket changes are written by bucketenc.c (the format: codec.h).
 */
#include "codec.h"

int pt__wire_keep_oom;

/* ------------------------------------------------------------------------ */
/* Snapshot encoder                                                          */
/* ------------------------------------------------------------------------ */

/*
 * Checks the shape the encoder relies on; 0 or PT_EINVAL.  The buckets of
 * an operation are checked by op_check(), only for those it sends.
 */
static int
snapshot_check(const struct pt__wire_tx *tx, const pt_snapshot *s)
{
	size_t i;

	if (s->n_ops > PT_SITES_MAX || s->n_counters > PT_SITES_MAX ||
	    s->n_ops < tx->op_names || s->n_counters < tx->ctr_names ||
	    (s->n_ops > 0 && s->ops == NULL) ||
	    (s->n_counters > 0 && s->counters == NULL) ||
	    !isfinite(s->tick_ns) || !(s->tick_ns > 0))
		return PT_EINVAL;
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *o = &s->ops[i];

		if (o->id != i + 1 || o->name == NULL ||
		    (o->n_buckets > 0 && o->buckets == NULL))
			return PT_EINVAL;
		if (i >= tx->op_names && pt__name_check(o->name) != 0)
			return PT_EINVAL;
	}
	for (i = 0; i < s->n_counters; i++) {
		const pt_counter_stats *c = &s->counters[i];

		if (c->id != i + 1 || c->name == NULL)
			return PT_EINVAL;
		if (i >= tx->ctr_names && pt__name_check(c->name) != 0)
			return PT_EINVAL;
	}
	return 0;
}

/* Checks that the buckets of o are in range and ascending. */
static int
op_check(const pt_op_stats *o)
{
	size_t j;

	for (j = 0; j < o->n_buckets; j++) {
		if (o->buckets[j].index >= PT_HIST_BUCKETS ||
		    (j > 0 && o->buckets[j].index <= o->buckets[j - 1].index))
			return PT_EINVAL;
	}
	return 0;
}

/*
 * Lists the buckets of o that differ from those of base (NULL: all zero)
 * into ch (room for PT_HIST_BUCKETS); returns how many.
 */
static size_t
bucket_changes(const pt_op_stats *o, const pt_op_stats *base,
    struct bchange *ch)
{
	size_t i = 0, j = 0, n = 0, nb = base != NULL ? base->n_buckets : 0;
	uint32_t idx;
	uint64_t a, b;

	while (i < o->n_buckets || j < nb) {
		if (j >= nb || (i < o->n_buckets &&
		    o->buckets[i].index < base->buckets[j].index)) {
			idx = o->buckets[i].index;
			a = o->buckets[i++].count;
			b = 0;
		} else if (i >= o->n_buckets ||
		    base->buckets[j].index < o->buckets[i].index) {
			idx = base->buckets[j].index;
			a = 0;
			b = base->buckets[j++].count;
		} else {
			idx = o->buckets[i].index;
			a = o->buckets[i++].count;
			b = base->buckets[j++].count;
		}
		if (a == b)
			continue;
		ch[n].idx = idx;
		ch[n].neg = a < b;
		ch[n].mag = a < b ? b - a : a - b;
		n++;
	}
	return n;
}

/*
 * Shared operations.  A viewer fed from a cache c has, for most of its
 * operations, exactly the buckets the cache had at the version it was
 * last sent (tx->sent_ver): tx->shared[i] says so, and its copy of the
 * operation then keeps the figures but no buckets.  The cache's last
 * refresh lists what it added to each operation it updated from the
 * journals (struct pt__snapop: dl, from version dfrom), so the buckets of
 * a viewer one refresh behind are the cache's minus that list.  A viewer
 * further behind needs its own copy of an operation before a second
 * refresh changes it: pt__wire_tx_keep() makes it, after every refresh
 * the viewer is not sent.  A shared operation whose state is gone all the
 * same (a refresh the viewer was not kept through, a merge, a failed
 * copy) makes the next snapshot FULL.
 */

/* Whether the cache c's last refresh listed how op i came from version v. */
static int
listed_from(const struct pt__snapcache *c, size_t i, uint64_t v)
{
	return c->op[i].dgen == c->refreshes && c->op[i].dfrom == v;
}

/* Whether tx shares operations' buckets with a cache (tx->share_id). */
static int
sharing(const struct pt__wire_tx *tx)
{
	return tx->prev != NULL && tx->shared != NULL && tx->share_id != 0;
}

/* Whether c is still the cache tx shares with, holding all its ops. */
static int
share_holds(const struct pt__wire_tx *tx, const struct pt__snapcache *c)
{
	return c != NULL && c->cur != NULL && c->id == tx->share_id &&
	    c->cur->n_ops >= tx->prev->n_ops;
}

/* Whether op i, which tx shares with c, changed without a list from the
 * version tx has: its buckets at that version are gone. */
static int
share_gone(const struct pt__wire_tx *tx, const struct pt__snapcache *c,
    size_t i)
{
	return tx->sent_ver[i] != c->ver[i] &&
	    !listed_from(c, i, tx->sent_ver[i]);
}

/* Whether an operation tx shares with cache c is gone (FULL needed). */
static int
shared_lost(const struct pt__wire_tx *tx, const struct pt__snapcache *c)
{
	size_t i;

	if (!sharing(tx))
		return 0;
	if (tx->lost || !share_holds(tx, c))
		return 1;
	for (i = 0; i < tx->prev->n_ops; i++)
		if (tx->shared[i] && share_gone(tx, c, i))
			return 1;
	return 0;
}

/*
 * The buckets op i of cache c had before its last refresh added the list
 * of its changes: its buckets now minus the list, without those the list
 * brought (an empty one is new: c's buckets are all non-empty).  A new
 * array, or NULL (*np 0) when there are none or no memory (*oom set).
 */
static pt_bucket *
buckets_before(const struct pt__snapcache *c, size_t i, size_t *np, int *oom)
{
	const pt_op_stats *o = &c->cur->ops[i];
	const struct pt__bdelta *d = c->dl + c->op[i].doff;
	uint32_t k = 0, dn = c->op[i].dn;
	pt_bucket *b;
	uint64_t cnt;
	size_t j, n = 0;

	*np = 0;
	*oom = 0;
	if (o->n_buckets == 0)
		return NULL;
	if (pt__wire_keep_oom ||
	    (b = reallocarray(NULL, o->n_buckets, sizeof *b)) == NULL) {
		*oom = 1;
		return NULL;
	}
	for (j = 0; j < o->n_buckets; j++) {
		cnt = o->buckets[j].count;
		if (k < dn && d[k].pos == j)
			cnt -= d[k++].cnt;
		if (cnt == 0)
			continue;
		b[n] = o->buckets[j];
		b[n++].count = cnt;
	}
	if (n == 0) {
		free(b);
		return NULL;
	}
	*np = n;
	return b;
}

int
pt__wire_tx_keep(struct pt__wire_tx *tx, const struct pt__snapcache *c)
{
	pt_snapshot *p = tx->prev;
	pt_bucket *b;
	size_t i, n;
	int oom;

	if (!sharing(tx) || tx->lost)
		return 0;
	if (!share_holds(tx, c)) {
		tx->lost = 1;
		return 0;
	}
	for (i = 0; i < p->n_ops; i++) {
		if (!tx->shared[i] || tx->sent_ver[i] == c->ver[i])
			continue;
		if (share_gone(tx, c, i)) {
			tx->lost = 1;
			return 0;
		}
		b = buckets_before(c, i, &n, &oom);
		if (oom) {
			tx->lost = 1;
			return PT_ENOMEM;
		}
		p->ops[i].buckets = b;
		p->ops[i].n_buckets = n;
		tx->shared[i] = 0;
	}
	return 0;
}

/* The changes of op i listed by the cache c, into ch; returns how many. */
static size_t
list_changes(const struct pt__snapcache *c, size_t i, struct bchange *ch)
{
	const struct pt__bdelta *d = c->dl + c->op[i].doff;
	size_t k, n = c->op[i].dn;

	for (k = 0; k < n; k++) {
		ch[k].idx = d[k].idx;
		ch[k].neg = 0;
		ch[k].mag = d[k].cnt;
	}
	return n;
}

/* Tells whether the sender must start over from zero (FULL). */
static int
need_full(const struct pt__wire_tx *tx, const pt_snapshot *s)
{
	const pt_snapshot *p = tx->prev;
	size_t i;

	if (p == NULL || p->reset_epoch != s->reset_epoch)
		return 1;
	for (i = 0; i < s->n_ops && i < p->n_ops; i++)
		if (s->ops[i].count < p->ops[i].count)
			return 1;	/* a count delta cannot be negative */
	return 0;
}

static int
op_changed(const pt_op_stats *o, const pt_op_stats *b, size_t nch)
{
	if (nch > 0)
		return 1;
	if (b == NULL)
		return o->count != 0 || o->total_ns != 0 || o->min_ns != 0 ||
		    o->max_ns != 0;
	return o->count != b->count || o->total_ns != b->total_ns ||
	    o->min_ns != b->min_ns || o->max_ns != b->max_ns;
}

/* How the encoder takes an operation's changes (struct enc_prep). */
#define FROM_BUCKETS	0	/* compares its buckets with the copy's */
#define FROM_LIST	1	/* the cache's list, from the viewer's copy */
#define FROM_LIST_SHARED 2	/* the list, from the cache's buckets before
				   it (the viewer shares them) */

/*
 * What the encoder prepares before writing a frame, so that once the frame
 * is written nothing can fail: copies of the operations the viewer gets
 * (which become tx->prev's) when it is not fed from a cache, and names of
 * new operations and counters.
 */
struct enc_prep {
	pt_bucket	**buckets;	/* by op index; for sent ops */
	uint8_t		 *send;		/* by op index: 1 if it may have changed */
	uint8_t		 *list;		/* by op index: FROM_* */
	char		**op_names;	/* by op index, for new ops */
	char		**ctr_names;	/* by counter index, for new counters */
};

static void
prep_free(struct enc_prep *p, size_t n_ops, size_t n_ctr)
{
	size_t i;

	if (p->buckets != NULL)
		for (i = 0; i < n_ops; i++)
			free(p->buckets[i]);
	if (p->op_names != NULL)
		for (i = 0; i < n_ops; i++)
			free(p->op_names[i]);
	if (p->ctr_names != NULL)
		for (i = 0; i < n_ctr; i++)
			free(p->ctr_names[i]);
	free(p->buckets);
	free(p->send);
	free(p->list);
	free(p->op_names);
	free(p->ctr_names);
}

/* Grows a by-op array of tx to n + 1 elements of size sz (new ones 0). */
static int
tx_grow(void **a, size_t have, size_t n, size_t sz)
{
	uint8_t *na;

	if ((na = reallocarray(*a, n + 1, sz)) == NULL)
		return PT_ENOMEM;
	if (n + 1 > have)
		memset(na + have * sz, 0, (n + 1 - have) * sz);
	*a = na;
	return 0;
}

/*
 * Decides which operations to look at (all of them without versions, after
 * a FULL or when new; else those whose version moved) and how, checks them
 * and copies them (only without a cache: a viewer fed from one shares its
 * buckets); makes room in tx->prev.  0, PT_EINVAL or PT_ENOMEM.
 */
static int
prep_make(struct pt__wire_tx *tx, const pt_snapshot *s, const uint64_t *ver,
    const struct pt__snapcache *c, int full, struct enc_prep *p)
{
	pt_snapshot *prev = tx->prev;
	size_t i, n_prev = prev != NULL ? prev->n_ops : 0, have;
	pt_counter_stats *nc;
	pt_op_stats *no;
	int rc;

	memset(p, 0, sizeof *p);
	if (s->n_ops > 0 &&
	    ((p->buckets = calloc(s->n_ops, sizeof *p->buckets)) == NULL ||
	    (p->send = calloc(s->n_ops, 1)) == NULL ||
	    (p->list = calloc(s->n_ops, 1)) == NULL ||
	    (p->op_names = calloc(s->n_ops, sizeof *p->op_names)) == NULL))
		return PT_ENOMEM;
	if (s->n_counters > 0 && (p->ctr_names = calloc(s->n_counters,
	    sizeof *p->ctr_names)) == NULL)
		return PT_ENOMEM;
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *o = &s->ops[i];

		p->send[i] = ver == NULL || full || i >= n_prev ||
		    tx->sent_ver == NULL || tx->sent_ver[i] != ver[i];
		if (!p->send[i])
			continue;
		if (!full && i < n_prev && c != NULL &&
		    listed_from(c, i, tx->sent_ver[i]))
			p->list[i] = tx->shared != NULL && tx->shared[i] ?
			    FROM_LIST_SHARED : FROM_LIST;
		if (c == NULL) {
			if ((rc = op_check(o)) != 0)
				return rc;
			if (o->n_buckets > 0 && (p->buckets[i] =
			    buckets_dup(o->buckets, o->n_buckets)) == NULL)
				return PT_ENOMEM;
		} else if (p->list[i] == FROM_BUCKETS &&
		    (rc = op_check(o)) != 0)
			return rc;
		if (i >= n_prev && (p->op_names[i] = strdup(o->name)) == NULL)
			return PT_ENOMEM;
	}
	for (i = prev != NULL ? prev->n_counters : 0; i < s->n_counters; i++)
		if ((p->ctr_names[i] = strdup(s->counters[i].name)) == NULL)
			return PT_ENOMEM;
	if (prev == NULL && (prev = tx->prev = pt__snapshot_alloc(0, 0)) == NULL)
		return PT_ENOMEM;
	if (s->n_ops > n_prev) {
		if ((no = reallocarray(prev->ops, s->n_ops, sizeof *no)) == NULL)
			return PT_ENOMEM;
		prev->ops = no;
	}
	have = tx->sent_ver != NULL ? n_prev : 0;
	if ((s->n_ops > n_prev || tx->sent_ver == NULL) &&
	    (rc = tx_grow((void **)&tx->sent_ver, have, s->n_ops,
	    sizeof *tx->sent_ver)) != 0)
		return rc;
	have = tx->shared != NULL ? n_prev : 0;
	if ((s->n_ops > n_prev || tx->shared == NULL) &&
	    (rc = tx_grow((void **)&tx->shared, have, s->n_ops, 1)) != 0)
		return rc;
	if (s->n_counters > prev->n_counters) {
		if ((nc = reallocarray(prev->counters, s->n_counters,
		    sizeof *nc)) == NULL)
			return PT_ENOMEM;
		prev->counters = nc;
	}
	return 0;
}

/*
 * Makes tx->prev what the viewer now has: s, with the copies of p, or
 * sharing the buckets of the cache c, all of whose operations the viewer
 * now has as they are (those not sent too: their versions are the same).
 */
static void
prep_commit(struct pt__wire_tx *tx, const pt_snapshot *s, const uint64_t *ver,
    const struct pt__snapcache *c, struct enc_prep *p)
{
	pt_snapshot *prev = tx->prev;
	size_t i, n_prev = prev->n_ops;
	const char *name;

	pt__snapshot_copy_header(prev, s);
	for (i = 0; i < s->n_ops; i++) {
		pt_op_stats *d = &prev->ops[i];

		if (p->send[i]) {
			if (i < n_prev) {
				name = d->name;
				free(d->buckets);
			} else {
				name = p->op_names[i];
				p->op_names[i] = NULL;
			}
			*d = s->ops[i];
			d->name = name;
			/* Its copy; none with a cache (shared). */
			d->buckets = p->buckets[i];
			p->buckets[i] = NULL;
			if (c != NULL)
				d->n_buckets = 0;
			tx->sent_ver[i] = ver != NULL ? ver[i] : 0;
		} else if (c != NULL) {
			/* The same version: the cache's buckets now. */
			free(d->buckets);
			d->buckets = NULL;
			d->n_buckets = 0;
		}
		tx->shared[i] = c != NULL;
	}
	prev->n_ops = s->n_ops;
	tx->share_id = c != NULL ? c->id : 0;
	tx->lost = 0;
	for (i = 0; i < s->n_counters; i++) {
		if (i >= prev->n_counters) {
			prev->counters[i].name = p->ctr_names[i];
			p->ctr_names[i] = NULL;
		}
		prev->counters[i].id = s->counters[i].id;
		prev->counters[i].value = s->counters[i].value;
	}
	prev->n_counters = s->n_counters;
}

static int	encode(struct pt__wire_tx *, const pt_snapshot *,
		    const uint64_t *, const struct pt__snapcache *,
		    struct pt__buf *);

int
pt__wire_encode_snapshot(struct pt__wire_tx *tx, const pt_snapshot *s,
    struct pt__buf *out)
{
	return encode(tx, s, NULL, NULL, out);
}

int
pt__wire_encode_snapshot_ver(struct pt__wire_tx *tx, const pt_snapshot *s,
    const uint64_t *ver, struct pt__buf *out)
{
	return encode(tx, s, ver, NULL, out);
}

int
pt__wire_encode_snapshot_cache(struct pt__wire_tx *tx,
    const struct pt__snapcache *c, struct pt__buf *out)
{
	if (c == NULL || c->cur == NULL)
		return PT_EINVAL;
	return encode(tx, c->cur, c->ver, c, out);
}

/*
 * Encodes s (with versions ver, or NULL; with the change lists of cache c,
 * whose snapshot s is, or NULL).
 */
static int
encode(struct pt__wire_tx *tx, const pt_snapshot *s, const uint64_t *ver,
    const struct pt__snapcache *c, struct pt__buf *out)
{
	struct escratch *sc = NULL;
	struct bchange *ch;
	struct enc_prep prep;
	struct pt__enc e;
	size_t start, i, j, nch, nchanged;
	struct guess g;
	uint32_t prev_id;
	int full, tick, rc;

	if (tx == NULL || s == NULL || out == NULL)
		return PT_EINVAL;
	if ((rc = snapshot_check(tx, s)) != 0)
		return rc;
	full = need_full(tx, s) || shared_lost(tx, c);
	if ((rc = prep_make(tx, s, ver, c, full, &prep)) != 0 ||
	    (tx->scratch == NULL &&
	    (tx->scratch = malloc(sizeof *sc)) == NULL)) {
		prep_free(&prep, s->n_ops, s->n_counters);
		return rc != 0 ? rc : PT_ENOMEM;
	}
	sc = tx->scratch;
	ch = sc->ch;

	enc_init(&e, out);
	start = pt__frame_begin(&e, PT__MSG_SNAPSHOT);
	pt__put_u64(&e, tx->seq + 1);
	tick = full || tx->prev->tick_ns != s->tick_ns;
	pt__put_u64(&e, (full ? SNAP_FULL : 0) | (tick ? SNAP_TICK : 0));
	if (full) {
		pt__put_u64(&e, s->reset_epoch);
		pt__put_u64(&e, s->time_ns);
		pt__put_u64(&e, s->uptime_ns);
		pt__put_u64(&e, s->since_reset_ns);
		pt__put_u64(&e, s->memory.rss_bytes);
		pt__put_u64(&e, s->memory.peak_rss_bytes);
		pt__put_u64(&e, s->memory.heap_bytes);
	} else {
		const pt_snapshot *p = tx->prev;
		uint64_t dt = s->time_ns - p->time_ns;
		uint64_t du = s->uptime_ns - p->uptime_ns;

		pt__put_i64(&e, (int64_t)dt);
		pt__put_i64(&e, (int64_t)(du - dt));
		pt__put_i64(&e, (int64_t)(s->since_reset_ns -
		    p->since_reset_ns - du));
		pt__put_i64(&e, (int64_t)(s->memory.rss_bytes -
		    p->memory.rss_bytes));
		pt__put_i64(&e, (int64_t)(s->memory.peak_rss_bytes -
		    p->memory.peak_rss_bytes));
		pt__put_i64(&e, (int64_t)(s->memory.heap_bytes -
		    p->memory.heap_bytes));
	}
	if (tick)
		pt__put_f64(&e, s->tick_ns);

	pt__put_u64(&e, s->n_ops - tx->op_names);
	for (i = tx->op_names; i < s->n_ops; i++)
		pt__put_str(&e, s->ops[i].name);
	pt__put_u64(&e, s->n_counters - tx->ctr_names);
	for (i = tx->ctr_names; i < s->n_counters; i++)
		pt__put_str(&e, s->counters[i].name);

	/* Operations: count them first, then write them. */
	tx->st_list = tx->st_shared = 0;
	nchanged = 0;
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *b = !full && i < tx->prev->n_ops ?
		    &tx->prev->ops[i] : NULL;

		if (!prep.send[i])
			continue;
		/* Figures that moved say enough; else look at the buckets. */
		nch = op_changed(&s->ops[i], b, 0) ? 0 : prep.list[i] ?
		    c->op[i].dn : bucket_changes(&s->ops[i], b, ch);
		if (nch > 0 || op_changed(&s->ops[i], b, 0))
			nchanged++;
		else
			prep.send[i] = 2;	/* unchanged after all */
	}
	pt__put_u64(&e, nchanged);
	prev_id = 0;
	for (i = 0; i < s->n_ops && e.err == 0; i++) {
		const pt_op_stats *o = &s->ops[i];
		const pt_op_stats *b = !full && i < tx->prev->n_ops ?
		    &tx->prev->ops[i] : NULL;
		uint64_t dcount, dmin, dmax;

		if (prep.send[i] != 1)
			continue;
		nch = prep.list[i] ? list_changes(c, i, ch) :
		    bucket_changes(o, b, ch);
		dcount = o->count - (b != NULL ? b->count : 0);
		memset(&g, 0, sizeof g);
		for (j = 0; j < nch; j++)
			guess_add(&g, ch[j].idx, ch[j].neg ?
			    (int64_t)(0 - ch[j].mag) : (int64_t)ch[j].mag);
		dmin = o->min_ns - (b != NULL ? b->min_ns : 0);
		dmax = o->max_ns - (b != NULL ? b->max_ns : 0);
		pt__put_u64(&e, (uint64_t)(o->id - prev_id) << 2 |
		    (dmin != 0) << 1 | (dmax != 0));
		pt__put_u64(&e, dcount);
		pt__put_i64(&e, (int64_t)(o->total_ns -
		    (b != NULL ? b->total_ns : 0) - guess_ns(&g, s->tick_ns)));
		if (dmin != 0)
			pt__put_i64(&e, (int64_t)dmin);
		if (dmax != 0)
			pt__put_i64(&e, (int64_t)dmax);
		tx->st_list += prep.list[i] != FROM_BUCKETS;
		tx->st_shared += prep.list[i] == FROM_LIST_SHARED;
		/* Shared: the viewer has the cache's buckets before the list
		 * (those now, minus the list), whose first the cache knows. */
		if (prep.list[i] == FROM_LIST_SHARED)
			rc = pt__put_buckets(&e, ch, nch, dcount, o, 1,
			    c->op[i].dfirst, sc);
		else
			rc = pt__put_buckets(&e, ch, nch, dcount, b, 0,
			    UINT32_MAX, sc);
		if (rc != 0 && e.err == 0)
			e.err = rc;
		prev_id = o->id;
	}

	/* Counters. */
	nchanged = 0;
	for (i = 0; i < s->n_counters; i++) {
		int64_t base = !full && i < tx->prev->n_counters ?
		    tx->prev->counters[i].value : 0;

		nchanged += s->counters[i].value != base;
	}
	pt__put_u64(&e, nchanged);
	prev_id = 0;
	for (i = 0; i < s->n_counters; i++) {
		const pt_counter_stats *c = &s->counters[i];
		int64_t base = !full && i < tx->prev->n_counters ?
		    tx->prev->counters[i].value : 0;

		if (c->value == base)
			continue;
		pt__put_u64(&e, c->id - prev_id);
		pt__put_i64(&e, (int64_t)((uint64_t)c->value - (uint64_t)base));
		prev_id = c->id;
	}
	rc = pt__frame_end(&e, start);
	if (rc == 0) {
		prep_commit(tx, s, ver, c, &prep);
		tx->seq++;
		tx->op_names = (uint32_t)s->n_ops;
		tx->ctr_names = (uint32_t)s->n_counters;
	}
	prep_free(&prep, s->n_ops, s->n_counters);
	return rc;
}
