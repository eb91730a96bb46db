/*
 * test-reader.c - CUnit tests of tui/reader.c, the reader of snapshot
 * files and recordings: valid files of both kinds read back to the
 * snapshot that was written, every kind of bad member is refused with its
 * path, duplicate names and keys, empty files and lines, a cut-off last
 * line, overlong lines and documents, JSON made to take memory, --line.
 *
 * The tests are in tests/reader/, a file per topic (helpers.c holds what
 * they share); this file runs them as one suite, in the order of tables[].
 */
#include "reader/reader-test.h"

/* The tables of tests of tests/reader/, in the order they run. */
static const struct cunit_test *const tables[] = {
	valid_tests,
	members_tests,
	lines_tests,
};

int
main(void)
{
	const struct cunit_test *t;
	struct cunit_test *tests;
	size_t i, n = 0;
	int rc;

	for (i = 0; i < CUNIT_COUNT(tables); i++)
		for (t = tables[i]; t->name != NULL; t++)
			n++;
	if ((tests = calloc(n, sizeof *tests)) == NULL)
		return 2;
	n = 0;
	for (i = 0; i < CUNIT_COUNT(tables); i++)
		for (t = tables[i]; t->name != NULL; t++)
			tests[n++] = *t;
	rc = cunit_run("reader", NULL, NULL, tests, n);
	free(tests);
	return rc;
}
