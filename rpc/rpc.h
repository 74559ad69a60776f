/*
 * rpc.h — raftq's client/admin protocol: frames, the message schema, wire
 * status codes, and libuv connections.
 *
 * A frame is a 4-byte big-endian length (of what follows) and one msgpack
 * array [version, type, request_id, body] (DESIGN.md §6). Bodies are msgpack
 * maps keyed by field name, so fields can be added without breaking older
 * peers (unknown keys are skipped). Every message type has one table of
 * fields (rpc/schema.c) from which its encoder, decoder and name come.
 *
 * Types: a request has a type 1..0x3fff, its response the same type with
 * RPC_RESPONSE set, a server-pushed notice a type with RPC_NOTICE set.
 * Every response carries a struct rpc_status ("code", and on error
 * "message"; NOT_LEADER also "leader").
 *
 * Byte-level layout: docs/wire-format.md.
 */
#ifndef RAFTQ_RPC_H
#define RAFTQ_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <uv.h>

/* ---- Module errors (local failures; never on the wire) ---- */

#define RPC_ERRORS(X)                                            \
	X(RPC_OK_, 0, "ok")                                      \
	X(RPC_EINVAL, -1, "invalid argument")                    \
	X(RPC_ENOMEM, -2, "out of memory")                       \
	X(RPC_ETOOBIG, -3, "frame too large")                    \
	X(RPC_EMALFORMED, -4, "malformed frame")                 \
	X(RPC_EVERSION, -5, "unsupported protocol version")      \
	X(RPC_ECLOSED, -6, "connection closed")                  \
	X(RPC_ETIMEDOUT, -7, "request timed out")                \
	X(RPC_ECANCELED, -8, "canceled")                         \
	X(RPC_ECONNECT, -9, "cannot connect")                    \
	X(RPC_EBUSY, -10, "too many bytes pending")              \
	X(RPC_EADDRINUSE, -11, "address already in use")         \
	X(RPC_ELISTEN, -12, "cannot listen on the address")      \
	X(RPC_ECONNLIMIT, -13, "too many connections")           \
	X(RPC_EBUFLIMIT, -14, "too many request bytes buffered") \
	X(RPC_ERATELIMIT, -15, "too many requests per second")

enum rpc_error {
#define RPC_ENUM_(name, value, text) name = (value),
	RPC_ERRORS(RPC_ENUM_)
#undef RPC_ENUM_
};
const char *rpc_strerror(int code);
const char *rpc_errname(int code);

/* ---- Wire status codes (DESIGN.md §6) ---- */

#define RPC_CODES(X)                    \
	X(RPC_OK, 0)                    \
	X(RPC_NOT_LEADER, 1)            \
	X(RPC_UNKNOWN_TOPIC, 2)         \
	X(RPC_UNKNOWN_GROUP, 3)         \
	X(RPC_INVALID_ARGUMENT, 4)      \
	X(RPC_STALE_EPOCH, 5)           \
	X(RPC_BROADCAST_UNSUPPORTED, 6) \
	X(RPC_GROUP_ACTIVE, 7)          \
	X(RPC_OFFSET_MOVED, 8)          \
	X(RPC_UNAVAILABLE, 9)           \
	X(RPC_TIMEOUT, 10)              \
	X(RPC_FORBIDDEN, 11)            \
	X(RPC_UNSUPPORTED_VERSION, 12)  \
	X(RPC_ALREADY_EXISTS, 13)       \
	X(RPC_NOT_FOUND, 14)            \
	X(RPC_INTERNAL, 15)

enum rpc_code {
#define RPC_CODE_(name, value) name = (value),
	RPC_CODES(RPC_CODE_)
#undef RPC_CODE_
};
/* "NOT_LEADER" for RPC_NOT_LEADER (what users see); NULL if unknown. */
const char *rpc_code_name(uint32_t code);
/* The code named @name ("STALE_EPOCH"), or -1. */
int rpc_code_parse(const char *name);

/* ---- Frames ---- */

#define RPC_VERSION 1u
#define RPC_RESPONSE 0x8000u
#define RPC_NOTICE 0x4000u
#define RPC_FRAME_MAX_DEFAULT (16u << 20)
#define RPC_FRAME_HEADER 4u

/*
 * A streaming frame reader: feed it bytes as they arrive, take frames out.
 * The length prefix is checked as soon as it arrives, so an oversized
 * frame is refused before its body is buffered.
 */
struct rpc_reader {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t start; /* consumed bytes at the front */
	uint32_t max_frame;
};

/* A decoded frame. Strings and arrays in a decoded body live in @zone (and
 * binary fields point into @raw); all is freed by rpc_frame_release. */
struct rpc_frame {
	uint8_t version;
	uint16_t type;
	uint64_t request_id;
	const msgpack_object *body; /* a map, or NULL */
	msgpack_unpacked unpacked;
	uint8_t *raw; /* the frame's bytes (owned) */
	size_t raw_len;
	uint32_t conn_tag; /* a request's: its connection's tag (server) */
};

void rpc_reader_init(struct rpc_reader *r, uint32_t max_frame);
void rpc_reader_close(struct rpc_reader *r);
/* Copies @n bytes in. RPC_ENOMEM. */
int rpc_reader_feed(struct rpc_reader *r, const void *data, size_t n);
/* Frees the buffer of a reader that holds no bytes, when it grew beyond
 * RPC_READER_KEEP (a big frame leaves no big buffer behind). */
