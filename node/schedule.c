/*
 * schedule.c — delayed messages on this broker (node_int.h "schedule";
 * docs/design/retry-delay.md): the schedule store in <data_dir>/schedule,
 * the PRODUCE path's side of it, and the timer that hands each entry
 * over to its queue when due.
 *
 * Hand-over of a due entry: its target "topic/queue/created" → the local
 * queue of that topic incarnation → (once per target after a restart:
 * reconcile — ids the queue already holds are marked done) → append with
 * STOR_BATCH_SCHEDULED and the entry's id → mark done → wake fetches. A
 * target whose topic is gone (deleted, or re-created since) drops the
 * entry, logged; a node whose state is not current waits.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/name_search.h"
#include "handlers.h"
#include "replica.h"

#define TURN_MAX 256	  /* entries handed over per loop turn */
#define WAIT_RETRY_MS 100 /* a target not ready (state, disk) */

/* A target queue with entries pending: their records (QUEUE_STATS'
 * `scheduled`); one known at open is reconciled before its first
 * hand-over. */
struct target {
	char name[STOR_SCHED_TARGET_MAX + 1];
	int64_t min_due;
	bool reconciled;
	uint64_t messages;
};

struct node_sched {
	struct stor_sched *store;
	uv_timer_t timer;
	struct target *targets; /* sorted by name: QUEUE_STATS of 10^4
				   queues asks for each in turn */
	uint32_t ntargets;
	uint64_t handed, dropped;
};

enum outcome { HANDED, AGAIN, WAIT };

static void on_timer(uv_timer_t *timer);

/* name_search reads each target's name at its start. */
_Static_assert(offsetof(struct target, name) == 0, "target name first");

/* The index of target @name in s->targets, or where it would go. */
static uint32_t target_slot(const struct node_sched *s, const char *name,
			    bool *found)
{
	return name_search(s->targets, s->ntargets, sizeof *s->targets, name,
			   found);
}

static struct target *find_target(struct node_sched *s, const char *name)
{
	bool found;
	uint32_t i = target_slot(s, name, &found);
	return found ? &s->targets[i] : NULL;
}

/* Target @name, added (as reconciled: @min_due INT64_MAX) if new; NULL
 * when out of memory. Adding moves the targets after it. */
static struct target *get_target(struct node_sched *s, const char *name)
{
	bool found;
	uint32_t i = target_slot(s, name, &found);
	if (found)
		return &s->targets[i];
	struct target *t = realloc(s->targets, (s->ntargets + 1) * sizeof *t);
	if (t == NULL)
		return NULL;
	s->targets = t;
	memmove(&t[i + 1], &t[i], (s->ntargets - i) * sizeof *t);
	s->ntargets++;
	t = &s->targets[i];
	snprintf(t->name, sizeof t->name, "%s", name);
	t->min_due = INT64_MAX;
	t->reconciled = true;
	t->messages = 0;
	return t;
}

static void note_target(void *data, const char *target, int64_t min_due,
			uint64_t messages)
{
	struct target *t = get_target(data, target);
	if (t == NULL)
		return; /* not reconciled, nor counted: see reconcile() */
	t->min_due = min_due;
	t->reconciled = false;
	t->messages = messages;
}

/* @count records of @name left the store (handed over or dropped). */
static void count_out(struct node_sched *s, const char *name, uint32_t count)
{
	struct target *t = find_target(s, name);
	if (t != NULL)
		t->messages -= t->messages < count ? t->messages : count;
}

/* "topic/queue/created" into its parts: false if it is not that. */
static bool parse_target(const char *target, char *topic, uint32_t *queue,
			 int64_t *created)
{
	const char *a = strchr(target, '/');
	const char *b = a ? strchr(a + 1, '/') : NULL;
	if (a == NULL || b == NULL || a == target ||
	    (size_t)(a - target) > RSM_NAME_MAX)
		return false;
	memcpy(topic, target, (size_t)(a - target));
	topic[a - target] = '\0';
	char *end;
	unsigned long long q = strtoull(a + 1, &end, 10);
	if (end != b || q > UINT32_MAX)
		return false;
	*queue = (uint32_t)q;
	*created = strtoll(b + 1, &end, 10);
	return *end == '\0';
}

static void mark_done(void *data, uint64_t id)
{
	/* Not pending (an id of another time, or done already): fine. */
	stor_sched_done(data, id);
}

