/*
 * raftqctl — raftq's admin CLI (DESIGN.md §7, docs/cli.md).
 *
 *   raftqctl [-b HOST:PORT,...] [--json] [--timeout MS] [--token T] COMMAND
 *
 * The global flags may come anywhere on the line. The bootstrap list comes
 * from -b, then $RAFTQ_BOOTSTRAP, then ~/.config/raftq/raftqctl.ini
 * ("bootstrap = ..." under [raftqctl]), then the local cluster of
 * scripts/cluster.sh. The token of a cluster with [auth] comes from
 * --token, then $RAFTQ_TOKEN, then the file named by "token_file = ..."
 * in raftqctl.ini (docs/security.md). Exit status: 0 success; 1 the cluster
 * answered an error (stderr "error: CODE: message"); 2 bad usage. Each command
 * noun lives in its own cmd_*.c; everything printed is in output.c.
 */
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_BOOTSTRAP "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"
#define DEFAULT_TIMEOUT_MS 10000
#define VERSION "0.1.0"

static const struct ctl_noun *const nouns[] = {
    &ctl_cluster, &ctl_topic,	&ctl_group, &ctl_offset,
    &ctl_produce, &ctl_consume, &ctl_auth,  &ctl_dlq,
};
#define NNOUNS (sizeof nouns / sizeof nouns[0])

static void usage_all(FILE *out)
{
	fprintf(out, "usage: raftqctl [-b HOST:PORT,...] [--json] [--timeout "
		     "MS] [--token T] COMMAND\n\n");
	for (size_t i = 0; i < NNOUNS; i++)
		fprintf(out, "       raftqctl %s\n", nouns[i]->usage);
	fprintf(out,
		"\nGlobal flags may come anywhere. -b defaults to "
		"$RAFTQ_BOOTSTRAP, then\nbootstrap = in "
		"~/.config/raftq/raftqctl.ini, then %s.\n--timeout (default "
		"%d ms) bounds a command, retries through a leader\nelection "
		"included. --token (or $RAFTQ_TOKEN, or token_file = in the "
		"ini file)\nis for clusters with [auth]. `raftqctl COMMAND "
		"--help` shows one command.\nExit status: 0 ok, 1 error from "
		"the cluster (\"error: CODE: "
		"message\" on stderr), 2 bad usage.\n",
		DEFAULT_BOOTSTRAP, DEFAULT_TIMEOUT_MS);
}

/* What the command line said besides the command's own flags. */
struct globals {
	struct ctl_opts o;
	const char *bootstrap, *timeout, *token;
	bool help, version;
	int argc; /* the rest: argv[0], the noun, its arguments */
	char **argv;
};

/* Takes global flag argv[*i] (and its value) into @g: 1 if it was one, 0
 * if not, 2 on bad usage (printed). */
static int take_global(struct globals *g, int argc, char **argv, int *i)
{
	static const char *const valued[] = {"-b", "--bootstrap", "--timeout",
					     "--token"};
	const char *a = argv[*i];
	for (size_t k = 0; k < 4; k++) {
		size_t n = strlen(valued[k]);
		const char *v = NULL;
		if (strcmp(a, valued[k]) == 0 && *i + 1 < argc)
			v = argv[++*i];
		else if (strncmp(a, valued[k], n) == 0 && a[n] == '=')
			v = a + n + 1;
		if (v == NULL)
			continue;
		const char **slot = k < 2    ? &g->bootstrap
				    : k == 2 ? &g->timeout
					     : &g->token;
		if (*slot != NULL) {
			fprintf(stderr, "raftqctl: %s given twice\n",
				valued[k]);
			return 2;
		}
		*slot = v;
		return 1;
	}
	bool *sw = strcmp(a, "--json") == 0 ? &g->o.json
		   : strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ? &g->help
		   : strcmp(a, "--version") == 0 ? &g->version
						 : NULL;
	if (sw == NULL)
		return 0;
	if (*sw) {
		fprintf(stderr, "raftqctl: %s given twice\n", a);
		return 2;
	}
	*sw = true;
	return 1;
}

/* Separates the global flags from the rest of argv: 0 or 2 (printed). */
static int split_globals(struct globals *g, int argc, char **argv)
{
	g->argv = calloc((size_t)argc + 1, sizeof *g->argv);
	if (g->argv == NULL) {
		fprintf(stderr, "raftqctl: out of memory\n");
		return 2;
	}
	g->argv[g->argc++] = argv[0];
	for (int i = 1; i < argc; i++) {
		int rv = take_global(g, argc, argv, &i);
		if (rv == 2)
			return 2;
		if (rv == 0)
			g->argv[g->argc++] = argv[i];
	}
	return 0;
}

/* What ~/.config/raftq/raftqctl.ini says ([raftqctl] section). */
struct ini_file {
	char bootstrap[1024];
	char token_file[1024];
};

