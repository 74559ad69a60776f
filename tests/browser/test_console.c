/*
 * The web console in a real browser (ctest label browser; DESIGN.md
 * §6.1): headless Chromium (console_reset.py, selenium) opens the console
 * of a follower of a 3-node cluster, resets group g to a point in time
 * through the "Reset Consumer Offset" dialog, and the offsets the dialog
 * reports and the page then shows equal what `raftqctl --json group
 * describe` reports — and what the time means: 4 messages of each queue
 * were stored before it, 3 after; then undoes it from the history table
 * and the page agrees with raftqctl again.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../integration/ctl_fixture.h"

/* Topic t, 2 queues per broker: 4 messages each, a second boundary (the
 * time returned, epoch s), 3 messages each. */
static time_t fill(struct fx *x)
{
	ctl_ok(x, "topic create t --queues 2");
	ctl_ok(x, "group create g --initial earliest");
	static uint8_t p[64 * 13];
	time_t mid = 0;
	for (int round = 0; round < 2; round++) {
		for (int b = 0; b < 3; b++)
			for (uint32_t q = 0; q < 2; q++) {
				uint32_t n = round ? 3 : 4;
				uint32_t len = h_records(p, n, q);
				struct rpc_produce_req in = {
				    "t", q, n, 0, {p, len}, 0, 0, NULL, 0};
				assert_int_equal(
				    h_call_code(x->h.nodes[b].listen,
						RPC_PRODUCE, &in, 5000),
				    RPC_OK);
			}
		if (round == 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			mid = ts.tv_sec + 1;
			usleep((useconds_t)(1000000 - ts.tv_nsec / 1000) +
			       50000);
		}
	}
	return mid;
}

/* The consumer offset raftqctl reports for broker @b, queue @q. */
static json_int_t described(json_t *describe, const char *b, json_int_t q)
{
	json_t *t = json_array_get(json_object_get(describe, "topics"), 0);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(t, "queues"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "broker_name")),
			   b) == 0 &&
		    json_integer_value(json_object_get(e, "queue_id")) == q)
			return json_integer_value(
			    json_object_get(e, "consumer_offset"));
	}
	fail_msg("%s:%lld not in group describe", b, (long long)q);
	return -1;
}

/* Each row of @rows has @key equal to raftqctl's offset (and to @want
 * unless it is negative). */
static void rows_agree(json_t *rows, const char *key, json_t *describe,
		       json_int_t want)
{
	size_t i;
	json_t *r;
	assert_int_equal(json_array_size(rows), 6);
	json_array_foreach(rows, i, r)
	{
		const char *b =
		    json_string_value(json_object_get(r, "broker_name"));
		json_int_t q =
		    json_integer_value(json_object_get(r, "queue_id"));
		json_int_t v = json_integer_value(json_object_get(r, key));
		assert_string_equal(
		    json_string_value(json_object_get(r, "topic")), "t");
		assert_int_equal(v, described(describe, b, q));
		if (want >= 0)
			assert_int_equal(v, want);
	}
}

static void test_console_reset_by_time(void **state)
{
	struct fx *x = *state;
	time_t mid = fill(x);
	struct tm tm;
	char when[32], cmd[2048], out[700];
	gmtime_r(&mid, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	const char *shot = getenv("RAFTQ_CONSOLE_SCREENSHOT");
	snprintf(out, sizeof out, "%s/browser.out", x->h.root);
	int follower = (x->h.leader + 1) % 3;
	snprintf(cmd, sizeof cmd, "%s %s reset http://%s/ g t %s %s >%s",
		 DEBIAN_PYTHON, CONSOLE_RESET_PY, x->h.nodes[follower].http,
		 when, shot ? shot : "", out);
	assert_int_equal(system(cmd), 0);
	json_t *seen = json_load_file(out, 0, NULL);
	assert_non_null(seen);
	ctl_ok(x, "--json group describe g");
	json_t *describe = json_loads(x->out, 0, NULL);
	assert_non_null(describe);
	print_message("dialog: %s\n",
		      json_string_value(json_object_get(seen, "status")));
	assert_string_equal(json_string_value(json_object_get(seen, "status")),
			    "Reset 1 applied.");
	rows_agree(json_object_get(seen, "result"), "offset", describe, 4);
	rows_agree(json_object_get(seen, "shown"), "consumer_offset", describe,
		   4);
	json_decref(describe);
	json_decref(seen);
	/* Undone from the history table (the leader's console this time):
	 * the page shows what raftqctl describes after the undo (the group
	 * never committed: its initial rule, earliest, 0), and the history
	 * lists both. */
	snprintf(cmd, sizeof cmd, "%s %s undo http://%s/ g 1 >%s",
		 DEBIAN_PYTHON, CONSOLE_RESET_PY, x->h.nodes[x->h.leader].http,
		 out);
	assert_int_equal(system(cmd), 0);
	seen = json_load_file(out, 0, NULL);
	assert_non_null(seen);
	ctl_ok(x, "--json group describe g");
	describe = json_loads(x->out, 0, NULL);
	rows_agree(json_object_get(seen, "shown"), "consumer_offset", describe,
		   0);
	assert_int_equal(json_array_size(json_object_get(seen, "history")), 2);
	json_decref(seen);
	json_decref(describe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_console_reset_by_time,
					    ctl_setup, h_teardown),
	};
	return cmocka_run_group_tests_name("browser/console", tests, NULL,
					   NULL);
}