/* After a restart, before the first hand-over to @target: the ids its
 * queue @q already holds were handed over before the crash. */
static int reconcile(struct node_sched *s, const char *target,
		     struct stor_queue *q)
{
	struct target *t = find_target(s, target);
	if (t != NULL && !t->reconciled) {
		int rv =
		    stor_queue_sched_ids(q, t->min_due, mark_done, s->store);
		if (rv != 0)
			return rv;
		t->reconciled = true;
		NODE_LOG(NODE_INFO, "schedule",
			 "%s reconciled with its queue from %" PRId64, target,
			 t->min_due);
		return 1;
	}
	return 0;
}

/* Drops entry @e (its topic is gone), logged. */
static enum outcome drop(struct node *n, const struct stor_sched_entry *e,
			 const char *why)
{
	NODE_LOG(NODE_WARN, "schedule",
		 "scheduled batch %" PRIu64 " (%u messages) for %s dropped: %s",
		 e->id, e->batch.count, e->target, why);
	n->sched->dropped++;
	stor_sched_done(n->sched->store, e->id);
	count_out(n->sched, e->target, e->batch.count);
	return AGAIN;
}

/* Appends @e to queue @q and marks it done. */
static enum outcome append(struct node *n, const struct stor_sched_entry *e,
			   struct stor_queue *q, const char *topic,
			   uint32_t queue)
{
	struct stor_batch_in b = e->batch;
	b.flags |= STOR_BATCH_SCHEDULED;
	b.sched_id = e->id;
	b.store_time_ms = node_wall_ms();
	uint64_t base;
	int rv = stor_queue_append(q, &b, &base, NULL);
	if (rv != 0) {
		NODE_LOG(NODE_ERROR, "schedule",
			 "handing over %" PRIu64 ": %s; retrying", e->id,
			 stor_queue_errmsg(q));
		return WAIT;
	}
	if (node_fault_crash("raftq/schedule/crash_before_done")) {
		NODE_LOG(NODE_ERROR, "schedule",
			 "fault point: crashing after handing %" PRIu64
			 " over, before marking it done",
			 e->id);
		abort();
	}
	if ((rv = stor_sched_done(n->sched->store, e->id)) != 0)
		NODE_LOG(NODE_ERROR, "schedule", "%s",
			 stor_sched_errmsg(n->sched->store));
	n->sched->handed++;
	count_out(n->sched, e->target, e->batch.count);
	const struct rsm_topic *t = rsm_topic_find(n->rsm, topic);
	struct node_queue *nq =
	    t ? node_queue_find(n, t, n->cfg.name, queue) : NULL;
	if (nq != NULL)
		node_replica_appended(n, nq, base + b.count);
	return HANDED;
}

static enum outcome hand_over(struct node *n, const struct stor_sched_entry *e)
{
	char topic[RSM_NAME_MAX + 1], msg[300];
	uint32_t queue, code;
	int64_t created;
	if (!parse_target(e->target, topic, &queue, &created))
		return drop(n, e, "not a target name");
	if (!node_is_current(n))
		return WAIT; /* never "gone" from an old or empty state */
	const struct rsm_topic *t = rsm_topic_find(n->rsm, topic);
	if (t == NULL || t->created != created)
		return drop(n, e, "the topic was deleted");
	/* Handed over only while this broker leads its queue (a replicated
	 * queue led elsewhere waits for its home to lead it again). */
	struct stor_queue *q =
	    node_led_stor(n, topic, NULL, queue, &code, msg, sizeof msg);
	if (q == NULL)
		return code == RPC_UNAVAILABLE || code == RPC_NOT_LEADER
			   ? WAIT
			   : drop(n, e, msg);
	int rv = reconcile(n->sched, e->target, q);
	if (rv < 0) {
		NODE_LOG(NODE_ERROR, "schedule", "reconciling %s: %s",
			 e->target, stor_queue_errmsg(q));
		return WAIT;
	}
	if (rv == 1)
		return AGAIN; /* @e may be done now: peek again */
	return append(n, e, q, topic, queue);
}

/* Arms the timer for the next due entry, or — with @retry_ms — for a
 * retry that long from now (a target not ready, a disk error). */
