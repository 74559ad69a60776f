/*
 * sync.c — wait until other nodes have applied an entry (node_int.h has
 * the contract). Used by resets (the hosting brokers) and by topic and
 * group creation (every node), so that what the leader answered holds on
 * whichever node the client asks next.
 *
 * The struct is private and owns itself: it is freed once the caller's
 * callback has run and its timer, barrier and status asks have all come
 * back, in whatever order that happens.
 */
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

#define SYNC_POLL_MS 1
#define SYNC_ASK_MS 500

struct sync;
struct sync_target {
	struct rpc_call call;
	struct sync *s;
	uint64_t id;
	bool pending, synced;
};
struct sync {
	struct node *n;
	uint64_t index;
	bool skip_unreachable;
	struct sync_target *t;
	uint32_t nt;
	uint32_t waiting; /* asks in flight */
	uint64_t deadline;
	uv_timer_t timer;
	struct raft_barrier barrier;
	bool barrier_pending, finished, timer_closed;
	node_sync_cb cb;
	void *data;
};

static void on_timer(uv_timer_t *h);

static void maybe_free(struct sync *s)
{
	if (s->finished && !s->barrier_pending && s->timer_closed &&
	    s->waiting == 0) {
		free(s->t);
		free(s);
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	struct sync *s = h->data;
	s->timer_closed = true;
	maybe_free(s);
}

static void finish(struct sync *s)
{
	uint64_t lagging[RSM_MAX_BROKERS];
	uint32_t n = 0;
	assert(!s->finished);
	for (uint32_t i = 0; i < s->nt && n < RSM_MAX_BROKERS; i++)
		if (!s->t[i].synced)
			lagging[n++] = s->t[i].id;
	s->finished = true;
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
	s->cb(s->data, lagging, n);
}

static void on_status(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct sync_target *t = call->data;
	struct sync *s = t->s;
	const struct rpc_node_status *ns = node_link_status(status, f);
	if (ns != NULL && ns->applied_index >= s->index)
		t->synced = true;
	/* A node that is down catches up before anyone can reach it. */
	if (status == RPC_ECONNECT && s->skip_unreachable)
		t->synced = true;
	t->pending = false;
	assert(s->waiting > 0);
	s->waiting--;
	if (s->finished)
		maybe_free(s);
	else if (s->waiting == 0)
		uv_timer_start(&s->timer, on_timer, SYNC_POLL_MS, 0);
}

/* Asks target @t for its applied index. */
static void ask(struct sync *s, struct sync_target *t)
{
	struct node *n = s->n;
	const struct rsm_broker *br = rsm_broker_by_id(n->rsm, t->id);
	struct rpc_client *c = br ? node_link(n, br->id, br->listen) : NULL;
	struct rpc_status_req q = {true, NULL};
	t->s = s;
	t->call.data = t;
	if (c != NULL && rpc_client_request(c, &t->call, RPC_CLUSTER_STATUS, &q,
					    SYNC_ASK_MS, on_status) == 0) {
		t->pending = true;
		s->waiting++;
	} else if (s->skip_unreachable) {
		t->synced = true;
	}
}

static void on_timer(uv_timer_t *h)
{
	struct sync *s = h->data;
	bool all = true;
	assert(!s->finished);
	for (uint32_t i = 0; i < s->nt; i++) {
		struct sync_target *t = &s->t[i];
		if (t->synced)
			continue;
		all = false;
		if (!t->pending)
			ask(s, t);
	}
	if (all || uv_now(s->n->loop) >= s->deadline)
		finish(s);
	else if (s->waiting == 0)
		uv_timer_start(&s->timer, on_timer, SYNC_POLL_MS, 0);
}

static void on_barrier(struct raft_barrier *req, int status)
{
	struct sync *s = req->data;
	(void)status; /* only a nudge for the followers */
	s->barrier_pending = false;
	maybe_free(s);
}

int node_sync_start(struct node *n, uint64_t index, const uint64_t *ids,
		    uint32_t nids, bool skip_unreachable, node_sync_cb cb,
		    void *data)
{
	const struct raft_configuration *cf = &n->raft.configuration;
	uint32_t max = ids ? nids : cf->n;
	struct sync *s = calloc(1, sizeof *s);
	if (s != NULL)
		s->t = calloc(max ? max : 1, sizeof *s->t);
	if (s == NULL || s->t == NULL) {
		free(s);
		return -1;
	}
	*s = (struct sync){.n = n,
			   .index = index,
			   .skip_unreachable = skip_unreachable,
			   .t = s->t,
			   .deadline = uv_now(n->loop) + NODE_SYNC_LIMIT_MS,
			   .cb = cb,
			   .data = data};
	for (uint32_t i = 0; i < max; i++) {
		uint64_t id = ids ? ids[i] : cf->servers[i].id;
		if (id != n->cfg.id)
			s->t[s->nt++].id = id;
	}
	uv_timer_init(n->loop, &s->timer);
	s->timer.data = s;
	/* Followers learn the new commit index with the next append: a
	 * barrier sends one now instead of at the next heartbeat. */
	s->barrier.data = s;
	if (raft_barrier(&n->raft, &s->barrier, on_barrier) == 0)
		s->barrier_pending = true;
	/* Never from inside this call: the first check runs on the loop. */
	uv_timer_start(&s->timer, on_timer, 0, 0);
	return 0;
}
