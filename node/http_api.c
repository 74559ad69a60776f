/*
 * http_api.c — the HTTP API (DESIGN.md §6.1; docs/http-api.md): the
 * Huawei DMS and ApsaraMQ reset endpoints and /api/v1.
 *
 * Each route makes one request of the request table: build its struct
 * from the path and the body → node_call_start (call.h: same checks,
 * permissions and handlers as an RPC frame; a follower sends it on to
 * the leader) → the answer frame decoded → 200 with the route's JSON, or
 * the route's error shape with the HTTP status of the wire code.
 *
 * A request in flight is a struct api_op, freed by the later of the
 * call's end and h2o's end of the request (a client may hang up first).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "call.h"
#include "http_body.h"
#include "http_int.h"
#include "request.h"
#include "rpc_json.h"

#define API_SEGS 4

/* What a route's build step works with. */
struct http_api_in {
	struct node *n;
	h2o_req_t *req;
	const char *seg[API_SEGS]; /* the path's "*" segments, decoded */
	const char *said;	   /* the history's "requester" text */
	struct node_req_in body;   /* the request struct */
	struct http_reset reset;   /* a parsed reset body, kept until sent */
	int status;		   /* a refusal: HTTP status, code, why */
	const char *code;
	char why[512];
};

struct api_op {
	struct node_call call; /* its data is this op */
	h2o_req_t *req;	       /* NULL once h2o disposed of the request */
	const struct http_route *route;
	int refs;
};

/* ---- Answers ---- */

