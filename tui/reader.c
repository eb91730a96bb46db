/*
 * reader.c - reads back the files perftop writes: a snapshot file (one JSON
 * object, as `dump --format json` prints and `w` writes, indented over many
 * lines) and a recording (JSON Lines, one snapshot object a line, as
 * `record` writes).  Each object goes through reader_parse() (parse.c).
 *
 * Memory stays bounded whatever the input: the file is read a chunk at a
 * time, a line (or a whole snapshot file) goes into a buffer of at most
 * line_max bytes, and parsing it takes at most json_max more, so reading
 * takes about line_max + json_max at most, plus the snapshots kept.
 */
#include "tui.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read from the file at a time (on the stack). */
#define READ_CHUNK		8192

/* ------------------------------------------------------------------------ */
/* Lines                                                                     */
/* ------------------------------------------------------------------------ */

/* "64 MiB" or "1000 bytes". */
static const char *
size_text(char *buf, size_t len, size_t n)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(buf, len, "%zu MiB", n >> 20);
	else
		snprintf(buf, len, "%zu bytes", n);
	return buf;
}

/* A growable buffer that never grows past max bytes (plus a NUL). */
struct text {
	char	*p;
	size_t	 len, cap, max;
};

/* Appends n bytes; 0, -1 when it would pass max, -2 out of memory. */
static int
text_add(struct text *t, const char *p, size_t n)
{
	size_t cap;
	char *grown;

	if (n > t->max - t->len)
		return -1;
	if (n == 0 && t->p != NULL)
		return 0;
	if (t->len + n + 1 > t->cap) {
		cap = t->cap > 0 ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap = cap > (t->max + 1) / 2 ? t->max + 1 : cap * 2;
		if ((grown = realloc(t->p, cap)) == NULL)
			return -2;
		t->p = grown;
		t->cap = cap;
	}
	memcpy(t->p + t->len, p, n);
	t->len += n;
	t->p[t->len] = '\0';
	return 0;
}

/* The file, read a chunk at a time and cut into lines. */
struct lines {
	FILE		*f;
	const struct reader_limits *lim;
	struct text	 line;		/* the current line, without '\n' */
	uintmax_t	 no;		/* its number, from 1 */
	char		 in[READ_CHUNK];
	size_t		 pos, end;
	int		 eof;
};

enum {
	LINE_END = 0,		/* no more lines */
	LINE_FULL = 1,		/* a line ending in '\n' */
	LINE_CUT = 2,		/* the last line, without '\n' */
	LINE_LONG = -1,		/* longer than line.max */
	LINE_NOMEM = -2,
	LINE_ERROR = -3,	/* a read error; errno says why */
};

/* Reads the next line into l->line. */
static int
lines_next(struct lines *l)
{
	const char *nl;
	size_t n;
	int rc;

	l->line.len = 0;
	if (l->line.p != NULL)
		l->line.p[0] = '\0';
	l->no++;
	for (;;) {
		if (l->pos == l->end) {
			if (l->eof)
				break;
			n = fread(l->in, 1, sizeof l->in, l->f);
			if (n == 0) {
				if (ferror(l->f))
					return LINE_ERROR;
				l->eof = 1;
				break;
			}
			l->pos = 0;
			l->end = n;
		}
		nl = memchr(l->in + l->pos, '\n', l->end - l->pos);
		n = (nl != NULL ? (size_t)(nl - l->in) : l->end) - l->pos;
		if ((rc = text_add(&l->line, l->in + l->pos, n)) < 0)
			return rc == -1 ? LINE_LONG : LINE_NOMEM;
		l->pos += n;
		if (nl != NULL) {
			l->pos++;
			return LINE_FULL;
		}
	}
	return l->line.len > 0 ? LINE_CUT : LINE_END;
}

/* Is line (a first line) the opening of an indented snapshot file? */
static int
opens_document(const char *line, size_t len)
{
	size_t i;
	int brace = 0;

	for (i = 0; i < len; i++) {
		if (line[i] == '{' && !brace)
			brace = 1;
		else if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return 0;
	}
	return brace;
}

/* Sets err to "NAME:LINE: what" (no LINE when line is 0); returns -1. */
static int __attribute__((format(printf, 5, 6)))
located(char *err, size_t errlen, const char *name, uintmax_t line,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%ju: %s", name, line, msg);
	else
		snprintf(err, errlen, "%s: %s", name, msg);
	return -1;
}

/* The error of a failed lines_next(), located. */
static int
line_error(struct lines *l, const char *name, int rc, char *err,
    size_t errlen)
{
	char b[32];

	if (rc == LINE_LONG)
		return located(err, errlen, name, l->no, "line longer than %s "
		    "(not a perftop recording?)",
		    size_text(b, sizeof b, l->line.max));
	if (rc == LINE_NOMEM)
		return located(err, errlen, name, l->no, "out of memory");
	snprintf(err, errlen, "cannot read %s: %s", name, strerror(errno));
	return -1;
}

