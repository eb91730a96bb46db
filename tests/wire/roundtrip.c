/*
 * roundtrip.c - snapshots through the encoder and the decoder: copies,
 * hand-made snapshots (name high-water marks, FULL after an epoch
 * change), the encoder's input checks and real snapshots.
 */
#include "wire-test.h"

/* ------------------------------------------------------------------------ */
/* Snapshot round trips                                                      */
/* ------------------------------------------------------------------------ */

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
		t2.shared = NULL;
		t2.share_id = 0;
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

const struct cunit_test roundtrip_tests[] = {
	{ "snapshot copy", test_copy },
	{ "round trip, hand-made", test_roundtrip_hand },
	{ "epoch change and FULL", test_epoch_full },
	{ "encoder input checks", test_encode_invalid },
	{ "round trip, real snapshots", test_roundtrip_real },
	{ NULL, NULL }
};
