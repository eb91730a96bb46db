/*
 * fuzz-wire.c - libFuzzer target for ipc/frame.c, ipc/wire.c and the
 * snapshot codec (ipc/snapenc.c, ipc/bucketenc.c, ipc/snapdec.c).
 *
 * The input is a byte stream from a peer.  It is fed into a bounded buffer
 * in uneven chunks, frames are cut with pt__frame_parse() as they complete,
 * and each goes to the parser of its type; SNAPSHOT frames go through
 * pt__wire_decode_snapshot() with one receiver state for the whole input,
 * so sequences (a FULL, then deltas) are exercised.
 *
 * Every snapshot that decodes is checked (ids 1..n, valid names, sorted
 * non-empty buckets, min <= max), then encoded again by a sender and
 * decoded by a second receiver, which must give the same snapshot: the
 * encoder must accept whatever the decoder accepts, and the two must agree.
 * Any disagreement aborts, which libFuzzer reports as a crash.
 */
#include "ipc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fuzz build links the core without the agent. */
void pt__agent_autostart(void) {}
int pt_agent_start(void) { return PT_EDISABLED; }
int pt_agent_stop(void) { return 0; }

#define CHECK(x) do {							\
	if (!(x)) {							\
		fprintf(stderr, "fuzz-wire: check failed: %s (line %d)\n", \
		    #x, __LINE__);					\
		abort();						\
	}								\
} while (0)

static void
check_snapshot(const pt_snapshot *s, const struct pt__wire_rx *rx)
{
	size_t i, j;

	CHECK(s->n_ops == rx->n_op_names && s->n_counters == rx->n_ctr_names);
	CHECK(s->tick_ns > 0 && s->tick_ns == s->tick_ns);
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *o = &s->ops[i];

		CHECK(o->id == i + 1);
		CHECK(pt__name_check(o->name) == 0);
		CHECK(strcmp(o->name, rx->op_names[i]) == 0);
		CHECK(o->count == 0 || o->min_ns <= o->max_ns);
		CHECK((o->n_buckets == 0) == (o->buckets == NULL));
		for (j = 0; j < o->n_buckets; j++) {
			CHECK(o->buckets[j].index < PT_HIST_BUCKETS);
			CHECK(o->buckets[j].count > 0);
			CHECK(j == 0 ||
			    o->buckets[j].index > o->buckets[j - 1].index);
		}
	}
	for (i = 0; i < s->n_counters; i++) {
		CHECK(s->counters[i].id == i + 1);
		CHECK(pt__name_check(s->counters[i].name) == 0);
	}
}

static int
same_snapshot(const pt_snapshot *a, const pt_snapshot *b)
{
	size_t i, j;

	if (a->pid != b->pid || strcmp(a->process, b->process) != 0 ||
	    a->time_ns != b->time_ns || a->uptime_ns != b->uptime_ns ||
	    a->since_reset_ns != b->since_reset_ns ||
	    a->reset_epoch != b->reset_epoch ||
	    memcmp(&a->tick_ns, &b->tick_ns, sizeof a->tick_ns) != 0 ||
	    memcmp(&a->memory, &b->memory, sizeof a->memory) != 0 ||
	    a->n_ops != b->n_ops || a->n_counters != b->n_counters)
		return 0;
	for (i = 0; i < a->n_ops; i++) {
		const pt_op_stats *x = &a->ops[i], *y = &b->ops[i];

		if (strcmp(x->name, y->name) != 0 || x->id != y->id ||
		    x->count != y->count || x->total_ns != y->total_ns ||
		    x->min_ns != y->min_ns || x->max_ns != y->max_ns ||
		    x->p50_ns != y->p50_ns || x->p90_ns != y->p90_ns ||
		    x->p99_ns != y->p99_ns || x->p999_ns != y->p999_ns ||
		    memcmp(&x->mean_ns, &y->mean_ns, sizeof x->mean_ns) != 0 ||
		    x->n_buckets != y->n_buckets)
			return 0;
		/* Field by field: pt_bucket has padding. */
		for (j = 0; j < x->n_buckets; j++)
			if (x->buckets[j].index != y->buckets[j].index ||
			    x->buckets[j].count != y->buckets[j].count)
				return 0;
	}
	for (i = 0; i < a->n_counters; i++)
		if (strcmp(a->counters[i].name, b->counters[i].name) != 0 ||
		    a->counters[i].id != b->counters[i].id ||
		    a->counters[i].value != b->counters[i].value)
			return 0;
	return 1;
}

struct conn {
	struct pt__wire_rx	rx;	/* decodes the input */
	struct pt__wire_tx	tx;	/* encodes what rx decoded again */
	struct pt__wire_rx	rx2;	/* decodes that */
	struct pt__buf		out;
};

