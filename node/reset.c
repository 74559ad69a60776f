/*
 * reset.c — the reset coordinator (leader): RESET and UNDO, each a state
 * machine over one struct reset_op.
 *
 *   NEW ──start──► GATHERING ──every broker answered──► PROPOSING
 *   PROPOSING ──applied──► SYNCING ──hosting brokers applied──► DONE
 *   GATHERING ──dry run──► DONE (the entry applied to a scratch copy)
 *
 * Happy path: check group, topic, mode, target and queues → gather every
 * selected queue's bounds (and offset for the time) from its hosting
 * broker → ONE RESET entry with every queue's move → applied (epoch + 1,
 * history record) → wait until the hosting brokers applied it (their
 * fetches then see the new epoch) → push RESET_NOTICE to online members →
 * answer in the Huawei shape. UNDO is the same machine with the target
 * "undo": each queue goes back to the record's previous offset, or to "no
 * committed offset" when it had none. Target "current" is a shift by 0
 * (queues never committed get the initial rule's position); "plan" moves
 * each named queue to the offset given with it (a plan file).
 *
 * Failure modes: unknown group or topic, broadcasting group, bad target or
 * queue list, online members with require_inactive — refused before any
 * broker is asked; a broker that cannot answer → UNAVAILABLE naming it,
 * nothing proposed; this node no longer leader when proposing → NOT_LEADER,
 * nothing proposed; leadership lost before the entry applied → UNAVAILABLE
 * saying the outcome is unknown; a hosting broker slow to apply → answered
 * after NODE_SYNC_LIMIT_MS with a warning logged (the epoch fences its
 * fetches once it applies). Every path ends in reset_done, which answers
 * errors and frees the op exactly once.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

enum reset_state {
	RESET_NEW,
	RESET_GATHERING,
	RESET_PROPOSING,
	RESET_SYNCING,
	RESET_DONE,
};

struct reset_op {
	struct node_req req;  /* first: node_req_op */
	struct node_gather g; /* results valid from GATHERING's end */
	enum reset_state state;
	char group[RSM_NAME_MAX + 1];
	char topic[RSM_NAME_MAX + 1];
	char requester[RSM_TEXT_MAX + 1];
	enum rsm_target_kind target;
	int64_t value;
	int64_t now;
	bool dry_run;
	bool expect; /* the guard (--expect-epoch), checked again on apply */
	uint64_t expect_epoch;
	bool *want;	 /* by queue index (broker * qpb + id) */
	uint64_t *given; /* by queue index: UNDO the record's previous
			    offsets, PLAN the plan's */
	struct node_proposal p;
	uint64_t reset_id; /* once applied */
};

static void set_state(struct reset_op *op, enum reset_state from,
		      enum reset_state to)
{
	assert(op->state == from);
	(void)from;
	op->state = to;
}

/* The one exit: answers @code (unless OK: already answered) and frees. */
static void reset_done(struct reset_op *op, uint32_t code, const char *msg)
{
	assert(op->state != RESET_DONE);
	op->state = RESET_DONE;
	if (code != RPC_OK)
		node_req_fail(&op->req, code, "%s", msg);
	node_gather_free(&op->g);
	free(op->want);
	free(op->given);
	free(op);
}

/* Answers with the queues of @r in the Huawei shape; RPC_OK or INTERNAL. */
/* The answer's view of one queue of @r: a queue an undo returned to "no
 * committed offset" shows where @g's initial rule starts it now. */
static struct rpc_reset_queue answer_queue(const struct rsm_group *g,
					   const struct rsm_reset_queue *x)
{
	bool unset = x->offset == RSM_OFFSET_NONE;
	uint64_t at = x->offset;
	if (unset)
		at = g && g->initial == RSM_INITIAL_EARLIEST ? x->min_offset
							     : x->max_offset;
	return (struct rpc_reset_queue){x->broker,   x->queue_id, at,
					x->previous, x->clamped,  unset};
}

