/*
 * core.h - internal declarations of the monitor core, a section per file.
 *
 * Names here are pt__ (internal, hidden by -fvisibility=hidden).  Nothing in
 * this header is installed.
 */
#ifndef PT_CORE_H
#define PT_CORE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* gettid, mallinfo2, MSG_NOSIGNAL, ... */
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <bsd/sys/queue.h>

#include "perftop.h"

/* AddressSanitizer builds (gcc says so one way, clang another). */
#if defined(__SANITIZE_ADDRESS__)
#define PT__ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PT__ASAN	1
#endif
#endif

#define PT__CACHELINE	64
#define PT__LIKELY(x)	__builtin_expect(!!(x), 1)
#define PT__UNLIKELY(x)	__builtin_expect(!!(x), 0)

/* Relaxed single-writer updates: plain instructions, but race-free in C11. */
#define PT__LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define PT__STORE(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define PT__BUMP(p, v)		PT__STORE((p), PT__LOAD(p) + (v))

/* ------------------------------------------------------------------------ */
/* clock.c                                                                   */
/* ------------------------------------------------------------------------ */

/* Read-mostly state shared by every thread; written only at init and reset. */
struct pt__global {
	int		tsc;		/* ticks come from rdtsc */
	uint64_t	epoch;		/* reset epoch, read by the hot path */
} __attribute__((aligned(PT__CACHELINE)));
extern struct pt__global pt__g;

void		pt__clock_init(void);
uint64_t	pt__clock_ticks_slow(void);
/* Nanoseconds per tick, refined on every call (off the hot path). */
double		pt__clock_tick_ns(void);
/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
uint64_t	pt__mono_ns(void);
uint64_t	pt__real_ns(void);

static inline uint64_t
pt__clock_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (PT__LIKELY(pt__g.tsc))
		return __builtin_ia32_rdtsc();
#endif
	return pt__clock_ticks_slow();
}

/* ------------------------------------------------------------------------ */
/* hist.c                                                                    */
/* ------------------------------------------------------------------------ */

#define PT__HIST_SUB		(1u << PT_HIST_SUB_BITS)	/* 64 */
#define PT__HIST_MAX_EXP	35	/* highest power of two with buckets */

/* Bucket index of a duration in ticks. */
static inline uint32_t
pt__hist_index(uint64_t v)
{
	uint32_t e, idx;

	if (v < PT__HIST_SUB)
		return (uint32_t)v;
	e = 63 - (uint32_t)__builtin_clzll(v);
	if (PT__UNLIKELY(e > PT__HIST_MAX_EXP))
		return PT_HIST_BUCKETS - 1;
	idx = (e - PT_HIST_SUB_BITS + 1) * PT__HIST_SUB +
	    (uint32_t)((v >> (e - PT_HIST_SUB_BITS)) & (PT__HIST_SUB - 1));
	return idx;
}

/* Lowest and highest tick value of bucket idx (inclusive). */
void		pt__hist_bounds(uint32_t idx, uint64_t *lo, uint64_t *hi);
/* The value reported for a bucket: its middle. */
double		pt__hist_mid(uint32_t idx);

/* ------------------------------------------------------------------------ */
/* site.c                                                                    */
/* ------------------------------------------------------------------------ */

/* A registered name: one per distinct (kind, name). */
struct pt__name {
	char		*name;
	int32_t		 kind;
	uint32_t	 id;
};

extern pthread_mutex_t pt__lock;	/* threads, reset, snapshot (not the
					   registry: site.c has its own) */

void		pt__init(void);
int		pt__site_resolve(pt_site *site);
/* Number of registered ids of kind (ids are 1 .. n). */
uint32_t	pt__site_count(int32_t kind);
/* Name of a registered id (NULL: none); no lock needed. */
const char	*pt__site_name(int32_t kind, uint32_t id);
/* Checks a name: 0, PT_EINVAL or PT_ENAMETOOLONG. */
int		pt__name_check(const char *name);

