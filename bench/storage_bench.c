/*
 * storage_bench — measures the storage engine on this machine and prints
 * what it measured and how (bench/README.md records the results).
 *
 *   storage_bench [--dir DIR] [--quick]
 *
 * Workload: 100-byte messages in batches of 100 (one 10,000-byte payload
 * per batch), store times 1 ms apart per batch, default segment size
 * (128 MiB) and index interval (4 KiB).
 *  1. append throughput, flush=os (10^7 messages) and flush=sync (bounded
 *     to 4 s);
 *  2. sequential read throughput of the 10^7-message queue (1 MiB reads);
 *  3. offset-for-time latency p50/p99 over 200,000 uniformly random times
 *     (after an untimed warm-up pass of as many) at 10^4, 10^6 and 10^7
 *     messages per queue;
 *  4. time to open the ~1 GiB queue after a clean close, and after a crash
 *     (clean marker removed: the active segment is scanned).
 * --quick divides the sizes by 100 and bounds flush=sync to 0.3 s (a
 * smoke run, registered with ctest under the label bench).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage.h"

#define MSG_BYTES 100
#define PER_BATCH 100

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int rv, const char *msg)
{
	fprintf(stderr, "storage_bench: %s: %s: %s\n", what, stor_errname(rv),
		msg);
	exit(1);
}

static void rmrf(const char *dir)
{
	char *cmd;
	if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
		exit(1);
	if (system(cmd) != 0)
		fprintf(stderr, "storage_bench: could not remove %s\n", dir);
	free(cmd);
}

static struct stor_queue *open_q(const char *dir, enum stor_flush flush)
{
	struct stor_config cfg;
	stor_config_default(&cfg);
	cfg.flush = flush;
	cfg.retention_ms = 0;
	struct stor_queue *q;
	char err[1024];
	int rv =
	    stor_queue_open(dir, "bench/0", &cfg, NULL, &q, err, sizeof err);
	if (rv != 0)
		die("open", rv, err);
	return q;
}

static void close_q(struct stor_queue *q)
{
	char err[1024];
	int rv = stor_queue_close(q, err, sizeof err);
	if (rv != 0)
		die("close", rv, err);
}

/* Appends @batches batches (or until @max_s seconds pass); returns the
 * number appended and the seconds taken. */
static uint64_t fill(struct stor_queue *q, uint64_t batches, double max_s,
		     double *secs)
{
	static uint8_t payload[MSG_BYTES * PER_BATCH];
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7);
	struct stor_batch_in in = {payload, sizeof payload, PER_BATCH, 0, 0, 0};
	double t0 = now_s();
	uint64_t i;
	for (i = 0; i < batches; i++) {
		in.store_time_ms = 1600000000000 + (int64_t)i;
		int rv = stor_queue_append(q, &in, NULL, NULL);
		if (rv != 0)
			die("append", rv, stor_queue_errmsg(q));
		if (max_s > 0 && (i & 15) == 15 && now_s() - t0 > max_s) {
			i++;
			break;
		}
	}
	*secs = now_s() - t0;
	return i;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* offset-for-time over @n random times; checks each answer. */
static void time_lookups(struct stor_queue *q, uint64_t batches,
			 const char *label)
{
	const int n = 200000;
	uint64_t *lat = malloc(sizeof *lat * (size_t)n);
	uint64_t seed = 88172645463325252ull;
	/* Warm-up: one untimed pass of n random lookups, so that every
	 * size is measured in the same steady state (indexes mapped, the
	 * page cache's first-touch work done). */
	uint64_t wseed = 1234567;
	for (int i = 0; i < n; i++) {
		wseed = wseed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t off;
		stor_queue_offset_for_time(
		    q, 1600000000000 + (int64_t)((wseed >> 11) % batches),
		    &off);
	}
	for (int i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		uint64_t b = seed % batches;
		int64_t t = 1600000000000 + (int64_t)b;
		uint64_t off;
		uint64_t t0 = now_ns();
		int rv = stor_queue_offset_for_time(q, t, &off);
		lat[i] = now_ns() - t0;
		if (rv != 0)
			die("offset_for_time", rv, stor_queue_errmsg(q));
		if (off != b * PER_BATCH) {
			fprintf(stderr,
				"storage_bench: time %" PRId64 " gave %" PRIu64
				", expected %" PRIu64 "\n",
				t, off, b * PER_BATCH);
			exit(1);
		}
	}
	qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
	printf("offset-for-time  %-14s p50 %6.2f us  p99 %6.2f us  max %7.2f "
	       "us  (%d random lookups, answers checked)\n",
	       label, (double)lat[n / 2] / 1e3, (double)lat[n * 99 / 100] / 1e3,
	       (double)lat[n - 1] / 1e3, n);
	free(lat);
}

