/*
 * harness.h — real raftqd processes on loopback for integration tests:
 * configs on free ports in a temporary directory, start, kill -9, SIGTERM,
 * restart, and synchronous RPC calls with deadlines (no blind sleeps).
 */
#ifndef RAFTQ_HARNESS_H
#define RAFTQ_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl.h"
#include "rpc.h"

#define H_MAX 8
/* [auth] cluster_secret of every test node. */
#define H_CLUSTER_SECRET "raftq-test-cluster-secret"

struct h_node {
	int id;
	pid_t pid; /* 0 when not running */
	char dir[512];
	char cfg[600];
	char log[600];
	char listen[32];
	char raft[32];
	char http[32]; /* [node] http_listen */
	bool join;     /* started with --join instead of initial_cluster */
	bool replace;  /* with join: [node] replace = yes (lost disk) */
	/* With proxies: peers reach raft (the proxy), the node binds
	 * raft_real; the proxy refuses senders listed in block. */
	pid_t proxy_pid;
	char raft_real[32];
	char block[600];
	bool cut;
	/* With proxies, also one in front of the client port: peers and
	 * routes use listen (the proxy), the node binds listen_real
	 * (listen_bind); h_cut_data cuts it off from everyone. */
	pid_t dproxy_pid;
	char listen_real[32];
	char dblock[600];
	bool data_cut;
};

struct harness {
	char root[256];
	int n;
	struct h_node nodes[H_MAX];
	char initial_cluster[512];
	bool proxied;
	int leader; /* index found by h_fixture */
	/* link_cut[a][b]: Raft traffic from node a to node b is refused
	 * (b's proxy refuses sender a); on top of h_cut. */
	bool link_cut[H_MAX][H_MAX];
	/* Start nodes under libfiu's fiu-run (raftqd's fault points,
	 * node/fault_points.c, driven by h_fiu): set before h_start;
	 * h_fiu_available() says whether it is installed. */
	bool fiu;
	int election_ms, heartbeat_ms; /* Raft timings in the configs */
	char flush[16];		  /* [storage] flush in the configs ("": os) */
	unsigned max_open_queues; /* [storage] max_open_queues (0: default) */
	unsigned snapshot_threshold, snapshot_trailing; /* 0: 4096, 1024 */
	uint64_t segment_bytes; /* [storage] and [raft] segments (0: 1 MiB) */
};

/* Nodes configured from now on get [auth] tokens_file = @path (NULL or
 * "": none, auth off). The harness's own calls (ctl_call_one) then need
 * a token: ctl_set_token. */
void h_auth_tokens_file(const char *path);
/* Writes configs for @n initial voters (ids 1..n) with test timings. */
int h_init(struct harness *h, int n);
/* A loopback port no other test process holds and this one never handed
 * out before, claimed until this process exits; -1 if none is found. */
int h_free_port(void);
/* Like h_init, with a raftproxy in front of every node's Raft port and
 * one (plain) in front of its client port. */
int h_init_proxied(struct harness *h, int n);
/* Cuts node @i's client port off from everyone through its proxy (peers'
 * fetches and heartbeats, clients using routes) / restores it; the test
 * still reaches it at listen_real. */
void h_cut_data(struct harness *h, int i, bool cut);
/* Cuts node @i's Raft traffic in both directions / restores it. */
void h_cut(struct harness *h, int i);
void h_heal(struct harness *h, int i);
/* Cuts Raft traffic from node @from to node @to only (one direction; cut
 * both for a link partition); h_heal_links restores every link. */
void h_cut_link(struct harness *h, int from, int to);
/* Cuts every link set in @cut at once (cut[from][to]). */
void h_cut_links(struct harness *h, bool cut[H_MAX][H_MAX]);
void h_heal_links(struct harness *h);
/* Whether libfiu's fiu-run and fiu-ctrl are installed (fiu-utils). */
bool h_fiu_available(void);
/* Sends libfiu remote control command @cmd ("enable_random
 * name=raftq/storage/sync,probability=0.5", "disable name=...") to node @i,
 * started with h->fiu: 0, or -1. */
int h_fiu(struct harness *h, int i, const char *cmd);

/* Rewrites the initial voters' configs with these Raft timings (h_init
 * writes the test timings, election 300 ms and heartbeat 50 ms); before
 * h_start. 0, or -1. */
