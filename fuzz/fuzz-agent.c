/*
 * fuzz-agent.c - libFuzzer target for the agent's side of the protocol:
 * what the agent (ipc/agent.c, ipc/viewer.c) makes of the bytes a viewer
 * sends (frame lengths, the HELLO handshake, SUBSCRIBE, SNAPSHOT_REQ,
 * RESET, BYE, anything else).
 *
 * The real agent runs in this process, as in any instrumented program, on
 * a socket in a private directory; a few operations and counters give its
 * snapshots something to carry.  Each input is one connection: its bytes
 * are sent, the write side is shut, and everything the agent answers is
 * read until it closes the connection, which it must do within 10 s.  The
 * answer is then checked:
 *
 *   - it is a sequence of well-formed frames (only the last may be cut
 *     short: the agent drops unsent output when it closes);
 *   - only WELCOME, ERROR, SNAPSHOT and RESET_OK come, each decodes (the
 *     snapshots through a wire receiver, against each other);
 *   - WELCOME comes first or not at all, only after a valid HELLO (this
 *     pid, this protocol version), and before any SNAPSHOT or RESET_OK;
 *   - ERROR is the last frame.
 *
 * The next input connecting at all shows that the agent survived the last.
 * Any failed check aborts, which libFuzzer reports as a crash.
 */
#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#define CHECK(x) do {							\
	if (!(x)) {							\
		fprintf(stderr, "fuzz-agent: check failed: %s (line %d)\n", \
		    #x, __LINE__);					\
		abort();						\
	}								\
} while (0)

/* How long the agent may keep a connection whose input has ended. */
#define CLOSE_TIMEOUT_MS	10000
/* Answer bytes kept for the checks (more are read and dropped). */
#define ANSWER_MAX		(1u << 20)

static char			dir[64];
static struct sockaddr_un	sa;
static uint8_t			*answer;

static pt_site op_step = PT_SITE_INIT("fuzz.step", PT_KIND_OP);
static pt_site op_io = PT_SITE_INIT("fuzz.io", PT_KIND_OP);
static pt_site ctr_inputs = PT_SITE_INIT("fuzz.inputs", PT_KIND_COUNTER);

/* Stops the agent (which removes its socket) and the directory. */
static void
cleanup(void)
{
	pt_agent_stop();
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Starts the agent in a directory of its own, with a few statistics. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint64_t i;

	(void)argc;
	(void)argv;
	strlcpy(dir, "/tmp/fuzz-agent.XXXXXX", sizeof dir);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(setenv("PERFTOP_SOCKET_DIR", dir, 1) == 0);
	CHECK(unsetenv("PERFTOP_AGENT") == 0);
	for (i = 1; i <= 100; i++) {
		CHECK(pt_record_ns(&op_step, i * 1000) == 0);
		CHECK(pt_record_ns(&op_io, i * i) == 0);
	}
	pt_counter_add(&ctr_inputs, -5);
	CHECK(pt_agent_start() == 0);
	atexit(cleanup);
	sa.sun_family = AF_UNIX;
	CHECK(pt__sockpath(dir, getpid(), sa.sun_path,
	    sizeof sa.sun_path) == 0);
	CHECK((answer = malloc(ANSWER_MAX)) != NULL);
	return 0;
}

/* Does data start with a HELLO frame the agent must welcome? */
static int
starts_with_hello(const uint8_t *data, size_t size)
{
	const uint8_t *p;
	size_t n, flen;
	uint32_t version;
	uint16_t type;

	return pt__frame_parse(data, size, &type, &p, &n, &flen) == 1 &&
	    type == PT__MSG_HELLO && pt__parse_hello(p, n, &version) == 0 &&
	    version == PT__PROTO_VERSION;
}

/* Checks the agent's answer to the input data (see the top). */
static void
check_answer(const uint8_t *data, size_t size, const uint8_t *a, size_t len)
{
	struct pt__wire_rx rx;
	struct pt__welcome w;
	pt_snapshot *s;
	const uint8_t *p;
	size_t off = 0, n, flen;
	uint16_t type;
	uint64_t v;
	char msg[256];
	int rc, frames = 0, welcomed = 0, failed = 0, code;

	pt__wire_rx_init(&rx);
	while ((rc = pt__frame_parse(a + off, len - off, &type, &p, &n,
	    &flen)) == 1) {
		CHECK(!failed);		/* nothing after ERROR */
		switch (type) {
		case PT__MSG_WELCOME:
			CHECK(frames == 0 && starts_with_hello(data, size));
			CHECK(pt__parse_welcome(p, n, &w) == 0);
			CHECK(w.version == PT__PROTO_VERSION &&
			    w.pid == getpid());
			rx.pid = w.pid;
			memcpy(rx.process, w.process, sizeof rx.process);
			welcomed = 1;
			break;
		case PT__MSG_ERROR:
			CHECK(pt__parse_error(p, n, &code, msg,
			    sizeof msg) == 0);
			CHECK(code < 0);
			failed = 1;
			break;
		case PT__MSG_SNAPSHOT:
			CHECK(welcomed);
			s = NULL;
			CHECK(pt__wire_decode_snapshot(&rx, p, n, &s) == 0);
			CHECK(s != NULL && s->pid == getpid());
			pt_snapshot_free(s);
			break;
		case PT__MSG_RESET_OK:
			CHECK(welcomed);
			CHECK(pt__parse_u64(p, n, &v) == 0);
			break;
		default:
			fprintf(stderr, "fuzz-agent: the agent sent a frame of "
			    "type %u\n", (unsigned)type);
			abort();
		}
		frames++;
		off += flen;
	}
	CHECK(rc == 0);		/* a well-formed frame cut short at most */
	pt__wire_rx_done(&rx);
}

/* Sends all of data, or what the agent takes before it closes. */
static void
send_input(int fd, const uint8_t *data, size_t size)
{
	ssize_t n;

	while (size > 0) {
		n = send(fd, data, size, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* The agent closed on a protocol error. */
			CHECK(errno == EPIPE || errno == ECONNRESET);
			return;
		}
		data += n;
		size -= (size_t)n;
	}
}

/* Reads the answer until the agent closes; its first bytes go to a. */
static size_t
read_answer(int fd, uint8_t *a, size_t max)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t junk[4096];
	size_t len = 0;
	ssize_t n;
	int rc;

	for (;;) {
		rc = poll(&pfd, 1, CLOSE_TIMEOUT_MS);
		if (rc < 0 && errno == EINTR)
			continue;
		CHECK(rc >= 0);
		if (rc == 0) {
			fprintf(stderr, "fuzz-agent: the agent kept the "
			    "connection open %d ms after the input ended\n",
			    CLOSE_TIMEOUT_MS);
			abort();
		}
		if (len < max)
			n = recv(fd, a + len, max - len, 0);
		else
			n = recv(fd, junk, sizeof junk, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return len;
		CHECK(n > 0);
		if (len < max)
			len += (size_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	int fd;

	CHECK((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "fuzz-agent: cannot connect to the agent: "
		    "%s\n", strerror(errno));
		abort();
	}
	send_input(fd, data, size);
	CHECK(shutdown(fd, SHUT_WR) == 0 || errno == ENOTCONN);
	len = read_answer(fd, answer, ANSWER_MAX);
	close(fd);
	check_answer(data, size, answer, len);
	return 0;
}
