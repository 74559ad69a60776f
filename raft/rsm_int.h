/*
 * rsm_int.h — shared inside raft/ only.
 */
#ifndef RAFTQ_RSM_INT_H
#define RAFTQ_RSM_INT_H

#include <msgpack.h>

#include "rsm.h"

#define RSM__CMD_VERSION 1u	 /* first byte of every command */
#define RSM__SNAPSHOT_VERSION 1u /* first byte of every snapshot */
#define RSM__STATE_MAGIC "raftq-state"

struct rsm__rd;

struct rsm {
	struct rsm_broker *brokers; /* sorted by id */
	uint32_t n_brokers;
	struct rsm_topic *topics; /* sorted by name */
	uint32_t n_topics;
	struct rsm_group *groups; /* sorted by name */
	uint32_t n_groups;
	struct rsm_reset *resets; /* oldest first */
	uint32_t n_resets, resets_cap;
	uint64_t next_reset_id;
	int64_t topic_clock; /* rsm_topic_clock */
	uint64_t applied;
	uint64_t rejected;
	/* The last result and its buffers. */
	struct rsm_result result;
	uint32_t item_cap;
	/* The daemon's hook (rsm_on_applied): not part of the state. */
	rsm_applied_fn applied_fn;
	void *applied_arg;
	struct rsm_fsm_stats fsm_stats; /* rsm_fsm_stats: not the state */
	/* Broker names the history's records point to (rsm__intern): each
	 * once, stable until the state is freed, never part of a snapshot. */
	char **names;
	uint32_t n_names, names_cap;
	/* The snapshot in flight (snapshot_async.c), NULL if none: its copy
	 * borrows the history's queue arrays (rsm__history_free). */
	struct rsm__snap *snap;
};

/* The state's one copy of broker name @name (interned on first use), or
 * NULL when out of memory. */
const char *rsm__intern(struct rsm *s, const char *name);

/* names.c: whether @r is a valid retry setting for group @group of @mode
 * (n_delays 0 always is); else false with the reason in @why. */
bool rsm__retry_valid(const struct rsm_retry *r, enum rsm_group_mode mode,
		      const char *group, char *why, size_t why_len);
/* codec.c: packs / reads a group's retry settings (2 items). */
void rsm__pack_retry(msgpack_packer *pk, const struct rsm_retry *r);
bool rsm__rd_retry(struct rsm__rd *r, struct rsm_retry *out);

/* ---- state.c: mutators (all-or-nothing; RSM_ENOMEM leaves @s as is) ---- */
void rsm__clear(struct rsm *s);
int rsm__broker_put(struct rsm *s, const struct rsm_broker *b);
/* Takes ownership of t->brokers and t->reps on success. */
int rsm__topic_insert(struct rsm *s, struct rsm_topic *t);
/* Takes ownership of g->topics (and their offsets) on success. */
int rsm__group_insert(struct rsm *s, struct rsm_group *g);
struct rsm_group *rsm__group_find_mut(struct rsm *s, const char *name);
struct rsm_topic *rsm__topic_find_mut(struct rsm *s, const char *name);
struct rsm_broker *rsm__broker_find_mut(struct rsm *s, const char *name);
/* Removes group @name and every reset recorded for it; false when there
 * is no such group. Never allocates. */
bool rsm__group_remove(struct rsm *s, const char *name);
/* Removes topic @name, every group's entry for it and every reset record
 * of it, and raises the topic clock to its creation time (*created);
 * false when there is no such topic. Never allocates. */
bool rsm__topic_remove(struct rsm *s, const char *name, int64_t *created);
/* The group's entry for @t, created (epoch 0, nothing committed) if
 * missing; NULL when out of memory. */
struct rsm_group_topic *rsm__group_topic_get(struct rsm_group *g,
					     const struct rsm_topic *t);
