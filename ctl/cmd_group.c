/*
 * cmd_group.c — raftqctl group create | list | describe.
 */
#include <string.h>

#include "cli.h"

static const char *usage = "group create G [--mode clustering|broadcasting] "
			   "[--initial latest|earliest] | group list | group "
			   "describe G";

/* NULL or one of @a, @b; else prints the usage error. */
static bool one_of(const char *v, const char *flag, const char *a,
		   const char *b)
{
	if (v == NULL || strcmp(v, a) == 0 || strcmp(v, b) == 0)
		return true;
	ctl_usage_error(usage, "%s is %s or %s, not '%s'", flag, a, b, v);
	return false;
}

static int group_create(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {CTL_VALUE("--mode"), CTL_VALUE("--initial")};
	const char *pos[1];
	int npos,
	    rv = ctl_parse_flags(argc, argv, 3, f, 2, pos, 1, &npos, usage);
	if (rv != 0)
		return rv;
	if (npos != 1)
		return ctl_usage_error(usage, "group create needs a name");
	const char *mode = ctl_flag(f, 2, "--mode");
	const char *initial = ctl_flag(f, 2, "--initial");
	if (!one_of(mode, "--mode", "clustering", "broadcasting") ||
	    !one_of(initial, "--initial", "latest", "earliest"))
		return 2;
	struct rpc_group_create_req in = {pos[0], mode, initial};
	rv = ctl_request(o, RPC_GROUP_CREATE, &in, NULL);
	if (rv == 0 && o->json)
		ctl_json_out(
		    json_pack("{s:s,s:b}", "group", pos[0], "created", 1));
	else if (rv == 0)
		printf("created group %s (%s)\n", pos[0],
		       mode ? mode : "clustering");
	return rv;
}

static int group_describe(const struct ctl_opts *o, int argc, char **argv)
{
	struct rpc_group_req in;
	int rv = ctl_one_arg(argc, argv, usage, "a name", &in.group);
	return rv ? rv
		  : ctl_request(o, RPC_GROUP_DESCRIBE, &in, ctl_print_group);
}

int ctl_cmd_group(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
	    {"create", group_create, 0, NULL},
	    {"describe", group_describe, 0, NULL},
	    {"list", NULL, RPC_GROUP_LIST, "groups"}};
	return ctl_run_sub(o, argc, argv, usage, subs, 3);
}
