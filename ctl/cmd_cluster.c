/*
 * cmd_cluster.c — raftqctl cluster status | remove ID | wait.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define WAIT_POLL_US 200000

static const char usage[] =
    "cluster status\n"
    "       raftqctl cluster remove ID   (the cluster secret in "
    "RAFTQ_CLUSTER_SECRET)\n"
    "       raftqctl cluster wait [--node ID] [--voters N] [--within MS]";

struct wait_goal {
	int64_t node, voters, within;
	uint64_t target; /* the leader's commit index at the first answer */
	bool have_target;
};

static bool is_live(const struct rpc_node_status *ns)
{
	return strcmp(ns->role, "leader") == 0 ||
	       strcmp(ns->role, "follower") == 0;
}

/* Whether one status answer meets the goal; @why says where it stands. */
static bool wait_met(struct wait_goal *w, const struct rpc_status_resp *s,
		     char *why, size_t n)
{
	const struct rpc_node_status *ns = s->nodes.v, *me = NULL;
	int64_t up = 0;
	for (uint32_t i = 0; i < s->nodes.n; i++) {
		up += is_live(&ns[i]);
		if (ns[i].id == s->leader_id && !w->have_target) {
			w->target = ns[i].commit_index;
			w->have_target = true;
		}
		if ((int64_t)ns[i].id == w->node)
			me = &ns[i];
	}
	bool ok = s->leader_id != 0 && up >= w->voters;
	if (w->node != 0)
		ok &= me != NULL && is_live(me) && w->have_target &&
		      me->applied_index >= w->target;
	size_t at =
	    (size_t)snprintf(why, n, "leader %llu, %lld of %lld nodes up",
			     (unsigned long long)s->leader_id, (long long)up,
			     (long long)w->voters);
	if (w->node != 0 && me == NULL)
		snprintf(why + at, n - at, ", node not listed");
	else if (w->node != 0)
		snprintf(why + at, n - at, ", node %s, applied %llu of %llu",
			 me->role, (unsigned long long)me->applied_index,
			 (unsigned long long)w->target);
	return ok;
}

/*
 * cluster wait: until one leader is known and (--voters N) at least N
 * nodes are leader or follower, and (--node ID) that node is leader or
 * follower with its applied index at least the leader's commit index of
 * the first answer: "back and caught up", for scripts and ansible.
 */
static int cluster_wait(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {CTL_VALUE("--node"), CTL_VALUE("--voters"),
			       CTL_VALUE("--within")};
	int npos,
	    rv = ctl_parse_flags(argc, argv, 3, f, 3, NULL, 0, &npos, usage);
	struct wait_goal w = {0, 0, 60000, 0, false};
	if (rv != 0)
		return rv;
	if (ctl_flag_int(f, 3, "--node", 1, INT64_MAX, &w.node) != 0 ||
	    ctl_flag_int(f, 3, "--voters", 1, INT64_MAX, &w.voters) != 0 ||
	    ctl_flag_int(f, 3, "--within", 0, INT64_MAX, &w.within) != 0)
		return ctl_usage_error(usage,
				       "--node and --voters take numbers "
				       ">= 1, --within milliseconds");
	int64_t start = ctl_now_ms();
	char why[256] = "no answer yet";
	for (;;) {
		struct rpc_status_req q = {false, NULL};
		struct ctl_resp r;
		ctl_call(o->bootstrap, RPC_CLUSTER_STATUS, &q, o->timeout_ms,
			 &r);
		bool ok = r.err == 0 && r.st.code == RPC_OK &&
			  wait_met(&w, r.body, why, sizeof why);
		if (r.err != 0 || r.st.code != RPC_OK)
			snprintf(why, sizeof why, "%s",
				 r.err ? rpc_strerror(r.err)
				       : (r.st.message ? r.st.message : "?"));
		ctl_resp_free(&r);
		if (ok && o->json)
			ctl_json_out(json_pack("{s:b}", "ready", 1));
		else if (ok)
			printf("ready: %s\n", why);
		if (ok)
			return 0;
		if (ctl_now_ms() - start >= w.within) {
			fprintf(stderr,
				"error: TIMEOUT: not ready after %lld ms: %s\n",
				(long long)w.within, why);
			return 1;
		}
		usleep(WAIT_POLL_US); /* bounded by --within */
	}
}

/* A stopped node leaves the Raft configuration. */
static int cluster_remove(const struct ctl_opts *o, const char *arg)
{
	int64_t id;
	char err[256];
	if (ctl_parse_int(arg, "ID", &id, err, sizeof err) != 0 || id < 1)
		return ctl_usage_error(usage, "ID must be a node id >= 1");
	const char *secret = getenv("RAFTQ_CLUSTER_SECRET");
	struct rpc_node_remove_req q = {(uint64_t)id, secret};
	int rv = ctl_request(o, RPC_NODE_REMOVE, &q, NULL);
	if (rv == 0 && o->json)
		ctl_json_out(json_pack("{s:I}", "removed", (json_int_t)id));
	else if (rv == 0)
		printf("removed node %lld\n", (long long)id);
	return rv;
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[2], "wait") == 0)
		return cluster_wait(o, argc, argv);
	if (argc == 4 && strcmp(argv[2], "remove") == 0)
		return cluster_remove(o, argv[3]);
	if (argc != 3 || strcmp(argv[2], "status") != 0)
		return ctl_usage_error(usage, "expected 'cluster status' or "
					      "'cluster remove ID'");
	struct rpc_status_req q = {false, NULL};
	return ctl_request(o, RPC_CLUSTER_STATUS, &q, ctl_print_status);
}

const struct ctl_noun ctl_cluster = {"cluster", usage, run};
