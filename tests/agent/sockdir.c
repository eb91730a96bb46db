/*
 * sockdir.c - the rules of the socket directory (PERFTOP_SOCKET_DIR,
 * XDG_RUNTIME_DIR, /tmp/perftop-UID) and the socket path.
 */
#include "agent-test.h"

/* ------------------------------------------------------------------------ */
/* Socket directory                                                          */
/* ------------------------------------------------------------------------ */

static void
test_sockdir_rules(void)
{
	char dir[PATH_LEN], sub[128], link[512], err[512], want[512];
	char longdir[200];
	struct stat st;
	mode_t old;

	/* Missing directory: ENOENT without create; created 0700 with it,
	 * whatever the umask. */
	snprintf(sub, sizeof sub, "%s/new", tmpdir);
	setenv("PERFTOP_SOCKET_DIR", sub, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 0, err, sizeof err),
	    PT_ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, sub));
	old = umask(0);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err), 0);
	umask(old);
	CU_ASSERT_STRING_EQUAL(dir, sub);
	CU_ASSERT(stat(sub, &st) == 0 && (st.st_mode & 07777) == 0700);

	/* Trailing slashes are dropped. */
	snprintf(link, sizeof link, "%s//", sub);
	setenv("PERFTOP_SOCKET_DIR", link, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 0, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(dir, sub);

	/* A symbolic link to a good directory is refused. */
	snprintf(link, sizeof link, "%s/link", tmpdir);
	CU_ASSERT_EQUAL(symlink(sub, link), 0);
	setenv("PERFTOP_SOCKET_DIR", link, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, link));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "symbolic link"));

	/* Group/other permissions are refused, with the mode in the text. */
	CU_ASSERT_EQUAL(chmod(sub, 0777), 0);
	setenv("PERFTOP_SOCKET_DIR", sub, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_EPERM);
	snprintf(want, sizeof want, "%s: unsafe permissions 0777 (must be "
	    "0700)", sub);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(chmod(sub, 0750), 0);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0750"));
	CU_ASSERT_EQUAL(chmod(sub, 0700), 0);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err), 0);

	/* A file that is not a directory. */
	snprintf(link, sizeof link, "%s/file", tmpdir);
	close(open(link, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	setenv("PERFTOP_SOCKET_DIR", link, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a directory"));

	/* Owned by someone else (needs root to arrange). */
	if (geteuid() == 0) {
		snprintf(link, sizeof link, "%s/other", tmpdir);
		CU_ASSERT_EQUAL(mkdir(link, 0700), 0);
		CU_ASSERT_EQUAL(chown(link, 65534, 65534), 0);
		setenv("PERFTOP_SOCKET_DIR", link, 1);
		CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err,
		    sizeof err), PT_EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "owned by uid 65534"));
	}

	/* Too long for sun_path. */
	memset(longdir, 'x', sizeof longdir - 1);
	longdir[0] = '/';
	longdir[sizeof longdir - 1] = '\0';
	setenv("PERFTOP_SOCKET_DIR", longdir, 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 1, err, sizeof err),
	    PT_ENAMETOOLONG);

	/* Relative override: refused. */
	setenv("PERFTOP_SOCKET_DIR", "relative/dir", 1);
	CU_ASSERT_EQUAL(pt__sockdir(dir, sizeof dir, 0, err, sizeof err),
	    PT_EINVAL);

	/* XDG_RUNTIME_DIR when usable, else /tmp/perftop-UID. */
	unsetenv("PERFTOP_SOCKET_DIR");
	setenv("XDG_RUNTIME_DIR", tmpdir, 1);
	pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	snprintf(want, sizeof want, "%s/perftop", tmpdir);
	CU_ASSERT_STRING_EQUAL(dir, want);
	snprintf(want, sizeof want, "/tmp/perftop-%lu",
	    (unsigned long)geteuid());
	setenv("XDG_RUNTIME_DIR", "relative", 1);
	pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	CU_ASSERT_STRING_EQUAL(dir, want);
	snprintf(link, sizeof link, "%s/no-such-dir", tmpdir);
	setenv("XDG_RUNTIME_DIR", link, 1);
	pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	CU_ASSERT_STRING_EQUAL(dir, want);
	unsetenv("XDG_RUNTIME_DIR");
	pt__sockdir(dir, sizeof dir, 0, err, sizeof err);
	CU_ASSERT_STRING_EQUAL(dir, want);

	/* The socket path. */
	CU_ASSERT_EQUAL(pt__sockpath("/d", 42, dir, sizeof dir), 0);
	CU_ASSERT_STRING_EQUAL(dir, "/d/42.sock");
	CU_ASSERT_EQUAL(pt__sockpath("/d", 42, dir, 5), PT_ENAMETOOLONG);
	CU_ASSERT_EQUAL(pt__sockpath("/d", 0, dir, sizeof dir), PT_EINVAL);

	setenv("PERFTOP_SOCKET_DIR", tmpdir, 1);
}

const struct cunit_test sockdir_tests[] = {
	{ "sockdir rules", test_sockdir_rules },
	{ NULL, NULL }
};
