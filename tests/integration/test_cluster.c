/*
 * A real 3-process cluster on loopback: forming, status, changes through
 * the leader, kill -9 failover, restart and catch-up, clean SIGTERM,
 * the data-dir lock, and a node joining with --join.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "../unit/test_util.h"
#include "harness.h"

static int setup(void **state)
{
	*state = h_fixture(sizeof(struct harness), 3, false);
	return *state ? 0 : -1;
}

static int leader_or_dump(struct harness *h, int want)
{
	int l = h_wait_leader(h, want, 15000);
	if (l < 0) {
		for (int i = 0; i < h->n; i++)
			h_dump_log(h, i);
		fail_msg("no agreed leader within 15 s");
	}
	return l;
}

static uint32_t create_topic(const char *addr, const char *name,
			     const char **leader_out)
{
	struct rpc_topic_create_req q = {name, 4, {NULL, 0}, 0, 0};
	struct ctl_resp r;
	h_call(addr, RPC_TOPIC_CREATE, &q, 5000, &r);
	assert_int_equal(r.err, 0);
	uint32_t code = r.st.code;
	static char leader[64];
	leader[0] = '\0';
	if (r.st.leader)
		snprintf(leader, sizeof leader, "%s", r.st.leader);
	if (leader_out)
		*leader_out = leader;
	ctl_resp_free(&r);
	return code;
}

/* Waits until node @i lists @topic (followers apply a little later). */
static void test_cluster_forms_and_reports_status(void **state)
{
	struct harness *h = *state;
	int l = leader_or_dump(h, 3);
	struct ctl_resp r;
	struct rpc_status_req q = {false, NULL};
	h_call(h->nodes[(l + 1) % 3].listen, RPC_CLUSTER_STATUS, &q, 2000, &r);
	assert_int_equal(r.err, 0);
	const struct rpc_status_resp *s = r.body;
	assert_int_equal(s->leader_id, (uint64_t)l + 1);
	assert_int_equal(s->nodes.n, 3);
	const struct rpc_node_status *ns = s->nodes.v;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ns[i].id, i + 1);
		char name[32];
		snprintf(name, sizeof name, "broker-%d", i + 1);
		assert_string_equal(ns[i].name, name);
		assert_string_equal(ns[i].listen, h->nodes[i].listen);
		assert_string_equal(ns[i].raft_address, h->nodes[i].raft);
		assert_string_equal(ns[i].role, i == l ? "leader" : "follower");
		assert_int_equal(ns[i].term, ns[l].term);
		assert_true(ns[i].applied_index >= 4); /* config + 3 brokers */
	}
	ctl_resp_free(&r);
	/* ROUTE names the leader's client address. */
	h_call(h->nodes[(l + 2) % 3].listen, RPC_ROUTE, NULL, 2000, &r);
	assert_int_equal(r.err, 0);
	const struct rpc_route_resp *rt = r.body;
	assert_int_equal(rt->leader_id, (uint64_t)l + 1);
	assert_non_null(rt->leader_address);
	assert_string_equal(rt->leader_address, h->nodes[l].listen);
	assert_int_equal(rt->brokers.n, 3);
	ctl_resp_free(&r);
}

static void test_cluster_changes_go_through_the_leader(void **state)
{
	struct harness *h = *state;
	int l = leader_or_dump(h, 3);
	int f = (l + 1) % 3;
	const char *leader = NULL;
	assert_int_equal(create_topic(h->nodes[f].listen, "orders", &leader),
			 RPC_NOT_LEADER);
	assert_string_equal(leader, h->nodes[l].listen);
	assert_int_equal(create_topic(h->nodes[l].listen, "orders", NULL),
			 RPC_OK);
	for (int i = 0; i < 3; i++)
		assert_true(h_lists_topic(h, i, "orders", 5000));
	assert_int_equal(create_topic(h->nodes[l].listen, "orders", NULL),
			 RPC_ALREADY_EXISTS);
	/* Bad input gets a clear error. */
	struct rpc_topic_create_req bad = {"no spaces", 4, {NULL, 0}, 0, 0};
	struct ctl_resp r;
	h_call(h->nodes[l].listen, RPC_TOPIC_CREATE, &bad, 3000, &r);
	assert_int_equal(r.st.code, RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(r.st.message, "bad topic name 'no spaces'"));
	ctl_resp_free(&r);
	const char *ghost[] = {"broker-9"};
	struct rpc_topic_create_req unknown = {"t2", 1, {ghost, 1}, 0, 0};
	h_call(h->nodes[l].listen, RPC_TOPIC_CREATE, &unknown, 3000, &r);
	assert_int_equal(r.st.code, RPC_INVALID_ARGUMENT);
	assert_string_equal(r.st.message, "unknown broker 'broker-9'");
	ctl_resp_free(&r);
}

