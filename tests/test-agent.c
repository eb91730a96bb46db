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
	return cunit_run_tables("agent", suite_init, suite_clean, tables,
	    CUNIT_COUNT(tables));
}
