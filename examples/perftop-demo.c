/*
 * perftop-demo - a multi-threaded workload instrumented with libperftop.
 *
 * It models the programs that used the old profiling helper: a training
 * loop (data loading, forward, backward, optimizer, checkpoints, a replay
 * buffer whose memory grows for about 20 s and is then cleared) and game
 * worker threads (play, move, search, evaluate) with cache counters.  The
 * work is real CPU work (matrix multiplies, array loops, hashing) from about
 * 1 us to 20 ms per operation; every thread sleeps between its steps so that
 * the whole program uses about one CPU core.
 *
 * Run it, then watch it with `perftop`.  It prints nothing unless --summary
 * is given, a test option asks for figures, or something goes wrong.
 *
 * The options for the tests (--fork-count, --exec-child, --alarm-storm,
 * --count-sigpipe, --signal-report, --daemonize, --no-replay,
 * --heap-on-usr1) make it a host that forks, execs, daemonises and takes
 * signals while perftop watches (demo-host.c); tests/harden-*.sh and
 * scripts/soak use them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "perftop.h"
#include "demo.h"

/* ------------------------------------------------------------------------ */
/* Options and shared state                                                  */
/* ------------------------------------------------------------------------ */

struct options {
	int		threads;	/* game worker threads */
	int		cpu_percent;	/* of one core, for the whole demo */
	long long	duration_s;	/* 0: until a signal */
	bool		summary;
	int		sites;		/* extra synthetic operations */
	long long	fork_every_ms;	/* 0: never fork */
	/* Test-oriented options (see usage()). */
	long long	fork_count;	/* 0: no limit */
	const char	*exec_child;	/* command of every 10th child */
	int		alarm_hz;	/* 0: no SIGALRM storm */
	bool		count_sigpipe;
	bool		signal_report;
	int		daemonize;	/* enum daemon_mode */
	bool		no_replay;
	bool		heap_on_usr1;
};

static atomic_int g_stop;

/* Synthetic sites: never freed, the library keeps pointers to the names. */
static pt_site	*g_syn_sites;
static char	*g_syn_names;

/* Keeps results alive so that the compiler cannot drop the work. */
volatile uint64_t g_sink;

/* --no-replay: the replay buffer stays empty (a flat memory profile). */
bool g_no_replay;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, 1);
}

bool
stopping(void)
{
	return atomic_load_explicit(&g_stop, memory_order_relaxed) != 0;
}

uint64_t
clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t
mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NS_PER_S),
		.tv_nsec = (long)(ns % NS_PER_S),
	};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stopping())
		;
}

/* ------------------------------------------------------------------------ */
/* Synthetic operations (--sites N)                                          */
/* ------------------------------------------------------------------------ */

static int
synthetic_setup(int n)
{
	const size_t stride = 32;	/* "synthetic.op.NNNNN" and a NUL */

	g_syn_sites = calloc((size_t)n, sizeof(*g_syn_sites));
	g_syn_names = calloc((size_t)n, stride);
	if (g_syn_sites == NULL || g_syn_names == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *name = g_syn_names + (size_t)i * stride;

		snprintf(name, stride, "synthetic.op.%04d", i);
		g_syn_sites[i] = (pt_site)PT_SITE_INIT(name, PT_KIND_OP);
		int rc = pt_site_register(&g_syn_sites[i]);
		if (rc < 0) {
			fprintf(stderr, PROG ": cannot register %s: %s\n",
			    name, pt_strerror(rc));
			return -1;
		}
	}
	return 0;
}

struct synthetic_arg {
	int	n;
};

