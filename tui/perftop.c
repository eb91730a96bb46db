/*
 * perftop.c - main: subcommand dispatch and the subcommands attach (which
 * hands over to the live view, screen.c), list, dump and reset; record is
 * in record.c, the messages, argument parsing and connecting in cli.c.
 *
 * Every error is one line "perftop: ..." on stderr.  Exit status: 0 success,
 * 1 an error, 2 bad usage.
 */
#include "tui.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

/* ------------------------------------------------------------------------ */
/* attach                                                                    */
/* ------------------------------------------------------------------------ */

static const struct option attach_longopts[] = {
	{ "interval", required_argument, NULL, 'i' },
	{ "window", required_argument, NULL, 'w' },
	{ "readonly", no_argument, NULL, 'r' },
	{ "read-only", no_argument, NULL, 'r' },
	{ "output-dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
attach_option(int c, const char *arg, void *ctx)
{
	struct attach_opts *o = ctx;

	switch (c) {
	case 'i':
		o->interval_ms = (int)lround(cli_parse_seconds("--interval", arg,
		    INTERVAL_MIN_S, INTERVAL_MAX_S) * 1000);
		break;
	case 'w':
		o->window_s = (int)cli_parse_whole("--window", arg, 1,
		    WINDOW_MAX_S);
		break;
	case 'r':
		o->readonly = 1;
		break;
	case 'd':
		o->output_dir = arg;
		break;
	}
}

static int
cmd_attach(int argc, char **argv)
{
	struct attach_opts o = {
		.interval_ms = 1000,
		.readonly = 0,
		.output_dir = NULL,
		.window_s = 10,
	};
	struct stat st;
	char *pos[1], b[64];
	pid_t pid;
	int npos;

	npos = cli_parse_options("attach", argc, argv, "i:w:rd:h", attach_longopts,
	    attach_option, &o, pos, 1);
	pid = cli_the_pid("attach", npos, pos);
	if ((long long)o.window_s * 1000 < o.interval_ms)
		cli_usage_error("attach: --window (%ds) must be at least the "
		    "--interval (%gs)", o.window_s, o.interval_ms / 1000.0);
	if (o.output_dir != NULL) {
		if (*o.output_dir == '\0')
			cli_usage_error("attach: --output-dir: empty directory "
			    "name");
		if (stat(o.output_dir, &st) < 0)
			cli_die("output directory %s: %s",
			    cli_shown(o.output_dir, b, sizeof b), strerror(errno));
		if (!S_ISDIR(st.st_mode))
			cli_die("output directory %s: %s",
			    cli_shown(o.output_dir, b, sizeof b),
			    strerror(ENOTDIR));
		if (access(o.output_dir, W_OK | X_OK) < 0)
			cli_die("output directory %s: %s",
			    cli_shown(o.output_dir, b, sizeof b), strerror(errno));
	}
	return attach_run(pid, &o);
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */
/* ------------------------------------------------------------------------ */

struct list_row {
	pid_t		 pid;
	char		 name[64];
	char		 uptime[32];
	char		*socket;
};

static int
row_cmp(const void *a, const void *b)
{
	const struct list_row *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* "45s", "12m05s", "3h07m", "2d05h". */
static void
format_uptime(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000ull;

	if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
		    s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
		    s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
		    s / 3600 % 24);
}

/* The pid of a socket file name "PID.sock", or 0. */
static pid_t
socket_name_pid(const char *name)
{
	char digits[16], err[64];
	size_t n = strlen(name);

	if (n <= 5 || n - 5 >= sizeof digits ||
	    strcmp(name + n - 5, ".sock") != 0 || name[0] == '0')
		return 0;
	memcpy(digits, name, n - 5);
	digits[n - 5] = '\0';
	return cli_parse_pid(digits, err, sizeof err);
}

/* The process name from /proc, for a target that did not say hello. */
static void
proc_name(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	strlcpy(buf, "?", len);
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		strlcpy(buf, "?", len);
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* The rows of cmd_list, growing, and the directories read for them. */
struct list_rows {
	struct list_row	*row;
	size_t		 n, cap;
	char		**dirs;
	size_t		 ndirs, dircap;
};

/* Notes dir as read; 0 when it was already. */
static int
list_dir_new(struct list_rows *rs, const char *dir)
{
	char **grown;
	size_t i;

	for (i = 0; i < rs->ndirs; i++)
		if (strcmp(rs->dirs[i], dir) == 0)
			return 0;
	if (rs->ndirs == rs->dircap) {
		rs->dircap = rs->dircap ? rs->dircap * 2 : 8;
		if ((grown = reallocarray(rs->dirs, rs->dircap,
		    sizeof *rs->dirs)) == NULL)
			cli_die("out of memory");
		rs->dirs = grown;
	}
	if ((rs->dirs[rs->ndirs++] = strdup(dir)) == NULL)
		cli_die("out of memory");
	return 1;
}

/* Adds a row for each socket "PID.sock" in dir not listed yet (once). */
static void
list_dir(struct list_rows *rs, const char *dir)
{
	char path[PATH_MAX];
	struct list_row *grown;
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *d;

	if (!list_dir_new(rs, dir))
		return;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return;
		cli_die("cannot read %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		pid_t pid = socket_name_pid(de->d_name);

		if (pid == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		for (i = 0; i < rs->n && rs->row[i].pid != pid; i++)
			;
		if (i < rs->n)
			continue;
		if (pt__sockpath(dir, pid, path, sizeof path) < 0)
			continue;
		if (rs->n == rs->cap) {
			rs->cap = rs->cap ? rs->cap * 2 : 16;
			if ((grown = reallocarray(rs->row, rs->cap,
			    sizeof *rs->row)) == NULL)
				cli_die("out of memory");
			rs->row = grown;
		}
		memset(&rs->row[rs->n], 0, sizeof rs->row[rs->n]);
		rs->row[rs->n].pid = pid;
		if ((rs->row[rs->n].socket = strdup(path)) == NULL)
			cli_die("out of memory");
		rs->n++;
	}
	closedir(d);
}

/*
 * For root (with no PERFTOP_SOCKET_DIR of its own): the other users'
 * socket directories in the usual places, /tmp/perftop-UID and
 * /run/user/UID/perftop, each a real directory of that uid closed to
 * group and others (the agent's own rules).
 */
static void
list_others(struct list_rows *rs)
{
	static const char *const bases[] = { "/tmp", "/run/user" };
	char dir[PATH_MAX], *end;
	struct dirent *de;
	struct stat st;
	unsigned long uid;
	size_t b;
	DIR *d;

	for (b = 0; b < sizeof bases / sizeof bases[0]; b++) {
		if ((d = opendir(bases[b])) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			const char *num = de->d_name;

			if (b == 0) {
				if (strncmp(num, "perftop-", 8) != 0)
					continue;
				num += 8;
			}
			if (!isdigit((unsigned char)num[0]))
				continue;
			errno = 0;
			uid = strtoul(num, &end, 10);
			if (*end != '\0' || errno != 0 || uid == 0)
				continue;
			snprintf(dir, sizeof dir, b == 0 ? "%s/%s" :
			    "%s/%s/perftop", bases[b], de->d_name);
			if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
			    st.st_uid != uid || (st.st_mode & 077) != 0)
				continue;
			list_dir(rs, dir);
		}
		closedir(d);
	}
}

/*
 * For root: the socket directories that other users' processes chose for
 * themselves (PERFTOP_SOCKET_DIR, or an XDG_RUNTIME_DIR elsewhere than
 * /run/user), found as `perftop dump PID` finds them: from each process's
 * uid and environment, with the agent's checks against that uid
 * (pt__sockdir_of()).  list_dir() reads each directory once.
 */
static void
list_procs(struct list_rows *rs)
{
	char dir[PATH_MAX];
	const char *errstr;
	struct dirent *de;
	long long pid;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		pid = strtonum(de->d_name, 1, INT_MAX, &errstr);
		if (errstr == NULL &&
		    pt__sockdir_of((pid_t)pid, dir, sizeof dir, NULL, 0) == 0)
			list_dir(rs, dir);
	}
	closedir(d);
}

static int
cmd_list(int argc, char **argv)
{
	struct list_rows rs = { NULL, 0, 0, NULL, 0, 0 };
	struct list_row *rows;
	size_t n, i, wpid = 3, wname = 4, wup = 6;
	char dir[PATH_MAX], err[256] = "", pidbuf[16];
	const char *own = getenv("PERFTOP_SOCKET_DIR");
	int rc;

	cli_parse_options("list", argc, argv, "h", (const struct option[]){
	    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } },
	    NULL, NULL, NULL, 0);

	rc = pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	if (rc < 0 && rc != PT_ENOENT)
		cli_die("%s", err[0] != '\0' ? err : pt_strerror(rc));
	if (rc == 0)
		list_dir(&rs, dir);
	if (geteuid() == 0 && (own == NULL || own[0] == '\0')) {
		list_others(&rs);
		list_procs(&rs);
	}
	for (i = 0; i < rs.ndirs; i++)
		free(rs.dirs[i]);
	free(rs.dirs);
	rows = rs.row;
	n = rs.n;
	if (n > 1)	/* rows is NULL when no directory has a socket */
		qsort(rows, n, sizeof *rows, row_cmp);

	/* Ask each live target for its name and uptime; skip stale sockets. */
	for (i = 0; i < n; ) {
		struct list_row *r = &rows[i];
		struct pt__client *c = NULL;
		int keep = 1;

		if (kill(r->pid, 0) < 0 && errno == ESRCH)
			keep = 0;	/* left by a dead process */
		else {
			err[0] = '\0';
			rc = pt__client_open(r->pid, LIST_TIMEOUT_MS, &c, err,
			    sizeof err);
			if (rc == 0 && c != NULL) {
				const struct pt__welcome *w =
				    pt__client_welcome(c);

				strlcpy(r->name, w->process, sizeof r->name);
				format_uptime(r->uptime, sizeof r->uptime,
				    w->uptime_ns);
				pt__client_close(c);
			} else if (rc == PT_ENOENT || rc == PT_ECLOSED)
				keep = 0;	/* nobody listens: stale */
			else {
				/* Alive but not answering as it should. */
				proc_name(r->pid, r->name, sizeof r->name);
				strlcpy(r->uptime, "?", sizeof r->uptime);
			}
		}
		if (!keep) {
			free(r->socket);
			memmove(r, r + 1, (n - i - 1) * sizeof *r);
			n--;
			continue;
		}
		cli_one_line(r->name);
		i++;
	}

	for (i = 0; i < n; i++) {
		snprintf(pidbuf, sizeof pidbuf, "%d", (int)rows[i].pid);
		wpid = MAX(wpid, strlen(pidbuf));
		wname = MAX(wname, strlen(rows[i].name));
		wup = MAX(wup, strlen(rows[i].uptime));
	}
	signal(SIGPIPE, SIG_DFL);
	printf("%-*s  %-*s  %-*s  %s\n", (int)wpid, "PID", (int)wname, "NAME",
	    (int)wup, "UPTIME", "SOCKET");
	for (i = 0; i < n; i++) {
		printf("%-*d  %-*s  %-*s  %s\n", (int)wpid, (int)rows[i].pid,
		    (int)wname, rows[i].name, (int)wup, rows[i].uptime,
		    rows[i].socket);
		free(rows[i].socket);
	}
	free(rows);
	cli_finish_stdout();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* dump                                                                      */
/* ------------------------------------------------------------------------ */

enum dump_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_PROMETHEUS };

struct dump_opts {
	enum dump_format format;
	const char	*input;		/* --input FILE, or NULL */
	long long	 line;		/* --line N, or 0 */
};

static void
dump_option(int c, const char *arg, void *ctx)
{
	struct dump_opts *o = ctx;
	char b[40];

	switch (c) {
	case 'f':
		if (strcmp(arg, "text") == 0)
			o->format = FORMAT_TEXT;
		else if (strcmp(arg, "json") == 0)
			o->format = FORMAT_JSON;
		else if (strcmp(arg, "prometheus") == 0)
			o->format = FORMAT_PROMETHEUS;
		else
			cli_usage_error("dump: unknown format '%s' (text, json or "
			    "prometheus)", cli_shown(arg, b, sizeof b));
		break;
	case 'I':
		if (*arg == '\0')
			cli_usage_error("dump: --input: empty file name");
		o->input = arg;
		break;
	case 'L':
		o->line = cli_parse_whole("--line", arg, 1, LLONG_MAX);
		break;
	}
}

/*
 * Reads the snapshot of a snapshot file, or line `line` (0: the last
 * complete line) of a recording, at path ("-": standard input).  Dies with
 * the reader's one line ("FILE:LINE: what") when the file is not right; a
 * recording whose last line was cut off is used all the same, with a cli_note.
 */
static pt_snapshot *
dump_load(const char *path, long long line)
{
	char name[PATH_MAX], err[PATH_MAX + 512];
	struct reader_info info;
	pt_snapshot *s;
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0) {
		strlcpy(name, "standard input", sizeof name);
		f = stdin;
	} else {
		cli_shown(path, name, sizeof name);
		if ((f = fopen(path, "re")) == NULL)
			cli_die("cannot open %s: %s", name, strerror(errno));
	}
	rc = reader_load(f, name, (uintmax_t)line, NULL, &s, &info, err,
	    sizeof err);
	if (f != stdin)
		fclose(f);
	if (rc < 0)
		cli_die("%s", err);
	if (info.cut > 0)
		cli_note("%s:%ju: incomplete last line (no newline at its end: the "
		    "recording was cut off), skipped; converting line %ju",
		    name, info.cut, info.line);
	return s;
}

/* Writes s to stdout in format; 0 or a PT_E* code. */
static int
dump_write(enum dump_format format, const pt_snapshot *s)
{
	char *text;
	int rc = 0;

	signal(SIGPIPE, SIG_DFL);
	switch (format) {
	case FORMAT_TEXT:
		rc = export_text(stdout, s);
		break;
	case FORMAT_JSON:
		if ((text = export_json_pretty(s, NULL)) == NULL)
			return PT_ENOMEM;
		rc = fputs(text, stdout) < 0 ? PT_ESYS : 0;
		free(text);
		break;
	case FORMAT_PROMETHEUS:
		rc = export_prometheus(stdout, s);
		break;
	}
	return rc;
}

static int
cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "input", required_argument, NULL, 'I' },
		{ "line", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump_opts o = { .format = FORMAT_TEXT };
	struct pt__client *c;
	struct pt__event ev;
	pt_snapshot *s;
	char *pos[1];
	pid_t pid;
	int rc, npos;

	npos = cli_parse_options("dump", argc, argv, "f:I:h", longopts, dump_option,
	    &o, pos, 1);
	if (o.input != NULL) {
		if (npos > 0)
			cli_usage_error("dump: give a PID or --input FILE, not "
			    "both");
		s = dump_load(o.input, o.line);
	} else {
		if (o.line > 0)
			cli_usage_error("dump: --line needs --input FILE");
		if (npos == 0)
			cli_usage_error("dump: missing PID (or --input FILE)");
		pid = cli_the_pid("dump", npos, pos);
		c = cli_connect_req(pid, 1);
		cli_wait_event(c, pid, PT__EV_SNAPSHOT, &ev);
		pt__client_close(c);
		s = ev.snap;
	}
	rc = dump_write(o.format, s);
	pt_snapshot_free(s);
	if (rc == PT_ENOMEM)
		cli_die("out of memory");
	cli_finish_stdout();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* reset                                                                     */
/* ------------------------------------------------------------------------ */

static int
cmd_reset(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pt__client *c;
	struct pt__event ev;
	char *pos[1];
	pid_t pid;
	int rc, npos;

	npos = cli_parse_options("reset", argc, argv, "h", longopts, NULL, NULL,
	    pos, 1);
	pid = cli_the_pid("reset", npos, pos);

	c = cli_connect(pid);
	if ((rc = pt__client_reset(c)) < 0)
		cli_die_stream(pid, rc);
	cli_wait_event(c, pid, PT__EV_RESET_OK, &ev);
	pt__client_close(c);

	signal(SIGPIPE, SIG_DFL);
	printf("reset %d: epoch %llu\n", (int)pid,
	    (unsigned long long)ev.epoch);
	cli_finish_stdout();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static const struct {
	const char	*name;
	int		(*run)(int, char **);
} commands[] = {
	{ "attach", cmd_attach },
	{ "list", cmd_list },
	{ "dump", cmd_dump },
	{ "record", cmd_record },
	{ "reset", cmd_reset },
};

int
main(int argc, char **argv)
{
	const char *cmd;
	char b[40];
	size_t i;

	/*
	 * Sockets must not kill the program when a target goes away; output
	 * to stdout restores SIGPIPE before writing.
	 */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2)
		cli_usage_error("missing command");
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0)
		cli_usage_exit();
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 ||
	    strcmp(cmd, "version") == 0) {
		signal(SIGPIPE, SIG_DFL);
		printf(PROG " %s\n", pt_version());
		cli_finish_stdout();
		return 0;
	}
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);

	/* "perftop PID [options]" and "perftop --interval 2 PID" attach. */
	if (isdigit((unsigned char)cmd[0]) || cmd[0] == '-')
		return cmd_attach(argc, argv);
	cli_usage_error("unknown command '%s'", cli_shown(cmd, b, sizeof b));
}
