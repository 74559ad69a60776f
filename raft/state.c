/*
 * state.c — the replicated state's data: sorted arrays of brokers, topics,
 * groups (each with its per-topic offsets and epoch) and the reset history,
 * with lookups and all-or-nothing mutators for apply and restore.
 */
#include <assert.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "../util/error_table.h"
#include "../util/name_search.h"
#include "rsm_int.h"

static const char *const target_names[] = {
    "latest",	"earliest", "time",    "offset", "shift",
    "duration", "undo",	    "current", "plan",	 "group",
};

const char *rsm_target_name(enum rsm_target_kind kind)
{
	if ((unsigned)kind < sizeof target_names / sizeof *target_names)
		return target_names[kind];
	return "unknown";
}

ERROR_TABLE_FUNCTIONS(rsm_strerror, rsm_errname, RSM_ERRORS, "RSM_UNKNOWN")

struct rsm *rsm_new(void)
{
	struct rsm *s = calloc(1, sizeof *s);
	if (s != NULL)
		s->next_reset_id = 1;
	return s;
}

void rsm__topic_free(struct rsm_topic *t)
{
	free(t->brokers);
	t->brokers = NULL;
	free(t->reps);
	t->reps = NULL;
}

void rsm__group_free(struct rsm_group *g)
{
	for (uint32_t i = 0; i < g->n_topics; i++)
		free(g->topics[i].offsets);
	free(g->topics);
	g->topics = NULL;
	g->n_topics = 0;
}

void rsm__clear(struct rsm *s)
{
	for (uint32_t i = 0; i < s->n_topics; i++)
		rsm__topic_free(&s->topics[i]);
	for (uint32_t i = 0; i < s->n_groups; i++)
		rsm__group_free(&s->groups[i]);
	/* Never under a snapshot in flight: it reads the history and names
	 * (libraft installs no snapshot while taking one). */
	assert(s->snap == NULL);
	for (uint32_t i = 0; i < s->n_resets; i++)
		free(s->resets[i].queues);
	for (uint32_t i = 0; i < s->n_names; i++)
		free(s->names[i]);
	free(s->names);
	free(s->brokers);
	free(s->topics);
	free(s->groups);
	free(s->resets);
	free(s->result.item_codes);
	memset(s, 0, sizeof *s);
	s->next_reset_id = 1;
}

void rsm_free(struct rsm *s)
{
	if (s == NULL)
		return;
	rsm__clear(s);
	free(s);
}

/* ---- Lookups ---- */

const struct rsm_broker *rsm_broker_by_id(const struct rsm *s, uint64_t id)
{
	for (uint32_t i = 0; i < s->n_brokers; i++)
		if (s->brokers[i].id == id)
			return &s->brokers[i];
	return NULL;
}

struct rsm_broker *rsm__broker_find_mut(struct rsm *s, const char *name)
{
	for (uint32_t i = 0; i < s->n_brokers; i++)
		if (strcmp(s->brokers[i].name, name) == 0)
			return &s->brokers[i];
	return NULL;
}

const struct rsm_broker *rsm_broker_by_name(const struct rsm *s,
					    const char *name)
{
	return rsm__broker_find_mut((struct rsm *)s, name);
}

uint32_t rsm_broker_count(const struct rsm *s)
{
	return s->n_brokers;
}

const struct rsm_broker *rsm_broker_at(const struct rsm *s, uint32_t i)
{
	return i < s->n_brokers ? &s->brokers[i] : NULL;
}

/* name_search reads each element's name at its start. */
_Static_assert(offsetof(struct rsm_topic, name) == 0, "topic name first");
_Static_assert(offsetof(struct rsm_group, name) == 0, "group name first");
_Static_assert(offsetof(struct rsm_group_topic, topic) == 0,
	       "group topic name first");

struct rsm_topic *rsm__topic_find_mut(struct rsm *s, const char *name)
{
	bool found;
	uint32_t i = name_search(s->topics, s->n_topics, sizeof *s->topics,
				 name, &found);
	return found ? &s->topics[i] : NULL;
}

const struct rsm_topic *rsm_topic_find(const struct rsm *s, const char *name)
{
	return rsm__topic_find_mut((struct rsm *)s, name);
}

uint32_t rsm_topic_count(const struct rsm *s)
{
	return s->n_topics;
}

const struct rsm_topic *rsm_topic_at(const struct rsm *s, uint32_t i)
{
	return i < s->n_topics ? &s->topics[i] : NULL;
}

struct rsm_group *rsm__group_find_mut(struct rsm *s, const char *name)
{
	bool found;
	uint32_t i = name_search(s->groups, s->n_groups, sizeof *s->groups,
				 name, &found);
	return found ? &s->groups[i] : NULL;
}

