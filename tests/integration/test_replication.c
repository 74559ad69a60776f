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

#include <pthread.h>
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

/* ---- Failover: every queue's leader killed in turn ---- */

#define FO_MAX 4000

/* What the producer had acknowledged: message @id at offset @offset of
 * queue @q. */
struct acked {
	uint32_t q;
	uint64_t offset;
	uint32_t id;
};

struct fo {
	struct harness *h;
	volatile bool stop;
	int n;
	struct acked a[FO_MAX];
	int retries;
	int64_t longest_gap_ms; /* between two acknowledgements */
};

/* Sends message @id (one record: its id) to queue @q until it is
 * acknowledged or the test stops. */
static void produce_one(struct fo *x, uint32_t q, uint32_t id)
{
	char home[16], addr[64];
	snprintf(home, sizeof home, "broker-%u", q + 1);
	uint8_t p[32];
	uint32_t body = id;
	uint32_t len = (uint32_t)rpc_record_put(p, NULL, 0, &body, sizeof body);
	while (!x->stop) {
		struct rpc_produce_req in = {
		    "f", 0, 1, 0, {p, len}, 0, 0, home, RPC_ACKS_ALL};
		struct ctl_resp r;
		if (h_queue_leader_addr(x->h, "f", q, addr, sizeof addr)) {
			h_call(addr, RPC_PRODUCE, &in, 3000, &r);
			bool ok = r.err == 0 && r.st.code == RPC_OK;
			uint64_t base =
			    ok ? ((const struct rpc_produce_resp *)r.body)
				     ->base_offset
			       : 0;
			ctl_resp_free(&r);
			if (ok) {
				x->a[x->n++] = (struct acked){q, base, id};
				return;
			}
		}
		x->retries++;
		usleep(20000); /* bounded: the test stops it */
	}
}

static void *fo_producer(void *arg)
{
	struct fo *x = arg;
	int64_t last = h_now_ms();
	for (uint32_t id = 0; !x->stop && x->n < FO_MAX; id++) {
		produce_one(x, id % 3, id);
		int64_t now = h_now_ms();
		if (now - last > x->longest_gap_ms && !x->stop)
			x->longest_gap_ms = now - last;
		last = now;
		usleep(2000);
	}
	return NULL;
}

/* Reads queue @q of f from its leader: the id at each offset in @ids
 * (UINT32_MAX: none), the high watermark in *hw. */
static void read_queue(struct harness *h, uint32_t q, uint32_t *ids,
		       uint64_t *hw)
{
	char home[16], addr[64];
	snprintf(home, sizeof home, "broker-%u", q + 1);
	assert_true(h_queue_leader_addr(h, "f", q, addr, sizeof addr));
	for (uint64_t at = 0;;) {
		struct rpc_fetch_req f = {NULL,	    "f", 0,    at,  0,
					  1u << 20, 0,	 NULL, home};
		struct ctl_resp r;
		h_call(addr, RPC_FETCH, &f, 5000, &r);
		assert_int_equal(r.st.code, RPC_OK);
		const struct rpc_fetch_resp *fr = r.body;
		*hw = fr->max_offset;
		size_t pos = 0;
		struct rpc_batch b;
		uint64_t next = at;
		while (rpc_batch_next(fr->batches.ptr, fr->batches.len, &pos,
				      &b) == 1) {
			size_t rp = 0;
			struct rpc_record rec;
			assert_int_equal(b.count, 1);
			assert_int_equal(rpc_record_next(b.payload,
							 b.payload_len, &rp,
							 &rec),
					 1);
			uint32_t id;
			memcpy(&id, rec.body, sizeof id);
			assert_true(b.base_offset < FO_MAX * 2);
			ids[b.base_offset] = id;
			next = b.base_offset + 1;
		}
		ctl_resp_free(&r);
		if (next == at || next >= *hw)
			break;
		at = next;
	}
}

/* A consumer group "g" reading f (one queue per broker) from the queue
 * leaders and committing its position after every read, in a thread,
 * while the committed offsets it reads back must never go down. */
struct fc {
	struct harness *h;
	char boot[256];
	volatile bool stop; /* set once the producer has stopped */
	uint64_t end[3];    /* with stop: read until here */
	uint64_t pos[3];
	uint32_t ids[3][FO_MAX * 2];
	uint64_t seen[3]; /* highest committed offset read back */
	int regressions, commits;
	char why[300];
};

