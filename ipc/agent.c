/*
 * agent.c - the agent thread that serves snapshots to perftop.
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
 * it takes is pt__lock, inside pt_snapshot_take() and pt_reset(); the hot
 * path takes none.
 *
 * State shared with callers lives in the struct agent below under agent.mu,
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
#include "ipc.h"

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
/* Viewer-to-agent messages are a few bytes; anything longer is garbage. */
#define VIEWER_FRAME_MAX	4096
#define VIEWER_IN_MAX		(4 * VIEWER_FRAME_MAX)
#define READ_CHUNK		VIEWER_FRAME_MAX
#define ACCEPT_BURST		16
/* An emptied output buffer larger than this is freed. */
#define OUT_KEEP_MAX		(256 * 1024)
/* After EMFILE/ENFILE, stop accepting for a while instead of spinning. */
#define ACCEPT_PAUSE_NS		(100 * 1000000ull)
/* Viewers due within this much of now are served in the same round. */
#define DUE_SLACK_NS		(1 * 1000000ull)
#define MS			1000000ull

/*
 * A viewer whose socket takes nothing (it is stopped, or its terminal is
 * stuck) gets no new snapshot while the last one waits: it is owed one,
 * made fresh when the socket drains, so it costs the program no work and
 * no memory.  One that takes no byte for this long is dropped.
 */
int pt__agent_stall_ms = 60000;

/* The stall limit in ns (a test may change it while the thread runs). */
static uint64_t
stall_ns(void)
{
	return (uint64_t)__atomic_load_n(&pt__agent_stall_ms,
	    __ATOMIC_RELAXED) * MS;
}

enum viewer_state {
	V_FREE = 0,
	V_HELLO,		/* connected, HELLO not seen yet */
	V_READY,		/* WELCOME sent */
};

struct viewer {
	int		 fd;		/* -1 when free; see viewer_close() */
	int		 state;
	uint64_t	 deadline;	/* V_HELLO: drop at this time (ns) */
	uint32_t	 interval_ms;	/* 0: not streaming */
	uint64_t	 due;		/* next streamed snapshot (ns) */
	int		 want;		/* owed a snapshot now */
	uint64_t	 stall_from;	/* the socket refused bytes since (0: no) */
	struct pt__buf	 in;
	struct pt__buf	 out;
	struct pt__wire_tx tx;
};

static struct agent {
	pthread_mutex_t	 mu;		/* start, stop and fork */
	int		 running;	/* the thread exists; under mu */
	int		 stop;		/* atomic: asks the thread to leave */
	pthread_t	 thread;
	int		 lfd;		/* listening socket */
	int		 wfd;		/* eventfd that wakes the thread */
	/* The socket we bound, for pt_agent_stop() and the atexit handler. */
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t		 dev;
	ino_t		 ino;
	pid_t		 bound_pid;	/* atomic; 0 when nothing is bound */

