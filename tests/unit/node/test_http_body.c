/*
 * node/http_body.c: the HTTP API's JSON bodies into RESET requests —
 * each field's type and range, the target rules, plans, the guard, and
 * the exact message of each refusal.
 */
#include <string.h>

#include "../test_util.h"
#include "http_body.h"

static struct http_reset r;
static char err[512];

static int native(const char *json)
{
	http_reset_free(&r);
	err[0] = '\0';
	return http_body_reset(json, strlen(json), "g", &r, err, sizeof err);
}

static void refused(const char *json, const char *why)
{
	assert_int_equal(native(json), -1);
	assert_string_equal(err, why);
}

static void test_http_body_huawei(void **state)
{
	(void)state;
	const char *ok = "{\"topic\":\"t\",\"timestamp\":\"1764585600000\"}";
	assert_int_equal(
	    http_body_huawei(ok, strlen(ok), "g", &r, err, sizeof err), 0);
	assert_string_equal(r.req.group, "g");
	assert_string_equal(r.req.topic, "t");
	assert_string_equal(r.req.target, "time");
	assert_int_equal(r.req.value, 1764585600000);
	http_reset_free(&r);
	const char *none = "{\"topic\":\"t\"}";
	assert_int_equal(
	    http_body_huawei(none, strlen(none), "g", &r, err, sizeof err), -1);
	assert_string_equal(err, "field 'timestamp' is required");
	http_reset_free(&r);
	assert_int_equal(http_body_huawei("[1]", 3, "g", &r, err, sizeof err),
			 -1);
	assert_string_equal(err, "the body must be a JSON object");
	http_reset_free(&r);
	assert_int_equal(http_body_huawei("", 0, "g", &r, err, sizeof err), -1);
	assert_string_equal(err, "the request needs a JSON body");
	http_reset_free(&r);
}

static void test_http_body_alibaba(void **state)
{
	(void)state;
	const char *t = "{\"resetType\":\"SPECIFIED_TIME\",\"resetTime\":"
			"\"2026-12-01 08:00:00\",\"timeZone\":\"+08:00\"}";
	assert_int_equal(
	    http_body_alibaba(t, strlen(t), "g", "orders", &r, err, sizeof err),
	    0);
	assert_string_equal(r.req.topic, "orders");
	assert_string_equal(r.req.target, "time");
	assert_int_equal(r.req.value, 1796083200000); /* 00:00 UTC */
	http_reset_free(&r);
	const char *bad = "{\"resetType\":\"LATEST\"}";
	assert_int_equal(
	    http_body_alibaba(bad, strlen(bad), "g", "t", &r, err, sizeof err),
	    -1);
	assert_string_equal(err, "field 'resetType' must be LATEST_OFFSET or "
				 "SPECIFIED_TIME");
	http_reset_free(&r);
	const char *no_time = "{\"resetType\":\"SPECIFIED_TIME\"}";
	assert_int_equal(http_body_alibaba(no_time, strlen(no_time), "g", "t",
					   &r, err, sizeof err),
			 -1);
	assert_string_equal(err, "field 'resetTime' (\"YYYY-MM-DD HH:MM:SS\") "
				 "is required with SPECIFIED_TIME");
	http_reset_free(&r);
}

