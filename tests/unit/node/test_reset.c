/*
 * The reset coordinator (node/reset.c) in process: its state machine
 * driven step by step through faked gathers, proposals and syncs
 * (node_fakes.h), with the real state machine (rsm) applying the entries.
 * Every op must be freed exactly once: ASan and valgrind run these.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "node_fakes.h"

static void reset(struct fake *f, const char *group, const char *target,
		  int64_t value, bool dry_run, const char *const *queues,
		  uint32_t nq)
{
	struct node_req req = fake_req(f, RPC_RESET, 11);
	struct rpc_reset_req in = {.group = group,
				   .topic = "orders",
				   .target = target,
				   .value = value,
				   .queues = {queues, nq},
				   .dry_run = dry_run,
				   .requester = "alice"};
	node_handle_reset(&req, &in);
}

static const struct rsm_group_topic *orders_of(struct fake *f)
{
	const struct rsm_group *g = rsm_group_find(f->n.rsm, "g");
	assert_non_null(g);
	return rsm_group_topic(g, "orders");
}

/* One answer with @code and @msg; nothing proposed, the group unmoved. */
static void assert_refused(struct fake *f, uint32_t code, const char *msg)
{
	assert_int_equal(f->nanswers, 1);
	assert_int_equal(f->answers[0].code, code);
	assert_string_equal(f->answers[0].message, msg);
	assert_int_equal(orders_of(f), NULL);
	assert_int_equal(rsm_reset_count(f->n.rsm), 0);
}

static void test_reset_happy_path(void **state)
{
	struct fake *f = *state;
	reset(f, "g", "latest", 0, false, NULL, 0);
	/* GATHERING: nothing answered or proposed until every broker is. */
	assert_int_equal(f->gathers, 1);
	assert_int_equal(f->nanswers, 0);
	assert_int_equal(f->proposed, 0);
	fake_gather_finish(f, 3, 10, true);
	/* PROPOSING: one entry. */
	assert_int_equal(f->proposed, 1);
	assert_int_equal(f->nanswers, 0);
	fake_apply(f, 0);
	/* SYNCING: waits for the three hosting brokers. */
	assert_int_equal(f->syncs, 1);
	assert_int_equal(f->sync_nids, 3);
	assert_int_equal(f->nanswers, 0);
	assert_int_equal(orders_of(f)->epoch, 1);
	fake_sync_finish(f, true);
	/* DONE: notices first, then the answer. */
	assert_int_equal(f->notices, 1);
	assert_int_equal(f->nanswers, 1);
	const struct fake_answer *a = &f->answers[0];
	assert_int_equal(a->code, RPC_OK);
	assert_int_equal(a->id, 11);
	assert_int_equal(a->reset_id, 1);
	assert_int_equal(a->epoch, 1);
	assert_false(a->dry_run);
	assert_int_equal(a->nq, 6);
	static const char *const order[] = {"broker-1", "broker-1", "broker-2",
					    "broker-2", "broker-3", "broker-3"};
	for (uint32_t i = 0; i < 6; i++) {
		assert_string_equal(a->brokers[i], order[i]);
		assert_int_equal(a->queue_ids[i], i % 2);
		assert_int_equal(a->offsets[i], 10);
	}
	const struct rsm_reset *rec = rsm_reset_find(f->n.rsm, 1, NULL);
	assert_non_null(rec);
	assert_string_equal(rec->requester, "alice");
}

static void test_reset_by_time_subset(void **state)
{
	struct fake *f = *state;
	const char *qs[] = {"broker-2:1"};
	reset(f, "g", "time", 1700000000000, false, qs, 1);
	fake_gather_finish(f, 3, 10, true);
	fake_apply(f, 0);
	assert_int_equal(f->sync_nids, 1);
	assert_int_equal(f->sync_ids[0], 2);
	fake_sync_finish(f, false); /* a slow broker: answered, named */
	const struct fake_answer *a = &f->answers[0];
	assert_int_equal(a->code, RPC_OK);
	assert_int_equal(a->nlagging, 1);
	assert_string_equal(a->lagging, "broker-2");
	assert_int_equal(a->nq, 1);
	assert_string_equal(a->brokers[0], "broker-2");
	assert_int_equal(a->queue_ids[0], 1);
	assert_int_equal(a->offsets[0], 4); /* the fake's offset for time */
}

