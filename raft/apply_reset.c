/*
 * apply_reset.c — applies a reset entry: RSM_CMD_RESET (one topic, the
 * form every raftq version reads) and RSM_CMD_RESET_TOPICS (several
 * topics, or a copy of another group). Both become one list of parts, one
 * per topic, applied by apply_parts.
 *
 * All or nothing: the group, the source group, every topic, every guard
 * and every move are checked, and every allocation is made, before the
 * first offset moves. Then one id is taken, each topic's epoch increments,
 * and one history record per topic is appended (same id, topics
 * ascending).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm_int.h"

struct move_item {
	char broker[RSM_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t move;
	int64_t value;
	uint64_t min, max, unset_base;
	int64_t qi;	      /* set by check_moves */
	const char *interned; /* broker, as the history keeps it (reserve) */
};

/* One topic of the entry. */
struct part_item {
	char topic[RSM_NAME_MAX + 1];
	struct move_item *mv;
	uint32_t n;
	int64_t expect; /* the guard's epoch; -1 for none */
	const struct rsm_topic *t;
	struct rsm_reset_queue *queues; /* the record's, reserved */
};

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi, bool *clamped)
{
	*clamped = v < lo || v > hi;
	return v < lo ? lo : v > hi ? hi : v;
}

static int cmp_queue(const void *a, const void *b)
{
	const struct rsm_reset_queue *x = a, *y = b;
	int c = x->broker == y->broker ? 0 : strcmp(x->broker, y->broker);
	if (c != 0)
		return c;
	return x->queue_id < y->queue_id ? -1 : x->queue_id > y->queue_id;
}

static void parts_free(struct part_item *p, uint32_t n)
{
	for (uint32_t k = 0; p != NULL && k < n; k++) {
		free(p[k].mv);
		free(p[k].queues);
	}
	free(p);
}

/* ---- Decoding ---- */

static bool decode_move(struct rsm__rd *x, void *elem)
{
	struct move_item *m = elem;
	rsm__rd_str(x, m->broker, RSM_NAME_MAX);
	uint64_t q = rsm__rd_u64(x);
	m->move = rsm__rd_u64(x);
	m->value = rsm__rd_i64(x);
	m->min = rsm__rd_u64(x);
	m->max = rsm__rd_u64(x);
	m->unset_base = rsm__rd_u64(x);
	m->queue_id = (uint32_t)q;
	return q <= UINT32_MAX && m->move <= RSM_MOVE_COPY;
}

/* The moves list of @r, then an optional guard epoch closing @r: true
 * when both decode (p->mv set, p->n > 0). */
static bool decode_part_moves(struct rsm__rd *r, struct part_item *p,
			      int64_t *nomem)
{
	struct rsm__rd list;
	rsm__rd_array(r, &list);
	p->expect = -1;
	if (r->err == NULL && r->i < r->n) {
		uint64_t e = rsm__rd_u64(r);
		p->expect = e > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)e;
	}
	if (!rsm__rd_done(r))
		return false;
	int64_t n = rsm__decode_list(&list, sizeof *p->mv, decode_move,
				     (void **)&p->mv);
	*nomem = n < 0;
	p->n = n > 0 ? (uint32_t)n : 0;
	return n > 0;
}

/* The header both forms share, after the group: target and value. */
static bool decode_target(struct rsm__rd *r, struct rsm_reset *h)
{
	uint64_t target = rsm__rd_u64(r);
	h->target_value = rsm__rd_i64(r);
	h->target = (enum rsm_target_kind)target;
	return r->err == NULL && target <= RSM_TARGET_LAST;
}

/* RSM_CMD_RESET: [time, requester, group, topic, target, value, moves,
 * (guard)]. The part count (1), 0 for bad bytes, -1 out of memory. */
static int64_t decode_one(struct rsm__rd *r, struct rsm_reset *h,
			  struct part_item **out)
{
	int64_t nomem = 0;
	struct part_item *p = calloc(1, sizeof *p);
	if (p == NULL)
		return -1;
	h->time = rsm__rd_i64(r);
	rsm__rd_str(r, h->requester, RSM_TEXT_MAX);
	rsm__rd_str(r, h->group, RSM_NAME_MAX);
	rsm__rd_str(r, p->topic, RSM_NAME_MAX);
	if (!decode_target(r, h) || !decode_part_moves(r, p, &nomem)) {
		parts_free(p, 1);
		return nomem ? -1 : 0;
	}
	*out = p;
	return 1;
}

