/*
 * demo-host.c - perftop-demo as the kind of host the tests need: it forks
 * children that record and exec (--fork-every, --fork-count,
 * --exec-child), takes a SIGALRM storm and counts SIGPIPE
 * (--alarm-storm, --count-sigpipe), reports which signals reached the
 * agent thread (--signal-report), daemonises (--daemonize) and prints its
 * heap in use on SIGUSR1 (--heap-on-usr1).  The workload is in
 * perftop-demo.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "perftop.h"
#include "demo.h"

/* ------------------------------------------------------------------------ */
/* Forked children (--fork-every MS)                                         */
/* ------------------------------------------------------------------------ */

#define MAX_CHILDREN	64
#define CHILD_TIMEOUT_NS (10 * NS_PER_S)
/* With --exec-child, every EXEC_EVERY-th child runs the command. */
#define EXEC_EVERY	10

struct child {
	pid_t		pid;
	uint64_t	started_ns;	/* just before fork() */
};

static struct child	g_children[MAX_CHILDREN];
static int		g_nchildren;
static int		g_child_failures;

/* Figures of the forks, for the report of --fork-count. */
static struct {
	long long	limit;		/* --fork-count; 0: none */
	const char	*exec_cmd;	/* --exec-child */
	long long	forks;		/* fork() calls that succeeded */
	long long	reaped;
	long long	execs;
	uint64_t	max_fork_ns;	/* fork() call to its return, parent */
	uint64_t	max_life_ns;	/* fork() call to the child reaped */
	bool		reported;
	/*
	 * Shared with the children (MAP_SHARED): the longest time from the
	 * parent's fork() call to the child running its own code.
	 */
	_Atomic uint64_t *max_child_start_ns;
} g_fork;

static void
atomic_max(_Atomic uint64_t *p, uint64_t v)
{
	uint64_t cur = atomic_load(p);

	while (cur < v && !atomic_compare_exchange_weak(p, &cur, v))
		;
}

int
fork_stats_init(long long limit, const char *exec_cmd)
{
	void *p;

	g_fork.limit = limit;
	g_fork.exec_cmd = exec_cmd;
	p = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, PROG ": mmap: %s\n", strerror(errno));
		return -1;
	}
	g_fork.max_child_start_ns = p;
	atomic_store(g_fork.max_child_start_ns, 0);
	return 0;
}

/*
 * With --fork-count: one line on stderr with the figures of the forks, once
 * all were reaped (or at exit).
 */
void
fork_report(void)
{
	if (g_fork.reported || g_fork.forks == 0 || g_fork.limit == 0)
		return;
	g_fork.reported = true;
	fprintf(stderr, PROG ": forks: forks=%lld reaped=%lld failures=%d "
	    "execs=%lld max_fork_ms=%.3f max_child_start_ms=%.3f "
	    "max_child_life_ms=%.3f\n", g_fork.forks, g_fork.reaped,
	    g_child_failures, g_fork.execs,
	    (double)g_fork.max_fork_ns / 1e6,
	    (double)atomic_load(g_fork.max_child_start_ns) / 1e6,
	    (double)g_fork.max_life_ns / 1e6);
}


/*
 * The child: records a few scopes and checks that the library still works,
 * then leaves - through exit() for odd-numbered children (the atexit
 * handlers run: they must not remove the parent's socket), _exit() for the
 * others - or, every EXEC_EVERY-th child with --exec-child, runs the
 * command with /bin/sh -c (no descriptor of the agent may reach it).
 */
static void __attribute__((noreturn))
child_work(long long index, uint64_t fork_ns)
{
	pt_snapshot *snap = NULL;
	uint64_t h = (uint64_t)getpid();

	atomic_max(g_fork.max_child_start_ns, mono_ns() - fork_ns);
	for (int i = 0; i < 3; i++) {
		PT_SCOPE("fork.child_work");
		h = burn_ns(20 * NS_PER_US, h);
	}
	PT_INC("fork_child_scopes");
	g_sink += h;
	/* The library must still work in the child. */
	if (pt_snapshot_take(&snap) != 0 ||
	    pt_snapshot_find_op(snap, "fork.child_work") == NULL)
		_exit(3);
	pt_snapshot_free(snap);
	if (g_fork.exec_cmd != NULL && index % EXEC_EVERY == 0) {
		execl("/bin/sh", "sh", "-c", g_fork.exec_cmd, (char *)NULL);
		_exit(127);
	}
	if (CHILD_MAY_EXIT && index % 2 == 1)
		exit(0);
	_exit(0);
}

void
fork_child(void)
{
	PT_SCOPE("fork.spawn");
	uint64_t t0, took;
	pid_t pid;

	if (g_nchildren == MAX_CHILDREN)
		return;		/* the earlier ones are still running */
	if (g_fork.limit > 0 && g_fork.forks >= g_fork.limit)
		return;
	t0 = mono_ns();
	pid = fork();
	if (pid == -1) {
		fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
		g_child_failures++;
		return;
	}
	if (pid == 0)
		child_work(g_fork.forks, t0);	/* does not return */
	took = mono_ns() - t0;
	if (took > g_fork.max_fork_ns)
		g_fork.max_fork_ns = took;
	if (g_fork.exec_cmd != NULL && g_fork.forks % EXEC_EVERY == 0)
		g_fork.execs++;
	g_fork.forks++;
	g_children[g_nchildren].pid = pid;
	g_children[g_nchildren].started_ns = t0;
	g_nchildren++;
	PT_INC("forks");
}

