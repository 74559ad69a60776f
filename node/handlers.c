/*
 * handlers.c — what raftqd answers. Requests that change the replicated
 * state go to the leader, which proposes one Raft entry and answers once it
 * is applied; a follower answers NOT_LEADER with the leader's address (the
 * client library retries there). The leader serves nothing until its
 * barrier for the current term has applied (node->ready).
 *
 * Served so far: ROUTE, CLUSTER_STATUS, TOPIC_CREATE, TOPIC_LIST,
 * TOPIC_DESCRIBE, GROUP_CREATE, GROUP_LIST, JOIN, and this broker's queues:
 * PRODUCE, FETCH (with the epoch check), QUEUE_STATS. Any other type gets
 * INVALID_ARGUMENT naming it (as an older server answers a newer client).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

void node_reply(struct node *n, uint64_t conn, uint16_t type, uint64_t rid,
		const struct rpc_status *st, const void *body)
{
	int rv = rpc_server_send(&n->rpc, conn, (uint16_t)(type | RPC_RESPONSE),
				 rid, st, body);
	if (rv != 0 && rv != RPC_ECLOSED)
		NODE_LOG(NODE_ERROR, "rpc", "answering %s: %s",
			 rpc_type_name(type), rpc_strerror(rv));
}

void node_reply_error(struct node *n, uint64_t conn, uint16_t type,
		      uint64_t rid, uint32_t code, const char *msg)
{
	struct rpc_status st = {code, msg, NULL};
	node_reply(n, conn, type, rid, &st, NULL);
}

/* For requests only the leader serves: true when this node may go on;
 * otherwise it has answered NOT_LEADER or UNAVAILABLE. */
bool node_leader_only(struct node *n, uint64_t conn, uint16_t type,
		      uint64_t rid)
{
	if (raft_state(&n->raft) == RAFT_LEADER && n->ready)
		return true;
	if (raft_state(&n->raft) == RAFT_LEADER) {
		node_reply_error(n, conn, type, rid, RPC_UNAVAILABLE,
				 "new leader is catching up; retry shortly");
		return false;
	}
	uint64_t id;
	const char *addr = node_leader_listen(n, &id);
	if (addr == NULL) {
		node_reply_error(n, conn, type, rid, RPC_UNAVAILABLE,
				 "no leader is known yet; retry shortly");
		return false;
	}
	char msg[96];
	snprintf(msg, sizeof msg, "node %" PRIu64 " is the leader", id);
	struct rpc_status st = {RPC_NOT_LEADER, msg, addr};
	node_reply(n, conn, type, rid, &st, NULL);
	return false;
}

bool node_decode(struct node *n, uint64_t conn, struct rpc_frame *f, void *out)
{
	const char *why = NULL;
	if (rpc_decode(f, f->type, out, NULL, &why) == 0)
		return true;
	char msg[160];
	snprintf(msg, sizeof msg, "malformed %s request: field %s",
		 rpc_type_name(f->type) ? rpc_type_name(f->type) : "?",
		 why ? why : "?");
	node_reply_error(n, conn, f->type, f->request_id, RPC_INVALID_ARGUMENT,
			 msg);
	return false;
}

/* ---- Proposals ---- */

struct proposal {
	struct raft_apply req;
	struct node *n;
	uint64_t conn;
	uint64_t rid;
	uint16_t type;
	bool everywhere;
	struct node_sync sync;
};

static void on_everywhere(struct node_sync *s, bool all)
{
	struct proposal *p = s->data;
	if (!all)
		NODE_LOG(NODE_WARN, "raft",
			 "%s: a node did not confirm the change within %d ms",
			 rpc_type_name(p->type), NODE_SYNC_LIMIT_MS);
	node_reply(p->n, p->conn, p->type, p->rid, NULL,
		   &(struct rpc_empty){0});
}

static void on_proposal_released(struct node_sync *s)
{
	free(s->data);
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
	struct proposal *p = req->data;
	struct node *n = p->n;
	const struct rsm_result *r = result;
	if (status != 0) {
		/* The entry may still commit later: say so. */
		char msg[160];
		snprintf(msg, sizeof msg,
			 "leadership changed before the change was confirmed "
			 "(%s); check before retrying",
			 raft_strerror(status));
		node_reply_error(n, p->conn, p->type, p->rid, RPC_UNAVAILABLE,
				 msg);
	} else if (r == NULL || r->code != RSM_OK) {
		node_reply_error(n, p->conn, p->type, p->rid,
				 node_code_from_rsm(r ? r->code : RSM_EBADCMD),
				 r ? r->message : "no result");
	} else if (p->everywhere) {
		/* Answer once every node that can be reached has it: a topic
		 * or group just created is then known wherever the client
		 * goes next (read your writes). */
		p->sync.data = p;
		node_sync_start(n, &p->sync, raft_last_applied(&n->raft), NULL,
				0, true, on_everywhere, on_proposal_released);
		return;
	} else {
		node_reply(n, p->conn, p->type, p->rid, NULL,
			   &(struct rpc_empty){0});
	}
	free(p);
}

