/*
 * snapshot_bench — a million consumer offsets in a running 3-node cluster
 * (issue 16): what the nodes hold, what a commit costs while snapshots of
 * that state are taken, and how long a follower takes to come back by
 * restart and by InstallSnapshot.
 *
 *  Election 1000 ms, heartbeat 100 ms (the defaults; the harness has 300).
 *  1. one topic of 1,024 queues on each of the 3 brokers; 326 groups each
 *     commit all 3,072 queues (COMMITs of 1,024 offsets spread over
 *     0..10^9): 1,001,472 offset keys; every node's RSS before and after;
 *  2. 10,000 one-offset commits one at a time while every node snapshots
 *     the whole state each snapshot_threshold (1,024) applied entries:
 *     p50 / p99 / p99.9 / max, the snapshots taken meanwhile and what one
 *     took on the event loop (raftq_raft_snapshot_seconds_total: the
 *     copy of the state) and off it (..._encode_seconds_total);
 *  3. a follower stopped cleanly and started: time to the leader's commit
 *     index (its snapshot restored, the log after it replayed);
 *  4. a follower killed while 3,000 entries pass (its log is left behind
 *     the leader's trailing entries): time from its start to the leader's
 *     commit index, through InstallSnapshot of the whole state.
 *
 *   snapshot_bench [--quick | --no-snapshots]
 *     --quick: 10 groups, a smoke run; --no-snapshots: the control — no
 *     snapshot taken (threshold 10^8), steps 1-3 only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_args.h"
#include "bench_commit.h"
#include "bench_proc.h"
#include "harness.h"

#define QPB 1024 /* queues per broker */
#define THRESHOLD 1024
#define TRAILING 256

static void need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "snapshot_bench: %s\n", what);
		exit(1);
	}
}

static double metric(struct harness *h, int i, const char *name)
{
	double v = h_metric(h, i, name);
	need(!isnan(v), name);
	return v;
}

/* The leader all nodes name now (a slow restart may have moved it). */
static void find_leader(struct harness *h)
{
	int was = h->leader;
	h->leader = h_wait_leader(h, 3, 20000);
	need(h->leader >= 0, "a leader");
	if (h->leader != was)
		printf("  (the leader moved: node %d -> node %d)\n", was + 1,
		       h->leader + 1);
}

/* Group @g commits all QPB queues of every broker, 1,024 per request. */
static void commit_group(struct harness *h, int g)
{
	static struct rpc_commit_item it[QPB];
	static const char *brokers[] = {"broker-1", "broker-2", "broker-3"};
	char name[32];
	snprintf(name, sizeof name, "g%d", g);
	need(h_create_group(h, name, "clustering", NULL) == 0, "group");
	for (int b = 0; b < 3; b++) {
		for (uint32_t q = 0; q < QPB; q++) {
			uint64_t x = (uint64_t)g * 2654435761u + b * 7919u + q;
			it[q] = (struct rpc_commit_item){
			    "o", brokers[b], q, x * 40503u % 1000000000u, 0};
		}
		struct rpc_commit_req req = {name, "m", {it, QPB}};
		need(h_call_code(h->nodes[h->leader].listen, RPC_COMMIT, &req,
				 10000) == RPC_OK,
		     "commit of 1,024 offsets");
	}
}

static void print_rss(struct harness *h, const char *when)
{
	printf("node RSS %-28s", when);
	for (int i = 0; i < h->n; i++)
		printf(" node %d %6.1f MB", i + 1,
		       (double)bench_rss_kib(h->nodes[i].pid) / 1024.0);
	printf("\n");
}

/* Milliseconds from @t0 until node @i (being started) answers GET /readyz
 * with 200: it applied the leader's commit index (polled every 2 ms;
 * /metrics would cost the node a render of 57 MB each time). */
static double catch_up_ms(struct harness *h, int i, uint64_t t0)
{
	char body[512];
	while (h_http(h->nodes[i].http, "GET", "/readyz", NULL, 0, body,
		      sizeof body) != 200) {
		need(bench_now_us() - t0 < 60000000u, "caught up in 60 s");
		usleep(2000);
	}
	return (double)(bench_now_us() - t0) / 1000.0;
}

/* One GET /metrics of every node: the time to its first byte (the node's
 * loop renders the whole text before it answers), to its last, and its
 * size in bytes and lines. */
static void metrics_cost(struct harness *h)
{
	static char buf[1 << 16];
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: raftq\r\n"
				  "Connection: close\r\n\r\n";
	for (int i = 0; i < h->n; i++) {
		int fd = h_dial(h->nodes[i].http);
		uint64_t t0 = bench_now_us(), first = 0;
		need(send(fd, req, sizeof req - 1, 0) == sizeof req - 1,
		     "send GET /metrics");
		size_t bytes = 0, lines = 0;
		ssize_t r;
		while ((r = recv(fd, buf, sizeof buf, 0)) > 0) {
			if (first == 0)
				first = bench_now_us();
			bytes += (size_t)r;
			for (ssize_t k = 0; k < r; k++)
				lines += buf[k] == '\n';
		}
		close(fd);
		need(first > 0, "an answer to GET /metrics");
		printf("GET /metrics node %d  first byte %7.1f ms  last %7.1f "
		       "ms  %6.1f MB  %zu lines\n",
		       i + 1, (double)(first - t0) / 1000.0,
		       (double)(bench_now_us() - t0) / 1000.0,
		       (double)bytes / 1e6, lines);
	}
}

