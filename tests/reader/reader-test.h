/*
 * reader-test.h - what the files of test-reader (tests/test-reader.c and
 * the tests in tests/reader/) share: the includes, the helpers of
 * helpers.c and the tables of tests of the files.
 */
#ifndef PT_TESTS_READER_TEST_H
#define PT_TESTS_READER_TEST_H

#include "tui.h"

#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include <CUnit/Basic.h>

#include "../cunit.h"

/* Collects what reader_each() gives. */
struct got {
	pt_snapshot	*snap[8];
	uintmax_t	 line[8];
	size_t		 n;
	int		 stop_after;	/* return 1 after this many (0: never) */
};

/* helpers.c */
pt_snapshot	*sample(uint64_t count);
char		*line_of(const pt_snapshot *s);
void		 got_free(struct got *g);
int		 each_text(const char *text, size_t len, size_t line_max,
		     uintmax_t stop_at, struct got *g, struct reader_info *info,
		     char *err, size_t errlen);
int		 load_text(const char *text, uintmax_t line, pt_snapshot **out,
		     struct reader_info *info, char *err, size_t errlen);
void		 parse_fails(const char *text, const char *want);
void		 mutant_fails(const char *path, const char *value,
		     const char *want);
void		 mutant_ok(const char *path, const char *value);
void		 mutant_passes(const char *path, const char *value);

/*
 * The tests of each file, ending with { NULL, NULL }: test-reader.c runs
 * them as one suite, in the order of its tables[].
 */

/* valid.c */
extern const struct cunit_test valid_tests[];

/* members.c */
extern const struct cunit_test members_tests[];

/* lines.c */
extern const struct cunit_test lines_tests[];

#endif /* PT_TESTS_READER_TEST_H */
