/*
 * wire.c - the messages of the perftop protocol and the snapshot codec.
 *
 * Small messages (payloads; varints unless said otherwise):
 *
 *   HELLO     u32le magic (PT__PROTO_MAGIC), version
 *   WELCOME   version, zigzag pid, str process, start_real_ns, uptime_ns
 *   ERROR     zigzag code (< 0), str message (at most ERRMSG_WIRE_MAX bytes)
 *   SUBSCRIBE, RESET_OK and other one-number messages: one varint
 *   SNAPSHOT_REQ, RESET, BYE: empty
 *
 * A SNAPSHOT payload is decoded against the receiver's state of the
 * connection (the names it knows and the last snapshot) and carries only
 * what changed since the previous SNAPSHOT of the connection:
 *
 *   seq			previous seq + 1 (the first is 1)
 *   flags			bit 0 FULL; no other bit may be set
 *   epoch, time_ns, uptime_ns, since_reset_ns
 *   f64 tick_ns		finite and > 0
 *   rss, peak_rss, heap	bytes
 *   n, n x str			new operation names, ids known + 1 ..
 *   n, n x str			new counter names, likewise
 *   n_ops, n_ops x op		the operations that changed, ascending id
 *   n_ctr, n_ctr x counter	the counters that changed, ascending id
 *
 *   op      = id gap (>= 1; the first from 0), count delta,
 *             zigzag (total_ns delta - guess; see guess_ns() below),
 *             zigzag deltas of min_ns and max_ns (all modulo 2^64),
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
#include "ipc.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_FULL		0x01u	/* flags: deltas are against zero */
#define ERRMSG_WIRE_MAX		1024	/* longest error message accepted */
#define ERRMSG_SEND_MAX		255	/* longest error message sent */
#define PACK_K_MAX		10	/* gaps are < PT_HIST_BUCKETS < 2^11 */
#define PACK_EVENTS_MAX		(1u << 20) /* sender's cap of packed events */
#define PRED_K_MAX		20	/* Rice parameter of predicted residuals */
#define PRED_DCOUNT_MAX		((uint64_t)1 << 62) /* sender's cap */

/* The fewest bytes a changed op and a changed counter take on the wire. */
#define OP_MIN_BYTES		6
#define CTR_MIN_BYTES		2
/* A name: a length of at least 1 and at least one byte. */
#define NAME_MIN_BYTES		2

int pt__wire_force_list;
int pt__wire_no_pred;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* The sum of a histogram's buckets, saturating at UINT64_MAX. */
static uint64_t
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
static uint64_t
pred_of(uint64_t base, uint64_t dcount, uint64_t sum)
{
	if (sum == 0 || base == 0)
		return 0;
	return (uint64_t)(((unsigned __int128)dcount * base + sum / 2) / sum);
}

static size_t
dec_left(const struct pt__dec *d)
{
	return d->err != 0 ? 0 : (size_t)(d->end - d->p);
}

static void
enc_raw(struct pt__enc *e, const void *p, size_t n)
{
	int rc;

	if (e->err == 0 && (rc = pt__buf_append(e->b, p, n)) != 0)
		e->err = rc;
}

/*
 * Makes text safe to show on a terminal, in place: every byte that is not
 * part of a valid UTF-8 sequence, every control character (C0, DEL and C1)
 * becomes '?'.  The length never changes.
 */
static void
sanitize_text(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t more, i;
	uint32_t cp, min;

	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				*p = '?';
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			more = 1; cp = *p & 0x1f; min = 0x80;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			more = 2; cp = *p & 0x0f; min = 0x800;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			more = 3; cp = *p & 0x07; min = 0x10000;
		} else {
			*p++ = '?';
			continue;
		}
		for (i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (i <= more || cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f)) {
			*p++ = '?';	/* re-examine the next byte alone */
			continue;
		}
		p += more + 1;
	}
}

/* Copies at most max bytes of s to buf (max + 1 bytes), not splitting a
 * UTF-8 sequence. */
