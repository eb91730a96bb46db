/*
 * test-agent.c - CUnit tests of the socket directory rules, the agent thread
 * and the client, all in one process: the agent serves this test program on
 * PERFTOP_SOCKET_DIR (a fresh mkdtemp directory) and the tests connect to
 * it, either with the client or with raw sockets to send malformed input.
 */
#include "ipc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include <CUnit/Basic.h>

#include "cunit.h"

#define PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)

/* ThreadSanitizer cannot start threads in the child of a threaded fork. */
#if defined(__SANITIZE_THREAD__)
#define TSAN	1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN	1
#endif
#endif
#ifndef TSAN
#define TSAN	0
#endif

/* Whether valgrind runs this program (it preloads its vgpreload_*.so). */
static int
running_on_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "/vgpreload_") != NULL;
}

static char	tmpdir[64];
static char	sockfile[PATH_LEN];

static pt_site	test_op = PT_SITE_INIT("agent.test.op", PT_KIND_OP);
static pt_site	test_ctr = PT_SITE_INIT("agent.test.counter", PT_KIND_COUNTER);

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static uint64_t
now_ms(void)
{
	return pt__mono_ns() / 1000000u;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

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
	uint64_t end = now_ms() + (uint64_t)ms;
	int n;

	while ((n = count_fds()) != want && now_ms() < end)
		sleep_ms(5);
	return n;
}

/* TID of the thread called name, or -1. */
static pid_t
find_thread(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[300], comm[64];
	pid_t tid = -1;
	ssize_t n;
	int fd;

	if (d == NULL)
		return -1;
	while (tid == -1 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/comm",
		    e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, comm, sizeof comm - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, name) == 0)
			tid = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return tid;
}

