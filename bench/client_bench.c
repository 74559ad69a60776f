/*
 * client_bench — libraftq end to end on a real 3-node raftqd cluster on
 * loopback (the test harness: flush=os, election 300 ms), 3 nodes and the
 * client on the same 2 cores:
 *
 *  1. produce: one producer, N messages of 100 bytes (printable text
 *     with a counter, as a JSON event would be) to a topic of 4 queues
 *     on ONE broker, no key (a batch fills one queue, then the next);
 *     batches of 10,000 messages / 1 MiB, linger 5 ms, 4 batches in
 *     flight per queue; the clock runs from the first raftq_produce to
 *     the last delivery report (every message acknowledged by the
 *     broker). Once plain, once with lz4 (a new topic each time).
 *  2. consume: one consumer of a new group (initial = earliest) reads
 *     the N plain messages back; the clock runs from the first
 *     raftq_consume to the N-th message.
 *  3. reset pickup: a topic over the 3 brokers x 2 queues, a group of 3
 *     online consumers (3 clients) driven by the main thread, a producer
 *     adding 60 messages per trial; a second thread calls RESET
 *     (to offset 0) on the leader and notes when the answer came. The
 *     pickup time is from that answer to the moment the LAST of the 3
 *     consumers delivers a message from offset 0 (negative values: the
 *     reset notice reached the consumers before the answer reached the
 *     operator; counted as 0). R trials; p50, p99 and max. Also the
 *     reset call's own duration (request to answer, connect included),
 *     which includes the members confirming the new epoch.
 *  4. idle fetch rate and 5. produce -> deliver latency at low load: the
 *     long-polling figures (bench/poll.c).
 *
 *   client_bench [--quick]      (--quick: small sizes, a smoke run)
 *   client_bench --poll         (only 4 and 5, full size)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_args.h"
#include "bench_client.h"
#include "harness.h"
#include "poll.h"

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t call_code(const char *addr, uint16_t type, const void *req)
{
	return h_call_code(addr, type, req, 10000);
}

static double consume(const char *bootstrap, const char *topic, uint64_t n)
{
	struct raftq_client *c = client(bootstrap, "bench-consumer");
	const char *topics[] = {topic};
	struct raftq_consumer_config kc = {
	    .group = "bench-read", .topics = topics, .n_topics = 1};
	struct raftq_consumer *k;
	need(raftq_consumer_new(c, &kc, &k) == 0, raftq_client_errmsg(c));
	struct raftq_message m[512];
	uint64_t got = 0, t0 = now_us(), bytes = 0;
	uint64_t deadline = now_us() + 120u * 1000000u;
	while (got < n && now_us() < deadline) {
		int k_ = raftq_consume(k, m, 512, 100);
		need(k_ >= 0, raftq_client_errmsg(c));
		for (int i = 0; i < k_; i++)
			bytes += m[i].body_len;
		got += (uint64_t)k_;
	}
	double secs = (double)(now_us() - t0) / 1e6;
	need(got == n && bytes == n * 100, "did not read every message back");
	raftq_consumer_close(k, 5000);
	raftq_client_free(c);
	return (double)n / secs;
}

/* ---- Reset pickup ---- */

struct resetter {
	pthread_t th;
	const char *leader;
	atomic_int go;	   /* 1: reset now */
	atomic_llong done; /* answer time (us), 0 while waiting */
	atomic_llong took; /* the reset call's duration (us) */
	atomic_int code;
};

static void *reset_thread(void *arg)
{
	struct resetter *r = arg;
	while (atomic_load(&r->go) != 2) {
		if (atomic_load(&r->go) != 1) {
			usleep(200);
			continue;
		}
		struct rpc_reset_req in = {.group = "pick",
					   .topic = "r",
					   .target = "offset",
					   .requester = "bench"};
		uint64_t start = now_us();
		uint32_t code = call_code(r->leader, RPC_RESET, &in);
		uint64_t end = now_us();
		atomic_store(&r->code, (int)code);
		atomic_store(&r->took, (long long)(end - start));
		atomic_store(&r->done, (long long)end);
		atomic_store(&r->go, 0);
	}
	return NULL;
}