#define RPC_READER_KEEP (64u << 10)
void rpc_reader_trim(struct rpc_reader *r);
/*
 * Takes the next whole frame out: returns 1 and fills @f (release it with
 * rpc_frame_release), 0 when more bytes are needed, or RPC_ETOOBIG,
 * RPC_EMALFORMED, RPC_EVERSION (with the frame's request id and type in
 * @f when they could be read: a server answers UNSUPPORTED_VERSION to
 * them), RPC_ENOMEM. After an error the reader is unusable: close the
 * connection.
 */
int rpc_reader_next(struct rpc_reader *r, struct rpc_frame *f);
void rpc_frame_release(struct rpc_frame *f);
/* Moves @src's contents (and ownership) to @dst; @src is left empty, so
 * releasing it is a no-op. A request handler keeps a frame past its
 * callback this way; a body decoded before the move stays valid (it
 * points into the frame's heap buffers, never into struct rpc_frame). */
void rpc_frame_move(struct rpc_frame *dst, struct rpc_frame *src);

/* ---- Message schema ---- */

/* Field kinds of the schema tables. */
enum rpc_kind {
	RPC_K_U64,  /* uint64_t */
	RPC_K_U32,  /* uint32_t */
	RPC_K_I64,  /* int64_t */
	RPC_K_BOOL, /* bool */
	RPC_K_STR,  /* const char *, NUL-terminated (NULL = absent) */
	RPC_K_BIN,  /* struct rpc_bin */
	RPC_K_STRS, /* struct rpc_strs */
	RPC_K_U64S, /* struct rpc_u64s */
	RPC_K_LIST, /* struct rpc_list of elements described by @elem */
};

struct rpc_bin {
	const uint8_t *ptr; /* borrowed (encode) / into the frame (decode) */
	uint32_t len;
};
struct rpc_strs {
	const char *const *v;
	uint32_t n;
};
struct rpc_u64s {
	const uint64_t *v;
	uint32_t n;
};
struct rpc_list {
	const void *v; /* array of the element struct */
	uint32_t n;
};

struct rpc_schema;
struct rpc_field {
	const char *name;
	enum rpc_kind kind;
	size_t offset;
	bool required;
	const struct rpc_schema *elem; /* RPC_K_LIST */
};
struct rpc_schema {
	const char *name;
	size_t size; /* of the struct */
	uint32_t n;
	const struct rpc_field *fields;
};

/* Every response's status. */
struct rpc_status {
	uint32_t code;	     /* enum rpc_code */
	const char *message; /* NULL when OK */
	const char *leader;  /* NOT_LEADER: the leader's client address */
	/* Refused before anything was done: the same request may be sent
	 * again (to the leader, or after a moment). Always set with
	 * NOT_LEADER; never when the outcome is unknown. */
	bool retry;
};

/* ---- Messages ---- */

/* X(type number, NAME, request struct, response struct) */
#define RPC_MESSAGES(X)                                                     \
	X(1, ROUTE, rpc_empty, rpc_route_resp)                              \
	X(2, CLUSTER_STATUS, rpc_status_req, rpc_status_resp)               \
	X(3, TOPIC_CREATE, rpc_topic_create_req, rpc_topic_create_resp)     \
	X(4, TOPIC_LIST, rpc_empty, rpc_names_resp)                         \
	X(5, TOPIC_DESCRIBE, rpc_topic_req, rpc_topic_describe_resp)        \
	X(6, QUEUE_STATS, rpc_queue_stats_req, rpc_queue_stats_resp)        \
	X(7, PRODUCE, rpc_produce_req, rpc_produce_resp)                    \
	X(8, FETCH, rpc_fetch_req, rpc_fetch_resp)                          \
	X(9, COMMIT, rpc_commit_req, rpc_commit_resp)                       \
	X(10, OFFSETS, rpc_offsets_req, rpc_offsets_resp)                   \
	X(11, GROUP_CREATE, rpc_group_create_req, rpc_empty)                \
	X(12, GROUP_LIST, rpc_empty, rpc_names_resp)                        \
	X(13, GROUP_DESCRIBE, rpc_group_req, rpc_group_describe_resp)       \
	X(14, HEARTBEAT, rpc_heartbeat_req, rpc_heartbeat_resp)             \
	X(15, RESET, rpc_reset_req, rpc_reset_resp)                         \
	X(16, HISTORY, rpc_history_req, rpc_history_resp)                   \
	X(17, UNDO, rpc_undo_req, rpc_reset_resp)                           \
	X(18, JOIN, rpc_join_req, rpc_empty)                                \
	X(19, LEAVE, rpc_leave_req, rpc_empty)                              \
	X(20, NODE_REMOVE, rpc_node_remove_req, rpc_empty)                  \
	X(21, GROUP_DELETE, rpc_group_req, rpc_empty)                       \
	X(22, TOPIC_DELETE, rpc_topic_req, rpc_empty)                       \
	X(23, AUTH, rpc_auth_req, rpc_auth_resp)                            \
	X(24, SEND_BACK, rpc_send_back_req, rpc_send_back_resp)             \
	X(25, REPLICA_FETCH, rpc_replica_fetch_req, rpc_replica_fetch_resp) \
	X(26, ALTER_ISR, rpc_alter_isr_req, rpc_empty)

/* X(type number, NAME, body struct) — pushed by the server. */
#define RPC_NOTICES(X)                                            \
	X(RPC_NOTICE | 1, RESET_NOTICE, rpc_reset_notice)         \
	X(RPC_NOTICE | 2, REBALANCE_NOTICE, rpc_rebalance_notice) \
	X(RPC_NOTICE | 3, GOAWAY_NOTICE, rpc_goaway_notice)

