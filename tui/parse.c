/*
 * parse.c - one snapshot object from JSON text, as export.c writes it
 * (format "perftop-snapshot", version 1), checked member by member.
 *
 * The text is parsed by jansson (duplicate keys refused), then every
 * member perftop reads is checked - its type, its range - and the first
 * problem is reported with its path in the object (members it does not
 * know are ignored: the format allows extra ones, a newer perftop may add
 * some):
 * "operations[3].count: not an unsigned integer (-1)".  jansson's
 * allocations while it parses are limited (json_max), since a JSON tree
 * can take 35 times the size of its text.
 */
#include "tui.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

/* The longest string quoted in a message, in bytes. */
#define QUOTE_MAX		40
/* The longest member path in a message ("operations[65535].p999_ns"). */
#define PATH_MAX_LEN		64
/* That and ".member". */
#define JOIN_LEN		(PATH_MAX_LEN + 32)
/* uptime_s and since_reset_s: below 1e9 s, kept to the microsecond. */
#define SECONDS_LIMIT		1e9
#define US_LIMIT		1000000000000000LL	/* 1e15 microseconds */
/*
 * mean_ns: no more than a 64-bit total (below 2^64), in few digits: a
 * larger value written with 15 digits could round up past the limit.
 */
#define MEAN_LIMIT		1.8e19

/* ------------------------------------------------------------------------ */
/* jansson's memory, bounded while a text is parsed                          */
/* ------------------------------------------------------------------------ */

/*
 * The allocation budget of the parse running in this thread: bytes jansson
 * may still ask for (every request counts, frees give nothing back, so this
 * bounds the peak too).  Outside reader_parse() the budget is off and the
 * allocator is plain malloc.
 */
static _Thread_local struct {
	int	on;
	int	hit;		/* a request was refused */
	size_t	left;
} budget;

static pthread_once_t	budget_once = PTHREAD_ONCE_INIT;

/* malloc for jansson, within the budget of the parse in progress. */
static void *
budget_malloc(size_t n)
{
	if (budget.on) {
		if (n > budget.left) {
			budget.hit = 1;
			return NULL;
		}
		budget.left -= n;
	}
	return malloc(n);
}

/*
 * Installs budget_malloc as jansson's allocator, once per process.  Both it
 * and free() are the C library's, so objects made before and after mix
 * freely.
 */
