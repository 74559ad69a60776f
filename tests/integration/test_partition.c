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
	struct rpc_topic_create_req q = {topic, 1, {NULL, 0}, 0, 0};
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
	struct rpc_status_req q = {true, NULL};
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
	struct rpc_group_create_req g = {"g", NULL, NULL, {NULL, 0}, 0};
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

static uint32_t call_code(struct harness *h, int i, uint16_t type,
			  const void *req, struct ctl_resp *r)
{
	h_call(h->nodes[i].listen, type, req, 10000, r);
	return r->err ? 1000u + (uint32_t)-r->err : r->st.code;
}

/* Issue 10 #2: a broker whose Raft traffic is cut (its client port still
 * reachable) did not apply a reset of a queue it hosts; the reset was
 * answered as simply applied, and a fetch under the old epoch got the
 * pre-reset data (code 0). Now the answer names the lagging broker, and
 * the broker, knowing from the leader that it is behind, serves no fetch
 * until it has applied the reset — then OFFSET_MOVED. */
static void test_regress_lagging_broker_serves_stale_fetch(void **state)
{
	struct harness *h = *state;
	int l = h_wait_leader(h, 3, 15000), f = (l + 1) % 3;
	struct ctl_resp r;
	assert_true(l >= 0);
	assert_int_equal(create(h, l, "t", 5000), RPC_OK);
	assert_int_equal(h_create_group(h, "g", NULL, NULL), 0);
	uint8_t p[64];
	struct rpc_produce_req pr = {"t", 0, 3,	   0, {p, h_records(p, 3, 1)},
				     0,	  0, NULL, 0};
	assert_int_equal(call_code(h, f, RPC_PRODUCE, &pr, &r), RPC_OK);
	ctl_resp_free(&r);
	struct rpc_reset_req rq = h_reset_req("g", "t", "latest", 0);
	assert_int_equal(call_code(h, l, RPC_RESET, &rq, &r), RPC_OK);
	ctl_resp_free(&r); /* epoch 1: every queue at its end */
	h_cut(h, f);
	rq.target = "earliest";
	assert_int_equal(call_code(h, l, RPC_RESET, &rq, &r), RPC_OK);
	const struct rpc_reset_resp *rr = r.body;
	char name[32];
	snprintf(name, sizeof name, "broker-%d", f + 1);
	assert_int_equal(rr->lagging.n, 1);
	assert_string_equal(rr->lagging.v[0], name);
	ctl_resp_free(&r); /* epoch 2, not applied on broker f */
	struct rpc_fetch_req fq = {"g", "t", 0, 0, 1, 0, 0, NULL, NULL};
	uint32_t code = call_code(h, f, RPC_FETCH, &fq, &r);
	assert_int_equal(code, RPC_UNAVAILABLE);
	print_message("the lagging broker answered: %s\n", r.st.message);
	assert_non_null(strstr(r.st.message, name));
	ctl_resp_free(&r);
	h_heal(h, f);
	int64_t end = h_now_ms() + 10000;
	while ((code = call_code(h, f, RPC_FETCH, &fq, &r)) !=
		   RPC_OFFSET_MOVED &&
	       h_now_ms() < end) {
		assert_int_not_equal(code, RPC_OK);
		ctl_resp_free(&r);
		usleep(50000); /* bounded by the 10 s deadline */
	}
	assert_int_equal(code, RPC_OFFSET_MOVED);
	assert_int_equal(((const struct rpc_fetch_resp *)r.body)->epoch, 2);
	ctl_resp_free(&r);
}

/* Node @i's applied index (its own line of CLUSTER_STATUS), or 0. */
static uint64_t applied_at(struct harness *h, int i)
{
	struct ctl_resp r;
	struct rpc_status_req q = {true, NULL};
	uint64_t a = 0;
	if (call_code(h, i, RPC_CLUSTER_STATUS, &q, &r) == RPC_OK &&
	    ((const struct rpc_status_resp *)r.body)->nodes.n == 1)
		a = ((const struct rpc_node_status
			  *)((const struct rpc_status_resp *)r.body)
			 ->nodes.v)[0]
			.applied_index;
	ctl_resp_free(&r);
	return a;
}

/* Waits until follower @f has applied everything leader @l has (at most
 * 5 s), so the next entry is the one after what both hold. */
static void wait_quiet(struct harness *h, int l, int f)
{
	int64_t end = h_now_ms() + 5000;
	uint64_t al = 0;
	while ((al = applied_at(h, l)) != applied_at(h, f) && h_now_ms() < end)
		usleep(20000); /* bounded by the 5 s deadline */
	assert_int_equal(applied_at(h, f), al);
}

