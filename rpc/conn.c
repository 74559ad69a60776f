/*
 * conn.c — libuv connections for the rpc protocol: a server that accepts
 * and dispatches requests, and a client that sends requests and matches
 * responses.
 *
 * Happy path (server): accept → read into the frame reader → on_request
 * per frame → replies queued with rpc_server_send → one uv_write per
 * connection per loop turn (flushed from a uv_check handle).
 * Happy path (client): request → connect if needed → frames queued →
 * flushed per loop turn → response matched by request id → callback.
 *
 * Failure modes: a malformed or oversized frame closes that one connection
 * (reported through on_event, never the process); a wrong protocol version
 * gets an UNSUPPORTED_VERSION answer, then the connection is closed; output
 * above max_pending pauses reading from that peer until it drains; a
 * client call fails with RPC_ECONNECT, RPC_ECLOSED, RPC_ETIMEDOUT or
 * RPC_ECANCELED, exactly once; reconnects back off from 50 ms to 2 s.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/list.h"
#include "rpc.h"

#define READ_BUF (64u << 10)
#define TICK_MS 10
#define DEFAULT_MAX_PENDING ((size_t)64 << 20)
#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_MAX_BUFFERED ((size_t)96 << 20)
#define DEFAULT_MAX_UNSENT ((size_t)96 << 20)
#define DEFAULT_MAX_RATE 250000
#define DEFAULT_MAX_TURN_BYTES ((size_t)256 << 10)

struct rpc_conn {
	uv_tcp_t tcp;
	uint64_t id;
	struct rpc_server *server; /* one of server/client */
	struct rpc_client *client;
	struct rpc_conn *prev, *next; /* server's list */
	struct rpc_conn *flush_next;
	bool queued;
	bool connected;
	bool paused;
	bool held; /* rpc_server_hold: frames stay buffered */
	bool closing;
	bool close_after_flush;
	bool shutting_down;
	bool deferred;	   /* over max_turn_bytes: waits for the next turn */
	uint64_t turn;	   /* the server's turn turn_bytes counts in */
	size_t turn_bytes; /* request bytes dispatched in that turn */
	struct rpc_reader reader;
	msgpack_sbuffer out;
	size_t inflight;
	size_t counted; /* pending() as the server's unsent total has it */
	uint64_t window_start; /* max_rate: this second's first request */
	uint32_t window_count; /* and the requests since */
	uint32_t tag;	       /* rpc_server_set_tag */
	uv_connect_t connect_req;
	uv_shutdown_t shutdown_req;
	char peer[64];
	char rbuf[READ_BUF];
};

struct wreq {
	uv_write_t req;
	char *data;
	size_t len;
};

int rpc_addr_parse(const char *text, struct sockaddr_storage *out)
{
	char host[64];
	const char *colon;
	memset(out, 0, sizeof *out);
	if (text == NULL)
		return RPC_EINVAL;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || end[1] != ':' ||
		    (size_t)(end - text - 1) >= sizeof host)
			return RPC_EINVAL;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || (size_t)(colon - text) >= sizeof host)
			return RPC_EINVAL;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
	}
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port > 65535)
		return RPC_EINVAL;
	if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0)
		return 0;
	if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) == 0)
		return 0;
	return RPC_EINVAL;
}

int rpc_addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static void peer_name(struct rpc_conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	char ip[48] = "?";
	int port = 0;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			uv_ip4_name(a, ip, sizeof ip);
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(a, ip, sizeof ip);
			port = ntohs(a->sin6_port);
		}
	}
	snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
}

static size_t pending(const struct rpc_conn *c)
{
	return c->inflight + c->out.size;
}

/* Brings the server's total of unsent bytes up to date with @c's. */
static void count_unsent(struct rpc_conn *c)
{
	struct rpc_server *s = c->server;
	if (s == NULL)
		return;
	assert(s->stats.unsent >= c->counted);
	s->stats.unsent = s->stats.unsent - c->counted + pending(c);
	c->counted = pending(c);
}

/* ---- Shared connection plumbing ---- */

static void conn_close(struct rpc_conn *c);
static void server_conn_gone(struct rpc_conn *c);
static void client_conn_gone(struct rpc_conn *c);

static void on_kick(uv_idle_t *h)
{
	(void)h; /* only there to keep the loop from blocking */
}

static void count_unsent(struct rpc_conn *c);

