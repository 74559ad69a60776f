/*
 * members.c — online members of consumer groups, kept by the leader (soft
 * state: a new leader starts empty and members re-register with their next
 * heartbeat, within one heartbeat interval).
 *
 * Clustering groups divide each topic's queues (sorted by broker, queue id)
 * round-robin over the members reading that topic (sorted by member id):
 * deterministic, so members compute nothing. Broadcasting members get every
 * queue. A member that stops heartbeating for session_timeout_ms is
 * dropped. Every change of membership bumps the group's generation and
 * pushes REBALANCE_NOTICE to the members; resets push RESET_NOTICE. Each
 * heartbeat says the lowest reset epoch the member holds positions under,
 * per topic: a reset is answered once the members confirmed its epoch
 * (member_wait.c), since what a member already fetched is past the
 * brokers' epoch fence.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/grow.h"
#include "members.h"

struct gen {
	char group[RSM_NAME_MAX + 1];
	uint64_t generation;
};

struct node_groups {
	struct node_member *m; /* sorted by group, then id */
	size_t n, cap;
	struct gen *gens; /* generation per group name */
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

uint64_t node_group_generation(struct node *n, const char *group)
{
	uint64_t *g = generation(n, group);
	return g ? *g : 0;
}

size_t node_member_count(struct node *n)
{
	return n->groups ? n->groups->n : 0;
}

