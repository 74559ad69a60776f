/*
 * node_int.h — shared inside node/ only: the daemon's state and the helpers
 * below the request handlers (leadership, links to other nodes, local
 * queues, the gather and sync fan-outs, code translation).
 *
 * Layers, each using only those below it (docs/design/node.md):
 *   daemon.c (start, stop)  →  dispatch.c (the request table)
 *   →  handlers: cluster.c membership.c topics.c data.c fetch_wait.c
 *                groups.c commits.c offsets.c reset.c history.c
 *   →  request.c (answers, proposals)  members.c  gather.c  sync.c
 *   →  leader.c  links.c  queues.c  translate.c  →  storage, rpc, raft
 */
#ifndef RAFTQ_NODE_INT_H
#define RAFTQ_NODE_INT_H

#include <assert.h>
#include <search.h>
#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "metrics.h"
#include "node.h"
#include "rpc.h"
#include "rsm.h"

#define NODE_MAX_PEERS 64
#define NODE_TICK_MS 50
#define NODE_FETCH_WAITERS_MAX 4096  /* fetches waiting for data at once */
#define NODE_FETCH_WAIT_MAX_MS 30000 /* a longer max_wait_ms is cut */
#define NODE_LEASE_MS 1000	     /* a follower's view of the commit index */
#define NODE_LAG_MS 500		     /* how far a current follower may lag */
#define NODE_LEASE_POLL_MS 100	     /* a follower asks the leader this often */
#define NODE_LEASE_POLLS 16	     /* answers kept (> NODE_LAG_MS / poll) */
#define NODE_CATCHUP_WAIT_MS 1000    /* a request waits for current state */

/* A client to another node (status fan-out, registration, joins). */
struct node_link {
	uint64_t id;
	char address[NODE_TEXT];
	struct rpc_client cli;
	bool open;
};

/* A link that authenticates as a client's token (links.c): how a follower
 * sends an HTTP request on to the leader with the sender's own rights. */
#define NODE_DELEGATES 8
#define NODE_DELEGATE_TOKEN 1024 /* TOKEN_TEXT_MAX */
struct node_delegate {
	struct node_link link;
	char token[NODE_DELEGATE_TOKEN + 1];
	size_t token_len;
	uint64_t used; /* uv_now of its last use */
	bool closing;  /* closed, its handles not yet */
	struct node *n;
};

enum node_stop_phase {
	NODE_RUNNING = 0,
	NODE_QUIESCING,	   /* leader: no new proposals; its own commit */
	NODE_TRANSFERRING, /* leader: handing leadership over */
	NODE_DRAINING,	   /* waiting for pending log writes */
	NODE_CLOSING,	   /* raft_close called */
	NODE_STOPPED,
};

struct commit_batch;
struct node_groups;
struct fetch_waiter;
struct ack_waiter;
struct rparked;
struct node_fetcher;
struct node_session;
struct parked_req;
struct node_auth;
struct node_http;

/* What a follower learned of the leader's commit index (lease.c): the
 * last NODE_LEASE_POLLS answers, each the commit index the leader had
 * when asked at asked_at (uv_now), newest at [last]. */
