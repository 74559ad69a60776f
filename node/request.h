/*
 * request.h — the request layer of raftqd (node/ only): one request as the
 * handlers see it, its answers, and the one way to propose a Raft entry.
 *
 * The dispatcher (dispatch.c) makes a struct node_req for each frame,
 * decodes the body, applies the route's flags (leader only, read gate) and
 * calls the handler. A handler answers exactly once, now or later, with
 * node_req_ok / node_req_fail / node_req_reply; an asynchronous handler
 * copies the struct node_req (it is small and holds no pointer it owns).
 */
#ifndef RAFTQ_NODE_REQUEST_H
#define RAFTQ_NODE_REQUEST_H

#include <stdalign.h>
#include <stddef.h>

#include "node_int.h"

struct node_req {
	struct node *n;
	uint64_t conn; /* the client connection (its id: may be gone later) */
	uint64_t id;   /* request id */
	uint16_t type; /* request type, without RPC_RESPONSE */
	uint32_t tag;  /* its connection's (auth.h: who sent it) */
	uint64_t t0;   /* uv_hrtime() at its arrival (0: not timed) */
};

/* A handler: @in is the decoded request body (the struct of the type's
 * schema), borrowed for the duration of the call. */
typedef void (*node_handler_fn)(const struct node_req *req, const void *in);

/* Room for any decoded request struct (dispatch.c checks each). */
#define NODE_REQ_IN_MAX 256
struct node_req_in {
	alignas(max_align_t) unsigned char b[NODE_REQ_IN_MAX];
};

/* A request kept for later: its decoded body points into its frame, so
 * the frame moves here with it (the read gate, current_gate.c). */
struct node_held {
	struct node_req req;
	node_handler_fn fn;
	struct rpc_frame f;
	struct node_req_in in;
};
/* Keeps request @req for @fn: moves frame @f into @h, copies @in. */
void node_held_keep(struct node_held *h, const struct node_req *req,
		    node_handler_fn fn, struct rpc_frame *f,
		    const struct node_req_in *in);
/* Runs the kept handler (when @run) and releases the frame. */
void node_held_end(struct node_held *h, bool run);

/*
 * Runs @fn on the decoded request @in once this node's state is current
 * (lease.c): at once when it is; else the request waits, its frame @f
 * moved here (the body points into it), up to NODE_CATCHUP_WAIT_MS, and
 * is answered UNAVAILABLE (retry) saying why if the node has not caught
 * up by then (current_gate.c).
 */
void node_gate_current(const struct node_req *req, node_handler_fn fn,
		       struct rpc_frame *f, const struct node_req_in *in);
/* Runs the waiting requests whose node caught up, refuses those out of
 * time (all of them with @all: the node stops). From the tick. */
void node_gate_tick(struct node *n, bool all);

/* Answers with status @st (NULL: OK) and @body (the response struct of
 * the type; NULL: no body, as error answers have).
 * A connection that is gone is not an error; a body that cannot be
 * encoded is logged. */
void node_req_reply(const struct node_req *req, const struct rpc_status *st,
		    const void *body);
/* "IP:PORT" of whoever sent @req (an rpc client, or an HTTP client for a
 * call: call.h); NULL when the connection is gone. */
const char *node_req_peer(const struct node_req *req);
/* Answers OK with @body (NULL: an empty body). */
void node_req_ok(const struct node_req *req, const void *body);
/*
 * Answers the error @code with a printf-style message. NOT_LEADER carries
 * the leader's address (or becomes UNAVAILABLE "no leader is known yet"
 * when none is known).
 */
void node_req_fail(const struct node_req *req, uint32_t code, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));
/* Like node_req_fail, for a refusal before anything was done: the answer
 * says the same request may be sent again (status "retry"). */
void node_req_refuse(const struct node_req *req, uint32_t code, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));
/* node_req_fail, returning false: for checks that answer when they fail
 * (`return node_req_failed(req, ...)`). */
bool node_req_failed(const struct node_req *req, uint32_t code, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));
/* Answers INTERNAL "out of memory" (one place for that message). */
void node_req_oom(const struct node_req *req);

/*
 * True when this node may serve a leader-only request now; otherwise it
 * has answered NOT_LEADER (with the leader's address), or UNAVAILABLE
 * while a new leader catches up or no leader is known.
 */
