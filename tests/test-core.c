/*
 * test-core.c - CUnit tests of the monitor core in core/.
 *
 * Linked against the internal convenience library, so the pt__ test hooks of
 * core/core.h are callable.  Each test uses call sites of its own (names
 * starting with the suite's prefix) so that tests do not see each other's
 * events; the reset suite, which clears everything, runs after the suites
 * whose checks depend on cumulative figures, and the fork suite, which
 * registers thousands of names, runs last.
 *
 * Usage: test-core [SUITE [TEST]]   (no argument: every suite)
 * Environment: PERFTOP_TEST_QUICK=1 shortens the longest loops (for valgrind).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

/*
 * Built like a program using the library, whatever the command line says:
 * pt_scope_begin() is then the inline one of perftop.h, as in users' code
 * (the exported one is reached below under another name).
 */
#undef PT_BUILDING_LIBRARY

#include <CUnit/Basic.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "perftop.h"
#include "core.h"

#define KIB	1024ULL
#define MIB	(1024ULL * 1024ULL)

/*
 * Under a sanitizer, resident memory is not the program's own (shadow
 * memory, quarantine) and the allocator's statistics are the sanitizer's:
 * the checks of memory sizes are skipped and the longest loops shortened.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED	1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED	0
#endif

/* ThreadSanitizer cannot start threads in the child of a threaded fork. */
#if defined(__SANITIZE_THREAD__)
#define TSAN	1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN	1
#endif
#endif
#ifndef TSAN
#define TSAN	0
#endif

/*
 * PERFTOP_TEST_QUICK=1 (set by scripts/test for its valgrind run) shortens
 * the longest loops: 2e6 events instead of 1e8, 1,000 threads instead of
 * 10,000, 1/16 of the reset rounds, a fifth of the percentile samples.
 * Set in main().
 */
static int quick;

/*
 * Under valgrind the heap is valgrind's (glibc's malloc statistics stay at
 * zero) and so is much of the resident memory: the checks of memory sizes
 * are skipped as under a sanitizer.  valgrind preloads its vgpreload_*.so
 * into every program it runs.  Set in main().
 */
static int valgrind;

static int
running_on_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "/vgpreload_") != NULL;
}

/* Whether the memory figures are the program's own. */
#define MEMORY_FIGURES	(!SANITIZED && !valgrind)

/* Notes a check left out under a sanitizer or valgrind. */
static void
skipped(const char *what)
{
	fprintf(stderr, "(%s: skipped under %s) ", what,
	    valgrind ? "valgrind" : "a sanitizer");
}

/* ------------------------------------------------------------------------ */
/* Assertion helpers that print what they saw                                */
/* ------------------------------------------------------------------------ */

static void
check_report(int ok, int line, const char *cond, const char *fmt, ...)
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
	    __FILE__, "", CU_FALSE);
}

#define CHECK_U64_EQ(got, want) do {					\
	uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);		\
	check_report(g_ == w_, __LINE__, #got " == " #want,		\
	    "%s = %" PRIu64 ", expected %s = %" PRIu64,			\
	    #got, g_, #want, w_);					\
} while (0)

#define CHECK_I64_EQ(got, want) do {					\
	int64_t g_ = (int64_t)(got), w_ = (int64_t)(want);		\
	check_report(g_ == w_, __LINE__, #got " == " #want,		\
	    "%s = %" PRId64 ", expected %s = %" PRId64,			\
	    #got, g_, #want, w_);					\
} while (0)

/* |got - want| <= rel * |want| + abs */
#define CHECK_NEAR(got, want, rel, abs) do {				\
	double g_ = (double)(got), w_ = (double)(want);			\
	double tol_ = (rel) * fabs(w_) + (abs);				\
	check_report(fabs(g_ - w_) <= tol_, __LINE__,			\
	    "CHECK_NEAR(" #got ", " #want ")",				\
	    "%s = %.10g, expected %s = %.10g within %.4g",		\
	    #got, g_, #want, w_, tol_);					\
} while (0)

/* lo <= got <= hi */
#define CHECK_RANGE(lo, got, hi) do {					\
	double l_ = (double)(lo), g_ = (double)(got), h_ = (double)(hi); \
	check_report(l_ <= g_ && g_ <= h_, __LINE__,			\
	    "CHECK_RANGE(" #lo ", " #got ", " #hi ")",			\
	    "%s = %.10g not in [%.10g, %.10g]", #got, g_, l_, h_);	\
} while (0)

#define CHECK_INT_EQ(got, want) do {					\
	long g_ = (long)(got), w_ = (long)(want);			\
	check_report(g_ == w_, __LINE__, #got " == " #want,		\
	    "%s = %ld, expected %s = %ld", #got, g_, #want, w_);	\
} while (0)