/* Every frame encoded into c->out is followed by this call. */
static void queue_flush(struct rpc_conn *c)
{
	count_unsent(c);
	if (c->queued || c->closing)
		return;
	struct rpc_conn **head =
	    c->server ? &c->server->to_flush : &c->client->to_flush;
	c->queued = true;
	c->flush_next = *head;
	*head = c;
	/* The flush runs in the check phase, after poll: an active idle
	 * handle makes that poll return at once instead of blocking until
	 * the next event (up to a timer period of added latency). */
	uv_idle_t *kick = c->server ? &c->server->kick : &c->client->kick;
	if (!uv_is_active((uv_handle_t *)kick))
		uv_idle_start(kick, on_kick);
}

static void unqueue(struct rpc_conn *c)
{
	if (!c->queued)
		return;
	struct rpc_conn **p =
	    c->server ? &c->server->to_flush : &c->client->to_flush;
	while (*p != NULL && *p != c)
		p = &(*p)->flush_next;
	if (*p == c)
		*p = c->flush_next;
	c->queued = false;
}

static void on_closed(uv_handle_t *h)
{
	struct rpc_conn *c = h->data;
	unqueue(c);
	if (c->server != NULL) {
		assert(c->reader.cap == 0); /* given back by conn_close */
		assert(c->server->stats.unsent >= c->counted);
		c->server->stats.unsent -= c->counted;
	}
	rpc_reader_close(&c->reader);
	msgpack_sbuffer_destroy(&c->out);
	if (c->server != NULL)
		server_conn_gone(c);
	else
		client_conn_gone(c);
	free(c);
}

static void conn_close(struct rpc_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	/* A server connection's request bytes leave its budget now, not
	 * when the handle has closed. */
	if (c->server != NULL) {
		assert(c->server->stats.buffered >= c->reader.cap);
		c->server->stats.buffered -= c->reader.cap;
		rpc_reader_close(&c->reader);
	}
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close(req->data);
}

static void resume_if_drained(struct rpc_conn *c);
static void server_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);
static void server_process(struct rpc_conn *c);

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct rpc_conn *c = req->data;
	c->inflight -= w->len;
	count_unsent(c);
	free(w->data);
	free(w);
	if (status < 0) {
		conn_close(c);
		return;
	}
	resume_if_drained(c);
}

/* Hands everything queued on @c to one uv_write. */
static void flush_conn(struct rpc_conn *c)
{
	c->queued = false;
	if (c->closing || !c->connected)
		return;
	if (c->out.size > 0) {
		struct wreq *w = malloc(sizeof *w);
		if (w == NULL) {
			conn_close(c);
			return;
		}
		w->len = c->out.size;
		w->data = msgpack_sbuffer_release(&c->out);
		w->req.data = c;
		uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
		int rv = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1,
				  on_written);
		if (rv != 0) {
			free(w->data);
			free(w);
			conn_close(c);
			return;
		}
		c->inflight += w->len;
		if (c->server != NULL)
			c->server->stats.writes++;
	}
	if (c->close_after_flush && !c->shutting_down) {
		c->shutting_down = true;
		c->shutdown_req.data = c;
		uv_read_stop((uv_stream_t *)&c->tcp);
		if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp,
				on_shutdown) != 0)
			conn_close(c);
	}
}

static void flush_list(struct rpc_conn **head)
{
	/* Detach first: flushing may queue or close connections. */
	struct rpc_conn *c = *head, *fifo = NULL;
	*head = NULL;
	/* The list is newest first: write in the order connections were
	 * queued (a reset's notices go out before its answer). */
	while (c != NULL) {
		struct rpc_conn *next = c->flush_next;
		c->flush_next = fifo;
		fifo = c;
		c = next;
	}
	c = fifo;
	while (c != NULL) {
		struct rpc_conn *next = c->flush_next;
		flush_conn(c);
		c = next;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)hint;
	struct rpc_conn *c = h->data;
	*buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static struct rpc_conn *conn_new(uv_loop_t *loop, uint32_t max_frame)
{
	struct rpc_conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	if (uv_tcp_init(loop, &c->tcp) != 0) {
		free(c);
		return NULL;
	}
	c->tcp.data = c;
	rpc_reader_init(&c->reader, max_frame);
	msgpack_sbuffer_init(&c->out);
	return c;
}

/* ---- Server ---- */

static void server_event(struct rpc_server *s, struct rpc_conn *c,
			 enum rpc_event ev, int err)
{
	if (s->on_event != NULL)
		s->on_event(s, c->id, c->peer, ev, err);
}

static void server_handle_closed(uv_handle_t *h);

/* A closing server ends once its last connection is gone: the flush
 * handles still serve the connections until then. */
static void server_maybe_done(struct rpc_server *s)
{
	if (!s->closing || s->conns != NULL)
		return;
	if (!s->handles_closing) {
		s->handles_closing = true;
		uv_close((uv_handle_t *)&s->flush, server_handle_closed);
		uv_close((uv_handle_t *)&s->kick, server_handle_closed);
		return;
	}
	if (s->handles_open == 0 && s->close_cb != NULL) {
		rpc_server_close_cb cb = s->close_cb;
		s->close_cb = NULL;
		cb(s);
	}
}

static void server_conn_gone(struct rpc_conn *c)
{
	struct rpc_server *s = c->server;
	if (c->deferred)
		s->n_deferred--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->stats.connections--;
	server_maybe_done(s);
}

static void resume_if_drained(struct rpc_conn *c)
{
	if (!c->paused || c->closing || c->server == NULL)
		return;
	if (pending(c) > c->server->cfg.max_pending / 2)
		return;
	c->paused = false;
	server_event(c->server, c, RPC_EV_RESUMED, 0);
	if (!c->close_after_flush && !c->held) {
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, server_read);
		/* Requests read before the pause are still buffered. */
		server_process(c);
	}
}

