/*
 * client.c - the viewer's end of the socket: connect to the agent of a
 * process, say HELLO, then subscribe, request, reset and receive events.
 *
 * The socket is non-blocking; waits are poll() with a deadline, writes use
 * MSG_NOSIGNAL (a vanished target is PT_ECLOSED, never SIGPIPE) and the
 * input buffer never holds more than one frame of at most PT__FRAME_MAX
 * bytes plus what arrived behind it.
 */
#include "ipc.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#define READ_CHUNK		(64 * 1024)
#define CLIENT_OUT_MAX		(64 * 1024)
/* Time allowed for a write after the handshake, when none was given. */
#define DEFAULT_TIMEOUT_MS	5000
#define MS			1000000ull

struct pt__client {
	int			 fd;
	int			 err;		/* sticky: the connection is dead */
	int			 timeout_ms;	/* for writes */
	size_t			 consume;	/* bytes of the frame last returned */
	struct pt__buf		 in;
	struct pt__buf		 out;
	struct pt__welcome	 welcome;
	struct pt__wire_rx	 rx;
};

static void __attribute__((format(printf, 3, 4)))
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A deadline in CLOCK_MONOTONIC ns from a timeout in ms; 0 means never. */
static uint64_t
deadline_of(int timeout_ms)
{
	if (timeout_ms < 0)
		return 0;
	return pt__mono_ns() + (uint64_t)timeout_ms * MS;
}

/* Milliseconds left until deadline for poll(): -1 (never) or >= 0. */
static int
left_ms(uint64_t deadline)
{
	uint64_t now, ms;

	if (deadline == 0)
		return -1;
	now = pt__mono_ns();
	if (now >= deadline)
		return 0;
	ms = (deadline - now + MS - 1) / MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Waits for events on the socket; 1 ready, 0 timed out, or PT_ESYS. */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	int n;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left_ms(deadline));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return PT_ESYS;
		return n > 0;
	}
}

/* Sends the output buffer; 0, PT_ETIMEDOUT, PT_ECLOSED or PT_ESYS. */
static int
flush_out(struct pt__client *c, uint64_t deadline)
{
	ssize_t n;
	int rc;

	while (c->out.len > 0) {
		n = send(c->fd, pt__buf_head(&c->out), c->out.len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			pt__buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_fd(c->fd, POLLOUT, deadline)) < 0)
				return rc;
			if (rc == 0)
				return PT_ETIMEDOUT;
			continue;
		}
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return PT_ECLOSED;
		return PT_ESYS;
	}
	return 0;
}

/*
 * Returns the next complete frame: 1 with type and payload (valid until the
 * next call), 0 when none came before the deadline, or PT_ECLOSED,
 * PT_EPROTO, PT_ESYS, which stick.  A deadline of 0 means "no limit".
 */
static int
next_frame(struct pt__client *c, uint64_t deadline, uint16_t *type,
    const uint8_t **payload, size_t *plen)
{
	size_t flen, room;
	ssize_t n;
	int rc;

	if (c->consume > 0) {
		pt__buf_consume(&c->in, c->consume);
		c->consume = 0;
	}
	for (;;) {
		if (c->err != 0)
			return c->err;
		rc = pt__frame_parse(pt__buf_head(&c->in), c->in.len, type,
		    payload, plen, &flen);
		if (rc == 1) {
			c->consume = flen;
			return 1;
		}
		if (rc < 0) {
			c->err = PT_EPROTO;
			continue;
		}
		/* At most one incomplete frame is buffered: it fits. */
		room = c->in.max - c->in.len;
		if (room > READ_CHUNK)
			room = READ_CHUNK;
		if (room == 0) {
			c->err = PT_EPROTO;
			continue;
		}
		if ((rc = pt__buf_reserve(&c->in, room)) != 0) {
			c->err = rc == PT_ENOMEM ? PT_ENOMEM : PT_EPROTO;
			continue;
		}
		n = recv(c->fd, c->in.data + c->in.off + c->in.len, room,
		    MSG_DONTWAIT);
		if (n > 0) {
			c->in.len += (size_t)n;
			continue;
		}
		if (n == 0 || (n == -1 && (errno == ECONNRESET ||
		    errno == EPIPE))) {
			c->err = PT_ECLOSED;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			c->err = PT_ESYS;
			continue;
		}
		if ((rc = wait_fd(c->fd, POLLIN, deadline)) < 0)
			return rc;
		if (rc == 0)
			return 0;
	}
}

