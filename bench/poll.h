/*
 * poll.h — client_bench's long-polling measurements (bench/poll.c).
 */
#ifndef RAFTQ_BENCH_POLL_H
#define RAFTQ_BENCH_POLL_H

#include "harness.h"

/* Topic "idle" (3 brokers x 2 queues), groups "idle" and "latency". */
void poll_setup(struct harness *h);
/* FETCH requests per second per broker of one idle consumer, and the
 * CPU the nodes used meanwhile. */
void poll_idle_rate(const struct harness *h, const char *bootstrap,
		    int seconds);
/* Produce -> deliver latency of @n messages sent one per 10 ms. */
void poll_latency(const char *bootstrap, int n);

#endif
