/*
 * The HTTP server of every node ([node] http_listen, DESIGN.md §6.1;
 * docs/design/http.md) on a real 3-node cluster: health and readiness,
 * the error shape of unknown paths and wrong methods, the body limit, a
 * follower cut off is not ready, and a node with an idle keep-alive
 * connection still stops promptly.
 */
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/test_util.h"
#include "harness.h"
#include "prom_check.h"

static int setup(void **state)
{
	*state = h_fixture(sizeof(struct harness), 3, true);
	return *state ? 0 : -1;
}

static int http(const char *addr, const char *method, const char *path,
		size_t body_len, char *body, size_t cap)
{
	return h_http(addr, method, path, NULL, body_len, body, cap);
}

static void test_http_health_readiness_and_errors(void **state)
{
	struct harness *h = *state;
	char body[4096], want[128];
	for (int i = 0; i < 3; i++) {
		const char *a = h->nodes[i].http;
		assert_int_equal(
		    http(a, "GET", "/healthz", 0, body, sizeof body), 200);
		snprintf(want, sizeof want,
			 "{\"status\":\"ok\",\"node_id\":%d}", i + 1);
		assert_string_equal(body, want);
		assert_int_equal(
		    http(a, "GET", "/readyz", 0, body, sizeof body), 200);
		snprintf(want, sizeof want,
			 "{\"status\":\"ready\",\"node_id\":%d}", i + 1);
		assert_string_equal(body, want);
	}
	const char *a = h->nodes[0].http;
	assert_int_equal(http(a, "GET", "/nope", 0, body, sizeof body), 404);
	assert_string_equal(body, "{\"error_code\":\"RAFTQ.NOT_FOUND\","
				  "\"error_msg\":\"no such path: /nope\"}");
	assert_int_equal(http(a, "DELETE", "/healthz", 0, body, sizeof body),
			 405);
	assert_string_equal(body,
			    "{\"error_code\":\"RAFTQ.METHOD_NOT_ALLOWED\","
			    "\"error_msg\":\"this path takes GET\"}");
	/* Bodies over 1 MiB: refused by h2o before they are read. */
	assert_int_equal(
	    http(a, "POST", "/healthz", (2u << 20), body, sizeof body), 413);
}

/* A follower cut off from the others stops being ready once what it
 * knows of the leader's commit index is too old (lease.c). */
static void test_http_cut_off_follower_is_not_ready(void **state)
{
	struct harness *h = *state;
	int f = (h->leader + 1) % 3;
	h_cut(h, f);
	char body[4096];
	int status = 200;
	int64_t end = h_now_ms() + 10000;
	while (status == 200 && h_now_ms() < end) {
		status = http(h->nodes[f].http, "GET", "/readyz", 0, body,
			      sizeof body);
		usleep(100000); /* bounded by end */
	}
	assert_int_equal(status, 503);
	char want[64];
	snprintf(want, sizeof want, "{\"status\":\"not ready\",\"node_id\":%d,",
		 f + 1);
	assert_int_equal(strncmp(body, want, strlen(want)), 0);
	assert_non_null(strstr(body, "\"reason\":\""));
	h_heal(h, f);
	end = h_now_ms() + 10000;
	while (status != 200 && h_now_ms() < end) {
		status = http(h->nodes[f].http, "GET", "/readyz", 0, body,
			      sizeof body);
		usleep(100000); /* bounded by end */
	}
	assert_int_equal(status, 200);
}

/* A flood of idle HTTP connections is bounded: beyond
 * NODE_HTTP_MAX_CONNS (256) open at once, a new one is closed as it
 * arrives (logged), so HTTP clients cannot take the file descriptors the
 * RPC and Raft ports need; the node serves again once they are gone. */
static void test_http_connection_flood_is_bounded(void **state)
{
	struct harness *h = *state;
	enum { CONNS = 600 };
	const char *a = h->nodes[0].http;
	int fd[CONNS], closed = 0;
	for (int i = 0; i < CONNS; i++)
		fd[i] = h_dial(a);
	usleep(300000); /* the node accepts and closes what is too many */
	for (int i = 0; i < CONNS; i++) {
		struct pollfd p = {fd[i], POLLIN, 0};
		char c;
		if (poll(&p, 1, 0) == 1 &&
		    recv(fd[i], &c, 1, MSG_DONTWAIT) == 0)
			closed++;
	}
	print_message("%d of %d idle HTTP connections closed at once\n", closed,
		      CONNS);
	assert_true(closed >= CONNS - 256);
	assert_true(h_log_has(h, 0, "HTTP connections open at once"));
	for (int i = 0; i < CONNS; i++)
		close(fd[i]);
	usleep(100000);
	char body[256];
	assert_int_equal(http(a, "GET", "/healthz", 0, body, sizeof body), 200);
}

