/*
 * tokens.c — parses the tokens file and answers "may this token do that"
 * (tokens.h has the format). Patterns are matched with fnmatch(3); a
 * pattern may hold name characters and `*` only, so `?`, `[` and `\` never
 * mean anything special.
 */
#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm.h"
#include "tokens.h"

#define TOKENS_FILE_MAX (16u << 20) /* bytes a tokens file may have */

static const char *const action_names[] = {"produce", "consume", "reset",
					   "admin"};

const char *tokens_action_name(enum tokens_action action)
{
	if ((unsigned)action > TOKENS_ADMIN)
		return "?";
	return action_names[action];
}

void tokens_free(struct tokens *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->v[i].perms);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* A name of 1..@max name characters (and `*` with @star). */
static bool word_valid(const char *s, size_t max, bool star)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!rsm_name_char(s[i]) && !(star && s[i] == '*'))
			return false;
	return true;
}

static int fail(char *err, size_t errlen, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, unsigned line, const char *fmt, ...)
{
	int k = snprintf(err, errlen, "line %u: ", line);
	va_list ap;
	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < errlen)
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

/* One PERM of a line into @p: 0, or -1 with why in @why. */
static int perm_parse(const char *text, struct tokens_perm *p, char *why,
		      size_t whylen)
{
	if (strcmp(text, "admin") == 0) {
		p->action = TOKENS_ADMIN;
		p->pattern[0] = '\0';
		return 0;
	}
	const char *colon = strchr(text, ':');
	size_t alen = colon ? (size_t)(colon - text) : 0;
	int a = -1;
	for (int i = 0; i < TOKENS_ADMIN && colon; i++)
		if (strlen(action_names[i]) == alen &&
		    strncmp(text, action_names[i], alen) == 0)
			a = i;
	if (a < 0) {
		snprintf(why, whylen,
			 "permission '%s' is not admin, produce:TOPIC, "
			 "consume:GROUP or reset:GROUP",
			 text);
		return -1;
	}
	if (!word_valid(colon + 1, TOKENS_PATTERN_MAX, true)) {
		snprintf(why, whylen,
			 "permission '%s': '%s' is not a name or a pattern "
			 "(letters, digits, . _ - and *)",
			 text, colon + 1);
		return -1;
	}
	p->action = (enum tokens_action)a;
	snprintf(p->pattern, sizeof p->pattern, "%s", colon + 1);
	return 0;
}

/* The comma-separated PERMs of @list into @e: 0 or -1 (why in @why). */
static int perms_parse(char *list, struct tokens_entry *e, char *why,
		       size_t whylen)
{
	size_t n = 1, len = strlen(list);
	if (list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,")) {
		snprintf(why, whylen, "an empty permission in '%s'", list);
		return -1;
	}
	for (const char *c = list; *c; c++)
		n += *c == ',';
	if (n > TOKENS_PERMS_MAX) {
		snprintf(why, whylen, "%zu permissions; at most %d", n,
			 TOKENS_PERMS_MAX);
		return -1;
	}
	e->perms = calloc(n, sizeof *e->perms);
	if (e->perms == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	char *save = NULL;
	for (char *p = strtok_r(list, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save)) {
		if (perm_parse(p, &e->perms[e->n_perms], why, whylen) != 0)
			return -1;
		e->n_perms++;
	}
	assert(e->n_perms == n); /* no empty one: checked above */
	return 0;
}

static bool hash_valid(const char *h)
{
	if (strncmp(h, "$argon2id$", 10) != 0 || strlen(h) > TOKENS_HASH_MAX)
		return false;
	/* -1: not a string crypto_pwhash_str made. */
	return crypto_pwhash_str_needs_rehash(h, crypto_pwhash_OPSLIMIT_MIN,
					      crypto_pwhash_MEMLIMIT_MIN) >= 0;
}

static bool name_taken(const struct tokens *t, const char *name)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return true;
	return false;
}