static void test_http_body_native_targets(void **state)
{
	(void)state;
	assert_int_equal(native("{\"topics\":[\"a\",\"b\"],\"target\":"
				"\"shift\",\"value\":-5,\"dry_run\":true}"),
			 0);
	assert_int_equal(r.req.topics.n, 2);
	assert_string_equal(r.req.topics.v[1], "b");
	assert_int_equal(r.req.value, -5);
	assert_true(r.req.dry_run);
	refused("{\"topic\":\"t\",\"target\":\"latest\",\"value\":1}",
		"target latest takes no 'value'");
	refused("{\"topic\":\"t\",\"target\":\"offset\",\"value\":-1}",
		"field 'value' must be an integer from 0 to "
		"9223372036854775807");
	refused("{\"topic\":\"t\",\"target\":\"time\",\"value\":1700000000}",
		"field 'value': 1700000000 looks like seconds; raftq expects "
		"milliseconds (1700000000000)");
	refused("{\"topic\":\"t\",\"target\":\"soon\"}",
		"field 'target' must be one of latest, earliest, time, "
		"offset, shift, duration, current, group, plan");
	refused("{\"topic\":\"t\",\"topics\":[\"u\"],\"target\":\"latest\"}",
		"give exactly one of 'topic', 'topics', 'all_topics'");
	refused("{\"topic\":\"t\",\"target\":\"group\"}",
		"field 'source_group' goes with target group, and target "
		"group needs it");
	refused("{\"topic\":\"t\",\"target\":\"latest\",\"dryrun\":true}",
		"unknown field 'dryrun' (known: topic, topics, all_topics, "
		"target, value, queues, plan, source_group, dry_run, "
		"require_inactive, expect_epoch)");
	refused("{\"topic\":\"t\",\"target\":\"latest\",\"dry_run\":1}",
		"field 'dry_run' must be true or false");
	http_reset_free(&r);
}

static void test_http_body_native_plan_and_guard(void **state)
{
	(void)state;
	assert_int_equal(
	    native("{\"topics\":[\"a\",\"b\"],\"target\":\"plan\",\"plan\":["
		   "{\"topic\":\"a\",\"broker_name\":\"broker-1\","
		   "\"queue_id\":3,\"offset\":7},"
		   "{\"topic\":\"b\",\"broker_name\":\"broker-2\","
		   "\"queue_id\":0,\"offset\":0}]}"),
	    0);
	assert_int_equal(r.req.queues.n, 2);
	assert_string_equal(r.req.queues.v[0], "broker-1:3");
	assert_string_equal(r.req.queues.v[1], "broker-2:0");
	assert_int_equal(r.req.offsets.v[0], 7);
	assert_int_equal(r.req.offsets.v[1], 0);
	assert_string_equal(r.req.queue_topics.v[1], "b");
	refused("{\"topics\":[\"a\",\"b\"],\"target\":\"plan\",\"plan\":["
		"{\"broker_name\":\"broker-1\",\"queue_id\":3,\"offset\":7}]}",
		"plan[0]: 'topic' is required unless the reset names one "
		"topic");
	refused("{\"topic\":\"a\",\"target\":\"plan\",\"plan\":[{\"broker_"
		"name\":\"b\",\"queue_id\":1}]}",
		"plan[0]: queue_id and offset are required");
	refused("{\"topic\":\"a\",\"target\":\"plan\",\"queues\":[\"b:1\"],"
		"\"plan\":[{\"broker_name\":\"b\",\"queue_id\":1,\"offset\":"
		"1}]}",
		"'queues' and 'plan' do not go together (a plan names its "
		"queues)");
	assert_int_equal(native("{\"topic\":\"a\",\"target\":\"earliest\","
				"\"queues\":[\"broker-1:0\"],"
				"\"expect_epoch\":4}"),
			 0);
	assert_int_equal(r.req.queues.n, 1);
	assert_int_equal(r.req.expect_epochs.n, 1);
	assert_int_equal(r.req.expect_epochs.v[0], 4);
	refused("{\"topics\":[\"a\",\"b\"],\"target\":\"latest\","
		"\"expect_epoch\":4}",
		"field 'expect_epoch' guards a one-topic reset");
	http_reset_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_body_huawei),
	    cmocka_unit_test(test_http_body_alibaba),
	    cmocka_unit_test(test_http_body_native_targets),
	    cmocka_unit_test(test_http_body_native_plan_and_guard),
	};
	return cmocka_run_group_tests_name("unit/node/http_body", tests, NULL,
					   NULL);
}