/* RSM_CMD_RESET_TOPICS: [time, requester, group, target, value, source,
 * [[topic, moves, (guard)], ...]]. The part count, 0, or -1. */
static int64_t decode_topics(struct rsm__rd *r, struct rsm_reset *h,
			     struct part_item **out)
{
	struct rsm__rd list;
	int64_t nomem = 0;
	h->time = rsm__rd_i64(r);
	rsm__rd_str(r, h->requester, RSM_TEXT_MAX);
	rsm__rd_str(r, h->group, RSM_NAME_MAX);
	bool ok = decode_target(r, h);
	rsm__rd_str(r, h->source, RSM_NAME_MAX);
	rsm__rd_array(r, &list);
	if (!ok || !rsm__rd_done(r) || list.n == 0 ||
	    list.n > RSM_RESET_TOPICS_MAX)
		return 0;
	struct part_item *p = calloc(list.n, sizeof *p);
	if (p == NULL)
		return -1;
	for (uint32_t k = 0; k < list.n && ok; k++) {
		struct rsm__rd x;
		rsm__rd_array(&list, &x);
		rsm__rd_str(&x, p[k].topic, RSM_NAME_MAX);
		ok = decode_part_moves(&x, &p[k], &nomem);
	}
	if (!ok || !rsm__rd_done(&list)) {
		parts_free(p, list.n);
		return nomem ? -1 : 0;
	}
	*out = p;
	return list.n;
}

/* ---- Checks ---- */

/* The group, its mode and the source: RSM_OK or a code with @msg. */
static int check_group(struct rsm *s, const struct rsm_reset *h,
		       struct rsm_group **g, char *msg, size_t n)
{
	bool copy = h->target == RSM_TARGET_GROUP;
	*g = rsm__group_find_mut(s, h->group);
	if (*g == NULL || (copy && rsm_group_find(s, h->source) == NULL)) {
		snprintf(msg, n, "group '%s' does not exist",
			 *g == NULL ? h->group : h->source);
		return RSM_EUNKNOWN_GROUP;
	}
	if ((*g)->mode != RSM_CLUSTERING) {
		snprintf(msg, n,
			 "group '%s' is broadcasting: its offsets live on the "
			 "clients, so the cluster cannot reset them",
			 h->group);
		return RSM_EBROADCAST;
	}
	if (copy != (h->source[0] != '\0')) {
		snprintf(msg, n,
			 "a copy needs a source group, and only a copy");
		return RSM_EINVAL;
	}
	return RSM_OK;
}

/* The guard of a reset: RSM_OK when there is none or the group is still at
 * epoch @expect on the topic; RSM_ESTALE_EPOCH with @msg otherwise. */
static int check_epoch(const struct rsm_group *g, const char *topic,
		       int64_t expect, char *msg, size_t n)
{
	const struct rsm_group_topic *gt = rsm_group_topic(g, topic);
	uint64_t now = gt ? gt->epoch : 0;
	if (expect < 0 || now == (uint64_t)expect)
		return RSM_OK;
	snprintf(msg, n,
		 "group '%s' is at epoch %llu on topic '%s', not %lld: "
		 "another reset came first; nothing was changed",
		 g->name, (unsigned long long)now, topic, (long long)expect);
	return RSM_ESTALE_EPOCH;
}

/* What is wrong with move @m of @t (queue index set), or NULL. */
static const char *move_wrong(const struct rsm_topic *t, struct move_item *m,
			      uint8_t *seen, bool copy)
{
	m->qi = rsm_topic_queue_index(t, m->broker, m->queue_id);
	if (m->qi < 0)
		return "no such queue";
	if (seen[m->qi]++)
		return "listed twice";
	if (m->min > m->max || m->max > (uint64_t)INT64_MAX)
		return "bad bounds";
	if ((m->move == RSM_MOVE_COPY) != copy)
		return "a copy moves every queue by copying, nothing else does";
	return NULL;
}

