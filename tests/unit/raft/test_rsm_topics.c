/* Resets of several topics in one entry, copies of another group, and
 * their records: all or nothing, one id per reset, snapshots, history;
 * deleting a topic and creating it again. */
#include "rsm_helpers.h"

static int setup(void **state)
{
	struct rsm *s = rsm_new();
	*state = s;
	if (s == NULL)
		return 1;
	rh_standard(s); /* orders: 2 queues on broker-1..3; group g */
	const char *b[] = {"broker-1", "broker-2"};
	assert_int_equal(rh_topic(s, "pay", 1, b, 2), RSM_OK);
	assert_int_equal(rh_group(s, "src", RSM_CLUSTERING), RSM_OK);
	return 0;
}

static int teardown(void **state)
{
	rsm_free(*state);
	return 0;
}

/* Moves of orders (6 queues) and pay (2 queues), all absolute to @to
 * within [0, 100]. */
struct two {
	struct rsm_reset_move orders[6], pay[2];
	struct rsm_reset_part parts[2];
	struct rsm_reset_cmd cmd;
};

static void two_init(struct two *t, enum rsm_move mv, int64_t to)
{
	uint64_t hi[6] = {100, 100, 100, 100, 100, 100};
	uint64_t lo[6] = {0};
	rh_moves(t->orders, 6, 2, mv, to, lo, hi, 0);
	rh_moves(t->pay, 2, 1, mv, to, lo, hi, 0);
	t->parts[0] = (struct rsm_reset_part){"orders", 6, t->orders, false, 0};
	t->parts[1] = (struct rsm_reset_part){"pay", 2, t->pay, false, 0};
	t->cmd = (struct rsm_reset_cmd){
	    8000, "ops",
	    "g",  mv == RSM_MOVE_COPY ? RSM_TARGET_GROUP : RSM_TARGET_OFFSET,
	    to,	  mv == RSM_MOVE_COPY ? "src" : NULL,
	    2,	  t->parts};
}

static const struct rsm_result *apply_cmd(struct rsm *s,
					  const struct rsm_reset_cmd *c)
{
	struct raft_buffer buf;
	char err[256];
	assert_int_equal(rsm_encode_reset(c, &buf, err, sizeof err), 0);
	return rh_apply(s, buf);
}

static void test_topics_reset_records_one_id(void **state)
{
	struct rsm *s = *state;
	struct two t;
	two_init(&t, RSM_MOVE_ABSOLUTE, 7);
	const struct rsm_result *r = apply_cmd(s, &t.cmd);
	assert_int_equal(r->type, RSM_CMD_RESET_TOPICS);
	assert_int_equal(r->code, RSM_OK);
	assert_int_equal(r->n_reset, 2);
	assert_string_equal(r->reset[0].topic, "orders");
	assert_string_equal(r->reset[1].topic, "pay");
	assert_int_equal(r->reset[0].id, 1);
	assert_int_equal(r->reset[1].id, 1);
	assert_int_equal(r->reset[0].n, 6);
	assert_int_equal(r->reset[1].n, 2);
	assert_int_equal(r->reset[1].epoch, 1);
	assert_int_equal(rh_epoch(s, "g", "orders"), 1);
	assert_int_equal(rh_epoch(s, "g", "pay"), 1);
	assert_int_equal(rh_offset(s, "g", "pay", "broker-2", 0), 7);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-3", 1), 7);
	uint32_t n = 0;
	assert_ptr_equal(rsm_reset_find(s, 1, &n), rsm_reset_at(s, 0));
	assert_int_equal(n, 2);
	assert_int_equal(rsm_reset_count(s), 2);
	/* The next reset takes the next id. */
	r = apply_cmd(s, &t.cmd);
	assert_int_equal(r->reset[0].id, 2);
	assert_int_equal(rh_epoch(s, "g", "pay"), 2);
}

