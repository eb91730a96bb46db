/*
 * test-wire.c - unit tests of ipc/frame.c, ipc/wire.c, ipc/snapenc.c,
 * ipc/bucketenc.c and ipc/snapdec.c: buffers, varints, frames, the small messages and the
 * snapshot codec (round trips, name high-water marks, FULL after a reset,
 * and malformed input of every kind).
 * Also prints what a changed operation costs on the wire.
 */
#include "ipc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "cunit.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

#define BUF_MAX		(64u << 20)

/* A deterministic PRNG (xorshift64*) and a standard normal deviate. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static double
rng_unit(void)		/* (0, 1) */
{
	return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static double
rng_normal(void)
{
	return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

/* Adds count events of ticks ticks to op (buckets kept sorted). */
static void
op_add(pt_op_stats *op, uint64_t ticks, uint64_t count, double tick_ns)
{
	uint32_t idx = pt__hist_index(ticks);
	uint64_t ns = (uint64_t)llround((double)ticks * tick_ns);
	size_t i;

	for (i = 0; i < op->n_buckets && op->buckets[i].index < idx; i++)
		;
	if (i == op->n_buckets || op->buckets[i].index != idx) {
		op->buckets = realloc(op->buckets,
		    (op->n_buckets + 1) * sizeof *op->buckets);
		CU_ASSERT_FATAL(op->buckets != NULL);
		memmove(&op->buckets[i + 1], &op->buckets[i],
		    (op->n_buckets - i) * sizeof *op->buckets);
		op->buckets[i].index = idx;
		op->buckets[i].count = 0;
		op->n_buckets++;
	}
	op->buckets[i].count += count;
	if (op->count == 0 || ns < op->min_ns)
		op->min_ns = ns;
	if (op->count == 0 || ns > op->max_ns)
		op->max_ns = ns;
	op->count += count;
	op->total_ns += ns * count;
}

/* A hand-made snapshot with n_ops ops "op.N" and n_ctr counters "ctr.N". */
static pt_snapshot *
mk_snap(size_t n_ops, size_t n_ctr, uint64_t epoch)
{
	pt_snapshot *s = pt__snapshot_alloc(n_ops, n_ctr);
	char name[64];
	size_t i;

	CU_ASSERT_FATAL(s != NULL);
	s->pid = 4242;
	strcpy(s->process, "handmade");
	s->time_ns = 1700000000123456789ull;
	s->uptime_ns = 5000000000ull;
	s->since_reset_ns = 4000000000ull;
	s->reset_epoch = epoch;
	s->tick_ns = 0.384615;
	s->memory.rss_bytes = 10u << 20;
	s->memory.peak_rss_bytes = 12u << 20;
	s->memory.heap_bytes = 3u << 20;
	for (i = 0; i < n_ops; i++) {
		snprintf(name, sizeof name, "op.%zu", i + 1);
		s->ops[i].name = strdup(name);
		s->ops[i].id = (uint32_t)(i + 1);
	}
	s->n_ops = n_ops;
	for (i = 0; i < n_ctr; i++) {
		snprintf(name, sizeof name, "ctr.%zu", i + 1);
		s->counters[i].name = strdup(name);
		s->counters[i].id = (uint32_t)(i + 1);
	}
	s->n_counters = n_ctr;
	return s;
}

/* Compares two snapshots field by field (percentiles recomputed on a). */
static int
snap_equal(const pt_snapshot *a, const pt_snapshot *b)
{
	size_t i, j;

	if (a->reset_epoch != b->reset_epoch || a->time_ns != b->time_ns ||
	    a->uptime_ns != b->uptime_ns ||
	    a->since_reset_ns != b->since_reset_ns ||
	    a->tick_ns != b->tick_ns ||
	    memcmp(&a->memory, &b->memory, sizeof a->memory) != 0 ||
	    a->n_ops != b->n_ops || a->n_counters != b->n_counters)
		return 0;
	for (i = 0; i < a->n_ops; i++) {
		const pt_op_stats *x = &a->ops[i], *y = &b->ops[i];
		pt_op_stats t = *x;
		size_t nx = 0;

		pt_op_stats_finish(&t, a->tick_ns);
		if (strcmp(x->name, y->name) != 0 || x->id != y->id ||
		    x->count != y->count || x->total_ns != y->total_ns ||
		    x->min_ns != y->min_ns || x->max_ns != y->max_ns ||
		    t.p50_ns != y->p50_ns || t.p99_ns != y->p99_ns ||
		    t.p999_ns != y->p999_ns || t.mean_ns != y->mean_ns)
			return 0;
		/* Zero-count buckets of a are dropped by the decoder. */
		for (j = 0; j < x->n_buckets; j++) {
			if (x->buckets[j].count == 0)
				continue;
			if (nx >= y->n_buckets ||
			    y->buckets[nx].index != x->buckets[j].index ||
			    y->buckets[nx].count != x->buckets[j].count)
				return 0;
			nx++;
		}
		if (nx != y->n_buckets)
			return 0;
	}
	for (i = 0; i < a->n_counters; i++)
		if (strcmp(a->counters[i].name, b->counters[i].name) != 0 ||
		    a->counters[i].id != b->counters[i].id ||
		    a->counters[i].value != b->counters[i].value)
			return 0;
	return 1;
}

/*
 * What the fixed part of a SNAPSHOT payload says: flags is its FULL bit
 * (1 or 0), tick whether tick_ns was sent, epoch only with FULL.
 */
struct hdr {
	uint64_t	seq, flags, epoch, tick;
	uint64_t	new_ops, new_ctrs;
	uint64_t	changed_ops;
};

/* Reads the fixed part of a SNAPSHOT payload, leaving d at the first op. */
static void
peek_skip(struct pt__dec *d, struct hdr *h)
{
	char name[PT_NAME_MAX + 1];
	uint64_t i, flags;

	h->seq = pt__get_u64(d);
	flags = pt__get_u64(d);
	h->flags = flags & 1;
	h->tick = (flags & 2) != 0;
	h->epoch = UINT64_MAX;
	if (h->flags) {
		h->epoch = pt__get_u64(d);
		for (i = 0; i < 6; i++)		/* times and memory */
			pt__get_u64(d);
	} else {
		for (i = 0; i < 6; i++)		/* their deltas */
			pt__get_i64(d);
	}
	if (h->tick)
		pt__get_f64(d);
	h->new_ops = pt__get_u64(d);
	for (i = 0; i < h->new_ops; i++)
		pt__get_str(d, name, PT_NAME_MAX);
	h->new_ctrs = pt__get_u64(d);
	for (i = 0; i < h->new_ctrs; i++)
		pt__get_str(d, name, PT_NAME_MAX);
	h->changed_ops = pt__get_u64(d);
	CU_ASSERT(d->err == 0);
}

static void
peek_hdr(const uint8_t *p, size_t n, struct hdr *h)
{
	struct pt__dec d = { p, p + n, 0 };

	peek_skip(&d, h);
}

/*
 * Encodes s with tx into a fresh frame; returns the frame in *frame (the
 * caller frees it) and its length.
 */
static size_t
encode(struct pt__wire_tx *tx, const pt_snapshot *s, uint8_t **frame)
{
	struct pt__buf b;
	size_t n;

	pt__buf_init(&b, BUF_MAX);
	CU_ASSERT_FATAL(pt__wire_encode_snapshot(tx, s, &b) == 0);
	n = b.len;
	*frame = malloc(n);
	CU_ASSERT_FATAL(*frame != NULL);
	memcpy(*frame, pt__buf_head(&b), n);
	pt__buf_free(&b);
	return n;
}

/* Parses a frame that must be one whole SNAPSHOT frame. */
static void
payload_of(const uint8_t *frame, size_t len, const uint8_t **p, size_t *n)
{
	uint16_t type;
	size_t flen;

	CU_ASSERT_FATAL(pt__frame_parse(frame, len, &type, p, n, &flen) == 1);
	CU_ASSERT(type == PT__MSG_SNAPSHOT);
	CU_ASSERT(flen == len);
}

/*
 * Sends s through tx and rx; checks the decoded snapshot equals s.
 * Returns the frame length; fills *h with its header when h is set.
 */
static size_t
round_trip(struct pt__wire_tx *tx, struct pt__wire_rx *rx,
    const pt_snapshot *s, struct hdr *h)
{
	pt_snapshot *got = NULL;
	const uint8_t *p;
	uint8_t *frame;
	size_t len, n;
	int rc;

	len = encode(tx, s, &frame);
	payload_of(frame, len, &p, &n);
	if (h != NULL)
		peek_hdr(p, n, h);
	rc = pt__wire_decode_snapshot(rx, p, n, &got);
	CU_ASSERT(rc == 0);
	if (rc == 0) {
		CU_ASSERT(snap_equal(s, got));
		CU_ASSERT(got->pid == rx->pid);
		CU_ASSERT(strcmp(got->process, rx->process) == 0);
		CU_ASSERT(snap_equal(s, rx->cur));
	}
	pt_snapshot_free(got);
	free(frame);
	return len;
}

/* A snapshot state of rx to check "unchanged" against. */
struct rx_mark {
	uint64_t	 seq;
	uint32_t	 n_op_names, n_ctr_names;
	pt_snapshot	*cur;
};

static void
rx_mark(const struct pt__wire_rx *rx, struct rx_mark *m)
{
	m->seq = rx->seq;
	m->n_op_names = rx->n_op_names;
	m->n_ctr_names = rx->n_ctr_names;
	m->cur = rx->cur;
}

static int
rx_same(const struct pt__wire_rx *rx, const struct rx_mark *m)
{
	return rx->seq == m->seq && rx->n_op_names == m->n_op_names &&
	    rx->n_ctr_names == m->n_ctr_names && rx->cur == m->cur;
}

/* Decodes a payload that must be refused with code and change nothing. */
static void
expect_reject(struct pt__wire_rx *rx, const uint8_t *p, size_t n, int code)
{
	struct rx_mark m;
	pt_snapshot *got = (pt_snapshot *)&got;
	int rc;

	rx_mark(rx, &m);
	rc = pt__wire_decode_snapshot(rx, p, n, &got);
	CU_ASSERT_EQUAL(rc, code);
	CU_ASSERT(got == NULL);
	CU_ASSERT(rx_same(rx, &m));
	if (rc == 0)
		pt_snapshot_free(got);
}

/* ------------------------------------------------------------------------ */
/* Buffers and primitives                                                    */
/* ------------------------------------------------------------------------ */

static void
test_buf(void)
{
	struct pt__buf b;
	uint8_t chunk[1000], out[1000];
	size_t i, written = 0, read = 0;

	pt__buf_init(&b, 5000);
	CU_ASSERT(pt__buf_append(&b, chunk, 0) == 0);
	CU_ASSERT(pt__buf_reserve(&b, 5001) == PT_ERANGE);
	CU_ASSERT(pt__buf_reserve(&b, SIZE_MAX) == PT_ERANGE);
	CU_ASSERT(pt__buf_reserve(&b, 5000) == 0);
	/* A stream of appends and partial consumes keeps the bytes in order
	 * and never holds more than max. */
	for (i = 0; i < 2000; i++) {
		size_t n = 1 + (size_t)(rng_next() % sizeof chunk), j, c;

		for (j = 0; j < n; j++)
			chunk[j] = (uint8_t)(written + j);
		if (b.len + n > b.max) {
			CU_ASSERT(pt__buf_append(&b, chunk, n) == PT_ERANGE);
		} else {
			CU_ASSERT_FATAL(pt__buf_append(&b, chunk, n) == 0);
			written += n;
		}
		CU_ASSERT(b.cap <= b.max);
		c = (size_t)(rng_next() % (b.len + 1));
		memcpy(out, pt__buf_head(&b), c < sizeof out ? c : sizeof out);
		for (j = 0; j < c && j < sizeof out; j++)
			CU_ASSERT_FATAL(out[j] == (uint8_t)(read + j));
		pt__buf_consume(&b, c);
		read += c;
		CU_ASSERT(b.off + b.len <= b.cap);
	}
	pt__buf_consume(&b, b.len + 10);
	CU_ASSERT(b.len == 0 && b.off == 0);
	pt__buf_free(&b);
	CU_ASSERT(b.data == NULL && b.len == 0 && b.max == 5000);
}

static void
test_varint(void)
{
	static const uint64_t u[] = { 0, 1, 127, 128, 300, 16383, 16384,
	    UINT32_MAX, (uint64_t)1 << 56, (uint64_t)1 << 63, UINT64_MAX };
	static const int64_t s[] = { 0, -1, 1, -64, 64, INT32_MIN, INT64_MAX,
	    INT64_MIN, INT64_MIN + 1 };
	struct pt__buf b;
	struct pt__enc e;
	struct pt__dec d;
	size_t i;
	double f;

	pt__buf_init(&b, 4096);
	e.b = &b;
	e.err = 0;
	for (i = 0; i < sizeof u / sizeof u[0]; i++)
		pt__put_u64(&e, u[i]);
	for (i = 0; i < sizeof s / sizeof s[0]; i++)
		pt__put_i64(&e, s[i]);
	pt__put_f64(&e, -2.5);
	pt__put_f64(&e, NAN);
	pt__put_u32le(&e, 0xdeadbeef);
	pt__put_str(&e, "héllo");
	pt__put_str(&e, NULL);
	CU_ASSERT_FATAL(e.err == 0);
	/* UINT64_MAX takes exactly 10 bytes; 127 one; 128 two. */
	CU_ASSERT(pt__buf_head(&b)[0] == 0 && pt__buf_head(&b)[2] == 127 &&
	    pt__buf_head(&b)[3] == 0x80 && pt__buf_head(&b)[4] == 1);

	d.p = pt__buf_head(&b);
	d.end = d.p + b.len;
	d.err = 0;
	for (i = 0; i < sizeof u / sizeof u[0]; i++)
		CU_ASSERT(pt__get_u64(&d) == u[i]);
	for (i = 0; i < sizeof s / sizeof s[0]; i++)
		CU_ASSERT(pt__get_i64(&d) == s[i]);
	CU_ASSERT(pt__get_f64(&d) == -2.5);
	f = pt__get_f64(&d);
	CU_ASSERT(isnan(f));
	CU_ASSERT(pt__get_u32le(&d) == 0xdeadbeef);
	{
		char str[16];

		pt__get_str(&d, str, 15);
		CU_ASSERT(strcmp(str, "héllo") == 0);
		pt__get_str(&d, str, 15);
		CU_ASSERT(strcmp(str, "") == 0);
	}
	CU_ASSERT(pt__dec_finish(&d) == 0);
	pt__buf_free(&b);
}

/* Decodes bytes as one varint and returns d.err. */
static int
varint_err(const uint8_t *p, size_t n, uint64_t *v)
{
	struct pt__dec d = { p, p + n, 0 };

	*v = pt__get_u64(&d);
	if (d.err == 0 && d.p != p + n)
		return 1;	/* did not consume what was expected */
	return d.err;
}

static void
test_bad_varints(void)
{
	static const uint8_t max10[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0x01 };
	static const uint8_t over10[10] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x02 };
	static const uint8_t long11[11] = { 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t trunc[3] = { 0x80, 0x80, 0x80 };
	static const uint8_t big[2] = { 0x80, 0x01 };
	struct pt__dec d;
	uint64_t v;
	char s[8];

	CU_ASSERT(varint_err(max10, 10, &v) == 0 && v == UINT64_MAX);
	CU_ASSERT(varint_err(over10, 10, &v) == PT_EPROTO && v == 0);
	CU_ASSERT(varint_err(long11, 11, &v) == PT_EPROTO);
	CU_ASSERT(varint_err(trunc, 3, &v) == PT_EPROTO);
	CU_ASSERT(varint_err(trunc, 0, &v) == PT_EPROTO);

	/* Errors stick; later reads return 0 and consume nothing. */
	d.p = trunc;
	d.end = trunc + 3;
	d.err = 0;
	pt__get_u64(&d);
	CU_ASSERT(d.err == PT_EPROTO && d.p == trunc);
	CU_ASSERT(pt__get_u32le(&d) == 0 && d.p == trunc);
	CU_ASSERT(pt__dec_finish(&d) == PT_EPROTO);

	/* get_u64max */
	d.p = big;
	d.end = big + 2;
	d.err = 0;
	CU_ASSERT(pt__get_u64max(&d, 128) == 128 && d.err == 0);
	d.p = big;
	d.err = 0;
	CU_ASSERT(pt__get_u64max(&d, 127) == 0 && d.err == PT_EPROTO);

	/* Fixed-width reads past the end. */
	d.p = big;
	d.end = big + 2;
	d.err = 0;
	pt__get_u32le(&d);
	CU_ASSERT(d.err == PT_EPROTO);
	d.p = max10;
	d.end = max10 + 7;
	d.err = 0;
	pt__get_f64(&d);
	CU_ASSERT(d.err == PT_EPROTO);

	/* Strings: too long, past the end, with a NUL, exactly maxlen. */
	{
		static const uint8_t s_long[] = { 8, 'a', 'b', 'c', 'd', 'e',
		    'f', 'g', 'h' };
		static const uint8_t s_short[] = { 5, 'a', 'b' };
		static const uint8_t s_nul[] = { 3, 'a', 0, 'b' };
		static const uint8_t s_ok[] = { 7, 'a', 'b', 'c', 'd', 'e',
		    'f', 'g' };

		d.p = s_long; d.end = s_long + sizeof s_long; d.err = 0;
		pt__get_str(&d, s, 7);
		CU_ASSERT(d.err == PT_EPROTO && s[0] == '\0');
		d.p = s_short; d.end = s_short + sizeof s_short; d.err = 0;
		pt__get_str(&d, s, 7);
		CU_ASSERT(d.err == PT_EPROTO);
		d.p = s_nul; d.end = s_nul + sizeof s_nul; d.err = 0;
		pt__get_str(&d, s, 7);
		CU_ASSERT(d.err == PT_EPROTO);
		d.p = s_ok; d.end = s_ok + sizeof s_ok; d.err = 0;
		pt__get_str(&d, s, 7);
		CU_ASSERT(d.err == 0 && strcmp(s, "abcdefg") == 0);
		CU_ASSERT(pt__dec_finish(&d) == 0);
	}
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                    */
/* ------------------------------------------------------------------------ */

static int
parse_len(uint32_t flen, size_t have, const uint8_t *extra)
{
	uint8_t h[16] = { 0 };
	const uint8_t *p;
	uint16_t type;
	size_t n, fl;

	h[0] = (uint8_t)flen;
	h[1] = (uint8_t)(flen >> 8);
	h[2] = (uint8_t)(flen >> 16);
	h[3] = (uint8_t)(flen >> 24);
	h[4] = 6;
	if (extra != NULL)
		memcpy(h + 6, extra, 2);
	return pt__frame_parse(h, have, &type, &p, &n, &fl);
}

static void
test_frame_parse(void)
{
	static const uint8_t res1[2] = { 1, 0 }, res2[2] = { 0, 0x80 };
	const uint8_t *p;
	uint8_t *big;
	uint16_t type;
	size_t n, fl;

	CU_ASSERT(parse_len(0, 8, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(0, 4, NULL) == PT_EPROTO);	/* seen early */
	CU_ASSERT(parse_len(7, 8, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(8, 8, NULL) == 1);
	CU_ASSERT(parse_len(8, 3, NULL) == 0);
	CU_ASSERT(parse_len(8, 7, NULL) == 0);
	CU_ASSERT(parse_len(9, 8, NULL) == 0);
	CU_ASSERT(parse_len(PT__FRAME_MAX, 8, NULL) == 0);
	CU_ASSERT(parse_len(PT__FRAME_MAX + 1, 8, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(PT__FRAME_MAX + 1, 4, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(0xFFFFFFFFu, 8, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(8, 8, res1) == PT_EPROTO);
	CU_ASSERT(parse_len(8, 8, res2) == PT_EPROTO);
	CU_ASSERT(parse_len(16, 16, res2) == PT_EPROTO);

	/* An empty frame, then a frame of exactly PT__FRAME_MAX bytes. */
	big = calloc(1, PT__FRAME_MAX + 8);
	CU_ASSERT_FATAL(big != NULL);
	big[0] = 8;
	big[4] = PT__MSG_BYE;
	CU_ASSERT(pt__frame_parse(big, 8, &type, &p, &n, &fl) == 1);
	CU_ASSERT(type == PT__MSG_BYE && n == 0 && fl == 8 && p == big + 8);
	big[0] = 0; big[1] = 0; big[2] = 0; big[3] = 1;	/* 16 MiB */
	big[4] = PT__MSG_SNAPSHOT;
	CU_ASSERT(pt__frame_parse(big, PT__FRAME_MAX - 1, &type, &p, &n,
	    &fl) == 0);
	CU_ASSERT(pt__frame_parse(big, PT__FRAME_MAX + 8, &type, &p, &n,
	    &fl) == 1);
	CU_ASSERT(type == PT__MSG_SNAPSHOT && fl == PT__FRAME_MAX &&
	    n == PT__FRAME_MAX - 8);
	free(big);
}

static void
test_frame_build(void)
{
	struct pt__buf b;
	struct pt__enc e;
	const uint8_t *p;
	uint16_t type;
	size_t start, n, fl, i;
	uint8_t *zeros;

	pt__buf_init(&b, PT__FRAME_MAX + 64);
	e.b = &b;
	e.err = 0;
	start = pt__frame_begin(&e, PT__MSG_SUBSCRIBE);
	pt__put_u64(&e, 1000);
	CU_ASSERT(pt__frame_end(&e, start) == 0);
	CU_ASSERT(b.len == 10);
	CU_ASSERT(pt__frame_parse(pt__buf_head(&b), b.len, &type, &p, &n,
	    &fl) == 1);
	CU_ASSERT(type == PT__MSG_SUBSCRIBE && n == 2 && fl == 10);

	/* A frame growing past PT__FRAME_MAX is refused and removed. */
	zeros = calloc(1, PT__FRAME_MAX);
	CU_ASSERT_FATAL(zeros != NULL);
	start = pt__frame_begin(&e, PT__MSG_SNAPSHOT);
	pt__buf_append(&b, zeros, PT__FRAME_MAX - 8 + 1);
	CU_ASSERT(pt__frame_end(&e, start) == PT_ERANGE);
	CU_ASSERT(b.len == 10);
	/* Exactly PT__FRAME_MAX is fine. */
	e.err = 0;
	start = pt__frame_begin(&e, PT__MSG_SNAPSHOT);
	pt__buf_append(&b, zeros, PT__FRAME_MAX - 8);
	CU_ASSERT(pt__frame_end(&e, start) == 0);
	CU_ASSERT(b.len == 10 + PT__FRAME_MAX);
	free(zeros);

	/* Frames survive the buffer compacting under them. */
	pt__buf_consume(&b, b.len);
	pt__buf_free(&b);
	pt__buf_init(&b, 1 << 16);
	for (i = 0; i < 200; i++) {
		CU_ASSERT(pt__msg_u64(&b, PT__MSG_RESET_OK, i) == 0);
		CU_ASSERT(pt__msg_empty(&b, PT__MSG_BYE) == 0);
		if (i % 3 == 0) {
			uint64_t v;

			CU_ASSERT_FATAL(pt__frame_parse(pt__buf_head(&b),
			    b.len, &type, &p, &n, &fl) == 1);
			CU_ASSERT(type == PT__MSG_RESET_OK);
			CU_ASSERT(pt__parse_u64(p, n, &v) == 0);
			pt__buf_consume(&b, fl);
			CU_ASSERT_FATAL(pt__frame_parse(pt__buf_head(&b),
			    b.len, &type, &p, &n, &fl) == 1);
			CU_ASSERT(type == PT__MSG_BYE && n == 0);
			pt__buf_consume(&b, fl);
		}
	}
	/* A buffer too small for a message: the error, nothing left over. */
	pt__buf_free(&b);
	pt__buf_init(&b, 12);
	CU_ASSERT(pt__msg_hello(&b) == PT_ERANGE);
	CU_ASSERT(b.len == 0);
	pt__buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Small messages                                                            */
/* ------------------------------------------------------------------------ */

/* Takes the one frame in b: its payload copied to p (n bytes). */
static uint16_t
one_frame(struct pt__buf *b, uint8_t *p, size_t *n)
{
	const uint8_t *pl;
	uint16_t type;
	size_t fl;

	CU_ASSERT_FATAL(pt__frame_parse(pt__buf_head(b), b->len, &type, &pl,
	    n, &fl) == 1);
	CU_ASSERT(fl == b->len);
	memcpy(p, pl, *n);
	pt__buf_consume(b, fl);
	return type;
}

static void
test_hello(void)
{
	struct pt__buf b;
	uint8_t p[64];
	uint32_t version = 0;
	size_t n, i;

	pt__buf_init(&b, 4096);
	CU_ASSERT(pt__msg_hello(&b) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_HELLO);
	CU_ASSERT(n == 5);
	CU_ASSERT(pt__parse_hello(p, n, &version) == 0);
	CU_ASSERT(version == PT__PROTO_VERSION);
	/* Truncated anywhere, or a byte too many. */
	for (i = 0; i < n; i++)
		CU_ASSERT(pt__parse_hello(p, i, &version) == PT_EPROTO);
	p[n] = 0;
	CU_ASSERT(pt__parse_hello(p, n + 1, &version) == PT_EPROTO);
	/* Wrong magic. */
	p[0] ^= 1;
	CU_ASSERT(pt__parse_hello(p, n, &version) == PT_EPROTO);
	p[0] ^= 1;
	/* Wrong version, even with more after it. */
	p[4] = PT__PROTO_VERSION + 1;
	CU_ASSERT(pt__parse_hello(p, n, &version) == PT_EVERSION);
	CU_ASSERT(version == PT__PROTO_VERSION + 1);
	CU_ASSERT(pt__parse_hello(p, n + 1, &version) == PT_EVERSION);
	p[4] = 0;
	CU_ASSERT(pt__parse_hello(p, n, &version) == PT_EVERSION);
	/* Wrong magic and wrong version: the magic decides. */
	p[3] = 0;
	CU_ASSERT(pt__parse_hello(p, n, &version) == PT_EPROTO);
	pt__buf_free(&b);
}

static void
test_welcome(void)
{
	struct pt__welcome w, got;
	struct pt__buf b;
	uint8_t p[128];
	size_t n, i;

	memset(&w, 0, sizeof w);
	w.version = PT__PROTO_VERSION;
	w.pid = 31337;
	strcpy(w.process, "demo\033[2J");
	w.start_real_ns = 1700000000000000000ull;
	w.uptime_ns = 123456789;
	pt__buf_init(&b, 4096);
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == 0);
	CU_ASSERT(got.version == w.version && got.pid == w.pid &&
	    got.start_real_ns == w.start_real_ns &&
	    got.uptime_ns == w.uptime_ns);
	CU_ASSERT_STRING_EQUAL(got.process, "demo?[2J");	/* no ESC */
	for (i = 0; i < n; i++)
		CU_ASSERT(pt__parse_welcome(p, i, &got) == PT_EPROTO);
	CU_ASSERT(pt__parse_welcome(p, n + 1, &got) == PT_EPROTO);

	/* A process name of 64 bytes without a NUL is cut to 63. */
	memset(w.process, 'x', sizeof w.process);
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == 0);
	CU_ASSERT(strlen(got.process) == 63);

	/* Bad pids and another version. */
	w.pid = 0;
	strcpy(w.process, "x");
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == PT_EPROTO);
	w.pid = -5;
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == PT_EPROTO);
	w.pid = 1;
	w.version = 77;
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == PT_EVERSION);
	CU_ASSERT(got.version == 77);
	pt__buf_free(&b);
}

static void
test_error_msg(void)
{
	struct pt__buf b;
	uint8_t p[2048];
	char msg[16], longmsg[600];
	size_t n;
	int code = 0;

	pt__buf_init(&b, 4096);
	CU_ASSERT(pt__msg_error(&b, PT_EPERM, "not yours") == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_ERROR);
	CU_ASSERT(pt__parse_error(p, n, &code, msg, sizeof msg) == 0);
	CU_ASSERT(code == PT_EPERM);
	CU_ASSERT_STRING_EQUAL(msg, "not yours");
	CU_ASSERT(pt__parse_error(p, n - 1, &code, msg, sizeof msg) ==
	    PT_EPROTO);
	CU_ASSERT(pt__parse_error(p, n + 1, &code, msg, sizeof msg) ==
	    PT_EPROTO);
	/* Cut to the caller's buffer without splitting a character. */
	CU_ASSERT(pt__msg_error(&b, PT_EBUSY, "\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9") == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_ERROR);
	CU_ASSERT(pt__parse_error(p, n, &code, msg, sizeof msg) == 0);
	CU_ASSERT(strlen(msg) == 14);
	/* Control characters and invalid UTF-8 become '?'. */
	CU_ASSERT(pt__msg_error(&b, PT_EBUSY, "a\033b\xff\xc2\x9b") == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_ERROR);
	CU_ASSERT(pt__parse_error(p, n, &code, msg, sizeof msg) == 0);
	CU_ASSERT_STRING_EQUAL(msg, "a?b???");
	/* Long messages are cut when sent. */
	memset(longmsg, 'm', sizeof longmsg - 1);
	longmsg[sizeof longmsg - 1] = '\0';
	CU_ASSERT(pt__msg_error(&b, PT_EBUSY, longmsg) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_ERROR);
	CU_ASSERT(pt__parse_error(p, n, &code, NULL, 0) == 0);
	/* A code of 0 or above is not an error. */
	CU_ASSERT(pt__msg_error(&b, 0, "x") == PT_EINVAL);
	p[0] = 2;	/* zigzag 1 */
	p[1] = 0;
	CU_ASSERT(pt__parse_error(p, 2, &code, msg, sizeof msg) == PT_EPROTO);
	p[0] = 1;	/* zigzag -1 */
	CU_ASSERT(pt__parse_error(p, 2, &code, msg, sizeof msg) == 0);
	pt__buf_free(&b);
}

static void
test_u64_msgs(void)
{
	struct pt__buf b;
	uint8_t p[64];
	uint64_t v;
	size_t n;

	pt__buf_init(&b, 4096);
	CU_ASSERT(pt__msg_u64(&b, PT__MSG_RESET_OK, UINT64_MAX) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_RESET_OK);
	CU_ASSERT(n == 10);
	CU_ASSERT(pt__parse_u64(p, n, &v) == 0 && v == UINT64_MAX);
	CU_ASSERT(pt__parse_u64(p, n - 1, &v) == PT_EPROTO);
	CU_ASSERT(pt__parse_u64(p, 0, &v) == PT_EPROTO);
	CU_ASSERT(pt__parse_u64(NULL, 0, &v) == PT_EPROTO);
	p[n] = 0;
	CU_ASSERT(pt__parse_u64(p, n + 1, &v) == PT_EPROTO);
	CU_ASSERT(pt__msg_empty(&b, PT__MSG_SNAPSHOT_REQ) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_SNAPSHOT_REQ);
	CU_ASSERT(n == 0);
	pt__buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Snapshot round trips                                                      */
/* ------------------------------------------------------------------------ */

static void
rx_setup(struct pt__wire_rx *rx)
{
	pt__wire_rx_init(rx);
	rx->pid = 4242;
	strcpy(rx->process, "handmade");
}

static void
test_copy(void)
{
	pt_snapshot *s = mk_snap(3, 2, 0), *c;

	op_add(&s->ops[0], 100, 5, s->tick_ns);
	op_add(&s->ops[0], 1000, 1, s->tick_ns);
	s->counters[1].value = -7;
	c = pt__snapshot_copy(s);
	CU_ASSERT_FATAL(c != NULL);
	pt_op_stats_finish(&s->ops[0], s->tick_ns);
	pt_op_stats_finish(&c->ops[0], c->tick_ns);
	CU_ASSERT(snap_equal(s, c));
	CU_ASSERT(c->ops[0].name != s->ops[0].name);
	CU_ASSERT(c->ops[0].buckets != s->ops[0].buckets);
	CU_ASSERT(c->pid == s->pid && strcmp(c->process, s->process) == 0);
	CU_ASSERT(pt__snapshot_copy(NULL) == NULL);
	pt_snapshot_free(c);
	pt_snapshot_free(s);
}

/* s with its ops and counters copied into a bigger snapshot of the same
 * header (the process registered more names). */
static pt_snapshot *
grow_snap(const pt_snapshot *s, size_t n_ops, size_t n_ctr)
{
	pt_snapshot *g = mk_snap(n_ops, n_ctr, s->reset_epoch);
	size_t i;

	for (i = 0; i < s->n_ops; i++) {
		free((char *)g->ops[i].name);
		g->ops[i] = s->ops[i];
		g->ops[i].name = strdup(s->ops[i].name);
		g->ops[i].buckets = NULL;
		g->ops[i].n_buckets = 0;
		if (s->ops[i].n_buckets > 0) {
			g->ops[i].buckets = malloc(s->ops[i].n_buckets *
			    sizeof(pt_bucket));
			memcpy(g->ops[i].buckets, s->ops[i].buckets,
			    s->ops[i].n_buckets * sizeof(pt_bucket));
			g->ops[i].n_buckets = s->ops[i].n_buckets;
		}
	}
	for (i = 0; i < s->n_counters; i++)
		g->counters[i].value = s->counters[i].value;
	g->time_ns = s->time_ns;
	g->memory = s->memory;
	return g;
}

static void
test_roundtrip_hand(void)
{
	struct pt__wire_tx tx;
	struct pt__wire_rx rx;
	pt_snapshot *s1, *s2, *s3;
	struct hdr h;
	size_t len1, len2;

	pt__wire_tx_init(&tx);
	rx_setup(&rx);

	s1 = mk_snap(4, 3, 0);
	op_add(&s1->ops[0], 26000, 50, s1->tick_ns);
	op_add(&s1->ops[0], 30000, 7, s1->tick_ns);
	op_add(&s1->ops[2], 5, 1, s1->tick_ns);
	op_add(&s1->ops[2], (uint64_t)1 << 40, 2, s1->tick_ns); /* last */
	s1->counters[0].value = 12;
	s1->counters[2].value = INT64_MIN;
	len1 = round_trip(&tx, &rx, s1, &h);
	CU_ASSERT(h.seq == 1 && (h.flags & 1) && h.new_ops == 4 &&
	    h.new_ctrs == 3);
	CU_ASSERT(tx.seq == 1 && tx.op_names == 4 && tx.ctr_names == 3);
	CU_ASSERT(rx.seq == 1 && rx.n_op_names == 4 && rx.n_ctr_names == 3);

	/* A delta: op 1 gains events, op 4 starts, a counter wraps. */
	s2 = pt__snapshot_copy(s1);
	op_add(&s2->ops[0], 26000, 3, s2->tick_ns);
	op_add(&s2->ops[0], 52000, 1, s2->tick_ns);
	op_add(&s2->ops[3], 1, 1, s2->tick_ns);
	s2->counters[2].value = INT64_MAX;
	s2->time_ns += 1000000000;
	s2->memory.heap_bytes = 0;
	len2 = round_trip(&tx, &rx, s2, &h);
	CU_ASSERT(h.seq == 2 && h.flags == 0 && h.new_ops == 0 &&
	    h.new_ctrs == 0);
	CU_ASSERT(len2 < len1);

	/* Nothing changed but the clock: no op, no counter. */
	s2->time_ns += 1000000000;
	len2 = round_trip(&tx, &rx, s2, &h);
	CU_ASSERT(h.flags == 0);
	{
		uint8_t *frame;
		const uint8_t *p;
		size_t n;
		struct pt__wire_tx t2 = tx;

		/* The tail of an unchanged snapshot: 0 ops, 0 counters. */
		t2.prev = pt__snapshot_copy(tx.prev);
		t2.sent_ver = NULL;
		t2.sent_lay = NULL;
		t2.scratch = NULL;
		n = encode(&t2, s2, &frame);
		payload_of(frame, n, &p, &n);
		CU_ASSERT(p[n - 1] == 0 && p[n - 2] == 0);
		free(frame);
		pt__wire_tx_done(&t2);
	}

	/* New names appear: only they are sent. */
	s3 = grow_snap(s2, 6, 4);
	op_add(&s3->ops[5], 777, 2, s3->tick_ns);
	s3->counters[3].value = 1;
	round_trip(&tx, &rx, s3, &h);
	CU_ASSERT(h.seq == 4 && h.flags == 0 && h.new_ops == 2 &&
	    h.new_ctrs == 1);
	CU_ASSERT(rx.n_op_names == 6 && rx.n_ctr_names == 4);
	CU_ASSERT(len2 < len1);
	pt_snapshot_free(s1);
	pt_snapshot_free(s2);
	pt_snapshot_free(s3);
	pt__wire_tx_done(&tx);
	pt__wire_rx_done(&rx);
}

static void
test_epoch_full(void)
{
	struct pt__wire_tx tx;
	struct pt__wire_rx rx;
	pt_snapshot *s1, *s2, *s3;
	struct hdr h;

	pt__wire_tx_init(&tx);
	rx_setup(&rx);
	s1 = mk_snap(3, 2, 0);
	op_add(&s1->ops[0], 1000, 100, s1->tick_ns);
	op_add(&s1->ops[1], 2000, 10, s1->tick_ns);
	s1->counters[0].value = 99;
	round_trip(&tx, &rx, s1, &h);
	CU_ASSERT(h.flags == 1);

	/* A reset: new epoch, smaller figures, FULL, names not resent; the
	 * ops that are now zero come out zero. */
	s2 = mk_snap(3, 2, 1);
	op_add(&s2->ops[0], 1000, 3, s2->tick_ns);
	round_trip(&tx, &rx, s2, &h);
	CU_ASSERT(h.flags == 1 && h.epoch == 1 && h.new_ops == 0 &&
	    h.new_ctrs == 0 && h.changed_ops == 1);
	CU_ASSERT(rx.cur->ops[1].count == 0 && rx.cur->ops[1].n_buckets == 0);
	CU_ASSERT(rx.cur->counters[0].value == 0);

	/* Then deltas again. */
	op_add(&s2->ops[2], 5000, 1, s2->tick_ns);
	round_trip(&tx, &rx, s2, &h);
	CU_ASSERT(h.flags == 0 && h.changed_ops == 1);

	/* A count going down within an epoch forces FULL too. */
	s3 = mk_snap(3, 2, 1);
	op_add(&s3->ops[0], 1000, 1, s3->tick_ns);
	round_trip(&tx, &rx, s3, &h);
	CU_ASSERT(h.flags == 1);
	/* A bucket going down (count not) is a plain delta. */
	pt_snapshot_free(s2);
	s2 = mk_snap(3, 2, 1);
	op_add(&s2->ops[0], 2000, 1, s2->tick_ns);
	s2->ops[0].min_ns = s3->ops[0].min_ns;
	round_trip(&tx, &rx, s2, &h);
	CU_ASSERT(h.flags == 0);

	pt_snapshot_free(s1);
	pt_snapshot_free(s2);
	pt_snapshot_free(s3);
	pt__wire_tx_done(&tx);
	pt__wire_rx_done(&rx);
}

static void
test_encode_invalid(void)
{
	struct pt__wire_tx tx;
	struct pt__buf b;
	pt_snapshot *s;

	pt__wire_tx_init(&tx);
	pt__buf_init(&b, BUF_MAX);
	s = mk_snap(3, 1, 0);
	s->ops[1].id = 7;
	CU_ASSERT(pt__wire_encode_snapshot(&tx, s, &b) == PT_EINVAL);
	s->ops[1].id = 2;
	free((char *)s->counters[0].name);
	s->counters[0].name = strdup("bad\nname");
	CU_ASSERT(pt__wire_encode_snapshot(&tx, s, &b) == PT_EINVAL);
	free((char *)s->counters[0].name);
	s->counters[0].name = strdup("good");
	s->tick_ns = NAN;
	CU_ASSERT(pt__wire_encode_snapshot(&tx, s, &b) == PT_EINVAL);
	s->tick_ns = 1;
	op_add(&s->ops[0], 5, 1, 1);
	op_add(&s->ops[0], 9, 1, 1);
	s->ops[0].buckets[0].index = 9;
	CU_ASSERT(pt__wire_encode_snapshot(&tx, s, &b) == PT_EINVAL);
	s->ops[0].buckets[0].index = 5;
	CU_ASSERT(b.len == 0 && tx.seq == 0 && tx.prev == NULL);
	CU_ASSERT(pt__wire_encode_snapshot(&tx, s, &b) == 0);
	CU_ASSERT(tx.seq == 1 && tx.op_names == 3 && tx.prev != NULL);
	/* Fewer ops than names already sent. */
	s->n_ops = 2;
	CU_ASSERT(pt__wire_encode_snapshot(&tx, s, &b) == PT_EINVAL);
	s->n_ops = 3;
	/* A buffer too small: PT_ERANGE, the buffer and tx as they were. */
	{
		struct pt__buf small;

		pt__buf_init(&small, 20);
		op_add(&s->ops[2], 5, 1, 1);
		CU_ASSERT(pt__wire_encode_snapshot(&tx, s, &small) ==
		    PT_ERANGE);
		CU_ASSERT(small.len == 0 && tx.seq == 1);
		pt__buf_free(&small);
	}
	pt_snapshot_free(s);
	pt__buf_free(&b);
	pt__wire_tx_done(&tx);
}

/* ------------------------------------------------------------------------ */
/* Real snapshots                                                            */
/* ------------------------------------------------------------------------ */

static pt_site real_sites[4] = {
	PT_SITE_INIT("real.parse", PT_KIND_OP),
	PT_SITE_INIT("real.compute", PT_KIND_OP),
	PT_SITE_INIT("real.idle", PT_KIND_OP),
	PT_SITE_INIT("real.écrire", PT_KIND_OP),
};

static void
scoped_work(int n)
{
	static volatile int sink;
	int i;

	PT_SCOPE("real.scoped");
	for (i = 0; i < n; i++)
		sink = sink + i;
	PT_INC("real.calls");
}

static void
test_roundtrip_real(void)
{
	struct pt__wire_tx tx;
	struct pt__wire_rx rx;
	pt_snapshot *s;
	struct hdr h;
	int i;

	pt__wire_tx_init(&tx);
	pt__wire_rx_init(&rx);
	for (i = 0; i < 200; i++) {
		pt_record_ns(&real_sites[0], 1000 + (uint64_t)i * 37);
		pt_record_ns(&real_sites[1], 50000 + (uint64_t)i * 911);
		scoped_work(i);
	}
	pt_site_register(&real_sites[2]);
	PT_COUNT("real.bytes", -12345);
	CU_ASSERT_FATAL(pt_snapshot_take(&s) == 0);
	rx.pid = s->pid;
	memcpy(rx.process, s->process, sizeof rx.process);
	round_trip(&tx, &rx, s, &h);
	CU_ASSERT(h.flags == 1 && h.new_ops == s->n_ops);
	CU_ASSERT(pt_snapshot_find_op(rx.cur, "real.compute") != NULL &&
	    pt_snapshot_find_op(rx.cur, "real.compute")->count == 200);
	pt_snapshot_free(s);

	for (i = 0; i < 20; i++) {
		pt_record_ns(&real_sites[0], 900);
		scoped_work(3);
	}
	pt_record_ns(&real_sites[3], 1);
	CU_ASSERT_FATAL(pt_snapshot_take(&s) == 0);
	round_trip(&tx, &rx, s, &h);
	CU_ASSERT(h.flags == 0 && h.new_ops == 1);
	CU_ASSERT(pt_snapshot_find_op(rx.cur, "real.parse")->count == 220);
	pt_snapshot_free(s);

	/* After a reset: FULL, counts from zero. */
	pt_reset();
	pt_record_ns(&real_sites[1], 42000);
	CU_ASSERT_FATAL(pt_snapshot_take(&s) == 0);
	round_trip(&tx, &rx, s, &h);
	CU_ASSERT(h.flags == 1 && h.new_ops == 0);
	CU_ASSERT(pt_snapshot_find_op(rx.cur, "real.compute")->count == 1);
	CU_ASSERT(pt_snapshot_find_op(rx.cur, "real.parse")->count == 0);
	pt_snapshot_free(s);

	pt__wire_tx_done(&tx);
	pt__wire_rx_done(&rx);
}

/* Makes dst a sender in the same state as src (its own copy of prev). */
static void
tx_fork(struct pt__wire_tx *dst, const struct pt__wire_tx *src)
{
	pt__wire_tx_init(dst);
	dst->prev = pt__snapshot_copy(src->prev);
	dst->seq = src->seq;
	dst->op_names = src->op_names;
	dst->ctr_names = src->ctr_names;
}

/*
 * The bucket header of the one op a delta payload carries, after checking
 * that it is a delta without tick_ns, of one op whose count grew by dcount.
 */
static uint64_t
one_op_bucket_header(const uint8_t *p, size_t n, uint64_t dcount)
{
	struct pt__dec d = { p, p + n, 0 };
	struct hdr h;
	uint64_t hdr, mm;

	peek_skip(&d, &h);
	CU_ASSERT(h.flags == 0 && !h.tick && h.changed_ops == 1);
	mm = pt__get_u64(&d);			/* id gap, min/max flags */
	CU_ASSERT_EQUAL(pt__get_u64(&d), dcount);	/* count delta */
	(void)pt__get_i64(&d);			/* total */
	if (mm & 2)
		(void)pt__get_i64(&d);		/* min */
	if (mm & 1)
		(void)pt__get_i64(&d);		/* max */
	hdr = pt__get_u64(&d);
	CU_ASSERT(d.err == 0);
	return hdr;
}

/* Durations in ns from a seeded generator (the same sequences as ever). */
static uint64_t
lcg(uint64_t *seed)
{
	return *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
}

/* Uniform over 3 .. 6 us. */
static uint64_t
uniform_ns(uint64_t *seed)
{
	return 3000 + (lcg(seed) >> 40) % 3000;
}

/* Around 3 us, a bell over about 200 buckets. */
static uint64_t
bell_ns(uint64_t *seed)
{
	uint64_t ns = 1000;
	int j;

	for (j = 0; j < 4; j++)
		ns += (lcg(seed) >> 40) % 1000;
	return ns;
}

/* The bell, or one time in 25 a tail to 3 ms. */
static uint64_t
tail_ns(uint64_t *seed)
{
	if ((lcg(seed) >> 33) % 25 == 0)
		return 10000 + (*seed >> 20) % 3000000;
	return bell_ns(seed);
}

/*
 * A bucket form's case: an op with n_before events of dur, then 4,000 more
 * in a delta sent twice from the same sender state, once as usual (with
 * *off_too set, if given) and once with *without set too.  The usual one
 * must carry a bucket header code in [lo, hi] and arrive intact; its size
 * and the other's are returned.
 */
struct form_case {
	uint64_t	(*dur)(uint64_t *seed);
	uint64_t	 seed;
	int		 n_before;
	uint64_t	 dt_ns;		/* time between the snapshots */
	int		*without;
	int		*off_too;
	unsigned	 lo, hi;
};

static void
form_case_run(const struct form_case *fc, size_t *len, size_t *len_plain)
{
	struct pt__wire_tx tx, tx_plain;
	struct pt__wire_rx rx;
	pt_snapshot *s1, *s2;
	uint64_t seed = fc->seed, hdr;
	const uint8_t *p;
	uint8_t *frame;
	size_t n;
	int i;

	pt__wire_tx_init(&tx);
	pt__wire_rx_init(&rx);
	s1 = mk_snap(1, 0, 0);
	for (i = 0; i < fc->n_before; i++)
		op_add(&s1->ops[0], fc->dur(&seed), 1, s1->tick_ns);
	round_trip(&tx, &rx, s1, NULL);
	s2 = pt__snapshot_copy(s1);
	for (i = 0; i < 4000; i++)
		op_add(&s2->ops[0], fc->dur(&seed), 1, s2->tick_ns);
	s2->time_ns += fc->dt_ns;

	/* The same sender state twice: one may not use the form. */
	tx_fork(&tx_plain, &tx);
	*fc->without = 1;
	*len_plain = encode(&tx_plain, s2, &frame);
	*fc->without = 0;
	free(frame);

	if (fc->off_too != NULL)
		*fc->off_too = 1;
	*len = encode(&tx, s2, &frame);
	if (fc->off_too != NULL)
		*fc->off_too = 0;
	payload_of(frame, *len, &p, &n);
	hdr = one_op_bucket_header(p, n, 4000);
	CU_ASSERT((hdr & 3) == 3 && (hdr >> 2) >= fc->lo &&
	    (hdr >> 2) <= fc->hi);
	CU_ASSERT_FATAL(pt__wire_decode_snapshot(&rx, p, n, NULL) == 0);
	CU_ASSERT(snap_equal(s2, rx.cur));
	free(frame);

	pt_snapshot_free(s1);
	pt_snapshot_free(s2);
	pt__wire_tx_done(&tx);
	pt__wire_tx_done(&tx_plain);
	pt__wire_rx_done(&rx);
}

/*
 * A busy operation whose new events fall like its old ones goes in the
 * predicted form (or one of its refinements), which beats the packed one,
 * and arrives intact.
 */
static void
test_predicted_form(void)
{
	const struct form_case fc = { uniform_ns, 7, 20000, 1,
	    &pt__wire_no_pred, NULL, 11, ~0u };
	size_t len, len_plain;

	form_case_run(&fc, &len, &len_plain);
	fprintf(stderr, "(predicted %zu bytes, without %zu) ", len,
	    len_plain);
	CU_ASSERT(len * 3 < len_plain * 2);
}

/*
 * The adaptive form (a Rice parameter per bucket, from its prediction): the
 * encoder takes it for a busy delta of a log-normal-like op, where it beats
 * the predicted form's single parameter, and the delta arrives intact.
 */
static void
test_adaptive_form(void)
{
	const struct form_case fc = { bell_ns, 11, 40000, 100000000,
	    &pt__wire_no_adapt, &pt__wire_no_sparse, 32, 39 };
	size_t len, len_plain;

	form_case_run(&fc, &len, &len_plain);
	fprintf(stderr, "(adaptive %zu bytes, predicted %zu) ", len,
	    len_plain);
	CU_ASSERT(len < len_plain);
}

/*
 * The sparse form: for a busy op with a long thin tail, the buckets
 * predicted to get nothing (most of the span) cost a bit each in the
 * adaptive form; the sparse one codes only those that changed.  Chosen,
 * smaller, and the delta arrives intact.
 */
static void
test_sparse_form(void)
{
	const struct form_case fc = { tail_ns, 13, 40000, 100000000,
	    &pt__wire_no_sparse, NULL, 40, 47 };
	size_t len, len_plain;

	form_case_run(&fc, &len, &len_plain);
	fprintf(stderr, "(sparse %zu bytes, adaptive %zu) ", len, len_plain);
	CU_ASSERT(len < len_plain);
}

/* ------------------------------------------------------------------------ */
/* The agent's incremental snapshots                                         */
/* ------------------------------------------------------------------------ */

static pt_site inc_sites[3] = {
	PT_SITE_INIT("inc.a", PT_KIND_OP),
	PT_SITE_INIT("inc.zero", PT_KIND_OP),
	PT_SITE_INIT("inc.late", PT_KIND_OP),
};
static pt_site inc_ctr = PT_SITE_INIT("inc.ctr", PT_KIND_COUNTER);

/* Operations and counters of a and b agree (times aside). */
static int
stats_equal(const pt_snapshot *a, const pt_snapshot *b)
{
	size_t i, j;

	if (a->n_ops != b->n_ops || a->n_counters != b->n_counters ||
	    a->reset_epoch != b->reset_epoch)
		return 0;
	for (i = 0; i < a->n_ops; i++) {
		const pt_op_stats *x = &a->ops[i], *y = &b->ops[i];
		pt_op_stats t = *x;

		/* The cache leaves the percentiles out. */
		pt_op_stats_finish(&t, a->tick_ns);
		if (strcmp(x->name, y->name) != 0 || x->count != y->count ||
		    x->total_ns != y->total_ns || x->min_ns != y->min_ns ||
		    x->max_ns != y->max_ns || t.p99_ns != y->p99_ns ||
		    x->n_buckets != y->n_buckets)
			return 0;
		for (j = 0; j < x->n_buckets; j++)
			if (x->buckets[j].index != y->buckets[j].index ||
			    x->buckets[j].count != y->buckets[j].count)
				return 0;
	}
	for (i = 0; i < a->n_counters; i++)
		if (a->counters[i].value != b->counters[i].value)
			return 0;
	return 1;
}

static void *
inc_thread(void *arg)
{
	(void)arg;
	pt_record_ns(&inc_sites[0], 7777);
	pt_record_ns(&inc_sites[1], 0);
	return NULL;
}

/*
 * Sends the cache's snapshot to two viewers, one (tx, rx) through
 * pt__wire_encode_snapshot_ver(), the other (ltx, lrx; NULL: none) through
 * pt__wire_encode_snapshot_cache(), which uses the cache's change lists:
 * the frames must be the same bytes, and what arrives the cache's
 * snapshot.  changed: the operations the frames must carry (-1: any).
 */
static void
cache_send(const struct pt__snapcache *c, struct pt__wire_tx *tx,
    struct pt__wire_rx *rx, struct pt__wire_tx *ltx, struct pt__wire_rx *lrx,
    int changed)
{
	pt_snapshot *got = NULL;
	struct pt__buf b, lb;
	const uint8_t *p;
	struct hdr h;
	size_t n;

	pt__buf_init(&b, BUF_MAX);
	pt__buf_init(&lb, BUF_MAX);
	CU_ASSERT_FATAL(pt__wire_encode_snapshot_ver(tx, c->cur, c->ver,
	    &b) == 0);
	payload_of(pt__buf_head(&b), b.len, &p, &n);
	peek_hdr(p, n, &h);
	if (changed >= 0)
		CU_ASSERT_EQUAL(h.changed_ops, (uint64_t)changed);
	CU_ASSERT_FATAL(pt__wire_decode_snapshot(rx, p, n, &got) == 0);
	CU_ASSERT(snap_equal(c->cur, got));
	pt_snapshot_free(got);
	if (ltx != NULL) {
		CU_ASSERT_FATAL(pt__wire_encode_snapshot_cache(ltx, c,
		    &lb) == 0);
		CU_ASSERT_EQUAL_FATAL(lb.len, b.len);
		CU_ASSERT(memcmp(pt__buf_head(&lb), pt__buf_head(&b),
		    b.len) == 0);
		payload_of(pt__buf_head(&lb), lb.len, &p, &n);
		CU_ASSERT_FATAL(pt__wire_decode_snapshot(lrx, p, n, &got) == 0);
		CU_ASSERT(snap_equal(c->cur, got));
		pt_snapshot_free(got);
	}
	pt__buf_free(&b);
	pt__buf_free(&lb);
}

/*
 * One step: refresh the cache, compare it with a full snapshot, send it
 * with versions and check what arrives; changed tells how many operations
 * the frame must carry (-1: do not check); tx and rx are two viewers
 * (cache_send()).  Returns 1, or 0 when the clock's
 * calibration moved (in its first 2 s), which merges everything again and
 * makes the counts of changes meaningless.
 */
static int
inc_step(struct pt__snapcache *c, struct pt__wire_tx *tx,
    struct pt__wire_rx *rx, int changed)
{
	pt_snapshot *full = NULL;
	double tick = c->tick_ns;

	CU_ASSERT_FATAL(pt__snapshot_refresh(c) == 0);
	if (c->tick_ns != tick)
		changed = -1;
	CU_ASSERT_FATAL(pt_snapshot_take(&full) == 0);
	CU_ASSERT(stats_equal(c->cur, full));
	pt_snapshot_free(full);
	cache_send(c, &tx[0], &rx[0], &tx[1], &rx[1], changed);
	return changed >= 0;
}

/*
 * The agent's snapshot, refreshed in place, always equals a full one:
 * after events (zero-length ones too), none, a thread's exit, a new
 * operation and a reset; the encoder skips unchanged operations by their
 * version.
 */
static void
test_incremental(void)
{
	struct pt__snapcache c;
	struct pt__wire_tx tx[2];
	struct pt__wire_rx rx[2];
	pthread_t t;
	uint64_t gen;
	int i;

	memset(&c, 0, sizeof c);
	for (i = 0; i < 2; i++) {
		pt__wire_tx_init(&tx[i]);
		pt__wire_rx_init(&rx[i]);
	}
	pt_site_register(&inc_sites[0]);
	pt_site_register(&inc_sites[1]);
	for (i = 0; i < 100; i++)
		pt_record_ns(&inc_sites[0], 1000 + (uint64_t)i * 10);
	pt_counter_add(&inc_ctr, 5);
	inc_step(&c, tx, rx, -1);

	/* Nothing happened: no operation merged again, none sent. */
	gen = c.gen;
	if (inc_step(&c, tx, rx, 0))
		CU_ASSERT_EQUAL(c.gen, gen);

	/* A zero-length event changes its operation, and only it. */
	gen = c.gen;
	pt_record_ns(&inc_sites[1], 0);
	if (inc_step(&c, tx, rx, 1))
		CU_ASSERT_EQUAL(c.gen, gen + 1);

	/* A counter alone. */
	gen = c.gen;
	pt_counter_add(&inc_ctr, -2);
	if (inc_step(&c, tx, rx, 0))
		CU_ASSERT_EQUAL(c.gen, gen);

	/* A thread that records and exits (its slots retire). */
	CU_ASSERT_FATAL(pthread_create(&t, NULL, inc_thread, NULL) == 0);
	pthread_join(t, NULL);
	inc_step(&c, tx, rx, 2);
	gen = c.gen;
	if (inc_step(&c, tx, rx, 0))
		CU_ASSERT_EQUAL(c.gen, gen);

	/* A new operation. */
	pt_record_ns(&inc_sites[2], 123456);
	inc_step(&c, tx, rx, 1);

	/* A reset: everything again, from zero. */
	CU_ASSERT(pt_reset() == 0);
	pt_record_ns(&inc_sites[0], 5);
	inc_step(&c, tx, rx, -1);
	for (i = 0; i < 1000; i++)
		pt_record_ns(&inc_sites[i % 3], (uint64_t)i * 3);
	inc_step(&c, tx, rx, 3);

	pt__snapcache_free(&c);
	for (i = 0; i < 2; i++) {
		pt__wire_tx_done(&tx[i]);
		pt__wire_rx_done(&rx[i]);
	}
}

static pt_site cl_sites[3] = {
	PT_SITE_INIT("cl.a", PT_KIND_OP),
	PT_SITE_INIT("cl.b", PT_KIND_OP),
	PT_SITE_INIT("cl.c", PT_KIND_OP),
};

/* Records n events of each of the durations d[0 .. nd - 1] into site. */
static void
cl_record(pt_site *site, const uint64_t *d, size_t nd, int n)
{
	for (int k = 0; k < n; k++)
		for (size_t j = 0; j < nd; j++)
			pt_record_ns(site, d[j]);
}

static void *
cl_thread(void *arg)
{
	static const uint64_t d[] = { 1000, 50000 };

	cl_record(arg, d, 2, 3);
	return NULL;
}

/*
 * The encoder takes the changes of operations the cache updated from the
 * journals from its lists: added in place to the viewer's copy when that
 * has the cache's layout, copied when new buckets came, not used by a
 * viewer that missed a refresh; the frames are byte for byte those of the
 * comparing encoder, and decode to the cache's snapshot.
 */
static void
test_change_lists(void)
{
	static const uint64_t d1[] = { 1000, 2000, 50000 };
	static const uint64_t d2[] = { 3000000, 1000 };
	struct pt__snapcache c;
	struct pt__wire_tx tx[3];
	struct pt__wire_rx rx[3];
	pthread_t t;
	int i, changed, checked = 0;

	memset(&c, 0, sizeof c);
	for (i = 0; i < 3; i++) {
		pt__wire_tx_init(&tx[i]);
		pt__wire_rx_init(&rx[i]);
	}
	for (i = 0; i < 3; i++)
		cl_record(&cl_sites[i], d1, 3, 2);
	/* Rounds until the clock's calibration holds still (2 s at most):
	 * a new tick merges everything again. */
	for (i = 0; i < 400; i++) {
		double tick = c.tick_ns;

		CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
		cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
		cache_send(&c, &tx[2], &rx[2], NULL, NULL, -1);
		if (i > 0 && c.tick_ns == tick && c.merged == 0)
			break;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	CU_ASSERT_FATAL(c.merged == 0);

	/* The same buckets again: in place. */
	cl_record(&cl_sites[0], d1, 3, 4);
	cl_record(&cl_sites[1], d1 + 1, 1, 1);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	changed = c.merged == 0 ? 2 : -1;
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], changed);
	if (changed >= 0) {
		checked++;
		CU_ASSERT_EQUAL(c.replayed, 2);
		CU_ASSERT_EQUAL(tx[1].st_list, 2);
		CU_ASSERT_EQUAL(tx[1].st_inplace, 2);
	}

	/* New buckets: from the lists, copied. */
	cl_record(&cl_sites[0], d2, 2, 1);
	cl_record(&cl_sites[2], d1, 1, 1);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	changed = c.merged == 0 ? 2 : -1;
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], changed);
	if (changed >= 0) {
		checked++;
		CU_ASSERT_EQUAL(tx[1].st_list, 2);
		CU_ASSERT_EQUAL(tx[1].st_inplace, 1);
	}

	/* The copy has the new layout: in place again.  Another thread's
	 * slots too. */
	cl_record(&cl_sites[0], d2, 2, 2);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, cl_thread,
	    &cl_sites[1]) == 0);
	pthread_join(t, NULL);	/* it retires: a merge of everything */
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], 2);
	cl_record(&cl_sites[0], d2, 2, 2);
	cl_record(&cl_sites[1], d1, 3, 1);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	changed = c.merged == 0 ? 2 : -1;
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], changed);
	if (changed >= 0) {
		checked++;
		CU_ASSERT_EQUAL(tx[1].st_list, 2);
		CU_ASSERT_EQUAL(tx[1].st_inplace, 2);
	}

	/* A viewer that missed refreshes (tx[2], through the cache now:
	 * its copy is older than where the lists start) compares. */
	cl_record(&cl_sites[2], d2, 2, 3);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
	{
		pt_snapshot *got = NULL;
		struct pt__buf b;
		const uint8_t *p;
		size_t n;

		pt__buf_init(&b, BUF_MAX);
		CU_ASSERT_FATAL(pt__wire_encode_snapshot_cache(&tx[2], &c,
		    &b) == 0);
		CU_ASSERT_EQUAL(tx[2].st_list, 0);
		payload_of(pt__buf_head(&b), b.len, &p, &n);
		CU_ASSERT_FATAL(pt__wire_decode_snapshot(&rx[2], p, n,
		    &got) == 0);
		CU_ASSERT(snap_equal(c.cur, got));
		pt_snapshot_free(got);
		pt__buf_free(&b);
	}

	/* A reset: everything from zero, then lists again. */
	CU_ASSERT(pt_reset() == 0);
	cl_record(&cl_sites[1], d1, 3, 1);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
	cl_record(&cl_sites[1], d1, 3, 1);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	changed = c.merged == 0 ? 1 : -1;
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], changed);
	if (changed >= 0) {
		checked++;
		CU_ASSERT_EQUAL(tx[1].st_inplace, 1);
	}
	/* A merge of everything (a late calibration step) skips a check;
	 * not all of them. */
	printf("(%d of 4 steps checked) ", checked);
	CU_ASSERT(checked >= 3);

	pt__snapcache_free(&c);
	for (i = 0; i < 3; i++) {
		pt__wire_tx_done(&tx[i]);
		pt__wire_rx_done(&rx[i]);
	}
}

