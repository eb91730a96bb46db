/*
 * codec.h - what the snapshot encoder (snapenc.c, bucketenc.c), the
 * decoder (snapdec.c) and the messages (wire.c) share: the snapshot
 * format, its limits, the figures both ends must compute alike
 * (predictions, the guessed total) and snapshot copies.  Included by those
 * files only.
 *
 * A SNAPSHOT payload is decoded against the receiver's state of the
 * connection (the names it knows and the last snapshot) and carries only
 * what changed since the previous SNAPSHOT of the connection:
 *
 *   seq			previous seq + 1 (the first is 1)
 *   flags			bit 0 FULL, bit 1 TICK; no other bit may be set
 *   with FULL:  epoch, time_ns, uptime_ns, since_reset_ns,
 *               rss, peak_rss, heap (bytes)
 *   without (protocol 3; the epoch is the previous snapshot's): zigzag
 *               deltas (mod 2^64) of time_ns, of uptime_ns minus that of
 *               time_ns, of since_reset_ns minus that of uptime_ns, and
 *               of rss, peak_rss and heap: a few bytes where the absolute
 *               figures take about 40
 *   with TICK (always with FULL): f64 tick_ns, finite and > 0; without,
 *               the previous snapshot's
 *   n, n x str			new operation names, ids known + 1 ..
 *   n, n x str			new counter names, likewise
 *   n_ops, n_ops x op		the operations that changed, ascending id
 *   n_ctr, n_ctr x counter	the counters that changed, ascending id
 *
 *   op      = id gap (>= 1; the first from 0) << 2 | M << 1 | X,
 *             count delta,
 *             zigzag (total_ns delta - guess; see guess_ns() below),
 *             with M, the zigzag delta of min_ns, with X, that of max_ns
 *             (both non-zero; without, they keep their values; all
 *             modulo 2^64; protocol 4: a busy op's min and max rarely
 *             move, and two zero bytes were a twentieth of its frame),
 *             bucket header, bucket changes; with events, the resulting
 *             min_ns must not exceed max_ns
 *   counter = id gap (>= 1; the first from 0), zigzag value delta (mod 2^64)
 *
 * Deltas are against the receiver's previous snapshot, or against all
 * zeroes with FULL; operations and counters not listed keep their values
 * (or are zero with FULL).  Ids never exceed the names known after this
 * snapshot's names.  A FULL snapshot is sent first, after a reset (epoch
 * change) and whenever a count went down; a delta must carry the epoch of
 * the receiver's previous snapshot.
 *
 * The bucket changes of an operation come in one of three forms, chosen by
 * the sender per operation, whichever is shortest; the bucket header says
 * which:
 *
 *   list (bit 0 = 0): header = n << 1, then n x (index gap, zigzag delta):
 *       the index before the first is -1, gaps are >= 1 (indexes strictly
 *       ascend and stay below PT_HIST_BUCKETS), deltas are non-zero and no
 *       bucket may end up negative.
 *
 *   packed (bit 0 = 1): the new events as a sorted list of bucket indexes,
 *       for the common case of many small increments.  Header =
 *       k << 2 | 3 when the number of events E equals the op's count
 *       delta, else (E << 4 | k) << 2 | 1 (E >= 1); k is 0 .. 10.  Then the
 *       first event's bucket index as a zigzag difference from the op's
 *       first non-empty bucket before (0 if none), and a bit stream (least
 *       significant bit of each byte first) of the E - 1 gaps from each
 *       event's bucket to the next one's (0 for the same bucket), each
 *       Rice-coded: gap >> k in unary (that many 1 bits, then a 0), then
 *       the low k bits of the gap, least significant first.  The stream
 *       ends at a byte boundary; its padding bits must be 0.
 *
 *   predicted (header = (11 + k) << 2 | 3, k 0 .. 20): for the busy
 *       operations whose new events fall much like the old ones.  The first
 *       changed bucket's index as a zigzag difference from the op's first
 *       non-empty bucket before (0 if none), the number of buckets from it
 *       to the last changed one minus 1, then a bit stream (as above) of
 *       one Rice-coded zigzag residual per bucket of that span: the
 *       bucket's change minus its prediction, round(D x B / S) in integer
 *       arithmetic, where D is the op's count delta (at most 2^62), B the
 *       bucket's count before and S the sum of all its buckets before (the
 *       prediction is 0 when S is 0).  A change of 0 leaves the bucket
 *       alone; at least one bucket must change.
 *
 *   adaptive (header = (32 + o) << 2 | 3, o 0 .. 7; protocol 3): the
 *       predicted form with a Rice parameter per bucket, since a bucket
 *       predicted to get P events strays from P by about sqrt(P): k =
 *       floor(log2 P) / 2 (0 when P is 0) plus o - 3, kept within 0 .. 20.
 *       The sender picks o; the span and first index are as in the
 *       predicted form.  No bucket may go down (as in the packed form), so
 *       a change C >= 0 and its residual R = C - P >= -P: R is coded as
 *       zigzag(R) when |R| <= P, else as R + P, which wastes no code on
 *       residuals below -P (for P = 0, the code is C itself).
 *
 *   sparse (header = (40 + o) << 2 | 3, o 0 .. 7; protocol 4): the
 *       adaptive form, except for the buckets of the span predicted to get
 *       nothing (P = 0: most of a busy op's span, in its tails, where one
 *       bit each is mostly wasted).  After the span comes
 *       nnz << 4 | kr (kr 0 .. 10).  The bit stream holds first the codes
 *       of the buckets with P > 0, as in the adaptive form with offset o,
 *       then nnz x (run, value): among the buckets with P = 0, in order,
 *       run (Rice-coded with kr) is the number left alone before the next
 *       one that changes, and value - 1 its change minus 1 in Exp-Golomb
 *       order 0 (L = bit length of value minus 1: L one bits, a 0, then
 *       the low L bits of value, least significant first).  A run may not
 *       reach past the span.
 *
 * A list change costs at least two bytes; a packed event one to three bits
 * in a dense histogram, which is what keeps a typical delta small: ~100 new
 * events of a log-normal latency land in 50 to 80 buckets.
 *
 * The decoder checks everything and never trusts a count: element counts
 * are capped by the bytes left (each element needs at least one byte, or one
 * bit in a packed stream) before anything is allocated, and a snapshot is
 * decoded into a new structure that replaces the receiver's state only once
 * the whole payload was accepted.
 */
