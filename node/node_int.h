/*
 * node_int.h — shared inside node/ only: the daemon's state.
 */
#ifndef RAFTQ_NODE_INT_H
#define RAFTQ_NODE_INT_H

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "node.h"
#include "rpc.h"
#include "rsm.h"

#define NODE_MAX_PEERS 64
#define NODE_TICK_MS 50

/* A client to another node (status fan-out, registration, joins). */
struct node_link {
	uint64_t id;
	char address[NODE_TEXT];
	struct rpc_client cli;
	bool open;
};

enum node_stop_phase {
	NODE_RUNNING = 0,
	NODE_TRANSFERRING, /* leader: handing leadership over */
	NODE_DRAINING,	   /* waiting for pending log writes */
	NODE_CLOSING,	   /* raft_close called */
	NODE_STOPPED,
};

struct commit_batch;
struct node_groups;

struct node {
	struct node_config cfg;
	uv_loop_t *loop;
	int lock_fd;
	char raft_dir[NODE_PATH + 16];
	struct raft raft;
	struct raft_io io;
	struct raft_uv_transport transport;
	struct raft_fsm fsm;
	struct rsm *rsm;
	bool raft_inited;
	struct rpc_server rpc;
	bool rpc_open;
	uv_timer_t tick;
	uv_signal_t sig_term;
	uv_signal_t sig_int;
	/* Leadership: reads and proposals wait for a barrier in each term. */
	int state;
	raft_term term;
	bool ready;
	bool barrier_pending;
	struct raft_barrier barrier;
	/* Registration of this node's broker entry. */
	bool reg_inflight;
	uint64_t reg_next;
	struct rpc_call reg_call;
	char join_target[NODE_TEXT]; /* where JOIN goes before a leader is known
				      */
	struct raft_apply reg_apply;
	/* Links to other nodes. */
	struct node_link links[NODE_MAX_PEERS];
	int nlinks;
	/* Set while a request is re-run after its read barrier. */
	bool read_gate_passed;
	/* Online members of consumer groups (leader only). */
	struct node_groups *groups;
	/* Offset commits waiting for the end of this loop turn. */
	struct commit_batch *commits;
	uv_check_t commit_check;
	/* Local queues (this broker's part of each topic). */
	struct node_queue *queues;
	size_t nqueues;
	struct stor_config stor;
	uv_timer_t retention;
	/* Shutdown. */
	enum node_stop_phase phase;
	uint64_t phase_deadline;
	struct raft_transfer transfer;
	int handles_open;
	int exit_code;
};

/* A local queue, opened on first use. */
struct node_queue {
	char topic[RSM_NAME_MAX + 1];
	uint32_t queue_id;
	struct stor_queue *q;
};

/* daemon.c */
/* The leader's client address, or NULL when none is known. */
const char *node_leader_listen(struct node *n, uint64_t *leader_id);
/* A client to node @id at @address (created on first use). */
struct rpc_client *node_link(struct node *n, uint64_t id, const char *address);
/* Starts an orderly stop (SIGTERM). */
void node_stop(struct node *n);

/*
 * Linearizable reads (DESIGN.md §4): returns true when the request may be
 * served now, i.e. it is being re-run after a raft_barrier of its own
 * completed (so this node was still the leader and has applied everything
 * committed before the request arrived). Otherwise copies the request,
 * starts the barrier, and returns false: the handler must return; it runs
 * again when the barrier completes (or the client gets UNAVAILABLE).
 */
bool node_read_gate(struct node *n, uint64_t conn, struct rpc_frame *f);

/* Wall-clock ms (store times, reset times). */
int64_t node_wall_ms(void);

/* handlers.c */
/* Decodes @f's body into @out (the struct of f->type's schema); on bad
 * bytes answers INVALID_ARGUMENT "malformed TYPE request: field F" and
 * returns false. */
bool node_decode(struct node *n, uint64_t conn, struct rpc_frame *f, void *out);

/* Queues an answer to request @rid on @conn (type without RPC_RESPONSE);
 * @st NULL means OK. Logs what cannot be sent. */
void node_reply(struct node *n, uint64_t conn, uint16_t type, uint64_t rid,
		const struct rpc_status *st, const void *body);
/* An error answer: the status alone. */
void node_reply_error(struct node *n, uint64_t conn, uint16_t type,
		      uint64_t rid, uint32_t code, const char *msg);
/* True when this node is the leader and has caught up in its term;
 * otherwise it has answered NOT_LEADER (with the leader's address) or
 * UNAVAILABLE. */
bool node_leader_only(struct node *n, uint64_t conn, uint16_t type,
		      uint64_t rid);
void node_on_request(struct rpc_server *s, uint64_t conn, struct rpc_frame *f);
void node_on_rpc_event(struct rpc_server *s, uint64_t conn, const char *peer,
		       enum rpc_event ev, int err);
/* This node's own status line. */
void node_local_status(struct node *n, struct rpc_node_status *out);

