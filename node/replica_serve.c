/*
 * replica_serve.c — the queue leader's side of REPLICA_FETCH (docs/
 * design/replication.md §4-5). For each queue a follower lists: check
 * that this broker leads it in the epoch the follower knows, find where
 * the follower's log parts from this one (its last epoch), take its log
 * end as its acknowledgement (the high watermark may move), and send the
 * batches after it, verbatim, never past the end of the leader epoch the
 * first of them was written in.
 *
 * A fetch that finds nothing to send for any of its queues waits (up to
 * its max_wait_ms) and is served again when one of them gets a batch, a
 * role changes, its time is up, or the node stops.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/list.h"
#include "replica.h"

#define PARKED_MAX 256 /* replica fetches waiting at once */

struct rparked {
	struct rparked *prev, *next;
	struct node_req req;
	char replica[RSM_NAME_MAX + 1];
	uint32_t max_bytes;
	uint32_t n;
	struct rpc_replica_item *items; /* names point into names */
	char (*names)[2][RSM_NAME_MAX + 1];
	uint64_t deadline;
};

/* What serving one item produced. */
struct served {
	struct rpc_replica_part part;
	uint8_t *buf; /* owns part.batches */
};

/* The follower @fi reported log end @end: its progress, and maybe the
 * high watermark. */
static void progress(struct node *n, struct node_queue *e,
		     const struct rsm_topic *t, uint32_t qi, int fi,
		     uint64_t end, uint64_t leo)
{
	struct node_follower *f = &e->rep->f[fi];
	if (end >= f->leo_sent || end >= leo)
		f->caught_up = uv_now(n->loop);
	f->end = end;
	f->leo_sent = leo;
	f->seen = true;
	node_replica_advance(n, e, t, qi);
}

/* RPC_OFFSET_MOVED when @it's log parts from this one: cut it at @to and
 * keep its epochs up to @epoch (0: none) — or, @to past its end, start
 * over empty there (it ends below this log's start). RPC_OK when it may
 * go on from its offset. */
static uint32_t diverges(const struct node_queue *e,
			 const struct rpc_replica_item *it,
			 const struct stor_queue_info *info, uint64_t *to,
			 uint64_t *epoch)
{
	uint64_t found = 0, end = info->max_offset;
	*epoch = 0;
	*to = info->min_offset;
	if (it->offset < info->min_offset)
		return RPC_OFFSET_MOVED;
	if (it->last_epoch > 0 &&
	    !stor_epochs_end_for(e->rep->epochs, it->last_epoch,
				 info->max_offset, &found, &end))
		return RPC_OFFSET_MOVED; /* no epoch in common */
	if (it->offset > end || found < it->last_epoch) {
		*to = it->offset < end ? it->offset : end;
		*epoch = found;
		return RPC_OFFSET_MOVED;
	}
	return RPC_OK;
}

/* The checks before serving @it: its leader queue, or NULL with the
 * part's status set. */
static struct node_queue *item_queue(struct node *n, const char *replica,
				     const struct rpc_replica_item *it,
				     struct rpc_replica_part *part,
				     const struct rsm_topic **tp, uint32_t *qip,
				     int *fi)
{
	const struct rsm_topic *t = rsm_topic_find(n->rsm, it->topic);
	int64_t qi = t && t->created == it->created
			 ? rsm_topic_queue_index(t, it->broker, it->queue_id)
			 : -1;
	part->status = RPC_UNKNOWN_TOPIC;
	if (qi < 0)
		return NULL;
	const struct rsm_replicas *r = rsm_queue_replicas(t, (uint32_t)qi);
	const char *leader = rsm_queue_leader(t, (uint32_t)qi);
	struct node_queue *e = node_queue_find(n, t, it->broker, it->queue_id);
	part->epoch = r->leader_epoch;
	*fi = rsm_replica_index(t, r, replica);
	part->status = RPC_NOT_LEADER;
	if (leader == NULL || strcmp(leader, n->cfg.name) != 0 || e == NULL ||
	    e->rep == NULL || !e->rep->leading || *fi < 0)
		return NULL;
	part->status = RPC_STALE_EPOCH;
	/* A follower that wrote in a newer epoch than this one knows a
	 * newer leader: this broker's state is old, its log no guide to
	 * where the follower's parts from it (never cut at its word). */
	if (it->leader_epoch != r->leader_epoch ||
	    it->last_epoch > r->leader_epoch)
		return NULL;
	part->status = RPC_OK;
	*tp = t;
	*qip = (uint32_t)qi;
	return e;
}

static void serve_item(struct node *n, const char *replica,
		       const struct rpc_replica_item *it, struct served *s,
		       size_t *budget)
{
	const struct rsm_topic *t;
	uint32_t qi;
	int fi;
	struct rpc_replica_part *part = &s->part;
	struct node_queue *e = item_queue(n, replica, it, part, &t, &qi, &fi);
	if (e == NULL)
		return;
	struct stor_queue_info info;
	stor_queue_info(e->q, &info);
	part->log_start = info.min_offset;
	uint64_t ep = 0;
	part->status = diverges(e, it, &info, &part->move_to, &ep);
	if (part->status != RPC_OK) {
		part->epoch = ep;
		return;
	}
	progress(n, e, t, qi, fi, it->offset, info.max_offset);
	part->hw = e->rep->hw;
	uint64_t end = info.max_offset;
	if (!stor_epochs_covering(e->rep->epochs, it->offset, info.max_offset,
				  &ep, &end))
		ep = part->epoch;
	part->epoch = ep;
	size_t len = 0;
	int rv = *budget > 0 ? node_read_until(e->q, it->offset, end, *budget,
					       n->cfg.max_frame_bytes / 2,
					       &s->buf, &len)
			     : 0;
	if (rv != 0) {
		NODE_LOG(NODE_ERROR, "replication", "%s",
			 stor_queue_errmsg(e->q));
		part->status = RPC_UNAVAILABLE;
		return;
	}
	part->batches = (struct rpc_bin){s->buf, (uint32_t)len};
	*budget -= len;
}