enum rpc_type {
#define RPC_TYPE_(num, NAME, req, resp) RPC_##NAME = (num),
	RPC_MESSAGES(RPC_TYPE_)
#undef RPC_TYPE_
#define RPC_NTYPE_(num, NAME, body) RPC_##NAME = (num),
	    RPC_NOTICES(RPC_NTYPE_)
#undef RPC_NTYPE_
};

struct rpc_empty {
	char unused_;
};

struct rpc_broker_info {
	uint64_t id;
	const char *name;
	const char *listen;
	const char *raft_address;
};
struct rpc_topic_info {
	const char *name;
	uint32_t queues_per_broker;
	struct rpc_strs brokers;
	/* Message replication (docs/design/replication.md): absent (0) is
	 * 1; @leaders, when present, names the broker leading each queue in
	 * index order ("" while a queue is offline); absent: the homes. */
	uint32_t replication_factor;
	struct rpc_strs leaders;
};
struct rpc_route_resp {
	uint64_t leader_id;	    /* 0 when unknown */
	const char *leader_address; /* leader's client address */
	struct rpc_list brokers;    /* struct rpc_broker_info */
	struct rpc_list topics;	    /* struct rpc_topic_info */
};

struct rpc_status_req {
	bool local; /* only this node's own line (nodes ask each other) */
	/* The asking node's broker name: its heartbeat to the Raft leader
	 * (docs/design/replication.md §6; counted from nodes only). */
	const char *from;
};
struct rpc_node_status {
	uint64_t id;
	const char *name;
	const char *listen;
	const char *raft_address;
	const char *role; /* leader, follower, candidate, unavailable */
	uint64_t term;
	uint64_t commit_index;
	uint64_t applied_index;
};
struct rpc_status_resp {
	uint64_t leader_id;
	struct rpc_list nodes; /* struct rpc_node_status */
};

struct rpc_topic_create_req {
	const char *topic;
	uint32_t queues;
	struct rpc_strs brokers; /* empty: all */
	/* 0: 3 when the cluster has 3 or more brokers, else 1 */
	uint32_t replication_factor;
	uint32_t min_insync_replicas; /* 0: min(2, replication_factor) */
};
struct rpc_topic_create_resp {
	struct rpc_strs brokers; /* the brokers the topic is on */
	uint32_t replication_factor;
	uint32_t min_insync_replicas;
};
struct rpc_names_resp {
	struct rpc_strs names;
};
struct rpc_topic_req {
	const char *topic;
};
struct rpc_queue_info {
	const char *broker_name;
	uint32_t queue_id;
	uint64_t min_offset;
	uint64_t max_offset;
	int64_t first_store_time; /* -1 if empty */
	int64_t last_store_time;
	/* Replication: who leads (absent while offline), the replicas (the
	 * home first) and the in-sync ones. */
	const char *leader_broker;
	struct rpc_strs replicas;
	struct rpc_strs isr;
};
struct rpc_topic_describe_resp {
	const char *topic;
	struct rpc_list queues; /* struct rpc_queue_info */
};

/* Leader -> hosting broker: bounds (and offset for a time) of local
 * queues, the first step of a reset. */
struct rpc_queue_stats_req {
	const char *topic;
	/* The queues' home (NULL: this broker): a replicated queue is asked
	 * of its leader, which may be another broker. */
	const char *broker;
	struct rpc_u64s queue_ids; /* empty: all local queues of the topic */
	bool with_time;
	int64_t time;
};
struct rpc_queue_stat {
	uint32_t queue_id;
	uint64_t min_offset;
	uint64_t max_offset;
	uint64_t time_offset; /* with_time: first offset stored at >= time */
	int64_t first_store_time; /* -1 if empty */
	int64_t last_store_time;
	/* Records in the broker's schedule store waiting to be appended to
	 * this queue (delayed messages; retries for a %RETRY% topic). */
	uint64_t scheduled;
};
struct rpc_queue_stats_resp {
	const char *broker_name;
	struct rpc_list queues; /* struct rpc_queue_stat */
};

struct rpc_produce_req {
	const char *topic;
	uint32_t queue_id;
	uint32_t count;
	uint32_t flags; /* STOR_BATCH_* */
	struct rpc_bin payload;
	/* A delayed batch (DESIGN.md §2.2): appended when due — at
	 * @deliver_at (ms since the epoch) or @delay_ms after the broker got
	 * it; at most 40 days ahead. 0: now. */
	int64_t deliver_at;
	uint32_t delay_ms;
	/* The queue's home (NULL: this broker) — a replicated queue is
	 * written at its leader — and when to answer (enum rpc_acks). */
	const char *broker;
	uint32_t acks;
};
enum rpc_acks {
	RPC_ACKS_ALL = 0,    /* every in-sync replica has it (default) */
	RPC_ACKS_LEADER = 1, /* the leader stored it */
	RPC_ACKS_NONE = 2,   /* the leader accepted it, before storing */
};
/* SEND_BACK (DESIGN.md §2.2): a member of @group failed the message at
 * @offset of (@topic, this broker's @queue_id); the broker keeps it for
 * the group's retry queue, or its dead-letter queue past
 * max_reconsume_times. */
struct rpc_send_back_req {
	const char *group;
	const char *topic;
	uint32_t queue_id;
	uint64_t offset;
	const char *reason; /* optional, at most RPC_REASON_MAX bytes */
	const char *broker; /* the queue's home; NULL: this broker */
};
struct rpc_send_back_resp {
	uint32_t reconsume_times; /* the count it now carries */
	bool dead_letter;	  /* stored in %DLQ%group */
	int64_t deliver_at;	  /* the retry's due time (not a dead letter) */
};
struct rpc_produce_resp {
	uint64_t base_offset; /* not with @scheduled */
	int64_t store_time;
	/* A delayed batch: its id in the broker's schedule store and when it
	 * will be appended (it has no offset until then). */
	uint64_t scheduled;
	int64_t deliver_at;
};

