/*
 * perftop.c - main: subcommand dispatch, argument parsing and the
 * command-line subcommands (list, dump, record, reset); attach hands over to
 * the live view (screen.c).
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

#define PROG			"perftop"
#define EXIT_USAGE		2

#define CONNECT_TIMEOUT_MS	3000	/* connect and handshake */
#define ANSWER_TIMEOUT_MS	5000	/* a snapshot or RESET_OK */
#define LIST_TIMEOUT_MS		500	/* per socket in `list` */

#define INTERVAL_MIN_S		((double)PT__INTERVAL_MIN_MS / 1000)
#define INTERVAL_MAX_S		((double)PT__INTERVAL_MAX_MS / 1000)
#define DURATION_MAX_S		(365.0 * 86400)	/* record --duration */
#define WINDOW_MAX_S		86400		/* attach --window */

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

static const char usage_text[] =
"Usage: perftop attach PID [--interval SECONDS] [--window SECONDS]\n"
"                          [--readonly] [--output-dir DIR]\n"
"       perftop PID [attach options]\n"
"       perftop list\n"
"       perftop dump PID [--format text|json|prometheus]\n"
"       perftop dump --input FILE [--line N] [--format text|json|prometheus]\n"
"       perftop record PID -o FILE [--interval SECONDS]\n"
"                      [--count N | --duration SECONDS]\n"
"       perftop reset PID\n"
"       perftop --help | --version\n"
"\n"
"Watches programs instrumented with libperftop.\n"
"\n"
"Commands:\n"
"  attach PID   full-screen live view of the process (also: perftop PID)\n"
"  list         attachable processes: PID, name, uptime, socket\n"
"  dump PID     print one snapshot of the process's statistics\n"
"  dump -I FILE convert a snapshot file or a recording (its last snapshot)\n"
"  record PID   write snapshots to a file, JSON Lines, one snapshot a line\n"
"  reset PID    reset the process's statistics (every viewer sees it)\n"
"\n"
"Options of attach:\n"
"  -i, --interval SECONDS  refresh interval, 0.01 to 60 (default 1)\n"
"  -w, --window SECONDS    length of the \"last N seconds\" window, whole\n"
"                          seconds, at least the interval (default 10)\n"
"  -r, --readonly          refuse to reset the target's statistics (R)\n"
"  -d, --output-dir DIR    where w writes snapshot files (default: .)\n"
"\n"
"Options of dump:\n"
"  -f, --format FORMAT     text (default), json or prometheus\n"
"  -I, --input FILE        read a snapshot file or a recording (- is\n"
"                          standard input) instead of asking a process\n"
"      --line N            with --input: line N of a recording (default:\n"
"                          its last complete line)\n"
"\n"
"Options of record:\n"
"  -o, --output FILE       the file to write (required; - is stdout)\n"
"  -i, --interval SECONDS  time between snapshots, 0.01 to 60 (default 1)\n"
"  -n, --count N           stop after N snapshots\n"
"  -t, --duration SECONDS  stop after SECONDS\n"
"  Recording also stops on SIGINT or SIGTERM and when the target exits.\n"
"\n"
"General options:\n"
"  -h, --help              print this help and exit\n"
"  -V, --version           print the version and exit\n"
"\n"
"Environment:\n"
"  PERFTOP_SOCKET_DIR      the socket directory (default:\n"
"                          $XDG_RUNTIME_DIR/perftop, else /tmp/perftop-UID)\n"
"\n"
"Exit status: 0 success, 1 error, 2 bad usage.  See perftop(1).\n";

/* Replaces control characters so that a message stays on one line. */
static void
one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* Set while a progress line ("\rrecorded N ...") is left open on stderr. */
static int	stderr_midline;

/* Ends an open progress line, so that the next message has its own. */
static void
end_progress(void)
{
	if (stderr_midline) {
		fputc('\n', stderr);
		stderr_midline = 0;
	}
}

static void
vmessage(const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof buf, fmt, ap);
	one_line(buf);
	end_progress();
	fprintf(stderr, PROG ": %s\n", buf);
}

