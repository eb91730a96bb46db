/*
 * members.c - every kind of bad member refused with its path: the
 * header, operations, counters, too many entries, duplicate names and
 * keys.
 */
#include "reader-test.h"

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

const struct cunit_test members_tests[] = {
	{ "bad header members", test_bad_header },
	{ "bad operations", test_bad_operations },
	{ "bad counters", test_bad_counters },
	{ "too many entries", test_too_many_entries },
	{ "duplicate keys", test_duplicate_keys },
	{ NULL, NULL }
};