struct rpc_fetch_req {
	const char *group; /* NULL: no epoch check */
	const char *topic;
	uint32_t queue_id;
	uint64_t offset;
	uint64_t epoch;
	uint32_t max_bytes;
	/* With nothing past offset: wait up to this long for data (0: answer
	 * at once; the broker cuts it to 30 s). */
	uint32_t max_wait_ms;
	/* Without @group: the group a broadcasting member reads for — what
	 * [auth] checks (consume:GROUP); no epoch check. */
	const char *as_group;
	const char *broker; /* the queue's home; NULL: this broker */
};
struct rpc_fetch_resp {
	struct rpc_bin batches; /* whole batches (docs/disk-format.md) */
	uint64_t min_offset;
	uint64_t max_offset;
	/* OFFSET_MOVED: where to resume, under which epoch. */
	uint64_t offset;
	uint64_t epoch;
};

/* REPLICA_FETCH (docs/design/replication.md §4): a follower broker asks
 * a queue leader for the batches after its log end, for every queue it
 * follows there. */
struct rpc_replica_item {
	const char *topic;
	int64_t created;    /* the topic's incarnation */
	const char *broker; /* the queue's home */
	uint32_t queue_id;
	uint64_t leader_epoch; /* the follower's view of the queue */
	uint64_t offset;       /* the follower's log end */
	uint64_t last_epoch;   /* of its last batch; 0: none recorded */
};
struct rpc_replica_fetch_req {
	const char *replica; /* the follower's broker name */
	uint32_t max_wait_ms;
	uint32_t max_bytes;    /* for the whole answer */
	struct rpc_list items; /* struct rpc_replica_item */
};
/* One answer per item, in order. @status: RPC_OK (batches from the
 * item's offset, all written in leader epoch @epoch), RPC_OFFSET_MOVED
 * (@move_to: a cut point at or below the item's offset — truncate there
 * and keep epochs up to @epoch; above the follower's log end: the leader's
 * log starts there, start over empty), RPC_STALE_EPOCH (the follower's or
 * the leader's view of the queue is old), RPC_NOT_LEADER,
 * RPC_UNKNOWN_TOPIC. */
struct rpc_replica_part {
	uint32_t status;
	uint64_t epoch;
	struct rpc_bin batches;
	uint64_t hw;	    /* the leader's high watermark */
	uint64_t log_start; /* the leader's MinOffset */
	uint64_t move_to;
};
struct rpc_replica_fetch_resp {
	struct rpc_list parts; /* struct rpc_replica_part */
};

/* ALTER_ISR: a queue leader asks the Raft leader to set its queue's
 * in-sync set (RSM_CMD_ALTER_ISR). */
struct rpc_alter_isr_req {
	const char *topic;
	int64_t created;
	const char *broker; /* the queue's home */
	uint32_t queue_id;
	uint64_t leader_epoch;
	uint64_t version; /* the replica state version the leader read */
	struct rpc_strs isr;
	uint64_t log_start;
};

struct rpc_commit_item {
	const char *topic;
	const char *broker_name;
	uint32_t queue_id;
	uint64_t offset;
	uint64_t epoch;
};
struct rpc_commit_req {
	const char *group;
	const char *member_id;
	struct rpc_list items; /* struct rpc_commit_item */
};
struct rpc_commit_resp {
	struct rpc_u64s codes;	 /* one enum rpc_code per item */
	struct rpc_list offsets; /* STALE_EPOCH: struct rpc_offset_info */
	uint64_t epoch;
};

struct rpc_offsets_req {
	const char *group;
	const char *topic;
};
struct rpc_offset_info {
	const char *broker_name;
	uint32_t queue_id;
	uint64_t offset;
};
struct rpc_offsets_resp {
	uint64_t epoch;
	struct rpc_list queues; /* struct rpc_offset_info */
	/* Why some queues are missing from @queues (their broker could not
	 * say where they start), or NULL. */
	const char *partial;
};

/* Limits of a group's retry settings (the replicated state's, rsm.h). */
#define RPC_RETRY_STEPS_MAX 32
#define RPC_RECONSUME_MAX 1000
#define RPC_RETRY_DELAY_MAX_MS 86400000u
struct rpc_group_create_req {
	const char *group;
	const char *mode;    /* clustering | broadcasting */
	const char *initial; /* latest | earliest */
	/* Clustering only (DESIGN.md §2.2); absent: the RocketMQ ladder
	 * (1s 5s 10s 30s 1m ... 2h) and 16. */
	struct rpc_u64s retry_delays_ms;
	uint32_t max_reconsume_times; /* 0: absent */
};
struct rpc_group_req {
	const char *group;
};
struct rpc_lag_info {
	const char *broker_name;
	uint32_t queue_id;
	uint64_t consumer_offset; /* UINT64_MAX: unknown (never committed
				     and the broker did not answer) */
	uint64_t max_offset;
	uint64_t lag;
	bool unknown; /* the broker did not answer: max_offset, lag unknown */
};
struct rpc_group_topic_info {
	const char *topic;
	uint64_t epoch;
	struct rpc_list queues; /* struct rpc_lag_info */
};
struct rpc_member_info {
	const char *member_id;
	const char *client;
	struct rpc_strs queues; /* "topic/broker:queue" */
};
struct rpc_group_describe_resp {
	const char *group;
	const char *mode;
	struct rpc_list topics;	 /* struct rpc_group_topic_info */
	struct rpc_list members; /* struct rpc_member_info */
	/* A group with retry (DESIGN.md §2.2): its settings; members also
	 * read its topic %RETRY%group. 0 and empty: no retry. */
	uint32_t max_reconsume_times;
	struct rpc_u64s retry_delays_ms;
	/* With retry: messages waiting for a retry (in the brokers' schedule
	 * stores and not yet read from %RETRY%group), and dead letters not
	 * yet handled (raftqctl dlq); brokers that did not answer add 0. */
	uint64_t retry_pending;
	uint64_t dlq;
};

