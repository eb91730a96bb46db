/*
 * snapdec.c - the snapshot decoder: checks everything, trusts no count, and
 * replaces the receiver's state only once a whole payload was accepted (the
 * format: codec.h).
 */
#include "codec.h"

/* ------------------------------------------------------------------------ */
/* Bit streams (reader)                                                      */
/* ------------------------------------------------------------------------ */

struct bitr {
	struct pt__dec	*d;
	size_t		 bit;	/* bits used from d->p */
	size_t		 nbits;	/* bits available */
};

static void
bitr_init(struct bitr *r, struct pt__dec *d)
{
	size_t left = dec_left(d);

	r->d = d;
	r->bit = 0;
	r->nbits = left > SIZE_MAX / 8 ? SIZE_MAX : left * 8;
}

/*
 * The next bits from r->bit on, least significant first, and how many of
 * them are in the stream (at most 57; 0 past its end).
 */
static uint64_t
bitr_peek(const struct bitr *r, unsigned *avail)
{
	size_t byte = r->bit / 8, nbytes = r->nbits / 8, i;
	uint64_t w = 0;
	size_t left;

	if (byte + 8 <= nbytes) {
		for (i = 0; i < 8; i++)		/* one load, unrolled */
			w |= (uint64_t)r->d->p[byte + i] << (8 * i);
	} else {
		for (i = 0; byte + i < nbytes; i++)
			w |= (uint64_t)r->d->p[byte + i] << (8 * i);
	}
	left = r->bit < r->nbits ? r->nbits - r->bit : 0;
	*avail = left < 57 ? (unsigned)left : 57;
	return w >> (r->bit % 8);
}

/*
 * Reads a unary code (ones up to a zero) of at most max ones, a word at a
 * time (a stream of thousands of codes per snapshot).
 */
static uint32_t
bitr_unary(struct bitr *r, uint32_t max)
{
	uint64_t w;
	uint32_t q = 0;
	unsigned avail, ones;

	for (;;) {
		w = bitr_peek(r, &avail);
		if (avail == 0) {
			r->d->err = PT_EPROTO;
			return 0;
		}
		ones = ~w == 0 ? 64 : (unsigned)__builtin_ctzll(~w);
		if (ones < avail) {
			if (ones > max - q) {
				r->d->err = PT_EPROTO;
				return 0;
			}
			r->bit += ones + 1;
			return q + ones;
		}
		if (avail > max - q) {
			r->d->err = PT_EPROTO;
			return 0;
		}
		q += avail;
		r->bit += avail;
	}
}

/* Reads nbits (<= 32) bits, least significant first. */
static uint32_t
bitr_bits(struct bitr *r, unsigned nbits)
{
	unsigned avail;
	uint64_t w;

	if (nbits == 0)
		return 0;
	w = bitr_peek(r, &avail);
	if (avail < nbits) {
		r->d->err = PT_EPROTO;
		return 0;
	}
	r->bit += nbits;
	return (uint32_t)(w & (((uint64_t)1 << nbits) - 1));
}

/* Reads a Rice-coded value that must be <= max. */
static uint32_t
bitr_rice(struct bitr *r, unsigned k, uint32_t max)
{
	uint32_t q, v;

	if (r->d->err != 0)
		return 0;
	q = bitr_unary(r, max >> k);
	v = bitr_bits(r, k);
	if (r->d->err != 0)
		return 0;
	v |= q << k;
	if (v > max) {
		r->d->err = PT_EPROTO;
		return 0;
	}
	return v;
}

/* Reads an Exp-Golomb (order 0) value, >= 1. */
static uint32_t
bitr_eg(struct bitr *r)
{
	uint32_t l, v;

	if (r->d->err != 0)
		return 0;
	l = bitr_unary(r, 31);
	v = bitr_bits(r, l);
	if (r->d->err != 0)
		return 0;
	return v | (uint32_t)1 << l;
}

/* Consumes the stream's bytes; the padding bits must be 0. */
static void
bitr_finish(struct bitr *r)
{
	size_t nbytes = (r->bit + 7) / 8;

	if (r->d->err != 0)
		return;
	if (r->bit % 8 != 0 && (r->d->p[nbytes - 1] >> (r->bit % 8)) != 0) {
		r->d->err = PT_EPROTO;
		return;
	}
	r->d->p += nbytes;
}

