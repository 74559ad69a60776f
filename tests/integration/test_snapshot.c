/*
 * Raft snapshots of the replicated state in a running cluster (issue 16):
 * with snapshot_threshold = 64 every node takes snapshots as commits are
 * applied and /metrics counts them; a follower stopped while the leader's
 * log moved past what it holds comes back by InstallSnapshot (its second
 * restore: its own snapshot at start, then the leader's) and ends with
 * the leader's offsets. A broker whose snapshot shows it leading a
 * replicated queue that another broker took over while it was down does
 * not lead it again from that snapshot: it waits until its state is
 * current, and nothing it acknowledges overwrites what the new leader
 * acknowledged.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test_util.h"
#include "harness.h"

#define THRESHOLD 64
#define TRAILING 16

/* 500 messages in queue 0 of broker-1 (served offsets are clamped to
 * the queue's end). */
static int fill(struct harness *h)
{
	static uint8_t p[500 * 13];
	struct rpc_produce_req in = {"t",
				     0,
				     500,
				     0,
				     {p, h_records(p, 500, 1)},
				     0,
				     0,
				     "broker-1",
				     RPC_ACKS_LEADER};
	return h_call_code(h->nodes[0].listen, RPC_PRODUCE, &in, 5000) == RPC_OK
		   ? 0
		   : -1;
}

static int setup(void **state)
{
	struct harness *h = calloc(1, sizeof *h);
	if (h == NULL || h_init(h, 3) != 0 ||
	    h_set_snapshots(h, THRESHOLD, TRAILING) != 0)
		return -1;
	*state = h;
	if (h_start_all(h) != 0 || h_create_topic(h, "t", 1) != 0 ||
	    h_create_group(h, "g", "clustering", NULL) != 0 || fill(h) != 0)
		return -1;
	return 0;
}

/* @n commits, one at a time (one Raft entry each), of offsets
 * @from .. @from + n - 1 to queue 0 of broker-1. */
static void commit_many(struct harness *h, uint64_t from, int n)
{
	for (int i = 0; i < n; i++) {
		struct rpc_commit_item it = {"t", "broker-1", 0,
					     from + (uint64_t)i, 0};
		struct rpc_commit_req req = {"g", "m", {&it, 1}};
		assert_int_equal(h_call_code(h->nodes[h->leader].listen,
					     RPC_COMMIT, &req, 5000),
				 RPC_OK);
	}
}

static double metric(struct harness *h, int i, const char *name)
{
	double v = h_metric(h, i, name);
	if (isnan(v))
		fail_msg("node %d has no %s", i + 1, name);
	return v;
}

/* Waits up to 10 s until node @i (maybe starting) applied the leader's
 * commit index. */
static void wait_applied(struct harness *h, int i)
{
	double want = metric(h, h->leader, "raftq_raft_commit_index");
	int64_t until = h_now_ms() + 10000;
	for (;;) {
		double got = h_metric(h, i, "raftq_raft_applied_index");
		if (!isnan(got) && got >= want)
			break;
		if (h_now_ms() > until)
			fail_msg("node %d did not apply index %.0f", i + 1,
				 want);
		usleep(20000);
	}
}

/* The offset of queue 0 of broker-1 for group g, as node @i answers. */
static uint64_t committed(struct harness *h, int i)
{
	struct rpc_offsets_req q = {"g", "t"};
	struct ctl_resp r;
	h_call(h->nodes[i].listen, RPC_OFFSETS, &q, 5000, &r);
	if (r.err != 0)
		fail_msg("OFFSETS to node %d: %s", i + 1, r.why);
	if (r.st.code != RPC_OK)
		fail_msg("OFFSETS to node %d: %u %s", i + 1, r.st.code,
			 r.st.message);
	const struct rpc_offsets_resp *o = r.body;
	const struct rpc_offset_info *q0 = o->queues.v;
	uint64_t v = UINT64_MAX;
	for (uint32_t k = 0; k < o->queues.n; k++)
		if (strcmp(q0[k].broker_name, "broker-1") == 0 &&
		    q0[k].queue_id == 0)
			v = q0[k].offset;
	ctl_resp_free(&r);
	return v;
}