struct node_lease {
	struct rpc_call call;
	bool pending;
	uint64_t sent_at, term_asked;
	struct {
		uint64_t asked_at, commit;
	} polls[NODE_LEASE_POLLS];
	uint32_t last, n;
};

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
	struct node_auth *auth;	  /* [auth] tokens_file (auth.c); NULL: off */
	struct node_http *http;	  /* [node] http_listen (http.c); NULL: off */
	struct node_call *calls;  /* requests made inside the node (call.c) */
	struct node_sched *sched; /* delayed messages (schedule.c) */
	uint64_t last_call;	  /* the last call's connection number */
	struct node_metrics metrics;	       /* GET /metrics (metrics.c) */
	struct node_reset_count *reset_counts; /* reset_counts.c */
	uint32_t n_reset_counts, cap_reset_counts;
	uv_timer_t tick;
	uv_signal_t sig_term;
	uv_signal_t sig_int;
	/* Leadership (leader.c): serve nothing before a barrier of the term. */
	int state;
	raft_term term;
	bool ready;
	bool barrier_pending;
	uint64_t leader_since; /* uv_now when this node last became leader */
	struct raft_barrier barrier;
	/* Registration of this node's broker entry (register.c). */
	bool reg_inflight;
	/* [node] replace = yes and no Raft state at start (replace.c):
	 * Raft not started and JOIN says replace until answered OK
	 * (replacing); then an ordinary JOIN is sent until answered OK,
	 * even once the state shows this broker registered (rejoining): the
	 * leader may have delivered old entries, its old registration among
	 * them, before this node is a member again. */
	bool replacing;
	bool rejoining;
	uint64_t reg_next;
	struct rpc_call reg_call;
	char join_target[NODE_TEXT]; /* where JOIN goes before a leader is
					known */
	struct raft_apply reg_apply;
	/* Links to other nodes (links.c). */
	struct node_link links[NODE_MAX_PEERS];
	struct node_delegate delegates[NODE_DELEGATES];
	int nlinks;
	/* Online members of consumer groups (members.c, leader only). */
	struct node_groups *groups;
	/* Offset commits waiting for the end of this loop turn. */
	struct commit_batch *commits;
	uv_check_t commit_check;
	/* Local queues (this broker's part of each topic). */
	struct node_queue *queues;
	size_t nqueues;
	struct hsearch_data qindex; /* key → index in queues */
	size_t qindex_cap;	    /* 0: no index (lookups scan) */
	uint64_t queue_clock;	    /* counts queue uses (LRU) */
	uint64_t max_open_queues;   /* queues holding files, at most */
	uint64_t opened_since_trim; /* queues opened since the last trim */
	uint64_t reacquired_seen;   /* stor_reacquired_total then */
	uint64_t trash_seq; /* names under <data_dir>/trash (topic_files.c) */
	struct stor_config stor;
	/* flush = sync: the I/O thread syncing appended tails (syncer.c). */
	struct node_syncer *syncer;
	uint64_t queue_syncs;	     /* syncs it ran */
	uint64_t queue_sync_appends; /* batches appended for it to sync */
	/* The last topic found without a directory here (queues.c
	 * never_written; "": none), until node_topic_dir makes it. */
	char no_dir_topic[RSM_NAME_MAX + 1];
	int64_t no_dir_created;
	uv_timer_t retention;
	/* Fetches waiting for data (fetch_wait.c). */
	struct fetch_waiter *waiters;
	uint32_t n_waiters;
	/* Replication (replica.h): produce answers waiting for the in-sync
	 * replicas, followers' fetches waiting for data, this broker's
	 * fetchers. */
	struct ack_waiter *acks;
	struct rparked *rparked;
	uint32_t n_rparked;
	struct node_fetcher **fetchers;
	uint32_t n_fetchers;
	/* Brokers' sessions (sessions.c, Raft leader). */
	struct node_session **sessions;
	uint32_t n_sessions;
	raft_term sessions_term;
	uint64_t last_leader_id; /* the last leader this node followed */
	/* Whether the state is current (lease.c); requests waiting for it
	 * (current_gate.c). */
	struct node_lease lease;
	/* A replicated queue's leadership waits for the state to be
	 * current (replica.c). */
	bool roles_waiting;
	struct parked_req *parked;
	uint32_t n_parked;
	/* Shutdown. */
	enum node_stop_phase phase;
	uint64_t phase_deadline;
	struct raft_transfer transfer;
	int handles_open;
	int exit_code;
};

/* ---- schedule.c: delayed messages (docs/design/retry-delay.md) ---- */
/* The longest delay a producer may ask for (DESIGN.md §2.2). */
#define NODE_DELAY_MAX_MS (40LL * 24 * 3600 * 1000)
/* Opens <data_dir>/schedule and arms the hand-over timer: 0, or -1 with
 * the store's error in @err. */
int node_sched_start(struct node *n, char *err, size_t errlen);
/* Stores batch @b for queue @queue of @t, due at @due: RPC_OK and its id,
 * or a wire code with the reason in @msg. Durable as the flush policy
 * says before it returns. */
uint32_t node_sched_add(struct node *n, const struct rsm_topic *t,
			uint32_t queue, int64_t due,
			const struct stor_batch_in *b, uint64_t *id, char *msg,
			size_t msglen);
/* Records waiting in this broker's schedule store for queue @queue of
 * @t (delayed messages, or retries when @t is a %RETRY% topic). */