/* Reaps finished children; kills those running for too long. */
void
reap_children(bool block)
{
	for (int i = 0; i < g_nchildren; ) {
		struct child *c = &g_children[i];
		int status;
		pid_t r;

		for (;;) {
			r = waitpid(c->pid, &status, WNOHANG);
			if (r != 0 || !block ||
			    mono_ns() - c->started_ns > CHILD_TIMEOUT_NS)
				break;
			sleep_ns(5 * NS_PER_MS);
		}
		if (r == 0 && mono_ns() - c->started_ns > CHILD_TIMEOUT_NS) {
			fprintf(stderr, PROG ": forked child %d did not exit "
			    "within %d s; killing it\n", (int)c->pid,
			    (int)(CHILD_TIMEOUT_NS / NS_PER_S));
			kill(c->pid, SIGKILL);
			r = waitpid(c->pid, &status, 0);
			status = 0;
			g_child_failures++;
		} else if (r > 0 &&
		    !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			if (WIFSIGNALED(status))
				fprintf(stderr, PROG ": forked child %d killed "
				    "by signal %d\n", (int)c->pid,
				    WTERMSIG(status));
			else
				fprintf(stderr, PROG ": forked child %d exited "
				    "with status %d\n", (int)c->pid,
				    WEXITSTATUS(status));
			g_child_failures++;
		}
		if (r > 0) {
			uint64_t life = mono_ns() - c->started_ns;

			if (life > g_fork.max_life_ns)
				g_fork.max_life_ns = life;
			g_fork.reaped++;
		}
		if (r != 0) {
			*c = g_children[--g_nchildren];
			continue;
		}
		i++;
	}
	/* --fork-count: all forked and reaped. */
	if (g_fork.limit > 0 && g_fork.forks >= g_fork.limit &&
	    g_nchildren == 0)
		fork_report();
}

/* ------------------------------------------------------------------------ */
/* Signal checks (--alarm-storm HZ, --count-sigpipe, --signal-report)        */
/* ------------------------------------------------------------------------ */

/*
 * The SIGALRM handler of the host counts the signals each thread received,
 * by gettid(), in a small open-addressing table (async-signal-safe: only
 * lock-free atomics).  At exit the report looks up the agent thread.
 */
#define TID_SLOTS	256

static _Atomic pid_t		g_alarm_tid[TID_SLOTS];
static _Atomic unsigned long	g_alarm_hits[TID_SLOTS];
static _Atomic unsigned long	g_alarm_unrecorded;	/* table full */
static _Atomic unsigned long	g_sigpipes;

static void
on_alarm(int sig)
{
	int saved = errno;
	pid_t tid = gettid(), cur;
	unsigned h = (unsigned)tid % TID_SLOTS, k;

	(void)sig;
	for (unsigned i = 0; i < TID_SLOTS; i++) {
		k = (h + i) % TID_SLOTS;
		cur = atomic_load(&g_alarm_tid[k]);
		if (cur == 0) {
			pid_t zero = 0;

			if (atomic_compare_exchange_strong(&g_alarm_tid[k],
			    &zero, tid))
				cur = tid;
			else
				cur = zero;
		}
		if (cur == tid) {
			atomic_fetch_add(&g_alarm_hits[k], 1);
			errno = saved;
			return;
		}
	}
	atomic_fetch_add(&g_alarm_unrecorded, 1);
	errno = saved;
}

static void
on_sigpipe(int sig)
{
	(void)sig;
	atomic_fetch_add(&g_sigpipes, 1);
}

int
start_alarm_storm(int hz)
{
	struct itimerval it;
	long us = 1000000L / hz;

	if (catch_signal(SIGALRM, on_alarm, SA_RESTART) == -1)
		return -1;
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_sec = us / 1000000L;
	it.it_interval.tv_usec = us % 1000000L;
	it.it_value = it.it_interval;
	return setitimer(ITIMER_REAL, &it, NULL);
}

void
stop_alarm_storm(void)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	/* A SIGALRM already pending is delivered by now. */
	sleep_ns(20 * NS_PER_MS);
}

/* The thread id of the agent thread (by its name), or 0. */
static pid_t
find_agent_tid(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[300], comm[64];
	pid_t tid = 0;
	FILE *f;

	if (d == NULL)
		return 0;
	while (tid == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
		    e->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL &&
		    strcmp(comm, "perftop-agent\n") == 0)
			tid = (pid_t)atoi(e->d_name);
		fclose(f);
	}
	closedir(d);
	return tid;
}

