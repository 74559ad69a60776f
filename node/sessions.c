/*
 * sessions.c — brokers' sessions, kept by the Raft leader (docs/design/
 * replication.md §6). Every other node asks the leader for its commit
 * index every NODE_LEASE_POLL_MS (lease.c) and says who it is: that is
 * its heartbeat. A broker not heard from for broker_session_ms is
 * fenced (one Raft entry: the queues it led get new leaders from their
 * in-sync sets); a fenced broker heard from again is unfenced.
 *
 * A new Raft leader has heard from nobody: it gives every broker a full
 * session, except the leader it replaces — whose loss is what elected
 * it — which it fences at once (if that one is alive, its next poll
 * unfences it). Its own broker it unfences if it was fenced.
 *
 * Failure modes: a proposal that fails is tried again at the next tick
 * (one at a time per broker); fencing is always safe (it can only move
 * leadership to another in-sync replica), so a false suspicion costs a
 * leader change, never data.
 */
#include <stdlib.h>
#include <string.h>

#include "replica.h"

struct node_session {
	char name[RSM_NAME_MAX + 1];
	uint64_t heard; /* uv_now of the last poll; 0: never */
	bool inflight;	/* a FENCE_BROKER of it is on its way */
	struct node_proposal prop;
	struct node *n;
};

static struct node_session *session(struct node *n, const char *name)
{
	for (uint32_t i = 0; i < n->n_sessions; i++)
		if (strcmp(n->sessions[i]->name, name) == 0)
			return n->sessions[i];
	struct node_session **v =
	    realloc(n->sessions, (n->n_sessions + 1) * sizeof *v);
	struct node_session *s = calloc(1, sizeof *s);
	if (v != NULL)
		n->sessions = v;
	if (v == NULL || s == NULL || strlen(name) > RSM_NAME_MAX) {
		free(s);
		return NULL;
	}
	snprintf(s->name, sizeof s->name, "%s", name);
	s->n = n;
	n->sessions[n->n_sessions++] = s;
	return s;
}

void node_session_heard(struct node *n, const char *broker)
{
	struct node_session *s = session(n, broker);
	if (s != NULL)
		s->heard = uv_now(n->loop);
}

static void on_fenced(struct node_proposal *p, uint32_t code, const char *msg,
		      const struct rsm_result *res)
{
	struct node_session *s = p->data;
	(void)res;
	s->inflight = false;
	if (code != RPC_OK)
		NODE_LOG(NODE_WARN, "replication",
			 "fencing broker %s not applied: %s", s->name, msg);
}

static void propose_fence(struct node *n, struct node_session *s, bool fence)
{
	struct raft_buffer buf;
	if (rsm_encode_fence_broker(s->name, fence, &buf, NULL, 0) != 0)
		return;
	s->prop.data = s;
	if (node_propose(n, &s->prop, buf, on_fenced) != RPC_OK)
		return;
	s->inflight = true;
	NODE_LOG(fence ? NODE_WARN : NODE_INFO, "replication", "%s broker %s%s",
		 fence ? "fencing" : "unfencing", s->name,
		 fence ? ": no heartbeat within the session" : "");
}

/* A new term of this node's leadership: a full session for everyone but
 * the leader it replaces. */
static void new_term(struct node *n)
{
	uint64_t now = uv_now(n->loop);
	for (uint32_t i = 0; i < rsm_broker_count(n->rsm); i++) {
		const struct rsm_broker *b = rsm_broker_at(n->rsm, i);
		struct node_session *s = session(n, b->name);
		if (s != NULL)
			s->heard =
			    b->id == n->last_leader_id && b->id != n->cfg.id
				? 0
				: now;
	}
	n->sessions_term = n->term;
}

void node_sessions_tick(struct node *n)
{
	if (!node_is_ready_leader(n))
		return;
	if (n->sessions_term != n->term)
		new_term(n);
	uint64_t now = uv_now(n->loop);
	for (uint32_t i = 0; i < rsm_broker_count(n->rsm); i++) {
		const struct rsm_broker *b = rsm_broker_at(n->rsm, i);
		struct node_session *s = session(n, b->name);
		if (s == NULL || s->inflight)
			continue;
		bool mine = b->id == n->cfg.id;
		bool expired =
		    !mine && (s->heard == 0 ||
			      now - s->heard > n->cfg.broker_session_ms);
		if (expired != b->fenced)
			propose_fence(n, s, expired);
	}
}

void node_sessions_free(struct node *n)
{
	for (uint32_t i = 0; i < n->n_sessions; i++)
		free(n->sessions[i]);
	free(n->sessions);
	n->sessions = NULL;
	n->n_sessions = 0;
}
