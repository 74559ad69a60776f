/*
 * offsets.c — consumer offsets on the leader: commits (batched per loop
 * turn into one Raft entry), committed-offset reads, and the reset
 * coordinator (reset, dry run, history, undo).
 *
 * Reset, happy path: check group/topic/mode/target/queues → gather every
 * selected queue's bounds (and offset for the time) from its hosting broker
 * → one RESET entry with every queue's move → apply (epoch + 1, history
 * record) → answer in the Huawei shape. Failure modes: unknown group or
 * topic, broadcasting group, bad target or queue list — refused before any
 * broker is asked; a broker that cannot answer → UNAVAILABLE naming it,
 * nothing proposed; leadership lost before the entry applied → UNAVAILABLE
 * saying the outcome is unknown. A dry run applies the same entry to a
 * scratch copy of the state, so it cannot disagree with the real apply.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

/* Group and topic must exist; with @clustering_only the group must be
 * clustering (resets: a broadcasting group's offsets are the clients'). */
static bool check_group_topic(struct node *n, uint64_t conn, uint16_t type,
			      uint64_t rid, const char *group,
			      const char *topic, bool clustering_only,
			      const struct rsm_group **g,
			      const struct rsm_topic **t)
{
	char msg[400];
	*g = rsm_group_find(n->rsm, group);
	*t = rsm_topic_find(n->rsm, topic);
	if (*g == NULL) {
		snprintf(msg, sizeof msg,
			 "group '%s' does not exist (create it with raftqctl "
			 "group create)",
			 group);
		node_reply_error(n, conn, type, rid, RPC_UNKNOWN_GROUP, msg);
		return false;
	}
	if (*t == NULL) {
		snprintf(msg, sizeof msg, "topic '%s' does not exist", topic);
		node_reply_error(n, conn, type, rid, RPC_UNKNOWN_TOPIC, msg);
		return false;
	}
	if (clustering_only && (*g)->mode != RSM_CLUSTERING) {
		snprintf(msg, sizeof msg,
			 "group '%s' is broadcasting: its offsets live on the "
			 "clients, so the cluster cannot reset them",
			 group);
		node_reply_error(n, conn, type, rid, RPC_BROADCAST_UNSUPPORTED,
				 msg);
		return false;
	}
	return true;
}

/* ---- Reset and undo ---- */

struct reset_op {
	struct node_gather g; /* first: the gather callback gets &op->g */
	struct node *n;
	uint64_t conn, rid;
	uint16_t type; /* RPC_RESET or RPC_UNDO */
	char group[RSM_NAME_MAX + 1];
	char topic[RSM_NAME_MAX + 1];
	char requester[RSM_TEXT_MAX + 1];
	enum rsm_target_kind target;
	int64_t value;
	int64_t now;
	bool dry_run;
	bool *want;
	/* UNDO: the record's previous offsets by queue index. */
	uint64_t *previous;
	struct raft_apply apply;
	/* After apply: wait for the hosting brokers. */
	uint64_t reset_id;
	struct node_sync sync;
};

static void reset_free(struct reset_op *op)
{
	node_gather_free(&op->g);
	free(op->want);
	free(op->previous);
	free(op);
}