/* A topic's reset epoch: the group's (HEARTBEAT answer) or the lowest a
 * member holds a position under (HEARTBEAT request). */
struct rpc_topic_epoch {
	const char *topic;
	uint64_t epoch;
};
struct rpc_heartbeat_req {
	const char *group;
	const char *member_id;
	const char *client;
	struct rpc_strs topics;
	struct rpc_list epochs; /* struct rpc_topic_epoch */
};
struct rpc_assignment {
	const char *topic;
	const char *broker_name;
	uint32_t queue_id;
};
struct rpc_heartbeat_resp {
	uint64_t generation;
	struct rpc_list assignment; /* struct rpc_assignment */
	struct rpc_list epochs;	    /* struct rpc_topic_epoch */
	uint32_t lease_ms; /* how long the member may deliver on this answer */
};

struct rpc_reset_req {
	const char *group;
	/* The topics: @topic (may be NULL) and @topics, or with @all_topics
	 * every topic the group has offsets or online members for. */
	const char *topic;
	const char *target; /* latest earliest time offset shift duration
			       current plan group */
	int64_t value;
	struct rpc_strs queues; /* "broker:queue"; empty: all */
	bool dry_run;
	bool require_inactive;
	const char *requester;
	/* The guard: only while the group is still at this epoch on the
	 * topic (STALE_EPOCH otherwise, nothing changed). */
	bool expect;
	uint64_t expect_epoch;
	/* Target plan: the offset of each of @queues, in the same order. */
	struct rpc_u64s offsets;
	struct rpc_strs topics;
	bool all_topics;
	/* With several topics: the topic of each of @queues (same order). */
	struct rpc_strs queue_topics;
	/* The guard per topic, in the order of @topic then @topics;
	 * UINT64_MAX: none for that topic. */
	struct rpc_u64s expect_epochs;
	const char *source_group; /* target "group": the group copied */
};
struct rpc_reset_queue {
	const char *broker_name;
	uint32_t queue_id;
	/* The new position. A queue an undo returned to "no committed
	 * offset" shows where the group would start (its initial rule). */
	uint64_t timestamp_offset;
	uint64_t previous_offset; /* UINT64_MAX: never committed */
	bool clamped;		  /* the target fell outside [min, max] */
	bool unset;		  /* back to "no committed offset" (undo) */
	bool skipped; /* a copy: the source never committed it; kept */
};
/* One topic of a reset's answer. */
struct rpc_reset_topic {
	const char *topic;
	uint64_t epoch;
	struct rpc_list queues; /* struct rpc_reset_queue, sorted */
};
/* @topics lists every topic (ascending); with exactly one, @epoch,
 * @queues and @topic repeat it (the one-topic shape). */
struct rpc_reset_resp {
	uint64_t reset_id; /* 0 for a dry run */
	uint64_t epoch;
	bool dry_run;
	struct rpc_list queues; /* struct rpc_reset_queue, sorted */
	const char *group, *topic;
	struct rpc_list topics; /* struct rpc_reset_topic */
	const char *source_group;
	/* Hosting brokers that had not applied the reset when it was
	 * answered (NODE_SYNC_LIMIT_MS): they serve no fetch until they
	 * have (their state is not current), then the epoch fences them. */
	struct rpc_strs lagging;
	/* Left alone by the reset (DESIGN.md §2.2): the group's messages
	 * awaiting retry, and the messages scheduled for the moved queues
	 * (each absent when 0). */
	uint64_t retry_pending;
	uint64_t scheduled_pending;
};

struct rpc_history_req {
	const char *group;
	const char *topic;
};
struct rpc_history_queue {
	const char *broker_name;
	uint32_t queue_id;
	uint64_t previous_offset; /* UINT64_MAX: never committed */
	uint64_t timestamp_offset;
	uint64_t min_offset;
	uint64_t max_offset;
	bool clamped;
	bool skipped;
};
struct rpc_history_entry {
	uint64_t reset_id;
	int64_t time;
	const char *requester;
	const char *group;
	const char *topic;
	const char *target;
	int64_t value;
	uint64_t epoch;
	struct rpc_list queues;	  /* struct rpc_history_queue */
	const char *source_group; /* target "group" */
};
struct rpc_history_resp {
	struct rpc_list resets; /* struct rpc_history_entry, oldest first */
};

struct rpc_undo_req {
	uint64_t reset_id;
	const char *requester;
};
/* Membership changes carry the cluster secret (DESIGN.md §6.2). */
struct rpc_join_req {
	uint64_t id;
	const char *name;
	const char *listen;
	const char *raft_address;
	const char *secret; /* [auth] cluster_secret */
	/* The joining node lost its disk and has no Raft state: a member
	 * with its id is removed first, then added again. */
	bool replace;
};
/* Takes a stopped node out of the Raft configuration (leader only). */
struct rpc_node_remove_req {
	uint64_t id;
	const char *secret; /* [auth] cluster_secret */
};
struct rpc_leave_req {
	const char *group;
	const char *member_id;
};
/* The first frame on a connection to a node with [auth] tokens_file
 * (DESIGN.md §6.2): a client's token, or a node's cluster secret. */
