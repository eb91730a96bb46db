/*
 * canary.c - a deliberate bug behind a flag, to prove that a sanitizer (or
 * valgrind) really watches the tests: scripts/test runs it with the flag and
 * expects the tool's report and a failure, then without the flag and
 * expects a clean exit.  Not one of the tests `make check` runs.
 *
 * Usage: canary            exits 0, having done nothing wrong
 *   PERFTOP_DELIBERATE_BUG=1     canary   writes one byte past the end of
 *                                         a 16-byte heap block (ASan:
 *                                         heap-buffer-overflow; memcheck:
 *                                         invalid write of size 1)
 *   PERFTOP_DELIBERATE_BUG=race  canary   two threads write one int without
 *                                         synchronisation (TSan: data race)
 *
 * It prints which sanitizer it was compiled with, so that a log shows
 * whether the build was instrumented at all.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define CANARY_BUILD	"AddressSanitizer"
#elif defined(__SANITIZE_THREAD__)
#define CANARY_BUILD	"ThreadSanitizer"
#else
#define CANARY_BUILD	"no sanitizer"
#endif

static void *volatile sink;

/* One byte past the end of a heap block; the index is opaque to the
 * compiler, so that it neither warns nor optimises the write away. */
static int
overflow(void)
{
	volatile size_t len = 16;
	char *p;

	if ((p = malloc(len)) == NULL)
		return 2;
	memset(p, 'x', len);
	sink = p;
	p[len] = '!';
	free(p);
	return 0;
}

static int shared;		/* written by two threads, unprotected */
static int written;		/* relaxed flag: orders nothing for TSan */

static void *
racer(void *arg)
{
	(void)arg;
	shared = 1;
	__atomic_store_n(&written, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* The main thread writes shared after the other thread did, with only a
 * relaxed flag between them: a data race every time, whatever the timing. */
static int
race(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, racer, NULL) != 0)
		return 2;
	while (!__atomic_load_n(&written, __ATOMIC_RELAXED))
		;
	shared = 2;
	pthread_join(t, NULL);
	return shared == 2 ? 0 : 3;
}

int
main(void)
{
	const char *bug = getenv("PERFTOP_DELIBERATE_BUG");
	int rc = 0;

	printf("canary: built with %s\n", CANARY_BUILD);
	fflush(stdout);
	if (bug == NULL || *bug == '\0' || strcmp(bug, "0") == 0)
		printf("canary: no deliberate bug\n");
	else if (strcmp(bug, "race") == 0) {
		printf("canary: deliberate data race\n");
		fflush(stdout);
		rc = race();
	} else {
		printf("canary: deliberate heap-buffer-overflow\n");
		fflush(stdout);
		rc = overflow();
	}
	printf("canary: done (%d)\n", rc);
	return rc;
}
