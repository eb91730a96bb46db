/*
 * pt-agent-bench - measures what serving snapshots costs the program that
 * the agent lives in, and how big the snapshots are on the wire.
 *
 * Prints one "name: value" line per figure on stdout, after a "#" line that
 * describes the machine; lines starting with "#" are comments (set-up,
 * targets).  bench/README.md ("Agent benchmarks") describes the figures.
 * Linked against libpt.la, so it calls the library's internal functions:
 * pt__snapshot_refresh() and pt__wire_encode_snapshot_cache() are exactly
 * what the agent thread runs for every snapshot it streams.
 *
 *   agent work per snapshot    1,000 operations recorded by 8 threads
 *                              (8,000 slots): refresh + encode, with
 *                              the threads idle and with them recording
 *   bytes per changed op       a demo-like workload (20 operations at
 *                              realistic rates, 100 ms between snapshots)
 *                              and a light one (5 new events per op)
 *
 * Each part runs in a child process of its own (forked before the library
 * is used), so each sees only its own operations.
 *
 * Helpers of bench/agent-bench.sh:
 *
 *   --target     one thread runs scopes in a tight loop; every line read on
 *                stdin is answered with "MONOTONIC_NS EVENTS" (the events
 *                recorded so far) on stdout; exits at the end of its input
 *   --watch PID  subscribes to a live process's agent over a raw connection
 *                and measures the bytes per changed operation of what the
 *                agent really sends
 */
#include "ipc.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG		"pt-agent-bench"
#define NS_PER_MS	1000000ULL
#define NS_PER_S	1000000000ULL

/* Part 1: agent work per snapshot. */
#define SNAP_OPS	1000
#define SNAP_THREADS	8
#define SNAP_TARGET_US	1000.0

/* Part 2: bytes per changed operation. */
#define BYTES_INTERVAL_S 0.1	/* simulated time between snapshots */
#define BYTES_LIGHT_EVENTS 5
#define BYTES_TARGET	48.0

/* Keeps the compiler from removing an empty loop body. */
#define BARRIER()	__asm__ volatile("" ::: "memory")

static int	g_quick;
static int	g_verbose;
static int	g_reps = 50;		/* snapshots per work figure (>= 20) */
static int	g_events_per_slot = 200;
static int	g_intervals = 200;	/* snapshots per bytes figure */
static double	g_busy_rate = 1e6;	/* events/s of the busy threads */
static int	g_busy_gap_ms = 10;	/* between the busy snapshots */
static int	g_busy_reps;		/* busy snapshots (0: g_reps) */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static uint64_t
clock_of(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t
now_ns(void)
{
	return clock_of(CLOCK_MONOTONIC);
}

/* CPU time of the calling thread. */
static uint64_t
cpu_ns(void)
{
	return clock_of(CLOCK_THREAD_CPUTIME_ID);
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NS_PER_S),
		.tv_nsec = (long)(ns % NS_PER_S),
	};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
	exit(1);
}

static void
check(const char *what, int rc)
{
	if (rc < 0)
		die(what, pt_strerror(rc));
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		die("calloc", strerror(ENOMEM));
	return p;
}

