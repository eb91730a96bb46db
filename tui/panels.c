/*
 * panels.c - drawing the live view into stdscr: the header, the operations
 * table, the counters table, the memory graph, the status line and the help
 * overlay.
 *
 *   line 0        process, PID, uptime, state, refresh interval, window
 *   line 1        RSS, peak, heap, sort column, filter, rows shown
 *   ops table     column titles, then the rows (scrolling, one selected)
 *   bottom panel  counters table | memory graph (RSS and heap)
 *   last line     a message, the filter being typed, or key hints
 *
 * Every frame is drawn from scratch after erase(); curses sends only what
 * changed.  Colours are used when the terminal has them and NO_COLOR is not
 * set; otherwise attributes only (the selected row is A_REVERSE).  Text
 * goes through put_text(), which counts display columns of UTF-8 text and
 * never writes past the width it is given.
 */
#include "tui.h"

#include <curses.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

/* What a piece of text is; attr() maps it to colours or attributes. */
enum role {
	ROLE_TEXT,
	ROLE_PROCESS,
	ROLE_HEAD,	/* table column titles */
	ROLE_SORTED,	/* the title of the sort column */
	ROLE_SELECTED,	/* the selected row */
	ROLE_LIVE,
	ROLE_PAUSED,
	ROLE_GONE,	/* process exited / disconnected */
	ROLE_LABEL,	/* "RSS", "sort:", graph labels */
	ROLE_RSS,
	ROLE_HEAP,
	ROLE_ERROR,
	ROLE_HINT,
	ROLE_HELP,
};

enum pair {
	PAIR_HEAD = 1,
	PAIR_SORTED,
	PAIR_SELECTED,
	PAIR_GREEN,
	PAIR_YELLOW,
	PAIR_RED,
	PAIR_CYAN,
	PAIR_MAGENTA,
	PAIR_ERROR,
	PAIR_HELP,
};

#define NUM_W_MIN	6	/* numeric columns of the operations table */
#define NUM_W_MAX	9
#define NAME_W_MIN	12
#define CTR_VALUE_W	9
#define CTR_RATE_W	8
#define GRAPH_W_MIN	24	/* narrower terminals get no graph */
#define GRAPH_LABEL_W	9	/* "max 512M " */
#define GRAPH_SPAN_S	300	/* the graph shows about 5 minutes */

static attr_t
attr(const struct view *v, int role)
{
	if (v->colour) {
		switch (role) {
		case ROLE_PROCESS:	return A_BOLD;
		case ROLE_HEAD:		return COLOR_PAIR(PAIR_HEAD);
		case ROLE_SORTED:	return COLOR_PAIR(PAIR_SORTED) | A_BOLD;
		case ROLE_SELECTED:	return COLOR_PAIR(PAIR_SELECTED);
		case ROLE_LIVE:		return COLOR_PAIR(PAIR_GREEN) | A_BOLD;
		case ROLE_PAUSED:	return COLOR_PAIR(PAIR_YELLOW) | A_BOLD;
		case ROLE_GONE:		return COLOR_PAIR(PAIR_RED) | A_BOLD;
		case ROLE_LABEL:	return COLOR_PAIR(PAIR_CYAN);
		case ROLE_RSS:		return COLOR_PAIR(PAIR_GREEN);
		case ROLE_HEAP:		return COLOR_PAIR(PAIR_MAGENTA);
		case ROLE_ERROR:	return COLOR_PAIR(PAIR_ERROR) | A_BOLD;
		case ROLE_HINT:		return COLOR_PAIR(PAIR_CYAN);
		case ROLE_HELP:		return COLOR_PAIR(PAIR_HELP);
		}
		return A_NORMAL;
	}
	switch (role) {
	case ROLE_PROCESS:	return A_BOLD;
	case ROLE_HEAD:		return A_BOLD | A_UNDERLINE;
	case ROLE_SORTED:	return A_REVERSE | A_BOLD;
	case ROLE_SELECTED:	return A_REVERSE;
	case ROLE_LIVE:		return A_BOLD;
	case ROLE_PAUSED:	return A_BOLD | A_UNDERLINE;
	case ROLE_GONE:		return A_BOLD | A_REVERSE;
	case ROLE_ERROR:	return A_BOLD;
	case ROLE_HEAP:		return A_BOLD;
	}
	return A_NORMAL;
}