/* Answers with the queues of @r in the Huawei shape; RPC_OK or INTERNAL. */
static uint32_t reset_answer(struct reset_op *op, const struct rsm_reset *r,
			     bool dry_run, uint64_t epoch)
{
	const struct rsm_group *g = rsm_group_find(op->req.n->rsm, op->group);
	struct rpc_reset_queue *q = calloc(r->n ? r->n : 1, sizeof *q);
	if (q == NULL)
		return RPC_INTERNAL;
	for (uint32_t i = 0; i < r->n; i++)
		q[i] = answer_queue(g, &r->queues[i]);
	struct rpc_reset_resp resp = {
	    dry_run ? 0 : r->id, epoch,	    dry_run,
	    {q, r->n},		 op->group, op->topic};
	node_req_ok(&op->req, &resp);
	free(q);
	return RPC_OK;
}

/* ---- SYNCING ---- */

static void on_synced(void *data, bool all)
{
	struct reset_op *op = data;
	struct node *n = op->req.n;
	assert(op->state == RESET_SYNCING);
	if (!all)
		NODE_LOG(NODE_WARN, "reset",
			 "reset %" PRIu64
			 ": a hosting broker did not confirm it within %d ms; "
			 "its fetches are fenced by the epoch once it applies",
			 op->reset_id, NODE_SYNC_LIMIT_MS);
	const struct rsm_reset *rec = rsm_reset_find(n->rsm, op->reset_id);
	if (rec == NULL) {
		reset_done(op, RPC_INTERNAL,
			   "the reset left the history before it was answered");
		return;
	}
	/* Online members move now rather than at their next fetch; their
	 * notices are written before the answer (connections flush in the
	 * order they were queued), so a member on the operator's host has it
	 * before the operator has the answer. */
	node_groups_notify_reset(n, rec);
	reset_done(op, reset_answer(op, rec, false, rec->epoch),
		   "out of memory");
}

/* The hosting brokers of the selected queues, as node ids. */
static uint32_t hosting_ids(struct reset_op *op, uint64_t *ids)
{
	struct node_gather *g = &op->g;
	uint32_t nids = 0;
	for (uint32_t b = 0; b < g->n_brokers && nids < RSM_MAX_BROKERS; b++) {
		bool hosts = false;
		for (uint32_t k = 0; k < g->qpb; k++)
			hosts |= op->want[(size_t)b * g->qpb + k];
		const struct rsm_broker *br =
		    rsm_broker_by_name(op->req.n->rsm, g->brokers[b]);
		if (hosts && br != NULL)
			ids[nids++] = br->id;
	}
	return nids;
}

/* ---- PROPOSING ---- */

static void on_reset_applied(struct node_proposal *p, uint32_t code,
			     const char *msg, const struct rsm_result *res)
{
	struct reset_op *op = p->data;
	struct node *n = op->req.n;
	set_state(op, RESET_PROPOSING, RESET_SYNCING);
	if (code != RPC_OK) {
		reset_done(op, code, msg);
		return;
	}
	assert(res->reset != NULL);
	NODE_LOG(NODE_INFO, "reset",
		 "reset %" PRIu64 " of %s/%s to %s by %s: epoch %" PRIu64
		 ", %u queues",
		 res->reset->id, op->group, op->topic,
		 rsm_target_name(op->target), op->requester, res->reset->epoch,
		 res->reset->n);
	op->reset_id = res->reset->id;
	/* Answer once every hosting broker has applied the reset, so any
	 * fetch there sees the new epoch (DESIGN.md §2). */
	uint64_t ids[RSM_MAX_BROKERS];
	uint32_t nids = hosting_ids(op, ids);
	if (node_sync_start(n, node_applied_index(n), ids, nids, false,
			    on_synced, op) != 0)
		on_synced(op, false); /* out of memory: answer unsynced */
}

/* Dry run: the same entry applied to a scratch copy of the state, so it
 * cannot disagree with the real apply. */