/* Every move of @p names a distinct queue of its topic with sane bounds:
 * RSM_OK, RSM_ENOMEM, or a code with @msg. */
static int check_moves(struct part_item *p, bool copy, char *msg, size_t len)
{
	uint8_t *seen = calloc(rsm_topic_queues(p->t), 1);
	if (seen == NULL)
		return RSM_ENOMEM;
	const char *why = NULL;
	uint32_t i = 0;
	for (; i < p->n && why == NULL; i++)
		why = move_wrong(p->t, &p->mv[i], seen, copy);
	free(seen);
	if (why == NULL)
		return RSM_OK;
	const struct move_item *m = &p->mv[i - 1];
	if (m->qi < 0) {
		snprintf(msg, len, "topic '%s' has no queue %s:%u", p->topic,
			 m->broker, m->queue_id);
		return RSM_EUNKNOWN_QUEUE;
	}
	snprintf(msg, len, "topic '%s', queue %s:%u: %s", p->topic, m->broker,
		 m->queue_id, why);
	return RSM_EINVAL;
}

/* Every part: a topic that exists, in ascending order, its guard and its
 * moves. RSM_OK, RSM_ENOMEM, or a code with @msg. */
static int check_parts(struct rsm *s, const struct rsm_reset *h,
		       const struct rsm_group *g, struct part_item *p,
		       uint32_t np, char *msg, size_t n)
{
	int code = RSM_OK;
	for (uint32_t k = 0; k < np && code == RSM_OK; k++) {
		p[k].t = rsm_topic_find(s, p[k].topic);
		if (p[k].t == NULL) {
			snprintf(msg, n, "topic '%s' does not exist",
				 p[k].topic);
			return RSM_EUNKNOWN_TOPIC;
		}
		if (k > 0 && strcmp(p[k - 1].topic, p[k].topic) >= 0) {
			snprintf(msg, n, "reset topics not ascending");
			return RSM_EINVAL;
		}
		code = check_epoch(g, p[k].topic, p[k].expect, msg, n);
		if (code == RSM_OK)
			code = check_moves(&p[k], h->target == RSM_TARGET_GROUP,
					   msg, n);
	}
	return code;
}

/* ---- Applying ---- */

/* SHIFT: saturating @base + @value, then clamped. */
static uint64_t shifted(uint64_t base, int64_t value, uint64_t min,
			uint64_t max, bool *clamped)
{
	uint64_t v;
	bool c2;
	*clamped = false;
	if (value < 0) {
		uint64_t d = (uint64_t)(-(value + 1)) + 1;
		v = d > base ? 0 : base - d;
		*clamped = d > base;
	} else {
		uint64_t d = (uint64_t)value;
		v = d > UINT64_MAX - base ? UINT64_MAX : base + d;
	}
	v = clamp(v, min, max, &c2);
	*clamped = *clamped || c2;
	return v;
}

/* The new offset of @m's queue, now at @cur; @src is the source group's
 * offset there (a copy) or RSM_OFFSET_NONE. */
static uint64_t new_offset(const struct move_item *m, uint64_t cur,
			   uint64_t src, struct rsm_reset_queue *q)
{
	switch (m->move) {
	case RSM_MOVE_UNSET:
		return RSM_OFFSET_NONE;
	case RSM_MOVE_COPY:
		q->skipped = src == RSM_OFFSET_NONE;
		return q->skipped ? cur
				  : clamp(src, m->min, m->max, &q->clamped);
	case RSM_MOVE_SHIFT:
		return shifted(cur == RSM_OFFSET_NONE ? m->unset_base : cur,
			       m->value, m->min, m->max, &q->clamped);
	default:
		assert(m->move == RSM_MOVE_ABSOLUTE);
		if (m->value < 0) {
			q->clamped = true;
			return m->min;
		}
		return clamp((uint64_t)m->value, m->min, m->max, &q->clamped);
	}
}