int main(int argc, char **argv)
{
	const char *base = "/var/tmp";
	int quick = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			base = argv[++i];
		else if (strcmp(argv[i], "--quick") == 0)
			quick = 1;
		else {
			fprintf(stderr, "usage: storage_bench [--dir DIR] "
					"[--quick]\n");
			return 2;
		}
	}
	char *root;
	if (asprintf(&root, "%s/raftq-bench-%d", base, (int)getpid()) < 0)
		return 1;
	if (mkdir(root, 0755) != 0) {
		fprintf(stderr, "storage_bench: mkdir %s: %s\n", root,
			strerror(errno));
		return 1;
	}
	uint64_t scale = quick ? 100 : 1;
	printf("storage_bench: %d-byte messages, %d per batch, default "
	       "segment 128 MiB, index interval 4 KiB, data in %s\n",
	       MSG_BYTES, PER_BATCH, root);

	/* 1. append, flush=os, 10^7 messages (about 1 GiB). */
	char *big;
	if (asprintf(&big, "%s/big", root) < 0)
		return 1;
	uint64_t big_batches = 100000 / scale;
	struct stor_queue *q = open_q(big, STOR_FLUSH_OS);
	double secs;
	uint64_t done = fill(q, big_batches, 0, &secs);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	printf("append flush=os    %10.0f msgs/s  %7.1f MB/s  (%" PRIu64
	       " messages, %.2f s, %u segments, %.1f MiB on disk)\n",
	       (double)(done * PER_BATCH) / secs,
	       (double)(done * PER_BATCH * MSG_BYTES) / secs / 1e6,
	       done * PER_BATCH, secs, info.segments,
	       (double)info.bytes / 1048576.0);
	close_q(q);

	/* flush=sync: every batch fdatasync'ed before the append returns. */
	char *syncd;
	if (asprintf(&syncd, "%s/sync", root) < 0)
		return 1;
	q = open_q(syncd, STOR_FLUSH_SYNC);
	done = fill(q, 1000000, quick ? 0.3 : 4.0, &secs);
	printf("append flush=sync  %10.0f msgs/s  %7.1f MB/s  (%" PRIu64
	       " batches in %.2f s: %.0f fsyncs/s, %.2f ms per durable "
	       "batch)\n",
	       (double)(done * PER_BATCH) / secs,
	       (double)(done * PER_BATCH * MSG_BYTES) / secs / 1e6, done, secs,
	       (double)done / secs, secs * 1e3 / (double)done);
	close_q(q);
	rmrf(syncd);

	/* 2. sequential read of the big queue, 1 MiB buffers. */
	q = open_q(big, STOR_FLUSH_OS);
	size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap);
	uint64_t off = 0, msgs = 0, bytes = 0;
	double t0 = now_s();
	stor_queue_info(q, &info);
	while (off < info.max_offset) {
		size_t len;
		int rv = stor_queue_read(q, off, buf, cap, &len);
		if (rv != 0)
			die("read", rv, stor_queue_errmsg(q));
		size_t pos = 0;
		struct stor_batch b;
		while (stor_batch_next(buf, len, &pos, &b) == 1) {
			off = b.base_offset + b.count;
			msgs += b.count;
		}
		bytes += len;
	}
	secs = now_s() - t0;
	printf("read sequential    %10.0f msgs/s  %7.1f MB/s  (%" PRIu64
	       " messages, CRC of every batch checked, page cache warm)\n",
	       (double)msgs / secs, (double)bytes / secs / 1e6, msgs);
	free(buf);

	/* 3. offset-for-time at three sizes. */
	time_lookups(q, big_batches, quick ? "10^5 msgs" : "10^7 msgs");
	close_q(q);
	uint64_t sizes[] = {100, 10000};
	const char *labels[] = {"10^4 msgs", "10^6 msgs"};
	for (int i = 0; i < 2; i++) {
		char *d;
		if (asprintf(&d, "%s/t%d", root, i) < 0)
			return 1;
		q = open_q(d, STOR_FLUSH_OS);
		uint64_t nb = sizes[i] / (quick && i == 1 ? 100 : 1);
		fill(q, nb, 0, &secs);
		time_lookups(q, nb, quick && i == 1 ? "10^4 msgs" : labels[i]);
		close_q(q);
		rmrf(d);
		free(d);
	}

	/* 4. open the big queue: clean, then as after a crash. */
	struct stor_queue_stats st;
	t0 = now_s();
	q = open_q(big, STOR_FLUSH_OS);
	double clean_s = now_s() - t0;
	stor_queue_stats(q, &st);
	stor_queue_info(q, &info);
	close_q(q);
	printf("open clean         %10.2f ms  (%.1f MiB, %u segments; clean "
	       "marker %s)\n",
	       clean_s * 1e3, (double)info.bytes / 1048576.0, info.segments,
	       st.clean_open ? "trusted" : "NOT trusted");
	char *marker;
	if (asprintf(&marker, "%s/clean", big) < 0)
		return 1;
	unlink(marker);
	t0 = now_s();
	q = open_q(big, STOR_FLUSH_OS);
	double crash_s = now_s() - t0;
	stor_queue_stats(q, &st);
	close_q(q);
	printf("open after crash   %10.2f ms  (active segment scanned and "
	       "CRC-checked; clean_open=%d)\n",
	       crash_s * 1e3, st.clean_open);
	free(marker);

	rmrf(root);
	free(big);
	free(syncd);
	free(root);
	return 0;
}
