/*
 * history.c — HISTORY: the reset records of one group and topic, as the
 * replicated state holds them (leader, behind the read gate): id, time,
 * requester, target, epoch, and per queue the previous and new offset, the
 * bounds seen and whether the value was clamped.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

static bool matches(const struct rsm_reset *r, const char *group,
		    const char *topic)
{
	return strcmp(r->group, group) == 0 && strcmp(r->topic, topic) == 0;
}

/* Fills @e and @q with the matching records; their count. */
static uint32_t history_fill(struct rsm *rsm, const struct rpc_history_req *in,
			     struct rpc_history_entry *e,
			     struct rpc_history_queue *q)
{
	uint32_t k = 0, at = 0;
	for (uint32_t i = 0; i < rsm_reset_count(rsm); i++) {
		const struct rsm_reset *r = rsm_reset_at(rsm, i);
		if (!matches(r, in->group, in->topic))
			continue;
		for (uint32_t j = 0; j < r->n; j++) {
			const struct rsm_reset_queue *x = &r->queues[j];
			q[at + j] = (struct rpc_history_queue){
			    x->broker,	x->queue_id,   x->previous,
			    x->offset,	x->min_offset, x->max_offset,
			    x->clamped, x->skipped};
		}
		e[k++] = (struct rpc_history_entry){
		    r->id,	     r->time,
		    r->requester,    r->group,
		    r->topic,	     rsm_target_name(r->target),
		    r->target_value, r->epoch,
		    {q + at, r->n},  r->source[0] ? r->source : NULL};
		at += r->n;
	}
	return k;
}

void node_handle_history(const struct node_req *req, const void *in)
{
	const struct rpc_history_req *q = in;
	struct rsm *rsm = req->n->rsm;
	const struct rsm_group *g;
	const struct rsm_topic *t;
	if (!node_req_group_topic(req, q->group, q->topic, false, &g, &t))
		return;
	uint32_t m = 0, nqs = 0;
	for (uint32_t i = 0; i < rsm_reset_count(rsm); i++) {
		const struct rsm_reset *r = rsm_reset_at(rsm, i);
		if (matches(r, q->group, q->topic)) {
			m++;
			nqs += r->n;
		}
	}
	struct rpc_history_entry *e = calloc(m ? m : 1, sizeof *e);
	struct rpc_history_queue *qs = calloc(nqs ? nqs : 1, sizeof *qs);
	if (e != NULL && qs != NULL) {
		uint32_t k = history_fill(rsm, q, e, qs);
		assert(k == m);
		struct rpc_history_resp resp = {{e, k}};
		node_req_ok(req, &resp);
	} else {
		node_req_oom(req);
	}
	free(e);
	free(qs);
}