void
panels_init(struct view *v)
{
	if (!v->colour)
		return;
	init_pair(PAIR_HEAD, COLOR_BLACK, COLOR_GREEN);
	init_pair(PAIR_SORTED, COLOR_BLACK, COLOR_CYAN);
	init_pair(PAIR_SELECTED, COLOR_BLACK, COLOR_CYAN);
	init_pair(PAIR_GREEN, COLOR_GREEN, -1);
	init_pair(PAIR_YELLOW, COLOR_YELLOW, -1);
	init_pair(PAIR_RED, COLOR_RED, -1);
	init_pair(PAIR_CYAN, COLOR_CYAN, -1);
	init_pair(PAIR_MAGENTA, COLOR_MAGENTA, -1);
	init_pair(PAIR_ERROR, COLOR_WHITE, COLOR_RED);
	init_pair(PAIR_HELP, COLOR_WHITE, COLOR_BLUE);
}

/* ------------------------------------------------------------------------ */
/* Text                                                                      */
/* ------------------------------------------------------------------------ */

#define ALIGN_LEFT	0
#define ALIGN_RIGHT	1

/*
 * Converts UTF-8 s into at most width display columns of wide characters
 * in out (outlen entries); bytes that do not decode and characters that do
 * not print become '?'.  Text that does not fit ends in an ellipsis.
 * Returns the columns used.
 */
static int
text_fit(const struct view *v, const char *s, int width, wchar_t *out,
    size_t outlen)
{
	mbstate_t st;
	size_t n = 0, rem = strlen(s), k;
	int cols = 0, w, truncated = 0;
	int widths[512];
	wchar_t wc;

	memset(&st, 0, sizeof st);
	if (outlen > sizeof widths / sizeof widths[0])
		outlen = sizeof widths / sizeof widths[0];
	while (rem > 0 && n + 1 < outlen) {
		k = mbrtowc(&wc, s, rem, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof st);
			wc = L'?';
			k = 1;
		}
		if ((w = wcwidth(wc)) < 0) {
			wc = L'?';
			w = 1;
		}
		if (cols + w > width) {
			truncated = 1;
			break;
		}
		widths[n] = w;
		out[n++] = wc;
		cols += w;
		s += k;
		rem -= k;
	}
	if (truncated && width > 0) {
		while (n > 0 && cols + 1 > width)
			cols -= widths[--n];
		out[n++] = v->utf8 ? L'\x2026' : L'~';
		cols++;
	}
	out[n] = L'\0';
	return cols;
}

/*
 * Writes s at (y, x) in a cell of width columns with attribute a, aligned;
 * with pad, the whole cell is written (spaces around the text).  Returns
 * the columns written.
 */
static int
put_text(const struct view *v, int y, int x, int width, int align,
    int pad, attr_t a, const char *s)
{
	wchar_t w[512];
	int cols, lead = 0;

	if (width <= 0)
		return 0;
	cols = text_fit(v, s, width, w, sizeof w / sizeof w[0]);
	if (align == ALIGN_RIGHT)
		lead = width - cols;
	attrset(a);
	if (pad && lead > 0)
		mvhline(y, x, ' ', lead);
	mvaddwstr(y, x + lead, w);
	if (pad && lead + cols < width)
		mvhline(y, x + lead + cols, ' ', width - lead - cols);
	attrset(A_NORMAL);
	return pad ? width : lead + cols;
}

/* A left-to-right writer on one line, stopping at end. */
struct pen {
	const struct view	*v;
	int			 y, x, end;
};

static void
pen_put(struct pen *p, attr_t a, const char *s)
{
	if (p->x < p->end)
		p->x += put_text(p->v, p->y, p->x, p->end - p->x, ALIGN_LEFT,
		    0, a, s);
}

