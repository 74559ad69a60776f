/*
 * cluster.c — what any node answers about the cluster: ROUTE (brokers,
 * topics and their placement, the leader) and CLUSTER_STATUS (this node's
 * line and every other voter's, asked in parallel; a node that does not
 * answer within a second is "unavailable", never reported as leader).
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "handlers.h"
#include "replica.h"

#define STATUS_ASK_MS 1000

void node_local_status(struct node *n, struct rpc_node_status *out)
{
	memset(out, 0, sizeof *out);
	out->id = n->cfg.id;
	out->name = n->cfg.name;
	out->listen = n->cfg.listen;
	out->raft_address = n->cfg.raft_listen;
	out->role = node_role_name(raft_state(&n->raft));
	out->term = n->raft.current_term;
	out->commit_index = n->raft.commit_index;
	out->applied_index = node_applied_index(n);
}

/* ---- ROUTE ---- */

struct route_bufs {
	struct rpc_broker_info *b;
	struct rpc_topic_info *t;
	const char **names;
};

/* Whether a route must name @t's queue leaders: some queue is not led
 * by its home (absent leaders mean the homes). */
static bool leaders_needed(const struct rsm_topic *t)
{
	for (uint32_t qi = 0; qi < rsm_topic_queues(t); qi++) {
		const char *l = rsm_queue_leader(t, qi);
		if (l == NULL ||
		    strcmp(l, t->brokers[qi / t->queues_per_broker]))
			return true;
	}
	return false;
}

/* Names a route needs: every topic's brokers and queue leaders. */
static size_t route_names(struct rsm *rsm)
{
	size_t total = 0;
	for (uint32_t i = 0; i < rsm_topic_count(rsm); i++) {
		const struct rsm_topic *t = rsm_topic_at(rsm, i);
		total += t->n_brokers + rsm_topic_queues(t);
	}
	return total;
}

static void route_fill(struct rsm *rsm, struct route_bufs *x)
{
	for (uint32_t i = 0; i < rsm_broker_count(rsm); i++) {
		const struct rsm_broker *b = rsm_broker_at(rsm, i);
		x->b[i] = (struct rpc_broker_info){b->id, b->name, b->listen,
						   b->raft_address};
	}
	size_t at = 0;
	for (uint32_t i = 0; i < rsm_topic_count(rsm); i++) {
		const struct rsm_topic *t = rsm_topic_at(rsm, i);
		for (uint32_t k = 0; k < t->n_brokers; k++)
			x->names[at + k] = t->brokers[k];
		x->t[i] = (struct rpc_topic_info){
		    .name = t->name,
		    .queues_per_broker = t->queues_per_broker,
		    .brokers = {x->names + at, t->n_brokers},
		    .replication_factor = t->replication_factor};
		at += t->n_brokers;
		if (!leaders_needed(t))
			continue;
		uint32_t nq = rsm_topic_queues(t);
		for (uint32_t qi = 0; qi < nq; qi++) {
			const char *l = rsm_queue_leader(t, qi);
			x->names[at + qi] = l ? l : "";
		}
		x->t[i].leaders = (struct rpc_strs){x->names + at, nq};
		at += nq;
	}
}

void node_handle_route(const struct node_req *req, const void *in)
{
	struct node *n = req->n;
	uint32_t nb = rsm_broker_count(n->rsm), nt = rsm_topic_count(n->rsm);
	size_t total = route_names(n->rsm);
	(void)in;
	struct route_bufs x = {calloc(nb ? nb : 1, sizeof *x.b),
			       calloc(nt ? nt : 1, sizeof *x.t),
			       calloc(total ? total : 1, sizeof *x.names)};
	if (x.b != NULL && x.t != NULL && x.names != NULL) {
		route_fill(n->rsm, &x);
		uint64_t lid = 0;
		const char *leader = node_leader_listen(n, &lid);
		struct rpc_route_resp r = {lid, leader, {x.b, nb}, {x.t, nt}};
		node_req_ok(req, &r);
	} else {
		node_req_oom(req);
	}
	free(x.b);
	free(x.t);
	free(x.names);
}

/* ---- CLUSTER_STATUS ---- */

struct status_job;
struct status_ask {
	struct rpc_call call;
	struct status_job *job;
	int slot;
};
/* One node's line, with its strings copied (answers are released). */
struct status_line {
	struct rpc_node_status s;
	char name[128], listen[NODE_TEXT], raft[NODE_TEXT], role[16];
};
struct status_job {
	struct node_req req; /* first: node_req_op */
	int waiting;
	int count;
	struct status_line lines[NODE_MAX_PEERS];
	struct status_ask asks[NODE_MAX_PEERS];
};