/* ------------------------------------------------------------------------ */
/* Malformed snapshots                                                       */
/* ------------------------------------------------------------------------ */

static struct pt__buf pb;
static struct pt__enc pe;

static void
pb_start(void)
{
	pt__buf_free(&pb);
	pt__buf_init(&pb, 1 << 20);
	pe.b = &pb;
	pe.err = 0;
}

static void
pb_hdr(uint64_t seq, uint64_t flags, uint64_t epoch, double tick)
{
	int i;

	pb_start();
	pt__put_u64(&pe, seq);
	pt__put_u64(&pe, flags);
	if (flags & 1) {
		pt__put_u64(&pe, epoch);
		pt__put_u64(&pe, 1700000000000000000ull);	/* time */
		pt__put_u64(&pe, 2000000000);		/* uptime */
		pt__put_u64(&pe, 1000000000);		/* since reset */
		pt__put_u64(&pe, 1000);
		pt__put_u64(&pe, 2000);
		pt__put_u64(&pe, 300);
	} else {
		for (i = 0; i < 6; i++)		/* nothing moved */
			pt__put_i64(&pe, 0);
	}
	if (flags & 2)
		pt__put_f64(&pe, tick);
}

/* An op change: id gap and the deltas of count, total, min and max
 * (min and max only when not 0; buckets follow). */
