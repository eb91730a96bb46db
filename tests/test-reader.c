/*
 * test-reader.c - CUnit tests of tui/reader.c, the reader of snapshot
 * files and recordings: valid files of both kinds read back to the
 * snapshot that was written, every kind of bad member is refused with its
 * path, duplicate names and keys, empty files and lines, a cut-off last
 * line, overlong lines and documents, JSON made to take memory, --line.
 */
#include "tui.h"

#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include <CUnit/Basic.h>

#include "cunit.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * A snapshot as the library makes them, with figures the JSON keeps
 * exactly (times to the millisecond, seconds to the microsecond).
 */
static pt_snapshot *
sample(uint64_t count)
{
	static const char *const ops[] = { "physics.step", "render", "x" };
	static const char *const ctrs[] = { "frames", "x", "bytes_free" };
	pt_snapshot *s = calloc(1, sizeof *s);
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	s->pid = 4242;
	strlcpy(s->process, "game", sizeof s->process);
	s->time_ns = 1735689600123000000ull;	/* 2025-01-01T00:00:00.123Z */
	s->uptime_ns = 12345678000ull;
	s->since_reset_ns = 2500000000ull;
	s->reset_epoch = 3;
	s->tick_ns = 1.0;
	s->memory.rss_bytes = 1 << 24;
	s->memory.peak_rss_bytes = 1 << 25;
	s->memory.heap_bytes = 123456;
	s->n_ops = 3;
	s->ops = calloc(s->n_ops, sizeof *s->ops);
	s->n_counters = 3;
	s->counters = calloc(s->n_counters, sizeof *s->counters);
	CU_ASSERT_FATAL(s->ops != NULL && s->counters != NULL);
	for (i = 0; i < s->n_ops; i++) {
		pt_op_stats *o = &s->ops[i];

		o->name = strdup(ops[i]);
		o->id = (uint32_t)i + 1;
		o->count = i == 2 ? 0 : count * (i + 1);
		if (o->count > 0) {
			o->total_ns = o->count * 1000 + 7;
			o->min_ns = 900;
			o->max_ns = 5000;
			o->mean_ns = (double)o->total_ns / (double)o->count;
			o->p50_ns = 1000;
			o->p90_ns = 1200;
			o->p99_ns = 4000;
			o->p999_ns = 5000;
		}
	}
	for (i = 0; i < s->n_counters; i++) {
		s->counters[i].name = strdup(ctrs[i]);
		s->counters[i].id = (uint32_t)i + 1;
		s->counters[i].value = i == 2 ? -77 : (int64_t)(count * 10);
	}
	return s;
}

/* A compact JSON line of s (no newline); free() it. */
static char *
line_of(const pt_snapshot *s)
{
	char *line = export_json_line(s, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	return line;
}

/* Collects what reader_each() gives. */
struct got {
	pt_snapshot	*snap[8];
	uintmax_t	 line[8];
	size_t		 n;
	int		 stop_after;	/* return 1 after this many (0: never) */
};

static int
collect(pt_snapshot *s, uintmax_t line, void *arg)
{
	struct got *g = arg;

	if (g->n < 8) {
		g->snap[g->n] = s;
		g->line[g->n] = line;
		g->n++;
	} else
		pt_snapshot_free(s);
	return g->stop_after > 0 && g->n == (size_t)g->stop_after;
}

static void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		pt_snapshot_free(g->snap[i]);
	memset(g, 0, sizeof *g);
}

/* reader_each() over the bytes of text, as file NAME. */
static int
each_text(const char *text, size_t len, size_t line_max, uintmax_t stop_at,
    struct got *g, struct reader_info *info, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, len, "r");
	struct reader_limits lim = { line_max, 0 };
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	err[0] = '\0';
	rc = reader_each(f, "NAME", &lim, stop_at, collect, g, info, err,
	    errlen);
	fclose(f);
	return rc;
}

/* reader_load() over the bytes of text. */
static int
load_text(const char *text, uintmax_t line, pt_snapshot **out,
    struct reader_info *info, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	err[0] = '\0';
	rc = reader_load(f, "NAME", line, NULL, out, info, err, errlen);
	fclose(f);
	return rc;
}

/* reader_parse() of text must fail with an error containing want. */
static void
parse_fails(const char *text, const char *want)
{
	pt_snapshot *s = NULL;
	char err[512] = "";
	int rc;

	rc = reader_parse(text, strlen(text), NULL, &s, NULL, err, sizeof err);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_PTR_NULL(s);
	if (rc == 0 || strstr(err, want) == NULL)
		fprintf(stderr, "\n  wanted \"%s\", got \"%s\"%s\n", want, err,
		    rc == 0 ? " (accepted)" : "");
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	pt_snapshot_free(s);
}

