/*
 * rsm.h — the replicated state of a raftq cluster (prefix rsm_; raft_ is
 * libraft's).
 *
 * What is replicated: brokers and their addresses, topics and their queue
 * placement, consumer groups, every committed offset per (group, topic,
 * broker, queue), the reset epoch per (group, topic), and the reset history.
 * Messages themselves are not (each broker stores its own queues).
 *
 * Changes are commands: the leader encodes one with rsm_encode_*() into a
 * raft_malloc'ed buffer and passes it to raft_apply(); every node applies it
 * through the struct raft_fsm that rsm_fsm_init() fills. Apply is
 * deterministic: it depends only on the state and the entry (times come in
 * the entry, never from a clock). It never fails on bad bytes: an entry
 * that does not decode is counted as rejected and the log moves on.
 *
 * Results: apply stores the outcome of each entry in the rsm (struct
 * rsm_result, reached through raft_apply's callback `result` argument). It
 * stays valid until the next entry is applied; libraft runs the leader's
 * apply callback right after applying that entry, so the callback must copy
 * what it needs.
 *
 * Snapshots are the whole state, msgpack-encoded and lz4-framed, after one
 * format-version byte (docs/wire-format.md, "Replicated state").
 *
 * Threading: one thread (the node's loop) owns an rsm.
 */
#ifndef RAFTQ_RSM_H
#define RAFTQ_RSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>

/* X(name, value, text): the one table of rsm error codes. */
#define RSM_ERRORS(X)                                \
	X(RSM_OK, 0, "ok")                           \
	X(RSM_EINVAL, -1, "invalid argument")        \
	X(RSM_ENOMEM, -2, "out of memory")           \
	X(RSM_EBADCMD, -3, "undecodable command")    \
	X(RSM_EEXISTS, -4, "already exists")         \
	X(RSM_EUNKNOWN_BROKER, -5, "unknown broker") \
	X(RSM_EUNKNOWN_TOPIC, -6, "unknown topic")   \
	X(RSM_EUNKNOWN_GROUP, -7, "unknown group")   \
	X(RSM_EUNKNOWN_QUEUE, -8, "unknown queue")   \
	X(RSM_ESTALE_EPOCH, -9, "stale epoch")       \
	X(RSM_EBROADCAST, -10, "broadcasting group") \
	X(RSM_EUNKNOWN_RESET, -11, "unknown reset")  \
	X(RSM_ECORRUPT, -12, "corrupt snapshot")     \
	X(RSM_EVERSION, -13, "unsupported version")  \
	X(RSM_ESTALE_REPLICAS, -14, "stale replica state")

enum rsm_error {
#define RSM_ENUM_(name, value, text) name = (value),
	RSM_ERRORS(RSM_ENUM_)
#undef RSM_ENUM_
};

const char *rsm_strerror(int code);
const char *rsm_errname(int code);

/* Limits, checked by encoders and again by apply. */
#define RSM_NAME_MAX 127 /* topic, group, broker names */
#define RSM_TEXT_MAX 255 /* addresses, requester */
#define RSM_MAX_BROKERS 255
#define RSM_MAX_QUEUES_PER_BROKER 16384
#define RSM_HISTORY_MAX 10000 /* oldest resets are forgotten beyond this */
/* ...and beyond this many queue records in all (a reset of a 10^4-queue
 * topic records 10^4 queues: 10,000 of them would be 10^8 records). */
#define RSM_HISTORY_QUEUES_MAX (1u << 20)
#define RSM_OFFSET_NONE UINT64_MAX /* a queue the group never committed */

/* Names: 1..127 of [A-Za-z0-9._-], or a group's retry or dead-letter
 * topic ("%RETRY%" or "%DLQ%" then a name). Returns true when @s is one. */
bool rsm_name_valid(const char *s);
/* A name a user may create a topic, group or broker with: valid and not
 * starting with '%' (reserved for retry and dead-letter topics). */
bool rsm_name_user_valid(const char *s);

/* Retry and dead letters (DESIGN.md §2.2): a clustering group created
 * with retry settings has two topics of one queue per broker, made and
 * removed with it. */