/* Reads what queue @q has past c->pos[q] (at most one answer). */
static void fc_read(struct fc *c, uint32_t q)
{
	char home[16], addr[64];
	snprintf(home, sizeof home, "broker-%u", q + 1);
	if (!h_queue_leader_addr(c->h, "f", q, addr, sizeof addr))
		return;
	struct rpc_fetch_req f = {NULL,	    "f", 0,    c->pos[q], 0,
				  1u << 20, 50,	 NULL, home};
	struct ctl_resp r;
	h_call(addr, RPC_FETCH, &f, 3000, &r);
	if (r.err == 0 && r.st.code == RPC_OK) {
		const struct rpc_fetch_resp *fr = r.body;
		size_t pos = 0;
		struct rpc_batch b;
		while (rpc_batch_next(fr->batches.ptr, fr->batches.len, &pos,
				      &b) == 1 &&
		       b.base_offset < FO_MAX * 2) {
			size_t rp = 0;
			struct rpc_record rec;
			if (b.base_offset >= c->pos[q] &&
			    rpc_record_next(b.payload, b.payload_len, &rp,
					    &rec) == 1)
				memcpy(&c->ids[q][b.base_offset], rec.body,
				       sizeof(uint32_t));
			if (b.base_offset + b.count > c->pos[q])
				c->pos[q] = b.base_offset + b.count;
		}
	}
	ctl_resp_free(&r);
}

/* Commits every position, then reads the committed offsets back. */
static void fc_commit(struct fc *c)
{
	struct rpc_commit_item it[3];
	for (uint32_t q = 0; q < 3; q++) {
		static const char *homes[] = {"broker-1", "broker-2",
					      "broker-3"};
		it[q] =
		    (struct rpc_commit_item){"f", homes[q], 0, c->pos[q], 0};
	}
	struct rpc_commit_req q = {"g", "m", {it, 3}};
	struct ctl_resp r;
	ctl_call(c->boot, RPC_COMMIT, &q, 3000, &r);
	c->commits += r.err == 0 && r.st.code == RPC_OK;
	ctl_resp_free(&r);
	struct rpc_offsets_req oq = {"g", "f"};
	ctl_call(c->boot, RPC_OFFSETS, &oq, 3000, &r);
	const struct rpc_offsets_resp *o = r.body;
	for (uint32_t k = 0;
	     r.err == 0 && r.st.code == RPC_OK && k < o->queues.n; k++) {
		const struct rpc_offset_info *x =
		    &((const struct rpc_offset_info *)o->queues.v)[k];
		uint32_t qi = (uint32_t)(atoi(x->broker_name + 7) - 1);
		if (qi >= 3)
			continue;
		if (x->offset < c->seen[qi]) {
			c->regressions++;
			snprintf(c->why, sizeof c->why,
				 "queue %s: committed %llu after %llu",
				 x->broker_name, (unsigned long long)x->offset,
				 (unsigned long long)c->seen[qi]);
		} else {
			c->seen[qi] = x->offset;
		}
	}
	ctl_resp_free(&r);
}

static void *fc_consumer(void *arg)
{
	struct fc *c = arg;
	int64_t deadline = 0;
	for (;;) {
		bool done = c->stop;
		for (uint32_t q = 0; q < 3; q++) {
			fc_read(c, q);
			done = done && c->pos[q] >= c->end[q];
		}
		fc_commit(c);
		if (done)
			break;
		if (c->stop && deadline == 0)
			deadline = h_now_ms() + 20000;
		if (deadline != 0 && h_now_ms() > deadline)
			break; /* the checks below say what is missing */
	}
	return NULL;
}

/* Issue 15's test: a producer with acks=all and a consumer group run
 * while the broker leading each queue is killed in turn (one of them
 * also the Raft leader) and restarted, and then one broker loses its
 * disk and is brought back empty by the replace procedure; every
 * acknowledged message is consumed at the offset it was acknowledged
 * at, no queue has a gap, and the group's committed offsets never go
 * down. */
