/*
 * replica.c — this broker's replicas of replicated queues: their roles as
 * the applied state says, their leader epochs, and the high watermark a
 * leader computes from its in-sync followers (docs/design/replication.md
 * §4-5).
 *
 * Happy path: a topic of factor 3 is created → every replica broker
 * applies the entry, opens its replica; the home takes up leadership
 * (records its epoch at its log end), the others start fetching from it
 * (fetcher.c) → each fetch reports the follower's log end → the leader's
 * high watermark moves to the lowest end in its in-sync set and the
 * produce answers it covers go out (acks.c).
 *
 * Failure modes: a replica that cannot be opened is logged and tried
 * again at the next change; a leader epoch that cannot be recorded is
 * logged (the follower's fetch then finds the divergence by the older
 * epoch and cuts more than needed — never less).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replica.h"

int node_replica_init(struct node *n, struct node_queue *e, const char *dir,
		      char *msg, size_t msglen)
{
	(void)n;
	struct node_replica *r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	struct stor_queue_info info;
	stor_queue_info(e->q, &info);
	char err[600];
	int rv = stor_epochs_open(dir, node_storage_env(), info.max_offset,
				  &r->epochs, err, sizeof err);
	if (rv != 0) {
		snprintf(msg, msglen, "%s", err);
		NODE_LOG(NODE_ERROR, "replication", "%s", err);
		free(r);
		return -1;
	}
	r->hw = info.min_offset; /* a lower bound until a leader says */
	e->rep = r;
	return 0;
}

void node_replica_free(struct node *n, struct node_queue *e)
{
	if (e->rep == NULL)
		return;
	node_acks_fail(n, e, RPC_UNAVAILABLE, "the queue was closed");
	stor_epochs_close(e->rep->epochs);
	free(e->rep);
	e->rep = NULL;
}

uint64_t node_queue_hw(const struct node_queue *e)
{
	if (e->rep != NULL)
		return e->rep->hw;
	return stor_queue_synced_end(e->q);
}

uint64_t node_queue_durable(const struct node_queue *e)
{
	return stor_queue_synced_end(e->q);
}

uint32_t node_isr_count(const struct rsm_topic *t, uint32_t qi)
{
	return (uint32_t)__builtin_popcount(rsm_queue_replicas(t, qi)->isr);
}

static uint64_t log_end(const struct node_queue *e)
{
	struct stor_queue_info info;
	stor_queue_info(e->q, &info);
	return info.max_offset;
}

void node_replica_advance(struct node *n, struct node_queue *e,
			  const struct rsm_topic *t, uint32_t qi)
{
	struct node_replica *rp = e->rep;
	const struct rsm_replicas *r = rsm_queue_replicas(t, qi);
	int me = rsm_replica_index(t, r, n->cfg.name);
	assert(rp != NULL && rp->leading && me >= 0);
	uint64_t hw = node_queue_durable(e); /* the leader's own copy */
	bool known = true;
	uint8_t isr = r->isr;
	if (r->version == rp->adding_version)
		isr |= rp->adding;
	for (uint32_t i = 0; i < r->n; i++) {
		if ((int)i == me || (isr & (1u << i)) == 0)
			continue;
		if (!rp->f[i].seen)
			known = false;
		else if (rp->f[i].end < hw)
			hw = rp->f[i].end;
	}
	rp->hw_known = rp->hw_known || known;
	if (known && hw > rp->hw) {
		rp->hw = hw;
		node_acks_release(n, e);
		node_fetch_wake_queue(n, e->topic, e->home, e->queue_id, hw);
	}
}

