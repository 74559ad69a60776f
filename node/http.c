/*
 * http.c — the node's HTTP server (http.h; docs/design/http.md).
 *
 * Happy path: accept on the node's loop → h2o parses HTTP/1.1 → on_req
 * picks the route by method and path → a JSON answer from the pool of the
 * request. h2o owns each connection's socket; we count them (the close
 * callback we give h2o) so that a stop knows when none is left and can
 * dispose of h2o's context, whose timers would otherwise keep the loop
 * alive. h2o closes an idle keep-alive connection after
 * NODE_HTTP_IDLE_MS and refuses bodies over NODE_HTTP_BODY_MAX (413)
 * itself.
 */
#include <h2o.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "call.h"
#include "console.h"
#include "http.h"
#include "http_int.h"

#define WAIT_POLL_MS 10

struct http_handler {
	h2o_handler_t super; /* first: h2o hands it back */
	struct node *n;
};

struct node_http {
	struct node *n;
	h2o_globalconf_t conf;
	h2o_context_t ctx;
	h2o_accept_ctx_t actx;
	uv_tcp_t listener;
	uv_timer_t wait; /* a stop waiting for the connections to end */
	int conns;
	uint64_t refused;	    /* closed over the limit, not yet logged */
	uint64_t refused_logged_at; /* uv_now of the last such line */
	bool ctx_live;
};

/* ---- Answers ---- */

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Internal Server Error";
	}
}

int http_answer_json(h2o_req_t *req, int status, json_t *body)
{
	char *text =
	    body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	if (text == NULL) {
		h2o_send_error_500(req, "Internal Server Error",
				   "out of memory\n", 0);
		return 0;
	}
	size_t len = strlen(text);
	h2o_iovec_t copy = h2o_strdup(&req->pool, text, len);
	free(text);
	req->res.status = status;
	req->res.reason = reason_of(status);
	req->res.content_length = copy.len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
		       NULL, H2O_STRLIT("application/json"));
	h2o_send_inline(req, copy.base, copy.len);
	return 0;
}

/* An ApsaraMQ-style request id: 8-4-4-4-12 upper-case hex digits. */
static void request_id(char out[37])
{
	unsigned char b[16];
	randombytes_buf(b, sizeof b);
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02X", b[i]);
	}
}

int http_answer_error(h2o_req_t *req, enum http_shape shape, int status,
		      const char *code, const char *msg)
{
	char ec[64];
	snprintf(ec, sizeof ec, "RAFTQ.%s", code);
	if (shape == HTTP_SHAPE_RAFTQ)
		return http_answer_json(
		    req, status,
		    json_pack("{s:s,s:s}", "error_code", ec, "error_msg", msg));
	char id[37];
	request_id(id);
	return http_answer_json(req, status,
				json_pack("{s:s,s:b,s:s,s:s,s:i,s:n}",
					  "requestId", id, "success", 0, "code",
					  ec, "message", msg, "httpStatusCode",
					  status, "data"));
}

int http_answer_alibaba(h2o_req_t *req, json_t *data)
{
	char id[37];
	request_id(id);
	return http_answer_json(req, 200,
				json_pack("{s:s,s:b,s:s,s:s,s:i,s:o}",
					  "requestId", id, "success", 1, "code",
					  "Success", "message", "",
					  "httpStatusCode", 200, "data", data));
}

int http_status_of(uint32_t code)
{
	switch (code) {
	case RPC_OK:
		return 200;
	case RPC_INVALID_ARGUMENT:
	case RPC_BROADCAST_UNSUPPORTED:
	case RPC_UNSUPPORTED_VERSION:
		return 400;
	case RPC_FORBIDDEN:
		return 403;
	case RPC_UNKNOWN_GROUP:
	case RPC_UNKNOWN_TOPIC:
		return 404;
	case RPC_GROUP_ACTIVE:
	case RPC_STALE_EPOCH:
	case RPC_OFFSET_MOVED:
		return 409;
	case RPC_UNAVAILABLE:
	case RPC_NOT_LEADER:
		return 503;
	case RPC_TIMEOUT:
		return 504;
	default:
		return 500;
	}
}