struct rpc_auth_req {
	const char *token;
	const char *secret; /* [auth] cluster_secret: another node */
};
struct rpc_auth_resp {
	const char *principal; /* the token's NAME ("" with auth off) */
};

struct rpc_reset_notice {
	const char *group;
	const char *topic;
	uint64_t epoch;
	struct rpc_list queues; /* struct rpc_offset_info */
};
struct rpc_rebalance_notice {
	const char *group;
	uint64_t generation;
};
/* The server is closing this connection: send nothing more on it (what
 * was sent is still read and answered), close it once every call on it
 * is answered; the server closes its side when the peer has. */
struct rpc_goaway_notice {
	const char *reason; /* optional, for logs */
};

/* "RESET" for RPC_RESET (requests, responses and notices); NULL if the
 * type is unknown. */
const char *rpc_type_name(uint16_t type);
/* The schema of a request, response (type | RPC_RESPONSE) or notice
 * body; NULL for an unknown type. Response fields never use the status
 * keys "code", "message", "leader". */
const struct rpc_schema *rpc_schema_of(uint16_t type);

/*
 * Encodes one frame: header, envelope and body (the struct @schema
 * describes; for responses @status is packed into the same map, and may
 * be NULL for requests and notices). A response whose status is not
 * RPC_OK and whose @body is NULL carries the status alone. Appends to
 * @sb. Returns 0, RPC_EINVAL (unknown type, a required string missing),
 * RPC_ETOOBIG (over @max_frame), RPC_ENOMEM.
 */
int rpc_encode(msgpack_sbuffer *sb, uint16_t type, uint64_t request_id,
	       const struct rpc_status *status, const void *body,
	       uint32_t max_frame);

/*
 * Decodes @f's body into @out, which must be the struct of @type's schema
 * (it is zeroed first), and, for responses, @status (may be NULL). The
 * frame's type must be @type: the peer chooses f->type, the caller the
 * size of @out. Strings and lists are allocated in @f's zone; binary
 * fields point into @f->raw. Returns 0, or RPC_EMALFORMED with the
 * offending field in *why (static; @why may be NULL), RPC_EINVAL (f->type
 * is not @type, or @type is unknown), RPC_ENOMEM.
 */
int rpc_decode(struct rpc_frame *f, uint16_t type, void *out,
	       struct rpc_status *status, const char **why);

/* ---- Records inside a batch payload ---- */

struct rpc_record {
	const uint8_t *key; /* NULL: no key; points into the payload */
	uint32_t key_len;
	const uint8_t *body;
	uint32_t body_len;
};

/* Bytes one record takes. */
size_t rpc_record_size(size_t key_len, bool has_key, size_t body_len);
/* Writes one record at @out (rpc_record_size bytes); @key NULL: none.
 * Returns the bytes written. */
size_t rpc_record_put(uint8_t *out, const void *key, size_t key_len,
		      const void *body, size_t body_len);
/* Decodes the record at *pos of an uncompressed payload and advances
 * *pos: 1, 0 at the end, RPC_EMALFORMED when it does not fit. */
int rpc_record_next(const uint8_t *payload, size_t len, size_t *pos,
		    struct rpc_record *out);
/* Whether the uncompressed @payload is exactly @count records: 0, or -1
 * with what is wrong in @why ("record 2 runs past the payload", "1
 * record in the payload, its count says 3"). */
int rpc_records_check(const uint8_t *payload, size_t len, uint32_t count,
		      char *why, size_t whylen);

/* ---- Batches a FETCH returns (docs/disk-format.md, "Record batch") ---- */

#define RPC_BATCH_HEADER 40u
#define RPC_BATCH_LZ4 0x01u /* the payload is one lz4 frame */
/* Handed over from a broker's schedule store (a delayed message); the
 * header's reserved bytes hold the entry's id, which readers ignore. */
#define RPC_BATCH_SCHEDULED 0x02u
/* A retry or dead letter: the payload (inflated, if lz4) is an envelope
 * (struct rpc_envelope) followed by the one record. */
#define RPC_BATCH_ENVELOPE 0x04u
#define RPC_BATCH_FLAGS_KNOWN \
	(RPC_BATCH_LZ4 | RPC_BATCH_SCHEDULED | RPC_BATCH_ENVELOPE)

/*
 * The envelope of a message sent back for retry (DESIGN.md §2.2,
 * docs/wire-format.md "Envelope"): where it was first produced, how often
 * it failed, when first, and the last reason. Encoded little-endian: u32
 * length of what follows, u8 version 1, u32 reconsume_times, i64
 * first_failure_ms, u64 origin offset, u32 origin queue, then topic,
 * broker and reason each as u16 length + bytes.
 */
#define RPC_REASON_MAX 255
struct rpc_envelope {
	char topic[128];
	char broker_name[128];
	uint32_t queue_id;
	uint64_t offset;
	uint32_t reconsume_times;
	int64_t first_failure_ms;
	char reason[RPC_REASON_MAX + 1];
};
/* Bytes @e takes encoded. */
size_t rpc_envelope_size(const struct rpc_envelope *e);
/* Encodes @e at @out (rpc_envelope_size bytes); returns that size. */
size_t rpc_envelope_put(uint8_t *out, const struct rpc_envelope *e);
/* Decodes the envelope at the start of @p: 0 and *used, or
 * RPC_EMALFORMED (short, bad version, a name too long or with a NUL). */
int rpc_envelope_get(const uint8_t *p, size_t len, struct rpc_envelope *e,
		     size_t *used);