/* ------------------------------------------------------------------------ */
/* General helpers                                                           */
/* ------------------------------------------------------------------------ */

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Busy-waits at least ns nanoseconds; returns the time actually spent. */
static uint64_t
spin_ns(uint64_t ns)
{
	uint64_t t0 = mono_ns(), t;

	while ((t = mono_ns()) - t0 < ns)
		;
	return t - t0;
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL),
	    (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* A field of /proc/self/status in kB ("VmRSS", "VmHWM"); 0 if absent. */
static uint64_t
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

static uint64_t
rss_bytes(void)
{
	return status_kib("VmRSS") * KIB;
}

/* Entries of a directory, without "." and "..". */
static size_t
dir_entries(const char *path)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Starts n threads running fn(arg + i * stride) and joins them. */
static void
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
static pt_snapshot *
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
static const pt_op_stats *
snap_op(const pt_snapshot *s, const char *name)
{
	const pt_op_stats *op = pt_snapshot_find_op(s, name);

	check_report(op != NULL, __LINE__, "operation present",
	    "operation \"%s\" missing from the snapshot", name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(op);
	return op;
}

/* Count of operation name in s, 0 if absent. */
static uint64_t
op_count(const pt_snapshot *s, const char *name)
{
	const pt_op_stats *op = pt_snapshot_find_op(s, name);

	return op != NULL ? op->count : 0;
}

/* Value of counter name, which must be in s. */
static int64_t
ctr_value(const pt_snapshot *s, const char *name)
{
	const pt_counter_stats *c = pt_snapshot_find_counter(s, name);

	check_report(c != NULL, __LINE__, "counter present",
	    "counter \"%s\" missing from the snapshot", name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c->value;
}

/* Sum of the bucket counts of op. */
static uint64_t
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
static void
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

static void
check_op_consistent(const pt_op_stats *op)
{
	check_op_consistent_slack(op, 0);
}

/* Writes the summary of s into a new string; the caller frees it. */
static char *
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
static int
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

/* ------------------------------------------------------------------------ */
/* A fixed-seed generator (splitmix64) and distributions                     */
/* ------------------------------------------------------------------------ */

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double
rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* Standard normal, Box-Muller (one of the pair). */
static double
rng_normal(uint64_t *s)
{
	double u1 = 1.0 - rng_unit(s), u2 = rng_unit(s);	/* u1 in (0, 1] */

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

#define SAMPLE_MIN_NS	50ULL
#define SAMPLE_MAX_NS	10000000000ULL	/* 10 s */

static uint64_t
clamp_sample(double v)
{
	if (!(v >= (double)SAMPLE_MIN_NS))
		return SAMPLE_MIN_NS;
	if (v >= (double)SAMPLE_MAX_NS)
		return SAMPLE_MAX_NS;
	return (uint64_t)llround(v);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------------ */
/* Suite "early": a call site used before anything was initialised          */
/* ------------------------------------------------------------------------ */

static struct {
	int		ctor_op_id, ctor_ctr_id;
	int		main_op_id, main_ctr_id;
	uint64_t	main_inner_ns, main_outer_ns;
	int		main_snap_rc;
	pt_snapshot	*main_snap;
} early;

/*
 * Runs before main() and before the library's own constructors (priority
 * 101 comes before the default): the first use of the library happens here.
 * The agent is switched off for the whole program (unless the environment
 * asks otherwise) so that no socket is created and no thread started.
 */
__attribute__((constructor(101))) static void
early_ctor(void)
{
	static pt_site op = PT_SITE_INIT("early.ctor.op", PT_KIND_OP);
	static pt_site ctr = PT_SITE_INIT("early.ctor.ctr", PT_KIND_COUNTER);
	pt_scope sc;

	setenv("PERFTOP_AGENT", "0", 0);
	sc = pt_scope_begin(&op);
	pt_scope_end(&sc);
	pt_counter_add(&ctr, 3);
	early.ctor_op_id = op.pt_id;
	early.ctor_ctr_id = ctr.pt_id;
}

/* The first thing main() does: record a scope and a counter, snapshot. */
static void
early_main(void)
{
	static pt_site op = PT_SITE_INIT("early.main.op", PT_KIND_OP);
	static pt_site ctr = PT_SITE_INIT("early.main.ctr", PT_KIND_COUNTER);
	uint64_t t0, t1;
	pt_scope sc;

	t0 = mono_ns();
	sc = pt_scope_begin(&op);
	early.main_inner_ns = spin_ns(100000);
	pt_scope_end(&sc);
	t1 = mono_ns();
	early.main_outer_ns = t1 - t0;
	pt_counter_add(&ctr, 5);
	early.main_op_id = op.pt_id;
	early.main_ctr_id = ctr.pt_id;
	early.main_snap_rc = pt_snapshot_take(&early.main_snap);
}

static void
test_call_site_used_before_initialisation(void)
{
	const pt_op_stats *op;
	pt_snapshot *s;

	CU_ASSERT(early.ctor_op_id > 0);
	CU_ASSERT(early.ctor_ctr_id > 0);
	CU_ASSERT(early.main_op_id > 0);
	CU_ASSERT(early.main_ctr_id > 0);
	CHECK_INT_EQ(early.main_snap_rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(early.main_snap);

	s = early.main_snap;
	CHECK_U64_EQ(s->reset_epoch, 0);
	CHECK_U64_EQ(op_count(s, "early.ctor.op"), 1);
	CHECK_I64_EQ(ctr_value(s, "early.ctor.ctr"), 3);
	op = snap_op(s, "early.main.op");
	CHECK_U64_EQ(op->count, 1);
	CHECK_RANGE(early.main_inner_ns * 0.999 - 200, op->total_ns,
	    early.main_outer_ns * 1.001 + 200);
	CHECK_U64_EQ(op->min_ns, op->max_ns);
	CHECK_I64_EQ(ctr_value(s, "early.main.ctr"), 5);

	/* A fresh snapshot still holds them (nothing was reset). */
	s = snap_take();
	CHECK_U64_EQ(s->reset_epoch, 0);
	CHECK_U64_EQ(op_count(s, "early.ctor.op"), 1);
	CHECK_U64_EQ(op_count(s, "early.main.op"), 1);
	CHECK_I64_EQ(ctr_value(s, "early.ctor.ctr"), 3);
	CHECK_I64_EQ(ctr_value(s, "early.main.ctr"), 5);
	pt_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Suite "sites": names accepted and refused                                 */
/* ------------------------------------------------------------------------ */

static char long_name[PT_NAME_MAX + 2];		/* PT_NAME_MAX + 1 bytes */
static char max_name[PT_NAME_MAX + 1];		/* PT_NAME_MAX bytes */
static char max_name_utf8[PT_NAME_MAX + 1];	/* PT_NAME_MAX, multibyte */

static void
names_init(void)
{
	size_t i;

	memset(long_name, 'L', PT_NAME_MAX + 1);
	long_name[PT_NAME_MAX + 1] = '\0';
	memset(max_name, 'M', PT_NAME_MAX);
	max_name[PT_NAME_MAX] = '\0';
	/* 63 two-byte characters (e-acute) and one 'u': 127 bytes. */
	for (i = 0; i + 2 <= PT_NAME_MAX - 1; i += 2)
		memcpy(max_name_utf8 + i, "\xc3\xa9", 2);
	max_name_utf8[i++] = 'u';
	max_name_utf8[i] = '\0';
}

static const struct bad_name {
	const char	*name;		/* NULL: the long name */
	int		 use_long;
	int		 err;
	const char	*what;
} bad_names[] = {
	{ "", 0, PT_EINVAL, "empty" },
	{ NULL, 0, PT_EINVAL, "NULL" },
	{ NULL, 1, PT_ENAMETOOLONG, "PT_NAME_MAX + 1 bytes" },
	{ "bad\xff", 0, PT_EINVAL, "byte 0xff" },
	{ "bad\xc3", 0, PT_EINVAL, "truncated 2-byte sequence" },
	{ "bad\xe2\x82", 0, PT_EINVAL, "truncated 3-byte sequence" },
	{ "bad\x80x", 0, PT_EINVAL, "lone continuation byte" },
	{ "bad\xc0\xaf", 0, PT_EINVAL, "overlong '/'" },
	{ "bad\xe0\x80\xaf", 0, PT_EINVAL, "overlong 3-byte '/'" },
	{ "bad\xed\xa0\x80", 0, PT_EINVAL, "UTF-16 surrogate" },
	{ "bad\xf4\x90\x80\x80", 0, PT_EINVAL, "above U+10FFFF" },
	{ "bad\xf8\x88\x80\x80\x80", 0, PT_EINVAL, "5-byte sequence" },
	{ "bad\ttab", 0, PT_EINVAL, "control character" },
	{ "bad\x7f", 0, PT_EINVAL, "DEL" },
};
#define N_BAD_NAMES	(sizeof bad_names / sizeof bad_names[0])

/* Refused sites of both kinds, made once and kept (sites are never freed). */
static pt_site bad_ops[N_BAD_NAMES], bad_ctrs[N_BAD_NAMES];

static void
test_invalid_names_are_refused(void)
{
	size_t i;
	int rc;

	for (i = 0; i < N_BAD_NAMES; i++) {
		const char *name = bad_names[i].use_long ? long_name :
		    bad_names[i].name;

		bad_ops[i] = (pt_site)PT_SITE_INIT(name, PT_KIND_OP);
		bad_ctrs[i] = (pt_site)PT_SITE_INIT(name, PT_KIND_COUNTER);
		rc = pt_site_register(&bad_ops[i]);
		check_report(rc == bad_names[i].err, __LINE__,
		    "pt_site_register(bad op name)",
		    "op name %s: got %d, expected %d", bad_names[i].what, rc,
		    bad_names[i].err);
		CHECK_INT_EQ(bad_ops[i].pt_id, bad_names[i].err);
		rc = pt_site_register(&bad_ctrs[i]);
		check_report(rc == bad_names[i].err, __LINE__,
		    "pt_site_register(bad counter name)",
		    "counter name %s: got %d, expected %d", bad_names[i].what,
		    rc, bad_names[i].err);
		/* Asking again gives the same answer. */
		CHECK_INT_EQ(pt_site_register(&bad_ops[i]), bad_names[i].err);
	}
	CU_ASSERT(pt_site_register(NULL) < 0);
}

static void
test_refused_sites_record_nothing(void)
{
	pt_snapshot *s0, *s1;
	pt_scope sc;
	size_t i;
	int k;

	/* Also covers sites never registered explicitly: first use refuses. */
	s0 = snap_take();
	for (i = 0; i < N_BAD_NAMES; i++) {
		pt_site *op = &bad_ops[i], *ctr = &bad_ctrs[i];

		for (k = 0; k < 3; k++) {
			sc = pt_scope_begin(op);
			pt_scope_end(&sc);
			sc = pt_scope_begin(op);
			pt_scope_end_count(&sc, ctr);
			pt_counter_add(ctr, 1);
			pt_counter_add(ctr, -5);
			CU_ASSERT(pt_record_ns(op, 1000) < 0);
		}
	}
	/* NULL sites and scopes. */
	sc = pt_scope_begin(NULL);
	pt_scope_end(&sc);
	pt_scope_end(NULL);
	pt_scope_end_count(&sc, NULL);
	pt_counter_add(NULL, 1);
	CU_ASSERT(pt_record_ns(NULL, 10) < 0);

	s1 = snap_take();
	CHECK_U64_EQ(s1->n_ops, s0->n_ops);
	CHECK_U64_EQ(s1->n_counters, s0->n_counters);
	for (i = 0; i < s1->n_ops && i < s0->n_ops; i++)
		CHECK_U64_EQ(s1->ops[i].count, s0->ops[i].count);
	for (i = 0; i < s1->n_counters && i < s0->n_counters; i++)
		CHECK_I64_EQ(s1->counters[i].value, s0->counters[i].value);
	for (i = 0; i < N_BAD_NAMES; i++)
		CU_ASSERT(bad_ops[i].pt_id < 0 && bad_ctrs[i].pt_id < 0);
	pt_snapshot_free(s0);
	pt_snapshot_free(s1);
}

static void
test_name_of_exactly_max_bytes_is_accepted(void)
{
	static pt_site op = PT_SITE_INIT(max_name, PT_KIND_OP);
	static pt_site ctr = PT_SITE_INIT(max_name, PT_KIND_COUNTER);
	static pt_site op8 = PT_SITE_INIT(max_name_utf8, PT_KIND_OP);
	const pt_op_stats *o;
	pt_snapshot *s;
	pt_scope sc;

	CU_ASSERT_EQUAL_FATAL(strlen(max_name), PT_NAME_MAX);
	CU_ASSERT_EQUAL_FATAL(strlen(max_name_utf8), PT_NAME_MAX);
	CU_ASSERT(pt_site_register(&op) > 0);
	CU_ASSERT(pt_site_register(&ctr) > 0);
	CU_ASSERT(pt_site_register(&op8) > 0);
	sc = pt_scope_begin(&op);
	pt_scope_end(&sc);
	CHECK_INT_EQ(pt_record_ns(&op8, 5000), 0);
	pt_counter_add(&ctr, 9);

	s = snap_take();
	o = snap_op(s, max_name);
	CHECK_U64_EQ(o->count, 1);
	CHECK_U64_EQ(strlen(o->name), PT_NAME_MAX);
	o = snap_op(s, max_name_utf8);
	CHECK_U64_EQ(o->count, 1);
	CU_ASSERT_STRING_EQUAL(o->name, max_name_utf8);
	CHECK_I64_EQ(ctr_value(s, max_name), 9);
	pt_snapshot_free(s);
}

static void
test_valid_utf8_name_is_accepted(void)
{
	static const char name[] = "sites.dur\xc3\xa9\x65 \xe2\x86\x92 "
	    "\xe8\xa8\x88\xe6\xb8\xac \xf0\x9f\x99\x82";
	static pt_site op = PT_SITE_INIT(name, PT_KIND_OP);
	pt_snapshot *s;

	CU_ASSERT(pt_site_register(&op) > 0);
	CHECK_INT_EQ(pt_record_ns(&op, 1234), 0);
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, name)->count, 1);
	pt_snapshot_free(s);
}

static void
test_sites_with_the_same_name_share_statistics(void)
{
	static pt_site a = PT_SITE_INIT("sites.shared", PT_KIND_OP);
	static pt_site b = PT_SITE_INIT("sites.shared", PT_KIND_OP);
	static pt_site ca = PT_SITE_INIT("sites.shared", PT_KIND_COUNTER);
	static pt_site cb = PT_SITE_INIT("sites.shared", PT_KIND_COUNTER);
	pt_snapshot *s;
	pt_scope sc;
	size_t i, n = 0;

	CU_ASSERT(pt_site_register(&a) > 0);
	CHECK_INT_EQ(pt_site_register(&b), a.pt_id);
	CU_ASSERT(pt_site_register(&ca) > 0);
	CHECK_INT_EQ(pt_site_register(&cb), ca.pt_id);
	sc = pt_scope_begin(&a);
	pt_scope_end(&sc);
	sc = pt_scope_begin(&b);
	pt_scope_end(&sc);
	pt_counter_add(&ca, 2);
	pt_counter_add(&cb, 3);
	s = snap_take();
	CHECK_U64_EQ(op_count(s, "sites.shared"), 2);
	CHECK_I64_EQ(ctr_value(s, "sites.shared"), 5);
	for (i = 0; i < s->n_ops; i++)
		n += strcmp(s->ops[i].name, "sites.shared") == 0;
	CHECK_U64_EQ(n, 1);
	pt_snapshot_free(s);
}

static void
test_snapshot_arrays_ascend_by_id(void)
{
	pt_snapshot *s = snap_take();
	size_t i;

	CU_ASSERT(s->n_ops > 0 && s->n_counters > 0);
	for (i = 0; i < s->n_ops; i++) {
		CU_ASSERT_PTR_NOT_NULL(s->ops[i].name);
		if (i > 0)
			CU_ASSERT(s->ops[i].id > s->ops[i - 1].id);
		check_op_consistent(&s->ops[i]);
	}
	for (i = 1; i < s->n_counters; i++)
		CU_ASSERT(s->counters[i].id > s->counters[i - 1].id);
	pt_snapshot_free(s);
	pt_snapshot_free(NULL);		/* allowed */
	CU_ASSERT(pt_snapshot_take(NULL) < 0);
}

static void
test_snapshot_header_fields_are_consistent(void)
{
	uint64_t t0, t1, page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct timespec ts;
	pt_snapshot *s;

	clock_gettime(CLOCK_REALTIME, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	s = snap_take();
	clock_gettime(CLOCK_REALTIME, &ts);
	t1 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	CHECK_INT_EQ(s->pid, getpid());
	CU_ASSERT(s->tick_ns > 0 && s->tick_ns < 1000);
	CU_ASSERT(s->process[0] != '\0');
	CHECK_RANGE(t0, s->time_ns, t1);
	CU_ASSERT(s->uptime_ns > 0);
	/* No reset yet: since the last reset means since the start. */
	CHECK_U64_EQ(s->reset_epoch, 0);
	CHECK_RANGE(0, s->since_reset_ns, s->uptime_ns);
	CHECK_RANGE(0, s->memory.rss_bytes, s->memory.peak_rss_bytes);
	CU_ASSERT(s->memory.rss_bytes > page);
	CU_ASSERT(!MEMORY_FIGURES || s->memory.heap_bytes > 0);
	pt_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Suite "histogram"                                                         */
/* ------------------------------------------------------------------------ */

static void
test_hist_bucket_bounds_round_trip(void)
{
	uint64_t lo, hi, prev_hi = 0, lo_last, hi_last;
	uint32_t idx, bad = 0;
	double mid;

	for (idx = 0; idx < PT_HIST_BUCKETS - 1; idx++) {
		pt__hist_bounds(idx, &lo, &hi);
		mid = pt__hist_mid(idx);
		if (lo > hi || (idx > 0 && lo != prev_hi + 1) ||
		    pt__hist_index(lo) != idx || pt__hist_index(hi) != idx ||
		    mid < (double)lo || mid > (double)hi ||
		    (lo >= 64 && (double)(hi - lo + 1) > (double)lo / 64.0)) {
			if (bad++ < 5)
				fprintf(stderr, "\n    bucket %u: [%" PRIu64
				    ", %" PRIu64 "] mid %.1f\n", idx, lo, hi,
				    mid);
		}
		prev_hi = hi;
	}
	CHECK_INT_EQ(bad, 0);
	/* The last bucket takes everything from 2^36 ticks up. */
	pt__hist_bounds(PT_HIST_BUCKETS - 1, &lo_last, &hi_last);
	CHECK_U64_EQ(lo_last, prev_hi + 1);
	CHECK_INT_EQ(pt__hist_index(1ULL << 36), PT_HIST_BUCKETS - 1);
	CHECK_INT_EQ(pt__hist_index(UINT64_MAX), PT_HIST_BUCKETS - 1);
	CHECK_INT_EQ(pt__hist_index(0), 0);
	CHECK_INT_EQ(pt__hist_index(63), 63);
	CHECK_INT_EQ(pt__hist_index(64), 64);
}

static void
test_hist_quantile_on_hand_made_buckets(void)
{
	/* 5 events of 10 ticks, 4 of 100 ticks, 1 in the bucket of 1000. */
	uint32_t i1000 = pt__hist_index(1000);
	pt_bucket b[3] = { { 10, 5 }, { 100, 4 }, { i1000, 1 } };
	uint64_t lo, hi;
	double mid1000;

	pt__hist_bounds(i1000, &lo, &hi);
	CU_ASSERT(lo <= 1000 && 1000 <= hi && hi - lo + 1 == 8);
	mid1000 = (double)(lo + hi) / 2;

	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.0, 0, 0), 10);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.5, 0, 0), 10);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.51, 0, 0), 100);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.9, 0, 0), 100);
	CHECK_NEAR(pt_hist_quantile(b, 3, 10, 1.0, 0.95, 0, 0), mid1000, 0,
	    0.5);
	CHECK_NEAR(pt_hist_quantile(b, 3, 10, 1.0, 1.0, 0, 0), mid1000, 0,
	    0.5);
	/* Scaled by the tick length. */
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 2.5, 0.5, 0, 0), 25);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 2.5, 0.9, 0, 0), 250);
	/* Clamped to [min, max] when max > 0. */
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 1.0, 0, 1001), 1001);
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 10, 1.0, 0.5, 12, 1001), 12);
	/* Empty. */
	CHECK_U64_EQ(pt_hist_quantile(b, 3, 0, 1.0, 0.5, 0, 0), 0);
	CHECK_U64_EQ(pt_hist_quantile(NULL, 0, 0, 1.0, 0.5, 0, 0), 0);
}