/* Connects to path; 0 or a PT_E* code with err filled. */
static int
connect_to(int fd, pid_t pid, const char *path, uint64_t deadline,
    char *err, size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t sl;
	int rc, e;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strlcpy(sa.sun_path, path, sizeof sa.sun_path);
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return 0;
		e = errno;
		switch (e) {
		case EINTR:
			continue;
		case EAGAIN:
			/* The agent's backlog is full: retry for a while. */
			if (left_ms(deadline) == 0) {
				say(err, errlen, "process %ld: the agent is "
				    "not accepting connections", (long)pid);
				return PT_ETIMEDOUT;
			}
			(void)poll(NULL, 0, 10);
			continue;
		case EINPROGRESS:
			if ((rc = wait_fd(fd, POLLOUT, deadline)) <= 0) {
				say(err, errlen, "process %ld: connecting to "
				    "%s timed out", (long)pid, path);
				return rc < 0 ? rc : PT_ETIMEDOUT;
			}
			sl = sizeof e;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
				e = errno;
			if (e == 0)
				return 0;
			break;
		default:
			break;
		}
		switch (e) {
		case ENOENT:
			say(err, errlen, "process %ld is not instrumented "
			    "(no socket at %s)", (long)pid, path);
			return PT_ENOENT;
		case ECONNREFUSED:
			say(err, errlen, "process %ld is not instrumented "
			    "(stale socket %s)", (long)pid, path);
			return PT_ENOENT;
		case EACCES:
		case EPERM:
			say(err, errlen, "%s: permission denied", path);
			return PT_EPERM;
		default:
			say(err, errlen, "connect %s: %s", path, strerror(e));
			return PT_ESYS;
		}
	}
}

/* Sends HELLO and waits for WELCOME (or ERROR); 0 or a PT_E* code. */
static int
handshake(struct pt__client *c, pid_t pid, uint64_t deadline, int req,
    char *err, size_t errlen)
{
	const uint8_t *p;
	uint16_t type;
	size_t n;
	int rc, code;
	char msg[256];

	/*
	 * A refusing agent may close before our HELLO is out (EPIPE); its
	 * ERROR, if any, is still there to read, so look for it.
	 */
	if ((rc = pt__msg_hello(&c->out)) == 0 &&
	    (!req || (rc = pt__msg_empty(&c->out, PT__MSG_SNAPSHOT_REQ)) == 0) &&
	    (rc = flush_out(c, deadline)) == PT_ECLOSED)
		rc = 0;
	if (rc != 0) {
		if (rc == PT_ETIMEDOUT)
			say(err, errlen, "process %ld did not answer in time",
			    (long)pid);
		else	/* PT_ESYS: the system's word for it, errno */
			say(err, errlen, "sending HELLO: %s", rc == PT_ESYS ?
			    strerror(errno) : pt_strerror(rc));
		return rc;
	}
	rc = next_frame(c, deadline, &type, &p, &n);
	if (rc == PT_ESYS) {
		say(err, errlen, "process %ld: %s", (long)pid,
		    strerror(errno));
		return rc;
	}
	if (rc == 0) {
		say(err, errlen, "process %ld did not answer in time",
		    (long)pid);
		return PT_ETIMEDOUT;
	}
	if (rc == PT_ECLOSED) {
		say(err, errlen, "agent closed the connection (refused?)");
		return rc;
	}
	if (rc < 0) {
		say(err, errlen, "process %ld: %s", (long)pid,
		    pt_strerror(rc));
		return rc;
	}
	if (type == PT__MSG_ERROR) {
		if (pt__parse_error(p, n, &code, msg, sizeof msg) != 0) {
			say(err, errlen, "process %ld: malformed ERROR from "
			    "the agent", (long)pid);
			return PT_EPROTO;
		}
		say(err, errlen, "process %ld: %s", (long)pid, msg);
		return code < 0 ? code : PT_EPROTO;
	}
	if (type != PT__MSG_WELCOME) {
		say(err, errlen, "process %ld: expected WELCOME, got message "
		    "type %u", (long)pid, (unsigned)type);
		return PT_EPROTO;
	}
	rc = pt__parse_welcome(p, n, &c->welcome);
	if (rc == 0 && c->welcome.version != PT__PROTO_VERSION)
		rc = PT_EVERSION;
	if (rc == PT_EVERSION) {
		say(err, errlen, "process %ld speaks protocol version %lu, "
		    "perftop speaks %d", (long)pid,
		    (unsigned long)c->welcome.version, PT__PROTO_VERSION);
		return rc;
	}
	if (rc != 0) {
		say(err, errlen, "process %ld: malformed WELCOME", (long)pid);
		return PT_EPROTO;
	}
	c->welcome.process[sizeof c->welcome.process - 1] = '\0';
	return 0;
}

