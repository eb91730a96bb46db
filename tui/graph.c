/*
 * graph.c - the live view's memory panel: RSS and heap over the last
 * minutes as bar graphs (eighth blocks on UTF-8 terminals, '#', ':' and '.'
 * on others), each scaled to a power of two.
 */
#include "draw.h"

#include <stdio.h>
#include <string.h>

#define GRAPH_SPAN_S	300	/* the graph shows about 5 minutes */

/* The scale of a graph: the smallest power of two >= max (at least 1K). */
static uint64_t
graph_scale(uint64_t max)
{
	uint64_t s = 1024;

	while (s < max && s < (UINT64_MAX >> 1))
		s <<= 1;
	return s;
}

/* "512M", "1G", "64K": a power of two in its unit, without decimals. */
static char *
scale_label(char *b, size_t len, uint64_t v)
{
	static const char units[] = "BKMGTPE";
	size_t i = 0;

	while (v >= 1024 && v % 1024 == 0 && i < sizeof units - 2) {
		v /= 1024;
		i++;
	}
	snprintf(b, len, "%llu%c", (unsigned long long)v, units[i]);
	return b;
}

/*
 * One bar graph of h rows and w columns at (y, x): values[0..w) scaled to
 * scale, with the labels "max N" (top), name (middle) and "0" (bottom) in
 * the first GRAPH_LABEL_W columns.  UTF-8 terminals get eighth blocks,
 * others '#' with ':' and '.' for the partial top cell.
 */
static void
draw_bars(struct view *v, int y, int x, int h, int w, const uint64_t *values,
    const unsigned char *have, uint64_t scale, const char *name, int role)
{
	static const wchar_t eighths[] = L" \x2581\x2582\x2583\x2584\x2585"
	    "\x2586\x2587\x2588";
	char b[32], lbl[48];
	int r, c, bw = w - GRAPH_LABEL_W;
	attr_t a = draw_attr(v, role);
	double level;

	if (h < 1 || bw < 1)
		return;
	snprintf(lbl, sizeof lbl, "max %s", scale_label(b, sizeof b, scale));
	draw_text(v, y, x, GRAPH_LABEL_W - 1, ALIGN_LEFT, 0,
	    draw_attr(v, ROLE_LABEL), lbl);
	if (h >= 3)
		draw_text(v, y + h / 2, x, GRAPH_LABEL_W - 1, ALIGN_LEFT, 0,
		    draw_attr(v, ROLE_LABEL), name);
	if (h >= 2)
		draw_text(v, y + h - 1, x, GRAPH_LABEL_W - 1, ALIGN_LEFT, 0,
		    draw_attr(v, ROLE_LABEL), "0");
	x += GRAPH_LABEL_W;
	attrset(a);
	for (c = 0; c < bw; c++) {
		if (!have[c])
			continue;
		/* In eighths of a row, from the bottom. */
		level = (double)values[c] / (double)scale * h * 8;
		if (values[c] > 0 && level < 1)
			level = 1;	/* a non-zero value always shows */
		for (r = 0; r < h; r++) {
			int e = (int)(level - r * 8 + 0.5);

			if (e <= 0)
				break;
			if (e > 8)
				e = 8;
			if (v->utf8)
				mvaddnwstr(y + h - 1 - r, x + c, &eighths[e], 1);
			else
				mvaddch(y + h - 1 - r, x + c,
				    e == 8 ? '#' : e >= 4 ? ':' : '.');
		}
	}
	attrset(A_NORMAL);
}

/* The memory panel: its title line, then RSS and heap as bar graphs. */
void
graph_draw_memory(struct view *v, int y, int x, int h, int w)
{
	const struct model *m = &v->model;
	const pt_snapshot *s = model_source(m);
	const struct model_mem *ms;
	uint64_t rss[512], heap[512], rmax = 0, hmax = 0, step, age, end;
	unsigned char have[512];
	struct draw_pen p = { v, y, x, x + w };
	char b[32];
	int bw = w - GRAPH_LABEL_W, c, rss_h, heap_h;
	size_t i;

	if (h < 2 || bw < 1)
		return;
	if (bw > 512)
		bw = 512;
	/* Each column covers step seconds, the newest on the right. */
	step = (GRAPH_SPAN_S + (uint64_t)bw - 1) / (uint64_t)bw;
	if (step < 1)
		step = 1;
	memset(have, 0, sizeof have);
	memset(rss, 0, sizeof rss);
	memset(heap, 0, sizeof heap);
	end = m->mem_shown_t;
	for (i = m->mem_n; i-- > 0;) {
		ms = model_mem_at(m, i);
		if (ms->t_ns > end)
			continue;	/* arrived while paused */
		age = (end - ms->t_ns) / 1000000000ULL / step;
		if (age >= (uint64_t)bw)
			break;
		c = bw - 1 - (int)age;
		have[c] = 1;
		if (ms->rss > rss[c])
			rss[c] = ms->rss;
		if (ms->heap > heap[c])
			heap[c] = ms->heap;
		if (ms->rss > rmax)
			rmax = ms->rss;
		if (ms->heap > hmax)
			hmax = ms->heap;
	}

	snprintf(b, sizeof b, "Memory, last %llum",
	    (unsigned long long)((step * (uint64_t)bw + 30) / 60));
	draw_pen_put(&p, A_BOLD, b);
	if (s != NULL) {
		draw_pen_put(&p, draw_attr(v, ROLE_RSS), "  RSS ");
		draw_pen_put(&p, A_NORMAL, fmt_bytes(b, sizeof b,
		    s->memory.rss_bytes));
		draw_pen_put(&p, draw_attr(v, ROLE_LABEL), " peak ");
		draw_pen_put(&p, A_NORMAL, fmt_bytes(b, sizeof b,
		    s->memory.peak_rss_bytes));
		draw_pen_put(&p, draw_attr(v, ROLE_HEAP), "  heap ");
		draw_pen_put(&p, A_NORMAL, fmt_bytes(b, sizeof b,
		    s->memory.heap_bytes));
	}
	h--;
	y++;
	/* RSS on top; heap below it when there is room for both. */
	if (h >= 4) {
		rss_h = (h + 1) / 2;
		heap_h = h - rss_h;
	} else {
		rss_h = h;
		heap_h = 0;
	}
	draw_bars(v, y, x, rss_h, w, rss, have, graph_scale(rmax), "rss",
	    ROLE_RSS);
	if (heap_h > 0)
		draw_bars(v, y + rss_h, x, heap_h, w, heap, have,
		    graph_scale(hmax), "heap", ROLE_HEAP);
}
