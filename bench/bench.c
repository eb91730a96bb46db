/*
 * pt-bench - measures what libperftop's instrumentation costs a program.
 *
 * Prints one "name: value" line per figure on stdout, after a "#" line that
 * describes the machine.  Every figure is the best (minimum) of 5
 * repetitions of about 100 ms each, after a warm-up.  bench/README.md
 * describes the figures.
 *
 * The naive baseline is what the old profiling helper did for every event:
 * take one global lock, hash the operation's name to find its entry in a
 * map, and append the duration to a growing array of every duration.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_RDTSC 1
#endif

#include "perftop.h"

#define PROG		"pt-bench"
#define NS_PER_MS	1000000ULL
#define NS_PER_S	1000000000ULL

#define MEM_SITES	256	/* new sites per bytes_per_site_thread run */

/* Length of one repetition and number of repetitions (--quick lowers). */
static uint64_t	g_rep_ns = 100 * NS_PER_MS;
static int	g_reps = 5;

static volatile uint64_t g_sink;

/* Keeps the compiler from removing or merging an empty loop body. */
#define BARRIER()	__asm__ volatile("" ::: "memory")

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what, int err)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(err));
	exit(1);
}

/* ------------------------------------------------------------------------ */
/* The naive baseline                                                        */
/* ------------------------------------------------------------------------ */

struct naive_entry {
	struct naive_entry	*next;
	char			*name;
	uint64_t		 hash;
	double			*durations;	/* every duration, in ns */
	size_t			 n, cap;
};

#define NAIVE_BUCKETS	64

static pthread_mutex_t		 naive_lock = PTHREAD_MUTEX_INITIALIZER;
static struct naive_entry	*naive_table[NAIVE_BUCKETS];

/*
 * The names the naive loops record under, read through a volatile pointer
 * at every event so that the compiler cannot hash them once in advance.
 */
static const char *volatile naive_names[2] = {
	"bench.naive.thread0", "bench.naive.thread1",
};

static uint64_t
naive_hash(const char *s)
{
	uint64_t h = 0xCBF29CE484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001B3ULL;
	}
	return h;
}

/* One event: lock, look the name up, append the duration, unlock. */
__attribute__((noinline)) static void
naive_record(const char *name, double ns)
{
	struct naive_entry *e;
	uint64_t h;

	pthread_mutex_lock(&naive_lock);
	h = naive_hash(name);
	for (e = naive_table[h % NAIVE_BUCKETS]; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->name, name) == 0)
			break;
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL || (e->name = strdup(name)) == NULL) {
			pthread_mutex_unlock(&naive_lock);
			die("naive baseline", ENOMEM);
		}
		e->hash = h;
		e->next = naive_table[h % NAIVE_BUCKETS];
		naive_table[h % NAIVE_BUCKETS] = e;
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		double *d = realloc(e->durations, cap * sizeof(*d));

		if (d == NULL) {
			pthread_mutex_unlock(&naive_lock);
			die("naive baseline", ENOMEM);
		}
		e->durations = d;
		e->cap = cap;
	}
	e->durations[e->n++] = ns;
	pthread_mutex_unlock(&naive_lock);
}

/* Frees every entry (between repetitions; no thread is recording). */
static void
naive_reset(void)
{
	for (int b = 0; b < NAIVE_BUCKETS; b++) {
		struct naive_entry *e, *next;

		for (e = naive_table[b]; e != NULL; e = next) {
			next = e->next;
			g_sink += e->n;
			free(e->durations);
			free(e->name);
			free(e);
		}
		naive_table[b] = NULL;
	}
}

/* ------------------------------------------------------------------------ */
/* The measured loops                                                        */
/* ------------------------------------------------------------------------ */

static pt_site bench_scope = PT_SITE_INIT("bench.scope", PT_KIND_OP);
static pt_site bench_counter = PT_SITE_INIT("bench.counter", PT_KIND_COUNTER);
static pt_site bench_thread_sites[2] = {
	PT_SITE_INIT("bench.thread0", PT_KIND_OP),
	PT_SITE_INIT("bench.thread1", PT_KIND_OP),
};

