/*
 * libraftq against a real 3-node cluster: consumers of a group get
 * disjoint queues covering the topic and take over a leaver's queues; a
 * reset while they consume moves every one of them (asserted on the
 * delivered offsets); a producer keeps delivering through a broker kill,
 * and every acknowledged message is where its report said; broadcasting
 * groups keep offsets in a file and cannot be reset; unknown names fail.
 */
#include "../unit/test_util.h"
#include "harness.h"
#include "raftq.h"
#include "storage.h"

#include <errno.h>
#include <sys/stat.h>

#define QPB 2
#define NQ 6 /* 3 brokers x QPB */
#define MAXMSG 20000

struct rec {
	int done; /* 0 pending, 1 ok, -1 failed */
	int err;
	int q; /* queue index: (broker - 1) * QPB + queue_id */
	uint64_t offset;
};

struct fx {
	struct harness h;
	char bootstrap[256];
	struct rec recs[MAXMSG];
	/* Delivered: per queue index, a bitmap of offsets (below 65536). */
	uint8_t seen[NQ][8192];
	uint32_t delivered;
	uint32_t dups;
	uint32_t dups_q[NQ];
};

static const char *L(struct fx *x)
{
	return x->h.nodes[x->h.leader].listen;
}

static int qindex(const char *broker, uint32_t q)
{
	return (atoi(broker + strlen("broker-")) - 1) * QPB + (int)q;
}

static void call_ok_at(const char *addr, uint16_t type, const void *req)
{
	struct ctl_resp r;
	h_call(addr, type, req, 5000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("%s: %s", rpc_type_name(type), r.st.message);
	ctl_resp_free(&r);
}

static void call_ok(struct fx *x, uint16_t type, const void *req)
{
	call_ok_at(L(x), type, req);
}

/* Three nodes and topic orders with @rf copies of each queue. */
static int setup_rf(void **state, uint32_t rf)
{
	struct fx *x = h_fixture(sizeof *x, 3, false);
	*state = x;
	if (x == NULL)
		return -1;
	snprintf(x->bootstrap, sizeof x->bootstrap, "%s,%s,%s",
		 x->h.nodes[0].listen, x->h.nodes[1].listen,
		 x->h.nodes[2].listen);
	return h_create_topic_rf(&x->h, "orders", QPB, rf);
}

static int setup(void **state)
{
	return setup_rf(state, 3); /* the default from three brokers on */
}

/* One copy: what an older raftq stored (no replication then). */
static int setup_single(void **state)
{
	return setup_rf(state, 1);
}

static struct raftq_client *client(struct fx *x, const char *id)
{
	struct raftq_client *c;
	char err[256];
	struct raftq_config cfg = {.bootstrap = x->bootstrap,
				   .client_id = id,
				   .request_timeout_ms = 3000};
	if (raftq_client_new(&cfg, &c, err, sizeof err) != 0)
		fail_msg("raftq_client_new: %s", err);
	return c;
}

/* ---- Producing ---- */

static void on_delivery(void *arg, const struct raftq_delivery *d)
{
	struct fx *x = arg;
	struct rec *r = &x->recs[(uintptr_t)d->opaque];
	assert_int_equal(r->done, 0); /* exactly one report per message */
	r->done = d->err == 0 ? 1 : -1;
	r->err = d->err;
	if (d->err == 0) {
		assert_string_equal(d->topic, "orders");
		r->q = qindex(d->broker_name, d->queue_id);
		r->offset = d->offset;
	}
}

static struct raftq_producer *producer(struct fx *x, struct raftq_client *c,
				       uint32_t batch, bool lz4)
{
	struct raftq_producer_config pc = {.topic = "orders",
					   .lz4 = lz4,
					   .batch_messages = batch,
					   .delivery_timeout_ms = 20000,
					   .on_delivery = on_delivery,
					   .arg = x};
	struct raftq_producer *p;
	if (raftq_producer_new(c, &pc, &p) != 0)
		fail_msg("producer: %s", raftq_client_errmsg(c));
	return p;
}

static void body_of(uint32_t i, char *out, size_t n)
{
	snprintf(out, n, "msg-%05u", i);
}

/* Produces messages [from, to) and waits for every report. */
static void produce(struct fx *x, struct raftq_client *c,
		    struct raftq_producer *p, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++) {
		char b[32];
		body_of(i, b, sizeof b);
		assert_int_equal(raftq_produce(p, NULL, 0, b, strlen(b),
					       (void *)(uintptr_t)i),
				 0);
	}
	if (raftq_producer_flush(p, 20000) != 0)
		fail_msg("flush: %s", raftq_client_errmsg(c));
	for (uint32_t i = from; i < to; i++)
		if (x->recs[i].done != 1)
			fail_msg("message %u: %s", i,
				 raftq_strerror(x->recs[i].err));
}

