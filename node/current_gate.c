/*
 * current_gate.c — requests that must be answered from current state
 * (dispatch.c's CURRENT routes: routes, topic and group lists, topic
 * descriptions, queue statistics, fetches) wait here while this node is
 * not current (lease.c): a node that just restarted, or a follower
 * catching up, serves them once it has applied what the leader had
 * committed, instead of answering from an empty or old state — "topic
 * does not exist" for a topic that exists, or a fetch under an epoch a
 * reset already ended (issue 10 #2, #3).
 *
 * A waiting request keeps its frame (struct node_held).
 * The tick runs those whose node caught up and refuses (UNAVAILABLE,
 * retry, saying why) those that waited NODE_CATCHUP_WAIT_MS; a stopping
 * node refuses them all. At most NODE_FETCH_WAITERS_MAX wait.
 */
#include <stdlib.h>

#include "../util/list.h"
#include "request.h"

struct parked_req {
	struct parked_req *prev, *next;
	struct node_held held;
	uint64_t deadline;
};

static void refuse(const struct node_req *req)
{
	char why[300];
	node_lease_explain(req->n, why, sizeof why);
	node_req_refuse(req, RPC_UNAVAILABLE, "%s; retry, or ask another node",
			why);
}

void node_gate_current(const struct node_req *req, node_handler_fn fn,
		       struct rpc_frame *f, const struct node_req_in *in)
{
	struct node *n = req->n;
	if (node_is_current(n)) {
		fn(req, in->b);
		return;
	}
	struct parked_req *p =
	    n->phase == NODE_RUNNING && n->n_parked < NODE_FETCH_WAITERS_MAX
		? malloc(sizeof *p)
		: NULL;
	if (p == NULL) {
		refuse(req);
		return;
	}
	node_held_keep(&p->held, req, fn, f, in);
	p->deadline = uv_now(n->loop) + NODE_CATCHUP_WAIT_MS;
	DLIST_PUSH(n->parked, p, prev, next);
	n->n_parked++;
}

void node_gate_tick(struct node *n, bool all)
{
	bool current = !all && node_is_current(n);
	uint64_t now = uv_now(n->loop);
	struct parked_req *p = n->parked, *next;
	for (; p != NULL; p = next) {
		next = p->next;
		if (!current && !all && p->deadline > now)
			continue;
		DLIST_UNLINK(n->parked, p, prev, next);
		assert(n->n_parked > 0);
		n->n_parked--;
		if (!current)
			refuse(&p->held.req);
		node_held_end(&p->held, current);
		free(p);
	}
}
