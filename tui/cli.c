/*
 * cli.c - what the subcommands share: one-line messages on stderr and the
 * exits (0 success, 1 an error, 2 bad usage), the usage text, strict
 * parsing of options, PIDs, seconds and whole numbers, and talking to a
 * target (connect, wait for an answer, explain a closed connection).
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
void
cli_one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* Set while a progress line ("\rrecorded N ...") is left open on stderr. */
int	cli_stderr_midline;

/* Ends an open progress line, so that the next message has its own. */
void
cli_end_progress(void)
{
	if (cli_stderr_midline) {
		fputc('\n', stderr);
		cli_stderr_midline = 0;
	}
}

static void
vmessage(const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof buf, fmt, ap);
	cli_one_line(buf);
	cli_end_progress();
	fprintf(stderr, PROG ": %s\n", buf);
}

/* Prints one line on stderr, a cli_note or a warning; goes on. */
void __attribute__((format(printf, 1, 2)))
cli_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

/* Prints one error line and exits with status 1. */
void __attribute__((noreturn, format(printf, 1, 2)))
cli_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(1);
}

/* Prints one line about bad usage and exits with status 2. */
void __attribute__((noreturn, format(printf, 1, 2)))
cli_usage_error(const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	cli_one_line(buf);
	fprintf(stderr, PROG ": %s (see 'perftop --help')\n", buf);
	exit(EXIT_USAGE);
}

void __attribute__((noreturn))
cli_usage_exit(void)
{
	fputs(usage_text, stdout);
	if (fflush(stdout) != 0 || ferror(stdout))
		exit(1);
	exit(0);
}

/* A short, printable copy of an argument for messages. */
const char *
cli_shown(const char *s, char *buf, size_t len)
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
			    "positive number", cli_shown(s, b, sizeof b));
		else if (strcmp(errstr, "too large") == 0)
			snprintf(err, errlen, "invalid PID '%s': too large",
			    cli_shown(s, b, sizeof b));
		else
			snprintf(err, errlen, "invalid PID '%s': not a number",
			    cli_shown(s, b, sizeof b));
		return 0;
	}
	/* strtonum takes " 12" and "+12" too: a PID is digits only. */
	for (p = s; *p != '\0'; p++)
		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, "invalid PID '%s': not a number",
			    cli_shown(s, b, sizeof b));
			return 0;
		}
	return (pid_t)v;
}

pid_t
cli_parse_pid_or_die(const char *s)
{
	char err[128];
	pid_t pid;

	if ((pid = cli_parse_pid(s, err, sizeof err)) == 0)
		cli_usage_error("%s", err);
	return pid;
}

/*
 * Parses a number of seconds: digits with an optional fraction and
 * exponent, nothing else (no sign, no spaces, no "inf" or hex), within
 * [min, max].
 */
double
cli_parse_seconds(const char *opt, const char *s, double min, double max)
{
	char b[40], *end;
	double v;

	if (*s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s) ||
	    !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		cli_usage_error("%s: '%s' is not a number of seconds", opt,
		    cli_shown(s, b, sizeof b));
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		cli_usage_error("%s: '%s' is not a number of seconds", opt,
		    cli_shown(s, b, sizeof b));
	if (v < min)
		cli_usage_error("%s: %s is too small (at least %.10g seconds)",
		    opt, cli_shown(s, b, sizeof b), min);
	if (v > max)
		cli_usage_error("%s: %s is too large (at most %.10g seconds)",
		    opt, cli_shown(s, b, sizeof b), max);
	return v;
}

/* Parses a whole number within [min, max] (digits only). */
long long
cli_parse_whole(const char *opt, const char *s, long long min, long long max)
{
	const char *errstr;
	char b[40];
	long long v;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		cli_usage_error("%s: '%s' is not a whole number", opt,
		    cli_shown(s, b, sizeof b));
	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL && strcmp(errstr, "too small") == 0)
		cli_usage_error("%s: %s is too small (at least %lld)", opt,
		    cli_shown(s, b, sizeof b), min);
	if (errstr != NULL)
		cli_usage_error("%s: %s is too large (at most %lld)", opt,
		    cli_shown(s, b, sizeof b), max);
	return v;
}

static int
looks_like_negative_number(const char *s)
{
	return s[0] == '-' && isdigit((unsigned char)s[1]);
}

/* Called for each option a subcommand parses. */

/*
 * Parses the options of subcommand cmd with getopt_long: argv[0] is not
 * looked at, options may come before and after the positional arguments,
 * "--" ends the options, and an argument such as "-1" is positional (a bad
 * PID, reported as such) rather than an unknown option.  Up to maxpos
 * positional arguments are stored in pos; more are a usage error.  --help
 * prints the usage and exits.  Called once per process (getopt keeps
 * state).
 */