/* Proposes @buf (taken over) and answers the request when it applies
 * (@everywhere: when every reachable node applied it). */
static void propose(struct node *n, uint64_t conn, struct rpc_frame *f,
		    struct raft_buffer buf, bool everywhere)
{
	struct proposal *p = malloc(sizeof *p);
	if (p == NULL) {
		raft_free(buf.base);
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	p->n = n;
	p->conn = conn;
	p->rid = f->request_id;
	p->type = f->type;
	p->everywhere = everywhere;
	p->req.data = p;
	int rv = raft_apply(&n->raft, &p->req, &buf, 1, on_applied);
	if (rv != 0) {
		raft_free(buf.base);
		free(p);
		node_reply_error(n, conn, f->type, f->request_id,
				 rv == RAFT_NOTLEADER ? RPC_UNAVAILABLE
						      : RPC_INTERNAL,
				 raft_strerror(rv));
	}
}

/* ---- Read-only requests ---- */

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
	out->applied_index = raft_last_applied(&n->raft);
}

static void handle_route(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	uint32_t nb = rsm_broker_count(n->rsm), nt = rsm_topic_count(n->rsm);
	struct rpc_broker_info *b = calloc(nb ? nb : 1, sizeof *b);
	struct rpc_topic_info *t = calloc(nt ? nt : 1, sizeof *t);
	const char **names = NULL;
	size_t total = 0;
	for (uint32_t i = 0; i < nt; i++)
		total += rsm_topic_at(n->rsm, i)->n_brokers;
	names = calloc(total ? total : 1, sizeof *names);
	if (b == NULL || t == NULL || names == NULL) {
		free(b);
		free(t);
		free(names);
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	for (uint32_t i = 0; i < nb; i++) {
		const struct rsm_broker *x = rsm_broker_at(n->rsm, i);
		b[i] = (struct rpc_broker_info){x->id, x->name, x->listen,
						x->raft_address};
	}
	size_t at = 0;
	for (uint32_t i = 0; i < nt; i++) {
		const struct rsm_topic *x = rsm_topic_at(n->rsm, i);
		for (uint32_t k = 0; k < x->n_brokers; k++)
			names[at + k] = x->brokers[k];
		t[i] = (struct rpc_topic_info){
		    x->name, x->queues_per_broker, {names + at, x->n_brokers}};
		at += x->n_brokers;
	}
	uint64_t lid = 0;
	const char *leader = node_leader_listen(n, &lid);
	struct rpc_route_resp r = {lid, leader, {b, nb}, {t, nt}};
	node_reply(n, conn, f->type, f->request_id, NULL, &r);
	free(b);
	free(t);
	free(names);
}

/* CLUSTER_STATUS: this node's line, and every other voter's, asked in
 * parallel; a node that does not answer within a second is "unavailable". */
struct status_job;
struct status_ask {
	struct rpc_call call;
	struct status_job *job;
	int slot;
};
struct status_line {
	struct rpc_node_status s;
	char name[128], listen[NODE_TEXT], raft[NODE_TEXT], role[16];
};
struct status_job {
	struct node *n;
	uint64_t conn, rid;
	int waiting;
	int count;
	struct status_line lines[NODE_MAX_PEERS];
	struct status_ask asks[NODE_MAX_PEERS];
};

static void status_finish(struct status_job *j)
{
	struct rpc_node_status out[NODE_MAX_PEERS];
	for (int i = 0; i < j->count; i++)
		out[i] = j->lines[i].s;
	uint64_t lid = 0;
	raft_id id = 0;
	const char *addr;
	raft_leader(&j->n->raft, &id, &addr);
	lid = id;
	/* A leader line is better evidence than a follower's memory. */
	for (int i = 0; i < j->count; i++)
		if (strcmp(out[i].role, "leader") == 0)
			lid = out[i].id;
	struct rpc_status_resp r = {lid, {out, (uint32_t)j->count}};
	node_reply(j->n, j->conn, RPC_CLUSTER_STATUS, j->rid, NULL, &r);
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
	struct rpc_status_resp r;
	struct rpc_status st;
	if (status == 0 &&
	    rpc_decode(f, RPC_CLUSTER_STATUS | RPC_RESPONSE, &r, &st, NULL) ==
		0 &&
	    st.code == RPC_OK && r.nodes.n == 1) {
		const struct rpc_node_status *s = r.nodes.v;
		uint64_t want = j->lines[a->slot].s.id;
		if (s->id == want)
			copy_line(&j->lines[a->slot], s);
	}
	if (--j->waiting == 0)
		status_finish(j);
}

static void handle_status(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_status_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	struct rpc_node_status me;
	node_local_status(n, &me);
	if (in.local) {
		struct rpc_status_resp r = {0, {&me, 1}};
		raft_id id = 0;
		const char *addr;
		raft_leader(&n->raft, &id, &addr);
		r.leader_id = id;
		node_reply(n, conn, f->type, f->request_id, NULL, &r);
		return;
	}
	struct status_job *j = calloc(1, sizeof *j);
	if (j == NULL) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	j->n = n;
	j->conn = conn;
	j->rid = f->request_id;
	/* Every server in the Raft configuration, in id order. */
	const struct raft_configuration *cf = &n->raft.configuration;
	for (unsigned i = 0; i < cf->n && j->count < NODE_MAX_PEERS; i++) {
		const struct raft_server *sv = &cf->servers[i];
		int slot = j->count;
		for (int k = j->count; k > 0; k--) { /* insertion by id */
			if (j->lines[k - 1].s.id < sv->id)
				break;
			slot = k - 1;
		}
		memmove(&j->lines[slot + 1], &j->lines[slot],
			(size_t)(j->count - slot) * sizeof j->lines[0]);
		for (int k = slot + 1; k <= j->count; k++) {
			struct status_line *l = &j->lines[k];
			l->s.name = l->name;
			l->s.listen = l->listen;
			l->s.raft_address = l->raft;
			l->s.role = l->role;
		}
		j->count++;
		struct status_line *l = &j->lines[slot];
		const struct rsm_broker *b = rsm_broker_by_id(n->rsm, sv->id);
		struct rpc_node_status s = {sv->id,
					    b ? b->name : "",
					    b ? b->listen : "",
					    sv->address,
					    "unavailable",
					    0,
					    0,
					    0};
		if (sv->id == n->cfg.id)
			s = me;
		copy_line(l, &s);
	}
	/* Ask the others. */
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
		struct rpc_status_req q = {true};
		if (rpc_client_request(c, &a->call, RPC_CLUSTER_STATUS, &q,
				       1000, on_status_answer) == 0)
			j->waiting++;
	}
	if (j->waiting == 0)
		status_finish(j);
}

