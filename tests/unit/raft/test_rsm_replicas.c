/* Replica state in the rsm (docs/design/replication.md §2-3): placement,
 * fencing and unfencing, ALTER_ISR and its guards, snapshots. */
#include "rsm_helpers.h"

static const char *const B3[] = {"broker-1", "broker-2", "broker-3"};

static int setup(void **state)
{
	struct rsm *s = rsm_new();
	rh_broker(s, 1, "broker-1");
	rh_broker(s, 2, "broker-2");
	rh_broker(s, 3, "broker-3");
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	rsm_free(*state);
	return 0;
}

/* Creates topic @name, 2 queues per broker on B3, factor @rf. */
static const struct rsm_result *topic_rf(struct rsm *s, const char *name,
					 uint32_t rf, uint32_t min)
{
	struct rsm_topic_spec spec = {.name = name,
				      .queues_per_broker = 2,
				      .brokers = B3,
				      .n_brokers = 3,
				      .replication_factor = rf,
				      .min_insync = min,
				      .time = 1000};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_create_topic(&spec, &buf, NULL, 0), 0);
	return rh_apply(s, buf);
}

static int fence(struct rsm *s, const char *name, bool fenced)
{
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_fence_broker(name, fenced, &buf, NULL, 0),
			 0);
	return rh_apply(s, buf)->code;
}

/* "leader epoch version isr-names" of queue @qi of @topic. */
static const char *rep_str(const struct rsm *s, const char *topic, uint32_t qi)
{
	static char out[256];
	const struct rsm_topic *t = rsm_topic_find(s, topic);
	const struct rsm_replicas *r = rsm_queue_replicas(t, qi);
	const char *leader = rsm_queue_leader(t, qi);
	int at =
	    snprintf(out, sizeof out, "%s %llu %llu", leader ? leader : "-",
		     (unsigned long long)r->leader_epoch,
		     (unsigned long long)r->version);
	for (uint32_t i = 0; i < r->n; i++)
		if (r->isr & (1u << i))
			at += snprintf(out + at, sizeof out - (size_t)at, " %s",
				       rsm_replica_broker(t, r, i));
	return out;
}

static void test_placement_spreads_leaders(void **state)
{
	struct rsm *s = *state;
	assert_int_equal(topic_rf(s, "t", 3, 0)->code, RSM_OK);
	const struct rsm_topic *t = rsm_topic_find(s, "t");
	assert_int_equal(t->replication_factor, 3);
	assert_int_equal(t->min_insync, 2);
	/* Queue (broker-2, 1) is index 3: replicas broker-2, -3, -1. */
	const struct rsm_replicas *r = rsm_queue_replicas(t, 3);
	assert_int_equal(r->n, 3);
	assert_string_equal(rsm_replica_broker(t, r, 0), "broker-2");
	assert_string_equal(rsm_replica_broker(t, r, 1), "broker-3");
	assert_string_equal(rsm_replica_broker(t, r, 2), "broker-1");
	for (uint32_t qi = 0; qi < 6; qi++)
		assert_string_equal(rsm_queue_leader(t, qi), B3[qi / 2]);
	assert_string_equal(rep_str(s, "t", 5),
			    "broker-3 1 1 broker-3 broker-1 broker-2");
	assert_true(rsm_replica_in_sync(t, r, "broker-1"));
	assert_int_equal(rsm_replica_index(t, r, "broker-9"), -1);
	/* Factor 2: the home and the next broker. */
	assert_int_equal(topic_rf(s, "u", 2, 1)->code, RSM_OK);
	assert_string_equal(rep_str(s, "u", 4), "broker-3 1 1 broker-3 "
						"broker-1");
	assert_int_equal(rsm_topic_find(s, "u")->min_insync, 1);
}

