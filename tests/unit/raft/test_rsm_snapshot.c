/*
 * Snapshots taken off the event loop (raft/snapshot_async.c): libraft's
 * version 3 FSM calls, driven by hand in the order libraft makes them —
 * snapshot (the copy, on the loop), the state moving on, snapshot_async
 * (the encoding, on a pool thread), snapshot_finalize.
 */
#include "rsm_helpers.h"

struct fx {
	struct rsm *s;
	struct raft_fsm fsm;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof *x);
	x->s = rsm_new();
	if (x == NULL || x->s == NULL)
		return -1;
	rsm_fsm_init(&x->fsm, x->s);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	rsm_free(x->s);
	free(x);
	return 0;
}

/* Resets all 6 queues of "orders" for group "g" to offset @to. */
static void reset_orders(struct rsm *s, int64_t to)
{
	struct rsm_reset_move m[6];
	rh_moves(m, 6, 2, RSM_MOVE_ABSOLUTE, to, NULL, NULL, 0);
	assert_int_equal(
	    rh_reset(s, 5000, "orders", RSM_TARGET_OFFSET, to, m, 6)->code,
	    RSM_OK);
}

/* The state restored from @buf, checked to have digest @want. */
static void assert_encodes(const struct raft_buffer *buf, uint64_t want)
{
	struct rsm *t = rsm_new();
	char err[256];
	assert_int_equal(rsm_restore(t, buf->base, buf->len, err, sizeof err),
			 0);
	assert_int_equal(rsm_digest(t), want);
	assert_int_equal(rh_offset(t, "g", "orders", "broker-2", 1), 7);
	assert_int_equal(rsm_reset_count(t), 1);
	assert_int_equal(rsm_reset_at(t, 0)->queues[0].offset, 7);
	rsm_free(t);
}

/* What the copy saw is what is encoded, whatever the state did meanwhile:
 * offsets committed, the reset the copy's history lends dropped twice over
 * (its group deleted, then the history filled past RSM_HISTORY_MAX). */
static void test_snapshot_encodes_the_state_at_the_copy(void **state)
{
	struct fx *x = *state;
	struct rsm *s = x->s;
	rh_standard(s);
	reset_orders(s, 7);
	uint64_t at_copy = rsm_digest(s);
	struct raft_buffer *bufs = (void *)1;
	unsigned n = 9;
	assert_int_equal(x->fsm.snapshot(&x->fsm, &bufs, &n), 0);
	assert_null(bufs);
	assert_int_equal(n, 0);
	/* One at a time. */
	assert_int_equal(x->fsm.snapshot(&x->fsm, &bufs, &n), RAFT_BUSY);

	assert_int_equal(rh_commit(s, "g", "orders", "broker-2", 1, 8, 1), 0);
	assert_int_equal(rh_delete(s, rsm_encode_delete_group, "g"), RSM_OK);
	assert_int_equal(rh_group(s, "g", RSM_CLUSTERING), RSM_OK);
	for (int i = 0; i < RSM_HISTORY_MAX + 1; i++)
		reset_orders(s, i % 5);
	assert_int_equal(rsm_reset_count(s), RSM_HISTORY_MAX);
	assert_true(rsm_digest(s) != at_copy);

	assert_int_equal(x->fsm.snapshot_async(&x->fsm, &bufs, &n), 0);
	assert_int_equal(n, 1);
	assert_encodes(&bufs[0], at_copy);
	size_t len = bufs[0].len;
	assert_int_equal(x->fsm.snapshot_finalize(&x->fsm, &bufs, &n), 0);
	assert_null(bufs);
	assert_int_equal(n, 0);
	const struct rsm_fsm_stats *st = rsm_fsm_stats(s);
	assert_int_equal(st->snapshots, 1);
	assert_int_equal(st->last_snapshot_bytes, len);
}

/* libraft finalizes without encoding when it cannot go on (the async work
 * not queued, the io closing): nothing counted, nothing left, and the
 * next snapshot is taken. */
static void test_snapshot_finalized_unencoded(void **state)
{
	struct fx *x = *state;
	struct rsm *s = x->s;
	rh_standard(s);
	reset_orders(s, 7);
	struct raft_buffer *bufs = NULL;
	unsigned n = 0;
	assert_int_equal(x->fsm.snapshot(&x->fsm, &bufs, &n), 0);
	assert_int_equal(rh_delete(s, rsm_encode_delete_group, "g"), RSM_OK);
	assert_int_equal(x->fsm.snapshot_finalize(&x->fsm, &bufs, &n), 0);
	assert_int_equal(rsm_fsm_stats(s)->snapshots, 0);

	assert_int_equal(x->fsm.snapshot(&x->fsm, &bufs, &n), 0);
	assert_int_equal(x->fsm.snapshot_async(&x->fsm, &bufs, &n), 0);
	struct rsm *t = rsm_new();
	char err[256];
	assert_int_equal(
	    rsm_restore(t, bufs[0].base, bufs[0].len, err, sizeof err), 0);
	assert_int_equal(rsm_digest(t), rsm_digest(s));
	assert_int_equal(rsm_reset_count(t), 0);
	rsm_free(t);
	assert_int_equal(x->fsm.snapshot_finalize(&x->fsm, &bufs, &n), 0);
	assert_int_equal(rsm_fsm_stats(s)->snapshots, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_snapshot_encodes_the_state_at_the_copy),
	    T(test_snapshot_finalized_unencoded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
