/* prom_check.c — the exposition format check (prom_check.h). */
#include "prom_check.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAMILIES_MAX 256

struct state {
	char typed[FAMILIES_MAX][128];
	char type_of[FAMILIES_MAX][16];
	bool ended[FAMILIES_MAX];
	int n;
	int current; /* the family of the last sample, -1 */
	double last_bucket, inf_bucket;
	char bucket_key[512];
	unsigned line;
	char *err;
	size_t errlen;
};

static int bad(struct state *s, const char *fmt, ...)
{
	int k = snprintf(s->err, s->errlen, "line %u: ", s->line);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err + k, s->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

/* Length of a metric name at @p (0 if none). */
static size_t name_len(const char *p, bool colon)
{
	size_t n = 0;
	while (isalpha((unsigned char)p[n]) || p[n] == '_' ||
	       (colon && p[n] == ':') ||
	       (n > 0 && isdigit((unsigned char)p[n])))
		n++;
	return n;
}

static int family_of(struct state *s, const char *name, size_t len)
{
	for (int i = 0; i < s->n; i++)
		if (strlen(s->typed[i]) == len &&
		    strncmp(s->typed[i], name, len) == 0)
			return i;
	return -1;
}

/* The family a sample name belongs to (histograms: minus the suffix). */
static int sample_family(struct state *s, const char *name, size_t len)
{
	int f = family_of(s, name, len);
	static const char *const sfx[] = {"_bucket", "_sum", "_count"};
	for (int k = 0; f < 0 && k < 3; k++) {
		size_t l = strlen(sfx[k]);
		if (len > l && strncmp(name + len - l, sfx[k], l) == 0)
			f = family_of(s, name, len - l);
		if (f >= 0 && strcmp(s->type_of[f], "histogram") != 0)
			f = -1;
	}
	return f;
}

static int comment(struct state *s, const char *p)
{
	bool type = strncmp(p, "# TYPE ", 7) == 0;
	if (!type && strncmp(p, "# HELP ", 7) != 0)
		return 0; /* another comment */
	p += 7;
	size_t n = name_len(p, true);
	if (n == 0 || p[n] != ' ')
		return bad(s, "a bad metric name after # %s",
			   type ? "TYPE" : "HELP");
	if (!type)
		return 0;
	if (family_of(s, p, n) >= 0)
		return bad(s, "a second TYPE line for %.*s", (int)n, p);
	static const char *const types[] = {"counter", "gauge", "histogram",
					    "summary", "untyped"};
	bool ok = false;
	for (int k = 0; k < 5; k++)
		ok |= strcmp(p + n + 1, types[k]) == 0;
	if (!ok || s->n == FAMILIES_MAX)
		return bad(s, "type '%s'", p + n + 1);
	snprintf(s->typed[s->n], sizeof s->typed[0], "%.*s", (int)n, p);
	snprintf(s->type_of[s->n], sizeof s->type_of[0], "%s", p + n + 1);
	s->n++;
	return 0;
}

/* The labels at *p ("{...}" or nothing): advances *p; le's value in @le. */
static int labels(struct state *s, const char **p, char *le, size_t lelen)
{
	le[0] = '\0';
	if (**p != '{')
		return 0;
	(*p)++;
	while (**p != '}') {
		size_t n = name_len(*p, false);
		if (n == 0 || (*p)[n] != '=' || (*p)[n + 1] != '"')
			return bad(s, "a bad label at '%s'", *p);
		bool is_le = n == 2 && strncmp(*p, "le", 2) == 0;
		*p += n + 2;
		size_t v = 0;
		for (; **p != '"'; (*p)++, v++) {
			if (**p == '\0' || **p == '\n')
				return bad(s, "an unterminated label value");
			if (**p == '\\') {
				(*p)++;
				if (**p == '\0' || !strchr("\\\"n", **p))
					return bad(s, "a bad escape in a "
						      "label value");
			}
			if (is_le && v + 1 < lelen)
				le[v] = **p, le[v + 1] = '\0';
		}
		(*p)++;
		if (**p == ',')
			(*p)++;
		else if (**p != '}')
			return bad(s, "labels not separated by ','");
	}
	(*p)++;
	return 0;
}

static bool number(const char *p)
{
	if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0 ||
	    strcmp(p, "NaN") == 0)
		return true;
	char *end;
	strtod(p, &end);
	return end != p && *end == '\0';
}

/* Buckets of one label set non-decreasing; +Inf equals the _count. */
static int histogram(struct state *s, const char *line, size_t n,
		     const char *le, double v)
{
	if (n > 7 && strncmp(line + n - 7, "_bucket", 7) == 0) {
		const char *at = strstr(line, "le=");
		char key[512];
		snprintf(key, sizeof key, "%.*s", (int)(at - line), line);
		if (strcmp(key, s->bucket_key) != 0)
			s->last_bucket = 0;
		snprintf(s->bucket_key, sizeof s->bucket_key, "%s", key);
		if (v < s->last_bucket)
			return bad(s, "bucket le=%s below the one before", le);
		s->last_bucket = v;
		if (strcmp(le, "+Inf") == 0)
			s->inf_bucket = v;
	} else if (n > 6 && strncmp(line + n - 6, "_count", 6) == 0 &&
		   v != s->inf_bucket) {
		return bad(s, "_count %g is not the +Inf bucket %g", v,
			   s->inf_bucket);
	}
	return 0;
}

static int sample(struct state *s, const char *line)
{
	size_t n = name_len(line, true);
	if (n == 0)
		return bad(s, "not a sample: '%s'", line);
	int f = sample_family(s, line, n);
	if (f < 0)
		return bad(s, "%.*s has no TYPE line before it", (int)n, line);
	if (s->ended[f])
		return bad(s, "the samples of %s are not together",
			   s->typed[f]);
	if (s->current >= 0 && s->current != f)
		s->ended[s->current] = true;
	s->current = f;
	const char *p = line + n;
	char le[32];
	if (labels(s, &p, le, sizeof le) != 0)
		return -1;
	if (*p != ' ' || !number(p + 1))
		return bad(s, "value '%s' is not a number", *p ? p + 1 : "");
	if (strcmp(s->type_of[f], "histogram") == 0)
		return histogram(s, line, n, le, strtod(p + 1, NULL));
	return 0;
}

int prom_check(const char *text, char *err, size_t errlen)
{
	static struct state s;
	memset(&s, 0, sizeof s);
	s.current = -1;
	s.err = err;
	s.errlen = errlen;
	size_t len = strlen(text);
	if (len == 0 || text[len - 1] != '\n')
		return bad(&s, "the text does not end with a newline");
	char *copy = strdup(text), *save = NULL;
	int rv = 0;
	for (char *l = strtok_r(copy, "\n", &save); l && rv == 0;
	     l = strtok_r(NULL, "\n", &save)) {
		s.line++;
		rv = l[0] == '#' ? comment(&s, l) : sample(&s, l);
	}
	free(copy);
	return rv;
}

double prom_value(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; (p = strstr(p, series)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}
