/*
 * token.c — where a client's [auth] token comes from (client_int.h): the
 * config, a file (so it stays out of argv and shell history), or the
 * environment. The token is kept as given: only a file's line end and
 * surrounding blanks are cut.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

/* Checks and copies @t (@len bytes) into *@out. */
static int token_take(const char *t, size_t len, const char *from, char **out,
		      char *errmsg, size_t errlen)
{
	if (len == 0 || len > CL_TOKEN_MAX) {
		snprintf(errmsg, errlen, "%s: the token is %s", from,
			 len == 0 ? "empty" : "longer than 1024 bytes");
		return RAFTQ_EINVAL;
	}
	*out = strndup(t, len);
	if (*out == NULL) {
		snprintf(errmsg, errlen, "out of memory");
		return RAFTQ_ENOMEM;
	}
	return 0;
}

/* The first line of @path, blanks around it cut. */
static int token_file(const char *path, char **out, char *errmsg, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(errmsg, errlen, "token_file %s: %s", path,
			 strerror(errno));
		return RAFTQ_EIO;
	}
	char line[CL_TOKEN_MAX + 4] = "";
	bool got = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	char *b = line;
	while (got && isspace((unsigned char)*b))
		b++;
	size_t n = strlen(b);
	while (n > 0 && isspace((unsigned char)b[n - 1]))
		n--;
	char from[300];
	snprintf(from, sizeof from, "token_file %s", path);
	int rv = token_take(b, n, from, out, errmsg, errlen);
	explicit_bzero(line, sizeof line);
	return rv;
}

int cl_token_read(const struct raftq_config *cfg, char **out, char *errmsg,
		  size_t errlen)
{
	*out = NULL;
	if (cfg->token != NULL)
		return token_take(cfg->token, strlen(cfg->token), "token", out,
				  errmsg, errlen);
	if (cfg->token_file != NULL)
		return token_file(cfg->token_file, out, errmsg, errlen);
	const char *env = getenv("RAFTQ_TOKEN");
	if (env != NULL && env[0] != '\0')
		return token_take(env, strlen(env), "RAFTQ_TOKEN", out, errmsg,
				  errlen);
	return 0;
}