static void
budget_install(void)
{
	json_set_alloc_funcs(budget_malloc, free);
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/* What is being checked and where the first error goes. */
struct check {
	char		*err;
	size_t		 errlen;
};

/*
 * Writes "PATH: MESSAGE" into the error buffer, as one line: a control
 * character becomes '?' (jansson quotes the text near a syntax error as it
 * is, line feeds and all).  Returns -1.
 */
static int __attribute__((format(printf, 3, 4)))
bad(struct check *c, const char *path, const char *fmt, ...)
{
	char msg[256], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (path != NULL && *path != '\0')
		snprintf(c->err, c->errlen, "%s: %s", path, msg);
	else
		snprintf(c->err, c->errlen, "%s", msg);
	for (p = c->err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

/*
 * A printable copy of s for a message: at most QUOTE_MAX bytes, cut at a
 * character boundary ("..." added), control characters as '?'.
 */
static const char *
quote(char *buf, size_t len, const char *s)
{
	size_t n = strlen(s), i;
	int cut = 0;

	if (n > QUOTE_MAX) {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		cut = 1;
	}
	if (n + 4 > len)
		n = 0;
	memcpy(buf, s, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	strlcpy(buf + n, cut ? "..." : "", len - n);
	return buf;
}

/* What a JSON value is, for "not an unsigned integer (a string)". */
static const char *
kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:	return "an object";
	case JSON_ARRAY:	return "an array";
	case JSON_STRING:	return "a string";
	case JSON_INTEGER:	return "an integer";
	case JSON_REAL:		return "a real number";
	case JSON_TRUE:		return "true";
	case JSON_FALSE:	return "false";
	case JSON_NULL:		return "null";
	}
	return "?";
}

/* path "parent.key" (or "key" at the top) into buf. */
static const char *
join(char *buf, size_t len, const char *parent, const char *key)
{
	if (parent == NULL || *parent == '\0')
		strlcpy(buf, key, len);
	else
		snprintf(buf, len, "%s.%s", parent, key);
	return buf;
}

/* ------------------------------------------------------------------------ */
/* Members                                                                   */
/* ------------------------------------------------------------------------ */

/* The member key of o, or NULL with the error "PATH.key: missing". */
static json_t *
need(struct check *c, json_t *o, const char *path, const char *key)
{
	char p[JOIN_LEN];
	json_t *v;

	if ((v = json_object_get(o, key)) == NULL)
		bad(c, join(p, sizeof p, path, key), "missing");
	return v;
}

/* An integer from 0 to INT64_MAX (all jansson holds). */
static int
get_u64(struct check *c, json_t *o, const char *path, const char *key,
    uint64_t *out)
{
	char p[JOIN_LEN];
	json_t *v;

	if ((v = need(c, o, path, key)) == NULL)
		return -1;
	join(p, sizeof p, path, key);
	if (!json_is_integer(v))
		return bad(c, p, "not an unsigned integer (%s)", kind(v));
	if (json_integer_value(v) < 0)
		return bad(c, p, "not an unsigned integer (%" JSON_INTEGER_FORMAT
		    ")", json_integer_value(v));
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Any integer (a counter's value). */
static int
get_i64(struct check *c, json_t *o, const char *path, const char *key,
    int64_t *out)
{
	char p[JOIN_LEN];
	json_t *v;

	if ((v = need(c, o, path, key)) == NULL)
		return -1;
	if (!json_is_integer(v))
		return bad(c, join(p, sizeof p, path, key),
		    "not an integer (%s)", kind(v));
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* A number (integer or real) that is not negative. */
static int
get_number(struct check *c, json_t *o, const char *path, const char *key,
    double *out)
{
	char p[JOIN_LEN];
	json_t *v;
	double d;

	if ((v = need(c, o, path, key)) == NULL)
		return -1;
	join(p, sizeof p, path, key);
	if (!json_is_number(v))
		return bad(c, p, "not a number (%s)", kind(v));
	d = json_number_value(v);
	if (!isfinite(d) || d < 0)
		return bad(c, p, "negative (%g)", d);
	*out = d + 0.0;		/* -0 becomes 0 */
	return 0;
}

/* A string; NULL with the error set when it is missing or not one. */
static const char *
get_string(struct check *c, json_t *o, const char *path, const char *key)
{
	char p[JOIN_LEN];
	json_t *v;

	if ((v = need(c, o, path, key)) == NULL)
		return NULL;
	if (!json_is_string(v)) {
		bad(c, join(p, sizeof p, path, key), "not a string (%s)",
		    kind(v));
		return NULL;
	}
	return json_string_value(v);
}

/*
 * Seconds, as export.c writes them (rounded to the microsecond), into
 * nanoseconds.  Below SECONDS_LIMIT, where 15 significant digits still
 * hold every microsecond, so that a snapshot written again reads the same.
 */
static int
get_seconds(struct check *c, json_t *o, const char *key, uint64_t *ns)
{
	long long us;
	double s;

	if (get_number(c, o, "", key, &s) < 0)
		return -1;
	if (s >= SECONDS_LIMIT || (us = llround(s * 1e6)) >= US_LIMIT)
		return bad(c, key, "out of range (%g; must be below %g)", s,
		    SECONDS_LIMIT);
	*ns = (uint64_t)us * 1000;
	return 0;
}

/*
 * The "time" member: RFC 3339 in UTC with milliseconds, exactly as
 * export.c writes it ("2025-01-31T12:34:56.789Z"), a real date from 1970
 * on, into nanoseconds since the epoch.
 */
static int
get_time(struct check *c, json_t *o, uint64_t *ns)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	char q[QUOTE_MAX + 8];
	const char *s, *end;
	struct tm tm, back;
	time_t t;
	size_t i;

	if ((s = get_string(c, o, "", "time")) == NULL)
		return -1;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != shape[i])
			break;
	memset(&tm, 0, sizeof tm);
	if (shape[i] != '\0' || s[i] != '\0' ||
	    (end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL ||
	    *end != '.')
		return bad(c, "time", "not a time YYYY-MM-DDTHH:MM:SS.mmmZ "
		    "(\"%s\")", quote(q, sizeof q, s));
	back = tm;
	if ((t = timegm(&back)) == (time_t)-1 || t < 0 ||
	    back.tm_year != tm.tm_year || back.tm_mon != tm.tm_mon ||
	    back.tm_mday != tm.tm_mday || back.tm_hour != tm.tm_hour ||
	    back.tm_min != tm.tm_min || back.tm_sec != tm.tm_sec)
		return bad(c, "time", "not a valid date and time from 1970 "
		    "on (\"%s\")", quote(q, sizeof q, s));
	if ((uint64_t)t > UINT64_MAX / 1000000000ull - 1)
		return bad(c, "time", "too far in the future (\"%s\")",
		    quote(q, sizeof q, s));
	*ns = (uint64_t)t * 1000000000ull +
	    (uint64_t)((end[1] - '0') * 100 + (end[2] - '0') * 10 +
	    (end[3] - '0')) * 1000000ull;
	return 0;
}

/* A name as the library accepts it; a copy (strdup) goes to *out. */
static int
get_name(struct check *c, json_t *o, const char *path, char **out)
{
	char p[JOIN_LEN];
	const char *s;

	if ((s = get_string(c, o, path, "name")) == NULL)
		return -1;
	join(p, sizeof p, path, "name");
	switch (pt__name_check(s)) {
	case 0:
		break;
	case PT_ENAMETOOLONG:
		return bad(c, p, "longer than %d bytes", PT_NAME_MAX);
	default:
		return bad(c, p, *s == '\0' ? "empty" :
		    "holds a control character");
	}
	if ((*out = strdup(s)) == NULL)
		return bad(c, p, "out of memory");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The snapshot object                                                       */
/* ------------------------------------------------------------------------ */

/* Checks format and version: anything else is not ours to read. */
static int
check_header(struct check *c, json_t *o)
{
	char q[QUOTE_MAX + 8];
	json_t *v;

	if ((v = json_object_get(o, "format")) == NULL)
		return bad(c, NULL, "not a perftop snapshot (no \"format\" "
		    "member)");
	if (!json_is_string(v))
		return bad(c, "format", "not a string (%s)", kind(v));
	if (strcmp(json_string_value(v), "perftop-snapshot") != 0)
		return bad(c, "format", "\"%s\", not \"perftop-snapshot\"",
		    quote(q, sizeof q, json_string_value(v)));
	if ((v = need(c, o, "", "version")) == NULL)
		return -1;
	if (!json_is_integer(v))
		return bad(c, "version", "not an integer (%s)", kind(v));
	if (json_integer_value(v) != 1)
		return bad(c, "version", "unsupported version %"
		    JSON_INTEGER_FORMAT " (this perftop reads version 1)",
		    json_integer_value(v));
	return 0;
}

/* The optional "view" object of files written by the live view. */
static int
check_view(struct check *c, json_t *o)
{
	json_t *v, *f;

	if ((v = json_object_get(o, "view")) == NULL)
		return 0;
	if (!json_is_object(v))
		return bad(c, "view", "not an object (%s)", kind(v));
	if (get_string(c, v, "view", "window") == NULL ||
	    get_string(c, v, "view", "sort") == NULL ||
	    need(c, v, "view", "descending") == NULL ||
	    need(c, v, "view", "filter") == NULL ||
	    need(c, v, "view", "view_reset") == NULL)
		return -1;
	if (!json_is_boolean(json_object_get(v, "descending")))
		return bad(c, "view.descending", "not true or false (%s)",
		    kind(json_object_get(v, "descending")));
	if (!json_is_boolean(json_object_get(v, "view_reset")))
		return bad(c, "view.view_reset", "not true or false (%s)",
		    kind(json_object_get(v, "view_reset")));
	f = json_object_get(v, "filter");
	if (!json_is_string(f) && !json_is_null(f))
		return bad(c, "view.filter", "not a string or null (%s)",
		    kind(f));
	return 0;
}

/* The array key of o, at most PT_SITES_MAX long. */
static json_t *
get_array(struct check *c, json_t *o, const char *key)
{
	json_t *a;

	if ((a = need(c, o, "", key)) == NULL)
		return NULL;
	if (!json_is_array(a)) {
		bad(c, key, "not an array (%s)", kind(a));
		return NULL;
	}
	if (json_array_size(a) > PT_SITES_MAX) {
		bad(c, key, "more than %d entries (%zu)", PT_SITES_MAX,
		    json_array_size(a));
		return NULL;
	}
	return a;
}

/* Reads operations[i] into op. */
static int
read_op(struct check *c, json_t *j, size_t i, pt_op_stats *op)
{
	char path[PATH_MAX_LEN];
	char *name;

	snprintf(path, sizeof path, "operations[%zu]", i);
	if (!json_is_object(j))
		return bad(c, path, "not an object (%s)", kind(j));
	if (get_name(c, j, path, &name) < 0)
		return -1;
	op->name = name;
	op->id = (uint32_t)i + 1;
	if (get_u64(c, j, path, "count", &op->count) < 0 ||
	    get_u64(c, j, path, "total_ns", &op->total_ns) < 0 ||
	    get_u64(c, j, path, "min_ns", &op->min_ns) < 0 ||
	    get_u64(c, j, path, "max_ns", &op->max_ns) < 0 ||
	    get_number(c, j, path, "mean_ns", &op->mean_ns) < 0 ||
	    get_u64(c, j, path, "p50_ns", &op->p50_ns) < 0 ||
	    get_u64(c, j, path, "p90_ns", &op->p90_ns) < 0 ||
	    get_u64(c, j, path, "p99_ns", &op->p99_ns) < 0 ||
	    get_u64(c, j, path, "p999_ns", &op->p999_ns) < 0)
		return -1;
	if (op->mean_ns > MEAN_LIMIT)
		return bad(c, path, "mean_ns out of range (%g; at most %g)",
		    op->mean_ns, MEAN_LIMIT);
	if (op->count > 0 && op->min_ns > op->max_ns)
		return bad(c, path, "min_ns %" PRIu64 " is above max_ns %"
		    PRIu64, op->min_ns, op->max_ns);
	return 0;
}

/* Reads counters[i] into ctr. */
static int
read_counter(struct check *c, json_t *j, size_t i, pt_counter_stats *ctr)
{
	char path[PATH_MAX_LEN];
	char *name;

	snprintf(path, sizeof path, "counters[%zu]", i);
	if (!json_is_object(j))
		return bad(c, path, "not an object (%s)", kind(j));
	if (get_name(c, j, path, &name) < 0)
		return -1;
	ctr->name = name;
	ctr->id = (uint32_t)i + 1;
	return get_i64(c, j, path, "value", &ctr->value);
}

/* A name and where it is, for finding duplicates. */
struct named {
	const char	*name;
	size_t		 index;
};

/* By name, then by position. */
static int
named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	if (d != 0)
		return d;
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * Refuses a name that appears twice among the operations (counters: the
 * counters) of s, reporting the first repeat in file order.  Sorts a copy
 * of the names, so O(n log n).
 */
static int
check_unique(struct check *c, const pt_snapshot *s, int counters)
{
	const char *what = counters ? "counters" : "operations";
	size_t n = counters ? s->n_counters : s->n_ops;
	size_t i, first, rep = SIZE_MAX, orig = 0;
	char q[QUOTE_MAX + 8], path[PATH_MAX_LEN];
	const char *name = NULL;
	struct named *v;

	if (n < 2)
		return 0;
	if ((v = calloc(n, sizeof *v)) == NULL)
		return bad(c, what, "out of memory");
	for (i = 0; i < n; i++) {
		v[i].name = counters ? s->counters[i].name : s->ops[i].name;
		v[i].index = i;
	}
	qsort(v, n, sizeof *v, named_cmp);
	for (i = 1, first = 0; i < n; i++) {
		if (strcmp(v[i].name, v[first].name) != 0) {
			first = i;
			continue;
		}
		if (v[i].index < rep) {
			rep = v[i].index;
			orig = v[first].index;
			name = v[i].name;
		}
	}
	if (name != NULL) {
		snprintf(path, sizeof path, "%s[%zu].name", what, rep);
		bad(c, path, "\"%s\" again (first at %s[%zu])",
		    quote(q, sizeof q, name), what, orig);
	}
	free(v);
	return name != NULL ? -1 : 0;
}

/* Builds a snapshot from the parsed object o; NULL with the error set. */
static pt_snapshot *
snapshot_from(struct check *c, json_t *o)
{
	json_t *ops, *ctrs, *mem;
	const char *process;
	pt_snapshot *s;
	uint64_t pid;
	size_t i;

	if (!json_is_object(o)) {
		bad(c, NULL, "not a JSON object (%s)", kind(o));
		return NULL;
	}
	if (check_header(c, o) < 0 || check_view(c, o) < 0)
		return NULL;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		bad(c, NULL, "out of memory");
		return NULL;
	}
	s->tick_ns = 1.0;	/* no histogram travels in JSON */
	if (get_u64(c, o, "", "pid", &pid) < 0)
		goto fail;
	if (pid < 1 || pid > INT32_MAX) {
		bad(c, "pid", "out of range (%" PRIu64 "; 1 to %d)", pid,
		    INT32_MAX);
		goto fail;
	}
	s->pid = (int32_t)pid;
	if ((process = get_string(c, o, "", "process")) == NULL)
		goto fail;
	if (strlcpy(s->process, process, sizeof s->process) >=
	    sizeof s->process) {
		bad(c, "process", "longer than %zu bytes",
		    sizeof s->process - 1);
		goto fail;
	}
	if (get_time(c, o, &s->time_ns) < 0 ||
	    get_seconds(c, o, "uptime_s", &s->uptime_ns) < 0 ||
	    get_seconds(c, o, "since_reset_s", &s->since_reset_ns) < 0 ||
	    get_u64(c, o, "", "reset_epoch", &s->reset_epoch) < 0)
		goto fail;

	if ((mem = need(c, o, "", "memory")) == NULL)
		goto fail;
	if (!json_is_object(mem)) {
		bad(c, "memory", "not an object (%s)", kind(mem));
		goto fail;
	}
	if (get_u64(c, mem, "memory", "rss_bytes", &s->memory.rss_bytes) < 0 ||
	    get_u64(c, mem, "memory", "peak_rss_bytes",
	    &s->memory.peak_rss_bytes) < 0 ||
	    get_u64(c, mem, "memory", "heap_bytes", &s->memory.heap_bytes) < 0)
		goto fail;

	if ((ops = get_array(c, o, "operations")) == NULL ||
	    (ctrs = get_array(c, o, "counters")) == NULL)
		goto fail;
	if (json_array_size(ops) > 0 && (s->ops = calloc(json_array_size(ops),
	    sizeof *s->ops)) == NULL) {
		bad(c, "operations", "out of memory");
		goto fail;
	}
	for (i = 0; i < json_array_size(ops); i++) {
		if (read_op(c, json_array_get(ops, i), i, &s->ops[i]) < 0) {
			s->n_ops = i + 1;	/* frees the name, if any */
			goto fail;
		}
	}
	s->n_ops = i;
	if (json_array_size(ctrs) > 0 && (s->counters = calloc(
	    json_array_size(ctrs), sizeof *s->counters)) == NULL) {
		bad(c, "counters", "out of memory");
		goto fail;
	}
	for (i = 0; i < json_array_size(ctrs); i++) {
		if (read_counter(c, json_array_get(ctrs, i), i,
		    &s->counters[i]) < 0) {
			s->n_counters = i + 1;
			goto fail;
		}
	}
	s->n_counters = i;
	if (check_unique(c, s, 0) < 0 || check_unique(c, s, 1) < 0)
		goto fail;
	return s;

fail:
	pt_snapshot_free(s);
	return NULL;
}

int
reader_parse(const char *text, size_t len, const struct reader_limits *lim,
    pt_snapshot **out, size_t *errline, char *err, size_t errlen)
{
	struct check c = { err, errlen };
	json_error_t je;
	size_t limit;
	json_t *o;

	*out = NULL;
	if (errline != NULL)
		*errline = 0;
	limit = lim != NULL && lim->json_max > 0 ? lim->json_max :
	    READER_JSON_MAX;
	pthread_once(&budget_once, budget_install);
	budget.on = 1;
	budget.hit = 0;
	budget.left = limit;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	budget.on = 0;
	if (o == NULL) {
		if (errline != NULL)
			*errline = je.line > 0 ? (size_t)je.line : 0;
		if (budget.hit)
			return bad(&c, NULL, "needs more than %zu %s of memory "
			    "to parse (not a perftop snapshot?)",
			    limit >= (1u << 20) ? limit >> 20 : limit,
			    limit >= (1u << 20) ? "MiB" : "bytes");
		return bad(&c, NULL, "invalid JSON (column %d): %s",
		    je.column, je.text);
	}
	*out = snapshot_from(&c, o);
	json_decref(o);
	return *out != NULL ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Comparing                                                                 */
/* ------------------------------------------------------------------------ */

/* Equal, or within the 15 significant digits the JSON writer keeps. */
static int
close_enough(double a, double b)
{
	double m = fmax(fabs(a), fabs(b));

	return a == b || fabs(a - b) <= m * 1e-14;
}

int
reader_same(const pt_snapshot *a, const pt_snapshot *b)
{
	size_t i;

	if (a->pid != b->pid || strcmp(a->process, b->process) != 0 ||
	    a->time_ns != b->time_ns || a->uptime_ns != b->uptime_ns ||
	    a->since_reset_ns != b->since_reset_ns ||
	    a->reset_epoch != b->reset_epoch ||
	    a->memory.rss_bytes != b->memory.rss_bytes ||
	    a->memory.peak_rss_bytes != b->memory.peak_rss_bytes ||
	    a->memory.heap_bytes != b->memory.heap_bytes ||
	    a->n_ops != b->n_ops || a->n_counters != b->n_counters)
		return 0;
	for (i = 0; i < a->n_ops; i++) {
		const pt_op_stats *x = &a->ops[i], *y = &b->ops[i];

		if (strcmp(x->name, y->name) != 0 || x->id != y->id ||
		    x->count != y->count || x->total_ns != y->total_ns ||
		    x->min_ns != y->min_ns || x->max_ns != y->max_ns ||
		    !close_enough(x->mean_ns, y->mean_ns) ||
		    x->p50_ns != y->p50_ns || x->p90_ns != y->p90_ns ||
		    x->p99_ns != y->p99_ns || x->p999_ns != y->p999_ns)
			return 0;
	}
	for (i = 0; i < a->n_counters; i++)
		if (strcmp(a->counters[i].name, b->counters[i].name) != 0 ||
		    a->counters[i].id != b->counters[i].id ||
		    a->counters[i].value != b->counters[i].value)
			return 0;
	return 1;
}
