/*
 * data.c — the data plane: this broker's queues. PRODUCE appends a batch as
 * it came; FETCH reads from an offset (clamped: below MinOffset reads from
 * MinOffset, past MaxOffset is empty) after the group's epoch check, which
 * turns a read from before a reset into OFFSET_MOVED with the new offset
 * (DESIGN.md §2), or, finding nothing new, waits up to max_wait_ms
 * (fetch_wait.c); QUEUE_STATS gives the bounds (and offset for a time) of
 * this broker's queues of a topic — what the leader gathers.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/lz4_frame.h"
#include "handlers.h"
#include "replica.h"

/* Batches pass from rpc to storage as they came: one header layout. */
_Static_assert(RPC_BATCH_HEADER == STOR_BATCH_HEADER_SIZE,
	       "rpc and storage batch headers differ");
_Static_assert(RPC_BATCH_SCHEDULED == STOR_BATCH_SCHEDULED,
	       "the wire's batch flags are storage's");
_Static_assert(RPC_BATCH_LZ4 == STOR_BATCH_LZ4,
	       "rpc and storage lz4 batch flags differ");

#define FETCH_DEFAULT_BYTES (1u << 20)
#define FETCH_SLACK_BYTES 4096 /* frame room beside one oversized batch */

/* Whether @p's payload is what its count and flags say — `count`
 * records, plain or in one lz4 frame — so nothing a consumer cannot read
 * is ever stored (issue 10 #4); else answered INVALID_ARGUMENT. A count
 * out of range is left to the storage's own check. */
static bool batch_valid(const struct node_req *req,
			const struct rpc_produce_req *p)
{
	const uint8_t *plain = p->payload.ptr;
	size_t len = p->payload.len;
	uint8_t *z = NULL;
	char why[128];
	if (p->count == 0 || p->count > STOR_MAX_BATCH_RECORDS)
		return true;
	if ((p->flags & STOR_BATCH_LZ4) &&
	    (plain = z = lzf_decode(p->payload.ptr, p->payload.len, &len)) ==
		NULL) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "malformed batch: the lz4 frame does not decode");
		return false;
	}
	int rv = rpc_records_check(plain, len, p->count, why, sizeof why);
	free(z);
	if (rv != 0)
		node_req_fail(req, RPC_INVALID_ARGUMENT, "malformed batch: %s",
			      why);
	return rv == 0;
}

/* When @p's batch is due (0 or a time not after @now: at once); false
 * after answering INVALID_ARGUMENT. */
static bool due_time(const struct node_req *req,
		     const struct rpc_produce_req *p, int64_t now, int64_t *due)
{
	if (p->deliver_at != 0 && p->delay_ms != 0)
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "give deliver_at or delay_ms, not both");
	*due = p->deliver_at ? p->deliver_at
			     : (p->delay_ms ? now + p->delay_ms : 0);
	if (*due - now > NODE_DELAY_MAX_MS)
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "delivery %" PRId64 " ms ahead: at most "
				       "40 days (%lld ms)",
				       *due - now, NODE_DELAY_MAX_MS);
	return true;
}

/* Keeps @b in the schedule store until @due; answers its id. */
static void produce_later(const struct node_req *req,
			  const struct rpc_produce_req *p,
			  const struct stor_batch_in *b, int64_t due)
{
	char msg[600];
	uint64_t id;
	const struct rsm_topic *t = rsm_topic_find(req->n->rsm, p->topic);
	assert(t != NULL); /* node_req_led_queue found its queue */
	if (p->broker != NULL && strcmp(p->broker, req->n->cfg.name) != 0) {
		node_req_fail(req, RPC_UNAVAILABLE,
			      "delayed messages are kept by the queue's home "
			      "broker %s, which does not lead it now",
			      p->broker);
		return;
	}
	uint32_t code = node_sched_add(req->n, t, p->queue_id, due, b, &id, msg,
				       sizeof msg);
	if (code != RPC_OK) {
		node_req_fail(req, code, "%s", msg);
		return;
	}
	struct rpc_produce_resp r = {0, 0, id, due};
	node_req_ok(req, &r);
}

/* acks=all on a replicated queue needs min_insync_replicas in sync;
 * false after answering UNAVAILABLE. */
