/*
 * poll.c — client_bench's long-polling figures (FETCH max_wait_ms), on
 * its 3-node cluster (topic "idle": 3 brokers x 2 queues; groups "idle"
 * and "latency", made by poll_setup):
 *
 *  1. idle fetch rate: one consumer of a topic of 3 brokers x 2 queues
 *     that receives nothing. After it has its 6 queues, FETCH requests
 *     are counted (raftq_consumer_fetches) for IDLE seconds; printed as
 *     requests per second per broker.
 *  2. produce -> deliver latency at low load: a producer thread sends one
 *     100-byte message every 10 ms (raftq_produce then
 *     raftq_producer_flush: no linger), the body carrying the time of
 *     the raftq_produce call; the consumer (main thread) notes the time
 *     each message comes out of raftq_consume. N messages; p50, p99, max.
 *
 * Run against a raftqd without long polling, the same client falls back
 * to asking at once with a 1..20 ms pause: that is the "before" figure.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_client.h"
#include "harness.h"
#include "poll.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Runs @k until it has all 6 queues (joined, positions known). */
static void settle(struct raftq_consumer *k);

/* A member of @group (client id the same) on topic "idle", settled; the
 * client in *c. */
static struct raftq_consumer *joined(const char *bootstrap, const char *group,
				     struct raftq_client **c)
{
	*c = client(bootstrap, group);
	const char *topics[] = {"idle"};
	struct raftq_consumer_config kc = {
	    .group = group, .topics = topics, .n_topics = 1};
	struct raftq_consumer *k;
	need(raftq_consumer_new(*c, &kc, &k) == 0, raftq_client_errmsg(*c));
	settle(k);
	return k;
}

static void settle(struct raftq_consumer *k)
{
	struct raftq_message m[16];
	struct raftq_queue qs[8];
	uint64_t end = now_us() + 15000000u;
	while (now_us() < end) {
		need(raftq_consume(k, m, 16, 100) >= 0, "consume");
		size_t n = bench_assignment(k, qs, 8);
		bool known = n == 6;
		for (size_t i = 0; i < n && i < 8; i++)
			known = known && qs[i].position != UINT64_MAX;
		if (known)
			return;
	}
	need(false, "the consumer did not get its 6 queues");
}

/* CPU time (user + system, ms) the cluster's nodes used so far. */
static double nodes_cpu_ms(const struct harness *h)
{
	double ms = 0;
	long hz = sysconf(_SC_CLK_TCK);
	for (int i = 0; i < h->n; i++) {
		char path[64], buf[1024];
		snprintf(path, sizeof path, "/proc/%d/stat",
			 (int)h->nodes[i].pid);
		FILE *f = fopen(path, "r");
		size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[len] = '\0';
		/* Fields 14 and 15 (utime, stime) follow the ")" of the name.
		 */
		const char *p = strrchr(buf, ')');
		unsigned long ut = 0, st = 0;
		need(p != NULL && sscanf(p + 2,
					 "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
					 "%*u %*u %lu %lu",
					 &ut, &st) == 2,
		     "a node's /proc/PID/stat");
		ms += (double)(ut + st) * 1000.0 / (double)hz;
	}
	return ms;
}

void poll_idle_rate(const struct harness *h, const char *bootstrap, int seconds)
{
	struct raftq_client *c;
	struct raftq_consumer *k = joined(bootstrap, "idle", &c);
	uint64_t f0 = raftq_consumer_fetches(k), t0 = now_us();
	double cpu0 = nodes_cpu_ms(h);
	struct raftq_message m[16];
	while (now_us() - t0 < (uint64_t)seconds * 1000000u)
		need(raftq_consume(k, m, 16, 100) == 0, "an idle topic");
	double secs = (double)(now_us() - t0) / 1e6;
	uint64_t f = raftq_consumer_fetches(k) - f0;
	double cpu = nodes_cpu_ms(h) - cpu0;
	printf("idle consumer, 3 brokers x 2 queues, %.1f s: %llu FETCH "
	       "requests, %.2f per second per broker; the 3 nodes used %.0f "
	       "ms CPU (%.1f%% of one core)\n",
	       secs, (unsigned long long)f, (double)f / secs / 3, cpu,
	       cpu / (secs * 10));
	raftq_consumer_close(k, 5000);
	raftq_client_free(c);
}

struct sender {
	pthread_t th;
	const char *bootstrap;
	int n;
	atomic_int failed;
};

/* One message every 10 ms, each flushed at once; the body is the time. */
static void *send_run(void *arg)
{
	struct sender *s = arg;
	struct raftq_client *c = client(s->bootstrap, "latency-producer");
	struct raftq_producer_config pc = {.topic = "idle"};
	struct raftq_producer *p;
	need(raftq_producer_new(c, &pc, &p) == 0, raftq_client_errmsg(c));
	for (int i = 0; i < s->n; i++) {
		char body[100] = {0};
		uint64_t t = now_us();
		memcpy(body, &t, sizeof t);
		if (raftq_produce(p, NULL, 0, body, sizeof body, NULL) != 0 ||
		    raftq_producer_flush(p, 5000) != 0)
			s->failed++;
		usleep(10000); /* bounded: n rounds */
	}
	raftq_producer_close(p, 1000);
	raftq_client_free(c);
	return NULL;
}

void poll_latency(const char *bootstrap, int n)
{
	struct raftq_client *c;
	struct raftq_consumer *k = joined(bootstrap, "latency", &c);
	uint64_t *lat = calloc((size_t)n, sizeof *lat);
	need(lat != NULL, "out of memory");
	struct sender s = {.bootstrap = bootstrap, .n = n};
	need(pthread_create(&s.th, NULL, send_run, &s) == 0, "thread");
	struct raftq_message m[16];
	int got = 0;
	uint64_t end = now_us() + (uint64_t)n * 10000u + 30000000u;
	while (got < n && now_us() < end) {
		int r = raftq_consume(k, m, 16, 100);
		need(r >= 0, raftq_client_errmsg(c));
		uint64_t now = now_us();
		for (int i = 0; i < r && got < n; i++) {
			uint64_t t;
			need(m[i].body_len == 100, "a 100-byte body");
			memcpy(&t, m[i].body, sizeof t);
			lat[got++] = now - t;
		}
	}
	pthread_join(s.th, NULL);
	need(got == n && s.failed == 0, "every message delivered");
	qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
	printf("produce -> deliver, 1 message per 10 ms, %d messages: p50 "
	       "%.2f ms, p99 %.2f ms, max %.2f ms\n",
	       n, (double)lat[n / 2] / 1e3, (double)lat[n * 99 / 100] / 1e3,
	       (double)lat[n - 1] / 1e3);
	free(lat);
	raftq_consumer_close(k, 5000);
	raftq_client_free(c);
}

void poll_setup(struct harness *h)
{
	need(h_create_topic(h, "idle", 2) == 0, "topic idle");
	need(h_create_group(h, "idle", NULL, NULL) == 0, "group idle");
	need(h_create_group(h, "latency", NULL, NULL) == 0, "group latency");
}