static void send_reset(struct reset_op *op, const struct rsm_reset *r,
		       bool dry_run, uint64_t epoch)
{
	struct rpc_reset_queue *q = calloc(r->n ? r->n : 1, sizeof *q);
	if (q == NULL) {
		node_reply_error(op->n, op->conn, op->type, op->rid,
				 RPC_INTERNAL, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < r->n; i++)
		q[i] = (struct rpc_reset_queue){r->queues[i].broker,
						r->queues[i].queue_id,
						r->queues[i].offset};
	struct rpc_reset_resp resp = {
	    dry_run ? 0 : r->id, epoch, dry_run, {q, r->n}};
	node_reply(op->n, op->conn, op->type, op->rid, NULL, &resp);
	free(q);
}

/* ---- Waiting for the hosting brokers to apply a reset ---- */

static void on_synced(struct node_sync *s, bool all)
{
	struct reset_op *op = s->data;
	if (!all)
		NODE_LOG(NODE_WARN, "reset",
			 "reset %" PRIu64
			 ": a hosting broker did not confirm it within %d ms; "
			 "its fetches are fenced by the epoch once it applies",
			 op->reset_id, NODE_SYNC_LIMIT_MS);
	const struct rsm_reset *rec = rsm_reset_find(op->n->rsm, op->reset_id);
	if (rec == NULL) {
		node_reply_error(
		    op->n, op->conn, op->type, op->rid, RPC_INTERNAL,
		    "the reset left the history before it was answered");
		return;
	}
	/* Online members move now rather than at their next fetch; their
	 * notices are written before the answer (connections flush in the
	 * order they were queued), so a member on the operator's host has it
	 * before the operator has the answer. */
	node_groups_notify_reset(op->n, rec);
	send_reset(op, rec, false, rec->epoch);
}

static void on_sync_released(struct node_sync *s)
{
	reset_free(s->data);
}

/* Answer once every hosting broker has applied the reset, so any fetch
 * there sees the new epoch (DESIGN.md §2). */
static void sync_start(struct reset_op *op)
{
	struct node *n = op->n;
	uint64_t ids[RSM_MAX_BROKERS];
	uint32_t nids = 0;
	for (uint32_t b = 0; b < op->g.n_brokers && nids < RSM_MAX_BROKERS;
	     b++) {
		bool hosts = false;
		for (uint32_t k = 0; k < op->g.qpb; k++)
			hosts |= op->want[(size_t)b * op->g.qpb + k];
		const struct rsm_broker *br =
		    rsm_broker_by_name(n->rsm, op->g.brokers[b]);
		if (hosts && br != NULL)
			ids[nids++] = br->id;
	}
	op->sync.data = op;
	node_sync_start(n, &op->sync, raft_last_applied(&n->raft), ids, nids,
			false, on_synced, on_sync_released);
}

static void on_reset_applied(struct raft_apply *req, int status, void *result)
{
	struct reset_op *op = req->data;
	const struct rsm_result *r = result;
	if (status != 0) {
		char msg[200];
		snprintf(msg, sizeof msg,
			 "leadership changed before the reset was confirmed "
			 "(%s): check 'offset history' before retrying",
			 raft_strerror(status));
		node_reply_error(op->n, op->conn, op->type, op->rid,
				 RPC_UNAVAILABLE, msg);
	} else if (r == NULL || r->code != RSM_OK || r->reset == NULL) {
		node_reply_error(op->n, op->conn, op->type, op->rid,
				 node_code_from_rsm(r ? r->code : RSM_EBADCMD),
				 r ? r->message : "no result");
	} else {
		NODE_LOG(NODE_INFO, "reset",
			 "reset %" PRIu64
			 " of %s/%s to %s by %s: epoch %" PRIu64 ", %u queues",
			 r->reset->id, op->group, op->topic,
			 rsm_target_name(op->target), op->requester,
			 r->reset->epoch, r->reset->n);
		op->reset_id = r->reset->id;
		sync_start(op);
		return;
	}
	reset_free(op);
}

/* Dry run: the same entry applied to a scratch copy of the state. */
static void dry_run(struct reset_op *op, struct raft_buffer buf)
{
	struct node *n = op->n;
	void *snap = NULL;
	size_t len = 0;
	struct rsm *copy = rsm_new();
	const struct rsm_result *r = NULL;
	int rv = copy ? rsm_snapshot(n->rsm, &snap, &len) : RSM_ENOMEM;
	if (rv == 0)
		rv = rsm_restore(copy, snap, len, NULL, 0);
	if (rv == 0)
		rv = rsm_apply(copy, buf.base, buf.len, &r);
	if (rv != 0)
		node_reply_error(n, op->conn, op->type, op->rid, RPC_INTERNAL,
				 "dry run failed: out of memory");
	else if (r->code != RSM_OK)
		node_reply_error(n, op->conn, op->type, op->rid,
				 node_code_from_rsm(r->code), r->message);
	else
		send_reset(op, r->reset, true, r->reset->epoch - 1);
	free(snap);
	rsm_free(copy);
	raft_free(buf.base);
	reset_free(op);
}

static void on_gathered(struct node_gather *g, bool ok)
{
	struct reset_op *op = (struct reset_op *)g;
	struct node *n = op->n;
	if (!ok) {
		node_reply_error(n, op->conn, op->type, op->rid,
				 RPC_UNAVAILABLE, g->failed);
		reset_free(op);
		return;
	}
	const struct rsm_group *grp = rsm_group_find(n->rsm, op->group);
	size_t nq = (size_t)g->n_brokers * g->qpb;
	struct rsm_reset_move *mv = calloc(nq ? nq : 1, sizeof *mv);
	uint32_t m = 0;
	for (size_t i = 0; mv != NULL && i < nq; i++) {
		if (!op->want[i])
			continue;
		const struct node_qstat *s = &g->q[i];
		struct rsm_reset_move *x = &mv[m++];
		x->broker = g->brokers[i / g->qpb];
		x->queue_id = (uint32_t)(i % g->qpb);
		x->move = RSM_MOVE_ABSOLUTE;
		x->min_offset = s->min;
		x->max_offset = s->max;
		switch (op->target) {
		case RSM_TARGET_LATEST:
			x->value = (int64_t)s->max;
			break;
		case RSM_TARGET_EARLIEST:
			x->value = (int64_t)s->min;
			break;
		case RSM_TARGET_TIME:
		case RSM_TARGET_DURATION:
			x->value = (int64_t)s->time_offset;
			break;
		case RSM_TARGET_OFFSET:
			x->value = op->value;
			break;
		case RSM_TARGET_SHIFT:
			x->move = RSM_MOVE_SHIFT;
			x->value = op->value;
			/* Never committed: shift from where it would start. */
			x->unset_base =
			    grp && grp->initial == RSM_INITIAL_EARLIEST
				? s->min
				: s->max;
			break;
		case RSM_TARGET_UNDO:
			if (op->previous[i] == RSM_OFFSET_NONE) {
				x->move = RSM_MOVE_UNSET;
			} else {
				x->value = (int64_t)op->previous[i];
			}
			break;
		}
	}
	struct rsm_reset_cmd cmd = {
	    op->now,	op->requester, op->group, op->topic,
	    op->target, op->value,     m,	  mv};
	struct raft_buffer buf;
	char err[256];
	int rv =
	    mv ? rsm_encode_reset(&cmd, &buf, err, sizeof err) : RSM_ENOMEM;
	free(mv);
	if (rv != 0) {
		node_reply_error(n, op->conn, op->type, op->rid,
				 rv == RSM_EINVAL ? RPC_INVALID_ARGUMENT
						  : RPC_INTERNAL,
				 rv == RSM_EINVAL ? err : "out of memory");
		reset_free(op);
		return;
	}
	if (op->dry_run) {
		dry_run(op, buf);
		return;
	}
	if (raft_state(&n->raft) != RAFT_LEADER) {
		raft_free(buf.base);
		node_reply_error(
		    n, op->conn, op->type, op->rid, RPC_UNAVAILABLE,
		    "leadership changed while preparing the reset; nothing "
		    "was changed");
		reset_free(op);
		return;
	}
	op->apply.data = op;
	rv = raft_apply(&n->raft, &op->apply, &buf, 1, on_reset_applied);
	if (rv != 0) {
		raft_free(buf.base);
		node_reply_error(n, op->conn, op->type, op->rid,
				 RPC_UNAVAILABLE, raft_strerror(rv));
		reset_free(op);
	}
}

static int parse_target(const char *s, enum rsm_target_kind *out)
{
	static const struct {
		const char *name;
		enum rsm_target_kind kind;
	} t[] = {
	    {"latest", RSM_TARGET_LATEST}, {"earliest", RSM_TARGET_EARLIEST},
	    {"time", RSM_TARGET_TIME},	   {"offset", RSM_TARGET_OFFSET},
	    {"shift", RSM_TARGET_SHIFT},   {"duration", RSM_TARGET_DURATION}};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].kind;
			return 0;
		}
	return -1;
}

