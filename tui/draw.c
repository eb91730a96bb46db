/*
 * draw.c - what the panels of the live view draw with: the roles of text
 * and their colours or attributes, text that fits its cell in display
 * columns, and lines.
 *
 * Colours are used when the terminal has them and NO_COLOR is not set;
 * otherwise attributes only (the selected row is A_REVERSE).  Text goes
 * through draw_text(), which counts display columns of UTF-8 text and never
 * writes past the width it is given.
 */
#include "draw.h"

#include <string.h>

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

/* The colour or attributes of text of a role (enum role). */
attr_t
draw_attr(const struct view *v, int role)
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
draw_init(struct view *v)
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
int
draw_text(const struct view *v, int y, int x, int width, int align,
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

void
draw_pen_put(struct draw_pen *p, attr_t a, const char *s)
{
	if (p->x < p->end)
		p->x += draw_text(p->v, p->y, p->x, p->end - p->x, ALIGN_LEFT,
		    0, a, s);
}

/*
 * Line drawing: the terminal's line characters in UTF-8 mode, plain ASCII
 * otherwise (an old terminal, or a multiplexer that ignores the vt100
 * alternate character set, must not show letters instead of lines).
 */
chtype
draw_line_ch(const struct view *v, chtype acs, char ascii)
{
	return v->utf8 ? acs : (chtype)ascii;
}

/* Fills a whole line with attribute a. */
void
draw_fill_line(int y, int x, int width, attr_t a)
{
	if (width <= 0)
		return;
	attrset(a);
	mvhline(y, x, ' ', width);
	attrset(A_NORMAL);
}
