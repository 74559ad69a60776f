/*
 * apply.c — applies one committed command to the state.
 *
 * Deterministic: the outcome depends only on the state and the entry's
 * bytes. Bad bytes never stop the log: an undecodable entry is counted as
 * rejected and its result says why. Each command checks everything before
 * it changes anything, so an entry applies completely or not at all; the
 * only exception is running out of memory, where apply returns RSM_ENOMEM
 * with the state as before (libraft then retries the entry).
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/msgpack_check.h"
#include "rsm_int.h"

int rsm__result(struct rsm *s, int code, const char *fmt, ...)
{
	s->result.code = code;
	s->result.message[0] = '\0';
	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->result.message, sizeof s->result.message, fmt, ap);
		va_end(ap);
	}
	return 0;
}

static int apply_register_broker(struct rsm *s, struct rsm__rd *r)
{
	struct rsm_broker b;
	memset(&b, 0, sizeof b);
	b.id = rsm__rd_u64(r);
	rsm__rd_str(r, b.name, RSM_NAME_MAX);
	rsm__rd_str(r, b.listen, RSM_TEXT_MAX);
	rsm__rd_str(r, b.raft_address, RSM_TEXT_MAX);
	if (!rsm__rd_done(r))
		return -1;
	if (b.id == 0 || !rsm_name_user_valid(b.name))
		return rsm__result(s, RSM_EINVAL, "bad broker id or name");
	const struct rsm_broker *other = rsm_broker_by_name(s, b.name);
	if (other != NULL && other->id != b.id)
		return rsm__result(s, RSM_EEXISTS,
				   "broker name '%s' belongs to node %llu",
				   b.name, (unsigned long long)other->id);
	const struct rsm_broker *same = rsm_broker_by_id(s, b.id);
	if (same != NULL && strcmp(same->name, b.name) != 0)
		return rsm__result(
		    s, RSM_EEXISTS, "node %llu is broker '%s', not '%s'",
		    (unsigned long long)b.id, same->name, b.name);
	if (same == NULL && s->n_brokers >= RSM_MAX_BROKERS)
		return rsm__result(s, RSM_EINVAL, "too many brokers");
	if (rsm__broker_put(s, &b) != 0)
		return RSM_ENOMEM;
	return rsm__result(s, RSM_OK, NULL);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int apply_create_topic(struct rsm *s, struct rsm__rd *r)
{
	struct rsm_topic t;
	struct rsm__rd bl;
	memset(&t, 0, sizeof t);
	rsm__rd_str(r, t.name, RSM_NAME_MAX);
	uint64_t qpb = rsm__rd_u64(r);
	t.created = rsm__rd_i64(r);
	rsm__rd_array(r, &bl);
	if (r->err != NULL || bl.n == 0 || bl.n > RSM_MAX_BROKERS || qpb < 1 ||
	    qpb > RSM_MAX_QUEUES_PER_BROKER)
		return -1;
	t.queues_per_broker = (uint32_t)qpb;
	t.brokers = calloc(bl.n, sizeof *t.brokers);
	if (t.brokers == NULL)
		return RSM_ENOMEM;
	t.n_brokers = bl.n;
	for (uint32_t i = 0; i < bl.n; i++)
		rsm__rd_str(&bl, t.brokers[i], RSM_NAME_MAX);
	/* Items 5-6 (replication) only in entries that have them. */
	uint64_t rf = r->i < r->n ? rsm__rd_u64(r) : 1;
	uint64_t min_insync = r->i < r->n ? rsm__rd_u64(r) : 1;
	if (!rsm__rd_done(&bl) || !rsm__rd_done(r)) {
		rsm__topic_free(&t);
		return -1;
	}
	int code = RSM_OK;
	char msg[200] = "";
	if (rf < 1 || rf > RSM_REPLICAS_MAX || rf > t.n_brokers ||
	    min_insync < 1 || min_insync > rf) {
		code = RSM_EINVAL;
		snprintf(msg, sizeof msg,
			 "replication factor %llu with %llu in sync needed: "
			 "the factor must be 1..%d and at most the %u brokers, "
			 "in sync 1..the factor",
			 (unsigned long long)rf, (unsigned long long)min_insync,
			 RSM_REPLICAS_MAX, t.n_brokers);
	} else if (!rsm_name_user_valid(t.name)) {
		code = RSM_EINVAL;
		snprintf(msg, sizeof msg,
			 rsm_name_valid(t.name) ? "topic names starting with "
						  "%% are reserved"
						: "bad topic name");
	} else if (rsm_topic_find(s, t.name) != NULL) {
		code = RSM_EEXISTS;
		snprintf(msg, sizeof msg, "topic '%s' already exists", t.name);
	} else if (t.created <= s->topic_clock) {
		code = RSM_EINVAL;
		snprintf(msg, sizeof msg,
			 "creation time %lld is not after a deleted topic's "
			 "(%lld)",
			 (long long)t.created, (long long)s->topic_clock);
	}
	qsort(t.brokers, t.n_brokers, sizeof *t.brokers, cmp_name);
	for (uint32_t i = 0; i < t.n_brokers && code == RSM_OK; i++) {
		if (rsm_broker_by_name(s, t.brokers[i]) == NULL) {
			code = RSM_EUNKNOWN_BROKER;
			snprintf(msg, sizeof msg, "unknown broker '%s'",
				 t.brokers[i]);
		} else if (i > 0 &&
			   strcmp(t.brokers[i - 1], t.brokers[i]) == 0) {
			code = RSM_EINVAL;
			snprintf(msg, sizeof msg, "broker '%s' listed twice",
				 t.brokers[i]);
		}
	}
	if (code != RSM_OK) {
		rsm__topic_free(&t);
		return rsm__result(s, code, "%s", msg);
	}
	int rv = rsm__topic_place(&t, (uint32_t)rf, (uint32_t)min_insync);
	if (rv == 0)
		rv = rsm__topic_insert(s, &t);
	if (rv != 0) {
		rsm__topic_free(&t);
		return rv;
	}
	return rsm__result(s, RSM_OK, NULL);
}