/* An idle keep-alive HTTP connection does not hold a stopping node: h2o
 * closes it after NODE_HTTP_IDLE_MS (2 s), then the node exits 0. */
static void test_http_idle_connection_does_not_hold_a_stop(void **state)
{
	struct harness *h = *state;
	int fd = h_dial(h->nodes[0].http);
	const char *req = "GET /healthz HTTP/1.1\r\nHost: raftq\r\n\r\n";
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
			 (ssize_t)strlen(req));
	char buf[1024];
	struct pollfd p = {fd, POLLIN, 0};
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_true(recv(fd, buf, sizeof buf, 0) > 0);
	int64_t t0 = h_now_ms();
	assert_int_equal(h_stop(h, 0, 8000), 0);
	int64_t took = h_now_ms() - t0;
	print_message("stopped in %lld ms with an idle HTTP connection\n",
		      (long long)took);
	assert_true(took < 5000);
	close(fd);
}

/* Whether @series of GET /metrics at @addr shows @want, asking for up to
 * 3 s (a follower applies the leader's commits a moment later). */
static bool metric_is(const char *addr, const char *series, double want)
{
	static char text[65536];
	int64_t end = h_now_ms() + 3000;
	do {
		assert_int_equal(
		    http(addr, "GET", "/metrics", 0, text, sizeof text), 200);
		if (prom_value(text, series) == want)
			return true;
		usleep(20000); /* bounded by end */
	} while (h_now_ms() < end);
	fprintf(stderr, "%s: %s is %g, not %g\n", addr, series,
		prom_value(text, series), want);
	return false;
}

/* GET /metrics of each node passes the strict format check, and every
 * group's lag on each queue equals what GROUP_DESCRIBE says (each node
 * shows the queues it hosts); one node is the leader. */