/* ---- Consuming ---- */

struct member {
	struct raftq_client *c;
	struct raftq_consumer *k;
	char id[32];
	uint32_t got;
	/* After a reset: the first offset delivered per queue since. */
	uint64_t first_after[NQ];
	uint64_t first_epoch[NQ]; /* the epoch of first_after's message */
	bool any_after[NQ];
};

static void join(struct fx *x, struct member *m, const char *group,
		 const char *id, const char *file)
{
	memset(m, 0, sizeof *m);
	snprintf(m->id, sizeof m->id, "%s", id);
	m->c = client(x, id);
	const char *topics[] = {"orders"};
	struct raftq_consumer_config kc = {.group = group,
					   .topics = topics,
					   .n_topics = 1,
					   .member_id = id,
					   .heartbeat_ms = 200,
					   .auto_commit_ms = 100,
					   .offset_file = file};
	if (raftq_consumer_new(m->c, &kc, &m->k) != 0)
		fail_msg("consumer: %s", raftq_client_errmsg(m->c));
}

static void leave(struct member *m)
{
	assert_int_equal(raftq_consumer_close(m->k, 5000), 0);
	raftq_client_free(m->c);
	m->k = NULL;
	m->c = NULL;
}

/* The member's assignment as "b:q,b:q" (sorted). */
/* @m's queues of the test's topics (not the group's retry topic, which
 * every member also reads): up to @max into @q, their number. */
static size_t user_queues(struct member *m, struct raftq_queue *q, size_t max)
{
	struct raftq_queue all[NQ * 4];
	size_t n = raftq_consumer_assignment(m->k, all, NQ * 4), got = 0;
	assert_true(n <= NQ * 4);
	for (size_t i = 0; i < n; i++)
		if (all[i].topic[0] != '%' && got < max)
			q[got++] = all[i];
	return got;
}

static void assignment(struct member *m, char *out, size_t n)
{
	struct raftq_queue q[NQ * 2];
	size_t k = user_queues(m, q, NQ * 2);
	size_t at = 0;
	out[0] = '\0';
	for (size_t i = 0; i < k && i < NQ * 2; i++)
		at +=
		    (size_t)snprintf(out + at, n - at, "%s%s:%u", i ? "," : "",
				     q[i].broker_name, q[i].queue_id);
}

static bool owns(struct member *m, const char *broker, uint32_t qid)
{
	struct raftq_queue q[NQ * 2];
	size_t k = user_queues(m, q, NQ * 2);
	for (size_t i = 0; i < k; i++)
		if (q[i].queue_id == qid &&
		    strcmp(q[i].broker_name, broker) == 0)
			return true;
	return false;
}

/* One round over the members: consume what is ready, record it. */
static uint32_t round_(struct fx *x, struct member *ms, int n)
{
	uint32_t got = 0;
	for (int i = 0; i < n; i++) {
		struct member *m = &ms[i];
		if (m->k == NULL)
			continue;
		struct raftq_message msg[64];
		int k = raftq_consume(m->k, msg, 64, 5);
		if (k < 0)
			fail_msg("%s: consume: %s", m->id,
				 raftq_client_errmsg(m->c));
		for (int j = 0; j < k; j++) {
			const struct raftq_message *g = &msg[j];
			if (!owns(m, g->broker_name, g->queue_id))
				fail_msg("%s got %s:%u, not its queue", m->id,
					 g->broker_name, g->queue_id);
			int qi = qindex(g->broker_name, g->queue_id);
			assert_true(g->offset < 65536);
			/* The body is the one its delivery report placed
			 * there (lz4 batches included). */
			uint32_t at = 0;
			while (at < MAXMSG &&
			       !(x->recs[at].done == 1 && x->recs[at].q == qi &&
				 x->recs[at].offset == g->offset))
				at++;
			assert_true(at < MAXMSG);
			char want[32];
			body_of(at, want, sizeof want);
			assert_int_equal(g->body_len, strlen(want));
			assert_memory_equal(g->body, want, g->body_len);
			uint8_t bit = (uint8_t)(1u << (g->offset % 8));
			if (x->seen[qi][g->offset / 8] & bit) {
				x->dups++;
				x->dups_q[qi]++;
			}
			x->seen[qi][g->offset / 8] |= bit;
			if (!m->any_after[qi]) {
				m->any_after[qi] = true;
				m->first_after[qi] = g->offset;
				m->first_epoch[qi] = g->epoch;
			}
			m->got++;
			got++;
		}
	}
	x->delivered += got;
	return got;
}