/* ------------------------------------------------------------------------ */
/* Snapshot decoder                                                          */
/* ------------------------------------------------------------------------ */

/* A decoded bucket change: signed difference, never 0. */
struct dchange {
	uint32_t	idx;
	int64_t		delta;
};

/* The decoder's scratch space, kept with the receiver's state
 * (rx->scratch): neither on the stack nor allocated per snapshot. */
struct dscratch {
	struct dchange	ch[PT_HIST_BUCKETS];	/* one op's changes */
	struct dchange	tail[PT_HIST_BUCKETS];	/* the sparse form's */
	uint16_t	pos[PT_HIST_BUCKETS];	/* and its predicted buckets */
};

/*
 * Decodes n new names after the have known ones into (*names)[have ..],
 * growing the array (which does not change the receiver's state: its count
 * stays the same until the commit).  On failure the new names are freed.
 */
static int
names_decode(struct pt__dec *d, char ***names, uint32_t have, uint32_t *added)
{
	char buf[PT_NAME_MAX + 1], **grown;
	uint64_t n, i;

	*added = 0;
	n = pt__get_u64(d);
	if (d->err != 0 || n > dec_left(d) / NAME_MIN_BYTES ||
	    n > PT_SITES_MAX - have)
		return PT_EPROTO;
	if (n == 0)
		return 0;
	if ((grown = reallocarray(*names, have + n, sizeof *grown)) == NULL)
		return PT_ENOMEM;
	*names = grown;
	for (i = 0; i < n; i++) {
		pt__get_str(d, buf, PT_NAME_MAX);
		if (d->err != 0 || pt__name_check(buf) != 0)
			goto fail;
		if ((grown[have + i] = pt__sh_strdup(buf)) == NULL) {
			while (i > 0)
				pt__sh_unref(grown[have + --i]);
			return PT_ENOMEM;
		}
	}
	*added = (uint32_t)n;
	return 0;
fail:
	while (i > 0)
		pt__sh_unref(grown[have + --i]);
	return PT_EPROTO;
}

static void
names_drop(char **names, uint32_t have, uint32_t added)
{
	uint32_t i;

	for (i = 0; i < added; i++) {
		pt__sh_unref(names[have + i]);
		names[have + i] = NULL;
	}
}

/*
 * Fills op id of a decoded (shared) snapshot from base (NULL: zero): its
 * name and buckets are the receiver's, shared, not copied.
 */
static void
op_from_base(pt_op_stats *op, uint32_t id, const char *name,
    const pt_op_stats *base)
{
	op->id = id;
	op->name = pt__sh_ref(name);
	if (base == NULL)
		return;
	op->count = base->count;
	op->total_ns = base->total_ns;
	op->min_ns = base->min_ns;
	op->max_ns = base->max_ns;
	/* Derived figures too: an unchanged op need not be finished again. */
	op->mean_ns = base->mean_ns;
	op->p50_ns = base->p50_ns;
	op->p90_ns = base->p90_ns;
	op->p99_ns = base->p99_ns;
	op->p999_ns = base->p999_ns;
	op->buckets = pt__sh_ref(base->buckets);
	op->n_buckets = base->buckets != NULL ? base->n_buckets : 0;
}

/*
 * Another reference to a decoded snapshot's contents: a new snapshot
 * sharing its names and buckets.  NULL when out of memory.
 */
static pt_snapshot *
snapshot_share(const pt_snapshot *s)
{
	pt_snapshot *c;
	size_t i;

	if ((c = pt__snapshot_alloc(s->n_ops, s->n_counters)) == NULL)
		return NULL;
	pt__snapshot_copy_header(c, s);
	c->pt_internal = PT__SNAP_SHARED;
	if (s->n_ops > 0)
		memcpy(c->ops, s->ops, s->n_ops * sizeof *c->ops);
	if (s->n_counters > 0)
		memcpy(c->counters, s->counters,
		    s->n_counters * sizeof *c->counters);
	c->n_ops = s->n_ops;
	c->n_counters = s->n_counters;
	for (i = 0; i < s->n_ops; i++) {
		pt__sh_ref(c->ops[i].name);
		pt__sh_ref(c->ops[i].buckets);
	}
	for (i = 0; i < s->n_counters; i++)
		pt__sh_ref(c->counters[i].name);
	return c;
}