#define RSM_RETRY_PREFIX "%RETRY%"
#define RSM_DLQ_PREFIX "%DLQ%"
#define RSM_RETRY_GROUP_MAX (RSM_NAME_MAX - 7) /* so "%RETRY%G" fits */
#define RSM_RETRY_STEPS_MAX 32
#define RSM_RECONSUME_MAX 1000
#define RSM_RETRY_DELAY_MAX_MS 86400000u /* one step: at most a day */
struct rsm_retry {
	uint32_t max_reconsume_times;		 /* 1..RSM_RECONSUME_MAX */
	uint32_t n_delays;			 /* 0: the group has no retry */
	uint32_t delays_ms[RSM_RETRY_STEPS_MAX]; /* each 1..a day */
};
/* Writes "%RETRY%@group" / "%DLQ%@group" into @out (RSM_NAME_MAX + 1). */
void rsm_retry_topic(char *out, const char *group);
void rsm_dlq_topic(char *out, const char *group);
/* The group a retry or dead-letter topic belongs to, or NULL. */
const char *rsm_internal_group(const char *topic);
/* Whether @g starts at the earliest message on a queue of @topic it never
 * committed: by its initial rule, and always on its own retry and
 * dead-letter topics (nothing in them may be skipped). */
struct rsm_group;
bool rsm_starts_earliest(const struct rsm_group *g, const char *topic);
/* The delay before retry number @times (1 = the first): the ladder's
 * step, its last step once past the end. */
uint32_t rsm_retry_delay(const struct rsm_retry *r, uint32_t times);
/* Whether @c may be in a name (the rule rsm_name_valid applies). */
static inline bool rsm_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

enum rsm_group_mode { RSM_CLUSTERING = 0, RSM_BROADCASTING = 1 };
enum rsm_initial { RSM_INITIAL_LATEST = 0, RSM_INITIAL_EARLIEST = 1 };

/* What an operator asked a reset for (recorded in the history). */
enum rsm_target_kind {
	RSM_TARGET_LATEST = 0,
	RSM_TARGET_EARLIEST = 1,
	RSM_TARGET_TIME = 2,	 /* value: ms since the epoch */
	RSM_TARGET_OFFSET = 3,	 /* value: the offset */
	RSM_TARGET_SHIFT = 4,	 /* value: signed shift */
	RSM_TARGET_DURATION = 5, /* value: ms back from the reset's time */
	RSM_TARGET_UNDO = 6,	 /* value: the id of the reset undone */
	RSM_TARGET_CURRENT = 7,	 /* where the group is (--to-current) */
	RSM_TARGET_PLAN = 8,	 /* offsets from a plan file (--from-file) */
	RSM_TARGET_GROUP = 9,	 /* another group's offsets (--to-group);
				    the record's source names it */
};
#define RSM_TARGET_LAST RSM_TARGET_GROUP
#define RSM_RESET_TOPICS_MAX 256 /* topics in one reset */
const char *rsm_target_name(enum rsm_target_kind kind);

/* ---- State, read side ---- */

struct rsm_broker {
	uint64_t id; /* raft node id */
	char name[RSM_NAME_MAX + 1];
	char listen[RSM_TEXT_MAX + 1]; /* client address */
	char raft_address[RSM_TEXT_MAX + 1];
	/* Its session expired (RSM_CMD_FENCE_BROKER): it leads no queue and
	 * is in no in-sync set it is not the last member of. */
	bool fenced;
};

/* Message replication (docs/design/replication.md): each queue of a
 * topic has 1..RSM_REPLICAS_MAX replicas on distinct brokers of the
 * topic, one of which leads it. */
#define RSM_REPLICAS_MAX 5
struct rsm_replicas {
	uint64_t leader_epoch; /* 1 at creation, +1 at every leader change */
	uint64_t version;      /* +1 at every change of this struct */
	uint64_t log_start;    /* the leader's MinOffset as last reported */
	uint8_t n;	       /* replicas */
	int8_t leader;	       /* index into replica[]; -1: offline */
	uint8_t isr;	       /* bit i: replica[i] is in sync; never 0,
				  has the leader's bit when there is one */
	/* Indexes into the topic's brokers, placement order: the queue's
	 * home (its broker in its name) first. */
	uint8_t replica[RSM_REPLICAS_MAX];
};