static void
test_op_stats_finish_recomputes_mean_and_percentiles(void)
{
	pt_bucket b[2] = { { 20, 9 }, { 40, 1 } };
	pt_op_stats op;

	memset(&op, 0, sizeof op);
	op.count = 10;
	op.total_ns = 2 * (9 * 20 + 40);
	op.min_ns = 40;
	op.max_ns = 80;
	op.n_buckets = 2;
	op.buckets = b;
	pt_op_stats_finish(&op, 2.0);
	CHECK_NEAR(op.mean_ns, 44.0, 1e-12, 0);
	CHECK_U64_EQ(op.p50_ns, 40);
	CHECK_U64_EQ(op.p90_ns, 40);
	CHECK_U64_EQ(op.p99_ns, 80);
	CHECK_U64_EQ(op.p999_ns, 80);
}

/* One bucket past 2^32 events: counts, bucket and total stay exact. */
static void
test_counts_and_buckets_do_not_wrap_at_2_32(void)
{
	static pt_site site = PT_SITE_INIT("hist.wrap", PT_KIND_OP);
	const uint64_t times = 3ULL << 31, ticks = 1000;
	const uint64_t n = 2 * times;	/* 3 * 2^32 */
	const pt_op_stats *op;
	pt_snapshot *s;

	CHECK_INT_EQ(pt__test_record_ticks(&site, ticks, times), 0);
	CHECK_INT_EQ(pt__test_record_ticks(&site, ticks, times), 0);
	s = snap_take();
	op = snap_op(s, "hist.wrap");
	CHECK_U64_EQ(op->count, n);
	CU_ASSERT(op->count > (1ULL << 32));
	CHECK_U64_EQ(op->n_buckets, 1);
	if (op->n_buckets == 1) {
		CHECK_U64_EQ(op->buckets[0].index, pt__hist_index(ticks));
		CHECK_U64_EQ(op->buckets[0].count, n);
	}
	/* total = n * ticks ticks exactly, converted once to ns. */
	CHECK_NEAR(op->total_ns, (double)(n * ticks) * s->tick_ns, 1e-12, 1);
	CHECK_NEAR(op->min_ns, ticks * s->tick_ns, 0, 1);
	CHECK_NEAR(op->max_ns, ticks * s->tick_ns, 0, 1);
	CHECK_NEAR(op->p50_ns, ticks * s->tick_ns, 0, 1);
	CHECK_NEAR(op->mean_ns, ticks * s->tick_ns, 1e-9, 0);
	pt_snapshot_free(s);
}