static void test_snapshots_counted(void **state)
{
	struct harness *h = *state;
	commit_many(h, 1, 200);
	for (int i = 0; i < 3; i++) {
		wait_applied(h, i);
		double applied = metric(h, i, "raftq_raft_applied_index");
		double taken = metric(h, i, "raftq_raft_snapshots_total");
		double index = metric(h, i, "raftq_raft_snapshot_index");
		print_message("node %d: applied %.0f, %.0f snapshots, last at "
			      "%.0f\n",
			      i + 1, applied, taken, index);
		/* One per THRESHOLD applied entries, none while one is put. */
		assert_true(taken >= 2 && taken <= floor(applied / THRESHOLD));
		assert_true(index >= THRESHOLD && index <= applied);
		assert_true(metric(h, i, "raftq_raft_snapshot_bytes") > 0);
		assert_true(metric(h, i, "raftq_raft_snapshot_seconds_total") >
			    0);
		assert_true(
		    metric(h, i, "raftq_raft_snapshot_encode_seconds_total") >
		    0);
		assert_true(metric(h, i, "raftq_raft_restores_total") == 0);
		/* Each snapshot closed the open log segment, whose AIO
		 * context raftqd's syscall() destroyed off the loop. */
		assert_true(
		    metric(h, i, "raftq_raft_aio_destroys_deferred_total") >=
		    1);
		assert_true(
		    metric(h, i, "raftq_raft_aio_destroys_in_place_total") ==
		    0);
	}
}

static void test_follower_catches_up_by_snapshot_install(void **state)
{
	struct harness *h = *state;
	int f = (h->leader + 1) % 3;
	commit_many(h, 1, 100); /* f has a snapshot of its own */
	wait_applied(h, f);
	/* ...stored: encoded off the loop, it is counted once on disk, and
	 * a kill before that would leave f none to restore at start. */
	for (int i = 0;
	     i < 500 && metric(h, f, "raftq_raft_snapshots_total") < 1; i++)
		usleep(10000); /* <= 5 s */
	assert_true(metric(h, f, "raftq_raft_snapshots_total") >= 1);
	h_kill(h, f);
	commit_many(h, 101, 300); /* the leader's log moves past f's end */
	/* The leader's last snapshot of those is stored (encoded off the
	 * loop): one still in flight when f asks would compact the log past
	 * the snapshot just sent, and f would be sent a second. */
	double leader_snap = h_snapshot_settled(h, h->leader);
	assert_false(isnan(leader_snap));
	assert_int_equal(h_start(h, f), 0);
	wait_applied(h, f);
	/* Its own snapshot at start, then the one the leader installed. */
	double restores = metric(h, f, "raftq_raft_restores_total");
	if (restores != 2)
		fail_msg("node %d restored %.0f snapshots, not 2", f + 1,
			 restores);
	assert_true(metric(h, f, "raftq_raft_restore_seconds_total") > 0);
	assert_true(metric(h, f, "raftq_raft_snapshot_index") >= leader_snap);
	/* f alone holds the next commit with the leader; then the leader
	 * goes and only f can win: it answers with the offsets it built on
	 * the installed snapshot. */
	int o = (f + 1) % 3;
	assert_true(o != h->leader);
	h_kill(h, o);
	commit_many(h, 401, 1);
	h_kill(h, h->leader);
	assert_int_equal(h_start(h, o), 0);
	int64_t until = h_now_ms() + 15000;
	while (h_call_code(h->nodes[f].listen, RPC_OFFSETS,
			   &(struct rpc_offsets_req){"g", "t"}, 2000) != RPC_OK)
		assert_true(h_now_ms() < until);
	assert_int_equal(committed(h, f), 401);
}

/* Produces one batch of 3 records to (s, @home, 0) at @addr with @acks:
 * the answer's code, its base offset in *base, its message in @why. */
static uint32_t produce_s(const char *addr, const char *home, uint32_t acks,
			  uint64_t *base, char *why, size_t len)
{
	uint8_t p[64];
	struct rpc_produce_req in = {"s", 0, 0,	   0,	{p, h_records(p, 3, 7)},
				     0,	  0, home, acks};
	in.count = 3;
	struct ctl_resp r;
	h_call(addr, RPC_PRODUCE, &in, 3000, &r);
	uint32_t code = r.err != 0 ? UINT32_MAX : r.st.code;
	snprintf(why, len, "%s",
		 r.err != 0	? r.why
		 : r.st.message ? r.st.message
				: "");
	if (code == RPC_OK)
		*base = ((const struct rpc_produce_resp *)r.body)->base_offset;
	ctl_resp_free(&r);
	return code;
}