/* Moves one queue of @gt as @m says, recording it in @q. */
static void move_queue(struct rsm_group_topic *gt,
		       const struct rsm_group_topic *src,
		       const struct move_item *m, struct rsm_reset_queue *q)
{
	uint64_t cur = gt->offsets[m->qi];
	q->broker = m->interned;
	q->queue_id = m->queue_id;
	q->previous = cur;
	q->min_offset = m->min;
	q->max_offset = m->max;
	q->offset =
	    new_offset(m, cur, src ? src->offsets[m->qi] : RSM_OFFSET_NONE, q);
	gt->offsets[m->qi] = q->offset;
}

/* Every allocation the apply needs: the records' queues, the group's
 * topic entries (invisible until moved: epoch 0, nothing committed) and
 * the history slots, in that order, so RSM_ENOMEM changes nothing a
 * reader sees. */
static int reserve(struct rsm *s, struct rsm_group *g, struct part_item *p,
		   uint32_t np)
{
	for (uint32_t k = 0; k < np; k++) {
		p[k].queues = calloc(p[k].n, sizeof *p[k].queues);
		if (p[k].queues == NULL ||
		    rsm__group_topic_get(g, p[k].t) == NULL)
			return RSM_ENOMEM;
		const char *last = NULL; /* moves come broker by broker */
		for (uint32_t i = 0; i < p[k].n; i++) {
			struct move_item *m = &p[k].mv[i];
			m->interned = last && strcmp(last, m->broker) == 0
					  ? last
					  : rsm__intern(s, m->broker);
			if (m->interned == NULL)
				return RSM_ENOMEM;
			last = m->interned;
		}
	}
	uint64_t queues = 0;
	for (uint32_t k = 0; k < np; k++)
		queues += p[k].n;
	return rsm__reset_room(s, np, queues, s->next_reset_id);
}

/* Moves every part and records it (reserve succeeded). */
static void commit_parts(struct rsm *s, const struct rsm_reset *h,
			 struct rsm_group *g, struct part_item *p, uint32_t np)
{
	const struct rsm_group *src =
	    h->source[0] ? rsm_group_find(s, h->source) : NULL;
	uint64_t id = s->next_reset_id++;
	for (uint32_t k = 0; k < np; k++) {
		struct rsm_group_topic *gt = rsm__group_topic_get(g, p[k].t);
		assert(gt != NULL && gt->n == rsm_topic_queues(p[k].t));
		struct rsm_reset rec = *h;
		memcpy(rec.topic, p[k].topic, sizeof rec.topic);
		rec.id = id;
		rec.epoch = ++gt->epoch;
		rec.n = p[k].n;
		rec.queues = p[k].queues;
		const struct rsm_group_topic *sgt =
		    src ? rsm_group_topic(src, p[k].topic) : NULL;
		for (uint32_t i = 0; i < rec.n; i++)
			move_queue(gt, sgt, &p[k].mv[i], &rec.queues[i]);
		qsort(rec.queues, rec.n, sizeof *rec.queues, cmp_queue);
		p[k].queues = NULL; /* the history owns them now */
		rsm__reset_push(s, &rec);
	}
	s->result.reset = &s->resets[s->n_resets - np];
	s->result.n_reset = np;
}

int rsm__apply_reset(struct rsm *s, struct rsm__rd *r, bool topics)
{
	struct rsm_reset h;
	struct part_item *p = NULL;
	memset(&h, 0, sizeof h);
	int64_t np = topics ? decode_topics(r, &h, &p) : decode_one(r, &h, &p);
	if (np <= 0)
		return np < 0 ? RSM_ENOMEM : -1;
	struct rsm_group *g;
	char msg[400] = "";
	int code = check_group(s, &h, &g, msg, sizeof msg);
	if (code == RSM_OK)
		code = check_parts(s, &h, g, p, (uint32_t)np, msg, sizeof msg);
	if (code == RSM_OK)
		code = reserve(s, g, p, (uint32_t)np);
	if (code == RSM_OK)
		commit_parts(s, &h, g, p, (uint32_t)np);
	parts_free(p, (uint32_t)np);
	if (code == RSM_ENOMEM)
		return RSM_ENOMEM;
	return code == RSM_OK ? rsm__result(s, RSM_OK, NULL)
			      : rsm__result(s, code, "%s", msg);
}
