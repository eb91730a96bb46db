/*
 * agent-bench.h - what the files of pt-agent-bench share: the options, the
 * helpers (agent-bench.c) and the two parts (agent-bench-work.c,
 * agent-bench-bytes.c).
 */
#ifndef PT_AGENT_BENCH_H
#define PT_AGENT_BENCH_H

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

/* Options (agent-bench.c). */
extern int	g_quick;
extern int	g_verbose;
extern int	g_reps;			/* snapshots per work figure (>= 20) */
extern int	g_events_per_slot;
extern int	g_intervals;		/* snapshots per bytes figure */
extern double	g_busy_rate;		/* events/s of the busy threads */
extern int	g_busy_gap_ms;		/* between the busy snapshots */
extern int	g_busy_reps;		/* busy snapshots (0: g_reps) */

/* ------------------------------------------------------------------------ */
/* agent-bench.c: helpers                                                    */
/* ------------------------------------------------------------------------ */

uint64_t clock_of(clockid_t clk);
uint64_t now_ns(void);
uint64_t cpu_ns(void);			/* CPU time of the calling thread */
void	 sleep_ns(uint64_t ns);
void	 die(const char *what, const char *why) __attribute__((noreturn));
void	 check(const char *what, int rc);	/* dies when rc < 0 */
void	*xcalloc(size_t n, size_t size);	/* dies when out of memory */
/* A figure line "name: value" on stdout. */
void	 figure(const char *name, const char *fmt, double v);
/* A "# ..." comment line on stdout. */
void	 comment(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double	 median(double *v, int n);	/* sorts v */

struct rng {
	uint64_t	s;
};

void	 rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
double	 rng_unit(struct rng *r);	/* uniform in (0, 1] */
double	 rng_normal(struct rng *r);
/* A log-normal duration: median median_ns, shape sigma. */
uint64_t lognormal_ns(struct rng *r, double median_ns, double sigma);
/* Waits until the library's tick rate is settled. */
void	 wait_settled(void);
/* n sites named prefix.NNNN, registered; never freed. */
pt_site	*make_sites(const char *prefix, int n);
/* The thread id of the thread called name in process pid, or -1. */
pid_t	 find_thread(pid_t pid, const char *name);
/* CPU time of thread tid of this process, in ns (schedstat), or 0. */
uint64_t thread_cpu_ns(pid_t tid);
/*
 * A viewer of this process's own agent, run on a thread of its own
 * (own_viewer_main()): subscribes at interval_ms and measures the agent
 * thread's CPU time over n snapshots after the first.  phase is 0 until
 * the first snapshot arrived, 1 while measuring, 2 once done.
 */
struct own_viewer {
	int		 n;
	int		 interval_ms;
	atomic_int	 phase;
	double		 cpu_us;	/* the agent's CPU per snapshot */
	double		 wall_s;	/* the measured time */
	int		 ok;
};
void	*own_viewer_main(void *arg);
/* A comment line: whether figure name met its target. */
void	 target_line(const char *name, double v, double target,
	    const char *unit, int upper);

/* ------------------------------------------------------------------------ */
/* The parts                                                                 */
/* ------------------------------------------------------------------------ */

/* agent-bench-work.c: agent work per snapshot, 1,000 ops x 8 threads. */
void	 part_snapshot(void);
/* agent-bench-bytes.c: bytes per changed operation. */
void	 part_bytes(void);
/* agent-bench-heap.c: a viewer at 10 Hz in a large, fragmented heap. */
void	 part_heap(void);
/* agent-bench-threads.c: threads starting and exiting during snapshots. */
void	 part_threads(void);
/* agent-bench-bytes.c: --watch PID (the live agent's bytes). */
int	 watch_main(pid_t pid, int interval_ms, int count);

#endif /* PT_AGENT_BENCH_H */
