/*
 * agent-bench-work.c - pt-agent-bench part 1: the agent's work per snapshot
 * (pt__snapshot_refresh() and the encoder) for 1,000 operations recorded by
 * 8 threads, idle and busy, and the CPU the real agent thread spends
 * serving a viewer.
 */
#include "agent-bench.h"

#include <pthread.h>

enum phase { PH_FILL, PH_IDLE, PH_BUSY, PH_QUIT };

static pt_site		*snap_sites;
static double		 snap_median_ns[SNAP_OPS];
static const double	 snap_sigma = 0.5;
static atomic_int	 snap_phase = PH_FILL;
static pthread_mutex_t	 snap_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 snap_cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t snap_filled;
static atomic_ullong	 snap_busy_events;

static void
snap_set_phase(int ph)
{
	pthread_mutex_lock(&snap_mu);
	atomic_store(&snap_phase, ph);
	pthread_cond_broadcast(&snap_cv);
	pthread_mutex_unlock(&snap_mu);
}

static void
snap_record(struct rng *r, int op)
{
	check("pt_record_ns", pt_record_ns(&snap_sites[op],
	    lognormal_ns(r, snap_median_ns[op], snap_sigma)));
}

/*
 * With PT_BENCH_PIN=N (0 or 1), the measuring thread runs on CPU N and
 * the recording threads on the other (recorder: which one the caller is):
 * steadier figures for comparing two builds on a noisy machine, not what
 * a program sees.  Without it, nothing changes.
 */