/*
 * Reads the rest of an indented snapshot file, whose first line is in
 * l->line, and parses it whole.  Line breaks are kept, so jansson's line
 * numbers are the file's.
 */
static int
read_document(struct lines *l, const char *name, reader_fn fn, void *arg,
    struct reader_info *info, char *err, size_t errlen)
{
	struct text doc = { NULL, 0, 0, l->line.max };
	pt_snapshot *s;
	size_t errline;
	char msg[512], b[32];
	int rc, more = LINE_FULL;

	info->document = 1;
	for (;;) {
		rc = text_add(&doc, l->line.p, l->line.len);
		if (rc == 0 && more == LINE_FULL)
			rc = text_add(&doc, "\n", 1);
		if (rc == 0 && more == LINE_FULL)
			more = lines_next(l);
		else if (rc == 0)
			break;
		if (rc == -1 || more == LINE_LONG) {
			free(doc.p);
			return located(err, errlen, name, 0, "larger than %s "
			    "(not a perftop snapshot file?)",
			    size_text(b, sizeof b, l->line.max));
		}
		if (rc < 0 || more < 0) {
			free(doc.p);
			return line_error(l, name, rc < 0 ? LINE_NOMEM : more,
			    err, errlen);
		}
		if (more == LINE_END)
			break;
	}
	rc = reader_parse(doc.p, doc.len, l->lim, &s, &errline, msg,
	    sizeof msg);
	free(doc.p);
	if (rc < 0)
		return located(err, errlen, name, errline, "%s", msg);
	info->lines = 1;
	info->line = 1;
	return fn(s, 1, arg);
}

int
reader_each(FILE *f, const char *name, const struct reader_limits *lim,
    uintmax_t stop_at, reader_fn fn, void *arg, struct reader_info *info,
    char *err, size_t errlen)
{
	struct lines lines = { .f = f, .lim = lim }, *l = &lines;
	char msg[512];
	pt_snapshot *s;
	int rc, ret = 0;

	memset(info, 0, sizeof *info);
	l->line.max = lim != NULL && lim->line_max > 0 ? lim->line_max :
	    READER_LINE_MAX;

	rc = lines_next(l);
	if (rc == LINE_END) {
		ret = located(err, errlen, name, 0, "empty file");
		goto done;
	}
	if (rc < 0) {
		ret = line_error(l, name, rc, err, errlen);
		goto done;
	}
	if (opens_document(l->line.p, l->line.len)) {
		ret = read_document(l, name, fn, arg, info, err, errlen);
		goto done;
	}

	/* A recording: a snapshot a line. */
	for (; rc == LINE_FULL; rc = lines_next(l)) {
		if (l->line.len == 0) {
			ret = located(err, errlen, name, l->no, "empty line");
			goto done;
		}
		if (reader_parse(l->line.p, l->line.len, lim, &s, NULL, msg,
		    sizeof msg) < 0) {
			ret = located(err, errlen, name, l->no, "%s", msg);
			goto done;
		}
		info->lines = l->no;
		info->line = l->no;
		if ((ret = fn(s, l->no, arg)) != 0 || l->no == stop_at)
			goto done;
	}
	if (rc == LINE_CUT)
		info->cut = l->no;
	else if (rc < 0)
		ret = line_error(l, name, rc, err, errlen);
	else if (info->lines == 0)
		ret = located(err, errlen, name, 0, "empty file");

done:
	free(l->line.p);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* One snapshot of a file                                                    */
/* ------------------------------------------------------------------------ */

/* Keeps the newest snapshot reader_each() hands over. */
static int
keep_last(pt_snapshot *s, uintmax_t line, void *arg)
{
	pt_snapshot **last = arg;

	(void)line;
	pt_snapshot_free(*last);
	*last = s;
	return 0;
}

int
reader_load(FILE *f, const char *name, uintmax_t line,
    const struct reader_limits *lim, pt_snapshot **out,
    struct reader_info *info, char *err, size_t errlen)
{
	pt_snapshot *last = NULL;

	*out = NULL;
	if (reader_each(f, name, lim, line, keep_last, &last, info, err,
	    errlen) != 0) {
		pt_snapshot_free(last);
		return -1;
	}
	if (line > 0 && info->document) {
		pt_snapshot_free(last);
		return located(err, errlen, name, 0, "a snapshot file, not a "
		    "recording: --line does not apply");
	}
	if (line > 0 && info->line != line) {
		pt_snapshot_free(last);
		if (info->cut == line)
			return located(err, errlen, name, line, "line %ju is "
			    "incomplete (no newline at its end)", line);
		return located(err, errlen, name, 0, "no line %ju (%ju "
		    "complete line%s)", line, info->lines,
		    info->lines == 1 ? "" : "s");
	}
	if (last == NULL)
		return located(err, errlen, name, info->cut, "no complete "
		    "snapshot (the only line has no newline at its end)");
	*out = last;
	return 0;
}
