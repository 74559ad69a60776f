/*
 * propose.c — Raft proposals for request handlers (request.h): the one
 * place raft_apply is called for a request, and the "propose, then answer
 * once applied (everywhere)" helper of the simple changes (topics, groups,
 * broker registration). Codes come from node_proposal_applied (request.c).
 */
#include <stdlib.h>

#include "request.h"

static void on_applied(struct raft_apply *a, int status, void *result)
{
	node_proposal_applied(a->data, status, result);
}

uint32_t node_propose(struct node *n, struct node_proposal *p,
		      struct raft_buffer buf, node_proposal_cb cb)
{
	assert(buf.base != NULL);
	/* A stopping leader takes nothing new: what it has in flight
	 * commits before it hands over, so no answer is "leadership lost"
	 * (daemon.c); this is refused before anything is proposed. */
	if (n->phase != NODE_RUNNING) {
		raft_free(buf.base);
		return RPC_NOT_LEADER;
	}
	p->cb = cb;
	p->apply.data = p;
	int rv = raft_apply(&n->raft, &p->apply, &buf, 1, on_applied);
	if (rv != 0) {
		raft_free(buf.base);
		return node_code_from_raft(rv);
	}
	return RPC_OK;
}

/* A proposal that answers its request. */
struct answer_op {
	struct node_proposal p;
	struct node_req req;
	bool everywhere;
	node_answer_fn answer; /* NULL: an empty body */
	char name[RSM_NAME_MAX + 1];
};

static void answer(struct answer_op *op)
{
	if (op->answer != NULL)
		op->answer(&op->req, op->name);
	else
		node_req_ok(&op->req, NULL);
	free(op);
}

static void on_everywhere(void *data, const uint64_t *lagging,
			  uint32_t n_lagging)
{
	struct answer_op *op = data;
	(void)lagging;
	if (n_lagging > 0)
		NODE_LOG(NODE_WARN, "raft",
			 "%s: a node did not confirm the change within %d ms",
			 rpc_type_name(op->req.type), NODE_SYNC_LIMIT_MS);
	answer(op);
}

static void on_answer_applied(struct node_proposal *p, uint32_t code,
			      const char *msg, const struct rsm_result *res)
{
	struct answer_op *op = p->data;
	struct node *n = op->req.n;
	(void)res;
	if (code != RPC_OK) {
		node_req_fail(&op->req, code, "%s", msg);
		free(op);
	} else if (!op->everywhere ||
		   node_sync_start(n, node_proposal_index(p), NULL, 0, true,
				   on_everywhere, op) != 0) {
		answer(op);
	}
}

void node_req_propose_answer(const struct node_req *req, struct raft_buffer buf,
			     bool everywhere, node_answer_fn fn,
			     const char *name)
{
	struct answer_op *op = malloc(sizeof *op);
	if (op == NULL) {
		raft_free(buf.base);
		node_req_oom(req);
		return;
	}
	op->req = *req;
	op->everywhere = everywhere;
	op->answer = fn;
	snprintf(op->name, sizeof op->name, "%s", name ? name : "");
	op->p.data = op;
	uint32_t code = node_propose(req->n, &op->p, buf, on_answer_applied);
	if (code != RPC_OK) {
		node_req_fail(req, code, "%s",
			      code == RPC_NOT_LEADER ? "this node is not the "
						       "leader"
						     : "cannot propose now");
		free(op);
	}
}

void node_req_propose(const struct node_req *req, struct raft_buffer buf,
		      bool everywhere)
{
	node_req_propose_answer(req, buf, everywhere, NULL, NULL);
}