#ifndef PT_IPC_CODEC_H
#define PT_IPC_CODEC_H

#include "ipc.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_FULL		0x01u	/* flags: deltas are against zero */
#define SNAP_TICK		0x02u	/* flags: tick_ns follows */
#define PACK_K_MAX		10	/* gaps are < PT_HIST_BUCKETS < 2^11 */
#define PACK_EVENTS_MAX		(1u << 20) /* sender's cap of packed events */
#define PRED_K_MAX		20	/* Rice parameter of predicted residuals */
#define PRED_DCOUNT_MAX		((uint64_t)1 << 62) /* sender's cap */
#define ADAPT_BASE		(PACK_K_MAX + 1 + PRED_K_MAX + 1) /* 32 */
#define ADAPT_BIAS		3	/* header o = offset + ADAPT_BIAS */
#define ADAPT_CODES		8	/* o is 0 .. 7: offsets -3 .. +4 */
#define SPARSE_BASE		(ADAPT_BASE + ADAPT_CODES)	/* 40 */
#define SPARSE_KR_MAX		10	/* runs are < PT_HIST_BUCKETS */

/* The fewest bytes a changed op and a changed counter take on the wire. */
#define OP_MIN_BYTES		4
#define CTR_MIN_BYTES		2
/* A name: a length of at least 1 and at least one byte. */
#define NAME_MIN_BYTES		2

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static inline size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* The sum of a histogram's buckets, saturating at UINT64_MAX. */
static inline uint64_t
hist_sum(const pt_bucket *b, size_t n)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum = b[i].count > UINT64_MAX - sum ? UINT64_MAX :
		    sum + b[i].count;
	return sum;
}

/*
 * The predicted change of a bucket holding base of the sum events before:
 * the op's new events, dcount, spread like the old ones.  Integer arithmetic,
 * so both ends compute the same figure.
 */
static inline uint64_t
pred_of(uint64_t base, uint64_t dcount, uint64_t sum)
{
	if (sum == 0 || base == 0)
		return 0;
	return (uint64_t)(((unsigned __int128)dcount * base + sum / 2) / sum);
}

/*
 * The adaptive form's Rice parameter of a bucket predicted to change by
 * pred, before the op's offset: about log2 of the square root of pred.
 */
