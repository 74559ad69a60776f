/*
 * cluster_bench — a real 3-node raftqd cluster on loopback (the test
 * harness: election 300 ms, heartbeat 50 ms, pre-vote, connect retry
 * 100 ms), measured from one client process:
 *
 *  1. offset commits/s: C connections to the leader, each keeping W COMMIT
 *     requests of K offsets in flight, for S seconds; the leader batches
 *     what arrives in one loop turn into one Raft entry;
 *  2. single-commit latency: one COMMIT of one offset at a time, p50/p99;
 *  3. reset latency: a topic of 3 brokers x 16 queues holding 10^6
 *     messages per broker (100-byte messages, 1000 per batch), R resets
 *     by time, one at a time, p50/p99 as the operator sees it (the answer
 *     comes once every hosting broker applied the reset);
 *  4. failover: kill -9 of the leader, then a 1-offset commit to every
 *     survivor every 5 ms; time to the first accepted commit (T trials).
 *
 *   cluster_bench [--quick]      (--quick: small sizes, a smoke run)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_args.h"
#include "bench_commit.h"
#include "bench_proc.h"
#include "harness.h"

static void need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "cluster_bench: %s\n", what);
		exit(1);
	}
}

static uint32_t call_code(const char *addr, uint16_t type, const void *req)
{
	return h_call_code(addr, type, req, 10000);
}

/* ---- 1. Pipelined commits ---- */

struct pipe {
	uv_loop_t loop;
	int conns, window, items;
	uint64_t deadline_us;
	uint64_t done_reqs, failed;
	int outstanding;
	struct rpc_client *cli;
	struct rpc_commit_item *it;
	struct rpc_commit_req req;
	bool stop;
};

struct pcall {
	struct rpc_call call;
	struct pipe *p;
	int conn;
};

static void issue(struct pcall *c);

static void on_commit(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct pcall *c = call->data;
	struct pipe *p = c->p;
	struct rpc_commit_resp r;
	struct rpc_status st;
	if (status == 0 &&
	    rpc_decode(f, RPC_COMMIT | RPC_RESPONSE, &r, &st, NULL) == 0 &&
	    st.code == RPC_OK)
		p->done_reqs++;
	else
		p->failed++;
	p->outstanding--;
	if (bench_now_us() < p->deadline_us)
		issue(c);
}

static void issue(struct pcall *c)
{
	struct pipe *p = c->p;
	if (rpc_client_request(&p->cli[c->conn], &c->call, RPC_COMMIT, &p->req,
			       10000, on_commit) != 0)
		p->failed++;
	else
		p->outstanding++;
}

static void on_closed(struct rpc_client *c)
{
	(void)c;
}

static void commits_throughput(const char *leader, int conns, int window,
			       int items, double secs)
{
	struct pipe p;
	memset(&p, 0, sizeof p);
	uv_loop_init(&p.loop);
	p.conns = conns;
	p.window = window;
	p.items = items;
	p.cli = calloc((size_t)conns, sizeof *p.cli);
	p.it = calloc((size_t)items, sizeof *p.it);
	static const char *brokers[] = {"broker-1", "broker-2", "broker-3"};
	for (int i = 0; i < items; i++)
		p.it[i] = (struct rpc_commit_item){"big", brokers[i % 3],
						   (uint32_t)(i / 3 % 16),
						   (uint64_t)(1000 + i), 0};
	p.req = (struct rpc_commit_req){"bench", "m", {p.it, (uint32_t)items}};
	for (int i = 0; i < conns; i++)
		need(rpc_client_init(&p.cli[i], &p.loop, leader, NULL, NULL) ==
			 0,
		     "client init");
	struct pcall *calls = calloc((size_t)(conns * window), sizeof *calls);
	uint64_t t0 = bench_now_us();
	p.deadline_us = t0 + (uint64_t)(secs * 1e6);
	for (int i = 0; i < conns * window; i++) {
		calls[i].p = &p;
		calls[i].conn = i % conns;
		calls[i].call.data = &calls[i];
		issue(&calls[i]);
	}
	/* Open connections keep the loop alive: run until no call is left. */
	while (p.outstanding > 0)
		uv_run(&p.loop, UV_RUN_ONCE);
	double took = (double)(bench_now_us() - t0) / 1e6;
	printf("commits pipelined  %9.0f offsets/s  %8.0f requests/s  (%d "
	       "conns x %d in flight x %d offsets, %.1f s, %llu failed)\n",
	       (double)p.done_reqs * items / took, (double)p.done_reqs / took,
	       conns, window, items, took, (unsigned long long)p.failed);
	for (int i = 0; i < conns; i++)
		rpc_client_close(&p.cli[i], on_closed);
	uv_run(&p.loop, UV_RUN_DEFAULT);
	uv_loop_close(&p.loop);
	free(calls);
	free(p.cli);
	free(p.it);
}

