/*
 * cmd_auth.c — raftqctl auth hash TOKEN: the HASH field of a tokens file
 * line ([auth] tokens_file, DESIGN.md §6.2, docs/security.md). libsodium's
 * crypto_pwhash_str: argon2id with a random salt, t=2 and 19 MiB (about
 * 40 ms on one core, what a node pays once per token it sees). TOKEN "-"
 * reads the token from stdin's first line, to keep it out of the shell's
 * history and the process list. Needs no cluster.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define HASH_OPSLIMIT 2ull
#define HASH_MEMLIMIT ((size_t)19 << 20)
#define TOKEN_MAX 1024 /* what a node accepts in AUTH */
#define TOKEN_ADVISED 16

static const char usage[] = "auth hash TOKEN   (TOKEN '-': read it from stdin)";

/* TOKEN, or stdin's first line for "-", into @buf: its length, or -1. */
static long token_of(const char *arg, char *buf, size_t len)
{
	if (strcmp(arg, "-") != 0) {
		snprintf(buf, len, "%s", arg);
		return strlen(arg) < len ? (long)strlen(arg) : -1;
	}
	if (fgets(buf, (int)len, stdin) == NULL)
		return 0;
	size_t n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return (long)n;
}

static int auth_hash(const struct ctl_opts *o, int argc, char **argv)
{
	const char *arg;
	int rv = ctl_one_arg(argc, argv, usage, "a TOKEN", NULL, 0, &arg);
	if (rv != 0)
		return rv;
	char token[TOKEN_MAX + 2];
	long n = token_of(arg, token, sizeof token);
	if (n <= 0 || n > TOKEN_MAX)
		return ctl_usage_error(usage, "the token must be 1 to %d bytes",
				       TOKEN_MAX);
	if (n < TOKEN_ADVISED)
		fprintf(stderr,
			"raftqctl: warning: a token of %ld characters is easy "
			"to guess; use %d or more (e.g. `openssl rand -hex "
			"24`)\n",
			n, TOKEN_ADVISED);
	char hash[crypto_pwhash_STRBYTES];
	if (sodium_init() < 0 ||
	    crypto_pwhash_str(hash, token, (unsigned long long)n, HASH_OPSLIMIT,
			      HASH_MEMLIMIT) != 0) {
		sodium_memzero(token, sizeof token);
		fprintf(stderr, "error: INTERNAL: hashing failed (out of "
				"memory?)\n");
		return 1;
	}
	sodium_memzero(token, sizeof token);
	if (o->json) {
		json_t *j = json_pack("{s:s}", "hash", hash);
		ctl_json_out(j);
	} else {
		printf("%s\n", hash);
	}
	return 0;
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
	    {"hash", auth_hash, 0, NULL, NULL, NULL}};
	return ctl_run_sub(o, argc, argv, usage, subs, 1);
}

const struct ctl_noun ctl_auth = {"auth", usage, run};