static void pickup(struct harness *h, int leader, const char *bootstrap,
		   int trials)
{
	const char *L = h->nodes[leader].listen;
	struct rpc_topic_create_req t = {"r", 2, {NULL, 0}, 1, 0};
	need(call_code(L, RPC_TOPIC_CREATE, &t) == RPC_OK, "topic r");
	struct rpc_group_create_req g = {
	    "pick", "clustering", "earliest", {NULL, 0}, 0};
	need(call_code(L, RPC_GROUP_CREATE, &g) == RPC_OK, "group pick");
	struct raftq_client *pc = client(bootstrap, "bench-producer");
	struct raftq_producer_config pcfg = {.topic = "r",
					     .batch_messages = 10};
	struct raftq_producer *p;
	need(raftq_producer_new(pc, &pcfg, &p) == 0, raftq_client_errmsg(pc));
	struct raftq_client *cc[3];
	struct raftq_consumer *kk[3];
	const char *topics[] = {"r"};
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof id, "m-%d", i);
		cc[i] = client(bootstrap, id);
		struct raftq_consumer_config kc = {.group = "pick",
						   .topics = topics,
						   .n_topics = 1,
						   .member_id = id,
						   .heartbeat_ms = 200};
		need(raftq_consumer_new(cc[i], &kc, &kk[i]) == 0,
		     raftq_client_errmsg(cc[i]));
	}
	struct raftq_message m[64];
	/* Wait until each member holds its 2 queues, positions known. */
	uint64_t until = now_us() + 20000000u;
	for (bool ok = false; !ok && now_us() < until;) {
		ok = true;
		for (int i = 0; i < 3; i++) {
			struct raftq_queue q[8];
			size_t nq = bench_assignment(kk[i], q, 8);
			ok &= nq == 2 && q[0].position != UINT64_MAX &&
			      q[1].position != UINT64_MAX;
			need(raftq_consume(kk[i], m, 64, 1) == 0,
			     "nothing was produced yet");
		}
	}
	struct resetter rs = {.leader = L};
	pthread_create(&rs.th, NULL, reset_thread, &rs);
	int64_t *v = calloc((size_t)trials, sizeof *v);
	int64_t *took = calloc((size_t)trials, sizeof *took);
	need(v != NULL && took != NULL, "out of memory");
	uint64_t total = 0;
	for (int trial = 0; trial < trials; trial++) {
		/* 60 more messages (10 per queue); every consumer reads all
		 * of its queues to the end. */
		for (int i = 0; i < 60; i++)
			need(raftq_produce(p, NULL, 0, "x", 1, NULL) == 0,
			     "produce");
		need(raftq_producer_flush(p, 10000) == 0, "flush");
		total += 60;
		uint64_t seen = 0, end = now_us() + 20000000u;
		while (seen < 60 && now_us() < end)
			for (int i = 0; i < 3; i++) {
				int k = raftq_consume(kk[i], m, 64, 1);
				need(k >= 0, raftq_client_errmsg(cc[i]));
				seen += (uint64_t)k;
			}
		need(seen >= 60, "consumers did not catch up");
		/* Reset to offset 0 from the other thread. */
		atomic_store(&rs.done, 0);
		atomic_store(&rs.go, 1);
		uint64_t at[3] = {0, 0, 0};
		int moved = 0;
		seen = 0;
		end = now_us() + 20000000u;
		while (
		    (moved < 3 || atomic_load(&rs.done) == 0 || seen < total) &&
		    now_us() < end)
			for (int i = 0; i < 3; i++) {
				int k = raftq_consume(kk[i], m, 64, 1);
				need(k >= 0, raftq_client_errmsg(cc[i]));
				seen += (uint64_t)k;
				for (int j = 0; j < k && at[i] == 0; j++)
					if (m[j].offset == 0) {
						at[i] = now_us();
						moved++;
					}
			}
		need(atomic_load(&rs.code) == RPC_OK, "reset failed");
		need(moved == 3 && seen == total, "not every consumer moved");
		uint64_t last = at[0] > at[1] ? at[0] : at[1];
		last = last > at[2] ? last : at[2];
		v[trial] = (int64_t)last - (int64_t)atomic_load(&rs.done);
		took[trial] = (int64_t)atomic_load(&rs.took);
	}
	atomic_store(&rs.go, 2);
	pthread_join(rs.th, NULL);
	int64_t neg = 0;
	for (int i = 0; i < trials; i++)
		if (v[i] < 0) {
			neg++;
			v[i] = 0;
		}
	qsort(v, (size_t)trials, sizeof *v, cmp_i64);
	printf("reset pickup (3 online consumers, 6 queues, %d trials): p50 "
	       "%.2f ms  p99 %.2f ms  max %.2f ms  (%lld trials: moved "
	       "before the operator had the answer)\n",
	       trials, (double)v[trials / 2] / 1000.0,
	       (double)v[trials * 99 / 100] / 1000.0,
	       (double)v[trials - 1] / 1000.0, (long long)neg);
	qsort(took, (size_t)trials, sizeof *took, cmp_i64);
	printf("reset answer with 3 online consumers (%d trials, incl. "
	       "connect): p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
	       trials, (double)took[trials / 2] / 1000.0,
	       (double)took[trials * 99 / 100] / 1000.0,
	       (double)took[trials - 1] / 1000.0);
	free(took);
	free(v);
	for (int i = 0; i < 3; i++) {
		raftq_consumer_close(kk[i], 2000);
		raftq_client_free(cc[i]);
	}
	raftq_producer_close(p, 1000);
	raftq_client_free(pc);
}