/* Found by the nemesis (raw fetcher, an isolate healed and cut again): a
 * reset waited for its hosting brokers to apply index - 1, not its own
 * entry (libraft's last applied index is one short inside the apply
 * callback), so a broker cut off exactly after the entry before the reset
 * counted as caught up: the reset came back at once naming no lagging
 * broker, and that broker served the old epoch's data. */
static void test_regress_sync_takes_entry_before_for_reset(void **state)
{
	struct harness *h = *state;
	int l = h_wait_leader(h, 3, 15000), f = (l + 1) % 3;
	struct ctl_resp r;
	assert_true(l >= 0);
	assert_int_equal(create(h, l, "t", 5000), RPC_OK);
	assert_int_equal(h_create_group(h, "g", NULL, NULL), 0);
	struct rpc_reset_req rq = h_reset_req("g", "t", "latest", 0);
	assert_int_equal(call_code(h, l, RPC_RESET, &rq, &r), RPC_OK);
	ctl_resp_free(&r); /* epoch 1 */
	wait_quiet(h, l, f);
	h_cut(h, f); /* the reset will be entry al + 1 */
	rq.target = "earliest";
	int64_t t0 = h_now_ms();
	assert_int_equal(call_code(h, l, RPC_RESET, &rq, &r), RPC_OK);
	const struct rpc_reset_resp *rr = r.body;
	print_message("reset answered after %lld ms, %u lagging\n",
		      (long long)(h_now_ms() - t0), rr->lagging.n);
	char name[32];
	snprintf(name, sizeof name, "broker-%d", f + 1);
	assert_int_equal(rr->epoch, 2);
	assert_int_equal(rr->lagging.n, 1);
	assert_string_equal(rr->lagging.v[0], name);
	ctl_resp_free(&r);
	struct rpc_fetch_req fq = {"g", "t", 0, 0, 1, 0, 0, NULL, NULL};
	assert_int_equal(call_code(h, f, RPC_FETCH, &fq, &r), RPC_UNAVAILABLE);
	ctl_resp_free(&r);
	h_heal(h, f);
}

/* The same bug in the "everywhere" wait of topic and group creation: a
 * node cut off right after the entry before the change counted as having
 * applied it, so the change was answered while that node would still say
 * "does not exist" (seen as a rare UNKNOWN_GROUP in test_data). */
static void test_regress_sync_takes_entry_before_for_create(void **state)
{
	struct harness *h = *state;
	int l = h_wait_leader(h, 3, 15000), f = (l + 1) % 3;
	assert_true(l >= 0);
	assert_int_equal(create(h, l, "t", 5000), RPC_OK);
	wait_quiet(h, l, f);
	h_cut(h, f);
	assert_int_equal(h_create_group(h, "g", NULL, NULL), 0);
	assert_true(h_log_has(h, l,
			      "GROUP_CREATE: a node did not confirm the change "
			      "within 2000 ms"));
	h_heal(h, f);
}

/* Produces one batch of 3 records (seed @seed) to queue 0 of home @home of
 * topic r at @addr with acks=all: the answer's code, the offset in *base. */
static uint32_t produce_at(const char *addr, const char *home, uint32_t seed,
			   uint64_t *base)
{
	uint8_t p[64];
	struct rpc_produce_req in = {
	    "r", 0, 3, 0, {p, h_records(p, 3, seed)}, 0, 0, home, RPC_ACKS_ALL};
	struct ctl_resp r;
	h_call(addr, RPC_PRODUCE, &in, 10000, &r);
	uint32_t code = r.err ? 1000u + (uint32_t)-r.err : r.st.code;
	if (code == RPC_OK)
		*base = ((const struct rpc_produce_resp *)r.body)->base_offset;
	else
		print_message("produce at %s: %s\n", addr,
			      r.st.message ? r.st.message : "transport error");
	ctl_resp_free(&r);
	return code;
}

/* The leader of queue r/@home/0 as node @via's describe says ("" if none
 * or no answer), into @out. */
static void leader_by(struct harness *h, int via, const char *home, char *out,
		      size_t len)
{
	struct rpc_topic_req d = {"r"};
	struct ctl_resp r;
	out[0] = '\0';
	h_call(h->nodes[via].listen, RPC_TOPIC_DESCRIBE, &d, 3000, &r);
	if (r.err == 0 && r.st.code == RPC_OK) {
		const struct rpc_topic_describe_resp *t = r.body;
		const struct rpc_queue_info *q = t->queues.v;
		for (uint32_t k = 0; k < t->queues.n; k++)
			if (strcmp(q[k].broker_name, home) == 0 &&
			    q[k].leader_broker != NULL)
				snprintf(out, len, "%s", q[k].leader_broker);
	}
	ctl_resp_free(&r);
}

/* Checks that queue r/@home/0 read at @addr holds exactly the batches of
 * @seeds (3 records each, in order) and nothing else. */