typedef void (*loop_fn)(uint64_t n, int idx);

__attribute__((noinline)) static void
loop_clock(uint64_t n, int idx)
{
	struct timespec ts;
	uint64_t acc = 0;

	(void)idx;
	for (uint64_t i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		acc += (uint64_t)ts.tv_nsec;
		BARRIER();
	}
	g_sink += acc;
}

#ifdef HAVE_RDTSC
__attribute__((noinline)) static void
loop_rdtsc(uint64_t n, int idx)
{
	uint64_t acc = 0;

	(void)idx;
	for (uint64_t i = 0; i < n; i++) {
		acc += __rdtsc();
		BARRIER();
	}
	g_sink += acc;
}
#endif

static void
scope_events(pt_site *site, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		pt_scope s = pt_scope_begin(site);

		BARRIER();
		pt_scope_end(&s);
	}
}

__attribute__((noinline)) static void
loop_scope(uint64_t n, int idx)
{
	(void)idx;
	scope_events(&bench_scope, n);
}

/* Scopes on the calling thread's own site (for the thread figures). */
__attribute__((noinline)) static void
loop_scope_thread(uint64_t n, int idx)
{
	scope_events(&bench_thread_sites[idx], n);
}

__attribute__((noinline)) static void
loop_counter(uint64_t n, int idx)
{
	(void)idx;
	for (uint64_t i = 0; i < n; i++) {
		pt_counter_add(&bench_counter, 1);
		BARRIER();
	}
}

