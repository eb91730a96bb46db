/*
 * malformed.c - hand-built SNAPSHOT payloads malformed in their header,
 * names, operations, counters and buckets: each refused, changing
 * nothing.
 */
#include "wire-test.h"

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

/* Frees the buffer of the payloads (pb_start()): at the end of main(). */
void
malformed_done(void)
{
	pt__buf_free(&pb);
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

const struct cunit_test malformed_tests[] = {
	{ "malformed header", test_malformed_header },
	{ "malformed names", test_malformed_names },
	{ "malformed ops and counters", test_malformed_ops },
	{ "malformed buckets", test_malformed_buckets },
	{ NULL, NULL }
};