static void
pb_op(uint64_t gap, uint64_t dcount, int64_t dtotal, int64_t dmin,
    int64_t dmax)
{
	pt__put_u64(&pe, gap << 2 | (dmin != 0) << 1 | (dmax != 0));
	pt__put_u64(&pe, dcount);
	pt__put_i64(&pe, dtotal);
	if (dmin != 0)
		pt__put_i64(&pe, dmin);
	if (dmax != 0)
		pt__put_i64(&pe, dmax);
}

/* Decodes pb against rx, expecting code (rx unchanged unless 0). */
static void
pb_expect(struct pt__wire_rx *rx, int code)
{
	CU_ASSERT_FATAL(pe.err == 0);
	if (code != 0) {
		expect_reject(rx, pt__buf_head(&pb), pb.len, code);
	} else {
		pt_snapshot *got = NULL;

		CU_ASSERT(pt__wire_decode_snapshot(rx, pt__buf_head(&pb),
		    pb.len, &got) == 0);
		pt_snapshot_free(got);
	}
}

/*
 * The FULL snapshot every malformed delta is tried against: ops a, b, c
 * (a: 5 events in bucket 10), counters x and y (y = 3).
 */
static void
pb_base(struct pt__wire_rx *rx)
{
	pt__wire_rx_done(rx);
	rx_setup(rx);
	pb_hdr(1, 3, 0, 1.0);
	pt__put_u64(&pe, 3);
	pt__put_str(&pe, "a");
	pt__put_str(&pe, "b");
	pt__put_str(&pe, "c");
	pt__put_u64(&pe, 2);
	pt__put_str(&pe, "x");
	pt__put_str(&pe, "y");
	pt__put_u64(&pe, 1);
	pb_op(1, 5, 50, 10, 10);
	pt__put_u64(&pe, 1 << 1);	/* list, one change */
	pt__put_u64(&pe, 11);		/* index 10 */
	pt__put_i64(&pe, 5);
	pt__put_u64(&pe, 1);
	pt__put_u64(&pe, 2);		/* y */
	pt__put_i64(&pe, 3);
	pb_expect(rx, 0);
}

