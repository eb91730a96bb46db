/*
 * viewer.c - the agent thread's viewers: their messages, accepting them,
 * and the snapshots they are owed (agent.c has the thread and its poll()
 * loop, agent.h the state the two share).
 *
 * Every function here runs on the agent thread.  A viewer never blocks the
 * agent: its socket is non-blocking, its input and output buffers are
 * bounded, one that sends garbage gets an ERROR and is closed, and one
 * whose socket takes nothing is owed a snapshot rather than sent one.
 */
#include "agent.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/unistd.h>

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
	    __ATOMIC_RELAXED) * AGENT_MS;
}

/* ------------------------------------------------------------------------ */
/* Viewers                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Closes a viewer and frees what it owns.  The descriptor is forgotten
 * before it is closed, so a fork() in between never leaves the child's
 * atfork handler a number that may already be reused for something else.
 */
void
pt__viewer_close(struct pt__viewer *v)
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
	if (--pt__agent.n_viewers == 0)
		pt__snapcache_free(&pt__agent.cache);
}

/* Sends what the viewer's output buffer holds, without blocking. */
int
pt__viewer_flush(struct pt__viewer *v)
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
viewer_fail(struct pt__viewer *v, int code, const char *fmt, ...)
{
	char msg[160], junk[4096];
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (pt__msg_error(&v->out, code, msg) == 0)
		(void)pt__viewer_flush(v);
	for (i = 0; i < 16; i++)
		if (recv(v->fd, junk, sizeof junk, MSG_DONTWAIT) <= 0)
			break;
	pt__viewer_close(v);
}

/* Takes an encoder's result: on failure closes the viewer and returns -1. */
static int
viewer_queued(struct pt__viewer *v, int rc)
{
	if (rc != 0) {
		pt__viewer_close(v);
		return -1;
	}
	return 0;
}

static void
send_welcome(struct pt__viewer *v)
{
	struct pt__welcome w;
	uint64_t now = pt__mono_ns();

	memset(&w, 0, sizeof w);
	w.version = PT__PROTO_VERSION;
	w.pid = (int32_t)getpid();
	pt__process_name(w.process, sizeof w.process);
	w.start_real_ns = pt__agent.start_real;
	w.uptime_ns = now > pt__agent.start_mono ? now - pt__agent.start_mono : 0;
	if (viewer_queued(v, pt__msg_welcome(&v->out, &w)) == 0)
		v->state = V_READY;
}

/* Owes every streaming viewer a snapshot now (after a reset). */
static void
wake_streams(void)
{
	int i;

	for (i = 0; i < PT__VIEWERS_MAX; i++)
		if (pt__agent.viewers[i].state == V_READY &&
		    pt__agent.viewers[i].interval_ms != 0)
			pt__agent.viewers[i].want = 1;
}

