/*
 * The data plane on a real 3-node cluster: produce to every broker's
 * queues, describe the topic from any node, fetch exact batches, clamp,
 * refuse bad input, keep every acknowledged message across kill -9, and
 * hold a fetch that finds nothing until data or a reset comes (long
 * polling).
 */
#include "../unit/test_util.h"
#include "harness.h"
#include "storage.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#define QPB 4

static int setup(void **state)
{
	struct harness *h = h_fixture(sizeof *h, 3, false);
	*state = h;
	return h != NULL && h_create_topic(h, "orders", QPB) == 0 ? 0 : -1;
}

/* Batch k of queue (broker b, queue q): count b+2 records, payload bytes
 * derived from (b, q, k). Queue q of broker b gets q+1 batches. */
static uint32_t count_of(int b)
{
	return (uint32_t)b + 2;
}

/* Batch @k of queue @q of broker @b: count_of(b) records. */
static void payload_of(int b, int q, int k, uint8_t *p, uint32_t *len)
{
	*len = h_records(p, count_of(b), (uint32_t)(b * 100 + q * 10 + k));
}

static uint64_t produce(struct harness *h, int b, const char *topic, uint32_t q,
			uint32_t count, const uint8_t *p, uint32_t len,
			uint32_t *code, char *msg, size_t msglen)
{
	struct rpc_produce_req in = {topic, q, count, 0, {p, len},
				     0,	    0, NULL,  0};
	struct ctl_resp r;
	h_call(h->nodes[b].listen, RPC_PRODUCE, &in, 5000, &r);
	assert_int_equal(r.err, 0);
	*code = r.st.code;
	if (msg)
		snprintf(msg, msglen, "%s", r.st.message ? r.st.message : "");
	uint64_t base = r.st.code == RPC_OK
			    ? ((struct rpc_produce_resp *)r.body)->base_offset
			    : UINT64_MAX;
	ctl_resp_free(&r);
	return base;
}

static void produce_all(struct harness *h)
{
	for (int b = 0; b < 3; b++)
		for (int q = 0; q < QPB; q++)
			for (int k = 0; k <= q; k++) {
				uint8_t p[64];
				uint32_t len, code;
				payload_of(b, q, k, p, &len);
				uint64_t base = produce(
				    h, b, "orders", (uint32_t)q, count_of(b), p,
				    len, &code, NULL, 0);
				assert_int_equal(code, RPC_OK);
				assert_int_equal(base,
						 (uint64_t)k * count_of(b));
			}
}

