/*
 * perftop.h - the public API of libperftop.
 *
 * libperftop times the operations of a program and counts its events in
 * constant memory, and serves the statistics to the perftop viewer over a
 * Unix-domain socket.  This is the only installed header.
 *
 * Conventions:
 *  - Functions returning int return 0 (or a count) on success and a negative
 *    PT_E* code on failure; pt_strerror() turns a code into text.
 *  - The library never exits, never prints unless asked to, never installs
 *    signal handlers and never changes the umask.
 *  - Defining PT_DISABLE before including this header compiles every
 *    instrumentation macro (PT_SCOPE, PT_FUNC, PT_COUNT, ...) out to nothing.
 *
 * Thread safety: every function may be called from any thread at any time,
 * including before anything was initialised and in a child after fork().
 */
#ifndef PERFTOP_H
#define PERFTOP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PT_BUILDING_LIBRARY)
#define PT_API __attribute__((visibility("default")))
#else
#define PT_API
#endif

/* ------------------------------------------------------------------------ */
/* Version and errors                                                        */
/* ------------------------------------------------------------------------ */

#define PT_VERSION_MAJOR 0
#define PT_VERSION_MINOR 1
#define PT_VERSION_PATCH 0

/* Returns the library version as a static string, for example "0.1.0". */
PT_API const char *pt_version(void);

#define PT_EINVAL	(-1)	/* invalid argument (empty name, bad UTF-8, NULL) */
#define PT_ENAMETOOLONG	(-2)	/* name longer than PT_NAME_MAX bytes */
#define PT_ENOMEM	(-3)	/* out of memory */
#define PT_ELIMIT	(-4)	/* too many call sites (PT_SITES_MAX) */
#define PT_ESYS		(-5)	/* a system call failed; errno tells why */
#define PT_EPROTO	(-6)	/* malformed or unexpected protocol data */
#define PT_EVERSION	(-7)	/* peer speaks another protocol version */
#define PT_ENOENT	(-8)	/* no such process or no instrumented process */
#define PT_EPERM	(-9)	/* permission refused (peer uid, unsafe directory) */
#define PT_ECLOSED	(-10)	/* the peer closed the connection */
#define PT_ETIMEDOUT	(-11)	/* the peer did not answer in time */
#define PT_EDISABLED	(-12)	/* switched off (for example PERFTOP_AGENT=0) */
#define PT_EBUSY	(-13)	/* already running or in use */
#define PT_ERANGE	(-14)	/* value out of range */

/*
 * Returns a static, human-readable description of the PT_E* code err (or of
 * 0, "success").  Never returns NULL.
 */
PT_API const char *pt_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Call sites                                                                */
/* ------------------------------------------------------------------------ */

/* Longest accepted operation or counter name, in bytes, without the NUL. */
#define PT_NAME_MAX	127
/* Most distinct operation names, and separately most counter names. */
#define PT_SITES_MAX	65536

#define PT_KIND_OP	1	/* a timed operation */
#define PT_KIND_COUNTER	2	/* a 64-bit counter */

/*
 * A call site: a static descriptor with a name.  Declare one per place in the
 * code (the macros below do it for you) and never free it.  The name must stay
 * valid for the life of the program (a string literal or __func__).  Sites of
 * one kind with the same name share their statistics; operations and counters
 * are separate namespaces, so an operation "x" and a counter "x" never mix.
 *
 * pt_id is the library's: 0 until first use, then the slot index + 1, or a
 * negative PT_E* code when the name was refused (the site then records
 * nothing and costs one compare).
 */
typedef struct pt_site {
	const char	*pt_name;
	int32_t		 pt_kind;
	int32_t		 pt_id;
} pt_site;

#define PT_SITE_INIT(name, kind)	{ (name), (kind), 0 }

/*
 * Registers site now instead of at first use.  Returns its id (> 0) or a
 * negative PT_E* code: PT_EINVAL for a NULL, empty, non-UTF-8 or control
 * character name, PT_ENAMETOOLONG, PT_ELIMIT, PT_ENOMEM.  Registration (at
 * first use or here) takes a lock of its own, held for a name lookup and
 * insertion: it may wait for another thread registering, never for a
 * snapshot or a reset in progress.
 */
PT_API int pt_site_register(pt_site *site);

/* ------------------------------------------------------------------------ */
/* Timing operations                                                         */
/* ------------------------------------------------------------------------ */

/*
 * A running scope: returned by pt_scope_begin(), ended by pt_scope_end().
 * Plain data; no cleanup is needed if it is abandoned.
 */
typedef struct pt_scope {
	pt_site		*pt_site;
	uint64_t	 pt_start;	/* clock ticks at begin */
} pt_scope;

