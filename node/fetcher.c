/*
 * fetcher.c — a follower's side of replication (docs/design/
 * replication.md §4-5): one REPLICA_FETCH at a time to each broker that
 * leads a queue this broker follows, listing every such queue with its
 * log end and last leader epoch; the answer's batches are appended
 * verbatim, a divergent tail is cut, a replica behind the leader's log
 * start starts over there. The next fetch goes out as soon as the answer
 * is handled — it is also what tells the leader how far this replica
 * has come.
 *
 * Failure modes: a leader that cannot be reached or answers an error is
 * asked again after FETCH_BACKOFF_MS; a batch that cannot be stored is
 * logged and fetched again (the log end did not move).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replica.h"

#define FETCH_BACKOFF_MS 100

/* A queue a fetch asked for, to match its part of the answer. */
struct fitem {
	char topic[RSM_NAME_MAX + 1];
	char home[RSM_NAME_MAX + 1];
	int64_t created;
	uint32_t queue_id;
};

struct node_fetcher {
	struct node *n;
	char leader[RSM_NAME_MAX + 1];
	struct rpc_call call;
	bool inflight;
	uint64_t retry_at; /* uv_now */
	struct fitem *asked;
	uint32_t n_asked;
};

/* Queue @e's topic and index when this broker follows it (not leading,
 * the state has a leader for it); else false. */
static bool followed(struct node *n, const struct node_queue *e,
		     const struct rsm_topic **tp, uint32_t *qi,
		     const char **leader)
{
	if (e->rep == NULL || e->rep->leading)
		return false;
	const struct rsm_topic *t = rsm_topic_find(n->rsm, e->topic);
	int64_t i = t && t->created == e->created
			? rsm_topic_queue_index(t, e->home, e->queue_id)
			: -1;
	*leader = i >= 0 ? rsm_queue_leader(t, (uint32_t)i) : NULL;
	if (*leader == NULL || strcmp(*leader, n->cfg.name) == 0)
		return false;
	*tp = t;
	*qi = (uint32_t)i;
	return true;
}

static struct node_fetcher *fetcher_for(struct node *n, const char *leader)
{
	for (uint32_t i = 0; i < n->n_fetchers; i++)
		if (strcmp(n->fetchers[i]->leader, leader) == 0)
			return n->fetchers[i];
	struct node_fetcher **v =
	    realloc(n->fetchers, (n->n_fetchers + 1) * sizeof *v);
	struct node_fetcher *f = calloc(1, sizeof *f);
	if (v != NULL)
		n->fetchers = v;
	if (v == NULL || f == NULL) {
		free(f);
		return NULL;
	}
	f->n = n;
	snprintf(f->leader, sizeof f->leader, "%s", leader);
	n->fetchers[n->n_fetchers++] = f;
	return f;
}

/* One item per queue this broker follows at @f's leader. */
static uint32_t build_items(struct node_fetcher *f,
			    struct rpc_replica_item *items)
{
	struct node *n = f->n;
	uint32_t k = 0;
	for (size_t i = 0; i < n->nqueues; i++) {
		const struct node_queue *e = &n->queues[i];
		const struct rsm_topic *t;
		uint32_t qi;
		const char *leader;
		if (!followed(n, e, &t, &qi, &leader) ||
		    strcmp(leader, f->leader) != 0)
			continue;
		struct stor_queue_info info;
		stor_queue_info(e->q, &info);
		struct fitem *a = &f->asked[k];
		snprintf(a->topic, sizeof a->topic, "%s", e->topic);
		snprintf(a->home, sizeof a->home, "%s", e->home);
		a->created = e->created;
		a->queue_id = e->queue_id;
		items[k++] = (struct rpc_replica_item){
		    a->topic,
		    a->created,
		    a->home,
		    a->queue_id,
		    rsm_queue_replicas(t, qi)->leader_epoch,
		    info.max_offset,
		    stor_epochs_last(e->rep->epochs)};
	}
	return k;
}

static void on_fetched(struct rpc_call *call, int status, struct rpc_frame *f);

/* Sends @f's next fetch: 0, or -1 when there is nothing to ask or it
 * cannot be sent. */
static int send_fetch(struct node_fetcher *f)
{
	struct node *n = f->n;
	const struct rsm_broker *b = rsm_broker_by_name(n->rsm, f->leader);
	struct rpc_client *c = b ? node_link(n, b->id, b->listen) : NULL;
	free(f->asked);
	f->asked = calloc(n->nqueues ? n->nqueues : 1, sizeof *f->asked);
	struct rpc_replica_item *items =
	    calloc(n->nqueues ? n->nqueues : 1, sizeof *items);
	uint32_t k = c && f->asked && items ? build_items(f, items) : 0;
	f->n_asked = k;
	struct rpc_replica_fetch_req q = {n->cfg.name,
					  NODE_REPLICA_WAIT_MS,
					  NODE_REPLICA_FETCH_BYTES,
					  {items, k}};
	f->call.data = f;
	int rv =
	    k > 0 ? rpc_client_request(c, &f->call, RPC_REPLICA_FETCH, &q,
				       NODE_REPLICA_WAIT_MS + 2000, on_fetched)
		  : -1;
	free(items);
	if (rv != 0)
		return -1;
	f->inflight = true;
	return 0;
}

void node_fetchers_run(struct node *n)
{
	if (n->phase != NODE_RUNNING)
		return;
	uint64_t now = uv_now(n->loop);
	for (size_t i = 0; i < n->nqueues; i++) {
		const struct rsm_topic *t;
		uint32_t qi;
		const char *leader;
		if (!followed(n, &n->queues[i], &t, &qi, &leader))
			continue;
		struct node_fetcher *f = fetcher_for(n, leader);
		if (f != NULL && !f->inflight && f->retry_at <= now &&
		    send_fetch(f) != 0)
			f->retry_at = now + FETCH_BACKOFF_MS;
	}
}

