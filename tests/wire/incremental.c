/*
 * incremental.c - the agent's incremental snapshots (its cache) on the
 * wire, and the change lists the encoder takes from the cache.
 */
#include "wire-test.h"
#include "../snapcmp.h"

static pt_site inc_sites[3] = {
	PT_SITE_INIT("inc.a", PT_KIND_OP),
	PT_SITE_INIT("inc.zero", PT_KIND_OP),
	PT_SITE_INIT("inc.late", PT_KIND_OP),
};
static pt_site inc_ctr = PT_SITE_INIT("inc.ctr", PT_KIND_COUNTER);

/* Operations and counters of a and b agree (times aside). */
static int
stats_equal(const pt_snapshot *a, const pt_snapshot *b)
{
	size_t i;

	if (a->n_ops != b->n_ops || a->n_counters != b->n_counters ||
	    a->reset_epoch != b->reset_epoch)
		return 0;
	for (i = 0; i < a->n_ops; i++) {
		const pt_op_stats *x = &a->ops[i], *y = &b->ops[i];
		pt_op_stats t = *x;

		/* The cache leaves the percentiles out. */
		pt_op_stats_finish(&t, a->tick_ns);
		if (strcmp(x->name, y->name) != 0 || !snapcmp_op(x, y) ||
		    t.p99_ns != y->p99_ns)
			return 0;
	}
	for (i = 0; i < a->n_counters; i++)
		if (a->counters[i].value != b->counters[i].value)
			return 0;
	return 1;
}

static void *
inc_thread(void *arg)
{
	(void)arg;
	pt_record_ns(&inc_sites[0], 7777);
	pt_record_ns(&inc_sites[1], 0);
	return NULL;
}

/*
 * Sends the cache's snapshot to two viewers, one (tx, rx) through
 * pt__wire_encode_snapshot_ver(), the other (ltx, lrx; NULL: none) through
 * pt__wire_encode_snapshot_cache(), which uses the cache's change lists:
 * the frames must be the same bytes, and what arrives the cache's
 * snapshot.  changed: the operations the frames must carry (-1: any).
 */
static void
cache_send(const struct pt__snapcache *c, struct pt__wire_tx *tx,
    struct pt__wire_rx *rx, struct pt__wire_tx *ltx, struct pt__wire_rx *lrx,
    int changed)
{
	pt_snapshot *got = NULL;
	struct pt__buf b, lb;
	const uint8_t *p;
	struct hdr h;
	size_t n;

	pt__buf_init(&b, BUF_MAX);
	pt__buf_init(&lb, BUF_MAX);
	CU_ASSERT_FATAL(pt__wire_encode_snapshot_ver(tx, c->cur, c->ver,
	    &b) == 0);
	payload_of(pt__buf_head(&b), b.len, &p, &n);
	peek_hdr(p, n, &h);
	if (changed >= 0)
		CU_ASSERT_EQUAL(h.changed_ops, (uint64_t)changed);
	CU_ASSERT_FATAL(pt__wire_decode_snapshot(rx, p, n, &got) == 0);
	CU_ASSERT(snap_equal(c->cur, got));
	pt_snapshot_free(got);
	if (ltx != NULL) {
		CU_ASSERT_FATAL(pt__wire_encode_snapshot_cache(ltx, c,
		    &lb) == 0);
		CU_ASSERT_EQUAL_FATAL(lb.len, b.len);
		CU_ASSERT(memcmp(pt__buf_head(&lb), pt__buf_head(&b),
		    b.len) == 0);
		payload_of(pt__buf_head(&lb), lb.len, &p, &n);
		CU_ASSERT_FATAL(pt__wire_decode_snapshot(lrx, p, n, &got) == 0);
		CU_ASSERT(snap_equal(c->cur, got));
		pt_snapshot_free(got);
	}
	pt__buf_free(&b);
	pt__buf_free(&lb);
}

/*
 * One step: refresh the cache, compare it with a full snapshot, send it
 * with versions and check what arrives; changed tells how many operations
 * the frame must carry (-1: do not check); tx and rx are two viewers
 * (cache_send()).  Returns 1, or 0 when the clock's
 * calibration moved (in its first 2 s), which merges everything again and
 * makes the counts of changes meaningless.
 */
static int
inc_step(struct pt__snapcache *c, struct pt__wire_tx *tx,
    struct pt__wire_rx *rx, int changed)
{
	pt_snapshot *full = NULL;
	double tick = c->tick_ns;