/* The library's clock mode, read by the inline pt_scope_begin(): 1 when
 * ticks are the CPU's invariant TSC.  Not for direct use. */
PT_API extern int pt__tsc;
/* The out-of-line pt_scope_begin(), for other clocks and first use. */
PT_API pt_scope pt__scope_begin(pt_site *site);

/*
 * Starts timing one event of site: reads the clock, nothing else (the site
 * is registered when the scope ends).  Never fails.  Inline for C callers;
 * the library also exports it for bindings that cannot inline.
 */
#if defined(PT_BUILDING_LIBRARY)
PT_API pt_scope pt_scope_begin(pt_site *site);
#else
static inline pt_scope
pt_scope_begin(pt_site *site)
{
#if defined(__x86_64__) || defined(__i386__)
	if (__builtin_expect(pt__tsc, 1)) {
		pt_scope sc = { site, __builtin_ia32_rdtsc() };
		return sc;
	}
#endif
	return pt__scope_begin(site);
}
#endif

/*
 * Ends the scope: records the time since pt_scope_begin() as one event of
 * its site in the calling thread's statistics, registering the site on
 * first use.  A scope of a refused site (see pt_site_register) records
 * nothing.  Has the signature the cleanup attribute wants.
 */
PT_API void pt_scope_end(pt_scope *scope);

/*
 * Ends the scope like pt_scope_end() and adds 1 to counter in the same call
 * (the timed-and-counted form, for training steps and games played).
 */
PT_API void pt_scope_end_count(pt_scope *scope, pt_site *counter);

/*
 * Records one event of site lasting ns nanoseconds, measured by the caller.
 * Returns 0 or a negative PT_E* code (refused site, out of memory).
 */
PT_API int pt_record_ns(pt_site *site, uint64_t ns);

/* ------------------------------------------------------------------------ */
/* Counters                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Adds n (which may be negative) to counter site.  Counters are 64-bit and
 * sharded per thread; the value is summed when a snapshot is taken.
 */
PT_API void pt_counter_add(pt_site *site, int64_t n);

/* ------------------------------------------------------------------------ */
/* Instrumentation macros (compiled out by PT_DISABLE)                        */
/* ------------------------------------------------------------------------ */

#define PT__CAT2(a, b)	a##b
#define PT__CAT(a, b)	PT__CAT2(a, b)
#define PT__UNIQ(p)	PT__CAT(p, __COUNTER__)

#ifndef PT_DISABLE

/* Times the rest of the enclosing block as one event of operation name. */
#define PT_SCOPE(name)	PT__SCOPE(name, PT__UNIQ(pt__scope_))
#define PT__SCOPE(name, v)						\
	static pt_site PT__CAT(v, _site) = PT_SITE_INIT(name, PT_KIND_OP); \
	pt_scope v __attribute__((cleanup(pt_scope_end), unused)) =	\
	    pt_scope_begin(&PT__CAT(v, _site))

/* Times the rest of the enclosing function, named after the function. */
#define PT_FUNC()	PT_SCOPE(__func__)

/*
 * Times the rest of the block as operation name and, when it ends, adds 1 to
 * counter cname (the old helper's step and operation decorators).
 */
#define PT_SCOPE_COUNT(name, cname)					\
	PT__SCOPE_COUNT(name, cname, PT__UNIQ(pt__cscope_))
#define PT__SCOPE_COUNT(name, cname, v)					\
	static pt_site PT__CAT(v, _site) = PT_SITE_INIT(name, PT_KIND_OP); \
	static pt_site PT__CAT(v, _csite) =				\
	    PT_SITE_INIT(cname, PT_KIND_COUNTER);			\
	struct pt__counted v __attribute__((cleanup(pt__counted_end), unused)) = \
	    { pt_scope_begin(&PT__CAT(v, _site)), &PT__CAT(v, _csite) }

/* Explicit begin and end, for code where a block does not fit. */
#define PT_BEGIN(var, name)						\
	static pt_site PT__CAT(pt__site_, var) = PT_SITE_INIT(name, PT_KIND_OP); \
	pt_scope var = pt_scope_begin(&PT__CAT(pt__site_, var))
#define PT_END(var)	pt_scope_end(&(var))

/* Adds n to counter name; PT_INC adds 1. */
#define PT_COUNT(name, n) do {						\
	static pt_site pt__csite = PT_SITE_INIT(name, PT_KIND_COUNTER);	\
	pt_counter_add(&pt__csite, (n));				\
} while (0)
#define PT_INC(name)	PT_COUNT(name, 1)

#else /* PT_DISABLE: every macro is a no-op that still "uses" its arguments */

