/*
 * The replicated state under libraft's deterministic in-memory cluster
 * (raft_fixture): every node applies the same entries into the same state,
 * through elections, partitions and snapshots.
 */
#include "rsm_helpers.h"

#include <raft/fixture.h>

#define N 3

/* What a node's rsm_on_applied hook saw. */
struct hooked {
	uint32_t entries, restores, resets;
};

struct fx {
	struct raft_fixture f;
	struct raft_fsm fsms[N];
	struct rsm *st[N];
	struct hooked hooked[N];
};

static void on_hook(void *arg, const struct rsm_result *res)
{
	struct hooked *h = arg;
	if (res == NULL)
		h->restores++;
	else
		h->entries++;
	if (res != NULL && res->type == RSM_CMD_RESET && res->code == RSM_OK)
		h->resets++;
}

/* What the leader's apply callback saw. */
struct applied {
	bool done;
	int status;
	int code;
	enum rsm_cmd_type type;
	uint64_t reset_id;
	uint64_t epoch;
	uint32_t n_items;
	int item_codes[8];
};

static void apply_cb(struct raft_apply *req, int status, void *result)
{
	struct applied *a = req->data;
	a->done = true;
	a->status = status;
	if (status != 0 || result == NULL)
		return;
	/* The result lives until the next apply: copy it now. */
	const struct rsm_result *r = result;
	a->code = r->code;
	a->type = r->type;
	a->n_items = r->n_items;
	for (uint32_t i = 0; i < r->n_items && i < 8; i++)
		a->item_codes[i] = r->item_codes[i];
	if (r->reset != NULL) {
		a->reset_id = r->reset->id;
		a->epoch = r->reset->epoch;
	}
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof *x);
	/* The memset matters: initialize does not zero every field
	 * (notes/libraft-0.15.md). */
	memset(&x->f, 0, sizeof x->f);
	if (raft_fixture_initialize(&x->f) != 0)
		return -1;
	for (int i = 0; i < N; i++) {
		x->st[i] = rsm_new();
		rsm_fsm_init(&x->fsms[i], x->st[i]);
		rsm_on_applied(x->st[i], on_hook, &x->hooked[i]);
		/* The fixture's io implements async_work but, like raft_uv,
		 * says version 0, which raft_init refuses for a version 3
		 * FSM: grown as version 1, then made what the daemon runs
		 * (snapshots encoded in the fixture's async work). */
		x->fsms[i].version = 1;
		if (raft_fixture_grow(&x->f, &x->fsms[i]) != 0)
			return -1;
		struct raft *r = raft_fixture_get(&x->f, (unsigned)i);
		assert_non_null(r->io->async_work);
		r->io->version = 2;
		x->fsms[i].version = 3;
		raft_set_pre_vote(raft_fixture_get(&x->f, (unsigned)i), true);
	}
	struct raft_configuration conf;
	if (raft_fixture_configuration(&x->f, N, &conf) != 0)
		return -1;
	int rv = raft_fixture_bootstrap(&x->f, &conf);
	raft_configuration_close(&conf);
	if (rv != 0 || raft_fixture_start(&x->f) != 0)
		return -1;
	raft_fixture_elect(&x->f, 0);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	raft_fixture_close(&x->f);
	for (int i = 0; i < N; i++)
		rsm_free(x->st[i]);
	free(x);
	return 0;
}

/* Proposes @buf on node @i; returns the index it will have. */
static raft_index propose(struct fx *x, unsigned i, struct raft_buffer buf,
			  struct raft_apply *req, struct applied *a)
{
	struct raft *r = raft_fixture_get(&x->f, i);
	memset(a, 0, sizeof *a);
	req->data = a;
	int rv = raft_apply(r, req, &buf, 1, apply_cb);
	if (rv != 0) {
		raft_free(buf.base);
		fail_msg("raft_apply on %u: %s", i, raft_strerror(rv));
	}
	return raft_last_index(r);
}

/* Proposes on @i and steps until every live node applied it. */
static struct applied commit_everywhere(struct fx *x, unsigned i,
					struct raft_buffer buf)
{
	struct raft_apply req;
	struct applied a;
	raft_index idx = propose(x, i, buf, &req, &a);
	assert_true(raft_fixture_step_until_applied(&x->f, N, idx, 5000));
	assert_true(a.done);
	assert_int_equal(a.status, 0);
	return a;
}

static void setup_topic(struct fx *x, unsigned leader)
{
	const char *names[] = {"broker-1", "broker-2", "broker-3"};
	for (uint64_t id = 1; id <= 3; id++) {
		struct rsm_broker b;
		memset(&b, 0, sizeof b);
		b.id = id;
		snprintf(b.name, sizeof b.name, "%s", names[id - 1]);
		struct raft_buffer buf;
		assert_int_equal(rsm_encode_register_broker(&b, &buf, NULL, 0),
				 0);
		assert_int_equal(commit_everywhere(x, leader, buf).code, 0);
	}
	struct raft_buffer buf;
	assert_int_equal(
	    rsm_encode_create_topic(
		&(struct rsm_topic_spec){"orders", 4, names, 3, 0, 0, 1}, &buf,
		NULL, 0),
	    0);
	assert_int_equal(commit_everywhere(x, leader, buf).code, 0);
	assert_int_equal(rsm_encode_create_group("g", RSM_CLUSTERING,
						 RSM_INITIAL_LATEST, 2, NULL,
						 NULL, 0, &buf, NULL, 0),
			 0);
	assert_int_equal(commit_everywhere(x, leader, buf).code, 0);
}

