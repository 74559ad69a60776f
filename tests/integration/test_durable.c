/*
 * flush = sync with group commit (issue 16, docs/design/storage.md): a
 * produce is answered only once a sync on the node's I/O thread covers its
 * batch; concurrent producers share syncs; every acknowledged batch is
 * where it was acknowledged after kill -9, for one-copy queues (acks =
 * leader) and a three-copy one (acks = all) alike.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test_util.h"
#include "harness.h"

#define THREADS 4
#define PER_THREAD 50

static int setup(void **state)
{
	struct harness *h = calloc(1, sizeof *h);
	if (h == NULL || h_init(h, 3) != 0 || h_set_flush(h, "sync") != 0)
		return -1;
	*state = h;
	return h_start_all(h);
}

struct producer {
	struct harness *h;
	int k; /* which thread */
	uint64_t base[PER_THREAD];
	uint32_t code[PER_THREAD];
};

/* Thread @k: queues d/broker-1/(k % 2) (acks=leader) for even batches,
 * r/broker-1/0 (acks=all) for odd ones; seed k * PER_THREAD + i
 * (h_records repeats every 1280 seeds). */
static void *produce(void *arg)
{
	struct producer *p = arg;
	const char *addr = p->h->nodes[0].listen;
	for (uint32_t i = 0; i < PER_THREAD; i++) {
		uint8_t buf[64];
		bool all = i % 2 == 1;
		struct rpc_produce_req in = {
		    all ? "r" : "d",
		    all ? 0 : (uint32_t)p->k % 2,
		    3,
		    0,
		    {buf, h_records(buf, 3, (uint32_t)p->k * PER_THREAD + i)},
		    0,
		    0,
		    "broker-1",
		    all ? RPC_ACKS_ALL : RPC_ACKS_LEADER};
		struct ctl_resp r;
		h_call(addr, RPC_PRODUCE, &in, 10000, &r);
		p->code[i] = r.err ? 1000 : r.st.code;
		if (p->code[i] != RPC_OK)
			print_message("produce %d/%u: %s\n", p->k, i,
				      r.st.message ? r.st.message
						   : "transport error");
		if (r.err == 0 && r.st.code == RPC_OK)
			p->base[i] = ((const struct rpc_produce_resp *)r.body)
					 ->base_offset;
		ctl_resp_free(&r);
	}
	return NULL;
}

/* The batches of queue @topic/broker-1/@qid read at @addr: each 3
 * records long, starting at 0, 3, 6, ...; their seeds (from the payload)
 * into @seeds; how many. */
static int read_queue(const char *addr, const char *topic, uint32_t qid,
		      uint32_t *seeds, int cap)
{
	struct rpc_fetch_req fr = {NULL,     topic, qid,  0,	     0,
				   1u << 20, 0,	    NULL, "broker-1"};
	struct ctl_resp r;
	h_call(addr, RPC_FETCH, &fr, 5000, &r);
	assert_int_equal(r.err, 0);
	if (r.st.code != RPC_OK)
		fail_msg("fetch %s/%u: %s", topic, qid, r.st.message);
	const struct rpc_fetch_resp *f = r.body;
	size_t pos = 0;
	struct rpc_batch bt;
	int k = 0;
	while (rpc_batch_next(f->batches.ptr, f->batches.len, &pos, &bt) == 1) {
		assert_true(k < cap);
		assert_int_equal(bt.base_offset, (uint64_t)k * 3);
		for (uint32_t s = 0; s < THREADS * PER_THREAD; s++) {
			uint8_t want[64];
			uint32_t len = h_records(want, 3, s);
			if (len == bt.payload_len &&
			    memcmp(want, bt.payload, len) == 0) {
				seeds[k] = s;
				break;
			}
			assert_true(s + 1 < THREADS * PER_THREAD); /* found */
		}
		k++;
	}
	assert_int_equal(f->max_offset, (uint64_t)k * 3);
	ctl_resp_free(&r);
	return k;
}

/* Every acknowledged batch of @p is in the queue it went to, at the
 * offset its answer gave. */
static void check_all(struct harness *h, struct producer *p)
{
	static uint32_t seeds[3][THREADS * PER_THREAD];
	int got[3];
	got[0] = read_queue(h->nodes[0].listen, "d", 0, seeds[0],
			    THREADS * PER_THREAD);
	got[1] = read_queue(h->nodes[0].listen, "d", 1, seeds[1],
			    THREADS * PER_THREAD);
	got[2] = read_queue(h->nodes[0].listen, "r", 0, seeds[2],
			    THREADS * PER_THREAD);
	for (int k = 0; k < THREADS; k++)
		for (uint32_t i = 0; i < PER_THREAD; i++) {
			int q = i % 2 == 1 ? 2 : k % 2;
			uint64_t at = p[k].base[i] / 3;
			assert_int_equal(p[k].code[i], RPC_OK);
			assert_true((int)at < got[q]);
			assert_int_equal(seeds[q][at],
					 (uint32_t)k * PER_THREAD + i);
		}
	/* Nothing but the acknowledged batches: 2 threads × 25 each. */
	assert_int_equal(got[0], 50);
	assert_int_equal(got[1], 50);
	assert_int_equal(got[2], 100);
}

static void test_durable_produce_survives_kill(void **state)
{
	struct harness *h = *state;
	assert_int_equal(h_create_topic_rf(h, "d", 2, 1), 0);
	assert_int_equal(h_create_topic_rf(h, "r", 1, 3), 0);
	assert_int_equal(h_wait_homes_lead(h, "r", 15000), 0);
	struct producer p[THREADS];
	pthread_t th[THREADS];
	for (int k = 0; k < THREADS; k++) {
		p[k] = (struct producer){.h = h, .k = k};
		assert_int_equal(pthread_create(&th[k], NULL, produce, &p[k]),
				 0);
	}
	for (int k = 0; k < THREADS; k++)
		pthread_join(th[k], NULL);
	check_all(h, p);
	/* Every produced batch went through the I/O thread, and the
	 * syncs were no more than the batches. */
	long long appends =
	    (long long)h_metric(h, 0, "raftq_storage_group_appends_total");
	long long syncs =
	    (long long)h_metric(h, 0, "raftq_storage_group_syncs_total");
	print_message("%lld batches, %lld syncs on the I/O thread\n", appends,
		      syncs);
	assert_int_equal(appends, THREADS * PER_THREAD);
	assert_true(syncs >= 1 && syncs <= appends);
	/* kill -9: what was acknowledged was synced. */
	h_kill(h, 0);
	assert_int_equal(h_start(h, 0), 0);
	h->leader = h_wait_leader(h, 3, 15000);
	assert_true(h->leader >= 0);
	assert_int_equal(h_wait_homes_lead(h, "r", 15000), 0);
	check_all(h, p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_durable_produce_survives_kill,
					    setup, h_teardown),
	};
	return cmocka_run_group_tests_name("integration/durable", tests, NULL,
					   NULL);
}
