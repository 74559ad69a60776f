/*
 * What a hostile client can do to a running cluster (issue 12,
 * DESIGN.md §6.2): the Raft membership changes only with the cluster
 * secret, and a JOIN naming a malformed address or id is refused before
 * anything is proposed. Every refusal leaves the membership as it was.
 * Request bytes held for clients have a node-wide budget: a hundred
 * connections each stalling in a 16 MiB frame cost at most
 * max_buffered_bytes, not 640 MiB; clients that never read their FETCH
 * answers hold at most max_unsent_bytes; both at once stay under 256 MiB
 * while a client that behaves is served. Wrong-typed fields of every
 * request type, random bytes and a connection flood cost the sender its
 * request or connection, never the node.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdalign.h>

#include "../unit/test_util.h"
#include "harness.h"

static int setup(void **state)
{
	*state = h_fixture(sizeof(struct harness), 3, false);
	return *state ? 0 : -1;
}

/* The ids in the cluster's configuration, as "1,2,3". */
static void members(struct harness *h, char *out, size_t len)
{
	struct ctl_resp r;
	struct rpc_status_req q = {false, NULL};
	h_call(h->nodes[h->leader].listen, RPC_CLUSTER_STATUS, &q, 5000, &r);
	assert_int_equal(r.st.code, RPC_OK);
	const struct rpc_status_resp *s = r.body;
	const struct rpc_node_status *ns = s->nodes.v;
	size_t at = 0;
	out[0] = '\0';
	for (uint32_t i = 0; i < s->nodes.n && at < len; i++)
		at +=
		    (size_t)snprintf(out + at, len - at, "%s%llu", i ? "," : "",
				     (unsigned long long)ns[i].id);
	ctl_resp_free(&r);
}

static void refused(struct harness *h, uint16_t type, const void *req,
		    uint32_t code, const char *text)
{
	h_expect_refusal(h->nodes[h->leader].listen, type, req, code, text);
}

/* Anonymous or wrong-secret JOIN and NODE_REMOVE: FORBIDDEN, nothing
 * changed (the outside probe added voters 0 and 77 this way). */
static void test_hostile_membership_needs_the_secret(void **state)
{
	struct harness *h = *state;
	struct rpc_join_req j = {77,	      "evil", "1.2.3.4:2",
				 "1.2.3.4:2", NULL,   false};
	refused(h, RPC_JOIN, &j, RPC_FORBIDDEN,
		"JOIN needs the cluster secret ([auth] cluster_secret, the "
		"same on every node): none was given");
	j.secret = "not-the-secret-at-all";
	refused(h, RPC_JOIN, &j, RPC_FORBIDDEN,
		"JOIN needs the cluster secret ([auth] cluster_secret, the "
		"same on every node): the one given is wrong");
	struct rpc_node_remove_req rm = {2, NULL};
	refused(h, RPC_NODE_REMOVE, &rm, RPC_FORBIDDEN,
		"NODE_REMOVE needs the cluster secret ([auth] cluster_secret, "
		"the same on every node): none was given");
	char ids[64];
	members(h, ids, sizeof ids);
	assert_string_equal(ids, "1,2,3");
}

/* With the secret, a malformed member is refused before any change. */
static void test_hostile_join_checks_what_it_adds(void **state)
{
	struct harness *h = *state;
	struct rpc_join_req j = {77,	    "evil",	      "1.2.3.4:2",
				 "garbage", H_CLUSTER_SECRET, false};
	refused(h, RPC_JOIN, &j, RPC_INVALID_ARGUMENT,
		"raft_address: 'garbage' is not a numeric IPv4:PORT");
	j.raft_address = "1.2.3.4:0";
	refused(h, RPC_JOIN, &j, RPC_INVALID_ARGUMENT,
		"raft_address: '1.2.3.4:0' is not a numeric IPv4:PORT");
	j.raft_address = "1.2.3.4:2";
	j.listen = "nowhere";
	refused(h, RPC_JOIN, &j, RPC_INVALID_ARGUMENT,
		"listen: 'nowhere' is not a numeric IP:PORT");
	j.listen = "1.2.3.4:2";
	j.id = 0;
	refused(h, RPC_JOIN, &j, RPC_INVALID_ARGUMENT,
		"id: 0 is not a node id (1 to 4294967295)");
	j.id = 77;
	j.name = "bad name";
	refused(h, RPC_JOIN, &j, RPC_INVALID_ARGUMENT,
		"name: 'bad name' is not a broker name (1-127 of A-Z a-z "
		"0-9 . _ -)");
	char ids[64];
	members(h, ids, sizeof ids);
	assert_string_equal(ids, "1,2,3");
}

