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

static int setup(void **state)
{
	*state = h_fixture(sizeof(struct harness), 3, true);
	return *state ? 0 : -1;
}

static int dial(const char *addr)
{
	struct sockaddr_storage ss;
	assert_int_equal(rpc_addr_parse(addr, &ss), 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(
	    connect(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)), 0);
	return fd;
}

/* Reads @fd until the peer closes (at most 5 s) into @out. */
static size_t read_all(int fd, char *out, size_t cap)
{
	size_t n = 0;
	for (int i = 0; i < 500 && n + 1 < cap; i++) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	return n;
}

/* One request (Connection: close): the status code, the body in @body. */
static int http(const char *addr, const char *method, const char *path,
		size_t body_len, char *body, size_t cap)
{
	int fd = dial(addr);
	char head[512];
	int k = snprintf(head, sizeof head,
			 "%s %s HTTP/1.1\r\nHost: raftq\r\nConnection: "
			 "close\r\nContent-Length: %zu\r\n\r\n",
			 method, path, body_len);
	assert_int_equal(send(fd, head, (size_t)k, MSG_NOSIGNAL), k);
	for (size_t sent = 0; sent < body_len;) {
		static const char zeros[65536];
		size_t m = body_len - sent < sizeof zeros ? body_len - sent
							  : sizeof zeros;
		ssize_t w = send(fd, zeros, m, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* the server answered and closed */
		sent += (size_t)w;
	}
	static char resp[65536];
	read_all(fd, resp, sizeof resp);
	close(fd);
	int status = 0;
	assert_int_equal(sscanf(resp, "HTTP/1.1 %d", &status), 1);
	const char *b = strstr(resp, "\r\n\r\n");
	snprintf(body, cap, "%s", b ? b + 4 : "");
	return status;
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

/* An idle keep-alive HTTP connection does not hold a stopping node: h2o
 * closes it after NODE_HTTP_IDLE_MS (2 s), then the node exits 0. */
static void test_http_idle_connection_does_not_hold_a_stop(void **state)
{
	struct harness *h = *state;
	int fd = dial(h->nodes[0].http);
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

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_http_health_readiness_and_errors),
	    T(test_http_cut_off_follower_is_not_ready),
	    T(test_http_idle_connection_does_not_hold_a_stop),
	};
#undef T
	return cmocka_run_group_tests_name("integration/http", tests, NULL,
					   NULL);
}
