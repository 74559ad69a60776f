/*
 * queues_bench — ten thousand queues (issue 16): a 3-node raftqd cluster on
 * loopback (the test harness), [storage] max_open_queues = 1000.
 *
 *   1. A topic of N queues on broker-1 alone (N = 10^4); one batch of 3
 *      records produced to each. Broker-1's open files (all, and those
 *      under its queues directory) and RSS, against the same node before
 *      the topic existed.
 *   2. QUEUE_STATS of all N queues at broker-1, one request (what a reset
 *      asks each broker): p50 / p99 of 20.
 *   3. Broker-1 stopped (SIGTERM: every queue closed cleanly) and started
 *      again: stop time, and start-up = spawn to the first QUEUE_STATS of
 *      all N queues answered OK (queues open on first use).
 *   4. A topic of N queues over the 3 brokers (N/3 each) and a group:
 *      resets to latest on the Raft leader (client-observed, connect
 *      included) and GROUP_DESCRIBE (lag of every queue): p50 / p99.
 *   5. A delayed batch (an hour ahead) produced to each of broker-1's N
 *      queues, then QUEUE_STATS of all N (each answering 3 scheduled):
 *      p50 / p99 of 5.
 *
 *   queues_bench [--quick]     (--quick: N = 999, a smoke run)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_args.h"
#include "bench_client.h"
#include "bench_proc.h"
#include "harness.h"

#define ROUNDS 20

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *us, int n)
{
	qsort(us, (size_t)n, sizeof *us, cmp_u64);
	printf("%s: p50 %.2f ms, p99 %.2f ms (%d rounds)\n", what,
	       (double)us[n / 2] / 1e3, (double)us[n * 99 / 100] / 1e3, n);
}

/* Open files of node @i: all of them, and in *queues those under its
 * queues directory. */
static int open_files(struct harness *h, int i, int *queues)
{
	int n = h_open_files(h, i, queues);
	need(n >= 0, "/proc/PID/fd");
	return n;
}

static void create_topic(struct harness *h, const char *name, uint32_t qpb,
			 bool one_broker)
{
	const char *one[] = {"broker-1"};
	struct rpc_topic_create_req t = {
	    name, qpb, {one_broker ? one : NULL, one_broker ? 1 : 0}, 1, 0};
	need(h_call_code(h->nodes[h->leader].listen, RPC_TOPIC_CREATE, &t,
			 30000) == RPC_OK,
	     "topic create");
}

/* One batch of 3 records to each queue of tenk: appended now, or with
 * @delay_ms, scheduled. */
static void produce_each(struct harness *h, uint32_t n, uint32_t delay_ms)
{
	for (uint32_t q = 0; q < n; q++) {
		uint8_t p[64];
		struct rpc_produce_req in = {"tenk",
					     q,
					     3,
					     0,
					     {p, h_records(p, 3, q)},
					     0,
					     delay_ms,
					     "broker-1",
					     RPC_ACKS_LEADER};
		need(h_call_code(h->nodes[0].listen, RPC_PRODUCE, &in, 10000) ==
			 RPC_OK,
		     "produce");
	}
}

/* QUEUE_STATS of every queue of tenk at broker-1, each queue checked to
 * have @scheduled records waiting; its duration (us). */
static uint64_t stats_of(struct harness *h, uint32_t n, uint64_t scheduled,
			 uint32_t *code)
{
	struct rpc_queue_stats_req q = {"tenk", NULL, {NULL, 0}, false, 0};
	uint64_t t0 = now_us();
	struct ctl_resp r;
	h_call(h->nodes[0].listen, RPC_QUEUE_STATS, &q, 30000, &r);
	uint64_t us = now_us() - t0;
	*code = r.err ? 9999 : r.st.code;
	if (*code == RPC_OK) {
		const struct rpc_list *l =
		    &((const struct rpc_queue_stats_resp *)r.body)->queues;
		need(l->n == n, "every queue in QUEUE_STATS");
		for (size_t i = 0; i < l->n; i++)
			need(((const struct rpc_queue_stat *)l->v)[i]
				     .scheduled == scheduled,
			     "the scheduled records of each queue");
	}
	ctl_resp_free(&r);
	return us;
}

static uint64_t all_stats(struct harness *h, uint32_t n, uint32_t *code)
{
	return stats_of(h, n, 0, code);
}

/* A delayed batch (an hour ahead) to every queue of tenk: broker-1's
 * schedule store then has N targets, each looked up by the QUEUE_STATS of
 * all queues (it scanned them all for each queue before 75940f0). */
static void bench_delayed(struct harness *h, uint32_t n)
{
	uint64_t t0 = now_us();
	produce_each(h, n, 3600 * 1000);
	printf("a delayed batch produced to each of the %u queues (%.1f s)\n",
	       n, (double)(now_us() - t0) / 1e6);
	enum { R = 5 };
	uint64_t us[R];
	uint32_t code;
	for (int i = 0; i < R; i++) {
		us[i] = stats_of(h, n, 3, &code);
		need(code == RPC_OK, "queue stats");
	}
	report("QUEUE_STATS of all queues, a delayed batch waiting in each", us,
	       R);
}

