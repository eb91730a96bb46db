/*
 * rawclient - a raw client of a perftop agent socket, for the tests.
 *
 * Usage: rawclient SOCKET_PATH HEXBYTES [WAIT_MS]
 *        rawclient -l SOCKET_PATH HEXBYTES [WAIT_MS]
 *        rawclient -n SOCKET_PATH HEXBYTES [WAIT_MS]
 *
 * Connects to the Unix-domain socket SOCKET_PATH, sends the bytes spelled
 * in HEXBYTES (pairs of hex digits; spaces, ':' and '_' are ignored; "" or
 * "-" sends nothing), then reads until the peer closes the connection or
 * WAIT_MS milliseconds (default 1000) have passed since the send.  Prints
 * two lines: the bytes received in lowercase hex (an empty line when there
 * were none), then "EOF" (the peer closed or reset the connection) or
 * "TIMEOUT".  Exits 0 once connected, 1 when it cannot connect (with one
 * line on stderr), 2 on bad usage.
 *
 * With -l it plays a fake agent instead: it listens on SOCKET_PATH (which
 * must not exist), accepts one connection within 10 s, sends HEXBYTES at
 * once and then reads and prints as above; the socket file is removed at
 * the end.  Exits 1 when nobody connected.
 *
 * With -n it never reads: it connects, sends HEXBYTES, sleeps WAIT_MS and
 * closes with whatever the peer sent still unread (the peer's next send
 * then fails with EPIPE); it prints nothing.
 *
 * With -c N it attaches and detaches N times, HEXBYTES being a HELLO and
 * a SUBSCRIBE: cycle i closes, by i % 4, (0) at once, (1) after sending
 * the HELLO alone, (2) once a whole SNAPSHOT frame has come, (3) the same
 * after sending a BYE.  Each of the last two must get its snapshot within
 * WAIT_MS.  Prints "cycles=N snapshots=M"; exits 1 (with one line on
 * stderr) when a connection or a snapshot failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PROG		"rawclient"
#define MAX_RECV	(64u << 20)
#define ACCEPT_MS	10000

static void
usage(void)
{
	fprintf(stderr, "usage: " PROG " [-l | -n | -c N] SOCKET_PATH "
	    "HEXBYTES [WAIT_MS]\n");
	exit(2);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex into a new buffer; returns its length, or -1 when malformed. */
static long
parse_hex(const char *s, uint8_t **out)
{
	size_t n = 0, cap = strlen(s) / 2 + 1;
	uint8_t *buf;
	int hi = -1, v;

	if ((buf = malloc(cap)) == NULL)
		return -1;
	if (strcmp(s, "-") == 0)
		s = "";
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == ':' || *s == '_' || *s == '\n' ||
		    *s == '\t')
			continue;
		if ((v = hexval((unsigned char)*s)) < 0) {
			free(buf);
			return -1;
		}
		if (hi < 0)
			hi = v;
		else {
			buf[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	return (long)n;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Listens on sa, accepts one connection; its fd, or -1 after a message. */
static int
accept_one(const struct sockaddr_un *sa)
{
	struct pollfd pfd;
	int lfd, fd, n;

	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(lfd, (const struct sockaddr *)sa, sizeof *sa) < 0 ||
	    listen(lfd, 1) < 0) {
		fprintf(stderr, PROG ": listen %s: %s\n", sa->sun_path,
		    strerror(errno));
		return -1;
	}
	pfd.fd = lfd;
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, ACCEPT_MS)) < 0 && errno == EINTR)
		;
	if (n <= 0) {
		fprintf(stderr, PROG ": nobody connected to %s\n",
		    sa->sun_path);
		close(lfd);
		unlink(sa->sun_path);
		return -1;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, PROG ": accept: %s\n", strerror(errno));
	close(lfd);
	unlink(sa->sun_path);
	return fd;
}