static bool park(const struct node_req *req,
		 const struct rpc_replica_fetch_req *p, uint32_t wait);

static void serve(const struct node_req *req,
		  const struct rpc_replica_fetch_req *p, uint32_t wait)
{
	struct node *n = req->n;
	const struct rpc_replica_item *items = p->items.v;
	struct served *s = calloc(p->items.n ? p->items.n : 1, sizeof *s);
	struct rpc_replica_part *parts =
	    calloc(p->items.n ? p->items.n : 1, sizeof *parts);
	if (s == NULL || parts == NULL) {
		free(s);
		free(parts);
		node_req_oom(req);
		return;
	}
	size_t budget = p->max_bytes ? p->max_bytes : NODE_REPLICA_FETCH_BYTES;
	if (budget > n->cfg.max_frame_bytes / 2)
		budget = n->cfg.max_frame_bytes / 2;
	/* Slow clients filling the node's answer budget must not starve
	 * the followers (they would leave the in-sync sets): replication
	 * has a reserve of its own on top. */
	size_t room =
	    rpc_server_room_over(&n->rpc, req->conn, NODE_REPLICA_RESERVE);
	if (budget > room)
		budget = room;
	bool news = false;
	for (uint32_t i = 0; i < p->items.n; i++) {
		serve_item(n, p->replica, &items[i], &s[i], &budget);
		parts[i] = s[i].part;
		news = news || parts[i].status != RPC_OK ||
		       parts[i].batches.len > 0;
	}
	if (news || wait == 0 || !park(req, p, wait)) {
		struct rpc_replica_fetch_resp r = {{parts, p->items.n}};
		node_req_ok(req, &r);
	}
	for (uint32_t i = 0; i < p->items.n; i++)
		free(s[i].buf);
	free(s);
	free(parts);
}

void node_handle_replica_fetch(const struct node_req *req, const void *in)
{
	const struct rpc_replica_fetch_req *p = in;
	if (strlen(p->replica) > RSM_NAME_MAX) {
		node_req_fail(req, RPC_INVALID_ARGUMENT, "bad replica name");
		return;
	}
	serve(req, p, p->max_wait_ms);
}

/* ---- Waiting ---- */

static void rparked_free(struct rparked *w)
{
	free(w->items);
	free(w->names);
	free(w);
}

static bool park(const struct node_req *req,
		 const struct rpc_replica_fetch_req *p, uint32_t wait)
{
	struct node *n = req->n;
	if (n->phase != NODE_RUNNING || n->n_rparked >= PARKED_MAX)
		return false;
	struct rparked *w = calloc(1, sizeof *w);
	uint32_t k = p->items.n ? p->items.n : 1;
	if (w != NULL) {
		w->items = calloc(k, sizeof *w->items);
		w->names = calloc(k, sizeof *w->names);
	}
	if (w == NULL || w->items == NULL || w->names == NULL) {
		if (w != NULL)
			rparked_free(w);
		return false;
	}
	const struct rpc_replica_item *in = p->items.v;
	for (uint32_t i = 0; i < p->items.n; i++) {
		w->items[i] = in[i];
		snprintf(w->names[i][0], RSM_NAME_MAX + 1, "%s", in[i].topic);
		snprintf(w->names[i][1], RSM_NAME_MAX + 1, "%s", in[i].broker);
		w->items[i].topic = w->names[i][0];
		w->items[i].broker = w->names[i][1];
	}
	w->n = p->items.n;
	w->req = *req;
	snprintf(w->replica, sizeof w->replica, "%s", p->replica);
	w->max_bytes = p->max_bytes;
	if (wait > NODE_FETCH_WAIT_MAX_MS)
		wait = NODE_FETCH_WAIT_MAX_MS;
	w->deadline = uv_now(n->loop) + wait;
	DLIST_PUSH(n->rparked, w, prev, next);
	n->n_rparked++;
	return true;
}

static void answer(struct node *n, struct rparked *w)
{
	DLIST_UNLINK(n->rparked, w, prev, next);
	assert(n->n_rparked > 0);
	n->n_rparked--;
	struct rpc_replica_fetch_req p = {
	    w->replica, 0, w->max_bytes, {w->items, w->n}};
	serve(&w->req, &p, 0);
	rparked_free(w);
}

static bool lists(const struct rparked *w, const struct node_queue *e)
{
	for (uint32_t i = 0; i < w->n; i++)
		if (w->items[i].queue_id == e->queue_id &&
		    w->items[i].created == e->created &&
		    strcmp(w->items[i].broker, e->home) == 0 &&
		    strcmp(w->items[i].topic, e->topic) == 0)
			return true;
	return false;
}

void node_replica_wake(struct node *n, const struct node_queue *e)
{
	struct rparked *w = n->rparked, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		if (lists(w, e))
			answer(n, w);
	}
}

void node_replica_wake_all(struct node *n, bool expired_only)
{
	uint64_t now = uv_now(n->loop);
	struct rparked *w = n->rparked, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		if (!expired_only || w->deadline <= now)
			answer(n, w);
	}
}
