/*
 * lifecycle.c - the agent started and stopped, switched off by the
 * environment, and refused an unsafe directory.
 */
#include "agent-test.h"

/* ------------------------------------------------------------------------ */
/* Agent life cycle                                                          */
/* ------------------------------------------------------------------------ */

static void
test_start_stop(void)
{
	CU_ASSERT_EQUAL(pt_agent_start(), 0);
	CU_ASSERT_EQUAL(pt_agent_start(), 0);	/* already running */
	CU_ASSERT(exists(sockfile));
	CU_ASSERT(find_thread("perftop-agent") > 0);
	CU_ASSERT_EQUAL(pt_agent_stop(), 0);
	CU_ASSERT(!exists(sockfile));
	CU_ASSERT_EQUAL(find_thread("perftop-agent"), -1);
	CU_ASSERT_EQUAL(pt_agent_stop(), 0);	/* not running */

	/* A stale file with our name is replaced. */
	close(open(sockfile, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	CU_ASSERT_EQUAL(pt_agent_start(), 0);
	CU_ASSERT(exists(sockfile));
	{
		struct pt__client *c = open_self();

		pt__client_close(c);
	}

	/* Switched off by the environment. */
	CU_ASSERT_EQUAL(pt_agent_stop(), 0);
	setenv("PERFTOP_AGENT", "off", 1);
	CU_ASSERT_EQUAL(pt_agent_start(), PT_EDISABLED);
	CU_ASSERT(!exists(sockfile));
	setenv("PERFTOP_AGENT", "0", 1);
	CU_ASSERT_EQUAL(pt_agent_start(), PT_EDISABLED);
	setenv("PERFTOP_AGENT", "1", 1);
	CU_ASSERT_EQUAL(pt_agent_start(), 0);
	unsetenv("PERFTOP_AGENT");
	CU_ASSERT(exists(sockfile));

	/* An unsafe directory. */
	{
		char bad[256];

		CU_ASSERT_EQUAL(pt_agent_stop(), 0);
		snprintf(bad, sizeof bad, "%s/unsafe", tmpdir);
		CU_ASSERT_EQUAL(mkdir(bad, 0700), 0);
		CU_ASSERT_EQUAL(chmod(bad, 0777), 0);
		setenv("PERFTOP_SOCKET_DIR", bad, 1);
		CU_ASSERT_EQUAL(pt_agent_start(), PT_EPERM);
		setenv("PERFTOP_SOCKET_DIR", tmpdir, 1);
		CU_ASSERT_EQUAL(pt_agent_start(), 0);
	}
}

const struct cunit_test lifecycle_tests[] = {
	{ "start and stop", test_start_stop },
	{ NULL, NULL }
};
