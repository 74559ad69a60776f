/*
 * reset.c — the reset coordinator (leader): RESET and UNDO, each a state
 * machine over one struct reset_op of one or several topics (parts).
 *
 *   NEW ──start──► GATHERING ──every broker of every topic answered──►
 *   PROPOSING ──applied──► SYNCING ──hosting brokers applied──►
 *   CONFIRMING ──no member can deliver from before it──► DONE
 *   GATHERING ──dry run──► DONE (the entry applied to a scratch copy)
 *
 * Happy path: reset_request.c checks the request and builds the op (its
 * topics, queues, guards) → gather every selected queue's bounds (and
 * offset for the time) from its hosting brokers, all topics in parallel →
 * ONE entry with every queue's move of every topic → applied (each topic's
 * epoch + 1, one history record per topic under one id) → wait until the
 * hosting brokers applied it (their fetches then see the new epochs) →
 * push RESET_NOTICE to online members → wait until they confirmed the new
 * epochs, or their leases ran out (member_wait.c: what a member fetched
 * before is past the brokers' fence) → answer: every topic, and for one
 * topic also the Huawei shape at the top. UNDO is the same machine with
 * the target "undo"; "current" is a shift by 0; "plan" moves each named
 * queue to the offset given with it; "group" copies another group's
 * offsets at apply time (queues it never committed are kept, "skipped").
 *
 * Failure modes: a broker that cannot answer → UNAVAILABLE naming it (and
 * its topic), nothing proposed; this node no longer leader when proposing
 * → NOT_LEADER, nothing proposed; leadership lost before the entry
 * applied → UNAVAILABLE saying the outcome is unknown; a hosting broker
 * slow to apply → answered after NODE_SYNC_LIMIT_MS with a warning logged
 * (the epoch fences its fetches once it applies). Every path ends in
 * node_reset_done, which answers errors and frees the op exactly once.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "reset_int.h"

static void set_state(struct reset_op *op, enum reset_state from,
		      enum reset_state to)
{
	assert(op->state == from);
	(void)from;
	op->state = to;
}

void node_reset_done(struct reset_op *op, uint32_t code, const char *msg)
{
	assert(op->state != RESET_DONE);
	/* Nothing proposed, and a broker that could not answer (down,
	 * restarting, behind): the same reset may go again (retry). */
	bool retry = code == RPC_UNAVAILABLE &&
		     (op->state == RESET_NEW || op->state == RESET_GATHERING);
	op->state = RESET_DONE;
	const char *result = code != RPC_OK ? rpc_code_name(code)
			     : op->dry_run  ? "dry_run"
					    : "applied";
	for (uint32_t k = 0; k < op->n_parts; k++)
		node_resets_count(op->req.n, op->group, op->parts[k].topic,
				  result ? result : "INTERNAL");
	if (retry)
		node_req_refuse(&op->req, code, "%s", msg);
	else if (code != RPC_OK)
		node_req_fail(&op->req, code, "%s", msg);
	node_gather_free(&op->backlog);
	for (uint32_t k = 0; k < op->n_parts; k++) {
		node_gather_free(&op->parts[k].g);
		free(op->parts[k].want);
		free(op->parts[k].given);
	}
	free(op->parts);
	free(op);
}

struct reset_op *node_reset_new(const struct node_req *req, const char *group,
				const char *requester, uint32_t n_topics)
{
	assert(n_topics >= 1 && n_topics <= RSM_RESET_TOPICS_MAX);
	struct reset_op *op = node_req_op(req, sizeof *op);
	if (op == NULL)
		return NULL;
	op->state = RESET_NEW;
	op->parts = calloc(n_topics, sizeof *op->parts);
	if (op->parts == NULL) {
		node_reset_done(op, RPC_INTERNAL, "out of memory");
		return NULL;
	}
	op->cap_parts = n_topics;
	op->now = node_wall_ms();
	snprintf(op->group, sizeof op->group, "%s", group);
	node_req_requester(req, requester, op->requester, sizeof op->requester);
	return op;
}

struct reset_part *node_reset_add(struct reset_op *op,
				  const struct rsm_topic *t)
{
	assert(op->n_parts < op->cap_parts);
	assert(op->n_parts == 0 ||
	       strcmp(op->parts[op->n_parts - 1].topic, t->name) < 0);
	size_t nq = rsm_topic_queues(t);
	struct reset_part *p = &op->parts[op->n_parts++];
	p->op = op;
	snprintf(p->topic, sizeof p->topic, "%s", t->name);
	p->want = calloc(nq ? nq : 1, sizeof *p->want);
	p->given = calloc(nq ? nq : 1, sizeof *p->given);
	return p->want && p->given ? p : NULL;
}

