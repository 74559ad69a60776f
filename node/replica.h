/*
 * replica.h — message replication inside a node (docs/design/
 * replication.md): each local replica's role, high watermark and leader
 * epochs (replica.c), the leader's side of REPLICA_FETCH
 * (replica_serve.c), the follower's fetchers (fetcher.c), and produce
 * answers waiting for the in-sync replicas (acks.c).
 *
 * Roles follow the applied state: after every entry that may move a
 * queue's leader or in-sync set, node_replicas_on_applied() opens the
 * replicas this broker holds and takes up or leaves leadership, in apply
 * order on every node.
 */
#ifndef RAFTQ_NODE_REPLICA_H
#define RAFTQ_NODE_REPLICA_H

#include "handlers.h"

/* A follower's fetch waits so long: also how long a queue newly followed
 * at a leader may wait for the fetch that names it (fetcher.c). */
#define NODE_REPLICA_WAIT_MS 100
#define NODE_REPLICA_FETCH_BYTES (4u << 20) /* per REPLICA_FETCH answer */
/* Answer bytes replication may queue beyond the node's max_unsent. */
#define NODE_REPLICA_RESERVE (32u << 20)

/* The leader's view of one follower of a queue. */
struct node_follower {
	uint64_t end;	    /* its log end, from its last fetch */
	uint64_t leo_sent;  /* this log's end when it was last answered */
	uint64_t caught_up; /* uv_now when it last reached that end */
	bool seen;	    /* it fetched since this broker took over */
};

struct node_replica {
	struct stor_epochs *epochs;
	uint64_t hw;	     /* high watermark; never goes down */
	bool hw_known;	     /* leader: every in-sync follower reported */
	bool leading;	     /* this broker leads the queue now */
	uint64_t epoch;	     /* the leader epoch of the role held */
	bool alter_inflight; /* an ALTER_ISR of this leader is on its way */
	/* Followers an ALTER_ISR of this leader adds, asked at replica state
	 * @adding_version: counted as in sync for the high watermark until
	 * the state moves past that version (KIP-497's "maximal ISR"), so no
	 * batch is acknowledged that one of them lacks — it may lead from the
	 * moment the change applies (the home takes its queue back). */
	uint8_t adding;
	uint64_t adding_version;
	struct node_follower f[RSM_REPLICAS_MAX]; /* by replica index */
};

/* ---- replica.c ---- */

/* Opens @e's leader-epoch file in @dir (e->q is open). 0, or -1 with the
 * reason in @msg. */
int node_replica_init(struct node *n, struct node_queue *e, const char *dir,
		      char *msg, size_t msglen);
/* Frees @e's replication state (NULL rep: nothing); waiting answers are
 * answered UNAVAILABLE. */
void node_replica_free(struct node *n, struct node_queue *e);
/* What readers may see of @e: its high watermark (an unreplicated
 * queue: its synced end, under flush = sync behind the max offset while
 * a sync runs). */
uint64_t node_queue_hw(const struct node_queue *e);
/* What this broker holds of @e durably (flush = sync: synced; other
 * policies: its max offset). */
uint64_t node_queue_durable(const struct node_queue *e);
/* @e's synced end moved (syncer.c): its producers with acks=leader (or
 * an unreplicated queue's) answered, readers woken, and a led replicated
 * queue's high watermark recomputed. */
void node_queue_synced(struct node *n, struct node_queue *e);
/* Opens the replicas this broker holds and follows every role change;
 * the rsm hook calls it after each entry (@res NULL: a snapshot). */
void node_replicas_on_applied(struct node *n, const struct rsm_result *res);
/* A broker takes up leadership of a replicated queue only while its state
 * is current (lease.c): the tick runs the roles again once it is. */
void node_replicas_tick(struct node *n);
/* The replica of (@topic, @home (NULL: this broker), @qid) when this
 * broker leads it; otherwise NULL with the wire code and message
 * (NOT_LEADER naming the leader, UNAVAILABLE while it is offline, or as
 * node_queue_open) and, for NOT_LEADER, the leader's client address in
 * *leader (borrowed from the state; may be NULL). */
struct node_queue *node_led_queue(struct node *n, const char *topic,
				  const char *home, uint32_t qid,
				  uint32_t *code, char *msg, size_t msglen,
				  const char **leader);