/* Reads the bucket changes of one op into ch; returns how many or < 0. */
/*
 * Reads the predicted form after its header (k): the residuals of the
 * buckets from the first changed to the last, against base's shape.
 */
static int
pred_decode(struct pt__dec *d, unsigned code, uint64_t dcount,
    const pt_bucket *bb, size_t nb, struct dchange *ch)
{
	int adaptive = code >= ADAPT_BASE;
	int off = (int)code - ADAPT_BASE - ADAPT_BIAS;
	unsigned k = adaptive ? 0 : code - PACK_K_MAX - 1;
	uint64_t sum = hist_sum(bb, nb), span, pred, z, i;
	uint32_t lo, base_first = nb > 0 ? bb[0].index : 0;
	size_t j = 0;
	struct bitr r;
	int64_t first, delta;
	int n = 0;

	first = pt__get_i64(d);
	span = pt__get_u64max(d, PT_HIST_BUCKETS - 1) + 1;
	if (d->err != 0 || first < -(int64_t)base_first ||
	    first >= (int64_t)(PT_HIST_BUCKETS - base_first) ||
	    dcount > PRED_DCOUNT_MAX)
		return PT_EPROTO;
	lo = (uint32_t)((int64_t)base_first + first);
	/* Every bucket of the span takes at least one bit. */
	if (lo + span > PT_HIST_BUCKETS || span > (uint64_t)dec_left(d) * 8)
		return PT_EPROTO;
	bitr_init(&r, d);
	for (i = 0; i < span; i++) {
		uint32_t idx = lo + (uint32_t)i;

		while (j < nb && bb[j].index < idx)
			j++;
		pred = pred_of(j < nb && bb[j].index == idx ? bb[j].count : 0,
		    dcount, sum);
		z = bitr_rice(&r, adaptive ? adapt_k(adapt_k0(pred), off) : k,
		    UINT32_MAX);
		if (d->err != 0)
			return PT_EPROTO;
		if (adaptive && z > 2 * pred)
			delta = (int64_t)z;	/* residual z - pred */
		else
			delta = (int64_t)pred +
			    (int64_t)((z >> 1) ^ (0 - (z & 1)));
		if (delta == 0)
			continue;
		ch[n].idx = idx;
		ch[n++].delta = delta;
	}
	bitr_finish(&r);
	if (d->err != 0 || n == 0)
		return PT_EPROTO;
	return n;
}

/*
 * Reads the sparse form after its header.  The work is bounded by the
 * bytes read and by base's buckets, never by the span alone: the buckets
 * predicted to get nothing are skipped by arithmetic, not one by one.
 */
