/*
 * http_int.h — inside the node's HTTP server (http.c, http_api.c): the
 * route table's row and the answers every route shares. node/ only.
 */
#ifndef RAFTQ_NODE_HTTP_INT_H
#define RAFTQ_NODE_HTTP_INT_H

#include <h2o.h>
#include <jansson.h>

#include "node_int.h"

/* The error shape of a route's answers (DESIGN.md §6.1). */
enum http_shape {
	HTTP_SHAPE_RAFTQ,   /* {"error_code":"RAFTQ.CODE","error_msg"} */
	HTTP_SHAPE_ALIBABA, /* {"requestId","success":false,"code",...} */
};

struct http_route;
struct http_api_in;
/* Serves @req on @r for the sender @tag (auth.h: a token's line, or
 * NODE_TAG_ANON with [auth] off); answers now or later. Returns 0. */
typedef int (*http_serve_fn)(struct node *n, h2o_req_t *req,
			     const struct http_route *r, uint32_t tag);

struct http_route {
	const char *method;  /* "GET", "POST", "PATCH" */
	const char *pattern; /* a path; "*" stands for one segment */
	http_serve_fn serve;
	bool open; /* served without a token even with [auth] on */
	enum http_shape shape;
	uint16_t type; /* http_api.c: the request type it makes */
	/* http_api.c: the request struct from the path's segments and the
	 * body (0, or -1 with *status and the message set), and the 200
	 * answer from the response struct. */
	int (*build)(struct http_api_in *in);
	json_t *(*render)(const void *resp);
};

/* The routes of http_api.c (the seeds' endpoints and /api/v1). */
extern const struct http_route http_api_routes[];
extern const size_t http_api_nroutes;
/* Serves an http_api_routes row (its http_serve_fn). */
int http_api_serve(struct node *n, h2o_req_t *req, const struct http_route *r,
		   uint32_t tag);

/* Answers @status with JSON @body (taken; NULL: out of memory). */
int http_answer_json(h2o_req_t *req, int status, json_t *body);
/* Answers @status with the error shape @shape: code "RAFTQ.@code". */
int http_answer_error(h2o_req_t *req, enum http_shape shape, int status,
		      const char *code, const char *msg);
/* The ApsaraMQ success envelope around @data (taken). */
int http_answer_alibaba(h2o_req_t *req, json_t *data);
/* The bearer token of @req into @tok/@len: false when there is none. */
bool http_bearer(h2o_req_t *req, const char **tok, size_t *len);
/* The HTTP status of wire code @code (DESIGN.md §6.1). */
int http_status_of(uint32_t code);

#endif /* RAFTQ_NODE_HTTP_INT_H */
