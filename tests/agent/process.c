/*
 * process.c - what the agent leaves alone in the process: signal
 * dispositions and masks, descriptors over connect cycles, and a fork
 * (the child holds none of the agent's threads or descriptors).
 */
#include "agent-test.h"

/* ------------------------------------------------------------------------ */
/* Signals, descriptors, fork                                                */
/* ------------------------------------------------------------------------ */

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

/* Waits until the number of open descriptors is want (the agent closes its
 * ends asynchronously); returns the last count. */
static int
wait_fds(int want, int ms)
{
	uint64_t end = now_ms() + (uint64_t)cunit_wait_ms(ms);
	int n;

	while ((n = count_fds()) != want && now_ms() < end)
		sleep_ms(5);
	return n;
}

static void
test_signals_untouched(void)
{
	struct sigaction before[65], after;
	int rc_before[65];
	sigset_t m0, m1;
	char path[64], line[256];
	FILE *f;
	unsigned long long blk = 0;
	pid_t tid;
	int s, found = 0;

	pt_agent_stop();
	for (s = 1; s <= 64; s++)
		rc_before[s] = sigaction(s, NULL, &before[s]);
	pthread_sigmask(SIG_SETMASK, NULL, &m0);
	CU_ASSERT_EQUAL_FATAL(pt_agent_start(), 0);
	/* Make the agent do some work too. */
	{
		struct pt__client *c = open_self();
		pt_snapshot *snap;

		if (c != NULL) {
			pt__client_subscribe(c, 10);
			snap = next_snapshot(c, 1000);
			CU_ASSERT_PTR_NOT_NULL(snap);
			pt_snapshot_free(snap);
			pt__client_close(c);
		}
	}
	for (s = 1; s <= 64; s++) {
		int rc = sigaction(s, NULL, &after);

		CU_ASSERT_EQUAL(rc, rc_before[s]);
		if (rc != 0)
			continue;
		CU_ASSERT(after.sa_handler == before[s].sa_handler);
		CU_ASSERT_EQUAL(after.sa_flags, before[s].sa_flags);
	}
	/* The caller's mask is restored. */
	pthread_sigmask(SIG_SETMASK, NULL, &m1);
	for (s = 1; s <= 64; s++)
		CU_ASSERT_EQUAL(sigismember(&m0, s), sigismember(&m1, s));

	/* The agent thread blocks every signal that can be blocked. */
	tid = find_thread("perftop-agent");
	CU_ASSERT_FATAL(tid > 0);
	snprintf(path, sizeof path, "/proc/self/task/%ld/status", (long)tid);
	f = fopen(path, "re");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "SigBlk: %llx", &blk) == 1)
			found = 1;
	fclose(f);
	CU_ASSERT(found);
	for (s = 1; s <= 64; s++) {
		/* Unblockable, or reserved by glibc (32, 33). */
		if (s == SIGKILL || s == SIGSTOP || (s >= 32 && s < SIGRTMIN))
			continue;
		/* valgrind keeps SIGRTMAX for itself, never blocked, and
		 * leaves the synchronous fault signals unblocked in the real
		 * mask while a thread runs (the thread's own mask is
		 * emulated, out of sight of /proc). */
		if (cunit_under_valgrind() && (s == SIGRTMAX || s == SIGILL ||
		    s == SIGTRAP || s == SIGBUS || s == SIGFPE ||
		    s == SIGSEGV || s == SIGSYS))
			continue;
		if (((blk >> (s - 1)) & 1) == 0)
			fprintf(stderr, "\nsignal %d not blocked\n", s);
		CU_ASSERT_EQUAL((blk >> (s - 1)) & 1, 1);
	}
}

static void
test_fd_cycles(void)
{
	struct pt__client *c;
	char err[256];
	int before, idle, i, rc, failures = 0;

	/*
	 * A fresh agent: no viewer of an earlier test is still closing.  As
	 * it starts, its thread takes a snapshot, which reads files in /proc:
	 * count once those are closed again, with the agent's listener and
	 * eventfd open.
	 */
	pt_agent_stop();
	idle = count_fds();
	CU_ASSERT_EQUAL_FATAL(pt_agent_start(), 0);
	before = wait_fds(idle + 2, 2000);
	CU_ASSERT_EQUAL(before, idle + 2);
	for (i = 0; i < 1000; i++) {
		rc = pt__client_open(getpid(), cunit_wait_ms(2000), &c, err,
		    sizeof err);
		if (rc != 0) {
			if (failures++ == 0)
				fprintf(stderr, "\ncycle %d: %s\n", i, err);
			continue;
		}
		pt__client_close(c);
	}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(wait_fds(before, 2000), before);

	/* Raw connections that vanish at every stage leave nothing. */
	for (i = 0; i < 200; i++) {
		struct pt__buf b;
		int fd = raw_connect();

		CU_ASSERT_FATAL(fd >= 0);
		if (i % 2 == 1) {
			pt__buf_init(&b, 4096);
			pt__msg_hello(&b);
			(void)raw_send_buf(fd, &b);
			pt__buf_free(&b);
		}
		close(fd);
	}
	CU_ASSERT_EQUAL(wait_fds(before, 2000), before);
}