/* ---- Probes and metrics ---- */

static int get_healthz(struct node *n, h2o_req_t *req,
		       const struct http_route *r, uint32_t tag)
{
	(void)r, (void)tag;
	return http_answer_json(req, 200,
				json_pack("{s:s,s:I}", "status", "ok",
					  "node_id", (json_int_t)n->cfg.id));
}

static int get_readyz(struct node *n, h2o_req_t *req,
		      const struct http_route *r, uint32_t tag)
{
	(void)r, (void)tag;
	if (node_is_current(n))
		return http_answer_json(req, 200,
					json_pack("{s:s,s:I}", "status",
						  "ready", "node_id",
						  (json_int_t)n->cfg.id));
	char why[256];
	node_lease_explain(n, why, sizeof why);
	return http_answer_json(
	    req, 503,
	    json_pack("{s:s,s:I,s:s}", "status", "not ready", "node_id",
		      (json_int_t)n->cfg.id, "reason", why));
}

/* The request pool's destructor of a rendered metrics text. */
static void free_metrics_text(void *p)
{
	free(*(char **)p);
}

/* The text is sent as rendered, freed with the request: with 10^6 offset
 * keys it is 57 MB, and copying it into the pool (and again by
 * h2o_send_inline) held three copies at once. */
static int get_metrics(struct node *n, h2o_req_t *req,
		       const struct http_route *r, uint32_t tag)
{
	(void)r, (void)tag;
	size_t len = 0;
	char *text = node_metrics_render(n, &len);
	if (text == NULL)
		return http_answer_error(req, HTTP_SHAPE_RAFTQ, 500, "INTERNAL",
					 "out of memory");
	char **hold =
	    h2o_mem_alloc_shared(&req->pool, sizeof *hold, free_metrics_text);
	*hold = text;
	req->res.status = 200;
	req->res.reason = "OK";
	req->res.content_length = len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
		       NULL, H2O_STRLIT("text/plain; version=0.0.4"));
	static h2o_generator_t once = {NULL, NULL}; /* one final send */
	h2o_start_response(req, &once);
	h2o_iovec_t body = h2o_iovec_init(text, len);
	h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
	return 0;
}

/* The console's static files (console/, embedded at build time). */
static int get_console(struct node *n, h2o_req_t *req,
		       const struct http_route *r, uint32_t tag)
{
	(void)n, (void)tag;
	const char *path =
	    strcmp(r->pattern, "/") == 0 ? "/index.html" : r->pattern;
	for (size_t i = 0; i < console_nfiles; i++) {
		const struct console_file *f = &console_files[i];
		if (strcmp(f->path, path) != 0)
			continue;
		req->res.status = 200;
		req->res.reason = "OK";
		req->res.content_length = f->len;
		h2o_add_header(&req->pool, &req->res.headers,
			       H2O_TOKEN_CONTENT_TYPE, NULL, f->content_type,
			       strlen(f->content_type));
		h2o_add_header(&req->pool, &req->res.headers,
			       H2O_TOKEN_CACHE_CONTROL, NULL,
			       H2O_STRLIT("no-cache"));
		h2o_add_header_by_str(
		    &req->pool, &req->res.headers,
		    H2O_STRLIT("content-security-policy"), 0, NULL,
		    H2O_STRLIT("default-src 'self'; img-src 'self' data:"));
		h2o_send_inline(req, (const char *)f->data, f->len);
		return 0;
	}
	assert(!"a console route without its file");
	return http_answer_error(req, HTTP_SHAPE_RAFTQ, 500, "INTERNAL",
				 "console file missing");
}