static void dry_run(struct reset_op *op, struct raft_buffer buf)
{
	void *snap = NULL;
	size_t len = 0;
	struct rsm *copy = rsm_new();
	const struct rsm_result *r = NULL;
	int rv = copy ? rsm_snapshot(op->req.n->rsm, &snap, &len) : RSM_ENOMEM;
	if (rv == 0)
		rv = rsm_restore(copy, snap, len, NULL, 0);
	if (rv == 0)
		rv = rsm_apply(copy, buf.base, buf.len, &r);
	assert(op->state == RESET_GATHERING);
	if (rv != 0)
		reset_done(op, RPC_INTERNAL, "dry run failed: out of memory");
	else if (r->code != RSM_OK)
		reset_done(op, node_code_from_rsm(r->code), r->message);
	else
		reset_done(
		    op, reset_answer(op, r->reset, true, r->reset->epoch - 1),
		    "out of memory");
	free(snap);
	rsm_free(copy);
	raft_free(buf.base);
}

/* ---- GATHERING ---- */

/* How queue @i moves, from its bounds @s. */
static void move_of(const struct reset_op *op, const struct rsm_group *grp,
		    size_t i, const struct node_qstat *s,
		    struct rsm_reset_move *x)
{
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
		x->unset_base = grp && grp->initial == RSM_INITIAL_EARLIEST
				    ? s->min
				    : s->max;
		break;
	case RSM_TARGET_CURRENT: /* a shift by 0, at apply time */
		x->move = RSM_MOVE_SHIFT;
		x->value = 0;
		x->unset_base = grp && grp->initial == RSM_INITIAL_EARLIEST
				    ? s->min
				    : s->max;
		break;
	case RSM_TARGET_PLAN:
		x->value = (int64_t)op->given[i];
		break;
	case RSM_TARGET_UNDO:
		if (op->given[i] == RSM_OFFSET_NONE)
			x->move = RSM_MOVE_UNSET;
		else
			x->value = (int64_t)op->given[i];
		break;
	}
}