static void *
synthetic_main(void *arg)
{
	const struct synthetic_arg *sa = arg;
	struct pacer pacer;
	uint64_t h = 1;

	pacer_init(&pacer);
	/* Paced every 64 scopes, whatever the number of sites (with fewer
	   than 64, pacing on the site index never happened: a whole core). */
	for (uint64_t k = 1; !stopping(); k++) {
		int i = (int)(k % (uint64_t)sa->n);
		pt_scope s = pt_scope_begin(&g_syn_sites[i]);

		h = burn_ns(500 + (h & 1023), h);
		pt_scope_end(&s);
		if ((k & 63) == 0)
			pacer_pace(&pacer);
	}
	g_sink += h;
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [options]\n"
	    "\n"
	    "A multi-threaded workload instrumented with libperftop: a training\n"
	    "loop and game worker threads using about one CPU core.  Watch it\n"
	    "with perftop.\n"
	    "\n"
	    "  --threads N         game worker threads (1..64, default 3)\n"
	    "  --cpu PERCENT       the share of one core the whole demo uses\n"
	    "                      (1..100, default 100, or PERFTOP_DEMO_CPU)\n"
	    "  --duration SECONDS  stop after SECONDS (default: run until\n"
	    "                      SIGINT or SIGTERM)\n"
	    "  --summary           print the statistics summary at exit\n"
	    "  --sites N           add N synthetic operations synthetic.op.NNNN\n"
	    "                      hit round-robin by one more thread\n"
	    "                      (0..60000, default 0)\n"
	    "  --fork-every MS     fork a child that records a few scopes every\n"
	    "                      MS milliseconds (default: never)\n"
	    "  --version           print the library version\n"
	    "  --help              print this help\n"
	    "\n"
	    "Options for the tests:\n"
	    "  --fork-count N      fork N children in all, then print the fork\n"
	    "                      figures (forks=, max_fork_ms=, ...) on stderr\n"
	    "  --exec-child CMD    every 10th forked child runs /bin/sh -c CMD\n"
	    "  --alarm-storm HZ    SIGALRM HZ times a second (setitimer, 1..100000)\n"
	    "                      to a handler that counts them per thread\n"
	    "  --count-sigpipe     count SIGPIPE in a handler (default: the\n"
	    "                      default disposition, which kills)\n"
	    "  --signal-report     at exit, print the signal figures on stderr;\n"
	    "                      exit 1 when a signal reached the agent thread,\n"
	    "                      is pending on it, or SIGPIPE was raised\n"
	    "  --daemonize MODE    after the agent started, fork: the parent\n"
	    "                      prints the child's PID and _exit()s, the child\n"
	    "                      runs the workload; MODE serve: the child calls\n"
	    "                      pt_agent_start(), silent: it does not\n"
	    "  --no-replay         no replay buffer (flat memory use)\n"
	    "  --heap-on-usr1      on SIGUSR1, print the heap in use on stderr\n"
	    "                      (heap: in_use=BYTES rss=BYTES)\n"
	    );
}

static void
bad_usage(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, " (try --help)\n");
	exit(2);
}

/*
 * Matches option name in argv[*i], as "--name VALUE" or "--name=VALUE";
 * returns the value or NULL when argv[*i] is another option.
 */
static const char *
option_value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, len) != 0)
		return NULL;
	if (arg[len] == '=')
		return arg + len + 1;
	if (arg[len] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		bad_usage("option '%s' needs a value%s", name, "");
	return argv[++*i];
}

