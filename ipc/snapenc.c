/*
 * snapenc.c - the snapshot encoder: what changed since the viewer's last
 * snapshot, each operation's bucket changes in the shortest of the list,
 * packed and predicted forms (the format: codec.h).
 */
#include "codec.h"

int pt__wire_force_list;
int pt__wire_no_pred;
int pt__wire_no_adapt;
int pt__wire_no_sparse;

/* ------------------------------------------------------------------------ */
/* Bit streams (writer)                                                       */
/* ------------------------------------------------------------------------ */

struct bitw {
	struct pt__enc	*e;
	uint64_t	 acc;	/* bits not written yet, first in bit 0 */
	unsigned	 n;	/* how many */
};

/* Appends the low nbits (<= 32) of v, least significant first. */
static void
bitw_bits(struct bitw *w, uint64_t v, unsigned nbits)
{
	uint8_t b;

	if (nbits < 64)
		v &= ((uint64_t)1 << nbits) - 1;
	w->acc |= v << w->n;
	w->n += nbits;
	while (w->n >= 8) {
		b = (uint8_t)w->acc;
		enc_raw(w->e, &b, 1);
		w->acc >>= 8;
		w->n -= 8;
	}
}

/* Appends q one bits and a zero (a unary code). */
static void
bitw_unary(struct bitw *w, uint32_t q)
{
	for (; q >= 32; q -= 32)
		bitw_bits(w, 0xffffffffu, 32);
	bitw_bits(w, ((uint64_t)1 << q) - 1, q + 1);
}

static void
bitw_rice(struct bitw *w, uint32_t v, unsigned k)
{
	bitw_unary(w, v >> k);
	bitw_bits(w, v, k);
}

/* Exp-Golomb order 0 of v >= 1 (the sparse form's changes). */
static void
bitw_eg(struct bitw *w, uint32_t v)
{
	unsigned l = 31 - (unsigned)__builtin_clz(v);

	bitw_unary(w, l);
	bitw_bits(w, v, l);
}

static void
bitw_flush(struct bitw *w)
{
	uint8_t b;

	if (w->n > 0) {
		b = (uint8_t)w->acc;
		enc_raw(w->e, &b, 1);
	}
	w->acc = 0;
	w->n = 0;
}

/* ------------------------------------------------------------------------ */
/* Snapshot encoder                                                          */
/* ------------------------------------------------------------------------ */

/* One changed bucket: the difference is neg ? -mag : mag (mag > 0). */
struct bchange {
	uint32_t	idx;
	int		neg;
	uint64_t	mag;
};

/* The encoder's scratch space, kept with the sender's state (tx->scratch):
 * neither on the stack nor allocated per snapshot, which under the
 * sanitizers costs more than the encoding. */
struct escratch {
	struct bchange	ch[PT_HIST_BUCKETS];	/* one op's changes */
	uint32_t	zz[PT_HIST_BUCKETS];	/* and its forms' codes */
	uint32_t	za[PT_HIST_BUCKETS];
	uint8_t		k0s[PT_HIST_BUCKETS];
	uint32_t	runs[PT_HIST_BUCKETS];	/* the sparse form's */
};

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

/* The index of the first non-empty bucket of o (NULL or none: 0). */
static uint32_t
first_bucket(const pt_op_stats *o)
{
	size_t i;

	for (i = 0; o != NULL && i < o->n_buckets; i++)
		if (o->buckets[i].count != 0)
			return o->buckets[i].index;
	return 0;
}

/* Bits of the packed stream with parameter k. */
static uint64_t
packed_bits(const struct bchange *ch, size_t n, uint64_t events, unsigned k)
{
	uint64_t bits = (events - n) * (1 + k);	/* zero gaps in a bucket */
	size_t i;

	for (i = 1; i < n; i++)
		bits += ((ch[i].idx - ch[i - 1].idx) >> k) + 1 + k;
	return bits;
}

/* k0s[i] with this bit: the bucket's prediction is 0. */
#define K0_PZERO	0x80u