	CU_ASSERT_FATAL(pt__snapshot_refresh(c) == 0);
	if (c->tick_ns != tick)
		changed = -1;
	CU_ASSERT_FATAL(pt_snapshot_take(&full) == 0);
	CU_ASSERT(stats_equal(c->cur, full));
	pt_snapshot_free(full);
	cache_send(c, &tx[0], &rx[0], &tx[1], &rx[1], changed);
	return changed >= 0;
}

/*
 * The agent's snapshot, refreshed in place, always equals a full one:
 * after events (zero-length ones too), none, a thread's exit, a new
 * operation and a reset; the encoder skips unchanged operations by their
 * version.
 */
static void
test_incremental(void)
{
	struct pt__snapcache c;
	struct pt__wire_tx tx[2];
	struct pt__wire_rx rx[2];
	pthread_t t;
	uint64_t gen;
	int i;

	memset(&c, 0, sizeof c);
	viewers_init(tx, rx, 2);
	pt_site_register(&inc_sites[0]);
	pt_site_register(&inc_sites[1]);
	for (i = 0; i < 100; i++)
		pt_record_ns(&inc_sites[0], 1000 + (uint64_t)i * 10);
	pt_counter_add(&inc_ctr, 5);
	inc_step(&c, tx, rx, -1);

	/* Nothing happened: no operation merged again, none sent. */
	gen = c.gen;
	if (inc_step(&c, tx, rx, 0))
		CU_ASSERT_EQUAL(c.gen, gen);

	/* A zero-length event changes its operation, and only it. */
	gen = c.gen;
	pt_record_ns(&inc_sites[1], 0);
	if (inc_step(&c, tx, rx, 1))
		CU_ASSERT_EQUAL(c.gen, gen + 1);

	/* A counter alone. */
	gen = c.gen;
	pt_counter_add(&inc_ctr, -2);
	if (inc_step(&c, tx, rx, 0))
		CU_ASSERT_EQUAL(c.gen, gen);

	/* A thread that records and exits (its slots retire). */
	CU_ASSERT_FATAL(pthread_create(&t, NULL, inc_thread, NULL) == 0);
	pthread_join(t, NULL);
	inc_step(&c, tx, rx, 2);
	gen = c.gen;
	if (inc_step(&c, tx, rx, 0))
		CU_ASSERT_EQUAL(c.gen, gen);

	/* A new operation. */
	pt_record_ns(&inc_sites[2], 123456);
	inc_step(&c, tx, rx, 1);

	/* A reset: everything again, from zero. */
	CU_ASSERT(pt_reset() == 0);
	pt_record_ns(&inc_sites[0], 5);
	inc_step(&c, tx, rx, -1);
	for (i = 0; i < 1000; i++)
		pt_record_ns(&inc_sites[i % 3], (uint64_t)i * 3);
	inc_step(&c, tx, rx, 3);

	pt__snapcache_free(&c);
	viewers_done(tx, rx, 2);
}

static pt_site cl_sites[3] = {
	PT_SITE_INIT("cl.a", PT_KIND_OP),
	PT_SITE_INIT("cl.b", PT_KIND_OP),
	PT_SITE_INIT("cl.c", PT_KIND_OP),
};

/* Records n events of each of the durations d[0 .. nd - 1] into site. */
static void
cl_record(pt_site *site, const uint64_t *d, size_t nd, int n)
{
	for (int k = 0; k < n; k++)
		for (size_t j = 0; j < nd; j++)
			pt_record_ns(site, d[j]);
}

static void *
cl_thread(void *arg)
{
	static const uint64_t d[] = { 1000, 50000 };

	cl_record(arg, d, 2, 3);
	return NULL;
}

/* How many operations tx shares with the cache it was last fed from. */
static size_t
n_shared(const struct pt__wire_tx *tx)
{
	size_t i, n = 0;

	for (i = 0; tx->prev != NULL && i < tx->prev->n_ops; i++)
		n += tx->shared[i];
	return n;
}

/* Sends the cache's snapshot to tx alone (through its lists), checks what
 * arrives; returns whether the frame was FULL. */
static int
full_sent(const struct pt__snapcache *c, struct pt__wire_tx *tx,
    struct pt__wire_rx *rx)
{
	pt_snapshot *got = NULL;
	struct pt__buf b;
	const uint8_t *p;
	struct hdr h;
	size_t n;

