/*
 * links.c — rpc clients to the other nodes (status fan-out, gathers,
 * syncs, registration), one per node id and address, created on first use
 * and closed when the node stops.
 */
#include <sodium.h>
#include <string.h>

#include "node_int.h"
#include "tokens.h"

_Static_assert(NODE_DELEGATE_TOKEN == TOKEN_TEXT_MAX,
	       "a delegate holds any token AUTH accepts");

#define LINK_BACKOFF_MIN_MS 50
#define LINK_BACKOFF_MAX_MS 200

/* Starts client @l for node @id at @address, first sending AUTH @hello. */
static int link_init(struct node *n, struct node_link *l, uint64_t id,
		     const char *address, const struct rpc_auth_req *hello)
{
	memset(l, 0, sizeof *l);
	l->id = id;
	snprintf(l->address, sizeof l->address, "%s", address);
	struct rpc_client_config cfg = {
	    n->cfg.max_frame_bytes, LINK_BACKOFF_MIN_MS, LINK_BACKOFF_MAX_MS};
	l->cli.data = n;
	if (rpc_client_init(&l->cli, n->loop, address, &cfg, NULL) != 0)
		return -1;
	if (hello != NULL && rpc_client_hello(&l->cli, RPC_AUTH, hello) != 0)
		NODE_LOG(NODE_WARN, "auth", "link to %s: AUTH not encoded",
			 address);
	l->open = true;
	return 0;
}

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
	/* Nodes with [auth] on refuse anything before an AUTH: another
	 * node proves itself with the cluster secret. */
	struct rpc_auth_req hello = {NULL, n->cfg.cluster_secret};
	if (link_init(n, l, id, address,
		      n->cfg.cluster_secret[0] != '\0' ? &hello : NULL) != 0)
		return NULL;
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

/* ---- Delegates: links as a client's token ---- */

static void on_delegate_closed(struct rpc_client *c)
{
	struct node_delegate *d = c->data;
	struct node *n = d->n;
	d->closing = false;
	assert(n->handles_open > 0);
	n->handles_open--;
}

static void delegate_close(struct node_delegate *d)
{
	assert(d->link.open);
	d->link.open = false;
	d->closing = true;
	d->n->handles_open++;
	sodium_memzero(d->token, sizeof d->token);
	rpc_client_close(&d->link.cli, on_delegate_closed);
}

/* A slot for a new delegate: a free one, else the least recently used
 * idle one (closed now: usable once its close ends); NULL if none. */
static struct node_delegate *delegate_slot(struct node *n)
{
	struct node_delegate *lru = NULL;
	for (int i = 0; i < NODE_DELEGATES; i++) {
		struct node_delegate *d = &n->delegates[i];
		if (!d->link.open && !d->closing)
			return d;
		if (d->link.open && d->link.cli.calls == NULL &&
		    (lru == NULL || d->used < lru->used))
			lru = d;
	}
	if (lru != NULL)
		delegate_close(lru);
	return NULL;
}

static bool delegate_is(const struct node_delegate *d, uint64_t id,
			const char *address, const char *token, size_t len)
{
	return d->link.open && d->link.id == id &&
	       strcmp(d->link.address, address) == 0 && d->token_len == len &&
	       sodium_memcmp(d->token, token, len) == 0;
}

struct rpc_client *node_link_as(struct node *n, uint64_t id,
				const char *address, const char *token,
				size_t len)
{
	assert(len > 0 && len <= NODE_DELEGATE_TOKEN);
	for (int i = 0; i < NODE_DELEGATES; i++) {
		struct node_delegate *d = &n->delegates[i];
		if (delegate_is(d, id, address, token, len)) {
			d->used = uv_now(n->loop);
			return &d->link.cli;
		}
	}
	struct node_delegate *d = delegate_slot(n);
	if (d == NULL)
		return NULL;
	memcpy(d->token, token, len);
	d->token[len] = '\0';
	d->token_len = len;
	d->used = uv_now(n->loop);
	d->n = n;
	struct rpc_auth_req hello = {d->token, NULL};
	if (link_init(n, &d->link, id, address, &hello) != 0)
		return NULL;
	d->link.cli.data = d;
	return &d->link.cli;
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
	for (int i = 0; i < NODE_DELEGATES; i++)
		if (n->delegates[i].link.open)
			delegate_close(&n->delegates[i]);
}