/* ------------------------------------------------------------------------ */
/* thread.c                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Statistics of one operation in one thread.  Single writer.  There is no
 * count field: the count is the sum of the buckets, so the two always agree,
 * and each bucket on its own is exact across a reset.  total holds the ticks
 * plus one per event, so it grows with every event, even one of zero ticks;
 * the ticks are total minus the count.
 *
 * The journal tells a reader what changed without reading the buckets: jn
 * counts the events recorded, and jr[n % PT__JOURNAL] holds the bucket of
 * event n (PT__JR_BATCH for a batch of several identical events, which
 * readers do not replay).  A reader that saw jn = a and now sees b with
 * b - a < PT__JOURNAL replays events a .. b - 1 from jr and checks jn again
 * afterwards (an entry may have been overwritten meanwhile); otherwise it
 * reads the buckets.  The agent's incremental snapshots rely on it: 32
 * entries cover a slot recording up to ~250 events a second for a viewer at
 * 10 Hz, at the price of one more cache line per slot.
 *
 * The writer stores the bucket and min/max, then the journal entry, then
 * jn, then the total (each a release), so a reader that loads jn (acquire)
 * sees the buckets and min/max of every event it counts, and one that
 * loads the total first never finds in it an event the buckets lack.  The
 * total and jn may disagree by an event under way: readers recompute what
 * they derive from them at every refresh.
 */
#define PT__JOURNAL		32
#define PT__JR_BATCH		0xffffu

struct pt__op_slot {
	uint64_t	total;		/* ticks + events */
	uint64_t	min;		/* ticks, valid when mm_epoch is current */
	uint64_t	max;
	uint64_t	mm_epoch;	/* epoch min/max belong to, + 1 (0: none) */
	uint64_t	groups;		/* bit g: a bucket of group g was used */
	uint64_t	jn;		/* events recorded */
	/* bucket of event n at n % PT__JOURNAL, a cache line of its own */
	uint16_t	jr[PT__JOURNAL] __attribute__((aligned(PT__CACHELINE)));
} __attribute__((aligned(PT__CACHELINE)));

/*
 * The slot's figures and journal take two cache lines, and the slots of a
 * thread lie side by side in its record (struct pt__thread), apart from
 * their buckets (its hist[id]): a snapshot reads the two lines of each changed slot, and
 * a thousand slots 16 KiB apart (each with its buckets) cost a thousand
 * pages' translations, and no help from the hardware prefetcher.
 */
_Static_assert(sizeof(struct pt__op_slot) == 2 * PT__CACHELINE,
    "the slot's figures and journal take two cache lines");

#define PT__GROUP_BITS		6
#define PT__GROUP_SUB		(1u << PT__GROUP_BITS)	/* a uint64_t's bits */
_Static_assert(PT__GROUP_SUB == 64, "a group's buckets fit a uint64_t mask");
#define PT__GROUPS		(PT_HIST_BUCKETS >> PT__GROUP_BITS)	/* 31 */

#define PT__CTR_CHUNK_BITS	9
#define PT__CTR_CHUNK		(1u << PT__CTR_CHUNK_BITS)
#define PT__CTR_CHUNKS		(PT_SITES_MAX / PT__CTR_CHUNK + 1)

struct pt__ctr_chunk {
	int64_t		 value[PT__CTR_CHUNK];
} __attribute__((aligned(PT__CACHELINE)));

/*
 * Everything one thread records, reached through a thread-local pointer.
 * The record is mapped, not allocated: its tables by operation id (bucket
 * pointers, slots, rd_seen) cost memory only for the pages of ids in use.
 * The hot path reaches a slot's buckets with one load (hist[id]) and its
 * figures at an address computed from the id.
 */
