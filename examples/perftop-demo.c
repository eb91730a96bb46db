/*
 * perftop-demo - a multi-threaded workload instrumented with libperftop.
 *
 * It models the programs that used the old profiling helper: a training
 * loop (data loading, forward, backward, optimizer, checkpoints, a replay
 * buffer whose memory grows for about 20 s and is then cleared) and game
 * worker threads (play, move, search, evaluate) with cache counters.  The
 * work is real CPU work (matrix multiplies, array loops, hashing) from about
 * 1 us to 20 ms per operation; every thread sleeps between its steps so that
 * the whole program uses about one CPU core.
 *
 * Run it, then watch it with `perftop`.  It prints nothing unless --summary
 * is given, a test option asks for figures, or something goes wrong.
 *
 * The options for the tests (--fork-count, --exec-child, --alarm-storm,
 * --count-sigpipe, --signal-report, --daemonize, --no-replay,
 * --heap-on-usr1) make it a host that forks, execs, daemonises and takes
 * signals while perftop watches (demo-host.c); tests/harden-*.sh and
 * scripts/soak use them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "perftop.h"
#include "demo.h"

/* ------------------------------------------------------------------------ */
/* Options and shared state                                                  */
/* ------------------------------------------------------------------------ */

struct options {
	int		threads;	/* game worker threads */
	int		cpu_percent;	/* of one core, for the whole demo */
	long long	duration_s;	/* 0: until a signal */
	bool		summary;
	int		sites;		/* extra synthetic operations */
	long long	fork_every_ms;	/* 0: never fork */
	/* Test-oriented options (see usage()). */
	long long	fork_count;	/* 0: no limit */
	const char	*exec_child;	/* command of every 10th child */
	int		alarm_hz;	/* 0: no SIGALRM storm */
	bool		count_sigpipe;
	bool		signal_report;
	int		daemonize;	/* enum daemon_mode */
	bool		no_replay;
	bool		heap_on_usr1;
};

static atomic_int g_stop;

/* Fraction of one CPU each worker thread may use. */
static double g_cpu_share = 0.25;

/* Nanoseconds one burn() unit takes on this machine (calibrated). */
static double g_unit_ns = 1.0;

/* Synthetic sites: never freed, the library keeps pointers to the names. */
static pt_site	*g_syn_sites;
static char	*g_syn_names;

/* Keeps results alive so that the compiler cannot drop the work. */
volatile uint64_t g_sink;

/* --no-replay: the replay buffer stays empty (a flat memory profile). */
static bool g_no_replay;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, 1);
}

bool
stopping(void)
{
	return atomic_load_explicit(&g_stop, memory_order_relaxed) != 0;
}

uint64_t
clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t
mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NS_PER_S),
		.tv_nsec = (long)(ns % NS_PER_S),
	};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stopping())
		;
}

/* ------------------------------------------------------------------------ */
/* Random numbers and hashing                                                */
/* ------------------------------------------------------------------------ */

struct rng {
	uint64_t	s;
};

static uint64_t
rng_next(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)((rng_next(r) >> 32) % n);
}

/* Uniform in [0, 1). */
static double
rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
	if (r->s == 0)
		r->s = 1;
	for (int i = 0; i < 4; i++)
		(void)rng_next(r);
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xFF51AFD7ED558CCDULL;
	x ^= x >> 33;
	x *= 0xC4CEB9FE1A85EC53ULL;
	x ^= x >> 33;
	return x;
}

/* FNV-1a over a byte buffer. */
static uint64_t
hash_bytes(const void *buf, size_t len, uint64_t h)
{
	const unsigned char *p = buf;

	if (h == 0)
		h = 0xCBF29CE484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001B3ULL;
	}
	return h;
}

/*
 * Burns units of CPU work: rounds of a hash over a small array that the
 * rounds also update.  One unit is calibrated to g_unit_ns at start (not
 * inlined, so that every caller runs the calibrated code).
 */
__attribute__((noinline)) static uint64_t
burn_units(uint64_t units, uint64_t seed)
{
	uint64_t a[16];

	for (int i = 0; i < 16; i++)
		a[i] = seed + (uint64_t)i * 0x9E3779B97F4A7C15ULL;
	for (uint64_t u = 0; u < units; u++) {
		uint64_t h = a[u & 15];

		for (int i = 0; i < 16; i++)
			h = (h ^ a[i]) * 0x100000001B3ULL;
		a[(u + 7) & 15] ^= h >> 7;
	}
	return a[0] ^ a[9];
}