static struct raft_buffer commit_buf(const char *broker, uint32_t q,
				     uint64_t offset, uint64_t epoch)
{
	struct rsm_commit c;
	assert_int_equal(
	    rsm_commit_init(&c, "g", "orders", broker, q, offset, epoch), 0);
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_commit(&c, 1, &buf, NULL, 0), 0);
	return buf;
}

/* Reset every queue of "orders" to @to. */
static struct raft_buffer reset_buf(uint64_t to)
{
	struct rsm_reset_move m[12];
	rh_moves(m, 12, 4, RSM_MOVE_ABSOLUTE, (int64_t)to, NULL, NULL, 0);
	struct rsm_reset_part pt = {"orders", 12, m, false, 0};
	struct rsm_reset_cmd c = {9,	       "ops", "g", RSM_TARGET_OFFSET,
				  (int64_t)to, NULL,  1,   &pt};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
	return buf;
}

static void assert_same_everywhere(struct fx *x)
{
	uint64_t d = rsm_digest(x->st[0]);
	for (int i = 1; i < N; i++)
		if (rsm_digest(x->st[i]) != d)
			fail_msg("node %d state differs from node 0", i);
}

static void test_fsm_identical_state_on_every_node(void **state)
{
	struct fx *x = *state;
	setup_topic(x, 0);
	for (uint32_t q = 0; q < 4; q++)
		assert_int_equal(commit_everywhere(
				     x, 0, commit_buf("broker-2", q, 10 + q, 0))
				     .item_codes[0],
				 RSM_OK);
	assert_same_everywhere(x);
	for (int i = 0; i < N; i++) {
		assert_int_equal(
		    rh_offset(x->st[i], "g", "orders", "broker-2", 3), 13);
		assert_int_equal(rsm_rejected(x->st[i]), 0);
		/* The hook saw each entry: 3 brokers, topic, group, 4. */
		assert_int_equal(x->hooked[i].entries, 9);
		assert_int_equal(x->hooked[i].restores, 0);
	}
}

static void test_fsm_leader_callback_sees_result(void **state)
{
	struct fx *x = *state;
	setup_topic(x, 0);
	struct applied a = commit_everywhere(x, 0, reset_buf(5));
	assert_int_equal(a.type, RSM_CMD_RESET);
	assert_int_equal(a.code, RSM_OK);
	assert_int_equal(a.reset_id, 1);
	assert_int_equal(a.epoch, 1);
	/* A commit read under epoch 0 after the reset: refused, and the
	 * refusal reaches the proposer. */
	a = commit_everywhere(x, 0, commit_buf("broker-1", 0, 900, 0));
	assert_int_equal(a.type, RSM_CMD_COMMIT);
	assert_int_equal(a.n_items, 1);
	assert_int_equal(a.item_codes[0], RSM_ESTALE_EPOCH);
	for (int i = 0; i < N; i++)
		assert_int_equal(
		    rh_offset(x->st[i], "g", "orders", "broker-1", 0), 5);
	assert_same_everywhere(x);
}

static void test_fsm_new_leader_serves_and_resets(void **state)
{
	struct fx *x = *state;
	setup_topic(x, 0);
	commit_everywhere(x, 0, commit_buf("broker-3", 1, 44, 0));
	/* The leader dies; a new one is elected among the survivors. */
	raft_fixture_kill(&x->f, 0);
	assert_true(raft_fixture_step_until_has_no_leader(&x->f, 10000));
	assert_true(raft_fixture_step_until_has_leader(&x->f, 20000));
	unsigned l = raft_fixture_leader_index(&x->f);
	assert_true(l == 1 || l == 2);
	assert_int_equal(rh_offset(x->st[l], "g", "orders", "broker-3", 1), 44);
	struct raft_apply req;
	struct applied a;
	raft_index idx = propose(x, l, reset_buf(7), &req, &a);
	unsigned other = l == 1 ? 2 : 1;
	assert_true(raft_fixture_step_until_applied(&x->f, l, idx, 5000));
	assert_true(raft_fixture_step_until_applied(&x->f, other, idx, 5000));
	assert_int_equal(a.code, RSM_OK);
	assert_int_equal(a.epoch, 1);
	/* The old leader comes back and catches up to the same state. */
	raft_fixture_revive(&x->f, 0);
	assert_true(raft_fixture_step_until_applied(&x->f, 0, idx, 20000));
	assert_same_everywhere(x);
	assert_int_equal(rh_offset(x->st[0], "g", "orders", "broker-3", 1), 7);
}

