/*
 * request.c — answers and proposals for request handlers (request.h).
 *
 * Every answer leaves through node_req_reply, every Raft proposal through
 * node_propose, and every libraft or state-machine code becomes a wire
 * code through translate.c: a handler never picks a code for a raft error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

void node_req_ok(const struct node_req *req, const void *body)
{
	struct rpc_empty empty = {0};
	node_req_reply(req, NULL, body ? body : &empty);
}

static void fail_not_leader(const struct node_req *req, const char *msg)
{
	uint64_t id;
	const char *addr = node_leader_listen(req->n, &id);
	if (addr == NULL || id == req->n->cfg.id) {
		struct rpc_status st = {RPC_UNAVAILABLE,
					"no leader is known yet; retry shortly",
					NULL, true};
		node_req_reply(req, &st, NULL);
		return;
	}
	struct rpc_status st = {RPC_NOT_LEADER, msg, addr, true};
	node_req_reply(req, &st, NULL);
}

static void fail_v(const struct node_req *req, uint32_t code, bool retry,
		   const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	assert(code != RPC_OK);
	if (code == RPC_NOT_LEADER) {
		fail_not_leader(req, msg);
		return;
	}
	struct rpc_status st = {code, msg, NULL, retry};
	node_req_reply(req, &st, NULL);
}

void node_req_fail(const struct node_req *req, uint32_t code, const char *fmt,
		   ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_v(req, code, false, fmt, ap);
	va_end(ap);
}

void node_req_refuse(const struct node_req *req, uint32_t code, const char *fmt,
		     ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_v(req, code, true, fmt, ap);
	va_end(ap);
}

void node_held_keep(struct node_held *h, const struct node_req *req,
		    node_handler_fn fn, struct rpc_frame *f,
		    const struct node_req_in *in)
{
	h->req = *req;
	h->fn = fn;
	h->in = *in;		  /* points into the frame's heap buffers, */
	rpc_frame_move(&h->f, f); /* which move here with the frame */
}

void node_held_end(struct node_held *h, bool run)
{
	if (run)
		h->fn(&h->req, h->in.b);
	rpc_frame_release(&h->f);
}

bool node_req_failed(const struct node_req *req, uint32_t code, const char *fmt,
		     ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_v(req, code, false, fmt, ap);
	va_end(ap);
	return false;
}

void node_req_oom(const struct node_req *req)
{
	node_req_fail(req, RPC_INTERNAL, "out of memory");
}

bool node_req_leader(const struct node_req *req)
{
	struct node *n = req->n;
	if (node_is_ready_leader(n))
		return true;
	if (raft_state(&n->raft) == RAFT_LEADER) {
		node_req_refuse(req, RPC_UNAVAILABLE,
				"new leader is catching up; retry shortly");
		return false;
	}
	uint64_t id = 0;
	node_leader_listen(n, &id);
	node_req_fail(req, RPC_NOT_LEADER, "node %llu is the leader",
		      (unsigned long long)id);
	return false;
}

bool node_req_decode(const struct node_req *req, struct rpc_frame *f, void *out)
{
	const char *why = NULL;
	if (rpc_decode(f, req->type, out, NULL, &why) == 0)
		return true;
	const char *name = rpc_type_name(req->type);
	node_req_fail(req, RPC_INVALID_ARGUMENT,
		      "malformed %s request: field %s", name ? name : "?",
		      why ? why : "?");
	return false;
}

void *node_req_op(const struct node_req *req, size_t size)
{
	assert(size >= sizeof *req);
	struct node_req *op = calloc(1, size);
	if (op == NULL)
		node_req_oom(req);
	else
		*op = *req;
	return op;
}

bool node_req_gather(void *op, struct node_gather *g, const struct rsm_topic *t,
		     const bool *want, node_gather_cb cb)
{
	const struct node_req *req = op;
	g->data = op;
	if (node_gather_start(req->n, g, t, want, cb) == 0)
		return true;
	node_req_oom(req);
	free(op);
	return false;
}

/* @x, or NULL after answering that the @what named @name does not exist. */
static const void *found(const struct node_req *req, const void *x,
			 uint32_t code, const char *what, const char *name)
{
	if (x == NULL)
		node_req_fail(req, code, "%s '%s' does not exist", what, name);
	return x;
}

const struct rsm_topic *node_req_topic(const struct node_req *req,
				       const char *name)
{
	return found(req, rsm_topic_find(req->n->rsm, name), RPC_UNKNOWN_TOPIC,
		     "topic", name);
}

const struct rsm_group *node_req_group(const struct node_req *req,
				       const char *name)
{
	return found(req, rsm_group_find(req->n->rsm, name), RPC_UNKNOWN_GROUP,
		     "group", name);
}

bool node_req_group_idle(const struct node_req *req, const char *group,
			 const char *advice)
{
	const char *ids[8];
	uint32_t online = node_group_members(req->n, group, ids, 8);
	if (online == 0)
		return true;
	char list[400];
	size_t at = 0;
	for (uint32_t i = 0; i < online && i < 8 && at < sizeof list - 40; i++)
		at += (size_t)snprintf(list + at, sizeof list - at, "%s%s",
				       i ? ", " : "", ids[i]);
	node_req_fail(req, RPC_GROUP_ACTIVE,
		      "group '%s' has %u online member%s (%s%s); stop them or "
		      "%s",
		      group, online, online == 1 ? "" : "s", list,
		      online > 8 ? ", ..." : "", advice);
	return false;
}

static bool group_exists(const struct node_req *req, const char *group,
			 const struct rsm_group **g)
{
	*g = rsm_group_find(req->n->rsm, group);
	if (*g != NULL)
		return true;
	return node_req_failed(req, RPC_UNKNOWN_GROUP,
			       "group '%s' does not exist (create it with "
			       "raftqctl group create)",
			       group);
}

bool node_req_group_clustering(const struct node_req *req, const char *group,
			       const struct rsm_group **g)
{
	if (!group_exists(req, group, g))
		return false;
	if ((*g)->mode == RSM_CLUSTERING)
		return true;
	return node_req_failed(req, RPC_BROADCAST_UNSUPPORTED,
			       "group '%s' is broadcasting: its offsets live "
			       "on the clients, so the cluster cannot reset "
			       "them",
			       group);
}

bool node_req_group_topic(const struct node_req *req, const char *group,
			  const char *topic, bool clustering_only,
			  const struct rsm_group **g,
			  const struct rsm_topic **t)
{
	*t = rsm_topic_find(req->n->rsm, topic);
	if (!group_exists(req, group, g))
		return false;
	if (*t == NULL)
		return node_req_failed(req, RPC_UNKNOWN_TOPIC,
				       "topic '%s' does not exist", topic);
	return !clustering_only || node_req_group_clustering(req, group, g);
}

/* ---- A proposal's end, as a wire code ---- */

uint64_t node_proposal_index(const struct node_proposal *p)
{
	return p->apply.index;
}

void node_proposal_applied(struct node_proposal *p, int status,
			   const struct rsm_result *r)
{
	char msg[256];
	if (status != 0) {
		/* The entry may still commit later: say so. */
		snprintf(msg, sizeof msg,
			 "leadership changed before the change was confirmed "
			 "(%s); check before retrying",
			 raft_strerror(status));
		p->cb(p, node_code_from_raft(status), msg, NULL);
	} else if (r == NULL || r->code != RSM_OK) {
		p->cb(p, node_code_from_rsm(r ? r->code : RSM_EBADCMD),
		      r ? r->message : "no result", r);
	} else {
		p->cb(p, RPC_OK, NULL, r);
	}
}
