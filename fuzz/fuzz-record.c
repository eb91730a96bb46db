/*
 * fuzz-record.c - libFuzzer target for the reader of snapshot files and
 * recordings (tui/reader.c, tui/parse.c).
 *
 * The input is the bytes of a file handed to `perftop dump --input`.  It is
 * read with small limits (lines of 16 KiB, 512 KiB for jansson), so that
 * the overlong-line and memory-cap paths are reached with inputs of a few
 * KiB.
 *
 * Every snapshot the reader accepts is checked (ids 1..n, names the
 * library accepts, no name twice, min <= max when count > 0), then written
 * with export_json() as a compact line and as an indented snapshot file,
 * and both are read back: the reader must accept what the writer writes,
 * and get the same data (reader_same); written a second time, the text
 * must not change.  The text and Prometheus exporters run on it too.  Any
 * disagreement aborts, which libFuzzer reports as a crash.
 */
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fuzz build links the core without the agent. */
void pt__agent_autostart(void) {}
int pt_agent_start(void) { return PT_EDISABLED; }
int pt_agent_stop(void) { return 0; }

#define CHECK(x) do {							\
	if (!(x)) {							\
		fprintf(stderr, "fuzz-record: check failed: %s (line %d)\n", \
		    #x, __LINE__);					\
		abort();						\
	}								\
} while (0)

static const struct reader_limits limits = { 16 << 10, 512 << 10 };
/* What the writer makes of an accepted line must fit: it may be longer. */
static const struct reader_limits again_limits = { 1 << 20, 16 << 20 };

/* Where the text and Prometheus exporters write. */
static FILE	*devnull;

/* The invariants of a snapshot the reader made. */
static void
check_snapshot(const pt_snapshot *s)
{
	size_t i, j;

	CHECK(s->pid > 0);
	CHECK(memchr(s->process, '\0', sizeof s->process) != NULL);
	CHECK(s->n_ops <= PT_SITES_MAX && s->n_counters <= PT_SITES_MAX);
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *o = &s->ops[i];

		CHECK(o->id == i + 1);
		CHECK(pt__name_check(o->name) == 0);
		CHECK(o->count == 0 || o->min_ns <= o->max_ns);
		CHECK(o->n_buckets == 0 && o->buckets == NULL);
		CHECK(o->mean_ns >= 0);
		/* Quadratic, but inputs hold a few hundred names at most. */
		for (j = 0; j < i; j++)
			CHECK(strcmp(o->name, s->ops[j].name) != 0);
	}
	for (i = 0; i < s->n_counters; i++) {
		CHECK(s->counters[i].id == i + 1);
		CHECK(pt__name_check(s->counters[i].name) == 0);
		for (j = 0; j < i; j++)
			CHECK(strcmp(s->counters[i].name,
			    s->counters[j].name) != 0);
	}
}

/* Keeps the one snapshot of a read-back file. */
static int
keep(pt_snapshot *s, uintmax_t line, void *arg)
{
	pt_snapshot **out = arg;

	CHECK(line == 1 && *out == NULL);
	*out = s;
	return 0;
}

/* Reads text back as a whole file; the one snapshot in it, or abort. */
static pt_snapshot *
read_back(const char *text, int document)
{
	struct reader_info info;
	pt_snapshot *s = NULL;
	char err[512];
	FILE *f;

	f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	CHECK(f != NULL);
	if (reader_each(f, "again", &again_limits, 0, keep, &s, &info, err,
	    sizeof err) != 0) {
		fprintf(stderr, "fuzz-record: written again, refused: %s\n",
		    err);
		abort();
	}
	fclose(f);
	CHECK(s != NULL && info.document == document && info.cut == 0);
	return s;
}

/* Writes s out and reads it back, both ways; must be the same. */
static int
round_trip(pt_snapshot *s, uintmax_t line, void *arg)
{
	pt_snapshot *a, *b;
	char *t1, *t2, *pretty, *withnl;

	(void)arg;
	CHECK(line > 0);
	check_snapshot(s);

	/* A recording's line: the data, then the text, are a fixed point. */
	CHECK((t1 = export_json_line(s, NULL)) != NULL);
	CHECK(asprintf(&withnl, "%s\n", t1) > 0);
	a = read_back(withnl, 0);
	CHECK(reader_same(s, a));
	CHECK((t2 = export_json_line(a, NULL)) != NULL);
	CHECK(strcmp(t1, t2) == 0);

	/* A snapshot file, as `dump --format json` and `w` write it. */
	CHECK((pretty = export_json_pretty(a, NULL)) != NULL);
	b = read_back(pretty, 1);
	CHECK(reader_same(a, b));

	CHECK(export_text(devnull, s) == 0);
	CHECK(export_prometheus(devnull, s) == 0);

	free(t1);
	free(t2);
	free(withnl);
	free(pretty);
	pt_snapshot_free(a);
	pt_snapshot_free(b);
	pt_snapshot_free(s);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader_info info;
	char err[1024];
	FILE *f;
	int rc;

	if (devnull == NULL)
		CHECK((devnull = fopen("/dev/null", "w")) != NULL);
	/* fmemopen() wants a buffer, even an empty one. */
	f = fmemopen((void *)(uintptr_t)(size > 0 ? (const char *)data : ""),
	    size, "r");
	CHECK(f != NULL);
	err[0] = '\0';
	rc = reader_each(f, "input", &limits, 0, round_trip, NULL, &info, err,
	    sizeof err);
	fclose(f);
	CHECK(rc == 0 || rc == -1);
	if (rc == -1)
		CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	else if (info.document)
		CHECK(info.lines == 1 && info.line == 1 && info.cut == 0);
	else	/* A recording, perhaps only a cut line. */
		CHECK(info.line == info.lines && (info.lines > 0 ||
		    info.cut == 1) && (info.cut == 0 ||
		    info.cut == info.lines + 1));
	return 0;
}