	/* Everything below belongs to the agent thread while it runs. */
	uint64_t	 start_mono;	/* when the library started */
	uint64_t	 start_real;
	uint64_t	 accept_pause;	/* do not accept before this (ns) */
	int		 n_viewers;
	struct viewer	 viewers[PT__VIEWERS_MAX];
	struct pt__snapcache cache;	/* the snapshot every viewer gets */
} agent = {
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
static struct viewer	orphans[PT__VIEWERS_MAX];
static struct pt__snapcache orphan_cache;

/* ------------------------------------------------------------------------ */
/* Viewers                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Closes a viewer and frees what it owns.  The descriptor is forgotten
 * before it is closed, so a fork() in between never leaves the child's
 * atfork handler a number that may already be reused for something else.
 */
static void
viewer_close(struct viewer *v)
{
	int fd = v->fd;

	__atomic_store_n(&v->fd, -1, __ATOMIC_SEQ_CST);
	if (fd >= 0)
		close(fd);
	pt__buf_free(&v->in);
	pt__buf_free(&v->out);
	pt__wire_tx_done(&v->tx);
	v->state = V_FREE;
	v->want = 0;
	v->interval_ms = 0;
	/* Nobody watching: the program gets back the snapshot's memory. */
	if (--agent.n_viewers == 0)
		pt__snapcache_free(&agent.cache);
}

/* Sends what the viewer's output buffer holds, without blocking. */
static int
viewer_flush(struct viewer *v)
{
	ssize_t n;

	while (v->out.len > 0) {
		n = send(v->fd, pt__buf_head(&v->out), v->out.len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			pt__buf_consume(&v->out, (size_t)n);
			v->stall_from = 0;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (v->stall_from == 0)
				v->stall_from = pt__mono_ns();
			return 0;
		}
		return -1;
	}
	/* Give back the memory of a viewer that was far behind once. */
	if (v->out.cap > OUT_KEEP_MAX)
		pt__buf_free(&v->out);
	return 0;
}

/*
 * Ends a viewer after a protocol error: queues ERROR(code, message), sends
 * what it can right away (best effort), discards what the peer already sent
 * (so the close is orderly rather than a reset) and closes.
 */
static void __attribute__((format(printf, 3, 4)))
viewer_fail(struct viewer *v, int code, const char *fmt, ...)
{
	char msg[160], junk[4096];
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (pt__msg_error(&v->out, code, msg) == 0)
		(void)viewer_flush(v);
	for (i = 0; i < 16; i++)
		if (recv(v->fd, junk, sizeof junk, MSG_DONTWAIT) <= 0)
			break;
	viewer_close(v);
}

/* Takes an encoder's result: on failure closes the viewer and returns -1. */
static int
viewer_queued(struct viewer *v, int rc)
{
	if (rc != 0) {
		viewer_close(v);
		return -1;
	}
	return 0;
}

static void
send_welcome(struct viewer *v)
{
	struct pt__welcome w;
	uint64_t now = pt__mono_ns();

	memset(&w, 0, sizeof w);
	w.version = PT__PROTO_VERSION;
	w.pid = (int32_t)getpid();
	pt__process_name(w.process, sizeof w.process);
	w.start_real_ns = agent.start_real;
	w.uptime_ns = now > agent.start_mono ? now - agent.start_mono : 0;
	if (viewer_queued(v, pt__msg_welcome(&v->out, &w)) == 0)
		v->state = V_READY;
}

/* Owes every streaming viewer a snapshot now (after a reset). */
static void
wake_streams(void)
{
	int i;

	for (i = 0; i < PT__VIEWERS_MAX; i++)
		if (agent.viewers[i].state == V_READY &&
		    agent.viewers[i].interval_ms != 0)
			agent.viewers[i].want = 1;
}

/* Handles one message; the viewer may be closed on return. */
static void
viewer_message(struct viewer *v, uint16_t type, const uint8_t *p, size_t n)
{
	uint32_t version = 0;
	uint64_t val;
	int rc;

	if (v->state == V_HELLO) {
		if (type != PT__MSG_HELLO) {
			viewer_fail(v, PT_EPROTO, "expected HELLO, got "
			    "message type %u", (unsigned)type);
			return;
		}
		rc = pt__parse_hello(p, n, &version);
		if (rc == PT_EVERSION ||
		    (rc == 0 && version != PT__PROTO_VERSION)) {
			viewer_fail(v, PT_EVERSION, "protocol version %lu, "
			    "agent speaks %d", (unsigned long)version,
			    PT__PROTO_VERSION);
			return;
		}
		if (rc != 0) {
			/* Wrong magic: not a perftop viewer at all. */
			viewer_close(v);
			return;
		}
		send_welcome(v);
		return;
	}

	switch (type) {
	case PT__MSG_SUBSCRIBE:
		if (pt__parse_u64(p, n, &val) != 0) {
			viewer_fail(v, PT_EPROTO, "malformed SUBSCRIBE");
			return;
		}
		if (val == 0) {
			v->interval_ms = 0;
			return;
		}
		if (val < PT__INTERVAL_MIN_MS)
			val = PT__INTERVAL_MIN_MS;
		if (val > PT__INTERVAL_MAX_MS)
			val = PT__INTERVAL_MAX_MS;
		v->interval_ms = (uint32_t)val;
		v->want = 1;
		return;
	case PT__MSG_SNAPSHOT_REQ:
		if (n != 0) {
			viewer_fail(v, PT_EPROTO, "malformed SNAPSHOT_REQ");
			return;
		}
		v->want = 1;
		return;
	case PT__MSG_RESET:
		if (n != 0) {
			viewer_fail(v, PT_EPROTO, "malformed RESET");
			return;
		}
		pt_reset();
		val = __atomic_load_n(&pt__g.epoch, __ATOMIC_ACQUIRE);
		if (viewer_queued(v, pt__msg_u64(&v->out, PT__MSG_RESET_OK,
		    val)) == 0)
			wake_streams();
		return;
	case PT__MSG_BYE:
	case PT__MSG_ERROR:
		viewer_close(v);
		return;
	default:
		viewer_fail(v, PT_EPROTO, "unexpected message type %u",
		    (unsigned)type);
		return;
	}
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Handles the complete frames in the viewer's input buffer. */
static void
viewer_frames(struct viewer *v)
{
	const uint8_t *payload;
	size_t plen, flen;
	uint16_t type;
	uint32_t len;
	int rc;

	while (v->fd >= 0 && v->in.len > 0) {
		if (v->in.len >= 4) {
			len = le32(pt__buf_head(&v->in));
			if (len < PT__FRAME_HDR || len > VIEWER_FRAME_MAX) {
				viewer_fail(v, PT_EPROTO, "bad frame length "
				    "%lu", (unsigned long)len);
				return;
			}
		}
		rc = pt__frame_parse(pt__buf_head(&v->in), v->in.len, &type,
		    &payload, &plen, &flen);
		if (rc == 0)
			return;
		if (rc < 0) {
			viewer_fail(v, PT_EPROTO, "malformed frame header");
			return;
		}
		viewer_message(v, type, payload, plen);
		if (v->fd < 0)
			return;
		pt__buf_consume(&v->in, flen);
	}
}

/* Reads what the viewer sent (one read per wake-up, for fairness). */
static void
viewer_read(struct viewer *v)
{
	size_t room = v->in.max - v->in.len;
	ssize_t n;

	if (room > READ_CHUNK)
		room = READ_CHUNK;
	if (room == 0 || pt__buf_reserve(&v->in, room) != 0) {
		viewer_close(v);
		return;
	}
	n = recv(v->fd, v->in.data + v->in.off + v->in.len, room,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		viewer_close(v);	/* EOF or a broken connection */
		return;
	}
	v->in.len += (size_t)n;
	viewer_frames(v);
}

/* ------------------------------------------------------------------------ */
/* Accepting                                                                 */
/* ------------------------------------------------------------------------ */

/* Sends one ERROR frame on fd, best effort, for a peer we will not serve. */
static void
refuse(int fd, int code, const char *msg)
{
	struct pt__buf b;

	pt__buf_init(&b, 1024);
	if (pt__msg_error(&b, code, msg) == 0)
		(void)send(fd, pt__buf_head(&b), b.len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	pt__buf_free(&b);
}

static void
accept_viewers(uint64_t now)
{
	struct viewer *v;
	uid_t euid;
	gid_t egid;
	char msg[64];
	int fd, i, k;

	for (k = 0; k < ACCEPT_BURST; k++) {
		fd = accept4(agent.lfd, NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				agent.accept_pause = now + ACCEPT_PAUSE_NS;
			return;
		}
		if (getpeereid(fd, &euid, &egid) == -1 ||
		    (euid != geteuid() && euid != 0)) {
			close(fd);
			continue;
		}
		if (agent.n_viewers >= PT__VIEWERS_MAX) {
			snprintf(msg, sizeof msg, "too many viewers (at most "
			    "%d)", PT__VIEWERS_MAX);
			refuse(fd, PT_EBUSY, msg);
			close(fd);
			continue;
		}
		for (i = 0; i < PT__VIEWERS_MAX; i++)
			if (agent.viewers[i].state == V_FREE)
				break;
		v = &agent.viewers[i];
		memset(v, 0, sizeof *v);
		pt__buf_init(&v->in, VIEWER_IN_MAX);
		pt__buf_init(&v->out, PT__VIEWER_BUF_MAX);
		pt__wire_tx_init(&v->tx);
		v->state = V_HELLO;
		v->deadline = now + (uint64_t)PT__HANDSHAKE_MS * MS;
		__atomic_store_n(&v->fd, fd, __ATOMIC_SEQ_CST);
		agent.n_viewers++;
	}
}

/* ------------------------------------------------------------------------ */
/* Timers and snapshots                                                      */
/* ------------------------------------------------------------------------ */

/* Whether v is owed a snapshot; a viewer still sending the last waits. */
static int
is_due(const struct viewer *v, uint64_t now)
{
	return v->state == V_READY && v->out.len == 0 && (v->want ||
	    (v->interval_ms != 0 && v->due <= now + DUE_SLACK_NS));
}

/* Whether v's socket has taken nothing for too long. */
static int
is_stalled(const struct viewer *v, uint64_t now)
{
	return v->state == V_READY && v->out.len > 0 && v->stall_from != 0 &&
	    now - v->stall_from >= stall_ns();
}

/*
 * Drops viewers whose handshake deadline passed and sends a snapshot to
 * every viewer that is owed one: one refresh of the agent's snapshot for
 * all of them, which merges again only the operations that had events.
 */
static void
run_timers(uint64_t now)
{
	struct viewer *v;
	uint64_t iv;
	int i, rc = 1, by_time;

	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		v = &agent.viewers[i];
		if (v->state == V_HELLO && now >= v->deadline)
			viewer_fail(v, PT_ETIMEDOUT, "no HELLO within %d ms",
			    PT__HANDSHAKE_MS);
		else if (is_stalled(v, now))
			viewer_close(v);
	}
	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		v = &agent.viewers[i];
		if (!is_due(v, now))
			continue;
		if (rc == 1) {
			rc = pt__snapshot_refresh(&agent.cache);
		}
		by_time = v->interval_ms != 0 && v->due <= now + DUE_SLACK_NS;
		if (rc == 0) {
			/* PT_ERANGE: too far behind; anything else: broken. */
			if (pt__wire_encode_snapshot_cache(&v->tx,
			    &agent.cache, &v->out) != 0) {
				viewer_close(v);
				continue;
			}
		} else if (v->want) {
			if (viewer_queued(v, pt__msg_error(&v->out, rc,
			    "cannot take a snapshot")) != 0)
				continue;
		}
		iv = (uint64_t)v->interval_ms * MS;
		if (by_time && !v->want) {
			v->due += iv;
			if (v->due <= now)
				v->due = now + iv;
		} else
			v->due = now + iv;
		v->want = 0;
	}
}

/* Milliseconds until the earliest deadline, for poll(); -1 for none. */
static int
poll_timeout(uint64_t now)
{
	const struct viewer *v;
	uint64_t next = UINT64_MAX, wait;
	int i;

	if (agent.accept_pause > now)
		next = agent.accept_pause;
	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		v = &agent.viewers[i];
		if (v->state == V_HELLO && v->deadline < next)
			next = v->deadline;
		else if (v->state == V_READY && v->out.len > 0) {
			/* Owed nothing until its socket drains (POLLOUT). */
			if (v->stall_from != 0 && v->stall_from +
			    stall_ns() < next)
				next = v->stall_from +
				    stall_ns();
		} else if (v->state == V_READY && v->want)
			next = now;
		else if (v->state == V_READY && v->interval_ms != 0 &&
		    v->due < next)
			next = v->due;
	}
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	/* Round up: waking early would only make us poll again. */
	wait = (next - now + MS - 1) / MS;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* ------------------------------------------------------------------------ */
/* The thread                                                                */
/* ------------------------------------------------------------------------ */

/* Learns when the library started, for WELCOME. */
static void
learn_start(void)
{
	uint64_t up = pt__uptime_ns(), mono = pt__mono_ns(),
	    real = pt__real_ns();

	agent.start_mono = mono > up ? mono - up : 0;
	agent.start_real = real > up ? real - up : 0;
}

static void *
agent_main(void *arg)
{
	struct pollfd pfd[2 + PT__VIEWERS_MAX];
	int slot[2 + PT__VIEWERS_MAX];
	struct viewer *v;
	sigset_t all;
	uint64_t now, junk;
	int i, n, nfds, timeout;

	(void)arg;
	/* Blocked already (inherited from the creator); belt and braces. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	learn_start();

	while (!__atomic_load_n(&agent.stop, __ATOMIC_ACQUIRE)) {
		now = pt__mono_ns();
		timeout = poll_timeout(now);
		pfd[0].fd = agent.wfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = agent.accept_pause > now ? -1 : agent.lfd;
		pfd[1].events = POLLIN;
		nfds = 2;
		for (i = 0; i < PT__VIEWERS_MAX; i++) {
			v = &agent.viewers[i];
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
			(void)read(agent.wfd, &junk, sizeof junk);
		if (__atomic_load_n(&agent.stop, __ATOMIC_ACQUIRE))
			break;
		now = pt__mono_ns();
		for (i = 2; i < nfds; i++) {
			v = &agent.viewers[slot[i]];
			if (v->state == V_FREE)
				continue;
			if ((pfd[i].revents & POLLOUT) && viewer_flush(v) != 0) {
				viewer_close(v);
				continue;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR |
			    POLLNVAL))
				viewer_read(v);
		}
		if (pfd[1].revents & POLLIN)
			accept_viewers(now);
		run_timers(pt__mono_ns());
		/* Send right away what this round queued. */
		for (i = 0; i < PT__VIEWERS_MAX; i++) {
			v = &agent.viewers[i];
			if (v->state != V_FREE && v->out.len > 0 &&
			    viewer_flush(v) != 0)
				viewer_close(v);
		}
	}
	for (i = 0; i < PT__VIEWERS_MAX; i++)
		if (agent.viewers[i].state != V_FREE)
			viewer_close(&agent.viewers[i]);
	pt__snapcache_free(&agent.cache);
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

	if (__atomic_load_n(&agent.bound_pid, __ATOMIC_ACQUIRE) != getpid())
		return;
	if (lstat(agent.path, &st) == 0 && st.st_dev == agent.dev &&
	    st.st_ino == agent.ino)
		(void)unlink(agent.path);
}

