/*
 * Message replication on a real 3-node cluster (docs/design/
 * replication.md): a topic has three replicas of each queue by default;
 * a produce is answered once every in-sync replica has the batch; the
 * followers' logs are the leader's byte for byte; a broker that does not
 * lead a queue says who does; topic describe shows leader, replicas and
 * in-sync set.
 */
#include "../unit/test_util.h"
#include "harness.h"
#include "storage.h"

#include <unistd.h>

#define QPB 2

static int setup(void **state)
{
	struct harness *h = h_fixture(sizeof *h, 3, false);
	*state = h;
	return h != NULL && h_create_topic_rf(h, "r", QPB, 3) == 0 ? 0 : -1;
}

/* Produces @n batches of 3 records to (r, @home, @q) at node @at with
 * @acks; each must be answered OK at the next offset. */
static void produce_n(struct harness *h, int at, const char *home, uint32_t q,
		      int n, uint32_t acks)
{
	for (int k = 0; k < n; k++) {
		uint8_t p[64];
		uint32_t len = h_records(p, 3, (uint32_t)k);
		struct rpc_produce_req in = {"r", q, 0,	   0,	{p, len},
					     0,	  0, home, acks};
		in.count = 3;
		struct ctl_resp r;
		h_call(h->nodes[at].listen, RPC_PRODUCE, &in, 5000, &r);
		assert_int_equal(r.err, 0);
		if (r.st.code != RPC_OK)
			fail_msg("produce %d: %s", k,
				 r.st.message ? r.st.message : "?");
		const struct rpc_produce_resp *pr = r.body;
		assert_int_equal(pr->base_offset, (uint64_t)k * 3);
		ctl_resp_free(&r);
	}
}

/* Reads every batch of the queue directory @dir (a stopped node's) into
 * one malloc'ed buffer: its length in *len. */
static uint8_t *read_dir(const char *dir, size_t *len)
{
	struct stor_config cfg;
	stor_config_default(&cfg);
	cfg.flush = STOR_FLUSH_OS;
	struct stor_queue *q;
	char err[512];
	if (stor_queue_open(dir, "check", &cfg, NULL, &q, err, sizeof err))
		fail_msg("open %s: %s", dir, err);
	uint8_t *buf = malloc(1u << 20);
	assert_non_null(buf);
	assert_int_equal(stor_queue_read(q, 0, buf, 1u << 20, len), 0);
	stor_queue_close(q, NULL, 0);
	return buf;
}

/* Stops every node and checks that the three copies of (r, broker-1,
 * @q) are the same bytes: broker-1's, malloc'ed, its length in *len. */
static uint8_t *same_copies(struct harness *h, uint32_t q, size_t *len)
{
	for (int i = 0; i < 3; i++)
		assert_int_equal(h_stop(h, i, 10000), 0);
	char dir[700];
	snprintf(dir, sizeof dir, "%s/queues/r/%u", h->nodes[0].dir, q);
	uint8_t *a = read_dir(dir, len);
	for (int i = 1; i < 3; i++) {
		size_t l = 0;
		snprintf(dir, sizeof dir, "%s/queues/r/@broker-1/%u",
			 h->nodes[i].dir, q);
		uint8_t *b = read_dir(dir, &l);
		assert_int_equal(l, *len);
		assert_memory_equal(a, b, l);
		free(b);
	}
	return a;
}

static void test_replicas_hold_every_acknowledged_batch(void **state)
{
	struct harness *h = *state;
	produce_n(h, 0, "broker-1", 1, 20, RPC_ACKS_ALL);
	produce_n(h, 1, "broker-2", 0, 5, RPC_ACKS_LEADER);
	/* Every copy is the leader's, byte for byte. */
	size_t l0 = 0;
	uint8_t *a = same_copies(h, 1, &l0);
	size_t want = 0;
	for (int k = 0; k < 20; k++) {
		uint8_t p[64];
		want += 40 + h_records(p, 3, (uint32_t)k);
	}
	assert_int_equal(l0, want);
	size_t pos = 0, n = 0;
	struct stor_batch bt;
	while (stor_batch_next(a, l0, &pos, &bt) == 1)
		assert_int_equal(bt.base_offset, 3 * n++);
	assert_int_equal(n, 20);
	free(a);
}

