/*
 * screen.c - the live view (`perftop attach PID`): connects, sets up the
 * terminal, runs the loop, and restores the terminal on every way out.
 *
 * The loop sleeps in poll() on three descriptors: the agent's socket (a
 * snapshot arrived), the terminal (a key) and a pipe the signal handlers
 * write to (SIGWINCH, SIGINT, SIGTERM, SIGHUP), so it neither spins nor
 * misses a signal that arrives just before it sleeps.  It redraws once per
 * wake-up, after taking in everything that was ready.
 *
 * Exit paths: q, a terminating signal, the terminal going away, and the
 * fatal path (screen_fatal), which calls endwin() before printing.  An
 * atexit() handler restores the terminal if anything else calls exit().
 */
#include "tui.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#define DRAIN_BUDGET_NS	(50 * 1000000ULL)	/* per batch of snapshots */
#define STATUS_MS		8000	/* how long a message stays */
#define RECHECK_MS		1000	/* is a disconnected target gone? */
#define EMPTY_READS_MAX		64	/* readable terminal, no keys: gone */
#define MALLOC_KEEP_BYTES	(32 << 20)	/* see attach_run */

static volatile sig_atomic_t	got_signal;	/* a terminating signal */
static volatile sig_atomic_t	got_winch;
static int			sig_pipe[2] = { -1, -1 };
static int			curses_up;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Terminal set-up and teardown                                              */
/* ------------------------------------------------------------------------ */

/* Gives the terminal back.  Safe to call twice and from atexit(). */
static void
screen_restore(void)
{
	if (!curses_up)
		return;
	curses_up = 0;
	curs_set(1);
	endwin();
}

