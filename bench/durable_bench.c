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
 *   durable_bench [--quick]     (--quick: 100k messages, a smoke run)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_args.h"
#include "bench_client.h"
#include "harness.h"

#define PRODUCERS 4

struct producer {
	pthread_t th;
	pthread_barrier_t *go;
	const char *bootstrap;
	uint64_t n;
	double rate;
};

static void *run_producer(void *arg)
{
	struct producer *p = arg;
	pthread_barrier_wait(p->go);
	p->rate =
	    bench_produce(p->bootstrap, "durable", p->n, false, RAFTQ_ACKS_ALL);
	return NULL;
}

/* A 3-node cluster with flush = sync, leader found; exits on failure. */
static struct harness *durable_cluster(void)
{
	struct harness *h = calloc(1, sizeof *h);
	need(h != NULL && h_init(h, 3) == 0 && h_set_flush(h, "sync") == 0,
	     "cluster set-up");
	for (int i = 0; i < 3; i++)
		need(h_start(h, i) == 0, "node start");
	h->leader = h_wait_leader(h, 3, 15000);
	need(h->leader >= 0, "no leader within 15 s");
	return h;
}

int main(int argc, char **argv)
{
	bool quick = bench_quick(argc, argv, "durable_bench");
	uint64_t n = quick ? 100000 : 2000000;
	struct harness *h = durable_cluster();
	const char *one[] = {"broker-1"};
	struct rpc_topic_create_req t = {"durable", 2, {one, 1}, 1, 0};
	need(h_call_code(h->nodes[h->leader].listen, RPC_TOPIC_CREATE, &t,
			 10000) == RPC_OK,
	     "topic create");
	char bootstrap[256];
	snprintf(bootstrap, sizeof bootstrap, "%s,%s,%s", h->nodes[0].listen,
		 h->nodes[1].listen, h->nodes[2].listen);
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
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i].th, NULL);
	double secs = (double)(now_us() - t0) / 1e6;
	printf("durable_bench: 3 raftqd on loopback, flush = sync, a topic of "
	       "2 queues on broker-1 (one copy)\n");
	printf("durable produce, %d producers x 2 queues, 100 B: %llu "
	       "messages in %.2f s, %.0f msgs/s (per producer:",
	       PRODUCERS, (unsigned long long)n, secs, (double)n / secs);
	for (int i = 0; i < PRODUCERS; i++)
		printf(" %.0f", p[i].rate);
	printf(")\n");
	pthread_barrier_destroy(&go);
	h_destroy(h);
	free(h);
	return 0;
}