/* ---- Answering ---- */

/* The answer's view of one queue of a record: a queue an undo returned to
 * "no committed offset" shows where @g's initial rule starts it now. */
static struct rpc_reset_queue answer_queue(const struct rsm_group *g,
					   const char *topic,
					   const struct rsm_reset_queue *x)
{
	bool unset = x->offset == RSM_OFFSET_NONE;
	uint64_t at = x->offset;
	if (unset)
		at = g && rsm_starts_earliest(g, topic) ? x->min_offset
							: x->max_offset;
	return (struct rpc_reset_queue){x->broker,   x->queue_id, at,
					x->previous, x->clamped,  unset,
					x->skipped};
}

/* Answers with the @n records from @r (one per topic) and the brokers
 * that had not applied it (@lagging): RPC_OK or INTERNAL. A dry run's
 * epochs are those before it. */
static uint32_t reset_answer(struct reset_op *op, const struct rsm_reset *r,
			     uint32_t n, bool dry_run, struct rpc_strs lagging)
{
	const struct rsm_group *g = rsm_group_find(op->req.n->rsm, op->group);
	size_t total = 0;
	for (uint32_t k = 0; k < n; k++)
		total += r[k].n;
	struct rpc_reset_queue *q = calloc(total ? total : 1, sizeof *q);
	struct rpc_reset_topic *t = calloc(n ? n : 1, sizeof *t);
	if (q == NULL || t == NULL) {
		free(q);
		free(t);
		return RPC_INTERNAL;
	}
	struct rpc_reset_queue *at = q;
	for (uint32_t k = 0; k < n; k++) {
		t[k] = (struct rpc_reset_topic){r[k].topic,
						dry_run ? r[k].epoch - 1
							: r[k].epoch,
						{at, r[k].n}};
		for (uint32_t i = 0; i < r[k].n; i++)
			*at++ = answer_queue(g, r[k].topic, &r[k].queues[i]);
	}
	struct rpc_reset_resp resp = {
	    .reset_id = dry_run ? 0 : r[0].id,
	    .dry_run = dry_run,
	    .group = op->group,
	    .topics = {t, n},
	    .source_group = op->source[0] ? op->source : NULL,
	    .lagging = lagging,
	    .retry_pending = op->retry_pending,
	    .scheduled_pending = op->scheduled_pending};
	if (n == 1) {
		resp.epoch = t[0].epoch;
		resp.queues = t[0].queues;
		resp.topic = t[0].topic;
	}
	node_req_ok(&op->req, &resp);
	free(q);
	free(t);
	return RPC_OK;
}

/* ---- SYNCING ---- */

/* The names of brokers @ids into @names; logs them. */
static uint32_t lagging_names(struct reset_op *op, const uint64_t *ids,
			      uint32_t n, const char **names)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct rsm_broker *b =
		    rsm_broker_by_id(op->req.n->rsm, ids[i]);
		if (b == NULL)
			continue;
		names[k++] = b->name;
		NODE_LOG(NODE_WARN, "reset",
			 "reset %" PRIu64 ": broker %s had not applied it "
			 "after %d ms; it serves no fetch until it has",
			 op->reset_id, b->name, NODE_SYNC_LIMIT_MS);
	}
	return k;
}

/* The reset's records (one per topic), or NULL after answering INTERNAL. */
static const struct rsm_reset *records(struct reset_op *op, uint32_t *nrec)
{
	const struct rsm_reset *rec =
	    rsm_reset_find(op->req.n->rsm, op->reset_id, nrec);
	if (rec == NULL)
		node_reset_done(op, RPC_INTERNAL,
				"the reset left the history before it was "
				"answered");
	return rec;
}

/* ---- CONFIRMING ---- */

