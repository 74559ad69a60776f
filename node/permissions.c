/*
 * permissions.c — may this request's sender do this (auth.h)? Every
 * refusal is FORBIDDEN naming what is missing, so an operator reading the
 * error knows which line of the tokens file to change.
 */
#include <string.h>

#include "auth.h"
#include "handlers.h"

static const struct tokens_entry *entry_of(const struct node_req *req)
{
	return node_auth_entry(req->n, req->tag);
}

bool node_req_authenticated(const struct node_req *req)
{
	if (!node_auth_on(req->n) || req->tag == NODE_TAG_NODE ||
	    entry_of(req) != NULL)
		return true;
	if (req->tag == NODE_TAG_REFUSED)
		return node_req_failed(req, RPC_FORBIDDEN,
				       NODE_AUTH_NOT_ACCEPTED
				       ": check --token, RAFTQ_TOKEN or "
				       "token_file");
	return node_req_failed(req, RPC_FORBIDDEN,
			       "authentication required: this node has [auth] "
			       "tokens_file; give a token (--token, "
			       "RAFTQ_TOKEN or token_file)");
}

/* "produce:T" for @action on @resource ("admin" for admin). */
static void perm_text(enum tokens_action action, const char *resource,
		      char *out, size_t len)
{
	if (action == TOKENS_ADMIN)
		snprintf(out, len, "admin");
	else
		snprintf(out, len, "%s:%s", tokens_action_name(action),
			 resource ? resource : "");
}

/* Answers FORBIDDEN: @e lacks @need. */
static bool refuse(const struct node_req *req, const struct tokens_entry *e,
		   const char *need)
{
	const char *peer = node_req_peer(req);
	NODE_LOG(NODE_INFO, "auth", "%s from %s (token %s) refused: needs %s",
		 rpc_type_name(req->type), peer ? peer : "?", e->name, need);
	return node_req_failed(req, RPC_FORBIDDEN,
			       "permission %s needed: token '%s' does not "
			       "have it",
			       need, e->name);
}

bool node_req_allowed(const struct node_req *req, enum tokens_action action,
		      const char *resource)
{
	if (!node_auth_on(req->n) || req->tag == NODE_TAG_NODE)
		return true;
	if (!node_req_authenticated(req))
		return false;
	const struct tokens_entry *e = entry_of(req);
	assert(e != NULL); /* authenticated with a token */
	if (tokens_allows(e, action, resource))
		return true;
	char need[TOKENS_PATTERN_MAX + 16];
	perm_text(action, resource, need, sizeof need);
	return refuse(req, e, need);
}

bool node_req_reads_group(const struct node_req *req, const char *group)
{
	if (!node_auth_on(req->n) || req->tag == NODE_TAG_NODE)
		return true;
	if (!node_req_authenticated(req))
		return false;
	const struct tokens_entry *e = entry_of(req);
	assert(e != NULL);
	if (tokens_allows(e, TOKENS_CONSUME, group) ||
	    tokens_allows(e, TOKENS_RESET, group))
		return true;
	char need[2 * TOKENS_PATTERN_MAX + 32];
	snprintf(need, sizeof need, "consume:%s or reset:%s", group, group);
	return refuse(req, e, need);
}

void node_req_requester(const struct node_req *req, const char *said, char *out,
			size_t len)
{
	if (said == NULL || said[0] == '\0')
		said = "unknown";
	if (!node_auth_on(req->n)) {
		snprintf(out, len, "%s", said);
		return;
	}
	const struct tokens_entry *e = entry_of(req);
	const char *peer = node_req_peer(req);
	snprintf(out, len, "%s from %s (%s)",
		 e			     ? e->name
		 : req->tag == NODE_TAG_NODE ? "node"
					     : "?",
		 peer ? peer : "?", said);
}