const struct rsm_group *rsm_group_find(const struct rsm *s, const char *name)
{
	return rsm__group_find_mut((struct rsm *)s, name);
}

uint32_t rsm_group_count(const struct rsm *s)
{
	return s->n_groups;
}

const struct rsm_group *rsm_group_at(const struct rsm *s, uint32_t i)
{
	return i < s->n_groups ? &s->groups[i] : NULL;
}

const struct rsm_group_topic *rsm_group_topic(const struct rsm_group *g,
					      const char *topic)
{
	bool found;
	uint32_t i = name_search(g->topics, g->n_topics, sizeof *g->topics,
				 topic, &found);
	return found ? &g->topics[i] : NULL;
}

int64_t rsm_topic_queue_index(const struct rsm_topic *t, const char *broker,
			      uint32_t queue_id)
{
	if (queue_id >= t->queues_per_broker)
		return -1;
	bool found;
	uint32_t b = name_search(t->brokers, t->n_brokers, sizeof *t->brokers,
				 broker, &found);
	if (!found)
		return -1;
	return (int64_t)b * t->queues_per_broker + queue_id;
}

uint32_t rsm_reset_count(const struct rsm *s)
{
	return s->n_resets;
}

const struct rsm_reset *rsm_reset_at(const struct rsm *s, uint32_t i)
{
	return i < s->n_resets ? &s->resets[i] : NULL;
}

