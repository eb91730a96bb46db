/*
 * frame.c - bounded byte buffers, the varint/zigzag/fixed-width encoders and
 * decoders, and the 8-byte frame header (see ipc.h for the layout).
 *
 * Decoders never read outside [p, end): every read checks the bytes left
 * first, and the first error sticks in d->err so a caller can decode a whole
 * message and check once.  After an error every getter returns 0 (or an
 * empty string) and consumes nothing.
 */
#include "ipc.h"

#include <stdlib.h>
#include <string.h>

/* Below this many consumed bytes pt__buf_consume() does not bother moving. */
#define BUF_COMPACT_MIN	4096
/* Smallest allocation of a buffer that holds anything. */
#define BUF_CAP_MIN	256
/* Longest varint: 10 bytes carry 64 bits (9 x 7 + 1). */
#define VARINT_MAX	10

/* ------------------------------------------------------------------------ */
/* Buffers                                                                   */
/* ------------------------------------------------------------------------ */

void
pt__buf_init(struct pt__buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void
pt__buf_free(struct pt__buf *b)
{
	size_t max = b->max;

	free(b->data);
	pt__buf_init(b, max);
}

/* Moves the held bytes to the front of the allocation. */
static void
buf_compact(struct pt__buf *b)
{
	if (b->off == 0)
		return;
	if (b->len > 0)
		memmove(b->data, b->data + b->off, b->len);
	b->off = 0;
}

int
pt__buf_reserve(struct pt__buf *b, size_t more)
{
	size_t need, cap;
	uint8_t *p;

	if (more > b->max || b->len > b->max - more)
		return PT_ERANGE;
	need = b->len + more;
	if (b->off + need <= b->cap)
		return 0;
	if (need <= b->cap) {		/* room enough once compacted */
		buf_compact(b);
		return 0;
	}
	cap = b->cap > BUF_CAP_MIN ? b->cap : BUF_CAP_MIN;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if (cap > b->max)
		cap = b->max;		/* still >= need */
	buf_compact(b);
	if ((p = realloc(b->data, cap)) == NULL)
		return PT_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
pt__buf_append(struct pt__buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = pt__buf_reserve(b, n)) != 0)
		return rc;
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

/*
 * Drops n bytes from the front.  The bytes left are moved to the front only
 * when that is cheap relative to what was consumed (at least as many bytes
 * consumed as held, and a few KiB), so a stream of small reads and consumes
 * costs O(1) amortised per byte; an empty buffer simply rewinds.
 */
void
pt__buf_consume(struct pt__buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		b->off = 0;
		return;
	}
	b->off += n;
	b->len -= n;
	if (b->off >= BUF_COMPACT_MIN && b->off >= b->len)
		buf_compact(b);
}

/* ------------------------------------------------------------------------ */
/* Encoders                                                                  */
/* ------------------------------------------------------------------------ */

static void
enc_bytes(struct pt__enc *e, const void *p, size_t n)
{
	int rc;

	if (e->err != 0)
		return;
	if ((rc = pt__buf_append(e->b, p, n)) != 0)
		e->err = rc;
}

void
pt__put_u64(struct pt__enc *e, uint64_t v)
{
	uint8_t tmp[VARINT_MAX];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	enc_bytes(e, tmp, n);
}

