/*
 * thread.c - per-thread records and the hot path.
 *
 * Each thread owns a record reached through a thread-local pointer: tables of
 * operation slots and counter cells indexed by site id.  Only the owner
 * writes them, with relaxed atomic stores (plain instructions on x86); the
 * snapshot reads them.  A thread's statistics are folded into the retired
 * totals when it exits, and its record is kept for reuse by the next thread.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(PT__ASAN)
#include <sanitizer/lsan_interface.h>
#define PT__LSAN_ROOT(p, n)	__lsan_register_root_region((p), (n))
#define PT__LSAN_UNROOT(p, n)	__lsan_unregister_root_region((p), (n))
#else
#define PT__LSAN_ROOT(p, n)	((void)0)
#define PT__LSAN_UNROOT(p, n)	((void)0)
#endif


/* Thread records kept for reuse: enough for bursts, bounded for memory. */
#define FREE_RECORDS_MAX	64

__thread struct pt__thread *pt__self __attribute__((tls_model("initial-exec")));
struct pt__thread_list pt__threads = LIST_HEAD_INITIALIZER(pt__threads);

static struct pt__thread_list	free_records =
    LIST_HEAD_INITIALIZER(free_records);
static size_t			n_live, n_free;

/* The bytes of a slot's buckets, allocated apart from its figures. */
#define HIST_BYTES	(PT_HIST_BUCKETS * sizeof(uint64_t))
static pthread_key_t		exit_key;
/* Records of threads that started, and that exited, while a snapshot held
 * pt__lock, until the next holder takes them in (threads_sync()). */
static struct pt__thread	*joining, *leaving;
/* Set while pt__lock is held for long (pt__lock_threads_long()). */
static int			 lock_long;

