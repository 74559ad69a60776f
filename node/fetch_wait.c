/*
 * fetch_wait.c — long polling: a FETCH that finds nothing new past its
 * offset waits here, up to its max_wait_ms, instead of being answered
 * empty at once (an idle consumer would otherwise ask many times a
 * second). A waiting fetch is answered — served again as a fetch that may
 * not wait — when its queue gets data (PRODUCE), when the replicated state
 * changes its group or topic (a reset, a group or topic deletion, a
 * snapshot: every waiter for the last two), when its time
 * is up (the 50 ms tick), or when the node stops.
 *
 * A waiter keeps copies of the request's fields: the frame it came in is
 * gone when the handler returns. At most NODE_FETCH_WAITERS_MAX wait; a
 * fetch beyond that is answered at once, as before long polling.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/list.h"
#include "handlers.h"

struct fetch_waiter {
	struct fetch_waiter *prev, *next;
	struct node_req req;
	bool has_group;
	char group[RSM_NAME_MAX + 1];
	char topic[RSM_NAME_MAX + 1];
	char home[RSM_NAME_MAX + 1]; /* "" : this broker */
	uint32_t queue_id;
	uint64_t offset, epoch;
	uint32_t max_bytes;
	uint64_t deadline; /* uv_now */
};

bool node_fetch_park(const struct node_req *req, const struct rpc_fetch_req *p,
		     uint32_t max_wait_ms)
{
	struct node *n = req->n;
	if (n->phase != NODE_RUNNING ||
	    n->n_waiters >= NODE_FETCH_WAITERS_MAX ||
	    strlen(p->topic) > RSM_NAME_MAX ||
	    (p->broker != NULL && strlen(p->broker) > RSM_NAME_MAX) ||
	    (p->group != NULL && strlen(p->group) > RSM_NAME_MAX))
		return false;
	struct fetch_waiter *w = calloc(1, sizeof *w);
	if (w == NULL)
		return false; /* answered at once instead */
	w->req = *req;
	w->has_group = p->group != NULL;
	snprintf(w->group, sizeof w->group, "%s", p->group ? p->group : "");
	snprintf(w->topic, sizeof w->topic, "%s", p->topic);
	snprintf(w->home, sizeof w->home, "%s",
		 p->broker ? p->broker : n->cfg.name);
	w->queue_id = p->queue_id;
	w->offset = p->offset;
	w->epoch = p->epoch;
	w->max_bytes = p->max_bytes;
	if (max_wait_ms > NODE_FETCH_WAIT_MAX_MS)
		max_wait_ms = NODE_FETCH_WAIT_MAX_MS;
	w->deadline = uv_now(n->loop) + max_wait_ms;
	DLIST_PUSH(n->waiters, w, prev, next);
	n->n_waiters++;
	return true;
}

/* Takes @w off the list, answers it as a fetch that may not wait. */
static void answer(struct node *n, struct fetch_waiter *w)
{
	DLIST_UNLINK(n->waiters, w, prev, next);
	assert(n->n_waiters > 0);
	n->n_waiters--;
	struct rpc_fetch_req p = {w->has_group ? w->group : NULL,
				  w->topic,
				  w->queue_id,
				  w->offset,
				  w->epoch,
				  w->max_bytes,
				  0,
				  NULL /* as_group: checked on arrival */,
				  w->home};
	node_fetch_serve(&w->req, &p, 0);
	free(w);
}

void node_fetch_wake_queue(struct node *n, const char *topic, const char *home,
			   uint32_t queue_id, uint64_t max_offset)
{
	struct fetch_waiter *w = n->waiters, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		if (w->queue_id == queue_id && w->offset < max_offset &&
		    strcmp(w->topic, topic) == 0 && strcmp(w->home, home) == 0)
			answer(n, w);
	}
}

void node_fetch_wake_group(struct node *n, const char *group, const char *topic)
{
	struct fetch_waiter *w = n->waiters, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		bool all = group == NULL && topic == NULL;
		if (all || (w->has_group &&
			    (group == NULL || strcmp(w->group, group) == 0) &&
			    (topic == NULL || strcmp(w->topic, topic) == 0)))
			answer(n, w);
	}
}

void node_fetch_expire(struct node *n, bool all)
{
	uint64_t now = uv_now(n->loop);
	struct fetch_waiter *w = n->waiters, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		if (all || w->deadline <= now)
			answer(n, w);
	}
	assert(!all || n->n_waiters == 0);
}

void node_fetch_waiters_free(struct node *n)
{
	while (n->waiters != NULL) {
		struct fetch_waiter *w = n->waiters;
		DLIST_UNLINK(n->waiters, w, prev, next);
		free(w);
	}
	n->n_waiters = 0;
}

void node_fetch_on_applied(void *arg, const struct rsm_result *res)
{
	struct node *n = arg;
	if (n->waiters == NULL)
		return;
	if (res == NULL)
		node_fetch_wake_group(n, NULL, NULL); /* a snapshot */
	else if (res->code == RSM_OK && res->reset != NULL)
		for (uint32_t i = 0; i < res->n_reset; i++)
			node_fetch_wake_group(n, res->reset[i].group,
					      res->reset[i].topic);
	else if (res->code == RSM_OK && (res->type == RSM_CMD_DELETE_GROUP ||
					 res->type == RSM_CMD_DELETE_TOPIC))
		node_fetch_wake_group(n, NULL, NULL); /* answered: gone */
}