static int
sparse_decode(struct pt__dec *d, unsigned code, uint64_t dcount,
    const pt_bucket *bb, size_t nb, struct dscratch *sc)
{
	struct dchange *ch = sc->ch, *tail = sc->tail;
	uint16_t *pos = sc->pos;	/* buckets with a prediction */
	int off = (int)code - SPARSE_BASE - ADAPT_BIAS;
	uint64_t sum = hist_sum(bb, nb), span, pred, z, hdr, nnz, t;
	uint32_t lo, hi, base_first = nb > 0 ? bb[0].index : 0, cur, run;
	size_t j, np = 0, p = 0, na = 0, nt = 0, a, b;
	unsigned kr;
	struct bitr r;
	int64_t first, delta;
	int n = 0;

	first = pt__get_i64(d);
	span = pt__get_u64max(d, PT_HIST_BUCKETS - 1) + 1;
	hdr = pt__get_u64(d);
	if (d->err != 0 || first < -(int64_t)base_first ||
	    first >= (int64_t)(PT_HIST_BUCKETS - base_first) ||
	    dcount > PRED_DCOUNT_MAX)
		return PT_EPROTO;
	lo = (uint32_t)((int64_t)base_first + first);
	nnz = hdr >> 4;
	kr = (unsigned)(hdr & 15);
	/* Each change takes two bits at least. */
	if (lo + span > PT_HIST_BUCKETS || kr > SPARSE_KR_MAX ||
	    nnz > span || nnz > (uint64_t)dec_left(d) * 4)
		return PT_EPROTO;
	hi = lo + (uint32_t)span - 1;
	bitr_init(&r, d);
	/* The buckets with a prediction: base's, in the span. */
	for (j = 0; j < nb && bb[j].index <= hi; j++) {
		if (bb[j].index < lo ||
		    (pred = pred_of(bb[j].count, dcount, sum)) == 0)
			continue;
		pos[np++] = (uint16_t)bb[j].index;
		z = bitr_rice(&r, adapt_k(adapt_k0(pred), off), UINT32_MAX);
		if (d->err != 0)
			return PT_EPROTO;
		delta = z > 2 * pred ? (int64_t)z :
		    (int64_t)pred + (int64_t)((z >> 1) ^ (0 - (z & 1)));
		if (delta == 0)
			continue;
		ch[na].idx = bb[j].index;
		ch[na++].delta = delta;
	}
	/* The others: runs over them, skipping those with a prediction. */
	cur = lo;
	for (t = 0; t < nnz; t++) {
		run = bitr_rice(&r, kr, PT_HIST_BUCKETS - 1);
		if (d->err != 0)
			return PT_EPROTO;
		/* The (run + 1)th bucket without a prediction from cur on:
		 * each one with a prediction up to there pushes it one on. */
		while (p < np && pos[p] < cur)
			p++;
		cur += run;
		while (p < np && pos[p] <= cur) {
			cur++;
			p++;
		}
		if (cur > hi)
			return PT_EPROTO;
		tail[nt].idx = cur++;
		tail[nt++].delta = bitr_eg(&r);
		if (d->err != 0)
			return PT_EPROTO;
	}
	bitr_finish(&r);
	if (d->err != 0 || na + nt == 0)
		return PT_EPROTO;
	/* Both lists ascend: merge them (from the end, in place). */
	n = (int)(na + nt);
	for (a = na, b = nt, j = na + nt; b > 0; j--) {
		if (a > 0 && ch[a - 1].idx > tail[b - 1].idx)
			ch[j - 1] = ch[--a];
		else
			ch[j - 1] = tail[--b];
	}
	return n;
}

static int
buckets_decode(struct pt__dec *d, uint64_t dcount, const pt_bucket *bb,
    size_t nb, struct dscratch *sc)
{
	struct dchange *ch = sc->ch;
	uint32_t base_first = nb > 0 ? bb[0].index : 0;
	uint64_t hdr, n, i, events, idx, gap;
	struct bitr r;
	unsigned k;
	int64_t delta, prev, first;

	hdr = pt__get_u64(d);
	if (d->err != 0)
		return PT_EPROTO;
	if ((hdr & 3) == 3 && (hdr >> 2) > PACK_K_MAX) {
		if ((hdr >> 2) >= SPARSE_BASE + ADAPT_CODES)
			return PT_EPROTO;
		if ((hdr >> 2) >= SPARSE_BASE)
			return sparse_decode(d, (unsigned)(hdr >> 2), dcount,
			    bb, nb, sc);
		return pred_decode(d, (unsigned)(hdr >> 2), dcount, bb, nb, ch);
	}
	if ((hdr & 1) == 0) {
		n = hdr >> 1;
		if (n > PT_HIST_BUCKETS || n > dec_left(d) / 2)
			return PT_EPROTO;
		prev = -1;
		for (i = 0; i < n; i++) {
			gap = pt__get_u64max(d, PT_HIST_BUCKETS);
			delta = pt__get_i64(d);
			if (d->err != 0 || gap == 0 || delta == 0 ||
			    prev + (int64_t)gap >= PT_HIST_BUCKETS)
				return PT_EPROTO;
			prev += (int64_t)gap;
			ch[i].idx = (uint32_t)prev;
			ch[i].delta = delta;
		}
		return (int)n;
	}
	if (hdr & 2) {
		events = dcount;
		k = (unsigned)(hdr >> 2);
		if (hdr >> 2 > PACK_K_MAX)
			return PT_EPROTO;
	} else {
		events = hdr >> 6;
		k = (unsigned)((hdr >> 2) & 15);
		if (k > PACK_K_MAX)
			return PT_EPROTO;
	}
	/* The first index, relative to the first bucket before. */
	first = pt__get_i64(d);
	if (d->err != 0 || first < -(int64_t)base_first ||
	    first >= (int64_t)(PT_HIST_BUCKETS - base_first))
		return PT_EPROTO;
	idx = (uint64_t)((int64_t)base_first + first);
	/* Every event after the first takes at least one bit. */
	if (events == 0 || events - 1 > (uint64_t)dec_left(d) * 8)
		return PT_EPROTO;
	bitr_init(&r, d);
	n = 0;
	ch[0].idx = (uint32_t)idx;
	ch[0].delta = 1;
	for (i = 1; i < events; i++) {
		gap = bitr_rice(&r, k, PT_HIST_BUCKETS - 1);
		if (d->err != 0)
			return PT_EPROTO;
		if (gap == 0) {
			ch[n].delta++;
			continue;
		}
		idx += gap;
		if (idx >= PT_HIST_BUCKETS)
			return PT_EPROTO;
		n++;
		ch[n].idx = (uint32_t)idx;
		ch[n].delta = 1;
	}
	bitr_finish(&r);
	if (d->err != 0)
		return PT_EPROTO;
	return (int)(n + 1);
}

