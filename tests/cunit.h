/*
 * cunit.h - the main of the CUnit test programs (tests/test-*.c): one suite
 * of named tests, run in CUnit's verbose mode.
 */
#ifndef PT_TESTS_CUNIT_H
#define PT_TESTS_CUNIT_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

/* ThreadSanitizer cannot start threads in the child of a threaded fork. */
#if defined(__SANITIZE_THREAD__)
#define CUNIT_TSAN	1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CUNIT_TSAN	1
#endif
#endif
#ifndef CUNIT_TSAN
#define CUNIT_TSAN	0
#endif

/* Whether valgrind runs this program (it preloads its vgpreload_*.so). */
static inline int
cunit_under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "/vgpreload_") != NULL;
}

/*
 * A wait for something that should happen, of ms milliseconds, made five
 * times as long under valgrind: with the fuzzers beside it in CI, a
 * program under memcheck can run twenty times slower than alone.  A wait
 * that succeeds returns early, so this costs a passing test nothing.
 */
static inline int
cunit_wait_ms(int ms)
{
	return cunit_under_valgrind() ? ms * 5 : ms;
}

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

/*
 * Runs the tests of the n tables (each ended by a NULL name), in order, as
 * one suite called name; returns as cunit_run() does.
 */
static inline int
cunit_run_tables(const char *name, CU_InitializeFunc init,
    CU_CleanupFunc clean, const struct cunit_test *const *tables, size_t n)
{
	const struct cunit_test *t;
	struct cunit_test *tests;
	size_t i, k = 0;
	int rc;

	for (i = 0; i < n; i++)
		for (t = tables[i]; t->name != NULL; t++)
			k++;
	if ((tests = calloc(k, sizeof *tests)) == NULL)
		return 2;
	k = 0;
	for (i = 0; i < n; i++)
		for (t = tables[i]; t->name != NULL; t++)
			tests[k++] = *t;
	rc = cunit_run(name, init, clean, tests, k);
	free(tests);
	return rc;
}

#endif /* PT_TESTS_CUNIT_H */
