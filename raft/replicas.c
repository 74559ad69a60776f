/*
 * replicas.c — each queue's replica set, leader, leader epoch and in-sync
 * set (docs/design/replication.md §2-3): placement at topic creation, the
 * lookups, and the two commands that move them, ALTER_ISR (from a queue
 * leader) and FENCE_BROKER (from the Raft leader's session checks).
 *
 * Every rule here is decided in apply, so every node moves leaders in the
 * same order as resets and commits.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "rsm_int.h"

static uint8_t bit(uint32_t i)
{
	assert(i < RSM_REPLICAS_MAX);
	return (uint8_t)(1u << i);
}

static uint32_t popcount8(uint8_t v)
{
	return (uint32_t)__builtin_popcount(v);
}

const char *rsm_queue_leader(const struct rsm_topic *t, uint32_t qi)
{
	assert(qi < rsm_topic_queues(t));
	const struct rsm_replicas *r = &t->reps[qi];
	return r->leader < 0 ? NULL : rsm_replica_broker(t, r, r->leader);
}

int rsm_replica_index(const struct rsm_topic *t, const struct rsm_replicas *r,
		      const char *broker)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (strcmp(rsm_replica_broker(t, r, i), broker) == 0)
			return (int)i;
	return -1;
}

bool rsm_replica_in_sync(const struct rsm_topic *t,
			 const struct rsm_replicas *r, const char *broker)
{
	int i = rsm_replica_index(t, r, broker);
	return i >= 0 && (r->isr & bit((uint32_t)i)) != 0;
}

int rsm__topic_place(struct rsm_topic *t, uint32_t rf, uint32_t min_insync)
{
	assert(rf >= 1 && rf <= RSM_REPLICAS_MAX && rf <= t->n_brokers);
	assert(min_insync >= 1 && min_insync <= rf);
	uint32_t n = rsm_topic_queues(t);
	t->reps = calloc(n ? n : 1, sizeof *t->reps);
	if (t->reps == NULL)
		return RSM_ENOMEM;
	t->replication_factor = (uint8_t)rf;
	t->min_insync = (uint8_t)min_insync;
	for (uint32_t qi = 0; qi < n; qi++) {
		struct rsm_replicas *r = &t->reps[qi];
		uint32_t home = qi / t->queues_per_broker;
		r->leader_epoch = 1;
		r->version = 1;
		r->n = (uint8_t)rf;
		r->leader = 0;
		r->isr = (uint8_t)((1u << rf) - 1);
		for (uint32_t i = 0; i < rf; i++)
			r->replica[i] = (uint8_t)((home + i) % t->n_brokers);
	}
	return RSM_OK;
}

bool rsm__replicas_valid(const struct rsm_topic *t,
			 const struct rsm_replicas *r)
{
	if (r->n < 1 || r->n > RSM_REPLICAS_MAX || r->isr == 0 ||
	    (r->isr >> r->n) != 0 || r->leader < -1 || r->leader >= r->n ||
	    r->leader_epoch == 0 || r->version == 0)
		return false;
	if (r->leader >= 0 && (r->isr & bit((uint32_t)r->leader)) == 0)
		return false;
	for (uint32_t i = 0; i < r->n; i++) {
		if (r->replica[i] >= t->n_brokers)
			return false;
		for (uint32_t k = 0; k < i; k++)
			if (r->replica[k] == r->replica[i])
				return false;
	}
	return true;
}

bool rsm__replicas_default(const struct rsm_topic *t)
{
	if (t->replication_factor != 1 || t->min_insync != 1)
		return false;
	for (uint32_t qi = 0; qi < rsm_topic_queues(t); qi++) {
		const struct rsm_replicas *r = &t->reps[qi];
		if (r->leader_epoch != 1 || r->version != 1 ||
		    r->log_start != 0 || r->leader != 0 || r->isr != 1 ||
		    r->replica[0] != qi / t->queues_per_broker)
			return false;
	}
	return true;
}

static bool broker_fenced(const struct rsm *s, const char *name)
{
	const struct rsm_broker *b = rsm_broker_by_name(s, name);
	return b == NULL || b->fenced;
}

/* The first unfenced in-sync replica of @r other than @skip, or -1. */
static int pick_leader(const struct rsm *s, const struct rsm_topic *t,
		       const struct rsm_replicas *r, int skip)
{
	for (uint32_t i = 0; i < r->n; i++)
		if ((int)i != skip && (r->isr & bit(i)) != 0 &&
		    !broker_fenced(s, rsm_replica_broker(t, r, i)))
			return (int)i;
	return -1;
}

