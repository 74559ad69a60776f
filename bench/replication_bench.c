/*
 * replication_bench — message replication (issue 15) on a real 3-node
 * raftqd cluster on loopback (the test harness: flush=os, election 300 ms,
 * broker sessions 500 ms), the nodes and the client on the same 2 cores:
 *
 *  1. produce: one libraftq producer, N messages of 100 bytes (JSON-like
 *     text with counters), no key, to a topic of 4 queues on each of the 3
 *     brokers (each broker leads its 4 and, with factor 3, copies the other
 *     8); defaults (linger 5 ms, batches up to 10,000 messages, 4 in flight
 *     per queue); the clock runs from the first raftq_produce to the last
 *     delivery report. Three rows: replication
 *     factor 3 with acks=all (answered once every in-sync replica has the
 *     batch), factor 3 with acks=leader, factor 1 (no copies: the figure
 *     before replication). A new topic each time.
 *  2. latency of one acks=all produce: the same producer API, one message
 *     (keyed: always the same queue of a factor-3 topic) then
 *     raftq_producer_flush, S samples after 200 warm-up; p50 / p99 / max
 *     of produce-to-report.
 *  3. failover: a raw acks=all producer (one message per PRODUCE, sent to
 *     the leader the route names, retried every 5 ms until answered OK) to
 *     one queue of a factor-3 topic; kill -9 of the broker leading that
 *     queue; the time from the kill to the first acknowledged produce
 *     there. R trials over the three brokers in turn (so one in three kills
 *     also takes the Raft leader), each killed broker restarted and leading
 *     its queue again before the next; every trial printed, then the
 *     median and max.
 *
 *   replication_bench [--quick]   (--quick: small sizes, a smoke run)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_args.h"
#include "bench_client.h"
#include "harness.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Creates @topic over the 3 brokers, @queues per broker, @rf copies of
 * each, and waits until every queue is led by its home. */
static void create_topic(struct harness *h, const char *topic, uint32_t rf,
			 uint32_t queues)
{
	struct rpc_topic_create_req t = {topic, queues, {NULL, 0}, rf, 0};
	need(h_call_code(h->nodes[h->leader].listen, RPC_TOPIC_CREATE, &t,
			 10000) == RPC_OK,
	     "topic create");
	need(h_wait_homes_lead(h, topic, 10000) == 0, "topic leaders");
}

/* One keyed message then a flush, @samples times after 200 warm-up;
 * prints p50 / p99 / max in ms. */
static void latency(const char *bootstrap, const char *topic, int samples)
{
	struct raftq_client *c = client(bootstrap, "bench-latency");
	struct bench_tally t = {0, 0};
	struct raftq_producer_config pc = {
	    .topic = topic, .on_delivery = bench_on_delivery, .arg = &t};
	struct raftq_producer *p;
	need(raftq_producer_new(c, &pc, &p) == 0, raftq_client_errmsg(c));
	uint64_t *us = calloc((size_t)samples, sizeof *us);
	need(us != NULL, "out of memory");
	char body[101];
	memset(body, 'x', 100);
	for (int i = -200; i < samples; i++) {
		uint64_t t0 = now_us();
		need(raftq_produce(p, "k", 1, body, 100, NULL) == 0,
		     raftq_client_errmsg(c));
		need(raftq_producer_flush(p, 10000) == 0, "flush timed out");
		if (i >= 0)
			us[i] = now_us() - t0;
	}
	need(t.failed == 0, "a message was not stored");
	qsort(us, (size_t)samples, sizeof *us, cmp_u64);
	printf("single acks=all produce (factor 3), produce -> report, %d "
	       "samples: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
	       samples, (double)us[samples / 2] / 1e3,
	       (double)us[samples * 99 / 100] / 1e3,
	       (double)us[samples - 1] / 1e3);
	free(us);
	raftq_producer_close(p, 1000);
	raftq_client_free(c);
}

/* One acks=all message to queue 0 of broker-(@home+1) in @topic at its
 * leader; true when acknowledged. */