static void handle_names(struct node *n, uint64_t conn, struct rpc_frame *f,
			 bool topics)
{
	uint32_t cnt =
	    topics ? rsm_topic_count(n->rsm) : rsm_group_count(n->rsm);
	const char **v = calloc(cnt ? cnt : 1, sizeof *v);
	if (v == NULL) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	for (uint32_t i = 0; i < cnt; i++)
		v[i] = topics ? rsm_topic_at(n->rsm, i)->name
			      : rsm_group_at(n->rsm, i)->name;
	struct rpc_names_resp r = {{v, cnt}};
	node_reply(n, conn, f->type, f->request_id, NULL, &r);
	free(v);
}

/* ---- Changes ---- */

/* NODE_REMOVE: a node leaves the Raft configuration. Refused for the
 * leader itself (stop it first: SIGTERM hands leadership over) and for a
 * broker that hosts queues (messages are not replicated: they would be
 * lost). */
struct remove_op {
	struct raft_change change;
	struct node *n;
	uint64_t conn, rid, id;
};

static void on_removed(struct raft_change *req, int status)
{
	struct remove_op *op = req->data;
	if (status != 0) {
		char msg[200];
		snprintf(msg, sizeof msg, "removing node %llu: %s",
			 (unsigned long long)op->id, raft_strerror(status));
		node_reply_error(op->n, op->conn, RPC_NODE_REMOVE, op->rid,
				 node_code_from_raft(status), msg);
	} else {
		NODE_LOG(NODE_INFO, "raft", "node %llu removed",
			 (unsigned long long)op->id);
		node_reply(op->n, op->conn, RPC_NODE_REMOVE, op->rid, NULL,
			   &(struct rpc_empty){0});
	}
	free(op);
}

