/*
 * raftqctl — raftq's admin CLI (DESIGN.md §7).
 *
 *   raftqctl [-b HOST:PORT,...] [--json] [--timeout MS] COMMAND ...
 *
 * Exit status: 0 success; 1 the cluster answered an error (stderr
 * "error: CODE: message"); 2 bad usage (bad flag, time, number).
 * --json prints one JSON document (jansson) in the shapes of DESIGN.md §7;
 * `consume --json` prints one object per message and line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../util/lz4_frame.h"
#include "ctl.h"

static const char *bootstrap = "127.0.0.1:9101";
static bool as_json;
static uint32_t timeout_ms = 10000;

/* ---- Errors and output ---- */

static int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "raftqctl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nusage: raftqctl %s\n", usage);
	va_end(ap);
	return 2;
}

/* 0 when the call succeeded; otherwise prints the error and returns 1. */
static int check(const struct ctl_resp *r)
{
	if (r->err != 0) {
		fprintf(stderr,
			"error: UNAVAILABLE: cannot reach a raftq node at %s "
			"(%s); check -b or RAFTQ_BOOTSTRAP and that raftqd "
			"runs\n",
			bootstrap, rpc_strerror(r->err));
		return 1;
	}
	if (r->st.code != RPC_OK) {
		const char *name = rpc_code_name(r->st.code);
		fprintf(stderr, "error: %s: %s\n", name ? name : "UNKNOWN",
			r->st.message ? r->st.message : "(no message)");
		return 1;
	}
	return 0;
}