int h_set_timings(struct harness *h, int election_ms, int heartbeat_ms);
/* Sets [storage] flush (sync, interval, os) in every node's config; call
 * before the nodes start. 0 or -1. */
int h_set_flush(struct harness *h, const char *flush);
/* Sets [storage] max_open_queues in every node's config; call before the
 * nodes start. 0 or -1. */
int h_set_max_open_queues(struct harness *h, unsigned n);
/* Sets [raft] snapshot_threshold and snapshot_trailing in every node's
 * config (the harness writes 4096 and 1024); before the nodes start. 0 or
 * -1. */
int h_set_snapshots(struct harness *h, unsigned threshold, unsigned trailing);
/* Sets [storage] segment_bytes and [raft] raft_segment_bytes (the harness
 * writes 1 MiB so tests roll segments; benches measuring a load may want
 * the defaults); before the nodes start. 0 or -1. */
int h_set_segment_bytes(struct harness *h, uint64_t bytes);

/* Adds node n+1 configured to join through node @via. */
int h_add_joiner(struct harness *h, int via);
/* The lost-disk procedure (docs/deploy.md) for node @i, which must be
 * stopped: its data dir deleted, its config switched to join through
 * node @via with replace = yes, started. 0 or -1. */
int h_replace(struct harness *h, int i, int via);
int h_start(struct harness *h, int i); /* i: 0-based */
void h_kill(struct harness *h, int i); /* SIGKILL, reaped */
/* SIGTERM; waits up to @ms; returns the exit status, or -1 (then kills). */
int h_stop(struct harness *h, int i, int ms);
/* Whether node @i, started and not stopped by the harness, has ended on
 * its own (a crash): then it is reaped, its wait status in *status, and
 * it counts as not running. */
bool h_reap(struct harness *h, int i, int *status);
void h_destroy(struct harness *h); /* kills all, removes the dir */

/* Writes @count records into @out (room for @count * 13 bytes): keyless,
 * bodies of 1..5 bytes derived from @seed; their length. A PRODUCE
 * payload the brokers accept (they check records, issue 10 #4). */
static inline uint32_t h_records(uint8_t *out, uint32_t count, uint32_t seed)
{
	size_t len = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t body[5];
		size_t n = (seed + i) % 5 + 1;
		for (size_t j = 0; j < n; j++)
			body[j] = (uint8_t)(seed * 31 + i * 7 + j);
		len += rpc_record_put(out + len, NULL, 0, body, n);
	}
	return (uint32_t)len;
}

/* A RESET of every queue of @topic for @group to @target (@value), by
 * requester "test". */
static inline struct rpc_reset_req h_reset_req(const char *group,
					       const char *topic,
					       const char *target,
					       int64_t value)
{
	return (struct rpc_reset_req){.group = group,
				      .topic = topic,
				      .target = target,
				      .value = value,
				      .requester = "test"};
}

/* One request to @addr, waiting up to @ms: raftqctl's synchronous call
 * (ctl/call.c). Free the response with ctl_resp_free. */
static inline void h_call(const char *addr, uint16_t type, const void *req,
			  int ms, struct ctl_resp *out)
{
	ctl_call_one(addr, type, req, (uint32_t)ms, out);
}

/* A blocking TCP connection to @addr ("127.0.0.1:PORT"): its fd, or -1. */
int h_connect(const char *addr);
/* h_connect that must succeed: a test that cannot reach its own node
 * stops there (message on stderr, abort: cmocka reports the failure). */
int h_dial(const char *addr);
/* One HTTP request to @addr (Connection: close; @headers: more header
 * lines, each ending "\r\n", or NULL; a body of @body_len zero bytes):
 * the status code and the body in @body, or -1 (no answer). */
int h_http(const char *addr, const char *method, const char *path,
	   const char *headers, size_t body_len, char *body, size_t cap);
/* The value of the series @series (a name, labels included) in node
 * @i's GET /metrics; NAN when the node did not answer or lacks it. */
double h_metric(struct harness *h, int i, const char *series);
/* Node @i's raftq_raft_snapshot_index once it has not moved for 300 ms
 * (a snapshot encoded off the loop is stored later than it is taken),
 * waiting up to 10 s; NAN when it kept moving or could not be read. */
