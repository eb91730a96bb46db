/*
 * clock.c - the tick clock: the invariant TSC where the CPU says it is safe,
 * otherwise CLOCK_MONOTONIC; ticks are turned into nanoseconds off the hot
 * path by a calibration against CLOCK_MONOTONIC that sharpens with time.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


struct pt__global pt__g;
int pt__tsc;

/* Calibration anchor: a (ticks, monotonic ns) pair taken at init. */
static uint64_t	anchor_ticks, anchor_ns;
static uint64_t	tick_ns_bits;		/* a double, read and written whole */
static int	tick_ns_settled;	/* tick_ns_bits is final */

/* Reads a clock in nanoseconds. */
static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
pt__mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t
pt__real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* The fallback tick source: CLOCK_MONOTONIC in nanoseconds. */
uint64_t
pt__clock_ticks_slow(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/*
 * Tells whether the TSC is invariant (constant_tsc and nonstop_tsc in
 * /proc/cpuinfo) and the kernel itself trusts it as its clocksource.
 */
static int
tsc_usable(void)
{
#if defined(__x86_64__) || defined(__i386__)
	FILE *f;
	char line[4096];
	int constant = 0, nonstop = 0, kernel = 0;

	const char *force = getenv("PERFTOP_CLOCK");

	if (force != NULL && strcmp(force, "monotonic") == 0)
		return 0;
	if ((f = fopen("/proc/cpuinfo", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		constant = strstr(line, " constant_tsc") != NULL;
		nonstop = strstr(line, " nonstop_tsc") != NULL;
		break;
	}
	fclose(f);
	/* PERFTOP_CLOCK=tsc: the user vouches for a TSC the kernel does not
	 * use (a VM booted with tsc=unstable, say); the CPU flags still count. */
	if (force != NULL && strcmp(force, "tsc") == 0)
		return constant && nonstop;
	if ((f = fopen("/sys/devices/system/clocksource/clocksource0/"
	    "current_clocksource", "re")) != NULL) {
		if (fgets(line, sizeof line, f) != NULL)
			kernel = strncmp(line, "tsc", 3) == 0;
		fclose(f);
	}
	return constant && nonstop && kernel;
#else
	return 0;
#endif
}

/* Reads ticks and CLOCK_MONOTONIC as close together as possible. */
static void
clock_pair(uint64_t *ticks, uint64_t *ns)
{
	uint64_t t0, t1, n, best = UINT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		t0 = pt__clock_now();
		n = pt__mono_ns();
		t1 = pt__clock_now();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*ticks = t0 + (t1 - t0) / 2;
			*ns = n;
		}
	}
}

/* Chooses the tick source and takes the calibration anchor.  Runs once. */
void
pt__clock_init(void)
{
	double one = 1.0;

	pt__g.tsc = tsc_usable();
	pt__tsc = pt__g.tsc;
	clock_pair(&anchor_ticks, &anchor_ns);
	memcpy(&tick_ns_bits, &one, sizeof one);
}

/*
 * Returns nanoseconds per tick.  With the TSC, measures ticks against
 * CLOCK_MONOTONIC since the anchor; a call within 5 ms of start-up waits
 * until 5 ms have passed so every figure is within a few parts per million,
 * and from 2 s on the figure stays fixed.  Never called on the hot path.
 */
double
pt__clock_tick_ns(void)
{
	uint64_t t, n, bits;
	double r;

	if (!pt__g.tsc)
		return 1.0;
	/* Settled: after 2 s the ratio is good to a few parts in 10^8, and a
	 * fixed figure keeps unchanged totals unchanged between snapshots. */
	if (__atomic_load_n(&tick_ns_settled, __ATOMIC_ACQUIRE)) {
		bits = __atomic_load_n(&tick_ns_bits, __ATOMIC_RELAXED);
		memcpy(&r, &bits, sizeof r);
		return r;
	}
	clock_pair(&t, &n);
	while (n - anchor_ns < 5000000)
		clock_pair(&t, &n);
	if (t <= anchor_ticks)
		return 1.0;
	r = (double)(n - anchor_ns) / (double)(t - anchor_ticks);
	memcpy(&bits, &r, sizeof r);
	__atomic_store_n(&tick_ns_bits, bits, __ATOMIC_RELAXED);
	if (n - anchor_ns >= 2000000000u)
		__atomic_store_n(&tick_ns_settled, 1, __ATOMIC_RELEASE);
	return r;
}