static struct reset_op *reset_new(struct node *n, uint64_t conn,
				  struct rpc_frame *f,
				  const struct rsm_topic *t)
{
	struct reset_op *op = calloc(1, sizeof *op);
	size_t nq = rsm_topic_queues(t);
	if (op != NULL) {
		op->want = calloc(nq ? nq : 1, sizeof *op->want);
		op->previous = calloc(nq ? nq : 1, sizeof *op->previous);
	}
	if (op == NULL || op->want == NULL || op->previous == NULL) {
		if (op) {
			free(op->want);
			free(op->previous);
		}
		free(op);
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return NULL;
	}
	op->n = n;
	op->conn = conn;
	op->rid = f->request_id;
	op->type = f->type;
	op->now = node_wall_ms();
	op->g.data = op;
	op->g.done = on_gathered;
	return op;
}

static void start_gather(struct reset_op *op, const struct rsm_topic *t)
{
	op->g.with_time =
	    op->target == RSM_TARGET_TIME || op->target == RSM_TARGET_DURATION;
	op->g.time =
	    op->target == RSM_TARGET_DURATION ? op->now - op->value : op->value;
	if (node_gather_start(op->n, &op->g, t, op->want) != 0) {
		node_reply_error(op->n, op->conn, op->type, op->rid,
				 RPC_INTERNAL, "out of memory");
		reset_free(op);
	}
}

