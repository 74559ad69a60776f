/*
 * lease.c — whether this node's replicated state is current enough to
 * serve from (issue 10 #2, #3).
 *
 * The ready leader's is. A follower asks the leader for its commit index
 * every NODE_LEASE_POLL_MS and keeps the answers with the time each was asked.
 * It is current while its newest answer is less than NODE_LEASE_MS old, and it
 * has applied either everything of that newest answer, or everything of
 * an answer asked at least NODE_LAG_MS ago — so ordinary replication lag
 * (the few milliseconds between the leader committing and a follower
 * applying) never stops it, but a node that restarted, lost the leader,
 * or cannot apply (a full disk under its Raft log) is not current, and
 * what depends on the state waits or is refused (current_gate.c) instead
 * of being answered from an old or empty state.
 *
 * Why a reset holds: the leader answers a reset once its hosting brokers
 * applied it, or after NODE_SYNC_LIMIT_MS (2 s). A broker that did not
 * apply it has, by then, either asked the leader more than NODE_LAG_MS
 * after the commit (so it knows it is behind, and serves nothing) or had
 * no answer for longer than NODE_LEASE_MS (its lease ran out: it serves
 * nothing). Only answers of a node that says it is the leader count; an
 * answer's time is when the question was sent, not when it came back.
 */
#include <string.h>

#include "node_int.h"

_Static_assert(NODE_LEASE_MS < NODE_SYNC_LIMIT_MS &&
		   NODE_LAG_MS + NODE_LEASE_POLL_MS < NODE_SYNC_LIMIT_MS,
	       "a lagging broker must know it lags before a reset stops "
	       "waiting for it");
_Static_assert(NODE_LEASE_POLLS *NODE_LEASE_POLL_MS > NODE_LAG_MS,
	       "keep answers as old as NODE_LAG_MS");

static void on_leader_status(struct rpc_call *call, int status,
			     struct rpc_frame *f)
{
	struct node *n = call->data;
	struct node_lease *l = &n->lease;
	const struct rpc_node_status *ns = node_link_status(status, f);
	l->pending = false;
	if (ns == NULL || ns->role == NULL || strcmp(ns->role, "leader") != 0 ||
	    ns->term < l->term_asked)
		return;
	l->last = (l->last + 1) % NODE_LEASE_POLLS;
	l->polls[l->last].asked_at = l->sent_at;
	l->polls[l->last].commit = ns->commit_index;
	if (l->n < NODE_LEASE_POLLS)
		l->n++;
}

void node_lease_tick(struct node *n)
{
	struct node_lease *l = &n->lease;
	uint64_t id = 0;
	const char *addr = node_leader_listen(n, &id);
	if (l->pending || raft_state(&n->raft) != RAFT_FOLLOWER || id == 0 ||
	    addr == NULL || id == n->cfg.id ||
	    uv_now(n->loop) - l->sent_at < NODE_LEASE_POLL_MS)
		return;
	struct rpc_client *c = node_link(n, id, addr);
	/* Saying who asks makes the poll this broker's heartbeat too
	 * (sessions.c). */
	struct rpc_status_req q = {true, n->cfg.name};
	l->call.data = n;
	l->sent_at = uv_now(n->loop);
	l->term_asked = n->raft.current_term;
	if (c != NULL &&
	    rpc_client_request(c, &l->call, RPC_CLUSTER_STATUS, &q,
			       NODE_LEASE_MS / 2, on_leader_status) == 0)
		l->pending = true;
}

/* The commit index of the newest answer asked at least NODE_LAG_MS
 * before @now, or UINT64_MAX when there is none. */
static uint64_t lagged_commit(const struct node_lease *l, uint64_t now)
{
	for (uint32_t k = 0; k < l->n; k++) {
		uint32_t i =
		    (l->last + NODE_LEASE_POLLS - k) % NODE_LEASE_POLLS;
		if (l->polls[i].asked_at + NODE_LAG_MS <= now)
			return l->polls[i].commit;
	}
	return UINT64_MAX;
}

bool node_is_current(struct node *n)
{
	const struct node_lease *l = &n->lease;
	uint64_t now = uv_now(n->loop);
	if (node_is_ready_leader(n))
		return true;
	if (raft_state(&n->raft) != RAFT_FOLLOWER || l->n == 0 ||
	    now - l->polls[l->last].asked_at > NODE_LEASE_MS)
		return false;
	uint64_t applied = raft_last_applied(&n->raft);
	return applied >= l->polls[l->last].commit ||
	       applied >= lagged_commit(l, now);
}

int node_lease_explain(struct node *n, char *msg, size_t len)
{
	const struct node_lease *l = &n->lease;
	int state = raft_state(&n->raft);
	if (state != RAFT_FOLLOWER)
		return snprintf(msg, len,
				"node %s is %s: its state may be behind the "
				"cluster's",
				n->cfg.name, node_role_name(state));
	if (l->n == 0 ||
	    uv_now(n->loop) - l->polls[l->last].asked_at > NODE_LEASE_MS)
		return snprintf(msg, len,
				"node %s has not heard from the leader for "
				"%d ms: its state may be behind the cluster's",
				n->cfg.name, NODE_LEASE_MS);
	return snprintf(msg, len,
			"node %s is catching up with the cluster (applied "
			"%llu of %llu)",
			n->cfg.name,
			(unsigned long long)raft_last_applied(&n->raft),
			(unsigned long long)l->polls[l->last].commit);
}
