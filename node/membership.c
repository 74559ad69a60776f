/*
 * membership.c — the Raft configuration, changed on the leader.
 *
 * JOIN, happy path: unknown id → raft_add → raft_assign(voter) → propose
 * the broker's registration → answer once applied. A known spare is only
 * assigned; a known voter is only registered (a restart re-registers) —
 * A JOIN that says replace (the node lost its disk and has not started
 * Raft: replace.c) only removes the id from the configuration, answered
 * once committed; the node then starts Raft empty and sends an ordinary
 * JOIN, so it never counts as the voter that remembered its term, vote
 * and log.
 * Failure modes: a membership change already under way (UNAVAILABLE,
 * retry), leadership lost (UNAVAILABLE).
 *
 * NODE_REMOVE: refused for the leader itself (stop it first: SIGTERM hands
 * leadership over) and for a broker that hosts queues or replicas (they
 * would be lost or a copy short: replicas are not moved); otherwise
 * raft_remove.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/ct.h"
#include "handlers.h"

#define CHANGE_UNDER_WAY "a membership change is in progress; retry"

/* ---- Who may change the membership ---- */

/* Whether @given is the cluster secret; answered FORBIDDEN if not (a node
 * without one refuses every change: DESIGN.md §6.2). */
static bool secret_ok(const struct node_req *req, const char *given,
		      const char *what)
{
	const char *secret = req->n->cfg.cluster_secret;
	const char *why = secret[0] == '\0' ? "this node has none configured"
			  : given == NULL   ? "none was given"
			  : !ct_str_equal(secret, given)
			      ? "the one given is wrong"
			      : NULL;
	if (why == NULL)
		return true;
	NODE_LOG(NODE_WARN, "auth", "%s refused: %s", what, why);
	return node_req_failed(req, RPC_FORBIDDEN,
			       "%s needs the cluster secret ([auth] "
			       "cluster_secret, the same on every node): %s",
			       what, why);
}

/* Whether a JOIN names a well-formed member; answered if not, before
 * anything is proposed. */
static bool join_valid(const struct node_req *req, const struct rpc_join_req *q)
{
	struct sockaddr_storage ss;
	if (q->id < 1 || q->id > UINT32_MAX)
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "id: %llu is not a node id (1 to %u)",
				       (unsigned long long)q->id, UINT32_MAX);
	if (!rsm_name_user_valid(q->name))
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "name: '%s' is not a broker name (1-127 "
				       "of A-Z a-z 0-9 . _ -)",
				       q->name);
	if (rpc_addr_parse(q->listen, &ss) != 0 || rpc_addr_port(&ss) == 0)
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "listen: '%s' is not a numeric IP:PORT",
				       q->listen);
	if (rpc_addr_parse(q->raft_address, &ss) != 0 ||
	    ss.ss_family != AF_INET || rpc_addr_port(&ss) == 0)
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "raft_address: '%s' is not a numeric "
				       "IPv4:PORT",
				       q->raft_address);
	return true;
}

/* ---- JOIN ---- */

struct join_job {
	struct node_req req; /* first: node_req_op */
	struct raft_change change;
	struct rsm_broker b;
};

static void join_register(struct join_job *j)
{
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_register_broker(&j->b, &buf, err, sizeof err) != 0)
		node_req_fail(&j->req, RPC_INVALID_ARGUMENT, "%s", err);
	else
		node_req_propose(&j->req, buf, false);
	free(j);
}

static void join_fail(struct join_job *j, int raft_rv)
{
	node_req_fail(&j->req, RPC_UNAVAILABLE, "%s",
		      raft_rv == RAFT_CANTCHANGE ? CHANGE_UNDER_WAY
						 : raft_strerror(raft_rv));
	free(j);
}

static void on_assigned(struct raft_change *c, int status)
{
	struct join_job *j = c->data;
	if (status != 0 && status != RAFT_BADROLE) {
		join_fail(j, status);
		return;
	}
	NODE_LOG(NODE_INFO, "raft", "node %llu is a voter",
		 (unsigned long long)j->b.id);
	join_register(j);
}

static void on_added(struct raft_change *c, int status)
{
	struct join_job *j = c->data;
	if (status != 0) {
		join_fail(j, status);
		return;
	}
	int rv = raft_assign(&j->req.n->raft, &j->change, j->b.id, RAFT_VOTER,
			     on_assigned);
	if (rv != 0)
		join_fail(j, rv);
}

static const struct raft_server *config_server(struct node *n, uint64_t id)
{
	const struct raft_configuration *cf = &n->raft.configuration;
	for (unsigned i = 0; i < cf->n; i++)
		if (cf->servers[i].id == id)
			return &cf->servers[i];
	return NULL;
}

static void on_replaced_out(struct raft_change *c, int status)
{
	struct join_job *j = c->data;
	if (status != 0) {
		join_fail(j, status);
		return;
	}
	NODE_LOG(NODE_WARN, "raft",
		 "node %llu removed: it starts Raft empty and joins as a new "
		 "member (replace)",
		 (unsigned long long)j->b.id);
	node_req_ok(&j->req, NULL);
	free(j);
}

/* JOIN with replace: @id's old place out of the configuration, answered
 * once that is committed; the node starts Raft only then (replace.c).
 * Not in the configuration (a retried JOIN): nothing to remove. */
