/*
 * call.h — requests made inside a node (node/ only): the HTTP API turns
 * each HTTP request into the request struct an RPC client would send and
 * runs it through the same request table (dispatch.c) — the same checks,
 * permissions, handlers and answers as a frame from the network. A
 * request that only the leader serves, made on a follower, goes on to the
 * leader over this node's link to it (links.c), so any node answers it.
 *
 * A call has a connection id of its own (NODE_CALL_CONN set, never an rpc
 * server connection's); node_req_reply hands answers to such ids here.
 */
#ifndef RAFTQ_NODE_CALL_H
#define RAFTQ_NODE_CALL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "node_int.h"
#include "rpc.h"

struct node;

/* The bit that marks a call's connection id. */
#define NODE_CALL_CONN (UINT64_C(1) << 63)
/* How long a call sent on to the leader may take. */
#define NODE_CALL_FORWARD_MS 10000

static inline bool node_conn_is_call(uint64_t conn)
{
	return (conn & NODE_CALL_CONN) != 0;
}

struct node_call;
/*
 * The answer: @status 0 and @f the response frame (rpc_decode(f, type |
 * RPC_RESPONSE) reads it; released after the callback), or an error with
 * @f NULL: RPC_ECLOSED (sent to the leader, the link dropped: outcome
 * unknown), RPC_ETIMEDOUT, RPC_ECONNECT (leader unreachable: nothing
 * done), RPC_ECANCELED (the node stops), RPC_ENOMEM.
 */
typedef void (*node_call_cb)(struct node_call *c, int status,
			     struct rpc_frame *f);

/* Who makes a call. */
struct node_call_from {
	uint32_t tag;	   /* auth.h: NODE_TAG_* or a tokens line */
	const char *peer;  /* "IP:PORT" of the client */
	const char *token; /* its token with [auth] on (sent on to the leader
			      as the token's, never as this node), or NULL */
	size_t token_len;
};

struct node_call {
	void *data;
	/* private */
	struct node *n;
	node_call_cb cb;
	uint64_t conn;
	uint16_t type;
	msgpack_sbuffer req; /* the encoded request frame */
	struct rpc_call fwd; /* while sent on to the leader */
	bool forwarded;
	char peer[64];
	char token[NODE_DELEGATE_TOKEN + 1];
	size_t token_len;
	struct node_call *prev, *next;
};

/*
 * Runs request @type with body @body (its request struct, encoded here:
 * nothing of it is kept) as @from (copied). 0, and @cb fires exactly
 * once — possibly inside this call, when the answer is at hand at once;
 * or an RPC_E* encoding error, and @cb never fires. A request sent on to
 * the leader goes over a link as @from's token when it has one
 * (node_link_as): the leader checks it as it would from that client.
 */
int node_call_start(struct node *n, struct node_call *c, uint16_t type,
		    const void *body, const struct node_call_from *from,
		    node_call_cb cb);

/* The answer for call connection @conn (node_req_reply's): ends the call,
 * or sends it on to the leader when it was NOT_LEADER here. A call no
 * longer waiting is not an error. */
void node_call_answer(struct node *n, uint64_t conn, uint16_t type, uint64_t id,
		      const struct rpc_status *st, const void *body);

/* The address of call connection @conn's sender, NULL when gone. */
const char *node_call_peer(struct node *n, uint64_t conn);

/* Ends every call still waiting with RPC_ECANCELED (the node stopped:
 * what was in the request table is gone with the loop). */
void node_calls_cancel(struct node *n);

#endif /* RAFTQ_NODE_CALL_H */
