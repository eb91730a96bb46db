/*
 * framing.c - buffers, varints and the other primitives, frames, and
 * the small messages (hello, welcome, error, the u64 and empty ones).
 */
#include "wire-test.h"

/* ------------------------------------------------------------------------ */
/* Buffers and primitives                                                    */
/* ------------------------------------------------------------------------ */

static void
test_buf(void)
{
	struct pt__buf b;
	uint8_t chunk[1000], out[1000];
	size_t i, written = 0, read = 0;

	pt__buf_init(&b, 5000);
	CU_ASSERT(pt__buf_append(&b, chunk, 0) == 0);
	CU_ASSERT(pt__buf_reserve(&b, 5001) == PT_ERANGE);
	CU_ASSERT(pt__buf_reserve(&b, SIZE_MAX) == PT_ERANGE);
	CU_ASSERT(pt__buf_reserve(&b, 5000) == 0);
	/* A stream of appends and partial consumes keeps the bytes in order
	 * and never holds more than max. */
	for (i = 0; i < 2000; i++) {
		size_t n = 1 + (size_t)(rng_next() % sizeof chunk), j, c;

		for (j = 0; j < n; j++)
			chunk[j] = (uint8_t)(written + j);
		if (b.len + n > b.max) {
			CU_ASSERT(pt__buf_append(&b, chunk, n) == PT_ERANGE);
		} else {
			CU_ASSERT_FATAL(pt__buf_append(&b, chunk, n) == 0);
			written += n;
		}
		CU_ASSERT(b.cap <= b.max);
		c = (size_t)(rng_next() % (b.len + 1));
		memcpy(out, pt__buf_head(&b), c < sizeof out ? c : sizeof out);
		for (j = 0; j < c && j < sizeof out; j++)
			CU_ASSERT_FATAL(out[j] == (uint8_t)(read + j));
		pt__buf_consume(&b, c);
		read += c;
		CU_ASSERT(b.off + b.len <= b.cap);
	}
	pt__buf_consume(&b, b.len + 10);
	CU_ASSERT(b.len == 0 && b.off == 0);
	pt__buf_free(&b);
	CU_ASSERT(b.data == NULL && b.len == 0 && b.max == 5000);
}

static void
test_varint(void)
{
	static const uint64_t u[] = { 0, 1, 127, 128, 300, 16383, 16384,
	    UINT32_MAX, (uint64_t)1 << 56, (uint64_t)1 << 63, UINT64_MAX };
	static const int64_t s[] = { 0, -1, 1, -64, 64, INT32_MIN, INT64_MAX,
	    INT64_MIN, INT64_MIN + 1 };
	struct pt__buf b;
	struct pt__enc e;
	struct pt__dec d;
	size_t i;
	double f;

	pt__buf_init(&b, 4096);
	e.b = &b;
	e.err = 0;
	for (i = 0; i < sizeof u / sizeof u[0]; i++)
		pt__put_u64(&e, u[i]);
	for (i = 0; i < sizeof s / sizeof s[0]; i++)
		pt__put_i64(&e, s[i]);
	pt__put_f64(&e, -2.5);
	pt__put_f64(&e, NAN);
	pt__put_u32le(&e, 0xdeadbeef);
	pt__put_str(&e, "héllo");
	pt__put_str(&e, NULL);
	CU_ASSERT_FATAL(e.err == 0);
	/* UINT64_MAX takes exactly 10 bytes; 127 one; 128 two. */
	CU_ASSERT(pt__buf_head(&b)[0] == 0 && pt__buf_head(&b)[2] == 127 &&
	    pt__buf_head(&b)[3] == 0x80 && pt__buf_head(&b)[4] == 1);

	d.p = pt__buf_head(&b);
	d.end = d.p + b.len;
	d.err = 0;
	for (i = 0; i < sizeof u / sizeof u[0]; i++)
		CU_ASSERT(pt__get_u64(&d) == u[i]);
	for (i = 0; i < sizeof s / sizeof s[0]; i++)
		CU_ASSERT(pt__get_i64(&d) == s[i]);
	CU_ASSERT(pt__get_f64(&d) == -2.5);
	f = pt__get_f64(&d);
	CU_ASSERT(isnan(f));
	CU_ASSERT(pt__get_u32le(&d) == 0xdeadbeef);
	{
		char str[16];

		pt__get_str(&d, str, 15);
		CU_ASSERT(strcmp(str, "héllo") == 0);
		pt__get_str(&d, str, 15);
		CU_ASSERT(strcmp(str, "") == 0);
	}
	CU_ASSERT(pt__dec_finish(&d) == 0);
	pt__buf_free(&b);
}

