/*
 * Delayed messages on a real 3-node cluster (issue 13, DESIGN.md §2.2):
 * a message produced with --delay 2s is in no queue before it is due
 * (topic describe and a consumer agree), appears within a few ms after,
 * exactly once; kill -9 of a broker while 10^4 scheduled messages fall
 * due loses none and appends none twice (flush=sync).
 */
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

/* Messages in topic @t's queues (sum of max offsets), asked of node @i. */
static int64_t messages(struct fx *x, int i, const char *t)
{
	struct rpc_topic_req q = {t};
	struct ctl_resp r;
	h_call(x->h.nodes[i].listen, RPC_TOPIC_DESCRIBE, &q, 5000, &r);
	int64_t sum = -1;
	if (r.err == 0 && r.st.code == RPC_OK) {
		const struct rpc_topic_describe_resp *d = r.body;
		const struct rpc_queue_info *qi = d->queues.v;
		sum = 0;
		for (uint32_t k = 0; k < d->queues.n; k++)
			sum += (int64_t)qi[k].max_offset;
	}
	ctl_resp_free(&r);
	return sum;
}

/* "deliver_at" of raftqctl's --json produce answer in x->out. */
static int64_t deliver_at(struct fx *x)
{
	json_t *j = json_loads(x->out, 0, NULL);
	assert_non_null(j);
	int64_t at = json_integer_value(json_object_get(j, "deliver_at"));
	json_decref(j);
	return at;
}

static void test_delay_appears_when_due_exactly_once(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create t --queues 2");
	ctl_ok(x, "group create g --initial earliest");
	int64_t sent = wall_ms();
	assert_int_equal(ctl(x, "a\\nb\\nc\\nd\\ne\\n",
			     "--json produce --topic t --delay 2s"),
			 0);
	int64_t due = deliver_at(x); /* the last of the 5 (each its own) */
	/* The broker took it at or after sent, at or before now (the same
	 * millisecond included: the test failed when they were equal). */
	if (!(due >= sent + 2000 && due <= wall_ms() + 2000))
		fail_msg("deliver_at %lld, sent %lld, now %lld: %s",
			 (long long)due, (long long)sent, (long long)wall_ms(),
			 x->out);
	int64_t seen = 0, n;
	while (wall_ms() < sent + 1990) /* none before its 2 s */
		assert_int_equal(messages(x, 0, "t"), 0);
	while ((n = messages(x, 0, "t")) < 5 && wall_ms() < due + 5000)
		usleep(5000);
	seen = wall_ms();
	print_message("due %lld ms after the produce; all 5 appeared %lld ms "
		      "after due\n",
		      (long long)(due - sent), (long long)(seen - due));
	assert_int_equal(n, 5);
	char text[1 << 16];
	int handed = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(h_http(x->h.nodes[i].http, "GET", "/metrics",
					NULL, 0, text, sizeof text),
				 200);
		assert_non_null(strstr(text, "\nraftq_scheduled_pending 0\n"));
		const char *h = strstr(text, "\nraftq_scheduled_handed_over_"
					     "total ");
		assert_non_null(h);
		handed += atoi(h + 35);
	}
	assert_int_equal(handed, 5);
	assert_true(seen >= due - 10); /* clocks of one machine */
	assert_true(seen - due < 500);
	/* A consumer gets each of the 5 once, and nothing more. */
	assert_int_equal(ctl(x, NULL,
			     "consume --group g --topic t --count 6 "
			     "--timeout 1500"),
			 0);
	const char *want[] = {" a\n", " b\n", " c\n", " d\n", " e\n"};
	for (int i = 0; i < 5; i++) {
		const char *p = strstr(x->out, want[i]);
		assert_non_null(p);
		assert_null(strstr(p + 1, want[i]));
	}
	assert_non_null(strstr(x->err, "consumed 5 messages"));
	/* Beyond 40 days: refused, nothing kept. */
	assert_int_equal(ctl(x, NULL,
			     "produce --topic t --delay 41d --count "
			     "1"),
			 2);
	assert_string_equal(x->err, "raftqctl: --delay: at most 40 days\n"
				    "usage: raftqctl produce --topic T [--key "
				    "K] [--count N --size B] [--delay 30s | "
				    "--deliver-at TIME [--tz +HH:MM]] (stdin "
				    "lines otherwise)\n");
}

