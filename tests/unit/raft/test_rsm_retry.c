/* Groups with retry (DESIGN.md §2.2): their %RETRY% and %DLQ% topics come
 * and go with them, names starting with % are reserved, settings survive
 * snapshots, the ladder's steps. */
#include "rsm_helpers.h"

static int setup(void **state)
{
	struct rsm *s = rsm_new();
	*state = s;
	if (s == NULL)
		return 1;
	rh_standard(s); /* orders: 2 queues on broker-1..3; group g */
	return 0;
}

static int teardown(void **state)
{
	rsm_free(*state);
	return 0;
}

static const char *const three[] = {"broker-3", "broker-1", "broker-2"};

static struct rsm_retry ladder(uint32_t max, uint32_t n, uint32_t first)
{
	struct rsm_retry r;
	memset(&r, 0, sizeof r);
	r.max_reconsume_times = max;
	r.n_delays = n;
	for (uint32_t i = 0; i < n; i++)
		r.delays_ms[i] = first * (i + 1);
	return r;
}

static const struct rsm_result *retry_group(struct rsm *s, const char *name,
					    int64_t time,
					    const struct rsm_retry *r)
{
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_create_group(name, RSM_CLUSTERING,
						 RSM_INITIAL_LATEST, time, r,
						 three, 3, &buf, NULL, 0),
			 0);
	return rh_apply(s, buf);
}

static void test_retry_group_has_its_topics(void **state)
{
	struct rsm *s = *state;
	struct rsm_retry r = ladder(3, 2, 100);
	assert_int_equal(retry_group(s, "pay", 5000, &r)->code, RSM_OK);
	const char *names[] = {"%RETRY%pay", "%DLQ%pay"};
	for (int i = 0; i < 2; i++) {
		const struct rsm_topic *t = rsm_topic_find(s, names[i]);
		assert_non_null(t);
		assert_int_equal(t->queues_per_broker, 1);
		assert_int_equal(t->n_brokers, 3);
		assert_string_equal(t->brokers[0], "broker-1");
		assert_string_equal(t->brokers[2], "broker-3");
		assert_int_equal(t->created, 5000);
		assert_string_equal(rsm_internal_group(names[i]), "pay");
	}
	const struct rsm_group *g = rsm_group_find(s, "pay");
	assert_int_equal(g->retry.max_reconsume_times, 3);
	assert_int_equal(g->retry.n_delays, 2);
	assert_int_equal(rsm_retry_delay(&g->retry, 1), 100);
	assert_int_equal(rsm_retry_delay(&g->retry, 2), 200);
	assert_int_equal(rsm_retry_delay(&g->retry, 7), 200); /* last step */
	/* A group without retry (the old form) has neither. */
	assert_int_equal(rsm_group_find(s, "g")->retry.n_delays, 0);
	assert_null(rsm_topic_find(s, "%RETRY%g"));
	/* Commits on the retry topic are ordinary offsets. */
	assert_int_equal(rh_commit(s, "pay", "%RETRY%pay", "broker-2", 0, 4, 0),
			 RSM_OK);
	assert_int_equal(rh_offset(s, "pay", "%RETRY%pay", "broker-2", 0), 4);
}

static void test_delete_group_removes_its_topics(void **state)
{
	struct rsm *s = *state;
	struct rsm_retry r = ladder(3, 2, 100);
	assert_int_equal(retry_group(s, "pay", 5000, &r)->code, RSM_OK);
	struct raft_buffer buf;
	/* Not deletable on their own while the group is there. */
	assert_int_equal(rsm_encode_delete_topic("%DLQ%pay", &buf, NULL, 0), 0);
	const struct rsm_result *res = rh_apply(s, buf);
	assert_int_equal(res->code, RSM_EINVAL);
	assert_string_equal(res->message,
			    "topic '%DLQ%pay' belongs to group 'pay': it goes "
			    "when the group is deleted");
	assert_int_equal(rsm_encode_delete_group("pay", &buf, NULL, 0), 0);
	res = rh_apply(s, buf);
	assert_int_equal(res->code, RSM_OK);
	assert_string_equal(res->deleted_topic, "%RETRY%pay");
	assert_string_equal(res->deleted_dlq, "%DLQ%pay");
	assert_int_equal(res->deleted_created, 5000);
	assert_null(rsm_topic_find(s, "%RETRY%pay"));
	assert_null(rsm_topic_find(s, "%DLQ%pay"));
	assert_int_equal(rsm_topic_clock(s), 5000);
	/* Created again later: new incarnations. */
	assert_int_equal(retry_group(s, "pay", 4000, &r)->code, RSM_EINVAL);
	assert_int_equal(retry_group(s, "pay", 6000, &r)->code, RSM_OK);
	assert_int_equal(rsm_topic_find(s, "%DLQ%pay")->created, 6000);
	/* Deleting a group without retry names no topic. */
	assert_int_equal(rsm_encode_delete_group("g", &buf, NULL, 0), 0);
	res = rh_apply(s, buf);
	assert_int_equal(res->code, RSM_OK);
	assert_string_equal(res->deleted_topic, "");
	assert_string_equal(res->deleted_dlq, "");
}