static void
figure(const char *name, const char *fmt, double v)
{
	printf("%s: ", name);
	printf(fmt, v);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((format(printf, 1, 2)))
comment(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorts v). */
static double
median(double *v, int n)
{
	if (n <= 0)
		return 0.0;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* xorshift64*: deterministic, so every run records the same durations. */
struct rng {
	uint64_t	s;
};

static void
rng_seed(struct rng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
	if (r->s == 0)
		r->s = 1;
}

static uint64_t
rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in (0, 1]. */
static double
rng_unit(struct rng *r)
{
	return ((double)(rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

static double
rng_normal(struct rng *r)
{
	return sqrt(-2.0 * log(rng_unit(r))) * cos(2.0 * M_PI * rng_unit(r));
}

/* A log-normal duration: median median_ns, shape sigma. */
static uint64_t
lognormal_ns(struct rng *r, double median_ns, double sigma)
{
	double ns = median_ns * exp(sigma * rng_normal(r));

	return ns < 1.0 ? 1 : (uint64_t)ns;
}

/* Waits until the library's tick rate is settled (2 s after it started):
 * before that every snapshot has a slightly different tick_ns, so every
 * total changes, which is not what a running program sees. */
static void
wait_settled(void)
{
	pt_snapshot *s;

	for (;;) {
		check("pt_snapshot_take", pt_snapshot_take(&s));
		uint64_t up = s->uptime_ns;
		pt_snapshot_free(s);
		if (up >= 2100 * NS_PER_MS)
			return;
		sleep_ns(2100 * NS_PER_MS - up);
	}
}

/* Names for n sites, prefix.NNNN; never freed (the library keeps them). */
static pt_site *
make_sites(const char *prefix, int n)
{
	pt_site *sites = xcalloc((size_t)n, sizeof *sites);
	char *names = xcalloc((size_t)n, 48);

	for (int i = 0; i < n; i++) {
		char *name = names + (size_t)i * 48;

		snprintf(name, 48, "%s.%04d", prefix, i);
		sites[i] = (pt_site)PT_SITE_INIT(name, PT_KIND_OP);
		check("pt_site_register", pt_site_register(&sites[i]));
	}
	return sites;
}

/* The thread id of the thread called name in this process, or -1. */
static pid_t
find_thread(pid_t pid, const char *name)
{
	char path[64], comm[64];
	struct dirent *de;
	pid_t found = -1;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (found < 0 && (de = readdir(d)) != NULL) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%.20s/comm", (int)pid,
		    de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof comm, f) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
			if (strcmp(comm, name) == 0)
				found = (pid_t)atoi(de->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/* CPU time of thread tid of this process, in ns (schedstat), or 0. */
static uint64_t
thread_cpu_ns(pid_t tid)
{
	char path[64];
	unsigned long long run = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", (int)tid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%llu", &run) != 1)
		run = 0;
	fclose(f);
	return run;
}

/* ------------------------------------------------------------------------ */
/* Part 1: agent work per snapshot, 1,000 operations x 8 threads            */
/* ------------------------------------------------------------------------ */

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

static void *
snap_worker(void *arg)
{
	struct rng r;
	int idx = (int)(intptr_t)arg, ph;

	rng_seed(&r, 1000 + (uint64_t)idx);
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
 * subscribed at 10 ms; the agent thread's CPU time (schedstat) per snapshot
 * it sent.  Returns -1 when it cannot be measured.
 */
static double
measure_served(int n)
{
	struct pt__client *c;
	struct pt__event ev;
	char err[256];
	uint64_t a0 = 0, a1;
	pid_t tid;
	int got = -1, rc;

	if (pt__client_open(getpid(), 2000, &c, err, sizeof err) != 0) {
		comment("note: cannot connect to the own agent: %s", err);
		return -1.0;
	}
	if ((tid = find_thread(getpid(), "perftop-agent")) < 0 ||
	    pt__client_subscribe(c, 10) != 0) {
		pt__client_close(c);
		return -1.0;
	}
	while (got < n) {
		rc = pt__client_next(c, 5000, &ev);
		if (rc != 1)
			break;
		if (ev.type != PT__EV_SNAPSHOT)
			continue;
		pt_snapshot_free(ev.snap);
		/* Count from the end of the first (full) snapshot. */
		if (got++ < 0)
			a0 = thread_cpu_ns(tid);
	}
	a1 = thread_cpu_ns(tid);
	pt__client_close(c);
	if (got < n || a0 == 0 || a1 < a0)
		return -1.0;
	return (double)(a1 - a0) / 1e3 / n;
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

	pthread_mutex_lock(&pt__lock);
	LIST_FOREACH(t, &pt__threads, entry) {
		for (uint32_t id = 1; id <= n; id++) {
			struct pt__op_slot *sl = pt__slot_peek(t, id);

			if (sl != NULL)
				groups += (uint64_t)__builtin_popcountll(
				    PT__LOAD(&sl->groups));
		}
	}
	pthread_mutex_unlock(&pt__lock);
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

static void
target_line(const char *name, double v, double target, const char *unit,
    int upper)
{
	int ok = upper ? v <= target : v >= target;

	comment("%s %s: %.*f %s, target %s %g %s", ok ? "target met" :
	    "target missed", name, v < 10 ? 2 : 1, v, unit,
	    upper ? "<=" : ">=", target, unit);
}

static void
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

/* ------------------------------------------------------------------------ */
/* Part 2: bytes per changed operation                                       */
/* ------------------------------------------------------------------------ */

/*
 * A demo-like program: the operations of examples/perftop-demo at the rates
 * and durations it shows on a 2-CPU machine, and a few service-like ones,
 * 20 in all.  Durations are log-normal; some ops have a Pareto tail.
 */
struct demo_op {
	const char	*name;
	double		 per_s;		/* events per second */
	double		 median_ns;
	double		 sigma;
	double		 tail;		/* fraction of events in the tail */
	double		 tail_min_ns;	/* Pareto: minimum, shape 1.3 */
};

static const struct demo_op demo_ops[] = {
	{ "game.evaluate",	36000,	2.2e3,	0.35,	0.04,	100e3 },
	{ "game.search",	3200,	32e3,	0.9,	0.15,	500e3 },
	{ "game.move",		3200,	32e3,	0.9,	0.15,	500e3 },
	{ "game.play",		60,	42e6,	0.6,	0,	0 },
	{ "training_step",	550,	323e3,	0.15,	0.03,	1e6 },
	{ "data.load_batch",	550,	31e3,	0.1,	0.016,	500e3 },
	{ "training.forward",	550,	78e3,	0.05,	0.01,	150e3 },
	{ "training.backward",	550,	172e3,	0.07,	0.01,	300e3 },
	{ "training.optimizer",	550,	38e3,	0.3,	0,	0 },
	{ "x",			550,	1.05e3,	0.05,	0.001,	5e3 },
	{ "training.checkpoint", 2.7,	20e6,	0.5,	0,	0 },
	{ "replay.append",	1,	1e6,	0.4,	0,	0 },
	{ "replay.clear",	0.05,	3e6,	0.3,	0,	0 },
	{ "net.request",	200,	2e6,	0.8,	0,	0 },
	{ "db.query",		400,	500e3,	1.0,	0,	0 },
	{ "cache.get",		5000,	300,	0.3,	0.001,	10e3 },
	{ "json.encode",	300,	50e3,	0.5,	0,	0 },
	{ "log.write",		100,	20e3,	0.6,	0,	0 },
	{ "compress",		50,	3e6,	0.3,	0,	0 },
	{ "gc.pause",		2,	5e6,	0.7,	0,	0 },
};
#define DEMO_OPS	(sizeof demo_ops / sizeof demo_ops[0])

static uint64_t
demo_duration(struct rng *r, const struct demo_op *op)
{
	if (op->tail > 0 && rng_unit(r) <= op->tail) {
		double ns = op->tail_min_ns / pow(rng_unit(r), 1.0 / 1.3);

		return ns > 20e6 ? 20000000 : (uint64_t)ns;
	}
	return lognormal_ns(r, op->median_ns, op->sigma);
}

/* Operations of s that differ from prev (all, without prev). */
static size_t
changed_ops(const pt_snapshot *s, const pt_snapshot *prev)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_ops; i++) {
		const pt_op_stats *o = &s->ops[i], *p;

		if (prev == NULL || i >= prev->n_ops) {
			n += o->count != 0;
			continue;
		}
		p = &prev->ops[i];
		n += o->count != p->count || o->total_ns != p->total_ns ||
		    o->min_ns != p->min_ns || o->max_ns != p->max_ns;
	}
	return n;
}

/*
 * The bytes op i of s takes in a delta against prev: encodes a copy of prev
 * in which only op i is replaced by s's, and subtracts the bytes of an
 * empty delta.  A diagnosis (--verbose); tx is not changed.
 */
static size_t
op_bytes(const struct pt__wire_tx *tx, const pt_snapshot *s, size_t i)
{
	struct pt__wire_tx t;
	struct pt__buf buf;
	pt_snapshot *mix;
	size_t empty, one;

	pt__buf_init(&buf, PT__FRAME_MAX);
	t = *tx;
	t.sent_ver = NULL;	/* t's own */
	t.sent_lay = NULL;
	t.scratch = NULL;
	if ((t.prev = pt__snapshot_copy(tx->prev)) == NULL ||
	    (mix = pt__snapshot_copy(tx->prev)) == NULL)
		die("copy", strerror(ENOMEM));
	check("encode", pt__wire_encode_snapshot(&t, mix, &buf));
	empty = buf.len;
	pt__buf_consume(&buf, buf.len);
	free(mix->ops[i].buckets);
	mix->ops[i].buckets = NULL;
	mix->ops[i].n_buckets = 0;
	mix->ops[i].count = s->ops[i].count;
	mix->ops[i].total_ns = s->ops[i].total_ns;
	mix->ops[i].min_ns = s->ops[i].min_ns;
	mix->ops[i].max_ns = s->ops[i].max_ns;
	if (s->ops[i].n_buckets > 0) {
		mix->ops[i].buckets = xcalloc(s->ops[i].n_buckets,
		    sizeof *mix->ops[i].buckets);
		memcpy(mix->ops[i].buckets, s->ops[i].buckets,
		    s->ops[i].n_buckets * sizeof *mix->ops[i].buckets);
		mix->ops[i].n_buckets = s->ops[i].n_buckets;
	}
	check("encode", pt__wire_encode_snapshot(&t, mix, &buf));
	one = buf.len;
	pt_snapshot_free(mix);
	pt__wire_tx_done(&t);
	pt__buf_free(&buf);
	return one - empty;
}

/* Buckets of o that differ from those of p. */
static size_t
buckets_changed(const pt_op_stats *o, const pt_op_stats *p)
{
	size_t i = 0, j = 0, n = 0;

	while (i < o->n_buckets || j < p->n_buckets) {
		if (j >= p->n_buckets || (i < o->n_buckets &&
		    o->buckets[i].index < p->buckets[j].index)) {
			n++;
			i++;
		} else if (i >= o->n_buckets ||
		    p->buckets[j].index < o->buckets[i].index) {
			n++;
			j++;
		} else {
			n += o->buckets[i++].count != p->buckets[j++].count;
		}
	}
	return n;
}

struct bytes_run {
	double	per_op;		/* frame bytes / changed ops */
	double	per_op_ops_only; /* without each frame's fixed part */
	double	per_op_list;	/* with the list form only */
	double	per_snapshot;	/* frame bytes */
	double	changed;	/* changed ops per snapshot */
};

/*
 * Records one interval of events (light: `light` events per op, else each
 * op's rate times the interval), takes a snapshot and encodes it; n
 * intervals after a first (full) one that is not counted.  The fixed part
 * of a frame (header, times, memory) is measured by encoding the same
 * snapshot a second time: nothing changed then.
 */
static struct bytes_run
measure_bytes(struct rng *r, pt_site *sites, int n, int light)
{
	struct pt__wire_tx tx, tx_list;
	struct pt__buf buf;
	struct bytes_run br;
	double carry[DEMO_OPS] = { 0 };
	uint64_t bytes = 0, fixed = 0, bytes_list = 0, changed = 0;
	uint64_t op_b[DEMO_OPS] = { 0 }, op_ev[DEMO_OPS] = { 0 };
	uint64_t op_n[DEMO_OPS] = { 0 }, op_bk[DEMO_OPS] = { 0 };
	pt_snapshot *s;

	pt__buf_init(&buf, PT__FRAME_MAX);
	pt__wire_tx_init(&tx);
	pt__wire_tx_init(&tx_list);
	for (int k = 0; k <= n; k++) {
		size_t len, nch;

		for (size_t i = 0; i < DEMO_OPS; i++) {
			int events;

			if (light) {
				events = BYTES_LIGHT_EVENTS;
			} else {
				carry[i] += demo_ops[i].per_s *
				    BYTES_INTERVAL_S;
				events = (int)carry[i];
				carry[i] -= events;
			}
			for (int e = 0; e < events; e++)
				check("pt_record_ns", pt_record_ns(&sites[i],
				    demo_duration(r, &demo_ops[i])));
		}
		check("pt_snapshot_take", pt_snapshot_take(&s));
		nch = changed_ops(s, tx.prev);
		for (size_t i = 0; g_verbose && k > 0 && i < DEMO_OPS; i++) {
			const pt_op_stats *o = &s->ops[i], *p = &tx.prev->ops[i];

			if (o->count == p->count && o->total_ns == p->total_ns)
				continue;
			op_n[i]++;
			op_ev[i] += o->count - p->count;
			op_bk[i] += buckets_changed(o, p);
			op_b[i] += op_bytes(&tx, s, i);
		}

		check("encode", pt__wire_encode_snapshot(&tx, s, &buf));
		len = buf.len;
		pt__buf_consume(&buf, buf.len);
		check("encode", pt__wire_encode_snapshot(&tx, s, &buf));
		if (k > 0) {
			bytes += len;
			fixed += buf.len;
			changed += nch;
		}
		pt__buf_consume(&buf, buf.len);

		pt__wire_force_list = 1;
		check("encode", pt__wire_encode_snapshot(&tx_list, s, &buf));
		pt__wire_force_list = 0;
		if (k > 0)
			bytes_list += buf.len;
		pt__buf_consume(&buf, buf.len);
		pt_snapshot_free(s);
	}
	for (size_t i = 0; g_verbose && i < DEMO_OPS; i++)
		if (op_n[i] > 0)
			comment("  %-20s changed in %3.0f %% of the snapshots; "
			    "then %7.1f events, %5.1f buckets changed, %6.1f "
			    "bytes (%.2f bits/event)", demo_ops[i].name,
			    100.0 * (double)op_n[i] / n,
			    (double)op_ev[i] / (double)op_n[i],
			    (double)op_bk[i] / (double)op_n[i],
			    (double)op_b[i] / (double)op_n[i],
			    8.0 * (double)op_b[i] / (double)op_ev[i]);
	if (changed == 0)
		changed = 1;
	br.per_op = (double)bytes / (double)changed;
	br.per_op_ops_only = (double)(bytes - fixed) / (double)changed;
	br.per_op_list = (double)bytes_list / (double)changed;
	br.per_snapshot = (double)bytes / n;
	br.changed = (double)changed / n;
	pt__wire_tx_done(&tx);
	pt__wire_tx_done(&tx_list);
	pt__buf_free(&buf);
	return br;
}

static void
part_bytes(void)
{
	pt_site *sites = xcalloc(DEMO_OPS, sizeof *sites);
	struct bytes_run demo, light;
	double per_s = 0;
	struct rng r;

	for (size_t i = 0; i < DEMO_OPS; i++) {
		sites[i] = (pt_site)PT_SITE_INIT(demo_ops[i].name, PT_KIND_OP);
		check("pt_site_register", pt_site_register(&sites[i]));
		per_s += demo_ops[i].per_s;
	}
	wait_settled();
	rng_seed(&r, 42);

	comment("bytes per changed op: %zu operations, %.0f events/s in all, "
	    "%g s between snapshots, %d snapshots after the first; light: %d "
	    "new events per op per snapshot, %d snapshots", DEMO_OPS, per_s,
	    BYTES_INTERVAL_S, g_intervals, BYTES_LIGHT_EVENTS, g_intervals);
	demo = measure_bytes(&r, sites, g_intervals, 0);
	figure("bytes_per_changed_op_demo", "%.1f", demo.per_op);
	figure("bytes_per_changed_op_demo_ops_only", "%.1f",
	    demo.per_op_ops_only);
	figure("bytes_per_changed_op_demo_list", "%.1f", demo.per_op_list);
	figure("bytes_per_snapshot_demo", "%.0f", demo.per_snapshot);
	figure("changed_ops_per_snapshot_demo", "%.1f", demo.changed);

	light = measure_bytes(&r, sites, g_intervals, 1);
	figure("bytes_per_changed_op_light", "%.1f", light.per_op);
	figure("bytes_per_changed_op_light_ops_only", "%.1f",
	    light.per_op_ops_only);
	figure("bytes_per_changed_op_light_list", "%.1f", light.per_op_list);
	figure("bytes_per_snapshot_light", "%.0f", light.per_snapshot);

	target_line("bytes_per_changed_op_demo", demo.per_op, BYTES_TARGET,
	    "bytes", 1);
	target_line("bytes_per_changed_op_light", light.per_op, BYTES_TARGET,
	    "bytes", 1);
}

/* ------------------------------------------------------------------------ */
/* --watch PID: the same figure from a live process's own agent              */
/* ------------------------------------------------------------------------ */

static void
send_all(int fd, struct pt__buf *b)
{
	while (b->len > 0) {
		ssize_t n = send(fd, pt__buf_head(b), b->len, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			die("send", strerror(errno));
		pt__buf_consume(b, (size_t)n);
	}
}

/* The next frame from fd into in; returns its length (0: closed). */
static size_t
read_frame(int fd, struct pt__buf *in, size_t consumed, uint16_t *type,
    const uint8_t **payload, size_t *plen)
{
	size_t flen;
	ssize_t n;
	int rc;

	pt__buf_consume(in, consumed);
	for (;;) {
		rc = pt__frame_parse(pt__buf_head(in), in->len, type, payload,
		    plen, &flen);
		if (rc == 1)
			return flen;
		if (rc < 0)
			die("watch", "malformed frame");
		check("watch", pt__buf_reserve(in, 65536));
		n = recv(fd, in->data + in->off + in->len, 65536, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			die("watch", "the agent sent nothing for 5 s");
		if (n <= 0)
			return 0;
		in->len += (size_t)n;
	}
}

/*
 * Subscribes to the agent of pid at interval_ms with a raw connection and
 * adds up the SNAPSHOT frames' bytes and the operations that changed
 * between consecutive snapshots, count snapshots after the first.
 */
static int
watch_main(pid_t pid, int interval_ms, int count)
{
	struct timeval tv = { .tv_sec = 5 };
	struct sockaddr_un sa;
	struct pt__wire_rx rx;
	struct pt__buf in, out;
	pt_snapshot *prev = NULL, *snap;
	char dir[sizeof sa.sun_path], err[256];
	uint64_t bytes = 0, changed = 0, ctr_changed = 0;
	const uint8_t *payload;
	size_t plen, flen = 0;
	uint16_t type;
	int fd, k = -1;

	if (pt__sockdir(dir, sizeof dir, 0, err, sizeof err) != 0)
		die("socket directory", err);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (pt__sockpath(dir, pid, sa.sun_path, sizeof sa.sun_path) != 0)
		die("socket path", "too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
		die(sa.sun_path, strerror(errno));
	pt__buf_init(&in, PT__FRAME_MAX + 65536);
	pt__buf_init(&out, 4096);
	pt__wire_rx_init(&rx);
	check("hello", pt__msg_hello(&out));
	send_all(fd, &out);
	if ((flen = read_frame(fd, &in, 0, &type, &payload, &plen)) == 0 ||
	    type != PT__MSG_WELCOME)
		die("watch", "no WELCOME from the agent");
	check("subscribe", pt__msg_u64(&out, PT__MSG_SUBSCRIBE,
	    (uint64_t)interval_ms));
	send_all(fd, &out);
	while (k < count) {
		if ((flen = read_frame(fd, &in, flen, &type, &payload,
		    &plen)) == 0)
			die("watch", "the agent closed the connection");
		if (type != PT__MSG_SNAPSHOT)
			continue;
		check("decode", pt__wire_decode_snapshot(&rx, payload, plen,
		    &snap));
		if (k++ >= 0) {
			bytes += flen;
			changed += changed_ops(snap, prev);
			for (size_t i = 0; i < snap->n_counters; i++)
				ctr_changed += i >= prev->n_counters ||
				    snap->counters[i].value !=
				    prev->counters[i].value;
		}
		pt_snapshot_free(prev);
		prev = snap;
	}
	close(fd);
	comment("live: process %d, %zu operations and %zu counters, %d "
	    "snapshots %d ms apart after the first", (int)pid, prev->n_ops,
	    prev->n_counters, count, interval_ms);
	figure("bytes_per_changed_op_live", "%.1f",
	    (double)bytes / (double)(changed ? changed : 1));
	figure("bytes_per_snapshot_live", "%.0f", (double)bytes / count);
	figure("changed_ops_per_snapshot_live", "%.1f",
	    (double)changed / count);
	figure("changed_counters_per_snapshot_live", "%.1f",
	    (double)ctr_changed / count);
	pt_snapshot_free(prev);
	pt__wire_rx_done(&rx);
	pt__buf_free(&in);
	pt__buf_free(&out);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* --target: a tight scope loop for bench/agent-bench.sh                     */
/* ------------------------------------------------------------------------ */

static atomic_ullong	target_events;
static atomic_int	target_quit;
static pt_site		*target_sites;
static int		 target_nops = 1;

static void *
target_loop(void *arg)
{
	uint64_t n = 0;
	int i = 0;

	(void)arg;
	while (!atomic_load_explicit(&target_quit, memory_order_relaxed)) {
		for (int k = 0; k < 1024; k++) {
			pt_scope sc = pt_scope_begin(&target_sites[i]);

			BARRIER();
			pt_scope_end(&sc);
			if (++i == target_nops)
				i = 0;
		}
		n += 1024;
		atomic_store_explicit(&target_events, n, memory_order_relaxed);
	}
	return NULL;
}

static int
target_main(void)
{
	char line[64];
	pthread_t th;
	int rc;

	target_sites = make_sites("target.op", target_nops);
	if ((rc = pt_agent_start()) != 0)
		die("pt_agent_start", pt_strerror(rc));
	if ((errno = pthread_create(&th, NULL, target_loop, NULL)) != 0)
		die("pthread_create", strerror(errno));
	while (fgets(line, sizeof line, stdin) != NULL) {
		printf("%llu %llu\n", (unsigned long long)now_ns(),
		    (unsigned long long)atomic_load_explicit(&target_events,
		    memory_order_relaxed));
		fflush(stdout);
	}
	atomic_store(&target_quit, 1);
	pthread_join(th, NULL);
	pt_agent_stop();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

static void
print_machine(void)
{
	char line[512], model[256] = "unknown", load[64] = "?";
	struct utsname un;
	FILE *f;

	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL) {
			char *colon = strchr(line, ':');

			if (colon != NULL && strncmp(line, "model name", 10) == 0) {
				snprintf(model, sizeof model, "%s", colon + 2);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	if ((f = fopen("/proc/loadavg", "r")) != NULL) {
		if (fgets(line, sizeof line, f) != NULL) {
			/* The three load averages. */
			char *p = line;

			for (int i = 0; i < 3 && (p = strchr(p, ' ')) != NULL;
			    i++)
				p++;
			if (p != NULL)
				p[-1] = '\0';
			snprintf(load, sizeof load, "%.60s", line);
		}
		fclose(f);
	}
	if (uname(&un) != 0)
		snprintf(un.release, sizeof un.release, "unknown");
	printf("# " PROG ": libperftop %s; cpu: %s; cpus: %ld online; linux "
	    "%s; load average %s%s\n", pt_version(), model,
	    sysconf(_SC_NPROCESSORS_ONLN), un.release, load,
	    g_quick ? "; --quick: a smoke test, not a measurement" : "");
	fflush(stdout);
}

/* Runs fn in a child process; exits if it fails. */
static void
run_part(const char *name, void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		die("fork", strerror(errno));
	if (pid == 0) {
		fn();
		fflush(stdout);
		exit(0);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die("waitpid", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, PROG ": part '%s' failed\n", name);
		exit(1);
	}
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [--quick] [--verbose] [--only snapshot|bytes]\n"
	    "                      [--events-per-slot N] [--busy-rate N]\n"
	    "                      [--busy-gap-ms N] [--busy-reps N] [--help]\n"
	    "       " PROG " --target [--ops N]\n"
	    "       " PROG " --watch PID [--interval MS] [--count N]\n"
	    "\n"
	    "Measures the agent's work per snapshot (1,000 operations x 8\n"
	    "threads) and the bytes a snapshot takes on the wire per changed\n"
	    "operation; prints one \"name: value\" line per figure (see\n"
	    "bench/README.md).\n"
	    "\n"
	    "  --quick      fewer events and snapshots: a smoke test, not a\n"
	    "               measurement\n"
	    "  --only PART  run only that part\n"
	    "  --events-per-slot N  events each thread records into each\n"
	    "               operation before the snapshots (default 200)\n"
	    "  --busy-rate N  events/s the 8 threads record in all while the\n"
	    "               busy figures are measured (default 1000000; 0:\n"
	    "               as fast as they can)\n"
	    "  --busy-gap-ms N  time between the busy snapshots (default 10;\n"
	    "               100 for a viewer at 10 Hz)\n"
	    "  --busy-reps N  busy snapshots measured (default: as many as\n"
	    "               the other figures, 50; more to profile them)\n"
	    "  --verbose    the bytes of every operation of the bytes part\n"
	    "  --target     a helper for bench/agent-bench.sh: scopes in a\n"
	    "               tight loop on N operations (--ops, default 1); each\n"
	    "               line read on stdin is answered with \"NS EVENTS\"\n"
	    "  --watch PID  bytes per changed operation of a live process,\n"
	    "               subscribed at --interval MS (default 100) for\n"
	    "               --count N snapshots (default 50)\n"
	    "  --help       print this help\n");
}

int
main(int argc, char **argv)
{
	const char *only = NULL;
	int target = 0, watch_ms = 100, watch_count = 50;
	pid_t watch = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			g_quick = 1;
			g_reps = 20;
			g_events_per_slot = 20;
			g_intervals = 20;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			only = argv[++i];
			if (strcmp(only, "snapshot") != 0 &&
			    strcmp(only, "bytes") != 0) {
				fprintf(stderr, PROG ": unknown part '%s' "
				    "(snapshot or bytes)\n", only);
				return 2;
			}
		} else if (strcmp(argv[i], "--events-per-slot") == 0 &&
		    i + 1 < argc) {
			g_events_per_slot = atoi(argv[++i]);
			if (g_events_per_slot < 1) {
				fprintf(stderr, PROG ": --events-per-slot: at "
				    "least 1\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--busy-gap-ms") == 0 &&
		    i + 1 < argc) {
			g_busy_gap_ms = atoi(argv[++i]);
			if (g_busy_gap_ms < 1 || g_busy_gap_ms > 10000) {
				fprintf(stderr, PROG ": --busy-gap-ms: 1 .. "
				    "10000\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--busy-reps") == 0 &&
		    i + 1 < argc) {
			g_busy_reps = atoi(argv[++i]);
			if (g_busy_reps < 20 || g_busy_reps > 100000) {
				fprintf(stderr, PROG ": --busy-reps: 20 .. "
				    "100000\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--busy-rate") == 0 &&
		    i + 1 < argc) {
			g_busy_rate = atof(argv[++i]);
			if (!(g_busy_rate >= 0)) {
				fprintf(stderr, PROG ": --busy-rate: events/s, "
				    "0 for as fast as possible\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--verbose") == 0) {
			g_verbose = 1;
		} else if (strcmp(argv[i], "--target") == 0) {
			target = 1;
		} else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
			target_nops = atoi(argv[++i]);
			if (target_nops < 1 || target_nops > 60000) {
				fprintf(stderr, PROG ": --ops: 1 to 60000\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc) {
			watch = (pid_t)atoi(argv[++i]);
		} else if (strcmp(argv[i], "--interval") == 0 &&
		    i + 1 < argc) {
			watch_ms = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			watch_count = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, PROG ": unknown argument '%s' "
			    "(try --help)\n", argv[i]);
			return 2;
		}
	}
	if (target)
		return target_main();
	if (watch != 0) {
		if (watch < 0 || watch_ms < PT__INTERVAL_MIN_MS ||
		    watch_count < 1) {
			fprintf(stderr, PROG ": bad --watch, --interval or "
			    "--count\n");
			return 2;
		}
		return watch_main(watch, watch_ms, watch_count);
	}

	print_machine();
	if (only == NULL || strcmp(only, "snapshot") == 0)
		run_part("snapshot", part_snapshot);
	if (only == NULL || strcmp(only, "bytes") == 0)
		run_part("bytes", part_bytes);
	return 0;
}
