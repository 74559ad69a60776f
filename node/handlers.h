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
void node_handle_fetch(const struct node_req *req, const void *in);
void node_handle_queue_stats(const struct node_req *req, const void *in);

/* groups.c: members' heartbeats and leaving, group describe (leader). */
void node_handle_heartbeat(const struct node_req *req, const void *in);
void node_handle_leave(const struct node_req *req, const void *in);
void node_handle_group_describe(const struct node_req *req, const void *in);
void node_handle_group_delete(const struct node_req *req, const void *in);

/* commits.c and offsets.c: committing and reading offsets (leader). */
void node_handle_commit(const struct node_req *req, const void *in);
void node_handle_offsets(const struct node_req *req, const void *in);

/* reset.c and history.c: the reset coordinator (leader). */
void node_handle_reset(const struct node_req *req, const void *in);
void node_handle_undo(const struct node_req *req, const void *in);
void node_handle_history(const struct node_req *req, const void *in);

#endif /* RAFTQ_NODE_HANDLERS_H */