/* Starts a delta (seq 2) with no new names. */
static void
pb_delta(void)
{
	pb_hdr(2, 0, 0, 1.0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
}

static void
test_malformed_header(void)
{
	struct pt__wire_rx rx;
	static const double ticks[] = { NAN, INFINITY, -INFINITY, 0.0, -0.0,
	    -1.0 };
	size_t i;

	rx_setup(&rx);
	/* A delta before any FULL. */
	pb_hdr(1, 0, 0, 1.0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);

	pb_base(&rx);
	CU_ASSERT(rx.n_op_names == 3 && rx.n_ctr_names == 2 && rx.seq == 1);
	CU_ASSERT(rx.cur->ops[0].count == 5 && rx.cur->ops[0].n_buckets == 1 &&
	    rx.cur->ops[0].buckets[0].index == 10);
	CU_ASSERT(rx.cur->counters[1].value == 3 &&
	    rx.cur->counters[0].value == 0);
	CU_ASSERT(rx.cur->pid == 4242);

	/* Wrong seq: repeated, skipped, zero. */
	for (i = 0; i < 3; i++) {
		static const uint64_t seqs[] = { 1, 3, 0 };

		pb_hdr(seqs[i], 0, 0, 1.0);
		pt__put_u64(&pe, 0);
		pt__put_u64(&pe, 0);
		pt__put_u64(&pe, 0);
		pt__put_u64(&pe, 0);
		pb_expect(&rx, PT_EPROTO);
	}
	/* Unknown flags; FULL without tick_ns. */
	pb_hdr(2, 4, 0, 1.0);
	for (i = 0; i < 4; i++)
		pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	pb_hdr(2, 1, 1, 1.0);
	for (i = 0; i < 4; i++)
		pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	/* tick_ns not finite or not positive. */
	for (i = 0; i < sizeof ticks / sizeof ticks[0]; i++) {
		pb_hdr(2, 2, 0, ticks[i]);
		pt__put_u64(&pe, 0);
		pt__put_u64(&pe, 0);
		pt__put_u64(&pe, 0);
		pt__put_u64(&pe, 0);
		pb_expect(&rx, PT_EPROTO);
	}
	/* Trailing bytes. */
	pb_delta();
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	/* A bad varint where the op count goes. */
	pb_delta();
	for (i = 0; i < 11; i++)
		pt__put_u64(&pe, i < 10 ? 0x80 : 0);
	pb_expect(&rx, PT_EPROTO);
	/* Empty payload. */
	expect_reject(&rx, pt__buf_head(&pb), 0, PT_EPROTO);
	expect_reject(&rx, NULL, 0, PT_EPROTO);
	/* And a good delta still works: nothing was disturbed. */
	pb_delta();
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, 0);
	CU_ASSERT(rx.seq == 2 && rx.cur->ops[0].count == 5);
	pt__wire_rx_done(&rx);
}

