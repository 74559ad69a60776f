/*
 * reset_request.c — turns a RESET or UNDO request into a checked reset op
 * (reset_int.h): everything refused before any broker is asked.
 *
 * RESET: the group exists and is clustering; the topics — @topic and
 * @topics, or with all_topics every topic the group has offsets for or
 * online members read — exist, are named once, at most
 * RSM_RESET_TOPICS_MAX; the target is known and its value sane; a copy's
 * source group exists, is another clustering group; each topic's guard
 * (expect_epoch, expect_epochs) still holds (apply checks it again,
 * atomically); no member is online with require_inactive; the named
 * queues are queues of their topics (each named once in a plan).
 * UNDO: the reset is in the history; its group and topics still exist.
 */
#include <stdlib.h>
#include <string.h>

#include "members.h"
#include "auth.h"
#include "reset_int.h"

/* A topic the request names, with its guard. */
struct named {
	const char *name;
	int64_t expect; /* -1: no guard */
};

struct names {
	struct named v[RSM_RESET_TOPICS_MAX];
	uint32_t n;
};

/* Adds @name unless present (all_topics) — false when there are too many.
 * A group's retry and dead-letter topics are never among "all" (resets
 * leave them alone, DESIGN.md §2.2); a reset naming one moves it. */
static bool add_once(struct names *ns, const char *name)
{
	if (rsm_internal_group(name) != NULL)
		return true;
	for (uint32_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i].name, name) == 0)
			return true;
	if (ns->n == RSM_RESET_TOPICS_MAX)
		return false;
	ns->v[ns->n++] = (struct named){name, -1};
	return true;
}

/* Every topic @g has offsets for or an online member of @g reads. */
static bool all_topics(const struct node_req *req, const struct rsm_group *g,
		       struct names *ns)
{
	struct node *n = req->n;
	bool ok = true;
	for (uint32_t i = 0; i < g->n_topics && ok; i++)
		ok = add_once(ns, g->topics[i].topic);
	for (size_t i = 0; i < node_member_count(n) && ok; i++) {
		const struct node_member *m = node_member_at(n, i);
		for (uint32_t k = 0; k < m->n_topics && ok; k++)
			if (strcmp(m->group, g->name) == 0 &&
			    rsm_topic_find(n->rsm, m->topics[k]) != NULL)
				ok = add_once(ns, m->topics[k]);
	}
	if (!ok)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "group '%s' reads more topics than one reset may "
		    "move; name them with --topic",
		    g->name);
	if (ns->n == 0)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "group '%s' has no offsets and no online member on "
		    "any topic; name the topics with --topic",
		    g->name);
	return true;
}

/* The topics @q names, in its order, with their guards. */
static bool named_topics(const struct node_req *req,
			 const struct rpc_reset_req *q, struct names *ns)
{
	bool one = q->topic != NULL && q->topic[0] != '\0';
	uint32_t count = one + q->topics.n;
	if (count == 0 || count > RSM_RESET_TOPICS_MAX)
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "a reset names 1 to %d topics",
				       RSM_RESET_TOPICS_MAX);
	if (q->expect_epochs.n != 0 && q->expect_epochs.n != count)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "expect_epochs gives one epoch per topic");
	if (q->expect && count != 1)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "--expect-epoch guards a reset of one topic");
	for (uint32_t i = 0; i < count; i++) {
		uint64_t e =
		    q->expect_epochs.n ? q->expect_epochs.v[i] : UINT64_MAX;
		if (q->expect)
			e = q->expect_epoch;
		ns->v[i].name = one && i == 0 ? q->topic : q->topics.v[i - one];
		ns->v[i].expect = e > (uint64_t)INT64_MAX ? -1 : (int64_t)e;
	}
	ns->n = count;
	return true;
}

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name,
		      ((const struct named *)b)->name);
}

/* Sorted, each once, each a topic, each guard still holding. */
static bool topics_valid(const struct node_req *req, const struct rsm_group *g,
			 struct names *ns)
{
	qsort(ns->v, ns->n, sizeof *ns->v, cmp_named);
	for (uint32_t i = 0; i < ns->n; i++) {
		const char *t = ns->v[i].name;
		if (i > 0 && strcmp(ns->v[i - 1].name, t) == 0)
			return node_req_failed(req, RPC_INVALID_ARGUMENT,
					       "topic '%s' is named twice", t);
		if (rsm_topic_find(req->n->rsm, t) == NULL)
			return node_req_failed(req, RPC_UNKNOWN_TOPIC,
					       "topic '%s' does not exist", t);
		const struct rsm_group_topic *gt = rsm_group_topic(g, t);
		uint64_t now = gt ? gt->epoch : 0;
		if (ns->v[i].expect >= 0 && now != (uint64_t)ns->v[i].expect) {
			node_req_fail(
			    req, RPC_STALE_EPOCH,
			    "group '%s' is at epoch %llu on topic '%s', not "
			    "%lld: another reset came first; nothing was "
			    "changed",
			    g->name, (unsigned long long)now, t,
			    (long long)ns->v[i].expect);
			return false;
		}
	}
	return true;
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
	    {"current", RSM_TARGET_CURRENT}, {"plan", RSM_TARGET_PLAN},
	    {"group", RSM_TARGET_GROUP}};
	for (size_t i = 0; s != NULL && i < sizeof t / sizeof t[0]; i++)
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].kind;
			return 0;
		}
	return -1;
}

