/*
 * gather.c — collect the bounds (and the offset for a time) of a topic's
 * queues from the brokers that host them, in parallel: the first step of a
 * reset, a describe, and a committed-offset read.
 *
 * Happy path: one QUEUE_STATS per hosting broker (answered locally for this
 * broker) → every answer filled into the queue array (broker order, then
 * queue id) → close the defer timer → done(ok). Failure modes: a broker
 * that does not answer within GATHER_ASK_MS, or answers an error, makes
 * done() report which one; nothing else is tried, and the caller changes
 * nothing.
 *
 * done() always runs from the close callback of g->defer, so it never runs
 * inside node_gather_start (even when every queue is local) and the gather
 * holds no handle once it has run.
 */
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

#define GATHER_ASK_MS 2000

struct gather_ask {
	struct rpc_call call;
	struct node_gather *g;
	uint32_t broker;
};

static void on_deferred(uv_handle_t *h)
{
	struct node_gather *g = h->data;
	g->done(g, g->partial || g->failed[0] == '\0');
}

static void arrived(struct node_gather *g)
{
	assert(g->waiting > 0);
	if (--g->waiting == 0)
		uv_close((uv_handle_t *)&g->defer, on_deferred);
}

static void fill(struct node_gather *g, uint32_t b,
		 const struct rpc_queue_stat *st, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		if (st[i].queue_id >= g->qpb)
			continue; /* a confused broker: not ours to index */
		g->q[(size_t)b * g->qpb + st[i].queue_id] =
		    (struct node_qstat){true,
					st[i].min_offset,
					st[i].max_offset,
					st[i].time_offset,
					st[i].first_store_time,
					st[i].last_store_time,
					st[i].scheduled};
	}
}

static void on_answer(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct gather_ask *a = call->data;
	struct node_gather *g = a->g;
	struct rpc_queue_stats_resp r;
	struct rpc_status st = {RPC_OK, NULL, NULL, false};
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
	arrived(g);
}

/* This broker's queues, answered here as QUEUE_STATS would. */
static void ask_local(struct node_gather *g, uint32_t b, const uint64_t *ids,
		      uint32_t nids)
{
	for (uint32_t i = 0; i < nids; i++) {
		uint32_t code;
		char msg[300];
		struct node_qstat *s = &g->q[(size_t)b * g->qpb + ids[i]];
		if (node_queue_stat(g->n, g->topic, (uint32_t)ids[i],
				    g->with_time, g->time, s, &code, msg,
				    sizeof msg) != 0) {
			snprintf(g->failed, sizeof g->failed, "broker %s: %s",
				 g->n->cfg.name, msg);
			return;
		}
	}
}

static void ask_remote(struct node_gather *g, uint32_t b, const uint64_t *ids,
		       uint32_t nids)
{
	const struct rsm_broker *br =
	    rsm_broker_by_name(g->n->rsm, g->brokers[b]);
	struct rpc_client *c = br ? node_link(g->n, br->id, br->listen) : NULL;
	struct gather_ask *a = &((struct gather_ask *)g->asks)[b];
	a->g = g;
	a->broker = b;
	a->call.data = a;
	/* Every queue of the broker: an empty list says "all". */
	struct rpc_queue_stats_req q = {
	    g->topic, {ids, nids == g->qpb ? 0 : nids}, g->with_time, g->time};
	if (c == NULL || rpc_client_request(c, &a->call, RPC_QUEUE_STATS, &q,
					    GATHER_ASK_MS, on_answer) != 0) {
		snprintf(g->failed, sizeof g->failed,
			 "broker %s is not reachable", g->brokers[b]);
		return;
	}
	g->waiting++;
}

static int gather_alloc(struct node_gather *g, const struct rsm_topic *t)
{
	size_t nq = (size_t)t->n_brokers * t->queues_per_broker;
	g->n_brokers = t->n_brokers;
	g->qpb = t->queues_per_broker;
	g->brokers =
	    calloc(g->n_brokers ? g->n_brokers : 1, sizeof *g->brokers);
	g->q = calloc(nq ? nq : 1, sizeof *g->q);
	g->asks =
	    calloc(g->n_brokers ? g->n_brokers : 1, sizeof(struct gather_ask));
	if (g->brokers == NULL || g->q == NULL || g->asks == NULL) {
		node_gather_free(g);
		return -1;
	}
	memcpy(g->brokers, t->brokers, g->n_brokers * sizeof *g->brokers);
	return 0;
}

int node_gather_start(struct node *n, struct node_gather *g,
		      const struct rsm_topic *t, const bool *want,
		      node_gather_cb done)
{
	uint64_t *ids = calloc(t->queues_per_broker + 1, sizeof *ids);
	if (ids == NULL || gather_alloc(g, t) != 0) {
		free(ids);
		return -1;
	}
	memset(g->failed, 0, sizeof g->failed);
	snprintf(g->topic, sizeof g->topic, "%s", t->name);
	g->n = n;
	g->done = done;
	g->defer.data = g;
	uv_timer_init(n->loop, &g->defer);
	g->waiting = 1; /* held until every ask is out */
	for (uint32_t b = 0; b < g->n_brokers; b++) {
		uint32_t nids = 0;
		for (uint32_t k = 0; k < g->qpb; k++)
			if (want == NULL || want[(size_t)b * g->qpb + k])
				ids[nids++] = k;
		if (nids > 0 && strcmp(g->brokers[b], n->cfg.name) == 0)
			ask_local(g, b, ids, nids);
		else if (nids > 0)
			ask_remote(g, b, ids, nids);
	}
	free(ids);
	arrived(g);
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
