/*
 * mutations.c - encoded snapshots truncated at every byte and with
 * every byte changed: refused, changing nothing, or decoded whole.
 */
#include "wire-test.h"

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

const struct cunit_test mutation_tests[] = {
	{ "truncated at every byte", test_truncated },
	{ "mutated bytes", test_mutations },
	{ NULL, NULL }
};
