/*
 * durable_bench — durable produce (issue 16's first row): a 3-node raftqd
 * cluster on loopback (the test harness) with [storage] flush = sync on
 * every node, so each append is on disk (fdatasync) before its answer; a
 * topic of 2 queues on broker-1 only (one copy: what one broker's disk
 * does); 4 libraftq producers, each its own client and thread, each
 * writing N/4 keyless messages of 100 bytes (library defaults: linger
 * 5 ms, batches up to 10,000 messages, 4 in flight per queue). The clock
 * runs from the moment all four start to the last delivery report of the
 * last one; every message must be stored.
 *
 * Resets meanwhile: a topic of 16 queues on each broker (48) with one
 * group; a thread resets the group to latest on the Raft leader, one reset
 * after another (client-observed, connect included), first with nothing
 * else running, then while the four producers keep broker-1 busy with
 * synced appends; p50 / p99 of each (issue 16: reset p99 while a broker
 * ingests at full durable rate, target <= 3 ms). After each reset one
 * commit of one offset (the Raft path alone: no gather, no wait for the
 * hosting brokers) tells the Raft round's share from the rest.
 *
 *   durable_bench [--quick | --flush-os]
 *
 * --quick: 100k messages, a smoke run. --flush-os: the same run with
 * [storage] flush = os (appends not synced): what the data's syncs cost
 * the resets and commits, against the CPU's share.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_args.h"
#include "bench_client.h"
#include "harness.h"

#define PRODUCERS 4
#define RESETS_MAX 100000

struct producer {
	pthread_t th;
	pthread_barrier_t *go;
	const char *bootstrap;
	uint64_t n;
	double rate;
};

struct resetter {
	pthread_t th;
	const char *leader;
	volatile bool stop;
	uint64_t us[RESETS_MAX];
	int n;
	uint64_t commit_us[RESETS_MAX]; /* a 1-offset commit after each */
};

/* One reset of group rg on topic rt to latest at @leader: its duration
 * in microseconds, the connection included. */
static uint64_t one_reset(const char *leader)
{
	struct rpc_reset_req in = {.group = "rg",
				   .topic = "rt",
				   .target = "latest",
				   .requester = "bench"};
	uint64_t t0 = now_us();
	struct ctl_resp c;
	h_call(leader, RPC_RESET, &in, 10000, &c);
	need(c.err == 0 && c.st.code == RPC_OK, "reset");
	ctl_resp_free(&c);
	return now_us() - t0;
}

/* One commit of one offset of group rg at @leader (the Raft path alone:
 * no gather, no wait for the hosting brokers): its duration in
 * microseconds, the connection included. */
static uint64_t one_commit(const char *leader, uint64_t offset)
{
	struct rpc_offsets_req oq = {"rg", "rt"};
	struct ctl_resp o;
	h_call(leader, RPC_OFFSETS, &oq, 10000, &o);
	need(o.err == 0 && o.st.code == RPC_OK, "offsets");
	uint64_t epoch = ((struct rpc_offsets_resp *)o.body)->epoch;
	ctl_resp_free(&o);
	struct rpc_commit_item it = {"rt", "broker-2", 0, offset, epoch};
	struct rpc_commit_req req = {"rg", "m", {&it, 1}};
	uint64_t t0 = now_us();
	struct ctl_resp c;
	h_call(leader, RPC_COMMIT, &req, 10000, &c);
	need(c.err == 0 && c.st.code == RPC_OK, "commit");
	ctl_resp_free(&c);
	return now_us() - t0;
}

/* Resets one after another until stopped (or RESETS_MAX), each followed
 * by one commit (one request in flight at a time). */