static const struct http_route probes[] = {
    {"GET", "/", get_console, true, HTTP_SHAPE_RAFTQ, 0, NULL, NULL},
    {"GET", "/index.html", get_console, true, HTTP_SHAPE_RAFTQ, 0, NULL, NULL},
    {"GET", "/console.js", get_console, true, HTTP_SHAPE_RAFTQ, 0, NULL, NULL},
    {"GET", "/console.css", get_console, true, HTTP_SHAPE_RAFTQ, 0, NULL, NULL},
    {"GET", "/healthz", get_healthz, true, HTTP_SHAPE_RAFTQ, 0, NULL, NULL},
    {"GET", "/readyz", get_readyz, true, HTTP_SHAPE_RAFTQ, 0, NULL, NULL},
    {"GET", "/metrics", get_metrics, false, HTTP_SHAPE_RAFTQ, 0, NULL, NULL},
};

/* ---- Authorization: Bearer (DESIGN.md §6.2) ---- */

/* A request waiting for its token's slow check; freed by the later of
 * the check's end and the request's end (the client may go first). */
struct http_ticket {
	h2o_req_t *req; /* NULL once h2o disposed of the request */
	struct node *n;
	const struct http_route *route;
	int refs;
};

static int forbidden(h2o_req_t *req, const struct http_route *r,
		     const char *msg)
{
	h2o_add_header(&req->pool, &req->res.headers,
		       H2O_TOKEN_WWW_AUTHENTICATE, NULL,
		       H2O_STRLIT("Bearer realm=\"raftq\""));
	return http_answer_error(req, r->shape, 403, "FORBIDDEN", msg);
}

/* Serves @r for a token of line @line (or NODE_AUTH_NO_MATCH). */
static int serve_authorized(struct node *n, h2o_req_t *req,
			    const struct http_route *r, int32_t line)
{
	if (line < 0)
		return forbidden(req, r, NODE_AUTH_NOT_ACCEPTED);
	return r->serve(n, req, r, NODE_TAG_TOKEN0 + (uint32_t)line);
}

static void ticket_unref(struct http_ticket *t)
{
	assert(t->refs > 0);
	if (--t->refs == 0)
		free(t);
}

static void on_req_gone(void *p)
{
	struct http_ticket *t = *(struct http_ticket **)p;
	t->req = NULL;
	ticket_unref(t);
}

static void on_verified(void *data, int32_t line)
{
	struct http_ticket *t = data;
	if (t->req != NULL)
		serve_authorized(t->n, t->req, t->route, line);
	ticket_unref(t);
}

bool http_bearer(h2o_req_t *req, const char **tok, size_t *len)
{
	ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	if (i < 0)
		return false;
	const h2o_iovec_t *v = &req->headers.entries[i].value;
	if (v->len <= 7 || !h2o_lcstris(v->base, 7, H2O_STRLIT("bearer ")))
		return false;
	*tok = v->base + 7;
	*len = v->len - 7;
	return true;
}

/* Serves @r once @req's token is checked (now or after the slow check). */
static int serve_checked(struct node *n, h2o_req_t *req,
			 const struct http_route *r)
{
	const char *tok;
	size_t len;
	if (!http_bearer(req, &tok, &len) || len > TOKEN_TEXT_MAX)
		return forbidden(req, r,
				 "authentication required: this node has "
				 "[auth] tokens_file; send "
				 "Authorization: Bearer TOKEN");
	struct http_ticket *t = malloc(sizeof *t);
	if (t == NULL)
		return http_answer_error(req, r->shape, 500, "INTERNAL",
					 "out of memory");
	*t = (struct http_ticket){req, n, r, 2};
	int32_t line = node_auth_token(n, tok, len, on_verified, t);
	if (line != NODE_AUTH_PENDING) {
		free(t);
		return serve_authorized(n, req, r, line);
	}
	struct http_ticket **link =
	    h2o_mem_alloc_shared(&req->pool, sizeof *link, on_req_gone);
	*link = t;
	return 0; /* answered from on_verified */
}

