/*
 * cmd_topic.c — raftqctl topic create | list | describe.
 */
#include <string.h>

#include "cli.h"

static const char *usage = "topic create T --queues N [--brokers b1,b2] | "
			   "topic list | topic describe T";

static int topic_create(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {CTL_VALUE("--queues"), CTL_VALUE("--brokers")};
	const char *pos[1];
	int npos,
	    rv = ctl_parse_flags(argc, argv, 3, f, 2, pos, 1, &npos, usage);
	if (rv != 0)
		return rv;
	if (npos != 1 || ctl_flag(f, 2, "--queues") == NULL)
		return ctl_usage_error(usage, "topic create needs a name and "
					      "--queues");
	int64_t q = 0;
	if (ctl_flag_int(f, 2, "--queues", 1, 1024, &q) != 0)
		return ctl_usage_error(usage, "--queues must be 1..1024");
	char buf[1024];
	const char *b[255];
	const char *brokers = ctl_flag(f, 2, "--brokers");
	uint32_t nb = brokers ? ctl_split(brokers, buf, sizeof buf, b, 255) : 0;
	struct rpc_topic_create_req in = {pos[0], (uint32_t)q, {b, nb}};
	rv = ctl_request(o, RPC_TOPIC_CREATE, &in, NULL);
	if (rv == 0 && o->json)
		ctl_json_out(
		    json_pack("{s:s,s:b}", "topic", pos[0], "created", 1));
	else if (rv == 0)
		printf("created topic %s with %lld queues per broker\n", pos[0],
		       (long long)q);
	return rv;
}

static int topic_describe(const struct ctl_opts *o, int argc, char **argv)
{
	struct rpc_topic_req in;
	int rv = ctl_one_arg(argc, argv, usage, "a name", &in.topic);
	return rv ? rv
		  : ctl_request(o, RPC_TOPIC_DESCRIBE, &in, ctl_print_topic);
}

int ctl_cmd_topic(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
	    {"create", topic_create, 0, NULL},
	    {"describe", topic_describe, 0, NULL},
	    {"list", NULL, RPC_TOPIC_LIST, "topics"}};
	return ctl_run_sub(o, argc, argv, usage, subs, 3);
}
