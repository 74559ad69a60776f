/*
 * metrics.h — what a node counts about itself and shows at GET /metrics
 * (DESIGN.md §6.1, Prometheus text format 0.0.4; docs/design/http.md).
 * node/ only.
 *
 * Each node shows its own view: its requests, its Raft state, the queues
 * it hosts, and every group's lag on those queues (computed the way
 * `group describe` does, from the replicated offsets and the local queue
 * bounds). Prometheus scrapes every node; the sum over nodes is the
 * cluster.
 */
#ifndef RAFTQ_NODE_METRICS_H
#define RAFTQ_NODE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct node;

#define NODE_METRICS_TYPES 32 /* request type numbers below this */
#define NODE_METRICS_CODES 16 /* wire codes below this */
#define NODE_METRICS_BUCKETS 12

struct node_metrics {
	uint64_t answers[NODE_METRICS_TYPES][NODE_METRICS_CODES];
	/* Latency from a frame's arrival to its answer, per type: answers
	 * per bucket (each in the first whose bound it is under; made
	 * cumulative when written), the sum. */
	uint64_t buckets[NODE_METRICS_TYPES][NODE_METRICS_BUCKETS];
	double sum_s[NODE_METRICS_TYPES];
};

/* Counts one answer of request @type with @code, @ns after it arrived. */
void node_metrics_answer(struct node_metrics *m, uint16_t type, uint32_t code,
			 uint64_t ns);
/* The exposition text of node @n (malloc'ed, NUL-terminated; *len its
 * length), or NULL when out of memory. */
char *node_metrics_render(struct node *n, size_t *len);

#endif /* RAFTQ_NODE_METRICS_H */
