/*
 * auth.h — who is on each client connection and what they may do
 * ([auth] tokens_file, DESIGN.md §6.2; docs/security.md). node/ only.
 *
 * With auth on, the first frame of a connection is AUTH: a token (a
 * client) or the cluster secret (another node). Until it has passed,
 * every other request is FORBIDDEN. The connection's tag (rpc_server_set_
 * tag) says who it is; each request carries it (struct node_req.tag).
 */
#ifndef RAFTQ_NODE_AUTH_H
#define RAFTQ_NODE_AUTH_H

#include "request.h"
#include "tokens.h"

/* What a refused token is told (AUTH answer, later RPC requests, HTTP). */
#define NODE_AUTH_NOT_ACCEPTED                                           \
	"the token given was not accepted by this node (no line of its " \
	"tokens file matches it)"

/* Connection tags. */
#define NODE_TAG_ANON 0	   /* no AUTH yet */
#define NODE_TAG_REFUSED 1 /* an AUTH that did not pass */
#define NODE_TAG_NODE 2	   /* the cluster secret: another node */
#define NODE_TAG_TOKEN0 3  /* + the token's line index */

/* Loads [auth] tokens_file when set (auth on): 0, or -1 with the file's
 * error in @err. */
int node_auth_start(struct node *n, char *err, size_t errlen);
/* Frees what node_auth_start made (after the loop has ended). */
void node_auth_free(struct node *n);
bool node_auth_on(const struct node *n);
/* The token line a connection tagged @tag authenticated with, or NULL
 * (auth off, not authenticated, or another node). */
const struct tokens_entry *node_auth_entry(const struct node *n, uint32_t tag);

/* What node_auth_token says: a token line index (>= 0), or these. */
#define NODE_AUTH_NO_MATCH (-1) /* no line matches: refused */
#define NODE_AUTH_PENDING (-2)	/* checking: the callback will say */
typedef void (*node_auth_cb)(void *data, int32_t line);
/*
 * Which line of the tokens file @token (1..TOKEN_TEXT_MAX bytes) matches:
 * at once when it was seen before, else NODE_AUTH_PENDING and @cb(@data,
 * line) fires once, later, from the loop, after the slow check on the
 * thread pool (auth must be on).
 */
int32_t node_auth_token(struct node *n, const char *token, size_t len,
			node_auth_cb cb, void *data);

/* AUTH (any node, no permission needed). */
void node_handle_auth(const struct node_req *req, const void *in);

/* Whether @req's sender is authenticated (always with auth off);
 * otherwise answered FORBIDDEN saying how to authenticate. */
bool node_req_authenticated(const struct node_req *req);
/* Whether @req's sender may do @action on @resource (a topic or group;
 * ignored for admin); otherwise answered FORBIDDEN naming the missing
 * permission ("reset:G"). Always true with auth off. */
bool node_req_allowed(const struct node_req *req, enum tokens_action action,
		      const char *resource);
/* Like node_req_allowed for any one of consume:G and reset:G (reading a
 * group's offsets, lag or history). */
bool node_req_reads_group(const struct node_req *req, const char *group);
/* The reset history's requester for @req: @said (what the client calls
 * itself) with auth off; "PRINCIPAL from ADDRESS (said)" with auth on. */
void node_req_requester(const struct node_req *req, const char *said, char *out,
			size_t len);

#endif /* RAFTQ_NODE_AUTH_H */