/* Waits up to 20 s until a broker other than @b (0-based) leads
 * (s, broker-b+1, 0): its client address into @out. */
static void wait_taken_over(struct harness *h, int b, char *out, size_t len)
{
	for (int64_t until = h_now_ms() + 20000;; usleep(50000)) {
		if (h_queue_leader_addr(h, "s", (uint32_t)b, out, len) &&
		    strcmp(out, h->nodes[b].listen) != 0)
			return;
		if (h_now_ms() > until)
			fail_msg("no broker took queue %d of s over", b);
	}
}

static void test_restart_does_not_lead_from_a_stale_snapshot(void **state)
{
	struct harness *h = *state;
	int b = (h->leader + 1) % 3;
	char home[32], addr[64], why[600];
	snprintf(home, sizeof home, "broker-%d", b + 1);
	assert_int_equal(h_create_topic_rf(h, "s", 1, 3), 0);
	assert_int_equal(h_wait_homes_lead(h, "s", 10000), 0);
	uint64_t base = UINT64_MAX;
	assert_int_equal(produce_s(h->nodes[b].listen, home, RPC_ACKS_ALL,
				   &base, why, sizeof why),
			 RPC_OK);
	assert_int_equal(base, 0);
	/* b's next snapshot shows it leading its queue. */
	double before = metric(h, b, "raftq_raft_snapshots_total");
	commit_many(h, 1, 100);
	for (int i = 0;
	     i < 500 && metric(h, b, "raftq_raft_snapshots_total") < before + 1;
	     i++)
		usleep(10000); /* <= 5 s */
	assert_true(metric(h, b, "raftq_raft_snapshots_total") >= before + 1);
	char leading[100];
	snprintf(leading, sizeof leading, "queue s/%s/0: leading in epoch ",
		 home);
	int led = h_log_count(h, b, leading);
	assert_true(led >= 1);
	h_kill(h, b);
	wait_taken_over(h, b, addr, sizeof addr);
	for (int64_t until = h_now_ms() + 10000;; usleep(50000)) {
		uint32_t c =
		    produce_s(addr, home, RPC_ACKS_ALL, &base, why, sizeof why);
		if (c == RPC_OK)
			break;
		if (h_now_ms() > until)
			fail_msg("the new leader refused: %u %s", c, why);
	}
	assert_int_equal(base, 3); /* acknowledged by the new leader */
	/* b comes back alone: it restores the snapshot and hears from no
	 * leader, so its state cannot be known current. */
	for (int i = 0; i < 3; i++)
		if (i != b)
			h_kill(h, i);
	assert_int_equal(h_start(h, b), 0);
	for (int i = 0;
	     i < 500 && isnan(h_metric(h, b, "raftq_raft_restores_total")); i++)
		usleep(10000); /* <= 5 s: until it answers */
	for (int k = 0; k < 10; k++, usleep(100000)) {
		uint32_t c = produce_s(h->nodes[b].listen, home,
				       RPC_ACKS_LEADER, &base, why, sizeof why);
		if (c != RPC_UNAVAILABLE)
			fail_msg("b, not current, answered %u at offset %llu: "
				 "%s",
				 c, (unsigned long long)base, why);
	}
	assert_true(metric(h, b, "raftq_raft_restores_total") == 1);
	/* ...and it did not take the queue up again from that snapshot
	 * (serving the followers' fetches as their leader, it would have
	 * had them cut what the other leader acknowledged). */
	assert_int_equal(h_log_count(h, b, leading), led);
	/* The cluster back: b catches up, leads its queue again, and the
	 * next batch follows the one the other leader acknowledged. */
	for (int i = 0; i < 3; i++)
		if (i != b)
			assert_int_equal(h_start(h, i), 0);
	assert_int_equal(h_wait_homes_lead(h, "s", 30000), 0);
	assert_int_equal(produce_s(h->nodes[b].listen, home, RPC_ACKS_ALL,
				   &base, why, sizeof why),
			 RPC_OK);
	assert_int_equal(base, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_snapshots_counted, setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_follower_catches_up_by_snapshot_install, setup,
		h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_restart_does_not_lead_from_a_stale_snapshot, setup,
		h_teardown),
	};
	return cmocka_run_group_tests_name("integration/snapshot", tests, NULL,
					   NULL);
}