static void
copy_utf8_prefix(char *buf, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Small messages                                                            */
/* ------------------------------------------------------------------------ */

static void
enc_init(struct pt__enc *e, struct pt__buf *out)
{
	e->b = out;
	e->err = 0;
}

int
pt__msg_hello(struct pt__buf *out)
{
	struct pt__enc e;
	size_t start;

	enc_init(&e, out);
	start = pt__frame_begin(&e, PT__MSG_HELLO);
	pt__put_u32le(&e, PT__PROTO_MAGIC);
	pt__put_u64(&e, PT__PROTO_VERSION);
	return pt__frame_end(&e, start);
}

int
pt__msg_welcome(struct pt__buf *out, const struct pt__welcome *w)
{
	char process[sizeof w->process];
	struct pt__enc e;
	size_t start;

	if (w == NULL)
		return PT_EINVAL;
	copy_utf8_prefix(process, w->process, sizeof process - 1);
	enc_init(&e, out);
	start = pt__frame_begin(&e, PT__MSG_WELCOME);
	pt__put_u64(&e, w->version);
	pt__put_i64(&e, w->pid);
	pt__put_str(&e, process);
	pt__put_u64(&e, w->start_real_ns);
	pt__put_u64(&e, w->uptime_ns);
	return pt__frame_end(&e, start);
}

int
pt__msg_error(struct pt__buf *out, int code, const char *msg)
{
	char text[ERRMSG_SEND_MAX + 1];
	struct pt__enc e;
	size_t start;

	if (code >= 0)
		return PT_EINVAL;
	copy_utf8_prefix(text, msg != NULL ? msg : "", ERRMSG_SEND_MAX);
	enc_init(&e, out);
	start = pt__frame_begin(&e, PT__MSG_ERROR);
	pt__put_i64(&e, code);
	pt__put_str(&e, text);
	return pt__frame_end(&e, start);
}

int
pt__msg_u64(struct pt__buf *out, uint16_t type, uint64_t v)
{
	struct pt__enc e;
	size_t start;

	enc_init(&e, out);
	start = pt__frame_begin(&e, type);
	pt__put_u64(&e, v);
	return pt__frame_end(&e, start);
}

int
pt__msg_empty(struct pt__buf *out, uint16_t type)
{
	struct pt__enc e;
	size_t start;

	enc_init(&e, out);
	start = pt__frame_begin(&e, type);
	return pt__frame_end(&e, start);
}

static void
dec_init(struct pt__dec *d, const uint8_t *p, size_t n)
{
	static const uint8_t none;

	d->p = p != NULL ? p : &none;
	d->end = d->p + (p != NULL ? n : 0);
	d->err = 0;
}

int
pt__parse_hello(const uint8_t *p, size_t n, uint32_t *version)
{
	struct pt__dec d;
	uint32_t magic, v;

	dec_init(&d, p, n);
	magic = pt__get_u32le(&d);
	if (d.err != 0 || magic != PT__PROTO_MAGIC)
		return PT_EPROTO;
	v = (uint32_t)pt__get_u64max(&d, UINT32_MAX);
	if (d.err != 0)
		return PT_EPROTO;
	if (version != NULL)
		*version = v;
	/* Another version may well say more: the version decides first. */
	if (v != PT__PROTO_VERSION)
		return PT_EVERSION;
	return pt__dec_finish(&d);
}

int
pt__parse_welcome(const uint8_t *p, size_t n, struct pt__welcome *w)
{
	struct pt__welcome tmp;
	struct pt__dec d;
	int64_t pid;

	memset(&tmp, 0, sizeof tmp);
	dec_init(&d, p, n);
	tmp.version = (uint32_t)pt__get_u64max(&d, UINT32_MAX);
	if (d.err != 0)
		return PT_EPROTO;
	if (tmp.version != PT__PROTO_VERSION) {
		if (w != NULL)
			w->version = tmp.version;
		return PT_EVERSION;
	}
	pid = pt__get_i64(&d);
	pt__get_str(&d, tmp.process, sizeof tmp.process - 1);
	tmp.start_real_ns = pt__get_u64(&d);
	tmp.uptime_ns = pt__get_u64(&d);
	if (pt__dec_finish(&d) != 0 || pid <= 0 || pid > INT32_MAX)
		return PT_EPROTO;
	tmp.pid = (int32_t)pid;
	sanitize_text(tmp.process);
	if (w != NULL)
		*w = tmp;
	return 0;
}

int
pt__parse_error(const uint8_t *p, size_t n, int *code, char *msg,
    size_t msglen)
{
	char text[ERRMSG_WIRE_MAX + 1];
	struct pt__dec d;
	int64_t c;

	dec_init(&d, p, n);
	c = pt__get_i64(&d);
	pt__get_str(&d, text, ERRMSG_WIRE_MAX);
	if (pt__dec_finish(&d) != 0 || c >= 0 || c < INT_MIN)
		return PT_EPROTO;
	sanitize_text(text);
	if (code != NULL)
		*code = (int)c;
	if (msg != NULL && msglen > 0)
		copy_utf8_prefix(msg, text, msglen - 1);
	return 0;
}

int
pt__parse_u64(const uint8_t *p, size_t n, uint64_t *v)
{
	struct pt__dec d;
	uint64_t x;

	dec_init(&d, p, n);
	x = pt__get_u64(&d);
	if (pt__dec_finish(&d) != 0)
		return PT_EPROTO;
	if (v != NULL)
		*v = x;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Snapshot copies and connection state                                      */
/* ------------------------------------------------------------------------ */

static void
header_copy(pt_snapshot *dst, const pt_snapshot *src)
{
	dst->pid = src->pid;
	memcpy(dst->process, src->process, sizeof dst->process);
	dst->time_ns = src->time_ns;
	dst->uptime_ns = src->uptime_ns;
	dst->since_reset_ns = src->since_reset_ns;
	dst->reset_epoch = src->reset_epoch;
	dst->tick_ns = src->tick_ns;
	dst->memory = src->memory;
}

static pt_bucket *
buckets_dup(const pt_bucket *b, size_t n)
{
	pt_bucket *c;

	if (n == 0 || b == NULL)
		return NULL;
	if ((c = reallocarray(NULL, n, sizeof *c)) != NULL)
		memcpy(c, b, n * sizeof *c);
	return c;
}

pt_snapshot *
pt__snapshot_copy(const pt_snapshot *s)
{
	pt_snapshot *c;
	size_t i;

	if (s == NULL)
		return NULL;
	if ((c = pt__snapshot_alloc(s->n_ops, s->n_counters)) == NULL)
		return NULL;
	header_copy(c, s);
	c->n_ops = s->n_ops;
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *o = &s->ops[i];
		pt_op_stats *d = &c->ops[i];

		*d = *o;
		d->name = NULL;
		d->buckets = NULL;
		d->n_buckets = o->buckets != NULL ? o->n_buckets : 0;
		if ((d->name = strdup(o->name != NULL ? o->name : "")) == NULL)
			goto fail;
		if (d->n_buckets > 0 &&
		    (d->buckets = buckets_dup(o->buckets, d->n_buckets)) == NULL)
			goto fail;
	}
	c->n_counters = s->n_counters;
	for (i = 0; i < s->n_counters; i++) {
		c->counters[i] = s->counters[i];
		c->counters[i].name = strdup(s->counters[i].name != NULL ?
		    s->counters[i].name : "");
		if (c->counters[i].name == NULL)
			goto fail;
	}
	return c;
fail:
	pt_snapshot_free(c);
	return NULL;
}

void
pt__wire_tx_init(struct pt__wire_tx *tx)
{
	memset(tx, 0, sizeof *tx);
}

void
pt__wire_tx_done(struct pt__wire_tx *tx)
{
	pt_snapshot_free(tx->prev);
	free(tx->sent_ver);
	pt__wire_tx_init(tx);
}

void
pt__wire_rx_init(struct pt__wire_rx *rx)
{
	memset(rx, 0, sizeof *rx);
}

void
pt__wire_rx_done(struct pt__wire_rx *rx)
{
	uint32_t i;

	for (i = 0; i < rx->n_op_names; i++)
		pt__sh_unref(rx->op_names[i]);
	for (i = 0; i < rx->n_ctr_names; i++)
		pt__sh_unref(rx->ctr_names[i]);
	free(rx->op_names);
	free(rx->ctr_names);
	pt_snapshot_free(rx->cur);
	pt__wire_rx_init(rx);
}

/* ------------------------------------------------------------------------ */
/* Bit streams of the packed bucket form                                     */
/* ------------------------------------------------------------------------ */

struct bitw {
	struct pt__enc	*e;
	uint8_t		 cur;
	unsigned	 n;	/* bits in cur */
};

static void
bitw_put(struct bitw *w, unsigned bit)
{
	w->cur |= (uint8_t)((bit & 1u) << w->n);
	if (++w->n == 8) {
		enc_raw(w->e, &w->cur, 1);
		w->cur = 0;
		w->n = 0;
	}
}

static void
bitw_rice(struct bitw *w, uint32_t v, unsigned k)
{
	uint32_t q;
	unsigned i;

	for (q = v >> k; q > 0; q--)
		bitw_put(w, 1);
	bitw_put(w, 0);
	for (i = 0; i < k; i++)
		bitw_put(w, (v >> i) & 1u);
}

static void
bitw_flush(struct bitw *w)
{
	if (w->n > 0)
		enc_raw(w->e, &w->cur, 1);
	w->cur = 0;
	w->n = 0;
}

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

static unsigned
bitr_get(struct bitr *r)
{
	unsigned v;

	if (r->d->err != 0)
		return 0;
	if (r->bit >= r->nbits) {
		r->d->err = PT_EPROTO;
		return 0;
	}
	v = (r->d->p[r->bit / 8] >> (r->bit % 8)) & 1u;
	r->bit++;
	return v;
}

/* Reads a Rice-coded value that must be <= max. */
static uint32_t
bitr_rice(struct bitr *r, unsigned k, uint32_t max)
{
	uint32_t q = 0, v = 0;
	unsigned i;

	while (bitr_get(r) != 0) {
		if (++q > (max >> k)) {
			r->d->err = PT_EPROTO;
			return 0;
		}
	}
	for (i = 0; i < k; i++)
		v |= (uint32_t)bitr_get(r) << i;
	v |= q << k;
	if (r->d->err == 0 && v > max)
		r->d->err = PT_EPROTO;
	return r->d->err == 0 ? v : 0;
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

static void
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

static uint64_t
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
/* Snapshot encoder                                                          */
/* ------------------------------------------------------------------------ */

/* One changed bucket: the difference is neg ? -mag : mag (mag > 0). */
struct bchange {
	uint32_t	idx;
	int		neg;
	uint64_t	mag;
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

/*
 * Writes the bucket header and changes of one op in the shorter form.
 * dcount is the op's count delta (for the packed header's short form).
 * Returns 0 or PT_ERANGE when neither form can carry the changes.
 */
/*
 * Prepares the predicted form of n changes against base: the zigzag
 * residuals of every bucket from the first changed to the last, into zz
 * (room for PT_HIST_BUCKETS).  Returns the bytes it takes (SIZE_MAX when it
 * cannot carry them) and its k in *kp.
 */
static size_t
pred_prepare(const struct bchange *ch, size_t n, uint64_t dcount,
    const pt_op_stats *base, uint32_t base_first, uint32_t *zz, unsigned *kp)
{
	const pt_bucket *bb = base != NULL ? base->buckets : NULL;
	size_t nb = base != NULL ? base->n_buckets : 0, i, j = 0, c = 0;
	uint64_t sum = hist_sum(bb, nb), bits, best = UINT64_MAX, pred, z;
	uint32_t lo, hi, idx, span;
	int64_t delta;
	unsigned k, k0;

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
			*kp = k;
		}
	}
	return varint_len((uint64_t)(PACK_K_MAX + 1 + *kp) << 2 | 3) +
	    varint_len(zigzag((int64_t)lo - (int64_t)base_first)) +
	    varint_len(span - 1) + (size_t)((best + 7) / 8);
}

static int
put_buckets(struct pt__enc *e, const struct bchange *ch, size_t n,
    uint64_t dcount, const pt_op_stats *base)
{
	size_t list = varint_len((uint64_t)n << 1), packed = SIZE_MAX, i;
	size_t pred = SIZE_MAX;
	uint64_t events = 0, bits, best_bits = UINT64_MAX, hdr = 0;
	int list_ok = 1, pack_ok = n > 0 && !pt__wire_force_list;
	uint32_t base_first = first_bucket(base), zz[PT_HIST_BUCKETS];
	unsigned k, best_k = 0, pred_k = 0;
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
	if (!pt__wire_force_list && !pt__wire_no_pred)
		pred = pred_prepare(ch, n, dcount, base, base_first, zz,
		    &pred_k);
	if (!list_ok && !pack_ok && pred == SIZE_MAX)
		return PT_ERANGE;
	if (pred != SIZE_MAX && (!list_ok || pred < list) &&
	    (!pack_ok || pred < packed)) {
		pt__put_u64(e, (uint64_t)(PACK_K_MAX + 1 + pred_k) << 2 | 3);
		pt__put_i64(e, (int64_t)ch[0].idx - (int64_t)base_first);
		pt__put_u64(e, ch[n - 1].idx - ch[0].idx);
		memset(&w, 0, sizeof w);
		w.e = e;
		for (i = 0; i <= ch[n - 1].idx - ch[0].idx; i++)
			bitw_rice(&w, zz[i], pred_k);
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

	header_copy(prev, s);
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
	struct bchange *ch = NULL;
	struct enc_prep prep;
	struct pt__enc e;
	size_t start, i, j, nch, nchanged;
	struct guess g;
	uint32_t prev_id;
	int full, rc;

	if (tx == NULL || s == NULL || out == NULL)
		return PT_EINVAL;
	if ((rc = snapshot_check(tx, s)) != 0)
		return rc;
	full = need_full(tx, s);
	if ((rc = prep_make(tx, s, ver, full, &prep)) != 0 ||
	    (ch = reallocarray(NULL, PT_HIST_BUCKETS, sizeof *ch)) == NULL) {
		prep_free(&prep, s->n_ops, s->n_counters);
		return rc != 0 ? rc : PT_ENOMEM;
	}

	enc_init(&e, out);
	start = pt__frame_begin(&e, PT__MSG_SNAPSHOT);
	pt__put_u64(&e, tx->seq + 1);
	pt__put_u64(&e, full ? SNAP_FULL : 0);
	pt__put_u64(&e, s->reset_epoch);
	pt__put_u64(&e, s->time_ns);
	pt__put_u64(&e, s->uptime_ns);
	pt__put_u64(&e, s->since_reset_ns);
	pt__put_f64(&e, s->tick_ns);
	pt__put_u64(&e, s->memory.rss_bytes);
	pt__put_u64(&e, s->memory.peak_rss_bytes);
	pt__put_u64(&e, s->memory.heap_bytes);

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
		uint64_t dcount;

		if (prep.send[i] != 1)
			continue;
		nch = bucket_changes(o, b, ch);
		dcount = o->count - (b != NULL ? b->count : 0);
		memset(&g, 0, sizeof g);
		for (j = 0; j < nch; j++)
			guess_add(&g, ch[j].idx, ch[j].neg ?
			    (int64_t)(0 - ch[j].mag) : (int64_t)ch[j].mag);
		pt__put_u64(&e, o->id - prev_id);
		pt__put_u64(&e, dcount);
		pt__put_i64(&e, (int64_t)(o->total_ns -
		    (b != NULL ? b->total_ns : 0) - guess_ns(&g, s->tick_ns)));
		pt__put_i64(&e, (int64_t)(o->min_ns -
		    (b != NULL ? b->min_ns : 0)));
		pt__put_i64(&e, (int64_t)(o->max_ns -
		    (b != NULL ? b->max_ns : 0)));
		rc = put_buckets(&e, ch, nch, dcount, b);
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
	free(ch);
	if (rc == 0) {
		prep_commit(tx, s, ver, &prep);
		tx->seq++;
		tx->op_names = (uint32_t)s->n_ops;
		tx->ctr_names = (uint32_t)s->n_counters;
	}
	prep_free(&prep, s->n_ops, s->n_counters);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Snapshot decoder                                                          */
/* ------------------------------------------------------------------------ */

/* A decoded bucket change: signed difference, never 0. */
struct dchange {
	uint32_t	idx;
	int64_t		delta;
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
	header_copy(c, s);
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
pred_decode(struct pt__dec *d, unsigned k, uint64_t dcount,
    const pt_bucket *bb, size_t nb, struct dchange *ch)
{
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

		z = bitr_rice(&r, k, UINT32_MAX);
		if (d->err != 0)
			return PT_EPROTO;
		while (j < nb && bb[j].index < idx)
			j++;
		pred = pred_of(j < nb && bb[j].index == idx ? bb[j].count : 0,
		    dcount, sum);
		delta = (int64_t)pred + (int64_t)((z >> 1) ^ (0 - (z & 1)));
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

static int
buckets_decode(struct pt__dec *d, uint64_t dcount, const pt_bucket *bb,
    size_t nb, struct dchange *ch)
{
	uint32_t base_first = nb > 0 ? bb[0].index : 0;
	uint64_t hdr, n, i, events, idx, gap;
	struct bitr r;
	unsigned k;
	int64_t delta, prev, first;

	hdr = pt__get_u64(d);
	if (d->err != 0)
		return PT_EPROTO;
	if ((hdr & 3) == 3 && (hdr >> 2) > PACK_K_MAX) {
		if ((hdr >> 2) > PACK_K_MAX + 1 + PRED_K_MAX)
			return PT_EPROTO;
		return pred_decode(d, (unsigned)(hdr >> 2) - PACK_K_MAX - 1,
		    dcount, bb, nb, ch);
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
	struct dchange *ch = NULL;
	pt_snapshot *s = NULL, *copy = NULL;
	uint32_t new_ops = 0, new_ctrs = 0, n_ops, n_ctrs, id, next;
	uint64_t seq, flags, nchanged, i, gap, dcount, dtotal;
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
	if (d.err != 0 || seq != rx->seq + 1 || (flags & ~(uint64_t)SNAP_FULL))
		return PT_EPROTO;
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
	s->reset_epoch = pt__get_u64(&d);
	s->time_ns = pt__get_u64(&d);
	s->uptime_ns = pt__get_u64(&d);
	s->since_reset_ns = pt__get_u64(&d);
	s->tick_ns = pt__get_f64(&d);
	s->memory.rss_bytes = pt__get_u64(&d);
	s->memory.peak_rss_bytes = pt__get_u64(&d);
	s->memory.heap_bytes = pt__get_u64(&d);
	if (d.err != 0 || !isfinite(s->tick_ns) || !(s->tick_ns > 0) ||
	    (!full && s->reset_epoch != cur->reset_epoch))
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
	    (ch = reallocarray(NULL, PT_HIST_BUCKETS, sizeof *ch)) == NULL) {
		rc = PT_ENOMEM;
		goto out;
	}
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
		op->min_ns += (uint64_t)pt__get_i64(&d);	/* mod 2^64 */
		op->max_ns += (uint64_t)pt__get_i64(&d);
		if (d.err != 0 || (op->count > 0 && op->min_ns > op->max_ns))
			goto out;
		nch = buckets_decode(&d, dcount, op->buckets, op->n_buckets,
		    ch);
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
	pt_snapshot_free(rx->cur);
	rx->cur = s;
	if (out != NULL)
		*out = copy;
	free(ch);
	return 0;
out:
	names_drop(rx->op_names, rx->n_op_names, new_ops);
	names_drop(rx->ctr_names, rx->n_ctr_names, new_ctrs);
	pt_snapshot_free(s);
	free(ch);
	return rc;
}