/* Topic @name of one queue on each broker of @bl (msgpack names),
 * created at @created: 0, -1 (undecodable), RSM_ENOMEM. */
static int internal_topic(struct rsm *s, const char *name, int64_t created,
			  struct rsm__rd bl)
{
	struct rsm_topic t;
	memset(&t, 0, sizeof t);
	snprintf(t.name, sizeof t.name, "%s", name);
	t.queues_per_broker = 1;
	t.created = created;
	t.brokers = calloc(bl.n ? bl.n : 1, sizeof *t.brokers);
	if (t.brokers == NULL)
		return RSM_ENOMEM;
	t.n_brokers = bl.n;
	for (uint32_t i = 0; i < bl.n; i++)
		rsm__rd_str(&bl, t.brokers[i], RSM_NAME_MAX);
	qsort(t.brokers, t.n_brokers, sizeof *t.brokers, cmp_name);
	int rv = rsm__rd_done(&bl) ? rsm__topic_place(&t, 1, 1) : -1;
	if (rv == 0)
		rv = rsm__topic_insert(s, &t);
	if (rv != 0)
		rsm__topic_free(&t);
	return rv;
}

/* Why group @g cannot have its retry topics on the brokers of @bl in
 * @s, or NULL. */
static const char *retry_blocked(const struct rsm *s, const struct rsm_group *g,
				 struct rsm__rd bl)
{
	char retry[RSM_NAME_MAX + 1], dlq[RSM_NAME_MAX + 1];
	char names[RSM_MAX_BROKERS][RSM_NAME_MAX + 1];
	rsm_retry_topic(retry, g->name);
	rsm_dlq_topic(dlq, g->name);
	if (bl.n == 0 || bl.n > RSM_MAX_BROKERS)
		return "it needs 1 or more brokers";
	for (uint32_t i = 0; i < bl.n; i++) {
		rsm__rd_str(&bl, names[i], RSM_NAME_MAX);
		if (bl.err == NULL && rsm_broker_by_name(s, names[i]) == NULL)
			return "a broker of its retry topics is unknown";
		for (uint32_t k = 0; k < i; k++)
			if (strcmp(names[k], names[i]) == 0)
				return "a broker is listed twice";
	}
	if (rsm_topic_find(s, retry) != NULL || rsm_topic_find(s, dlq) != NULL)
		return "its retry or dead-letter topic exists already";
	if (g->created <= s->topic_clock)
		return "its creation time is not after a deleted topic's";
	return NULL;
}