static void partition(struct fx *x, unsigned i, bool cut)
{
	for (unsigned j = 0; j < N; j++) {
		if (j == i)
			continue;
		if (cut) {
			raft_fixture_disconnect(&x->f, i, j);
			raft_fixture_disconnect(&x->f, j, i);
		} else {
			raft_fixture_reconnect(&x->f, i, j);
			raft_fixture_reconnect(&x->f, j, i);
		}
	}
}

/* The fixture only reports a leader that every live node can reach; with a
 * node cut off, look at the majority's states directly. */
static bool majority_leads(struct raft_fixture *f, void *arg)
{
	unsigned *out = arg;
	for (unsigned i = 1; i < N; i++) {
		if (raft_state(raft_fixture_get(f, i)) == RAFT_LEADER) {
			*out = i;
			return true;
		}
	}
	return false;
}

static void test_fsm_minority_cannot_commit(void **state)
{
	struct fx *x = *state;
	setup_topic(x, 0);
	/* Cut the leader off: its reset cannot commit. */
	partition(x, 0, true);
	struct raft_apply req0;
	struct applied a0;
	propose(x, 0, reset_buf(111), &req0, &a0);
	/* The majority elects a leader and resets elsewhere. */
	unsigned l = N;
	assert_true(raft_fixture_step_until(&x->f, majority_leads, &l, 20000));
	assert_true(l == 1 || l == 2);
	struct raft_apply req;
	struct applied a;
	raft_index idx = propose(x, l, reset_buf(222), &req, &a);
	assert_true(raft_fixture_step_until_applied(&x->f, l, idx, 5000));
	assert_int_equal(a.code, RSM_OK);
	/* The isolated node never applied its own proposal. */
	assert_int_equal(rh_epoch(x->st[0], "g", "orders"), 0);
	assert_true(a0.done); /* failed when it stepped down */
	assert_int_not_equal(a0.status, 0);
	/* Heal: the minority's entry is discarded, everyone agrees. */
	partition(x, 0, false);
	assert_true(raft_fixture_step_until_applied(&x->f, N, idx, 20000));
	assert_same_everywhere(x);
	for (int i = 0; i < N; i++) {
		assert_int_equal(
		    rh_offset(x->st[i], "g", "orders", "broker-1", 2), 222);
		assert_int_equal(rh_epoch(x->st[i], "g", "orders"), 1);
		assert_int_equal(rsm_reset_count(x->st[i]), 1);
	}
}

static void test_fsm_snapshot_install_catches_up(void **state)
{
	struct fx *x = *state;
	for (unsigned i = 0; i < N; i++) {
		raft_set_snapshot_threshold(raft_fixture_get(&x->f, i), 8);
		raft_set_snapshot_trailing(raft_fixture_get(&x->f, i), 4);
	}
	setup_topic(x, 0);
	/* Node 2 misses everything that follows... */
	partition(x, 2, true);
	raft_index idx = 0;
	for (uint64_t k = 0; k < 40; k++) {
		struct raft_apply req;
		struct applied a;
		idx = propose(x, 0,
			      commit_buf("broker-2", (uint32_t)(k % 4), k, 0),
			      &req, &a);
		assert_true(
		    raft_fixture_step_until_applied(&x->f, 1, idx, 5000));
		assert_true(
		    raft_fixture_step_until_applied(&x->f, 0, idx, 5000));
	}
	struct raft_apply req;
	struct applied a;
	idx = propose(x, 0, reset_buf(3), &req, &a);
	assert_true(raft_fixture_step_until_applied(&x->f, 0, idx, 5000));
	/* ...which the leader has compacted away: it must send a snapshot. */
	assert_true(raft_fixture_get(&x->f, 0)->log.snapshot.last_index > 8);
	assert_true(rsm_fsm_stats(x->st[0])->snapshots >= 1); /* encoded */
	assert_int_equal(raft_fixture_get(&x->f, 2)->log.snapshot.last_index,
			 0);
	partition(x, 2, false);
	assert_true(raft_fixture_step_until_applied(&x->f, 2, idx, 20000));
	/* It caught up from an installed snapshot, not from the log. */
	assert_true(raft_fixture_get(&x->f, 2)->log.snapshot.last_index > 8);
	assert_same_everywhere(x);
	assert_int_equal(rh_offset(x->st[2], "g", "orders", "broker-2", 3), 3);
	assert_int_equal(rsm_reset_count(x->st[2]), 1);
	/* Every hook saw the reset; node 2's also saw the snapshot, which
	 * the leader took before the reset entry (kept in its log). */
	assert_int_equal(x->hooked[0].resets, 1);
	assert_int_equal(x->hooked[2].restores, 1);
	assert_int_equal(x->hooked[2].resets, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_fsm_identical_state_on_every_node),
	    T(test_fsm_leader_callback_sees_result),
	    T(test_fsm_new_leader_serves_and_resets),
	    T(test_fsm_minority_cannot_commit),
	    T(test_fsm_snapshot_install_catches_up),
	};
#undef T
	return cmocka_run_group_tests_name("raft/fsm", tests, NULL, NULL);
}
