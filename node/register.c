/*
 * register.c — keeps this node's broker entry (id, name, client and raft
 * addresses) in the replicated state: the leader proposes its own; a
 * follower sends JOIN to the leader (or, before one is known, to the node
 * it was told to join), which also adds it to the Raft configuration when
 * it is new. Retried every REGISTER_RETRY_MS until the state shows it.
 */
#include <string.h>

#include "node_int.h"

#define REGISTER_RETRY_MS 300
#define REGISTER_BAD_MS 10000
#define JOIN_TIMEOUT_MS 5000

static bool registered(struct node *n)
{
	const struct rsm_broker *b = rsm_broker_by_id(n->rsm, n->cfg.id);
	return b != NULL && strcmp(b->name, n->cfg.name) == 0 &&
	       strcmp(b->listen, n->cfg.listen) == 0 &&
	       strcmp(b->raft_address, n->cfg.raft_listen) == 0;
}

static void on_register_applied(struct raft_apply *req, int status,
				void *result)
{
	struct node *n = req->data;
	const struct rsm_result *r = result;
	n->reg_inflight = false;
	if (status != 0 || r == NULL || r->code != RSM_OK)
		NODE_LOG(NODE_WARN, "node",
			 "registering this broker failed: %s",
			 status != 0 ? raft_strerror(status)
			 : r == NULL ? "no result"
				     : r->message);
	n->reg_next = uv_now(n->loop) + REGISTER_RETRY_MS;
}

static void on_join_answer(struct rpc_call *call, int status,
			   struct rpc_frame *f)
{
	struct node *n = call->data;
	n->reg_inflight = false;
	n->reg_next = uv_now(n->loop) + REGISTER_RETRY_MS;
	struct rpc_empty e;
	struct rpc_status st;
	if (status != 0) {
		NODE_LOG(NODE_DEBUG, "node", "join: %s", rpc_strerror(status));
		return;
	}
	if (rpc_decode(f, RPC_JOIN | RPC_RESPONSE, &e, &st, NULL) != 0)
		return;
	if (st.code == RPC_NOT_LEADER && st.leader != NULL) {
		/* Ask the leader directly next time. */
		snprintf(n->join_target, sizeof n->join_target, "%s",
			 st.leader);
		n->reg_next = uv_now(n->loop);
		return;
	}
	if (st.code != RPC_OK)
		NODE_LOG(NODE_INFO, "node", "join: %s: %s",
			 rpc_code_name(st.code), st.message ? st.message : "");
	else if (n->replacing) {
		node_replace_done(n);	       /* the old place is removed */
		n->reg_next = uv_now(n->loop); /* the ordinary JOIN now */
	} else if (n->rejoining) {
		node_replace_joined(n); /* a member again */
	}
}

/* The leader registers itself with a proposal of its own. */
static void register_self(struct node *n, const struct rsm_broker *b)
{
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_register_broker(b, &buf, err, sizeof err) != 0) {
		NODE_LOG(NODE_ERROR, "node", "register: %s", err);
		n->reg_next = uv_now(n->loop) + REGISTER_BAD_MS;
		return;
	}
	n->reg_apply.data = n;
	if (raft_apply(&n->raft, &n->reg_apply, &buf, 1, on_register_applied) !=
	    0) {
		raft_free(buf.base);
		return;
	}
	n->reg_inflight = true;
}

/* A follower asks the leader (or, before one is known, the join target). */
static void register_by_join(struct node *n, const struct rsm_broker *b)
{
	uint64_t lid = 0;
	const char *to = node_leader_listen(n, &lid);
	if (to == NULL && n->join_target[0] != '\0') {
		to = n->join_target;
		lid = 0;
	}
	struct rpc_client *c = to ? node_link(n, lid, to) : NULL;
	if (c == NULL)
		return;
	struct rpc_join_req j = {b->id,
				 b->name,
				 b->listen,
				 b->raft_address,
				 n->cfg.cluster_secret,
				 n->replacing};
	n->reg_call.data = n;
	if (rpc_client_request(c, &n->reg_call, RPC_JOIN, &j, JOIN_TIMEOUT_MS,
			       on_join_answer) == 0)
		n->reg_inflight = true;
	else
		n->reg_next = uv_now(n->loop) + REGISTER_RETRY_MS;
}

void node_keep_registered(struct node *n)
{
	if (n->reg_inflight || n->phase != NODE_RUNNING ||
	    uv_now(n->loop) < n->reg_next ||
	    (registered(n) && !n->replacing && !n->rejoining))
		return;
	struct rsm_broker b;
	memset(&b, 0, sizeof b);
	b.id = n->cfg.id;
	snprintf(b.name, sizeof b.name, "%s", n->cfg.name);
	snprintf(b.listen, sizeof b.listen, "%s", n->cfg.listen);
	snprintf(b.raft_address, sizeof b.raft_address, "%s",
		 n->cfg.raft_listen);
	if (n->state != RAFT_LEADER)
		register_by_join(n, &b);
	else if (n->ready)
		register_self(n, &b);
}