/* Topic "big" (one queue per broker) with about 8 MB in the leader's
 * queue 0. */
static void fill_big(struct harness *h)
{
	struct h_node *n = &h->nodes[h->leader];
	assert_int_equal(h_create_topic(h, "big", 1), 0);
	static uint8_t p[20000 * 13];
	uint32_t len = h_records(p, 20000, 7);
	for (int i = 0; i < 40; i++) {
		struct rpc_produce_req in = {"big", 0, 20000, 0, {p, len},
					     0,	    0, NULL,  0};
		assert_int_equal(h_call_code(n->listen, RPC_PRODUCE, &in, 5000),
				 RPC_OK);
	}
}

/* 300 pipelined FETCHes of 1 MiB from "big" into @sb (initialized here;
 * the caller destroys it): what a client that never reads sends. */
static void unread_fetches(msgpack_sbuffer *sb)
{
	msgpack_sbuffer_init(sb);
	struct rpc_fetch_req fq = {NULL,     "big", 0,	  0,   0,
				   1u << 20, 0,	    NULL, NULL};
	for (int i = 0; i < 300; i++)
		assert_int_equal(
		    rpc_encode(sb, RPC_FETCH, (uint64_t)i + 1, NULL, &fq, 0),
		    0);
}

/* Resident memory of process @pid in MiB (/proc). */
static long rss_mib(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kb / 1024;
}

/* ASan's shadow memory and its quarantine of freed blocks add to RSS. */
#ifdef __SANITIZE_ADDRESS__
#define RSS_BOUND_MIB 1024
#else
#define RSS_BOUND_MIB 256
#endif

/* The probe (40 connections each holding a partial 16 MiB frame
 * raised a node to 717 MB), with DESIGN.md §6.2's 100 clients. Now the
 * connection that takes the held bytes over max_buffered_bytes (96 MiB) is
 * closed with a log line, and the node keeps serving. */
static void test_hostile_partial_frames_are_bounded(void **state)
{
	struct harness *h = *state;
	struct h_node *n = &h->nodes[h->leader];
	enum { CONNS = 100, PART = 15 << 20 };
	uint8_t *part = calloc(1, PART);
	assert_non_null(part);
	part[1] = 0xf4, part[2] = 0x24; /* a frame of 16,000,000 bytes */
	int fd[CONNS], cut = 0;
	for (int i = 0; i < CONNS; i++) {
		fd[i] = h_dial(n->listen);
		size_t at = 0;
		while (at < PART) {
			ssize_t w =
			    send(fd[i], part + at, PART - at, MSG_NOSIGNAL);
			if (w <= 0)
				break; /* closed over the budget */
			at += (size_t)w;
		}
		cut += at < PART;
	}
	free(part);
	long rss = rss_mib(n->pid);
	print_message("node RSS with %d stalled 16 MiB frames: %ld MiB; %d "
		      "connections cut\n",
		      CONNS, rss, cut);
	assert_true(rss > 0 && rss < RSS_BOUND_MIB);
	/* How many exactly depends on how much of each frame the kernel's
	 * socket buffers held when the node's budget ran out (tcp_rmem's
	 * maximum is 32 MiB on Debian 12): 94 on an idle machine, 92 in a
	 * loaded CI run. Without the budget none is cut; the node's own
	 * bound is its RSS, checked above. */
	assert_true(cut >= CONNS / 2);
	assert_true(h_log_has(h, h->leader,
			      "went over max_buffered_bytes (100663296)"));
	struct rpc_status_req q = {true, NULL};
	assert_int_equal(h_call_code(n->listen, RPC_CLUSTER_STATUS, &q, 5000),
			 RPC_OK);
	for (int i = 0; i < CONNS; i++)
		close(fd[i]);
}

/* The other probe (five clients pipelining 1 MiB FETCHes and
 * never reading raised a node from 68 to 402 MB), with 100 clients. Now every
 * FETCH answer is cut to what the connection and the node may still queue
 * (max_pending_bytes, max_unsent_bytes 96 MiB): the node stays bounded
 * and keeps answering others. */
