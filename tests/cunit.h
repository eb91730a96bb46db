/*
 * cunit.h - the main of the CUnit test programs (tests/test-*.c): one suite
 * of named tests, run in CUnit's verbose mode.
 */
#ifndef PT_TESTS_CUNIT_H
#define PT_TESTS_CUNIT_H

#include <stddef.h>
#include <stdio.h>

#include <CUnit/Basic.h>

/* A test: what it prints and what it runs. */
struct cunit_test {
	const char	*name;
	CU_TestFunc	 fn;
};

#define CUNIT_COUNT(a)	(sizeof (a) / sizeof (a)[0])

/*
 * Runs the n tests of t as one suite called name (init and clean, run
 * around the suite, may be NULL).  Returns the program's exit status: 0
 * when every test passed, 1 when one failed, 2 when CUnit could not run
 * them.
 */
static inline int
cunit_run(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
    const struct cunit_test *t, size_t n)
{
	unsigned failed;
	CU_pSuite suite;
	size_t i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if ((suite = CU_add_suite(name, init, clean)) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (CU_add_test(suite, t[i].name, t[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
	    CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed != 0;
fail:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}

#endif /* PT_TESTS_CUNIT_H */
