/*
 * draw.h - what the files that draw the live view into stdscr share
 * (panels.c, draw.c, graph.c).  Apart from tui.h, as it needs curses.h,
 * whose macros the other files are better without.
 */
#ifndef PT_TUI_DRAW_H
#define PT_TUI_DRAW_H

#include "tui.h"

#include <curses.h>

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

#define ALIGN_LEFT	0
#define ALIGN_RIGHT	1

/* The memory graph's columns: narrower terminals get no graph. */
#define GRAPH_W_MIN	24
#define GRAPH_LABEL_W	9	/* "max 512M " */

/* ------------------------------------------------------------------------ */
/* draw.c: roles, text, lines                                                */
/* ------------------------------------------------------------------------ */

/* The colour pair or attributes for text of role (enum role). */
attr_t	draw_attr(const struct view *v, int role);
/*
 * Writes UTF-8 s at (y, x) in a cell of width display columns with
 * attribute a, aligned (ALIGN_LEFT or ALIGN_RIGHT); text that does not fit
 * ends in an ellipsis.  With pad, the whole cell is written (spaces around
 * the text).  Returns the columns written.
 */
int	draw_text(const struct view *v, int y, int x, int width, int align,
	    int pad, attr_t a, const char *s);

/* A left-to-right writer on one line, stopping at end. */
struct draw_pen {
	const struct view	*v;
	int			 y, x, end;
};

/* Writes s at the pen's place with attribute a, and moves the pen on. */
void	draw_pen_put(struct draw_pen *p, attr_t a, const char *s);
/* The line character acs on UTF-8 terminals, ascii on others. */
chtype	draw_line_ch(const struct view *v, chtype acs, char ascii);
/* Fills width columns of line y from x with spaces of attribute a. */
void	draw_fill_line(int y, int x, int width, attr_t a);

/* ------------------------------------------------------------------------ */
/* graph.c: the memory panel                                                 */
/* ------------------------------------------------------------------------ */

/* Draws the memory panel (title, RSS and heap graphs) in h rows, w columns. */
void	graph_draw_memory(struct view *v, int y, int x, int h, int w);

#endif /* PT_TUI_DRAW_H */
