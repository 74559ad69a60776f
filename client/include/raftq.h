/*
 * raftq.h — libraftq, the raftq client library: broker discovery,
 * producers and consumer groups.
 *
 * Threading: a struct raftq_client and everything made from it belong to
 * one application thread. The library does I/O only inside the calls that
 * say they "run the client" (raftq_poll, raftq_producer_flush,
 * raftq_consume, raftq_commit, raftq_consumer_close, raftq_client_free),
 * and application callbacks (delivery reports) fire only from those calls,
 * after the library's own work for that call is done. Calling one of
 * those functions from inside a callback returns RAFTQ_EINVAL.
 * (librdkafka's rd_kafka_poll model.)
 *
 * Errors: every fallible function returns 0 or a negative enum raftq_error;
 * raftq_client_errmsg() gives the detail of the last error on a client
 * ("broker-2 (127.0.0.1:9102): cannot connect"). Wire refusals keep the
 * cluster's code name in the message ("UNKNOWN_GROUP: group 'x' does not
 * exist").
 *
 * Ownership words used below: borrowed (the library reads it during the
 * call only), copied (the library keeps its own copy), owned by X.
 *
 * Delivery semantics: at least once. A message can be delivered twice
 * after a rebalance or a broker failure, never lost once its delivery
 * report said 0. After `offset reset` (or raftqctl offset reset) has
 * returned, no consumer of the group delivers a message from before the
 * reset point of a queue that was reset (DESIGN.md §2, docs/client.md).
 */
#ifndef RAFTQ_H
#define RAFTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RAFTQ_API __attribute__((visibility("default")))
#else
#define RAFTQ_API
#endif

#define RAFTQ_VERSION_MAJOR 0
#define RAFTQ_VERSION_MINOR 1
#define RAFTQ_VERSION_PATCH 0

/* ---- Errors ---- */

#define RAFTQ_ERRORS(X)                                                   \
	X(RAFTQ_OK, 0, "ok")                                              \
	X(RAFTQ_EINVAL, -1, "invalid argument")                           \
	X(RAFTQ_ENOMEM, -2, "out of memory")                              \
	X(RAFTQ_EFULL, -3, "producer buffer full: run raftq_poll")        \
	X(RAFTQ_ETIMEDOUT, -4, "timed out")                               \
	X(RAFTQ_EUNAVAILABLE, -5, "no broker or leader could be reached") \
	X(RAFTQ_EUNKNOWN_TOPIC, -6, "unknown topic")                      \
	X(RAFTQ_EUNKNOWN_GROUP, -7, "unknown group")                      \
	X(RAFTQ_ESTALE_EPOCH, -8, "the group was reset: positions moved") \
	X(RAFTQ_EREFUSED, -9, "refused by the cluster")                   \
	X(RAFTQ_EIO, -10, "local file error")                             \
	X(RAFTQ_EMALFORMED, -11, "malformed data from a broker")          \
	X(RAFTQ_EFORBIDDEN, -12, "not permitted: the token lacks a permission")

enum raftq_error {
#define RAFTQ_ENUM_(name, value, text) name = (value),
	RAFTQ_ERRORS(RAFTQ_ENUM_)
#undef RAFTQ_ENUM_
};

/* Static text for @err ("timed out"); "unknown error" otherwise. */
RAFTQ_API const char *raftq_strerror(int err);
/* "RAFTQ_ETIMEDOUT" for RAFTQ_ETIMEDOUT; "RAFTQ_E?" otherwise. */
RAFTQ_API const char *raftq_errname(int err);

/* ---- Client: discovery and the event loop ---- */

struct raftq_client;