static void test_reset_broker_down(void **state)
{
	struct fake *f = *state;
	reset(f, "g", "earliest", 0, false, NULL, 0);
	fake_gather_finish(f, 0, 5, false);
	assert_int_equal(f->proposed, 0);
	assert_refused(f, RPC_UNAVAILABLE,
		       "broker broker-2 did not answer: request timed out "
		       "(topic orders); nothing was changed");
}

static void test_reset_stalled_gather_answers_nothing(void **state)
{
	struct fake *f = *state;
	reset(f, "g", "latest", 0, false, NULL, 0);
	assert_int_equal(f->nanswers, 0);
	assert_non_null(f->gather);
	/* A broker answers late: the reset goes on from there. */
	fake_gather_finish(f, 1, 2, true);
	fake_apply(f, 0);
	fake_sync_finish(f, true);
	assert_int_equal(f->nanswers, 1);
	assert_int_equal(f->answers[0].offsets[5], 2);
}

static void test_reset_not_leader_when_proposing(void **state)
{
	struct fake *f = *state;
	f->propose_code = RPC_NOT_LEADER;
	f->leader_id = 2;
	reset(f, "g", "latest", 0, false, NULL, 0);
	fake_gather_finish(f, 0, 9, true);
	assert_refused(f, RPC_NOT_LEADER,
		       "leadership changed while preparing the reset; nothing "
		       "was changed");
	assert_string_equal(f->answers[0].leader, "127.0.0.1:9102");
}

static void test_reset_leadership_lost_mid_propose(void **state)
{
	struct fake *f = *state;
	reset(f, "g", "latest", 0, false, NULL, 0);
	fake_gather_finish(f, 0, 9, true);
	fake_apply(f, RAFT_LEADERSHIPLOST);
	assert_int_equal(f->syncs, 0);
	assert_int_equal(f->nanswers, 1);
	assert_int_equal(f->answers[0].code, RPC_UNAVAILABLE);
	assert_string_equal(f->answers[0].message,
			    "leadership changed before the change was "
			    "confirmed (server has lost leadership); check "
			    "before "
			    "retrying");
}

static void test_reset_apply_after_client_left(void **state)
{
	struct fake *f = *state;
	reset(f, "g", "latest", 0, false, NULL, 0);
	fake_gather_finish(f, 0, 9, true);
	f->client_gone = true; /* the client timed out and closed */
	fake_apply(f, 0);
	fake_sync_finish(f, true);
	assert_int_equal(f->dropped, 1);
	assert_int_equal(f->nanswers, 0);
	assert_int_equal(orders_of(f)->epoch, 1); /* it did happen */
}

static void test_reset_dry_run(void **state)
{
	struct fake *f = *state;
	reset(f, "g", "offset", 7, true, NULL, 0);
	fake_gather_finish(f, 2, 5, true);
	assert_int_equal(f->proposed, 0);
	assert_int_equal(f->syncs, 0);
	const struct fake_answer *a = &f->answers[0];
	assert_int_equal(a->code, RPC_OK);
	assert_true(a->dry_run);
	assert_int_equal(a->reset_id, 0);
	assert_int_equal(a->epoch, 0);
	assert_int_equal(a->nq, 6);
	assert_int_equal(a->offsets[0], 5); /* 7 clamped to MaxOffset */
	assert_int_equal(orders_of(f), NULL);
	assert_int_equal(rsm_reset_count(f->n.rsm), 0);
}

