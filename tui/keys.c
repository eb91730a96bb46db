/*
 * keys.c - what each key does in the live view: one table maps keys to
 * handlers and gives the help overlay its lines, so the two cannot
 * disagree.  Also the filter editor ('/': type, Enter applies, Esc clears).
 */
#include "tui.h"

#include <curses.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#define CTRL(c)		((c) & 0x1f)
#define KEY_ESC		27

/* Refresh intervals + and - step through, in milliseconds. */
static const int intervals_ms[] = {
	50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000,
};

/* A model call failed: only memory can run out there. */
static void
model_check(struct view *v, int rc)
{
	if (rc != 0)
		view_status(v, 1, "out of memory: %s", pt_strerror(rc));
	view_sync_selection(v);
	v->dirty = 1;
}

/* ------------------------------------------------------------------------ */
/* Handlers                                                                  */
/* ------------------------------------------------------------------------ */

static void
act_quit(struct view *v, int key)
{
	(void)key;
	v->quit = 1;
	v->exit_status = 0;
}

static void
act_help(struct view *v, int key)
{
	(void)key;
	v->help = 1;
}

static void
act_sort_step(struct view *v, int key)
{
	model_step_column(&v->model, key == '<' ? -1 : 1);
	view_sync_selection(v);
}

static void
act_sort_column(struct view *v, int key)
{
	model_select_column(&v->model, key - '1');
	view_sync_selection(v);
}

static void
act_invert(struct view *v, int key)
{
	(void)key;
	model_invert(&v->model);
	view_sync_selection(v);
}

static void
act_reset_target(struct view *v, int key)
{
	(void)key;
	if (v->opts->readonly) {
		view_status(v, 1, "R refused: this view is read-only "
		    "(--readonly); r resets only this view");
		return;
	}
	view_send_reset(v);
}

static void
act_reset_view(struct view *v, int key)
{
	(void)key;
	if (model_source(&v->model) == NULL) {
		view_status(v, 1, "nothing to reset yet");
		return;
	}
	model_check(v, model_view_reset(&v->model));
	view_status(v, 0, "view reset: counting from now in this view only "
	    "(the target and other viewers are untouched)");
}

static void
act_window(struct view *v, int key)
{
	char b[32];

	(void)key;
	model_check(v, model_set_window(&v->model,
	    v->model.window == MODEL_WINDOW_LAST_N ?
	    MODEL_WINDOW_SINCE_RESET : MODEL_WINDOW_LAST_N));
	view_status(v, 0, "window: %s",
	    model_window_label(&v->model, b, sizeof b));
}

static void
act_write(struct view *v, int key)
{
	struct export_view ev;
	pt_snapshot snap;
	char path[4096], err[512], window[32];
	int rc;

	(void)key;
	if ((rc = model_export(&v->model, &snap, &ev, window,
	    sizeof window)) != 0) {
		view_status(v, 1, "nothing to write: %s", rc == PT_ENOENT ?
		    "no snapshot received yet" : pt_strerror(rc));
		return;
	}
	err[0] = '\0';
	if (export_snapshot_file(v->opts->output_dir, &snap, &ev, path,
	    sizeof path, err, sizeof err) == 0)
		view_status(v, 0, "wrote %s", path);
	else
		view_status(v, 1, "write failed: %s",
		    err[0] != '\0' ? err : "unknown error");
	model_export_done(&snap);
}

static void
act_pause(struct view *v, int key)
{
	(void)key;
	model_check(v, model_set_paused(&v->model, !v->model.paused));
	view_status(v, 0, v->model.paused ?
	    "paused: snapshots are still collected (p resumes)" :
	    "resumed");
}

static void
act_filter(struct view *v, int key)
{
	(void)key;
	v->editing = 1;
	strlcpy(v->edit, v->model.filter, sizeof v->edit);
}

static void
act_escape(struct view *v, int key)
{
	(void)key;
	if (v->model.filter[0] == '\0')
		return;
	model_check(v, model_set_filter(&v->model, ""));
	view_status(v, 0, "filter cleared");
}

static void
act_interval(struct view *v, int key)
{
	size_t i, n = sizeof intervals_ms / sizeof intervals_ms[0];
	int ms = v->interval_ms;

	if (key == '+') {
		for (i = 0; i < n && intervals_ms[i] <= ms; i++)
			;
		if (i < n)
			ms = intervals_ms[i];
	} else {
		for (i = n; i-- > 0 && intervals_ms[i] >= ms;)
			;
		if (i < n)
			ms = intervals_ms[i];
	}
	if (ms == v->interval_ms) {
		view_status(v, 0, "refresh interval already at its %s",
		    key == '+' ? "longest" : "shortest");
		return;
	}
	view_resubscribe(v, ms);
}