/* Restores the terminal, prints one line and exits with status 1. */
static void __attribute__((noreturn, format(printf, 1, 2)))
screen_fatal(const char *fmt, ...)
{
	va_list ap;

	screen_restore();
	fputs("perftop: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Async-signal-safe: sets a flag and wakes the loop. */
static void
on_signal(int sig)
{
	int saved = errno;
	ssize_t n;

	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_signal = sig;
	if (sig_pipe[1] >= 0)
		n = write(sig_pipe[1], "", 1);	/* a full pipe is awake */
	(void)n;
	errno = saved;
}

/*
 * Installs the handlers before the terminal is set up: curses then leaves
 * SIGINT, SIGTERM and SIGWINCH to us (it only catches signals whose
 * handler is the default) and keeps SIGTSTP, which it handles well.
 */
static void
signals_install(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
	struct sigaction sa;
	size_t i;

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		screen_fatal("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Is TERM one of the old terminals without UTF-8 or colour? */
static int
term_is_plain(void)
{
	const char *t = getenv("TERM");

	return t == NULL || *t == '\0' || strncmp(t, "vt", 2) == 0 ||
	    strcmp(t, "dumb") == 0;
}

static void
screen_init(struct view *v)
{
	static int registered;
	const char *nc = getenv("NO_COLOR");
	SCREEN *scr;

	setlocale(LC_ALL, "");
	v->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0 &&
	    !term_is_plain();
	signals_install();
	if (!registered) {
		atexit(screen_restore);
		registered = 1;
	}
	if ((scr = newterm(NULL, stdout, stdin)) == NULL)
		screen_fatal("cannot use the terminal (TERM=%s)",
		    getenv("TERM") != NULL ? getenv("TERM") : "");
	set_term(scr);
	curses_up = 1;
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	v->colour = (nc == NULL || *nc == '\0') && has_colors() &&
	    start_color() == OK;
	if (v->colour)
		use_default_colors();
	draw_init(v);
}

/* Follows the terminal's new size (after SIGWINCH). */
static void
screen_resize(struct view *v)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	/* Repaint every cell: nothing of the old layout may stay. */
	clearok(curscr, TRUE);
	v->dirty = 1;
}

/* ------------------------------------------------------------------------ */
/* Status line, selection                                                    */
/* ------------------------------------------------------------------------ */

void
view_status(struct view *v, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->status, sizeof v->status, fmt, ap);
	va_end(ap);
	v->status_err = err;
	v->status_until = now_ns() + STATUS_MS * 1000000ULL;
	v->dirty = 1;
}

void
view_sync_selection(struct view *v)
{
	const struct model *m = &v->model;
	ssize_t i;

	if ((i = model_find_row(m, v->sel_name)) >= 0)
		v->sel = (size_t)i;
	else if (v->sel >= m->n_rows)
		v->sel = m->n_rows > 0 ? m->n_rows - 1 : 0;
	if (m->n_rows > 0)
		strlcpy(v->sel_name, m->rows[v->sel].op->name,
		    sizeof v->sel_name);
}

void
view_move_selection(struct view *v, long delta)
{
	const struct model *m = &v->model;
	long n = (long)m->n_rows, s = (long)v->sel + delta;

	if (n == 0)
		return;
	if (s < 0)
		s = 0;
	if (s >= n)
		s = n - 1;
	v->sel = (size_t)s;
	strlcpy(v->sel_name, m->rows[v->sel].op->name, sizeof v->sel_name);
	v->dirty = 1;
}

/* ------------------------------------------------------------------------ */
/* The connection                                                            */
/* ------------------------------------------------------------------------ */

/* The connection ended with rc: say why and keep the last data. */
static void
view_lost(struct view *v, int rc)
{
	pt__client_close(v->client);
	v->client = NULL;
	if (cli_process_gone(v->pid)) {
		v->conn = VIEW_EXITED;
		view_status(v, 1, "process %d exited: the last data stays "
		    "(w writes it, q quits)", (int)v->pid);
	} else {
		v->conn = VIEW_DISCONNECTED;
		view_status(v, 1, "disconnected: %s (w writes the last data, "
		    "q quits)", pt_strerror(rc));
	}
	v->dirty = 1;
}

void
view_send_reset(struct view *v)
{
	int rc;

	if (v->client == NULL) {
		view_status(v, 1, "not connected: cannot reset the target");
		return;
	}
	if ((rc = pt__client_reset(v->client)) != 0) {
		view_lost(v, rc);
		return;
	}
	/* The baseline belongs to the old epoch; drop it now. */
	if (model_clear_baseline(&v->model) != 0)
		screen_fatal("out of memory");
	view_sync_selection(v);
	view_status(v, 0, "resetting the statistics of process %d...",
	    (int)v->pid);
}

void
view_resubscribe(struct view *v, int interval_ms)
{
	char b[32];
	int rc;

	if (v->client == NULL) {
		view_status(v, 1, "not connected");
		return;
	}
	if ((rc = pt__client_subscribe(v->client, (uint32_t)interval_ms)) !=
	    0) {
		view_lost(v, rc);
		return;
	}
	v->interval_ms = interval_ms;
	view_status(v, 0, "refresh every %s",
	    fmt_interval(b, sizeof b, interval_ms));
}

/*
 * Takes in what the agent sent, for at most DRAIN_BUDGET_NS: a view that
 * fell behind (a slow terminal, a huge target) still gets back to its keys
 * and screen between batches.  Returns 1 if it stopped with more to read.
 */
static int
client_drain(struct view *v)
{
	struct pt__event ev;
	uint64_t t0 = now_ns();
	int rc;

	while (v->client != NULL) {
		if (now_ns() - t0 > DRAIN_BUDGET_NS)
			return 1;
		if ((rc = pt__client_next(v->client, 0, &ev)) == 0)
			break;
		if (rc < 0) {
			view_lost(v, rc);
			break;
		}
		switch (ev.type) {
		case PT__EV_SNAPSHOT:
			if (ev.snap->process[0] != '\0')
				strlcpy(v->process, ev.snap->process,
				    sizeof v->process);
			if (model_ingest(&v->model, ev.snap) != 0)
				screen_fatal("out of memory");
			if (!v->model.paused) {
				view_sync_selection(v);
				v->dirty = 1;
			}
			break;
		case PT__EV_RESET_OK:
			if (model_clear_baseline(&v->model) != 0)
				screen_fatal("out of memory");
			view_sync_selection(v);
			view_status(v, 0, "statistics of process %d reset "
			    "(epoch %llu)", (int)v->pid,
			    (unsigned long long)ev.epoch);
			/* Show the new epoch now, not at the next tick. */
			if ((rc = pt__client_request(v->client)) != 0)
				view_lost(v, rc);
			break;
		case PT__EV_ERROR:
			view_status(v, 1, "agent: %s",
			    ev.msg[0] != '\0' ? ev.msg : pt_strerror(ev.code));
			break;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                  */
/* ------------------------------------------------------------------------ */

/* Reads every key that is ready; 0 if the terminal gave none. */
static int
keys_drain(struct view *v)
{
	wint_t ch;
	int r, n = 0;

	while (!v->quit && (r = get_wch(&ch)) != ERR) {
		keys_handle(v, ch, r == KEY_CODE_YES);
		n++;
	}
	if (n > 0)
		v->dirty = 1;
	return n;
}

static int
poll_timeout(const struct view *v)
{
	uint64_t now = now_ns();
	int t = -1;

	if (v->status[0] != '\0' && v->status_until > 0)
		t = v->status_until > now ?
		    (int)((v->status_until - now) / 1000000ULL) + 1 : 0;
	if (v->conn == VIEW_DISCONNECTED && (t < 0 || t > RECHECK_MS))
		t = RECHECK_MS;
	return t;
}

static void
run_loop(struct view *v)
{
	struct pollfd fds[3];
	int n, empty_reads = 0, backlog = 0;
	char drain[64];

	v->dirty = 1;
	while (!v->quit) {
		if (got_signal) {
			v->exit_status = got_signal == SIGINT ? 0 :
			    128 + got_signal;
			break;
		}
		if (got_winch) {
			got_winch = 0;
			screen_resize(v);
		}
		if (v->status[0] != '\0' && v->status_until > 0 &&
		    now_ns() >= v->status_until) {
			v->status[0] = '\0';
			v->dirty = 1;
		}
		if (v->conn == VIEW_DISCONNECTED && cli_process_gone(v->pid)) {
			v->conn = VIEW_EXITED;
			v->dirty = 1;
		}
		if (v->dirty) {
			panels_draw(v);
			refresh();
			v->dirty = 0;
		}

		fds[0].fd = sig_pipe[0];
		fds[1].fd = STDIN_FILENO;
		fds[2].fd = pt__client_fd(v->client);	/* -1: ignored */
		fds[0].events = fds[1].events = fds[2].events = POLLIN;
		fds[0].revents = fds[1].revents = fds[2].revents = 0;
		/* With frames left over from the last batch, only a look. */
		n = poll(fds, 3, backlog ? 0 : poll_timeout(v));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			screen_fatal("poll: %s", strerror(errno));
		}
		if (fds[0].revents & POLLIN)
			while (read(sig_pipe[0], drain, sizeof drain) > 0)
				;
		if (fds[2].revents != 0 || backlog)
			backlog = client_drain(v);
		if (fds[1].revents & (POLLERR | POLLNVAL)) {
			v->exit_status = 1;	/* the terminal is gone */
			break;
		}
		if (fds[1].revents & (POLLIN | POLLHUP)) {
			if (keys_drain(v) > 0)
				empty_reads = 0;
			else if (++empty_reads >= EMPTY_READS_MAX ||
			    (fds[1].revents & POLLHUP)) {
				v->exit_status = 1;
				break;
			}
		}
	}
}

int
attach_run(pid_t pid, const struct attach_opts *o)
{
	struct pt__client *c = NULL;
	struct view *v;
	char err[256] = "";
	int rc, status;

	/* Connect first: a bad PID must not touch the terminal. */
	if ((rc = pt__client_open(pid, CONNECT_TIMEOUT_MS, &c, err,
	    sizeof err)) != 0) {
		fprintf(stderr, "perftop: %s\n",
		    err[0] != '\0' ? err : pt_strerror(rc));
		return 1;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		pt__client_close(c);
		fprintf(stderr, "perftop: attach needs a terminal on standard "
		    "input and output (try perftop dump %d)\n", (int)pid);
		return 1;
	}
	if ((rc = pt__client_subscribe(c, (uint32_t)o->interval_ms)) != 0) {
		pt__client_close(c);
		fprintf(stderr, "perftop: process %d: %s\n", (int)pid,
		    pt_strerror(rc));
		return 1;
	}
	if ((v = calloc(1, sizeof *v)) == NULL) {
		pt__client_close(c);
		fprintf(stderr, "perftop: out of memory\n");
		return 1;
	}
	/*
	 * Every refresh frees a snapshot and decodes the next, of the same
	 * size (about a megabyte with a few thousand operations).  By default
	 * glibc gives such memory back to the kernel at once and takes it
	 * again, zeroed, a moment later: at 10 refreshes a second that page
	 * clearing was a fifth of the view's CPU time.  Keep freed memory for
	 * reuse instead (up to MALLOC_KEEP_BYTES at the top of the heap).
	 */
	mallopt(M_MMAP_THRESHOLD, MALLOC_KEEP_BYTES / 8);
	mallopt(M_TRIM_THRESHOLD, MALLOC_KEEP_BYTES);

	v->pid = pid;
	v->opts = o;
	v->client = c;
	v->conn = VIEW_LIVE;
	v->interval_ms = o->interval_ms;
	strlcpy(v->process, pt__client_welcome(c)->process, sizeof v->process);
	model_init(&v->model, o->window_s);

	screen_init(v);
	run_loop(v);
	screen_restore();

	status = v->exit_status;
	pt__client_close(v->client);
	model_done(&v->model);
	free(v);
	return status;
}