static void
bench_pin(int recorder)
{
	const char *v = getenv("PT_BENCH_PIN");
	cpu_set_t set;
	int cpu;

	if (v == NULL)
		return;
	cpu = atoi(v) != 0;
	CPU_ZERO(&set);
	CPU_SET(recorder ? !cpu : cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *
snap_worker(void *arg)
{
	struct rng r;
	int idx = (int)(intptr_t)arg, ph;

	rng_seed(&r, 1000 + (uint64_t)idx);
	/* Named apart from the measuring thread, for profilers. */
	pthread_setname_np(pthread_self(), "pt-bench-rec");
	bench_pin(1);
	/* Every thread records into every operation. */
	for (int op = 0; op < SNAP_OPS; op++)
		for (int e = 0; e < g_events_per_slot; e++)
			snap_record(&r, op);
	pthread_barrier_wait(&snap_filled);

	for (;;) {
		pthread_mutex_lock(&snap_mu);
		while ((ph = atomic_load(&snap_phase)) == PH_IDLE ||
		    ph == PH_FILL)
			pthread_cond_wait(&snap_cv, &snap_mu);
		pthread_mutex_unlock(&snap_mu);
		if (ph == PH_QUIT)
			return NULL;
		/*
		 * Busy: round-robin over every operation until told to stop,
		 * g_busy_rate events/s in all (paced every millisecond), or as
		 * fast as the thread can with a rate of 0.
		 */
		uint64_t n = 0, next = now_ns();
		double per_ms = g_busy_rate / SNAP_THREADS / 1000.0, owed = 0;
		int op = idx * (SNAP_OPS / SNAP_THREADS);

		while (atomic_load_explicit(&snap_phase, memory_order_relaxed) ==
		    PH_BUSY) {
			int k = g_busy_rate > 0 ? (int)(owed += per_ms) : 1000;

			owed -= k;
			for (int e = 0; e < k; e++) {
				snap_record(&r, op);
				op = (op + 1) % SNAP_OPS;
			}
			n += (uint64_t)k;
			if (g_busy_rate > 0) {
				struct timespec ts;

				next += NS_PER_MS;
				ts.tv_sec = (time_t)(next / NS_PER_S);
				ts.tv_nsec = (long)(next % NS_PER_S);
				while (clock_nanosleep(CLOCK_MONOTONIC,
				    TIMER_ABSTIME, &ts, NULL) == EINTR)
					;
			}
		}
		atomic_fetch_add(&snap_busy_events, n);
	}
}

/* Medians; the CPU times are the measuring thread's. */
struct work {
	double	wall_us, cpu_us, take_us, encode_us, free_us, bytes;
	double	replayed, merged;	/* operations, per snapshot */
};

/*
 * Runs n rounds of the agent's work for one streaming viewer: take a
 * snapshot, encode it (a delta against the previous one, or a full one for
 * a new viewer when full is set) into an output buffer, free it; medians.
 * gap_ns is slept between rounds.
 */
static struct work
measure_work(int n, int full, uint64_t gap_ns)
{
	double *wall = xcalloc((size_t)n, sizeof *wall);
	double *cpu = xcalloc((size_t)n, sizeof *cpu);
	double *take = xcalloc((size_t)n, sizeof *take);
	double *enc = xcalloc((size_t)n, sizeof *enc);
	double *fr = xcalloc((size_t)n, sizeof *fr);
	double *bytes = xcalloc((size_t)n, sizeof *bytes);
	double *rep = xcalloc((size_t)n, sizeof *rep);
	double *mer = xcalloc((size_t)n, sizeof *mer);
	struct pt__snapcache cache;
	struct pt__wire_tx tx;
	struct pt__buf buf;
	struct work w;

	bench_pin(0);
	memset(&cache, 0, sizeof cache);
	pt__buf_init(&buf, PT__FRAME_MAX);
	pt__wire_tx_init(&tx);
	/* The viewer's first (full) snapshot, and a warm-up. */
	for (int i = 0; i < 3; i++) {
		check("pt__snapshot_refresh", pt__snapshot_refresh(&cache));
		check("encode", pt__wire_encode_snapshot_cache(&tx, &cache,
		    &buf));
		pt__buf_consume(&buf, buf.len);
	}
	for (int i = 0; i < n; i++) {
		uint64_t t0, t3, c0, c1, c2, c3;

		if (gap_ns > 0)
			sleep_ns(gap_ns);
		if (full)
			pt__wire_tx_done(&tx);	/* a new viewer */
		t0 = now_ns();
		c0 = cpu_ns();
		check("pt__snapshot_refresh", pt__snapshot_refresh(&cache));
		c1 = cpu_ns();
		check("encode", pt__wire_encode_snapshot_cache(&tx, &cache,
		    &buf));
		c2 = cpu_ns();
		if (full)
			pt__wire_tx_done(&tx);	/* its copy, freed later */
		c3 = cpu_ns();
		t3 = now_ns();
		cpu[i] = (double)(c3 - c0) / 1e3;
		wall[i] = (double)(t3 - t0) / 1e3;
		take[i] = (double)(c1 - c0) / 1e3;
		enc[i] = (double)(c2 - c1) / 1e3;
		fr[i] = (double)(c3 - c2) / 1e3;
		bytes[i] = (double)buf.len;
		rep[i] = (double)cache.replayed;
		mer[i] = (double)cache.merged;
		pt__buf_consume(&buf, buf.len);
	}
	w.wall_us = median(wall, n);
	w.cpu_us = median(cpu, n);
	w.take_us = median(take, n);
	w.encode_us = median(enc, n);
	w.free_us = median(fr, n);
	w.bytes = median(bytes, n);
	w.replayed = median(rep, n);
	w.merged = median(mer, n);
	free(rep);
	free(mer);
	pt__wire_tx_done(&tx);
	pt__snapcache_free(&cache);
	pt__buf_free(&buf);
	free(wall);
	free(cpu);
	free(take);
	free(enc);
	free(fr);
	free(bytes);
	return w;
}

/*
 * The real thing: this process's own agent thread streaming to a client
 * subscribed at 10 ms (own_viewer_main(), on this thread); the agent
 * thread's CPU time (schedstat) per snapshot it sent.  Returns -1 when it
 * cannot be measured.
 */
static double
measure_served(int n)
{
	struct own_viewer v = { .n = n, .interval_ms = 10 };

	own_viewer_main(&v);
	return v.ok ? v.cpu_us : -1.0;
}

/*
 * Histogram memory a snapshot reads: every 64-bucket group that a live
 * thread's slot has used (a diagnosis figure; reads the library's
 * internals under its lock).
 */
static double
hist_kib(void)
{
	struct pt__thread *t;
	uint64_t groups = 0;
	uint32_t n = pt__site_count(PT_KIND_OP);

	pt__lock_threads();
	LIST_FOREACH(t, &pt__threads, entry) {
		for (uint32_t id = 1; id <= n; id++) {
			struct pt__op_slot *sl = pt__slot_peek(t, id);

			if (sl != NULL)
				groups += (uint64_t)__builtin_popcountll(
				    PT__LOAD(&sl->groups));
		}
	}
	pt__unlock_threads();
	return (double)groups * (sizeof(uint64_t) << PT__GROUP_BITS) / 1024.0;
}

/* Median microseconds of pt_memory_read(), which pt_snapshot_take calls. */
static double
memread_us(int n)
{
	double *v = xcalloc((size_t)n, sizeof *v), m;
	pt_memory mem;

	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		pt_memory_read(&mem);
		v[i] = (double)(now_ns() - t0) / 1e3;
	}
	m = median(v, n);
	free(v);
	return m;
}

void
part_snapshot(void)
{
	pthread_t th[SNAP_THREADS];
	struct work idle, full, busy;
	size_t nb = 0;
	pt_snapshot *s;
	uint64_t e0, t0;
	double served;

	/* Medians from 1 us to 10 ms, spread evenly on a log scale. */
	for (int i = 0; i < SNAP_OPS; i++)
		snap_median_ns[i] = 1e3 * pow(1e4, (double)i / (SNAP_OPS - 1));
	snap_sites = make_sites("agent.op", SNAP_OPS);
	if (pthread_barrier_init(&snap_filled, NULL, SNAP_THREADS + 1) != 0)
		die("pthread_barrier_init", strerror(errno));
	for (int i = 0; i < SNAP_THREADS; i++)
		if ((errno = pthread_create(&th[i], NULL, snap_worker,
		    (void *)(intptr_t)i)) != 0)
			die("pthread_create", strerror(errno));
	pthread_barrier_wait(&snap_filled);
	snap_set_phase(PH_IDLE);
	wait_settled();

	check("pt_snapshot_take", pt_snapshot_take(&s));
	for (size_t i = 0; i < s->n_ops; i++)
		nb += s->ops[i].n_buckets;
	comment("agent work: %zu operations x %d threads (every thread "
	    "recorded %d events into every operation, log-normal, medians "
	    "1 us .. 10 ms, sigma %.1f); %zu non-empty buckets in a "
	    "snapshot; medians of %d snapshots, CPU time of the measuring "
	    "thread", s->n_ops, SNAP_THREADS,
	    g_events_per_slot, snap_sigma, nb, g_reps);
	pt_snapshot_free(s);
	figure("agent_snapshot_ops", "%.0f", SNAP_OPS);
	figure("agent_snapshot_slots", "%.0f", SNAP_OPS * SNAP_THREADS);
	figure("agent_snapshot_buckets", "%.0f", (double)nb);
	figure("agent_snapshot_hist_kib", "%.0f", hist_kib());

	/* Threads idle, every slot populated. */
	idle = measure_work(g_reps, 0, 0);
	figure("agent_snapshot_us", "%.1f", idle.cpu_us);
	figure("agent_snapshot_wall_us", "%.1f", idle.wall_us);
	figure("agent_snapshot_refresh_us", "%.1f", idle.take_us);
	figure("agent_snapshot_memread_us", "%.1f", memread_us(g_reps));
	figure("agent_snapshot_encode_us", "%.1f", idle.encode_us);
	figure("agent_snapshot_free_us", "%.1f", idle.free_us);
	figure("agent_snapshot_delta_bytes", "%.0f", idle.bytes);
	full = measure_work(g_reps, 1, 0);
	figure("agent_snapshot_full_us", "%.1f", full.cpu_us);
	figure("agent_snapshot_full_encode_us", "%.1f", full.encode_us);
	figure("agent_snapshot_full_bytes", "%.0f", full.bytes);

	/* The agent thread itself, serving a client at 10 ms. */
	served = measure_served(g_reps);
	if (served >= 0)
		figure("agent_served_snapshot_us", "%.1f", served);
	else
		printf("agent_served_snapshot_us: n/a\n");

	/* Threads recording during the measurement. */
	e0 = atomic_load(&snap_busy_events);
	t0 = now_ns();
	snap_set_phase(PH_BUSY);
	sleep_ns(200 * NS_PER_MS);
	busy = measure_work(g_busy_reps > 0 ? g_busy_reps : g_reps, 0,
	    (uint64_t)g_busy_gap_ms * NS_PER_MS);
	snap_set_phase(PH_IDLE);
	t0 = now_ns() - t0;
	sleep_ns(20 * NS_PER_MS);
	figure("agent_snapshot_busy_us", "%.1f", busy.cpu_us);
	figure("agent_snapshot_busy_wall_us", "%.1f", busy.wall_us);
	figure("agent_snapshot_busy_refresh_us", "%.1f", busy.take_us);
	figure("agent_snapshot_busy_encode_us", "%.1f", busy.encode_us);
	figure("agent_snapshot_busy_delta_bytes", "%.0f", busy.bytes);
	figure("agent_snapshot_busy_replayed_ops", "%.0f", busy.replayed);
	figure("agent_snapshot_busy_merged_ops", "%.0f", busy.merged);
	figure("agent_snapshot_busy_events_per_s", "%.0f",
	    (double)(atomic_load(&snap_busy_events) - e0) / ((double)t0 / 1e9));
	comment("busy: the %d threads recorded into every operation in turn "
	    "(%s) while %d snapshots were taken %d ms apart", SNAP_THREADS,
	    g_busy_rate > 0 ? "paced" : "as fast as they could",
	    g_busy_reps > 0 ? g_busy_reps : g_reps,
	    g_busy_gap_ms);

	target_line("agent_snapshot_us", idle.cpu_us, SNAP_TARGET_US, "us", 1);
	target_line("agent_snapshot_busy_us", busy.cpu_us, SNAP_TARGET_US,
	    "us", 1);

	snap_set_phase(PH_QUIT);
	for (int i = 0; i < SNAP_THREADS; i++)
		pthread_join(th[i], NULL);
}