/* The answer of a closing server to a request it read: nothing done,
 * retry elsewhere (issue 10 #6). */
static void refuse_closing(struct rpc_conn *c, const struct rpc_frame *f)
{
	struct rpc_status st = {RPC_UNAVAILABLE,
				"node is stopping; retry on another node", NULL,
				true};
	uint16_t t = (uint16_t)(f->type | RPC_RESPONSE);
	if (rpc_schema_of(t) == NULL)
		t = RPC_ROUTE | RPC_RESPONSE;
	if (rpc_encode(&c->out, t, f->request_id, &st, NULL, 0) == 0)
		c->server->stats.frames_out++;
	queue_flush(c);
}

static void close_limited(struct rpc_conn *c, int err);

/* Counts one request of @c against max_rate: false when it goes over. */
static bool within_rate(struct rpc_conn *c)
{
	uint64_t now = uv_now(c->server->loop);
	if (c->window_count == 0 || now - c->window_start >= 1000) {
		c->window_start = now;
		c->window_count = 0;
	}
	return ++c->window_count <= c->server->cfg.max_rate;
}

/* Stops reading @c until the next turn: it dispatched its share of this
 * one (max_turn_bytes); server_flush takes it up again. */
static void defer(struct rpc_conn *c)
{
	struct rpc_server *s = c->server;
	if (!c->deferred) {
		c->deferred = true;
		s->n_deferred++;
	}
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (!uv_is_active((uv_handle_t *)&s->kick))
		uv_idle_start(&s->kick, on_kick); /* poll must not block */
}

/* Whether @c dispatched its share of this turn (then deferred). */
static bool turn_spent(struct rpc_conn *c)
{
	struct rpc_server *s = c->server;
	if (c->turn != s->turn) {
		c->turn = s->turn;
		c->turn_bytes = 0;
	}
	if (c->turn_bytes < s->cfg.max_turn_bytes)
		return false;
	defer(c);
	return true;
}

/* Dispatches the whole frames buffered on @c (unless paused or ending),
 * up to its share of this loop turn. */
static void server_process(struct rpc_conn *c)
{
	struct rpc_server *s = c->server;
	for (;;) {
		if (c->closing || c->close_after_flush || c->paused ||
		    c->held || turn_spent(c))
			break;
		struct rpc_frame f;
		int rv = rpc_reader_next(&c->reader, &f);
		if (rv == 0)
			break;
		if (rv == 1) {
			c->turn_bytes += RPC_FRAME_HEADER + f.raw_len;
			s->stats.frames_in++;
			if (!within_rate(c)) {
				rpc_frame_release(&f);
				close_limited(c, RPC_ERATELIMIT);
				break;
			}
			f.conn_tag = c->tag;
			if (s->closing)
				refuse_closing(c, &f);
			else
				s->on_request(s, c->id, &f);
			rpc_frame_release(&f);
			continue;
		}
		s->stats.bad_frames++;
		server_event(s, c, RPC_EV_BAD_FRAME, rv);
		if (rv == RPC_EVERSION) {
			char msg[96];
			snprintf(msg, sizeof msg,
				 "protocol version %u is not supported; this "
				 "server speaks %u",
				 f.version, RPC_VERSION);
			struct rpc_status st2 = {RPC_UNSUPPORTED_VERSION, msg,
						 NULL, false};
			uint16_t t = (uint16_t)(f.type | RPC_RESPONSE);
			if (rpc_schema_of(t) == NULL)
				t = RPC_ROUTE | RPC_RESPONSE;
			rpc_encode(&c->out, t, f.request_id, &st2, NULL, 0);
		}
		/* The reader is unusable after an error: end the connection
		 * once what is queued has been written. */
		c->close_after_flush = true;
		queue_flush(c);
		break;
	}
}

