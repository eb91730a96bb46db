/*
 * agent.c - the agent thread that serves snapshots to perftop.
 * (Placeholder until the socket agent lands: nothing is served.)
 */
#include "core.h"

void
pt__agent_autostart(void)
{
}

int
pt_agent_start(void)
{
	return PT_EDISABLED;
}

int
pt_agent_stop(void)
{
	return 0;
}