/*
 * Line drawing: the terminal's line characters in UTF-8 mode, plain ASCII
 * otherwise (an old terminal, or a multiplexer that ignores the vt100
 * alternate character set, must not show letters instead of lines).
 */
static chtype
line_ch(const struct view *v, chtype acs, char ascii)
{
	return v->utf8 ? acs : (chtype)ascii;
}

/* Fills a whole line with attribute a. */
static void
fill_line(int y, int x, int width, attr_t a)
{
	if (width <= 0)
		return;
	attrset(a);
	mvhline(y, x, ' ', width);
	attrset(A_NORMAL);
}

/* ------------------------------------------------------------------------ */
/* Header                                                                    */
/* ------------------------------------------------------------------------ */

static void
draw_header(struct view *v, int cols)
{
	const struct model *m = &v->model;
	const pt_snapshot *s = model_source(m);
	struct pen p = { v, 0, 0, cols };
	char b[PT_NAME_MAX + 64], t[32];
	const char *state;
	int role;

	pen_put(&p, attr(v, ROLE_PROCESS), v->process[0] ? v->process : "?");
	snprintf(b, sizeof b, "  PID %d", (int)v->pid);
	pen_put(&p, A_NORMAL, b);
	if (s != NULL) {
		snprintf(b, sizeof b, "  up %s",
		    fmt_uptime(t, sizeof t, s->uptime_ns));
		pen_put(&p, A_NORMAL, b);
	}
	pen_put(&p, A_NORMAL, "  ");
	if (v->conn == VIEW_EXITED) {
		state = "process exited";
		role = ROLE_GONE;
	} else if (v->conn == VIEW_DISCONNECTED) {
		state = "disconnected";
		role = ROLE_GONE;
	} else if (m->paused) {
		state = "paused";
		role = ROLE_PAUSED;
	} else {
		state = "live";
		role = ROLE_LIVE;
	}
	pen_put(&p, attr(v, role), state);
	snprintf(b, sizeof b, "  refresh %s",
	    fmt_interval(t, sizeof t, v->interval_ms));
	pen_put(&p, A_NORMAL, b);
	pen_put(&p, attr(v, ROLE_LABEL), "  window ");
	pen_put(&p, A_BOLD, model_window_label(m, t, sizeof t));
	if (model_has_baseline(m))
		pen_put(&p, A_BOLD, " (view reset)");

	p.y = 1;
	p.x = 0;
	if (s != NULL) {
		pen_put(&p, attr(v, ROLE_LABEL), "RSS ");
		pen_put(&p, A_NORMAL, fmt_bytes(t, sizeof t,
		    s->memory.rss_bytes));
		pen_put(&p, attr(v, ROLE_LABEL), "  peak ");
		pen_put(&p, A_NORMAL, fmt_bytes(t, sizeof t,
		    s->memory.peak_rss_bytes));
		pen_put(&p, attr(v, ROLE_LABEL), "  heap ");
		pen_put(&p, A_NORMAL, fmt_bytes(t, sizeof t,
		    s->memory.heap_bytes));
		pen_put(&p, A_NORMAL, "  ");
	}
	pen_put(&p, attr(v, ROLE_LABEL), "sort ");
	snprintf(b, sizeof b, "%s %s", model_col_name(m->sort_col),
	    m->descending ? "desc" : "asc");
	pen_put(&p, A_BOLD, b);
	if (m->filter[0] != '\0') {
		pen_put(&p, attr(v, ROLE_LABEL), "  filter ");
		snprintf(b, sizeof b, "\"%s\"", m->filter);
		pen_put(&p, A_BOLD, b);
	}
	if (s != NULL) {
		if (m->n_rows > (size_t)v->page && v->page > 0)
			snprintf(b, sizeof b, "  ops %zu-%zu of %zu",
			    v->top + 1, v->top + (size_t)v->page, m->n_rows);
		else
			snprintf(b, sizeof b, "  ops %zu", m->n_rows);
		pen_put(&p, A_NORMAL, b);
		if (m->shown != NULL && m->n_rows != m->shown->n_ops) {
			snprintf(b, sizeof b, " (of %zu)", m->shown->n_ops);
			pen_put(&p, A_NORMAL, b);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Operations table                                                          */
/* ------------------------------------------------------------------------ */

static void
cell_text(const struct view *v, const struct model_row *r, int col, int nw,
    char *b, size_t len)
{
	const pt_op_stats *o = r->op;

	switch (col) {
	case MODEL_COL_COUNT:
		fmt_count(b, len, (int64_t)o->count, nw);
		break;
	case MODEL_COL_RATE:
		fmt_rate(b, len, r->rate, nw);
		break;
	case MODEL_COL_AVG:
		fmt_duration(b, len, o->count ? o->mean_ns : 0, v->utf8);
		break;
	case MODEL_COL_MIN:
		fmt_duration(b, len, (double)o->min_ns, v->utf8);
		break;
	case MODEL_COL_MAX:
		fmt_duration(b, len, (double)o->max_ns, v->utf8);
		break;
	case MODEL_COL_P50:
		fmt_duration(b, len, (double)o->p50_ns, v->utf8);
		break;
	case MODEL_COL_P99:
		fmt_duration(b, len, (double)o->p99_ns, v->utf8);
		break;
	case MODEL_COL_TOTAL:
		fmt_duration(b, len, (double)o->total_ns, v->utf8);
		break;
	case MODEL_COL_PCT:
		fmt_pct(b, len, r->pct);
		break;
	default:
		strlcpy(b, o->name, len);
		break;
	}
}

/*
 * Widths: NAME fits the longest name (up to 40 columns) and the numeric
 * columns share the rest, NUM_W_MIN to NUM_W_MAX each; space left over
 * stays at the right.
 */
static void
table_widths(const struct model *m, int cols, int *name_w, int *nw)
{
	size_t i, longest = 4;
	int need, w;

	for (i = 0; i < m->n_rows; i++)
		if (strlen(m->rows[i].op->name) > longest)
			longest = strlen(m->rows[i].op->name);
	need = (longest > 40 ? 40 : (int)longest) + 2;
	if (need < NAME_W_MIN)
		need = NAME_W_MIN;
	for (w = NUM_W_MAX; w > NUM_W_MIN; w--)
		if (cols - (MODEL_COL_N - 1) * (w + 1) >= need)
			break;
	*nw = w;
	*name_w = cols - (MODEL_COL_N - 1) * (w + 1);
	if (*name_w > need)
		*name_w = need;
	if (*name_w < NAME_W_MIN)
		*name_w = NAME_W_MIN;
}

static void
draw_ops(struct view *v, int y, int h, int cols)
{
	const struct model *m = &v->model;
	char b[PT_NAME_MAX + 1], title[32];
	int name_w, nw, x, col, i, page, sorted;
	attr_t a;
	size_t idx;

	if (h < 1)
		return;
	table_widths(m, cols, &name_w, &nw);

	/* Column titles; the sort column is marked and highlighted. */
	fill_line(y, 0, cols, attr(v, ROLE_HEAD));
	for (col = 0, x = 0; col < MODEL_COL_N && x < cols; col++) {
		sorted = col == m->sort_col;
		snprintf(title, sizeof title, "%s%s", model_col_name(col),
		    !sorted ? "" : v->utf8 ? (m->descending ? "\xe2\x96\xbc" :
		    "\xe2\x96\xb2") : (m->descending ? "v" : "^"));
		a = attr(v, sorted ? ROLE_SORTED : ROLE_HEAD);
		if (col == MODEL_COL_NAME) {
			put_text(v, y, x, name_w < cols ? name_w : cols,
			    ALIGN_LEFT, 0, a, title);
			x += name_w;
		} else {
			put_text(v, y, x, cols - x < nw + 1 ? cols - x : nw + 1,
			    ALIGN_RIGHT, 0, a, title);
			x += nw + 1;
		}
	}

	page = h - 1;
	v->page = page > 0 ? page : 1;
	if (m->n_rows == 0) {
		if (model_source(m) == NULL)
			put_text(v, y + 1, 0, cols, ALIGN_LEFT, 0, A_NORMAL,
			    "waiting for the first snapshot...");
		else if (m->filter[0] != '\0')
			put_text(v, y + 1, 0, cols, ALIGN_LEFT, 0, A_NORMAL,
			    "no operation matches the filter (Esc clears it)");
		else
			put_text(v, y + 1, 0, cols, ALIGN_LEFT, 0, A_NORMAL,
			    "no operations recorded yet");
		v->top = 0;
		return;
	}
	/* Keep the selection on screen. */
	if (v->sel >= m->n_rows)
		v->sel = m->n_rows - 1;
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + (size_t)page)
		v->top = v->sel - (size_t)page + 1;
	if (v->top + (size_t)page > m->n_rows)
		v->top = m->n_rows > (size_t)page ? m->n_rows - (size_t)page : 0;

	for (i = 0; i < page; i++) {
		const struct model_row *r;

		idx = v->top + (size_t)i;
		if (idx >= m->n_rows)
			break;
		r = &m->rows[idx];
		a = idx == v->sel ? attr(v, ROLE_SELECTED) : A_NORMAL;
		if (idx == v->sel)
			fill_line(y + 1 + i, 0, cols, a);
		for (col = 0, x = 0; col < MODEL_COL_N && x < cols; col++) {
			cell_text(v, r, col, nw, b, sizeof b);
			if (col == MODEL_COL_NAME) {
				/* Leave a space after a long name. */
				put_text(v, y + 1 + i, x, (name_w < cols ?
				    name_w : cols) - 1, ALIGN_LEFT, 0, a, b);
				x += name_w;
			} else {
				put_text(v, y + 1 + i, x, cols - x < nw + 1 ?
				    cols - x : nw + 1, ALIGN_RIGHT, 0, a, b);
				x += nw + 1;
			}
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Counters table                                                            */
/* ------------------------------------------------------------------------ */

static void
draw_counters(struct view *v, int y, int h, int w)
{
	const struct model *m = &v->model;
	char b[32];
	int name_w = w - CTR_VALUE_W - CTR_RATE_W - 2, i, n;
	attr_t head = attr(v, ROLE_HEAD);

	if (h < 1 || name_w < 4)
		return;
	fill_line(y, 0, w, head);
	put_text(v, y, 0, name_w, ALIGN_LEFT, 0, head, "NAME");
	put_text(v, y, name_w, CTR_VALUE_W + 1, ALIGN_RIGHT, 0, head, "VALUE");
	put_text(v, y, name_w + CTR_VALUE_W + 1, CTR_RATE_W + 1, ALIGN_RIGHT,
	    0, head, "RATE/s");
	n = (int)m->n_crows;
	if (n > h - 1) {
		/* Say how many did not fit in the title row. */
		snprintf(b, sizeof b, "NAME (+%d more)", n - (h - 2));
		put_text(v, y, 0, name_w, ALIGN_LEFT, 0, head, b);
		n = h - 2;
	}
	if (m->n_crows == 0 && h > 1)
		put_text(v, y + 1, 0, w, ALIGN_LEFT, 0, A_NORMAL,
		    model_source(m) == NULL ? "" :
		    m->filter[0] ? "no counter matches the filter" :
		    "no counters");
	for (i = 0; i < n; i++) {
		const struct model_crow *c = &m->crows[i];

		put_text(v, y + 1 + i, 0, name_w - 1, ALIGN_LEFT, 0, A_NORMAL,
		    c->c->name);
		put_text(v, y + 1 + i, name_w, CTR_VALUE_W + 1, ALIGN_RIGHT, 0,
		    A_NORMAL, fmt_count(b, sizeof b, c->c->value, CTR_VALUE_W));
		put_text(v, y + 1 + i, name_w + CTR_VALUE_W + 1, CTR_RATE_W + 1,
		    ALIGN_RIGHT, 0, A_NORMAL,
		    fmt_rate(b, sizeof b, c->rate, CTR_RATE_W));
	}
}

/* ------------------------------------------------------------------------ */
/* Memory graph                                                              */
/* ------------------------------------------------------------------------ */

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
	attr_t a = attr(v, role);
	double level;

	if (h < 1 || bw < 1)
		return;
	snprintf(lbl, sizeof lbl, "max %s", scale_label(b, sizeof b, scale));
	put_text(v, y, x, GRAPH_LABEL_W - 1, ALIGN_LEFT, 0,
	    attr(v, ROLE_LABEL), lbl);
	if (h >= 3)
		put_text(v, y + h / 2, x, GRAPH_LABEL_W - 1, ALIGN_LEFT, 0,
		    attr(v, ROLE_LABEL), name);
	if (h >= 2)
		put_text(v, y + h - 1, x, GRAPH_LABEL_W - 1, ALIGN_LEFT, 0,
		    attr(v, ROLE_LABEL), "0");
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

static void
draw_memory(struct view *v, int y, int x, int h, int w)
{
	const struct model *m = &v->model;
	const pt_snapshot *s = model_source(m);
	const struct model_mem *ms;
	uint64_t rss[512], heap[512], rmax = 0, hmax = 0, step, age, end;
	unsigned char have[512];
	struct pen p = { v, y, x, x + w };
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
	pen_put(&p, A_BOLD, b);
	if (s != NULL) {
		pen_put(&p, attr(v, ROLE_RSS), "  RSS ");
		pen_put(&p, A_NORMAL, fmt_bytes(b, sizeof b,
		    s->memory.rss_bytes));
		pen_put(&p, attr(v, ROLE_LABEL), " peak ");
		pen_put(&p, A_NORMAL, fmt_bytes(b, sizeof b,
		    s->memory.peak_rss_bytes));
		pen_put(&p, attr(v, ROLE_HEAP), "  heap ");
		pen_put(&p, A_NORMAL, fmt_bytes(b, sizeof b,
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

/* ------------------------------------------------------------------------ */
/* Status line and help                                                      */
/* ------------------------------------------------------------------------ */

static void
draw_status(struct view *v, int y, int cols)
{
	struct pen p = { v, y, 0, cols };

	if (v->editing) {
		pen_put(&p, attr(v, ROLE_LABEL), "filter: ");
		pen_put(&p, A_BOLD, v->edit);
		pen_put(&p, A_REVERSE, " ");
		pen_put(&p, attr(v, ROLE_HINT),
		    "   Enter apply  Esc clear  Backspace delete");
		return;
	}
	if (v->status[0] != '\0') {
		pen_put(&p, v->status_err ? attr(v, ROLE_ERROR) : A_BOLD,
		    v->status);
		return;
	}
	pen_put(&p, attr(v, ROLE_HINT), "q quit  ? help  < > sort  "
	    "/ filter  p pause  t window  r R reset  w write");
}

static void
draw_help(struct view *v, int rows, int cols)
{
	attr_t a = attr(v, ROLE_HELP);
	int w = cols - 2 > 80 ? 80 : cols - 2;
	int h = (int)key_actions_n + 4, y0, x0, i, kw = 4;
	char b[64];

	if (h > rows - 2)
		h = rows - 2;
	if (w < 20 || h < 4)
		return;
	for (i = 0; i < (int)key_actions_n; i++)
		if ((int)strlen(key_actions[i].keys) + 2 > kw)
			kw = (int)strlen(key_actions[i].keys) + 2;
	if (kw > w / 3)
		kw = w / 3;
	y0 = (rows - h) / 2;
	x0 = (cols - w) / 2;
	for (i = 0; i < h; i++)
		fill_line(y0 + i, x0, w, a);
	attrset(a);
	mvhline(y0, x0 + 1, line_ch(v, ACS_HLINE, '-'), w - 2);
	mvhline(y0 + h - 1, x0 + 1, line_ch(v, ACS_HLINE, '-'), w - 2);
	mvvline(y0 + 1, x0, line_ch(v, ACS_VLINE, '|'), h - 2);
	mvvline(y0 + 1, x0 + w - 1, line_ch(v, ACS_VLINE, '|'), h - 2);
	mvaddch(y0, x0, line_ch(v, ACS_ULCORNER, '+'));
	mvaddch(y0, x0 + w - 1, line_ch(v, ACS_URCORNER, '+'));
	mvaddch(y0 + h - 1, x0, line_ch(v, ACS_LLCORNER, '+'));
	mvaddch(y0 + h - 1, x0 + w - 1, line_ch(v, ACS_LRCORNER, '+'));
	attrset(A_NORMAL);
	put_text(v, y0, x0 + 2, w - 4, ALIGN_LEFT, 0, a | A_BOLD,
	    " perftop keys ");
	for (i = 0; i < (int)key_actions_n && 1 + i < h - 2; i++) {
		put_text(v, y0 + 1 + i, x0 + 2, kw, ALIGN_LEFT, 0, a | A_BOLD,
		    key_actions[i].keys);
		put_text(v, y0 + 1 + i, x0 + 2 + kw, w - 4 - kw, ALIGN_LEFT, 0,
		    a, key_actions[i].help);
	}
	snprintf(b, sizeof b, "any key closes this help; window %llus",
	    (unsigned long long)(v->model.window_ns / 1000000000ULL));
	put_text(v, y0 + h - 2, x0 + 2, w - 4, ALIGN_LEFT, 0, a, b);
}

/* ------------------------------------------------------------------------ */
/* Layout                                                                    */
/* ------------------------------------------------------------------------ */

void
panels_draw(struct view *v)
{
	const struct model *m = &v->model;
	int rows, cols, body, bottom, ops_h, ctr_w, longest = 4;
	size_t i;

	getmaxyx(stdscr, rows, cols);
	erase();
	if (rows < 3 || cols < 20) {
		put_text(v, 0, 0, cols, ALIGN_LEFT, 0, A_BOLD,
		    "perftop: terminal too small");
		return;
	}
	/*
	 * Lines: 2 header, the operations table, the bottom panel (counters
	 * and memory, about a third, smaller when there are few counters),
	 * 1 status line.
	 */
	body = rows - 3;
	bottom = (int)m->n_crows + 1 > 6 ? (int)m->n_crows + 1 : 6;
	if (bottom > body / 3 + 1)
		bottom = body / 3 + 1;
	if (body < 12)
		bottom = 0;	/* too short: the table only */
	ops_h = body - bottom - (bottom > 0);
	/* Few operations: the graph gets the rows the table does not use. */
	if (bottom > 0 && ops_h > (int)m->n_rows + 1 && bottom < body / 2) {
		int give = ops_h - ((int)m->n_rows + 1);

		if (give > body / 2 - bottom)
			give = body / 2 - bottom;
		bottom += give;
		ops_h -= give;
	}

	/* The table first: it settles v->page and v->top for the header. */
	draw_ops(v, 2, ops_h, cols);
	draw_header(v, cols);
	if (bottom > 0) {
		int y = 2 + ops_h + 1;

		for (i = 0; i < m->n_crows; i++)
			if ((int)strlen(m->crows[i].c->name) > longest)
				longest = (int)strlen(m->crows[i].c->name);
		ctr_w = longest + 2 + CTR_VALUE_W + CTR_RATE_W + 2;
		if (ctr_w < 30)
			ctr_w = 30;
		if (cols - ctr_w - 1 < GRAPH_W_MIN + GRAPH_LABEL_W) {
			/* Share the width: at least half for the graph. */
			ctr_w = cols / 2;
		}
		if (cols < 2 * (GRAPH_W_MIN + GRAPH_LABEL_W) - 10)
			ctr_w = cols;	/* no room for a graph */
		draw_counters(v, y, bottom, ctr_w);
		if (ctr_w < cols) {
			mvvline(y, ctr_w, line_ch(v, ACS_VLINE, '|'), bottom);
			draw_memory(v, y, ctr_w + 2, bottom, cols - ctr_w - 2);
		}
	}
	draw_status(v, rows - 1, cols);
	if (v->help)
		draw_help(v, rows, cols);
}