static void test_bad_factors_are_refused(void **state)
{
	struct rsm *s = *state;
	char err[256];
	struct raft_buffer buf;
	struct rsm_topic_spec spec = {"t", 1, B3, 3, 4, 0, 1000};
	assert_int_equal(rsm_encode_create_topic(&spec, &buf, err, sizeof err),
			 RSM_EINVAL);
	assert_string_equal(err, "replication factor 4: it must be 1..5 and at "
				 "most the topic's 3 brokers");
	spec.replication_factor = 2;
	spec.min_insync = 3;
	assert_int_equal(rsm_encode_create_topic(&spec, &buf, err, sizeof err),
			 RSM_EINVAL);
	assert_string_equal(err, "min in-sync replicas 3: it must be 1..the "
				 "replication factor (2)");
	assert_null(rsm_topic_find(s, "t"));
	/* Without a factor: one copy, led by the home. */
	assert_int_equal(rh_topic(s, "one", 2, B3, 3), RSM_OK);
	const struct rsm_topic *t = rsm_topic_find(s, "one");
	assert_int_equal(t->replication_factor, 1);
	assert_string_equal(rep_str(s, "one", 2), "broker-2 1 1 broker-2");
}

static void test_fencing_moves_leaders_and_isr(void **state)
{
	struct rsm *s = *state;
	assert_int_equal(topic_rf(s, "t", 3, 0)->code, RSM_OK);
	assert_int_equal(fence(s, "broker-1", true), RSM_OK);
	assert_true(rsm_broker_by_name(s, "broker-1")->fenced);
	/* Led by broker-1: the next in-sync replica leads, epoch 2. */
	assert_string_equal(rep_str(s, "t", 0), "broker-2 2 2 broker-2 "
						"broker-3");
	/* Followed by broker-1: out of the set, same leader and epoch. */
	assert_string_equal(rep_str(s, "t", 2), "broker-2 1 2 broker-2 "
						"broker-3");
	assert_int_equal(fence(s, "broker-2", true), RSM_OK);
	assert_string_equal(rep_str(s, "t", 0), "broker-3 3 3 broker-3");
	assert_string_equal(rep_str(s, "t", 2), "broker-3 2 3 broker-3");
	/* The last member stays in the set; the queue goes offline. */
	assert_int_equal(fence(s, "broker-3", true), RSM_OK);
	assert_string_equal(rep_str(s, "t", 0), "- 4 4 broker-3");
	assert_null(rsm_queue_leader(rsm_topic_find(s, "t"), 4));
	/* broker-1 may lack what broker-3 took: it does not lead. */
	assert_int_equal(fence(s, "broker-1", false), RSM_OK);
	assert_string_equal(rep_str(s, "t", 0), "- 4 4 broker-3");
	assert_int_equal(fence(s, "broker-3", false), RSM_OK);
	assert_string_equal(rep_str(s, "t", 0), "broker-3 5 5 broker-3");
	assert_string_equal(rep_str(s, "t", 5), "broker-3 3 5 broker-3");
	assert_int_equal(fence(s, "broker-9", true), RSM_EUNKNOWN_BROKER);
}

static const struct rsm_result *alter(struct rsm *s, uint32_t q, uint64_t epoch,
				      uint64_t version, const char *const *isr,
				      uint32_t n)
{
	struct rsm_alter_isr a = {"t",	   1000, "broker-1", q, epoch,
				  version, isr,	 n,	     77};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_alter_isr(&a, &buf, NULL, 0), 0);
	return rh_apply(s, buf);
}

