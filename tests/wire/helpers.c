/*
 * helpers.c - what the files of test-wire share: a fixed-seed generator,
 * hand-made snapshots, encoding, decoding and comparing them.
 */
#include "wire-test.h"

/*
 * A deterministic PRNG (xorshift64*) and a standard normal deviate: one
 * sequence for the whole program, drawn from by the tests in their order.
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* A seeded generator of its own (a 64-bit LCG): the tests that need the
 * same sequence whatever ran before. */
uint64_t
lcg(uint64_t *seed)
{
	return *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
}

/* Viewers tx[0 .. n - 1] and receivers rx[0 .. n - 1] made ready, and
 * freed. */
void
viewers_init(struct pt__wire_tx *tx, struct pt__wire_rx *rx, int n)
{
	for (int i = 0; i < n; i++) {
		pt__wire_tx_init(&tx[i]);
		pt__wire_rx_init(&rx[i]);
	}
}

void
viewers_done(struct pt__wire_tx *tx, struct pt__wire_rx *rx, int n)
{
	for (int i = 0; i < n; i++) {
		pt__wire_tx_done(&tx[i]);
		pt__wire_rx_done(&rx[i]);
	}
}

uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static double
rng_unit(void)		/* (0, 1) */
{
	return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

double
rng_normal(void)
{
	return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

/* Adds count events of ticks ticks to op (buckets kept sorted). */
void
op_add(pt_op_stats *op, uint64_t ticks, uint64_t count, double tick_ns)
{
	uint32_t idx = pt__hist_index(ticks);
	uint64_t ns = (uint64_t)llround((double)ticks * tick_ns);
	size_t i;

	for (i = 0; i < op->n_buckets && op->buckets[i].index < idx; i++)
		;
	if (i == op->n_buckets || op->buckets[i].index != idx) {
		op->buckets = realloc(op->buckets,
		    (op->n_buckets + 1) * sizeof *op->buckets);
		CU_ASSERT_FATAL(op->buckets != NULL);
		memmove(&op->buckets[i + 1], &op->buckets[i],
		    (op->n_buckets - i) * sizeof *op->buckets);
		op->buckets[i].index = idx;
		op->buckets[i].count = 0;
		op->n_buckets++;
	}
	op->buckets[i].count += count;
	if (op->count == 0 || ns < op->min_ns)
		op->min_ns = ns;
	if (op->count == 0 || ns > op->max_ns)
		op->max_ns = ns;
	op->count += count;
	op->total_ns += ns * count;
}

/* A hand-made snapshot with n_ops ops "op.N" and n_ctr counters "ctr.N". */
pt_snapshot *
mk_snap(size_t n_ops, size_t n_ctr, uint64_t epoch)
{
	pt_snapshot *s = pt__snapshot_alloc(n_ops, n_ctr);
	char name[64];
	size_t i;

	CU_ASSERT_FATAL(s != NULL);
	s->pid = 4242;
	strcpy(s->process, "handmade");
	s->time_ns = 1700000000123456789ull;
	s->uptime_ns = 5000000000ull;
	s->since_reset_ns = 4000000000ull;
	s->reset_epoch = epoch;
	s->tick_ns = 0.384615;
	s->memory.rss_bytes = 10u << 20;
	s->memory.peak_rss_bytes = 12u << 20;
	s->memory.heap_bytes = 3u << 20;
	for (i = 0; i < n_ops; i++) {
		snprintf(name, sizeof name, "op.%zu", i + 1);
		s->ops[i].name = strdup(name);
		s->ops[i].id = (uint32_t)(i + 1);
	}
	s->n_ops = n_ops;
	for (i = 0; i < n_ctr; i++) {
		snprintf(name, sizeof name, "ctr.%zu", i + 1);
		s->counters[i].name = strdup(name);
		s->counters[i].id = (uint32_t)(i + 1);
	}
	s->n_counters = n_ctr;
	return s;
}

/* Compares two snapshots field by field (percentiles recomputed on a). */
int
snap_equal(const pt_snapshot *a, const pt_snapshot *b)
{
	size_t i, j;

	if (a->reset_epoch != b->reset_epoch || a->time_ns != b->time_ns ||
	    a->uptime_ns != b->uptime_ns ||
	    a->since_reset_ns != b->since_reset_ns ||
	    a->tick_ns != b->tick_ns ||
	    memcmp(&a->memory, &b->memory, sizeof a->memory) != 0 ||
	    a->n_ops != b->n_ops || a->n_counters != b->n_counters)
		return 0;
	for (i = 0; i < a->n_ops; i++) {
		const pt_op_stats *x = &a->ops[i], *y = &b->ops[i];
		pt_op_stats t = *x;
		size_t nx = 0;

		pt_op_stats_finish(&t, a->tick_ns);
		if (strcmp(x->name, y->name) != 0 || x->id != y->id ||
		    x->count != y->count || x->total_ns != y->total_ns ||
		    x->min_ns != y->min_ns || x->max_ns != y->max_ns ||
		    t.p50_ns != y->p50_ns || t.p99_ns != y->p99_ns ||
		    t.p999_ns != y->p999_ns || t.mean_ns != y->mean_ns)
			return 0;
		/* Zero-count buckets of a are dropped by the decoder. */
		for (j = 0; j < x->n_buckets; j++) {
			if (x->buckets[j].count == 0)
				continue;
			if (nx >= y->n_buckets ||
			    y->buckets[nx].index != x->buckets[j].index ||
			    y->buckets[nx].count != x->buckets[j].count)
				return 0;
			nx++;
		}
		if (nx != y->n_buckets)
			return 0;
	}
	for (i = 0; i < a->n_counters; i++)
		if (strcmp(a->counters[i].name, b->counters[i].name) != 0 ||
		    a->counters[i].id != b->counters[i].id ||
		    a->counters[i].value != b->counters[i].value)
			return 0;
	return 1;
}

/* Reads the fixed part of a SNAPSHOT payload, leaving d at the first op. */
void
peek_skip(struct pt__dec *d, struct hdr *h)
{
	char name[PT_NAME_MAX + 1];
	uint64_t i, flags;

	h->seq = pt__get_u64(d);
	flags = pt__get_u64(d);
	h->flags = flags & 1;
	h->tick = (flags & 2) != 0;
	h->epoch = UINT64_MAX;
	if (h->flags) {
		h->epoch = pt__get_u64(d);
		for (i = 0; i < 6; i++)		/* times and memory */
			pt__get_u64(d);
	} else {
		for (i = 0; i < 6; i++)		/* their deltas */
			pt__get_i64(d);
	}
	if (h->tick)
		pt__get_f64(d);
	h->new_ops = pt__get_u64(d);
	for (i = 0; i < h->new_ops; i++)
		pt__get_str(d, name, PT_NAME_MAX);
	h->new_ctrs = pt__get_u64(d);
	for (i = 0; i < h->new_ctrs; i++)
		pt__get_str(d, name, PT_NAME_MAX);
	h->changed_ops = pt__get_u64(d);
	CU_ASSERT(d->err == 0);
}

void
peek_hdr(const uint8_t *p, size_t n, struct hdr *h)
{
	struct pt__dec d = { p, p + n, 0 };

	peek_skip(&d, h);
}

/*
 * Encodes s with tx into a fresh frame; returns the frame in *frame (the
 * caller frees it) and its length.
 */
size_t
encode(struct pt__wire_tx *tx, const pt_snapshot *s, uint8_t **frame)
{
	struct pt__buf b;
	size_t n;

	pt__buf_init(&b, BUF_MAX);
	CU_ASSERT_FATAL(pt__wire_encode_snapshot(tx, s, &b) == 0);
	n = b.len;
	*frame = malloc(n);
	CU_ASSERT_FATAL(*frame != NULL);
	memcpy(*frame, pt__buf_head(&b), n);
	pt__buf_free(&b);
	return n;
}

/* Parses a frame that must be one whole SNAPSHOT frame. */
void
payload_of(const uint8_t *frame, size_t len, const uint8_t **p, size_t *n)
{
	uint16_t type;
	size_t flen;

	CU_ASSERT_FATAL(pt__frame_parse(frame, len, &type, p, n, &flen) == 1);
	CU_ASSERT(type == PT__MSG_SNAPSHOT);
	CU_ASSERT(flen == len);
}

/*
 * Sends s through tx and rx; checks the decoded snapshot equals s.
 * Returns the frame length; fills *h with its header when h is set.
 */
size_t
round_trip(struct pt__wire_tx *tx, struct pt__wire_rx *rx,
    const pt_snapshot *s, struct hdr *h)
{
	pt_snapshot *got = NULL;
	const uint8_t *p;
	uint8_t *frame;
	size_t len, n;
	int rc;

	len = encode(tx, s, &frame);
	payload_of(frame, len, &p, &n);
	if (h != NULL)
		peek_hdr(p, n, h);
	rc = pt__wire_decode_snapshot(rx, p, n, &got);
	CU_ASSERT(rc == 0);
	if (rc == 0) {
		CU_ASSERT(snap_equal(s, got));
		CU_ASSERT(got->pid == rx->pid);
		CU_ASSERT(strcmp(got->process, rx->process) == 0);
		CU_ASSERT(snap_equal(s, rx->cur));
	}
	pt_snapshot_free(got);
	free(frame);
	return len;
}

/* Notes the snapshot state of rx in m, to check "unchanged" against. */
void
rx_mark(const struct pt__wire_rx *rx, struct rx_mark *m)
{
	m->seq = rx->seq;
	m->n_op_names = rx->n_op_names;
	m->n_ctr_names = rx->n_ctr_names;
	m->cur = rx->cur;
}

/* Whether rx is still in the state m noted. */
int
rx_same(const struct pt__wire_rx *rx, const struct rx_mark *m)
{
	return rx->seq == m->seq && rx->n_op_names == m->n_op_names &&
	    rx->n_ctr_names == m->n_ctr_names && rx->cur == m->cur;
}

/* Decodes a payload that must be refused with code and change nothing. */
void
expect_reject(struct pt__wire_rx *rx, const uint8_t *p, size_t n, int code)
{
	struct rx_mark m;
	pt_snapshot *got = (pt_snapshot *)&got;
	int rc;

	rx_mark(rx, &m);
	rc = pt__wire_decode_snapshot(rx, p, n, &got);
	CU_ASSERT_EQUAL(rc, code);
	CU_ASSERT(got == NULL);
	CU_ASSERT(rx_same(rx, &m));
	if (rc == 0)
		pt_snapshot_free(got);
}

/* A receiver of the hand-made snapshots' process (mk_snap()). */
void
rx_setup(struct pt__wire_rx *rx)
{
	pt__wire_rx_init(rx);
	rx->pid = 4242;
	strcpy(rx->process, "handmade");
}
