/*
 * test-disable.c - with PT_DISABLE every instrumentation macro compiles out.
 *
 * Built with -DPT_DISABLE and linked WITHOUT libperftop: if any macro still
 * referred to a pt_ function the program would not link.  It calls no pt_
 * function itself; it checks that the instrumented code still runs and that
 * the macros' arguments are not evaluated.
 */
#ifndef PT_DISABLE
#define PT_DISABLE 1
#endif

#include <CUnit/Basic.h>

#include "cunit.h"

#include "perftop.h"

static int evaluated;

/* Has a side effect, so that an evaluated macro argument shows. */
static __attribute__((unused)) int
side_effect(int n)
{
	evaluated++;
	return n;
}

static int
func_probe(int x)
{
	PT_FUNC();
	return x * 2;
}

static int
scope_count_probe(int x)
{
	PT_SCOPE_COUNT("disabled.step", "disabled.steps");
	return x + 1;
}

static void
test_pt_scope_and_pt_func_blocks_still_run(void)
{
	int ran = 0, i;

	for (i = 0; i < 3; i++) {
		PT_SCOPE("disabled.scope");
		ran++;
		{
			PT_SCOPE("disabled.inner");
			ran++;
		}
	}
	CU_ASSERT_EQUAL(ran, 6);
	CU_ASSERT_EQUAL(func_probe(21), 42);
}

static void
test_pt_scope_count_block_still_runs(void)
{
	CU_ASSERT_EQUAL(scope_count_probe(1), 2);
	CU_ASSERT_EQUAL(scope_count_probe(41), 42);
}

static void
test_pt_begin_end_still_run_the_code_between(void)
{
	int ran = 0;

	PT_BEGIN(t, "disabled.begin");
	ran++;
	PT_END(t);
	PT_BEGIN(u, "disabled.begin2");
	ran++;
	PT_END(u);
	CU_ASSERT_EQUAL(ran, 2);
}

static void
test_pt_count_and_pt_inc_do_not_evaluate_arguments(void)
{
	int i;

	evaluated = 0;
	for (i = 0; i < 5; i++) {
		PT_COUNT("disabled.count", side_effect(i));
		PT_INC("disabled.inc");
	}
	/* Usable as expression statements, e.g. in an unbraced if. */
	if (i == 5)
		PT_INC("disabled.if");
	else
		PT_COUNT("disabled.else", 2);
	CU_ASSERT_EQUAL(evaluated, 0);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "test_pt_scope_and_pt_func_blocks_still_run",
		    test_pt_scope_and_pt_func_blocks_still_run },
		{ "test_pt_scope_count_block_still_runs",
		    test_pt_scope_count_block_still_runs },
		{ "test_pt_begin_end_still_run_the_code_between",
		    test_pt_begin_end_still_run_the_code_between },
		{ "test_pt_count_and_pt_inc_do_not_evaluate_arguments",
		    test_pt_count_and_pt_inc_do_not_evaluate_arguments },
	};
	return cunit_run("disabled", NULL, NULL, tests, CUNIT_COUNT(tests));
}
