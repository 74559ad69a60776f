/*
 * leader.c — following leadership: the role and term this node is in,
 * the barrier a new leader passes before it serves (its state lags until
 * an entry of its own term commits: notes/libraft-0.15.md), and where the
 * leader is for clients.
 */
#include <string.h>
#include <time.h>

#include "node_int.h"

int64_t node_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *node_leader_listen(struct node *n, uint64_t *leader_id)
{
	raft_id id = 0;
	const char *addr = NULL;
	raft_leader(&n->raft, &id, &addr);
	if (leader_id != NULL)
		*leader_id = id;
	if (id == 0)
		return NULL;
	const struct rsm_broker *b = rsm_broker_by_id(n->rsm, id);
	return b != NULL && b->listen[0] ? b->listen : NULL;
}

bool node_is_ready_leader(struct node *n)
{
	return raft_state(&n->raft) == RAFT_LEADER && n->ready;
}

uint64_t node_applied_index(struct node *n)
{
	return raft_last_applied(&n->raft);
}

static void on_barrier(struct raft_barrier *req, int status)
{
	struct node *n = req->data;
	n->barrier_pending = false;
	if (status == 0 && raft_state(&n->raft) == RAFT_LEADER &&
	    n->raft.current_term == n->term) {
		n->ready = true;
		NODE_LOG(NODE_INFO, "raft",
			 "leader for term %llu, state caught up at index %llu",
			 (unsigned long long)n->term,
			 (unsigned long long)raft_last_applied(&n->raft));
	}
}

void node_follow_leadership(struct node *n)
{
	int state = raft_state(&n->raft);
	raft_term term = n->raft.current_term;
	raft_id lid = 0;
	const char *laddr;
	raft_leader(&n->raft, &lid, &laddr);
	if (state == RAFT_FOLLOWER && lid != 0)
		n->last_leader_id = lid; /* who a new leader here replaces */
	if (state != n->state || term != n->term) {
		if (state != n->state)
			NODE_LOG(NODE_INFO, "raft", "%s -> %s (term %llu)",
				 node_role_name(n->state),
				 node_role_name(state),
				 (unsigned long long)term);
		n->state = state;
		n->term = term;
		n->ready = false;
		n->leader_since = uv_now(n->loop);
	}
	if (state == RAFT_LEADER && !n->ready && !n->barrier_pending &&
	    n->phase == NODE_RUNNING) {
		n->barrier.data = n;
		if (raft_barrier(&n->raft, &n->barrier, on_barrier) == 0)
			n->barrier_pending = true;
	}
}
