/*
 * json.c — the JSON shapes of answers (rpc_json.h; DESIGN.md §7).
 */
#include "rpc_json.h"

static const char *str(const char *s)
{
	return s ? s : "";
}

/* A JSON array of @l's elements (each @size bytes) made by @one. */
static json_t *array_of(const struct rpc_list *l, size_t size,
			json_t *(*one)(const void *elem))
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < l->n; i++)
		json_array_append_new(a, one((const char *)l->v + i * size));
	return a;
}

static json_t *strs_json(const struct rpc_strs *s)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

/* An offset, or null when unknown (UINT64_MAX, RSM's "none"). */
static json_t *offset_json(uint64_t v, bool known)
{
	return known && v != UINT64_MAX ? json_integer((json_int_t)v)
					: json_null();
}

/* ---- cluster, topics ---- */

static json_t *node_json(const void *elem)
{
	const struct rpc_node_status *n = elem;
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "id",
			 (json_int_t)n->id, "name", str(n->name), "listen",
			 str(n->listen), "raft_address", str(n->raft_address),
			 "role", str(n->role), "term", (json_int_t)n->term,
			 "commit_index", (json_int_t)n->commit_index,
			 "applied_index", (json_int_t)n->applied_index);
}

json_t *rpc_json_status(const struct rpc_status_resp *s)
{
	return json_pack(
	    "{s:I,s:o}", "leader_id", (json_int_t)s->leader_id, "nodes",
	    array_of(&s->nodes, sizeof(struct rpc_node_status), node_json));
}

json_t *rpc_json_names(const char *key, const struct rpc_names_resp *n)
{
	return json_pack("{s:o}", key, strs_json(&n->names));
}

static json_t *queue_json(const void *elem)
{
	const struct rpc_queue_info *q = elem;
	json_t *o = json_pack(
	    "{s:s,s:I,s:I,s:I,s:I,s:I}", "broker_name", q->broker_name,
	    "queue_id", (json_int_t)q->queue_id, "min_offset",
	    (json_int_t)q->min_offset, "max_offset", (json_int_t)q->max_offset,
	    "first_store_time", (json_int_t)q->first_store_time,
	    "last_store_time", (json_int_t)q->last_store_time);
	/* Replication (docs/design/replication.md): who leads (null while
	 * offline), the replicas and the in-sync ones. */
	if (o != NULL && q->replicas.n > 0) {
		json_object_set_new(o, "leader",
				    q->leader_broker
					? json_string(q->leader_broker)
					: json_null());
		json_object_set_new(o, "replicas", strs_json(&q->replicas));
		json_object_set_new(o, "isr", strs_json(&q->isr));
	}
	return o;
}

json_t *rpc_json_topic(const struct rpc_topic_describe_resp *t)
{
	return json_pack(
	    "{s:s,s:o}", "topic", t->topic, "queues",
	    array_of(&t->queues, sizeof(struct rpc_queue_info), queue_json));
}

/* ---- groups ---- */

static json_t *lag_json(const void *elem)
{
	const struct rpc_lag_info *q = elem;
	return json_pack("{s:s,s:I,s:o,s:o,s:o}", "broker_name", q->broker_name,
			 "queue_id", (json_int_t)q->queue_id, "consumer_offset",
			 offset_json(q->consumer_offset, true), "max_offset",
			 offset_json(q->max_offset, !q->unknown), "lag",
			 offset_json(q->lag, !q->unknown));
}

static json_t *group_topic_json(const void *elem)
{
	const struct rpc_group_topic_info *t = elem;
	return json_pack(
	    "{s:s,s:I,s:o}", "topic", t->topic, "epoch", (json_int_t)t->epoch,
	    "queues",
	    array_of(&t->queues, sizeof(struct rpc_lag_info), lag_json));
}

static json_t *member_json(const void *elem)
{
	const struct rpc_member_info *m = elem;
	return json_pack("{s:s,s:s,s:o}", "member_id", m->member_id, "client",
			 str(m->client), "queues", strs_json(&m->queues));
}

json_t *rpc_json_group(const struct rpc_group_describe_resp *d)
{
	json_t *o = json_pack(
	    "{s:s,s:s,s:o,s:o}", "group", d->group, "mode", d->mode, "topics",
	    array_of(&d->topics, sizeof(struct rpc_group_topic_info),
		     group_topic_json),
	    "members",
	    array_of(&d->members, sizeof(struct rpc_member_info), member_json));
	if (o != NULL && d->max_reconsume_times > 0) { /* a group with retry */
		json_object_set_new(o, "retry_pending",
				    json_integer((json_int_t)d->retry_pending));
		json_object_set_new(o, "dlq", json_integer((json_int_t)d->dlq));
	}
	return o;
}