/* Burns about ns nanoseconds of CPU. */
uint64_t
burn_ns(uint64_t ns, uint64_t seed)
{
	uint64_t units = (uint64_t)((double)ns / g_unit_ns);

	return burn_units(units ? units : 1, seed);
}

static void
calibrate_burn(void)
{
	uint64_t units = 1000, t0, t;

	for (;;) {
		t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		g_sink += burn_units(units, units);
		t = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		if (t >= 5 * NS_PER_MS || units >= (1ULL << 30))
			break;
		units *= 4;
	}
	g_unit_ns = (double)t / (double)units;
	if (g_unit_ns < 0.1)
		g_unit_ns = 0.1;
}

/* ------------------------------------------------------------------------ */
/* Pacing: each thread sleeps so it uses about g_cpu_share of a core          */
/* ------------------------------------------------------------------------ */

struct pacer {
	double		ratio;		/* sleep per CPU nanosecond used */
	uint64_t	cpu_mark;
	int64_t		debt_ns;	/* sleep owed; may go a bit negative */
};

static void
pacer_init(struct pacer *p)
{
	double share = g_cpu_share;

	if (share > 1.0)
		share = 1.0;
	p->ratio = (1.0 - share) / share;
	p->cpu_mark = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	p->debt_ns = 0;
}

