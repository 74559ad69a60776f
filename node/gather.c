/*
 * gather.c — collect the bounds (and the offset for a time) of a topic's
 * queues from the brokers that host them, in parallel: the first step of a
 * reset, a describe, and a committed-offset read.
 *
 * Happy path: one QUEUE_STATS per hosting broker (answered locally for this
 * broker) → every answer filled into the queue array (broker order, then
 * queue id) → done(ok). Failure modes: a broker that does not answer within
 * 2 s, or answers an error, makes done() report which one; nothing else is
 * tried, and the caller changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

struct gather_ask {
	struct rpc_call call;
	struct node_gather *g;
	uint32_t broker;
};

static void gather_done(struct node_gather *g)
{
	g->done(g, g->partial || g->failed[0] == '\0');
}

static void fill(struct node_gather *g, uint32_t b,
		 const struct rpc_queue_stat *st, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		if (st[i].queue_id >= g->qpb)
			continue;
		struct node_qstat *q =
		    &g->q[(size_t)b * g->qpb + st[i].queue_id];
		q->known = true;
		q->min = st[i].min_offset;
		q->max = st[i].max_offset;
		q->time_offset = st[i].time_offset;
		q->first_time = st[i].first_store_time;
		q->last_time = st[i].last_store_time;
	}
}

static void on_answer(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct gather_ask *a = call->data;
	struct node_gather *g = a->g;
	struct rpc_queue_stats_resp r;
	struct rpc_status st;
	const char *name = g->brokers[a->broker];
	if (status != 0)
		snprintf(g->failed, sizeof g->failed,
			 "broker %s did not answer: %s", name,
			 rpc_strerror(status));
	else if (rpc_decode(f, RPC_QUEUE_STATS | RPC_RESPONSE, &r, &st, NULL) !=
		     0 ||
		 st.code != RPC_OK)
		snprintf(g->failed, sizeof g->failed, "broker %s: %s", name,
			 st.message ? st.message : "bad answer");
	else
		fill(g, a->broker, r.queues.v, r.queues.n);
	if (--g->waiting == 0)
		gather_done(g);
}

/* Local answer, as QUEUE_STATS would give it. */
static int local(struct node *n, struct node_gather *g, uint32_t b,
		 const uint64_t *ids, uint32_t nids)
{
	uint32_t m = nids ? nids : g->qpb;
	for (uint32_t i = 0; i < m; i++) {
		uint32_t id = (uint32_t)(nids ? ids[i] : i);
		uint32_t code;
		char msg[300];
		struct stor_queue *q =
		    node_queue(n, g->topic, id, &code, msg, sizeof msg);
		if (q == NULL) {
			snprintf(g->failed, sizeof g->failed, "broker %s: %s",
				 n->cfg.name, msg);
			return -1;
		}
		struct stor_queue_info info;
		stor_queue_info(q, &info);
		struct rpc_queue_stat st = {
		    id, info.min_offset,       info.max_offset,
		    0,	info.first_store_time, info.last_store_time};
		if (g->with_time && stor_queue_offset_for_time(
					q, g->time, &st.time_offset) != 0) {
			snprintf(g->failed, sizeof g->failed, "broker %s: %s",
				 n->cfg.name, stor_queue_errmsg(q));
			return -1;
		}
		fill(g, b, &st, 1);
	}
	return 0;
}

int node_gather_start(struct node *n, struct node_gather *g,
		      const struct rsm_topic *t, const bool *want)
{
	memset(g->failed, 0, sizeof g->failed);
	snprintf(g->topic, sizeof g->topic, "%s", t->name);
	g->n_brokers = t->n_brokers;
	g->qpb = t->queues_per_broker;
	size_t nq = (size_t)g->n_brokers * g->qpb;
	g->brokers = calloc(g->n_brokers, sizeof *g->brokers);
	g->q = calloc(nq ? nq : 1, sizeof *g->q);
	g->asks = calloc(g->n_brokers, sizeof(struct gather_ask));
	uint64_t *ids = calloc(g->qpb, sizeof *ids);
	if (g->brokers == NULL || g->q == NULL || g->asks == NULL ||
	    ids == NULL) {
		free(ids);
		node_gather_free(g);
		return -1;
	}
	memcpy(g->brokers, t->brokers, g->n_brokers * sizeof *g->brokers);
	g->waiting = 1; /* held until every ask is out */
	for (uint32_t b = 0; b < g->n_brokers; b++) {
		uint32_t nids = 0;
		for (uint32_t k = 0; k < g->qpb; k++)
			if (want == NULL || want[(size_t)b * g->qpb + k])
				ids[nids++] = k;
		if (nids == 0)
			continue;
		if (nids == g->qpb)
			nids = 0; /* all */
		if (strcmp(g->brokers[b], n->cfg.name) == 0) {
			local(n, g, b, ids, nids);
			continue;
		}
		const struct rsm_broker *br =
		    rsm_broker_by_name(n->rsm, g->brokers[b]);
		struct rpc_client *c =
		    br ? node_link(n, br->id, br->listen) : NULL;
		struct gather_ask *a = &((struct gather_ask *)g->asks)[b];
		a->g = g;
		a->broker = b;
		a->call.data = a;
		struct rpc_queue_stats_req q = {
		    g->topic, {ids, nids}, g->with_time, g->time};
		if (c == NULL ||
		    rpc_client_request(c, &a->call, RPC_QUEUE_STATS, &q, 2000,
				       on_answer) != 0) {
			snprintf(g->failed, sizeof g->failed,
				 "broker %s is not reachable", g->brokers[b]);
			continue;
		}
		g->waiting++;
	}
	free(ids);
	if (--g->waiting == 0)
		gather_done(g);
	return 0;
}

void node_gather_free(struct node_gather *g)
{
	free(g->brokers);
	free(g->q);
	free(g->asks);
	g->brokers = NULL;
	g->q = NULL;
	g->asks = NULL;
}