struct rpc_batch {
	uint64_t base_offset;	/* offset of record 0 */
	uint32_t count;		/* records */
	int64_t store_time;	/* ms since the epoch */
	uint8_t flags;		/* RPC_BATCH_LZ4 */
	const uint8_t *payload; /* points into the input */
	uint32_t payload_len;
};

/* Decodes the batch header at *pos of @p (FETCH's batches) and advances
 * *pos past its payload: 1, 0 at the end, RPC_EMALFORMED (bad magic,
 * unknown flags, a payload past the end). The CRC is not checked. */
int rpc_batch_next(const uint8_t *p, size_t len, size_t *pos,
		   struct rpc_batch *out);

/* ---- Connections (libuv) ----
 *
 * The async contract (libuv's): a call that returns an error never fires
 * its callback; otherwise the callback fires exactly once, never from
 * inside the call, with 0, an error, or RPC_ECANCELED on close. Everything
 * runs on the loop's thread.
 *
 * Replies and requests queued during one loop turn leave in one uv_write
 * per connection (flushed from a uv_check handle, after I/O callbacks).
 */

/* "127.0.0.1:9101" or "[::1]:9101" (numeric only). RPC_EINVAL. */
int rpc_addr_parse(const char *text, struct sockaddr_storage *out);
/* The port of a parsed address (0 for an unknown family). */
int rpc_addr_port(const struct sockaddr_storage *ss);

/* What happened to a connection, for the owner's log. */
enum rpc_event {
	RPC_EV_ACCEPTED,
	RPC_EV_CLOSED,	  /* peer closed or reset; err is RPC_ECLOSED */
	RPC_EV_BAD_FRAME, /* err: RPC_EMALFORMED, RPC_ETOOBIG, ... */
	RPC_EV_PAUSED,	  /* output above max_pending: reads paused */
	RPC_EV_RESUMED,
	RPC_EV_LIMIT, /* closed over a limit: RPC_ECONNLIMIT, RPC_EBUFLIMIT,
			 RPC_ERATELIMIT */
};

struct rpc_server;
/* A request arrived on connection @conn_id. @f is released when this
 * returns: copy what an asynchronous reply needs (type, request_id, the
 * decoded fields). Reply with rpc_server_send. */
typedef void (*rpc_request_cb)(struct rpc_server *s, uint64_t conn_id,
			       struct rpc_frame *f);
typedef void (*rpc_event_cb)(struct rpc_server *s, uint64_t conn_id,
			     const char *peer, enum rpc_event ev, int err);
typedef void (*rpc_server_close_cb)(struct rpc_server *s);

struct rpc_server_config {
	uint32_t max_frame; /* default RPC_FRAME_MAX_DEFAULT */
	size_t max_pending; /* per connection; default 64 MiB */
	/* Connections open at once: one more is closed as it arrives.
	 * Default 1024. */
	uint32_t max_conns;
	/* Bytes all connections' readers hold (partial and unprocessed
	 * frames): the connection whose input takes them above is closed.
	 * Default 96 MiB. */
	size_t max_buffered;
	/* Answers queued for all connections and not yet written: what
	 * rpc_server_room hands out. Default 96 MiB. */
	size_t max_unsent;
	/* Requests one connection may send in a second (a window from its
	 * first request); over it the connection is closed. Default
	 * 250,000. */
	uint32_t max_rate;
	/* Request bytes of one connection dispatched per loop turn: the rest
	 * waits in its reader (reading paused) for the next turn, so one
	 * busy producer cannot hold the loop while others wait. Default
	 * 256 KiB. */
	size_t max_turn_bytes;
};

struct rpc_server_stats {
	uint64_t accepted;
	uint64_t frames_in;
	uint64_t frames_out;
	uint64_t writes; /* uv_write calls: frames_out / writes = batching */
	uint64_t bad_frames;
	uint64_t pauses;
	uint32_t connections;
	uint64_t limited; /* connections closed over a limit */
	size_t buffered;  /* bytes the readers hold now */
	size_t unsent;	  /* answer bytes queued or being written now */
};

struct rpc_conn;
struct rpc_server {
	void *data;
	/* private */
	uv_loop_t *loop;
	uv_tcp_t tcp;
	uv_check_t flush;
	uv_idle_t kick; /* keeps poll from blocking while a flush waits */
	struct rpc_server_config cfg;
	rpc_request_cb on_request;
	rpc_event_cb on_event;
	rpc_server_close_cb close_cb;
	struct rpc_conn *conns;
	struct rpc_conn *to_flush;
	uint64_t turn;	     /* loop turns seen (max_turn_bytes) */
	uint32_t n_deferred; /* connections over it, waiting a turn */
	uint64_t next_conn_id;
	int handles_open;
	bool closing;
	bool handles_closing;
	struct rpc_server_stats stats;
};

/* No I/O. @cfg may be NULL (defaults). @on_event may be NULL. */
int rpc_server_init(struct rpc_server *s, uv_loop_t *loop,
		    const struct rpc_server_config *cfg,
		    rpc_request_cb on_request, rpc_event_cb on_event);
/* Binds and listens on @address: 0, RPC_EINVAL (not a numeric
 * IP:PORT), RPC_EADDRINUSE (port taken), or RPC_ELISTEN (any other bind or
 * listen failure). */
int rpc_server_listen(struct rpc_server *s, const char *address);
/* The port actually bound (for address ":0"), or 0. */
int rpc_server_port(struct rpc_server *s);
/* Answer bytes connection @conn_id may still queue: the least of what
 * its max_pending and the server's max_unsent leave (0: none, or the
 * connection is gone). Large answers (FETCH) are cut to it. */
size_t rpc_server_room(struct rpc_server *s, uint64_t conn_id);
/* rpc_server_room with @reserve bytes more of the server's max_unsent:
 * for traffic that must go on while clients fill it (replication). */
