/*
 * gather.c — collect the bounds (and the offset for a time) of a topic's
 * queues from the brokers that host them, in parallel: the first step of a
 * reset, a describe, and a committed-offset read.
 *
 * Happy path: one QUEUE_STATS per hosting broker (answered locally for this
 * broker) → every answer filled into the queue array (broker order, then
 * queue id) → close the defer timer → done(ok). Failure modes: a broker
 * that does not answer within GATHER_ASK_MS, or answers an error, makes
 * done() report which one, and the caller changes nothing. A refusal a
 * queue leader change causes (NOT_LEADER, UNAVAILABLE, an offline queue)
 * asks the whole round again after a pause, until NODE_GATHER_RETRY_MS.
 *
 * done() always runs from the close callback of g->defer, so it never runs
 * inside node_gather_start (even when every queue is local) and the gather
 * holds no handle once it has run.
 */
#include <stdlib.h>
#include <string.h>

#include "node_int.h"
#include "replica.h"

#define GATHER_ASK_MS 2000

struct gather_ask {
	struct rpc_call call;
	struct node_gather *g;
	uint32_t broker;	       /* the queues' home */
	char leader[RSM_NAME_MAX + 1]; /* asked: it leads them */
};
/* Asks per gather: a home's queues have at most RSM_REPLICAS_MAX
 * replicas each, so that many leaders. */
#define ASKS_PER_HOME RSM_REPLICAS_MAX

static void on_deferred(uv_handle_t *h)
{
	struct node_gather *g = h->data;
	g->done(g, g->partial || g->failed[0] == '\0');
}

static void on_pause(uv_timer_t *timer);

