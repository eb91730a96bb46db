/*
 * export.c - the renderers of a snapshot (text, JSON, Prometheus) and the
 * atomic file writer every snapshot file goes through.
 *
 * JSON is built with jansson, never by hand: names are checked for UTF-8 and
 * escaped by the library.  Prometheus text is written by hand, so label
 * values are escaped here, as the 0.0.4 format says (backslash, double
 * quote, line feed).
 */
#include "tui.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

/* Significant digits of reals in JSON (17 prints 0.1 as 0.10000000000000001). */
#define EXPORT_REAL_PRECISION	15

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid. */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A copy of s in which every byte that is not part of valid UTF-8 is
 * replaced by '?'.  Names recorded by the library are valid already; the
 * process name (comm) and data from the wire need not be.  free() it.
 */
static char *
utf8_clean(const char *s)
{
	char *out;
	size_t i, n;

	if ((out = strdup(s)) == NULL)
		return NULL;
	for (i = 0; out[i] != '\0'; i += n)
		if ((n = utf8_seq((const unsigned char *)out + i)) == 0) {
			out[i] = '?';
			n = 1;
		}
	return out;
}

/* A JSON string of s, with invalid UTF-8 replaced; NULL out of memory. */
static json_t *
json_name(const char *s)
{
	json_t *j;
	char *clean;

	if (s == NULL)
		s = "";
	if ((j = json_string(s)) != NULL)
		return j;
	if ((clean = utf8_clean(s)) == NULL)
		return NULL;
	j = json_string(clean);
	free(clean);
	return j;
}

/* JSON integers are signed 64-bit: larger unsigned values are clamped. */
static json_int_t
json_i64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v;
}

static json_t *
json_u64(uint64_t v)
{
	return json_integer(json_i64(v));
}

/* jansson refuses NaN and infinities; they become 0. */
static json_t *
json_finite(double v)
{
	return json_real(isfinite(v) ? v : 0.0);
}

/* Seconds from nanoseconds, rounded to the microsecond. */
static double
ns_to_s(uint64_t ns)
{
	return (double)(ns / 1000) / 1e6;
}

/* "2025-01-31T12:34:56.789Z" from nanoseconds since the epoch. */
static void
format_rfc3339(char *buf, size_t len, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ull);
	unsigned ms = (unsigned)(ns / 1000000ull % 1000);
	struct tm tm;
	char base[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strlcpy(base, "1970-01-01T00:00:00", sizeof base);
	snprintf(buf, len, "%s.%03uZ", base, ms);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */
/* ------------------------------------------------------------------------ */

/* Sets key of o to v (a new reference, NULL meaning out of memory). */
static int
set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL)
		return -1;
	return json_object_set_new(o, key, v);
}

