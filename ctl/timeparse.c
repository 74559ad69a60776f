/*
 * timeparse.c — times and durations typed by operators. Every error names
 * the field that is wrong ("month 13 is not 1-12").
 */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeparse.h"

static int fail(char *err, size_t n, const char *msg, const char *field,
		int value, int lo, int hi)
{
	if (field != NULL)
		snprintf(err, n, "%s %d is not %d-%d", field, value, lo, hi);
	else
		snprintf(err, n, "%s", msg);
	return -1;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "+08:00", "-0530", "Z" -> minutes east of UTC. */
static int parse_offset(const char *s, int *minutes, char *err, size_t n)
{
	if (strcmp(s, "Z") == 0 || strcmp(s, "z") == 0) {
		*minutes = 0;
		return 0;
	}
	int h, m = 0;
	char sign;
	int used = 0;
	if ((sscanf(s, "%c%2d:%2d%n", &sign, &h, &m, &used) == 3 ||
	     sscanf(s, "%c%2d%2d%n", &sign, &h, &m, &used) == 3) &&
	    s[used] == '\0' && (sign == '+' || sign == '-') && h <= 14 &&
	    m < 60) {
		*minutes = (sign == '-' ? -1 : 1) * (h * 60 + m);
		return 0;
	}
	snprintf(err, n, "zone offset '%s' is not +HH:MM, -HH:MM or Z", s);
	return -1;
}

/* ".123" after the seconds: milliseconds (digits past the third are
 * ignored); moves *rest past them. */
static int parse_millis(const char **rest)
{
	const char *p = *rest;
	int digits = 0, f = 0;
	if (*p != '.')
		return 0;
	for (p++; isdigit((unsigned char)*p); p++)
		if (digits < 3) {
			f = f * 10 + (*p - '0');
			digits++;
		}
	for (; digits > 0 && digits < 3; digits++)
		f *= 10;
	*rest = p;
	return f;
}

/* Each field in its range: 0, or -1 with the message naming it. */
static int check_fields(int Y, int M, int D, int h, int m, int s, char *err,
			size_t errlen)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	if (M < 1 || M > 12)
		return fail(err, errlen, NULL, "month", M, 1, 12);
	int dmax = mdays[M - 1] + (M == 2 && leap(Y));
	if (D < 1 || D > dmax)
		return fail(err, errlen, NULL, "day", D, 1, dmax);
	if (h < 0 || h > 23)
		return fail(err, errlen, NULL, "hour", h, 0, 23);
	if (m < 0 || m > 59)
		return fail(err, errlen, NULL, "minute", m, 0, 59);
	if (s < 0 || s > 59)
		return fail(err, errlen, NULL, "second", s, 0, 59);
	return 0;
}

int ctl_check_epoch_ms(int64_t ms, char *err, size_t errlen)
{
	/* 10^11 ms is 1973; 10^11 s is the year 5138. */
	if (ms >= CTL_EPOCH_MS_MIN || ms == 0)
		return 0;
	snprintf(err, errlen,
		 "%lld looks like seconds; raftq expects milliseconds "
		 "(%lld000)",
		 (long long)ms, (long long)ms);
	return -1;
}

int ctl_parse_time(const char *text, const char *tz, int64_t *ms, char *err,
		   size_t errlen)
{
	size_t len = strlen(text);
	bool digits = len > 0;
	for (size_t i = 0; i < len; i++)
		digits &= isdigit((unsigned char)text[i]) != 0;
	if (digits) {
		errno = 0;
		unsigned long long v = strtoull(text, NULL, 10);
		if (errno != 0 || v > (unsigned long long)INT64_MAX)
			return fail(err, errlen,
				    "epoch milliseconds out of range", NULL, 0,
				    0, 0);
		*ms = (int64_t)v;
		return ctl_check_epoch_ms(*ms, err, errlen);
	}
	int Y, M, D, h, m, s, used = 0;
	char sep;
	if (sscanf(text, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &Y, &M, &D, &sep, &h, &m,
		   &s, &used) != 7 ||
	    (sep != ' ' && sep != 'T'))
		return fail(err, errlen,
			    "time must be \"YYYY-MM-DD HH:MM:SS\", ISO-8601 "
			    "with a zone, or epoch milliseconds",
			    NULL, 0, 0, 0);
	const char *rest = text + used;
	int frac = parse_millis(&rest);
	if (check_fields(Y, M, D, h, m, s, err, errlen) != 0)
		return -1;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = s;
	int off;
	const char *zone = *rest ? rest : tz;
	if (*rest && tz != NULL) {
		snprintf(err, errlen,
			 "the time carries its own zone '%s'; drop --tz", rest);
		return -1;
	}
	time_t t;
	if (zone != NULL) {
		if (parse_offset(zone, &off, err, errlen) != 0)
			return -1;
		t = timegm(&tm) - (time_t)off * 60;
	} else {
		tm.tm_isdst = -1; /* the local zone decides */
		t = mktime(&tm);
	}
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

int ctl_parse_duration(const char *text, int64_t *ms, char *err, size_t errlen)
{
	const char *p = text;
	int64_t total = 0;
	if (*p == '\0')
		goto bad;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		char *end;
		long long v = strtoll(p, &end, 10);
		if (errno != 0)
			goto bad;
		int64_t unit;
		if (strncmp(end, "ms", 2) == 0) {
			unit = 1;
			end += 2;
		} else if (*end == 's') {
			unit = 1000;
			end++;
		} else if (*end == 'm') {
			unit = 60 * 1000;
			end++;
		} else if (*end == 'h') {
			unit = 3600 * 1000;
			end++;
		} else if (*end == 'd') {
			unit = 86400LL * 1000;
			end++;
		} else {
			goto bad;
		}
		if (v > INT64_MAX / unit - total)
			goto bad;
		total += v * unit;
		p = end;
	}
	*ms = total;
	return 0;
bad:
	snprintf(err, errlen,
		 "duration '%s' is not like 90m, 2h, 1d, 45s, 500ms or 1h30m",
		 text);
	return -1;
}

int ctl_parse_int(const char *text, const char *what, int64_t *out, char *err,
		  size_t errlen)
{
	errno = 0;
	char *end;
	long long v = strtoll(text, &end, 10);
	if (*text == '\0' || *end != '\0' || errno != 0) {
		snprintf(err, errlen, "%s '%s' is not a whole number", what,
			 text);
		return -1;
	}
	*out = v;
	return 0;
}