__attribute__((noinline)) static void
loop_naive(uint64_t n, int idx)
{
	struct timespec t0, t1;

	for (uint64_t i = 0; i < n; i++) {
		const char *name = naive_names[idx];

		clock_gettime(CLOCK_MONOTONIC, &t0);
		BARRIER();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		naive_record(name, (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
		    (double)(t1.tv_nsec - t0.tv_nsec));
	}
}

/* ------------------------------------------------------------------------ */
/* Single-thread measurement                                                 */
/* ------------------------------------------------------------------------ */

static uint64_t
time_loop(loop_fn fn, uint64_t n)
{
	uint64_t t0 = now_ns();

	fn(n, 0);
	return now_ns() - t0;
}

/*
 * Returns the number of iterations of fn that take about one repetition.
 * Doubles as the warm-up.
 */
static uint64_t
calibrate(loop_fn fn, void (*reset)(void))
{
	uint64_t n = 256, t;

	for (;;) {
		if (reset != NULL)
			reset();
		t = time_loop(fn, n);
		if (t >= g_rep_ns / 8 || n >= (1ULL << 40))
			break;
		n *= 2;
	}
	if (t == 0)
		t = 1;
	n = (uint64_t)((double)n * (double)g_rep_ns / (double)t);
	return n ? n : 1;
}

/* Best nanoseconds per iteration of fn over g_reps repetitions. */
static double
best_ns(loop_fn fn, void (*reset)(void))
{
	uint64_t n = calibrate(fn, reset);
	double best = 0.0;

	if (reset != NULL)
		reset();
	fn(n / 4 + 1, 0);			/* warm-up at full size */
	for (int r = 0; r < g_reps; r++) {
		double ns;

		if (reset != NULL)
			reset();
		ns = (double)time_loop(fn, n) / (double)n;
		if (r == 0 || ns < best)
			best = ns;
	}
	if (reset != NULL)
		reset();
	return best;
}

/* ------------------------------------------------------------------------ */
/* Two-thread measurement                                                    */
/* ------------------------------------------------------------------------ */

struct runner {
	pthread_t		 thread;
	loop_fn			 fn;
	int			 idx;
	uint64_t		 n;
	pthread_barrier_t	*start;
	uint64_t		 t0, t1;
};

static void *
runner_main(void *arg)
{
	struct runner *r = arg;

	r->fn(r->n / 20 + 1000, r->idx);	/* warm-up: caches, thread state */
	pthread_barrier_wait(r->start);
	r->t0 = now_ns();
	r->fn(r->n, r->idx);
	r->t1 = now_ns();
	return NULL;
}

/*
 * Runs fn(n) on nthreads new threads at once (thread i on index i); returns
 * the wall time from the first start to the last end.
 */
static uint64_t
run_threads(loop_fn fn, int nthreads, uint64_t n)
{
	struct runner r[2];
	pthread_barrier_t start;
	uint64_t t0 = UINT64_MAX, t1 = 0;
	int rc;

	if ((rc = pthread_barrier_init(&start, NULL, (unsigned)nthreads)))
		die("pthread_barrier_init", rc);
	for (int i = 0; i < nthreads; i++) {
		r[i] = (struct runner){ .fn = fn, .idx = i, .n = n,
		    .start = &start };
		if ((rc = pthread_create(&r[i].thread, NULL, runner_main,
		    &r[i])))
			die("pthread_create", rc);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(r[i].thread, NULL);
		if (r[i].t0 < t0)
			t0 = r[i].t0;
		if (r[i].t1 > t1)
			t1 = r[i].t1;
	}
	pthread_barrier_destroy(&start);
	return t1 - t0;
}

struct scaling {
	double	ns_1t;		/* per event, one thread */
	double	ns_2t;		/* per event per thread, two threads at once */
	double	scaling;	/* throughput with 2 threads / with 1 */
};

/*
 * Measures fn on one thread and on two threads at once (each thread on its
 * own index); the best of g_reps repetitions of each.
 */
static struct scaling
measure_scaling(loop_fn fn, void (*reset)(void))
{
	struct scaling s;
	uint64_t n, w1 = UINT64_MAX, w2 = UINT64_MAX, w;

	/* Calibrate on one thread. */
	n = 1024;
	for (;;) {
		if (reset != NULL)
			reset();
		w = run_threads(fn, 1, n);
		if (w >= g_rep_ns / 8 || n >= (1ULL << 40))
			break;
		n *= 2;
	}
	n = (uint64_t)((double)n * (double)g_rep_ns / (double)(w ? w : 1));
	if (n == 0)
		n = 1;

	for (int r = 0; r < g_reps; r++) {
		if (reset != NULL)
			reset();
		w = run_threads(fn, 1, n);
		if (w < w1)
			w1 = w;
		if (reset != NULL)
			reset();
		w = run_threads(fn, 2, n);
		if (w < w2)
			w2 = w;
	}
	if (reset != NULL)
		reset();
	s.ns_1t = (double)w1 / (double)n;
	s.ns_2t = (double)w2 / (double)n;
	s.scaling = (2.0 * (double)n / (double)w2) / ((double)n / (double)w1);
	return s;
}

/* ------------------------------------------------------------------------ */
/* Memory per site and thread                                                */
/* ------------------------------------------------------------------------ */

static long	g_page_size;
static pt_site	bench_mem_warm = PT_SITE_INIT("bench.mem.warm", PT_KIND_OP);

/* Bytes allocated through malloc and in use, in every arena. */
static int64_t
heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	struct mallinfo2 mi = mallinfo2();

	return (int64_t)(mi.uordblks + mi.hblkhd);
#else
	return 0;
#endif
}

/* Resident set size, from /proc/self/statm. */
static int64_t
rss_now(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long size = 0, resident = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lld %lld", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (int64_t)resident * g_page_size;
}

struct mem_run {
	pt_site		*sites;		/* MEM_SITES new sites */
	int64_t		 heap_delta, rss_delta;
};

static void *
mem_main(void *arg)
{
	struct mem_run *m = arg;
	int64_t heap0, rss0;

	/* Let the library set this thread up before measuring. */
	for (int i = 0; i < 1000; i++) {
		pt_scope s = pt_scope_begin(&bench_mem_warm);

		BARRIER();
		pt_scope_end(&s);
	}
	heap0 = heap_in_use();
	rss0 = rss_now();
	for (int i = 0; i < MEM_SITES; i++) {
		pt_scope s = pt_scope_begin(&m->sites[i]);

		BARRIER();
		pt_scope_end(&s);
	}
	m->heap_delta = heap_in_use() - heap0;
	m->rss_delta = rss_now() - rss0;
	return NULL;
}