/*
 * Bits of the adaptive form's stream with each offset, of every bucket
 * (all) and of those with a prediction above 0 (pos, as the sparse form
 * codes them), computed once per offset asked for: the two walks below
 * mostly visit the same offsets.
 */
struct adapt_memo {
	uint64_t	all[ADAPT_CODES];
	uint64_t	pos[ADAPT_CODES];
	uint8_t		done[ADAPT_CODES];
};

static uint64_t
adapt_bits(struct adapt_memo *mm, const uint32_t *za, const uint8_t *k0s,
    size_t span, int off, int pos_only)
{
	uint64_t all = 0, pos = 0, b;
	unsigned kb;
	size_t i, o = (size_t)(off + ADAPT_BIAS);

	if (!mm->done[o]) {
		for (i = 0; i < span; i++) {
			kb = adapt_k(k0s[i] & ~K0_PZERO, off);
			b = 1 + kb + (za[i] >> kb);
			all += b;
			if (!(k0s[i] & K0_PZERO))
				pos += b;
		}
		mm->all[o] = all;
		mm->pos[o] = pos;
		mm->done[o] = 1;
	}
	return pos_only ? mm->pos[o] : mm->all[o];
}

/* The best offset of the adaptive (or sparse) form and its bits. */
static uint64_t
adapt_best(struct adapt_memo *mm, const uint32_t *za, const uint8_t *k0s,
    size_t span, int pos_only, int *offp)
{
	uint64_t cur, next;
	int off = 0, step = 1;

	/* The size falls, then rises, as the offset grows: walk from 0
	 * towards the smaller neighbour (three or four passes, not eight). */
	cur = adapt_bits(mm, za, k0s, span, 0, pos_only);
	next = adapt_bits(mm, za, k0s, span, 1, pos_only);
	if (next >= cur) {
		next = adapt_bits(mm, za, k0s, span, -1, pos_only);
		step = -1;
	}
	while (next < cur) {
		cur = next;
		off += step;
		if (off + step < -ADAPT_BIAS ||
		    off + step >= ADAPT_CODES - ADAPT_BIAS)
			break;
		next = adapt_bits(mm, za, k0s, span, off + step, pos_only);
	}
	*offp = off;
	return cur;
}

/* Bits of an Exp-Golomb code of v >= 1. */
static unsigned
eg_bits(uint32_t v)
{
	return 2 * (31 - (unsigned)__builtin_clz(v)) + 1;
}

/*
 * The sparse form's second part: the runs and changes of the buckets
 * predicted to get nothing.  Returns its bits with the best kr (tried
 * around log2 of the mean run), and that kr and the number of changes;
 * runs is scratch room for PT_HIST_BUCKETS.
 */
static uint64_t
sparse_tail_bits(const uint32_t *za, const uint8_t *k0s, size_t span,
    uint32_t *runs, unsigned *krp, uint32_t *nnzp)
{
	uint64_t fixed = 0, best = UINT64_MAX, bits, sum = 0;
	uint32_t run = 0, nnz = 0;
	unsigned kr, k0;
	size_t i;

	for (i = 0; i < span; i++) {
		if (!(k0s[i] & K0_PZERO))
			continue;
		if (za[i] == 0) {
			run++;
			continue;
		}
		fixed += eg_bits(za[i]);
		sum += run;
		runs[nnz++] = run;
		run = 0;
	}
	*nnzp = nnz;
	*krp = 0;
	if (nnz == 0)
		return 0;
	sum /= nnz;
	for (k0 = 0; k0 < SPARSE_KR_MAX && ((uint64_t)1 << (k0 + 1)) <= sum + 1;
	    k0++)
		;
	for (kr = k0 > 0 ? k0 - 1 : 0; kr <= k0 + 1 && kr <= SPARSE_KR_MAX;
	    kr++) {
		bits = fixed + (uint64_t)nnz * (1 + kr);
		for (i = 0; i < nnz; i++)
			bits += runs[i] >> kr;
		if (bits < best) {
			best = bits;
			*krp = kr;
		}
	}
	return best;
}