static void on_confirmed(void *data, uint32_t unconfirmed)
{
	struct reset_op *op = data;
	const char *names[RSM_MAX_BROKERS];
	uint32_t nrec = 0,
		 nl = lagging_names(op, op->lagging, op->n_lagging, names);
	assert(op->state == RESET_CONFIRMING);
	if (unconfirmed > 0)
		NODE_LOG(NODE_INFO, "reset",
			 "reset %" PRIu64 ": %u member(s) of %s did not "
			 "confirm it; answered once their leases ran out",
			 op->reset_id, unconfirmed, op->group);
	const struct rsm_reset *rec = records(op, &nrec);
	if (rec != NULL)
		node_reset_done(op,
				reset_answer(op, rec, nrec, false,
					     (struct rpc_strs){names, nl}),
				"out of memory");
}

static void on_synced(void *data, const uint64_t *lagging, uint32_t n_lagging)
{
	struct reset_op *op = data;
	struct node *n = op->req.n;
	uint32_t nrec = 0;
	set_state(op, RESET_SYNCING, RESET_CONFIRMING);
	assert(n_lagging <= RSM_MAX_BROKERS);
	memcpy(op->lagging, lagging, n_lagging * sizeof *lagging);
	op->n_lagging = n_lagging;
	const struct rsm_reset *rec = records(op, &nrec);
	if (rec == NULL)
		return;
	/* Online members move now rather than at their next fetch, and
	 * confirm with a heartbeat. */
	const char *topics[RSM_RESET_TOPICS_MAX];
	uint64_t epochs[RSM_RESET_TOPICS_MAX];
	assert(nrec <= RSM_RESET_TOPICS_MAX);
	for (uint32_t k = 0; k < nrec; k++) {
		node_groups_notify_reset(n, &rec[k]);
		topics[k] = rec[k].topic;
		epochs[k] = rec[k].epoch;
	}
	if (node_members_wait(n, op->group, topics, epochs, nrec, on_confirmed,
			      op) != 0)
		node_reset_done(op, RPC_INTERNAL,
				"out of memory (the reset is applied)");
}

/* The hosting brokers of the selected queues of every part, as node ids
 * (each once). */
/* Adds broker @name's id to @ids (once). */
static void add_id(const struct rsm *rsm, const char *name, uint64_t *ids,
		   uint32_t *nids)
{
	const struct rsm_broker *br = rsm_broker_by_name(rsm, name);
	for (uint32_t j = 0; br != NULL && j < *nids; j++)
		if (ids[j] == br->id)
			return;
	if (br != NULL && *nids < RSM_MAX_BROKERS)
		ids[(*nids)++] = br->id;
}

/* Every broker holding a replica of a reset queue: whichever of them
 * leads it, now or after a failover, serves fetches fenced by the new
 * epoch only once it has applied the reset. */
static uint32_t hosting_ids(struct reset_op *op, uint64_t *ids)
{
	const struct rsm *rsm = op->req.n->rsm;
	uint32_t nids = 0;
	for (uint32_t k = 0; k < op->n_parts; k++) {
		const struct reset_part *p = &op->parts[k];
		const struct rsm_topic *t = rsm_topic_find(rsm, p->g.topic);
		size_t nq = (size_t)p->g.n_brokers * p->g.qpb;
		if (t == NULL || rsm_topic_queues(t) != nq)
			continue;
		for (uint32_t qi = 0; qi < nq; qi++) {
			const struct rsm_replicas *r =
			    rsm_queue_replicas(t, qi);
			for (uint32_t i = 0; p->want[qi] && i < r->n; i++)
				add_id(rsm, rsm_replica_broker(t, r, i), ids,
				       &nids);
		}
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
		node_reset_done(op, code, msg);
		return;
	}
	assert(res->reset != NULL && res->n_reset == op->n_parts);
	for (uint32_t k = 0; k < res->n_reset; k++)
		NODE_LOG(NODE_INFO, "reset",
			 "reset %" PRIu64
			 " of %s/%s to %s by %s: epoch %" PRIu64 ", %u queues",
			 res->reset[k].id, op->group, res->reset[k].topic,
			 rsm_target_name(op->target), op->requester,
			 res->reset[k].epoch, res->reset[k].n);
	op->reset_id = res->reset->id;
	/* Answer once every hosting broker has applied the reset, so any
	 * fetch there sees the new epoch (DESIGN.md §2). */
	uint64_t ids[RSM_MAX_BROKERS];
	uint32_t nids = hosting_ids(op, ids);
	if (node_sync_start(n, node_proposal_index(p), ids, nids, false,
			    on_synced, op) != 0)
		on_synced(op, ids, nids); /* out of memory: none confirmed */
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
		node_reset_done(op, RPC_INTERNAL,
				"dry run failed: out of memory");
	else if (r->code != RSM_OK)
		node_reset_done(op, node_code_from_rsm(r->code), r->message);
	else
		node_reset_done(op,
				reset_answer(op, r->reset, r->n_reset, true,
					     (struct rpc_strs){NULL, 0}),
				"out of memory");
	free(snap);
	rsm_free(copy);
	raft_free(buf.base);
}