/* Appends the batches of @p to @e (recording a new leader epoch first). */
static void take_batches(struct node_queue *e, const struct rpc_replica_part *p)
{
	struct node_replica *rp = e->rep;
	struct stor_queue_info info;
	stor_queue_info(e->q, &info);
	if (p->epoch > stor_epochs_last(rp->epochs) &&
	    stor_epochs_add(rp->epochs, p->epoch, info.max_offset) != 0) {
		NODE_LOG(NODE_ERROR, "replication", "%s",
			 stor_epochs_errmsg(rp->epochs));
		return;
	}
	uint64_t end = info.max_offset;
	if (p->batches.len > 0 &&
	    stor_queue_append_copy(e->q, p->batches.ptr, p->batches.len,
				   &end) != 0)
		NODE_LOG(NODE_ERROR, "replication", "%s",
			 stor_queue_errmsg(e->q));
	uint64_t hw = p->hw < end ? p->hw : end;
	if (hw > rp->hw)
		rp->hw = hw;
}

/* Cuts @e back to @to (keeping epochs up to @epoch), or starts it over
 * empty at @to when @to is outside its log. */
static void move_to(struct node_queue *e, const struct rpc_replica_part *p)
{
	struct node_replica *rp = e->rep;
	struct stor_queue_info info;
	stor_queue_info(e->q, &info);
	bool over =
	    p->move_to > info.max_offset || p->move_to < info.min_offset;
	int rv = over ? stor_queue_restart(e->q, p->move_to)
		      : stor_queue_truncate(e->q, p->move_to);
	int ev = rv != 0 ? 0
		 : over	 ? stor_epochs_clear(rp->epochs)
			 : stor_epochs_keep_through(rp->epochs, p->epoch);
	if (ev == 0 && rv == 0 && !over)
		ev = stor_epochs_truncate(rp->epochs, p->move_to);
	NODE_LOG(rv == 0 && ev == 0 ? NODE_WARN : NODE_ERROR, "replication",
		 "queue %s/%s/%u: %s %" PRIu64 " (log was %" PRIu64 "..%" PRIu64
		 ")%s%s",
		 e->topic, e->home, e->queue_id,
		 over ? "starting over empty at"
		      : "cutting a divergent tail at",
		 p->move_to, info.min_offset, info.max_offset,
		 rv   ? ": "
		 : ev ? ": epochs: "
		      : "",
		 rv   ? stor_queue_errmsg(e->q)
		 : ev ? stor_epochs_errmsg(rp->epochs)
		      : "");
	if (rv == 0 && rp->hw > p->move_to && !over)
		rp->hw = p->move_to;
	if (over)
		rp->hw = p->move_to;
}

static void take_part(struct node *n, const struct fitem *a,
		      const struct rpc_replica_part *p)
{
	const struct rsm_topic *t = rsm_topic_find(n->rsm, a->topic);
	struct node_queue *e = t && t->created == a->created
				   ? node_queue_find(n, t, a->home, a->queue_id)
				   : NULL;
	if (e == NULL || e->rep == NULL || e->rep->leading)
		return; /* gone, or roles moved while the fetch was out */
	if (p->status == RPC_OK)
		take_batches(e, p);
	else if (p->status == RPC_OFFSET_MOVED)
		move_to(e, p);
}

static void on_fetched(struct rpc_call *call, int status, struct rpc_frame *fr)
{
	struct node_fetcher *f = call->data;
	struct node *n = f->n;
	f->inflight = false;
	struct rpc_replica_fetch_resp r;
	struct rpc_status st = {RPC_OK, NULL, NULL, false};
	bool ok = status == 0 &&
		  rpc_decode(fr, RPC_REPLICA_FETCH | RPC_RESPONSE, &r, &st,
			     NULL) == 0 &&
		  st.code == RPC_OK && r.parts.n == f->n_asked;
	const struct rpc_replica_part *parts = ok ? r.parts.v : NULL;
	bool moved = false;
	for (uint32_t i = 0; ok && i < r.parts.n; i++) {
		take_part(n, &f->asked[i], &parts[i]);
		moved = moved || parts[i].status == RPC_OK ||
			parts[i].status == RPC_OFFSET_MOVED;
	}
	/* Every queue refused (the two views of roles differ until one
	 * side applies the change): ask again after a pause, not at once. */
	if (ok && !moved)
		f->retry_at = uv_now(n->loop) + FETCH_BACKOFF_MS;
	if (!ok) {
		NODE_LOG(NODE_DEBUG, "replication", "fetch from %s: %s",
			 f->leader,
			 status	      ? rpc_strerror(status)
			 : st.message ? st.message
				      : "bad answer");
		f->retry_at = uv_now(n->loop) + FETCH_BACKOFF_MS;
	}
	node_fetchers_run(n);
}

void node_fetchers_stop(struct node *n)
{
	for (uint32_t i = 0; i < n->n_fetchers; i++) {
		free(n->fetchers[i]->asked);
		n->fetchers[i]->asked = NULL;
		n->fetchers[i]->n_asked = 0;
	}
}

void node_fetchers_free(struct node *n)
{
	node_fetchers_stop(n);
	for (uint32_t i = 0; i < n->n_fetchers; i++)
		free(n->fetchers[i]);
	free(n->fetchers);
	n->fetchers = NULL;
	n->n_fetchers = 0;
}