/* One bad part refuses the whole entry: no topic moves. */
static void test_topics_reset_all_or_nothing(void **state)
{
	struct rsm *s = *state;
	struct two t;
	assert_int_equal(rh_commit(s, "g", "orders", "broker-1", 0, 30, 0), 0);
	two_init(&t, RSM_MOVE_ABSOLUTE, 7);
	t.pay[1].queue_id = 4; /* pay has one queue per broker */
	const struct rsm_result *r = apply_cmd(s, &t.cmd);
	assert_int_equal(r->code, RSM_EUNKNOWN_QUEUE);
	assert_string_equal(r->message, "topic 'pay' has no queue broker-2:4");
	assert_int_equal(r->n_reset, 0);
	t.pay[1].queue_id = 0;
	t.parts[1].expect = true; /* pay's guard: epoch 3, it is 0 */
	t.parts[1].expect_epoch = 3;
	r = apply_cmd(s, &t.cmd);
	assert_int_equal(r->code, RSM_ESTALE_EPOCH);
	assert_string_equal(r->message,
			    "group 'g' is at epoch 0 on topic 'pay', not 3: "
			    "another reset came first; nothing was changed");
	t.parts[1].expect = false;
	t.parts[1].topic = "pax";
	r = apply_cmd(s, &t.cmd);
	assert_int_equal(r->code, RSM_EUNKNOWN_TOPIC);
	assert_string_equal(r->message, "topic 'pax' does not exist");
	assert_int_equal(rh_offset(s, "g", "orders", "broker-1", 0), 30);
	assert_int_equal(rh_epoch(s, "g", "orders"), 0);
	assert_int_equal(rsm_reset_count(s), 0);
	/* Topics out of order, or twice, do not even encode. */
	struct raft_buffer buf;
	char err[128];
	t.parts[1].topic = "orders";
	assert_int_equal(rsm_encode_reset(&t.cmd, &buf, err, sizeof err),
			 RSM_EINVAL);
	assert_string_equal(err, "reset topics not ascending");
}

/* A copy takes the source's offsets at apply time, clamped; queues the
 * source never committed keep theirs and are marked skipped. */
static void test_copy_of_another_group(void **state)
{
	struct rsm *s = *state;
	assert_int_equal(rh_commit(s, "src", "orders", "broker-1", 0, 5, 0), 0);
	assert_int_equal(rh_commit(s, "src", "orders", "broker-2", 1, 500, 0),
			 0);
	assert_int_equal(rh_commit(s, "g", "orders", "broker-1", 1, 3, 0), 0);
	struct two t;
	two_init(&t, RSM_MOVE_COPY, 0);
	t.cmd.n_parts = 1; /* orders only */
	const struct rsm_result *r = apply_cmd(s, &t.cmd);
	assert_int_equal(r->type, RSM_CMD_RESET_TOPICS);
	assert_int_equal(r->code, RSM_OK);
	const struct rsm_reset *rec = r->reset;
	assert_string_equal(rec->source, "src");
	assert_int_equal(rec->target, RSM_TARGET_GROUP);
	static const uint64_t want[6] = {
	    5, 3, RSM_OFFSET_NONE, 100, RSM_OFFSET_NONE, RSM_OFFSET_NONE};
	static const bool skipped[6] = {false, true, true, false, true, true};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(rec->queues[i].offset, want[i]);
		assert_int_equal(rec->queues[i].skipped, skipped[i]);
	}
	assert_true(rec->queues[3].clamped); /* 500 > max 100 */
	assert_int_equal(rec->queues[1].previous, 3);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-2", 1), 100);
	assert_int_equal(rh_epoch(s, "g", "orders"), 1);
	/* The source is untouched. */
	assert_int_equal(rh_epoch(s, "src", "orders"), 0);
	assert_int_equal(rh_offset(s, "src", "orders", "broker-2", 1), 500);
	/* An unknown source group refuses the entry. */
	t.cmd.source = "nope";
	r = apply_cmd(s, &t.cmd);
	assert_int_equal(r->code, RSM_EUNKNOWN_GROUP);
	assert_string_equal(r->message, "group 'nope' does not exist");
	/* Copy moves only with the target "group" and a source. */
	struct raft_buffer buf;
	char err[128];
	t.cmd.target = RSM_TARGET_OFFSET;
	assert_int_equal(rsm_encode_reset(&t.cmd, &buf, err, sizeof err),
			 RSM_EINVAL);
	assert_string_equal(err, "reset queue 0: bad move");
}

static void test_snapshot_keeps_sources_and_skips(void **state)
{
	struct rsm *s = *state;
	struct two t;
	two_init(&t, RSM_MOVE_ABSOLUTE, 9);
	apply_cmd(s, &t.cmd);
	assert_int_equal(rh_commit(s, "src", "pay", "broker-1", 0, 4, 0), 0);
	two_init(&t, RSM_MOVE_COPY, 0);
	apply_cmd(s, &t.cmd);
	struct rsm *c = rh_restored(s);
	uint32_t n = 0;
	const struct rsm_reset *rec = rsm_reset_find(c, 2, &n);
	assert_int_equal(n, 2);
	assert_string_equal(rec[1].topic, "pay");
	assert_string_equal(rec[1].source, "src");
	assert_false(rec[1].queues[0].skipped);
	assert_int_equal(rec[1].queues[0].offset, 4);
	assert_true(rec[1].queues[1].skipped);
	assert_int_equal(rec[1].queues[1].offset, 9);
	assert_string_equal(rsm_reset_find(c, 1, NULL)->source, "");
	rsm_free(c);
}

