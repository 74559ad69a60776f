/*
 * Many queues on one broker under a bound of open files (issue 16,
 * queue_table.c): with [storage] max_open_queues = 8 a broker serving 64
 * queues keeps at most 8 queues' files open, every queue still reads and
 * writes right, and a restart finds every message.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/test_util.h"
#include "harness.h"

#define QUEUES 64
#define LIMIT 8
/* Between trims the bound may be passed by an eighth of it, plus two. */
#define MOST ((LIMIT + LIMIT / 8 + 2) * 4)

static int setup(void **state)
{
	struct harness *h = calloc(1, sizeof *h);
	if (h == NULL || h_init(h, 3) != 0 ||
	    h_set_max_open_queues(h, LIMIT) != 0)
		return -1;
	*state = h;
	return h_start_all(h);
}

/* Files node @i has open under its queues directory. */
static int queue_files(struct harness *h, int i)
{
	int q = -1;
	assert_true(h_open_files(h, i, &q) > 0);
	return q;
}

static void produce(struct harness *h, uint32_t qid, uint32_t seed)
{
	uint8_t p[64];
	struct rpc_produce_req in = {"many",
				     qid,
				     3,
				     0,
				     {p, h_records(p, 3, seed)},
				     0,
				     0,
				     "broker-1",
				     RPC_ACKS_LEADER};
	struct ctl_resp r;
	h_call(h->nodes[0].listen, RPC_PRODUCE, &in, 5000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("produce to queue %u: %s", qid, r.st.message);
	ctl_resp_free(&r);
}

/* Queue @qid of broker-1 holds exactly the batches of seeds @qid and
 * @qid + 1000 (if @two), 3 records each. */
static void holds(struct harness *h, uint32_t qid, bool two)
{
	struct rpc_fetch_req fr = {NULL,     "many", qid,  0,	      0,
				   1u << 20, 0,	     NULL, "broker-1"};
	struct ctl_resp r;
	h_call(h->nodes[0].listen, RPC_FETCH, &fr, 5000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("fetch queue %u: %s", qid, r.st.message);
	const struct rpc_fetch_resp *f = r.body;
	size_t pos = 0;
	struct rpc_batch bt;
	uint32_t k = 0, seeds[2] = {qid, qid + 1000};
	while (rpc_batch_next(f->batches.ptr, f->batches.len, &pos, &bt) == 1) {
		assert_true(k < (two ? 2u : 1u));
		uint8_t want[64];
		uint32_t len = h_records(want, 3, seeds[k]);
		assert_int_equal(bt.base_offset, k * 3);
		assert_int_equal(bt.payload_len, len);
		assert_memory_equal(bt.payload, want, len);
		k++;
	}
	assert_int_equal(k, two ? 2 : 1);
	ctl_resp_free(&r);
}

/* Broker-1's queue files, at most MOST at once; exactly LIMIT queues'
 * after a tick (50 ms) has trimmed. */
static int settled_files(struct harness *h)
{
	assert_true(queue_files(h, 0) <= MOST);
	usleep(200 * 1000);
	return queue_files(h, 0);
}

static void test_open_files_stay_bounded(void **state)
{
	struct harness *h = *state;
	assert_int_equal(h_create_topic_rf(h, "many", QUEUES, 1), 0);
	for (uint32_t q = 0; q < QUEUES; q++)
		produce(h, q, q);
	int files = settled_files(h);
	print_message("broker-1: %d queue files open for %d queues (limit %d "
		      "queues)\n",
		      files, QUEUES, LIMIT);
	assert_int_equal(files, LIMIT * 4); /* directory, log, 2 indexes */
	for (uint32_t q = 0; q < QUEUES; q++) {
		produce(h, q, q + 1000); /* reopened, appended, released */
		holds(h, q, true);
		assert_true(queue_files(h, 0) <= MOST);
	}
	assert_int_equal(settled_files(h), LIMIT * 4);
	/* A clean stop closes released queues too; all there after. */
	assert_int_equal(h_stop(h, 0, 10000), 0);
	assert_int_equal(h_start(h, 0), 0);
	h->leader = h_wait_leader(h, 3, 15000);
	assert_true(h->leader >= 0);
	for (uint32_t q = 0; q < QUEUES; q++)
		holds(h, q, true);
	assert_int_equal(settled_files(h), LIMIT * 4);
	assert_false(h_log_has(h, 0, "is in use by another process"));
}

/* Whether node @i has a directory for queue 0 of @topic. */
static bool queue_dir_exists(struct harness *h, int i, const char *topic)
{
	char dir[800];
	struct stat st;
	snprintf(dir, sizeof dir, "%s/queues/%s/0", h->nodes[i].dir, topic);
	return stat(dir, &st) == 0;
}

/* QUEUE_STATS of queue @q of @topic at broker-1. */
static struct rpc_queue_stat stat_of(struct harness *h, const char *topic,
				     uint32_t q)
{
	uint64_t id = q;
	struct rpc_queue_stats_req in = {topic, NULL, {&id, 1}, false, 0};
	struct ctl_resp r;
	h_call(h->nodes[0].listen, RPC_QUEUE_STATS, &in, 5000, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.st.code, RPC_OK);
	const struct rpc_queue_stats_resp *o = r.body;
	assert_int_equal(o->queues.n, 1);
	struct rpc_queue_stat s = *(const struct rpc_queue_stat *)o->queues.v;
	ctl_resp_free(&r);
	return s;
}

/* A scrape and QUEUE_STATS read a never-written queue without creating
 * it: every clustering group has %RETRY% and %DLQ% queues, and the first
 * scrape of a node with 326 groups made 652 queues (mkdir, segment,
 * fsync) on the loop, 1.1 s (snapshot_bench). */
static void test_reads_create_no_queue(void **state)
{
	struct harness *h = *state;
	assert_int_equal(h_create_group(h, "g", "clustering", NULL), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(h_lists_topic(h, i, "%RETRY%g", 5000));
		char series[128];
		snprintf(
		    series, sizeof series,
		    "raftq_retry_pending{group=\"g\",broker=\"broker-%d\"}",
		    i + 1);
		assert_true(h_metric(h, i, series) == 0);
		struct rpc_queue_stats_req q = {
		    "%DLQ%g", NULL, {NULL, 0}, false, 0};
		assert_int_equal(
		    h_call_code(h->nodes[i].listen, RPC_QUEUE_STATS, &q, 5000),
		    RPC_OK);
	}
	for (int i = 0; i < 3; i++) {
		assert_false(queue_dir_exists(h, i, "%RETRY%g"));
		assert_false(queue_dir_exists(h, i, "%DLQ%g"));
	}
	/* Never written: an empty queue's stats; then written: its own. */
	assert_int_equal(h_create_topic_rf(h, "lazy", 2, 1), 0);
	struct rpc_queue_stat s = stat_of(h, "lazy", 1);
	assert_int_equal(s.max_offset, 0);
	assert_int_equal(s.first_store_time, -1);
	assert_int_equal(s.last_store_time, -1);
	assert_false(queue_dir_exists(h, 0, "lazy"));
	uint8_t p[64];
	struct rpc_produce_req in = {
	    "lazy",	    1, 3, 0, {p, h_records(p, 3, 1)}, 0, 0, "broker-1",
	    RPC_ACKS_LEADER};
	assert_int_equal(
	    h_call_code(h->nodes[0].listen, RPC_PRODUCE, &in, 5000), RPC_OK);
	s = stat_of(h, "lazy", 1);
	assert_int_equal(s.max_offset, 3);
	assert_true(s.first_store_time > 0);
	assert_int_equal(stat_of(h, "lazy", 0).max_offset, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reads_create_no_queue, setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_open_files_stay_bounded, setup,
					    h_teardown),
	};
	return cmocka_run_group_tests_name("integration/open_files", tests,
					   NULL, NULL);
}
