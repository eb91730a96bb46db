/*
 * test-agent.c - CUnit tests of the socket directory rules, the agent thread
 * and the client, all in one process: the agent serves this test program on
 * PERFTOP_SOCKET_DIR (a fresh mkdtemp directory) and the tests connect to
 * it, either with the client or with raw sockets to send malformed input.
 *
 * The tests are in tests/agent/, a file per topic (helpers.c holds what
 * they share, and the suite's setup and cleanup); this file runs them as
 * one suite, in the order of tables[].
 */
#include "agent/agent-test.h"

/* The tables of tests of tests/agent/, in the order they run. */
static const struct cunit_test *const tables[] = {
	sockdir_tests,
	lifecycle_tests,
	client_tests,
	protocol_tests,
	process_tests,
	slow_viewer_tests,
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
	rc = cunit_run("agent", suite_init, suite_clean, tests, n);
	free(tests);
	return rc;
}