static void test_cluster_leader_kill_failover_and_restart(void **state)
{
	struct harness *h = *state;
	int l = leader_or_dump(h, 3);
	assert_int_equal(create_topic(h->nodes[l].listen, "before", NULL),
			 RPC_OK);
	int64_t t0 = h_now_ms();
	h_kill(h, l);
	int l2 = h_wait_leader(h, 3, 15000);
	int64_t took = h_now_ms() - t0;
	assert_true(l2 >= 0);
	assert_int_not_equal(l2, l);
	print_message("failover after kill -9 of the leader: %lld ms\n",
		      (long long)took);
	/* The dead node shows as unavailable. */
	struct ctl_resp r;
	struct rpc_status_req q = {false, NULL};
	h_call(h->nodes[l2].listen, RPC_CLUSTER_STATUS, &q, 3000, &r);
	const struct rpc_node_status *ns =
	    ((const struct rpc_status_resp *)r.body)->nodes.v;
	assert_string_equal(ns[l].role, "unavailable");
	ctl_resp_free(&r);
	/* The new leader has everything and accepts changes. */
	assert_true(h_lists_topic(h, l2, "before", 3000));
	assert_int_equal(create_topic(h->nodes[l2].listen, "after", NULL),
			 RPC_OK);
	/* The old leader restarts from its data dir and catches up. */
	assert_int_equal(h_start(h, l), 0);
	assert_true(h_lists_topic(h, l, "after", 10000));
	assert_true(h_wait_leader(h, 3, 10000) >= 0);
}

static void test_cluster_sigterm_hands_over_cleanly(void **state)
{
	struct harness *h = *state;
	int l = leader_or_dump(h, 3);
	int64_t t0 = h_now_ms();
	assert_int_equal(h_stop(h, l, 10000), 0); /* exit status 0 */
	int l2 = h_wait_leader(h, 2, 10000);
	assert_true(l2 >= 0 && l2 != l);
	print_message("clean stop of the leader and new leader: %lld ms\n",
		      (long long)(h_now_ms() - t0));
	/* Followers stop cleanly too. */
	int f = 3 - l - l2;
	assert_int_equal(h_stop(h, f, 10000), 0);
}

/* Commits from another thread through any node (ctl_call retries what the
 * cluster says was not done) until stopped: how many were answered OK,
 * how many not. */
struct committer {
	struct harness *h;
	char boot[256];
	atomic_bool stop;
	int ok, failed;
	char last_error[300];
	pthread_t t;
};

static void *commit_loop(void *arg)
{
	struct committer *c = arg;
	struct rpc_commit_item it = {"t", "broker-1", 0, 1, 0};
	struct rpc_commit_req q = {"g", "m", {&it, 1}};
	while (!atomic_load(&c->stop)) {
		struct ctl_resp r;
		ctl_call(c->boot, RPC_COMMIT, &q, 5000, &r);
		if (r.err == 0 && r.st.code == RPC_OK) {
			c->ok++;
		} else {
			c->failed++;
			snprintf(c->last_error, sizeof c->last_error, "%s",
				 r.err		? rpc_strerror(r.err)
				 : r.st.message ? r.st.message
						: "?");
		}
		ctl_resp_free(&r);
		it.offset++;
		usleep(5000); /* ~150 commits a second, bounded by stop */
	}
	return NULL;
}