const struct node_member *node_member_at(struct node *n, size_t i)
{
	assert(n->groups != NULL && i < n->groups->n);
	return &n->groups->m[i];
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
	uint32_t k = 0;
	for (size_t i = 0; i < node_member_count(n); i++) {
		const struct node_member *m = node_member_at(n, i);
		if (strcmp(m->group, group) != 0)
			continue;
		if (names != NULL && k < max)
			names[k] = m->id;
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

/* The r members of @m's group reading @topic, and @m's rank among them. */
static uint32_t readers_of(struct node *n, const struct node_member *m,
			   const char *topic, uint32_t *rank)
{
	uint32_t readers = 0;
	for (size_t i = 0; i < node_member_count(n); i++) {
		const struct node_member *o = node_member_at(n, i);
		if (strcmp(o->group, m->group) != 0 || !reads(o, topic))
			continue;
		if (strcmp(o->id, m->id) == 0)
			*rank = readers;
		readers++;
	}
	return readers;
}

uint32_t node_member_assignment(struct node *n, const struct node_member *m,
				node_assign_fn emit, void *arg)
{
	const struct rsm_group *g = rsm_group_find(n->rsm, m->group);
	uint32_t count = 0;
	for (uint32_t t = 0; g != NULL && t < m->n_topics; t++) {
		const struct rsm_topic *tp =
		    rsm_topic_find(n->rsm, m->topics[t]);
		if (tp == NULL)
			continue;
		uint32_t me = 0, readers = readers_of(n, m, tp->name, &me);
		assert(readers > 0); /* @m itself reads the topic */
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
	uint64_t *gen = generation(n, group);
	if (gen == NULL)
		return;
	(*gen)++;
	struct rpc_rebalance_notice note = {group, *gen};
	for (size_t i = 0; i < node_member_count(n); i++) {
		const struct node_member *m = node_member_at(n, i);
		if (strcmp(m->group, group) == 0)
			rpc_server_send(&n->rpc, m->conn, RPC_REBALANCE_NOTICE,
					0, NULL, &note);
	}
}

void node_groups_notify_reset(struct node *n, const struct rsm_reset *r)
{
	struct rpc_offset_info *q = calloc(r->n ? r->n : 1, sizeof *q);
	if (q == NULL)
		return; /* a hint only: the epoch fence moves them anyway */
	for (uint32_t i = 0; i < r->n; i++)
		q[i] = (struct rpc_offset_info){r->queues[i].broker,
						r->queues[i].queue_id,
						r->queues[i].offset};
	struct rpc_reset_notice note = {
	    r->group, r->topic, r->epoch, {q, r->n}};
	for (size_t i = 0; i < node_member_count(n); i++) {
		const struct node_member *m = node_member_at(n, i);
		if (strcmp(m->group, r->group) == 0 && reads(m, r->topic))
			rpc_server_send(&n->rpc, m->conn, RPC_RESET_NOTICE, 0,
					NULL, &note);
	}
	free(q);
}

static void drop(struct node *n, size_t i)
{
	struct node_groups *gs = n->groups;
	char group[RSM_NAME_MAX + 1];
	assert(gs != NULL && i < gs->n);
	snprintf(group, sizeof group, "%s", gs->m[i].group);
	NODE_LOG(NODE_INFO, "group", "member %s left group %s", gs->m[i].id,
		 group);
	memmove(&gs->m[i], &gs->m[i + 1], (gs->n - i - 1) * sizeof *gs->m);
	gs->n--;
	notify_rebalance(n, group);
}

void node_member_leave(struct node *n, const char *group, const char *id)
{
	for (size_t i = 0; i < node_member_count(n); i++) {
		const struct node_member *m = node_member_at(n, i);
		if (strcmp(m->group, group) == 0 && strcmp(m->id, id) == 0) {
			drop(n, i);
			return;
		}
	}
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

static struct node_member *find(struct node_groups *gs, const char *group,
				const char *id)
{
	for (size_t i = 0; i < gs->n; i++)
		if (strcmp(gs->m[i].group, group) == 0 &&
		    strcmp(gs->m[i].id, id) == 0)
			return &gs->m[i];
	return NULL;
}

static struct node_member *add(struct node_groups *gs, const char *group,
			       const char *id)
{
	if (grow((void **)&gs->m, &gs->cap, gs->n + 1, sizeof *gs->m) != 0)
		return NULL;
	struct node_member *m = &gs->m[gs->n++];
	memset(m, 0, sizeof *m);
	snprintf(m->group, sizeof m->group, "%s", group);
	snprintf(m->id, sizeof m->id, "%s", id);
	NODE_LOG(NODE_INFO, "group", "member %s joined group %s", m->id,
		 m->group);
	return m;
}

bool node_member_holds(const struct node_member *m, const char *topic,
		       uint64_t epoch)
{
	for (uint32_t i = 0; i < m->n_topics; i++)
		if (strcmp(m->topics[i], topic) == 0)
			return m->epochs[i] >= epoch;
	return true;
}

/* Sets @m's epochs from @hb (0 for a topic it does not mention). */
static void set_epochs(struct node_member *m, const struct node_member_hb *hb)
{
	for (uint32_t i = 0; i < m->n_topics; i++) {
		m->epochs[i] = 0;
		for (uint32_t j = 0; j < hb->n_epochs; j++)
			if (strcmp(hb->epochs[j].topic, m->topics[i]) == 0)
				m->epochs[i] = hb->epochs[j].epoch;
	}
}

/* Sets @m's topics; true when they changed. */
static bool set_topics(struct node_member *m, const char *const *topics,
		       uint32_t nt)
{
	bool same = m->n_topics == nt;
	for (uint32_t i = 0; same && i < nt; i++)
		same = reads(m, topics[i]);
	if (same)
		return false;
	assert(nt <= NODE_MEMBER_TOPICS_MAX);
	m->n_topics = nt;
	for (uint32_t i = 0; i < nt; i++)
		snprintf(m->topics[i], sizeof m->topics[i], "%s", topics[i]);
	return true;
}

const struct node_member *node_member_beat(struct node *n,
					   const struct node_member_hb *hb)
{
	struct node_groups *gs = groups(n);
	if (gs == NULL)
		return NULL;
	struct node_member *m = find(gs, hb->group, hb->id);
	bool joined = m == NULL;
	if (m == NULL && (m = add(gs, hb->group, hb->id)) == NULL)
		return NULL;
	bool changed = set_topics(m, hb->topics, hb->n_topics) || joined;
	set_epochs(m, hb);
	snprintf(m->client, sizeof m->client, "%s",
		 hb->client ? hb->client : "");
	m->conn = hb->conn;
	m->last_seen = uv_now(n->loop);
	qsort(gs->m, gs->n, sizeof *gs->m, cmp_member);
	if (changed)
		notify_rebalance(n, hb->group);
	return find(gs, hb->group, hb->id); /* moved by the sort */
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