/* Closes @c over a limit (@err: RPC_ECONNLIMIT, RPC_EBUFLIMIT: at once,
 * what its reader held given back; RPC_ERATELIMIT: once its answers are
 * written). */
static void close_limited(struct rpc_conn *c, int err)
{
	c->server->stats.limited++;
	server_event(c->server, c, RPC_EV_LIMIT, err);
	if (err != RPC_ERATELIMIT) {
		conn_close(c);
		return;
	}
	/* What came within the rate is answered, then the connection
	 * ends; nothing more of it is read. */
	c->close_after_flush = true;
	queue_flush(c);
}

/* The open connection whose reader holds the most: the one to go when
 * the budget is exceeded, so a small client is never cut for a big one. */
static struct rpc_conn *biggest_reader(struct rpc_server *s)
{
	struct rpc_conn *big = NULL;
	for (struct rpc_conn *c = s->conns; c != NULL; c = c->next)
		if (!c->closing &&
		    (big == NULL || c->reader.cap > big->reader.cap))
			big = c;
	return big;
}

static void server_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	struct rpc_conn *c = st->data;
	struct rpc_server *s = c->server;
	if (n < 0) {
		server_event(s, c, RPC_EV_CLOSED, RPC_ECLOSED);
		conn_close(c);
		return;
	}
	if (n == 0)
		return;
	size_t held = c->reader.cap;
	if (rpc_reader_feed(&c->reader, c->rbuf, (size_t)n) != 0) {
		server_event(s, c, RPC_EV_BAD_FRAME, RPC_ENOMEM);
		conn_close(c);
		return;
	}
	s->stats.buffered += c->reader.cap - held;
	server_process(c);
	if (!c->closing) {
		held = c->reader.cap;
		rpc_reader_trim(&c->reader);
		s->stats.buffered -= held - c->reader.cap;
	}
	/* What the readers hold (a partial frame counts) has a node-wide
	 * budget: over it, the connection holding the most goes. */
	while (s->stats.buffered > s->cfg.max_buffered) {
		struct rpc_conn *big = biggest_reader(s);
		assert(big != NULL && big->reader.cap > 0); /* their sum */
		close_limited(big, RPC_EBUFLIMIT);
	}
}

/* A new turn: every deferred connection reads again and dispatches what
 * its reader holds, up to its new share. */
static void resume_deferred(struct rpc_server *s)
{
	for (struct rpc_conn *c = s->conns; c != NULL && s->n_deferred > 0;
	     c = c->next) {
		if (!c->deferred)
			continue;
		c->deferred = false;
		s->n_deferred--;
		if (c->closing || c->close_after_flush || c->paused || c->held)
			continue; /* resume_if_drained / release take it up */
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, server_read);
		server_process(c);
	}
}

static void server_flush(uv_check_t *h)
{
	struct rpc_server *s = h->data;
	uv_idle_stop(&s->kick);
	s->turn++;
	if (s->n_deferred > 0)
		resume_deferred(s); /* may defer some again: kick restarted */
	flush_list(&s->to_flush);
}

static void on_connection(uv_stream_t *l, int status)
{
	struct rpc_server *s = l->data;
	if (status < 0 || s->closing)
		return;
	struct rpc_conn *c = conn_new(s->loop, s->cfg.max_frame);
	if (c == NULL)
		return;
	c->server = s;
	if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
		c->closing = true;
		s->stats.connections++; /* undone in server_conn_gone */
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		uv_close((uv_handle_t *)&c->tcp, on_closed);
		return;
	}
	c->id = ++s->next_conn_id;
	c->connected = true;
	peer_name(c);
	uv_tcp_nodelay(&c->tcp, 1);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->stats.accepted++;
	if (s->stats.connections++ >= s->cfg.max_conns) {
		close_limited(c, RPC_ECONNLIMIT);
		return;
	}
	server_event(s, c, RPC_EV_ACCEPTED, 0);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, server_read);
}

