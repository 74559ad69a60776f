/*
 * Tokens and permissions on a real 3-node cluster with [auth] tokens_file
 * (issue 12, DESIGN.md §6.2): no token → FORBIDDEN; a consume-only token
 * cannot reset (FORBIDDEN names reset:G); a token with reset:G can, and
 * the history names its principal and client address; raw frames without
 * AUTH (COMMIT, RESET, JOIN, NODE_REMOVE) are refused and change nothing;
 * the token reaches raftqctl by --token, RAFTQ_TOKEN or token_file, and
 * libraftq by its config. Nodes reach each other with the cluster secret
 * (a reset gathers every broker's bounds).
 */
#include <netinet/in.h>
#include <raftq.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "ctl_fixture.h"

#define ADMIN "ops-token-0123456789abcdef"
#define APP "app-token-0123456789abcdef"
#define RESETTER "reset-token-0123456789abcdef"

static char tokens_dir[256];

/* `raftqctl auth hash TOKEN`'s line. */
static void hash_of(const char *token, char *out, size_t len)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s auth hash %s", RAFTQCTL_PATH, token);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, (int)len, p));
	assert_int_equal(pclose(p), 0);
	out[strcspn(out, "\n")] = '\0';
	assert_int_equal(strncmp(out, "$argon2id$v=19$m=19456,t=2,p=1$", 31),
			 0);
}

static int setup(void **state)
{
	char *dir = tu_mkdtemp();
	snprintf(tokens_dir, sizeof tokens_dir, "%s", dir);
	free(dir);
	char path[300], h1[160], h2[160], h3[160];
	hash_of(ADMIN, h1, sizeof h1);
	hash_of(APP, h2, sizeof h2);
	hash_of(RESETTER, h3, sizeof h3);
	snprintf(path, sizeof path, "%s/tokens", tokens_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"# raftq tokens\nops %s admin\n"
		"app %s produce:t,consume:g*   # the application\n"
		"resetter %s reset:g,consume:g\n",
		h1, h2, h3);
	fclose(f);
	h_auth_tokens_file(path);
	ctl_set_token(ADMIN); /* the harness's own calls */
	int rv = ctl_setup(state);
	h_auth_tokens_file(NULL);
	return rv;
}

static int teardown(void **state)
{
	int rv = h_teardown(state);
	ctl_set_token(NULL);
	tu_rmrf(tokens_dir);
	return rv;
}

/* Runs raftqctl with token @token (--token) and @args. */
static int ctl_as(struct fx *x, const char *token, const char *args)
{
	char a[1024];
	snprintf(a, sizeof a, "--token %s %s", token, args);
	return ctl(x, NULL, a);
}