/*
 * Memory that one thread's first use of MEM_SITES new operations costs,
 * per site: the largest of the heap and the resident-memory growth, the
 * best of g_reps runs (each on a new thread with new sites).  The sites and
 * their names are never freed: the library may keep pointers to them.
 */
static void
measure_memory(double *per_site, double *heap_per_site, double *rss_per_site)
{
	int64_t best = INT64_MAX, best_heap = INT64_MAX, best_rss = INT64_MAX;

	for (int r = 0; r < g_reps; r++) {
		struct mem_run m = { 0 };
		char *names;
		pthread_t t;
		int rc;

		m.sites = calloc(MEM_SITES, sizeof(*m.sites));
		names = calloc(MEM_SITES, 32);
		if (m.sites == NULL || names == NULL)
			die("memory", ENOMEM);
		for (int i = 0; i < MEM_SITES; i++) {
			char *name = names + (size_t)i * 32;

			snprintf(name, 32, "bench.mem.%d.%03d", r, i);
			m.sites[i] = (pt_site)PT_SITE_INIT(name, PT_KIND_OP);
		}
		if ((rc = pthread_create(&t, NULL, mem_main, &m)))
			die("pthread_create", rc);
		pthread_join(t, NULL);

		int64_t heap = m.heap_delta > 0 ? m.heap_delta : 0;
		int64_t rss = m.rss_delta > 0 ? m.rss_delta : 0;
		int64_t worst = heap > rss ? heap : rss;

		if (worst < best)
			best = worst;
		if (heap < best_heap)
			best_heap = heap;
		if (rss < best_rss)
			best_rss = rss;
	}
	*per_site = (double)best / MEM_SITES;
	*heap_per_site = (double)best_heap / MEM_SITES;
	*rss_per_site = (double)best_rss / MEM_SITES;
}

/* ------------------------------------------------------------------------ */
/* Snapshot cost                                                             */
/* ------------------------------------------------------------------------ */

/* Best microseconds per pt_snapshot_take() + pt_snapshot_free(). */
static double
measure_snapshot(size_t *n_ops)
{
	double best = 0.0;
	int calls = 0;
	pt_snapshot *snap;

	*n_ops = 0;
	for (int r = 0; r < g_reps; r++) {
		uint64_t t0 = now_ns(), t;

		calls = 0;
		do {
			if (pt_snapshot_take(&snap) != 0)
				return -1.0;
			*n_ops = snap->n_ops;
			pt_snapshot_free(snap);
			calls++;
			t = now_ns() - t0;
		} while (t < g_rep_ns / 4);
		double us = (double)t / calls / 1000.0;

		if (r == 0 || us < best)
			best = us;
	}
	return best;
}

/* ------------------------------------------------------------------------ */
/* Machine description                                                       */
/* ------------------------------------------------------------------------ */

static void
print_machine(void)
{
	char line[512], model[256] = "unknown", flags[64] = "";
	struct utsname un;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char *colon = strchr(line, ':');

			if (colon == NULL)
				continue;
			if (strncmp(line, "model name", 10) == 0 &&
			    strcmp(model, "unknown") == 0) {
				snprintf(model, sizeof(model), "%s",
				    colon + 2);
				model[strcspn(model, "\n")] = '\0';
			} else if (strncmp(line, "flags", 5) == 0 &&
			    flags[0] == '\0') {
				snprintf(flags, sizeof(flags), "%s%s",
				    strstr(line, " constant_tsc") ?
				    " constant_tsc" : "",
				    strstr(line, " nonstop_tsc") ?
				    " nonstop_tsc" : "");
			}
		}
		fclose(f);
	}
	if (uname(&un) != 0)
		snprintf(un.release, sizeof(un.release), "unknown");
	printf("# pt-bench: libperftop %s; cpu: %s; cpus: %ld online of "
	    "%ld;%s%s; linux %s; %d x %llu ms per figure\n",
	    pt_version(), model, sysconf(_SC_NPROCESSORS_ONLN),
	    sysconf(_SC_NPROCESSORS_CONF), flags[0] ? " tsc:" : "", flags,
	    un.release, g_reps, (unsigned long long)(g_rep_ns / NS_PER_MS));
	fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [--quick] [--help]\n"
	    "\n"
	    "Measures the cost of libperftop's scopes and counters against a\n"
	    "bare clock read and a naive locked-hash-map profiler, and prints\n"
	    "one \"name: value\" line per figure (see bench/README.md).\n"
	    "\n"
	    "  --quick   short repetitions (20 ms, best of 3): a smoke test,\n"
	    "            not a measurement\n"
	    "  --help    print this help\n");
}