static int	client_open(pid_t, int, int, struct pt__client **, char *,
	    size_t);

int
pt__client_open(pid_t pid, int timeout_ms, struct pt__client **out,
    char *err, size_t errlen)
{
	return client_open(pid, timeout_ms, 0, out, err, errlen);
}

int
pt__client_open_req(pid_t pid, int timeout_ms, struct pt__client **out,
    char *err, size_t errlen)
{
	return client_open(pid, timeout_ms, 1, out, err, errlen);
}

/*
 * Connects to pid's agent and says HELLO (followed by SNAPSHOT_REQ with req,
 * so that a one-shot client needs a single round trip).
 */
static int
client_open(pid_t pid, int timeout_ms, int req, struct pt__client **out,
    char *err, size_t errlen)
{
	struct pt__client *c;
	struct stat st;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char path[sizeof dir];
	uint64_t deadline;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return PT_EINVAL;
	*out = NULL;
	if (pid <= 0) {
		say(err, errlen, "invalid process id %ld", (long)pid);
		return PT_EINVAL;
	}
	deadline = deadline_of(timeout_ms);
	if (kill(pid, 0) == -1 && errno == ESRCH) {
		say(err, errlen, "no such process: %ld", (long)pid);
		return PT_ENOENT;
	}
	rc = pt__sockdir_of(pid, dir, sizeof dir, err, errlen);
	if (rc == PT_ENOENT) {
		/* No directory: nobody of ours is instrumented. */
		if (pt__sockpath(dir, pid, path, sizeof path) != 0)
			strlcpy(path, dir, sizeof path);
		say(err, errlen, "process %ld is not instrumented (no socket "
		    "at %s)", (long)pid, path);
		return PT_ENOENT;
	}
	if (rc != 0)
		return rc;
	if (pt__sockpath(dir, pid, path, sizeof path) != 0) {
		say(err, errlen, "%s: socket path too long", dir);
		return PT_ENAMETOOLONG;
	}
	if (lstat(path, &st) == -1) {
		if (errno == ENOENT) {
			say(err, errlen, "process %ld is not instrumented (no "
			    "socket at %s)", (long)pid, path);
			return PT_ENOENT;
		}
		say(err, errlen, "%s: %s", path, strerror(errno));
		return errno == EACCES ? PT_EPERM : PT_ESYS;
	}
	if (!S_ISSOCK(st.st_mode)) {
		say(err, errlen, "process %ld is not instrumented (%s is not "
		    "a socket)", (long)pid, path);
		return PT_ENOENT;
	}

	if ((c = calloc(1, sizeof *c)) == NULL) {
		say(err, errlen, "out of memory");
		return PT_ENOMEM;
	}
	pt__buf_init(&c->in, PT__FRAME_MAX);
	pt__buf_init(&c->out, CLIENT_OUT_MAX);
	pt__wire_rx_init(&c->rx);
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd == -1) {
		say(err, errlen, "socket: %s", strerror(errno));
		rc = PT_ESYS;
		goto fail;
	}
	if ((rc = connect_to(c->fd, pid, path, deadline, err, errlen)) != 0)
		goto fail;
	if ((rc = handshake(c, pid, deadline, req, err, errlen)) != 0)
		goto fail;
	c->rx.pid = c->welcome.pid;
	strlcpy(c->rx.process, c->welcome.process, sizeof c->rx.process);
	*out = c;
	return 0;