/* Maps a zeroed record; NULL when out of memory. */
static struct pt__thread *
record_new(void)
{
	void *p;

	p = mmap(NULL, sizeof(struct pt__thread), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* The leak checker does not scan mappings; the slots hang off it. */
	PT__LSAN_ROOT(p, sizeof(struct pt__thread));
	return p;
}

/* Frees a record and everything hanging off it. */
static void
record_free(struct pt__thread *t)
{
	size_t i;

	for (i = 0; i <= t->max_id; i++)
		free(t->hist[i]);
	for (i = 0; i < PT__CTR_CHUNKS; i++)
		free(t->ctrs[i]);
	PT__LSAN_UNROOT(t, sizeof *t);
	munmap(t, sizeof *t);
}

/* Pushes t on a stack of records, linked by *link (lock-free). */
static void
pend_push(struct pt__thread **head, struct pt__thread *t,
    struct pt__thread **link)
{
	struct pt__thread *h = __atomic_load_n(head, __ATOMIC_RELAXED);

	do
		*link = h;
	while (!__atomic_compare_exchange_n(head, &h, t, 1, __ATOMIC_RELEASE,
	    __ATOMIC_RELAXED));
}

/* Lists a new thread's record t.  Under pt__lock. */
static void
thread_join(struct pt__thread *t)
{
	LIST_INSERT_HEAD(&pt__threads, t, entry);
	n_live++;
}

/*
 * Folds the statistics of an exited thread's record t into the retired
 * totals and unlists it; keeps it for the next thread, or returns it to be
 * freed.  Under pt__lock.
 */
static struct pt__thread *
thread_leave(struct pt__thread *t)
{
	pt__retire_thread(t);
	LIST_REMOVE(t, entry);
	n_live--;
	if (n_free < FREE_RECORDS_MAX) {
		LIST_INSERT_HEAD(&free_records, t, entry);
		n_free++;
		return NULL;
	}
	return t;
}

/* Takes in the records that joined or left meanwhile.  Under pt__lock. */
static void
threads_sync(void)
{
	struct pt__thread *l, *j, *t;

	if (__atomic_load_n(&leaving, __ATOMIC_RELAXED) == NULL &&
	    __atomic_load_n(&joining, __ATOMIC_RELAXED) == NULL)
		return;
	/* Leaving first: a record that left joined before it did, so its
	 * join is in the stack taken after (or it was listed already). */
	l = __atomic_exchange_n(&leaving, NULL, __ATOMIC_ACQUIRE);
	j = __atomic_exchange_n(&joining, NULL, __ATOMIC_ACQUIRE);
	for (; j != NULL; j = t) {
		t = j->pend_join;
		thread_join(j);
	}
	for (; l != NULL; l = t) {
		t = l->pend_leave;
		if ((j = thread_leave(l)) != NULL)
			record_free(j);
	}
}

void
pt__lock_threads(void)
{
	pthread_mutex_lock(&pt__lock);
	threads_sync();
}

void
pt__lock_threads_long(void)
{
	pt__lock_threads();
	__atomic_store_n(&lock_long, 1, __ATOMIC_RELAXED);
}

void
pt__unlock_threads(void)
{
	__atomic_store_n(&lock_long, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pt__lock);
}

/*
 * Takes pt__lock for a thread starting or exiting, unless a snapshot or a
 * reset holds it (then 0: the caller defers).  A holder that has just
 * taken it and not yet said it will hold it long is waited for.
 */
static int
lock_unless_long(void)
{
	if (pthread_mutex_trylock(&pt__lock) != 0) {
		if (__atomic_load_n(&lock_long, __ATOMIC_RELAXED))
			return 0;
		pthread_mutex_lock(&pt__lock);
	}
	threads_sync();
	return 1;
}

/*
 * Called by pthreads when a thread with a record exits: folds its statistics
 * into the retired totals and keeps the record for the next thread.  While
 * a snapshot holds pt__lock the record waits on the leaving stack instead:
 * the thread's statistics are complete, and every reader takes them in
 * first.
 */
static void
thread_exit(void *arg)
{
	struct pt__thread *t = arg;

	pt__self = NULL;
	if (!lock_unless_long()) {
		pend_push(&leaving, t, &t->pend_leave);
		return;
	}
	t = thread_leave(t);
	pthread_mutex_unlock(&pt__lock);
	if (t != NULL)
		record_free(t);
}

void
pt__thread_init(void)
{
	pthread_key_create(&exit_key, thread_exit);
}

/*
 * In a forked child only the forking thread lives on.  The other threads'
 * records stay listed, read-only, so their statistics still add up; they are
 * not folded or freed, which would write to (and so copy) every page of them.
 */
void
pt__thread_atfork_child(void)
{
	if (pt__self != NULL)
		pt__self->tid = gettid();
}

/* Returns the caller's record, creating it on first use; NULL if no memory. */
static struct pt__thread *
thread_get(void)
{
	struct pt__thread *t = pt__self;

	if (PT__LIKELY(t != NULL))
		return t;
	pt__init();
	if (!lock_unless_long()) {
		/* A snapshot is being taken: a new record, listed by the
		 * next holder, rather than a wait. */
		if ((t = record_new()) == NULL)
			return NULL;
		t->tid = gettid();
		pend_push(&joining, t, &t->pend_join);
	} else {
		if ((t = LIST_FIRST(&free_records)) != NULL) {
			LIST_REMOVE(t, entry);
			n_free--;
		} else if ((t = record_new()) == NULL) {
			pthread_mutex_unlock(&pt__lock);
			return NULL;
		}
		t->tid = gettid();
		thread_join(t);
		pthread_mutex_unlock(&pt__lock);
	}
	pthread_setspecific(exit_key, t);
	pt__self = t;
	return t;
}

/* Returns the caller's slot for operation id, creating it.  Slow path. */
uint64_t *
pt__slot_get(uint32_t id)
{
	struct pt__thread *t;
	uint64_t *h;

	if ((t = thread_get()) == NULL)
		return NULL;
	if ((h = pt__slot_hist(t, id)) != NULL)
		return h;
	if ((h = aligned_alloc(PT__CACHELINE, HIST_BYTES)) == NULL)
		return NULL;
	memset(h, 0, HIST_BYTES);
	memset(&t->slot[id], 0, sizeof t->slot[id]);
	__atomic_store_n(&t->hist[id], h, __ATOMIC_RELEASE);
	if (id > t->max_id)
		t->max_id = id;
	return h;
}

/* Returns the caller's cell for counter id, creating it.  Slow path. */
int64_t *
pt__ctr_get(uint32_t id)
{
	struct pt__thread *t;
	struct pt__ctr_chunk *c;

	if ((t = thread_get()) == NULL)
		return NULL;
	c = t->ctrs[id >> PT__CTR_CHUNK_BITS];
	if (c == NULL) {
		if ((c = aligned_alloc(PT__CACHELINE, sizeof *c)) == NULL)
			return NULL;
		memset(c, 0, sizeof *c);
		__atomic_store_n(&t->ctrs[id >> PT__CTR_CHUNK_BITS], c,
		    __ATOMIC_RELEASE);
	}
	return &c->value[id & (PT__CTR_CHUNK - 1)];
}

/* The slow half of pt_scope_end: registration and slot creation; the
 * slot's buckets, its id in *idp. */
static __attribute__((noinline)) uint64_t *
end_slow(pt_site *site, int32_t *idp)
{
	if (site == NULL || site->pt_kind != PT_KIND_OP)
		return NULL;
	if ((*idp = pt__site_resolve(site)) <= 0)
		return NULL;
	return pt__slot_get((uint32_t)*idp);
}

pt_scope
pt__scope_begin(pt_site *site)
{
	pt_scope sc;

	pt__init();	/* the clock mode is known from here on */
	sc.pt_site = site;
	sc.pt_start = pt__clock_now();
	return sc;
}

pt_scope
pt_scope_begin(pt_site *site)
{
	if (PT__LIKELY(pt__tsc)) {
		pt_scope sc = { site, pt__clock_now() };
		return sc;
	}
	return pt__scope_begin(site);
}

void
pt_scope_end(pt_scope *sc)
{
	uint64_t end = pt__clock_now();
	struct pt__thread *t = pt__self;
	uint64_t *h = NULL;
	pt_site *site;
	int32_t id = 0;

	if (PT__UNLIKELY(sc == NULL))
		return;
	site = sc->pt_site;
	if (PT__LIKELY(site != NULL && t != NULL) &&
	    PT__LIKELY((id = PT__LOAD(&site->pt_id)) > 0) &&
	    site->pt_kind == PT_KIND_OP)
		h = pt__slot_hist(t, (uint32_t)id);
	if (PT__UNLIKELY(h == NULL)) {
		if ((h = end_slow(site, &id)) == NULL)
			return;
		t = pt__self;	/* set by the slow path */
	}
	pt__slot_record(&t->slot[id], h, end - sc->pt_start, 1);
}

void
pt_scope_end_count(pt_scope *sc, pt_site *counter)
{
	pt_scope_end(sc);
	pt_counter_add(counter, 1);
}

/* The slow half of pt_counter_add. */
static __attribute__((noinline)) void
counter_slow(pt_site *site, int64_t n)
{
	int64_t *cell;
	int id;

	if (site == NULL || site->pt_kind != PT_KIND_COUNTER)
		return;
	if ((id = pt__site_resolve(site)) <= 0)
		return;
	if ((cell = pt__ctr_get((uint32_t)id)) != NULL)
		PT__BUMP(cell, n);
}

void
pt_counter_add(pt_site *site, int64_t n)
{
	struct pt__thread *t = pt__self;
	struct pt__ctr_chunk *c;
	int32_t id;

	if (PT__LIKELY(site != NULL && t != NULL) &&
	    PT__LIKELY((id = PT__LOAD(&site->pt_id)) > 0) &&
	    site->pt_kind == PT_KIND_COUNTER &&
	    PT__LIKELY((c = __atomic_load_n(&t->ctrs[id >> PT__CTR_CHUNK_BITS],
	    __ATOMIC_ACQUIRE)) != NULL)) {
		PT__BUMP(&c->value[id & (PT__CTR_CHUNK - 1)], n);
		return;
	}
	counter_slow(site, n);
}

/* Records times events of ticks each into the caller's slot of site. */
int
pt__test_record_ticks(pt_site *site, uint64_t ticks, uint64_t times)
{
	uint64_t *h;
	int id;

	if (site == NULL || site->pt_kind != PT_KIND_OP)
		return PT_EINVAL;
	if ((id = pt__site_resolve(site)) <= 0)
		return id;
	if ((h = pt__slot_get((uint32_t)id)) == NULL)
		return PT_ENOMEM;
	pt__slot_record(&pt__self->slot[id], h, ticks, times);
	return 0;
}

int
pt_record_ns(pt_site *site, uint64_t ns)
{
	double ticks;

	if (site == NULL || site->pt_kind != PT_KIND_OP)
		return PT_EINVAL;
	pt__init();
	ticks = (double)ns / pt__clock_tick_ns() + 0.5;
	return pt__test_record_ticks(site, ticks >= 1.8e19 ? UINT64_MAX :
	    (uint64_t)ticks, 1);
}

size_t
pt__slot_bytes(void)
{
	/* The slot's figures and journal, its buckets with malloc's
	 * header, and their pointer in the thread's table. */
	return sizeof(struct pt__op_slot) + HIST_BYTES + 2 * sizeof(size_t) +
	    sizeof(void *);
}

void
pt__thread_stats(size_t *live, size_t *free_count)
{
	pt__lock_threads();
	if (live != NULL)
		*live = n_live;
	if (free_count != NULL)
		*free_count = n_free;
	pt__unlock_threads();
}
