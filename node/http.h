/*
 * http.h — the HTTP server of a node ([node] http_listen, DESIGN.md §6.1;
 * docs/design/http.md). node/ only. Debian's libh2o (HTTP/1.1 on the
 * node's own libuv loop); JSON with jansson.
 *
 * Served today: GET /healthz (the process answers), GET /readyz (this
 * node's state is current: lease.c), and the error shape of every other
 * path. The seeds' reset endpoints, /api/v1, /metrics and the console
 * come next (issue 14).
 */
#ifndef RAFTQ_NODE_HTTP_H
#define RAFTQ_NODE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct node;

/* An idle keep-alive connection (or one sending its request slowly) is
 * closed after this long; a stopping node waits at most this for them. */
#define NODE_HTTP_IDLE_MS 2000
/* Connections waiting to be accepted (a burst of clients is not made to
 * retry its SYN a second later). */
#define NODE_HTTP_BACKLOG 1024
/* HTTP connections open at once: one more is closed as it arrives
 * (logged), so HTTP clients cannot take the file descriptors the RPC and
 * Raft ports need. */
#define NODE_HTTP_MAX_CONNS 256
/* Request bodies larger than this are refused (413). */
#define NODE_HTTP_BODY_MAX (1u << 20)

/* Listens on [node] http_listen when it is set: 0, or -1 with the reason
 * in @err ("http_listen 127.0.0.1:80: address in use"). */
int node_http_start(struct node *n, char *err, size_t errlen);
/* Stops accepting; open connections end once their answer is written or
 * they have been idle NODE_HTTP_IDLE_MS; then the server lets the loop
 * end (its handles count in n->handles_open until then). */
void node_http_stop(struct node *n);
/* Frees what is left once the loop has ended. */
void node_http_free(struct node *n);

#endif /* RAFTQ_NODE_HTTP_H */
