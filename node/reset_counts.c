/*
 * reset_counts.c — how many resets this node answered, by group, topic
 * and result (node_int.h; GET /metrics' raftq_resets_total). Resets are
 * rare operator actions: a flat array searched linearly, at most
 * NODE_RESET_COUNTS_MAX series (beyond: counted under group "_other").
 */
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

static struct node_reset_count *find(struct node *n, const char *group,
				     const char *topic, const char *result)
{
	for (uint32_t i = 0; i < n->n_reset_counts; i++) {
		struct node_reset_count *c = &n->reset_counts[i];
		if (strcmp(c->group, group) == 0 &&
		    strcmp(c->topic, topic) == 0 &&
		    strcmp(c->result, result) == 0)
			return c;
	}
	return NULL;
}

static struct node_reset_count *add(struct node *n, const char *group,
				    const char *topic, const char *result)
{
	if (n->n_reset_counts == n->cap_reset_counts) {
		uint32_t cap =
		    n->cap_reset_counts ? 2 * n->cap_reset_counts : 8;
		struct node_reset_count *v =
		    realloc(n->reset_counts, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		n->reset_counts = v;
		n->cap_reset_counts = cap;
	}
	struct node_reset_count *c = &n->reset_counts[n->n_reset_counts++];
	memset(c, 0, sizeof *c);
	snprintf(c->group, sizeof c->group, "%s", group);
	snprintf(c->topic, sizeof c->topic, "%s", topic);
	snprintf(c->result, sizeof c->result, "%s", result);
	return c;
}

void node_resets_count(struct node *n, const char *group, const char *topic,
		       const char *result)
{
	if (n->n_reset_counts >= NODE_RESET_COUNTS_MAX &&
	    find(n, group, topic, result) == NULL) {
		group = "_other";
		topic = "_other";
	}
	struct node_reset_count *c = find(n, group, topic, result);
	if (c == NULL)
		c = add(n, group, topic, result);
	if (c != NULL)
		c->n++;
}

void node_resets_free(struct node *n)
{
	free(n->reset_counts);
	n->reset_counts = NULL;
	n->n_reset_counts = n->cap_reset_counts = 0;
}