static void test_alter_isr_guards(void **state)
{
	struct rsm *s = *state;
	assert_int_equal(topic_rf(s, "t", 3, 0)->code, RSM_OK);
	const char *b23[] = {"broker-2", "broker-3"};
	const char *b2[] = {"broker-2"};
	const char *b12[] = {"broker-1", "broker-2"};
	const struct rsm_result *r = alter(s, 0, 1, 1, b23, 2);
	assert_int_equal(r->code, RSM_EINVAL);
	assert_string_equal(r->message, "in-sync set of t/broker-1/0: the "
					"in-sync set must hold the leader");
	r = alter(s, 0, 1, 1, b12, 2);
	assert_int_equal(r->code, RSM_OK);
	assert_string_equal(rep_str(s, "t", 0), "broker-1 1 2 broker-1 "
						"broker-2");
	assert_int_equal(
	    rsm_queue_replicas(rsm_topic_find(s, "t"), 0)->log_start, 77);
	/* The version moved: a request from the old view is refused. */
	r = alter(s, 0, 1, 1, b12, 2);
	assert_int_equal(r->code, RSM_ESTALE_REPLICAS);
	assert_string_equal(r->message, "queue t/broker-1/0 is at leader "
					"epoch 1 version 2, not 1/1");
	/* broker-1 fenced: broker-2 leads; broker-1's old-epoch request is
	 * fenced too. */
	assert_int_equal(fence(s, "broker-1", true), RSM_OK);
	assert_string_equal(rep_str(s, "t", 0), "broker-2 2 3 broker-2");
	assert_int_equal(alter(s, 0, 1, 2, b12, 2)->code, RSM_ESTALE_REPLICAS);
	const char *b123[] = {"broker-2", "broker-3", "broker-1"};
	r = alter(s, 0, 2, 3, b123, 3);
	assert_int_equal(r->code, RSM_EINVAL);
	assert_string_equal(r->message,
			    "in-sync set of t/broker-1/0: a fenced broker "
			    "cannot join the in-sync set");
	assert_int_equal(alter(s, 0, 2, 3, b2, 1)->code, RSM_OK);
	assert_int_equal(fence(s, "broker-1", false), RSM_OK);
	/* The home back in sync leads again (epoch 3). */
	assert_int_equal(alter(s, 0, 2, 4, b123, 3)->code, RSM_OK);
	assert_string_equal(rep_str(s, "t", 0), "broker-1 3 5 broker-1 "
						"broker-2 broker-3");
	const char *bad[] = {"broker-1", "broker-1"};
	r = alter(s, 0, 3, 5, bad, 2);
	assert_string_equal(r->message,
			    "in-sync set of t/broker-1/0: a member is listed "
			    "twice");
	r = alter(s, 9, 3, 5, b12, 2);
	assert_int_equal(r->code, RSM_EUNKNOWN_QUEUE);
}

static void test_replicas_survive_a_snapshot(void **state)
{
	struct rsm *s = *state;
	assert_int_equal(topic_rf(s, "t", 3, 0)->code, RSM_OK);
	assert_int_equal(rh_topic(s, "one", 1, B3, 3), RSM_OK);
	assert_int_equal(fence(s, "broker-2", true), RSM_OK);
	void *snap;
	size_t len;
	assert_int_equal(rsm_snapshot(s, &snap, &len), 0);
	struct rsm *t = rsm_new();
	char err[256];
	assert_int_equal(rsm_restore(t, snap, len, err, sizeof err), 0);
	free(snap);
	assert_int_equal(rsm_digest(t), rsm_digest(s));
	assert_true(rsm_broker_by_name(t, "broker-2")->fenced);
	assert_false(rsm_broker_by_name(t, "broker-1")->fenced);
	for (uint32_t qi = 0; qi < 6; qi++) {
		char want[256];
		snprintf(want, sizeof want, "%s", rep_str(s, "t", qi));
		assert_string_equal(rep_str(t, "t", qi), want);
	}
	assert_string_equal(rep_str(t, "t", 2), "broker-3 2 2 broker-3 "
						"broker-1");
	assert_int_equal(rsm_topic_find(t, "t")->min_insync, 2);
	/* Fencing leaves a queue of one copy as it is: there is nowhere to
	 * move it, and offline it would stay unavailable after its broker is
	 * back until the unfencing (test_client caught that window). */
	assert_string_equal(rep_str(t, "one", 1), "broker-2 1 1 broker-2");
	rsm_free(t);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_placement_spreads_leaders),
	    T(test_bad_factors_are_refused),
	    T(test_fencing_moves_leaders_and_isr),
	    T(test_alter_isr_guards),
	    T(test_replicas_survive_a_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