static inline int
adapt_k0(uint64_t pred)
{
	return pred == 0 ? 0 : (63 - __builtin_clzll(pred)) / 2;
}

/* The adaptive form's code of residual r of a change predicted as pred. */
static inline uint64_t
adapt_fold(int64_t r, uint64_t pred)
{
	return r > (int64_t)pred ? (uint64_t)r + pred : zigzag(r);
}

/* The parameter itself, with the op's offset, within 0 .. PRED_K_MAX. */
static inline unsigned
adapt_k(int k0, int off)
{
	int k = k0 + off;

	return k < 0 ? 0 : k > PRED_K_MAX ? PRED_K_MAX : (unsigned)k;
}

static inline size_t
dec_left(const struct pt__dec *d)
{
	return d->err != 0 ? 0 : (size_t)(d->end - d->p);
}

static inline void
enc_raw(struct pt__enc *e, const void *p, size_t n)
{
	int rc;

	if (e->err == 0 && (rc = pt__buf_append(e->b, p, n)) != 0)
		e->err = rc;
}

/* ------------------------------------------------------------------------ */
/* The total guessed from the bucket changes                                 */
/* ------------------------------------------------------------------------ */

/*
 * An op's total_ns delta is sent as its difference from a guess both ends
 * make from the bucket changes alone: the sum of each changed bucket's
 * middle times its delta, in nanoseconds.  The guess is within the
 * histogram's resolution, so the difference is small.  It is computed in
 * integers only (tick_ns in 2^-20 steps), so both ends agree to the bit;
 * anything that would overflow makes the guess 0.
 */
struct guess {
	int64_t	sum2;	/* sum of delta x (lo + hi) in ticks */
	int	bad;
};

static inline void
guess_add(struct guess *g, uint32_t idx, int64_t delta)
{
	uint64_t lo, hi;
	int64_t mid2, term;

	pt__hist_bounds(idx, &lo, &hi);
	mid2 = (int64_t)(hi == UINT64_MAX ? 2 * lo : lo + hi);	/* < 2^37 */
	if (__builtin_mul_overflow(delta, mid2, &term) ||
	    __builtin_add_overflow(g->sum2, term, &g->sum2))
		g->bad = 1;
}

static inline uint64_t
guess_ns(const struct guess *g, double tick_ns)
{
	int64_t t, ns;

	if (g->bad || !(tick_ns > 0) || !(tick_ns < 1048576.0))
		return 0;
	t = (int64_t)(tick_ns * 1048576.0);	/* exact scaling, truncated */
	if (__builtin_mul_overflow(g->sum2, t, &ns))
		return 0;
	return (uint64_t)(ns / 2097152);	/* / 2 / 2^20 */
}

/* ------------------------------------------------------------------------ */
/* Snapshot copies                                                           */
/* ------------------------------------------------------------------------ */

static inline void
enc_init(struct pt__enc *e, struct pt__buf *out)
{
	e->b = out;
	e->err = 0;
}

/* A decoder over n bytes at p (p may be NULL when n is 0). */
static inline void
dec_init(struct pt__dec *d, const uint8_t *p, size_t n)
{
	static const uint8_t none;

	d->p = p != NULL ? p : &none;
	d->end = d->p + (p != NULL ? n : 0);
	d->err = 0;
}

static inline pt_bucket *
buckets_dup(const pt_bucket *b, size_t n)
{
	pt_bucket *c;

	if (n == 0 || b == NULL)
		return NULL;
	if ((c = reallocarray(NULL, n, sizeof *c)) != NULL)
		memcpy(c, b, n * sizeof *c);
	return c;
}

/* ------------------------------------------------------------------------ */
/* The encoder's shared parts (snapenc.c, bucketenc.c)                       */
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
 * Writes the bucket header and the n changes ch of one op (dcount: its
 * count delta) in the shortest form.  What the receiver has is base (NULL
 * for nothing), or with after set, base minus the changes (all positive
 * then); first is the index of its first non-empty bucket when the caller
 * knows it, else UINT32_MAX.  Returns 0 or PT_ERANGE when no form can
 * carry them.
 */
int	pt__put_buckets(struct pt__enc *e, const struct bchange *ch, size_t n,
	    uint64_t dcount, const pt_op_stats *base, int after, uint32_t first,
	    struct escratch *sc);

#endif /* PT_IPC_CODEC_H */
