/*
 * sockpath.c - where the agents' sockets live, and whether that place is
 * safe to use.
 *
 * The directory is $PERFTOP_SOCKET_DIR, else $XDG_RUNTIME_DIR/perftop when
 * XDG_RUNTIME_DIR is an absolute path to an existing directory of ours, else
 * /tmp/perftop-UID.  Root looking for another user's process applies the
 * same rules to that user and to the process's environment (the agent
 * accepts root as a peer), unless root's own PERFTOP_SOCKET_DIR is set.  Whoever can write in that directory can impersonate any
 * of our processes, so it must be a real directory (not a symbolic link),
 * owned by the effective uid and closed to group and others.  The umask is
 * never changed: mkdir()'s mode can only be narrowed by it, and the result is
 * checked anyway.
 */
#include "ipc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)
/* "/" + the longest pid + ".sock" */
#define SOCK_NAME_MAX	(1 + 10 + 5)
/* Room for a directory read from another process's environment. */
#define PATH_MAX_DIR	SUN_PATH_MAX

static void
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Does a socket in dir fit in sun_path? */
static int
fits(const char *dir)
{
	return strlen(dir) + SOCK_NAME_MAX < SUN_PATH_MAX;
}

/* Is XDG_RUNTIME_DIR usable: set, absolute, an existing directory of uid? */
static int
xdg_usable(const char *xdg, uid_t uid)
{
	struct stat st;

	if (xdg == NULL || xdg[0] != '/')
		return 0;
	if (stat(xdg, &st) == -1 || !S_ISDIR(st.st_mode) || st.st_uid != uid)
		return 0;
	return 1;
}

/*
 * Picks the directory of uid's agents by the rules above, with sockdir and
 * xdg the values of PERFTOP_SOCKET_DIR and XDG_RUNTIME_DIR in their
 * environment (NULL when unset); 0 or PT_EINVAL/PT_ENAMETOOLONG.
 */
static int
choose_for(uid_t uid, const char *sockdir, const char *xdg, char *buf,
    size_t len, char *err, size_t errlen)
{
	const char *env = sockdir;
	size_t n;
	int w;

	if (env != NULL && env[0] != '\0') {
		if (env[0] != '/') {
			say(err, errlen, "PERFTOP_SOCKET_DIR=%s: not an "
			    "absolute path", env);
			return PT_EINVAL;
		}
		if (strlcpy(buf, env, len) >= len) {
			say(err, errlen, "PERFTOP_SOCKET_DIR: path too long");
			return PT_ENAMETOOLONG;
		}
		/* Drop trailing slashes, keeping a lone "/". */
		for (n = strlen(buf); n > 1 && buf[n - 1] == '/'; n--)
			buf[n - 1] = '\0';
		return 0;
	}
	env = xdg;
	if (xdg_usable(env, uid)) {
		w = snprintf(buf, len, "%s%sperftop", env,
		    env[strlen(env) - 1] == '/' ? "" : "/");
		if (w > 0 && (size_t)w < len && fits(buf))
			return 0;
	}
	w = snprintf(buf, len, "/tmp/perftop-%lu", (unsigned long)uid);
	if (w < 0 || (size_t)w >= len) {
		say(err, errlen, "socket directory: buffer too small");
		return PT_ENAMETOOLONG;
	}
	return 0;
}

/*
 * Checks (after creating it, with create) the directory in buf: a real
 * directory owned by uid, closed to group and others.
 */
static int
check_dir(char *buf, uid_t uid, int create, char *err, size_t errlen)
{
	struct stat st;
	mode_t mode;
	int rc;

	if (!fits(buf)) {
		say(err, errlen, "%s: too long for a socket path (at most %zu "
		    "bytes)", buf, SUN_PATH_MAX - SOCK_NAME_MAX - 1);
		return PT_ENAMETOOLONG;
	}
	if (create && mkdir(buf, 0700) == -1 && errno != EEXIST) {
		rc = errno;
		say(err, errlen, "%s: cannot create directory: %s", buf,
		    strerror(rc));
		return rc == ENOENT ? PT_ENOENT : rc == EACCES ? PT_EPERM :
		    PT_ESYS;
	}
	if (lstat(buf, &st) == -1) {
		rc = errno;
		if (rc == ENOENT) {
			say(err, errlen, "%s: no such directory", buf);
			return PT_ENOENT;
		}
		say(err, errlen, "%s: %s", buf, strerror(rc));
		return rc == EACCES ? PT_EPERM : PT_ESYS;
	}
	if (S_ISLNK(st.st_mode)) {
		say(err, errlen, "%s: is a symbolic link (refused)", buf);
		return PT_EPERM;
	}
	if (!S_ISDIR(st.st_mode)) {
		say(err, errlen, "%s: not a directory", buf);
		return PT_EPERM;
	}
	if (st.st_uid != uid) {
		say(err, errlen, "%s: owned by uid %lu, not by uid %lu", buf,
		    (unsigned long)st.st_uid, (unsigned long)uid);
		return PT_EPERM;
	}
	mode = st.st_mode & 07777;
	if ((mode & 077) != 0 || (mode & 0700) != 0700) {
		say(err, errlen, "%s: unsafe permissions %04o (must be 0700)",
		    buf, (unsigned)mode);
		return PT_EPERM;
	}
	return 0;
}