	pt__buf_init(&b, BUF_MAX);
	CU_ASSERT_FATAL(pt__wire_encode_snapshot_cache(tx, c, &b) == 0);
	payload_of(pt__buf_head(&b), b.len, &p, &n);
	peek_hdr(p, n, &h);
	CU_ASSERT_FATAL(pt__wire_decode_snapshot(rx, p, n, &got) == 0);
	CU_ASSERT(snap_equal(c->cur, got));
	pt_snapshot_free(got);
	pt__buf_free(&b);
	return (int)h.flags;	/* peek_hdr() keeps only the FULL bit */
}

/* Refreshes c, keeping tx (a viewer not sent this refresh) a delta away. */
static void
refresh_keep(struct pt__snapcache *c, struct pt__wire_tx *tx)
{
	CU_ASSERT_FATAL(pt__snapshot_refresh(c) == 0);
	CU_ASSERT(pt__wire_tx_keep(tx, c) == 0);
}

/*
 * One step of test_change_lists(): a refresh (tx[2] kept through it),
 * then the snapshot to the viewer tx[1] through the cache's lists and its
 * comparing twin tx[0] (cache_send()).  Unless a late calibration step
 * merged everything, the frame must carry n operations, of which tx[1]
 * sent list from the lists, shared of them from the cache's buckets;
 * returns whether that was checked.
 */
static int
cl_step(struct pt__snapcache *c, struct pt__wire_tx *tx,
    struct pt__wire_rx *rx, int n, size_t list, size_t shared)
{
	refresh_keep(c, &tx[2]);
	if (c->merged != 0) {
		cache_send(c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
		return 0;
	}
	cache_send(c, &tx[0], &rx[0], &tx[1], &rx[1], n);
	CU_ASSERT_EQUAL(c->replayed, (size_t)n);
	CU_ASSERT_EQUAL(tx[1].st_list, list);
	CU_ASSERT_EQUAL(tx[1].st_shared, shared);
	return 1;
}

/*
 * The encoder takes the changes of operations the cache updated from the
 * journals from its lists, for a viewer that shares the cache's buckets,
 * new buckets or not; a viewer that missed refreshes (kept through them:
 * its own copies of what changed) compares; the frames are byte for byte
 * those of the comparing encoder, and decode to the cache's snapshot.
 */
static void
test_change_lists(void)
{
	static const uint64_t d1[] = { 1000, 2000, 50000 };
	static const uint64_t d2[] = { 3000000, 1000 };
	struct pt__snapcache c;
	struct pt__wire_tx tx[4];	/* 2, 3: a viewer that lags, its twin */
	struct pt__wire_rx rx[4];
	pthread_t t;
	int i, checked = 0;

	memset(&c, 0, sizeof c);
	viewers_init(tx, rx, 4);
	for (i = 0; i < 3; i++)
		cl_record(&cl_sites[i], d1, 3, 2);
	/* Rounds until the clock's calibration holds still (2 s at most):
	 * a new tick merges everything again. */
	for (i = 0; i < 400; i++) {
		double tick = c.tick_ns;

		CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
		cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
		cache_send(&c, &tx[3], &rx[3], &tx[2], &rx[2], -1);
		if (i > 0 && c.tick_ns == tick && c.merged == 0)
			break;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	CU_ASSERT_FATAL(c.merged == 0);

	/* The same buckets again. */
	cl_record(&cl_sites[0], d1, 3, 4);
	cl_record(&cl_sites[1], d1 + 1, 1, 1);
	checked += cl_step(&c, tx, rx, 2, 2, 2);

	/* New buckets. */
	cl_record(&cl_sites[0], d2, 2, 1);
	cl_record(&cl_sites[2], d1, 1, 1);
	checked += cl_step(&c, tx, rx, 2, 2, 2);

	/* Another thread's slots; its exit merges its operations again,
	 * which lists what the merge added. */
	cl_record(&cl_sites[0], d2, 2, 2);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, cl_thread,
	    &cl_sites[1]) == 0);
	pthread_join(t, NULL);
	refresh_keep(&c, &tx[2]);
	CU_ASSERT(!tx[2].lost);
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], 2);
	CU_ASSERT_EQUAL(tx[1].st_shared, 2);
	cl_record(&cl_sites[0], d2, 2, 2);
	cl_record(&cl_sites[1], d1, 3, 1);
	checked += cl_step(&c, tx, rx, 2, 2, 2);

	/* A viewer that missed refreshes (kept through them: its copies of
	 * what changed are older than where the lists start) compares, and
	 * sends what its twin sends. */
	cl_record(&cl_sites[2], d2, 2, 3);
	refresh_keep(&c, &tx[2]);
	CU_ASSERT(!tx[2].lost);
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
	cache_send(&c, &tx[3], &rx[3], &tx[2], &rx[2], -1);
	CU_ASSERT_EQUAL(tx[2].st_shared, 0);
	CU_ASSERT_EQUAL(n_shared(&tx[2]), c.cur->n_ops);

	/* No memory for a kept viewer's copies: it is lost, and sent a
	 * FULL snapshot next, which decodes to the cache's; its twin is sent
	 * a delta, after which both are where they were. */
	cl_record(&cl_sites[2], d1, 2, 1);
	CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
	pt__wire_keep_oom = 1;
	CU_ASSERT_EQUAL(pt__wire_tx_keep(&tx[2], &c), PT_ENOMEM);
	pt__wire_keep_oom = 0;
	CU_ASSERT(tx[2].lost);
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
	CU_ASSERT(full_sent(&c, &tx[2], &rx[2]));
	CU_ASSERT(!tx[2].lost && n_shared(&tx[2]) == c.cur->n_ops);
	cache_send(&c, &tx[3], &rx[3], NULL, NULL, -1);
	cl_record(&cl_sites[2], d1, 2, 1);
	refresh_keep(&c, &tx[2]);
	CU_ASSERT(!tx[2].lost);
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
	cache_send(&c, &tx[3], &rx[3], &tx[2], &rx[2], -1);

	/* A reset: everything from zero (the buckets a viewer shared are
	 * gone: it was due a FULL snapshot anyway), then lists again. */
	CU_ASSERT(pt_reset() == 0);
	cl_record(&cl_sites[1], d1, 3, 1);
	refresh_keep(&c, &tx[2]);
	CU_ASSERT(tx[2].lost);
	cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
	cache_send(&c, &tx[3], &rx[3], &tx[2], &rx[2], -1);
	CU_ASSERT(!tx[2].lost && n_shared(&tx[2]) == c.cur->n_ops);
	cl_record(&cl_sites[1], d1, 3, 1);
	checked += cl_step(&c, tx, rx, 1, 1, 1);
	/* A merge of everything (a late calibration step) skips a check;
	 * not all of them. */
	printf("(%d of 4 steps checked) ", checked);
	CU_ASSERT(checked >= 3);

	pt__snapcache_free(&c);
	viewers_done(tx, rx, 4);
}

