/*
 * offsets.c — OFFSETS: a group's committed offsets of a topic, as a
 * consumer starts from them (leader, behind the read gate). Each queue's
 * bounds are gathered from its broker: a never-committed queue starts at
 * MaxOffset (RocketMQ 5 rule) or MinOffset for groups created "earliest",
 * and every offset is served clamped to [MinOffset, MaxOffset]. A queue
 * whose broker does not answer keeps its committed offset as it is (or is
 * left out when it has none: nobody can read it now anyway).
 *
 * The first read fixes the position (DESIGN §1): for a clustering group,
 * the positions the initial rule gave to never-committed queues are
 * written with one INIT_OFFSETS entry before the answer, so a consumer
 * that reads nothing and comes back after messages were produced starts
 * where it first started, whatever client it uses. The entry only applies
 * where the queue is still uncommitted under the same epoch.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

struct offsets_op {
	struct node_req req; /* first: node_req_op */
	struct node_gather g;
	char group[RSM_NAME_MAX + 1];
	struct node_proposal p;
	/* The answer, kept while the INIT_OFFSETS entry applies (its broker
	 * names point into the gather's results). */
	struct rpc_offsets_resp r;
	struct rpc_offset_info *q;
};

static void offsets_free(struct offsets_op *op)
{
	node_gather_free(&op->g);
	free(op->q);
	free(op);
}

/* Where a consumer of @grp starts on a queue of @topic with bounds @s and
 * committed offset @at; false when nothing can be said (unknown and never
 * committed). */
static bool start_offset(const struct rsm_group *grp, const char *topic,
			 const struct node_qstat *s, uint64_t *at)
{
	if (!s->known)
		return *at != RSM_OFFSET_NONE;
	if (*at == RSM_OFFSET_NONE)
		*at = rsm_starts_earliest(grp, topic) ? s->min : s->max;
	*at = *at < s->min ? s->min : *at > s->max ? s->max : *at;
	return true;
}

/* The answer's positions in op->q; in @init (owned by the caller) the
 * clustering group's never-committed queues with a known start, their
 * count returned. */
static uint32_t offsets_fill(struct offsets_op *op, const struct rsm_group *grp,
			     struct rsm_commit *init)
{
	struct node_gather *g = &op->g;
	const struct rsm_group_topic *gt = rsm_group_topic(grp, g->topic);
	size_t nq = (size_t)g->n_brokers * g->qpb, m = 0;
	uint32_t ni = 0;
	for (size_t i = 0; i < nq; i++) {
		uint64_t at =
		    gt && gt->n == nq ? gt->offsets[i] : RSM_OFFSET_NONE;
		bool fresh = at == RSM_OFFSET_NONE && g->q[i].known;
		if (!start_offset(grp, g->topic, &g->q[i], &at))
			continue;
		op->q[m++] = (struct rpc_offset_info){
		    g->brokers[i / g->qpb], (uint32_t)(i % g->qpb), at};
		if (fresh && grp->mode == RSM_CLUSTERING &&
		    rsm_commit_init(&init[ni], grp->name, g->topic,
				    g->brokers[i / g->qpb],
				    (uint32_t)(i % g->qpb), at,
				    gt ? gt->epoch : 0) == RSM_OK)
			ni++;
	}
	op->r = (struct rpc_offsets_resp){gt ? gt->epoch : 0,
					  {op->q, (uint32_t)m},
					  g->failed[0] ? g->failed : NULL};
	return ni;
}

static void on_init_applied(struct node_proposal *p, uint32_t code,
			    const char *msg, const struct rsm_result *res)
{
	struct offsets_op *op = p->data;
	(void)res;
	if (code == RPC_OK)
		node_req_ok(&op->req, &op->r);
	else
		node_req_fail(&op->req, code, "%s", msg);
	offsets_free(op);
}

/* Proposes the INIT_OFFSETS entry and answers once it applied: true, or
 * false after answering why it could not be proposed. */
static bool init_propose(struct offsets_op *op, const struct rsm_commit *init,
			 uint32_t n)
{
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_init_offsets(init, n, &buf, err, sizeof err) != 0) {
		node_req_fail(&op->req, RPC_INTERNAL, "%s", err);
		return false;
	}
	op->p.data = op;
	uint32_t code = node_propose(op->req.n, &op->p, buf, on_init_applied);
	if (code != RPC_OK)
		node_req_fail(&op->req, code,
			      "leadership changed before the group's first "
			      "positions were recorded");
	return code == RPC_OK;
}

static void on_offsets_gathered(struct node_gather *g, bool ok)
{
	struct offsets_op *op = g->data;
	const struct rsm_group *grp = rsm_group_find(op->req.n->rsm, op->group);
	size_t nq = (size_t)g->n_brokers * g->qpb;
	struct rsm_commit *init = NULL;
	assert(ok); /* a partial gather always completes */
	(void)ok;
	if (grp == NULL) {
		node_req_fail(&op->req, RPC_UNKNOWN_GROUP,
			      "the group was deleted");
		offsets_free(op);
		return;
	}
	op->q = calloc(nq ? nq : 1, sizeof *op->q);
	init = calloc(nq ? nq : 1, sizeof *init);
	uint32_t ni = op->q && init ? offsets_fill(op, grp, init) : 0;
	if (op->q == NULL || init == NULL)
		node_req_oom(&op->req);
	else if (ni > 0 && init_propose(op, init, ni))
		op = NULL; /* answers in on_init_applied */
	else if (ni == 0)
		node_req_ok(&op->req, &op->r);
	free(init);
	if (op != NULL)
		offsets_free(op);
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
