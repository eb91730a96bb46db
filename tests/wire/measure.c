/*
 * measure.c - prints what a changed operation costs on the wire, for
 * hand-made and real snapshots.
 */
#include "wire-test.h"

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

const struct cunit_test measure_tests[] = {
	{ "bytes per changed op", test_measure },
	{ "bytes per changed op, real", test_measure_real },
	{ NULL, NULL }
};