/* The three fields of one line (comment already cut) into @t. */
static int line_parse(char *line, unsigned no, struct tokens *t, char *err,
		      size_t errlen)
{
	char *save = NULL, *f[4] = {NULL};
	int nf = 0;
	for (char *w = strtok_r(line, " \t\r", &save); w != NULL && nf < 4;
	     w = strtok_r(NULL, " \t\r", &save))
		f[nf++] = w;
	if (nf == 0)
		return 0;
	if (nf != 3)
		return fail(err, errlen, no,
			    "%d fields; want NAME HASH PERM[,PERM...]", nf);
	if (!word_valid(f[0], TOKENS_NAME_MAX, false))
		return fail(err, errlen, no,
			    "name '%s': 1 to %d letters, digits, . _ -", f[0],
			    TOKENS_NAME_MAX);
	if (name_taken(t, f[0]))
		return fail(err, errlen, no, "name '%s' appears twice", f[0]);
	if (!hash_valid(f[1]))
		return fail(err, errlen, no,
			    "the hash of '%s' is not what `raftqctl auth hash "
			    "TOKEN` prints ($argon2id$...)",
			    f[0]);
	if (t->n == TOKENS_MAX)
		return fail(err, errlen, no, "more than %d tokens", TOKENS_MAX);
	struct tokens_entry *e = &t->v[t->n];
	memset(e, 0, sizeof *e);
	snprintf(e->name, sizeof e->name, "%s", f[0]);
	snprintf(e->hash, sizeof e->hash, "%s", f[1]);
	t->n++; /* counted now: tokens_free frees its perms either way */
	char why[512];
	if (perms_parse(f[2], e, why, sizeof why) != 0)
		return fail(err, errlen, no, "%s", why);
	return 0;
}

/* The line number of byte @at of @text. */
static unsigned line_of(const char *text, size_t at)
{
	unsigned no = 1;
	for (size_t i = 0; i < at; i++)
		no += text[i] == '\n';
	return no;
}

int tokens_parse(const char *text, size_t len, struct tokens *out, char *err,
		 size_t errlen)
{
	memset(out, 0, sizeof *out);
	const char *nul = memchr(text, '\0', len);
	if (nul != NULL)
		return fail(err, errlen, line_of(text, (size_t)(nul - text)),
			    "a NUL byte: not a text file");
	if (sodium_init() < 0)
		return fail(err, errlen, 0, "libsodium failed to start");
	char *copy = malloc(len + 1);
	/* One entry per line at most. */
	unsigned lines = line_of(text, len);
	out->v =
	    calloc(lines < TOKENS_MAX ? lines : TOKENS_MAX, sizeof *out->v);
	int rv = copy && out->v ? 0 : fail(err, errlen, 0, "out of memory");
	if (copy) {
		memcpy(copy, text, len);
		copy[len] = '\0';
	}
	unsigned no = 0;
	for (char *line = copy; rv == 0 && line != NULL;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		no++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		rv = line_parse(line, no, out, err, errlen);
		line = nl ? nl + 1 : NULL;
	}
	free(copy);
	if (rv != 0)
		tokens_free(out);
	return rv;
}

int tokens_load(const char *path, struct tokens *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(TOKENS_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, TOKENS_FILE_MAX + 1, fp) : 0;
	bool bad = buf == NULL || ferror(fp) || n > TOKENS_FILE_MAX;
	fclose(fp);
	if (bad) {
		snprintf(err, errlen, "%s: %s", path,
			 buf == NULL	       ? "out of memory"
			 : n > TOKENS_FILE_MAX ? "larger than 16 MiB"
					       : "read error");
		free(buf);
		return -1;
	}
	char why[600];
	int rv = tokens_parse(buf, n, out, why, sizeof why);
	free(buf);
	if (rv != 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return rv;
}

bool tokens_allows(const struct tokens_entry *e, enum tokens_action action,
		   const char *resource)
{
	for (uint32_t i = 0; i < e->n_perms; i++) {
		const struct tokens_perm *p = &e->perms[i];
		if (p->action == TOKENS_ADMIN)
			return true;
		if (p->action == action && resource != NULL &&
		    fnmatch(p->pattern, resource, FNM_NOESCAPE) == 0)
			return true;
	}
	return false;
}