/* Messages stay at @want for a second (no second hand-over). */
static void stays_at(struct fx *x, int64_t want)
{
	for (int k = 0; k < 10; k++) {
		assert_int_equal(messages(x, 0, "big"), want);
		usleep(100000);
	}
}

static void test_delay_kill_9_while_falling_due(void **state)
{
	struct fx *x = *state;
	enum { N = 10000 };
	ctl_ok(x, "topic create big --queues 4");
	char args[160];
	int64_t at = wall_ms() + 6000; /* all due at once, after the produce */
	snprintf(args, sizeof args,
		 "--json produce --topic big --deliver-at %lld --count %d "
		 "--size 16",
		 (long long)at, N);
	ctl_ok(x, args);
	int64_t due = deliver_at(x);
	assert_int_equal(due, at);
	assert_int_equal(messages(x, 0, "big"), 0);
	int victim = (x->h.leader + 1) % 3;
	while (wall_ms() < due - 30)
		usleep(2000);
	h_kill(&x->h, victim); /* its entries fall due while it is down */
	assert_int_equal(h_start(&x->h, victim), 0);
	int64_t n = 0, until = wall_ms() + 60000;
	while ((n = messages(x, 0, "big")) != N && wall_ms() < until)
		usleep(50000);
	assert_int_equal(n, N);
	stays_at(x, N);
	/* It restarted with entries pending and checked its queues first. */
	assert_true(h_log_has(&x->h, victim, "scheduled batches pending"));
	assert_true(h_log_has(&x->h, victim, "reconciled with its queue"));
}

/* libfiu's crash point: the node aborts right after appending a delayed
 * batch and before marking it done; restarted, it finds the batch in its
 * queue and hands it over no second time. */
static void test_delay_crash_between_append_and_done(void **state)
{
	struct fx *x = *state;
	if (!h_fiu_available())
		skip();
	enum { N = 300 };
	int victim = (x->h.leader + 1) % 3;
	ctl_ok(x, "topic create d --queues 1");
	h_kill(&x->h, victim);
	x->h.fiu = true;
	assert_int_equal(h_start(&x->h, victim), 0);
	/* Current again, so the producer's messages for it stay with it. */
	assert_true(h_lists_topic(&x->h, victim, "d", 10000));
	assert_int_equal(h_fiu(&x->h, victim,
			       "enable name=raftq/schedule/crash_before_done"),
			 0);
	char args[160];
	int64_t at = wall_ms() + 3000;
	snprintf(args, sizeof args,
		 "--json produce --topic d --deliver-at %lld --count %d",
		 (long long)at, N);
	ctl_ok(x, args);
	int status;
	int64_t until = wall_ms() + 10000;
	while (!h_reap(&x->h, victim, &status) && wall_ms() < until)
		usleep(20000);
	assert_true(
	    h_log_has(&x->h, victim, "fault point: crashing after handing"));
	assert_int_equal(h_start(&x->h, victim), 0); /* the point is off */
	int64_t n = 0;
	until = wall_ms() + 30000;
	while ((n = messages(x, 0, "d")) != N && wall_ms() < until)
		usleep(50000);
	assert_int_equal(n, N);
	for (int k = 0; k < 10; k++) {
		assert_int_equal(messages(x, 0, "d"), N);
		usleep(100000);
	}
	assert_true(h_log_has(&x->h, victim, "reconciled with its queue"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, ctl_setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_delay_appears_when_due_exactly_once),
	    T(test_delay_kill_9_while_falling_due),
	    T(test_delay_crash_between_append_and_done),
	};
#undef T
	return cmocka_run_group_tests_name("integration/delay", tests, NULL,
					   NULL);
}