static void
act_move(struct view *v, int key)
{
	long page = v->page > 1 ? v->page - 1 : 1;

	switch (key) {
	case KEYS_CODE(KEY_UP):		view_move_selection(v, -1); break;
	case KEYS_CODE(KEY_DOWN):	view_move_selection(v, 1); break;
	case KEYS_CODE(KEY_PPAGE):	view_move_selection(v, -page); break;
	case KEYS_CODE(KEY_NPAGE):	view_move_selection(v, page); break;
	case KEYS_CODE(KEY_HOME):	view_move_selection(v, LONG_MIN / 2);
					break;
	case KEYS_CODE(KEY_END):	view_move_selection(v, LONG_MAX / 2);
					break;
	}
}

static void
act_redraw(struct view *v, int key)
{
	(void)key;
	clearok(curscr, TRUE);
	v->dirty = 1;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */
/* ------------------------------------------------------------------------ */

const struct key_action key_actions[] = {
	{ "< >", "previous / next sort column", act_sort_step,
	    { '<', '>' } },
	{ "1-9", "sort by NAME COUNT RATE/s AVG MIN MAX P50 P99 TOTAL",
	    act_sort_column,
	    { '1', '2', '3', '4', '5', '6', '7', '8', '9' } },
	{ "I", "invert the sort order", act_invert, { 'I' } },
	{ "R", "reset the target's statistics (every viewer sees it)",
	    act_reset_target, { 'R' } },
	{ "r", "reset this view only (the target is untouched)",
	    act_reset_view, { 'r' } },
	{ "t", "window: since reset / last N seconds", act_window, { 't' } },
	{ "w", "write the shown snapshot to a JSON file", act_write,
	    { 'w' } },
	{ "p Space", "pause / resume the display (collection goes on)",
	    act_pause, { 'p', ' ' } },
	{ "/", "filter by name: Enter applies, Esc clears", act_filter,
	    { '/' } },
	{ "Esc", "clear the filter", act_escape, { KEY_ESC } },
	{ "+ -", "refresh interval longer / shorter", act_interval,
	    { '+', '-' } },
	{ "arrows Pg Home End", "move the selection (PgUp PgDn Home End)", act_move,
	    { KEYS_CODE(KEY_UP), KEYS_CODE(KEY_DOWN), KEYS_CODE(KEY_PPAGE),
	      KEYS_CODE(KEY_NPAGE), KEYS_CODE(KEY_HOME), KEYS_CODE(KEY_END) } },
	{ "Ctrl-L", "redraw the screen", act_redraw, { CTRL('l') } },
	{ "? h", "this help", act_help, { '?', 'h' } },
	{ "q", "quit (also Ctrl-C)", act_quit, { 'q' } },
};

const size_t key_actions_n = sizeof key_actions / sizeof key_actions[0];

/* ------------------------------------------------------------------------ */
/* The filter editor                                                         */
/* ------------------------------------------------------------------------ */

/* Removes the last UTF-8 character of s. */
static void
utf8_backspace(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && ((unsigned char)s[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0)
		n--;
	s[n] = '\0';
}

static void
edit_key(struct view *v, wint_t ch, int keycode)
{
	char mb[MB_LEN_MAX + 1];
	mbstate_t st;
	size_t n;

	if ((!keycode && (ch == '\n' || ch == '\r')) ||
	    (keycode && ch == KEY_ENTER)) {
		v->editing = 0;
		model_check(v, model_set_filter(&v->model, v->edit));
		return;
	}
	if (!keycode && ch == KEY_ESC) {
		v->editing = 0;
		v->edit[0] = '\0';
		model_check(v, model_set_filter(&v->model, ""));
		return;
	}
	if ((keycode && ch == KEY_BACKSPACE) ||
	    (!keycode && (ch == 127 || ch == CTRL('h')))) {
		utf8_backspace(v->edit);
	} else if (!keycode && ch == CTRL('u')) {
		v->edit[0] = '\0';
	} else if (!keycode && ch >= ' ' && ch != 127) {
		memset(&st, 0, sizeof st);
		n = wcrtomb(mb, (wchar_t)ch, &st);
		if (n == (size_t)-1 || strlen(v->edit) + n >= sizeof v->edit)
			return;
		mb[n] = '\0';
		strlcat(v->edit, mb, sizeof v->edit);
	} else {
		return;
	}
	/* Filter while typing; Enter keeps it, Esc drops it. */
	model_check(v, model_set_filter(&v->model, v->edit));
}

void
keys_handle(struct view *v, wint_t ch, int keycode)
{
	size_t i, k;
	int key;

	v->dirty = 1;
	if (keycode && ch == KEY_RESIZE)
		return;		/* screen.c follows the size */
	if (v->editing) {
		edit_key(v, ch, keycode);
		return;
	}
	if (v->help) {
		v->help = 0;	/* any key closes the help */
		return;
	}
	key = keycode ? KEYS_CODE(ch) : (int)ch;
	if (key == 0)
		return;
	/* A new key replaces an old message. */
	if (v->status[0] != '\0' && !v->status_err)
		v->status[0] = '\0';
	for (i = 0; i < key_actions_n; i++)
		for (k = 0; k < sizeof key_actions[i].codes /
		    sizeof key_actions[i].codes[0] &&
		    key_actions[i].codes[k] != 0; k++)
			if (key_actions[i].codes[k] == key) {
				key_actions[i].run(v, key);
				return;
			}
}
