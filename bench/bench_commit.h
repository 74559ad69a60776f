/*
 * bench_commit.h — one-offset COMMITs one at a time over one kept
 * connection, each one's latency as the client sees it (cluster_bench,
 * snapshot_bench).
 */
#ifndef RAFTQ_BENCH_COMMIT_H
#define RAFTQ_BENCH_COMMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"

static inline uint64_t bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The value at fraction @q (0..1) of @v (@n > 0, sorted here) in ms. */
static inline double bench_quantile_ms(uint64_t *v, size_t n, double q)
{
	qsort(v, n, sizeof *v, bench_cmp_u64);
	size_t i = (size_t)((double)n * q);
	return (double)v[i < n ? i : n - 1] / 1000.0;
}

struct bench_sync_call {
	struct rpc_call call;
	bool done;
	int status;    /* 0, the transport error, or -1: refused */
	char why[256]; /* the refusal's code and message */
};

static inline void bench_on_commit(struct rpc_call *call, int status,
				   struct rpc_frame *f)
{
	struct bench_sync_call *sc = call->data;
	struct rpc_commit_resp r;
	struct rpc_status st;
	sc->status = status;
	if (status == 0 &&
	    rpc_decode(f, RPC_COMMIT | RPC_RESPONSE, &r, &st, NULL) != 0) {
		sc->status = -1;
		snprintf(sc->why, sizeof sc->why, "answer does not decode");
	} else if (status == 0 && st.code != RPC_OK) {
		sc->status = -1;
		snprintf(sc->why, sizeof sc->why, "%u %s", st.code,
			 st.message ? st.message : "");
	}
	sc->done = true;
}

static inline void bench_on_closed(struct rpc_client *c)
{
	(void)c;
}

/*
 * @n COMMITs of one offset (queue 0 of broker-1 in @topic, for @group,
 * member "m", epoch 0), one at a time over one connection to @addr; each
 * one's microseconds into @lat. Exits 1 on the first failure.
 */
static inline void bench_commit_latencies(const char *addr, const char *group,
					  const char *topic, int n,
					  uint64_t *lat)
{
	struct rpc_commit_item it = {topic, "broker-1", 0, 0, 0};
	struct rpc_commit_req req = {group, "m", {&it, 1}};
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct rpc_client c;
	if (rpc_client_init(&c, &loop, addr, NULL, NULL) != 0) {
		fprintf(stderr, "bench: client init\n");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		struct bench_sync_call sc = {.done = false};
		sc.call.data = &sc;
		it.offset = (uint64_t)i;
		uint64_t t0 = bench_now_us();
		if (rpc_client_request(&c, &sc.call, RPC_COMMIT, &req, 5000,
				       bench_on_commit) != 0) {
			snprintf(sc.why, sizeof sc.why, "not sent");
			sc.status = -1, sc.done = true;
		}
		while (!sc.done)
			uv_run(&loop, UV_RUN_ONCE);
		lat[i] = bench_now_us() - t0;
		if (sc.status != 0) {
			fprintf(stderr, "bench: commit %d failed: %s\n", i,
				sc.status == -1 ? sc.why
						: rpc_strerror(sc.status));
			exit(1);
		}
	}
	rpc_client_close(&c, bench_on_closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
}

#endif
