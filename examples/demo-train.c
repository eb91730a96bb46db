/*
 * demo-train.c - perftop-demo's training loop: data loading, forward and
 * backward passes (small matrix multiplies), an optimizer, checkpoints,
 * and a replay buffer whose memory grows for about 20 s and is then
 * cleared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perftop.h"
#include "demo.h"

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

/* The training thread: steps until the demo stops. */
void *
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

/* A trainer, its data set made (NULL when out of memory). */
struct trainer *
trainer_new(void)
{
	struct trainer *t;

	if ((t = malloc(sizeof(*t))) == NULL)
		return NULL;
	if (trainer_init(t) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

void
trainer_free(struct trainer *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->replay.n; i++)
		free(t->replay.chunk[i]);
	free(t->dataset);
	free(t);
}