static void *run_resets(void *arg)
{
	struct resetter *r = arg;
	r->n = 0;
	while (!r->stop && r->n < RESETS_MAX) {
		r->us[r->n] = one_reset(r->leader);
		r->commit_us[r->n] = one_commit(r->leader, 0);
		r->n++;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Prints the p50 / p99 of @r's resets under @label. */
static void report_resets(struct resetter *r, const char *label)
{
	if (r->n == 0) { /* the load ended before the first reset did */
		printf("reset to latest, %s: none completed\n", label);
		return;
	}
	qsort(r->us, (size_t)r->n, sizeof *r->us, cmp_u64);
	printf("reset to latest of 48 queues on 3 brokers, %s: p50 %.2f ms, "
	       "p99 %.2f ms (%d resets, client-observed incl. connect)\n",
	       label, (double)r->us[r->n / 2] / 1e3,
	       (double)r->us[r->n * 99 / 100] / 1e3, r->n);
	qsort(r->commit_us, (size_t)r->n, sizeof *r->commit_us, cmp_u64);
	printf("commit of 1 offset (after each reset), %s: p50 %.2f ms, p99 "
	       "%.2f ms (%d commits, incl. connect)\n",
	       label, (double)r->commit_us[r->n / 2] / 1e3,
	       (double)r->commit_us[r->n * 99 / 100] / 1e3, r->n);
}

static void *run_producer(void *arg)
{
	struct producer *p = arg;
	pthread_barrier_wait(p->go);
	p->rate =
	    bench_produce(p->bootstrap, "durable", p->n, false, RAFTQ_ACKS_ALL);
	return NULL;
}

/* A 3-node cluster with [storage] flush = @flush, leader found; exits on
 * failure. */
static struct harness *durable_cluster(const char *flush)
{
	struct harness *h = calloc(1, sizeof *h);
	need(h != NULL && h_init(h, 3) == 0 && h_set_flush(h, flush) == 0 &&
		 h_set_segment_bytes(h, 128u << 20) == 0 && h_start_all(h) == 0,
	     "cluster set-up");
	return h;
}

int main(int argc, char **argv)
{
	static const char *const flags[] = {"--quick", "--flush-os", NULL};
	const char *flag = bench_flag(argc, argv, "durable_bench", flags);
	bool quick = flag != NULL && strcmp(flag, "--quick") == 0;
	const char *flush = flag != NULL && !quick ? "os" : "sync";
	uint64_t n = quick ? 100000 : 2000000;
	struct harness *h = durable_cluster(flush);
	const char *one[] = {"broker-1"};
	struct rpc_topic_create_req t = {"durable", 2, {one, 1}, 1, 0};
	need(h_call_code(h->nodes[h->leader].listen, RPC_TOPIC_CREATE, &t,
			 10000) == RPC_OK,
	     "topic create");
	struct rpc_topic_create_req rt = {"rt", 16, {NULL, 0}, 1, 0};
	struct rpc_group_create_req rg = {
	    "rg", "clustering", "latest", {NULL, 0}, 0};
	need(h_call_code(h->nodes[h->leader].listen, RPC_TOPIC_CREATE, &rt,
			 10000) == RPC_OK &&
		 h_call_code(h->nodes[h->leader].listen, RPC_GROUP_CREATE, &rg,
			     10000) == RPC_OK,
	     "reset topic and group");
	char bootstrap[256];
	snprintf(bootstrap, sizeof bootstrap, "%s,%s,%s", h->nodes[0].listen,
		 h->nodes[1].listen, h->nodes[2].listen);
	struct resetter *rs = calloc(1, sizeof *rs);
	need(rs != NULL, "out of memory");
	rs->leader = h->nodes[h->leader].listen;
	/* Idle first: the same resets with nothing else running, after one
	 * not counted (the first waits for the new topic everywhere). */
	one_reset(rs->leader);
	need(pthread_create(&rs->th, NULL, run_resets, rs) == 0, "thread");
	usleep(quick ? 500000 : 2000000);
	rs->stop = true;
	pthread_join(rs->th, NULL);
	report_resets(rs, "idle");
	rs->stop = false;
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, PRODUCERS + 1);
	struct producer p[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++) {
		p[i] = (struct producer){
		    .go = &go, .bootstrap = bootstrap, .n = n / PRODUCERS};
		need(pthread_create(&p[i].th, NULL, run_producer, &p[i]) == 0,
		     "thread");
	}
	pthread_barrier_wait(&go);
	uint64_t t0 = now_us();
	need(pthread_create(&rs->th, NULL, run_resets, rs) == 0, "thread");
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i].th, NULL);
	double secs = (double)(now_us() - t0) / 1e6;
	rs->stop = true;
	pthread_join(rs->th, NULL);
	printf("durable_bench: 3 raftqd on loopback, flush = %s, segments of "
	       "128 MiB (the default), a topic of 2 queues on broker-1 (one "
	       "copy), Raft leader node %d\n",
	       flush, h->leader + 1);
	printf("durable produce, %d producers x 2 queues, 100 B: %llu "
	       "messages in %.2f s, %.0f msgs/s (per producer:",
	       PRODUCERS, (unsigned long long)n, secs, (double)n / secs);
	for (int i = 0; i < PRODUCERS; i++)
		printf(" %.0f", p[i].rate);
	printf(")\n");
	report_resets(rs, "while broker-1 ingests durably");
	free(rs);
	pthread_barrier_destroy(&go);
	h_destroy(h);
	free(h);
	return 0;
}