/* What the encoder chose for the predicted forms of one op. */
struct pred_choice {
	unsigned	code;	/* header >> 2 */
	unsigned	kr;	/* the sparse form's */
	uint32_t	nnz;
};

/*
 * Prepares the predicted, adaptive and sparse forms of n changes against
 * base: the zigzag residuals of every bucket from the first changed to the
 * last, into zz, the adaptive codes into za, and each bucket's adapt_k0()
 * (K0_PZERO: predicted 0) into k0s (room for PT_HIST_BUCKETS each).
 * Returns the bytes the shortest form takes (SIZE_MAX when none can carry
 * them) and what it is in *pc.
 */
static size_t
pred_prepare(const struct bchange *ch, size_t n, uint64_t dcount,
    const pt_op_stats *base, uint32_t base_first, struct escratch *sc,
    struct pred_choice *pc)
{
	uint32_t *zz = sc->zz, *za = sc->za;
	uint8_t *k0s = sc->k0s;
	int adapt_ok = 1;
	const pt_bucket *bb = base != NULL ? base->buckets : NULL;
	size_t nb = base != NULL ? base->n_buckets : 0, i, j = 0, c = 0;
	size_t extra = 0;
	uint64_t sum = hist_sum(bb, nb), bits, best = UINT64_MAX, pred, z;
	uint32_t lo, hi, idx, span, nnz = 0;
	int64_t delta;
	unsigned k, k0, kr = 0;
	int off;

	if (n == 0 || dcount > PRED_DCOUNT_MAX)
		return SIZE_MAX;
	lo = ch[0].idx;
	hi = ch[n - 1].idx;
	span = hi - lo + 1;
	for (idx = lo, i = 0; idx <= hi; idx++, i++) {
		while (j < nb && bb[j].index < idx)
			j++;
		pred = pred_of(j < nb && bb[j].index == idx ? bb[j].count : 0,
		    dcount, sum);
		delta = 0;
		if (c < n && ch[c].idx == idx) {
			if (ch[c].mag > PRED_DCOUNT_MAX)
				return SIZE_MAX;
			delta = ch[c].neg ? -(int64_t)ch[c].mag :
			    (int64_t)ch[c].mag;
			c++;
		}
		z = zigzag(delta - (int64_t)pred);
		if (z > UINT32_MAX)
			return SIZE_MAX;
		zz[i] = (uint32_t)z;
		k0s[i] = (uint8_t)(adapt_k0(pred) | (pred == 0 ? K0_PZERO : 0));
		z = adapt_fold(delta - (int64_t)pred, pred);
		if (delta < 0 || z > UINT32_MAX)
			adapt_ok = 0;
		za[i] = (uint32_t)z;
	}
	/* The best k is near log2 of the mean residual: try around it. */
	for (z = 0, i = 0; i < span; i++)
		z += zz[i];
	z /= span;
	for (k0 = 0; k0 < PRED_K_MAX && ((uint64_t)1 << (k0 + 1)) <= z + 1; k0++)
		;
	for (k = k0 > 0 ? k0 - 1 : 0; k <= k0 + 1 && k <= PRED_K_MAX; k++) {
		bits = (uint64_t)span * (1 + k);
		for (i = 0; i < span; i++)
			bits += zz[i] >> k;
		if (bits < best) {
			best = bits;
			pc->code = PACK_K_MAX + 1 + k;
		}
	}
	if (adapt_ok && !pt__wire_no_adapt) {
		struct adapt_memo mm;

		memset(&mm, 0, sizeof mm);
		bits = adapt_best(&mm, za, k0s, span, 0, &off);
		if (bits < best) {
			best = bits;
			pc->code = (unsigned)(ADAPT_BASE + ADAPT_BIAS + off);
		}
		/* The sparse form, with its extra varint. */
		bits = pt__wire_no_sparse ? UINT64_MAX - 7 :
		    adapt_best(&mm, za, k0s, span, 1, &off) +
		    sparse_tail_bits(za, k0s, span, sc->runs, &kr, &nnz);
		if ((bits + 7) / 8 + varint_len((uint64_t)nnz << 4 | kr) <
		    (best + 7) / 8) {
			best = bits;
			pc->code = (unsigned)(SPARSE_BASE + ADAPT_BIAS + off);
			pc->kr = kr;
			pc->nnz = nnz;
			extra = varint_len((uint64_t)nnz << 4 | kr);
		}
	}
	return varint_len((uint64_t)pc->code << 2 | 3) +
	    varint_len(zigzag((int64_t)lo - (int64_t)base_first)) +
	    varint_len(span - 1) + extra + (size_t)((best + 7) / 8);
}

