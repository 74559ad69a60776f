/*
 * http_bench — the HTTP API of a real 3-node cluster (the test harness)
 * against its RPC path, from one client process on the same machine:
 *
 *  1. GET /metrics on one node with G groups x 48 queues of lag series
 *     (each group reset once so it has a position on every queue): one
 *     keep-alive connection, N scrapes one after another — latency p50/p99,
 *     bytes per scrape; then 4 threads with a connection each for S s —
 *     scrapes/s;
 *  2. reset by time of the 48-queue topic on the leader, HTTP (the Huawei
 *     endpoint, one keep-alive connection) and RPC (RESET frames on one
 *     connection) alternately, R of each — p50/p99 of both and the
 *     difference of the medians; then the Huawei endpoint on a follower
 *     (sent on to the leader) — p50/p99.
 *
 *   http_bench [--quick]      (--quick: small sizes, a smoke run)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_args.h"
#include "harness.h"

#define QUEUES 48 /* 3 brokers x 16 */

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void pct(uint64_t *v, size_t n, double *p50, double *p99)
{
	qsort(v, n, sizeof *v, cmp_u64);
	*p50 = (double)v[n / 2] / 1000.0;
	*p99 = (double)v[n * 99 / 100] / 1000.0;
}

static void need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "http_bench: %s\n", what);
		exit(1);
	}
}

static bool read_n(int fd, char *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* One request on keep-alive connection @fd: the status, the body in
 * @body (NUL-terminated; @cap bytes), its length in *len. */
static int http_call(int fd, const char *method, const char *path,
		     const char *json, char *body, size_t cap, size_t *len)
{
	char req[2048]; /* one write: head and body in one segment */
	int k =
	    snprintf(req, sizeof req,
		     "%s %s HTTP/1.1\r\nHost: raftq\r\nContent-Length: "
		     "%zu\r\n\r\n%s",
		     method, path, json ? strlen(json) : 0, json ? json : "");
	need(k > 0 && (size_t)k < sizeof req, "a request too long");
	if (write(fd, req, (size_t)k) != k)
		return -1;
	size_t got = 0;
	char *end = NULL;
	while (end == NULL && got < cap - 1) { /* the head, byte-exact */
		if (read(fd, body + got, 1) != 1)
			return -1;
		body[++got] = '\0';
		end = strstr(body, "\r\n\r\n");
	}
	int status = -1;
	const char *cl = strcasestr(body, "content-length: ");
	if (end == NULL || cl == NULL ||
	    sscanf(body, "HTTP/1.1 %d", &status) != 1)
		return -1;
	*len = strtoul(cl + 16, NULL, 10);
	need(*len < cap, "an answer larger than the buffer");
	if (!read_n(fd, body, *len))
		return -1;
	body[*len] = '\0';
	return status;
}

/* One RPC request on connection @fd: the answer's status code. */
static uint32_t rpc_call(int fd, uint16_t type, const void *req)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	need(rpc_encode(&sb, type, 7, NULL, req, 1u << 24) == 0, "encode");
	need(write(fd, sb.data, sb.size) == (ssize_t)sb.size, "rpc write");
	msgpack_sbuffer_destroy(&sb);
	uint8_t hdr[4];
	need(read_n(fd, (char *)hdr, 4), "rpc read");
	uint32_t n =
	    (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	static char buf[1 << 20];
	need(n + 4 <= sizeof buf && read_n(fd, buf + 4, n), "rpc frame");
	memcpy(buf, hdr, 4);
	struct rpc_reader r;
	struct rpc_frame f;
	rpc_reader_init(&r, 1u << 20);
	need(rpc_reader_feed(&r, buf, n + 4) == 0 &&
		 rpc_reader_next(&r, &f) == 1,
	     "rpc parse");
	struct rpc_reset_resp out;
	struct rpc_status st;
	need(rpc_decode(&f, (uint16_t)(type | RPC_RESPONSE), &out, &st, NULL) ==
		 0,
	     "rpc decode");
	rpc_frame_release(&f);
	rpc_reader_close(&r);
	return st.code;
}

/* ---- Setup ---- */

static int64_t fill_topic(struct harness *h, uint64_t per_broker)
{
	static uint8_t payload[1000 * 100];
	uint8_t body[92];
	memset(body, 'x', sizeof body);
	for (size_t i = 0; i < 1000; i++)
		rpc_record_put(payload + i * 100, NULL, 0, body, sizeof body);
	int64_t mid = 0;
	for (int b = 0; b < 3; b++)
		for (uint64_t k = 0; k < per_broker / 1000; k++) {
			struct rpc_produce_req in = {"big",
						     (uint32_t)(k % 16),
						     1000,
						     0,
						     {payload, sizeof payload},
						     0,
						     0,
						     NULL,
						     RPC_ACKS_ALL};
			struct ctl_resp r;
			h_call(h->nodes[b].listen, RPC_PRODUCE, &in, 10000, &r);
			need(r.err == 0 && r.st.code == RPC_OK, "produce");
			if (b == 1 && k == per_broker / 2000)
				mid = ((struct rpc_produce_resp *)r.body)
					  ->store_time;
			ctl_resp_free(&r);
		}
	return mid;
}

/* Groups g0..g(n-1), each reset once: a position on all 48 queues. */
static void make_groups(const char *leader, int n)
{
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "g%d", i);
		struct rpc_group_create_req g = {
		    name, "clustering", "latest", {NULL, 0}, 0};
		need(h_call_code(leader, RPC_GROUP_CREATE, &g, 10000) == RPC_OK,
		     "group");
		struct rpc_reset_req rr =
		    h_reset_req(name, "big", "earliest", 0);
		need(h_call_code(leader, RPC_RESET, &rr, 10000) == RPC_OK,
		     "reset of a new group");
	}
}