static void test_hostile_unread_fetches_are_bounded(void **state)
{
	struct harness *h = *state;
	struct h_node *n = &h->nodes[h->leader];
	fill_big(h);
	msgpack_sbuffer sb;
	unread_fetches(&sb);
	enum { READERS = 100 }; /* DESIGN.md §6.2: 100 such clients */
	int fd[READERS];
	for (int c = 0; c < READERS; c++) {
		fd[c] = h_dial(n->listen);
		assert_int_equal(send(fd[c], sb.data, sb.size, MSG_NOSIGNAL),
				 (ssize_t)sb.size);
	}
	msgpack_sbuffer_destroy(&sb);
	usleep(2000000); /* the node answers what it may */
	long rss = rss_mib(n->pid);
	print_message("node RSS with %d clients not reading 300 FETCH "
		      "answers each: %ld MiB\n",
		      READERS, rss);
	assert_true(rss > 0 && rss < RSS_BOUND_MIB);
	struct rpc_status_req q = {true, NULL};
	assert_int_equal(h_call_code(n->listen, RPC_CLUSTER_STATUS, &q, 5000),
			 RPC_OK);
	for (int c = 0; c < READERS; c++)
		close(fd[c]);
}

/* ---- Both attacks at once, and a client that behaves ---- */

struct good_client {
	struct harness *h;
	pid_t node;
	volatile bool stop;
	int rounds, failed;
	char why[300]; /* the first failure's answer */
	long peak_rss;
	int64_t lat_us[4000];
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Produces one small batch and reads the node's status, round after
 * round (at most 4000, 5 ms apart), timing each; samples the node's RSS. */
static void *good_client_run(void *arg)
{
	struct good_client *g = arg;
	struct h_node *n = &g->h->nodes[g->h->leader];
	uint8_t p[64];
	uint32_t len = h_records(p, 3, 1);
	while (!g->stop && g->rounds < 4000) {
		struct rpc_produce_req in = {"small", 0, 3,    0, {p, len},
					     0,	      0, NULL, 0};
		struct rpc_status_req q = {true, NULL};
		int64_t t0 = h_now_us();
		struct ctl_resp r;
		h_call(n->listen, RPC_PRODUCE, &in, 5000, &r);
		uint32_t a = r.err ? 9999 : r.st.code;
		if (a != RPC_OK && g->why[0] == '\0')
			snprintf(g->why, sizeof g->why, "produce: %s: %s",
				 a == 9999 ? "no answer" : rpc_code_name(a),
				 r.st.message ? r.st.message : "");
		ctl_resp_free(&r);
		uint32_t b =
		    h_call_code(n->listen, RPC_CLUSTER_STATUS, &q, 5000);
		if (b != RPC_OK && g->why[0] == '\0')
			snprintf(g->why, sizeof g->why, "status: code %u", b);
		g->lat_us[g->rounds++] = h_now_us() - t0;
		g->failed += a != RPC_OK || b != RPC_OK;
		long rss = rss_mib(g->node);
		if (rss > g->peak_rss)
			g->peak_rss = rss;
		usleep(5000);
	}
	return NULL;
}

/* DESIGN.md §6.2's "done when": 100 clients never reading their FETCH
 * answers plus 100 connections each stalled inside a maximum-size frame,
 * at the same time: the node's RSS stays under 256 MiB and a client that
 * behaves is served all along (its latency printed). */
static void test_hostile_slow_and_stalled_clients_at_once(void **state)
{
	struct harness *h = *state;
	struct h_node *n = &h->nodes[h->leader];
	fill_big(h);
	assert_int_equal(h_create_topic(h, "small", 1), 0);
	struct good_client *g = calloc(1, sizeof *g);
	g->h = h;
	g->node = n->pid;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, good_client_run, g), 0);
	msgpack_sbuffer sb;
	unread_fetches(&sb);
	enum { SLOW = 100, STALLED = 100, PART = 15 << 20 };
	int fd[SLOW + STALLED], cut = 0;
	for (int c = 0; c < SLOW; c++) {
		fd[c] = h_dial(n->listen);
		assert_int_equal(send(fd[c], sb.data, sb.size, MSG_NOSIGNAL),
				 (ssize_t)sb.size);
	}
	msgpack_sbuffer_destroy(&sb);
	uint8_t *part = calloc(1, PART);
	part[1] = 0xf4, part[2] = 0x24; /* a frame of 16,000,000 bytes */
	for (int c = SLOW; c < SLOW + STALLED; c++) {
		fd[c] = h_dial(n->listen);
		size_t at = 0;
		ssize_t w = 1;
		while (at < PART && w > 0) {
			w = send(fd[c], part + at, PART - at, MSG_NOSIGNAL);
			at += w > 0 ? (size_t)w : 0;
		}
		cut += at < PART;
	}
	free(part);
	usleep(2000000); /* the node answers what it may */
	g->stop = true;
	pthread_join(t, NULL);
	qsort(g->lat_us, (size_t)g->rounds, sizeof g->lat_us[0], cmp_i64);
	print_message(
	    "%d slow readers + %d stalled frames (%d cut): peak node RSS %ld "
	    "MiB; a good client's %d rounds (produce + status): p50 %.2f ms, "
	    "p99 %.2f ms, max %.2f ms, %d failed\n",
	    SLOW, STALLED, cut, g->peak_rss, g->rounds,
	    (double)g->lat_us[g->rounds / 2] / 1000,
	    (double)g->lat_us[g->rounds * 99 / 100] / 1000,
	    (double)g->lat_us[g->rounds - 1] / 1000, g->failed);
	if (g->failed > 0)
		print_message("the first failure: %s\n", g->why);
	assert_true(g->peak_rss > 0 && g->peak_rss < RSS_BOUND_MIB);
	assert_int_equal(g->failed, 0);
	assert_true(g->rounds >= 100);
	for (int c = 0; c < SLOW + STALLED; c++)
		close(fd[c]);
	free(g);
}

