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
#include <string.h>
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

struct bench_tally {
	uint64_t ok, failed;
};

static inline void bench_on_delivery(void *arg, const struct raftq_delivery *d)
{
	struct bench_tally *t = arg;
	if (d->err == 0)
		t->ok++;
	else if (t->failed++ == 0)
		fprintf(stderr, "bench: first failed delivery: %s\n",
			raftq_strerror(d->err));
}

/*
 * One producer, @n keyless messages of 100 bytes (JSON-like text with
 * counters, as an event would be) to @topic with @lz4 and @acks, the
 * library's defaults otherwise; the clock runs from the first
 * raftq_produce to the last delivery report. Exits unless every message
 * was stored. Messages per second.
 */
static inline double bench_produce(const char *bootstrap, const char *topic,
				   uint64_t n, bool lz4, enum raftq_acks acks)
{
	struct raftq_client *c = client(bootstrap, "bench-producer");
	struct bench_tally t = {0, 0};
	struct raftq_producer_config pc = {.topic = topic,
					   .lz4 = lz4,
					   .on_delivery = bench_on_delivery,
					   .arg = &t,
					   .acks = acks};
	struct raftq_producer *p;
	need(raftq_producer_new(c, &pc, &p) == 0, raftq_client_errmsg(c));
	char body[101];
	uint64_t t0 = now_us();
	for (uint64_t i = 0; i < n; i++) {
		int len = snprintf(
		    body, sizeof body,
		    "{\"event\":\"order-created\",\"id\":%012llu,"
		    "\"shop\":\"shop-%03llu\",\"amount\":%6llu}",
		    (unsigned long long)i, (unsigned long long)(i % 977),
		    (unsigned long long)(i * 7919 % 1000000));
		memset(body + len, ' ', 100 - (size_t)len);
		int rv;
		while ((rv = raftq_produce(p, NULL, 0, body, 100, NULL)) ==
		       RAFTQ_EFULL)
			raftq_poll(c, 1);
		need(rv == 0, raftq_client_errmsg(c));
		if (i % 4096 == 0)
			raftq_poll(c, 0);
	}
	need(raftq_producer_flush(p, 60000) == 0, "flush timed out");
	double secs = (double)(now_us() - t0) / 1e6;
	if (t.ok != n || t.failed != 0)
		fprintf(stderr, "bench: %s\n", raftq_client_errmsg(c));
	need(t.ok == n && t.failed == 0, "some messages were not stored");
	raftq_producer_close(p, 1000);
	raftq_client_free(c);
	return (double)n / secs;
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