/* The group's two topics, then the group: all or nothing. */
static int insert_with_retry(struct rsm *s, struct rsm_group *g,
			     struct rsm__rd bl)
{
	char retry[RSM_NAME_MAX + 1], dlq[RSM_NAME_MAX + 1];
	int64_t unused, clock = s->topic_clock;
	rsm_retry_topic(retry, g->name);
	rsm_dlq_topic(dlq, g->name);
	int rv = internal_topic(s, retry, g->created, bl);
	if (rv == 0 && (rv = internal_topic(s, dlq, g->created, bl)) != 0)
		rsm__topic_remove(s, retry, &unused);
	if (rv == 0 && (rv = rsm__group_insert(s, g)) != 0) {
		rsm__topic_remove(s, retry, &unused);
		rsm__topic_remove(s, dlq, &unused);
	}
	s->topic_clock = clock; /* out of memory: nothing changed */
	return rv;
}

static int apply_create_group(struct rsm *s, struct rsm__rd *r)
{
	struct rsm_group g;
	memset(&g, 0, sizeof g);
	rsm__rd_str(r, g.name, RSM_NAME_MAX);
	uint64_t mode = rsm__rd_u64(r), initial = rsm__rd_u64(r);
	g.created = rsm__rd_i64(r);
	struct rsm__rd bl = {NULL, 0, 0, NULL};
	if (r->err == NULL && r->i < r->n && !rsm__rd_retry(r, &g.retry))
		return -1;
	if (g.retry.n_delays > 0)
		rsm__rd_array(r, &bl);
	if (!rsm__rd_done(r) || mode > RSM_BROADCASTING ||
	    initial > RSM_INITIAL_EARLIEST)
		return -1;
	g.mode = (enum rsm_group_mode)mode;
	g.initial = (enum rsm_initial)initial;
	char why[200];
	if (!rsm_name_user_valid(g.name))
		return rsm__result(s, RSM_EINVAL, "bad group name");
	if (!rsm__retry_valid(&g.retry, g.mode, g.name, why, sizeof why))
		return rsm__result(s, RSM_EINVAL, "%s", why);
	if (rsm_group_find(s, g.name) != NULL)
		return rsm__result(s, RSM_EEXISTS, "group '%s' already exists",
				   g.name);
	const char *blocked =
	    g.retry.n_delays ? retry_blocked(s, &g, bl) : NULL;
	if (blocked != NULL)
		return rsm__result(s, RSM_EINVAL, "group '%s': %s", g.name,
				   blocked);
	int rv = g.retry.n_delays ? insert_with_retry(s, &g, bl)
				  : rsm__group_insert(s, &g);
	if (rv != 0)
		return rv;
	return rsm__result(s, RSM_OK, NULL);
}

static int apply_delete_group(struct rsm *s, struct rsm__rd *r)
{
	char name[RSM_NAME_MAX + 1];
	rsm__rd_str(r, name, RSM_NAME_MAX);
	if (!rsm__rd_done(r))
		return -1;
	const struct rsm_group *g = rsm_group_find(s, name);
	if (g == NULL)
		return rsm__result(s, RSM_EUNKNOWN_GROUP,
				   "group '%s' does not exist", name);
	if (g->retry.n_delays > 0) {
		struct rsm_result *res = &s->result;
		rsm_retry_topic(res->deleted_topic, name);
		rsm_dlq_topic(res->deleted_dlq, name);
		rsm__topic_remove(s, res->deleted_dlq, &res->deleted_created);
		rsm__topic_remove(s, res->deleted_topic, &res->deleted_created);
	}
	bool removed = rsm__group_remove(s, name);
	assert(removed);
	(void)removed;
	return rsm__result(s, RSM_OK, NULL);
}