/* ---- resets ---- */

/* One queue in the Huawei shape: exactly these three keys (DESIGN §2). */
static json_t *reset_queue_json(const void *elem)
{
	const struct rpc_reset_queue *q = elem;
	return json_pack("{s:s,s:I,s:I}", "broker_name", q->broker_name,
			 "queue_id", (json_int_t)q->queue_id,
			 "timestamp_offset", (json_int_t)q->timestamp_offset);
}

json_t *rpc_json_reset_queues(const struct rpc_list *queues)
{
	return array_of(queues, sizeof(struct rpc_reset_queue),
			reset_queue_json);
}

/* Adds "skipped" (a copy's queues the source never committed) to @o when
 * there are any. */
static void add_skipped(json_t *o, const struct rpc_list *queues)
{
	const struct rpc_reset_queue *q = queues->v;
	json_t *a = json_array();
	for (uint32_t i = 0; i < queues->n; i++)
		if (q[i].skipped)
			json_array_append_new(
			    a, json_pack("{s:s,s:I}", "broker_name",
					 q[i].broker_name, "queue_id",
					 (json_int_t)q[i].queue_id));
	if (json_array_size(a) > 0)
		json_object_set_new(o, "skipped", a);
	else
		json_decref(a);
}

static json_t *reset_topic_json(const void *elem)
{
	const struct rpc_reset_topic *t = elem;
	json_t *o = json_pack("{s:s,s:I,s:o}", "topic", t->topic, "epoch",
			      (json_int_t)t->epoch, "queues",
			      rpc_json_reset_queues(&t->queues));
	add_skipped(o, &t->queues);
	return o;
}

json_t *rpc_json_reset(const struct rpc_reset_resp *x)
{
	const struct rpc_reset_topic *t = x->topics.v;
	json_t *o;
	if (x->topics.n == 1) {
		o = json_pack("{s:o,s:I,s:I}", "queues",
			      rpc_json_reset_queues(&t[0].queues), "reset_id",
			      (json_int_t)x->reset_id, "epoch",
			      (json_int_t)t[0].epoch);
		add_skipped(o, &t[0].queues);
	} else {
		o = json_pack("{s:o,s:I}", "topics",
			      array_of(&x->topics, sizeof *t, reset_topic_json),
			      "reset_id", (json_int_t)x->reset_id);
	}
	json_object_set_new(o, "dry_run", json_boolean(x->dry_run));
	if (x->lagging.n > 0)
		json_object_set_new(o, "lagging", strs_json(&x->lagging));
	if (x->source_group != NULL)
		json_object_set_new(o, "source_group",
				    json_string(x->source_group));
	if (x->retry_pending > 0)
		json_object_set_new(o, "retry_pending",
				    json_integer((json_int_t)x->retry_pending));
	if (x->scheduled_pending > 0)
		json_object_set_new(
		    o, "scheduled_pending",
		    json_integer((json_int_t)x->scheduled_pending));
	return o;
}

static json_t *history_queue_json(const void *elem)
{
	const struct rpc_history_queue *q = elem;
	json_t *o = json_pack(
	    "{s:s,s:I,s:o,s:o,s:I,s:I,s:b}", "broker_name", q->broker_name,
	    "queue_id", (json_int_t)q->queue_id, "previous_offset",
	    offset_json(q->previous_offset, true), "timestamp_offset",
	    offset_json(q->timestamp_offset, true), "min_offset",
	    (json_int_t)q->min_offset, "max_offset", (json_int_t)q->max_offset,
	    "clamped", q->clamped);
	if (q->skipped)
		json_object_set_new(o, "skipped", json_true());
	return o;
}

static json_t *history_entry_json(const void *elem)
{
	const struct rpc_history_entry *e = elem;
	json_t *o = json_pack(
	    "{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:b,s:o}", "reset_id",
	    (json_int_t)e->reset_id, "time", (json_int_t)e->time, "requester",
	    str(e->requester), "group", e->group, "topic", e->topic, "target",
	    e->target, "value", (json_int_t)e->value, "dry_run", 0, "queues",
	    array_of(&e->queues, sizeof(struct rpc_history_queue),
		     history_queue_json));
	if (e->source_group != NULL)
		json_object_set_new(o, "source_group",
				    json_string(e->source_group));
	return o;
}

json_t *rpc_json_history(const struct rpc_history_resp *h)
{
	return json_pack("{s:o}", "resets",
			 array_of(&h->resets, sizeof(struct rpc_history_entry),
				  history_entry_json));
}