/* ---- GATHERING ---- */

/* Where a queue never committed starts (the group's initial rule). */
static uint64_t unset_base(const struct rsm_group *grp, const char *topic,
			   const struct node_qstat *s)
{
	return grp && rsm_starts_earliest(grp, topic) ? s->min : s->max;
}

/* How queue @i of part @p moves, from its bounds @s. */
static void move_of(const struct reset_op *op, const struct reset_part *p,
		    const struct rsm_group *grp, size_t i,
		    const struct node_qstat *s, struct rsm_reset_move *x)
{
	x->move = RSM_MOVE_ABSOLUTE;
	x->min_offset = s->min;
	x->max_offset = s->max;
	x->unset_base = unset_base(grp, p->topic, s);
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
	case RSM_TARGET_SHIFT:	 /* never committed: from where it starts */
	case RSM_TARGET_CURRENT: /* a shift by 0, at apply time */
		x->move = RSM_MOVE_SHIFT;
		x->value = op->target == RSM_TARGET_SHIFT ? op->value : 0;
		break;
	case RSM_TARGET_GROUP: /* the source's offset, at apply time */
		x->move = RSM_MOVE_COPY;
		break;
	case RSM_TARGET_PLAN:
		x->value = (int64_t)p->given[i];
		break;
	case RSM_TARGET_UNDO:
		if (p->given[i] == RSM_OFFSET_NONE)
			x->move = RSM_MOVE_UNSET;
		else
			x->value = (int64_t)p->given[i];
		break;
	}
}

/* The moves of part @p into @mv (room for all its queues): the count. */
static uint32_t part_moves(const struct reset_op *op,
			   const struct reset_part *p,
			   const struct rsm_group *grp,
			   struct rsm_reset_move *mv)
{
	const struct node_gather *g = &p->g;
	size_t nq = (size_t)g->n_brokers * g->qpb;
	uint32_t m = 0;
	for (size_t i = 0; i < nq; i++) {
		if (!p->want[i])
			continue;
		mv[m].broker = g->brokers[i / g->qpb];
		mv[m].queue_id = (uint32_t)(i % g->qpb);
		move_of(op, p, grp, i, &g->q[i], &mv[m++]);
	}
	return m;
}