struct rsm_topic {
	char name[RSM_NAME_MAX + 1];
	uint32_t queues_per_broker;
	uint32_t n_brokers;
	char (*brokers)[RSM_NAME_MAX + 1]; /* sorted by name */
	int64_t created;
	uint8_t replication_factor; /* 1..RSM_REPLICAS_MAX */
	uint8_t min_insync;	    /* acks=all needs this many in sync */
	struct rsm_replicas *reps;  /* one per queue, index order */
};

/* Queues of a topic are numbered broker by broker (sorted by name), then
 * by queue id: index = broker_index * queues_per_broker + queue_id. This is
 * the order every result is sorted in (DESIGN.md §2). */
static inline uint32_t rsm_topic_queues(const struct rsm_topic *t)
{
	return t->n_brokers * t->queues_per_broker;
}

/* A group's position on one topic. */
struct rsm_group_topic {
	char topic[RSM_NAME_MAX + 1];
	uint64_t epoch;	   /* incremented by every reset */
	uint32_t n;	   /* = rsm_topic_queues(topic) */
	uint64_t *offsets; /* RSM_OFFSET_NONE where never committed */
};

struct rsm_group {
	char name[RSM_NAME_MAX + 1];
	enum rsm_group_mode mode;
	enum rsm_initial initial;
	int64_t created;
	struct rsm_retry retry; /* n_delays 0: no retry (broadcasting, or
				   created before raftq had retry) */
	uint32_t n_topics;
	struct rsm_group_topic *topics; /* sorted by topic name */
};

struct rsm_reset_queue {
	/* Interned (one copy of each broker name per state, rsm__intern):
	 * valid while the state lives. */
	const char *broker;
	uint32_t queue_id;
	uint64_t previous; /* RSM_OFFSET_NONE if never committed */
	uint64_t offset;   /* the new offset */
	uint64_t min_offset;
	uint64_t max_offset;
	bool clamped; /* the target fell outside [min, max] */
	bool skipped; /* a copy whose source never committed: kept */
};

/* One topic's part of a reset. A reset of several topics is one entry and
 * one record per topic, all with the same id, sorted by topic. */
struct rsm_reset {
	uint64_t id;
	int64_t time;
	char requester[RSM_TEXT_MAX + 1];
	char group[RSM_NAME_MAX + 1];
	char topic[RSM_NAME_MAX + 1];
	enum rsm_target_kind target;
	int64_t target_value;
	char source[RSM_NAME_MAX + 1]; /* RSM_TARGET_GROUP: copied group */
	uint64_t epoch;		       /* the epoch this reset started */
	uint32_t n;
	struct rsm_reset_queue *queues; /* sorted by broker, queue id */
};

struct rsm;

/* Creates an empty state. Returns NULL when out of memory. */
struct rsm *rsm_new(void);
void rsm_free(struct rsm *s);

/* Lookups: borrowed pointers, valid until the next apply or restore. */
const struct rsm_broker *rsm_broker_by_id(const struct rsm *s, uint64_t id);
const struct rsm_broker *rsm_broker_by_name(const struct rsm *s,
					    const char *name);
uint32_t rsm_broker_count(const struct rsm *s);
const struct rsm_broker *rsm_broker_at(const struct rsm *s, uint32_t i);
const struct rsm_topic *rsm_topic_find(const struct rsm *s, const char *name);
uint32_t rsm_topic_count(const struct rsm *s);
const struct rsm_topic *rsm_topic_at(const struct rsm *s, uint32_t i);
const struct rsm_group *rsm_group_find(const struct rsm *s, const char *name);
uint32_t rsm_group_count(const struct rsm *s);
const struct rsm_group *rsm_group_at(const struct rsm *s, uint32_t i);
/* NULL when the group has neither committed nor been reset on @topic. */
const struct rsm_group_topic *rsm_group_topic(const struct rsm_group *g,
					      const char *topic);
/* Queue index in @t of (broker, queue_id), or -1. */
int64_t rsm_topic_queue_index(const struct rsm_topic *t, const char *broker,
			      uint32_t queue_id);
