/*
 * demo-work.c - perftop-demo's CPU work and pacing: burn_ns() spends about
 * the nanoseconds asked for (calibrated at start), and a pacer makes a
 * thread sleep so that it uses about g_cpu_share of a core.
 */
#include <stdint.h>

#include "demo.h"

/* Fraction of one CPU each worker thread may use (set by main()). */
double g_cpu_share = 0.25;

/* Nanoseconds one burn() unit takes on this machine (calibrated). */
static double g_unit_ns = 1.0;

/* ------------------------------------------------------------------------ */
/* CPU work                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Burns units of CPU work: rounds of a hash over a small array that the
 * rounds also update.  One unit is calibrated to g_unit_ns at start (not
 * inlined, so that every caller runs the calibrated code).
 */
__attribute__((noinline)) static uint64_t
burn_units(uint64_t units, uint64_t seed)
{
	uint64_t a[16];

	for (int i = 0; i < 16; i++)
		a[i] = seed + (uint64_t)i * 0x9E3779B97F4A7C15ULL;
	for (uint64_t u = 0; u < units; u++) {
		uint64_t h = a[u & 15];

		for (int i = 0; i < 16; i++)
			h = (h ^ a[i]) * 0x100000001B3ULL;
		a[(u + 7) & 15] ^= h >> 7;
	}
	return a[0] ^ a[9];
}

/* Burns about ns nanoseconds of CPU. */
uint64_t
burn_ns(uint64_t ns, uint64_t seed)
{
	uint64_t units = (uint64_t)((double)ns / g_unit_ns);

	return burn_units(units ? units : 1, seed);
}

/* Measures what one unit of burn_units() costs on this machine. */
void
calibrate_burn(void)
{
	uint64_t units = 1000, t0, t;

	for (;;) {
		t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		g_sink += burn_units(units, units);
		t = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		if (t >= 5 * NS_PER_MS || units >= (1ULL << 30))
			break;
		units *= 4;
	}
	g_unit_ns = (double)t / (double)units;
	if (g_unit_ns < 0.1)
		g_unit_ns = 0.1;
}

/* ------------------------------------------------------------------------ */
/* Pacing: each thread sleeps so it uses about g_cpu_share of a core          */
/* ------------------------------------------------------------------------ */

void
pacer_init(struct pacer *p)
{
	double share = g_cpu_share;

	if (share > 1.0)
		share = 1.0;
	p->ratio = (1.0 - share) / share;
	p->cpu_mark = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	p->debt_ns = 0;
}

/* Called between steps: sleeps off the debt once it is worth a nanosleep. */
void
pacer_pace(struct pacer *p)
{
	uint64_t now = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t used = now - p->cpu_mark;
	uint64_t t0, slept, chunk;

	p->cpu_mark = now;
	p->debt_ns += (int64_t)((double)used * p->ratio);
	if (p->debt_ns > (int64_t)NS_PER_S)
		p->debt_ns = (int64_t)NS_PER_S;
	if (p->debt_ns < 2 * (int64_t)NS_PER_MS)
		return;
	chunk = (uint64_t)p->debt_ns;
	if (chunk > 50 * NS_PER_MS)
		chunk = 50 * NS_PER_MS;
	t0 = mono_ns();
	sleep_ns(chunk);
	slept = mono_ns() - t0;
	p->debt_ns -= (int64_t)slept;
	if (p->debt_ns < -10 * (int64_t)NS_PER_MS)
		p->debt_ns = -10 * (int64_t)NS_PER_MS;
	p->cpu_mark = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}
