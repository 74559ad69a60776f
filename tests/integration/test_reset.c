/*
 * Resets on a real 3-node cluster, with offsets computed from what the
 * test produced: a topic over 3 brokers x 2 queues, two waves of messages
 * with a known time between them; reset by time, latest, earliest, offset
 * (clamped), shift, subsets, dry run, undo; stale commits and fetches are
 * fenced on every broker; a down broker makes the reset fail whole.
 */
#include "../unit/test_util.h"
#include "harness.h"

#define QPB 4
#define NQ (3 * QPB)
#define WAVE1 3 /* batches of 2 records: offsets 0..5 */
#define WAVE2 2 /* offsets 6..9 */

struct fx {
	struct harness h;
	int64_t between; /* a time after wave 1, before wave 2 */
};

static const char *leader_addr(struct fx *x)
{
	return x->h.nodes[x->h.leader].listen;
}

/* Group g's offsets of "orders" from the leader (free @r after use). */
static const struct rpc_offsets_resp *offsets(struct fx *x, struct ctl_resp *r)
{
	struct rpc_offsets_req oq = {"g", "orders"};
	h_call(leader_addr(x), RPC_OFFSETS, &oq, 5000, r);
	assert_int_equal(r->st.code, RPC_OK);
	return r->body;
}

static void wait_clock_past(int64_t t)
{
	struct timespec ts;
	do {
		clock_gettime(CLOCK_REALTIME, &ts);
	} while ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 <= t);
}

static int64_t wave(struct fx *x, int batches)
{
	int64_t last = 0;
	for (int b = 0; b < 3; b++)
		for (uint32_t q = 0; q < QPB; q++)
			for (int k = 0; k < batches; k++) {
				uint8_t p[32];
				struct rpc_produce_req in = {
				    "orders",
				    q,
				    2,
				    0,
				    {p, h_records(p, 2, (uint32_t)b * 8 + q)},
				    0,
				    0,
				    NULL,
				    0};
				struct ctl_resp r;
				h_call(x->h.nodes[b].listen, RPC_PRODUCE, &in,
				       5000, &r);
				if (r.err != 0 || r.st.code != RPC_OK)
					fail_msg("produce: %s",
						 r.st.message ? r.st.message
							      : "transport");
				int64_t t = ((struct rpc_produce_resp *)r.body)
						->store_time;
				last = t > last ? t : last;
				ctl_resp_free(&r);
			}
	return last;
}

static int setup(void **state)
{
	struct fx *x = h_fixture(sizeof *x, 3, false);
	*state = x;
	if (x == NULL || h_create_topic(&x->h, "orders", QPB) != 0 ||
	    h_create_group(&x->h, "g", "clustering", "latest") != 0 ||
	    h_create_group(&x->h, "bc", "broadcasting", NULL) != 0)
		return -1;
	int64_t last1 = wave(x, WAVE1);
	x->between = last1 + 1;
	wait_clock_past(x->between);
	wave(x, WAVE2);
	return 0;
}

/* Resets and checks every returned queue against @want (NQ values in
 * broker, queue order; UINT64_MAX = not in the answer). */