int main(int argc, char **argv)
{
	static const char *const flags[] = {"--quick", "--poll", NULL};
	const char *flag = bench_flag(argc, argv, "client_bench", flags);
	bool quick = flag != NULL && strcmp(flag, "--quick") == 0;
	bool poll_only = flag != NULL && strcmp(flag, "--poll") == 0;
	uint64_t n = quick ? 100000 : 2000000;
	int trials = quick ? 5 : 50;
	struct harness *hp = h_fixture(sizeof *hp, 3, false);
	need(hp != NULL, "a 3-node cluster");
	struct harness h = *hp; /* the nodes' pids and paths */
	free(hp);
	int leader = h.leader;
	char bootstrap[128];
	snprintf(bootstrap, sizeof bootstrap, "%s,%s,%s", h.nodes[0].listen,
		 h.nodes[1].listen, h.nodes[2].listen);
	const char *L = h.nodes[leader].listen;
	const char *one[] = {"broker-1"};
	struct rpc_topic_create_req t1 = {"plain", 4, {one, 1}, 1, 0};
	struct rpc_topic_create_req t2 = {"lz4", 4, {one, 1}, 1, 0};
	need(call_code(L, RPC_TOPIC_CREATE, &t1) == RPC_OK, "topic plain");
	need(call_code(L, RPC_TOPIC_CREATE, &t2) == RPC_OK, "topic lz4");
	struct rpc_group_create_req g = {
	    "bench-read", "clustering", "earliest", {NULL, 0}, 0};
	need(call_code(L, RPC_GROUP_CREATE, &g) == RPC_OK, "group");
	poll_setup(&h);

	printf("client_bench: 3 raftqd + this client on one machine, "
	       "loopback, flush=os\n");
	if (poll_only) {
		poll_idle_rate(&h, bootstrap, 10);
		poll_latency(bootstrap, 1000);
		h_destroy(&h);
		return 0;
	}
	double plain =
	    bench_produce(bootstrap, "plain", n, false, RAFTQ_ACKS_ALL);
	printf("produce, one broker, 100-byte messages, no compression: "
	       "%llu messages, %.0f msgs/s (%.1f MB/s)\n",
	       (unsigned long long)n, plain, plain * 100 / 1e6);
	double z = bench_produce(bootstrap, "lz4", n, true, RAFTQ_ACKS_ALL);
	printf("produce, one broker, 100-byte messages, lz4 batches:    "
	       "%llu messages, %.0f msgs/s (%.1f MB/s before compression)\n",
	       (unsigned long long)n, z, z * 100 / 1e6);
	double rd = consume(bootstrap, "plain", n);
	printf("consume, one consumer, the plain topic, from joining:   "
	       "%llu messages, %.0f msgs/s\n",
	       (unsigned long long)n, rd);
	pickup(&h, leader, bootstrap, trials);
	poll_idle_rate(&h, bootstrap, quick ? 3 : 10);
	poll_latency(bootstrap, quick ? 200 : 1000);
	h_destroy(&h);
	return 0;
}