static void check_describe(struct harness *h, int via)
{
	struct rpc_topic_req d = {"orders"};
	struct ctl_resp r;
	h_call(h->nodes[via].listen, RPC_TOPIC_DESCRIBE, &d, 5000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("describe: %s", r.st.message);
	const struct rpc_topic_describe_resp *t = r.body;
	assert_string_equal(t->topic, "orders");
	assert_int_equal(t->queues.n, 3 * QPB);
	const struct rpc_queue_info *q = t->queues.v;
	for (int b = 0; b < 3; b++)
		for (int k = 0; k < QPB; k++) {
			const struct rpc_queue_info *x = &q[b * QPB + k];
			char name[16];
			snprintf(name, sizeof name, "broker-%d", b + 1);
			assert_string_equal(x->broker_name, name);
			assert_int_equal(x->queue_id, k);
			assert_int_equal(x->min_offset, 0);
			assert_int_equal(x->max_offset,
					 (uint64_t)(k + 1) * count_of(b));
			assert_true(x->first_store_time > 1700000000000);
			assert_true(x->last_store_time >= x->first_store_time);
		}
	ctl_resp_free(&r);
}

static void test_data_produce_describe_fetch(void **state)
{
	struct harness *h = *state;
	produce_all(h);
	for (int via = 0; via < 3; via++)
		check_describe(h, via);

	/* Fetch queue 3 of broker-2 (4 batches of 3 records) from offset 4:
	 * the batch holding it (base 3) comes first. */
	struct rpc_fetch_req fr = {NULL, "orders", 3, 4, 0, 0, 0, NULL, NULL};
	struct ctl_resp r;
	h_call(h->nodes[1].listen, RPC_FETCH, &fr, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	const struct rpc_fetch_resp *x = r.body;
	assert_int_equal(x->min_offset, 0);
	assert_int_equal(x->max_offset, 12);
	assert_int_equal(x->offset, 4);
	size_t pos = 0;
	struct stor_batch bt;
	for (int k = 1; k <= 3; k++) {
		assert_int_equal(
		    stor_batch_next(x->batches.ptr, x->batches.len, &pos, &bt),
		    1);
		assert_int_equal(bt.base_offset, (uint64_t)k * 3);
		assert_int_equal(bt.count, 3);
		uint8_t p[64];
		uint32_t len;
		payload_of(1, 3, k, p, &len);
		assert_int_equal(bt.payload_len, len);
		assert_memory_equal(bt.payload, p, len);
	}
	assert_int_equal(
	    stor_batch_next(x->batches.ptr, x->batches.len, &pos, &bt), 0);
	ctl_resp_free(&r);
	/* Past the end: nothing, and where to wait. */
	fr.offset = 999;
	h_call(h->nodes[1].listen, RPC_FETCH, &fr, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	x = r.body;
	assert_int_equal(x->batches.len, 0);
	assert_int_equal(x->offset, 12);
	ctl_resp_free(&r);
	/* A group that does not exist is an error, not a new group. */
	fr.offset = 0;
	fr.group = "nosuch";
	h_call(h->nodes[1].listen, RPC_FETCH, &fr, 5000, &r);
	assert_int_equal(r.st.code, RPC_UNKNOWN_GROUP);
	assert_string_equal(r.st.message, "group 'nosuch' does not exist");
	ctl_resp_free(&r);
}

/* Disk write errors under a broker's queues (the libfiu fault point
 * raftq/storage/write, node/fault_points.c, which the nemesis's disk fault
 * drives): a produce is refused UNAVAILABLE naming the failed write, the
 * node stays up, and once the disk heals the next batch is stored right
 * after the last acknowledged one. */
static void test_data_storage_write_errors_refuse_produce(void **state)
{
	(void)state;
	if (!h_fiu_available())
		skip(); /* fiu-utils: scripts/install-deps.sh */
	struct harness *h = calloc(1, sizeof *h);
	assert_non_null(h);
	assert_int_equal(h_init(h, 1), 0);
	h->fiu = true;
	assert_int_equal(h_start(h, 0), 0);
	h->leader = h_wait_leader(h, 1, 15000);
	assert_int_equal(h->leader, 0);
	assert_int_equal(h_create_topic(h, "orders", 1), 0);
	uint8_t p[64];
	uint32_t len, code;
	char msg[300];
	payload_of(0, 0, 1, p, &len);
	assert_int_equal(produce(h, 0, "orders", 0, count_of(0), p, len, &code,
				 msg, sizeof msg),
			 0);
	assert_int_equal(h_fiu(h, 0, "enable name=raftq/storage/write"), 0);
	produce(h, 0, "orders", 0, count_of(0), p, len, &code, msg, sizeof msg);
	assert_int_equal(code, RPC_UNAVAILABLE);
	if (strstr(msg, "Input/output error") == NULL)
		fail_msg("no I/O error named: %s", msg);
	assert_int_equal(h_fiu(h, 0, "disable name=raftq/storage/write"), 0);
	uint64_t base = produce(h, 0, "orders", 0, count_of(0), p, len, &code,
				msg, sizeof msg);
	if (code != RPC_OK)
		fail_msg("after the disk healed: %s", msg);
	assert_int_equal(base, count_of(0));
	int status;
	assert_false(h_reap(h, 0, &status)); /* still running */
	h_destroy(h);
	free(h);
}

static void test_data_bad_input(void **state)
{
	struct harness *h = *state;
	uint32_t code;
	char msg[300];
	uint8_t p[8] = {1, 2, 3};
	/* "does not exist" comes only from current state (a loaded CI
	 * machine once answered UNAVAILABLE here): wait until it is. */
	assert_true(h_lists_topic(h, 0, "orders", 10000));
	produce(h, 0, "orders", 9, 1, p, 3, &code, msg, sizeof msg);
	assert_int_equal(code, RPC_INVALID_ARGUMENT);
	assert_string_equal(msg, "topic 'orders' has no queue 9 on broker-1 "
				 "(it has 4 per broker)");
	produce(h, 0, "nope", 0, 1, p, 3, &code, msg, sizeof msg);
	assert_int_equal(code, RPC_UNKNOWN_TOPIC);
	assert_string_equal(msg, "topic 'nope' does not exist");
	produce(h, 0, "orders", 0, 0, p, 3, &code, msg, sizeof msg);
	assert_int_equal(code, RPC_INVALID_ARGUMENT);
	assert_string_equal(msg,
			    "queue orders/broker-1/0: batch record count 0 not "
			    "in 1..1048576");
	struct rpc_topic_req d = {"nope"};
	struct ctl_resp r;
	h_call(h->nodes[2].listen, RPC_TOPIC_DESCRIBE, &d, 5000, &r);
	assert_int_equal(r.st.code, RPC_UNKNOWN_TOPIC);
	ctl_resp_free(&r);
}

/* Issue 10 #4: a batch whose payload is not `count` well-formed records
 * (or not an lz4 frame of them) is refused before it is stored, naming
 * what is wrong; the queue does not move. */
static void test_regress_malformed_batch_refused(void **state)
{
	struct harness *h = *state;
	uint32_t code;
	char msg[300];
	uint8_t p[64];
	size_t len = rpc_record_put(p, NULL, 0, "ab", 2);
	static const struct {
		uint32_t count, flags;
		size_t cut, extra;
		const char *msg;
	} bad[] = {
	    {3, 0, 0, 0,
	     "malformed batch: 1 record in the payload, its count says 3"},
	    {1, 0, 1, 0, "malformed batch: record 1 runs past the payload"},
	    {1, 0, 0, 2, "malformed batch: record 2 runs past the payload"},
	    {1, 1, 0, 0, "malformed batch: the lz4 frame does not decode"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(p + len, 0xee, bad[i].extra);
		struct rpc_produce_req in = {
		    "orders",
		    0,
		    bad[i].count,
		    bad[i].flags,
		    {p, (uint32_t)(len - bad[i].cut + bad[i].extra)},
		    0,
		    0,
		    NULL,
		    0};
		struct ctl_resp r;
		h_call(h->nodes[0].listen, RPC_PRODUCE, &in, 5000, &r);
		assert_int_equal(r.err, 0);
		code = r.st.code;
		snprintf(msg, sizeof msg, "%s",
			 r.st.message ? r.st.message : "");
		ctl_resp_free(&r);
		assert_int_equal(code, RPC_INVALID_ARGUMENT);
		assert_string_equal(msg, bad[i].msg);
	}
	/* Nothing was stored: the next good batch lands at offset 0. */
	uint64_t base = produce(h, 0, "orders", 0, 1, p, (uint32_t)len, &code,
				msg, sizeof msg);
	assert_int_equal(code, RPC_OK);
	assert_int_equal(base, 0);
}

/* Issue 10 #3: a restarted node answered from an empty state for about a
 * second: "topic does not exist" for topics that exist. Now it waits
 * until it has applied what the leader had committed (or says it is
 * catching up): never UNKNOWN_TOPIC for a topic that exists. */
static void test_regress_restarted_node_answers_from_empty_state(void **state)
{
	struct harness *h = *state;
	uint8_t p[16];
	uint32_t len = h_records(p, 1, 1), code;
	char msg[300];
	h_kill(h, 2);
	assert_int_equal(h_start(h, 2), 0);
	int unknown = 0, ok = 0, describe_ok = 0;
	for (int64_t end = h_now_ms() + 8000; h_now_ms() < end && ok < 5;) {
		struct rpc_produce_req in = {"orders", 0, 1,	0, {p, len},
					     0,	       0, NULL, 0};
		struct ctl_resp r;
		h_call(h->nodes[2].listen, RPC_PRODUCE, &in, 3000, &r);
		code = r.err == 0 ? r.st.code : RPC_UNAVAILABLE;
		snprintf(msg, sizeof msg, "%s",
			 r.err == 0 && r.st.message ? r.st.message : "");
		ctl_resp_free(&r);
		unknown += code == RPC_UNKNOWN_TOPIC;
		ok += code == RPC_OK;
		struct rpc_topic_req d = {"orders"};
		h_call(h->nodes[2].listen, RPC_TOPIC_DESCRIBE, &d, 3000, &r);
		unknown += r.err == 0 && r.st.code == RPC_UNKNOWN_TOPIC;
		describe_ok += r.err == 0 && r.st.code == RPC_OK;
		ctl_resp_free(&r);
		if (code != RPC_OK)
			usleep(5000); /* bounded by the 8 s deadline */
	}
	assert_int_equal(unknown, 0);
	assert_int_equal(ok, 5);
	assert_true(describe_ok > 0);
}

/* The leader of queue @k of home broker-(@b+1) by a describe via node
 * @via, into @out; false while the describe fails. */
static bool leader_of(struct harness *h, int via, int b, int k, char *out,
		      size_t len)
{
	struct rpc_topic_req d = {"orders"};
	struct ctl_resp r;
	h_call(h->nodes[via].listen, RPC_TOPIC_DESCRIBE, &d, 5000, &r);
	bool ok = r.err == 0 && r.st.code == RPC_OK;
	if (ok) {
		const struct rpc_topic_describe_resp *t = r.body;
		const struct rpc_queue_info *q = t->queues.v;
		const char *l = q[b * QPB + k].leader_broker;
		ok = l != NULL;
		snprintf(out, len, "%s", l ? l : "");
	}
	ctl_resp_free(&r);
	return ok;
}

/* Polls until queue @k of broker-(@b+1) is led by @want (NULL: by
 * anyone but @b); the leader's name in @out. */
static void wait_leader_of(struct harness *h, int via, int b, int k,
			   const char *want, char *out, size_t len)
{
	char home[32];
	snprintf(home, sizeof home, "broker-%d", b + 1);
	int64_t until = h_now_ms() + 10000;
	while (h_now_ms() < until) {
		if (leader_of(h, via, b, k, out, len) &&
		    (want ? strcmp(out, want) == 0 : strcmp(out, home) != 0))
			return;
		usleep(50 * 1000);
	}
	fail_msg("queue %d of %s: leader %s, not %s within 10 s", k, home, out,
		 want ? want : "another broker");
}

/* The index of the node named @name ("broker-N"). */
static int node_of(const char *name)
{
	return atoi(name + strlen("broker-")) - 1;
}

/* Three copies (the default from three brokers on): a killed broker's
 * queues move to another in-sync replica with every acknowledged message,
 * take appends there, and the broker comes back with them and leads its
 * queues again. */
static void test_data_survives_kill_with_every_message(void **state)
{
	struct harness *h = *state;
	produce_all(h);
	h_kill(h, 2);
	char leader[32];
	wait_leader_of(h, 0, 2, 1, NULL, leader, sizeof leader);
	check_describe(h, 0);
	/* Appends continue at its new leader, at the next offsets. */
	uint8_t p[80];
	uint32_t code;
	struct rpc_produce_req in = {
	    "orders", 1, 5, 0, {p, h_records(p, 5, 9)}, 0, 0, NULL, 0};
	in.broker = "broker-3";
	struct ctl_resp r;
	h_call(h->nodes[node_of(leader)].listen, RPC_PRODUCE, &in, 5000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("produce at %s: %s", leader, r.st.message);
	assert_int_equal(((struct rpc_produce_resp *)r.body)->base_offset,
			 2 * count_of(2));
	ctl_resp_free(&r);
	/* It comes back (its queues recover from the crash: no clean-shutdown
	 * marker), catches up and leads its queues again. */
	assert_int_equal(h_start(h, 2), 0);
	assert_true(h_wait_leader(h, 3, 15000) >= 0);
	wait_leader_of(h, 0, 2, 1, "broker-3", leader, sizeof leader);
	uint64_t base = produce(h, 2, "orders", 1, 5, p, h_records(p, 5, 9),
				&code, NULL, 0);
	assert_int_equal(code, RPC_OK);
	assert_int_equal(base, 2 * count_of(2) + 5);
}

/* One copy: a killed broker's queues are unavailable, and say whose. */
static void test_data_single_copy_reports_unavailable(void **state)
{
	struct harness *h = *state;
	assert_int_equal(h_create_topic_rf(h, "single", 1, 1), 0);
	h_kill(h, 2);
	struct rpc_topic_req d = {"single"};
	struct ctl_resp r;
	h_call(h->nodes[0].listen, RPC_TOPIC_DESCRIBE, &d, 8000, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.st.code, RPC_UNAVAILABLE);
	assert_non_null(strstr(r.st.message, "broker-3"));
	ctl_resp_free(&r);
	assert_int_equal(h_start(h, 2), 0);
	assert_true(h_wait_leader(h, 3, 15000) >= 0);
	h_call(h->nodes[0].listen, RPC_TOPIC_DESCRIBE, &d, 8000, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.st.code, RPC_OK);
	ctl_resp_free(&r);
}

/* One request sent from another thread after @delay_ms. */
struct later {
	const char *addr;
	uint16_t type;
	const void *req;
	int delay_ms;
	uint32_t code;
	pthread_t t;
};

static void *call_later_run(void *arg)
{
	struct later *l = arg;
	usleep((useconds_t)l->delay_ms * 1000);
	l->code = h_call_code(l->addr, l->type, l->req, 10000);
	return NULL;
}

static void call_later(struct later *l)
{
	assert_int_equal(pthread_create(&l->t, NULL, call_later_run, l), 0);
}

/* A fetch of queue 2 of broker-1 at @offset (with @epoch) waiting up to
 * @wait_ms: its answer in *r, the time it took in milliseconds. */
static int64_t fetch_at(struct harness *h, const char *group, uint64_t offset,
			uint64_t epoch, uint32_t wait_ms, struct ctl_resp *r)
{
	struct rpc_fetch_req fr = {group, "orders", 2,	  offset, epoch,
				   0,	  wait_ms,  NULL, NULL};
	int64_t t0 = h_now_ms();
	h_call(h->nodes[0].listen, RPC_FETCH, &fr, 10000, r);
	assert_int_equal(r->err, 0);
	return h_now_ms() - t0;
}

/* Issue 11: FETCH waits up to max_wait_ms for data; answered at once when
 * data comes, the group is reset or the topic deleted; empty at the
 * deadline; at once without max_wait_ms. */
static void test_data_fetch_long_polls(void **state)
{
	struct harness *h = *state;
	struct ctl_resp r;
	/* No max_wait_ms: empty at once. */
	assert_true(fetch_at(h, NULL, 0, 0, 0, &r) < 300);
	assert_int_equal(((const struct rpc_fetch_resp *)r.body)->batches.len,
			 0);
	ctl_resp_free(&r);
	/* Nothing comes: empty after the wait, not before. */
	int64_t ms = fetch_at(h, NULL, 0, 0, 600, &r);
	assert_true(ms >= 580 && ms < 2000);
	assert_int_equal(((const struct rpc_fetch_resp *)r.body)->batches.len,
			 0);
	ctl_resp_free(&r);
	/* Data comes after 300 ms: delivered then, not at the deadline. */
	uint8_t p[16];
	struct rpc_produce_req pr = {
	    "orders", 2, 1, 0, {p, h_records(p, 1, 2)}, 0, 0, NULL, 0};
	struct later l = {h->nodes[0].listen, RPC_PRODUCE, &pr, 300, 0, 0};
	call_later(&l);
	ms = fetch_at(h, NULL, 0, 0, 8000, &r);
	pthread_join(l.t, NULL);
	assert_int_equal(l.code, RPC_OK);
	assert_true(ms >= 250 && ms < 3000);
	const struct rpc_fetch_resp *x = r.body;
	size_t pos = 0;
	struct stor_batch bt;
	assert_int_equal(
	    stor_batch_next(x->batches.ptr, x->batches.len, &pos, &bt), 1);
	assert_int_equal(bt.base_offset, 0);
	assert_int_equal(bt.payload_len, pr.payload.len);
	ctl_resp_free(&r);
	/* A reset of the group wakes its waiting fetch: OFFSET_MOVED. */
	assert_int_equal(h_create_group(h, "g", NULL, NULL), 0);
	struct rpc_reset_req rr = h_reset_req("g", "orders", "earliest", 0);
	int leader = h_wait_leader(h, 3, 10000);
	assert_true(leader >= 0);
	struct later lr = {h->nodes[leader].listen, RPC_RESET, &rr, 300, 0, 0};
	call_later(&lr);
	ms = fetch_at(h, "g", 1, 0, 8000, &r);
	pthread_join(lr.t, NULL);
	assert_int_equal(lr.code, RPC_OK);
	assert_int_equal(r.st.code, RPC_OFFSET_MOVED);
	assert_true(ms >= 250 && ms < 3000);
	x = r.body;
	assert_int_equal(x->offset, 0);
	assert_int_equal(x->epoch, 1);
	ctl_resp_free(&r);
	/* Deleting the topic wakes a waiting fetch: UNKNOWN_TOPIC. */
	struct rpc_topic_req tr = {"orders"};
	struct later ld = {
	    h->nodes[leader].listen, RPC_TOPIC_DELETE, &tr, 300, 0, 0};
	call_later(&ld);
	ms = fetch_at(h, NULL, 1, 0, 8000, &r);
	pthread_join(ld.t, NULL);
	assert_int_equal(ld.code, RPC_OK);
	assert_int_equal(r.st.code, RPC_UNKNOWN_TOPIC);
	assert_true(ms >= 250 && ms < 3000);
	ctl_resp_free(&r);
}

/* Sends the raw bytes @b to @addr ("127.0.0.1:port") and waits up to 2 s
 * for any answer; the bytes read (0: closed or none). */
static ssize_t send_raw(const char *addr, const uint8_t *b, size_t n)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	const char *colon = strrchr(addr, ':');
	assert_non_null(colon);
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	uint8_t reply[512];
	ssize_t got = read(fd, reply, sizeof reply);
	close(fd);
	return got;
}

/* Issue 10 #1, test_regress_nil_required_string: the 16-byte frame
 * [1, TOPIC_DESCRIBE, 1, {"topic": nil}] made every node it reached exit
 * with SIGSEGV. Now it is answered (INVALID_ARGUMENT) and every node
 * keeps serving. */
static void test_regress_nil_required_string(void **state)
{
	struct harness *h = *state;
	static const uint8_t frame[16] = {0,	0,    0,    12,	  0x94, 0x01,
					  0x05, 0x01, 0x81, 0xa5, 't',	'o',
					  'p',	'i',  'c',  0xc0};
	for (int i = 0; i < 3; i++)
		assert_true(send_raw(h->nodes[i].listen, frame, sizeof frame) >
			    0);
	struct rpc_topic_req d = {"orders"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(h_call_code(h->nodes[i].listen,
					     RPC_TOPIC_DESCRIBE, &d, 5000),
				 RPC_OK);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_data_produce_describe_fetch),
	    T(test_data_bad_input),
	    cmocka_unit_test(test_data_storage_write_errors_refuse_produce),
	    T(test_regress_malformed_batch_refused),
	    T(test_regress_restarted_node_answers_from_empty_state),
	    T(test_data_survives_kill_with_every_message),
	    T(test_data_single_copy_reports_unavailable),
	    T(test_data_fetch_long_polls),
	    T(test_regress_nil_required_string),
	};
#undef T
	return cmocka_run_group_tests_name("integration/data", tests, NULL,
					   NULL);
}