/* Raw connection to our own agent (blocking socket). */
static int
raw_connect(void)
{
	struct sockaddr_un sa;
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strlcpy(sa.sun_path, sockfile, sizeof sa.sun_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
raw_send(int fd, const void *p, size_t n)
{
	return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static int
raw_send_buf(int fd, struct pt__buf *b)
{
	int rc = raw_send(fd, pt__buf_head(b), b->len);

	pt__buf_consume(b, b->len);
	return rc;
}

/* A frame header with the given length and type. */
static void
raw_header(uint8_t h[8], uint32_t len, uint16_t type, uint16_t reserved)
{
	h[0] = (uint8_t)len;
	h[1] = (uint8_t)(len >> 8);
	h[2] = (uint8_t)(len >> 16);
	h[3] = (uint8_t)(len >> 24);
	h[4] = (uint8_t)type;
	h[5] = (uint8_t)(type >> 8);
	h[6] = (uint8_t)reserved;
	h[7] = (uint8_t)(reserved >> 8);
}

/* Reader of raw frames. */
struct raw_in {
	int		 fd;
	struct pt__buf	 buf;
	size_t		 consume;
};

static void
raw_in_init(struct raw_in *r, int fd)
{
	r->fd = fd;
	r->consume = 0;
	pt__buf_init(&r->buf, PT__FRAME_MAX + 65536);
}

/*
 * Next frame within ms: 1 (type, payload), 0 timeout, -1 the connection was
 * closed (EOF or reset).
 */
static int
raw_frame(struct raw_in *r, int ms, uint16_t *type, const uint8_t **p,
    size_t *n)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	struct pollfd pfd;
	size_t flen;
	ssize_t got;
	int rc;

	pt__buf_consume(&r->buf, r->consume);
	r->consume = 0;
	for (;;) {
		rc = pt__frame_parse(pt__buf_head(&r->buf), r->buf.len, type,
		    p, n, &flen);
		if (rc == 1) {
			r->consume = flen;
			return 1;
		}
		if (rc < 0)
			return -2;
		pfd.fd = r->fd;
		pfd.events = POLLIN;
		if (now_ms() >= end || poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			return 0;
		if (pt__buf_reserve(&r->buf, 65536) != 0)
			return -2;
		got = recv(r->fd, r->buf.data + r->buf.off + r->buf.len, 65536,
		    MSG_DONTWAIT);
		if (got == 0 || (got == -1 && errno == ECONNRESET))
			return -1;
		if (got > 0)
			r->buf.len += (size_t)got;
	}
}

/*
 * Reads until the agent closes the connection (within ms).  Returns 1 if it
 * did; *code gets the code of the last ERROR frame seen (0 if none) and
 * *welcomed whether a WELCOME came.
 */
static int
raw_expect_close(struct raw_in *r, int ms, int *code, int *welcomed)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	const uint8_t *p;
	uint16_t type;
	size_t n;
	char msg[256];
	int rc, c;

	*code = 0;
	if (welcomed != NULL)
		*welcomed = 0;
	for (;;) {
		int left = (int)(end > now_ms() ? end - now_ms() : 0);

		rc = raw_frame(r, left, &type, &p, &n);
		if (rc == -1)
			return 1;
		if (rc <= 0)
			return 0;
		if (type == PT__MSG_ERROR &&
		    pt__parse_error(p, n, &c, msg, sizeof msg) == 0)
			*code = c;
		if (type == PT__MSG_WELCOME && welcomed != NULL)
			*welcomed = 1;
	}
}

/* Raw connection that said HELLO and got WELCOME. */
static int
raw_welcomed(struct raw_in *r)
{
	struct pt__buf b;
	const uint8_t *p;
	uint16_t type;
	size_t n;
	int fd;

	if ((fd = raw_connect()) == -1)
		return -1;
	pt__buf_init(&b, 4096);
	pt__msg_hello(&b);
	raw_send_buf(fd, &b);
	pt__buf_free(&b);
	raw_in_init(r, fd);
	if (raw_frame(r, 2000, &type, &p, &n) != 1 ||
	    type != PT__MSG_WELCOME) {
		pt__buf_free(&r->buf);
		close(fd);
		return -1;
	}
	return fd;
}

static void
raw_close(struct raw_in *r)
{
	close(r->fd);
	pt__buf_free(&r->buf);
}

/* Opens a client to ourselves or fails the test. */
static struct pt__client *
open_self(void)
{
	struct pt__client *c = NULL;
	char err[256];
	int rc;

	rc = pt__client_open(getpid(), 2000, &c, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "\nclient_open: %s (%s)\n", pt_strerror(rc), err);
	CU_ASSERT_EQUAL(rc, 0);
	return c;
}

/* Waits for the next snapshot (skipping other events); NULL on failure. */
static pt_snapshot *
next_snapshot(struct pt__client *c, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	struct pt__event ev;
	int rc;

	do {
		uint64_t t = now_ms();

		rc = pt__client_next(c, (int)(end > t ? end - t : 0), &ev);
		if (rc < 0)
			fprintf(stderr, "\nclient_next: %s\n", pt_strerror(rc));
		if (rc != 1)
			return NULL;
		if (ev.type == PT__EV_SNAPSHOT)
			return ev.snap;
	} while (now_ms() < end);
	return NULL;
}

/* Drops what is queued and returns a snapshot that arrives afterwards. */
static pt_snapshot *
fresh_snapshot(struct pt__client *c, int ms)
{
	struct pt__event ev;

	while (pt__client_next(c, 0, &ev) == 1)
		pt_snapshot_free(ev.snap);
	return next_snapshot(c, ms);
}

static uint64_t
op_count(const pt_snapshot *s, const char *name)
{
	const pt_op_stats *op = pt_snapshot_find_op(s, name);

	return op != NULL ? op->count : 0;
}

/* ------------------------------------------------------------------------ */
/* Socket directory                                                          */
/* ------------------------------------------------------------------------ */

static void
test_sockdir_rules(void)
{
	char dir[PATH_LEN], sub[128], link[512], err[512], want[512];
	char longdir[200];
	struct stat st;
	mode_t old;

	/* Missing directory: ENOENT without create; created 0700 with it,
	 * whatever the umask. */
	snprintf(sub, sizeof sub, "%s/new", tmpdir);
	setenv("PERFTOP_SOCKET_DIR", sub, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 0, err, sizeof err),
	    PT_ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, sub));
	old = umask(0);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err), 0);
	umask(old);
	CU_ASSERT_STRING_EQUAL(dir, sub);
	CU_ASSERT(stat(sub, &st) == 0 && (st.st_mode & 07777) == 0700);

	/* Trailing slashes are dropped. */
	snprintf(link, sizeof link, "%s//", sub);
	setenv("PERFTOP_SOCKET_DIR", link, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 0, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(dir, sub);

	/* A symbolic link to a good directory is refused. */
	snprintf(link, sizeof link, "%s/link", tmpdir);
	CU_ASSERT_EQUAL(symlink(sub, link), 0);
	setenv("PERFTOP_SOCKET_DIR", link, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, link));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "symbolic link"));

	/* Group/other permissions are refused, with the mode in the text. */
	CU_ASSERT_EQUAL(chmod(sub, 0777), 0);
	setenv("PERFTOP_SOCKET_DIR", sub, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_EPERM);
	snprintf(want, sizeof want, "%s: unsafe permissions 0777 (must be "
	    "0700)", sub);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(chmod(sub, 0750), 0);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0750"));
	CU_ASSERT_EQUAL(chmod(sub, 0700), 0);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err), 0);

	/* A file that is not a directory. */
	snprintf(link, sizeof link, "%s/file", tmpdir);
	close(open(link, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	setenv("PERFTOP_SOCKET_DIR", link, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a directory"));

	/* Owned by someone else (needs root to arrange). */
	if (geteuid() == 0) {
		snprintf(link, sizeof link, "%s/other", tmpdir);
		CU_ASSERT_EQUAL(mkdir(link, 0700), 0);
		CU_ASSERT_EQUAL(chown(link, 65534, 65534), 0);
		setenv("PERFTOP_SOCKET_DIR", link, 1);
		CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err,
		    sizeof err), PT_EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "owned by uid 65534"));
	}

	/* Too long for sun_path. */
	memset(longdir, 'x', sizeof longdir - 1);
	longdir[0] = '/';
	longdir[sizeof longdir - 1] = '\0';
	setenv("PERFTOP_SOCKET_DIR", longdir, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_ENAMETOOLONG);

	/* Relative override: refused. */
	setenv("PERFTOP_SOCKET_DIR", "relative/dir", 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 0, err, sizeof err),
	    PT_EINVAL);

	/* XDG_RUNTIME_DIR when usable, else /tmp/perftop-UID. */
	unsetenv("PERFTOP_SOCKET_DIR");
	setenv("XDG_RUNTIME_DIR", tmpdir, 1);
	pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	snprintf(want, sizeof want, "%s/perftop", tmpdir);
	CU_ASSERT_STRING_EQUAL(dir, want);
	snprintf(want, sizeof want, "/tmp/perftop-%lu",
	    (unsigned long)geteuid());
	setenv("XDG_RUNTIME_DIR", "relative", 1);
	pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	CU_ASSERT_STRING_EQUAL(dir, want);
	snprintf(link, sizeof link, "%s/no-such-dir", tmpdir);
	setenv("XDG_RUNTIME_DIR", link, 1);
	pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	CU_ASSERT_STRING_EQUAL(dir, want);
	unsetenv("XDG_RUNTIME_DIR");
	pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	CU_ASSERT_STRING_EQUAL(dir, want);

	/* The socket path. */
	CU_ASSERT_EQUAL(pt__sockpath("/d", 42, dir, sizeof dir), 0);
	CU_ASSERT_STRING_EQUAL(dir, "/d/42.sock");
	CU_ASSERT_EQUAL(pt__sockpath("/d", 42, dir, 5), PT_ENAMETOOLONG);
	CU_ASSERT_EQUAL(pt__sockpath("/d", 0, dir, sizeof dir), PT_EINVAL);

	setenv("PERFTOP_SOCKET_DIR", tmpdir, 1);
}

