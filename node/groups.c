/*
 * groups.c — online members of consumer groups, kept by the leader (soft
 * state: a new leader starts empty and members re-register with their next
 * heartbeat, within one heartbeat interval).
 *
 * A member sends HEARTBEAT with the topics it reads; the answer is its
 * assignment. Clustering groups divide each topic's queues (sorted by
 * broker, queue id) round-robin over the members reading that topic
 * (sorted by member id): deterministic, so every member computes nothing.
 * Broadcasting members get every queue. A member that stops heartbeating
 * for session_timeout_ms is dropped. Every change of membership bumps the
 * group's generation and pushes REBALANCE_NOTICE to the members; resets
 * push RESET_NOTICE (a hint: correctness comes from the epoch fence).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

#define MAX_TOPICS_PER_MEMBER 64

struct node_member {
	char group[RSM_NAME_MAX + 1];
	char id[RSM_TEXT_MAX + 1];
	char client[RSM_TEXT_MAX + 1];
	char topics[MAX_TOPICS_PER_MEMBER][RSM_NAME_MAX + 1];
	uint32_t n_topics;
	uint64_t conn; /* where notices go */
	uint64_t last_seen;
};

struct node_groups {
	struct node_member *m;
	size_t n, cap;
	/* generation per group name */
	struct gen {
		char group[RSM_NAME_MAX + 1];
		uint64_t generation;
	} * gens;
	size_t ngens;
};

static struct node_groups *groups(struct node *n)
{
	if (n->groups == NULL)
		n->groups = calloc(1, sizeof *n->groups);
	return n->groups;
}

static uint64_t *generation(struct node *n, const char *group)
{
	struct node_groups *gs = groups(n);
	if (gs == NULL)
		return NULL;
	for (size_t i = 0; i < gs->ngens; i++)
		if (strcmp(gs->gens[i].group, group) == 0)
			return &gs->gens[i].generation;
	struct gen *p = realloc(gs->gens, (gs->ngens + 1) * sizeof *p);
	if (p == NULL)
		return NULL;
	gs->gens = p;
	memset(&p[gs->ngens], 0, sizeof *p);
	snprintf(p[gs->ngens].group, sizeof p->group, "%s", group);
	return &p[gs->ngens++].generation;
}

static int cmp_member(const void *a, const void *b)
{
	const struct node_member *x = a, *y = b;
	int c = strcmp(x->group, y->group);
	return c != 0 ? c : strcmp(x->id, y->id);
}

uint32_t node_group_members(struct node *n, const char *group,
			    const char **names, uint32_t max)
{
	struct node_groups *gs = groups(n);
	uint32_t k = 0;
	for (size_t i = 0; gs != NULL && i < gs->n; i++)
		if (strcmp(gs->m[i].group, group) == 0) {
			if (names != NULL && k < max)
				names[k] = gs->m[i].id;
			k++;
		}
	return k;
}

static bool reads(const struct node_member *m, const char *topic)
{
	for (uint32_t i = 0; i < m->n_topics; i++)
		if (strcmp(m->topics[i], topic) == 0)
			return true;
	return false;
}

/*
 * The queues of @m: for each topic it reads, queue k (in broker, id
 * order) goes to the (k mod r)-th of the r members reading that topic
 * (members sorted by id); broadcasting members get all. Calls @emit per
 * queue; returns the count.
 */
static uint32_t assignment(struct node *n, const struct node_member *m,
			   void (*emit)(void *arg, const char *topic,
					const char *broker, uint32_t q),
			   void *arg)
{
	struct node_groups *gs = groups(n);
	const struct rsm_group *g = rsm_group_find(n->rsm, m->group);
	uint32_t count = 0;
	for (uint32_t t = 0; g != NULL && t < m->n_topics; t++) {
		const struct rsm_topic *tp =
		    rsm_topic_find(n->rsm, m->topics[t]);
		if (tp == NULL)
			continue;
		uint32_t readers = 0, me = 0;
		for (size_t i = 0; i < gs->n; i++) {
			const struct node_member *o = &gs->m[i];
			if (strcmp(o->group, m->group) != 0 ||
			    !reads(o, tp->name))
				continue;
			if (strcmp(o->id, m->id) == 0)
				me = readers;
			readers++;
		}
		uint32_t nq = rsm_topic_queues(tp);
		for (uint32_t k = 0; k < nq; k++) {
			if (g->mode == RSM_CLUSTERING && k % readers != me)
				continue;
			emit(arg, tp->name,
			     tp->brokers[k / tp->queues_per_broker],
			     k % tp->queues_per_broker);
			count++;
		}
	}
	return count;
}