/* Inodes of the unix sockets bound to path (listener and accepted). */
static size_t
socket_inodes(const char *path, unsigned long *ino, size_t max)
{
	char line[512], p[300];
	unsigned long inode;
	size_t n = 0;
	FILE *f = fopen("/proc/net/unix", "re");

	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof line, f) != NULL) {
		p[0] = '\0';
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %299s",
		    &inode, p) == 2 && strcmp(p, path) == 0)
			ino[n++] = inode;
	}
	fclose(f);
	return n;
}

/* Does this process hold a descriptor on one of the inodes, or an eventfd? */
static int
holds_agent_fds(const unsigned long *ino, size_t n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[300];
	ssize_t len;
	size_t i;
	int found = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		if ((len = readlink(path, target, sizeof target - 1)) <= 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "anon_inode:[eventfd]") == 0)
			found = 1;
		for (i = 0; i < n; i++) {
			char want[64];

			snprintf(want, sizeof want, "socket:[%lu]", ino[i]);
			if (strcmp(target, want) == 0)
				found = 1;
		}
	}
	closedir(d);
	return found;
}

/*
 * The parent's client in test_fork, also reachable from here: the child
 * leaves it alone and ends with exit(), and LeakSanitizer must not take it
 * for a leak of the child.
 */
static struct pt__client *volatile fork_parent_client;

static void
test_fork(void)
{
	struct pt__client *c = open_self(), *c2;
	unsigned long ino[256];
	char childsock[PATH_LEN];
	pt_snapshot *s;
	uint64_t t0;
	size_t n;
	pid_t child, w;
	int status;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(pt__client_subscribe(c, 20), 0);
	s = next_snapshot(c, 2000);
	CU_ASSERT_PTR_NOT_NULL(s);
	pt_snapshot_free(s);
	n = socket_inodes(sockfile, ino, 256);
	CU_ASSERT(n >= 2);	/* the listener and c's accepted socket */
	CU_ASSERT_EQUAL(holds_agent_fds(ino, n), 1);

	fflush(stdout);
	fflush(stderr);
	fork_parent_client = c;
	child = fork();
	if (child == 0) {
		/* Exit codes say which check failed. */
		struct pt__client *cc;
		char err[256];
		pid_t me = getpid();

		if (find_thread("perftop-agent") != -1)
			_exit(10);
		if (holds_agent_fds(ino, n) != 0)
			_exit(11);
		if (!exists(sockfile))
			_exit(12);
		pt_agent_stop();	/* nothing to stop here */
		if (!exists(sockfile))
			_exit(13);
		/* The parent still serves its socket... */
		if (pt__client_open(getppid(), cunit_wait_ms(2000), &cc,
		    err, sizeof err) != 0)
			_exit(14);
		if (pt__client_welcome(cc)->pid != getppid())
			_exit(15);
		pt__client_close(cc);
		if (CUNIT_TSAN)
			exit(0);
		/* ...and the child may serve its own. */
		if (pt_agent_start() != 0)
			_exit(16);
		if (pt__client_open(me, cunit_wait_ms(2000), &cc, err,
		    sizeof err) != 0)
			_exit(17);
		if (pt__client_welcome(cc)->pid != me)
			_exit(18);
		pt__client_close(cc);
		pt_agent_stop();
		if (!exists(sockfile))
			_exit(19);
		/* Started again, then exit(): the atexit handler removes the
		 * child's socket and leaves the parent's alone. */
		if (pt_agent_start() != 0)
			_exit(20);
		exit(0);
	}
	CU_ASSERT_FATAL(child > 0);
	if (CUNIT_TSAN)
		fprintf(stderr, "(child agent: skipped under ThreadSanitizer) ");
	/* Bounded: a child stuck (say in a sanitizer's allocator lock left
	 * held by the fork) fails the test instead of hanging the run. */
	for (t0 = now_ms(); (w = waitpid(child, &status, WNOHANG)) == 0 &&
	    now_ms() - t0 < 30000; )
		sleep_ms(10);
	if (w == 0) {
		fprintf(stderr, "\nchild still running after 30 s: killed\n");
		kill(child, SIGKILL);
		w = waitpid(child, &status, 0);
		status = -1;
	}
	CU_ASSERT_EQUAL(w, child);
	CU_ASSERT(status != -1 && WIFEXITED(status));
	if (status != -1 && WEXITSTATUS(status) != 0)
		fprintf(stderr, "\nchild failed check %d\n",
		    WEXITSTATUS(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	pt__sockpath(tmpdir, child, childsock, sizeof childsock);
	CU_ASSERT(!exists(childsock));

	/* The parent's socket is still there and still served. */
	CU_ASSERT(exists(sockfile));
	s = fresh_snapshot(c, 1000);
	CU_ASSERT_PTR_NOT_NULL(s);
	pt_snapshot_free(s);
	c2 = open_self();
	if (c2 != NULL) {
		CU_ASSERT_EQUAL(pt__client_request(c2), 0);
		s = next_snapshot(c2, 1000);
		CU_ASSERT(s != NULL && s->pid == getpid());
		pt_snapshot_free(s);
		pt__client_close(c2);
	}
	pt__client_close(c);
	fork_parent_client = NULL;
}

const struct cunit_test process_tests[] = {
	{ "signals untouched", test_signals_untouched },
	{ "connect cycles leak no fd", test_fd_cycles },
	{ "fork", test_fork },
	{ NULL, NULL }
};
