/*
 * call.c — requests made inside the node (call.h).
 *
 * Start: encode the request struct into a frame → parse it back as the
 * rpc server would → node_dispatch with the call's connection id. Answer
 * (node_req_reply → node_call_answer): encode the response → parse it →
 * the caller's callback; or, when the answer is NOT_LEADER and a leader is
 * known, the request's struct is decoded again from the kept frame and
 * sent to the leader on this node's link (as the client's token with
 * [auth] on), whose answer ends the call.
 * Running the frame bytes both ways keeps one path for the two
 * transports: what HTTP gets is exactly what an RPC client would.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "handlers.h"

static void link_call(struct node *n, struct node_call *c)
{
	c->prev = NULL;
	c->next = n->calls;
	if (n->calls != NULL)
		n->calls->prev = c;
	n->calls = c;
}

static void unlink_call(struct node *n, struct node_call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		n->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static struct node_call *find_call(struct node *n, uint64_t conn)
{
	for (struct node_call *c = n->calls; c != NULL; c = c->next)
		if (c->conn == conn)
			return c;
	return NULL;
}

/* Ends @c: unlinked and its buffer freed before @cb (which may free @c). */
static void end_call(struct node_call *c, int status, struct rpc_frame *f)
{
	unlink_call(c->n, c);
	msgpack_sbuffer_destroy(&c->req);
	sodium_memzero(c->token, c->token_len);
	c->cb(c, status, f);
}

/* Parses the one whole frame in @sb into @f: 0 or an RPC_E* error. */
static int frame_of(const msgpack_sbuffer *sb, uint32_t max,
		    struct rpc_frame *f)
{
	struct rpc_reader r;
	rpc_reader_init(&r, max);
	int rv = rpc_reader_feed(&r, sb->data, sb->size);
	if (rv == 0)
		rv = rpc_reader_next(&r, f);
	rpc_reader_close(&r);
	if (rv == 1)
		return 0;
	return rv == 0 ? RPC_EMALFORMED : rv;
}

int node_call_start(struct node *n, struct node_call *c, uint16_t type,
		    const void *body, const struct node_call_from *from,
		    node_call_cb cb)
{
	assert(from->token_len <= NODE_DELEGATE_TOKEN);
	assert((type & (RPC_RESPONSE | RPC_NOTICE)) == 0);
	memset(&c->fwd, 0, sizeof c->fwd);
	c->n = n;
	c->cb = cb;
	c->type = type;
	c->forwarded = false;
	c->conn = NODE_CALL_CONN | ++n->last_call;
	snprintf(c->peer, sizeof c->peer, "%s", from->peer ? from->peer : "?");
	c->token_len = from->token ? from->token_len : 0;
	memcpy(c->token, from->token ? from->token : "", c->token_len);
	msgpack_sbuffer_init(&c->req);
	struct rpc_frame f;
	int rv =
	    rpc_encode(&c->req, type, 1, NULL, body, n->cfg.max_frame_bytes);
	if (rv == 0)
		rv = frame_of(&c->req, n->cfg.max_frame_bytes, &f);
	if (rv != 0) {
		msgpack_sbuffer_destroy(&c->req);
		return rv;
	}
	link_call(n, c);
	f.conn_tag = from->tag;
	node_dispatch(n, c->conn, &f);
	rpc_frame_release(&f);
	return 0;
}

static void on_forwarded(struct rpc_call *rc, int status, struct rpc_frame *f)
{
	end_call(rc->data, status, f);
}

/* Sends @c on to the leader @id at @addr: false when it cannot go (the
 * NOT_LEADER answer then stands). */
static bool forward(struct node_call *c, uint64_t id, const char *addr)
{
	struct node *n = c->n;
	struct rpc_client *link =
	    c->token_len > 0 ? node_link_as(n, id, addr, c->token, c->token_len)
			     : node_link(n, id, addr);
	struct rpc_frame f;
	if (link == NULL || frame_of(&c->req, n->cfg.max_frame_bytes, &f) != 0)
		return false;
	struct node_req_in in;
	bool sent = false;
	if (rpc_decode(&f, c->type, in.b, NULL, NULL) == 0) {
		c->fwd.data = c;
		sent =
		    rpc_client_request(link, &c->fwd, c->type, in.b,
				       NODE_CALL_FORWARD_MS, on_forwarded) == 0;
	}
	rpc_frame_release(&f);
	if (sent) {
		c->forwarded = true;
		NODE_LOG(NODE_DEBUG, "http", "%s from %s sent on to node %llu",
			 rpc_type_name(c->type), c->peer,
			 (unsigned long long)id);
	}
	return sent;
}

void node_call_answer(struct node *n, uint64_t conn, uint16_t type, uint64_t id,
		      const struct rpc_status *st, const void *body)
{
	struct node_call *c = find_call(n, conn);
	if (c == NULL || c->forwarded)
		return; /* its caller is gone */
	uint64_t leader = 0;
	const char *addr = node_leader_listen(n, &leader);
	if (st != NULL && st->code == RPC_NOT_LEADER && addr != NULL &&
	    leader != n->cfg.id && forward(c, leader, addr))
		return;
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	struct rpc_frame f;
	int rv = rpc_encode(&sb, type, id, st, body, UINT32_MAX);
	if (rv == 0)
		rv = frame_of(&sb, UINT32_MAX, &f);
	msgpack_sbuffer_destroy(&sb);
	if (rv != 0) {
		NODE_LOG(NODE_ERROR, "http", "answering %s: %s",
			 rpc_type_name(c->type), rpc_strerror(rv));
		end_call(c, rv, NULL);
		return;
	}
	end_call(c, 0, &f);
	rpc_frame_release(&f);
}

const char *node_call_peer(struct node *n, uint64_t conn)
{
	struct node_call *c = find_call(n, conn);
	return c ? c->peer : NULL;
}

void node_calls_cancel(struct node *n)
{
	while (n->calls != NULL)
		end_call(n->calls, RPC_ECANCELED, NULL);
}