/* Consumes until @want more messages arrived (or fails after @ms). */
static void consume(struct fx *x, struct member *ms, int n, uint32_t want,
		    int ms_)
{
	uint32_t got = 0;
	int64_t end = h_now_ms() + ms_;
	while (got < want && h_now_ms() < end)
		got += round_(x, ms, n);
	if (got != want)
		fail_msg("consumed %u messages, expected %u", got, want);
}

/* Consumes until every one of the first @n produced messages was
 * delivered (or fails after @ms). */
static void consume_all(struct fx *x, struct member *ms, int members,
			uint32_t n, int ms_)
{
	int64_t end = h_now_ms() + ms_;
	for (;;) {
		uint32_t missing = 0;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t o = x->recs[i].offset;
			missing +=
			    !(x->seen[x->recs[i].q][o / 8] & (1u << (o % 8)));
		}
		if (missing == 0)
			return;
		if (h_now_ms() >= end)
			fail_msg("%u of %u messages never delivered", missing,
				 n);
		round_(x, ms, members);
	}
}

/* Runs the members until @check holds (or fails after @ms). */
static void settle(struct fx *x, struct member *ms, int n,
		   bool (*check)(struct member *, int), int ms_)
{
	int64_t end = h_now_ms() + ms_;
	while (!check(ms, n)) {
		if (h_now_ms() > end)
			fail_msg("the group did not settle in %d ms", ms_);
		round_(x, ms, n);
	}
}

static const char *const expect3[] = {
    "broker-1:0,broker-2:1", "broker-1:1,broker-3:0", "broker-2:0,broker-3:1"};
static const char *const expect2[] = {"broker-1:0,broker-2:0,broker-3:0",
				      "broker-1:1,broker-2:1,broker-3:1"};

static bool settled(struct member *ms, int n, const char *const *want)
{
	for (int i = 0; i < n; i++) {
		char a[256];
		assignment(&ms[i], a, sizeof a);
		if (strcmp(a, want[i]) != 0)
			return false;
		/* Positions known for every queue. */
		struct raftq_queue q[NQ];
		size_t k = user_queues(&ms[i], q, NQ);
		for (size_t j = 0; j < k; j++)
			if (q[j].position == UINT64_MAX)
				return false;
	}
	return true;
}

static bool settled3(struct member *ms, int n)
{
	(void)n;
	return settled(ms, 3, expect3);
}

static bool settled2(struct member *ms, int n)
{
	(void)n;
	return settled(ms, 2, expect2);
}

static void group_create(struct fx *x, const char *g, const char *mode,
			 const char *initial)
{
	struct rpc_group_create_req in = {g, mode, initial, {NULL, 0}, 0};
	call_ok(x, RPC_GROUP_CREATE, &in);
}

/* A new clustering group @g with members m-a, m-b, m-c, settled. */
static void three_members(struct fx *x, struct member ms[3], const char *g)
{
	group_create(x, g, "clustering", "latest");
	join(x, &ms[0], g, "m-a", NULL);
	join(x, &ms[1], g, "m-b", NULL);
	join(x, &ms[2], g, "m-c", NULL);
	settle(x, ms, 3, settled3, 10000);
}

/* Three members share the queues (sorted by member id, round-robin over
 * the queues sorted by broker and id); one leaves and the other two take
 * its queues over; nothing is delivered twice or lost. */
