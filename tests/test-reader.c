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
	return cunit_run_tables("reader", NULL, NULL, tables,
	    CUNIT_COUNT(tables));
}