void node_handle_reset(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_reset_req in;
	char msg[400];
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id))
		return;
	const struct rsm_group *g;
	const struct rsm_topic *t;
	if (!check_group_topic(n, conn, f->type, f->request_id, in.group,
			       in.topic, true, &g, &t))
		return;
	enum rsm_target_kind target;
	if (parse_target(in.target, &target) != 0) {
		snprintf(msg, sizeof msg,
			 "target '%s' is not one of latest, earliest, time, "
			 "offset, shift, duration",
			 in.target);
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_INVALID_ARGUMENT, msg);
		return;
	}
	if ((target == RSM_TARGET_OFFSET || target == RSM_TARGET_DURATION) &&
	    in.value < 0) {
		node_reply_error(
		    n, conn, f->type, f->request_id, RPC_INVALID_ARGUMENT,
		    target == RSM_TARGET_OFFSET ? "offset must be >= 0"
						: "duration must be >= 0");
		return;
	}
	if (in.require_inactive) {
		/* Kafka's rule, on request: refuse while members are online. */
		const char *ids[8];
		uint32_t online = node_group_members(n, in.group, ids, 8);
		if (online > 0) {
			size_t at = (size_t)snprintf(
			    msg, sizeof msg,
			    "group '%s' has %u online member%s (", in.group,
			    online, online == 1 ? "" : "s");
			for (uint32_t i = 0;
			     i < online && i < 8 && at < sizeof msg - 40; i++)
				at += (size_t)snprintf(msg + at,
						       sizeof msg - at, "%s%s",
						       i ? ", " : "", ids[i]);
			snprintf(msg + at, sizeof msg - at,
				 "%s); stop them or drop --require-inactive",
				 online > 8 ? ", ..." : "");
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_GROUP_ACTIVE, msg);
			return;
		}
	}
	struct reset_op *op = reset_new(n, conn, f, t);
	if (op == NULL)
		return;
	snprintf(op->group, sizeof op->group, "%s", in.group);
	snprintf(op->topic, sizeof op->topic, "%s", in.topic);
	snprintf(op->requester, sizeof op->requester, "%s",
		 in.requester ? in.requester : "unknown");
	op->target = target;
	op->value = in.value;
	op->dry_run = in.dry_run;
	size_t nq = rsm_topic_queues(t);
	for (uint32_t i = 0; i < in.queues.n; i++) {
		const char *s = in.queues.v[i];
		const char *colon = strrchr(s, ':');
		char broker[RSM_NAME_MAX + 1];
		char *end = NULL;
		unsigned long id = 0;
		size_t bl = colon ? (size_t)(colon - s) : 0;
		if (colon != NULL && bl > 0 && bl < sizeof broker) {
			memcpy(broker, s, bl);
			broker[bl] = '\0';
			id = strtoul(colon + 1, &end, 10);
		}
		int64_t qi =
		    (colon && end && *end == '\0' && colon[1] &&
		     id <= UINT32_MAX)
			? rsm_topic_queue_index(t, broker, (uint32_t)id)
			: -1;
		if (qi < 0) {
			snprintf(msg, sizeof msg,
				 "queue '%s' is not a queue of topic '%s' "
				 "(write broker:queue_id)",
				 s, t->name);
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_INVALID_ARGUMENT, msg);
			reset_free(op);
			return;
		}
		op->want[qi] = true;
	}
	if (in.queues.n == 0)
		for (size_t i = 0; i < nq; i++)
			op->want[i] = true;
	start_gather(op, t);
}

