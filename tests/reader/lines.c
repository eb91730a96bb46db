/*
 * lines.c - the lines of a recording: a cut-off last line, empty and
 * bad lines, overlong lines and documents; and JSON made to take memory.
 */
#include "reader-test.h"

/* ------------------------------------------------------------------------ */
/* Lines                                                                     */
/* ------------------------------------------------------------------------ */

/* Three lines of the sample; the caller frees. */
static char *
three_lines(void)
{
	pt_snapshot *s = sample(1);
	char *line = line_of(s), *text;

	CU_ASSERT_FATAL(asprintf(&text, "%s\n%s\n%s\n", line, line, line) > 0);
	free(line);
	pt_snapshot_free(s);
	return text;
}

static void
test_cut_last_line(void)
{
	char *text = three_lines(), err[512];
	struct reader_info info;
	struct got g = { 0 };
	pt_snapshot *s = NULL;
	size_t len = strlen(text), first = strchr(text, '\n') - text + 1;

	/* Cut in the middle of line 3: lines 1 and 2, a note of line 3. */
	CU_ASSERT_EQUAL(each_text(text, len - 40, 0, 0, &g, &info, err,
	    sizeof err), 0);
	CU_ASSERT_EQUAL(g.n, 2);
	CU_ASSERT_EQUAL(info.lines, 2);
	CU_ASSERT_EQUAL(info.cut, 3);
	got_free(&g);
	/* Only the newline missing: still cut. */
	CU_ASSERT_EQUAL(each_text(text, len - 1, 0, 0, &g, &info, err,
	    sizeof err), 0);
	CU_ASSERT_EQUAL(g.n, 2);
	CU_ASSERT_EQUAL(info.cut, 3);
	got_free(&g);

	text[len - 40] = '\0';
	CU_ASSERT_EQUAL(load_text(text, 0, &s, &info, err, sizeof err), 0);
	CU_ASSERT_EQUAL(info.line, 2);
	CU_ASSERT_EQUAL(info.cut, 3);
	pt_snapshot_free(s);
	CU_ASSERT_EQUAL(load_text(text, 3, &s, &info, err, sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err, "NAME:3: line 3 is incomplete (no "
	    "newline at its end)");
	CU_ASSERT_EQUAL(load_text(text, 4, &s, &info, err, sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err, "NAME: no line 4 (2 complete lines)");
	CU_ASSERT_EQUAL(load_text(text, 1, &s, &info, err, sizeof err), 0);
	CU_ASSERT_EQUAL(info.line, 1);
	pt_snapshot_free(s);

	/* Nothing but a cut line. */
	text[first - 10] = '\0';
	CU_ASSERT_EQUAL(load_text(text, 0, &s, &info, err, sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err, "NAME:1: no complete snapshot (the only "
	    "line has no newline at its end)");
	CU_ASSERT_PTR_NULL(s);
	free(text);
}

static void
test_bad_lines(void)
{
	char *text = three_lines(), *bad, err[512];
	struct reader_info info;
	struct got g = { 0 };
	pt_snapshot *s = NULL;
	char *second = strchr(text, '\n') + 1;

	CU_ASSERT_EQUAL(each_text("", 0, 0, 0, &g, &info, err, sizeof err),
	    -1);
	CU_ASSERT_STRING_EQUAL(err, "NAME: empty file");
	CU_ASSERT_EQUAL(each_text("\n", 1, 0, 0, &g, &info, err, sizeof err),
	    -1);
	CU_ASSERT_STRING_EQUAL(err, "NAME:1: empty line");
	CU_ASSERT_EQUAL(each_text("garbage\n", 8, 0, 0, &g, &info, err,
	    sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err, "NAME:1: invalid JSON (column 7): '[' or "
	    "'{' expected near 'garbage'");
	CU_ASSERT_EQUAL(g.n, 0);

	/* An empty line 2 and a bad line 3: the first error, with its line. */
	CU_ASSERT_FATAL(asprintf(&bad, "%.*s\n%s", (int)(second - text), text,
	    second) > 0);
	CU_ASSERT_EQUAL(load_text(bad, 0, &s, &info, err, sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err, "NAME:2: empty line");
	free(bad);
	*strstr(strstr(second, "\n") + 1, "\"pid\":4242") = 'X';
	CU_ASSERT_EQUAL(load_text(text, 0, &s, &info, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "NAME:3: invalid JSON (column "));
	/* Lines before a bad one can still be read by number. */
	CU_ASSERT_EQUAL(load_text(text, 2, &s, &info, err, sizeof err), 0);
	pt_snapshot_free(s);
	free(text);
}

static void
test_overlong_line(void)
{
	char *text = three_lines(), *doc, err[512];
	size_t len = strlen(text), first = strchr(text, '\n') - text;
	struct reader_info info;
	struct got g = { 0 };
	pt_snapshot *s = sample(1);

	/* Each line fits exactly; one byte less does not. */
	CU_ASSERT_EQUAL(each_text(text, len, first, 0, &g, &info, err,
	    sizeof err), 0);
	CU_ASSERT_EQUAL(g.n, 3);
	got_free(&g);
	CU_ASSERT_EQUAL(each_text(text, len, first - 1, 0, &g, &info, err,
	    sizeof err), -1);
	CU_ASSERT_EQUAL(g.n, 0);
	snprintf(text, len, "line longer than %zu bytes", first - 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "NAME:1: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, text));
	free(text);

	/* The limit of a snapshot file is on the whole file. */
	doc = export_json_pretty(s, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(each_text(doc, strlen(doc), strlen(doc) - 1, 0, &g,
	    &info, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "NAME: larger than "));
	CU_ASSERT_EQUAL(each_text(doc, strlen(doc), strlen(doc), 0, &g,
	    &info, err, sizeof err), 0);
	CU_ASSERT_EQUAL(g.n, 1);
	got_free(&g);
	free(doc);
	pt_snapshot_free(s);

	/* A line of 64 MiB + 1 bytes, from a stream (the default limit). */
	{
		size_t big = READER_LINE_MAX + 1;
		char *huge = malloc(big + 1);

		CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
		memset(huge, ' ', big);
		huge[big] = '\n';
		CU_ASSERT_EQUAL(each_text(huge, big + 1, 0, 0, &g, &info, err,
		    sizeof err), -1);
		CU_ASSERT_STRING_EQUAL(err, "NAME:1: line longer than 64 MiB "
		    "(not a perftop recording?)");
		free(huge);
	}
}

/* JSON made to take many times its size in memory is refused. */
static void
test_memory_bomb(void)
{
	struct reader_limits lim = { 0, 8 << 20 };
	size_t n = 200000, i;
	char *text = malloc(3 * n + 2), err[512];
	pt_snapshot *s = NULL, *big;
	char *line;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	text[0] = '[';
	for (i = 0; i < n; i++)
		memcpy(text + 1 + 3 * i, "[],", 3);
	text[3 * n] = ']';
	text[3 * n + 1] = '\0';
	/* 600 kB of text, some 24 MB of jansson objects. */
	CU_ASSERT_EQUAL(reader_parse(text, strlen(text), &lim, &s, NULL, err,
	    sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err, "needs more than 8 MiB of memory to parse "
	    "(not a perftop snapshot?)");
	free(text);

	/* A snapshot of 20000 operations is within the default limit. */
	big = calloc(1, sizeof *big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	big->pid = 1;
	big->n_ops = 20000;
	big->ops = calloc(big->n_ops, sizeof *big->ops);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big->ops);
	for (i = 0; i < big->n_ops; i++) {
		CU_ASSERT_FATAL(asprintf((char **)&big->ops[i].name, "o%zu",
		    i) > 0);
		big->ops[i].id = (uint32_t)i + 1;
	}
	line = line_of(big);
	CU_ASSERT_EQUAL(reader_parse(line, strlen(line), NULL, &s, NULL, err,
	    sizeof err), 0);
	CU_ASSERT(s != NULL && reader_same(big, s));
	pt_snapshot_free(s);
	free(line);
	pt_snapshot_free(big);
}

const struct cunit_test lines_tests[] = {
	{ "cut last line", test_cut_last_line },
	{ "bad lines", test_bad_lines },
	{ "overlong line", test_overlong_line },
	{ "memory bomb", test_memory_bomb },
	{ NULL, NULL }
};