/* ---- 2. One commit at a time ---- */

static void commit_latency(const char *leader, int n)
{
	uint64_t *lat = calloc((size_t)n, sizeof *lat);
	bench_commit_latencies(leader, "bench", "big", n, lat);
	double p50 = bench_quantile_ms(lat, (size_t)n, 0.50);
	double p99 = bench_quantile_ms(lat, (size_t)n, 0.99);
	printf("commit latency     p50 %6.3f ms  p99 %6.3f ms  (%d sequential "
	       "1-offset commits, one connection)\n",
	       p50, p99, n);
	free(lat);
}

/* ---- 3. Resets by time ---- */

static int64_t fill_topic(struct harness *h, uint64_t per_broker)
{
	/* 1000 records of 92 bytes: 100 bytes each with their headers. */
	static uint8_t payload[1000 * 100];
	uint8_t body[92];
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)i;
	for (size_t i = 0; i < 1000; i++)
		rpc_record_put(payload + i * 100, NULL, 0, body, sizeof body);
	uint64_t batches = per_broker / 1000;
	int64_t mid = 0;
	for (int b = 0; b < 3; b++) {
		for (uint64_t k = 0; k < batches; k++) {
			struct rpc_produce_req in = {"big",
						     (uint32_t)(k % 16),
						     1000,
						     0,
						     {payload, sizeof payload},
						     0,
						     0,
						     NULL,
						     RPC_ACKS_ALL};
			struct ctl_resp r;
			h_call(h->nodes[b].listen, RPC_PRODUCE, &in, 10000, &r);
			need(r.err == 0 && r.st.code == RPC_OK, "produce");
			if (b == 1 && k == batches / 2)
				mid = ((struct rpc_produce_resp *)r.body)
					  ->store_time;
			ctl_resp_free(&r);
		}
	}
	return mid;
}

static void reset_latency(struct harness *h, int leader, int64_t mid, int n)
{
	uint64_t *lat = calloc((size_t)n, sizeof *lat);
	for (int i = 0; i < n; i++) {
		struct rpc_reset_req in = {.group = "bench",
					   .topic = "big",
					   .target = "time",
					   .value = mid + (i % 2),
					   .requester = "bench"};
		uint64_t t0 = bench_now_us();
		struct ctl_resp r;
		h_call(h->nodes[leader].listen, RPC_RESET, &in, 10000, &r);
		lat[i] = bench_now_us() - t0;
		need(r.err == 0 && r.st.code == RPC_OK, "reset");
		need(((struct rpc_reset_resp *)r.body)->queues.n == 48,
		     "reset answered 48 queues");
		ctl_resp_free(&r);
	}
	double p50 = bench_quantile_ms(lat, (size_t)n, 0.50);
	double p99 = bench_quantile_ms(lat, (size_t)n, 0.99);
	printf("reset by time      p50 %6.2f ms  p99 %6.2f ms  (%d resets of "
	       "48 queues, 3 brokers, client-observed incl. connect)\n",
	       p50, p99, n);
	free(lat);
}

/* ---- 4. Failover ---- */