struct raftq_config {
	/* "host:port,host:port" (numeric addresses), copied. Any node of
	 * the cluster will do: the client learns every broker, the queue
	 * placement and the leader from the first that answers, and asks
	 * again after NOT_LEADER, a lost connection or an unknown topic. */
	const char *bootstrap;
	/* Shown by `group describe` as the member's client; copied.
	 * NULL: "raftq-PID@HOSTNAME". */
	const char *client_id;
	/* Per request; 0: 5000 ms. */
	uint32_t request_timeout_ms;
	/* The token for clusters with [auth] (docs/security.md), copied;
	 * sent first on every connection. NULL: read from @token_file
	 * (its first line), else $RAFTQ_TOKEN, else none. */
	const char *token;
	const char *token_file;
};

/*
 * Makes a client. No I/O: the first call that runs the client connects.
 * Returns 0 and *out (owned by the caller: free with raftq_client_free),
 * RAFTQ_EINVAL (NULL or unparsable bootstrap list; the reason is written
 * to @errmsg, which may be NULL), RAFTQ_ENOMEM.
 */
RAFTQ_API int raftq_client_new(const struct raftq_config *cfg,
			       struct raftq_client **out, char *errmsg,
			       size_t errlen);

/*
 * Runs the client for up to @timeout_ms (0: only what is ready now; -1:
 * until at least one delivery report or event): sends batches whose
 * linger ran out, heartbeats, commits, fetches, and fires delivery reports.
 * Returns the number of callbacks fired (>= 0), or RAFTQ_EINVAL (called
 * from a callback).
 */
RAFTQ_API int raftq_poll(struct raftq_client *c, int timeout_ms);

/* The detail of the last error returned for @c (never NULL; owned by
 * @c, valid until the next call on @c). */
RAFTQ_API const char *raftq_client_errmsg(const struct raftq_client *c);

/*
 * Closes every connection and frees @c. Every producer and consumer of @c
 * must have been closed first (raftq_producer_close,
 * raftq_consumer_close); their undelivered work is not waited for here.
 */
RAFTQ_API void raftq_client_free(struct raftq_client *c);

/* ---- Producer ---- */

struct raftq_producer;

/* What happened to one message, given to the delivery callback. The
 * strings are owned by the library and valid during the callback. */
struct raftq_delivery {
	int err; /* 0: stored (acknowledged by its broker), or an error */
	const char *topic;
	const char *broker_name; /* where it was stored (err == 0) */
	uint32_t queue_id;
	uint64_t offset;    /* UINT64_MAX for a scheduled message */
	int64_t store_time; /* ms since the epoch, assigned by the broker;
			       a scheduled message: when it will be appended */
	void *opaque;	    /* as given to raftq_produce */
	/* Delayed (deliver_at_ms / delay_ms): kept durably by its broker,
	 * appended to the queue — given its offset — when due. */
	bool scheduled;
};
typedef void (*raftq_delivery_cb)(void *arg, const struct raftq_delivery *d);

enum raftq_acks {
	RAFTQ_ACKS_ALL = 0,
	RAFTQ_ACKS_LEADER = 1,
	RAFTQ_ACKS_NONE = 2,
};

struct raftq_producer_config {
	const char *topic; /* copied */
	/* How long a batch may wait for more messages; 0: 5 ms. */
	uint32_t linger_ms;
	/* A batch is sent when it reaches either size; 0: 10000 messages,
	 * 1 MiB. The broker's max_batch_bytes bounds batch_bytes. */
	uint32_t batch_messages;
	uint32_t batch_bytes;
	/* Compress each batch as one lz4 frame. Brokers store it as sent;
	 * consumers decompress. */
	bool lz4;
	/* Batches on the wire per queue; 0: 4. */
	uint32_t max_in_flight;
	/* Give up on a message (err RAFTQ_ETIMEDOUT) this long after
	 * raftq_produce, retries included; 0: 30000 ms. */
	uint32_t delivery_timeout_ms;
	/* raftq_produce answers RAFTQ_EFULL above this many buffered bytes;
	 * 0: 64 MiB. */
	size_t buffer_bytes;
	/* Delayed messages (DESIGN.md §2.2): every message of this producer
	 * is appended to its queue at @deliver_at_ms (ms since the epoch),
	 * or @delay_ms after its broker received it; at most 40 days ahead.
	 * 0 and 0: at once. Not both. Until then no consumer sees it and no
	 * reset moves it. */
	int64_t deliver_at_ms;
	uint32_t delay_ms;
	/* Optional: called once per message, from a call that runs the
	 * client. */
	raftq_delivery_cb on_delivery;
	void *arg;
	/* When a batch counts as delivered (docs/design/replication.md):
	 * RAFTQ_ACKS_ALL (0, the default) once every in-sync replica of its
	 * queue has it; RAFTQ_ACKS_LEADER once the queue's leader stored it
	 * (lost if the leader dies before a follower copied it);
	 * RAFTQ_ACKS_NONE once the leader accepted it, before storing. */
	enum raftq_acks acks;
};

