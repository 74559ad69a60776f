/*
 * cmd_topic.c — raftqctl topic create | list | describe | delete.
 */
#include <string.h>

#include "cli.h"

#define MAX_QUEUES 16384 /* RSM_MAX_QUEUES_PER_BROKER (raft/rsm.h) */

static const char usage[] =
    "topic create T --queues N [--brokers b1,b2] "
    "[--replication-factor R] [--min-insync-replicas M]\n"
    "       raftqctl topic list\n"
    "       raftqctl topic describe T\n"
    "       raftqctl topic delete T";

static int topic_create(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {CTL_VALUE("--queues"), CTL_VALUE("--brokers"),
			       CTL_VALUE("--replication-factor"),
			       CTL_VALUE("--min-insync-replicas")};
	const char *name, *what = "a name and --queues";
	int rv = ctl_one_arg(argc, argv, usage, what, f, 4, &name);
	if (rv != 0)
		return rv;
	if (ctl_flag(f, 4, "--queues") == NULL)
		return ctl_usage_error(usage, "topic create needs %s", what);
	int64_t q = 0, rf = 0, min = 0;
	if (ctl_flag_int(f, 4, "--queues", 1, MAX_QUEUES, &q) != 0)
		return ctl_usage_error(usage, "--queues must be 1..%d",
				       MAX_QUEUES);
	if (ctl_flag(f, 4, "--replication-factor") &&
	    ctl_flag_int(f, 4, "--replication-factor", 1, 5, &rf) != 0)
		return ctl_usage_error(usage,
				       "--replication-factor must be 1..5");
	if (ctl_flag(f, 4, "--min-insync-replicas") &&
	    ctl_flag_int(f, 4, "--min-insync-replicas", 1, 5, &min) != 0)
		return ctl_usage_error(usage,
				       "--min-insync-replicas must be 1..5");
	char buf[1024];
	const char *b[255];
	const char *brokers = ctl_flag(f, 4, "--brokers");
	uint32_t nb = brokers ? ctl_split(brokers, buf, sizeof buf, b, 255) : 0;
	struct rpc_topic_create_req in = {
	    name, (uint32_t)q, {b, nb}, (uint32_t)rf, (uint32_t)min};
	struct ctl_resp r;
	ctl_call(o->bootstrap, RPC_TOPIC_CREATE, &in, o->timeout_ms, &r);
	rv = ctl_check(o, &r);
	if (rv == 0)
		ctl_print_topic_created(o, name, (uint32_t)q, r.body);
	ctl_resp_free(&r);
	return rv;
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
	    {"create", topic_create, 0, NULL, NULL, NULL},
	    /* Refused by the cluster while online members read the topic. */
	    {"delete", NULL, RPC_TOPIC_DELETE, NULL, NULL,
	     "its messages, and every group's offsets and reset history on "
	     "it, are gone"},
	    {"describe", NULL, RPC_TOPIC_DESCRIBE, NULL, ctl_print_topic, NULL},
	    {"list", NULL, RPC_TOPIC_LIST, "topics", NULL, NULL}};
	return ctl_run_sub(o, argc, argv, usage, subs, 4);
}

const struct ctl_noun ctl_topic = {"topic", usage, run};