/* Prints one line on stderr, a note or a warning; goes on. */
static void __attribute__((format(printf, 1, 2)))
note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

/* Prints one error line and exits with status 1. */
static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(1);
}

/* Prints one line about bad usage and exits with status 2. */
static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	one_line(buf);
	fprintf(stderr, PROG ": %s (see 'perftop --help')\n", buf);
	exit(EXIT_USAGE);
}

static void __attribute__((noreturn))
usage_exit(void)
{
	fputs(usage_text, stdout);
	if (fflush(stdout) != 0 || ferror(stdout))
		exit(1);
	exit(0);
}

/* A short, printable copy of an argument for messages. */
static const char *
shown(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
		    s[i];
	buf[i] = '\0';
	if (s[i] != '\0' && len > 4)
		strlcpy(buf + len - 4, "...", 4);
	return buf;
}

/* ------------------------------------------------------------------------ */
/* Argument parsing                                                          */
/* ------------------------------------------------------------------------ */

pid_t
cli_parse_pid(const char *s, char *err, size_t errlen)
{
	const char *errstr, *p;
	char b[40];
	long long v;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "invalid PID '': empty");
		return 0;
	}
	v = strtonum(s, 1, INT_MAX, &errstr);
	if (errstr != NULL) {
		if (strcmp(errstr, "too small") == 0)
			snprintf(err, errlen, "invalid PID '%s': must be a "
			    "positive number", shown(s, b, sizeof b));
		else if (strcmp(errstr, "too large") == 0)
			snprintf(err, errlen, "invalid PID '%s': too large",
			    shown(s, b, sizeof b));
		else
			snprintf(err, errlen, "invalid PID '%s': not a number",
			    shown(s, b, sizeof b));
		return 0;
	}
	/* strtonum takes " 12" and "+12" too: a PID is digits only. */
	for (p = s; *p != '\0'; p++)
		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, "invalid PID '%s': not a number",
			    shown(s, b, sizeof b));
			return 0;
		}
	return (pid_t)v;
}

static pid_t
parse_pid_or_die(const char *s)
{
	char err[128];
	pid_t pid;

	if ((pid = cli_parse_pid(s, err, sizeof err)) == 0)
		usage_error("%s", err);
	return pid;
}

/*
 * Parses a number of seconds: digits with an optional fraction and
 * exponent, nothing else (no sign, no spaces, no "inf" or hex), within
 * [min, max].
 */
static double
parse_seconds(const char *opt, const char *s, double min, double max)
{
	char b[40], *end;
	double v;

	if (*s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s) ||
	    !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		usage_error("%s: '%s' is not a number of seconds", opt,
		    shown(s, b, sizeof b));
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		usage_error("%s: '%s' is not a number of seconds", opt,
		    shown(s, b, sizeof b));
	if (v < min)
		usage_error("%s: %s is too small (at least %.10g seconds)",
		    opt, shown(s, b, sizeof b), min);
	if (v > max)
		usage_error("%s: %s is too large (at most %.10g seconds)",
		    opt, shown(s, b, sizeof b), max);
	return v;
}

/* Parses a whole number within [min, max] (digits only). */
static long long
parse_whole(const char *opt, const char *s, long long min, long long max)
{
	const char *errstr;
	char b[40];
	long long v;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		usage_error("%s: '%s' is not a whole number", opt,
		    shown(s, b, sizeof b));
	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL && strcmp(errstr, "too small") == 0)
		usage_error("%s: %s is too small (at least %lld)", opt,
		    shown(s, b, sizeof b), min);
	if (errstr != NULL)
		usage_error("%s: %s is too large (at most %lld)", opt,
		    shown(s, b, sizeof b), max);
	return v;
}

static int
looks_like_negative_number(const char *s)
{
	return s[0] == '-' && isdigit((unsigned char)s[1]);
}

/* Called for each option a subcommand parses. */
typedef void (*option_fn)(int c, const char *arg, void *ctx);