static void test_only_the_leader_serves(void **state)
{
	struct harness *h = *state;
	uint8_t p[64];
	uint32_t len = h_records(p, 1, 1);
	struct rpc_produce_req in = {"r", 0, 1,		 0,	      {p, len},
				     0,	  0, "broker-1", RPC_ACKS_ALL};
	struct ctl_resp r;
	h_call(h->nodes[1].listen, RPC_PRODUCE, &in, 5000, &r);
	assert_int_equal(r.st.code, RPC_NOT_LEADER);
	assert_string_equal(r.st.message, "queue r/broker-1/0 is led by "
					  "broker-1");
	assert_string_equal(r.st.leader, h->nodes[0].listen);
	ctl_resp_free(&r);
	struct rpc_fetch_req f = {NULL, "r", 0, 0, 0, 0, 0, NULL, "broker-1"};
	h_call(h->nodes[2].listen, RPC_FETCH, &f, 5000, &r);
	assert_int_equal(r.st.code, RPC_NOT_LEADER);
	ctl_resp_free(&r);
	in.acks = 7;
	h_call(h->nodes[0].listen, RPC_PRODUCE, &in, 5000, &r);
	assert_int_equal(r.st.code, RPC_INVALID_ARGUMENT);
	assert_string_equal(r.st.message,
			    "acks 7: 0 (all), 1 (leader) or 2 (none)");
	ctl_resp_free(&r);
}

