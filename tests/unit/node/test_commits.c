/*
 * Commit batching (node/commits.c) in process: the commits of one loop
 * turn become one proposal; each request is answered from its own items.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "node_fakes.h"

static void commit(struct fake *f, uint64_t id, const char *broker, uint32_t q,
		   uint64_t offset, uint64_t epoch)
{
	struct node_req req = fake_req(f, RPC_COMMIT, id);
	struct rpc_commit_item it = {"orders", broker, q, offset, epoch};
	struct rpc_commit_req in = {"g", "m1", {&it, 1}};
	node_handle_commit(&req, &in);
}

static uint64_t committed(struct fake *f, uint32_t qi)
{
	const struct rsm_group *g = rsm_group_find(f->n.rsm, "g");
	const struct rsm_group_topic *gt = rsm_group_topic(g, "orders");
	assert_non_null(gt);
	return gt->offsets[qi];
}

static void test_commits_one_entry_per_turn(void **state)
{
	struct fake *f = *state;
	commit(f, 1, "broker-1", 0, 5, 0);
	commit(f, 2, "broker-2", 1, 6, 0);
	commit(f, 3, "broker-3", 0, 7, 0);
	assert_int_equal(f->proposed, 0); /* not before the turn ends */
	node_commits_flush(&f->n);
	assert_int_equal(f->proposed, 1);
	node_commits_flush(&f->n); /* nothing new: nothing proposed */
	assert_int_equal(f->proposed, 1);
	fake_apply(f, 0);
	assert_int_equal(f->nanswers, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f->answers[i].id, (uint64_t)i + 1);
		assert_int_equal(f->answers[i].code, RPC_OK);
		assert_int_equal(f->answers[i].ncodes, 1);
		assert_int_equal(f->answers[i].codes[0], RPC_OK);
	}
	assert_int_equal(committed(f, 0), 5); /* broker-1:0 */
	assert_int_equal(committed(f, 3), 6); /* broker-2:1 */
	assert_int_equal(committed(f, 4), 7); /* broker-3:0 */
}

static void test_commits_stale_epoch_gets_offsets(void **state)
{
	struct fake *f = *state;
	commit(f, 1, "broker-1", 0, 5, 0);
	node_commits_flush(&f->n);
	fake_apply(f, 0);
	/* A reset to offset 2 moves the epoch to 1. */
	struct node_req req = fake_req(f, RPC_RESET, 9);
	struct rpc_reset_req in = {.group = "g",
				   .topic = "orders",
				   .target = "offset",
				   .value = 2,
				   .requester = "t"};
	node_handle_reset(&req, &in);
	fake_gather_finish(f, 0, 10, true);
	fake_apply(f, 0);
	fake_sync_finish(f, true);
	/* A commit read before it, and one after, in the same turn. */
	commit(f, 3, "broker-1", 0, 8, 0);
	commit(f, 4, "broker-1", 1, 4, 1);
	node_commits_flush(&f->n);
	fake_apply(f, 0);
	const struct fake_answer *stale = &f->answers[2];
	assert_int_equal(stale->code, RPC_STALE_EPOCH);
	assert_string_equal(stale->message, "the group was reset; resume "
					    "from the offsets given");
	assert_int_equal(stale->codes[0], RPC_STALE_EPOCH);
	assert_int_equal(stale->epoch, 1);
	assert_int_equal(stale->nq, 6);
	assert_int_equal(stale->offsets[0], 2);
	assert_int_equal(f->answers[3].code, RPC_OK);
	assert_int_equal(committed(f, 0), 2);
	assert_int_equal(committed(f, 1), 4);
}

static void test_commits_leadership_lost(void **state)
{
	struct fake *f = *state;
	commit(f, 1, "broker-1", 0, 5, 0);
	commit(f, 2, "broker-1", 1, 5, 0);
	node_commits_flush(&f->n);
	fake_apply(f, RAFT_LEADERSHIPLOST);
	assert_int_equal(f->nanswers, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f->answers[i].code, RPC_UNAVAILABLE);
		assert_false(f->answers[i].has_body);
	}
}

static void test_commits_not_leader_at_flush(void **state)
{
	struct fake *f = *state;
	f->propose_code = RPC_NOT_LEADER;
	f->leader_id = 2;
	commit(f, 1, "broker-1", 0, 5, 0);
	node_commits_flush(&f->n);
	assert_int_equal(f->nanswers, 1);
	assert_int_equal(f->answers[0].code, RPC_NOT_LEADER);
	assert_string_equal(f->answers[0].leader, "127.0.0.1:9102");
	assert_string_equal(f->answers[0].message,
			    "leadership changed; nothing was committed");
}

static void test_commits_bad_request_alone_refused(void **state)
{
	struct fake *f = *state;
	commit(f, 1, "broker-1", 0, 5, 0);
	commit(f, 2, "bad name!", 0, 5, 0);
	struct node_req req = fake_req(f, RPC_COMMIT, 3);
	struct rpc_commit_req none = {"g", "m1", {NULL, 0}};
	node_handle_commit(&req, &none);
	assert_int_equal(f->nanswers, 2);
	assert_int_equal(f->answers[0].id, 2);
	assert_int_equal(f->answers[0].code, RPC_INVALID_ARGUMENT);
	assert_string_equal(f->answers[0].message,
			    "bad group, topic or broker name");
	assert_string_equal(f->answers[1].message, "no offsets to commit");
	node_commits_flush(&f->n);
	fake_apply(f, 0);
	assert_int_equal(f->nanswers, 3);
	assert_int_equal(f->answers[2].id, 1);
	assert_int_equal(f->answers[2].code, RPC_OK);
	assert_int_equal(committed(f, 0), 5);
}

static void test_commits_answer_after_client_left(void **state)
{
	struct fake *f = *state;
	commit(f, 1, "broker-1", 0, 5, 0);
	node_commits_flush(&f->n);
	f->client_gone = true;
	fake_apply(f, 0);
	assert_int_equal(f->dropped, 1);
	assert_int_equal(committed(f, 0), 5);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fake_setup, fake_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_commits_one_entry_per_turn),
	    T(test_commits_stale_epoch_gets_offsets),
	    T(test_commits_leadership_lost),
	    T(test_commits_not_leader_at_flush),
	    T(test_commits_bad_request_alone_refused),
	    T(test_commits_answer_after_client_left),
	};
#undef T
	return cmocka_run_group_tests_name("node/commits", tests, NULL, NULL);
}