int rpc_server_init(struct rpc_server *s, uv_loop_t *loop,
		    const struct rpc_server_config *cfg,
		    rpc_request_cb on_request, rpc_event_cb on_event)
{
	void *data = s->data;
	memset(s, 0, sizeof *s);
	s->data = data;
	s->loop = loop;
	s->on_request = on_request;
	s->on_event = on_event;
#define OR_DEFAULT(field, def) (cfg && cfg->field ? cfg->field : (def))
	s->cfg = (struct rpc_server_config){
	    OR_DEFAULT(max_frame, RPC_FRAME_MAX_DEFAULT),
	    OR_DEFAULT(max_pending, DEFAULT_MAX_PENDING),
	    OR_DEFAULT(max_conns, DEFAULT_MAX_CONNS),
	    OR_DEFAULT(max_buffered, DEFAULT_MAX_BUFFERED),
	    OR_DEFAULT(max_unsent, DEFAULT_MAX_UNSENT),
	    OR_DEFAULT(max_rate, DEFAULT_MAX_RATE),
	    OR_DEFAULT(max_turn_bytes, DEFAULT_MAX_TURN_BYTES)};
#undef OR_DEFAULT
	if (on_request == NULL)
		return RPC_EINVAL;
	int rv = uv_tcp_init(loop, &s->tcp);
	if (rv != 0)
		return rv;
	s->tcp.data = s;
	uv_check_init(loop, &s->flush);
	s->flush.data = s;
	uv_check_start(&s->flush, server_flush);
	uv_unref((uv_handle_t *)&s->flush);
	uv_idle_init(loop, &s->kick);
	s->kick.data = s;
	s->handles_open = 3;
	return 0;
}

int rpc_server_listen(struct rpc_server *s, const char *address)
{
	struct sockaddr_storage ss;
	if (rpc_addr_parse(address, &ss) != 0)
		return RPC_EINVAL;
	int rv = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&s->tcp, 128, on_connection);
	if (rv == UV_EADDRINUSE)
		return RPC_EADDRINUSE;
	return rv == 0 ? 0 : RPC_ELISTEN;
}

int rpc_server_port(struct rpc_server *s)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	if (uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static struct rpc_conn *server_conn(struct rpc_server *s, uint64_t id)
{
	for (struct rpc_conn *c = s->conns; c != NULL; c = c->next)
		if (c->id == id)
			return c->closing ? NULL : c;
	return NULL;
}

int rpc_server_send(struct rpc_server *s, uint64_t conn_id, uint16_t type,
		    uint64_t request_id, const struct rpc_status *status,
		    const void *body)
{
	struct rpc_conn *c = server_conn(s, conn_id);
	if (c == NULL || c->shutting_down)
		return RPC_ECLOSED;
	bool notice = (type & RPC_NOTICE) && !(type & RPC_RESPONSE);
	if (notice && pending(c) > s->cfg.max_pending)
		return RPC_EBUSY;
	int rv = rpc_encode(&c->out, type, request_id, status, body,
			    s->cfg.max_frame);
	if (rv != 0)
		return rv;
	s->stats.frames_out++;
	queue_flush(c);
	if (!c->paused && pending(c) > s->cfg.max_pending) {
		/* The peer is not reading its answers: stop reading its
		 * requests until it does. */
		c->paused = true;
		s->stats.pauses++;
		uv_read_stop((uv_stream_t *)&c->tcp);
		server_event(s, c, RPC_EV_PAUSED, 0);
	}
	return 0;
}

size_t rpc_server_room_over(struct rpc_server *s, uint64_t conn_id,
			    size_t reserve)
{
	struct rpc_conn *c = server_conn(s, conn_id);
	if (c == NULL)
		return 0;
	size_t mine = pending(c) < s->cfg.max_pending
			  ? s->cfg.max_pending - pending(c)
			  : 0;
	size_t cap = s->cfg.max_unsent + reserve;
	size_t all = s->stats.unsent < cap ? cap - s->stats.unsent : 0;
	return mine < all ? mine : all;
}

size_t rpc_server_room(struct rpc_server *s, uint64_t conn_id)
{
	return rpc_server_room_over(s, conn_id, 0);
}

void rpc_server_set_tag(struct rpc_server *s, uint64_t conn_id, uint32_t tag)
{
	struct rpc_conn *c = server_conn(s, conn_id);
	if (c != NULL)
		c->tag = tag;
}

const char *rpc_server_peer(struct rpc_server *s, uint64_t conn_id)
{
	struct rpc_conn *c = server_conn(s, conn_id);
	return c != NULL ? c->peer : NULL;
}

void rpc_server_hold(struct rpc_server *s, uint64_t conn_id)
{
	struct rpc_conn *c = server_conn(s, conn_id);
	if (c == NULL || c->held)
		return;
	c->held = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
}

void rpc_server_release(struct rpc_server *s, uint64_t conn_id)
{
	struct rpc_conn *c = server_conn(s, conn_id);
	if (c == NULL || !c->held)
		return;
	c->held = false;
	if (c->paused || c->close_after_flush)
		return;
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, server_read);
	/* Requests read before the hold are still buffered. */
	server_process(c);
}