/*
 * Makes a producer for one topic: runs the client (up to the request
 * timeout) until the route table lists the topic, so a misspelt topic
 * fails here. Returns 0 and *out (owned by the caller: close with
 * raftq_producer_close), RAFTQ_EUNKNOWN_TOPIC (the leader does not know
 * it), RAFTQ_EUNAVAILABLE (no node answered), RAFTQ_EINVAL (no topic,
 * batch_messages above 2^20, called from a callback), RAFTQ_ENOMEM.
 *
 * Queue choice: a message with a key goes to the queue its key hashes to
 * (FNV-1a over the topic's queues in placement order, the same as
 * `raftqctl produce --key`); messages without a key fill one
 * queue's batch, then the next (round-robin per batch). When a broker
 * cannot be reached, its batches are retried on queues of other brokers,
 * keys included: availability wins over key affinity while a broker is
 * down. A retry may reorder messages; a batch whose answer was lost may
 * be stored twice.
 */
RAFTQ_API int raftq_producer_new(struct raftq_client *c,
				 const struct raftq_producer_config *cfg,
				 struct raftq_producer **out);

/*
 * Queues one message. @key (NULL: none) and @body are copied. @opaque is
 * handed back in its delivery report. Returns 0 (the report will come),
 * RAFTQ_EFULL (over buffer_bytes: run the client, then try again),
 * RAFTQ_EINVAL (key or body over 16 MiB), RAFTQ_ENOMEM.
 */
RAFTQ_API int raftq_produce(struct raftq_producer *p, const void *key,
			    size_t key_len, const void *body, size_t body_len,
			    void *opaque);

/*
 * Sends every queued message now and runs the client until each has its
 * delivery report, or @timeout_ms passes (-1: no limit). Returns 0 (all
 * reported, successfully or not: see the reports), RAFTQ_ETIMEDOUT
 * (some still pending), RAFTQ_EINVAL (called from a callback).
 */
RAFTQ_API int raftq_producer_flush(struct raftq_producer *p, int timeout_ms);

/* Messages queued or in flight, without a report yet. */
RAFTQ_API size_t raftq_producer_pending(const struct raftq_producer *p);

/*
 * Flushes for up to @timeout_ms, then fails whatever is left with
 * RAFTQ_ETIMEDOUT (those reports fire too) and frees @p. Returns what
 * raftq_producer_flush returned.
 */
RAFTQ_API int raftq_producer_close(struct raftq_producer *p, int timeout_ms);

/* ---- Consumer groups ---- */

struct raftq_consumer;

/* One delivered message. Every pointer is owned by the consumer and stays
 * valid until the next raftq_consume or raftq_consumer_close on it. */