/* Issue 10 #6: a planned stop of the leader (SIGTERM: it hands
 * leadership over first) costs no client operation — every commit sent
 * meanwhile through the bootstrap list is answered OK. */
static void test_cluster_planned_stop_fails_no_operation(void **state)
{
	struct harness *h = *state;
	int l = leader_or_dump(h, 3);
	assert_int_equal(h_create_topic(h, "t", 1), 0);
	assert_int_equal(h_create_group(h, "g", NULL, NULL), 0);
	struct committer c = {.h = h};
	snprintf(c.boot, sizeof c.boot, "%s,%s,%s", h->nodes[0].listen,
		 h->nodes[1].listen, h->nodes[2].listen);
	assert_int_equal(pthread_create(&c.t, NULL, commit_loop, &c), 0);
	usleep(300000); /* commits flowing */
	assert_int_equal(h_stop(h, l, 10000), 0);
	usleep(500000);
	assert_int_equal(h_start(h, l), 0);
	assert_true(h_wait_leader(h, 3, 10000) >= 0);
	usleep(300000);
	atomic_store(&c.stop, true);
	pthread_join(c.t, NULL);
	print_message("planned stop: %d commits OK, %d not (%s)\n", c.ok,
		      c.failed, c.last_error);
	assert_true(c.ok > 50);
	assert_int_equal(c.failed, 0);
}

/* Issue 10 #2: a node that dies of a fatal signal (libraft 0.15 crashes
 * with SIGSEGV on some disk write errors) says so in its log, and still
 * dies of that signal (exit status and core dump unchanged). */
static void test_cluster_fatal_signal_is_logged(void **state)
{
	struct harness *h = *state;
	int l = leader_or_dump(h, 3), f = (l + 1) % 3;
	pid_t pid = h->nodes[f].pid;
	assert_int_equal(kill(pid, SIGSEGV), 0);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	h->nodes[f].pid = 0;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	assert_true(h_log_has(h, f,
			      "raftqd: fatal signal SIGSEGV: the node stops "
			      "now."));
	assert_int_equal(h_start(h, f), 0);
	assert_true(h_wait_leader(h, 3, 15000) >= 0);
}

static void test_cluster_data_dir_is_locked(void **state)
{
	struct harness *h = *state;
	leader_or_dump(h, 3);
	char cmd[1200];
	snprintf(cmd, sizeof cmd,
		 "%s --config %s --listen 127.0.0.1:1 "
		 "--raft_listen %s 2>&1",
		 RAFTQD_PATH, h->nodes[0].cfg, h->nodes[0].raft);
	FILE *p = popen(cmd, "r");
	char out[512] = "";
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(out, "is in use by another raftqd (pid "));
}

static void test_cluster_node_joins(void **state)
{
	struct harness *h = *state;
	leader_or_dump(h, 3);
	int j = h_add_joiner(h, 1);
	assert_int_equal(j, 3);
	assert_int_equal(h_start(h, j), 0);
	int l = h_wait_leader(h, 4, 20000);
	if (l < 0)
		h_dump_log(h, j);
	assert_true(l >= 0);
	struct ctl_resp r;
	struct rpc_status_req q = {false, NULL};
	h_call(h->nodes[j].listen, RPC_CLUSTER_STATUS, &q, 3000, &r);
	const struct rpc_status_resp *s = r.body;
	assert_int_equal(s->nodes.n, 4);
	const struct rpc_node_status *ns = s->nodes.v;
	assert_string_equal(ns[3].name, "broker-4");
	assert_true(strcmp(ns[3].role, "follower") == 0 ||
		    strcmp(ns[3].role, "leader") == 0);
	ctl_resp_free(&r);
	/* It serves reads of the replicated state. */
	assert_int_equal(create_topic(h->nodes[l].listen, "joined", NULL),
			 RPC_OK);
	assert_true(h_lists_topic(h, j, "joined", 5000));
}