/* The RESET entry for the gathered bounds: RPC_OK, or a code with @err. */
static uint32_t reset_encode(struct reset_op *op, struct raft_buffer *buf,
			     char *err, size_t errlen)
{
	struct node_gather *g = &op->g;
	const struct rsm_group *grp = rsm_group_find(op->req.n->rsm, op->group);
	size_t nq = (size_t)g->n_brokers * g->qpb;
	struct rsm_reset_move *mv = calloc(nq ? nq : 1, sizeof *mv);
	if (mv == NULL) {
		snprintf(err, errlen, "out of memory");
		return RPC_INTERNAL;
	}
	uint32_t m = 0;
	for (size_t i = 0; i < nq; i++) {
		if (!op->want[i])
			continue;
		mv[m].broker = g->brokers[i / g->qpb];
		mv[m].queue_id = (uint32_t)(i % g->qpb);
		move_of(op, grp, i, &g->q[i], &mv[m++]);
	}
	struct rsm_reset_cmd cmd = {
	    op->now,	op->requester,	 op->group, op->topic,
	    op->target, op->value,	 m,	    mv,
	    op->expect, op->expect_epoch};
	int rv = rsm_encode_reset(&cmd, buf, err, errlen);
	free(mv);
	if (rv == RSM_ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rv == 0 ? RPC_OK : node_code_from_rsm(rv);
}

static void on_gathered(struct node_gather *g, bool ok)
{
	struct reset_op *op = g->data;
	struct raft_buffer buf;
	char err[256];
	assert(op->state == RESET_GATHERING);
	if (!ok) {
		reset_done(op, RPC_UNAVAILABLE, g->failed);
		return;
	}
	uint32_t code = reset_encode(op, &buf, err, sizeof err);
	if (code != RPC_OK) {
		reset_done(op, code, err);
		return;
	}
	if (op->dry_run) {
		dry_run(op, buf);
		return;
	}
	set_state(op, RESET_GATHERING, RESET_PROPOSING);
	op->p.data = op;
	code = node_propose(op->req.n, &op->p, buf, on_reset_applied);
	if (code != RPC_OK)
		reset_done(op, code,
			   "leadership changed while preparing the reset; "
			   "nothing was changed");
}

/* ---- NEW ---- */

/* A new op for a reset of @t (NULL after answering "out of memory"). */
static struct reset_op *reset_new(const struct node_req *req,
				  const struct rsm_topic *t, const char *group,
				  const char *requester)
{
	size_t nq = rsm_topic_queues(t);
	struct reset_op *op = node_req_op(req, sizeof *op);
	if (op == NULL)
		return NULL;
	op->want = calloc(nq ? nq : 1, sizeof *op->want);
	op->given = calloc(nq ? nq : 1, sizeof *op->given);
	if (op->want == NULL || op->given == NULL) {
		reset_done(op, RPC_INTERNAL, "out of memory");
		return NULL;
	}
	op->state = RESET_NEW;
	op->now = node_wall_ms();
	snprintf(op->group, sizeof op->group, "%s", group);
	snprintf(op->topic, sizeof op->topic, "%s", t->name);
	snprintf(op->requester, sizeof op->requester, "%s",
		 requester ? requester : "unknown");
	return op;
}

static void reset_start(struct reset_op *op, const struct rsm_topic *t)
{
	set_state(op, RESET_NEW, RESET_GATHERING);
	op->g.data = op;
	op->g.with_time =
	    op->target == RSM_TARGET_TIME || op->target == RSM_TARGET_DURATION;
	op->g.time =
	    op->target == RSM_TARGET_DURATION ? op->now - op->value : op->value;
	if (node_gather_start(op->req.n, &op->g, t, op->want, on_gathered) != 0)
		reset_done(op, RPC_INTERNAL, "out of memory");
}

/* ---- Checks before anything is asked ---- */

/* The guard, early: the group is still at the expected epoch (the entry's
 * apply checks it again, atomically). Answers STALE_EPOCH otherwise. */
static bool epoch_expected(const struct node_req *req,
			   const struct rsm_group *g,
			   const struct rpc_reset_req *q)
{
	const struct rsm_group_topic *gt = rsm_group_topic(g, q->topic);
	uint64_t now = gt ? gt->epoch : 0;
	if (!q->expect || now == q->expect_epoch)
		return true;
	node_req_fail(req, RPC_STALE_EPOCH,
		      "group '%s' is at epoch %" PRIu64 " on topic '%s', not "
		      "%" PRIu64 ": another reset came first; nothing was "
		      "changed",
		      q->group, now, q->topic, q->expect_epoch);
	return false;
}

static int parse_target(const char *s, enum rsm_target_kind *out)
{
	static const struct {
		const char *name;
		enum rsm_target_kind kind;
	} t[] = {
	    {"latest", RSM_TARGET_LATEST},   {"earliest", RSM_TARGET_EARLIEST},
	    {"time", RSM_TARGET_TIME},	     {"offset", RSM_TARGET_OFFSET},
	    {"shift", RSM_TARGET_SHIFT},     {"duration", RSM_TARGET_DURATION},
	    {"current", RSM_TARGET_CURRENT}, {"plan", RSM_TARGET_PLAN}};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].kind;
			return 0;
		}
	return -1;
}

static bool target_valid(const struct node_req *req,
			 const struct rpc_reset_req *q,
			 enum rsm_target_kind *target)
{
	if (parse_target(q->target, target) != 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "target '%s' is not one of latest, earliest, "
			      "time, offset, shift, duration, current, plan",
			      q->target);
		return false;
	}
	if (*target == RSM_TARGET_PLAN
		? q->queues.n == 0 || q->offsets.n != q->queues.n
		: q->offsets.n != 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "a plan gives one offset per named queue; other "
			      "targets give none");
		return false;
	}
	if ((*target == RSM_TARGET_OFFSET || *target == RSM_TARGET_DURATION) &&
	    q->value < 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT, "%s must be >= 0",
			      *target == RSM_TARGET_OFFSET ? "offset"
							   : "duration");
		return false;
	}
	return true;
}

