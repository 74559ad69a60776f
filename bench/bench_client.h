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

/* The consumer's assignment without the group's retry topic (whose queues
 * every member of a group with retry also reads): up to @max queues of
 * the topics the bench subscribed to into @out; their number. */
static inline size_t bench_assignment(const struct raftq_consumer *k,
				      struct raftq_queue *out, size_t max)
{
	struct raftq_queue all[128];
	size_t n = raftq_consumer_assignment(k, all, 128), got = 0;
	for (size_t i = 0; i < n && i < 128; i++)
		if (all[i].topic[0] != '%' && got < max)
			out[got++] = all[i];
	return got;
}

#endif
