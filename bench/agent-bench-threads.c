/*
 * agent-bench-threads.c - pt-agent-bench part 4: short-lived threads in a
 * program with many operations while a viewer at 10 Hz is attached.  Each
 * snapshot holds the library's lock while it reads every operation
 * (milliseconds with thousands of them); a thread's first event and its
 * exit need that lock too, to list and unlist the thread's record, unless
 * they can leave the record for the snapshot to take in.
 */
#include "agent-bench.h"

#include <pthread.h>

#define THR_SITES		10000
#define THR_SITES_QUICK		1000
#define THR_RECORDERS		2	/* threads recording into every site */
#define THR_RECORD_GAP_NS	(50 * NS_PER_MS)
#define THR_INTERVAL_MS		100	/* the viewer's: 10 Hz */
#define THR_SNAPSHOTS		50	/* measured, after the first */
#define THR_SNAPSHOTS_QUICK	10
#define THR_GAP_NS		(2 * NS_PER_MS)	/* between short threads */

static pt_site		*thr_sites;
static int		 thr_nsites;
static atomic_int	 thr_stop;
static pt_site		 thr_short = PT_SITE_INIT("bench.thr.short", PT_KIND_OP);

/* Records into every site, every THR_RECORD_GAP_NS, until told to stop. */
static void *
thr_recorder(void *arg)
{
	struct rng r;

	rng_seed(&r, (uint64_t)(intptr_t)arg);
	pthread_setname_np(pthread_self(), "pt-bench-rec");
	while (!atomic_load(&thr_stop)) {
		for (int i = 0; i < thr_nsites; i++)
			check("pt_record_ns", pt_record_ns(&thr_sites[i],
			    lognormal_ns(&r, 20000, 0.5)));
		sleep_ns(THR_RECORD_GAP_NS);
	}
	return NULL;
}

/* A short-lived thread: its first event, timed (ns into *arg). */
static void *
thr_short_main(void *arg)
{
	uint64_t t0 = now_ns();

	check("pt_record_ns", pt_record_ns(&thr_short, 1000));
	*(uint64_t *)arg = now_ns() - t0;
	return NULL;
}

struct thr_run {
	uint64_t	n;
	double		first_mean_ms, first_max_ms;
	double		life_mean_ms, life_max_ms;
};

/*
 * Starts and joins short-lived threads one after another, THR_GAP_NS
 * apart, while *phase is below 2, timing those that start while it is 1
 * (with phase NULL: for dur_ns).
 */
static struct thr_run
thr_churn(atomic_int *phase, uint64_t dur_ns)
{
	struct thr_run run = { 0, 0, 0, 0, 0 };
	uint64_t first, t0, life, end = now_ns() + dur_ns;
	double fsum = 0, lsum = 0;
	pthread_t th;
	int ph;

	for (;;) {
		ph = phase != NULL ? atomic_load(phase) : 1;
		if (ph == 2 || (phase == NULL && now_ns() >= end))
			break;
		t0 = now_ns();
		if (pthread_create(&th, NULL, thr_short_main, &first) != 0)
			die("pthread_create", strerror(errno));
		pthread_join(th, NULL);
		life = now_ns() - t0;
		if (ph == 1) {
			run.n++;
			fsum += (double)first;
			lsum += (double)life;
			if ((double)first / 1e6 > run.first_max_ms)
				run.first_max_ms = (double)first / 1e6;
			if ((double)life / 1e6 > run.life_max_ms)
				run.life_max_ms = (double)life / 1e6;
		}
		sleep_ns(THR_GAP_NS);
	}
	if (run.n > 0) {
		run.first_mean_ms = fsum / 1e6 / (double)run.n;
		run.life_mean_ms = lsum / 1e6 / (double)run.n;
	}
	return run;
}

static void
thr_figures(const char *tag, const struct thr_run *run)
{
	char name[64];

	snprintf(name, sizeof name, "threads_%s_started", tag);
	figure(name, "%.0f", (double)run->n);
	snprintf(name, sizeof name, "threads_%s_first_event_mean_ms", tag);
	figure(name, "%.3f", run->first_mean_ms);
	snprintf(name, sizeof name, "threads_%s_first_event_max_ms", tag);
	figure(name, "%.3f", run->first_max_ms);
	snprintf(name, sizeof name, "threads_%s_life_mean_ms", tag);
	figure(name, "%.3f", run->life_mean_ms);
	snprintf(name, sizeof name, "threads_%s_life_max_ms", tag);
	figure(name, "%.3f", run->life_max_ms);
}

/* Part 4: short-lived threads, without a viewer and with one at 10 Hz. */
void
part_threads(void)
{
	struct own_viewer v = { .n = g_quick ? THR_SNAPSHOTS_QUICK :
	    THR_SNAPSHOTS, .interval_ms = THR_INTERVAL_MS };
	pthread_t rec[THR_RECORDERS], vt;
	struct thr_run none, viewed;
	int i;

	thr_nsites = g_quick ? THR_SITES_QUICK : THR_SITES;
	thr_sites = make_sites("bench.thr", thr_nsites);
	wait_settled();
	for (i = 0; i < THR_RECORDERS; i++)
		if (pthread_create(&rec[i], NULL, thr_recorder,
		    (void *)(intptr_t)(i + 1)) != 0)
			die("pthread_create", strerror(errno));
	sleep_ns(500 * NS_PER_MS);	/* every slot made */
	comment("threads: %d operations, %d threads recording into each "
	    "every %d ms; short-lived threads (one event each) started %d ms "
	    "apart, first without a viewer, then while one subscribes at "
	    "%d Hz for %d snapshots", thr_nsites, THR_RECORDERS,
	    (int)(THR_RECORD_GAP_NS / NS_PER_MS), (int)(THR_GAP_NS / NS_PER_MS),
	    1000 / THR_INTERVAL_MS, v.n);
	none = thr_churn(NULL, (uint64_t)v.n * THR_INTERVAL_MS * NS_PER_MS);
	if (pthread_create(&vt, NULL, own_viewer_main, &v) != 0)
		die("pthread_create", strerror(errno));
	viewed = thr_churn(&v.phase, 0);
	pthread_join(vt, NULL);
	atomic_store(&thr_stop, 1);
	for (i = 0; i < THR_RECORDERS; i++)
		pthread_join(rec[i], NULL);
	if (!v.ok)
		die("threads", "the viewer did not get its snapshots");
	thr_figures("no_viewer", &none);
	thr_figures("viewer", &viewed);
	figure("threads_agent_snapshot_us", "%.1f", v.cpu_us);
}
