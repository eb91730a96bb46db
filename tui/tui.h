/*
 * tui.h - internal declarations of the perftop program, a section per file.
 * Plain module_verb names; the program may exit (after restoring the
 * terminal), the library may not.
 */
#ifndef PT_TUI_H
#define PT_TUI_H

#include "ipc.h"

#include <stdio.h>
#include <sys/types.h>
#include <wchar.h>

#include <jansson.h>

/* ------------------------------------------------------------------------ */
/* perftop.c: main and the subcommands attach, list, dump, reset             */
/* record.c: the record subcommand                                           */
/* ------------------------------------------------------------------------ */

int	cmd_record(int argc, char **argv);

/* ------------------------------------------------------------------------ */
/* cli.c: messages, exits, option parsing and connecting, for subcommands    */
/* ------------------------------------------------------------------------ */

#define PROG			"perftop"
#define EXIT_USAGE		2

#define CONNECT_TIMEOUT_MS	3000	/* connect and handshake */
#define ANSWER_TIMEOUT_MS	5000	/* a snapshot or RESET_OK */
#define LIST_TIMEOUT_MS		500	/* per socket in `list` */

#define INTERVAL_MIN_S		((double)PT__INTERVAL_MIN_MS / 1000)
#define INTERVAL_MAX_S		((double)PT__INTERVAL_MAX_MS / 1000)
#define DURATION_MAX_S		(365.0 * 86400)	/* record --duration */
#define WINDOW_MAX_S		86400		/* attach --window */

struct option;

/* Set while a progress line ("\rrecorded N ...") is left open on stderr. */
extern int cli_stderr_midline;
/* Ends an open progress line, so that the next message has its own. */
void	cli_end_progress(void);

/* One line "perftop: ..." on stderr (control characters made spaces). */
void	cli_note(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* The same, then exit(1). */
void	cli_die(const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));
/* One line about bad usage, pointing at --help, then exit(2). */
void	cli_usage_error(const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 1, 2)));
/* Prints the usage on stdout and exits (1 if it could not be written). */
void	cli_usage_exit(void) __attribute__((noreturn));
/* Replaces control characters in s with spaces (one line stays one). */
void	cli_one_line(char *s);
/* A short, printable copy of s in buf (len bytes), for messages. */
const char *cli_shown(const char *s, char *buf, size_t len);

/*
 * Parses a PID strictly (libbsd strtonum, 1 .. INT_MAX): "12abc", "-1", "0"
 * and overflow are refused.  Returns the pid, or 0 with err filled.
 */
pid_t	cli_parse_pid(const char *s, char *err, size_t errlen);
/* The same; a usage error (exit 2) when s is not a PID. */
pid_t	cli_parse_pid_or_die(const char *s);
/* Seconds within [min, max] (digits, fraction, exponent); else exit 2. */
double	cli_parse_seconds(const char *opt, const char *s, double min,
	    double max);
/* A whole number within [min, max], digits only; else exit 2. */
long long cli_parse_whole(const char *opt, const char *s, long long min,
	    long long max);

/* Called for each option a subcommand parses. */
typedef void (*cli_option_fn)(int c, const char *arg, void *ctx);
/*
 * Parses the options of subcommand cmd with getopt_long: argv[0] is not
 * looked at, options may come before and after the positional arguments,
 * "--" ends the options, and an argument such as "-1" is positional (a bad
 * PID, reported as such).  Up to maxpos positional arguments are stored in
 * pos (returns how many); more, or an unknown option, exit 2.  --help
 * prints the usage and exits.  Once per process (getopt keeps state).
 */
int	cli_parse_options(const char *cmd, int argc, char **argv,
	    const char *shortopts, const struct option *longopts,
	    cli_option_fn fn, void *ctx, char **pos, int maxpos);
/* The PID among the positional arguments; exit 2 if missing or bad. */
pid_t	cli_the_pid(const char *cmd, int npos, char **pos);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t cli_now_ms(void);
/* Connects to pid's agent (with req, asking for a snapshot in the same
 * round trip) or dies with one clear line.  The caller closes it. */