/* Node @i's own line of its CLUSTER_STATUS: role into @role, the term. */
static uint64_t own_status(struct harness *h, int i, char *role, size_t len)
{
	struct ctl_resp r;
	struct rpc_status_req q = {true, NULL}; /* its own line only */
	h_call(h->nodes[i].listen, RPC_CLUSTER_STATUS, &q, 1000, &r);
	uint64_t term = UINT64_MAX;
	snprintf(role, len, "no answer");
	const struct rpc_status_resp *s = r.body;
	for (uint32_t k = 0;
	     r.err == 0 && r.st.code == RPC_OK && k < s->nodes.n; k++) {
		const struct rpc_node_status *ns = s->nodes.v;
		if (ns[k].id == (uint64_t)i + 1) {
			snprintf(role, len, "%s", ns[k].role);
			term = ns[k].term;
		}
	}
	ctl_resp_free(&r);
	return term;
}

/* Issue 15: a node brought back empty with replace = yes takes no part in
 * Raft (no votes, no entries) until the leader has removed its old place:
 * with the removal held up (the third node stopped), it stays out of
 * Raft, across a restart too; with the leader then killed, the third
 * node cannot be elected with the empty node's vote; once a leader can
 * commit the removal, the node starts Raft and joins as a new member. */
static void test_cluster_replace_stays_out_of_raft_until_removed(void **state)
{
	struct harness *h = *state;
	int l = leader_or_dump(h, 3), r = (l + 1) % 3, o = (l + 2) % 3;
	char role[32];
	h_kill(h, r);
	assert_int_equal(kill(h->nodes[o].pid, SIGSTOP), 0);
	assert_int_equal(h_replace(h, r, l), 0);
	usleep(1500 * 1000);
	assert_int_equal(own_status(h, r, role, sizeof role), 0);
	assert_string_equal(role, "unavailable");
	assert_true(h_log_has(h, r, "Raft starts once the leader has removed"));
	char marker[700];
	snprintf(marker, sizeof marker, "%s/replace.pending", h->nodes[r].dir);
	assert_int_equal(access(marker, F_OK), 0);
	/* Stopped and started again before the leader answered: the same. */
	assert_int_equal(h_stop(h, r, 5000), 0);
	assert_int_equal(h_start(h, r), 0);
	for (int64_t end = h_now_ms() + 5000;
	     own_status(h, r, role, sizeof role) == UINT64_MAX &&
	     h_now_ms() < end;)
		usleep(50 * 1000); /* bounded by the 5 s deadline */
	/* The leader dies; the third node, back, finds no quorum. */
	h_kill(h, l);
	assert_int_equal(kill(h->nodes[o].pid, SIGCONT), 0);
	for (int64_t end = h_now_ms() + 3000; h_now_ms() < end;) {
		own_status(h, o, role, sizeof role);
		assert_string_not_equal(role, "leader");
		assert_int_equal(own_status(h, r, role, sizeof role), 0);
		assert_string_equal(role, "unavailable");
		usleep(100 * 1000); /* bounded by the 3 s deadline */
	}
	/* The old leader restarts: the removal commits, the node joins. */
	assert_int_equal(h_start(h, l), 0);
	int nl = leader_or_dump(h, 3);
	assert_true(nl != r);
	assert_true(h_log_has(h, r, "joining as a new member"));
	assert_true(h_log_has(h, nl, "lost its disk and rejoins empty") ||
		    h_log_has(h, nl,
			      "is not in the configuration; it may "
			      "join"));
	assert_int_equal(create_topic(h->nodes[nl].listen, "after", NULL),
			 RPC_OK);
	assert_true(h_lists_topic(h, r, "after", 5000));
	/* A member again: the marker is gone, a restart is ordinary. */
	assert_int_equal(h_wait_member(h, r, nl, 10000), 0);
	assert_true(h_log_has(h, r, "is a member again (replace done)"));
	assert_int_equal(access(marker, F_OK), -1);
}

/* Issue 15, found by CI (tests/ansible/run.sh step 6: "node not
 * listed" for 60 s): the leader kept messages queued for the replaced
 * node's Raft address while it was down; they reached it as soon as it
 * started Raft (after its removal), it took the old entries — its own
 * registration among them — and never sent the JOIN that makes it a
 * member again. The node must be a voter again within seconds. */