static int on_ini(void *user, const char *section, const char *name,
		  const char *value)
{
	struct ini_file *f = user;
	if (strcmp(section, "raftqctl") != 0)
		return 1;
	if (strcmp(name, "bootstrap") == 0)
		snprintf(f->bootstrap, sizeof f->bootstrap, "%s", value);
	else if (strcmp(name, "token_file") == 0)
		snprintf(f->token_file, sizeof f->token_file, "%s", value);
	return 1;
}

static void read_ini(struct ini_file *f)
{
	const char *home = getenv("HOME");
	char path[1024];
	memset(f, 0, sizeof *f);
	snprintf(path, sizeof path, "%s/.config/raftq/raftqctl.ini",
		 home ? home : "");
	if (home != NULL)
		ini_parse(path, on_ini, f);
}

/* The bootstrap list: -b, $RAFTQ_BOOTSTRAP, the config file, default. */
static const char *bootstrap_of(const struct globals *g,
				const struct ini_file *ini)
{
	const char *env = getenv("RAFTQ_BOOTSTRAP");
	if (g->bootstrap != NULL)
		return g->bootstrap;
	if (env != NULL && *env != '\0')
		return env;
	return ini->bootstrap[0] ? ini->bootstrap : DEFAULT_BOOTSTRAP;
}

/* The token: --token, $RAFTQ_TOKEN, the ini file's token_file (its first
 * line, read into @buf), none. 0, or 2 when token_file cannot be read. */
static int token_of(struct globals *g, const struct ini_file *ini, char *buf,
		    size_t len)
{
	const char *env = getenv("RAFTQ_TOKEN");
	g->o.token = g->token;
	if (g->o.token == NULL && env != NULL && *env != '\0')
		g->o.token = env;
	if (g->o.token != NULL || ini->token_file[0] == '\0')
		return 0;
	FILE *f = fopen(ini->token_file, "r");
	if (f == NULL || fgets(buf, (int)len, f) == NULL) {
		fprintf(stderr, "raftqctl: token_file %s (raftqctl.ini): %s\n",
			ini->token_file, f ? "empty" : strerror(errno));
		if (f)
			fclose(f);
		return 2;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	g->o.token = buf;
	return 0;
}

/* Every address numeric IP:PORT: 0, or 2 naming the first that is not. */
static int check_bootstrap(const char *list)
{
	char buf[1024];
	const char *a[64];
	uint32_t n = ctl_split(list, buf, sizeof buf, a, 64);
	struct sockaddr_storage ss;
	for (uint32_t i = 0; i < n; i++)
		if (rpc_addr_parse(a[i], &ss) != 0) {
			fprintf(stderr,
				"raftqctl: bootstrap address '%s' is not a "
				"numeric IP:PORT (for example "
				"127.0.0.1:9101)\n",
				a[i]);
			return 2;
		}
	if (n == 0) {
		fprintf(stderr, "raftqctl: the bootstrap list is empty\n");
		return 2;
	}
	return 0;
}

static int check_timeout(struct globals *g)
{
	char *end;
	g->o.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (g->timeout == NULL)
		return 0;
	g->o.timeout_given = true;
	long v = strtol(g->timeout, &end, 10);
	if (*end != '\0' || v <= 0 || v > INT32_MAX) {
		fprintf(stderr,
			"raftqctl: --timeout takes milliseconds > 0, not "
			"'%s'\n",
			g->timeout);
		return 2;
	}
	g->o.timeout_ms = (uint32_t)v;
	return 0;
}

static const struct ctl_noun *noun_of(const char *name)
{
	for (size_t i = 0; i < NNOUNS; i++)
		if (strcmp(nouns[i]->name, name) == 0)
			return nouns[i];
	return NULL;
}

/* --help, --version or no command: the exit status, or -1 to go on. */
static int early_exit(const struct globals *g, const struct ctl_noun *noun)
{
	if (g->version) {
		printf("raftqctl %s (wire version %u)\n", VERSION, RPC_VERSION);
		return 0;
	}
	if (g->help && noun != NULL) {
		printf("usage: raftqctl %s\n", noun->usage);
		return 0;
	}
	if (g->help || g->argc < 2) {
		usage_all(g->help ? stdout : stderr);
		return g->help ? 0 : 2;
	}
	if (noun == NULL) {
		fprintf(stderr, "raftqctl: unknown command '%s'\n", g->argv[1]);
		usage_all(stderr);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct globals g;
	struct ini_file ini;
	char token[1100];
	memset(&g, 0, sizeof g);
	int rv = split_globals(&g, argc, argv);
	const struct ctl_noun *noun =
	    rv == 0 && g.argc >= 2 ? noun_of(g.argv[1]) : NULL;
	if (rv == 0)
		rv = early_exit(&g, noun);
	if (rv < 0) {
		read_ini(&ini);
		g.o.bootstrap = bootstrap_of(&g, &ini);
		rv = check_bootstrap(g.o.bootstrap);
		if (rv == 0)
			rv = token_of(&g, &ini, token, sizeof token);
		if (rv == 0)
			ctl_set_token(g.o.token);
		if (rv == 0)
			rv = check_timeout(&g);
		if (rv == 0)
			rv = noun->run(&g.o, g.argc, g.argv);
	}
	free(g.argv);
	return rv;
}
