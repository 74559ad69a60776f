/*
 * cmd_group.c — raftqctl group create | list | describe | delete.
 */
#include <string.h>

#include "cli.h"

static const char usage[] = "group create G [--mode clustering|broadcasting] "
			    "[--initial latest|earliest]\n"
			    "       raftqctl group list\n"
			    "       raftqctl group describe G\n"
			    "       raftqctl group delete G";

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
	const char *name;
	int rv = ctl_one_arg(argc, argv, usage, "a name", f, 2, &name);
	if (rv != 0)
		return rv;
	const char *mode = ctl_flag(f, 2, "--mode");
	const char *initial = ctl_flag(f, 2, "--initial");
	if (!one_of(mode, "--mode", "clustering", "broadcasting") ||
	    !one_of(initial, "--initial", "latest", "earliest"))
		return 2;
	struct rpc_group_create_req in = {name, mode, initial};
	char detail[64];
	snprintf(detail, sizeof detail, "(%s)", mode ? mode : "clustering");
	rv = ctl_request(o, RPC_GROUP_CREATE, &in, NULL);
	return rv ? rv : ctl_print_created(o, "group", name, detail);
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
	    {"create", group_create, 0, NULL, NULL, NULL},
	    /* Refused by the cluster while the group has online members. */
	    {"delete", NULL, RPC_GROUP_DELETE, NULL, NULL,
	     "its offsets and reset history are gone"},
	    {"describe", NULL, RPC_GROUP_DESCRIBE, NULL, ctl_print_group, NULL},
	    {"list", NULL, RPC_GROUP_LIST, "groups", NULL, NULL}};
	return ctl_run_sub(o, argc, argv, usage, subs, 4);
}

const struct ctl_noun ctl_group = {"group", usage, run};