/* A copy's source: another clustering group that exists. */
static bool source_valid(const struct node_req *req,
			 const struct rpc_reset_req *q, bool copy)
{
	const char *src = q->source_group;
	bool named = src != NULL && src[0] != '\0';
	const struct rsm_group *s =
	    named ? rsm_group_find(req->n->rsm, src) : NULL;
	if (named != copy)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "source_group goes with the target 'group', and "
		    "only with it");
	if (!copy)
		return true;
	/* Copying reads the source's offsets: a right on it too. */
	if (!node_req_reads_group(req, src))
		return false;
	if (s == NULL)
		return node_req_failed(
		    req, RPC_UNKNOWN_GROUP,
		    "group '%s' does not exist (the group to copy)", src);
	if (strcmp(src, q->group) == 0)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "--to-group names the group being reset ('%s')", src);
	if (s->mode != RSM_CLUSTERING)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "group '%s' is broadcasting: it has no offsets in "
		    "the cluster to copy",
		    src);
	return true;
}

static bool target_valid(const struct node_req *req,
			 const struct rpc_reset_req *q,
			 enum rsm_target_kind *target)
{
	if (parse_target(q->target, target) != 0)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "target '%s' is not one of latest, earliest, time, "
		    "offset, shift, duration, current, plan, group",
		    q->target ? q->target : "");
	if (*target == RSM_TARGET_PLAN
		? q->queues.n == 0 || q->offsets.n != q->queues.n
		: q->offsets.n != 0)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "a plan gives one offset per named queue; other "
		    "targets give none");
	if ((*target == RSM_TARGET_OFFSET || *target == RSM_TARGET_DURATION) &&
	    q->value < 0)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT, "%s must be >= 0",
		    *target == RSM_TARGET_OFFSET ? "offset" : "duration");
	return source_valid(req, q, *target == RSM_TARGET_GROUP);
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

/* The part of @op for topic @name, or NULL. */
static struct reset_part *part_of(struct reset_op *op, const char *name)
{
	for (uint32_t k = 0; name != NULL && k < op->n_parts; k++)
		if (strcmp(op->parts[k].topic, name) == 0)
			return &op->parts[k];
	return NULL;
}

/* Marks named queue @i of @q (with its plan offset); false if answered. */
static bool select_one(const struct node_req *req, struct reset_op *op,
		       const struct rpc_reset_req *q, uint32_t i)
{
	const char *qs = q->queues.v[i];
	const char *tn = q->queue_topics.n  ? q->queue_topics.v[i]
			 : op->n_parts == 1 ? op->parts[0].topic
					    : NULL;
	struct reset_part *p = part_of(op, tn);
	if (tn == NULL)
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "queue '%s': with several topics each "
				       "queue names its topic",
				       qs);
	if (p == NULL)
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "queue '%s' is of topic '%s', which is "
				       "not reset",
				       qs, tn);
	const struct rsm_topic *t = rsm_topic_find(req->n->rsm, p->topic);
	int64_t qi = queue_index(t, qs);
	if (qi < 0)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "queue '%s' is not a queue of topic '%s' (write "
		    "broker:queue_id)",
		    qs, p->topic);
	bool plan = q->offsets.n > 0;
	if (plan && (p->want[qi] || q->offsets.v[i] > (uint64_t)INT64_MAX))
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT, "queue '%s': %s", qs,
		    p->want[qi] ? "in the plan twice" : "offset out of range");
	p->want[qi] = true;
	if (plan)
		p->given[qi] = q->offsets.v[i];
	return true;
}

/* Marks the named queues (all of every topic when none are named). */
static bool select_queues(const struct node_req *req, struct reset_op *op,
			  const struct rpc_reset_req *q)
{
	if (q->queue_topics.n != 0 && q->queue_topics.n != q->queues.n)
		return node_req_failed(
		    req, RPC_INVALID_ARGUMENT,
		    "queue_topics names one topic per queue");
	for (uint32_t i = 0; i < q->queues.n; i++)
		if (!select_one(req, op, q, i))
			return false;
	for (uint32_t k = 0; k < op->n_parts; k++) {
		struct reset_part *p = &op->parts[k];
		const struct rsm_topic *t =
		    rsm_topic_find(req->n->rsm, p->topic);
		bool any = false;
		for (size_t i = 0; i < rsm_topic_queues(t); i++)
			any |= p->want[i] || q->queues.n == 0;
		for (size_t i = 0; q->queues.n == 0 && i < rsm_topic_queues(t);
		     i++)
			p->want[i] = true;
		if (!any)
			return node_req_failed(
			    req, RPC_INVALID_ARGUMENT,
			    "topic '%s' has none of the named queues",
			    p->topic);
	}
	return true;
}