static void
test_malformed_names(void)
{
	static const char *bad[] = { "", "tab\there", "del\x7f", "\xff",
	    "\xc0\x80", "\xed\xa0\x80", "\xe2\x82", "ok\xf5\x80\x80\x80" };
	char longname[PT_NAME_MAX + 2];
	struct pt__wire_rx rx;
	size_t i;

	rx_setup(&rx);
	pb_base(&rx);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pb_hdr(2, 0, 0, 1.0);
		pt__put_u64(&pe, 1);
		pt__put_str(&pe, bad[i]);
		pt__put_u64(&pe, 0);
		pt__put_u64(&pe, 0);
		pt__put_u64(&pe, 0);
		pb_expect(&rx, PT_EPROTO);
		/* The same as a counter name. */
		pb_hdr(2, 0, 0, 1.0);
		pt__put_u64(&pe, 1);
		pt__put_str(&pe, "fine");
		pt__put_u64(&pe, 1);
		pt__put_str(&pe, bad[i]);
		pt__put_u64(&pe, 0);
		pt__put_u64(&pe, 0);
		pb_expect(&rx, PT_EPROTO);
	}
	/* A NUL inside a name. */
	pb_hdr(2, 0, 0, 1.0);
	pt__put_u64(&pe, 1);
	pt__put_u64(&pe, 3);
	pt__buf_append(&pb, "a\0b", 3);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	/* PT_NAME_MAX bytes are fine, one more is not. */
	memset(longname, 'n', sizeof longname);
	longname[PT_NAME_MAX + 1] = '\0';
	pb_hdr(2, 0, 0, 1.0);
	pt__put_u64(&pe, 1);
	pt__put_str(&pe, longname);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	/* More names than bytes, more than PT_SITES_MAX. */
	pb_hdr(2, 0, 0, 1.0);
	pt__put_u64(&pe, 1000);
	pt__put_str(&pe, "one");
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	pb_hdr(2, 0, 0, 1.0);
	pt__put_u64(&pe, UINT64_MAX);
	pb_expect(&rx, PT_EPROTO);
	pb_hdr(2, 0, 0, 1.0);
	pt__put_u64(&pe, PT_SITES_MAX - 2);	/* 3 known already */
	for (i = 0; i < PT_SITES_MAX - 2; i++) {
		char n[16];

		snprintf(n, sizeof n, "n%zu", i);
		pt__put_str(&pe, n);
	}
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	/* Exactly PT_SITES_MAX is fine. */
	pb_hdr(2, 0, 0, 1.0);
	pt__put_u64(&pe, PT_SITES_MAX - 3);
	for (i = 0; i < PT_SITES_MAX - 3; i++) {
		char n[16];

		snprintf(n, sizeof n, "n%zu", i);
		pt__put_str(&pe, n);
	}
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, 0);
	CU_ASSERT(rx.n_op_names == PT_SITES_MAX &&
	    rx.cur->n_ops == PT_SITES_MAX);
	pt__wire_rx_done(&rx);
}