static int apply_delete_topic(struct rsm *s, struct rsm__rd *r)
{
	char name[RSM_NAME_MAX + 1];
	int64_t created = 0;
	rsm__rd_str(r, name, RSM_NAME_MAX);
	if (!rsm__rd_done(r))
		return -1;
	const char *owner = rsm_internal_group(name);
	if (owner != NULL && rsm_group_find(s, owner) != NULL)
		return rsm__result(s, RSM_EINVAL,
				   "topic '%s' belongs to group '%s': it goes "
				   "when the group is deleted",
				   name, owner);
	if (!rsm__topic_remove(s, name, &created))
		return rsm__result(s, RSM_EUNKNOWN_TOPIC,
				   "topic '%s' does not exist", name);
	memcpy(s->result.deleted_topic, name, sizeof name);
	s->result.deleted_created = created;
	return rsm__result(s, RSM_OK, NULL);
}

int64_t rsm__decode_list(struct rsm__rd *list, size_t size,
			 bool (*one)(struct rsm__rd *x, void *elem), void **out)
{
	if (list->n == 0)
		return 0;
	uint8_t *v = calloc(list->n, size);
	if (v == NULL)
		return -1;
	bool ok = true;
	for (uint32_t i = 0; i < list->n && ok; i++) {
		struct rsm__rd x;
		rsm__rd_array(list, &x);
		ok = one(&x, v + i * size) && rsm__rd_done(&x);
	}
	if (!ok || !rsm__rd_done(list)) {
		free(v);
		return 0;
	}
	*out = v;
	return list->n;
}

static bool decode_commit(struct rsm__rd *x, void *elem)
{
	struct rsm_commit *c = elem;
	rsm__rd_str(x, c->group, RSM_NAME_MAX);
	rsm__rd_str(x, c->topic, RSM_NAME_MAX);
	rsm__rd_str(x, c->broker, RSM_NAME_MAX);
	uint64_t q = rsm__rd_u64(x);
	c->offset = rsm__rd_u64(x);
	c->epoch = rsm__rd_u64(x);
	c->queue_id = (uint32_t)q;
	return q <= UINT32_MAX;
}

/* Decodes the COMMIT items of @r (see decode_list). */
static int64_t decode_commits(struct rsm__rd *r, struct rsm_commit **out)
{
	struct rsm__rd list;
	rsm__rd_array(r, &list);
	if (!rsm__rd_done(r))
		return 0;
	return rsm__decode_list(&list, sizeof **out, decode_commit,
				(void **)out);
}

/* Pass 1: creates the missing (group, topic) entries the commits need,
 * which is invisible to readers (epoch 0, nothing committed) and so safe
 * to keep if a later allocation fails and the entry is retried. */
static int commit_prepare(struct rsm *s, const struct rsm_commit *items,
			  uint32_t n)
{
	if (s->item_cap < n) {
		int *p = realloc(s->result.item_codes, n * sizeof *p);
		if (p == NULL)
			return RSM_ENOMEM;
		s->result.item_codes = p;
		s->item_cap = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct rsm_commit *c = &items[i];
		struct rsm_group *g = rsm__group_find_mut(s, c->group);
		const struct rsm_topic *t = rsm_topic_find(s, c->topic);
		if (g == NULL || t == NULL || g->mode != RSM_CLUSTERING ||
		    rsm_topic_queue_index(t, c->broker, c->queue_id) < 0)
			continue;
		if (rsm__group_topic_get(g, t) == NULL)
			return RSM_ENOMEM;
	}
	return RSM_OK;
}

