/*
 * offsets.c — OFFSETS: a group's committed offsets of a topic, as a
 * consumer starts from them (leader, behind the read gate). Each queue's
 * bounds are gathered from its broker: a never-committed queue starts at
 * MaxOffset (RocketMQ 5 rule) or MinOffset for groups created "earliest",
 * and every offset is served clamped to [MinOffset, MaxOffset]. A queue
 * whose broker does not answer keeps its committed offset as it is (or is
 * left out when it has none: nobody can read it now anyway).
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

struct offsets_op {
	struct node_req req; /* first: node_req_op */
	struct node_gather g;
	char group[RSM_NAME_MAX + 1];
};

/* Where a consumer of @grp starts on a queue with bounds @s and committed
 * offset @at; false when nothing can be said (unknown and never
 * committed). */
static bool start_offset(const struct rsm_group *grp,
			 const struct node_qstat *s, uint64_t *at)
{
	if (!s->known)
		return *at != RSM_OFFSET_NONE;
	if (*at == RSM_OFFSET_NONE)
		*at = grp->initial == RSM_INITIAL_EARLIEST ? s->min : s->max;
	*at = *at < s->min ? s->min : *at > s->max ? s->max : *at;
	return true;
}

static void offsets_answer(struct offsets_op *op, const struct rsm_group *grp)
{
	struct node_gather *g = &op->g;
	const struct rsm_group_topic *gt = rsm_group_topic(grp, g->topic);
	size_t nq = (size_t)g->n_brokers * g->qpb, m = 0;
	struct rpc_offset_info *q = calloc(nq ? nq : 1, sizeof *q);
	if (q == NULL) {
		node_req_oom(&op->req);
		return;
	}
	for (size_t i = 0; i < nq; i++) {
		uint64_t at =
		    gt && gt->n == nq ? gt->offsets[i] : RSM_OFFSET_NONE;
		if (start_offset(grp, &g->q[i], &at))
			q[m++] = (struct rpc_offset_info){
			    g->brokers[i / g->qpb], (uint32_t)(i % g->qpb), at};
	}
	struct rpc_offsets_resp r = {gt ? gt->epoch : 0, {q, (uint32_t)m}};
	node_req_ok(&op->req, &r);
	free(q);
}

static void on_offsets_gathered(struct node_gather *g, bool ok)
{
	struct offsets_op *op = g->data;
	const struct rsm_group *grp = rsm_group_find(op->req.n->rsm, op->group);
	assert(ok); /* a partial gather always completes */
	(void)ok;
	if (grp == NULL)
		node_req_fail(&op->req, RPC_UNKNOWN_GROUP,
			      "the group was deleted");
	else
		offsets_answer(op, grp);
	node_gather_free(g);
	free(op);
}

void node_handle_offsets(const struct node_req *req, const void *in)
{
	const struct rpc_offsets_req *q = in;
	const struct rsm_group *g;
	const struct rsm_topic *t;
	/* Broadcasting groups ask too: for the initial rule's positions. */
	if (!node_req_group_topic(req, q->group, q->topic, false, &g, &t))
		return;
	struct offsets_op *op = node_req_op(req, sizeof *op);
	if (op == NULL)
		return;
	snprintf(op->group, sizeof op->group, "%s", q->group);
	op->g.partial = true;
	node_req_gather(op, &op->g, t, NULL, on_offsets_gathered);
}