void rpc_server_drop(struct rpc_server *s, uint64_t conn_id)
{
	struct rpc_conn *c = server_conn(s, conn_id);
	if (c == NULL)
		return;
	c->close_after_flush = true;
	queue_flush(c);
}

void rpc_server_stats(const struct rpc_server *s, struct rpc_server_stats *out)
{
	*out = s->stats;
}

static void server_handle_closed(uv_handle_t *h)
{
	struct rpc_server *s = h->data;
	s->handles_open--;
	server_maybe_done(s);
}

void rpc_server_close(struct rpc_server *s, rpc_server_close_cb cb)
{
	if (s->closing)
		return;
	s->closing = true;
	s->close_cb = cb;
	/* Nothing in flight is cut off (issue 10 #6): each peer is told to
	 * go away and closes the connection once its calls are answered. */
	struct rpc_goaway_notice bye = {"server closing"};
	for (struct rpc_conn *c = s->conns; c != NULL; c = c->next) {
		if (c->closing || c->shutting_down)
			continue;
		if (rpc_encode(&c->out, RPC_GOAWAY_NOTICE, 0, NULL, &bye, 0) ==
		    0)
			s->stats.frames_out++;
		queue_flush(c);
	}
	uv_close((uv_handle_t *)&s->tcp, server_handle_closed);
	server_maybe_done(s);
}

void rpc_server_cut(struct rpc_server *s)
{
	assert(s->closing);
	for (struct rpc_conn *c = s->conns; c != NULL; c = c->next)
		conn_close(c);
}

/* ---- Client ---- */

static void call_unlink(struct rpc_client *c, struct rpc_call *call)
{
	if (call->next == NULL)
		c->calls_tail = call->prev;
	DLIST_UNLINK(c->calls, call, prev, next);
}

/* Fails every call matching @pred (callbacks after detaching all). */
static void fail_calls(struct rpc_client *c,
		       bool (*pred)(struct rpc_call *, void *), void *arg,
		       int status)
{
	struct rpc_call *done = NULL, *last = NULL;
	for (struct rpc_call *k = c->calls; k != NULL;) {
		struct rpc_call *next = k->next;
		if (pred(k, arg)) {
			call_unlink(c, k);
			if (last)
				last->next = k;
			else
				done = k;
			last = k;
		}
		k = next;
	}
	while (done != NULL) {
		struct rpc_call *next = done->next;
		done->next = NULL;
		done->cb(done, status, NULL);
		done = next;
	}
}

static bool on_conn(struct rpc_call *k, void *conn)
{
	return k->conn == conn;
}
static bool all_calls(struct rpc_call *k, void *arg)
{
	(void)k;
	(void)arg;
	return true;
}
static bool expired(struct rpc_call *k, void *now)
{
	return k->deadline <= *(uint64_t *)now;
}

static void client_maybe_done(struct rpc_client *c)
{
	if (c->closing && c->handles_open == 0 && c->conn == NULL &&
	    c->retiring == NULL && c->close_cb != NULL) {
		msgpack_sbuffer_destroy(&c->backlog);
		msgpack_sbuffer_destroy(&c->hello);
		rpc_client_close_cb cb = c->close_cb;
		c->close_cb = NULL;
		cb(c);
	}
}

static void client_conn_gone(struct rpc_conn *conn)
{
	struct rpc_client *c = conn->client;
	/* Detach first: a callback below may send a new request, which must
	 * not go into this connection's (already freed) output buffer. */
	if (c->conn == conn)
		c->conn = NULL;
	if (c->retiring == conn)
		c->retiring = NULL;
	/* Requests written on it have an unknown outcome now. */
	fail_calls(c, on_conn, conn,
		   conn->connected ? RPC_ECLOSED : RPC_ECONNECT);
	client_maybe_done(c);
}

static void client_lost(struct rpc_conn *conn)
{
	struct rpc_client *c = conn->client;
	c->retry_at = uv_now(c->loop) + c->backoff_ms;
	c->backoff_ms = c->backoff_ms * 2 > c->cfg.backoff_max_ms
			    ? c->cfg.backoff_max_ms
			    : c->backoff_ms * 2;
	conn_close(conn);
}