/* op->buckets += ch (both ascending); drops emptied buckets. */
static int
buckets_apply(pt_op_stats *op, const struct dchange *ch, size_t n)
{
	size_t i = 0, j = 0, m = 0;
	pt_bucket *nb;
	uint64_t c;

	if (n == 0)
		return 0;
	if (op->n_buckets + n > SIZE_MAX / sizeof *nb ||
	    (nb = pt__sh_alloc((op->n_buckets + n) * sizeof *nb)) == NULL)
		return PT_ENOMEM;
	while (i < op->n_buckets || j < n) {
		if (j >= n || (i < op->n_buckets &&
		    op->buckets[i].index < ch[j].idx)) {
			nb[m++] = op->buckets[i++];
			continue;
		}
		c = 0;
		if (i < op->n_buckets && op->buckets[i].index == ch[j].idx)
			c = op->buckets[i++].count;
		if (ch[j].delta < 0) {
			if (c < (uint64_t)0 - (uint64_t)ch[j].delta)
				goto bad;	/* would go negative */
			c -= (uint64_t)0 - (uint64_t)ch[j].delta;
		} else {
			if (c > UINT64_MAX - (uint64_t)ch[j].delta)
				goto bad;
			c += (uint64_t)ch[j].delta;
		}
		if (c != 0) {
			nb[m].index = ch[j].idx;
			nb[m++].count = c;
		}
		j++;
	}
	/* The old array may be shared with the receiver's snapshot. */
	pt__sh_unref(op->buckets);
	op->buckets = m > 0 ? nb : NULL;
	op->n_buckets = m;
	if (m == 0)
		pt__sh_unref(nb);
	return 0;
bad:
	pt__sh_unref(nb);
	return PT_EPROTO;
}