static void handle_node_remove(struct node *n, uint64_t conn,
			       struct rpc_frame *f)
{
	struct rpc_node_remove_req in;
	char msg[400];
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id))
		return;
	const struct raft_configuration *cf = &n->raft.configuration;
	bool member = false;
	for (unsigned k = 0; k < cf->n; k++)
		member |= cf->servers[k].id == in.id;
	if (!member) {
		snprintf(msg, sizeof msg,
			 "node %llu is not in the cluster's configuration",
			 (unsigned long long)in.id);
		node_reply_error(n, conn, f->type, f->request_id, RPC_NOT_FOUND,
				 msg);
		return;
	}
	if (in.id == n->cfg.id) {
		snprintf(msg, sizeof msg,
			 "node %llu is the leader: stop it first (SIGTERM "
			 "hands leadership over), then remove it",
			 (unsigned long long)in.id);
		node_reply_error(n, conn, f->type, f->request_id, RPC_FORBIDDEN,
				 msg);
		return;
	}
	const struct rsm_broker *b = rsm_broker_by_id(n->rsm, in.id);
	for (uint32_t i = 0; b != NULL && i < rsm_topic_count(n->rsm); i++) {
		const struct rsm_topic *t = rsm_topic_at(n->rsm, i);
		if (rsm_topic_queue_index(t, b->name, 0) < 0)
			continue;
		snprintf(msg, sizeof msg,
			 "%s hosts queues of topic '%s': messages are not "
			 "replicated, so removing it would lose them",
			 b->name, t->name);
		node_reply_error(n, conn, f->type, f->request_id, RPC_FORBIDDEN,
				 msg);
		return;
	}
	struct remove_op *op = calloc(1, sizeof *op);
	if (op == NULL) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	*op = (struct remove_op){
	    .n = n, .conn = conn, .rid = f->request_id, .id = in.id};
	op->change.data = op;
	int rv = raft_remove(&n->raft, &op->change, in.id, on_removed);
	if (rv != 0) {
		snprintf(msg, sizeof msg, "removing node %llu: %s",
			 (unsigned long long)in.id, raft_strerror(rv));
		node_reply_error(n, conn, f->type, f->request_id,
				 node_code_from_raft(rv), msg);
		free(op);
	}
}

static void handle_topic_create(struct node *n, uint64_t conn,
				struct rpc_frame *f)
{
	struct rpc_topic_create_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id))
		return;
	/* No broker list: every registered broker. */
	const char *all[RSM_MAX_BROKERS];
	const char *const *brokers = in.brokers.v;
	uint32_t nb = in.brokers.n;
	if (nb == 0) {
		/* Registered brokers still in the Raft configuration: a
		 * removed node keeps its registration (its name), not its
		 * place in new topics. */
		const struct raft_configuration *cf = &n->raft.configuration;
		for (uint32_t i = 0;
		     i < rsm_broker_count(n->rsm) && nb < RSM_MAX_BROKERS;
		     i++) {
			const struct rsm_broker *b = rsm_broker_at(n->rsm, i);
			for (unsigned k = 0; k < cf->n; k++)
				if (cf->servers[k].id == b->id)
					all[nb++] = b->name;
		}
		brokers = all;
	}
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_create_topic(in.topic, in.queues, brokers, nb,
				    node_wall_ms(), &buf, err,
				    sizeof err) != 0) {
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_INVALID_ARGUMENT, err);
		return;
	}
	propose(n, conn, f, buf, true);
}

static void handle_group_create(struct node *n, uint64_t conn,
				struct rpc_frame *f)
{
	struct rpc_group_create_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	enum rsm_group_mode mode = RSM_CLUSTERING;
	enum rsm_initial initial = RSM_INITIAL_LATEST;
	if (in.mode != NULL && strcmp(in.mode, "broadcasting") == 0)
		mode = RSM_BROADCASTING;
	else if (in.mode != NULL && strcmp(in.mode, "clustering") != 0) {
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_INVALID_ARGUMENT,
				 "mode must be clustering or broadcasting");
		return;
	}
	if (in.initial != NULL && strcmp(in.initial, "earliest") == 0)
		initial = RSM_INITIAL_EARLIEST;
	else if (in.initial != NULL && strcmp(in.initial, "latest") != 0) {
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_INVALID_ARGUMENT,
				 "initial must be latest or earliest");
		return;
	}
	if (!node_leader_only(n, conn, f->type, f->request_id))
		return;
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_create_group(in.group, mode, initial, node_wall_ms(),
				    &buf, err, sizeof err) != 0) {
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_INVALID_ARGUMENT, err);
		return;
	}
	propose(n, conn, f, buf, true);
}

/* JOIN: add the node as a voter if it is new, then register its broker. */
struct join_job {
	struct raft_change change;
	struct node *n;
	uint64_t conn, rid;
	struct rsm_broker b;
	struct proposal *p;
};