/* Called between steps: sleeps off the debt once it is worth a nanosleep. */
static void
pacer_pace(struct pacer *p)
{
	uint64_t now = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t used = now - p->cpu_mark;
	uint64_t t0, slept, chunk;

	p->cpu_mark = now;
	p->debt_ns += (int64_t)((double)used * p->ratio);
	if (p->debt_ns > (int64_t)NS_PER_S)
		p->debt_ns = (int64_t)NS_PER_S;
	if (p->debt_ns < 2 * (int64_t)NS_PER_MS)
		return;
	chunk = (uint64_t)p->debt_ns;
	if (chunk > 50 * NS_PER_MS)
		chunk = 50 * NS_PER_MS;
	t0 = mono_ns();
	sleep_ns(chunk);
	slept = mono_ns() - t0;
	p->debt_ns -= (int64_t)slept;
	if (p->debt_ns < -10 * (int64_t)NS_PER_MS)
		p->debt_ns = -10 * (int64_t)NS_PER_MS;
	p->cpu_mark = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* ------------------------------------------------------------------------ */
/* The training loop                                                         */
/* ------------------------------------------------------------------------ */

#define BATCH		32
#define DIM		96
#define DATASET_ROWS	8192
#define REPLAY_CHUNKS	20

struct replay {
	unsigned char	*chunk[REPLAY_CHUNKS];
	size_t		 size[REPLAY_CHUNKS];
	int		 n;
	size_t		 bytes;
	uint64_t	 last_append_ns;
};

struct trainer {
	struct rng	 rng;
	struct pacer	 pacer;
	float		*dataset;		/* DATASET_ROWS x DIM */
	float		 x[BATCH * DIM];	/* input batch */
	float		 target[BATCH * DIM];
	float		 h[BATCH * DIM];	/* hidden activations */
	float		 y[BATCH * DIM];	/* output */
	float		 dy[BATCH * DIM];
	float		 dh[BATCH * DIM];
	float		 w1[DIM * DIM], w2[DIM * DIM];
	float		 g1[DIM * DIM], g2[DIM * DIM];
	float		 m1[DIM * DIM], m2[DIM * DIM];	/* momentum */
	struct replay	 replay;
	uint64_t	 steps;
};

/* c[n x m] = a[n x k] * b[k x m] */
static void
matmul(float *restrict c, const float *restrict a, const float *restrict b,
    int n, int k, int m)
{
	for (int i = 0; i < n; i++) {
		float *ci = c + (size_t)i * m;

		for (int j = 0; j < m; j++)
			ci[j] = 0.0f;
		for (int p = 0; p < k; p++) {
			float aip = a[(size_t)i * k + p];
			const float *bp = b + (size_t)p * m;

			for (int j = 0; j < m; j++)
				ci[j] += aip * bp[j];
		}
	}
}

/* c[k x m] = a[n x k]^T * b[n x m] */
static void
matmul_at(float *restrict c, const float *restrict a, const float *restrict b,
    int n, int k, int m)
{
	memset(c, 0, sizeof(float) * (size_t)k * (size_t)m);
	for (int i = 0; i < n; i++) {
		const float *bi = b + (size_t)i * m;

		for (int p = 0; p < k; p++) {
			float aip = a[(size_t)i * k + p];
			float *cp = c + (size_t)p * m;

			for (int j = 0; j < m; j++)
				cp[j] += aip * bi[j];
		}
	}
}

/* c[n x k] = a[n x m] * b[k x m]^T */
static void
matmul_bt(float *restrict c, const float *restrict a, const float *restrict b,
    int n, int k, int m)
{
	for (int i = 0; i < n; i++) {
		const float *ai = a + (size_t)i * m;

		for (int p = 0; p < k; p++) {
			const float *bp = b + (size_t)p * m;
			float s = 0.0f;

			for (int j = 0; j < m; j++)
				s += ai[j] * bp[j];
			c[(size_t)i * k + p] = s;
		}
	}
}

static float
small_weight(struct rng *r)
{
	return (float)(rng_unit(r) - 0.5) * 0.1f;
}

static int
trainer_init(struct trainer *t)
{
	memset(t, 0, sizeof(*t));
	rng_seed(&t->rng, 12345);
	t->dataset = malloc(sizeof(float) * DATASET_ROWS * DIM);
	if (t->dataset == NULL)
		return -1;
	for (size_t i = 0; i < (size_t)DATASET_ROWS * DIM; i++)
		t->dataset[i] = (float)(rng_unit(&t->rng) * 2.0 - 1.0);
	for (int i = 0; i < DIM * DIM; i++) {
		t->w1[i] = small_weight(&t->rng);
		t->w2[i] = small_weight(&t->rng);
	}
	t->replay.last_append_ns = mono_ns();
	return 0;
}

static void
replay_clear(struct replay *rb)
{
	PT_SCOPE("replay.clear");

	for (int i = 0; i < rb->n; i++) {
		free(rb->chunk[i]);
		rb->chunk[i] = NULL;
	}
	PT_COUNT("replay_buffer_bytes", -(int64_t)rb->bytes);
	rb->n = 0;
	rb->bytes = 0;
}

/*
 * Once a second, adds a chunk of 1-4 MiB of "experience" to the replay
 * buffer; when it holds REPLAY_CHUNKS chunks (after about 20 s), clears it.
 */
static void
replay_maintain(struct trainer *t)
{
	struct replay *rb = &t->replay;
	uint64_t now = mono_ns();

	if (g_no_replay)
		return;
	if (now - rb->last_append_ns < NS_PER_S)
		return;
	rb->last_append_ns = now;
	if (rb->n == REPLAY_CHUNKS) {
		replay_clear(rb);
		return;
	}

	PT_SCOPE("replay.append");
	size_t size = MIB + (size_t)rng_below(&t->rng, 3 * MIB + 1);
	unsigned char *p = malloc(size);

	if (p == NULL)
		return;
	/* Touch every page: the memory really becomes resident. */
	for (size_t off = 0; off < size; off += 64)
		p[off] = (unsigned char)(mix64(off + now) >> 56);
	memset(p, (int)(now & 0xff), size / 2);
	rb->chunk[rb->n] = p;
	rb->size[rb->n] = size;
	rb->n++;
	rb->bytes += size;
	PT_COUNT("replay_buffer_bytes", (int64_t)size);
	PT_INC("replay_appends");
}

static void
load_batch(struct trainer *t)
{
	PT_SCOPE("data.load_batch");
	uint64_t h = 0;

	for (int b = 0; b < BATCH; b++) {
		const float *row = t->dataset +
		    (size_t)rng_below(&t->rng, DATASET_ROWS) * DIM;

		for (int j = 0; j < DIM; j++) {
			t->x[b * DIM + j] = row[j];
			t->target[b * DIM + j] = row[(j + 1) % DIM] * 0.5f;
		}
		h = hash_bytes(row, sizeof(float) * DIM, h);
	}
	/* Mix in a sample of the replay buffer, when it holds something. */
	if (t->replay.n > 0) {
		int c = (int)rng_below(&t->rng, (uint32_t)t->replay.n);
		size_t off = rng_below(&t->rng,
		    (uint32_t)(t->replay.size[c] - 4096));

		h = hash_bytes(t->replay.chunk[c] + off, 4096, h);
	}
	/* Sometimes a new shard must be decoded: a long load. */
	if (rng_below(&t->rng, 64) == 0)
		h ^= burn_ns(500 * NS_PER_US + rng_below(&t->rng, 1500) *
		    NS_PER_US, h);
	g_sink += h;
	PT_INC("batches_loaded");
}

static void
forward(struct trainer *t)
{
	PT_SCOPE("training.forward");

	matmul(t->h, t->x, t->w1, BATCH, DIM, DIM);
	for (int i = 0; i < BATCH * DIM; i++)
		if (t->h[i] < 0.0f)
			t->h[i] = 0.0f;
	matmul(t->y, t->h, t->w2, BATCH, DIM, DIM);
}

static void
backward(struct trainer *t)
{
	PT_SCOPE("training.backward");

	for (int i = 0; i < BATCH * DIM; i++)
		t->dy[i] = (t->y[i] - t->target[i]) * (1.0f / BATCH);
	matmul_at(t->g2, t->h, t->dy, BATCH, DIM, DIM);
	matmul_bt(t->dh, t->dy, t->w2, BATCH, DIM, DIM);
	for (int i = 0; i < BATCH * DIM; i++)
		if (t->h[i] <= 0.0f)
			t->dh[i] = 0.0f;
	matmul_at(t->g1, t->x, t->dh, BATCH, DIM, DIM);
}

static void
sgd(float *w, float *m, const float *g, int n)
{
	for (int i = 0; i < n; i++) {
		m[i] = 0.9f * m[i] + g[i];
		w[i] -= 0.01f * m[i];
		/* Keep the weights bounded (and far from denormals). */
		if (w[i] > 0.1f)
			w[i] = 0.1f;
		else if (w[i] < -0.1f)
			w[i] = -0.1f;
	}
}

static void
optimizer(struct trainer *t)
{
	PT_SCOPE("training.optimizer");

	sgd(t->w1, t->m1, t->g1, DIM * DIM);
	sgd(t->w2, t->m2, t->g2, DIM * DIM);
}

static void
checkpoint(struct trainer *t)
{
	PT_SCOPE("training.checkpoint");
	uint64_t h;

	h = hash_bytes(t->w1, sizeof(t->w1), 0);
	h = hash_bytes(t->w2, sizeof(t->w2), h);
	/* Compressing and writing it out. */
	h ^= burn_ns(5 * NS_PER_MS + rng_below(&t->rng, 15) * NS_PER_MS, h);
	g_sink += h;
	PT_INC("checkpoints_saved");
}

static void
training_step(struct trainer *t)
{
	PT_SCOPE_COUNT("training_step", "training_steps_completed");

	load_batch(t);
	forward(t);
	backward(t);
	optimizer(t);
	t->steps++;
	if (t->steps % 200 == 0)
		checkpoint(t);
}

/*
 * An operation and a counter whose names collided in the old helper (it
 * stored the count of operation "x" under "x_count").
 */
static void
op_x(struct trainer *t)
{
	{
		PT_SCOPE("x");
		g_sink += burn_ns(1 * NS_PER_US, t->steps);
	}
	PT_INC("x_count");
}

static void *
trainer_main(void *arg)
{
	struct trainer *t = arg;

	pacer_init(&t->pacer);
	while (!stopping()) {
		training_step(t);
		op_x(t);
		replay_maintain(t);
		pacer_pace(&t->pacer);
	}
	return NULL;
}

static void
trainer_fini(struct trainer *t)
{
	for (int i = 0; i < t->replay.n; i++)
		free(t->replay.chunk[i]);
	free(t->dataset);
}

/* ------------------------------------------------------------------------ */
/* Game workers                                                              */
/* ------------------------------------------------------------------------ */

#define CACHE_SLOTS	16384
#define OPENINGS	32

struct cache_entry {
	uint64_t	key;
	int32_t		score;
};

struct game_worker {
	pthread_t		 thread;
	int			 index;
	struct rng		 rng;
	struct pacer		 pacer;
	struct cache_entry	*cache;		/* CACHE_SLOTS entries */
	int8_t			 board[64];
	int16_t			 weights[16][64];
};

/*
 * Scores one position.  Mostly a short feature loop (a few microseconds);
 * about 4 % of the positions need a deep evaluation whose cost has a heavy
 * (Pareto) tail from 100 us up to 20 ms.
 */
static int32_t
evaluate(struct game_worker *w, uint64_t key)
{
	PT_SCOPE("game.evaluate");
	int64_t score = 0;
	int rounds = 16 + (int)(key & 31);

	for (int r = 0; r < rounds; r++)
		for (int sq = 0; sq < 64; sq++) {
			int piece = (w->board[sq] + r) & 15;

			score += w->weights[piece][sq] *
			    (int64_t)((key >> (sq & 31)) & 3);
		}
	if (rng_below(&w->rng, 100) < 4) {
		/* Pareto, alpha 1.3: 100 us minimum, rare long ones. */
		double u = 1.0 - rng_unit(&w->rng);	/* (0, 1] */
		double ns = 100e3 / pow(u, 1.0 / 1.3);

		if (ns > 20e6)
			ns = 20e6;
		score += (int64_t)(burn_ns((uint64_t)ns, key) & 0xff);
		PT_INC("deep_evaluations");
	}
	return (int32_t)(score & 0x7fffffff);
}

/* Tries the candidate moves of the current position; returns the best. */
static int
search(struct game_worker *w, uint32_t opening, int move)
{
	PT_SCOPE("game.search");
	int ncand = 8 + (int)rng_below(&w->rng, 17);
	int best = 0;
	int64_t best_score = -1;	/* scores reach INT32_MAX + mobility */
	int64_t hits = 0, misses = 0;

	/* Move generation: a scan of the board. */
	int mobility = 0;
	for (int sq = 0; sq < 64; sq++)
		mobility += (w->board[sq] & 1) + (w->board[(sq + 9) & 63] >> 2);

	for (int c = 0; c < ncand; c++) {
		uint64_t key = mix64(((uint64_t)opening << 40) |
		    ((uint64_t)move << 20) | (uint64_t)c);
		struct cache_entry *e = &w->cache[key & (CACHE_SLOTS - 1)];
		int64_t score;

		if (e->key == key) {
			score = e->score;
			hits++;
		} else {
			score = evaluate(w, key);
			e->key = key;
			e->score = (int32_t)score;
			misses++;
		}
		score += mobility;
		if (score > best_score) {
			best_score = score;
			best = c;
		}
	}
	PT_COUNT("cache_hits", hits);
	PT_COUNT("cache_misses", misses);
	PT_COUNT("positions_evaluated", misses);
	return best;
}

static void
play_game(struct game_worker *w)
{
	PT_SCOPE_COUNT("game.play", "games_played");
	/* Games from the same opening revisit positions: cache hits. */
	uint32_t opening = rng_below(&w->rng, OPENINGS);
	int nmoves = 30 + (int)rng_below(&w->rng, 50);
	struct rng board_rng;

	rng_seed(&board_rng, opening);
	for (int sq = 0; sq < 64; sq++)
		w->board[sq] = (int8_t)rng_below(&board_rng, 13);

	for (int m = 0; m < nmoves && !stopping(); m++) {
		{
			PT_SCOPE("game.move");
			int best = search(w, opening, m);
			int from = (m * 7 + best) & 63;
			int to = (from + best + 1) & 63;

			w->board[to] = w->board[from];
			w->board[from] = 0;
			PT_INC("moves_made");
		}
		/* Outside game.move: a move is timed without the pause. */
		pacer_pace(&w->pacer);
	}
}

static void *
game_main(void *arg)
{
	struct game_worker *w = arg;

	pacer_init(&w->pacer);
	while (!stopping())
		play_game(w);
	return NULL;
}

static int
game_worker_init(struct game_worker *w, int index)
{
	memset(w, 0, sizeof(*w));
	w->index = index;
	rng_seed(&w->rng, 1000 + (uint64_t)index);
	w->cache = calloc(CACHE_SLOTS, sizeof(*w->cache));
	if (w->cache == NULL)
		return -1;
	for (int p = 0; p < 16; p++)
		for (int sq = 0; sq < 64; sq++)
			w->weights[p][sq] = (int16_t)(rng_below(&w->rng, 200) -
			    100);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Synthetic operations (--sites N)                                          */
/* ------------------------------------------------------------------------ */

static int
synthetic_setup(int n)
{
	const size_t stride = 32;	/* "synthetic.op.NNNNN" and a NUL */

	g_syn_sites = calloc((size_t)n, sizeof(*g_syn_sites));
	g_syn_names = calloc((size_t)n, stride);
	if (g_syn_sites == NULL || g_syn_names == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *name = g_syn_names + (size_t)i * stride;

		snprintf(name, stride, "synthetic.op.%04d", i);
		g_syn_sites[i] = (pt_site)PT_SITE_INIT(name, PT_KIND_OP);
		int rc = pt_site_register(&g_syn_sites[i]);
		if (rc < 0) {
			fprintf(stderr, PROG ": cannot register %s: %s\n",
			    name, pt_strerror(rc));
			return -1;
		}
	}
	return 0;
}

struct synthetic_arg {
	int	n;
};

static void *
synthetic_main(void *arg)
{
	const struct synthetic_arg *sa = arg;
	struct pacer pacer;
	uint64_t h = 1;

	pacer_init(&pacer);
	for (int i = 0; !stopping(); i = (i + 1) % sa->n) {
		pt_scope s = pt_scope_begin(&g_syn_sites[i]);

		h = burn_ns(500 + (h & 1023), h);
		pt_scope_end(&s);
		if ((i & 63) == 63)
			pacer_pace(&pacer);
	}
	g_sink += h;
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [options]\n"
	    "\n"
	    "A multi-threaded workload instrumented with libperftop: a training\n"
	    "loop and game worker threads using about one CPU core.  Watch it\n"
	    "with perftop.\n"
	    "\n"
	    "  --threads N         game worker threads (1..64, default 3)\n"
	    "  --cpu PERCENT       the share of one core the whole demo uses\n"
	    "                      (1..100, default 100, or PERFTOP_DEMO_CPU)\n"
	    "  --duration SECONDS  stop after SECONDS (default: run until\n"
	    "                      SIGINT or SIGTERM)\n"
	    "  --summary           print the statistics summary at exit\n"
	    "  --sites N           add N synthetic operations synthetic.op.NNNN\n"
	    "                      hit round-robin by one more thread\n"
	    "                      (0..60000, default 0)\n"
	    "  --fork-every MS     fork a child that records a few scopes every\n"
	    "                      MS milliseconds (default: never)\n"
	    "  --version           print the library version\n"
	    "  --help              print this help\n"
	    "\n"
	    "Options for the tests:\n"
	    "  --fork-count N      fork N children in all, then print the fork\n"
	    "                      figures (forks=, max_fork_ms=, ...) on stderr\n"
	    "  --exec-child CMD    every 10th forked child runs /bin/sh -c CMD\n"
	    "  --alarm-storm HZ    SIGALRM HZ times a second (setitimer, 1..100000)\n"
	    "                      to a handler that counts them per thread\n"
	    "  --count-sigpipe     count SIGPIPE in a handler (default: the\n"
	    "                      default disposition, which kills)\n"
	    "  --signal-report     at exit, print the signal figures on stderr;\n"
	    "                      exit 1 when a signal reached the agent thread,\n"
	    "                      is pending on it, or SIGPIPE was raised\n"
	    "  --daemonize MODE    after the agent started, fork: the parent\n"
	    "                      prints the child's PID and _exit()s, the child\n"
	    "                      runs the workload; MODE serve: the child calls\n"
	    "                      pt_agent_start(), silent: it does not\n"
	    "  --no-replay         no replay buffer (flat memory use)\n"
	    "  --heap-on-usr1      on SIGUSR1, print the heap in use on stderr\n"
	    "                      (heap: in_use=BYTES rss=BYTES)\n"
	    );
}

static void
bad_usage(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, " (try --help)\n");
	exit(2);
}

