/*
 * fork.c - suite "fork": forks while other threads register names.
 * Registers thousands of names: runs last.
 */
#include "core-test.h"

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL),
	    (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

#define FORKS		30
#define REG_PER_FORK	100	/* new names per registrar per fork */
#define REG_NEW_MAX	(FORKS * REG_PER_FORK)

static int fork_stop;
static unsigned reg_target;	/* registrars register names up to this */
/* The registrars' sites (never freed, like every site) and their names. */
static pt_site reg_pool[2][REG_NEW_MAX];
static char *reg_names[2][REG_NEW_MAX];

struct registrar {
	int		 idx;
	unsigned	 n_new, errors;
	uint64_t	 loops;
};

static void *
registrar_main(void *arg)
{
	static pt_site busy = PT_SITE_INIT("fork.reg.busy", PT_KIND_OP);
	static pt_site busy_ctr = PT_SITE_INIT("fork.reg.busy", PT_KIND_COUNTER);
	struct registrar *r = arg;
	pt_site *pool = reg_pool[r->idx];
	pt_snapshot *s;
	char *name;

	unsigned n;

	while (!__atomic_load_n(&fork_stop, __ATOMIC_RELAXED)) {
		n = r->n_new;
		if (n < REG_NEW_MAX &&
		    n < __atomic_load_n(&reg_target, __ATOMIC_RELAXED) &&
		    asprintf(&reg_names[r->idx][n], "fork.reg.%d.%u", r->idx,
		    n) > 0) {
			name = reg_names[r->idx][n];
			pool[n] = (pt_site)PT_SITE_INIT(name,
			    n % 2 ? PT_KIND_OP : PT_KIND_COUNTER);
			r->errors += pt_site_register(&pool[n]) <= 0;
			__atomic_store_n(&r->n_new, n + 1, __ATOMIC_RELAXED);
		}
		{
			pt_scope sc = pt_scope_begin(&busy);

			pt_scope_end_count(&sc, &busy_ctr);
		}
		if (r->idx == 1 && r->loops % 64 == 0 &&
		    pt_snapshot_take(&s) == 0)
			pt_snapshot_free(s);
		if (r->idx == 0 && r->loops % 512 == 0)
			pt_reset();
		r->loops++;
	}
	return NULL;
}

static pt_site child_op = PT_SITE_INIT("fork.child.op", PT_KIND_OP);
static pt_site child_ctr = PT_SITE_INIT("fork.child.ctr", PT_KIND_COUNTER);

static void *
child_thread(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 100; i++) {
		pt_scope sc = pt_scope_begin(&child_op);

		pt_scope_end(&sc);
		pt_counter_add(&child_ctr, 2);
	}
	return NULL;
}

/* In the child: returns the exit status, 0 when all is well. */
static int
child_main(void)
{
	static pt_site fresh = PT_SITE_INIT("fork.child.fresh", PT_KIND_OP);
	const pt_counter_stats *c;
	const pt_op_stats *op;
	pt_snapshot *s;
	pthread_t t;
	int rc = 0;

	child_thread(NULL);
	if (CUNIT_TSAN)
		child_thread(NULL);
	else if (pthread_create(&t, NULL, child_thread, NULL) != 0)
		return 10;
	else
		pthread_join(t, NULL);
	if (pt_site_register(&fresh) <= 0)
		return 11;
	if (pt_record_ns(&fresh, 1000) != 0)
		return 12;
	if (pt_snapshot_take(&s) != 0)
		return 13;
	if (s->pid != getpid())
		rc = 14;
	else if ((op = pt_snapshot_find_op(s, "fork.child.op")) == NULL ||
	    op->count != 200)
		rc = 15;
	else if ((c = pt_snapshot_find_counter(s, "fork.child.ctr")) == NULL ||
	    c->value != 400)
		rc = 16;
	else if ((op = pt_snapshot_find_op(s, "fork.child.fresh")) == NULL ||
	    op->count != 1)
		rc = 17;
	pt_snapshot_free(s);
	return rc;
}

/* Waits up to timeout_ns for pid; kills it then.  Returns wait status or -1. */
static int
wait_child(pid_t pid, uint64_t timeout_ns)
{
	uint64_t t0 = mono_ns();
	int status;
	pid_t p;

	for (;;) {
		p = waitpid(pid, &status, WNOHANG);
		if (p == pid)
			return status;
		if (p == -1 && errno != EINTR)
			return -2;
		if (mono_ns() - t0 > timeout_ns) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ns(1000000);
	}
}

