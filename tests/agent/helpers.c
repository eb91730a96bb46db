/*
 * helpers.c - what the tests of test-agent share: the socket directory of
 * the run, clocks, the agent's thread, raw connections to the agent,
 * clients of it, and the suite's setup and cleanup.
 */
#include "agent-test.h"

char	tmpdir[64];
char	sockfile[PATH_LEN];

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

uint64_t
now_ms(void)
{
	return pt__mono_ns() / 1000000u;
}

void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* TID of the thread called name, or -1. */
pid_t
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
int
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

int
raw_send(int fd, const void *p, size_t n)
{
	return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

int
raw_send_buf(int fd, struct pt__buf *b)
{
	int rc = raw_send(fd, pt__buf_head(b), b->len);

	pt__buf_consume(b, b->len);
	return rc;
}

void
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
int
raw_frame(struct raw_in *r, int ms, uint16_t *type, const uint8_t **p,
    size_t *n)
{
	uint64_t end = now_ms() + (uint64_t)cunit_wait_ms(ms);
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

/* Raw connection that said HELLO and got WELCOME. */
int
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

void
raw_close(struct raw_in *r)
{
	close(r->fd);
	pt__buf_free(&r->buf);
}

/* Opens a client to ourselves or fails the test. */
struct pt__client *
open_self(void)
{
	struct pt__client *c = NULL;
	char err[256];
	int rc;

	rc = pt__client_open(getpid(), cunit_wait_ms(2000), &c, err,
	    sizeof err);
	if (rc != 0)
		fprintf(stderr, "\nclient_open: %s (%s)\n", pt_strerror(rc), err);
	CU_ASSERT_EQUAL(rc, 0);
	return c;
}

/* Waits for the next snapshot (skipping other events); NULL on failure. */
pt_snapshot *
next_snapshot(struct pt__client *c, int ms)
{
	uint64_t end = now_ms() + (uint64_t)cunit_wait_ms(ms);
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
pt_snapshot *
fresh_snapshot(struct pt__client *c, int ms)
{
	struct pt__event ev;

	while (pt__client_next(c, 0, &ev) == 1)
		pt_snapshot_free(ev.snap);
	return next_snapshot(c, ms);
}

/* ------------------------------------------------------------------------ */
/* Setup and cleanup of the suite                                            */
/* ------------------------------------------------------------------------ */

int
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

int
suite_clean(void)
{
	pt_agent_stop();
	rm_tree(tmpdir);
	return 0;
}
