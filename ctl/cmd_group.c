/*
 * cmd_group.c — raftqctl group create | list | describe.
 */
#include <string.h>

#include "cli.h"

static const char *usage = "group create G [--mode clustering|broadcasting] "
			   "[--initial latest|earliest] | group list | group "
			   "describe G";

static int group_create(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {{"--mode", true, NULL, false},
			       {"--initial", true, NULL, false}};
	const char *pos[1];
	int npos,
	    rv = ctl_parse_flags(argc, argv, 3, f, 2, pos, 1, &npos, usage);
	if (rv != 0)
		return rv;
	if (npos != 1)
		return ctl_usage_error(usage, "group create needs a name");
	const char *mode = ctl_flag(f, 2, "--mode");
	const char *initial = ctl_flag(f, 2, "--initial");
	if (mode && strcmp(mode, "clustering") != 0 &&
	    strcmp(mode, "broadcasting") != 0)
		return ctl_usage_error(
		    usage, "--mode is clustering or broadcasting, not '%s'",
		    mode);
	if (initial && strcmp(initial, "latest") != 0 &&
	    strcmp(initial, "earliest") != 0)
		return ctl_usage_error(
		    usage, "--initial is latest or earliest, not '%s'",
		    initial);
	struct rpc_group_create_req in = {pos[0], mode, initial};
	struct ctl_resp r;
	ctl_call(o->bootstrap, RPC_GROUP_CREATE, &in, o->timeout_ms, &r);
	rv = ctl_check(o, &r);
	if (rv == 0 && o->json)
		ctl_json_out(
		    json_pack("{s:s,s:b}", "group", pos[0], "created", 1));
	else if (rv == 0)
		printf("created group %s (%s)\n", pos[0],
		       mode ? mode : "clustering");
	ctl_resp_free(&r);
	return rv;
}

static int group_describe(const struct ctl_opts *o, int argc, char **argv)
{
	const char *pos[1];
	int npos,
	    rv = ctl_parse_flags(argc, argv, 3, NULL, 0, pos, 1, &npos, usage);
	if (rv != 0)
		return rv;
	if (npos != 1)
		return ctl_usage_error(usage, "group describe needs a name");
	struct rpc_group_req in = {pos[0]};
	struct ctl_resp r;
	ctl_call(o->bootstrap, RPC_GROUP_DESCRIBE, &in, o->timeout_ms, &r);
	rv = ctl_check(o, &r);
	if (rv == 0)
		ctl_print_group(o, r.body);
	ctl_resp_free(&r);
	return rv;
}

int ctl_cmd_group(const struct ctl_opts *o, int argc, char **argv)
{
	const char *sub = argc >= 3 ? argv[2] : NULL;
	if (sub == NULL)
		return ctl_usage_error(usage, "missing group subcommand");
	if (strcmp(sub, "create") == 0)
		return group_create(o, argc, argv);
	if (strcmp(sub, "describe") == 0)
		return group_describe(o, argc, argv);
	if (strcmp(sub, "list") != 0)
		return ctl_usage_error(usage, "unknown group subcommand '%s'",
				       sub);
	if (argc != 3)
		return ctl_usage_error(usage, "group list takes no arguments");
	return ctl_list_names(o, RPC_GROUP_LIST, "groups");
}