/*
 * Parses the options of subcommand cmd with getopt_long: argv[0] is not
 * looked at, options may come before and after the positional arguments,
 * "--" ends the options, and an argument such as "-1" is positional (a bad
 * PID, reported as such) rather than an unknown option.  Up to maxpos
 * positional arguments are stored in pos; more are a usage error.  --help
 * prints the usage and exits.  Called once per process (getopt keeps
 * state).
 */
static int
parse_options(const char *cmd, int argc, char **argv, const char *shortopts,
    const struct option *longopts, option_fn fn, void *ctx, char **pos,
    int maxpos)
{
	char opts[64], b[40];
	int c, npos = 0, start, only_positional = 0;

	/* "+": stop at positional arguments, taken below; ":": see ':'. */
	snprintf(opts, sizeof opts, "+:%s", shortopts);
	opterr = 0;
	optind = 1;
	while (optind < argc) {
		const char *arg = argv[optind];

		if (!only_positional && strcmp(arg, "--") == 0) {
			only_positional = 1;
			optind++;
			continue;
		}
		if (only_positional || arg[0] != '-' || arg[1] == '\0' ||
		    looks_like_negative_number(arg)) {
			if (npos >= maxpos)
				usage_error("%s: unexpected argument '%s'",
				    cmd, shown(arg, b, sizeof b));
			pos[npos++] = argv[optind++];
			continue;
		}
		start = optind;
		c = getopt_long(argc, argv, opts, longopts, NULL);
		switch (c) {
		case -1:	/* not reached: arg is an option */
			usage_error("%s: unexpected argument '%s'", cmd,
			    shown(arg, b, sizeof b));
		case 'h':
			usage_exit();
		case '?':
			if (strncmp(argv[start], "--", 2) != 0)
				usage_error("%s: unknown option '-%c'", cmd,
				    isprint(optopt) ? optopt : '?');
			if (optopt != 0 && strchr(argv[start], '=') != NULL)
				usage_error("%s: option '%s' takes no value",
				    cmd, shown(argv[start], b, sizeof b));
			usage_error("%s: unknown option '%s'", cmd,
			    shown(argv[start], b, sizeof b));
		case ':':
			usage_error("%s: option '%s' needs a value", cmd,
			    shown(argv[start], b, sizeof b));
		default:
			if (fn != NULL)
				fn(c, optarg, ctx);
		}
	}
	return npos;
}

static pid_t
the_pid(const char *cmd, int npos, char **pos)
{
	if (npos == 0)
		usage_error("%s: missing PID", cmd);
	return parse_pid_or_die(pos[0]);
}

/* ------------------------------------------------------------------------ */
/* Talking to the target                                                     */
/* ------------------------------------------------------------------------ */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A message for a failed connection when the client left err empty. */
static void
open_error(pid_t pid, int rc, char *err, size_t errlen)
{
	switch (rc) {
	case PT_ENOENT:
		if (kill(pid, 0) < 0 && errno == ESRCH)
			snprintf(err, errlen, "no such process: %d", (int)pid);
		else
			snprintf(err, errlen, "process %d is not instrumented "
			    "(no perftop socket)", (int)pid);
		break;
	case PT_EPERM:
		snprintf(err, errlen, "process %d: permission refused",
		    (int)pid);
		break;
	case PT_EVERSION:
		snprintf(err, errlen, "process %d speaks another protocol "
		    "version", (int)pid);
		break;
	case PT_ETIMEDOUT:
		snprintf(err, errlen, "process %d did not answer in time",
		    (int)pid);
		break;
	default:
		snprintf(err, errlen, "cannot connect to process %d: %s",
		    (int)pid, pt_strerror(rc));
		break;
	}
}

/*
 * Connects to pid's agent or dies with a clear message; with req, a
 * snapshot is asked for in the same round trip.
 */
