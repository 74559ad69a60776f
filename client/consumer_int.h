/*
 * consumer_int.h — inside libraftq's consumer only: its state and the
 * functions its parts share. consumer.c (the API and the tick),
 * consumer_group.c (membership: calls to the leader, assignment, commits,
 * reset notices), consumer_fetch.c (fetching and buffering) and
 * consumer_file.c (a broadcasting member's offset file).
 */
#ifndef RAFTQ_CLIENT_CONSUMER_INT_H
#define RAFTQ_CLIENT_CONSUMER_INT_H

#include "client_int.h"

#define POS_UNKNOWN UINT64_MAX
#define FETCH_RETRY_MS 100
#define IDLE_MAX_MS 20
#define LEADER_RETRY_MS 50

struct kmsg {
	uint64_t offset;
	int64_t store_time;
	const uint8_t *key, *body;
	uint32_t key_len, body_len;
	bool has_key;
	const struct rpc_envelope *env; /* a retried message's; else NULL */
};

/* One fetch answer, decoded: its bytes, lz4 payloads and messages. */
struct kbuf {
	struct kbuf *next;
	uint8_t *data;
	uint8_t **plain;
	uint32_t n_plain;
	struct rpc_envelope **env; /* of retried messages' batches */
	uint32_t n_env;
	struct kmsg *m;
	uint32_t n, i;	  /* messages, next to deliver */
	uint64_t end;	  /* the offset after the last batch (0: none) */
	uint64_t skipped; /* records of malformed batches, at or after from */
	uint64_t bad_first, bad_last; /* the first malformed batch's range */
	uint32_t cap;		      /* of m */
};

struct kfetch;

