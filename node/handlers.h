/*
 * handlers.h — every request handler of raftqd, by domain (node/ only).
 * Each has the node_handler_fn shape: @in is the decoded request struct of
 * its type (rpc.h RPC_MESSAGES); the flags that hold before it runs are in
 * dispatch.c's table. A handler answers exactly once (request.h).
 */
#ifndef RAFTQ_NODE_HANDLERS_H
#define RAFTQ_NODE_HANDLERS_H

#include "request.h"

/* The rpc server's callbacks (dispatch.c). */
void node_on_request(struct rpc_server *s, uint64_t conn, struct rpc_frame *f);
/* Serves request frame @f from connection @conn (an rpc server's, or a
 * call's: call.h); @f is released by the caller when this returns. */
void node_dispatch(struct node *n, uint64_t conn, struct rpc_frame *f);
void node_on_rpc_event(struct rpc_server *s, uint64_t conn, const char *peer,
		       enum rpc_event ev, int err);

/* cluster.c: route table and cluster status (any node). */
void node_handle_route(const struct node_req *req, const void *in);
void node_handle_status(const struct node_req *req, const void *in);
/* This node's own status line (borrows the node's strings). */
void node_local_status(struct node *n, struct rpc_node_status *out);

/* membership.c: JOIN and NODE_REMOVE (leader). */
void node_handle_join(const struct node_req *req, const void *in);
void node_handle_node_remove(const struct node_req *req, const void *in);

/* topics.c: creating, listing and describing topics; creating and
 * listing groups. */
void node_handle_topic_create(const struct node_req *req, const void *in);
void node_handle_topic_list(const struct node_req *req, const void *in);
void node_handle_topic_describe(const struct node_req *req, const void *in);
void node_handle_group_create(const struct node_req *req, const void *in);
void node_handle_group_list(const struct node_req *req, const void *in);

/* data.c: this broker's queues. */
void node_handle_produce(const struct node_req *req, const void *in);
void node_handle_send_back(const struct node_req *req, const void *in);
void node_handle_fetch(const struct node_req *req, const void *in);
void node_handle_queue_stats(const struct node_req *req, const void *in);
/* Answers fetch @p (as node_handle_fetch); one that finds nothing new
 * waits up to @max_wait_ms (0: answered at once). */
void node_fetch_serve(const struct node_req *req, const struct rpc_fetch_req *p,
		      uint32_t max_wait_ms);

/* fetch_wait.c: fetches waiting for data (long polling). */
/* Keeps fetch @p until data, a state change or @max_wait_ms; false when
 * it cannot wait (stopping, too many waiting, no memory). */
bool node_fetch_park(const struct node_req *req, const struct rpc_fetch_req *p,
		     uint32_t max_wait_ms);
/* Answers the waiters of the queue now holding up to @max_offset. */
void node_fetch_wake_queue(struct node *n, const char *topic, const char *home,
			   uint32_t queue_id, uint64_t max_offset);
/* Answers the waiters of @group (NULL: every group) and @topic (NULL:
 * every topic); waiters without a group are left — unless both are NULL
 * (the whole state changed: every waiter is answered). */
void node_fetch_wake_group(struct node *n, const char *group,
			   const char *topic);
/* Answers the waiters whose time is up (@all: every one). */
void node_fetch_expire(struct node *n, bool all);
/* Drops every waiter unanswered (the node is gone: nobody to answer). */
void node_fetch_waiters_free(struct node *n);
/* The rsm_applied_fn hook: resets, group deletions and snapshots. */
void node_fetch_on_applied(void *arg, const struct rsm_result *res);

/* groups.c: members' heartbeats and leaving, group describe (leader). */
void node_handle_heartbeat(const struct node_req *req, const void *in);
void node_handle_leave(const struct node_req *req, const void *in);
void node_handle_group_describe(const struct node_req *req, const void *in);
void node_handle_group_delete(const struct node_req *req, const void *in);
void node_handle_topic_delete(const struct node_req *req, const void *in);

/* commits.c and offsets.c: committing and reading offsets (leader). */
void node_handle_commit(const struct node_req *req, const void *in);
void node_handle_offsets(const struct node_req *req, const void *in);

/* reset.c and history.c: the reset coordinator (leader). */
void node_handle_reset(const struct node_req *req, const void *in);
void node_handle_undo(const struct node_req *req, const void *in);
void node_handle_history(const struct node_req *req, const void *in);

#endif /* RAFTQ_NODE_HANDLERS_H */