/*
 * The viewer tx, fed from cache c, shares the buckets of every operation
 * of c's snapshot (its copy holds none) and has their figures.
 */
static int
shares_all(const struct pt__snapcache *c, const struct pt__wire_tx *tx)
{
	const pt_snapshot *s = c->cur, *copy = tx->prev;
	size_t i;

	if (copy == NULL || s->n_ops != copy->n_ops ||
	    n_shared(tx) != s->n_ops || tx->share_id != c->id)
		return 0;
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *x = &s->ops[i], *y = &copy->ops[i];

		if (!tx->shared[i] || tx->sent_ver[i] != c->ver[i] ||
		    y->buckets != NULL || y->n_buckets != 0 ||
		    x->count != y->count || x->total_ns != y->total_ns ||
		    x->min_ns != y->min_ns || x->max_ns != y->max_ns)
			return 0;
	}
	return 1;
}

static pt_site rnd_sites[4] = {
	PT_SITE_INIT("rnd.a", PT_KIND_OP),
	PT_SITE_INIT("rnd.b", PT_KIND_OP),
	PT_SITE_INIT("rnd.c", PT_KIND_OP),
	PT_SITE_INIT("rnd.d", PT_KIND_OP),
};

/*
 * Histograms filling up, round after round (1 to 20 events an operation,
 * log-uniform from 1 ns to 1 ms: new buckets below, between and above the
 * old ones): the viewer fed from the cache's lists gets the same bytes as
 * its comparing twin, and keeps no buckets of its own: it shares every
 * operation's with the cache.  A second pair of viewers skips every third
 * round (kept through it: its own copies of what changed, compared).
 */
