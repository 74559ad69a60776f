/* Reset plan files (ctl/plan.c): what parses, and every refusal's text. */
#include "../test_util.h"
#include "plan.h"

#define HEADER "topic,broker_name,queue_id,offset,epoch\n"
#define NAMES \
	"p.csv:2: topic and broker_name must be 1-127 of A-Z a-z 0-9 . _ -"
#define L16 "bbbbbbbbbbbbbbbb"
#define LONG L16 L16 L16 L16 L16 L16 L16 L16 /* 128 bytes */

/* Parses @text; returns the status, the error in @err. */
static int parse(const char *text, struct ctl_plan *p, char *err)
{
	return ctl_plan_parse(text, strlen(text), "p.csv", p, err, 256);
}

static void test_plan_parses_rows_and_topics(void **state)
{
	(void)state;
	struct ctl_plan p;
	char err[256];
	assert_int_equal(
	    parse(HEADER "t,broker-2,1,30,4\r\n\nt,broker-1,0,7,4", &p, err),
	    0);
	assert_int_equal(p.n_topics, 1);
	assert_string_equal(p.topics[0].name, "t");
	assert_int_equal(p.n, 2);
	assert_string_equal(p.queues[0], "broker-2:1");
	assert_int_equal(p.offsets[0], 30);
	assert_string_equal(p.queues[1], "broker-1:0");
	assert_int_equal(p.offsets[1], 7);
	assert_int_equal(p.topic_of[1], 0);
	assert_true(p.topics[0].has_epoch);
	assert_int_equal(p.topics[0].epoch, 4);
	ctl_plan_free(&p);
	assert_int_equal(parse(HEADER "t,b,0,1,\n", &p, err), 0);
	assert_false(p.topics[0].has_epoch);
	ctl_plan_free(&p);
	/* Several topics, in the order they first appear, each with its
	 * epoch (or none); rows may interleave. */
	assert_int_equal(parse(HEADER "orders,b1,0,5,2\n"
				      "pay,b1,0,9,\n"
				      "orders,b2,1,6,2\n",
			       &p, err),
			 0);
	assert_int_equal(p.n_topics, 2);
	assert_string_equal(p.topics[0].name, "orders");
	assert_true(p.topics[0].has_epoch);
	assert_int_equal(p.topics[0].epoch, 2);
	assert_string_equal(p.topics[1].name, "pay");
	assert_false(p.topics[1].has_epoch);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.topic_of[0], 0);
	assert_int_equal(p.topic_of[1], 1);
	assert_int_equal(p.topic_of[2], 0);
	assert_string_equal(p.queues[2], "b2:1");
	assert_int_equal(p.offsets[1], 9);
	ctl_plan_free(&p);
}

static void test_plan_refusals_name_the_line(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
	    {"", "p.csv: no queue in the plan"},
	    {HEADER, "p.csv: no queue in the plan"},
	    /* Found by fuzz_plan: a blank first line skipped the header. */
	    {"\n" HEADER "t,b,0,1,\n",
	     "p.csv:1: the first line must be "
	     "topic,broker_name,queue_id,offset,epoch"},
	    {HEADER "t,b,0,1\n", "p.csv:2: expected 5 comma-separated fields"},
	    {HEADER "t,b,0,1,2,3\n",
	     "p.csv:2: expected 5 comma-separated fields"},
	    {HEADER ",b,0,1,\n", NAMES},
	    {HEADER "t,bad name,0,1,\n", NAMES},
	    /* Found by fuzz_plan: a 400-byte broker name cut "name:id" short
	     * of its colon. */
	    {HEADER "t," LONG "b,0,1,\n", NAMES},
	    {HEADER "t,b,x,1,\n", "p.csv:2: queue_id and offset must be "
				  "numbers >= 0"},
	    {HEADER "t,b,0,9223372036854775808,\n",
	     "p.csv:2: queue_id and offset must be numbers >= 0"},
	    {HEADER "t,b,0,1,-1\n", "p.csv:2: epoch must be empty or a "
				    "number >= 0"},
	    {HEADER "t,b,0,1,1\nt,b,1,1,2\n",
	     "p.csv:3: every line of a topic must carry the same epoch"},
	    {HEADER "t,b,0,1,\nu,b,0,1,7\nt,b,1,1,3\n",
	     "p.csv:4: every line of a topic must carry the same epoch"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ctl_plan p;
		char err[256];
		assert_int_equal(parse(bad[i][0], &p, err), -1);
		assert_string_equal(err, bad[i][1]);
		assert_int_equal(p.n, 0);
		assert_null(p.queues);
	}
}

static void test_plan_read_names_a_missing_file(void **state)
{
	(void)state;
	struct ctl_plan p;
	char err[256];
	assert_int_equal(
	    ctl_plan_read("/nonexistent/plan.csv", &p, err, sizeof err), -1);
	assert_string_equal(err,
			    "/nonexistent/plan.csv: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_parses_rows_and_topics),
	    cmocka_unit_test(test_plan_refusals_name_the_line),
	    cmocka_unit_test(test_plan_read_names_a_missing_file),
	};
	return cmocka_run_group_tests_name("ctl/plan", tests, NULL, NULL);
}