static int refuse(struct http_api_in *in, int status, const char *code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(struct http_api_in *in, int status, const char *code,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(in->why, sizeof in->why, fmt, ap);
	va_end(ap);
	in->status = status;
	in->code = code;
	return -1;
}

/* Answers @req from the response frame @f of route @r. */
static void answer_frame(h2o_req_t *req, const struct http_route *r,
			 struct rpc_frame *f)
{
	struct node_req_in out;
	struct rpc_status st;
	if (rpc_decode(f, (uint16_t)(r->type | RPC_RESPONSE), out.b, &st,
		       NULL) != 0) {
		http_answer_error(req, r->shape, 500, "INTERNAL",
				  "the answer could not be read");
		return;
	}
	if (st.code != RPC_OK) {
		const char *name = rpc_code_name(st.code);
		http_answer_error(req, r->shape, http_status_of(st.code),
				  name ? name : "INTERNAL",
				  st.message ? st.message : "(no message)");
		return;
	}
	json_t *j = r->render(out.b);
	if (r->shape == HTTP_SHAPE_ALIBABA)
		http_answer_alibaba(req, j);
	else
		http_answer_json(req, 200, j);
}

static void op_unref(struct api_op *op)
{
	assert(op->refs > 0);
	if (--op->refs == 0)
		free(op);
}

static void on_op_gone(void *p)
{
	struct api_op *op = *(struct api_op **)p;
	op->req = NULL;
	op_unref(op);
}

static void on_answer(struct node_call *c, int status, struct rpc_frame *f)
{
	struct api_op *op = c->data;
	if (op->req == NULL) {
		op_unref(op);
		return;
	}
	const struct http_route *r = op->route;
	if (status == 0)
		answer_frame(op->req, r, f);
	else if (status == RPC_ETIMEDOUT || status == RPC_ECLOSED)
		http_answer_error(op->req, r->shape, 503, "UNAVAILABLE",
				  "the leader did not answer in time: the "
				  "request was sent, check its outcome "
				  "before retrying");
	else
		http_answer_error(op->req, r->shape, 503, "UNAVAILABLE",
				  status == RPC_ECANCELED
				      ? "this node is stopping; retry on "
					"another node"
				      : "the leader could not be reached; "
					"retry");
	op_unref(op);
}

/* ---- Serving a route ---- */

/* Copies the "*" segments of @req's path into @in (pool strings). */
static void segments(struct http_api_in *in, const char *pattern)
{
	const h2o_iovec_t *path = &in->req->path_normalized;
	const char *s = path->base, *end = s + path->len;
	int k = 0;
	for (const char *p = pattern; *p != '\0' && s < end; p++) {
		if (*p != '*') {
			s++;
			continue;
		}
		const char *slash = memchr(s, '/', (size_t)(end - s));
		size_t len = (size_t)((slash ? slash : end) - s);
		if (k < API_SEGS)
			in->seg[k++] = h2o_strdup(&in->req->pool, s, len).base;
		s += len;
	}
}

/* "PRINCIPAL from ADDR over HTTP" (history's requester, as sent on). */
static const char *said_of(struct node *n, h2o_req_t *req, uint32_t tag,
			   const char *peer)
{
	const struct tokens_entry *e =
	    tag >= NODE_TAG_TOKEN0 ? node_auth_entry(n, tag) : NULL;
	char text[RSM_TEXT_MAX + 1];
	snprintf(text, sizeof text, "%s%shttp from %s", e ? e->name : "",
		 e ? " over " : "", peer);
	return h2o_strdup(&req->pool, text, SIZE_MAX).base;
}

/* The client's "IP:PORT". */
static void peer_of(h2o_req_t *req, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = req->conn->callbacks->get_peername(
	    req->conn, (struct sockaddr *)&ss);
	char host[64];
	int32_t port = h2o_socket_getport((struct sockaddr *)&ss);
	if (sl == 0 || h2o_socket_getnumerichost((struct sockaddr *)&ss, sl,
						 host) == SIZE_MAX)
		snprintf(out, len, "?");
	else if (ss.ss_family == AF_INET6)
		snprintf(out, len, "[%s]:%d", host, (int)port);
	else
		snprintf(out, len, "%s:%d", host, (int)port);
}

/* Starts the call of @in for route @r. */
static int start(struct http_api_in *in, const struct http_route *r,
		 uint32_t tag, const char *peer)
{
	struct node_call_from from = {tag, peer, NULL, 0};
	if (tag >= NODE_TAG_TOKEN0 &&
	    !http_bearer(in->req, &from.token, &from.token_len))
		assert(!"a token's line without a bearer token");
	struct api_op *op = malloc(sizeof *op);
	if (op == NULL)
		return http_answer_error(in->req, r->shape, 500, "INTERNAL",
					 "out of memory");
	*op = (struct api_op){.req = in->req, .route = r, .refs = 2};
	op->call.data = op;
	int rv = node_call_start(in->n, &op->call, r->type, in->body.b, &from,
				 on_answer);
	if (rv != 0) {
		free(op);
		return http_answer_error(in->req, r->shape, 400,
					 "INVALID_ARGUMENT", rpc_strerror(rv));
	}
	struct api_op **link =
	    h2o_mem_alloc_shared(&in->req->pool, sizeof *link, on_op_gone);
	*link = op;
	return 0;
}

int http_api_serve(struct node *n, h2o_req_t *req, const struct http_route *r,
		   uint32_t tag)
{
	struct http_api_in *in = calloc(1, sizeof *in);
	if (in == NULL)
		return http_answer_error(req, r->shape, 500, "INTERNAL",
					 "out of memory");
	char peer[80];
	peer_of(req, peer, sizeof peer);
	in->n = n;
	in->req = req;
	in->said = said_of(n, req, tag, peer);
	segments(in, r->pattern);
	if (r->build(in) != 0)
		http_answer_error(req, r->shape, in->status, in->code, in->why);
	else
		start(in, r, tag, peer);
	http_reset_free(&in->reset);
	free(in);
	return 0;
}

/* ---- Building requests ---- */

/* The body of @in's request (NULL-safe: h2o's entity). */
static const char *body_of(struct http_api_in *in, size_t *len)
{
	*len = in->req->entity.len;
	return in->req->entity.base ? in->req->entity.base : "";
}

/* Whether the instance id in the path is this cluster's (404 if not). */
static bool our_instance(struct http_api_in *in, const char *id)
{
	if (strcmp(id, in->n->cfg.cluster_name) == 0)
		return true;
	refuse(in, 404, "UNKNOWN_INSTANCE",
	       "instance '%.128s' does not exist: this cluster's name is "
	       "'%s' ([node] cluster_name)",
	       id, in->n->cfg.cluster_name);
	return false;
}

/* A parsed reset body becomes the request (or a 400 naming why). */
static int reset_parsed(struct http_api_in *in, int rv, const char *why)
{
	if (rv != 0)
		return refuse(in, 400, "INVALID_ARGUMENT", "%s", why);
	in->reset.req.requester = in->said;
	memcpy(in->body.b, &in->reset.req, sizeof in->reset.req);
	return 0;
}

/* POST /v2/{engine}/{project_id}/instances/{instance_id}/groups/{group}/
 * reset-message-offset */
static int build_huawei(struct http_api_in *in)
{
	size_t len;
	const char *body = body_of(in, &len);
	char why[400];
	if (strcmp(in->seg[0], "rocketmq") != 0 &&
	    strcmp(in->seg[0], "reliability") != 0)
		return refuse(in, 404, "UNKNOWN_ENGINE",
			      "engine '%.64s' is not served: use rocketmq "
			      "or reliability",
			      in->seg[0]);
	if (!our_instance(in, in->seg[2]))
		return -1;
	int rv = http_body_huawei(body, len, in->seg[3], &in->reset, why,
				  sizeof why);
	return reset_parsed(in, rv, why);
}

static json_t *render_huawei(const void *resp)
{
	const struct rpc_reset_resp *x = resp;
	const struct rpc_reset_topic *t = x->topics.v;
	return json_pack("{s:o}", "queues",
			 rpc_json_reset_queues(&t[0].queues));
}

/* PATCH /instances/{instanceId}/consumerGroups/{group}/consumeOffsets/
 * {topic} */
static int build_alibaba(struct http_api_in *in)
{
	size_t len;
	const char *body = body_of(in, &len);
	char why[400];
	if (!our_instance(in, in->seg[0]))
		return -1;
	int rv = http_body_alibaba(body, len, in->seg[1], in->seg[2],
				   &in->reset, why, sizeof why);
	return reset_parsed(in, rv, why);
}

static json_t *render_alibaba(const void *resp)
{
	return render_huawei(resp); /* data: {"queues":[...]} */
}

/* POST /api/v1/groups/{group}/reset */
static int build_reset(struct http_api_in *in)
{
	size_t len;
	const char *body = body_of(in, &len);
	char why[400];
	int rv =
	    http_body_reset(body, len, in->seg[0], &in->reset, why, sizeof why);
	return reset_parsed(in, rv, why);
}

static json_t *render_reset(const void *resp)
{
	return rpc_json_reset(resp);
}

/* Requests without a body: GET /api/v1/cluster, topics, groups. */
static int build_nothing(struct http_api_in *in)
{
	(void)in; /* the body struct is zeroed: every field absent */
	return 0;
}

/* The one segment (a topic or a group name) as the request's string. */
static int build_name(struct http_api_in *in)
{
	memcpy(in->body.b, &in->seg[0], sizeof in->seg[0]);
	return 0;
}

/* GET /api/v1/groups/{group}/history?topic=T */
static int build_history(struct http_api_in *in)
{
	struct rpc_history_req *h = (struct rpc_history_req *)in->body.b;
	h->group = in->seg[0];
	const h2o_iovec_t *path = &in->req->path;
	if (in->req->query_at == SIZE_MAX)
		return refuse(in, 400, "INVALID_ARGUMENT",
			      "the history is per topic: add ?topic=T");
	const char *q = path->base + in->req->query_at + 1;
	size_t qlen = path->len - in->req->query_at - 1;
	if (qlen <= 6 || memcmp(q, "topic=", 6) != 0 ||
	    memchr(q, '&', qlen) != NULL)
		return refuse(in, 400, "INVALID_ARGUMENT",
			      "the only query parameter is topic=T");
	h->topic = h2o_strdup(&in->req->pool, q + 6, qlen - 6).base;
	return 0;
}

/* POST /api/v1/resets/{id}/undo */
static int build_undo(struct http_api_in *in)
{
	struct rpc_undo_req *u = (struct rpc_undo_req *)in->body.b;
	const char *id = in->seg[0];
	if (strlen(id) > 19 || strspn(id, "0123456789") != strlen(id) ||
	    (u->reset_id = strtoull(id, NULL, 10)) == 0)
		return refuse(in, 400, "INVALID_ARGUMENT",
			      "'%.64s' is not a reset id (a number from "
			      "the history)",
			      id);
	u->requester = in->said;
	return 0;
}

static json_t *render_status(const void *resp)
{
	return rpc_json_status(resp);
}

static json_t *render_topics(const void *resp)
{
	return rpc_json_names("topics", resp);
}

static json_t *render_groups(const void *resp)
{
	return rpc_json_names("groups", resp);
}

static json_t *render_topic(const void *resp)
{
	return rpc_json_topic(resp);
}

static json_t *render_group(const void *resp)
{
	return rpc_json_group(resp);
}

static json_t *render_history(const void *resp)
{
	return rpc_json_history(resp);
}

#define API(method, pattern, shape, type, build, render)                    \
	{                                                                   \
		method, pattern, http_api_serve, false, shape, type, build, \
		    render                                                  \
	}

const struct http_route http_api_routes[] = {
    API("POST", "/v2/*/*/instances/*/groups/*/reset-message-offset",
	HTTP_SHAPE_RAFTQ, RPC_RESET, build_huawei, render_huawei),
    API("PATCH", "/instances/*/consumerGroups/*/consumeOffsets/*",
	HTTP_SHAPE_ALIBABA, RPC_RESET, build_alibaba, render_alibaba),
    API("GET", "/api/v1/cluster", HTTP_SHAPE_RAFTQ, RPC_CLUSTER_STATUS,
	build_nothing, render_status),
    API("GET", "/api/v1/topics", HTTP_SHAPE_RAFTQ, RPC_TOPIC_LIST,
	build_nothing, render_topics),
    API("GET", "/api/v1/topics/*", HTTP_SHAPE_RAFTQ, RPC_TOPIC_DESCRIBE,
	build_name, render_topic),
    API("GET", "/api/v1/groups", HTTP_SHAPE_RAFTQ, RPC_GROUP_LIST,
	build_nothing, render_groups),
    API("GET", "/api/v1/groups/*", HTTP_SHAPE_RAFTQ, RPC_GROUP_DESCRIBE,
	build_name, render_group),
    API("POST", "/api/v1/groups/*/reset", HTTP_SHAPE_RAFTQ, RPC_RESET,
	build_reset, render_reset),
    API("GET", "/api/v1/groups/*/history", HTTP_SHAPE_RAFTQ, RPC_HISTORY,
	build_history, render_history),
    API("POST", "/api/v1/resets/*/undo", HTTP_SHAPE_RAFTQ, RPC_UNDO, build_undo,
	render_reset),
};
const size_t http_api_nroutes =
    sizeof http_api_routes / sizeof http_api_routes[0];