/* ---- Routing ---- */

/* Whether @path matches @pattern ("*" matches one non-empty segment). */
static bool path_matches(const char *pattern, const h2o_iovec_t *path)
{
	const char *p = pattern, *s = path->base, *end = s + path->len;
	while (*p != '\0' && s < end) {
		if (*p == '*') {
			const char *slash = memchr(s, '/', (size_t)(end - s));
			const char *seg_end = slash ? slash : end;
			if (seg_end == s)
				return false;
			s = seg_end;
			p++;
		} else if (*p++ != *s++) {
			return false;
		}
	}
	return *p == '\0' && s == end;
}

/* The route for @req, or NULL; *path_known says some route has its path
 * (another method: 405), with their methods in @allow. */
static const struct http_route *route_of(h2o_req_t *req, bool *path_known,
					 char *allow, size_t allowlen)
{
	const struct http_route *tables[] = {probes, http_api_routes};
	size_t sizes[] = {sizeof probes / sizeof probes[0], http_api_nroutes};
	*path_known = false;
	allow[0] = '\0';
	for (size_t t = 0; t < 2; t++)
		for (size_t i = 0; i < sizes[t]; i++) {
			const struct http_route *r = &tables[t][i];
			if (!path_matches(r->pattern, &req->path_normalized))
				continue;
			if (h2o_memis(req->method.base, req->method.len,
				      r->method, strlen(r->method)))
				return r;
			*path_known = true;
			snprintf(allow + strlen(allow),
				 allowlen - strlen(allow), "%s%s",
				 allow[0] ? ", " : "", r->method);
		}
	return NULL;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct node *n = ((struct http_handler *)self)->n;
	const h2o_iovec_t *p = &req->path_normalized;
	bool known;
	char allow[64], msg[300];
	const struct http_route *r = route_of(req, &known, allow, sizeof allow);
	if (r == NULL && known) {
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW,
			       NULL, allow, strlen(allow));
		snprintf(msg, sizeof msg, "this path takes %s", allow);
		return http_answer_error(req, HTTP_SHAPE_RAFTQ, 405,
					 "METHOD_NOT_ALLOWED", msg);
	}
	if (r == NULL) {
		snprintf(msg, sizeof msg, "no such path: %.*s",
			 (int)(p->len < 200 ? p->len : 200), p->base);
		return http_answer_error(req, HTTP_SHAPE_RAFTQ, 404,
					 "NOT_FOUND", msg);
	}
	if (r->open || !node_auth_on(n))
		return r->serve(n, req, r, NODE_TAG_ANON);
	return serve_checked(n, req, r);
}

/* ---- Connections ---- */

/* One accepted connection's handle: h2o takes its data field over, so the
 * server is found through this struct instead. */
struct http_conn {
	uv_tcp_t tcp; /* first: the close callback gets its address */
	struct node_http *s;
};

static void on_conn_closed(uv_handle_t *h)
{
	struct http_conn *c = (struct http_conn *)h;
	assert(c->s->conns > 0);
	c->s->conns--;
	free(c);
}

/* Logs connections closed over NODE_HTTP_MAX_CONNS: the first, then at
 * most one line per NODE_HTTP_IDLE_MS with the count (a flood must not
 * flood the log). */
static void refuse_conn(struct node_http *s)
{
	uint64_t now = uv_now(s->n->loop);
	s->refused++;
	if (s->refused_logged_at != 0 &&
	    now - s->refused_logged_at < NODE_HTTP_IDLE_MS)
		return;
	NODE_LOG(NODE_WARN, "http",
		 "%llu HTTP connection(s) closed as they arrived: %d HTTP "
		 "connections open at once (NODE_HTTP_MAX_CONNS)",
		 (unsigned long long)s->refused, NODE_HTTP_MAX_CONNS);
	s->refused = 0;
	s->refused_logged_at = now;
}