/* Handles one message; the viewer may be closed on return. */
static void
viewer_message(struct pt__viewer *v, uint16_t type, const uint8_t *p, size_t n)
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
			pt__viewer_close(v);
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
		pt__viewer_close(v);
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
viewer_frames(struct pt__viewer *v)
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
void
pt__viewer_read(struct pt__viewer *v)
{
	size_t room = v->in.max - v->in.len;
	ssize_t n;

	if (room > READ_CHUNK)
		room = READ_CHUNK;
	if (room == 0 || pt__buf_reserve(&v->in, room) != 0) {
		pt__viewer_close(v);
		return;
	}
	n = recv(v->fd, v->in.data + v->in.off + v->in.len, room,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EINTR || errno == EAGAIN ||
	    errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		pt__viewer_close(v);	/* EOF or a broken connection */
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

/* Accepts the viewers waiting (a burst at most), checking each peer. */
void
pt__agent_accept(uint64_t now)
{
	struct pt__viewer *v;
	uid_t euid;
	gid_t egid;
	char msg[64];
	int fd, i, k;

	for (k = 0; k < ACCEPT_BURST; k++) {
		fd = accept4(pt__agent.lfd, NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				pt__agent.accept_pause = now + ACCEPT_PAUSE_NS;
			return;
		}
		if (getpeereid(fd, &euid, &egid) == -1 ||
		    (euid != geteuid() && euid != 0)) {
			close(fd);
			continue;
		}
		if (pt__agent.n_viewers >= PT__VIEWERS_MAX) {
			snprintf(msg, sizeof msg, "too many viewers (at most "
			    "%d)", PT__VIEWERS_MAX);
			refuse(fd, PT_EBUSY, msg);
			close(fd);
			continue;
		}
		for (i = 0; i < PT__VIEWERS_MAX; i++)
			if (pt__agent.viewers[i].state == V_FREE)
				break;
		v = &pt__agent.viewers[i];
		memset(v, 0, sizeof *v);
		pt__buf_init(&v->in, VIEWER_IN_MAX);
		pt__buf_init(&v->out, PT__VIEWER_BUF_MAX);
		pt__wire_tx_init(&v->tx);
		v->state = V_HELLO;
		v->deadline = now + (uint64_t)PT__HANDSHAKE_MS * AGENT_MS;
		__atomic_store_n(&v->fd, fd, __ATOMIC_SEQ_CST);
		pt__agent.n_viewers++;
	}
}

/* ------------------------------------------------------------------------ */
/* Timers and snapshots                                                      */
/* ------------------------------------------------------------------------ */

/* Whether v is owed a snapshot; a viewer still sending the last waits. */
static int
is_due(const struct pt__viewer *v, uint64_t now)
{
	return v->state == V_READY && v->out.len == 0 && (v->want ||
	    (v->interval_ms != 0 && v->due <= now + DUE_SLACK_NS));
}

/* Whether v's socket has taken nothing for too long. */
static int
is_stalled(const struct pt__viewer *v, uint64_t now)
{
	return v->state == V_READY && v->out.len > 0 && v->stall_from != 0 &&
	    now - v->stall_from >= stall_ns();
}

/*
 * Drops viewers whose handshake deadline passed and sends a snapshot to
 * every viewer that is owed one: one refresh of the agent's snapshot for
 * all of them, which merges again only the operations that had events.
 * Viewers share the buckets of the agent's snapshot (snapenc.c): those
 * not sent this refresh get their own copies of what it changed.
 */
void
pt__agent_run_timers(uint64_t now)
{
	struct pt__viewer *v;
	uint64_t iv;
	uint8_t due[PT__VIEWERS_MAX];
	int i, rc, by_time, any = 0;

	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		v = &pt__agent.viewers[i];
		if (v->state == V_HELLO && now >= v->deadline)
			viewer_fail(v, PT_ETIMEDOUT, "no HELLO within %d ms",
			    PT__HANDSHAKE_MS);
		else if (is_stalled(v, now))
			pt__viewer_close(v);
	}
	for (i = 0; i < PT__VIEWERS_MAX; i++)
		any |= due[i] = (uint8_t)is_due(&pt__agent.viewers[i], now);
	if (!any)
		return;
	rc = pt__snapshot_refresh(&pt__agent.cache);
	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		v = &pt__agent.viewers[i];
		if (v->state == V_READY && (!due[i] || rc != 0))
			(void)pt__wire_tx_keep(&v->tx, &pt__agent.cache);
	}
	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		v = &pt__agent.viewers[i];
		if (!due[i])
			continue;
		by_time = v->interval_ms != 0 && v->due <= now + DUE_SLACK_NS;
		if (rc == 0) {
			/* PT_ERANGE: too far behind; anything else: broken. */
			if (pt__wire_encode_snapshot_cache(&v->tx,
			    &pt__agent.cache, &v->out) != 0) {
				pt__viewer_close(v);
				continue;
			}
		} else if (v->want) {
			if (viewer_queued(v, pt__msg_error(&v->out, rc,
			    "cannot take a snapshot")) != 0)
				continue;
		}
		iv = (uint64_t)v->interval_ms * AGENT_MS;
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
int
pt__agent_poll_timeout(uint64_t now)
{
	const struct pt__viewer *v;
	uint64_t next = UINT64_MAX, wait;
	int i;

	if (pt__agent.accept_pause > now)
		next = pt__agent.accept_pause;
	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		v = &pt__agent.viewers[i];
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
	wait = (next - now + AGENT_MS - 1) / AGENT_MS;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