/* Pass 2 for one item: checks its epoch and stores it; its code. */
static int commit_one(struct rsm *s, const struct rsm_commit *c)
{
	struct rsm_group *g = rsm__group_find_mut(s, c->group);
	const struct rsm_topic *t = rsm_topic_find(s, c->topic);
	int64_t qi = -1;
	if (g == NULL)
		return RSM_EUNKNOWN_GROUP;
	if (t == NULL)
		return RSM_EUNKNOWN_TOPIC;
	if (g->mode != RSM_CLUSTERING)
		return RSM_EBROADCAST;
	if ((qi = rsm_topic_queue_index(t, c->broker, c->queue_id)) < 0)
		return RSM_EUNKNOWN_QUEUE;
	if (c->offset > (uint64_t)INT64_MAX)
		return RSM_EINVAL;
	struct rsm_group_topic *gt = rsm__group_topic_get(g, t);
	assert(gt != NULL); /* made by commit_prepare */
	/* A consumer that read before a reset must not overwrite it
	 * (DESIGN.md §2). */
	if (c->epoch < gt->epoch)
		return RSM_ESTALE_EPOCH;
	if (c->epoch > gt->epoch)
		return RSM_EINVAL;
	gt->offsets[qi] = c->offset;
	return RSM_OK;
}

/* A commit-shaped entry decoded, with room made for its (group, topic)
 * pairs: the item count (*items to free), 0 for bad bytes, -1 when out of
 * memory (nothing to free). */
static int64_t decode_prepared(struct rsm *s, struct rsm__rd *r,
			       struct rsm_commit **items)
{
	int64_t n = decode_commits(r, items);
	if (n > 0 && commit_prepare(s, *items, (uint32_t)n) != RSM_OK) {
		free(*items);
		*items = NULL;
		return -1;
	}
	return n;
}

/* INIT_OFFSETS: each item sets its queue's offset only while the group
 * never committed it and no reset moved the epoch meanwhile; anything
 * else (a commit got there first, a reset, a deleted group) keeps the
 * state as it is. Nothing is refused: the entry only fixes where a first
 * read started. */
static int apply_init_offsets(struct rsm *s, struct rsm__rd *r)
{
	struct rsm_commit *items = NULL;
	int64_t n = decode_prepared(s, r, &items);
	if (n <= 0)
		return n < 0 ? RSM_ENOMEM : -1;
	for (uint32_t i = 0; i < (uint32_t)n; i++) {
		const struct rsm_commit *c = &items[i];
		struct rsm_group *g = rsm__group_find_mut(s, c->group);
		const struct rsm_topic *t = rsm_topic_find(s, c->topic);
		int64_t qi =
		    t ? rsm_topic_queue_index(t, c->broker, c->queue_id) : -1;
		if (g == NULL || qi < 0 || g->mode != RSM_CLUSTERING ||
		    c->offset > (uint64_t)INT64_MAX)
			continue;
		struct rsm_group_topic *gt = rsm__group_topic_get(g, t);
		assert(gt != NULL); /* made by commit_prepare */
		if (gt->epoch == c->epoch && gt->offsets[qi] == RSM_OFFSET_NONE)
			gt->offsets[qi] = c->offset;
	}
	free(items);
	return rsm__result(s, RSM_OK, NULL);
}

static int apply_commit(struct rsm *s, struct rsm__rd *r)
{
	struct rsm_commit *items = NULL;
	int64_t n = decode_prepared(s, r, &items);
	if (n <= 0)
		return n < 0 ? RSM_ENOMEM : -1;
	int first_bad = RSM_OK;
	for (uint32_t i = 0; i < (uint32_t)n; i++) {
		int code = commit_one(s, &items[i]);
		if (code != RSM_OK && first_bad == RSM_OK)
			first_bad = code;
		s->result.item_codes[i] = code;
	}
	s->result.n_items = (uint32_t)n;
	free(items);
	if (first_bad != RSM_OK)
		return rsm__result(s, first_bad, "some commits were refused");
	return rsm__result(s, RSM_OK, NULL);
}

/* Whether p[1..len) is one sane msgpack object and at most 7 zero bytes
 * of padding. Log entries come from the leader, but a damaged or hostile
 * one must not make the unpacker allocate gigabytes: the object is
 * p[1 .. 1+L) for one L among the lengths that leave only zero bytes
 * after it, so each is checked. */
static bool entry_sane(const uint8_t *p, size_t len)
{
	size_t body = len - 1, zeros = 0;
	while (zeros < 7 && zeros < body && p[len - 1 - zeros] == 0)
		zeros++;
	bool sane = false;
	for (size_t l = body - zeros; l <= body && !sane; l++)
		sane = l > 0 && mpk_check(p + 1, l, MPK_MAX_DEPTH) == 0;
	return sane;
}

