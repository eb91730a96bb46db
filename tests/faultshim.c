/*
 * faultshim.c - fault injection for the tests: makes a chosen call of read,
 * write, send, recv, accept, accept4, poll, fsync or rename fail.
 *
 * Used two ways:
 *   - as tests/.libs/libfaultshim.so under LD_PRELOAD (the fault-*.sh
 *     tests), configured from the environment when it is loaded;
 *   - compiled into a test program (tests/test-export-faults), which then
 *     sets the faults itself with faultshim_configure().
 * Either way each wrapper finds the real function with dlsym(RTLD_NEXT).
 *
 * Environment:
 *   PT_FAULT=CALL:N:ERROR[,CALL:N:ERROR...]
 *       make call number N (1-based) of CALL fail with ERROR.  CALL is one
 *       of the functions above; ERROR is EINTR, EAGAIN, ECONNRESET, EPIPE,
 *       ENOSPC, EIO (the call returns -1 with that errno, and does nothing)
 *       or "short" (read, write, send and recv only: the call transfers
 *       half the bytes, at least 1; for read and recv on a socket, half of
 *       what is waiting, so that a frame really arrives in pieces).  A
 *       malformed PT_FAULT ends the process with status 97.
 *   PT_FAULT_LOG=PATH
 *       append one line per injected fault to PATH:
 *       "faultshim: pid PID: CALL #N fd FD: ERROR".
 *   PT_FAULT_PROG=NAME
 *       only act in a process whose program name is NAME or lt-NAME (not,
 *       say, in the shell of a libtool wrapper script or in timeout(1));
 *       elsewhere the shim counts nothing and injects nothing.
 *
 * What is counted: calls are numbered per function and per process image
 * (counted atomically, so across threads), but only calls on descriptors
 * that are sockets, regular files or directories - not on terminals, pipes,
 * eventfds - so that the numbers are those of the program's real I/O and do
 * not shift with how the test harness connected its standard streams.  A
 * poll counts when one of its descriptors is such a descriptor; rename
 * always counts.  Only calls that go through the dynamic linker are seen:
 * glibc's own stdio writes (printf, fputs) are not.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define FS_RULES_MAX	64

enum fs_call {
	FS_READ,
	FS_WRITE,
	FS_SEND,
	FS_RECV,
	FS_ACCEPT,
	FS_ACCEPT4,
	FS_POLL,
	FS_FSYNC,
	FS_RENAME,
	FS_NCALLS
};

static const char *const fs_call_names[FS_NCALLS] = {
	"read", "write", "send", "recv", "accept", "accept4", "poll", "fsync",
	"rename",
};

#define FS_SHORT	(-1)	/* the "error" of a short transfer */

static const struct {
	const char	*name;
	int		 err;
} fs_errors[] = {
	{ "EINTR", EINTR },
	{ "EAGAIN", EAGAIN },
	{ "ECONNRESET", ECONNRESET },
	{ "EPIPE", EPIPE },
	{ "ENOSPC", ENOSPC },
	{ "EIO", EIO },
	{ "short", FS_SHORT },
};

struct fs_rule {
	int		call;
	unsigned long	n;
	int		err;	/* errno, or FS_SHORT */
};

static struct fs_rule	fs_rules[FS_RULES_MAX];
static int		fs_nrules;
static int		fs_active;		/* 0: count and inject nothing */
static unsigned long	fs_count[FS_NCALLS];	/* atomic */
static unsigned long	fs_injected;		/* atomic */
static char		fs_log[4096];

/* The real functions. */
static ssize_t	(*real_read)(int, void *, size_t);
static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_send)(int, const void *, size_t, int);
static ssize_t	(*real_recv)(int, void *, size_t, int);
static int	(*real_accept)(int, struct sockaddr *, socklen_t *);
static int	(*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int	(*real_poll)(struct pollfd *, nfds_t, int);
static int	(*real_fsync)(int);
static int	(*real_rename)(const char *, const char *);

int	faultshim_configure(const char *spec);
unsigned long faultshim_injected(void);
unsigned long faultshim_calls(const char *call);

static void *
fs_next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		/* Nothing sensible to do without the real function. */
		fprintf(stderr, "faultshim: dlsym(%s): %s\n", name, dlerror());
		abort();
	}
	return p;
}

static void
fs_resolve(void)
{
	if (__atomic_load_n(&real_read, __ATOMIC_ACQUIRE) != NULL)
		return;
	real_write = fs_next("write");
	real_send = fs_next("send");
	real_recv = fs_next("recv");
	real_accept = fs_next("accept");
	real_accept4 = fs_next("accept4");
	real_poll = fs_next("poll");
	real_fsync = fs_next("fsync");
	real_rename = fs_next("rename");
	__atomic_store_n(&real_read, fs_next("read"), __ATOMIC_RELEASE);
}

