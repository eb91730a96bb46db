/*
 * core-test.h - what the files of test-core (tests/test-core.c and the
 * suites in tests/core/) share: the includes, the checks that print what
 * they saw, the helpers of helpers.c and the tables of tests of the suites.
 */
#ifndef PT_TESTS_CORE_TEST_H
#define PT_TESTS_CORE_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

/*
 * Built like a program using the library, whatever the command line says:
 * pt_scope_begin() is then the inline one of perftop.h, as in users' code
 * (the exported one is reached in api.c under another name).
 */
#undef PT_BUILDING_LIBRARY

#include <CUnit/Basic.h>

#include "../cunit.h"

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

/* PERFTOP_TEST_QUICK=1: the longest loops shortened (helpers.c). */
extern int	quick;
/* Whether valgrind runs the program (helpers.c). */
extern int	valgrind;

/* Whether the memory figures are the program's own. */
#define MEMORY_FIGURES	(!SANITIZED && !valgrind)

void		 skipped(const char *what);

/* ------------------------------------------------------------------------ */
/* Assertion helpers that print what they saw                                */
/* ------------------------------------------------------------------------ */

void		 check_report_at(const char *file, int ok, int line,
		     const char *cond, const char *fmt, ...);

/* A check made at line of the caller's file; fmt says what was seen. */
#define check_report(ok, line, ...)					\
	check_report_at(__FILE__, ok, line, __VA_ARGS__)

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
/* General helpers (helpers.c)                                               */
/* ------------------------------------------------------------------------ */

uint64_t	 mono_ns(void);
uint64_t	 spin_ns(uint64_t ns);
uint64_t	 status_kib(const char *key);
uint64_t	 rss_bytes(void);
void		 run_threads(int n, void *(*fn)(void *), void *arg,
		     size_t stride);
pt_snapshot	*snap_take(void);
const pt_op_stats *snap_op(const pt_snapshot *s, const char *name);
uint64_t	 op_count(const pt_snapshot *s, const char *name);
int64_t		 ctr_value(const pt_snapshot *s, const char *name);
uint64_t	 bucket_sum(const pt_op_stats *op);
void		 check_op_consistent_slack(const pt_op_stats *op,
		     unsigned slack);
void		 check_op_consistent(const pt_op_stats *op);
char		*summary_text(const pt_snapshot *s);
int		 summary_row(const char *text, const char *title,
		     const char *name, const char *value);
void		 record_n(pt_site *site, int n, uint64_t ns);

/* ------------------------------------------------------------------------ */
/* The suites                                                                */
/* ------------------------------------------------------------------------ */

struct test_def {
	const char	*name;
	CU_TestFunc	 fn;
};
#define TEST(fn)	{ #fn, fn }

/* early.c */
void		 early_main(void);
void		 early_done(void);
extern const struct test_def early_tests[];

/* sites.c */
void		 names_init(void);
extern const struct test_def sites_tests[];

/* histogram.c */
extern const struct test_def hist_tests[];

/* correctness.c */
extern const struct test_def correctness_tests[];

/* percentiles.c */
extern const struct test_def pct_tests[];

/* keys.c */
extern const struct test_def keys_tests[];

/* api.c */
extern const struct test_def api_tests[];

/* memory.c */
extern const struct test_def memory_tests[];

/* threads.c */
extern const struct test_def thread_tests[];

/* constant-memory.c */
extern const struct test_def constmem_tests[];

/* reset.c */
extern const struct test_def reset_tests[];

/* fork.c */
extern const struct test_def fork_tests[];

#endif /* PT_TESTS_CORE_TEST_H */