static struct pt__client *
connect_or_die_req(pid_t pid, int req)
{
	struct pt__client *c = NULL;
	char err[256] = "";
	int rc;

	rc = req ? pt__client_open_req(pid, CONNECT_TIMEOUT_MS, &c, err,
	    sizeof err) : pt__client_open(pid, CONNECT_TIMEOUT_MS, &c, err,
	    sizeof err);
	if (rc < 0 || c == NULL) {
		if (err[0] == '\0')
			open_error(pid, rc < 0 ? rc : PT_ESYS, err, sizeof err);
		die("%s", err);
	}
	return c;
}

static struct pt__client *
connect_or_die(pid_t pid)
{
	return connect_or_die_req(pid, 0);
}

/* Is pid gone: no such process, or a zombie nobody has reaped yet? */
static int
process_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "PID (comm) S ...": the state follows the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 0;
	return p[2] == 'Z' || p[2] == 'X';
}

/*
 * After the agent closed the connection: did the target exit?  The socket
 * closes while the process is being torn down, a moment before it is gone,
 * so this waits up to a second.
 */
static int
target_exited(pid_t pid)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (process_gone(pid))
			return 1;
		(void)poll(NULL, 0, 10);
	}
	return 0;
}

/* Dies with one line for a failed pt__client_* call or stream. */
static void __attribute__((noreturn))
die_stream(pid_t pid, int rc)
{
	switch (rc) {
	case PT_ECLOSED:
		if (target_exited(pid))
			die("process %d exited", (int)pid);
		die("process %d closed the connection", (int)pid);
	case PT_EPROTO:
		die("process %d sent malformed data", (int)pid);
	case PT_ETIMEDOUT:
		die("process %d did not answer in time", (int)pid);
	case PT_ESYS:
		die("process %d: %s", (int)pid, strerror(errno));
	default:
		die("process %d: %s", (int)pid, pt_strerror(rc));
	}
}

static void __attribute__((noreturn))
die_agent_error(pid_t pid, const struct pt__event *ev)
{
	die("process %d: %s", (int)pid, ev->msg[0] != '\0' ? ev->msg :
	    pt_strerror(ev->code));
}

/*
 * Waits up to ANSWER_TIMEOUT_MS for an event of type want and stores it in
 * ev; snapshots that are not wanted are dropped.  Dies on anything else.
 */
static void
wait_event(struct pt__client *c, pid_t pid, int want, struct pt__event *ev)
{
	uint64_t deadline = now_ms() + ANSWER_TIMEOUT_MS, now;
	int rc;

	for (;;) {
		now = now_ms();
		if (now >= deadline)
			die_stream(pid, PT_ETIMEDOUT);
		memset(ev, 0, sizeof *ev);
		rc = pt__client_next(c, (int)(deadline - now), ev);
		if (rc < 0)
			die_stream(pid, rc);
		if (rc == 0)
			continue;
		if (ev->type == want)
			return;
		if (ev->type == PT__EV_ERROR)
			die_agent_error(pid, ev);
		if (ev->type == PT__EV_SNAPSHOT)
			pt_snapshot_free(ev->snap);
	}
}