/* This broker takes up leadership of @e in epoch @epoch. */
static void take_over(struct node *n, struct node_queue *e,
		      const struct rsm_topic *t, uint32_t qi, uint64_t epoch)
{
	struct node_replica *rp = e->rep;
	uint64_t end = log_end(e);
	if (stor_epochs_add(rp->epochs, epoch, end) != 0)
		NODE_LOG(NODE_ERROR, "replication", "queue %s/%s/%u: %s",
			 e->topic, e->home, e->queue_id,
			 stor_epochs_errmsg(rp->epochs));
	rp->leading = true;
	rp->epoch = epoch;
	/* What it learned as a follower is a lower bound of the high
	 * watermark, its log end an upper one (it was in sync): when they
	 * meet, that is the high watermark — every in-sync replica holds
	 * it — and readers need not wait for the followers' first fetch. */
	rp->hw_known = rp->hw == end;
	rp->alter_inflight = false;
	rp->adding = 0;
	uint64_t now = uv_now(n->loop);
	for (uint32_t i = 0; i < RSM_REPLICAS_MAX; i++)
		rp->f[i] = (struct node_follower){0, 0, now, false};
	NODE_LOG(NODE_INFO, "replication",
		 "queue %s/%s/%u: leading in epoch %" PRIu64 " from offset "
		 "%" PRIu64,
		 e->topic, e->home, e->queue_id, epoch, end);
	node_replica_advance(n, e, t, qi);
}

/* @e's role after an applied change to its queue @qi of @t. */
static void follow_role(struct node *n, struct node_queue *e,
			const struct rsm_topic *t, uint32_t qi)
{
	struct node_replica *rp = e->rep;
	const struct rsm_replicas *r = rsm_queue_replicas(t, qi);
	const char *leader = rsm_queue_leader(t, qi);
	bool mine = leader != NULL && strcmp(leader, n->cfg.name) == 0;
	bool new_epoch = !rp->leading || rp->epoch != r->leader_epoch;
	if (mine && new_epoch && !node_is_current(n)) {
		/* The state may be old (a snapshot restored at start, a
		 * follower behind): another broker may lead the queue in a
		 * newer epoch. Taken up once current (node_replicas_tick). */
		n->roles_waiting = true;
		return;
	}
	if (mine && new_epoch) {
		take_over(n, e, t, qi, r->leader_epoch);
		/* Every parked follower asks again now: its next fetch
		 * names the queue it is to follow here (failover: the
		 * first acknowledgement waits for that fetch). */
		node_replica_wake_all(n, false);
	} else if (mine) {
		node_replica_advance(n, e, t, qi); /* the set may have moved */
	} else if (rp->leading) {
		rp->leading = false;
		node_acks_fail(n, e, RPC_NOT_LEADER,
			       "this broker no longer leads the queue");
		node_replica_wake(n, e);
	}
	rp->epoch = r->leader_epoch;
}

/* Opens and follows every replica of @t this broker holds. */
static void sync_topic(struct node *n, const struct rsm_topic *t)
{
	for (uint32_t qi = 0; qi < rsm_topic_queues(t); qi++) {
		const struct rsm_replicas *r = rsm_queue_replicas(t, qi);
		if (rsm_replica_index(t, r, n->cfg.name) < 0)
			continue;
		const char *home = t->brokers[qi / t->queues_per_broker];
		uint32_t id = qi % t->queues_per_broker, code;
		char msg[600];
		struct node_queue *e = node_queue_open(n, t->name, home, id,
						       &code, msg, sizeof msg);
		if (e == NULL)
			NODE_LOG(NODE_ERROR, "replication",
				 "queue %s/%s/%u: cannot open the replica: %s",
				 t->name, home, id, msg);
		else if (e->rep != NULL)
			follow_role(n, e, t, qi);
	}
}

void node_replicas_on_applied(struct node *n, const struct rsm_result *res)
{
	if (res != NULL &&
	    (res->code != RSM_OK || (res->type != RSM_CMD_CREATE_TOPIC &&
				     res->type != RSM_CMD_ALTER_ISR &&
				     res->type != RSM_CMD_FENCE_BROKER)))
		return;
	for (uint32_t i = 0; i < rsm_topic_count(n->rsm); i++) {
		const struct rsm_topic *t = rsm_topic_at(n->rsm, i);
		if (t->replication_factor > 1)
			sync_topic(n, t);
	}
	node_fetchers_run(n);
}

void node_replicas_tick(struct node *n)
{
	if (!n->roles_waiting || !node_is_current(n))
		return;
	n->roles_waiting = false;
	node_replicas_on_applied(n, NULL);
}

/* NOT_LEADER or UNAVAILABLE for queue @qi of @t, which @n does not
 * lead. */