/* ---- 1. /metrics ---- */

struct scraper {
	const char *addr;
	double secs;
	uint64_t done;
};

static void *scrape_loop(void *arg)
{
	struct scraper *s = arg;
	static __thread char body[1 << 22];
	int fd = h_dial(s->addr);
	uint64_t end = now_us() + (uint64_t)(s->secs * 1e6);
	size_t len;
	while (now_us() < end) {
		need(http_call(fd, "GET", "/metrics", NULL, body, sizeof body,
			       &len) == 200,
		     "scrape");
		s->done++;
	}
	close(fd);
	return NULL;
}

static void metrics_bench(const char *addr, int n, double secs, int groups)
{
	static char body[1 << 22];
	uint64_t *lat = calloc((size_t)n, sizeof *lat);
	int fd = h_dial(addr);
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_us();
		need(http_call(fd, "GET", "/metrics", NULL, body, sizeof body,
			       &len) == 200,
		     "GET /metrics");
		lat[i] = now_us() - t0;
	}
	close(fd);
	int series = 0;
	for (const char *p = body;
	     (p = strstr(p, "\nraftq_consumer_group_lag{")); p++)
		series++;
	double p50, p99;
	pct(lat, (size_t)n, &p50, &p99);
	printf("GET /metrics        p50 %6.2f ms  p99 %6.2f ms  (%d scrapes, "
	       "one keep-alive connection; %zu bytes, %d lag series of %d "
	       "groups on this broker)\n",
	       p50, p99, n, len, series, groups);
	struct scraper s[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		s[i] = (struct scraper){addr, secs, 0};
		pthread_create(&th[i], NULL, scrape_loop, &s[i]);
	}
	uint64_t total = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += s[i].done;
	}
	printf("GET /metrics        %8.0f scrapes/s  (4 connections, %.0f s)\n",
	       (double)total / secs, secs);
	free(lat);
}

/* ---- 2. Resets: HTTP and RPC ---- */

