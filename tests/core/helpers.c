/*
 * helpers.c - what the suites of test-core share: the checks that print
 * what they saw, clocks, threads, memory figures, snapshots and their
 * summaries.
 */
#include "core-test.h"

/*
 * PERFTOP_TEST_QUICK=1 (set by scripts/test for its sanitizer and valgrind
 * runs) shortens the longest loops: 2e6 events instead of 1e8, 1,000
 * threads instead of 10,000, 1/16 of the reset rounds, a fifth of the
 * percentile samples.  Under valgrind, where every clock read is a system
 * call and one thread runs at a time, some are shorter still (a quarter of
 * the scope events, 1/64 of the reset rounds, 10 forks instead of 30).
 * Set in main().
 */
int quick;

/*
 * Under valgrind the heap is valgrind's (glibc's malloc statistics stay at
 * zero) and so is much of the resident memory: the checks of memory sizes
 * are skipped as under a sanitizer.  valgrind preloads its vgpreload_*.so
 * into every program it runs.  Set in main().
 */
int valgrind;

/* Notes a check left out under a sanitizer or valgrind. */
void
skipped(const char *what)
{
	fprintf(stderr, "(%s: skipped under %s) ", what,
	    valgrind ? "valgrind" : "a sanitizer");
}

/* ------------------------------------------------------------------------ */
/* Assertion helpers that print what they saw                                */
/* ------------------------------------------------------------------------ */

/*
 * Reports a check made at line of file (check_report() gives the caller's
 * file): when it failed, prints fmt with what follows, what was seen.
 */
void
check_report_at(const char *file, int ok, int line, const char *cond,
    const char *fmt, ...)
{
	va_list ap;

	if (!ok) {
		fprintf(stderr, "\n    line %d: ", line);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, cond,
	    file, "", CU_FALSE);
}

/* ------------------------------------------------------------------------ */
/* General helpers                                                           */
/* ------------------------------------------------------------------------ */

uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Busy-waits at least ns nanoseconds; returns the time actually spent. */
uint64_t
spin_ns(uint64_t ns)
{
	uint64_t t0 = mono_ns(), t;

	while ((t = mono_ns()) - t0 < ns)
		;
	return t - t0;
}

/* A field of /proc/self/status in kB ("VmRSS", "VmHWM"); 0 if absent. */
uint64_t
status_kib(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	uint64_t v = 0;
	FILE *f;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

uint64_t
rss_bytes(void)
{
	return status_kib("VmRSS") * KIB;
}

/* Starts n threads running fn(arg + i * stride) and joins them. */
void
run_threads(int n, void *(*fn)(void *), void *arg, size_t stride)
{
	pthread_t tid[64];
	int i, rc;

	CU_ASSERT_FATAL(n > 0 && n <= 64);
	for (i = 0; i < n; i++) {
		rc = pthread_create(&tid[i], NULL, fn,
		    (char *)arg + (size_t)i * stride);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
}

/* Takes a snapshot; the test stops if that fails. */
pt_snapshot *
snap_take(void)
{
	pt_snapshot *s = NULL;
	int rc;

	rc = pt_snapshot_take(&s);
	CHECK_INT_EQ(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

/* The operation called name, which must be in s. */
const pt_op_stats *
snap_op(const pt_snapshot *s, const char *name)
{
	const pt_op_stats *op = pt_snapshot_find_op(s, name);

	check_report(op != NULL, __LINE__, "operation present",
	    "operation \"%s\" missing from the snapshot", name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(op);
	return op;
}

/* Count of operation name in s, 0 if absent. */
uint64_t
op_count(const pt_snapshot *s, const char *name)
{
	const pt_op_stats *op = pt_snapshot_find_op(s, name);

	return op != NULL ? op->count : 0;
}

/* Value of counter name, which must be in s. */
int64_t
ctr_value(const pt_snapshot *s, const char *name)
{
	const pt_counter_stats *c = pt_snapshot_find_counter(s, name);

	check_report(c != NULL, __LINE__, "counter present",
	    "counter \"%s\" missing from the snapshot", name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c->value;
}

/* Sum of the bucket counts of op. */
uint64_t
bucket_sum(const pt_op_stats *op)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < op->n_buckets; i++)
		n += op->buckets[i].count;
	return n;
}

/*
 * Checks the internal consistency of one operation's statistics; slack is
 * how many events' durations the total may hold beyond the count (events in
 * flight during a reset, see pt_reset).
 */
void
check_op_consistent_slack(const pt_op_stats *op, unsigned slack)
{
	size_t i;

	CHECK_U64_EQ(bucket_sum(op), op->count);
	for (i = 0; i < op->n_buckets; i++) {
		CU_ASSERT(op->buckets[i].index < PT_HIST_BUCKETS);
		CU_ASSERT(op->buckets[i].count > 0);
		if (i > 0)
			CU_ASSERT(op->buckets[i].index >
			    op->buckets[i - 1].index);
	}
	if (op->count == 0)
		return;
	CU_ASSERT(op->min_ns <= op->max_ns);
	CU_ASSERT(op->min_ns <= op->p50_ns && op->p50_ns <= op->p90_ns &&
	    op->p90_ns <= op->p99_ns && op->p99_ns <= op->p999_ns &&
	    op->p999_ns <= op->max_ns);
	/* count * min <= total <= count * max, up to a rounding per event. */
	CHECK_RANGE(((double)op->count - slack) * ((double)op->min_ns - 1) - 1,
	    op->total_ns,
	    ((double)op->count + slack) * ((double)op->max_ns + 1) + 1);
}

void
check_op_consistent(const pt_op_stats *op)
{
	check_op_consistent_slack(op, 0);
}

/* Writes the summary of s into a new string; the caller frees it. */
char *
summary_text(const pt_snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	rc = pt_summary_write(f, s);
	CHECK_INT_EQ(rc, 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	return buf;
}

/* Whether line holds tok as a whole whitespace-separated word. */
static int
line_has_word(const char *line, size_t len, const char *tok)
{
	size_t tl = strlen(tok), i = 0, j;

	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		for (j = i; j < len && line[j] != ' ' && line[j] != '\t'; j++)
			;
		if (j - i == tl && memcmp(line + i, tok, tl) == 0)
			return 1;
		i = j;
	}
	return 0;
}

/*
 * Finds the section of text whose title line starts with title (the line
 * "Operations" or "Counters", case-insensitive) and tells whether one of its
 * rows has name as its first word and, when value is not NULL, value as a
 * word too.  A section ends at the next empty line.
 */
int
summary_row(const char *text, const char *title, const char *name,
    const char *value)
{
	const char *p = text, *e;
	int in = 0;
	size_t len, nl = strlen(name);

	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		if (!in) {
			in = strncasecmp(p, title, strlen(title)) == 0;
			continue;
		}
		if (len == 0)
			break;
		if (len > nl && memcmp(p, name, nl) == 0 &&
		    (p[nl] == ' ' || p[nl] == '\t') &&
		    (value == NULL || line_has_word(p + nl, len - nl, value)))
			return 1;
	}
	return 0;
}

/* Records n events of ns nanoseconds into site. */
void
record_n(pt_site *site, int n, uint64_t ns)
{
	int i;

	for (i = 0; i < n; i++)
		CHECK_INT_EQ(pt_record_ns(site, ns), 0);
}