static json_t *
json_op(const pt_op_stats *op)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (set(o, "name", json_name(op->name)) < 0 ||
	    set(o, "count", json_u64(op->count)) < 0 ||
	    set(o, "total_ns", json_u64(op->total_ns)) < 0 ||
	    set(o, "min_ns", json_u64(op->min_ns)) < 0 ||
	    set(o, "max_ns", json_u64(op->max_ns)) < 0 ||
	    set(o, "mean_ns", json_finite(op->mean_ns)) < 0 ||
	    set(o, "p50_ns", json_u64(op->p50_ns)) < 0 ||
	    set(o, "p90_ns", json_u64(op->p90_ns)) < 0 ||
	    set(o, "p99_ns", json_u64(op->p99_ns)) < 0 ||
	    set(o, "p999_ns", json_u64(op->p999_ns)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_counter(const pt_counter_stats *c)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (set(o, "name", json_name(c->name)) < 0 ||
	    set(o, "value", json_integer((json_int_t)c->value)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_view(const struct export_view *v)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (set(o, "window", json_name(v->window ? v->window :
	    "since_reset")) < 0 ||
	    set(o, "sort", json_name(v->sort ? v->sort : "")) < 0 ||
	    set(o, "descending", json_boolean(v->descending)) < 0 ||
	    set(o, "filter", v->filter && v->filter[0] != '\0' ?
	    json_name(v->filter) : json_null()) < 0 ||
	    set(o, "view_reset", json_boolean(v->view_reset)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
export_json(const pt_snapshot *s, const struct export_view *v)
{
	json_t *o, *process, *ops = NULL, *ctrs = NULL;
	char when[48];
	size_t i;

	if (s == NULL)
		return NULL;
	format_rfc3339(when, sizeof when, s->time_ns);
	if ((ops = json_array()) == NULL || (ctrs = json_array()) == NULL)
		goto fail;
	for (i = 0; i < s->n_ops; i++)
		if (json_array_append_new(ops, json_op(&s->ops[i])) < 0)
			goto fail;
	for (i = 0; i < s->n_counters; i++)
		if (json_array_append_new(ctrs, json_counter(&s->counters[i]))
		    < 0)
			goto fail;
	if ((process = json_name(s->process)) == NULL)
		goto fail;

	/*
	 * "o" hands process, ops and ctrs to the new object.  If packing
	 * fails (out of memory) they are not touched again here: a leak at
	 * worst, never a double free, whatever the jansson version does.
	 */
	o = json_pack("{s:s, s:i, s:I, s:o, s:s, s:f, s:f, s:I,"
	    " s:{s:I, s:I, s:I}, s:o, s:o}",
	    "format", "perftop-snapshot",
	    "version", 1,
	    "pid", (json_int_t)s->pid,
	    "process", process,
	    "time", when,
	    "uptime_s", ns_to_s(s->uptime_ns),
	    "since_reset_s", ns_to_s(s->since_reset_ns),
	    "reset_epoch", json_i64(s->reset_epoch),
	    "memory",
		"rss_bytes", json_i64(s->memory.rss_bytes),
		"peak_rss_bytes", json_i64(s->memory.peak_rss_bytes),
		"heap_bytes", json_i64(s->memory.heap_bytes),
	    "operations", ops,
	    "counters", ctrs);
	if (o == NULL)
		return NULL;
	if (v != NULL && set(o, "view", json_view(v)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;

fail:
	json_decref(ops);
	json_decref(ctrs);
	return NULL;
}

char *
export_json_line(const pt_snapshot *s, const struct export_view *v)
{
	json_t *o;
	char *line;

	if ((o = export_json(s, v)) == NULL)
		return NULL;
	line = json_dumps(o, JSON_COMPACT |
	    JSON_REAL_PRECISION(EXPORT_REAL_PRECISION));
	json_decref(o);
	return line;
}

char *
export_json_pretty(const pt_snapshot *s, const struct export_view *v)
{
	json_t *o;
	char *text, *withnl = NULL;

	if ((o = export_json(s, v)) == NULL)
		return NULL;
	text = json_dumps(o, JSON_INDENT(2) |
	    JSON_REAL_PRECISION(EXPORT_REAL_PRECISION));
	json_decref(o);
	if (text != NULL && asprintf(&withnl, "%s\n", text) < 0)
		withnl = NULL;
	free(text);
	return withnl;
}

/* ------------------------------------------------------------------------ */
/* Prometheus text format 0.0.4                                              */
/* ------------------------------------------------------------------------ */

/* Writes s as a label value: quoted, with \ " and line feed escaped. */
static void
prom_label(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n;

	fputc('"', f);
	while (*p != '\0') {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if ((n = utf8_seq(p)) == 0)
			fputc('?', f);	/* the format wants UTF-8 */
		else {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		p++;
	}
	fputc('"', f);
}

/* Writes a float sample value (Go-parsable: NaN, +Inf, decimal). */
static void
prom_double(FILE *f, double v)
{
	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else
		fprintf(f, "%.15g", v);
}

static void
prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_gauge_u64(FILE *f, const char *name, const char *help, uint64_t v)
{
	prom_family(f, name, "gauge", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static int	prometheus_write(FILE *f, const pt_snapshot *s);

/*
 * Numbers are written with printf, so they follow LC_NUMERIC: the C locale
 * is used for the duration of the call (the live view sets the user's).
 */
int
export_prometheus(FILE *f, const pt_snapshot *s)
{
	locale_t c_loc, old = (locale_t)0;
	int rc;

	if ((c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0)) !=
	    (locale_t)0)
		old = uselocale(c_loc);
	rc = prometheus_write(f, s);
	if (c_loc != (locale_t)0) {
		uselocale(old);
		freelocale(c_loc);
	}
	return rc;
}

static int
prometheus_write(FILE *f, const pt_snapshot *s)
{
	static const struct {
		const char	*label;
		size_t		 off;
	} quantiles[] = {
		{ "0.5", offsetof(pt_op_stats, p50_ns) },
		{ "0.9", offsetof(pt_op_stats, p90_ns) },
		{ "0.99", offsetof(pt_op_stats, p99_ns) },
		{ "0.999", offsetof(pt_op_stats, p999_ns) },
	};
	const char *op_metric = "perftop_operation_duration_seconds";
	size_t i, q;
	int any;

	if (f == NULL || s == NULL)
		return PT_EINVAL;

	prom_family(f, "perftop_info", "gauge",
	    "The profiled process (always 1).");
	fprintf(f, "perftop_info{pid=\"%d\",process=", (int)s->pid);
	prom_label(f, s->process);
	fprintf(f, "} 1\n");

	prom_family(f, "perftop_uptime_seconds", "gauge",
	    "Seconds since libperftop started in the process.");
	fprintf(f, "perftop_uptime_seconds ");
	prom_double(f, (double)s->uptime_ns / 1e9);
	fputc('\n', f);
	prom_family(f, "perftop_since_reset_seconds", "gauge",
	    "Seconds since the statistics were last reset.");
	fprintf(f, "perftop_since_reset_seconds ");
	prom_double(f, (double)s->since_reset_ns / 1e9);
	fputc('\n', f);
	/*
	 * The epoch only goes up, but it is a state (which generation of the
	 * statistics this is), not a rate to take; a gauge keeps the name
	 * without _total, as the SPEC and the JSON call it.
	 */
	prom_gauge_u64(f, "perftop_reset_epoch",
	    "Number of resets of the statistics since the process started.",
	    s->reset_epoch);

	prom_gauge_u64(f, "perftop_memory_rss_bytes",
	    "Resident set size of the process in bytes.",
	    s->memory.rss_bytes);
	prom_gauge_u64(f, "perftop_memory_peak_rss_bytes",
	    "Peak resident set size of the process in bytes.",
	    s->memory.peak_rss_bytes);
	prom_gauge_u64(f, "perftop_memory_heap_bytes",
	    "Heap bytes in use (allocated through malloc).",
	    s->memory.heap_bytes);

	/*
	 * Operations: one summary.  Quantiles of an operation that saw no
	 * event since the reset are NaN, as client libraries write them.
	 */
	if (s->n_ops > 0)
		prom_family(f, op_metric, "summary",
		    "Duration of timed operations since the last reset.");
	for (i = 0; i < s->n_ops; i++) {
		const pt_op_stats *op = &s->ops[i];

		for (q = 0; q < sizeof quantiles / sizeof quantiles[0]; q++) {
			uint64_t ns = *(const uint64_t *)(const void *)
			    ((const char *)op + quantiles[q].off);

			fprintf(f, "%s{operation=", op_metric);
			prom_label(f, op->name);
			fprintf(f, ",quantile=\"%s\"} ", quantiles[q].label);
			prom_double(f, op->count > 0 ? (double)ns / 1e9 : NAN);
			fputc('\n', f);
		}
		fprintf(f, "%s_sum{operation=", op_metric);
		prom_label(f, op->name);
		fputs("} ", f);
		prom_double(f, (double)op->total_ns / 1e9);
		fprintf(f, "\n%s_count{operation=", op_metric);
		prom_label(f, op->name);
		fprintf(f, "} %" PRIu64 "\n", op->count);
	}

	/*
	 * Counters.  The library's counters take negative increments (the
	 * demo's replay_buffer_bytes goes up and down), while a Prometheus
	 * counter must never be negative (and a decrease reads as a restart).
	 * So every counter is a sample of the gauge perftop_value, which is
	 * always right, and those whose value is not negative also appear in
	 * the counter perftop_events_total, which is what rate() wants for the
	 * usual monotonic event counts; a counter that is negative now is left
	 * out of it rather than reported wrongly.  (promtool refuses a type
	 * name inside a metric name, so neither family says "counter".)
	 */
	if (s->n_counters > 0) {
		prom_family(f, "perftop_value", "gauge",
		    "Value of each counter since the last reset "
		    "(may be negative).");
		for (i = 0; i < s->n_counters; i++) {
			fputs("perftop_value{counter=", f);
			prom_label(f, s->counters[i].name);
			fprintf(f, "} %" PRId64 "\n", s->counters[i].value);
		}
	}
	for (i = 0, any = 0; i < s->n_counters; i++) {
		if (s->counters[i].value < 0)
			continue;
		if (!any) {
			prom_family(f, "perftop_events_total", "counter",
			    "Events counted by each non-negative counter "
			    "since the last reset.");
			any = 1;
		}
		fputs("perftop_events_total{counter=", f);
		prom_label(f, s->counters[i].name);
		fprintf(f, "} %" PRId64 "\n", s->counters[i].value);
	}

	if (fflush(f) != 0 || ferror(f))
		return PT_ESYS;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Text                                                                      */
/* ------------------------------------------------------------------------ */

int
export_text(FILE *f, const pt_snapshot *s)
{
	pt_snapshot shallow;
	size_t i;

	if (f == NULL || s == NULL)
		return PT_EINVAL;
	/* The summary's first line must stay one line, whatever comm holds. */
	shallow = *s;
	for (i = 0; i < sizeof shallow.process && shallow.process[i]; i++)
		if ((unsigned char)shallow.process[i] < 0x20 ||
		    shallow.process[i] == 0x7f)
			shallow.process[i] = '?';
	return pt_summary_write(f, &shallow);
}

/* ------------------------------------------------------------------------ */
/* Atomic files                                                              */
/* ------------------------------------------------------------------------ */

/* Writes all of data to fd, through short writes and EINTR; 0 or -1. */
static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
export_write_atomic(const char *path, const void *data, size_t len,
    char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	const char *base, *slash;
	int fd = -1, dfd, saved;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "cannot write a file without a name");
		return -1;
	}
	slash = strrchr(path, '/');
	if (slash == NULL) {
		strlcpy(dir, ".", sizeof dir);
		base = path;
	} else {
		size_t dlen = (size_t)(slash - path);

		if (dlen == 0)
			dlen = 1;	/* "/name": the root */
		if (dlen >= sizeof dir) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
		base = slash + 1;
	}
	if (*base == '\0') {
		errno = EISDIR;
		goto fail;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, base) >=
	    sizeof tmp) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		goto fail;
	/* mkstemp makes 0600; a snapshot file is as readable as any other. */
	if (fchmod(fd, 0644) < 0 || write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0)
		goto fail_unlink;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail_unlink;

	/*
	 * Makes the rename itself durable.  The new file is in place now, so a
	 * failure here cannot keep the old one; it is reported all the same
	 * (some file systems cannot sync a directory: EINVAL is ignored).
	 */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto fail;
	if (fsync(dfd) < 0 && errno != EINVAL) {
		saved = errno;
		close(dfd);
		errno = saved;
		goto fail;
	}
	close(dfd);
	return 0;

fail_unlink:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
fail:
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	return -1;
}

/* Copies a process name into buf as a safe file name part. */
static void
file_name_part(char *buf, size_t len, const char *name)
{
	size_t i, j;

	for (i = j = 0; name[i] != '\0' && j + 1 < len; i++) {
		char c = name[i];

		buf[j++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-') ? c : '_';
	}
	buf[j] = '\0';
	if (j == 0 || buf[0] == '.')
		strlcpy(buf, "process", len);
}

int
export_snapshot_file(const char *dir, const pt_snapshot *s,
    const struct export_view *v, char *path, size_t pathlen, char *err,
    size_t errlen)
{
	char name[64], stamp[32], candidate[PATH_MAX];
	struct stat st;
	struct tm tm;
	time_t t;
	char *text;
	size_t len;
	int i, rc;

	if (s == NULL) {
		snprintf(err, errlen, "no snapshot to write");
		return -1;
	}
	if (dir == NULL || *dir == '\0')
		dir = ".";
	file_name_part(name, sizeof name, s->process);
	t = (time_t)(s->time_ns / 1000000000ull);
	if (s->time_ns == 0)
		t = time(NULL);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm) == 0)
		strlcpy(stamp, "00000000-000000", sizeof stamp);

	/* Two snapshots in the same second do not overwrite each other. */
	for (i = 1; ; i++) {
		if (i == 1)
			rc = snprintf(candidate, sizeof candidate,
			    "%s%sperftop-%s-%d-%s.json", dir,
			    dir[strlen(dir) - 1] == '/' ? "" : "/", name,
			    (int)s->pid, stamp);
		else
			rc = snprintf(candidate, sizeof candidate,
			    "%s%sperftop-%s-%d-%s-%d.json", dir,
			    dir[strlen(dir) - 1] == '/' ? "" : "/", name,
			    (int)s->pid, stamp, i);
		if (rc < 0 || (size_t)rc >= sizeof candidate) {
			snprintf(err, errlen, "cannot write in %s: %s", dir,
			    strerror(ENAMETOOLONG));
			return -1;
		}
		if (lstat(candidate, &st) < 0 || i >= 1000)
			break;
	}

	if ((text = export_json_pretty(s, v)) == NULL) {
		snprintf(err, errlen, "cannot write %s: %s", candidate,
		    strerror(ENOMEM));
		return -1;
	}
	len = strlen(text);
	rc = export_write_atomic(candidate, text, len, err, errlen);
	free(text);
	if (rc < 0)
		return -1;
	if (path != NULL && pathlen > 0)
		strlcpy(path, candidate, pathlen);
	return 0;
}
