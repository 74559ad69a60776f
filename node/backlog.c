/*
 * backlog.c — what waits for a group in its retry or dead-letter topic
 * (DESIGN.md §2.2), from a gather of that topic: group describe's
 * retry_pending and dlq, a reset answer's retry_pending.
 */
#include "node_int.h"

uint64_t node_gather_backlog(const struct node_gather *g,
			     const struct rsm_group *grp, bool scheduled)
{
	const struct rsm_group_topic *gt = rsm_group_topic(grp, g->topic);
	size_t nq = (size_t)g->n_brokers * g->qpb;
	uint64_t sum = 0;
	for (size_t i = 0; i < nq; i++) {
		const struct node_qstat *q = &g->q[i];
		uint64_t at =
		    gt && gt->n == nq ? gt->offsets[i] : RSM_OFFSET_NONE;
		if (!q->known)
			continue;
		at = at == RSM_OFFSET_NONE || at < q->min ? q->min : at;
		sum += (q->max > at ? q->max - at : 0) +
		       (scheduled ? q->scheduled : 0);
	}
	return sum;
}