double h_snapshot_settled(struct harness *h, int i);
/* h_http with the body @json (a string sent as it is). */
int h_http_json(const char *addr, const char *method, const char *path,
		const char *headers, const char *json, char *body, size_t cap);

/* The status code of one request to @addr (9999: no answer). */
static inline uint32_t h_call_code(const char *addr, uint16_t type,
				   const void *req, int ms)
{
	struct ctl_resp r;
	h_call(addr, type, req, ms, &r);
	uint32_t code = r.err ? 9999 : r.st.code;
	ctl_resp_free(&r);
	return code;
}

/*
 * Fixtures: starts @n voters in a calloc'ed fixture of @size bytes whose
 * first member is its struct harness (through raftproxies when @proxied)
 * and waits for a leader. Returns the fixture with its leader's index in
 * h->leader, or NULL after printing why (node logs included).
 */
void *h_fixture(size_t size, int n, bool proxied);
/* Starts every node and waits up to 15 s for a leader all agree on (into
 * h->leader); 0, or -1 with every node's log dumped. */
int h_start_all(struct harness *h);
/* cmocka teardown for such a fixture: kills the nodes, frees it. */
int h_teardown(void **state);

/* Creates topic @name (@qpb queues on every broker) through the leader
 * and waits until every running node serves it; 0, or -1 after printing
 * why. */
int h_create_topic(struct harness *h, const char *name, uint32_t qpb);
/* h_create_topic with replication factor @rf (0: the cluster's default). */
int h_create_topic_rf(struct harness *h, const char *name, uint32_t qpb,
		      uint32_t rf);
/* Waits up to @ms until every queue of @topic is led by its home broker
 * again (after a restart the home catches up, then takes its queues
 * back) as every running node sees it; 0, or -1 (printed). */
int h_wait_homes_lead(struct harness *h, const char *topic, int ms);
/* The client address of the broker leading queue @index (the topic's
 * index order: broker by broker) of @topic, as the first live node that
 * answers ROUTE says, into @out: true, or false when none names a leader
 * (the queue offline, no node answering, no such topic). */
bool h_queue_leader_addr(struct harness *h, const char *topic, uint32_t index,
			 char *out, size_t len);
/* Creates group @name (@mode, @initial may be NULL); 0 or -1 (printed). */
int h_create_group(struct harness *h, const char *name, const char *mode,
		   const char *initial);

/* Whether node @i lists @topic (TOPIC_LIST), asking until @ms pass (0:
 * once). */
bool h_lists_topic(struct harness *h, int i, const char *topic, int ms);
/* One request to @addr that must be refused with @code and exactly @msg
 * (for cmocka tests: include cmocka.h first). */
#ifdef cmocka_unit_test
static inline void h_expect_refusal(const char *addr, uint16_t type,
				    const void *req, uint32_t code,
				    const char *msg)
{
	struct ctl_resp r;
	ctl_call_one(addr, type, req, 5000, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.st.code, code);
	assert_string_equal(r.st.message, msg);
	ctl_resp_free(&r);
}
#endif

/* Polls CLUSTER_STATUS on running nodes until one leader is reported by
 * every running node and all @want nodes are registered; returns the
 * leader's index (0-based) or -1 after @ms. */
int h_wait_leader(struct harness *h, int want, int ms);
/* The files node @i (running) has open, from /proc/PID/fd, and in
 * *queues (may be NULL) those under its data dir's queues/; -1 when
 * /proc does not say. */
int h_open_files(struct harness *h, int i, int *queues);
/* Waits up to @ms until node @via's CLUSTER_STATUS lists node @i as a
 * live member (follower or leader); 0, or -1 (printed, @i's log dumped). */
int h_wait_member(struct harness *h, int i, int via, int ms);
/* Milliseconds on a monotonic clock. */
int64_t h_now_ms(void);
int64_t h_now_us(void); /* monotonic, microseconds */
/* The last lines of node @i's log on stderr (for failing tests). */
void h_dump_log(struct harness *h, int i);
/* Whether a line of node @i's log contains @text. */
bool h_log_has(struct harness *h, int i, const char *text);
/* How many lines of node @i's log (all its runs) contain @text. */
int h_log_count(struct harness *h, int i, const char *text);

#endif