uint64_t node_sched_pending(struct node *n, const struct rsm_topic *t,
			    uint32_t queue);
/* The store's figures and the batches handed over / dropped since start. */
void node_sched_info(struct node *n, struct stor_sched_info *out,
		     uint64_t *handed, uint64_t *dropped);
/* Closes the timer (counted in handles_open); frees after the loop. */
void node_sched_stop(struct node *n);
void node_sched_free(struct node *n);

/* ---- reset_counts.c: resets this node answered (raftq_resets_total) ---- */
#define NODE_RESET_COUNTS_MAX 10000
struct node_reset_count {
	char group[RSM_NAME_MAX + 1];
	char topic[RSM_NAME_MAX + 1];
	char result[32]; /* "applied", "dry_run" or a wire code name */
	uint64_t n;
};
/* Counts one reset of @group on @topic that ended with @result. */
void node_resets_count(struct node *n, const char *group, const char *topic,
		       const char *result);
void node_resets_free(struct node *n);

/* A local queue — this broker's replica of (topic, home, queue id) —
 * opened on first use. */
struct node_replica;
struct node_queue {
	char topic[RSM_NAME_MAX + 1];
	char home[RSM_NAME_MAX + 1]; /* the broker in the queue's name */
	int64_t created;	     /* the topic's incarnation */
	uint32_t queue_id;
	struct stor_queue *q;
	/* Replication state (replica.c); NULL for an unreplicated topic. */
	struct node_replica *rep;
	bool syncing;  /* a sync of its tail is on the I/O thread */
	char *key;     /* its name in the queue index (queue_table.c) */
	uint64_t used; /* n->queue_clock when last used */
};

/* ---- leader.c: who leads, and whether this node may serve ---- */

/* The leader's client address (borrowed from the state), or NULL when
 * none is known; its id in @leader_id (0 if none; may be NULL). */
const char *node_leader_listen(struct node *n, uint64_t *leader_id);
/* True when this node is the leader and its barrier of this term has
 * applied (it may serve reads and proposals). */
bool node_is_ready_leader(struct node *n);
/* The last index applied to the state machine on this node. */
uint64_t node_applied_index(struct node *n);
/* Tick: follows role and term; starts the barrier of a new term. */
void node_follow_leadership(struct node *n);
/* Wall-clock ms (store times, reset times). */
int64_t node_wall_ms(void);

/* ---- register.c: keeps this node's broker entry in the state ---- */
void node_keep_registered(struct node *n);

/* ---- links.c ---- */
/* A client to node @id at @address, created on first use (owned by the
 * node, closed at stop); NULL when the table is full or the address bad. */
struct rpc_client *node_link(struct node *n, uint64_t id, const char *address);
/* The one line of a CLUSTER_STATUS local answer (@status: the call's), or
 * NULL for no answer, an error or another shape; it points into @f. */
const struct rpc_node_status *node_link_status(int status, struct rpc_frame *f);
/* A client to node @id at @address that authenticates with the client
 * token @token (@len bytes) instead of the cluster secret: its requests
 * are checked on that node as the token's, as if its holder had sent them
 * there. Up to NODE_DELEGATES at once (the least recently used idle one
 * is closed to make room); NULL when all are busy. */
struct rpc_client *node_link_as(struct node *n, uint64_t id,
				const char *address, const char *token,
				size_t len);
/* Closes every link; each close counts in n->handles_open until done. */
void node_links_close(struct node *n);

/* ---- daemon.c ---- */
/* Starts node @n (zeroed) on @loop: 0, or -1 with the reason in @err.
 * The ports are checked before the data directory is touched. */
int node_start(struct node *n, uv_loop_t *loop, const struct node_config *cfg,
	       char *err, size_t errlen);
/* Frees what a stopped node still holds. */
void node_free(struct node *n);
/* Starts an orderly stop (SIGTERM). */
void node_stop(struct node *n);
/* raft_start, with a message naming the port or the error; 0 or -1. */
int node_raft_begin(struct node *n, char *err, size_t errlen);

/* replace.c. Decides at start, before Raft is, whether this node takes
 * its old place back empty (sets n->replacing; writes the marker that
 * survives a crash before the leader answers); 0, or -1 with @err. */
