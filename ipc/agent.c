/*
 * agent.c - the agent thread that serves snapshots to perftop: its poll()
 * loop, start, stop, exit and fork (viewer.c has the viewers).
 *
 * One thread per process listens on DIR/PID.sock (see sockpath.c) and serves
 * up to PT__VIEWERS_MAX viewers from a single poll() loop: the listening
 * socket, an eventfd that pt_agent_stop() uses to wake it, and the viewers.
 * The poll timeout is the earliest viewer deadline (handshake or next
 * streamed snapshot), so an idle agent sleeps.
 *
 * The agent runs inside someone else's program, so it keeps out of the way:
 * it blocks every signal and installs no handler, sends with MSG_NOSIGNAL,
 * never blocks on a viewer (non-blocking sockets, bounded buffers: a viewer
 * that falls too far behind is dropped), never prints, never exits the
 * process and records nothing into the statistics it serves.  The only lock
 * it takes is pt__lock, inside its snapshot refresh, pt_snapshot_take()
 * and pt_reset(); the hot path takes none, and threads that start or exit
 * meanwhile do not wait for it (pt__lock_threads_long()).
 *
 * State shared with callers lives in pt__agent (agent.h) under its mu,
 * which the agent thread itself never takes: pt_agent_start() and
 * pt_agent_stop() hold it while they set up or tear down, and the fork
 * handlers hold it across fork() so the child sees a consistent state.
 *
 * fork(): the child has no agent thread.  Its atfork handler closes the
 * inherited descriptors (close-on-exec does not help a child that does not
 * exec), marks the agent stopped and forgets the socket path, so neither
 * pt_agent_stop() nor the atexit handler in the child can remove the
 * parent's socket.  The child may call pt_agent_start() to serve its own
 * PID.
 */
#include "agent.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#define AGENT_THREAD_NAME	"perftop-agent"
#define AGENT_BACKLOG		16

struct pt__agent pt__agent = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.lfd = -1,
	.wfd = -1,
};

static pthread_once_t	hooks_once = PTHREAD_ONCE_INIT;

/*
 * In a forked child, the viewers inherited from the parent, kept only so
 * that their memory stays reachable (leak checkers stay quiet): it cannot be
 * freed, since the agent thread may have been changing it at the fork.
 */
static struct pt__viewer orphans[PT__VIEWERS_MAX];
static struct pt__snapcache orphan_cache;

/* ------------------------------------------------------------------------ */
/* The thread                                                                */
/* ------------------------------------------------------------------------ */

/* Learns when the library started, for WELCOME. */
static void
learn_start(void)
{
	uint64_t up = pt__uptime_ns(), mono = pt__mono_ns(),
	    real = pt__real_ns();

	pt__agent.start_mono = mono > up ? mono - up : 0;
	pt__agent.start_real = real > up ? real - up : 0;
}

static void *
agent_main(void *arg)
{
	struct pollfd pfd[2 + PT__VIEWERS_MAX];
	int slot[2 + PT__VIEWERS_MAX];
	struct pt__viewer *v;
	sigset_t all;
	uint64_t now, junk;
	int i, n, nfds, timeout;

	(void)arg;
	/* Blocked already (inherited from the creator); belt and braces. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	learn_start();

	while (!__atomic_load_n(&pt__agent.stop, __ATOMIC_ACQUIRE)) {
		now = pt__mono_ns();
		timeout = pt__agent_poll_timeout(now);
		pfd[0].fd = pt__agent.wfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = pt__agent.accept_pause > now ? -1 : pt__agent.lfd;
		pfd[1].events = POLLIN;
		nfds = 2;
		for (i = 0; i < PT__VIEWERS_MAX; i++) {
			v = &pt__agent.viewers[i];
			if (v->state == V_FREE)
				continue;
			pfd[nfds].fd = v->fd;
			pfd[nfds].events = POLLIN |
			    (v->out.len > 0 ? POLLOUT : 0);
			slot[nfds++] = i;
		}
		for (i = 0; i < nfds; i++)
			pfd[i].revents = 0;
		n = poll(pfd, (nfds_t)nfds, timeout);
		if (n == -1) {
			if (errno != EINTR) {
				/* ENOMEM: back off rather than spin. */
				struct timespec ts = { 0, 10 * 1000000L };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		if (pfd[0].revents & POLLIN)
			(void)read(pt__agent.wfd, &junk, sizeof junk);
		if (__atomic_load_n(&pt__agent.stop, __ATOMIC_ACQUIRE))
			break;
		now = pt__mono_ns();
		for (i = 2; i < nfds; i++) {
			v = &pt__agent.viewers[slot[i]];
			if (v->state == V_FREE)
				continue;
			if ((pfd[i].revents & POLLOUT) && pt__viewer_flush(v) != 0) {
				pt__viewer_close(v);
				continue;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR |
			    POLLNVAL))
				pt__viewer_read(v);
		}
		if (pfd[1].revents & POLLIN)
			pt__agent_accept(now);
		pt__agent_run_timers(pt__mono_ns());
		/* Send right away what this round queued. */
		for (i = 0; i < PT__VIEWERS_MAX; i++) {
			v = &pt__agent.viewers[i];
			if (v->state != V_FREE && v->out.len > 0 &&
			    pt__viewer_flush(v) != 0)
				pt__viewer_close(v);
		}
	}
	for (i = 0; i < PT__VIEWERS_MAX; i++)
		if (pt__agent.viewers[i].state != V_FREE)
			pt__viewer_close(&pt__agent.viewers[i]);
	pt__snapcache_free(&pt__agent.cache);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Start, stop, exit and fork                                                */
