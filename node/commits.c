/*
 * commits.c — offset commits on the leader, batched: every COMMIT that
 * arrives in one loop turn joins one batch, proposed as ONE Raft entry
 * when the turn ends (uv_check; redis's beforeSleep idea). Each request is
 * answered from the applied entry's per-item codes; a request with a stale
 * item gets STALE_EPOCH and where the group stands now (DESIGN.md §2).
 *
 * Happy path: COMMIT → items appended to n->commits → end of turn:
 * node_commits_flush encodes and proposes → applied → each waiter answered.
 * Failure modes: a bad name refuses that request only (INVALID_ARGUMENT);
 * a batch that cannot be encoded or proposed, or whose entry is lost with
 * leadership, answers every waiter with the proposal's code (NOT_LEADER:
 * nothing happened; UNAVAILABLE: the outcome is unknown, commits are
 * idempotent so the client retries).
 */
#include <stdlib.h>
#include <string.h>

#include "../util/grow.h"
#include "handlers.h"

/* One request of the batch: items [first, first + count). */
struct commit_waiter {
	struct node_req req;
	uint32_t first, count;
};

struct commit_batch {
	struct node_proposal p;
	struct node *n;
	struct rsm_commit *items;
	uint32_t n_items;
	size_t cap_items;
	struct commit_waiter *waiters;
	uint32_t n_waiters;
	size_t cap_waiters;
};

static void batch_free(struct commit_batch *b)
{
	free(b->items);
	free(b->waiters);
	free(b);
}

/* The group's current offsets of the topic of @c (for STALE_EPOCH);
 * NULL if it has none. The caller frees. */
static struct rpc_offset_info *current_offsets(struct node *n,
					       const struct rsm_commit *c,
					       struct rpc_commit_resp *r)
{
	const struct rsm_group *g = rsm_group_find(n->rsm, c->group);
	const struct rsm_topic *t = rsm_topic_find(n->rsm, c->topic);
	const struct rsm_group_topic *gt =
	    g && t ? rsm_group_topic(g, t->name) : NULL;
	if (gt == NULL)
		return NULL;
	struct rpc_offset_info *off = calloc(gt->n ? gt->n : 1, sizeof *off);
	for (uint32_t i = 0; off && i < gt->n; i++)
		off[i] = (struct rpc_offset_info){
		    t->brokers[i / t->queues_per_broker],
		    i % t->queues_per_broker, gt->offsets[i]};
	r->offsets = (struct rpc_list){off, off ? gt->n : 0};
	r->epoch = gt->epoch;
	return off;
}

/* Answers one request from the applied entry's per-item codes. */
static void commit_answer(struct commit_batch *b, const struct commit_waiter *w,
			  const int *codes)
{
	uint64_t *out = calloc(w->count, sizeof *out);
	if (out == NULL) {
		node_req_oom(&w->req);
		return;
	}
	bool stale = false;
	for (uint32_t i = 0; i < w->count; i++) {
		out[i] = node_code_from_rsm(codes[w->first + i]);
		stale |= out[i] == RPC_STALE_EPOCH;
	}
	struct rpc_commit_resp r = {{out, w->count}, {NULL, 0}, 0};
	struct rpc_offset_info *off =
	    stale ? current_offsets(b->n, &b->items[w->first], &r) : NULL;
	struct rpc_status st = {RPC_STALE_EPOCH,
				"the group was reset; resume from the offsets "
				"given",
				NULL, false};
	node_req_reply(&w->req, stale ? &st : NULL, &r);
	free(off);
	free(out);
}

/* Ends the batch: every waiter answered from the applied entry's per-item
 * @codes, or (@codes NULL) with the error @code and @msg. */
static void batch_done(struct commit_batch *b, const int *codes, uint32_t code,
		       const char *msg)
{
	assert(codes != NULL || code != RPC_OK);
	for (uint32_t i = 0; i < b->n_waiters; i++) {
		if (codes != NULL)
			commit_answer(b, &b->waiters[i], codes);
		else
			node_req_fail(&b->waiters[i].req, code, "%s", msg);
	}
	batch_free(b);
}

static void on_commit_applied(struct node_proposal *p, uint32_t code,
			      const char *msg, const struct rsm_result *res)
{
	struct commit_batch *b = p->data;
	/* Applied: each item has its own code (stale ones among them). */
	if (res != NULL && res->type == RSM_CMD_COMMIT &&
	    res->n_items == b->n_items) {
		batch_done(b, res->item_codes, RPC_OK, "");
		return;
	}
	if (res != NULL || code == RPC_OK) {
		code = RPC_INTERNAL;
		msg = "the commit entry applied with another shape";
	}
	batch_done(b, NULL, code, msg ? msg : "no result");
}

void node_commits_flush(struct node *n)
{
	struct commit_batch *b = n->commits;
	if (b == NULL)
		return;
	n->commits = NULL;
	if (b->n_waiters == 0) { /* its first request ran out of memory */
		batch_free(b);
		return;
	}
	assert(b->n_items > 0);
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_commit(b->items, b->n_items, &buf, err, sizeof err) !=
	    0) {
		batch_done(b, NULL, RPC_INTERNAL, err);
		return;
	}
	b->p.data = b;
	uint32_t code = node_propose(n, &b->p, buf, on_commit_applied);
	if (code != RPC_OK)
		batch_done(b, NULL, code,
			   "leadership changed; nothing was committed");
}

static void on_check(uv_check_t *h)
{
	node_commits_flush(h->data);
}

void node_commits_init(struct node *n)
{
	uv_check_init(n->loop, &n->commit_check);
	n->commit_check.data = n;
	uv_check_start(&n->commit_check, on_check);
	uv_unref((uv_handle_t *)&n->commit_check);
}

/* The open batch, with room for @items more items and one more waiter;
 * NULL when out of memory. */
static struct commit_batch *batch_room(struct node *n, uint32_t items)
{
	struct commit_batch *b = n->commits;
	if (b == NULL && (b = calloc(1, sizeof *b)) == NULL)
		return NULL;
	b->n = n;
	n->commits = b;
	if (grow((void **)&b->items, &b->cap_items, b->n_items + items,
		 sizeof *b->items) != 0 ||
	    grow((void **)&b->waiters, &b->cap_waiters, b->n_waiters + 1,
		 sizeof *b->waiters) != 0)
		return NULL;
	return b;
}

void node_handle_commit(const struct node_req *req, const void *in)
{
	const struct rpc_commit_req *q = in;
	const struct rpc_commit_item *it = q->items.v;
	if (q->items.n == 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "no offsets to commit");
		return;
	}
	struct commit_batch *b = batch_room(req->n, q->items.n);
	if (b == NULL) {
		node_req_oom(req);
		return;
	}
	for (uint32_t i = 0; i < q->items.n; i++)
		if (rsm_commit_init(&b->items[b->n_items + i], q->group,
				    it[i].topic, it[i].broker_name,
				    it[i].queue_id, it[i].offset,
				    it[i].epoch) != RSM_OK) {
			node_req_fail(req, RPC_INVALID_ARGUMENT,
				      "bad group, topic or broker name");
			return;
		}
	b->waiters[b->n_waiters++] =
	    (struct commit_waiter){*req, b->n_items, q->items.n};
	b->n_items += q->items.n;
}