static double failover(struct harness *h)
{
	int leader = h_wait_leader(h, 3, 20000);
	need(leader >= 0, "leader before failover");
	/* Commit under the group's current epoch (the resets moved it). */
	struct rpc_offsets_req oq = {"bench", "big"};
	struct ctl_resp o;
	h_call(h->nodes[leader].listen, RPC_OFFSETS, &oq, 10000, &o);
	need(o.err == 0 && o.st.code == RPC_OK, "offsets");
	uint64_t epoch = ((struct rpc_offsets_resp *)o.body)->epoch;
	ctl_resp_free(&o);
	h_kill(h, leader);
	uint64_t t0 = bench_now_us();
	struct rpc_commit_item it = {"big", "broker-1", 0, 1, epoch};
	struct rpc_commit_req req = {"bench", "m", {&it, 1}};
	for (;;) {
		for (int i = 0; i < 3; i++) {
			if (h->nodes[i].pid <= 0)
				continue;
			struct ctl_resp r;
			h_call(h->nodes[i].listen, RPC_COMMIT, &req, 200, &r);
			bool ok = r.err == 0 && r.st.code == RPC_OK;
			ctl_resp_free(&r);
			if (ok) {
				double ms =
				    (double)(bench_now_us() - t0) / 1000.0;
				need(h_start(h, leader) == 0, "restart");
				return ms;
			}
		}
		need(bench_now_us() - t0 < 20000000, "no commit within 20 s");
		usleep(5000);
	}
}

/* The idle nodes' resident sets (issue 16: an idle node <= 20 MB). */
static void idle_rss(const struct harness *h)
{
	printf("idle node RSS (VmRSS, one topic of 48 queues, no traffic):");
	for (int i = 0; i < h->n; i++)
		printf(" node %d %.1f MB", i + 1,
		       (double)bench_rss_kib(h->nodes[i].pid) / 1024.0);
	printf("\n");
}

int main(int argc, char **argv)
{
	bool quick = bench_quick(argc, argv, "cluster_bench");
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct harness *hp = h_fixture(sizeof *hp, 3, false);
	need(hp != NULL, "a 3-node cluster");
	struct harness h = *hp; /* the nodes' pids and paths */
	free(hp);
	int leader = h.leader;
	const char *l = h.nodes[leader].listen;
	struct rpc_topic_create_req t = {"big", 16, {NULL, 0}, 1, 0};
	struct rpc_group_create_req g = {
	    "bench", "clustering", "latest", {NULL, 0}, 0};
	need(call_code(l, RPC_TOPIC_CREATE, &t) == RPC_OK, "topic");
	need(call_code(l, RPC_GROUP_CREATE, &g) == RPC_OK, "group");
	usleep(200000); /* followers apply the topic (one heartbeat) */
	printf("cluster_bench: 3 raftqd on loopback (election 300 ms, "
	       "heartbeat 50 ms), %s\n",
	       quick ? "quick sizes" : "full sizes");
	idle_rss(&h);

	commits_throughput(l, 8, 64, 16, quick ? 1.0 : 5.0);
	commits_throughput(l, 8, 64, 1, quick ? 1.0 : 3.0);
	commit_latency(l, quick ? 300 : 5000);

	uint64_t per = quick ? 20000 : 1000000;
	int64_t mid = fill_topic(&h, per);
	printf("filled topic 'big': %llu messages per broker in 16 queues\n",
	       (unsigned long long)per);
	reset_latency(&h, leader, mid, quick ? 20 : 200);

	int trials = quick ? 1 : 5;
	double sum = 0, worst = 0;
	for (int i = 0; i < trials; i++) {
		double ms = failover(&h);
		printf("failover trial %d: %.0f ms from kill -9 to the first "
		       "accepted commit\n",
		       i + 1, ms);
		sum += ms;
		worst = ms > worst ? ms : worst;
	}
	printf("failover           mean %.0f ms  worst %.0f ms  (%d trials)\n",
	       sum / trials, worst, trials);
	h_destroy(&h);
	return 0;
}
