/*
 * fsync_bench — the disk's own floor under a Raft commit: latency of
 * 4 KiB pwrites to a file opened O_DSYNC (as raft_uv writes its log
 * segments), one at a time, over an 8 MiB preallocated file in $TMPDIR
 * (or /tmp). A commit waits for at least one such write on the leader
 * and one on a follower, so its p99 cannot be below this p99.
 *
 *   fsync_bench [--quick]      (--quick: 300 writes)
 */
#include <errno.h>
#include <linux/aio_abi.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_args.h"

#define FILE_BYTES (8u << 20)
#define WRITE_BYTES 4096u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* @n writes to @path (opened O_DSYNC), each one's nanoseconds into @lat:
 * 0, or -1 after saying why. */
static int measure(const char *path, uint64_t *lat, int n)
{
	static char buf[WRITE_BYTES];
	memset(buf, 'x', sizeof buf);
	int fd = open(path, O_WRONLY | O_DSYNC);
	if (fd < 0) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		off_t at = (off_t)((uint64_t)i * WRITE_BYTES % FILE_BYTES);
		uint64_t t0 = now_ns();
		if (pwrite(fd, buf, sizeof buf, at) != (ssize_t)sizeof buf) {
			perror(path);
			close(fd);
			return -1;
		}
		lat[i] = now_ns() - t0;
	}
	close(fd);
	return 0;
}

/* io_setup + io_destroy of a one-event context, @n times: what io_destroy
 * took, p50 and max; 0, or -1 after saying why. */
static int measure_io_destroy(int n)
{
	uint64_t lat[64];
	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++) {
		aio_context_t ctx = 0;
		if (syscall(SYS_io_setup, 1, &ctx) != 0) {
			perror("io_setup");
			return -1;
		}
		uint64_t t0 = now_ns();
		if (syscall(SYS_io_destroy, ctx) != 0) {
			perror("io_destroy");
			return -1;
		}
		lat[i] = now_ns() - t0;
	}
	qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
	printf("io_destroy of an AIO context  p50 %.3f ms  max %.3f ms  (%d "
	       "contexts, one at a time)\n",
	       (double)lat[n / 2] / 1e6, (double)lat[n - 1] / 1e6, n);
	return 0;
}

int main(int argc, char **argv)
{
	int n = bench_quick(argc, argv, "fsync_bench") ? 300 : 5000;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[512];
	snprintf(path, sizeof path, "%s/fsync_bench.XXXXXX", tmp);
	int fd = mkstemp(path);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	int rv = posix_fallocate(fd, 0, FILE_BYTES);
	if (rv != 0 || fsync(fd) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(rv ? rv : errno));
		close(fd);
		unlink(path);
		return 1;
	}
	close(fd);
	uint64_t *lat = calloc((size_t)n, sizeof *lat);
	rv = lat == NULL ? -1 : measure(path, lat, n);
	unlink(path);
	if (lat == NULL)
		fprintf(stderr, "fsync_bench: out of memory\n");
	if (rv != 0) {
		free(lat);
		return 1;
	}
	qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
	printf("O_DSYNC 4 KiB pwrite  p50 %.3f ms  p99 %.3f ms  max %.3f ms  "
	       "(%d writes, one at a time, in %s)\n",
	       (double)lat[n / 2] / 1e6, (double)lat[n * 99 / 100] / 1e6,
	       (double)lat[n - 1] / 1e6, n, tmp);
	free(lat);
	return measure_io_destroy(20) == 0 ? 0 : 1;
}
