/*
 * record.c - perftop record: snapshots of a target as JSON Lines, one line
 * each, flushed as it goes; stops after --count or --duration, on SIGINT or
 * SIGTERM, or when the target exits, and never leaves part of a line.
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
			cli_usage_error("record: -o: empty file name");
		o->output = arg;
		break;
	case 'i':
		o->interval_ms = (int)lround(cli_parse_seconds("--interval", arg,
		    INTERVAL_MIN_S, INTERVAL_MAX_S) * 1000);
		break;
	case 'n':
		o->count = cli_parse_whole("--count", arg, 1, LLONG_MAX);
		break;
	case 't':
		o->duration_ms = llround(cli_parse_seconds("--duration", arg,
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
		cli_die("pipe: %s", strerror(errno));
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

int
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

	npos = cli_parse_options("record", argc, argv, "o:i:n:t:h", longopts,
	    record_option, &o, pos, 1);
	pid = cli_the_pid("record", npos, pos);
	if (o.output == NULL)
		cli_usage_error("record: missing -o FILE");
	if (o.count > 0 && o.duration_ms > 0)
		cli_usage_error("record: --count and --duration cannot be used "
		    "together");
	if (strcmp(o.output, "-") == 0)
		strlcpy(shown_out, "standard output", sizeof shown_out);
	else
		cli_shown(o.output, shown_out, sizeof shown_out);

	/* Connect first: a bad PID creates no file. */
	c = cli_connect(pid);
	if (strcmp(o.output, "-") == 0)
		fd = STDOUT_FILENO;
	else if ((fd = open(o.output, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) < 0)
		cli_die("cannot open %s: %s", shown_out, strerror(errno));
	install_stop_handlers();
	tty = isatty(STDERR_FILENO);

	if ((rc = pt__client_subscribe(c, (uint32_t)o.interval_ms)) < 0)
		cli_die_stream(pid, rc);
	if (o.duration_ms > 0)
		deadline = cli_now_ms() + (uint64_t)o.duration_ms;

	while (end == END_NONE) {
		timeout = -1;
		if (deadline != 0) {
			uint64_t now = cli_now_ms();

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
			cli_die("poll: %s", strerror(errno));
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
				cli_die_stream(pid, rc);
			if (ev.type == PT__EV_ERROR)
				cli_die_agent_error(pid, &ev);
			if (ev.type != PT__EV_SNAPSHOT)
				continue;

			/* One write(2) per complete line. */
			line = export_json_line(ev.snap, NULL);
			pt_snapshot_free(ev.snap);
			if (line == NULL)
				cli_die("out of memory");
			len = strlen(line);
			if ((grown = realloc(line, len + 2)) == NULL)
				cli_die("out of memory");
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
					/* Nothing more to do: we cli_die anyway. */
				}
				free(line);	/* no leak report at exit */
				cli_die("cannot write %s: %s", shown_out,
				    strerror(e));
			}
			written += (off_t)len;
			free(line);
			n++;
			if (tty) {
				fprintf(stderr, "\rrecorded %llu snapshot%s "
				    "to %s", n, n == 1 ? "" : "s", shown_out);
				cli_stderr_midline = 1;
			}
			if (o.count > 0 && n >= (unsigned long long)o.count)
				end = END_DONE;
			/*
			 * A recorder that falls behind always has another
			 * event here: still honour --duration and SIGINT,
			 * SIGTERM, SIGHUP.
			 */
			else if (deadline != 0 && cli_now_ms() >= deadline)
				end = END_DONE;
			else if (poll(&pfd[1], 1, 0) > 0)
				end = END_SIGNAL;
		}
	}

	pt__client_close(c);
	cli_end_progress();
	if (fd != STDOUT_FILENO) {
		if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
			cli_die("cannot write %s: %s", shown_out, strerror(errno));
		if (close(fd) < 0)
			cli_die("cannot write %s: %s", shown_out, strerror(errno));
	}

	switch (end) {
	case END_EXITED:
		if (cli_target_exited(pid))
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
