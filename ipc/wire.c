/*
 * wire.c - the small messages of the perftop protocol, and the snapshots
 * a connection keeps (the snapshot codec: codec.h, snapenc.c, bucketenc.c,
 * snapdec.c).
 *
 * Small messages (payloads; varints unless said otherwise):
 *
 *   HELLO     u32le magic (PT__PROTO_MAGIC), version
 *   WELCOME   version, zigzag pid, str process, start_real_ns, uptime_ns
 *   ERROR     zigzag code (< 0), str message (at most ERRMSG_WIRE_MAX bytes)
 *   SUBSCRIBE, RESET_OK and other one-number messages: one varint
 *   SNAPSHOT_REQ, RESET, BYE: empty
 */
#include "codec.h"

#define ERRMSG_WIRE_MAX		1024	/* longest error message accepted */
#define ERRMSG_SEND_MAX		255	/* longest error message sent */

/*
 * Makes text safe to show on a terminal, in place: every byte that is not
 * part of a valid UTF-8 sequence, every control character (C0, DEL and C1)
 * becomes '?'.  The length never changes.
 */
static void
sanitize_text(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t more, i;
	uint32_t cp, min;

	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				*p = '?';
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			more = 1; cp = *p & 0x1f; min = 0x80;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			more = 2; cp = *p & 0x0f; min = 0x800;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			more = 3; cp = *p & 0x07; min = 0x10000;
		} else {
			*p++ = '?';
			continue;
		}
		for (i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (i <= more || cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f)) {
			*p++ = '?';	/* re-examine the next byte alone */
			continue;
		}
		p += more + 1;
	}
}

/* Copies at most max bytes of s to buf (max + 1 bytes), not splitting a
 * UTF-8 sequence. */
