/*
 * A partitioned minority cannot commit: the leader's Raft links are cut
 * (a raftproxy in front of every node's Raft port refuses its traffic in
 * both directions) while its client port stays reachable.
 */
#include "../unit/test_util.h"
#include "harness.h"

static int setup(void **state)
{
	*state = h_fixture(sizeof(struct harness), 3, true);
	return *state ? 0 : -1;
}

static uint32_t create(struct harness *h, int i, const char *topic, int ms)
{
	struct rpc_topic_create_req q = {topic, 1, {NULL, 0}};
	struct ctl_resp r;
	h_call(h->nodes[i].listen, RPC_TOPIC_CREATE, &q, ms, &r);
	uint32_t code = r.err ? 1000u + (uint32_t)-r.err : r.st.code;
	ctl_resp_free(&r);
	return code;
}

/* The leader as node @i sees it (0-based), or -1. */
static int leader_seen_by(struct harness *h, int i)
{
	struct ctl_resp r;
	struct rpc_status_req q = {true};
	h_call(h->nodes[i].listen, RPC_CLUSTER_STATUS, &q, 1000, &r);
	int l = -1;
	if (r.err == 0 && r.st.code == RPC_OK) {
		const struct rpc_status_resp *s = r.body;
		const struct rpc_node_status *me = s->nodes.v;
		if (strcmp(me->role, "leader") == 0)
			l = i;
	}
	ctl_resp_free(&r);
	return l;
}

static void test_partition_minority_cannot_commit(void **state)
{
	struct harness *h = *state;
	int l = h_wait_leader(h, 3, 15000);
	assert_true(l >= 0);
	assert_int_equal(create(h, l, "before", 5000), RPC_OK);
	struct rpc_group_create_req g = {"g", NULL, NULL};
	struct ctl_resp r;
	h_call(h->nodes[l].listen, RPC_GROUP_CREATE, &g, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
	h_cut(h, l);
	/* A linearizable read on the cut leader is refused rather than
	 * answered from state the majority may already have moved past. */
	struct rpc_offsets_req oq = {"g", "before"};
	h_call(h->nodes[l].listen, RPC_OFFSETS, &oq, 5000, &r);
	assert_int_equal(r.err, 0);
	assert_int_not_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
	/* The cut leader cannot commit: it answers an error (it steps down
	 * once it misses a quorum), never OK. */
	uint32_t code = create(h, l, "minority", 5000);
	assert_int_not_equal(code, RPC_OK);
	print_message("minority leader answered %s\n",
		      code < 1000 ? rpc_code_name(code) : "transport error");
	/* The majority elects a leader among itself and commits. */
	int m = -1;
	int64_t end = h_now_ms() + 10000;
	while (m < 0 && h_now_ms() < end) {
		for (int i = 0; i < 3 && m < 0; i++)
			if (i != l && leader_seen_by(h, i) == i)
				m = i;
		if (m < 0)
			usleep(20000);
	}
	assert_true(m >= 0);
	end = h_now_ms() + 5000;
	while (create(h, m, "majority", 3000) != RPC_OK && h_now_ms() < end)
		usleep(50000); /* the new leader's barrier */
	assert_true(h_lists_topic(h, m, "majority", 0));
	assert_false(h_lists_topic(h, l, "majority", 0)); /* still cut off */
	/* Heal: the old leader catches up; the minority's change is gone. */
	h_heal(h, l);
	end = h_now_ms() + 10000;
	while (!h_lists_topic(h, l, "majority", 0) && h_now_ms() < end)
		usleep(50000);
	assert_true(h_lists_topic(h, l, "majority", 0));
	for (int i = 0; i < 3; i++) {
		assert_false(h_lists_topic(h, i, "minority", 0));
		assert_true(h_lists_topic(h, i, "before", 0));
	}
	assert_true(h_wait_leader(h, 3, 10000) >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_partition_minority_cannot_commit, setup, h_teardown),
	};
	return cmocka_run_group_tests_name("integration/partition", tests, NULL,
					   NULL);
}
