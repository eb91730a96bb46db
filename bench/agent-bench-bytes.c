/*
 * agent-bench-bytes.c - pt-agent-bench part 2: the bytes per changed
 * operation of a delta snapshot, for a demo-like workload and a light one,
 * and (--watch PID) of what a live process's agent really sends.
 */
#include "agent-bench.h"

#include <sys/socket.h>
#include <sys/un.h>

/*
 * A demo-like program: the operations of examples/perftop-demo at the rates
 * and durations it shows on a 2-CPU machine, and a few service-like ones,
 * 20 in all.  Durations are log-normal; some ops have a Pareto tail.
 */
struct demo_op {
	const char	*name;
	double		 per_s;		/* events per second */
	double		 median_ns;
	double		 sigma;
	double		 tail;		/* fraction of events in the tail */
	double		 tail_min_ns;	/* Pareto: minimum, shape 1.3 */
};

static const struct demo_op demo_ops[] = {
	{ "game.evaluate",	36000,	2.2e3,	0.35,	0.04,	100e3 },
	{ "game.search",	3200,	32e3,	0.9,	0.15,	500e3 },
	{ "game.move",		3200,	32e3,	0.9,	0.15,	500e3 },
	{ "game.play",		60,	42e6,	0.6,	0,	0 },
	{ "training_step",	550,	323e3,	0.15,	0.03,	1e6 },
	{ "data.load_batch",	550,	31e3,	0.1,	0.016,	500e3 },
	{ "training.forward",	550,	78e3,	0.05,	0.01,	150e3 },
	{ "training.backward",	550,	172e3,	0.07,	0.01,	300e3 },
	{ "training.optimizer",	550,	38e3,	0.3,	0,	0 },
	{ "x",			550,	1.05e3,	0.05,	0.001,	5e3 },
	{ "training.checkpoint", 2.7,	20e6,	0.5,	0,	0 },
	{ "replay.append",	1,	1e6,	0.4,	0,	0 },
	{ "replay.clear",	0.05,	3e6,	0.3,	0,	0 },
	{ "net.request",	200,	2e6,	0.8,	0,	0 },
	{ "db.query",		400,	500e3,	1.0,	0,	0 },
	{ "cache.get",		5000,	300,	0.3,	0.001,	10e3 },
	{ "json.encode",	300,	50e3,	0.5,	0,	0 },
	{ "log.write",		100,	20e3,	0.6,	0,	0 },
	{ "compress",		50,	3e6,	0.3,	0,	0 },
	{ "gc.pause",		2,	5e6,	0.7,	0,	0 },
};
#define DEMO_OPS	(sizeof demo_ops / sizeof demo_ops[0])

static uint64_t
demo_duration(struct rng *r, const struct demo_op *op)
{
	if (op->tail > 0 && rng_unit(r) <= op->tail) {
		double ns = op->tail_min_ns / pow(rng_unit(r), 1.0 / 1.3);

		return ns > 20e6 ? 20000000 : (uint64_t)ns;
	}
	return lognormal_ns(r, op->median_ns, op->sigma);
}

/* Operations of s that differ from prev (all, without prev). */
static size_t
changed_ops(const pt_snapshot *s, const pt_snapshot *prev)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_ops; i++) {
		const pt_op_stats *o = &s->ops[i], *p;

		if (prev == NULL || i >= prev->n_ops) {
			n += o->count != 0;
			continue;
		}
		p = &prev->ops[i];
		n += o->count != p->count || o->total_ns != p->total_ns ||
		    o->min_ns != p->min_ns || o->max_ns != p->max_ns;
	}
	return n;
}

/*
 * The bytes a change takes in a delta: mix is a copy of tx->prev with the
 * change made (freed here), encoded against a copy of tx->prev, minus the
 * bytes of an empty delta.  A diagnosis (--verbose); tx is not changed.
 */
static size_t
change_bytes(const struct pt__wire_tx *tx, pt_snapshot *mix)
{
	struct pt__wire_tx t;
	struct pt__buf buf;
	size_t empty, one;

	pt__buf_init(&buf, PT__FRAME_MAX);
	t = *tx;
	t.sent_ver = NULL;	/* t's own */
	t.shared = NULL;
	t.share_id = 0;
	t.scratch = NULL;
	if ((t.prev = pt__snapshot_copy(tx->prev)) == NULL)
		die("copy", strerror(ENOMEM));
	check("encode", pt__wire_encode_snapshot(&t, tx->prev, &buf));
	empty = buf.len;
	pt__buf_consume(&buf, buf.len);
	check("encode", pt__wire_encode_snapshot(&t, mix, &buf));
	one = buf.len;
	pt_snapshot_free(mix);
	pt__wire_tx_done(&t);
	pt__buf_free(&buf);
	return one - empty;
}

