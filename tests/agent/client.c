/*
 * client.c - the client: its errors, a stream of snapshots, a reset
 * seen by another viewer, viewers at different intervals.
 */
#include "agent-test.h"
#include "../snapcmp.h"

/* ------------------------------------------------------------------------ */
/* Client                                                                    */
/* ------------------------------------------------------------------------ */

static pt_site	test_op = PT_SITE_INIT("agent.test.op", PT_KIND_OP);
static pt_site	test_ctr = PT_SITE_INIT("agent.test.counter", PT_KIND_COUNTER);

static uint64_t
op_count(const pt_snapshot *s, const char *name)
{
	const pt_op_stats *op = pt_snapshot_find_op(s, name);

	return op != NULL ? op->count : 0;
}

static void
test_client_errors(void)
{
	struct pt__client *c = NULL;
	struct sockaddr_un sa;
	char err[256], path[PATH_LEN], bad[256];
	pid_t child;
	int fd, status;

	CU_ASSERT_EQUAL(pt__client_open(0, 100, &c, err, sizeof err),
	    PT_EINVAL);
	CU_ASSERT_EQUAL(pt__client_open(-5, 100, &c, err, sizeof err),
	    PT_EINVAL);

	/* A process that is gone. */
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, &status, 0);
	CU_ASSERT_EQUAL(pt__client_open(child, 100, &c, err, sizeof err),
	    PT_ENOENT);
	snprintf(path, sizeof path, "no such process: %ld", (long)child);
	CU_ASSERT_STRING_EQUAL(err, path);

	/* A live process that is not instrumented, then a stale socket. */
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	CU_ASSERT_EQUAL(pt__client_open(child, 100, &c, err, sizeof err),
	    PT_ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not instrumented (no socket at"));
	pt__sockpath(tmpdir, child, path, sizeof path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strlcpy(sa.sun_path, path, sizeof sa.sun_path);
	CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	CU_ASSERT_EQUAL(pt__client_open(child, 100, &c, err, sizeof err),
	    PT_ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "stale socket"));
	unlink(path);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);

	/* An unsafe directory. */
	snprintf(bad, sizeof bad, "%s/unsafe2", tmpdir);
	CU_ASSERT_EQUAL(mkdir(bad, 0777), 0);
	CU_ASSERT_EQUAL(chmod(bad, 0777), 0);
	setenv("PERFTOP_SOCKET_DIR", bad, 1);
	CU_ASSERT_EQUAL(pt__client_open(getpid(), 100, &c, err, sizeof err),
	    PT_EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unsafe permissions 0777"));
	setenv("PERFTOP_SOCKET_DIR", tmpdir, 1);
	CU_ASSERT_PTR_NULL(c);
}

static void
test_client_stream(void)
{
	struct pt__client *c = open_self();
	const struct pt__welcome *w;
	const pt_counter_stats *ctr;
	pt_snapshot *s;
	uint64_t first, end;
	int64_t v0;
	int i, grew = 0;

	if (c == NULL)
		return;
	w = pt__client_welcome(c);
	CU_ASSERT_EQUAL(w->pid, getpid());
	CU_ASSERT_EQUAL(w->version, PT__PROTO_VERSION);
	CU_ASSERT(w->process[0] != '\0');
	CU_ASSERT(pt__client_fd(c) >= 0);

	pt_record_ns(&test_op, 1000);
	pt_counter_add(&test_ctr, 1);
	CU_ASSERT_EQUAL(pt__client_subscribe(c, 20), 0);
	s = next_snapshot(c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->pid, getpid());
	CU_ASSERT_STRING_EQUAL(s->process, w->process);
	first = op_count(s, "agent.test.op");
	CU_ASSERT(first >= 1);
	ctr = pt_snapshot_find_counter(s, "agent.test.counter");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctr);
	v0 = ctr->value;
	pt_snapshot_free(s);

	/* Streamed snapshots see the counts grow. */
	end = now_ms() + 3000;
	while (now_ms() < end && grew < 3) {
		for (i = 0; i < 5; i++)
			pt_record_ns(&test_op, 2000);
		pt_counter_add(&test_ctr, 5);
		s = next_snapshot(c, 1000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		if (op_count(s, "agent.test.op") >= first + 5) {
			first = op_count(s, "agent.test.op");
			ctr = pt_snapshot_find_counter(s, "agent.test.counter");
			CU_ASSERT(ctr != NULL && ctr->value > v0);
			if (ctr != NULL)
				v0 = ctr->value;
			grew++;
		}
		pt_snapshot_free(s);
	}
	CU_ASSERT_EQUAL(grew, 3);

	/* Stop streaming, then ask for one. */
	CU_ASSERT_EQUAL(pt__client_subscribe(c, 0), 0);
	sleep_ms(50);
	{
		struct pt__event ev;

		while (pt__client_next(c, 0, &ev) == 1)
			pt_snapshot_free(ev.snap);
		CU_ASSERT_EQUAL(pt__client_next(c, 100, &ev), 0);
	}
	CU_ASSERT_EQUAL(pt__client_request(c), 0);
	s = next_snapshot(c, 1000);
	CU_ASSERT_PTR_NOT_NULL(s);
	pt_snapshot_free(s);
	pt__client_close(c);
}

static void
test_reset_epoch(void)
{
	struct pt__client *a = open_self(), *b = open_self();
	struct pt__event ev;
	pt_snapshot *s;
	uint64_t e0, t0;

	if (a == NULL || b == NULL)
		goto out;
	pt_record_ns(&test_op, 1000);
	/* a streams slowly: a prompt snapshot after the reset is not its
	 * regular one. */
	CU_ASSERT_EQUAL(pt__client_subscribe(a, 10000), 0);
	s = next_snapshot(a, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	e0 = s->reset_epoch;
	CU_ASSERT(op_count(s, "agent.test.op") >= 1);
	pt_snapshot_free(s);

	t0 = now_ms();
	CU_ASSERT_EQUAL(pt__client_reset(b), 0);
	CU_ASSERT_EQUAL(pt__client_next(b, 2000, &ev), 1);
	CU_ASSERT_EQUAL(ev.type, PT__EV_RESET_OK);
	CU_ASSERT_EQUAL(ev.epoch, e0 + 1);

	s = next_snapshot(a, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->reset_epoch, e0 + 1);
	CU_ASSERT_EQUAL(op_count(s, "agent.test.op"), 0);
	/* Prompt: the regular one is 10 s away. */
	CU_ASSERT(now_ms() - t0 < (uint64_t)cunit_wait_ms(1000));
	pt_snapshot_free(s);
out:
	pt__client_close(a);
	pt__client_close(b);
}

static pt_site share_ops[6] = {
	PT_SITE_INIT("agent.share.a", PT_KIND_OP),
	PT_SITE_INIT("agent.share.b", PT_KIND_OP),
	PT_SITE_INIT("agent.share.c", PT_KIND_OP),
	PT_SITE_INIT("agent.share.d", PT_KIND_OP),
	PT_SITE_INIT("agent.share.e", PT_KIND_OP),
	PT_SITE_INIT("agent.share.f", PT_KIND_OP),
};
static int share_stop;	/* atomic */

/*
 * Records into share_ops until share_stop: a few events a round into most
 * (taken from the journals), a hundred into every third (merged again),
 * over a range of durations that widens (new buckets).
 */
static void *
share_recorder(void *arg)
{
	uint64_t r = 1, span;
	int k, e, n, round = 0;

	(void)arg;
	while (!__atomic_load_n(&share_stop, __ATOMIC_RELAXED)) {
		span = (uint64_t)1 << (1 + round / 8 % 24);
		for (k = 0; k < 6; k++) {
			n = k % 3 == 0 ? 100 : 1 + (int)(r >> 60);
			for (e = 0; e < n; e++) {
				r = r * 6364136223846793005ull +
				    1442695040888963407ull;
				pt_record_ns(&share_ops[k], 1 + (r >> 30) % span);
			}
		}
		round++;
		sleep_ms(2);
	}
	return NULL;
}

/* Takes in what c has received; returns how many snapshots, the last in
 * *last (freed first; the caller frees it). */
static int
drain(struct pt__client *c, pt_snapshot **last)
{
	struct pt__event ev;
	int n = 0;

	while (pt__client_next(c, 0, &ev) == 1) {
		if (ev.type != PT__EV_SNAPSHOT)
			continue;
		pt_snapshot_free(*last);
		*last = ev.snap;
		n++;
	}
	return n;
}

/* The operations of share_ops in s and t have the same figures and
 * buckets. */
static int
share_same(const pt_snapshot *s, const pt_snapshot *t)
{
	const pt_op_stats *x, *y;
	int k;

	for (k = 0; k < 6; k++) {
		x = pt_snapshot_find_op(s, share_ops[k].pt_name);
		y = pt_snapshot_find_op(t, share_ops[k].pt_name);
		if (x == NULL || y == NULL || !snapcmp_op(x, y))
			return 0;
	}
	return 1;
}

/*
 * Two viewers streaming at different intervals while operations record:
 * the agent refreshes for one while the other waits (each keeps its own
 * copies of what it has not been sent), yet each gets one FULL snapshot
 * and deltas after it, and once the recording stops both have exactly the
 * operations' buckets.
 */
static void
test_viewers_intervals(void)
{
	struct pt__client *a = open_self(), *b = open_self();
	pt_snapshot *la = NULL, *lb = NULL, *s = NULL;
	pthread_t t;
	uint64_t start, end;
	int na = 0, nb = 0;

	if (a == NULL || b == NULL)
		goto out;
	for (int k = 0; k < 6; k++)
		pt_record_ns(&share_ops[k], 1000);
	CU_ASSERT_EQUAL(pt__client_subscribe(a, 10), 0);
	CU_ASSERT_EQUAL(pt__client_subscribe(b, 37), 0);
	__atomic_store_n(&share_stop, 0, __ATOMIC_RELAXED);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, share_recorder, NULL) == 0);
	/* 1.5 s, or longer on a loaded machine (valgrind beside the
	 * fuzzers in CI) until each viewer has had enough snapshots. */
	start = now_ms();
	for (end = start + 1500; now_ms() < end || ((na < 40 || nb < 15) &&
	    now_ms() - start < 30000); sleep_ms(5)) {
		na += drain(a, &la);
		nb += drain(b, &lb);
	}
	__atomic_store_n(&share_stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	sleep_ms(100);
	na += drain(a, &la);
	nb += drain(b, &lb);
	CU_ASSERT(na >= 40);
	CU_ASSERT(nb >= 15);
	printf("(%d and %d snapshots) ", na, nb);
	CU_ASSERT_EQUAL(pt__client_fulls(a), 1);
	CU_ASSERT_EQUAL(pt__client_fulls(b), 1);

	/* Snapshots taken after the recording stopped. */
	CU_ASSERT_FATAL(pt_snapshot_take(&s) == 0);
	pt_snapshot_free(la);
	pt_snapshot_free(lb);
	la = next_snapshot(a, 2000);
	lb = next_snapshot(b, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(la);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lb);
	CU_ASSERT(share_same(la, s));
	CU_ASSERT(share_same(lb, s));
	CU_ASSERT_EQUAL(pt__client_fulls(a), 1);
	CU_ASSERT_EQUAL(pt__client_fulls(b), 1);
out:
	pt_snapshot_free(s);
	pt_snapshot_free(la);
	pt_snapshot_free(lb);
	pt__client_close(a);
	pt__client_close(b);
}

const struct cunit_test client_tests[] = {
	{ "client errors", test_client_errors },
	{ "client stream", test_client_stream },
	{ "reset bumps the epoch", test_reset_epoch },
	{ "viewers at different intervals: deltas, exact",
	    test_viewers_intervals },
	{ NULL, NULL }
};
