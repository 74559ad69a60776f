/*
 * dispatch.c — the request table: which handler serves each request type,
 * and what must hold before it runs (the way redis's command table carries
 * command flags). Adding a request type is one row here and one handler.
 *
 * Per frame: look the type up → decode the body into the schema's struct
 * (INVALID_ARGUMENT naming the field on bad bytes) → LEADER_ONLY: answer
 * NOT_LEADER / UNAVAILABLE unless this node is the ready leader → CURRENT:
 * wait until this node's state is current (lease.c), so nothing is
 * answered from an old or empty state → READ_GATE:
 * keep the frame and its decoded body, pass a raft_barrier (so this node was
 * still the leader and has applied everything committed before the request
 * arrived), then run the handler, or answer UNAVAILABLE if leadership changed
 * meanwhile.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

enum {
	ANY_NODE = 0,	       /* served wherever it arrives */
	LEADER_ONLY = 1u << 0, /* followers answer NOT_LEADER */
	READ_GATE = 1u << 1,   /* linearizable read: barrier first */
	CURRENT = 1u << 2,     /* only from current state (lease.c) */
};

struct route {
	uint16_t type;
	node_handler_fn fn;
	unsigned flags;
};

/* By type number. ANY_NODE | CURRENT: any node, once its state is current
 * (lease.c); PRODUCE needs no more than the topic, and says "does not
 * exist" only from current state (queues.c). */
static const struct route routes[] = {
    {RPC_ROUTE, node_handle_route, ANY_NODE | CURRENT},
    {RPC_CLUSTER_STATUS, node_handle_status, ANY_NODE},
    {RPC_TOPIC_CREATE, node_handle_topic_create, LEADER_ONLY},
    {RPC_TOPIC_LIST, node_handle_topic_list, ANY_NODE | CURRENT},
    {RPC_TOPIC_DESCRIBE, node_handle_topic_describe, ANY_NODE | CURRENT},
    {RPC_QUEUE_STATS, node_handle_queue_stats, ANY_NODE | CURRENT},
    {RPC_PRODUCE, node_handle_produce, ANY_NODE},
    {RPC_FETCH, node_handle_fetch, ANY_NODE | CURRENT},
    {RPC_COMMIT, node_handle_commit, LEADER_ONLY},
    {RPC_OFFSETS, node_handle_offsets, LEADER_ONLY | READ_GATE},
    {RPC_GROUP_CREATE, node_handle_group_create, LEADER_ONLY},
    {RPC_GROUP_LIST, node_handle_group_list, ANY_NODE | CURRENT},
    {RPC_GROUP_DESCRIBE, node_handle_group_describe, LEADER_ONLY | READ_GATE},
    {RPC_HEARTBEAT, node_handle_heartbeat, LEADER_ONLY},
    {RPC_RESET, node_handle_reset, LEADER_ONLY},
    {RPC_HISTORY, node_handle_history, LEADER_ONLY | READ_GATE},
    {RPC_UNDO, node_handle_undo, LEADER_ONLY},
    {RPC_JOIN, node_handle_join, LEADER_ONLY},
    {RPC_LEAVE, node_handle_leave, LEADER_ONLY},
    {RPC_NODE_REMOVE, node_handle_node_remove, LEADER_ONLY},
    {RPC_GROUP_DELETE, node_handle_group_delete, LEADER_ONLY},
    {RPC_TOPIC_DELETE, node_handle_topic_delete, LEADER_ONLY},
};