static uint64_t do_reset(struct fx *x, const char *target, int64_t value,
			 const char **queues, uint32_t nqueues, bool dry,
			 const uint64_t *want, uint64_t *epoch)
{
	struct rpc_reset_req in = h_reset_req("g", "orders", target, value);
	in.queues = (struct rpc_strs){queues, nqueues};
	in.dry_run = dry;
	struct ctl_resp r;
	h_call(leader_addr(x), RPC_RESET, &in, 10000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("reset %s: %s: %s", target, rpc_code_name(r.st.code),
			 r.st.message);
	const struct rpc_reset_resp *o = r.body;
	assert_int_equal(o->dry_run, dry);
	const struct rpc_reset_queue *q = o->queues.v;
	uint32_t k = 0;
	for (int i = 0; i < NQ; i++) {
		if (want[i] == UINT64_MAX)
			continue;
		char name[16];
		snprintf(name, sizeof name, "broker-%d", i / QPB + 1);
		assert_true(k < o->queues.n);
		assert_string_equal(q[k].broker_name, name);
		assert_int_equal(q[k].queue_id, i % QPB);
		assert_int_equal(q[k].timestamp_offset, want[i]);
		k++;
	}
	assert_int_equal(k, o->queues.n);
	uint64_t id = o->reset_id;
	if (epoch)
		*epoch = o->epoch;
	ctl_resp_free(&r);
	return id;
}

static void all(uint64_t *w, uint64_t v)
{
	for (int i = 0; i < NQ; i++)
		w[i] = v;
}

static void test_reset_every_target(void **state)
{
	struct fx *x = *state;
	uint64_t w[NQ], e;
	all(w, 6);
	assert_int_equal(do_reset(x, "time", x->between, NULL, 0, false, w, &e),
			 1);
	assert_int_equal(e, 1);
	all(w, 10);
	assert_int_equal(do_reset(x, "latest", 0, NULL, 0, false, w, &e), 2);
	assert_int_equal(e, 2);
	all(w, 0);
	do_reset(x, "earliest", 0, NULL, 0, false, w, NULL);
	all(w, 7);
	do_reset(x, "offset", 7, NULL, 0, false, w, NULL);
	all(w, 4);
	do_reset(x, "shift", -3, NULL, 0, false, w, NULL);
	all(w, 10); /* 4 + 99, clamped to MaxOffset */
	do_reset(x, "shift", 99, NULL, 0, false, w, NULL);
	all(w, 10);
	uint64_t id = do_reset(x, "offset", 1000, NULL, 0, false, w, &e);
	assert_int_equal(id, 7);
	assert_int_equal(e, 7);
	/* Before everything: MinOffset; after everything: MaxOffset. */
	all(w, 0);
	do_reset(x, "time", 1, NULL, 0, false, w, NULL);
	all(w, 10);
	do_reset(x, "time", x->between + 3600000, NULL, 0, false, w, NULL);
	/* By duration: everything in the last hour. */
	all(w, 0);
	do_reset(x, "duration", 3600000, NULL, 0, false, w, NULL);

	/* History records the clamp and the previous offsets. */
	struct rpc_history_req hq = {"g", "orders"};
	struct ctl_resp r;
	h_call(leader_addr(x), RPC_HISTORY, &hq, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	const struct rpc_history_resp *h = r.body;
	assert_int_equal(h->resets.n, 10);
	const struct rpc_history_entry *he = h->resets.v;
	assert_int_equal(he[6].reset_id, 7);
	assert_string_equal(he[6].target, "offset");
	assert_int_equal(he[6].value, 1000);
	assert_string_equal(he[6].requester, "test");
	const struct rpc_history_queue *q7 = he[6].queues.v;
	assert_int_equal(q7[0].previous_offset, 10);
	assert_int_equal(q7[0].timestamp_offset, 10);
	assert_int_equal(q7[0].min_offset, 0);
	assert_int_equal(q7[0].max_offset, 10);
	assert_true(q7[0].clamped);
	const struct rpc_history_queue *q1 = he[0].queues.v;
	assert_int_equal(q1[0].previous_offset, UINT64_MAX); /* never set */
	assert_false(q1[0].clamped);
	ctl_resp_free(&r);
}

static void test_reset_subset_dry_run_and_undo(void **state)
{
	struct fx *x = *state;
	uint64_t w[NQ];
	all(w, 10);
	do_reset(x, "latest", 0, NULL, 0, false, w, NULL);
	/* Only broker-2:1 moves. */
	const char *one[] = {"broker-2:1"};
	all(w, UINT64_MAX);
	w[1 * QPB + 1] = 2; /* broker-2:1 */
	assert_int_equal(do_reset(x, "offset", 2, one, 1, false, w, NULL), 2);
	/* A dry run answers the same and changes nothing. */
	all(w, 6);
	uint64_t e = 0;
	assert_int_equal(do_reset(x, "time", x->between, NULL, 0, true, w, &e),
			 0);
	assert_int_equal(e, 2); /* the epoch now; it stays */
	struct ctl_resp r;
	const struct rpc_offsets_resp *o = offsets(x, &r);
	assert_int_equal(o->epoch, 2);
	const struct rpc_offset_info *oi = o->queues.v;
	for (int i = 0; i < NQ; i++)
		assert_int_equal(oi[i].offset, i == 1 * QPB + 1 ? 2 : 10);
	ctl_resp_free(&r);
	/* Undo reset 2: broker-2:1 goes back to 10. */
	struct rpc_undo_req u = {2, "tester"};
	h_call(leader_addr(x), RPC_UNDO, &u, 10000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	const struct rpc_reset_resp *ur = r.body;
	assert_int_equal(ur->reset_id, 3);
	assert_int_equal(ur->queues.n, 1);
	assert_int_equal(
	    ((const struct rpc_reset_queue *)ur->queues.v)->timestamp_offset,
	    10);
	ctl_resp_free(&r);
	u.reset_id = 99;
	h_call(leader_addr(x), RPC_UNDO, &u, 5000, &r);
	assert_int_equal(r.st.code, RPC_NOT_FOUND);
	assert_string_equal(r.st.message, "reset 99 is not in the history");
	ctl_resp_free(&r);
}

static void test_reset_fences_stale_consumers(void **state)
{
	struct fx *x = *state;
	/* A consumer at epoch 0 commits 9 on broker-1:0. */
	struct rpc_commit_item it = {"orders", "broker-1", 0, 9, 0};
	struct rpc_commit_req c = {"g", "m1", {&it, 1}};
	struct ctl_resp r;
	h_call(leader_addr(x), RPC_COMMIT, &c, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	assert_int_equal(((const struct rpc_commit_resp *)r.body)->codes.v[0],
			 RPC_OK);
	ctl_resp_free(&r);
	uint64_t w[NQ];
	all(w, 6);
	do_reset(x, "time", x->between, NULL, 0, false, w, NULL);
	/* Its next commit, read before the reset, is refused and told
	 * where the group is now. */
	it.offset = 10;
	h_call(leader_addr(x), RPC_COMMIT, &c, 5000, &r);
	assert_int_equal(r.st.code, RPC_STALE_EPOCH);
	const struct rpc_commit_resp *cr = r.body;
	assert_int_equal(cr->codes.v[0], RPC_STALE_EPOCH);
	assert_int_equal(cr->epoch, 1);
	assert_int_equal(cr->offsets.n, NQ);
	assert_int_equal(
	    ((const struct rpc_offset_info *)cr->offsets.v)[0].offset, 6);
	ctl_resp_free(&r);
	/* Its fetches, on every broker, are moved to the reset offset. */
	for (int b = 0; b < 3; b++) {
		struct rpc_fetch_req f = {"g", "orders", 1,    8,   0,
					  0,   0,	 NULL, NULL};
		h_call(x->h.nodes[b].listen, RPC_FETCH, &f, 5000, &r);
		assert_int_equal(r.st.code, RPC_OFFSET_MOVED);
		const struct rpc_fetch_resp *fr = r.body;
		assert_int_equal(fr->offset, 6);
		assert_int_equal(fr->epoch, 1);
		ctl_resp_free(&r);
		f.epoch = 1; /* a consumer that moved reads normally */
		h_call(x->h.nodes[b].listen, RPC_FETCH, &f, 5000, &r);
		assert_int_equal(r.st.code, RPC_OK);
		ctl_resp_free(&r);
	}
	/* The consumer moves to epoch 1 and commits. */
	it.epoch = 1;
	it.offset = 7;
	h_call(leader_addr(x), RPC_COMMIT, &c, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
}

static void test_reset_refusals(void **state)
{
	struct fx *x = *state;
	struct ctl_resp r;
	struct rpc_reset_req in = h_reset_req("bc", "orders", "latest", 0);
	const char *l = leader_addr(x);
	h_expect_refusal(l, RPC_RESET, &in, RPC_BROADCAST_UNSUPPORTED,
			 "group 'bc' is broadcasting: its offsets live on the "
			 "clients, so the cluster cannot reset them");
	in.group = "typo";
	h_expect_refusal(l, RPC_RESET, &in, RPC_UNKNOWN_GROUP,
			 "group 'typo' does not exist (create it with raftqctl "
			 "group create)");
	in.group = "g";
	in.topic = "nope";
	h_expect_refusal(l, RPC_RESET, &in, RPC_UNKNOWN_TOPIC,
			 "topic 'nope' does not exist");
	in.topic = "orders";
	const char *bad[] = {"broker-7:0"};
	in.queues = (struct rpc_strs){bad, 1};
	h_expect_refusal(l, RPC_RESET, &in, RPC_INVALID_ARGUMENT,
			 "queue 'broker-7:0' is not a queue of topic 'orders' "
			 "(write broker:queue_id)");
	in.queues = (struct rpc_strs){NULL, 0};
	in.target = "yesterday";
	h_expect_refusal(l, RPC_RESET, &in, RPC_INVALID_ARGUMENT,
			 "target 'yesterday' is not one of latest, earliest, "
			 "time, offset, shift, duration, current, plan, group");
	/* A follower points at the leader. */
	in.target = "latest";
	h_call(x->h.nodes[(x->h.leader + 1) % 3].listen, RPC_RESET, &in, 5000,
	       &r);
	assert_int_equal(r.st.code, RPC_NOT_LEADER);
	assert_string_equal(r.st.leader, leader_addr(x));
	ctl_resp_free(&r);
	/* A hosting broker down: the reset fails whole, naming it; nothing
	 * was changed, so the answer says "retry" (a client may send it again
	 * until the broker is back: raftqctl does, within its timeout). */
	int down = (x->h.leader + 1) % 3;
	h_kill(&x->h, down);
	h_call(leader_addr(x), RPC_RESET, &in, 10000, &r);
	assert_int_equal(r.st.code, RPC_UNAVAILABLE);
	assert_true(r.st.retry);
	char name[32];
	snprintf(name, sizeof name, "broker broker-%d", down + 1);
	assert_non_null(strstr(r.st.message, name));
	ctl_resp_free(&r);
	struct rpc_history_req hq = {"g", "orders"};
	h_call(leader_addr(x), RPC_HISTORY, &hq, 5000, &r);
	assert_int_equal(((const struct rpc_history_resp *)r.body)->resets.n,
			 0);
	ctl_resp_free(&r);
}

static void test_reset_survives_leader_kill(void **state)
{
	struct fx *x = *state;
	uint64_t w[NQ];
	all(w, 6);
	do_reset(x, "time", x->between, NULL, 0, false, w, NULL);
	/* The leader dies right after answering. */
	int old = x->h.leader;
	h_kill(&x->h, old);
	x->h.leader = h_wait_leader(&x->h, 3, 15000);
	assert_true(x->h.leader >= 0 && x->h.leader != old);
	/* The new leader serves the same offsets and epoch... */
	struct ctl_resp r;
	const struct rpc_offsets_resp *o = offsets(x, &r);
	assert_int_equal(o->epoch, 1);
	/* Every queue, the dead broker's too (committed, not clamped). */
	assert_int_equal(o->queues.n, NQ);
	for (int i = 0; i < NQ; i++)
		assert_int_equal(
		    ((const struct rpc_offset_info *)o->queues.v)[i].offset, 6);
	ctl_resp_free(&r);
	/* ...and resets with that broker down: its queues moved to other
	 * in-sync replicas (three copies), so every queue answers... */
	all(w, 10);
	uint64_t e;
	assert_int_equal(do_reset(x, "latest", 0, NULL, 0, false, w, &e), 2);
	assert_int_equal(e, 2);
	/* ...and once it is back (its queues recovered), it serves the
	 * reset's offsets and resets again. */
	assert_int_equal(h_start(&x->h, old), 0);
	x->h.leader = h_wait_leader(&x->h, 3, 15000);
	assert_true(x->h.leader >= 0);
	o = offsets(x, &r);
	assert_int_equal(o->epoch, 2);
	for (int i = 0; i < NQ; i++)
		assert_int_equal(
		    ((const struct rpc_offset_info *)o->queues.v)[i].offset,
		    10);
	ctl_resp_free(&r);
	all(w, 6);
	assert_int_equal(do_reset(x, "time", x->between, NULL, 0, false, w, &e),
			 3);
	assert_int_equal(e, 3);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_reset_every_target),
	    T(test_reset_subset_dry_run_and_undo),
	    T(test_reset_fences_stale_consumers),
	    T(test_reset_refusals),
	    T(test_reset_survives_leader_kill),
	};
#undef T
	return cmocka_run_group_tests_name("integration/reset", tests, NULL,
					   NULL);
}
