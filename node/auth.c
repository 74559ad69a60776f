/*
 * auth.c — AUTH and the permission checks (auth.h; docs/security.md).
 *
 * AUTH with a token, happy path: keyed BLAKE2b of the token → found in the
 * cache of tokens seen before → the connection is tagged with its line →
 * answered. A token not in the cache is checked against every line's
 * argon2id hash off the loop (uv_queue_work, one check at a time node-wide
 * so a flood of bad tokens costs one pool thread, never the loop or the
 * Raft log's I/O); the connection is held meanwhile, so requests pipelined
 * behind the AUTH run after it, in order. The result — a match or none —
 * goes into the cache, so each token costs the slow hash once.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../util/ct.h"
#include "auth.h"
#include "handlers.h"

#define AUTH_CACHE 256 /* tokens remembered (a ring) */
#define AUTH_NO_MATCH NODE_AUTH_NO_MATCH

struct auth_seen {
	unsigned char digest[crypto_generichash_BYTES];
	int32_t line; /* AUTH_NO_MATCH: no line matches */
	bool used;
};

struct verify_job {
	struct node *n;
	node_auth_cb cb; /* with @data: who waits for the result */
	void *data;
	unsigned char digest[crypto_generichash_BYTES];
	char token[TOKEN_TEXT_MAX + 1];
	size_t len;
	int32_t line;
	const struct tokens *tokens;
	struct verify_job *next;
	uv_work_t work;
};

struct node_auth {
	struct tokens tokens;
	unsigned char key[crypto_generichash_KEYBYTES];
	struct auth_seen seen[AUTH_CACHE];
	uint32_t seen_next;
	struct verify_job *queue, *queue_tail; /* waiting to run */
	bool running;
};

int node_auth_start(struct node *n, char *err, size_t errlen)
{
	if (n->cfg.tokens_file[0] == '\0')
		return 0;
	struct node_auth *a = calloc(1, sizeof *a);
	if (a == NULL) {
		snprintf(err, errlen, "tokens_file: out of memory");
		return -1;
	}
	char why[1024];
	if (tokens_load(n->cfg.tokens_file, &a->tokens, why, sizeof why) != 0) {
		snprintf(err, errlen, "tokens_file: %s", why);
		free(a);
		return -1;
	}
	randombytes_buf(a->key, sizeof a->key);
	n->auth = a;
	NODE_LOG(NODE_INFO, "auth", "auth on: %u tokens from %s", a->tokens.n,
		 n->cfg.tokens_file);
	return 0;
}

void node_auth_free(struct node *n)
{
	struct node_auth *a = n->auth;
	if (a == NULL)
		return;
	assert(!a->running);	   /* the loop has ended */
	while (a->queue != NULL) { /* never checked: not accepted */
		struct verify_job *j = a->queue;
		a->queue = j->next;
		j->cb(j->data, AUTH_NO_MATCH);
		sodium_memzero(j->token, sizeof j->token);
		free(j);
	}
	tokens_free(&a->tokens);
	sodium_memzero(a, sizeof *a);
	free(a);
	n->auth = NULL;
}

bool node_auth_on(const struct node *n)
{
	return n->auth != NULL;
}

/* ---- Who a connection is ---- */

const struct tokens_entry *node_auth_entry(const struct node *n, uint32_t tag)
{
	if (n->auth == NULL || tag < NODE_TAG_TOKEN0 ||
	    tag - NODE_TAG_TOKEN0 >= n->auth->tokens.n)
		return NULL;
	return &n->auth->tokens.v[tag - NODE_TAG_TOKEN0];
}

static void answer_principal(const struct node_req *req, const char *name)
{
	struct rpc_auth_resp r = {name};
	node_req_ok(req, &r);
}

/* Refuses @req's AUTH: its connection is tagged refused, the refusal
 * logged (@why) and answered FORBIDDEN @msg. */
static void auth_refuse(const struct node_req *req, const char *why,
			const char *msg)
{
	struct node *n = req->n;
	rpc_server_set_tag(&n->rpc, req->conn, NODE_TAG_REFUSED);
	const char *peer = rpc_server_peer(&n->rpc, req->conn);
	NODE_LOG(NODE_WARN, "auth", "AUTH from %s refused: %s",
		 peer ? peer : "?", why);
	node_req_fail(req, RPC_FORBIDDEN, "%s", msg);
}

/* Ends an AUTH with a token: @line matched (or AUTH_NO_MATCH). */
static void auth_finish(const struct node_req *req, int32_t line)
{
	struct node *n = req->n;
	if (line == AUTH_NO_MATCH) {
		auth_refuse(req, "no token of the tokens file matches",
			    NODE_AUTH_NOT_ACCEPTED);
		return;
	}
	uint32_t tag = NODE_TAG_TOKEN0 + (uint32_t)line;
	rpc_server_set_tag(&n->rpc, req->conn, tag);
	answer_principal(req, node_auth_entry(n, tag)->name);
}

/* ---- The cache of tokens seen ---- */