static void
test_malformed_ops(void)
{
	struct pt__wire_rx rx;

	rx_setup(&rx);
	pb_base(&rx);
	/* More changed ops than known; id gap 0 (a repeat: ids must
	 * strictly ascend); an id beyond the names; a huge gap. */
	pb_delta();
	pt__put_u64(&pe, 4);
	pb_op(1, 0, 0, 0, 0); pt__put_u64(&pe, 0);
	pb_op(1, 0, 0, 0, 0); pt__put_u64(&pe, 0);
	pb_op(1, 0, 0, 0, 0); pt__put_u64(&pe, 0);
	pb_op(1, 0, 0, 0, 0); pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	pb_delta();
	pt__put_u64(&pe, 2);
	pb_op(2, 1, 1, 1, 1); pt__put_u64(&pe, 0);
	pb_op(0, 1, 1, 1, 1); pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	pb_delta();
	pt__put_u64(&pe, 1);
	pb_op(4, 1, 1, 1, 1); pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	pb_delta();
	pt__put_u64(&pe, 2);
	pb_op(2, 1, 1, 1, 1); pt__put_u64(&pe, 0);
	pb_op(UINT64_MAX, 1, 1, 1, 1); pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	/* A count overflowing; min > max with events. */
	pb_delta();
	pt__put_u64(&pe, 1);
	pb_op(1, UINT64_MAX - 4, 0, 10, 10); pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	pb_delta();
	pt__put_u64(&pe, 1);
	pb_op(1, 1, 1, 11, 10); pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 0);
	pb_expect(&rx, PT_EPROTO);
	/* Counters: too many, gap 0, beyond the names. */
	pb_delta();
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 3);
	pt__put_u64(&pe, 1); pt__put_i64(&pe, 1);
	pt__put_u64(&pe, 1); pt__put_i64(&pe, 1);
	pt__put_u64(&pe, 1); pt__put_i64(&pe, 1);
	pb_expect(&rx, PT_EPROTO);
	pb_delta();
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 2);
	pt__put_u64(&pe, 1); pt__put_i64(&pe, 1);
	pt__put_u64(&pe, 0); pt__put_i64(&pe, 1);
	pb_expect(&rx, PT_EPROTO);
	pb_delta();
	pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 1);
	pt__put_u64(&pe, 3); pt__put_i64(&pe, 1);
	pb_expect(&rx, PT_EPROTO);

	/* Fine: min > max without events; a counter wrapping around. */
	pb_delta();
	pt__put_u64(&pe, 1);
	pb_op(2, 0, 0, 11, 10); pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 1);
	pt__put_u64(&pe, 2); pt__put_i64(&pe, INT64_MAX);
	pb_expect(&rx, 0);
	CU_ASSERT(rx.cur->counters[1].value == INT64_MIN + 2);
	CU_ASSERT(rx.cur->ops[1].min_ns == 11 && rx.cur->ops[0].count == 5);
	pt__wire_rx_done(&rx);
}

