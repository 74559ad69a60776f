/*
 * Retry and dead letters on a real 3-node cluster (issue 13, DESIGN.md
 * §2.2), driven through raftqctl as an operator would: a nacked message
 * comes back from the group's retry topic after the ladder's delay with
 * reconsume_times 1, 2, ...; past max_reconsume_times it is a dead letter
 * and no longer delivered; a reset to the latest moves the topic's queues
 * exactly as without retries, and the retry and scheduled messages are
 * still delivered afterwards.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_fixture.h"

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sum of topic @t's max offsets (the messages it ever held). */
static int64_t messages(struct fx *x, const char *t)
{
	char args[200];
	snprintf(args, sizeof args, "--json topic describe %s", t);
	ctl_ok(x, args);
	json_t *j = json_loads(x->out, 0, NULL);
	assert_non_null(j);
	int64_t sum = 0;
	size_t i;
	json_t *q;
	json_array_foreach(json_object_get(j, "queues"), i, q) sum +=
	    json_integer_value(json_object_get(q, "max_offset"));
	json_decref(j);
	return sum;
}

/* The broker of topic @t's one queue that holds a message. */
static void holder(struct fx *x, const char *t, char *out, size_t len)
{
	char args[200];
	snprintf(args, sizeof args, "--json topic describe %s", t);
	ctl_ok(x, args);
	json_t *j = json_loads(x->out, 0, NULL);
	size_t i;
	json_t *q;
	out[0] = '\0';
	json_array_foreach(
	    json_object_get(j, "queues"), i,
	    q) if (json_integer_value(json_object_get(q, "max_offset")) == 1)
	    snprintf(out, len, "%s",
		     json_string_value(json_object_get(q, "broker_name")));
	json_decref(j);
	assert_true(out[0] != '\0');
}

/* The one message of raftqctl's --json consume output in x->out. */
static json_t *one_message(struct fx *x)
{
	json_error_t e;
	json_t *m = json_loads(x->out, 0, &e);
	if (m == NULL)
		fail_msg("consume printed '%s': %s", x->out, e.text);
	return m;
}

static int64_t get_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *get_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* Consumes one message with --nack; checks its count and origin; its
 * store time. */
static int64_t nack_once(struct fx *x, uint32_t times, const char *broker)
{
	assert_int_equal(ctl(x, NULL,
			     "--json consume --group g --topic t --count 1 "
			     "--nack --timeout 5000"),
			 0);
	json_t *m = one_message(x);
	assert_string_equal(get_str(m, "body"), "m1");
	assert_int_equal(get_int(m, "reconsume_times"), times);
	if (times > 0) {
		json_t *o = json_object_get(m, "origin");
		assert_string_equal(get_str(m, "topic"), "%RETRY%g");
		assert_string_equal(get_str(m, "broker_name"), broker);
		assert_int_equal(get_int(m, "queue_id"), 0);
		assert_int_equal(get_int(m, "offset"), times - 1);
		assert_string_equal(get_str(o, "topic"), "t");
		assert_string_equal(get_str(o, "broker_name"), broker);
		assert_int_equal(get_int(o, "queue_id"), 0);
		assert_int_equal(get_int(o, "offset"), 0);
	} else {
		assert_null(json_object_get(m, "origin"));
	}
	int64_t stored = get_int(m, "store_time");
	json_decref(m);
	return stored;
}

/* group describe g says @retry messages wait for a retry and @dlq dead
 * letters are not handled. */
/* Sum over the nodes' /metrics of the samples of @family for group g. */
static int64_t metric_sum(struct fx *x, const char *family)
{
	static char text[1 << 17];
	char prefix[128];
	int64_t sum = 0;
	snprintf(prefix, sizeof prefix, "\n%s{group=\"g\",", family);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(h_http(x->h.nodes[i].http, "GET", "/metrics",
					NULL, 0, text, sizeof text),
				 200);
		for (const char *p = strstr(text, prefix); p != NULL;
		     p = strstr(p + 1, prefix))
			sum += atoll(strchr(p, '}') + 2);
	}
	return sum;
}