/* A copy of tx->prev. */
static pt_snapshot *
prev_copy(const struct pt__wire_tx *tx)
{
	pt_snapshot *c;

	if ((c = pt__snapshot_copy(tx->prev)) == NULL)
		die("copy", strerror(ENOMEM));
	return c;
}

/* The bytes op i of s takes in a delta against tx->prev (change_bytes()). */
static size_t
op_bytes(const struct pt__wire_tx *tx, const pt_snapshot *s, size_t i)
{
	pt_snapshot *mix = prev_copy(tx);
	pt_op_stats *d = &mix->ops[i];
	const pt_op_stats *o = &s->ops[i];

	free(d->buckets);
	d->buckets = NULL;
	d->n_buckets = 0;
	d->count = o->count;
	d->total_ns = o->total_ns;
	d->min_ns = o->min_ns;
	d->max_ns = o->max_ns;
	if (o->n_buckets > 0) {
		d->buckets = xcalloc(o->n_buckets, sizeof *d->buckets);
		memcpy(d->buckets, o->buckets,
		    o->n_buckets * sizeof *d->buckets);
		d->n_buckets = o->n_buckets;
	}
	return change_bytes(tx, mix);
}

/* Buckets of o that differ from those of p. */
static size_t
buckets_changed(const pt_op_stats *o, const pt_op_stats *p)
{
	size_t i = 0, j = 0, n = 0;

	while (i < o->n_buckets || j < p->n_buckets) {
		if (j >= p->n_buckets || (i < o->n_buckets &&
		    o->buckets[i].index < p->buckets[j].index)) {
			n++;
			i++;
		} else if (i >= o->n_buckets ||
		    p->buckets[j].index < o->buckets[i].index) {
			n++;
			j++;
		} else {
			n += o->buckets[i++].count != p->buckets[j++].count;
		}
	}
	return n;
}

struct bytes_run {
	double	per_op;		/* frame bytes / changed ops */
	double	per_op_ops_only; /* without each frame's fixed part */
	double	per_op_list;	/* with the list form only */
	double	per_snapshot;	/* frame bytes */
	double	changed;	/* changed ops per snapshot */
};

/*
 * Records one interval of events (light: `light` events per op, else each
 * op's rate times the interval), takes a snapshot and encodes it; n
 * intervals after a first (full) one that is not counted.  The fixed part
 * of a frame (header, times, memory) is measured by encoding the same
 * snapshot a second time: nothing changed then.
 */
static struct bytes_run
measure_bytes(struct rng *r, pt_site *sites, int n, int light)
{
	struct pt__wire_tx tx, tx_list;
	struct pt__buf buf;
	struct bytes_run br;
	double carry[DEMO_OPS] = { 0 };
	uint64_t bytes = 0, fixed = 0, bytes_list = 0, changed = 0;
	uint64_t op_b[DEMO_OPS] = { 0 }, op_ev[DEMO_OPS] = { 0 };
	uint64_t op_n[DEMO_OPS] = { 0 }, op_bk[DEMO_OPS] = { 0 };
	pt_snapshot *s;

	pt__buf_init(&buf, PT__FRAME_MAX);
	pt__wire_tx_init(&tx);
	pt__wire_tx_init(&tx_list);
	for (int k = 0; k <= n; k++) {
		size_t len, nch;

		for (size_t i = 0; i < DEMO_OPS; i++) {
			int events;

			if (light) {
				events = BYTES_LIGHT_EVENTS;
			} else {
				carry[i] += demo_ops[i].per_s *
				    BYTES_INTERVAL_S;
				events = (int)carry[i];
				carry[i] -= events;
			}
			for (int e = 0; e < events; e++)
				check("pt_record_ns", pt_record_ns(&sites[i],
				    demo_duration(r, &demo_ops[i])));
		}
		check("pt_snapshot_take", pt_snapshot_take(&s));
		nch = changed_ops(s, tx.prev);
		for (size_t i = 0; g_verbose && k > 0 && i < DEMO_OPS; i++) {
			const pt_op_stats *o = &s->ops[i], *p = &tx.prev->ops[i];

			if (o->count == p->count && o->total_ns == p->total_ns)
				continue;
			op_n[i]++;
			op_ev[i] += o->count - p->count;
			op_bk[i] += buckets_changed(o, p);
			op_b[i] += op_bytes(&tx, s, i);
		}

		check("encode", pt__wire_encode_snapshot(&tx, s, &buf));
		len = buf.len;
		pt__buf_consume(&buf, buf.len);
		check("encode", pt__wire_encode_snapshot(&tx, s, &buf));
		if (k > 0) {
			bytes += len;
			fixed += buf.len;
			changed += nch;
		}
		pt__buf_consume(&buf, buf.len);

		pt__wire_force_list = 1;
		check("encode", pt__wire_encode_snapshot(&tx_list, s, &buf));
		pt__wire_force_list = 0;
		if (k > 0)
			bytes_list += buf.len;
		pt__buf_consume(&buf, buf.len);
		pt_snapshot_free(s);
	}
	for (size_t i = 0; g_verbose && i < DEMO_OPS; i++)
		if (op_n[i] > 0)
			comment("  %-20s changed in %3.0f %% of the snapshots; "
			    "then %7.1f events, %5.1f buckets changed, %6.1f "
			    "bytes (%.2f bits/event)", demo_ops[i].name,
			    100.0 * (double)op_n[i] / n,
			    (double)op_ev[i] / (double)op_n[i],
			    (double)op_bk[i] / (double)op_n[i],
			    (double)op_b[i] / (double)op_n[i],
			    8.0 * (double)op_b[i] / (double)op_ev[i]);
	if (changed == 0)
		changed = 1;
	br.per_op = (double)bytes / (double)changed;
	br.per_op_ops_only = (double)(bytes - fixed) / (double)changed;
	br.per_op_list = (double)bytes_list / (double)changed;
	br.per_snapshot = (double)bytes / n;
	br.changed = (double)changed / n;
	pt__wire_tx_done(&tx);
	pt__wire_tx_done(&tx_list);
	pt__buf_free(&buf);
	return br;
}

