/*
 * valid.c - valid files of both kinds (a recording, a snapshot file)
 * read back to the snapshots that were written, and round trips.
 */
#include "reader-test.h"

/* ------------------------------------------------------------------------ */
/* Valid files                                                               */
/* ------------------------------------------------------------------------ */

static void
test_recording_reads_back(void)
{
	pt_snapshot *s[3];
	struct reader_info info;
	struct got g = { 0 };
	char *text = NULL, *more, *line, err[512];
	size_t i, len = 0;

	for (i = 0; i < 3; i++) {
		s[i] = sample(10 * (i + 1));
		line = line_of(s[i]);
		CU_ASSERT_FATAL(asprintf(&more, "%s%s\n", text ? text : "",
		    line) > 0);
		free(line);
		free(text);
		text = more;
	}
	len = strlen(text);
	CU_ASSERT_EQUAL(each_text(text, len, 0, 0, &g, &info, err,
	    sizeof err), 0);
	CU_ASSERT_EQUAL(g.n, 3);
	CU_ASSERT_EQUAL(info.document, 0);
	CU_ASSERT_EQUAL(info.lines, 3);
	CU_ASSERT_EQUAL(info.cut, 0);
	for (i = 0; i < g.n && i < 3; i++) {
		CU_ASSERT_EQUAL(g.line[i], i + 1);
		CU_ASSERT(reader_same(s[i], g.snap[i]));
		CU_ASSERT_PTR_NULL(g.snap[i]->ops[0].buckets);
		CU_ASSERT_EQUAL(g.snap[i]->ops[2].id, 3);
		CU_ASSERT_EQUAL(g.snap[i]->counters[2].value, -77);
	}
	got_free(&g);

	/* stop_at, and a callback that stops. */
	CU_ASSERT_EQUAL(each_text(text, len, 0, 2, &g, &info, err,
	    sizeof err), 0);
	CU_ASSERT_EQUAL(g.n, 2);
	got_free(&g);
	g.stop_after = 1;
	CU_ASSERT_EQUAL(each_text(text, len, 0, 0, &g, &info, err,
	    sizeof err), 1);
	CU_ASSERT_EQUAL(g.n, 1);
	got_free(&g);

	for (i = 0; i < 3; i++)
		pt_snapshot_free(s[i]);
	free(text);
}

static void
test_snapshot_file_reads_back(void)
{
	pt_snapshot *s = sample(5), *back = NULL;
	struct export_view v = { "last_10s", "TOTAL", 1, "phys", 0 };
	struct reader_info info;
	char *text, err[512];

	/* As `w` writes it: indented, with "view". */
	text = export_json_pretty(s, &v);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(load_text(text, 0, &back, &info, err, sizeof err), 0);
	CU_ASSERT_EQUAL(info.document, 1);
	CU_ASSERT_EQUAL(info.line, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT(reader_same(s, back));
	CU_ASSERT_STRING_EQUAL(back->process, "game");
	pt_snapshot_free(back);

	/* --line is for recordings. */
	CU_ASSERT_EQUAL(load_text(text, 1, &back, &info, err, sizeof err),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--line does not apply"));
	free(text);

	/* A syntax error deep in the file is reported at its line. */
	text = export_json_pretty(s, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	*strstr(text, "\"heap_bytes\"") = '?';
	CU_ASSERT_EQUAL(load_text(text, 0, &back, &info, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "NAME:13: invalid JSON"));
	free(text);
	pt_snapshot_free(s);
}

/* export_json(reader(x)) reads back to the same data, and the same text. */
static void
test_round_trip(void)
{
	pt_snapshot *s = sample(3), *a = NULL, *b = NULL;
	char *t1, *t2, *t3, err[512];

	s->ops[0].mean_ns = 1.0 / 3.0;		/* more digits than kept */
	s->uptime_ns = 999999999999999000ull;	/* the largest kept */
	t1 = line_of(s);
	CU_ASSERT_EQUAL_FATAL(reader_parse(t1, strlen(t1), NULL, &a, NULL, err,
	    sizeof err), 0);
	t2 = line_of(a);
	CU_ASSERT_EQUAL_FATAL(reader_parse(t2, strlen(t2), NULL, &b, NULL, err,
	    sizeof err), 0);
	t3 = line_of(b);
	CU_ASSERT(reader_same(s, a));
	CU_ASSERT(reader_same(a, b));
	CU_ASSERT_STRING_EQUAL(t1, t2);
	CU_ASSERT_STRING_EQUAL(t2, t3);
	CU_ASSERT_EQUAL(a->uptime_ns, 999999999999999000ull);
	pt_snapshot_free(a);
	pt_snapshot_free(b);
	free(t1);
	free(t2);
	free(t3);

	/* Values JSON writers other than perftop may use. */
	mutant_passes("uptime_s", "5");
	mutant_passes("operations[0].mean_ns", "12");
	mutant_passes("operations[2].min_ns", "9");	/* count 0 */
	mutant_passes("operations[0].name", "\"caf\\u00e9.\\ud83d\\ude00\"");
	mutant_passes("process", "\"\"");
	mutant_passes("time", "\"1970-01-01T00:00:00.000Z\"");
	mutant_passes("time", "\"2024-02-29T23:59:59.999Z\"");
	mutant_passes("counters[0].value", "-9223372036854775808");
	mutant_passes("view", "{\"window\":\"since_reset\",\"sort\":\"NAME\","
	    "\"descending\":false,\"filter\":null,\"view_reset\":true}");
	pt_snapshot_free(s);
}

const struct cunit_test valid_tests[] = {
	{ "recording reads back", test_recording_reads_back },
	{ "snapshot file reads back", test_snapshot_file_reads_back },
	{ "round trip", test_round_trip },
	{ NULL, NULL }
};