/* One ask fewer outstanding; after the last, done() or another round. */
static void arrived(struct node_gather *g)
{
	assert(g->waiting > 0);
	if (--g->waiting > 0)
		return;
	uint64_t took = uv_now(g->n->loop) - g->started;
	if (g->failed[0] != '\0' && g->transient && !g->partial &&
	    took + NODE_GATHER_PAUSE_MS < NODE_GATHER_RETRY_MS &&
	    g->n->phase < NODE_CLOSING) {
		uv_timer_start(&g->defer, on_pause, NODE_GATHER_PAUSE_MS, 0);
		return;
	}
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

/* True for the refusals a queue leader change causes (and ends). */
static bool leader_change(uint32_t code)
{
	return code == RPC_NOT_LEADER || code == RPC_UNAVAILABLE;
}

static void on_answer(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct gather_ask *a = call->data;
	struct node_gather *g = a->g;
	struct rpc_queue_stats_resp r;
	struct rpc_status st = {RPC_OK, NULL, NULL, false};
	const char *name = a->leader;
	if (status != 0)
		snprintf(g->failed, sizeof g->failed,
			 "broker %s did not answer: %s", name,
			 rpc_strerror(status));
	else if (rpc_decode(f, RPC_QUEUE_STATS | RPC_RESPONSE, &r, &st, NULL) !=
		     0 ||
		 st.code != RPC_OK) {
		snprintf(g->failed, sizeof g->failed, "broker %s: %s", name,
			 st.message ? st.message : "bad answer");
		g->transient |= leader_change(st.code);
	} else
		fill(g, a->broker, r.queues.v, r.queues.n);
	arrived(g);
}

/* Queues of home @b this broker leads, answered here as QUEUE_STATS
 * would. */
static void ask_local(struct node_gather *g, uint32_t b, const uint64_t *ids,
		      uint32_t nids)
{
	for (uint32_t i = 0; i < nids; i++) {
		uint32_t code;
		char msg[300];
		struct node_qstat *s = &g->q[(size_t)b * g->qpb + ids[i]];
		if (node_queue_stat(g->n, g->topic, g->brokers[b],
				    (uint32_t)ids[i], g->with_time, g->time, s,
				    &code, msg, sizeof msg) != 0) {
			snprintf(g->failed, sizeof g->failed, "broker %s: %s",
				 g->n->cfg.name, msg);
			g->transient |= leader_change(code);
			return;
		}
	}
}

/* Asks broker @leader for queues @ids of home @b. */
static void ask_remote(struct node_gather *g, uint32_t b, const char *leader,
		       const uint64_t *ids, uint32_t nids)
{
	const struct rsm_broker *br = rsm_broker_by_name(g->n->rsm, leader);
	struct rpc_client *c = br ? node_link(g->n, br->id, br->listen) : NULL;
	struct gather_ask *a = &((struct gather_ask *)g->asks)[g->n_asks++];
	assert(g->n_asks <= g->n_brokers * ASKS_PER_HOME);
	a->g = g;
	a->broker = b;
	snprintf(a->leader, sizeof a->leader, "%s", leader);
	a->call.data = a;
	/* Every queue of the home: an empty list says "all". */
	struct rpc_queue_stats_req q = {g->topic,
					g->brokers[b],
					{ids, nids == g->qpb ? 0 : nids},
					g->with_time,
					g->time};
	if (c == NULL || rpc_client_request(c, &a->call, RPC_QUEUE_STATS, &q,
					    GATHER_ASK_MS, on_answer) != 0) {
		snprintf(g->failed, sizeof g->failed,
			 "broker %s is not reachable", leader);
		return;
	}
	g->waiting++;
}

/* Asks, for home @b, each leader of the queues @ids (@nids of them)
 * for its part; @ids is reordered. An offline queue fails the gather. */
static void ask_home(struct node_gather *g, const struct rsm_topic *t,
		     uint32_t b, uint64_t *ids, uint32_t nids)
{
	while (nids > 0) {
		size_t qi = (size_t)b * g->qpb + ids[0];
		const char *leader = rsm_queue_leader(t, (uint32_t)qi);
		if (leader == NULL) {
			snprintf(g->failed, sizeof g->failed,
				 "queue %s/%s/%llu is offline: no in-sync "
				 "replica is up",
				 g->topic, g->brokers[b],
				 (unsigned long long)ids[0]);
			g->transient = true; /* until a replica is back */
			memmove(ids, ids + 1, --nids * sizeof *ids);
			continue;
		}
		/* Those it leads to the front: ids[0..k). */
		uint32_t k = 0;
		for (uint32_t i = 0; i < nids; i++) {
			const char *l = rsm_queue_leader(
			    t, (uint32_t)((size_t)b * g->qpb + ids[i]));
			if (l != NULL && strcmp(l, leader) == 0) {
				uint64_t x = ids[k];
				ids[k++] = ids[i];
				ids[i] = x;
			}
		}
		if (strcmp(leader, g->n->cfg.name) == 0)
			ask_local(g, b, ids, k);
		else
			ask_remote(g, b, leader, ids, k);
		memmove(ids, ids + k, (nids - k) * sizeof *ids);
		nids -= k;
	}
}

static int gather_alloc(struct node_gather *g, const struct rsm_topic *t,
			const bool *want)
{
	size_t nq = (size_t)t->n_brokers * t->queues_per_broker;
	g->want = want != NULL ? malloc(nq ? nq : 1) : NULL;
	g->n_brokers = t->n_brokers;
	g->qpb = t->queues_per_broker;
	g->brokers =
	    calloc(g->n_brokers ? g->n_brokers : 1, sizeof *g->brokers);
	g->q = calloc(nq ? nq : 1, sizeof *g->q);
	g->n_asks = 0;
	g->ids = calloc(g->qpb + 1, sizeof *g->ids);
	g->asks = calloc((g->n_brokers ? g->n_brokers : 1) * ASKS_PER_HOME,
			 sizeof(struct gather_ask));
	if (g->brokers == NULL || g->q == NULL || g->asks == NULL ||
	    g->ids == NULL || (want != NULL && g->want == NULL)) {
		node_gather_free(g);
		return -1;
	}
	if (want != NULL)
		memcpy(g->want, want, nq);
	memcpy(g->brokers, t->brokers, g->n_brokers * sizeof *g->brokers);
	return 0;
}

/* Asks for every wanted queue of @t (one round). */
static void gather_round(struct node_gather *g, const struct rsm_topic *t)
{
	uint64_t *ids = g->ids;
	memset(g->failed, 0, sizeof g->failed);
	g->transient = false;
	g->n_asks = 0;
	g->waiting = 1; /* held until every ask is out */
	for (uint32_t b = 0; b < g->n_brokers; b++) {
		uint32_t nids = 0;
		for (uint32_t k = 0; k < g->qpb; k++)
			if (g->want == NULL || g->want[(size_t)b * g->qpb + k])
				ids[nids++] = k;
		ask_home(g, t, b, ids, nids);
	}
	arrived(g);
}

/* The pause after a round that failed on a leader change is over. */
static void on_pause(uv_timer_t *timer)
{
	struct node_gather *g = timer->data;
	const struct rsm_topic *t = rsm_topic_find(g->n->rsm, g->topic);
	if (t != NULL && t->created == g->created &&
	    t->n_brokers == g->n_brokers && t->queues_per_broker == g->qpb) {
		gather_round(g, t);
		return;
	}
	snprintf(g->failed, sizeof g->failed, "topic '%s' %s while asked",
		 g->topic, t == NULL ? "was deleted" : "changed");
	uv_close((uv_handle_t *)&g->defer, on_deferred);
}

int node_gather_start(struct node *n, struct node_gather *g,
		      const struct rsm_topic *t, const bool *want,
		      node_gather_cb done)
{
	if (gather_alloc(g, t, want) != 0)
		return -1;
	snprintf(g->topic, sizeof g->topic, "%s", t->name);
	g->created = t->created;
	g->n = n;
	g->done = done;
	g->started = uv_now(n->loop);
	g->defer.data = g;
	uv_timer_init(n->loop, &g->defer);
	gather_round(g, t);
	return 0;
}

void node_gather_free(struct node_gather *g)
{
	free(g->want);
	free(g->ids);
	g->want = NULL;
	g->ids = NULL;
	free(g->brokers);
	free(g->q);
	free(g->asks);
	g->brokers = NULL;
	g->q = NULL;
	g->asks = NULL;
}