/* Durations from 2^36 ticks up share the last bucket but stay exact. */
static void
test_huge_durations_keep_exact_count_total_min_max(void)
{
	static pt_site site = PT_SITE_INIT("hist.huge", PT_KIND_OP);
	const pt_op_stats *op;
	pt_snapshot *s;

	CHECK_INT_EQ(pt__test_record_ticks(&site, 1ULL << 37, 2), 0);
	CHECK_INT_EQ(pt__test_record_ticks(&site, 1ULL << 40, 3), 0);
	s = snap_take();
	op = snap_op(s, "hist.huge");
	CHECK_U64_EQ(op->count, 5);
	CHECK_U64_EQ(op->n_buckets, 1);
	if (op->n_buckets == 1)
		CHECK_U64_EQ(op->buckets[0].index, PT_HIST_BUCKETS - 1);
	CHECK_NEAR(op->total_ns, (double)((2ULL << 37) + (3ULL << 40)) *
	    s->tick_ns, 1e-12, 1);
	CHECK_NEAR(op->min_ns, (double)(1ULL << 37) * s->tick_ns, 1e-12, 1);
	CHECK_NEAR(op->max_ns, (double)(1ULL << 40) * s->tick_ns, 1e-12, 1);
	check_op_consistent(op);
	pt_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Suite "correctness"                                                       */
/* ------------------------------------------------------------------------ */

#define SCOPE_THREADS		4
#define SCOPES_PER_THREAD	1000000

static pt_site corr_sites[3] = {
	PT_SITE_INIT("corr.scope.a", PT_KIND_OP),
	PT_SITE_INIT("corr.scope.b", PT_KIND_OP),
	PT_SITE_INIT("corr.scope.c", PT_KIND_OP),
};

static void *
scope_worker(void *arg)
{
	uint32_t i;

	(void)arg;
	for (i = 0; i < SCOPES_PER_THREAD; i++) {
		pt_scope sc = pt_scope_begin(&corr_sites[i % 3]);

		pt_scope_end(&sc);
	}
	return NULL;
}

static void
test_scope_counts_exact_over_4_threads_and_3_sites(void)
{
	static const char *names[3] = { "corr.scope.a", "corr.scope.b",
	    "corr.scope.c" };
	pt_snapshot *s;
	int k;

	run_threads(SCOPE_THREADS, scope_worker, NULL, 0);
	s = snap_take();
	for (k = 0; k < 3; k++) {
		const pt_op_stats *op = snap_op(s, names[k]);
		uint64_t per = SCOPES_PER_THREAD / 3 +
		    (k < SCOPES_PER_THREAD % 3);

		CHECK_U64_EQ(op->count, SCOPE_THREADS * per);
		check_op_consistent(op);
	}
	pt_snapshot_free(s);
}

/* Known durations recorded from several threads. */
struct known_arg {
	int		 idx;
	uint64_t	 n, sum, min, max;
};

static pt_site known_site = PT_SITE_INIT("corr.known", PT_KIND_OP);

#define KNOWN_PER_THREAD	200000

static void
known_record(struct known_arg *a, uint64_t v)
{
	if (pt_record_ns(&known_site, v) != 0)
		return;
	a->n++;
	a->sum += v;
	if (v < a->min)
		a->min = v;
	if (v > a->max)
		a->max = v;
}

static void *
known_worker(void *arg)
{
	struct known_arg *a = arg;
	uint64_t i;

	a->min = UINT64_MAX;
	for (i = 0; i < KNOWN_PER_THREAD; i++)
		known_record(a, 1000 + (i * 2654435761ULL +
		    (uint64_t)a->idx * 977) % 999000);
	if (a->idx == 1)
		known_record(a, 7000000000ULL);		/* 7 s */
	if (a->idx == 2)
		known_record(a, 60);
	return NULL;
}

static void
test_recorded_durations_give_exact_total_min_max(void)
{
	struct known_arg args[4];
	uint64_t n = 0, sum = 0, mn = UINT64_MAX, mx = 0;
	const pt_op_stats *op;
	pt_snapshot *s;
	int i;

	memset(args, 0, sizeof args);
	for (i = 0; i < 4; i++)
		args[i].idx = i;
	run_threads(4, known_worker, args, sizeof args[0]);
	for (i = 0; i < 4; i++) {
		n += args[i].n;
		sum += args[i].sum;
		mn = args[i].min < mn ? args[i].min : mn;
		mx = args[i].max > mx ? args[i].max : mx;
	}
	CHECK_U64_EQ(n, 4 * KNOWN_PER_THREAD + 2);
	s = snap_take();
	op = snap_op(s, "corr.known");
	CHECK_U64_EQ(op->count, n);
	CHECK_NEAR(op->total_ns, sum, 1e-3, 4);
	CHECK_NEAR(op->min_ns, mn, 1e-3, 2);
	CHECK_NEAR(op->max_ns, mx, 1e-3, 2);
	CHECK_NEAR(op->mean_ns, (double)sum / (double)n, 1e-3, 2);
	check_op_consistent(op);
	pt_snapshot_free(s);
}

/*
 * Scopes around a busy-wait: each event's duration is bracketed by the wait
 * measured inside the scope and the time measured around it, so the
 * snapshot's min, max and total must fall inside the same brackets.
 */
static void
test_busy_wait_scopes_match_clock_gettime(void)
{
	static pt_site site = PT_SITE_INIT("corr.busy", PT_KIND_OP);
	uint64_t in_min = UINT64_MAX, in_max = 0, out_min = UINT64_MAX;
	uint64_t out_max = 0, in_sum = 0, out_sum = 0, t0, t1, in;
	const int n = 300;
	const pt_op_stats *op;
	pt_snapshot *s;
	pt_scope sc;
	int i;

	for (i = 0; i < n; i++) {
		uint64_t target = 20000 + (uint64_t)(i % 5) * 30000;

		t0 = mono_ns();
		sc = pt_scope_begin(&site);
		in = spin_ns(target);
		pt_scope_end(&sc);
		t1 = mono_ns();
		in_min = in < in_min ? in : in_min;
		in_max = in > in_max ? in : in_max;
		in_sum += in;
		out_min = t1 - t0 < out_min ? t1 - t0 : out_min;
		out_max = t1 - t0 > out_max ? t1 - t0 : out_max;
		out_sum += t1 - t0;
	}
	s = snap_take();
	op = snap_op(s, "corr.busy");
	CHECK_U64_EQ(op->count, n);
	/* 1e-4 for the tick calibration, 200 ns for clock reads. */
	CHECK_RANGE(in_min * (1 - 1e-4) - 200, op->min_ns,
	    out_min * (1 + 1e-4) + 200);
	CHECK_RANGE(in_max * (1 - 1e-4) - 200, op->max_ns,
	    out_max * (1 + 1e-4) + 200);
	CHECK_RANGE(in_sum * (1 - 1e-4) - 200.0 * n, op->total_ns,
	    out_sum * (1 + 1e-4) + 200.0 * n);
	/* And within a few microseconds of the waits themselves. */
	CHECK_NEAR(op->min_ns, in_min, 0, 5000);
	CHECK_NEAR(op->min_ns, 20000, 0, 5000);
	CU_ASSERT(op->max_ns >= 140000 - 200);
	pt_snapshot_free(s);
}

#define CTR_THREADS	8
#define CTR_PER_THREAD	1000000

static pt_site ctr_pos = PT_SITE_INIT("corr.ctr.pos", PT_KIND_COUNTER);
static pt_site ctr_mixed = PT_SITE_INIT("corr.ctr.mixed", PT_KIND_COUNTER);
static pt_site ctr_neg = PT_SITE_INIT("corr.ctr.neg", PT_KIND_COUNTER);

struct ctr_arg {
	int	idx;
	int64_t	pos, mixed, neg;
};

static void *
ctr_worker(void *arg)
{
	struct ctr_arg *a = arg;
	int64_t i, v;

	for (i = 0; i < CTR_PER_THREAD; i++) {
		v = i % 11 + 1 + (i % 1000 == 0 ? 1000000000LL : 0);
		pt_counter_add(&ctr_pos, v);
		a->pos += v;
		v = i % 3 == 0 ? -(i % 17) - 1 : i % 13 + a->idx;
		pt_counter_add(&ctr_mixed, v);
		a->mixed += v;
		v = -(i % 7) - 1;
		pt_counter_add(&ctr_neg, v);
		a->neg += v;
	}
	return NULL;
}

static void
test_counters_sum_exactly_over_8_threads(void)
{
	struct ctr_arg args[CTR_THREADS];
	int64_t pos = 0, mixed = 0, neg = 0;
	pt_snapshot *s;
	int i;

	memset(args, 0, sizeof args);
	for (i = 0; i < CTR_THREADS; i++)
		args[i].idx = i;
	run_threads(CTR_THREADS, ctr_worker, args, sizeof args[0]);
	for (i = 0; i < CTR_THREADS; i++) {
		pos += args[i].pos;
		mixed += args[i].mixed;
		neg += args[i].neg;
	}
	CU_ASSERT(pos > (1LL << 32));	/* past 32 bits */
	CU_ASSERT(neg < 0);
	s = snap_take();
	CHECK_I64_EQ(ctr_value(s, "corr.ctr.pos"), pos);
	CHECK_I64_EQ(ctr_value(s, "corr.ctr.mixed"), mixed);
	CHECK_I64_EQ(ctr_value(s, "corr.ctr.neg"), neg);
	pt_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Suite "percentiles"                                                       */
/* ------------------------------------------------------------------------ */

#define PCT_N_FULL	1000000
/* Samples per percentile test: fewer with PERFTOP_TEST_QUICK. */
#define PCT_N	(quick ? PCT_N_FULL / 5 : PCT_N_FULL)

/*
 * Records the n values (ns) into site, then compares the snapshot's
 * percentiles with the exact nearest-rank ones of the sorted values.
 */
static void
check_percentiles(pt_site *site, uint64_t *v, size_t n)
{
	static const struct { unsigned permille; const char *what; } q[4] = {
		{ 500, "p50" }, { 900, "p90" }, { 990, "p99" }, { 999, "p99.9" },
	};
	const pt_op_stats *op;
	uint64_t sum = 0, got[4], exact;
	pt_snapshot *s;
	size_t i, refused = 0, idx;

	for (i = 0; i < n; i++) {
		refused += pt_record_ns(site, v[i]) != 0;
		sum += v[i];
	}
	CHECK_U64_EQ(refused, 0);
	qsort(v, n, sizeof *v, cmp_u64);

	s = snap_take();
	op = snap_op(s, site->pt_name);
	CHECK_U64_EQ(op->count, n);
	CHECK_NEAR(op->total_ns, sum, 1e-3, 4);
	CHECK_NEAR(op->min_ns, v[0], 1e-3, 2);
	CHECK_NEAR(op->max_ns, v[n - 1], 1e-3, 2);
	got[0] = op->p50_ns;
	got[1] = op->p90_ns;
	got[2] = op->p99_ns;
	got[3] = op->p999_ns;
	for (i = 0; i < 4; i++) {
		/* Nearest rank: index ceil(q * n) - 1. */
		idx = (q[i].permille * n + 999) / 1000 - 1;
		exact = v[idx];
		check_report(fabs((double)got[i] - (double)exact) <=
		    0.01 * (double)exact, __LINE__, "percentile within 1 %",
		    "%s %s = %" PRIu64 " ns, exact %" PRIu64 " ns (%+.3f %%)",
		    site->pt_name, q[i].what, got[i], exact,
		    100.0 * ((double)got[i] - (double)exact) / (double)exact);
	}
	check_op_consistent(op);
	pt_snapshot_free(s);
}

static uint64_t *
samples_alloc(void)
{
	uint64_t *v = malloc(PCT_N * sizeof *v);

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

static void
test_percentiles_within_1pct_uniform(void)
{
	static pt_site site = PT_SITE_INIT("pct.uniform", PT_KIND_OP);
	uint64_t *v = samples_alloc(), seed = 1;
	size_t i;

	for (i = 0; i < PCT_N; i++)
		v[i] = clamp_sample((double)SAMPLE_MIN_NS + rng_unit(&seed) *
		    (double)(SAMPLE_MAX_NS - SAMPLE_MIN_NS));
	check_percentiles(&site, v, PCT_N);
	free(v);
}

static void
test_percentiles_within_1pct_lognormal(void)
{
	static pt_site site = PT_SITE_INIT("pct.lognormal", PT_KIND_OP);
	uint64_t *v = samples_alloc(), seed = 2;
	size_t i;

	/* Median 100 us, sigma 2.5: spans the whole 50 ns .. 10 s range. */
	for (i = 0; i < PCT_N; i++)
		v[i] = clamp_sample(exp(log(1e5) + 2.5 * rng_normal(&seed)));
	check_percentiles(&site, v, PCT_N);
	/* (1 sample in 500,000 reaches the top: only the full run has one.) */
	CU_ASSERT(v[0] == SAMPLE_MIN_NS && (quick || v[PCT_N - 1] == SAMPLE_MAX_NS));
	free(v);
}

static void
test_percentiles_within_1pct_bimodal(void)
{
	static pt_site site = PT_SITE_INIT("pct.bimodal", PT_KIND_OP);
	uint64_t *v = samples_alloc(), seed = 3;
	size_t i;

	/*
	 * 70 % around 300 ns, 30 % around 20 ms: p50 lies in the low mode,
	 * p90 and above in the high one, none near the gap between them.
	 */
	for (i = 0; i < PCT_N; i++) {
		if (rng_unit(&seed) < 0.7)
			v[i] = clamp_sample(exp(log(300) +
			    0.3 * rng_normal(&seed)));
		else
			v[i] = clamp_sample(exp(log(2e7) +
			    0.8 * rng_normal(&seed)));
	}
	check_percentiles(&site, v, PCT_N);
	free(v);
}

/* ------------------------------------------------------------------------ */
/* Suite "keys": operation and counter names that look alike                  */
/* ------------------------------------------------------------------------ */

static pt_site key_op_x = PT_SITE_INIT("x", PT_KIND_OP);
static pt_site key_ctr_x_count = PT_SITE_INIT("x_count", PT_KIND_COUNTER);
static pt_site key_op_x_count = PT_SITE_INIT("x_count", PT_KIND_OP);
static pt_site key_ctr_x = PT_SITE_INIT("x", PT_KIND_COUNTER);

static void
keys_record(void)
{
	static int done;
	int i;

	if (done++)
		return;
	for (i = 0; i < 3; i++)
		pt_record_ns(&key_op_x, 2000);
	for (i = 0; i < 5; i++)
		pt_record_ns(&key_op_x_count, 3000);
	pt_counter_add(&key_ctr_x, 7);
	pt_counter_add(&key_ctr_x_count, 11);
}

static void
test_colliding_names_unchanged_in_snapshot(void)
{
	size_t i, ops_x = 0, ops_xc = 0, ctr_x = 0, ctr_xc = 0;
	pt_snapshot *s;

	keys_record();
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "x")->count, 3);
	CHECK_U64_EQ(snap_op(s, "x_count")->count, 5);
	CHECK_I64_EQ(ctr_value(s, "x"), 7);
	CHECK_I64_EQ(ctr_value(s, "x_count"), 11);
	/* Exactly one of each, and no other name starting with "x". */
	for (i = 0; i < s->n_ops; i++) {
		if (s->ops[i].name[0] != 'x')
			continue;
		ops_x += strcmp(s->ops[i].name, "x") == 0;
		ops_xc += strcmp(s->ops[i].name, "x_count") == 0;
		check_report(strcmp(s->ops[i].name, "x") == 0 ||
		    strcmp(s->ops[i].name, "x_count") == 0, __LINE__,
		    "unexpected op", "unexpected operation \"%s\"",
		    s->ops[i].name);
	}
	for (i = 0; i < s->n_counters; i++) {
		if (s->counters[i].name[0] != 'x')
			continue;
		ctr_x += strcmp(s->counters[i].name, "x") == 0;
		ctr_xc += strcmp(s->counters[i].name, "x_count") == 0;
		check_report(strcmp(s->counters[i].name, "x") == 0 ||
		    strcmp(s->counters[i].name, "x_count") == 0, __LINE__,
		    "unexpected counter", "unexpected counter \"%s\"",
		    s->counters[i].name);
	}
	CHECK_U64_EQ(ops_x, 1);
	CHECK_U64_EQ(ops_xc, 1);
	CHECK_U64_EQ(ctr_x, 1);
	CHECK_U64_EQ(ctr_xc, 1);
	pt_snapshot_free(s);
}

static void
test_colliding_names_unchanged_in_summary(void)
{
	pt_snapshot *s;
	char *text;
	int ok;

	keys_record();
	s = snap_take();
	text = summary_text(s);
	ok = summary_row(text, "Operations", "x", "3") &&
	    summary_row(text, "Operations", "x_count", "5") &&
	    summary_row(text, "Counters", "x", "7") &&
	    summary_row(text, "Counters", "x_count", "11") &&
	    /* And nowhere in the wrong section. */
	    !summary_row(text, "Operations", "x", "7") &&
	    !summary_row(text, "Counters", "x", "3") &&
	    !summary_row(text, "Counters", "x_count", "5");
	check_report(ok, __LINE__, "names in their summary sections",
	    "summary:\n%s", text);
	free(text);
	pt_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Suite "api": diff, profile_call, summary, strerror, macros                */
/* ------------------------------------------------------------------------ */

static pt_site diff_op = PT_SITE_INIT("api.diff.op", PT_KIND_OP);
static pt_site diff_new = PT_SITE_INIT("api.diff.new", PT_KIND_OP);
static pt_site diff_idle = PT_SITE_INIT("api.diff.idle", PT_KIND_OP);
static pt_site diff_ctr = PT_SITE_INIT("api.diff.ctr", PT_KIND_COUNTER);
static pt_site diff_neg = PT_SITE_INIT("api.diff.neg", PT_KIND_COUNTER);

static void
record_n(pt_site *site, int n, uint64_t ns)
{
	int i;

	for (i = 0; i < n; i++)
		CHECK_INT_EQ(pt_record_ns(site, ns), 0);
}

static void
test_snapshot_diff_subtracts_counts_and_counters(void)
{
	pt_snapshot *before, *after, *d = NULL, *self = NULL;
	const pt_op_stats *op;
	size_t i;

	record_n(&diff_op, 3, 1000);
	record_n(&diff_idle, 2, 500);
	pt_counter_add(&diff_ctr, 2);
	before = snap_take();
	record_n(&diff_op, 5, 2000);
	record_n(&diff_new, 4, 700);
	pt_counter_add(&diff_ctr, 7);
	pt_counter_add(&diff_neg, -3);
	after = snap_take();

	CHECK_INT_EQ(pt_snapshot_diff(before, after, &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	op = snap_op(d, "api.diff.op");
	CHECK_U64_EQ(op->count, 5);
	CHECK_NEAR(op->total_ns, 10000, 1e-3, 4);
	CHECK_NEAR(op->min_ns, 2000, 0.01, 2);
	CHECK_NEAR(op->max_ns, 2000, 0.01, 2);
	CHECK_NEAR(op->p50_ns, 2000, 0.01, 2);
	CHECK_U64_EQ(bucket_sum(op), 5);
	op = snap_op(d, "api.diff.new");
	CHECK_U64_EQ(op->count, 4);
	CHECK_NEAR(op->min_ns, 700, 1e-3, 2);
	CHECK_U64_EQ(op_count(d, "api.diff.idle"), 0);
	CHECK_U64_EQ(op_count(d, "corr.scope.a"), 0);
	CHECK_I64_EQ(ctr_value(d, "api.diff.ctr"), 7);
	CHECK_I64_EQ(ctr_value(d, "api.diff.neg"), -3);
	CHECK_I64_EQ(ctr_value(d, "corr.ctr.pos"), 0);
	CHECK_U64_EQ(d->reset_epoch, after->reset_epoch);
	for (i = 0; i < d->n_ops; i++)
		check_op_consistent(&d->ops[i]);

	/* A snapshot minus itself is all zeros. */
	CHECK_INT_EQ(pt_snapshot_diff(after, after, &self), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(self);
	for (i = 0; i < self->n_ops; i++)
		CHECK_U64_EQ(self->ops[i].count, 0);
	for (i = 0; i < self->n_counters; i++)
		CHECK_I64_EQ(self->counters[i].value, 0);

	CHECK_INT_EQ(pt_snapshot_diff(before, NULL, &d), PT_EINVAL);
	CHECK_INT_EQ(pt_snapshot_diff(before, after, NULL), PT_EINVAL);
	pt_snapshot_free(self);
	pt_snapshot_free(d);
	pt_snapshot_free(before);
	pt_snapshot_free(after);
}

static pt_site prof_a = PT_SITE_INIT("api.prof.a", PT_KIND_OP);
static pt_site prof_b = PT_SITE_INIT("api.prof.b", PT_KIND_OP);
static pt_site prof_c = PT_SITE_INIT("api.prof.c", PT_KIND_OP);
static pt_site prof_ctr = PT_SITE_INIT("api.prof.ctr", PT_KIND_COUNTER);

static void *
prof_thread(void *arg)
{
	(void)arg;
	record_n(&prof_c, 4, 300);
	return NULL;
}

static void
prof_fn(void *arg)
{
	pthread_t t;
	int i;

	(void)arg;
	for (i = 0; i < 10; i++) {
		pt_scope sc = pt_scope_begin(&prof_b);

		pt_scope_end(&sc);
	}
	pt_counter_add(&prof_ctr, 6);
	if (pthread_create(&t, NULL, prof_thread, NULL) == 0)
		pthread_join(t, NULL);
	++*(int *)arg;
}

static void
test_profile_call_reports_only_what_the_call_recorded(void)
{
	pt_snapshot *p = NULL;
	int called = 0;

	record_n(&prof_a, 3, 1000);
	pt_counter_add(&prof_ctr, 100);
	CHECK_INT_EQ(pt_profile_call(prof_fn, &called, &p), 0);
	CHECK_INT_EQ(called, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CHECK_U64_EQ(op_count(p, "api.prof.b"), 10);
	CHECK_U64_EQ(op_count(p, "api.prof.c"), 4);	/* another thread */
	CHECK_U64_EQ(op_count(p, "api.prof.a"), 0);	/* 0 or absent */
	CHECK_U64_EQ(op_count(p, "corr.known"), 0);
	CHECK_I64_EQ(ctr_value(p, "api.prof.ctr"), 6);
	pt_snapshot_free(p);
	CHECK_INT_EQ(pt_profile_call(NULL, NULL, &p), PT_EINVAL);
	CHECK_INT_EQ(pt_profile_call(prof_fn, &called, NULL), PT_EINVAL);
}

static void
test_summary_write_has_headers_and_rows(void)
{
	static const char *words[] = { "Operations", "Counters", "NAME",
	    "COUNT", "TOTAL", "AVG", "MIN", "MAX", "P50", "P99", "VALUE" };
	pt_snapshot *s;
	char *text, *buf = NULL;
	size_t i, len = 0;
	FILE *f;

	s = snap_take();
	text = summary_text(s);
	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		check_report(strstr(text, words[i]) != NULL, __LINE__,
		    "summary header", "\"%s\" missing from the summary",
		    words[i]);
	CU_ASSERT(summary_row(text, "Operations", "corr.known", NULL));
	CU_ASSERT(summary_row(text, "Counters", "corr.ctr.neg", NULL));
	free(text);
	pt_snapshot_free(s);

	/* pt_summary_print takes its own snapshot. */
	f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CHECK_INT_EQ(pt_summary_print(f), 0);
	fclose(f);
	CU_ASSERT(buf != NULL && strstr(buf, "Operations") != NULL &&
	    strstr(buf, "corr.known") != NULL);
	free(buf);

	/* A failing stream is reported. */
	f = fopen("/dev/full", "we");
	if (f != NULL) {
		s = snap_take();
		setvbuf(f, NULL, _IONBF, 0);
		CHECK_INT_EQ(pt_summary_write(f, s), PT_ESYS);
		fclose(f);
		pt_snapshot_free(s);
	}
}

static void
test_strerror_never_returns_null(void)
{
	static const int unknown[] = { -15, -1000, 1, 42, INT_MIN, INT_MAX };
	const char *m[15];
	int err, j;
	size_t i;

	for (err = 0; err >= -14; err--) {
		m[-err] = pt_strerror(err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m[-err]);
		CU_ASSERT(m[-err][0] != '\0');
		for (j = 0; j < -err; j++)
			check_report(strcmp(m[j], m[-err]) != 0, __LINE__,
			    "distinct messages", "codes %d and %d share \"%s\"",
			    -j, err, m[j]);
	}
	for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		const char *u = pt_strerror(unknown[i]);

		CU_ASSERT(u != NULL && u[0] != '\0');
	}
	CU_ASSERT_STRING_EQUAL(pt_version(), "0.1.0");
}

/* The exported, out-of-line pt_scope_begin (for bindings). */
extern pt_scope pt_scope_begin_exported(pt_site *site)
    __asm__("pt_scope_begin");

static void
test_exported_pt_scope_begin_times_like_the_inline_one(void)
{
	static pt_site site = PT_SITE_INIT("api.begin.exported", PT_KIND_OP);
	uint64_t in, in_min = UINT64_MAX;
	pt_snapshot *s;
	pt_scope sc;
	int i;

	for (i = 0; i < 5; i++) {
		sc = pt_scope_begin_exported(&site);
		in = spin_ns(2000);
		pt_scope_end(&sc);
		in_min = in < in_min ? in : in_min;
	}
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "api.begin.exported")->count, 5);
	CHECK_RANGE(in_min * (1 - 1e-4) - 200,
	    snap_op(s, "api.begin.exported")->min_ns, in_min + 100000);
	pt_snapshot_free(s);
}

static void
pt_func_probe(void)
{
	PT_FUNC();
	spin_ns(1000);
}

static void
test_pt_func_names_the_site_after_the_function(void)
{
	pt_snapshot *s;
	int i;

	for (i = 0; i < 3; i++)
		pt_func_probe();
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "pt_func_probe")->count, 3);
	CU_ASSERT(snap_op(s, "pt_func_probe")->min_ns >= 900);
	pt_snapshot_free(s);
}

static void
scope_count_probe(void)
{
	PT_SCOPE_COUNT("api.macro.step", "api.macro.steps");
	spin_ns(500);
}

static void
test_pt_scope_count_times_and_counts(void)
{
	pt_snapshot *s;
	int i;

	for (i = 0; i < 4; i++)
		scope_count_probe();
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "api.macro.step")->count, 4);
	CHECK_I64_EQ(ctr_value(s, "api.macro.steps"), 4);
	/* Separate namespaces: no counter "api.macro.step" appeared. */
	CU_ASSERT_PTR_NULL(pt_snapshot_find_counter(s, "api.macro.step"));
	CU_ASSERT_PTR_NULL(pt_snapshot_find_op(s, "api.macro.steps"));
	pt_snapshot_free(s);
}