fail:
	pt__client_close(c);
	return rc;
}

void
pt__client_close(struct pt__client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0) {
		if (c->err == 0 && c->out.len == 0 &&
		    pt__msg_empty(&c->out, PT__MSG_BYE) == 0)
			(void)send(c->fd, pt__buf_head(&c->out), c->out.len,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(c->fd);
	}
	pt__buf_free(&c->in);
	pt__buf_free(&c->out);
	pt__wire_rx_done(&c->rx);
	free(c);
}

const struct pt__welcome *
pt__client_welcome(const struct pt__client *c)
{
	return c != NULL ? &c->welcome : NULL;
}

uint64_t
pt__client_fulls(const struct pt__client *c)
{
	return c->rx.n_full;
}

int
pt__client_fd(const struct pt__client *c)
{
	return c != NULL ? c->fd : -1;
}

/* Queues a message with rc from its encoder and sends it. */
static int
send_msg(struct pt__client *c, int rc)
{
	if (rc != 0)
		return rc;
	rc = flush_out(c, deadline_of(c->timeout_ms));
	if (rc == PT_ECLOSED || rc == PT_ESYS)
		c->err = rc;
	return rc;
}

int
pt__client_subscribe(struct pt__client *c, uint32_t interval_ms)
{
	if (c == NULL)
		return PT_EINVAL;
	if (c->err != 0)
		return c->err;
	return send_msg(c, pt__msg_u64(&c->out, PT__MSG_SUBSCRIBE,
	    interval_ms));
}

int
pt__client_request(struct pt__client *c)
{
	if (c == NULL)
		return PT_EINVAL;
	if (c->err != 0)
		return c->err;
	return send_msg(c, pt__msg_empty(&c->out, PT__MSG_SNAPSHOT_REQ));
}

int
pt__client_reset(struct pt__client *c)
{
	if (c == NULL)
		return PT_EINVAL;
	if (c->err != 0)
		return c->err;
	return send_msg(c, pt__msg_empty(&c->out, PT__MSG_RESET));
}

int
pt__client_next(struct pt__client *c, int timeout_ms, struct pt__event *ev)
{
	const uint8_t *p;
	uint16_t type;
	size_t n;
	int rc;

	if (c == NULL || ev == NULL)
		return PT_EINVAL;
	memset(ev, 0, sizeof *ev);
	rc = next_frame(c, deadline_of(timeout_ms), &type, &p, &n);
	if (rc <= 0)
		return rc;
	switch (type) {
	case PT__MSG_SNAPSHOT:
		rc = pt__wire_decode_snapshot(&c->rx, p, n, &ev->snap);
		if (rc != 0) {
			c->err = rc == PT_ENOMEM ? PT_ENOMEM : PT_EPROTO;
			return c->err;
		}
		ev->type = PT__EV_SNAPSHOT;
		return 1;
	case PT__MSG_RESET_OK:
		if (pt__parse_u64(p, n, &ev->epoch) != 0)
			break;
		ev->type = PT__EV_RESET_OK;
		return 1;
	case PT__MSG_ERROR:
		if (pt__parse_error(p, n, &ev->code, ev->msg,
		    sizeof ev->msg) != 0)
			break;
		if (ev->code >= 0)
			ev->code = PT_EPROTO;
		ev->type = PT__EV_ERROR;
		return 1;
	default:
		break;
	}
	c->err = PT_EPROTO;
	return c->err;
}
