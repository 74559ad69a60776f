/*
 * queues.c — this broker's queues: opened on first use under
 * <data_dir>/queues/<topic>/<queue_id> (the directory of the topic's
 * incarnation, topic_files.c), kept open, ticked for retention and
 * interval flushing, closed cleanly at stop or when the topic is
 * deleted.
 *
 * A queue of a replicated topic is opened on every broker holding a
 * replica of it (replica.c): under <topic dir>/<id> when this broker is
 * its home, <topic dir>/@<home>/<id> otherwise.
 *
 * Storage calls are synchronous and run on the loop thread, except the
 * syncs of produced batches under flush = sync (syncer.c). Lookup and the
 * bound on open files: queue_table.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node_int.h"
#include "replica.h"

/* Says what recovery found when @q (named @name) was opened. */
static void log_open_stats(struct stor_queue *q, const char *name)
{
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
}

/* Why (@home, @queue_id) of @t has no replica here, in @msg: its wire
 * code, or RPC_OK when it has one (its index in *qi). */
static uint32_t no_replica(struct node *n, const struct rsm_topic *t,
			   const char *home, uint32_t queue_id, int64_t *qi,
			   char *msg, size_t msglen)
{
	*qi = rsm_topic_queue_index(t, home, queue_id);
	if (*qi < 0) {
		snprintf(msg, msglen,
			 "topic '%s' has no queue %u on %s (it has %u per "
			 "broker%s)",
			 t->name, queue_id, home, t->queues_per_broker,
			 rsm_topic_queue_index(t, home, 0) < 0
			     ? ", and none there"
			     : "");
		return RPC_INVALID_ARGUMENT;
	}
	const struct rsm_replicas *r = rsm_queue_replicas(t, (uint32_t)*qi);
	if (rsm_replica_index(t, r, n->cfg.name) < 0) {
		snprintf(msg, msglen, "queue %s/%s/%u has no replica on %s",
			 t->name, home, queue_id, n->cfg.name);
		return RPC_NOT_LEADER;
	}
	return RPC_OK;
}

/* "<topic dir>/<id>" for the queues homed here, "<topic dir>/@<home>/
 * <id>" for replicas of other brokers' queues ('@' is not in names). */
static int replica_dir(struct node *n, const struct rsm_topic *t,
		       const char *home, uint32_t queue_id, char *dir,
		       size_t dirlen, char *msg, size_t msglen)
{
	if (node_topic_dir(n, t, dir, dirlen - RSM_NAME_MAX - 16, msg,
			   msglen) != 0)
		return -1;
	size_t len = strlen(dir);
	if (strcmp(home, n->cfg.name) != 0) {
		len += (size_t)snprintf(dir + len, dirlen - len, "/@%s", home);
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			snprintf(msg, msglen, "mkdir %s: %s", dir,
				 strerror(errno));
			return -1;
		}
	}
	snprintf(dir + len, dirlen - len, "/%u", queue_id);
	return 0;
}