/* Starts a delta of op a (5 events, bucket 10 = 5) with dcount events. */
static void
pb_bucket_delta(uint64_t dcount)
{
	pb_delta();
	pt__put_u64(&pe, 1);
	pb_op(1, dcount, 0, 0, 0);
}

/* Ends it: no counters. */
static void
pb_end(void)
{
	pt__put_u64(&pe, 0);
}

/*
 * A sparse change of op a (7 events, code 43: offset 0, span 10 .. 12)
 * with nnz << 4 | kr and one byte of bits, decoded against rx.
 */
static void
pb_sparse(struct pt__wire_rx *rx, uint64_t nnz_kr, uint8_t bits, int code)
{
	pb_bucket_delta(7);
	pt__put_u64(&pe, 43 << 2 | 3);
	pt__put_i64(&pe, 0);			/* first: bucket 10 */
	pt__put_u64(&pe, 2);			/* span - 1 */
	pt__put_u64(&pe, nnz_kr);
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(rx, code);
}

static void
test_malformed_buckets(void)
{
	struct pt__wire_rx rx;
	uint8_t bits;

	rx_setup(&rx);
	pb_base(&rx);
	/* List: index PT_HIST_BUCKETS, gap 0, past the end, delta 0,
	 * negative results, too many changes. */
	pb_bucket_delta(1);
	pt__put_u64(&pe, 1 << 1);
	pt__put_u64(&pe, PT_HIST_BUCKETS + 1);
	pt__put_i64(&pe, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(1);
	pt__put_u64(&pe, 2 << 1);
	pt__put_u64(&pe, 5); pt__put_i64(&pe, 1);
	pt__put_u64(&pe, 0); pt__put_i64(&pe, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(1);
	pt__put_u64(&pe, 2 << 1);
	pt__put_u64(&pe, PT_HIST_BUCKETS); pt__put_i64(&pe, 1);
	pt__put_u64(&pe, 1); pt__put_i64(&pe, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(1);
	pt__put_u64(&pe, 1 << 1);
	pt__put_u64(&pe, 3); pt__put_i64(&pe, 0);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(0);
	pt__put_u64(&pe, 1 << 1);
	pt__put_u64(&pe, 11); pt__put_i64(&pe, -6);	/* 5 - 6 */
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(0);
	pt__put_u64(&pe, 1 << 1);
	pt__put_u64(&pe, 12); pt__put_i64(&pe, -1);	/* empty bucket */
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(0);
	pt__put_u64(&pe, 1 << 1);
	pt__put_u64(&pe, 11); pt__put_i64(&pe, INT64_MIN);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(0);
	pt__put_u64(&pe, (uint64_t)(PT_HIST_BUCKETS + 1) << 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(0);
	pt__put_u64(&pe, UINT64_MAX - 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	/* A bucket overflowing. */
	pb_bucket_delta(0);
	pt__put_u64(&pe, 1 << 1);
	pt__put_u64(&pe, 11); pt__put_i64(&pe, INT64_MAX);
	pb_end();
	pb_expect(&rx, 0);			/* 5 + 2^63 - 1 fits */
	pb_hdr(3, 0, 0, 1.0);
	pt__put_u64(&pe, 0); pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 1);
	pb_op(1, 0, 0, 10, 10);
	pt__put_u64(&pe, 1 << 1);
	pt__put_u64(&pe, 11); pt__put_i64(&pe, INT64_MAX);
	pb_end();
	pb_expect(&rx, PT_EPROTO);		/* 2^64 + 3 does not */
	pb_base(&rx);

	/* Packed: k too big (short and long header), the first index out
	 * of range either way, zero events, events beyond the bytes,
	 * non-zero padding, a gap past the last bucket, a unary run too
	 * long.  (Op a's first bucket is 10: the first index is relative.) */
	bits = 0;				/* one gap of 0 */
	pb_bucket_delta(2);
	pt__put_u64(&pe, 11 << 2 | 3);
	pt__put_i64(&pe, 0);
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(2);
	pt__put_u64(&pe, (2 << 4 | 11) << 2 | 1);
	pt__put_i64(&pe, 0);
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(2);
	pt__put_u64(&pe, 3);
	pt__put_i64(&pe, PT_HIST_BUCKETS - 10);
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(2);
	pt__put_u64(&pe, 3);
	pt__put_i64(&pe, -11);
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(2);
	pt__put_u64(&pe, 3);
	pt__put_i64(&pe, INT64_MIN);
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(0);
	pt__put_u64(&pe, 3);			/* E = dcount = 0 */
	pt__put_i64(&pe, 0);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(0);
	pt__put_u64(&pe, 1);			/* E = 0 */
	pt__put_i64(&pe, 0);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(1000);
	pt__put_u64(&pe, 3);
	pt__put_i64(&pe, 0);
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(2);
	pt__put_u64(&pe, 3);
	pt__put_i64(&pe, 0);
	bits = 0x02;				/* gap 0, then a stray 1 */
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	{
		/* k = 10, first index 1000, gap 1000: "0", then 1000 in ten
		 * bits, least significant first. */
		uint8_t raw[2] = { 0xd0, 0x07 };

		pb_bucket_delta(2);
		pt__put_u64(&pe, 10 << 2 | 3);
		pt__put_i64(&pe, 990);
		pt__buf_append(&pb, raw, 2);
		pb_end();
		pb_expect(&rx, PT_EPROTO);	/* 1000 + 1000 > 1983 */
		pb_bucket_delta(2);
		pt__put_u64(&pe, 10 << 2 | 3);
		pt__put_i64(&pe, 900);		/* 910 + 1000 is fine */
		pt__buf_append(&pb, raw, 2);
		pb_end();
		pb_expect(&rx, 0);
		CU_ASSERT(rx.cur->ops[0].n_buckets == 3 &&
		    rx.cur->ops[0].buckets[1].index == 910 &&
		    rx.cur->ops[0].buckets[2].index == 1910);
		pb_base(&rx);
	}
	{
		uint8_t ones[300];

		memset(ones, 0xff, sizeof ones);
		pb_bucket_delta(2);
		pt__put_u64(&pe, 3);
		pt__put_i64(&pe, 0);
		pt__buf_append(&pb, ones, sizeof ones);
		pb_end();
		pb_expect(&rx, PT_EPROTO);
	}
	/* A packed stream cut short. */
	pb_bucket_delta(20);
	pt__put_u64(&pe, 3);
	pt__put_i64(&pe, 0);
	bits = 0;
	pt__buf_append(&pb, &bits, 1);		/* 8 of 19 gaps */
	pb_end();
	pb_expect(&rx, PT_EPROTO);

	/* Good packed changes: 3 events, buckets 10, 10, 13 (k = 1):
	 * gap 0 = "0" + "0", gap 3 = "10" + "1" -> bits 0,0,1,0,1. */
	pb_bucket_delta(3);
	pt__put_u64(&pe, 1 << 2 | 3);		/* k = 1 */
	pt__put_i64(&pe, 0);
	bits = 0x14;
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, 0);
	CU_ASSERT(rx.cur->ops[0].count == 8 && rx.cur->ops[0].n_buckets == 2 &&
	    rx.cur->ops[0].buckets[0].count == 7 &&
	    rx.cur->ops[0].buckets[1].index == 13);
	pb_base(&rx);

	/* Adaptive: a code past the last (48), then a good one.  Op a has 5
	 * events in bucket 10; 7 more, buckets 10 and 11, offset 0.  Bucket
	 * 10: prediction 7, k = 1, change 5: residual -2 = zigzag 3 = "10"
	 * + "1"; bucket 11: prediction 0, k = 0, change 2, coded as itself
	 * = "110": bits 1,0,1,1,1,0. */
	bits = 0x1d;
	pb_bucket_delta(7);
	pt__put_u64(&pe, 48 << 2 | 3);
	pt__put_i64(&pe, 0);
	pt__put_u64(&pe, 1);
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, PT_EPROTO);
	pb_bucket_delta(7);
	pt__put_u64(&pe, 35 << 2 | 3);
	pt__put_i64(&pe, 0);
	pt__put_u64(&pe, 1);
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, 0);
	CU_ASSERT(rx.cur->ops[0].count == 12 && rx.cur->ops[0].n_buckets == 2 &&
	    rx.cur->ops[0].buckets[0].count == 10 &&
	    rx.cur->ops[0].buckets[1].index == 11 &&
	    rx.cur->ops[0].buckets[1].count == 2);
	pb_base(&rx);

	/*
	 * Sparse (code 43: offset 0): 7 more events in buckets 10 and 12,
	 * span 10 .. 12.  Bucket 10 (prediction 7, k = 1): change 5 =
	 * "101" as above; buckets 11 and 12 are predicted 0: one change,
	 * kr = 0, run 1 = "10", change 2 in Exp-Golomb = "10" + "0":
	 * bits 1,0,1,1,0,1,0,0.  Then: kr 11, a second change the stream
	 * lacks, a run past the span (run 2 = "110", change 1 = "0").
	 */
	pb_sparse(&rx, 1 << 4 | 11, 0x2d, PT_EPROTO);
	pb_sparse(&rx, 2 << 4 | 0, 0x2d, PT_EPROTO);
	pb_sparse(&rx, 1 << 4 | 0, 0x1d, PT_EPROTO);
	pb_sparse(&rx, 1 << 4 | 0, 0x2d, 0);
	CU_ASSERT(rx.cur->ops[0].count == 12 && rx.cur->ops[0].n_buckets == 2 &&
	    rx.cur->ops[0].buckets[0].count == 10 &&
	    rx.cur->ops[0].buckets[1].index == 12 &&
	    rx.cur->ops[0].buckets[1].count == 2);
	pb_base(&rx);

	pb_bucket_delta(3);
	pt__put_u64(&pe, 1 << 2 | 3);		/* the packed change again */
	pt__put_i64(&pe, 0);
	bits = 0x14;
	pt__buf_append(&pb, &bits, 1);
	pb_end();
	pb_expect(&rx, 0);

	/* And a list change emptying bucket 10. */
	pb_hdr(3, 0, 0, 1.0);
	pt__put_u64(&pe, 0); pt__put_u64(&pe, 0);
	pt__put_u64(&pe, 1);
	pb_op(1, 0, 0, 10, 10);
	pt__put_u64(&pe, 1 << 1);
	pt__put_u64(&pe, 11); pt__put_i64(&pe, -7);
	pb_end();
	pb_expect(&rx, 0);
	CU_ASSERT(rx.cur->ops[0].n_buckets == 1 &&
	    rx.cur->ops[0].buckets[0].index == 13);
	pt__wire_rx_done(&rx);
}

/* A rich pair of snapshots for the truncation and mutation tests. */
static void
rich_pair(pt_snapshot **a, pt_snapshot **b)
{
	int i;

	*a = mk_snap(5, 3, 2);
	for (i = 0; i < 300; i++)
		op_add(&(*a)->ops[i % 3], 1000 + rng_next() % 50000, 1,
		    (*a)->tick_ns);
	op_add(&(*a)->ops[4], 3, 100000, (*a)->tick_ns);
	(*a)->counters[0].value = -3;
	(*a)->counters[2].value = 1 << 30;
	*b = pt__snapshot_copy(*a);
	for (i = 0; i < 60; i++)
		op_add(&(*b)->ops[i % 2], 1000 + rng_next() % 50000, 1,
		    (*b)->tick_ns);
	op_add(&(*b)->ops[4], 3, 1000000, (*b)->tick_ns);
	op_add(&(*b)->ops[4], 4, 1, (*b)->tick_ns);
	(*b)->counters[2].value = -1;
}

static void
test_truncated(void)
{
	struct pt__wire_tx tx;
	struct pt__wire_rx rx;
	pt_snapshot *a, *b, *got;
	uint8_t *f1, *f2;
	const uint8_t *p1, *p2;
	size_t l1, l2, n1, n2, i;

	rich_pair(&a, &b);
	pt__wire_tx_init(&tx);
	rx_setup(&rx);
	l1 = encode(&tx, a, &f1);
	l2 = encode(&tx, b, &f2);
	payload_of(f1, l1, &p1, &n1);
	payload_of(f2, l2, &p2, &n2);
	for (i = 0; i < n1; i++)
		expect_reject(&rx, p1, i, PT_EPROTO);
	CU_ASSERT(pt__wire_decode_snapshot(&rx, p1, n1, &got) == 0);
	CU_ASSERT(snap_equal(a, got));
	pt_snapshot_free(got);
	for (i = 0; i < n2; i++)
		expect_reject(&rx, p2, i, PT_EPROTO);
	/* With a byte too many. */
	{
		uint8_t *longer = malloc(n2 + 1);

		memcpy(longer, p2, n2);
		longer[n2] = 0;
		expect_reject(&rx, longer, n2 + 1, PT_EPROTO);
		free(longer);
	}
	CU_ASSERT(pt__wire_decode_snapshot(&rx, p2, n2, &got) == 0);
	CU_ASSERT(snap_equal(b, got));
	pt_snapshot_free(got);
	/* Truncated frames are merely incomplete. */
	for (i = 0; i < l2; i++) {
		uint16_t type;
		const uint8_t *p;
		size_t n, fl;

		CU_ASSERT(pt__frame_parse(f2, i, &type, &p, &n, &fl) == 0);
	}
	free(f1);
	free(f2);
	pt_snapshot_free(a);
	pt_snapshot_free(b);
	pt__wire_tx_done(&tx);
	pt__wire_rx_done(&rx);
}

/*
 * Every byte of a delta changed to a few other values: the decoder either
 * accepts (the result is a complete snapshot) or refuses and changes
 * nothing.  (The fuzzer does this at scale under ASan.)
 */
static void
test_mutations(void)
{
	static const uint8_t xors[] = { 0x01, 0x02, 0x10, 0x7f, 0x80, 0xff };
	struct pt__wire_tx tx;
	struct pt__wire_rx rx;
	pt_snapshot *a, *b, *got;
	uint8_t *f1, *f2, *m;
	const uint8_t *p1, *p2;
	size_t l1, l2, n1, n2, i, j, accepted = 0;
	struct rx_mark mk;
	int rc;

	rich_pair(&a, &b);
	pt__wire_tx_init(&tx);
	l1 = encode(&tx, a, &f1);
	l2 = encode(&tx, b, &f2);
	payload_of(f1, l1, &p1, &n1);
	payload_of(f2, l2, &p2, &n2);
	m = malloc(n2);
	for (i = 0; i < n2; i++) {
		for (j = 0; j < sizeof xors; j++) {
			rx_setup(&rx);
			CU_ASSERT_FATAL(pt__wire_decode_snapshot(&rx, p1, n1,
			    NULL) == 0);
			memcpy(m, p2, n2);
			m[i] ^= xors[j];
			rx_mark(&rx, &mk);
			got = NULL;
			rc = pt__wire_decode_snapshot(&rx, m, n2, &got);
			if (rc == 0) {
				accepted++;
				CU_ASSERT(got != NULL && got->n_ops == 5 &&
				    got->n_counters == 3);
				CU_ASSERT(rx.seq == 2);
			} else {
				CU_ASSERT(rc == PT_EPROTO);
				CU_ASSERT(got == NULL && rx_same(&rx, &mk));
			}
			pt_snapshot_free(got);
			pt__wire_rx_done(&rx);
		}
	}
	CU_ASSERT(accepted > 0);	/* some changes are still valid */
	free(m);
	free(f1);
	free(f2);
	pt_snapshot_free(a);
	pt_snapshot_free(b);
	pt__wire_tx_done(&tx);
}

/* ------------------------------------------------------------------------ */
/* What a changed op costs                                                   */
/* ------------------------------------------------------------------------ */

#define MEASURE_OPS	20

/* Adds n log-normal events around median_ns (sigma in log units). */
static void
add_lognormal(pt_op_stats *op, int n, double median_ns, double sigma,
    double tick_ns)
{
	int i;

	for (i = 0; i < n; i++) {
		double ns = median_ns * exp(sigma * rng_normal());

		op_add(op, (uint64_t)(ns / tick_ns) + 1, 1, tick_ns);
	}
}

/*
 * Sends a first snapshot of MEASURE_OPS ops with 10000 events each, then a
 * delta with n_new more per op; returns the delta's bytes per changed op,
 * and in *marginal the same without the fixed part of a frame.
 */
static double
measure(int n_new, double sigma, int list_only, double *marginal)
{
	struct pt__wire_tx tx;
	struct pt__wire_rx rx;
	pt_snapshot *s1, *s2;
	size_t len, empty;
	struct hdr h;
	int i;

	pt__wire_force_list = list_only;
	pt__wire_tx_init(&tx);
	rx_setup(&rx);
	s1 = mk_snap(MEASURE_OPS, 2, 0);
	for (i = 0; i < MEASURE_OPS; i++) {
		add_lognormal(&s1->ops[i], 10000, 10000, sigma, s1->tick_ns);
		pt_op_stats_finish(&s1->ops[i], s1->tick_ns);
	}
	round_trip(&tx, &rx, s1, &h);
	s2 = pt__snapshot_copy(s1);
	s2->time_ns += 1000000000;
	s2->uptime_ns += 1000000000;
	s2->since_reset_ns += 1000000000;
	empty = round_trip(&tx, &rx, s2, &h);	/* only the header changed */
	s2->time_ns += 1000000000;
	for (i = 0; i < MEASURE_OPS; i++)
		add_lognormal(&s2->ops[i], n_new, 10000, sigma, s2->tick_ns);
	len = round_trip(&tx, &rx, s2, &h);
	CU_ASSERT(h.flags == 0 && h.changed_ops == MEASURE_OPS);
	pt_snapshot_free(s1);
	pt_snapshot_free(s2);
	pt__wire_tx_done(&tx);
	pt__wire_rx_done(&rx);
	pt__wire_force_list = 0;
	*marginal = (double)(len - empty) / MEASURE_OPS;
	return (double)len / MEASURE_OPS;
}

static void
test_measure(void)
{
	static const struct { int n; double sigma; } cases[] = {
		{ 100, 0.5 }, { 100, 0.25 }, { 100, 1.0 }, { 5, 0.5 },
		{ 1000, 0.5 },
	};
	double per, marg, lper, lmarg;
	size_t i;

	printf("\n    bytes per changed op (%d ops, log-normal around 10us, "
	    "frame/ops and beyond an empty delta):\n", MEASURE_OPS);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		per = measure(cases[i].n, cases[i].sigma, 0, &marg);
		lper = measure(cases[i].n, cases[i].sigma, 1, &lmarg);
		printf("      %4d new events, sigma %.2f: %6.1f (%6.1f)   "
		    "list form only: %6.1f (%6.1f)\n", cases[i].n,
		    cases[i].sigma, per, marg, lper, lmarg);
	}
}