static uint32_t not_led(struct node *n, const struct rsm_topic *t, uint32_t qi,
			char *msg, size_t msglen, const char **leader)
{
	const char *l = rsm_queue_leader(t, qi);
	const char *home = t->brokers[qi / t->queues_per_broker];
	uint32_t id = qi % t->queues_per_broker;
	if (l == NULL) {
		snprintf(msg, msglen,
			 "queue %s/%s/%u is offline: no in-sync replica is up",
			 t->name, home, id);
		return RPC_UNAVAILABLE;
	}
	const struct rsm_broker *b = rsm_broker_by_name(n->rsm, l);
	*leader = b ? b->listen : NULL;
	snprintf(msg, msglen, "queue %s/%s/%u is led by %s", t->name, home, id,
		 l);
	return RPC_NOT_LEADER;
}

struct node_queue *node_led_queue(struct node *n, const char *topic,
				  const char *home, uint32_t qid,
				  uint32_t *code, char *msg, size_t msglen,
				  const char **leader)
{
	*leader = NULL;
	if (home == NULL)
		home = n->cfg.name;
	const struct rsm_topic *t = rsm_topic_find(n->rsm, topic);
	int64_t qi = t ? rsm_topic_queue_index(t, home, qid) : -1;
	const char *l = qi >= 0 ? rsm_queue_leader(t, (uint32_t)qi) : NULL;
	if (qi >= 0 && (l == NULL || strcmp(l, n->cfg.name) != 0)) {
		*code = not_led(n, t, (uint32_t)qi, msg, msglen, leader);
		return NULL;
	}
	struct node_queue *e =
	    node_queue_open(n, topic, home, qid, code, msg, msglen);
	if (e != NULL && e->rep != NULL && !e->rep->leading) {
		*code = RPC_UNAVAILABLE;
		int k = snprintf(msg, msglen, "queue %s/%s/%u: taking over",
				 topic, home, qid);
		if (!node_is_current(n) && k > 0 && (size_t)k + 2 < msglen) {
			snprintf(msg + k, msglen - (size_t)k,
				 " once current: ");
			size_t used = strlen(msg);
			node_lease_explain(n, msg + used, msglen - used);
		}
		return NULL;
	}
	return e;
}

struct stor_queue *node_led_stor(struct node *n, const char *topic,
				 const char *home, uint32_t qid, uint32_t *code,
				 char *msg, size_t msglen)
{
	const char *leader;
	struct node_queue *e =
	    node_led_queue(n, topic, home, qid, code, msg, msglen, &leader);
	return e ? e->q : NULL;
}

void node_replica_appended(struct node *n, struct node_queue *e, uint64_t end)
{
	if (e->rep == NULL) {
		uint64_t hw = node_queue_hw(e); /* a sync may be running */
		node_fetch_wake_queue(n, e->topic, e->home, e->queue_id,
				      hw < end ? hw : end);
		return;
	}
	const struct rsm_topic *t = rsm_topic_find(n->rsm, e->topic);
	int64_t qi = t ? rsm_topic_queue_index(t, e->home, e->queue_id) : -1;
	assert(qi >= 0); /* the queue is led here: the state has it */
	node_replica_wake(n, e);
	node_replica_advance(n, e, t, (uint32_t)qi); /* alone in sync */
}

struct node_queue *node_req_led_queue(const struct node_req *req,
				      const char *topic, const char *home,
				      uint32_t qid)
{
	uint32_t code;
	char msg[600];
	const char *leader;
	struct node_queue *e = node_led_queue(req->n, topic, home, qid, &code,
					      msg, sizeof msg, &leader);
	if (e != NULL)
		return e;
	struct rpc_status st = {code, msg, leader, false};
	node_req_reply(req, &st, NULL);
	return NULL;
}

void node_queue_synced(struct node *n, struct node_queue *e)
{
	node_acks_release(n, e);
	if (e->rep == NULL) {
		node_fetch_wake_queue(n, e->topic, e->home, e->queue_id,
				      node_queue_hw(e));
		return;
	}
	if (!e->rep->leading)
		return; /* a follower's copies are synced as they come */
	const struct rsm_topic *t = rsm_topic_find(n->rsm, e->topic);
	int64_t qi = t ? rsm_topic_queue_index(t, e->home, e->queue_id) : -1;
	if (qi >= 0 && t->created == e->created)
		node_replica_advance(n, e, t, (uint32_t)qi);
}
