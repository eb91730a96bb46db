/*
 * bucketenc.c - one operation's bucket changes in the shortest form: list,
 * packed, predicted, adaptive or sparse (the format: codec.h), and the bit
 * writer they use.
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

/* Appends the low nbits (<= 32) of v, least significant first; whole
 * 32-bit words go out at once, their bytes lowest first. */
static inline void
bitw_bits(struct bitw *w, uint64_t v, unsigned nbits)
{
	uint8_t b[4];

	if (nbits < 64)
		v &= ((uint64_t)1 << nbits) - 1;
	w->acc |= v << w->n;
	w->n += nbits;
	if (w->n >= 32) {
		b[0] = (uint8_t)w->acc;
		b[1] = (uint8_t)(w->acc >> 8);
		b[2] = (uint8_t)(w->acc >> 16);
		b[3] = (uint8_t)(w->acc >> 24);
		enc_raw(w->e, b, 4);
		w->acc >>= 32;
		w->n -= 32;
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

/* Writes the bits left, the last byte padded with zeros. */
static void
bitw_flush(struct bitw *w)
{
	uint8_t b;

	for (; w->n > 0; w->n = w->n > 8 ? w->n - 8 : 0) {
		b = (uint8_t)w->acc;
		enc_raw(w->e, &b, 1);
		w->acc >>= 8;
	}
	w->acc = 0;
}

/* ------------------------------------------------------------------------ */
/* Bucket forms                                                              */
/* ------------------------------------------------------------------------ */

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

/* Bits of the packed stream with parameter k: each of the events - 1
 * gaps costs 1 + k bits and its value >> k more (zero gaps within a
 * bucket, then those between the n buckets). */
static uint64_t
packed_bits_k(const struct bchange *ch, size_t n, uint64_t events, unsigned k)
{
	uint64_t sum = (events - 1) * (1 + k);
	size_t i;

	for (i = 1; i < n; i++)
		sum += (ch[i].idx - ch[i - 1].idx) >> k;
	return sum;
}

/*
 * The packed stream's smallest size over k 0 .. PACK_K_MAX, and the least
 * k that gives it.  The size is convex in k (from k to k + 1 it changes by
 * events - 1 minus the sum of ceil((g >> k) / 2) over the gaps, which does
 * not fall as k grows), so a walk from near log2 of the mean gap finds it
 * in a few passes.
 */
static uint64_t
packed_best(const struct bchange *ch, size_t n, uint64_t events,
    unsigned *kp)
{
	uint64_t vals = events - 1, span = ch[n - 1].idx - ch[0].idx, f, g;
	unsigned k = 0, k0;

	while (k < PACK_K_MAX && vals > 0 && vals << (k + 1) <= span)
		k++;
	k0 = k;
	f = packed_bits_k(ch, n, events, k);
	while (k > 0 && (g = packed_bits_k(ch, n, events, k - 1)) <= f) {
		k--;
		f = g;
	}
	while (k == k0 && k < PACK_K_MAX &&
	    (g = packed_bits_k(ch, n, events, k + 1)) < f) {
		k++;
		f = g;
		k0 = k;
	}
	*kp = k;
	return f;
}

int
pt__wire_packed_check(const uint32_t *idx, const uint64_t *cnt, size_t n)
{
	struct bchange ch[PT_HIST_BUCKETS];
	uint64_t events = 0, bits, best = UINT64_MAX;
	unsigned k, best_k = 0, walk_k;
	size_t i;

	if (n == 0 || n > PT_HIST_BUCKETS)
		return 0;
	for (i = 0; i < n; i++) {
		ch[i].idx = idx[i];
		ch[i].neg = 0;
		ch[i].mag = cnt[i];
		events += cnt[i];
	}
	for (k = 0; k <= PACK_K_MAX; k++)
		if ((bits = packed_bits_k(ch, n, events, k)) < best) {
			best = bits;
			best_k = k;
		}
	return packed_best(ch, n, events, &walk_k) == best && walk_k == best_k;
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
    const pt_op_stats *base, int after, uint32_t base_first,
    struct escratch *sc, struct pred_choice *pc)
{
	uint32_t *zz = sc->zz, *za = sc->za;
	uint8_t *k0s = sc->k0s;
	int adapt_ok = 1;
	const pt_bucket *bb = base != NULL ? base->buckets : NULL;
	size_t nb = base != NULL ? base->n_buckets : 0, i, j = 0, c = 0;
	size_t extra = 0;
	uint64_t sum = hist_sum(bb, nb), bits, best = UINT64_MAX, pred, z, bc;
	uint32_t lo, hi, idx, span, nnz = 0;
	int64_t delta;
	unsigned k, k0, kr = 0;
	int off;

	if (n == 0 || dcount > PRED_DCOUNT_MAX)
		return SIZE_MAX;
	/* base after the changes: its sum before them. */
	for (i = 0; after && i < n; i++)
		sum -= ch[i].mag;
	lo = ch[0].idx;
	hi = ch[n - 1].idx;
	span = hi - lo + 1;
	for (idx = lo, i = 0; idx <= hi; idx++, i++) {
		while (j < nb && bb[j].index < idx)
			j++;
		bc = j < nb && bb[j].index == idx ? bb[j].count : 0;
		if (after && c < n && ch[c].idx == idx)
			bc -= ch[c].mag;
		pred = pred_of(bc, dcount, sum);
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
int
pt__put_buckets(struct pt__enc *e, const struct bchange *ch, size_t n,
    uint64_t dcount, const pt_op_stats *base, int after, uint32_t first,
    struct escratch *sc)
{
	uint32_t *zz = sc->zz, *za = sc->za;
	uint8_t *k0s = sc->k0s;
	size_t list = varint_len((uint64_t)n << 1), packed = SIZE_MAX, i;
	size_t pred = SIZE_MAX;
	uint64_t events = 0, best_bits = UINT64_MAX, hdr = 0;
	int list_ok = 1, pack_ok = n > 0 && !pt__wire_force_list;
	uint32_t base_first = first != UINT32_MAX ? first : first_bucket(base);
	unsigned best_k = 0;
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
		best_bits = packed_best(ch, n, events, &best_k);
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
		pred = pred_prepare(ch, n, dcount, base, after, base_first, sc,
		    &pc);
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
