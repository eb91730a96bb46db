/*
 * test-core.c - CUnit tests of the monitor core in core/.
 *
 * Linked against the internal convenience library, so the pt__ test hooks of
 * core/core.h are callable.  Each test uses call sites of its own (names
 * starting with the suite's prefix) so that tests do not see each other's
 * events; the reset suite, which clears everything, runs after the suites
 * whose checks depend on cumulative figures, and the fork suite, which
 * registers thousands of names, runs last.
 *
 * The suites are in tests/core/, a file each (helpers.c holds what they
 * share); this file runs them in that order.
 *
 * Usage: test-core [SUITE [TEST]]   (no argument: every suite)
 * Environment: PERFTOP_TEST_QUICK=1 shortens the longest loops (for the
 * sanitizers and valgrind; see quick in helpers.c).
 */
#include "core/core-test.h"

static const struct {
	const char		*name;
	const struct test_def	*tests;
} suites[] = {
	{ "early", early_tests },
	{ "sites", sites_tests },
	{ "histogram", hist_tests },
	{ "correctness", correctness_tests },
	{ "percentiles", pct_tests },
	{ "keys", keys_tests },
	{ "api", api_tests },
	{ "memory", memory_tests },
	{ "threads", thread_tests },
	{ "constant-memory", constmem_tests },
	{ "reset", reset_tests },
	{ "fork", fork_tests },
};

int
main(int argc, char **argv)
{
	const struct test_def *t;
	const char *q;
	unsigned failed;
	CU_pSuite suite;
	size_t i;
	int found = 0;

	/* First of all: use a call site before anything was initialised. */
	early_main();
	names_init();
	quick = (q = getenv("PERFTOP_TEST_QUICK")) != NULL && *q != '\0' &&
	    strcmp(q, "0") != 0;
	valgrind = cunit_under_valgrind();
	if (quick)
		fprintf(stderr, "PERFTOP_TEST_QUICK: 2e6 events instead of "
		    "1e8, 1,000 threads instead of 10,000, 1/16 of the reset "
		    "rounds, 200,000 samples per percentile test instead of "
		    "1,000,000%s\n", valgrind ? "; shorter still under "
		    "valgrind" : "");

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (i = 0; i < sizeof suites / sizeof suites[0]; i++) {
		if (argc > 1 && strcmp(argv[1], suites[i].name) != 0)
			continue;
		found = 1;
		if ((suite = CU_add_suite(suites[i].name, NULL, NULL)) == NULL)
			goto fail;
		for (t = suites[i].tests; t->name != NULL; t++)
			if ((argc < 3 || strcmp(argv[2], t->name) == 0) &&
			    CU_add_test(suite, t->name, t->fn) == NULL)
				goto fail;
	}
	if (!found) {
		fprintf(stderr, "%s: no suite %s\n", argv[0], argv[1]);
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	early_done();
	return failed != 0;
fail:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}