/*
 * Matches option name in argv[*i], as "--name VALUE" or "--name=VALUE";
 * returns the value or NULL when argv[*i] is another option.
 */
static const char *
option_value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, len) != 0)
		return NULL;
	if (arg[len] == '=')
		return arg + len + 1;
	if (arg[len] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		bad_usage("option '%s' needs a value%s", name, "");
	return argv[++*i];
}

static long long
number(const char *name, const char *value, long long min, long long max)
{
	const char *errstr = NULL;
	long long n = strtonum(value, min, max, &errstr);

	if (errstr != NULL)
		bad_usage("%s: value is %s", name, errstr);
	return n;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	const char *v;

	o->threads = 3;
	o->cpu_percent = 100;
	if ((v = getenv("PERFTOP_DEMO_CPU")) != NULL && *v != '\0')
		o->cpu_percent = (int)number("PERFTOP_DEMO_CPU", v, 1, 100);
	o->duration_s = 0;
	o->summary = false;
	o->sites = 0;
	o->fork_every_ms = 0;
	o->fork_count = 0;
	o->exec_child = NULL;
	o->alarm_hz = 0;
	o->count_sigpipe = false;
	o->signal_report = false;
	o->daemonize = DAEMON_NO;
	o->no_replay = false;
	o->heap_on_usr1 = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(arg, "--version") == 0) {
			printf(PROG " (libperftop %s)\n", pt_version());
			exit(0);
		} else if (strcmp(arg, "--summary") == 0) {
			o->summary = true;
		} else if ((v = option_value(argc, argv, &i, "--threads"))) {
			o->threads = (int)number("--threads", v, 1, 64);
		} else if ((v = option_value(argc, argv, &i, "--cpu"))) {
			o->cpu_percent = (int)number("--cpu", v, 1, 100);
		} else if ((v = option_value(argc, argv, &i, "--duration"))) {
			o->duration_s = number("--duration", v, 1,
			    10LL * 365 * 24 * 3600);
		} else if ((v = option_value(argc, argv, &i, "--sites"))) {
			o->sites = (int)number("--sites", v, 0, 60000);
		} else if ((v = option_value(argc, argv, &i,
		    "--fork-every"))) {
			o->fork_every_ms = number("--fork-every", v, 1,
			    24LL * 3600 * 1000);
		} else if ((v = option_value(argc, argv, &i,
		    "--fork-count"))) {
			o->fork_count = number("--fork-count", v, 1,
			    1000000000LL);
		} else if ((v = option_value(argc, argv, &i,
		    "--exec-child"))) {
			o->exec_child = v;
		} else if ((v = option_value(argc, argv, &i,
		    "--alarm-storm"))) {
			o->alarm_hz = (int)number("--alarm-storm", v, 1, 100000);
		} else if (strcmp(arg, "--count-sigpipe") == 0) {
			o->count_sigpipe = true;
		} else if (strcmp(arg, "--signal-report") == 0) {
			o->signal_report = true;
		} else if ((v = option_value(argc, argv, &i,
		    "--daemonize"))) {
			if (strcmp(v, "serve") == 0)
				o->daemonize = DAEMON_SERVE;
			else if (strcmp(v, "silent") == 0)
				o->daemonize = DAEMON_SILENT;
			else
				bad_usage("--daemonize: '%s' is neither serve "
				    "nor silent%s", v, "");
		} else if (strcmp(arg, "--no-replay") == 0) {
			o->no_replay = true;
		} else if (strcmp(arg, "--heap-on-usr1") == 0) {
			o->heap_on_usr1 = true;
		} else {
			bad_usage("unknown argument '%s'%s", arg, "");
		}
	}
	if ((o->fork_count > 0 || o->exec_child != NULL) &&
	    o->fork_every_ms == 0)
		bad_usage("%s needs --fork-every%s", o->fork_count > 0 ?
		    "--fork-count" : "--exec-child", "");
}

