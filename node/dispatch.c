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

#include "auth.h"
#include "handlers.h"
#include "replica.h"

enum {
	ANY_NODE = 0,	       /* served wherever it arrives */
	LEADER_ONLY = 1u << 0, /* followers answer NOT_LEADER */
	READ_GATE = 1u << 1,   /* linearizable read: barrier first */
	CURRENT = 1u << 2,     /* only from current state (lease.c) */
	/* CURRENT when it writes a replicated queue (PRODUCE): only a node
	 * whose state is current may take it as the queue's leader. */
	CURRENT_IF_REPLICATED = 1u << 3,
};

/* What the sender must hold with [auth] on (auth.h; DESIGN.md §6.2). */
enum perm {
	P_NONE,	      /* AUTH itself */
	P_AUTHED,     /* any token (metadata reads; UNDO checks its group) */
	P_ADMIN,      /* admin: topics, groups, the cluster */
	P_PRODUCE,    /* produce:TOPIC */
	P_CONSUME,    /* consume:GROUP */
	P_READ_GROUP, /* consume:GROUP or reset:GROUP */
	P_RESET,      /* reset:GROUP */
	P_FETCH,      /* consume:GROUP (or as_group); without one, admin */
};

struct route {
	uint16_t type;
	node_handler_fn fn;
	unsigned flags;
	enum perm perm;
};

/* By type number. ANY_NODE | CURRENT: any node, once its state is current
 * (lease.c); PRODUCE needs no more than the topic, and says "does not
 * exist" only from current state (queues.c). */
