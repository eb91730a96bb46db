/*
 * early.c - suite "early": a call site used before anything was
 * initialised, from a constructor run before the library's and from the
 * start of main().
 */
#include "core-test.h"

static struct {
	int		ctor_op_id, ctor_ctr_id;
	int		main_op_id, main_ctr_id;
	uint64_t	main_inner_ns, main_outer_ns;
	int		main_snap_rc;
	pt_snapshot	*main_snap;
} early;

/*
 * Runs before main() and before the library's own constructors (priority
 * 101 comes before the default): the first use of the library happens here.
 * The agent is switched off for the whole program (unless the environment
 * asks otherwise) so that no socket is created and no thread started.
 */
__attribute__((constructor(101))) static void
early_ctor(void)
{
	static pt_site op = PT_SITE_INIT("early.ctor.op", PT_KIND_OP);
	static pt_site ctr = PT_SITE_INIT("early.ctor.ctr", PT_KIND_COUNTER);
	pt_scope sc;

	setenv("PERFTOP_AGENT", "0", 0);
	sc = pt_scope_begin(&op);
	pt_scope_end(&sc);
	pt_counter_add(&ctr, 3);
	early.ctor_op_id = op.pt_id;
	early.ctor_ctr_id = ctr.pt_id;
}

/* The first thing main() does: record a scope and a counter, snapshot. */
void
early_main(void)
{
	static pt_site op = PT_SITE_INIT("early.main.op", PT_KIND_OP);
	static pt_site ctr = PT_SITE_INIT("early.main.ctr", PT_KIND_COUNTER);
	uint64_t t0, t1;
	pt_scope sc;

	t0 = mono_ns();
	sc = pt_scope_begin(&op);
	early.main_inner_ns = spin_ns(100000);
	pt_scope_end(&sc);
	t1 = mono_ns();
	early.main_outer_ns = t1 - t0;
	pt_counter_add(&ctr, 5);
	early.main_op_id = op.pt_id;
	early.main_ctr_id = ctr.pt_id;
	early.main_snap_rc = pt_snapshot_take(&early.main_snap);
}

/* Frees the snapshot early_main() took. */
void
early_done(void)
{
	pt_snapshot_free(early.main_snap);
}

static void
test_call_site_used_before_initialisation(void)
{
	const pt_op_stats *op;
	pt_snapshot *s;

	CU_ASSERT(early.ctor_op_id > 0);
	CU_ASSERT(early.ctor_ctr_id > 0);
	CU_ASSERT(early.main_op_id > 0);
	CU_ASSERT(early.main_ctr_id > 0);
	CHECK_INT_EQ(early.main_snap_rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(early.main_snap);

	s = early.main_snap;
	CHECK_U64_EQ(s->reset_epoch, 0);
	CHECK_U64_EQ(op_count(s, "early.ctor.op"), 1);
	CHECK_I64_EQ(ctr_value(s, "early.ctor.ctr"), 3);
	op = snap_op(s, "early.main.op");
	CHECK_U64_EQ(op->count, 1);
	CHECK_RANGE(early.main_inner_ns * 0.999 - 200, op->total_ns,
	    early.main_outer_ns * 1.001 + 200);
	CHECK_U64_EQ(op->min_ns, op->max_ns);
	CHECK_I64_EQ(ctr_value(s, "early.main.ctr"), 5);

	/* A fresh snapshot still holds them (nothing was reset). */
	s = snap_take();
	CHECK_U64_EQ(s->reset_epoch, 0);
	CHECK_U64_EQ(op_count(s, "early.ctor.op"), 1);
	CHECK_U64_EQ(op_count(s, "early.main.op"), 1);
	CHECK_I64_EQ(ctr_value(s, "early.ctor.ctr"), 3);
	CHECK_I64_EQ(ctr_value(s, "early.main.ctr"), 5);
	pt_snapshot_free(s);
}

const struct test_def early_tests[] = {
	TEST(test_call_site_used_before_initialisation),
	{ NULL, NULL }
};