const struct rsm_reset *rsm_reset_find(const struct rsm *s, uint64_t id,
				       uint32_t *n)
{
	/* Ids ascend with position; the records of one reset are adjacent. */
	uint32_t lo = 0, hi = s->n_resets;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->resets[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t end = lo;
	while (end < s->n_resets && s->resets[end].id == id)
		end++;
	if (n != NULL)
		*n = end - lo;
	return end > lo ? &s->resets[lo] : NULL;
}

uint64_t rsm_applied(const struct rsm *s)
{
	return s->applied;
}

uint64_t rsm_rejected(const struct rsm *s)
{
	return s->rejected;
}

/* ---- Mutators ---- */

/* Makes room for one more element at @at of a sorted array. */
static int insert_at(void **base, uint32_t *n, size_t size, uint32_t at,
		     const void *elem)
{
	void *p = realloc(*base, ((size_t)*n + 1) * size);
	if (p == NULL)
		return RSM_ENOMEM;
	char *b = p;
	memmove(b + ((size_t)at + 1) * size, b + (size_t)at * size,
		((size_t)*n - at) * size);
	memcpy(b + (size_t)at * size, elem, size);
	*base = p;
	(*n)++;
	return 0;
}

int rsm__broker_put(struct rsm *s, const struct rsm_broker *b)
{
	for (uint32_t i = 0; i < s->n_brokers; i++) {
		if (s->brokers[i].id == b->id) {
			bool fenced = s->brokers[i].fenced;
			s->brokers[i] = *b;
			s->brokers[i].fenced = fenced;
			return 0;
		}
	}
	uint32_t at = 0;
	while (at < s->n_brokers && s->brokers[at].id < b->id)
		at++;
	return insert_at((void **)&s->brokers, &s->n_brokers,
			 sizeof *s->brokers, at, b);
}

/* Inserts @x (its name first) into the name-sorted array *@v of *@n
 * elements of @size bytes: 0, RSM_EEXISTS, or RSM_ENOMEM. */
static int named_insert(void **v, uint32_t *n, size_t size, const void *x)
{
	bool found;
	uint32_t at = name_search(*v, *n, size, (const char *)x, &found);
	return found ? RSM_EEXISTS : insert_at(v, n, size, at, x);
}

int rsm__topic_insert(struct rsm *s, struct rsm_topic *t)
{
	return named_insert((void **)&s->topics, &s->n_topics,
			    sizeof *s->topics, t);
}

int rsm__group_insert(struct rsm *s, struct rsm_group *g)
{
	return named_insert((void **)&s->groups, &s->n_groups,
			    sizeof *s->groups, g);
}

/* Drops the history records of @group (NULL: any) on @topic (NULL: any),
 * keeping the others in order. */
static void resets_drop(struct rsm *s, const char *group, const char *topic)
{
	uint32_t kept = 0;
	for (uint32_t i = 0; i < s->n_resets; i++) {
		const struct rsm_reset *r = &s->resets[i];
		if ((group == NULL || strcmp(r->group, group) == 0) &&
		    (topic == NULL || strcmp(r->topic, topic) == 0))
			rsm__history_free(s, s->resets[i].queues,
					  s->resets[i].id);
		else
			s->resets[kept++] = s->resets[i];
	}
	s->n_resets = kept;
}

bool rsm__group_remove(struct rsm *s, const char *name)
{
	struct rsm_group *g = rsm__group_find_mut(s, name);
	if (g == NULL)
		return false;
	size_t at = (size_t)(g - s->groups);
	assert(at < s->n_groups);
	rsm__group_free(g);
	memmove(g, g + 1, (s->n_groups - at - 1) * sizeof *g);
	s->n_groups--;
	resets_drop(s, name, NULL);
	return true;
}

/* Removes @g's entry for @topic, if any. */
static void group_topic_drop(struct rsm_group *g, const char *topic)
{
	for (uint32_t k = 0; k < g->n_topics; k++) {
		if (strcmp(g->topics[k].topic, topic) != 0)
			continue;
		free(g->topics[k].offsets);
		memmove(&g->topics[k], &g->topics[k + 1],
			(g->n_topics - k - 1) * sizeof *g->topics);
		g->n_topics--;
		return;
	}
}

bool rsm__topic_remove(struct rsm *s, const char *name, int64_t *created)
{
	struct rsm_topic *t = (struct rsm_topic *)rsm_topic_find(s, name);
	if (t == NULL)
		return false;
	size_t at = (size_t)(t - s->topics);
	assert(at < s->n_topics);
	*created = t->created;
	if (t->created > s->topic_clock)
		s->topic_clock = t->created;
	for (uint32_t i = 0; i < s->n_groups; i++)
		group_topic_drop(&s->groups[i], name);
	resets_drop(s, NULL, name);
	rsm__topic_free(t);
	memmove(t, t + 1, (s->n_topics - at - 1) * sizeof *t);
	s->n_topics--;
	return true;
}

int64_t rsm_topic_clock(const struct rsm *s)
{
	return s->topic_clock;
}

struct rsm_group_topic *rsm__group_topic_get(struct rsm_group *g,
					     const struct rsm_topic *t)
{
	bool found;
	uint32_t at = name_search(g->topics, g->n_topics, sizeof *g->topics,
				  t->name, &found);
	if (found)
		return &g->topics[at];
	struct rsm_group_topic gt;
	memset(&gt, 0, sizeof gt);
	memcpy(gt.topic, t->name, sizeof gt.topic);
	gt.n = rsm_topic_queues(t);
	gt.offsets = malloc((size_t)gt.n * sizeof *gt.offsets);
	if (gt.offsets == NULL)
		return NULL;
	for (uint32_t i = 0; i < gt.n; i++)
		gt.offsets[i] = RSM_OFFSET_NONE;
	if (insert_at((void **)&g->topics, &g->n_topics, sizeof *g->topics, at,
		      &gt) != 0) {
		free(gt.offsets);
		return NULL;
	}
	return &g->topics[at];
}

const char *rsm__intern(struct rsm *s, const char *name)
{
	for (uint32_t i = s->n_names; i-- > 0;) /* the newest first */
		if (strcmp(s->names[i], name) == 0)
			return s->names[i];
	if (s->n_names == s->names_cap) {
		uint32_t cap = s->names_cap ? 2 * s->names_cap : 8;
		char **p = realloc(s->names, cap * sizeof *p);
		if (p == NULL)
			return NULL;
		s->names = p;
		s->names_cap = cap;
	}
	char *copy = strdup(name);
	if (copy == NULL)
		return NULL;
	s->names[s->n_names++] = copy;
	return copy;
}

int rsm__reset_room(struct rsm *s, uint32_t k, uint64_t queues, uint64_t id)
{
	assert(k >= 1 && k <= RSM_HISTORY_MAX);
	uint64_t kept = queues; /* queue records after the drop */
	for (uint32_t i = 0; i < s->n_resets; i++)
		kept += s->resets[i].n;
	uint32_t drop = 0;
	while (drop < s->n_resets && s->resets[drop].id != id &&
	       (s->n_resets - drop + k > RSM_HISTORY_MAX ||
		kept > RSM_HISTORY_QUEUES_MAX)) {
		uint64_t old = s->resets[drop].id; /* forget whole resets */
		while (drop < s->n_resets && s->resets[drop].id == old)
			kept -= s->resets[drop++].n;
	}
	uint32_t need = s->n_resets - drop + k;
	if (need > s->resets_cap) {
		void *p = realloc(s->resets, (size_t)need * sizeof *s->resets);
		if (p == NULL)
			return RSM_ENOMEM;
		s->resets = p;
		s->resets_cap = need;
	}
	for (uint32_t i = 0; i < drop; i++)
		rsm__history_free(s, s->resets[i].queues, s->resets[i].id);
	memmove(&s->resets[0], &s->resets[drop],
		(s->n_resets - drop) * sizeof *s->resets);
	s->n_resets -= drop;
	return 0;
}

void rsm__reset_push(struct rsm *s, const struct rsm_reset *r)
{
	assert(s->n_resets < s->resets_cap);
	s->resets[s->n_resets++] = *r;
}