/* Opens the replica's files into a new entry of n->queues. */
static struct node_queue *open_replica(struct node *n,
				       const struct rsm_topic *t,
				       const char *home, uint32_t queue_id,
				       uint32_t *code, char *msg, size_t msglen)
{
	char dir[NODE_PATH + 3 * RSM_NAME_MAX];
	*code = RPC_UNAVAILABLE;
	if (replica_dir(n, t, home, queue_id, dir, sizeof dir, msg, msglen) !=
	    0)
		return NULL;
	struct node_queue *nq =
	    realloc(n->queues, (n->nqueues + 1) * sizeof *n->queues);
	if (nq == NULL) {
		*code = RPC_INTERNAL;
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	n->queues = nq;
	char name[3 * RSM_NAME_MAX];
	snprintf(name, sizeof name, "%s/%s/%u", t->name, home, queue_id);
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
	log_open_stats(q, name);
	struct node_queue *e = &n->queues[n->nqueues];
	memset(e, 0, sizeof *e);
	snprintf(e->topic, sizeof e->topic, "%s", t->name);
	snprintf(e->home, sizeof e->home, "%s", home);
	e->created = t->created;
	e->queue_id = queue_id;
	e->q = q;
	if (t->replication_factor > 1 &&
	    node_replica_init(n, e, dir, msg, msglen) != 0) {
		stor_queue_close(q, NULL, 0);
		return NULL;
	}
	n->nqueues++;
	if (node_queue_index_add(n, e) != 0) {
		n->nqueues--;
		node_replica_free(n, e);
		stor_queue_close(q, NULL, 0);
		*code = RPC_INTERNAL;
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	node_queue_touch(n, e, true);
	return e;
}

struct node_queue *node_queue_open(struct node *n, const char *topic,
				   const char *home, uint32_t queue_id,
				   uint32_t *code, char *msg, size_t msglen)
{
	const struct rsm_topic *t = rsm_topic_find(n->rsm, topic);
	if (home == NULL)
		home = n->cfg.name;
	struct node_queue *e =
	    t != NULL ? node_queue_find(n, t, home, queue_id) : NULL;
	if (e != NULL) {
		node_queue_touch(n, e, false);
		return e;
	}
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
	int64_t qi;
	*code = no_replica(n, t, home, queue_id, &qi, msg, msglen);
	if (*code != RPC_OK)
		return NULL;
	return open_replica(n, t, home, queue_id, code, msg, msglen);
}

/*
 * Whether queue @queue_id of @t, homed here with one copy, has never been
 * written: not open and no directory. Reading its bounds then needs no
 * files, and opening it would create them on the loop (every clustering
 * group has %RETRY% and %DLQ% queues that most never use). A queue with
 * copies elsewhere is always opened: its high watermark may be theirs.
 */
static bool never_written(struct node *n, const struct rsm_topic *t,
			  const char *home, uint32_t queue_id)
{
	if (t == NULL || t->replication_factor > 1 ||
	    (home != NULL && strcmp(home, n->cfg.name) != 0))
		return false;
	int64_t qi = rsm_topic_queue_index(t, n->cfg.name, queue_id);
	const char *l = qi >= 0 ? rsm_queue_leader(t, (uint32_t)qi) : NULL;
	if (l == NULL || strcmp(l, n->cfg.name) != 0 ||
	    node_queue_find(n, t, n->cfg.name, queue_id) != NULL)
		return false; /* not led here: node_led_queue says so */
	if (n->no_dir_created == t->created &&
	    strcmp(n->no_dir_topic, t->name) == 0)
		return true; /* asked for every queue of a topic in turn */
	char dir[NODE_PATH + 2 * RSM_NAME_MAX];
	struct stat st;
	int len =
	    snprintf(dir, sizeof dir, "%s/queues/%s", n->cfg.data_dir, t->name);
	if (stat(dir, &st) != 0 && errno == ENOENT) {
		memcpy(n->no_dir_topic, t->name, sizeof n->no_dir_topic);
		n->no_dir_created = t->created;
		return true;
	}
	snprintf(dir + len, sizeof dir - (size_t)len, "/%u", queue_id);
	return stat(dir, &st) != 0 && errno == ENOENT;
}

int node_queue_stat(struct node *n, const char *topic, const char *home,
		    uint32_t queue_id, bool with_time, int64_t time,
		    struct node_qstat *out, uint32_t *code, char *msg,
		    size_t msglen)
{
	const struct rsm_topic *nt = rsm_topic_find(n->rsm, topic);
	if (never_written(n, nt, home, queue_id) && node_is_current(n)) {
		*out = (struct node_qstat){
		    .known = true, /* as an empty queue's: times -1 */
		    .first_time = -1,
		    .last_time = -1,
		    .scheduled = node_sched_pending(n, nt, queue_id)};
		return 0;
	}
	const char *leader;
	struct node_queue *e = node_led_queue(n, topic, home, queue_id, code,
					      msg, msglen, &leader);
	if (e == NULL)
		return -1;
	if (e->rep != NULL && !e->rep->hw_known) {
		*code = RPC_UNAVAILABLE;
		snprintf(msg, msglen,
			 "queue %s/%s/%u changed leader; its high watermark is "
			 "not established yet",
			 e->topic, e->home, queue_id);
		return -1;
	}
	struct stor_queue_info info;
	stor_queue_info(e->q, &info);
	const struct rsm_topic *t = rsm_topic_find(n->rsm, topic);
	assert(t != NULL); /* node_led_queue found its queue */
	uint64_t hw = node_queue_hw(e);
	*out = (struct node_qstat){true,
				   info.min_offset,
				   hw,
				   0,
				   info.first_store_time,
				   info.last_store_time,
				   strcmp(e->home, n->cfg.name) == 0
				       ? node_sched_pending(n, t, queue_id)
				       : 0};
	if (!with_time)
		return 0;
	int rv = stor_queue_offset_for_time(e->q, time, &out->time_offset);
	if (rv != 0) {
		*code = node_code_from_stor(rv);
		snprintf(msg, msglen, "%s", stor_queue_errmsg(e->q));
		return -1;
	}
	if (out->time_offset > hw)
		out->time_offset = hw;
	return 0;
}

int node_read_until(struct stor_queue *q, uint64_t at, uint64_t limit,
		    size_t cap, size_t max_one, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (cap == 0 || at >= limit)
		return 0;
	uint8_t *buf = malloc(cap);
	if (buf == NULL)
		return STOR_ENOMEM;
	int rv = stor_queue_read(q, at, buf, cap, len);
	if (rv == STOR_EBUFSIZE && *len <= max_one) {
		uint8_t *b2 = realloc(buf, *len);
		if (b2 != NULL) {
			buf = b2;
			rv = stor_queue_read(q, at, buf, *len, len);
		}
	}
	size_t pos = 0, keep = 0;
	struct stor_batch b;
	while (rv == 0 && stor_batch_next(buf, *len, &pos, &b) == 1 &&
	       b.base_offset < limit)
		keep = pos;
	*len = rv == 0 ? keep : 0;
	*out = buf;
	return rv;
}

void node_queues_tick(struct node *n)
{
	for (size_t i = 0; i < n->nqueues; i++) {
		unsigned deleted = 0;
		bool idle = stor_queue_released(n->queues[i].q);
		int rv = stor_queue_tick(n->queues[i].q, &deleted);
		if (idle && !stor_queue_released(n->queues[i].q))
			stor_queue_release(n->queues[i].q); /* stays idle */
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

static void report_close(void *data, const char *msg)
{
	(void)data;
	NODE_LOG(NODE_ERROR, "storage", "close: %s", msg);
}

void node_queues_close(struct node *n)
{
	struct stor_queue **qs =
	    calloc(n->nqueues ? n->nqueues : 1, sizeof *qs);
	for (size_t i = 0; i < n->nqueues; i++) {
		char err[512];
		node_replica_free(n, &n->queues[i]);
		if (qs != NULL)
			qs[i] = n->queues[i].q;
		else if (stor_queue_close(n->queues[i].q, err, sizeof err))
			NODE_LOG(NODE_ERROR, "storage", "close: %s", err);
		free(n->queues[i].key);
	}
	/* Two filesystem syncs for all of them, not a few a queue. */
	if (qs != NULL)
		stor_queues_close(qs, n->nqueues, report_close, NULL);
	free(qs);
	node_queue_index_free(n);
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
		node_replica_free(n, e);
		if (stor_queue_close(e->q, err, sizeof err) != 0)
			NODE_LOG(NODE_ERROR, "storage", "close: %s", err);
		free(e->key);
	}
	if (kept != n->nqueues) {
		n->nqueues = kept;
		node_queue_index_rebuild(n); /* indices moved */
	}
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