static void json_out(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

static void fmt_time(int64_t ms, char *out, size_t n)
{
	if (ms < 0) {
		snprintf(out, n, "-");
		return;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char buf[32];
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03dZ", buf, (int)(ms % 1000));
}

/* ---- Flags ---- */

struct flag {
	const char *name;
	bool has_value;
	const char *value; /* set when given */
	bool given;
};

/* Parses argv[from..] into @flags and at most @npos positionals. */
static int parse_flags(int argc, char **argv, int from, struct flag *flags,
		       int nflags, const char **pos, int npos, int *got,
		       const char *usage)
{
	*got = 0;
	for (int i = from; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0) {
			if (*got >= npos)
				return usage_error(
				    usage, "unexpected argument '%s'", a);
			pos[(*got)++] = a;
			continue;
		}
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		struct flag *f = NULL;
		for (int k = 0; k < nflags; k++)
			if (strlen(flags[k].name) == len &&
			    strncmp(flags[k].name, a, len) == 0)
				f = &flags[k];
		if (f == NULL)
			return usage_error(usage, "unknown flag '%.*s'",
					   (int)len, a);
		f->given = true;
		if (!f->has_value) {
			if (eq != NULL)
				return usage_error(usage, "%s takes no value",
						   f->name);
			continue;
		}
		if (eq != NULL)
			f->value = eq + 1;
		else if (i + 1 < argc)
			f->value = argv[++i];
		else
			return usage_error(usage, "%s needs a value", f->name);
	}
	return 0;
}

static const char *flag(struct flag *flags, int n, const char *name)
{
	for (int k = 0; k < n; k++)
		if (strcmp(flags[k].name, name) == 0 && flags[k].given)
			return flags[k].value ? flags[k].value : "";
	return NULL;
}

/* Splits "a,b,c" into @out (pointing into a copy kept in @buf). */
static uint32_t split(const char *list, char *buf, size_t bufsize,
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

/* ---- cluster status ---- */

/*
 * cluster wait: until one leader is known and (--voters N) at least N
 * nodes are leader or follower, and (--node ID) that node is leader or
 * follower with its applied index at least the leader's commit index of
 * the first answer: "back and caught up", for scripts and ansible.
 */
static int cluster_wait(int argc, char **argv, const char *usage)
{
	struct flag f[] = {{"--node", true, NULL, false},
			   {"--voters", true, NULL, false},
			   {"--within", true, NULL, false}};
	const char *pos[1];
	int npos;
	int rv = parse_flags(argc, argv, 3, f, 3, pos, 0, &npos, usage);
	if (rv != 0)
		return rv;
	int64_t node = 0, voters = 0, within = 60000;
	char err[256];
	if ((flag(f, 3, "--node") &&
	     (ctl_parse_int(flag(f, 3, "--node"), "--node", &node, err,
			    sizeof err) != 0 ||
	      node < 1)) ||
	    (flag(f, 3, "--voters") &&
	     (ctl_parse_int(flag(f, 3, "--voters"), "--voters", &voters, err,
			    sizeof err) != 0 ||
	      voters < 1)) ||
	    (flag(f, 3, "--within") &&
	     (ctl_parse_int(flag(f, 3, "--within"), "--within", &within, err,
			    sizeof err) != 0 ||
	      within < 0)))
		return usage_error(usage, "--node and --voters take numbers "
					  ">= 1, --within milliseconds");
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t start = ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	uint64_t target = 0;
	bool have_target = false;
	char why[256] = "no answer yet";
	for (;;) {
		struct rpc_status_req q = {false};
		struct ctl_resp r;
		ctl_call(bootstrap, RPC_CLUSTER_STATUS, &q, timeout_ms, &r);
		if (r.err == 0 && r.st.code == RPC_OK) {
			const struct rpc_status_resp *s = r.body;
			const struct rpc_node_status *ns = s->nodes.v;
			int64_t up = 0;
			const struct rpc_node_status *me = NULL;
			for (uint32_t i = 0; i < s->nodes.n; i++) {
				bool live = strcmp(ns[i].role, "leader") == 0 ||
					    strcmp(ns[i].role, "follower") == 0;
				up += live;
				if (ns[i].id == s->leader_id && !have_target) {
					target = ns[i].commit_index;
					have_target = true;
				}
				if ((int64_t)ns[i].id == node)
					me = &ns[i];
			}
			bool ok = s->leader_id != 0 && up >= voters;
			if (node != 0)
				ok &= me != NULL &&
				      (strcmp(me->role, "leader") == 0 ||
				       strcmp(me->role, "follower") == 0) &&
				      have_target &&
				      me->applied_index >= target;
			snprintf(why, sizeof why,
				 "leader %llu, %lld of %lld nodes up%s%s",
				 (unsigned long long)s->leader_id,
				 (long long)up, (long long)voters,
				 node != 0 && me == NULL ? ", node not listed"
							 : "",
				 node != 0 && me != NULL ? ", node " : "");
			if (node != 0 && me != NULL) {
				size_t l = strlen(why);
				snprintf(why + l, sizeof why - l,
					 "%s, applied %llu of %llu", me->role,
					 (unsigned long long)me->applied_index,
					 (unsigned long long)target);
			}
			ctl_resp_free(&r);
			if (ok) {
				if (as_json)
					json_out(
					    json_pack("{s:b}", "ready", 1));
				else
					printf("ready: %s\n", why);
				return 0;
			}
		} else {
			snprintf(why, sizeof why, "%s",
				 r.err ? rpc_strerror(r.err)
				       : (r.st.message ? r.st.message : "?"));
			ctl_resp_free(&r);
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - start >= within) {
			fprintf(stderr,
				"error: TIMEOUT: not ready after %lld ms: "
				"%s\n",
				(long long)within, why);
			return 1;
		}
		usleep(200000); /* bounded by --within */
	}
}

static int cmd_cluster(int argc, char **argv)
{
	const char *usage = "cluster status | cluster remove ID | cluster wait "
			    "[--node ID] [--voters N] [--within MS]";
	if (argc >= 3 && strcmp(argv[2], "wait") == 0)
		return cluster_wait(argc, argv, usage);
	if (argc == 4 && strcmp(argv[2], "remove") == 0) {
		/* A stopped node leaves the Raft configuration. */
		int64_t id;
		char err[256];
		if (ctl_parse_int(argv[3], "ID", &id, err, sizeof err) != 0 ||
		    id < 1)
			return usage_error(usage, "ID must be a node id >= 1");
		struct rpc_node_remove_req q = {(uint64_t)id};
		struct ctl_resp r;
		ctl_call(bootstrap, RPC_NODE_REMOVE, &q, timeout_ms, &r);
		int rv = check(&r);
		ctl_resp_free(&r);
		if (rv == 0 && as_json)
			json_out(json_pack("{s:I}", "removed", (json_int_t)id));
		else if (rv == 0)
			printf("removed node %lld\n", (long long)id);
		return rv;
	}
	if (argc < 3 || strcmp(argv[2], "status") != 0 || argc > 3)
		return usage_error(usage, "expected 'cluster status' or "
					  "'cluster remove ID'");
	struct rpc_status_req q = {false};
	struct ctl_resp r;
	ctl_call(bootstrap, RPC_CLUSTER_STATUS, &q, timeout_ms, &r);
	int rv = check(&r);
	if (rv != 0) {
		ctl_resp_free(&r);
		return rv;
	}
	const struct rpc_status_resp *s = r.body;
	const struct rpc_node_status *ns = s->nodes.v;
	if (as_json) {
		json_t *nodes = json_array();
		for (uint32_t i = 0; i < s->nodes.n; i++)
			json_array_append_new(
			    nodes,
			    json_pack(
				"{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "id",
				(json_int_t)ns[i].id, "name",
				ns[i].name ? ns[i].name : "", "listen",
				ns[i].listen ? ns[i].listen : "",
				"raft_address",
				ns[i].raft_address ? ns[i].raft_address : "",
				"role", ns[i].role, "term",
				(json_int_t)ns[i].term, "commit_index",
				(json_int_t)ns[i].commit_index, "applied_index",
				(json_int_t)ns[i].applied_index));
		json_out(json_pack("{s:I,s:o}", "leader_id",
				   (json_int_t)s->leader_id, "nodes", nodes));
	} else {
		printf("%-4s %-12s %-22s %-22s %-12s %6s %8s %8s\n", "ID",
		       "NAME", "LISTEN", "RAFT", "ROLE", "TERM", "COMMIT",
		       "APPLIED");
		for (uint32_t i = 0; i < s->nodes.n; i++)
			printf("%-4llu %-12s %-22s %-22s %-12s %6llu %8llu "
			       "%8llu\n",
			       (unsigned long long)ns[i].id,
			       ns[i].name ? ns[i].name : "",
			       ns[i].listen ? ns[i].listen : "",
			       ns[i].raft_address ? ns[i].raft_address : "",
			       ns[i].role, (unsigned long long)ns[i].term,
			       (unsigned long long)ns[i].commit_index,
			       (unsigned long long)ns[i].applied_index);
		printf("leader: %llu\n", (unsigned long long)s->leader_id);
	}
	ctl_resp_free(&r);
	return 0;
}

/* `topic list` / `group list`: names, one per line, or {"KEY": [...]}. */
static int list_names(uint16_t type, const char *key)
{
	struct ctl_resp r;
	ctl_call(bootstrap, type, NULL, timeout_ms, &r);
	int rv = check(&r);
	if (rv == 0) {
		const struct rpc_names_resp *n = r.body;
		json_t *a = json_array();
		for (uint32_t i = 0; i < n->names.n; i++) {
			if (as_json)
				json_array_append_new(
				    a, json_string(n->names.v[i]));
			else
				puts(n->names.v[i]);
		}
		if (as_json)
			json_out(json_pack("{s:o}", key, a));
		else
			json_decref(a);
	}
	ctl_resp_free(&r);
	return rv;
}

/* ---- topics ---- */

static int cmd_topic(int argc, char **argv)
{
	const char *usage = "topic create T --queues N [--brokers b1,b2] | "
			    "topic list | topic describe T";
	if (argc < 3)
		return usage_error(usage, "missing topic subcommand");
	const char *sub = argv[2];
	struct flag f[] = {{"--queues", true, NULL, false},
			   {"--brokers", true, NULL, false}};
	const char *pos[1];
	int npos;
	struct ctl_resp r;
	if (strcmp(sub, "create") == 0) {
		int rv = parse_flags(argc, argv, 3, f, 2, pos, 1, &npos, usage);
		if (rv != 0)
			return rv;
		if (npos != 1 || flag(f, 2, "--queues") == NULL)
			return usage_error(usage,
					   "topic create needs a name and "
					   "--queues");
		int64_t q;
		char err[256];
		if (ctl_parse_int(flag(f, 2, "--queues"), "--queues", &q, err,
				  sizeof err) != 0 ||
		    q < 1 || q > 1024)
			return usage_error(usage, "--queues must be 1..1024");
		char buf[1024];
		const char *b[255];
		uint32_t nb = flag(f, 2, "--brokers")
				  ? split(flag(f, 2, "--brokers"), buf,
					  sizeof buf, b, 255)
				  : 0;
		struct rpc_topic_create_req in = {pos[0], (uint32_t)q, {b, nb}};
		ctl_call(bootstrap, RPC_TOPIC_CREATE, &in, timeout_ms, &r);
		rv = check(&r);
		if (rv == 0) {
			if (as_json)
				json_out(json_pack("{s:s,s:b}", "topic", pos[0],
						   "created", 1));
			else
				printf("created topic %s with %lld queues per "
				       "broker\n",
				       pos[0], (long long)q);
		}
		ctl_resp_free(&r);
		return rv;
	}
	if (strcmp(sub, "list") == 0) {
		if (argc != 3)
			return usage_error(usage,
					   "topic list takes no arguments");
		return list_names(RPC_TOPIC_LIST, "topics");
	}
	if (strcmp(sub, "describe") == 0) {
		int rv = parse_flags(argc, argv, 3, f, 0, pos, 1, &npos, usage);
		if (rv != 0)
			return rv;
		if (npos != 1)
			return usage_error(usage,
					   "topic describe needs a name");
		struct rpc_topic_req in = {pos[0]};
		ctl_call(bootstrap, RPC_TOPIC_DESCRIBE, &in, timeout_ms, &r);
		rv = check(&r);
		if (rv == 0) {
			const struct rpc_topic_describe_resp *t = r.body;
			const struct rpc_queue_info *q = t->queues.v;
			json_t *a = json_array();
			if (!as_json)
				printf("%-14s %5s %12s %12s  %-24s  %-24s\n",
				       "BROKER", "QUEUE", "MIN_OFFSET",
				       "MAX_OFFSET", "FIRST_STORE_TIME",
				       "LAST_STORE_TIME");
			for (uint32_t i = 0; i < t->queues.n; i++) {
				if (as_json) {
					json_array_append_new(
					    a, json_pack(
						   "{s:s,s:I,s:I,s:I,s:I,"
						   "s:I}",
						   "broker_name",
						   q[i].broker_name, "queue_id",
						   (json_int_t)q[i].queue_id,
						   "min_offset",
						   (json_int_t)q[i].min_offset,
						   "max_offset",
						   (json_int_t)q[i].max_offset,
						   "first_store_time",
						   (json_int_t)q[i]
						       .first_store_time,
						   "last_store_time",
						   (json_int_t)q[i]
						       .last_store_time));
					continue;
				}
				char t1[40], t2[40];
				fmt_time(q[i].first_store_time, t1, sizeof t1);
				fmt_time(q[i].last_store_time, t2, sizeof t2);
				printf(
				    "%-14s %5u %12llu %12llu  %-24s  %-24s\n",
				    q[i].broker_name, q[i].queue_id,
				    (unsigned long long)q[i].min_offset,
				    (unsigned long long)q[i].max_offset, t1,
				    t2);
			}
			if (as_json)
				json_out(json_pack("{s:s,s:o}", "topic",
						   t->topic, "queues", a));
			else
				json_decref(a);
		}
		ctl_resp_free(&r);
		return rv;
	}
	return usage_error(usage, "unknown topic subcommand '%s'", sub);
}

/* ---- groups ---- */

static int cmd_group(int argc, char **argv)
{
	const char *usage = "group create G [--mode clustering|broadcasting] "
			    "[--initial latest|earliest] | group list | group "
			    "describe G";
	if (argc < 3)
		return usage_error(usage, "missing group subcommand");
	const char *sub = argv[2];
	struct flag f[] = {{"--mode", true, NULL, false},
			   {"--initial", true, NULL, false}};
	const char *pos[1];
	int npos;
	struct ctl_resp r;
	int rv;
	if (strcmp(sub, "create") == 0) {
		rv = parse_flags(argc, argv, 3, f, 2, pos, 1, &npos, usage);
		if (rv != 0)
			return rv;
		if (npos != 1)
			return usage_error(usage, "group create needs a name");
		const char *mode = flag(f, 2, "--mode");
		const char *initial = flag(f, 2, "--initial");
		if (mode && strcmp(mode, "clustering") != 0 &&
		    strcmp(mode, "broadcasting") != 0)
			return usage_error(usage,
					   "--mode is clustering or "
					   "broadcasting, not '%s'",
					   mode);
		if (initial && strcmp(initial, "latest") != 0 &&
		    strcmp(initial, "earliest") != 0)
			return usage_error(usage,
					   "--initial is latest or earliest, "
					   "not '%s'",
					   initial);
		struct rpc_group_create_req in = {pos[0], mode, initial};
		ctl_call(bootstrap, RPC_GROUP_CREATE, &in, timeout_ms, &r);
		rv = check(&r);
		if (rv == 0) {
			if (as_json)
				json_out(json_pack("{s:s,s:b}", "group", pos[0],
						   "created", 1));
			else
				printf("created group %s (%s)\n", pos[0],
				       mode ? mode : "clustering");
		}
		ctl_resp_free(&r);
		return rv;
	}
	if (strcmp(sub, "list") == 0) {
		if (argc != 3)
			return usage_error(usage,
					   "group list takes no arguments");
		return list_names(RPC_GROUP_LIST, "groups");
	}
	if (strcmp(sub, "describe") == 0) {
		rv = parse_flags(argc, argv, 3, f, 0, pos, 1, &npos, usage);
		if (rv != 0)
			return rv;
		if (npos != 1)
			return usage_error(usage,
					   "group describe needs a name");
		struct rpc_group_req in = {pos[0]};
		ctl_call(bootstrap, RPC_GROUP_DESCRIBE, &in, timeout_ms, &r);
		rv = check(&r);
		if (rv != 0) {
			ctl_resp_free(&r);
			return rv;
		}
		const struct rpc_group_describe_resp *d = r.body;
		const struct rpc_group_topic_info *t = d->topics.v;
		const struct rpc_member_info *m = d->members.v;
		if (as_json) {
			json_t *topics = json_array(), *members = json_array();
			for (uint32_t i = 0; i < d->topics.n; i++) {
				json_t *qs = json_array();
				const struct rpc_lag_info *q = t[i].queues.v;
				for (uint32_t k = 0; k < t[i].queues.n; k++)
					json_array_append_new(
					    qs,
					    json_pack(
						"{s:s,s:I,s:I,s:I,s:I}",
						"broker_name", q[k].broker_name,
						"queue_id",
						(json_int_t)q[k].queue_id,
						"consumer_offset",
						(json_int_t)q[k]
						    .consumer_offset,
						"max_offset",
						(json_int_t)q[k].max_offset,
						"lag", (json_int_t)q[k].lag));
				json_array_append_new(
				    topics, json_pack("{s:s,s:I,s:o}", "topic",
						      t[i].topic, "epoch",
						      (json_int_t)t[i].epoch,
						      "queues", qs));
			}
			for (uint32_t i = 0; i < d->members.n; i++) {
				json_t *qs = json_array();
				for (uint32_t k = 0; k < m[i].queues.n; k++)
					json_array_append_new(
					    qs, json_string(m[i].queues.v[k]));
				json_array_append_new(
				    members,
				    json_pack("{s:s,s:s,s:o}", "member_id",
					      m[i].member_id, "client",
					      m[i].client ? m[i].client : "",
					      "queues", qs));
			}
			json_out(json_pack("{s:s,s:s,s:o,s:o}", "group",
					   d->group, "mode", d->mode, "topics",
					   topics, "members", members));
		} else {
			printf("group %s (%s)\n", d->group, d->mode);
			for (uint32_t i = 0; i < d->topics.n; i++) {
				printf("\ntopic %s  epoch %llu\n", t[i].topic,
				       (unsigned long long)t[i].epoch);
				printf("%-14s %5s %16s %12s %8s\n", "BROKER",
				       "QUEUE", "CONSUMER_OFFSET", "MAX_OFFSET",
				       "LAG");
				const struct rpc_lag_info *q = t[i].queues.v;
				for (uint32_t k = 0; k < t[i].queues.n; k++)
					printf(
					    "%-14s %5u %16llu %12llu %8llu\n",
					    q[k].broker_name, q[k].queue_id,
					    (unsigned long long)q[k]
						.consumer_offset,
					    (unsigned long long)q[k].max_offset,
					    (unsigned long long)q[k].lag);
			}
			printf("\nonline members: %u\n", d->members.n);
			for (uint32_t i = 0; i < d->members.n; i++)
				printf("  %s (%s): %u queues\n", m[i].member_id,
				       m[i].client ? m[i].client : "",
				       m[i].queues.n);
		}
		ctl_resp_free(&r);
		return 0;
	}
	return usage_error(usage, "unknown group subcommand '%s'", sub);
}

/* ---- offsets ---- */

static void print_reset(const struct rpc_reset_resp *x)
{
	const struct rpc_reset_queue *q = x->queues.v;
	if (as_json) {
		json_t *a = json_array();
		for (uint32_t i = 0; i < x->queues.n; i++)
			json_array_append_new(
			    a, json_pack("{s:s,s:I,s:I}", "broker_name",
					 q[i].broker_name, "queue_id",
					 (json_int_t)q[i].queue_id,
					 "timestamp_offset",
					 (json_int_t)q[i].timestamp_offset));
		json_out(json_pack("{s:o,s:I,s:I,s:b}", "queues", a, "reset_id",
				   (json_int_t)x->reset_id, "epoch",
				   (json_int_t)x->epoch, "dry_run",
				   x->dry_run));
		return;
	}
	if (x->dry_run)
		printf("dry run: nothing was changed (epoch stays %llu)\n",
		       (unsigned long long)x->epoch);
	else
		printf("reset %llu applied: epoch %llu\n",
		       (unsigned long long)x->reset_id,
		       (unsigned long long)x->epoch);
	printf("%-14s %5s %16s\n", "BROKER", "QUEUE", "OFFSET");
	for (uint32_t i = 0; i < x->queues.n; i++)
		printf("%-14s %5u %16llu\n", q[i].broker_name, q[i].queue_id,
		       (unsigned long long)q[i].timestamp_offset);
}

static int cmd_offset(int argc, char **argv)
{
	const char *usage =
	    "offset reset --group G --topic T (--to-latest | --to-earliest "
	    "| --to-time \"YYYY-MM-DD HH:MM:SS\" [--tz +HH:MM] | "
	    "--to-timestamp MS | --to-offset N | --shift-by N | "
	    "--by-duration 90m) [--queues broker-1:0,...] [--dry-run] "
	    "[--require-inactive] | offset history --group G --topic T | "
	    "offset undo ID";
	if (argc < 3)
		return usage_error(usage, "missing offset subcommand");
	const char *sub = argv[2];
	struct flag f[] = {
	    {"--group", true, NULL, false},
	    {"--topic", true, NULL, false},
	    {"--to-latest", false, NULL, false},
	    {"--to-earliest", false, NULL, false},
	    {"--to-time", true, NULL, false},
	    {"--tz", true, NULL, false},
	    {"--to-timestamp", true, NULL, false},
	    {"--to-offset", true, NULL, false},
	    {"--shift-by", true, NULL, false},
	    {"--by-duration", true, NULL, false},
	    {"--queues", true, NULL, false},
	    {"--dry-run", false, NULL, false},
	    {"--require-inactive", false, NULL, false},
	};
	const int nf = (int)(sizeof f / sizeof f[0]);
	const char *pos[1];
	int npos;
	char err[256];
	struct ctl_resp r;
	int rv;
	char who[128];
	snprintf(who, sizeof who, "%s@%s",
		 getenv("USER") ? getenv("USER") : "operator", "raftqctl");
	if (strcmp(sub, "undo") == 0) {
		rv = parse_flags(argc, argv, 3, f, 0, pos, 1, &npos, usage);
		if (rv != 0)
			return rv;
		int64_t id;
		if (npos != 1 ||
		    ctl_parse_int(pos[0], "reset id", &id, err, sizeof err) !=
			0 ||
		    id < 1)
			return usage_error(usage,
					   "offset undo needs a reset id (from "
					   "offset history)");
		struct rpc_undo_req in = {(uint64_t)id, who};
		ctl_call(bootstrap, RPC_UNDO, &in, timeout_ms, &r);
		rv = check(&r);
		if (rv == 0)
			print_reset(r.body);
		ctl_resp_free(&r);
		return rv;
	}
	rv = parse_flags(argc, argv, 3, f, nf, pos, 0, &npos, usage);
	if (rv != 0)
		return rv;
	const char *group = flag(f, nf, "--group");
	const char *topic = flag(f, nf, "--topic");
	if (group == NULL || topic == NULL)
		return usage_error(usage, "--group and --topic are required");
	if (strcmp(sub, "history") == 0) {
		struct rpc_history_req in = {group, topic};
		ctl_call(bootstrap, RPC_HISTORY, &in, timeout_ms, &r);
		rv = check(&r);
		if (rv != 0) {
			ctl_resp_free(&r);
			return rv;
		}
		const struct rpc_history_resp *h = r.body;
		const struct rpc_history_entry *e = h->resets.v;
		json_t *a = json_array();
		for (uint32_t i = 0; i < h->resets.n; i++) {
			const struct rpc_history_queue *q = e[i].queues.v;
			char when[40];
			fmt_time(e[i].time, when, sizeof when);
			if (!as_json) {
				char val[48];
				if (strcmp(e[i].target, "time") == 0)
					fmt_time(e[i].value, val, sizeof val);
				else if (strcmp(e[i].target, "duration") == 0)
					snprintf(val, sizeof val, "%llds back",
						 (long long)e[i].value / 1000);
				else if (strcmp(e[i].target, "latest") == 0 ||
					 strcmp(e[i].target, "earliest") == 0)
					val[0] = '\0';
				else
					snprintf(val, sizeof val, "%lld",
						 (long long)e[i].value);
				printf("reset %llu  %s  by %s  target %s %s  "
				       "epoch %llu\n",
				       (unsigned long long)e[i].reset_id, when,
				       e[i].requester ? e[i].requester : "",
				       e[i].target, val,
				       (unsigned long long)e[i].epoch);
			}
			json_t *qs = json_array();
			for (uint32_t k = 0; k < e[i].queues.n; k++) {
				if (as_json) {
					json_t *prev =
					    q[k].previous_offset == UINT64_MAX
						? json_null()
						: json_integer(
						      (json_int_t)q[k]
							  .previous_offset);
					json_array_append_new(
					    qs,
					    json_pack(
						"{s:s,s:I,s:o,s:I,s:I,"
						"s:I,s:b}",
						"broker_name", q[k].broker_name,
						"queue_id",
						(json_int_t)q[k].queue_id,
						"previous_offset", prev,
						"timestamp_offset",
						(json_int_t)q[k]
						    .timestamp_offset,
						"min_offset",
						(json_int_t)q[k].min_offset,
						"max_offset",
						(json_int_t)q[k].max_offset,
						"clamped", q[k].clamped));
					continue;
				}
				char prev[24];
				if (q[k].previous_offset == UINT64_MAX)
					snprintf(prev, sizeof prev, "-");
				else
					snprintf(prev, sizeof prev, "%llu",
						 (unsigned long long)q[k]
						     .previous_offset);
				printf(
				    "  %-14s %3u  %12s -> %-12llu [%llu, "
				    "%llu]%s\n",
				    q[k].broker_name, q[k].queue_id, prev,
				    (unsigned long long)q[k].timestamp_offset,
				    (unsigned long long)q[k].min_offset,
				    (unsigned long long)q[k].max_offset,
				    q[k].clamped ? " clamped" : "");
			}
			if (as_json)
				json_array_append_new(
				    a, json_pack(
					   "{s:I,s:I,s:s,s:s,s:s,s:s,s:I,"
					   "s:b,s:o}",
					   "reset_id",
					   (json_int_t)e[i].reset_id, "time",
					   (json_int_t)e[i].time, "requester",
					   e[i].requester ? e[i].requester : "",
					   "group", e[i].group, "topic",
					   e[i].topic, "target", e[i].target,
					   "value", (json_int_t)e[i].value,
					   "dry_run", 0, "queues", qs));
			else
				json_decref(qs);
		}
		if (as_json)
			json_out(json_pack("{s:o}", "resets", a));
		else
			json_decref(a);
		ctl_resp_free(&r);
		return 0;
	}
	if (strcmp(sub, "reset") != 0)
		return usage_error(usage, "unknown offset subcommand '%s'",
				   sub);
	/* Exactly one target. */
	const char *target = NULL;
	int64_t value = 0;
	int targets = 0;
	if (flag(f, nf, "--to-latest")) {
		target = "latest";
		targets++;
	}
	if (flag(f, nf, "--to-earliest")) {
		target = "earliest";
		targets++;
	}
	if (flag(f, nf, "--to-time")) {
		target = "time";
		targets++;
		if (ctl_parse_time(flag(f, nf, "--to-time"),
				   flag(f, nf, "--tz"), &value, err,
				   sizeof err) != 0)
			return usage_error(usage, "--to-time: %s", err);
	} else if (flag(f, nf, "--tz")) {
		return usage_error(usage, "--tz goes with --to-time");
	}
	if (flag(f, nf, "--to-timestamp")) {
		target = "time";
		targets++;
		if (ctl_parse_int(flag(f, nf, "--to-timestamp"),
				  "--to-timestamp", &value, err,
				  sizeof err) != 0 ||
		    value < 0)
			return usage_error(usage, "--to-timestamp takes epoch "
						  "milliseconds");
	}
	if (flag(f, nf, "--to-offset")) {
		target = "offset";
		targets++;
		if (ctl_parse_int(flag(f, nf, "--to-offset"), "--to-offset",
				  &value, err, sizeof err) != 0 ||
		    value < 0)
			return usage_error(usage,
					   "--to-offset takes an offset >= 0");
	}
	if (flag(f, nf, "--shift-by")) {
		target = "shift";
		targets++;
		if (ctl_parse_int(flag(f, nf, "--shift-by"), "--shift-by",
				  &value, err, sizeof err) != 0)
			return usage_error(usage, "%s", err);
	}
	if (flag(f, nf, "--by-duration")) {
		target = "duration";
		targets++;
		if (ctl_parse_duration(flag(f, nf, "--by-duration"), &value,
				       err, sizeof err) != 0)
			return usage_error(usage, "--by-duration: %s", err);
	}
	if (targets != 1)
		return usage_error(usage,
				   "give exactly one reset target (%d "
				   "given)",
				   targets);
	char buf[2048];
	const char *qs[1024];
	uint32_t nq = flag(f, nf, "--queues") ? split(flag(f, nf, "--queues"),
						      buf, sizeof buf, qs, 1024)
					      : 0;
	struct rpc_reset_req in = {group,
				   topic,
				   target,
				   value,
				   {qs, nq},
				   flag(f, nf, "--dry-run") != NULL,
				   flag(f, nf, "--require-inactive") != NULL,
				   who};
	ctl_call(bootstrap, RPC_RESET, &in, timeout_ms, &r);
	rv = check(&r);
	if (rv == 0)
		print_reset(r.body);
	ctl_resp_free(&r);
	return rv;
}

/* ---- produce / consume ---- */

struct route {
	struct ctl_resp r;
	const struct rpc_topic_info *topic;
	const struct rpc_route_resp *rt;
};

static const char *broker_addr(const struct route *ro, const char *name)
{
	const struct rpc_broker_info *b = ro->rt->brokers.v;
	for (uint32_t i = 0; i < ro->rt->brokers.n; i++)
		if (strcmp(b[i].name, name) == 0)
			return b[i].listen;
	return NULL;
}

static int load_route(struct route *ro, const char *topic)
{
	ctl_call(bootstrap, RPC_ROUTE, NULL, timeout_ms, &ro->r);
	int rv = check(&ro->r);
	if (rv != 0)
		return rv;
	ro->rt = ro->r.body;
	const struct rpc_topic_info *t = ro->rt->topics.v;
	for (uint32_t i = 0; i < ro->rt->topics.n; i++)
		if (strcmp(t[i].name, topic) == 0)
			ro->topic = &t[i];
	if (ro->topic == NULL) {
		fprintf(stderr,
			"error: UNKNOWN_TOPIC: topic '%s' does not "
			"exist\n",
			topic);
		return 1;
	}
	return 0;
}

struct pending {
	uint8_t *buf;
	size_t len, cap;
	uint32_t count;
};

static int flush_queue(const struct route *ro, uint32_t qi, struct pending *p,
		       uint64_t *sent)
{
	if (p->count == 0)
		return 0;
	uint32_t qpb = ro->topic->queues_per_broker;
	const char *broker = ro->topic->brokers.v[qi / qpb];
	const char *addr = broker_addr(ro, broker);
	if (addr == NULL) {
		fprintf(stderr, "error: UNAVAILABLE: no address for %s\n",
			broker);
		return 1;
	}
	struct rpc_produce_req in = {
	    ro->topic->name, qi % qpb, p->count, 0, {p->buf, (uint32_t)p->len}};
	struct ctl_resp r;
	ctl_call_one(addr, RPC_PRODUCE, &in, timeout_ms, &r);
	int rv = check(&r);
	ctl_resp_free(&r);
	if (rv == 0)
		*sent += p->count;
	p->len = 0;
	p->count = 0;
	return rv;
}

static int add_record(struct pending *p, const char *key, const char *body,
		      size_t blen)
{
	size_t need = rpc_record_size(key ? strlen(key) : 0, key != NULL, blen);
	if (p->len + need > p->cap) {
		size_t cap = (p->cap + need) * 2;
		uint8_t *b = realloc(p->buf, cap);
		if (b == NULL)
			return -1;
		p->buf = b;
		p->cap = cap;
	}
	p->len += rpc_record_put(p->buf + p->len, key, key ? strlen(key) : 0,
				 body, blen);
	p->count++;
	return 0;
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static int cmd_produce(int argc, char **argv)
{
	const char *usage = "produce --topic T [--key K] [--count N --size B] "
			    "(stdin lines otherwise)";
	struct flag f[] = {{"--topic", true, NULL, false},
			   {"--key", true, NULL, false},
			   {"--count", true, NULL, false},
			   {"--size", true, NULL, false}};
	const char *pos[1];
	int npos;
	int rv = parse_flags(argc, argv, 2, f, 4, pos, 0, &npos, usage);
	if (rv != 0)
		return rv;
	const char *topic = flag(f, 4, "--topic");
	const char *key = flag(f, 4, "--key");
	if (topic == NULL)
		return usage_error(usage, "--topic is required");
	int64_t count = -1, size = 100;
	char err[256];
	if (flag(f, 4, "--count") &&
	    (ctl_parse_int(flag(f, 4, "--count"), "--count", &count, err,
			   sizeof err) != 0 ||
	     count < 1))
		return usage_error(usage, "--count must be >= 1");
	if (flag(f, 4, "--size") &&
	    (ctl_parse_int(flag(f, 4, "--size"), "--size", &size, err,
			   sizeof err) != 0 ||
	     size < 0 || size > (1 << 20)))
		return usage_error(usage, "--size must be 0..1048576");
	struct route ro = {0};
	rv = load_route(&ro, topic);
	if (rv != 0) {
		ctl_resp_free(&ro.r);
		return rv;
	}
	uint32_t nq = ro.topic->brokers.n * ro.topic->queues_per_broker;
	struct pending *pend = calloc(nq, sizeof *pend);
	uint64_t sent = 0, n = 0;
	uint32_t rr = 0;
	char *line = NULL;
	size_t cap = 0;
	char *body = size > 0 ? malloc((size_t)size) : NULL;
	for (;;) {
		const char *b;
		size_t blen;
		ssize_t got = 0;
		if (count >= 0) {
			if ((int64_t)n == count)
				break;
			for (int64_t i = 0; i < size; i++)
				body[i] = (char)('a' + (n + (uint64_t)i) % 26);
			b = body ? body : "";
			blen = (size_t)size;
		} else {
			got = getline(&line, &cap, stdin);
			if (got < 0)
				break;
			if (got > 0 && line[got - 1] == '\n')
				got--;
			b = line;
			blen = (size_t)got;
		}
		uint32_t qi = key ? hash(key) % nq : rr++ % nq;
		if (add_record(&pend[qi], key, b, blen) != 0) {
			rv = 1;
			break;
		}
		n++;
		if (pend[qi].count >= 1000 || pend[qi].len >= (1u << 20))
			if ((rv = flush_queue(&ro, qi, &pend[qi], &sent)) != 0)
				break;
	}
	for (uint32_t i = 0; i < nq && rv == 0; i++)
		rv = flush_queue(&ro, i, &pend[i], &sent);
	if (rv == 0) {
		if (as_json)
			json_out(json_pack("{s:s,s:I}", "topic", topic,
					   "produced", (json_int_t)sent));
		else
			printf("produced %llu messages to %s\n",
			       (unsigned long long)sent, topic);
	}
	for (uint32_t i = 0; i < nq; i++)
		free(pend[i].buf);
	free(pend);
	free(line);
	free(body);
	ctl_resp_free(&ro.r);
	return rv;
}

static void print_message(const char *broker, uint32_t q, uint64_t off,
			  int64_t t, const struct rpc_record *rec)
{
	char when[40];
	fmt_time(t, when, sizeof when);
	if (!as_json) {
		printf("%-10s %3u %8llu  %s  %.*s\n", broker, q,
		       (unsigned long long)off, when, (int)rec->body_len,
		       (const char *)rec->body);
		return;
	}
	json_t *key = rec->key
			  ? json_stringn((const char *)rec->key, rec->key_len)
			  : json_null();
	json_t *body = json_stringn((const char *)rec->body, rec->body_len);
	if (body == NULL)
		body = json_string("(binary)");
	if (key == NULL)
		key = json_string("(binary)");
	json_out(json_pack("{s:s,s:I,s:I,s:I,s:o,s:o}", "broker_name", broker,
			   "queue_id", (json_int_t)q, "offset", (json_int_t)off,
			   "store_time", (json_int_t)t, "key", key, "body",
			   body));
}

static int cmd_consume(int argc, char **argv)
{
	const char *usage =
	    "consume --group G --topic T [--count N] [--timeout MS]";
	struct flag f[] = {{"--group", true, NULL, false},
			   {"--topic", true, NULL, false},
			   {"--count", true, NULL, false},
			   {"--timeout", true, NULL, false}};
	const char *pos[1];
	int npos;
	int rv = parse_flags(argc, argv, 2, f, 4, pos, 0, &npos, usage);
	if (rv != 0)
		return rv;
	const char *group = flag(f, 4, "--group");
	const char *topic = flag(f, 4, "--topic");
	if (group == NULL || topic == NULL)
		return usage_error(usage, "--group and --topic are required");
	int64_t want = INT64_MAX, wait_ms = 3000;
	char err[256];
	if (flag(f, 4, "--count") &&
	    (ctl_parse_int(flag(f, 4, "--count"), "--count", &want, err,
			   sizeof err) != 0 ||
	     want < 1))
		return usage_error(usage, "--count must be >= 1");
	if (flag(f, 4, "--timeout") &&
	    (ctl_parse_int(flag(f, 4, "--timeout"), "--timeout", &wait_ms, err,
			   sizeof err) != 0 ||
	     wait_ms < 0))
		return usage_error(usage, "--timeout takes milliseconds");
	struct route ro = {0};
	rv = load_route(&ro, topic);
	if (rv != 0) {
		ctl_resp_free(&ro.r);
		return rv;
	}
	struct rpc_offsets_req oq = {group, topic};
	struct ctl_resp o;
	ctl_call(bootstrap, RPC_OFFSETS, &oq, timeout_ms, &o);
	if ((rv = check(&o)) != 0) {
		ctl_resp_free(&o);
		ctl_resp_free(&ro.r);
		return rv;
	}
	const struct rpc_offsets_resp *os = o.body;
	uint32_t nq = os->queues.n;
	uint64_t epoch = os->epoch;
	struct cursor {
		char broker[128];
		uint32_t q;
		uint64_t at, committed;
	} *cur = calloc(nq ? nq : 1, sizeof *cur);
	const struct rpc_offset_info *oi = os->queues.v;
	for (uint32_t i = 0; i < nq; i++) {
		snprintf(cur[i].broker, sizeof cur[i].broker, "%s",
			 oi[i].broker_name);
		cur[i].q = oi[i].queue_id;
		cur[i].at = cur[i].committed = oi[i].offset;
	}
	ctl_resp_free(&o);
	int64_t got = 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t deadline = ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + wait_ms;
	while (got < want && rv == 0) {
		bool any = false;
		for (uint32_t i = 0; i < nq && got < want && rv == 0; i++) {
			const char *addr = broker_addr(&ro, cur[i].broker);
			if (addr == NULL)
				continue;
			struct rpc_fetch_req fr = {group,     topic, cur[i].q,
						   cur[i].at, epoch, 1u << 20};
			struct ctl_resp r;
			ctl_call_one(addr, RPC_FETCH, &fr, timeout_ms, &r);
			if (r.err == 0 && r.st.code == RPC_OFFSET_MOVED) {
				/* Reset meanwhile: resume where it says. */
				const struct rpc_fetch_resp *x = r.body;
				cur[i].at = cur[i].committed = x->offset;
				epoch = x->epoch;
				ctl_resp_free(&r);
				continue;
			}
			if ((rv = check(&r)) != 0) {
				ctl_resp_free(&r);
				break;
			}
			const struct rpc_fetch_resp *x = r.body;
			size_t bp = 0;
			struct rpc_batch bt;
			while (got < want &&
			       rpc_batch_next(x->batches.ptr, x->batches.len,
					      &bp, &bt) == 1) {
				const uint8_t *pl = bt.payload;
				size_t plen = bt.payload_len;
				uint8_t *plain = NULL;
				if (bt.flags & RPC_BATCH_LZ4) {
					plain = lzf_decode(pl, plen, &plen);
					if (plain == NULL) {
						fprintf(
						    stderr,
						    "error: MALFORMED: %s "
						    "queue %u: a bad lz4 "
						    "batch at offset %llu\n",
						    cur[i].broker, cur[i].q,
						    (unsigned long long)
							bt.base_offset);
						rv = 1;
						break;
					}
					pl = plain;
				}
				size_t rp = 0;
				struct rpc_record rec;
				uint64_t off = bt.base_offset;
				while (got < want &&
				       rpc_record_next(pl, plen, &rp, &rec) ==
					   1) {
					if (off >= cur[i].at) {
						print_message(
						    cur[i].broker, cur[i].q,
						    off, bt.store_time, &rec);
						got++;
						cur[i].at = off + 1;
						any = true;
					}
					off++;
				}
				free(plain);
			}
			ctl_resp_free(&r);
		}
		if (!any) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			if (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 >= deadline)
				break;
			usleep(
			    100000); /* poll interval, bounded by --timeout */
		}
	}
	/* Commit what was consumed, under the epoch read. */
	struct rpc_commit_item *items = calloc(nq ? nq : 1, sizeof *items);
	uint32_t ni = 0;
	for (uint32_t i = 0; i < nq; i++)
		if (cur[i].at != cur[i].committed)
			items[ni++] = (struct rpc_commit_item){
			    topic, cur[i].broker, cur[i].q, cur[i].at, epoch};
	if (ni > 0 && rv == 0) {
		struct rpc_commit_req c = {group, "raftqctl", {items, ni}};
		struct ctl_resp r;
		ctl_call(bootstrap, RPC_COMMIT, &c, timeout_ms, &r);
		rv = check(&r);
		ctl_resp_free(&r);
	}
	if (!as_json && rv == 0) {
		fflush(stdout); /* the messages first */
		fprintf(stderr, "consumed %lld messages\n", (long long)got);
	}
	free(items);
	free(cur);
	ctl_resp_free(&ro.r);
	return rv;
}

static void usage_all(FILE *out)
{
	fprintf(out,
		"usage: raftqctl [-b HOST:PORT,...] [--json] [--timeout MS] "
		"COMMAND\n\n"
		"  cluster status | cluster remove ID\n"
		"  cluster wait [--node ID] [--voters N] [--within MS]\n"
		"  topic create T --queues N [--brokers b1,b2] | topic list | "
		"topic describe T\n"
		"  group create G [--mode clustering|broadcasting] [--initial "
		"latest|earliest]\n"
		"  group list | group describe G\n"
		"  offset reset --group G --topic T (--to-latest | "
		"--to-earliest |\n"
		"      --to-time \"YYYY-MM-DD HH:MM:SS\" [--tz +HH:MM] | "
		"--to-timestamp MS |\n"
		"      --to-offset N | --shift-by N | --by-duration 90m)\n"
		"      [--queues broker-1:0,broker-2:1] [--dry-run] "
		"[--require-inactive]\n"
		"  offset history --group G --topic T | offset undo ID\n"
		"  produce --topic T [--key K] [--count N --size B]   (stdin "
		"lines otherwise)\n"
		"  consume --group G --topic T [--count N] [--timeout MS]\n\n"
		"-b defaults to $RAFTQ_BOOTSTRAP, then 127.0.0.1:9101. Exit "
		"status: 0 ok, 1 error\nfrom the cluster (\"error: CODE: "
		"message\" on stderr), 2 bad usage.\n");
}

int main(int argc, char **argv)
{
	if (getenv("RAFTQ_BOOTSTRAP") && *getenv("RAFTQ_BOOTSTRAP"))
		bootstrap = getenv("RAFTQ_BOOTSTRAP");
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-b") == 0 && i + 1 < argc)
			bootstrap = argv[++i];
		else if (strncmp(argv[i], "--bootstrap=", 12) == 0)
			bootstrap = argv[i] + 12;
		else if (strcmp(argv[i], "--json") == 0)
			as_json = true;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v <= 0) {
				fprintf(stderr, "raftqctl: --timeout takes "
						"milliseconds > 0\n");
				return 2;
			}
			timeout_ms = (uint32_t)v;
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			usage_all(stdout);
			return 0;
		} else
			break;
	}
	if (i >= argc) {
		usage_all(stderr);
		return 2;
	}
	/* Shift so that argv[1] is the command. */
	argc -= i - 1;
	argv += i - 1;
	for (int k = 2; k < argc; k++)
		if (strcmp(argv[k], "--help") == 0) {
			usage_all(stdout);
			return 0;
		}
	const char *cmd = argv[1];
	if (strcmp(cmd, "cluster") == 0)
		return cmd_cluster(argc, argv);
	if (strcmp(cmd, "topic") == 0)
		return cmd_topic(argc, argv);
	if (strcmp(cmd, "group") == 0)
		return cmd_group(argc, argv);
	if (strcmp(cmd, "offset") == 0)
		return cmd_offset(argc, argv);
	if (strcmp(cmd, "produce") == 0)
		return cmd_produce(argc, argv);
	if (strcmp(cmd, "consume") == 0)
		return cmd_consume(argc, argv);
	fprintf(stderr, "raftqctl: unknown command '%s'\n", cmd);
	usage_all(stderr);
	return 2;
}
