/*
 * snapenc.c - the snapshot encoder: what changed since the viewer's last
 * snapshot, the header, names, operations and counters; each operation's
 * bucket changes are written by bucketenc.c (the format: codec.h).
 */
#include "codec.h"

#include <malloc.h>

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

/* How the encoder takes an operation's changes (list_mode()). */
#define LIST_NONE	0	/* compares the buckets with the copy */
#define LIST_COPY	1	/* from the cache's list; copies the buckets */
#define LIST_INPLACE	2	/* from the list, added to the copy in place */
#define LIST_INSERT	3	/* the same, the new buckets inserted */

/*
 * Brings b, a copy of n_old buckets at the layout a change list d (dn
 * changes) starts from, to the list's layout of n buckets: the list's
 * buckets the copy lacks are inserted at their places and the others get
 * their counts added, from the back, so that only the buckets above the
 * lowest new one move.  With apply 0 it only checks that the list and the
 * copy agree, writing nothing.  Returns 1 when they do (b must then have
 * room for n), 0 when not.
 */
static int
insert_walk(pt_bucket *b, size_t n_old, size_t n,
    const struct pt__bdelta *d, size_t dn, int apply)
{
	size_t i = n_old, o = n, k = dn;
	const struct pt__bdelta *x;

	if (n <= n_old || n - n_old > dn)
		return 0;
	/* o - i new buckets are still to come, below o. */
	for (; k > 0 && o > i; k--) {
		x = &d[k - 1];
		while (i > 0 && b[i - 1].index > x->idx) {
			o--;
			i--;
			if (apply)
				b[o] = b[i];
		}
		o--;
		if (i > 0 && b[i - 1].index == x->idx) {
			i--;
			if (apply) {
				b[o] = b[i];
				b[o].count += x->cnt;
			}
		} else if (apply) {
			memset(&b[o], 0, sizeof b[o]);
			b[o].index = x->idx;
			b[o].count = x->cnt;
		}
		if (o != x->pos)
			return 0;
	}
	if (o != i)
		return 0;
	/* Below the lowest new bucket nothing moved. */
	for (; k > 0; k--) {
		x = &d[k - 1];
		if (x->pos >= i || b[x->pos].index != x->idx)
			return 0;
		if (apply)
			b[x->pos].count += x->cnt;
	}
	return 1;
}

/*
 * How to take the changes of op i (LIST_*): from the cache c's list when
 * its last refresh made one and the viewer has the version it starts from
 * (struct pt__snapop); then added to the viewer's copy b in place when that
 * has the cache's layout, or with the new buckets inserted when it has the
 * layout the list starts from, else the buckets are copied.
 */
static int
list_mode(const struct pt__wire_tx *tx, const struct pt__snapcache *c,
    size_t i, const pt_op_stats *b)
{
	const struct pt__snapop *so;
	const struct pt__bdelta *d;
	uint32_t k;

	if (c == NULL || b == NULL || tx->sent_ver == NULL ||
	    tx->sent_lay == NULL)
		return LIST_NONE;
	so = &c->op[i];
	if (so->dgen != c->refreshes || tx->sent_ver[i] != so->dfrom)
		return LIST_NONE;
	d = c->dl + so->doff;
	/* The checks are cheap, and their lines those the commit writes. */
	if (so->lay != 0 && tx->sent_lay[i] == so->lay) {
		for (k = 0; k < so->dn; k++)
			if (d[k].pos >= b->n_buckets ||
			    b->buckets[d[k].pos].index != d[k].idx)
				return LIST_COPY;
		return LIST_INPLACE;
	}
	if (so->dlay != 0 && so->dlay != so->lay &&
	    tx->sent_lay[i] == so->dlay && insert_walk(b->buckets,
	    b->n_buckets, c->cur->ops[i].n_buckets, d, so->dn, 0))
		return LIST_INSERT;
	return LIST_COPY;
}

/* How far ahead, in operations, the encoder's passes load the viewer's
 * copy. */
#define COPY_AHEAD	4
/* Buckets of one operation loaded ahead at most. */
#define COPY_AHEAD_MAX	32

/*
 * Starts loading the viewer's copy of op i where the cache c's list of its
 * changes lands (or its first buckets), for a pass over the operations to
 * come to it in cache: with a thousand busy operations the copies are
 * megabytes, and each pass would otherwise wait for every line in turn.
 */