/* At exit: remove the socket; the thread dies with the process. */
static void
agent_atexit(void)
{
	unlink_ours();
	__atomic_store_n(&agent.bound_pid, 0, __ATOMIC_RELEASE);
}

static void
atfork_prepare(void)
{
	pthread_mutex_lock(&agent.mu);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&agent.mu);
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

	if (agent.running) {
		memcpy(orphans, agent.viewers, sizeof orphans);
		/* Nothing reads orphans: keep the compiler from dropping it. */
		__asm__ volatile("" : : "r"(orphans) : "memory");
		for (i = 0; i < PT__VIEWERS_MAX; i++) {
			fd = __atomic_load_n(&agent.viewers[i].fd,
			    __ATOMIC_SEQ_CST);
			if (fd >= 0)
				close(fd);
			memset(&agent.viewers[i], 0, sizeof agent.viewers[i]);
			agent.viewers[i].fd = -1;
		}
		agent.n_viewers = 0;
		memcpy(&orphan_cache, &agent.cache, sizeof orphan_cache);
		__asm__ volatile("" : : "r"(&orphan_cache) : "memory");
		memset(&agent.cache, 0, sizeof agent.cache);
		if (agent.lfd >= 0)
			close(agent.lfd);
		if (agent.wfd >= 0)
			close(agent.wfd);
		agent.lfd = agent.wfd = -1;
		agent.running = 0;
	}
	agent.stop = 0;
	agent.path[0] = '\0';
	__atomic_store_n(&agent.bound_pid, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&agent.mu);
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
	__atomic_store_n(&agent.bound_pid, 0, __ATOMIC_RELEASE);
	agent.path[0] = '\0';
	if (agent.lfd >= 0)
		close(agent.lfd);
	if (agent.wfd >= 0)
		close(agent.wfd);
	agent.lfd = agent.wfd = -1;
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
	strlcpy(agent.path, sa.sun_path, sizeof agent.path);
	agent.dev = st.st_dev;
	agent.ino = st.st_ino;
	__atomic_store_n(&agent.bound_pid, getpid(), __ATOMIC_RELEASE);
	agent.lfd = fd;
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
	pthread_mutex_lock(&agent.mu);
	if (agent.running) {
		pthread_mutex_unlock(&agent.mu);
		return 0;
	}
	if ((rc = bind_socket()) != 0)
		goto fail;
	agent.wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (agent.wfd == -1) {
		rc = PT_ESYS;
		goto fail;
	}
	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		memset(&agent.viewers[i], 0, sizeof agent.viewers[i]);
		agent.viewers[i].fd = -1;
	}
	agent.n_viewers = 0;
	agent.accept_pause = 0;
	__atomic_store_n(&agent.stop, 0, __ATOMIC_RELEASE);

	/* The thread inherits a mask with every signal blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&agent.thread, NULL, agent_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		rc = PT_ESYS;
		goto fail;
	}
	pthread_setname_np(agent.thread, AGENT_THREAD_NAME);
	agent.running = 1;
	pthread_mutex_unlock(&agent.mu);
	return 0;
fail:
	teardown();
	pthread_mutex_unlock(&agent.mu);
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

	pthread_mutex_lock(&agent.mu);
	if (agent.running) {
		__atomic_store_n(&agent.stop, 1, __ATOMIC_RELEASE);
		while (write(agent.wfd, &one, sizeof one) == -1 &&
		    errno == EINTR)
			;
		pthread_join(agent.thread, NULL);
		agent.running = 0;
		teardown();
	}
	pthread_mutex_unlock(&agent.mu);
	return 0;
}