/* Closes the retired connection once no call waits for an answer on it
 * (the server closes its side after us). */
static void retire_if_idle(struct rpc_client *c)
{
	struct rpc_conn *old = c->retiring;
	if (old == NULL || old->closing)
		return;
	for (struct rpc_call *k = c->calls; k != NULL; k = k->next)
		if (k->conn == old)
			return;
	conn_close(old);
}

/* GOAWAY: calls already sent on @conn are still answered there; new ones
 * go on a new connection (the server has stopped listening, so that one
 * fails ECONNECT: nothing sent, safe to send elsewhere). */
static void client_retire(struct rpc_conn *conn)
{
	struct rpc_client *c = conn->client;
	if (c->conn != conn)
		return;
	if (c->retiring != NULL)
		conn_close(c->retiring); /* a second GOAWAY in a row */
	c->conn = NULL;
	c->retiring = conn;
}

static void client_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	struct rpc_conn *conn = st->data;
	struct rpc_client *c = conn->client;
	if (n < 0) {
		client_lost(conn);
		return;
	}
	if (n == 0)
		return;
	if (rpc_reader_feed(&conn->reader, conn->rbuf, (size_t)n) != 0) {
		client_lost(conn);
		return;
	}
	while (!conn->closing) {
		struct rpc_frame f;
		int rv = rpc_reader_next(&conn->reader, &f);
		if (rv == 0)
			break;
		if (rv < 0) {
			client_lost(conn);
			break;
		}
		if (f.type & RPC_RESPONSE) {
			struct rpc_call *k = c->calls;
			while (k != NULL && k->id != f.request_id)
				k = k->next;
			if (k != NULL && k->type == (f.type & ~RPC_RESPONSE)) {
				call_unlink(c, k);
				k->cb(k, 0, &f);
			}
			/* else: it timed out already; drop the answer. */
		} else if (f.type == RPC_GOAWAY_NOTICE) {
			client_retire(conn);
		} else if ((f.type & RPC_NOTICE) && c->on_notice != NULL) {
			c->on_notice(c, &f);
		}
		rpc_frame_release(&f);
	}
	retire_if_idle(c);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct rpc_conn *conn = req->data;
	struct rpc_client *c = conn->client;
	if (status < 0 || c->closing) {
		client_lost(conn);
		return;
	}
	conn->connected = true;
	c->backoff_ms = c->cfg.backoff_min_ms;
	peer_name(conn);
	uv_tcp_nodelay(&conn->tcp, 1);
	uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, client_read);
	queue_flush(conn);
}

/* The new connection's first bytes: the hello, then the requests that
 * waited for a connection (which leave the backlog either way: their
 * calls go with this connection). */
static int client_first_bytes(struct rpc_client *c, struct rpc_conn *conn)
{
	int rv = 0;
	if (c->hello.size == 0) {
		msgpack_sbuffer tmp = conn->out;
		conn->out = c->backlog;
		c->backlog = tmp;
		return 0;
	}
	if (msgpack_sbuffer_write(&conn->out, c->hello.data, c->hello.size) !=
		0 ||
	    msgpack_sbuffer_write(&conn->out, c->backlog.data,
				  c->backlog.size) != 0)
		rv = UV_ENOMEM;
	msgpack_sbuffer_clear(&c->backlog);
	return rv;
}

static int client_connect(struct rpc_client *c)
{
	struct rpc_conn *conn = conn_new(c->loop, c->cfg.max_frame);
	if (conn == NULL)
		return RPC_ENOMEM;
	conn->client = c;
	conn->connect_req.data = conn;
	int rv = client_first_bytes(c, conn);
	if (rv == 0)
		rv = uv_tcp_connect(&conn->connect_req, &conn->tcp,
				    (const struct sockaddr *)&c->addr,
				    on_connect);
	if (rv != 0) {
		/* Fails like a refused connection: from the close callback,
		 * with the waiting calls attached to it. */
		conn->closing = true;
	}
	c->conn = conn;
	for (struct rpc_call *k = c->calls; k != NULL; k = k->next)
		if (k->conn == NULL)
			k->conn = conn;
	if (rv != 0)
		uv_close((uv_handle_t *)&conn->tcp, on_closed);
	return 0;
}

int rpc_client_hello(struct rpc_client *c, uint16_t type, const void *body)
{
	if (type & (RPC_RESPONSE | RPC_NOTICE))
		return RPC_EINVAL;
	msgpack_sbuffer_clear(&c->hello);
	/* Request id 0: no call has it, so its answer is dropped. */
	return rpc_encode(&c->hello, type, 0, NULL, body, c->cfg.max_frame);
}