static void holds_exactly(const char *addr, const char *home,
			  const uint32_t *seeds, int n)
{
	struct rpc_fetch_req fr = {NULL, "r", 0, 0, 0, 1u << 20, 0, NULL, home};
	struct ctl_resp r;
	h_call(addr, RPC_FETCH, &fr, 5000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("fetch at %s: %s", addr, r.st.message);
	const struct rpc_fetch_resp *f = r.body;
	size_t pos = 0;
	struct rpc_batch bt;
	int k = 0;
	while (rpc_batch_next(f->batches.ptr, f->batches.len, &pos, &bt) == 1) {
		assert_true(k < n);
		uint8_t want[64];
		uint32_t len = h_records(want, 3, seeds[k]);
		assert_int_equal(bt.base_offset, (uint64_t)k * 3);
		assert_int_equal(bt.payload_len, len);
		assert_memory_equal(bt.payload, want, len);
		k++;
	}
	assert_int_equal(k, n);
	assert_int_equal(f->max_offset, (uint64_t)n * 3);
	ctl_resp_free(&r);
}

/* Issue 15: a queue leader cut off from the cluster (its Raft port and
 * its client port as its peers reach it) is replaced; a write it takes
 * after that is never acknowledged (its followers fetch from the new
 * leader now), and when it rejoins, the divergent tail it wrote is cut
 * and it holds the new leader's log. The cut broker is the Raft leader
 * too: both die together as far as the others can tell. */
static void test_partition_fenced_leader_cannot_acknowledge(void **state)
{
	struct harness *h = *state;
	int l = h_wait_leader(h, 3, 15000);
	assert_true(l >= 0);
	assert_int_equal(h_create_topic_rf(h, "r", 1, 3), 0);
	char home[32], lead[32];
	snprintf(home, sizeof home, "broker-%d", l + 1);
	const char *direct = h->nodes[l].listen_real;
	uint64_t base = 0;
	for (uint32_t k = 0; k < 3; k++) {
		assert_int_equal(produce_at(direct, home, k, &base), RPC_OK);
		assert_int_equal(base, k * 3);
	}
	h_cut(h, l);
	h_cut_data(h, l, true);
	/* At once it still thinks it leads: it stores a write, which no
	 * follower can fetch, so it is never acknowledged (TIMEOUT)... */
	uint32_t code = produce_at(direct, home, 99, &base);
	assert_int_equal(code, RPC_TIMEOUT);
	/* ...while the others fence it and elect a new leader for its
	 * queue. */
	int m = (l + 1) % 3;
	int64_t t0 = h_now_ms(), end = t0 + 10000;
	do {
		usleep(50000); /* bounded by the 10 s deadline */
		leader_by(h, m, home, lead, sizeof lead);
	} while ((lead[0] == '\0' || strcmp(lead, home) == 0) &&
		 h_now_ms() < end);
	assert_true(lead[0] != '\0' && strcmp(lead, home) != 0);
	print_message("queue r/%s/0 led by %s %lld ms after the cut\n", home,
		      lead, (long long)(h_now_ms() - t0));
	/* After that the deposed leader acknowledges nothing either (it
	 * knows its state is not current: UNAVAILABLE). */
	code = produce_at(direct, home, 98, &base);
	assert_int_equal(code, RPC_UNAVAILABLE); /* not TIMEOUT: not taken */
	print_message("the cut leader answered %s\n",
		      code < 1000 ? rpc_code_name(code) : "transport error");
	/* The new leader goes on from the acknowledged end. */
	int nl = atoi(lead + strlen("broker-")) - 1;
	for (uint32_t k = 3; k < 5; k++) {
		assert_int_equal(
		    produce_at(h->nodes[nl].listen, home, k, &base), RPC_OK);
		assert_int_equal(base, k * 3);
	}
	/* Healed, it cuts its divergent tail, catches up and leads its
	 * queue again, holding exactly the acknowledged batches. */
	h_cut_data(h, l, false);
	h_heal(h, l);
	assert_int_equal(h_wait_homes_lead(h, "r", 15000), 0);
	const uint32_t seeds[] = {0, 1, 2, 3, 4};
	holds_exactly(direct, home, seeds, 5);
	assert_true(h_log_has(h, l, "cutting a divergent tail at 9"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_partition_minority_cannot_commit, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_regress_lagging_broker_serves_stale_fetch, setup,
		h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_regress_sync_takes_entry_before_for_reset, setup,
		h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_regress_sync_takes_entry_before_for_create, setup,
		h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_partition_fenced_leader_cannot_acknowledge, setup,
		h_teardown),
	};
	return cmocka_run_group_tests_name("integration/partition", tests, NULL,
					   NULL);
}