/* The figures of one bytes run, named after tag. */
static void
bytes_figures(const char *tag, const struct bytes_run *br, int changed)
{
	char name[64];

	snprintf(name, sizeof name, "bytes_per_changed_op_%s", tag);
	figure(name, "%.1f", br->per_op);
	snprintf(name, sizeof name, "bytes_per_changed_op_%s_ops_only", tag);
	figure(name, "%.1f", br->per_op_ops_only);
	snprintf(name, sizeof name, "bytes_per_changed_op_%s_list", tag);
	figure(name, "%.1f", br->per_op_list);
	snprintf(name, sizeof name, "bytes_per_snapshot_%s", tag);
	figure(name, "%.0f", br->per_snapshot);
	if (changed) {
		snprintf(name, sizeof name, "changed_ops_per_snapshot_%s", tag);
		figure(name, "%.1f", br->changed);
	}
}

/* Part 2: bytes per changed operation, demo-like and light. */
void
part_bytes(void)
{
	pt_site *sites = xcalloc(DEMO_OPS, sizeof *sites);
	struct bytes_run demo, light;
	double per_s = 0;
	struct rng r;

	for (size_t i = 0; i < DEMO_OPS; i++) {
		sites[i] = (pt_site)PT_SITE_INIT(demo_ops[i].name, PT_KIND_OP);
		check("pt_site_register", pt_site_register(&sites[i]));
		per_s += demo_ops[i].per_s;
	}
	wait_settled();
	rng_seed(&r, 42);

	comment("bytes per changed op: %zu operations, %.0f events/s in all, "
	    "%g s between snapshots, %d snapshots after the first; light: %d "
	    "new events per op per snapshot, %d snapshots", DEMO_OPS, per_s,
	    BYTES_INTERVAL_S, g_intervals, BYTES_LIGHT_EVENTS, g_intervals);
	demo = measure_bytes(&r, sites, g_intervals, 0);
	bytes_figures("demo", &demo, 1);
	light = measure_bytes(&r, sites, g_intervals, 1);
	bytes_figures("light", &light, 0);

	target_line("bytes_per_changed_op_demo", demo.per_op, BYTES_TARGET,
	    "bytes", 1);
	target_line("bytes_per_changed_op_light", light.per_op, BYTES_TARGET,
	    "bytes", 1);
}

/* ------------------------------------------------------------------------ */
/* --watch PID: the same figure from a live process's own agent              */
/* ------------------------------------------------------------------------ */