static void
test_fork_while_registering_does_not_deadlock(void)
{
	struct registrar reg[2];
	pthread_t tid[2];
	unsigned bad = 0;
	pt_snapshot *s;
	pid_t pid;
	int i, k, status;
	/* Under valgrind (one thread at a time, each child under it too). */
	const int forks = valgrind ? 10 : FORKS;

	memset(reg, 0, sizeof reg);
	__atomic_store_n(&reg_target, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fork_stop, 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++) {
		reg[i].idx = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL,
		    registrar_main, &reg[i]), 0);
	}
	for (i = 0; i < forks; i++) {
		/*
		 * Let the registrars register another REG_PER_FORK names each
		 * and fork when they are half-way: in the middle of it.
		 */
		__atomic_store_n(&reg_target, (unsigned)(i + 1) * REG_PER_FORK,
		    __ATOMIC_RELAXED);
		for (k = 0; k < 2; k++)
			while (__atomic_load_n(&reg[k].n_new, __ATOMIC_RELAXED) <
			    (unsigned)i * REG_PER_FORK + REG_PER_FORK / 2)
				sched_yield();
		fflush(NULL);
		pid = fork();
		/*
		 * The library's fork handlers ran already.  The sanitizers'
		 * allocators (gcc 12) have no fork handlers: a fork while
		 * another thread holds one of their locks leaves it held in
		 * the child, which hangs in its next malloc.  Their children
		 * stop here.
		 */
		if (pid == 0)
			_exit(SANITIZED ? 0 : child_main());
		CU_ASSERT_FATAL(pid > 0);
		/* A child under valgrind takes 0.6 - 3 s here alone, more
		 * beside the fuzzers: its deadline is longer. */
		status = wait_child(pid, (uint64_t)cunit_wait_ms(10000) *
		    1000000);
		if (status == -1) {
			fprintf(stderr, "\n    fork %d: child deadlocked "
			    "(killed after %d s)\n", i,
			    cunit_wait_ms(10000) / 1000);
			bad++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "\n    fork %d: child status %#x "
			    "(exit %d)\n", i, status,
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			bad++;
		}
		if (bad > 3)
			break;
	}
	__atomic_store_n(&fork_stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	if (SANITIZED)
		skipped("the children's work (the allocator is not "
		    "fork-safe)");
	CHECK_INT_EQ(bad, 0);
	CU_ASSERT(bad != 0 ||
	    (reg[0].n_new >= (unsigned)(forks - 1) * REG_PER_FORK +
	    REG_PER_FORK / 2 && reg[1].n_new >= (unsigned)(forks - 1) *
	    REG_PER_FORK + REG_PER_FORK / 2));
	CHECK_INT_EQ(reg[0].errors + reg[1].errors, 0);
	/* The parent still works and never saw the children's events. */
	s = snap_take();
	CHECK_U64_EQ(op_count(s, "fork.child.op"), 0);
	CU_ASSERT(pt_snapshot_find_counter(s, "fork.reg.1.0") != NULL);
	pt_snapshot_free(s);
}

static int pool_held;	/* atomic: 1 while pool_holder holds the lock */
static int pool_forked;	/* atomic: the parent has forked */

/* Holds the snapshot pool's lock for 200 ms, then lives on until the
 * fork is done (a thread that ended unjoined is a leak to ThreadSanitizer,
 * in the child too). */
static void *
pool_holder(void *arg)
{
	(void)arg;
	pt__sh_lock();
	__atomic_store_n(&pool_held, 1, __ATOMIC_SEQ_CST);
	sleep_ns(200000000);
	__atomic_store_n(&pool_held, 0, __ATOMIC_SEQ_CST);
	pt__sh_unlock();
	while (!__atomic_load_n(&pool_forked, __ATOMIC_SEQ_CST))
		sleep_ns(1000000);
	return NULL;
}

/*
 * A fork while another thread holds the lock of the pool that decoded
 * snapshots' blocks come from (a viewer in a program that forks): fork()
 * waits for it, and the child can take blocks from the pool.
 */
static void
test_fork_while_pool_locked(void)
{
	pthread_t t;
	pid_t pid;
	int status;

	__atomic_store_n(&pool_held, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&pool_forked, 0, __ATOMIC_SEQ_CST);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, pool_holder, NULL), 0);
	while (!__atomic_load_n(&pool_held, __ATOMIC_SEQ_CST))
		sched_yield();
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		void *p = pt__sh_alloc(100);

		pt__sh_unref(p);
		_exit(p != NULL ? 0 : 1);
	}
	/* The lock was free when the fork went ahead. */
	CU_ASSERT(!__atomic_load_n(&pool_held, __ATOMIC_SEQ_CST));
	__atomic_store_n(&pool_forked, 1, __ATOMIC_SEQ_CST);
	CU_ASSERT_FATAL(pid > 0);
	status = wait_child(pid, (uint64_t)cunit_wait_ms(10000) * 1000000);
	CU_ASSERT(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	pthread_join(t, NULL);
}

const struct test_def fork_tests[] = {
	TEST(test_fork_while_pool_locked),
	TEST(test_fork_while_registering_does_not_deadlock),
	{ NULL, NULL }
};