static bool enough_in_sync(const struct node_req *req,
			   const struct node_queue *e)
{
	const struct rsm_topic *t = rsm_topic_find(req->n->rsm, e->topic);
	assert(t != NULL); /* node_req_led_queue found the queue */
	int64_t qi = rsm_topic_queue_index(t, e->home, e->queue_id);
	assert(qi >= 0);
	uint32_t in_sync = node_isr_count(t, (uint32_t)qi);
	if (in_sync >= t->min_insync)
		return true;
	return node_req_failed(req, RPC_UNAVAILABLE,
			       "queue %s/%s/%u has %u in-sync replica%s; "
			       "acks=all needs min_insync_replicas %u",
			       e->topic, e->home, e->queue_id, in_sync,
			       in_sync == 1 ? "" : "s", t->min_insync);
}

/* After the leader appended [@base, @end) to @e: the answer now or when
 * the in-sync replicas have it (acks), and the waiting readers. */
static void appended(const struct node_req *req, struct node_queue *e,
		     uint32_t acks, const struct rpc_produce_resp *r,
		     uint64_t end)
{
	node_sync_want(req->n, e);
	node_replica_appended(req->n, e, end);
	if (acks == RPC_ACKS_NONE)
		return; /* answered before the append */
	bool all = e->rep != NULL && acks == RPC_ACKS_ALL;
	if ((all ? node_queue_hw(e) : node_queue_durable(e)) >= end)
		node_req_ok(req, r);
	else if (!node_acks_park(req, e, end, r, all))
		node_req_fail(req, RPC_UNAVAILABLE,
			      "the node is stopping: the batch is written on "
			      "the leader, not confirmed by %s",
			      all ? "the replicas" : "the disk");
}

void node_handle_produce(const struct node_req *req, const void *in)
{
	const struct rpc_produce_req *p = in;
	struct node_queue *e =
	    node_req_led_queue(req, p->topic, p->broker, p->queue_id);
	if (e == NULL)
		return;
	if (p->acks > RPC_ACKS_NONE) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "acks %u: 0 (all), 1 (leader) or 2 (none)",
			      p->acks);
		return;
	}
	if ((p->flags & ~(uint32_t)RPC_BATCH_LZ4) != 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "unknown batch flags 0x%x (a producer sets only "
			      "0x1, lz4)",
			      p->flags);
		return;
	}
	if (!batch_valid(req, p) ||
	    (e->rep != NULL && p->acks == RPC_ACKS_ALL &&
	     !enough_in_sync(req, e)))
		return;
	struct stor_batch_in b = {p->payload.ptr,    p->payload.len, p->count,
				  (uint8_t)p->flags, node_wall_ms(), 0};
	int64_t due = 0;
	if (!due_time(req, p, b.store_time_ms, &due))
		return;
	if (due > b.store_time_ms) {
		produce_later(req, p, &b, due);
		return;
	}
	if (p->acks == RPC_ACKS_NONE) {
		struct rpc_produce_resp none = {0, 0, 0, 0};
		node_req_ok(req, &none); /* before the append: acks=none */
	}
	uint64_t base;
	int64_t t;
	/* Under flush = sync the I/O thread syncs it (syncer.c). */
	int rv = req->n->syncer != NULL
		     ? stor_queue_append_unsynced(e->q, &b, &base, &t)
		     : stor_queue_append(e->q, &b, &base, &t);
	if (rv == 0 && req->n->syncer != NULL)
		req->n->queue_sync_appends++;
	if (rv != 0) {
		if (rv != STOR_EINVAL)
			NODE_LOG(NODE_ERROR, "storage", "%s",
				 stor_queue_errmsg(e->q));
		if (p->acks != RPC_ACKS_NONE)
			node_req_fail(req, node_code_from_stor(rv), "%s",
				      stor_queue_errmsg(e->q));
		return;
	}
	struct rpc_produce_resp r = {base, t, 0, 0};
	appended(req, e, p->acks, &r, base + p->count);
}

/*
 * The group's epoch check for a fetch: true when the fetch may go on (its
 * epoch in *epoch); otherwise answered — OFFSET_MOVED with where the group
 * stands now when the consumer read before a reset, UNKNOWN_GROUP, or
 * INVALID_ARGUMENT for an epoch from the future.
 */
static bool fetch_epoch_ok(const struct node_req *req,
			   const struct rpc_fetch_req *p,
			   const struct node_queue *e, uint64_t *epoch)
{
	struct node *n = req->n;
	const struct rsm_group *g = node_req_group(req, p->group);
	if (g == NULL)
		return false;
	const struct rsm_group_topic *gt = rsm_group_topic(g, p->topic);
	*epoch = gt ? gt->epoch : 0;
	if (g->mode != RSM_CLUSTERING || p->epoch == *epoch)
		return true;
	if (p->epoch > *epoch) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "epoch is newer than the group's");
		return false;
	}
	assert(gt != NULL); /* a group with epoch > 0 has read the topic */
	struct stor_queue_info info;
	stor_queue_info(e->q, &info);
	uint64_t hw = node_queue_hw(e);
	const struct rsm_topic *t = rsm_topic_find(n->rsm, p->topic);
	int64_t qi = rsm_topic_queue_index(t, e->home, p->queue_id);
	assert(qi >= 0 && (uint64_t)qi < gt->n);
	uint64_t at = gt->offsets[qi];
	at = at == RSM_OFFSET_NONE ? hw : stor_queue_clamp(e->q, at);
	struct rpc_fetch_resp r = {{NULL, 0}, info.min_offset, hw, at, *epoch};
	struct rpc_status st = {RPC_OFFSET_MOVED, "the group was reset", NULL,
				false};
	node_req_reply(req, &st, &r);
	return false;
}