static void join_register(struct join_job *j)
{
	struct node *n = j->n;
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_register_broker(&j->b, &buf, err, sizeof err) != 0) {
		node_reply_error(n, j->conn, RPC_JOIN, j->rid,
				 RPC_INVALID_ARGUMENT, err);
		free(j);
		return;
	}
	struct rpc_frame f;
	memset(&f, 0, sizeof f);
	f.type = RPC_JOIN;
	f.request_id = j->rid;
	propose(n, j->conn, &f, buf, false);
	free(j);
}

static void on_assigned(struct raft_change *req, int status)
{
	struct join_job *j = req->data;
	if (status != 0 && status != RAFT_BADROLE) {
		node_reply_error(j->n, j->conn, RPC_JOIN, j->rid,
				 RPC_UNAVAILABLE, raft_strerror(status));
		free(j);
		return;
	}
	NODE_LOG(NODE_INFO, "raft", "node %llu is a voter",
		 (unsigned long long)j->b.id);
	join_register(j);
}

static void on_added(struct raft_change *req, int status)
{
	struct join_job *j = req->data;
	if (status != 0) {
		node_reply_error(j->n, j->conn, RPC_JOIN, j->rid,
				 RPC_UNAVAILABLE, raft_strerror(status));
		free(j);
		return;
	}
	int rv = raft_assign(&j->n->raft, &j->change, j->b.id, RAFT_VOTER,
			     on_assigned);
	if (rv != 0) {
		node_reply_error(j->n, j->conn, RPC_JOIN, j->rid,
				 RPC_UNAVAILABLE, raft_strerror(rv));
		free(j);
	}
}

static void handle_join(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_join_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	if (!node_leader_only(n, conn, f->type, f->request_id))
		return;
	struct join_job *j = calloc(1, sizeof *j);
	if (j == NULL) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	j->n = n;
	j->conn = conn;
	j->rid = f->request_id;
	j->b.id = in.id;
	snprintf(j->b.name, sizeof j->b.name, "%s", in.name);
	snprintf(j->b.listen, sizeof j->b.listen, "%s", in.listen);
	snprintf(j->b.raft_address, sizeof j->b.raft_address, "%s",
		 in.raft_address);
	const struct raft_configuration *cf = &n->raft.configuration;
	for (unsigned i = 0; i < cf->n; i++) {
		if (cf->servers[i].id != in.id)
			continue;
		if (cf->servers[i].role == RAFT_VOTER) {
			join_register(j);
			return;
		}
		j->change.data = j;
		if (raft_assign(&n->raft, &j->change, in.id, RAFT_VOTER,
				on_assigned) != 0) {
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_UNAVAILABLE,
					 "a membership change is in progress; "
					 "retry");
			free(j);
		}
		return;
	}
	NODE_LOG(NODE_INFO, "raft", "adding node %llu (%s, raft %s)",
		 (unsigned long long)in.id, in.name, in.raft_address);
	j->change.data = j;
	int rv =
	    raft_add(&n->raft, &j->change, in.id, in.raft_address, on_added);
	if (rv != 0) {
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_UNAVAILABLE,
				 rv == RAFT_CANTCHANGE
				     ? "a membership change is in progress; "
				       "retry"
				     : raft_strerror(rv));
		free(j);
	}
}

/* ---- The data plane: this broker's queues ---- */

/* The local queue, or NULL after answering why there is none. */
static struct stor_queue *local_queue(struct node *n, uint64_t conn,
				      struct rpc_frame *f, const char *topic,
				      uint32_t queue_id)
{
	uint32_t code;
	char msg[300];
	struct stor_queue *q =
	    node_queue(n, topic, queue_id, &code, msg, sizeof msg);
	if (q == NULL)
		node_reply_error(n, conn, f->type, f->request_id, code, msg);
	return q;
}

static void handle_produce(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_produce_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	struct stor_queue *q = local_queue(n, conn, f, in.topic, in.queue_id);
	if (q == NULL)
		return;
	if (in.flags > 0xff) {
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_INVALID_ARGUMENT, "unknown batch flags");
		return;
	}
	struct stor_batch_in b = {in.payload.ptr, in.payload.len, in.count,
				  (uint8_t)in.flags, node_wall_ms()};
	uint64_t base;
	int64_t t;
	int rv = stor_queue_append(q, &b, &base, &t);
	if (rv != 0) {
		if (rv != STOR_EINVAL)
			NODE_LOG(NODE_ERROR, "storage", "%s",
				 stor_queue_errmsg(q));
		node_reply_error(n, conn, f->type, f->request_id,
				 node_code_from_stor(rv), stor_queue_errmsg(q));
		return;
	}
	struct rpc_produce_resp r = {base, t};
	node_reply(n, conn, f->type, f->request_id, NULL, &r);
}

#define FETCH_DEFAULT_BYTES (1u << 20)