#define PT__OFF()	typedef int PT__UNIQ(pt__off_) __attribute__((unused))
#define PT_SCOPE(name)			PT__OFF()
#define PT_FUNC()			PT__OFF()
#define PT_SCOPE_COUNT(name, cname)	PT__OFF()
#define PT_BEGIN(var, name)		PT__OFF()
#define PT_END(var)			((void)0)
#define PT_COUNT(name, n)		((void)sizeof(n))
#define PT_INC(name)			((void)0)

#endif /* PT_DISABLE */

/* Used by PT_SCOPE_COUNT; not for direct use. */
struct pt__counted {
	pt_scope	 scope;
	pt_site		*counter;
};
static inline void
pt__counted_end(struct pt__counted *c)
{
	pt_scope_end_count(&c->scope, c->counter);
}

/* ------------------------------------------------------------------------ */
/* Memory readings                                                           */
/* ------------------------------------------------------------------------ */

typedef struct pt_memory {
	uint64_t	rss_bytes;	/* resident set size now (VmRSS) */
	uint64_t	peak_rss_bytes;	/* highest resident set size (VmHWM) */
	uint64_t	heap_bytes;	/* bytes allocated through malloc, in use */
} pt_memory;

/*
 * Fills *mem with the process's memory readings.  Reads /proc and asks the
 * allocator; starts no tracing and changes nothing.  Returns 0 or PT_ESYS
 * (fields that could not be read are 0).
 *
 * The allocator's figure (glibc's mallinfo2()) walks the free chunks of
 * every malloc arena with the arena locked: in a large, fragmented heap
 * that takes long (about 57 ms for 350,000 free chunks), and the program's
 * own malloc() and free() calls wait meanwhile.  This function reads it at
 * every call.  The snapshots the agent streams read it again only when
 * their last reading is 100 ms old and 1,000 times as old as that reading
 * took (RSS at every snapshot), so the agent spends at most 0.1 % of its
 * time there and holds the arenas at most 0.1 % of the time; in such a
 * heap the figure is then up to a minute old.  With the environment
 * variable PERFTOP_HEAP set to "0" or "off" the library never calls it,
 * and heap_bytes is 0.
 */
PT_API int pt_memory_read(pt_memory *mem);

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Histogram layout.  Durations are kept in clock ticks in a log-linear
 * histogram: values below 64 ticks have a bucket each, and every power of two
 * above is split into 64 equal buckets, so a bucket is at most 1/64 of its
 * lower bound wide and a percentile read at the middle of its bucket is
 * within 0.79 % of the true value.  Durations of 2^36 ticks and more (about
 * 26 s at 2.6 GHz) share the last bucket; their count, total, min and max
 * stay exact.
 */
#define PT_HIST_SUB_BITS	6
#define PT_HIST_BUCKETS		1984

/* One non-empty histogram bucket of an operation. */
typedef struct pt_bucket {
	uint32_t	index;		/* 0 .. PT_HIST_BUCKETS - 1 */
	uint64_t	count;
} pt_bucket;

/* Statistics of one operation.  Durations in nanoseconds. */
typedef struct pt_op_stats {
	const char	*name;		/* owned by the snapshot */
	uint32_t	 id;		/* the site id, stable for the process */
	uint64_t	 count;
	uint64_t	 total_ns;
	uint64_t	 min_ns;	/* 0 when count is 0 */
	uint64_t	 max_ns;
	double		 mean_ns;
	uint64_t	 p50_ns, p90_ns, p99_ns, p999_ns;
	size_t		 n_buckets;	/* non-empty buckets, ascending index */
	pt_bucket	*buckets;	/* owned by the snapshot */
} pt_op_stats;

/* Value of one counter. */
typedef struct pt_counter_stats {
	const char	*name;		/* owned by the snapshot */
	uint32_t	 id;
	int64_t		 value;
} pt_counter_stats;

/*
 * A snapshot: the statistics since the last reset, operations and counters
 * in separate arrays, each in ascending id order.  Made by pt_snapshot_take()
 * (or by the perftop client from the wire) and freed by pt_snapshot_free().
 */
typedef struct pt_snapshot {
	int32_t		 pid;
	char		 process[64];	/* the process name (comm) */
	uint64_t	 time_ns;	/* wall clock (CLOCK_REALTIME) when taken */
	uint64_t	 uptime_ns;	/* since the library started */
	uint64_t	 since_reset_ns; /* since the last reset (or start) */
	uint64_t	 reset_epoch;	/* 0 at start, +1 at every reset */
	double		 tick_ns;	/* nanoseconds per histogram tick */
	pt_memory	 memory;
	size_t		 n_ops;
	pt_op_stats	*ops;
	size_t		 n_counters;
	pt_counter_stats *counters;
	/* The library's bookkeeping of how the snapshot holds its names and
	 * buckets; 0 (calloc) in a snapshot you build yourself. */
	uint32_t	 pt_internal;
} pt_snapshot;