static void
copy_prefetch(const struct pt__wire_tx *tx, const struct pt__snapcache *c,
    size_t i)
{
	const pt_snapshot *p = tx->prev;
	const struct pt__snapop *so;
	const struct pt__bdelta *d;
	const pt_bucket *b;
	uint32_t k, n;

	if (p == NULL || i >= p->n_ops || (b = p->ops[i].buckets) == NULL)
		return;
	__builtin_prefetch(b, 1, 3);
	if (c == NULL || i >= c->cur->n_ops ||
	    (so = &c->op[i])->dgen != c->refreshes)
		return;
	d = c->dl + so->doff;
	n = so->dn < COPY_AHEAD_MAX ? so->dn : COPY_AHEAD_MAX;
	for (k = 0; k < n; k++)
		if (d[k].pos < p->ops[i].n_buckets)
			__builtin_prefetch(&b[d[k].pos], 1, 3);
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

/*
 * What the encoder prepares before writing a frame, so that once the frame
 * is written nothing can fail: copies of the operations the viewer gets
 * (which become tx->prev's), and names of new counters.
 */
struct enc_prep {
	pt_bucket	**buckets;	/* by op index; for sent ops */
	uint8_t		 *send;		/* by op index: 1 if it may have changed */
	uint8_t		 *list;		/* by op index: list_mode */
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

/*
 * Decides which operations to look at (all of them without versions, after
 * a FULL or when new; else those whose version moved), checks them and
 * copies them; makes room in tx->prev.  0, PT_EINVAL or PT_ENOMEM.
 */
static int
prep_make(struct pt__wire_tx *tx, const pt_snapshot *s, const uint64_t *ver,
    const struct pt__snapcache *c, int full, struct enc_prep *p)
{
	pt_snapshot *prev = tx->prev;
	size_t i, n_prev = prev != NULL ? prev->n_ops : 0;
	pt_counter_stats *nc;
	pt_op_stats *no;
	uint64_t *nv;
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
		if (!full && i < n_prev) {
			copy_prefetch(tx, c, i + COPY_AHEAD);
			p->list[i] = (uint8_t)list_mode(tx, c, i, &prev->ops[i]);
		}
		if (p->list[i] == LIST_INPLACE)
			continue;	/* no copy: added to the viewer's */
		if (p->list[i] == LIST_INSERT) {
			/* No copy either: room in the viewer's for the new
			 * buckets (a quarter more, for those to come). */
			pt_op_stats *d = &prev->ops[i];
			pt_bucket *nb;

			if (malloc_usable_size(d->buckets) <
			    o->n_buckets * sizeof *d->buckets) {
				if ((nb = reallocarray(d->buckets, o->n_buckets +
				    o->n_buckets / 4, sizeof *nb)) == NULL)
					return PT_ENOMEM;
				d->buckets = nb;
			}
			continue;
		}
		if ((rc = op_check(o)) != 0)
			return rc;
		if (o->n_buckets > 0 && (p->buckets[i] =
		    buckets_dup(o->buckets, o->n_buckets)) == NULL)
			return PT_ENOMEM;
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
	if (s->n_ops > n_prev || tx->sent_ver == NULL ||
	    tx->sent_lay == NULL) {
		if ((nv = reallocarray(tx->sent_ver, s->n_ops + 1,
		    sizeof *nv)) == NULL)
			return PT_ENOMEM;
		tx->sent_ver = nv;
		if ((nv = reallocarray(tx->sent_lay, s->n_ops + 1,
		    sizeof *nv)) == NULL)
			return PT_ENOMEM;
		tx->sent_lay = nv;
	}
	if (s->n_counters > prev->n_counters) {
		if ((nc = reallocarray(prev->counters, s->n_counters,
		    sizeof *nc)) == NULL)
			return PT_ENOMEM;
		prev->counters = nc;
	}
	return 0;
}

/* Makes tx->prev what the viewer now has: s, with the copies of p. */
static void
prep_commit(struct pt__wire_tx *tx, const pt_snapshot *s, const uint64_t *ver,
    const struct pt__snapcache *c, struct enc_prep *p)
{
	pt_snapshot *prev = tx->prev;
	const struct pt__bdelta *dl;
	pt_bucket *kb;
	size_t i, k, kn;

	pt__snapshot_copy_header(prev, s);
	for (i = 0; i < s->n_ops; i++) {
		pt_op_stats *d = &prev->ops[i];
		const char *name;

		if (!p->send[i])
			continue;
		if (p->list[i] == LIST_INPLACE)
			copy_prefetch(tx, c, i + COPY_AHEAD);
		if (p->list[i] == LIST_INPLACE || p->list[i] == LIST_INSERT) {
			/* The changes land in buckets the copy has, or new
			 * ones inserted (list_mode() checked it can be). */
			name = d->name;
			kb = d->buckets;
			kn = d->n_buckets;
			*d = s->ops[i];
			d->name = name;
			d->buckets = kb;
			dl = c->dl + c->op[i].doff;
			if (p->list[i] == LIST_INSERT) {
				(void)insert_walk(kb, kn, s->ops[i].n_buckets,
				    dl, c->op[i].dn, 1);
				tx->sent_lay[i] = c->op[i].lay;
			} else {
				d->n_buckets = kn;
				for (k = 0; k < c->op[i].dn; k++)
					kb[dl[k].pos].count += dl[k].cnt;
			}
			tx->sent_ver[i] = ver[i];
			continue;
		}
		if (i < prev->n_ops) {
			name = d->name;
			free(d->buckets);
		} else {
			name = p->op_names[i];
			p->op_names[i] = NULL;
		}
		*d = s->ops[i];
		d->name = name;
		d->buckets = p->buckets[i];
		p->buckets[i] = NULL;
		tx->sent_ver[i] = ver != NULL ? ver[i] : 0;
		tx->sent_lay[i] = c != NULL ? c->op[i].lay : 0;
	}
	prev->n_ops = s->n_ops;
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
	full = need_full(tx, s);
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
	tx->st_list = tx->st_inplace = tx->st_insert = 0;
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
		if (!full)
			copy_prefetch(tx, NULL, i + COPY_AHEAD);
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
		tx->st_list += prep.list[i] != LIST_NONE;
		tx->st_inplace += prep.list[i] == LIST_INPLACE;
		tx->st_insert += prep.list[i] == LIST_INSERT;
		rc = pt__put_buckets(&e, ch, nch, dcount, b, sc);
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