static long long
number(const char *name, const char *value, long long min, long long max)
{
	const char *errstr = NULL;
	long long n = strtonum(value, min, max, &errstr);

	if (errstr != NULL)
		bad_usage("%s: value is %s", name, errstr);
	return n;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	const char *v;

	o->threads = 3;
	o->cpu_percent = 100;
	if ((v = getenv("PERFTOP_DEMO_CPU")) != NULL && *v != '\0')
		o->cpu_percent = (int)number("PERFTOP_DEMO_CPU", v, 1, 100);
	o->duration_s = 0;
	o->summary = false;
	o->sites = 0;
	o->fork_every_ms = 0;
	o->fork_count = 0;
	o->exec_child = NULL;
	o->alarm_hz = 0;
	o->count_sigpipe = false;
	o->signal_report = false;
	o->daemonize = DAEMON_NO;
	o->no_replay = false;
	o->heap_on_usr1 = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(arg, "--version") == 0) {
			printf(PROG " (libperftop %s)\n", pt_version());
			exit(0);
		} else if (strcmp(arg, "--summary") == 0) {
			o->summary = true;
		} else if ((v = option_value(argc, argv, &i, "--threads"))) {
			o->threads = (int)number("--threads", v, 1, 64);
		} else if ((v = option_value(argc, argv, &i, "--cpu"))) {
			o->cpu_percent = (int)number("--cpu", v, 1, 100);
		} else if ((v = option_value(argc, argv, &i, "--duration"))) {
			o->duration_s = number("--duration", v, 1,
			    10LL * 365 * 24 * 3600);
		} else if ((v = option_value(argc, argv, &i, "--sites"))) {
			o->sites = (int)number("--sites", v, 0, 60000);
		} else if ((v = option_value(argc, argv, &i,
		    "--fork-every"))) {
			o->fork_every_ms = number("--fork-every", v, 1,
			    24LL * 3600 * 1000);
		} else if ((v = option_value(argc, argv, &i,
		    "--fork-count"))) {
			o->fork_count = number("--fork-count", v, 1,
			    1000000000LL);
		} else if ((v = option_value(argc, argv, &i,
		    "--exec-child"))) {
			o->exec_child = v;
		} else if ((v = option_value(argc, argv, &i,
		    "--alarm-storm"))) {
			o->alarm_hz = (int)number("--alarm-storm", v, 1, 100000);
		} else if (strcmp(arg, "--count-sigpipe") == 0) {
			o->count_sigpipe = true;
		} else if (strcmp(arg, "--signal-report") == 0) {
			o->signal_report = true;
		} else if ((v = option_value(argc, argv, &i,
		    "--daemonize"))) {
			if (strcmp(v, "serve") == 0)
				o->daemonize = DAEMON_SERVE;
			else if (strcmp(v, "silent") == 0)
				o->daemonize = DAEMON_SILENT;
			else
				bad_usage("--daemonize: '%s' is neither serve "
				    "nor silent%s", v, "");
		} else if (strcmp(arg, "--no-replay") == 0) {
			o->no_replay = true;
		} else if (strcmp(arg, "--heap-on-usr1") == 0) {
			o->heap_on_usr1 = true;
		} else {
			bad_usage("unknown argument '%s'%s", arg, "");
		}
	}
	if ((o->fork_count > 0 || o->exec_child != NULL) &&
	    o->fork_every_ms == 0)
		bad_usage("%s needs --fork-every%s", o->fork_count > 0 ?
		    "--fork-count" : "--exec-child", "");
}

static void
install_signals(void)
{
	catch_signal(SIGINT, on_signal, 0);
	catch_signal(SIGTERM, on_signal, 0);
}