/* ------------------------------------------------------------------------ */

/* Removes the socket file if it is still the one this process bound. */
static void
unlink_ours(void)
{
	struct stat st;

	if (__atomic_load_n(&pt__agent.bound_pid, __ATOMIC_ACQUIRE) != getpid())
		return;
	if (lstat(pt__agent.path, &st) == 0 && st.st_dev == pt__agent.dev &&
	    st.st_ino == pt__agent.ino)
		(void)unlink(pt__agent.path);
}

/* At exit: remove the socket; the thread dies with the process. */
static void
agent_atexit(void)
{
	unlink_ours();
	__atomic_store_n(&pt__agent.bound_pid, 0, __ATOMIC_RELEASE);
}

static void
atfork_prepare(void)
{
	pthread_mutex_lock(&pt__agent.mu);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&pt__agent.mu);
}

/*
 * In the child: the agent thread does not exist here.  Close the inherited
 * descriptors, forget the socket.  The viewers' buffers are set aside in
 * orphans, never freed: the thread may have been changing them when fork()
 * happened.  Only async-signal-safe calls here.
 */
static void
atfork_child(void)
{
	int i, fd;

	if (pt__agent.running) {
		memcpy(orphans, pt__agent.viewers, sizeof orphans);
		/* Nothing reads orphans: keep the compiler from dropping it. */
		__asm__ volatile("" : : "r"(orphans) : "memory");
		for (i = 0; i < PT__VIEWERS_MAX; i++) {
			fd = __atomic_load_n(&pt__agent.viewers[i].fd,
			    __ATOMIC_SEQ_CST);
			if (fd >= 0)
				close(fd);
			memset(&pt__agent.viewers[i], 0, sizeof pt__agent.viewers[i]);
			pt__agent.viewers[i].fd = -1;
		}
		pt__agent.n_viewers = 0;
		memcpy(&orphan_cache, &pt__agent.cache, sizeof orphan_cache);
		__asm__ volatile("" : : "r"(&orphan_cache) : "memory");
		memset(&pt__agent.cache, 0, sizeof pt__agent.cache);
		if (pt__agent.lfd >= 0)
			close(pt__agent.lfd);
		if (pt__agent.wfd >= 0)
			close(pt__agent.wfd);
		pt__agent.lfd = pt__agent.wfd = -1;
		pt__agent.running = 0;
	}
	pt__agent.stop = 0;
	pt__agent.path[0] = '\0';
	__atomic_store_n(&pt__agent.bound_pid, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&pt__agent.mu);
}

static void
hooks_install(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	atexit(agent_atexit);
}