int node_replace_decide(struct node *n, char *err, size_t errlen);
/* The leader removed this node's old place: starts Raft, ends
 * replacing; the ordinary JOIN follows (rejoining). Stops the node if Raft
 * cannot start. */
void node_replace_done(struct node *n);
/* The ordinary JOIN after a replace was answered: the marker removed,
 * rejoining ends. */
void node_replace_joined(struct node *n);

/* ---- lease.c: whether this node's state is current ---- */

/* Asks the leader for its commit index (a follower, one question at a
 * time); from the tick. */
void node_lease_tick(struct node *n);
/* True when this node may answer from its state: the ready leader, or a
 * follower that applied what the leader had committed less than
 * NODE_LEASE_MS ago. */
bool node_is_current(struct node *n);
/* Why this node is not current, in @msg (snprintf's return). */
int node_lease_explain(struct node *n, char *msg, size_t len);

/* ---- queues.c: this broker's queues ---- */

/* Bounds of one local queue, and with @with_time the offset for @time. */
struct node_qstat {
	bool known; /* false: its broker did not answer (gather.c) */
	uint64_t min, max, time_offset;
	int64_t first_time, last_time;
	uint64_t scheduled; /* records in the schedule store for it */
};

/* ---- queue_table.c: the index of open queues, their open files ---- */

/* The open replica of (@t, @home, @queue_id), or NULL. */
struct node_queue *node_queue_find(struct node *n, const struct rsm_topic *t,
				   const char *home, uint32_t queue_id);
/* The same by the topic's name and incarnation (@created). */
struct node_queue *node_queue_by_name(struct node *n, const char *topic,
				      const char *home, uint32_t queue_id,
				      int64_t created);
/* Indexes @e, just added as the last of n->queues; 0 or -1 (no memory). */
int node_queue_index_add(struct node *n, struct node_queue *e);
/* Rebuilds the index after n->queues changed (queues dropped). */
void node_queue_index_rebuild(struct node *n);
void node_queue_index_free(struct node *n);
/* @e is being used (@opened: just opened); trims when many queues
 * opened since the last trim. */
void node_queue_touch(struct node *n, struct node_queue *e, bool opened);
/* The least recently used idle queues release their files until at most
 * max_open_queues hold files (tick, and node_queue_touch). */
void node_queues_trim(struct node *n);
/* At start: the open-file limit raised to its hard limit, and
 * n->max_open_queues from [storage] max_open_queues (0: what fits). */
void node_queue_budget(struct node *n);
/* This broker's replica of (@topic, @home (NULL: this broker),
 * @queue_id), opened (and created) on first use; NULL with a wire code
 * and message when the topic is unknown (UNAVAILABLE instead while this
 * node's state is not current), the id is out of range
 * (INVALID_ARGUMENT), this broker holds no replica of it (NOT_LEADER), or
 * it cannot be opened. Whether this broker leads it: node_led_queue. */
struct node_queue *node_queue_open(struct node *n, const char *topic,
				   const char *home, uint32_t queue_id,
				   uint32_t *code, char *msg, size_t msglen);
/* The stats of queue (@topic, @home (NULL: this broker), @queue_id) as
 * its leader — this broker — serves them: max is the high watermark, the
 * offset for a time never past it. 0, or -1 with a wire code and message
 * (as node_led_queue; UNAVAILABLE while a new leader's high watermark is
 * not established; the time lookup's storage error). */
int node_queue_stat(struct node *n, const char *topic, const char *home,
		    uint32_t queue_id, bool with_time, int64_t time,
		    struct node_qstat *out, uint32_t *code, char *msg,
		    size_t msglen);
/* Whole batches of @q from @at into a malloc'ed *out (the caller frees
 * it, also on error): at most @cap bytes, none starting at or after
 * @limit (a high watermark, an epoch's end); a first batch bigger than
 * @cap comes whole when it is at most @max_one bytes. 0 (*len 0: nothing
 * before @limit) or a storage code (STOR_ERANGE, STOR_EBUFSIZE with the
 * size needed in *len, STOR_ECORRUPT, STOR_EIO, STOR_ENOMEM). */
int node_read_until(struct stor_queue *q, uint64_t at, uint64_t limit,
		    size_t cap, size_t max_one, uint8_t **out, size_t *len);