/* Fencing replica @i of @r: out of the in-sync set unless it is its last
 * member; a new leader if it led. A queue of one copy is left as it is:
 * there is nowhere to move it, and taking it offline would only keep it
 * unavailable after its broker is back, until the unfencing. True when @r
 * changed. */
static bool fence_one(const struct rsm *s, const struct rsm_topic *t,
		      struct rsm_replicas *r, int i)
{
	if (r->n == 1)
		return false;
	bool changed = false;
	if ((r->isr & bit((uint32_t)i)) != 0 && popcount8(r->isr) > 1) {
		r->isr &= (uint8_t)~bit((uint32_t)i);
		changed = true;
	}
	if (r->leader == i) {
		r->leader = (int8_t)pick_leader(s, t, r, i);
		r->leader_epoch++;
		changed = true;
	}
	return changed;
}

/* Unfencing replica @i of @r: it leads @r if @r is offline and it is in
 * sync. True when @r changed. */
static bool unfence_one(struct rsm_replicas *r, int i)
{
	if (r->leader >= 0 || (r->isr & bit((uint32_t)i)) == 0)
		return false;
	r->leader = (int8_t)i;
	r->leader_epoch++;
	return true;
}

/* RSM_CMD_FENCE_BROKER: [name, fenced] */
int rsm__apply_fence_broker(struct rsm *s, struct rsm__rd *rd)
{
	char name[RSM_NAME_MAX + 1];
	rsm__rd_str(rd, name, RSM_NAME_MAX);
	bool fenced = rsm__rd_bool(rd);
	if (!rsm__rd_done(rd))
		return -1;
	struct rsm_broker *b = rsm__broker_find_mut(s, name);
	if (b == NULL)
		return rsm__result(s, RSM_EUNKNOWN_BROKER,
				   "unknown broker '%s'", name);
	b->fenced = fenced;
	for (uint32_t k = 0; k < s->n_topics; k++) {
		struct rsm_topic *t = &s->topics[k];
		for (uint32_t qi = 0; qi < rsm_topic_queues(t); qi++) {
			struct rsm_replicas *r = &t->reps[qi];
			int i = rsm_replica_index(t, r, name);
			if (i >= 0 && (fenced ? fence_one(s, t, r, i)
					      : unfence_one(r, i)))
				r->version++;
			assert(rsm__replicas_valid(t, r));
		}
	}
	return rsm__result(s, RSM_OK, NULL);
}

/* The in-sync mask of @names (n of them) over @r's replicas, or why
 * not. */
static const char *isr_mask(const struct rsm *s, const struct rsm_topic *t,
			    const struct rsm_replicas *r,
			    char (*names)[RSM_NAME_MAX + 1], uint32_t n,
			    uint8_t *mask)
{
	*mask = 0;
	for (uint32_t k = 0; k < n; k++) {
		int i = rsm_replica_index(t, r, names[k]);
		if (i < 0)
			return "a member is not a replica of the queue";
		if ((*mask & bit((uint32_t)i)) != 0)
			return "a member is listed twice";
		if ((r->isr & bit((uint32_t)i)) == 0 &&
		    broker_fenced(s, names[k]))
			return "a fenced broker cannot join the in-sync set";
		*mask |= bit((uint32_t)i);
	}
	if (r->leader < 0 || (*mask & bit((uint32_t)r->leader)) == 0)
		return "the in-sync set must hold the leader";
	return NULL;
}