static void
figure(const char *name, const char *fmt, double v)
{
	printf("%s: ", name);
	printf(fmt, v);
	putchar('\n');
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	double clock_ns, scope_ns, counter_ns, naive_ns;
	double per_site, heap_per_site, rss_per_site, snap_us;
	struct scaling cs, sc, nv;
	size_t snap_ops;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			g_rep_ns = 20 * NS_PER_MS;
			g_reps = 3;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, PROG ": unknown argument '%s' "
			    "(try --help)\n", argv[i]);
			return 2;
		}
	}
	g_page_size = sysconf(_SC_PAGESIZE);
	print_machine();

	clock_ns = best_ns(loop_clock, NULL);
	figure("clock_ns", "%.2f", clock_ns);
#ifdef HAVE_RDTSC
	figure("rdtsc_ns", "%.2f", best_ns(loop_rdtsc, NULL));
#else
	printf("rdtsc_ns: n/a\n");
#endif

	scope_ns = best_ns(loop_scope, NULL);
	figure("scope_ns", "%.2f", scope_ns);
	figure("scope_vs_clock", "%.2f", scope_ns / clock_ns);

	counter_ns = best_ns(loop_counter, NULL);
	figure("counter_ns", "%.2f", counter_ns);
	figure("counter_vs_clock", "%.2f", counter_ns / clock_ns);

	cs = measure_scaling(loop_clock, NULL);
	figure("clock_two_thread_scaling", "%.2f", cs.scaling);
	if (cs.scaling < 1.8) {
		printf("# note: two threads reading the clock ran only %.2f "
		    "times as fast as one: this process did not get two "
		    "idle CPUs, so the two-thread figures say little\n",
		    cs.scaling);
		fflush(stdout);
	}

	sc = measure_scaling(loop_scope_thread, NULL);
	figure("scope_1t_ns", "%.2f", sc.ns_1t);
	figure("scope_2t_ns", "%.2f", sc.ns_2t);
	figure("two_thread_scaling", "%.2f", sc.scaling);

	measure_memory(&per_site, &heap_per_site, &rss_per_site);
	figure("bytes_per_site_thread", "%.0f", per_site);
	figure("bytes_per_site_thread_heap", "%.0f", heap_per_site);
	figure("bytes_per_site_thread_rss", "%.0f", rss_per_site);

	naive_ns = best_ns(loop_naive, naive_reset);
	figure("naive_ns", "%.2f", naive_ns);
	figure("naive_vs_scope", "%.2f", naive_ns / scope_ns);

	nv = measure_scaling(loop_naive, naive_reset);
	figure("naive_2t_ns", "%.2f", nv.ns_2t);
	figure("naive_two_thread_scaling", "%.2f", nv.scaling);
	figure("naive_vs_scope_2t", "%.2f", nv.ns_2t / sc.ns_2t);

	snap_us = measure_snapshot(&snap_ops);
	if (snap_us < 0) {
		fprintf(stderr, PROG ": pt_snapshot_take failed\n");
		return 1;
	}
	figure("snapshot_ops", "%.0f", (double)snap_ops);
	figure("snapshot_us", "%.1f", snap_us);

	pt_agent_stop();
	return 0;
}