void
pt__put_i64(struct pt__enc *e, int64_t v)
{
	/* Zigzag: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ... */
	pt__put_u64(e, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void
pt__put_u32le(struct pt__enc *e, uint32_t v)
{
	uint8_t tmp[4];

	tmp[0] = (uint8_t)v;
	tmp[1] = (uint8_t)(v >> 8);
	tmp[2] = (uint8_t)(v >> 16);
	tmp[3] = (uint8_t)(v >> 24);
	enc_bytes(e, tmp, sizeof tmp);
}

void
pt__put_f64(struct pt__enc *e, double v)
{
	uint8_t tmp[8];
	uint64_t bits;
	int i;

	memcpy(&bits, &v, sizeof bits);
	for (i = 0; i < 8; i++)
		tmp[i] = (uint8_t)(bits >> (8 * i));
	enc_bytes(e, tmp, sizeof tmp);
}

void
pt__put_str(struct pt__enc *e, const char *s)
{
	size_t n;

	if (s == NULL)
		s = "";
	n = strlen(s);
	pt__put_u64(e, n);
	enc_bytes(e, s, n);
}

/* ------------------------------------------------------------------------ */
/* Decoders                                                                  */
/* ------------------------------------------------------------------------ */

static void
dec_fail(struct pt__dec *d)
{
	if (d->err == 0)
		d->err = PT_EPROTO;
}

/* Bytes left, 0 after an error. */
static size_t
dec_left(const struct pt__dec *d)
{
	if (d->err != 0 || d->p == NULL || d->end < d->p)
		return 0;
	return (size_t)(d->end - d->p);
}

uint64_t
pt__get_u64(struct pt__dec *d)
{
	size_t left = dec_left(d), i;
	uint64_t v = 0;
	uint8_t c;

	if (d->err != 0)
		return 0;
	for (i = 0; i < VARINT_MAX; i++) {
		if (i >= left) {		/* ran off the end */
			dec_fail(d);
			return 0;
		}
		c = d->p[i];
		if (i == VARINT_MAX - 1 && c > 1) {
			/* Bit 63 is the only one left; more is overflow (or an
			 * 11th byte). */
			dec_fail(d);
			return 0;
		}
		v |= (uint64_t)(c & 0x7f) << (7 * i);
		if ((c & 0x80) == 0) {
			d->p += i + 1;
			return v;
		}
	}
	dec_fail(d);	/* not reached: the 10th byte is <= 1 */
	return 0;
}

uint64_t
pt__get_u64max(struct pt__dec *d, uint64_t max)
{
	uint64_t v = pt__get_u64(d);

	if (d->err != 0)
		return 0;
	if (v > max) {
		dec_fail(d);
		return 0;
	}
	return v;
}

int64_t
pt__get_i64(struct pt__dec *d)
{
	uint64_t z = pt__get_u64(d);

	return (int64_t)((z >> 1) ^ (0 - (z & 1)));
}

/* Reads n bytes little-endian (n <= 8). */
static uint64_t
get_le(struct pt__dec *d, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (dec_left(d) < n) {
		dec_fail(d);
		return 0;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)d->p[i] << (8 * i);
	d->p += n;
	return v;
}

double
pt__get_f64(struct pt__dec *d)
{
	uint64_t bits = get_le(d, 8);
	double v;

	memcpy(&v, &bits, sizeof v);
	return v;
}

uint32_t
pt__get_u32le(struct pt__dec *d)
{
	return (uint32_t)get_le(d, 4);
}

void
pt__get_str(struct pt__dec *d, char *buf, size_t maxlen)
{
	uint64_t n;

	buf[0] = '\0';
	n = pt__get_u64(d);
	if (d->err != 0)
		return;
	if (n > maxlen || n > dec_left(d) ||
	    memchr(d->p, '\0', (size_t)n) != NULL) {
		dec_fail(d);
		return;
	}
	memcpy(buf, d->p, (size_t)n);
	buf[n] = '\0';
	d->p += n;
}

int
pt__dec_finish(struct pt__dec *d)
{
	if (d->err == 0 && d->p != d->end)
		d->err = PT_EPROTO;
	return d->err;
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * The returned offset is relative to the buffer's head (pt__buf_head()), so
 * it survives the buffer compacting itself while the frame grows.
 */
size_t
pt__frame_begin(struct pt__enc *e, uint16_t type)
{
	size_t start = e->b->len;

	pt__put_u32le(e, 0);		/* length, filled in by _end */
	pt__put_u32le(e, type);		/* type, then reserved = 0 */
	return start;
}

/*
 * On any failure (an earlier encoder error, or a frame that grew past
 * PT__FRAME_MAX) the partial frame is removed from the buffer again, so a
 * failed message never leaves half a frame behind.
 */
int
pt__frame_end(struct pt__enc *e, size_t start)
{
	struct pt__buf *b = e->b;
	size_t flen;
	uint8_t *h;

	if (start > b->len || b->len - start < PT__FRAME_HDR) {
		if (e->err == 0)
			e->err = PT_EINVAL;
	} else if (e->err == 0 && b->len - start > PT__FRAME_MAX)
		e->err = PT_ERANGE;
	if (e->err != 0) {
		if (start <= b->len)
			b->len = start;
		if (b->len == 0)
			b->off = 0;
		return e->err;
	}
	flen = b->len - start;
	h = b->data + b->off + start;
	h[0] = (uint8_t)flen;
	h[1] = (uint8_t)(flen >> 8);
	h[2] = (uint8_t)(flen >> 16);
	h[3] = (uint8_t)(flen >> 24);
	return 0;
}

int
pt__frame_parse(const uint8_t *data, size_t len, uint16_t *type,
    const uint8_t **payload, size_t *payload_len, size_t *frame_len)
{
	uint32_t flen;

	/* A bad length or reserved field is reported as soon as it is seen. */
	if (len < 4)
		return 0;
	flen = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
	    (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	if (flen < PT__FRAME_HDR || flen > PT__FRAME_MAX)
		return PT_EPROTO;
	if (len < PT__FRAME_HDR)
		return 0;
	if (data[6] != 0 || data[7] != 0)
		return PT_EPROTO;
	if (len < flen)
		return 0;
	*type = (uint16_t)(data[4] | data[5] << 8);
	*payload = data + PT__FRAME_HDR;
	*payload_len = flen - PT__FRAME_HDR;
	*frame_len = flen;
	return 1;
}
