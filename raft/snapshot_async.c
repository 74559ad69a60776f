/*
 * snapshot_async.c — snapshots taken off the event loop (issue 16: commits
 * keep their latency while a snapshot of a million offsets is taken).
 *
 * libraft 0.15's version 3 FSM splits a snapshot in three: `snapshot` on
 * the loop, `snapshot_async` on a libuv pool thread, `snapshot_finalize`
 * on the loop once the snapshot is on disk (or failed). Here:
 *
 *  - on the loop, a copy of the state: brokers, topics, groups and their
 *    offset arrays copied (memcpy, a few ms for 10^6 offsets); the reset
 *    history (up to 2^20 queue records) is not copied but lent: the copy's
 *    records point to the state's queue arrays and interned names, which
 *    never change once recorded;
 *  - on the pool thread, the encoding of that copy (msgpack + lz4 frame,
 *    rsm_snapshot), which reads nothing the loop writes;
 *  - at finalize, the copy and the encoding are freed. A history array
 *    the state lets go of meanwhile (the oldest resets forgotten, a group's
 *    or topic's deleted) may be one the encoder reads: rsm__history_free
 *    leaves those lent (ids up to the copy's newest) to the copy, which at
 *    finalize frees every array of its own the state no longer holds — so
 *    nothing is allocated to remember them.
 *
 * libraft takes one snapshot at a time and refuses to install a leader's
 * snapshot while its own is in flight, so the state is never cleared
 * (restored) under a lent history.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsm_int.h"

struct rsm__snap {
	struct rsm *copy;	/* made on the loop, encoded off it */
	uint64_t lent_id;	/* the newest reset id whose records it lends */
	struct raft_buffer buf; /* the encoding (snapshot_async) */
	uint64_t encode_us;	/* written by the pool thread */
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* A malloc'ed copy of @n bytes at @p; NULL when @n is 0 (or @p NULL) and
 * when out of memory — *ok says which. */
static void *dup_bytes(const void *p, size_t n, bool *ok)
{
	if (p == NULL || n == 0)
		return NULL;
	void *c = malloc(n);
	if (c == NULL)
		*ok = false;
	else
		memcpy(c, p, n);
	return c;
}

/* Copies the topics: each with its own broker and replica arrays. */
static bool copy_topics(struct rsm *c, const struct rsm *s)
{
	if (s->n_topics == 0)
		return true;
	c->topics = calloc(s->n_topics, sizeof *c->topics);
	if (c->topics == NULL)
		return false;
	bool ok = true;
	for (uint32_t i = 0; i < s->n_topics && ok; i++) {
		const struct rsm_topic *t = &s->topics[i];
		struct rsm_topic *x = &c->topics[i];
		*x = *t;
		x->brokers = dup_bytes(t->brokers,
				       t->n_brokers * sizeof *t->brokers, &ok);
		x->reps = dup_bytes(t->reps,
				    rsm_topic_queues(t) * sizeof *t->reps, &ok);
		c->n_topics = i + 1; /* what rsm__copy_free frees */
	}
	return ok;
}

/* Copies one group: its topic entries, each with its own offsets. */
static bool copy_group(struct rsm_group *x, const struct rsm_group *g)
{
	*x = *g;
	x->topics = NULL;
	x->n_topics = 0;
	if (g->n_topics == 0)
		return true;
	x->topics = calloc(g->n_topics, sizeof *x->topics);
	if (x->topics == NULL)
		return false;
	bool ok = true;
	for (uint32_t k = 0; k < g->n_topics && ok; k++) {
		const struct rsm_group_topic *gt = &g->topics[k];
		x->topics[k] = *gt;
		x->topics[k].offsets =
		    dup_bytes(gt->offsets, gt->n * sizeof *gt->offsets, &ok);
		x->n_topics = k + 1;
	}
	return ok;
}

static bool copy_groups(struct rsm *c, const struct rsm *s)
{
	if (s->n_groups == 0)
		return true;
	c->groups = calloc(s->n_groups, sizeof *c->groups);
	if (c->groups == NULL)
		return false;
	bool ok = true;
	for (uint32_t i = 0; i < s->n_groups && ok; i++) {
		ok = copy_group(&c->groups[i], &s->groups[i]);
		c->n_groups = i + 1;
	}
	return ok;
}

/* Frees a copy made by rsm__copy: not the lent history arrays. */
static void copy_free(struct rsm *c)
{
	if (c == NULL)
		return;
	for (uint32_t i = 0; i < c->n_topics; i++)
		rsm__topic_free(&c->topics[i]);
	for (uint32_t i = 0; i < c->n_groups; i++)
		rsm__group_free(&c->groups[i]);
	free(c->brokers);
	free(c->topics);
	free(c->groups);
	free(c->resets);
	free(c);
}