/* Queue @qi's replicas (qi < rsm_topic_queues(t)). */
static inline const struct rsm_replicas *
rsm_queue_replicas(const struct rsm_topic *t, uint32_t qi)
{
	return &t->reps[qi];
}
/* The broker name of replica @i of @r, a queue of @t. */
static inline const char *rsm_replica_broker(const struct rsm_topic *t,
					     const struct rsm_replicas *r,
					     uint32_t i)
{
	return t->brokers[r->replica[i]];
}
/* The broker leading queue @qi of @t, or NULL while it is offline. */
const char *rsm_queue_leader(const struct rsm_topic *t, uint32_t qi);
/* The index in @r's replicas of @broker, or -1. */
int rsm_replica_index(const struct rsm_topic *t, const struct rsm_replicas *r,
		      const char *broker);
/* Whether @broker is in @r's in-sync set. */
bool rsm_replica_in_sync(const struct rsm_topic *t,
			 const struct rsm_replicas *r, const char *broker);
/* Resets, oldest first (at most RSM_HISTORY_MAX). */
uint32_t rsm_reset_count(const struct rsm *s);
const struct rsm_reset *rsm_reset_at(const struct rsm *s, uint32_t i);
/* The first record of reset @id (NULL if forgotten); *n (if not NULL) is
 * its number of records, one per topic, consecutive from the first. */
const struct rsm_reset *rsm_reset_find(const struct rsm *s, uint64_t id,
				       uint32_t *n);

/* The latest `created` of any deleted topic (0: none was deleted): a new
 * topic must be created after it (RSM_CMD_DELETE_TOPIC). */
int64_t rsm_topic_clock(const struct rsm *s);

/* Entries applied, and entries rejected as undecodable. */
uint64_t rsm_applied(const struct rsm *s);
uint64_t rsm_rejected(const struct rsm *s);

/* A digest of the whole state: 64-bit FNV-1a of its canonical msgpack
 * encoding (the snapshot's, before compression); equal states have equal
 * digests. For tests and `cluster status` consistency checks. 0 when out
 * of memory. */
uint64_t rsm_digest(const struct rsm *s);

/* ---- Commands, write side ---- */

enum rsm_cmd_type {
	RSM_CMD_REGISTER_BROKER = 1,
	RSM_CMD_CREATE_TOPIC = 2,
	RSM_CMD_CREATE_GROUP = 3,
	RSM_CMD_COMMIT = 4,
	RSM_CMD_RESET = 5,
	/* Fixes a group's first position on queues it never committed (the
	 * initial rule at its first read): applied per item only while the
	 * queue is still uncommitted and the epoch unchanged. */
	RSM_CMD_INIT_OFFSETS = 6,
	/* Removes a group: its offsets, epochs and reset history. */
	RSM_CMD_DELETE_GROUP = 7,
	/* A reset of several topics, or a copy of another group (the forms
	 * RSM_CMD_RESET cannot carry; rsm_encode_reset picks the type). */
	RSM_CMD_RESET_TOPICS = 8,
	/* Removes a topic: its groups' offsets and epochs on it, and its
	 * reset records. Its `created` becomes a floor: a topic created
	 * later (the same name again) must have a later `created`, so each
	 * incarnation of a name is told apart by it (the brokers' files). */
	RSM_CMD_DELETE_TOPIC = 9,
	/* A queue leader changes its queue's in-sync set (and reports its
	 * log start); applied only while the queue's version is still the
	 * one the leader read (docs/design/replication.md §3). */
	RSM_CMD_ALTER_ISR = 10,
	/* Fences or unfences a broker: in-sync sets and queue leaders move
	 * as docs/design/replication.md §3 says. */
	RSM_CMD_FENCE_BROKER = 11,
};

/* One offset commit, with its names copied in: the leader's batch keeps
 * these across a loop turn, and apply decodes into them. */