static void bench_one_broker(struct harness *h, uint32_t n)
{
	int qf0;
	int f0 = open_files(h, 0, &qf0);
	long rss0 = bench_rss_kib(h->nodes[0].pid);
	create_topic(h, "tenk", n, true);
	uint64_t t0 = now_us();
	produce_each(h, n, 0);
	double secs = (double)(now_us() - t0) / 1e6;
	int qf;
	int f = open_files(h, 0, &qf);
	long rss = bench_rss_kib(h->nodes[0].pid);
	printf("%u queues on broker-1, one batch produced to each (%.1f s, "
	       "one connection a request)\n",
	       n, secs);
	printf("broker-1 open files: %d (%d under queues/; before the topic: "
	       "%d, %d), max_open_queues 1000\n",
	       f, qf, f0, qf0);
	printf("broker-1 RSS: %.1f MB (before the topic: %.1f MB): %.1f KB a "
	       "queue\n",
	       (double)rss / 1024, (double)rss0 / 1024,
	       (double)(rss - rss0) / n);
	uint64_t us[ROUNDS];
	uint32_t code;
	for (int i = 0; i < ROUNDS; i++) {
		us[i] = all_stats(h, n, &code);
		need(code == RPC_OK, "queue stats");
	}
	report("QUEUE_STATS of all queues at broker-1", us, ROUNDS);
}

static void bench_restart(struct harness *h, uint32_t n)
{
	uint64_t t0 = now_us();
	need(h_stop(h, 0, 60000) == 0, "clean stop of broker-1");
	uint64_t stop = now_us() - t0;
	t0 = now_us();
	need(h_start(h, 0) == 0, "start broker-1");
	uint32_t code = 0;
	for (uint64_t end = t0 + 60000000; now_us() < end;) {
		all_stats(h, n, &code);
		if (code == RPC_OK)
			break;
		usleep(10000); /* bounded by the 60 s deadline */
	}
	need(code == RPC_OK, "broker-1 serving after its restart");
	printf("broker-1 restart with %u queues: stop %.0f ms (each queue "
	       "closed cleanly), start to all %u queues served %.0f ms\n",
	       n, (double)stop / 1e3, n, (double)(now_us() - t0) / 1e3);
	h->leader = h_wait_leader(h, 3, 15000);
	need(h->leader >= 0, "leader after the restart");
}

static uint64_t timed(const char *addr, uint16_t type, const void *req)
{
	uint64_t t0 = now_us();
	struct ctl_resp r;
	h_call(addr, type, req, 30000, &r);
	if (r.err != 0 || r.st.code != RPC_OK) {
		fprintf(stderr, "queues_bench: request %u: %s\n", type,
			r.err ? rpc_strerror(r.err)
			      : (r.st.message ? r.st.message : "?"));
		exit(1);
	}
	ctl_resp_free(&r);
	return now_us() - t0;
}

static void bench_spread(struct harness *h, uint32_t n)
{
	create_topic(h, "spread", n / 3, false);
	struct rpc_group_create_req g = {
	    "g", "clustering", "latest", {NULL, 0}, 0};
	h->leader = h_wait_leader(h, 3, 15000); /* after broker-1's restart */
	need(h->leader >= 0, "leader");
	const char *leader = h->nodes[h->leader].listen;
	uint32_t code = 9999;				  /* none yet */
	for (int i = 0; i < 100 && code != RPC_OK; i++) { /* <= 10 s */
		code = h_call_code(leader, RPC_GROUP_CREATE, &g, 10000);
		if (code == RPC_UNAVAILABLE)
			usleep(100000);
	}
	need(code == RPC_OK, "group create");
	struct rpc_reset_req rs = h_reset_req("g", "spread", "latest", 0);
	/* The first use of the topic (its queues were never written: their
	 * stats need no files); it used to open every queue on every broker,
	 * on the loop, long enough to cost the Raft leader its leadership:
	 * still retried. */
	uint64_t t0 = now_us();
	code = 9999;
	for (int i = 0; i < 300 && code != RPC_OK; i++) { /* <= 30 s */
		h->leader = h_wait_leader(h, 3, 15000);
		need(h->leader >= 0, "leader");
		leader = h->nodes[h->leader].listen;
		code = h_call_code(leader, RPC_RESET, &rs, 30000);
		if (code != RPC_OK)
			usleep(100000);
	}
	need(code == RPC_OK, "first reset");
	printf("first reset of the %u-queue topic (its first use): %.0f "
	       "ms, leader changes included\n",
	       n / 3 * 3, (double)(now_us() - t0) / 1e3);
	uint64_t us[ROUNDS];
	for (int i = 0; i < ROUNDS; i++)
		us[i] = timed(leader, RPC_RESET, &rs);
	char what[128];
	snprintf(what, sizeof what,
		 "reset to latest of a %u-queue topic on 3 brokers", n / 3 * 3);
	report(what, us, ROUNDS);
	struct rpc_group_req d = {"g"};
	for (int i = 0; i < ROUNDS; i++)
		us[i] = timed(leader, RPC_GROUP_DESCRIBE, &d);
	snprintf(what, sizeof what,
		 "group describe (lag of every queue) of that topic");
	report(what, us, ROUNDS);
}

int main(int argc, char **argv)
{
	bool quick = bench_quick(argc, argv, "queues_bench");
	uint32_t n = quick ? 999 : 10000;
	struct harness *h = calloc(1, sizeof *h);
	need(h != NULL && h_init(h, 3) == 0 &&
		 h_set_max_open_queues(h, 1000) == 0 && h_start_all(h) == 0,
	     "cluster set-up");
	printf("queues_bench: 3 raftqd on loopback, flush = os\n");
	bench_one_broker(h, n);
	bench_restart(h, n);
	bench_spread(h, n);
	bench_delayed(h, n);
	h_destroy(h);
	free(h);
	return 0;
}
