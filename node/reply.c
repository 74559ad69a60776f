/*
 * reply.c — the one place an answer leaves raftqd's request layer
 * (request.h), to an rpc connection or a call (call.h); and who is at the
 * other end. In-process tests replace this file to see every answer.
 */
#include "call.h"
#include "request.h"

void node_req_reply(const struct node_req *req, const struct rpc_status *st,
		    const void *body)
{
	assert(req->n != NULL);
	if (req->t0 != 0)
		node_metrics_answer(&req->n->metrics, req->type,
				    st ? st->code : RPC_OK,
				    uv_hrtime() - req->t0);
	if (node_conn_is_call(req->conn)) {
		node_call_answer(req->n, req->conn,
				 (uint16_t)(req->type | RPC_RESPONSE), req->id,
				 st, body);
		return;
	}
	int rv = rpc_server_send(&req->n->rpc, req->conn,
				 (uint16_t)(req->type | RPC_RESPONSE), req->id,
				 st, body);
	if (rv != 0 && rv != RPC_ECLOSED)
		NODE_LOG(NODE_ERROR, "rpc", "answering %s: %s",
			 rpc_type_name(req->type), rpc_strerror(rv));
}

const char *node_req_peer(const struct node_req *req)
{
	if (node_conn_is_call(req->conn))
		return node_call_peer(req->n, req->conn);
	return rpc_server_peer(&req->n->rpc, req->conn);
}