/* Room for any request struct, checked at compile time. */
#define CHECK_IN_SIZE_(num, NAME, req, resp)                  \
	_Static_assert(sizeof(struct req) <= NODE_REQ_IN_MAX, \
		       #req " exceeds NODE_REQ_IN_MAX");
RPC_MESSAGES(CHECK_IN_SIZE_)
#undef CHECK_IN_SIZE_

static const struct route *route_of(uint16_t type)
{
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (routes[i].type == type)
			return &routes[i];
	return NULL;
}

static void unknown_type(struct rpc_server *s, const struct node_req *req)
{
	const char *name = rpc_type_name(req->type);
	/* A request type we know the answer shape of gets an answer; bytes
	 * that are not a request at all cost the sender its connection. */
	if (rpc_schema_of((uint16_t)(req->type | RPC_RESPONSE)) == NULL) {
		rpc_server_drop(s, req->conn);
		return;
	}
	node_req_fail(req, RPC_INVALID_ARGUMENT,
		      "request type %u (%s) is not served by this raftqd "
		      "version",
		      req->type, name ? name : "unknown");
}

/* ---- Read gate: the frame waits for a barrier ---- */

struct read_gate {
	struct raft_barrier barrier;
	struct node_held held;
};

static void on_read_barrier(struct raft_barrier *b, int status)
{
	struct read_gate *g = b->data;
	if (status != 0)
		node_req_refuse(&g->held.req, RPC_UNAVAILABLE,
				"leadership changed during the read (%s); "
				"retry",
				raft_strerror(status));
	node_held_end(&g->held, status == 0);
	free(g);
}

static void read_gate(const struct node_req *req, const struct route *r,
		      struct rpc_frame *f, const struct node_req_in *in)
{
	struct read_gate *g = malloc(sizeof *g);
	if (g == NULL) {
		node_req_oom(req);
		return;
	}
	node_held_keep(&g->held, req, r->fn, f, in);
	g->barrier.data = g;
	int rv = raft_barrier(&req->n->raft, &g->barrier, on_read_barrier);
	if (rv != 0) {
		node_req_fail(req, node_code_from_raft(rv), "%s",
			      raft_strerror(rv));
		node_held_end(&g->held, false);
		free(g);
	}
}

/* ---- The entry point ---- */

void node_on_request(struct rpc_server *s, uint64_t conn, struct rpc_frame *f)
{
	struct node_req req = {s->data, conn, f->request_id, f->type};
	const struct route *r = route_of(f->type);
	if (r == NULL) {
		unknown_type(s, &req);
		return;
	}
	struct node_req_in in;
	if (!node_req_decode(&req, f, in.b))
		return;
	if ((r->flags & LEADER_ONLY) && !node_req_leader(&req))
		return;
	if (r->flags & READ_GATE) {
		assert(r->flags & LEADER_ONLY); /* only a leader can gate */
		read_gate(&req, r, f, &in);
		return;
	}
	if (r->flags & CURRENT) {
		node_gate_current(&req, r->fn, f, &in);
		return;
	}
	r->fn(&req, in.b);
}

/* The log line of a connection closed over a limit. */
static void log_limit(const struct node *n, uint64_t conn, const char *peer,
		      int err)
{
	if (err == RPC_ECONNLIMIT)
		NODE_LOG(NODE_WARN, "rpc",
			 "conn %llu from %s closed: max_connections (%u) "
			 "reached",
			 (unsigned long long)conn, peer,
			 n->cfg.max_connections);
	else if (err == RPC_ERATELIMIT)
		NODE_LOG(NODE_WARN, "rpc",
			 "conn %llu from %s closed: more than "
			 "max_requests_per_sec (%u) requests in a second",
			 (unsigned long long)conn, peer,
			 n->cfg.max_requests_per_sec);
	else
		NODE_LOG(NODE_WARN, "rpc",
			 "conn %llu from %s closed: the request bytes buffered "
			 "for all connections went over max_buffered_bytes "
			 "(%llu)",
			 (unsigned long long)conn, peer,
			 (unsigned long long)n->cfg.max_buffered_bytes);
}

void node_on_rpc_event(struct rpc_server *s, uint64_t conn, const char *peer,
		       enum rpc_event ev, int err)
{
	switch (ev) {
	case RPC_EV_BAD_FRAME:
		NODE_LOG(NODE_WARN, "rpc", "conn %llu from %s: %s; closing it",
			 (unsigned long long)conn, peer, rpc_strerror(err));
		break;
	case RPC_EV_LIMIT:
		log_limit(s->data, conn, peer, err);
		break;
	case RPC_EV_PAUSED:
		NODE_LOG(NODE_WARN, "rpc",
			 "conn %llu from %s is not reading its answers; "
			 "pausing its requests",
			 (unsigned long long)conn, peer);
		break;
	default:
		NODE_LOG(NODE_DEBUG, "rpc", "conn %llu from %s: event %d (%s)",
			 (unsigned long long)conn, peer, (int)ev,
			 rpc_strerror(err));
	}
}
