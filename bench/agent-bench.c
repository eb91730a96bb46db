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
 *   heap                       a viewer at 10 Hz in a program whose heap
 *                              is large and fragmented: the agent's CPU
 *                              and the program's longest malloc() wait
 *   threads                    short-lived threads in a program of 10,000
 *                              operations with a viewer at 10 Hz: how long
 *                              a thread's first event and life take
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
#include "agent-bench.h"

#include <stdarg.h>
#include <sys/utsname.h>
#include <sys/wait.h>

int	g_quick;
int	g_verbose;
int	g_reps = 50;		/* snapshots per work figure (>= 20) */
int	g_events_per_slot = 200;
int	g_intervals = 200;	/* snapshots per bytes figure */
double	g_busy_rate = 1e6;	/* events/s of the busy threads */
int	g_busy_gap_ms = 10;	/* between the busy snapshots */
int	g_busy_reps;		/* busy snapshots (0: g_reps) */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

uint64_t
clock_of(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t
now_ns(void)
{
	return clock_of(CLOCK_MONOTONIC);
}

/* CPU time of the calling thread. */
uint64_t
cpu_ns(void)
{
	return clock_of(CLOCK_THREAD_CPUTIME_ID);
}

void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NS_PER_S),
		.tv_nsec = (long)(ns % NS_PER_S),
	};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
	exit(1);
}

void
check(const char *what, int rc)
{
	if (rc < 0)
		die(what, pt_strerror(rc));
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		die("calloc", strerror(ENOMEM));
	return p;
}

void
figure(const char *name, const char *fmt, double v)
{
	printf("%s: ", name);
	printf(fmt, v);
	putchar('\n');
	fflush(stdout);
}

void __attribute__((format(printf, 1, 2)))
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
double
median(double *v, int n)
{
	if (n <= 0)
		return 0.0;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* xorshift64*: deterministic, so every run records the same durations. */
void
rng_seed(struct rng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
	if (r->s == 0)
		r->s = 1;
}

uint64_t
rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in (0, 1]. */
double
rng_unit(struct rng *r)
{
	return ((double)(rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

double
rng_normal(struct rng *r)
{
	return sqrt(-2.0 * log(rng_unit(r))) * cos(2.0 * M_PI * rng_unit(r));
}

/* A log-normal duration: median median_ns, shape sigma. */
uint64_t
lognormal_ns(struct rng *r, double median_ns, double sigma)
{
	double ns = median_ns * exp(sigma * rng_normal(r));

	return ns < 1.0 ? 1 : (uint64_t)ns;
}

/* Waits until the library's tick rate is settled (2 s after it started):
 * before that every snapshot has a slightly different tick_ns, so every
 * total changes, which is not what a running program sees. */
void
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
pt_site *
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
pid_t
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
uint64_t
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

/* A comment line: whether figure name met its target. */
void *
own_viewer_main(void *arg)
{
	struct own_viewer *v = arg;
	struct pt__client *c;
	struct pt__event ev;
	char err[256];
	uint64_t a0 = 0, a1, t0 = 0;
	pid_t tid;
	int got = -1;

	if (pt__client_open(getpid(), 2000, &c, err, sizeof err) != 0) {
		comment("note: cannot connect to the own agent: %s", err);
		atomic_store(&v->phase, 2);
		return NULL;
	}
	if ((tid = find_thread(getpid(), "perftop-agent")) < 0 ||
	    pt__client_subscribe(c, (uint32_t)v->interval_ms) != 0) {
		pt__client_close(c);
		atomic_store(&v->phase, 2);
		return NULL;
	}
	while (got < v->n && pt__client_next(c, 5000, &ev) == 1) {
		if (ev.type != PT__EV_SNAPSHOT)
			continue;
		pt_snapshot_free(ev.snap);
		if (got++ < 0) {	/* from the end of the first one */
			a0 = thread_cpu_ns(tid);
			t0 = now_ns();
			atomic_store(&v->phase, 1);
		}
	}
	a1 = thread_cpu_ns(tid);
	v->wall_s = (double)(now_ns() - t0) / 1e9;
	pt__client_close(c);
	v->ok = got >= v->n && a0 != 0 && a1 >= a0;
	if (v->ok)
		v->cpu_us = (double)(a1 - a0) / 1e3 / v->n;
	atomic_store(&v->phase, 2);
	return NULL;
}

void
target_line(const char *name, double v, double target, const char *unit,
    int upper)
{
	int ok = upper ? v <= target : v >= target;

	comment("%s %s: %.*f %s, target %s %g %s", ok ? "target met" :
	    "target missed", name, v < 10 ? 2 : 1, v, unit,
	    upper ? "<=" : ">=", target, unit);
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
	    "usage: " PROG " [--quick] [--verbose] [--only snapshot|bytes|heap|threads]\n"
	    "                      [--events-per-slot N] [--busy-rate N]\n"
	    "                      [--busy-gap-ms N] [--busy-reps N] [--help]\n"
	    "       " PROG " --target [--ops N]\n"
	    "       " PROG " --watch PID [--interval MS] [--count N]\n"
	    "\n"
	    "Measures the agent's work per snapshot (1,000 operations x 8\n"
	    "threads), the bytes a snapshot takes on the wire per changed\n"
	    "operation, and what a viewer at 10 Hz costs a program with a\n"
	    "large, fragmented heap; prints one \"name: value\" line per\n"
	    "figure (see bench/README.md).\n"
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
			    strcmp(only, "bytes") != 0 &&
			    strcmp(only, "heap") != 0 &&
			    strcmp(only, "threads") != 0) {
				fprintf(stderr, PROG ": unknown part '%s' "
				    "(snapshot, bytes, heap or threads)\n", only);
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
	if (only == NULL || strcmp(only, "heap") == 0)
		run_part("heap", part_heap);
	if (only == NULL || strcmp(only, "threads") == 0)
		run_part("threads", part_threads);
	return 0;
}