static void notify_rebalance(struct node *n, const char *group)
{
	struct node_groups *gs = groups(n);
	uint64_t *gen = generation(n, group);
	if (gs == NULL || gen == NULL)
		return;
	(*gen)++;
	struct rpc_rebalance_notice note = {group, *gen};
	for (size_t i = 0; i < gs->n; i++)
		if (strcmp(gs->m[i].group, group) == 0)
			rpc_server_send(&n->rpc, gs->m[i].conn,
					RPC_REBALANCE_NOTICE, 0, NULL, &note);
}

void node_groups_notify_reset(struct node *n, const struct rsm_reset *r)
{
	struct node_groups *gs = groups(n);
	if (gs == NULL)
		return;
	struct rpc_offset_info *q = calloc(r->n ? r->n : 1, sizeof *q);
	if (q == NULL)
		return;
	for (uint32_t i = 0; i < r->n; i++)
		q[i] = (struct rpc_offset_info){r->queues[i].broker,
						r->queues[i].queue_id,
						r->queues[i].offset};
	struct rpc_reset_notice note = {
	    r->group, r->topic, r->epoch, {q, r->n}};
	for (size_t i = 0; i < gs->n; i++)
		if (strcmp(gs->m[i].group, r->group) == 0 &&
		    reads(&gs->m[i], r->topic))
			rpc_server_send(&n->rpc, gs->m[i].conn,
					RPC_RESET_NOTICE, 0, NULL, &note);
	free(q);
}

static void drop(struct node *n, size_t i)
{
	struct node_groups *gs = groups(n);
	char group[RSM_NAME_MAX + 1];
	snprintf(group, sizeof group, "%s", gs->m[i].group);
	NODE_LOG(NODE_INFO, "group", "member %s left group %s", gs->m[i].id,
		 group);
	memmove(&gs->m[i], &gs->m[i + 1], (gs->n - i - 1) * sizeof *gs->m);
	gs->n--;
	notify_rebalance(n, group);
}

void node_groups_tick(struct node *n)
{
	struct node_groups *gs = n->groups;
	if (gs == NULL)
		return;
	/* Membership is the leader's: a node that is not leader forgets. */
	if (raft_state(&n->raft) != RAFT_LEADER) {
		gs->n = 0;
		return;
	}
	uint64_t now = uv_now(n->loop);
	for (size_t i = gs->n; i-- > 0;)
		if (now - gs->m[i].last_seen > n->cfg.session_timeout_ms)
			drop(n, i);
}

struct emit_ctx {
	struct rpc_assignment *v;
	uint32_t n, cap;
};

static void emit_assign(void *arg, const char *topic, const char *broker,
			uint32_t q)
{
	struct emit_ctx *e = arg;
	if (e->n < e->cap)
		e->v[e->n] = (struct rpc_assignment){topic, broker, q};
	e->n++;
}

void node_handle_heartbeat(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_heartbeat_req in;
	char msg[300];
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id))
		return;
	const struct rsm_group *g = rsm_group_find(n->rsm, in.group);
	if (g == NULL) {
		snprintf(msg, sizeof msg, "group '%s' does not exist",
			 in.group);
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_UNKNOWN_GROUP, msg);
		return;
	}
	if (strlen(in.member_id) == 0 || strlen(in.member_id) > RSM_TEXT_MAX ||
	    in.topics.n > MAX_TOPICS_PER_MEMBER) {
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_INVALID_ARGUMENT,
				 "member_id must be 1-255 bytes, at most 64 "
				 "topics");
		return;
	}
	for (uint32_t i = 0; i < in.topics.n; i++)
		if (rsm_topic_find(n->rsm, in.topics.v[i]) == NULL) {
			snprintf(msg, sizeof msg, "topic '%s' does not exist",
				 in.topics.v[i]);
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_UNKNOWN_TOPIC, msg);
			return;
		}
	struct node_groups *gs = groups(n);
	if (gs == NULL) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	struct node_member *m = NULL;
	for (size_t i = 0; i < gs->n && m == NULL; i++)
		if (strcmp(gs->m[i].group, in.group) == 0 &&
		    strcmp(gs->m[i].id, in.member_id) == 0)
			m = &gs->m[i];
	bool changed = false;
	if (m == NULL) {
		if (gs->n == gs->cap) {
			size_t cap = gs->cap ? gs->cap * 2 : 16;
			struct node_member *p = realloc(gs->m, cap * sizeof *p);
			if (p == NULL) {
				node_reply_error(n, conn, f->type,
						 f->request_id, RPC_INTERNAL,
						 "out of memory");
				return;
			}
			gs->m = p;
			gs->cap = cap;
		}
		m = &gs->m[gs->n++];
		memset(m, 0, sizeof *m);
		snprintf(m->group, sizeof m->group, "%s", in.group);
		snprintf(m->id, sizeof m->id, "%s", in.member_id);
		changed = true;
		NODE_LOG(NODE_INFO, "group", "member %s joined group %s", m->id,
			 m->group);
	}
	/* Topics changed? */
	bool same = m->n_topics == in.topics.n;
	for (uint32_t i = 0; same && i < in.topics.n; i++)
		same = reads(m, in.topics.v[i]);
	if (!same) {
		m->n_topics = in.topics.n;
		for (uint32_t i = 0; i < in.topics.n; i++)
			snprintf(m->topics[i], sizeof m->topics[i], "%s",
				 in.topics.v[i]);
		changed = true;
	}
	snprintf(m->client, sizeof m->client, "%s", in.client ? in.client : "");
	m->conn = conn;
	m->last_seen = uv_now(n->loop);
	char group[RSM_NAME_MAX + 1], id[RSM_TEXT_MAX + 1];
	snprintf(group, sizeof group, "%s", m->group);
	snprintf(id, sizeof id, "%s", m->id);
	qsort(gs->m, gs->n, sizeof *gs->m, cmp_member);
	if (changed)
		notify_rebalance(n, group);
	for (size_t i = 0; i < gs->n; i++)
		if (strcmp(gs->m[i].group, group) == 0 &&
		    strcmp(gs->m[i].id, id) == 0)
			m = &gs->m[i];
	struct emit_ctx e = {NULL, 0, 0};
	uint32_t total = assignment(n, m, emit_assign, &e);
	e.v = calloc(total ? total : 1, sizeof *e.v);
	e.cap = total;
	e.n = 0;
	if (e.v == NULL) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	assignment(n, m, emit_assign, &e);
	uint64_t *gen = generation(n, group);
	struct rpc_heartbeat_resp r = {gen ? *gen : 0, {e.v, e.n}};
	node_reply(n, conn, f->type, f->request_id, NULL, &r);
	free(e.v);
}