static const struct auth_seen *seen_find(const struct node_auth *a,
					 const unsigned char *digest)
{
	const struct auth_seen *hit = NULL;
	for (uint32_t i = 0; i < AUTH_CACHE; i++)
		if (a->seen[i].used &&
		    sodium_memcmp(a->seen[i].digest, digest,
				  crypto_generichash_BYTES) == 0)
			hit = &a->seen[i];
	return hit;
}

static void seen_add(struct node_auth *a, const unsigned char *digest,
		     int32_t line)
{
	struct auth_seen *s = &a->seen[a->seen_next];
	a->seen_next = (a->seen_next + 1) % AUTH_CACHE;
	memcpy(s->digest, digest, sizeof s->digest);
	s->line = line;
	s->used = true;
}

/* ---- The slow check, off the loop ---- */

static void verify_run(uv_work_t *w)
{
	struct verify_job *j = w->data;
	j->line = AUTH_NO_MATCH;
	for (uint32_t i = 0; i < j->tokens->n; i++)
		if (crypto_pwhash_str_verify(j->tokens->v[i].hash, j->token,
					     j->len) == 0) {
			j->line = (int32_t)i;
			break;
		}
	sodium_memzero(j->token, sizeof j->token);
}

static void verify_next(struct node *n);

static void verify_done(uv_work_t *w, int status)
{
	struct verify_job *j = w->data;
	struct node *n = j->n;
	struct node_auth *a = n->auth;
	a->running = false;
	if (status == 0)
		seen_add(a, j->digest, j->line);
	j->cb(j->data, status == 0 ? j->line : AUTH_NO_MATCH);
	free(j);
	verify_next(n);
}

static void verify_next(struct node *n)
{
	struct node_auth *a = n->auth;
	struct verify_job *j = a->queue;
	if (a->running || j == NULL)
		return;
	a->queue = j->next;
	if (a->queue == NULL)
		a->queue_tail = NULL;
	j->work.data = j;
	if (uv_queue_work(n->loop, &j->work, verify_run, verify_done) != 0) {
		j->cb(j->data, AUTH_NO_MATCH);
		free(j);
		return;
	}
	a->running = true;
}

int32_t node_auth_token(struct node *n, const char *token, size_t len,
			node_auth_cb cb, void *data)
{
	struct node_auth *a = n->auth;
	assert(a != NULL && len > 0 && len <= TOKEN_TEXT_MAX);
	unsigned char digest[crypto_generichash_BYTES];
	crypto_generichash(digest, sizeof digest, (const unsigned char *)token,
			   len, a->key, sizeof a->key);
	const struct auth_seen *s = seen_find(a, digest);
	if (s != NULL)
		return s->line;
	struct verify_job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return AUTH_NO_MATCH; /* out of memory: not accepted */
	j->n = n;
	j->cb = cb;
	j->data = data;
	memcpy(j->digest, digest, sizeof j->digest);
	memcpy(j->token, token, len);
	j->len = len;
	j->tokens = &a->tokens;
	if (a->queue_tail)
		a->queue_tail->next = j;
	else
		a->queue = j;
	a->queue_tail = j;
	verify_next(n);
	return NODE_AUTH_PENDING;
}

/* An AUTH frame's slow check ended: answer it, let its connection go on. */
static void rpc_verified(void *data, int32_t line)
{
	struct node_req *req = data;
	auth_finish(req, line);
	rpc_server_release(&req->n->rpc, req->conn);
	free(req);
}

/* ---- AUTH ---- */

static void auth_secret(const struct node_req *req, const char *given)
{
	struct node *n = req->n;
	const char *secret = n->cfg.cluster_secret;
	if (secret[0] != '\0' && ct_str_equal(secret, given)) {
		rpc_server_set_tag(&n->rpc, req->conn, NODE_TAG_NODE);
		answer_principal(req, "node");
		return;
	}
	auth_refuse(req, "wrong cluster secret",
		    "the cluster secret given is not this node's ([auth] "
		    "cluster_secret)");
}

void node_handle_auth(const struct node_req *req, const void *in)
{
	const struct rpc_auth_req *q = in;
	struct node_auth *a = req->n->auth;
	if (a == NULL) {
		answer_principal(req, ""); /* auth off: everyone may */
		return;
	}
	if (q->secret != NULL) {
		auth_secret(req, q->secret);
		return;
	}
	size_t len = q->token ? strlen(q->token) : 0;
	if (len == 0 || len > TOKEN_TEXT_MAX) {
		rpc_server_set_tag(&req->n->rpc, req->conn, NODE_TAG_REFUSED);
		node_req_fail(req, RPC_INVALID_ARGUMENT, "token: %s",
			      len == 0 ? "missing or empty"
				       : "longer than 1024 bytes");
		return;
	}
	struct node_req *copy = malloc(sizeof *copy);
	if (copy == NULL) {
		node_req_oom(req);
		return;
	}
	*copy = *req;
	int32_t line =
	    node_auth_token(req->n, q->token, len, rpc_verified, copy);
	if (line != NODE_AUTH_PENDING) {
		free(copy);
		auth_finish(req, line);
		return;
	}
	/* The requests behind the AUTH wait for its result. */
	rpc_server_hold(&req->n->rpc, req->conn);
}