static void handle_fetch(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	struct rpc_fetch_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	char msg[300];
	struct stor_queue *q = local_queue(n, conn, f, in.topic, in.queue_id);
	if (q == NULL)
		return;
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	uint64_t epoch = 0;
	if (in.group != NULL) {
		/* A consumer that read before a reset must move (DESIGN.md
		 * §2): answer where the group stands now. */
		const struct rsm_group *g = rsm_group_find(n->rsm, in.group);
		if (g == NULL) {
			snprintf(msg, sizeof msg, "group '%s' does not exist",
				 in.group);
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_UNKNOWN_GROUP, msg);
			return;
		}
		const struct rsm_group_topic *gt = rsm_group_topic(g, in.topic);
		epoch = gt ? gt->epoch : 0;
		if (g->mode == RSM_CLUSTERING && in.epoch < epoch) {
			const struct rsm_topic *t =
			    rsm_topic_find(n->rsm, in.topic);
			int64_t qi =
			    rsm_topic_queue_index(t, n->cfg.name, in.queue_id);
			uint64_t at = gt->offsets[qi];
			at = at == RSM_OFFSET_NONE ? info.max_offset
						   : stor_queue_clamp(q, at);
			struct rpc_fetch_resp r = {{NULL, 0},
						   info.min_offset,
						   info.max_offset,
						   at,
						   epoch};
			struct rpc_status st = {RPC_OFFSET_MOVED,
						"the group was reset", NULL};
			node_reply(n, conn, f->type, f->request_id, &st, &r);
			return;
		}
		if (g->mode == RSM_CLUSTERING && in.epoch > epoch) {
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_INVALID_ARGUMENT,
					 "epoch is newer than the group's");
			return;
		}
	}
	/* Below MinOffset reads from MinOffset; past MaxOffset is empty. */
	uint64_t at = stor_queue_clamp(q, in.offset);
	size_t cap = in.max_bytes ? in.max_bytes : FETCH_DEFAULT_BYTES;
	if (cap > n->cfg.max_frame_bytes / 2)
		cap = n->cfg.max_frame_bytes / 2;
	uint8_t *buf = malloc(cap);
	size_t len = 0;
	int rv = buf ? stor_queue_read(q, at, buf, cap, &len) : STOR_ENOMEM;
	if (rv == STOR_EBUFSIZE && len <= n->cfg.max_frame_bytes - 4096) {
		/* One batch bigger than asked for: send it whole. */
		uint8_t *b2 = realloc(buf, len);
		if (b2 != NULL) {
			buf = b2;
			rv = stor_queue_read(q, at, buf, len, &len);
		}
	}
	if (rv != 0) {
		if (rv != STOR_ERANGE)
			NODE_LOG(NODE_ERROR, "storage", "%s",
				 stor_queue_errmsg(q));
		node_reply_error(n, conn, f->type, f->request_id,
				 node_code_from_stor(rv),
				 buf ? stor_queue_errmsg(q) : "out of memory");
		free(buf);
		return;
	}
	struct rpc_fetch_resp r = {
	    {buf, (uint32_t)len}, info.min_offset, info.max_offset, at, epoch};
	node_reply(n, conn, f->type, f->request_id, NULL, &r);
	free(buf);
}

/* Bounds (and offset for a time) of this broker's queues of @t. */
static int local_stats(struct node *n, const struct rsm_topic *t,
		       const uint64_t *ids, uint32_t nids, bool with_time,
		       int64_t time, struct rpc_queue_stat *out,
		       uint32_t *count, uint32_t *code, char *msg,
		       size_t msglen)
{
	uint32_t all = t->queues_per_broker;
	uint32_t m = nids ? nids : all;
	for (uint32_t i = 0; i < m; i++) {
		uint64_t id = nids ? ids[i] : i;
		if (id > UINT32_MAX) {
			*code = RPC_INVALID_ARGUMENT;
			snprintf(msg, msglen, "queue id %llu out of range",
				 (unsigned long long)id);
			return -1;
		}
		struct stor_queue *q =
		    node_queue(n, t->name, (uint32_t)id, code, msg, msglen);
		if (q == NULL)
			return -1;
		struct stor_queue_info info;
		stor_queue_info(q, &info);
		out[i] = (struct rpc_queue_stat){
		    (uint32_t)id,	   info.min_offset,
		    info.max_offset,	   0,
		    info.first_store_time, info.last_store_time};
		if (with_time) {
			int rv = stor_queue_offset_for_time(
			    q, time, &out[i].time_offset);
			if (rv != 0) {
				*code = node_code_from_stor(rv);
				snprintf(msg, msglen, "%s",
					 stor_queue_errmsg(q));
				return -1;
			}
		}
	}
	*count = m;
	return 0;
}

