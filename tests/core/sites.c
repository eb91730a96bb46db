/* sites.c - suite "sites": names accepted and refused. */
#include "core-test.h"

static char long_name[PT_NAME_MAX + 2];		/* PT_NAME_MAX + 1 bytes */
static char max_name[PT_NAME_MAX + 1];		/* PT_NAME_MAX bytes */
static char max_name_utf8[PT_NAME_MAX + 1];	/* PT_NAME_MAX, multibyte */

void
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

const struct test_def sites_tests[] = {
	TEST(test_invalid_names_are_refused),
	TEST(test_refused_sites_record_nothing),
	TEST(test_name_of_exactly_max_bytes_is_accepted),
	TEST(test_valid_utf8_name_is_accepted),
	TEST(test_sites_with_the_same_name_share_statistics),
	{ NULL, NULL }
};