static void test_client_group_shares_and_rebalances(void **state)
{
	struct fx *x = *state;
	struct member ms[3];
	three_members(x, ms, "g");

	struct raftq_client *pc = client(x, "producer");
	struct raftq_producer *p = producer(x, pc, 100, false);
	produce(x, pc, p, 0, 600);
	uint32_t per_q[NQ] = {0};
	for (int i = 0; i < 600; i++)
		per_q[x->recs[i].q]++;
	for (int q = 0; q < NQ; q++)
		assert_int_equal(per_q[q], 100); /* one batch per queue */

	consume(x, ms, 3, 600, 10000);
	assert_int_equal(ms[0].got, 200);
	assert_int_equal(ms[1].got, 200);
	assert_int_equal(ms[2].got, 200);
	assert_int_equal(x->dups, 0);

	/* m-c leaves (committing first): its queues move at once. The
	 * round-robin also moves q3 (m-a to m-b) and q4 (m-b to m-a): the
	 * new owner may read before the old owner's hand-over commit
	 * applied, and then gets those messages again from the position the
	 * group's first read fixed (at least once: never lost). */
	leave(&ms[2]);
	settle(x, ms, 2, settled2, 10000);
	produce(x, pc, p, 600, 660);
	consume_all(x, ms, 2, 660, 10000);
	for (int q = 0; q < NQ; q++)
		if (q != 3 && q != 4)
			assert_int_equal(x->dups_q[q], 0);
	assert_int_equal(raftq_producer_close(p, 5000), 0);
	raftq_client_free(pc);
	leave(&ms[0]);
	leave(&ms[1]);
}

/* A reset while members consume: after the reset returns, every queue's
 * first delivered message is exactly the reset offset, and every message
 * from there on is delivered once more. */
