/*
 * helpers.c - what the tests of test-reader share: the sample snapshot
 * and its JSON line, reading text as a file, and the sample's JSON with
 * one member changed (mutants), refused or accepted.
 */
#include "reader-test.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * A snapshot as the library makes them, with figures the JSON keeps
 * exactly (times to the millisecond, seconds to the microsecond).
 */
pt_snapshot *
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
char *
line_of(const pt_snapshot *s)
{
	char *line = export_json_line(s, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	return line;
}

/* The callback of each_text(): keeps what reader_each() gives in g. */
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

void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		pt_snapshot_free(g->snap[i]);
	memset(g, 0, sizeof *g);
}

/* reader_each() over the bytes of text, as file NAME. */
int
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
int
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
void
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

void
mutant_fails(const char *path, const char *value, const char *want)
{
	mutant_check(path, value, want);
}

/* Extra members are allowed (a newer perftop may write some): ignored. */
void
mutant_ok(const char *path, const char *value)
{
	mutant_check(path, value, NULL);
}

/* Like mutant_fails, but the mutant must be accepted. */
void
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