/* Makes room for @k more history records of reset @id, @queues queue
 * records in all: forgets the oldest resets (whole: every record of an
 * id) beyond RSM_HISTORY_MAX records or RSM_HISTORY_QUEUES_MAX queue
 * records, never @id's own (a reset is kept whatever its size, and a
 * snapshot restores it record by record), and allocates the slots.
 * RSM_ENOMEM leaves @s as is. */
int rsm__reset_room(struct rsm *s, uint32_t k, uint64_t queues, uint64_t id);
/* Frees the queue array @q of history record(s) of reset @id, which the
 * history lets go of: at once, or, when the snapshot in flight lends it,
 * when that snapshot ends (snapshot_async.c). */
void rsm__history_free(struct rsm *s, struct rsm_reset_queue *q, uint64_t id);
/* Makes @fsm's snapshots version 3: copied on the loop, encoded on a
 * libuv pool thread (snapshot_async.c). */
void rsm__fsm_snapshot_init(struct raft_fsm *fsm);
/* Appends @r into a slot made by rsm__reset_room; takes r->queues. */
void rsm__reset_push(struct rsm *s, const struct rsm_reset *r);
/* Applies RSM_CMD_RESET (@topics false) or RSM_CMD_RESET_TOPICS. */
int rsm__apply_reset(struct rsm *s, struct rsm__rd *r, bool topics);
/* The last result: @code and printf-style message (may be NULL); 0. */
int rsm__result(struct rsm *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Decodes every element of @list (arrays of fields) with @one into a
 * calloc'ed array of @size-byte elements (*out; the caller frees): the
 * count, 0 for bad bytes (or an empty list), -1 when out of memory. */
int64_t rsm__decode_list(struct rsm__rd *list, size_t size,
			 bool (*one)(struct rsm__rd *x, void *elem),
			 void **out);
void rsm__topic_free(struct rsm_topic *t);
void rsm__group_free(struct rsm_group *g);

/* ---- replicas.c ---- */

/* Places @t's queues (its brokers and queues_per_broker set): replicas
 * home, home+1, ... (mod n_brokers), the home leading, all in sync,
 * epoch 1. RSM_ENOMEM. */
int rsm__topic_place(struct rsm_topic *t, uint32_t rf, uint32_t min_insync);
/* Whether @r is a well-formed replica state of a queue of @t. */
bool rsm__replicas_valid(const struct rsm_topic *t,
			 const struct rsm_replicas *r);
/* Whether @t's replication state is what rsm__topic_place(t, 1, 1) made:
 * snapshots then leave it out (the format before replication). */
bool rsm__replicas_default(const struct rsm_topic *t);
int rsm__apply_alter_isr(struct rsm *s, struct rsm__rd *rd);
int rsm__apply_fence_broker(struct rsm *s, struct rsm__rd *rd);

/* ---- codec.c ---- */

/* A cursor over the items of a msgpack array; the first error sticks. */
struct rsm__rd {
	const msgpack_object *o;
	uint32_t n, i;
	const char *err;
};
void rsm__rd_init(struct rsm__rd *r, const msgpack_object *array,
		  const char *what);
uint64_t rsm__rd_u64(struct rsm__rd *r);
int64_t rsm__rd_i64(struct rsm__rd *r);
bool rsm__rd_bool(struct rsm__rd *r);
/* Copies a string of at most @max bytes (and no NUL) into @out. */
void rsm__rd_str(struct rsm__rd *r, char *out, size_t max);
/* Enters a nested array. */
void rsm__rd_array(struct rsm__rd *r, struct rsm__rd *sub);
/* All items consumed and no error. */
bool rsm__rd_done(struct rsm__rd *r);

void rsm__pack_str(msgpack_packer *pk, const char *s);
/* Packs the canonical state (the snapshot body). */
int rsm__pack_state(const struct rsm *s, msgpack_sbuffer *sb);
/* Decodes a canonical state into the empty @s. */
int rsm__unpack_state(struct rsm *s, const msgpack_object *root,
		      const char **why);

#endif /* RAFTQ_RSM_INT_H */
