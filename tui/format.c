/*
 * format.c - human units for the live view: durations (ns/µs/ms/s), counts
 * (K/M/G through libbsd's humanize_number), rates, bytes, percentages and
 * uptimes.  No curses here; every function writes a NUL-terminated string
 * of at most len - 1 bytes into buf and returns buf.
 */
#include "tui.h"

#include <math.h>
#include <string.h>

#include <bsd/libutil.h>

#define NS_PER_S	1e9

char *
fmt_duration(char *buf, size_t len, double ns, int utf8)
{
	static const struct {
		double		 div;
		const char	*unit;
	} u[] = {
		{ 1e9, "s" }, { 1e6, "ms" }, { 1e3, NULL }, { 1, "ns" },
	};
	const char *unit;
	double v, s;
	size_t i;

	if (len == 0)
		return buf;
	if (!(ns > 0)) {			/* 0, negative, NaN */
		snprintf(buf, len, "0");
		return buf;
	}
	s = ns / NS_PER_S;
	if (s >= 1000) {			/* long totals: 2h46m, 1234h */
		uint64_t m = (uint64_t)(s / 60 + 0.5);

		if (m < 100 * 60)
			snprintf(buf, len, "%uh%02um", (unsigned)(m / 60),
			    (unsigned)(m % 60));
		else
			snprintf(buf, len, "%.0fh", s / 3600);
		return buf;
	}
	for (i = 0; i < 3 && ns < u[i].div; i++)
		;
	unit = u[i].unit != NULL ? u[i].unit : utf8 ? "\xc2\xb5s" : "us";
	v = ns / u[i].div;
	/* Round first, so that 999.6us becomes 1.00ms, not "1000us". */
	if (i > 0 && i < 3 && v >= 999.5) {
		i--;
		unit = u[i].unit;
		v = ns / u[i].div;
	}
	if (i == 3 || v >= 99.95)
		snprintf(buf, len, "%.0f%s", v, unit);
	else if (v >= 9.995)
		snprintf(buf, len, "%.1f%s", v, unit);
	else
		snprintf(buf, len, "%.2f%s", v, unit);
	return buf;
}

/* Upper-cases humanize_number's "k" (decimal kilo) to match M and G. */
static char *
upper_k(char *buf)
{
	char *p;

	if ((p = strchr(buf, 'k')) != NULL)
		*p = 'K';
	return buf;
}

char *
fmt_count(char *buf, size_t len, int64_t n, int width)
{
	if (len == 0)
		return buf;
	if (width < 3)
		width = 3;
	if ((size_t)width + 1 > len)
		width = (int)len - 1;
	/*
	 * humanize_number() keeps one byte of len for the unit it might add,
	 * so offer it one more than the width and check.
	 */
	if ((size_t)width + 2 <= len && humanize_number(buf, (size_t)width + 2,
	    n, "", HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE | HN_DIVISOR_1000) !=
	    -1 && strlen(buf) <= (size_t)width)
		return upper_k(buf);
	if (humanize_number(buf, (size_t)width + 1, n, "", HN_AUTOSCALE,
	    HN_DECIMAL | HN_NOSPACE | HN_DIVISOR_1000) == -1)
		snprintf(buf, len, "%lld", (long long)n);
	return upper_k(buf);
}

char *
fmt_rate(char *buf, size_t len, double r, int width)
{
	if (len == 0)
		return buf;
	if (!isfinite(r) || fabs(r) < 0.05)
		snprintf(buf, len, "0");
	else if (fabs(r) < 99.95)
		snprintf(buf, len, "%.1f", r);
	else
		fmt_count(buf, len, (int64_t)llround(r), width);
	return buf;
}

char *
fmt_bytes(char *buf, size_t len, uint64_t b)
{
	static const char units[] = "BKMGTPE";
	double v = (double)b;
	size_t i = 0;

	while (v >= 1023.5 && i < sizeof units - 2) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)b);
	else if (v >= 99.95)
		snprintf(buf, len, "%.0f%c", v, units[i]);
	else if (v >= 9.995)
		snprintf(buf, len, "%.1f%c", v, units[i]);
	else
		snprintf(buf, len, "%.2f%c", v, units[i]);
	return buf;
}

char *
fmt_pct(char *buf, size_t len, double pct)
{
	if (!isfinite(pct) || pct < 0)
		pct = 0;
	if (pct < 999.95)
		snprintf(buf, len, "%.1f%%", pct);
	else
		snprintf(buf, len, "%.0f%%", pct);
	return buf;
}

char *
fmt_uptime(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000ULL;

	if (s < 60)
		snprintf(buf, len, "%us", (unsigned)s);
	else if (s < 3600)
		snprintf(buf, len, "%um%02us", (unsigned)(s / 60),
		    (unsigned)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%uh%02um", (unsigned)(s / 3600),
		    (unsigned)(s / 60 % 60));
	else
		snprintf(buf, len, "%llud%02uh", (unsigned long long)(s / 86400),
		    (unsigned)(s / 3600 % 24));
	return buf;
}

char *
fmt_interval(char *buf, size_t len, int ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%ds", ms / 1000);
	else if (ms >= 1000)
		snprintf(buf, len, "%.1fs", ms / 1000.0);
	else
		snprintf(buf, len, "%dms", ms);
	return buf;
}
