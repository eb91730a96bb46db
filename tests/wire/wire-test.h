/*
 * wire-test.h - what the files of test-wire (tests/test-wire.c and the
 * tests in tests/wire/) share: the includes, the helpers of helpers.c and
 * the tables of tests of the files.
 */
#ifndef PT_TESTS_WIRE_TEST_H
#define PT_TESTS_WIRE_TEST_H

#include "ipc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "../cunit.h"

#define BUF_MAX		(64u << 20)

/*
 * What the fixed part of a SNAPSHOT payload says: flags is its FULL bit
 * (1 or 0), tick whether tick_ns was sent, epoch only with FULL.
 */
struct hdr {
	uint64_t	seq, flags, epoch, tick;
	uint64_t	new_ops, new_ctrs;
	uint64_t	changed_ops;
};

/* A snapshot state of rx to check "unchanged" against. */
struct rx_mark {
	uint64_t	 seq;
	uint32_t	 n_op_names, n_ctr_names;
	pt_snapshot	*cur;
};

/* helpers.c */
uint64_t	 lcg(uint64_t *seed);
void		 viewers_init(struct pt__wire_tx *tx, struct pt__wire_rx *rx,
		     int n);
void		 viewers_done(struct pt__wire_tx *tx, struct pt__wire_rx *rx,
		     int n);
uint64_t	 rng_next(void);
double		 rng_normal(void);
void		 op_add(pt_op_stats *op, uint64_t ticks, uint64_t count,
		     double tick_ns);
pt_snapshot	*mk_snap(size_t n_ops, size_t n_ctr, uint64_t epoch);
int		 snap_equal(const pt_snapshot *a, const pt_snapshot *b);
void		 peek_skip(struct pt__dec *d, struct hdr *h);
void		 peek_hdr(const uint8_t *p, size_t n, struct hdr *h);
size_t		 encode(struct pt__wire_tx *tx, const pt_snapshot *s,
		     uint8_t **frame);
void		 payload_of(const uint8_t *frame, size_t len,
		     const uint8_t **p, size_t *n);
size_t		 round_trip(struct pt__wire_tx *tx, struct pt__wire_rx *rx,
		     const pt_snapshot *s, struct hdr *h);
void		 rx_mark(const struct pt__wire_rx *rx, struct rx_mark *m);
int		 rx_same(const struct pt__wire_rx *rx,
		     const struct rx_mark *m);
void		 expect_reject(struct pt__wire_rx *rx, const uint8_t *p,
		     size_t n, int code);
void		 rx_setup(struct pt__wire_rx *rx);

/*
 * The tests of each file, ending with { NULL, NULL }: test-wire.c runs
 * them as one suite, in the order of its tables[].
 */

/* framing.c */
extern const struct cunit_test framing_tests[];

/* roundtrip.c */
extern const struct cunit_test roundtrip_tests[];

/* incremental.c */
extern const struct cunit_test incremental_tests[];

/* forms.c */
extern const struct cunit_test forms_tests[];

/* malformed.c */
void		 malformed_done(void);
extern const struct cunit_test malformed_tests[];

/* mutations.c */
extern const struct cunit_test mutation_tests[];

/* measure.c */
extern const struct cunit_test measure_tests[];

#endif /* PT_TESTS_WIRE_TEST_H */