static int replace_member(struct join_job *j, struct node *n,
			  const struct raft_server *sv)
{
	uint64_t id = j->b.id;
	if (id == n->cfg.id) {
		node_req_fail(&j->req, RPC_INVALID_ARGUMENT,
			      "replace: node %llu is the leader answering; it "
			      "has its state",
			      (unsigned long long)id);
		free(j);
		return 0;
	}
	if (sv == NULL) {
		NODE_LOG(NODE_INFO, "raft",
			 "replace: node %llu is not in the configuration; "
			 "it may join",
			 (unsigned long long)id);
		node_req_ok(&j->req, NULL);
		free(j);
		return 0;
	}
	NODE_LOG(NODE_WARN, "raft",
		 "node %llu lost its disk and rejoins empty: removing it from "
		 "the configuration first",
		 (unsigned long long)id);
	return raft_remove(&n->raft, &j->change, id, on_replaced_out);
}

void node_handle_join(const struct node_req *req, const void *in)
{
	const struct rpc_join_req *q = in;
	struct node *n = req->n;
	if (!secret_ok(req, q->secret, "JOIN") || !join_valid(req, q))
		return;
	struct join_job *j = node_req_op(req, sizeof *j);
	if (j == NULL)
		return;
	j->b.id = q->id;
	snprintf(j->b.name, sizeof j->b.name, "%s", q->name);
	snprintf(j->b.listen, sizeof j->b.listen, "%s", q->listen);
	snprintf(j->b.raft_address, sizeof j->b.raft_address, "%s",
		 q->raft_address);
	j->change.data = j;
	const struct raft_server *sv = config_server(n, q->id);
	int rv;
	if (q->replace) {
		rv = replace_member(j, n, sv);
	} else if (sv != NULL && sv->role == RAFT_VOTER) {
		join_register(j);
		return;
	} else if (sv != NULL) {
		rv = raft_assign(&n->raft, &j->change, q->id, RAFT_VOTER,
				 on_assigned);
		rv = rv != 0 ? RAFT_CANTCHANGE : 0;
	} else {
		NODE_LOG(NODE_INFO, "raft", "adding node %llu (%s, raft %s)",
			 (unsigned long long)q->id, q->name, q->raft_address);
		rv = raft_add(&n->raft, &j->change, q->id, q->raft_address,
			      on_added);
	}
	if (rv != 0)
		join_fail(j, rv);
}

/* ---- NODE_REMOVE ---- */

struct remove_op {
	struct node_req req; /* first: node_req_op */
	struct raft_change change;
	uint64_t id;
};

static void on_removed(struct raft_change *c, int status)
{
	struct remove_op *op = c->data;
	if (status != 0) {
		node_req_fail(&op->req, node_code_from_raft(status),
			      "removing node %llu: %s",
			      (unsigned long long)op->id,
			      raft_strerror(status));
	} else {
		NODE_LOG(NODE_INFO, "raft", "node %llu removed",
			 (unsigned long long)op->id);
		node_req_ok(&op->req, NULL);
	}
	free(op);
}

/* Why node @id may not be removed (answered), or false when it may. */
static bool remove_refused(const struct node_req *req, uint64_t id)
{
	struct node *n = req->n;
	if (config_server(n, id) == NULL) {
		node_req_fail(req, RPC_NOT_FOUND,
			      "node %llu is not in the cluster's configuration",
			      (unsigned long long)id);
		return true;
	}
	if (id == n->cfg.id) {
		node_req_fail(req, RPC_FORBIDDEN,
			      "node %llu is the leader: stop it first (SIGTERM "
			      "hands leadership over), then remove it",
			      (unsigned long long)id);
		return true;
	}
	const struct rsm_broker *b = rsm_broker_by_id(n->rsm, id);
	for (uint32_t i = 0; b != NULL && i < rsm_topic_count(n->rsm); i++) {
		const struct rsm_topic *t = rsm_topic_at(n->rsm, i);
		/* A group's retry and dead-letter topics have a queue on
		 * every broker; remove_node.yml checks they are empty. */
		if (rsm_topic_queue_index(t, b->name, 0) < 0 ||
		    rsm_internal_group(t->name) != NULL)
			continue;
		node_req_fail(req, RPC_FORBIDDEN,
			      "%s hosts queues of topic '%s' (as their home or "
			      "a replica): removing it would lose them or "
			      "leave them a copy short (moving replicas is not "
			      "built); a broker whose disk was lost comes back "
			      "empty with replace (docs/deploy.md)",
			      b->name, t->name);
		return true;
	}
	return false;
}

void node_handle_node_remove(const struct node_req *req, const void *in)
{
	const struct rpc_node_remove_req *q = in;
	if (!secret_ok(req, q->secret, "NODE_REMOVE") ||
	    remove_refused(req, q->id))
		return;
	struct remove_op *op = node_req_op(req, sizeof *op);
	if (op == NULL)
		return;
	op->id = q->id;
	op->change.data = op;
	int rv = raft_remove(&req->n->raft, &op->change, q->id, on_removed);
	if (rv != 0) {
		node_req_fail(req, node_code_from_raft(rv),
			      "removing node %llu: %s",
			      (unsigned long long)q->id, raft_strerror(rv));
		free(op);
	}
}