/* A full history forgets whole resets, never half of one. */
static void test_history_forgets_whole_resets(void **state)
{
	struct rsm *s = *state;
	struct two t;
	two_init(&t, RSM_MOVE_ABSOLUTE, 1);
	apply_cmd(s, &t.cmd); /* id 1: two records */
	t.cmd.n_parts = 1;
	for (uint32_t i = 0; i < RSM_HISTORY_MAX - 2; i++)
		apply_cmd(s, &t.cmd); /* ids 2..MAX-1 */
	assert_int_equal(rsm_reset_count(s), RSM_HISTORY_MAX);
	apply_cmd(s, &t.cmd); /* id MAX: drops both records of id 1 */
	assert_int_equal(rsm_reset_count(s), RSM_HISTORY_MAX - 1);
	assert_null(rsm_reset_find(s, 1, NULL));
	assert_int_equal(rsm_reset_at(s, 0)->id, 2);
	t.cmd.n_parts = 2;
	apply_cmd(s, &t.cmd); /* needs one more slot: drops id 2 */
	assert_int_equal(rsm_reset_count(s), RSM_HISTORY_MAX);
	assert_int_equal(rsm_reset_at(s, 0)->id, 3);
	uint32_t n = 0;
	assert_non_null(rsm_reset_find(s, RSM_HISTORY_MAX + 1, &n));
	assert_int_equal(n, 2);
}

/* A deleted topic takes its groups' offsets and its reset records with
 * it; the same name may be created again, only with a later `created`. */
static void test_delete_topic(void **state)
{
	struct rsm *s = *state;
	struct two t;
	two_init(&t, RSM_MOVE_ABSOLUTE, 5);
	apply_cmd(s, &t.cmd); /* id 1: orders and pay */
	t.cmd.n_parts = 1;
	apply_cmd(s, &t.cmd); /* id 2: orders */
	assert_int_equal(rh_commit(s, "src", "pay", "broker-1", 0, 3, 0), 0);
	assert_int_equal(rh_delete(s, rsm_encode_delete_topic, "pay"), RSM_OK);
	assert_null(rsm_topic_find(s, "pay"));
	assert_null(rsm_group_topic(rsm_group_find(s, "g"), "pay"));
	assert_null(rsm_group_topic(rsm_group_find(s, "src"), "pay"));
	assert_int_equal(rh_epoch(s, "g", "orders"), 2); /* untouched */
	uint32_t n = 0;
	assert_non_null(rsm_reset_find(s, 1, &n));
	assert_int_equal(n, 1); /* orders' record of reset 1 stays */
	assert_int_equal(rsm_reset_count(s), 2);
	assert_int_equal(rsm_topic_clock(s), 1000); /* rh_topic's created */
	assert_int_equal(rh_delete(s, rsm_encode_delete_topic, "pay"),
			 RSM_EUNKNOWN_TOPIC);
	/* Created again: only after the deleted one. */
	const char *b[] = {"broker-1"};
	assert_int_equal(rh_topic(s, "pay", 1, b, 1), RSM_EINVAL);
	struct raft_buffer buf;
	assert_int_equal(
	    rsm_encode_create_topic(
		&(struct rsm_topic_spec){"pay", 1, b, 1, 0, 0, 1001}, &buf,
		NULL, 0),
	    0);
	assert_int_equal(rh_apply(s, buf)->code, RSM_OK);
	assert_int_equal(rsm_topic_find(s, "pay")->created, 1001);
	assert_null(rsm_group_topic(rsm_group_find(s, "src"), "pay"));
	/* The clock survives a snapshot. */
	struct rsm *c = rh_restored(s);
	assert_int_equal(rsm_topic_clock(c), 1000);
	rsm_free(c);
}

/* The result of a delete names the topic and its incarnation. */
static void test_delete_topic_result(void **state)
{
	struct rsm *s = *state;
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_delete_topic("orders", &buf, NULL, 0), 0);
	const struct rsm_result *r = rh_apply(s, buf);
	assert_int_equal(r->type, RSM_CMD_DELETE_TOPIC);
	assert_int_equal(r->code, RSM_OK);
	assert_string_equal(r->deleted_topic, "orders");
	assert_int_equal(r->deleted_created, 1000);
	char err[128];
	assert_int_equal(rsm_encode_delete_topic("a b", &buf, err, sizeof err),
			 RSM_EINVAL);
	assert_string_equal(
	    err, "bad topic name 'a b': use 1-127 of A-Z a-z 0-9 . _ -");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_topics_reset_records_one_id),
	    T(test_topics_reset_all_or_nothing),
	    T(test_copy_of_another_group),
	    T(test_snapshot_keeps_sources_and_skips),
	    T(test_history_forgets_whole_resets),
	    T(test_delete_topic),
	    T(test_delete_topic_result),
	};
#undef T
	return cmocka_run_group_tests_name("raft/rsm_topics", tests, NULL,
					   NULL);
}