/* When the home (replica 0) is back in sync, it leads again. */
static void prefer_home(const struct rsm *s, const struct rsm_topic *t,
			struct rsm_replicas *r)
{
	if (r->leader != 0 && (r->isr & 1u) != 0 &&
	    !broker_fenced(s, rsm_replica_broker(t, r, 0))) {
		r->leader = 0;
		r->leader_epoch++;
	}
}

/* Finds the queue an ALTER_ISR names and checks the leader's view of it
 * is current: the queue, or NULL with the result set. */
static struct rsm_replicas *alter_target(struct rsm *s, struct rsm_topic *t,
					 const char *home, uint32_t queue_id,
					 int64_t created, uint64_t epoch,
					 uint64_t version)
{
	int64_t qi = t ? rsm_topic_queue_index(t, home, queue_id) : -1;
	if (t == NULL || t->created != created || qi < 0) {
		rsm__result(s, RSM_EUNKNOWN_QUEUE, "no queue %s/%s/%u",
			    t ? t->name : "?", home, queue_id);
		return NULL;
	}
	struct rsm_replicas *r = &t->reps[qi];
	if (r->leader_epoch != epoch || r->version != version) {
		rsm__result(s, RSM_ESTALE_REPLICAS,
			    "queue %s/%s/%u is at leader epoch %llu version "
			    "%llu, not %llu/%llu",
			    t->name, home, queue_id,
			    (unsigned long long)r->leader_epoch,
			    (unsigned long long)r->version,
			    (unsigned long long)epoch,
			    (unsigned long long)version);
		return NULL;
	}
	return r;
}

/* RSM_CMD_ALTER_ISR: [topic, created, home, queue, leader epoch, version,
 * [isr names], log start] */
int rsm__apply_alter_isr(struct rsm *s, struct rsm__rd *rd)
{
	char topic[RSM_NAME_MAX + 1], home[RSM_NAME_MAX + 1];
	char names[RSM_REPLICAS_MAX][RSM_NAME_MAX + 1];
	struct rsm__rd il;
	rsm__rd_str(rd, topic, RSM_NAME_MAX);
	int64_t created = rsm__rd_i64(rd);
	rsm__rd_str(rd, home, RSM_NAME_MAX);
	uint64_t queue_id = rsm__rd_u64(rd);
	uint64_t epoch = rsm__rd_u64(rd), version = rsm__rd_u64(rd);
	rsm__rd_array(rd, &il);
	uint64_t log_start = rsm__rd_u64(rd);
	if (il.err == NULL && (il.n == 0 || il.n > RSM_REPLICAS_MAX))
		il.err = "bad in-sync set size";
	for (uint32_t k = 0; il.err == NULL && k < il.n; k++)
		rsm__rd_str(&il, names[k], RSM_NAME_MAX);
	if (!rsm__rd_done(&il) || !rsm__rd_done(rd) || queue_id > UINT32_MAX)
		return -1;
	struct rsm_topic *t = rsm__topic_find_mut(s, topic);
	struct rsm_replicas *r = alter_target(s, t, home, (uint32_t)queue_id,
					      created, epoch, version);
	if (r == NULL)
		return 0;
	uint8_t mask;
	const char *why = isr_mask(s, t, r, names, il.n, &mask);
	if (why != NULL)
		return rsm__result(s, RSM_EINVAL, "in-sync set of %s/%s/%u: %s",
				   topic, home, (unsigned)queue_id, why);
	r->isr = mask;
	r->log_start = log_start;
	r->version++;
	prefer_home(s, t, r);
	assert(rsm__replicas_valid(t, r));
	return rsm__result(s, RSM_OK, NULL);
}