/* ------------------------------------------------------------------------ */
/* Agent life cycle                                                          */
/* ------------------------------------------------------------------------ */

static void
test_start_stop(void)
{
	CU_ASSERT_EQUAL(pt_agent_start(), 0);
	CU_ASSERT_EQUAL(pt_agent_start(), 0);	/* already running */
	CU_ASSERT(exists(sockfile));
	CU_ASSERT(find_thread("perftop-agent") > 0);
	CU_ASSERT_EQUAL(pt_agent_stop(), 0);
	CU_ASSERT(!exists(sockfile));
	CU_ASSERT_EQUAL(find_thread("perftop-agent"), -1);
	CU_ASSERT_EQUAL(pt_agent_stop(), 0);	/* not running */

	/* A stale file with our name is replaced. */
	close(open(sockfile, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	CU_ASSERT_EQUAL(pt_agent_start(), 0);
	CU_ASSERT(exists(sockfile));
	{
		struct pt__client *c = open_self();

		pt__client_close(c);
	}

	/* Switched off by the environment. */
	CU_ASSERT_EQUAL(pt_agent_stop(), 0);
	setenv("PERFTOP_AGENT", "off", 1);
	CU_ASSERT_EQUAL(pt_agent_start(), PT_EDISABLED);
	CU_ASSERT(!exists(sockfile));
	setenv("PERFTOP_AGENT", "0", 1);
	CU_ASSERT_EQUAL(pt_agent_start(), PT_EDISABLED);
	setenv("PERFTOP_AGENT", "1", 1);
	CU_ASSERT_EQUAL(pt_agent_start(), 0);
	unsetenv("PERFTOP_AGENT");
	CU_ASSERT(exists(sockfile));

	/* An unsafe directory. */
	{
		char bad[256];

		CU_ASSERT_EQUAL(pt_agent_stop(), 0);
		snprintf(bad, sizeof bad, "%s/unsafe", tmpdir);
		CU_ASSERT_EQUAL(mkdir(bad, 0700), 0);
		CU_ASSERT_EQUAL(chmod(bad, 0777), 0);
		setenv("PERFTOP_SOCKET_DIR", bad, 1);
		CU_ASSERT_EQUAL(pt_agent_start(), PT_EPERM);
		setenv("PERFTOP_SOCKET_DIR", tmpdir, 1);
		CU_ASSERT_EQUAL(pt_agent_start(), 0);
	}
}

/* ------------------------------------------------------------------------ */
/* Client                                                                    */
/* ------------------------------------------------------------------------ */

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
	CU_ASSERT(now_ms() - t0 < 1000);
	pt_snapshot_free(s);
out:
	pt__client_close(a);
	pt__client_close(b);
}

/* ------------------------------------------------------------------------ */
/* Protocol errors                                                           */
/* ------------------------------------------------------------------------ */

static void
test_version_mismatch(void)
{
	struct pt__buf b;
	struct raw_in r;
	uint8_t *f;
	char msg[256];
	const uint8_t *p;
	uint16_t type;
	size_t n;
	int fd, code;

	fd = raw_connect();
	CU_ASSERT_FATAL(fd >= 0);
	/* A HELLO of ours with the version field changed to 99 (as a u32le
	 * or a one-byte varint, it ends the frame). */
	pt__buf_init(&b, 4096);
	CU_ASSERT_EQUAL(pt__msg_hello(&b), 0);
	f = b.data + b.off;
	CU_ASSERT_EQUAL(f[b.len - 1], PT__PROTO_VERSION);
	f[b.len - 1] = 99;
	CU_ASSERT_EQUAL(raw_send_buf(fd, &b), 0);
	pt__buf_free(&b);

	raw_in_init(&r, fd);
	CU_ASSERT_EQUAL_FATAL(raw_frame(&r, 2000, &type, &p, &n), 1);
	CU_ASSERT_EQUAL(type, PT__MSG_ERROR);
	CU_ASSERT_EQUAL(pt__parse_error(p, n, &code, msg, sizeof msg), 0);
	CU_ASSERT_EQUAL(code, PT_EVERSION);
	{
		char want[64];

		snprintf(want, sizeof want,
		    "protocol version 99, agent speaks %d", PT__PROTO_VERSION);
		CU_ASSERT_STRING_EQUAL(msg, want);
	}
	CU_ASSERT_EQUAL(raw_frame(&r, 2000, &type, &p, &n), -1);
	raw_close(&r);
}

struct bad_case {
	const char	*what;
	int		 hello_first;
	uint8_t		 bytes[32];
	size_t		 len;
};

static void
test_bad_input(void)
{
	static struct bad_case cases[] = {
		{ "garbage", 0, "GET / HTTP/1.1\r\n\r\n", 18 },
		{ "length 0", 1, { 0, 0, 0, 0, 4, 0, 0, 0 }, 8 },
		{ "length 0 first", 0, { 0, 0, 0, 0, 1, 0, 0, 0 }, 8 },
		{ "length 7", 1, { 7, 0, 0, 0, 4, 0, 0, 0 }, 8 },
		{ "length max+1", 1, { 1, 0, 0, 1, 4, 0, 0, 0 }, 8 },
		{ "length 0xffffffff", 1, { 0xff, 0xff, 0xff, 0xff, 4, 0 }, 8 },
		{ "unknown type", 1, { 8, 0, 0, 0, 77, 0, 0, 0 }, 8 },
		{ "welcome from viewer", 1, { 8, 0, 0, 0, 2, 0, 0, 0 }, 8 },
		{ "second hello", 1, { 8, 0, 0, 0, 1, 0, 0, 0 }, 8 },
		{ "reserved set", 1, { 8, 0, 0, 0, 5, 0, 1, 0 }, 8 },
		{ "subscribe first", 0, { 9, 0, 0, 0, 4, 0, 0, 0, 5 }, 9 },
		{ "bad subscribe", 1, { 10, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff },
		    10 },
		{ "request with payload", 1, { 9, 0, 0, 0, 5, 0, 0, 0, 0 }, 9 },
	};
	struct pt__client *good = open_self();
	struct raw_in r;
	pt_snapshot *s;
	size_t i;
	int fd, code, closed;

	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_EQUAL(pt__client_subscribe(good, 20), 0);
	s = next_snapshot(good, 2000);
	CU_ASSERT_PTR_NOT_NULL(s);
	pt_snapshot_free(s);

	/* A frame of PT__FRAME_MAX + 1 bytes, little-endian. */
	raw_header(cases[4].bytes, PT__FRAME_MAX + 1, 4, 0);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].hello_first) {
			fd = raw_welcomed(&r);
		} else {
			fd = raw_connect();
			raw_in_init(&r, fd);
		}
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(raw_send(fd, cases[i].bytes, cases[i].len), 0);
		closed = raw_expect_close(&r, 1500, &code, NULL);
		if (!closed || code != PT_EPROTO)
			fprintf(stderr, "\n%s: closed %d code %d\n",
			    cases[i].what, closed, code);
		CU_ASSERT(closed);
		CU_ASSERT_EQUAL(code, PT_EPROTO);
		raw_close(&r);

		/* The other viewer is still served. */
		s = fresh_snapshot(good, 1000);
		CU_ASSERT_PTR_NOT_NULL(s);
		pt_snapshot_free(s);
	}

	/* Wrong magic: closed without a word. */
	{
		uint8_t h[16] = { 16, 0, 0, 0, 1, 0, 0, 0, 'N', 'O', 'P', 'E',
		    1, 0, 0, 0 };
		int welcomed;

		fd = raw_connect();
		raw_in_init(&r, fd);
		CU_ASSERT_EQUAL(raw_send(fd, h, sizeof h), 0);
		CU_ASSERT(raw_expect_close(&r, 1500, &code, &welcomed));
		CU_ASSERT(!welcomed);
		raw_close(&r);
	}

	/* BYE ends the connection quietly. */
	fd = raw_welcomed(&r);
	CU_ASSERT_FATAL(fd >= 0);
	{
		uint8_t bye[8];

		raw_header(bye, 8, PT__MSG_BYE, 0);
		CU_ASSERT_EQUAL(raw_send(fd, bye, 8), 0);
		CU_ASSERT(raw_expect_close(&r, 1500, &code, NULL));
		CU_ASSERT_EQUAL(code, 0);
	}
	raw_close(&r);

	s = fresh_snapshot(good, 1000);
	CU_ASSERT_PTR_NOT_NULL(s);
	pt_snapshot_free(s);
	pt__client_close(good);
}

