/*
 * The reset coordinator with several topics and copies (DESIGN.md §2.1),
 * in process over the fakes (node_fakes.h): one gather per topic, one
 * entry for all of them, nothing proposed when any topic's broker fails,
 * and every refusal's text.
 */
#include <stdlib.h>
#include <string.h>

#include "../raft/rsm_helpers.h"
#include "handlers.h"
#include "node_fakes.h"

/* The fake's rsm plus topic "pay" (one queue on broker-1 and broker-2)
 * and clustering group "src". */
static int setup(void **state)
{
	fake_setup(state);
	struct fake *f = *state;
	const char *b[] = {"broker-1", "broker-2"};
	assert_int_equal(rh_topic(f->n.rsm, "pay", 1, b, 2), RSM_OK);
	assert_int_equal(rh_group(f->n.rsm, "src", RSM_CLUSTERING), RSM_OK);
	return 0;
}

static void send_reset(struct fake *f, const struct rpc_reset_req *in)
{
	struct node_req req = fake_req(f, RPC_RESET, 21);
	node_handle_reset(&req, in);
}

/* Sends a reset of topics orders and pay (in the order @first, the
 * other) to @target. */
static void send_two(struct fake *f, const char *first, const char *target)
{
	const char *ts[] = {first, strcmp(first, "pay") ? "pay" : "orders"};
	struct rpc_reset_req in = {
	    .group = "g", .target = target, .topics = {ts, 2}};
	send_reset(f, &in);
}

/* Runs the op in flight to its answer: every gather ok with bounds
 * [0, 9], the entry applied, every broker synced. */
static void run_ok(struct fake *f)
{
	while (f->ngathering > 0)
		fake_gather_finish(f, 0, 9, true);
	fake_apply(f, 0);
	fake_sync_finish(f, true);
}

static void test_two_topics_one_entry(void **state)
{
	struct fake *f = *state;
	send_two(f, "pay", "latest"); /* any order */
	assert_int_equal(f->gathers, 2);
	fake_gather_finish(f, 0, 9, true);
	assert_int_equal(f->proposed, 0); /* waits for every topic */
	fake_gather_finish(f, 0, 9, true);
	assert_int_equal(f->proposed, 1);
	fake_apply(f, 0);
	assert_int_equal(f->sync_nids, 3); /* broker-1..3, each once */
	fake_sync_finish(f, true);
	assert_int_equal(f->notices, 2);
	/* The answer waited for the members to confirm both new epochs. */
	assert_int_equal(f->member_waits, 1);
	assert_int_equal(f->wait_nt, 2);
	assert_string_equal(f->wait_topics[0], "orders");
	assert_string_equal(f->wait_topics[1], "pay");
	assert_int_equal(f->wait_epochs[0], 1);
	assert_int_equal(f->wait_epochs[1], 1);
	const struct fake_answer *a = &f->answers[0];
	assert_int_equal(a->code, RPC_OK);
	assert_int_equal(a->reset_id, 1);
	assert_int_equal(a->ntopics, 2);
	assert_string_equal(a->topics[0], "orders");
	assert_string_equal(a->topics[1], "pay");
	assert_int_equal(a->topic_epochs[0], 1);
	assert_int_equal(a->topic_epochs[1], 1);
	assert_int_equal(a->nq, 8);
	assert_string_equal(a->brokers[7], "broker-2");
	assert_int_equal(a->offsets[7], 9);
	assert_int_equal(rh_epoch(f->n.rsm, "g", "pay"), 1);
	uint32_t n = 0;
	assert_non_null(rsm_reset_find(f->n.rsm, 1, &n));
	assert_int_equal(n, 2);
}

/* pay's broker does not answer: UNAVAILABLE naming it, nothing moves,
 * not even orders whose brokers answered. */
static void test_two_topics_one_broker_down(void **state)
{
	struct fake *f = *state;
	assert_int_equal(
	    rh_commit(f->n.rsm, "g", "orders", "broker-1", 0, 4, 0), RSM_OK);
	send_two(f, "orders", "earliest");
	fake_gather_finish(f, 0, 9, true);  /* orders */
	fake_gather_finish(f, 0, 9, false); /* pay */
	assert_int_equal(f->proposed, 0);
	assert_int_equal(f->nanswers, 1);
	assert_int_equal(f->answers[0].code, RPC_UNAVAILABLE);
	assert_string_equal(f->answers[0].message,
			    "broker broker-2 did not answer: request timed out "
			    "(topic pay); nothing was changed");
	assert_int_equal(rh_offset(f->n.rsm, "g", "orders", "broker-1", 0), 4);
	assert_int_equal(rh_epoch(f->n.rsm, "g", "orders"), 0);
	assert_int_equal(rsm_reset_count(f->n.rsm), 0);
}

/* all_topics: the topics with offsets, and those online members read. */
static void test_all_topics(void **state)
{
	struct fake *f = *state;
	struct rpc_reset_req in = {.group = "g",
				   .target = "latest",
				   .all_topics = true,
				   .requester = "alice"};
	send_reset(f, &in);
	assert_int_equal(f->answers[0].code, RPC_INVALID_ARGUMENT);
	assert_string_equal(f->answers[0].message,
			    "group 'g' has no offsets and no online member on "
			    "any topic; name the topics with --topic");
	assert_int_equal(
	    rh_commit(f->n.rsm, "g", "orders", "broker-1", 0, 4, 0), RSM_OK);
	snprintf(f->member_topic, sizeof f->member_topic, "pay");
	send_reset(f, &in);
	assert_int_equal(f->gathers, 2);
	run_ok(f);
	assert_int_equal(f->answers[1].code, RPC_OK);
	assert_int_equal(f->answers[1].ntopics, 2);
	assert_string_equal(f->answers[1].topics[1], "pay");
}