static void backlog_is(struct fx *x, int64_t retry, int64_t dlq)
{
	assert_int_equal(metric_sum(x, "raftq_retry_pending"), retry);
	assert_int_equal(metric_sum(x, "raftq_dlq_messages"), dlq);
	ctl_ok(x, "--json group describe g");
	json_t *j = json_loads(x->out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(get_int(j, "retry_pending"), retry);
	assert_int_equal(get_int(j, "dlq"), dlq);
	assert_int_equal(json_array_size(json_object_get(j, "topics")), 1);
	json_decref(j);
}

/* dlq list shows the dead letter; resend puts it back in its queue, where
 * the group reads it again; then the list is empty. */
static void dead_letter_handling(struct fx *x, const char *broker)
{
	ctl_ok(x, "--json dlq list --group g");
	json_t *j = json_loads(x->out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(get_str(j, "group"), "g");
	json_t *ms = json_object_get(j, "messages");
	assert_int_equal(json_array_size(ms), 1);
	json_t *d = json_array_get(ms, 0), *o = json_object_get(d, "origin");
	char id[80];
	snprintf(id, sizeof id, "%s:0", broker);
	assert_string_equal(get_str(d, "id"), id);
	assert_string_equal(get_str(d, "body"), "m1");
	assert_int_equal(get_int(d, "reconsume_times"), 3);
	assert_string_equal(get_str(d, "reason"), "raftqctl consume --nack");
	assert_string_equal(get_str(o, "topic"), "t");
	assert_string_equal(get_str(o, "broker_name"), broker);
	assert_int_equal(get_int(o, "offset"), 0);
	json_decref(j);
	assert_int_equal(ctl(x, NULL, "dlq resend --group g --id nope"), 2);
	ctl_ok(x, "dlq resend --group g");
	assert_string_equal(x->out, "resent 1 dead letters of group g\n");
	/* Back in t's queue after m1 (offset 1), read like any message. */
	assert_int_equal(ctl(x, NULL,
			     "--json consume --group g --topic t --count 1 "
			     "--timeout 5000"),
			 0);
	json_t *m = one_message(x);
	assert_string_equal(get_str(m, "body"), "m1");
	assert_int_equal(get_int(m, "offset"), 1);
	assert_int_equal(get_int(m, "reconsume_times"), 0);
	json_decref(m);
	ctl_ok(x, "--json dlq list --group g");
	assert_string_equal(x->out, "{\"group\":\"g\",\"messages\":[]}\n");
	ctl_ok(x, "dlq purge --group g");
	assert_string_equal(x->out, "purged 0 dead letters of group g\n");
}

static void test_retry_ladder_then_dead_letter(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x,
	       "group create g --initial earliest --retry-delays 700ms,1500ms "
	       "--max-reconsume-times 2");
	ctl_ok(x, "topic list");
	assert_non_null(strstr(x->out, "%RETRY%g\n"));
	assert_non_null(strstr(x->out, "%DLQ%g\n"));
	assert_int_equal(ctl(x, "m1\n", "produce --topic t"), 0);
	char broker[64];
	holder(x, "t", broker, sizeof broker);

	int64_t before = wall_ms();
	nack_once(x, 0, broker);
	int64_t after = wall_ms();
	backlog_is(x, 1, 0); /* in a schedule store, or in %RETRY%g */
	/* Not back before the first delay: nothing to read for 500 ms. */
	assert_int_equal(ctl(x, NULL,
			     "consume --group g --topic t --count 1 "
			     "--timeout 500"),
			 0);
	assert_non_null(strstr(x->err, "consumed 0 messages"));
	/* Stored in the retry queue (its store time) 700 ms after the nack,
	 * which came between @before and @after; within 100 ms of due. */
	int64_t stored = nack_once(x, 1, broker);
	print_message("first retry stored %lld..%lld ms after the nack\n",
		      (long long)(stored - after),
		      (long long)(stored - before));
	assert_true(stored >= before + 700);
	assert_true(stored <= after + 700 + 100);
	/* Its third failure is past max_reconsume_times 2: a dead letter,
	 * never delivered again. */
	nack_once(x, 2, broker);
	assert_int_equal(messages(x, "%DLQ%g"), 1);
	assert_int_equal(ctl(x, NULL,
			     "consume --group g --topic t --count 1 "
			     "--timeout 3000"),
			 0);
	assert_non_null(strstr(x->err, "consumed 0 messages"));
	assert_int_equal(messages(x, "%DLQ%g"), 1);
	assert_int_equal(messages(x, "%RETRY%g"), 2);
	backlog_is(x, 0, 1);
	ctl_ok(x, "group describe g");
	assert_non_null(strstr(x->out, "\nretry pending: 0, dead letters: 1 "
				       "(raftqctl dlq list --group g)\n"));
	dead_letter_handling(x, broker);
	backlog_is(x, 0, 0);
}

static void test_retry_reserved_names(void **state)
{
	struct fx *x = *state;
	assert_int_equal(ctl(x, NULL, "topic create %RETRY%x --queues 1"), 1);
	assert_string_equal(x->err, "error: INVALID_ARGUMENT: topic name "
				    "'%RETRY%x': names starting with % are "
				    "reserved for retry and dead-letter "
				    "topics\n");
	ctl_ok(x, "group create k");
	assert_int_equal(ctl(x, NULL, "topic delete %DLQ%k"), 1);
	assert_string_equal(x->err, "error: INVALID_ARGUMENT: topic '%DLQ%k' "
				    "belongs to group 'k': it goes when the "
				    "group is deleted\n");
	assert_int_equal(ctl(x, NULL,
			     "group create b --mode broadcasting "
			     "--max-reconsume-times 3"),
			 1);
	assert_string_equal(x->err, "error: INVALID_ARGUMENT: retry settings "
				    "are for clustering groups only\n");
	ctl_ok(x, "group delete k");
	ctl_ok(x, "topic list");
	assert_null(strstr(x->out, "%DLQ%k"));
	assert_null(strstr(x->out, "%RETRY%k"));
}

/* Bodies of raftqctl's --json consume output, each line one message,
 * sorted into @out (joined by ','). */
static void bodies(const char *out, char *joined, size_t len)
{
	char *v[64];
	int n = 0;
	for (const char *l = out; *l != '\0' && n < 64;) {
		json_t *m = json_loads(l, JSON_DISABLE_EOF_CHECK, NULL);
		assert_non_null(m);
		v[n++] = strdup(get_str(m, "body"));
		json_decref(m);
		l = strchr(l, '\n');
		l = l ? l + 1 : "";
	}
	for (int i = 0; i < n; i++)
		for (int k = i + 1; k < n; k++)
			if (strcmp(v[k], v[i]) < 0) {
				char *t = v[i];
				v[i] = v[k];
				v[k] = t;
			}
	joined[0] = '\0';
	for (int i = 0; i < n; i++) {
		strncat(joined, v[i], len - strlen(joined) - 2);
		strcat(joined, i + 1 < n ? "," : "");
		free(v[i]);
	}
}

static void test_reset_leaves_retry_and_scheduled_alone(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create r --queues 2");
	ctl_ok(x, "group create h --initial earliest --retry-delays 3s");
	assert_int_equal(ctl(x, "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n",
			     "produce --topic r"),
			 0);
	assert_int_equal(
	    ctl(x, "late1\nlate2\n", "produce --topic r --delay 5s"), 0);
	assert_int_equal(ctl(x, NULL,
			     "--json consume --group h --topic r --count 3 "
			     "--nack"),
			 0);
	char nacked[256];
	bodies(x->out, nacked, sizeof nacked);
	/* The reset moves r's six queues to their max offsets, as always. */
	ctl_ok(x, "--json topic describe r");
	json_t *d = json_loads(x->out, 0, NULL);
	ctl_ok(x, "offset reset --group h --topic r --to-latest --dry-run");
	assert_non_null(strstr(x->out, "\nleft alone: 3 messages awaiting "
				       "retry, 2 scheduled for these queues "
				       "(delivered when due)\n"));
	ctl_ok(x, "--json offset reset --group h --topic r --to-latest");
	json_t *r = json_loads(x->out, 0, NULL);
	assert_int_equal(get_int(r, "retry_pending"), 3);
	assert_int_equal(get_int(r, "scheduled_pending"), 2);
	json_t *dq = json_object_get(d, "queues"),
	       *rq = json_object_get(r, "queues");
	assert_int_equal(json_array_size(rq), 6);
	int64_t sum = 0;
	for (size_t i = 0; i < 6; i++) {
		json_t *a = json_array_get(dq, i), *b = json_array_get(rq, i);
		assert_string_equal(get_str(a, "broker_name"),
				    get_str(b, "broker_name"));
		assert_int_equal(get_int(b, "timestamp_offset"),
				 get_int(a, "max_offset"));
		sum += get_int(b, "timestamp_offset");
	}
	assert_int_equal(sum, 10);
	json_decref(d);
	json_decref(r);
	/* --all-topics: the group also has offsets on %RETRY%h (its
	 * members read it), but "all" is r alone. */
	ctl_ok(x, "--json offset reset --group h --all-topics --to-latest "
		  "--dry-run");
	json_t *all = json_loads(x->out, 0, NULL);
	assert_null(json_object_get(all, "topics")); /* one topic: r */
	assert_int_equal(json_array_size(json_object_get(all, "queues")), 6);
	json_decref(all);
	/* Afterwards: the 3 retried messages and the 2 scheduled ones (once
	 * due), and nothing of r's 10 again. */
	assert_int_equal(ctl(x, NULL,
			     "--json consume --group h --topic r --count 6 "
			     "--timeout 4000"),
			 0);
	char got[512], want[512];
	bodies(x->out, got, sizeof got);
	snprintf(want, sizeof want, "%s,late1,late2", nacked);
	assert_string_equal(got, want);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, ctl_setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_retry_ladder_then_dead_letter),
	    T(test_retry_reserved_names),
	    T(test_reset_leaves_retry_and_scheduled_alone),
	};
#undef T
	return cmocka_run_group_tests_name("integration/retry", tests, NULL,
					   NULL);
}