int
main(int argc, char **argv)
{
	struct options opt;
	struct trainer *trainer;
	struct game_worker **workers;
	pthread_t *worker_threads;
	struct synthetic_arg syn = { 0 };
	pthread_t trainer_thread, syn_thread;
	sigset_t block, old;
	int nthreads, rc, status = 0;
	uint64_t start, deadline = 0, next_fork = 0;

	parse_options(argc, argv, &opt);

#ifdef M_MMAP_THRESHOLD
	/*
	 * Serve the replay buffer's chunks with mmap so that freeing them
	 * gives the memory back: resident memory visibly shrinks.
	 */
	mallopt(M_MMAP_THRESHOLD, 512 * 1024);
#endif
	calibrate_burn();

	nthreads = 1 + opt.threads + (opt.sites > 0);
	g_cpu_share = opt.cpu_percent / 100.0 / nthreads;

	rc = pt_agent_start();
	if (rc < 0 && rc != PT_EDISABLED)
		fprintf(stderr, PROG ": cannot serve statistics to perftop: "
		    "%s\n", pt_strerror(rc));

	if (opt.sites > 0 && synthetic_setup(opt.sites) < 0)
		return 1;
	if (opt.daemonize != DAEMON_NO)
		daemonize(opt.daemonize);	/* only the child returns */
	g_no_replay = opt.no_replay;
	if (opt.fork_every_ms > 0 &&
	    fork_stats_init(opt.fork_count, opt.exec_child) < 0)
		return 1;
	if (opt.count_sigpipe)
		install_sigpipe_counter();
	if (opt.heap_on_usr1)
		install_usr1();

	trainer = trainer_new();
	workers = calloc((size_t)opt.threads, sizeof(*workers));
	worker_threads = calloc((size_t)opt.threads, sizeof(*worker_threads));
	if (trainer == NULL || workers == NULL || worker_threads == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	for (int i = 0; i < opt.threads; i++)
		if ((workers[i] = game_worker_new(i)) == NULL) {
			fprintf(stderr, PROG ": out of memory\n");
			return 1;
		}

	/* The workers block the signals: the main thread takes them. */
	install_signals();
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	rc = pthread_create(&trainer_thread, NULL, trainer_main, trainer);
	if (rc != 0) {
		fprintf(stderr, PROG ": pthread_create: %s\n", strerror(rc));
		return 1;
	}
	for (int i = 0; i < opt.threads; i++) {
		rc = pthread_create(&worker_threads[i], NULL, game_main,
		    workers[i]);
		if (rc != 0) {
			fprintf(stderr, PROG ": pthread_create: %s\n",
			    strerror(rc));
			return 1;
		}
	}
	if (opt.sites > 0) {
		syn.n = opt.sites;
		rc = pthread_create(&syn_thread, NULL, synthetic_main, &syn);
		if (rc != 0) {
			fprintf(stderr, PROG ": pthread_create: %s\n",
			    strerror(rc));
			return 1;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (opt.alarm_hz > 0 && start_alarm_storm(opt.alarm_hz) == -1) {
		fprintf(stderr, PROG ": setitimer: %s\n", strerror(errno));
		return 1;
	}

	start = mono_ns();
	if (opt.duration_s > 0)
		deadline = start + (uint64_t)opt.duration_s * NS_PER_S;
	if (opt.fork_every_ms > 0)
		next_fork = start + (uint64_t)opt.fork_every_ms * NS_PER_MS;

	while (!stopping()) {
		uint64_t now = mono_ns(), wake = now + 100 * NS_PER_MS;

		if (deadline != 0 && now >= deadline)
			break;
		if (next_fork != 0 && now >= next_fork) {
			fork_child();
			next_fork += (uint64_t)opt.fork_every_ms * NS_PER_MS;
			if (next_fork <= now)
				next_fork = now + (uint64_t)opt.fork_every_ms *
				    NS_PER_MS;
			if (fork_limit_reached())
				next_fork = 0;	/* --fork-count reached */
		}
		if (children_running() > 0)
			reap_children(false);
		if (heap_wanted())
			heap_report();
		if (deadline != 0 && deadline < wake)
			wake = deadline;
		if (next_fork != 0 && next_fork < wake)
			wake = next_fork;
		if (children_running() > 0 && now + 10 * NS_PER_MS < wake)
			wake = now + 10 * NS_PER_MS;
		now = mono_ns();
		if (wake > now)
			sleep_ns(wake - now);
	}
	atomic_store(&g_stop, 1);

	pthread_join(trainer_thread, NULL);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(worker_threads[i], NULL);
	if (opt.sites > 0)
		pthread_join(syn_thread, NULL);
	reap_children(true);
	fork_report();
	if (child_failures() > 0)
		status = 1;
	if (opt.alarm_hz > 0)
		stop_alarm_storm();
	if (opt.signal_report && signal_report() < 0)
		status = 1;

	if (opt.summary) {
		rc = pt_summary_print(stdout);
		if (rc < 0 || fflush(stdout) == EOF) {
			fprintf(stderr, PROG ": cannot write the summary: %s\n",
			    rc < 0 ? pt_strerror(rc) : strerror(errno));
			status = 1;
		}
	}
	pt_agent_stop();

	for (int i = 0; i < opt.threads; i++)
		game_worker_free(workers[i]);
	free(workers);
	free(worker_threads);
	trainer_free(trainer);
	if (opt.daemonize != DAEMON_NO && !CHILD_MAY_EXIT) {
		/* A forked child: no LeakSanitizer check (see child_work()). */
		fflush(stdout);
		_exit(status);
	}
	return status;
}