static int apply_reset_one(struct rsm *s, struct rsm__rd *r)
{
	return rsm__apply_reset(s, r, false);
}

static int apply_reset_topics(struct rsm *s, struct rsm__rd *r)
{
	return rsm__apply_reset(s, r, true);
}

/* Each command type's apply, by type number. */
static int (*const appliers[])(struct rsm *s, struct rsm__rd *r) = {
    [RSM_CMD_REGISTER_BROKER] = apply_register_broker,
    [RSM_CMD_CREATE_TOPIC] = apply_create_topic,
    [RSM_CMD_CREATE_GROUP] = apply_create_group,
    [RSM_CMD_COMMIT] = apply_commit,
    [RSM_CMD_RESET] = apply_reset_one,
    [RSM_CMD_INIT_OFFSETS] = apply_init_offsets,
    [RSM_CMD_DELETE_GROUP] = apply_delete_group,
    [RSM_CMD_RESET_TOPICS] = apply_reset_topics,
    [RSM_CMD_DELETE_TOPIC] = apply_delete_topic,
    [RSM_CMD_ALTER_ISR] = rsm__apply_alter_isr,
    [RSM_CMD_FENCE_BROKER] = rsm__apply_fence_broker,
};

static int apply_type(struct rsm *s, uint64_t type, struct rsm__rd *r)
{
	if (type >= sizeof appliers / sizeof appliers[0] ||
	    appliers[type] == NULL)
		return -1; /* unknown: rejected, the log moves on */
	return appliers[type](s, r);
}

/* Unpacks the entry and applies it: 0, RSM_ENOMEM, or -1 (bad bytes);
 * the command's type in *type. */
static int apply_entry(struct rsm *s, const uint8_t *p, size_t len,
		       uint64_t *type)
{
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	int rv = -1;
	int u_rv = msgpack_unpack_next(&u, (const char *)p + 1, len - 1, &off);
	/* After the msgpack object: at most 7 zero bytes of padding. */
	bool padded = u_rv == MSGPACK_UNPACK_SUCCESS && len - 1 - off < 8;
	for (size_t i = 1 + off; i < len && padded; i++)
		padded = p[i] == 0;
	if (padded) {
		struct rsm__rd r;
		rsm__rd_init(&r, &u.data, "command is not an array");
		*type = rsm__rd_u64(&r);
		s->result.type = (enum rsm_cmd_type) * type;
		rv = r.err == NULL ? apply_type(s, *type, &r) : -1;
	}
	msgpack_unpacked_destroy(&u);
	return rv;
}

int rsm_apply(struct rsm *s, const void *buf, size_t len,
	      const struct rsm_result **out)
{
	const uint8_t *p = buf;
	struct rsm_result *res = &s->result;
	res->type = 0;
	res->n_items = 0;
	res->reset = NULL;
	res->n_reset = 0;
	res->deleted_topic[0] = '\0';
	res->deleted_dlq[0] = '\0';
	*out = res;
	if (len < 1 || p[0] != RSM__CMD_VERSION || !entry_sane(p, len)) {
		s->applied++;
		s->rejected++;
		if (len < 1)
			return rsm__result(s, RSM_EBADCMD, "empty entry");
		if (p[0] != RSM__CMD_VERSION)
			return rsm__result(
			    s, RSM_EVERSION,
			    "command format version %u is not supported", p[0]);
		return rsm__result(s, RSM_EBADCMD,
				   "entry is not one msgpack object");
	}
	uint64_t type = 0;
	int rv = apply_entry(s, p, len, &type);
	if (rv == RSM_ENOMEM) {
		res->type = 0;
		return RSM_ENOMEM; /* state unchanged; raft retries */
	}
	s->applied++;
	if (rv != 0) {
		s->rejected++;
		res->type = 0;
		res->n_items = 0;
		return rsm__result(s, RSM_EBADCMD,
				   "entry of type %llu does not decode",
				   (unsigned long long)type);
	}
	return 0;
}
