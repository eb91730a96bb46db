/*
 * demo.h - what the files of perftop-demo share: the main program and
 * its options (perftop-demo.c), the workload (demo-work.c: CPU work and
 * pacing; demo-train.c: the training loop; demo-game.c: the game workers)
 * and the behaviours of a host that the tests need (demo-host.c: forked
 * children, signal storms and checks, a daemon, heap reports).
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

/* ------------------------------------------------------------------------ */
/* Random numbers and hashing (inline: every part of the workload uses them) */
/* ------------------------------------------------------------------------ */


struct rng {
	uint64_t	s;
};

static inline uint64_t
rng_next(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static inline uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)((rng_next(r) >> 32) % n);
}

/* Uniform in [0, 1). */
static inline double
rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static inline void
rng_seed(struct rng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
	if (r->s == 0)
		r->s = 1;
	for (int i = 0; i < 4; i++)
		(void)rng_next(r);
}

static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xFF51AFD7ED558CCDULL;
	x ^= x >> 33;
	x *= 0xC4CEB9FE1A85EC53ULL;
	x ^= x >> 33;
	return x;
}

/* FNV-1a over a byte buffer. */
static inline uint64_t
hash_bytes(const void *buf, size_t len, uint64_t h)
{
	const unsigned char *p = buf;

	if (h == 0)
		h = 0xCBF29CE484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001B3ULL;
	}
	return h;
}

/* ------------------------------------------------------------------------ */
/* demo-work.c: CPU work and pacing                                          */
/* ------------------------------------------------------------------------ */

/* Fraction of one CPU each worker thread may use (set by main()). */
extern double g_cpu_share;
/* Measures what a unit of CPU work costs here; before any burn_ns(). */
void	 calibrate_burn(void);

/* Sleeps a thread between its steps so it uses about g_cpu_share of a core. */
struct pacer {
	double		ratio;		/* sleep per CPU nanosecond used */
	uint64_t	cpu_mark;
	int64_t		debt_ns;	/* sleep owed; may go a bit negative */
};

void	 pacer_init(struct pacer *p);
/* Called between steps: sleeps off the debt once it is worth a nanosleep. */
void	 pacer_pace(struct pacer *p);

/* ------------------------------------------------------------------------ */
/* demo-train.c: the training loop                                           */
/* ------------------------------------------------------------------------ */

/* --no-replay: the replay buffer stays empty (a flat memory profile). */
extern bool g_no_replay;

struct trainer;
struct trainer	*trainer_new(void);		/* NULL: out of memory */
void		*trainer_main(void *trainer);	/* the thread */
void		 trainer_free(struct trainer *t);

/* ------------------------------------------------------------------------ */
/* demo-game.c: the game workers                                             */
/* ------------------------------------------------------------------------ */

struct game_worker;
struct game_worker *game_worker_new(int index);	/* NULL: out of memory */
void		*game_main(void *worker);	/* the thread */
void		 game_worker_free(struct game_worker *w);

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