struct pt__thread {
	pid_t			 tid;
	uint32_t		 max_id;	/* highest op id with a slot */
	LIST_ENTRY(pt__thread)	 entry;
	struct pt__ctr_chunk	*ctrs[PT__CTR_CHUNKS];
	/* By op id: the slot's buckets, NULL while the thread has no slot
	 * for it (set with a release store once the slot is ready). */
	uint64_t		*hist[PT_SITES_MAX + 1];
	/*
	 * The reader's side, never touched by the hot path: how many events
	 * of each slot (its jn) the snapshot cache rd_owner has merged, or
	 * PT__SEEN_BAD.  Written by that cache under pt__lock; zero for a
	 * new slot.
	 */
	uint64_t		 rd_owner;
	/* Next in the stacks of records that joined, and that left, while
	 * a snapshot held pt__lock (thread.c): a record can be in both. */
	struct pt__thread	*pend_join;
	struct pt__thread	*pend_leave;
	uint64_t		 rd_seen[PT_SITES_MAX + 1];	/* by op id */
	/* By op id: the slots, valid where hist[id] is set. */
	struct pt__op_slot	 slot[PT_SITES_MAX + 1];
};
#define PT__SEEN_BAD		UINT64_MAX
LIST_HEAD(pt__thread_list, pt__thread);

extern __thread struct pt__thread *pt__self
    __attribute__((tls_model("initial-exec")));
extern struct pt__thread_list pt__threads;	/* under pt__lock */

/*
 * Take pt__lock and bring pt__threads up to date.  A thread that starts or
 * exits while pt__lock is held for long (_long: a snapshot or a reset,
 * milliseconds with thousands of operations) does not wait for it but
 * leaves its record on a stack, which the next holder takes in (a new
 * record listed, an exited one folded into the retired totals); one that
 * finds it held briefly (another thread starting, say) waits, and so
 * reuses kept records.  Every holder that reads pt__threads or the retired
 * totals takes the lock through these; pt__unlock_threads() releases it.
 */
void		pt__lock_threads(void);
void		pt__lock_threads_long(void);
void		pt__unlock_threads(void);
/* Creates the caller's slot for op id (its buckets; slow path): the
 * slot is then pt__self->slot[id].  NULL when out of memory. */
uint64_t	*pt__slot_get(uint32_t id);
int64_t		*pt__ctr_get(uint32_t id);	/* slow path */
void		 pt__thread_init(void);
void		 pt__thread_atfork_child(void);

/* The buckets of thread t's slot for op id, NULL while it has none. */
static inline __attribute__((always_inline)) uint64_t *
pt__slot_hist(struct pt__thread *t, uint32_t id)
{
	return __atomic_load_n(&t->hist[id], __ATOMIC_ACQUIRE);
}

/* Looks up a slot of thread t without creating it. */
static inline __attribute__((always_inline)) struct pt__op_slot *
pt__slot_peek(struct pt__thread *t, uint32_t id)
{
	return pt__slot_hist(t, id) != NULL ? &t->slot[id] : NULL;
}

/* Records one duration (or times identical ones) into slot s, whose
 * buckets are hist. */