/* Output to stdout: dies on a write error (EPIPE kills like SIGPIPE). */
static void
finish_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE) {
			signal(SIGPIPE, SIG_DFL);
			raise(SIGPIPE);
		}
		die("cannot write to standard output: %s", strerror(errno));
	}
}

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
		o->interval_ms = (int)lround(parse_seconds("--interval", arg,
		    INTERVAL_MIN_S, INTERVAL_MAX_S) * 1000);
		break;
	case 'w':
		o->window_s = (int)parse_whole("--window", arg, 1,
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

	npos = parse_options("attach", argc, argv, "i:w:rd:h", attach_longopts,
	    attach_option, &o, pos, 1);
	pid = the_pid("attach", npos, pos);
	if ((long long)o.window_s * 1000 < o.interval_ms)
		usage_error("attach: --window (%ds) must be at least the "
		    "--interval (%gs)", o.window_s, o.interval_ms / 1000.0);
	if (o.output_dir != NULL) {
		if (*o.output_dir == '\0')
			usage_error("attach: --output-dir: empty directory "
			    "name");
		if (stat(o.output_dir, &st) < 0)
			die("output directory %s: %s",
			    shown(o.output_dir, b, sizeof b), strerror(errno));
		if (!S_ISDIR(st.st_mode))
			die("output directory %s: %s",
			    shown(o.output_dir, b, sizeof b),
			    strerror(ENOTDIR));
		if (access(o.output_dir, W_OK | X_OK) < 0)
			die("output directory %s: %s",
			    shown(o.output_dir, b, sizeof b), strerror(errno));
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

static int
cmd_list(int argc, char **argv)
{
	struct list_row *rows = NULL, *grown;
	size_t n = 0, cap = 0, i, wpid = 3, wname = 4, wup = 6;
	char dir[PATH_MAX], err[256] = "", path[PATH_MAX], pidbuf[16];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc;

	parse_options("list", argc, argv, "h", (const struct option[]){
	    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } },
	    NULL, NULL, NULL, 0);

	rc = pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	if (rc == PT_ENOENT)
		goto print;	/* nothing ever ran: an empty list */
	if (rc < 0)
		die("%s", err[0] != '\0' ? err : pt_strerror(rc));
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			goto print;
		die("cannot read %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		pid_t pid = socket_name_pid(de->d_name);

		if (pid == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((grown = reallocarray(rows, cap, sizeof *rows)) ==
			    NULL)
				die("out of memory");
			rows = grown;
		}
		memset(&rows[n], 0, sizeof rows[n]);
		rows[n].pid = pid;
		if (pt__sockpath(dir, pid, path, sizeof path) < 0)
			continue;
		if ((rows[n].socket = strdup(path)) == NULL)
			die("out of memory");
		n++;
	}
	closedir(d);
	if (n > 1)	/* rows is NULL when the directory has no socket */
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
		one_line(r->name);
		i++;
	}

print:
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
	finish_stdout();
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
			usage_error("dump: unknown format '%s' (text, json or "
			    "prometheus)", shown(arg, b, sizeof b));
		break;
	case 'I':
		if (*arg == '\0')
			usage_error("dump: --input: empty file name");
		o->input = arg;
		break;
	case 'L':
		o->line = parse_whole("--line", arg, 1, LLONG_MAX);
		break;
	}
}

/*
 * Reads the snapshot of a snapshot file, or line `line` (0: the last
 * complete line) of a recording, at path ("-": standard input).  Dies with
 * the reader's one line ("FILE:LINE: what") when the file is not right; a
 * recording whose last line was cut off is used all the same, with a note.
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
		shown(path, name, sizeof name);
		if ((f = fopen(path, "re")) == NULL)
			die("cannot open %s: %s", name, strerror(errno));
	}
	rc = reader_load(f, name, (uintmax_t)line, NULL, &s, &info, err,
	    sizeof err);
	if (f != stdin)
		fclose(f);
	if (rc < 0)
		die("%s", err);
	if (info.cut > 0)
		note("%s:%ju: incomplete last line (no newline at its end: the "
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

	npos = parse_options("dump", argc, argv, "f:I:h", longopts, dump_option,
	    &o, pos, 1);
	if (o.input != NULL) {
		if (npos > 0)
			usage_error("dump: give a PID or --input FILE, not "
			    "both");
		s = dump_load(o.input, o.line);
	} else {
		if (o.line > 0)
			usage_error("dump: --line needs --input FILE");
		if (npos == 0)
			usage_error("dump: missing PID (or --input FILE)");
		pid = the_pid("dump", npos, pos);
		c = connect_or_die_req(pid, 1);
		wait_event(c, pid, PT__EV_SNAPSHOT, &ev);
		pt__client_close(c);
		s = ev.snap;
	}
	rc = dump_write(o.format, s);
	pt_snapshot_free(s);
	if (rc == PT_ENOMEM)
		die("out of memory");
	finish_stdout();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* record                                                                    */
/* ------------------------------------------------------------------------ */

struct record_opts {
	const char	*output;
	int		 interval_ms;
	long long	 count;		/* 0: no limit */
	long long	 duration_ms;	/* 0: no limit */
};