void node_handle_undo(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_undo_req in;
	char msg[300];
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id))
		return;
	const struct rsm_reset *rec = rsm_reset_find(n->rsm, in.reset_id);
	if (rec == NULL) {
		snprintf(msg, sizeof msg,
			 "reset %" PRIu64 " is not in the history",
			 in.reset_id);
		node_reply_error(n, conn, f->type, f->request_id, RPC_NOT_FOUND,
				 msg);
		return;
	}
	const struct rsm_group *g;
	const struct rsm_topic *t;
	if (!check_group_topic(n, conn, f->type, f->request_id, rec->group,
			       rec->topic, true, &g, &t))
		return;
	struct reset_op *op = reset_new(n, conn, f, t);
	if (op == NULL)
		return;
	snprintf(op->group, sizeof op->group, "%s", rec->group);
	snprintf(op->topic, sizeof op->topic, "%s", rec->topic);
	snprintf(op->requester, sizeof op->requester, "%s",
		 in.requester ? in.requester : "unknown");
	op->target = RSM_TARGET_UNDO;
	op->value = (int64_t)rec->id;
	for (uint32_t i = 0; i < rec->n; i++) {
		int64_t qi = rsm_topic_queue_index(t, rec->queues[i].broker,
						   rec->queues[i].queue_id);
		if (qi < 0)
			continue;
		op->want[qi] = true;
		op->previous[qi] = rec->queues[i].previous;
	}
	start_gather(op, t);
}

