/*
 * test-snapcache.c - the agent's incremental snapshot (struct
 * pt__snapcache): operations updated from the slots' journals must come out
 * exactly as a full snapshot says, alone and with threads recording while
 * it refreshes; and it must fall back to the buckets whenever the journal
 * cannot tell (too many events, a batch, a slot another cache read last).
 *
 * The tests are in tests/snapcache/, a file per topic (helpers.c holds
 * what they share); this file runs them as one suite, in the order of
 * tables[].
 */
#include "snapcache/snapcache-test.h"

/* The tables of tests of tests/snapcache/, in the order they run. */
static const struct cunit_test *const tables[] = {
	replay_tests,
	thread_tests,
	heap_tests,
};

int
main(void)
{
	setenv("PERFTOP_AGENT", "0", 1);
	return cunit_run_tables("snapcache", suite_init, NULL, tables,
	    CUNIT_COUNT(tables));
}