static void client_tick(uv_timer_t *t)
{
	struct rpc_client *c = t->data;
	uint64_t now = uv_now(c->loop);
	fail_calls(c, expired, &now, RPC_ETIMEDOUT);
	retire_if_idle(c);
	if (c->calls == NULL) {
		uv_timer_stop(&c->timer);
		return;
	}
	if (c->conn == NULL && now >= c->retry_at && !c->closing)
		client_connect(c);
}

static void client_flush(uv_check_t *h)
{
	struct rpc_client *c = h->data;
	uv_idle_stop(&c->kick);
	flush_list(&c->to_flush);
}

int rpc_client_init(struct rpc_client *c, uv_loop_t *loop, const char *address,
		    const struct rpc_client_config *cfg,
		    rpc_notice_cb on_notice)
{
	void *data = c->data;
	memset(c, 0, sizeof *c);
	c->data = data;
	c->loop = loop;
	c->on_notice = on_notice;
	if (rpc_addr_parse(address, &c->addr) != 0 ||
	    strlen(address) >= sizeof c->address)
		return RPC_EINVAL;
	snprintf(c->address, sizeof c->address, "%s", address);
	c->cfg.max_frame =
	    cfg && cfg->max_frame ? cfg->max_frame : RPC_FRAME_MAX_DEFAULT;
	c->cfg.backoff_min_ms =
	    cfg && cfg->backoff_min_ms ? cfg->backoff_min_ms : 50;
	c->cfg.backoff_max_ms =
	    cfg && cfg->backoff_max_ms ? cfg->backoff_max_ms : 2000;
	c->backoff_ms = c->cfg.backoff_min_ms;
	c->next_id = 1;
	msgpack_sbuffer_init(&c->backlog);
	msgpack_sbuffer_init(&c->hello);
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	uv_check_init(loop, &c->flush);
	c->flush.data = c;
	uv_check_start(&c->flush, client_flush);
	uv_unref((uv_handle_t *)&c->flush);
	uv_idle_init(loop, &c->kick);
	c->kick.data = c;
	c->handles_open = 3;
	return 0;
}

int rpc_client_request(struct rpc_client *c, struct rpc_call *call,
		       uint16_t type, const void *body, uint32_t timeout_ms,
		       rpc_call_cb cb)
{
	if (c->closing)
		return RPC_ECANCELED;
	if (cb == NULL || (type & (RPC_RESPONSE | RPC_NOTICE)))
		return RPC_EINVAL;
	if (c->conn == NULL && uv_now(c->loop) >= c->retry_at) {
		int rv = client_connect(c);
		if (rv != 0)
			return rv;
	}
	/* While waiting out a backoff there is no connection: the call
	 * waits (bounded by its timeout) and the timer connects later. */
	struct rpc_conn *conn = c->conn;
	int rv = rpc_encode(conn ? &conn->out : &c->backlog, type, c->next_id,
			    NULL, body, c->cfg.max_frame);
	if (rv != 0)
		return rv;
	call->client = c;
	call->id = c->next_id++;
	call->type = type;
	call->cb = cb;
	call->conn = conn;
	call->deadline = uv_now(c->loop) + timeout_ms;
	call->next = NULL;
	call->prev = c->calls_tail;
	if (c->calls_tail)
		c->calls_tail->next = call;
	else
		c->calls = call;
	c->calls_tail = call;
	if (conn != NULL && conn->connected)
		queue_flush(conn);
	if (!uv_is_active((uv_handle_t *)&c->timer))
		uv_timer_start(&c->timer, client_tick, TICK_MS, TICK_MS);
	return 0;
}

static void client_handle_closed(uv_handle_t *h)
{
	struct rpc_client *c = h->data;
	c->handles_open--;
	client_maybe_done(c);
}

void rpc_client_close(struct rpc_client *c, rpc_client_close_cb cb)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_cb = cb;
	fail_calls(c, all_calls, NULL, RPC_ECANCELED);
	if (c->conn != NULL)
		conn_close(c->conn);
	if (c->retiring != NULL)
		conn_close(c->retiring);
	c->to_flush = NULL;
	uv_close((uv_handle_t *)&c->timer, client_handle_closed);
	uv_close((uv_handle_t *)&c->flush, client_handle_closed);
	uv_close((uv_handle_t *)&c->kick, client_handle_closed);
}