/* Reads the mask "field:" of /proc/self/task/TID/status; 0 when absent. */
static unsigned long long
task_sigmask(pid_t tid, const char *field)
{
	char path[64], line[256];
	unsigned long long mask = 0;
	size_t len = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/status",
	    (long)tid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, len) == 0)
			mask = strtoull(line + len, NULL, 16);
	fclose(f);
	return mask;
}

#define SIGBIT(s)	(1ULL << ((s) - 1))

/*
 * --signal-report, at exit while the agent still runs: one line on stderr
 * with key=value figures.  Returns -1 when a check failed: a SIGALRM of the
 * storm reached the agent thread, a signal is pending on the agent thread,
 * a SIGPIPE is pending for the process or was handled, or there is no
 * agent thread to check.
 */
int
signal_report(void)
{
	pid_t agent = find_agent_tid();
	unsigned long total = 0, on_agent = 0, pipes;
	unsigned long long blk = 0, pnd = 0, shd = 0;
	int threads = 0, bad = 0;

	for (int k = 0; k < TID_SLOTS; k++) {
		pid_t tid = atomic_load(&g_alarm_tid[k]);
		unsigned long n = atomic_load(&g_alarm_hits[k]);

		if (tid == 0)
			continue;
		threads++;
		total += n;
		if (tid == agent)
			on_agent += n;
	}
	total += atomic_load(&g_alarm_unrecorded);
	pipes = atomic_load(&g_sigpipes);
	if (agent != 0) {
		blk = task_sigmask(agent, "SigBlk:");
		pnd = task_sigmask(agent, "SigPnd:");
		shd = task_sigmask(agent, "ShdPnd:");
	}
	fprintf(stderr, PROG ": signals: agent_tid=%ld agent_sigblk=%016llx "
	    "agent_sigpnd=%016llx shdpnd=%016llx alarms=%lu alarm_threads=%d "
	    "alarms_on_agent=%lu sigpipes=%lu\n", (long)agent, blk, pnd, shd,
	    total, threads, on_agent, pipes);
	if (agent == 0) {
		fprintf(stderr, PROG ": no perftop-agent thread to check\n");
		bad = 1;
	}
	if (on_agent > 0) {
		fprintf(stderr, PROG ": %lu SIGALRM delivered to the agent "
		    "thread\n", on_agent);
		bad = 1;
	}
	if (pnd != 0) {
		fprintf(stderr, PROG ": signals pending on the agent thread: "
		    "%016llx\n", pnd);
		bad = 1;
	}
	if ((shd & SIGBIT(SIGPIPE)) != 0 || pipes > 0) {
		fprintf(stderr, PROG ": SIGPIPE raised in the process\n");
		bad = 1;
	}
	return bad ? -1 : 0;
}


/*
 * --daemonize: the parent prints the child's PID and leaves with _exit(0),
 * as many daemons do (no atexit handler runs: its socket stays behind,
 * stale); the child carries on in a new session.  A forked child serves
 * statistics only if it calls pt_agent_start() (MODE serve).
 */
void
daemonize(int mode)
{
	pid_t pid;
	int rc;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == -1) {
		fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		printf("%ld\n", (long)pid);
		_exit(fflush(stdout) == 0 ? 0 : 1);
	}
	(void)setsid();
	if (mode == DAEMON_SERVE) {
		rc = pt_agent_start();
		if (rc < 0 && rc != PT_EDISABLED)
			fprintf(stderr, PROG ": daemon child: cannot serve "
			    "statistics to perftop: %s\n", pt_strerror(rc));
	}
}

/* ------------------------------------------------------------------------ */
/* The heap in use, on SIGUSR1 (--heap-on-usr1)                              */
/* ------------------------------------------------------------------------ */

static atomic_int g_heap_wanted;	/* SIGUSR1 came */

static void
on_usr1(int sig)
{
	(void)sig;
	atomic_store(&g_heap_wanted, 1);
}

/* Whether SIGUSR1 came since the last call. */
bool
heap_wanted(void)
{
	return atomic_exchange(&g_heap_wanted, 0) != 0;
}

/* Whether --fork-count children were forked. */
bool
fork_limit_reached(void)
{
	return g_fork.limit > 0 && g_fork.forks >= g_fork.limit;
}

/* Forked children not reaped yet. */
int
children_running(void)
{
	return g_nchildren;
}

/* Children that failed (a bad exit status, a signal, too long a life). */
int
child_failures(void)
{
	return g_child_failures;
}

/* Runs fn on signal sig (with flags, e.g. SA_RESTART); 0 or -1. */
int
catch_signal(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

void
install_usr1(void)
{
	catch_signal(SIGUSR1, on_usr1, SA_RESTART);
}

/* --heap-on-usr1: the heap in use now, between snapshots (for the soak). */
void
heap_report(void)
{
	pt_memory m;

	if (pt_memory_read(&m) == 0)
		fprintf(stderr, PROG ": heap: in_use=%llu rss=%llu\n",
		    (unsigned long long)m.heap_bytes,
		    (unsigned long long)m.rss_bytes);
	else
		fprintf(stderr, PROG ": heap: cannot read the memory use\n");
}

void
install_sigpipe_counter(void)
{
	catch_signal(SIGPIPE, on_sigpipe, SA_RESTART);
}