static void
install_signals(void)
{
	catch_signal(SIGINT, on_signal, 0);
	catch_signal(SIGTERM, on_signal, 0);
}

int
main(int argc, char **argv)
{
	struct options opt;
	struct trainer *trainer;
	struct game_worker *workers;
	struct synthetic_arg syn = { 0 };
	pthread_t trainer_thread, syn_thread;
	sigset_t block, old;
	int nthreads, rc, status = 0;
	uint64_t start, deadline = 0, next_fork = 0;

	parse_options(argc, argv, &opt);

#ifdef M_MMAP_THRESHOLD
	/*
	 * Serve the replay buffer's chunks with mmap so that freeing them
	 * gives the memory back: resident memory visibly shrinks.
	 */
	mallopt(M_MMAP_THRESHOLD, 512 * 1024);
#endif
	calibrate_burn();

	nthreads = 1 + opt.threads + (opt.sites > 0);
	g_cpu_share = opt.cpu_percent / 100.0 / nthreads;

	rc = pt_agent_start();
	if (rc < 0 && rc != PT_EDISABLED)
		fprintf(stderr, PROG ": cannot serve statistics to perftop: "
		    "%s\n", pt_strerror(rc));

	if (opt.sites > 0 && synthetic_setup(opt.sites) < 0)
		return 1;
	if (opt.daemonize != DAEMON_NO)
		daemonize(opt.daemonize);	/* only the child returns */
	g_no_replay = opt.no_replay;
	if (opt.fork_every_ms > 0 &&
	    fork_stats_init(opt.fork_count, opt.exec_child) < 0)
		return 1;
	if (opt.count_sigpipe)
		install_sigpipe_counter();
	if (opt.heap_on_usr1)
		install_usr1();

	trainer = malloc(sizeof(*trainer));
	workers = calloc((size_t)opt.threads, sizeof(*workers));
	if (trainer == NULL || workers == NULL || trainer_init(trainer) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	for (int i = 0; i < opt.threads; i++)
		if (game_worker_init(&workers[i], i) < 0) {
			fprintf(stderr, PROG ": out of memory\n");
			return 1;
		}

	/* The workers block the signals: the main thread takes them. */
	install_signals();
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	rc = pthread_create(&trainer_thread, NULL, trainer_main, trainer);
	if (rc != 0) {
		fprintf(stderr, PROG ": pthread_create: %s\n", strerror(rc));
		return 1;
	}
	for (int i = 0; i < opt.threads; i++) {
		rc = pthread_create(&workers[i].thread, NULL, game_main,
		    &workers[i]);
		if (rc != 0) {
			fprintf(stderr, PROG ": pthread_create: %s\n",
			    strerror(rc));
			return 1;
		}
	}
	if (opt.sites > 0) {
		syn.n = opt.sites;
		rc = pthread_create(&syn_thread, NULL, synthetic_main, &syn);
		if (rc != 0) {
			fprintf(stderr, PROG ": pthread_create: %s\n",
			    strerror(rc));
			return 1;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (opt.alarm_hz > 0 && start_alarm_storm(opt.alarm_hz) == -1) {
		fprintf(stderr, PROG ": setitimer: %s\n", strerror(errno));
		return 1;
	}

	start = mono_ns();
	if (opt.duration_s > 0)
		deadline = start + (uint64_t)opt.duration_s * NS_PER_S;
	if (opt.fork_every_ms > 0)
		next_fork = start + (uint64_t)opt.fork_every_ms * NS_PER_MS;

	while (!stopping()) {
		uint64_t now = mono_ns(), wake = now + 100 * NS_PER_MS;

		if (deadline != 0 && now >= deadline)
			break;
		if (next_fork != 0 && now >= next_fork) {
			fork_child();
			next_fork += (uint64_t)opt.fork_every_ms * NS_PER_MS;
			if (next_fork <= now)
				next_fork = now + (uint64_t)opt.fork_every_ms *
				    NS_PER_MS;
			if (fork_limit_reached())
				next_fork = 0;	/* --fork-count reached */
		}
		if (children_running() > 0)
			reap_children(false);
		if (heap_wanted())
			heap_report();
		if (deadline != 0 && deadline < wake)
			wake = deadline;
		if (next_fork != 0 && next_fork < wake)
			wake = next_fork;
		if (children_running() > 0 && now + 10 * NS_PER_MS < wake)
			wake = now + 10 * NS_PER_MS;
		now = mono_ns();
		if (wake > now)
			sleep_ns(wake - now);
	}
	atomic_store(&g_stop, 1);

	pthread_join(trainer_thread, NULL);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(workers[i].thread, NULL);
	if (opt.sites > 0)
		pthread_join(syn_thread, NULL);
	reap_children(true);
	fork_report();
	if (child_failures() > 0)
		status = 1;
	if (opt.alarm_hz > 0)
		stop_alarm_storm();
	if (opt.signal_report && signal_report() < 0)
		status = 1;

	if (opt.summary) {
		rc = pt_summary_print(stdout);
		if (rc < 0 || fflush(stdout) == EOF) {
			fprintf(stderr, PROG ": cannot write the summary: %s\n",
			    rc < 0 ? pt_strerror(rc) : strerror(errno));
			status = 1;
		}
	}
	pt_agent_stop();

	for (int i = 0; i < opt.threads; i++)
		free(workers[i].cache);
	free(workers);
	trainer_fini(trainer);
	free(trainer);
	if (opt.daemonize != DAEMON_NO && !CHILD_MAY_EXIT) {
		/* A forked child: no LeakSanitizer check (see child_work()). */
		fflush(stdout);
		_exit(status);
	}
	return status;
}
