/*
 * test-wire.c - unit tests of ipc/frame.c, ipc/wire.c, ipc/snapenc.c,
 * ipc/bucketenc.c and ipc/snapdec.c: buffers, varints, frames, the small
 * messages and the snapshot codec (round trips, name high-water marks, FULL
 * after a reset, and malformed input of every kind).
 * Also prints what a changed operation costs on the wire.
 *
 * The tests are in tests/wire/, a file per topic (helpers.c holds what they
 * share); this file runs them as one suite, in the order of tables[].
 */
#include "wire/wire-test.h"

/* The tables of tests of tests/wire/, in the order they run. */
static const struct cunit_test *const tables[] = {
	framing_tests,
	roundtrip_tests,
	incremental_tests,
	forms_tests,
	malformed_tests,
	mutation_tests,
	measure_tests,
};

int
main(void)
{
	int rc;

	setenv("PERFTOP_AGENT", "0", 1);	/* no socket from this test */
	rc = cunit_run_tables("wire", NULL, NULL, tables,
	    CUNIT_COUNT(tables));
	malformed_done();
	return rc;
}