static void
test_insert_rounds(void)
{
	struct pt__snapcache c;
	struct pt__wire_tx tx[4];
	struct pt__wire_rx rx[4];
	uint64_t r = 7, d;
	size_t shared = 0;
	int i, k, round, n, same = 1;

	memset(&c, 0, sizeof c);
	viewers_init(tx, rx, 4);
	for (round = 0; round < 120; round++) {
		for (i = 0; i < 4; i++) {
			(void)lcg(&r);
			n = 1 + (int)((r >> 33) % 20);
			for (k = 0; k < n; k++) {
				(void)lcg(&r);
				d = (uint64_t)1 << ((r >> 40) % 20);
				pt_record_ns(&rnd_sites[i], d + (r >> 8) % d);
			}
		}
		CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
		cache_send(&c, &tx[0], &rx[0], &tx[1], &rx[1], -1);
		if (round % 3 != 2)
			cache_send(&c, &tx[3], &rx[3], &tx[2], &rx[2], -1);
		else
			CU_ASSERT(pt__wire_tx_keep(&tx[2], &c) == 0);
		shared += tx[1].st_shared;
		same &= shares_all(&c, &tx[1]);
		if (round % 3 != 2)
			same &= shares_all(&c, &tx[2]);
	}
	CU_ASSERT(same);
	CU_ASSERT(shared > 0);
	printf("(%zu sent from shared buckets) ", shared);
	pt__snapcache_free(&c);
	viewers_done(tx, rx, 4);
}

/* Records one event into each of the sites of arg and exits (its slots
 * retire: their ops are merged again, with lists). */
static void *
rv_thread(void *arg)
{
	pt_site *sites = arg;

	for (int i = 0; i < 4; i++)
		pt_record_ns(&sites[i], 1000u << i);
	return NULL;
}

/*
 * Three viewers fed from the cache, each beside a comparing twin, sent a
 * refresh with chances 1, 1/2 and 1/3 (kept through the others), while
 * operations get from none to a hundred events a round (from the journals,
 * or merged again) and threads record and exit: every frame is the twin's,
 * byte for byte, and decodes to the cache's snapshot, and no viewer gets a
 * second FULL snapshot.
 */
static void
test_random_viewers(void)
{
	struct pt__snapcache c;
	struct pt__wire_tx tx[6];	/* 2k: the twin of 2k + 1 */
	struct pt__wire_rx rx[6];
	pthread_t t;
	uint64_t r = 99, d;
	int i, k, round, n;

	memset(&c, 0, sizeof c);
	viewers_init(tx, rx, 6);
	for (round = 0; round < 150; round++) {
		for (i = 0; i < 4; i++) {
			(void)lcg(&r);
			n = (int)((r >> 33) % 4 == 0 ? 40 + (r >> 40) % 60 :
			    (r >> 40) % 6);
			for (k = 0; k < n; k++) {
				(void)lcg(&r);
				d = (uint64_t)1 << ((r >> 40) % 24);
				pt_record_ns(&rnd_sites[i], d + (r >> 8) % d);
			}
		}
		if (round % 17 == 5) {
			CU_ASSERT_FATAL(pthread_create(&t, NULL, rv_thread,
			    rnd_sites) == 0);
			pthread_join(t, NULL);
		}
		CU_ASSERT_FATAL(pt__snapshot_refresh(&c) == 0);
		for (k = 0; k < 3; k++) {
			(void)lcg(&r);
			if ((r >> 33) % (uint64_t)(k + 1) == 0)
				cache_send(&c, &tx[2 * k], &rx[2 * k],
				    &tx[2 * k + 1], &rx[2 * k + 1], -1);
			else
				CU_ASSERT(pt__wire_tx_keep(&tx[2 * k + 1],
				    &c) == 0);
		}
	}
	for (k = 0; k < 3; k++) {
		CU_ASSERT_EQUAL(rx[2 * k + 1].n_full, 1);
		CU_ASSERT(!tx[2 * k + 1].lost);
	}
	pt__snapcache_free(&c);
	viewers_done(tx, rx, 6);
}

const struct cunit_test incremental_tests[] = {
	{ "incremental snapshots", test_incremental },
	{ "change lists of the agent's cache", test_change_lists },
	{ "histograms filling: viewers share the cache's buckets", test_insert_rounds },
	{ "viewers sent a refresh at random: their twins' bytes",
	    test_random_viewers },
	{ NULL, NULL }
};