/* Sends the n bytes at p, all of them; -1 when the peer hung up. */
static int
send_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = send(fd, p, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads frames until a whole SNAPSHOT (type 6) has come: 0, or -1 when
 * the peer closed or wait_ms passed first. */
static int
read_snapshot(int fd, long wait_ms)
{
	static uint8_t buf[1 << 16];
	int64_t deadline = now_ms() + wait_ms, left;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t have = 0;	/* bytes of the frame under way, up to 8 */
	uint64_t need = 0;	/* its bytes still to come after those */
	uint32_t len;
	uint16_t type = 0;
	ssize_t n;
	int r;

	for (;;) {
		if ((left = deadline - now_ms()) < 0)
			return -1;
		if ((r = poll(&pfd, 1, (int)left)) == 0)
			return -1;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		n = recv(fd, buf + have, have < 8 ? 8 - have :
		    (need < sizeof buf - 8 ? need : sizeof buf - 8), 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		if (have < 8) {
			have += (size_t)n;
			if (have < 8)
				continue;
			len = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 |
			    (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
			type = (uint16_t)(buf[4] | buf[5] << 8);
			if (len < 8)
				return -1;
			need = len - 8;
		} else
			need -= (uint64_t)n;
		if (have == 8 && need == 0) {
			if (type == 6)
				return 0;
			have = 0;
		}
	}
}

/* The -c mode: n attach/detach cycles (see the top of this file). */
static int
cycles(const struct sockaddr_un *sa, const uint8_t *hs, size_t hs_len,
    long n, long wait_ms)
{
	static const uint8_t bye[] = { 8, 0, 0, 0, 9, 0, 0, 0 };
	size_t hello_len;
	long i, snaps = 0;
	int fd;

	hello_len = hs_len >= 4 ? (size_t)hs[0] | (size_t)hs[1] << 8 : 0;
	if (hello_len < 8 || hello_len >= hs_len) {
		fprintf(stderr, PROG ": -c: HEXBYTES must be a HELLO and a "
		    "SUBSCRIBE\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) < 0 || connect(fd, (const struct sockaddr *)sa,
		    sizeof *sa) < 0) {
			fprintf(stderr, PROG ": cycle %ld: connect: %s\n", i,
			    strerror(errno));
			return 1;
		}
		switch (i % 4) {
		case 1:
			(void)send_all(fd, hs, hello_len);
			break;
		case 2:
		case 3:
			if (send_all(fd, hs, hs_len) != 0 ||
			    read_snapshot(fd, wait_ms) != 0) {
				fprintf(stderr, PROG ": cycle %ld: no "
				    "snapshot within %ld ms\n", i, wait_ms);
				close(fd);
				return 1;
			}
			snaps++;
			if (i % 4 == 3)
				(void)send_all(fd, bye, sizeof bye);
			break;
		}
		close(fd);
	}
	printf("cycles=%ld snapshots=%ld\n", n, snaps);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	struct pollfd pfd;
	uint8_t *send_buf, *recv_buf = NULL, *grown;
	size_t recv_len = 0, recv_cap = 0, off;
	long send_len, wait_ms = 1000;
	int64_t deadline, left;
	char *end;
	ssize_t n;
	int fd, eof = 0, listening = 0, no_read = 0;
	long n_cycles = 0;

	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		errno = 0;
		n_cycles = strtol(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || n_cycles < 1 ||
		    n_cycles > 10000000)
			usage();
		argc -= 2;
		argv += 2;
	} else if (argc > 1 && strcmp(argv[1], "-l") == 0) {
		listening = 1;
		argc--;
		argv++;
	} else if (argc > 1 && strcmp(argv[1], "-n") == 0) {
		no_read = 1;
		argc--;
		argv++;
	}
	if (argc < 3 || argc > 4)
		usage();
	if (argc == 4) {
		errno = 0;
		wait_ms = strtol(argv[3], &end, 10);
		if (errno != 0 || *end != '\0' || argv[3][0] == '\0' ||
		    wait_ms < 0 || wait_ms > 3600000)
			usage();
	}
	if ((send_len = parse_hex(argv[2], &send_buf)) < 0) {
		fprintf(stderr, PROG ": malformed HEXBYTES\n");
		return 2;
	}
	if (strlen(argv[1]) >= sizeof sa.sun_path) {
		fprintf(stderr, PROG ": %s: path too long\n", argv[1]);
		return 1;
	}

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, argv[1], strlen(argv[1]));
	if (n_cycles > 0) {
		int rc = cycles(&sa, send_buf, (size_t)send_len, n_cycles,
		    wait_ms);

		free(send_buf);
		return rc;
	}
	if (listening) {
		if ((fd = accept_one(&sa)) < 0)
			return 1;
	} else {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
			fprintf(stderr, PROG ": socket: %s\n",
			    strerror(errno));
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			fprintf(stderr, PROG ": connect %s: %s\n", argv[1],
			    strerror(errno));
			return 1;
		}
	}

	/* Send everything; a peer that hangs up early (EPIPE, ECONNRESET)
	 * is not an error: read what came back. */
	(void)send_all(fd, send_buf, (size_t)send_len);
	free(send_buf);

	if (no_read) {
		struct timespec ts = {
			.tv_sec = wait_ms / 1000,
			.tv_nsec = (wait_ms % 1000) * 1000000L,
		};

		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		close(fd);
		return 0;
	}

	deadline = now_ms() + wait_ms;
	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		pfd.fd = fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
			break;	/* timed out */
		if (recv_len == recv_cap) {
			recv_cap = recv_cap ? recv_cap * 2 : 4096;
			if (recv_cap > MAX_RECV ||
			    (grown = realloc(recv_buf, recv_cap)) == NULL) {
				fprintf(stderr, PROG ": too much data\n");
				return 1;
			}
			recv_buf = grown;
		}
		n = recv(fd, recv_buf + recv_len, recv_cap - recv_len, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			eof = 1;	/* ECONNRESET: closed all the same */
			break;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
		recv_len += (size_t)n;
	}
	close(fd);

	for (off = 0; off < recv_len; off++)
		printf("%02x", recv_buf[off]);
	printf("\n%s\n", eof ? "EOF" : "TIMEOUT");
	free(recv_buf);
	return fflush(stdout) == 0 ? 0 : 1;
}
