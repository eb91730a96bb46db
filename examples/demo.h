/*
 * demo.h - what the two files of perftop-demo share: the workload
 * (perftop-demo.c) and the behaviours of a host that the tests need
 * (demo-host.c: forked children, signal storms and checks, a daemon, heap
 * reports).
 */
#ifndef PT_DEMO_H
#define PT_DEMO_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define PROG "perftop-demo"

#define NS_PER_US	1000ULL
#define NS_PER_MS	1000000ULL
#define NS_PER_S	1000000000ULL
#define MIB		(1024UL * 1024UL)

enum daemon_mode {
	DAEMON_NO = 0,
	DAEMON_SERVE,		/* the child calls pt_agent_start() */
	DAEMON_SILENT,		/* the child does not serve */
};

/* Keeps results alive so that the compiler cannot drop the work. */
extern volatile uint64_t g_sink;

bool	 stopping(void);		/* SIGINT or SIGTERM came */
uint64_t clock_ns(clockid_t clk);
uint64_t mono_ns(void);
void	 sleep_ns(uint64_t ns);		/* cut short when stopping */
uint64_t burn_ns(uint64_t ns, uint64_t seed);	/* CPU work, about ns */

/*
 * LeakSanitizer's check at exit() cannot work in a forked child of a
 * multi-threaded process (the parent's other threads are gone, their
 * stacks unscanned: false leaks); the children of a sanitized build leave
 * with _exit() only.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_MAY_EXIT	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHILD_MAY_EXIT	0
#endif
#endif
#ifndef CHILD_MAY_EXIT
#define CHILD_MAY_EXIT	1
#endif

/* demo-host.c: runs fn on signal sig (flags: SA_RESTART or 0); 0 or -1. */
int	 catch_signal(int sig, void (*fn)(int), int flags);

/* demo-host.c: --fork-every, --fork-count, --exec-child. */
int	 fork_stats_init(long long limit, const char *exec_cmd);
void	 fork_child(void);
void	 reap_children(bool block);
void	 fork_report(void);
bool	 fork_limit_reached(void);
int	 children_running(void);
int	 child_failures(void);

/* demo-host.c: --alarm-storm, --count-sigpipe, --signal-report. */
int	 start_alarm_storm(int hz);
void	 stop_alarm_storm(void);
int	 signal_report(void);
void	 install_sigpipe_counter(void);

/* demo-host.c: --daemonize, --heap-on-usr1. */
void	 daemonize(int mode);
void	 install_usr1(void);
bool	 heap_wanted(void);
void	 heap_report(void);

#endif /* PT_DEMO_H */