static bool produce_one(struct harness *h, const char *topic, int home,
			char *why, size_t whylen)
{
	char addr[64], name[16];
	snprintf(name, sizeof name, "broker-%d", home + 1);
	if (!h_queue_leader_addr(h, topic, (uint32_t)home, addr, sizeof addr))
		return false;
	uint8_t p[32];
	uint32_t len = h_records(p, 1, 7);
	struct rpc_produce_req in = {topic, 0, 1,    0,		  {p, len},
				     0,	    0, name, RPC_ACKS_ALL};
	struct ctl_resp r;
	h_call(addr, RPC_PRODUCE, &in, 1000, &r);
	bool ok = r.err == 0 && r.st.code == RPC_OK;
	if (!ok && why != NULL)
		snprintf(why, whylen, "produce at %s: %s", addr,
			 r.err		? rpc_strerror(r.err)
			 : r.st.message ? r.st.message
					: "refused");
	ctl_resp_free(&r);
	return ok;
}

/* Kill -9 of the broker leading queue 0 of each home in turn: time to the
 * first acknowledged produce to that queue. */
static void failover(struct harness *h, const char *topic, int trials)
{
	uint64_t *ms = calloc((size_t)trials, sizeof *ms);
	need(ms != NULL, "out of memory");
	for (int k = 0; k < trials; k++) {
		int home = k % 3;
		char why[400] = "no route names a leader";
		for (int i = 0; i < 20; i++) /* traffic before the kill */
			need(produce_one(h, topic, home, why, sizeof why), why);
		bool raft_leader = h_wait_leader(h, 3, 10000) == home;
		uint64_t t0 = now_us();
		h_kill(h, home);
		uint64_t deadline = t0 + 20000000u;
		while (!produce_one(h, topic, home, NULL, 0) &&
		       now_us() < deadline)
			usleep(5000); /* bounded by the 20 s deadline */
		ms[k] = (now_us() - t0) / 1000;
		need(ms[k] < 20000, "no produce acknowledged within 20 s");
		printf("failover trial %d: broker-%d killed%s: first "
		       "acknowledged produce after %llu ms\n",
		       k + 1, home + 1,
		       raft_leader ? " (also the Raft leader)" : "",
		       (unsigned long long)ms[k]);
		need(h_start(h, home) == 0, "restart");
		need(h_wait_leader(h, 3, 15000) >= 0, "no leader");
		need(h_wait_homes_lead(h, topic, 20000) == 0, "homes lead");
	}
	qsort(ms, (size_t)trials, sizeof *ms, cmp_u64);
	printf("failover of a queue leader, kill -9 -> first acknowledged "
	       "produce, %d trials: median %llu ms, max %llu ms\n",
	       trials, (unsigned long long)ms[trials / 2],
	       (unsigned long long)ms[trials - 1]);
	free(ms);
}

int main(int argc, char **argv)
{
	bool quick = bench_quick(argc, argv, "replication_bench");
	uint64_t n = quick ? 100000 : 2000000;
	struct harness *h = h_fixture(sizeof *h, 3, false);
	need(h != NULL, "cluster did not start");
	char bootstrap[256];
	snprintf(bootstrap, sizeof bootstrap, "%s,%s,%s", h->nodes[0].listen,
		 h->nodes[1].listen, h->nodes[2].listen);
	printf("replication_bench: 3 nodes on loopback (flush=os), client on "
	       "the same 2 cores; %llu messages of 100 B per produce row\n",
	       (unsigned long long)n);
	create_topic(h, "r3", 3, 4);
	printf("produce, factor 3, acks=all: %.0f msgs/s\n",
	       bench_produce(bootstrap, "r3", n, false, RAFTQ_ACKS_ALL));
	create_topic(h, "r3l", 3, 4);
	printf("produce, factor 3, acks=leader: %.0f msgs/s\n",
	       bench_produce(bootstrap, "r3l", n, false, RAFTQ_ACKS_LEADER));
	create_topic(h, "r1", 1, 4);
	printf("produce, factor 1 (no copies): %.0f msgs/s\n",
	       bench_produce(bootstrap, "r1", n, false, RAFTQ_ACKS_ALL));
	create_topic(h, "lat", 3, 1);
	latency(bootstrap, "lat", quick ? 500 : 5000);
	create_topic(h, "fo", 3, 1);
	failover(h, "fo", quick ? 3 : 9);
	h_destroy(h);
	free(h);
	return 0;
}
