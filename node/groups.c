/*
 * groups.c — consumer-group requests on the leader: HEARTBEAT (the answer
 * is the member's assignment), LEAVE (its queues move at once),
 * GROUP_DESCRIBE (per topic the epoch and each queue's committed offset,
 * MaxOffset and lag; the online members and their queues), and
 * GROUP_DELETE (one replicated entry; refused while members are online).
 *
 * GROUP_DESCRIBE gathers the topics one after another; the names it
 * answers with are copies, since the replicated state may change (and
 * move) between gathers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "members.h"

/* ---- HEARTBEAT, LEAVE ---- */

/* The topics exist and the member's fields fit (answered otherwise). */
static bool heartbeat_valid(const struct node_req *req,
			    const struct rpc_heartbeat_req *q)
{
	if (node_req_group(req, q->group) == NULL)
		return false;
	if (strlen(q->member_id) == 0 || strlen(q->member_id) > RSM_TEXT_MAX ||
	    q->topics.n > NODE_MEMBER_TOPICS_MAX ||
	    q->epochs.n > NODE_MEMBER_TOPICS_MAX) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "member_id must be 1-%d bytes, at most %d topics "
			      "and epochs",
			      RSM_TEXT_MAX, NODE_MEMBER_TOPICS_MAX);
		return false;
	}
	for (uint32_t i = 0; i < q->topics.n; i++)
		if (node_req_topic(req, q->topics.v[i]) == NULL)
			return false;
	return true;
}

struct assign_list {
	struct rpc_assignment *v;
	uint32_t n, cap;
};

static void emit_assign(void *arg, const char *topic, const char *broker,
			uint32_t q)
{
	struct assign_list *e = arg;
	assert(e->n < e->cap); /* counted by the first pass */
	e->v[e->n++] = (struct rpc_assignment){topic, broker, q};
}

static void count_assign(void *arg, const char *topic, const char *broker,
			 uint32_t q)
{
	(void)arg, (void)topic, (void)broker, (void)q;
}

void node_handle_heartbeat(const struct node_req *req, const void *in)
{
	const struct rpc_heartbeat_req *q = in;
	struct node *n = req->n;
	if (!heartbeat_valid(req, q))
		return;
	struct node_member_hb hb = {q->group,	 q->member_id, q->client,
				    q->topics.v, q->topics.n,  q->epochs.v,
				    q->epochs.n, req->conn};
	const struct node_member *m = node_member_beat(n, &hb);
	uint32_t total =
	    m ? node_member_assignment(n, m, count_assign, NULL) : 0;
	struct assign_list e = {calloc(total ? total : 1, sizeof *e.v), 0,
				total};
	struct rpc_topic_epoch ep[NODE_MEMBER_TOPICS_MAX];
	if (m == NULL || e.v == NULL) {
		free(e.v);
		node_req_oom(req);
		return;
	}
	node_member_assignment(n, m, emit_assign, &e);
	/* The group's epoch on each topic: a member that missed a reset's
	 * notice moves on this answer, before its lease is renewed. */
	const struct rsm_group *g = rsm_group_find(n->rsm, q->group);
	for (uint32_t i = 0; i < m->n_topics; i++) {
		const struct rsm_group_topic *gt =
		    g ? rsm_group_topic(g, m->topics[i]) : NULL;
		ep[i] =
		    (struct rpc_topic_epoch){m->topics[i], gt ? gt->epoch : 0};
	}
	struct rpc_heartbeat_resp r = {node_group_generation(n, q->group),
				       {e.v, e.n},
				       {ep, m->n_topics},
				       n->cfg.member_lease_ms};
	node_req_ok(req, &r);
	free(e.v);
}

void node_handle_leave(const struct node_req *req, const void *in)
{
	const struct rpc_leave_req *q = in;
	node_member_leave(req->n, q->group, q->member_id);
	node_req_ok(req, NULL);
}

/* ---- GROUP_DELETE ---- */

/* Refused while a member is online (it would recreate nothing but keep
 * reading and committing into a group that no longer exists). */
void node_handle_group_delete(const struct node_req *req, const void *in)
{
	const struct rpc_group_req *q = in;
	if (node_req_group(req, q->group) == NULL ||
	    !node_req_group_idle(req, q->group, "wait until they leave"))
		return;
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_delete_group(q->group, &buf, err, sizeof err) != 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	node_req_propose(req, buf, true);
}

/* ---- GROUP_DESCRIBE ---- */

struct describe_group_op {
	struct node_req req; /* first: node_req_op */
	struct node_gather g;
	char group[RSM_NAME_MAX + 1];
	uint32_t next_topic; /* topics are gathered one after another */
	struct rpc_group_topic_info *topics;
	uint32_t n_topics;
	struct rpc_lag_info *lag;
	char (*names)[RSM_NAME_MAX + 1]; /* lag[i]'s broker name */
	char (*topic_names)[RSM_NAME_MAX + 1];
	size_t lag_used, lag_cap;
	bool topics_done;
	/* The group's %RETRY% and %DLQ% topics, gathered in parallel with
	 * the topics, for their backlog. */
	struct node_gather bg[2];
	uint32_t bg_pending;
	uint64_t retry_pending, dlq;
};

