/*
 * Consumer-group membership on a real 3-node cluster: deterministic
 * assignment, leaving and timing out, require-inactive, the reset notice
 * pushed to an online member, and group describe with lag.
 */
#include "../unit/test_util.h"
#include "harness.h"

#define QPB 2

struct fx {
	struct harness h;
};

static const char *L(struct fx *x)
{
	return x->h.nodes[x->h.leader].listen;
}

static int setup(void **state)
{
	struct fx *x = h_fixture(sizeof *x, 3, false);
	*state = x;
	if (x == NULL || h_create_topic(&x->h, "orders", QPB) != 0 ||
	    h_create_group(&x->h, "g", "clustering", "latest") != 0)
		return -1;
	return 0;
}

/* Heartbeats @member; writes "broker:q" of each assigned queue, sorted as
 * answered, into @out (comma-separated); returns the generation. */
static uint64_t beat(struct fx *x, const char *member, char *out, size_t n)
{
	const char *topics[] = {"orders"};
	struct rpc_heartbeat_req in = {
	    "g", member, "test", {topics, 1}, {NULL, 0}};
	struct ctl_resp r;
	h_call(L(x), RPC_HEARTBEAT, &in, 5000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("heartbeat: %s", r.st.message);
	const struct rpc_heartbeat_resp *hb = r.body;
	const struct rpc_assignment *a = hb->assignment.v;
	size_t at = 0;
	out[0] = '\0';
	for (uint32_t i = 0; i < hb->assignment.n; i++)
		at +=
		    (size_t)snprintf(out + at, n - at, "%s%s:%u", i ? "," : "",
				     a[i].broker_name, a[i].queue_id);
	uint64_t gen = hb->generation;
	ctl_resp_free(&r);
	return gen;
}

static void test_groups_assignment_and_rebalance(void **state)
{
	struct fx *x = *state;
	char a[256];
	beat(x, "m1", a, sizeof a);
	assert_string_equal(a, "broker-1:0,broker-1:1,broker-2:0,broker-2:1,"
			       "broker-3:0,broker-3:1");
	beat(x, "m2", a, sizeof a);
	beat(x, "m3", a, sizeof a);
	/* Queue k goes to member k mod 3, members sorted by id. */
	uint64_t g1 = beat(x, "m1", a, sizeof a);
	assert_string_equal(a, "broker-1:0,broker-2:1");
	beat(x, "m2", a, sizeof a);
	assert_string_equal(a, "broker-1:1,broker-3:0");
	beat(x, "m3", a, sizeof a);
	assert_string_equal(a, "broker-2:0,broker-3:1");
	/* m2 leaves: its queues move. */
	struct rpc_leave_req lv = {"g", "m2"};
	struct ctl_resp r;
	h_call(L(x), RPC_LEAVE, &lv, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
	uint64_t g2 = beat(x, "m1", a, sizeof a);
	assert_int_equal(g2, g1 + 1);
	assert_string_equal(a, "broker-1:0,broker-2:0,broker-3:0");
	beat(x, "m3", a, sizeof a);
	assert_string_equal(a, "broker-1:1,broker-2:1,broker-3:1");
	/* m3 goes silent: after the session timeout m1 has everything. */
	int64_t end = h_now_ms() + 6000;
	do {
		usleep(200000); /* m1 keeps heartbeating meanwhile */
		beat(x, "m1", a, sizeof a);
	} while (strcmp(a, "broker-1:0,broker-1:1,broker-2:0,broker-2:1,"
			   "broker-3:0,broker-3:1") != 0 &&
		 h_now_ms() < end);
	assert_string_equal(a, "broker-1:0,broker-1:1,broker-2:0,broker-2:1,"
			       "broker-3:0,broker-3:1");
	/* Unknown group: an error, nothing created. */
	const char *topics[] = {"orders"};
	struct rpc_heartbeat_req bad = {
	    "nope", "m9", "t", {topics, 1}, {NULL, 0}};
	h_call(L(x), RPC_HEARTBEAT, &bad, 5000, &r);
	assert_int_equal(r.st.code, RPC_UNKNOWN_GROUP);
	ctl_resp_free(&r);
}

static void test_groups_require_inactive(void **state)
{
	struct fx *x = *state;
	char a[256];
	beat(x, "m1", a, sizeof a);
	struct rpc_reset_req in = h_reset_req("g", "orders", "latest", 0);
	in.require_inactive = true;
	h_expect_refusal(L(x), RPC_RESET, &in, RPC_GROUP_ACTIVE,
			 "group 'g' has 1 online member (m1); stop them or "
			 "drop --require-inactive");
	struct ctl_resp r;
	/* Without the flag the reset goes ahead with m1 online. */
	in.require_inactive = false;
	h_call(L(x), RPC_RESET, &in, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
}

/* A member with its own connection, to receive pushed notices. */
struct member {
	uv_loop_t loop;
	struct rpc_client c;
	int notices;
	uint64_t epoch;
	uint32_t queues;
	bool closed;
};

static void on_notice(struct rpc_client *c, struct rpc_frame *f)
{
	struct member *m = c->data;
	if (f->type != RPC_RESET_NOTICE)
		return;
	struct rpc_reset_notice n;
	assert_int_equal(rpc_decode(f, RPC_RESET_NOTICE, &n, NULL, NULL), 0);
	assert_string_equal(n.group, "g");
	assert_string_equal(n.topic, "orders");
	m->epoch = n.epoch;
	m->queues = n.queues.n;
	m->notices++;
}

static void on_beat(struct rpc_call *call, int status, struct rpc_frame *f)
{
	(void)f;
	*(int *)call->data = status == 0 ? 1 : -1;
}

static void on_closed(struct rpc_client *c)
{
	((struct member *)c->data)->closed = true;
}

static void test_groups_reset_notice_reaches_members(void **state)
{
	struct fx *x = *state;
	struct member m;
	memset(&m, 0, sizeof m);
	uv_loop_init(&m.loop);
	m.c.data = &m;
	assert_int_equal(rpc_client_init(&m.c, &m.loop, L(x), NULL, on_notice),
			 0);
	const char *topics[] = {"orders"};
	struct rpc_heartbeat_req hb = {
	    "g", "live", "test", {topics, 1}, {NULL, 0}};
	struct rpc_call call;
	int done = 0;
	call.data = &done;
	assert_int_equal(
	    rpc_client_request(&m.c, &call, RPC_HEARTBEAT, &hb, 5000, on_beat),
	    0);
	while (done == 0)
		uv_run(&m.loop, UV_RUN_ONCE);
	assert_int_equal(done, 1);
	/* An operator resets from elsewhere. */
	struct rpc_reset_req in = h_reset_req("g", "orders", "earliest", 0);
	struct ctl_resp r;
	h_call(L(x), RPC_RESET, &in, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
	/* The member hears about it on its own connection. */
	int64_t end = h_now_ms() + 3000;
	while (m.notices == 0 && h_now_ms() < end)
		uv_run(&m.loop, UV_RUN_NOWAIT);
	assert_int_equal(m.notices, 1);
	assert_int_equal(m.epoch, 1);
	assert_int_equal(m.queues, 3 * QPB);
	rpc_client_close(&m.c, on_closed);
	while (!m.closed)
		uv_run(&m.loop, UV_RUN_ONCE);
	assert_int_equal(uv_loop_close(&m.loop), 0);
}

static void test_groups_describe_lag(void **state)
{
	struct fx *x = *state;
	/* 5 messages on broker-2:1; the group committed 2 of them. */
	uint8_t p[80];
	struct rpc_produce_req pr = {
	    "orders", 1, 5, 0, {p, h_records(p, 5, 0)}, 0, 0, NULL, 0};
	struct ctl_resp r;
	h_call(x->h.nodes[1].listen, RPC_PRODUCE, &pr, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
	struct rpc_commit_item it = {"orders", "broker-2", 1, 2, 0};
	struct rpc_commit_req c = {"g", "m1", {&it, 1}};
	h_call(L(x), RPC_COMMIT, &c, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
	char a[256];
	beat(x, "m1", a, sizeof a);
	struct rpc_group_req gq = {"g"};
	h_call(L(x), RPC_GROUP_DESCRIBE, &gq, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	const struct rpc_group_describe_resp *d = r.body;
	assert_string_equal(d->group, "g");
	assert_string_equal(d->mode, "clustering");
	assert_int_equal(d->topics.n, 1);
	const struct rpc_group_topic_info *t = d->topics.v;
	assert_string_equal(t->topic, "orders");
	assert_int_equal(t->queues.n, 3 * QPB);
	const struct rpc_lag_info *q = t->queues.v;
	assert_string_equal(q[3].broker_name, "broker-2");
	assert_int_equal(q[3].queue_id, 1);
	assert_int_equal(q[3].consumer_offset, 2);
	assert_int_equal(q[3].max_offset, 5);
	assert_int_equal(q[3].lag, 3);
	assert_int_equal(q[0].lag, 0); /* never committed: starts at max */
	assert_int_equal(d->members.n, 1);
	const struct rpc_member_info *mi = d->members.v;
	assert_string_equal(mi[0].member_id, "m1");
	assert_int_equal(mi[0].queues.n, 3 * QPB);
	assert_string_equal(mi[0].queues.v[0], "orders/broker-1:0");
	ctl_resp_free(&r);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_groups_assignment_and_rebalance),
	    T(test_groups_require_inactive),
	    T(test_groups_reset_notice_reaches_members),
	    T(test_groups_describe_lag),
	};
#undef T
	return cmocka_run_group_tests_name("integration/groups", tests, NULL,
					   NULL);
}