void node_handle_history(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_history_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id) ||
	    !node_read_gate(n, conn, f))
		return;
	const struct rsm_group *g;
	const struct rsm_topic *t;
	g = rsm_group_find(n->rsm, in.group);
	t = rsm_topic_find(n->rsm, in.topic);
	if (g == NULL || t == NULL) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s '%s' does not exist",
			 g == NULL ? "group" : "topic",
			 g == NULL ? in.group : in.topic);
		node_reply_error(
		    n, conn, f->type, f->request_id,
		    g == NULL ? RPC_UNKNOWN_GROUP : RPC_UNKNOWN_TOPIC, msg);
		return;
	}
	uint32_t total = rsm_reset_count(n->rsm), m = 0, nqs = 0;
	for (uint32_t i = 0; i < total; i++) {
		const struct rsm_reset *r = rsm_reset_at(n->rsm, i);
		if (strcmp(r->group, in.group) == 0 &&
		    strcmp(r->topic, in.topic) == 0) {
			m++;
			nqs += r->n;
		}
	}
	struct rpc_history_entry *e = calloc(m ? m : 1, sizeof *e);
	struct rpc_history_queue *q = calloc(nqs ? nqs : 1, sizeof *q);
	if (e == NULL || q == NULL) {
		free(e);
		free(q);
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	uint32_t k = 0, at = 0;
	for (uint32_t i = 0; i < total; i++) {
		const struct rsm_reset *r = rsm_reset_at(n->rsm, i);
		if (strcmp(r->group, in.group) != 0 ||
		    strcmp(r->topic, in.topic) != 0)
			continue;
		for (uint32_t j = 0; j < r->n; j++)
			q[at + j] = (struct rpc_history_queue){
			    r->queues[j].broker,     r->queues[j].queue_id,
			    r->queues[j].previous,   r->queues[j].offset,
			    r->queues[j].min_offset, r->queues[j].max_offset,
			    r->queues[j].clamped};
		e[k++] = (struct rpc_history_entry){
		    r->id,	     r->time,  r->requester,
		    r->group,	     r->topic, rsm_target_name(r->target),
		    r->target_value, r->epoch, {q + at, r->n}};
		at += r->n;
	}
	struct rpc_history_resp resp = {{e, m}};
	node_reply(n, conn, f->type, f->request_id, NULL, &resp);
	free(e);
	free(q);
}

/* ---- Commits: one Raft entry per loop turn ---- */