static void test_auth_reset_needs_the_reset_permission(void **state)
{
	struct fx *x = *state;
	/* No token: nothing at all. */
	assert_int_equal(ctl(x, NULL, "topic list"), 1);
	assert_string_equal(x->err,
			    "error: FORBIDDEN: authentication required: this "
			    "node has [auth] tokens_file; give a token "
			    "(--token, RAFTQ_TOKEN or token_file)\n");
	assert_int_equal(ctl_as(x, "not-a-token-of-this-cluster", "topic list"),
			 1);
	assert_string_equal(x->err,
			    "error: FORBIDDEN: the token given was not "
			    "accepted by this node (no line of its tokens "
			    "file matches it): check --token, RAFTQ_TOKEN or "
			    "token_file\n");
	/* Topics and groups are admin's. */
	assert_int_equal(ctl_as(x, APP, "topic create t --queues 2"), 1);
	assert_string_equal(x->err, "error: FORBIDDEN: permission admin "
				    "needed: token 'app' does not have it\n");
	assert_int_equal(ctl_as(x, ADMIN, "topic create t --queues 2"), 0);
	assert_int_equal(ctl_as(x, ADMIN, "group create g --initial earliest"),
			 0);
	/* The application produces and consumes, but cannot reset. */
	assert_int_equal(ctl(x, "a\\nb\\nc\\nd\\ne\\nf\\n",
			     "--token " APP " produce --topic t"),
			 0);
	assert_string_equal(x->out, "produced 6 messages to t\n");
	assert_int_equal(
	    ctl_as(x, APP,
		   "consume --group g --topic t --count 6 --timeout "
		   "5000"),
	    0);
	assert_int_equal(ctl_as(x, APP,
				"offset reset --group g --topic t "
				"--to-earliest"),
			 1);
	assert_string_equal(x->err, "error: FORBIDDEN: permission reset:g "
				    "needed: token 'app' does not have it\n");
	assert_int_equal(ctl_as(x, APP, "produce --topic other --count 1"), 1);
	/* A token with reset:g can; the history names who and from where. */
	assert_int_equal(ctl_as(x, RESETTER,
				"--json offset reset --group g "
				"--topic t --to-earliest"),
			 0);
	assert_int_equal(ctl_as(x, RESETTER,
				"--json offset history --group g "
				"--topic t"),
			 0);
	json_t *j = json_loads(x->out, 0, NULL);
	assert_non_null(j);
	json_t *e = json_array_get(json_object_get(j, "resets"), 0);
	const char *who = json_string_value(json_object_get(e, "requester"));
	assert_non_null(who);
	assert_int_equal(strncmp(who, "resetter from 127.0.0.1:", 24), 0);
	char said[128]; /* what raftqctl calls its user (cmd_offset.c) */
	snprintf(said, sizeof said, " (%s@raftqctl)",
		 getenv("USER") ? getenv("USER") : "operator");
	assert_string_equal(who + strlen(who) - strlen(said), said);
	json_decref(j);
	/* admin may do everything. */
	assert_int_equal(
	    ctl_as(x, ADMIN, "offset reset --group g --topic t --to-latest"),
	    0);
	/* Reading a group needs a right on it. */
	assert_int_equal(ctl_as(x, RESETTER, "group describe g"), 0);
	assert_int_equal(ctl_as(x, ADMIN, "group create h"), 0);
	assert_int_equal(ctl_as(x, RESETTER, "group describe h"), 1);
	assert_string_equal(x->err,
			    "error: FORBIDDEN: permission consume:h or reset:h "
			    "needed: token 'resetter' does not have it\n");
}

/* Frames sent without AUTH, as a hostile client would: refused, and the
 * state and the membership unchanged. */
static void test_auth_anonymous_frames_change_nothing(void **state)
{
	struct fx *x = *state;
	struct harness *h = &x->h;
	assert_int_equal(ctl_as(x, ADMIN,
				"topic create t --queues 1 "
				"--brokers broker-1"),
			 0);
	assert_int_equal(ctl_as(x, ADMIN, "group create g --initial earliest"),
			 0);
	assert_int_equal(ctl_as(x, ADMIN, "produce --topic t --count 9"), 0);
	const char *leader = h->nodes[h->leader].listen;
	const char *anon = "authentication required: this node has [auth] "
			   "tokens_file; give a token (--token, RAFTQ_TOKEN "
			   "or token_file)";
	ctl_set_token(NULL);
	struct rpc_commit_item it = {"t", "broker-1", 0, 5, 0};
	struct rpc_commit_req c = {"g", NULL, {&it, 1}};
	h_expect_refusal(leader, RPC_COMMIT, &c, RPC_FORBIDDEN, anon);
	struct rpc_reset_req r = h_reset_req("g", "t", "offset", 3);
	h_expect_refusal(leader, RPC_RESET, &r, RPC_FORBIDDEN, anon);
	struct rpc_join_req jq = {
	    77, "evil", "127.0.0.1:1", "127.0.0.1:2", H_CLUSTER_SECRET, false};
	h_expect_refusal(leader, RPC_JOIN, &jq, RPC_FORBIDDEN, anon);
	struct rpc_node_remove_req rq = {2, H_CLUSTER_SECRET};
	h_expect_refusal(leader, RPC_NODE_REMOVE, &rq, RPC_FORBIDDEN, anon);
	/* Nor can a token without admin change the membership. */
	ctl_set_token(APP);
	h_expect_refusal(
	    leader, RPC_JOIN, &jq, RPC_FORBIDDEN,
	    "permission admin needed: token 'app' does not have it");
	h_expect_refusal(
	    leader, RPC_RESET, &r, RPC_FORBIDDEN,
	    "permission reset:g needed: token 'app' does not have it");
	/* The group never committed: it starts at 0 (earliest). */
	ctl_set_token(ADMIN);
	struct rpc_offsets_req oq = {"g", "t"};
	struct ctl_resp o;
	h_call(leader, RPC_OFFSETS, &oq, 5000, &o);
	assert_int_equal(o.st.code, RPC_OK);
	const struct rpc_offsets_resp * or = o.body;
	assert_int_equal(or->epoch, 0);
	assert_int_equal(or->queues.n, 1);
	assert_int_equal(
	    ((const struct rpc_offset_info *) or->queues.v)[0].offset, 0);
	ctl_resp_free(&o);
	assert_int_equal(ctl_as(x, ADMIN, "--json cluster status"), 0);
	assert_null(strstr(x->out, "\"id\":77"));
	assert_non_null(strstr(x->out, "\"id\":2,"));
	assert_int_equal(
	    ctl_as(x, ADMIN, "--json offset history --group g --topic t"), 0);
	assert_string_equal(x->out, "{\"resets\":[]}\n");
}