static void report(const char *what, uint64_t *lat, int n, double *p50)
{
	double p99;
	pct(lat, (size_t)n, p50, &p99);
	printf("reset %-13s p50 %6.2f ms  p99 %6.2f ms  (%d resets of %d "
	       "queues by time)\n",
	       what, *p50, p99, n, QUEUES);
}

/* One Huawei reset of group "bench" to @ms on connection @fd. */
static void huawei(int fd, int64_t ms)
{
	static char body[1 << 16];
	char json[128];
	size_t len;
	snprintf(json, sizeof json, "{\"topic\":\"big\",\"timestamp\":%lld}",
		 (long long)ms);
	need(http_call(fd, "POST",
		       "/v2/rocketmq/p/instances/raftq/groups/bench/"
		       "reset-message-offset",
		       json, body, sizeof body, &len) == 200,
	     "Huawei reset");
	need(strstr(body, "\"timestamp_offset\"") != NULL, "reset answer");
}

static void reset_bench(struct harness *h, int leader, int64_t mid, int n)
{
	uint64_t *lh = calloc((size_t)n, sizeof *lh);
	uint64_t *lr = calloc((size_t)n, sizeof *lr);
	int hf = h_dial(h->nodes[leader].http);
	int rf = h_dial(h->nodes[leader].listen);
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_us();
		huawei(hf, mid + (i % 2));
		lh[i] = now_us() - t0;
		struct rpc_reset_req in = {.group = "bench",
					   .topic = "big",
					   .target = "time",
					   .value = mid + (i % 2),
					   .requester = "bench"};
		t0 = now_us();
		need(rpc_call(rf, RPC_RESET, &in) == RPC_OK, "RPC reset");
		lr[i] = now_us() - t0;
	}
	double p_http, p_rpc, p_fwd;
	report("HTTP leader", lh, n, &p_http);
	report("RPC leader", lr, n, &p_rpc);
	printf("reset HTTP - RPC    %+.3f ms at the median\n", p_http - p_rpc);
	int ff = h_dial(h->nodes[(leader + 1) % 3].http);
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_us();
		huawei(ff, mid + (i % 2));
		lh[i] = now_us() - t0;
	}
	report("HTTP follower", lh, n, &p_fwd);
	close(hf);
	close(rf);
	close(ff);
	free(lh);
	free(lr);
}

int main(int argc, char **argv)
{
	bool quick = bench_quick(argc, argv, "http_bench");
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct harness *hp = h_fixture(sizeof *hp, 3, false);
	need(hp != NULL, "a 3-node cluster");
	struct harness h = *hp;
	free(hp);
	const char *l = h.nodes[h.leader].listen;
	struct rpc_topic_create_req t = {"big", 16, {NULL, 0}, 1, 0};
	struct rpc_group_create_req g = {
	    "bench", "clustering", "latest", {NULL, 0}, 0};
	need(h_call_code(l, RPC_TOPIC_CREATE, &t, 10000) == RPC_OK, "topic");
	need(h_call_code(l, RPC_GROUP_CREATE, &g, 10000) == RPC_OK, "group");
	usleep(200000);
	uint64_t per = quick ? 20000 : 200000;
	int64_t mid = fill_topic(&h, per);
	int groups = quick ? 5 : 63; /* 63 x 16 queues per broker = 1008 */
	make_groups(l, groups);
	printf("http_bench: 3 raftqd on loopback, %s; topic 'big' of %d "
	       "queues, %llu messages per broker\n",
	       quick ? "quick sizes" : "full sizes", QUEUES,
	       (unsigned long long)per);
	metrics_bench(h.nodes[(h.leader + 1) % 3].http, quick ? 20 : 500,
		      quick ? 1.0 : 5.0, groups + 1);
	reset_bench(&h, h.leader, mid, quick ? 20 : 500);
	h_destroy(&h);
	return 0;
}