/* The op of @q's checked topics @ns; NULL when answered. */
static struct reset_op *build(const struct node_req *req,
			      const struct rpc_reset_req *q,
			      const struct names *ns,
			      enum rsm_target_kind target)
{
	struct reset_op *op =
	    node_reset_new(req, q->group, q->requester, ns->n);
	if (op == NULL)
		return NULL;
	op->target = target;
	op->value = q->value;
	op->dry_run = q->dry_run;
	snprintf(op->source, sizeof op->source, "%s",
		 q->source_group ? q->source_group : "");
	for (uint32_t i = 0; i < ns->n; i++) {
		struct reset_part *p = node_reset_add(
		    op, rsm_topic_find(req->n->rsm, ns->v[i].name));
		if (p == NULL) {
			node_reset_done(op, RPC_INTERNAL, "out of memory");
			return NULL;
		}
		p->expect = ns->v[i].expect >= 0;
		p->expect_epoch = p->expect ? (uint64_t)ns->v[i].expect : 0;
	}
	if (!select_queues(req, op, q)) {
		node_reset_done(op, RPC_OK, NULL); /* answered */
		return NULL;
	}
	return op;
}

struct reset_op *node_reset_of_request(const struct node_req *req,
				       const struct rpc_reset_req *q)
{
	const struct rsm_group *g = rsm_group_find(req->n->rsm, q->group);
	struct names ns = {.n = 0};
	enum rsm_target_kind target = RSM_TARGET_LATEST;
	if (!node_req_group_clustering(req, q->group, &g))
		return NULL;
	if (q->all_topics && (q->topic != NULL || q->topics.n != 0 ||
			      q->expect || q->expect_epochs.n != 0)) {
		node_req_failed(req, RPC_INVALID_ARGUMENT,
				"all_topics names no topic and takes no guard");
		return NULL;
	}
	if (!(q->all_topics ? all_topics(req, g, &ns)
			    : named_topics(req, q, &ns)) ||
	    !topics_valid(req, g, &ns) || !target_valid(req, q, &target) ||
	    (q->require_inactive &&
	     !node_req_group_idle(req, q->group, "drop --require-inactive")))
		return NULL;
	return build(req, q, &ns, target);
}

/* Marks the queues record @rec moved, to go back to their previous
 * offsets. */
static void undo_part(struct reset_part *p, const struct rsm_topic *t,
		      const struct rsm_reset *rec)
{
	for (uint32_t i = 0; i < rec->n; i++) {
		int64_t qi = rsm_topic_queue_index(t, rec->queues[i].broker,
						   rec->queues[i].queue_id);
		if (qi < 0)
			continue;
		p->want[qi] = true;
		p->given[qi] = rec->queues[i].previous;
	}
}

struct reset_op *node_reset_of_undo(const struct node_req *req,
				    const struct rpc_undo_req *q)
{
	uint32_t n = 0;
	const struct rsm_reset *rec =
	    rsm_reset_find(req->n->rsm, q->reset_id, &n);
	const struct rsm_group *g;
	if (rec == NULL) {
		node_req_fail(req, RPC_NOT_FOUND,
			      "reset %llu is not in the history",
			      (unsigned long long)q->reset_id);
		return NULL;
	}
	if (!node_req_allowed(req, TOKENS_RESET, rec->group) ||
	    !node_req_group_clustering(req, rec->group, &g))
		return NULL;
	for (uint32_t k = 0; k < n; k++)
		if (rsm_topic_find(req->n->rsm, rec[k].topic) == NULL) {
			node_req_failed(req, RPC_UNKNOWN_TOPIC,
					"topic '%s' does not exist any more",
					rec[k].topic);
			return NULL;
		}
	struct reset_op *op = node_reset_new(req, rec->group, q->requester, n);
	if (op == NULL)
		return NULL;
	op->target = RSM_TARGET_UNDO;
	op->value = (int64_t)rec->id;
	for (uint32_t k = 0; k < n; k++) {
		const struct rsm_topic *t =
		    rsm_topic_find(req->n->rsm, rec[k].topic);
		struct reset_part *p = node_reset_add(op, t);
		if (p == NULL) {
			node_reset_done(op, RPC_INTERNAL, "out of memory");
			return NULL;
		}
		undo_part(p, t, &rec[k]);
	}
	return op;
}