/* Parses a PT_FAULT spec into the rules; 0, or -1 with msg filled. */
static int
fs_parse(const char *spec, char *msg, size_t msglen)
{
	char buf[2048], *item, *save = NULL, *c1, *c2, *end;
	size_t i;
	int call, nrules = 0;
	unsigned long n;

	fs_nrules = 0;
	if (spec == NULL || *spec == '\0')
		return 0;
	if (strlen(spec) >= sizeof buf) {
		snprintf(msg, msglen, "too long");
		return -1;
	}
	strcpy(buf, spec);
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (nrules == FS_RULES_MAX) {
			snprintf(msg, msglen, "more than %d faults",
			    FS_RULES_MAX);
			return -1;
		}
		if ((c1 = strchr(item, ':')) == NULL ||
		    (c2 = strchr(c1 + 1, ':')) == NULL) {
			snprintf(msg, msglen, "'%s' is not CALL:N:ERROR", item);
			return -1;
		}
		*c1 = *c2 = '\0';
		for (call = 0; call < FS_NCALLS; call++)
			if (strcmp(item, fs_call_names[call]) == 0)
				break;
		if (call == FS_NCALLS) {
			snprintf(msg, msglen, "unknown call '%s'", item);
			return -1;
		}
		errno = 0;
		n = strtoul(c1 + 1, &end, 10);
		if (errno != 0 || end == c1 + 1 || *end != '\0' || n == 0 ||
		    c1[1] == '-') {
			snprintf(msg, msglen, "bad call number '%s'", c1 + 1);
			return -1;
		}
		for (i = 0; i < sizeof fs_errors / sizeof fs_errors[0]; i++)
			if (strcmp(c2 + 1, fs_errors[i].name) == 0)
				break;
		if (i == sizeof fs_errors / sizeof fs_errors[0]) {
			snprintf(msg, msglen, "unknown error '%s'", c2 + 1);
			return -1;
		}
		if (fs_errors[i].err == FS_SHORT && call != FS_READ &&
		    call != FS_WRITE && call != FS_SEND && call != FS_RECV) {
			snprintf(msg, msglen, "%s cannot be short", item);
			return -1;
		}
		fs_rules[nrules].call = call;
		fs_rules[nrules].n = n;
		fs_rules[nrules].err = fs_errors[i].err;
		nrules++;
	}
	fs_nrules = nrules;
	return 0;
}

/* Is NAME this program (or its libtool lt- twin)? */
static int
fs_is_prog(const char *name)
{
	const char *me = program_invocation_short_name;

	if (strncmp(me, "lt-", 3) == 0)
		me += 3;
	return strcmp(me, name) == 0;
}

__attribute__((constructor)) static void
fs_init(void)
{
	const char *spec = getenv("PT_FAULT"), *log = getenv("PT_FAULT_LOG");
	const char *prog = getenv("PT_FAULT_PROG");
	char msg[256], line[512];
	int len;

	fs_resolve();
	if (prog != NULL && *prog != '\0' && !fs_is_prog(prog))
		return;
	if (log != NULL && strlen(log) < sizeof fs_log)
		strcpy(fs_log, log);
	if (fs_parse(spec, msg, sizeof msg) != 0) {
		len = snprintf(line, sizeof line, "faultshim: PT_FAULT: %s\n",
		    msg);
		if (len > 0)
			(void)!real_write(2, line, (size_t)len);
		_exit(97);
	}
	__atomic_store_n(&fs_active, fs_nrules > 0, __ATOMIC_RELEASE);
}

int
faultshim_configure(const char *spec)
{
	char msg[256];
	int i, rc;

	fs_resolve();
	__atomic_store_n(&fs_active, 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < FS_NCALLS; i++)
		__atomic_store_n(&fs_count[i], 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fs_injected, 0, __ATOMIC_SEQ_CST);
	rc = fs_parse(spec, msg, sizeof msg);
	if (rc != 0) {
		fprintf(stderr, "faultshim: %s: %s\n", spec, msg);
		return -1;
	}
	__atomic_store_n(&fs_active, fs_nrules > 0, __ATOMIC_SEQ_CST);
	return 0;
}

unsigned long
faultshim_injected(void)
{
	return __atomic_load_n(&fs_injected, __ATOMIC_SEQ_CST);
}

unsigned long
faultshim_calls(const char *call)
{
	int i;

	for (i = 0; i < FS_NCALLS; i++)
		if (strcmp(call, fs_call_names[i]) == 0)
			return __atomic_load_n(&fs_count[i], __ATOMIC_SEQ_CST);
	return 0;
}

/* Does fd count: a socket, a regular file or a directory? */
static int
fs_fd_counts(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) != 0)
		return 0;
	return S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode) ||
	    S_ISDIR(st.st_mode);
}