bool node_req_leader(const struct node_req *req);

/* ---- Proposals ---- */

struct node_proposal;
/* @code is RPC_OK and @res the applied result, or the wire code of the
 * failure with @msg saying why. @res is the result whenever the entry
 * applied (a commit's per-item codes come with an error code too), NULL
 * when it did not. Leadership lost while the entry was in flight is
 * UNAVAILABLE: its outcome is unknown. */
typedef void (*node_proposal_cb)(struct node_proposal *p, uint32_t code,
				 const char *msg, const struct rsm_result *res);
struct node_proposal {
	void *data;
	/* private */
	struct raft_apply apply;
	node_proposal_cb cb;
};

/*
 * Proposes the encoded command @buf (raft_malloc'ed; transferred, freed
 * here on failure too). Returns RPC_OK and @cb fires once, never from
 * inside this call; or NOT_LEADER (this node is not the leader: nothing
 * was proposed) or UNAVAILABLE, and @cb never fires.
 */
uint32_t node_propose(struct node *n, struct node_proposal *p,
		      struct raft_buffer buf, node_proposal_cb cb);

/* The log index of @p's entry (set once proposed). Wait for this one to
 * be applied elsewhere — not for raft_last_applied(), which inside the
 * apply callback is still one short (notes/libraft-0.15.md). */
uint64_t node_proposal_index(const struct node_proposal *p);

/* Ends @p as its apply callback would: libraft @status and the applied
 * result @r become @p's callback with a wire code (propose.c calls it;
 * tests call it to play an apply). */
void node_proposal_applied(struct node_proposal *p, int status,
			   const struct rsm_result *r);

/*
 * Proposes @buf for @req and answers it (empty body) once applied —
 * with @everywhere, once every reachable node applied it, so a topic or
 * group just created is known wherever the client goes next.
 */
void node_req_propose(const struct node_req *req, struct raft_buffer buf,
		      bool everywhere);

/* Builds and sends the answer about object @name (copied at proposal
 * time) from the state once the entry applied. */
typedef void (*node_answer_fn)(const struct node_req *req, const char *name);
/* node_req_propose, answering with @fn (NULL: an empty body). */
void node_req_propose_answer(const struct node_req *req, struct raft_buffer buf,
			     bool everywhere, node_answer_fn fn,
			     const char *name);

/* Decodes @f's body as request @type into @out; on bad bytes answers
 * INVALID_ARGUMENT "malformed TYPE request: field F" and returns false. */
bool node_req_decode(const struct node_req *req, struct rpc_frame *f,
		     void *out);

/*
 * A zeroed op of @size bytes whose first member is a struct node_req, set
 * to *@req (so an asynchronous handler's op answers as the request).
 * NULL after answering INTERNAL "out of memory".
 */
void *node_req_op(const struct node_req *req, size_t size);

/* Starts gathering @t for the op @op (its first member is the request):
 * g->data = @op. False after answering "out of memory" and freeing @op. */
bool node_req_gather(void *op, struct node_gather *g, const struct rsm_topic *t,
		     const bool *want, node_gather_cb cb);

/* The topic / group named @name, or NULL after answering UNKNOWN_TOPIC /
 * UNKNOWN_GROUP "... does not exist". */
const struct rsm_topic *node_req_topic(const struct node_req *req,
				       const char *name);
const struct rsm_group *node_req_group(const struct node_req *req,
				       const char *name);

/* Whether @group has no online member; otherwise answers GROUP_ACTIVE
 * naming them, with @advice ("drop --require-inactive"). */
bool node_req_group_idle(const struct node_req *req, const char *group,
			 const char *advice);
/* Group @group must exist and be clustering (UNKNOWN_GROUP /
 * BROADCAST_UNSUPPORTED answered otherwise); *g is it or NULL. */
bool node_req_group_clustering(const struct node_req *req, const char *group,
			       const struct rsm_group **g);
/* Group @group and topic @topic must exist (UNKNOWN_GROUP / UNKNOWN_TOPIC
 * answered otherwise); with @clustering_only a broadcasting group is
 * BROADCAST_UNSUPPORTED. */
bool node_req_group_topic(const struct node_req *req, const char *group,
			  const char *topic, bool clustering_only,
			  const struct rsm_group **g,
			  const struct rsm_topic **t);

#endif /* RAFTQ_NODE_REQUEST_H */