static void
test_pt_scope_and_pt_begin_end_time_blocks(void)
{
	pt_snapshot *s;
	int i, ran = 0;

	for (i = 0; i < 6; i++) {
		PT_BEGIN(bv, "api.macro.begin");
		ran++;
		PT_END(bv);
	}
	for (i = 0; i < 2; i++) {
		PT_SCOPE("api.macro.scope");
		{
			PT_SCOPE("api.macro.inner");
			ran++;
		}
	}
	CHECK_INT_EQ(ran, 8);
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "api.macro.begin")->count, 6);
	CHECK_U64_EQ(snap_op(s, "api.macro.scope")->count, 2);
	CHECK_U64_EQ(snap_op(s, "api.macro.inner")->count, 2);
	CU_ASSERT(snap_op(s, "api.macro.scope")->total_ns >=
	    snap_op(s, "api.macro.inner")->total_ns);
	pt_snapshot_free(s);
}

static void
test_pt_count_and_pt_inc_add_to_counters(void)
{
	pt_snapshot *s;
	int i;

	for (i = 0; i < 3; i++) {
		PT_COUNT("api.macro.count", 5);
		PT_INC("api.macro.count");
		PT_COUNT("api.macro.down", -2);
	}
	s = snap_take();
	CHECK_I64_EQ(ctr_value(s, "api.macro.count"), 18);
	CHECK_I64_EQ(ctr_value(s, "api.macro.down"), -6);
	pt_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Suite "memory": pt_memory_read                                            */
/* ------------------------------------------------------------------------ */

static void
test_memory_read_matches_proc_status(void)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t r0, r1, h0, h1;
	pt_memory m;

	r0 = status_kib("VmRSS") * KIB;
	h0 = status_kib("VmHWM") * KIB;
	CHECK_INT_EQ(pt_memory_read(&m), 0);
	r1 = status_kib("VmRSS") * KIB;
	h1 = status_kib("VmHWM") * KIB;
	CU_ASSERT(r0 > 0 && h0 > 0);
	CHECK_RANGE((r0 < r1 ? r0 : r1) - page, m.rss_bytes,
	    (r0 > r1 ? r0 : r1) + page);
	CHECK_RANGE((h0 < h1 ? h0 : h1) - page, m.peak_rss_bytes,
	    (h0 > h1 ? h0 : h1) + page);
	CU_ASSERT(m.peak_rss_bytes >= m.rss_bytes);
	CU_ASSERT(!MEMORY_FIGURES || m.heap_bytes > 0);
	CHECK_INT_EQ(pt_memory_read(NULL), PT_EINVAL);
}

static void *volatile heap_sink;

static void
test_memory_heap_follows_malloc_and_free(void)
{
	const size_t size = 8 * MIB;
	pt_memory m0, m1, m2;
	char *p;

	CHECK_INT_EQ(pt_memory_read(&m0), 0);
	p = malloc(size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0x5a, size);
	heap_sink = p;
	CHECK_INT_EQ(pt_memory_read(&m1), 0);
	free(heap_sink);
	heap_sink = NULL;
	CHECK_INT_EQ(pt_memory_read(&m2), 0);
	CU_ASSERT(m1.peak_rss_bytes >= m1.rss_bytes);
	if (!MEMORY_FIGURES) {
		skipped("heap and rss sizes");
		return;
	}
	CU_ASSERT(m0.heap_bytes > 0);
	CHECK_RANGE(m0.heap_bytes + size, m1.heap_bytes,
	    m0.heap_bytes + size + 256 * KIB);
	CHECK_RANGE(m1.heap_bytes - size - 256 * KIB, m2.heap_bytes,
	    m1.heap_bytes - size);
	/* The touched block was resident. */
	CU_ASSERT(m1.rss_bytes >= m0.rss_bytes + size - 256 * KIB);
}

static void
test_memory_read_starts_no_threads_and_opens_no_fds(void)
{
	size_t tasks0, fds0, tasks1, fds1;
	pt_memory m;

	tasks0 = dir_entries("/proc/self/task");
	fds0 = dir_entries("/proc/self/fd");
	CHECK_INT_EQ(pt_memory_read(&m), 0);
	CHECK_INT_EQ(pt_memory_read(&m), 0);
	tasks1 = dir_entries("/proc/self/task");
	fds1 = dir_entries("/proc/self/fd");
	CU_ASSERT(tasks0 >= 1 && fds0 >= 3);
	CHECK_U64_EQ(tasks1, tasks0);
	CHECK_U64_EQ(fds1, fds0);
}

/* ------------------------------------------------------------------------ */
/* Suite "threads": thread exit                                              */
/* ------------------------------------------------------------------------ */

static pt_site exit_op = PT_SITE_INIT("thr.exit.op", PT_KIND_OP);
static pt_site exit_ctr = PT_SITE_INIT("thr.exit.ctr", PT_KIND_COUNTER);

static void *
exit_worker(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 1000; i++) {
		pt_scope sc = pt_scope_begin(&exit_op);

		pt_scope_end(&sc);
		pt_counter_add(&exit_ctr, 2);
	}
	return NULL;
}