static void rearm(struct node *n, uint64_t retry_ms)
{
	struct node_sched *s = n->sched;
	struct stor_sched_info info;
	stor_sched_info(s->store, &info);
	if (info.pending == 0) {
		uv_timer_stop(&s->timer);
		return;
	}
	int64_t now = node_wall_ms();
	uint64_t wait =
	    info.next_due > now ? (uint64_t)(info.next_due - now) : 0;
	uv_timer_start(&s->timer, on_timer, retry_ms ? retry_ms : wait, 0);
}

static void on_timer(uv_timer_t *timer)
{
	struct node *n = timer->data;
	int64_t now = node_wall_ms();
	struct stor_sched_entry e;
	for (int k = 0; k < TURN_MAX; k++) {
		int rv = stor_sched_peek(n->sched->store, now, &e);
		if (rv < 0) {
			NODE_LOG(NODE_ERROR, "schedule", "%s",
				 stor_sched_errmsg(n->sched->store));
			rearm(n, WAIT_RETRY_MS);
			return;
		}
		if (rv == 0) {
			rearm(n, 0);
			return;
		}
		if (hand_over(n, &e) == WAIT) {
			rearm(n, WAIT_RETRY_MS);
			return;
		}
	}
	uv_timer_start(&n->sched->timer, on_timer, 0, 0); /* more are due:
							      the next turn */
}

/* ---- The node's side ---- */

int node_sched_start(struct node *n, char *err, size_t errlen)
{
	struct node_sched *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "schedule store: out of memory");
		return -1;
	}
	char dir[NODE_PATH + 16];
	snprintf(dir, sizeof dir, "%s/schedule", n->cfg.data_dir);
	if (stor_sched_open(dir, &n->stor, NULL, &s->store, err, errlen) != 0) {
		free(s);
		return -1;
	}
	stor_sched_targets(s->store, note_target, s);
	n->sched = s;
	uv_timer_init(n->loop, &s->timer);
	s->timer.data = n;
	struct stor_sched_info info;
	stor_sched_info(s->store, &info);
	if (info.pending > 0)
		NODE_LOG(NODE_INFO, "schedule",
			 "%" PRIu64 " scheduled batches pending, the first due "
			 "at %" PRId64,
			 info.pending, info.next_due);
	rearm(n, 0);
	return 0;
}

uint32_t node_sched_add(struct node *n, const struct rsm_topic *t,
			uint32_t queue, int64_t due,
			const struct stor_batch_in *b, uint64_t *id, char *msg,
			size_t msglen)
{
	char target[STOR_SCHED_TARGET_MAX + 1];
	snprintf(target, sizeof target, "%s/%u/%" PRId64, t->name, queue,
		 t->created);
	int rv = stor_sched_add(n->sched->store, due, target, b, id);
	if (rv != 0) {
		snprintf(msg, msglen, "%s", stor_sched_errmsg(n->sched->store));
		if (rv != STOR_EINVAL)
			NODE_LOG(NODE_ERROR, "schedule", "%s", msg);
		return node_code_from_stor(rv);
	}
	struct target *tg = get_target(n->sched, target);
	if (tg != NULL) /* else only the count is off, not the store */
		tg->messages += b->count;
	rearm(n, 0);
	return RPC_OK;
}

uint64_t node_sched_pending(struct node *n, const struct rsm_topic *t,
			    uint32_t queue)
{
	char target[STOR_SCHED_TARGET_MAX + 1];
	if (n->sched == NULL || n->sched->ntargets == 0)
		return 0;
	snprintf(target, sizeof target, "%s/%u/%" PRId64, t->name, queue,
		 t->created);
	const struct target *tg = find_target(n->sched, target);
	return tg ? tg->messages : 0;
}

void node_sched_info(struct node *n, struct stor_sched_info *out,
		     uint64_t *handed, uint64_t *dropped)
{
	stor_sched_info(n->sched->store, out);
	*handed = n->sched->handed;
	*dropped = n->sched->dropped;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct node *n = h->data;
	assert(n->handles_open > 0);
	n->handles_open--;
}

void node_sched_stop(struct node *n)
{
	if (n->sched == NULL)
		return;
	n->handles_open++;
	uv_close((uv_handle_t *)&n->sched->timer, on_timer_closed);
}

void node_sched_free(struct node *n)
{
	if (n->sched == NULL)
		return;
	stor_sched_close(n->sched->store);
	free(n->sched->targets);
	free(n->sched);
	n->sched = NULL;
}