/* Decodes bytes as one varint and returns d.err. */
static int
varint_err(const uint8_t *p, size_t n, uint64_t *v)
{
	struct pt__dec d = { p, p + n, 0 };

	*v = pt__get_u64(&d);
	if (d.err == 0 && d.p != p + n)
		return 1;	/* did not consume what was expected */
	return d.err;
}

static void
test_bad_varints(void)
{
	static const uint8_t max10[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0x01 };
	static const uint8_t over10[10] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x02 };
	static const uint8_t long11[11] = { 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t trunc[3] = { 0x80, 0x80, 0x80 };
	static const uint8_t big[2] = { 0x80, 0x01 };
	struct pt__dec d;
	uint64_t v;
	char s[8];

	CU_ASSERT(varint_err(max10, 10, &v) == 0 && v == UINT64_MAX);
	CU_ASSERT(varint_err(over10, 10, &v) == PT_EPROTO && v == 0);
	CU_ASSERT(varint_err(long11, 11, &v) == PT_EPROTO);
	CU_ASSERT(varint_err(trunc, 3, &v) == PT_EPROTO);
	CU_ASSERT(varint_err(trunc, 0, &v) == PT_EPROTO);

	/* Errors stick; later reads return 0 and consume nothing. */
	d.p = trunc;
	d.end = trunc + 3;
	d.err = 0;
	pt__get_u64(&d);
	CU_ASSERT(d.err == PT_EPROTO && d.p == trunc);
	CU_ASSERT(pt__get_u32le(&d) == 0 && d.p == trunc);
	CU_ASSERT(pt__dec_finish(&d) == PT_EPROTO);

	/* get_u64max */
	d.p = big;
	d.end = big + 2;
	d.err = 0;
	CU_ASSERT(pt__get_u64max(&d, 128) == 128 && d.err == 0);
	d.p = big;
	d.err = 0;
	CU_ASSERT(pt__get_u64max(&d, 127) == 0 && d.err == PT_EPROTO);

	/* Fixed-width reads past the end. */
	d.p = big;
	d.end = big + 2;
	d.err = 0;
	pt__get_u32le(&d);
	CU_ASSERT(d.err == PT_EPROTO);
	d.p = max10;
	d.end = max10 + 7;
	d.err = 0;
	pt__get_f64(&d);
	CU_ASSERT(d.err == PT_EPROTO);

	/* Strings: too long, past the end, with a NUL, exactly maxlen. */
	{
		static const uint8_t s_long[] = { 8, 'a', 'b', 'c', 'd', 'e',
		    'f', 'g', 'h' };
		static const uint8_t s_short[] = { 5, 'a', 'b' };
		static const uint8_t s_nul[] = { 3, 'a', 0, 'b' };
		static const uint8_t s_ok[] = { 7, 'a', 'b', 'c', 'd', 'e',
		    'f', 'g' };

		d.p = s_long; d.end = s_long + sizeof s_long; d.err = 0;
		pt__get_str(&d, s, 7);
		CU_ASSERT(d.err == PT_EPROTO && s[0] == '\0');
		d.p = s_short; d.end = s_short + sizeof s_short; d.err = 0;
		pt__get_str(&d, s, 7);
		CU_ASSERT(d.err == PT_EPROTO);
		d.p = s_nul; d.end = s_nul + sizeof s_nul; d.err = 0;
		pt__get_str(&d, s, 7);
		CU_ASSERT(d.err == PT_EPROTO);
		d.p = s_ok; d.end = s_ok + sizeof s_ok; d.err = 0;
		pt__get_str(&d, s, 7);
		CU_ASSERT(d.err == 0 && strcmp(s, "abcdefg") == 0);
		CU_ASSERT(pt__dec_finish(&d) == 0);
	}
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                    */
/* ------------------------------------------------------------------------ */

static int
parse_len(uint32_t flen, size_t have, const uint8_t *extra)
{
	uint8_t h[16] = { 0 };
	const uint8_t *p;
	uint16_t type;
	size_t n, fl;

	h[0] = (uint8_t)flen;
	h[1] = (uint8_t)(flen >> 8);
	h[2] = (uint8_t)(flen >> 16);
	h[3] = (uint8_t)(flen >> 24);
	h[4] = 6;
	if (extra != NULL)
		memcpy(h + 6, extra, 2);
	return pt__frame_parse(h, have, &type, &p, &n, &fl);
}

static void
test_frame_parse(void)
{
	static const uint8_t res1[2] = { 1, 0 }, res2[2] = { 0, 0x80 };
	const uint8_t *p;
	uint8_t *big;
	uint16_t type;
	size_t n, fl;

	CU_ASSERT(parse_len(0, 8, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(0, 4, NULL) == PT_EPROTO);	/* seen early */
	CU_ASSERT(parse_len(7, 8, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(8, 8, NULL) == 1);
	CU_ASSERT(parse_len(8, 3, NULL) == 0);
	CU_ASSERT(parse_len(8, 7, NULL) == 0);
	CU_ASSERT(parse_len(9, 8, NULL) == 0);
	CU_ASSERT(parse_len(PT__FRAME_MAX, 8, NULL) == 0);
	CU_ASSERT(parse_len(PT__FRAME_MAX + 1, 8, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(PT__FRAME_MAX + 1, 4, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(0xFFFFFFFFu, 8, NULL) == PT_EPROTO);
	CU_ASSERT(parse_len(8, 8, res1) == PT_EPROTO);
	CU_ASSERT(parse_len(8, 8, res2) == PT_EPROTO);
	CU_ASSERT(parse_len(16, 16, res2) == PT_EPROTO);

	/* An empty frame, then a frame of exactly PT__FRAME_MAX bytes. */
	big = calloc(1, PT__FRAME_MAX + 8);
	CU_ASSERT_FATAL(big != NULL);
	big[0] = 8;
	big[4] = PT__MSG_BYE;
	CU_ASSERT(pt__frame_parse(big, 8, &type, &p, &n, &fl) == 1);
	CU_ASSERT(type == PT__MSG_BYE && n == 0 && fl == 8 && p == big + 8);
	big[0] = 0; big[1] = 0; big[2] = 0; big[3] = 1;	/* 16 MiB */
	big[4] = PT__MSG_SNAPSHOT;
	CU_ASSERT(pt__frame_parse(big, PT__FRAME_MAX - 1, &type, &p, &n,
	    &fl) == 0);
	CU_ASSERT(pt__frame_parse(big, PT__FRAME_MAX + 8, &type, &p, &n,
	    &fl) == 1);
	CU_ASSERT(type == PT__MSG_SNAPSHOT && fl == PT__FRAME_MAX &&
	    n == PT__FRAME_MAX - 8);
	free(big);
}

static void
test_frame_build(void)
{
	struct pt__buf b;
	struct pt__enc e;
	const uint8_t *p;
	uint16_t type;
	size_t start, n, fl, i;
	uint8_t *zeros;

	pt__buf_init(&b, PT__FRAME_MAX + 64);
	e.b = &b;
	e.err = 0;
	start = pt__frame_begin(&e, PT__MSG_SUBSCRIBE);
	pt__put_u64(&e, 1000);
	CU_ASSERT(pt__frame_end(&e, start) == 0);
	CU_ASSERT(b.len == 10);
	CU_ASSERT(pt__frame_parse(pt__buf_head(&b), b.len, &type, &p, &n,
	    &fl) == 1);
	CU_ASSERT(type == PT__MSG_SUBSCRIBE && n == 2 && fl == 10);

	/* A frame growing past PT__FRAME_MAX is refused and removed. */
	zeros = calloc(1, PT__FRAME_MAX);
	CU_ASSERT_FATAL(zeros != NULL);
	start = pt__frame_begin(&e, PT__MSG_SNAPSHOT);
	pt__buf_append(&b, zeros, PT__FRAME_MAX - 8 + 1);
	CU_ASSERT(pt__frame_end(&e, start) == PT_ERANGE);
	CU_ASSERT(b.len == 10);
	/* Exactly PT__FRAME_MAX is fine. */
	e.err = 0;
	start = pt__frame_begin(&e, PT__MSG_SNAPSHOT);
	pt__buf_append(&b, zeros, PT__FRAME_MAX - 8);
	CU_ASSERT(pt__frame_end(&e, start) == 0);
	CU_ASSERT(b.len == 10 + PT__FRAME_MAX);
	free(zeros);

	/* Frames survive the buffer compacting under them. */
	pt__buf_consume(&b, b.len);
	pt__buf_free(&b);
	pt__buf_init(&b, 1 << 16);
	for (i = 0; i < 200; i++) {
		CU_ASSERT(pt__msg_u64(&b, PT__MSG_RESET_OK, i) == 0);
		CU_ASSERT(pt__msg_empty(&b, PT__MSG_BYE) == 0);
		if (i % 3 == 0) {
			uint64_t v;

			CU_ASSERT_FATAL(pt__frame_parse(pt__buf_head(&b),
			    b.len, &type, &p, &n, &fl) == 1);
			CU_ASSERT(type == PT__MSG_RESET_OK);
			CU_ASSERT(pt__parse_u64(p, n, &v) == 0);
			pt__buf_consume(&b, fl);
			CU_ASSERT_FATAL(pt__frame_parse(pt__buf_head(&b),
			    b.len, &type, &p, &n, &fl) == 1);
			CU_ASSERT(type == PT__MSG_BYE && n == 0);
			pt__buf_consume(&b, fl);
		}
	}
	/* A buffer too small for a message: the error, nothing left over. */
	pt__buf_free(&b);
	pt__buf_init(&b, 12);
	CU_ASSERT(pt__msg_hello(&b) == PT_ERANGE);
	CU_ASSERT(b.len == 0);
	pt__buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Small messages                                                            */
/* ------------------------------------------------------------------------ */

/* Takes the one frame in b: its payload copied to p (n bytes). */
static uint16_t
one_frame(struct pt__buf *b, uint8_t *p, size_t *n)
{
	const uint8_t *pl;
	uint16_t type;
	size_t fl;

	CU_ASSERT_FATAL(pt__frame_parse(pt__buf_head(b), b->len, &type, &pl,
	    n, &fl) == 1);
	CU_ASSERT(fl == b->len);
	memcpy(p, pl, *n);
	pt__buf_consume(b, fl);
	return type;
}

static void
test_hello(void)
{
	struct pt__buf b;
	uint8_t p[64];
	uint32_t version = 0;
	size_t n, i;

	pt__buf_init(&b, 4096);
	CU_ASSERT(pt__msg_hello(&b) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_HELLO);
	CU_ASSERT(n == 5);
	CU_ASSERT(pt__parse_hello(p, n, &version) == 0);
	CU_ASSERT(version == PT__PROTO_VERSION);
	/* Truncated anywhere, or a byte too many. */
	for (i = 0; i < n; i++)
		CU_ASSERT(pt__parse_hello(p, i, &version) == PT_EPROTO);
	p[n] = 0;
	CU_ASSERT(pt__parse_hello(p, n + 1, &version) == PT_EPROTO);
	/* Wrong magic. */
	p[0] ^= 1;
	CU_ASSERT(pt__parse_hello(p, n, &version) == PT_EPROTO);
	p[0] ^= 1;
	/* Wrong version, even with more after it. */
	p[4] = PT__PROTO_VERSION + 1;
	CU_ASSERT(pt__parse_hello(p, n, &version) == PT_EVERSION);
	CU_ASSERT(version == PT__PROTO_VERSION + 1);
	CU_ASSERT(pt__parse_hello(p, n + 1, &version) == PT_EVERSION);
	p[4] = 0;
	CU_ASSERT(pt__parse_hello(p, n, &version) == PT_EVERSION);
	/* Wrong magic and wrong version: the magic decides. */
	p[3] = 0;
	CU_ASSERT(pt__parse_hello(p, n, &version) == PT_EPROTO);
	pt__buf_free(&b);
}

static void
test_welcome(void)
{
	struct pt__welcome w, got;
	struct pt__buf b;
	uint8_t p[128];
	size_t n, i;

	memset(&w, 0, sizeof w);
	w.version = PT__PROTO_VERSION;
	w.pid = 31337;
	strcpy(w.process, "demo\033[2J");
	w.start_real_ns = 1700000000000000000ull;
	w.uptime_ns = 123456789;
	pt__buf_init(&b, 4096);
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == 0);
	CU_ASSERT(got.version == w.version && got.pid == w.pid &&
	    got.start_real_ns == w.start_real_ns &&
	    got.uptime_ns == w.uptime_ns);
	CU_ASSERT_STRING_EQUAL(got.process, "demo?[2J");	/* no ESC */
	for (i = 0; i < n; i++)
		CU_ASSERT(pt__parse_welcome(p, i, &got) == PT_EPROTO);
	CU_ASSERT(pt__parse_welcome(p, n + 1, &got) == PT_EPROTO);

	/* A process name of 64 bytes without a NUL is cut to 63. */
	memset(w.process, 'x', sizeof w.process);
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == 0);
	CU_ASSERT(strlen(got.process) == 63);

	/* Bad pids and another version. */
	w.pid = 0;
	strcpy(w.process, "x");
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == PT_EPROTO);
	w.pid = -5;
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == PT_EPROTO);
	w.pid = 1;
	w.version = 77;
	CU_ASSERT(pt__msg_welcome(&b, &w) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_WELCOME);
	CU_ASSERT(pt__parse_welcome(p, n, &got) == PT_EVERSION);
	CU_ASSERT(got.version == 77);
	pt__buf_free(&b);
}

static void
test_error_msg(void)
{
	struct pt__buf b;
	uint8_t p[2048];
	char msg[16], longmsg[600];
	size_t n;
	int code = 0;

	pt__buf_init(&b, 4096);
	CU_ASSERT(pt__msg_error(&b, PT_EPERM, "not yours") == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_ERROR);
	CU_ASSERT(pt__parse_error(p, n, &code, msg, sizeof msg) == 0);
	CU_ASSERT(code == PT_EPERM);
	CU_ASSERT_STRING_EQUAL(msg, "not yours");
	CU_ASSERT(pt__parse_error(p, n - 1, &code, msg, sizeof msg) ==
	    PT_EPROTO);
	CU_ASSERT(pt__parse_error(p, n + 1, &code, msg, sizeof msg) ==
	    PT_EPROTO);
	/* Cut to the caller's buffer without splitting a character. */
	CU_ASSERT(pt__msg_error(&b, PT_EBUSY, "\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9") == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_ERROR);
	CU_ASSERT(pt__parse_error(p, n, &code, msg, sizeof msg) == 0);
	CU_ASSERT(strlen(msg) == 14);
	/* Control characters and invalid UTF-8 become '?'. */
	CU_ASSERT(pt__msg_error(&b, PT_EBUSY, "a\033b\xff\xc2\x9b") == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_ERROR);
	CU_ASSERT(pt__parse_error(p, n, &code, msg, sizeof msg) == 0);
	CU_ASSERT_STRING_EQUAL(msg, "a?b???");
	/* Long messages are cut when sent. */
	memset(longmsg, 'm', sizeof longmsg - 1);
	longmsg[sizeof longmsg - 1] = '\0';
	CU_ASSERT(pt__msg_error(&b, PT_EBUSY, longmsg) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_ERROR);
	CU_ASSERT(pt__parse_error(p, n, &code, NULL, 0) == 0);
	/* A code of 0 or above is not an error. */
	CU_ASSERT(pt__msg_error(&b, 0, "x") == PT_EINVAL);
	p[0] = 2;	/* zigzag 1 */
	p[1] = 0;
	CU_ASSERT(pt__parse_error(p, 2, &code, msg, sizeof msg) == PT_EPROTO);
	p[0] = 1;	/* zigzag -1 */
	CU_ASSERT(pt__parse_error(p, 2, &code, msg, sizeof msg) == 0);
	pt__buf_free(&b);
}

static void
test_u64_msgs(void)
{
	struct pt__buf b;
	uint8_t p[64];
	uint64_t v;
	size_t n;

	pt__buf_init(&b, 4096);
	CU_ASSERT(pt__msg_u64(&b, PT__MSG_RESET_OK, UINT64_MAX) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_RESET_OK);
	CU_ASSERT(n == 10);
	CU_ASSERT(pt__parse_u64(p, n, &v) == 0 && v == UINT64_MAX);
	CU_ASSERT(pt__parse_u64(p, n - 1, &v) == PT_EPROTO);
	CU_ASSERT(pt__parse_u64(p, 0, &v) == PT_EPROTO);
	CU_ASSERT(pt__parse_u64(NULL, 0, &v) == PT_EPROTO);
	p[n] = 0;
	CU_ASSERT(pt__parse_u64(p, n + 1, &v) == PT_EPROTO);
	CU_ASSERT(pt__msg_empty(&b, PT__MSG_SNAPSHOT_REQ) == 0);
	CU_ASSERT(one_frame(&b, p, &n) == PT__MSG_SNAPSHOT_REQ);
	CU_ASSERT(n == 0);
	pt__buf_free(&b);
}

const struct cunit_test framing_tests[] = {
	{ "buffers", test_buf },
	{ "varints and fixed fields", test_varint },
	{ "bad varints and strings", test_bad_varints },
	{ "frame parsing", test_frame_parse },
	{ "frame building", test_frame_build },
	{ "hello", test_hello },
	{ "welcome", test_welcome },
	{ "error", test_error_msg },
	{ "u64 and empty messages", test_u64_msgs },
	{ NULL, NULL }
};