struct kqueue {
	char topic[CL_NAME_MAX + 1];
	char broker[CL_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t pos;	    /* next offset to fetch */
	uint64_t deliver;   /* next offset to deliver: what a commit sends */
	uint64_t committed; /* what the group has */
	uint64_t epoch;
	uint64_t gen; /* bumped when the queue moves */
	struct kfetch *fetch;
	struct kbuf *head, *tail;
	uint64_t next_fetch_at;
	uint32_t idle_ms;
	bool assigned;
};

struct kfetch {
	struct rpc_call call;
	struct kqueue *q; /* NULL: the queue is gone */
	struct raftq_consumer *k;
	uint64_t gen;
	uint64_t pos;
	uint64_t sent_at; /* cl_now */
	uint32_t wait_ms; /* the max_wait_ms asked for */
};

enum kkind { KC_DESCRIBE, KC_HEARTBEAT, KC_OFFSETS, KC_COMMIT, KC_LEAVE };

struct citem {
	char broker[CL_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t offset;
	uint64_t epoch;
};

struct kcall {
	struct rpc_call call;
	struct raftq_consumer *k; /* NULL: the consumer is gone */
	struct kcall *prev, *next;
	enum kkind kind;
	char topic[CL_NAME_MAX + 1];
	struct citem *items;
	uint32_t n;
};

struct ksaved {
	char topic[CL_NAME_MAX + 1];
	char broker[CL_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t offset;
};

enum kmode { MODE_UNKNOWN, MODE_CLUSTERING, MODE_BROADCASTING };

#define KC_TOPICS_MAX 64

struct raftq_consumer {
	struct raftq_client *c;
	char group[CL_NAME_MAX + 1];
	char member[CL_NAME_MAX + 1];
	char (*topics)[CL_NAME_MAX + 1];
	uint32_t n_topics;
	bool manual_commit;
	uint32_t auto_commit_ms, heartbeat_ms, fetch_bytes, fetch_wait_ms;
	char offset_file[4096];
	enum kmode mode;
	int failed; /* a raftq error once the consumer cannot go on */
	char failmsg[512];
	struct kqueue **q;
	uint32_t nq;
	uint32_t rr; /* where raftq_consume starts */
	struct kcall *calls;
	bool describing, heartbeating, leaving, left;
	uint32_t commits; /* COMMIT calls in flight */
	int commit_err;	  /* worst result since the last raftq_commit */
	uint64_t hb_at, commit_at;
	uint64_t generation;
	uint64_t resets;
	uint64_t fetches;    /* FETCH requests sent */
	uint64_t skipped;    /* records of malformed batches skipped */
	uint64_t errors;     /* raftq_consumer_errors */
	uint64_t offsets_at; /* no OFFSETS before (a partial answer came) */
	uint64_t reset_epoch[KC_TOPICS_MAX + 1]; /* per topic: newest counted */
	uint64_t topic_epoch[KC_TOPICS_MAX + 1]; /* per topic: newest learned */
	/* The delivery lease (clustering groups): messages are handed out
	 * only before lease_until, set from the last heartbeat answer's
	 * lease_ms counted from when that heartbeat was sent. A reset is
	 * answered once its members confirmed it or their leases ran out
	 * (docs/design/member-lease.md). */
	uint64_t lease_until, hb_sent_at;
	uint32_t lease_ms;    /* the leader's; 0 before the first answer */
	bool hb_soon;	      /* heartbeat again as soon as the answer is in */
	struct kbuf *retired; /* handed out; freed at the next consume */
	/* Broadcasting: positions read from the offset file. */
	struct ksaved *saved;
	uint32_t n_saved;
	char (*asked)[CL_NAME_MAX + 1]; /* topics with OFFSETS in flight */
};

/* consumer_fetch.c */
void kc_kbuf_free(struct kbuf *b);
/* Moves @q's buffered messages to the retired list (never delivered). */
void kc_retire_all(struct raftq_consumer *k, struct kqueue *q);
struct kqueue *kc_find_queue(struct raftq_consumer *k, const char *topic,
			     const char *broker, uint32_t qid);
/* The queue goes to @offset under @epoch: nothing buffered is delivered. */
void kc_move_queue(struct raftq_consumer *k, struct kqueue *q, uint64_t offset,
		   uint64_t epoch);
void kc_drop_queue(struct raftq_consumer *k, uint32_t i);
/* Counts the reset that took @topic to @epoch, once however many of its
 * queues learn of it and by whichever way (notice, fence, stale). */
void kc_count_reset(struct raftq_consumer *k, const char *topic,
		    uint64_t epoch);
/* Notes that the group's epoch on @topic is at least @epoch. */
void kc_learn_epoch(struct raftq_consumer *k, const char *topic,
		    uint64_t epoch);
/* The epoch the next heartbeat reports for topic @t (index into topics):
 * the lowest its queues with a position are under, or, with none, the
 * newest learned. */
uint64_t kc_held_epoch(const struct raftq_consumer *k, uint32_t t);
/* Whether buffered messages may be handed out now (the lease). */
bool kc_may_deliver(const struct raftq_consumer *k);
/* qsort order of k->q: topic, broker, queue id. */
int kc_cmp_queue(const void *a, const void *b);
/* Buffers held by @q (fetching pauses at 2). */
uint32_t kc_buffered_bufs(const struct kqueue *q);
void kc_send_fetch(struct raftq_consumer *k, struct kqueue *q);

/* consumer_group.c */
struct kcall *kc_kcall_new(struct raftq_consumer *k, enum kkind kind);
void kc_kcall_free(struct kcall *x);
/* Sends @body to the leader. Returns true if the call is on its way, false
 * (and frees @x) otherwise. */
bool kc_leader_send(struct raftq_consumer *k, struct kcall *x, uint16_t type,
		    const void *body);
void kc_send_describe(struct raftq_consumer *k);
void kc_send_heartbeat(struct raftq_consumer *k);
/* Whether OFFSETS for @topic is in flight. */
bool kc_asked(struct raftq_consumer *k, const char *topic);
void kc_send_offsets(struct raftq_consumer *k, const char *topic);
/* Commits every queue whose delivered position is ahead of the group's. */
void kc_commit_now(struct raftq_consumer *k);

/* consumer_file.c */
int kc_save_file(struct raftq_consumer *k);
/* Reads the offset file (missing: nothing saved yet). */
int kc_load_file(struct raftq_consumer *k);
const struct ksaved *kc_saved_for(const struct raftq_consumer *k,
				  const struct kqueue *q);

#endif /* RAFTQ_CLIENT_CONSUMER_INT_H */