static void describe_next(struct describe_group_op *op);

static void describe_group_free(struct describe_group_op *op)
{
	free(op->topics);
	free(op->lag);
	free(op->names);
	free(op->topic_names);
	free(op);
}

/* A member's queues as "topic/broker:id" strings. */
struct member_q {
	char **v;
	uint32_t n, cap;
};

#define MEMBER_Q_MAX 4096
#define MEMBER_Q_TEXT (RSM_NAME_MAX * 2 + 16)

static void emit_name(void *arg, const char *topic, const char *broker,
		      uint32_t q)
{
	struct member_q *mq = arg;
	if (mq->n == mq->cap)
		return;
	char *s = malloc(MEMBER_Q_TEXT);
	if (s == NULL)
		return;
	snprintf(s, MEMBER_Q_TEXT, "%s/%s:%u", topic, broker, q);
	mq->v[mq->n++] = s;
}

static void member_qs_free(struct member_q *mq, uint32_t k)
{
	for (uint32_t i = 0; mq != NULL && i < k; i++) {
		for (uint32_t j = 0; j < mq[i].n; j++)
			free(mq[i].v[j]);
		free(mq[i].v);
	}
	free(mq);
}

/* The online members of the group with their queues; the count. */
static uint32_t describe_members(struct node *n, const char *group,
				 struct rpc_member_info *mi,
				 struct member_q *mq)
{
	uint32_t k = 0;
	for (size_t i = 0; i < node_member_count(n); i++) {
		const struct node_member *m = node_member_at(n, i);
		if (strcmp(m->group, group) != 0)
			continue;
		mq[k].cap = MEMBER_Q_MAX;
		mq[k].v = calloc(mq[k].cap, sizeof *mq[k].v);
		if (mq[k].v != NULL)
			node_member_assignment(n, m, emit_name, &mq[k]);
		mi[k] = (struct rpc_member_info){
		    m->id, m->client, {(const char *const *)mq[k].v, mq[k].n}};
		k++;
	}
	return k;
}

static void describe_send(struct describe_group_op *op)
{
	struct node *n = op->req.n;
	const struct rsm_group *g = rsm_group_find(n->rsm, op->group);
	uint32_t nm = node_group_members(n, op->group, NULL, 0);
	struct rpc_member_info *mi = calloc(nm ? nm : 1, sizeof *mi);
	struct member_q *mq = calloc(nm ? nm : 1, sizeof *mq);
	uint32_t k = mi && mq ? describe_members(n, op->group, mi, mq) : 0;
	uint64_t delays[RSM_RETRY_STEPS_MAX];
	uint32_t nd = g ? g->retry.n_delays : 0;
	for (uint32_t i = 0; i < nd; i++)
		delays[i] = g->retry.delays_ms[i];
	struct rpc_group_describe_resp r = {
	    op->group,
	    g && g->mode == RSM_BROADCASTING ? "broadcasting" : "clustering",
	    {op->topics, op->n_topics},
	    {mi, k},
	    nd ? g->retry.max_reconsume_times : 0,
	    {delays, nd},
	    op->retry_pending,
	    op->dlq};
	node_req_ok(&op->req, &r);
	member_qs_free(mq, k);
	free(mi);
	describe_group_free(op);
}

/* One queue's committed offset, MaxOffset and lag; a queue whose broker
 * did not answer has them unknown (null, "?"), never 0 (DESIGN §7). */
static struct rpc_lag_info lag_of(const struct rsm_group *grp,
				  const char *topic, const struct node_qstat *s,
				  uint64_t at)
{
	if (!s->known)
		return (struct rpc_lag_info){NULL, 0, at, 0, 0, true};
	if (at == RSM_OFFSET_NONE) /* where a first read would start */
		at = rsm_starts_earliest(grp, topic) ? s->min : s->max;
	return (struct rpc_lag_info){
	    NULL, 0, at, s->max, s->max > at ? s->max - at : 0, false};
}

static void on_group_gathered(struct node_gather *g, bool ok)
{
	struct describe_group_op *op = g->data;
	const struct rsm_group *grp = rsm_group_find(op->req.n->rsm, op->group);
	const struct rsm_group_topic *gt =
	    grp ? rsm_group_topic(grp, g->topic) : NULL;
	size_t nq = (size_t)g->n_brokers * g->qpb;
	struct rpc_group_topic_info *ti = &op->topics[op->n_topics - 1];
	(void)ok; /* partial: unknown queues show their commit, lag 0 */
	ti->queues.v = op->lag + op->lag_used;
	for (size_t i = 0; gt && i < nq && op->lag_used < op->lag_cap; i++) {
		size_t at = op->lag_used++;
		memcpy(op->names[at], g->brokers[i / g->qpb],
		       sizeof op->names[0]);
		op->lag[at] = lag_of(grp, g->topic, &g->q[i], gt->offsets[i]);
		op->lag[at].broker_name = op->names[at];
		op->lag[at].queue_id = (uint32_t)(i % g->qpb);
		ti->queues.n++;
	}
	node_gather_free(g);
	describe_next(op);
}