static void handle_queue_stats(struct node *n, uint64_t conn,
			       struct rpc_frame *f)
{
	struct rpc_queue_stats_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	char msg[300];
	const struct rsm_topic *t = rsm_topic_find(n->rsm, in.topic);
	if (t == NULL) {
		snprintf(msg, sizeof msg, "topic '%s' does not exist",
			 in.topic);
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_UNKNOWN_TOPIC, msg);
		return;
	}
	uint32_t m = in.queue_ids.n ? in.queue_ids.n : t->queues_per_broker;
	struct rpc_queue_stat *st = calloc(m ? m : 1, sizeof *st);
	uint32_t count = 0, code = RPC_INTERNAL;
	if (st == NULL ||
	    local_stats(n, t, in.queue_ids.v, in.queue_ids.n, in.with_time,
			in.time, st, &count, &code, msg, sizeof msg) != 0) {
		node_reply_error(n, conn, f->type, f->request_id, code,
				 st ? msg : "out of memory");
		free(st);
		return;
	}
	struct rpc_queue_stats_resp r = {n->cfg.name, {st, count}};
	node_reply(n, conn, f->type, f->request_id, NULL, &r);
	free(st);
}

/* TOPIC_DESCRIBE: every hosting broker's queue bounds, gathered in
 * parallel; a broker that cannot answer makes it UNAVAILABLE naming it. */
struct describe_op {
	struct node_gather g; /* first: the callback gets &op->g */
	struct node *n;
	uint64_t conn, rid;
};

static void on_described(struct node_gather *g, bool ok)
{
	struct describe_op *op = (struct describe_op *)g;
	struct node *n = op->n;
	size_t nq = (size_t)g->n_brokers * g->qpb;
	struct rpc_queue_info *q = ok ? calloc(nq ? nq : 1, sizeof *q) : NULL;
	if (!ok) {
		node_reply_error(n, op->conn, RPC_TOPIC_DESCRIBE, op->rid,
				 RPC_UNAVAILABLE, g->failed);
	} else if (q == NULL) {
		node_reply_error(n, op->conn, RPC_TOPIC_DESCRIBE, op->rid,
				 RPC_INTERNAL, "out of memory");
	} else {
		for (size_t i = 0; i < nq; i++)
			q[i] = (struct rpc_queue_info){g->brokers[i / g->qpb],
						       (uint32_t)(i % g->qpb),
						       g->q[i].min,
						       g->q[i].max,
						       g->q[i].first_time,
						       g->q[i].last_time};
		struct rpc_topic_describe_resp r = {g->topic,
						    {q, (uint32_t)nq}};
		node_reply(n, op->conn, RPC_TOPIC_DESCRIBE, op->rid, NULL, &r);
	}
	free(q);
	node_gather_free(g);
	free(op);
}

static void handle_topic_describe(struct node *n, uint64_t conn,
				  struct rpc_frame *f)
{
	struct rpc_topic_req in;
	if (!node_decode(n, conn, f, &in))
		return;
	const struct rsm_topic *t = rsm_topic_find(n->rsm, in.topic);
	if (t == NULL) {
		char msg[300];
		snprintf(msg, sizeof msg, "topic '%s' does not exist",
			 in.topic);
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_UNKNOWN_TOPIC, msg);
		return;
	}
	struct describe_op *op = calloc(1, sizeof *op);
	if (op == NULL) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return;
	}
	op->n = n;
	op->conn = conn;
	op->rid = f->request_id;
	op->g.data = op;
	op->g.done = on_described;
	if (node_gather_start(n, &op->g, t, NULL) != 0) {
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		free(op);
	}
}

/* ---- Read gate ---- */

struct read_gate {
	struct raft_barrier req;
	struct node *n;
	uint64_t conn;
	uint8_t *raw;
	size_t len;
};

static void on_read_barrier(struct raft_barrier *req, int status)
{
	struct read_gate *g = req->data;
	struct node *n = g->n;
	struct rpc_reader rd;
	struct rpc_frame f;
	uint8_t h[4] = {(uint8_t)(g->len >> 24), (uint8_t)(g->len >> 16),
			(uint8_t)(g->len >> 8), (uint8_t)g->len};
	rpc_reader_init(&rd, 0);
	if (rpc_reader_feed(&rd, h, 4) == 0 &&
	    rpc_reader_feed(&rd, g->raw, g->len) == 0 &&
	    rpc_reader_next(&rd, &f) == 1) {
		if (status != 0) {
			node_reply_error(n, g->conn, f.type, f.request_id,
					 RPC_UNAVAILABLE,
					 "leadership changed during the read; "
					 "retry");
		} else {
			n->read_gate_passed = true;
			node_on_request(&n->rpc, g->conn, &f);
			n->read_gate_passed = false;
		}
		rpc_frame_release(&f);
	}
	rpc_reader_close(&rd);
	free(g->raw);
	free(g);
}