int
cli_parse_options(const char *cmd, int argc, char **argv,
    const char *shortopts, const struct option *longopts, cli_option_fn fn,
    void *ctx, char **pos, int maxpos)
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
				cli_usage_error("%s: unexpected argument '%s'",
				    cmd, cli_shown(arg, b, sizeof b));
			pos[npos++] = argv[optind++];
			continue;
		}
		start = optind;
		c = getopt_long(argc, argv, opts, longopts, NULL);
		switch (c) {
		case -1:	/* not reached: arg is an option */
			cli_usage_error("%s: unexpected argument '%s'", cmd,
			    cli_shown(arg, b, sizeof b));
		case 'h':
			cli_usage_exit();
		case '?':
			if (strncmp(argv[start], "--", 2) != 0)
				cli_usage_error("%s: unknown option '-%c'", cmd,
				    isprint(optopt) ? optopt : '?');
			if (optopt != 0 && strchr(argv[start], '=') != NULL)
				cli_usage_error("%s: option '%s' takes no value",
				    cmd, cli_shown(argv[start], b, sizeof b));
			cli_usage_error("%s: unknown option '%s'", cmd,
			    cli_shown(argv[start], b, sizeof b));
		case ':':
			cli_usage_error("%s: option '%s' needs a value", cmd,
			    cli_shown(argv[start], b, sizeof b));
		default:
			if (fn != NULL)
				fn(c, optarg, ctx);
		}
	}
	return npos;
}

pid_t
cli_the_pid(const char *cmd, int npos, char **pos)
{
	if (npos == 0)
		cli_usage_error("%s: missing PID", cmd);
	return cli_parse_pid_or_die(pos[0]);
}

/* ------------------------------------------------------------------------ */
/* Talking to the target                                                     */
/* ------------------------------------------------------------------------ */

uint64_t
cli_now_ms(void)
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
struct pt__client *
cli_connect_req(pid_t pid, int req)
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
		cli_die("%s", err);
	}
	return c;
}

struct pt__client *
cli_connect(pid_t pid)
{
	return cli_connect_req(pid, 0);
}

/* Is pid gone: no such process, or a zombie nobody has reaped yet? */
int
cli_process_gone(pid_t pid)
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
int
cli_target_exited(pid_t pid)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (cli_process_gone(pid))
			return 1;
		(void)poll(NULL, 0, 10);
	}
	return 0;
}

/* Dies with one line for a failed pt__client_* call or stream. */
void __attribute__((noreturn))
cli_die_stream(pid_t pid, int rc)
{
	switch (rc) {
	case PT_ECLOSED:
		if (cli_target_exited(pid))
			cli_die("process %d exited", (int)pid);
		cli_die("process %d closed the connection", (int)pid);
	case PT_EPROTO:
		cli_die("process %d sent malformed data", (int)pid);
	case PT_ETIMEDOUT:
		cli_die("process %d did not answer in time", (int)pid);
	case PT_ESYS:
		cli_die("process %d: %s", (int)pid, strerror(errno));
	default:
		cli_die("process %d: %s", (int)pid, pt_strerror(rc));
	}
}

void __attribute__((noreturn))
cli_die_agent_error(pid_t pid, const struct pt__event *ev)
{
	cli_die("process %d: %s", (int)pid, ev->msg[0] != '\0' ? ev->msg :
	    pt_strerror(ev->code));
}

/*
 * Waits up to ANSWER_TIMEOUT_MS for an event of type want and stores it in
 * ev; snapshots that are not wanted are dropped.  Dies on anything else.
 */
void
cli_wait_event(struct pt__client *c, pid_t pid, int want,
    struct pt__event *ev)
{
	uint64_t deadline = cli_now_ms() + ANSWER_TIMEOUT_MS, now;
	int rc;

	for (;;) {
		now = cli_now_ms();
		if (now >= deadline)
			cli_die_stream(pid, PT_ETIMEDOUT);
		memset(ev, 0, sizeof *ev);
		rc = pt__client_next(c, (int)(deadline - now), ev);
		if (rc < 0)
			cli_die_stream(pid, rc);
		if (rc == 0)
			continue;
		if (ev->type == want)
			return;
		if (ev->type == PT__EV_ERROR)
			cli_die_agent_error(pid, ev);
		if (ev->type == PT__EV_SNAPSHOT)
			pt_snapshot_free(ev->snap);
	}
}

/* Output to stdout: dies on a write error (EPIPE kills like SIGPIPE). */
void
cli_finish_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE) {
			signal(SIGPIPE, SIG_DFL);
			raise(SIGPIPE);
		}
		cli_die("cannot write to standard output: %s", strerror(errno));
	}
}
