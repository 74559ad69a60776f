/*
 * The HTTP API (DESIGN.md §6.1; docs/http-api.md) on a real 3-node
 * cluster, against raftqctl: the Huawei and ApsaraMQ reset endpoints
 * answer, on every node (followers send them on to the leader), exactly
 * the queues `raftqctl offset reset --dry-run --json` gives for the same
 * target; their errors have the documented shapes and HTTP codes; the
 * native /api/v1 answers exactly what `raftqctl --json` prints.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_fixture.h"

/* Topic t (2 queues per broker) with 4 messages per queue, then 3 more
 * after the time returned (epoch ms), and group g. */
static int64_t fill(struct fx *x)
{
	ctl_ok(x, "topic create t --queues 2");
	ctl_ok(x, "group create g --initial earliest");
	static uint8_t p[64 * 13];
	int64_t mid = 0;
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
			usleep(30000);
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			mid = ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
			usleep(30000);
		}
	}
	return mid;
}

/* The "queues" array of raftqctl's JSON answer in x->out, as text. */
static char *queues_of(struct fx *x)
{
	json_error_t je;
	json_t *j = json_loads(x->out, 0, &je);
	assert_non_null(j);
	char *s = json_dumps(json_object_get(j, "queues"),
			     JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static void test_http_api_seed_resets_equal_dry_run(void **state)
{
	struct fx *x = *state;
	int64_t mid = fill(x);
	char args[256], path[256], body[8192], json[512], want[4096];
	snprintf(args, sizeof args,
		 "--json offset reset --group g --topic t --to-timestamp %lld "
		 "--dry-run",
		 (long long)mid);
	ctl_ok(x, args);
	char *by_time = queues_of(x);
	/* 4 messages before the time, 3 after: every queue at offset 4. */
	assert_non_null(strstr(by_time, "\"timestamp_offset\":4}"));
	assert_null(strstr(by_time, "\"timestamp_offset\":7"));
	snprintf(want, sizeof want, "{\"queues\":%s}", by_time);
	for (int i = 0; i < 3; i++) {
		snprintf(json, sizeof json,
			 "{\"topic\":\"t\",\"timestamp\":%s%lld%s}",
			 i == 1 ? "\"" : "", (long long)mid,
			 i == 1 ? "\"" : "");
		snprintf(path, sizeof path,
			 "/v2/%s/0a1b2c/instances/raftq/groups/g/"
			 "reset-message-offset",
			 i == 2 ? "reliability" : "rocketmq");
		assert_int_equal(h_http_json(x->h.nodes[i].http, "POST", path,
					     NULL, json, body, sizeof body),
				 200);
		assert_string_equal(body, want);
	}
	ctl_ok(x, "--json group describe g");
	assert_non_null(strstr(x->out, "\"consumer_offset\":4,"));
	assert_null(strstr(x->out, "\"consumer_offset\":0,"));
	/* ApsaraMQ LATEST_OFFSET: raftqctl --to-latest --dry-run's queues. */
	ctl_ok(x, "--json offset reset --group g --topic t --to-latest "
		  "--dry-run");
	char *latest = queues_of(x);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    h_http_json(x->h.nodes[i].http, "PATCH",
				"/instances/raftq/consumerGroups/g/"
				"consumeOffsets/t",
				NULL, "{\"resetType\":\"LATEST_OFFSET\"}", body,
				sizeof body),
		    200);
		json_t *j = json_loads(body, 0, NULL);
		assert_non_null(j);
		assert_true(json_is_true(json_object_get(j, "success")));
		assert_string_equal(
		    json_string_value(json_object_get(j, "code")), "Success");
		assert_int_equal(
		    json_integer_value(json_object_get(j, "httpStatusCode")),
		    200);
		assert_int_equal(
		    json_string_length(json_object_get(j, "requestId")), 36);
		char *got = json_dumps(
		    json_object_get(json_object_get(j, "data"), "queues"),
		    JSON_COMPACT | JSON_PRESERVE_ORDER);
		assert_string_equal(got, latest);
		free(got);
		json_decref(j);
	}
	/* SPECIFIED_TIME: the same second as raftqctl --to-time. */
	time_t sec = (time_t)(mid / 1000);
	struct tm tm;
	char when[32];
	gmtime_r(&sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(args, sizeof args,
		 "--json offset reset --group g --topic t --to-time '%s' "
		 "--tz Z --dry-run",
		 when);
	ctl_ok(x, args);
	char *by_second = queues_of(x);
	snprintf(json, sizeof json,
		 "{\"resetType\":\"SPECIFIED_TIME\",\"resetTime\":\"%s\","
		 "\"timeZone\":\"Z\"}",
		 when);
	assert_int_equal(h_http_json(x->h.nodes[2].http, "PATCH",
				     "/instances/raftq/consumerGroups/g/"
				     "consumeOffsets/t",
				     NULL, json, body, sizeof body),
			 200);
	snprintf(want, sizeof want, "\"data\":{\"queues\":%s}}", by_second);
	assert_non_null(strstr(body, want));
	free(by_time);
	free(latest);
	free(by_second);
}

/* Asserts one Huawei call on node @i answers @status and @want. */
static void huawei_is(struct fx *x, int i, const char *path, const char *json,
		      int status, const char *want)
{
	char body[4096];
	assert_int_equal(h_http_json(x->h.nodes[i].http, "POST", path, NULL,
				     json, body, sizeof body),
			 status);
	assert_string_equal(body, want);
}

#define HW(instance, group)                                   \
	"/v2/rocketmq/p/instances/" instance "/groups/" group \
	"/reset-message-offset"

static void test_http_api_seed_errors(void **state)
{
	struct fx *x = *state;
	fill(x);
	huawei_is(x, 1, HW("other", "g"), "{\"topic\":\"t\",\"timestamp\":0}",
		  404,
		  "{\"error_code\":\"RAFTQ.UNKNOWN_INSTANCE\",\"error_msg\":"
		  "\"instance 'other' does not exist: this cluster's name is "
		  "'raftq' ([node] cluster_name)\"}");
	huawei_is(x, 1, HW("raftq", "nog"), "{\"topic\":\"t\",\"timestamp\":0}",
		  404,
		  "{\"error_code\":\"RAFTQ.UNKNOWN_GROUP\",\"error_msg\":"
		  "\"group 'nog' does not exist (create it with raftqctl group "
		  "create)\"}");
	huawei_is(x, 2, HW("raftq", "g"), "{\"topic\":\"not\",\"timestamp\":0}",
		  404,
		  "{\"error_code\":\"RAFTQ.UNKNOWN_TOPIC\",\"error_msg\":"
		  "\"topic 'not' does not exist\"}");
	huawei_is(x, 0, HW("raftq", "g"), "{\"topic\":\"t\",\"timestmap\":0}",
		  400,
		  "{\"error_code\":\"RAFTQ.INVALID_ARGUMENT\",\"error_msg\":"
		  "\"unknown field 'timestmap' (known: topic, timestamp)\"}");
	huawei_is(x, 0, HW("raftq", "g"), "{\"topic\":\"t\"", 400,
		  "{\"error_code\":\"RAFTQ.INVALID_ARGUMENT\",\"error_msg\":"
		  "\"the body is not JSON: '}' expected near end of file "
		  "(line 1, column 12)\"}");
	huawei_is(x, 0, HW("raftq", "g"),
		  "{\"topic\":\"t\",\"timestamp\":1700000000}", 400,
		  "{\"error_code\":\"RAFTQ.INVALID_ARGUMENT\",\"error_msg\":"
		  "\"field 'timestamp': 1700000000 looks like seconds; raftq "
		  "expects milliseconds (1700000000000)\"}");
	huawei_is(x, 0, HW("raftq", "g"), "{\"topic\":\"t\",\"timestamp\":-1}",
		  400,
		  "{\"error_code\":\"RAFTQ.INVALID_ARGUMENT\",\"error_msg\":"
		  "\"field 'timestamp' must be epoch milliseconds: a number or "
		  "a string of digits\"}");
	char body[4096];
	assert_int_equal(h_http(x->h.nodes[0].http, "GET", HW("raftq", "g"),
				NULL, 0, body, sizeof body),
			 405);
	assert_string_equal(body,
			    "{\"error_code\":\"RAFTQ.METHOD_NOT_ALLOWED\","
			    "\"error_msg\":\"this path takes POST\"}");
	/* ApsaraMQ: its envelope, success false, the code and HTTP status. */
	assert_int_equal(
	    h_http_json(x->h.nodes[1].http, "PATCH",
			"/instances/raftq/consumerGroups/g/consumeOffsets/not",
			NULL, "{\"resetType\":\"LATEST_OFFSET\"}", body,
			sizeof body),
	    404);
	assert_non_null(strstr(
	    body, "\",\"success\":false,\"code\":\"RAFTQ.UNKNOWN_TOPIC\","
		  "\"message\":\"topic 'not' does not exist\","
		  "\"httpStatusCode\":404,\"data\":null}"));
	assert_int_equal(
	    h_http_json(x->h.nodes[1].http, "PATCH",
			"/instances/raftq/consumerGroups/g/consumeOffsets/t",
			NULL,
			"{\"resetType\":\"SPECIFIED_TIME\",\"resetTime\":"
			"\"2026-13-01 00:00:00\"}",
			body, sizeof body),
	    400);
	assert_non_null(strstr(body, "\"code\":\"RAFTQ.INVALID_ARGUMENT\","
				     "\"message\":\"field 'resetTime': month "
				     "13 is not 1-12\""));
	/* Nothing of all that moved the group. */
	ctl_ok(x, "--json offset history --group g --topic t");
	assert_string_equal(x->out, "{\"resets\":[]}\n");
}

/* GET @path on node @i answers 200 and exactly raftqctl's --json @args. */
static void native_is(struct fx *x, int i, const char *path, const char *args)
{
	char body[65536];
	ctl_ok(x, args);
	assert_int_equal(
	    h_http(x->h.nodes[i].http, "GET", path, NULL, 0, body, sizeof body),
	    200);
	strcat(body, "\n");
	assert_string_equal(body, x->out);
}

static void test_http_api_native_equals_raftqctl(void **state)
{
	struct fx *x = *state;
	fill(x);
	native_is(x, 0, "/api/v1/topics", "--json topic list");
	native_is(x, 1, "/api/v1/topics/t", "--json topic describe t");
	native_is(x, 2, "/api/v1/groups", "--json group list");
	native_is(x, 2, "/api/v1/groups/g", "--json group describe g");
	char body[8192];
	/* A plan as JSON, as a dry run, then applied; history and undo. */
	const char *plan =
	    "{\"topic\":\"t\",\"target\":\"plan\",\"plan\":["
	    "{\"broker_name\":\"broker-1\",\"queue_id\":0,\"offset\":2},"
	    "{\"broker_name\":\"broker-3\",\"queue_id\":1,\"offset\":5}]}";
	assert_int_equal(h_http_json(x->h.nodes[1].http, "POST",
				     "/api/v1/groups/g/reset", NULL, plan, body,
				     sizeof body),
			 200);
	assert_string_equal(
	    body, "{\"queues\":[{\"broker_name\":\"broker-1\",\"queue_id\":0,"
		  "\"timestamp_offset\":2},{\"broker_name\":\"broker-3\","
		  "\"queue_id\":1,\"timestamp_offset\":5}],\"reset_id\":1,"
		  "\"epoch\":1,\"dry_run\":false}");
	native_is(x, 1, "/api/v1/groups/g/history?topic=t",
		  "--json offset history --group g --topic t");
	assert_non_null(strstr(x->out, "\"requester\":\"http from 127.0.0.1:"));
	assert_int_equal(h_http(x->h.nodes[2].http, "POST",
				"/api/v1/resets/1/undo", NULL, 0, body,
				sizeof body),
			 200);
	assert_non_null(strstr(body, "\"reset_id\":2,\"epoch\":2,"));
	ctl_ok(x, "--json group describe g");
	assert_null(strstr(x->out, "\"consumer_offset\":5"));
	assert_int_equal(h_http_json(x->h.nodes[0].http, "POST",
				     "/api/v1/groups/g/reset", NULL,
				     "{\"topic\":\"t\",\"target\":\"offset\"}",
				     body, sizeof body),
			 400);
	assert_string_equal(body, "{\"error_code\":\"RAFTQ.INVALID_ARGUMENT\","
				  "\"error_msg\":\"target offset needs field "
				  "'value'\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_http_api_seed_resets_equal_dry_run, ctl_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_http_api_seed_errors,
					    ctl_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(
		test_http_api_native_equals_raftqctl, ctl_setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
