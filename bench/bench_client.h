/*
 * bench_client.h — what client_bench.c and poll.c share: a monotonic
 * clock, a fatal check, and a libraftq client on the cluster.
 */
#ifndef RAFTQ_BENCH_CLIENT_H
#define RAFTQ_BENCH_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "raftq.h"

static inline uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* Exits with "client_bench: @what" unless @ok. */
static inline void need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "client_bench: %s\n", what);
		exit(1);
	}
}

/* A client of @bootstrap named @id, 5 s request timeout. */
static inline struct raftq_client *client(const char *bootstrap, const char *id)
{
	struct raftq_client *c;
	char err[256];
	struct raftq_config cfg = {.bootstrap = bootstrap,
				   .client_id = id,
				   .request_timeout_ms = 5000};
	need(raftq_client_new(&cfg, &c, err, sizeof err) == 0, err);
	return c;
}

#endif
