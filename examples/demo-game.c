/*
 * demo-game.c - perftop-demo's game workers: each plays games (play, move,
 * search, evaluate) with a position cache whose hits and misses are
 * counted; a few evaluations are deep, with a heavy tail up to 20 ms.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perftop.h"
#include "demo.h"

#define CACHE_SLOTS	16384
#define OPENINGS	32

struct cache_entry {
	uint64_t	key;
	int32_t		score;
};

struct game_worker {
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

/* A game worker thread: plays games until the demo stops. */
void *
game_main(void *arg)
{
	struct game_worker *w = arg;

	pacer_init(&w->pacer);
	while (!stopping())
		play_game(w);
	return NULL;
}

/* Game worker number index, with its position cache (NULL: no memory). */
struct game_worker *
game_worker_new(int index)
{
	struct game_worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->index = index;
	rng_seed(&w->rng, 1000 + (uint64_t)index);
	w->cache = calloc(CACHE_SLOTS, sizeof(*w->cache));
	if (w->cache == NULL) {
		free(w);
		return NULL;
	}
	for (int p = 0; p < 16; p++)
		for (int sq = 0; sq < 64; sq++)
			w->weights[p][sq] = (int16_t)(rng_below(&w->rng, 200) -
			    100);
	return w;
}

void
game_worker_free(struct game_worker *w)
{
	if (w == NULL)
		return;
	free(w->cache);
	free(w);
}