/* The group's retry or dead-letter topic gathered: adds what waits
 * there (from the group's position, or the start) to the backlog, and
 * for retries what the brokers' schedule stores hold for it. */
static void on_backlog_gathered(struct node_gather *g, bool ok)
{
	struct describe_group_op *op = g->data;
	const struct rsm_group *grp = rsm_group_find(op->req.n->rsm, op->group);
	bool retry = g == &op->bg[0];
	(void)ok; /* partial: a broker that did not answer adds nothing */
	uint64_t n = grp ? node_gather_backlog(g, grp, retry) : 0;
	*(retry ? &op->retry_pending : &op->dlq) += n;
	node_gather_free(g);
	assert(op->bg_pending > 0);
	if (--op->bg_pending == 0 && op->topics_done)
		describe_send(op);
}

/* Starts the gathers of the group's retry and dead-letter topics (their
 * callbacks may run before this returns; the answer waits for both). */
static void backlog_start(struct describe_group_op *op,
			  const struct rsm_group *g)
{
	struct node *n = op->req.n;
	for (int k = 0; g->retry.n_delays > 0 && k < 2; k++) {
		char name[RSM_NAME_MAX + 1];
		if (k == 0)
			rsm_retry_topic(name, g->name);
		else
			rsm_dlq_topic(name, g->name);
		const struct rsm_topic *t = rsm_topic_find(n->rsm, name);
		op->bg[k].data = op;
		op->bg[k].partial = true;
		op->bg_pending++;
		if (t == NULL || node_gather_start(n, &op->bg[k], t, NULL,
						   on_backlog_gathered) != 0)
			op->bg_pending--;
	}
}

/* Gathers the group's topics one after another (not its retry and
 * dead-letter topics: their backlog is counted apart), then answers. */
static void describe_next(struct describe_group_op *op)
{
	struct node *n = op->req.n;
	const struct rsm_group *g = rsm_group_find(n->rsm, op->group);
	while (g != NULL && op->next_topic < g->n_topics) {
		const struct rsm_group_topic *gt = &g->topics[op->next_topic++];
		if (rsm_internal_group(gt->topic) != NULL)
			continue;
		const struct rsm_topic *t = rsm_topic_find(n->rsm, gt->topic);
		uint32_t k = op->n_topics++;
		memcpy(op->topic_names[k], gt->topic,
		       sizeof op->topic_names[0]);
		op->topics[k] = (struct rpc_group_topic_info){
		    op->topic_names[k], gt->epoch, {NULL, 0}};
		if (t == NULL)
			continue;
		memset(&op->g, 0, sizeof op->g);
		op->g.data = op;
		op->g.partial = true;
		if (node_gather_start(n, &op->g, t, NULL, on_group_gathered) ==
		    0)
			return; /* continues in on_group_gathered */
	}
	op->topics_done = true;
	if (op->bg_pending == 0)
		describe_send(op);
	/* else on_backlog_gathered answers */
}

/* The op for group @g, or NULL after answering "out of memory". */
static struct describe_group_op *describe_group_new(const struct node_req *req,
						    const struct rsm_group *g)
{
	size_t total = 0, nt = g->n_topics ? g->n_topics : 1;
	for (uint32_t i = 0; i < g->n_topics; i++)
		total += g->topics[i].n;
	struct describe_group_op *op = node_req_op(req, sizeof *op);
	if (op == NULL)
		return NULL;
	op->topics = calloc(nt, sizeof *op->topics);
	op->topic_names = calloc(nt, sizeof *op->topic_names);
	op->lag = calloc(total ? total : 1, sizeof *op->lag);
	op->names = calloc(total ? total : 1, sizeof *op->names);
	op->lag_cap = total;
	if (op->topics == NULL || op->lag == NULL || op->names == NULL ||
	    op->topic_names == NULL) {
		describe_group_free(op);
		node_req_oom(req);
		return NULL;
	}
	snprintf(op->group, sizeof op->group, "%s", g->name);
	return op;
}

void node_handle_group_describe(const struct node_req *req, const void *in)
{
	const struct rpc_group_req *q = in;
	const struct rsm_group *g = node_req_group(req, q->group);
	struct describe_group_op *op = g ? describe_group_new(req, g) : NULL;
	if (op == NULL)
		return;
	op->bg_pending++; /* held while the gathers start */
	backlog_start(op, g);
	op->bg_pending--;
	describe_next(op);
}