int
pt__wire_decode_snapshot(struct pt__wire_rx *rx, const uint8_t *p,
    size_t n, pt_snapshot **out)
{
	const pt_snapshot *cur;
	struct dscratch *sc = NULL;
	struct dchange *ch = NULL;
	pt_snapshot *s = NULL, *copy = NULL;
	uint32_t new_ops = 0, new_ctrs = 0, n_ops, n_ctrs, id, next;
	uint64_t seq, flags, nchanged, i, gap, dcount, dtotal;
	int64_t dmin = 0, dmax = 0;
	unsigned mm;
	struct pt__dec d;
	struct guess g;
	int full, rc = PT_EPROTO, nch, j;

	if (out != NULL)
		*out = NULL;
	if (rx == NULL)
		return PT_EINVAL;
	dec_init(&d, p, n);

	seq = pt__get_u64(&d);
	flags = pt__get_u64(&d);
	if (d.err != 0 || seq != rx->seq + 1 ||
	    (flags & ~(uint64_t)(SNAP_FULL | SNAP_TICK)) != 0 ||
	    flags == SNAP_FULL)
		return PT_EPROTO;	/* FULL comes with TICK */
	full = (flags & SNAP_FULL) != 0;
	cur = full ? NULL : rx->cur;
	if (!full && cur == NULL)
		return PT_EPROTO;	/* a delta needs something to add to */
	if ((s = pt__snapshot_alloc(0, 0)) == NULL)
		return PT_ENOMEM;
	s->pt_internal = PT__SNAP_SHARED;
	s->pid = rx->pid;
	memcpy(s->process, rx->process, sizeof s->process);
	s->process[sizeof s->process - 1] = '\0';
	if (full) {
		s->reset_epoch = pt__get_u64(&d);
		s->time_ns = pt__get_u64(&d);
		s->uptime_ns = pt__get_u64(&d);
		s->since_reset_ns = pt__get_u64(&d);
		s->memory.rss_bytes = pt__get_u64(&d);
		s->memory.peak_rss_bytes = pt__get_u64(&d);
		s->memory.heap_bytes = pt__get_u64(&d);
	} else {
		/* Deltas modulo 2^64, chained as the encoder chained them. */
		uint64_t dt = (uint64_t)pt__get_i64(&d);
		uint64_t du = dt + (uint64_t)pt__get_i64(&d);

		s->reset_epoch = cur->reset_epoch;
		s->time_ns = cur->time_ns + dt;
		s->uptime_ns = cur->uptime_ns + du;
		s->since_reset_ns = cur->since_reset_ns + du +
		    (uint64_t)pt__get_i64(&d);
		s->memory.rss_bytes = cur->memory.rss_bytes +
		    (uint64_t)pt__get_i64(&d);
		s->memory.peak_rss_bytes = cur->memory.peak_rss_bytes +
		    (uint64_t)pt__get_i64(&d);
		s->memory.heap_bytes = cur->memory.heap_bytes +
		    (uint64_t)pt__get_i64(&d);
	}
	s->tick_ns = (flags & SNAP_TICK) ? pt__get_f64(&d) : cur->tick_ns;
	if (d.err != 0 || !isfinite(s->tick_ns) || !(s->tick_ns > 0))
		goto out;

	/* Names. */
	if ((rc = names_decode(&d, &rx->op_names, rx->n_op_names,
	    &new_ops)) != 0)
		goto out;
	if ((rc = names_decode(&d, &rx->ctr_names, rx->n_ctr_names,
	    &new_ctrs)) != 0)
		goto out;
	n_ops = rx->n_op_names + new_ops;
	n_ctrs = rx->n_ctr_names + new_ctrs;

	/* The complete new state, every known op and counter. */
	free(s->ops);
	free(s->counters);
	s->ops = NULL;
	s->counters = NULL;
	if ((n_ops > 0 && (s->ops = calloc(n_ops, sizeof *s->ops)) == NULL) ||
	    (n_ctrs > 0 &&
	    (s->counters = calloc(n_ctrs, sizeof *s->counters)) == NULL) ||
	    (rx->scratch == NULL &&
	    (rx->scratch = malloc(sizeof *sc)) == NULL)) {
		rc = PT_ENOMEM;
		goto out;
	}
	sc = rx->scratch;
	ch = sc->ch;
	s->n_ops = n_ops;
	s->n_counters = n_ctrs;

	/* Operations. */
	rc = PT_EPROTO;
	nchanged = pt__get_u64(&d);
	if (d.err != 0 || nchanged > n_ops ||
	    nchanged > dec_left(&d) / OP_MIN_BYTES)
		goto out;
	id = 0;
	next = 1;		/* the first op not filled in yet */
	for (i = 0; i < nchanged; i++) {
		pt_op_stats *op;

		gap = pt__get_u64(&d);
		mm = (unsigned)(gap & 3);
		gap >>= 2;
		if (d.err != 0 || gap == 0 || gap > n_ops - id)
			goto out;
		id += (uint32_t)gap;
		for (; next <= id; next++)
			op_from_base(&s->ops[next - 1], next,
			    rx->op_names[next - 1], cur != NULL &&
			    next <= cur->n_ops ? &cur->ops[next - 1] : NULL);
		rc = PT_EPROTO;
		op = &s->ops[id - 1];
		dcount = pt__get_u64(&d);
		if (d.err != 0 || op->count > UINT64_MAX - dcount)
			goto out;
		op->count += dcount;
		dtotal = (uint64_t)pt__get_i64(&d);	/* mod 2^64 */
		/* min and max only when they moved (not by 0). */
		if ((mm & 2) && (dmin = pt__get_i64(&d)) == 0)
			goto out;
		if ((mm & 1) && (dmax = pt__get_i64(&d)) == 0)
			goto out;
		op->min_ns += (mm & 2) ? (uint64_t)dmin : 0;	/* mod 2^64 */
		op->max_ns += (mm & 1) ? (uint64_t)dmax : 0;
		if (d.err != 0 || (op->count > 0 && op->min_ns > op->max_ns))
			goto out;
		nch = buckets_decode(&d, dcount, op->buckets, op->n_buckets,
		    sc);
		if (nch < 0)
			goto out;
		if ((rc = buckets_apply(op, ch, (size_t)nch)) != 0)
			goto out;
		memset(&g, 0, sizeof g);
		for (j = 0; j < nch; j++)
			guess_add(&g, ch[j].idx, ch[j].delta);
		op->total_ns += dtotal + guess_ns(&g, s->tick_ns);
		op->mean_ns = -1;	/* changed: finished below */
		rc = PT_EPROTO;
	}
	for (; next <= n_ops; next++)
		op_from_base(&s->ops[next - 1], next, rx->op_names[next - 1],
		    cur != NULL && next <= cur->n_ops ? &cur->ops[next - 1] :
		    NULL);

	/* Counters. */
	rc = PT_ENOMEM;
	for (id = 1; id <= n_ctrs; id++) {
		pt_counter_stats *c = &s->counters[id - 1];

		c->id = id;
		c->name = pt__sh_ref(rx->ctr_names[id - 1]);
		if (cur != NULL && id <= cur->n_counters)
			c->value = cur->counters[id - 1].value;
	}
	rc = PT_EPROTO;
	nchanged = pt__get_u64(&d);
	if (d.err != 0 || nchanged > n_ctrs ||
	    nchanged > dec_left(&d) / CTR_MIN_BYTES)
		goto out;
	id = 0;
	for (i = 0; i < nchanged; i++) {
		pt_counter_stats *c;

		gap = pt__get_u64(&d);
		if (d.err != 0 || gap == 0 || gap > n_ctrs - id)
			goto out;
		id += (uint32_t)gap;
		c = &s->counters[id - 1];
		c->value = (int64_t)((uint64_t)c->value +
		    (uint64_t)pt__get_i64(&d));		/* mod 2^64 */
	}
	if (pt__dec_finish(&d) != 0)
		goto out;

	/* Finish the changed ops (and all of them when the tick rate moved). */
	for (i = 0; i < n_ops; i++)
		if (s->ops[i].mean_ns < 0 || cur == NULL ||
		    i >= cur->n_ops || cur->tick_ns != s->tick_ns)
			pt_op_stats_finish(&s->ops[i], s->tick_ns);
	if (out != NULL && (copy = snapshot_share(s)) == NULL) {
		rc = PT_ENOMEM;
		goto out;
	}

	/* Commit. */
	rx->n_op_names = n_ops;
	rx->n_ctr_names = n_ctrs;
	rx->seq = seq;
	rx->n_full += (uint64_t)full;
	pt_snapshot_free(rx->cur);
	rx->cur = s;
	if (out != NULL)
		*out = copy;
	return 0;
out:
	names_drop(rx->op_names, rx->n_op_names, new_ops);
	names_drop(rx->ctr_names, rx->n_ctr_names, new_ctrs);
	pt_snapshot_free(s);
	return rc;
}