static void test_reserved_names(void **state)
{
	struct rsm *s = *state;
	struct raft_buffer buf;
	char err[256];
	const char *b[] = {"broker-1"};
	assert_int_equal(
	    rsm_encode_create_topic(
		&(struct rsm_topic_spec){"%RETRY%g", 1, b, 1, 0, 0, 1}, &buf,
		err, sizeof err),
	    RSM_EINVAL);
	assert_string_equal(err, "topic name '%RETRY%g': names starting with "
				 "% are reserved for retry and dead-letter "
				 "topics");
	assert_int_equal(
	    rsm_encode_create_group("%x", RSM_CLUSTERING, RSM_INITIAL_LATEST, 1,
				    NULL, NULL, 0, &buf, err, sizeof err),
	    RSM_EINVAL);
	assert_string_equal(err, "group name '%x': names starting with % are "
				 "reserved for retry and dead-letter topics");
	assert_true(rsm_name_valid("%RETRY%g"));
	assert_true(rsm_name_valid("%DLQ%g"));
	assert_false(rsm_name_valid("%OTHER%g"));
	assert_false(rsm_name_valid("%RETRY%"));
	assert_false(rsm_name_user_valid("%DLQ%g"));
	assert_null(rsm_internal_group("orders"));
	/* A group with retry: its name leaves room for "%RETRY%". */
	char name[RSM_NAME_MAX + 1];
	memset(name, 'a', 121);
	name[121] = '\0';
	struct rsm_retry r = ladder(2, 1, 10);
	assert_int_equal(
	    rsm_encode_create_group(name, RSM_CLUSTERING, RSM_INITIAL_LATEST, 1,
				    &r, three, 3, &buf, err, sizeof err),
	    RSM_EINVAL);
	assert_string_equal(err, "group name of 121 characters: at most 120 "
				 "for a group with retry (its topic %RETRY%G)");
	name[120] = '\0';
	assert_int_equal(retry_group(s, name, 3000, &r)->code, RSM_OK);
	/* Broadcasting groups have no retry; bad ladders are refused. */
	assert_int_equal(
	    rsm_encode_create_group("b", RSM_BROADCASTING, RSM_INITIAL_LATEST,
				    1, &r, three, 3, &buf, err, sizeof err),
	    RSM_EINVAL);
	assert_string_equal(err,
			    "retry settings are for clustering groups only");
	r.delays_ms[0] = 0;
	assert_int_equal(
	    rsm_encode_create_group("z", RSM_CLUSTERING, RSM_INITIAL_LATEST, 1,
				    &r, three, 3, &buf, err, sizeof err),
	    RSM_EINVAL);
	assert_string_equal(err, "retry delay 1 of 0 ms: each 1 ms to a day");
	/* The retry topics' brokers must be registered ones. */
	r = ladder(2, 1, 10);
	const char *gone[] = {"broker-1", "broker-9"};
	assert_int_equal(rsm_encode_create_group("y", RSM_CLUSTERING,
						 RSM_INITIAL_LATEST, 4000, &r,
						 gone, 2, &buf, NULL, 0),
			 0);
	const struct rsm_result *res = rh_apply(s, buf);
	assert_int_equal(res->code, RSM_EINVAL);
	assert_string_equal(res->message, "group 'y': a broker of its retry "
					  "topics is unknown");
	assert_null(rsm_group_find(s, "y"));
	assert_null(rsm_topic_find(s, "%RETRY%y"));
}

static void test_retry_settings_survive_a_snapshot(void **state)
{
	struct rsm *s = *state;
	struct rsm_retry r = ladder(16, 18, 1000);
	assert_int_equal(retry_group(s, "pay", 5000, &r)->code, RSM_OK);
	void *snap;
	size_t len;
	assert_int_equal(rsm_snapshot(s, &snap, &len), 0);
	struct rsm *t = rsm_new();
	char err[256];
	assert_int_equal(rsm_restore(t, snap, len, err, sizeof err), 0);
	free(snap);
	assert_int_equal(rsm_digest(t), rsm_digest(s));
	const struct rsm_group *g = rsm_group_find(t, "pay");
	assert_int_equal(g->retry.max_reconsume_times, 16);
	assert_int_equal(g->retry.n_delays, 18);
	assert_int_equal(g->retry.delays_ms[17], 18000);
	assert_non_null(rsm_topic_find(t, "%DLQ%pay"));
	assert_int_equal(rsm_group_find(t, "g")->retry.n_delays, 0);
	rsm_free(t);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_retry_group_has_its_topics),
	    T(test_delete_group_removes_its_topics),
	    T(test_reserved_names),
	    T(test_retry_settings_survive_a_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