static void on_delivery(void *arg, const struct raftq_delivery *d)
{
	*(int *)arg += d->err == 0 ? 1 : 1000;
}

/* $RAFTQ_TOKEN, then token_file in ~/.config/raftq/raftqctl.ini; libraftq
 * takes token / token_file in its config. */
static void test_auth_token_sources(void **state)
{
	struct fx *x = *state;
	char home[300], dir[400], ini[450], tf[450];
	snprintf(home, sizeof home, "%s/home", tokens_dir);
	snprintf(dir, sizeof dir, "%s/.config/raftq", home);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(tf, sizeof tf, "%s/token", home);
	snprintf(ini, sizeof ini, "%s/raftqctl.ini", dir);
	FILE *f = fopen(tf, "w");
	fprintf(f, "%s\n", ADMIN);
	fclose(f);
	f = fopen(ini, "w");
	fprintf(f, "[raftqctl]\ntoken_file = %s\n", tf);
	fclose(f);
	const char *old_home = getenv("HOME");
	char saved[512];
	snprintf(saved, sizeof saved, "%s", old_home ? old_home : "/");
	setenv("HOME", home, 1);
	assert_int_equal(ctl(x, NULL, "topic create t --queues 1"), 0);
	setenv("RAFTQ_TOKEN", APP, 1); /* before the file */
	assert_int_equal(ctl(x, NULL, "topic create u --queues 1"), 1);
	assert_non_null(strstr(x->err, "token 'app'"));
	unsetenv("RAFTQ_TOKEN");
	setenv("HOME", saved, 1);

	/* libraftq, token from a file: a produce acknowledged. */
	struct raftq_config cfg = {.bootstrap = x->boot, .token_file = tf};
	struct raftq_client *c;
	char err[256];
	assert_int_equal(raftq_client_new(&cfg, &c, err, sizeof err), 0);
	int acked = 0;
	struct raftq_producer_config pc = {
	    .topic = "t", .on_delivery = on_delivery, .arg = &acked};
	struct raftq_producer *p;
	assert_int_equal(raftq_producer_new(c, &pc, &p), 0);
	assert_int_equal(raftq_produce(p, NULL, 0, "m", 1, NULL), 0);
	assert_int_equal(raftq_producer_flush(p, 10000), 0);
	assert_int_equal(acked, 1);
	raftq_producer_close(p, 0);
	raftq_client_free(c);
	cfg.token_file = "/nonexistent/token";
	assert_int_equal(raftq_client_new(&cfg, &c, err, sizeof err),
			 RAFTQ_EIO);
	assert_string_equal(err, "token_file /nonexistent/token: No such file "
				 "or directory");
}

/* HTTP with auth on: probes stay open; /metrics needs a token given as
 * Authorization: Bearer — none or a wrong one is 403 with §6.1's error
 * shape; a token's first use waits for its check, then it is cached. */