/* Bytes the predicted forms take at the least for n changes (n > 0). */
static size_t
pred_floor(const struct bchange *ch, size_t n)
{
	uint32_t span = ch[n - 1].idx - ch[0].idx + 1;

	return 3 + (span + 7) / 8;
}

/*
 * Writes the bucket header and changes of one op in the shortest form.
 * dcount is the op's count delta (for the packed header's short form).
 * Returns 0 or PT_ERANGE when no form can carry the changes.
 */
static int
put_buckets(struct pt__enc *e, const struct bchange *ch, size_t n,
    uint64_t dcount, const pt_op_stats *base, struct escratch *sc)
{
	uint32_t *zz = sc->zz, *za = sc->za;
	uint8_t *k0s = sc->k0s;
	size_t list = varint_len((uint64_t)n << 1), packed = SIZE_MAX, i;
	size_t pred = SIZE_MAX;
	uint64_t events = 0, bits, best_bits = UINT64_MAX, hdr = 0;
	int list_ok = 1, pack_ok = n > 0 && !pt__wire_force_list;
	uint32_t base_first = first_bucket(base);
	unsigned k, best_k = 0;
	struct pred_choice pc = { 0, 0, 0 };
	struct bitw w;

	for (i = 0; i < n; i++) {
		if (ch[i].mag > (ch[i].neg ? (uint64_t)INT64_MAX + 1 :
		    (uint64_t)INT64_MAX))
			list_ok = 0;
		else
			list += varint_len(ch[i].idx - (i > 0 ?
			    ch[i - 1].idx : (uint32_t)-1)) +
			    varint_len(zigzag(ch[i].neg ?
			    (int64_t)(0 - ch[i].mag) : (int64_t)ch[i].mag));
		if (ch[i].neg || ch[i].mag > PACK_EVENTS_MAX - events)
			pack_ok = 0;
		else
			events += ch[i].mag;
	}
	if (pack_ok) {
		for (k = 0; k <= PACK_K_MAX; k++) {
			bits = packed_bits(ch, n, events, k);
			if (bits < best_bits) {
				best_bits = bits;
				best_k = k;
			}
		}
		hdr = events == dcount ? (uint64_t)best_k << 2 | 3 :
		    (events << 4 | best_k) << 2 | 1;
		packed = varint_len(hdr) + varint_len(zigzag((int64_t)ch[0].idx -
		    (int64_t)base_first)) + (size_t)((best_bits + 7) / 8);
	}
	/*
	 * The predicted forms spend a bit at least on every bucket of the
	 * span: with few events over many buckets (most changes between
	 * frequent snapshots) they cannot win, and preparing them would
	 * cost more than everything else.
	 */
	if (!pt__wire_force_list && !pt__wire_no_pred && n > 0 &&
	    pred_floor(ch, n) < (pack_ok && packed < list ? packed :
	    list_ok ? list : SIZE_MAX))
		pred = pred_prepare(ch, n, dcount, base, base_first, sc, &pc);
	if (!list_ok && !pack_ok && pred == SIZE_MAX)
		return PT_ERANGE;
	if (pred != SIZE_MAX && (!list_ok || pred < list) &&
	    (!pack_ok || pred < packed)) {
		size_t span = ch[n - 1].idx - ch[0].idx + 1;
		int sparse = pc.code >= SPARSE_BASE;
		int off = (int)pc.code - (sparse ? SPARSE_BASE : ADAPT_BASE) -
		    ADAPT_BIAS;
		uint32_t run = 0;

		pt__put_u64(e, (uint64_t)pc.code << 2 | 3);
		pt__put_i64(e, (int64_t)ch[0].idx - (int64_t)base_first);
		pt__put_u64(e, span - 1);
		if (sparse)
			pt__put_u64(e, (uint64_t)pc.nnz << 4 | pc.kr);
		memset(&w, 0, sizeof w);
		w.e = e;
		for (i = 0; i < span; i++) {
			if (pc.code < ADAPT_BASE)
				bitw_rice(&w, zz[i], pc.code - PACK_K_MAX - 1);
			else if (!sparse || !(k0s[i] & K0_PZERO))
				bitw_rice(&w, za[i], adapt_k(k0s[i] &
				    ~K0_PZERO, off));
		}
		for (i = 0; sparse && i < span; i++) {
			if (!(k0s[i] & K0_PZERO))
				continue;
			if (za[i] == 0) {
				run++;
				continue;
			}
			bitw_rice(&w, run, pc.kr);
			bitw_eg(&w, za[i]);
			run = 0;
		}
		bitw_flush(&w);
		return 0;
	}
	if (list_ok && (!pack_ok || list <= packed)) {
		pt__put_u64(e, (uint64_t)n << 1);
		for (i = 0; i < n; i++) {
			pt__put_u64(e, ch[i].idx -
			    (i > 0 ? ch[i - 1].idx : (uint32_t)-1));
			pt__put_i64(e, ch[i].neg ? (int64_t)(0 - ch[i].mag) :
			    (int64_t)ch[i].mag);
		}
		return 0;
	}
	pt__put_u64(e, hdr);
	pt__put_i64(e, (int64_t)ch[0].idx - (int64_t)base_first);
	memset(&w, 0, sizeof w);
	w.e = e;
	for (i = 0; i < n; i++) {
		uint64_t m;

		/* The gap leads to a bucket's first event (the very first
		 * is implied), zero gaps to its other events. */
		if (i > 0)
			bitw_rice(&w, ch[i].idx - ch[i - 1].idx, best_k);
		for (m = ch[i].mag - 1; m > 0; m--)
			bitw_rice(&w, 0, best_k);
	}
	bitw_flush(&w);
	return 0;
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
    int full, struct enc_prep *p)
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
	if (s->n_ops > n_prev || tx->sent_ver == NULL) {
		if ((nv = reallocarray(tx->sent_ver, s->n_ops + 1,
		    sizeof *nv)) == NULL)
			return PT_ENOMEM;
		tx->sent_ver = nv;
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
    struct enc_prep *p)
{
	pt_snapshot *prev = tx->prev;
	size_t i;

