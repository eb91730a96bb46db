/*
 * forms.c - the predicted, adaptive and sparse forms of an operation's
 * bucket changes: chosen when they are shorter, and arriving intact.
 */
#include "wire-test.h"

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

/*
 * The packed form's Rice parameter found by a walk (its size is convex in
 * the parameter) is the one trying all 11 finds, on random sets of
 * changes: 1 to 40 buckets, gaps up to 2^10, a few events each or many.
 */
static void
test_packed_walk(void)
{
	uint32_t idx[64];
	uint64_t cnt[64], seed = 5;
	size_t n, j;
	int t, bad = 0;

	for (t = 0; t < 200000; t++) {
		uint32_t x = (uint32_t)(lcg(&seed) >> 40) % 100;
		uint32_t spread = 1u << (lcg(&seed) >> 40) % 11;

		n = 1 + (size_t)(lcg(&seed) >> 40) % 40;
		for (j = 0; j < n && x < PT_HIST_BUCKETS; j++) {
			idx[j] = x;
			cnt[j] = (lcg(&seed) >> 40) % 4 == 0 ?
			    1 + (lcg(&seed) >> 40) % 50 : 1;
			x += 1 + (uint32_t)(lcg(&seed) >> 40) % spread;
		}
		bad += !pt__wire_packed_check(idx, cnt, j);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

const struct cunit_test forms_tests[] = {
	{ "predicted bucket form", test_predicted_form },
	{ "adaptive bucket form", test_adaptive_form },
	{ "sparse bucket form", test_sparse_form },
	{ "packed form: the walk finds the best parameter", test_packed_walk },
	{ NULL, NULL }
};