static void
record_option(int c, const char *arg, void *ctx)
{
	struct record_opts *o = ctx;

	switch (c) {
	case 'o':
		if (*arg == '\0')
			usage_error("record: -o: empty file name");
		o->output = arg;
		break;
	case 'i':
		o->interval_ms = (int)lround(parse_seconds("--interval", arg,
		    INTERVAL_MIN_S, INTERVAL_MAX_S) * 1000);
		break;
	case 'n':
		o->count = parse_whole("--count", arg, 1, LLONG_MAX);
		break;
	case 't':
		o->duration_ms = llround(parse_seconds("--duration", arg,
		    0.001, DURATION_MAX_S) * 1000);
		break;
	}
}

/* The write end of the self-pipe the signal handler writes to. */
static int	stop_pipe[2] = { -1, -1 };

static void
on_stop_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (write(stop_pipe[1], &b, 1) < 0) {
		/* Full pipe: a stop is pending already. */
	}
	errno = saved;
}

static void
install_stop_handlers(void)
{
	struct sigaction sa;

	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		die("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Writes all of a line; 0 or -1 with errno. */
static int
write_line(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

enum record_end {
	END_NONE,
	END_DONE,	/* --count or --duration reached */
	END_SIGNAL,	/* SIGINT, SIGTERM, SIGHUP */
	END_EXITED,	/* the target exited or closed the connection */
};

static int
cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct record_opts o = { .interval_ms = 1000 };
	enum record_end end = END_NONE;
	struct pt__client *c;
	struct pt__event ev;
	unsigned long long n = 0;
	uint64_t deadline = 0;
	char *pos[1], *line, *grown, shown_out[PATH_MAX];
	struct pollfd pfd[2];
	size_t len;
	off_t written = 0;	/* bytes of the complete lines in the file */
	int npos, rc, fd, tty, timeout, e;
	pid_t pid;

	npos = parse_options("record", argc, argv, "o:i:n:t:h", longopts,
	    record_option, &o, pos, 1);
	pid = the_pid("record", npos, pos);
	if (o.output == NULL)
		usage_error("record: missing -o FILE");
	if (o.count > 0 && o.duration_ms > 0)
		usage_error("record: --count and --duration cannot be used "
		    "together");
	if (strcmp(o.output, "-") == 0)
		strlcpy(shown_out, "standard output", sizeof shown_out);
	else
		shown(o.output, shown_out, sizeof shown_out);

	/* Connect first: a bad PID creates no file. */
	c = connect_or_die(pid);
	if (strcmp(o.output, "-") == 0)
		fd = STDOUT_FILENO;
	else if ((fd = open(o.output, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) < 0)
		die("cannot open %s: %s", shown_out, strerror(errno));
	install_stop_handlers();
	tty = isatty(STDERR_FILENO);

	if ((rc = pt__client_subscribe(c, (uint32_t)o.interval_ms)) < 0)
		die_stream(pid, rc);
	if (o.duration_ms > 0)
		deadline = now_ms() + (uint64_t)o.duration_ms;

	while (end == END_NONE) {
		timeout = -1;
		if (deadline != 0) {
			uint64_t now = now_ms();

			if (now >= deadline) {
				end = END_DONE;
				break;
			}
			timeout = (int)MIN(deadline - now, (uint64_t)INT_MAX);
		}
		pfd[0].fd = pt__client_fd(c);
		pfd[0].events = POLLIN;
		pfd[1].fd = stop_pipe[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (pfd[1].revents != 0) {
			end = END_SIGNAL;
			break;
		}
		if (pfd[0].revents == 0)
			continue;

		/* Take every event the client has, then poll again. */
		while (end == END_NONE) {
			memset(&ev, 0, sizeof ev);
			rc = pt__client_next(c, 0, &ev);
			if (rc == 0)
				break;
			if (rc == PT_ECLOSED) {
				end = END_EXITED;
				break;
			}
			if (rc < 0)
				die_stream(pid, rc);
			if (ev.type == PT__EV_ERROR)
				die_agent_error(pid, &ev);
			if (ev.type != PT__EV_SNAPSHOT)
				continue;

			/* One write(2) per complete line. */
			line = export_json_line(ev.snap, NULL);
			pt_snapshot_free(ev.snap);
			if (line == NULL)
				die("out of memory");
			len = strlen(line);
			if ((grown = realloc(line, len + 2)) == NULL)
				die("out of memory");
			line = grown;
			line[len++] = '\n';
			line[len] = '\0';
			if (write_line(fd, line, len) < 0) {
				e = errno;
				if (fd == STDOUT_FILENO && e == EPIPE) {
					/* A closed pipe: end as quietly. */
					signal(SIGPIPE, SIG_DFL);
					raise(SIGPIPE);
				}
				/*
				 * A short write then a failure (a full disk)
				 * left part of the line: cut our file back to
				 * its last complete line.
				 */
				if (fd != STDOUT_FILENO &&
				    ftruncate(fd, written) < 0) {
					/* Nothing more to do: we die anyway. */
				}
				free(line);	/* no leak report at exit */
				die("cannot write %s: %s", shown_out,
				    strerror(e));
			}
			written += (off_t)len;
			free(line);
			n++;
			if (tty) {
				fprintf(stderr, "\rrecorded %llu snapshot%s "
				    "to %s", n, n == 1 ? "" : "s", shown_out);
				stderr_midline = 1;
			}
			if (o.count > 0 && n >= (unsigned long long)o.count)
				end = END_DONE;
			/*
			 * A recorder that falls behind always has another
			 * event here: still honour --duration and SIGINT,
			 * SIGTERM, SIGHUP.
			 */
			else if (deadline != 0 && now_ms() >= deadline)
				end = END_DONE;
			else if (poll(&pfd[1], 1, 0) > 0)
				end = END_SIGNAL;
		}
	}

	pt__client_close(c);
	end_progress();
	if (fd != STDOUT_FILENO) {
		if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
			die("cannot write %s: %s", shown_out, strerror(errno));
		if (close(fd) < 0)
			die("cannot write %s: %s", shown_out, strerror(errno));
	}

	switch (end) {
	case END_EXITED:
		if (target_exited(pid))
			fprintf(stderr, PROG ": target %d exited; recorded "
			    "%llu snapshot%s to %s\n", (int)pid, n,
			    n == 1 ? "" : "s", shown_out);
		else
			fprintf(stderr, PROG ": target %d stopped serving; "
			    "recorded %llu snapshot%s to %s\n", (int)pid, n,
			    n == 1 ? "" : "s", shown_out);
		return n > 0 ? 0 : 1;
	case END_SIGNAL:
		fprintf(stderr, PROG ": interrupted; recorded %llu snapshot%s "
		    "to %s\n", n, n == 1 ? "" : "s", shown_out);
		return n > 0 ? 0 : 1;
	default:
		return 0;
	}
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

	npos = parse_options("reset", argc, argv, "h", longopts, NULL, NULL,
	    pos, 1);
	pid = the_pid("reset", npos, pos);

	c = connect_or_die(pid);
	if ((rc = pt__client_reset(c)) < 0)
		die_stream(pid, rc);
	wait_event(c, pid, PT__EV_RESET_OK, &ev);
	pt__client_close(c);

	signal(SIGPIPE, SIG_DFL);
	printf("reset %d: epoch %llu\n", (int)pid,
	    (unsigned long long)ev.epoch);
	finish_stdout();
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
		usage_error("missing command");
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0)
		usage_exit();
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 ||
	    strcmp(cmd, "version") == 0) {
		signal(SIGPIPE, SIG_DFL);
		printf(PROG " %s\n", pt_version());
		finish_stdout();
		return 0;
	}
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);

	/* "perftop PID [options]" and "perftop --interval 2 PID" attach. */
	if (isdigit((unsigned char)cmd[0]) || cmd[0] == '-')
		return cmd_attach(argc, argv);
	usage_error("unknown command '%s'", shown(cmd, b, sizeof b));
}