/* node_led_queue's storage queue, the leader's address dropped. */
struct stor_queue *node_led_stor(struct node *n, const char *topic,
				 const char *home, uint32_t qid, uint32_t *code,
				 char *msg, size_t msglen);
/* After the leader appended to @e up to @end (from a producer, a
 * schedule hand-over, a send-back): followers' waiting fetches woken,
 * the high watermark moved if it is alone in sync, readers woken. */
void node_replica_appended(struct node *n, struct node_queue *e, uint64_t end);
/* node_led_queue for a request: NULL after answering. */
struct node_queue *node_req_led_queue(const struct node_req *req,
				      const char *topic, const char *home,
				      uint32_t qid);
/* Leader: recomputes @e's high watermark from the in-sync set of its
 * queue @qi of @t and answers the produce waiters it now covers. */
void node_replica_advance(struct node *n, struct node_queue *e,
			  const struct rsm_topic *t, uint32_t qi);
/* The in-sync replicas @t's queue @qi has (leader included). */
uint32_t node_isr_count(const struct rsm_topic *t, uint32_t qi);

/* ---- acks.c: produce answers waiting for the in-sync replicas ---- */

/* Keeps the answer @r to @req until @e reaches @end — its high
 * watermark when @all (acks=all), else this broker's durable end — (then
 * OK), its leadership is lost (NOT_LEADER), or [replication]
 * replica_ack_timeout_ms passes (TIMEOUT). False when it cannot wait (out
 * of memory, the node stops): the caller answers. */
bool node_acks_park(const struct node_req *req, const struct node_queue *e,
		    uint64_t end, const struct rpc_produce_resp *r, bool all);
/* Answers the waiters of @e whose batches are now covered. */
void node_acks_release(struct node *n, const struct node_queue *e);
/* Answers every waiter of @e (NULL: all) with @code and @msg. */
void node_acks_fail(struct node *n, const struct node_queue *e, uint32_t code,
		    const char *msg);
/* Times waiters out (tick). */
void node_acks_expire(struct node *n);

/* ---- syncer.c: group commit on the node's I/O thread ---- */

/* Starts the thread (flush = sync); 0, or -1 with @err. */
int node_syncer_start(struct node *n, char *err, size_t errlen);
/* Asks for a sync of @e's unsynced tail (none running for @e: now;
 * otherwise after the running one). No-op without a syncer. */
void node_sync_want(struct node *n, struct node_queue *e);
/* Joins the thread and applies its last results; before the queues
 * close. */
void node_syncer_stop(struct node *n);

/* ---- replica_serve.c: the leader's side of REPLICA_FETCH ---- */

void node_handle_replica_fetch(const struct node_req *req, const void *in);
/* Answers the parked replica fetches that list @e's queue. */
void node_replica_wake(struct node *n, const struct node_queue *e);
/* Answers the parked replica fetches whose time is up (every one
 * unless @expired_only: the node stops). */
void node_replica_wake_all(struct node *n, bool expired_only);

/* ---- isr.c: in-sync sets ---- */

/* Leader: asks the Raft leader to drop followers that lag and take back
 * those caught up (tick). */
void node_isr_tick(struct node *n);
/* ALTER_ISR on the Raft leader: proposes it. */
void node_handle_alter_isr(const struct node_req *req, const void *in);

/* ---- sessions.c: brokers' sessions on the Raft leader ---- */

/* Node @broker polled this node (its heartbeat). */
void node_session_heard(struct node *n, const char *broker);
/* Raft leader: fences brokers whose session ran out, unfences those
 * heard again (tick). */
void node_sessions_tick(struct node *n);
void node_sessions_free(struct node *n);

/* ---- fetcher.c: the follower's side ---- */

/* Starts a fetch to each broker leading a queue this broker follows, if
 * none is on its way there (tick, and after roles change). */
void node_fetchers_run(struct node *n);
/* Stops fetching (the node stops). */
void node_fetchers_stop(struct node *n);
/* Frees the fetchers (after the loop, their links closed). */
void node_fetchers_free(struct node *n);

#endif /* RAFTQ_NODE_REPLICA_H */
