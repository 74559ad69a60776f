/*
 * offsets_bench — a million consumer offsets in the replicated state
 * (issue 16): the state machine alone (raft/rsm.c, no Raft, no network),
 * in this process, one thread.
 *
 * Builds the state a cluster would hold: 3 brokers, one topic of 1,024
 * queues on each (3,072 queues), G groups each committing an offset for
 * every queue (G * 3,072 keys; G = 326 gives 1,001,472), by COMMIT
 * commands of 1,024 items applied as the followers apply them. Then:
 *  - apply: commits applied per second while building;
 *  - RSS: the process's resident set (VmRSS) before and after, and the
 *    difference per key;
 *  - snapshot: rsm_snapshot (what a Raft snapshot takes: encode + lz4),
 *    its size; median of 5;
 *  - restore: rsm_restore of that snapshot into a new state (what a
 *    restarting node or a follower installing a snapshot does), checked
 *    equal by digest; median of 5.
 *
 *   offsets_bench [--quick]     (--quick: 10 groups, a smoke run)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_args.h"
#include "bench_proc.h"
#include "rsm.h"

#define QPB 1024
#define BATCH 1024

static const char *const brokers[] = {"broker-1", "broker-2", "broker-3"};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "offsets_bench: %s\n", what);
		exit(1);
	}
}

/* Applies @buf (consumed); exits unless the command was applied. */
static void apply(struct rsm *s, struct raft_buffer buf)
{
	const struct rsm_result *r = NULL;
	int rv = rsm_apply(s, buf.base, buf.len, &r);
	raft_free(buf.base);
	need(rv == 0 && r != NULL && r->code == RSM_OK, "apply refused");
	for (uint32_t i = 0; r->type == RSM_CMD_COMMIT && i < r->n_items; i++)
		need(r->item_codes[i] == RSM_OK, "a commit item was refused");
}

static void setup(struct rsm *s)
{
	for (uint64_t id = 1; id <= 3; id++) {
		struct rsm_broker b;
		memset(&b, 0, sizeof b);
		b.id = id;
		snprintf(b.name, sizeof b.name, "broker-%llu",
			 (unsigned long long)id);
		snprintf(b.listen, sizeof b.listen, "127.0.0.1:%llu",
			 9100 + (unsigned long long)id);
		snprintf(b.raft_address, sizeof b.raft_address,
			 "127.0.0.1:%llu", 9200 + (unsigned long long)id);
		struct raft_buffer buf;
		need(rsm_encode_register_broker(&b, &buf, NULL, 0) == 0,
		     "encode broker");
		apply(s, buf);
	}
	struct rsm_topic_spec t = {"t", QPB, brokers, 3, 0, 0, 1000};
	struct raft_buffer buf;
	need(rsm_encode_create_topic(&t, &buf, NULL, 0) == 0, "encode topic");
	apply(s, buf);
}

/* Group @g commits an offset on every queue of t (spread over 0..10^9 as
 * real positions are, so the snapshot's compression is not flattered);
 * the number of COMMIT commands applied. */
static uint64_t offset_of(int g, int q)
{
	return ((uint64_t)g * 2654435761u + (uint64_t)q * 40503u) % 1000000000u;
}

static int commit_all(struct rsm *s, struct rsm_commit *items, int g)
{
	char name[32];
	snprintf(name, sizeof name, "g%05d", g);
	struct raft_buffer buf;
	need(rsm_encode_create_group(name, RSM_CLUSTERING, RSM_INITIAL_LATEST,
				     2000, NULL, NULL, 0, &buf, NULL, 0) == 0,
	     "encode group");
	apply(s, buf);
	int commands = 0;
	for (int q0 = 0; q0 < 3 * QPB; q0 += BATCH) {
		for (int k = 0; k < BATCH; k++) {
			int q = q0 + k;
			need(rsm_commit_init(
				 &items[k], name, "t", brokers[q / QPB],
				 (uint32_t)(q % QPB), offset_of(g, q), 0) == 0,
			     "commit item");
		}
		need(rsm_encode_commit(items, BATCH, &buf, NULL, 0) == 0,
		     "encode commit");
		apply(s, buf);
		commands++;
	}
	return commands;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of 5 snapshots (their size in *len) and of 5 restores. */
static void snapshot_restore(const struct rsm *s, double *snap_s,
			     double *restore_s, size_t *len)
{
	double ts[5], tr[5];
	for (int i = 0; i < 5; i++) {
		void *buf = NULL;
		double t0 = now_s();
		need(rsm_snapshot(s, &buf, len) == 0, "snapshot");
		ts[i] = now_s() - t0;
		struct rsm *r = rsm_new();
		char err[256];
		t0 = now_s();
		need(r != NULL &&
			 rsm_restore(r, buf, *len, err, sizeof err) == 0,
		     "restore");
		tr[i] = now_s() - t0;
		need(rsm_digest(r) == rsm_digest(s), "restored state differs");
		rsm_free(r);
		free(buf);
	}
	qsort(ts, 5, sizeof *ts, cmp_double);
	qsort(tr, 5, sizeof *tr, cmp_double);
	*snap_s = ts[2];
	*restore_s = tr[2];
}

int main(int argc, char **argv)
{
	bool quick = bench_quick(argc, argv, "offsets_bench");
	int groups = quick ? 10 : 326;
	long rss0 = bench_rss_kib(0);
	struct rsm *s = rsm_new();
	need(s != NULL, "out of memory");
	setup(s);
	struct rsm_commit *items = calloc(BATCH, sizeof *items);
	need(items != NULL, "out of memory");
	double t0 = now_s();
	int commands = 0;
	for (int g = 0; g < groups; g++)
		commands += commit_all(s, items, g);
	double build = now_s() - t0;
	free(items);
	/* Spot check: what was committed is there. */
	const struct rsm_group *g1 = rsm_group_find(s, "g00001");
	const struct rsm_group_topic *gt = g1 ? rsm_group_topic(g1, "t") : NULL;
	need(gt != NULL && gt->n == 3 * QPB &&
		 gt->offsets[5] == offset_of(1, 5),
	     "offsets not in the state");
	long rss1 = bench_rss_kib(0);
	uint64_t keys = (uint64_t)groups * 3 * QPB;
	printf("offsets_bench: %llu offset keys (%d groups x %d queues), "
	       "%d COMMIT commands of %d items\n",
	       (unsigned long long)keys, groups, 3 * QPB, commands, BATCH);
	printf("apply: %.0f committed offsets/s (%.2f s in all)\n",
	       (double)keys / build, build);
	printf("RSS: %ld KiB before, %ld KiB after: %.1f bytes per key\n", rss0,
	       rss1, (double)(rss1 - rss0) * 1024.0 / (double)keys);
	double snap, restore;
	size_t len = 0;
	snapshot_restore(s, &snap, &restore, &len);
	printf("snapshot: %.3f s, %zu bytes (%.1f bytes per key); restore: "
	       "%.3f s (median of 5 each, digest checked)\n",
	       snap, len, (double)len / (double)keys, restore);
	rsm_free(s);
	return 0;
}