void node_fetch_serve(const struct node_req *req, const struct rpc_fetch_req *p,
		      uint32_t max_wait_ms)
{
	struct node *n = req->n;
	struct node_queue *e =
	    node_req_led_queue(req, p->topic, p->broker, p->queue_id);
	uint64_t epoch = 0;
	if (e == NULL ||
	    (p->group != NULL && !fetch_epoch_ok(req, p, e, &epoch)))
		return;
	struct stor_queue *q = e->q;
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	/* Readers see up to the high watermark; a position past it (a new
	 * leader still learning it) waits: it never moves back. */
	uint64_t hw = node_queue_hw(e);
	uint64_t at = stor_queue_clamp(q, p->offset);
	if (at >= hw && max_wait_ms > 0 && node_fetch_park(req, p, max_wait_ms))
		return; /* answered when data comes, or at the deadline */
	size_t cap = p->max_bytes ? p->max_bytes : FETCH_DEFAULT_BYTES;
	if (cap > n->cfg.max_frame_bytes / 2)
		cap = n->cfg.max_frame_bytes / 2;
	/* No more than the connection, and the node, may still queue
	 * (budgets, docs/security.md); none at all: an empty answer, and
	 * the client asks again. */
	size_t room = rpc_server_room(&n->rpc, req->conn);
	if (cap > room)
		cap = room;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rv =
	    cap > 0 && at < hw
		? node_read_until(q, at, hw, cap,
				  n->cfg.max_frame_bytes - FETCH_SLACK_BYTES,
				  &buf, &len)
		: 0;
	if (rv != 0) {
		if (rv != STOR_ERANGE && rv != STOR_ENOMEM)
			NODE_LOG(NODE_ERROR, "storage", "%s",
				 stor_queue_errmsg(q));
		node_req_fail(req, node_code_from_stor(rv), "%s",
			      rv == STOR_ENOMEM ? "out of memory"
						: stor_queue_errmsg(q));
	} else {
		struct rpc_fetch_resp r = {
		    {buf, (uint32_t)len}, info.min_offset, hw, at, epoch};
		node_req_ok(req, &r);
	}
	free(buf);
}

void node_handle_fetch(const struct node_req *req, const void *in)
{
	const struct rpc_fetch_req *p = in;
	node_fetch_serve(req, p, p->max_wait_ms);
}

void node_handle_queue_stats(const struct node_req *req, const void *in)
{
	const struct rpc_queue_stats_req *p = in;
	const struct rsm_topic *t = node_req_topic(req, p->topic);
	if (t == NULL)
		return;
	uint32_t m = p->queue_ids.n ? p->queue_ids.n : t->queues_per_broker;
	struct rpc_queue_stat *st = calloc(m ? m : 1, sizeof *st);
	if (st == NULL) {
		node_req_oom(req);
		return;
	}
	uint32_t code = RPC_INTERNAL;
	char msg[300];
	for (uint32_t i = 0; i < m; i++) {
		uint64_t id = p->queue_ids.n ? p->queue_ids.v[i] : i;
		struct node_qstat s;
		if (id > UINT32_MAX) {
			node_req_fail(req, RPC_INVALID_ARGUMENT,
				      "queue id %llu out of range",
				      (unsigned long long)id);
			free(st);
			return;
		}
		if (node_queue_stat(req->n, t->name, p->broker, (uint32_t)id,
				    p->with_time, p->time, &s, &code, msg,
				    sizeof msg) != 0) {
			node_req_fail(req, code, "%s", msg);
			free(st);
			return;
		}
		st[i] = (struct rpc_queue_stat){
		    (uint32_t)id, s.min,       s.max,	   s.time_offset,
		    s.first_time, s.last_time, s.scheduled};
	}
	struct rpc_queue_stats_resp r = {
	    p->broker ? p->broker : req->n->cfg.name, {st, m}};
	node_req_ok(req, &r);
	free(st);
}
