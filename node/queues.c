/*
 * queues.c — this broker's queues: opened on first use under
 * <data_dir>/queues/<topic>/<queue_id> (the directory of the topic's
 * incarnation, topic_files.c), kept open, ticked for retention and
 * interval flushing, closed cleanly at stop or when the topic is
 * deleted.
 *
 * Storage calls are synchronous and run on the loop thread; with
 * flush=sync an append waits for fdatasync (~0.3 ms here). Moving them to
 * uv_queue_work is a later step (bench/README.md has the numbers).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node_int.h"

struct stor_queue *node_queue(struct node *n, const char *topic,
			      uint32_t queue_id, uint32_t *code, char *msg,
			      size_t msglen)
{
	const struct rsm_topic *t = rsm_topic_find(n->rsm, topic);
	for (size_t i = 0; t != NULL && i < n->nqueues; i++)
		if (n->queues[i].queue_id == queue_id &&
		    n->queues[i].created == t->created &&
		    strcmp(n->queues[i].topic, topic) == 0)
			return n->queues[i].q;
	if (t == NULL && !node_is_current(n)) {
		/* Never "does not exist" from an old or empty state. */
		*code = RPC_UNAVAILABLE;
		node_lease_explain(n, msg, msglen);
		return NULL;
	}
	if (t == NULL) {
		*code = RPC_UNKNOWN_TOPIC;
		snprintf(msg, msglen, "topic '%s' does not exist", topic);
		return NULL;
	}
	if (rsm_topic_queue_index(t, n->cfg.name, queue_id) < 0) {
		*code = RPC_INVALID_ARGUMENT;
		snprintf(msg, msglen,
			 "topic '%s' has no queue %u on %s (it has %u per "
			 "broker%s)",
			 topic, queue_id, n->cfg.name, t->queues_per_broker,
			 rsm_topic_queue_index(t, n->cfg.name, 0) < 0
			     ? ", and none here"
			     : "");
		return NULL;
	}
	char dir[NODE_PATH + 2 * RSM_NAME_MAX];
	if (node_topic_dir(n, t, dir, sizeof dir - 16, msg, msglen) != 0) {
		*code = RPC_UNAVAILABLE;
		return NULL;
	}
	size_t len = strlen(dir);
	snprintf(dir + len, sizeof dir - len, "/%u", queue_id);
	struct node_queue *nq =
	    realloc(n->queues, (n->nqueues + 1) * sizeof *n->queues);
	if (nq == NULL) {
		*code = RPC_INTERNAL;
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	n->queues = nq;
	char name[RSM_NAME_MAX + 16];
	snprintf(name, sizeof name, "%s/%u", topic, queue_id);
	struct stor_queue *q;
	char err[512];
	int rv = stor_queue_open(dir, name, &n->stor, node_storage_env(), &q,
				 err, sizeof err);
	if (rv != 0) {
		*code = node_code_from_stor(rv);
		snprintf(msg, msglen, "%s", err);
		NODE_LOG(NODE_ERROR, "storage", "%s", err);
		return NULL;
	}
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	if (st.tail_truncations > 0)
		NODE_LOG(NODE_WARN, "storage",
			 "queue %s: cut a torn tail of %" PRIu64 " bytes", name,
			 st.bytes_truncated);
	if (st.messages_missing > 0)
		NODE_LOG(NODE_ERROR, "storage",
			 "queue %s: %" PRIu64 " messages from offset %" PRIu64
			 " are missing: a segment file was damaged or "
			 "deleted (its index or the clean-shutdown record had "
			 "them)",
			 name, st.messages_missing, st.missing_from);
	struct node_queue *e = &n->queues[n->nqueues++];
	snprintf(e->topic, sizeof e->topic, "%s", topic);
	e->created = t->created;
	e->queue_id = queue_id;
	e->q = q;
	return q;
}

int node_queue_stat(struct node *n, const char *topic, uint32_t queue_id,
		    bool with_time, int64_t time, struct node_qstat *out,
		    uint32_t *code, char *msg, size_t msglen)
{
	struct stor_queue *q =
	    node_queue(n, topic, queue_id, code, msg, msglen);
	if (q == NULL)
		return -1;
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	const struct rsm_topic *t = rsm_topic_find(n->rsm, topic);
	assert(t != NULL); /* node_queue found its queue */
	*out = (struct node_qstat){true,
				   info.min_offset,
				   info.max_offset,
				   0,
				   info.first_store_time,
				   info.last_store_time,
				   node_sched_pending(n, t, queue_id)};
	if (!with_time)
		return 0;
	int rv = stor_queue_offset_for_time(q, time, &out->time_offset);
	if (rv != 0) {
		*code = node_code_from_stor(rv);
		snprintf(msg, msglen, "%s", stor_queue_errmsg(q));
		return -1;
	}
	return 0;
}

void node_queues_tick(struct node *n)
{
	for (size_t i = 0; i < n->nqueues; i++) {
		unsigned deleted = 0;
		int rv = stor_queue_tick(n->queues[i].q, &deleted);
		if (rv != 0)
			NODE_LOG(NODE_ERROR, "storage", "%s",
				 stor_queue_errmsg(n->queues[i].q));
		else if (deleted > 0)
			NODE_LOG(NODE_INFO, "storage",
				 "queue %s/%u: retention deleted %u segments",
				 n->queues[i].topic, n->queues[i].queue_id,
				 deleted);
	}
}

void node_queues_close(struct node *n)
{
	for (size_t i = 0; i < n->nqueues; i++) {
		char err[512];
		if (stor_queue_close(n->queues[i].q, err, sizeof err) != 0)
			NODE_LOG(NODE_ERROR, "storage", "close: %s", err);
	}
	free(n->queues);
	n->queues = NULL;
	n->nqueues = 0;
}

/* Whether open queue @e is of @topic, or (@topic NULL) of a topic the
 * state no longer has in that incarnation. */
static bool dropped(struct node *n, const struct node_queue *e,
		    const char *topic)
{
	if (topic != NULL)
		return strcmp(e->topic, topic) == 0;
	const struct rsm_topic *t = rsm_topic_find(n->rsm, e->topic);
	return t == NULL || t->created != e->created;
}

void node_queues_drop(struct node *n, const char *topic)
{
	size_t kept = 0;
	for (size_t i = 0; i < n->nqueues; i++) {
		struct node_queue *e = &n->queues[i];
		char err[512];
		if (!dropped(n, e, topic)) {
			n->queues[kept++] = *e;
			continue;
		}
		if (stor_queue_close(e->q, err, sizeof err) != 0)
			NODE_LOG(NODE_ERROR, "storage", "close: %s", err);
	}
	n->nqueues = kept;
}

void node_queues_on_applied(struct node *n, const struct rsm_result *res)
{
	if (res == NULL) {
		node_queues_drop(n, NULL);
		node_topic_files_reconcile(n);
	} else if (res->code == RSM_OK && res->deleted_topic[0] != '\0') {
		/* A topic deleted, or a group with its retry topics. */
		node_queues_drop(n, res->deleted_topic);
		node_topic_files_deleted(n, res->deleted_topic,
					 res->deleted_created);
	}
	if (res != NULL && res->code == RSM_OK && res->deleted_dlq[0] != '\0') {
		node_queues_drop(n, res->deleted_dlq);
		node_topic_files_deleted(n, res->deleted_dlq,
					 res->deleted_created);
	}
}