static void test_copy_marks_skipped(void **state)
{
	struct fake *f = *state;
	assert_int_equal(
	    rh_commit(f->n.rsm, "src", "orders", "broker-2", 1, 6, 0), RSM_OK);
	assert_int_equal(
	    rh_commit(f->n.rsm, "g", "orders", "broker-1", 0, 2, 0), RSM_OK);
	struct rpc_reset_req in = {.group = "g",
				   .topic = "orders",
				   .target = "group",
				   .source_group = "src",
				   .requester = "alice"};
	send_reset(f, &in);
	run_ok(f);
	const struct fake_answer *a = &f->answers[0];
	assert_int_equal(a->code, RPC_OK);
	assert_int_equal(a->nq, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(a->skipped[i], i != 3);
	assert_int_equal(a->offsets[3], 6); /* broker-2:1, copied */
	assert_int_equal(a->offsets[0], 2); /* kept */
	assert_int_equal(a->offsets[1], 9); /* kept: none, latest rule */
	const struct rsm_reset *rec = rsm_reset_find(f->n.rsm, 1, NULL);
	assert_string_equal(rec->source, "src");
}

/* Sends @in; asserts the one new answer is @code with @msg and that no
 * broker was asked. */
static void refused(struct fake *f, const struct rpc_reset_req *in,
		    uint32_t code, const char *msg)
{
	int before = f->nanswers;
	send_reset(f, in);
	assert_int_equal(f->nanswers, before + 1);
	assert_int_equal(f->answers[before].code, code);
	assert_string_equal(f->answers[before].message, msg);
	assert_int_equal(f->gathers, 0);
}

static void test_refusals(void **state)
{
	struct fake *f = *state;
	const char *twice[] = {"orders", "orders"};
	const char *three[] = {"orders", "pay", "nope"};
	const char *q[] = {"broker-1:0"};
	const uint64_t ep[] = {0};
	struct rpc_reset_req in = {.group = "g", .target = "latest"};
	refused(f, &in, RPC_INVALID_ARGUMENT, "a reset names 1 to 256 topics");
	in.topics = (struct rpc_strs){twice, 2};
	refused(f, &in, RPC_INVALID_ARGUMENT, "topic 'orders' is named twice");
	in.topics.v = three;
	in.topics.n = 3;
	refused(f, &in, RPC_UNKNOWN_TOPIC, "topic 'nope' does not exist");
	in.topics.n = 2; /* orders, pay */
	in.queues = (struct rpc_strs){q, 1};
	refused(f, &in, RPC_INVALID_ARGUMENT,
		"queue 'broker-1:0': with several topics each queue names "
		"its topic");
	in.queues.n = 0;
	in.expect = true;
	refused(f, &in, RPC_INVALID_ARGUMENT,
		"--expect-epoch guards a reset of one topic");
	in.expect = false;
	in.expect_epochs = (struct rpc_u64s){ep, 1};
	refused(f, &in, RPC_INVALID_ARGUMENT,
		"expect_epochs gives one epoch per topic");
	struct rpc_reset_req all = {.group = "g",
				    .topic = "orders",
				    .target = "latest",
				    .all_topics = true};
	refused(f, &all, RPC_INVALID_ARGUMENT,
		"all_topics names no topic and takes no guard");
}

/* --to-group refusals: the source must be another clustering group, and
 * only the target "group" names one. */
static void test_copy_refusals(void **state)
{
	struct fake *f = *state;
	static const char *const src[][2] = {
	    {"nope", "group 'nope' does not exist (the group to copy)"},
	    {"g", "--to-group names the group being reset ('g')"},
	    {"bc", "group 'bc' is broadcasting: it has no offsets in the "
		   "cluster to copy"},
	};
	struct rpc_reset_req in = {
	    .group = "g", .topic = "orders", .target = "group"};
	for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
		in.source_group = src[i][0];
		refused(f, &in,
			i == 0 ? RPC_UNKNOWN_GROUP : RPC_INVALID_ARGUMENT,
			src[i][1]);
	}
	in.target = "latest";
	in.source_group = "src";
	refused(f, &in, RPC_INVALID_ARGUMENT,
		"source_group goes with the target 'group', and only with it");
}

/* Undo of a reset of two topics moves both back in one entry. */
static void test_undo_two_topics(void **state)
{
	struct fake *f = *state;
	send_two(f, "orders", "latest");
	run_ok(f);
	struct node_req req = fake_req(f, RPC_UNDO, 22);
	struct rpc_undo_req u = {1, "carol"};
	node_handle_undo(&req, &u);
	assert_int_equal(f->gathers, 4);
	run_ok(f);
	const struct fake_answer *a = &f->answers[1];
	assert_int_equal(a->code, RPC_OK);
	assert_int_equal(a->reset_id, 2);
	assert_int_equal(a->ntopics, 2);
	assert_int_equal(rh_epoch(f->n.rsm, "g", "pay"), 2);
	assert_int_equal(rh_offset(f->n.rsm, "g", "pay", "broker-1", 0),
			 RSM_OFFSET_NONE);
	assert_int_equal(rh_offset(f->n.rsm, "g", "orders", "broker-3", 1),
			 RSM_OFFSET_NONE);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, fake_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_two_topics_one_entry),
	    T(test_two_topics_one_broker_down),
	    T(test_all_topics),
	    T(test_copy_marks_skipped),
	    T(test_refusals),
	    T(test_copy_refusals),
	    T(test_undo_two_topics),
	};
#undef T
	return cmocka_run_group_tests_name("node/reset_topics", tests, NULL,
					   NULL);
}
