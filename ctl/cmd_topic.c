/*
 * cmd_topic.c — raftqctl topic create | list | describe.
 */
#include <string.h>

#include "cli.h"

static const char *usage = "topic create T --queues N [--brokers b1,b2] | "
			   "topic list | topic describe T";

static int topic_create(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {{"--queues", true, NULL, false},
			       {"--brokers", true, NULL, false}};
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
	struct ctl_resp r;
	ctl_call(o->bootstrap, RPC_TOPIC_CREATE, &in, o->timeout_ms, &r);
	rv = ctl_check(o, &r);
	if (rv == 0 && o->json)
		ctl_json_out(
		    json_pack("{s:s,s:b}", "topic", pos[0], "created", 1));
	else if (rv == 0)
		printf("created topic %s with %lld queues per broker\n", pos[0],
		       (long long)q);
	ctl_resp_free(&r);
	return rv;
}

static int topic_describe(const struct ctl_opts *o, int argc, char **argv)
{
	const char *pos[1];
	int npos,
	    rv = ctl_parse_flags(argc, argv, 3, NULL, 0, pos, 1, &npos, usage);
	if (rv != 0)
		return rv;
	if (npos != 1)
		return ctl_usage_error(usage, "topic describe needs a name");
	struct rpc_topic_req in = {pos[0]};
	struct ctl_resp r;
	ctl_call(o->bootstrap, RPC_TOPIC_DESCRIBE, &in, o->timeout_ms, &r);
	rv = ctl_check(o, &r);
	if (rv == 0)
		ctl_print_topic(o, r.body);
	ctl_resp_free(&r);
	return rv;
}

int ctl_list_names(const struct ctl_opts *o, uint16_t type, const char *key)
{
	struct ctl_resp r;
	ctl_call(o->bootstrap, type, NULL, o->timeout_ms, &r);
	int rv = ctl_check(o, &r);
	if (rv == 0)
		ctl_print_names(o, key, r.body);
	ctl_resp_free(&r);
	return rv;
}

int ctl_cmd_topic(const struct ctl_opts *o, int argc, char **argv)
{
	const char *sub = argc >= 3 ? argv[2] : NULL;
	if (sub == NULL)
		return ctl_usage_error(usage, "missing topic subcommand");
	if (strcmp(sub, "create") == 0)
		return topic_create(o, argc, argv);
	if (strcmp(sub, "describe") == 0)
		return topic_describe(o, argc, argv);
	if (strcmp(sub, "list") != 0)
		return ctl_usage_error(usage, "unknown topic subcommand '%s'",
				       sub);
	if (argc != 3)
		return ctl_usage_error(usage, "topic list takes no arguments");
	return ctl_list_names(o, RPC_TOPIC_LIST, "topics");
}