size_t rpc_server_room_over(struct rpc_server *s, uint64_t conn_id,
			    size_t reserve);
/*
 * Queues a frame (a response: type | RPC_RESPONSE with @status; or a
 * notice) on connection @conn_id. Returns 0, RPC_ECLOSED (the connection
 * is gone), RPC_EBUSY (a notice while output is over max_pending: notices
 * are best effort), RPC_EINVAL/RPC_ETOOBIG (encoding).
 */
int rpc_server_send(struct rpc_server *s, uint64_t conn_id, uint16_t type,
		    uint64_t request_id, const struct rpc_status *status,
		    const void *body);
/* Tags connection @conn_id with @tag (the owner's: who authenticated);
 * every request frame read from it carries it (rpc_frame.conn_tag). */
void rpc_server_set_tag(struct rpc_server *s, uint64_t conn_id, uint32_t tag);
/* "IP:PORT" of connection @conn_id's peer, or NULL when it is gone. */
const char *rpc_server_peer(struct rpc_server *s, uint64_t conn_id);
/* Stops dispatching (and reading) @conn_id's requests until
 * rpc_server_release: frames already read stay buffered, in order. */
void rpc_server_hold(struct rpc_server *s, uint64_t conn_id);
void rpc_server_release(struct rpc_server *s, uint64_t conn_id);
/* Closes the connection (after queued output is written). */
void rpc_server_drop(struct rpc_server *s, uint64_t conn_id);
void rpc_server_stats(const struct rpc_server *s, struct rpc_server_stats *out);
/* Stops listening and sends each connection a GOAWAY notice, then keeps
 * reading: what the handler still answers goes out, a request read from
 * now on is answered UNAVAILABLE "retry" by the server itself (nothing
 * was done, so the client may send it elsewhere), and a connection
 * closes when its peer closes it. @cb when all are closed. */
void rpc_server_close(struct rpc_server *s, rpc_server_close_cb cb);
/* After rpc_server_close: closes at once the connections still open
 * (a peer that neither reads nor closes must not hold a stopping node). */
void rpc_server_cut(struct rpc_server *s);

struct rpc_client;
struct rpc_call;
/* @f is the response (decode it with rpc_decode(f, type | RPC_RESPONSE))
 * when @status is 0, NULL otherwise; it is released after the callback. */
typedef void (*rpc_call_cb)(struct rpc_call *call, int status,
			    struct rpc_frame *f);
typedef void (*rpc_notice_cb)(struct rpc_client *c, struct rpc_frame *f);
typedef void (*rpc_client_close_cb)(struct rpc_client *c);

/* A request in flight; caller-allocated, untouched until its callback. */
struct rpc_call {
	void *data;
	/* private */
	struct rpc_client *client;
	struct rpc_call *prev, *next;
	uint64_t id;
	uint16_t type;
	uint64_t deadline;
	rpc_call_cb cb;
	struct rpc_conn *conn;
};

struct rpc_client_config {
	uint32_t max_frame;	 /* default RPC_FRAME_MAX_DEFAULT */
	uint32_t backoff_min_ms; /* first reconnect delay; default 50 */
	uint32_t backoff_max_ms; /* default 2000 */
};

struct rpc_client {
	void *data;
	/* private */
	uv_loop_t *loop;
	struct sockaddr_storage addr;
	char address[64];
	struct rpc_client_config cfg;
	rpc_notice_cb on_notice;
	rpc_client_close_cb close_cb;
	struct rpc_conn *conn;	   /* NULL when not connected/connecting */
	struct rpc_conn *retiring; /* told GOAWAY, awaiting its answers */
	struct rpc_conn *to_flush;
	struct rpc_call *calls; /* oldest first */
	struct rpc_call *calls_tail;
	uint64_t next_id;
	uv_timer_t timer; /* deadlines and reconnect backoff */
	uv_check_t flush;
	uv_idle_t kick;
	uint32_t backoff_ms;
	uint64_t retry_at;	 /* no connect attempt before this (ms) */
	msgpack_sbuffer backlog; /* requests waiting for a connection */
	msgpack_sbuffer hello;	 /* rpc_client_hello's frame */
	int handles_open;
	bool closing;
};

/* No I/O; connects on the first request. @on_notice may be NULL. */
int rpc_client_init(struct rpc_client *c, uv_loop_t *loop, const char *address,
		    const struct rpc_client_config *cfg,
		    rpc_notice_cb on_notice);
/*
 * Sends a request. @call's callback gets the response, or RPC_ETIMEDOUT
 * after @timeout_ms, RPC_ECONNECT (could not connect), RPC_ECLOSED (the
 * connection dropped with the request sent: its outcome is unknown), or
 * RPC_ECANCELED (client closed). Returns RPC_EINVAL/RPC_ETOOBIG
 * (encoding), RPC_ECANCELED (closing) without calling back.
 */
int rpc_client_request(struct rpc_client *c, struct rpc_call *call,
		       uint16_t type, const void *body, uint32_t timeout_ms,
		       rpc_call_cb cb);
/*
 * Sets the frame sent first on every connection @c makes from now on (the
 * AUTH of a node with [auth]): request @type with @body, request id 0, so
 * its answer matches no call and is dropped — a refusal shows in the
 * answers to the requests that follow. 0 or an encoding error.
 */
int rpc_client_hello(struct rpc_client *c, uint16_t type, const void *body);
/* Cancels every call (RPC_ECANCELED), closes; @cb when done. */
void rpc_client_close(struct rpc_client *c, rpc_client_close_cb cb);

#endif /* RAFTQ_RPC_H */