static void
send_all(int fd, struct pt__buf *b)
{
	while (b->len > 0) {
		ssize_t n = send(fd, pt__buf_head(b), b->len, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			die("send", strerror(errno));
		pt__buf_consume(b, (size_t)n);
	}
}

/* The next frame from fd into in; returns its length (0: closed). */
static size_t
read_frame(int fd, struct pt__buf *in, size_t consumed, uint16_t *type,
    const uint8_t **payload, size_t *plen)
{
	size_t flen;
	ssize_t n;
	int rc;

	pt__buf_consume(in, consumed);
	for (;;) {
		rc = pt__frame_parse(pt__buf_head(in), in->len, type, payload,
		    plen, &flen);
		if (rc == 1)
			return flen;
		if (rc < 0)
			die("watch", "malformed frame");
		check("watch", pt__buf_reserve(in, 65536));
		n = recv(fd, in->data + in->off + in->len, 65536, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			die("watch", "the agent sent nothing for 5 s");
		if (n <= 0)
			return 0;
		in->len += (size_t)n;
	}
}

#define WATCH_OPS_MAX	256	/* operations the breakdown covers */
#define INFO_ALPHA	0.5	/* the model's pseudo-count per bucket */

/*
 * The information in o's bucket changes since p, in bytes: minus log2 of
 * their multinomial probability, given their number (the count delta,
 * sent apart) and a distribution predicted from p's buckets (each bucket's
 * share, INFO_ALPHA added to every bucket from 10 below the lowest used to
 * 10 above the highest).  What an ideal arithmetic coder of that model
 * would spend on them; a floor for any coder that predicts an operation
 * from its own history alone.
 */
static double
op_info_bytes(const pt_op_stats *o, const pt_op_stats *p)
{
	static double base[PT_HIST_BUCKETS], cnt[PT_HIST_BUCKETS];
	double sum = 0, bits = 0, n = 0, k;
	int lo = PT_HIST_BUCKETS, hi = -1, j;
	size_t b;

	memset(base, 0, sizeof base);
	memset(cnt, 0, sizeof cnt);
	for (b = 0; b < p->n_buckets; b++) {
		base[p->buckets[b].index] = (double)p->buckets[b].count;
		sum += (double)p->buckets[b].count;
	}
	for (b = 0; b < o->n_buckets; b++)
		cnt[o->buckets[b].index] = (double)o->buckets[b].count -
		    base[o->buckets[b].index];
	for (j = 0; j < PT_HIST_BUCKETS; j++)
		if (base[j] > 0 || cnt[j] > 0) {
			lo = j < lo ? j : lo;
			hi = j;
		}
	if (hi < 0)
		return 0;
	lo = lo >= 10 ? lo - 10 : 0;
	hi = hi + 10 < PT_HIST_BUCKETS ? hi + 10 : PT_HIST_BUCKETS - 1;
	k = hi - lo + 1;
	for (j = lo; j <= hi; j++) {
		n += cnt[j];
		bits += lgamma(cnt[j] + 1) / M_LN2 - cnt[j] *
		    log2((base[j] + INFO_ALPHA) / (sum + INFO_ALPHA * k));
	}
	bits -= lgamma(n + 1) / M_LN2;
	return bits / 8;
}

/*
 * --verbose: encodes s again with tx (as the agent would, against the
 * previous snapshot) and, when count, adds each changed op's bytes, events
 * and information (op_info_bytes()), and the bytes of the counters, to the
 * breakdown.
 */
static void
watch_reencode(struct pt__wire_tx *tx, struct pt__buf *re, pt_snapshot *s,
    int count, uint64_t *op_b, uint64_t *op_n, uint64_t *op_ev,
    double *op_info, uint64_t *bytes, uint64_t *ctr_bytes)
{
	pt_snapshot *c;

	for (size_t i = 0; count && i < s->n_ops && i < WATCH_OPS_MAX; i++) {
		const pt_op_stats *o = &s->ops[i], *p;

		if (i >= tx->prev->n_ops)
			continue;
		p = &tx->prev->ops[i];
		if (o->count == p->count && o->total_ns == p->total_ns)
			continue;
		op_n[i]++;
		op_ev[i] += o->count - p->count;
		op_b[i] += op_bytes(tx, s, i);
		op_info[i] += op_info_bytes(o, p);
	}
	if (count) {
		/* The counters' part: s's counters with the previous ops. */
		c = prev_copy(tx);
		for (size_t i = 0; i < c->n_counters && i < s->n_counters; i++)
			c->counters[i].value = s->counters[i].value;
		*ctr_bytes += change_bytes(tx, c);
	}
	check("encode", pt__wire_encode_snapshot(tx, s, re));
	if (count)
		*bytes += re->len;
	pt__buf_consume(re, re->len);
}

/*
 * Subscribes to the agent of pid at interval_ms with a raw connection and
 * adds up the SNAPSHOT frames' bytes and the operations that changed
 * between consecutive snapshots, count snapshots after the first.
 */
int
watch_main(pid_t pid, int interval_ms, int count)
{
	struct timeval tv = { .tv_sec = 5 };
	struct sockaddr_un sa;
	struct pt__wire_rx rx;
	struct pt__wire_tx tx;	/* --verbose: the snapshots encoded again */
	struct pt__buf in, out, re;
	pt_snapshot *prev = NULL, *snap;
	uint64_t op_b[WATCH_OPS_MAX] = { 0 }, op_n[WATCH_OPS_MAX] = { 0 };
	uint64_t op_ev[WATCH_OPS_MAX] = { 0 }, re_bytes = 0, ctr_bytes = 0;
	double op_info[WATCH_OPS_MAX] = { 0 }, info = 0, sent = 0;
	char dir[sizeof sa.sun_path], err[256];
	uint64_t bytes = 0, changed = 0, ctr_changed = 0;
	const uint8_t *payload;
	size_t plen, flen = 0;
	uint16_t type;
	int fd, k = -1;

	if (pt__sockdir(dir, sizeof dir, 0, err, sizeof err) != 0)
		die("socket directory", err);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (pt__sockpath(dir, pid, sa.sun_path, sizeof sa.sun_path) != 0)
		die("socket path", "too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
		die(sa.sun_path, strerror(errno));
	pt__buf_init(&in, PT__FRAME_MAX + 65536);
	pt__buf_init(&out, 4096);
	pt__wire_rx_init(&rx);
	pt__wire_tx_init(&tx);
	pt__buf_init(&re, PT__FRAME_MAX);
	check("hello", pt__msg_hello(&out));
	send_all(fd, &out);
	if ((flen = read_frame(fd, &in, 0, &type, &payload, &plen)) == 0 ||
	    type != PT__MSG_WELCOME)
		die("watch", "no WELCOME from the agent");
	check("subscribe", pt__msg_u64(&out, PT__MSG_SUBSCRIBE,
	    (uint64_t)interval_ms));
	send_all(fd, &out);
	while (k < count) {
		if ((flen = read_frame(fd, &in, flen, &type, &payload,
		    &plen)) == 0)
			die("watch", "the agent closed the connection");
		if (type != PT__MSG_SNAPSHOT)
			continue;
		check("decode", pt__wire_decode_snapshot(&rx, payload, plen,
		    &snap));
		if (k++ >= 0) {
			bytes += flen;
			changed += changed_ops(snap, prev);
			for (size_t i = 0; i < snap->n_counters; i++)
				ctr_changed += i >= prev->n_counters ||
				    snap->counters[i].value !=
				    prev->counters[i].value;
		}
		if (g_verbose)
			watch_reencode(&tx, &re, snap, k > 0, op_b, op_n, op_ev,
			    op_info, &re_bytes, &ctr_bytes);
		pt_snapshot_free(prev);
		prev = snap;
	}
	close(fd);
	comment("live: process %d, %zu operations and %zu counters, %d "
	    "snapshots %d ms apart after the first", (int)pid, prev->n_ops,
	    prev->n_counters, count, interval_ms);
	figure("bytes_per_changed_op_live", "%.1f",
	    (double)bytes / (double)(changed ? changed : 1));
	figure("bytes_per_snapshot_live", "%.0f", (double)bytes / count);
	figure("changed_ops_per_snapshot_live", "%.1f",
	    (double)changed / count);
	figure("changed_counters_per_snapshot_live", "%.1f",
	    (double)ctr_changed / count);
	for (size_t i = 0; g_verbose && i < prev->n_ops && i < WATCH_OPS_MAX;
	    i++)
		if (op_n[i] > 0) {
			comment("  %-24s changed in %3.0f %% of the snapshots; "
			    "then %8.1f events, %6.1f bytes (%.2f bits/event), "
			    "information %6.1f", prev->ops[i].name,
			    100.0 * (double)op_n[i] / count,
			    (double)op_ev[i] / (double)op_n[i],
			    (double)op_b[i] / (double)op_n[i],
			    8.0 * (double)op_b[i] / (double)op_ev[i],
			    op_info[i] / (double)op_n[i]);
			info += op_info[i] / count;
			sent += (double)op_b[i] / count;
		}
	if (g_verbose)
		comment("  encoded again here: %.0f bytes a snapshot: %.1f for "
		    "the operations (their bucket changes' information: "
		    "%.1f), %.1f for the counters, the rest the header",
		    (double)re_bytes / count, sent, info,
		    (double)ctr_bytes / count);
	pt__wire_tx_done(&tx);
	pt__buf_free(&re);
	pt_snapshot_free(prev);
	pt__wire_rx_done(&rx);
	pt__buf_free(&in);
	pt__buf_free(&out);
	return 0;
}