static void status_finish(struct status_job *j)
{
	struct rpc_node_status out[NODE_MAX_PEERS];
	/* Only a node that answers as leader is reported as leader: a dead
	 * leader stays in the followers' memory until the next election
	 * (DESIGN §7: leader_id 0 while no reachable node leads). */
	uint64_t lid = 0;
	for (int i = 0; i < j->count; i++) {
		out[i] = j->lines[i].s;
		if (strcmp(out[i].role, "leader") == 0)
			lid = out[i].id;
	}
	struct rpc_status_resp r = {lid, {out, (uint32_t)j->count}};
	node_req_ok(&j->req, &r);
	free(j);
}

static void copy_line(struct status_line *l, const struct rpc_node_status *s)
{
	snprintf(l->name, sizeof l->name, "%s", s->name ? s->name : "");
	snprintf(l->listen, sizeof l->listen, "%s", s->listen ? s->listen : "");
	snprintf(l->raft, sizeof l->raft, "%s",
		 s->raft_address ? s->raft_address : "");
	snprintf(l->role, sizeof l->role, "%s", s->role ? s->role : "");
	l->s = *s;
	l->s.name = l->name;
	l->s.listen = l->listen;
	l->s.raft_address = l->raft;
	l->s.role = l->role;
}

static void on_status_answer(struct rpc_call *call, int status,
			     struct rpc_frame *f)
{
	struct status_ask *a = call->data;
	struct status_job *j = a->job;
	const struct rpc_node_status *s = node_link_status(status, f);
	if (s != NULL && s->id == j->lines[a->slot].s.id)
		copy_line(&j->lines[a->slot], s);
	assert(j->waiting > 0);
	if (--j->waiting == 0)
		status_finish(j);
}

static int cmp_server(const void *a, const void *b)
{
	const struct raft_server *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Every server of the Raft configuration, in id order, as "unavailable"
 * until it answers (this node's own line is filled in at once). */
static void status_lines(struct status_job *j, struct node *n)
{
	const struct raft_configuration *cf = &n->raft.configuration;
	struct raft_server sv[NODE_MAX_PEERS];
	unsigned m = cf->n < NODE_MAX_PEERS ? cf->n : NODE_MAX_PEERS;
	memcpy(sv, cf->servers, m * sizeof *sv);
	qsort(sv, m, sizeof *sv, cmp_server);
	for (unsigned i = 0; i < m; i++) {
		const struct rsm_broker *b = rsm_broker_by_id(n->rsm, sv[i].id);
		struct rpc_node_status s = {sv[i].id,
					    b ? b->name : "",
					    b ? b->listen : "",
					    sv[i].address,
					    "unavailable",
					    0,
					    0,
					    0};
		if (sv[i].id == n->cfg.id)
			node_local_status(n, &s);
		copy_line(&j->lines[j->count++], &s);
	}
}

static void status_ask_others(struct status_job *j, struct node *n)
{
	for (int i = 0; i < j->count; i++) {
		struct status_line *l = &j->lines[i];
		if (l->s.id == n->cfg.id || l->listen[0] == '\0')
			continue;
		struct rpc_client *c = node_link(n, l->s.id, l->listen);
		if (c == NULL)
			continue;
		struct status_ask *a = &j->asks[i];
		a->job = j;
		a->slot = i;
		a->call.data = a;
		struct rpc_status_req q = {true, NULL};
		if (rpc_client_request(c, &a->call, RPC_CLUSTER_STATUS, &q,
				       STATUS_ASK_MS, on_status_answer) == 0)
			j->waiting++;
	}
}

void node_handle_status(const struct node_req *req, const void *in)
{
	const struct rpc_status_req *q = in;
	struct node *n = req->n;
	if (q->from != NULL && (!node_auth_on(n) || req->tag == NODE_TAG_NODE))
		node_session_heard(n, q->from);
	if (q->local) {
		struct rpc_node_status me;
		node_local_status(n, &me);
		uint64_t lid = 0;
		node_leader_listen(n, &lid);
		struct rpc_status_resp r = {lid, {&me, 1}};
		node_req_ok(req, &r);
		return;
	}
	struct status_job *j = node_req_op(req, sizeof *j);
	if (j == NULL)
		return;
	status_lines(j, n);
	j->waiting = 1; /* held until every ask is out */
	status_ask_others(j, n);
	if (--j->waiting == 0)
		status_finish(j);
}
