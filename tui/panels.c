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
 * changed.  The text, colours and lines are draw.c's; the memory graph is
 * graph.c's.
 */
#include "draw.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#define NUM_W_MIN	6	/* numeric columns of the operations table */
#define NUM_W_MAX	9
#define NAME_W_MIN	12
#define CTR_VALUE_W	9
#define CTR_RATE_W	8

/* ------------------------------------------------------------------------ */
/* Header                                                                    */
/* ------------------------------------------------------------------------ */

static void
draw_header(struct view *v, int cols)
{
	const struct model *m = &v->model;
	const pt_snapshot *s = model_source(m);
	struct draw_pen p = { v, 0, 0, cols };
	char b[PT_NAME_MAX + 64], t[32];
	const char *state;
	int role;

	draw_pen_put(&p, draw_attr(v, ROLE_PROCESS), v->process[0] ? v->process : "?");
	snprintf(b, sizeof b, "  PID %d", (int)v->pid);
	draw_pen_put(&p, A_NORMAL, b);
	if (s != NULL) {
		snprintf(b, sizeof b, "  up %s",
		    fmt_uptime(t, sizeof t, s->uptime_ns));
		draw_pen_put(&p, A_NORMAL, b);
	}
	draw_pen_put(&p, A_NORMAL, "  ");
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
	draw_pen_put(&p, draw_attr(v, role), state);
	snprintf(b, sizeof b, "  refresh %s",
	    fmt_interval(t, sizeof t, v->interval_ms));
	draw_pen_put(&p, A_NORMAL, b);
	draw_pen_put(&p, draw_attr(v, ROLE_LABEL), "  window ");
	draw_pen_put(&p, A_BOLD, model_window_label(m, t, sizeof t));
	if (model_has_baseline(m))
		draw_pen_put(&p, A_BOLD, " (view reset)");

	p.y = 1;
	p.x = 0;
	if (s != NULL) {
		draw_pen_put(&p, draw_attr(v, ROLE_LABEL), "RSS ");
		draw_pen_put(&p, A_NORMAL, fmt_bytes(t, sizeof t,
		    s->memory.rss_bytes));
		draw_pen_put(&p, draw_attr(v, ROLE_LABEL), "  peak ");
		draw_pen_put(&p, A_NORMAL, fmt_bytes(t, sizeof t,
		    s->memory.peak_rss_bytes));
		draw_pen_put(&p, draw_attr(v, ROLE_LABEL), "  heap ");
		draw_pen_put(&p, A_NORMAL, fmt_bytes(t, sizeof t,
		    s->memory.heap_bytes));
		draw_pen_put(&p, A_NORMAL, "  ");
	}
	draw_pen_put(&p, draw_attr(v, ROLE_LABEL), "sort ");
	snprintf(b, sizeof b, "%s %s", model_col_name(m->sort_col),
	    m->descending ? "desc" : "asc");
	draw_pen_put(&p, A_BOLD, b);
	if (m->filter[0] != '\0') {
		draw_pen_put(&p, draw_attr(v, ROLE_LABEL), "  filter ");
		snprintf(b, sizeof b, "\"%s\"", m->filter);
		draw_pen_put(&p, A_BOLD, b);
	}
	if (s != NULL) {
		if (m->n_rows > (size_t)v->page && v->page > 0)
			snprintf(b, sizeof b, "  ops %zu-%zu of %zu",
			    v->top + 1, v->top + (size_t)v->page, m->n_rows);
		else
			snprintf(b, sizeof b, "  ops %zu", m->n_rows);
		draw_pen_put(&p, A_NORMAL, b);
		if (m->shown != NULL && m->n_rows != m->shown->n_ops) {
			snprintf(b, sizeof b, " (of %zu)", m->shown->n_ops);
			draw_pen_put(&p, A_NORMAL, b);
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
	draw_fill_line(y, 0, cols, draw_attr(v, ROLE_HEAD));
	for (col = 0, x = 0; col < MODEL_COL_N && x < cols; col++) {
		sorted = col == m->sort_col;
		snprintf(title, sizeof title, "%s%s", model_col_name(col),
		    !sorted ? "" : v->utf8 ? (m->descending ? "\xe2\x96\xbc" :
		    "\xe2\x96\xb2") : (m->descending ? "v" : "^"));
		a = draw_attr(v, sorted ? ROLE_SORTED : ROLE_HEAD);
		if (col == MODEL_COL_NAME) {
			draw_text(v, y, x, name_w < cols ? name_w : cols,
			    ALIGN_LEFT, 0, a, title);
			x += name_w;
		} else {
			draw_text(v, y, x, cols - x < nw + 1 ? cols - x : nw + 1,
			    ALIGN_RIGHT, 0, a, title);
			x += nw + 1;
		}
	}

	page = h - 1;
	v->page = page > 0 ? page : 1;
	if (m->n_rows == 0) {
		if (model_source(m) == NULL)
			draw_text(v, y + 1, 0, cols, ALIGN_LEFT, 0, A_NORMAL,
			    "waiting for the first snapshot...");
		else if (m->filter[0] != '\0')
			draw_text(v, y + 1, 0, cols, ALIGN_LEFT, 0, A_NORMAL,
			    "no operation matches the filter (Esc clears it)");
		else
			draw_text(v, y + 1, 0, cols, ALIGN_LEFT, 0, A_NORMAL,
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
		a = idx == v->sel ? draw_attr(v, ROLE_SELECTED) : A_NORMAL;
		if (idx == v->sel)
			draw_fill_line(y + 1 + i, 0, cols, a);
		for (col = 0, x = 0; col < MODEL_COL_N && x < cols; col++) {
			cell_text(v, r, col, nw, b, sizeof b);
			if (col == MODEL_COL_NAME) {
				/* Leave a space after a long name. */
				draw_text(v, y + 1 + i, x, (name_w < cols ?
				    name_w : cols) - 1, ALIGN_LEFT, 0, a, b);
				x += name_w;
			} else {
				draw_text(v, y + 1 + i, x, cols - x < nw + 1 ?
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
	attr_t head = draw_attr(v, ROLE_HEAD);

	if (h < 1 || name_w < 4)
		return;
	draw_fill_line(y, 0, w, head);
	draw_text(v, y, 0, name_w, ALIGN_LEFT, 0, head, "NAME");
	draw_text(v, y, name_w, CTR_VALUE_W + 1, ALIGN_RIGHT, 0, head, "VALUE");
	draw_text(v, y, name_w + CTR_VALUE_W + 1, CTR_RATE_W + 1, ALIGN_RIGHT,
	    0, head, "RATE/s");
	n = (int)m->n_crows;
	if (n > h - 1) {
		/* Say how many did not fit in the title row. */
		snprintf(b, sizeof b, "NAME (+%d more)", n - (h - 2));
		draw_text(v, y, 0, name_w, ALIGN_LEFT, 0, head, b);
		n = h - 2;
	}
	if (m->n_crows == 0 && h > 1)
		draw_text(v, y + 1, 0, w, ALIGN_LEFT, 0, A_NORMAL,
		    model_source(m) == NULL ? "" :
		    m->filter[0] ? "no counter matches the filter" :
		    "no counters");
	for (i = 0; i < n; i++) {
		const struct model_crow *c = &m->crows[i];

		draw_text(v, y + 1 + i, 0, name_w - 1, ALIGN_LEFT, 0, A_NORMAL,
		    c->c->name);
		draw_text(v, y + 1 + i, name_w, CTR_VALUE_W + 1, ALIGN_RIGHT, 0,
		    A_NORMAL, fmt_count(b, sizeof b, c->c->value, CTR_VALUE_W));
		draw_text(v, y + 1 + i, name_w + CTR_VALUE_W + 1, CTR_RATE_W + 1,
		    ALIGN_RIGHT, 0, A_NORMAL,
		    fmt_rate(b, sizeof b, c->rate, CTR_RATE_W));
	}
}
/* ------------------------------------------------------------------------ */
/* Status line and help                                                      */
/* ------------------------------------------------------------------------ */

static void
draw_status(struct view *v, int y, int cols)
{
	struct draw_pen p = { v, y, 0, cols };

	if (v->editing) {
		draw_pen_put(&p, draw_attr(v, ROLE_LABEL), "filter: ");
		draw_pen_put(&p, A_BOLD, v->edit);
		draw_pen_put(&p, A_REVERSE, " ");
		draw_pen_put(&p, draw_attr(v, ROLE_HINT),
		    "   Enter apply  Esc clear  Backspace delete");
		return;
	}
	if (v->status[0] != '\0') {
		draw_pen_put(&p, v->status_err ? draw_attr(v, ROLE_ERROR) : A_BOLD,
		    v->status);
		return;
	}
	draw_pen_put(&p, draw_attr(v, ROLE_HINT), "q quit  ? help  < > sort  "
	    "/ filter  p pause  t window  r R reset  w write");
}

static void
draw_help(struct view *v, int rows, int cols)
{
	attr_t a = draw_attr(v, ROLE_HELP);
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
		draw_fill_line(y0 + i, x0, w, a);
	attrset(a);
	mvhline(y0, x0 + 1, draw_line_ch(v, ACS_HLINE, '-'), w - 2);
	mvhline(y0 + h - 1, x0 + 1, draw_line_ch(v, ACS_HLINE, '-'), w - 2);
	mvvline(y0 + 1, x0, draw_line_ch(v, ACS_VLINE, '|'), h - 2);
	mvvline(y0 + 1, x0 + w - 1, draw_line_ch(v, ACS_VLINE, '|'), h - 2);
	mvaddch(y0, x0, draw_line_ch(v, ACS_ULCORNER, '+'));
	mvaddch(y0, x0 + w - 1, draw_line_ch(v, ACS_URCORNER, '+'));
	mvaddch(y0 + h - 1, x0, draw_line_ch(v, ACS_LLCORNER, '+'));
	mvaddch(y0 + h - 1, x0 + w - 1, draw_line_ch(v, ACS_LRCORNER, '+'));
	attrset(A_NORMAL);
	draw_text(v, y0, x0 + 2, w - 4, ALIGN_LEFT, 0, a | A_BOLD,
	    " perftop keys ");
	for (i = 0; i < (int)key_actions_n && 1 + i < h - 2; i++) {
		draw_text(v, y0 + 1 + i, x0 + 2, kw, ALIGN_LEFT, 0, a | A_BOLD,
		    key_actions[i].keys);
		draw_text(v, y0 + 1 + i, x0 + 2 + kw, w - 4 - kw, ALIGN_LEFT, 0,
		    a, key_actions[i].help);
	}
	snprintf(b, sizeof b, "any key closes this help; window %llus",
	    (unsigned long long)(v->model.window_ns / 1000000000ULL));
	draw_text(v, y0 + h - 2, x0 + 2, w - 4, ALIGN_LEFT, 0, a, b);
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
		draw_text(v, 0, 0, cols, ALIGN_LEFT, 0, A_BOLD,
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
			mvvline(y, ctr_w, draw_line_ch(v, ACS_VLINE, '|'), bottom);
			graph_draw_memory(v, y, ctr_w + 2, bottom, cols - ctr_w - 2);
		}
	}
	draw_status(v, rows - 1, cols);
	if (v->help)
		draw_help(v, rows, cols);
}