/* Index of "broker:queue_id" in @t, or -1. */
static int64_t queue_index(const struct rsm_topic *t, const char *s)
{
	const char *colon = strrchr(s, ':');
	char broker[RSM_NAME_MAX + 1];
	size_t bl = colon ? (size_t)(colon - s) : 0;
	if (colon == NULL || bl == 0 || bl >= sizeof broker || colon[1] == '\0')
		return -1;
	memcpy(broker, s, bl);
	broker[bl] = '\0';
	char *end = NULL;
	unsigned long id = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || id > UINT32_MAX)
		return -1;
	return rsm_topic_queue_index(t, broker, (uint32_t)id);
}

/* Marks the named queues (all when none are named), with a plan's offset
 * for each; false if one is not a queue of @t or is named twice in a plan
 * (answered). */
static bool select_queues(const struct node_req *req, struct reset_op *op,
			  const struct rsm_topic *t, const struct rpc_strs *qs,
			  const struct rpc_u64s *offsets)
{
	size_t nq = rsm_topic_queues(t);
	for (uint32_t i = 0; i < qs->n; i++) {
		int64_t qi = queue_index(t, qs->v[i]);
		if (qi < 0) {
			node_req_fail(req, RPC_INVALID_ARGUMENT,
				      "queue '%s' is not a queue of topic '%s' "
				      "(write broker:queue_id)",
				      qs->v[i], t->name);
			return false;
		}
		if (offsets->n > 0 &&
		    (op->want[qi] || offsets->v[i] > (uint64_t)INT64_MAX)) {
			node_req_fail(req, RPC_INVALID_ARGUMENT,
				      "queue '%s': %s", qs->v[i],
				      op->want[qi] ? "in the plan twice"
						   : "offset out of range");
			return false;
		}
		op->want[qi] = true;
		if (offsets->n > 0)
			op->given[qi] = offsets->v[i];
	}
	for (size_t i = 0; qs->n == 0 && i < nq; i++)
		op->want[i] = true;
	return true;
}

void node_handle_reset(const struct node_req *req, const void *in)
{
	const struct rpc_reset_req *q = in;
	const struct rsm_group *g;
	const struct rsm_topic *t;
	enum rsm_target_kind target;
	if (!node_req_group_topic(req, q->group, q->topic, true, &g, &t) ||
	    !target_valid(req, q, &target) || !epoch_expected(req, g, q) ||
	    (q->require_inactive &&
	     !node_req_group_idle(req, q->group, "drop --require-inactive")))
		return;
	struct reset_op *op = reset_new(req, t, q->group, q->requester);
	if (op == NULL)
		return;
	op->target = target;
	op->value = q->value;
	op->dry_run = q->dry_run;
	op->expect = q->expect;
	op->expect_epoch = q->expect_epoch;
	if (!select_queues(req, op, t, &q->queues, &q->offsets)) {
		reset_done(op, RPC_OK, NULL); /* answered */
		return;
	}
	reset_start(op, t);
}

void node_handle_undo(const struct node_req *req, const void *in)
{
	const struct rpc_undo_req *q = in;
	const struct rsm_reset *rec = rsm_reset_find(req->n->rsm, q->reset_id);
	const struct rsm_group *g;
	const struct rsm_topic *t;
	if (rec == NULL) {
		node_req_fail(req, RPC_NOT_FOUND,
			      "reset %" PRIu64 " is not in the history",
			      q->reset_id);
		return;
	}
	if (!node_req_group_topic(req, rec->group, rec->topic, true, &g, &t))
		return;
	struct reset_op *op = reset_new(req, t, rec->group, q->requester);
	if (op == NULL)
		return;
	op->target = RSM_TARGET_UNDO;
	op->value = (int64_t)rec->id;
	for (uint32_t i = 0; i < rec->n; i++) {
		int64_t qi = rsm_topic_queue_index(t, rec->queues[i].broker,
						   rec->queues[i].queue_id);
		if (qi < 0)
			continue;
		op->want[qi] = true;
		op->given[qi] = rec->queues[i].previous;
	}
	reset_start(op, t);
}
