/*
 * acks.c — produce answers with acks=all waiting for the in-sync replicas
 * (docs/design/replication.md §4): the leader appended the batch and
 * keeps the answer here until its high watermark passes the batch's end;
 * under flush = sync the others wait here too, until the sync covering
 * their batch (syncer.c) moves the durable end past it.
 *
 * A waiter is answered OK when the high watermark covers it, NOT_LEADER
 * when this broker stops leading the queue (the batch may or may not
 * survive: the producer retries, at least once), UNAVAILABLE when the
 * queue is closed, TIMEOUT after [replication] replica_ack_timeout_ms (a
 * follower that stopped without leaving the in-sync set yet).
 */
#include <stdlib.h>
#include <string.h>

#include "../util/list.h"
#include "replica.h"

struct ack_waiter {
	struct ack_waiter *prev, *next;
	struct node_req req;
	char topic[RSM_NAME_MAX + 1];
	char home[RSM_NAME_MAX + 1];
	int64_t created;
	uint32_t queue_id;
	uint64_t end;
	bool all; /* the high watermark, else the durable end */
	struct rpc_produce_resp resp;
	uint64_t deadline;
};

static bool waits_on(const struct ack_waiter *w, const struct node_queue *e)
{
	return e == NULL ||
	       (w->queue_id == e->queue_id && w->created == e->created &&
		strcmp(w->home, e->home) == 0 &&
		strcmp(w->topic, e->topic) == 0);
}

bool node_acks_park(const struct node_req *req, const struct node_queue *e,
		    uint64_t end, const struct rpc_produce_resp *r, bool all)
{
	struct node *n = req->n;
	if (n->phase != NODE_RUNNING)
		return false;
	struct ack_waiter *w = calloc(1, sizeof *w);
	if (w == NULL)
		return false;
	w->req = *req;
	snprintf(w->topic, sizeof w->topic, "%s", e->topic);
	snprintf(w->home, sizeof w->home, "%s", e->home);
	w->created = e->created;
	w->queue_id = e->queue_id;
	w->end = end;
	w->all = all;
	w->resp = *r;
	w->deadline = uv_now(n->loop) + n->cfg.replica_ack_timeout_ms;
	DLIST_PUSH(n->acks, w, prev, next);
	return true;
}

static void drop(struct node *n, struct ack_waiter *w)
{
	DLIST_UNLINK(n->acks, w, prev, next);
	free(w);
}

void node_acks_release(struct node *n, const struct node_queue *e)
{
	uint64_t hw = node_queue_hw(e), durable = node_queue_durable(e);
	struct ack_waiter *w = n->acks, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		if (waits_on(w, e) && w->end <= (w->all ? hw : durable)) {
			node_req_ok(&w->req, &w->resp);
			drop(n, w);
		}
	}
}

void node_acks_fail(struct node *n, const struct node_queue *e, uint32_t code,
		    const char *msg)
{
	struct ack_waiter *w = n->acks, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		if (!waits_on(w, e))
			continue;
		struct rpc_status st = {code, msg, NULL, false};
		node_req_reply(&w->req, &st, NULL);
		drop(n, w);
	}
}

void node_acks_expire(struct node *n)
{
	uint64_t now = uv_now(n->loop);
	struct ack_waiter *w = n->acks, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		if (w->deadline > now)
			continue;
		struct rpc_status st = {
		    RPC_TIMEOUT,
		    w->all ? "the in-sync replicas did not confirm the batch "
			     "in time (it may still be stored: retry)"
			   : "the disk did not confirm the batch in time (it "
			     "may still be stored: retry)",
		    NULL, false};
		node_req_reply(&w->req, &st, NULL);
		drop(n, w);
	}
}