static void
copy_utf8_prefix(char *buf, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Small messages                                                            */
/* ------------------------------------------------------------------------ */

int
pt__msg_hello(struct pt__buf *out)
{
	struct pt__enc e;
	size_t start;

	enc_init(&e, out);
	start = pt__frame_begin(&e, PT__MSG_HELLO);
	pt__put_u32le(&e, PT__PROTO_MAGIC);
	pt__put_u64(&e, PT__PROTO_VERSION);
	return pt__frame_end(&e, start);
}

int
pt__msg_welcome(struct pt__buf *out, const struct pt__welcome *w)
{
	char process[sizeof w->process];
	struct pt__enc e;
	size_t start;

	if (w == NULL)
		return PT_EINVAL;
	copy_utf8_prefix(process, w->process, sizeof process - 1);
	enc_init(&e, out);
	start = pt__frame_begin(&e, PT__MSG_WELCOME);
	pt__put_u64(&e, w->version);
	pt__put_i64(&e, w->pid);
	pt__put_str(&e, process);
	pt__put_u64(&e, w->start_real_ns);
	pt__put_u64(&e, w->uptime_ns);
	return pt__frame_end(&e, start);
}

int
pt__msg_error(struct pt__buf *out, int code, const char *msg)
{
	char text[ERRMSG_SEND_MAX + 1];
	struct pt__enc e;
	size_t start;

	if (code >= 0)
		return PT_EINVAL;
	copy_utf8_prefix(text, msg != NULL ? msg : "", ERRMSG_SEND_MAX);
	enc_init(&e, out);
	start = pt__frame_begin(&e, PT__MSG_ERROR);
	pt__put_i64(&e, code);
	pt__put_str(&e, text);
	return pt__frame_end(&e, start);
}

int
pt__msg_u64(struct pt__buf *out, uint16_t type, uint64_t v)
{
	struct pt__enc e;
	size_t start;

	enc_init(&e, out);
	start = pt__frame_begin(&e, type);
	pt__put_u64(&e, v);
	return pt__frame_end(&e, start);
}

int
pt__msg_empty(struct pt__buf *out, uint16_t type)
{
	struct pt__enc e;
	size_t start;

	enc_init(&e, out);
	start = pt__frame_begin(&e, type);
	return pt__frame_end(&e, start);
}

int
pt__parse_hello(const uint8_t *p, size_t n, uint32_t *version)
{
	struct pt__dec d;
	uint32_t magic, v;

	dec_init(&d, p, n);
	magic = pt__get_u32le(&d);
	if (d.err != 0 || magic != PT__PROTO_MAGIC)
		return PT_EPROTO;
	v = (uint32_t)pt__get_u64max(&d, UINT32_MAX);
	if (d.err != 0)
		return PT_EPROTO;
	if (version != NULL)
		*version = v;
	/* Another version may well say more: the version decides first. */
	if (v != PT__PROTO_VERSION)
		return PT_EVERSION;
	return pt__dec_finish(&d);
}

int
pt__parse_welcome(const uint8_t *p, size_t n, struct pt__welcome *w)
{
	struct pt__welcome tmp;
	struct pt__dec d;
	int64_t pid;

	memset(&tmp, 0, sizeof tmp);
	dec_init(&d, p, n);
	tmp.version = (uint32_t)pt__get_u64max(&d, UINT32_MAX);
	if (d.err != 0)
		return PT_EPROTO;
	if (tmp.version != PT__PROTO_VERSION) {
		if (w != NULL)
			w->version = tmp.version;
		return PT_EVERSION;
	}
	pid = pt__get_i64(&d);
	pt__get_str(&d, tmp.process, sizeof tmp.process - 1);
	tmp.start_real_ns = pt__get_u64(&d);
	tmp.uptime_ns = pt__get_u64(&d);
	if (pt__dec_finish(&d) != 0 || pid <= 0 || pid > INT32_MAX)
		return PT_EPROTO;
	tmp.pid = (int32_t)pid;
	sanitize_text(tmp.process);
	if (w != NULL)
		*w = tmp;
	return 0;
}

int
pt__parse_error(const uint8_t *p, size_t n, int *code, char *msg,
    size_t msglen)
{
	char text[ERRMSG_WIRE_MAX + 1];
	struct pt__dec d;
	int64_t c;

	dec_init(&d, p, n);
	c = pt__get_i64(&d);
	pt__get_str(&d, text, ERRMSG_WIRE_MAX);
	if (pt__dec_finish(&d) != 0 || c >= 0 || c < INT_MIN)
		return PT_EPROTO;
	sanitize_text(text);
	if (code != NULL)
		*code = (int)c;
	if (msg != NULL && msglen > 0)
		copy_utf8_prefix(msg, text, msglen - 1);
	return 0;
}

int
pt__parse_u64(const uint8_t *p, size_t n, uint64_t *v)
{
	struct pt__dec d;
	uint64_t x;

	dec_init(&d, p, n);
	x = pt__get_u64(&d);
	if (pt__dec_finish(&d) != 0)
		return PT_EPROTO;
	if (v != NULL)
		*v = x;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Snapshot copies and connection state                                      */
/* ------------------------------------------------------------------------ */

pt_snapshot *
pt__snapshot_copy(const pt_snapshot *s)
{
	pt_snapshot *c;
	size_t i;

	if (s == NULL)
		return NULL;
	if ((c = pt__snapshot_alloc(s->n_ops, s->n_counters)) == NULL)
		return NULL;
	pt__snapshot_copy_header(c, s);
	c->n_ops = s->n_ops;
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *o = &s->ops[i];
		pt_op_stats *d = &c->ops[i];

		*d = *o;
		d->name = NULL;
		d->buckets = NULL;
		d->n_buckets = o->buckets != NULL ? o->n_buckets : 0;
		if ((d->name = strdup(o->name != NULL ? o->name : "")) == NULL)
			goto fail;
		if (d->n_buckets > 0 &&
		    (d->buckets = buckets_dup(o->buckets, d->n_buckets)) == NULL)
			goto fail;
	}
	c->n_counters = s->n_counters;
	for (i = 0; i < s->n_counters; i++) {
		c->counters[i] = s->counters[i];
		c->counters[i].name = strdup(s->counters[i].name != NULL ?
		    s->counters[i].name : "");
		if (c->counters[i].name == NULL)
			goto fail;
	}
	return c;
fail:
	pt_snapshot_free(c);
	return NULL;
}

void
pt__wire_tx_init(struct pt__wire_tx *tx)
{
	memset(tx, 0, sizeof *tx);
}

void
pt__wire_tx_done(struct pt__wire_tx *tx)
{
	pt_snapshot_free(tx->prev);
	free(tx->sent_ver);
	free(tx->shared);
	free(tx->scratch);
	pt__wire_tx_init(tx);
}

void
pt__wire_rx_init(struct pt__wire_rx *rx)
{
	memset(rx, 0, sizeof *rx);
}

void
pt__wire_rx_done(struct pt__wire_rx *rx)
{
	uint32_t i;

	for (i = 0; i < rx->n_op_names; i++)
		pt__sh_unref(rx->op_names[i]);
	for (i = 0; i < rx->n_ctr_names; i++)
		pt__sh_unref(rx->ctr_names[i]);
	free(rx->op_names);
	free(rx->ctr_names);
	pt_snapshot_free(rx->cur);
	free(rx->scratch);
	pt__wire_rx_init(rx);
}