static void test_client_reset_moves_online_consumers(void **state)
{
	struct fx *x = *state;
	struct member ms[3];
	three_members(x, ms, "r");
	struct raftq_client *pc = client(x, "producer");
	struct raftq_producer *p = producer(x, pc, 50, false);
	produce(x, pc, p, 0, 300); /* wave 1: 50 per queue */
	consume(x, ms, 3, 300, 10000);
	usleep(30000);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t between = ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	usleep(30000);
	produce(x, pc, p, 300, 600); /* wave 2: 50 per queue */
	consume(x, ms, 3, 300, 10000);
	/* Wave 2's first offset per queue is where the reset must go. */
	uint64_t want[NQ];
	for (int q = 0; q < NQ; q++)
		want[q] = UINT64_MAX;
	for (int i = 300; i < 600; i++)
		if (x->recs[i].offset < want[x->recs[i].q])
			want[x->recs[i].q] = x->recs[i].offset;
	for (int q = 0; q < NQ; q++)
		assert_int_equal(want[q], 50);
	/* Let the members commit the end of wave 2 under epoch 0. */
	for (int i = 0; i < 30; i++)
		round_(x, ms, 3);

	struct rpc_reset_req in = h_reset_req("r", "orders", "time", between);
	struct ctl_resp r;
	h_call(L(x), RPC_RESET, &in, 5000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("reset: %s", r.st.message);
	int64_t acked = h_now_ms();
	const struct rpc_reset_resp *rr = r.body;
	assert_int_equal(rr->epoch, 1);
	assert_int_equal(rr->queues.n, NQ);
	const struct rpc_reset_queue *rq = rr->queues.v;
	for (uint32_t i = 0; i < NQ; i++)
		assert_int_equal(
		    rq[i].timestamp_offset,
		    want[qindex(rq[i].broker_name, rq[i].queue_id)]);
	ctl_resp_free(&r);

	/* From now on, nothing before the reset point may be delivered. */
	for (int i = 0; i < 3; i++)
		memset(ms[i].any_after, 0, sizeof ms[i].any_after);
	memset(x->seen, 0, sizeof x->seen);
	x->dups = 0;
	int64_t picked = -1;
	int64_t end = h_now_ms() + 10000;
	uint32_t got = 0;
	while (got < 300 && h_now_ms() < end) {
		got += round_(x, ms, 3);
		if (picked < 0 && got > 0)
			picked = h_now_ms() - acked;
	}
	assert_int_equal(got, 300);
	assert_int_equal(x->dups, 0);
	for (int i = 0; i < 3; i++)
		for (int q = 0; q < NQ; q++)
			if (ms[i].any_after[q]) {
				assert_int_equal(ms[i].first_after[q], want[q]);
				assert_int_equal(ms[i].first_epoch[q], 1);
			}
	uint64_t resets = 0;
	for (int i = 0; i < 3; i++)
		resets += raftq_consumer_resets(ms[i].k);
	assert_int_equal(resets, 3); /* each member moved once */
	print_message("reset picked up: first new delivery %lld ms after the "
		      "reset returned\n",
		      (long long)picked);

	/* Their commits land under the new epoch: the group ends at 100. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(raftq_commit(ms[i].k, 5000), 0);
	struct rpc_offsets_req oq = {"r", "orders"};
	h_call(L(x), RPC_OFFSETS, &oq, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	const struct rpc_offsets_resp *os = r.body;
	assert_int_equal(os->epoch, 1);
	const struct rpc_offset_info *oi = os->queues.v;
	for (uint32_t i = 0; i < os->queues.n; i++)
		assert_int_equal(oi[i].offset, 100);
	ctl_resp_free(&r);
	assert_int_equal(raftq_producer_close(p, 5000), 0);
	raftq_client_free(pc);
	for (int i = 0; i < 3; i++)
		leave(&ms[i]);
}

/* Regression (nemesis, 2026-12-01: 12,777 deliveries below a reset): a
 * reset answered by a leader elected moments before — one the member had
 * not heartbeated to yet, so it sent the member no notice — must still
 * keep the member from delivering what it had buffered before the reset.
 * The member holds 49 fetched messages per queue and does not run while
 * the leader is killed, a new one elected and the reset answered. */
static void
test_regress_reset_by_new_leader_reaches_buffered_member(void **state)
{
	struct fx *x = *state;
	struct member m;
	group_create(x, "nl", "clustering", "earliest");
	join(x, &m, "nl", "m-a", NULL);
	struct raftq_client *pc = client(x, "producer");
	struct raftq_producer *p = producer(x, pc, 50, false);
	produce(x, pc, p, 0, 300); /* 50 per queue: offsets 0..49 */
	/* One message from every queue: the rest of each stays buffered. */
	int64_t end = h_now_ms() + 10000;
	bool any[NQ] = {false};
	int queues = 0;
	while (queues < NQ && h_now_ms() < end) {
		struct raftq_message msg;
		int k = raftq_consume(m.k, &msg, 1, 5);
		assert_true(k >= 0);
		int qi = k ? qindex(msg.broker_name, msg.queue_id) : 0;
		if (k == 1 && !any[qi]) {
			assert_int_equal(msg.offset, 0);
			any[qi] = true;
			queues++;
		}
	}
	assert_int_equal(queues, NQ);

	int old = x->h.leader;
	h_kill(&x->h, old);
	assert_true(h_wait_leader(&x->h, 2, 15000) >= 0);
	assert_int_equal(h_start(&x->h, old), 0);
	x->h.leader = h_wait_leader(&x->h, 3, 15000);
	assert_true(x->h.leader >= 0);
	struct rpc_reset_req in = h_reset_req("nl", "orders", "latest", 0);
	struct ctl_resp r;
	int64_t until = h_now_ms() + 20000;
	do { /* the restarted broker may not serve yet: retry */
		h_call(L(x), RPC_RESET, &in, 5000, &r);
		assert_int_equal(r.err, 0);
		if (r.st.code == RPC_OK)
			break;
		ctl_resp_free(&r);
		usleep(50000);
	} while (h_now_ms() < until);
	if (r.st.code != RPC_OK)
		fail_msg("reset: %s", r.st.message);
	const struct rpc_reset_resp *rr = r.body;
	assert_int_equal(rr->epoch, 1);
	for (uint32_t i = 0; i < rr->queues.n; i++)
		assert_int_equal(
		    ((const struct rpc_reset_queue *)rr->queues.v)[i]
			.timestamp_offset,
		    50);
	ctl_resp_free(&r);

	/* From now on only offsets from 50 on, under epoch 1. */
	produce(x, pc, p, 300, 600);
	memset(x->seen, 0, sizeof x->seen);
	uint32_t got = 0;
	for (int64_t stop = h_now_ms() + 15000; got < 300 && h_now_ms() < stop;)
		got += round_(x, &m, 1);
	/* The producer spread wave 2 over the queues as it saw fit: those
	 * that got some start at 50, the others deliver nothing. */
	bool fed[NQ] = {false};
	for (int i = 300; i < 600; i++)
		fed[x->recs[i].q] = true;
	for (int q = 0; q < NQ; q++) {
		assert_int_equal(m.any_after[q], fed[q]);
		if (!fed[q])
			continue;
		assert_int_equal(m.first_after[q], 50);
		assert_int_equal(m.first_epoch[q], 1);
	}
	assert_int_equal(got, 300);
	assert_int_equal(x->dups, 0);
	assert_int_equal(raftq_consumer_resets(m.k), 1);
	assert_int_equal(raftq_producer_close(p, 5000), 0);
	raftq_client_free(pc);
	leave(&m);
}

/* kill -9 of a broker while producing: every message is reported stored,
 * and each is at the offset its report gave (read back after restart). */
static void test_client_producer_survives_broker_kill(void **state)
{
	struct fx *x = *state;
	struct raftq_client *pc = client(x, "producer");
	struct raftq_producer *p = producer(x, pc, 100, false);
	const uint32_t total = 6000;
	int victim = (x->h.leader + 1) % 3; /* a follower: data path only */
	for (uint32_t i = 0; i < total; i++) {
		char b[32];
		body_of(i, b, sizeof b);
		int rv;
		while ((rv = raftq_produce(p, NULL, 0, b, strlen(b),
					   (void *)(uintptr_t)i)) ==
		       RAFTQ_EFULL)
			raftq_poll(pc, 10);
		assert_int_equal(rv, 0);
		if (i % 100 == 99)
			raftq_poll(pc, 1); /* ~100 ms of producing in all */
		if (i == 2000)
			h_kill(&x->h, victim);
	}
	assert_int_equal(raftq_producer_flush(p, 30000), 0);
	uint32_t ok = 0;
	for (uint32_t i = 0; i < total; i++) {
		if (x->recs[i].done != 1)
			fail_msg("message %u: %s", i,
				 raftq_strerror(x->recs[i].err));
		ok++;
	}
	assert_int_equal(ok, total);
	assert_int_equal(raftq_producer_close(p, 5000), 0);
	raftq_client_free(pc);

	/* Every acknowledged message is where its report says, on the homes
	 * once they lead again (the victim's queues moved while it was down:
	 * three copies). */
	assert_int_equal(h_start(&x->h, victim), 0);
	assert_true(h_wait_leader(&x->h, 3, 15000) >= 0);
	assert_int_equal(h_wait_homes_lead(&x->h, "orders", 15000), 0);
	for (uint32_t i = 0; i < total; i += 97) {
		const struct rec *rc = &x->recs[i];
		struct rpc_fetch_req fr = {
		    NULL,	"orders", (uint32_t)(rc->q % QPB),
		    rc->offset, 0,	  4096,
		    0,		NULL,	  NULL};
		struct ctl_resp r;
		h_call(x->h.nodes[rc->q / QPB].listen, RPC_FETCH, &fr, 5000,
		       &r);
		assert_int_equal(r.err, 0);
		assert_int_equal(r.st.code, RPC_OK);
		const struct rpc_fetch_resp *f = r.body;
		/* The first batch holds the offset; find its record. */
		size_t bp = 0;
		struct rpc_batch bt;
		assert_int_equal(
		    rpc_batch_next(f->batches.ptr, f->batches.len, &bp, &bt),
		    1);
		assert_int_equal(bt.flags, 0);
		size_t pos = 0;
		struct rpc_record rec;
		uint64_t off = bt.base_offset;
		bool found = false;
		while (rpc_record_next(bt.payload, bt.payload_len, &pos,
				       &rec) == 1) {
			if (off++ != rc->offset)
				continue;
			char b[32];
			body_of(i, b, sizeof b);
			assert_int_equal(rec.body_len, strlen(b));
			assert_memory_equal(rec.body, b, rec.body_len);
			found = true;
			break;
		}
		assert_true(found);
		ctl_resp_free(&r);
	}
}

/* Broadcasting: every member reads every queue from its own offset file
 * (the batches are lz4 frames here: the consumer decodes them);
 * a restarted member resumes from the file; resets are refused. */
static void test_client_broadcasting(void **state)
{
	struct fx *x = *state;
	group_create(x, "b", "broadcasting", "earliest");
	struct raftq_client *pc = client(x, "producer");
	struct raftq_producer *p = producer(x, pc, 10, true);
	produce(x, pc, p, 0, 60);
	char file[600];
	snprintf(file, sizeof file, "%s/b.offsets", x->h.root);
	struct member m[2];
	join(x, &m[0], "b", "one", file);
	char file2[600];
	snprintf(file2, sizeof file2, "%s/b2.offsets", x->h.root);
	join(x, &m[1], "b", "two", file2);
	consume(x, m, 2, 120, 10000); /* each gets all 60 */
	assert_int_equal(m[0].got, 60);
	assert_int_equal(m[1].got, 60);
	char a[256];
	assignment(&m[0], a, sizeof a);
	assert_string_equal(a, "broker-1:0,broker-1:1,broker-2:0,broker-2:1,"
			       "broker-3:0,broker-3:1");
	assert_int_equal(raftq_commit(m[0].k, 5000), 0);
	leave(&m[0]);
	/* The file: one line per queue at offset 10. */
	FILE *f = fopen(file, "r");
	assert_non_null(f);
	char line[512];
	int lines = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#')
			continue;
		char t[64], b[64];
		unsigned q;
		unsigned long long o;
		assert_int_equal(
		    sscanf(line, "%63s %63s %u %llu", t, b, &q, &o), 4);
		assert_string_equal(t, "orders");
		assert_int_equal(o, 10);
		lines++;
	}
	fclose(f);
	assert_int_equal(lines, NQ);

	/* Back from the file: only new messages. */
	join(x, &m[0], "b", "one", file);
	produce(x, pc, p, 60, 66);
	uint32_t before = m[1].got;
	consume(x, m, 2, 12, 10000);
	assert_int_equal(m[0].got, 6);
	assert_int_equal(m[1].got - before, 6);

	struct rpc_reset_req in = h_reset_req("b", "orders", "earliest", 0);
	h_expect_refusal(L(x), RPC_RESET, &in, RPC_BROADCAST_UNSUPPORTED,
			 "group 'b' is broadcasting: its offsets live on the "
			 "clients, so the cluster cannot reset them");
	assert_int_equal(raftq_producer_close(p, 5000), 0);
	raftq_client_free(pc);
	leave(&m[0]);
	leave(&m[1]);
}

/* Typos fail with their names, never create anything. */
static void test_client_unknown_names(void **state)
{
	struct fx *x = *state;
	struct raftq_client *c = client(x, "typo");
	struct raftq_producer_config pc = {.topic = "ordres"};
	struct raftq_producer *p;
	assert_int_equal(raftq_producer_new(c, &pc, &p), RAFTQ_EUNKNOWN_TOPIC);
	assert_string_equal(raftq_client_errmsg(c),
			    "UNKNOWN_TOPIC: topic 'ordres' does not exist");
	const char *topics[] = {"orders"};
	struct raftq_consumer_config kc = {
	    .group = "nogroup", .topics = topics, .n_topics = 1};
	struct raftq_consumer *k;
	assert_int_equal(raftq_consumer_new(c, &kc, &k), 0);
	struct raftq_message m[4];
	int rv = 0;
	int64_t end = h_now_ms() + 5000;
	while (rv == 0 && h_now_ms() < end)
		rv = raftq_consume(k, m, 4, 50);
	assert_int_equal(rv, RAFTQ_EUNKNOWN_GROUP);
	assert_string_equal(raftq_client_errmsg(c),
			    "UNKNOWN_GROUP: group 'nogroup' does not exist");
	raftq_consumer_close(k, 1000);
	raftq_client_free(c);

	char err[256];
	struct raftq_config bad = {.bootstrap = "localhost:9101"};
	assert_int_equal(raftq_client_new(&bad, &c, err, sizeof err),
			 RAFTQ_EINVAL);
	assert_string_equal(err, "bootstrap: 'localhost:9101' is not a numeric "
				 "host:port");
}

/* Issue 11 #11: keyless messages at a low rate (each batch closed by its
 * linger timer) still move from queue to queue. */
static void test_client_keyless_low_rate_spreads(void **state)
{
	struct fx *x = *state;
	struct raftq_client *pc = client(x, "slow-producer");
	struct raftq_producer *p = producer(x, pc, 100, false);
	for (uint32_t i = 0; i < 36; i++) {
		char b[32];
		body_of(i, b, sizeof b);
		assert_int_equal(raftq_produce(p, NULL, 0, b, strlen(b),
					       (void *)(uintptr_t)i),
				 0);
		raftq_poll(pc, 12); /* past the 5 ms linger: one per batch */
	}
	assert_int_equal(raftq_producer_flush(p, 20000), 0);
	uint32_t per_q[NQ] = {0};
	for (int i = 0; i < 36; i++) {
		assert_int_equal(x->recs[i].done, 1);
		per_q[x->recs[i].q]++;
	}
	for (int q = 0; q < NQ; q++)
		assert_true(per_q[q] >= 3); /* 6 each when evenly spread */
	assert_int_equal(raftq_producer_close(p, 5000), 0);
	raftq_client_free(pc);
}

/* The records with @bodies (n of them) into @payload; their length. */
static uint32_t records_of(uint8_t *payload, const char *const *bodies,
			   uint32_t n)
{
	size_t len = 0;
	for (uint32_t i = 0; i < n; i++)
		len += rpc_record_put(payload + len, NULL, 0, bodies[i],
				      strlen(bodies[i]));
	return (uint32_t)len;
}

/* Writes a batch of @count records holding @bodies straight into broker-1's
 * queue 0 of orders while it is stopped — what a raftq from before the
 * brokers checked records (issue 10 #4) may have stored — and starts it
 * again. */
static void store_old_batch(struct fx *x, uint32_t count,
			    const char *const *bodies, uint32_t n)
{
	uint8_t payload[256];
	char dir[700], err[256];
	struct stor_config c;
	struct stor_queue *q;
	uint64_t base;
	int64_t t;
	assert_int_equal(h_stop(&x->h, 0, 10000), 0);
	snprintf(dir, sizeof dir, "%s/queues/orders", x->h.nodes[0].dir);
	assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
	strcat(dir, "/0");
	stor_config_default(&c);
	c.segment_bytes = 1048576;
	c.max_batch_bytes = 262144;
	if (stor_queue_open(dir, "orders/0", &c, NULL, &q, err, sizeof err))
		fail_msg("open: %s", err);
	struct stor_batch_in in = {
	    payload, records_of(payload, bodies, n), count, 0, h_now_ms(), 0};
	assert_int_equal(stor_queue_append(q, &in, &base, &t), 0);
	assert_int_equal(base, 0); /* the queue was empty */
	assert_int_equal(stor_queue_close(q, err, sizeof err), 0);
	assert_int_equal(h_start(&x->h, 0), 0);
	x->h.leader = h_wait_leader(&x->h, 3, 15000);
	assert_true(x->h.leader >= 0);
}

/* Issue 10 #4 (the consumer's half): a stored batch whose records do not
 * add up to its count (brokers refuse such batches now; an older raftq
 * stored them) is skipped and reported; the consumer goes on with the
 * next batch instead of stalling on the queue forever. */
static void test_client_skips_a_malformed_batch(void **state)
{
	struct fx *x = *state;
	const char *one[] = {"bad"}, *two[] = {"m1", "m2"};
	uint8_t payload[64];
	store_old_batch(x, 3, one, 1); /* offsets 0..2, one record inside */
	struct rpc_produce_req in = {
	    "orders", 0, 2,    0, {payload, records_of(payload, two, 2)},
	    0,	      0, NULL, 0};
	call_ok_at(x->h.nodes[0].listen, RPC_PRODUCE, &in); /* 3..4 */
	group_create(x, "s", "clustering", "earliest");
	struct member mb;
	join(x, &mb, "s", "skipper", NULL);
	struct raftq_message m[4];
	char got[2][8];
	uint64_t offs[2];
	int n = 0;
	for (int64_t end = h_now_ms() + 10000; n < 2 && h_now_ms() < end;) {
		int r = raftq_consume(mb.k, m, 4, 100);
		for (int i = 0; i < r && n < 2; i++, n++) {
			snprintf(got[n], sizeof got[n], "%.*s",
				 (int)m[i].body_len, (const char *)m[i].body);
			offs[n] = m[i].offset;
		}
	}
	assert_int_equal(n, 2);
	assert_string_equal(got[0], "m1");
	assert_int_equal(offs[0], 3);
	assert_string_equal(got[1], "m2");
	assert_int_equal(offs[1], 4);
	assert_int_equal(raftq_consumer_skipped(mb.k), 3);
	assert_non_null(strstr(raftq_client_errmsg(mb.c),
			       "broker-1 queue 0 of orders: malformed batch at "
			       "offsets 0..2 skipped (3 records)"));
	leave(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_client_group_shares_and_rebalances, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_client_reset_moves_online_consumers, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_regress_reset_by_new_leader_reaches_buffered_member, setup,
		h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_client_producer_survives_broker_kill, setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_client_broadcasting, setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_client_unknown_names, setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_client_skips_a_malformed_batch,
					    setup_single, h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_client_keyless_low_rate_spreads, setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