static void test_failover_keeps_every_acknowledged_message(void **state)
{
	struct harness *h = *state;
	struct rpc_topic_create_req t = {"f", 1, {NULL, 0}, 3, 2};
	assert_int_equal(
	    h_call_code(h->nodes[h->leader].listen, RPC_TOPIC_CREATE, &t, 5000),
	    RPC_OK);
	assert_int_equal(h_create_group(h, "g", "clustering", "earliest"), 0);
	struct fo *x = calloc(1, sizeof *x);
	struct fc *c = calloc(1, sizeof *c);
	x->h = c->h = h;
	snprintf(c->boot, sizeof c->boot, "%s,%s,%s", h->nodes[0].listen,
		 h->nodes[1].listen, h->nodes[2].listen);
	pthread_t th, tc;
	assert_int_equal(pthread_create(&th, NULL, fo_producer, x), 0);
	assert_int_equal(pthread_create(&tc, NULL, fc_consumer, c), 0);
	for (int k = 0; k < 4; k++) {
		usleep(1500000); /* traffic before the kill */
		int before = x->n, b = k % 3;
		h_kill(h, b);
		int64_t t0 = h_now_ms();
		while (x->n < before + 30 && h_now_ms() - t0 < 20000)
			usleep(10000); /* bounded by 20 s */
		print_message("broker-%d killed: 30 more acknowledged in %lld "
			      "ms\n",
			      b + 1, (long long)(h_now_ms() - t0));
		assert_true(x->n >= before + 30);
		if (k < 3) {
			assert_int_equal(h_start(h, b), 0);
			continue;
		}
		/* Its disk is lost: back empty, it rebuilds its copies and
		 * leads its queue again once in sync. */
		assert_int_equal(h_replace(h, b, (b + 1) % 3), 0);
		t0 = h_now_ms();
		assert_int_equal(h_wait_homes_lead(h, "f", 30000), 0);
		assert_int_equal(h_wait_member(h, b, (b + 1) % 3, 10000), 0);
		print_message("broker-%d replaced empty: leads its queue "
			      "again after %lld ms\n",
			      b + 1, (long long)(h_now_ms() - t0));
		/* It was taken out of the Raft configuration and added
		 * again, not let vote with a forgotten term. */
		char want[100];
		snprintf(want, sizeof want,
			 "node %d lost its disk and rejoins empty", b + 1);
		bool said = false;
		for (int i = 0; i < 3; i++)
			said = said || (i != b && h_log_has(h, i, want));
		assert_true(said);
	}
	usleep(1500000);
	x->stop = true;
	pthread_join(th, NULL);
	print_message("%d acknowledged, %d retries, longest gap %lld ms\n",
		      x->n, x->retries, (long long)x->longest_gap_ms);
	static uint32_t ids[3][FO_MAX * 2];
	uint64_t hw[3];
	for (uint32_t q = 0; q < 3; q++) {
		memset(ids[q], 0xff, sizeof ids[q]);
		read_queue(h, q, ids[q], &hw[q]);
		c->end[q] = hw[q];
	}
	c->stop = true;
	pthread_join(tc, NULL);
	print_message("consumer: %d commits, positions %llu %llu %llu of "
		      "%llu %llu %llu\n",
		      c->commits, (unsigned long long)c->pos[0],
		      (unsigned long long)c->pos[1],
		      (unsigned long long)c->pos[2], (unsigned long long)hw[0],
		      (unsigned long long)hw[1], (unsigned long long)hw[2]);
	if (c->regressions != 0)
		fail_msg("%d committed offsets went down: %s", c->regressions,
			 c->why);
	for (uint32_t q = 0; q < 3; q++) {
		assert_int_equal(c->pos[q], hw[q]);
		assert_int_equal(c->seen[q], hw[q]); /* the last commit */
		for (uint64_t o = 0; o < hw[q]; o++) {
			assert_true(ids[q][o] != UINT32_MAX); /* no gap */
			assert_int_equal(c->ids[q][o], ids[q][o]);
		}
	}
	for (int i = 0; i < x->n; i++) {
		const struct acked *a = &x->a[i];
		if (ids[a->q][a->offset] != a->id)
			fail_msg("queue %u offset %llu: acknowledged id %u, "
				 "holds %u",
				 a->q, (unsigned long long)a->offset, a->id,
				 ids[a->q][a->offset]);
	}
	free(x);
	free(c);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_replicas_hold_every_acknowledged_batch),
	    T(test_only_the_leader_serves),
	    T(test_describe_shows_replicas),
	    T(test_isr_follows_the_followers),
	    T(test_failover_keeps_every_acknowledged_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
