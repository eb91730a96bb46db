/*
 * protocol.c - protocol errors from raw connections (version mismatch,
 * bad frames, the handshake deadline), the limit on viewers and the
 * check of the peer's uid.
 */
#include "agent-test.h"

/* ------------------------------------------------------------------------ */
/* Protocol errors                                                           */
/* ------------------------------------------------------------------------ */

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
	/* Dropped at the deadline, not before, nor long after. */
	CU_ASSERT(now_ms() - t0 >= PT__HANDSHAKE_MS - 50);
	CU_ASSERT(now_ms() - t0 <
	    (uint64_t)(PT__HANDSHAKE_MS + cunit_wait_ms(1000)));
	CU_ASSERT_EQUAL(code1, PT_ETIMEDOUT);
	raw_close(&r1);
	raw_close(&r2);
}

static void
test_viewers_max(void)
{
	struct pt__client *c[PT__VIEWERS_MAX], *extra = NULL;
	char err[256];
	uint64_t t0;
	int i, rc;

	/* A fresh agent: no viewer of an earlier test is still closing. */
	pt_agent_stop();
	CU_ASSERT_EQUAL_FATAL(pt_agent_start(), 0);
	for (i = 0; i < PT__VIEWERS_MAX; i++) {
		rc = pt__client_open(getpid(), cunit_wait_ms(2000), &c[i],
		    err, sizeof err);
		CU_ASSERT_EQUAL(rc, 0);
		if (rc != 0)
			c[i] = NULL;
	}
	rc = pt__client_open(getpid(), cunit_wait_ms(2000), &extra, err,
	    sizeof err);
	CU_ASSERT_EQUAL(rc, PT_EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "too many viewers"));
	for (i = 0; i < PT__VIEWERS_MAX; i++)
		pt__client_close(c[i]);
	/* Room again once the agent has seen them go. */
	for (t0 = now_ms(); now_ms() - t0 < (uint64_t)cunit_wait_ms(1000);
	    sleep_ms(10))
		if (pt__client_open(getpid(), cunit_wait_ms(2000), &extra, err,
		    sizeof err) == 0)
			break;
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

const struct cunit_test protocol_tests[] = {
	{ "version mismatch", test_version_mismatch },
	{ "bad input closes one viewer", test_bad_input },
	{ "handshake deadline", test_handshake_deadline },
	{ "at most PT__VIEWERS_MAX viewers", test_viewers_max },
	{ "peer uid check", test_peer_uid },
	{ NULL, NULL }
};