/* Encodes s again and checks the second receiver gets the same. */
static void
reencode(struct conn *c, const pt_snapshot *s)
{
	pt_snapshot *again = NULL;
	const uint8_t *p;
	uint16_t type;
	size_t n, flen;
	int rc;

	pt__buf_consume(&c->out, c->out.len);
	rc = pt__wire_encode_snapshot(&c->tx, s, &c->out);
	/* Only counts beyond what a zigzag varint carries can be refused. */
	CHECK(rc == 0 || rc == PT_ERANGE);
	if (rc != 0)
		return;
	CHECK(pt__frame_parse(pt__buf_head(&c->out), c->out.len, &type, &p,
	    &n, &flen) == 1);
	CHECK(type == PT__MSG_SNAPSHOT && flen == c->out.len);
	rc = pt__wire_decode_snapshot(&c->rx2, p, n, &again);
	CHECK(rc == 0);
	CHECK(same_snapshot(s, again));
	pt_snapshot_free(again);
}

static void
handle(struct conn *c, uint16_t type, const uint8_t *p, size_t n)
{
	struct pt__welcome w;
	pt_snapshot *s = NULL;
	uint32_t version;
	uint64_t v;
	char msg[256], tiny[4];
	int code, rc;

	switch (type) {
	case PT__MSG_HELLO:
		rc = pt__parse_hello(p, n, &version);
		CHECK(rc == 0 || rc == PT_EPROTO || rc == PT_EVERSION);
		break;
	case PT__MSG_WELCOME:
		rc = pt__parse_welcome(p, n, &w);
		CHECK(rc == 0 || rc == PT_EPROTO || rc == PT_EVERSION);
		if (rc == 0) {
			CHECK(w.pid > 0 && memchr(w.process, 0,
			    sizeof w.process) != NULL);
			c->rx.pid = c->rx2.pid = w.pid;
			memcpy(c->rx.process, w.process, sizeof w.process);
			memcpy(c->rx2.process, w.process, sizeof w.process);
		}
		break;
	case PT__MSG_ERROR:
		rc = pt__parse_error(p, n, &code, msg, sizeof msg);
		CHECK(rc == 0 || rc == PT_EPROTO);
		if (rc == 0) {
			CHECK(code < 0 && strlen(msg) < sizeof msg);
			rc = pt__parse_error(p, n, &code, tiny, sizeof tiny);
			CHECK(rc == 0 && strlen(tiny) < sizeof tiny);
		}
		break;
	case PT__MSG_SUBSCRIBE:
	case PT__MSG_RESET_OK:
		rc = pt__parse_u64(p, n, &v);
		CHECK(rc == 0 || rc == PT_EPROTO);
		break;
	case PT__MSG_SNAPSHOT:
		rc = pt__wire_decode_snapshot(&c->rx, p, n, &s);
		CHECK(rc == 0 || rc == PT_EPROTO);
		CHECK((rc == 0) == (s != NULL));
		if (rc == 0) {
			check_snapshot(s, &c->rx);
			CHECK(same_snapshot(s, c->rx.cur));
			reencode(c, s);
		}
		pt_snapshot_free(s);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[] = { 1, 7, 64, 3, 4096, 13 };
	struct conn c;
	struct pt__buf in;
	const uint8_t *p;
	uint16_t type;
	size_t off = 0, n, flen, k = 0, step;
	int rc = 0;

	memset(&c, 0, sizeof c);
	pt__wire_rx_init(&c.rx);
	pt__wire_rx_init(&c.rx2);
	pt__wire_tx_init(&c.tx);
	pt__buf_init(&c.out, PT__FRAME_MAX);
	pt__buf_init(&in, 1 << 20);
	while (off < size && rc >= 0) {
		step = chunks[k++ % (sizeof chunks / sizeof chunks[0])];
		if (step > size - off)
			step = size - off;
		if (pt__buf_append(&in, data + off, step) != 0)
			break;
		off += step;
		while ((rc = pt__frame_parse(pt__buf_head(&in), in.len, &type,
		    &p, &n, &flen)) == 1) {
			CHECK(flen >= PT__FRAME_HDR && flen <= in.len &&
			    n == flen - PT__FRAME_HDR);
			handle(&c, type, p, n);
			pt__buf_consume(&in, flen);
		}
		CHECK(rc == 0 || rc == PT_EPROTO);
	}
	pt__buf_free(&in);
	pt__buf_free(&c.out);
	pt__wire_rx_done(&c.rx);
	pt__wire_rx_done(&c.rx2);
	pt__wire_tx_done(&c.tx);
	return 0;
}