static void
test_handshake_deadline(void)
{
	struct raw_in r1, r2;
	uint64_t t0;
	int fd1, fd2, code1, code2, welcomed;

	t0 = now_ms();
	fd1 = raw_connect();	/* says nothing */
	fd2 = raw_connect();	/* says half a header */
	CU_ASSERT_FATAL(fd1 >= 0 && fd2 >= 0);
	raw_in_init(&r1, fd1);
	raw_in_init(&r2, fd2);
	CU_ASSERT_EQUAL(raw_send(fd2, "\x10\0", 2), 0);
	CU_ASSERT(raw_expect_close(&r1, PT__HANDSHAKE_MS + 1500, &code1,
	    &welcomed));
	CU_ASSERT(!welcomed);
	CU_ASSERT(raw_expect_close(&r2, 1500, &code2, NULL));
	CU_ASSERT(now_ms() - t0 >= PT__HANDSHAKE_MS - 50);
	CU_ASSERT(now_ms() - t0 < PT__HANDSHAKE_MS + 1000);
	CU_ASSERT_EQUAL(code1, PT_ETIMEDOUT);
	raw_close(&r1);
	raw_close(&r2);
}

static void
test_viewers_max(void)
{
	struct pt__client *c[PT__VIEWERS_MAX], *extra = NULL;
	char err[256];
	int i, rc;

	/* A fresh agent: no viewer of an earlier test is still closing. */
	pt_agent_stop();
	CU_ASSERT_EQUAL_FATAL(pt_agent_start(), 0);
	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		rc = pt__client_open(getpid(), 2000, &c[i], err, sizeof err);
		CU_ASSERT_EQUAL(rc, 0);
		if (rc != 0)
			c[i] = NULL;
	}
	rc = pt__client_open(getpid(), 2000, &extra, err, sizeof err);
	CU_ASSERT_EQUAL(rc, PT_EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "too many viewers"));
	for (i = 0; i < PT__VIEWERS_MAX; i++)
		pt__client_close(c[i]);
	/* Room again once the agent has seen them go. */
	for (i = 0; i < 100; i++) {
		if (pt__client_open(getpid(), 2000, &extra, err,
		    sizeof err) == 0)
			break;
		sleep_ms(10);
	}
	CU_ASSERT_PTR_NOT_NULL(extra);
	pt__client_close(extra);
}