/*
 * Takes a snapshot of every operation and counter since the last reset.
 * Costs O(operations x threads), never O(events); takes no lock the hot path
 * takes.  On success stores a new snapshot in *out (free it with
 * pt_snapshot_free()) and returns 0; otherwise returns PT_ENOMEM or PT_EINVAL.
 */
PT_API int pt_snapshot_take(pt_snapshot **out);

/* Frees a snapshot and everything it owns.  NULL is allowed. */
PT_API void pt_snapshot_free(pt_snapshot *snap);

/*
 * Makes *out = after - before: counts, totals, histograms and counters
 * recorded between the two snapshots of the same process.  Operations are
 * matched by name; min and max of the difference are read from its
 * histogram (within the histogram error, clamped to after's min and max).
 * If the epochs differ (a reset in between), *out is a copy of after.
 * Returns 0, PT_ENOMEM or PT_EINVAL.  The caller frees *out.
 */
PT_API int pt_snapshot_diff(const pt_snapshot *before,
    const pt_snapshot *after, pt_snapshot **out);

/*
 * Returns the q-quantile (0 <= q <= 1) in nanoseconds of a histogram of
 * n_buckets buckets holding count events with tick_ns nanoseconds per tick,
 * clamped to [min_ns, max_ns] when max_ns > 0.  Returns 0 when count is 0.
 */
PT_API uint64_t pt_hist_quantile(const pt_bucket *buckets, size_t n_buckets,
    uint64_t count, double tick_ns, double q, uint64_t min_ns,
    uint64_t max_ns);

/*
 * Recomputes mean and p50/p90/p99/p99.9 of op from its buckets, count and
 * total, using tick_ns nanoseconds per tick.
 */
PT_API void pt_op_stats_finish(pt_op_stats *op, double tick_ns);

/*
 * Finds the operation or counter called name in snap; NULL when absent.  The
 * result points into snap.
 */
PT_API const pt_op_stats *pt_snapshot_find_op(const pt_snapshot *snap,
    const char *name);
PT_API const pt_counter_stats *pt_snapshot_find_counter(
    const pt_snapshot *snap, const char *name);

/*
 * Writes a human-readable table of snap to f: operations (count, total, avg,
 * min, max, p50, p99, share of time) and counters, in separate sections.
 * Returns 0 or PT_ESYS if writing failed.
 */
PT_API int pt_summary_write(FILE *f, const pt_snapshot *snap);

/* Takes a snapshot and writes its summary to f (the old print_summary). */
PT_API int pt_summary_print(FILE *f);

/* ------------------------------------------------------------------------ */
/* Reset and profiling one call                                              */
/* ------------------------------------------------------------------------ */

/*
 * Resets every statistic: counts start at 0, min/max/percentiles reflect
 * only events recorded afterwards, and the reset epoch goes up by one.  An
 * event recorded concurrently lands on exactly one side of the reset in the
 * count and the histogram (the count is the sum of the buckets); its
 * duration in total_ns may land on the other side (at most one event per
 * thread recording at that instant), and it may be missing from min/max.
 * Likewise a snapshot taken while threads record may see, per thread, one
 * event's duration in total_ns whose bucket it does not see yet.
 * Returns 0.
 */
PT_API int pt_reset(void);

/*
 * Calls fn(arg) and stores in *out a snapshot of only what was recorded
 * while it ran (by every thread).  Returns 0, or PT_ENOMEM, PT_EINVAL, or
 * PT_EBUSY if the statistics were reset during the call.  The caller frees
 * *out.
 */
PT_API int pt_profile_call(void (*fn)(void *), void *arg, pt_snapshot **out);

/* ------------------------------------------------------------------------ */
/* The agent (serving statistics to perftop)                                 */
/* ------------------------------------------------------------------------ */

/*
 * The agent is a thread in this process that serves snapshots on
 * $XDG_RUNTIME_DIR/perftop/PID.sock (or /tmp/perftop-UID/PID.sock, or
 * $PERFTOP_SOCKET_DIR/PID.sock).  It starts by itself the first time any
 * call site is used, unless the environment variable PERFTOP_AGENT is "0" or
 * "off".  pt_agent_start() starts it explicitly; it returns 0 (also when it
 * was running already), PT_EDISABLED, PT_EPERM for an unsafe socket
 * directory, or PT_ESYS.
 */
PT_API int pt_agent_start(void);

/*
 * Stops the agent, closes its viewers and removes its socket.  Returns 0.
 */
PT_API int pt_agent_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* PERFTOP_H */