static void on_accept(uv_stream_t *l, int status)
{
	struct node_http *s = l->data;
	if (status != 0)
		return;
	struct http_conn *c = malloc(sizeof *c);
	if (c == NULL || uv_tcp_init(l->loop, &c->tcp) != 0) {
		free(c);
		return;
	}
	c->s = s;
	s->conns++;
	if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
		return;
	}
	if (s->conns > NODE_HTTP_MAX_CONNS) {
		refuse_conn(s);
		uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
		return;
	}
	h2o_socket_t *sock =
	    h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
	h2o_accept(&s->actx, sock);
}

/* ---- Start and stop ---- */

static void config_init(struct node_http *s)
{
	h2o_config_init(&s->conf);
	s->conf.server_name = h2o_iovec_init(H2O_STRLIT("raftq"));
	s->conf.max_request_entity_size = NODE_HTTP_BODY_MAX;
	s->conf.http1.req_timeout = NODE_HTTP_IDLE_MS;
	h2o_hostconf_t *host = h2o_config_register_host(
	    &s->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
	struct http_handler *h =
	    (struct http_handler *)h2o_create_handler(path, sizeof *h);
	h->super.on_req = on_req;
	h->n = s->n;
}

/* Binds and listens on @address: 0 or a libuv error. */
static int listen_on(struct node_http *s, uv_loop_t *loop, const char *address)
{
	struct sockaddr_storage ss;
	if (rpc_addr_parse(address, &ss) != 0)
		return UV_EINVAL;
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	int rv = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&s->listener, NODE_HTTP_BACKLOG,
			       on_accept);
	return rv;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct node_http *s = h->data;
	s->n->handles_open--;
}

int node_http_start(struct node *n, char *err, size_t errlen)
{
	if (n->cfg.http_listen[0] == '\0')
		return 0;
	struct node_http *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "http_listen: out of memory");
		return -1;
	}
	s->n = n;
	n->http = s;
	config_init(s);
	h2o_context_init(&s->ctx, n->loop, &s->conf);
	s->ctx_live = true;
	s->actx.ctx = &s->ctx;
	s->actx.hosts = s->conf.hosts;
	uv_timer_init(n->loop, &s->wait);
	s->wait.data = s;
	int rv = listen_on(s, n->loop, n->cfg.http_listen);
	if (rv != 0) {
		snprintf(err, errlen, "http_listen %s: %s", n->cfg.http_listen,
			 uv_strerror(rv));
		return -1;
	}
	NODE_LOG(NODE_INFO, "http", "serving HTTP on %s", n->cfg.http_listen);
	return 0;
}

static void on_wait(uv_timer_t *t)
{
	struct node_http *s = t->data;
	if (s->conns > 0) {
		/* h2o closes idle ones within NODE_HTTP_IDLE_MS; a request
		 * still waiting for the request table once raft is closed
		 * will get no other answer. */
		if (s->n->phase == NODE_STOPPED)
			node_calls_cancel(s->n);
		return;
	}
	uv_close((uv_handle_t *)&s->wait, on_listener_closed);
	h2o_context_dispose(&s->ctx);
	s->ctx_live = false;
}

void node_http_stop(struct node *n)
{
	struct node_http *s = n->http;
	if (s == NULL || uv_is_closing((uv_handle_t *)&s->listener))
		return;
	n->handles_open += 2; /* the listener and the wait timer */
	uv_close((uv_handle_t *)&s->listener, on_listener_closed);
	uv_timer_start(&s->wait, on_wait, 0, WAIT_POLL_MS);
}

void node_http_free(struct node *n)
{
	struct node_http *s = n->http;
	if (s == NULL)
		return;
	assert(!s->ctx_live && s->conns == 0); /* stopped, loop ended */
	h2o_config_dispose(&s->conf);
	free(s);
	n->http = NULL;
}