/* The same with the real clock and pt_snapshot_take(). */
static void
test_measure_real(void)
{
	static pt_site sites[MEASURE_OPS];
	static char names[MEASURE_OPS][32];
	struct pt__wire_tx tx;
	struct pt__wire_rx rx;
	pt_snapshot *s;
	size_t len, empty;
	struct hdr h;
	int i, j;

	pt__wire_tx_init(&tx);
	pt__wire_rx_init(&rx);
	for (i = 0; i < MEASURE_OPS; i++) {
		snprintf(names[i], sizeof names[i], "measure.%02d", i);
		sites[i].pt_name = names[i];
		sites[i].pt_kind = PT_KIND_OP;
		for (j = 0; j < 10000; j++)
			pt_record_ns(&sites[i],
			    (uint64_t)(10000 * exp(0.5 * rng_normal())));
	}
	CU_ASSERT_FATAL(pt_snapshot_take(&s) == 0);
	rx.pid = s->pid;
	memcpy(rx.process, s->process, sizeof rx.process);
	round_trip(&tx, &rx, s, &h);
	pt_snapshot_free(s);
	CU_ASSERT_FATAL(pt_snapshot_take(&s) == 0);
	empty = round_trip(&tx, &rx, s, &h);
	printf("\n    real snapshots: %zu ops known, an idle delta %zu bytes "
	    "(%llu ops changed)\n", s->n_ops, empty,
	    (unsigned long long)h.changed_ops);
	pt_snapshot_free(s);
	for (i = 0; i < MEASURE_OPS; i++)
		for (j = 0; j < 100; j++)
			pt_record_ns(&sites[i],
			    (uint64_t)(10000 * exp(0.5 * rng_normal())));
	CU_ASSERT_FATAL(pt_snapshot_take(&s) == 0);
	len = round_trip(&tx, &rx, s, &h);
	printf("    real delta, 100 events in each of %d ops: %zu bytes, "
	    "%llu ops changed, %.1f bytes per changed op\n", MEASURE_OPS,
	    len, (unsigned long long)h.changed_ops,
	    (double)len / (double)(h.changed_ops ? h.changed_ops : 1));
	pt_snapshot_free(s);
	pt__wire_tx_done(&tx);
	pt__wire_rx_done(&rx);
}

/* ------------------------------------------------------------------------ */

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "buffers", test_buf },
		{ "varints and fixed fields", test_varint },
		{ "bad varints and strings", test_bad_varints },
		{ "frame parsing", test_frame_parse },
		{ "frame building", test_frame_build },
		{ "hello", test_hello },
		{ "welcome", test_welcome },
		{ "error", test_error_msg },
		{ "u64 and empty messages", test_u64_msgs },
		{ "snapshot copy", test_copy },
		{ "round trip, hand-made", test_roundtrip_hand },
		{ "epoch change and FULL", test_epoch_full },
		{ "encoder input checks", test_encode_invalid },
		{ "round trip, real snapshots", test_roundtrip_real },
		{ "incremental snapshots", test_incremental },
		{ "change lists of the agent's cache", test_change_lists },
		{ "predicted bucket form", test_predicted_form },
		{ "adaptive bucket form", test_adaptive_form },
		{ "sparse bucket form", test_sparse_form },
		{ "malformed header", test_malformed_header },
		{ "malformed names", test_malformed_names },
		{ "malformed ops and counters", test_malformed_ops },
		{ "malformed buckets", test_malformed_buckets },
		{ "truncated at every byte", test_truncated },
		{ "mutated bytes", test_mutations },
		{ "bytes per changed op", test_measure },
		{ "bytes per changed op, real", test_measure_real },
	};
	int rc;

	setenv("PERFTOP_AGENT", "0", 1);	/* no socket from this test */
	rc = cunit_run("wire", NULL, NULL, tests, CUNIT_COUNT(tests));
	pt__buf_free(&pb);
	return rc;
}