static void test_http_metrics_match_describe(void **state)
{
	struct harness *h = *state;
	const char *leader = h->nodes[h->leader].listen;
	assert_int_equal(h_create_topic(h, "t", 2), 0);
	assert_int_equal(h_create_group(h, "g", NULL, "earliest"), 0);
	assert_int_equal(h_create_group(h, "late", NULL, NULL), 0);
	static uint8_t p[64 * 13];
	for (int b = 0; b < 3; b++)
		for (uint32_t q = 0; q < 2; q++) {
			uint32_t n = 5 + (uint32_t)b * 2 + q; /* 5..10 */
			uint32_t len = h_records(p, n, q);
			struct rpc_produce_req in = {"t", q, n,	   0, {p, len},
						     0,	  0, NULL, 0};
			assert_int_equal(h_call_code(h->nodes[b].listen,
						     RPC_PRODUCE, &in, 5000),
					 RPC_OK);
		}
	struct rpc_commit_item it[2] = {{"t", "broker-1", 0, 3, 0},
					{"t", "broker-3", 1, 10, 0}};
	struct rpc_commit_req c = {"g", NULL, {it, 2}};
	assert_int_equal(h_call_code(leader, RPC_COMMIT, &c, 5000), RPC_OK);
	struct rpc_offsets_req oq = {"late", "t"}; /* fixes its start */
	assert_int_equal(h_call_code(leader, RPC_OFFSETS, &oq, 5000), RPC_OK);
	static char text[65536];
	char err[256], series[256];
	int leaders = 0, checked = 0;
	const char *groups[] = {"g", "late"};
	for (int k = 0; k < 2; k++) {
		struct rpc_group_req gq = {groups[k]};
		struct ctl_resp r;
		h_call(leader, RPC_GROUP_DESCRIBE, &gq, 5000, &r);
		assert_int_equal(r.st.code, RPC_OK);
		const struct rpc_group_describe_resp *d = r.body;
		const struct rpc_group_topic_info *ti = d->topics.v;
		const struct rpc_lag_info *q = ti[0].queues.v;
		for (uint32_t i = 0; i < ti[0].queues.n; i++) {
			int b = q[i].broker_name[7] - '1'; /* broker-N */
			snprintf(series, sizeof series,
				 "raftq_consumer_group_lag{group=\"%s\","
				 "topic=\"t\",broker=\"%s\",queue=\"%u\"}",
				 groups[k], q[i].broker_name, q[i].queue_id);
			assert_true(metric_is(h->nodes[b].http, series,
					      (double)q[i].lag));
			checked++;
		}
		ctl_resp_free(&r);
	}
	for (int b = 0; b < 3; b++) {
		assert_int_equal(http(h->nodes[b].http, "GET", "/metrics", 0,
				      text, sizeof text),
				 200);
		if (prom_check(text, err, sizeof err) != 0)
			fail_msg("node %d: %s", b + 1, err);
		leaders +=
		    prom_value(text, "raftq_raft_role{role=\"leader\"}") == 1;
		snprintf(
		    series, sizeof series,
		    "raftq_queue_max_offset{topic=\"t\",broker=\"broker-%d\","
		    "queue=\"1\"}",
		    b + 1);
		assert_true(prom_value(text, series) == 6 + 2 * b);
	}
	/* The age of the first unconsumed message: broker-3's queue 1 is
	 * consumed to its end (0 s); broker-1's queue 0 has waited since it
	 * was produced, under a minute ago. */
	assert_true(metric_is(h->nodes[2].http,
			      "raftq_consumer_group_lag_seconds{group=\"g\","
			      "topic=\"t\",broker=\"broker-3\",queue=\"1\"}",
			      0));
	usleep(200000); /* so the age is at least 0.2 s */
	assert_int_equal(h_http(h->nodes[0].http, "GET", "/metrics", NULL, 0,
				text, sizeof text),
			 200);
	double age = prom_value(text, "raftq_consumer_group_lag_seconds{"
				      "group=\"g\",topic=\"t\",broker=\"broker-"
				      "1\",queue=\"0\"}");
	print_message("lag_seconds of a queue with 2 waiting: %.3f s\n", age);
	assert_true(age >= 0.2 && age < 60);
	print_message("%d lag series equal group describe\n", checked);
	/* Resets counted by result on the leader: applied, dry run; one
	 * refused before it began (the guard's epoch is not the group's)
	 * counts among the RESET requests by code. */
	struct rpc_reset_req rr = h_reset_req("g", "t", "latest", 0);
	rr.dry_run = true;
	assert_int_equal(h_call_code(leader, RPC_RESET, &rr, 5000), RPC_OK);
	rr.dry_run = false;
	assert_int_equal(h_call_code(leader, RPC_RESET, &rr, 5000), RPC_OK);
	rr.expect = true;
	rr.expect_epoch = 99;
	assert_int_equal(h_call_code(leader, RPC_RESET, &rr, 5000),
			 RPC_STALE_EPOCH);
	const char *ls = h->nodes[h->leader].http;
	assert_true(metric_is(ls,
			      "raftq_resets_total{group=\"g\",topic=\"t\","
			      "result=\"applied\"}",
			      1));
	assert_true(metric_is(ls,
			      "raftq_resets_total{group=\"g\",topic=\"t\","
			      "result=\"dry_run\"}",
			      1));
	assert_true(metric_is(ls,
			      "raftq_requests_total{type=\"RESET\","
			      "code=\"STALE_EPOCH\"}",
			      1));
	assert_true(metric_is(
	    ls, "raftq_requests_total{type=\"RESET\",code=\"OK\"}", 2));
	assert_int_equal(checked, 12);
	assert_int_equal(leaders, 1);
}

/* The checker itself refuses what promtool would. */
static void test_http_prom_check_refuses_bad_text(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(prom_check("# TYPE a gauge\na 1\n", err, sizeof err),
			 0);
	assert_int_equal(prom_check("a 1\n", err, sizeof err), -1);
	assert_string_equal(err, "line 1: a has no TYPE line before it");
	assert_int_equal(prom_check("# TYPE a gauge\n# TYPE b gauge\na 1\n"
				    "b 2\na{x=\"1\"} 3\n",
				    err, sizeof err),
			 -1);
	assert_string_equal(err, "line 5: the samples of a are not together");
	assert_int_equal(
	    prom_check("# TYPE a gauge\na{x=\"1} 3\n", err, sizeof err), -1);
	assert_int_equal(prom_check("# TYPE a gauge\na x\n", err, sizeof err),
			 -1);
	assert_string_equal(err, "line 2: value 'x' is not a number");
	assert_int_equal(prom_check("# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
				    "h_bucket{le=\"+Inf\"} 1\nh_count 1\n",
				    err, sizeof err),
			 -1);
	assert_string_equal(err, "line 3: bucket le=+Inf below the one before");
	assert_int_equal(prom_check("# TYPE a gauge\na 1", err, sizeof err),
			 -1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_http_health_readiness_and_errors),
	    T(test_http_cut_off_follower_is_not_ready),
	    T(test_http_idle_connection_does_not_hold_a_stop),
	    T(test_http_connection_flood_is_bounded),
	    T(test_http_metrics_match_describe),
	    cmocka_unit_test(test_http_prom_check_refuses_bad_text),
	};
#undef T
	return cmocka_run_group_tests_name("integration/http", tests, NULL,
					   NULL);
}