static void
test_thread_statistics_survive_its_exit(void)
{
	size_t live0, live1, free1;
	pt_snapshot *s;

	pt__thread_stats(&live0, NULL);
	run_threads(1, exit_worker, NULL, 0);
	pt__thread_stats(&live1, &free1);
	CHECK_U64_EQ(live1, live0);
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "thr.exit.op")->count, 1000);
	CHECK_I64_EQ(ctr_value(s, "thr.exit.ctr"), 2000);
	pt_snapshot_free(s);
	/* Survives a second thread using the same (reused) record too. */
	run_threads(1, exit_worker, NULL, 0);
	s = snap_take();
	CHECK_U64_EQ(snap_op(s, "thr.exit.op")->count, 2000);
	CHECK_I64_EQ(ctr_value(s, "thr.exit.ctr"), 4000);
	pt_snapshot_free(s);
}

#define CHURN_BATCH	50
#define CHURN_EVENTS	5

static pt_site churn_sites[4] = {
	PT_SITE_INIT("thr.churn.a", PT_KIND_OP),
	PT_SITE_INIT("thr.churn.b", PT_KIND_OP),
	PT_SITE_INIT("thr.churn.c", PT_KIND_OP),
	PT_SITE_INIT("thr.churn.d", PT_KIND_OP),
};
static pt_site churn_ctr = PT_SITE_INIT("thr.churn.threads", PT_KIND_COUNTER);
static pthread_barrier_t churn_barrier;

static void *
churn_worker(void *arg)
{
	int k, i;

	(void)arg;
	for (k = 0; k < 4; k++)
		for (i = 0; i < CHURN_EVENTS; i++) {
			pt_scope sc = pt_scope_begin(&churn_sites[k]);

			pt_scope_end(&sc);
		}
	pt_counter_add(&churn_ctr, 1);
	/* All threads of a batch are alive together: a fixed peak. */
	pthread_barrier_wait(&churn_barrier);
	return NULL;
}

/* Creates and ends n threads in batches of CHURN_BATCH. */
static void
churn(int n)
{
	pthread_t tid[CHURN_BATCH];
	pthread_attr_t attr;
	int done, i;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * KIB);
	for (done = 0; done < n; done += CHURN_BATCH) {
		for (i = 0; i < CHURN_BATCH; i++)
			CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], &attr,
			    churn_worker, NULL), 0);
		for (i = 0; i < CHURN_BATCH; i++)
			pthread_join(tid[i], NULL);
	}
	pthread_attr_destroy(&attr);
}