static void test_auth_http_bearer(void **state)
{
	struct fx *x = *state;
	const char *a = x->h.nodes[0].http;
	char body[1 << 16];
	assert_int_equal(
	    h_http(a, "GET", "/readyz", NULL, 0, body, sizeof body), 200);
	assert_int_equal(
	    h_http(a, "GET", "/metrics", NULL, 0, body, sizeof body), 403);
	assert_string_equal(body,
			    "{\"error_code\":\"RAFTQ.FORBIDDEN\",\"error_msg\":"
			    "\"authentication required: this node has [auth] "
			    "tokens_file; send Authorization: Bearer TOKEN\"}");
	assert_int_equal(h_http(a, "GET", "/metrics",
				"Authorization: Bearer wrong-token-xyz\r\n", 0,
				body, sizeof body),
			 403);
	assert_string_equal(body,
			    "{\"error_code\":\"RAFTQ.FORBIDDEN\",\"error_msg\":"
			    "\"the token given was not accepted by this node "
			    "(no line of its tokens file matches it)\"}");
	/* A client that leaves while its token is being checked: the
	 * check's end finds the request gone (ASan watches this). */
	int fd = h_dial(a);
	const char *req = "GET /metrics HTTP/1.1\r\nHost: raftq\r\n"
			  "Authorization: Bearer " RESETTER "\r\n\r\n";
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
			 (ssize_t)strlen(req));
	close(fd);
	/* Twice: the slow check, then the cache. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(h_http(a, "GET", "/metrics",
					"Authorization: Bearer " APP "\r\n", 0,
					body, sizeof body),
				 200);
		assert_non_null(strstr(body, "# TYPE raftq_raft_term gauge\n"));
	}
}

/* POST @path with @json as @token on node @i: the status, body in @b. */
static int post_as(struct fx *x, int i, const char *token, const char *path,
		   const char *json, char *b, size_t cap)
{
	char hdr[256];
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
	return h_http_json(x->h.nodes[i].http, "POST", path, hdr, json, b, cap);
}

#define HUAWEI_G "/v2/rocketmq/p/instances/raftq/groups/g/reset-message-offset"

/* The HTTP API with auth on, on every node: the permissions are the
 * token's on followers too — a request a follower sends on to the leader
 * is checked there as its token, not as the node (an undo and a copy are
 * checked inside their handlers, on the leader) — and the history names
 * the token and the HTTP client. */
static void test_auth_http_api_on_every_node(void **state)
{
	struct fx *x = *state;
	char b[8192], path[128];
	assert_int_equal(ctl_as(x, ADMIN, "topic create t --queues 1"), 0);
	assert_int_equal(ctl_as(x, ADMIN, "group create g"), 0);
	assert_int_equal(ctl_as(x, ADMIN, "group create h"), 0);
	const char *ts = "{\"topic\":\"t\",\"timestamp\":0}";
	for (int i = 0; i < 3; i++) {
		assert_int_equal(post_as(x, i, APP, HUAWEI_G, ts, b, sizeof b),
				 403);
		assert_string_equal(
		    b, "{\"error_code\":\"RAFTQ.FORBIDDEN\",\"error_msg\":"
		       "\"permission reset:g needed: token 'app' does not "
		       "have it\"}");
		assert_int_equal(
		    post_as(x, i, RESETTER, HUAWEI_G, ts, b, sizeof b), 200);
		/* Undo is checked in its handler (the reset's group). */
		snprintf(path, sizeof path, "/api/v1/resets/%d/undo", i + 1);
		assert_int_equal(post_as(x, i, APP, path, "", b, sizeof b),
				 403);
		assert_string_equal(
		    b, "{\"error_code\":\"RAFTQ.FORBIDDEN\",\"error_msg\":"
		       "\"permission reset:g needed: token 'app' does not "
		       "have it\"}");
		/* A copy needs a read right on its source group. */
		assert_int_equal(
		    post_as(x, i, RESETTER, "/api/v1/groups/g/reset",
			    "{\"topic\":\"t\",\"target\":\"group\","
			    "\"source_group\":\"h\",\"dry_run\":true}",
			    b, sizeof b),
		    403);
		assert_string_equal(
		    b, "{\"error_code\":\"RAFTQ.FORBIDDEN\",\"error_msg\":"
		       "\"permission consume:h or reset:h needed: token "
		       "'resetter' does not have it\"}");
	}
	assert_int_equal(
	    ctl_as(x, RESETTER, "--json offset history --group g --topic t"),
	    0);
	json_t *j = json_loads(x->out, 0, NULL);
	json_t *resets = json_object_get(j, "resets");
	assert_int_equal(json_array_size(resets), 3);
	for (size_t k = 0; k < 3; k++) {
		const char *who = json_string_value(
		    json_object_get(json_array_get(resets, k), "requester"));
		assert_int_equal(strncmp(who, "resetter from 127.0.0.1:", 24),
				 0);
		assert_non_null(
		    strstr(who, " (resetter over http from 127.0.0.1:"));
	}
	json_decref(j);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_auth_reset_needs_the_reset_permission),
	    T(test_auth_anonymous_frames_change_nothing),
	    T(test_auth_token_sources),
	    T(test_auth_http_bearer),
	    T(test_auth_http_api_on_every_node),
	};
#undef T
	return cmocka_run_group_tests_name("integration/auth", tests, NULL,
					   NULL);
}