/* What rsm__pack_state reads of @s, copied, the history lent (the copy's
 * records point to @s's queue arrays); NULL when out of memory. */
static struct rsm *copy_state(const struct rsm *s)
{
	struct rsm *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->applied = s->applied;
	c->rejected = s->rejected;
	c->next_reset_id = s->next_reset_id;
	c->topic_clock = s->topic_clock;
	bool ok = true;
	c->brokers =
	    dup_bytes(s->brokers, s->n_brokers * sizeof *s->brokers, &ok);
	c->n_brokers = ok ? s->n_brokers : 0;
	c->resets = dup_bytes(s->resets, s->n_resets * sizeof *s->resets, &ok);
	c->n_resets = c->resets_cap = ok ? s->n_resets : 0;
	if (!ok || !copy_topics(c, s) || !copy_groups(c, s)) {
		copy_free(c);
		return NULL;
	}
	return c;
}

void rsm__history_free(struct rsm *s, struct rsm_reset_queue *q, uint64_t id)
{
	if (s->snap == NULL || id > s->snap->lent_id)
		free(q); /* not lent (recorded after the copy) */
}

/* At finalize: frees the arrays of copy @c's history that @s let go of
 * while they were lent. Both histories are in id order, the state's a
 * subsequence of the copy's up to its newest id. */
static void free_let_go(const struct rsm *s, const struct rsm *c)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < c->n_resets; i++) {
		const struct rsm_reset *r = &c->resets[i];
		while (j < s->n_resets && s->resets[j].id < r->id)
			j++;
		bool held = false;
		for (uint32_t k = j;
		     k < s->n_resets && s->resets[k].id == r->id; k++)
			held = held || s->resets[k].queues == r->queues;
		if (!held)
			free(r->queues);
	}
}

/* On the loop: the copy. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
			unsigned *n_bufs)
{
	struct rsm *s = fsm->data;
	if (s->snap != NULL)
		return RAFT_BUSY; /* libraft takes one at a time */
	uint64_t t0 = mono_us();
	struct rsm__snap *p = calloc(1, sizeof *p);
	if (p != NULL)
		p->copy = copy_state(s);
	if (p == NULL || p->copy == NULL) {
		free(p);
		return RAFT_NOMEM;
	}
	p->lent_id = s->n_resets > 0 ? s->resets[s->n_resets - 1].id : 0;
	s->snap = p;
	*bufs = NULL; /* filled by fsm_snapshot_async */
	*n_bufs = 0;
	s->fsm_stats.snapshot_us += mono_us() - t0;
	return 0;
}

/* On a libuv pool thread: the encoding. Reads only the copy, the lent
 * history and its interned names, none of which the loop writes. */
static int fsm_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[],
			      unsigned *n_bufs)
{
	struct rsm__snap *p = ((struct rsm *)fsm->data)->snap;
	assert(p != NULL && p->copy != NULL && p->buf.base == NULL);
	uint64_t t0 = mono_us();
	void *data;
	size_t len;
	if (rsm_snapshot(p->copy, &data, &len) != 0)
		return RAFT_NOMEM;
	p->buf = (struct raft_buffer){data, len};
	*bufs = &p->buf; /* ours: version 3, raft frees nothing */
	*n_bufs = 1;
	p->encode_us = mono_us() - t0;
	return 0;
}

/* On the loop, once the snapshot is stored or failed (always called after
 * a successful fsm_snapshot). */
static int fsm_snapshot_finalize(struct raft_fsm *fsm,
				 struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct rsm *s = fsm->data;
	struct rsm__snap *p = s->snap;
	assert(p != NULL);
	if (p->buf.base != NULL) {
		s->fsm_stats.snapshots++;
		s->fsm_stats.encode_us += p->encode_us;
		s->fsm_stats.last_snapshot_bytes = p->buf.len;
	}
	*bufs = NULL;
	*n_bufs = 0;
	free(p->buf.base);
	free_let_go(s, p->copy);
	copy_free(p->copy);
	free(p);
	s->snap = NULL;
	return 0;
}

void rsm__fsm_snapshot_init(struct raft_fsm *fsm)
{
	fsm->version = 3;
	fsm->snapshot = fsm_snapshot;
	fsm->snapshot_async = fsm_snapshot_async;
	fsm->snapshot_finalize = fsm_snapshot_finalize;
}
