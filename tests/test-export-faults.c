/*
 * test-export-faults.c - CUnit tests of the atomic file writer of
 * tui/export.c (export_write_atomic, export_snapshot_file: what the w key
 * of the live view writes) under injected faults: write fails (ENOSPC, EIO,
 * EAGAIN), is interrupted (EINTR) or short, fsync of the file or of the
 * directory fails, rename fails.  tests/faultshim.c is compiled into this
 * program and configured with faultshim_configure() before each write.
 *
 * Every write must end in one of two ways: it returns 0 and the file holds
 * exactly the new bytes; or it returns -1 with one line "cannot write PATH:
 * REASON" and the file holds exactly the old bytes (or still does not
 * exist) - only a failed sync of the directory, which comes after the
 * rename, leaves the new bytes in place while reporting the error.  No
 * temporary file is ever left behind.
 *
 * Prints "reliability: faults injected=N sites=M failures=F" at the end.
 */
#include "tui.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include <CUnit/Basic.h>

#include "cunit.h"

/* From tests/faultshim.c. */
int	faultshim_configure(const char *spec);
unsigned long faultshim_injected(void);

#define BIG_LEN		(300 * 1024)	/* several short writes' worth */

static char	 workdir[256];
static char	 target[512];
static char	*old_data, *new_data;

/* Faults injected, distinct CALL:N that fired, cases that went wrong. */
static unsigned long	 n_injected;
static unsigned long	 n_failures;
static char		 sites[64][16];
static int		 n_sites;

static void
note_site(const char *call, int n)
{
	char s[16];
	int i;

	snprintf(s, sizeof s, "%s:%d", call, n);
	for (i = 0; i < n_sites; i++)
		if (strcmp(sites[i], s) == 0)
			return;
	if (n_sites < 64)
		strcpy(sites[n_sites++], s);
}

/* Fills n bytes of recognisable text, different for each seed. */
static char *
make_data(size_t n, int seed)
{
	char *p = malloc(n);
	size_t i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		p[i] = (char)('a' + (i * 7 + (size_t)seed * 3) % 26);
	if (n > 0)
		p[n - 1] = '\n';
	return p;
}

/* Removes everything in workdir. */
static void
clean_workdir(void)
{
	char path[1024];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(workdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", workdir, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
}

/* The names in workdir other than keep ("" keeps nothing), in buf. */
static int
stray_files(const char *keep, char *buf, size_t len)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	buf[0] = '\0';
	if ((d = opendir(workdir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, keep) == 0)
			continue;
		strlcat(buf, de->d_name, len);
		strlcat(buf, " ", len);
		n++;
	}
	closedir(d);
	return n;
}

/* Writes a file without the writer under test (stdio is not faulted). */
static void
put_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

/* Is the file at path exactly data[0..len)?  (len (size_t)-1: absent.) */
static int
file_is(const char *path, const char *data, size_t len)
{
	struct stat st;
	char *buf;
	FILE *f;
	int same;

	if (len == (size_t)-1)
		return lstat(path, &st) < 0 && errno == ENOENT;
	if (stat(path, &st) < 0 || (size_t)st.st_size != len)
		return 0;
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	buf = malloc(len + 1);
	same = buf != NULL && fread(buf, 1, len + 1, f) == len &&
	    memcmp(buf, data, len) == 0;
	free(buf);
	fclose(f);
	return same;
}

enum expect {
	EXPECT_NEW,		/* returns 0, the new bytes */
	EXPECT_OLD,		/* returns -1, the old bytes (or none) */
	EXPECT_FAIL_NEW,	/* returns -1, the new bytes (after rename) */
};

/*
 * Writes new_data[0..new_len) over target (which holds old_len bytes of
 * old_data first, or does not exist when have_old is 0) with the faults of
 * spec, and checks the outcome against want.  fires: how many faults must
 * have been injected.
 */