/* ---- Bytes that are not requests ---- */

/* Sends @len bytes of frame @sb's data prefixed by its length. */
static void send_framed(int fd, const msgpack_sbuffer *sb)
{
	uint8_t len[4] = {(uint8_t)(sb->size >> 24), (uint8_t)(sb->size >> 16),
			  (uint8_t)(sb->size >> 8), (uint8_t)sb->size};
	assert_int_equal(send(fd, len, 4, MSG_NOSIGNAL), 4);
	assert_int_equal(send(fd, sb->data, sb->size, MSG_NOSIGNAL),
			 (ssize_t)sb->size);
}

/* Reads one frame from @fd (up to 5 s): 1 and @f, or 0 (closed, none). */
static int read_frame(int fd, struct rpc_reader *rd, struct rpc_frame *f)
{
	for (int i = 0; i < 500; i++) {
		int rv = rpc_reader_next(rd, f);
		if (rv != 0)
			return rv == 1;
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10) <= 0)
			continue;
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0)
			return 0;
		assert_int_equal(rpc_reader_feed(rd, buf, (size_t)n), 0);
	}
	return 0;
}

/* A value of a type field kind @k does not take. */
static void pack_wrong(msgpack_packer *pk, enum rpc_kind k)
{
	if (k == RPC_K_STR || k == RPC_K_STRS || k == RPC_K_U64S ||
	    k == RPC_K_LIST)
		msgpack_pack_int(pk, 7);
	else if (k == RPC_K_BIN)
		msgpack_pack_map(pk, 0);
	else
		msgpack_pack_str_with_body(pk, "x", 1);
}

/* Request @type with every field of its schema of the wrong type (a type
 * without fields: an unknown key, skipped as the schema says); the
 * answer, checked. */
static void wrong_types(int fd, struct rpc_reader *rd, uint16_t type)
{
	const struct rpc_schema *sc = rpc_schema_of(type);
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, RPC_VERSION);
	msgpack_pack_uint16(&pk, type);
	msgpack_pack_uint64(&pk, type);
	msgpack_pack_map(&pk, sc->n ? sc->n : 1);
	if (sc->n == 0) {
		msgpack_pack_str_with_body(&pk, "zzz", 3);
		msgpack_pack_int(&pk, 7);
	}
	for (uint32_t i = 0; i < sc->n; i++) {
		const char *name = sc->fields[i].name;
		msgpack_pack_str_with_body(&pk, name, strlen(name));
		pack_wrong(&pk, sc->fields[i].kind);
	}
	send_framed(fd, &sb);
	msgpack_sbuffer_destroy(&sb);
	struct rpc_frame f;
	if (read_frame(fd, rd, &f) != 1)
		fail_msg("%s: no answer", rpc_type_name(type));
	assert_int_equal(f.type, type | RPC_RESPONSE);
	assert_int_equal(f.request_id, type);
	alignas(max_align_t) uint8_t out[1024];
	struct rpc_status st;
	assert_int_equal(rpc_decode(&f, f.type, out, &st, NULL), 0);
	char want[128];
	snprintf(want, sizeof want, "malformed %s request: field ",
		 rpc_type_name(type));
	if (sc->n == 0 ? st.code != RPC_OK
		       : st.code != RPC_INVALID_ARGUMENT ||
			     strncmp(st.message, want, strlen(want)) != 0)
		fail_msg("%s: %u %s", rpc_type_name(type), st.code, st.message);
	rpc_frame_release(&f);
}