/*
 * The element of o at path ("operations[1].count", "memory"): its parent
 * goes to *parent, and the last key (NULL for an array index, whose index
 * goes to *index) to *key.
 */
static void
resolve(json_t *o, const char *path, json_t **parent, const char **key,
    size_t *index)
{
	static char buf[128];
	char *p, *next;

	strlcpy(buf, path, sizeof buf);
	*parent = o;
	for (p = buf; ; p = next) {
		char *br = strchr(p, '['), *dot = strchr(p, '.');

		if (br != NULL && (dot == NULL || br < dot)) {
			*br = '\0';
			*parent = json_object_get(*parent, p);
			*key = NULL;
			*index = strtoul(br + 1, &next, 10);
			next++;			/* ']' */
			if (*next == '\0')
				return;
			*parent = json_array_get(*parent, *index);
			next++;			/* '.' */
			continue;
		}
		if (dot == NULL) {
			*key = p;
			return;
		}
		*dot = '\0';
		*parent = json_object_get(*parent, p);
		next = dot + 1;
	}
}

/*
 * The sample snapshot as JSON with path set to the JSON text value (NULL:
 * path removed), parsed again, must fail with an error containing want
 * (want NULL: must be accepted).
 */
static void
mutant_check(const char *path, const char *value, const char *want)
{
	pt_snapshot *s = sample(10);
	json_t *o = export_json(s, NULL), *parent, *v = NULL;
	const char *key;
	size_t index = 0;
	char *text;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	resolve(o, path, &parent, &key, &index);
	CU_ASSERT_PTR_NOT_NULL_FATAL(parent);
	if (value != NULL) {
		v = json_loads(value, JSON_DECODE_ANY, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	}
	if (key == NULL && v != NULL)
		rc = json_array_set_new(parent, index, v);
	else if (key == NULL)
		rc = json_array_remove(parent, index);
	else if (v != NULL)
		rc = json_object_set_new(parent, key, v);
	else
		rc = json_object_del(parent, key);
	CU_ASSERT_EQUAL(rc, 0);
	text = json_dumps(o, JSON_COMPACT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	if (want != NULL)
		parse_fails(text, want);
	else {
		pt_snapshot *got = NULL;
		char err[512] = "";

		CU_ASSERT_EQUAL(reader_parse(text, strlen(text), NULL, &got,
		    NULL, err, sizeof err), 0);
		if (got == NULL)
			fprintf(stderr, "\n  refused: %s\n", err);
		pt_snapshot_free(got);
	}
	free(text);
	json_decref(o);
	pt_snapshot_free(s);
}

static void
mutant_fails(const char *path, const char *value, const char *want)
{
	mutant_check(path, value, want);
}

/* Extra members are allowed (a newer perftop may write some): ignored. */
static void
mutant_ok(const char *path, const char *value)
{
	mutant_check(path, value, NULL);
}

/* Like mutant_fails, but the mutant must be accepted. */
static void
mutant_passes(const char *path, const char *value)
{
	pt_snapshot *s = sample(10), *back = NULL;
	json_t *o = export_json(s, NULL), *parent;
	const char *key;
	size_t index = 0;
	char *text, err[512] = "";

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	resolve(o, path, &parent, &key, &index);
	CU_ASSERT_FATAL(parent != NULL && key != NULL);
	CU_ASSERT_EQUAL(json_object_set_new(parent, key,
	    json_loads(value, JSON_DECODE_ANY, NULL)), 0);
	text = json_dumps(o, JSON_COMPACT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(reader_parse(text, strlen(text), NULL, &back, NULL, err,
	    sizeof err), 0);
	if (back == NULL)
		fprintf(stderr, "\n  %s = %s refused: %s\n", path, value, err);
	pt_snapshot_free(back);
	free(text);
	json_decref(o);
	pt_snapshot_free(s);
}

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

/* ------------------------------------------------------------------------ */
/* Bad members                                                               */
/* ------------------------------------------------------------------------ */

static void
test_bad_header(void)
{
	parse_fails("[]", "not a JSON object (an array)");
	parse_fails("{}", "not a perftop snapshot (no \"format\" member)");
	mutant_fails("format", "\"perftop-snapshots\"",
	    "format: \"perftop-snapshots\", not \"perftop-snapshot\"");
	mutant_fails("format", "7", "format: not a string (an integer)");
	mutant_fails("version", NULL, "version: missing");
	mutant_fails("version", "\"1\"", "version: not an integer (a string)");
	mutant_fails("version", "2",
	    "version: unsupported version 2 (this perftop reads version 1)");
	mutant_fails("version", "0", "unsupported version 0");
	mutant_ok("color", "1");
	mutant_fails("pid", "-1", "pid: not an unsigned integer (-1)");
	mutant_fails("pid", "0", "pid: out of range (0; 1 to 2147483647)");
	mutant_fails("pid", "2147483648", "pid: out of range");
	mutant_fails("pid", "1.5", "pid: not an unsigned integer (a real");
	mutant_fails("process", "5", "process: not a string (an integer)");
	mutant_fails("process",
	    "\"0123456789012345678901234567890123456789012345678901234567890123\"",
	    "process: longer than 63 bytes");
	mutant_fails("time", NULL, "time: missing");
	mutant_fails("time", "\"2025-01-01 00:00:00.000Z\"",
	    "time: not a time YYYY-MM-DDTHH:MM:SS.mmmZ");
	mutant_fails("time", "\"2025-01-01T00:00:00Z\"", "time: not a time");
	mutant_fails("time", "\"2025-01-01T00:00:00.000+01:00\"",
	    "time: not a time");
	mutant_fails("time", "\"2025-13-01T00:00:00.000Z\"", "time: not a");
	mutant_fails("time", "\"2023-02-29T00:00:00.000Z\"",
	    "time: not a valid date and time");
	mutant_fails("time", "\"2025-01-01T00:00:60.000Z\"",
	    "time: not a valid date");
	mutant_fails("time", "\"1969-12-31T23:59:59.999Z\"",
	    "time: not a valid date and time from 1970 on");
	mutant_fails("time", "\"9999-12-31T23:59:59.999Z\"",
	    "time: too far in the future");
	mutant_fails("uptime_s", "-1", "uptime_s: negative (-1)");
	mutant_fails("uptime_s", "\"1\"", "uptime_s: not a number (a string)");
	mutant_fails("uptime_s", "1e9", "uptime_s: out of range");
	mutant_fails("since_reset_s", NULL, "since_reset_s: missing");
	mutant_fails("reset_epoch", "-3",
	    "reset_epoch: not an unsigned integer (-3)");
	mutant_fails("memory", "[]", "memory: not an object (an array)");
	mutant_fails("memory.rss_bytes", "-1",
	    "memory.rss_bytes: not an unsigned integer (-1)");
	mutant_fails("memory.heap_bytes", NULL, "memory.heap_bytes: missing");
	mutant_ok("memory.swap", "0");
	mutant_fails("view", "1", "view: not an object (an integer)");
	mutant_fails("view", "{\"window\":\"x\"}", "view.sort: missing");
	mutant_fails("view", "{\"window\":\"x\",\"sort\":\"\",\"descending\":1,"
	    "\"filter\":null,\"view_reset\":false}",
	    "view.descending: not true or false (an integer)");
	mutant_fails("view", "{\"window\":\"x\",\"sort\":\"\",\"descending\":"
	    "true,\"filter\":3,\"view_reset\":false}",
	    "view.filter: not a string or null");
	mutant_ok("view", "{\"window\":\"x\",\"sort\":\"\",\"descending\":"
	    "true,\"filter\":null,\"view_reset\":false,\"zoom\":1}");
}

static void
test_bad_operations(void)
{
	char name[200];

	mutant_fails("operations", "{}", "operations: not an array (an object)");
	mutant_fails("operations", NULL, "operations: missing");
	mutant_fails("operations[1]", "3",
	    "operations[1]: not an object (an integer)");
	mutant_ok("operations[0].extra", "1");
	mutant_fails("operations[0].name", NULL, "operations[0].name: missing");
	mutant_fails("operations[0].name", "\"\"", "operations[0].name: empty");
	mutant_fails("operations[0].name", "\"a\\tb\"",
	    "operations[0].name: holds a control character");
	mutant_fails("operations[0].name", "\"a\\u007fb\"",
	    "operations[0].name: holds a control character");
	mutant_fails("operations[0].name", "null",
	    "operations[0].name: not a string (null)");
	memset(name, 'n', sizeof name);
	name[0] = '"';
	name[129] = '"';
	name[130] = '\0';
	mutant_fails("operations[0].name", name,
	    "operations[0].name: longer than 127 bytes");
	name[128] = '"';
	name[129] = '\0';
	mutant_passes("operations[0].name", name);
	mutant_fails("operations[1].count", "-1",
	    "operations[1].count: not an unsigned integer (-1)");
	mutant_fails("operations[1].count", "1.0",
	    "operations[1].count: not an unsigned integer (a real number)");
	mutant_fails("operations[1].count", "\"5\"",
	    "operations[1].count: not an unsigned integer (a string)");
	mutant_fails("operations[1].count", "true",
	    "operations[1].count: not an unsigned integer (true)");
	mutant_fails("operations[1].total_ns", NULL,
	    "operations[1].total_ns: missing");
	mutant_fails("operations[1].min_ns", "5001",
	    "operations[1]: min_ns 5001 is above max_ns 5000");
	mutant_fails("operations[1].mean_ns", "-0.5",
	    "operations[1].mean_ns: negative (-0.5)");
	mutant_fails("operations[1].mean_ns", "1.7976931348623157e308",
	    "operations[1]: mean_ns out of range (1.79769e+308; at most "
	    "1.8e+19)");
	mutant_passes("operations[1].mean_ns", "1.8e19");
	mutant_fails("operations[1].mean_ns", "[]",
	    "operations[1].mean_ns: not a number (an array)");
	mutant_fails("operations[1].p999_ns", "-2",
	    "operations[1].p999_ns: not an unsigned integer (-2)");
	mutant_fails("operations[0].name", "\"render\"",
	    "operations[1].name: \"render\" again (first at operations[0])");
	mutant_fails("operations[2].name", "\"physics.step\"",
	    "operations[2].name: \"physics.step\" again (first at "
	    "operations[0])");
	/* Too large a number for jansson: a JSON error. */
	parse_fails("{\"format\":\"perftop-snapshot\",\"version\":1,\"pid\":"
	    "99999999999999999999}", "invalid JSON (column 67): too big "
	    "integer");
}

static void
test_bad_counters(void)
{
	mutant_fails("counters", "\"\"", "counters: not an array (a string)");
	mutant_fails("counters[0]", "[]",
	    "counters[0]: not an object (an array)");
	mutant_fails("counters[0].value", "1.5",
	    "counters[0].value: not an integer (a real number)");
	mutant_fails("counters[0].value", NULL, "counters[0].value: missing");
	mutant_ok("counters[1].unit", "\"s\"");
	mutant_fails("counters[2].name", "\"frames\"",
	    "counters[2].name: \"frames\" again (first at counters[0])");
	mutant_fails("counters[1].name", "\"\"", "counters[1].name: empty");
}

static void
test_too_many_entries(void)
{
	json_t *o, *a;
	pt_snapshot *s = sample(1);
	char *text;
	size_t i;

	o = export_json(s, NULL);
	a = json_array();
	CU_ASSERT_FATAL(o != NULL && a != NULL);
	for (i = 0; i <= PT_SITES_MAX; i++)
		json_array_append_new(a, json_string("a name of some length"));
	json_object_set_new(o, "counters", a);
	text = json_dumps(o, JSON_COMPACT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	parse_fails(text, "counters: more than 65536 entries (65537)");
	free(text);
	json_decref(o);
	pt_snapshot_free(s);
}

static void
test_duplicate_keys(void)
{
	pt_snapshot *s = sample(1);
	char *line = line_of(s), *text, *p;

	/* "count":20 -> "count":20,"count":21 in the first operation. */
	p = strstr(line, "\"count\":");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_FATAL(asprintf(&text, "%.*s\"count\":1,%s", (int)(p - line),
	    line, p) > 0);
	parse_fails(text, "duplicate object key near '\"count\"'");
	free(text);

	/* jansson quotes what it read, a line feed too: still one line. */
	parse_fails("{\"format\":\"\\u0\n\"}", "invalid escape near "
	    "'\"\\u0?'");
	free(line);
	pt_snapshot_free(s);
}

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

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "recording reads back", test_recording_reads_back },
		{ "snapshot file reads back", test_snapshot_file_reads_back },
		{ "round trip", test_round_trip },
		{ "bad header members", test_bad_header },
		{ "bad operations", test_bad_operations },
		{ "bad counters", test_bad_counters },
		{ "too many entries", test_too_many_entries },
		{ "duplicate keys", test_duplicate_keys },
		{ "cut last line", test_cut_last_line },
		{ "bad lines", test_bad_lines },
		{ "overlong line", test_overlong_line },
		{ "memory bomb", test_memory_bomb },
	};
	return cunit_run("reader", NULL, NULL, tests, CUNIT_COUNT(tests));
}