struct raftq_message {
	const char *topic;
	const char *broker_name;
	uint32_t queue_id;
	uint64_t offset;
	int64_t store_time;
	const void *key; /* NULL: none */
	size_t key_len;
	const void *body;
	size_t body_len;
	/* The group's reset epoch on the topic when it was read (each reset
	 * adds one; 0 for broadcasting groups): a message of a newer epoch
	 * may come from an earlier offset than the one before it. */
	uint64_t epoch;
	/* A message sent back with raftq_nack and delivered again from the
	 * group's retry topic (@topic is then "%RETRY%group"; DESIGN.md
	 * §2.2): how often it failed, and where it was first produced.
	 * reconsume_times 0 and origin_topic NULL for any other message. */
	uint32_t reconsume_times;
	const char *origin_topic;
	const char *origin_broker_name;
	uint32_t origin_queue_id;
	uint64_t origin_offset;
};

struct raftq_consumer_config {
	const char *group; /* copied; must exist (raftqctl group create) */
	const char *const *topics; /* copied */
	uint32_t n_topics;	   /* 1..64 */
	const char *member_id;	   /* copied; NULL: client id + random */
	bool manual_commit;	   /* only raftq_commit commits */
	uint32_t auto_commit_ms;   /* 0: 1000 */
	uint32_t heartbeat_ms;	   /* 0: 1000; below the cluster's
				      session_timeout_ms; at most a third of
				      its member_lease_ms is used */
	uint32_t fetch_bytes;	   /* per fetch; 0: 1 MiB */
	/* How long a broker holds a fetch that finds nothing new before it
	 * answers empty (long polling; data is delivered the moment it is
	 * stored). 0: 1000; cut to the request timeout minus 1 s. */
	uint32_t fetch_wait_ms;
	/* Broadcasting groups keep their offsets here (one line per
	 * queue: topic broker queue offset), written atomically by every
	 * commit; NULL: "raftq-GROUP-MEMBER.offsets" in the working
	 * directory. Unused by clustering groups. Copied. */
	const char *offset_file;
};

/*
 * Joins @cfg->group. No I/O: the member registers at the first call that
 * runs the client, learns the group's mode, gets its queues and their
 * positions, and starts fetching. Returns 0 and *out (owned by the caller:
 * close with raftq_consumer_close), RAFTQ_EINVAL (no group, no topic, over
 * 64 topics), RAFTQ_ENOMEM.
 *
 * Clustering groups: the online members share the topic's queues; the
 * leader assigns them (deterministic) and pushes a rebalance notice when
 * members join, leave or time out. Positions and commits live in the
 * cluster, fenced by the group's epoch. Broadcasting groups: every member
 * reads every queue from the offsets in its offset_file (the group's
 * initial rule for queues the file does not list).
 *
 * Resets: on a reset notice, a STALE_EPOCH commit answer, an
 * OFFSET_MOVED fetch answer or a heartbeat answer with a newer epoch the
 * consumer drops what it buffered for the queues that moved and resumes at
 * their new offsets. A clustering member hands out messages only under a
 * lease (its last heartbeat answer is less than the cluster's
 * member_lease_ms old): cut off from the leader, raftq_consume returns 0
 * until a heartbeat is answered again (docs/client.md).
 */
RAFTQ_API int raftq_consumer_new(struct raftq_client *c,
				 const struct raftq_consumer_config *cfg,
				 struct raftq_consumer **out);

/*
 * Runs the client until messages are ready or @timeout_ms passes (0: only
 * what is ready now; -1: no limit), then fills up to @max messages into
 * @out (borrowed; see struct raftq_message for how long they stay valid).
 * Returns the number of messages (0 on timeout), RAFTQ_EUNKNOWN_GROUP or
 * RAFTQ_EUNKNOWN_TOPIC (the group or a topic does not exist: this
 * consumer will not get anything), RAFTQ_EIO (broadcasting: the offset
 * file is unreadable), RAFTQ_EINVAL (called from a callback, @max 0).
 * Delivered messages count as consumed for the next commit.
 */
RAFTQ_API int raftq_consume(struct raftq_consumer *k, struct raftq_message *out,
			    size_t max, int timeout_ms);