struct commit_item {
	char group[RSM_NAME_MAX + 1];
	char topic[RSM_NAME_MAX + 1];
	char broker[RSM_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t offset;
	uint64_t epoch;
};
struct commit_waiter {
	uint64_t conn, rid;
	uint32_t first, count;
};
struct commit_batch {
	struct raft_apply apply;
	struct node *n;
	struct commit_item *items;
	uint32_t n_items, cap_items;
	struct commit_waiter *waiters;
	uint32_t n_waiters, cap_waiters;
};

static void batch_free(struct commit_batch *b)
{
	if (b == NULL)
		return;
	free(b->items);
	free(b->waiters);
	free(b);
}

/* Answer one request from the applied result (codes in @codes). */
static void commit_answer(struct node *n, const struct commit_batch *b,
			  const struct commit_waiter *w, const int *codes)
{
	uint64_t *out = calloc(w->count ? w->count : 1, sizeof *out);
	bool stale = false;
	for (uint32_t i = 0; out && i < w->count; i++) {
		out[i] = codes ? node_code_from_rsm(codes[w->first + i])
			       : RPC_UNAVAILABLE;
		stale |= out[i] == RPC_STALE_EPOCH;
	}
	if (out == NULL) {
		node_reply_error(n, w->conn, RPC_COMMIT, w->rid, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	struct rpc_commit_resp r = {{out, w->count}, {NULL, 0}, 0};
	struct rpc_offset_info *off = NULL;
	if (stale) {
		/* Tell the consumer where the group stands now. */
		const struct commit_item *c = &b->items[w->first];
		const struct rsm_group *g = rsm_group_find(n->rsm, c->group);
		const struct rsm_topic *t = rsm_topic_find(n->rsm, c->topic);
		const struct rsm_group_topic *gt =
		    g && t ? rsm_group_topic(g, t->name) : NULL;
		if (gt != NULL) {
			off = calloc(gt->n ? gt->n : 1, sizeof *off);
			for (uint32_t i = 0; off && i < gt->n; i++)
				off[i] = (struct rpc_offset_info){
				    t->brokers[i / t->queues_per_broker],
				    i % t->queues_per_broker, gt->offsets[i]};
			r.offsets = (struct rpc_list){off, off ? gt->n : 0};
			r.epoch = gt->epoch;
		}
	}
	struct rpc_status st = {stale ? RPC_STALE_EPOCH : RPC_OK,
				stale ? "the group was reset; resume from the "
					"offsets given"
				      : NULL,
				NULL};
	node_reply(n, w->conn, RPC_COMMIT, w->rid, &st, &r);
	free(off);
	free(out);
}

static void on_commit_applied(struct raft_apply *req, int status, void *result)
{
	struct commit_batch *b = req->data;
	const struct rsm_result *r = result;
	bool ok = status == 0 && r != NULL && r->type == RSM_CMD_COMMIT &&
		  r->n_items == b->n_items;
	for (uint32_t i = 0; i < b->n_waiters; i++)
		commit_answer(b->n, b, &b->waiters[i],
			      ok ? r->item_codes : NULL);
	batch_free(b);
}

static void commit_flush(uv_check_t *h)
{
	struct node *n = h->data;
	struct commit_batch *b = n->commits;
	if (b == NULL)
		return;
	n->commits = NULL;
	struct rsm_commit *items = calloc(b->n_items, sizeof *items);
	if (items == NULL) {
		for (uint32_t i = 0; i < b->n_waiters; i++)
			commit_answer(n, b, &b->waiters[i], NULL);
		batch_free(b);
		return;
	}
	for (uint32_t i = 0; i < b->n_items; i++)
		items[i] = (struct rsm_commit){
		    b->items[i].group,	b->items[i].topic,
		    b->items[i].broker, b->items[i].queue_id,
		    b->items[i].offset, b->items[i].epoch};
	struct raft_buffer buf;
	char err[256];
	int rv = rsm_encode_commit(items, b->n_items, &buf, err, sizeof err);
	free(items);
	if (rv == 0) {
		b->apply.data = b;
		rv =
		    raft_apply(&n->raft, &b->apply, &buf, 1, on_commit_applied);
		if (rv != 0)
			raft_free(buf.base);
		else
			return;
	}
	for (uint32_t i = 0; i < b->n_waiters; i++)
		commit_answer(n, b, &b->waiters[i], NULL);
	batch_free(b);
}

void node_commits_init(struct node *n)
{
	uv_check_init(n->loop, &n->commit_check);
	n->commit_check.data = n;
	uv_check_start(&n->commit_check, commit_flush);
	uv_unref((uv_handle_t *)&n->commit_check);
}

void node_handle_commit(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_commit_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id))
		return;
	if (in.items.n == 0) {
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_INVALID_ARGUMENT, "no offsets to commit");
		return;
	}
	const struct rpc_commit_item *it = in.items.v;
	for (uint32_t i = 0; i < in.items.n; i++) {
		if (!rsm_name_valid(it[i].topic) ||
		    !rsm_name_valid(it[i].broker_name) ||
		    !rsm_name_valid(in.group)) {
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_INVALID_ARGUMENT,
					 "bad group, topic or broker name");
			return;
		}
	}
	struct commit_batch *b = n->commits;
	if (b == NULL) {
		b = calloc(1, sizeof *b);
		if (b == NULL) {
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_INTERNAL, "out of memory");
			return;
		}
		b->n = n;
		n->commits = b;
	}
	if (b->n_items + in.items.n > b->cap_items) {
		uint32_t cap = (b->cap_items + in.items.n) * 2;
		struct commit_item *p = realloc(b->items, cap * sizeof *p);
		if (p == NULL) {
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_INTERNAL, "out of memory");
			return;
		}
		b->items = p;
		b->cap_items = cap;
	}
	if (b->n_waiters == b->cap_waiters) {
		uint32_t cap = b->cap_waiters ? b->cap_waiters * 2 : 16;
		struct commit_waiter *p = realloc(b->waiters, cap * sizeof *p);
		if (p == NULL) {
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_INTERNAL, "out of memory");
			return;
		}
		b->waiters = p;
		b->cap_waiters = cap;
	}
	b->waiters[b->n_waiters++] =
	    (struct commit_waiter){conn, f->request_id, b->n_items, in.items.n};
	for (uint32_t i = 0; i < in.items.n; i++) {
		struct commit_item *c = &b->items[b->n_items++];
		snprintf(c->group, sizeof c->group, "%s", in.group);
		snprintf(c->topic, sizeof c->topic, "%s", it[i].topic);
		snprintf(c->broker, sizeof c->broker, "%s", it[i].broker_name);
		c->queue_id = it[i].queue_id;
		c->offset = it[i].offset;
		c->epoch = it[i].epoch;
	}
}

