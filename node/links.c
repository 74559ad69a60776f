/*
 * links.c — rpc clients to the other nodes (status fan-out, gathers,
 * syncs, registration), one per node id and address, created on first use
 * and closed when the node stops.
 */
#include <string.h>

#include "node_int.h"

#define LINK_BACKOFF_MIN_MS 50
#define LINK_BACKOFF_MAX_MS 1000

struct rpc_client *node_link(struct node *n, uint64_t id, const char *address)
{
	for (int i = 0; i < n->nlinks; i++) {
		struct node_link *l = &n->links[i];
		if (l->id != id)
			continue;
		if (strcmp(l->address, address) == 0)
			return &l->cli;
		break; /* moved: a new client (the old one keeps its calls) */
	}
	if (n->nlinks == NODE_MAX_PEERS)
		return NULL;
	struct node_link *l = &n->links[n->nlinks];
	memset(l, 0, sizeof *l);
	l->id = id;
	snprintf(l->address, sizeof l->address, "%s", address);
	struct rpc_client_config cfg = {
	    n->cfg.max_frame_bytes, LINK_BACKOFF_MIN_MS, LINK_BACKOFF_MAX_MS};
	l->cli.data = n;
	if (rpc_client_init(&l->cli, n->loop, address, &cfg, NULL) != 0)
		return NULL;
	/* Nodes with [auth] on refuse anything before an AUTH: another
	 * node proves itself with the cluster secret. */
	struct rpc_auth_req hello = {NULL, n->cfg.cluster_secret};
	if (n->cfg.cluster_secret[0] != '\0' &&
	    rpc_client_hello(&l->cli, RPC_AUTH, &hello) != 0)
		NODE_LOG(NODE_WARN, "auth", "link to %s: AUTH not encoded",
			 address);
	l->open = true;
	n->nlinks++;
	return &l->cli;
}

const struct rpc_node_status *node_link_status(int status, struct rpc_frame *f)
{
	struct rpc_status_resp r;
	struct rpc_status st;
	if (status != 0 ||
	    rpc_decode(f, RPC_CLUSTER_STATUS | RPC_RESPONSE, &r, &st, NULL) !=
		0 ||
	    st.code != RPC_OK || r.nodes.n != 1)
		return NULL;
	return r.nodes.v;
}

static void on_link_closed(struct rpc_client *c)
{
	struct node *n = c->data;
	assert(n->handles_open > 0);
	n->handles_open--;
}

void node_links_close(struct node *n)
{
	for (int i = 0; i < n->nlinks; i++) {
		if (!n->links[i].open)
			continue;
		n->links[i].open = false;
		n->handles_open++;
		rpc_client_close(&n->links[i].cli, on_link_closed);
	}
}