/*
 * Commits the position after every message delivered so far, and runs
 * the client until the cluster (or, broadcasting, the offset file) has it
 * or @timeout_ms passes. Returns 0, RAFTQ_ESTALE_EPOCH (a reset moved
 * some queues: their commit was refused and the consumer now reads from
 * the new offsets), RAFTQ_ETIMEDOUT, RAFTQ_EUNAVAILABLE, RAFTQ_EIO
 * (broadcasting: the file could not be written), RAFTQ_EINVAL (called
 * from a callback).
 */
RAFTQ_API int raftq_commit(struct raftq_consumer *k, int timeout_ms);

/*
 * Sends message @m (delivered by @k) back for retry (DESIGN.md §2.2): its
 * broker keeps it and delivers it to the group again, from the group's
 * retry topic, after the next delay of the group's ladder, with
 * reconsume_times one higher; past the group's max_reconsume_times it
 * goes to the dead-letter topic instead (raftqctl dlq list). @reason
 * (NULL: none; at most 255 bytes) is kept with it. Runs the client until
 * the broker has stored it or @timeout_ms passes. The message still
 * counts as consumed for the next commit: nack before committing.
 * Returns 0 (*dead_letter, if not NULL, says where it went),
 * RAFTQ_EINVAL (a broadcasting group or one without retry; called from a
 * callback), RAFTQ_ETIMEDOUT, RAFTQ_EUNAVAILABLE, RAFTQ_EFORBIDDEN.
 */
RAFTQ_API int raftq_nack(struct raftq_consumer *k,
			 const struct raftq_message *m, const char *reason,
			 int timeout_ms, bool *dead_letter);

/* A queue of the consumer's assignment. */
struct raftq_queue {
	const char *topic;	 /* owned by the consumer */
	const char *broker_name; /* owned by the consumer */
	uint32_t queue_id;
	uint64_t position; /* next offset to deliver; UINT64_MAX: unknown yet */
	uint64_t epoch;
};

/* Copies up to @max of the current assignment into @out (sorted by topic,
 * broker, queue id) and returns how many queues it has. The strings stay
 * valid until the next call that runs the client. */
RAFTQ_API size_t raftq_consumer_assignment(const struct raftq_consumer *k,
					   struct raftq_queue *out, size_t max);

/* Resets the consumer followed: each reset of a topic counts once, however
 * many of its queues moved and whether a notice, STALE_EPOCH or
 * OFFSET_MOVED told it. */
RAFTQ_API uint64_t raftq_consumer_resets(const struct raftq_consumer *k);

/* FETCH requests this consumer sent, to every broker: with long polling
 * an idle consumer sends about one per queue per fetch_wait_ms. */
RAFTQ_API uint64_t raftq_consumer_fetches(const struct raftq_consumer *k);

/* Records skipped because their batch did not decode (a bad lz4 frame,
 * records that do not parse or do not add up to the batch's count). Each
 * skip is also reported: raftq_client_errmsg names the broker, queue and
 * offsets. The consumer moves past such a batch rather than stop. */
RAFTQ_API uint64_t raftq_consumer_skipped(const struct raftq_consumer *k);

/* Fetches and offset reads answered with an error other than a reset's
 * move or a leader change — a queue its broker cannot open, an unknown
 * topic, a node catching up. The consumer keeps asking; the client's
 * raftq_client_errmsg names the last one. A count that keeps growing is
 * a queue that does not serve: report it (raftqctl consume exits 1). */
RAFTQ_API uint64_t raftq_consumer_errors(const struct raftq_consumer *k);

/*
 * Commits (unless manual_commit), leaves the group so its queues move to
 * the other members at once, and frees @k; waits at most @timeout_ms for
 * both. Returns the commit's result (0 if nothing to commit).
 */
RAFTQ_API int raftq_consumer_close(struct raftq_consumer *k, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* RAFTQ_H */