struct pt__client *cli_connect_req(pid_t pid, int req);
struct pt__client *cli_connect(pid_t pid);
/* Is pid gone: no such process, or a zombie nobody has reaped yet? */
int	cli_process_gone(pid_t pid);
/* After the agent closed the connection: did pid exit (waits up to 1 s)? */
int	cli_target_exited(pid_t pid);
/* Dies with one line for a failed pt__client_* call or stream (rc). */
void	cli_die_stream(pid_t pid, int rc) __attribute__((noreturn));
/* Dies with the ERROR message the agent sent. */
void	cli_die_agent_error(pid_t pid, const struct pt__event *ev)
	    __attribute__((noreturn));
/*
 * Waits up to ANSWER_TIMEOUT_MS for an event of type want into ev
 * (snapshots not wanted are freed); dies on anything else.
 */
void	cli_wait_event(struct pt__client *c, pid_t pid, int want,
	    struct pt__event *ev);
/* Flushes stdout; dies on a write error (EPIPE kills like SIGPIPE). */
void	cli_finish_stdout(void);

/* ------------------------------------------------------------------------ */
/* export.c: text, JSON (jansson) and Prometheus renderers; atomic files     */
/* ------------------------------------------------------------------------ */

/* What the view showed, written into snapshot files as "view". */
struct export_view {
	const char	*window;	/* "since_reset" or "last_Ns" */
	const char	*sort;		/* column name, e.g. "TOTAL" */
	int		 descending;
	const char	*filter;	/* NULL or "" for none */
	int		 view_reset;	/* a view-only baseline is applied */
};

/*
 * The snapshot object of SPEC section 6 (format, version, pid, process,
 * time, uptime_s, reset_epoch, memory, operations, counters), with
 * since_reset_s, plus "view" when v is not NULL.  Names that are not valid
 * UTF-8 get '?' for the bad bytes.  New reference, or NULL when out of
 * memory.
 */
json_t	*export_json(const pt_snapshot *s, const struct export_view *v);
/* The same object as one compact line without a newline; free() it. */
char	*export_json_line(const pt_snapshot *s, const struct export_view *v);
/*
 * The same object indented by two spaces, with a trailing newline (what
 * `dump --format json` prints and snapshot files hold); free() it.  NULL
 * when out of memory.
 */
char	*export_json_pretty(const pt_snapshot *s, const struct export_view *v);
/*
 * Prometheus text format 0.0.4 (passes promtool check metrics): HELP/TYPE,
 * seconds and bytes, operations as a summary, counters as the gauge
 * perftop_value and, when not negative, perftop_events_total.  Numbers are
 * written in the C locale.  Returns 0, PT_EINVAL or PT_ESYS (write error).
 */
int	 export_prometheus(FILE *f, const pt_snapshot *s);
/* The human-readable summary (pt_summary_write); 0 or a PT_E* code. */
int	 export_text(FILE *f, const pt_snapshot *s);

/*
 * Writes len bytes to path atomically: a temporary file (".NAME.XXXXXX")
 * in the same directory, mode 0644, fsync, rename, fsync of the directory.
 * Returns 0 or -1 with err saying why in one line, "cannot write PATH:
 * REASON" (the old file, if any, is untouched then, and the temporary file
 * removed; only a failed sync of the directory comes after the rename).
 */
int	 export_write_atomic(const char *path, const void *data, size_t len,
	    char *err, size_t errlen);

/*
 * Writes s (and v) as perftop-NAME-PID-YYYYmmdd-HHMMSS.json (local time of
 * the snapshot; "-2", "-3"... added when that name exists) in dir (NULL:
 * the current directory) atomically, pretty-printed; the path written goes
 * to path.  Returns 0 or -1 with err filled.
 */