struct rsm_commit {
	char group[RSM_NAME_MAX + 1];
	char topic[RSM_NAME_MAX + 1];
	char broker[RSM_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t offset;
	uint64_t epoch; /* the epoch the consumer read */
};

/* Fills @c (names copied); RSM_EINVAL when a name is not valid
 * (rsm_name_valid), @c then unspecified. */
int rsm_commit_init(struct rsm_commit *c, const char *group, const char *topic,
		    const char *broker, uint32_t queue_id, uint64_t offset,
		    uint64_t epoch);

/* How a reset moves one queue. */
enum rsm_move {
	RSM_MOVE_ABSOLUTE = 0, /* value, clamped to [min, max] */
	RSM_MOVE_SHIFT = 1,    /* current (or unset_base) + value, clamped */
	RSM_MOVE_UNSET = 2,    /* back to never-committed (undo only) */
	RSM_MOVE_COPY = 3,     /* the source group's offset, clamped; kept
				  (skipped) where it never committed */
};

struct rsm_reset_move {
	const char *broker; /* borrowed */
	uint32_t queue_id;
	enum rsm_move move;
	int64_t value;
	uint64_t min_offset; /* the hosting broker's, when the leader asked */
	uint64_t max_offset;
	uint64_t unset_base; /* SHIFT: the current offset if none committed */
};

/* One topic of a reset. */
struct rsm_reset_part {
	const char *topic; /* borrowed */
	uint32_t n;	   /* every queue of the topic, or a subset */
	const struct rsm_reset_move *moves;
	/* The guard: applied only while the group's epoch on the topic is
	 * still expect_epoch (else RSM_ESTALE_EPOCH, nothing changes). */
	bool expect;
	uint64_t expect_epoch;
};

/* A reset: every part applies, or none (one entry). */
struct rsm_reset_cmd {
	int64_t time;
	const char *requester; /* borrowed */
	const char *group;
	enum rsm_target_kind target;
	int64_t target_value;
	const char *source; /* RSM_TARGET_GROUP: the group copied; else NULL */
	uint32_t n_parts;   /* 1..RSM_RESET_TOPICS_MAX, topics ascending */
	const struct rsm_reset_part *parts;
};

/*
 * Encoders: each fills @out with a raft_malloc'ed buffer that raft_apply
 * takes over (free it with raft_free if raft_apply fails). Arguments are
 * validated as apply would (names, limits): RSM_EINVAL with a message in
 * @errmsg (may be NULL), RSM_ENOMEM.
 */
int rsm_encode_register_broker(const struct rsm_broker *b,
			       struct raft_buffer *out, char *errmsg,
			       size_t errmsg_len);
struct rsm_topic_spec {
	const char *name;
	uint32_t queues_per_broker;
	const char *const *brokers;
	uint32_t n_brokers;
	/* 0 or 1: one copy; else 2..min(RSM_REPLICAS_MAX, n_brokers). */
	uint32_t replication_factor;
	/* 0: min(2, replication_factor); else 1..replication_factor. */
	uint32_t min_insync;
	int64_t time; /* its `created` */
};
int rsm_encode_create_topic(const struct rsm_topic_spec *spec,
			    struct raft_buffer *out, char *errmsg,
			    size_t errmsg_len);
/* A queue leader's request to set the in-sync set of queue (@topic of
 * creation time @created, @home, @queue_id) to @isr (broker names). */
struct rsm_alter_isr {
	const char *topic;
	int64_t created;
	const char *home;
	uint32_t queue_id;
	uint64_t leader_epoch; /* the leader's epoch */
	uint64_t version;      /* the rsm_replicas version it read */
	const char *const *isr;
	uint32_t n_isr;
	uint64_t log_start;
};
int rsm_encode_alter_isr(const struct rsm_alter_isr *a, struct raft_buffer *out,
			 char *errmsg, size_t errmsg_len);
int rsm_encode_fence_broker(const char *name, bool fenced,
			    struct raft_buffer *out, char *errmsg,
			    size_t errmsg_len);
/* @retry NULL or with n_delays 0: a group without retry; else (clustering
 * only, the name at most RSM_RETRY_GROUP_MAX) apply also creates
 * "%RETRY%name" and "%DLQ%name", one queue on each of the @n_brokers
 * @brokers (the leader's current voters). */
int rsm_encode_create_group(const char *name, enum rsm_group_mode mode,
			    enum rsm_initial initial, int64_t time,
			    const struct rsm_retry *retry,
			    const char *const *brokers, uint32_t n_brokers,
			    struct raft_buffer *out, char *errmsg,
			    size_t errmsg_len);
int rsm_encode_delete_group(const char *name, struct raft_buffer *out,
			    char *errmsg, size_t errmsg_len);
int rsm_encode_delete_topic(const char *name, struct raft_buffer *out,
			    char *errmsg, size_t errmsg_len);
int rsm_encode_commit(const struct rsm_commit *items, uint32_t n,
		      struct raft_buffer *out, char *errmsg, size_t errmsg_len);
/* One topic without a source: RSM_CMD_RESET in the form every raftq
 * version reads; else RSM_CMD_RESET_TOPICS. */
int rsm_encode_reset(const struct rsm_reset_cmd *cmd, struct raft_buffer *out,
		     char *errmsg, size_t errmsg_len);
/* The same items as a commit; RSM_CMD_INIT_OFFSETS. */
int rsm_encode_init_offsets(const struct rsm_commit *items, uint32_t n,
			    struct raft_buffer *out, char *errmsg,
			    size_t errmsg_len);

/* The outcome of the last applied entry. */
struct rsm_result {
	enum rsm_cmd_type type; /* 0 when the entry did not decode */
	int code;		/* RSM_OK or an RSM_E* code */
	char message[512];	/* why, when code != RSM_OK */
	/* RSM_CMD_COMMIT: one code per item, in order (owned by the rsm). */
	uint32_t n_items;
	int *item_codes;
	/* RSM_CMD_RESET(_TOPICS): the reset's first record and its number
	 * of records, one per topic (owned by the rsm). */
	const struct rsm_reset *reset;
	uint32_t n_reset;
	/* RSM_CMD_DELETE_TOPIC: the topic removed and its creation time.
	 * RSM_CMD_DELETE_GROUP of a group with retry: its retry topic here,
	 * and its dead-letter topic in deleted_dlq (same creation time). */
	char deleted_topic[RSM_NAME_MAX + 1];
	char deleted_dlq[RSM_NAME_MAX + 1];
	int64_t deleted_created;
};

/*
 * Applies one encoded command to @s and returns its result (owned by @s,
 * valid until the next apply). Never fails: bad bytes give a result with
 * type 0 and code RSM_EBADCMD (or RSM_EVERSION), and count as rejected.
 * Running out of memory mid-apply is the one exception: RSM_ENOMEM is
 * returned and the state is unchanged, so raft retries the entry.
 */
int rsm_apply(struct rsm *s, const void *buf, size_t len,
	      const struct rsm_result **result);

/* ---- Snapshots ---- */

/* Encodes the whole state into one malloc'ed buffer (*out, *len; caller
 * frees). RSM_ENOMEM. */
int rsm_snapshot(const struct rsm *s, void **out, size_t *len);
/* Replaces @s's state with the snapshot's. On failure (RSM_ECORRUPT,
 * RSM_EVERSION, RSM_ENOMEM, message in @errmsg) @s is unchanged. */
int rsm_restore(struct rsm *s, const void *buf, size_t len, char *errmsg,
		size_t errmsg_len);

/* Fills @fsm so libraft applies, snapshots and restores @s. @s is borrowed
 * and must outlive the raft instance. Version 3: a snapshot copies the
 * state on the loop and encodes the copy with @io's async_work (a libuv
 * pool thread), so @io must be version 2 or later (raft_uv is, but says
 * 1: set io.version = 2 after raft_uv_init; notes/libraft-0.15.md). */
void rsm_fsm_init(struct raft_fsm *fsm, struct rsm *s);

/* Called by @fsm's apply after each entry (its result) and by its restore
 * after a snapshot replaced the state (@res NULL): what the daemon reacts
 * to, e.g. waking fetches parked under an epoch a reset just ended. */
typedef void (*rsm_applied_fn)(void *arg, const struct rsm_result *res);
/* Sets the hook (kept across restores); @fn NULL: none. */
void rsm_on_applied(struct rsm *s, rsm_applied_fn fn, void *arg);

/* What @fsm's snapshot and restore did since start (kept across restores,
 * not part of the state): counts, the time spent on the loop thread
 * (snapshot_us: the copies; restore_us), the time encoding snapshots off
 * the loop, and the size of the last snapshot taken. */
struct rsm_fsm_stats {
	uint64_t snapshots, restores;
	uint64_t snapshot_us, restore_us;
	uint64_t encode_us;
	uint64_t last_snapshot_bytes;
};
/* Borrowed: points into @s, valid while @s lives. */
const struct rsm_fsm_stats *rsm_fsm_stats(const struct rsm *s);

#endif /* RAFTQ_RSM_H */
