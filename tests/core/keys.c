/*
 * keys.c - suite "keys": operation and counter names that look alike.
 */
#include "core-test.h"

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

const struct test_def keys_tests[] = {
	TEST(test_colliding_names_unchanged_in_snapshot),
	TEST(test_colliding_names_unchanged_in_summary),
	{ NULL, NULL }
};