static inline __attribute__((always_inline)) void
pt__slot_record(struct pt__op_slot *s, uint64_t *hist, uint64_t d,
    uint64_t times)
{
	uint64_t ep = PT__LOAD(&pt__g.epoch) + 1;
	uint32_t idx = pt__hist_index(d);
	uint64_t bit = (uint64_t)1 << (idx >> PT__GROUP_BITS);
	uint64_t n = s->jn;

	PT__BUMP(&hist[idx], times);
	if (PT__UNLIKELY(!(s->groups & bit)))
		PT__STORE(&s->groups, s->groups | bit);
	if (PT__UNLIKELY(s->mm_epoch != ep)) {
		PT__STORE(&s->min, d);
		PT__STORE(&s->max, d);
		PT__STORE(&s->mm_epoch, ep);
	} else {
		if (d < s->min)
			PT__STORE(&s->min, d);
		if (d > s->max)
			PT__STORE(&s->max, d);
	}
	__atomic_store_n(&s->jr[n & (PT__JOURNAL - 1)],
	    times == 1 ? (uint16_t)idx : (uint16_t)PT__JR_BATCH,
	    __ATOMIC_RELEASE);
	__atomic_store_n(&s->jn, n + times, __ATOMIC_RELEASE);
	__atomic_store_n(&s->total, s->total + (d + 1) * times,
	    __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------------ */
/* snapshot.c                                                                */
/* ------------------------------------------------------------------------ */

/* Accumulated statistics of one operation (retired threads, baselines). */
struct pt__op_acc {
	uint64_t	count;
	uint64_t	total;		/* ticks */
	uint64_t	stamp;		/* sum of the slots' total fields */
	uint64_t	min;
	uint64_t	max;
	uint64_t	mm_epoch;
	uint64_t	groups;
	uint64_t	moves;		/* retired totals: slots folded in so
					   far (not copied by acc_copy()) */
	uint64_t	hist[PT_HIST_BUCKETS];
};

/*
 * Folds the slots of an exiting thread into the retired totals.  Each
 * operation it had events of gets its retired moves bumped (a snapshot
 * cache merges those again); a fold lost for want of memory bumps
 * pt__retired_lost instead (every operation is merged again).
 */
void		pt__retire_thread(struct pt__thread *t);
extern uint64_t	pt__retired_lost;

struct pt__snapcache;
/*
 * The parts snapshots are made of, all under pt__lock.  Cumulative figures
 * of op id (retired plus live slots) into acc; with a cache c, also notes
 * in each thread's rd_seen how many of its slot's events c has merged.
 */
void		pt__op_cumulative(uint32_t id, struct pt__op_acc *acc,
		    uint64_t ep, struct pt__snapcache *c);
int64_t		pt__ctr_cumulative(uint32_t id);
/* The retired totals and reset baselines of id (NULL or 0: none). */
struct pt__op_acc *pt__retired_op(uint32_t id);
struct pt__op_acc *pt__baseline_op(uint32_t id);
int64_t		pt__baseline_ctr(uint32_t id);
/* Subtracts baseline b from acc, never below zero. */
void		pt__acc_sub(struct pt__op_acc *acc, const struct pt__op_acc *b);
/* Fills op's buckets and figures from acc (finish: percentiles too);
 * 0 or PT_ENOMEM. */
int		pt__op_fill(pt_op_stats *op, const struct pt__op_acc *acc,
		    double tick_ns, uint64_t ep, int finish);
/* Sets uptime_ns and since_reset_ns (under pt__lock), and the pid, time,
 * process name and memory (without it). */
void		pt__snapshot_times(pt_snapshot *s);
void		pt__snapshot_process(pt_snapshot *s);
/* Copies the header fields (pid, name, times, epoch, tick, memory) of src
 * into dst, not its operations or counters. */
void		pt__snapshot_copy_header(pt_snapshot *dst, const pt_snapshot *src);
/* Allocates an empty snapshot with room for the given numbers of entries. */
pt_snapshot	*pt__snapshot_alloc(size_t n_ops, size_t n_counters);
/*
 * Shared storage: blocks with a reference count in front, for the names and
 * buckets of the snapshots the perftop client decodes, which share what did
 * not change with the snapshot before (a view gets thousands a second).  A
 * snapshot whose pt_internal has PT__SNAP_SHARED holds one reference to each
 * of its names and bucket arrays; pt_snapshot_free() drops them.
 */
#define PT__SNAP_SHARED		0x1u
void		*pt__sh_alloc(size_t bytes);	/* one reference; NULL: ENOMEM */
void		*pt__sh_ref(const void *p);	/* p, one more reference */
void		 pt__sh_unref(const void *p);	/* NULL is allowed */
void		 pt__sh_lock(void);		/* the pool's lock: fork() */
void		 pt__sh_unlock(void);
char		*pt__sh_strdup(const char *s);
/* Copies name into the snapshot's own storage; NULL when out of memory. */
const char	*pt__snapshot_strdup(pt_snapshot *s, const char *name);
void		 pt__snapshot_atfork_child(void);
/* Nanoseconds since the library started (or since the fork, in a child). */
uint64_t	 pt__uptime_ns(void);

/* ------------------------------------------------------------------------ */
/* snapcache.c                                                               */
/* ------------------------------------------------------------------------ */

/* What a snapshot cache keeps of one operation besides cur->ops[i]. */
struct pt__snapop {
	uint64_t	min;		/* ticks, when mm_ok */
	uint64_t	max;
	uint64_t	ticks;		/* total_ns's, baseline subtracted */
	int		mm_ok;		/* min/max are of this epoch's events */
	/*
	 * When dgen is the cache's refreshes: the last refresh updated the
	 * operation (from the journals, or merging it again) from version
	 * dfrom to its version now, by adding the counts c->dl[doff .. doff
	 * + dn - 1] (ascending bucket indexes, each with its place in the
	 * buckets now; a bucket the list brought had none before) to its
	 * buckets.  The encoder sends a viewer at dfrom the list, and gives
	 * a viewer it does not send this refresh to its own copy of the
	 * buckets before (ipc/snapenc.c, "Shared operations").
	 */
	uint64_t	dgen;
	uint64_t	rmoves;		/* the retired totals' moves merged */
	uint64_t	dfrom;
	uint32_t	doff;
	uint32_t	dn;
	/* The index of the first bucket (cur's buckets are all non-empty; 0
	 * when there is none), and of the first at dfrom: what the encoder
	 * predicts from.  Derivable from cur's buckets and the list, but
	 * finding it there costs the encoder a cache miss per operation
	 * (220 -> 350 - 480 us of encode with 1,000 busy operations). */
	uint16_t	first;
	uint16_t	dfirst;
	/* Where each group of buckets starts in cur->ops[i].buckets, and
	 * which of the group's 64 buckets it holds (bit b: bucket g * 64 +
	 * b): a bucket's place is gpos[g] plus the bits below its own, found
	 * without reading the buckets. */
	uint16_t	gpos[PT__GROUPS + 1];
	uint64_t	gbits[PT__GROUPS];
	uint32_t	cap;		/* room of cur->ops[i].buckets (at least
					   n_buckets; 0: exactly that) */
};

/* A bucket count added by a refresh (struct pt__snapop). */
struct pt__bdelta {
	uint32_t	idx;
	uint32_t	cnt;
	uint32_t	pos;		/* its place in the op's buckets */
};

/*
 * An incremental snapshot for one consumer (the agent thread): cur is
 * updated in place.  An operation none of whose slots recorded an event
 * since the last refresh is left alone; one whose slots each recorded a
 * few is updated from the slots' journals (a cache line per slot); any
 * other is merged again from the buckets.  ver[i] (for cur->ops[i])
 * changes whenever that operation changes, so an encoder can skip
 * unchanged ones without looking at their buckets, and take the bucket
 * changes of those the last refresh updated from the journals from dl
 * (struct pt__snapop) rather than compare buckets.  cur's percentiles and
 * means are not filled in (the encoder does not send them).
 */
struct pt__snapcache {
	pt_snapshot	*cur;		/* owned; NULL before the first refresh */
	uint64_t	*ver;		/* by op index: 0 = never filled */
	struct pt__snapop *op;		/* by op index */
	size_t		 cap_ops;
	size_t		 cap_counters;
	uint64_t	 id;		/* names the cache in threads' rd_owner */
	uint64_t	 gen;		/* last version handed out */
	uint64_t	 epoch;		/* reset epoch cur was made in */
	uint64_t	 retired_lost;	/* pt__retired_lost cur was made with */
	int		 failed;	/* the last refresh failed */
	double		 tick_ns;	/* tick cur's figures were made with */
	uint16_t	*jbuf;		/* a block of ops' journal entries */
	uint32_t	*cnt;		/* by bucket: their counts (else 0) */
	struct pt__bdelta *dsc;		/* one op's changes, scratch */
	struct pt__thread **pend_thr;	/* their slots' threads, new jn */
	uint64_t	*pend_jn;
	size_t		 cap_threads;
	size_t		 replayed;	/* last refresh: ops from the journals */
	size_t		 merged;	/* and ops merged from the buckets */
	uint64_t	 refreshes;	/* refreshes begun */
	uint64_t	 name_ns;	/* when cur->process was read */
	struct pt__bdelta *dl;		/* the last refresh's changes */
	size_t		 dl_n;
	size_t		 dl_cap;
};

/*
 * Brings c->cur up to date.  Returns 0 or PT_ENOMEM (cur stays usable).
 * The heap figure comes from pt__memory_heap_paced() (memory.c), the
 * process name is read again every PT__NAME_EVERY_NS (the rest of the
 * header every time).
 */
#define PT__NAME_EVERY_NS	(1000 * 1000000ull)
int		 pt__snapshot_refresh(struct pt__snapcache *c);
/* Frees what c owns and empties it. */
void		 pt__snapcache_free(struct pt__snapcache *c);

/* ------------------------------------------------------------------------ */
/* summary.c                                                                 */
/* ------------------------------------------------------------------------ */

/* Formats a duration in ns as "123ns", "4.56us", "78.9ms" or "1.23s". */
char		*pt__fmt_duration(char *buf, size_t len, double ns);

/* ------------------------------------------------------------------------ */
/* memory.c                                                                  */
/* ------------------------------------------------------------------------ */

/* Reads the process name (comm) into buf. */
void		pt__process_name(char *buf, size_t len);
/* pt_memory_read() in two: RSS and peak into mem (0 or PT_ESYS, then 0s),
 * and the heap in use.  The second walks every malloc arena's free chunks,
 * each arena locked meanwhile: slow in a large, fragmented heap. */
int		pt__memory_rss(pt_memory *mem);
uint64_t	pt__memory_heap(void);
/*
 * The heap figure of the agent's snapshots: the last reading, read again
 * only once it is PT__HEAP_EVERY_NS old and PT__HEAP_COST_RATIO times as
 * old as that reading took (pt__heap_wait_ns()), so the agent spends at
 * most 1/PT__HEAP_COST_RATIO of its time in it, and holds the program's
 * malloc arenas at most that share of the time, however large the heap.
 * The pacing is the process's, not a viewer's: viewers that come and go
 * (a dump a second, say) do not read it more often.  now: pt__mono_ns().
 */
#define PT__HEAP_EVERY_NS	(100 * 1000000ull)
#define PT__HEAP_COST_RATIO	1000u
uint64_t	pt__memory_heap_paced(uint64_t now);
/* How long after a reading that took cost_ns the next may be taken. */
uint64_t	pt__heap_wait_ns(uint64_t cost_ns);
/* When the paced figure may be read again (0: at once; it moves at each
 * reading); tests. */
uint64_t	pt__heap_next_ns(void);

/* ------------------------------------------------------------------------ */
/* Test hooks (used by tests/; not exported)                                 */
/* ------------------------------------------------------------------------ */

/* Records times events of ticks ticks each into the caller's slot of site. */
int		pt__test_record_ticks(pt_site *site, uint64_t ticks,
		    uint64_t times);
/* Bytes a (site, thread) pair costs: the slot plus its share of tables. */
size_t		pt__slot_bytes(void);
/* Number of thread records alive and on the free list. */
void		pt__thread_stats(size_t *live, size_t *free_records);
/* Ends the paced heap reading's wait: the next snapshot reads it. */
void		pt__heap_wait_end(void);

/* ------------------------------------------------------------------------ */
/* ipc/agent.c                                                               */
/* ------------------------------------------------------------------------ */

/* Starts the agent unless switched off; called once on first use. */
void		pt__agent_autostart(void);

#endif /* PT_CORE_H */