void node_handle_leave(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_leave_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id))
		return;
	struct node_groups *gs = groups(n);
	for (size_t i = 0; gs != NULL && i < gs->n; i++)
		if (strcmp(gs->m[i].group, in.group) == 0 &&
		    strcmp(gs->m[i].id, in.member_id) == 0) {
			drop(n, i);
			break;
		}
	node_reply(n, conn, f->type, f->request_id, NULL,
		   &(struct rpc_empty){0});
}

/* GROUP_DESCRIBE: per topic the epoch and each queue's committed offset,
 * MaxOffset and lag; the online members and their queues. */
struct describe_group_op {
	struct node_gather g;
	struct node *n;
	uint64_t conn, rid;
	char group[RSM_NAME_MAX + 1];
	uint32_t next_topic; /* topics are gathered one after another */
	struct rpc_group_topic_info *topics;
	uint32_t n_topics;
	struct rpc_lag_info *lag;
	char (*names)[RSM_NAME_MAX + 1];
	/* Copies: the state may change (and move) between gathers. */
	char (*topic_names)[RSM_NAME_MAX + 1];
	size_t lag_used, lag_cap;
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

struct member_q {
	char **v;
	uint32_t n, cap;
};

static void emit_name(void *arg, const char *topic, const char *broker,
		      uint32_t q)
{
	struct member_q *mq = arg;
	if (mq->n == mq->cap)
		return;
	char *s = malloc(RSM_NAME_MAX * 2 + 16);
	if (s == NULL)
		return;
	snprintf(s, RSM_NAME_MAX * 2 + 16, "%s/%s:%u", topic, broker, q);
	mq->v[mq->n++] = s;
}

static void describe_send(struct describe_group_op *op)
{
	struct node *n = op->n;
	const struct rsm_group *g = rsm_group_find(n->rsm, op->group);
	struct node_groups *gs = groups(n);
	uint32_t nm = node_group_members(n, op->group, NULL, 0);
	struct rpc_member_info *mi = calloc(nm ? nm : 1, sizeof *mi);
	struct member_q *mq = calloc(nm ? nm : 1, sizeof *mq);
	uint32_t k = 0;
	for (size_t i = 0; gs && mi && mq && i < gs->n; i++) {
		const struct node_member *m = &gs->m[i];
		if (strcmp(m->group, op->group) != 0)
			continue;
		mq[k].cap = 4096;
		mq[k].v = calloc(mq[k].cap, sizeof *mq[k].v);
		if (mq[k].v != NULL)
			assignment(n, m, emit_name, &mq[k]);
		mi[k] = (struct rpc_member_info){
		    m->id, m->client, {(const char *const *)mq[k].v, mq[k].n}};
		k++;
	}
	struct rpc_group_describe_resp r = {
	    op->group,
	    g && g->mode == RSM_BROADCASTING ? "broadcasting" : "clustering",
	    {op->topics, op->n_topics},
	    {mi, mi ? k : 0}};
	node_reply(n, op->conn, RPC_GROUP_DESCRIBE, op->rid, NULL, &r);
	for (uint32_t i = 0; mq && i < k; i++) {
		for (uint32_t j = 0; j < mq[i].n; j++)
			free(mq[i].v[j]);
		free(mq[i].v);
	}
	free(mq);
	free(mi);
	describe_group_free(op);
}

static void on_group_gathered(struct node_gather *g, bool ok)
{
	struct describe_group_op *op = (struct describe_group_op *)g;
	struct node *n = op->n;
	(void)ok; /* partial: unknown queues show their commit, lag 0 */
	const struct rsm_group *grp = rsm_group_find(n->rsm, op->group);
	const struct rsm_group_topic *gt =
	    grp ? rsm_group_topic(grp, g->topic) : NULL;
	size_t nq = (size_t)g->n_brokers * g->qpb;
	struct rpc_group_topic_info *ti = &op->topics[op->next_topic - 1];
	ti->queues.v = op->lag + op->lag_used;
	for (size_t i = 0; gt && i < nq && op->lag_used < op->lag_cap; i++) {
		const struct node_qstat *s = &g->q[i];
		uint64_t at = gt->offsets[i];
		if (at == RSM_OFFSET_NONE) /* where a first read would start */
			at = !s->known				    ? 0
			     : grp->initial == RSM_INITIAL_EARLIEST ? s->min
								    : s->max;
		uint64_t max = s->known ? s->max : at;
		memcpy(op->names[op->lag_used], g->brokers[i / g->qpb],
		       sizeof op->names[0]);
		op->lag[op->lag_used++] = (struct rpc_lag_info){
		    op->names[op->lag_used - 1], (uint32_t)(i % g->qpb), at,
		    max, max > at ? max - at : 0};
		ti->queues.n++;
	}
	node_gather_free(g);
	describe_next(op);
}

static void describe_next(struct describe_group_op *op)
{
	struct node *n = op->n;
	const struct rsm_group *g = rsm_group_find(n->rsm, op->group);
	while (g != NULL && op->next_topic < g->n_topics) {
		const struct rsm_group_topic *gt = &g->topics[op->next_topic];
		const struct rsm_topic *t = rsm_topic_find(n->rsm, gt->topic);
		memcpy(op->topic_names[op->next_topic], gt->topic,
		       sizeof op->topic_names[0]);
		op->topics[op->next_topic] = (struct rpc_group_topic_info){
		    op->topic_names[op->next_topic], gt->epoch, {NULL, 0}};
		op->next_topic++;
		op->n_topics = op->next_topic;
		if (t == NULL)
			continue;
		memset(&op->g, 0, sizeof op->g);
		op->g.data = op;
		op->g.partial = true;
		op->g.done = on_group_gathered;
		if (node_gather_start(n, &op->g, t, NULL) == 0)
			return; /* continues in on_group_gathered */
	}
	describe_send(op);
}

void node_handle_group_describe(struct node *n, uint64_t conn,
				struct rpc_frame *f)
{
	struct rpc_group_req in;
	char msg[300];
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id) ||
	    !node_read_gate(n, conn, f))
		return;
	const struct rsm_group *g = rsm_group_find(n->rsm, in.group);
	if (g == NULL) {
		snprintf(msg, sizeof msg, "group '%s' does not exist",
			 in.group);
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_UNKNOWN_GROUP, msg);
		return;
	}
	struct describe_group_op *op = calloc(1, sizeof *op);
	size_t total = 0;
	for (uint32_t i = 0; i < g->n_topics; i++)
		total += g->topics[i].n;
	if (op != NULL) {
		op->topics =
		    calloc(g->n_topics ? g->n_topics : 1, sizeof *op->topics);
		op->topic_names = calloc(g->n_topics ? g->n_topics : 1,
					 sizeof *op->topic_names);
		op->lag = calloc(total ? total : 1, sizeof *op->lag);
		op->names = calloc(total ? total : 1, sizeof *op->names);
	}
	if (op == NULL || op->topics == NULL || op->lag == NULL ||
	    op->names == NULL || op->topic_names == NULL) {
		if (op != NULL)
			describe_group_free(op);
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	op->n = n;
	op->conn = conn;
	op->rid = f->request_id;
	op->lag_cap = total;
	snprintf(op->group, sizeof op->group, "%s", in.group);
	describe_next(op);
}

void node_groups_free(struct node *n)
{
	if (n->groups == NULL)
		return;
	free(n->groups->m);
	free(n->groups->gens);
	free(n->groups);
	n->groups = NULL;
}
