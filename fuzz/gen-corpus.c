/*
 * gen-corpus.c - writes the seed corpus of fuzz-wire (valid frames and
 * streams of frames as a viewer would receive them) into WIRE-DIR and,
 * when given, that of fuzz-agent (what a viewer sends an agent, handshake
 * first, and a few mistakes) into AGENT-DIR.
 *
 * Usage: gen-corpus WIRE-DIR [AGENT-DIR]
 */
#include "ipc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pt__agent_autostart(void) {}
int pt_agent_start(void) { return PT_EDISABLED; }
int pt_agent_stop(void) { return 0; }

static const char *dir;

static void
write_file(const char *name, const struct pt__buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(pt__buf_head(b), 1, b->len, f) != b->len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
ok(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "gen-corpus: %s: %s\n", what, pt_strerror(rc));
		exit(1);
	}
}

/* Adds count events of ticks ticks to op. */
static void
op_add(pt_op_stats *op, uint64_t ticks, uint64_t count, double tick_ns)
{
	uint32_t idx = pt__hist_index(ticks);
	uint64_t ns = (uint64_t)((double)ticks * tick_ns);
	size_t i;

	for (i = 0; i < op->n_buckets && op->buckets[i].index < idx; i++)
		;
	if (i == op->n_buckets || op->buckets[i].index != idx) {
		op->buckets = realloc(op->buckets,
		    (op->n_buckets + 1) * sizeof *op->buckets);
		if (op->buckets == NULL)
			exit(1);
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

static pt_snapshot *
make(size_t n_ops, size_t n_ctr, uint64_t epoch)
{
	static const char *ops[] = { "parse", "compute", "io.write", "gc",
	    "écrire" };
	static const char *ctrs[] = { "frames", "bytes", "errors" };
	pt_snapshot *s = pt__snapshot_alloc(n_ops, n_ctr);
	size_t i;

	if (s == NULL)
		exit(1);
	s->pid = 1234;
	strcpy(s->process, "demo");
	s->time_ns = 1700000000000000000ull;
	s->uptime_ns = 3000000000ull;
	s->since_reset_ns = 3000000000ull;
	s->reset_epoch = epoch;
	s->tick_ns = 0.4;
	s->memory.rss_bytes = 8u << 20;
	s->memory.peak_rss_bytes = 9u << 20;
	s->memory.heap_bytes = 1u << 20;
	for (i = 0; i < n_ops; i++) {
		s->ops[i].id = (uint32_t)(i + 1);
		s->ops[i].name = strdup(ops[i]);
	}
	s->n_ops = n_ops;
	for (i = 0; i < n_ctr; i++) {
		s->counters[i].id = (uint32_t)(i + 1);
		s->counters[i].name = strdup(ctrs[i]);
	}
	s->n_counters = n_ctr;
	return s;
}

/* Appends an empty message (REQ, RESET, BYE) or a SUBSCRIBE to b. */
static void
msg(struct pt__buf *b, uint16_t type, uint64_t interval_ms)
{
	if (type == PT__MSG_SUBSCRIBE)
		ok(pt__msg_u64(b, type, interval_ms), "subscribe");
	else
		ok(pt__msg_empty(b, type), "message");
}

/* Writes b as file name and empties it. */
static void
flush_file(const char *name, struct pt__buf *b)
{
	write_file(name, b);
	pt__buf_consume(b, b->len);
}

/*
 * The agent's corpus: conversations a viewer starts, each as the bytes it
 * sends on one connection.
 */
static void
agent_corpus(void)
{
	struct pt__buf b;
	struct pt__enc e = { &b, 0 };
	size_t start;

	pt__buf_init(&b, PT__FRAME_MAX);
	ok(pt__msg_hello(&b), "hello");
	flush_file("hello", &b);

	ok(pt__msg_hello(&b), "hello");
	msg(&b, PT__MSG_SNAPSHOT_REQ, 0);
	msg(&b, PT__MSG_BYE, 0);
	flush_file("dump", &b);

	ok(pt__msg_hello(&b), "hello");
	msg(&b, PT__MSG_SUBSCRIBE, 10);
	msg(&b, PT__MSG_SUBSCRIBE, 60001);
	msg(&b, PT__MSG_SUBSCRIBE, 0);
	flush_file("subscribe", &b);

	ok(pt__msg_hello(&b), "hello");
	msg(&b, PT__MSG_SUBSCRIBE, 100);
	msg(&b, PT__MSG_RESET, 0);
	msg(&b, PT__MSG_SNAPSHOT_REQ, 0);
	msg(&b, PT__MSG_SNAPSHOT_REQ, 0);
	msg(&b, PT__MSG_SUBSCRIBE, 0);
	msg(&b, PT__MSG_BYE, 0);
	flush_file("everything", &b);

	/* A viewer of protocol version 1 (a varint version after the magic). */
	start = pt__frame_begin(&e, PT__MSG_HELLO);
	pt__put_u32le(&e, PT__PROTO_MAGIC);
	pt__put_u64(&e, 1);
	ok(pt__frame_end(&e, start), "old hello");
	flush_file("old-version", &b);

	/* No handshake; then a RESET with a payload; then an ERROR. */
	msg(&b, PT__MSG_SNAPSHOT_REQ, 0);
	flush_file("no-hello", &b);
	ok(pt__msg_hello(&b), "hello");
	start = pt__frame_begin(&e, PT__MSG_RESET);
	pt__put_u64(&e, 7);
	ok(pt__frame_end(&e, start), "reset with a payload");
	flush_file("bad-reset", &b);
	ok(pt__msg_hello(&b), "hello");
	ok(pt__msg_error(&b, PT_EPROTO, "viewer gives up"), "error");
	flush_file("error", &b);
	pt__buf_free(&b);
}

int
main(int argc, char **argv)
{
	struct pt__welcome w;
	struct pt__wire_tx tx;
	struct pt__buf b, stream;
	pt_snapshot *s1, *s2, *s3, *s4, *s5 = NULL;
	uint64_t seed = 42;
	int i;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: gen-corpus WIRE-DIR [AGENT-DIR]\n");
		return 2;
	}
	if (argc == 3) {
		dir = argv[2];
		agent_corpus();
	}
	dir = argv[1];
	pt__buf_init(&b, PT__FRAME_MAX);
	pt__buf_init(&stream, PT__FRAME_MAX);

	ok(pt__msg_hello(&b), "hello");
	write_file("hello", &b);
	pt__buf_consume(&b, b.len);

	memset(&w, 0, sizeof w);
	w.version = PT__PROTO_VERSION;
	w.pid = 1234;
	strcpy(w.process, "demo");
	w.start_real_ns = 1700000000000000000ull;
	w.uptime_ns = 3000000000ull;
	ok(pt__msg_welcome(&b, &w), "welcome");
	write_file("welcome", &b);
	pt__buf_append(&stream, pt__buf_head(&b), b.len);
	pt__buf_consume(&b, b.len);

	ok(pt__msg_error(&b, PT_EPERM, "refused: not the same user"),
	    "error");
	write_file("error", &b);
	pt__buf_consume(&b, b.len);

	ok(pt__msg_u64(&b, PT__MSG_SUBSCRIBE, 1000), "subscribe");
	ok(pt__msg_u64(&b, PT__MSG_RESET_OK, 3), "reset ok");
	ok(pt__msg_empty(&b, PT__MSG_SNAPSHOT_REQ), "request");
	ok(pt__msg_empty(&b, PT__MSG_BYE), "bye");
	write_file("small-messages", &b);
	pt__buf_consume(&b, b.len);

	/* A FULL snapshot, a delta with new names, a light delta, and a
	 * FULL after a reset, each alone and all in one stream. */
	pt__wire_tx_init(&tx);
	s1 = make(3, 2, 0);
	for (i = 0; i < 400; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		op_add(&s1->ops[i % 3], 2000 + (seed >> 40) % 60000, 1,
		    s1->tick_ns);
	}
	op_add(&s1->ops[1], 3, 5000, s1->tick_ns);
	s1->counters[0].value = 400;
	s1->counters[1].value = -17;
	ok(pt__wire_encode_snapshot(&tx, s1, &b), "snapshot 1");
	write_file("snapshot-full", &b);
	pt__buf_append(&stream, pt__buf_head(&b), b.len);
	pt__buf_consume(&b, b.len);

	s2 = make(5, 3, 0);
	for (i = 0; i < 3; i++) {
		free((char *)s2->ops[i].name);
		s2->ops[i] = s1->ops[i];
		s2->ops[i].name = strdup(s1->ops[i].name);
		s2->ops[i].buckets = malloc(s1->ops[i].n_buckets *
		    sizeof(pt_bucket));
		memcpy(s2->ops[i].buckets, s1->ops[i].buckets,
		    s1->ops[i].n_buckets * sizeof(pt_bucket));
	}
	for (i = 0; i < 60; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		op_add(&s2->ops[i % 5], 2000 + (seed >> 40) % 60000, 1,
		    s2->tick_ns);
	}
	op_add(&s2->ops[1], 3, 50000, s2->tick_ns);	/* list form */
	s2->counters[0].value = 460;
	s2->counters[2].value = 1;
	s2->time_ns += 1000000000;
	ok(pt__wire_encode_snapshot(&tx, s2, &b), "snapshot 2");
	write_file("snapshot-delta", &b);
	pt__buf_append(&stream, pt__buf_head(&b), b.len);
	pt__buf_consume(&b, b.len);

	s3 = pt__snapshot_copy(s2);
	op_add(&s3->ops[0], 5000, 1, s3->tick_ns);
	/* Many events spread like the earlier ones: the predicted form. */
	for (i = 0; i < 3000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		op_add(&s3->ops[2], 2000 + (seed >> 40) % 60000, 1,
		    s3->tick_ns);
	}
	s3->counters[1].value = 0;
	s3->time_ns += 1000000000;
	ok(pt__wire_encode_snapshot(&tx, s3, &b), "snapshot 3");
	write_file("snapshot-light", &b);
	pt__buf_append(&stream, pt__buf_head(&b), b.len);
	pt__buf_consume(&b, b.len);

	s4 = make(5, 3, 1);
	op_add(&s4->ops[4], 7000, 2, s4->tick_ns);
	/* A bell with a long thin tail, then more of it: the sparse form. */
	for (i = 0; i < 3000; i++) {
		pt_snapshot *s = i < 1500 ? s4 : s5;

		if (i == 1500) {
			ok(pt__wire_encode_snapshot(&tx, s4, &b),
			    "snapshot 4");
			write_file("snapshot-reset", &b);
			pt__buf_append(&stream, pt__buf_head(&b), b.len);
			pt__buf_consume(&b, b.len);
			s = s5 = pt__snapshot_copy(s4);
		}
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		op_add(&s->ops[3], (seed >> 33) % 25 == 0 ?
		    10000 + (seed >> 20) % 3000000 :
		    2000 + (seed >> 40) % 2000, 1, s->tick_ns);
	}
	s5->time_ns += 1000000000;
	ok(pt__wire_encode_snapshot(&tx, s5, &b), "snapshot 5");
	write_file("snapshot-sparse", &b);
	pt__buf_append(&stream, pt__buf_head(&b), b.len);
	pt__buf_consume(&b, b.len);

	ok(pt__msg_u64(&stream, PT__MSG_RESET_OK, 1), "reset ok");
	ok(pt__msg_error(&stream, PT_EBUSY, "busy"), "error");
	write_file("stream", &stream);

	pt_snapshot_free(s1);
	pt_snapshot_free(s2);
	pt_snapshot_free(s3);
	pt_snapshot_free(s4);
	pt_snapshot_free(s5);
	pt__wire_tx_done(&tx);
	pt__buf_free(&b);
	pt__buf_free(&stream);
	return 0;
}