static void
test_10000_threads_keep_memory_bounded_and_counts_exact(void)
{
	size_t live1, free1, live2, free2;
	uint64_t rss1, rss2;
	pt_snapshot *s;
	int k;

	const int first = quick ? 100 : 1000, all = quick ? 1000 : 10000;

	pthread_barrier_init(&churn_barrier, NULL, CHURN_BATCH);
	churn(first);
	pt__thread_stats(&live1, &free1);
	rss1 = rss_bytes();
	churn(all - first);
	pt__thread_stats(&live2, &free2);
	rss2 = rss_bytes();
	pthread_barrier_destroy(&churn_barrier);

	CHECK_U64_EQ(live2, live1);
	CHECK_RANGE(0, live2 + free2, live1 + free1);
	if (!MEMORY_FIGURES)
		skipped("rss growth");
	else
		check_report(rss2 < rss1 + MIB, __LINE__, "rss growth < 1 MiB",
		    "VmRSS %" PRIu64 " KiB after %d threads, %" PRIu64
		    " KiB after %d", rss1 / KIB, first, rss2 / KIB, all);
	s = snap_take();
	for (k = 0; k < 4; k++)
		CHECK_U64_EQ(snap_op(s, churn_sites[k].pt_name)->count,
		    (uint64_t)all * CHURN_EVENTS);
	CHECK_I64_EQ(ctr_value(s, "thr.churn.threads"), all);
	pt_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Suite "constant-memory"                                                   */
/* ------------------------------------------------------------------------ */

static void
test_slot_costs_at_most_16_kib(void)
{
	CU_ASSERT(pt__slot_bytes() > 0);
	check_report(pt__slot_bytes() <= 16384, __LINE__, "slot <= 16 KiB",
	    "pt__slot_bytes() = %zu", pt__slot_bytes());
}

static pt_site mem_sites[4] = {
	PT_SITE_INIT("mem.loop.a", PT_KIND_OP),
	PT_SITE_INIT("mem.loop.b", PT_KIND_OP),
	PT_SITE_INIT("mem.loop.c", PT_KIND_OP),
	PT_SITE_INIT("mem.loop.d", PT_KIND_OP),
};

static void
scope_loop(uint64_t from, uint64_t to)
{
	uint64_t i;

	for (i = from; i < to; i++) {
		pt_scope sc = pt_scope_begin(&mem_sites[i & 3]);

		pt_scope_end(&sc);
	}
}

static void
test_rss_constant_from_1m_to_100m_events(void)
{
	const uint64_t first = 1000000,
	    all = quick ? 2000000 : SANITIZED ? 10000000 : 100000000;
	uint64_t rss1, rss2, total = 0;
	pt_snapshot *s;
	int k;

	scope_loop(0, first);
	rss1 = rss_bytes();
	scope_loop(first, all);
	rss2 = rss_bytes();
	if (!MEMORY_FIGURES)
		skipped("rss growth");
	else
		check_report(rss2 < rss1 + 64 * KIB, __LINE__,
		    "rss growth < 64 KiB", "VmRSS %" PRIu64 " KiB after "
		    "%" PRIu64 " events, %" PRIu64 " KiB after %" PRIu64,
		    rss1 / KIB, first, rss2 / KIB, all);
	s = snap_take();
	for (k = 0; k < 4; k++) {
		CHECK_U64_EQ(snap_op(s, mem_sites[k].pt_name)->count, all / 4);
		total += snap_op(s, mem_sites[k].pt_name)->count;
	}
	CHECK_U64_EQ(total, all);
	pt_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Suite "reset"                                                             */
/* ------------------------------------------------------------------------ */

#define RESET_WORKERS	4
#define RESET_ROUNDS	1000
#define RESET_REC_NS	1000

static pt_site reset_scope = PT_SITE_INIT("reset.scope", PT_KIND_OP);
static pt_site reset_rec = PT_SITE_INIT("reset.rec", PT_KIND_OP);

/*
 * A worker records without pause and publishes two numbers: started, stored
 * (sequentially consistent) before an event begins, and done, stored
 * (release) after it was recorded.  Events 1 .. done are complete; events
 * after started have not begun.
 */
struct reset_worker {
	uint64_t	 started;
	uint64_t	 done;
	int		 use_scope;
	pt_site		*site;
} __attribute__((aligned(64)));

static struct reset_worker reset_w[RESET_WORKERS];
static int reset_stop;

static void *
reset_worker_main(void *arg)
{
	struct reset_worker *w = arg;
	uint64_t n = 0;

	while (!__atomic_load_n(&reset_stop, __ATOMIC_RELAXED)) {
		n++;
		__atomic_store_n(&w->started, n, __ATOMIC_SEQ_CST);
		if (w->use_scope) {
			pt_scope sc = pt_scope_begin(w->site);

			pt_scope_end(&sc);
		} else
			pt_record_ns(w->site, RESET_REC_NS);
		__atomic_store_n(&w->done, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void
load_started(uint64_t *v)
{
	int w;

	for (w = 0; w < RESET_WORKERS; w++)
		v[w] = __atomic_load_n(&reset_w[w].started, __ATOMIC_SEQ_CST);
}

static void
load_done(uint64_t *v)
{
	int w;

	for (w = 0; w < RESET_WORKERS; w++)
		v[w] = __atomic_load_n(&reset_w[w].done, __ATOMIC_SEQ_CST);
}

/*
 * Bounds on the events of site counted after a reset, from the workers'
 * numbers read before the reset (done_a), after it returned (started_b),
 * just before the snapshot (done_x) and after it (started_c):
 *  - events started after the reset returned and done before the snapshot
 *    began must be counted: sum of done_x - started_b;
 *  - events done before the reset began, or not started when the snapshot
 *    ended, cannot be: at most sum of started_c - done_a.
 */
static void
reset_bounds(const pt_site *site, const uint64_t *done_a,
    const uint64_t *started_b, const uint64_t *done_x,
    const uint64_t *started_c, uint64_t *lo, uint64_t *hi)
{
	int w;

	*lo = *hi = 0;
	for (w = 0; w < RESET_WORKERS; w++) {
		if (reset_w[w].site != site)
			continue;
		if (done_x[w] > started_b[w])
			*lo += done_x[w] - started_b[w];
		*hi += started_c[w] - done_a[w];
	}
}

static void
test_reset_under_load_loses_and_duplicates_nothing(void)
{
	uint64_t done_a[RESET_WORKERS], started_b[RESET_WORKERS];
	uint64_t done_x[RESET_WORKERS], started_c[RESET_WORKERS];
	uint64_t lo, hi, sb, sx, t0, ep0, checks = 0;
	unsigned bad_count = 0, bad_epoch = 0;
	pthread_t tid[RESET_WORKERS];
	pt_site *sites[2] = { &reset_scope, &reset_rec };
	const int rounds = quick ? RESET_ROUNDS / 16 : RESET_ROUNDS;
	const pt_op_stats *op;
	pt_snapshot *s;
	int r, w, k;

	for (w = 0; w < RESET_WORKERS; w++) {
		reset_w[w].use_scope = w % 2 == 0;
		reset_w[w].site = sites[w % 2];
		reset_w[w].started = reset_w[w].done = 0;
	}
	CU_ASSERT_FATAL(pt_site_register(&reset_scope) > 0);
	CU_ASSERT_FATAL(pt_site_register(&reset_rec) > 0);
	s = snap_take();
	ep0 = s->reset_epoch;
	pt_snapshot_free(s);
	__atomic_store_n(&reset_stop, 0, __ATOMIC_SEQ_CST);
	for (w = 0; w < RESET_WORKERS; w++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[w], NULL,
		    reset_worker_main, &reset_w[w]), 0);
	/* Let every worker get going. */
	for (w = 0; w < RESET_WORKERS; w++)
		while (__atomic_load_n(&reset_w[w].done, __ATOMIC_ACQUIRE) <
		    100)
			sched_yield();

	for (r = 0; r < rounds; r++) {
		load_done(done_a);
		CHECK_INT_EQ(pt_reset(), 0);
		load_started(started_b);
		/*
		 * Let some events happen after the reset: spin up to 1 ms,
		 * then leave the CPU to the workers, up to 3 ms in all.
		 */
		for (sb = 0, w = 0; w < RESET_WORKERS; w++)
			sb += started_b[w];
		t0 = mono_ns();
		do {
			if (mono_ns() - t0 > 1000000)
				sched_yield();
			load_done(done_x);
			for (sx = 0, w = 0; w < RESET_WORKERS; w++)
				sx += done_x[w];
		} while (sx < sb + 200 && mono_ns() - t0 < 3000000);
		load_done(done_x);
		s = snap_take();
		load_started(started_c);

		if (s->reset_epoch != ep0 + (uint64_t)r + 1 && bad_epoch++ < 3)
			fprintf(stderr, "\n    round %d: epoch %" PRIu64
			    ", expected %" PRIu64 "\n", r, s->reset_epoch,
			    ep0 + r + 1);
		for (k = 0; k < 2; k++) {
			reset_bounds(sites[k], done_a, started_b, done_x,
			    started_c, &lo, &hi);
			op = pt_snapshot_find_op(s, sites[k]->pt_name);
			checks += lo > 0;
			if (op == NULL || op->count < lo || op->count > hi) {
				if (bad_count++ < 5)
					fprintf(stderr, "\n    round %d %s: "
					    "count %" PRIu64 " not in [%" PRIu64
					    ", %" PRIu64 "]\n", r,
					    sites[k]->pt_name,
					    op ? op->count : 0, lo, hi);
			}
			/*
			 * The other fields of a snapshot taken under load may
			 * be a few events apart from count; the quiescent
			 * checks are below and in the next test.
			 */
		}
		pt_snapshot_free(s);
	}

	/* Stop; the events after the last reset are all in a final snapshot. */
	__atomic_store_n(&reset_stop, 1, __ATOMIC_SEQ_CST);
	for (w = 0; w < RESET_WORKERS; w++)
		pthread_join(tid[w], NULL);
	load_done(done_x);
	s = snap_take();
	for (k = 0; k < 2; k++) {
		reset_bounds(sites[k], done_a, started_b, done_x, done_x, &lo,
		    &hi);
		op = snap_op(s, sites[k]->pt_name);
		CHECK_RANGE(lo, op->count, hi);
		check_op_consistent_slack(op, 2 * RESET_WORKERS);
		if (k == 1 && op->count > 0) {
			CHECK_NEAR(op->total_ns, (double)op->count *
			    RESET_REC_NS, 1e-3, RESET_WORKERS * RESET_REC_NS);
			CHECK_NEAR(op->max_ns, RESET_REC_NS, 0.01, 2);
		}
	}
	CHECK_U64_EQ(s->reset_epoch, ep0 + (uint64_t)rounds);
	pt_snapshot_free(s);

	CHECK_INT_EQ(bad_count, 0);
	CHECK_INT_EQ(bad_epoch, 0);
	/* The lower bound was not vacuous in a fair share of the rounds. */
	check_report(checks >= (uint64_t)rounds / 2, __LINE__,
	    "lower bounds used",
	    "only %" PRIu64 " non-zero lower bounds", checks);
}

/*
 * Workers record without pause on one of two sites, switching when the main
 * thread bumps a generation.  Each round resets while they record on site
 * X, moves them to the other site, waits until every worker has recorded
 * there, and then checks the now idle site X: whatever the reset did to an
 * event in flight, count, histogram and total of X must describe the same
 * events (each event on exactly one side of the reset, with all its fields).
 */
#define SKEW_ROUNDS	200

static pt_site skew_sites[2] = {
	PT_SITE_INIT("reset.skew.a", PT_KIND_OP),
	PT_SITE_INIT("reset.skew.b", PT_KIND_OP),
};
static uint64_t skew_gen;

struct skew_worker {
	uint64_t	gen_seen;	/* generation of the last event done */
	uint64_t	events;
	uint64_t	gen;		/* generation being recorded */
	/*
	 * Longest event of generations gen and gen - 1 (by parity), in ticks
	 * from before pt_scope_begin to after pt_scope_end: a bound on the
	 * duration of the worker's event in flight during a reset.
	 */
	uint64_t	longest[2];
} __attribute__((aligned(64)));

static struct skew_worker skew_w[RESET_WORKERS];

static void *
skew_worker_main(void *arg)
{
	struct skew_worker *w = arg;
	uint64_t g, t0, d;

	while (!__atomic_load_n(&reset_stop, __ATOMIC_RELAXED)) {
		g = __atomic_load_n(&skew_gen, __ATOMIC_ACQUIRE);
		if (g != w->gen) {
			/* The main thread is done with generation g - 2. */
			w->gen = g;
			w->longest[g & 1] = 0;
		}
		t0 = pt__clock_now();
		{
			pt_scope sc = pt_scope_begin(&skew_sites[g & 1]);

			pt_scope_end(&sc);
		}
		d = pt__clock_now() - t0;
		if (d > w->longest[g & 1])
			w->longest[g & 1] = d;
		w->events++;
		__atomic_store_n(&w->gen_seen, g, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * Whether total_ns lies within the bucket bounds of op's histogram, give or
 * take slack events as long as the longest one, and up to extra more ticks:
 * an event in flight on a thread while a reset reads that thread's slot may
 * have its bucket on one side and its duration in the total on the other
 * (documented at pt_reset).  Such an event may be longer than any the
 * histogram holds (its thread preempted while timing it): extra is the sum
 * of the workers' longest events of that generation.
 */
static int
total_fits_buckets(const pt_op_stats *op, double tick_ns, unsigned slack,
    double extra)
{
	double lo_sum = 0, hi_sum = 0, longest = 0;
	uint64_t lo, hi;
	size_t i;

	for (i = 0; i < op->n_buckets; i++) {
		pt__hist_bounds(op->buckets[i].index, &lo, &hi);
		lo_sum += (double)lo * (double)op->buckets[i].count;
		hi_sum += (double)hi * (double)op->buckets[i].count;
		longest = (double)hi;
	}
	lo_sum -= slack * longest;
	hi_sum += slack * longest + extra;
	return (double)op->total_ns >= lo_sum * tick_ns * (1 - 1e-9) - 1 &&
	    (double)op->total_ns <= hi_sum * tick_ns * (1 + 1e-9) + 1;
}

static void
test_reset_under_load_keeps_count_total_and_histogram_together(void)
{
	pthread_t tid[RESET_WORKERS];
	unsigned bad = 0, used = 0;
	const pt_op_stats *op;
	uint64_t g, t0;
	const int rounds = quick ? SKEW_ROUNDS / 16 : SKEW_ROUNDS;
	double extra;
	pt_snapshot *s;
	int r, w, fits;

	CU_ASSERT_FATAL(pt_site_register(&skew_sites[0]) > 0);
	CU_ASSERT_FATAL(pt_site_register(&skew_sites[1]) > 0);
	__atomic_store_n(&reset_stop, 0, __ATOMIC_SEQ_CST);
	for (w = 0; w < RESET_WORKERS; w++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[w], NULL,
		    skew_worker_main, &skew_w[w]), 0);

	for (r = 0; r < rounds; r++) {
		g = __atomic_load_n(&skew_gen, __ATOMIC_RELAXED);
		CHECK_INT_EQ(pt_reset(), 0);
		spin_ns(50000);
		__atomic_store_n(&skew_gen, g + 1, __ATOMIC_RELEASE);
		/* Spin a little, then give the workers this CPU too. */
		t0 = mono_ns();
		for (w = 0; w < RESET_WORKERS; w++)
			while (__atomic_load_n(&skew_w[w].gen_seen,
			    __ATOMIC_ACQUIRE) < g + 1 &&
			    mono_ns() - t0 < 5000000000ULL)
				if (mono_ns() - t0 > 200000)
					sched_yield();
		s = snap_take();
		op = snap_op(s, skew_sites[g & 1].pt_name);
		used += op->count > 0;
		/* Read after every worker published generation g + 1. */
		extra = 0;
		for (w = 0; w < RESET_WORKERS; w++)
			extra += (double)skew_w[w].longest[g & 1];
		fits = total_fits_buckets(op, s->tick_ns, 2 * RESET_WORKERS,
		    extra);
		if ((bucket_sum(op) != op->count || !fits) && bad++ < 5)
			fprintf(stderr, "\n    round %d %s: count %" PRIu64
			    ", buckets hold %" PRIu64 ", total %" PRIu64
			    " ns%s\n", r, op->name, op->count,
			    bucket_sum(op), op->total_ns, fits ? "" :
			    " (outside the buckets' bounds)");
		pt_snapshot_free(s);
	}
	__atomic_store_n(&reset_stop, 1, __ATOMIC_SEQ_CST);
	for (w = 0; w < RESET_WORKERS; w++)
		pthread_join(tid[w], NULL);
	check_report(bad == 0, __LINE__, "count, total, buckets agree",
	    "%u of %d rounds with count, total and histogram apart", bad,
	    rounds);
	CU_ASSERT(used >= (unsigned)rounds / 2);
}

static pt_site mm_site = PT_SITE_INIT("reset.mm", PT_KIND_OP);
static pt_site mm_old = PT_SITE_INIT("reset.mm.old", PT_KIND_OP);
static pt_site mm_ctr = PT_SITE_INIT("reset.mm.ctr", PT_KIND_COUNTER);

static void *
mm_thread(void *arg)
{
	(void)arg;
	record_n(&mm_site, 1, 9000000000ULL);	/* 9 s, then exits */
	record_n(&mm_site, 1, 55);
	return NULL;
}

static void
test_reset_min_max_reflect_only_new_events(void)
{
	const pt_op_stats *op;
	pt_snapshot *s0, *s;
	int i;

	/* Extremes before the reset: from this thread and an exited one. */
	record_n(&mm_site, 1, 5000000000ULL);	/* 5 s */
	record_n(&mm_site, 1, 60);
	run_threads(1, mm_thread, NULL, 0);
	record_n(&mm_old, 3, 1000);
	pt_counter_add(&mm_ctr, 100);
	s0 = snap_take();
	CHECK_U64_EQ(snap_op(s0, "reset.mm")->count, 4);

	CHECK_INT_EQ(pt_reset(), 0);
	for (i = 0; i < 10; i++)
		record_n(&mm_site, 1, 1000000);	/* 1 ms */
	pt_counter_add(&mm_ctr, 7);
	s = snap_take();
	op = snap_op(s, "reset.mm");
	CHECK_U64_EQ(op->count, 10);
	CHECK_NEAR(op->min_ns, 1000000, 1e-3, 2);
	CHECK_NEAR(op->max_ns, 1000000, 1e-3, 2);
	CHECK_NEAR(op->total_ns, 10000000, 1e-3, 20);
	CHECK_NEAR(op->p999_ns, 1000000, 0.01, 2);
	check_op_consistent(op);
	CHECK_U64_EQ(op_count(s, "reset.mm.old"), 0);
	if ((op = pt_snapshot_find_op(s, "reset.mm.old")) != NULL)
		CU_ASSERT(op->min_ns == 0 && op->max_ns == 0 &&
		    op->total_ns == 0 && op->n_buckets == 0);
	CHECK_I64_EQ(ctr_value(s, "reset.mm.ctr"), 7);
	CHECK_U64_EQ(s->reset_epoch, s0->reset_epoch + 1);
	CU_ASSERT(s->since_reset_ns < s->uptime_ns);
	pt_snapshot_free(s0);
	pt_snapshot_free(s);
}

static void
test_snapshot_diff_across_a_reset_is_a_copy_of_after(void)
{
	static pt_site site = PT_SITE_INIT("reset.diff", PT_KIND_OP);
	pt_snapshot *before, *after, *d = NULL;

	record_n(&site, 5, 100);
	before = snap_take();
	CHECK_INT_EQ(pt_reset(), 0);
	record_n(&site, 2, 100);
	after = snap_take();
	CHECK_INT_EQ(pt_snapshot_diff(before, after, &d), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CHECK_U64_EQ(op_count(d, "reset.diff"), 2);
	CHECK_U64_EQ(d->n_ops, after->n_ops);
	CHECK_U64_EQ(d->reset_epoch, after->reset_epoch);
	pt_snapshot_free(d);
	pt_snapshot_free(before);
	pt_snapshot_free(after);
}

static void
reset_fn(void *arg)
{
	(void)arg;
	pt_reset();
}

static void
test_profile_call_is_busy_when_reset_during_the_call(void)
{
	pt_snapshot *p = NULL;

	CHECK_INT_EQ(pt_profile_call(reset_fn, NULL, &p), PT_EBUSY);
	pt_snapshot_free(p);
}

/* ------------------------------------------------------------------------ */
/* Suite "fork"                                                              */
/* ------------------------------------------------------------------------ */

#define FORKS		30
#define REG_PER_FORK	100	/* new names per registrar per fork */
#define REG_NEW_MAX	(FORKS * REG_PER_FORK)

static int fork_stop;
static unsigned reg_target;	/* registrars register names up to this */
/* The registrars' sites (never freed, like every site) and their names. */
static pt_site reg_pool[2][REG_NEW_MAX];
static char *reg_names[2][REG_NEW_MAX];

struct registrar {
	int		 idx;
	unsigned	 n_new, errors;
	uint64_t	 loops;
};

static void *
registrar_main(void *arg)
{
	static pt_site busy = PT_SITE_INIT("fork.reg.busy", PT_KIND_OP);
	static pt_site busy_ctr = PT_SITE_INIT("fork.reg.busy", PT_KIND_COUNTER);
	struct registrar *r = arg;
	pt_site *pool = reg_pool[r->idx];
	pt_snapshot *s;
	char *name;

	unsigned n;

	while (!__atomic_load_n(&fork_stop, __ATOMIC_RELAXED)) {
		n = r->n_new;
		if (n < REG_NEW_MAX &&
		    n < __atomic_load_n(&reg_target, __ATOMIC_RELAXED) &&
		    asprintf(&reg_names[r->idx][n], "fork.reg.%d.%u", r->idx,
		    n) > 0) {
			name = reg_names[r->idx][n];
			pool[n] = (pt_site)PT_SITE_INIT(name,
			    n % 2 ? PT_KIND_OP : PT_KIND_COUNTER);
			r->errors += pt_site_register(&pool[n]) <= 0;
			__atomic_store_n(&r->n_new, n + 1, __ATOMIC_RELAXED);
		}
		{
			pt_scope sc = pt_scope_begin(&busy);

			pt_scope_end_count(&sc, &busy_ctr);
		}
		if (r->idx == 1 && r->loops % 64 == 0 &&
		    pt_snapshot_take(&s) == 0)
			pt_snapshot_free(s);
		if (r->idx == 0 && r->loops % 512 == 0)
			pt_reset();
		r->loops++;
	}
	return NULL;
}

static pt_site child_op = PT_SITE_INIT("fork.child.op", PT_KIND_OP);
static pt_site child_ctr = PT_SITE_INIT("fork.child.ctr", PT_KIND_COUNTER);

static void *
child_thread(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 100; i++) {
		pt_scope sc = pt_scope_begin(&child_op);

		pt_scope_end(&sc);
		pt_counter_add(&child_ctr, 2);
	}
	return NULL;
}

/* In the child: returns the exit status, 0 when all is well. */
static int
child_main(void)
{
	static pt_site fresh = PT_SITE_INIT("fork.child.fresh", PT_KIND_OP);
	const pt_counter_stats *c;
	const pt_op_stats *op;
	pt_snapshot *s;
	pthread_t t;
	int rc = 0;

	child_thread(NULL);
	if (TSAN)
		child_thread(NULL);
	else if (pthread_create(&t, NULL, child_thread, NULL) != 0)
		return 10;
	else
		pthread_join(t, NULL);
	if (pt_site_register(&fresh) <= 0)
		return 11;
	if (pt_record_ns(&fresh, 1000) != 0)
		return 12;
	if (pt_snapshot_take(&s) != 0)
		return 13;
	if (s->pid != getpid())
		rc = 14;
	else if ((op = pt_snapshot_find_op(s, "fork.child.op")) == NULL ||
	    op->count != 200)
		rc = 15;
	else if ((c = pt_snapshot_find_counter(s, "fork.child.ctr")) == NULL ||
	    c->value != 400)
		rc = 16;
	else if ((op = pt_snapshot_find_op(s, "fork.child.fresh")) == NULL ||
	    op->count != 1)
		rc = 17;
	pt_snapshot_free(s);
	return rc;
}

/* Waits up to timeout_ns for pid; kills it then.  Returns wait status or -1. */
static int
wait_child(pid_t pid, uint64_t timeout_ns)
{
	uint64_t t0 = mono_ns();
	int status;
	pid_t p;

	for (;;) {
		p = waitpid(pid, &status, WNOHANG);
		if (p == pid)
			return status;
		if (p == -1 && errno != EINTR)
			return -2;
		if (mono_ns() - t0 > timeout_ns) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ns(1000000);
	}
}

static void
test_fork_while_registering_does_not_deadlock(void)
{
	struct registrar reg[2];
	pthread_t tid[2];
	unsigned bad = 0;
	pt_snapshot *s;
	pid_t pid;
	int i, k, status;

	memset(reg, 0, sizeof reg);
	__atomic_store_n(&reg_target, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fork_stop, 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++) {
		reg[i].idx = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL,
		    registrar_main, &reg[i]), 0);
	}
	for (i = 0; i < FORKS; i++) {
		/*
		 * Let the registrars register another REG_PER_FORK names each
		 * and fork when they are half-way: in the middle of it.
		 */
		__atomic_store_n(&reg_target, (unsigned)(i + 1) * REG_PER_FORK,
		    __ATOMIC_RELAXED);
		for (k = 0; k < 2; k++)
			while (__atomic_load_n(&reg[k].n_new, __ATOMIC_RELAXED) <
			    (unsigned)i * REG_PER_FORK + REG_PER_FORK / 2)
				sched_yield();
		fflush(NULL);
		pid = fork();
		/*
		 * The library's fork handlers ran already.  The sanitizers'
		 * allocators (gcc 12) have no fork handlers: a fork while
		 * another thread holds one of their locks leaves it held in
		 * the child, which hangs in its next malloc.  Their children
		 * stop here.
		 */
		if (pid == 0)
			_exit(SANITIZED ? 0 : child_main());
		CU_ASSERT_FATAL(pid > 0);
		status = wait_child(pid, 10000000000ULL);
		if (status == -1) {
			fprintf(stderr, "\n    fork %d: child deadlocked "
			    "(killed after 10 s)\n", i);
			bad++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "\n    fork %d: child status %#x "
			    "(exit %d)\n", i, status,
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			bad++;
		}
		if (bad > 3)
			break;
	}
	__atomic_store_n(&fork_stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	if (SANITIZED)
		skipped("the children's work (the allocator is not "
		    "fork-safe)");
	CHECK_INT_EQ(bad, 0);
	CU_ASSERT(bad != 0 ||
	    (reg[0].n_new >= (FORKS - 1) * REG_PER_FORK + REG_PER_FORK / 2 &&
	    reg[1].n_new >= (FORKS - 1) * REG_PER_FORK + REG_PER_FORK / 2));
	CHECK_INT_EQ(reg[0].errors + reg[1].errors, 0);
	/* The parent still works and never saw the children's events. */
	s = snap_take();
	CHECK_U64_EQ(op_count(s, "fork.child.op"), 0);
	CU_ASSERT(pt_snapshot_find_counter(s, "fork.reg.1.0") != NULL);
	pt_snapshot_free(s);
}

/* ------------------------------------------------------------------------ */
/* Registration and main                                                     */
/* ------------------------------------------------------------------------ */

struct test_def {
	const char	*name;
	CU_TestFunc	 fn;
};
#define TEST(fn)	{ #fn, fn }

static const struct test_def early_tests[] = {
	TEST(test_call_site_used_before_initialisation),
	{ NULL, NULL }
};
static const struct test_def sites_tests[] = {
	TEST(test_invalid_names_are_refused),
	TEST(test_refused_sites_record_nothing),
	TEST(test_name_of_exactly_max_bytes_is_accepted),
	TEST(test_valid_utf8_name_is_accepted),
	TEST(test_sites_with_the_same_name_share_statistics),
	{ NULL, NULL }
};
static const struct test_def hist_tests[] = {
	TEST(test_hist_bucket_bounds_round_trip),
	TEST(test_hist_quantile_on_hand_made_buckets),
	TEST(test_op_stats_finish_recomputes_mean_and_percentiles),
	TEST(test_counts_and_buckets_do_not_wrap_at_2_32),
	TEST(test_huge_durations_keep_exact_count_total_min_max),
	{ NULL, NULL }
};
static const struct test_def correctness_tests[] = {
	TEST(test_scope_counts_exact_over_4_threads_and_3_sites),
	TEST(test_recorded_durations_give_exact_total_min_max),
	TEST(test_busy_wait_scopes_match_clock_gettime),
	TEST(test_counters_sum_exactly_over_8_threads),
	TEST(test_snapshot_arrays_ascend_by_id),
	TEST(test_snapshot_header_fields_are_consistent),
	{ NULL, NULL }
};
static const struct test_def pct_tests[] = {
	TEST(test_percentiles_within_1pct_uniform),
	TEST(test_percentiles_within_1pct_lognormal),
	TEST(test_percentiles_within_1pct_bimodal),
	{ NULL, NULL }
};
static const struct test_def keys_tests[] = {
	TEST(test_colliding_names_unchanged_in_snapshot),
	TEST(test_colliding_names_unchanged_in_summary),
	{ NULL, NULL }
};
static const struct test_def api_tests[] = {
	TEST(test_snapshot_diff_subtracts_counts_and_counters),
	TEST(test_profile_call_reports_only_what_the_call_recorded),
	TEST(test_summary_write_has_headers_and_rows),
	TEST(test_strerror_never_returns_null),
	TEST(test_exported_pt_scope_begin_times_like_the_inline_one),
	TEST(test_pt_func_names_the_site_after_the_function),
	TEST(test_pt_scope_count_times_and_counts),
	TEST(test_pt_scope_and_pt_begin_end_time_blocks),
	TEST(test_pt_count_and_pt_inc_add_to_counters),
	{ NULL, NULL }
};
static const struct test_def memory_tests[] = {
	TEST(test_memory_read_matches_proc_status),
	TEST(test_memory_heap_follows_malloc_and_free),
	TEST(test_memory_read_starts_no_threads_and_opens_no_fds),
	{ NULL, NULL }
};
static const struct test_def thread_tests[] = {
	TEST(test_thread_statistics_survive_its_exit),
	TEST(test_10000_threads_keep_memory_bounded_and_counts_exact),
	{ NULL, NULL }
};
static const struct test_def constmem_tests[] = {
	TEST(test_slot_costs_at_most_16_kib),
	TEST(test_rss_constant_from_1m_to_100m_events),
	{ NULL, NULL }
};
static const struct test_def reset_tests[] = {
	TEST(test_reset_under_load_loses_and_duplicates_nothing),
	TEST(test_reset_under_load_keeps_count_total_and_histogram_together),
	TEST(test_reset_min_max_reflect_only_new_events),
	TEST(test_snapshot_diff_across_a_reset_is_a_copy_of_after),
	TEST(test_profile_call_is_busy_when_reset_during_the_call),
	{ NULL, NULL }
};
static const struct test_def fork_tests[] = {
	TEST(test_fork_while_registering_does_not_deadlock),
	{ NULL, NULL }
};

static const struct {
	const char		*name;
	const struct test_def	*tests;
} suites[] = {
	{ "early", early_tests },
	{ "sites", sites_tests },
	{ "histogram", hist_tests },
	{ "correctness", correctness_tests },
	{ "percentiles", pct_tests },
	{ "keys", keys_tests },
	{ "api", api_tests },
	{ "memory", memory_tests },
	{ "threads", thread_tests },
	{ "constant-memory", constmem_tests },
	{ "reset", reset_tests },
	{ "fork", fork_tests },
};

int
main(int argc, char **argv)
{
	const struct test_def *t;
	const char *q;
	unsigned failed;
	CU_pSuite suite;
	size_t i;
	int found = 0;

	/* First of all: use a call site before anything was initialised. */
	early_main();
	names_init();
	quick = (q = getenv("PERFTOP_TEST_QUICK")) != NULL && *q != '\0' &&
	    strcmp(q, "0") != 0;
	valgrind = running_on_valgrind();
	if (quick)
		fprintf(stderr, "PERFTOP_TEST_QUICK: 2e6 events instead of "
		    "1e8, 1,000 threads instead of 10,000, 1/16 of the reset "
		    "rounds, 200,000 samples per percentile test instead of "
		    "1,000,000\n");

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (i = 0; i < sizeof suites / sizeof suites[0]; i++) {
		if (argc > 1 && strcmp(argv[1], suites[i].name) != 0)
			continue;
		found = 1;
		if ((suite = CU_add_suite(suites[i].name, NULL, NULL)) == NULL)
			goto fail;
		for (t = suites[i].tests; t->name != NULL; t++)
			if ((argc < 3 || strcmp(argv[2], t->name) == 0) &&
			    CU_add_test(suite, t->name, t->fn) == NULL)
				goto fail;
	}
	if (!found) {
		fprintf(stderr, "%s: no suite %s\n", argv[0], argv[1]);
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	pt_snapshot_free(early.main_snap);
	return failed != 0;
fail:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 2;
}