/* As root: a peer with another uid is closed without a WELCOME. */
static void
test_peer_uid(void)
{
	pid_t child;
	int status;

	if (geteuid() != 0)
		return;
	/* Let uid 65534 reach the socket. */
	CU_ASSERT_EQUAL(chmod(tmpdir, 0711), 0);
	CU_ASSERT_EQUAL(chmod(sockfile, 0777), 0);
	fflush(stdout);
	fflush(stderr);
	child = fork();
	if (child == 0) {
		struct raw_in r;
		struct pt__buf b;
		int fd, code, welcomed;

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		if ((fd = raw_connect()) == -1)
			_exit(2);
		pt__buf_init(&b, 4096);
		pt__msg_hello(&b);
		(void)raw_send_buf(fd, &b);
		raw_in_init(&r, fd);
		if (!raw_expect_close(&r, 2000, &code, &welcomed))
			_exit(4);
		_exit(welcomed ? 1 : 0);
	}
	CU_ASSERT_FATAL(child > 0);
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	CU_ASSERT_EQUAL(chmod(tmpdir, 0700), 0);
}

/* ------------------------------------------------------------------------ */
/* Signals, descriptors, fork                                                */
/* ------------------------------------------------------------------------ */

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
		if (running_on_valgrind() && (s == SIGRTMAX || s == SIGILL ||
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
		rc = pt__client_open(getpid(), 2000, &c, err, sizeof err);
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
		if (pt__client_open(getppid(), 2000, &cc, err,
		    sizeof err) != 0)
			_exit(14);
		if (pt__client_welcome(cc)->pid != getppid())
			_exit(15);
		pt__client_close(cc);
		if (TSAN)
			exit(0);
		/* ...and the child may serve its own. */
		if (pt_agent_start() != 0)
			_exit(16);
		if (pt__client_open(me, 2000, &cc, err, sizeof err) != 0)
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
	if (TSAN)
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

/* ------------------------------------------------------------------------ */
/* A viewer that stops reading                                               */
/* ------------------------------------------------------------------------ */

#define BULK_SITES	2000

static pt_site	bulk[BULK_SITES];
static char	bulk_names[BULK_SITES][24];

static void
test_slow_viewer_dropped(void)
{
	struct pt__client *good;
	struct raw_in r;
	struct pollfd pfd;
	struct pt__buf b;
	pt_snapshot *s;
	uint64_t end, total = 0;
	char junk[65536];
	ssize_t got;
	int fd, i, k, round = 0, hup = 0, good_snaps = 0;

	/* A viewer that reads nothing is owed snapshots, not sent them; it
	 * is dropped once its socket took nothing for this long. */
	__atomic_store_n(&pt__agent_stall_ms, 2000, __ATOMIC_RELAXED);
	for (i = 0; i < BULK_SITES; i++) {
		snprintf(bulk_names[i], sizeof bulk_names[i], "bulk.%04d", i);
		bulk[i].pt_name = bulk_names[i];
		bulk[i].pt_kind = PT_KIND_OP;
		CU_ASSERT_FATAL(pt_site_register(&bulk[i]) > 0);
	}
	good = open_self();
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_EQUAL(pt__client_subscribe(good, 200), 0);

	fd = raw_welcomed(&r);
	CU_ASSERT_FATAL(fd >= 0);
	pt__buf_init(&b, 4096);
	pt__msg_u64(&b, PT__MSG_SUBSCRIBE, 10);
	CU_ASSERT_EQUAL(raw_send_buf(fd, &b), 0);
	pt__buf_free(&b);

	/*
	 * Keep every operation changing, in 64 buckets each by large
	 * amounts, so every snapshot is big (about 0.5 MB) and cheap to take
	 * (one bucket group per operation); never read fd.
	 */
	end = now_ms() + 15000;
	while (now_ms() < end && !hup) {
		for (i = 0; i < BULK_SITES; i++)
			for (k = 0; k < 64; k++)
				pt__test_record_ticks(&bulk[i],
				    4096 + 64 * (uint64_t)k, 1000003);
		round++;
		pfd.fd = fd;
		pfd.events = POLLRDHUP;
		pfd.revents = 0;
		if (poll(&pfd, 1, 5) == 1 &&
		    (pfd.revents & (POLLHUP | POLLRDHUP)))
			hup = 1;
		while ((s = next_snapshot(good, 0)) != NULL) {
			good_snaps++;
			pt_snapshot_free(s);
		}
	}
	CU_ASSERT(hup);
	CU_ASSERT(good_snaps > 0);
	if (getenv("PT_TEST_DEBUG"))
		fprintf(stderr, "\nrounds %d, %d snapshots to the good viewer, "
		    "hup %d\n", round, good_snaps, hup);
	if (!hup) {
		raw_close(&r);
		pt__client_close(good);
		__atomic_store_n(&pt__agent_stall_ms, 60000, __ATOMIC_RELAXED);
		return;
	}
	/* What it had been sent is bounded by its buffer (plus what the
	 * socket itself holds), then EOF. */
	for (;;) {
		got = recv(fd, junk, sizeof junk, 0);
		if (got <= 0)
			break;
		total += (uint64_t)got;
	}
	CU_ASSERT_EQUAL(got, 0);
	/* What the socket held and at most one frame more (the agent makes
	 * no snapshot for a viewer still sending the last). */
	CU_ASSERT(total <= (4u << 20) + (1u << 20));
	if (getenv("PT_TEST_DEBUG"))
		fprintf(stderr, "%llu bytes were queued\n",
		    (unsigned long long)total);
	raw_close(&r);
	__atomic_store_n(&pt__agent_stall_ms, 60000, __ATOMIC_RELAXED);

	/* The well-behaved viewer is still served. */
	s = fresh_snapshot(good, 2000);
	CU_ASSERT_PTR_NOT_NULL(s);
	pt_snapshot_free(s);
	pt__client_close(good);
}

/* ------------------------------------------------------------------------ */

static int
suite_init(void)
{
	strlcpy(tmpdir, "/tmp/pt-test-agent-XXXXXX", sizeof tmpdir);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	setenv("PERFTOP_SOCKET_DIR", tmpdir, 1);
	unsetenv("PERFTOP_AGENT");
	pt__sockpath(tmpdir, getpid(), sockfile, sizeof sockfile);
	return pt_agent_start() == 0 ? 0 : -1;
}

static void
rm_tree(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (unlink(path) == -1)
			rm_tree(path);
	}
	closedir(d);
	rmdir(dir);
}

static int
suite_clean(void)
{
	pt_agent_stop();
	rm_tree(tmpdir);
	return 0;
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "sockdir rules", test_sockdir_rules },
		{ "start and stop", test_start_stop },
		{ "client errors", test_client_errors },
		{ "client stream", test_client_stream },
		{ "reset bumps the epoch", test_reset_epoch },
		{ "version mismatch", test_version_mismatch },
		{ "bad input closes one viewer", test_bad_input },
		{ "handshake deadline", test_handshake_deadline },
		{ "at most PT__VIEWERS_MAX viewers", test_viewers_max },
		{ "peer uid check", test_peer_uid },
		{ "signals untouched", test_signals_untouched },
		{ "connect cycles leak no fd", test_fd_cycles },
		{ "fork", test_fork },
		{ "slow viewer dropped", test_slow_viewer_dropped },
	};

	return cunit_run("agent", suite_init, suite_clean, tests,
	    CUNIT_COUNT(tests));
}