int	 export_snapshot_file(const char *dir, const pt_snapshot *s,
	    const struct export_view *v, char *path, size_t pathlen,
	    char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* parse.c, reader.c: snapshot files and recordings read back (jansson)      */
/* ------------------------------------------------------------------------ */

/* The longest line of a recording, and the largest snapshot file. */
#define READER_LINE_MAX		((size_t)64 << 20)	/* 64 MiB */
/*
 * The most jansson may allocate while it parses one of them.  A snapshot
 * at the library's limits (65536 operations and 65536 counters, names of
 * 127 bytes) needs 132 MiB; JSON made to blow up ("[[],[],...]") takes 35
 * times its length.  parse.c installs the allocator that keeps count
 * (json_set_alloc_funcs: malloc and free underneath, so it changes nothing
 * else).
 */
#define READER_JSON_MAX		((size_t)256 << 20)	/* 256 MiB */

/* Limits of the reader; a field left 0 takes the default above. */
struct reader_limits {
	size_t		 line_max;	/* READER_LINE_MAX */
	size_t		 json_max;	/* READER_JSON_MAX */
};

/*
 * parse.c: parses len bytes of text as one snapshot object (format
 * "perftop-snapshot", version 1, as export_json() makes it) and checks
 * every member: types, ranges (no negative count, min <= max when count >
 * 0, names as the library accepts them, no name twice), no unknown member
 * ("view" is allowed and ignored).  On success stores a new snapshot in
 * *out (pt_snapshot_free() frees it; ids 1..n in file order, no buckets,
 * tick_ns 1) and returns 0.  Otherwise returns -1 with err saying what is
 * wrong and where in the object: "operations[3].count: not an unsigned
 * integer (-1)"; for a JSON syntax error, *errline (when not NULL) gets
 * the line of the text.  lim may be NULL (the defaults).
 */
int	 reader_parse(const char *text, size_t len,
	    const struct reader_limits *lim, pt_snapshot **out,
	    size_t *errline, char *err, size_t errlen);

/*
 * parse.c: 1 when a and b hold the same data as far as the JSON carries it
 * (header, memory, names, ids and figures of every operation and counter);
 * mean_ns may differ beyond the 15 significant digits export_json()
 * writes.  0 otherwise.
 */
int	 reader_same(const pt_snapshot *a, const pt_snapshot *b);

/* What reader_each() found. */
struct reader_info {
	int		 document;	/* a snapshot file (else a recording) */
	uintmax_t	 lines;		/* complete lines read */
	uintmax_t	 line;		/* the line of the last snapshot */
	uintmax_t	 cut;		/* the last line, without a newline, was
					   skipped: its number (else 0) */
};

/* Takes each snapshot read (and must free it); non-zero stops. */
typedef int (*reader_fn)(pt_snapshot *s, uintmax_t line, void *arg);

/*
 * reader.c: reads f, which name names in messages: a snapshot file, whose
 * first line is "{" (an indented JSON object, as `dump --format json` and
 * `w` write it), or a recording (JSON Lines, as `record` writes it: one
 * compact snapshot object a line).  Gives fn every snapshot in file order,
 * with its line number (1 for a snapshot file), stopping after line
 * stop_at when not 0.  A recording's last line without a newline (a
 * recorder killed mid-line) is skipped and noted in info->cut.  A line (a
 * snapshot file) longer than lim->line_max bytes, or whose JSON needs more
 * than lim->json_max bytes, is an error, so memory stays bounded however
 * long the file (lim may be NULL: the defaults).  Returns 0, what fn
 * returned when it was not 0, or -1 with err in one line, "NAME:LINE:
 * what" ("NAME: what" when no line applies): an empty file, an empty line,
 * invalid JSON, a bad snapshot (see reader_parse), a read error.
 */
int	 reader_each(FILE *f, const char *name,
	    const struct reader_limits *lim, uintmax_t stop_at, reader_fn fn,
	    void *arg, struct reader_info *info, char *err, size_t errlen);

/*
 * reader.c: one snapshot of f: that of a snapshot file, or line `line` of
 * a recording (0: its last complete line).  Every line up to it is
 * checked.  Returns 0 with *out, or -1 with err in one line (also: no such
 * line, the line is the cut one, a recording with no complete line, a
 * line asked of a snapshot file).
 */
int	 reader_load(FILE *f, const char *name, uintmax_t line,
	    const struct reader_limits *lim, pt_snapshot **out,
	    struct reader_info *info, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* format.c: human units for the live view (no curses)                       */
/* ------------------------------------------------------------------------ */

/*
 * Each writes a NUL-terminated string of at most len - 1 bytes into buf and
 * returns buf.  Durations: "0", "123ns", "4.56µs" (utf8) or "4.56us",
 * "78.9ms", "1.23s", "2h46m"; at most 6 columns below 100 hours.
 */
char	*fmt_duration(char *buf, size_t len, double ns, int utf8);
/* Counts in at most width columns: 123456, 1235K, 12M (humanize_number). */
char	*fmt_count(char *buf, size_t len, int64_t n, int width);
/* Rates: "0", "2.5", then like fmt_count. */
char	*fmt_rate(char *buf, size_t len, double r, int width);
/* Bytes in powers of 1024: "512B", "8.00K", "45.2M", "512M". */
char	*fmt_bytes(char *buf, size_t len, uint64_t b);
/* "12.3%", "1234%". */
char	*fmt_pct(char *buf, size_t len, double pct);
/* "42s", "5m07s", "3h04m", "2d05h". */
char	*fmt_uptime(char *buf, size_t len, uint64_t ns);
/* "100ms", "1.5s", "2s". */
char	*fmt_interval(char *buf, size_t len, int ms);

/* ------------------------------------------------------------------------ */
/* model.c: what the view shows, from the snapshot stream (no curses)        */
/* ------------------------------------------------------------------------ */

/* Columns of the operations table; keys 1-9 pick NAME .. TOTAL. */
enum model_col {
	MODEL_COL_NAME,
	MODEL_COL_COUNT,
	MODEL_COL_RATE,
	MODEL_COL_AVG,
	MODEL_COL_MIN,
	MODEL_COL_MAX,
	MODEL_COL_P50,
	MODEL_COL_P99,
	MODEL_COL_TOTAL,
	MODEL_COL_PCT,
	MODEL_COL_N
};

enum model_window {
	MODEL_WINDOW_SINCE_RESET,	/* everything since the target's reset */
	MODEL_WINDOW_LAST_N,		/* the last window_ns */
};

/* Where the shown statistics start. */
enum model_base {
	MODEL_BASE_RESET,		/* the target's last reset */
	MODEL_BASE_WINDOW,		/* the start of the "last N s" window */
	MODEL_BASE_VIEW,		/* the view baseline (r) */
};

/* One row of the operations table; op points into model.shown. */
struct model_row {
	const pt_op_stats	*op;
	double			 rate;	/* events per second, newest interval */
	double			 pct;	/* total / span, in percent */
	double			 key;	/* the sort column's value (model.c) */
};

/* One row of the counters table. */
struct model_crow {
	const pt_counter_stats	*c;
	double			 rate;	/* change per second */
};

/* A memory sample: the highest readings of one MODEL_MEM_STEP_NS step. */
struct model_mem {
	uint64_t	t_ns;		/* the target's uptime */
	uint64_t	rss;
	uint64_t	heap;
};

#define MODEL_HIST_MAX		64	/* snapshots kept for windows */
#define MODEL_HIST_STEPS	20	/* history spacing: window / this */
#define MODEL_MEM_MAX		600	/* memory samples kept */
#define MODEL_MEM_STEP_NS	1000000000ULL	/* one sample per second */

struct model_snap;			/* a reference-counted snapshot */

/*
 * The model.  Settings may be read directly; change them through the
 * functions below, which keep the rows up to date.  While paused, incoming
 * snapshots go to the history and the memory samples but the shown
 * snapshot, rates and rows stay as they were.
 */
struct model {
	/* Settings. */
	int			 sort_col;	/* enum model_col */
	int			 descending;
	char			 filter[PT_NAME_MAX + 1];	/* substring */
	int			 window;	/* enum model_window */
	uint64_t		 window_ns;
	int			 paused;

	/* Input: the newest two snapshots, the history, the baseline. */
	struct model_snap	*latest, *prev;
	struct model_snap	*hist[MODEL_HIST_MAX];	/* oldest first */
	size_t			 n_hist;
	struct model_snap	*baseline;	/* r: view-only reset */
	uint64_t		 n_received;

	/* What is shown: src (and the one before it, for rates). */
	struct model_snap	*src, *src_prev;
	pt_snapshot		*shown;		/* src, or a diff (owned) */
	int			 shown_owned;
	int			 view_base;	/* enum model_base */
	uint64_t		 span_ns;	/* wall time shown covers */
	double			*op_rate;	/* by index of src->ops */
	size_t			 op_rate_cap;
	double			*ctr_rate;
	size_t			 ctr_rate_cap;
	struct model_row	*rows;		/* filtered and sorted */
	size_t			 n_rows, rows_cap;
	struct model_crow	*crows;		/* filtered, by name */
	size_t			 n_crows, crows_cap;

	/* Memory samples, a ring, oldest at mem_head. */
	struct model_mem	 mem[MODEL_MEM_MAX];
	size_t			 mem_head, mem_n;
	uint64_t		 mem_shown_t;	/* newest sample shown */
};

/* Column title ("RATE/s") and default direction (1: descending). */
const char *model_col_name(int col);
int	model_col_default_desc(int col);

/* Sorted by TOTAL, descending, since reset; window_s <= 0 means 10. */
void	model_init(struct model *m, int window_s);
void	model_done(struct model *m);

/*
 * Takes ownership of s (also on failure) and, unless paused, shows it.
 * A new reset epoch clears the history and the view baseline.  Returns 0,
 * PT_EINVAL or PT_ENOMEM.
 */
int	model_ingest(struct model *m, pt_snapshot *s);
/* Recomputes what is shown from the current source; 0 or PT_ENOMEM. */
int	model_refresh(struct model *m);

/* Sorting: by column and direction; a new column takes its default
 * direction; step moves to the previous/next column (wrapping). */
void	model_set_sort(struct model *m, int col, int descending);
void	model_select_column(struct model *m, int col);
void	model_step_column(struct model *m, int delta);
void	model_invert(struct model *m);
void	model_sort(struct model *m);

/* Case-insensitive substring filter on names ("" or NULL: none). */
int	model_set_filter(struct model *m, const char *text);
int	model_name_matches(const struct model *m, const char *name);

/* Unpausing catches up with the newest snapshot. */
int	model_set_paused(struct model *m, int paused);
int	model_set_window(struct model *m, int window);
/* r: what is shown now becomes the zero of this view only. */
int	model_view_reset(struct model *m);
int	model_clear_baseline(struct model *m);
int	model_has_baseline(const struct model *m);

const pt_snapshot *model_latest(const struct model *m);
const pt_snapshot *model_source(const struct model *m);
/* Index of the row of operation name, or -1. */
ssize_t	model_find_row(const struct model *m, const char *name);
/* "since reset" or "last 10s". */
const char *model_window_label(const struct model *m, char *buf, size_t len);
/* Memory sample i (0: oldest) or NULL. */
const struct model_mem *model_mem_at(const struct model *m, size_t i);

/*
 * Fills *out with a shallow copy of what is shown (rows passing the filter,
 * since_reset_ns = the span shown) and *v with the view settings (window
 * text goes to window[windowlen]).  Release with model_export_done();
 * valid until the model changes.  Returns 0, PT_ENOENT (nothing shown yet)
 * or PT_ENOMEM.
 */
int	model_export(const struct model *m, pt_snapshot *out,
	    struct export_view *v, char *window, size_t windowlen);
void	model_export_done(pt_snapshot *out);

/* ------------------------------------------------------------------------ */
/* screen.c: the live view                                                   */
/* ------------------------------------------------------------------------ */

struct attach_opts {
	int		 interval_ms;	/* refresh interval, default 1000 */
	int		 readonly;	/* refuse R */
	const char	*output_dir;	/* where w writes; NULL: cwd */
	int		 window_s;	/* the "last N seconds" window, default 10 */
};

/*
 * Runs the full-screen view of pid until the user quits.  Connects before
 * touching the terminal, so a bad PID prints one line and leaves the
 * terminal alone.  Returns the process exit status.
 */
int	attach_run(pid_t pid, const struct attach_opts *o);

/* The connection, as the header shows it ("paused" is model.paused). */
enum view_conn {
	VIEW_LIVE,		/* connected, snapshots arrive */
	VIEW_EXITED,		/* the target is gone (ESRCH or a zombie) */
	VIEW_DISCONNECTED,	/* the socket closed or spoke nonsense */
};

/* The state of the live view, shared by screen.c, panels.c and keys.c. */
struct view {
	pid_t			 pid;
	const struct attach_opts *opts;
	struct pt__client	*client;	/* NULL once disconnected */
	int			 conn;		/* enum view_conn */
	char			 process[64];
	int			 interval_ms;
	struct model		 model;

	/* The terminal. */
	int			 colour;	/* colours in use */
	int			 utf8;		/* UTF-8 locale and terminal */

	/* The operations table: selection and scrolling. */
	size_t			 sel;		/* index into model.rows */
	size_t			 top;		/* first row on screen */
	char			 sel_name[PT_NAME_MAX + 1];
	int			 page;		/* table rows on screen */

	/* Modes. */
	int			 help;		/* the help overlay is up */
	int			 editing;	/* typing a filter after '/' */
	char			 edit[PT_NAME_MAX + 1];

	/* The status line: a message until status_until (mono ns). */
	char			 status[512];
	int			 status_err;
	uint64_t		 status_until;

	int			 quit;
	int			 exit_status;
	int			 dirty;		/* redraw before waiting */
};

/* Sets the status line message (err: shown as an error) for a while. */
void	view_status(struct view *v, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Keeps the selection on the same operation after the rows changed. */
void	view_sync_selection(struct view *v);
/* Moves the selection by delta rows (clamped). */
void	view_move_selection(struct view *v, long delta);
/* Sends a request to the agent; a failure ends the connection. */
void	view_send_reset(struct view *v);
void	view_resubscribe(struct view *v, int interval_ms);

/* ------------------------------------------------------------------------ */
/* draw.c, panels.c, graph.c: the live view drawn into stdscr (draw.h has    */
/* what they share)                                                          */
/* ------------------------------------------------------------------------ */

/* draw.c: sets up the colour pairs (when v->colour). */
void	draw_init(struct view *v);
/*
 * panels.c: the header, the operations and counters tables, the memory
 * graph (graph.c), the status line and the help overlay.
 */
/* Draws everything (erase, then every panel); the caller refreshes. */
void	panels_draw(struct view *v);

/* ------------------------------------------------------------------------ */
/* keys.c: the key -> action table                                           */
/* ------------------------------------------------------------------------ */

/* Encodes a curses KEY_* code so it cannot collide with a character. */
#define KEYS_CODE(k)	(-(int)(k))

/* One action: the keys that run it and its line in the help overlay. */
struct key_action {
	const char	*keys;		/* as the help shows them: "< >" */
	const char	*help;
	void		(*run)(struct view *v, int key);
	int		 codes[10];	/* characters or KEYS_CODE(); 0 ends */
};

extern const struct key_action key_actions[];
extern const size_t key_actions_n;

/*
 * Handles one key from get_wch(): ch is a character, or a KEY_* code when
 * keycode is set.  Runs the filter editor when editing, closes the help
 * overlay when it is up, else looks the key up in key_actions.
 */
void	keys_handle(struct view *v, wint_t ch, int keycode);

#endif /* PT_TUI_H */