static void test_cluster_replace_rejoins_with_the_leader_alive(void **state)
{
	struct harness *h = *state;
	int l = leader_or_dump(h, 3), r = (l + 1) % 3;
	h_kill(h, r);
	usleep(1500 * 1000); /* the leader queues messages for it */
	assert_int_equal(h_replace(h, r, l), 0);
	assert_int_equal(h_wait_member(h, r, l, 10000), 0);
	assert_true(h_log_has(h, r, "joining as a new member"));
	/* An unfinished replace (the marker) is not started as if it had
	 * finished: without replace = yes the node refuses, naming why. */
	assert_int_equal(h_stop(h, r, 10000), 0);
	char cmd[1500], marker[700];
	snprintf(marker, sizeof marker, "%s/replace.pending", h->nodes[r].dir);
	FILE *m = fopen(marker, "w");
	assert_non_null(m);
	fclose(m);
	snprintf(cmd, sizeof cmd, "timeout 10 %s --config %s --replace no 2>&1",
		 RAFTQD_PATH, h->nodes[r].cfg);
	FILE *p = popen(cmd, "r");
	char out[1024] = "";
	size_t got = fread(out, 1, sizeof out - 1, p);
	out[got] = '\0';
	assert_int_equal(WEXITSTATUS(pclose(p)), 1);
	char want[800];
	snprintf(want, sizeof want,
		 "%s: a replace of this node did not finish; start it with "
		 "replace = yes and join",
		 marker);
	if (strstr(out, want) == NULL)
		fail_msg("raftqd said: %s", out);
}

/* Issue 11 #9: a topic on "every broker" waits until every voter has
 * registered its broker (refused with "retry" until then, naming the
 * missing node), and the answer lists the brokers used. */
static void test_cluster_topic_waits_for_every_broker(void **state)
{
	struct harness h;
	(void)state;
	assert_int_equal(h_init(&h, 3), 0);
	assert_int_equal(h_start(&h, 0), 0);
	assert_int_equal(h_start(&h, 1), 0);
	int l = h_wait_leader(&h, 2, 15000);
	assert_true(l >= 0);
	struct rpc_topic_create_req q = {"everywhere", 1, {NULL, 0}, 0, 0};
	struct ctl_resp r;
	h_call(h.nodes[l].listen, RPC_TOPIC_CREATE, &q, 5000, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.st.code, RPC_UNAVAILABLE);
	assert_true(r.st.retry);
	assert_string_equal(r.st.message,
			    "node 3 has not registered its broker yet: a "
			    "topic on every broker waits for it (or name the "
			    "brokers with --brokers)");
	ctl_resp_free(&r);
	assert_int_equal(h_start(&h, 2), 0);
	l = h_wait_leader(&h, 3, 15000);
	assert_true(l >= 0);
	h_call(h.nodes[l].listen, RPC_TOPIC_CREATE, &q, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	const struct rpc_topic_create_resp *c = r.body;
	assert_int_equal(c->brokers.n, 3);
	assert_string_equal(c->brokers.v[0], "broker-1");
	assert_string_equal(c->brokers.v[2], "broker-3");
	ctl_resp_free(&r);
	h_destroy(&h);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_cluster_forms_and_reports_status),
	    T(test_cluster_changes_go_through_the_leader),
	    T(test_cluster_leader_kill_failover_and_restart),
	    T(test_cluster_sigterm_hands_over_cleanly),
	    T(test_cluster_planned_stop_fails_no_operation),
	    T(test_cluster_fatal_signal_is_logged),
	    T(test_cluster_data_dir_is_locked),
	    T(test_cluster_node_joins),
	    T(test_cluster_replace_stays_out_of_raft_until_removed),
	    T(test_cluster_replace_rejoins_with_the_leader_alive),
	    cmocka_unit_test(test_cluster_topic_waits_for_every_broker),
	};
#undef T
	return cmocka_run_group_tests_name("integration/cluster", tests, NULL,
					   NULL);
}