static void
fs_log_fault(int call, unsigned long n, int fd, int err)
{
	char line[256];
	const char *what = "short";
	size_t i;
	int lfd, len;

	__atomic_add_fetch(&fs_injected, 1, __ATOMIC_SEQ_CST);
	if (fs_log[0] == '\0')
		return;
	for (i = 0; i < sizeof fs_errors / sizeof fs_errors[0]; i++)
		if (fs_errors[i].err == err)
			what = fs_errors[i].name;
	len = snprintf(line, sizeof line, "faultshim: pid %ld: %s #%lu fd %d: "
	    "%s\n", (long)getpid(), fs_call_names[call], n, fd, what);
	if (len <= 0)
		return;
	/* O_APPEND: one write per line, whole even from several processes. */
	lfd = open(fs_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0)
		return;
	(void)!real_write(lfd, line, (size_t)len);
	close(lfd);
}

/*
 * Counts a call of call on fd (fd < -1: counts whatever the descriptor)
 * and returns what to do: 0 (nothing), an errno, or FS_SHORT.
 */
static int
fs_check(int call, int fd)
{
	unsigned long n;
	int i, saved;

	if (!__atomic_load_n(&fs_active, __ATOMIC_ACQUIRE))
		return 0;
	saved = errno;
	if (fd >= -1 && !fs_fd_counts(fd)) {
		errno = saved;
		return 0;
	}
	n = __atomic_add_fetch(&fs_count[call], 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < fs_nrules; i++) {
		if (fs_rules[i].call == call && fs_rules[i].n == n) {
			fs_log_fault(call, n, fd, fs_rules[i].err);
			errno = saved;
			return fs_rules[i].err;
		}
	}
	errno = saved;
	return 0;
}

/* Half of count, at least 1. */
static size_t
fs_half(size_t count)
{
	return count > 1 ? count / 2 : count;
}

/* Half of what is waiting on a socket (or of count when unknown). */
static size_t
fs_half_waiting(int fd, size_t count)
{
	int waiting = 0;

	if (ioctl(fd, FIONREAD, &waiting) == 0 && waiting > 0 &&
	    (size_t)waiting < count)
		count = (size_t)waiting;
	return fs_half(count);
}

ssize_t
read(int fd, void *buf, size_t count)
{
	int f;

	fs_resolve();
	if ((f = fs_check(FS_READ, fd)) == FS_SHORT)
		return real_read(fd, buf, fs_half_waiting(fd, count));
	if (f != 0) {
		errno = f;
		return -1;
	}
	return real_read(fd, buf, count);
}

ssize_t
write(int fd, const void *buf, size_t count)
{
	int f;

	fs_resolve();
	if ((f = fs_check(FS_WRITE, fd)) == FS_SHORT)
		return real_write(fd, buf, fs_half(count));
	if (f != 0) {
		errno = f;
		return -1;
	}
	return real_write(fd, buf, count);
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	int f;

	fs_resolve();
	if ((f = fs_check(FS_SEND, fd)) == FS_SHORT)
		return real_send(fd, buf, fs_half(len), flags);
	if (f != 0) {
		errno = f;
		return -1;
	}
	return real_send(fd, buf, len, flags);
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	int f;

	fs_resolve();
	if ((f = fs_check(FS_RECV, fd)) == FS_SHORT)
		return real_recv(fd, buf, fs_half_waiting(fd, len), flags);
	if (f != 0) {
		errno = f;
		return -1;
	}
	return real_recv(fd, buf, len, flags);
}

int
accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	int f;

	fs_resolve();
	if ((f = fs_check(FS_ACCEPT, fd)) != 0) {
		errno = f;
		return -1;
	}
	return real_accept(fd, addr, addrlen);
}

int
accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	int f;

	fs_resolve();
	if ((f = fs_check(FS_ACCEPT4, fd)) != 0) {
		errno = f;
		return -1;
	}
	return real_accept4(fd, addr, addrlen, flags);
}

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	nfds_t i;
	int f = 0, saved;

	fs_resolve();
	if (__atomic_load_n(&fs_active, __ATOMIC_ACQUIRE)) {
		saved = errno;
		for (i = 0; i < nfds; i++)
			if (fs_fd_counts(fds[i].fd))
				break;
		errno = saved;
		if (i < nfds)
			f = fs_check(FS_POLL, -2);
	}
	if (f != 0) {
		errno = f;
		return -1;
	}
	return real_poll(fds, nfds, timeout);
}

int
fsync(int fd)
{
	int f;

	fs_resolve();
	if ((f = fs_check(FS_FSYNC, fd)) != 0) {
		errno = f;
		return -1;
	}
	return real_fsync(fd);
}

int
rename(const char *oldpath, const char *newpath)
{
	int f;

	fs_resolve();
	if ((f = fs_check(FS_RENAME, -2)) != 0) {
		errno = f;
		return -1;
	}
	return real_rename(oldpath, newpath);
}