static void test_describe_shows_replicas(void **state)
{
	struct harness *h = *state;
	produce_n(h, 2, "broker-3", 1, 2, RPC_ACKS_ALL);
	struct rpc_topic_req t = {"r"};
	struct ctl_resp r;
	h_call(h->nodes[0].listen, RPC_TOPIC_DESCRIBE, &t, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	const struct rpc_topic_describe_resp *d = r.body;
	assert_int_equal(d->queues.n, 6);
	const struct rpc_queue_info *q = d->queues.v;
	/* Queue (broker-3, 1): replicas broker-3, broker-1, broker-2. */
	assert_string_equal(q[5].broker_name, "broker-3");
	assert_string_equal(q[5].leader_broker, "broker-3");
	assert_int_equal(q[5].replicas.n, 3);
	assert_string_equal(q[5].replicas.v[0], "broker-3");
	assert_string_equal(q[5].replicas.v[1], "broker-1");
	assert_string_equal(q[5].replicas.v[2], "broker-2");
	assert_int_equal(q[5].isr.n, 3);
	assert_int_equal(q[5].max_offset, 6);
	assert_int_equal(q[4].max_offset, 0);
	ctl_resp_free(&r);
}

/* The in-sync replicas of (r, @home, @q) by its leader, node @at's
 * /metrics: the count, or -1 when it does not say. */
static int in_sync(struct harness *h, int at, const char *topic,
		   const char *home, uint32_t q)
{
	static char body[1 << 20];
	if (h_http(h->nodes[at].http, "GET", "/metrics", NULL, 0, body,
		   sizeof body) != 200)
		return -1;
	char key[200];
	snprintf(key, sizeof key,
		 "raftq_queue_in_sync_replicas{topic=\"%s\",broker=\"%s\","
		 "queue=\"%u\"} ",
		 topic, home, q);
	const char *p = strstr(body, key);
	return p ? atoi(p + strlen(key)) : -1;
}

/* Waits up to @ms for @want in-sync replicas. */
static bool isr_becomes(struct harness *h, int at, const char *topic,
			const char *home, uint32_t q, int want, int ms)
{
	int got = -1;
	for (int64_t end = h_now_ms() + ms; h_now_ms() < end;) {
		if ((got = in_sync(h, at, topic, home, q)) == want)
			return true;
		usleep(50000); /* bounded by @ms */
	}
	fprintf(stderr, "%d in sync, not %d\n", got, want);
	return false;
}

/* One more acks=all batch, then every copy of (r, broker-1, 0) is the
 * same: 5 batches, the 4th taken while broker-3 was down. */
static void produce_more_and_compare(struct harness *h)
{
	uint8_t p[64];
	uint32_t len = h_records(p, 3, 9);
	struct rpc_produce_req in = {"r", 0, 3,		 0,	      {p, len},
				     0,	  0, "broker-1", RPC_ACKS_ALL};
	assert_int_equal(
	    h_call_code(h->nodes[0].listen, RPC_PRODUCE, &in, 5000), RPC_OK);
	size_t la = 0;
	uint8_t *a = same_copies(h, 0, &la);
	size_t pos = 0, n = 0;
	struct stor_batch bt;
	while (stor_batch_next(a, la, &pos, &bt) == 1)
		n++;
	assert_int_equal(n, 5);
	free(a);
}

static void test_isr_follows_the_followers(void **state)
{
	struct harness *h = *state;
	/* "m" needs all three replicas in sync for acks=all. */
	struct rpc_topic_create_req m = {"m", 1, {NULL, 0}, 3, 3};
	assert_int_equal(
	    h_call_code(h->nodes[h->leader].listen, RPC_TOPIC_CREATE, &m, 5000),
	    RPC_OK);
	produce_n(h, 0, "broker-1", 0, 3, RPC_ACKS_ALL);
	h_kill(h, 2);
	/* broker-3 leaves the set after replica_lag_max_ms; acks=all then
	 * answers with broker-1 and broker-2. */
	int64_t t0 = h_now_ms();
	uint8_t p[64];
	uint32_t len = h_records(p, 3, 3);
	struct rpc_produce_req in = {"r", 0, 3,		 0,	      {p, len},
				     0,	  0, "broker-1", RPC_ACKS_ALL};
	struct ctl_resp r;
	h_call(h->nodes[0].listen, RPC_PRODUCE, &in, 8000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
	print_message("acks=all with a follower killed: answered in %lld ms\n",
		      (long long)(h_now_ms() - t0));
	assert_true(isr_becomes(h, 0, "r", "broker-1", 0, 2, 3000));
	/* "m" has 2 in sync now, fewer than its min_insync_replicas. */
	assert_true(isr_becomes(h, 0, "m", "broker-1", 0, 2, 5000));
	in.topic = "m";
	h_call(h->nodes[0].listen, RPC_PRODUCE, &in, 5000, &r);
	assert_int_equal(r.st.code, RPC_UNAVAILABLE);
	assert_string_equal(r.st.message,
			    "queue m/broker-1/0 has 2 in-sync replicas; "
			    "acks=all needs min_insync_replicas 3");
	ctl_resp_free(&r);
	in.acks = RPC_ACKS_LEADER;
	h_call(h->nodes[0].listen, RPC_PRODUCE, &in, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	assert_int_equal(((const struct rpc_produce_resp *)r.body)->base_offset,
			 0);
	ctl_resp_free(&r);
	/* Back: it catches up and rejoins both sets. */
	assert_int_equal(h_start(h, 2), 0);
	assert_true(isr_becomes(h, 0, "r", "broker-1", 0, 3, 15000));
	assert_true(isr_becomes(h, 0, "m", "broker-1", 0, 3, 15000));
	/* The rejoined copy holds what broker-1 and -2 took without it. */
	produce_more_and_compare(h);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_replicas_hold_every_acknowledged_batch),
	    T(test_only_the_leader_serves),
	    T(test_describe_shows_replicas),
	    T(test_isr_follows_the_followers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