static void commit_latency(struct harness *h, int n, bool none)
{
	double s0[3], t0[3], e0[3];
	for (int i = 0; i < 3; i++) {
		s0[i] = metric(h, i, "raftq_raft_snapshots_total");
		t0[i] = metric(h, i, "raftq_raft_snapshot_seconds_total");
		e0[i] =
		    metric(h, i, "raftq_raft_snapshot_encode_seconds_total");
	}
	uint64_t *lat = calloc((size_t)n, sizeof *lat);
	bench_commit_latencies(h->nodes[h->leader].listen, "g0", "o", n, lat);
	printf("commit latency %s  p50 %.3f ms  p99 %.3f ms  "
	       "p99.9 %.3f ms  max %.3f ms  (%d sequential 1-offset "
	       "commits)\n",
	       none ? "without snapshots" : "during snapshots",
	       bench_quantile_ms(lat, (size_t)n, 0.50),
	       bench_quantile_ms(lat, (size_t)n, 0.99),
	       bench_quantile_ms(lat, (size_t)n, 0.999),
	       bench_quantile_ms(lat, (size_t)n, 1.0), n);
	for (int i = 0; i < 3; i++) {
		double s = metric(h, i, "raftq_raft_snapshots_total") - s0[i];
		double t =
		    metric(h, i, "raftq_raft_snapshot_seconds_total") - t0[i];
		double e =
		    metric(h, i, "raftq_raft_snapshot_encode_seconds_total") -
		    e0[i];
		printf("  node %d%s: %.0f snapshots meanwhile, %.1f ms each on "
		       "the loop, %.2f MB each, %.1f ms each encoding off the "
		       "loop\n",
		       i + 1, i == h->leader ? " (leader)" : "", s,
		       s > 0 ? t * 1000.0 / s : 0.0,
		       metric(h, i, "raftq_raft_snapshot_bytes") / 1e6,
		       s > 0 ? e * 1000.0 / s : 0.0);
	}
	free(lat);
}

static void follower_restart(struct harness *h, int f)
{
	need(h_stop(h, f, 20000) == 0, "clean stop");
	uint64_t t0 = bench_now_us();
	need(h_start(h, f) == 0, "start");
	double ms = catch_up_ms(h, f, t0);
	printf("follower restart (clean stop, start)  %.0f ms to the leader's "
	       "commit index  (restore %.1f ms)\n",
	       ms, metric(h, f, "raftq_raft_restore_seconds_total") * 1e3);
}

static void follower_install(struct harness *h, int f, int entries)
{
	find_leader(h);
	h_kill(h, f);
	uint64_t *lat = calloc((size_t)entries, sizeof *lat);
	bench_commit_latencies(h->nodes[h->leader].listen, "g1", "o", entries,
			       lat);
	free(lat);
	/* A snapshot still encoded off the loop when the follower asks
	 * would compact the log past the one just sent, and send a second. */
	need(!isnan(h_snapshot_settled(h, h->leader)),
	     "the leader's snapshots settle");
	uint64_t t0 = bench_now_us();
	need(h_start(h, f) == 0, "start");
	double ms = catch_up_ms(h, f, t0);
	double restores = metric(h, f, "raftq_raft_restores_total");
	if (restores != 2)
		fprintf(stderr,
			"snapshot_bench: node %d restored %.0f snapshots\n",
			f + 1, restores);
	need(restores == 2, "own snapshot at start, then one installed");
	printf("follower install snapshot  %.0f ms from start to the leader's "
	       "commit index  (%d entries missed; restores %.0f taking %.1f "
	       "ms in all)\n",
	       ms, entries, restores,
	       metric(h, f, "raftq_raft_restore_seconds_total") * 1e3);
}

int main(int argc, char **argv)
{
	static const char *const flags[] = {"--quick", "--no-snapshots", NULL};
	const char *flag = bench_flag(argc, argv, "snapshot_bench", flags);
	bool quick = flag != NULL && strcmp(flag, "--quick") == 0;
	bool none = flag != NULL && strcmp(flag, "--no-snapshots") == 0;
	int threshold = none ? 100000000 : THRESHOLD;
	setvbuf(stdout, NULL, _IOLBF, 0);
	int groups = quick ? 10 : 326;
	struct harness *h = calloc(1, sizeof *h);
	need(h != NULL && h_init(h, 3) == 0 &&
		 h_set_timings(h, 1000, 100) == 0 &&
		 h_set_snapshots(h, threshold, TRAILING) == 0 &&
		 h_start_all(h) == 0,
	     "a 3-node cluster");
	need(h_create_topic_rf(h, "o", QPB, 1) == 0,
	     "topic of 3 x 1,024 queues, one copy each");
	find_leader(h); /* creating 1,024 queues a broker blocks its loop */
	printf("snapshot_bench: 3 raftqd on loopback (election 1000 ms, "
	       "heartbeat 100 ms: the defaults), snapshot_threshold %d, "
	       "trailing %d, %s\n",
	       threshold, TRAILING, quick ? "quick sizes" : "full sizes");
	print_rss(h, "(topic, no offsets)");
	uint64_t t0 = bench_now_us();
	for (int g = 0; g < groups; g++)
		commit_group(h, g);
	printf("committed %d groups x %d queues = %d offset keys in %.1f s\n",
	       groups, 3 * QPB, groups * 3 * QPB,
	       (double)(bench_now_us() - t0) / 1e6);
	print_rss(h, "(with those keys)");
	metrics_cost(h);
	commit_latency(h, quick ? 2000 : 10000, none);
	int f = (h->leader + 1) % 3;
	follower_restart(h, f);
	if (!none)
		follower_install(h, f, quick ? 1500 : 3000);
	print_rss(h, "(at the end)");
	h_destroy(h);
	free(h);
	return 0;
}