	pt__snapshot_copy_header(prev, s);
	for (i = 0; i < s->n_ops; i++) {
		pt_op_stats *d = &prev->ops[i];
		const char *name;

		if (!p->send[i])
			continue;
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

int
pt__wire_encode_snapshot(struct pt__wire_tx *tx, const pt_snapshot *s,
    struct pt__buf *out)
{
	return pt__wire_encode_snapshot_ver(tx, s, NULL, out);
}

int
pt__wire_encode_snapshot_ver(struct pt__wire_tx *tx, const pt_snapshot *s,
    const uint64_t *ver, struct pt__buf *out)
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
	if ((rc = prep_make(tx, s, ver, full, &prep)) != 0 ||
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
	nchanged = 0;
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *b = !full && i < tx->prev->n_ops ?
		    &tx->prev->ops[i] : NULL;

		if (!prep.send[i])
			continue;
		/* Figures that moved say enough; else look at the buckets. */
		nch = op_changed(&s->ops[i], b, 0) ? 0 :
		    bucket_changes(&s->ops[i], b, ch);
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
		nch = bucket_changes(o, b, ch);
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
		rc = put_buckets(&e, ch, nch, dcount, b, sc);
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
		prep_commit(tx, s, ver, &prep);
		tx->seq++;
		tx->op_names = (uint32_t)s->n_ops;
		tx->ctr_names = (uint32_t)s->n_counters;
	}
	prep_free(&prep, s->n_ops, s->n_counters);
	return rc;
}