static void
run_case(const char *spec, int have_old, size_t old_len, size_t new_len,
    unsigned long fires, enum expect want)
{
	char err[1024], prefix[600], stray[512];
	unsigned long injected;
	int rc, ok = 1;

	clean_workdir();
	if (have_old)
		put_file(target, old_data, old_len);
	CU_ASSERT_FATAL(faultshim_configure(spec) == 0);
	err[0] = '\0';
	rc = export_write_atomic(target, new_data, new_len, err, sizeof err);
	injected = faultshim_injected();
	faultshim_configure(NULL);
	n_injected += injected;

	if (injected != fires) {
		fprintf(stderr, "%s: %lu faults injected, want %lu\n", spec,
		    injected, fires);
		ok = 0;
	}
	snprintf(prefix, sizeof prefix, "cannot write %s: ", target);
	switch (want) {
	case EXPECT_NEW:
		if (rc != 0 || !file_is(target, new_data, new_len)) {
			fprintf(stderr, "%s: rc %d (%s), want the new file\n",
			    spec, rc, err);
			ok = 0;
		}
		break;
	case EXPECT_OLD:
	case EXPECT_FAIL_NEW:
		if (rc != -1) {
			fprintf(stderr, "%s: rc %d, want -1\n", spec, rc);
			ok = 0;
		}
		if (strncmp(err, prefix, strlen(prefix)) != 0 ||
		    strlen(err) == strlen(prefix) || strchr(err, '\n') != NULL) {
			fprintf(stderr, "%s: bad message '%s'\n", spec, err);
			ok = 0;
		}
		if (want == EXPECT_FAIL_NEW ?
		    !file_is(target, new_data, new_len) :
		    !file_is(target, old_data, have_old ? old_len : (size_t)-1)) {
			fprintf(stderr, "%s: the file is not the %s one\n",
			    spec, want == EXPECT_FAIL_NEW ? "new" : "old");
			ok = 0;
		}
		break;
	}
	if (stray_files(strrchr(target, '/') + 1, stray, sizeof stray) != 0) {
		fprintf(stderr, "%s: left behind: %s\n", spec, stray);
		ok = 0;
	}
	if (!ok)
		n_failures++;
	CU_ASSERT(ok);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

static void
test_no_fault(void)
{
	run_case("", 1, 1000, 2000, 0, EXPECT_NEW);
	run_case("", 0, 0, 2000, 0, EXPECT_NEW);
	run_case("", 1, 1000, 0, 0, EXPECT_NEW);	/* an empty file */
}

/*
 * Every fault at every call number the writer makes (write #1, fsync #1
 * of the file, rename #1, fsync #2 of the directory), over an existing file
 * and over none.  Call numbers past the last call must change nothing.
 */
static void
test_sweep(void)
{
	static const char *const errs[] = {
		"EINTR", "EAGAIN", "ENOSPC", "EIO", "short",
	};
	static const struct {
		const char	*call;
		int		 calls;	/* how many the writer makes */
	} calls[] = {
		{ "write", 1 }, { "fsync", 2 }, { "rename", 1 },
	};
	char spec[64];
	size_t c, e;
	int n, have_old, retried;
	enum expect want;

	for (c = 0; c < sizeof calls / sizeof calls[0]; c++) {
		for (e = 0; e < sizeof errs / sizeof errs[0]; e++) {
			if (strcmp(errs[e], "short") == 0 &&
			    strcmp(calls[c].call, "write") != 0)
				continue;
			for (n = 1; n <= calls[c].calls + 1; n++) {
				snprintf(spec, sizeof spec, "%s:%d:%s",
				    calls[c].call, n, errs[e]);
				/* write_all retries EINTR and short writes. */
				retried = strcmp(calls[c].call, "write") == 0 &&
				    (strcmp(errs[e], "EINTR") == 0 ||
				    strcmp(errs[e], "short") == 0);
				if (n > calls[c].calls || retried)
					want = EXPECT_NEW;
				else if (strcmp(calls[c].call, "fsync") == 0 &&
				    n == 2)
					want = EXPECT_FAIL_NEW;
				else
					want = EXPECT_OLD;
				for (have_old = 0; have_old <= 1; have_old++)
					run_case(spec, have_old, 5000, 3000,
					    n <= calls[c].calls, want);
				if (n <= calls[c].calls)
					note_site(calls[c].call, n);
			}
		}
	}
}

/*
 * A disk filling up: short writes, then ENOSPC, part of the new bytes
 * already in the temporary file.  The old file stays whole.
 */
static void
test_short_then_full(void)
{
	run_case("write:1:short,write:2:ENOSPC", 1, 5000, BIG_LEN, 2,
	    EXPECT_OLD);
	run_case("write:1:short,write:2:short,write:3:short,write:4:EIO", 1,
	    BIG_LEN, BIG_LEN, 4, EXPECT_OLD);
	run_case("write:1:short,write:2:short,write:3:ENOSPC", 0, 0, BIG_LEN,
	    3, EXPECT_OLD);
	/* Short writes and interruptions alone: completed. */
	run_case("write:1:short,write:2:EINTR,write:3:short,write:4:short", 1,
	    5000, BIG_LEN, 4, EXPECT_NEW);
	note_site("write", 2);
	note_site("write", 3);
	note_site("write", 4);
}

/* export_snapshot_file (the w key): a failed write leaves no file. */
static void
test_snapshot_file(void)
{
	pt_snapshot s;
	char path[1024], err[1024], stray[512], prefix[600];
	static const char *const specs[] = {
		"write:1:ENOSPC", "fsync:1:EIO", "rename:1:EIO",
		"write:1:short,write:2:EIO",
	};
	size_t i;
	int rc;

	memset(&s, 0, sizeof s);
	s.pid = 4242;
	strcpy(s.process, "faulty");
	s.time_ns = 1700000000ull * 1000000000ull;
	for (i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		clean_workdir();
		CU_ASSERT_FATAL(faultshim_configure(specs[i]) == 0);
		path[0] = err[0] = '\0';
		rc = export_snapshot_file(workdir, &s, NULL, path, sizeof path,
		    err, sizeof err);
		n_injected += faultshim_injected();
		CU_ASSERT(faultshim_injected() >= 1);
		faultshim_configure(NULL);
		snprintf(prefix, sizeof prefix, "cannot write %s/perftop-faulty-"
		    "4242-", workdir);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT(strncmp(err, prefix, strlen(prefix)) == 0);
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		CU_ASSERT_EQUAL(stray_files("", stray, sizeof stray), 0);
		if (rc != -1 || stray[0] != '\0') {
			fprintf(stderr, "%s: rc %d, left: %s\n", specs[i], rc,
			    stray);
			n_failures++;
		}
	}
	/* Without a fault it works, and the JSON is whole. */
	clean_workdir();
	rc = export_snapshot_file(workdir, &s, NULL, path, sizeof path, err,
	    sizeof err);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(stray_files(strrchr(path, '/') + 1, stray,
	    sizeof stray), 0);
	if (rc == 0) {
		json_error_t je;
		json_t *j = json_load_file(path, 0, &je);

		CU_ASSERT_PTR_NOT_NULL(j);
		json_decref(j);
	}
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "no fault", test_no_fault },
		{ "every fault at every call", test_sweep },
		{ "short writes then a full disk", test_short_then_full },
		{ "snapshot file", test_snapshot_file },
	};
	const char *tmp = getenv("TMPDIR");
	int rc;

	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 100)
		tmp = "/tmp";
	snprintf(workdir, sizeof workdir, "%s/pt-export-faults.XXXXXX", tmp);
	if (mkdtemp(workdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(target, sizeof target, "%s/snapshot.json", workdir);
	old_data = make_data(BIG_LEN, 1);
	new_data = make_data(BIG_LEN, 2);
	if (old_data == NULL || new_data == NULL)
		return 99;

	rc = cunit_run("export-faults", NULL, NULL, tests,
	    CUNIT_COUNT(tests));

	printf("reliability: faults injected=%lu sites=%d failures=%lu\n",
	    n_injected, n_sites, n_failures);
	clean_workdir();
	rmdir(workdir);
	free(old_data);
	free(new_data);
	return rc != 0 ? rc : n_failures != 0;
}
