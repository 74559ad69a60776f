/*
 * flags.c — raftqctl's command-line flags: "--name value", "--name=value"
 * and bare switches, in any order after the command; a flag that is not
 * the command's is a usage error naming it.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int ctl_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "raftqctl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nusage: raftqctl %s\n", usage);
	va_end(ap);
	return 2;
}

static struct ctl_flag *find(struct ctl_flag *flags, int nflags, const char *a,
			     size_t len)
{
	for (int k = 0; k < nflags; k++)
		if (strlen(flags[k].name) == len &&
		    strncmp(flags[k].name, a, len) == 0)
			return &flags[k];
	return NULL;
}

int ctl_parse_flags(int argc, char **argv, int from, struct ctl_flag *flags,
		    int nflags, const char **pos, int npos, int *got,
		    const char *usage)
{
	*got = 0;
	for (int i = from; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0) {
			if (*got >= npos)
				return ctl_usage_error(
				    usage, "unexpected argument '%s'", a);
			pos[(*got)++] = a;
			continue;
		}
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		struct ctl_flag *f = find(flags, nflags, a, len);
		if (f == NULL)
			return ctl_usage_error(usage, "unknown flag '%.*s'",
					       (int)len, a);
		if (f->given && !f->repeatable)
			return ctl_usage_error(usage, "%s given twice",
					       f->name);
		f->given = true;
		if (!f->has_value && eq != NULL)
			return ctl_usage_error(usage, "%s takes no value",
					       f->name);
		if (!f->has_value)
			continue;
		if (eq == NULL && i + 1 >= argc)
			return ctl_usage_error(usage, "%s needs a value",
					       f->name);
		const char *v = eq != NULL ? eq + 1 : argv[++i];
		if (f->n_values == CTL_FLAG_VALUES)
			return ctl_usage_error(usage,
					       "%s given more than %d "
					       "times",
					       f->name, CTL_FLAG_VALUES);
		f->values[f->n_values++] = v;
		if (f->value == NULL)
			f->value = v;
	}
	return 0;
}

uint32_t ctl_flag_list(const struct ctl_flag *flags, int n, const char *name,
		       char *buf, size_t bufsize, const char **out,
		       uint32_t max)
{
	uint32_t got = 0;
	size_t at = 0;
	for (int k = 0; k < n; k++) {
		if (strcmp(flags[k].name, name) != 0)
			continue;
		for (int i = 0; i < flags[k].n_values && at < bufsize; i++) {
			got += ctl_split(flags[k].values[i], buf + at,
					 bufsize - at, out + got, max - got);
			at += strlen(flags[k].values[i]) + 1;
		}
	}
	return got;
}

const char *ctl_flag(const struct ctl_flag *flags, int n, const char *name)
{
	for (int k = 0; k < n; k++)
		if (strcmp(flags[k].name, name) == 0 && flags[k].given)
			return flags[k].value ? flags[k].value : "";
	return NULL;
}

int ctl_flag_int(const struct ctl_flag *flags, int n, const char *name,
		 int64_t min, int64_t max, int64_t *out)
{
	const char *v = ctl_flag(flags, n, name);
	char err[256];
	int64_t x;
	if (v == NULL)
		return 0;
	if (ctl_parse_int(v, name, &x, err, sizeof err) != 0 || x < min ||
	    x > max)
		return -1;
	*out = x;
	return 0;
}

uint32_t ctl_split(const char *list, char *buf, size_t bufsize,
		   const char **out, uint32_t max)
{
	snprintf(buf, bufsize, "%s", list);
	uint32_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t && n < max;
	     t = strtok_r(NULL, ",", &save))
		out[n++] = t;
	return n;
}

int ctl_one_arg(int argc, char **argv, const char *usage, const char *what,
		struct ctl_flag *f, int nf, const char **arg)
{
	int npos;
	int rv = ctl_parse_flags(argc, argv, 3, f, nf, arg, 1, &npos, usage);
	if (rv == 0 && npos != 1)
		rv = ctl_usage_error(usage, "%s %s needs %s", argv[1], argv[2],
				     what);
	return rv;
}

/* Names, one per line, or {"KEY": [...]}. */
static int list_names(const struct ctl_opts *o, uint16_t type, const char *key)
{
	struct ctl_resp r;
	ctl_call(o->bootstrap, type, NULL, o->timeout_ms, &r);
	int rv = ctl_check(o, &r);
	if (rv == 0)
		ctl_print_names(o, key, r.body);
	ctl_resp_free(&r);
	return rv;
}

/* The describe requests hold just a name. */
_Static_assert(sizeof(struct rpc_topic_req) == sizeof(const char *) &&
		   sizeof(struct rpc_group_req) == sizeof(const char *),
	       "describe requests are one name");

/* "NOUN describe NAME": @sub's request for NAME, printed. */
static int describe(const struct ctl_opts *o, int argc, char **argv,
		    const char *usage, const struct ctl_sub *sub)
{
	const char *name;
	int rv = ctl_one_arg(argc, argv, usage, "a name", NULL, 0, &name);
	return rv ? rv : ctl_request(o, sub->type, &name, sub->print);
}

/* "NOUN delete NAME": prints "deleted NOUN NAME: @gone" (or {"NOUN":
 * NAME, "deleted": true}). */
static int delete_one(const struct ctl_opts *o, int argc, char **argv,
		      const char *usage, const struct ctl_sub *sub)
{
	const char *name;
	int rv = ctl_one_arg(argc, argv, usage, "a name", NULL, 0, &name);
	if (rv == 0)
		rv = ctl_request(o, sub->type, &name, NULL);
	if (rv == 0 && o->json)
		ctl_json_out(
		    json_pack("{s:s,s:b}", argv[1], name, "deleted", 1));
	else if (rv == 0)
		printf("deleted %s %s: %s\n", argv[1], name, sub->gone);
	return rv;
}

int ctl_run_sub(const struct ctl_opts *o, int argc, char **argv,
		const char *usage, const struct ctl_sub *subs, size_t n)
{
	if (argc < 3)
		return ctl_usage_error(usage, "missing %s subcommand", argv[1]);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[2], subs[i].name) != 0)
			continue;
		if (subs[i].run != NULL)
			return subs[i].run(o, argc, argv);
		if (subs[i].print != NULL)
			return describe(o, argc, argv, usage, &subs[i]);
		if (subs[i].gone != NULL)
			return delete_one(o, argc, argv, usage, &subs[i]);
		if (argc != 3)
			return ctl_usage_error(usage,
					       "%s %s takes no arguments",
					       argv[1], argv[2]);
		return list_names(o, subs[i].type, subs[i].key);
	}
	return ctl_usage_error(usage, "unknown %s subcommand '%s'", argv[1],
			       argv[2]);
}

int64_t ctl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