static void test_reset_refusals(void **state)
{
	struct fake *f = *state;
	const char *bad[] = {"broker-9:0"};
	reset(f, "nosuch", "latest", 0, false, NULL, 0);
	reset(f, "bc", "latest", 0, false, NULL, 0);
	reset(f, "g", "tomorrow", 0, false, NULL, 0);
	reset(f, "g", "offset", -1, false, NULL, 0);
	reset(f, "g", "latest", 0, false, bad, 1);
	f->online_members = 2;
	struct node_req req = fake_req(f, RPC_RESET, 12);
	struct rpc_reset_req in = {.group = "g",
				   .topic = "orders",
				   .target = "latest",
				   .require_inactive = true,
				   .requester = "bob"};
	node_handle_reset(&req, &in);
	assert_int_equal(f->gathers, 0);
	assert_int_equal(f->nanswers, 6);
	static const struct {
		uint32_t code;
		const char *msg;
	} want[] = {
	    {RPC_UNKNOWN_GROUP, "group 'nosuch' does not exist (create it "
				"with raftqctl group create)"},
	    {RPC_BROADCAST_UNSUPPORTED,
	     "group 'bc' is broadcasting: its offsets live on the clients, "
	     "so the cluster cannot reset them"},
	    {RPC_INVALID_ARGUMENT,
	     "target 'tomorrow' is not one of latest, "
	     "earliest, time, offset, shift, duration, current, plan, "
	     "group"},
	    {RPC_INVALID_ARGUMENT, "offset must be >= 0"},
	    {RPC_INVALID_ARGUMENT, "queue 'broker-9:0' is not a queue of "
				   "topic 'orders' (write broker:queue_id)"},
	    {RPC_GROUP_ACTIVE, "group 'g' has 2 online members (m-a, m-b); "
			       "stop them or drop --require-inactive"},
	};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(f->answers[i].code, want[i].code);
		assert_string_equal(f->answers[i].message, want[i].msg);
	}
}

static void test_reset_out_of_memory_at_gather(void **state)
{
	struct fake *f = *state;
	f->gather_oom = true;
	reset(f, "g", "latest", 0, false, NULL, 0);
	assert_refused(f, RPC_INTERNAL, "out of memory");
}

static void test_undo_restores_previous(void **state)
{
	struct fake *f = *state;
	reset(f, "g", "latest", 0, false, NULL, 0);
	fake_gather_finish(f, 0, 9, true);
	fake_apply(f, 0);
	fake_sync_finish(f, true);
	struct node_req req = fake_req(f, RPC_UNDO, 13);
	struct rpc_undo_req in = {1, "carol"};
	node_handle_undo(&req, &in);
	fake_gather_finish(f, 0, 9, true);
	fake_apply(f, 0);
	fake_sync_finish(f, true);
	assert_int_equal(f->nanswers, 2);
	const struct fake_answer *a = &f->answers[1];
	assert_int_equal(a->code, RPC_OK);
	assert_int_equal(a->type, RPC_UNDO);
	assert_int_equal(a->reset_id, 2);
	assert_int_equal(a->epoch, 2);
	/* Never committed before the reset: back to "no committed offset". */
	const struct rsm_group_topic *gt = orders_of(f);
	for (uint32_t i = 0; i < gt->n; i++)
		assert_int_equal(gt->offsets[i], RSM_OFFSET_NONE);
	struct rpc_undo_req missing = {99, "carol"};
	node_handle_undo(&req, &missing);
	assert_int_equal(f->answers[2].code, RPC_NOT_FOUND);
	assert_string_equal(f->answers[2].message,
			    "reset 99 is not in the history");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fake_setup, fake_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_reset_happy_path),
	    T(test_reset_by_time_subset),
	    T(test_reset_broker_down),
	    T(test_reset_stalled_gather_answers_nothing),
	    T(test_reset_not_leader_when_proposing),
	    T(test_reset_leadership_lost_mid_propose),
	    T(test_reset_apply_after_client_left),
	    T(test_reset_dry_run),
	    T(test_reset_refusals),
	    T(test_reset_out_of_memory_at_gather),
	    T(test_undo_restores_previous),
	};
#undef T
	return cmocka_run_group_tests_name("node/reset", tests, NULL, NULL);
}
