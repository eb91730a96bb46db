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

#include <jansson.h>

/* ------------------------------------------------------------------------ */
/* perftop.c: main and subcommands                                           */
/* ------------------------------------------------------------------------ */

/*
 * Parses a PID strictly (libbsd strtonum, 1 .. INT_MAX): "12abc", "-1", "0"
 * and overflow are refused.  Returns the pid, or 0 with err filled.
 */
pid_t	cli_parse_pid(const char *s, char *err, size_t errlen);

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
 * time, uptime_s, reset_epoch, memory, operations, counters), plus "view"
 * when v is not NULL.  New reference, or NULL when out of memory.
 */
json_t	*export_json(const pt_snapshot *s, const struct export_view *v);
/* The same object as one compact line without a newline; free() it. */
char	*export_json_line(const pt_snapshot *s, const struct export_view *v);
/* Prometheus text format 0.0.4: HELP/TYPE, seconds and bytes, _total. */
int	 export_prometheus(FILE *f, const pt_snapshot *s);
/* The human-readable summary (pt_summary_write). */
int	 export_text(FILE *f, const pt_snapshot *s);

/*
 * Writes len bytes to path atomically: a temporary file in the same
 * directory, fsync, rename, fsync of the directory.  Returns 0 or -1 with
 * err saying why in one line (the old file, if any, is untouched then).
 */
int	 export_write_atomic(const char *path, const void *data, size_t len,
	    char *err, size_t errlen);

/*
 * Writes s (and v) as perftop-NAME-PID-YYYYmmdd-HHMMSS.json in dir (NULL:
 * the current directory) atomically; the path written goes to path.
 * Returns 0 or -1 with err filled.
 */
int	 export_snapshot_file(const char *dir, const pt_snapshot *s,
	    const struct export_view *v, char *path, size_t pathlen,
	    char *err, size_t errlen);

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

#endif /* PT_TUI_H */