/* ---- Committed offsets ---- */

struct offsets_op {
	struct node_gather g;
	struct node *n;
	uint64_t conn, rid;
	char group[RSM_NAME_MAX + 1];
};

static void on_offsets_gathered(struct node_gather *g, bool ok)
{
	struct offsets_op *op = (struct offsets_op *)g;
	struct node *n = op->n;
	if (!ok) {
		node_reply_error(n, op->conn, RPC_OFFSETS, op->rid,
				 RPC_UNAVAILABLE, g->failed);
		node_gather_free(g);
		free(op);
		return;
	}
	const struct rsm_group *grp = rsm_group_find(n->rsm, op->group);
	const struct rsm_group_topic *gt =
	    grp ? rsm_group_topic(grp, g->topic) : NULL;
	size_t nq = (size_t)g->n_brokers * g->qpb;
	struct rpc_offset_info *q = calloc(nq ? nq : 1, sizeof *q);
	if (q == NULL || grp == NULL) {
		node_reply_error(n, op->conn, RPC_OFFSETS, op->rid,
				 grp ? RPC_INTERNAL : RPC_UNKNOWN_GROUP,
				 grp ? "out of memory"
				     : "the group was deleted");
	} else {
		size_t m = 0;
		for (size_t i = 0; i < nq; i++) {
			const struct node_qstat *s = &g->q[i];
			uint64_t at = gt && gt->n == nq ? gt->offsets[i]
							: RSM_OFFSET_NONE;
			if (!s->known) {
				/* Its broker did not answer: the committed
				 * offset as it is, or nothing to start from
				 * (nobody can read that queue now anyway). */
				if (at != RSM_OFFSET_NONE)
					q[m++] = (struct rpc_offset_info){
					    g->brokers[i / g->qpb],
					    (uint32_t)(i % g->qpb), at};
				continue;
			}
			/* RocketMQ 5: a first read starts at MaxOffset (or
			 * MinOffset for groups created "earliest"); offsets
			 * outside [min, max] are served clamped. */
			if (at == RSM_OFFSET_NONE)
				at = grp->initial == RSM_INITIAL_EARLIEST
					 ? s->min
					 : s->max;
			at = at < s->min ? s->min : at > s->max ? s->max : at;
			q[m++] = (struct rpc_offset_info){
			    g->brokers[i / g->qpb], (uint32_t)(i % g->qpb), at};
		}
		struct rpc_offsets_resp r = {gt ? gt->epoch : 0,
					     {q, (uint32_t)m}};
		node_reply(n, op->conn, RPC_OFFSETS, op->rid, NULL, &r);
	}
	free(q);
	node_gather_free(g);
	free(op);
}

void node_handle_offsets(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_offsets_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id) ||
	    !node_read_gate(n, conn, f))
		return;
	const struct rsm_group *g;
	const struct rsm_topic *t;
	/* Broadcasting groups ask too: for the initial rule's positions. */
	if (!check_group_topic(n, conn, f->type, f->request_id, in.group,
			       in.topic, false, &g, &t))
		return;
	struct offsets_op *op = calloc(1, sizeof *op);
	if (op == NULL) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	op->n = n;
	op->conn = conn;
	op->rid = f->request_id;
	snprintf(op->group, sizeof op->group, "%s", in.group);
	op->g.data = op;
	op->g.done = on_offsets_gathered;
	op->g.partial = true;
	if (node_gather_start(n, &op->g, t, NULL) != 0) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		free(op);
	}
}