/* The entry for the gathered bounds: RPC_OK, or a code with @err. */
static uint32_t reset_encode(struct reset_op *op, struct raft_buffer *buf,
			     char *err, size_t errlen)
{
	const struct rsm_group *grp = rsm_group_find(op->req.n->rsm, op->group);
	struct rsm_reset_part *parts = calloc(op->n_parts, sizeof *parts);
	struct rsm_reset_move **mv = calloc(op->n_parts, sizeof *mv);
	int rv = parts && mv ? 0 : RSM_ENOMEM;
	for (uint32_t k = 0; k < op->n_parts && rv == 0; k++) {
		const struct reset_part *p = &op->parts[k];
		size_t nq = (size_t)p->g.n_brokers * p->g.qpb;
		mv[k] = calloc(nq ? nq : 1, sizeof **mv);
		if (mv[k] == NULL)
			rv = RSM_ENOMEM;
		else
			parts[k] = (struct rsm_reset_part){
			    p->topic, part_moves(op, p, grp, mv[k]), mv[k],
			    p->expect, p->expect_epoch};
	}
	struct rsm_reset_cmd cmd = {
	    op->now,	 op->requester, op->group,
	    op->target,	 op->value,	op->source[0] ? op->source : NULL,
	    op->n_parts, parts};
	if (rv == 0)
		rv = rsm_encode_reset(&cmd, buf, err, errlen);
	for (uint32_t k = 0; mv != NULL && k < op->n_parts; k++)
		free(mv[k]);
	free(mv);
	free(parts);
	if (rv == RSM_ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rv == 0 ? RPC_OK : node_code_from_rsm(rv);
}

/* Every gather is done: propose (or dry-run) the entry. */
/* Records scheduled for the queues the reset moves. */
static uint64_t scheduled_of(const struct reset_op *op)
{
	uint64_t sum = 0;
	for (uint32_t k = 0; k < op->n_parts; k++) {
		const struct reset_part *p = &op->parts[k];
		size_t nq = (size_t)p->g.n_brokers * p->g.qpb;
		for (size_t i = 0; i < nq; i++)
			if ((p->want == NULL || p->want[i]) && p->g.q[i].known)
				sum += p->g.q[i].scheduled;
	}
	return sum;
}

static void gathered(struct reset_op *op)
{
	struct raft_buffer buf;
	char err[256];
	op->scheduled_pending = op->failed[0] ? 0 : scheduled_of(op);
	if (op->failed[0] != '\0') {
		node_reset_done(op, op->failed_code, op->failed);
		return;
	}
	uint32_t code = reset_encode(op, &buf, err, sizeof err);
	if (code != RPC_OK) {
		node_reset_done(op, code, err);
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
		node_reset_done(op, code,
				"leadership changed while preparing the "
				"reset; nothing was changed");
}

static void on_gathered(struct node_gather *g, bool ok)
{
	struct reset_part *p = g->data;
	struct reset_op *op = p->op;
	assert(op->state == RESET_GATHERING && op->gathering > 0);
	if (!ok && op->failed[0] == '\0') {
		op->failed_code = RPC_UNAVAILABLE;
		snprintf(op->failed, sizeof op->failed,
			 "%s (topic %s); nothing was changed", g->failed,
			 p->topic);
	}
	if (--op->gathering == 0)
		gathered(op);
}

/* The group's retry topic gathered: what waits there for it. */
static void on_backlog(struct node_gather *g, bool ok)
{
	struct reset_op *op = g->data;
	const struct rsm_group *grp = rsm_group_find(op->req.n->rsm, op->group);
	assert(op->state == RESET_GATHERING && op->gathering > 0);
	(void)ok; /* partial: a broker that did not answer adds nothing */
	op->retry_pending = grp ? node_gather_backlog(g, grp, true) : 0;
	if (--op->gathering == 0)
		gathered(op);
}

/* Gathers the group's retry topic with the parts, unless it has none or
 * the reset moves it. */
static void backlog_start(struct reset_op *op)
{
	struct node *n = op->req.n;
	const struct rsm_group *g = rsm_group_find(n->rsm, op->group);
	char name[RSM_NAME_MAX + 1];
	if (g == NULL || g->retry.n_delays == 0)
		return;
	rsm_retry_topic(name, g->name);
	const struct rsm_topic *t = rsm_topic_find(n->rsm, name);
	for (uint32_t k = 0; t != NULL && k < op->n_parts; k++)
		if (strcmp(op->parts[k].topic, name) == 0)
			return;
	op->backlog.data = op;
	op->backlog.partial = true;
	if (t != NULL &&
	    node_gather_start(n, &op->backlog, t, NULL, on_backlog) == 0)
		op->gathering++;
}

void node_reset_start(struct reset_op *op)
{
	set_state(op, RESET_NEW, RESET_GATHERING);
	op->gathering = op->n_parts + 1; /* held until every gather is out */
	backlog_start(op);
	for (uint32_t k = 0; k < op->n_parts; k++) {
		struct reset_part *p = &op->parts[k];
		const struct rsm_topic *t =
		    rsm_topic_find(op->req.n->rsm, p->topic);
		assert(t != NULL); /* checked this loop turn */
		p->g.data = p;
		p->g.with_time = op->target == RSM_TARGET_TIME ||
				 op->target == RSM_TARGET_DURATION;
		p->g.time = op->target == RSM_TARGET_DURATION
				? op->now - op->value
				: op->value;
		if (node_gather_start(op->req.n, &p->g, t, p->want,
				      on_gathered) != 0) {
			op->failed_code = RPC_INTERNAL;
			snprintf(op->failed, sizeof op->failed,
				 "out of memory");
			op->gathering--;
		}
	}
	if (--op->gathering == 0)
		gathered(op);
}

void node_handle_reset(const struct node_req *req, const void *in)
{
	struct reset_op *op = node_reset_of_request(req, in);
	if (op != NULL)
		node_reset_start(op);
}

void node_handle_undo(const struct node_req *req, const void *in)
{
	struct reset_op *op = node_reset_of_undo(req, in);
	if (op != NULL)
		node_reset_start(op);
}