/* Every request type with every field of the wrong type is answered
 * INVALID_ARGUMENT naming the type and a field, on one connection that
 * stays open, and the node goes on. */
static void test_hostile_wrong_typed_fields_of_every_request(void **state)
{
	struct harness *h = *state;
	struct h_node *n = &h->nodes[h->leader];
	int fd = h_dial(n->listen);
	struct rpc_reader rd;
	rpc_reader_init(&rd, RPC_FRAME_MAX_DEFAULT);
	int types = 0;
#define WRONG_(num, NAME, req, resp)      \
	wrong_types(fd, &rd, RPC_##NAME); \
	types++;
	RPC_MESSAGES(WRONG_)
#undef WRONG_
	print_message("%d request types, each refused field by field\n", types);
	assert_int_equal(types, 26);
	rpc_reader_close(&rd);
	close(fd);
	struct rpc_status_req q = {true, NULL};
	assert_int_equal(h_call_code(n->listen, RPC_CLUSTER_STATUS, &q, 5000),
			 RPC_OK);
}

/* Random bytes on 200 connections (seeded: the same every run): each
 * connection is closed or left waiting for the rest of a frame, never the
 * node; a bad frame is logged. */
static void test_hostile_random_bytes(void **state)
{
	struct harness *h = *state;
	struct h_node *n = &h->nodes[h->leader];
	enum { CONNS = 200 };
	unsigned seed = 12;
	static uint8_t junk[65536];
	int fd[CONNS];
	for (int c = 0; c < CONNS; c++) {
		size_t len = 1 + (size_t)rand_r(&seed) % sizeof junk;
		for (size_t i = 0; i < len; i++)
			junk[i] = (uint8_t)rand_r(&seed);
		if (c % 2 == 0) /* a small length: a body msgpack must read */
			junk[0] = junk[1] = 0;
		fd[c] = h_dial(n->listen);
		(void)send(fd[c], junk, len, MSG_NOSIGNAL);
	}
	struct rpc_status_req q = {true, NULL};
	assert_int_equal(h_call_code(n->listen, RPC_CLUSTER_STATUS, &q, 5000),
			 RPC_OK);
	assert_true(h_log_has(h, h->leader, "; closing it"));
	for (int c = 0; c < CONNS; c++)
		close(fd[c]);
	int status;
	assert_false(h_reap(h, h->leader, &status));
}

/* 1,100 connections at once: those over max_connections (1024) are closed
 * as they arrive, logged; once they go, a client is served again. */
static void test_hostile_connection_flood(void **state)
{
	struct harness *h = *state;
	struct h_node *n = &h->nodes[h->leader];
	enum { CONNS = 1100 };
	int *fd = calloc(CONNS, sizeof *fd);
	for (int c = 0; c < CONNS; c++)
		fd[c] = h_dial(n->listen);
	int closed = 0;
	for (int c = 0; c < CONNS; c++) {
		struct pollfd p = {fd[c], POLLIN, 0};
		char b;
		if (poll(&p, 1, c < 1000 ? 0 : 2000) == 1 &&
		    recv(fd[c], &b, 1, 0) <= 0)
			closed++;
	}
	print_message("%d connections: %d closed by the node\n", CONNS, closed);
	/* The peers' links and the lease polls hold a few of the 1024. */
	assert_true(closed >= CONNS - 1024 && closed <= CONNS - 1024 + 8);
	assert_true(h_log_has(h, h->leader, "max_connections (1024) reached"));
	for (int c = 0; c < CONNS; c++)
		close(fd[c]);
	free(fd);
	struct rpc_status_req q = {true, NULL};
	int64_t end = h_now_ms() + 5000;
	uint32_t code = 9999;
	while (code != RPC_OK && h_now_ms() < end)
		code = h_call_code(n->listen, RPC_CLUSTER_STATUS, &q, 1000);
	assert_int_equal(code, RPC_OK);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_hostile_membership_needs_the_secret),
	    T(test_hostile_join_checks_what_it_adds),
	    T(test_hostile_partial_frames_are_bounded),
	    T(test_hostile_unread_fetches_are_bounded),
	    T(test_hostile_slow_and_stalled_clients_at_once),
	    T(test_hostile_wrong_typed_fields_of_every_request),
	    T(test_hostile_random_bytes),
	    T(test_hostile_connection_flood),
	};
#undef T
	return cmocka_run_group_tests_name("integration/hostile", tests, NULL,
					   NULL);
}