/* Closes the descriptors and removes the socket.  Under mu, thread gone. */
static void
teardown(void)
{
	unlink_ours();
	__atomic_store_n(&pt__agent.bound_pid, 0, __ATOMIC_RELEASE);
	pt__agent.path[0] = '\0';
	if (pt__agent.lfd >= 0)
		close(pt__agent.lfd);
	if (pt__agent.wfd >= 0)
		close(pt__agent.wfd);
	pt__agent.lfd = pt__agent.wfd = -1;
}

static int
disabled_by_env(void)
{
	const char *e = getenv("PERFTOP_AGENT");

	return e != NULL && (strcmp(e, "0") == 0 ||
	    strcasecmp(e, "off") == 0 || strcasecmp(e, "no") == 0 ||
	    strcasecmp(e, "false") == 0);
}

/* Binds DIR/PID.sock, replacing a stale one; under mu. */
static int
bind_socket(void)
{
	struct sockaddr_un sa;
	struct stat st;
	char dir[sizeof sa.sun_path], err[256];
	int rc, fd;

	rc = pt__sockdir(dir, sizeof dir, 1, err, sizeof err);
	if (rc != 0)
		return rc == PT_EPERM || rc == PT_ENOMEM ? rc : PT_ESYS;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (pt__sockpath(dir, getpid(), sa.sun_path, sizeof sa.sun_path) != 0)
		return PT_ESYS;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return PT_ESYS;
	/* We are PID: a file with our name is a leftover of a dead process. */
	if (unlink(sa.sun_path) == -1 && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
		goto fail;
	if (lstat(sa.sun_path, &st) == -1) {
		(void)unlink(sa.sun_path);
		goto fail;
	}
	strlcpy(pt__agent.path, sa.sun_path, sizeof pt__agent.path);
	pt__agent.dev = st.st_dev;
	pt__agent.ino = st.st_ino;
	__atomic_store_n(&pt__agent.bound_pid, getpid(), __ATOMIC_RELEASE);
	pt__agent.lfd = fd;
	if (listen(fd, AGENT_BACKLOG) == -1)
		return PT_ESYS;		/* the caller tears down */
	return 0;
fail:
	rc = errno;
	close(fd);
	errno = rc;
	return PT_ESYS;
}

/* Starts the agent; the caller made sure the library is initialised. */
static int
agent_start(void)
{
	sigset_t all, old;
	int i, rc;

	if (disabled_by_env())
		return PT_EDISABLED;
	pthread_once(&hooks_once, hooks_install);	/* not under mu */
	pthread_mutex_lock(&pt__agent.mu);
	if (pt__agent.running) {
		pthread_mutex_unlock(&pt__agent.mu);
		return 0;
	}
	if ((rc = bind_socket()) != 0)
		goto fail;
	pt__agent.wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pt__agent.wfd == -1) {
		rc = PT_ESYS;
		goto fail;
	}
	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		memset(&pt__agent.viewers[i], 0, sizeof pt__agent.viewers[i]);
		pt__agent.viewers[i].fd = -1;
	}
	pt__agent.n_viewers = 0;
	pt__agent.accept_pause = 0;
	__atomic_store_n(&pt__agent.stop, 0, __ATOMIC_RELEASE);

	/* The thread inherits a mask with every signal blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&pt__agent.thread, NULL, agent_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		rc = PT_ESYS;
		goto fail;
	}
	pthread_setname_np(pt__agent.thread, AGENT_THREAD_NAME);
	pt__agent.running = 1;
	pthread_mutex_unlock(&pt__agent.mu);
	return 0;
fail:
	teardown();
	pthread_mutex_unlock(&pt__agent.mu);
	return rc;
}

/* Called once by pt__init() on first use; never reports anything. */
void
pt__agent_autostart(void)
{
	(void)agent_start();
}

int
pt_agent_start(void)
{
	pt__init();	/* may autostart; we then find it running */
	return agent_start();
}

int
pt_agent_stop(void)
{
	uint64_t one = 1;

	pthread_mutex_lock(&pt__agent.mu);
	if (pt__agent.running) {
		__atomic_store_n(&pt__agent.stop, 1, __ATOMIC_RELEASE);
		while (write(pt__agent.wfd, &one, sizeof one) == -1 &&
		    errno == EINTR)
			;
		pthread_join(pt__agent.thread, NULL);
		pt__agent.running = 0;
		teardown();
	}
	pthread_mutex_unlock(&pt__agent.mu);
	return 0;
}