int
pt__sockdir(char *buf, size_t len, int create, char *err, size_t errlen)
{
	int rc;

	if (buf == NULL || len == 0)
		return PT_EINVAL;
	buf[0] = '\0';
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((rc = choose_for(geteuid(), getenv("PERFTOP_SOCKET_DIR"),
	    getenv("XDG_RUNTIME_DIR"), buf, len, err, errlen)) != 0)
		return rc;
	return check_dir(buf, geteuid(), create, err, errlen);
}

/* The effective uid of process pid (from /proc), or -1. */
static long
proc_euid(pid_t pid)
{
	char path[64], line[256];
	unsigned long r, e;
	long uid = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "Uid: %lu %lu", &r, &e) == 2) {
			uid = (long)e;
			break;
		}
	fclose(f);
	return uid;
}

/*
 * Reads the values of PERFTOP_SOCKET_DIR and XDG_RUNTIME_DIR from pid's
 * environment as it was at its start (/proc/PID/environ) into sockdir and
 * xdg ("" when unset).  0 or -1.
 */
static int
proc_env(pid_t pid, char *sockdir, char *xdg, size_t len)
{
	char path[64], entry[PATH_MAX_DIR + 32];
	size_t n = 0;
	int c, whole = 1;
	FILE *f;

	sockdir[0] = xdg[0] = '\0';
	snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	/* NUL-separated entries; longer ones than entry are not ours. */
	while ((c = getc(f)) != EOF) {
		if (c != '\0') {
			if (n + 1 < sizeof entry)
				entry[n++] = (char)c;
			else
				whole = 0;
			continue;
		}
		entry[n] = '\0';
		if (whole && strncmp(entry, "PERFTOP_SOCKET_DIR=", 19) == 0)
			strlcpy(sockdir, entry + 19, len);
		else if (whole && strncmp(entry, "XDG_RUNTIME_DIR=", 16) == 0)
			strlcpy(xdg, entry + 16, len);
		n = 0;
		whole = 1;
	}
	fclose(f);
	return 0;
}

int
pt__sockdir_of(pid_t pid, char *buf, size_t len, char *err, size_t errlen)
{
	char sockdir[PATH_MAX_DIR], xdg[PATH_MAX_DIR];
	const char *own = getenv("PERFTOP_SOCKET_DIR");
	long uid;
	int rc;

	if (buf == NULL || len == 0 || pid <= 0)
		return PT_EINVAL;
	/* Ours, unless root looks for another user's process. */
	if (geteuid() != 0 || (own != NULL && own[0] != '\0') ||
	    (uid = proc_euid(pid)) <= 0)
		return pt__sockdir(buf, len, 0, err, errlen);
	buf[0] = '\0';
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (proc_env(pid, sockdir, xdg, sizeof sockdir) != 0)
		sockdir[0] = xdg[0] = '\0';
	if ((rc = choose_for((uid_t)uid, sockdir[0] != '\0' ? sockdir : NULL,
	    xdg[0] != '\0' ? xdg : NULL, buf, len, err, errlen)) != 0)
		return rc;
	return check_dir(buf, (uid_t)uid, 0, err, errlen);
}

int
pt__sockpath(const char *dir, pid_t pid, char *buf, size_t len)
{
	int w;

	if (dir == NULL || buf == NULL || len == 0 || pid <= 0)
		return PT_EINVAL;
	w = snprintf(buf, len, "%s/%ld.sock", dir, (long)pid);
	if (w < 0 || (size_t)w >= len || (size_t)w >= SUN_PATH_MAX) {
		buf[0] = '\0';
		return PT_ENAMETOOLONG;
	}
	return 0;
}