bool node_read_gate(struct node *n, uint64_t conn, struct rpc_frame *f)
{
	if (n->read_gate_passed)
		return true;
	struct read_gate *g = calloc(1, sizeof *g);
	if (g != NULL)
		g->raw = malloc(f->raw_len ? f->raw_len : 1);
	if (g == NULL || g->raw == NULL) {
		if (g != NULL)
			free(g->raw);
		free(g);
		node_reply_error(n, conn, f->type, f->request_id, RPC_INTERNAL,
				 "out of memory");
		return false;
	}
	memcpy(g->raw, f->raw, f->raw_len);
	g->len = f->raw_len;
	g->n = n;
	g->conn = conn;
	g->req.data = g;
	int rv = raft_barrier(&n->raft, &g->req, on_read_barrier);
	if (rv != 0) {
		free(g->raw);
		free(g);
		node_reply_error(n, conn, f->type, f->request_id,
				 RPC_UNAVAILABLE, raft_strerror(rv));
	}
	return false;
}

void node_on_request(struct rpc_server *s, uint64_t conn, struct rpc_frame *f)
{
	struct node *n = s->data;
	switch (f->type) {
	case RPC_ROUTE:
		handle_route(n, conn, f);
		return;
	case RPC_CLUSTER_STATUS:
		handle_status(n, conn, f);
		return;
	case RPC_TOPIC_CREATE:
		handle_topic_create(n, conn, f);
		return;
	case RPC_TOPIC_LIST:
		handle_names(n, conn, f, true);
		return;
	case RPC_GROUP_CREATE:
		handle_group_create(n, conn, f);
		return;
	case RPC_GROUP_LIST:
		handle_names(n, conn, f, false);
		return;
	case RPC_JOIN:
		handle_join(n, conn, f);
		return;
	case RPC_NODE_REMOVE:
		handle_node_remove(n, conn, f);
		return;
	case RPC_PRODUCE:
		handle_produce(n, conn, f);
		return;
	case RPC_FETCH:
		handle_fetch(n, conn, f);
		return;
	case RPC_QUEUE_STATS:
		handle_queue_stats(n, conn, f);
		return;
	case RPC_TOPIC_DESCRIBE:
		handle_topic_describe(n, conn, f);
		return;
	case RPC_COMMIT:
		node_handle_commit(n, conn, f);
		return;
	case RPC_OFFSETS:
		node_handle_offsets(n, conn, f);
		return;
	case RPC_RESET:
		node_handle_reset(n, conn, f);
		return;
	case RPC_UNDO:
		node_handle_undo(n, conn, f);
		return;
	case RPC_HISTORY:
		node_handle_history(n, conn, f);
		return;
	case RPC_HEARTBEAT:
		node_handle_heartbeat(n, conn, f);
		return;
	case RPC_LEAVE:
		node_handle_leave(n, conn, f);
		return;
	case RPC_GROUP_DESCRIBE:
		node_handle_group_describe(n, conn, f);
		return;
	default: {
		char msg[128];
		const char *name = rpc_type_name(f->type);
		snprintf(msg, sizeof msg,
			 "request type %u (%s) is not served by this raftqd "
			 "version",
			 f->type, name ? name : "unknown");
		if (rpc_schema_of((uint16_t)(f->type | RPC_RESPONSE)) != NULL)
			node_reply_error(n, conn, f->type, f->request_id,
					 RPC_INVALID_ARGUMENT, msg);
		else
			rpc_server_drop(s, conn);
	}
	}
}

void node_on_rpc_event(struct rpc_server *s, uint64_t conn, const char *peer,
		       enum rpc_event ev, int err)
{
	(void)s;
	switch (ev) {
	case RPC_EV_BAD_FRAME:
		NODE_LOG(NODE_WARN, "rpc", "conn %llu from %s: %s; closing it",
			 (unsigned long long)conn, peer, rpc_strerror(err));
		break;
	case RPC_EV_PAUSED:
		NODE_LOG(NODE_WARN, "rpc",
			 "conn %llu from %s is not reading its answers; "
			 "pausing its requests",
			 (unsigned long long)conn, peer);
		break;
	default:
		NODE_LOG(NODE_DEBUG, "rpc", "conn %llu from %s: event %d (%d)",
			 (unsigned long long)conn, peer, (int)ev, err);
	}
}
