/*
 * isr.c — in-sync sets (docs/design/replication.md §4): a queue leader
 * removes a follower that has not reached its log end for
 * [replication] replica_lag_max_ms and adds back one that has, through the Raft
 * leader (ALTER_ISR: one Raft entry, guarded by the leader epoch and the
 * replica state version the leader read, so a deposed leader's request
 * changes nothing). At most one change per queue is on its way; the next
 * tick looks again at the state it produced. A follower being added counts
 * for the high watermark from the moment it is asked for (replica.h,
 * adding): found by the nemesis — the home was added back while the leader
 * went on acknowledging batches it did not have yet, then led from its
 * shorter log, and acknowledged messages were overwritten.
 */
#include <stdlib.h>
#include <string.h>

#include "replica.h"

/* One ALTER_ISR on its way, sent to the Raft leader or proposed here. */
struct isr_change {
	struct node *n;
	char topic[RSM_NAME_MAX + 1];
	char home[RSM_NAME_MAX + 1];
	int64_t created;
	uint32_t queue_id;
	struct rpc_call call;
	struct node_proposal prop;
};

/* The in-sync set @e's leader wants for queue @qi of @t now. */
static uint8_t wanted(struct node *n, const struct node_queue *e,
		      const struct rsm_topic *t, uint32_t qi)
{
	const struct rsm_replicas *r = rsm_queue_replicas(t, qi);
	const struct node_replica *rp = e->rep;
	struct stor_queue_info info;
	stor_queue_info(e->q, &info);
	uint64_t now = uv_now(n->loop);
	uint8_t isr = r->isr;
	for (uint32_t i = 0; i < r->n; i++) {
		if ((int)i == r->leader)
			continue;
		const struct node_follower *f = &rp->f[i];
		const struct rsm_broker *b =
		    rsm_broker_by_name(n->rsm, rsm_replica_broker(t, r, i));
		bool in = (isr & (1u << i)) != 0;
		if (in && now - f->caught_up > n->cfg.replica_lag_max_ms)
			isr &= (uint8_t) ~(1u << i);
		else if (!in && f->seen && f->end >= info.max_offset &&
			 b != NULL && !b->fenced)
			isr |= (uint8_t)(1u << i);
	}
	return isr;
}

/* The change is over (applied, refused or lost): the queue may ask
 * again. */
static void change_done(struct isr_change *c, const char *why)
{
	struct node *n = c->n;
	const struct rsm_topic *t = rsm_topic_find(n->rsm, c->topic);
	struct node_queue *e = t && t->created == c->created
				   ? node_queue_find(n, t, c->home, c->queue_id)
				   : NULL;
	if (e != NULL && e->rep != NULL)
		e->rep->alter_inflight = false;
	if (why != NULL)
		NODE_LOG(NODE_INFO, "replication",
			 "queue %s/%s/%u: in-sync set change not applied: %s",
			 c->topic, c->home, c->queue_id, why);
	free(c);
}

static void on_proposed(struct node_proposal *p, uint32_t code, const char *msg,
			const struct rsm_result *res)
{
	(void)res;
	change_done(p->data, code == RPC_OK ? NULL : msg);
}

static void on_answered(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct isr_change *c = call->data;
	struct rpc_status st = {RPC_OK, NULL, NULL, false};
	struct rpc_empty body;
	if (status == 0 &&
	    rpc_decode(f, RPC_ALTER_ISR | RPC_RESPONSE, &body, &st, NULL) != 0)
		st.code = RPC_INTERNAL;
	change_done(c, status != 0	    ? rpc_strerror(status)
		       : st.code == RPC_OK  ? NULL
		       : st.message != NULL ? st.message
					    : "refused");
}

/* Proposes here (this node leads Raft) or sends @q to the Raft leader:
 * 0, or -1 when it could not go (@c is then the caller's). */
static int send_change(struct isr_change *c, const struct rpc_alter_isr_req *q)
{
	struct node *n = c->n;
	if (node_is_ready_leader(n)) {
		struct raft_buffer buf;
		struct rsm_alter_isr a = {
		    q->topic,	 q->created,	  q->broker,
		    q->queue_id, q->leader_epoch, q->version,
		    q->isr.v,	 q->isr.n,	  q->log_start};
		if (rsm_encode_alter_isr(&a, &buf, NULL, 0) != 0)
			return -1;
		c->prop.data = c;
		return node_propose(n, &c->prop, buf, on_proposed) == RPC_OK
			   ? 0
			   : -1;
	}
	uint64_t id = 0;
	const char *addr = node_leader_listen(n, &id);
	struct rpc_client *cli = addr ? node_link(n, id, addr) : NULL;
	c->call.data = c;
	return cli != NULL && rpc_client_request(cli, &c->call, RPC_ALTER_ISR,
						 q, 2000, on_answered) == 0
		   ? 0
		   : -1;
}

/* Asks for in-sync set @isr of @e (queue @qi of @t). */
static void ask(struct node *n, struct node_queue *e, const struct rsm_topic *t,
		uint32_t qi, uint8_t isr)
{
	const struct rsm_replicas *r = rsm_queue_replicas(t, qi);
	const char *names[RSM_REPLICAS_MAX];
	uint32_t k = 0;
	for (uint32_t i = 0; i < r->n; i++)
		if (isr & (1u << i))
			names[k++] = rsm_replica_broker(t, r, i);
	struct isr_change *c = calloc(1, sizeof *c);
	if (c == NULL)
		return;
	c->n = n;
	snprintf(c->topic, sizeof c->topic, "%s", e->topic);
	snprintf(c->home, sizeof c->home, "%s", e->home);
	c->created = e->created;
	c->queue_id = e->queue_id;
	struct stor_queue_info info;
	stor_queue_info(e->q, &info);
	struct rpc_alter_isr_req q = {e->topic,	   e->created,	    e->home,
				      e->queue_id, r->leader_epoch, r->version,
				      {names, k},  info.min_offset};
	if (send_change(c, &q) != 0) {
		free(c);
		return;
	}
	e->rep->alter_inflight = true;
	e->rep->adding = (uint8_t)(isr & ~r->isr);
	e->rep->adding_version = r->version;
}

void node_isr_tick(struct node *n)
{
	for (size_t i = 0; i < n->nqueues; i++) {
		struct node_queue *e = &n->queues[i];
		if (e->rep == NULL || !e->rep->leading ||
		    e->rep->alter_inflight)
			continue;
		const struct rsm_topic *t = rsm_topic_find(n->rsm, e->topic);
		int64_t qi =
		    t && t->created == e->created
			? rsm_topic_queue_index(t, e->home, e->queue_id)
			: -1;
		if (qi < 0)
			continue;
		uint8_t isr = wanted(n, e, t, (uint32_t)qi);
		if (isr != rsm_queue_replicas(t, (uint32_t)qi)->isr)
			ask(n, e, t, (uint32_t)qi, isr);
	}
}

void node_handle_alter_isr(const struct node_req *req, const void *in)
{
	const struct rpc_alter_isr_req *q = in;
	struct rsm_alter_isr a = {q->topic,    q->created,	q->broker,
				  q->queue_id, q->leader_epoch, q->version,
				  q->isr.v,    q->isr.n,	q->log_start};
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_alter_isr(&a, &buf, err, sizeof err) != 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	node_req_propose(req, buf, false);
}
