/*
 * sync.c — wait until other nodes have applied an entry (node_int.h has
 * the contract). Used by resets (the hosting brokers) and by topic and
 * group creation (every node), so that what the leader answered holds on
 * whichever node the client asks next.
 */
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

#define SYNC_POLL_MS 1

static void check(struct node_sync *s);
static void on_timer(uv_timer_t *h);

static void maybe_release(struct node_sync *s)
{
	if (s->finished && !s->barrier_pending && s->timer_closed &&
	    s->waiting == 0) {
		free(s->t);
		s->t = NULL;
		s->release(s);
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	struct node_sync *s = h->data;
	s->timer_closed = true;
	maybe_release(s);
}

static void finish(struct node_sync *s, bool all)
{
	s->finished = true;
	s->done(s, all);
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

static void on_status(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct node_sync_target *t = call->data;
	struct node_sync *s = t->s;
	struct rpc_status_resp r;
	struct rpc_status st;
	if (status == 0 &&
	    rpc_decode(f, RPC_CLUSTER_STATUS | RPC_RESPONSE, &r, &st, NULL) ==
		0 &&
	    st.code == RPC_OK && r.nodes.n == 1 &&
	    ((const struct rpc_node_status *)r.nodes.v)->applied_index >=
		s->index)
		t->synced = true;
	/* A node that is down catches up before anyone can reach it. */
	if (status == RPC_ECONNECT && s->skip_unreachable)
		t->synced = true;
	t->pending = false;
	s->waiting--;
	if (s->finished) {
		maybe_release(s);
		return;
	}
	if (s->waiting == 0)
		uv_timer_start(&s->timer, on_timer, SYNC_POLL_MS, 0);
}

static void check(struct node_sync *s)
{
	if (s->finished)
		return;
	struct node *n = s->n;
	bool all = true;
	for (uint32_t i = 0; i < s->nt; i++) {
		struct node_sync_target *t = &s->t[i];
		if (t->synced)
			continue;
		all = false;
		if (t->pending)
			continue;
		const struct rsm_broker *br = rsm_broker_by_id(n->rsm, t->id);
		struct rpc_client *c =
		    br ? node_link(n, br->id, br->listen) : NULL;
		struct rpc_status_req q = {true};
		t->s = s;
		t->call.data = t;
		if (c != NULL &&
		    rpc_client_request(c, &t->call, RPC_CLUSTER_STATUS, &q, 500,
				       on_status) == 0) {
			t->pending = true;
			s->waiting++;
		} else if (s->skip_unreachable) {
			t->synced = true;
		}
	}
	if (all || uv_now(n->loop) >= s->deadline) {
		finish(s, all);
		return;
	}
	if (s->waiting == 0)
		uv_timer_start(&s->timer, on_timer, SYNC_POLL_MS, 0);
}

static void on_timer(uv_timer_t *h)
{
	check(h->data);
}

static void on_barrier(struct raft_barrier *req, int status)
{
	struct node_sync *s = req->data;
	(void)status;
	s->barrier_pending = false;
	maybe_release(s);
}

void node_sync_start(struct node *n, struct node_sync *s, uint64_t index,
		     const uint64_t *ids, uint32_t nids, bool skip_unreachable,
		     node_sync_cb done, node_sync_release_cb release)
{
	void *data = s->data;
	memset(s, 0, sizeof *s);
	s->data = data;
	s->n = n;
	s->index = index;
	s->skip_unreachable = skip_unreachable;
	s->done = done;
	s->release = release;
	s->deadline = uv_now(n->loop) + NODE_SYNC_LIMIT_MS;
	uv_timer_init(n->loop, &s->timer);
	s->timer.data = s;
	const struct raft_configuration *cf = &n->raft.configuration;
	uint32_t max = ids ? nids : cf->n;
	s->t = calloc(max ? max : 1, sizeof *s->t);
	for (uint32_t i = 0; s->t != NULL && i < max; i++) {
		uint64_t id = ids ? ids[i] : cf->servers[i].id;
		if (id != n->cfg.id)
			s->t[s->nt++].id = id;
	}
	/* Followers learn the new commit index with the next append: a
	 * barrier sends one now instead of at the next heartbeat. */
	s->barrier.data = s;
	if (raft_barrier(&n->raft, &s->barrier, on_barrier) == 0)
		s->barrier_pending = true;
	/* Never from inside this call: the first check runs on the loop. */
	uv_timer_start(&s->timer, on_timer, 0, 0);
}