/* gather.c: bounds of a topic's queues from their hosting brokers. */
struct node_qstat {
	bool known;
	uint64_t min, max, time_offset;
	int64_t first_time, last_time;
};
struct node_gather;
typedef void (*node_gather_cb)(struct node_gather *g, bool ok);
struct node_gather {
	void *data;
	bool with_time;
	int64_t time;
	bool partial; /* ok even if some brokers fail (their queues unknown) */
	node_gather_cb done;
	/* results */
	char topic[RSM_NAME_MAX + 1];
	uint32_t n_brokers, qpb;
	char (*brokers)[RSM_NAME_MAX + 1];
	struct node_qstat *q; /* n_brokers * qpb, by broker then id */
	char failed[512];     /* why not ok */
	/* private */
	void *asks;
	int waiting;
};
/*
 * Asks every broker hosting a queue of @t selected in @want (index =
 * broker * qpb + id; NULL = all). Set data, with_time, time and done
 * first. done() fires exactly once (possibly before this returns — the
 * caller must not touch @g after starting it unless done has not run).
 * Returns -1 (out of memory) without calling done.
 */
int node_gather_start(struct node *n, struct node_gather *g,
		      const struct rsm_topic *t, const bool *want);
void node_gather_free(struct node_gather *g);

/* sync.c — wait until other nodes have applied an entry.
 *
 * A change answered by the leader must hold on every node the client may
 * ask next (a reset's epoch on the hosting brokers, a new topic or group
 * everywhere). After the entry applied on the leader, node_sync asks
 * each target node for its applied index (CLUSTER_STATUS local) every
 * millisecond until it reaches the entry, for at most NODE_SYNC_LIMIT_MS;
 * a barrier makes followers learn the commit index at once instead of at
 * the next heartbeat.
 *
 * Happy path: start -> asks -> every target synced -> done(all = true)
 * -> (barrier returned, timer closed) -> release. Failure modes: a target
 * that does not reach the index in time (or, with skip_unreachable, that
 * cannot be connected to) -> done(all = false) at the deadline. done and
 * release each fire exactly once, never from inside node_sync_start;
 * free the struct in release. */
#define NODE_SYNC_LIMIT_MS 2000

struct node_sync;
typedef void (*node_sync_cb)(struct node_sync *s, bool all);
typedef void (*node_sync_release_cb)(struct node_sync *s);
struct node_sync_target {
	struct rpc_call call;
	struct node_sync *s;
	uint64_t id;
	bool pending, synced;
};
struct node_sync {
	void *data;
	/* private */
	struct node *n;
	uint64_t index;
	bool skip_unreachable;
	struct node_sync_target *t;
	uint32_t nt;
	uint32_t waiting;
	uint64_t deadline;
	uv_timer_t timer;
	struct raft_barrier barrier;
	bool barrier_pending, finished, timer_closed;
	node_sync_cb done;
	node_sync_release_cb release;
};

/* Waits for the nodes @ids (copied; this node is skipped; NULL: every
 * other node of the Raft configuration) to apply @index. */
void node_sync_start(struct node *n, struct node_sync *s, uint64_t index,
		     const uint64_t *ids, uint32_t nids, bool skip_unreachable,
		     node_sync_cb done, node_sync_release_cb release);

/* offsets.c */
void node_commits_init(struct node *n);
void node_handle_commit(struct node *n, uint64_t conn, struct rpc_frame *f);
void node_handle_offsets(struct node *n, uint64_t conn, struct rpc_frame *f);
void node_handle_reset(struct node *n, uint64_t conn, struct rpc_frame *f);
void node_handle_undo(struct node *n, uint64_t conn, struct rpc_frame *f);
void node_handle_history(struct node *n, uint64_t conn, struct rpc_frame *f);

/* groups.c */
void node_handle_heartbeat(struct node *n, uint64_t conn, struct rpc_frame *f);
void node_handle_leave(struct node *n, uint64_t conn, struct rpc_frame *f);
void node_handle_group_describe(struct node *n, uint64_t conn,
				struct rpc_frame *f);
/* Online members of @group: the count; their ids in @names (up to @max;
 * borrowed until the next membership change). */
uint32_t node_group_members(struct node *n, const char *group,
			    const char **names, uint32_t max);
/* Pushes RESET_NOTICE to the online members reading the reset's topic. */
void node_groups_notify_reset(struct node *n, const struct rsm_reset *r);
/* Drops members silent for session_timeout_ms; forgets all off-leader. */
void node_groups_tick(struct node *n);
void node_groups_free(struct node *n);

/* queues.c */
/*
 * The local queue (@topic, @queue_id), opened (and created) on first use.
 * NULL with a wire code and message in @code/@msg when the topic is
 * unknown, this broker does not host it, the id is out of range, or the
 * queue cannot be opened.
 */
struct stor_queue *node_queue(struct node *n, const char *topic,
			      uint32_t queue_id, uint32_t *code, char *msg,
			      size_t msglen);
/* Retention and interval flushing for every open queue. */
void node_queues_tick(struct node *n);
void node_queues_close(struct node *n);

/* translate.c: module codes to wire codes. */
uint32_t node_code_from_rsm(int rsm_code);
uint32_t node_code_from_stor(int stor_code);
/* A libraft error (RAFT_NOTLEADER...) as a wire code. */
uint32_t node_code_from_raft(int raft_code);
const char *node_role_name(int raft_state);

#endif /* RAFTQ_NODE_INT_H */