static const struct route routes[] = {
    {RPC_ROUTE, node_handle_route, ANY_NODE | CURRENT, P_AUTHED},
    {RPC_CLUSTER_STATUS, node_handle_status, ANY_NODE, P_AUTHED},
    {RPC_TOPIC_CREATE, node_handle_topic_create, LEADER_ONLY, P_ADMIN},
    {RPC_TOPIC_LIST, node_handle_topic_list, ANY_NODE | CURRENT, P_AUTHED},
    {RPC_TOPIC_DESCRIBE, node_handle_topic_describe, ANY_NODE | CURRENT,
     P_AUTHED},
    {RPC_QUEUE_STATS, node_handle_queue_stats, ANY_NODE | CURRENT, P_AUTHED},
    {RPC_PRODUCE, node_handle_produce, ANY_NODE | CURRENT_IF_REPLICATED,
     P_PRODUCE},
    {RPC_FETCH, node_handle_fetch, ANY_NODE | CURRENT, P_FETCH},
    {RPC_COMMIT, node_handle_commit, LEADER_ONLY, P_CONSUME},
    {RPC_OFFSETS, node_handle_offsets, LEADER_ONLY | READ_GATE, P_READ_GROUP},
    {RPC_GROUP_CREATE, node_handle_group_create, LEADER_ONLY, P_ADMIN},
    {RPC_GROUP_LIST, node_handle_group_list, ANY_NODE | CURRENT, P_AUTHED},
    {RPC_GROUP_DESCRIBE, node_handle_group_describe, LEADER_ONLY | READ_GATE,
     P_READ_GROUP},
    {RPC_HEARTBEAT, node_handle_heartbeat, LEADER_ONLY, P_CONSUME},
    {RPC_RESET, node_handle_reset, LEADER_ONLY, P_RESET},
    {RPC_HISTORY, node_handle_history, LEADER_ONLY | READ_GATE, P_READ_GROUP},
    {RPC_UNDO, node_handle_undo, LEADER_ONLY, P_AUTHED},
    {RPC_JOIN, node_handle_join, LEADER_ONLY, P_ADMIN},
    {RPC_LEAVE, node_handle_leave, LEADER_ONLY, P_CONSUME},
    {RPC_NODE_REMOVE, node_handle_node_remove, LEADER_ONLY, P_ADMIN},
    {RPC_GROUP_DELETE, node_handle_group_delete, LEADER_ONLY, P_ADMIN},
    {RPC_TOPIC_DELETE, node_handle_topic_delete, LEADER_ONLY, P_ADMIN},
    {RPC_AUTH, node_handle_auth, ANY_NODE, P_NONE},
    {RPC_SEND_BACK, node_handle_send_back, ANY_NODE | CURRENT, P_CONSUME},
    {RPC_REPLICA_FETCH, node_handle_replica_fetch, ANY_NODE, P_ADMIN},
    {RPC_ALTER_ISR, node_handle_alter_isr, LEADER_ONLY, P_ADMIN},
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

/* ---- Permissions ---- */

/* The group a request of @type names (the ones with a group perm). */
static const char *group_of(uint16_t type, const void *in)
{
	switch (type) {
	case RPC_COMMIT:
		return ((const struct rpc_commit_req *)in)->group;
	case RPC_OFFSETS:
		return ((const struct rpc_offsets_req *)in)->group;
	case RPC_GROUP_DESCRIBE:
		return ((const struct rpc_group_req *)in)->group;
	case RPC_HEARTBEAT:
		return ((const struct rpc_heartbeat_req *)in)->group;
	case RPC_RESET:
		return ((const struct rpc_reset_req *)in)->group;
	case RPC_HISTORY:
		return ((const struct rpc_history_req *)in)->group;
	case RPC_LEAVE:
		return ((const struct rpc_leave_req *)in)->group;
	case RPC_SEND_BACK:
		return ((const struct rpc_send_back_req *)in)->group;
	default:
		assert(!"a group permission on a request without a group");
		return NULL;
	}
}

/* Whether @req's sender holds @r's permission (answered if not). */
static bool permitted(const struct node_req *req, const struct route *r,
		      const void *in)
{
	const struct rpc_fetch_req *fetch = in;
	switch (r->perm) {
	case P_NONE:
		return true;
	case P_AUTHED:
		return node_req_authenticated(req);
	case P_ADMIN:
		return node_req_allowed(req, TOKENS_ADMIN, NULL);
	case P_PRODUCE:
		return node_req_allowed(
		    req, TOKENS_PRODUCE,
		    ((const struct rpc_produce_req *)in)->topic);
	case P_CONSUME:
		return node_req_allowed(req, TOKENS_CONSUME,
					group_of(req->type, in));
	case P_READ_GROUP:
		return node_req_reads_group(req, group_of(req->type, in));
	case P_RESET:
		return node_req_allowed(req, TOKENS_RESET,
					group_of(req->type, in));
	case P_FETCH:
		if (fetch->group == NULL && fetch->as_group == NULL)
			return node_req_allowed(req, TOKENS_ADMIN, NULL);
		return node_req_allowed(req, TOKENS_CONSUME,
					fetch->group ? fetch->group
						     : fetch->as_group);
	}
	return false;
}

/* Whether PRODUCE @in writes a queue with copies on other brokers (its
 * leadership may be history on a node whose state is not current: one
 * replaying its log after a restart, or cut off from the Raft leader). */
static bool replicated(struct node *n, const void *in)
{
	const struct rpc_produce_req *p = in;
	const struct rsm_topic *t = rsm_topic_find(n->rsm, p->topic);
	return t != NULL && t->replication_factor > 1;
}

/* ---- The entry point ---- */

void node_on_request(struct rpc_server *s, uint64_t conn, struct rpc_frame *f)
{
	node_dispatch(s->data, conn, f);
}

void node_dispatch(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct node_req req = {n,	conn,	     f->request_id,
			       f->type, f->conn_tag, uv_hrtime()};
	const struct route *r = route_of(f->type);
	if (r == NULL) {
		unknown_type(&n->rpc, &req);
		return;
	}
	struct node_req_in in;
	if (!node_req_decode(&req, f, in.b))
		return;
	if (node_auth_on(req.n) && !permitted(&req, r, in.b))
		return;
	if ((r->flags & LEADER_ONLY) && !node_req_leader(&req))
		return;
	if (r->flags & READ_GATE) {
		assert(r->flags & LEADER_ONLY); /* only a leader can gate */
		read_gate(&req, r, f, &in);
		return;
	}
	if ((r->flags & CURRENT) ||
	    ((r->flags & CURRENT_IF_REPLICATED) && replicated(n, in.b))) {
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