/* Retention and interval flushing for every open queue. */
void node_queues_tick(struct node *n);
void node_queues_close(struct node *n);
/* Closes the open queues of @topic (every topic whose incarnation is not
 * the state's, when @topic is NULL). */
void node_queues_drop(struct node *n, const char *topic);
/* The rsm hook's part for queues: a deleted topic's queues closed and its
 * files removed; after a restore (@res NULL) files and queues reconciled
 * with the new state. */
void node_queues_on_applied(struct node *n, const struct rsm_result *res);

/* ---- topic_files.c: a topic's directory per incarnation ---- */

/* Makes (or checks) <data_dir>/queues/<topic> for @t's incarnation into
 * @dir: 0, or -1 with @msg (a later incarnation's files: this node's
 * state is behind). Files of an older incarnation are moved away first. */
int node_topic_dir(struct node *n, const struct rsm_topic *t, char *dir,
		   size_t dirlen, char *msg, size_t msglen);
/* Topic @topic of incarnation @created was deleted: its files go (not a
 * later incarnation's). */
void node_topic_files_deleted(struct node *n, const char *topic,
			      int64_t created);
/* After a restore: files of topics deleted since, or of older
 * incarnations, go; files without an incarnation are adopted. */
void node_topic_files_reconcile(struct node *n);
/* Moves <data_dir>/queues/@topic to the trash and removes it off the loop
 * thread; 0 (also when there is nothing), -1 when it cannot be moved. */
int node_topic_trash(struct node *n, const char *topic, const char *why);
/* Removes whatever the trash holds (from before a restart). */
void node_trash_purge(struct node *n);

/* ---- gather.c: bounds of a topic's queues from their hosting brokers ---- */

struct node_gather;
typedef void (*node_gather_cb)(struct node_gather *g, bool ok);
#define NODE_GATHER_RETRY_MS 1500
#define NODE_GATHER_PAUSE_MS 50
struct node_gather {
	void *data;
	bool with_time;
	int64_t time;
	bool partial; /* ok even if some brokers fail (their queues unknown) */
	/* results, valid in the callback until node_gather_free */
	char topic[RSM_NAME_MAX + 1];
	uint32_t n_brokers, qpb;
	char (*brokers)[RSM_NAME_MAX + 1];
	struct node_qstat *q; /* n_brokers * qpb, by broker then id */
	char failed[512];     /* why not ok */
	/* private */
	node_gather_cb done;
	struct node *n;
	void *asks;
	uint32_t n_asks;
	int waiting;
	uv_timer_t defer; /* the pause between rounds; done() runs from its
			     close callback */
	bool *want;	  /* the queues asked for (NULL: all) */
	uint64_t *ids;	  /* a round's scratch: queue ids of one home */
	int64_t created;  /* the topic's incarnation */
	uint64_t started; /* uv_now of the first round */
	bool transient;	  /* this round failed on a leader change */
};
/*
 * Asks the leader of every queue of @t selected in @want (index =
 * broker * qpb + id; NULL = all) for its bounds — what its readers see,
 * up to the high watermark — in one QUEUE_STATS per (home, leader) pair
 * (this broker answers locally; an offline queue fails it). A round that
 * fails on a leader change (NOT_LEADER, a new leader's high watermark not
 * established, a queue offline while its leader is replaced) is asked
 * again after NODE_GATHER_PAUSE_MS, for up to NODE_GATHER_RETRY_MS
 * (unless partial). Set data,
 * with_time, time and partial first. Returns 0, and
 * @done fires exactly once, never from inside this call, with ok = false
 * (g->failed says which broker and why) unless every broker answered or
 * partial is set; or -1 (out of memory) and @done never fires. After
 * @done, node_gather_free releases the results; @g has no handle open.
 */
int node_gather_start(struct node *n, struct node_gather *g,
		      const struct rsm_topic *t, const bool *want,
		      node_gather_cb done);
void node_gather_free(struct node_gather *g);
/* What waits for @grp in gathered topic @g (its retry or dead-letter
 * topic): the messages past the group's position (or the start, where
 * it has none) on every queue whose broker answered, plus with
 * @scheduled the records the brokers' schedule stores hold for them. */
