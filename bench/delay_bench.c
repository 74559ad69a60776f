/*
 * delay_bench — delayed messages on a real 3-node cluster (the test
 * harness; DESIGN.md §2.2): N messages of 100 bytes, each its own PRODUCE
 * (so each is its own schedule entry — the costly case), with due times
 * spread evenly over W seconds starting 5 s (quick) or 65 s (full) after the
 * run begins, sent round-robin over 3 brokers x 4 queues on one connection per
 * broker. Every message's body starts with its due time; once all are due,
 * every queue is read back and each message's lateness is its batch's store
 * time (set at the hand-over) minus its due time: p50, p99, max, and that
 * each was appended exactly once. Also the schedule stores' bytes per
 * pending entry at the end of producing (raftq_scheduled_bytes /
 * raftq_scheduled_pending from each node's /metrics).
 *
 *   delay_bench [--quick]      (full: N = 10^5, W = 600 s; quick: 2,000
 *                               over 5 s)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_args.h"
#include "harness.h"

#define QPB 4
#define BODY 100

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "delay_bench: %s\n", what);
		exit(1);
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Produces message @i, due at @due, to broker @b's queue @q. */
static void produce(const char *addr, uint32_t q, int64_t due)
{
	uint8_t body[BODY], rec[BODY + 16];
	memset(body, 'x', sizeof body);
	memcpy(body, &due, sizeof due);
	size_t len = rpc_record_put(rec, NULL, 0, body, sizeof body);
	struct rpc_produce_req in = {
	    "d", q, 1, 0, {rec, (uint32_t)len}, due, 0, NULL, RPC_ACKS_ALL};
	need(h_call_code(addr, RPC_PRODUCE, &in, 10000) == RPC_OK,
	     "PRODUCE with deliver_at");
}

/* raftq_scheduled_bytes and _pending summed over the nodes. */
static void store_size(struct harness *h, double *bytes, double *pending)
{
	static char text[1 << 20];
	*bytes = *pending = 0;
	for (int i = 0; i < 3; i++) {
		need(h_http(h->nodes[i].http, "GET", "/metrics", NULL, 0, text,
			    sizeof text) == 200,
		     "GET /metrics");
		const char *b = strstr(text, "\nraftq_scheduled_bytes ");
		const char *p = strstr(text, "\nraftq_scheduled_pending ");
		need(b && p, "schedule metrics");
		*bytes += atof(b + 23);
		*pending += atof(p + 25);
	}
}

/* Reads queue @q of broker @b whole; each message's lateness into @late
 * (*n grows). */
static void read_queue(const char *addr, uint32_t q, int64_t *late, size_t *n,
		       size_t cap)
{
	uint64_t off = 0;
	for (;;) {
		struct rpc_fetch_req f = {NULL,	    "d", q,    off, 0,
					  1u << 20, 0,	 NULL, NULL};
		struct ctl_resp r;
		h_call(addr, RPC_FETCH, &f, 10000, &r);
		need(r.err == 0 && r.st.code == RPC_OK, "FETCH");
		const struct rpc_fetch_resp *fr = r.body;
		size_t pos = 0;
		struct rpc_batch b;
		bool any = false;
		while (rpc_batch_next(fr->batches.ptr, fr->batches.len, &pos,
				      &b) == 1) {
			size_t rp = 0;
			struct rpc_record rec;
			int64_t due;
			while (rpc_record_next(b.payload, b.payload_len, &rp,
					       &rec) == 1) {
				need(*n < cap, "more messages than produced");
				memcpy(&due, rec.body, sizeof due);
				late[(*n)++] = b.store_time - due;
			}
			off = b.base_offset + b.count;
			any = true;
		}
		ctl_resp_free(&r);
		if (!any)
			return;
	}
}

static void report(int64_t *late, size_t n, size_t want, double secs)
{
	qsort(late, n, sizeof *late, cmp_i64);
	printf("delivered %zu of %zu scheduled messages (each once: %s)\n", n,
	       want, n == want ? "yes" : "NO");
	printf("lateness (store time - due)  p50 %lld ms  p99 %lld ms  max "
	       "%lld ms  min %lld ms  (%zu messages due over %.0f s)\n",
	       (long long)late[n / 2], (long long)late[n * 99 / 100],
	       (long long)late[n - 1], (long long)late[0], n, secs);
}

int main(int argc, char **argv)
{
	bool quick = bench_quick(argc, argv, "delay_bench");
	setvbuf(stdout, NULL, _IOLBF, 0);
	size_t n = quick ? 2000 : 100000;
	int64_t window = quick ? 5000 : 600000;
	struct harness *hp = h_fixture(sizeof *hp, 3, false);
	need(hp != NULL, "a 3-node cluster");
	struct harness h = *hp;
	free(hp);
	need(h_create_topic(&h, "d", QPB) == 0, "topic");
	usleep(200000);
	int64_t start = wall_ms() + 5000 + (quick ? 0 : 60000);
	printf("delay_bench: %zu messages of %d B due over %.0f s, from %lld "
	       "ms after the produce began\n",
	       n, BODY, (double)window / 1000.0,
	       (long long)(start - wall_ms()));
	int64_t t0 = wall_ms();
	for (size_t i = 0; i < n; i++)
		produce(h.nodes[i % 3].listen, (uint32_t)(i / 3 % QPB),
			start + (int64_t)i * window / (int64_t)n);
	need(wall_ms() < start, "producing took longer than the lead time");
	double bytes, pending;
	store_size(&h, &bytes, &pending);
	printf("produced in %.1f s; schedule stores: %.0f entries, %.0f bytes, "
	       "%.1f bytes per entry (100 B body)\n",
	       (double)(wall_ms() - t0) / 1000.0, pending, bytes,
	       bytes / pending);
	while (wall_ms() < start + window + 1000)
		usleep(100000);
	int64_t *late = calloc(n + 1, sizeof *late);
	size_t got = 0;
	for (int b = 0; b < 3; b++)
		for (uint32_t q = 0; q < QPB; q++)
			read_queue(h.nodes[b].listen, q, late, &got, n + 1);
	report(late, got, n, (double)window / 1000.0);
	free(late);
	h_destroy(&h);
	return got == n ? 0 : 1;
}