uint64_t node_gather_backlog(const struct node_gather *g,
			     const struct rsm_group *grp, bool scheduled);

/* ---- sync.c: wait until other nodes have applied an entry ----
 *
 * A change answered by the leader must hold on every node the client may
 * ask next (a reset's epoch on the hosting brokers, a new topic or group
 * everywhere). node_sync asks each target node for its applied index
 * (CLUSTER_STATUS local) every millisecond until it reaches the entry, for
 * at most NODE_SYNC_LIMIT_MS; a barrier makes followers learn the commit
 * index at once instead of at the next heartbeat.
 *
 * Happy path: start -> asks -> every target synced -> cb(no lagging).
 * Failure modes: a target that does not reach the index in time (or, with
 * skip_unreachable, that cannot be connected to) -> cb(lagging: those
 * targets) at the deadline. The sync owns its memory and frees it once its
 * timer, barrier and asks are done, which may be after cb: the caller may free
 * @data in cb. */
#define NODE_SYNC_LIMIT_MS 2000

/* @lagging: the ids of the targets that did not apply in time (none: all
 * did), valid during the call. */
typedef void (*node_sync_cb)(void *data, const uint64_t *lagging,
			     uint32_t n_lagging);
/* Waits for the nodes @ids (copied; this node is skipped; NULL: every
 * other node of the Raft configuration) to apply @index. Returns 0 and
 * @cb fires once, never from inside this call; or -1 (out of memory) and
 * @cb never fires. */
int node_sync_start(struct node *n, uint64_t index, const uint64_t *ids,
		    uint32_t nids, bool skip_unreachable, node_sync_cb cb,
		    void *data);

/* ---- fault_points.c ---- */

/* The environment queues are opened with: with libfiu at build time, the
 * fault points raftq/storage/write and raftq/storage/sync; else NULL. */
const struct stor_env *node_storage_env(void);
/* Whether fault point @name is on (a crash point: the caller aborts);
 * always false without libfiu (node/fault_points.c). */
bool node_fault_crash(const char *name);

/* ---- member_wait.c: members confirm a reset (leader only) ---- */

/* @unconfirmed: online members that had not confirmed (0: all had, and
 * this node knew every member that may hold a lease). */
typedef void (*node_members_cb)(void *data, uint32_t unconfirmed);
/*
 * Calls @cb once no member of @group can deliver anything of @topics[i]
 * from before epoch @epochs[i] (copied): every online member reading them
 * said it holds those epochs and this node has led long enough to know
 * every member that may hold a lease (member_lease_ms + election timeout),
 * or member_lease_ms has passed (every earlier lease has run out). Never
 * from inside this call. Returns 0, or -1 (out of memory: @cb never
 * fires).
 */
int node_members_wait(struct node *n, const char *group,
		      const char *const *topics, const uint64_t *epochs,
		      uint32_t nt, node_members_cb cb, void *data);

/* ---- members.c: online members of consumer groups (leader only) ---- */

/* Online members of @group: the count; their ids in @names (up to @max;
 * borrowed until the next membership change). */
uint32_t node_group_members(struct node *n, const char *group,
			    const char **names, uint32_t max);
/* Pushes RESET_NOTICE to the online members reading the reset's topic. */
void node_groups_notify_reset(struct node *n, const struct rsm_reset *r);
/* Drops members silent for session_timeout_ms; forgets all off-leader. */
void node_groups_tick(struct node *n);
void node_groups_free(struct node *n);

/* ---- commits.c ---- */
void node_commits_init(struct node *n);
/* Proposes the commits gathered in this loop turn (the uv_check calls it;
 * tests call it directly). */
void node_commits_flush(struct node *n);

/* ---- translate.c: module codes to wire codes, here only ---- */
uint32_t node_code_from_rsm(int rsm_code);
uint32_t node_code_from_stor(int stor_code);
/* A libraft error as a wire code: RAFT_NOTLEADER (nothing was proposed)
 * is NOT_LEADER; RAFT_LEADERSHIPLOST (the entry's fate is unknown) and
 * every other failure are UNAVAILABLE; RAFT_NOTFOUND is NOT_FOUND. */
uint32_t node_code_from_raft(int raft_code);
const char *node_role_name(int raft_state);

#endif /* RAFTQ_NODE_INT_H */
